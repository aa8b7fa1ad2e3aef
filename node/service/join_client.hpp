// The child's side of admission: the join request with this node's
// posture, and what the parent's refusals mean for the link.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "node/net/client.hpp"
#include "sync/admission.hpp"

namespace node::service {

// This node's `credit-node check`, as the join request carries it.
using posture_fn = std::function<std::vector<replication::posture_check>()>;

// The parent said no (or not yet): `state` is what status shows
// (pending | refused | suspended | revoked), `reasons` the parent's own.
class admission_refused : public std::runtime_error {
public:
  admission_refused(std::string state, std::vector<std::string> reasons);
  std::string state;
  std::vector<std::string> reasons;
};

// POST /sync/v1/join; the parent's decision with every reason. Throws
// std::runtime_error when the parent cannot be asked or answers nonsense.
replication::join_answer join_parent(net::http_client& c, const config::node_config& cfg, const posture_fn& posture);

// A 403 from /sync/v1/* that is about admission (not_admitted, suspended,
// revoked) as the state it puts the link in; nothing for other answers.
std::optional<admission_refused> refusal_of(const net::http_response& resp);

}  // namespace node::service
