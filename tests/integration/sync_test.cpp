// Three real nodes on loopback — provincial js.province (320000) with two
// locals, js.nanjing (320100) and js.suzhou (320500) — with certificates
// from the binary's own CA, syncing over mutual TLS.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <boost/json.hpp>

#include <deque>
#include <fstream>
#include <random>
#include <set>

#include "node/net/client.hpp"
#include "store/reader.hpp"
#include "tree.hpp"

using namespace itest;
namespace json = boost::json;


TEST_CASE("sync: up from a local, down only where the jurisdiction is, version 2 everywhere, kill -9 converges") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  auto& sz = net.add("js.suzhou", "local", "320500", net.sync_addr(prov), "js.province");
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg}), s({"run", "-c", sz.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  wait_ready(sz, s);

  // Up: Nanjing's records reach the province, with their owner and version.
  auto nanjing_firms = codes("320106", 3, 1);
  test::write_file(net.d / "nj.csv", csv(nanjing_firms, "nj-", "1.00"));
  REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / "nj.csv"}).exit_code == 0);
  REQUIRE_MESSAGE(eventually([&] { return exported(prov).size() == 3; }), p.err() << n.err());
  CHECK(exported(prov)[0].at("origin").as_string() == "js.nanjing");
  CHECK(exported(sz).empty());  // nothing about Nanjing firms goes to Suzhou

  // Down: a provincial record reaches the local whose jurisdiction it is.
  auto gulou = codes("320102", 1, 2)[0], gusu = codes("320508", 1, 3)[0];
  test::write_file(net.d / "prov.csv", csv({gulou, gusu}, "prov-", "9.00"));
  REQUIRE(test::run_cli({"import", "-c", prov.cfg, "--category", "tax", net.d / "prov.csv"}).exit_code == 0);
  REQUIRE(eventually([&] { return exported(nj, gulou).size() == 1 && exported(sz, gusu).size() == 1; }));
  CHECK(exported(nj, gusu).empty());
  CHECK(exported(sz, gulou).empty());
  CHECK(exported(nj).size() == 4);  // its own 3 and the provincial one; nothing echoed twice

  // The owner's version 2 replaces version 1 upstream.
  test::write_file(net.d / "nj2.csv", csv(nanjing_firms, "nj-", "2.00"));
  REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / "nj2.csv"}).exit_code == 0);
  REQUIRE(eventually([&] {
    auto rs = exported(prov, nanjing_firms[0]);
    return rs.size() == 1 && rs[0].at("version").as_int64() == 2;
  }));

  // kill -9 of the local right after a large import; restarted, it converges
  // with no duplicates and nothing lost.
  auto many = codes("320111", 400, 4);
  test::write_file(net.d / "many.csv", csv(many, "m-", "3.00"));
  REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / "many.csv"}).exit_code == 0);
  n.signal(SIGKILL);
  n.wait_exit(5s);
  {  // status of a node that is not running says so, whatever its last link state said
    auto dead = upstream_of(nj);
    CHECK(dead.at("state").as_string() == "unreachable");
    CHECK_FALSE(dead.at("running").as_bool());
    CHECK(std::string(dead.at("reasons").as_array().at(0).as_string()).find("credit-node run is not running on") == 0);
    CHECK(dead.contains("push_acked"));  // the cursors it last wrote are still shown
  }
  child n2({"run", "-c", nj.cfg});
  wait_ready(nj, n2);
  REQUIRE_MESSAGE(eventually([&] { return exported(prov).size() == 405; }), n2.err());
  auto all = exported(prov);
  std::set<std::string> keys;
  for (const auto& r : all) keys.insert(std::string(r.at("subject").as_string()) + "/" + std::string(r.at("record_id").as_string()));
  CHECK(keys.size() == all.size());
  auto st = json::parse(test::run_cli({"status", "--json", "-c", nj.cfg}).out);
  CHECK(st.at("upstream").at("state").as_string() == "admitted");
  CHECK(eventually([&] {  // nothing left waiting for the parent
    auto v = json::parse(test::run_cli({"status", "--json", "-c", nj.cfg}).out);
    auto& up = v.at("upstream");  // null until the link has heard the parent's ack
    auto zero = [](const json::value& x) { return x.is_number() && x.to_number<std::int64_t>() == 0; };
    return zero(up.at("lag_changes")) && zero(up.at("lag_seconds"));
  }, 10s));
  // Once quiet, the local's digest of its jurisdiction equals the parent's.
  CHECK(eventually([&] {
    auto v = json::parse(test::run_cli({"status", "--json", "-c", nj.cfg}).out);
    auto& up = v.at("upstream").as_object();
    return up.contains("in_sync") && up.at("in_sync").as_bool();
  }, 20s));
  // The same for a person: the link, both cursors, the lag and the agreement.
  auto text = test::run_cli({"status", "-c", nj.cfg}).out;
  CHECK_MESSAGE(text.find("upstream    admitted\n") != std::string::npos, text);
  CHECK(text.find("  parent              js.province at https://") != std::string::npos);
  CHECK(text.find("  up                  acknowledged to ") != std::string::npos);
  CHECK(text.find(", lag 0 changes / 0 s") != std::string::npos);
  CHECK(text.find("  down                cursor ") != std::string::npos);
  CHECK(text.find("  agreement           in sync: true") != std::string::npos);
  auto ptext = test::run_cli({"status", "-c", prov.cfg}).out;
  CHECK_MESSAGE(ptext.find("child       js.nanjing (local, 320100): admitted, ") != std::string::npos, ptext);
  CHECK(ptext.find("child       js.suzhou (local, 320500): admitted, ") != std::string::npos);
  CHECK(ptext.find(" — -") == std::string::npos);
  // Stopped, with a change its parent has not seen: no agreement claimed.
  n2.signal(SIGTERM);
  REQUIRE(n2.wait_exit(5s));
  test::write_file(net.d / "late.csv", csv({nanjing_firms[0]}, "late-", "1.00"));
  REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / "late.csv"}).exit_code == 0);
  auto up = upstream_of(nj);
  CHECK(up.at("lag_changes").to_number<std::int64_t>() == 1);
  CHECK_FALSE(up.at("in_sync").as_bool());
  CHECK_FALSE(up.at("running").as_bool());
}

