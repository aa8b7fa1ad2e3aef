#include "node/net/http_tls.hpp"

#include <mbedtls/x509_crt.h>

#include "node/pki/x509_identity.hpp"

namespace node::net {

peer_check check_peer(mbedtls_ssl_context& ssl) {
  peer_check out;
  const mbedtls_x509_crt* crt = mbedtls_ssl_get_peer_cert(&ssl);
  if (!crt) return out;
  if (auto flags = mbedtls_ssl_get_verify_result(&ssl); flags != 0) {
    out.refusal = "certificate not accepted: " + verify_text(flags);
    return out;
  }
  try {
    auto id = pki::identity_of(*crt);
    if (id.is_ca) {
      out.refusal = "a CA certificate (" + id.subject + ") was presented, not a node certificate";
      return out;
    }
    out.id = std::move(id);
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

std::string verify_suffix(mbedtls_ssl_context& ssl) {
  std::uint32_t flags = mbedtls_ssl_get_verify_result(&ssl);
  if (flags == 0 || flags == static_cast<std::uint32_t>(-1)) return "";
  return "; certificate: " + verify_text(flags);
}

}  // namespace node::net
