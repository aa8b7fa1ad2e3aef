// A long catch-up up to the parent sent in the subject index's order, not
// the change log's. The parent's subject index is keyed by credit code, so
// changes in log order land all over it: each of its commits (up to 100,000
// changes) rewrote most of the index's pages (bench_sync (a), 1M records:
// ~880 MB of the provincial's 1.35 GB written was that index). In key
// order each commit touches one stretch of it.
//
// How it keeps the protocol's promises: the log's end when the catch-up
// begins (`until_seq`) is fixed, and every record with a change to send in
// (after_seq, until_seq] is sent once, as it is now (as the log order does:
// it sends a record's current version for each of its changes). Every
// batch but the last names after_seq as its last_seq, so the parent's
// cursor stays where it was until the last batch, which brings it to
// until_seq: a catch-up cut short starts again (applying is idempotent),
// never skips. Changes after until_seq go in log order afterwards.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/environment.hpp"
#include "sync/wire.hpp"

namespace replication {

struct key_order_catchup {
  std::uint64_t after_seq = 0;    // what the parent held when it began
  std::uint64_t after_stamp = 0;  // the stamp of this node's change there (0: none)
  std::uint64_t until_seq = 0;    // the log's end then: where the last batch takes the parent
  std::vector<std::uint64_t> marked;  // by record id: its last change to send (0: none)
  std::uint64_t records = 0;      // how many are marked
  std::string after_key;          // the subject-index key the next batch goes on from
  bool done = false;              // the last batch has been collected
};

// Below this many changes to send a catch-up goes in log order: key order
// reads the whole subject index, which only pays when a good part of the
// store goes up.
constexpr std::uint64_t key_order_min_changes = 20000;

// A key-order catch-up of what goes up after `after_seq`, or nullopt when
// log order is better: fewer than `min_changes` records to send, or fewer
// than a quarter of the store's records.
std::optional<key_order_catchup> plan_up_by_key(store::environment& env, std::uint64_t after_seq,
                                                std::uint64_t min_changes = key_order_min_changes);

// The next batch of the catch-up (after_seq set: pipelined). Marks `k`
// done when it is the last, which also covers what was left out.
change_batch collect_up_by_key(store::environment& env, const std::string& self, key_order_catchup& k,
                               const batch_limits& lim);

}  // namespace replication
