// Backup while the node runs, restore only when it is stopped: real
// processes, the real store.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <filesystem>

#include "node/api/api.hpp"
#include "node/pki/pki.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "tree.hpp"

using namespace itest;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

void put_consent(const tree_node& n, bool withdrawn) {
  auto env = store::environment::open({n.dir + "/data"});
  store::access_op op;
  op.what = withdrawn ? store::access_op::kind::withdraw_consent : store::access_op::kind::put_consent;
  op.grant.id = "c-1";
  if (!withdrawn) {
    op.grant = {"c-1", "91320102776049653M", "bank-a", "credit_assessment", {"tax"}, store::consent_level::detail, false,
                1'700'000'000'000, 4'000'000'000'000, "sha256:" + std::string(64, 'a'), "portal", false, 0, 0, 0};
  }
  store::write_batch b;
  b.access.push_back(std::move(op));
  store::writer(*env).submit(std::move(b)).get();
}

std::string instance_of(const tree_node& n) {
  auto st = json::parse(test::run_cli({"status", "--json", "-c", n.cfg}).out);
  return std::string(st.at("store").at("instance_id").as_string());
}

}  // namespace

TEST_CASE("backup: consistent while the node runs, restore refused while it runs or when damaged, then a new instance with nothing lost") {
  network net;
  auto& n = net.add("js.nanjing", "local", "320100");
  auto firms = codes("320102", 5, 41);
  test::write_file(net.d / "a.csv", csv({firms[0], firms[1], firms[2]}, "a-", "1.00"));
  REQUIRE(test::run_cli({"import", "-c", n.cfg, "--category", "tax", net.d / "a.csv"}).exit_code == 0);
  auto before = instance_of(n);
  std::string file = net.d / "nanjing.backup";
  {
    child proc({"run", "-c", n.cfg});
    wait_ready(n, proc);
    auto b = test::run_cli({"backup", "--out", file, "-c", n.cfg});
    REQUIRE_MESSAGE(b.exit_code == 0, b.err);
    CHECK(b.out.find("sha256") != std::string::npos);
    CHECK(fs::exists(file + ".sha256"));
    CHECK(test::run_cli({"backup", "--out", file, "-c", n.cfg}).exit_code == 2);  // never overwrites
    // Nor a checksum file left by someone else: it is refused, and kept.
    std::string other = net.d / "other.backup";
    test::write_file(other + ".sha256", "theirs\n");
    auto taken = test::run_cli({"backup", "--out", other, "-c", n.cfg});
    CHECK(taken.exit_code == 2);
    CHECK(taken.err.find(other + ".sha256 exists: a backup never overwrites a file") != std::string::npos);
    CHECK_FALSE(fs::exists(other));
    CHECK(test::read_file(other + ".sha256") == "theirs\n");
    test::write_file(net.d / "b.csv", csv({firms[3], firms[4]}, "b-", "2.00"));
    REQUIRE(test::run_cli({"import", "-c", n.cfg, "--category", "tax", net.d / "b.csv"}).exit_code == 0);
    auto live = test::run_cli({"restore", file, "-c", n.cfg});
    CHECK(live.exit_code == 1);
    CHECK(live.err.find("runs on it: stop it first") != std::string::npos);
    CHECK(exported(n).size() == 5);  // nothing changed
    // A second node on the same data dir is refused too.
    child twin({"run", "-c", n.cfg});
    CHECK(twin.wait_exit(5s));
    CHECK(twin.err().find("data_dir_in_use") != std::string::npos);
    CHECK(twin.err().find("another credit-node (pid ") != std::string::npos);
    proc.signal(SIGTERM);
    REQUIRE(proc.wait_exit(10s));
  }
  // A damaged copy is refused before anything is touched.
  fs::copy_file(file, file + ".bad");
  fs::copy_file(file + ".sha256", file + ".bad.sha256");
  {
    auto bytes = test::read_file(file + ".bad");
    bytes[bytes.size() / 2] ^= 0x55;
    test::write_file(file + ".bad", bytes);
  }
  auto damaged = test::run_cli({"restore", file + ".bad", "-c", n.cfg});
  CHECK(damaged.exit_code == 2);  // bad input
  CHECK(damaged.err.find("does not match its checksum") != std::string::npos);
  CHECK(exported(n).size() == 5);
  auto r = test::run_cli({"restore", file, "-c", n.cfg});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("before-restore") != std::string::npos);
  CHECK(exported(n).size() == 3);  // the store as it was at the backup
  CHECK(instance_of(n) != before);  // peers will see another store and reconcile
  bool kept = false;
  for (const auto& e : fs::directory_iterator(n.dir + "/data"))
    kept |= e.path().filename().string().rfind("data.mdb.before-restore-", 0) == 0;
  CHECK(kept);  // the replaced store is kept, not deleted
}

