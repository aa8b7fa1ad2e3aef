#include <doctest/doctest.h>

#include "store/model/validate.hpp"

#include <cstdio>
#include <random>

using namespace store::model;

namespace {

raw_value s(std::string_view t) { return {raw_value::kind::string, t}; }

struct fixture {
  const category_def& tax = *category_registry::builtin().find("tax");
  uscc_policy codes;
  std::string out;
  raw_row row{"91350200776049653A", "2026-09-VAT", "2026-10-15", "tax bureau", {}};

  std::optional<row_error> run(std::vector<std::pair<std::string_view, raw_value>> f) {
    row.fields = std::move(f);
    return validate_row(tax, codes, row, out);
  }
};

}  // namespace

TEST_CASE("validate: builtin categories match the contract") {
  auto& reg = category_registry::builtin();
  CHECK(reg.all().size() == 8);
  for (auto* name : {"tax", "environment", "real_estate", "admin_enforcement", "utility_payment",
                     "rnd", "registration", "loan"})
    CHECK(reg.find(name) != nullptr);
  auto* tax = reg.find("tax");
  CHECK(tax->find("amount_paid")->klass == sensitivity::commercial_secret);
  CHECK(tax->find("arrears")->klass == sensitivity::commercial_secret);
  CHECK(tax->find("period")->required);
  CHECK_FALSE(tax->find("arrears")->required);
  auto* reg_cat = reg.find("registration");
  CHECK(reg_cat->find("legal_rep_id")->klass == sensitivity::personal);
  CHECK(reg_cat->find("phone")->klass == sensitivity::personal);
  CHECK(reg_cat->find("name")->klass == sensitivity::public_);
}

TEST_CASE("validate: a good tax row gives canonical JSON in schema order") {
  fixture f;
  auto e = f.run({{"credit_rating", s("A")}, {"amount_paid", s("12000.00")},
                  {"tax_type", s("VAT")}, {"period", s("2026-09")}, {"arrears", s("")}});
  REQUIRE_FALSE(e);
  CHECK(f.out == R"({"period":"2026-09","tax_type":"VAT","amount_paid":"12000.00","credit_rating":"A"})");
}

TEST_CASE("validate: refusals name the field and the reason") {
  fixture f;
  auto good = [] {
    return std::vector<std::pair<std::string_view, raw_value>>{
        {"period", s("2026-09")}, {"tax_type", s("VAT")}, {"amount_paid", s("1.5")}};
  };
  SUBCASE("missing required field") {
    auto e = f.run({{"period", s("2026-09")}, {"tax_type", s("VAT")}});
    REQUIRE(e);
    CHECK(e->field == "amount_paid");
    CHECK(e->reason.find("required") != std::string::npos);
  }
  SUBCASE("non-numeric amount") {
    auto v = good();
    v[2].second = s("12,000");
    auto e = f.run(v);
    REQUIRE(e);
    CHECK(e->field == "amount_paid");
    CHECK(e->reason.find("12,000") != std::string::npos);
  }
  SUBCASE("enum out of range") {
    auto v = good();
    v.push_back({"credit_rating", s("E")});
    auto e = f.run(v);
    REQUIRE(e);
    CHECK(e->field == "credit_rating");
    CHECK(e->reason.find("A B M C D") != std::string::npos);
  }
  SUBCASE("bad period") {
    auto v = good();
    v[0].second = s("2026-13");
    auto e = f.run(v);
    REQUIRE(e);
    CHECK(e->field == "period");
    CHECK(e->reason.find("month 13") != std::string::npos);
  }
  SUBCASE("unknown field") {
    auto v = good();
    v.push_back({"colour", s("red")});
    auto e = f.run(v);
    REQUIRE(e);
    CHECK(e->field == "colour");
    CHECK_MESSAGE(e->reason == "not a field of category 'tax' (its fields: period, tax_type, amount_paid, arrears, credit_rating)",
                  e->reason);
  }
  SUBCASE("bad event date") {
    f.row.event_date = "2026-02-30";
    auto e = f.run(good());
    REQUIRE(e);
    CHECK(e->field == "event_date");
    CHECK(e->reason.find("day 30") != std::string::npos);
  }
  SUBCASE("bad subject") {
    f.row.subject = "91350200776049653B";
    auto e = f.run(good());
    REQUIRE(e);
    CHECK(e->field == "subject");
  }
  SUBCASE("invalid UTF-8 in text") {
    auto v = good();
    v[1].second = s("V\xff" "AT");
    auto e = f.run(v);
    REQUIRE(e);
    CHECK(e->field == "tax_type");
    CHECK(e->reason.find("invalid UTF-8 at byte 2") != std::string::npos);
    CHECK(e->reason.find("iconv -f GB18030 -t UTF-8") != std::string::npos);  // and what to do
  }
  SUBCASE("JSON number where a string is expected") {
    auto v = good();
    v[1].second = {raw_value::kind::number, "7"};
    auto e = f.run(v);
    REQUIRE(e);
    CHECK(e->field == "tax_type");
  }
}

