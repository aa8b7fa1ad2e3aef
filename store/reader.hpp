// Read access: one consistent LMDB snapshot for the object's lifetime. Many
// readers may live at once, in any thread or process, beside the writer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/environment.hpp"
#include "store/model/record.hpp"
#include "store/access.hpp"
#include "store/registry.hpp"

namespace store {

struct store_stats {
  std::uint64_t total = 0;  // live records
  std::map<std::string, std::uint64_t> by_category;
  std::uint64_t quarantined = 0;
  std::uint64_t last_seq = 0;  // newest change-log position
};

struct peer_cursor_state {
  std::string peer_instance;
  std::uint64_t seq = 0;
  std::uint64_t stamp = 0;  // the peer's change_stamp of seq, when it sent one
};

struct record_filter {
  std::string category;                   // empty: all
  std::string subject;                    // empty: all
  std::optional<std::int64_t> since_ms;   // ingested at or after
  std::optional<std::uint64_t> after_seq; // changed after this change-log position
  bool include_deleted = false;
};

class reader {
public:
  explicit reader(environment& env);
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  std::optional<model::record> get(std::string_view category, std::string_view subject,
                                   std::string_view record_id);
  // Superseded versions, oldest first.
  std::vector<model::record> history(std::string_view category, std::string_view subject,
                                     std::string_view record_id);
  store_stats stats();
  // Calls fn for each matching record (current version) until fn returns false.
  void for_each_record(const record_filter& f, const std::function<bool(const model::record&)>& fn);
  // Every current record (deleted ones too) in record-id order from
  // `first_id`, with its id, until fn returns false. A long scan resumes
  // from the last id in a new reader: an old read transaction held for
  // seconds keeps the writer from reusing freed pages.
  void scan_records(std::uint64_t first_id, const std::function<bool(std::uint64_t, const model::record&)>& fn);
  // The highest record id in the store (0 when it holds none): where a
  // sliced scan ends, so records added meanwhile do not keep it going.
  std::uint64_t last_record_id();
  std::uint64_t last_seq();  // the newest change-log position (0: none)
  // For each record id, the last change in (after_seq, until_seq] whose
  // `via` (the peer it came from) `wanted` accepts; 0: none. Indexed by id.
  std::vector<std::uint64_t> last_wanted_changes(std::uint64_t after_seq, std::uint64_t until_seq,
                                                 const std::function<bool(const std::string&)>& wanted);
  // The current records whose ids `marked` holds non-zero, in the subject
  // index's order (subject, category, record id) from just after
  // `after_key` (empty: the first), each with its index key and its mark,
  // until fn returns false.
  void for_each_marked_by_key(const std::vector<std::uint64_t>& marked, std::string_view after_key,
                              const std::function<bool(std::string_view key, std::uint64_t mark,
                                                       const model::record&)>& fn);
  // What the change at `seq` wrote — the record version's identity, owner,
  // tombstone, content and when it was taken in (model::content_hash) — as
  // a hash whose first hex digit is change_stamp_definition: a store that
  // went back and wrote other changes at the same positions, or the same
  // rows again, has other stamps there. nullopt: no such change.
  static constexpr std::uint64_t change_stamp_definition = 1;
  std::optional<std::uint64_t> change_stamp(std::uint64_t seq);
  // Whether this log holds, at `seq`, the change a peer was sent as
  // `stamp`: false past the log's end or for another change there; true
  // when it matches or cannot be told (seq 0, stamp 0 or of another
  // definition, a change whose version is not found).
  bool holds_change(std::uint64_t seq, std::uint64_t stamp);
  // Where a peer's change stream stands here (see write_batch::cursor).
  std::optional<peer_cursor_state> cursor_of(const std::string& peer);
  // Every peer cursor held here, by key ("up:<child>", "down:<parent>").
  void for_each_cursor(const std::function<void(const std::string& key, const peer_cursor_state&)>& fn);
  // Change-log entries after `after_seq`, oldest first, with the record's
  // current version, until fn returns false.
  void for_each_change(std::uint64_t after_seq,
                       const std::function<bool(std::uint64_t seq, const std::string& via,
                                                const model::record& current)>& fn);
  // The same, but the record of a change whose `via` fails `wanted` is not
  // read: fn gets nullptr for it (a parent's pull skips what came up from
  // that very child without decoding it).
  void for_each_change(std::uint64_t after_seq, const std::function<bool(const std::string& via)>& wanted,
                       const std::function<bool(std::uint64_t seq, const std::string& via,
                                                const model::record* current)>& fn);
  // Integrity and security events (JSON objects), oldest first.
  void for_each_event(const std::function<bool(std::uint64_t, std::string_view)>& fn);
  // The registry of child nodes (a parent's) and the revocation list.
  std::optional<node_entry> node(const std::string& node_id);
  std::vector<node_entry> nodes();
  std::vector<revocation> revocations();
  std::size_t revocation_count();
  std::size_t event_count();  // integrity and security events held
  std::size_t audit_count();  // entries on the access log
  // The API's principals, consents and audit chain (store/access.hpp).
  std::optional<principal> principal_by_id(const std::string& id);
  std::optional<principal> principal_by_token(const std::string& token_sha256);
  std::optional<principal> principal_by_cert(const std::string& cert_sha256);
  std::vector<principal> principals();
  std::optional<consent> consent_by_id(const std::string& id);
  std::vector<consent> consents_for(const std::string& subject, const std::string& grantee);
  std::vector<consent> consents();  // all of them (restore carries them over)
  // Audit entries in order, from `first_seq`, until fn returns false.
  void for_each_audit(std::uint64_t first_seq, const std::function<bool(const audit_entry&)>& fn);
  std::uint64_t last_audit_seq();  // 0 when the log is empty
  // The newest `limit` audit entries about `subject` older than entry
  // `before` (0: all), newest first, the newest `skip` of them left out;
  // `total` gets how many there are about `subject` in all, and `more`
  // whether older ones follow the last returned.
  std::vector<audit_entry> audit_for_subject(const std::string& subject, std::size_t limit, std::size_t& total,
                                             std::size_t skip = 0, std::uint64_t before = 0, bool* more = nullptr);
  bool is_revoked(const std::string& serial_hex);
  // Per category, live records and the sum of their digest hashes, over
  // subjects whose division starts with `division_prefix` ("" = all).
  // Kept up to date by the writer: no scan of the records.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> digest(std::string_view division_prefix);
  // Cross-table consistency: what is wrong, empty when the store is sound.
  std::vector<std::string> integrity_problems();
  // Reads every entry of every table (each page, values included) and
  // compares the count with the table's own: what a damaged page looks
  // like, short of crashing — LMDB asserts or faults on some damage, so
  // `check` runs this in a child process (node/cli/check.cpp).
  // Stops at `until`, with `complete` false, if the store is that big.
  std::vector<std::string> walk_problems(std::chrono::steady_clock::time_point until, bool& complete);
  // Quarantine entries (JSON objects), oldest first.
  void for_each_quarantine(const std::function<bool(std::uint64_t, std::string_view)>& fn);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace store
