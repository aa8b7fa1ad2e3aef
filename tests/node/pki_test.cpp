// The network's PKI (PRODUCT.md §4 `pki`): ca-init, csr and sign through the
// real binary, checked by the openssl CLI as an outside judge; and every
// refusal — a CSR that fails proof of possession, a wrong name, role,
// jurisdiction, key type or CA — leaves nothing issued.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "node/cli_support.hpp"
#include "node/pki/pki.hpp"

extern char** environ;

using namespace cli_test;
namespace pki = ::node::pki;

namespace {

// openssl from $PATH; `make deps` installs it.
test::run_result run_tool(std::vector<std::string> args) {
  auto r = test::run_program(args);
  REQUIRE_MESSAGE(r.exit_code != 127, args[0] << " is not installed (make deps installs openssl)");
  return r;
}

test::run_result openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  return run_tool(std::move(args));
}

int mode_of(const std::string& path) {
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 07777);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string without(std::string s, char c) {
  s.erase(std::remove(s.begin(), s.end(), c), s.end());
  return s;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `credit-node pki csr -c node.toml ARGS...`
test::run_result csr_of(const cli_test::node& n, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"pki", "csr", "-c", n.cfg};
  args.insert(args.end(), more.begin(), more.end());
  return test::run_cli(args);
}

// A CA directory made by `pki ca-init`, and helpers around it.
struct ca_fixture {
  test::temp_dir tmp;
  std::string dir = tmp / "ca";

  explicit ca_fixture(const std::string& name = "Jiangsu Provincial CA", const std::string& days = "3650") {
    auto r = test::run_cli({"pki", "ca-init", "--dir", dir, "--name", name, "--days", days});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  std::string ca_pem() const { return dir + "/ca.pem"; }
  std::string log() const { return test::read_file(dir + "/issued.tsv"); }

  // `pki csr --key --out` for a P-256 key without a node config.
  std::string csr(const std::string& node_id, const std::string& role = "bank") const {
    std::string key = tmp / (node_id + ".key"), out = tmp / (node_id + ".csr");
    std::vector<std::string> args{"pki", "csr", "--key", key, "--out", out, "--node-id", node_id, "--role", role};
    if (pki::role_needs_jurisdiction(role)) args.insert(args.end(), {"--jurisdiction", "320100"});
    auto r = test::run_cli(args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return out;
  }

  test::run_result sign(const std::string& csr, const std::string& out, const std::string& role,
                        const std::string& id, std::vector<std::string> more = {}) const {
    std::vector<std::string> args{"pki", "sign", "--ca", dir, "--csr", csr, "--out", out, "--role", role,
                                  "--node-id", id};
    args.insert(args.end(), more.begin(), more.end());
    return test::run_cli(args);
  }
};

// --- DER surgery on CSRs: SEQUENCE { certificationRequestInfo, algorithm, signature }

std::string to_der(const std::string& csr_pem_path, const std::string& der_path) {
  auto r = openssl({"req", "-in", csr_pem_path, "-outform", "DER", "-out", der_path});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return test::read_file(der_path);
}

// openssl req converts without checking the signature, so a forged CSR stays forged.
void write_csr_from_der(const std::string& der, const std::string& der_path, const std::string& pem_path) {
  test::write_file(der_path, der);
  auto r = openssl({"req", "-inform", "DER", "-in", der_path, "-out", pem_path});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

// Header length and total length of the TLV at `pos`.
std::pair<std::size_t, std::size_t> tlv_at(const std::string& der, std::size_t pos) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(der.at(i)); };
  std::size_t first = b(pos + 1);
  if (first < 0x80) return {2, 2 + first};
  std::size_t n = first & 0x7f, len = 0;
  for (std::size_t i = 0; i < n; ++i) len = (len << 8) | b(pos + 2 + i);
  return {2 + n, 2 + n + len};
}

std::string sequence_of(const std::string& content) {
  std::string out(1, '\x30');
  if (content.size() < 0x80) {
    out += static_cast<char>(content.size());
  } else {
    out += '\x82';
    out += static_cast<char>(content.size() >> 8);
    out += static_cast<char>(content.size() & 0xff);
  }
  return out + content;
}

// The CRI of `a` with the signature algorithm and signature of `b`.
std::string splice(const std::string& a, const std::string& b) {
  auto [ha, ta] = tlv_at(a, 0);
  auto [hb, tb] = tlv_at(b, 0);
  auto [cri_a_h, cri_a] = tlv_at(a, ha);
  auto [cri_b_h, cri_b] = tlv_at(b, hb);
  (void)ta, (void)tb, (void)cri_a_h, (void)cri_b_h;
  return sequence_of(a.substr(ha, cri_a) + b.substr(hb + cri_b));
}

// A sign that must be refused: exit 2, the reason on stderr, nothing issued.
void check_refused(const ca_fixture& ca, const test::run_result& r, const std::string& out,
                   const std::string& reason) {
  CHECK_MESSAGE(r.exit_code == 2, "exit " << r.exit_code << ", stderr: " << r.err);
  CHECK_MESSAGE(contains(r.err, reason), "stderr lacks '" << reason << "':\n" << r.err);
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK(ca.log().empty());
}

}  // namespace