// Revocations only grow: a parent restored from a backup taken before it
// revoked a child still refuses that child's certificate.
TEST_CASE("backup: a restore keeps the revocations made since the backup") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  {
    child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
    wait_ready(prov, p);
    wait_ready(nj, n);
    REQUIRE_MESSAGE(eventually([&] { return state_is(nj, "admitted"); }, 10s), n.err());
  }
  auto admin = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "admin");
    args.insert(args.end(), {"-c", prov.cfg});
    auto r = test::run_cli(args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  };
  admin({"bank", "add", "--id", "bank-a", "--name", "A", "--token-out", net.d / "a.token"});
  put_consent(prov, false);
  std::string file = net.d / "province.backup";
  REQUIRE(test::run_cli({"backup", "--out", file, "-c", prov.cfg}).exit_code == 0);
  admin({"revoke", "js.nanjing", "--reason", "key stolen"});
  // Since the backup: a bank suspended, another registered, a consent withdrawn.
  admin({"bank", "suspend", "--id", "bank-a", "--reason", "leaked token"});
  admin({"bank", "add", "--id", "bank-b", "--name", "B", "--token-out", net.d / "b.token"});
  put_consent(prov, true);
  auto listed = [&] {
    return json::parse(test::run_cli({"admin", "revocations", "--json", "-c", prov.cfg}).out).at("revocations").as_array();
  };
  REQUIRE(listed().size() == 1);
  auto r = test::run_cli({"restore", file, "-c", prov.cfg});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("and its child registry, banks, portal, consents and 1 certificate revocation(s) made since the backup were carried over from it") != std::string::npos);
  auto after = listed();
  REQUIRE(after.size() == 1);
  CHECK(after[0].at("node_id").as_string() == "js.nanjing");
  CHECK(after[0].at("reason").as_string() == "key stolen");
  {
    auto env = store::environment::open({prov.dir + "/data"});
    store::reader rd(*env);
    REQUIRE(rd.principal_by_id("bank-a"));
    CHECK(rd.principal_by_id("bank-a")->suspended);
    CHECK(rd.principal_by_id("bank-a")->suspended_reason == "leaked token");
    CHECK(rd.principal_by_id("bank-b"));
    REQUIRE(rd.consent_by_id("c-1"));
    CHECK(rd.consent_by_id("c-1")->withdrawn);
  }
  // The child's certificate is refused in the handshake again.
  child p2({"run", "-c", prov.cfg}), n2({"run", "-c", nj.cfg});
  wait_ready(prov, p2);
  wait_ready(nj, n2);
  CHECK_MESSAGE(eventually([&] { return state_is(nj, "revoked"); }, 10s), n2.err());
  auto nodes = json::parse(test::run_cli({"admin", "nodes", "--json", "-c", prov.cfg}).out).at("nodes").as_array();
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].at("state").as_string() == "revoked");  // the registry too: the node id stays revoked
}

