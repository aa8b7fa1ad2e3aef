// One pass over an API body before it is parsed for use: json::parse takes
// a key named twice in one object silently (the last one wins), and says
// only "syntax error" without where. A consent whose `personal_data` is
// both false and true must be refused, not read one way and stored another.
#include <boost/json/basic_parser_impl.hpp>

#include <string>
#include <unordered_set>
#include <vector>

#include "node/api/strict_json.hpp"
#include "store/model/validate.hpp"

namespace node::api {
namespace {

using boost::json::error_code;
using boost::json::string_view;

// Collects each object's keys (unescaped by the parser) and stops at the
// first one named twice. A set per object: a 1 MiB body of 90,000 keys
// compared pairwise took 25 s of CPU.
struct key_checker {
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  std::vector<std::unordered_set<std::string>> open;  // the keys of each object being read, innermost last
  std::string key, duplicate;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t, error_code&) { return true; }
  bool on_object_begin(error_code&) { return open.emplace_back(), true; }
  bool on_object_end(std::size_t, error_code&) { return open.pop_back(), true; }
  bool on_string_part(string_view, std::size_t, error_code&) { return true; }
  bool on_string(string_view, std::size_t, error_code&) { return true; }
  bool on_key_part(string_view s, std::size_t, error_code&) { return key.append(s.data(), s.size()), true; }
  bool on_key(string_view s, std::size_t, error_code& ec) {
    key.append(s.data(), s.size());
    if (!open.back().insert(key).second) {
      duplicate = key;
      ec = boost::json::error::syntax;  // stops the parse here
      return false;
    }
    key.clear();
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, string_view, error_code&) { return true; }
  bool on_uint64(std::uint64_t, string_view, error_code&) { return true; }
  bool on_double(double, string_view, error_code&) { return true; }
  bool on_bool(bool, error_code&) { return true; }
  bool on_null(error_code&) { return true; }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace

std::string strict_json_problem(std::string_view text) {
  boost::json::basic_parser<key_checker> p(boost::json::parse_options{});
  error_code ec;
  auto used = p.write_some(false, text.data(), text.size(), ec);
  if (!p.handler().duplicate.empty())
    return "the key \"" + store::model::printable(p.handler().duplicate.substr(0, 64)) + "\" is named twice in one object";
  if (ec) return ec.message() + " at byte " + std::to_string(used + 1);
  if (used < text.size()) return "text after the JSON value at byte " + std::to_string(used + 1);
  return {};
}

}  // namespace node::api
