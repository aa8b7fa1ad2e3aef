// What `credit-node check` asks of a node's certificate files.
#include <mbedtls/x509_crt.h>

#include <algorithm>

#include "node/pki/files.hpp"
#include "node/pki/pki.hpp"
#include "node/pki/mbed.hpp"
#include "node/pki/x509_identity.hpp"

namespace node::pki {

namespace {

// The latest end among the CAs of `bundle` whose signature `cert` carries,
// tried one by one: a renewed CA often keeps the old one's name (and may
// keep its key, so both verify; mbedTLS then uses the one still valid).
std::int64_t issuer_end(mbed::crt& bundle, mbed::crt& cert) {
  std::int64_t end = 0;
  for (const mbedtls_x509_crt* p = bundle.get(); p && p->raw.p; p = p->next) {
    mbed::crt one;
    mbed::parse_cert(one, std::string_view(reinterpret_cast<const char*>(p->raw.p), p->raw.len), "a CA of the bundle");
    std::uint32_t flags = 0;
    mbedtls_x509_crt_verify(cert.get(), one.get(), nullptr, nullptr, &flags, nullptr, nullptr);
    if (!(flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)) end = std::max(end, mbed::unix_time(p->valid_to));
  }
  return end;
}

}  // namespace

std::int64_t issuing_ca_not_after(const std::string& ca_path, const std::string& cert_path) {
  mbed::crt ca, cert;
  mbed::parse_cert(ca, files::read(ca_path, "CA certificate"), ca_path);
  mbed::parse_cert(cert, files::read(cert_path, "node certificate"), cert_path);
  auto end = issuer_end(ca, cert);
  return end ? end : ca_bundle_not_after(ca_path);
}

cert_status check_certificate(const std::string& ca_path, const std::string& cert_path, const std::string& key_path) {
  cert_status st;
  mbed::crt ca, cert;
  mbed::parse_cert(ca, files::read(ca_path, "CA certificate"), ca_path);
  mbed::parse_cert(cert, files::read(cert_path, "node certificate"), cert_path);
  st.id = identity_of(*cert.get());
  std::uint32_t flags = 0;
  int rc = mbedtls_x509_crt_verify(cert.get(), ca.get(), nullptr, nullptr, &flags, nullptr, nullptr);
  // Validity is reported on its own (expired and expiring differ for the
  // operator); here only whether the chain itself holds.
  std::uint32_t chain_flags = flags & ~(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
  st.chains = rc == 0 || chain_flags == 0;
  st.issuer_not_after = issuer_end(ca, cert);
  if (!st.chains) {
    char info[512] = "";
    mbedtls_x509_crt_verify_info(info, sizeof info, "", chain_flags);
    st.chain_error = info;
    while (!st.chain_error.empty() && (st.chain_error.back() == '\n' || st.chain_error.back() == ' '))
      st.chain_error.pop_back();
  }
  if (key_path.empty()) return st;  // someone else's certificate: no key to pair
  mbed::rng r;
  mbed::pk key;
  mbed::load_private_key(key, key_path, r);
#if MBEDTLS_VERSION_MAJOR >= 3
  st.key_matches = mbedtls_pk_check_pair(&cert->pk, key.get(), &mbed::rng::fill, &r) == 0;
#else
  st.key_matches = mbedtls_pk_check_pair(&cert->pk, key.get()) == 0;
#endif
  return st;
}

}  // namespace node::pki
