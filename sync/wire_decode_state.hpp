// The state of decode_batch's event parser (wire_decode.cpp): Boost.JSON's
// basic_parser calls the on_* members as it reads; they file each value
// where it belongs by the container it is in. Private to sync/.
#pragma once

#include <boost/json/basic_parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sync/wire.hpp"

namespace replication::detail {

// What a member's value was: enough to check it as the tree version did.
enum class kind : std::uint8_t { absent, string, whole, negative, fraction, boolean, null, object, array };

struct member {
  kind k = kind::absent;
  std::uint64_t u = 0;  // a whole number
  bool b = false;
};

// A change's fields, kept as read (keys, texts and kinds reused from one
// change to the next), for the schema check and, when refused, the
// quarantine's copy "as sent". A value that is an object or an array is
// not a field the schema knows; its text is written out for that copy.
struct field_set {
  // The schemas have at most a dozen fields: more is the change's problem,
  // and what a hostile batch can make the schema check look through.
  static constexpr std::size_t max_fields = 64;
  std::vector<std::string> keys, texts;
  std::vector<kind> kinds;
  std::size_t n = 0;  // fields read whole
  int cur = -1;       // the field whose value is being read; -1: none (past the bound)
  bool overflow = false;
  std::string scratch;       // a string inside an object or array value
  std::vector<bool> first;   // per open container of such a value: nothing written in it yet
  bool after_key = false;

  void clear() {
    n = 0;
    cur = -1;
    overflow = false;
  }
  void key(std::string_view k) {
    cur = -1;
    if (n >= max_fields) return void(overflow = true);
    if (keys.size() <= n) keys.emplace_back(), texts.emplace_back(), kinds.push_back(kind::absent);
    keys[n].assign(k.data(), k.size());
    texts[n].clear();
    kinds[n] = kind::absent;
    cur = static_cast<int>(n);
  }
  std::string* string_target() { return cur >= 0 ? &texts[cur] : nullptr; }
  void scalar(kind k, bool flag, std::string_view number_text) {
    if (cur < 0) return;
    kinds[cur] = k;
    if (k != kind::string) texts[cur] = text_of(k, flag, number_text);
    ++n;
    cur = -1;
  }
  // An object or array as a field's value.
  void open_value(kind k) {
    if (cur >= 0) kinds[cur] = k;
    first.clear();
    after_key = false;
    nested_open(k);
  }
  void nested_open(kind k) {
    before_value();
    write(k == kind::object ? "{" : "[");
    first.push_back(true);
  }
  // `whole`: the field's value itself closed.
  void nested_close(kind k, bool whole) {
    write(k == kind::object ? "}" : "]");
    first.pop_back();
    if (whole && cur >= 0) ++n, cur = -1;
  }
  void nested_key(std::string_view k) {
    before_value();
    write(boost::json::serialize(boost::json::string_view(k.data(), k.size())));
    write(":");
    after_key = true;
  }
  void nested_scalar(kind k, bool flag, std::string_view number_text) {
    before_value();
    if (k == kind::string) write(boost::json::serialize(boost::json::string_view(scratch.data(), scratch.size())));
    else write(text_of(k, flag, number_text));
    scratch.clear();
  }
  // The fields object as it came (json::serialize of it, as the tree
  // version kept a refused change's fields).
  std::string as_sent() const {
    std::string o = "{";
    for (std::size_t i = 0; i < n; ++i) {
      if (i) o += ',';
      o += boost::json::serialize(boost::json::string_view(keys[i].data(), keys[i].size()));
      o += ':';
      if (kinds[i] == kind::string) o += boost::json::serialize(boost::json::string_view(texts[i].data(), texts[i].size()));
      else o += texts[i];
    }
    return o += '}';
  }

private:
  static std::string text_of(kind k, bool flag, std::string_view number_text) {
    if (k == kind::boolean) return flag ? "true" : "false";
    if (k == kind::null) return "null";
    return std::string(number_text);
  }
  void before_value() {
    if (after_key) return void(after_key = false);
    if (first.empty()) return;
    if (!first.back()) write(",");
    first.back() = false;
  }
  void write(std::string_view s) {
    if (cur >= 0) texts[cur].append(s.data(), s.size());
  }
};

// Which container the parser is in.
enum class ctx : std::uint8_t { batch, changes, change, fields, field_value, revocations, revocation, skip };

struct batch_reader {
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  explicit batch_reader(std::size_t max) : max_changes(max) {}

