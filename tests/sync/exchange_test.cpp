#include <doctest/doctest.h>

#include <random>

#include "node/demo/sample_data.hpp"
#include "store/reader.hpp"
#include "sync/digest.hpp"
#include "sync/exchange.hpp"
#include "sync_node.hpp"
#include "replica_batch.hpp"
#include "test_util.hpp"

using namespace replication;
using test::code_in;
using test::node_under_test;

TEST_CASE("exchange: up from a local, down only to the local whose jurisdiction it is") {
  test::temp_dir d;
  node_under_test nanjing(d, "js.nanjing", "local", "320100"), suzhou(d, "js.suzhou", "local", "320500"),
      province(d, "js.province", "provincial", "320000");
  std::string gulou = code_in("320106", 1), gusu = code_in("320508", 2);
  nanjing.import(gulou, "r1", "1.00");

  auto up = collect_up(*nanjing.env, nanjing.id, 0, {});
  REQUIRE(up.changes.size() == 1);
  auto r = apply_batch(*province.w, nanjing.as_peer, true, up, "up:" + nanjing.id);
  CHECK(r.inserted == 1);
  CHECK(r.ack == up.last_seq);
  CHECK(province.get(gulou, "r1")->origin == "js.nanjing");
  CHECK(store::reader(*province.env).cursor_of("up:js.nanjing")->peer_instance == nanjing.env->instance_id());

  // The resend of the same batch changes nothing.
  auto again = apply_batch(*province.w, nanjing.as_peer, true, up, "up:" + nanjing.id);
  CHECK(again.unchanged == 1);
  CHECK(again.inserted + again.updated == 0);

  // Down: a provincial record about a Suzhou firm goes to Suzhou, not Nanjing;
  // Nanjing's own record is not echoed back to it.
  province.import(gusu, "p1", "7.00");
  auto to_suzhou = collect_down(*province.env, province.id, suzhou.as_peer, 0, {});
  auto to_nanjing = collect_down(*province.env, province.id, nanjing.as_peer, 0, {});
  REQUIRE(to_suzhou.changes.size() == 1);
  CHECK(to_suzhou.changes[0].rec.subject == gusu);
  CHECK(to_nanjing.changes.empty());
  CHECK(to_nanjing.last_seq == to_suzhou.last_seq);  // read past, so not read again
  apply_batch(*suzhou.w, province.as_peer, false, to_suzhou, "down:" + province.id);
  CHECK(suzhou.get(gusu, "p1"));
  CHECK(suzhou.total() == 1);

  // A pull from Suzhou's cursor finds nothing new.
  auto next = collect_down(*province.env, province.id, suzhou.as_peer, to_suzhou.last_seq, {});
  CHECK(next.changes.empty());
}

TEST_CASE("exchange: the owner's version 2 replaces version 1 upstream") {
  test::temp_dir d;
  node_under_test nanjing(d, "js.nanjing", "local", "320100"), province(d, "js.province", "provincial", "320000");
  std::string s = code_in("320102", 3);
  nanjing.import(s, "r1", "1.00");
  auto b1 = collect_up(*nanjing.env, nanjing.id, 0, {});
  apply_batch(*province.w, nanjing.as_peer, true, b1, "up:js.nanjing");
  nanjing.import(s, "r1", "2.00");
  auto b2 = collect_up(*nanjing.env, nanjing.id, b1.last_seq, {});
  REQUIRE(b2.changes.size() == 1);
  CHECK(apply_batch(*province.w, nanjing.as_peer, true, b2, "up:js.nanjing").updated == 1);
  CHECK(province.get(s, "r1")->version == 2);
  CHECK(province.get(s, "r1")->fields_json.find("2.00") != std::string::npos);
}

