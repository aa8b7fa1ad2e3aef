// The two halves of a sync exchange, as plain functions over the store:
// what a node sends (push up, pull down) and how it applies what arrives.
// node/net carries the bytes; these decide which changes go where.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "store/environment.hpp"
#include "store/writer.hpp"
#include "sync/wire.hpp"

namespace replication {

// Who is on the other end, as its certificate says.
struct peer {
  std::string node_id;
  std::string role;
  std::string jurisdiction;
  // Origins a child may not send: the receiving node and its own parent
  // (records they own never come up from below).
  std::vector<std::string> foreign_origins = {};
};

// Changes after `after_seq` to send up to the parent: what this node owns
// (its imports and API records) and what came up from a child in its
// registry. Nothing that came down — from this parent or one before it: a
// node moved under a new parent would otherwise push the old parent's
// records, which the new one refuses as violations.
// Whether a change that came via this peer ("": made here) goes up: from
// here or from a child in the registry, as collect_up sends.
std::function<bool(const std::string& via)> goes_up(store::environment& env);

change_batch collect_up(store::environment& env, const std::string& self, std::uint64_t after_seq,
                        const batch_limits& lim);

// Changes after `after_seq` to send down to `child`: records whose subject
// lies in the child's jurisdiction, except what came up from that child —
// unless `with_own`: a child restored from a backup recovers so the records
// it owns that are newer than the backup.
change_batch collect_down(store::environment& env, const std::string& self, const peer& child,
                          std::uint64_t after_seq, const batch_limits& lim, bool with_own = false);

// A change the receiver will not apply, and why (reported to the sender).
struct poison {
  std::uint64_t seq = 0;
  std::string reason;
};

struct apply_result {
  std::uint64_t ack = 0;  // the sender's log position now covered here
  std::uint64_t inserted = 0, updated = 0, unchanged = 0, ignored_older = 0;
  std::vector<poison> refused;       // quarantined here, with the reason
  std::vector<std::string> events;   // integrity events raised
};

// Applies a batch from `from` (a child pushing, or the parent answering a
// pull): each change is checked (schema; for a child, that the subject lies
// in its jurisdiction), good ones applied owner-authoritatively, bad ones
// quarantined, and the cursor for `cursor_key` moved to batch.last_seq — all
// in one transaction.
// The same, without waiting: the refusals are known at once, the rest
// when `done` is ready. The writer's cursor continuity check (from_seq =
// batch.after_seq) keeps a pipelined batch from skipping a failed one.
struct pending_apply {
  std::uint64_t ack = 0;
  std::vector<poison> refused;
  std::future<store::batch_result> done;
};
// From a child, each refused change is a security violation charged to it
// in the same transaction (so a batch that fails and is resent is not
// charged twice); at `suspend_after` (0 = never) the child is suspended.
// `committed`, when set, runs on the writer thread as soon as the batch has
// committed (before anyone waits on `done`): what must be said then, even
// if nobody asks for the result soon (a child suspended by this batch).
// The accepted changes' records are moved out of `b` into the writer's
// batch (a batch is megabytes: no copy); the rest of `b` stays as it was.
// `self`: this node's id, when records it owns may come back (a pull after
// a restore): those are logged as its own changes, so they go up again if
// the parent ever loses them.
pending_apply submit_batch(store::writer& w, const peer& from, bool from_child, change_batch& b,
                           const std::string& cursor_key, std::uint64_t suspend_after = 0,
                           std::function<void(const store::batch_result&)> committed = {}, const std::string& self = {});

apply_result apply_batch(store::writer& w, const peer& from, bool from_child, const change_batch& b,
                         const std::string& cursor_key);
// The same, the records moved out of `b` rather than copied.
apply_result apply_batch(store::writer& w, const peer& from, bool from_child, change_batch&& b,
                         const std::string& cursor_key, const std::string& self = {});

}  // namespace replication
