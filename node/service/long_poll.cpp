#include "node/service/long_poll.hpp"

#include "node/net/log.hpp"

namespace node::service {

long_poll::long_poll(change_signal& changed, worker_pool& workers)
    : changed_(changed), workers_(workers), thread_([this] { run(); }) {}

long_poll::~long_poll() { stop(); }

void long_poll::stop() {
  changed_.stop();  // (the node stopped it already; a test may not have)
  if (thread_.joinable()) thread_.join();
  std::unique_lock lk(mu_);
  drained_.wait(lk, [this] { return waiters_.empty() && in_flight_ == 0; });
}

void long_poll::run() {
  auto gen = changed_.generation();
  while (!changed_.stopped()) {
    changed_.wait(gen, std::chrono::milliseconds(200));
    gen = changed_.generation();
    dispatch(false);
  }
  dispatch(true);
}

bool long_poll::add(std::chrono::steady_clock::time_point until, std::uint64_t seen, look fn) {
  auto w = std::make_shared<waiter>(waiter{until, std::move(fn)});
  std::lock_guard lk(mu_);
  if (stopped_) return false;  // the last dispatch has gone by: the caller answers
  waiters_.push_back(w);
  // A commit between the caller's look and now woke nobody: look again.
  if (changed_.generation() != seen) hand_over(w, false);
  return true;
}

std::size_t long_poll::waiting() {
  std::lock_guard lk(mu_);
  return waiters_.size();
}

// Each waiter not already being looked at goes to a worker for a look; one
// that is gets its last look when that one ends (finished()).
void long_poll::dispatch(bool stopping) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  stopped_ = stopping;
  for (auto& w : waiters_)
    if (!w->busy) hand_over(w, stopping || now >= w->until);
}

// With mu_ held: one look at a time per waiter.
void long_poll::hand_over(const std::shared_ptr<waiter>& w, bool last) {
  w->busy = true;
  ++in_flight_;
  workers_.post([this, w, last] {
    bool answered = true;  // a look that threw is answered by nobody here: the session's answer timeout speaks for it
    try {
      answered = w->fn(last);
    } catch (const std::exception& e) {
      net::log::error("handler_failed").kv("path", "/sync/v1/pull").kv("reason", e.what());
    }
    finished(w, answered || last);
  });
}

void long_poll::finished(const std::shared_ptr<waiter>& w, bool done) {
  std::lock_guard lk(mu_);
  --in_flight_;
  w->busy = false;
  if (done) waiters_.remove(w);
  else if (stopped_) hand_over(w, true);  // the node stopped while it looked
  if (waiters_.empty() && in_flight_ == 0) drained_.notify_all();
}

}  // namespace node::service
