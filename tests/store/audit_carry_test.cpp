// A restore carries the access log written since the backup from the store
// it replaced, opened read-only: only links that continue the chain and
// whose hash holds are taken, and a read-only store refuses writes.
#include <doctest/doctest.h>

#include <filesystem>

#include "node/api/api.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {

void append(store::environment& env, int n, const std::string& tag) {
  for (int i = 0; i < n; ++i) {
    store::write_batch b;
    store::access_op op;
    op.entry = {0, 0, "bank-a", "GET", "/api/v1/subjects/x/records?" + tag + std::to_string(i), "x", "c-1", "allowed", 200, "", "", ""};
    b.access.push_back(std::move(op));
    store::writer(env).submit(std::move(b)).get();
  }
}

std::vector<store::audit_entry> entries(store::environment& env, std::uint64_t from) {
  std::vector<store::audit_entry> out;
  store::reader(env).for_each_audit(from, [&](const store::audit_entry& e) { return out.push_back(e), true; });
  return out;
}

void carry(store::environment& env, std::vector<store::audit_entry> es) {
  store::write_batch b;
  for (auto& e : es) b.access.push_back({store::access_op::kind::carry_audit, {}, {}, std::move(e)});
  store::writer(env).submit(std::move(b)).get();
}

std::string refusal(store::environment& env, std::vector<store::audit_entry> es) {
  try {
    carry(env, std::move(es));
  } catch (const store::store_error& e) {
    return e.what();
  }
  return "accepted";
}

std::unique_ptr<store::environment> read_only(const std::string& file) {
  return store::environment::open({file, 1024, nullptr, true});
}

}  // namespace

TEST_CASE("audit carry: the newer links of the same chain are taken as they were, others refused whole") {
  store::set_chain_hash(&node::api::chain_hash);
  test::temp_dir d;
  std::string live = d / "live", backup = d / "backup";
  {
    auto env = store::environment::open({live});
    append(*env, 5, "old");
  }
  fs::copy(live, backup, fs::copy_options::recursive);  // the backup: entries 1..5
  {
    auto env = store::environment::open({live});
    append(*env, 3, "new");  // 6..8, only in the store a restore replaces
  }
  auto was = read_only(live + "/data.mdb");
  auto newer = entries(*was, 6);
  REQUIRE(newer.size() == 3);
  auto restored = store::environment::open({backup});
  SUBCASE("in order: the chain goes on, hashes and times as they were") {
    carry(*restored, newer);
    std::uint64_t n = 0;
    CHECK(node::api::verify_audit_chain(*restored, n).empty());
    CHECK(n == 8);
    auto got = entries(*restored, 6);
    REQUIRE(got.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(got[i].hash == newer[i].hash);
      CHECK(got[i].at_ms == newer[i].at_ms);
    }
    std::size_t total = 0;
    CHECK(store::reader(*restored).audit_for_subject("x", 100, total).size() == 8);  // the portal's access log too
  }
  SUBCASE("a gap is refused, and nothing of the batch is written") {
    auto why = refusal(*restored, {newer[0], newer[2]});
    CHECK(why.find("audit entry 8 does not continue this chain (its head is entry 6)") != std::string::npos);
    CHECK(store::reader(*restored).last_audit_seq() == 5);
  }
  SUBCASE("an edited link is refused") {
    auto edited = newer;
    edited[1].path += "x";
    CHECK(refusal(*restored, edited).find("audit entry 7 does not match its hash") != std::string::npos);
    CHECK(store::reader(*restored).last_audit_seq() == 5);
  }
  SUBCASE("a link of another chain is refused") {
    auto other_dir = d / "other";
    auto other = store::environment::open({other_dir});
    append(*other, 6, "other");
    auto foreign = entries(*other, 6);
    CHECK(refusal(*restored, foreign).find("audit entry 6 does not continue this chain") != std::string::npos);
  }
}

TEST_CASE("store opened read-only from a file: readable, never written, and a file that is not a store is named") {
  store::set_chain_hash(&node::api::chain_hash);
  test::temp_dir d;
  {
    auto env = store::environment::open({d / "s"});
    append(*env, 2, "a");
  }
  auto ro = read_only(d / "s/data.mdb");
  CHECK(entries(*ro, 0).size() == 2);
  std::string why;
  try {
    append(*ro, 1, "b");
  } catch (const store::store_error& e) {
    why = e.what();
  }
  CHECK(why.find("begin transaction") != std::string::npos);
  CHECK(entries(*read_only(d / "s/data.mdb"), 0).size() == 2);
  CHECK_FALSE(fs::exists(d / "s/data.mdb-lock"));  // no lock file beside a kept store
  test::write_file(d / "junk", std::string(8192, 'j'));
  std::string junk;
  try {
    read_only(d / "junk");
  } catch (const store::store_error& e) {
    junk = e.what();
  }
  CHECK(junk.find(d / "junk") != std::string::npos);
  // A store of another format (one migration more than it has) is not read.
  std::vector<store::migration> more = store::builtin_migrations();
  more.push_back({static_cast<std::uint32_t>(more.size() + 1), "a future step", [](store::migration_context&) {}});
  std::string format;
  try {
    store::environment::open({d / "s/data.mdb", 1024, &more, true});
  } catch (const store::store_error& e) {
    format = e.what();
  }
  CHECK(format.find("is not a credit-node store of format") != std::string::npos);
  CHECK(format.find("read it with the credit-node that wrote it") != std::string::npos);
}