namespace {

// The whole flow through the binary: ca-init, a node's `init`, `pki csr -c`
// and `pki sign --json`.
struct signed_node {
  ca_fixture ca;
  cli_test::node n;  // `init` for js.nanjing, local, 320100
  std::string tls = n.dir + "/tls", csr_path = tls + "/node.csr", cert = tls + "/node.pem";
  test::run_result csr, sign;
  std::int64_t signed_at = unix_now();

  signed_node() {
    csr = csr_of(n);
    REQUIRE_MESSAGE(csr.exit_code == 0, csr.err);
    sign = ca.sign(csr_path, cert, "local", "js.nanjing", {"--jurisdiction", "320100", "--json"});
    REQUIRE_MESSAGE(sign.exit_code == 0, sign.err);
  }
};

}  // namespace

TEST_CASE("pki: csr -c writes the node key and a CSR beside [tls].cert, and prints the sign command") {
  signed_node s;
  CHECK(contains(s.csr.out, s.tls + "/node.key"));
  CHECK(contains(s.csr.out, "credit-node pki sign --ca CA_DIR --csr " + s.csr_path + " --out " + s.cert +
                                " --role local --node-id js.nanjing --jurisdiction 320100"));
  auto req = openssl({"req", "-in", s.csr_path, "-noout", "-verify", "-subject"});
  CHECK_MESSAGE(req.exit_code == 0, req.err);
  CHECK(contains(req.out, "CN = js.nanjing, OU = local, L = 320100, O = credit-node"));
}

TEST_CASE("pki: the certificate passes openssl verify and carries what a TLS peer needs") {
  signed_node s;
  auto v = openssl({"verify", "-CAfile", s.ca.ca_pem(), s.cert});
  INFO("openssl verify: " << v.out << v.err);
  CHECK(v.exit_code == 0);
  CHECK(v.out == s.cert + ": OK\n");
  auto text = openssl({"x509", "-in", s.cert, "-noout", "-text"}).out;
  CHECK(contains(text, "Subject: CN = js.nanjing, OU = local, L = 320100, O = credit-node"));
  CHECK(contains(text, "Issuer: CN = Jiangsu Provincial CA, O = credit-node"));
  CHECK(contains(text, "TLS Web Server Authentication, TLS Web Client Authentication"));
  CHECK(contains(text, "CA:FALSE"));
  CHECK(contains(text, "X509v3 Key Usage: critical\n                Digital Signature, Key Agreement"));
  CHECK(contains(text, "NIST CURVE: P-256"));
  CHECK(contains(text, "X509v3 Authority Key Identifier"));
  auto ca_text = openssl({"x509", "-in", s.ca.ca_pem(), "-noout", "-text"}).out;
  CHECK(contains(ca_text, "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0"));
  CHECK(contains(ca_text, "X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"));
  CHECK(contains(ca_text, "Subject: CN = Jiangsu Provincial CA, O = credit-node"));
}