// A local restored from a backup: what it owned and sent up after the
// backup is at its parent only. It pulls that back before anything else,
// imports wait until then, and its next version of a record follows the
// newest the network has seen (no integrity event anywhere).
TEST_CASE("backup: a child restored from a backup recovers its newer records from its parent before imports go on") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& sz = net.add("js.suzhou", "local", "320500", net.sync_addr(prov), "js.province");
  auto firms = codes("320506", 5, 51);
  auto import = [&](const std::string& name, const std::vector<std::string>& who, const std::string& prefix, const std::string& amount) {
    return import_tax(net, sz, name, who, prefix, amount);
  };
  auto version_of = [&](const tree_node& n, const std::string& firm, const std::string& id) -> std::int64_t {
    for (const auto& r : exported(n, firm))
      if (r.at("record_id").as_string() == id) return r.at("version").as_int64();
    return 0;
  };
  std::string file = net.d / "suzhou.backup";
  child p({"run", "-c", prov.cfg});
  wait_ready(prov, p);
  REQUIRE(import("a.csv", firms, "a-", "1.00").exit_code == 0);  // a-0 .. a-4, version 1
  REQUIRE(test::run_cli({"backup", "--out", file, "-c", sz.cfg}).exit_code == 0);
  {
    child s({"run", "-c", sz.cfg});
    wait_ready(sz, s);
    REQUIRE(import("b.csv", {firms[0], firms[1], firms[2]}, "b-", "2.00").exit_code == 0);  // new since the backup
    REQUIRE(import("a2.csv", {firms[0], firms[1]}, "a-", "55.00").exit_code == 0);         // a-0, a-1 become version 2
    REQUIRE_MESSAGE(eventually([&] { return exported(prov).size() == 8 && version_of(prov, firms[1], "a-1") == 2; }), s.err());
    s.signal(SIGTERM);
    REQUIRE(s.wait_exit(5s));
  }
  auto r = test::run_cli({"restore", file, "-c", sz.cfg});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("started, it first pulls back from js.province the records it owns that are newer than the backup") != std::string::npos);
  // Its next own versions start past a floor (now, in microseconds): a child
  // may hold versions made after the backup that the parent never got.
  CHECK(r.out.find("a record it changes from now on takes version ") != std::string::npos);
  CHECK(exported(sz).size() == 5);
  // An import now would number a-1 version 2 again, with another body.
  auto early = import("a3.csv", {firms[0], firms[1]}, "a-", "66.00");
  CHECK(early.exit_code != 0);
  CHECK(early.err.find("restored from a backup") != std::string::npos);
  CHECK(version_of(sz, firms[1], "a-1") == 1);  // nothing was imported
  CHECK(upstream_of(sz).at("recovering").as_bool());
  CHECK(test::run_cli({"status", "-c", sz.cfg}).out.find("  recovering          yes: restored from a backup") != std::string::npos);
  child s2({"run", "-c", sz.cfg});
  wait_ready(sz, s2);
  REQUIRE_MESSAGE(eventually([&] {
    return exported(sz).size() == 8 &&
           !upstream_of(sz).at("recovering").as_bool();
  }, 15s), s2.err());
  CHECK(version_of(sz, firms[1], "a-1") == 2);
  CHECK(s2.err().find("event=sync_recovered") != std::string::npos);
  // The restore gave a new instance: the parent's ack for the old one (past
  // the backup's log) is not this store going back, and no answer names
  // the old instance as this node's.
  CHECK(s2.err().find("sync_store_went_back") == std::string::npos);
  CHECK(s2.err().find("another store instance") == std::string::npos);
  // The correction takes a version past the floor, here and at the parent:
  // no integrity event.
  REQUIRE(import("a3.csv", {firms[0], firms[1]}, "a-", "66.00").exit_code == 0);
  auto corrected = version_of(sz, firms[1], "a-1");
  CHECK(corrected > 1'000'000'000'000);
  CHECK_MESSAGE(eventually([&] { return version_of(prov, firms[1], "a-1") == corrected; }), s2.err());
  CHECK(test::run_cli({"admin", "events", "--json", "-c", prov.cfg}).out.find("integrity") == std::string::npos);
  CHECK(exported(prov).size() == 8);
}

