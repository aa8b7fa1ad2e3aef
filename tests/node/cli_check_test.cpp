#include <doctest/doctest.h>

#include <algorithm>

#include "config/config.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <boost/json.hpp>

#include <ctime>

#include "node/pki/pki.hpp"
#include "test_util.hpp"

namespace json = boost::json;

namespace {

// A local node with a certificate from its CA: every required check passes.
struct checked_node {
  test::temp_dir d;
  std::string dir = d / "n", cfg = d / "n/node.toml", ca = d / "ca";
  checked_node() {
    REQUIRE(test::run_cli({"init", "--role", "local", "--node-id", "js.nanjing", "--jurisdiction", "320100", "--dir", dir}).exit_code == 0);
    node::pki::ca_init(ca, "Test CA");
    sign(ca, "js.nanjing");
    test::write_file(dir + "/tls/ca.pem", test::read_file(ca + "/ca.pem"));
  }
  void sign(const std::string& with_ca, const std::string& node_id, std::int64_t not_before = 0, int days = 365) {
    node::pki::sign({with_ca, dir + "/tls/node.csr", dir + "/tls/node.pem", "local", node_id, "320100", days, not_before});
  }
  json::object check() {
    auto r = test::run_cli({"check", "--json", "-c", cfg});
    auto v = json::parse(r.out).as_object();
    CHECK((r.exit_code == 0) == v.at("ok").as_bool());
    // The ids admission.required_checks may name, and the three reported
    // only when they fail or warn: nothing else may appear, or the config
    // would refuse a check a child reports.
    for (const auto& c : v.at("checks").as_array()) {
      std::string_view id = c.at("id").as_string();
      bool requirable = std::find(std::begin(config::posture_check_ids), std::end(config::posture_check_ids), id) !=
                        std::end(config::posture_check_ids);
      CHECK_MESSAGE((requirable || id == "tls.ca" || id == "store.page_walk" || id == "upstream"),
                    id << " is missing from config::posture_check_ids");
    }
    return v;
  }
  std::string status_of(const std::string& id) {
    auto v = check();  // kept alive: the loop reads into it
    for (const auto& c : v.at("checks").as_array())
      if (c.at("id").as_string() == id) return std::string(c.at("status").as_string());
    return "absent";
  }
};

}  // namespace

TEST_CASE("cli: check passes a well-made node and names every check") {
  checked_node n;
  auto v = n.check();
  CHECK(v.at("ok").as_bool());
  for (auto id : {"config", "tls.certificate", "tls.chain", "tls.key_pair", "tls.validity", "tls.identity",
                  "tls.key_mode", "data_dir.mode", "listen.plaintext", "clock", "store.integrity"})
    CHECK_MESSAGE(n.status_of(id) == "PASS", id);
  // Each id a parent may require is in a healthy node's report: requiring
  // one must not refuse a healthy child as "missing from the report".
  for (auto id : config::posture_check_ids) CHECK_MESSAGE(n.status_of(std::string(id)) != "absent", id);
  auto text = test::run_cli({"check", "-c", n.cfg});
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("PASS  tls.chain:") != std::string::npos);
}

TEST_CASE("cli: check fails — key mode, data dir mode, admin off loopback, missing certificate") {
  checked_node n;
  SUBCASE("key 0644") {
    ::chmod((n.dir + "/tls/node.key").c_str(), 0644);
    CHECK(n.status_of("tls.key_mode") == "FAIL");
    auto r = test::run_cli({"check", "-c", n.cfg});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("fix: chmod 600") != std::string::npos);
  }
  SUBCASE("data dir 0755") {
    ::chmod((n.dir + "/data").c_str(), 0755);
    CHECK(n.status_of("data_dir.mode") == "FAIL");
  }
  SUBCASE("admin listener off loopback") {
    auto t = test::read_file(n.cfg);
    auto p = t.find("\nadmin = ");
    t.replace(p + 1, t.find('\n', p + 1) - p - 1, "admin = \"0.0.0.0:9090\"");
    test::write_file(n.cfg, t);
    CHECK(n.status_of("listen.plaintext") == "FAIL");
  }
  SUBCASE("no certificate") {
    std::remove((n.dir + "/tls/node.pem").c_str());
    CHECK(n.status_of("tls.certificate") == "FAIL");
  }
  SUBCASE("no CA file: named as such, with the CA operator's file to copy, not a new CSR") {
    std::remove((n.dir + "/tls/ca.pem").c_str());
    CHECK(n.status_of("tls.ca") == "FAIL");
    auto v = n.check();
    for (const auto& c : v.at("checks").as_array())
      if (c.at("id").as_string() == "tls.ca")
        CHECK(std::string(c.at("fix").as_string()).find("copy the network's CA certificate") != std::string::npos);
  }
}

