// Keeps a recent quality report for /metrics: one scan at start, then one
// every `interval`, on a thread of its own (a scan reads every record; a
// scrape must not). A store of more than `large_store` records is first
// scanned `first_delay` after start, not at once: a restart usually brings a
// catch-up, and a scan of a million records (~3.5 s of CPU here) beside it
// slowed bench_sync's initial sync by ~7 %. Stops with its destructor.
#pragma once

#include <atomic>
#include <cstdint>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "node/quality/quality.hpp"

namespace node::quality {

class monitor {
public:
  monitor(store::environment& env, std::chrono::seconds interval,
          std::chrono::seconds first_delay = std::chrono::seconds(60), std::uint64_t large_store = 100000);
  ~monitor();
  monitor(const monitor&) = delete;
  monitor& operator=(const monitor&) = delete;

  // Null until the first scan has finished.
  std::shared_ptr<const report> latest() const;

private:
  void loop();
  bool wait(std::chrono::seconds d);  // false once stopping

  store::environment& env_;
  std::chrono::seconds interval_, first_delay_;
  std::uint64_t large_store_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<bool> stop_scan_{false};  // read by a scan in progress, without the lock
  std::shared_ptr<const report> latest_;
  std::thread thread_;
};

}  // namespace node::quality
