#include "store/model/validate.hpp"

#include <bit>
#include <cstdio>
#include <cstring>

namespace store::model {
namespace {

// Eight bytes at a time: sync batches and imports are mostly Chinese text
// and ASCII, and byte-at-a-time loops over them showed in profiles.
std::uint64_t load8(const unsigned char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
// Whether any byte of w is below n (n <= 128; bytes >= 0x80 never count).
constexpr std::uint64_t any_below(std::uint64_t w, unsigned n) { return (w - ones * n) & ~w & highs; }
constexpr std::uint64_t any_equal(std::uint64_t w, unsigned char b) { return any_below(w ^ (ones * b), 1); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  for (char c : s)
    if (!is_digit(c)) return false;
  return !s.empty();
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Free text may span lines (RFC 4180 quoted fields can); identifiers may not.
// Control bytes are looked for eight at a time (text checks are a large
// share of import and sync decoding time).
std::string check_text(std::string_view s, std::size_t max, bool multiline, bool utf8_checked) {
  if (s.size() > max) return "longer than " + std::to_string(max) + " bytes";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    if (i + 8 <= s.size()) {
      auto w = load8(p + i);
      if (!(any_below(w, 0x20) | any_equal(w, 0x7f))) {
        i += 8;
        continue;
      }
    }
    unsigned char c = p[i++];
    if (c >= 0x20 && c != 0x7f) [[likely]] continue;
    bool line_break = c == '\n' || c == '\r' || c == '\t';
    if (!(multiline && line_break) || c == 0x7f)
      return "contains a control character (byte 0x" + std::string(1, "0123456789abcdef"[c >> 4]) +
             std::string(1, "0123456789abcdef"[c & 15]) + ")";
  }
  if (utf8_checked) return {};
  auto bad = check_utf8(s);
  if (!bad.empty()) bad += " (the file is to be UTF-8: Excel's \"CSV UTF-8\", or iconv -f GB18030 -t UTF-8)";
  return bad;
}


std::string check_boolean(const raw_value& v, std::string& canon) {
  if (v.text == "true" || v.text == "1") return canon = "true", std::string();
  if (v.text == "false" || v.text == "0") return canon = "false", std::string();
  return "expected true or false, got '" + std::string(v.text) + "'";
}

// Checks one field value and appends its canonical JSON to `out`.
std::string check_field(const field_def& f, const raw_value& v, bool utf8_checked, std::string& out) {
  using k = raw_value::kind;
  if (v.k == k::other) return "expected a " + std::string(to_string(f.type)) + ", got an array or object";
  bool numeric = f.type == field_type::decimal || f.type == field_type::integer;
  if (v.k == k::number && !numeric) return "expected a string, got a number";
  if (v.k == k::boolean && f.type != field_type::boolean) return "expected a string, got a boolean";
  std::string err, canon;
  switch (f.type) {
    case field_type::text: err = check_text(v.text, max_text_bytes, true, utf8_checked); break;
    case field_type::decimal: err = check_decimal(v.text); break;
    case field_type::integer: err = check_integer(v.text); break;
    case field_type::boolean: err = check_boolean(v, canon); break;
    case field_type::date: err = check_date(v.text); break;
    case field_type::period: err = check_period(v.text); break;
    case field_type::division:
      if (v.text.size() != 6 || !all_digits(v.text)) err = "expected a 6-digit division code";
      break;
    case field_type::enumeration: {
      err = "expected one of";
      for (const auto& a : f.values) {
        if (a == v.text) { err.clear(); break; }
        err += " " + a;
      }
      if (!err.empty()) err += ", got '" + std::string(v.text.substr(0, 64)) + "'";
      break;
    }
  }
  if (!err.empty()) return err;
  if (f.type == field_type::boolean) out += canon;
  else if (f.type == field_type::integer) out.append(v.text);
  else append_json_string(out, v.text);  // decimals stay exact as text
  return {};
}

std::optional<row_error> check_common(const uscc_policy& codes, const raw_row& row) {
  if (row.subject.empty()) return row_error{"subject", "missing"};
  if (auto e = codes.check(row.subject); !e.empty()) return row_error{"subject", e};
  if (row.record_id.empty()) return row_error{"record_id", "missing"};
  if (auto e = check_text(row.record_id, max_record_id_bytes, false, row.utf8_checked); !e.empty())
    return row_error{"record_id", e};
  if (row.event_date.empty()) return row_error{"event_date", "missing"};
  if (auto e = check_date(row.event_date); !e.empty()) return row_error{"event_date", e};
  if (row.source.empty()) return row_error{"source", "missing"};
  if (auto e = check_text(row.source, max_text_bytes, false, row.utf8_checked); !e.empty())
    return row_error{"source", e};
  return std::nullopt;
}

}  // namespace

namespace {

// Whether the first six bytes of w (little-endian) are two 3-byte
// characters with lead bytes E1..EC or EE..EF: E0 and ED limit the byte
// after them (overlongs, surrogates) and take the general path.
static_assert(std::endian::native == std::endian::little, "two_common_chinese reads bytes little-endian");
constexpr bool two_common_chinese(std::uint64_t w) {
  constexpr std::uint64_t shape_mask = 0x0000C0C0F0C0C0F0ULL, shape = 0x00008080E08080E0ULL;
  if ((w & shape_mask) != shape) return false;
  unsigned first = w & 0x0F, second = (w >> 24) & 0x0F;
  return first != 0 && first != 0xD && second != 0 && second != 0xD;
}

// The bytes of a sequence starting at p[i] if it is valid UTF-8 there, else 0.
std::size_t utf8_sequence(const unsigned char* p, std::size_t i, std::size_t n) {
  auto cont = [&](std::size_t k) { return k < n && (p[k] & 0xC0) == 0x80; };
  unsigned c = p[i];
  if (c < 0xC2) return 0;  // a stray continuation byte, or an overlong 2-byte form
  if (c < 0xE0) return cont(i + 1) ? 2 : 0;
  if (c < 0xF0)  // no overlongs (E0 A0..) and no surrogates (ED ..9F)
    return cont(i + 1) && cont(i + 2) && !(c == 0xE0 && p[i + 1] < 0xA0) && !(c == 0xED && p[i + 1] > 0x9F) ? 3 : 0;
  return c <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3) && !(c == 0xF0 && p[i + 1] < 0x90) &&
                 !(c == 0xF4 && p[i + 1] > 0x8F)
             ? 4
             : 0;
}

}  // namespace

std::string check_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {  // then the rest of an ASCII run, eight bytes at a time
      ++i;
      while (i + 8 <= n && !(load8(p + i) & highs)) i += 8;
      continue;
    }
    // Most Chinese characters: a lead byte E1..EC or EE..EF (no range
    // limit on the next byte) and two continuation bytes; two at a time.
    if (i + 8 <= n && two_common_chinese(load8(p + i))) {
      i += 6;
      continue;
    }
    if (i + 2 < n && (c & 0xF0) == 0xE0 && c != 0xE0 && c != 0xED && (p[i + 1] & 0xC0) == 0x80 &&
        (p[i + 2] & 0xC0) == 0x80) {
      i += 3;
      continue;
    }
    std::size_t len = utf8_sequence(p, i, n);
    if (!len) return "invalid UTF-8 at byte " + std::to_string(i + 1);
    i += len;
  }
  return {};
}

