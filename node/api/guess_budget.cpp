#include "node/api/guess_budget.hpp"

namespace node::api {

void guess_budget::forget_old(table& t, clock::time_point now) {
  std::erase_if(t, [&](const auto& e) { return now - e.second.since >= limits_.window; });
}

std::optional<guess_budget::clock::time_point> guess_budget::spent(const std::string& bank, const std::string& field,
                                                                   clock::time_point now) {
  std::lock_guard lk(mu_);
  auto& t = by_bank_[bank];
  auto it = t.find(field);
  if (it != t.end() && now - it->second.since >= limits_.window) {
    t.erase(it);
    it = t.end();
  }
  if (it != t.end()) {
    if (it->second.misses >= limits_.mismatches) return it->second.since + limits_.window;
    return std::nullopt;
  }
  if (t.size() < limits_.fields_per_bank) return std::nullopt;
  forget_old(t, now);
  if (t.size() < limits_.fields_per_bank) return std::nullopt;
  auto oldest = now;
  for (const auto& [_, v] : t) oldest = std::min(oldest, v.since);
  return oldest + limits_.window;
}

void guess_budget::mismatch(const std::string& bank, const std::string& field, clock::time_point now) {
  std::lock_guard lk(mu_);
  auto& t = by_bank_[bank];
  auto [it, fresh] = t.try_emplace(field, tally{0, now});
  if (!fresh && now - it->second.since >= limits_.window) it->second = tally{0, now};
  ++it->second.misses;
}

}  // namespace node::api
