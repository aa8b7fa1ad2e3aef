// The parent link's wait between failed rounds.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace node::service {

// Capped exponential backoff with jitter: a network that comes back is not
// hit by every child at the same instant.
class backoff {
public:
  std::chrono::milliseconds next() {
    auto d = delay_;
    delay_ = std::min(delay_ * 2, std::chrono::milliseconds(30'000));
    std::uniform_real_distribution<double> j(0.8, 1.2);
    return std::chrono::milliseconds(static_cast<long>(static_cast<double>(d.count()) * j(rng_)));
  }
  void reset() { delay_ = std::chrono::milliseconds(500); }

private:
  std::chrono::milliseconds delay_{500};
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace node::service