TEST_CASE("validate: utf8, date, decimal building blocks") {
  CHECK(check_utf8("纳税 ok") == "");
  CHECK(check_utf8("\xc0\xaf") != "");          // overlong
  CHECK(check_utf8("\xed\xa0\x80") != "");      // surrogate
  CHECK(check_utf8("\xe4\xb8") != "");          // truncated
  CHECK(check_date("2024-02-29") == "");
  CHECK(check_date("2023-02-29") != "");
  CHECK(check_date("2024-2-29") != "");
  CHECK(check_decimal("-0.5") == "");
  CHECK(check_decimal("1e5") != "");
  CHECK(check_decimal("1.23456") != "");
  CHECK(check_decimal("") != "");
}

TEST_CASE("validate: booleans and integers are canonical JSON") {
  auto& loan = *category_registry::builtin().find("loan");
  uscc_policy codes;
  std::string out;
  raw_row row{"91350200776049653A", "L1", "2026-10-01", "bank-a", {}};
  row.fields = {{"bank", s("bank-a")}, {"amount", s("500000")}, {"credit_loan", s("1")},
                {"first_loan", {raw_value::kind::boolean, "false"}}, {"granted_on", s("2026-10-01")}};
  REQUIRE_FALSE(validate_row(loan, codes, row, out));
  CHECK(out == R"({"bank":"bank-a","amount":"500000","credit_loan":true,"first_loan":false,"granted_on":"2026-10-01"})");
  row.fields[2].second = s("yes");
  auto e = validate_row(loan, codes, row, out);
  REQUIRE(e);
  CHECK(e->field == "credit_loan");
}

// An integer is stored as the JSON number written: "007" would have made
// the record (and every sync batch and API answer carrying it) unreadable
// JSON, and stopped the node's pushes up for good.
TEST_CASE("validate: an integer field takes what JSON reads as a number, no leading zeros, and stores valid JSON") {
  auto& utility = *category_registry::builtin().find("utility_payment");
  uscc_policy codes;
  std::string out;
  raw_row row{"91350200776049653A", "w-1", "2026-01-31", "water company", {}};
  auto with = [&](std::string_view days) {
    row.fields = {{"utility", s("water")}, {"period", s("2026-01")}, {"amount_due", s("1.00")},
                  {"amount_paid", s("1.00")}, {"days_overdue", s(days)}};
    return validate_row(utility, codes, row, out);
  };
  for (auto [bad, hint] : {std::pair{"007", "write 7"}, {"00", "write 0"}, {"-01", "write -1"}, {"0000000", "write 0"}}) {
    auto e = with(bad);
    REQUIRE_MESSAGE(e, bad);
    CHECK(e->field == "days_overdue");
    CHECK_MESSAGE(e->reason.find("without leading zeros") != std::string::npos, e->reason);
    CHECK_MESSAGE(e->reason.find(hint) != std::string::npos, e->reason);
  }
  auto long_one = with("1234567890123456789");
  REQUIRE(long_one);
  CHECK(long_one->reason.find("at most 18 digits") != std::string::npos);
  for (auto good : {"0", "7", "-3", "120", "-0"}) {
    REQUIRE_FALSE_MESSAGE(with(good), good);
    CHECK(out.find(std::string("\"days_overdue\":") + good + "}") != std::string::npos);
  }
}

TEST_CASE("validate: printable keeps valid text and replaces each invalid byte with U+FFFD") {
  CHECK(printable("") == "");
  CHECK(printable("GET /api/v1?x=1") == "GET /api/v1?x=1");
  CHECK(printable("某某科技 ok") == "某某科技 ok");
  CHECK(printable("a\xff" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(printable("\xff") == "\xEF\xBF\xBD");
  CHECK(printable("\xc0\xaf" "x") == "\xEF\xBF\xBD\xEF\xBF\xBD" "x");  // overlong: both bytes
  CHECK(printable("纳\xe4\xb8") == "纳\xEF\xBF\xBD\xEF\xBF\xBD");      // truncated at the end
  CHECK(printable("\x80税") == "\xEF\xBF\xBD税");                     // a stray continuation byte
}

TEST_CASE("validate: printable_prefix bounds the printable text, never inside a character") {
  CHECK(printable_prefix("abc", 3) == "abc");
  CHECK(printable_prefix("abcd", 3) == "abc");
  CHECK(printable_prefix("a税", 3) == "a");   // 税 is 3 bytes: it does not fit whole
  CHECK(printable_prefix("a税", 4) == "a税");
  CHECK(printable_prefix("\xff\xff", 4) == "\xEF\xBF\xBD");  // each invalid byte is 3 bytes after
  CHECK(printable_prefix("", 0) == "");
  // What the audit log relied on: far more invalid bytes than the bound.
  auto out = printable_prefix(std::string(1500, '\xff'), 2000);
  CHECK(out.size() == 1998);
  CHECK(check_utf8(out).empty());
  for (std::size_t n = 0; n < 40; ++n) {  // every cut of mixed text is valid UTF-8 and a prefix
    std::string mixed = "纳税\xff a\xe4\xb8 信用\xf0\x9f\x98\x80";
    auto p = printable_prefix(mixed, n);
    CHECK(p.size() <= n);
    CHECK(check_utf8(p).empty());
    CHECK(printable(mixed).compare(0, p.size(), p) == 0);
  }
}

namespace {

// Byte-at-a-time references (the code before the eight-byte fast paths):
// the fast paths must agree with them on every input, errors included.
std::string reference_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  auto cont = [&](std::size_t k) { return k < n && (p[k] & 0xC0) == 0x80; };
  for (std::size_t i = 0; i < n;) {
    unsigned c = p[i];
    std::size_t len = 1;
    bool ok = true;
    if (c >= 0x80 && c < 0xE0) len = 2, ok = c >= 0xC2 && cont(i + 1);
    else if (c >= 0xE0 && c < 0xF0)
      len = 3, ok = cont(i + 1) && cont(i + 2) && !(c == 0xE0 && p[i + 1] < 0xA0) && !(c == 0xED && p[i + 1] > 0x9F);
    else if (c >= 0xF0)
      len = 4, ok = c <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3) && !(c == 0xF0 && p[i + 1] < 0x90) &&
                    !(c == 0xF4 && p[i + 1] > 0x8F);
    if (!ok) return "invalid UTF-8 at byte " + std::to_string(i + 1);
    i += len;
  }
  return {};
}

std::string reference_json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') (out += '\\') += static_cast<char>(c);
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

}  // namespace

