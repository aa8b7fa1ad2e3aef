// AES-GCM with AES-NI and PCLMULQDQ (node/net/fast_gcm) seals and opens
// exactly as mbedTLS's own: every TLS record of the API and of sync goes
// through it, and the peer (wrk, curl, an older node) runs another
// implementation. The test binary is linked like the product, so
// mbedtls_gcm_* reach the fast path and __real_mbedtls_gcm_* mbedTLS.
#include <doctest/doctest.h>
#include <mbedtls/gcm.h>

#include <random>
#include <vector>

#include "node/net/fast_gcm.hpp"

extern "C" {
int __real_mbedtls_gcm_crypt_and_tag(mbedtls_gcm_context* ctx, int mode, size_t length, const unsigned char* iv,
                                     size_t iv_len, const unsigned char* add, size_t add_len, const unsigned char* input,
                                     unsigned char* output, size_t tag_len, unsigned char* tag);
}

namespace {

using bytes = std::vector<unsigned char>;

bytes random_bytes(std::mt19937& rng, std::size_t n) {
  bytes b(n);
  for (auto& c : b) c = static_cast<unsigned char>(rng());
  return b;
}

struct gcm {
  mbedtls_gcm_context ctx;
  explicit gcm(const bytes& key) {
    mbedtls_gcm_init(&ctx);
    REQUIRE(mbedtls_gcm_setkey(&ctx, MBEDTLS_CIPHER_ID_AES, key.data(), static_cast<unsigned>(key.size() * 8)) == 0);
  }
  ~gcm() { mbedtls_gcm_free(&ctx); }
};

}  // namespace

TEST_CASE("fast_gcm: sealing and opening match mbedTLS's own for AES-128/192/256, every length and AAD, in place") {
  MESSAGE("fast path active on this CPU: " << node::net::fast_gcm::active());
  std::mt19937 rng(20261207);
  for (std::size_t key_len : {16u, 24u, 32u})
    for (std::size_t len : {0u, 1u, 15u, 16u, 17u, 63u, 64u, 65u, 127u, 200u, 1000u, 4096u, 16384u + 13u})
      for (std::size_t aad_len : {0u, 13u, 16u, 29u})
        for (std::size_t tag_len : {16u, 12u}) {
          CAPTURE(key_len);
          CAPTURE(len);
          CAPTURE(aad_len);
          CAPTURE(tag_len);
          auto key = random_bytes(rng, key_len), iv = random_bytes(rng, 12), aad = random_bytes(rng, aad_len),
               plain = random_bytes(rng, len);
          gcm g(key);
          bytes ours(len), theirs(len), tag_ours(tag_len), tag_theirs(tag_len);
          REQUIRE(mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_ENCRYPT, len, iv.data(), 12, aad.data(), aad_len,
                                            plain.data(), ours.data(), tag_len, tag_ours.data()) == 0);
          REQUIRE(__real_mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_ENCRYPT, len, iv.data(), 12, aad.data(), aad_len,
                                                   plain.data(), theirs.data(), tag_len, tag_theirs.data()) == 0);
          CHECK(ours == theirs);
          CHECK(tag_ours == tag_theirs);
          // Opened in place, as TLS does.
          bytes record = theirs;
          REQUIRE(mbedtls_gcm_auth_decrypt(&g.ctx, len, iv.data(), 12, aad.data(), aad_len, tag_theirs.data(), tag_len,
                                           record.data(), record.data()) == 0);
          CHECK(record == plain);
        }
}

// The GCM specification's test cases 1 and 2 (AES-128, zero key and IV):
// an answer known without either implementation.
TEST_CASE("fast_gcm: the specification's test vectors, and the fast path is what ran") {
  auto before = node::net::fast_gcm::records_sealed();
  bytes key(16, 0), iv(12, 0), plain(16, 0), sealed(16), tag(16);
  gcm g(key);
  REQUIRE(mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_ENCRYPT, 0, iv.data(), 12, nullptr, 0, nullptr, nullptr, 16,
                                    tag.data()) == 0);
  CHECK(tag == bytes{0x58, 0xe2, 0xfc, 0xce, 0xfa, 0x7e, 0x30, 0x61, 0x36, 0x7f, 0x1d, 0x57, 0xa4, 0xe7, 0x45, 0x5a});
  REQUIRE(mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_ENCRYPT, 16, iv.data(), 12, nullptr, 0, plain.data(),
                                    sealed.data(), 16, tag.data()) == 0);
  CHECK(sealed == bytes{0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92, 0xf3, 0x28, 0xc2, 0xb9, 0x71, 0xb2, 0xfe, 0x78});
  CHECK(tag == bytes{0xab, 0x6e, 0x47, 0xd4, 0x2c, 0xec, 0x13, 0xbd, 0xf5, 0x3a, 0x67, 0xb2, 0x12, 0x57, 0xbd, 0xdf});
  // On a CPU with the instructions, these went through the fast path, not
  // silently through mbedTLS's own.
  if (node::net::fast_gcm::active()) CHECK(node::net::fast_gcm::records_sealed() == before + 2);
}

