// Schema checks for one incoming row, shared by every way records arrive
// (CSV, JSON Lines, later the API and sync): same rules, same messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/model/category.hpp"
#include "store/model/uscc.hpp"

namespace store::model {

// A value as the input format delivered it. CSV gives only strings; JSON
// also numbers, booleans and null. `text` is the literal (a JSON number's
// own spelling), so decimals are never rounded through a double.
struct raw_value {
  enum class kind : std::uint8_t { string, number, boolean, null, other };
  kind k = kind::string;
  std::string_view text;
};

struct raw_row {
  std::string_view subject, record_id, event_date, source;
  std::vector<std::pair<std::string_view, raw_value>> fields;  // input order
  // Every byte of the input was already found valid UTF-8 (a sync batch is
  // checked whole, in one pass): text checks skip that part.
  bool utf8_checked = false;
};

// What is wrong with a row: the field (or column) and why.
struct row_error {
  std::string field;
  std::string reason;
};

constexpr std::size_t max_text_bytes = 512;
constexpr std::size_t max_record_id_bytes = 128;

// Validates `row` against `cat`; on success writes the canonical JSON object
// of its fields (schema order, absent optionals left out) to `fields_json`.
std::optional<row_error> validate_row(const category_def& cat, const uscc_policy& codes,
                                      const raw_row& row, std::string& fields_json);

// Building blocks, exposed for tests and other callers. Each returns an
// empty string when valid, else the reason.
std::string check_utf8(std::string_view s);
std::string check_date(std::string_view s);    // YYYY-MM-DD, a real day
std::string check_period(std::string_view s);  // YYYY-MM
std::string check_decimal(std::string_view s);
std::string check_integer(std::string_view s);  // -?digits, at most 18

// `s` with every byte that is not valid UTF-8 replaced by U+FFFD: for
// messages and quarantine entries that quote bad input (they must stay
// valid JSON and readable).
std::string printable(std::string_view s);
// printable(s) cut to at most `max_bytes`, never inside a character: what
// a bounded field stores is then exactly what was hashed or shown.
std::string printable_prefix(std::string_view s, std::size_t max_bytes);

// Appends `s` as a JSON string; `s` must be valid UTF-8 (see printable).
void append_json_string(std::string& out, std::string_view s);

// Two JSON texts that differ at most in how control characters are escaped
// ("\n" or "\u000a"): replicas stored by binaries before 0.1.0's schema
// check at decode kept the short forms; today's canonical form has \u00XX.
bool same_json_text(std::string_view a, std::string_view b);

}  // namespace store::model
