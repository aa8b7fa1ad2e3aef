// "Something was committed": the writer's on_commit raises it; the pusher
// and long-polling pulls wait on it (with a timeout, since a CLI import in
// another process commits without telling this one).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace node::service {

class change_signal {
public:
  void notify() {
    {
      std::lock_guard lk(mu_);
      ++generation_;
    }
    cv_.notify_all();
  }
  std::uint64_t generation() {
    std::lock_guard lk(mu_);
    return generation_;
  }
  // Waits until the generation moves past `seen` or `timeout` passes.
  void wait(std::uint64_t seen, std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return generation_ != seen || stopping_; });
  }
  // The node is stopping: waits return at once from now on.
  bool stopped() {
    std::lock_guard lk(mu_);
    return stopping_;
  }
  void stop() {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

}  // namespace node::service
