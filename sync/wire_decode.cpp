// decode_batch: one pass of Boost.JSON's event parser straight into a
// change_batch. The document tree it replaced (its building, ~50 MB of
// fresh memory per 16 MiB batch and the page faults on it) was more than
// half of the CPU of a parent's threads that read a child's batches, in a
// profile of bench_sync (a); end to end (a) gained ~2-14 % and the
// parent's peak memory fell ~50 MB.
//
// What is refused, and the message, is what the tree version said
// (tests/sync/wire_reference.cpp keeps it as the oracle): each object's
// members are collected and checked in a fixed order when it closes; the
// first problem of a change or revocation is kept and said after the
// batch's own. New: a member named twice is refused (the tree kept one
// silently), and so is a field named twice, as the change's problem (the
// schema check's "given twice", or the unsupported type of one of the two;
// the tree passed on only the last). A refused change's fields_json holds
// at most 64 fields, and an object value's keys all as they came.
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "sync/wire.hpp"
#include "sync/wire_decode_state.hpp"
#include "sync/wire_internal.hpp"

namespace replication {
namespace json = boost::json;
namespace {

using json::error_code;
using detail::kind;
using detail::member;

constexpr std::array batch_names{"node", "instance", "last_seq", "after_seq", "last_stamp", "more", "own",
                                 "revocations", "changes"};
enum batch_slot { b_node, b_instance, b_last_seq, b_after_seq, b_last_stamp, b_more, b_own, b_revocations, b_changes };
constexpr std::array change_names{"seq", "category", "subject", "record_id", "origin", "version", "event_date",
                                  "source", "deleted", "fields"};
enum change_slot { c_seq, c_category, c_subject, c_record_id, c_origin, c_version, c_event_date, c_source, c_deleted, c_fields };
constexpr std::array revocation_names{"serial", "node_id", "reason", "by", "at_ms"};
enum revocation_slot { r_serial, r_node_id, r_reason, r_by, r_at_ms };
constexpr std::size_t max_revocations = 100000;
constexpr std::size_t revocation_bounds[] = {64, 64, 1024, 64};

template <std::size_t N>
int slot_of(const std::array<const char*, N>& names, std::string_view key) {
  for (std::size_t i = 0; i < N; ++i)
    if (key == names[i]) return static_cast<int>(i);
  return -1;
}

// "where: missing \"name\"" and the rest, as the tree version said them.
std::string missing(const std::string& where, const char* name) { return where + ": missing \"" + name + "\""; }

std::string str_problem(const member& m, const std::string& where, const char* name) {
  if (m.k == kind::absent) return missing(where, name);
  if (m.k != kind::string) return where + ": \"" + name + "\" must be a string";
  return {};
}

std::string num_problem(const member& m, const std::string& where, const char* name) {
  if (m.k == kind::absent) return missing(where, name);
  if (m.k != kind::whole) return where + ": \"" + name + "\" must be a whole number >= 0";
  return {};
}

}  // namespace

namespace detail {

// The change just closed: its members checked in the tree version's
// order, then its fields against the category's schema.
void batch_reader::finish_change() {
  auto& c = b.changes.back();
  auto is = [&](int s, kind k) { return cm[s].k == k; };
  bool fine = is(c_seq, kind::whole) && is(c_version, kind::whole) && is(c_deleted, kind::boolean) && is(c_fields, kind::object);
  for (int s : {c_category, c_subject, c_record_id, c_origin, c_event_date, c_source}) fine = fine && is(s, kind::string);
  if (!fine) return void(change_error = change_problem());
  c.seq = cm[c_seq].u;
  c.rec.version = cm[c_version].u;
  c.rec.deleted = cm[c_deleted].b;
  check_fields(c);
}

std::string batch_reader::change_problem() const {
  std::string where = "change " + std::to_string(b.changes.size() - 1);
  std::string e = num_problem(cm[c_seq], where, "seq");
  for (int s : {c_category, c_subject, c_record_id, c_origin})
    if (e.empty()) e = str_problem(cm[s], where, change_names[s]);
  if (e.empty()) e = num_problem(cm[c_version], where, "version");
  for (int s : {c_event_date, c_source})
    if (e.empty()) e = str_problem(cm[s], where, change_names[s]);
  if (e.empty() && cm[c_deleted].k == kind::absent) e = missing(where, "deleted");
  if (e.empty() && cm[c_deleted].k != kind::boolean) e = where + ": \"deleted\" must be true or false";
  if (e.empty() && cm[c_fields].k == kind::absent) e = missing(where, "fields");
  if (e.empty() && cm[c_fields].k != kind::object) e = where + ": \"fields\" must be an object";
  return e;
}

void batch_reader::check_fields(wire_change& c) {
  auto& r = c.rec;
  store::model::raw_row row;
  row.fields.reserve(fields.n);
  std::string_view unsupported;
  for (std::size_t i = 0; i < fields.n; ++i) {
    using rk = store::model::raw_value::kind;
    auto k = fields.kinds[i];
    if (k == kind::string) row.fields.emplace_back(fields.keys[i], store::model::raw_value{rk::string, fields.texts[i]});
    else if (k == kind::boolean) row.fields.emplace_back(fields.keys[i], store::model::raw_value{rk::boolean, fields.texts[i]});
    else if (k == kind::whole || k == kind::negative || k == kind::fraction)
      row.fields.emplace_back(fields.keys[i], store::model::raw_value{rk::number, fields.texts[i]});
    else if (unsupported.empty()) unsupported = fields.keys[i];
  }
  c.schema_problem = fields.overflow ? "more than " + std::to_string(field_set::max_fields) + " fields"
                                     : check_row(r, row, unsupported, r.fields_json, true);
  c.schema_checked = true;
  if (r.version > max_version) c.schema_problem = "version must be at most 9007199254740992 (2^53)";
  if (!c.schema_problem.empty()) r.fields_json = fields.as_sent();
}

void batch_reader::finish_revocation() {
  auto& r = revs.back();
  std::string where = "revocation " + std::to_string(revs.size() - 1);
  std::string e;
  for (int s : {r_serial, r_node_id, r_reason, r_by}) {
    if (e.empty()) e = str_problem(rm[s], where, revocation_names[s]);
    if (e.empty() && rev_text[s].size() > revocation_bounds[s])
      e = where + ": \"" + revocation_names[s] + "\" is longer than " + std::to_string(revocation_bounds[s]) + " bytes";
  }
  if (e.empty() && (rev_text[r_serial].empty() || rev_text[r_serial].find_first_not_of("0123456789abcdef") != std::string::npos))
    e = where + ": \"serial\" must be lower-case hex";
  if (e.empty()) e = num_problem(rm[r_at_ms], where, "at_ms");
  if (!e.empty()) {
    revocation_error = std::move(e);
    return;
  }
  r = {std::move(rev_text[r_serial]), std::move(rev_text[r_node_id]), std::move(rev_text[r_reason]),
       std::move(rev_text[r_by]), static_cast<std::int64_t>(rm[r_at_ms].u)};
}

// The batch's own members in the tree version's order, then its lists'.
std::string batch_reader::batch_problem() {
  if (!top_is_object) return "batch must be a JSON object";
  const std::string where = "batch";
  std::string e = str_problem(bm[b_node], where, "node");
  if (e.empty()) e = str_problem(bm[b_instance], where, "instance");
  if (e.empty() && (b.instance.size() != 32 || b.instance.find_first_not_of("0123456789abcdef") != std::string::npos))
    e = "batch: \"instance\" must be 32 lower-case hex digits (a store instance id)";
  if (e.empty()) e = num_problem(bm[b_last_seq], where, "last_seq");
  if (e.empty() && bm[b_after_seq].k != kind::absent) e = num_problem(bm[b_after_seq], where, "after_seq");
  if (e.empty() && bm[b_after_seq].k != kind::absent && bm[b_after_seq].u > bm[b_last_seq].u)
    e = "batch: \"after_seq\" must not be past \"last_seq\"";
  if (e.empty() && bm[b_last_stamp].k != kind::absent) e = str_problem(bm[b_last_stamp], where, "last_stamp");
  if (e.empty() && bm[b_last_stamp].k != kind::absent) {
    auto s = parse_stamp(stamp_text);
    if (!s || *s == 0) e = "batch: \"last_stamp\" must be 16 lower-case hex digits, not all zero";
  }
  if (e.empty()) e = lists_problem();
  return e;
}

void batch_reader::finish() {
  b.last_seq = bm[b_last_seq].u;
  if (bm[b_after_seq].k != kind::absent) b.after_seq = bm[b_after_seq].u;
  if (bm[b_last_stamp].k != kind::absent) b.last_stamp = parse_stamp(stamp_text).value_or(0);
  b.more = bm[b_more].k == kind::boolean && bm[b_more].b;  // anything else: not said
  b.own = bm[b_own].k == kind::boolean && bm[b_own].b;
  if (bm[b_revocations].k != kind::absent) b.revocations = std::move(revs);
}

std::string batch_reader::lists_problem() {
  if (bm[b_revocations].k != kind::absent) {
    if (bm[b_revocations].k != kind::array) return "batch: \"revocations\" must be an array";
    if (n_revocations > max_revocations) return "batch: more than 100000 revocations";
    if (!revocation_error.empty()) return revocation_error;
  }
  if (bm[b_changes].k == kind::absent) return "batch: missing \"changes\"";
  if (bm[b_changes].k != kind::array) return "batch: \"changes\" must be an array";
  if (n_changes > max_changes)
    return "batch holds " + std::to_string(n_changes) + " changes, more than the limit " + std::to_string(max_changes);
  return change_error;
}

// Where the value that starts now belongs, given the container it is in.
void batch_reader::open(kind k) {
  if (stack.empty()) {
    top_is_object = k == kind::object;
    stack.push_back(top_is_object ? ctx::batch : ctx::skip);
    return;
  }
  switch (stack.back()) {
    case ctx::batch: return open_in_batch(k);
    case ctx::changes: return open_change(k);
    case ctx::change: {
      int s = take_slot();
      if (s >= 0) cm[s].k = k;
      if (s == c_fields && k == kind::object) return fields.clear(), stack.push_back(ctx::fields);
      return stack.push_back(ctx::skip);
    }
    case ctx::fields: return fields.open_value(k), stack.push_back(ctx::field_value);
    case ctx::field_value: return fields.nested_open(k), stack.push_back(ctx::field_value);
    case ctx::revocations: return open_revocation(k);
    case ctx::revocation: {
      int s = take_slot();
      if (s >= 0) rm[s].k = k;
      return stack.push_back(ctx::skip);
    }
    case ctx::skip: return stack.push_back(ctx::skip);
  }
}

void batch_reader::open_in_batch(kind k) {
  int s = take_slot();
  if (s >= 0) bm[s].k = k;
  if (s == b_changes && k == kind::array) return stack.push_back(ctx::changes);
  if (s == b_revocations && k == kind::array) return stack.push_back(ctx::revocations);
  stack.push_back(ctx::skip);
}

// An element of "changes" or "revocations": read when it is an object, within
// the limit and after no bad one; else only counted (the batch is refused
// either way), and the first that is not an object is the list's problem.
bool batch_reader::element(kind k, std::size_t& count, std::size_t limit, std::string& error, const char* name,
                           const char* not_object) {
  std::size_t i = count++;
  if (k != kind::object && error.empty()) error = name + (" " + std::to_string(i)) + not_object;
  if (k == kind::object && i < limit && error.empty()) return true;
  stack.push_back(ctx::skip);
  return false;
}

void batch_reader::open_change(kind k) {
  if (!element(k, n_changes, max_changes, change_error, "change", ": a change must be an object")) return;
  b.changes.emplace_back();
  for (auto& m : cm) m = {};
  stack.push_back(ctx::change);
}

void batch_reader::open_revocation(kind k) {
  if (!element(k, n_revocations, max_revocations, revocation_error, "revocation", ": must be an object")) return;
  revs.emplace_back();
  for (auto& m : rm) m = {};
  for (auto& t : rev_text) t.clear();
  stack.push_back(ctx::revocation);
}

void batch_reader::close(kind k) {
  auto c = stack.back();
  stack.pop_back();
  if (c == ctx::change) finish_change();
  else if (c == ctx::revocation) finish_revocation();
  else if (c == ctx::field_value) fields.nested_close(k, stack.back() != ctx::field_value);
}

// A string or scalar value, in the container on top of the stack.
void batch_reader::scalar(kind k, std::uint64_t u, bool flag, std::string_view number_text) {
  if (stack.empty()) return void(top_is_object = false);
  auto put = [&](member* m, int s) {
    if (s >= 0) m[s] = {k, u, flag};
  };
  switch (stack.back()) {
    case ctx::batch: return put(bm.data(), take_slot());
    case ctx::change: return put(cm.data(), take_slot());
    case ctx::revocation: return put(rm.data(), take_slot());
    case ctx::changes: return open_change(k), stack.pop_back();
    case ctx::revocations: return open_revocation(k), stack.pop_back();
    case ctx::fields: return fields.scalar(k, flag, number_text);
    case ctx::field_value: return fields.nested_scalar(k, flag, number_text);
    case ctx::skip: return;
  }
}

// Where the characters of a string value go (nullptr: nowhere), chosen at
// its first part.
std::string* batch_reader::string_target() {
  if (stack.empty()) return nullptr;
  switch (stack.back()) {
    case ctx::batch: {
      int s = pending;
      return s == b_node ? &b.node : s == b_instance ? &b.instance : s == b_last_stamp ? &stamp_text : nullptr;
    }
    case ctx::change: {
      auto& r = b.changes.back().rec;
      std::string* t[] = {nullptr, &r.category, &r.subject, &r.record_id, &r.origin, nullptr, &r.event_date, &r.source};
      return pending >= 0 && pending < 8 ? t[pending] : nullptr;
    }
    case ctx::revocation: return pending >= 0 && pending < 4 ? &rev_text[pending] : nullptr;
    case ctx::fields: return fields.string_target();
    case ctx::field_value: return &fields.scratch;
    default: return nullptr;
  }
}

void batch_reader::key(std::string_view k) {
  if (stack.empty()) return;
  // The "where" of a member named twice is built only then.
  auto named = [&](member* m, int s, const char* what, std::size_t count) {
    if (s >= 0 && m[s].k != kind::absent && fatal.empty())
      fatal = (count ? what + (" " + std::to_string(count - 1)) : std::string(what)) + ": \"" +
              store::model::printable_prefix(k, 64) + "\" is named twice";
    pending = s;
  };
  switch (stack.back()) {
    case ctx::batch: return named(bm.data(), slot_of(batch_names, k), "batch", 0);
    case ctx::change: return named(cm.data(), slot_of(change_names, k), "change", b.changes.size());
    case ctx::revocation: return named(rm.data(), slot_of(revocation_names, k), "revocation", revs.size());
    case ctx::fields: return fields.key(k);
    case ctx::field_value: return fields.nested_key(k);
    default: return;
  }
}

int batch_reader::take_slot() {
  int s = pending;
  pending = -1;
  return s;
}

}  // namespace detail

change_batch decode_batch(std::string_view body, std::size_t max_changes) {
  // One pass over the whole body instead of Boost's check per character of
  // every string (a sixth of decoding, Chinese text being most of a batch).
  // Valid bytes throughout mean every string in it is valid: \u escapes
  // decode to valid UTF-8, and lone surrogates are refused by the parser.
  if (auto bad = store::model::check_utf8(body); !bad.empty()) throw wire_error("batch: " + bad + " of the body");
  json::parse_options lax;
  lax.allow_invalid_utf8 = true;  // just checked
  json::basic_parser<detail::batch_reader> p(lax, max_changes);
  // The smallest change the encoder writes is ~120 bytes.
  p.handler().b.changes.reserve(std::min(max_changes, body.size() / 120 + 1));
  error_code ec;
  auto used = p.write_some(false, body.data(), body.size(), ec);
  auto& h = p.handler();
  if (!h.fatal.empty()) throw wire_error(h.fatal);
  if (!ec && used < body.size()) ec = json::error::extra_data;
  if (ec) throw wire_error("batch is not valid JSON: " + ec.message());
  if (auto e = h.batch_problem(); !e.empty()) throw wire_error(e);
  h.finish();
  return std::move(h.b);
}

}  // namespace replication