TEST_CASE("sync: a parent restored from an older backup is detected and reconciled, loudly") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  auto firms = codes("320104", 10, 11);
  auto backup = net.d / "backup";
  {
    child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
    wait_ready(prov, p);
    wait_ready(nj, n);
    test::write_file(net.d / "a.csv", csv({firms.begin(), firms.begin() + 3}, "a-", "1.00"));
    REQUIRE(test::run_cli({"import", "-c", prov.cfg, "--category", "tax", net.d / "a.csv"}).exit_code == 0);
    REQUIRE(eventually([&] { return exported(nj).size() == 3; }));
    p.signal(SIGTERM);
    REQUIRE(p.wait_exit(5s));
    std::filesystem::copy(prov.dir + "/data", backup);  // the province's backup, taken now
    child p2({"run", "-c", prov.cfg});
    wait_ready(prov, p2);
    test::write_file(net.d / "b.csv", csv({firms.begin() + 3, firms.begin() + 8}, "b-", "2.00"));
    REQUIRE(test::run_cli({"import", "-c", prov.cfg, "--category", "tax", net.d / "b.csv"}).exit_code == 0);
    // The child's own records go up after the backup: acknowledged, then
    // lost with the restore.
    test::write_file(net.d / "own.csv", csv({firms.begin(), firms.begin() + 2}, "own-", "4.00"));
    REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / "own.csv"}).exit_code == 0);
    REQUIRE(eventually([&] { return exported(nj).size() == 10 && exported(prov).size() == 10; }));
    p2.signal(SIGTERM);
    REQUIRE(p2.wait_exit(5s));
    // The province is restored from the older backup.
    std::filesystem::remove_all(prov.dir + "/data");
    std::filesystem::copy(backup, prov.dir + "/data");
    child p3({"run", "-c", prov.cfg});
    wait_ready(prov, p3);
    // The child, with nothing new to push, sends its own records again: the
    // province holds its 3 and the child's 2 (its own 5 imported after the
    // backup are gone with it: the child holds copies, but they are the
    // province's to send). Nothing new came down to wake the pusher: it
    // learns from the puller that the parent's store went back.
    CHECK_MESSAGE(eventually([&] { return exported(prov).size() == 5; }), n.err());
    CHECK(n.err().find("event=sync_reconcile direction=up") != std::string::npos);
    {  // the link failed while the province was down: status says what and when
      auto up = upstream_of(nj);
      REQUIRE(up.contains("last_error"));
      CHECK(up.at("last_error_at").as_string().size() == 24);  // 2026-11-28T13:49:05.498Z
      CHECK(up.at("running").as_bool());
    }
    // The province changes again. Not skipped: the new records arrive
    // although the parent numbers them below the child's old cursor.
    test::write_file(net.d / "c.csv", csv({firms.begin() + 8, firms.end()}, "c-", "3.00"));
    REQUIRE(test::run_cli({"import", "-c", prov.cfg, "--category", "tax", net.d / "c.csv"}).exit_code == 0);
    REQUIRE_MESSAGE(eventually([&] { return exported(nj).size() == 12; }), n.err());
    CHECK(n.err().find("event=sync_reconcile direction=down") != std::string::npos);
    CHECK(eventually([&] {
      auto st = json::parse(test::run_cli({"status", "--json", "-c", nj.cfg}).out);
      return st.at("upstream").as_object().contains("reconciled_at");
    }, 5s));
  }
}