std::string check_date(std::string_view s) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !all_digits(s.substr(0, 4)) ||
      !all_digits(s.substr(5, 2)) || !all_digits(s.substr(8, 2)))
    return "expected a date YYYY-MM-DD, got '" + std::string(s.substr(0, 32)) + "'";
  int y = to_int(s.substr(0, 4)), m = to_int(s.substr(5, 2)), d = to_int(s.substr(8, 2));
  if (y < 1900 || y > 2199) return "year " + std::to_string(y) + " is out of range 1900-2199";
  if (m < 1 || m > 12) return "month " + std::to_string(m) + " does not exist";
  int dm = days[m - 1] + (m == 2 && is_leap(y) ? 1 : 0);
  if (d < 1 || d > dm) return "day " + std::to_string(d) + " does not exist in " + std::string(s.substr(0, 7));
  return {};
}

std::string check_period(std::string_view s) {
  if (s.size() != 7 || s[4] != '-' || !all_digits(s.substr(0, 4)) || !all_digits(s.substr(5, 2)))
    return "expected a period YYYY-MM, got '" + std::string(s.substr(0, 32)) + "'";
  int y = to_int(s.substr(0, 4)), m = to_int(s.substr(5, 2));
  if (y < 1900 || y > 2199) return "year " + std::to_string(y) + " is out of range 1900-2199";
  if (m < 1 || m > 12) return "month " + std::to_string(m) + " does not exist";
  return {};
}

std::string check_decimal(std::string_view s) {
  std::string_view d = (!s.empty() && s[0] == '-') ? s.substr(1) : s;
  auto dot = d.find('.');
  std::string_view whole = d.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : d.substr(dot + 1);
  bool ok = all_digits(whole) && whole.size() <= 15 &&
            (dot == std::string_view::npos || (all_digits(frac) && frac.size() <= 4));
  if (!ok) return "expected a decimal number like 12000.50, got '" + std::string(s.substr(0, 32)) + "'";
  return {};
}

