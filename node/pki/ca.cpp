// `pki ca-init` and the certificate writer both it and `pki sign` use.
#include <arpa/inet.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/x509_crt.h>

#include <cctype>
#include <ctime>
#include <vector>

#include "node/pki/files.hpp"
#include "node/pki/internal.hpp"
#include "node/pki/x509_identity.hpp"

namespace node::pki {
namespace detail {
namespace {

using crt_writer = mbed::holder<mbedtls_x509write_cert, mbedtls_x509write_crt_init, mbedtls_x509write_crt_free>;

// X.509 validity as mbedTLS wants it: "YYYYMMDDhhmmss", UTC.
std::string x509_time(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

void set_serial(crt_writer& w, const unsigned char (&serial)[serial_bytes]) {
#if MBEDTLS_VERSION_MAJOR >= 3
  mbed::check(mbedtls_x509write_crt_set_serial_raw(w.get(), const_cast<unsigned char*>(serial), serial_bytes),
              "certificate serial");
#else
  mbed::mpi n;
  mbed::check(mbedtls_mpi_read_binary(n.get(), serial, serial_bytes), "certificate serial");
  mbed::check(mbedtls_x509write_crt_set_serial(w.get(), n.get()), "certificate serial");
#endif
}

// extendedKeyUsage = SEQUENCE { serverAuth, clientAuth }: every node both
// serves and dials. mbedTLS 2.28 has no setter, so the DER is written here
// (backwards, as mbedtls_asn1_write_* do).
void set_tls_eku(crt_writer& w) {
  unsigned char buf[32];
  unsigned char* p = buf + sizeof buf;
  int len = 0;
  auto add = [&](int rc) {
    if (rc < 0) mbed::check(rc, "extendedKeyUsage encoding");
    len += rc;
  };
  add(mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
  add(mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
  add(mbedtls_asn1_write_len(&p, buf, static_cast<std::size_t>(len)));
  add(mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
  mbed::check(mbedtls_x509write_crt_set_extension(w.get(), MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                  MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, p,
                                                  static_cast<std::size_t>(len)),
              "extendedKeyUsage");
}

// basicConstraints (critical for a CA), keyUsage (critical), EKU, key ids.
void set_extensions(crt_writer& w, bool is_ca) {
  // pathlen 0: a CA of this network signs nodes, never another CA.
  mbed::check(mbedtls_x509write_crt_set_basic_constraints(w.get(), is_ca ? 1 : 0, is_ca ? 0 : -1),
              "basicConstraints");
  unsigned usage = is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                         : MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_AGREEMENT;
  mbed::check(mbedtls_x509write_crt_set_key_usage(w.get(), usage), "keyUsage");
  if (!is_ca) set_tls_eku(w);
  mbed::check(mbedtls_x509write_crt_set_subject_key_identifier(w.get()), "subjectKeyIdentifier");
  mbed::check(mbedtls_x509write_crt_set_authority_key_identifier(w.get()), "authorityKeyIdentifier");
}

void der_length(std::string& out, std::size_t n) {
  if (n < 128) {
    out += static_cast<char>(n);
    return;
  }
  std::string bytes;
  for (; n; n >>= 8) bytes.insert(bytes.begin(), static_cast<char>(n & 0xff));
  out += static_cast<char>(0x80 | bytes.size());
  out += bytes;
}

// Letters, digits and '-' in dot-separated labels of 1-63, at most 253 in
// all (a wildcard's "*." is taken off before).
bool host_name(const std::string& d) {
  if (d.empty() || d.size() > 253) return false;
  std::size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0;
}

// GeneralNames: dNSName [2] IA5String, iPAddress [7] OCTET STRING (4 or 16
// bytes), DER-encoded by hand: mbedTLS 2.28 has no writer for them.
void set_subject_alt_names(crt_writer& w, const cert_spec& s) {
  if (s.dns_names.empty() && s.ip_addresses.empty()) return;
  constexpr std::size_t max_names = 100;  // an API's host names, not a wildcard list
  if (s.dns_names.size() + s.ip_addresses.size() > max_names)
    refuse("--dns and --ip name " + std::to_string(s.dns_names.size() + s.ip_addresses.size()) + " names; at most " +
           std::to_string(max_names) + " (use a wildcard such as *.bank.example for many hosts)");
  std::string names;
  for (const auto& d : s.dns_names) {
    bool ok = host_name(d.rfind("*.", 0) == 0 ? d.substr(2) : d);
    if (!ok) refuse("--dns " + d + " is not a host name (letters, digits, '.', '-', a leading '*.')");
    names += '\x82';
    der_length(names, d.size());
    names += d;
  }
  for (const auto& ip : s.ip_addresses) {
    unsigned char raw[16];
    int len = ::inet_pton(AF_INET, ip.c_str(), raw) == 1 ? 4 : ::inet_pton(AF_INET6, ip.c_str(), raw) == 1 ? 16 : 0;
    if (!len) refuse("--ip " + ip + " is not an IPv4 or IPv6 address");
    names += '\x87';
    der_length(names, static_cast<std::size_t>(len));
    names.append(reinterpret_cast<const char*>(raw), static_cast<std::size_t>(len));
  }
  std::string seq = "\x30";
  der_length(seq, names.size());
  seq += names;
  mbed::check(mbedtls_x509write_crt_set_extension(w.get(), MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                                  reinterpret_cast<const unsigned char*>(seq.data()), seq.size()),
              "subjectAltName");
}

}  // namespace

std::string write_cert_pem(const cert_spec& s, mbed::rng& r) {
  crt_writer w;
  mbedtls_x509write_crt_set_version(w.get(), MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(w.get(), MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(w.get(), s.subject_key);
  mbedtls_x509write_crt_set_issuer_key(w.get(), s.issuer_key);
  mbed::check(mbedtls_x509write_crt_set_subject_name(w.get(), s.subject.c_str()), "subject name \"" + s.subject + "\"");
  mbed::check(mbedtls_x509write_crt_set_issuer_name(w.get(), s.issuer.c_str()), "issuer name \"" + s.issuer + "\"");
  set_serial(w, s.serial);
  mbed::check(mbedtls_x509write_crt_set_validity(w.get(), x509_time(s.not_before).c_str(),
                                                 x509_time(s.not_after).c_str()),
              "validity");
  set_extensions(w, s.is_ca);
  set_subject_alt_names(w, s);
  // DER first, then PEM: the size is known, and bounded. Our 4 KiB PEM
  // buffer overflowed at ~80 names; beyond ~16 KiB no peer takes the
  // certificate in a handshake (mbedTLS's records), so 8 KiB is the limit.
  std::vector<unsigned char> der(64 * 1024);
  int len = mbedtls_x509write_crt_der(w.get(), der.data(), der.size(), &mbed::rng::fill, &r);
  if (len < 0) mbed::check(len, "signing the certificate");
  if (len > 8192)
    refuse("the certificate would be " + std::to_string(len) + " bytes, more than the 8192 a TLS handshake here takes: "
           "give fewer or shorter --dns names (a wildcard such as *.bank.example covers many hosts)");
  const unsigned char* start = der.data() + der.size() - static_cast<std::size_t>(len);  // written at the end
  std::vector<unsigned char> pem(static_cast<std::size_t>(len) * 2 + 128);
  std::size_t written = 0;
  mbed::check(mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", start,
                                       static_cast<std::size_t>(len), pem.data(), pem.size(), &written),
              "writing the certificate as PEM");
  return reinterpret_cast<const char*>(pem.data());
}

}  // namespace detail

ca_result ca_init(const std::string& dir, const std::string& name, int days) {
  detail::check_ca_name(name);
  detail::check_days(days);
  if (dir.empty()) detail::refuse("--dir must name the directory for the CA");
  ca_result res{dir + "/ca.key", dir + "/ca.pem", dir + "/issued.tsv", {}};
  for (const auto& p : {res.key_path, res.cert_path})
    if (files::exists(p))
      detail::refuse(p + " already exists: " + dir + " already holds a CA, and a CA is never overwritten; " +
                     "choose another --dir");
  files::make_private_dir(dir);

  mbed::rng r;
  mbed::pk key;
  mbed::generate_p256(key, r);
  // O_EXCL on the key is the real guard: of two concurrent ca-init runs, one loses here.
  files::write_new(res.key_path, mbed::private_key_pem(key), 0600, "CA key");

  detail::cert_spec s;
  s.subject = s.issuer = "CN=" + name + ", O=" + detail::organization;
  s.subject_key = s.issuer_key = key.get();
  detail::random_serial(r, s.serial);
  s.not_before = detail::now() - 300;  // tolerate peers whose clocks run a little behind
  s.not_after = detail::now() + std::int64_t{days} * 86400;
  s.is_ca = true;
  std::string pem = detail::write_cert_pem(s, r);
  files::write_new(res.cert_path, pem, 0644, "CA certificate");
  files::write_new(res.log_path, "", 0600, "issued-certificate log");
  res.cert = read_identity_pem(pem);
  return res;
}

}  // namespace node::pki