// A VM snapshot put back, or a data dir copied from an older machine: the
// store went back but kept its instance id, so its parent holds more of its
// change log than it has. Changes written since reuse positions the parent
// takes as held; before, they never went up. Now the node takes a new
// instance id (everything goes up again) and pulls back its newer records —
// seen from the ack past its log, or, once it wrote past the ack, from the
// stamp of its change there.
TEST_CASE("backup: a child whose data dir went back keeping its instance id sends what it wrote since and recovers the rest") {
  std::size_t written_after = 2;  // changes 6-7 again: the log ends before the parent's ack (10)
  std::string seen = "its change log ends at 7";
  SUBCASE("less than it lost") {}
  SUBCASE("more than it lost") {
    written_after = 7;  // changes 6-12: past the ack, but 6-10 are not the changes the parent holds
    seen = "the change here at 10 is not the one it was sent";
  }
  bool same_rows = false;
  SUBCASE("the same rows again, corrected") {  // same records, same versions, other amounts
    same_rows = true;
    seen = "the change here at 10 is not the one it was sent";
  }
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& sz = net.add("js.suzhou", "local", "320500", net.sync_addr(prov), "js.province");
  auto firms = codes("320506", 5, 52);
  auto import = [&](const std::string& name, const std::vector<std::string>& who, const std::string& prefix, const std::string& amount) {
    return import_tax(net, sz, name, who, prefix, amount);
  };
  auto has = [](const tree_node& n, const std::string& id, std::int64_t version) {
    for (const auto& r : exported(n))
      if (r.at("record_id").as_string() == id && r.at("version").as_int64() == version) return true;
    return false;
  };
  std::string snapshot = net.d / "suzhou-snapshot.mdb";
  child p({"run", "-c", prov.cfg});
  wait_ready(prov, p);
  REQUIRE(import("a.csv", firms, "a-", "1.00").exit_code == 0);  // changes 1-5
  fs::copy_file(sz.dir + "/data/data.mdb", snapshot);             // the snapshot: the node is stopped
  auto old_instance = instance_of(sz);
  {
    child s({"run", "-c", sz.cfg});
    wait_ready(sz, s);
    REQUIRE(import("b.csv", {firms[0], firms[1], firms[2]}, "b-", "2.00").exit_code == 0);  // changes 6-8
    REQUIRE(import("a2.csv", {firms[0], firms[1]}, "a-", "55.00").exit_code == 0);         // 9-10: a-1 version 2
    REQUIRE_MESSAGE(eventually([&] { return exported(prov).size() == 8 && has(prov, "a-1", 2); }), s.err());
    s.signal(SIGTERM);
    REQUIRE(s.wait_exit(5s));
  }
  fs::remove(sz.dir + "/data/lock.mdb");
  fs::copy_file(snapshot, sz.dir + "/data/data.mdb", fs::copy_options::overwrite_existing);
  REQUIRE(instance_of(sz) == old_instance);
  // Written after the store went back, before the node runs.
  if (same_rows) {
    REQUIRE(import("b.csv", {firms[0], firms[1], firms[2]}, "b-", "2.50").exit_code == 0);  // 6-8: version 1 again
    REQUIRE(import("a2.csv", {firms[0], firms[1]}, "a-", "55.00").exit_code == 0);         // 9-10 as before
  } else {
    REQUIRE(import("c.csv", codes("320506", written_after, 53), "c-", "3.00").exit_code == 0);
  }
  child s2({"run", "-c", sz.cfg});
  wait_ready(sz, s2);
  if (same_rows) {
    // Loud, not silent: the parent holds other bodies under versions the
    // child used again, and says so once everything went up again.
    CHECK_MESSAGE(eventually([&] { return s2.err().find(seen) != std::string::npos; }), s2.err());
    CHECK(eventually([&] {
      return test::run_cli({"admin", "events", "--json", "-c", prov.cfg}).out.find("integrity") != std::string::npos;
    }));
    CHECK(instance_of(sz) != old_instance);
    return;
  }
  auto all_up = [&] {
    for (std::size_t i = 0; i < written_after; ++i)
      if (!has(prov, "c-" + std::to_string(i), 1)) return false;
    return true;
  };
  CHECK_MESSAGE(eventually(all_up), s2.err());
  // Its own newer records came back from the parent, then imports go on.
  CHECK_MESSAGE(eventually([&] {
    return exported(sz).size() == 8 + written_after && has(sz, "a-1", 2) && !upstream_of(sz).at("recovering").as_bool();
  }), s2.err());
  CHECK(instance_of(sz) != old_instance);
  auto log = s2.err();
  CHECK(log.find("event=sync_store_went_back") != std::string::npos);
  CHECK(log.find("event=sync_store_went_back") == log.rfind("event=sync_store_went_back"));  // once: not again for the new instance
  CHECK_MESSAGE(log.find(seen) != std::string::npos, log);
  CHECK(log.find("another store instance") == std::string::npos);
  CHECK(log.find("event=sync_failed") == std::string::npos);
  CHECK(s2.err().find("event=sync_recovered") != std::string::npos);
  // A store that went back numbers its own next versions past a floor:
  // versions made since the snapshot may be held elsewhere with other content.
  REQUIRE(import("a3.csv", {firms[0], firms[1]}, "a-", "66.00").exit_code == 0);
  auto version_at = [](const tree_node& n, const std::string& id) -> std::int64_t {
    for (const auto& r : exported(n))
      if (r.at("record_id").as_string() == id) return r.at("version").as_int64();
    return 0;
  };
  CHECK(version_at(sz, "a-1") > 1'000'000'000'000);
  CHECK_MESSAGE(eventually([&] { return version_at(prov, "a-1") == version_at(sz, "a-1"); }), s2.err());
  CHECK(exported(prov).size() == 8 + written_after);
  CHECK(test::run_cli({"admin", "events", "--json", "-c", prov.cfg}).out.find("integrity") == std::string::npos);
}

