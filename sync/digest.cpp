#include "sync/digest.hpp"

#include <boost/json.hpp>

#include <cstdio>

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
    if (!c.is_object() || !c.get_object().contains("count") || !c.get_object().contains("hash") ||
        !c.at("hash").is_string())
      throw wire_error("digest: category '" + std::string(name) + "' needs count and hash");
    d[std::string(name)] = {c.at("count").to_number<std::uint64_t>(),
                            std::stoull(std::string(c.at("hash").get_string()), nullptr, 16)};
  }
  return d;
}

}  // namespace replication
