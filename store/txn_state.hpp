// Private to store/: the state of one write transaction of the writer,
// shared by the ways rows are applied (import, replicas from peers).
#pragma once

#include <algorithm>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "store/key_codec.hpp"
#include "store/lmdb_env.hpp"
#include "store/record_codec.hpp"
#include "store/writer.hpp"

namespace store {

inline std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string quarantine_json(const quarantine_entry& q);

// Everything one write transaction tracks; ids and sequence numbers are read
// from the tables at its start, so another process's writes are respected.
struct txn_state {
  txn& t;
  tables& tb;
  std::uint64_t next_id, next_seq, next_q, next_event;
  std::int64_t now;
  // The least version a record this node owns gets when it changes: set
  // when the store went back (a restore, a snapshot: raise_version_floor_in),
  // so later changes cannot reuse versions the network already holds.
  std::uint64_t version_floor = 0;
  std::map<std::string, std::int64_t> count_delta;
  std::string scratch;  // value encoding buffer, reused for every row
  // Appends to the two growing tables go through cursors parked at their
  // ends. LMDB frees write cursors with the transaction: close() first.
  std::optional<cursor> records_end, changes_end;
  // The subject index's cursor, left where the last row went: rows come in
  // key order (key_order), so the next one is often on the same leaf and
  // LMDB finds it there instead of searching from the root.
  std::optional<cursor> subjects;
  // The audit chain's head (next seq, previous hash), read once per
  // transaction: a group of API requests appends many entries in a row.
  std::optional<std::pair<std::uint64_t, std::string>> audit_head;
  // Uses of each consent in this transaction, written once at its end
  // (flush_access): a group of queries under one consent rewrites it once.
  std::map<std::string, std::uint64_t> consent_uses;
  // Consents found live in this transaction (a withdrawal in it takes its
  // id out again): each is read once however many requests used it.
  std::set<std::string> consents_live;

  txn_state(txn& tx, tables& tabs)
      : t(tx), tb(tabs), next_id(next_u64_key(tx, tabs.id2record)),
        next_seq(next_u64_key(tx, tabs.seq2change)), next_q(next_u64_key(tx, tabs.quarantine)),
        next_event(next_u64_key(tx, tabs.events)),
        now(now_ms()) {
    records_end.emplace(tx, tabs.id2record);
    changes_end.emplace(tx, tabs.seq2change);
    subjects.emplace(tx, tabs.subject2id);
    if (auto f = tx.get(tabs.meta, "version_floor"); f && f->size() == 8) version_floor = read_be64(*f);
  }
  // The version an owner's change gets after `held` (0: a new record).
  std::uint64_t next_version(std::uint64_t held) const { return std::max(held + 1, version_floor); }
  void close() {
    records_end.reset();
    changes_end.reset();
    subjects.reset();
  }

  void log_change(std::uint64_t id, std::uint64_t version, const std::string& via = {}) {
    changes_end->append(be64(next_seq++), encode_change({id, version, change_op::put, via}));
  }
  void put_event(const std::string& json) {
    t.put(tb.events, be64(next_event++), json, MDB_APPEND);
  }
  void put_quarantine(quarantine_entry q) {
    q.at_ms = now;
    t.put(tb.quarantine, be64(next_q++), quarantine_json(q), MDB_APPEND);
  }
  // Digest deltas by digests key, written with the counts at commit.
  std::map<std::string, std::pair<std::int64_t, std::uint64_t>> digest_delta;
  void digest_add(std::string_view category, std::string_view subject, std::string_view record_id,
                  std::string_view origin, std::uint64_t version, bool deleted, int sign) {
    auto& d = digest_delta[digest_key(subject, category)];
    if (!deleted) d.first += sign;
    auto h = model::digest_hash(category, subject, record_id, origin, version, deleted);
    d.second += sign > 0 ? h : ~h + 1;  // minus h, modulo 2^64
  }
  void digest_add(const model::record& r, int sign) {
    digest_add(r.category, r.subject, r.record_id, r.origin, r.version, r.deleted, sign);
  }
  void flush_counts() {
    for (const auto& [key, delta] : digest_delta) {
      std::uint64_t n = 0, h = 0;
      if (auto cur = t.get(tb.digests, key); cur && cur->size() == 16) {
        n = read_be64(*cur);
        h = read_be64(cur->substr(8));
      }
      t.put(tb.digests, key, be64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, static_cast<std::int64_t>(n) + delta.first))) +
                                 be64(h + delta.second));
    }
    for (const auto& [cat, delta] : count_delta) {
      auto cur = t.get(tb.counts, cat);
      std::int64_t n = cur ? static_cast<std::int64_t>(read_be64(*cur)) : 0;
      t.put(tb.counts, cat, be64(static_cast<std::uint64_t>(std::max<std::int64_t>(0, n + delta))));
    }
  }
};


// Applying a batch's rows inside the transaction (writer_import.cpp,
// writer_replica.cpp).
batch_result apply_batch(txn_state& s, write_batch& b);
void apply_replicas(txn_state& s, const write_batch& b, batch_result& res);
void apply_registry(txn_state& s, const write_batch& b, batch_result& res);
void apply_access(txn_state& s, const write_batch& b);
void flush_access(txn_state& s);  // before commit

}  // namespace store
