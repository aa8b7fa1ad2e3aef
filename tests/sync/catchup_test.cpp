#include <doctest/doctest.h>

#include <random>
#include <set>
#include <tuple>

#include "node/demo/sample_data.hpp"
#include "store/reader.hpp"
#include "store/record_codec.hpp"
#include "sync/catchup.hpp"
#include "sync/exchange.hpp"
#include "sync_node.hpp"
#include "test_util.hpp"

using namespace replication;
using test::node_under_test;

namespace {

std::string firm(const std::string& division, std::uint64_t seed) { return test::code_in(division, seed); }

using version_key = std::tuple<std::string, std::string, std::string, std::uint64_t>;  // category, subject, id, version
version_key key_of(const store::model::record& r) { return {r.category, r.subject, r.record_id, r.version}; }

// What the log-order push sends after `after`, each record version once.
std::set<version_key> log_order_sends(node_under_test& t, std::uint64_t after) {
  std::set<version_key> out;
  for (auto& c : collect_up(*t.env, t.id, after, batch_limits::large()).changes) out.insert(key_of(c.rec));
  return out;
}

// A province holding records of three kinds: its own (some changed twice),
// a child's (pushed up to it) and its parent's (pulled down): the first
// two go up, the parent's never.
struct three_tiers {
  test::temp_dir d;
  node_under_test national{d, "cn.national", "national", "100000"};
  node_under_test province{d, "js.province", "provincial", "320000"};
  node_under_test nanjing{d, "js.nanjing", "local", "320100"};
  three_tiers() {
    national.admit(province.as_peer);
    province.admit(nanjing.as_peer);
    for (int i = 0; i < 40; ++i) nanjing.import(firm("320106", 100 + i), "n" + std::to_string(i), "1.00");
    apply_batch(*province.w, nanjing.as_peer, true, collect_up(*nanjing.env, nanjing.id, 0, {}), "up:js.nanjing");
    for (int i = 0; i < 30; ++i) province.import(firm("320205", 200 + i), "p" + std::to_string(i), "2.00");
    for (int i = 0; i < 5; ++i) province.import(firm("320205", 200 + i), "p" + std::to_string(i), "3.00");  // version 2
    for (int i = 0; i < 10; ++i) national.import(firm("320411", 300 + i), "c" + std::to_string(i), "4.00");
    apply_batch(*province.w, national.as_peer, false, collect_down(*national.env, national.id, province.as_peer, 0, {}),
                "down:cn.national");
  }
  change_batch next(key_order_catchup& k, std::size_t max_changes = 7) {
    return collect_up_by_key(*province.env, province.id, k, {max_changes, 1 << 20});
  }
};

}  // namespace

TEST_CASE("catch-up by key: the records the log order sends, once each, in index order, the cursor moving only at the end") {
  three_tiers t;
  auto k = plan_up_by_key(*t.province.env, 0, 1);
  REQUIRE(k);
  CHECK(k->records == 70);  // 40 from the child, 30 its own; none of the parent's 10
  CHECK(k->until_seq == t.province.head());

  std::set<version_key> sent;
  std::string last_key;
  std::vector<change_batch> batches;
  while (!k->done) {
    REQUIRE(batches.size() < 20);
    batches.push_back(t.next(*k));
    for (const auto& c : batches.back().changes) {
      auto key = store::subject_key(c.rec.subject, c.rec.category, c.rec.record_id);
      CHECK(key > last_key);  // strictly increasing across batches: each record once
      last_key = key;
      CHECK(sent.insert(key_of(c.rec)).second);
      CHECK(c.seq > 0);
      CHECK(c.seq <= k->until_seq);
    }
  }
  CHECK(sent == log_order_sends(t.province, 0));
  CHECK(sent.size() == 70);
  REQUIRE(batches.size() == 10);  // 70 in sevens, the last one also covering the end
  for (std::size_t i = 0; i + 1 < batches.size(); ++i) {
    CHECK(batches[i].after_seq == std::optional<std::uint64_t>(0));
    CHECK(batches[i].last_seq == 0);
    CHECK(batches[i].more);
    CHECK(batches[i].changes.size() == 7);
  }
  CHECK(batches.back().last_seq == k->until_seq);
  CHECK_FALSE(batches.back().more);
  CHECK(batches.back().last_stamp == store::reader(*t.province.env).change_stamp(k->until_seq).value_or(0));

  // The parent applies them: its cursor stays until the last batch, then
  // stands at the log's end; it holds its own 10 and the 70, nothing twice.
  for (auto& b : batches) {
    auto r = apply_batch(*t.national.w, t.province.as_peer, true, b, "up:js.province");
    CHECK(r.refused.empty());
    CHECK(store::reader(*t.national.env).cursor_of("up:js.province")->seq == b.last_seq);
  }
  CHECK(store::reader(*t.national.env).stats().total == 80);
  CHECK(collect_up(*t.province.env, t.province.id, k->until_seq, {}).changes.empty());
}

TEST_CASE("catch-up by key: from a cursor it sends what changed since, and what changes meanwhile follows in log order") {
  three_tiers t;
  auto first = t.province.head();
  for (int i = 0; i < 30; ++i) t.province.import(firm("320205", 400 + i), "q" + std::to_string(i), "5.00");
  t.province.import(firm("320205", 200), "p0", "6.00");  // version 3 of an old record
  auto k = plan_up_by_key(*t.province.env, first, 1);
  REQUIRE(k);
  CHECK(k->records == 31);  // at least a quarter of the store's 110
  CHECK(k->after_stamp == store::reader(*t.province.env).change_stamp(first).value_or(0));

  auto b = t.next(*k, 10);
  CHECK(b.last_seq == first);  // the parent's cursor and its stamp stay as they were
  CHECK(b.last_stamp == k->after_stamp);
  // Meanwhile: a marked record changes again, a new one is made.
  t.province.import(firm("320205", 429), "q29", "7.00");
  t.province.import(firm("320205", 500), "late", "8.00");
  std::set<version_key> sent;
  for (auto& c : b.changes) sent.insert(key_of(c.rec));
  while (!k->done)
    for (auto& c : t.next(*k, 10).changes) sent.insert(key_of(c.rec));
  auto after = collect_up(*t.province.env, t.province.id, k->until_seq, {});
  CHECK(after.changes.size() == 2);  // both go after the catch-up, in log order
  for (auto& c : after.changes) sent.insert(key_of(c.rec));
  // Every record whose change was in the stretch went (q29 at its newest,
  // which may go twice); nothing from before it.
  std::set<std::string> ids;
  for (auto& [cat, subject, rid, version] : sent) ids.insert(rid);
  CHECK(ids.size() == 32);
  CHECK(ids.count("p0") == 1);
  CHECK(ids.count("p1") == 0);
  CHECK(ids.count("late") == 1);
  CHECK(sent.count({"tax", firm("320205", 429), "q29", 2}) == 1);
}

TEST_CASE("catch-up by key: log order when there is little to send, or little of the store") {
  three_tiers t;
  CHECK_FALSE(plan_up_by_key(*t.province.env, 0, 71));  // 70 records to send: fewer than asked
  // One change after a cursor: far below a quarter of the store's 80 records.
  auto first = t.province.head();
  t.province.import(firm("320205", 600), "one", "1.00");
  CHECK_FALSE(plan_up_by_key(*t.province.env, first, 1));
  // Nothing at all after the log's end.
  CHECK_FALSE(plan_up_by_key(*t.province.env, t.province.head(), 1));
}
