// The settings a running node may change on SIGHUP: the log level, the
// admission policy, the API rate limit and the legacy credit codes. Threads that read them take a
// snapshot; a reload swaps it whole, so a reader never sees half a policy.
// Everything else (identity, listeners, TLS files, upstream, store) is in
// use by running threads and needs a restart: reload names those sections.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace config {

struct reload_outcome {
  std::vector<std::string> applied;        // sections whose change took effect: "log", "admission", "api", "import"
  std::vector<std::string> needs_restart;  // sections that changed but keep their running values
};

class live_settings {
 public:
  explicit live_settings(const node_config& running);

  // The running config with the reloadable sections as last applied.
  std::shared_ptr<const node_config> current() const;
  // The hot path of every API request: no lock.
  std::uint64_t requests_per_second() const { return rps_.load(std::memory_order_relaxed); }

  // Takes the reloadable sections of `fresh` (already validated by load());
  // the rest of `fresh` is only compared.
  reload_outcome apply(const node_config& fresh);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const node_config> cur_;
  std::atomic<std::uint64_t> rps_;
};

}  // namespace config
