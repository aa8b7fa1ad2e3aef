// Certificate signing requests: making one (`pki csr`) and checking one
// before a CA signs it (`pki sign`).
#include <mbedtls/md.h>
#include <mbedtls/x509_csr.h>

#include <filesystem>
#include <vector>

#include "node/pki/files.hpp"
#include "node/pki/internal.hpp"

namespace node::pki {
namespace {

using csr_writer = mbed::holder<mbedtls_x509write_csr, mbedtls_x509write_csr_init, mbedtls_x509write_csr_free>;

// Reuses the key at `path` when there is one (a renewal keeps the key the
// parent may have pinned), else makes one with mode 0600. True when made.
bool load_or_create_key(mbed::pk& key, const std::string& path, mbed::rng& r) {
  if (files::exists(path)) {
    mbed::load_private_key(key, path, r);
    if (auto what = mbed::describe_if_not_p256(*key.get()); !what.empty())
      detail::refuse(path + " holds " + what + "; this network uses EC P-256 keys — move the file away and " +
                     "run again to have a new key made");
    return false;
  }
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent)) files::make_private_dir(parent.string());
  mbed::generate_p256(key, r);
  files::write_new(path, mbed::private_key_pem(key), 0600, "private key");
  return true;
}

std::string csr_pem(mbed::pk& key, const std::string& subject, mbed::rng& r) {
  csr_writer w;
  mbedtls_x509write_csr_set_md_alg(w.get(), MBEDTLS_MD_SHA256);
  mbedtls_x509write_csr_set_key(w.get(), key.get());
  mbed::check(mbedtls_x509write_csr_set_subject_name(w.get(), subject.c_str()), "CSR subject \"" + subject + "\"");
  std::vector<unsigned char> buf(4096);
  mbed::check(mbedtls_x509write_csr_pem(w.get(), buf.data(), buf.size(), &mbed::rng::fill, &r), "signing the CSR");
  return reinterpret_cast<const char*>(buf.data());
}

}  // namespace

csr_result make_csr(const csr_request& req) {
  detail::check_subject_values(req.node_id, req.role, req.jurisdiction);
  if (req.key_path.empty() || req.csr_path.empty()) detail::refuse("the key and CSR paths must not be empty");
  mbed::rng r;
  mbed::pk key;
  csr_result res{req.key_path, req.csr_path, load_or_create_key(key, req.key_path, r)};
  // A CSR is public: replacing an old one (a renewal) is fine.
  files::replace(req.csr_path, csr_pem(key, detail::node_subject(req.node_id, req.role, req.jurisdiction), r), 0644,
                 "CSR");
  return res;
}

namespace detail {
namespace {

void parse_csr(mbed::csr& c, const std::string& path) {
  std::string data = files::read(path, "CSR");
  std::vector<unsigned char> buf(data.begin(), data.end());
  buf.push_back(0);  // PEM wants the NUL counted
  bool pem = data.find("-----BEGIN") != std::string::npos;
  int rc = mbedtls_x509_csr_parse(c.get(), buf.data(), pem ? buf.size() : data.size());
  if (rc != 0)
    refuse("cannot parse the CSR " + path + ": " + mbed::error_text(rc) +
           "; expected a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----), e.g. from credit-node pki csr");
}

// The CSR's signature over its CertificationRequestInfo, checked with the
// public key inside it: only the holder of the private key can make it.
void verify_possession(mbed::csr& c, const std::string& path) {
  mbedtls_md_type_t md = c->CN_MBED_PRIVATE(sig_md);
  if (md != MBEDTLS_MD_SHA256 && md != MBEDTLS_MD_SHA384 && md != MBEDTLS_MD_SHA512)
    refuse("the CSR " + path + " is signed with a hash other than SHA-256/384/512; make a new CSR " +
           "(credit-node pki csr, or openssl req -sha256)");
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(md);
  unsigned char hash[MBEDTLS_MD_MAX_SIZE];
  mbed::check(mbedtls_md(info, c->cri.p, c->cri.len, hash), "hashing the CSR");
  int rc = mbedtls_pk_verify_ext(c->CN_MBED_PRIVATE(sig_pk), c->CN_MBED_PRIVATE(sig_opts), &c->pk, md, hash,
                                 mbedtls_md_get_size(info), c->CN_MBED_PRIVATE(sig).p, c->CN_MBED_PRIVATE(sig).len);
  if (rc != 0)
    refuse("the CSR " + path + " fails proof of possession: its signature does not verify with the public key " +
           "it carries (" + mbed::error_text(rc) + "); it was altered or damaged on the way — ask the requester " +
           "for a fresh CSR");
}

}  // namespace

void load_verified_csr(mbed::csr& c, const std::string& path) {
  parse_csr(c, path);
  if (auto what = mbed::describe_if_not_p256(c->pk); !what.empty())
    refuse("the CSR " + path + " carries " + what + "; this network only certifies EC P-256 keys — " +
           "make the CSR with credit-node pki csr (or openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256)");
  verify_possession(c, path);
}

}  // namespace detail
}  // namespace node::pki
