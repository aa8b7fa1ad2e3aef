// Wakes a change_signal when another process commits to the store (a CLI
// import while `run` is live): LMDB writes its data file, and inotify
// reports the write at once — no polling delay on the sync path.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "node/service/change_signal.hpp"

namespace node::service {

class store_watch {
public:
  // Watches DATA_DIR/data.mdb; when inotify is unavailable the signal's
  // waiters fall back to their timeouts (logged once).
  store_watch(const std::string& data_dir, change_signal& signal);
  ~store_watch();
  store_watch(const store_watch&) = delete;
  store_watch& operator=(const store_watch&) = delete;

private:
  void run();
  change_signal& signal_;
  int fd_ = -1, stop_pipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace node::service