TEST_CASE("exchange: a poison change is quarantined with its reason and the cursor moves on") {
  test::temp_dir d;
  node_under_test nanjing(d, "js.nanjing", "local", "320100"), province(d, "js.province", "provincial", "320000");
  std::string inside = code_in("320104", 4), outside = code_in("350200", 5);
  nanjing.import(inside, "ok", "1.00");
  nanjing.import(outside, "xm", "1.00");  // a Xiamen firm: not Nanjing's to report
  auto b = collect_up(*nanjing.env, nanjing.id, 0, {});
  REQUIRE(b.changes.size() == 2);
  b.changes[0].rec.fields_json = R"({"period":"2026-13"})";  // and a broken schema
  auto r = apply_batch(*province.w, nanjing.as_peer, true, b, "up:js.nanjing");
  CHECK(r.inserted == 0);
  REQUIRE(r.refused.size() == 2);
  bool schema = false, jurisdiction = false;
  for (const auto& p : r.refused) {
    schema |= p.reason.find("period") != std::string::npos || p.reason.find("required") != std::string::npos;
    jurisdiction |= p.reason.find("outside the sender's jurisdiction 320100") != std::string::npos;
  }
  CHECK(schema);
  CHECK(jurisdiction);
  CHECK(r.ack == b.last_seq);
  CHECK(store::reader(*province.env).stats().quarantined == 2);
  CHECK(store::reader(*province.env).cursor_of("up:js.nanjing")->seq == b.last_seq);
}

// A faulty child's oversized strings are cut to a readable prefix in the
// quarantine entry and in the refusal it hears, not stored whole per change.
TEST_CASE("exchange: a refused change's quarantine entry and reason are bounded, whatever the child sent") {
  test::temp_dir d;
  node_under_test nanjing(d, "js.nanjing", "local", "320100"), province(d, "js.province", "provincial", "320000");
  nanjing.import(code_in("320104", 6), "ok", "1.00");
  nanjing.import(code_in("320104", 7), "ok2", "1.00");
  auto b = collect_up(*nanjing.env, nanjing.id, 0, {});
  REQUIRE(b.changes.size() == 2);
  b.changes[0].rec.category = std::string(1 << 20, 'c');  // unknown, and a megabyte long
  b.changes[0].schema_checked = false;
  b.changes[1].rec.subject = std::string(100000, '9');  // not a credit code, 100 KB
  b.changes[1].rec.record_id = std::string(100000, 'r');
  auto r = apply_batch(*province.w, nanjing.as_peer, true, b, "up:js.nanjing");
  REQUIRE(r.refused.size() == 2);
  for (const auto& p : r.refused) CHECK(p.reason.size() <= 400);
  CHECK(r.refused[0].reason.rfind("unknown category 'cccc", 0) == 0);
  std::size_t entries = 0;
  store::reader(*province.env).for_each_quarantine([&](std::uint64_t, std::string_view json) {
    ++entries;
    CHECK(json.size() < 2000);
    return true;
  });
  CHECK(entries == 2);
}

TEST_CASE("exchange: a child claiming a record owned by a node outside its subtree is refused, and charged with the batch") {
  test::temp_dir d;
  node_under_test nanjing(d, "js.nanjing", "local", "320100"), province(d, "js.province", "provincial", "320000");
  nanjing.import(code_in("320104", 6), "spoof", "1.00");
  auto b = collect_up(*nanjing.env, nanjing.id, 0, {});
  REQUIRE(b.changes.size() == 1);
  b.changes[0].rec.origin = "js.suzhou";  // a sibling's name
  auto from = nanjing.as_peer;
  from.foreign_origins = {"js.province", "js.suzhou"};
  test::admit_child(*province.w, "js.nanjing", "local", "320100");  // violations are counted against it
  auto p = submit_batch(*province.w, from, true, b, "up:js.nanjing", 1);
  REQUIRE(p.refused.size() == 1);
  CHECK(p.refused[0].reason == "origin js.suzhou is not in the sender's subtree");
  auto res = p.done.get();
  CHECK(res.suspended == std::vector<std::string>{"js.nanjing"});
  auto e = store::reader(*province.env).node("js.nanjing");
  CHECK(e->violations == 1);
  CHECK(e->state == store::node_state::suspended);
  CHECK(province.total() == 0);
}