// The same, but the parent went on writing past the child's cursor before
// the child asked again: no cursor is ahead, and only the stamp of the
// change at the cursor (another one now) shows that the parent went back.
// Before, the changes the parent numbered at or below the old cursor never
// came down.
TEST_CASE("sync: a parent that went back and wrote past the child's cursor is seen by the stamp at the cursor") {
  std::size_t rewritten = 5;  // the province's changes 4-8 after it went back: past the child's cursor 6
  SUBCASE("past the cursor") {}
  SUBCASE("exactly as many as it lost") { rewritten = 3; }  // 4-6: the cursor's position again, another change there
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  auto firms = codes("320104", 6 + rewritten, 12);
  auto at_prov = [&](const std::string& name, std::size_t from, std::size_t to, const std::string& prefix) {
    REQUIRE(import_tax(net, prov, name, {firms.begin() + from, firms.begin() + to}, prefix, "1.00").exit_code == 0);
  };
  auto snapshot = net.d / "snapshot";
  auto n = std::make_unique<child>(std::vector<std::string>{"run", "-c", nj.cfg});
  {
    child p({"run", "-c", prov.cfg});
    wait_ready(prov, p);
    at_prov("a.csv", 0, 3, "a-");  // the province's changes 1-3
    REQUIRE_MESSAGE(eventually([&] { return exported(nj).size() == 3; }), n->err());
    p.signal(SIGTERM);
    REQUIRE(p.wait_exit(5s));
  }
  std::filesystem::copy(prov.dir + "/data", snapshot);
  {
    child p({"run", "-c", prov.cfg});
    wait_ready(prov, p);
    at_prov("b.csv", 3, 6, "b-");  // 4-6: the child's cursor is 6
    REQUIRE_MESSAGE(eventually([&] { return exported(nj).size() == 6; }), n->err());
    p.signal(SIGTERM);
    REQUIRE(p.wait_exit(5s));
  }
  std::filesystem::remove_all(prov.dir + "/data");
  std::filesystem::copy(snapshot, prov.dir + "/data");
  CHECK(n->err().find("sync_reconcile") == std::string::npos);  // the restarts alone are no rollback
  at_prov("c.csv", 6, 6 + rewritten, "c-");  // 4-..., other records
  child p({"run", "-c", prov.cfg});
  wait_ready(prov, p);
  CHECK_MESSAGE(eventually([&] { return exported(nj).size() == 6 + rewritten; }), n->err());
  CHECK(n->err().find("cursor_elsewhere") != std::string::npos);
  CHECK(n->err().find("event=sync_reconcile direction=down") != std::string::npos);
  // Restarted, the child starts from its stored cursor: no longer the one
  // (and stamp) of the store that is gone, so no second reconcile.
  n->signal(SIGTERM);
  REQUIRE(n->wait_exit(5s));
  n = std::make_unique<child>(std::vector<std::string>{"run", "-c", nj.cfg});
  wait_ready(nj, *n);
  REQUIRE(eventually([&] { return state_is(nj, "admitted"); }));
  std::this_thread::sleep_for(1500ms);  // a few pulls' time
  CHECK_MESSAGE(n->err().find("sync_reconcile") == std::string::npos, n->err());
  CHECK(exported(nj).size() == 6 + rewritten);
}

