// When the parent last heard from each child: every join and sync request
// of an admitted child counts. The registry keeps it (node_entry::
// last_contact_ms) for `admin nodes`, `status` and /metrics, written at
// most once a minute per child: a child long-polls every few seconds, and
// a national node has hundreds of them.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace node::service {

inline constexpr std::int64_t contact_store_interval_ms = 60'000;

class contact_book {
public:
  // True when `child`'s contact at `now_ms` is to be stored now: the first
  // since start, or a minute after the last one handed to the store.
  bool heard(const std::string& child, std::int64_t now_ms);

private:
  std::mutex mu_;
  std::unordered_map<std::string, std::int64_t> stored_;  // children that passed the registry check only
};

}  // namespace node::service
