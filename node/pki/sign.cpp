// `pki sign`: a CA turns a checked CSR into a node (or bank / portal)
// certificate whose subject the CA writes itself.
#include <algorithm>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>

#include "node/pki/files.hpp"
#include "node/pki/internal.hpp"
#include "node/pki/x509_identity.hpp"

namespace node::pki {
namespace {

using namespace detail;

// CA_DIR/issued.tsv, locked for the whole signing so two concurrent `pki
// sign` runs cannot hand out one serial twice.
class issued_log {
public:
  explicit issued_log(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd_ < 0)
      refuse("cannot open the CA's log of issued certificates " + path + ": " + std::strerror(errno) +
             "; is this a directory made by credit-node pki ca-init?");
    if (::flock(fd_, LOCK_EX) != 0) fail("lock");
    read_serials();
  }
  ~issued_log() { ::close(fd_); }  // closing releases the lock
  issued_log(const issued_log&) = delete;
  issued_log& operator=(const issued_log&) = delete;

  bool has(const std::string& serial_hex) const { return serials_.count(serial_hex) > 0; }

  void append(const std::string& line) {
    auto n = ::write(fd_, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size()) || ::fsync(fd_) != 0) fail("append to");
  }

private:
  [[noreturn]] void fail(const std::string& action) {
    throw pki_error(pki_error::kind::failure, "cannot " + action + " " + path_ + ": " + std::strerror(errno));
  }

  void read_serials() {
    std::string text;
    char buf[8192];
    for (off_t off = 0;;) {
      auto n = ::pread(fd_, buf, sizeof buf, off);
      if (n < 0) fail("read");
      if (n == 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      off += n;
    }
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) serials_.insert(line.substr(0, line.find('\t')));
  }

  std::string path_;
  int fd_ = -1;
  std::set<std::string> serials_;
};

struct loaded_ca {
  std::string dir;
  mbed::crt cert;
  mbed::pk key;
};

void load_ca(loaded_ca& ca, const std::string& dir, mbed::rng& r) {
  ca.dir = dir;
  std::string cert_path = dir + "/ca.pem", key_path = dir + "/ca.key";
  if (!files::exists(cert_path) || !files::exists(key_path))
    refuse("no CA in " + dir + " (" + (files::exists(cert_path) ? key_path : cert_path) +
           " is missing); give the --ca directory made by credit-node pki ca-init");
  mbed::parse_cert(ca.cert, files::read(cert_path, "CA certificate"), cert_path);
  mbed::load_private_key(ca.key, key_path, r);
#if MBEDTLS_VERSION_MAJOR >= 3
  int rc = mbedtls_pk_check_pair(&ca.cert->pk, ca.key.get(), &mbed::rng::fill, &r);
#else
  int rc = mbedtls_pk_check_pair(&ca.cert->pk, ca.key.get());
#endif
  if (rc != 0)
    refuse(key_path + " is not the key of " + cert_path + " (" + mbed::error_text(rc) +
           "); restore the matching pair from the CA's backup");
}

// The certificate's end: `days` from now, but never past the CA's own end —
// refused, not capped, so the operator is not surprised by a short certificate.
// The days it suggests still fit an hour later (an operator copies them).
std::int64_t checked_not_after(const loaded_ca& ca, std::int64_t now, std::int64_t start, int days) {
  std::int64_t ca_end = mbed::unix_time(ca.cert->valid_to);
  std::string where = ca.dir + "/ca.pem";
  if (ca_end <= now) refuse("the CA certificate " + where + " expired on " + format_utc(ca_end) + "; renew the CA");
  if (mbed::unix_time(ca.cert->valid_from) > now)
    refuse("the CA certificate " + where + " is not valid before " + format_utc(mbed::unix_time(ca.cert->valid_from)) +
           "; check this machine's clock");
  std::int64_t not_after = start + std::int64_t{days} * 86400;
  auto fitting = std::max<std::int64_t>(0, ca_end - start - 3600) / 86400;
  if (not_after > ca_end)
    refuse("refusing (not capping): a certificate valid for " + std::to_string(days) + " days would outlive the CA " +
           "certificate " + where + ", which expires on " + format_utc(ca_end) + "; " +
           (fitting >= 1 ? "pass --days " + std::to_string(fitting) + " or fewer, or renew the CA first"
                         : std::string("no whole day is left in it: renew the CA first")));
  return not_after;
}

