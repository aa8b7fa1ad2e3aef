// SHA-256 with the x86 SHA extensions when the CPU has them. mbedTLS 2.28
// hashes in portable C (~4,000 instructions per 64-byte block); the audit
// chain hashes every API request's entry on the one writer thread, and the
// bearer token of every request, so that cost sat on the API's serial path.
// With SHA-NI a block is a few hundred instructions. Without it (another
// CPU, arm64) callers fall back to mbedTLS; both give the same digest, which
// a test checks over thousands of lengths and inputs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace node::pki::fast {

// True when this CPU has SHA-NI, SSSE3 and SSE4.1 (checked once).
bool sha256_available();

// The digest of p[0..n). Throws std::logic_error unless sha256_available().
void sha256(const unsigned char* p, std::size_t n, unsigned char out[32]);

}  // namespace node::pki::fast
