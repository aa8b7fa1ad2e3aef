// Internal to node/pki: what ca.cpp, sign.cpp and csr.cpp share.
#pragma once

#include <cstdint>
#include <string>

#include "node/pki/mbed.hpp"

namespace node::pki::detail {

inline constexpr const char* organization = "credit-node";
inline constexpr int serial_bytes = 16;

[[noreturn]] inline void refuse(const std::string& why) { throw pki_error(pki_error::kind::input, why); }

std::int64_t now();

// "CN=<id>, OU=<role>, L=<jurisdiction>, O=credit-node" (no L when empty).
std::string node_subject(const std::string& node_id, const std::string& role, const std::string& jurisdiction);

// Refuses a bad node id, role, or jurisdiction (missing for a node role, or
// not a division code); `hint` names the options, e.g. "--node-id".
void check_subject_values(const std::string& node_id, const std::string& role, const std::string& jurisdiction);

// Refuses days outside 1..max_days.
void check_days(int days);

// Refuses a CA name that mbedTLS's DN string syntax cannot carry verbatim.
void check_ca_name(const std::string& name);

// An issuer name string that mbedtls_x509write_crt_set_issuer_name turns
// back into the CA certificate's subject.
std::string issuer_string(const mbedtls_x509_name& subject);

struct cert_spec {
  std::string subject, issuer;
  mbedtls_pk_context* subject_key = nullptr;
  mbedtls_pk_context* issuer_key = nullptr;
  unsigned char serial[serial_bytes] = {};
  std::int64_t not_before = 0, not_after = 0;
  bool is_ca = false;
  // subjectAltName: the host names and addresses clients reach the node by
  // (a bank's HTTPS library checks the name it dialled there, not the CN).
  std::vector<std::string> dns_names, ip_addresses;
};

// A random positive serial of exactly 16 bytes (top byte 0x40..0x7f, so the
// hex form always has 32 digits and DER needs no padding byte).
void random_serial(mbed::rng& r, unsigned char (&out)[serial_bytes]);

// Signs (ECDSA with SHA-256) and returns the PEM certificate.
std::string write_cert_pem(const cert_spec& s, mbed::rng& r);

// Parses the CSR at `path` and checks what a CA must before trusting it:
// a P-256 key, a SHA-2 signature, and the signature itself (proof that the
// requester holds the private key; mbedtls_x509_csr_parse does not check it).
void load_verified_csr(mbed::csr& c, const std::string& path);

}  // namespace node::pki::detail
