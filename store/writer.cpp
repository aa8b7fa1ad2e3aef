#include "store/writer.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <pthread.h>

#include "store/key_codec.hpp"
#include "store/lmdb_env.hpp"
#include "store/model/validate.hpp"
#include "store/record_codec.hpp"

namespace store {
namespace {

// Batches waiting longer than this many rows are left for the next commit,
// bounding the transaction's dirty pages (and so the writer's memory).
constexpr std::size_t max_rows_per_commit = 100000;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

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

// Everything one write transaction tracks; ids and sequence numbers are read
// from the tables at its start, so another process's writes are respected.
struct txn_state {
  txn& t;
  tables& tb;
  std::uint64_t next_id, next_seq, next_q;
  std::int64_t now;
  std::map<std::string, std::int64_t> count_delta;
  std::string scratch;  // value encoding buffer, reused for every row
  // Appends to the two growing tables go through cursors parked at their
  // ends. LMDB frees write cursors with the transaction: close() first.
  std::optional<cursor> records_end, changes_end;

  txn_state(txn& tx, tables& tabs)
      : t(tx), tb(tabs), next_id(next_u64_key(tx, tabs.id2record)),
        next_seq(next_u64_key(tx, tabs.seq2change)), next_q(next_u64_key(tx, tabs.quarantine)),
        now(now_ms()) {
    records_end.emplace(tx, tabs.id2record);
    changes_end.emplace(tx, tabs.seq2change);
  }
  void close() {
    records_end.reset();
    changes_end.reset();
  }

  void log_change(std::uint64_t id, std::uint64_t version) {
    changes_end->append(be64(next_seq++), encode_change({id, version, change_op::put}));
  }
  void put_quarantine(quarantine_entry q) {
    q.at_ms = now;
    t.put(tb.quarantine, be64(next_q++), quarantine_json(q), MDB_APPEND);
  }
  void flush_counts() {
    for (const auto& [cat, delta] : count_delta) {
      auto cur = t.get(tb.counts, cat);
      std::int64_t n = cur ? static_cast<std::int64_t>(read_be64(*cur)) : 0;
      t.put(tb.counts, cat, be64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, n + delta))));
    }
  }
};

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
  s.records_end->append(be64(id), encode_row(s, origin, row, 1));
  s.log_change(id, 1);
  ++s.count_delta[row.category];
  ++res.inserted;
}

// An owner's re-import: same content is no change; new content is the next
// version, and the old one moves to history. Rows are only read, never
// moved from: a failed group commit retries the same batch.
void apply_row(txn_state& s, const std::string& origin, const import_row& row,
               const std::string& key, batch_result& res) {
  // One search: claims the next id for a new key, or finds the existing id.
  auto idv = s.t.put_if_absent(s.tb.subject2id, key, be64(s.next_id));
  if (!idv) return insert_new(s, origin, s.next_id, row, res);
  std::uint64_t id = read_be64(*idv);
  auto cur = s.t.get(s.tb.id2record, be64(id));
  if (!cur) throw store_error("store: subject index points at missing record id " + std::to_string(id));
  std::string old_value(*cur);  // views die with the next put
  model::record old = decode_record(old_value);
  if (old.origin != origin) {
    quarantine_entry q{"", row.line, row.category, "record_id",
                       "record is owned by node '" + old.origin +
                           "'; only its owner changes it (file an objection there)", row.record_id, 0};
    res.rejected.push_back(q);
    return s.put_quarantine(std::move(q));
  }
  if (same_content(old, row)) { ++res.unchanged; return; }
  s.t.put(s.tb.id2history, history_key(id, old.version), old_value);
  s.t.put(s.tb.id2record, be64(id), encode_row(s, origin, row, old.version + 1));
  s.log_change(id, old.version + 1);
  if (old.deleted) ++s.count_delta[row.category];
  ++res.updated;
}

batch_result apply_batch(txn_state& s, write_batch& b) {
  batch_result res;
  if (b.order.empty()) b.order = key_order(b.rows);
  for (auto i : b.order) apply_row(s, b.origin, b.rows[i], b.rows[i].key, res);
  for (const auto& q : b.quarantine) s.put_quarantine(q);
  for (auto& q : res.rejected) q.at_ms = s.now;
  return res;
}

