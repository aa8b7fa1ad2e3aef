// A tree of real nodes for the integration tests: each with its own dir,
// config and certificate from one test CA, on free loopback ports.
#pragma once

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <deque>
#include <random>

#include "node/demo/sample_data.hpp"
#include "node_process.hpp"

namespace itest {

namespace json = boost::json;
using namespace std::chrono_literals;

struct tree_node {
  std::string id, role, jur, dir, cfg, admin;
};

struct network {
  bool approve_children = true;  // the parent's operator registers each child up front
  test::temp_dir d;
  std::string ca = d / "ca";
  std::deque<tree_node> nodes;  // references stay valid as nodes are added

  network() { REQUIRE(test::run_cli({"pki", "ca-init", "--dir", ca, "--name", "Test CA"}).exit_code == 0); }

  tree_node& add(const std::string& id, const std::string& role, const std::string& jur, const std::string& parent_sync = "",
                 const std::string& parent_id = "") {
    tree_node n{id, role, jur, d / id, d / id + "/node.toml", loopback(free_port())};
    REQUIRE(test::run_cli({"init", "--role", role, "--node-id", id, "--jurisdiction", jur, "--dir", n.dir}).exit_code == 0);
    REQUIRE(test::run_cli({"pki", "sign", "--ca", ca, "--csr", n.dir + "/tls/node.csr", "--out", n.dir + "/tls/node.pem",
                           "--role", role, "--node-id", id, "--jurisdiction", jur}).exit_code == 0);
    test::write_file(n.dir + "/tls/ca.pem", test::read_file(ca + "/ca.pem"));
    std::string text = test::read_file(n.cfg);
    auto set = [&](const std::string& key, const std::string& value) {
      auto p = text.find("\n" + key + " = ");
      REQUIRE(p != std::string::npos);
      text.replace(p + 1, text.find('\n', p + 1) - p - 1, key + " = \"" + value + "\"");
    };
    set("sync", loopback(free_port()));
    set("api", loopback(free_port()));
    set("admin", n.admin);
    if (!parent_sync.empty()) text += "\n[upstream]\nurl = \"https://" + parent_sync + "\"\nnode_id = \"" + parent_id + "\"\n";
    test::write_file(n.cfg, text);
    nodes.push_back(n);
    if (!parent_id.empty() && approve_children) approve(parent_id, nodes.back());
    return nodes.back();
  }

  // The parent's operator registers the child before it first joins.
  void approve(const std::string& parent_id, const tree_node& child) {
    for (const auto& p : nodes)
      if (p.id == parent_id)
        REQUIRE(test::run_cli({"admin", "approve", child.id, "--role", child.role, "--jurisdiction", child.jur, "-c", p.cfg}).exit_code == 0);
  }

  std::string sync_addr(const tree_node& n) { return listen_addr(n, "sync"); }
  std::string api_addr(const tree_node& n) { return listen_addr(n, "api"); }
  std::string listen_addr(const tree_node& n, const std::string& name) {
    auto text = test::read_file(n.cfg);
    auto p = text.find("\n" + name + " = \"") + name.size() + 5;
    return text.substr(p, text.find('"', p) - p);
  }
};

// The node's `status --json` upstream object, and whether its link is in `want`.
inline json::object upstream_of(const tree_node& n) {
  return json::parse(test::run_cli({"status", "--json", "-c", n.cfg}).out).at("upstream").as_object();
}
inline bool state_is(const tree_node& n, const std::string& want) { return upstream_of(n).at("state").as_string() == want; }

inline std::vector<json::object> exported(const tree_node& n, const std::string& subject = "") {
  std::vector<std::string> args{"export", "-c", n.cfg};
  if (!subject.empty()) args.insert(args.end(), {"--subject", subject});
  auto r = test::run_cli(args);
  REQUIRE(r.exit_code == 0);
  std::vector<json::object> out;
  std::size_t pos = 0;
  for (std::size_t nl; (nl = r.out.find('\n', pos)) != std::string::npos; pos = nl + 1)
    out.push_back(json::parse(r.out.substr(pos, nl - pos)).as_object());
  return out;
}

// Polls until `pred` holds (true) or the time is up (false).
template <class Pred>
inline bool eventually(Pred pred, std::chrono::milliseconds limit = 15s) {
  for (auto end = steady::now() + limit; steady::now() < end; std::this_thread::sleep_for(100ms))
    if (pred()) return true;
  return pred();
}

inline void wait_ready(const tree_node& n, child& c) {
  REQUIRE_MESSAGE(eventually([&] { return http_get(n.admin, "/healthz", 300ms).status == 200; }, 10s),
                  n.id << " did not become ready:\n" << c.err());
}

inline std::string csv(const std::vector<std::string>& subjects, const std::string& prefix, const std::string& amount) {
  std::string s = "subject,record_id,event_date,source,period,tax_type,amount_paid\n";
  int i = 0;
  for (const auto& subj : subjects) s += subj + "," + prefix + std::to_string(i++) + ",2026-10-01,tax,2026-09,VAT," + amount + "\n";
  return s;
}

// Tax rows (csv) for `subjects` written to the network's dir as `name`,
// imported at `n` with the CLI.
inline test::run_result import_tax(const network& net, const tree_node& n, const std::string& name,
                                   const std::vector<std::string>& subjects, const std::string& prefix,
                                   const std::string& amount) {
  test::write_file(net.d / name, csv(subjects, prefix, amount));
  return test::run_cli({"import", "-c", n.cfg, "--category", "tax", net.d / name});
}

inline std::vector<std::string> codes(const std::string& division, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return node::demo::make_enterprises(n, {division}, rng);
}


}  // namespace itest
