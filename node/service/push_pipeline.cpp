#include "node/service/push_pipeline.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "node/net/log.hpp"
#include "store/reader.hpp"

namespace node::service {
namespace {

namespace json = boost::json;

struct durable_cursor {
  std::uint64_t seq = 0;
  std::string instance;
  std::uint64_t stamp = 0;
};

durable_cursor durable(store::environment& env, const std::string& key) {
  auto cur = store::reader(env).cursor_of(key);
  return cur ? durable_cursor{cur->seq, cur->peer_instance, cur->stamp} : durable_cursor{};
}

// 409 sync_gap when `b` continues from a change this store does not hold
// for that child's store instance (a restart, or a batch that failed).
std::optional<net::http_response> gap_answer(const durable_cursor& cur, const replication::change_batch& b) {
  std::uint64_t held = cur.instance == b.instance ? cur.seq : 0;
  if (!b.after_seq || *b.after_seq <= held) return std::nullopt;
  json::object o{{"error", "sync_gap"}, {"ack", held}, {"instance", cur.instance},
                 {"detail", "this batch continues from change " + std::to_string(*b.after_seq) + " but only " +
                                std::to_string(held) + " is held here: resend from the ack"}};
  return net::http_response::json(409, json::serialize(o));
}

// A resend (a lost answer, a restarted child) starts at or before what is
// durable here: its changes up to the cursor were applied — or refused,
// quarantined and charged to the child — once. Applying them again would
// charge each refusal again (a child suspended for one refusal sent twice)
// and repeat its quarantine entries and integrity events.
void drop_held(replication::change_batch& b, const durable_cursor& cur) {
  if (cur.instance != b.instance || cur.seq == 0) return;
  auto& ch = b.changes;
  ch.erase(std::remove_if(ch.begin(), ch.end(), [&](const auto& c) { return c.seq <= cur.seq; }), ch.end());
}

}  // namespace

// What finished while a push waited: summed into its answer.
struct push_pipeline::drained {
  std::uint64_t inserted = 0, updated = 0, unchanged = 0, ignored_older = 0;
  json::array events;
  std::string failure;  // the first batch that did not commit, and why
};

// A new connection's pipe; the child's pipes on connections gone quiet are
// dropped once nothing of theirs is committing (a request under way holds
// its own reference, and its lock) — unless one of their batches failed:
// the failure is kept for that pipe's next push (its connection may be
// alive: a key-order catch-up's last batch waits on just that answer),
// until the pipe has been quiet longer than any connection stays open.
std::shared_ptr<push_pipeline::child> push_pipeline::child_of(const std::string& node_id, const std::string& connection) {
  std::lock_guard lk(mu_);
  auto& c = children_[{node_id, connection}];
  if (c) return c;
  c = std::make_shared<child>();
  // Every child's quiet pipes, not only this one's: a child that never
  // connects again (suspended, moved) must not keep its pipes for ever.
  for (auto it = children_.begin(); it != children_.end();) {
    bool idle = it->first != std::pair{node_id, connection} && it->second.use_count() == 1 && it->second->mu.try_lock();
    if (idle && quiet_and_done(it->first.first, it->first.second, *it->second)) {
      it = children_.erase(it);
      continue;
    }
    ++it;
  }
  return c;
}

// For child_of, with `other.mu` held (and released here): may that pipe go?
bool push_pipeline::quiet_and_done(const std::string& node_id, const std::string& connection, child& other) {
  bool done = std::all_of(other.inflight.begin(), other.inflight.end(), [](auto& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  });
  drained d;
  if (done) drain(other, 0, d);  // all ready: nothing waits
  if (!d.failure.empty() && other.failed.empty()) other.failed = d.failure;
  bool stale = std::chrono::steady_clock::now() - other.last_push >= forget_after_;
  bool drop = done && (other.failed.empty() || stale);
  if (drop && !other.failed.empty())
    net::log::warn("sync_push_failure_dropped").kv("peer", node_id).kv("connection", connection)
        .kv("reason", other.failed).kv("detail", "its connection has been quiet too long to hear it; the child resends from its ack");
  other.mu.unlock();
  return drop;
}

// Waits until at most `keep` batches are still committing. After a failure
// the rest are waited for too (the writer refuses them: they do not continue
// from the stored cursor) and the pipe starts over from the durable cursor.
void push_pipeline::drain(child& c, std::size_t keep, drained& out) {
  while (c.inflight.size() > keep || (!out.failure.empty() && !c.inflight.empty())) {
    auto f = std::move(c.inflight.front());
    c.inflight.pop_front();
    // The writer may be waiting for this child's next batch to join the
    // commit, which will not come before this answer: commit now.
    if (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) writer_.hurry();
    try {
      auto r = f.get();
      out.inserted += r.inserted;
      out.updated += r.updated;
      out.unchanged += r.unchanged;
      out.ignored_older += r.ignored_older;
      for (auto& e : r.events) out.events.push_back(json::string(e));
    } catch (const std::exception& e) {
      if (out.failure.empty()) out.failure = e.what();
      c.valid = false;
    }
  }
}

net::http_response push_pipeline::push(const replication::peer& from, replication::change_batch& b,
                                       const std::string& connection) {
  auto key = "up:" + from.node_id;
  auto pipe = child_of(from.node_id, connection);
  auto& c = *pipe;
  std::lock_guard lk(c.mu);
  c.last_push = std::chrono::steady_clock::now();
  drained d;
  if (!c.failed.empty()) d.failure = std::exchange(c.failed, {}), c.valid = false;
  bool continues = b.after_seq && c.valid && c.instance == b.instance && *b.after_seq == c.queued;
  if (!continues) {
    drain(c, 0, d);
    c.valid = false;
    if (d.failure.empty()) {
      auto cur = durable(env_, key);
      if (auto gap = gap_answer(cur, b)) return *gap;
      drop_held(b, cur);
    }
  }
  std::vector<replication::poison> refused;
  if (d.failure.empty()) refused = enqueue(c, from, b, key, d);
  if (!d.failure.empty()) {
    net::log::error("sync_push_failed").kv("peer", from.node_id).kv("reason", d.failure);
    return net::http_response::error(503, "apply_failed", d.failure + " (the child resends from its acknowledged position)");
  }
  return answer(from.node_id, key, b.instance, c.queued, refused, d);
}

// The batch to the writer. An empty batch asks where we stand, and a batch
// without after_seq is from a sender that does not pipeline: both are
// answered when durable, as is every batch while the writer's queue is over
// its bound; others once the pipeline behind them is at most `depth` deep.
std::vector<replication::poison> push_pipeline::enqueue(child& c, const replication::peer& from,
                                                        replication::change_batch& b, const std::string& key, drained& d) {
  // 接入后安全管理: refusals are charged to the child with the batch itself.
  // Said when it commits: the suspended child's next request never gets here.
  auto said = [](const store::batch_result& r) {
    for (const auto& id : r.suspended)
      net::log::error("child_suspended").kv("peer", id).kv("reason", "security violations reached the threshold");
  };
  auto p = replication::submit_batch(writer_, from, true, b, key, suspend_after_(), said);
  c.inflight.push_back(std::move(p.done));
  c.valid = true;
  c.instance = b.instance;
  c.queued = b.last_seq;
  bool pipelined = b.after_seq && !b.changes.empty() && writer_.queued_replicas() <= max_queued_;
  drain(c, pipelined ? depth : 0, d);
  return std::move(p.refused);
}

net::http_response push_pipeline::answer(const std::string& from, const std::string& key, const std::string& instance,
                                         std::uint64_t queued,
                                         const std::vector<replication::poison>& refusals, drained& d) const {
  json::array refused;
  for (const auto& r : refusals) refused.push_back(json::object{{"seq", r.seq}, {"reason", r.reason}});
  if (!refused.empty() || !d.events.empty())
    net::log::warn("sync_push_problems").kv("peer", from).kv("refused", static_cast<long long>(refused.size()))
        .kv("events", static_cast<long long>(d.events.size()));
  // The ack is for the sender's store instance. What is durable here may
  // still be another instance's (a restored child's first batches, whose
  // predecessors have not committed yet): of this one, nothing is held.
  auto cur = durable(env_, key);
  std::uint64_t ack = cur.instance == instance ? cur.seq : 0;
  json::object o{{"ack", ack}, {"instance", instance}, {"queued", queued},
                 {"inserted", d.inserted}, {"updated", d.updated}, {"unchanged", d.unchanged},
                 {"ignored_older", d.ignored_older}, {"refused", std::move(refused)}, {"events", std::move(d.events)},
                 // what this parent accepts in one batch (a child sends at most the default without it)
                 {"max_changes", replication::batch_limits::large().max_changes},
                 {"max_bytes", replication::batch_limits::large().max_bytes}};
  // The child's stamp of its change at `ack`, as it sent it: the child
  // compares it with its own (parent_link: a store that went back).
  if (ack && cur.stamp) o["ack_stamp"] = replication::stamp_hex(cur.stamp);
  return net::http_response::json(200, json::serialize(o));
}

}  // namespace node::service
