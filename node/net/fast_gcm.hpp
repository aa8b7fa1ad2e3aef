// AES-GCM with AES-NI and PCLMULQDQ behind mbedTLS's GCM functions (the
// link wraps them; node/net/fast_gcm.cpp says why and how).
#pragma once

#include <cstdint>

namespace node::net::fast_gcm {

// True when this CPU runs the fast path: TLS then prefers AES-128-GCM.
bool active();
// Messages sealed or opened by the fast path since start (tests: that it
// ran, not mbedTLS's own behind it).
std::uint64_t records_sealed();

}  // namespace node::net::fast_gcm