// PRODUCT §7: a change's origin must be in the child's subtree. A local
// node's subtree is itself, so a name on no list (a node not registered
// here) is refused too; a provincial child forwards its locals' records.
TEST_CASE("exchange: a local child sends only its own records, a provincial child its locals' too") {
  test::temp_dir d;
  node_under_test nanjing(d, "js.nanjing", "local", "320100"), province(d, "js.province", "provincial", "320000"),
      national(d, "cn.national", "national", "100000");
  province.admit(nanjing.as_peer);  // its changes then go up from the province
  nanjing.import(code_in("320104", 6), "spoof", "1.00");
  auto b = collect_up(*nanjing.env, nanjing.id, 0, {});
  REQUIRE(b.changes.size() == 1);
  b.changes[0].rec.origin = "js.someone-else";  // registered nowhere
  auto p = submit_batch(*province.w, nanjing.as_peer, true, b, "up:js.nanjing", 100);
  REQUIRE(p.refused.size() == 1);
  CHECK(p.refused[0].reason ==
        "origin js.someone-else is not the sender's: a local node has no children and sends only its own records");
  p.done.get();
  CHECK(province.total() == 0);
  // The province sends its local's record up: accepted at the national node.
  auto own = collect_up(*nanjing.env, nanjing.id, 0, {});
  REQUIRE(apply_batch(*province.w, nanjing.as_peer, true, own, "up:js.nanjing").refused.empty());
  auto up = collect_up(*province.env, province.id, 0, {});
  REQUIRE(up.changes.size() == 1);
  CHECK(up.changes[0].rec.origin == "js.nanjing");
  CHECK(apply_batch(*national.w, province.as_peer, true, up, "up:js.province").refused.empty());
  CHECK(national.total() == 1);
}

TEST_CASE("exchange: batches are bounded by count and say there is more") {
  test::temp_dir d;
  node_under_test nanjing(d, "js.nanjing", "local", "320100");
  std::string s = code_in("320102", 6);
  for (int i = 0; i < 5; ++i) nanjing.import(s, "r" + std::to_string(i), "1.00");
  batch_limits lim;
  lim.max_changes = 2;
  auto b = collect_up(*nanjing.env, nanjing.id, 0, lim);
  CHECK(b.changes.size() == 2);
  CHECK(b.more);
  auto rest = collect_up(*nanjing.env, nanjing.id, b.last_seq, {});
  CHECK(rest.changes.size() == 3);
  CHECK_FALSE(rest.more);
}

// A pull scans at most max_scanned changes, sent or passed over: a child
// whose jurisdiction holds little of a large log made one pull scan all of
// it. The batch ends where the scan stopped, says there is more, and the
// next goes on from there; nothing is skipped.
TEST_CASE("exchange: a pull looks at no more than max_scanned changes, passed over or not, and goes on from there") {
  test::temp_dir d;
  node_under_test province(d, "js.province", "provincial", "320000"), suzhou(d, "js.suzhou", "local", "320500");
  std::string gulou = code_in("320106", 1), gusu = code_in("320508", 2);
  for (int i = 0; i < 7; ++i) province.import(gulou, "n" + std::to_string(i), "1.00");  // Nanjing's: not Suzhou's
  province.import(gusu, "s1", "2.00");
  batch_limits lim;
  lim.max_scanned = 3;
  std::uint64_t cursor = 0;
  std::vector<std::size_t> sizes;
  for (bool more = true; more;) {
    auto b = collect_down(*province.env, province.id, suzhou.as_peer, cursor, lim);
    CHECK(b.last_seq - cursor <= 3);
    CHECK(b.last_seq > cursor);
    sizes.push_back(b.changes.size());
    if (!b.changes.empty()) CHECK(b.changes[0].rec.subject == gusu);
    cursor = b.last_seq;
    more = b.more;
  }
  CHECK(sizes == std::vector<std::size_t>{0, 0, 1});  // 3 + 3 passed over, then Suzhou's with the last Nanjing one
  CHECK(cursor == store::reader(*province.env).last_seq());
}

