#include "node/api/guess_budget.hpp"

#include <algorithm>
#include <iterator>

namespace node::api {

void guess_budget::age(tally& t, clock::time_point now) const {
  auto live = std::find_if(t.charges.begin(), t.charges.end(), [&](auto at) { return now - at < limits_.window; });
  t.charges.erase(t.charges.begin(), live);
}

// Drops fields with nothing pending and no charge in the window; the next
// scan waits until the oldest charge left would age out.
void guess_budget::purge(table& t, clock::time_point now) {
  auto next = now + limits_.window;
  for (auto it = t.fields.begin(); it != t.fields.end();) {
    age(it->second, now);
    if (!it->second.charges.empty()) next = std::min(next, it->second.charges.front() + limits_.window);
    it = it->second.charges.empty() && it->second.pending == 0 ? t.fields.erase(it) : std::next(it);
  }
  t.next_purge = next;
}

std::optional<guess_budget::refusal> guess_budget::take(table& t, const std::string& key, clock::time_point now) {
  auto it = t.fields.find(key);
  if (it == t.fields.end()) {
    if (t.fields.size() >= limits_.fields_per_bank && now >= t.next_purge) purge(t, now);
    if (t.fields.size() >= limits_.fields_per_bank) return refusal{t.next_purge, true};
    it = t.fields.emplace(key, tally{}).first;
  }
  auto& f = it->second;
  age(f, now);
  if (f.charges.size() + f.pending >= limits_.charges)
    return refusal{f.charges.empty() ? now + std::chrono::seconds(1) : f.charges.front() + limits_.window, false};
  ++f.pending;
  return std::nullopt;
}

std::optional<guess_budget::refusal> guess_budget::reserve(const std::string& bank, const std::vector<std::string>& keys,
                                                           clock::time_point now) {
  std::lock_guard lk(mu_);
  auto& t = by_bank_[bank];
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (auto no = take(t, keys[i], now)) {
      for (std::size_t j = 0; j < i; ++j) --t.fields[keys[j]].pending;  // all or none
      return no;
    }
  }
  return std::nullopt;
}

void guess_budget::settle(const std::string& bank, const std::string& key, bool charged, clock::time_point now) {
  std::lock_guard lk(mu_);
  auto& t = by_bank_[bank];
  auto it = t.fields.find(key);
  if (it == t.fields.end()) return;
  auto& f = it->second;
  if (f.pending) --f.pending;
  if (charged) f.charges.push_back(now);
  if (f.charges.empty() && f.pending == 0) t.fields.erase(it);  // a match costs no room
}

}  // namespace node::api
