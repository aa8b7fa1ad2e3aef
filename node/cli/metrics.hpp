// The admin listener's /metrics (Prometheus text format 0.0.4).
#pragma once

#include "config/config.hpp"
#include "node/net/http_message.hpp"
#include "node/net/server.hpp"
#include "node/quality/monitor.hpp"
#include "store/environment.hpp"

namespace node::cli {

net::http_response metrics(const config::node_config& cfg, store::environment& env, const net::server& srv,
                           const quality::monitor& q);

}  // namespace node::cli
