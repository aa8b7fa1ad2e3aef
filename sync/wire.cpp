#include "sync/wire.hpp"

#include <boost/json.hpp>

#include <cstdio>

#include "store/model/category.hpp"
#include "store/model/uscc.hpp"
#include "store/model/validate.hpp"
#include "sync/wire_internal.hpp"

namespace replication {
namespace json = boost::json;
namespace {

// The category's schema over a parsed fields object (check_schema).
std::string check_parsed(const store::model::record& r, const json::object& f, std::string& canonical) {
  store::model::raw_row row;
  std::vector<std::string> numbers;
  numbers.reserve(f.size());
  row.fields.reserve(f.size());
  std::string_view unsupported;
  for (const auto& [k, val] : f) {
    using kind = store::model::raw_value::kind;
    if (val.is_string()) row.fields.emplace_back(k, store::model::raw_value{kind::string, val.get_string()});
    else if (val.is_bool()) row.fields.emplace_back(k, store::model::raw_value{kind::boolean, val.get_bool() ? "true" : "false"});
    else if (val.is_number()) row.fields.emplace_back(k, store::model::raw_value{kind::number, numbers.emplace_back(json::serialize(val))});
    else if (unsupported.empty()) unsupported = k;
  }
  return detail::check_row(r, row, unsupported, canonical, false);
}

}  // namespace

std::string detail::check_row(const store::model::record& r, store::model::raw_row& row, std::string_view unsupported,
                              std::string& canonical, bool utf8_checked) {
  const auto* cat = store::model::category_registry::builtin().find(r.category);
  if (!cat) return "unknown category '" + store::model::printable_prefix(r.category, 64) + "'";
  if (!unsupported.empty()) return "field '" + std::string(unsupported) + "' has an unsupported type";
  row.subject = r.subject;
  row.record_id = r.record_id;
  row.event_date = r.event_date;
  row.source = r.source;
  row.utf8_checked = utf8_checked;
  static const store::model::uscc_policy any_code;
  if (auto e = store::model::validate_row(*cat, any_code, row, canonical)) return e->field + ": " + e->reason;
  return {};
}

// Built as text: fields_json is already canonical JSON (the store wrote it),
// so it goes in as it is rather than through a parse and a serialize.
std::string encode_batch(const change_batch& b) {
  std::string o;
  o.reserve(128 + b.changes.size() * 512);
  auto str = [&](const char* key, std::string_view v) {
    o += '"';
    o += key;
    o += "\":";
    store::model::append_json_string(o, v);
    o += ',';
  };
  o += '{';
  str("node", b.node);
  str("instance", b.instance);
  if (b.after_seq) o += "\"after_seq\":" + std::to_string(*b.after_seq) + ",";
  if (b.last_stamp) str("last_stamp", stamp_hex(b.last_stamp));
  if (b.own) o += "\"own\":true,";
  if (b.revocations) {
    o += "\"revocations\":[";
    for (std::size_t i = 0; i < b.revocations->size(); ++i) {
      const auto& r = (*b.revocations)[i];
      o += i ? ",{" : "{";
      str("serial", r.serial);
      str("node_id", r.node_id);
      str("reason", r.reason);
      str("by", r.by);
      o += "\"at_ms\":" + std::to_string(r.at_ms) + "}";
    }
    o += "],";
  }
  o += "\"last_seq\":" + std::to_string(b.last_seq) + ",\"more\":" + (b.more ? "true" : "false") + ",\"changes\":[";
  for (std::size_t i = 0; i < b.changes.size(); ++i) {
    const auto& c = b.changes[i];
    const auto& r = c.rec;
    o += i ? ",{" : "{";
    o += "\"seq\":" + std::to_string(c.seq) + ",";
    str("category", r.category);
    str("subject", r.subject);
    str("record_id", r.record_id);
    str("origin", r.origin);
    o += "\"version\":" + std::to_string(r.version) + ",";
    str("event_date", r.event_date);
    str("source", r.source);
    o += r.deleted ? "\"deleted\":true," : "\"deleted\":false,";
    o += "\"fields\":";
    o += r.fields_json.empty() ? "{}" : r.fields_json;
    o += '}';
  }
  o += "]}";
  return o;  // not `o + "]}"`: that copies megabytes
}

std::string stamp_hex(std::uint64_t stamp) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(stamp));
  return buf;
}

std::optional<std::uint64_t> parse_stamp(std::string_view s) {
  if (s.size() != 16 || s.find_first_not_of("0123456789abcdef") != std::string_view::npos) return std::nullopt;
  return std::stoull(std::string(s), nullptr, 16);
}

batch_limits limits_in_answer(std::string_view answer_json) {
  const batch_limits floor;
  json::error_code ec;
  auto v = json::parse(answer_json, ec);
  if (ec || !v.is_object()) return floor;
  const auto& o = v.get_object();
  auto whole = [&](const char* key, std::size_t least) -> std::optional<std::size_t> {
    auto* f = o.if_contains(key);
    if (f && f->is_uint64()) return std::max<std::size_t>(least, f->get_uint64());
    if (f && f->is_int64() && f->get_int64() >= 0) return std::max<std::size_t>(least, f->get_int64());
    return std::nullopt;
  };
  auto changes = whole("max_changes", floor.max_changes), bytes = whole("max_bytes", floor.max_bytes);
  if (!changes || !bytes) return floor;
  return batch_limits{*changes, *bytes}.at_most(batch_limits::large());
}

std::string check_schema(const store::model::record& r, std::string& canonical) {
  json::error_code ec;
  unsigned char buf[4096];  // fields fit here: no heap for the common case
  json::monotonic_resource arena(buf, sizeof buf);
  auto v = json::parse(r.fields_json, ec, &arena);
  if (ec || !v.is_object()) return "fields are not a JSON object";
  return check_parsed(r, v.get_object(), canonical);
}

std::size_t wire_size(const store::model::record& r) {
  return 160 + r.category.size() + r.subject.size() + r.record_id.size() + r.origin.size() +
         r.event_date.size() + r.source.size() + r.fields_json.size();
}

}  // namespace replication
