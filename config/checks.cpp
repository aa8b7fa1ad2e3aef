// The checks config.hpp shares with the CLI (node ids, roles, divisions,
// versions): plain text rules, no toml++.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "config/echo.hpp"

namespace config {

std::string check_node_id(std::string_view id) {
  constexpr std::string_view expected = "expected 1..64 characters of a-z 0-9 . _ - starting with a letter or digit";
  if (id.empty()) return "must not be empty; " + std::string(expected);
  if (id.size() > 64) return "is " + std::to_string(id.size()) + " characters long; " + std::string(expected);
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok)
      return echo(id) + " has " + echo(std::string_view(&id[i], 1)) + " at position " + std::to_string(i + 1) + "; " +
             std::string(expected);
  }
  if (id.front() == '.' || id.front() == '_' || id.front() == '-')
    return echo(id) + " starts with " + echo(id.substr(0, 1)) + "; " + std::string(expected);
  return "";
}

std::string check_role(std::string_view role) {
  if (role == "local" || role == "provincial" || role == "national") return "";
  return "expected one of local, provincial, national; found " + echo(role);
}

std::string check_division(std::string_view code) {
  bool digits = code.size() == 6 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) return "expected a 6-digit administrative division code (e.g. \"320100\"), found " + echo(code);
  if (code == "000000") return "\"000000\" is not a division; expected a 6-digit code such as \"320100\"";
  return "";
}

namespace {

// The numeric parts of "1.2.3", or nothing when it is not of that shape.
std::optional<std::array<std::uint64_t, 3>> version_parts(std::string_view v) {
  std::array<std::uint64_t, 3> out{};
  for (std::size_t i = 0; i < 3; ++i) {
    auto dot = i < 2 ? v.find('.') : v.size();
    if (dot == std::string_view::npos || dot == 0 || dot > 9) return std::nullopt;
    for (char c : v.substr(0, dot))
      if (c < '0' || c > '9') return std::nullopt;
    out[i] = std::stoull(std::string(v.substr(0, dot)));
    v = i < 2 ? v.substr(dot + 1) : std::string_view{};
  }
  return out;
}

}  // namespace

std::string check_version(std::string_view v) {
  return version_parts(v) ? "" : "expected a version MAJOR.MINOR.PATCH (e.g. \"0.1.0\"), found " + echo(v);
}

int compare_versions(std::string_view a, std::string_view b) {
  auto x = version_parts(a), y = version_parts(b);
  if (!x || !y) return x ? 1 : (y ? -1 : 0);  // an unreadable version is the oldest
  return *x < *y ? -1 : (*x > *y ? 1 : 0);
}

}  // namespace config
