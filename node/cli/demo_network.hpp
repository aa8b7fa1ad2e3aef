// The demo's network on loopback: a CA made with the binary's own PKI code
// and four nodes — national, provincial (Jiangsu), two locals (Nanjing,
// Suzhou) — each a real `credit-node run` child process.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace node::cli {

struct demo_node {
  std::string id, role, jurisdiction, parent;  // parent: node id, empty for national
  config::node_config cfg;
  std::string sync_addr, admin_addr;
  pid_t pid = -1;
};

class demo_network {
public:
  // Makes the CA, the four nodes' configs, keys and certificates under dir.
  explicit demo_network(const std::filesystem::path& dir);
  ~demo_network();  // stops whatever still runs (SIGTERM, then SIGKILL)
  demo_network(const demo_network&) = delete;
  demo_network& operator=(const demo_network&) = delete;

  void start();  // spawns every node; throws if one does not become ready
  void stop();
  std::vector<demo_node>& nodes() { return nodes_; }
  demo_node& get(const std::string& id);

private:
  void add(const std::string& id, const std::string& role, const std::string& jur, const std::string& parent);
  std::filesystem::path dir_;
  std::vector<demo_node> nodes_;
};

}  // namespace node::cli