TEST_CASE("pki: the identity read back agrees with openssl, sign --json and issued.tsv") {
  signed_node s;
  auto id = pki::read_identity_pem(s.cert);
  CHECK(id.node_id == "js.nanjing");
  CHECK(id.role == "local");
  CHECK(id.jurisdiction == "320100");
  CHECK(id.organization == "credit-node");
  CHECK_FALSE(id.is_ca);
  auto fp = openssl({"x509", "-in", s.cert, "-noout", "-fingerprint", "-sha256"}).out;
  CHECK(lower(without(fp.substr(fp.find('=') + 1), ':')) == id.sha256_fingerprint_hex + "\n");
  auto serial = openssl({"x509", "-in", s.cert, "-noout", "-serial"}).out;
  CHECK(lower(serial) == "serial=" + id.serial_hex + "\n");
  CHECK(id.serial_hex.size() == 32);
  CHECK(id.not_before >= s.signed_at - 301);  // 5 minutes back, for skewed clocks
  CHECK(id.not_before <= unix_now() - 299);
  CHECK(id.not_after - id.not_before == 365 * 86400 + 300);

  auto j = json_lines(s.sign.out).at(0);
  CHECK(str(j.at("serial")) == id.serial_hex);
  CHECK(str(j.at("sha256")) == id.sha256_fingerprint_hex);
  CHECK(str(j.at("subject")) == "CN=js.nanjing, OU=local, L=320100, O=credit-node");
  CHECK(s.ca.log() == id.serial_hex + "\tjs.nanjing\tlocal\t320100\t" + pki::format_utc(id.not_after) + "\t" +
                          id.sha256_fingerprint_hex + "\n");
  auto show = test::run_cli({"pki", "show", s.cert, "--json"});
  CHECK(show.exit_code == 0);
  CHECK(str(json_lines(show.out).at(0).at("sha256")) == id.sha256_fingerprint_hex);
}

TEST_CASE("pki: keys are 0600, the CA dir 0700, and a second ca-init changes nothing") {
  ca_fixture ca;
  CHECK(mode_of(ca.dir) == 0700);
  CHECK(mode_of(ca.dir + "/ca.key") == 0600);
  CHECK(mode_of(ca.ca_pem()) == 0644);
  CHECK(contains(test::read_file(ca.dir + "/ca.key"), "-----BEGIN EC PRIVATE KEY-----"));
  auto key = test::read_file(ca.dir + "/ca.key"), pem = test::read_file(ca.ca_pem());
  auto again = test::run_cli({"pki", "ca-init", "--dir", ca.dir, "--name", "Another CA"});
  CHECK(again.exit_code == 2);
  CHECK(contains(again.err, ca.dir + "/ca.key already exists"));
  CHECK(test::read_file(ca.dir + "/ca.key") == key);
  CHECK(test::read_file(ca.ca_pem()) == pem);
  CHECK(pki::read_identity_pem(ca.ca_pem()).is_ca);

  cli_test::node n;
  REQUIRE(csr_of(n).exit_code == 0);
  CHECK(mode_of(n.dir + "/tls/node.key") == 0600);
  auto bank = ca.csr("bank-a");
  CHECK(mode_of(ca.tmp / "bank-a.key") == 0600);
  (void)bank;
}

