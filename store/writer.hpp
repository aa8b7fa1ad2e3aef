// The one batching writer. LMDB has one write lock, so every write (import,
// later the API and sync apply) is queued here; one thread drains the queue
// and commits whatever is waiting in one transaction, so concurrent callers
// share the commit and its fsync (strfry's RelayWriter does the same).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/environment.hpp"
#include "store/access.hpp"
#include "store/registry.hpp"
#include "store/model/record.hpp"

namespace store {

// A validated row from an importer: fields_json is canonical already.
struct import_row {
  std::string category, subject, record_id, event_date, source, fields_json;
  std::uint64_t line = 0;  // where it came from, for quarantine
  // subject_key(subject, category, record_id); the writer fills it when
  // empty. A producer that fills it (and sorts by it) takes that work off
  // the writer thread, which is the bottleneck of a bulk import.
  std::string key;
  void make_key();  // fills `key`, reusing its memory
};

struct quarantine_entry {
  std::string file;
  std::uint64_t line = 0;
  std::string category, field, reason;
  std::string excerpt;  // the start of the offending input
  std::int64_t at_ms = 0;  // set by the writer
};

// Where a peer's change stream stands: written in the same transaction as
// the changes it covers, so a resent batch changes nothing.
struct peer_cursor {
  std::string peer;           // the peer's node id
  std::string peer_instance;  // the peer's store instance id
  std::uint64_t seq = 0;      // the last of its changes applied here
  // The position the batch continues the peer's stream from. A batch whose
  // from_seq lies past the stored cursor (an earlier batch was lost or
  // failed) is refused whole: a cursor must never jump over changes.
  std::uint64_t from_seq = 0;
  // The peer's reader::change_stamp of `seq`, kept with it and given back
  // with the ack: a peer whose change there differs went back (0: not sent).
  std::uint64_t stamp = 0;
  // The peer's store went back: written as it is, even below the stored
  // position (a cursor otherwise never moves back). Without it the stored
  // cursor, and the stamp the puller sends from it, stayed those of the
  // store that is gone until the pull passed them again.
  bool restart = false;
};

struct write_batch {
  std::string origin;  // this node: the owner of imported records
  std::vector<import_row> rows;
  // A row naming a record another node owns fails the batch
  // (not_owner_error) instead of going to the quarantine: an API write,
  // whose caller must be told it was refused, and whose audit entry,
  // committed with it, must not say it was allowed. An import quarantines.
  bool owner_only = false;
  std::vector<quarantine_entry> quarantine;
  // Empties the quarantine first (`import --clear-quarantine`, once the
  // refused rows were read and fixed at their source).
  bool clear_quarantine = false;
  // The order to apply rows in: indexes into `rows` sorted by key (ties in
  // file order); rows left out are not applied. Empty: all rows, in the
  // order the writer works out.
  std::vector<std::uint32_t> order;
  // Records as their owners wrote them, received from peer `via`; applied
  // owner-authoritatively (newer version wins, older is ignored).
  std::string via;
  std::vector<model::record> replicas;
  // The order to apply replicas in (indexes into `replicas`, all of them);
  // empty: as received. See key_order below.
  std::vector<std::uint32_t> replica_order;
  // This node's id, when set: a replica it owns (recovered from the parent
  // after a restore) is logged with no `via`, as this node's own change.
  std::string self;
  std::optional<peer_cursor> cursor;
  // Registry changes (a parent's children, revocations), in order.
  std::vector<registry_op> registry;
  // API principals, consents, audit entries, in order.
  std::vector<access_op> access;
  // false: one flush per commit, of its pages, and the page naming the new
  // tree flushed with the next (a bulk import; environment::sync() at its
  // end): a power loss may undo the last commits, never damage the store.
  // true: both flushed before the future is ready.
  bool durable = true;
  // This store's log went back under the same instance id (a VM snapshot
  // or a copied data dir: a peer holds more of it than it has). A new
  // random id, committed with the batch, makes peers see another store and
  // take everything again, as after a restore; positions the store reuses
  // would otherwise pass as already held.
  bool renew_instance = false;
  // The sender has more right behind this batch (a child catching up): the
  // writer may wait a moment for it and commit both in one transaction.
  bool more_coming = false;
};

// Indexes of `rows` in key order, equal keys in their original order.
// Sorted keys walk the B-tree in order: far fewer pages touched per commit.
std::vector<std::uint32_t> key_order(std::vector<import_row>& rows);
// The same for replicas: a child's batch in its log order lands all over
// the subject index; in key order neighbouring changes share its pages.
// Equal keys (two versions of one record) keep their order.
std::vector<std::uint32_t> key_order(const std::vector<model::record>& replicas);

struct batch_result {
  std::uint64_t inserted = 0, updated = 0, unchanged = 0;
  std::uint64_t last_seq = 0;            // change log position after the commit
  std::vector<quarantine_entry> rejected;  // valid rows the store refused, now quarantined
  std::uint64_t quarantine_cleared = 0;     // entries removed by clear_quarantine
  std::uint64_t ignored_older = 0;          // replicas older than what is held
  std::vector<std::string> events;          // integrity events raised (also in `events`)
  std::vector<std::string> suspended;       // children suspended automatically by this batch
  // The batch's rows, handed back so a producer can reuse their strings'
  // memory instead of allocating (and the writer freeing) a million rows.
  std::vector<import_row> recycled;
};

// What submit_then's continuation receives: the committed batch's result,
// or the error that prevented it. Not a std::future: a promise's first
// set_value costs a futex wake (std::call_once), one per API answer.
class settled_batch {
public:
  explicit settled_batch(batch_result r) : result_(std::move(r)) {}
  explicit settled_batch(std::exception_ptr e) : error_(std::move(e)) {}
  // The result, or rethrows the commit's exception; once (std::move(s).get()).
  batch_result get() && {
    if (error_) std::rethrow_exception(error_);
    return std::move(result_);
  }

private:
  batch_result result_;
  std::exception_ptr error_;
};

// Where a writer announces its commits to a running node of the same
// store (node/service/store_watch watches it): its times are set after
// each commit. The node's own writer does not: its commits wake its
// waiters directly.
inline constexpr const char* commit_signal_name = "commit.signal";
std::string commit_signal_file(const environment& env);

class writer {
public:
  enum class announce { commits, none };
  // `announce::none` only for the running node's own writer.
  explicit writer(environment& env, announce a = announce::commits);
  ~writer();  // drains what is queued, then stops
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  // Queues a batch. The future holds the result once the batch is committed,
  // or the store_error that prevented it (nothing of the batch is written).
  std::future<batch_result> submit(write_batch batch);
  // The same, without a thread waiting: `then` runs on the writer thread
  // with the settled batch once it is committed (or failed). It must be
  // quick and must not submit and wait (that would deadlock).
  void submit_then(write_batch batch, std::function<void(settled_batch)> then);

  // Called on the writer thread after each successful commit, with its id
  // (environment::last_commit from then on): sync wakes its pusher and
  // long-polls with it. Set before the first submit.
  void on_commit(std::function<void(std::uint64_t commit)> fn);
  // Replicas handed to the writer and not yet committed or failed: what a
  // parent holds decoded for its children (node/service/push_pipeline).
  std::size_t queued_replicas() const;
  // Someone waits on what is queued (a push answer held for durability):
  // the writer commits it now instead of waiting for a catch-up's next
  // batch to join it.
  void hurry();
  // How long a commit waits for a catch-up's next batch (default 100 ms).
  void group_wait(std::chrono::milliseconds wait);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// One registry or access change alone, committed durably (an admin
// command, a join, a merged revocation list); throws what the writer does.
batch_result commit_one(writer& w, registry_op op);
batch_result commit_one(writer& w, access_op op);

}  // namespace store
