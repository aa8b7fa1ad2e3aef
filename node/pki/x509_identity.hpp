// Internal to node/pki and node/net: the identity in a parsed certificate.
// The TLS layer calls identity_of() on mbedtls_ssl_get_peer_cert(), so a peer
// is named exactly as `pki show` and `pki sign` name it.
#pragma once

#include <mbedtls/x509_crt.h>

#include "node/pki/pki.hpp"

namespace node::pki {

// Node id (CN), role (OU), jurisdiction (L), organization (O), serial,
// SHA-256 fingerprint over the DER and validity. Throws pki_error(input)
// when the subject repeats CN, OU, L or O — an ambiguous name is refused, not
// guessed at — or lacks a CN.
identity identity_of(const mbedtls_x509_crt& crt);

// Only the subject fields (node_id, role, jurisdiction, organization,
// subject), for a CSR's subject; same refusals as identity_of.
identity names_of(const mbedtls_x509_name& subject);

// The subject or issuer as "CN=..., OU=..., ...", UTF-8 kept, control
// characters shown as '?'.
std::string dn_string(const mbedtls_x509_name& name);

}  // namespace node::pki
