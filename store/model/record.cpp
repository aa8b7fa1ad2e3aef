#include "store/model/record.hpp"

#include <cstdio>
#include <ctime>

#include "store/model/validate.hpp"

namespace store::model {

std::string format_utc_ms(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

namespace {
std::uint64_t fnv1a(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return (h ^ 0xff) * 1099511628211ull;  // a separator: "ab"+"c" differs from "a"+"bc"
}
}  // namespace

std::uint64_t digest_hash(std::string_view category, std::string_view subject, std::string_view record_id,
                          std::string_view origin, std::uint64_t version, bool deleted) {
  std::uint64_t h = 1469598103934665603ull;
  for (auto part : {category, subject, record_id, origin}) h = fnv1a(h, part);
  h = fnv1a(h, std::to_string(version));
  return fnv1a(h, deleted ? "1" : "0");
}

std::uint64_t content_hash(const record& r) {
  std::uint64_t h = digest_hash(r);
  for (std::string_view part : {std::string_view(r.event_date), std::string_view(r.source), std::string_view(r.fields_json)})
    h = fnv1a(h, part);
  return fnv1a(h, std::to_string(r.ingested_at_ms));
}

std::string to_json_line(const record& r) {
  std::string o;
  o.reserve(200 + r.fields_json.size());
  auto field = [&](const char* name, std::string_view v) {
    o += o.size() > 1 ? ",\"" : "\"";
    o += name;
    o += "\":";
    append_json_string(o, v);
  };
  o += '{';
  field("category", r.category);
  field("subject", r.subject);
  field("record_id", r.record_id);
  field("origin", r.origin);
  o += ",\"version\":" + std::to_string(r.version);
  field("event_date", r.event_date);
  field("source", r.source);
  field("ingested_at", format_utc_ms(r.ingested_at_ms));
  o += r.deleted ? ",\"deleted\":true" : ",\"deleted\":false";
  o += ",\"fields\":";
  o += r.fields_json.empty() ? "{}" : r.fields_json;
  o += '}';
  return o;
}

// Days from civil (Howard Hinnant's algorithm).
std::int64_t utc_midnight_ms(std::string_view date) {
  int y = std::stoi(std::string(date.substr(0, 4))), m = std::stoi(std::string(date.substr(5, 2))),
      d = std::stoi(std::string(date.substr(8, 2)));
  y -= m <= 2;
  int era = y / 400, yoe = y - era * 400;
  int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long days = era * 146097L + yoe * 365L + yoe / 4 - yoe / 100 + doy - 719468L;
  return days * 86400000LL;
}

}  // namespace store::model
