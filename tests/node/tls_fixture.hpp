// A small PKI for tests: a CA and node certificates made with the
// project's own pki code, in a temporary directory.
#pragma once

#include <string>

#include "node/net/server.hpp"
#include "node/net/tls_context.hpp"
#include "node/pki/pki.hpp"
#include "test_util.hpp"

namespace test {

// Server timeouts shortened to a few hundred ms (times the slow-machine scale).
inline node::net::server_options short_server_options() {
  using namespace std::chrono_literals;
  node::net::server_options o;
  o.handshake_timeout = 300ms * time_scale;
  o.read_timeout = 1000ms * time_scale;
  o.write_timeout = 1000ms * time_scale;
  o.shutdown_deadline = 2000ms * time_scale;
  o.linger_timeout = 300ms * time_scale;
  return o;
}

struct pki_fixture {
  temp_dir dir;
  std::string ca_dir = dir / "ca";
  pki_fixture() { node::pki::ca_init(ca_dir, "Test CA"); }

  // Key, CSR and certificate for a node; returns the files for tls_context.
  node::net::tls_files issue(const std::string& node_id, const std::string& role,
                             const std::string& jurisdiction, int days = 30,
                             const std::string& ca = "", std::int64_t not_before = 0) const {
    std::string base = dir / node_id;
    node::pki::make_csr({base + ".key", base + ".csr", node_id, role, jurisdiction});
    node::pki::sign({ca.empty() ? ca_dir : ca, base + ".csr", base + ".pem", role, node_id, jurisdiction, days,
                     not_before});
    return {(ca.empty() ? ca_dir : ca) + "/ca.pem", base + ".pem", base + ".key"};
  }
};

}  // namespace test