// Re-parenting (a local moved from the national node under its province):
// what came down from the old parent is not the local's to push up — the
// new parent would refuse each as a violation and suspend it.
TEST_CASE("exchange: up goes what the node or a registered child owns, never what came down from any parent") {
  test::temp_dir d;
  node_under_test nanjing(d, "js.nanjing", "local", "320100"), province(d, "js.province", "provincial", "320000"),
      nation(d, "cn.national", "national", "100000");
  std::string a = code_in("320102", 21), b = code_in("320104", 22), c = code_in("320106", 23);
  nation.import(a, "n1", "1.00");  // down from the old parent (national) ...
  auto down_old = collect_down(*nation.env, nation.id, nanjing.as_peer, 0, {});
  apply_batch(*nanjing.w, nation.as_peer, false, down_old, "down:cn.national");
  province.import(b, "p1", "2.00");  // ... and from the new one
  auto down_new = collect_down(*province.env, province.id, nanjing.as_peer, 0, {});
  apply_batch(*nanjing.w, province.as_peer, false, down_new, "down:js.province");
  nanjing.import(c, "own", "3.00");
  REQUIRE(nanjing.total() == 3);
  auto up = collect_up(*nanjing.env, nanjing.id, 0, {});
  REQUIRE(up.changes.size() == 1);
  CHECK(up.changes[0].rec.record_id == "own");
  CHECK(up.last_seq == 3);  // the others are passed over, not read again
  auto r = apply_batch(*province.w, nanjing.as_peer, true, up, "up:js.nanjing");
  CHECK(r.refused.empty());
  // A middle node pushes what came up from a child it has registered.
  CHECK(collect_up(*province.env, province.id, 0, {}).changes.size() == 1);  // not yet: js.nanjing is unknown here
  store::write_batch reg;
  store::registry_op op;
  op.what = store::registry_op::kind::set_state;
  op.entry.node_id = "js.nanjing";
  op.entry.role = "local";
  op.entry.jurisdiction = "320100";
  op.create = true;
  reg.registry.push_back(op);
  province.w->submit(std::move(reg)).get();
  auto mid = collect_up(*province.env, province.id, 0, {});
  CHECK(mid.changes.size() == 2);
}

// After a restore a child pulls its own newer records back from its parent
// (own=1). They are logged as its own changes, so if the parent loses them
// later they go up again, where via-parent changes never do.
TEST_CASE("exchange: a node's own record coming back down is logged as its own change, and a version beyond 2^53 is refused alone") {
  test::temp_dir d;
  node_under_test nanjing(d, "js.nanjing", "local", "320100"), province(d, "js.province", "provincial", "320000");
  std::string a = code_in("320102", 31), b = code_in("320104", 32);
  nanjing.import(a, "mine", "1.00");
  auto up = collect_up(*nanjing.env, nanjing.id, 0, {});
  apply_batch(*province.w, nanjing.as_peer, true, up, "up:js.nanjing");
  province.import(b, "theirs", "2.00");
  auto back = collect_down(*province.env, province.id, nanjing.as_peer, 0, {}, true);  // own=1
  REQUIRE(back.changes.size() == 2);
  back.changes[0].rec.version = 2;  // as if the child's version 2 were at the parent only
  back.changes[0].rec.fields_json = R"({"amount_paid":"9.00","period":"2026-09","tax_type":"VAT"})";
  auto fresh = nanjing.env->instance_id();
  auto r = apply_batch(*nanjing.w, province.as_peer, false, std::move(back), "down:js.province", nanjing.id);
  CHECK(r.updated == 1);
  CHECK(r.inserted == 1);
  auto again = collect_up(*nanjing.env, nanjing.id, up.last_seq, {});
  REQUIRE(again.changes.size() == 1);  // its own version 2, not the province's record
  CHECK(again.changes[0].rec.record_id == "mine");
  CHECK(again.changes[0].rec.version == 2);
  CHECK(fresh == nanjing.env->instance_id());
  // A version past 2^53 is that change's refusal; the rest of the batch applies.
  auto big = collect_up(*nanjing.env, nanjing.id, 0, {});
  auto body = encode_batch(big);
  auto at = body.find("\"version\":2");
  REQUIRE(at != std::string::npos);
  body.replace(at, 11, "\"version\":18446744073709551615");
  auto decoded = decode_batch(body, 10);
  auto res = apply_batch(*province.w, nanjing.as_peer, true, std::move(decoded), "up:js.nanjing");
  REQUIRE(res.refused.size() == 1);
  CHECK(res.refused[0].reason == "version must be at most 9007199254740992 (2^53)");
}

