// A consent's use count and last use: every answered query counts once,
// whether its group commit held one request or many; a use committed after
// the consent's withdrawal is refused.
#include <doctest/doctest.h>

#include <future>
#include <vector>

#include "node/api/api.hpp"
#include "store/key_codec.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "test_util.hpp"

namespace {

store::access_op use(const std::string& id) {
  store::access_op op;
  op.what = store::access_op::kind::use_consent;
  op.grant.id = id;
  return op;
}

store::consent granted(const std::string& id) {
  store::consent c;
  c.id = id;
  c.subject = "91350200776049653A";
  c.grantee = "bank-a";
  c.purpose = "credit_assessment";
  c.categories = {"tax"};
  c.level = store::consent_level::detail;
  c.valid_until_ms = 4102444800000;  // 2100
  c.created_by = "portal";
  return c;
}

}  // namespace

TEST_CASE("consent use: each use counts once, in one transaction or across a group, and none after a withdrawal") {
  store::set_chain_hash(&node::api::chain_hash);
  test::temp_dir dir;
  auto env = store::environment::open({dir.path().string()});
  store::writer w(*env);
  store::access_op put;
  put.what = store::access_op::kind::put_consent;
  put.grant = granted("c-1");
  store::commit_one(w, put);
  put.grant = granted("c-2");
  store::commit_one(w, put);
  auto uses = [&](const std::string& id) { return store::reader(*env).consent_by_id(id)->use_count; };

  store::write_batch three;  // one transaction: three uses of c-1, one of c-2, one of a consent that is not there
  for (auto id : {"c-1", "c-2", "c-1", "c-none", "c-1"}) three.access.push_back(use(id));
  w.submit(std::move(three)).get();
  CHECK(uses("c-1") == 3);
  CHECK(uses("c-2") == 1);
  CHECK_FALSE(store::reader(*env).consent_by_id("c-none"));
  CHECK(store::reader(*env).consent_by_id("c-1")->last_use_ms > 0);

  // Queued while the writer is held, so one group commit takes them all.
  std::promise<void> open;
  auto gate = open.get_future().share();
  w.submit_then({}, [gate](store::settled_batch) { gate.wait(); });
  std::vector<std::future<store::batch_result>> inflight;
  for (int i = 0; i < 20; ++i) {
    store::write_batch one;
    one.access.push_back(use(i % 2 ? "c-1" : "c-2"));
    inflight.push_back(w.submit(std::move(one)));
  }
  open.set_value();
  for (auto& f : inflight) f.get();
  CHECK(uses("c-1") == 13);
  CHECK(uses("c-2") == 11);

  store::write_batch withdrawn;  // used, then withdrawn, in one transaction: the use counts
  withdrawn.access.push_back(use("c-1"));
  store::access_op wd;
  wd.what = store::access_op::kind::withdraw_consent;
  wd.grant.id = "c-1";
  withdrawn.access.push_back(wd);
  w.submit(std::move(withdrawn)).get();
  auto c1 = store::reader(*env).consent_by_id("c-1");
  CHECK(c1->withdrawn);
  CHECK(c1->withdrawn_ms > 0);
  CHECK(c1->use_count == 14);

  // A query checked against c-1 before the withdrawal, committed after it:
  // refused in the commit, nothing of its batch written.
  store::write_batch late;
  late.access.push_back(use("c-1"));
  late.access.push_back(use("c-2"));
  CHECK_THROWS_AS(w.submit(std::move(late)).get(), store::consent_not_live_error);
  CHECK(uses("c-1") == 14);
  CHECK(uses("c-2") == 11);
  // ... and so is a use after a withdrawal in the same transaction.
  store::write_batch both;
  wd.grant.id = "c-2";
  both.access.push_back(wd);
  both.access.push_back(use("c-2"));
  CHECK_THROWS_AS(w.submit(std::move(both)).get(), store::consent_not_live_error);
  CHECK_FALSE(store::reader(*env).consent_by_id("c-2")->withdrawn);  // the batch failed whole
}

// Principals written before suspension and token renewal existed (format 1)
// still read, as not suspended; the current format keeps the new fields.
TEST_CASE("principal: format 1 reads as not suspended, and format 2 round-trips suspension") {
  store::key_writer w;
  w.u8(1).str8("bank-a").str8("bank").str16("Bank A").str8("").str8(std::string(64, 'a')).i64(1700000000000);
  auto old = store::decode_principal(w.take());
  CHECK(old.id == "bank-a");
  CHECK(old.token_sha256 == std::string(64, 'a'));
  CHECK_FALSE(old.suspended);
  old.suspended = true;
  old.suspended_reason = "leaked token";
  old.changed_ms = 1800000000000;
  auto now = store::decode_principal(store::encode_principal(old));
  CHECK(now.suspended);
  CHECK(now.suspended_reason == "leaked token");
  CHECK(now.changed_ms == 1800000000000);
  CHECK(now.created_ms == 1700000000000);
}
