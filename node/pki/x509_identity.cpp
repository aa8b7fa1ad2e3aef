#include "node/pki/x509_identity.hpp"

#include <arpa/inet.h>
#include <mbedtls/oid.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "node/pki/files.hpp"
#include "node/pki/mbed.hpp"

namespace node::pki {
namespace {

struct attribute {
  const char* oid;
  std::size_t oid_len;
  const char* label;
  std::string identity::*field;
};

#define CN_ATTR(OID, LABEL, FIELD) \
  attribute { OID, MBEDTLS_OID_SIZE(OID), LABEL, &identity::FIELD }

const attribute subject_attributes[] = {
    CN_ATTR(MBEDTLS_OID_AT_CN, "CN", node_id),
    CN_ATTR(MBEDTLS_OID_AT_ORG_UNIT, "OU", role),
    CN_ATTR(MBEDTLS_OID_AT_LOCALITY, "L", jurisdiction),
    CN_ATTR(MBEDTLS_OID_AT_ORGANIZATION, "O", organization),
};

#undef CN_ATTR

std::string serial_hex(const mbedtls_x509_buf& serial) {
  // DER adds a 00 byte before a serial whose top bit is set; it is not part of the number.
  std::size_t skip = 0;
  while (skip + 1 < serial.len && serial.p[skip] == 0) ++skip;
  return mbed::hex(serial.p + skip, serial.len - skip);
}

// Valid UTF-8 is kept (Chinese names); control characters and invalid bytes
// become '?', so a name is always safe to print, log and put in JSON.
std::string printable(const unsigned char* p, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n;) {
    unsigned char c = p[i];
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = len > 0 && i + len <= n && (len > 1 || (c >= 0x20 && c != 0x7f));
    for (std::size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xc0) == 0x80;
    if (!ok) {
      out += '?';
      ++i;
      continue;
    }
    out.append(reinterpret_cast<const char*>(p + i), len);
    i += len;
  }
  return out;
}

}  // namespace

identity names_of(const mbedtls_x509_name& subject) {
  identity id;
  id.subject = dn_string(subject);
  bool seen[std::size(subject_attributes)] = {};
  for (const mbedtls_x509_name* n = &subject; n != nullptr; n = n->next) {
    if (n->oid.p == nullptr) continue;
    for (std::size_t i = 0; i < std::size(subject_attributes); ++i) {
      const attribute& a = subject_attributes[i];
      if (n->oid.len != a.oid_len || std::memcmp(n->oid.p, a.oid, a.oid_len) != 0) continue;
      if (seen[i])
        throw pki_error(pki_error::kind::input, "the subject \"" + id.subject + "\" has more than one " +
                                                    a.label + "; refusing an ambiguous identity");
      seen[i] = true;
      id.*a.field = printable(n->val.p, n->val.len);
    }
  }
  if (!seen[0])
    throw pki_error(pki_error::kind::input,
                    "the subject \"" + id.subject + "\" has no CN, so it names no node");
  return id;
}

std::string dn_string(const mbedtls_x509_name& name) {
  // Not mbedtls_x509_dn_gets: it turns every non-ASCII byte into '?', and CA
  // names here are often Chinese.
  std::string out;
  for (const mbedtls_x509_name* n = &name; n != nullptr; n = n->next) {
    if (n->oid.p == nullptr) continue;
    const char* short_name = nullptr;
    if (mbedtls_oid_get_attr_short_name(&n->oid, &short_name) == 0) {
      out += short_name;
    } else {
      char dotted[64];
      int len = mbedtls_oid_get_numeric_string(dotted, sizeof dotted, &n->oid);
      out += len > 0 ? std::string(dotted, static_cast<std::size_t>(len)) : std::string("?");
    }
    out += '=';
    out += printable(n->val.p, n->val.len);
    if (n->next != nullptr) out += n->CN_MBED_PRIVATE(next_merged) ? " + " : ", ";
  }
  return out;
}

identity identity_of(const mbedtls_x509_crt& crt) {
  identity id = names_of(crt.subject);
  id.issuer = dn_string(crt.issuer);
  id.serial_hex = serial_hex(crt.serial);
  id.sha256_fingerprint_hex = mbed::sha256_hex(crt.raw.p, crt.raw.len);
  id.not_before = mbed::unix_time(crt.valid_from);
  id.not_after = mbed::unix_time(crt.valid_to);
  id.is_ca = crt.CN_MBED_PRIVATE(ca_istrue) != 0;
  for (const mbedtls_x509_sequence* n = &crt.subject_alt_names; n && n->buf.p; n = n->next) {
    std::string_view raw(reinterpret_cast<const char*>(n->buf.p), n->buf.len);
    int kind = n->buf.tag & 0x1f;
    char text[INET6_ADDRSTRLEN] = "";
    if (kind == 2) id.alt_names.push_back("DNS:" + std::string(raw));
    else if (kind == 7 && (raw.size() == 4 || raw.size() == 16) && ::inet_ntop(raw.size() == 4 ? AF_INET : AF_INET6, raw.data(), text, sizeof text))
      id.alt_names.push_back(std::string("IP:") + text);
  }
  return id;
}

identity read_identity_pem(const std::string& path_or_pem) {
  bool inline_pem = path_or_pem.find("-----BEGIN") != std::string::npos;
  std::string where = inline_pem ? "the given PEM text" : path_or_pem;
  std::string data = inline_pem ? path_or_pem : files::read(path_or_pem, "certificate");
  mbed::crt c;
  mbed::parse_cert(c, data, where);
  if (c->next != nullptr && c->next->raw.p != nullptr)
    throw pki_error(pki_error::kind::input,
                    where + " holds more than one certificate; give the node's own certificate alone");
  return identity_of(*c.get());
}

std::int64_t ca_bundle_not_after(const std::string& path) {
  mbed::crt c;
  mbed::parse_cert(c, files::read(path, "CA certificate"), path);
  std::int64_t last = 0;
  for (const mbedtls_x509_crt* p = c.get(); p && p->raw.p; p = p->next) last = std::max(last, mbed::unix_time(p->valid_to));
  return last;
}

}  // namespace node::pki