TEST_CASE("sync: re-parenting a local from the national node to its province loses nothing and duplicates nothing") {
  network net;
  auto& nat = net.add("cn.national", "national", "100000");
  auto& prov = net.add("js.province", "provincial", "320000", net.sync_addr(nat), "cn.national");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(nat), "cn.national");  // wired straight up (先立)
  auto firms = codes("320113", 20, 21);
  child pn({"run", "-c", nat.cfg}), pp({"run", "-c", prov.cfg});
  wait_ready(nat, pn);
  wait_ready(prov, pp);
  {
    child n({"run", "-c", nj.cfg});
    wait_ready(nj, n);
    test::write_file(net.d / "a.csv", csv(firms, "a-", "1.00"));
    REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / "a.csv"}).exit_code == 0);
    REQUIRE(eventually([&] { return exported(nat).size() == 20; }));
    // The province hears of it from above: national data about Jiangsu firms flows down.
    REQUIRE(eventually([&] { return exported(prov).size() == 20; }));
    // National data about Nanjing firms reaches the local from its first parent.
    test::write_file(net.d / "n.csv", csv({firms.begin(), firms.begin() + 10}, "n-", "9.00"));
    REQUIRE(test::run_cli({"import", "-c", nat.cfg, "--category", "tax", net.d / "n.csv"}).exit_code == 0);
    REQUIRE(eventually([&] { return exported(nj).size() == 30 && exported(prov).size() == 30; }));
    n.signal(SIGTERM);
    REQUIRE(n.wait_exit(5s));
  }
  // 后破: the local now hangs under its province.
  auto text = test::read_file(nj.cfg);
  auto p = text.find("\n[upstream]");
  REQUIRE(p != std::string::npos);
  text = text.substr(0, p) + "\n[upstream]\nurl = \"https://" + net.sync_addr(prov) + "\"\nnode_id = \"js.province\"\n";
  test::write_file(nj.cfg, text);
  net.approve("js.province", nj);
  child n2({"run", "-c", nj.cfg});
  wait_ready(nj, n2);
  test::write_file(net.d / "b.csv", csv({firms.begin(), firms.begin() + 5}, "b-", "2.00"));
  REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / "b.csv"}).exit_code == 0);
  REQUIRE_MESSAGE(eventually([&] { return exported(prov).size() == 35 && exported(nat).size() == 35; }), n2.err());
  // What came down from the old parent is not the local's to push up: the
  // province charged it no violation (it once counted one per record and
  // suspended the local).
  auto nodes = json::parse(test::run_cli({"admin", "nodes", "--json", "-c", prov.cfg}).out).at("nodes").as_array();
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].at("state").as_string() == "admitted");
  CHECK(nodes[0].at("violations").to_number<int>() == 0);
  CHECK(pp.err().find("event=sync_push_problems") == std::string::npos);
  for (const auto& node : {&prov, &nat}) {
    auto rs = exported(*node);
    std::set<std::string> keys;
    for (const auto& r : rs) keys.insert(std::string(r.at("subject").as_string()) + "/" + std::string(r.at("record_id").as_string()));
    CHECK(keys.size() == rs.size());
    for (const auto& r : rs) CHECK(r.at("version").as_int64() == 1);
  }
}

// A child dialling another of its parent's listeners: the error says what
// answered there and which key to fix.
static void check_wrong_upstream_port(const std::string& which, const std::string& said) {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", which == "api" ? net.api_addr(prov) : prov.admin, "js.province");
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  CHECK_MESSAGE(eventually([&] {
    auto up = upstream_of(nj);
    return up.contains("last_error") && std::string(up.at("last_error").as_string()).find(said) != std::string::npos;
  }, 10s), n.err());
}

TEST_CASE("sync: an upstream url naming the parent's API port says which key to fix") {
  check_wrong_upstream_port("api", "not a credit-node sync listener (its API or admin port?); "
                                   "[upstream] url must name the parent's [listen] sync address");
}

// The admin listener speaks plain HTTP: mbedTLS alone says "invalid SSL record".
TEST_CASE("sync: an upstream url naming the parent's plain-HTTP admin port says so, and which key to fix") {
  check_wrong_upstream_port("admin", "answered in plain HTTP, not TLS (a plain-HTTP port, such as a node's admin listener); "
                                     "[upstream] url must name the parent's [listen] sync address");
}

