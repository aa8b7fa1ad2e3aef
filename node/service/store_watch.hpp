// Wakes a change_signal when another process commits to the store (a CLI
// import while `run` is live): its writer sets the times of the store's
// commit signal file after each commit, inotify reports it, and the
// waiters are woken — no polling delay on the sync path.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "node/service/change_signal.hpp"
#include "store/environment.hpp"

namespace node::service {

class store_watch {
public:
  // Watches ENV's directory for its commit signal file; when inotify is unavailable the signal's
  // waiters fall back to their timeouts (logged once).
  store_watch(store::environment& env, change_signal& signal);
  ~store_watch();
  store_watch(const store_watch&) = delete;
  store_watch& operator=(const store_watch&) = delete;

  // False when inotify could not be set up (the waiters' timeouts remain).
  bool available() const { return thread_.joinable(); }
  // From this process's writer, after each commit (whose waiters it wakes
  // itself): the watch neither wakes them again nor keeps looking for it
  // (a look between the commit and this call still wakes them once more).
  void own_commit(std::uint64_t commit) { own_ = commit; }

private:
  void run();
  bool commit_moved();
  store::environment& env_;
  change_signal& signal_;
  std::uint64_t seen_ = 0;  // the last commit the waiters were woken for (watch thread)
  std::atomic<std::uint64_t> own_{0};  // this process's last commit
  bool read_failing_ = false;
  int fd_ = -1, stop_pipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace node::service