namespace {

// `n` entries on the node's access log, as the API's writer appends them.
void audit_entries(const tree_node& n, int count, const std::string& tag) {
  store::set_chain_hash(&node::api::chain_hash);
  auto env = store::environment::open({n.dir + "/data"});
  for (int i = 0; i < count; ++i) {
    store::write_batch b;
    store::access_op op;
    op.entry = {0, 0, "bank-a", "GET", "/api/v1/subjects/x/records?" + tag + std::to_string(i), "x", "", "refused", 403, "", "", ""};
    b.access.push_back(std::move(op));
    store::writer(*env).submit(std::move(b)).get();
  }
}

// "head SEQ:HASH" as `audit verify` prints it.
std::string audit_head_of(const tree_node& n) {
  auto v = test::run_cli({"audit", "verify", "-c", n.cfg});
  REQUIRE_MESSAGE(v.exit_code == 0, v.out);
  auto at = v.out.find("; head ");
  REQUIRE(at != std::string::npos);
  auto head = v.out.substr(at + 7);
  return head.substr(0, head.find(' '));
}

std::string kept_store(const tree_node& n) {
  for (const auto& e : fs::directory_iterator(n.dir + "/data"))
    if (e.path().filename().string().rfind("data.mdb.before-restore-", 0) == 0) return e.path();
  return {};
}

}  // namespace

// Every request is on the access log: a restore must not drop the entries
// written after the backup (an earlier `audit verify --head` would then say
// the log was cut). A backup of another store's log is not spliced onto.
TEST_CASE("backup: a restore carries the access log written since the backup, and a head recorded before still holds") {
  network net;
  auto& n = net.add("js.nanjing", "local", "320100");
  audit_entries(n, 3, "before-");
  std::string file = net.d / "nanjing.backup";
  REQUIRE(test::run_cli({"backup", "--out", file, "-c", n.cfg}).exit_code == 0);
  audit_entries(n, 4, "after-");
  auto head = audit_head_of(n);
  CHECK(head.rfind("7:", 0) == 0);
  auto r = test::run_cli({"restore", file, "-c", n.cfg});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("restore: 4 access log entries written since the backup were carried over; the chain goes on unbroken") != std::string::npos);
  CHECK(r.err.empty());
  auto v = test::run_cli({"audit", "verify", "--head", head, "-c", n.cfg});
  CHECK_MESSAGE(v.exit_code == 0, v.out);
  CHECK(v.out.find("audit: 7 entries, the hash chain is intact and holds entry 7 as recorded") != std::string::npos);
  auto kept = kept_store(n);
  REQUIRE(!kept.empty());
  auto old = test::run_cli({"audit", "verify", "--store", kept, "--head", head, "-c", n.cfg});
  CHECK_MESSAGE(old.exit_code == 0, old.out);
  CHECK_FALSE(fs::exists(kept + "-lock"));

  // Another node's backup: its log is another chain, left apart.
  auto& other = net.add("js.wuxi", "local", "320200");
  audit_entries(other, 5, "wuxi-");
  std::string foreign = net.d / "wuxi.backup";
  REQUIRE(test::run_cli({"backup", "--out", foreign, "-c", other.cfg}).exit_code == 0);
  fs::remove(kept);
  auto f = test::run_cli({"restore", foreign, "-c", n.cfg});
  REQUIRE_MESSAGE(f.exit_code == 0, f.err);
  CHECK(f.err.find("the access log of the store it replaced was not carried over (its entry 5 differs from the backup's: it is not "
                   "the same chain): its entries stay in " + kept_store(n)) != std::string::npos);
  auto now = test::run_cli({"audit", "verify", "-c", n.cfg});
  CHECK(now.out.find("audit: 5 entries, the hash chain is intact") != std::string::npos);
  CHECK(test::run_cli({"audit", "verify", "--store", kept_store(n), "--head", head, "-c", n.cfg}).exit_code == 0);
}

