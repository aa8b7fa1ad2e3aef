#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "store/model/validate.hpp"
#include "store/record_codec.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "replica_batch.hpp"
#include "test_util.hpp"

using namespace store;

namespace {

const std::string A = "91350200776049653A";

model::record rec(std::uint64_t version, std::string amount, std::string origin = "js.suzhou") {
  model::record r;
  r.category = "tax";
  r.subject = A;
  r.record_id = "2026-09-VAT";
  r.origin = std::move(origin);
  r.version = version;
  r.event_date = "2026-10-15";
  r.source = "tax bureau";
  r.fields_json = R"({"period":"2026-09","tax_type":"VAT","amount_paid":")" + amount + "\"}";
  return r;
}

batch_result send(environment& env, std::vector<model::record> rs, std::optional<peer_cursor> c = {},
                  std::string via = "js.suzhou") {
  writer w(env);
  write_batch b;
  b.via = std::move(via);
  b.replicas = std::move(rs);
  b.cursor = std::move(c);
  return w.submit(std::move(b)).get();
}

std::string amount_of(environment& env) {
  auto r = reader(env).get("tax", A, "2026-09-VAT");
  REQUIRE(r);
  return r->fields_json;
}

}  // namespace

TEST_CASE("replica: the owner's newer version wins, an older one is ignored") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  CHECK(send(*env, {rec(1, "1.00")}).inserted == 1);
  {
    reader rd(*env);
    auto r = rd.get("tax", A, "2026-09-VAT");
    REQUIRE(r);
    CHECK(r->origin == "js.suzhou");  // the owner's name and version travel with it
    CHECK(r->version == 1);
    std::string via;
    rd.for_each_change(0, [&](std::uint64_t, const std::string& v, const model::record&) { via = v; return true; });
    CHECK(via == "js.suzhou");  // so it is never sent back there
  }
  CHECK(send(*env, {rec(3, "3.00")}).updated == 1);
  auto older = send(*env, {rec(2, "2.00")});
  CHECK(older.ignored_older == 1);
  CHECK(older.updated == 0);
  CHECK(amount_of(*env).find("3.00") != std::string::npos);
  CHECK(reader(*env).history("tax", A, "2026-09-VAT").size() == 1);
  CHECK(reader(*env).stats().total == 1);
}

TEST_CASE("replica: the same origin and version with another body is an integrity event") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  send(*env, {rec(1, "1.00")});
  CHECK(send(*env, {rec(1, "1.00")}).unchanged == 1);  // a resend: nothing happens
  auto r = send(*env, {rec(1, "9.99")});
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].find("integrity") != std::string::npos);
  CHECK(amount_of(*env).find("1.00") != std::string::npos);  // not applied
  std::string ev;
  reader(*env).for_each_event([&](std::uint64_t, std::string_view j) { ev = j; return true; });
  CHECK(ev.find("\"kind\":\"integrity\"") != std::string::npos);
  CHECK(ev.find("\"via\":\"js.suzhou\"") != std::string::npos);
  CHECK(ev.find("\"version\":1") != std::string::npos);
}

TEST_CASE("replica: a record claimed by a second origin is refused as an event") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  send(*env, {rec(1, "1.00", "js.suzhou")});
  auto r = send(*env, {rec(5, "5.00", "js.rogue")}, std::nullopt, "js.rogue");
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].find("origin_conflict") != std::string::npos);
  CHECK(reader(*env).get("tax", A, "2026-09-VAT")->origin == "js.suzhou");
}

TEST_CASE("replica: the cursor commits with the changes and never moves back") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  send(*env, {rec(1, "1.00")}, peer_cursor{"js.suzhou", "inst-a", 10});
  auto c = reader(*env).cursor_of("js.suzhou");
  REQUIRE(c);
  CHECK(c->peer_instance == "inst-a");
  CHECK(c->seq == 10);
  send(*env, {rec(1, "1.00")}, peer_cursor{"js.suzhou", "inst-a", 7});  // a late resend
  CHECK(reader(*env).cursor_of("js.suzhou")->seq == 10);
  send(*env, {}, peer_cursor{"js.suzhou", "inst-b", 3});  // the peer's store was replaced
  CHECK(reader(*env).cursor_of("js.suzhou")->peer_instance == "inst-b");
  CHECK(reader(*env).cursor_of("js.suzhou")->seq == 3);
  CHECK_FALSE(reader(*env).cursor_of("js.other"));
}

