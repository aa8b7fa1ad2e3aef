#include "node/service/contact_book.hpp"

namespace node::service {

bool contact_book::heard(const std::string& child, std::int64_t now_ms) {
  std::lock_guard lk(mu_);
  auto [it, first] = stored_.try_emplace(child, now_ms);
  if (first) return true;
  if (now_ms - it->second < contact_store_interval_ms) return false;
  it->second = now_ms;
  return true;
}

}  // namespace node::service