// The store's map is per process and LMDB takes the larger one of the
// file's last writer: an import run with a raised map_size_mb while the
// node ran grew the store past the node's map, and the node then failed
// every read (MDB_MAP_RESIZED) until restarted. A command beside a running
// node maps no more than the node does: the import fails, saying to restart
// the node, and the node goes on serving.
TEST_CASE("backup: an import beside a running node never maps more than the node, so a raised map_size_mb cannot break it") {
  network net;
  auto& n = net.add("js.nanjing", "local", "320100");
  auto set_map = [&](int mb) {
    auto text = test::read_file(n.cfg);
    auto p = text.find("\nmap_size_mb = ");
    REQUIRE(p != std::string::npos);
    text.replace(p + 1, text.find('\n', p + 1) - p - 1, "map_size_mb = " + std::to_string(mb));
    test::write_file(n.cfg, text);
  };
  set_map(64);
  child proc({"run", "-c", n.cfg});
  wait_ready(n, proc);
  set_map(1024);  // as the advice said, but without the restart
  std::string rows = "subject,record_id,event_date,source,period,tax_type,amount_paid\n";
  auto firms = codes("320102", 1000, 91);
  for (int i = 0; i < 400'000; ++i)
    rows += firms[static_cast<std::size_t>(i) % firms.size()] + ",r" + std::to_string(i) + ",2026-10-01,tax bureau of the district,2026-09,VAT,1.00\n";
  test::write_file(net.d / "big.csv", rows);
  auto r = test::run_cli({"import", "-c", n.cfg, "--category", "tax", net.d / "big.csv"});
  CHECK(r.exit_code != 0);
  CHECK_MESSAGE(r.err.find("MDB_MAP_FULL") != std::string::npos, r.err);
  CHECK(r.err.find("restart the node if it runs") != std::string::npos);
  // The node reads its store as before.
  std::this_thread::sleep_for(1500ms);  // the node's store watcher looks at the new commits
  CHECK(http_get(n.admin, "/readyz").status == 200);
  CHECK(proc.err().find("MDB_MAP_RESIZED") == std::string::npos);
  CHECK(proc.err().find("store_watch_read_failed") == std::string::npos);
  CHECK(test::run_cli({"export", "-c", n.cfg}).exit_code == 0);
}

// A node with no parent (the national one) restored from a backup cannot
// get back the versions it issued since: its children hold them. Its next
// changes take versions above them, so a re-import replaces the children's
// copies; it used to number them again with other content, leaving the
// stores different under one version, in_sync and silent.
TEST_CASE("backup: a national node restored from a backup numbers its next changes past what its children hold") {
  network net;
  auto& nat = net.add("cn.national", "national", "100000");
  auto& prov = net.add("js.province", "provincial", "320000", net.sync_addr(nat), "cn.national");
  auto firms = codes("320102", 3, 61);
  auto import = [&](const std::string& name, const std::string& amount) {
    test::write_file(net.d / name, csv(firms, "n-", amount));
    return test::run_cli({"import", "-c", nat.cfg, "--category", "tax", net.d / name});
  };
  auto held = [&](const tree_node& n) {  // version and amount of n-0
    for (const auto& r : exported(n, firms[0]))
      if (r.at("record_id").as_string() == "n-0")
        return std::pair{r.at("version").as_int64(), std::string(r.at("fields").at("amount_paid").as_string())};
    return std::pair{std::int64_t{0}, std::string()};
  };
  std::string file = net.d / "national.backup";
  child p({"run", "-c", prov.cfg});
  wait_ready(prov, p);
  REQUIRE(import("a.csv", "1.00").exit_code == 0);
  REQUIRE(test::run_cli({"backup", "--out", file, "-c", nat.cfg}).exit_code == 0);
  {
    child n({"run", "-c", nat.cfg});
    wait_ready(nat, n);
    REQUIRE(import("b.csv", "2.00").exit_code == 0);  // version 2, since the backup
    REQUIRE_MESSAGE(eventually([&] { return held(prov) == std::pair{std::int64_t{2}, std::string("2.00")}; }), p.err());
    n.signal(SIGTERM);
    REQUIRE(n.wait_exit(5s));
  }
  auto r = test::run_cli({"restore", file, "-c", nat.cfg});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK_MESSAGE(r.out.find("a record this node changes from now on takes version") != std::string::npos, r.out);
  REQUIRE(import("c.csv", "3.00").exit_code == 0);  // today's file, as the message advises
  auto now = held(nat);
  CHECK(now.first > 2);
  CHECK(now.second == "3.00");
  child n2({"run", "-c", nat.cfg});
  wait_ready(nat, n2);
  CHECK_MESSAGE(eventually([&] { return held(prov) == now; }, 15s), p.err());
  CHECK(p.err().find("sync_integrity_events") == std::string::npos);
  CHECK(test::run_cli({"admin", "events", "-c", prov.cfg}).out.find("different body") == std::string::npos);
}

// A restore killed mid-copy (here by a file size limit: a full disk, a
// crash) leaves the live store as it was, not a truncated one in its place;
// the next restore starts again and carries what was made since the backup.
TEST_CASE("backup: a restore interrupted while copying leaves the store as it was, and the next one completes") {
  network net;
  auto& n = net.add("js.nanjing", "local", "320100");
  auto firms = codes("320102", 400, 44);
  test::write_file(net.d / "a.csv", csv(firms, "a-", "1.00"));  // a backup of more than 40 KiB
  REQUIRE(test::run_cli({"import", "-c", n.cfg, "--category", "tax", net.d / "a.csv"}).exit_code == 0);
  std::string file = net.d / "nanjing.backup";
  REQUIRE(test::run_cli({"backup", "--out", file, "-c", n.cfg}).exit_code == 0);
  REQUIRE(fs::file_size(file) > 40 * 1024);
  test::write_file(net.d / "b.csv", csv({firms[0]}, "b-", "2.00"));
  REQUIRE(test::run_cli({"import", "-c", n.cfg, "--category", "tax", net.d / "b.csv"}).exit_code == 0);
  put_consent(n, false);  // made since the backup: must not roll back
  auto before = instance_of(n);
  auto cut = test::run_program({"sh", "-c", "ulimit -f 40; exec " + std::string(CN_BINARY) + " restore " + file + " -c " + n.cfg});
  CHECK(cut.exit_code != 0);
  CHECK(instance_of(n) == before);  // the live store, untouched
  CHECK(exported(n).size() == 401);
  auto r = test::run_cli({"restore", file, "-c", n.cfg});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find("could not be read") == std::string::npos);  // the replaced store was whole
  CHECK(instance_of(n) != before);
  CHECK(exported(n).size() == 400);
  CHECK_FALSE(fs::exists(n.dir + "/data/restoring"));
  auto env = store::environment::open({n.dir + "/data"});
  CHECK(store::reader(*env).consents().size() == 1);  // carried over from the store it replaced
}

