// Pulls waiting for something to send, without a thread each. A waiting
// long-poll used to hold one of the sync worker threads for up to its wait
// (5 s): children holding their allowed connections in long-polls filled
// the pool (8 children x 8 connections = 64 threads), and every other
// child's push and pull queued behind them. Here a waiter is a function;
// at each commit (and every 200 ms: another process's commit is seen by
// the store watch, but a look costs little) each one is handed to the
// workers for a look, and answers when it has something or its time is up.
#pragma once

#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "node/service/change_signal.hpp"
#include "node/service/worker_pool.hpp"

namespace node::service {

class long_poll {
public:
  // Runs on a worker. Answers (and returns true) when there is something
  // to send, or when `last` (its time is up, or the node is stopping).
  using look = std::function<bool(bool last)>;

  long_poll(change_signal& changed, worker_pool& workers);
  ~long_poll();  // stop()
  // Stops the change signal; returns once every waiter is answered and no
  // look is in flight. Idempotent.
  void stop();
  long_poll(const long_poll&) = delete;
  long_poll& operator=(const long_poll&) = delete;

  // Waits until `until` at most. `seen`: the change signal's generation
  // before the caller's own look (a commit since then is looked at at
  // once). False once the node is stopping: the caller answers itself.
  bool add(std::chrono::steady_clock::time_point until, std::uint64_t seen, look fn);
  std::size_t waiting();

private:
  struct waiter {
    std::chrono::steady_clock::time_point until;
    look fn;
    bool busy = false;  // handed to a worker: one look at a time
  };
  void run();
  void dispatch(bool stopping);
  void hand_over(const std::shared_ptr<waiter>& w, bool last);
  void finished(const std::shared_ptr<waiter>& w, bool done);

  change_signal& changed_;
  worker_pool& workers_;
  std::mutex mu_;
  std::condition_variable drained_;
  std::list<std::shared_ptr<waiter>> waiters_;
  bool stopped_ = false;
  std::size_t in_flight_ = 0;  // looks handed to the workers, not yet finished
  std::thread thread_;
};

}  // namespace node::service
