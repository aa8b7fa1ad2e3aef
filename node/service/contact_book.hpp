// When the parent last heard from each child: every join and sync request
// of a child counts. The registry keeps it (node_entry::last_contact_ms)
// for `admin nodes`, `status` and /metrics. The book holds the latest in
// memory and hands the store every contact heard since the last time, in
// one batch, at most once a `interval`: a national node has hundreds of
// children long-polling every few seconds, and each commit wakes every
// long-poll.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace node::service {

class contact_book {
public:
  explicit contact_book(std::int64_t interval_ms = 60'000) : interval_ms_(interval_ms) {}

  // Notes `child` heard at `now_ms`. Returns what is to be stored now:
  // every child heard since the last batch (with its latest time) once
  // `interval` has passed since then — at once the first time, and when
  // the clock stepped back. Otherwise nothing.
  std::vector<std::pair<std::string, std::int64_t>> heard(const std::string& child, std::int64_t now_ms);

private:
  const std::int64_t interval_ms_;
  std::mutex mu_;
  std::unordered_map<std::string, std::int64_t> latest_;  // children with a certificate of this network only
  std::set<std::string> unsaved_;
  std::int64_t saved_at_ = 0;
  bool saved_once_ = false;
};

}  // namespace node::service
