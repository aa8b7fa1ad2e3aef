// How many answers a bank may draw about one field of one record of one
// enterprise that its consent does not let it read: verification answers
// match / mismatch, so without a bound a bank with a verify consent could
// find a masked ID number by trying values (eq), or an area by bisecting
// it (ge / le), one claim a request, at its rate limit.
// Charged: an eq claim that mismatched, and every ge / le claim (each
// answer is a bit). Not protected: fields of a few values (a rating), and
// which record ids exist ("unknown" is not charged).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace node::api {

class guess_budget {
public:
  using clock = std::chrono::steady_clock;
  struct limits {
    std::size_t charges = 5;                      // per field, in any `window`
    std::chrono::seconds window = std::chrono::hours(24);
    std::size_t fields_per_bank = 100000;         // memory bound
  };
  struct refusal {
    clock::time_point until;  // when a claim about it is taken again
    bool table_full = false;  // the bank holds charges on `fields_per_bank` fields
  };

  guess_budget() = default;
  explicit guess_budget(limits l) : limits_(l) {}

  // One guess reserved for each key (a key may repeat), all or none, so
  // requests at once cannot overdraw; else why not.
  std::optional<refusal> reserve(const std::string& bank, const std::vector<std::string>& keys, clock::time_point now);
  // A reserved guess settled: `charged` when the answer told something.
  void settle(const std::string& bank, const std::string& key, bool charged, clock::time_point now);

  const limits& bounds() const { return limits_; }

private:
  struct tally {
    std::vector<clock::time_point> charges;  // within the window, oldest first
    std::size_t pending = 0;
  };
  struct table {
    std::unordered_map<std::string, tally> fields;
    clock::time_point next_purge{};  // no full scan before this
  };
  std::optional<refusal> take(table& t, const std::string& key, clock::time_point now);
  void age(tally& t, clock::time_point now) const;
  void purge(table& t, clock::time_point now);

  limits limits_;
  std::mutex mu_;
  std::map<std::string, table> by_bank_;  // one per registered bank
};

}  // namespace node::api