TEST_CASE("cli: check fails certificates from another CA, for another node, expired, and warns when expiring") {
  checked_node n;
  SUBCASE("another CA") {
    node::pki::ca_init(n.d / "other", "Other CA");
    n.sign(n.d / "other", "js.nanjing");
    CHECK(n.status_of("tls.chain") == "FAIL");
  }
  SUBCASE("names another node") {
    // A CSR for another id would be refused at signing; a stolen certificate
    // of another node is what this catches.
    node::pki::make_csr({n.d / "x.key", n.d / "x.csr", "js.suzhou", "local", "320100"});
    node::pki::sign({n.ca, n.d / "x.csr", n.dir + "/tls/node.pem", "local", "js.suzhou", "320100", 365, 0});
    CHECK(n.status_of("tls.identity") == "FAIL");
    CHECK(n.status_of("tls.key_pair") == "FAIL");
  }
  SUBCASE("expired") {
    n.sign(n.ca, "js.nanjing", static_cast<std::int64_t>(std::time(nullptr)) - 10 * 86400, 2);
    CHECK(n.status_of("tls.validity") == "FAIL");
  }
  SUBCASE("expiring within 30 days is a warning, not a failure") {
    n.sign(n.ca, "js.nanjing", 0, 10);
    CHECK(n.status_of("tls.validity") == "WARN");
    CHECK(n.check().at("ok").as_bool());
  }
}

// The CA's end matters as much as the node's: past it every handshake
// fails. What counts is the CA that signed this node's certificate: a
// rotation bundle with a newer CA beside it does not save a node the old
// one signed, and the fix then is a new certificate, not a new bundle.
TEST_CASE("cli: check warns of the signing CA ending within 30 days, though the bundle holds a newer CA, until the node is re-signed") {
  checked_node n;
  CHECK(n.status_of("tls.ca_validity") == "PASS");
  node::pki::ca_init(n.d / "short", "Short CA", 10);
  n.sign(n.d / "short", "js.nanjing", 0, 5);
  test::write_file(n.dir + "/tls/ca.pem", test::read_file(n.d / "short/ca.pem"));
  CHECK(n.status_of("tls.ca_validity") == "WARN");
  CHECK(n.check().at("ok").as_bool());
  test::write_file(n.dir + "/tls/ca.pem", test::read_file(n.d / "short/ca.pem") + test::read_file(n.ca + "/ca.pem"));
  auto item = [&] {
    auto v = n.check();  // kept alive: the loop reads into it
    for (const auto& c : v.at("checks").as_array())
      if (c.at("id").as_string() == "tls.ca_validity") return c.as_object();
    FAIL("no tls.ca_validity");
    return json::object{};
  };
  CHECK(item().at("status").as_string() == "WARN");
  CHECK(std::string(item().at("reason").as_string()).find("the CA that signed this node's certificate") != std::string::npos);
  CHECK(std::string(item().at("fix").as_string()).find("have the renewed CA sign a new certificate") != std::string::npos);
  n.sign(n.ca, "js.nanjing");  // re-signed by the long-lived CA of the bundle
  CHECK(n.status_of("tls.ca_validity") == "PASS");
}

TEST_CASE("cli: check reports a broken config as a failed check") {
  checked_node n;
  test::write_file(n.cfg, "[node]\nrol = \"local\"\n");
  auto r = test::run_cli({"check", "-c", n.cfg});
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("FAIL  config:") != std::string::npos);
  CHECK(r.out.find("did you mean 'role'") != std::string::npos);
}