TEST_CASE("pki: csr keeps an existing key (renewal) and the renewed certificate replaces the old one") {
  ca_fixture ca;
  cli_test::node n;
  REQUIRE(csr_of(n).exit_code == 0);
  std::string key = n.dir + "/tls/node.key", csr = n.dir + "/tls/node.csr", cert = n.dir + "/tls/node.pem";
  auto key_bytes = test::read_file(key);
  REQUIRE(ca.sign(csr, cert, "local", "js.nanjing", {"--jurisdiction", "320100"}).exit_code == 0);
  auto first = pki::read_identity_pem(cert);

  auto again = csr_of(n, {"--json"});
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK_FALSE(json_lines(again.out).at(0).at("key_created").as_bool());
  CHECK(test::read_file(key) == key_bytes);
  auto r = ca.sign(csr, cert, "local", "js.nanjing", {"--jurisdiction", "320100"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto second = pki::read_identity_pem(cert);
  CHECK(second.serial_hex != first.serial_hex);
  auto key_pub = openssl({"pkey", "-in", key, "-pubout"}).out;
  CHECK(openssl({"x509", "-in", cert, "-noout", "-pubkey"}).out == key_pub);
  auto log = ca.log();
  CHECK(std::count(log.begin(), log.end(), '\n') == 2);
}

TEST_CASE("pki: a CSR whose signature does not match its contents fails proof of possession") {
  ca_fixture ca;
  std::string a = to_der(ca.csr("js.nanjing", "local"), ca.tmp / "a.der");
  std::string b = to_der(ca.csr("js.suzhou", "local"), ca.tmp / "b.der");
  std::string out = ca.tmp / "out.pem", forged = ca.tmp / "forged.csr";
  const std::vector<std::string> local{"--jurisdiction", "320100"};

  SUBCASE("a flipped byte in the signature") {
    std::string d = a;
    d[d.size() - 2] = static_cast<char>(d[d.size() - 2] ^ 0x01);
    write_csr_from_der(d, ca.tmp / "d.der", forged);
    check_refused(ca, ca.sign(forged, out, "local", "js.nanjing", local), out, "fails proof of possession");
  }
  SUBCASE("the request info of one CSR with the signature of another") {
    write_csr_from_der(splice(a, b), ca.tmp / "d.der", forged);
    check_refused(ca, ca.sign(forged, out, "local", "js.nanjing", local), out, "fails proof of possession");
  }
  SUBCASE("a renamed subject under the original signature") {
    std::string d = a;
    auto at = d.find("js.nanjing");
    REQUIRE(at != std::string::npos);
    d.replace(at, 10, "js.nanjinh");
    write_csr_from_der(d, ca.tmp / "d.der", forged);
    auto r = ca.sign(forged, out, "local", "js.nanjinh", local);
    check_refused(ca, r, out, "fails proof of possession");
    CHECK_FALSE(contains(r.err, "cannot parse"));
  }
  SUBCASE("the untouched CSRs are fine") {
    write_csr_from_der(a, ca.tmp / "d.der", forged);
    CHECK(ca.sign(forged, out, "local", "js.nanjing", local).exit_code == 0);
  }
}

TEST_CASE("pki: sign refuses a wrong node id, role, jurisdiction or days and issues nothing") {
  ca_fixture ca;
  std::string csr = ca.csr("js.nanjing", "local"), out = ca.tmp / "out.pem";
  const std::vector<std::string> local{"--jurisdiction", "320100"};

  check_refused(ca, ca.sign(csr, out, "local", "js.suzhou", local), out, "CN=js.nanjing but --node-id is js.suzhou");
  check_refused(ca, ca.sign(csr, out, "mayor", "js.nanjing", local), out, "--role: expected one of local");
  check_refused(ca, ca.sign(csr, out, "local", "js.nanjing"), out, "--jurisdiction is required for role local");
  check_refused(ca, ca.sign(csr, out, "provincial", "js.nanjing"), out, "--jurisdiction is required");
  check_refused(ca, ca.sign(csr, out, "local", "js.nanjing", {"--jurisdiction", "32010"}), out,
                "--jurisdiction: expected a 6-digit");
  check_refused(ca, ca.sign(csr, out, "local", "js.nanjing", {"--jurisdiction", "000000"}), out, "not a division");
  check_refused(ca, ca.sign(csr, out, "local", "JS Nanjing", local), out, "--node-id:");
  check_refused(ca, ca.sign(csr, out, "local", "js.nanjing", {"--jurisdiction", "320100", "--days", "0"}), out,
                "--days must be between 1 and");
  check_refused(ca, ca.sign(ca.tmp / "missing.csr", out, "local", "js.nanjing", local), out, "cannot read CSR");
}

TEST_CASE("pki: sign refuses keys other than P-256, a missing CA, and an --out that is not a leaf certificate") {
  ca_fixture ca;
  std::string csr = ca.csr("js.nanjing", "local"), out = ca.tmp / "out.pem";
  const std::vector<std::string> local{"--jurisdiction", "320100"};
  auto rsa = openssl({"req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=x", "-keyout", ca.tmp / "rk",
                      "-out", ca.tmp / "r.csr"});
  REQUIRE_MESSAGE(rsa.exit_code == 0, rsa.err);
  check_refused(ca, ca.sign(ca.tmp / "r.csr", out, "bank", "x"), out, "this network only certifies EC P-256 keys");
  auto p384 = openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-subj",
                       "/CN=x", "-keyout", ca.tmp / "pk", "-out", ca.tmp / "p.csr"});
  REQUIRE_MESSAGE(p384.exit_code == 0, p384.err);
  check_refused(ca, ca.sign(ca.tmp / "p.csr", out, "bank", "x"), out, "secp384r1");

  auto no_ca = test::run_cli({"pki", "sign", "--ca", ca.tmp / "nowhere", "--csr", csr, "--out", out, "--role",
                              "local", "--node-id", "js.nanjing", "--jurisdiction", "320100"});
  check_refused(ca, no_ca, out, "no CA in " + ca.tmp / "nowhere");

  // --out never replaces a key or a CA certificate.
  auto pem = test::read_file(ca.ca_pem());
  auto onto_ca = ca.sign(csr, ca.ca_pem(), "local", "js.nanjing", local);
  CHECK(onto_ca.exit_code == 2);
  CHECK(contains(onto_ca.err, "holds a CA certificate; refusing to overwrite"));
  CHECK(test::read_file(ca.ca_pem()) == pem);
  auto key = test::read_file(ca.tmp / "js.nanjing.key");
  auto onto_key = ca.sign(csr, ca.tmp / "js.nanjing.key", "local", "js.nanjing", local);
  CHECK(onto_key.exit_code == 2);
  CHECK(contains(onto_key.err, "is not a certificate; refusing to overwrite"));
  CHECK(test::read_file(ca.tmp / "js.nanjing.key") == key);
  CHECK(ca.log().empty());
}