// Valid text is copied in spans, not appended character by character:
// audit entries pass five fields per API request through here.
std::string printable(std::string_view s) {
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0, run = 0;  // s[run, i) is valid and not yet copied
  while (i < s.size()) {
    if (p[i] < 0x80) [[likely]] {
      ++i;
      continue;
    }
    std::size_t len = p[i] < 0xE0 ? 2 : p[i] < 0xF0 ? 3 : 4;
    if (i + len <= s.size() && check_utf8(s.substr(i, len)).empty()) {
      i += len;
      continue;
    }
    if (run == 0) out.reserve(s.size() + 6);
    out.append(s.data() + run, i - run);
    out += "\xEF\xBF\xBD";  // U+FFFD for each byte that is not UTF-8
    run = ++i;
  }
  if (run == 0) return std::string(s);
  out.append(s.data() + run, s.size() - run);
  return out;
}

// The input is cut first, 3 bytes past the bound, so a long field costs
// no more than its bound: a character it splits starts at or past
// `max_bytes` and is dropped with the rest.
std::string printable_prefix(std::string_view s, std::size_t max_bytes) {
  auto out = printable(s.substr(0, max_bytes + 3));
  if (out.size() <= max_bytes) return out;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // a continuation byte
  out.resize(cut);
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t run = 0;  // bytes that need no escape are copied in spans
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size()) {  // eight bytes with no control byte, quote or backslash
      auto w = load8(p + i);
      if (!(any_below(w, 0x20) | any_equal(w, '"') | any_equal(w, '\\'))) {
        i += 8;
        continue;
      }
    }
    auto c = p[i++];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - 1 - run);
    run = i;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

namespace {

// The text with every short escape (\b \f \n \r \t) written as \u00XX.
std::string long_escapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char e = s[++i];
    const char* hex = e == 'b' ? "0008" : e == 'f' ? "000c" : e == 'n' ? "000a" : e == 'r' ? "000d" : e == 't' ? "0009" : nullptr;
    if (hex) (out += "\\u") += hex;
    else (out += '\\') += e;  // \\, \", \/ and \uXXXX (its digits follow as they are)
  }
  return out;
}

}  // namespace

bool same_json_text(std::string_view a, std::string_view b) {
  if (a == b) return true;
  if (a.find('\\') == std::string_view::npos && b.find('\\') == std::string_view::npos) return false;
  return long_escapes(a) == long_escapes(b);
}

std::optional<row_error> validate_row(const category_def& cat, const uscc_policy& codes,
                                      const raw_row& row, std::string& out) {
  if (auto e = check_common(codes, row)) return e;
  // One pass maps each given field to its schema slot: unknown and repeated
  // fields are caught here, and the output follows schema order below.
  constexpr std::size_t max_fields = 64;
  const raw_value* slot[max_fields] = {};
  if (cat.fields.size() > max_fields) return row_error{"", "category has too many fields"};
  std::size_t need = 2;  // the output's size without escapes: one allocation, not a doubling series
  for (const auto& [name, val] : row.fields) {
    need += name.size() + val.text.size() + 6;
    std::size_t j = 0;
    while (j < cat.fields.size() && cat.fields[j].name != name) ++j;
    if (j == cat.fields.size()) {
      std::string known;
      for (const auto& f : cat.fields) known += (known.empty() ? "" : ", ") + f.name;
      return row_error{std::string(name), "not a field of category '" + cat.name + "' (its fields: " + known + ")"};
    }
    if (slot[j]) return row_error{std::string(name), "given twice"};
    slot[j] = &val;
  }
  out.clear();
  out.reserve(need);
  out += '{';
  for (std::size_t j = 0; j < cat.fields.size(); ++j) {
    const auto& f = cat.fields[j];
    const raw_value* v = slot[j];
    bool absent = !v || v->k == raw_value::kind::null || (v->text.empty() && v->k == raw_value::kind::string);
    if (absent) {
      if (f.required) return row_error{f.name, "required field is missing or empty"};
      continue;
    }
    if (out.size() > 1) out += ',';
    append_json_string(out, f.name);
    out += ':';
    if (auto e = check_field(f, *v, row.utf8_checked, out); !e.empty()) return row_error{f.name, e};
  }
  out += '}';
  return std::nullopt;
}

// Stored as a JSON number, as written: so only what JSON reads as one (no
// leading zero: "007" would make the record, and every batch and answer
// carrying it, unreadable JSON).
std::string check_integer(std::string_view s) {
  std::string_view d = (!s.empty() && s[0] == '-') ? s.substr(1) : s;
  auto got = ", got '" + std::string(s.substr(0, 32)) + "'";
  if (d.empty() || d.find_first_not_of("0123456789") != std::string_view::npos) return "expected a whole number" + got;
  if (d.size() > 18) return "expected a whole number of at most 18 digits" + got;
  if (d.size() > 1 && d[0] == '0') {
    auto bare = d.substr(std::min(d.find_first_not_of('0'), d.size() - 1));
    return "expected a whole number without leading zeros" + got + ": write " + (s[0] == '-' ? "-" : "") + std::string(bare);
  }
  return {};
}

}  // namespace store::model
