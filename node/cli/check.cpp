// `credit-node check`: the pre-connection security self-assessment
// (接入前安全评估). One line per check: PASS / FAIL / WARN, why, and how to
// fix it. Exit 1 when a required check fails.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstring>
#include <ctime>
#include <iostream>

#include "node/api/api.hpp"
#include "node/cli/commands.hpp"
#include "node/pki/pki.hpp"
#include "store/reader.hpp"

namespace node::cli {
namespace {

namespace json = boost::json;

}  // namespace

namespace {

struct report : check_report {
  void pass(std::string id, std::string why) { items.push_back({std::move(id), "PASS", std::move(why), {}}); }
  void fail(std::string id, std::string why, std::string fix) {
    items.push_back({std::move(id), "FAIL", std::move(why), std::move(fix)});
  }
  void warn(std::string id, std::string why, std::string fix) {
    items.push_back({std::move(id), "WARN", std::move(why), std::move(fix)});
  }
};

std::string octal(int mode) {
  char b[8];
  std::snprintf(b, sizeof b, "%04o", mode);
  return b;
}

void check_mode(report& r, const std::string& id, const std::string& path, int want, const std::string& what,
                const std::string& if_missing) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return r.fail(id, what + " " + path + " is missing", if_missing);
  int mode = static_cast<int>(st.st_mode & 0777);
  if (mode & ~want)
    return r.fail(id, what + " " + path + " has mode " + octal(mode) + ", more open than " + octal(want),
                  "chmod " + octal(want).substr(1) + " " + path);
  if (st.st_uid != ::geteuid())
    return r.warn(id, what + " " + path + " belongs to uid " + std::to_string(st.st_uid) + ", not to uid " +
                          std::to_string(::geteuid()) + " running this check",
                  "chown it to the service user (credit-node) and run check as that user");
  r.pass(id, what + " " + path + " is " + octal(mode) + " and ours");
}

}  // namespace

bool loopback_host(const std::string& addr) {
  auto host = addr.substr(0, addr.rfind(':'));
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]" || host == "::1";
}

