// `credit-node admin bank add` / `admin portal add`: who may use the API.
//   admin bank add --id ID --name NAME (--cert PEM | --token-out FILE)
//   admin portal add --id ID [--name NAME] (--cert PEM | --token-out FILE)
// A token is shown once, written to FILE (0600); the store keeps only its
// SHA-256. A certificate must be issued by this network's CA for that role.
#include <boost/json.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <cstring>
#include <iostream>

#include "node/cli/commands.hpp"
#include "node/pki/pki.hpp"
#include "store/model/record.hpp"
#include "store/model/validate.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"

namespace node::cli {
namespace {

void write_token(const std::string& path, const std::string& token) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path + " (it must not exist yet): " + std::strerror(errno));
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int add_principal(const config::node_config& cfg, const args& a, const std::string& kind) {
  store::principal p;
  p.id = a.require("--id");
  p.kind = kind;
  p.name = kind == "bank" ? a.require("--name") : a.get("--name").value_or("enterprise portal");
  if (auto e = config::check_node_id(p.id); !e.empty()) throw usage_error("--id: " + e);
  auto cert = a.get("--cert");
  auto token_out = a.get("--token-out");
  if (cert.has_value() == token_out.has_value()) throw usage_error("give exactly one of --cert PEM and --token-out FILE");
  std::string token;
  if (cert) {
    auto st = pki::check_certificate(cfg.tls.ca, *cert, "");
    if (!st.chains) throw usage_error(*cert + " is not issued by this network's CA (" + cfg.tls.ca + "): " + st.chain_error);
    if (st.id.role != kind || st.id.node_id != p.id)
      throw usage_error(*cert + " names " + st.id.node_id + " (" + st.id.role + "), not " + p.id + " (" + kind +
                        "): issue one with pki sign --role " + kind + " --node-id " + p.id);
    p.cert_sha256 = st.id.sha256_fingerprint_hex;
  } else {
    token = pki::random_hex(32);
    p.token_sha256 = pki::sha256_hex(token);
  }
  auto env = open_store(cfg);
  if (store::reader(*env).principal_by_id(p.id)) throw usage_error("a principal '" + p.id + "' is already registered");
  if (token_out) write_token(*token_out, token);
  store::access_op op;
  op.what = store::access_op::kind::put_principal;
  op.who = p;
  store::writer w(*env);
  store::commit_one(w, std::move(op));
  std::cout << kind << " " << p.id << " registered" << (token_out ? "; its bearer token is in " + *token_out : ", by certificate") << "\n";
  return 0;
}

// `admin bank|portal suspend --id ID --reason TEXT`, `resume --id ID` and
// `token --id ID --token-out FILE` (a new token; the old one stops working
// at once). The running node reads principals per request: no restart.
int change_principal(const config::node_config& cfg, const args& a, const std::string& kind, const std::string& verb) {
  store::access_op op;
  op.who.id = a.require("--id");
  auto env = open_store(cfg);
  auto p = store::reader(*env).principal_by_id(op.who.id);
  if (!p || p->kind != kind) throw usage_error("no " + kind + " '" + op.who.id + "' is registered (admin " + kind + " add)");
  std::optional<std::string> token_out;
  std::string token;
  if (verb == "token") {
    if (!p->cert_sha256.empty())
      throw usage_error(kind + " " + p->id + " signs in with its client certificate: a token would be a second way in; "
                        "to shut its certificate out, suspend it (admin " + kind + " suspend --id " + p->id + " --reason TEXT)");
    token_out = a.require("--token-out");
    token = pki::random_hex(32);
    op.what = store::access_op::kind::set_token;
    op.who.token_sha256 = pki::sha256_hex(token);
    write_token(*token_out, token);
  } else {
    op.what = store::access_op::kind::suspend_principal;
    op.who.suspended = verb == "suspend";
    if (op.who.suspended) op.who.suspended_reason = store::model::printable_prefix(a.require("--reason"), 1024);
  }
  try {
    store::writer w(*env);
    store::commit_one(w, std::move(op));
  } catch (...) {
    if (token_out) std::filesystem::remove(*token_out);  // a token that never worked
    throw;
  }
  if (verb == "token") std::cout << kind << " " << p->id << ": a new bearer token is in " << *token_out << "; the old one no longer works\n";
  else std::cout << kind << " " << p->id << (verb == "suspend" ? " suspended: its requests are refused (403 suspended)" : " resumed") << "\n";
  return 0;
}

// `admin bank list` / `admin portal list`: who may use the API, how it
// authenticates (a certificate's fingerprint or a token's hash — never a
// token), and whether it is suspended.
int list_principals(const config::node_config& cfg, const std::string& kind, bool as_json) {
  auto env = open_store(cfg);
  boost::json::array out;
  std::size_t n = 0;
  for (const auto& p : store::reader(*env).principals()) {
    if (p.kind != kind) continue;
    ++n;
    auto auth = p.cert_sha256.empty() ? "token (sha256 " + p.token_sha256.substr(0, 16) + "…)"
                                      : "certificate (sha256 " + p.cert_sha256.substr(0, 16) + "…)";
    auto state = p.suspended ? "suspended: " + p.suspended_reason : std::string("active");
    if (as_json)
      out.push_back(boost::json::object{{"id", p.id}, {"name", p.name}, {"auth", p.cert_sha256.empty() ? "token" : "certificate"},
                                        {"suspended", p.suspended}, {"suspended_reason", p.suspended_reason},
                                        {"created", store::model::format_utc_ms(p.created_ms)}});
    else
      std::cout << p.id << "  " << p.name << "\n    " << auth << "; " << state << "; since "
                << store::model::format_utc_ms(p.created_ms) << "\n";
  }
  if (as_json) std::cout << boost::json::serialize(out) << "\n";
  else if (!n) std::cout << "no " << kind << " registered (credit-node admin " << kind << " add --id ID ...)\n";
  return 0;
}

}  // namespace node::cli
