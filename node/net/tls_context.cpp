#include "node/net/tls_context.hpp"

#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/version.h>

#include <cstdint>
#include <stdexcept>

#include "node/net/log.hpp"
#include "node/net/fast_gcm.hpp"
#include "node/net/tls_context_impl.hpp"
#include "node/pki/x509_identity.hpp"

namespace node::net {
namespace {

// ECDHE with AEAD only (TOOLCHAIN.md); our keys are P-256 ECDSA. The
// server's order decides. AES-128-GCM first where the CPU has AES-NI and
// PCLMULQDQ (node/net/fast_gcm.cpp); elsewhere ChaCha20-Poly1305, which
// mbedTLS 2.28 seals at 241 MB/s on the 2-core machine against its own
// AES-128-GCM's 167 (16 KiB records, one core). A sync batch is megabytes.
const int fast_gcm_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    0,
};
const int portable_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    0,
};
// A client without the fast path (an arm64 node: mbedTLS 2.28 has no ARMv8
// AES) does not offer AES-128-GCM, which an x86 parent would otherwise
// pick first: table-based AES there is slower than ChaCha20 and leaks
// through cache timing.
const int portable_client_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    0,
};

const int* suites_for(tls_side side) {
  if (fast_gcm::active()) return fast_gcm_suites;
  return side == tls_side::client ? portable_client_suites : portable_suites;
}

// mbedTLS 2.28 prefers the largest curves (P-521 first): a handshake then
// costs ~10 ms of CPU. X25519 and P-256 are as strong as the network needs
// and many times cheaper.
const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
                                       MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};

void must(int rc, const std::string& what) {
  if (rc != 0) throw std::runtime_error(what + ": " + pki::mbed::error_text(rc));
}

void load_cert(pki::mbed::crt& c, const std::string& path, const char* role) {
  if (path.empty()) throw std::runtime_error(std::string("[tls] ") + role + " is not set in the config");
  must(mbedtls_x509_crt_parse_file(c.get(), path.c_str()),
       std::string("cannot load the ") + role + " certificate " + path +
           " (check the path; `credit-node pki` makes them)");
}

// TLS 1.2 is the floor (Debian's 2.28 still has 1.0/1.1 compiled in).
void pin_versions(mbedtls_ssl_config& conf) {
#if MBEDTLS_VERSION_MAJOR >= 3
  mbedtls_ssl_conf_min_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
  mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
}

}  // namespace

// conf_own_cert only stores the pair: a mismatch would surface as a
// handshake failure on every connection, so refuse it here, by name.
namespace {
void use_own_cert(tls_context::impl& i, const tls_files& files) {
#if MBEDTLS_VERSION_MAJOR >= 3
  int pair = mbedtls_pk_check_pair(&i.own->pk, i.key.get(), &pki::mbed::rng::fill, &i.rng);
#else
  int pair = mbedtls_pk_check_pair(&i.own->pk, i.key.get());
#endif
  must(pair, "the key " + files.key + " does not belong to the certificate " + files.cert);
  must(mbedtls_ssl_conf_own_cert(&i.conf, i.own.get(), i.key.get()), "use " + files.cert);
}
}  // namespace

int tls_context::impl::locked_rng(void* self, unsigned char* out, std::size_t len) {
  auto* i = static_cast<impl*>(self);
  std::lock_guard lk(i->rng_mu);
  return pki::mbed::rng::fill(&i->rng, out, len);
}

std::shared_ptr<tls_context> tls_context::make(tls_side side, const tls_files& files, peer_auth auth) {
  std::shared_ptr<tls_context> ctx(new tls_context);
  ctx->side_ = side;
  ctx->impl_ = std::make_unique<impl>();
  auto& i = *ctx->impl_;
  load_cert(i.ca, files.ca, "CA");
  // A client may go without a certificate (a bank using a bearer token);
  // a server never does.
  bool anonymous = side == tls_side::client && files.cert.empty() && files.key.empty();
  if (!anonymous) {
    load_cert(i.own, files.cert, "node");
    pki::mbed::load_private_key(i.key, files.key, i.rng);
  }
  must(mbedtls_ssl_config_defaults(&i.conf, side == tls_side::server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                   MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT),
       "TLS defaults");
  pin_versions(i.conf);
  mbedtls_ssl_conf_ciphersuites(&i.conf, suites_for(side));
  mbedtls_ssl_conf_curves(&i.conf, curves);
  mbedtls_ssl_conf_rng(&i.conf, &impl::locked_rng, &i);
  mbedtls_ssl_conf_ca_chain(&i.conf, i.ca.get(), nullptr);
  if (!anonymous) use_own_cert(i, files);
  // The server default is NONE: ask explicitly. Clients always verify.
  int mode = side == tls_side::client || auth == peer_auth::required ? MBEDTLS_SSL_VERIFY_REQUIRED
                                                                      : MBEDTLS_SSL_VERIFY_OPTIONAL;
  mbedtls_ssl_conf_authmode(&i.conf, mode);
  mbedtls_ssl_conf_renegotiation(&i.conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
  return ctx;
}

namespace {

// mbedTLS calls this for each certificate of the peer's chain; depth 0 is
// the peer's own. Flagging it fails the handshake with "revoked".
int check_revoked(void* self, mbedtls_x509_crt* crt, int depth, std::uint32_t* flags) {
  auto* i = static_cast<tls_context::impl*>(self);
  if (depth != 0 || !i->revoked) return 0;
  try {
    auto id = pki::identity_of(*crt);
    if (i->revoked(id.serial_hex)) {
      *flags |= MBEDTLS_X509_BADCERT_REVOKED;
      log::warn("tls_peer_revoked").kv("peer", id.node_id).kv("serial", id.serial_hex);
    }
  } catch (const std::exception&) {
    *flags |= MBEDTLS_X509_BADCERT_OTHER;  // an unreadable name is refused, not guessed at
  }
  return 0;
}

}  // namespace

void tls_context::refuse_serials(std::function<bool(const std::string& serial_hex)> revoked) {
  impl_->revoked = std::move(revoked);
  mbedtls_ssl_conf_verify(&impl_->conf, &check_revoked, impl_.get());
}

tls_context::~tls_context() = default;

}  // namespace node::net