  std::size_t max_changes;
  change_batch b;
  std::vector<store::revocation> revs;
  std::string fatal;  // a member named twice: stops the parse
  bool top_is_object = false;
  std::array<member, 9> bm{};   // the batch's members
  std::array<member, 10> cm{};  // the change being read
  std::array<member, 5> rm{};   // the revocation being read
  std::array<std::string, 4> rev_text;
  std::string stamp_text;
  std::size_t n_changes = 0, n_revocations = 0;
  std::string change_error, revocation_error;  // the first of each
  field_set fields;

  // After the parse: the batch's own problem, else its lists'; empty when
  // the batch is good, and then finish() fills in its numbers.
  std::string batch_problem();
  void finish();

  // basic_parser's handler.
  using error_code = boost::json::error_code;
  using sv = boost::json::string_view;
  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return open(kind::array), true; }
  bool on_array_end(std::size_t, error_code&) { return close(kind::array), true; }
  bool on_object_begin(error_code&) { return open(kind::object), true; }
  bool on_object_end(std::size_t, error_code&) { return close(kind::object), true; }
  bool on_string_part(sv s, std::size_t, error_code&) { return append(s), true; }
  bool on_string(sv s, std::size_t, error_code&) {
    append(s);
    target_chosen = false;
    return scalar(kind::string, 0, false, {}), true;
  }
  bool on_key_part(sv s, std::size_t, error_code&) { return key_text.append(s.data(), s.size()), true; }
  bool on_key(sv s, std::size_t, error_code& ec) {
    key_text.append(s.data(), s.size());
    key(key_text);
    key_text.clear();
    if (fatal.empty()) return true;
    ec = boost::json::error::syntax;
    return false;
  }
  bool on_number_part(sv, error_code&) { return true; }
  bool on_int64(std::int64_t i, sv, error_code&) {
    return scalar(i >= 0 ? kind::whole : kind::negative, static_cast<std::uint64_t>(i), false, number_text(i)), true;
  }
  bool on_uint64(std::uint64_t u, sv, error_code&) { return scalar(kind::whole, u, false, number_text(u)), true; }
  bool on_double(double d, sv, error_code&) { return scalar(kind::fraction, 0, false, number_text(d)), true; }
  bool on_bool(bool v, error_code&) { return scalar(kind::boolean, 0, v, {}), true; }
  bool on_null(error_code&) { return scalar(kind::null, 0, false, {}), true; }
  bool on_comment_part(sv, error_code&) { return true; }
  bool on_comment(sv, error_code&) { return true; }

private:
  std::vector<ctx> stack;
  int pending = -1;  // the member the key just read names; -1: one not known
  std::string key_text;
  std::string* target = nullptr;  // where the string being read goes
  bool target_chosen = false;

  void open(kind k);
  void open_in_batch(kind k);
  bool element(kind k, std::size_t& count, std::size_t limit, std::string& error, const char* name, const char* not_object);
  void open_change(kind k);
  void open_revocation(kind k);
  void close(kind k);
  void scalar(kind k, std::uint64_t u, bool flag, std::string_view number_text);
  void key(std::string_view k);
  int take_slot();
  std::string* string_target();
  void append(sv s) {
    if (!target_chosen) target = string_target(), target_chosen = true;
    if (target) target->append(s.data(), s.size());
  }
  void finish_change();
  std::string change_problem() const;
  void check_fields(wire_change& c);
  void finish_revocation();
  std::string lists_problem();
  // A number's text as the tree version had it (json::serialize of the
  // value), needed only inside fields.
  template <typename T>
  std::string number_text(T v) const {
    if (stack.empty() || (stack.back() != ctx::fields && stack.back() != ctx::field_value)) return {};
    return boost::json::serialize(boost::json::value(v));
  }
};

}  // namespace replication::detail
