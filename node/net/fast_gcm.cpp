// AES-GCM for TLS records with the CPU's AES and carry-less multiply
// instructions, four counter blocks in flight and no per-block calls.
// mbedTLS 2.28 uses the same instructions one block and several calls at a
// time: 167 MB/s on the 2-core machine, slower than its portable
// ChaCha20-Poly1305 (241 MB/s), whose cost was a tenth of the API's CPU
// per answer and a seventh of a sync catch-up's.
//
// mbedTLS's cipher layer calls mbedtls_gcm_crypt_and_tag and
// mbedtls_gcm_auth_decrypt for every GCM record; the link wraps both
// (-Wl,--wrap, node/CMakeLists.txt), so its calls reach these functions.
// Anything but the TLS case — no AES-NI or PCLMULQDQ, another cipher than
// AES, an IV other than 96 bits — goes on to mbedTLS's own (__real_).
// tests/node/fast_gcm_test.cpp compares both on random inputs.
#include "node/net/fast_gcm.hpp"

#include <mbedtls/aes.h>
#include <mbedtls/cipher.h>
#include <mbedtls/gcm.h>
#include <mbedtls/platform_util.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

extern "C" {
int __real_mbedtls_gcm_crypt_and_tag(mbedtls_gcm_context* ctx, int mode, size_t length, const unsigned char* iv,
                                     size_t iv_len, const unsigned char* add, size_t add_len, const unsigned char* input,
                                     unsigned char* output, size_t tag_len, unsigned char* tag);
int __real_mbedtls_gcm_auth_decrypt(mbedtls_gcm_context* ctx, size_t length, const unsigned char* iv, size_t iv_len,
                                    const unsigned char* add, size_t add_len, const unsigned char* tag, size_t tag_len,
                                    const unsigned char* input, unsigned char* output);
}

#if defined(__x86_64__)
#include <immintrin.h>

namespace node::net::fast_gcm {
namespace {

#define CN_GCM_TARGET __attribute__((target("aes,pclmul,ssse3,sse4.1")))

// GF(2^128) arithmetic on byte-reflected blocks (Intel's carry-less
// multiplication white paper, "gfmul"): the 256-bit carry-less product,
// then shifted left by one bit for the reflection and reduced modulo
// x^128 + x^7 + x^2 + x + 1. Both steps are linear, so four products can
// be summed and reduced once (ghash::blocks4).
struct wide {
  __m128i lo, hi;
};

CN_GCM_TARGET inline wide clmul_wide(__m128i a, __m128i b) {
  __m128i lo = _mm_clmulepi64_si128(a, b, 0x00);
  __m128i mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10), _mm_clmulepi64_si128(a, b, 0x01));
  __m128i hi = _mm_clmulepi64_si128(a, b, 0x11);
  return {_mm_xor_si128(lo, _mm_slli_si128(mid, 8)), _mm_xor_si128(hi, _mm_srli_si128(mid, 8))};
}

CN_GCM_TARGET inline wide operator^(wide a, wide b) { return {_mm_xor_si128(a.lo, b.lo), _mm_xor_si128(a.hi, b.hi)}; }

CN_GCM_TARGET inline __m128i reduce(wide w) {
  __m128i lo = w.lo, hi = w.hi;
  // The 256-bit product shifted left by one bit.
  __m128i lo_carry = _mm_srli_epi32(lo, 31), hi_carry = _mm_srli_epi32(hi, 31);
  lo = _mm_slli_epi32(lo, 1);
  hi = _mm_slli_epi32(hi, 1);
  __m128i cross = _mm_srli_si128(lo_carry, 12);
  hi_carry = _mm_slli_si128(hi_carry, 4);
  lo_carry = _mm_slli_si128(lo_carry, 4);
  lo = _mm_or_si128(lo, lo_carry);
  hi = _mm_or_si128(_mm_or_si128(hi, hi_carry), cross);
  // Reduction, first phase.
  __m128i t = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(lo, 31), _mm_slli_epi32(lo, 30)), _mm_slli_epi32(lo, 25));
  __m128i carry = _mm_srli_si128(t, 4);
  lo = _mm_xor_si128(lo, _mm_slli_si128(t, 12));
  // Second phase.
  __m128i u = _mm_xor_si128(_mm_xor_si128(_mm_srli_epi32(lo, 1), _mm_srli_epi32(lo, 2)), _mm_srli_epi32(lo, 7));
  u = _mm_xor_si128(u, carry);
  lo = _mm_xor_si128(lo, u);
  return _mm_xor_si128(hi, lo);
}

