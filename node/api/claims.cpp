#include "node/api/claims.hpp"

#include <optional>

#include "store/model/validate.hpp"

namespace node::api {
namespace {

using store::model::field_type;

bool ordered(field_type t) {
  return t == field_type::decimal || t == field_type::integer || t == field_type::date || t == field_type::period;
}

// A decimal (or whole number) as ten-thousandths: check_decimal allows 15
// whole digits and 4 after the point, check_integer 18 whole digits; both
// fit 128 bits with room.
std::optional<__int128> scaled(std::string_view s) {
  if (!store::model::check_decimal(s).empty() && !store::model::check_integer(s).empty()) return std::nullopt;
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  __int128 v = 0;
  int frac = -1;  // digits after the point so far; -1 before it
  for (char c : s) {
    if (c == '.') {
      frac = 0;
      continue;
    }
    v = v * 10 + (c - '0');
    if (frac >= 0) ++frac;
  }
  for (int i = frac < 0 ? 0 : frac; i < 4; ++i) v *= 10;
  return negative ? -v : v;
}

std::string check_value(field_type t, std::string_view v) {
  switch (t) {
    case field_type::decimal: return store::model::check_decimal(v);
    case field_type::integer: return store::model::check_integer(v);
    case field_type::date: return store::model::check_date(v);
    case field_type::period: return store::model::check_period(v);
    case field_type::boolean: return v == "true" || v == "false" ? "" : "expected true or false";
    default: return {};
  }
}

int compare(field_type t, std::string_view held, std::string_view claimed) {
  if (t == field_type::decimal || t == field_type::integer) {
    auto a = scaled(held), b = scaled(claimed);
    if (a && b) return *a < *b ? -1 : (*a > *b ? 1 : 0);
  }
  return held < claimed ? -1 : (held > claimed ? 1 : 0);  // dates and periods order as text
}

}  // namespace

std::string check_claim(const store::model::field_def& f, std::string_view op, std::string_view value) {
  if (op != "eq" && op != "ge" && op != "le") return "op: must be eq, ge or le";
  if (op != "eq" && !ordered(f.type))
    return "op: " + std::string(op) + " compares numbers and dates; field " + f.name + " is " +
           std::string(store::model::to_string(f.type)) + ": use eq";
  if (auto e = check_value(f.type, value); !e.empty()) return "value: " + e + " (field " + f.name + " is " + std::string(store::model::to_string(f.type)) + ")";
  return {};
}

bool claim_holds(const store::model::field_def& f, std::string_view held, std::string_view op, std::string_view value) {
  int c = compare(f.type, held, value);
  return op == "eq" ? c == 0 : (op == "ge" ? c >= 0 : c <= 0);
}

}  // namespace node::api
