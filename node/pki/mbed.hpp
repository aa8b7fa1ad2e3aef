// Internal to node/pki (and node/net): RAII holders for mbedTLS contexts, the
// random generator, error rendering, and the few calls whose signature
// differs between mbedTLS 2.28 and 3.x — so a move to 3.6 changes this file
// and little else.
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "node/pki/pki.hpp"

#if MBEDTLS_VERSION_MAJOR >= 3
#define CN_MBED_PRIVATE(member) MBEDTLS_PRIVATE(member)
#else
#define CN_MBED_PRIVATE(member) member
#endif

namespace node::pki::mbed {

// Owns one mbedTLS context: init in the constructor, free in the destructor.
template <typename T, void (*Init)(T*), void (*Free)(T*)>
class holder {
public:
  holder() { Init(&v_); }
  ~holder() { Free(&v_); }
  holder(const holder&) = delete;
  holder& operator=(const holder&) = delete;
  T* get() { return &v_; }
  const T* get() const { return &v_; }
  T* operator->() { return &v_; }
  const T* operator->() const { return &v_; }

private:
  T v_;
};

using pk = holder<mbedtls_pk_context, mbedtls_pk_init, mbedtls_pk_free>;
using crt = holder<mbedtls_x509_crt, mbedtls_x509_crt_init, mbedtls_x509_crt_free>;
using csr = holder<mbedtls_x509_csr, mbedtls_x509_csr_init, mbedtls_x509_csr_free>;
using mpi = holder<mbedtls_mpi, mbedtls_mpi_init, mbedtls_mpi_free>;

// CTR_DRBG seeded from the platform entropy source.
class rng {
public:
  rng();
  ~rng();
  rng(const rng&) = delete;
  rng& operator=(const rng&) = delete;
  static int fill(void* self, unsigned char* out, std::size_t len);  // an mbedTLS f_rng
  void* ctx() { return &drbg_; }
  void bytes(unsigned char* out, std::size_t len);

private:
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
};

// mbedtls_strerror text plus the code, e.g. "PK - Bad input parameters (-0x3E80)".
std::string error_text(int rc);

// Throws pki_error(failure) "<what>: <error_text>" when rc != 0.
void check(int rc, const std::string& what);

// Key files: a fresh P-256 key, or the one in a PEM/DER file.
void generate_p256(pk& key, rng& r);
void load_private_key(pk& key, const std::string& path, rng& r);
std::string private_key_pem(pk& key);

// "" when `key` is an EC key on P-256, else what it is instead.
std::string describe_if_not_p256(const mbedtls_pk_context& key);

// Parses one certificate from PEM text (or DER bytes).
void parse_cert(crt& c, std::string_view data, const std::string& where);

// Lowercase hex.
std::string hex(const unsigned char* p, std::size_t n);
std::string sha256_hex(const unsigned char* p, std::size_t n);

// The unix time of an X.509 validity bound (UTC).
std::int64_t unix_time(const mbedtls_x509_time& t);

}  // namespace node::pki::mbed
