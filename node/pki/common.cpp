// Shared by ca.cpp, sign.cpp and csr.cpp: subject names, their checks, time.
#include <mbedtls/oid.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "node/pki/internal.hpp"

namespace node::pki {

std::string check_cert_role(const std::string& role) {
  if (role == "local" || role == "provincial" || role == "national" || role == "bank" || role == "portal")
    return "";
  return "expected one of local, provincial, national, bank, portal; found \"" + role + "\"";
}

bool role_needs_jurisdiction(const std::string& role) {
  return role == "local" || role == "provincial" || role == "national";
}

std::string format_utc(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace detail {

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string node_subject(const std::string& node_id, const std::string& role, const std::string& jurisdiction) {
  std::string s = "CN=" + node_id + ", OU=" + role;
  if (!jurisdiction.empty()) s += ", L=" + jurisdiction;
  return s + ", O=" + organization;
}

void check_subject_values(const std::string& node_id, const std::string& role, const std::string& jurisdiction) {
  // The node id syntax keeps DN metacharacters (",", "=", "\") out of the subject.
  if (auto e = config::check_node_id(node_id); !e.empty()) refuse("--node-id: " + e);
  if (auto e = check_cert_role(role); !e.empty()) refuse("--role: " + e);
  if (jurisdiction.empty()) {
    if (role_needs_jurisdiction(role))
      refuse("--jurisdiction is required for role " + role +
             ": a node's certificate binds the division it serves (e.g. --jurisdiction 320100)");
    return;
  }
  if (auto e = config::check_division(jurisdiction); !e.empty()) refuse("--jurisdiction: " + e);
}

void check_days(int days) {
  if (days < 1 || days > max_days)
    refuse("--days must be between 1 and " + std::to_string(max_days) + ", found " + std::to_string(days));
}

void check_ca_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    refuse("--name must be 1 to 64 bytes (it becomes the CA certificate's CN), found " +
           std::to_string(name.size()));
  if (name.front() == ' ' || name.back() == ' ') refuse("--name must not start or end with a space");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f || std::string_view(",=+\\\"<>;#").find(static_cast<char>(c)) != std::string_view::npos)
      refuse("--name \"" + name + "\" contains a control character or one of , = + \\ \" < > ; # — " +
             "use letters, digits, spaces, '.', '-' (e.g. \"Jiangsu Provincial CA\")");
}

std::string issuer_string(const mbedtls_x509_name& subject) {
  std::string out;
  for (const mbedtls_x509_name* n = &subject; n != nullptr; n = n->next) {
    if (n->oid.p == nullptr) continue;
    const char* short_name = nullptr;
    if (mbedtls_oid_get_attr_short_name(&n->oid, &short_name) != 0)
      refuse("the CA certificate's subject has an attribute this CA cannot reproduce as issuer name");
    std::string value(reinterpret_cast<const char*>(n->val.p), n->val.len);
    if (value.find_first_of(",\\") != std::string::npos)
      refuse("the CA certificate's subject has a ',' or '\\' in " + std::string(short_name) +
             "; make a CA with a plain --name");
    if (!out.empty()) out += ", ";
    out += std::string(short_name) + "=" + value;
  }
  return out;
}

void random_serial(mbed::rng& r, unsigned char (&out)[serial_bytes]) {
  r.bytes(out, serial_bytes);
  out[0] = static_cast<unsigned char>((out[0] & 0x3f) | 0x40);
}

}  // namespace detail
std::string csr_path_for(const std::string& cert) {
  if (cert.size() > 4 && cert.ends_with(".pem")) return cert.substr(0, cert.size() - 4) + ".csr";
  return cert + ".csr";
}

}  // namespace node::pki

namespace node::pki {

std::string sha256_hex(std::string_view data) {
  return mbed::sha256_hex(reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

std::string random_hex(std::size_t bytes) {
  mbed::rng r;
  std::vector<unsigned char> buf(bytes);
  r.bytes(buf.data(), buf.size());
  return mbed::hex(buf.data(), buf.size());
}

}  // namespace node::pki

#include <mbedtls/sha256.h>

#include <fstream>

namespace node::pki {

// Streamed: a backup may be many GB.
std::string sha256_file_hex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw pki_error(pki_error::kind::input, "cannot read " + path);
  mbedtls_sha256_context ctx;
  mbedtls_sha256_init(&ctx);
  std::vector<char> buf(1 << 20);
  unsigned char digest[32];
#if MBEDTLS_VERSION_MAJOR >= 3
  mbedtls_sha256_starts(&ctx, 0);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
    mbedtls_sha256_update(&ctx, reinterpret_cast<unsigned char*>(buf.data()), static_cast<std::size_t>(in.gcount()));
  mbedtls_sha256_finish(&ctx, digest);
#else
  mbedtls_sha256_starts_ret(&ctx, 0);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
    mbedtls_sha256_update_ret(&ctx, reinterpret_cast<unsigned char*>(buf.data()), static_cast<std::size_t>(in.gcount()));
  mbedtls_sha256_finish_ret(&ctx, digest);
#endif
  mbedtls_sha256_free(&ctx);
  return mbed::hex(digest, sizeof digest);
}

}  // namespace node::pki
