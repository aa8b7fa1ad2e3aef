#include "sync/digest.hpp"

#include <boost/json.hpp>

#include <cstdio>

#include "store/model/uscc.hpp"
#include "store/reader.hpp"
#include "sync/routing.hpp"
#include "sync/wire.hpp"

namespace replication {
namespace {

namespace json = boost::json;

std::uint64_t fnv1a(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return (h ^ 0xff) * 1099511628211ull;  // a separator, so "ab"+"c" != "a"+"bc"
}

std::uint64_t record_hash(const store::model::record& r) {
  std::uint64_t h = 1469598103934665603ull;
  for (auto part : {std::string_view(r.category), std::string_view(r.subject), std::string_view(r.record_id),
                    std::string_view(r.origin)})
    h = fnv1a(h, part);
  h = fnv1a(h, std::to_string(r.version));
  return fnv1a(h, r.deleted ? "1" : "0");
}

}  // namespace

digest compute_digest(store::environment& env, const std::string& scope) {
  digest d;
  store::record_filter f;
  f.include_deleted = true;  // a tombstone is state too
  store::reader(env).for_each_record(f, [&](const store::model::record& r) {
    if (r.subject.size() != 18 || !covers(scope, store::model::uscc_division(r.subject))) return true;
    auto& c = d[r.category];
    if (!r.deleted) ++c.count;
    c.hash += record_hash(r);  // a sum: the order records are read in does not matter
    return true;
  });
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
