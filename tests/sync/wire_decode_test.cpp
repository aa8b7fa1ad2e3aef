// The streaming batch decoder against the document-tree one it replaced
// (wire_reference.cpp): the same batches, valid and damaged in structure
// and in bytes, must give the same batch or the same message. Then what is
// new: a member named twice, a field named twice, a field bound.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <random>
#include <sstream>

#include "sync/wire.hpp"
#include "sync/wire_reference.hpp"

using namespace replication;
namespace json = boost::json;

namespace {

std::string describe(const change_batch& b) {
  std::ostringstream o;
  o << b.node << '|' << b.instance << '|' << b.last_seq << '|' << b.more << '|' << (b.after_seq ? std::to_string(*b.after_seq) : "-")
    << '|' << b.own << '|' << b.last_stamp << '|';
  if (b.revocations)
    for (const auto& r : *b.revocations) o << "R" << r.serial << ',' << r.node_id << ',' << r.reason << ',' << r.by << ',' << r.at_ms << ';';
  else o << "noR";
  for (const auto& c : b.changes) {
    const auto& r = c.rec;
    o << "\n" << c.seq << '|' << c.schema_checked << '|' << c.schema_problem << '|' << r.category << '|' << r.subject << '|'
      << r.record_id << '|' << r.origin << '|' << r.version << '|' << r.event_date << '|' << r.source << '|' << r.ingested_at_ms
      << '|' << r.deleted << '|' << r.fields_json;
  }
  return o.str();
}

// What a decoder made of `text`: the batch, or "ERROR: " and its message.
template <typename F>
std::string outcome(F decode, const std::string& text, std::size_t max) {
  try {
    return describe(decode(text, max));
  } catch (const wire_error& e) {
    return std::string("ERROR: ") + e.what();
  }
}

void same(const std::string& text, std::size_t max = 50) {
  INFO("batch: " << text.substr(0, 600));
  CHECK(outcome(decode_batch, text, max) == outcome(test_ref::reference_decode_batch, text, max));
}

const char* subjects[] = {"91350200776049653A", "91320100MA1NXXXX7X", "not-a-code", ""};

json::object a_change(std::mt19937_64& rng, std::uint64_t seq) {
  auto pick = [&](auto& list) { return list[rng() % std::size(list)]; };
  const char* periods[] = {"2026-09", "2026-13", "", "2026-9"};
  const char* amounts[] = {"12000.00", "1.5", "-3", "abc", "1e3"};
  json::object fields{{"period", pick(periods)}, {"tax_type", rng() % 2 ? "VAT" : "增值税\n\"引号\""}, {"amount_paid", pick(amounts)}};
  if (rng() % 4 == 0) fields["credit_rating"] = rng() % 2 ? "A" : "Z";
  if (rng() % 6 == 0) fields["arrears"] = static_cast<std::int64_t>(rng() % 1000) - 500;
  if (rng() % 8 == 0) fields["extra"] = rng() % 2 ? json::value(2.5) : json::value(true);
  const char* categories[] = {"tax", "tax", "tax", "no_such_category"};
  return {{"seq", seq}, {"category", pick(categories)}, {"subject", pick(subjects)}, {"record_id", "r-" + std::to_string(seq)},
          {"origin", "js.nanjing"}, {"version", 1 + rng() % 5}, {"event_date", rng() % 5 ? "2026-10-15" : "2026-02-30"},
          {"source", "税务局"}, {"deleted", rng() % 7 == 0}, {"fields", std::move(fields)}};
}

json::object a_batch(std::mt19937_64& rng) {
  json::array changes;
  std::size_t n = rng() % 5;
  for (std::size_t i = 0; i < n; ++i) changes.push_back(a_change(rng, 10 + i));
  json::object b{{"node", "js.nanjing"}, {"instance", "0123456789abcdef0123456789abcdef"}, {"last_seq", 10 + n}, {"more", rng() % 2 == 0},
                 {"changes", std::move(changes)}};
  if (rng() % 2) b["after_seq"] = 9;
  if (rng() % 3 == 0) b["last_stamp"] = "00ab0000000000cd";
  if (rng() % 3 == 0) b["own"] = true;
  if (rng() % 3 == 0)
    b["revocations"] = json::array{json::object{{"serial", "0a1b"}, {"node_id", "js.x"}, {"reason", "key leaked"}, {"by", "js.province"},
                                                {"at_ms", 1800000000000}}};
  return b;
}

// Values of every kind, to put where another kind belongs.
json::value a_value(std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0: return nullptr;
    case 1: return true;
    case 2: return -7;
    case 3: return 2.5;
    case 4: return "text";
    case 5: return json::array{1, "x", json::object{{"k", nullptr}}};
    case 6: return json::object{{"a", json::array{}}, {"b", "\u00e9\t"}};
    case 7: return 18446744073709551615ull;
    case 8: return "";
    default: return 42;
  }
}