CN_GCM_TARGET inline __m128i gfmul(__m128i a, __m128i b) { return reduce(clmul_wide(a, b)); }

std::atomic<std::uint64_t> fast_records{0};

struct key_schedule {
  __m128i rk[15];
  int nr;
};

CN_GCM_TARGET inline __m128i encrypt_block(const key_schedule& k, __m128i x) {
  x = _mm_xor_si128(x, k.rk[0]);
  for (int i = 1; i < k.nr; ++i) x = _mm_aesenc_si128(x, k.rk[i]);
  return _mm_aesenclast_si128(x, k.rk[k.nr]);
}

// Four counter blocks at once: the AES instructions pipeline. Named, not
// an array: GCC kept an array's blocks in memory, a store and a load
// around every aesenc (a third of this file's time in the API profile).
CN_GCM_TARGET inline void encrypt4(const key_schedule& k, __m128i b[4]) {
  __m128i b0 = _mm_xor_si128(b[0], k.rk[0]), b1 = _mm_xor_si128(b[1], k.rk[0]);
  __m128i b2 = _mm_xor_si128(b[2], k.rk[0]), b3 = _mm_xor_si128(b[3], k.rk[0]);
  for (int i = 1; i < k.nr; ++i) {
    __m128i r = k.rk[i];
    b0 = _mm_aesenc_si128(b0, r);
    b1 = _mm_aesenc_si128(b1, r);
    b2 = _mm_aesenc_si128(b2, r);
    b3 = _mm_aesenc_si128(b3, r);
  }
  __m128i last = k.rk[k.nr];
  b[0] = _mm_aesenclast_si128(b0, last);
  b[1] = _mm_aesenclast_si128(b1, last);
  b[2] = _mm_aesenclast_si128(b2, last);
  b[3] = _mm_aesenclast_si128(b3, last);
}

