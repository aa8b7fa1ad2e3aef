#include "store/writer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/headroom.hpp"
#include "store/txn_state.hpp"

namespace store {
namespace {

// Batches waiting longer than this many rows are left for the next commit,
// bounding the transaction's dirty pages (and so the writer's memory).
constexpr std::size_t max_rows_per_commit = 100000;
// A child catching up sends batch after batch. Committed one by one, each
// rewrites most pages of the randomly keyed subject index (bench_sync, 1M
// records: ~7 us per change in 20,000-change commits, ~4.5 us in
// 80,000-change ones), so while every batch taken says more is coming and no
// one waits on any of them, the writer waits this long for the next to join.
constexpr auto default_group_wait = std::chrono::milliseconds(100);
// A bulk import lets the store's pages it mapped stay mapped up to this.
constexpr std::size_t release_budget = std::size_t{256} << 20;

struct job {
  write_batch batch;
  // Exactly one of the two: submit waits on a promise, submit_then is
  // called on the writer thread with the outcome.
  std::optional<std::promise<batch_result>> done;
  std::function<void(settled_batch)> then;
  std::uint64_t ticket = 0;  // its place in the queue's order (writer::hurry)

  void succeed(batch_result r) {
    if (done) return done->set_value(std::move(r));
    call_then(settled_batch(std::move(r)));
  }
  void fail(std::exception_ptr e) {
    if (done) return done->set_exception(e);
    call_then(settled_batch(std::move(e)));
  }
  // A continuation that throws must not take the writer down, nor make it
  // commit the batch again: it is the caller's bug, contained here.
  void call_then(settled_batch s) noexcept {
    if (!then) return;
    try {
      then(std::move(s));
    } catch (...) {
    }
  }
};

}  // namespace

struct writer::impl {
  environment& env;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<job> queue;
  bool stopping = false;
  std::uint64_t tickets = 0;        // handed out by enqueue, in order
  std::uint64_t hurry_through = 0;  // someone waits on the jobs up to this ticket
  std::chrono::milliseconds group_wait = default_group_wait;
  std::function<void(std::uint64_t)> committed;
  std::string signal_file;  // empty: commits are not announced
  std::atomic<std::size_t> replicas{0};  // queued or committing
  headroom room;  // zeroed blocks ahead of the last page, for durable commits
  std::thread thread;

  impl(environment& e, std::string signal) : env(e), signal_file(std::move(signal)), thread([this] { run(); }) {}

  void run();
  void enqueue(job j);  // counts its replicas, wakes the thread
  struct group {
    std::vector<job> jobs;
    std::size_t rows = 0;
    bool all_more = true;  // every job says its sender has more behind it
  };
  void take(group& g);
  std::vector<job> take_group();
  void commit_group(std::vector<job>& group);
  void committed_now(std::uint64_t id);
  std::uint64_t commit(std::vector<job*>& jobs, std::vector<batch_result>& out);
};

// Moves queued jobs into `g` while they fit. Replicas count like rows:
// many children's batches queued at once make no commit bigger than this.
void writer::impl::take(group& g) {
  auto size = [](const job& j) { return j.batch.rows.size() + j.batch.replicas.size(); };
  while (!queue.empty() && (g.jobs.empty() || g.rows + size(queue.front()) <= max_rows_per_commit)) {
    g.rows += size(queue.front());
    g.all_more = g.all_more && queue.front().batch.more_coming;
    g.jobs.push_back(std::move(queue.front()));
    queue.pop_front();
  }
}

std::vector<job> writer::impl::take_group() {
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return stopping || !queue.empty(); });
  group g;
  take(g);
  // Wait for more only while every job taken says more is coming (no one
  // else's write sits in the group), no one waits on any of them (hurry),
  // and the next batch could still join.
  auto until = std::chrono::steady_clock::now() + group_wait;
  auto may_wait = [&] {
    return !stopping && !g.jobs.empty() && g.all_more && g.rows < max_rows_per_commit && queue.empty() &&
           g.jobs.front().ticket > hurry_through;
  };
  while (may_wait()) {
    auto seen = hurry_through;
    if (!cv.wait_until(lk, until, [&] { return stopping || hurry_through != seen || !queue.empty(); })) break;
    take(g);
  }
  return std::move(g.jobs);
}