TEST_CASE("replica: a batch that does not continue from the stored cursor is refused whole") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  send(*env, {rec(1, "1.00")}, peer_cursor{"js.suzhou", "inst-a", 10, 0});
  // Batch 11..20 was lost; 21..30 must not move the cursor over it.
  CHECK_THROWS_WITH_AS(send(*env, {rec(2, "2.00")}, peer_cursor{"js.suzhou", "inst-a", 30, 20}),
                       doctest::Contains("resend from 10"), sync_gap_error);
  CHECK(reader(*env).cursor_of("js.suzhou")->seq == 10);
  CHECK(amount_of(*env).find("1.00") != std::string::npos);  // nothing of it applied
  // Another instance of the peer holds nothing here yet: only from 0.
  CHECK_THROWS_AS(send(*env, {}, peer_cursor{"js.suzhou", "inst-b", 5, 3}), sync_gap_error);
  // The batch that does continue is applied.
  send(*env, {rec(2, "2.00")}, peer_cursor{"js.suzhou", "inst-a", 20, 10});
  CHECK(reader(*env).cursor_of("js.suzhou")->seq == 20);
  CHECK(amount_of(*env).find("2.00") != std::string::npos);
}

TEST_CASE("replica: a tombstone takes the record out of the live count") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  send(*env, {rec(1, "1.00")});
  auto gone = rec(2, "1.00");
  gone.deleted = true;
  CHECK(send(*env, {gone}).updated == 1);
  CHECK(reader(*env).stats().total == 0);
  auto back = rec(3, "4.00");
  send(*env, {back});
  CHECK(reader(*env).stats().total == 1);
}

TEST_CASE("replica: a body an older binary stored with short escapes (\\n) is the same as today's \\u000a, anything else is not") {
  CHECK(model::same_json_text(R"({"result":"a\nb\tc"})", R"({"result":"a\u000ab\u0009c"})"));
  CHECK(model::same_json_text(R"({"result":"a\"b\\c"})", R"({"result":"a\"b\\c"})"));
  CHECK_FALSE(model::same_json_text(R"({"result":"a\\nb"})", R"({"result":"a\u000ab"})"));  // a backslash and an n
  CHECK_FALSE(model::same_json_text(R"({"result":"a\nb"})", R"({"result":"a\u000ac"})"));
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  auto old = rec(1, "1.00");
  old.fields_json = R"({"period":"2026-09","tax_type":"VAT\n","amount_paid":"1.00"})";
  send(*env, {old});
  auto now = old;
  now.fields_json = R"({"period":"2026-09","tax_type":"VAT\u000a","amount_paid":"1.00"})";
  auto r = send(*env, {now});
  CHECK(r.unchanged == 1);
  CHECK(r.events.empty());  // not an integrity event
}

// A parent applies a child's batch in subject-key order (neighbouring
// changes share index pages). The order must be the index's own — each key
// part's length byte first — and two versions of one record keep theirs.
TEST_CASE("replica: key order is the subject index's order, keeps a record's versions in turn, and applies as received does") {
  std::vector<model::record> rs;
  auto add = [&](std::string subject, std::string category, std::string id, std::uint64_t v) {
    auto r = rec(v, std::to_string(rs.size()));
    r.subject = std::move(subject), r.category = std::move(category), r.record_id = std::move(id);
    rs.push_back(std::move(r));
  };
  const std::string B = "91320102MA1X00017W";
  add(B, "tax", "b-2", 1);
  add(A, "tax", "zz", 1);             // same subject and category: the shorter id sorts first
  add(A, "tax", "a-long-record-id", 1);
  add(A, "environment", "e1", 1);     // a longer category sorts after "tax"
  add(B, "tax", "b-1", 1);
  add(A, "tax", "zz", 2);             // the same record again, newer: stays after version 1
  add(A, "tax", "a-long-record-id-and-then-some", 1);  // differs past the 16-byte prefix
  auto order = key_order(rs);
  REQUIRE(order.size() == rs.size());
  for (std::size_t i = 1; i < order.size(); ++i) {
    const auto &x = rs[order[i - 1]], &y = rs[order[i]];
    auto kx = subject_key(x.subject, x.category, x.record_id), ky = subject_key(y.subject, y.category, y.record_id);
    CAPTURE(i);
    CHECK(kx <= ky);
    if (kx == ky) CHECK(order[i - 1] < order[i]);
  }
  CHECK(std::find(order.begin(), order.end(), 1u) < std::find(order.begin(), order.end(), 5u));

  test::temp_dir d1, d2;
  auto in_order = environment::open({d1.path().string()}), as_sent = environment::open({d2.path().string()});
  writer w1(*in_order), w2(*as_sent);
  write_batch b1, b2;
  b1.via = b2.via = "js.suzhou";
  b1.replicas = b2.replicas = rs;
  b1.replica_order = order;
  auto r1 = w1.submit(std::move(b1)).get(), r2 = w2.submit(std::move(b2)).get();
  CHECK(r1.inserted == 6);
  CHECK(r1.updated == 1);
  CHECK(r2.inserted == r1.inserted);
  CHECK(r2.updated == r1.updated);
  CHECK(reader(*in_order).digest("") == reader(*as_sent).digest(""));
  auto zz = reader(*in_order).get("tax", A, "zz");
  REQUIRE(zz);
  CHECK(zz->version == 2);
}

