// Keeps a recent quality report for /metrics: one scan at start, then one
// every `interval`, on a thread of its own (a scan reads every record; a
// scrape must not). Stops with its destructor.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "node/quality/quality.hpp"

namespace node::quality {

class monitor {
public:
  monitor(store::environment& env, std::chrono::seconds interval);
  ~monitor();
  monitor(const monitor&) = delete;
  monitor& operator=(const monitor&) = delete;

  // Null until the first scan has finished.
  std::shared_ptr<const report> latest() const;

private:
  void loop();

  store::environment& env_;
  std::chrono::seconds interval_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<bool> stop_scan_{false};  // read by a scan in progress, without the lock
  std::shared_ptr<const report> latest_;
  std::thread thread_;
};

}  // namespace node::quality