// One structural change somewhere in the batch: a member removed, given a
// value of another kind, or joined by one no reader knows.
void damage(json::object& o, std::mt19937_64& rng, int depth = 0) {
  if (o.empty()) return void(o["new_member"] = a_value(rng));
  auto it = o.begin() + static_cast<std::ptrdiff_t>(rng() % o.size());
  auto& v = it->value();
  bool deeper = depth < 3 && (v.is_object() || (v.is_array() && !v.get_array().empty()));
  if (deeper && rng() % 3) {
    if (v.is_object()) return damage(v.get_object(), rng, depth + 1);
    auto& a = v.get_array();
    auto& e = a[rng() % a.size()];
    if (e.is_object() && rng() % 4) return damage(e.get_object(), rng, depth + 1);
    e = a_value(rng);
    return;
  }
  switch (rng() % 3) {
    case 0: o.erase(it); return;
    case 1: v = a_value(rng); return;
    default: o["zz_unknown_" + std::to_string(rng() % 100)] = a_value(rng);
  }
}

}  // namespace

TEST_CASE("wire decode: the streaming decoder gives what the tree decoder gave, batch or message, on random batches") {
  std::mt19937_64 rng(20261207);
  for (int i = 0; i < 1500; ++i) {
    auto b = a_batch(rng);
    same(json::serialize(b));
    for (int d = 1 + static_cast<int>(rng() % 3); d > 0; --d) damage(b, rng);
    same(json::serialize(b));
    same(json::serialize(b), 1 + rng() % 3);  // a lower change limit
  }
}

TEST_CASE("wire decode: damaged bytes, cut batches, escapes and odd documents give the same message as before") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1500; ++i) {
    auto text = json::serialize(a_batch(rng));
    auto at = rng() % text.size();
    switch (rng() % 4) {
      case 0: text.erase(at, 1 + rng() % 12); break;
      case 1: text.resize(at); break;
      case 2: text.insert(at, std::string(1, "{}[],:\"\\ 0a-"[rng() % 13])); break;
      default: text[at] = static_cast<char>(' ' + rng() % 95);
    }
    same(text);
  }
  for (const std::string odd : {"", " ", "[]", "\"batch\"", "12", "null", "{}", "{} {}", "{}x", "{\"changes\":[]}",
                                R"({"node":"a","instance":"0123456789abcdef0123456789abcdef","last_seq":1,"changes":[]} )"})
    same(odd);
  // Escapes in every kind of string, keys included.
  same(R"({"no\u0064e":"a\u00e9","instance":"0123456789abcdef0123456789abcdef","last_seq":1,"changes":[{"seq":1,"category":"t\u0061x","subject":"91350200776049653A","record_id":"r\"1","origin":"a","version":1,"event_date":"2026-10-15","source":"\ud834\udd1e","deleted":false,"fields":{"peri\u006fd":"2026-09","tax_type":"V\\T","amount_paid":"1.00"}}]})");
}

