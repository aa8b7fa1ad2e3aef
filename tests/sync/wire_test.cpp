#include <doctest/doctest.h>

#include "sync/wire.hpp"

using namespace replication;

namespace {

// One tax change (seq 41, version 3) from js.nanjing, source 税务局.
change_batch one_change_batch(bool more_and_deleted) {
  change_batch b{"js.nanjing", "0123456789abcdef0123456789abcdef", {}, 42, more_and_deleted, 40};
  wire_change c;
  c.seq = 41;
  c.rec = {"tax", "91350200776049653A", "2026-09-VAT", "js.nanjing", 3, "2026-10-15", "税务局", 0, more_and_deleted,
           R"({"period":"2026-09","amount_paid":"12000.00"})"};
  b.changes.push_back(c);
  return b;
}

}  // namespace

TEST_CASE("wire: a store instance is 32 lower-case hex digits, and a version fits a JSON number exactly") {
  auto batch = [](const std::string& instance, const std::string& version) {
    return R"({"node":"a","instance":")" + instance + R"(","last_seq":1,"changes":[{"seq":1,"category":"tax","subject":"91350200776049653A","record_id":"r","origin":"a","version":)" +
           version + R"(,"event_date":"2026-10-15","source":"s","deleted":false,"fields":{}}]})";
  };
  for (const std::string bad : {"xyz", "", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcdef0"})
    CHECK_THROWS_WITH_AS(decode_batch(batch(bad, "1"), 10), "batch: \"instance\" must be 32 lower-case hex digits (a store instance id)", wire_error);
  CHECK(decode_batch(batch("0123456789abcdef0123456789abcdef", "9007199254740992"), 10).changes.at(0).rec.version == 9007199254740992ull);
  // A larger one is that change's problem (refused and quarantined alone), not the batch's.
  for (const std::string v : {"9007199254740993", "18446744073709551615"})
    CHECK(decode_batch(batch("0123456789abcdef0123456789abcdef", v), 10).changes.at(0).schema_problem ==
          "version must be at most 9007199254740992 (2^53)");
}

TEST_CASE("wire: a batch survives the round trip exactly") {
  auto d = decode_batch(encode_batch(one_change_batch(true)), 10);
  CHECK(d.node == "js.nanjing");
  CHECK(d.instance == "0123456789abcdef0123456789abcdef");
  CHECK(d.last_seq == 42);
  CHECK(d.more);
  CHECK(d.after_seq == 40);
  REQUIRE(d.changes.size() == 1);
  const auto& r = d.changes[0].rec;
  CHECK(d.changes[0].seq == 41);
  CHECK(r.version == 3);
  CHECK(r.deleted);
  CHECK(r.source == "税务局");
  CHECK(r.fields_json == R"({"period":"2026-09","amount_paid":"12000.00"})");  // decimals stay text
}

TEST_CASE("wire: malformed batches are refused naming the field") {
  CHECK_THROWS_WITH_AS(decode_batch("{not json", 10), doctest::Contains("not valid JSON"), wire_error);
  CHECK_THROWS_WITH_AS(decode_batch(R"({"node":"a","instance":"0123456789abcdef0123456789abcdef","last_seq":1})", 10),
                       doctest::Contains("\"changes\""), wire_error);
  CHECK_THROWS_WITH_AS(decode_batch(R"({"node":"a","instance":"0123456789abcdef0123456789abcdef","last_seq":-1,"changes":[]})", 10),
                       doctest::Contains("last_seq"), wire_error);
  CHECK_THROWS_WITH_AS(
      decode_batch(R"({"node":"a","instance":"0123456789abcdef0123456789abcdef","last_seq":1,"changes":[{"seq":1}]})", 10),
      doctest::Contains("change 0: missing \"category\""), wire_error);
  CHECK_THROWS_WITH_AS(decode_batch(R"({"node":"a","instance":"0123456789abcdef0123456789abcdef","after_seq":5,"last_seq":1,"changes":[]})", 10),
                       doctest::Contains("\"after_seq\" must not be past"), wire_error);
  CHECK_FALSE(decode_batch(R"({"node":"a","instance":"0123456789abcdef0123456789abcdef","last_seq":1,"changes":[]})", 10).after_seq);
  CHECK_THROWS_WITH_AS(decode_batch(R"({"node":"a","instance":"0123456789abcdef0123456789abcdef","last_seq":1,"changes":[1,2,3]})", 2),
                       doctest::Contains("more than the limit 2"), wire_error);
}

TEST_CASE("wire: a batch with invalid UTF-8 anywhere, raw or as a lone surrogate escape, is refused whole") {
  auto good = encode_batch(one_change_batch(false));
  REQUIRE(decode_batch(good, 10).changes.size() == 1);
  // A byte cut out of the middle of 税 (a field value), and a stray byte in a key.
  auto cut = good;
  cut.erase(cut.find("税") + 1, 1);
  CHECK_THROWS_WITH_AS(decode_batch(cut, 10), doctest::Contains("batch: invalid UTF-8 at byte"), wire_error);
  auto key = good;
  key.replace(key.find("\"source\""), 8, "\"sour\xff" "e\"");
  CHECK_THROWS_WITH_AS(decode_batch(key, 10), doctest::Contains("invalid UTF-8 at byte"), wire_error);
  // Escapes are the parser's: a lone surrogate is not text either.
  auto lone = good;
  lone.replace(lone.find("税务局"), std::string("税务局").size(), "\\ud800");
  CHECK_THROWS_WITH_AS(decode_batch(lone, 10), doctest::Contains("not valid JSON"), wire_error);
  auto pair = good;
  pair.replace(pair.find("税务局"), std::string("税务局").size(), "\\ud834\\udd1e");
  CHECK(decode_batch(pair, 10).changes.at(0).rec.source == "\xf0\x9d\x84\x9e");  // U+1D11E
}

TEST_CASE("wire: escapes are checked wherever they fall in a long string, not only on the parser's fast path") {
  // The parser copies an escaped string through a 4 KiB buffer: escapes at
  // and around its edges take other paths through the surrogate checks.
  auto good = encode_batch(one_change_batch(false));
  auto with_source = [&](const std::string& escaped) {
    auto b = good;
    b.replace(b.find("税务局"), std::string("税务局").size(), escaped);
    return b;
  };
  const std::string pair_bytes = "\xf0\x9d\x84\x9e";  // U+1D11E
  for (std::size_t pad = 4080; pad <= 4100; ++pad) {
    std::string before(pad, 'a');
    INFO("escape after " << pad << " bytes");
    for (const char* bad : {"\\ud800", "\\udc00", "\\ud800\\u0041", "\\ud834\\ud834"})
      CHECK_THROWS_WITH_AS(decode_batch(with_source("\\n" + before + bad + "z"), 10), doctest::Contains("not valid JSON"),
                           wire_error);
    auto ok = decode_batch(with_source("\\n" + before + "\\ud834\\udd1e" + "z"), 10);
    CHECK(ok.changes.at(0).rec.source == "\n" + before + pair_bytes + "z");
  }
}

TEST_CASE("wire: a revocation list travels whole, an empty one is still said, and a bad serial is refused") {
  change_batch b{"js.province", "0123456789abcdef0123456789abcdef", {}, 7, false, std::nullopt};
  CHECK_FALSE(decode_batch(encode_batch(b), 10).revocations);
  b.revocations = std::vector<store::revocation>{};
  auto empty = decode_batch(encode_batch(b), 10);
  REQUIRE(empty.revocations);
  CHECK(empty.revocations->empty());
  b.revocations->push_back({"0a1b", "js.nanjing", "key leaked", "js.province", 1800000000000});
  auto one = decode_batch(encode_batch(b), 10);
  REQUIRE(one.revocations);
  REQUIRE(one.revocations->size() == 1);
  CHECK((*one.revocations)[0].reason == "key leaked");
  CHECK((*one.revocations)[0].at_ms == 1800000000000);
  CHECK_THROWS_WITH_AS(decode_batch(R"({"node":"a","instance":"0123456789abcdef0123456789abcdef","last_seq":1,"changes":[],"revocations":[{"serial":"XZ","node_id":"n","reason":"r","by":"p","at_ms":1}]})", 10),
                       doctest::Contains("lower-case hex"), wire_error);
}

TEST_CASE("wire: decoding checks each change's fields once: valid ones come out canonical, a bad one carries its reason") {
  change_batch b{"js.nanjing", "0123456789abcdef0123456789abcdef", {}, 2, false, std::nullopt};
  wire_change good, bad;
  good.seq = 1;
  good.rec = {"tax", "91350200776049653A", "2026-09-VAT", "js.nanjing", 1, "2026-10-15", "税务局", 0, false,
              R"({"amount_paid":"12000.00","tax_type":"VAT","period":"2026-09"})"};  // not in schema order
  bad = good;
  bad.seq = 2;
  bad.rec.record_id = "2026-13-VAT";
  bad.rec.fields_json = R"({"period":"2026-13","tax_type":"VAT","amount_paid":"1.00"})";
  b.changes = {good, bad};
  auto d = decode_batch(encode_batch(b), 10);
  REQUIRE(d.changes.size() == 2);
  CHECK(d.changes[0].schema_checked);
  CHECK(d.changes[0].schema_problem.empty());
  CHECK(d.changes[0].rec.fields_json == R"({"period":"2026-09","tax_type":"VAT","amount_paid":"12000.00"})");
  CHECK(d.changes[1].schema_checked);
  CHECK(d.changes[1].schema_problem.find("period") == 0);
  CHECK(d.changes[1].rec.fields_json == bad.rec.fields_json);  // kept as sent, for the quarantine
  // The same check on a record built in memory.
  std::string canonical;
  CHECK(check_schema(good.rec, canonical).empty());
  CHECK(canonical == d.changes[0].rec.fields_json);
  CHECK(check_schema(bad.rec, canonical).find("period") == 0);
}

TEST_CASE("wire: a push answer's batch limits are read between the default and large(), and nonsense is the default") {
  const batch_limits floor, large = batch_limits::large();
  auto said = [](const std::string& answer) {
    auto l = limits_in_answer(answer);
    return std::pair{l.max_changes, l.max_bytes};
  };
  auto pair = [](const batch_limits& l) { return std::pair{l.max_changes, l.max_bytes}; };
  CHECK(said(R"({"ack":5,"instance":"x"})") == pair(floor));  // a parent older than the fields
  CHECK(said(R"({"ack":5,"max_changes":20000,"max_bytes":16777216})") == pair(large));
  CHECK(said(R"({"max_changes":12000,"max_bytes":8000000})") == std::pair<std::size_t, std::size_t>{12000, 8000000});
  CHECK(said(R"({"max_changes":900000000,"max_bytes":900000000000})") == pair(large));  // never more than we send
  CHECK(said(R"({"max_changes":10,"max_bytes":1000})") == pair(floor));                 // never less than every parent takes
  CHECK(said(R"({"max_changes":20000})") == pair(floor));                               // both or neither
  CHECK(said(R"({"max_changes":-1,"max_bytes":16777216})") == pair(floor));
  CHECK(said(R"({"max_changes":"20000","max_bytes":16777216})") == pair(floor));
  CHECK(said(R"({"max_changes":2.5e4,"max_bytes":16777216})") == pair(floor));
  CHECK(said("not json") == pair(floor));
  CHECK(said("[1,2]") == pair(floor));
}

TEST_CASE("wire: a push's last_stamp goes as 16 hex digits and comes back, anything else is refused") {
  auto b = one_change_batch(false);
  b.last_stamp = 0x00ab0000000000cdull;
  auto body = encode_batch(b);
  CHECK(body.find(R"("last_stamp":"00ab0000000000cd")") != std::string::npos);
  CHECK(decode_batch(body, 10).last_stamp == 0x00ab0000000000cdull);
  b.last_stamp = 0;
  CHECK(encode_batch(b).find("last_stamp") == std::string::npos);
  CHECK(decode_batch(encode_batch(b), 10).last_stamp == 0);
  for (const std::string bad : {R"("00AB0000000000CD")", R"("ab")", R"("0000000000000000")", R"("00ab0000000000cdx")"}) {
    auto text = body;
    text.replace(text.find(R"("00ab0000000000cd")"), 18, bad);
    CHECK_THROWS_WITH_AS(decode_batch(text, 10), "batch: \"last_stamp\" must be 16 lower-case hex digits, not all zero", wire_error);
  }
  auto number = body;
  number.replace(number.find(R"("00ab0000000000cd")"), 18, "12");
  CHECK_THROWS_WITH_AS(decode_batch(number, 10), "batch: \"last_stamp\" must be a string", wire_error);
  CHECK(stamp_hex(1) == "0000000000000001");
  CHECK(parse_stamp("ffffffffffffffff") == 0xffffffffffffffffull);
  CHECK_FALSE(parse_stamp("-fffffffffffffff"));
}
