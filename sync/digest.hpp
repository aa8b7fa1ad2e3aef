// Proof that two stores agree on a scope: per category, the number of live
// records and an order-independent hash of (key, origin, version, deleted).
// Equal digests mean the same records at the same versions.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "store/environment.hpp"

namespace replication {

struct category_digest {
  std::uint64_t count = 0;
  std::uint64_t hash = 0;
  bool operator==(const category_digest&) const = default;
};

using digest = std::map<std::string, category_digest>;

// Records whose subject lies in `scope` (a jurisdiction; "100000" = all).
digest compute_digest(store::environment& env, const std::string& scope);

std::string digest_json(const digest& d);
digest parse_digest_json(std::string_view body);  // throws wire_error

}  // namespace replication