TEST_CASE("sync: a node whose self-check fails does not dial its parent, and says why") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  ::chmod((nj.dir + "/tls/node.key").c_str(), 0644);  // a key readable by others
  test::write_file(net.d / "a.csv", csv(codes("320102", 2, 31), "a-", "1.00"));
  REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / "a.csv"}).exit_code == 0);
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  REQUIRE(eventually([&] {
    auto v = json::parse(test::run_cli({"status", "--json", "-c", nj.cfg}).out);
    return v.at("upstream").at("state").as_string() == "refused";
  }, 5s));
  auto up = upstream_of(nj);
  REQUIRE(!up.at("reasons").as_array().empty());
  CHECK(std::string(up.at("reasons").as_array()[0].as_string()).find("tls.key_mode") != std::string::npos);
  CHECK(n.err().find("event=sync_blocked") != std::string::npos);
  std::this_thread::sleep_for(1s);
  CHECK(exported(prov).empty());  // nothing went up
}

// What a child asks a pull for is checked before anything is read: a
// number that is not one, or a max of 0, is 400 naming the parameter (never
// read as 0 or 1); a cursor past the parent's newest change is 409.
TEST_CASE("sync: a pull's cursor and max are checked: 400 naming the parameter, 409 for a cursor ahead of the parent") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  test::write_file(net.d / "a.csv", csv(codes("320102", 3, 41), "a-", "1.00"));
  REQUIRE(test::run_cli({"import", "-c", prov.cfg, "--category", "tax", net.d / "a.csv"}).exit_code == 0);
  child p({"run", "-c", prov.cfg});
  wait_ready(prov, p);
  {  // the child joins once (a pull needs an admitted join), then stops
    child n({"run", "-c", nj.cfg});
    REQUIRE_MESSAGE(eventually([&] { return state_is(nj, "admitted"); }, 10s), n.err());
  }
  // The child's own certificate, from the test.
  auto tls = node::net::tls_context::make(node::net::tls_side::client,
                                          {nj.dir + "/tls/ca.pem", nj.dir + "/tls/node.pem", nj.dir + "/tls/node.key"});
  auto c = node::net::http_client::make({net.sync_addr(prov), "js.province", tls, 5s, 16u << 20});
  auto error_of = [](const node::net::http_response& r) { return std::string(json::parse(r.body).at("error").as_string()); };
  auto detail_of = [](const node::net::http_response& r) { return std::string(json::parse(r.body).at("detail").as_string()); };

  auto zero = c->get("/sync/v1/pull?cursor=0&max=0");
  CHECK(zero.status == 400);
  CHECK(error_of(zero) == "bad_query");
  CHECK(detail_of(zero).find("max: 0 asks for no changes; give 1 to 20000") == 0);
  for (const char* bad : {"cursor=-1", "cursor=abc", "max=1.5", "wait_ms=-5"}) {
    auto r = c->get(std::string("/sync/v1/pull?") + bad);
    CHECK_MESSAGE(r.status == 400, bad);
    CHECK_MESSAGE(detail_of(r).find(std::string(bad).substr(0, std::string(bad).find('=')) + ": '") == 0, bad << ": " << r.body);
  }
  auto ahead = c->get("/sync/v1/pull?cursor=999999");
  CHECK(ahead.status == 409);
  CHECK(error_of(ahead) == "cursor_ahead");
  for (const char* bad : {"xyz", "0000000000000000", "ABCDEF0123456789"}) {
    auto r = c->get(std::string("/sync/v1/pull?cursor=1&cursor_stamp=") + bad);
    CHECK_MESSAGE(r.status == 400, bad);
    CHECK_MESSAGE(detail_of(r).find("cursor_stamp: must be 16 lower-case hex digits") == 0, r.body);
  }

  // The same child asking properly gets the three records, one per answer with max=1.
  auto one = c->get("/sync/v1/pull?cursor=0&max=1");
  REQUIRE_MESSAGE(one.status == 200, one.body);
  auto b = json::parse(one.body).as_object();
  CHECK(b.at("changes").as_array().size() == 1);
  CHECK(b.at("more").as_bool());
  auto all = c->get("/sync/v1/pull?cursor=0&max=100000");  // over the limit: lowered to it, not refused
  REQUIRE(all.status == 200);
  CHECK(json::parse(all.body).at("changes").as_array().size() == 3);
  // The answer's stamp of the change at its last_seq, given back with the
  // next pull, is that change here; another stamp (of this definition) is
  // a store that went back; one of another definition is not compared.
  auto stamp = std::string(json::parse(one.body).at("last_stamp").as_string());
  CHECK(c->get("/sync/v1/pull?cursor=1&wait_ms=0&cursor_stamp=" + stamp).status == 200);
  auto other = stamp;
  other[15] = other[15] == '0' ? '1' : '0';
  auto elsewhere = c->get("/sync/v1/pull?cursor=1&cursor_stamp=" + other);
  CHECK(elsewhere.status == 409);
  CHECK(error_of(elsewhere) == "cursor_elsewhere");
  other[0] = '2';  // a definition this parent does not have
  CHECK(c->get("/sync/v1/pull?cursor=1&wait_ms=0&cursor_stamp=" + other).status == 200);
}

