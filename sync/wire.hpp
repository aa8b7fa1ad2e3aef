// The sync wire format: change batches as JSON (sync/README.md is the
// spec). Plain data in, plain data out; no sockets here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/model/record.hpp"
#include "store/registry.hpp"

namespace replication {

// A malformed message from a peer: names the field and what was expected.
class wire_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct wire_change {
  std::uint64_t seq = 0;  // the sender's change-log position
  store::model::record rec;
  // decode_batch checks the fields against the category's schema while it
  // has them parsed (once, not again on apply): rec.fields_json is then the
  // canonical form, or `schema_problem` says why the change is refused (and
  // rec.fields_json is the fields as read — at most 64, a value that is an
  // object or array written out compactly — for messages only: a refused
  // change is never stored).
  bool schema_checked = false;
  std::string schema_problem;
};

// The schema check of a record's fields (r.fields_json); empty when they
// are valid, with `canonical` the fields as the store keeps them.
std::string check_schema(const store::model::record& r, std::string& canonical);

struct change_batch {
  std::string node;      // sender's node id
  std::string instance;  // sender's store instance id
  std::vector<wire_change> changes;
  std::uint64_t last_seq = 0;  // the sender's log position this batch brings the receiver to
  bool more = false;           // the sender has more after last_seq
  // Pipelined push: the position this batch continues from (the previous
  // batch's last_seq). Absent: the receiver answers only once it is durable.
  std::optional<std::uint64_t> after_seq;
  // Pull answers only: the parent's whole revocation list, sent (even
  // empty) when the child's count of it (revoked_seen) differs. It travels
  // down the tree only.
  std::optional<std::vector<store::revocation>> revocations = std::nullopt;
  // Pull answers only: the child asked own=1 and this batch includes what
  // came up from it (a parent older than the parameter never says so).
  bool own = false;
  // The sender's change_stamp of last_seq ("last_stamp", 16 hex digits; 0:
  // not sent). The receiver keeps it with its cursor and gives it back (a
  // push's ack_stamp, a pull's cursor_stamp), so a store that went back
  // shows as another change at that position.
  std::uint64_t last_stamp = 0;
};

// What one batch may hold. The defaults are what every version of the
// parent accepts; a parent that takes more says so in its push answer
// (`max_changes`, `max_bytes`), and a child then sends up to `large`:
// fewer, bigger commits at the parent (bulk catch-up writes each page of
// the subject index fewer times).
struct batch_limits {
  std::size_t max_changes = 5000;
  std::size_t max_bytes = 4 << 20;
  // Changes looked at, sent or passed over (another jurisdiction's, ones
  // that came down): past this the batch ends there, `more` set, last_seq
  // covering what was looked at. A child whose jurisdiction holds little of
  // a large log made one pull scan all of it (~1M changes a second), past
  // the answer's timeout, and each retry began the same scan again.
  std::size_t max_scanned = 100000;
  static constexpr batch_limits large() { return {20000, 16 << 20}; }
  // The smaller of each limit.
  constexpr batch_limits at_most(const batch_limits& o) const {
    return {std::min(max_changes, o.max_changes), std::min(max_bytes, o.max_bytes), std::min(max_scanned, o.max_scanned)};
  }
};

// The limits a push answer (JSON text) says the parent takes, between the
// default and large(); the default when it says nothing usable (a parent
// older than the field).
batch_limits limits_in_answer(std::string_view answer_json);

std::string encode_batch(const change_batch& b);
// Throws wire_error. `max_changes` bounds what a peer can make us hold.
change_batch decode_batch(std::string_view body, std::size_t max_changes);

// A change stamp on the wire: 16 lower-case hex digits (a JSON number would
// lose digits past 2^53 in other readers). parse_stamp: nullopt when `s` is
// not that.
std::string stamp_hex(std::uint64_t stamp);
std::optional<std::uint64_t> parse_stamp(std::string_view s);

// Wire size of one change, to bound batches by bytes before encoding them.
std::size_t wire_size(const store::model::record& r);

}  // namespace replication
