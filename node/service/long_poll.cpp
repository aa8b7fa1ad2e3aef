#include "node/service/long_poll.hpp"

#include "node/net/log.hpp"

namespace node::service {

long_poll::long_poll(change_signal& changed, worker_pool& workers)
    : changed_(changed), workers_(workers), thread_([this] { run(); }) {}

long_poll::~long_poll() {
  changed_.stop();  // (the node stopped it already; a test may not have)
  thread_.join();
  std::unique_lock lk(mu_);
  drained_.wait(lk, [this] { return waiters_.empty(); });
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

void long_poll::add(std::chrono::steady_clock::time_point until, look fn) {
  auto w = std::make_shared<waiter>(waiter{until, std::move(fn)});
  std::lock_guard lk(mu_);
  waiters_.push_back(w);
  if (stopped_) hand_over(w, true);  // the last dispatch has gone by
}

std::size_t long_poll::waiting() {
  std::lock_guard lk(mu_);
  return waiters_.size();
}

// Each waiter not already being looked at goes to a worker for a look.
void long_poll::dispatch(bool stopping) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  stopped_ = stopping;
  for (auto& w : waiters_)
    if (!w->busy || stopping) hand_over(w, stopping || now >= w->until);
}

// With mu_ held. A waiter that answered leaves the list; one that threw is
// answered by nobody here: the session's answer timeout speaks for it.
void long_poll::hand_over(const std::shared_ptr<waiter>& w, bool last) {
  if (w->busy && !last) return;
  w->busy = true;
  workers_.post([this, w, last] {
    bool answered = true;
    try {
      answered = w->fn(last);
    } catch (const std::exception& e) {
      net::log::error("handler_failed").kv("path", "/sync/v1/pull").kv("reason", e.what());
    }
    std::lock_guard lk(mu_);
    w->busy = false;
    if (answered || last) waiters_.remove(w);
    if (waiters_.empty()) drained_.notify_all();
  });
}

}  // namespace node::service
