// Threads for handlers that block (a push waits for its commit; a pull's
// looks at the log): they run here and answer through a deferred response,
// so the server's few I/O threads stay free for everything else (the bank
// API above all). A pull that waits for a commit holds no thread here
// while it waits (long_poll.hpp).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "node/net/http_message.hpp"

namespace node::service {

// A handler that threw: logged, and answered 500 (once, by the caller).
net::http_response failed_answer(const std::string& path, const std::string& why);

class worker_pool {
public:
  explicit worker_pool(unsigned threads);
  ~worker_pool();  // stop()
  // Finishes what is queued, then joins. Idempotent.
  void stop();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  // A response that `fn(req)` produces on a worker thread. The body is
  // moved out of `req` (megabytes for a sync batch), the rest copied.
  net::http_response defer(std::function<net::http_response(const net::http_request&)> fn, net::http_request& req);
  // Runs `job` on a worker thread (it answers for itself).
  void post(std::function<void()> job);

private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace node::service
