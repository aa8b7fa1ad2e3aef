#include "sync/digest.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <cstdio>

#include "store/model/validate.hpp"
#include "store/reader.hpp"
#include "sync/routing.hpp"
#include "sync/wire.hpp"

namespace replication {
namespace {

namespace json = boost::json;

}  // namespace

digest compute_digest(store::environment& env, const std::string& scope) {
  digest d;
  for (const auto& [cat, v] : store::reader(env).digest(division_prefix(scope))) {
    if (v.first == 0 && v.second == 0) continue;  // everything there was removed again
    d[cat] = {v.first, v.second};
  }
  return d;
}

std::string digest_json(const digest& d) {
  json::object cats;
  for (const auto& [name, c] : d) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(c.hash));
    cats[name] = json::object{{"count", c.count}, {"hash", hex}};
  }
  return json::serialize(json::object{{"categories", std::move(cats)}});
}

digest parse_digest_json(std::string_view body) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.get_object().contains("categories") || !v.at("categories").is_object())
    throw wire_error("digest: expected {\"categories\": {...}}");
  digest d;
  for (const auto& [name, c] : v.at("categories").get_object()) {
    // Every shape checked here, so a parent's odd answer is this wire_error
    // (the caller's), not a system_error or stoull's invalid_argument.
    auto what = "digest: category '" + store::model::printable_prefix(name, 64) + "' ";
    if (!c.is_object() || !c.get_object().contains("count") || !c.get_object().contains("hash") || !c.at("hash").is_string())
      throw wire_error(what + "needs count and hash");
    const auto& count = c.at("count");
    if (!count.is_uint64() && !(count.is_int64() && count.get_int64() >= 0))
      throw wire_error(what + "count must be a whole number >= 0");
    std::string_view hex = c.at("hash").get_string();
    std::uint64_t hash = 0;
    auto [end, err] = std::from_chars(hex.data(), hex.data() + hex.size(), hash, 16);
    if (hex.empty() || hex.size() > 16 || err != std::errc() || end != hex.data() + hex.size())
      throw wire_error(what + "hash must be 1 to 16 hex digits");
    d[std::string(name)] = {count.to_number<std::uint64_t>(), hash};
  }
  return d;
}

}  // namespace replication