// TLS seals in place; crypt_and_tag in decrypt mode opens without the tag check.
TEST_CASE("fast_gcm: sealing in place, and crypt_and_tag in decrypt mode, match mbedTLS's own") {
  std::mt19937 rng(11);
  for (std::size_t len : {0u, 5u, 64u, 1000u}) {
    CAPTURE(len);
    auto key = random_bytes(rng, 32), iv = random_bytes(rng, 12), aad = random_bytes(rng, 13), plain = random_bytes(rng, len);
    gcm g(key);
    bytes in_place = plain, theirs(len), t1(16), t2(16);
    REQUIRE(mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_ENCRYPT, len, iv.data(), 12, aad.data(), 13, in_place.data(),
                                      in_place.data(), 16, t1.data()) == 0);
    REQUIRE(__real_mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_ENCRYPT, len, iv.data(), 12, aad.data(), 13,
                                             plain.data(), theirs.data(), 16, t2.data()) == 0);
    CHECK(in_place == theirs);
    CHECK(t1 == t2);
    bytes opened(len), opened_theirs(len);
    REQUIRE(mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_DECRYPT, len, iv.data(), 12, aad.data(), 13, theirs.data(),
                                      opened.data(), 16, t1.data()) == 0);
    REQUIRE(__real_mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_DECRYPT, len, iv.data(), 12, aad.data(), 13,
                                             theirs.data(), opened_theirs.data(), 16, t2.data()) == 0);
    CHECK(opened == plain);
    CHECK(opened_theirs == plain);
    CHECK(t1 == t2);
  }
}

TEST_CASE("fast_gcm: a changed tag, ciphertext byte or AAD byte is refused, and nothing of the record is left") {
  std::mt19937 rng(7);
  auto key = random_bytes(rng, 16), iv = random_bytes(rng, 12), aad = random_bytes(rng, 13), plain = random_bytes(rng, 300);
  gcm g(key);
  bytes sealed(plain.size()), tag(16);
  REQUIRE(mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_ENCRYPT, plain.size(), iv.data(), 12, aad.data(), aad.size(),
                                    plain.data(), sealed.data(), 16, tag.data()) == 0);
  auto open = [&](bytes record, bytes t, bytes a) {
    int rc = mbedtls_gcm_auth_decrypt(&g.ctx, record.size(), iv.data(), 12, a.data(), a.size(), t.data(), 16,
                                      record.data(), record.data());
    if (rc != 0) CHECK_MESSAGE(record == bytes(record.size(), 0), "a refused record's plaintext must be wiped");
    return rc;
  };
  CHECK(open(sealed, tag, aad) == 0);
  for (std::size_t i : {0u, 5u, 15u}) {
    auto t = tag;
    t[i] ^= 1;
    CHECK(open(sealed, t, aad) == MBEDTLS_ERR_GCM_AUTH_FAILED);
  }
  for (std::size_t i : {0u, 150u, 299u}) {
    auto r = sealed;
    r[i] ^= 0x80;
    CHECK(open(r, tag, aad) == MBEDTLS_ERR_GCM_AUTH_FAILED);
  }
  auto a = aad;
  a[12] ^= 1;
  CHECK(open(sealed, tag, a) == MBEDTLS_ERR_GCM_AUTH_FAILED);
}

TEST_CASE("fast_gcm: an IV other than 96 bits goes to mbedTLS's own and still matches") {
  std::mt19937 rng(3);
  auto key = random_bytes(rng, 16), iv = random_bytes(rng, 16), plain = random_bytes(rng, 100);
  gcm g(key);
  bytes ours(100), theirs(100), t1(16), t2(16);
  REQUIRE(mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_ENCRYPT, 100, iv.data(), 16, nullptr, 0, plain.data(),
                                    ours.data(), 16, t1.data()) == 0);
  REQUIRE(__real_mbedtls_gcm_crypt_and_tag(&g.ctx, MBEDTLS_GCM_ENCRYPT, 100, iv.data(), 16, nullptr, 0, plain.data(),
                                           theirs.data(), 16, t2.data()) == 0);
  CHECK(ours == theirs);
  CHECK(t1 == t2);
}
