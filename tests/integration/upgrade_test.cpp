// Upgrades (issue #7): a store written by an older credit-node, kept as a
// fixture (tests/fixtures/store-format-1, with how it was made), is opened by
// today's binary: migrated step by step, nothing lost, and it syncs.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>

#include "store/environment.hpp"
#include "tree.hpp"

using namespace itest;

namespace {

const std::string fixture = CN_SOURCE_DIR "/tests/fixtures/store-format-1";

// The fixture's store becomes `n`'s data dir (mdb_load, from lmdb-utils).
void load_fixture(const tree_node& n) {
  std::string data = n.dir + "/data";
  std::filesystem::remove_all(data);
  std::filesystem::create_directories(data);
  ::chmod(data.c_str(), 0700);
  auto r = test::run_program({"mdb_load", "-f", fixture + "/store.dump", data});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

json::object status_of(const tree_node& n) {
  auto r = test::run_cli({"status", "--json", "-c", n.cfg});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return json::parse(r.out).as_object();
}

}  // namespace

TEST_CASE("upgrade: a format-1 store from an older binary migrates to the current format, loses nothing and syncs up") {
  network net;
  auto& prov = net.add("js.province", "provincial", "320000");
  auto& nj = net.add("js.nanjing", "local", "320100", net.sync_addr(prov), "js.province");
  load_fixture(nj);

  auto st = status_of(nj);  // the first open migrates
  const auto current = static_cast<std::int64_t>(store::builtin_migrations().size() + 1);
  CHECK(st.at("store").at("schema_version").to_number<std::int64_t>() == current);
  CHECK(st.at("store").at("instance_id").as_string() == "926cfc91cd043c17349036fd739383e7");  // cursors stay valid
  CHECK(st.at("store").at("last_seq").to_number<int>() == 32);
  CHECK(st.at("records").at("total").to_number<int>() == 31);
  CHECK(st.at("quarantine").at("count").to_number<int>() == 1);

  // Every record as the old binary exported it, byte for byte; the refused row too.
  auto exp = test::run_cli({"export", "-c", nj.cfg});
  REQUIRE(exp.exit_code == 0);
  CHECK(exp.out == test::read_file(fixture + "/export.jsonl"));
  auto q = test::run_cli({"import", "--show-quarantine", "--json", "-c", nj.cfg});
  CHECK(q.out == test::read_file(fixture + "/quarantine.jsonl"));
  // The same file again changes nothing: stored content compares as before.
  auto again = test::run_cli({"import", "-c", nj.cfg, "--category", "rnd", fixture + "/in/rnd.csv"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK_MESSAGE(again.out.find("0 new, 0 updated, 5 unchanged") != std::string::npos, again.out);
  auto check = test::run_cli({"check", "--json", "-c", nj.cfg});
  CHECK_MESSAGE(check.out.find("\"id\":\"store.integrity\",\"status\":\"PASS\"") != std::string::npos, check.out);

  // The upgraded node goes on where it was: its 31 records reach a new parent,
  // and the two agree on the digests the migration built.
  child p({"run", "-c", prov.cfg}), n({"run", "-c", nj.cfg});
  wait_ready(prov, p);
  wait_ready(nj, n);
  CHECK_MESSAGE(eventually([&] { return exported(prov).size() == 31; }, 15s), n.err());
  CHECK_MESSAGE(eventually([&] {
    auto up = status_of(nj).at("upstream").as_object();
    return up.contains("in_sync") && up.at("in_sync").is_bool() && up.at("in_sync").as_bool();
  }, 15s), test::run_cli({"status", "--json", "-c", nj.cfg}).out);
}
