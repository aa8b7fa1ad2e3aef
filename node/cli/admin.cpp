// `credit-node admin`: the parent's registry of child nodes (PRODUCT.md §4).
//   admin nodes | pending | events          what is registered, waiting, happened
//   admin revocations                       certificates refused everywhere in the tree
//   admin approve|resume NODE_ID            admit a pending node / a suspended one
//   admin suspend|revoke NODE_ID --reason TEXT
// Works on the store directly, beside a running node: the node reads the
// registry on every sync request, so a change takes effect on the child's
// next request, without a restart.
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "node/cli/commands.hpp"
#include "store/model/record.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "sync/admission.hpp"

namespace node::cli {
namespace {

namespace json = boost::json;

std::string when(std::int64_t ms) { return ms ? store::model::format_utc_ms(ms) : "-"; }

json::object entry_json(const store::node_entry& e) {
  return {{"node_id", e.node_id}, {"role", e.role}, {"jurisdiction", e.jurisdiction},
          {"state", std::string(store::to_string(e.state))}, {"reason", e.reason}, {"cert_serial", e.cert_serial},
          {"version", e.version}, {"first_seen", when(e.first_seen_ms)}, {"changed", when(e.changed_ms)},
          {"last_join", when(e.last_join_ms)}, {"last_decision", e.last_decision},
          {"last_reasons", json::value_from(e.last_reasons)}, {"violations", e.violations},
          {"last_contact", when(e.last_contact_ms)},
          {"last_contact_age", age_text(seconds_since(e.last_contact_ms))}};
}

// Registered, but its last join was not admitted (a policy it fails, a
// certificate that no longer matches): its state alone would say all is well.
void print_refused_join(const json::object& o) {
  auto decision = std::string(o.at("last_decision").as_string());
  if (decision.empty() || decision == "admitted" || o.at("state").as_string() != "admitted") return;
  std::string why;
  for (const auto& r : o.at("last_reasons").as_array()) why += (why.empty() ? "" : "; ") + std::string(r.as_string());
  std::printf("    its last join (%s) was %s%s%s\n", std::string(o.at("last_join").as_string()).c_str(), decision.c_str(),
              why.empty() ? "" : ": ", why.c_str());
}

int list_nodes(const config::node_config& cfg, bool only_pending, bool as_json) {
  auto env = open_store(cfg);
  json::array out;
  for (const auto& e : store::reader(*env).nodes())
    if (!only_pending || e.state == store::node_state::pending) out.push_back(entry_json(e));
  if (as_json) {
    std::cout << json::serialize(json::object{{"nodes", std::move(out)}}) << "\n";
    return 0;
  }
  if (out.empty()) std::cout << (only_pending ? "no node is waiting for approval\n" : "no child node has asked to join\n");
  for (const auto& v : out) {
    const auto& o = v.as_object();
    auto s = [&](const char* k) { return std::string(o.at(k).as_string()); };
    std::printf("%-24s %-10s %-6s %-9s v%-8s last join %s  last contact %s  violations %llu\n", s("node_id").c_str(),
                s("role").c_str(), s("jurisdiction").c_str(), s("state").c_str(), s("version").c_str(), s("last_join").c_str(),
                s("last_contact_age").c_str(),
                static_cast<unsigned long long>(o.at("violations").to_number<std::uint64_t>()));
    if (!s("reason").empty()) std::printf("    %s\n", s("reason").c_str());
    print_refused_join(o);
    if (only_pending) std::printf("    approve with: credit-node admin approve %s\n", s("node_id").c_str());
  }
  return 0;
}

int list_events(const config::node_config& cfg, std::size_t limit, bool as_json) {
  auto env = open_store(cfg);
  std::vector<std::string> all;
  store::reader(*env).for_each_event([&](std::uint64_t, std::string_view v) {
    all.emplace_back(v);
    return true;
  });
  auto first = all.size() > limit ? all.size() - limit : 0;
  if (as_json) {
    std::cout << "{\"events\":[";
    for (std::size_t i = first; i < all.size(); ++i) std::cout << (i > first ? "," : "") << all[i];
    std::cout << "]}\n";
    return 0;
  }
  for (std::size_t i = first; i < all.size(); ++i) std::cout << all[i] << "\n";
  if (all.empty()) std::cout << "no security or integrity events\n";
  return 0;
}

int list_revocations(const config::node_config& cfg, bool as_json) {
  auto env = open_store(cfg);
  json::array out;
  for (const auto& r : store::reader(*env).revocations())
    out.push_back(json::object{{"serial", r.serial}, {"node_id", r.node_id}, {"reason", r.reason}, {"by", r.by}, {"at", when(r.at_ms)}});
  if (as_json) {
    std::cout << json::serialize(json::object{{"revocations", std::move(out)}}) << "\n";
    return 0;
  }
  if (out.empty()) std::cout << "no certificate is revoked\n";
  for (const auto& v : out) {
    const auto& o = v.as_object();
    auto s = [&](const char* k) { return std::string(o.at(k).as_string()); };
    std::printf("%-24s serial %s  revoked by %s at %s: %s\n", s("node_id").c_str(), s("serial").c_str(), s("by").c_str(),
                s("at").c_str(), s("reason").c_str());
  }
  return 0;
}

store::registry_op state_change(const args& a, const config::node_config& cfg, const std::string& verb) {
  if (a.positional.size() != 2) throw usage_error("admin " + verb + " takes one NODE_ID");
  store::registry_op op;
  op.what = store::registry_op::kind::set_state;
  op.entry.node_id = a.positional[1];
  op.by = cfg.node.id;
  if (verb == "approve" || verb == "resume") {
    op.to = store::node_state::admitted;
    op.only_from = verb == "approve" ? store::node_state::pending : store::node_state::suspended;
    op.reason = a.get("--reason").value_or(verb == "approve" ? "approved" : "resumed");
  } else {
    op.to = verb == "suspend" ? store::node_state::suspended : store::node_state::revoked;
    op.reason = a.require("--reason");
  }
  if (auto serial = a.get("--serial")) {
    if (verb != "revoke") throw usage_error("--serial goes with revoke only");
    op.entry.cert_serial = *serial;
  }
  auto role = a.get("--role"), jur = a.get("--jurisdiction");
  if (role || jur) {
    if (verb != "approve" || !role || !jur) throw usage_error("--role and --jurisdiction go together, with approve only");
    if (auto why = replication::child_problem(cfg, op.entry.node_id, *role, *jur); !why.empty())
      throw usage_error(op.entry.node_id + " cannot be a child of this node: " + why);
    op.create = true;
    op.only_from.reset();
    op.entry.role = *role;
    op.entry.jurisdiction = *jur;
  }
  return op;
}

int change_state(const config::node_config& cfg, store::registry_op op, const std::string& verb, bool as_json) {
  auto env = open_store(cfg);
  auto id = op.entry.node_id;
  {
    store::writer w(*env);
    store::commit_one(w, std::move(op));  // registry_error (exit 1) names the state that prevents it
  }
  auto e = store::reader(*env).node(id);
  if (as_json) std::cout << json::serialize(entry_json(*e)) << "\n";
  else std::cout << id << " is " << store::to_string(e->state) << " (" << verb << ": " << e->reason << ")\n";
  return 0;
}

// A certificate revoked by its serial: the node may be a grandchild that
// never joined here. The list goes down the tree with every pull, and each
// node below refuses the certificate in the TLS handshake; a node in this
// registry is marked revoked too.
int revoke_serial(const config::node_config& cfg, store::registry_op op, bool as_json) {
  auto serial = op.entry.cert_serial;
  std::transform(serial.begin(), serial.end(), serial.begin(), [](unsigned char c) { return std::tolower(c); });
  std::erase(serial, ':');
  if (serial.empty() || serial.size() > 64 || serial.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw usage_error("--serial takes the certificate's serial in hex (as `admin nodes` or `pki show` print it), not '" +
                      op.entry.cert_serial + "'");
  auto env = open_store(cfg);
  auto id = op.entry.node_id;
  bool known = store::reader(*env).node(id).has_value();
  store::registry_op list;
  list.what = store::registry_op::kind::merge_revocations;
  list.revocations.push_back({serial, op.entry.node_id, op.reason, cfg.node.id, static_cast<std::int64_t>(std::time(nullptr)) * 1000});
  op.entry.cert_serial = serial;
  {
    store::writer w(*env);
    store::write_batch b;
    b.registry.push_back(std::move(list));
    if (known) b.registry.push_back(std::move(op));  // one transaction: both or neither
    w.submit(std::move(b)).get();
  }
  if (as_json) std::cout << json::serialize(json::object{{"node_id", id}, {"serial", serial}, {"revoked", true}}) << "\n";
  else std::cout << "certificate " << serial << " of " << id << " is revoked: each node below this one refuses it "
                 << "in the TLS handshake once its next pull brings the list (seconds)\n";
  return 0;
}

}  // namespace

void register_child(const config::node_config& parent, const std::string& id, const std::string& role,
                    const std::string& jurisdiction) {
  store::registry_op op;
  op.what = store::registry_op::kind::set_state;
  op.entry.node_id = id;
  op.entry.role = role;
  op.entry.jurisdiction = jurisdiction;
  op.to = store::node_state::admitted;
  op.create = true;
  op.reason = "approved";
  op.by = parent.node.id;
  auto env = open_store(parent);
  store::writer w(*env);
  store::commit_one(w, std::move(op));
}

int cmd_admin(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {"--reason", "--role", "--jurisdiction", "--limit", "--id", "--name", "--cert", "--token-out", "--serial"}, 2});
  if (a.positional.empty()) throw usage_error("admin needs a subcommand: nodes, pending, events, revocations, approve, resume, suspend, revoke, bank or portal");
  const auto& verb = a.positional[0];
  auto cfg = load_config(a);
  bool as_json = a.has("--json");
  if (verb == "nodes" || verb == "pending") return list_nodes(cfg, verb == "pending", as_json);
  if (verb == "revocations") return list_revocations(cfg, as_json);
  if (verb == "bank" || verb == "portal") {
    const std::string sub = a.positional.size() == 2 ? a.positional[1] : "";
    if (sub == "add") return add_principal(cfg, a, verb);
    if (sub == "list") return list_principals(cfg, verb, as_json);
    if (sub == "suspend" || sub == "resume" || sub == "token") return change_principal(cfg, a, verb, sub);
    throw usage_error("admin " + verb + " list | add|suspend|resume|token --id ID ...");
  }
  if (verb == "events") {
    auto lim = a.get("--limit").value_or("100");
    if (lim.empty() || lim.size() > 9 || lim.find_first_not_of("0123456789") != std::string::npos)
      throw usage_error("--limit takes a number of events, not '" + lim + "'");
    return list_events(cfg, std::stoul(lim), as_json);
  }
  if (verb == "approve" || verb == "resume" || verb == "suspend" || verb == "revoke") {
    if (cfg.node.role == "local") throw usage_error("a local node has no child nodes to " + verb);
    auto op = state_change(a, cfg, verb);
    if (verb == "revoke" && a.get("--serial")) return revoke_serial(cfg, std::move(op), as_json);
    return change_state(cfg, std::move(op), verb, as_json);
  }
  throw usage_error("unknown admin subcommand '" + verb + "'; expected nodes, pending, events, revocations, approve, resume, suspend, revoke, bank or portal");
}

}  // namespace node::cli
