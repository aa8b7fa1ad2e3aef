// The admin listener's /metrics (Prometheus text format 0.0.4).
#pragma once

#include "config/config.hpp"
#include "node/net/http_message.hpp"
#include "node/net/server.hpp"
#include "node/quality/monitor.hpp"
#include "store/environment.hpp"

namespace node::cli {

// When the certificate the node serves with, and the CA that signed it,
// end (unix seconds), read once at start: TLS files are not reloaded, so a
// file renewed on disk since says nothing of the certificate in use.
struct certificate_ends {
  std::int64_t node = 0, ca = 0;
  bool known = false;  // false: a file could not be read (check says why)
};
certificate_ends read_certificate_ends(const config::node_config& cfg);

net::http_response metrics(const config::node_config& cfg, store::environment& env, const net::server& srv,
                           const quality::monitor& q, const certificate_ends& in_use);

}  // namespace node::cli
