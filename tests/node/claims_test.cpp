// Verification claims are judged by the field's type: exact text, exact
// decimals, ordered only where order means something.
#include <doctest/doctest.h>

#include "node/api/claims.hpp"

namespace {

const store::model::field_def& field(const char* cat, const char* name) {
  const auto* f = store::model::category_registry::builtin().find(cat)->find(name);
  REQUIRE(f);
  return *f;
}

bool holds(const store::model::field_def& f, const char* held, const char* op, const char* value) {
  REQUIRE(node::api::check_claim(f, op, value).empty());
  return node::api::claim_holds(f, held, op, value);
}

}  // namespace

TEST_CASE("claims: text is compared byte for byte, never as a number") {
  const auto& id = field("registration", "legal_rep_id");
  CHECK(holds(id, "320102198001011234", "eq", "320102198001011234"));
  // Through a double these all equalled the stored number.
  for (const char* near : {"320102198001011235", "320102198001011290", "0320102198001011234", "3.20102198001011234e17"})
    CHECK_FALSE(holds(id, "320102198001011234", "eq", near));
  const auto& phone = field("registration", "phone");
  CHECK_FALSE(holds(phone, "13812345678", "eq", "013812345678"));
  CHECK_FALSE(holds(phone, "13812345678", "eq", "1.3812345678e10"));
}

TEST_CASE("claims: ge and le only for numbers and dates, so a text field cannot be bisected") {
  for (const char* op : {"ge", "le"}) {
    auto e = node::api::check_claim(field("registration", "phone"), op, "138");
    CHECK(e.find("compares numbers and dates; field phone is text: use eq") != std::string::npos);
    CHECK_FALSE(node::api::check_claim(field("tax", "tax_type"), op, "V").empty());
  }
  CHECK(node::api::check_claim(field("tax", "amount_paid"), "ge", "100").empty());
  CHECK(node::api::check_claim(field("tax", "period"), "le", "2026-09").empty());
  CHECK(node::api::check_claim(field("tax", "amount_paid"), "gt", "100").find("must be eq, ge or le") != std::string::npos);
}

TEST_CASE("claims: decimals are exact, in any spelling of the same amount") {
  const auto& amount = field("tax", "amount_paid");
  CHECK(holds(amount, "12000.00", "eq", "12000"));
  CHECK(holds(amount, "12000.00", "eq", "12000.0000"));
  CHECK_FALSE(holds(amount, "12000.00", "eq", "12000.0001"));
  CHECK(holds(amount, "12000.00", "ge", "11999.9999"));
  CHECK_FALSE(holds(amount, "12000.00", "ge", "12000.0001"));
  CHECK(holds(amount, "-0.50", "le", "0"));
  CHECK(holds(amount, "999999999999999.9999", "ge", "999999999999999.9998"));
  // What a double cannot tell apart, or is no decimal at all, is refused.
  for (const char* bad : {"12000.0000000000001", "1e4", "nan", "inf", "12,000", "", "+5"})
    CHECK_MESSAGE(node::api::check_claim(amount, "eq", bad).find("value: expected a decimal number") != std::string::npos, bad);
}

TEST_CASE("claims: dates and periods are checked and ordered, booleans are true or false") {
  const auto& period = field("tax", "period");
  CHECK(holds(period, "2026-09", "ge", "2026-01"));
  CHECK_FALSE(holds(period, "2026-09", "le", "2026-08"));
  CHECK(node::api::check_claim(period, "eq", "2026-13").find("month 13 does not exist") != std::string::npos);
  const auto* flag = store::model::category_registry::builtin().find("loan")->find("credit_loan");
  REQUIRE(flag);
  CHECK(node::api::check_claim(*flag, "eq", "yes").find("expected true or false") != std::string::npos);
  CHECK(holds(*flag, "true", "eq", "true"));
  CHECK_FALSE(holds(*flag, "false", "eq", "true"));
}

TEST_CASE("claims: whole numbers take the 18 digits an import takes, and compare as numbers") {
  const store::model::field_def days{"days_overdue", store::model::field_type::integer, false, store::model::sensitivity::public_, {}};
  CHECK(holds(days, "1000000000000000", "ge", "999999999999999"));
  CHECK_FALSE(holds(days, "1000000000000000", "le", "999999999999999"));  // as text, "1…" < "9…" said match
  CHECK(holds(days, "123456789012345678", "eq", "123456789012345678"));
  CHECK(node::api::check_claim(days, "eq", "1.5").find("value: expected a whole number") != std::string::npos);
}