// Each sync route's body limit holds before the body is read, and a push
// from a certificate of the network's CA that is not an admitted child (a
// bank's) is refused unread: it could otherwise make a parent read tens
// of MiB per connection.
TEST_CASE("sync: the sync listener bounds each route's body and refuses a push from a non-child before reading it") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  child p({"run", "-c", prov.cfg});
  wait_ready(prov, p);
  auto key = net.d / "bank.key", csr = net.d / "bank.csr", pem = net.d / "bank.pem";
  REQUIRE(test::run_cli({"pki", "csr", "--key", key, "--out", csr, "--node-id", "bank-a", "--role", "bank"}).exit_code == 0);
  REQUIRE(test::run_cli({"pki", "sign", "--ca", net.ca, "--csr", csr, "--out", pem, "--role", "bank", "--node-id", "bank-a"}).exit_code == 0);
  auto client_as = [&](const std::string& cert, const std::string& k) {
    auto tls = node::net::tls_context::make(node::net::tls_side::client, {nj.dir + "/tls/ca.pem", cert, k});
    return node::net::http_client::make({net.sync_addr(prov), "js.province", tls, 5s, 16u << 20});
  };
  auto detail_of = [](const node::net::http_response& r) { return std::string(json::parse(r.body).at("detail").as_string()); };

  auto bank = client_as(pem, key)->request({"POST", "/sync/v1/push", std::string(12u << 20, 'x'), "application/json", {}});  // over the 8 MiB a lingering close drops by default
  CHECK(bank.status == 403);
  CHECK_MESSAGE(json::parse(bank.body).at("error").as_string() == "not_a_child", bank.body);
  CHECK(p.err().find("event=request_refused listener=sync") != std::string::npos);

  auto c = client_as(nj.dir + "/tls/node.pem", nj.dir + "/tls/node.key");
  auto join = c->request({"POST", "/sync/v1/join", std::string((1u << 20) + 1, ' '), "application/json", {}});
  CHECK(join.status == 413);
  CHECK_MESSAGE(detail_of(join) == "request body of 1048577 bytes exceeds 1048576 for POST /sync/v1/join", join.body);
  auto c2 = client_as(nj.dir + "/tls/node.pem", nj.dir + "/tls/node.key");  // a refusal closes its connection
  auto pull = c2->request({"GET", "/sync/v1/pull?cursor=0", "x", "text/plain", {}});
  CHECK(pull.status == 413);
  CHECK(detail_of(pull) == "request body of 1 bytes exceeds 0 for GET /sync/v1/pull");
  // The child is approved but has not joined: its push is refused unread too.
  auto c3 = client_as(nj.dir + "/tls/node.pem", nj.dir + "/tls/node.key");
  auto early = c3->request({"POST", "/sync/v1/push", "{}", "application/json", {}});
  CHECK(early.status == 403);
  CHECK_MESSAGE(json::parse(early.body).at("error").as_string() == "not_admitted", early.body);
}

