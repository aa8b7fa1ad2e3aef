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
  ~long_poll();  // after changed.stop(): every waiter answered, none in flight
  long_poll(const long_poll&) = delete;
  long_poll& operator=(const long_poll&) = delete;

  void add(std::chrono::steady_clock::time_point until, look fn);
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

  change_signal& changed_;
  worker_pool& workers_;
  std::mutex mu_;
  std::condition_variable drained_;
  std::list<std::shared_ptr<waiter>> waiters_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace node::service
