// `credit-node run` as a real process: certificates made with the binary's
// own `init` and `pki` commands, listeners on free loopback ports, health and
// metrics over plain HTTP, /sync/v1/hello over mutual TLS, SIGTERM.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <regex>

#include "node/net/client.hpp"
#include "node/pki/pki.hpp"
#include "node_process.hpp"

namespace json = boost::json;
using namespace itest;

namespace {

void must(const test::run_result& r, const std::string& what) {
  REQUIRE_MESSAGE(r.exit_code == 0, what << " failed (" << r.exit_code << "):\n" << r.out << r.err);
}

// A provincial node js.province in a scratch directory, its CA, and a
// certificate for a child (js.nanjing) to call it with.
struct provincial_node {
  test::temp_dir tmp;
  std::string dir = tmp / "node", ca = tmp / "ca", cfg = dir + "/node.toml";
  std::string sync_addr, api_addr, admin_addr;

  provincial_node() {
    must(test::run_cli({"init", "--role", "provincial", "--node-id", "js.province", "--jurisdiction", "320000",
                        "--dir", dir}), "init");
    must(test::run_cli({"pki", "ca-init", "--dir", ca, "--name", "Jiangsu Test CA"}), "pki ca-init");
    must(test::run_cli({"pki", "csr", "-c", cfg}), "pki csr");
    must(test::run_cli({"pki", "sign", "--ca", ca, "--csr", dir + "/tls/node.csr", "--out", dir + "/tls/node.pem",
                        "--role", "provincial", "--node-id", "js.province", "--jurisdiction", "320000"}), "pki sign");
    std::filesystem::copy_file(ca + "/ca.pem", dir + "/tls/ca.pem");
    must(test::run_cli({"pki", "csr", "--key", tmp / "child.key", "--out", tmp / "child.csr", "--node-id",
                        "js.nanjing", "--role", "local", "--jurisdiction", "320100"}), "pki csr (child)");
    must(test::run_cli({"pki", "sign", "--ca", ca, "--csr", tmp / "child.csr", "--out", tmp / "child.pem", "--role",
                        "local", "--node-id", "js.nanjing", "--jurisdiction", "320100"}), "pki sign (child)");
    listen_on(loopback(free_port()), loopback(free_port()), loopback(free_port()));
  }

  // Rewrites [listen] in the config `init` wrote.
  void listen_on(const std::string& sync, const std::string& api, const std::string& admin) {
    sync_addr = sync, api_addr = api, admin_addr = admin;
    std::string text = test::read_file(cfg);
    text = std::regex_replace(text, std::regex("\nsync = \"[^\"]*\""), "\nsync = \"" + sync + "\"");
    text = std::regex_replace(text, std::regex("\napi = \"[^\"]*\""), "\napi = \"" + api + "\"");
    text = std::regex_replace(text, std::regex("\nadmin = \"[^\"]*\""), "\nadmin = \"" + admin + "\"");
    test::write_file(cfg, text);
  }

