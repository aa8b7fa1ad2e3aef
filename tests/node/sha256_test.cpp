// SHA-256 with the x86 SHA extensions (node/pki/sha256_fast) gives exactly
// mbedTLS's digest: the audit chain and token lookups depend on it, and a
// log written on one CPU is verified on another.
#include <doctest/doctest.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "node/pki/mbed.hpp"
#include "node/pki/pki.hpp"
#include "node/pki/sha256_fast.hpp"

namespace {

std::string reference_hex(const unsigned char* p, std::size_t n) {
  unsigned char d[32];
#if MBEDTLS_VERSION_MAJOR >= 3
  REQUIRE(mbedtls_sha256(p, n, d, 0) == 0);
#else
  REQUIRE(mbedtls_sha256_ret(p, n, d, 0) == 0);
#endif
  return node::pki::mbed::hex(d, sizeof d);
}

std::string fast_hex(const unsigned char* p, std::size_t n) {
  unsigned char d[32];
  node::pki::fast::sha256(p, n, d);
  return node::pki::mbed::hex(d, sizeof d);
}

}  // namespace

TEST_CASE("sha256: the published test vectors, through the path this CPU takes") {
  using node::pki::sha256_hex;
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  MESSAGE("SHA-NI on this CPU: " << std::string(node::pki::fast::sha256_available() ? "yes" : "no (mbedTLS's portable code)"));
}

TEST_CASE("sha256: the fast path is taken exactly when the kernel lists sha_ni") {
#if defined(__x86_64__) && defined(__linux__)
  // A broken CPUID check would silently fall back to mbedTLS, and the
  // comparison below would then compare nothing.
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  bool listed = false;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      listed = (" " + line + " ").find(" sha_ni ") != std::string::npos;
      break;
    }
  CHECK(node::pki::fast::sha256_available() == listed);
#else
  CHECK_FALSE(node::pki::fast::sha256_available());  // x86 only
  unsigned char d[32];
  CHECK_THROWS_AS(node::pki::fast::sha256(reinterpret_cast<const unsigned char*>("abc"), 3, d), std::logic_error);
#endif
}

TEST_CASE("sha256: SHA-NI agrees with mbedTLS at every length to 1,100 bytes and four alignments") {
  if (!node::pki::fast::sha256_available()) {
    MESSAGE("no SHA-NI on this CPU: nothing to compare");
    return;
  }
  std::mt19937 rng(20261128);
  std::vector<unsigned char> buf(1100 + 16);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  int mismatches = 0;
  for (std::size_t n = 0; n <= 1100; ++n)
    for (std::size_t off : {0, 1, 7, 13}) {  // unaligned input, and every padding case (n % 64 around 55/56)
      const unsigned char* p = buf.data() + off;
      if (fast_hex(p, n) != reference_hex(p, n) && ++mismatches <= 5) FAIL_CHECK("length " << n << " offset " << off);
    }
  CHECK(mismatches == 0);
  // Bytes that stress the byte order: all ones, all zeros, a lone high bit.
  for (unsigned char fill : {0x00, 0xff, 0x80}) {
    std::vector<unsigned char> same(300, fill);
    CHECK(fast_hex(same.data(), same.size()) == reference_hex(same.data(), same.size()));
  }
}
