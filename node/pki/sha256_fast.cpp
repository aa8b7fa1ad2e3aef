// SHA-256 compression with the SHA-NI instructions (sha256rnds2, msg1,
// msg2), the standard arrangement from Intel's SHA extensions paper: the
// state held as ABEF/CDGH, four message registers rotating through the
// schedule. Compiled for those instructions only in this function (target
// attribute), so the binary still runs on CPUs without them.
#include "node/pki/sha256_fast.hpp"

#include <cstring>
#include <stdexcept>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace node::pki::fast {
namespace {

constexpr std::uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

void put_be32(unsigned char* p, std::uint32_t v) {
  p[0] = static_cast<unsigned char>(v >> 24);
  p[1] = static_cast<unsigned char>(v >> 16);
  p[2] = static_cast<unsigned char>(v >> 8);
  p[3] = static_cast<unsigned char>(v);
}

#if defined(__x86_64__)
alignas(16) constexpr std::uint32_t k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// `blocks` 64-byte blocks into state (a..h as the standard numbers them).
__attribute__((target("sha,ssse3,sse4.1"))) void compress(std::uint32_t state[8], const unsigned char* p,
                                                           std::size_t blocks) {
  const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);  // big-endian words
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state)), 0xB1);  // CDAB
  __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4)), 0x1B);  // EFGH
  __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);    // ABEF
  s1 = _mm_blend_epi16(s1, tmp, 0xF0);         // CDGH
  for (; blocks > 0; --blocks, p += 64) {
    const __m128i abef = s0, cdgh = s1;
    __m128i m[4];
    for (int i = 0; i < 4; ++i) m[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)), swap);
    // Group g: rounds 4g..4g+3 on words W[4g..4g+3], held in m[g % 4].
    // Words 16..63 are scheduled three groups ahead: msg1 at g prepares
    // the group g+3, msg2 at g finishes the group g+1.
    for (int g = 0; g < 16; ++g) {
      __m128i msg = _mm_add_epi32(m[g & 3], _mm_load_si128(reinterpret_cast<const __m128i*>(k + 4 * g)));
      s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
      if (g >= 3 && g <= 14) {
        __m128i& next = m[(g + 1) & 3];
        next = _mm_add_epi32(next, _mm_alignr_epi8(m[g & 3], m[(g + 3) & 3], 4));
        next = _mm_sha256msg2_epu32(next, m[g & 3]);
      }
      s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(msg, 0x0E));
      if (g >= 1 && g <= 12) m[(g + 3) & 3] = _mm_sha256msg1_epu32(m[(g + 3) & 3], m[g & 3]);
    }
    s0 = _mm_add_epi32(s0, abef);
    s1 = _mm_add_epi32(s1, cdgh);
  }
  tmp = _mm_shuffle_epi32(s0, 0x1B);           // FEBA
  s1 = _mm_shuffle_epi32(s1, 0xB1);            // DCHG
  s0 = _mm_blend_epi16(tmp, s1, 0xF0);         // DCBA
  s1 = _mm_alignr_epi8(s1, tmp, 8);            // HGFE
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), s0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), s1);
}

bool detect() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  bool ssse3 = c & (1u << 9), sse41 = c & (1u << 19);
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return ssse3 && sse41 && (b & (1u << 29));
}
#else
void compress(std::uint32_t*, const unsigned char*, std::size_t) {}
bool detect() { return false; }
#endif

}  // namespace

bool sha256_available() {
  static const bool yes = detect();
  return yes;
}

void sha256(const unsigned char* p, std::size_t n, unsigned char out[32]) {
  // Without the instructions this would be a wrong digest, not a crash.
  if (!sha256_available()) throw std::logic_error("fast::sha256 on a CPU without SHA-NI: call sha256_available() first");
  std::uint32_t state[8];
  std::memcpy(state, initial, sizeof state);
  compress(state, p, n / 64);
  // The tail, 0x80, zeros, and the length in bits: one block or two.
  unsigned char last[128] = {};
  std::size_t rest = n % 64;
  if (rest) std::memcpy(last, p + n - rest, rest);
  last[rest] = 0x80;
  std::size_t tail = rest < 56 ? 64 : 128;
  std::uint64_t bits = static_cast<std::uint64_t>(n) * 8;
  put_be32(last + tail - 8, static_cast<std::uint32_t>(bits >> 32));
  put_be32(last + tail - 4, static_cast<std::uint32_t>(bits));
  compress(state, last, tail / 64);
  for (int i = 0; i < 8; ++i) put_be32(out + 4 * i, state[i]);
}

}  // namespace node::pki::fast