namespace {

// The CA's own end: once it passes, every handshake in the network fails,
// though each node's certificate is still valid. What counts is the CA that
// signed this node's certificate: during a rotation the bundle holds the old
// and the new, and a node still on the old one fails when it ends.
void check_ca_validity(report& r, const config::node_config& cfg, std::int64_t now, std::int64_t issuer_end) {
  auto last_end = pki::ca_bundle_not_after(cfg.tls.ca);
  auto end = issuer_end ? issuer_end : last_end;
  bool newer = issuer_end && last_end > issuer_end;  // a renewed CA is already in the bundle
  auto what = std::string(issuer_end ? "the CA that signed this node's certificate" : "the CA certificate") + " (" + cfg.tls.ca + ")";
  auto fix = newer ? std::string("have the renewed CA sign a new certificate for this node (pki csr, then pki sign at the CA)")
                   : "install the network's renewed CA certificate at [tls] ca (a bundle may hold the old and the new)";
  if (now > end) r.fail("tls.ca_validity", what + " expired on " + pki::format_utc(end) + ": every TLS handshake with it fails", fix);
  else if (end - now < 30 * 86400) r.warn("tls.ca_validity", what + " expires on " + pki::format_utc(end) + ", within 30 days", fix);
  else r.pass("tls.ca_validity", what + " is valid until " + pki::format_utc(end));
}

void check_certificate(report& r, const config::node_config& cfg) {
  pki::cert_status st;
  // The CA file alone missing is the CA operator's file to copy, not a
  // reason to make a new key and CSR.
  if (std::error_code ec; !std::filesystem::exists(cfg.tls.ca, ec) && std::filesystem::exists(cfg.tls.cert, ec))
    return r.fail("tls.ca", "the CA certificate [tls] ca = " + cfg.tls.ca + " does not exist",
                  "copy the network's CA certificate (ca.pem, from the CA's operator) to " + cfg.tls.ca);
  try {
    st = pki::check_certificate(cfg.tls.ca, cfg.tls.cert, cfg.tls.key);
  } catch (const std::exception& e) {
    if (std::string_view(e.what()).find("Permission denied") != std::string_view::npos)
      return r.fail("tls.certificate", e.what(), "the user running the node must read [tls] cert, key and ca: "
                                                 "chown them to it (the package's credit-node), the key kept 0600");
    return r.fail("tls.certificate", e.what(), "make the key and CSR with `credit-node pki csr`, have the CA sign it, "
                                               "and put the CA certificate at [tls] ca");
  }
  r.pass("tls.certificate", "present: " + st.id.subject + ", serial " + st.id.serial_hex);
  if (st.chains) r.pass("tls.chain", "the certificate chains to the CA " + cfg.tls.ca);
  else r.fail("tls.chain", "the certificate does not chain to " + cfg.tls.ca + ": " + st.chain_error,
              "have the network's CA sign this node's CSR, or put that CA's certificate at [tls] ca");
  if (st.key_matches) r.pass("tls.key_pair", "the key belongs to the certificate");
  else r.fail("tls.key_pair", cfg.tls.key + " does not belong to " + cfg.tls.cert, "restore the matching key or request a new certificate");
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  if (now > st.id.not_after) r.fail("tls.validity", "the certificate expired on " + pki::format_utc(st.id.not_after), "renew it: pki csr, then pki sign at the CA");
  else if (now < st.id.not_before) r.fail("tls.validity", "the certificate is valid only from " + pki::format_utc(st.id.not_before), "check this machine's clock");
  else if (st.id.not_after - now < 30 * 86400) r.warn("tls.validity", "the certificate expires on " + pki::format_utc(st.id.not_after) + ", within 30 days", "renew it now: pki csr, then pki sign at the CA");
  else r.pass("tls.validity", "valid until " + pki::format_utc(st.id.not_after));
  check_ca_validity(r, cfg, now, st.issuer_not_after);
  bool same = st.id.node_id == cfg.node.id && st.id.role == cfg.node.role && st.id.jurisdiction == cfg.node.jurisdiction;
  if (same) r.pass("tls.identity", "the certificate names this node (" + cfg.node.id + ", " + cfg.node.role + ", " + cfg.node.jurisdiction + ")");
  else r.fail("tls.identity", "the certificate names " + st.id.node_id + " (" + st.id.role + ", " + st.id.jurisdiction + "), the config " +
              cfg.node.id + " (" + cfg.node.role + ", " + cfg.node.jurisdiction + ")", "request a certificate for this node's id, role and jurisdiction");
}

// The newest 10,000 entries of the access log, re-hashed (the whole log:
// `credit-node audit verify`). Masking is built in: no switch turns it off.
void check_audit(report& r, store::environment& env) {
  auto last = store::reader(env).last_audit_seq();
  std::uint64_t n = 0;
  auto problem = api::verify_audit_chain(env, n, last > 10000 ? last - 10000 : 0);
  if (problem.empty())
    r.pass("audit_masking", "the access log's hash chain holds over its newest " + std::to_string(n) +
                                " entries; personal fields are masked unless a consent covers them");
  else
    r.fail("audit_masking", "the access log is broken: " + problem, "run `credit-node audit verify`, keep the store for investigation, restore from a backup");
}

void check_store(report& r, store::environment& env) {
  auto problems = store::reader(env).integrity_problems();
  if (problems.empty()) r.pass("store.integrity", "the store opens and its tables agree (format " + std::to_string(env.schema_version()) + ")");
  else r.fail("store.integrity", problems.front(), "stop the node and restore the store from a backup");
  check_audit(r, env);
}

// Every page read in a child process: LMDB asserts (SIGABRT) or faults on
// some damage, and `check` must say FAIL, not crash — systemd runs it
// before the node. Within `budget` (a huge store is read in part: systemd
// gives a start 90 s); `check --deep` has none. The child answers with one
// letter — D damaged, O cannot open, P partial, nothing: all read — then
// the reason.
struct walk_result {
  char verdict = 0;
  std::string reason;
};

walk_result walk_in_child(const config::node_config& cfg, std::chrono::seconds budget) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  pid_t pid = ::fork();
  if (pid < 0) {  // no child: the other checks still run
    ::close(fds[0]);
    ::close(fds[1]);
    return {};
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string said;
    try {
      auto env = open_store(cfg);
      bool complete = true;
      auto found = store::reader(*env).walk_problems(std::chrono::steady_clock::now() + budget, complete);
      if (!found.empty()) said = "D" + found.front();
      else if (!complete) said = "P";
    } catch (const std::exception& e) {
      said = std::string("O") + e.what();
    }
    bool told = said.empty() || ::write(fds[1], said.data(), said.size()) == static_cast<ssize_t>(said.size());
    ::_exit(told ? 0 : 1);
  }
  ::close(fds[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    return {'D', "reading every page of the store killed the reader (" + std::string(::strsignal(WTERMSIG(status))) + "): it is damaged"};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {'O', "the store reader could not report"};
  if (got.empty()) return {};
  return {got[0], got.substr(1)};
}

void check_store(report& r, const config::node_config& cfg, store::environment* open, bool deep) {
  try {
    if (open) return check_store(r, *open);
    auto walk = walk_in_child(cfg, deep ? std::chrono::hours(24 * 365) : std::chrono::seconds(30));
    if (walk.verdict == 'D')
      return r.fail("store.integrity", walk.reason, "stop the node and restore the store from a backup (credit-node restore FILE)");
    if (walk.verdict == 'O') return r.fail("store.integrity", walk.reason, "check [node] data_dir and the disk");
    if (walk.verdict == 'P')
      r.warn("store.page_walk", "the store is larger than 30 s of reading: only part of its pages were read",
             "read them all with credit-node check --deep (the node may run meanwhile)");
    auto env = open_store(cfg);
    check_store(r, *env);
  } catch (const std::exception& e) {
    r.fail("store.integrity", e.what(), "check [node] data_dir and the disk");
  }
}

void check_rest(report& r, const config::node_config& cfg) {
  check_mode(r, "tls.key_mode", cfg.tls.key, 0600, "the node key",
             "make the key and CSR with credit-node pki csr, or check [tls] key");
  check_mode(r, "data_dir.mode", cfg.node.data_dir, 0700, "the data directory",
             "check [node] data_dir; credit-node init makes it (the package makes /var/lib/credit-node)");
  if (loopback_host(cfg.listen.admin)) r.pass("listen.plaintext", "the plain-HTTP admin listener is on loopback (" + cfg.listen.admin + ")");
  else r.fail("listen.plaintext", "the admin listener speaks plain HTTP on " + cfg.listen.admin + ", off loopback",
              "set [listen] admin = \"127.0.0.1:9090\" (reach it through an SSH tunnel)");
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  if (now < 1767225600 || now > 4102444800)  // 2026-01-01 .. 2100-01-01
    r.fail("clock", "the system clock reads " + pki::format_utc(now), "set the clock (NTP): certificates and cursors depend on it");
  else r.pass("clock", "the system clock reads " + pki::format_utc(now));
  if (cfg.node.role != "national" && !cfg.upstream)
    r.warn("upstream", "no [upstream]: this node will not sync", "add [upstream] url and node_id of the parent");
}

void print(const check_report& r, bool as_json) {
  if (as_json) {
    json::array a;
    for (const auto& i : r.items) a.push_back(json::object{{"id", i.id}, {"status", i.status}, {"reason", i.reason}, {"fix", i.fix}});
    std::cout << json::serialize(json::object{{"ok", r.ok()}, {"checks", std::move(a)}}) << "\n";
    return;
  }
  for (const auto& i : r.items) {
    std::cout << i.status << "  " << i.id << ": " << i.reason << "\n";
    if (!i.fix.empty() && i.status != "PASS") std::cout << "      fix: " << i.fix << "\n";
  }
  std::cout << (r.ok() ? "check: every required check passed\n" : "check: a required check FAILED: this node must not connect\n");
}

}  // namespace

bool check_report::ok() const {
  for (const auto& r : items)
    if (r.status == "FAIL") return false;
  return true;
}

std::vector<std::string> check_report::failures() const {
  std::vector<std::string> out;
  for (const auto& r : items)
    if (r.status == "FAIL") out.push_back(r.id + ": " + r.reason);
  return out;
}

check_report run_checks(const config::node_config& cfg, store::environment* open, bool deep) {
  report r;
  r.pass("config", "valid: " + cfg.source_path);
  check_certificate(r, cfg);
  check_rest(r, cfg);
  check_store(r, cfg, open, deep);
  return r;
}

int cmd_check(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{"--deep"}, {}, 0});
  config::node_config cfg;
  try {
    cfg = load_config(a);
  } catch (const config::config_error& e) {
    report r;
    r.fail("config", e.what(), "fix the config file as the lines above say");
    print(r, a.has("--json"));
    return 1;
  }  // a config that cannot be read at all (a wrong -c): unreadable input, exit 2
  auto r = run_checks(cfg, nullptr, a.has("--deep"));
  print(r, a.has("--json"));
  return r.ok() ? 0 : 1;
}

}  // namespace node::cli