TEST_CASE("validate: the eight-byte fast paths of check_utf8 and append_json_string agree with byte-at-a-time") {
  // Pieces that sit on and across the eight-byte boundaries: ASCII, Chinese,
  // 2- and 4-byte characters, the E0/ED/F0/F4 edge cases, stray and
  // truncated bytes, control bytes, quotes and backslashes.
  const std::vector<std::string> pieces = {
      "a", "abcdefg", "0123456789", "纳", "税", "〔", "é", "𝄞", "\xe0\xa0\x80", "\xe0\x9f\xbf", "\xed\x9f\xbf",
      "\xed\xa0\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80",
      "\xf5\x80\x80\x80", "\xc1\xbf", "\xc2\x80", "\x80", "\xbf", "\xe4\xb8", "\xe4", "\xf0\x9f\x98", "\xff", "\"",
      "\\", "\n", "\t", std::string(1, '\0'), "\x1f", "\x7f", " "};
  std::mt19937 rng(20261128);
  std::size_t invalid = 0, escaped = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    auto count = rng() % 12;
    for (unsigned k = 0; k < count; ++k) s += pieces[rng() % pieces.size()];
    auto want = reference_utf8(s);
    REQUIRE(check_utf8(s) == want);
    invalid += !want.empty();
    std::string got = "x";  // appends after what is there
    append_json_string(got, s);
    REQUIRE(got == "x" + reference_json_string(s));
    escaped += got.size() != s.size() + 3;
  }
  // Both outcomes were exercised, not just one.
  CHECK(invalid > 1000);
  CHECK(invalid < 19000);
  CHECK(escaped > 1000);
}

TEST_CASE("validate: a row whose input was checked as UTF-8 whole skips only that check, never the control-byte one") {
  const auto& cat = *category_registry::builtin().find("admin_enforcement");
  auto row_with = [](std::string_view source, std::string_view measure, bool checked) {
    raw_row r{"91350200776049653A", "r-1", "2026-10-15", source, {}, checked};
    r.fields = {{"measure", {raw_value::kind::string, measure}},
                {"legal_basis", {raw_value::kind::string, "《行政强制法》第二十二条"}},
                {"authority", {raw_value::kind::string, "南京市市场监督管理局"}},
                {"status", {raw_value::kind::string, "执行中"}}};
    return r;
  };
  std::string out;
  CHECK_FALSE(validate_row(cat, {}, row_with("市场监管局", "扣押财物", true), out));
  CHECK(out.find("扣押财物") != std::string::npos);
  // Unchecked input: a bad byte is still found, in the field that holds it.
  auto bad = validate_row(cat, {}, row_with("市场监管局", "扣押\xff财物", false), out);
  REQUIRE(bad);
  CHECK(bad->field == "measure");
  CHECK(bad->reason.find("invalid UTF-8") != std::string::npos);
  // A control byte is refused either way, eight-byte scan or not, wherever it sits.
  for (std::size_t at : {0, 3, 7, 8, 15, 16}) {
    std::string measure = "扣押财物、冻结存款";
    measure.insert(at, 1, '\x01');
    for (bool checked : {false, true}) {
      auto e = validate_row(cat, {}, row_with("市场监管局", measure, checked), out);
      REQUIRE(e);
      CHECK(e->field == "measure");
      CHECK(e->reason.find("control character (byte 0x01)") != std::string::npos);
    }
  }
  auto del = validate_row(cat, {}, row_with("市场\x7f监管局", "扣押财物", true), out);
  REQUIRE(del);
  CHECK(del->field == "source");
}