// A child's change stamp travels with its cursor at the parent and back
// (parent_link: a store that went back). Kept in 8 bytes after the old
// cursor, which a binary before them reads as it always did.
TEST_CASE("cursor: a stamp is kept after the old fields, read back, and absent in a cursor written without one") {
  auto with = store::encode_cursor("inst-1", 42, 0x1234567890abcdefull);
  auto without = store::encode_cursor("inst-1", 42);
  CHECK(with.size() == without.size() + 8);
  CHECK(with.substr(0, without.size()) == without);  // the old reader sees the same instance and seq
  std::string inst;
  std::uint64_t seq = 0, stamp = 7;
  store::decode_cursor(with, inst, seq, &stamp);
  CHECK(inst == "inst-1");
  CHECK(seq == 42);
  CHECK(stamp == 0x1234567890abcdefull);
  store::decode_cursor(without, inst, seq, &stamp);
  CHECK(stamp == 0);
}

// A change's stamp stays what it is as the store goes on; a copy of the
// store (a snapshot) has the same; once that copy goes on writing at the
// same positions — other rows, or the same rows and versions later — its
// stamps there differ.
TEST_CASE("change stamp: the same at a position until a copy of the store writes there again, even the same row") {
  test::temp_dir a_dir, b_dir;
  auto a = store::environment::open({a_dir.path().string()});
  store::writer(*a).submit(test::replica_batch(3, 0)).get();  // changes 1-3: r0, r1, r2
  auto s1 = store::reader(*a).change_stamp(1), s3 = store::reader(*a).change_stamp(3);
  REQUIRE(s1);
  REQUIRE(s3);
  CHECK((*s1 >> 60) == store::reader::change_stamp_definition);
  CHECK(s1 != s3);
  {
    int fd = ::open((b_dir / "data.mdb").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    a->copy_to(fd);
    ::close(fd);
  }
  auto r0_v2 = [] {
    auto v2 = test::replica_batch(1, 3);
    v2.replicas[0].record_id = "r0";
    v2.replicas[0].version = 2;
    return v2;
  };
  store::writer(*a).submit(r0_v2()).get();  // change 4: r0 version 2
  CHECK(store::reader(*a).change_stamp(1) == s1);  // version 1 as id2history keeps it
  CHECK(store::reader(*a).change_stamp(4) != s1);
  CHECK_FALSE(store::reader(*a).change_stamp(5));
  CHECK_FALSE(store::reader(*a).change_stamp(0));
  auto b = store::environment::open({b_dir.path().string()});
  CHECK(store::reader(*b).change_stamp(3) == s3);
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  store::writer(*b).submit(r0_v2()).get();  // change 4 again: the same row and version, later
  CHECK(store::reader(*b).change_stamp(4) != store::reader(*a).change_stamp(4));
  auto other = test::replica_batch(1, 4);
  other.replicas[0].record_id = "another";
  store::writer(*b).submit(std::move(other)).get();
  REQUIRE(store::reader(*b).change_stamp(5));
  // The parent keeps the stamp the cursor came with.
  auto stamped = test::replica_batch(1, 3);
  stamped.replicas[0].record_id = "r9";
  stamped.cursor = store::peer_cursor{"up:js.other", "inst-2", 1, 0, 0xabcull};
  store::writer(*b).submit(std::move(stamped)).get();
  auto cur = store::reader(*b).cursor_of("up:js.other");
  REQUIRE(cur);
  CHECK(cur->seq == 1);
  CHECK(cur->stamp == 0xabcull);
  // A cursor never moves back, unless the peer's store went back (restart).
  store::write_batch back;
  back.cursor = store::peer_cursor{"up:js.other", "inst-2", 0, 0, 0};
  store::writer(*b).submit(std::move(back)).get();
  CHECK(store::reader(*b).cursor_of("up:js.other")->seq == 1);
  store::write_batch restart;
  restart.cursor = store::peer_cursor{"up:js.other", "", 0, 0, 0, true};
  store::writer(*b).submit(std::move(restart)).get();
  cur = store::reader(*b).cursor_of("up:js.other");
  CHECK(cur->seq == 0);
  CHECK(cur->stamp == 0);
  CHECK(cur->peer_instance.empty());
}