struct job {
  write_batch batch;
  std::promise<batch_result> done;
};

}  // namespace

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

}  // namespace

std::vector<std::uint32_t> key_order(std::vector<import_row>& rows) {
  std::vector<sort_item> items(rows.size());
  for (std::uint32_t i = 0; i < rows.size(); ++i) {
    if (rows[i].key.empty()) rows[i].make_key();
    items[i] = {be_prefix(rows[i].key, 0), be_prefix(rows[i].key, 8), i};
  }
  // Ties on the prefix fall back to the whole key, then to the index, so
  // equal keys keep file order and a later row of the same record wins.
  std::sort(items.begin(), items.end(), [&](const sort_item& x, const sort_item& y) {
    if (x.hi != y.hi) return x.hi < y.hi;
    if (x.lo != y.lo) return x.lo < y.lo;
    int c = rows[x.index].key.compare(rows[y.index].key);
    return c < 0 || (c == 0 && x.index < y.index);
  });
  std::vector<std::uint32_t> order(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) order[i] = items[i].index;
  return order;
}

struct writer::impl {
  environment& env;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<job> queue;
  bool stopping = false;
  std::thread thread;

  explicit impl(environment& e) : env(e), thread([this] { run(); }) {}

  void run();
  std::vector<job> take_group();
  void commit_group(std::vector<job>& group);
  void commit(std::vector<job*>& jobs, std::vector<batch_result>& out);
};

std::vector<job> writer::impl::take_group() {
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return stopping || !queue.empty(); });
  std::vector<job> group;
  std::size_t rows = 0;
  while (!queue.empty() && (group.empty() || rows + queue.front().batch.rows.size() <= max_rows_per_commit)) {
    rows += queue.front().batch.rows.size();
    group.push_back(std::move(queue.front()));
    queue.pop_front();
  }
  return group;
}

// One transaction for all `jobs`; throws (and writes nothing) on failure.
void writer::impl::commit(std::vector<job*>& jobs, std::vector<batch_result>& out) {
  auto& ei = env.internals();
  bool durable = std::any_of(jobs.begin(), jobs.end(), [](job* j) { return j->batch.durable; });
  // NOSYNC only for this commit: bulk imports sync once at their end.
  check(mdb_env_set_flags(ei.env, MDB_NOSYNC, durable ? 0 : 1), "set sync mode");
  txn t(ei.env, true);
  txn_state s(t, ei.t);
  out.clear();
  for (auto* j : jobs) {
    out.push_back(apply_batch(s, j->batch));
    out.back().last_seq = s.next_seq - 1;
  }
  s.flush_counts();
  s.close();
  t.commit();
  for (std::size_t i = 0; i < jobs.size(); ++i) out[i].recycled = std::move(jobs[i]->batch.rows);
  if (!durable) env.release_mapped_pages();  // bulk import: keep resident memory bounded
}

void writer::impl::commit_group(std::vector<job>& group) {
  std::vector<job*> all;
  for (auto& j : group) all.push_back(&j);
  std::vector<batch_result> results;
  try {
    commit(all, results);
    for (std::size_t i = 0; i < group.size(); ++i) group[i].done.set_value(std::move(results[i]));
    return;
  } catch (...) {
    if (group.size() == 1) return group[0].done.set_exception(std::current_exception());
  }
  // One bad batch must not fail its neighbours: retry each on its own.
  for (auto& j : group) {
    std::vector<job*> one{&j};
    try {
      commit(one, results);
      j.done.set_value(std::move(results[0]));
    } catch (...) {
      j.done.set_exception(std::current_exception());
    }
  }
}

void writer::impl::run() {
  pthread_setname_np(pthread_self(), "cn-writer");  // visible in top -H and perf
  for (;;) {
    auto group = take_group();
    if (group.empty()) return;  // stopping and drained
    commit_group(group);
  }
}

writer::writer(environment& env) : impl_(std::make_unique<impl>(env)) {}

writer::~writer() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

std::future<batch_result> writer::submit(write_batch batch) {
  job j{std::move(batch), {}};
  auto f = j.done.get_future();
  {
    std::lock_guard lk(impl_->mu);
    impl_->queue.push_back(std::move(j));
  }
  impl_->cv.notify_one();
  return f;
}

}  // namespace store
