#include <doctest/doctest.h>

#include "store/model/validate.hpp"

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
    CHECK(e->reason.find("UTF-8") != std::string::npos);
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