// A restore whose staging fails (here: a file with a matching checksum that
// is no store) changes nothing: no recovery flag is left to refuse imports
// ("restored from a backup") at a node that was not restored.
TEST_CASE("backup: a restore that fails before the swap leaves no recovery flag, and imports go on") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& sz = net.add("js.suzhou", "local", "320500", net.sync_addr(prov), "js.province");
  auto firms = codes("320506", 3, 45);
  REQUIRE(import_tax(net, sz, "a.csv", firms, "a-", "1.00").exit_code == 0);
  std::string bogus = net.d / "bogus.mdb";
  test::write_file(bogus, std::string(64 * 1024, 'x'));
  test::write_file(bogus + ".sha256", node::pki::sha256_file_hex(bogus) + "  bogus.mdb\n");
  auto r = test::run_cli({"restore", bogus, "-c", sz.cfg});
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.err.find("nothing was changed") != std::string::npos, r.err);
  CHECK(r.err.find("disk space") == std::string::npos);  // not what went wrong
  CHECK_FALSE(fs::exists(sz.dir + "/data/recover-own"));
  CHECK_FALSE(fs::exists(sz.dir + "/data/restoring"));
  CHECK(exported(sz).size() == 3);
  CHECK(import_tax(net, sz, "b.csv", firms, "b-", "2.00").exit_code == 0);
}
