// A parent's registry of its child nodes, and the network's revocation list
// (PRODUCT.md §7). Plain data: the writer applies registry_ops in its
// transaction (write_batch::registry), the reader lists what is held.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace store {

enum class node_state : std::uint8_t { pending = 0, admitted = 1, suspended = 2, revoked = 3 };
std::string_view to_string(node_state s);

struct node_entry {
  std::string node_id, role, jurisdiction;  // as registered (approved)
  node_state state = node_state::pending;
  std::string reason;       // why the state last changed
  std::string cert_serial;  // hex, as last presented at join
  std::string version;      // credit-node version last reported
  std::int64_t first_seen_ms = 0, changed_ms = 0, last_join_ms = 0;
  std::string last_decision;  // admitted | pending | refused
  std::vector<std::string> last_reasons;
  std::uint64_t violations = 0;  // security events charged to this child
  // The child's last request here (a join or any sync request), stored at
  // most once a minute by the running parent: a silent child shows.
  std::int64_t last_contact_ms = 0;
};

struct revocation {
  std::string serial;  // certificate serial, lower-case hex
  std::string node_id, reason, by;  // by: the node that revoked it
  std::int64_t at_ms = 0;
};

// Applied against what is stored when the writer commits, so a CLI admin
// command and the running node never overwrite each other's changes.
struct registry_op {
  enum class kind : std::uint8_t {
    join_seen,   // entry: id, role, jurisdiction, serial, version, decision, reasons; unknown → pending
    contact,     // entry.node_id was heard from at entry.last_contact_ms (a known node only; never moves back)
    set_state,   // entry.node_id → `to`, with `reason`; revoke also lists entry's serial
    violations,  // entry.node_id: +count; at `threshold` an admitted child is suspended
    merge_revocations,  // revocations from the parent
    carry_entry,        // entry, whole, over what is stored when newer or absent (restore)
  } what = kind::join_seen;
  node_entry entry;
  node_state to = node_state::admitted;
  std::string reason, by;
  bool create = false;  // set_state: register it now (approve before it first joins)
  std::optional<node_state> only_from;  // set_state: refused unless the node is in this state
  std::uint64_t count = 0, threshold = 0;
  std::vector<revocation> revocations;
};

std::string encode_node_entry(const node_entry& e);
node_entry decode_node_entry(std::string_view v);
std::string encode_revocation(const revocation& r);
revocation decode_revocation(std::string_view serial, std::string_view v);

}  // namespace store