  node::net::tls_files child_files(bool with_cert = true) const {
    if (!with_cert) return {ca + "/ca.pem", "", ""};
    return {ca + "/ca.pem", tmp / "child.pem", tmp / "child.key"};
  }
};

// Polls /healthz until it answers 200 (at most 10 s) while the node runs.
void wait_ready(child& node, const std::string& admin) {
  auto end = steady::now() + 10s;
  while (steady::now() < end) {
    REQUIRE_MESSAGE(node.running(), "credit-node run exited early:\n" << node.err());
    auto r = http_get(admin, "/healthz", 500ms);
    if (r.status == 200) {
      CHECK(r.body == "ok\n");
      return;
    }
    std::this_thread::sleep_for(50ms);
  }
  FAIL("credit-node run did not answer /healthz within 10 s:\n" << node.err());
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

std::unique_ptr<node::net::http_client> client_for(const provincial_node& n, const std::string& addr,
                                                   bool with_cert = true) {
  auto ctx = node::net::tls_context::make(node::net::tls_side::client, n.child_files(with_cert));
  return node::net::http_client::make({addr, "js.province", ctx, std::chrono::milliseconds(5000), 1u << 20});
}

}  // namespace

TEST_CASE("run: serves health, metrics and /sync/v1/hello, and SIGTERM stops it with exit 0") {
  provincial_node n;
  child node({"run", "-c", n.cfg});
  wait_ready(node, n.admin_addr);

  auto hello = client_for(n, n.sync_addr)->get("/sync/v1/hello");
  REQUIRE(hello.status == 200);
  auto h = json::parse(hello.body).as_object();
  CHECK(h.at("node").at("id").as_string() == "js.province");
  CHECK(h.at("node").at("role").as_string() == "provincial");
  CHECK(h.at("peer").at("node_id").as_string() == "js.nanjing");
  CHECK(h.at("peer").at("role").as_string() == "local");
  CHECK(h.at("peer").at("jurisdiction").as_string() == "320100");

  auto api = client_for(n, n.api_addr, false)->get("/api/v1/anything");
  CHECK(api.status == 404);
  CHECK(api.body.find("\"error\":\"not_found\"") != std::string::npos);
  CHECK_THROWS_AS(client_for(n, n.sync_addr, false)->get("/sync/v1/hello"), node::net::client_error);

  // The refused client may hear the alert before the node counts it.
  const std::string refused = "credit_node_tls_handshake_failures_total{listener=\"sync\"} 1";
  auto m = http_get(n.admin_addr, "/metrics");
  for (int i = 0; i < 40 && !has_line(m.body, refused); ++i, std::this_thread::sleep_for(50ms))
    m = http_get(n.admin_addr, "/metrics");
  REQUIRE(m.status == 200);
  CHECK(has_line(m.body, "# TYPE credit_node_up gauge"));
  CHECK(has_line(m.body, "credit_node_up 1"));
  CHECK(has_line(m.body, "credit_node_records{category=\"tax\"} 0"));
  CHECK(has_line(m.body, "credit_node_quarantined_rows 0"));
  CHECK(has_line(m.body, "credit_node_http_requests_total{listener=\"sync\",endpoint=\"/sync/v1/hello\",code=\"200\"} 1"));
  CHECK(has_line(m.body, "credit_node_http_requests_total{listener=\"api\",endpoint=\"(no route)\",code=\"404\"} 1"));
  CHECK(has_line(m.body, refused));
  CHECK(has_line(m.body, "credit_node_tls_handshake_failures_total{listener=\"api\"} 0"));
  // When the certificates end, for an alert rule weeks ahead.
  auto not_after = node::pki::read_identity_pem(n.dir + "/tls/node.pem").not_after;
  CHECK(has_line(m.body, "credit_node_certificate_not_after_seconds{cert=\"node\"} " + std::to_string(not_after)));
  CHECK(m.body.find("credit_node_certificate_not_after_seconds{cert=\"ca\"} ") != std::string::npos);

  // A child whose certificate another CA signed is refused in the sync
  // handshake, and the log names whom the certificate belongs to (mbedTLS
  // has freed it by then: it is noted as it is verified).
  must(test::run_cli({"pki", "ca-init", "--dir", n.tmp / "other-ca", "--name", "Other CA"}), "pki ca-init (other)");
  must(test::run_cli({"pki", "sign", "--ca", n.tmp / "other-ca", "--csr", n.tmp / "child.csr", "--out", n.tmp / "rogue.pem", "--role",
                      "local", "--node-id", "js.nanjing", "--jurisdiction", "320100"}), "pki sign (other CA)");
  auto rogue = node::net::tls_context::make(node::net::tls_side::client, {n.ca + "/ca.pem", n.tmp / "rogue.pem", n.tmp / "child.key"});
  CHECK_THROWS_AS(node::net::http_client::make({n.sync_addr, "js.province", rogue, 5000ms, 1u << 20})->get("/sync/v1/hello"),
                  node::net::client_error);
  auto named = [&] {
    auto e = node.err();
    auto at = e.find("presented by CN=js.nanjing");
    return at != std::string::npos && e.rfind("event=tls_handshake_failed listener=sync", at) != std::string::npos;
  };
  for (int i = 0; i < 40 && !named(); ++i) std::this_thread::sleep_for(50ms);
  CHECK_MESSAGE(named(), node.err());

  node.signal(SIGTERM);
  auto code = node.wait_exit(5s);
  REQUIRE_MESSAGE(code, "still running 5 s after SIGTERM:\n" << node.err());
  CHECK(*code == 0);
  auto err = node.err();
  CHECK(err.find("event=listen listener=sync addr=" + n.sync_addr) != std::string::npos);
  CHECK(err.find("event=listen listener=admin addr=" + n.admin_addr) != std::string::npos);
  CHECK(err.find("event=signal signal=SIGTERM") != std::string::npos);
  CHECK(err.find("level=warn event=check_warning check=upstream") != std::string::npos);  // the self-check's findings, at start
  CHECK(err.find("event=exit code=0") != std::string::npos);
  CHECK(err.find("level=warn event=tls_handshake_failed listener=sync remote=127.0.0.1:") != std::string::npos);
}

TEST_CASE("run: a listen address already in use is exit 1, naming the listener and the address") {
  provincial_node n;
  port_holder busy;
  n.listen_on(loopback(busy.port), loopback(free_port()), loopback(free_port()));
  child node({"run", "-c", n.cfg});
  auto code = node.wait_exit(5s);
  REQUIRE_MESSAGE(code, "credit-node run did not exit:\n" << node.err());
  CHECK(*code == 1);
  auto err = node.err();
  CHECK_MESSAGE(err.find("sync listener") != std::string::npos, err);
  CHECK_MESSAGE(err.find(loopback(busy.port)) != std::string::npos, err);
  CHECK_MESSAGE(err.find("in use") != std::string::npos, err);
}

// A data dir the node cannot make or open is not "another node runs on it"
// (as it was once reported): it says what failed and which key to fix.
TEST_CASE("run: a data dir that cannot be opened is exit 1, naming the key and the cause") {
  provincial_node n;
  test::write_file(n.tmp / "a-file", "");
  auto text = test::read_file(n.cfg);
  auto at = text.find("\ndata_dir = ");
  REQUIRE(at != std::string::npos);
  auto end = text.find('\n', at + 1);
  test::write_file(n.cfg, text.substr(0, at) + "\ndata_dir = \"" + std::string(n.tmp / "a-file") + "/data\"" + text.substr(end));
  child node({"run", "-c", n.cfg});
  auto code = node.wait_exit(5s);
  REQUIRE_MESSAGE(code, "credit-node run did not exit:\n" << node.err());
  CHECK(*code == 1);
  auto err = node.err();
  CHECK_MESSAGE(err.find("event=data_dir_unusable") != std::string::npos, err);
  CHECK_MESSAGE(err.find("key=\"[node] data_dir\"") != std::string::npos, err);
  CHECK_MESSAGE(err.find("Not a directory") != std::string::npos, err);
  CHECK(err.find("another credit-node") == std::string::npos);
}

TEST_CASE("run: SIGHUP reloads the log level and limits, names what needs a restart, and a broken config changes nothing") {
  provincial_node n;
  child node({"run", "-c", n.cfg});
  wait_ready(node, n.admin_addr);
  auto text = test::read_file(n.cfg);
  auto edited = text;
  auto lvl = edited.find("\nlevel = ");
  REQUIRE(lvl != std::string::npos);
  edited.replace(lvl + 1, edited.find('\n', lvl + 1) - lvl - 1, "level = \"debug\"");
  edited += "\n[api]\nrequests_per_second = 5\n";
  auto listen = edited.find("\nsync = ");  // a listener moved: named, not taken
  REQUIRE(listen != std::string::npos);
  edited.replace(listen + 1, edited.find('\n', listen + 1) - listen - 1, "sync = \"127.0.0.1:1\"");
  test::write_file(n.cfg, edited);
  node.signal(SIGHUP);
  auto reloaded = [&] { return node.err().find("event=reloaded") != std::string::npos; };
  for (int i = 0; i < 50 && !reloaded(); ++i) std::this_thread::sleep_for(100ms);
  REQUIRE_MESSAGE(reloaded(), node.err());
  CHECK_MESSAGE(node.err().find("log_level=debug applied=log,api") != std::string::npos, node.err());
  CHECK_MESSAGE(node.err().find("needs_restart=listen") != std::string::npos, node.err());
  http_get(n.admin_addr, "/healthz");  // at debug level, requests are logged
  for (int i = 0; i < 50 && node.err().find("level=debug event=request") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);
  CHECK(node.err().find("level=debug event=request") != std::string::npos);
  test::write_file(n.cfg, edited + "\n[nonsense]\n");
  node.signal(SIGHUP);
  for (int i = 0; i < 50 && node.err().find("event=reload_refused") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);
  CHECK(node.err().find("event=reload_refused") != std::string::npos);
  CHECK(http_get(n.admin_addr, "/healthz").status == 200);  // still serving
  // A renewed certificate put in place is read at the next start: the
  // reload says so rather than "applied" as if it were in use.
  test::write_file(n.cfg, text);
  auto in_use = node::pki::read_identity_pem(n.dir + "/tls/node.pem").not_after;
  REQUIRE(test::run_cli({"pki", "sign", "--ca", n.ca, "--csr", n.dir + "/tls/node.csr", "--out", n.dir + "/tls/node.pem",
                         "--role", "provincial", "--node-id", "js.province", "--jurisdiction", "320000", "--days", "30"}).exit_code == 0);
  node.signal(SIGHUP);
  for (int i = 0; i < 50 && node.err().find("event=tls_files_changed") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);
  CHECK(node.err().find("level=warn event=tls_files_changed") != std::string::npos);
  CHECK(node.err().find("needs_restart=tls") != std::string::npos);
  // The metric reports the certificate in use, not the file renewed on disk.
  REQUIRE(node::pki::read_identity_pem(n.dir + "/tls/node.pem").not_after < in_use);
  CHECK(has_line(http_get(n.admin_addr, "/metrics").body,
                 "credit_node_certificate_not_after_seconds{cert=\"node\"} " + std::to_string(in_use)));
  node.signal(SIGTERM);
  CHECK(node.wait_exit(5s) == 0);
}
