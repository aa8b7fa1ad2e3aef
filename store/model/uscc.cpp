#include "store/model/uscc.hpp"

#include <array>

namespace store::model {
namespace {

constexpr std::string_view alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::array<int, 17> full_weights{1, 3, 9, 27, 19, 26, 16, 17, 20,
                                           29, 25, 13, 8, 24, 10, 30, 28};
constexpr std::array<int, 8> org_weights{3, 7, 9, 10, 5, 8, 4, 2};

// A table, not alphabet.find: every record, change and API path checks a
// code, and the search was a tenth of decoding a sync batch (callgrind).
constexpr std::array<signed char, 256> alphabet_values = [] {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < alphabet.size(); ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
  return t;
}();

int alphabet_value(char c) { return alphabet_values[static_cast<unsigned char>(c)]; }

// GB 11714 values: digits 0-9, letters A-Z 10-35.
int org_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return -1;
}

std::string describe_char(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
  return "byte 0x" + std::string(1, "0123456789abcdef"[(c >> 4) & 0xf]) +
         std::string(1, "0123456789abcdef"[c & 0xf]);
}

}  // namespace

char uscc_org_check(std::string_view p) {
  int sum = 0;
  for (size_t i = 0; i < 8 && i < p.size(); ++i) sum += org_value(p[i]) * org_weights[i];
  int c = 11 - sum % 11;
  if (c == 10) return 'X';
  if (c == 11) return '0';
  return static_cast<char>('0' + c);
}

char uscc_full_check(std::string_view first17) {
  int sum = 0;
  for (size_t i = 0; i < 17 && i < first17.size(); ++i)
    sum += alphabet_value(first17[i]) * full_weights[i];
  return alphabet[(31 - sum % 31) % 31];
}

std::string uscc_error(std::string_view code) {
  if (code.size() != 18)
    return "unified social credit code must have 18 characters, got " +
           std::to_string(code.size());
  for (size_t i = 0; i < code.size(); ++i) {
    if (alphabet_value(code[i]) < 0)
      return "character " + std::to_string(i + 1) + " is " + describe_char(code[i]) +
             "; allowed are 0-9 and A-Z except I, O, S, V, Z";
  }
  for (size_t i = 2; i < 8; ++i)
    if (code[i] < '0' || code[i] > '9')
      return "characters 3-8 must be a 6-digit division code";
  // Position 17 may legitimately be 'X' (GB 11714 uses X for 10).
  char org = uscc_org_check(code.substr(8, 8));
  if (code[16] != org)
    return std::string("organization code check character (position 17) is '") + code[16] +
           "', expected '" + org + "'";
  char full = uscc_full_check(code.substr(0, 17));
  if (code[17] != full)
    return std::string("check character (position 18) is '") + code[17] + "', expected '" +
           full + "'";
  return {};
}

uscc_policy::uscc_policy(const std::vector<std::string>& legacy_codes)
    : legacy_(legacy_codes.begin(), legacy_codes.end()) {}

std::string uscc_policy::check(std::string_view code) const {
  auto err = uscc_error(code);
  if (err.empty() || legacy_.empty()) return err;
  if (legacy_.count(std::string(code))) return {};
  return err;
}

}  // namespace store::model
