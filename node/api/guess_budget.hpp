// How many wrong claims a bank may make about one field of one record of
// one enterprise: verification answers match / mismatch, so without a
// bound a bank with a verify consent could find a masked ID number or an
// amount by trying values, one claim a request, at its rate limit.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace node::api {

class guess_budget {
public:
  using clock = std::chrono::system_clock;
  struct limits {
    std::size_t mismatches = 5;                  // per field, per window
    std::chrono::seconds window = std::chrono::hours(24);
    std::size_t fields_per_bank = 100000;        // memory bound
  };

  guess_budget() = default;
  explicit guess_budget(limits l) : limits_(l) {}

  // When claims about `field` (subject · category · record · field) are
  // refused again, if the bank has used its budget for it now; also when
  // the bank's table is full (a bank trying that many fields is guessing).
  std::optional<clock::time_point> spent(const std::string& bank, const std::string& field, clock::time_point now);
  // A claim about `field` was judged a mismatch.
  void mismatch(const std::string& bank, const std::string& field, clock::time_point now);

  const limits& bounds() const { return limits_; }

private:
  struct tally {
    std::size_t misses = 0;
    clock::time_point since;  // the first miss of this window
  };
  using table = std::unordered_map<std::string, tally>;
  void forget_old(table& t, clock::time_point now);

  limits limits_;
  std::mutex mu_;
  std::map<std::string, table> by_bank_;  // one per registered bank
};

}  // namespace node::api
