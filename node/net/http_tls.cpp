#include <cstring>
#include "node/net/http_tls.hpp"

#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "node/pki/mbed.hpp"
#include "node/pki/x509_identity.hpp"

namespace node::net {

namespace {

// Whom a refused certificate names, so the log says which child or bank
// to call, not just "bad certificate".
std::string describe_cert(const mbedtls_x509_crt& crt) {
  char dn[512];
  int n = mbedtls_x509_dn_gets(dn, sizeof dn, &crt.subject);
  std::string out = n > 0 ? std::string(dn, static_cast<std::size_t>(n)) : std::string("an unreadable subject");
  char serial[128];
  if (int m = mbedtls_x509_serial_gets(serial, sizeof serial, &crt.serial); m > 0)
    out += " (serial " + std::string(serial, static_cast<std::size_t>(m)) + ")";
  return out;
}

}  // namespace

peer_check check_peer(mbedtls_ssl_context& ssl) {
  peer_check out;
  const mbedtls_x509_crt* crt = mbedtls_ssl_get_peer_cert(&ssl);
  if (!crt) return out;
  out.alert = MBEDTLS_SSL_ALERT_MSG_BAD_CERT;
  if (auto flags = mbedtls_ssl_get_verify_result(&ssl); flags != 0) {
    out.refusal = "certificate not accepted: " + verify_text(flags) + "; presented by " + describe_cert(*crt);
    if (flags & MBEDTLS_X509_BADCERT_REVOKED) out.alert = MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED;
    else if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) out.alert = MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA;
    else if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) out.alert = MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED;
    return out;
  }
  try {
    auto id = pki::identity_of(*crt);
    if (id.is_ca) {
      out.refusal = "a CA certificate (" + id.subject + ") was presented, not a node certificate";
      return out;
    }
    out.id = std::move(id);
    out.alert = 0;
  } catch (const std::exception& e) {
    out.refusal = std::string("certificate refused: ") + e.what();
  }
  return out;
}

std::string verify_text(std::uint32_t flags) {
  char buf[512];
  int n = mbedtls_x509_crt_verify_info(buf, sizeof buf, "", flags);
  std::string s = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("verification failed");
  while (!s.empty() && s.back() == '\n') s.pop_back();
  std::string out;
  for (char c : s) out += c == '\n' ? std::string("; ") : std::string(1, c);
  return out;
}

namespace {

// The fatal alert the peer sent, when the last record read was one: it
// says why the peer refused us (mbedTLS 2.28 keeps it in in_msg).
std::string alert_suffix(const mbedtls_ssl_context& ssl) {
#if MBEDTLS_VERSION_MAJOR < 3
  if (ssl.in_msgtype != MBEDTLS_SSL_MSG_ALERT || ssl.in_msg == nullptr) return "";
  if (ssl.in_msg[0] != MBEDTLS_SSL_ALERT_LEVEL_FATAL) return "";  // close_notify and other warnings say no why
  switch (ssl.in_msg[1]) {
    case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED: return "; the peer says: certificate revoked";
    case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED: return "; the peer says: certificate expired";
    case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA: return "; the peer says: unknown CA";
    case MBEDTLS_SSL_ALERT_MSG_BAD_CERT: return "; the peer says: bad certificate";
    case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE: return "; the peer says: handshake failure (it may require a client certificate)";
    default: return "; the peer sent alert " + std::to_string(ssl.in_msg[1]);
  }
#else
  (void)ssl;
  return "";
#endif
}

// mbedTLS calls this from the top of the chain down to the peer's own
// certificate (depth 0). Only a refused chain is described: a handshake
// that verifies pays nothing here.
int remember_peer(void* self, mbedtls_x509_crt* crt, int depth, std::uint32_t* flags) {
  auto* seen = static_cast<peer_seen*>(self);
  const auto* c = seen->conf;
  int rc = c && c->CN_MBED_PRIVATE(f_vrfy) ? c->CN_MBED_PRIVATE(f_vrfy)(c->CN_MBED_PRIVATE(p_vrfy), crt, depth, flags) : 0;
  seen->chain_flags |= *flags;
  if (depth == 0 && seen->chain_flags) seen->subject = describe_cert(*crt);
  return rc;
}

// What remember_peer noted on this connection, if it is installed there.
std::string refused_subject(const mbedtls_ssl_context& ssl) {
  if (ssl.CN_MBED_PRIVATE(f_vrfy) != &remember_peer) return "";
  const auto* seen = static_cast<const peer_seen*>(ssl.CN_MBED_PRIVATE(p_vrfy));
  return seen->subject.empty() ? "" : "; presented by " + seen->subject;
}

}  // namespace

void peer_seen::install(mbedtls_ssl_context& ssl, const mbedtls_ssl_config& c) {
  conf = &c;
  mbedtls_ssl_set_verify(&ssl, &remember_peer, this);
}

std::string verify_suffix(mbedtls_ssl_context& ssl) {
  std::uint32_t flags = mbedtls_ssl_get_verify_result(&ssl);
  if (flags == 0 || flags == static_cast<std::uint32_t>(-1)) return alert_suffix(ssl);
  return "; certificate: " + verify_text(flags) + refused_subject(ssl) + alert_suffix(ssl);
}

// mbedTLS 2.28: in_hdr is set at setup; in_left is back to 0 after each
// whole record, so 5 or more means the header just read did not parse.
bool answered_plain_http(const mbedtls_ssl_context& ssl) {
#if MBEDTLS_VERSION_MAJOR < 3
  return ssl.in_hdr != nullptr && ssl.in_left >= 5 && std::memcmp(ssl.in_hdr, "HTTP/", 5) == 0;
#else
  (void)ssl;  // private in 3.x: mbedTLS's own message stands
  return false;
#endif
}

}  // namespace node::net