CN_GCM_TARGET inline __m128i bswap(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

// GHASH state: X, under the byte-reflected H and its powers.
struct ghash {
  __m128i h, h2, h3, h4, x;
  CN_GCM_TARGET explicit ghash(__m128i hash_key) : h(hash_key), x(_mm_setzero_si128()) {
    h2 = gfmul(h, h);
    h3 = gfmul(h2, h);
    h4 = gfmul(h3, h);
  }
  CN_GCM_TARGET void block(__m128i data) { x = gfmul(_mm_xor_si128(x, bswap(data)), h); }
  // Four blocks, one reduction: X·H^4 + C1·H^4 + C2·H^3 + C3·H^2 + C4·H.
  CN_GCM_TARGET void blocks4(const __m128i c[4]) {
    x = reduce(clmul_wide(_mm_xor_si128(x, bswap(c[0])), h4) ^ clmul_wide(bswap(c[1]), h3) ^
               clmul_wide(bswap(c[2]), h2) ^ clmul_wide(bswap(c[3]), h));
  }
  CN_GCM_TARGET void bytes(const unsigned char* p, std::size_t n) {
    for (; n >= 16; p += 16, n -= 16) block(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    if (n == 0) return;
    alignas(16) unsigned char last[16] = {};
    std::memcpy(last, p, n);
    block(_mm_load_si128(reinterpret_cast<const __m128i*>(last)));
  }
};

// The 32-bit block counter of a 96-bit IV, as GCM's inc32 counts.
CN_GCM_TARGET inline __m128i counter_block(__m128i j0, std::uint32_t n) {
  return _mm_insert_epi32(j0, static_cast<int>(__builtin_bswap32(n)), 3);
}

// CTR over `length` bytes from counter 2, hashing the ciphertext: the
// output after encrypting, the input (read before it is overwritten: TLS
// decrypts in place) when decrypting.
CN_GCM_TARGET void crypt(const key_schedule& k, ghash& g, __m128i j0, bool encrypting, std::size_t length,
                         const unsigned char* in, unsigned char* out) {
  std::uint32_t ctr = 2;
  std::size_t off = 0;
  for (; length - off >= 64; off += 64, ctr += 4) {
    __m128i ks[4] = {counter_block(j0, ctr), counter_block(j0, ctr + 1), counter_block(j0, ctr + 2), counter_block(j0, ctr + 3)};
    encrypt4(k, ks);
    __m128i hashed[4];
    for (int j = 0; j < 4; ++j) {
      __m128i data = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + off + 16 * j));
      __m128i res = _mm_xor_si128(data, ks[j]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + off + 16 * j), res);
      hashed[j] = encrypting ? res : data;
    }
    g.blocks4(hashed);
  }
  for (; off < length; off += 16, ++ctr) {
    std::size_t n = std::min<std::size_t>(16, length - off);
    alignas(16) unsigned char buf[16] = {};
    std::memcpy(buf, in + off, n);
    __m128i data = _mm_load_si128(reinterpret_cast<const __m128i*>(buf));
    __m128i res = _mm_xor_si128(data, encrypt_block(k, counter_block(j0, ctr)));
    _mm_store_si128(reinterpret_cast<__m128i*>(buf), res);
    std::memcpy(out + off, buf, n);
    std::memset(buf + n, 0, 16 - n);  // the hash pads a short block with zeros
    g.block(encrypting ? _mm_load_si128(reinterpret_cast<const __m128i*>(buf)) : data);
  }
}

// The key schedule mbedTLS made at mbedtls_gcm_setkey (AES only; with
// AES-NI it is the instructions' own layout, the FIPS-197 bytes).
bool schedule_of(const mbedtls_gcm_context* ctx, key_schedule& k) {
  auto type = mbedtls_cipher_get_type(&ctx->cipher_ctx);
  if (type != MBEDTLS_CIPHER_AES_128_ECB && type != MBEDTLS_CIPHER_AES_192_ECB && type != MBEDTLS_CIPHER_AES_256_ECB)
    return false;
  const auto* aes = static_cast<const mbedtls_aes_context*>(ctx->cipher_ctx.cipher_ctx);
  if (aes == nullptr || aes->rk == nullptr || (aes->nr != 10 && aes->nr != 12 && aes->nr != 14)) return false;
  k.nr = aes->nr;
  for (int i = 0; i <= k.nr; ++i) k.rk[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(aes->rk) + i);
  return true;
}

