// The parent's side of a pipelined push. A child's batch is checked and
// queued on the writer, and answered while it commits: the child collects
// and sends its next batch meanwhile, so the two nodes and the writer work
// at once instead of in turn. At most `depth` earlier batches per child are
// still committing when an answer goes out, and `ack` only ever names what
// is durable here; the writer refuses a batch that does not continue from
// the stored cursor, so a failed batch is never skipped, and a batch of a
// child that is no longer admitted (suspended meanwhile), so none slips in.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "node/net/http_message.hpp"
#include "store/environment.hpp"
#include "store/writer.hpp"
#include "sync/exchange.hpp"

namespace node::service {

class push_pipeline {
public:
  // Batches of one child that may still be committing when its next one is
  // answered: more than one lets the writer group them into one commit.
  // Enough that while the writer commits up to 100,000 changes (five
  // 20,000-change batches) the next five decode and queue behind it
  // (bench_sync (a), 1M records: 116,000-122,000 records/s with 3 and
  // commits of 20,000-40,000; 133,000-163,000 with 8 and the writer's
  // group wait, commits of 80,000-100,000).
  static constexpr std::size_t depth = 8;
  // Across all children: once this many replicas wait on the writer
  // (queued or committing), a push is answered only when its own batches
  // have committed. Children catching up at once then hold about this many
  // decoded changes in memory (plus a batch each), not `depth` full
  // batches each (bench_sync: the provincial's peak rose from ~340 to
  // ~420 MB with this at 200,000 and depth 8).
  static constexpr std::size_t max_queued_changes = 200000;

  // `suspend_after` says, at each batch, how many refused changes (security
  // violations) suspend a child; 0 = never. A function: SIGHUP may change it.
  using threshold = std::function<std::uint64_t()>;
  push_pipeline(store::environment& env, store::writer& w, threshold suspend_after = [] { return std::uint64_t{0}; },
                std::size_t max_queued = max_queued_changes)
      : env_(env), writer_(w), suspend_after_(std::move(suspend_after)), max_queued_(max_queued) {}
  // `b` has passed the wire checks and names `from` (its certificate).
  // The records are moved out of `b` into the writer's batch. `connection`
  // ("ip:port" of the child's end) keeps a pipe per connection: a batch's
  // failure is said on the connection that sent it, where the child reads
  // it — not to a request the child gave up on over another connection,
  // whose answer nobody reads (a key-order catch-up's batches all name one
  // position, so only that answer tells the child one of them failed).
  net::http_response push(const replication::peer& from, replication::change_batch& b, const std::string& connection = {});
  net::http_response push(const replication::peer& from, replication::change_batch&& b, const std::string& connection = {}) {
    return push(from, b, connection);
  }

  // Pipes kept (one per child connection that pushed and whose batches may
  // still be committing): connections gone quiet are dropped, so this stays
  // near the number of children pushing.
  std::size_t open_pipes() {
    std::lock_guard lk(mu_);
    return children_.size();
  }
  // A quiet pipe keeping a failure for its connection's next push is
  // dropped, failure and all (logged), once quiet this long: the server
  // closes a connection idle for its read timeout (30 s), so that push
  // will not come.
  static constexpr std::chrono::minutes forget_failure_after{10};
  void forget_failures_after(std::chrono::milliseconds after) { forget_after_ = after; }

private:
  struct child {
    std::mutex mu;  // one batch of a connection at a time, in order
    bool valid = false;
    std::string instance;
    std::uint64_t queued = 0;  // last_seq of the newest batch handed to the writer
    std::deque<std::future<store::batch_result>> inflight;
    // A failure collected while dropping quiet pipes (child_of): said at
    // this pipe's next push, which may yet come.
    std::string failed;
    std::chrono::steady_clock::time_point last_push;
  };
  struct drained;
  std::shared_ptr<child> child_of(const std::string& node_id, const std::string& connection);
  bool quiet_and_done(const std::string& node_id, const std::string& connection, child& other);
  void drain(child& c, std::size_t keep, drained& out);
  std::vector<replication::poison> enqueue(child& c, const replication::peer& from, replication::change_batch& b,
                                           const std::string& key, drained& d);
  net::http_response answer(const std::string& from, const std::string& key, const std::string& instance, std::uint64_t queued,
                            const std::vector<replication::poison>& refusals, drained& d) const;

  store::environment& env_;
  store::writer& writer_;
  threshold suspend_after_;
  std::size_t max_queued_;
  std::chrono::milliseconds forget_after_ = forget_failure_after;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<child>> children_;  // (node id, connection)
};

}  // namespace node::service
