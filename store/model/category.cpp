#include "store/model/category.hpp"

#include <stdexcept>

namespace store::model {
namespace {

using ft = field_type;
using sv = sensitivity;

field_def req(std::string name, ft type, sv klass = sv::public_) {
  return {std::move(name), type, true, klass, {}};
}
field_def opt(std::string name, ft type, sv klass = sv::public_) {
  return {std::move(name), type, false, klass, {}};
}
field_def one_of(std::string name, bool required, std::vector<std::string> values) {
  return {std::move(name), ft::enumeration, required, sv::public_, std::move(values)};
}

// The contract table of PRODUCT.md §4: amounts and arrears are commercial
// secrets, people's names / ids / phones personal, the rest public.
std::vector<category_def> builtin_categories() {
  return {
      {"tax", 1,
       {req("period", ft::period), req("tax_type", ft::text),
        req("amount_paid", ft::decimal, sv::commercial_secret),
        opt("arrears", ft::decimal, sv::commercial_secret),
        one_of("credit_rating", false, {"A", "B", "M", "C", "D"})}},
      {"environment", 1,
       {one_of("kind", true, {"permit", "penalty", "rating"}), req("issuer", ft::text),
        req("result", ft::text)}},
      {"real_estate", 1,
       {req("right_type", ft::text), req("area_m2", ft::decimal),
        req("location_division", ft::division), opt("mortgage_registered", ft::boolean)}},
      {"admin_enforcement", 1,
       {req("measure", ft::text), req("legal_basis", ft::text), req("authority", ft::text),
        req("status", ft::text)}},
      {"utility_payment", 1,
       {one_of("utility", true, {"water", "power", "gas"}), req("period", ft::period),
        req("amount_due", ft::decimal, sv::commercial_secret),
        req("amount_paid", ft::decimal, sv::commercial_secret),
        opt("days_overdue", ft::integer)}},
      {"rnd", 1,
       {one_of("kind", true, {"high_tech", "project", "patent"}), req("issuer", ft::text),
        opt("valid_until", ft::date)}},
      {"registration", 1,
       {req("name", ft::text), req("legal_rep_name", ft::text, sv::personal),
        req("legal_rep_id", ft::text, sv::personal), opt("phone", ft::text, sv::personal),
        req("division", ft::division)}},
      {"loan", 1,
       {req("bank", ft::text), req("amount", ft::decimal, sv::commercial_secret),
        req("credit_loan", ft::boolean), req("first_loan", ft::boolean),
        req("granted_on", ft::date)}},
  };
}

}  // namespace

const field_def* category_def::find(std::string_view field) const {
  for (const auto& f : fields)
    if (f.name == field) return &f;
  return nullptr;
}

const category_registry& category_registry::builtin() {
  static const category_registry r = [] {
    category_registry reg;
    for (auto& c : builtin_categories()) reg.add(std::move(c));
    return reg;
  }();
  return r;
}

const category_def* category_registry::find(std::string_view name) const {
  for (const auto& c : categories_)
    if (c.name == name) return &c;
  return nullptr;
}

std::string category_registry::names() const {
  std::string out;
  for (const auto& c : categories_) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

void category_registry::add(category_def def) {
  if (find(def.name)) throw std::invalid_argument("category '" + def.name + "' defined twice");
  categories_.push_back(std::move(def));
}

std::string_view to_string(field_type t) {
  switch (t) {
    case ft::text: return "text";
    case ft::decimal: return "decimal";
    case ft::integer: return "integer";
    case ft::boolean: return "boolean";
    case ft::date: return "date (YYYY-MM-DD)";
    case ft::period: return "period (YYYY-MM)";
    case ft::division: return "division code (6 digits)";
    case ft::enumeration: return "enumeration";
  }
  return "?";
}

std::string_view to_string(sensitivity s) {
  switch (s) {
    case sv::public_: return "public";
    case sv::commercial_secret: return "commercial_secret";
    case sv::personal: return "personal";
  }
  return "?";
}

}  // namespace store::model