// One transaction for all `jobs`; throws (and writes nothing) on failure.
// Returns the commit's id (what a reader begun after it sees).
std::uint64_t writer::impl::commit(std::vector<job*>& jobs, std::vector<batch_result>& out) {
  auto& ei = env.internals();
  bool durable = std::any_of(jobs.begin(), jobs.end(), [](job* j) { return j->batch.durable; });
  // A bulk import's commits (not durable) flush their pages but not the
  // meta page that names them, which the next commit's flush or the
  // import's final sync carries: one flush per commit instead of two. Never
  // MDB_NOSYNC: the disk may then keep the meta page of a commit and not
  // its pages, and a power loss mid-import would damage the whole store
  // (cost of the flush: a 200,000-row import into 1M records 1.70-1.95 s
  // -> 1.93-2.06 s).
  check(mdb_env_set_flags(ei.env, MDB_NOMETASYNC, durable ? 0 : 1), "set sync mode");
  txn t(ei.env, true);
  if (durable) room.keep(ei.env);  // before any page is written: see headroom.hpp
  txn_state s(t, ei.t);
  out.clear();
  for (auto* j : jobs) {
    out.push_back(apply_batch(s, j->batch));
    apply_replicas(s, j->batch, out.back());
    apply_registry(s, j->batch, out.back());
    apply_access(s, j->batch);
    out.back().last_seq = s.next_seq - 1;
  }
  flush_access(s);
  s.flush_counts();
  s.close();
  std::optional<std::string> instance;
  if (std::any_of(jobs.begin(), jobs.end(), [](job* j) { return j->batch.renew_instance; })) {
    instance = random_hex(16);
    t.put(ei.t.meta, "instance_id", *instance);
    raise_version_floor_in(t, ei.t);  // the store went back: see raise_version_floor_in
  }
  std::uint64_t id = mdb_txn_id(t.get());
  t.commit();
  if (instance) env.set_instance_id(std::move(*instance));
  for (std::size_t i = 0; i < jobs.size(); ++i) out[i].recycled = std::move(jobs[i]->batch.rows);
  if (!durable) env.release_mapped_pages(release_budget);  // bulk import: keep resident memory bounded
  return id;
}

// Setting the signal file's times is an inotify event for a running node
// (IN_ATTRIB, or IN_CREATE when it was missing); the file does not grow.
// No permission: the node's waiters have timeouts.
void writer::impl::committed_now(std::uint64_t id) {
  if (!signal_file.empty()) {
    int fd = ::open(signal_file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      (void)::futimens(fd, nullptr);
      ::close(fd);
    }
  }
  if (committed) committed(id);
}

void writer::impl::commit_group(std::vector<job>& group) {
  std::vector<job*> all;
  for (auto& j : group) all.push_back(&j);
  std::vector<batch_result> results;
  std::optional<std::uint64_t> id;
  try {
    id = commit(all, results);
  } catch (...) {
    if (group.size() == 1) return group[0].fail(std::current_exception());
  }
  if (id) {  // outside the try: what runs after a commit must never cause a second one
    committed_now(*id);
    for (std::size_t i = 0; i < group.size(); ++i) group[i].succeed(std::move(results[i]));
    return;
  }
  // One bad batch must not fail its neighbours: retry each on its own.
  for (auto& j : group) {
    std::vector<job*> one{&j};
    try {
      id = commit(one, results);
    } catch (...) {
      j.fail(std::current_exception());
      continue;
    }
    committed_now(*id);
    j.succeed(std::move(results[0]));
  }
}

void writer::impl::run() {
  pthread_setname_np(pthread_self(), "cn-writer");  // visible in top -H and perf
  for (;;) {
    auto group = take_group();
    if (group.empty()) return;  // stopping and drained
    std::size_t n = 0;
    for (const auto& j : group) n += j.batch.replicas.size();
    commit_group(group);
    replicas -= n;  // settled, committed or failed
  }
}

std::string commit_signal_file(const environment& env) { return env.dir() + "/" + commit_signal_name; }

writer::writer(environment& env, announce a)
    : impl_(std::make_unique<impl>(env, a == announce::commits ? commit_signal_file(env) : std::string())) {}

writer::~writer() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

void writer::on_commit(std::function<void(std::uint64_t)> fn) { impl_->committed = std::move(fn); }

std::size_t writer::queued_replicas() const { return impl_->replicas; }

void writer::group_wait(std::chrono::milliseconds wait) {
  std::lock_guard lk(impl_->mu);
  impl_->group_wait = wait;
}

void writer::hurry() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->hurry_through = impl_->tickets;
  }
  impl_->cv.notify_one();
}

void writer::impl::enqueue(job j) {
  replicas += j.batch.replicas.size();
  {
    std::lock_guard lk(mu);
    j.ticket = ++tickets;
    queue.push_back(std::move(j));
  }
  cv.notify_one();
}

void writer::submit_then(write_batch batch, std::function<void(settled_batch)> then) {
  impl_->enqueue(job{std::move(batch), std::nullopt, std::move(then)});
}

std::future<batch_result> writer::submit(write_batch batch) {
  job j{std::move(batch), std::promise<batch_result>(), {}};
  auto f = j.done->get_future();
  impl_->enqueue(std::move(j));
  return f;
}

batch_result commit_one(writer& w, registry_op op) {
  write_batch b;
  b.registry.push_back(std::move(op));
  return w.submit(std::move(b)).get();
}

batch_result commit_one(writer& w, access_op op) {
  write_batch b;
  b.access.push_back(std::move(op));
  return w.submit(std::move(b)).get();
}

}  // namespace store