TEST_CASE("digest: equal after sync for the child's scope, different before") {
  test::temp_dir d;
  node_under_test nanjing(d, "js.nanjing", "local", "320100"), province(d, "js.province", "provincial", "320000");
  std::string a = code_in("320102", 7), b = code_in("320106", 8), elsewhere = code_in("320506", 9);
  nanjing.import(a, "r1", "1.00");
  nanjing.import(b, "r2", "2.00");
  province.import(elsewhere, "p1", "3.00");  // outside Nanjing: not in its scope
  CHECK(compute_digest(*nanjing.env, "320100") != compute_digest(*province.env, "320100"));
  auto up = collect_up(*nanjing.env, nanjing.id, 0, {});
  apply_batch(*province.w, nanjing.as_peer, true, up, "up:js.nanjing");
  auto dn = compute_digest(*nanjing.env, "320100"), dp = compute_digest(*province.env, "320100");
  CHECK(dn == dp);
  CHECK(dn["tax"].count == 2);
  CHECK(compute_digest(*province.env, "320000")["tax"].count == 3);
  CHECK(parse_digest_json(digest_json(dp)) == dp);
  nanjing.import(a, "r1", "1.50");  // version 2 here only
  CHECK(compute_digest(*nanjing.env, "320100") != dp);
  CHECK(compute_digest(*nanjing.env, "320100")["tax"].count == 2);  // same count, other hash
}

// A parent's digest answer of the wrong shape is the parser's wire_error,
// naming what is wrong, never another exception (a child's pull link once
// failed its round on "stoull" and flapped).
TEST_CASE("digest: an answer of the wrong shape is a wire_error naming the category and the field") {
  CHECK(parse_digest_json(R"({"categories":{"tax":{"count":3,"hash":"00000000000000ff"}}})").at("tax").hash == 0xff);
  for (auto [body, says] : std::initializer_list<std::pair<const char*, const char*>>{
           {R"({"categories":{"tax":{"count":-1,"hash":"ff"}}})", "category 'tax' count must be a whole number >= 0"},
           {R"({"categories":{"tax":{"count":1.5,"hash":"ff"}}})", "count must be a whole number >= 0"},
           {R"({"categories":{"tax":{"count":"3","hash":"ff"}}})", "count must be a whole number >= 0"},
           {R"({"categories":{"tax":{"count":3,"hash":""}}})", "hash must be 1 to 16 hex digits"},
           {R"({"categories":{"tax":{"count":3,"hash":"xyz"}}})", "hash must be 1 to 16 hex digits"},
           {R"({"categories":{"tax":{"count":3,"hash":"ffx"}}})", "hash must be 1 to 16 hex digits"},
           {R"({"categories":{"tax":{"count":3,"hash":"10000000000000000"}}})", "hash must be 1 to 16 hex digits"},
           {R"({"categories":{"tax":{"count":3}}})", "needs count and hash"},
           {R"([1,2])", "expected {\"categories\""}}) {
    try {
      parse_digest_json(body);
      FAIL("accepted " << body);
    } catch (const wire_error& e) {
      CHECK_MESSAGE(std::string(e.what()).find(says) != std::string::npos, e.what());
    } catch (const std::exception& e) {
      FAIL("not a wire_error for " << body << ": " << e.what());
    }
  }
}