TEST_CASE("wire decode: a full-size batch of 20,000 changes decodes as before") {
  std::mt19937_64 rng(3);
  json::array changes;
  for (std::uint64_t i = 0; i < 20000; ++i) changes.push_back(a_change(rng, i + 1));
  json::object b{{"node", "js.nanjing"}, {"instance", "0123456789abcdef0123456789abcdef"}, {"last_seq", 20000},
                 {"after_seq", 0}, {"more", true}, {"changes", std::move(changes)}};
  auto text = json::serialize(b);
  auto got = decode_batch(text, 20000);
  CHECK(got.changes.size() == 20000);
  CHECK(describe(got) == describe(test_ref::reference_decode_batch(text, 20000)));
  CHECK_THROWS_WITH_AS(decode_batch(text, 19999), "batch holds 20000 changes, more than the limit 19999", wire_error);
}

TEST_CASE("wire decode: a member named twice is refused whole, naming it, and a field named twice is the change's problem") {
  const std::string head = R"({"node":"a","instance":"0123456789abcdef0123456789abcdef","last_seq":1,)";
  const std::string change = R"("seq":1,"category":"tax","subject":"91350200776049653A","record_id":"r","origin":"a","version":1,"event_date":"2026-10-15","source":"s","deleted":false)";
  const std::string fields = R"("fields":{"period":"2026-09","tax_type":"VAT","amount_paid":"1.00"})";
  CHECK_THROWS_WITH_AS(decode_batch(head + R"("last_seq":2,"changes":[]})", 10), "batch: \"last_seq\" is named twice", wire_error);
  CHECK_THROWS_WITH_AS(decode_batch(head + R"("changes":[{)" + change + "," + fields + R"(},{)" + change + R"(,"seq":2,)" + fields + "}]}", 10),
                       "change 1: \"seq\" is named twice", wire_error);
  CHECK_THROWS_WITH_AS(decode_batch(head + R"("changes":[],"revocations":[{"serial":"0a","serial":"0b","node_id":"n","reason":"r","by":"p","at_ms":1}]})", 10),
                       "revocation 0: \"serial\" is named twice", wire_error);
  // Unknown members may repeat (a later version's, not read here), and so
  // may keys inside a value no one reads.
  CHECK(decode_batch(head + R"("x":1,"x":2,"y":{"k":1,"k":2},"changes":[]})", 10).changes.empty());
  auto twice = decode_batch(head + R"("changes":[{)" + change + R"(,"fields":{"period":"2026-09","tax_type":"VAT","amount_paid":"1.00","period":"2026-10"}}]})", 10);
  REQUIRE(twice.changes.size() == 1);
  CHECK(twice.changes[0].schema_problem == "period: given twice");
  CHECK(twice.changes[0].rec.fields_json == R"({"period":"2026-09","tax_type":"VAT","amount_paid":"1.00","period":"2026-10"})");
}

TEST_CASE("wire decode: a change with more than 64 fields is its own problem, and odd field values are kept as sent") {
  const std::string head = R"({"node":"a","instance":"0123456789abcdef0123456789abcdef","last_seq":1,"changes":[{"seq":1,"category":"tax","subject":"91350200776049653A","record_id":"r","origin":"a","version":1,"event_date":"2026-10-15","source":"s","deleted":false,"fields":{"period":"2026-09","tax_type":"VAT","amount_paid":"1.00")";
  std::string many = head;
  for (int i = 0; i < 70; ++i) many += ",\"f" + std::to_string(i) + "\":\"v\"";
  auto d = decode_batch(many + "}}]}", 10);
  REQUIRE(d.changes.size() == 1);
  CHECK(d.changes[0].schema_problem == "more than 64 fields");
  CHECK(d.changes[0].rec.fields_json.rfind(R"({"period":"2026-09")", 0) == 0);
  // An object as a field's value is refused and written back as it came.
  auto nested = decode_batch(head + R"(,"n":{"a":[1,2.5,"x\"y",null,{"b":false}],"c":{}}}}]})", 10);
  CHECK(nested.changes.at(0).schema_problem == "field 'n' has an unsupported type");
  CHECK(nested.changes[0].rec.fields_json ==
        R"({"period":"2026-09","tax_type":"VAT","amount_paid":"1.00","n":{"a":[1,2.5E0,"x\"y",null,{"b":false}],"c":{}}})");
}
