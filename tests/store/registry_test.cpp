#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "store/reader.hpp"
#include "store/writer.hpp"
#include "test_util.hpp"

using namespace store;

namespace {

batch_result apply(environment& env, registry_op op) {
  writer w(env);
  write_batch b;
  b.registry.push_back(std::move(op));
  return w.submit(std::move(b)).get();
}

registry_op join(const std::string& id, const std::string& serial = "0a1b") {
  registry_op op;
  op.entry = {id, "local", "320100", node_state::pending, "", serial, "0.1.0", 0, 0, 0, "pending", {"awaiting approval"}, 0};
  return op;
}

registry_op to(const std::string& id, node_state st, std::string reason, std::optional<node_state> only_from = {}) {
  registry_op op;
  op.what = registry_op::kind::set_state;
  op.entry.node_id = id;
  op.to = st;
  op.reason = std::move(reason);
  op.only_from = only_from;
  return op;
}

node_state state_of(environment& env, const std::string& id) { return reader(env).node(id).value().state; }

}  // namespace

TEST_CASE("registry: a new node is pending, then approved, suspended, resumed and revoked for good") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  apply(*env, join("js.nanjing"));
  auto e = reader(*env).node("js.nanjing");
  REQUIRE(e);
  CHECK(e->state == node_state::pending);
  CHECK(e->role == "local");
  CHECK(e->last_reasons == std::vector<std::string>{"awaiting approval"});
  apply(*env, to("js.nanjing", node_state::admitted, "approved", node_state::pending));
  CHECK(state_of(*env, "js.nanjing") == node_state::admitted);
  CHECK_THROWS_WITH_AS(apply(*env, to("js.nanjing", node_state::admitted, "approved", node_state::pending)),
                       doctest::Contains("is admitted"), registry_error);
  apply(*env, to("js.nanjing", node_state::suspended, "audit found unmasked ids"));
  CHECK(reader(*env).node("js.nanjing")->reason == "audit found unmasked ids");
  CHECK_THROWS_AS(apply(*env, to("js.nanjing", node_state::admitted, "approve", node_state::pending)), registry_error);
  apply(*env, to("js.nanjing", node_state::admitted, "resumed", node_state::suspended));
  CHECK_FALSE(reader(*env).is_revoked("0a1b"));
  apply(*env, to("js.nanjing", node_state::revoked, "key leaked"));
  CHECK(reader(*env).is_revoked("0a1b"));
  REQUIRE(reader(*env).revocations().size() == 1);
  CHECK(reader(*env).revocations()[0].node_id == "js.nanjing");
  CHECK_THROWS_WITH_AS(apply(*env, to("js.nanjing", node_state::admitted, "resumed", node_state::suspended)),
                       doctest::Contains("final"), registry_error);
  // A later join of the revoked node changes what it reported, never its state.
  apply(*env, join("js.nanjing", "0c0d"));
  CHECK(state_of(*env, "js.nanjing") == node_state::revoked);
  // Every change is a security event.
  int events = 0;
  reader(*env).for_each_event([&](std::uint64_t, std::string_view) { return ++events, true; });
  CHECK(events == 5);
}

TEST_CASE("registry: approving an unknown node needs its role and jurisdiction, and they must match a join") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  CHECK_THROWS_WITH_AS(apply(*env, to("js.suzhou", node_state::admitted, "approved")),
                       doctest::Contains("has not asked to join"), registry_error);
  auto pre = to("js.suzhou", node_state::admitted, "approved");
  pre.create = true;
  pre.entry.role = "local";
  pre.entry.jurisdiction = "320500";
  apply(*env, pre);
  CHECK(state_of(*env, "js.suzhou") == node_state::admitted);
  apply(*env, join("js.nanjing"));  // joined as 320100
  auto wrong = to("js.nanjing", node_state::admitted, "approved");
  wrong.create = true;
  wrong.entry.role = "local";
  wrong.entry.jurisdiction = "320500";
  CHECK_THROWS_WITH_AS(apply(*env, wrong), doctest::Contains("asked to join as role local, jurisdiction 320100"),
                       registry_error);
  CHECK(state_of(*env, "js.nanjing") == node_state::pending);
}

TEST_CASE("registry: violations past the threshold suspend an admitted child automatically") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  apply(*env, join("js.nanjing"));
  apply(*env, to("js.nanjing", node_state::admitted, "approved"));
  registry_op v;
  v.what = registry_op::kind::violations;
  v.entry.node_id = "js.nanjing";
  v.count = 2;
  v.threshold = 5;
  v.reason = "subject outside jurisdiction";
  CHECK(apply(*env, v).suspended.empty());
  CHECK(state_of(*env, "js.nanjing") == node_state::admitted);
  v.count = 3;
  auto r = apply(*env, v);
  CHECK(r.suspended == std::vector<std::string>{"js.nanjing"});
  auto e = reader(*env).node("js.nanjing");
  CHECK(e->state == node_state::suspended);
  CHECK(e->violations == 5);
  CHECK(e->reason.find("5 security violations") != std::string::npos);
}

namespace {

registry_op contact(const std::string& id, std::int64_t at_ms) {
  registry_op op;
  op.what = registry_op::kind::contact;
  op.entry.node_id = id;
  op.entry.last_contact_ms = at_ms;
  return op;
}

std::int64_t contact_of(environment& env, const std::string& id) { return reader(env).node(id).value().last_contact_ms; }

}  // namespace

// The entry's format gained last_contact_ms at its end: an entry written
// before reads as never heard from, and one written now reads in an older
// binary, which stops before the field (the same bytes without the last 8).
TEST_CASE("registry: last contact is appended to the entry — old entries read as 0, new ones without it still read") {
  node_entry e = join("js.nanjing").entry;
  e.last_contact_ms = 1'700'000'000'123;
  auto bytes = encode_node_entry(e);
  CHECK(decode_node_entry(bytes).last_contact_ms == 1'700'000'000'123);
  auto older = decode_node_entry(std::string_view(bytes).substr(0, bytes.size() - 8));
  CHECK(older.last_contact_ms == 0);
  CHECK(older.node_id == "js.nanjing");
  CHECK(older.last_reasons == e.last_reasons);
}

TEST_CASE("registry: a contact moves a known child's last contact forward only, and never makes an entry") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  apply(*env, contact("js.unknown", 5'000));
  CHECK_FALSE(reader(*env).node("js.unknown"));
  apply(*env, join("js.nanjing"));
  auto joined = contact_of(*env, "js.nanjing");
  CHECK(joined > 0);  // a join is a contact
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the contacts below are past, not future
  apply(*env, contact("js.nanjing", joined + 20));
  CHECK(contact_of(*env, "js.nanjing") == joined + 20);
  apply(*env, contact("js.nanjing", joined + 10));  // late, out of order
  CHECK(contact_of(*env, "js.nanjing") == joined + 20);
}

TEST_CASE("registry: a last contact in the future (a clock set ahead, then corrected) is replaced by the next one") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  apply(*env, join("js.nanjing"));
  auto far = contact_of(*env, "js.nanjing") + 10LL * 365 * 86'400'000;
  apply(*env, contact("js.nanjing", far));
  CHECK(contact_of(*env, "js.nanjing") == far);
  auto now = contact_of(*env, "js.nanjing") - 10LL * 365 * 86'400'000 + 5'000;
  apply(*env, contact("js.nanjing", now));
  CHECK(contact_of(*env, "js.nanjing") == now);
}