namespace {

std::string integrity_reason(checked_node& n) {
  auto v = n.check();
  for (const auto& c : v.at("checks").as_array())
    if (c.at("id").as_string() == "store.integrity") return std::string(c.at("status").as_string()) + " " + std::string(c.at("reason").as_string());
  return "absent";
}

}  // namespace

// A damaged store once passed `check` (which systemd runs before the node),
// and the node then aborted on its first full read; a truncated one killed
// every command with SIGBUS and no word; an emptied one became a new store.
TEST_CASE("cli: check fails a store with damaged pages, a truncated one and an emptied one, and no command crashes on the last two") {
  checked_node n;
  std::string rows = "subject,record_id,event_date,source,period,tax_type,amount_paid\n";
  for (int i = 0; i < 20000; ++i) rows += "91320102MA1X00017W,r" + std::to_string(i) + ",2026-10-01,tax bureau,2026-09,VAT,1.00\n";
  test::write_file(n.d / "tax.csv", rows);
  REQUIRE(test::run_cli({"import", "-c", n.cfg, "--category", "tax", n.d / "tax.csv"}).exit_code == 0);
  REQUIRE(integrity_reason(n).rfind("PASS", 0) == 0);
  auto file = n.dir + "/data/data.mdb";
  auto pristine = test::read_file(file);
  SUBCASE("64 KiB of pages zeroed") {
    auto bytes = pristine;
    std::fill(bytes.begin() + 512 * 4096, bytes.begin() + 528 * 4096, '\0');
    test::write_file(file, bytes);
    CHECK(integrity_reason(n) == "FAIL reading every page of the store killed the reader (Aborted): it is damaged");
  }
  SUBCASE("truncated to 1 MiB") {
    test::write_file(file, pristine.substr(0, 1 << 20));
    auto why = integrity_reason(n);
    CHECK(why.find("FAIL store: " + file + " holds 1048576 bytes, but the store needs at least") == 0);
    auto st = test::run_cli({"status", "-c", n.cfg});
    CHECK(st.exit_code == 1);  // not 135 (SIGBUS), and it says why
    CHECK(st.err.find("it is damaged (truncated); stop the node and restore from a backup") != std::string::npos);
  }
  SUBCASE("emptied") {
    test::write_file(file, "");
    CHECK(integrity_reason(n).find("holds 0 bytes") != std::string::npos);
    CHECK(test::run_cli({"status", "-c", n.cfg}).exit_code == 1);  // not a new, empty store
    CHECK(test::read_file(file).empty());
  }
}

// The install guide's commands were typed as root on a node whose data
// directory belongs to the service user: files they made there were root's
// and the service could not open them; and a link that user puts there
// could point root's writes anywhere. Every command reading the config is
// refused as root there, and makes nothing. Needs root (CI runs as root);
// uid 65534 (nobody) stands for the service user.
TEST_CASE("cli: as root on the service user's node, commands are refused and make nothing there") {
  if (::geteuid() != 0) return;  // chown needs root
  checked_node n;
  REQUIRE(::chown((n.dir + "/data").c_str(), 65534, 65534) == 0);
  std::string victim = n.d / "victim";
  test::write_file(victim, "root's\n");
  std::filesystem::create_symlink(victim, n.dir + "/data/lock.mdb");  // what that user could put there
  for (std::vector<std::string> cmd : {std::vector<std::string>{"check"}, {"status"}, {"pki", "csr"}, {"run"},
                                       {"import", "--show-quarantine"}, {"admin", "nodes"}}) {
    cmd.insert(cmd.end(), {"-c", n.cfg});
    auto r = test::run_cli(cmd);
    CHECK_MESSAGE(r.exit_code == 2, cmd[0]);
    CHECK_MESSAGE(r.err.find("running as root, but [node] data_dir " + n.dir + "/data belongs to uid 65534, who runs the "
                             "node") != std::string::npos, r.err);
    CHECK(r.err.find("sudo -u credit-node credit-node") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(n.dir + "/data/data.mdb"));
  CHECK(test::read_file(victim) == "root's\n");
}
