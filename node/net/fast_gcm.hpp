// AES-GCM with AES-NI and PCLMULQDQ behind mbedTLS's GCM functions (the
// link wraps them; node/net/fast_gcm.cpp says why and how).
#pragma once

namespace node::net::fast_gcm {

// True when this CPU runs the fast path: TLS then prefers AES-128-GCM.
bool active();

}  // namespace node::net::fast_gcm