TEST_CASE("pki: a certificate may not outlive its CA: refused with the days that would fit") {
  ca_fixture ca("Short CA", "30");
  std::string csr = ca.csr("bank-a"), out = ca.tmp / "out.pem";
  check_refused(ca, ca.sign(csr, out, "bank", "bank-a"), out, "refusing (not capping)");
  auto r = ca.sign(csr, out, "bank", "bank-a", {"--days", "31"});
  CHECK(r.exit_code == 2);
  // The days offered must be honest: signing for that many works.
  auto at = r.err.find("pass --days ");
  REQUIRE_MESSAGE(at != std::string::npos, r.err);
  std::string fits = r.err.substr(at + 12, 2);
  CHECK(fits == "29");  // not 30: that stops fitting a second after ca-init; the suggestion holds for an hour
  auto ok = ca.sign(csr, out, "bank", "bank-a", {"--days", fits});
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
}

TEST_CASE("pki: serials are unique across 20 signings and each is logged, bank certificates carry no L") {
  ca_fixture ca;
  std::string csr = ca.csr("bank-a");
  std::set<std::string> serials;
  for (int i = 0; i < 20; ++i) {
    std::string out = ca.tmp / ("bank-" + std::to_string(i) + ".pem");
    auto r = pki::sign({ca.dir, csr, out, "bank", "bank-a", "", 30});
    CHECK(r.cert.serial_hex.size() == 32);
    CHECK(r.cert.subject == "CN=bank-a, OU=bank, O=credit-node");
    CHECK(r.cert.jurisdiction.empty());
    serials.insert(r.cert.serial_hex);
  }
  CHECK(serials.size() == 20);
  auto log = ca.log();
  CHECK(std::count(log.begin(), log.end(), '\n') == 20);
  for (const auto& s : serials) CHECK(contains(log, s + "\tbank-a\tbank\t\t"));
}

