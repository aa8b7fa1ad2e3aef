// The parent's side of sync: the /sync/v1/* routes on the sync listener.
// Children are named by their certificates; what they may send and receive
// is decided by sync/ (routing, exchange, digest).
#pragma once

#include <optional>

#include "node/service/contact_book.hpp"
#include "config/config.hpp"
#include "config/live.hpp"
#include "node/net/http_router.hpp"
#include "node/service/change_signal.hpp"
#include "node/service/long_poll.hpp"
#include "node/service/worker_pool.hpp"
#include "store/environment.hpp"
#include "store/writer.hpp"
#include "sync/exchange.hpp"

namespace node::service {

struct sync_context {
  const config::node_config& cfg;  // as started; the policy is read from `live`
  const config::live_settings& live;
  store::environment& env;
  store::writer& writer;
  change_signal& changed;
  worker_pool& workers;  // where the handlers run (they block)
  long_poll& polls;      // pulls waiting for something to send
  contact_book& contacts;  // when each child was last heard from
};

// Adds POST /sync/v1/push, GET /sync/v1/pull, GET /sync/v1/digest.
// Handlers block (a commit): they run on `workers`, not on the server's I/O
// threads. A pull with nothing to send yet waits (at most max_wait_ms) as a
// waiter of `polls`, holding no thread.
void add_sync_routes(net::http_router& r, sync_context& ctx);

inline constexpr int max_wait_ms = 5000;
inline constexpr std::size_t max_batch_changes = replication::batch_limits::large().max_changes;
// A push body: twice the batch's byte bound (its records' estimated size),
// for JSON escapes the estimate does not count. A join: its posture report.
inline constexpr std::size_t max_push_body = 2 * replication::batch_limits::large().max_bytes;
inline constexpr std::size_t max_join_body = 1 << 20;

// The sync listener's look at a request before its body is read
// (listener_config::before_body): a push from a certificate that is not an
// admitted child here is refused unread, and each route gets its own body
// limit (push max_push_body, join max_join_body, anything else none).
std::optional<net::http_response> before_body(sync_context& ctx, const net::http_request& head, std::size_t& limit);

}  // namespace node::service
