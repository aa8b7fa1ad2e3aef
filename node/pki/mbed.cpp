#include "node/pki/mbed.hpp"

#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/sha256.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

#include "node/pki/files.hpp"
#include "node/pki/sha256_fast.hpp"

namespace node::pki::mbed {
namespace {

constexpr std::size_t pem_buffer_size = 4096;  // a P-256 key or certificate is well under this

}  // namespace

rng::rng() {
  mbedtls_entropy_init(&entropy_);
  mbedtls_ctr_drbg_init(&drbg_);
  static constexpr unsigned char personalization[] = "credit-node pki";
  int rc = mbedtls_ctr_drbg_seed(&drbg_, mbedtls_entropy_func, &entropy_, personalization,
                                 sizeof personalization - 1);
  if (rc != 0) {
    mbedtls_ctr_drbg_free(&drbg_);
    mbedtls_entropy_free(&entropy_);
    throw pki_error(pki_error::kind::failure,
                    "cannot seed the random generator from the system entropy source: " + error_text(rc));
  }
}

rng::~rng() {
  mbedtls_ctr_drbg_free(&drbg_);
  mbedtls_entropy_free(&entropy_);
}

int rng::fill(void* self, unsigned char* out, std::size_t len) {
  return mbedtls_ctr_drbg_random(&static_cast<rng*>(self)->drbg_, out, len);
}

void rng::bytes(unsigned char* out, std::size_t len) {
  check(mbedtls_ctr_drbg_random(&drbg_, out, len), "random generator");
}

std::string error_text(int rc) {
  char buf[200];
  mbedtls_strerror(rc, buf, sizeof buf);
  char code[24];
  std::snprintf(code, sizeof code, " (-0x%04X)", static_cast<unsigned>(rc < 0 ? -rc : rc));
  return std::string(buf) + code;
}

void check(int rc, const std::string& what) {
  if (rc != 0) throw pki_error(pki_error::kind::failure, what + ": " + error_text(rc));
}

void generate_p256(pk& key, rng& r) {
  check(mbedtls_pk_setup(key.get(), mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), "key setup");
  check(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key.get()), &rng::fill, &r),
        "P-256 key generation");
}

void load_private_key(pk& key, const std::string& path, rng& r) {
  std::string data = files::read(path, "private key");
  // PEM parsing wants the terminating NUL counted in the length.
  std::vector<unsigned char> buf(data.begin(), data.end());
  buf.push_back(0);
#if MBEDTLS_VERSION_MAJOR >= 3
  int rc = mbedtls_pk_parse_key(key.get(), buf.data(), buf.size(), nullptr, 0, &rng::fill, &r);
#else
  (void)r;
  int rc = mbedtls_pk_parse_key(key.get(), buf.data(), buf.size(), nullptr, 0);
#endif
  mbedtls_platform_zeroize(buf.data(), buf.size());
  std::fill(data.begin(), data.end(), '\0');
  if (rc != 0)
    throw pki_error(pki_error::kind::input,
                    "cannot read the private key in " + path + ": " + error_text(rc) +
                        "; it must be an unencrypted PEM or DER key (move the file away to have a new key made)");
}

std::string private_key_pem(pk& key) {
  std::vector<unsigned char> buf(pem_buffer_size);
  check(mbedtls_pk_write_key_pem(key.get(), buf.data(), buf.size()), "writing the private key as PEM");
  std::string pem(reinterpret_cast<const char*>(buf.data()));
  mbedtls_platform_zeroize(buf.data(), buf.size());
  return pem;
}

std::string describe_if_not_p256(const mbedtls_pk_context& key) {
  auto type = mbedtls_pk_get_type(&key);
  if (type != MBEDTLS_PK_ECKEY && type != MBEDTLS_PK_ECKEY_DH && type != MBEDTLS_PK_ECDSA)
    return std::string("a key of type ") + mbedtls_pk_get_name(&key) + " (" +
           std::to_string(mbedtls_pk_get_bitlen(&key)) + " bits)";
#if MBEDTLS_VERSION_MAJOR >= 3
  mbedtls_ecp_group_id gid = mbedtls_pk_get_ec_group_id(&key);
#else
  mbedtls_ecp_group_id gid = mbedtls_pk_ec(key)->grp.id;
#endif
  if (gid == MBEDTLS_ECP_DP_SECP256R1) return "";
  const mbedtls_ecp_curve_info* info = mbedtls_ecp_curve_info_from_grp_id(gid);
  return std::string("an EC key on curve ") + (info != nullptr ? info->name : "(unknown)");
}

void parse_cert(crt& c, std::string_view data, const std::string& where) {
  std::vector<unsigned char> buf(data.begin(), data.end());
  buf.push_back(0);  // PEM wants the NUL counted; DER ignores trailing bytes after the cert
  bool pem = data.find("-----BEGIN") != std::string_view::npos;
  int rc = mbedtls_x509_crt_parse(c.get(), buf.data(), pem ? buf.size() : data.size());
  if (rc > 0)  // some of several certificates did not parse
    throw pki_error(pki_error::kind::input, where + " holds " + std::to_string(rc) +
                                                " certificate(s) that cannot be parsed; expected one PEM certificate");
  if (rc != 0)
    throw pki_error(pki_error::kind::input, "cannot parse the certificate in " + where + ": " + error_text(rc) +
                                                "; expected a PEM certificate (-----BEGIN CERTIFICATE-----)");
}

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 0xf];
  }
  return s;
}

std::string sha256_hex(const unsigned char* p, std::size_t n) {
  unsigned char digest[32];
  if (fast::sha256_available()) {  // the same digest, several times faster (sha256_fast.hpp)
    fast::sha256(p, n, digest);
    return hex(digest, sizeof digest);
  }
#if MBEDTLS_VERSION_MAJOR >= 3
  check(mbedtls_sha256(p, n, digest, 0), "SHA-256");
#else
  check(mbedtls_sha256_ret(p, n, digest, 0), "SHA-256");
#endif
  return hex(digest, sizeof digest);
}

std::int64_t unix_time(const mbedtls_x509_time& t) {
  std::tm tm{};
  tm.tm_year = t.year - 1900;
  tm.tm_mon = t.mon - 1;
  tm.tm_mday = t.day;
  tm.tm_hour = t.hour;
  tm.tm_min = t.min;
  tm.tm_sec = t.sec;
  return static_cast<std::int64_t>(::timegm(&tm));
}

}  // namespace node::pki::mbed
