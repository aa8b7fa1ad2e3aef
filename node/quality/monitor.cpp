#include "node/quality/monitor.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "node/net/log.hpp"
#include "store/reader.hpp"

namespace node::quality {

monitor::monitor(store::environment& env, std::chrono::seconds interval, std::chrono::seconds first_delay,
                 std::uint64_t large_store)
    : env_(env), interval_(interval), first_delay_(first_delay), large_store_(large_store), thread_([this] { loop(); }) {}

monitor::~monitor() {
  stop_scan_ = true;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::shared_ptr<const report> monitor::latest() const {
  std::lock_guard lk(mu_);
  return latest_;
}

bool monitor::wait(std::chrono::seconds d) {
  std::unique_lock lk(mu_);
  return !wake_.wait_for(lk, d, [this] { return stopping_; });
}

void monitor::loop() {
  // The scan reads every record: at the lowest nice level it yields the CPU
  // to catch-up sync and the bank API. Not SCHED_IDLE: a thread starved
  // that hard could sit for seconds inside a read transaction, or on
  // LMDB's reader-table lock that every new reader takes.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
  pthread_setname_np(pthread_self(), "cn-quality");
  try {
    if (store::reader(env_).stats().total > large_store_ && !wait(first_delay_)) return;
  } catch (const std::exception&) {  // the scan below meets the same problem and logs it
  }
  for (;;) {
    std::shared_ptr<const report> r;
    try {
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
      r = std::make_shared<const report>(compute(env_, now.count(), [this] { return !stop_scan_.load(); }));
    } catch (const scan_stopped&) {
      return;
    } catch (const std::exception& e) {
      // The last good report stays; /metrics shows how old it is.
      net::log::error("quality_scan_failed").kv("reason", e.what());
    }
    if (r) {
      std::lock_guard lk(mu_);
      latest_ = std::move(r);
    }
    if (!wait(interval_)) return;
  }
}

}  // namespace node::quality