TEST_CASE("sync: a pull that only moves past the child's own changes commits nothing at the child, one with changes does") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  auto started = steady::now();  // the local stores a moved cursor after 10 s even with nothing to apply
  test::write_file(net.d / "nj.csv", csv(codes("320106", 3, 11), "nj-", "1.00"));
  REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / "nj.csv"}).exit_code == 0);
  REQUIRE_MESSAGE(eventually([&] { return exported(prov).size() == 3; }), p.err() << n.err());
  // The province logged the 3 changes; the local's puller reads past them
  // (they came from it) ...
  auto pull_cursor = [&] {
    auto v = json::parse(test::run_cli({"status", "--json", "-c", nj.cfg}).out);
    auto* c = v.at("upstream").as_object().if_contains("pull_cursor");
    return c && c->is_number() ? c->to_number<std::int64_t>() : -1;
  };
  REQUIRE_MESSAGE(eventually([&] { return pull_cursor() == 3; }), n.err());
  // ... without a commit of its own for that: no cursor stored, and the
  // local's change log holds only its own 3 changes.
  {
    auto env = store::environment::open({nj.dir + "/data"});
    store::reader rd(*env);
    if (steady::now() - started < 9s)
      CHECK_FALSE(rd.cursor_of("down:js.province"));
    else
      MESSAGE("the machine was too slow to see the deferred cursor before its 10 s save");
    CHECK(rd.stats().last_seq == 3);
  }
  // A change that does come down is applied with the cursor past it.
  auto gulou = codes("320102", 1, 12)[0];
  test::write_file(net.d / "prov.csv", csv({gulou}, "prov-", "9.00"));
  REQUIRE(test::run_cli({"import", "-c", prov.cfg, "--category", "tax", net.d / "prov.csv"}).exit_code == 0);
  REQUIRE(eventually([&] { return exported(nj, gulou).size() == 1; }));
  auto env = store::environment::open({nj.dir + "/data"});
  auto cur = store::reader(*env).cursor_of("down:js.province");
  REQUIRE(cur);
  CHECK(cur->seq == 4);
}

TEST_CASE("sync: a catch-up of 150,000 changes goes up in key order, in batches written ahead of their answers, and a kill -9 of the parent midway loses and duplicates nothing") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  // 1,500 firms x 100 records, imported before the link runs: at 20,000
  // per batch the push is a run of batches, each written while the one
  // before is answered.
  auto firms = codes("320106", 1500, 9);
  std::string rows = "subject,record_id,event_date,source,period,tax_type,amount_paid\n";
  for (int r = 0; r < 100; ++r)
    for (std::size_t f = 0; f < firms.size(); ++f)
      rows += firms[f] + ",c" + std::to_string(r) + "-" + std::to_string(f) + ",2026-10-01,tax,2026-09,VAT,1.00\n";
  test::write_file(net.d / "catch-up.csv", rows);
  REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / "catch-up.csv"}).exit_code == 0);
  auto p = std::make_unique<child>(std::vector<std::string>{"run", "-c", prov.cfg});
  child n({"run", "-c", nj.cfg});
  wait_ready(prov, *p);
  wait_ready(nj, n);
  // The parent dies as soon as it holds something: batches written ahead
  // are in flight, their answers owed.
  auto held = [&] {
    auto v = json::parse(test::run_cli({"status", "--json", "-c", prov.cfg}).out);
    return v.at("records").at("total").to_number<std::uint64_t>();
  };
  REQUIRE_MESSAGE(eventually([&] { return held() > 0; }, 30s), p->err() << n.err());
  p->signal(SIGKILL);
  p->wait_exit(5s);
  auto before = held();
  p = std::make_unique<child>(std::vector<std::string>{"run", "-c", prov.cfg});
  wait_ready(prov, *p);
  REQUIRE_MESSAGE(eventually([&] { return held() == 150000; }, 120s), p->err() << n.err());
  // The child's log says the link broke and that it came back; the whole
  // store went up in the parent's key order (sync/catchup.hpp), begun again
  // after the kill: the parent's cursor moves only at its end.
  auto log = n.err();
  auto broke = log.find("event=sync_failed");
  REQUIRE_MESSAGE(broke != std::string::npos, log);
  CHECK_MESSAGE(log.find("level=info event=sync_restored", broke) != std::string::npos, log);
  const std::string by_key = "event=sync_push_by_key parent=js.province records=150000 from=0 to=150000 attempt=";
  CHECK_MESSAGE(log.find(by_key + "1") != std::string::npos, log);
  CHECK_MESSAGE(log.find(by_key + "2", broke) != std::string::npos, log);
  auto all = exported(prov);
  std::set<std::string> keys;
  for (const auto& r : all) keys.insert(std::string(r.at("subject").as_string()) + "/" + std::string(r.at("record_id").as_string()));
  CHECK(all.size() == 150000);
  CHECK(keys.size() == 150000);
  // Each change was applied once: a batch resent after the kill changes
  // nothing, so the parent logged exactly one change per record.
  auto st = json::parse(test::run_cli({"status", "--json", "-c", prov.cfg}).out);
  CHECK(st.at("store").at("last_seq").to_number<std::uint64_t>() == 150000);
  CHECK(keys.count(firms[1499] + "/c99-1499") == 1);
  INFO("records at the parent when it was killed: " << before);
  CHECK(before < 150000);  // it died mid-run, not after
  // After the restart the run went on in batches written ahead.
  CHECK(eventually([&] {
    auto v = json::parse(test::run_cli({"status", "--json", "-c", nj.cfg}).out).at("upstream");
    auto* ahead = v.as_object().if_contains("pushed_ahead");
    return ahead && ahead->to_number<std::uint64_t>() >= 3 &&
           v.at("pushed_batches").to_number<std::uint64_t>() > ahead->to_number<std::uint64_t>();
  }, 20s));
  // Every answer's ack and stamp (pipelined, across a parent's kill -9)
  // matched the child's own log: nothing took it for a store that went back.
  CHECK(n.err().find("sync_store_went_back") == std::string::npos);
}

