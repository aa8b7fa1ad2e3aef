// mbedTLS checks shared by the HTTP server and client, kept out of the
// Beast translation units: what a verified peer certificate names, and
// mbedTLS's verification verdict in words.
#pragma once

#include <mbedtls/ssl.h>

#include <cstdint>
#include <optional>
#include <string>

#include "node/pki/pki.hpp"

namespace node::net {

struct peer_check {
  std::optional<pki::identity> id;  // absent: no certificate, or refused
  std::string refusal;              // non-empty: refuse the connection, and why
  unsigned char alert = 0;          // then the TLS alert that tells the peer (MBEDTLS_SSL_ALERT_MSG_*)
};

// After a completed handshake. A certificate that failed verification
// (possible under peer_auth::optional, where mbedTLS goes on without it), a
// CA certificate, or an ambiguous subject is a refusal, never "anonymous".
peer_check check_peer(mbedtls_ssl_context& ssl);

// mbedTLS's verification flags as "reason; reason".
std::string verify_text(std::uint32_t flags);

// The verification verdict of a failed handshake, when there is one:
// "; certificate: reason; presented by SUBJECT (serial …)" or "".
std::string verify_suffix(mbedtls_ssl_context& ssl);

// After a failed handshake: the first bytes the server sent were an HTTP
// answer ("HTTP/"), not a TLS record — mbedTLS says only "invalid SSL record".
bool answered_plain_http(const mbedtls_ssl_context& ssl);

// Whom the peer's certificate names, noted as mbedTLS verifies it: after a
// failed verification mbedTLS frees the certificate, and the log must still
// say which child or bank to call. `install` puts it on one connection,
// passing each call on to the config's own callback (revocation).
struct peer_seen {
  const mbedtls_ssl_config* conf = nullptr;
  std::string subject;  // "CN=…, OU=…, L=… (serial …)", when the chain was refused
  std::uint32_t chain_flags = 0;  // every certificate's verification flags, or-ed
  void install(mbedtls_ssl_context& ssl, const mbedtls_ssl_config& c);
};

}  // namespace node::net
