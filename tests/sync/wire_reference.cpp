// The batch decoder as it was before the streaming one (sync/
// wire_decode.cpp): Boost.JSON's document tree, then each member looked up.
// Kept only as the oracle of tests/sync/wire_decode_test.cpp, which feeds
// both the same batches, valid and damaged, and wants the same result or
// the same message.
#include <boost/json.hpp>

#include "store/model/category.hpp"
#include "store/model/uscc.hpp"
#include "store/model/validate.hpp"
#include "sync/wire_reference.hpp"

namespace test_ref {
using namespace replication;
namespace json = boost::json;
namespace {

constexpr std::uint64_t max_version = std::uint64_t{1} << 53;

const json::value& field(const json::object& o, const char* name, const std::string& where) {
  auto it = o.find(name);
  if (it == o.end()) throw wire_error(where + ": missing \"" + name + "\"");
  return it->value();
}

std::string str(const json::object& o, const char* name, const std::string& where) {
  const auto& v = field(o, name, where);
  if (!v.is_string()) throw wire_error(where + ": \"" + name + "\" must be a string");
  return std::string(v.get_string());
}

std::uint64_t num(const json::object& o, const char* name, const std::string& where) {
  const auto& v = field(o, name, where);
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  throw wire_error(where + ": \"" + name + "\" must be a whole number >= 0");
}

// The category's schema over fields already parsed. `utf8_checked`: the
// text they came from was found valid UTF-8 as a whole.
std::string check_parsed(const store::model::record& r, const json::object& f, std::string& canonical,
                         bool utf8_checked) {
  const auto* cat = store::model::category_registry::builtin().find(r.category);
  if (!cat) return "unknown category '" + store::model::printable_prefix(r.category, 64) + "'";
  store::model::raw_row row{r.subject, r.record_id, r.event_date, r.source, {}, utf8_checked};
  std::vector<std::string> numbers;
  numbers.reserve(f.size());
  row.fields.reserve(f.size());
  for (const auto& [k, val] : f) {
    using kind = store::model::raw_value::kind;
    if (val.is_string()) row.fields.emplace_back(k, store::model::raw_value{kind::string, val.get_string()});
    else if (val.is_bool()) row.fields.emplace_back(k, store::model::raw_value{kind::boolean, val.get_bool() ? "true" : "false"});
    else if (val.is_number()) row.fields.emplace_back(k, store::model::raw_value{kind::number, numbers.emplace_back(json::serialize(val))});
    else return "field '" + std::string(k) + "' has an unsupported type";
  }
  static const store::model::uscc_policy any_code;
  if (auto e = store::model::validate_row(*cat, any_code, row, canonical)) return e->field + ": " + e->reason;
  return {};
}

// `utf8_checked`: the text `v` was parsed from is valid UTF-8 throughout.
wire_change change_from(const json::value& v, const std::string& where, bool utf8_checked) {
  if (!v.is_object()) throw wire_error(where + ": a change must be an object");
  const auto& o = v.get_object();
  wire_change c;
  c.seq = num(o, "seq", where);
  auto& r = c.rec;
  r.category = str(o, "category", where);
  r.subject = str(o, "subject", where);
  r.record_id = str(o, "record_id", where);
  r.origin = str(o, "origin", where);
  r.version = num(o, "version", where);
  r.event_date = str(o, "event_date", where);
  r.source = str(o, "source", where);
  const auto& del = field(o, "deleted", where);
  if (!del.is_bool()) throw wire_error(where + ": \"deleted\" must be true or false");
  r.deleted = del.get_bool();
  const auto& f = field(o, "fields", where);
  if (!f.is_object()) throw wire_error(where + ": \"fields\" must be an object");
  // A schema problem is the change's, not the batch's: it is quarantined.
  c.schema_problem = check_parsed(r, f.get_object(), r.fields_json, utf8_checked);
  c.schema_checked = true;
  // Beyond 2^53 a version is no longer exact in every JSON reader, and one
  // near 2^64 would leave its owner no newer version to send. The change's
  // problem, not the batch's: refused alone, so the link does not stall.
  if (r.version > max_version) c.schema_problem = "version must be at most 9007199254740992 (2^53)";
  if (!c.schema_problem.empty()) r.fields_json = json::serialize(f);
  return c;
}

std::string bounded(const json::object& o, const char* name, const std::string& where, std::size_t max) {
  auto v = str(o, name, where);
  if (v.size() > max) throw wire_error(where + ": \"" + name + "\" is longer than " + std::to_string(max) + " bytes");
  return v;
}

std::vector<store::revocation> revocations_from(const json::value& v) {
  if (!v.is_array()) throw wire_error("batch: \"revocations\" must be an array");
  if (v.get_array().size() > 100000) throw wire_error("batch: more than 100000 revocations");
  std::vector<store::revocation> out;
  std::size_t i = 0;
  for (const auto& e : v.get_array()) {
    std::string where = "revocation " + std::to_string(i++);
    if (!e.is_object()) throw wire_error(where + ": must be an object");
    const auto& o = e.get_object();
    store::revocation r{bounded(o, "serial", where, 64), bounded(o, "node_id", where, 64),
                        bounded(o, "reason", where, 1024), bounded(o, "by", where, 64), 0};
    if (r.serial.empty() || r.serial.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw wire_error(where + ": \"serial\" must be lower-case hex");
    r.at_ms = static_cast<std::int64_t>(num(o, "at_ms", where));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

change_batch reference_decode_batch(std::string_view body, std::size_t max_changes) {
  json::error_code ec;
  // One arena for the whole document, released at once: a batch is
  // thousands of small objects, and freeing them one by one showed up in
  // profiles (malloc_consolidate).
  json::monotonic_resource arena;
  // One pass over the whole body instead of Boost's check per character of
  // every string (a sixth of decoding, Chinese text being most of a batch).
  // Valid bytes throughout mean every string in it is valid: \u escapes
  // decode to valid UTF-8, and lone surrogates are refused by the parser.
  if (auto bad = store::model::check_utf8(body); !bad.empty()) throw wire_error("batch: " + bad + " of the body");
  json::parse_options lax;
  lax.allow_invalid_utf8 = true;  // just checked
  auto v = json::parse(body, ec, &arena, lax);
  if (ec) throw wire_error("batch is not valid JSON: " + ec.message());
  if (!v.is_object()) throw wire_error("batch must be a JSON object");
  const auto& o = v.get_object();
  change_batch b;
  b.node = str(o, "node", "batch");
  b.instance = str(o, "instance", "batch");
  if (b.instance.size() != 32 || b.instance.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw wire_error("batch: \"instance\" must be 32 lower-case hex digits (a store instance id)");
  b.last_seq = num(o, "last_seq", "batch");
  if (o.contains("after_seq")) {
    b.after_seq = num(o, "after_seq", "batch");
    if (*b.after_seq > b.last_seq) throw wire_error("batch: \"after_seq\" must not be past \"last_seq\"");
  }
  if (o.contains("last_stamp")) {
    auto s = parse_stamp(str(o, "last_stamp", "batch"));
    if (!s || *s == 0) throw wire_error("batch: \"last_stamp\" must be 16 lower-case hex digits, not all zero");
    b.last_stamp = *s;
  }
  if (auto it = o.find("more"); it != o.end() && it->value().is_bool()) b.more = it->value().get_bool();
  if (auto it = o.find("own"); it != o.end() && it->value().is_bool()) b.own = it->value().get_bool();
  if (o.contains("revocations")) b.revocations = revocations_from(field(o, "revocations", "batch"));
  const auto& ch = field(o, "changes", "batch");
  if (!ch.is_array()) throw wire_error("batch: \"changes\" must be an array");
  if (ch.get_array().size() > max_changes)
    throw wire_error("batch holds " + std::to_string(ch.get_array().size()) + " changes, more than the limit " +
                     std::to_string(max_changes));
  std::size_t i = 0;
  b.changes.reserve(ch.get_array().size());
  for (const auto& c : ch.get_array()) b.changes.push_back(change_from(c, "change " + std::to_string(i++), true));
  return b;
}

}  // namespace test_ref