TEST_CASE("pki: a certificate from another CA does not verify against the first") {
  ca_fixture first, second("Zhejiang Provincial CA");
  std::string csr = first.csr("js.nanjing", "local"), out = first.tmp / "other.pem";
  auto r = second.sign(csr, out, "local", "js.nanjing", {"--jurisdiction", "320100"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto bad = openssl({"verify", "-CAfile", first.ca_pem(), out});
  INFO("openssl verify against the wrong CA: " << bad.out << bad.err);
  CHECK(bad.exit_code != 0);
  CHECK(contains(bad.out + bad.err, "unable to get local issuer certificate"));
  CHECK(openssl({"verify", "-CAfile", second.ca_pem(), out}).exit_code == 0);
}

TEST_CASE("pki: read_identity_pem takes PEM text or a path, and refuses what is not a certificate") {
  ca_fixture ca;
  std::string csr = ca.csr("portal-1", "portal"), out = ca.tmp / "p.pem";
  REQUIRE(ca.sign(csr, out, "portal", "portal-1", {"--jurisdiction", "320100"}).exit_code == 0);
  auto from_path = pki::read_identity_pem(out);
  auto from_text = pki::read_identity_pem(test::read_file(out));
  CHECK(from_path.sha256_fingerprint_hex == from_text.sha256_fingerprint_hex);
  CHECK(from_text.jurisdiction == "320100");
  CHECK(from_text.role == "portal");
  using kind = pki::pki_error::kind;
  auto kind_of = [](const std::string& arg) {
    try {
      pki::read_identity_pem(arg);
    } catch (const pki::pki_error& e) {
      return e.which();
    }
    return kind::failure;
  };
  CHECK(kind_of(ca.tmp / "missing.pem") == kind::input);
  CHECK(kind_of(csr) == kind::input);
  auto junk = test::run_cli({"pki", "show", csr});
  CHECK(junk.exit_code == 2);
  CHECK(contains(junk.err, "cannot parse the certificate in " + csr));
}

// Banks' HTTPS libraries check the host name they dialled against the
// certificate's subjectAltName (Go ignores the CN altogether): the CA puts
// the API's names and addresses there.
TEST_CASE("pki: sign --dns and --ip put the API's names in subjectAltName, which hostname checks accept") {
  ca_fixture ca;
  cli_test::node n;
  REQUIRE(csr_of(n).exit_code == 0);
  auto cert = n.dir + "/tls/node.pem";
  auto r = ca.sign(n.dir + "/tls/node.csr", cert, "local", "js.nanjing",
                   {"--jurisdiction", "320100", "--dns", "credit.nanjing.example.cn,api.js.example.cn", "--ip", "10.0.0.5,::1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto text = openssl({"x509", "-in", cert, "-noout", "-ext", "subjectAltName"}).out;
  CHECK_MESSAGE(contains(text, "DNS:credit.nanjing.example.cn, DNS:api.js.example.cn, IP Address:10.0.0.5, IP Address:0:0:0:0:0:0:0:1"), text);
  CHECK(openssl({"verify", "-CAfile", ca.ca_pem(), "-verify_hostname", "api.js.example.cn", cert}).exit_code == 0);
  CHECK(openssl({"verify", "-CAfile", ca.ca_pem(), "-verify_ip", "10.0.0.5", cert}).exit_code == 0);
  CHECK(openssl({"verify", "-CAfile", ca.ca_pem(), "-verify_hostname", "elsewhere.example.cn", cert}).exit_code != 0);
  auto id = node::pki::read_identity_pem(cert);
  CHECK(id.node_id == "js.nanjing");  // peers still read the node's id from the CN
  CHECK(id.alt_names == std::vector<std::string>{"DNS:credit.nanjing.example.cn", "DNS:api.js.example.cn", "IP:10.0.0.5", "IP:::1"});
  CHECK(contains(test::run_cli({"pki", "show", cert}).out, "names    DNS:credit.nanjing.example.cn DNS:api.js.example.cn IP:10.0.0.5 IP:::1"));
  for (auto [opt, bad] : {std::pair{"--dns", "bad name!"}, {"--dns", "a*b.example.cn"}, {"--dns", "a..b"}, {"--dns", "*"}, {"--ip", "10.0.0.300"}}) {
    auto refused = ca.sign(n.dir + "/tls/node.csr", n.tmp / "x.pem", "local", "js.nanjing", {"--jurisdiction", "320100", opt, bad});
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, std::string(opt) + " " + bad));
  }
  // 100 long names fit (mbedTLS's own PEM writer overflowed at ~80); 101 are refused by count.
  auto names = [](int n) {
    std::string list;
    for (int i = 0; i < n; ++i) list += (i ? "," : "") + std::string("branch-") + std::to_string(i) + ".credit.nanjing.example.cn";
    return list;
  };
  auto many = ca.sign(n.dir + "/tls/node.csr", n.tmp / "many.pem", "local", "js.nanjing", {"--jurisdiction", "320100", "--dns", names(100)});
  REQUIRE_MESSAGE(many.exit_code == 0, many.err);
  CHECK(node::pki::read_identity_pem(n.tmp / "many.pem").alt_names.size() == 100);
  CHECK(openssl({"verify", "-CAfile", ca.ca_pem(), "-verify_hostname", "branch-99.credit.nanjing.example.cn", n.tmp / "many.pem"}).exit_code == 0);
  auto too_many = ca.sign(n.dir + "/tls/node.csr", n.tmp / "x.pem", "local", "js.nanjing", {"--jurisdiction", "320100", "--dns", names(101)});
  CHECK(too_many.exit_code == 2);
  CHECK_MESSAGE(contains(too_many.err, "name 101 names; at most 100"), too_many.err);
  // Long names are bounded by the certificate's size: past ~16 KiB no peer takes it in a handshake.
  std::string longs;
  for (int i = 0; i < 60; ++i)
    longs += (i ? "," : "") + std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::to_string(i) + ".example.cn";
  auto too_big = ca.sign(n.dir + "/tls/node.csr", n.tmp / "x.pem", "local", "js.nanjing", {"--jurisdiction", "320100", "--dns", longs});
  CHECK(too_big.exit_code == 2);
  CHECK_MESSAGE(contains(too_big.err, "more than the 8192 a TLS handshake here takes"), too_big.err);
}
