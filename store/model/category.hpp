// Record categories and their versioned schemas (PRODUCT.md §3, §4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace store::model {

enum class field_type : std::uint8_t {
  text,      // free text, at most 512 bytes
  decimal,   // yuan etc.: -?digits[.digits], kept as its text, never a double
  integer,   // whole number
  boolean,   // true / false (CSV also 1 / 0)
  date,      // YYYY-MM-DD
  period,    // YYYY-MM
  division,  // 6-digit administrative division code
  enumeration,
};

// Who may see a field unmasked (DOMAIN.md, masking).
enum class sensitivity : std::uint8_t { public_, commercial_secret, personal };

struct field_def {
  std::string name;
  field_type type = field_type::text;
  bool required = false;
  sensitivity klass = sensitivity::public_;
  std::vector<std::string> values;  // allowed values of an enumeration
};

struct category_def {
  std::string name;
  std::uint32_t schema_version = 1;
  std::vector<field_def> fields;

  const field_def* find(std::string_view field) const;
};

// The categories this node knows: the built-in ones (plus, later, those an
// operator adds in TOML).
class category_registry {
public:
  static const category_registry& builtin();

  const category_def* find(std::string_view name) const;
  const std::vector<category_def>& all() const { return categories_; }
  std::string names() const;  // "tax, environment, ..." for messages

  void add(category_def def);

private:
  std::vector<category_def> categories_;
};

std::string_view to_string(field_type t);
std::string_view to_string(sensitivity s);

}  // namespace store::model
