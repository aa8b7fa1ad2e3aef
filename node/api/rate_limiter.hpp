// Token buckets per principal (or per address, for strangers): `rate` per
// second, bursts of two seconds. A bucket idle for two seconds is full
// again, no different from a new one, so such buckets are dropped (at most
// once a second): strangers from ever new addresses do not grow the table
// for the life of the process.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace node::api {

class rate_limiter {
public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds burst{2};

  bool allow(const std::string& who, double rate, clock::time_point now = clock::now()) {
    std::lock_guard lk(mu_);
    sweep(now);
    auto& b = buckets_.try_emplace(who, bucket{2 * rate, now}).first->second;
    b.tokens = std::min(2 * rate, b.tokens + std::chrono::duration<double>(now - b.at).count() * rate);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  std::size_t size() const {
    std::lock_guard lk(mu_);
    return buckets_.size();
  }

private:
  struct bucket {
    double tokens;
    clock::time_point at;
  };

  void sweep(clock::time_point now) {
    if (now - swept_ < std::chrono::seconds(1)) return;
    swept_ = now;
    std::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.at >= burst; });
  }

  mutable std::mutex mu_;
  std::map<std::string, bucket> buckets_;
  clock::time_point swept_{};
};

}  // namespace node::api
