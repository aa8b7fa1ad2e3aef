#include "node/service/contact_book.hpp"

namespace node::service {

std::vector<std::pair<std::string, std::int64_t>> contact_book::heard(const std::string& child, std::int64_t now_ms) {
  std::lock_guard lk(mu_);
  latest_[child] = now_ms;
  unsaved_.insert(child);
  // A clock stepped back (now before the last batch): due, or a child that
  // went silent meanwhile would look heard from until the clock caught up.
  bool due = !saved_once_ || now_ms - saved_at_ >= interval_ms_ || now_ms < saved_at_;
  if (!due) return {};
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& id : unsaved_) out.emplace_back(id, latest_[id]);
  unsaved_.clear();
  saved_at_ = now_ms;
  saved_once_ = true;
  return out;
}

}  // namespace node::service