// An idle link always has a long-poll (4 s) at its parent: a stop must
// interrupt it, not wait it out — systemd's restart and an operator's
// `restore` right after `systemctl stop` found the node still running.
TEST_CASE("sync: SIGTERM stops each node of a tree at once, its long-poll interrupted") {
  network net;
  auto& nat = net.add("cn.national", "national", "100000");
  auto& prov = net.add("js.province", "provincial", "320000", net.sync_addr(nat), "cn.national");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  child c_nat({"run", "-c", nat.cfg}), c_prov({"run", "-c", prov.cfg}), c_nj({"run", "-c", nj.cfg});
  for (auto [n, c] : {std::pair{&nat, &c_nat}, {&prov, &c_prov}, {&nj, &c_nj}}) wait_ready(*n, *c);
  REQUIRE_MESSAGE(eventually([&] { return state_is(nj, "admitted") && state_is(prov, "admitted"); }, 10s), c_nj.err());
  for (auto* c : {&c_nj, &c_prov, &c_nat}) {
    std::this_thread::sleep_for(1500ms);  // a fresh long-poll is under way
    auto logged = c->err().size();  // a parent still starting up may have refused a first dial
    auto t0 = std::chrono::steady_clock::now();
    c->signal(SIGTERM);
    auto code = c->wait_exit(1500ms);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("stopped in " << took << " ms");
    REQUIRE_MESSAGE(code, "still running 1.5 s after SIGTERM:\n" << c->err());
    CHECK(*code == 0);
    CHECK_MESSAGE(c->err().find("event=sync_failed", logged) == std::string::npos, c->err());  // an interrupted request is not a failure
  }
}

// A child restarted while its parent is down still shows how far behind it
// is, from what the previous run last heard; its lag went blank (null) in
// status and out of /metrics, silencing a lag alert during the outage.
TEST_CASE("sync: a child restarted during its parent's outage keeps showing its cursors and lag") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  auto import = [&](const std::string& name, const std::string& prefix) {
    test::write_file(net.d / name, csv(codes("320102", 5, 7), prefix, "1.00"));
    REQUIRE(test::run_cli({"import", "-c", nj.cfg, "--category", "tax", net.d / name}).exit_code == 0);
  };
  import("a.csv", "a-");
  auto p = std::make_unique<child>(std::vector<std::string>{"run", "-c", prov.cfg});
  auto n = std::make_unique<child>(std::vector<std::string>{"run", "-c", nj.cfg});
  wait_ready(prov, *p);
  wait_ready(nj, *n);
  auto acked = [&] {
    auto* v = upstream_of(nj).if_contains("push_acked");
    return v && v->is_number() ? v->to_number<std::int64_t>() : -1;
  };
  REQUIRE_MESSAGE(eventually([&] { return acked() == 5; }, 15s), n->err());
  p->signal(SIGTERM);
  REQUIRE(p->wait_exit(5s));
  n->signal(SIGTERM);
  REQUIRE(n->wait_exit(5s));
  import("b.csv", "b-");  // 5 more, waiting for the parent
  n = std::make_unique<child>(std::vector<std::string>{"run", "-c", nj.cfg});
  wait_ready(nj, *n);
  REQUIRE_MESSAGE(eventually([&] { return state_is(nj, "unreachable") && upstream_of(nj).at("running").as_bool(); }, 10s), n->err());
  std::this_thread::sleep_for(1s);
  auto up = upstream_of(nj);
  CHECK(acked() == 5);
  REQUIRE(up.at("lag_changes").is_number());
  CHECK(up.at("lag_changes").to_number<std::int64_t>() == 5);
  CHECK(http_get(nj.admin, "/metrics").body.find("credit_node_upstream_lag_changes") != std::string::npos);
}
