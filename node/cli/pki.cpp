// `credit-node pki ca-init | csr | sign | show`: the network's own CA
// (PRODUCT.md §4). The work is in node/pki; this file parses, prints, and
// turns refusals into exit 2 and failures into exit 1.
#include <sys/stat.h>

#include <boost/json.hpp>

#include <ctime>
#include <iostream>

#include "node/cli/commands.hpp"
#include "node/pki/pki.hpp"

namespace node::cli {
namespace {

namespace json = boost::json;

int days_option(const args& a, int fallback) {
  auto v = a.get("--days");
  if (!v) return fallback;
  if (v->empty() || v->size() > 6 || v->find_first_not_of("0123456789") != std::string::npos)
    throw usage_error("--days takes a whole number of days, not '" + *v + "'");
  return std::stoi(*v);
}

// A path or value as the shell would need it in a copy-pasted command.
std::string shell_word(const std::string& s) {
  bool plain = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                 "_./:=,@+-") == std::string::npos;
  if (plain) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

json::object identity_json(const pki::identity& id) {
  return {{"subject", id.subject},
          {"issuer", id.issuer},
          {"node_id", id.node_id},
          {"role", id.role},
          {"jurisdiction", id.jurisdiction},
          {"serial", id.serial_hex},
          {"sha256", id.sha256_fingerprint_hex},
          {"not_before", pki::format_utc(id.not_before)},
          {"not_after", pki::format_utc(id.not_after)},
          {"alt_names", json::value_from(id.alt_names)},
          {"not_before_unix", id.not_before},
          {"not_after_unix", id.not_after},
          {"is_ca", id.is_ca}};
}

void print_identity(const pki::identity& id) {
  std::cout << "  subject  " << id.subject << "\n"
            << "  issuer   " << id.issuer << "\n"
            << "  serial   " << id.serial_hex << "\n"
            << "  valid    " << pki::format_utc(id.not_before) << " .. " << pki::format_utc(id.not_after) << "\n"
            << "  sha256   " << id.sha256_fingerprint_hex << "\n";
  if (!id.alt_names.empty()) {
    std::cout << "  names   ";
    for (const auto& n : id.alt_names) std::cout << " " << n;
    std::cout << "\n";
  }
  if (id.not_after < static_cast<std::int64_t>(std::time(nullptr))) std::cout << "  EXPIRED on " << pki::format_utc(id.not_after) << "\n";
}

std::string sign_command(const std::string& ca, const std::string& csr, const std::string& out,
                         const std::string& role, const std::string& id, const std::string& jurisdiction) {
  std::string c = "credit-node pki sign --ca " + ca + " --csr " + shell_word(csr) + " --out " + shell_word(out) +
                  " --role " + role + " --node-id " + shell_word(id);
  if (!jurisdiction.empty()) c += " --jurisdiction " + jurisdiction;
  return c;
}

int ca_init(int argc, char** argv) {
  auto a = parse(argc, argv, 3, {{}, {"--dir", "--name", "--days"}, 0});
  auto r = pki::ca_init(a.require("--dir"), a.require("--name"), days_option(a, pki::default_ca_days));
  std::string dir = a.require("--dir");
  if (a.has("--json")) {
    auto o = identity_json(r.cert);
    o["dir"] = dir;
    o["key"] = r.key_path;
    o["cert"] = r.cert_path;
    o["log"] = r.log_path;
    std::cout << json::serialize(o) << "\n";
    return 0;
  }
  std::cout << "CA made in " << dir << " (mode 0700)\n"
            << "  key      " << r.key_path << " (mode 0600: keep it on this machine, and a backup offline)\n"
            << "  cert     " << r.cert_path << " (give it to every node of the network as [tls].ca)\n"
            << "  log      " << r.log_path << " (every certificate this CA issues)\n";
  print_identity(r.cert);
  std::cout << "next: sign a node's CSR (the node makes it with credit-node pki csr):\n  "
            << sign_command(shell_word(dir), "NODE.csr", "NODE.pem", "local", "NODE_ID", "JURISDICTION") << "\n";
  return 0;
}

void print_csr(const pki::csr_result& r, const std::string& subject, const std::string& next, bool as_json) {
  if (as_json) {
    json::object o{{"key", r.key_path}, {"key_created", r.key_created}, {"csr", r.csr_path},
                   {"subject", subject},  {"next", next}};
    std::cout << json::serialize(o) << "\n";
    return;
  }
  std::cout << "key  " << r.key_path
            << (r.key_created ? " (new P-256 key, mode 0600; it never leaves this machine)\n"
                              : " (existing key reused: a renewal keeps the key)\n")
            << "CSR  " << r.csr_path << "\n     " << subject << "\n"
            << "next: send the CSR to the CA operator (for a node: the parent's), who runs:\n  " << next << "\n";
}

int csr(int argc, char** argv) {
  // -c FILE: a node, from its config. --key/--out/--node-id/--role: a bank or
  // portal (or any request) without a node config.
  auto a = parse(argc, argv, 3, {{}, {"--key", "--out", "--node-id", "--role", "--jurisdiction"}, 0});
  pki::csr_request req;
  std::string cert_path;
  if (a.get("--key") || a.get("--out") || a.get("--node-id") || a.get("--role")) {
    if (a.get("-c")) throw usage_error("give either -c FILE or --key/--out/--node-id/--role, not both");
    req = {a.require("--key"), a.require("--out"), a.require("--node-id"), a.require("--role"),
           a.get("--jurisdiction").value_or("")};
    cert_path = "CERT.pem";
  } else {
    if (a.get("--jurisdiction")) throw usage_error("--jurisdiction comes from the config with -c");
    auto cfg = load_config(a);
    req = {cfg.tls.key, pki::csr_path_for(cfg.tls.cert), cfg.node.id, cfg.node.role, cfg.node.jurisdiction};
    cert_path = cfg.tls.cert;
  }
  auto r = pki::make_csr(req);
  std::string subject = "CN=" + req.node_id + ", OU=" + req.role +
                        (req.jurisdiction.empty() ? "" : ", L=" + req.jurisdiction) + ", O=credit-node";
  print_csr(r, subject, sign_command("CA_DIR", r.csr_path, cert_path, req.role, req.node_id, req.jurisdiction),
            a.has("--json"));
  struct stat st{};
  if (!r.key_created && ::stat(r.key_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    std::cerr << "warning: " << r.key_path << " is readable by others (mode " << std::oct << (st.st_mode & 07777)
              << std::dec << "); run: chmod 600 " << shell_word(r.key_path) << "\n";
  return 0;
}

std::vector<std::string> comma_list(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < s.size();) {
    auto comma = s.find(',', at);
    if (comma == std::string::npos) comma = s.size();
    if (comma > at) out.push_back(s.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

int sign(int argc, char** argv) {
  auto a = parse(argc, argv, 3,
                 {{}, {"--ca", "--csr", "--out", "--role", "--node-id", "--jurisdiction", "--days", "--dns", "--ip"}, 0});
  pki::sign_request req{a.require("--ca"),
                        a.require("--csr"),
                        a.require("--out"),
                        a.require("--role"),
                        a.require("--node-id"),
                        a.get("--jurisdiction").value_or(""),
                        days_option(a, pki::default_cert_days)};
  auto r = pki::sign(req, {comma_list(a.get("--dns").value_or("")), comma_list(a.get("--ip").value_or(""))});
  if (a.has("--json")) {
    auto o = identity_json(r.cert);
    o["cert"] = r.cert_path;
    json::array notes;
    for (const auto& n : r.notes) notes.emplace_back(n);
    o["notes"] = std::move(notes);
    std::cout << json::serialize(o) << "\n";
    return 0;
  }
  std::cout << "issued " << r.cert_path << "\n";
  print_identity(r.cert);
  for (const auto& n : r.notes) std::cout << "note: " << n << "\n";
  return 0;
}

int show(int argc, char** argv) {
  auto a = parse(argc, argv, 3, {{}, {}, 1});
  if (a.positional.empty()) throw usage_error("pki show needs a certificate file: credit-node pki show CERT");
  auto id = pki::read_identity_pem(a.positional[0]);
  if (a.has("--json")) {
    std::cout << json::serialize(identity_json(id)) << "\n";
    return 0;
  }
  std::cout << a.positional[0] << "\n";
  if (id.is_ca)
    std::cout << "  CA       " << id.node_id << "\n";
  else
    std::cout << "  node     " << id.node_id << "\n  role     " << id.role << "\n  division "
              << (id.jurisdiction.empty() ? "-" : id.jurisdiction) << "\n";
  print_identity(id);
  return 0;
}

}  // namespace

int cmd_pki(int argc, char** argv) {
  std::string sub = argc > 2 ? argv[2] : "";
  try {
    if (sub == "ca-init") return ca_init(argc, argv);
    if (sub == "csr") return csr(argc, argv);
    if (sub == "sign") return sign(argc, argv);
    if (sub == "show") return show(argc, argv);
  } catch (const pki::pki_error& e) {
    std::cerr << "credit-node pki " << sub << ": " << e.what() << "\n";
    return e.which() == pki::pki_error::kind::input ? 2 : 1;
  }
  throw usage_error(sub.empty() ? "pki needs a subcommand: ca-init, csr, sign or show"
                                : "unknown pki subcommand '" + sub + "'; expected ca-init, csr, sign or show");
}

}  // namespace node::cli
