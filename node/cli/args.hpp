// A small, strict command-line parser: an unknown option is a usage error
// (exit 2), never ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace node::cli {

class usage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct spec {
  std::set<std::string> flags;    // e.g. "--json"
  std::set<std::string> options;  // take a value, e.g. "--category"
  std::size_t max_positional = 0;
};

struct args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  std::set<std::string> flags;

  bool has(const std::string& flag) const { return flags.count(flag) > 0; }
  std::optional<std::string> get(const std::string& opt) const;
  std::string require(const std::string& opt) const;  // usage_error if absent
  std::string config_path() const;                     // -c, or the default
  // A whole number from `least` to `most` (`fallback` when absent); anything
  // else (-1, 10x, 1e3, past 2^64) is a usage error naming the option.
  std::uint64_t number(const std::string& opt, std::uint64_t fallback, std::uint64_t least, std::uint64_t most) const;
};

// `text` as a whole number from `least` to `most`, or a usage error naming `what`.
std::uint64_t whole_number(const std::string& what, const std::string& text, std::uint64_t least, std::uint64_t most);

// Parses argv[first..argc). "-c FILE" and "--json" are always accepted.
args parse(int argc, char** argv, int first, const spec& s);

}  // namespace node::cli
