// Admission (PRODUCT.md §7): what a child reports when it asks to join, how
// a parent decides, and which children may sync. No sockets here: node/
// carries the join request and gates /sync/v1/* with these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "store/registry.hpp"

namespace replication {

// One line of the child's `credit-node check`.
struct posture_check {
  std::string id, status, reason;  // status: PASS | FAIL | WARN
};

// POST /sync/v1/join: who the child says it is, and its posture.
struct join_request {
  std::string node_id, role, jurisdiction, version;
  std::int64_t clock_ms = 0;  // the child's wall clock when it sent this
  std::vector<posture_check> checks;
};

// Who the TLS layer says the child is (its certificate, chained to our CA).
struct certified_peer {
  std::string node_id, role, jurisdiction, serial_hex;
};

struct join_answer {
  // admitted | pending | refused | suspended | revoked
  std::string decision;
  std::vector<std::string> reasons;  // every one, each saying what to do
};

std::string encode_join_request(const join_request& r);
join_request decode_join_request(std::string_view body);  // throws wire_error
std::string encode_join_answer(const join_answer& a, const config::admission_section& policy);
join_answer decode_join_answer(std::string_view body);    // throws wire_error

// Why `who` cannot be a child of the node `cfg` describes; empty when it can
// (one tier down, or a local straight under the national node).
std::string child_problem(const config::node_config& cfg, const std::string& node_id, const std::string& role,
                          const std::string& jurisdiction);

// The parent's decision, with every reason. `entry`: the registry's record
// of this node, if any; `serial_revoked`: the certificate is on the list.
join_answer decide_join(const config::node_config& parent, const certified_peer& cert, const join_request& req,
                        const std::optional<store::node_entry>& entry, bool serial_revoked, std::int64_t now_ms);

// For every /sync/v1/* request after joining: empty when `cert` may sync,
// else {HTTP error code, reason}. Codes: not_admitted, suspended, revoked.
struct refusal {
  std::string code, reason;
};
std::optional<refusal> sync_refusal(const certified_peer& cert, const std::optional<store::node_entry>& entry,
                                    bool serial_revoked);

}  // namespace replication