// Checks the CSR and returns notes on what the CA overrides.
std::vector<std::string> check_csr(mbed::csr& c, const sign_request& req) {
  load_verified_csr(c, req.csr_path);
  identity asked = names_of(c->subject);
  if (asked.node_id != req.node_id)
    refuse("the CSR " + req.csr_path + " is for CN=" + asked.node_id + " but --node-id is " + req.node_id +
           "; a certificate is only issued to the node that asked for it — check you have the right CSR");
  std::vector<std::string> notes;
  if (!asked.role.empty() && asked.role != req.role)
    notes.push_back("the CSR asked for OU=" + asked.role + "; the certificate says OU=" + req.role + " (--role)");
  if (!asked.jurisdiction.empty() && asked.jurisdiction != req.jurisdiction)
    notes.push_back("the CSR asked for L=" + asked.jurisdiction + "; the certificate says " +
                    (req.jurisdiction.empty() ? "no L" : "L=" + req.jurisdiction) + " (--jurisdiction)");
  return notes;
}

bool parses_as_cert(mbed::crt& c, const std::string& data, const std::string& where) {
  try {
    mbed::parse_cert(c, data, where);
    return true;
  } catch (const pki_error&) {
    return false;
  }
}

// --out may replace an earlier leaf certificate (a renewal), nothing else:
// not a key, not a CA certificate, not a file we cannot read as a certificate.
void check_out_path(const std::string& out) {
  if (out.empty()) refuse("--out must name the certificate file to write");
  if (!files::exists(out)) return;
  std::string data = files::read(out, "existing --out file");
  mbed::crt old;
  if (data.find("PRIVATE KEY") != std::string::npos || !parses_as_cert(old, data, out)) refuse(out + " exists and is not a certificate; refusing to overwrite it — choose another --out");
  if (old->CN_MBED_PRIVATE(ca_istrue))
    refuse(out + " holds a CA certificate; refusing to overwrite it — choose another --out");
}

void pick_serial(const issued_log& log, mbed::rng& r, unsigned char (&serial)[serial_bytes]) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    random_serial(r, serial);
    if (!log.has(mbed::hex(serial, serial_bytes))) return;
  }
  throw pki_error(pki_error::kind::failure, "the random generator keeps repeating serials; refusing to sign");
}

// The new certificate must chain to the CA as any peer will check it.
void self_check(mbed::crt& issued, loaded_ca& ca) {
  std::uint32_t flags = 0;
  int rc = mbedtls_x509_crt_verify(issued.get(), ca.cert.get(), nullptr, nullptr, &flags, nullptr, nullptr);
  // Only the chain is checked here: a window that starts later or has
  // already ended (an explicit --not-before) is the operator's choice.
  if (rc == 0 || (flags & ~(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) == 0) return;
  char info[512] = "";
  mbedtls_x509_crt_verify_info(info, sizeof info, "  ", flags);
  throw pki_error(pki_error::kind::failure, "the certificate just made does not verify against " + ca.dir +
                                                "/ca.pem (nothing was written):\n" + info);
}

}  // namespace

sign_result sign(const sign_request& req, const alt_names& names) {
  check_subject_values(req.node_id, req.role, req.jurisdiction);
  check_days(req.days);
  mbed::rng r;
  loaded_ca ca;
  load_ca(ca, req.ca_dir, r);
  mbed::csr c;
  sign_result res{req.out_cert, {}, check_csr(c, req)};
  check_out_path(req.out_cert);

  cert_spec s;
  s.subject = node_subject(req.node_id, req.role, req.jurisdiction);
  s.issuer = issuer_string(ca.cert->subject);
  s.subject_key = &c->pk;
  s.issuer_key = ca.key.get();
  s.dns_names = names.dns;
  s.ip_addresses = names.ip;
  // By default valid from 5 minutes ago (peers' clocks run a little behind)
  // for `days` from now; an explicit start runs `days` from that start.
  std::int64_t start = req.not_before ? req.not_before : now();
  s.not_before = req.not_before ? req.not_before : start - 300;
  s.not_after = checked_not_after(ca, std::max(start, now()), start, req.days);
  issued_log log(req.ca_dir + "/issued.tsv");
  pick_serial(log, r, s.serial);
  std::string pem = write_cert_pem(s, r);
  mbed::crt issued;
  mbed::parse_cert(issued, pem, "the new certificate");
  self_check(issued, ca);
  res.cert = identity_of(*issued.get());
  // Logged before the file is written: a serial is never handed out twice,
  // even if writing --out fails and the operator signs again.
  log.append(res.cert.serial_hex + "\t" + req.node_id + "\t" + req.role + "\t" + req.jurisdiction + "\t" +
             format_utc(res.cert.not_after) + "\t" + res.cert.sha256_fingerprint_hex + "\n");
  files::replace(req.out_cert, pem, 0644, "certificate");
  return res;
}

}  // namespace node::pki
