// The writer's import path: rows an operator imported at this node, which
// owns them. Same content is no change; new content is the next version.
#include <algorithm>

#include "store/model/validate.hpp"
#include "store/txn_state.hpp"

namespace store {

std::string quarantine_json(const quarantine_entry& q) {
  std::string o = "{\"at\":";
  model::append_json_string(o, model::format_utc_ms(q.at_ms));
  o += ",\"file\":";
  model::append_json_string(o, model::printable(q.file));
  o += ",\"line\":" + std::to_string(q.line) + ",\"category\":";
  model::append_json_string(o, q.category);
  o += ",\"field\":";
  model::append_json_string(o, model::printable(q.field));
  o += ",\"reason\":";
  model::append_json_string(o, model::printable(q.reason));
  o += ",\"excerpt\":";
  model::append_json_string(o, model::printable(q.excerpt));
  return o + "}";
}

namespace {

const std::string& encode_row(txn_state& s, const std::string& origin, const import_row& row,
                              std::uint64_t version) {
  encode_record_into(s.scratch, false, version, s.now, origin, row.category, row.subject,
                     row.record_id, row.event_date, row.source, row.fields_json);
  return s.scratch;
}

bool same_content(const model::record& old, const import_row& row) {
  return !old.deleted && old.event_date == row.event_date && old.source == row.source &&
         old.fields_json == row.fields_json;
}

// The subject index already points at `id`; the record goes on the end.
void insert_new(txn_state& s, const std::string& origin, std::uint64_t id,
                const import_row& row, batch_result& res) {
  ++s.next_id;
  auto version = s.next_version(0);
  s.records_end->append(be64(id), encode_row(s, origin, row, version));
  s.log_change(id, version);
  ++s.count_delta[row.category];
  s.digest_add(row.category, row.subject, row.record_id, origin, version, false, +1);
  ++res.inserted;
}

// An owner's re-import: same content is no change; new content is the next
// version, and the old one moves to history. Rows are only read, never
// moved from: a failed group commit retries the same batch.
void apply_row(txn_state& s, const write_batch& b, const import_row& row, batch_result& res) {
  const auto& origin = b.origin;
  // One search: claims the next id for a new key, or finds the existing id.
  auto idv = s.subjects->put_if_absent(row.key, be64(s.next_id));
  if (!idv) return insert_new(s, origin, s.next_id, row, res);
  std::uint64_t id = read_be64(*idv);
  auto cur = s.t.get(s.tb.id2record, be64(id));
  if (!cur) throw store_error("store: subject index points at missing record id " + std::to_string(id));
  std::string old_value(*cur);  // views die with the next put
  model::record old = decode_record(old_value);
  if (old.origin != origin) {
    if (b.owner_only)
      throw not_owner_error("record_id: " + row.subject + "'s " + row.category + " record '" + row.record_id +
                            "' is owned by node '" + old.origin + "'; only its owner changes it: send this there");
    quarantine_entry q{"", row.line, row.category, "record_id",
                       "record is owned by node '" + old.origin +
                           "'; only its owner changes it (file an objection there)", row.record_id, 0};
    res.rejected.push_back(q);
    return s.put_quarantine(std::move(q));
  }
  if (same_content(old, row)) { ++res.unchanged; return; }
  auto version = s.next_version(old.version);
  s.t.put(s.tb.id2history, history_key(id, old.version), old_value);
  s.t.put(s.tb.id2record, be64(id), encode_row(s, origin, row, version));
  s.log_change(id, version);
  if (old.deleted) ++s.count_delta[row.category];
  s.digest_add(old, -1);
  s.digest_add(row.category, row.subject, row.record_id, origin, version, false, +1);
  ++res.updated;
}

}  // namespace

batch_result apply_batch(txn_state& s, write_batch& b) {
  batch_result res;
  if (b.clear_quarantine) {
    MDB_stat st;
    check(mdb_stat(s.t.get(), s.tb.quarantine, &st), "stat quarantine");
    check(mdb_drop(s.t.get(), s.tb.quarantine, 0), "clear quarantine");
    res.quarantine_cleared = st.ms_entries;
  }
  if (b.order.empty()) b.order = key_order(b.rows);
  for (auto i : b.order) apply_row(s, b, b.rows[i], res);
  for (const auto& q : b.quarantine) s.put_quarantine(q);
  for (auto& q : res.rejected) q.at_ms = s.now;
  return res;
}


void import_row::make_key() {
  key.clear();
  for (auto part : {std::string_view(subject), std::string_view(category), std::string_view(record_id)}) {
    if (part.size() > 0xff) throw codec_error("key component longer than 255 bytes");
    key += static_cast<char>(part.size());
    key += part;
  }
}

namespace {

// The first 16 bytes of a key as two big-endian integers: comparing them
// orders keys as memcmp would, and for subject keys they nearly always
// differ (they reach into the random part of the credit code).
struct sort_item {
  std::uint64_t hi, lo;
  std::uint32_t index;
};

std::uint64_t be_prefix(std::string_view k, std::size_t from) {
  std::uint64_t v = 0;
  for (std::size_t i = from; i < from + 8; ++i)
    v = (v << 8) | (i < k.size() ? static_cast<unsigned char>(k[i]) : 0u);
  return v;
}

// The first 16 bytes of the subject key of (subject, category, record_id),
// without building the key.
std::pair<std::uint64_t, std::uint64_t> prefix_of(const model::record& r) {
  char k[16] = {};
  std::size_t n = 0;
  for (const std::string* part : {&r.subject, &r.category, &r.record_id}) {
    if (n < 16) k[n++] = static_cast<char>(part->size());
    for (std::size_t i = 0; i < part->size() && n < 16; ++i) k[n++] = (*part)[i];
  }
  std::string_view key(k, 16);
  return {be_prefix(key, 0), be_prefix(key, 8)};
}

// Subject keys compare as memcmp of their encoding: each part's length
// byte first, then its bytes.
int compare_keys(const model::record& a, const model::record& b) {
  for (auto [x, y] : {std::pair{&a.subject, &b.subject}, {&a.category, &b.category}, {&a.record_id, &b.record_id}}) {
    if (x->size() != y->size()) return x->size() < y->size() ? -1 : 1;
    if (int c = x->compare(*y); c != 0) return c;
  }
  return 0;
}

// Indexes 0..n-1 in key order: by the 16-byte prefix, ties by the whole
// key (`compare`), then by index, so equal keys keep their order and a
// later row or version of the same record is applied last.
template <class Prefix, class Compare>
std::vector<std::uint32_t> order_by_key(std::size_t n, Prefix prefix, Compare compare) {
  std::vector<sort_item> items(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    auto [hi, lo] = prefix(i);
    items[i] = {hi, lo, i};
  }
  std::sort(items.begin(), items.end(), [&](const sort_item& x, const sort_item& y) {
    if (x.hi != y.hi) return x.hi < y.hi;
    if (x.lo != y.lo) return x.lo < y.lo;
    int c = compare(x.index, y.index);
    return c < 0 || (c == 0 && x.index < y.index);
  });
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = items[i].index;
  return order;
}

}  // namespace

std::vector<std::uint32_t> key_order(const std::vector<model::record>& replicas) {
  return order_by_key(replicas.size(), [&](std::uint32_t i) { return prefix_of(replicas[i]); },
                      [&](std::uint32_t x, std::uint32_t y) { return compare_keys(replicas[x], replicas[y]); });
}

std::vector<std::uint32_t> key_order(std::vector<import_row>& rows) {
  for (auto& r : rows)
    if (r.key.empty()) r.make_key();
  return order_by_key(
      rows.size(), [&](std::uint32_t i) { return std::pair{be_prefix(rows[i].key, 0), be_prefix(rows[i].key, 8)}; },
      [&](std::uint32_t x, std::uint32_t y) { return rows[x].key.compare(rows[y].key); });
}

}  // namespace store
