// The writer's replica path: records their owners wrote elsewhere, received
// from a peer. Owner-authoritative: a newer version from the owner wins, an
// older one is ignored, and the same (origin, version) with another body is
// an integrity event — logged, never applied. The peer's cursor moves in the
// same transaction, so a resent batch changes nothing.
#include "store/model/validate.hpp"
#include "store/registry.hpp"
#include "store/txn_state.hpp"

namespace store {
namespace {

std::string event_json(const txn_state& s, const std::string& kind, const std::string& via,
                       const model::record& r, const std::string& detail) {
  std::string o = "{\"at\":";
  model::append_json_string(o, model::format_utc_ms(s.now));
  for (auto [k, v] : {std::pair<const char*, const std::string*>{"kind", &kind}, {"via", &via},
                      {"origin", &r.origin}, {"category", &r.category}, {"subject", &r.subject},
                      {"record_id", &r.record_id}, {"detail", &detail}}) {
    o += ",\"";
    o += k;
    o += "\":";
    model::append_json_string(o, model::printable(*v));
  }
  return o + ",\"version\":" + std::to_string(r.version) + "}";
}

void raise(txn_state& s, batch_result& res, const std::string& kind, const std::string& via,
           const model::record& r, const std::string& detail) {
  s.put_event(event_json(s, kind, via, r, detail));
  res.events.push_back(kind + ": " + r.category + "/" + r.subject + "/" + r.record_id + ": " + detail);
}

bool same_body(const model::record& a, const model::record& b) {
  return a.deleted == b.deleted && a.event_date == b.event_date && a.source == b.source &&
         model::same_json_text(a.fields_json, b.fields_json);  // a replica stored by an older binary may escape \n
}

// The peer's record as stored here, ingested now: encoded straight into the
// transaction's scratch buffer, no copy of the record.
const std::string& encode_replica(txn_state& s, const model::record& r) {
  encode_record_into(s.scratch, r.deleted, r.version, s.now, r.origin, r.category, r.subject, r.record_id,
                     r.event_date, r.source, r.fields_json);
  return s.scratch;
}

void put_new(txn_state& s, std::uint64_t id, const model::record& rec, const std::string& via, batch_result& res) {
  ++s.next_id;
  s.records_end->append(be64(id), encode_replica(s, rec));
  s.log_change(id, rec.version, via);
  if (!rec.deleted) ++s.count_delta[rec.category];
  s.digest_add(rec, +1);
  ++res.inserted;
}

void apply_replica(txn_state& s, const std::string& via, const model::record& r, batch_result& res) {
  std::string key = subject_key(r.subject, r.category, r.record_id);
  auto idv = s.subjects->put_if_absent(key, be64(s.next_id));
  if (!idv) return put_new(s, s.next_id, r, via, res);
  std::uint64_t id = read_be64(*idv);
  auto cur = s.t.get(s.tb.id2record, be64(id));
  if (!cur) throw store_error("store: subject index points at missing record id " + std::to_string(id));
  std::string old_value(*cur);
  model::record old = decode_record(old_value);
  if (old.origin != r.origin)
    return raise(s, res, "origin_conflict", via, r, "held here as owned by '" + old.origin + "'");
  if (r.version < old.version) { ++res.ignored_older; return; }
  if (r.version == old.version) {
    if (same_body(old, r)) { ++res.unchanged; return; }
    return raise(s, res, "integrity", via, r, "same origin and version as held here, different body");
  }
  s.t.put(s.tb.id2history, history_key(id, old.version), old_value);
  s.t.put(s.tb.id2record, be64(id), encode_replica(s, r));
  s.log_change(id, r.version, via);
  s.count_delta[r.category] += (r.deleted ? 0 : 1) - (old.deleted ? 0 : 1);
  s.digest_add(old, -1);
  s.digest_add(r, +1);
  ++res.updated;
}

// Never moves a cursor backwards for the same peer store: a late resend of
// an old batch must not make the next pull start over.
void move_cursor(txn_state& s, const peer_cursor& c) {
  if (auto v = s.t.get(s.tb.peer2cursor, c.peer)) {
    std::string inst;
    std::uint64_t seq = 0;
    decode_cursor(*v, inst, seq);
    if (!c.restart && inst == c.peer_instance && seq >= c.seq) return;
  }
  s.t.put(s.tb.peer2cursor, c.peer, encode_cursor(c.peer_instance, c.seq, c.stamp));
}

// Pipelined pushes queue batch N+1 before N commits: if N failed, N+1 must
// not move the cursor over N's changes.
void check_continuity(txn_state& s, const peer_cursor& c) {
  if (c.from_seq == 0) return;
  std::string inst;
  std::uint64_t seq = 0;
  if (auto v = s.t.get(s.tb.peer2cursor, c.peer)) decode_cursor(*v, inst, seq);
  if (inst != c.peer_instance) seq = 0;
  if (seq < c.from_seq)
    throw sync_gap_error("store: batch from " + c.peer + " continues from change " + std::to_string(c.from_seq) +
                         " but only " + std::to_string(seq) + " is applied here; resend from " + std::to_string(seq));
}

// A child's push ("up:" cursor) applies only while the child is admitted:
// batches already queued when a suspension committed are refused whole (the
// child then resends, and its next request is refused at the door).
void check_admitted(txn_state& s, const peer_cursor& c) {
  if (!c.peer.starts_with("up:")) return;
  auto v = s.t.get(s.tb.node2entry, c.peer.substr(3));
  if (!v) return;  // not in the registry: only in-process callers (tests) push so
  auto e = decode_node_entry(*v);
  if (e.state != node_state::admitted)
    throw registry_error("store: " + e.node_id + " is " + std::string(to_string(e.state)) + ": its batch is not applied");
}

}  // namespace

void apply_replicas(txn_state& s, const write_batch& b, batch_result& res) {
  if (b.cursor) {
    check_continuity(s, *b.cursor);
    check_admitted(s, *b.cursor);
  }
  static const std::string own;
  auto one = [&](const model::record& r) { apply_replica(s, !b.self.empty() && r.origin == b.self ? own : b.via, r, res); };
  if (b.replica_order.empty())
    for (const auto& r : b.replicas) one(r);
  else
    for (auto i : b.replica_order) one(b.replicas.at(i));
  if (b.cursor) move_cursor(s, *b.cursor);
}

}  // namespace store
