// The network's own PKI: a CA per provincial (or national) node, P-256 node
// keys, CSRs, and certificates that bind node id, role and jurisdiction into
// the subject. Plain C++ on purpose: mbedTLS stays inside node/pki/*.cpp (and
// x509_identity.hpp, for node/net), so the CLI never sees its types.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace node::pki {

// Every failure says what, where (path) and what to do. `input` is a refusal
// of what the operator gave us (exit 2); `failure` is something that broke
// on the way (I/O, RNG, mbedTLS internals; exit 1).
class pki_error : public std::runtime_error {
public:
  enum class kind { input, failure };
  pki_error(kind k, const std::string& what) : std::runtime_error(what), kind_(k) {}
  kind which() const { return kind_; }

private:
  kind kind_;
};

// Who a certificate speaks for: the subject fields our CA writes, plus what
// a log line or an admission decision needs.
struct identity {
  std::string node_id;       // CN
  std::string role;          // OU: local | provincial | national | bank | portal
  std::string jurisdiction;  // L, 6 digits; may be empty for bank / portal
  std::string organization;  // O, "credit-node" for certificates of this network
  std::string subject;       // the whole subject, as "CN=..., OU=..., L=..., O=..."
  std::string issuer;
  std::string serial_hex;              // lowercase, no leading zero bytes
  std::string sha256_fingerprint_hex;  // lowercase, over the DER certificate
  std::int64_t not_before = 0;         // unix seconds
  std::int64_t not_after = 0;
  bool is_ca = false;  // basicConstraints CA:TRUE: a CA, never a peer
  std::vector<std::string> alt_names;  // subjectAltName: "DNS:name", "IP:addr"
};

// Roles a certificate may carry; nodes are the first three.
std::string check_cert_role(const std::string& role);  // "" when valid, else why
bool role_needs_jurisdiction(const std::string& role);

inline constexpr int default_ca_days = 3650;
inline constexpr int default_cert_days = 365;
inline constexpr int max_days = 36500;

struct ca_result {
  std::string key_path, cert_path, log_path;
  identity cert;
};

// Makes DIR (0700) with ca.key (0600, P-256), ca.pem (self-signed, CA:TRUE
// pathlen 0) and an empty issued.tsv. Refuses when DIR/ca.key or DIR/ca.pem
// exists: a CA is never overwritten.
ca_result ca_init(const std::string& dir, const std::string& name, int days = default_ca_days);

struct csr_request {
  std::string key_path, csr_path;
  std::string node_id, role, jurisdiction;  // jurisdiction may be empty for bank / portal
};

struct csr_result {
  std::string key_path, csr_path;
  bool key_created = false;  // false: an existing key was reused (renewal)
};

// Writes a new P-256 key at key_path (0600) — or reuses the key already there,
// so a renewal keeps the node's key — and a CSR for
// "CN=<node_id>, OU=<role>, L=<jurisdiction>, O=credit-node" at csr_path.
csr_result make_csr(const csr_request& r);

struct sign_request {
  std::string ca_dir, csr_path, out_cert;
  std::string role, node_id, jurisdiction;  // jurisdiction may be empty for bank / portal
  int days = default_cert_days;
  // Start of validity (unix seconds); 0: now − 5 minutes. A certificate
  // that starts later (a planned rotation) runs `days` from that start.
  std::int64_t not_before = 0;
};

// subjectAltName entries: the names and addresses banks dial the node's
// API by (HTTPS clients check those, and some ignore the CN entirely).
struct alt_names {
  std::vector<std::string> dns, ip;
};

struct sign_result {
  std::string cert_path;
  identity cert;
  std::vector<std::string> notes;  // things the operator should know (e.g. CSR asked for another role)
};

// Checks the CSR (its own signature, P-256 key, CN == node_id) and issues a
// certificate whose subject the CA builds from the request, valid from now -
// 5 minutes for `days` days, logged in CA_DIR/issued.tsv.
sign_result sign(const sign_request& r, const alt_names& names = {});

// Parses a PEM certificate (given as text, or as the path of a file holding
// it) and returns whom it names.
identity read_identity_pem(const std::string& path_or_pem);

// When the last certificate of a CA file ends (unix seconds): a bundle
// holds the old and the new CA during a rotation.
std::int64_t ca_bundle_not_after(const std::string& path);
// When the CA in the bundle that signed `cert_path` ends (unix seconds): a
// node's handshakes fail when that CA ends, whatever newer CA the bundle
// holds beside it. Falls back to the bundle's latest when none signed it.
std::int64_t issuing_ca_not_after(const std::string& ca_path, const std::string& cert_path);

// A node's certificate as `check` sees it. Throws pki_error when a file
// cannot be read or parsed (the message names it).
struct cert_status {
  identity id;
  bool chains = false;      // signed by the CA (validity dates aside)
  std::string chain_error;  // why not, in mbedTLS's words
  bool key_matches = false; // the key file belongs to the certificate
  std::int64_t issuer_not_after = 0;  // when the CA in the bundle that signed it ends; 0: none did
};
// `key_path` empty: the key is not checked (a bank's or portal's certificate).
cert_status check_certificate(const std::string& ca_path, const std::string& cert_path, const std::string& key_path);

// Where a node's CSR goes: beside its certificate, <cert>.pem → <cert>.csr.
std::string csr_path_for(const std::string& cert_path);

// "2025-01-31T12:00:00Z"
std::string format_utc(std::int64_t unix_seconds);

// Lower-case hex SHA-256 of `data` (audit chain, token hashes).
std::string sha256_hex(std::string_view data);
// `bytes` random bytes from the DRBG, as lower-case hex (bearer tokens, ids).
std::string random_hex(std::size_t bytes);
// Lower-case hex SHA-256 of a file, read in 1 MiB pieces.
std::string sha256_file_hex(const std::string& path);

}  // namespace node::pki