// The full 16-byte tag of one message; false: not ours to do.
CN_GCM_TARGET bool seal(const mbedtls_gcm_context* ctx, bool encrypting, std::size_t length, const unsigned char* iv,
                        std::size_t iv_len, const unsigned char* add, std::size_t add_len, const unsigned char* in,
                        unsigned char* out, unsigned char full_tag[16]) {
  // 2^30 bytes keeps the 32-bit counter far from wrapping; TLS records are 16 KiB.
  if (!active() || iv_len != 12 || length > (std::size_t{1} << 30) || add_len > (std::size_t{1} << 30)) return false;
  key_schedule k;
  if (!schedule_of(ctx, k)) return false;
  alignas(16) unsigned char j0_bytes[16] = {};
  std::memcpy(j0_bytes, iv, 12);
  j0_bytes[15] = 1;
  __m128i j0 = _mm_load_si128(reinterpret_cast<const __m128i*>(j0_bytes));
  ghash g(bswap(encrypt_block(k, _mm_setzero_si128())));
  g.bytes(add, add_len);
  crypt(k, g, j0, encrypting, length, in, out);
  // The lengths block, [bits of AAD]64 [bits of text]64 big-endian, given reflected.
  g.block(bswap(_mm_set_epi64x(static_cast<long long>(add_len) * 8, static_cast<long long>(length) * 8)));
  __m128i tag = _mm_xor_si128(bswap(g.x), encrypt_block(k, j0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(full_tag), tag);
  // No copy of the round keys or of H left on this thread's stack.
  mbedtls_platform_zeroize(&k, sizeof k);
  mbedtls_platform_zeroize(&g, sizeof g);
  fast_records.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace

std::uint64_t records_sealed() { return fast_records.load(std::memory_order_relaxed); }

bool active() {
  static const bool yes = __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul") &&
                          __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1");
  return yes;
}

}  // namespace node::net::fast_gcm

extern "C" int __wrap_mbedtls_gcm_crypt_and_tag(mbedtls_gcm_context* ctx, int mode, size_t length,
                                                const unsigned char* iv, size_t iv_len, const unsigned char* add,
                                                size_t add_len, const unsigned char* input, unsigned char* output,
                                                size_t tag_len, unsigned char* tag) {
  unsigned char full[16];
  if (tag_len < 4 || tag_len > 16 ||
      !node::net::fast_gcm::seal(ctx, mode != MBEDTLS_GCM_DECRYPT, length, iv, iv_len, add, add_len, input, output, full))
    return __real_mbedtls_gcm_crypt_and_tag(ctx, mode, length, iv, iv_len, add, add_len, input, output, tag_len, tag);
  std::memcpy(tag, full, tag_len);
  return 0;
}

extern "C" int __wrap_mbedtls_gcm_auth_decrypt(mbedtls_gcm_context* ctx, size_t length, const unsigned char* iv,
                                               size_t iv_len, const unsigned char* add, size_t add_len,
                                               const unsigned char* tag, size_t tag_len, const unsigned char* input,
                                               unsigned char* output) {
  unsigned char full[16];
  if (tag_len < 4 || tag_len > 16 ||
      !node::net::fast_gcm::seal(ctx, false, length, iv, iv_len, add, add_len, input, output, full))
    return __real_mbedtls_gcm_auth_decrypt(ctx, length, iv, iv_len, add, add_len, tag, tag_len, input, output);
  // In constant time, and nothing of a forged record is left readable.
  unsigned char diff = 0;
  for (std::size_t i = 0; i < tag_len; ++i) diff |= static_cast<unsigned char>(tag[i] ^ full[i]);
  if (diff == 0) return 0;
  mbedtls_platform_zeroize(output, length);
  return MBEDTLS_ERR_GCM_AUTH_FAILED;
}

#else  // not x86-64: mbedTLS's own, always

namespace node::net::fast_gcm {
bool active() { return false; }
std::uint64_t records_sealed() { return 0; }
}  // namespace node::net::fast_gcm

extern "C" int __wrap_mbedtls_gcm_crypt_and_tag(mbedtls_gcm_context* ctx, int mode, size_t length,
                                                const unsigned char* iv, size_t iv_len, const unsigned char* add,
                                                size_t add_len, const unsigned char* input, unsigned char* output,
                                                size_t tag_len, unsigned char* tag) {
  return __real_mbedtls_gcm_crypt_and_tag(ctx, mode, length, iv, iv_len, add, add_len, input, output, tag_len, tag);
}

extern "C" int __wrap_mbedtls_gcm_auth_decrypt(mbedtls_gcm_context* ctx, size_t length, const unsigned char* iv,
                                               size_t iv_len, const unsigned char* add, size_t add_len,
                                               const unsigned char* tag, size_t tag_len, const unsigned char* input,
                                               unsigned char* output) {
  return __real_mbedtls_gcm_auth_decrypt(ctx, length, iv, iv_len, add, add_len, tag, tag_len, input, output);
}

#endif
