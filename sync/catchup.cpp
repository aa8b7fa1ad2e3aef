#include "sync/catchup.hpp"

#include <algorithm>

#include "store/reader.hpp"
#include "sync/exchange.hpp"

namespace replication {

std::optional<key_order_catchup> plan_up_by_key(store::environment& env, std::uint64_t after_seq,
                                                std::uint64_t min_changes) {
  store::reader rd(env);
  key_order_catchup k;
  k.after_seq = after_seq;
  k.until_seq = rd.last_seq();
  // Records to send are at most the changes: too few changes, and the
  // store's ids are not even counted out (8 bytes each).
  auto enough = std::max(min_changes, rd.last_record_id() / 4);
  if (k.until_seq < after_seq || k.until_seq - after_seq < enough) return std::nullopt;
  k.marked = rd.last_wanted_changes(after_seq, k.until_seq, goes_up(env));
  k.records = static_cast<std::uint64_t>(std::count_if(k.marked.begin(), k.marked.end(), [](auto s) { return s != 0; }));
  if (k.records < enough) return std::nullopt;
  k.after_stamp = after_seq ? rd.change_stamp(after_seq).value_or(0) : 0;
  return k;
}

change_batch collect_up_by_key(store::environment& env, const std::string& self, key_order_catchup& k,
                               const batch_limits& lim) {
  change_batch b;
  b.node = self;
  b.instance = env.instance_id();
  b.after_seq = k.after_seq;
  b.last_seq = k.after_seq;  // the parent's cursor stays until the last batch
  b.last_stamp = k.after_stamp;
  b.more = true;
  std::size_t bytes = 0;
  bool full = false;
  store::reader rd(env);
  rd.for_each_marked_by_key(k.marked, k.after_key, [&](std::string_view key, std::uint64_t seq, const store::model::record& r) {
    if (b.changes.size() >= lim.max_changes || bytes >= lim.max_bytes) return !(full = true);
    bytes += wire_size(r);
    b.changes.push_back({seq, r, false, {}});
    k.after_key.assign(key);
    return true;
  });
  if (full) return b;
  // The index is read to its end: this batch covers the rest of the stretch.
  k.done = true;
  b.last_seq = k.until_seq;
  b.last_stamp = rd.change_stamp(k.until_seq).value_or(0);
  b.more = rd.last_seq() > k.until_seq;
  return b;
}

}  // namespace replication
