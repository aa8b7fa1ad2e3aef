// The HTTP/1.1 server: listeners (TLS over mbedTLS, or plain for the
// loopback admin face), one io_context per I/O thread. No Beast or Asio types here: the
// whole server is one translation unit, server.cpp (ARCHITECTURE.md,
// compile time). See node/net/README.md for threads, limits and timeouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "node/net/http_router.hpp"
#include "node/net/tls_context.hpp"

namespace node::net {

using std::chrono::milliseconds;

// Server-wide limits and timeouts. Tests shorten them to a few hundred ms.
struct server_options {
  milliseconds handshake_timeout{10'000};  // TCP accept → TLS handshake done
  milliseconds read_timeout{30'000};       // a request's header (and idle keep-alive); then its body
  milliseconds write_timeout{30'000};      // a whole response
  milliseconds shutdown_deadline{10'000};  // in-flight requests get this long on stop()
  // A handler's deferred answer (an audit commit, a push waiting on the
  // writer, a long-poll): beyond this, 503 `timeout` and the connection
  // closes; what the handler answers later is dropped. A stalled disk then
  // costs a bank 30 s, not a connection held forever.
  milliseconds answer_timeout{30'000};
  // After an error response (413, 431, 400) the rest of what the client sent
  // is read and dropped for this long before closing, so the client reads
  // our answer instead of a connection reset.
  milliseconds linger_timeout{2'000};
  std::size_t header_limit = 8 * 1024;  // request line + headers; beyond: 431
};

struct listener_config {
  std::string name;     // "sync", "api", "admin": in logs and metrics
  std::string address;  // "HOST:PORT"; port 0 picks a free port
  // Server-side context; null means plain HTTP (the loopback admin listener).
  std::shared_ptr<tls_context> tls;
  http_router router;
  std::size_t body_limit = 1024 * 1024;  // beyond: 413
  std::size_t max_connections = 512;     // beyond: accepted and closed at once
  // One client address may hold at most this many (open or still in their
  // handshake): 515 idle sockets from one address shut every bank out.
  std::size_t max_per_address = 128;
  // One certificate (node id) may hold at most this many once its handshake
  // is done (0: no limit); its further connections are answered 429 at
  // their first request and closed. The sync listener: a child needs two
  // (its pusher and its puller), and each may bring a 32 MiB body to
  // decode — an admitted child must not hold hundreds.
  std::size_t max_per_peer = 0;
  // A request refused once its header was read (413: the body is over
  // body_limit) goes through this, when set, before its answer: the request
  // without its body, and the refusal, which it returns or defers (the API
  // audits it). The connection closes after the answer.
  std::function<http_response(const http_request&, http_response)> on_refusal;
  // Once a request's header is read, before its body: a refusal to answer
  // with the body unread (the connection then closes), or none; `limit`
  // (body_limit on the way in) may be lowered for this request, and a body
  // declared over it is refused 413 unread. The sync listener checks the
  // peer and the route here: a certificate from the network's CA is not
  // yet an admitted child.
  std::function<std::optional<http_response>(const http_request& head, std::size_t& limit)> before_body;
  // Sent with every answer (the API: Cache-Control: no-store).
  http_headers response_headers;
};

// A listener could not be opened; the message names it and its address.
class listen_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Counters since start, read at any time from any thread.
struct listener_stats {
  std::string name, address;                   // address as bound (actual port)
  std::uint64_t active_connections = 0;
  std::uint64_t accepted_connections = 0;
  std::uint64_t refused_connections = 0;       // over max_connections
  std::uint64_t tls_handshake_failures = 0;    // includes handshake timeouts
  std::map<int, std::uint64_t> requests_by_status;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_by_endpoint;  // (route, status)
};

class server {
public:
  static std::unique_ptr<server> make(const server_options& opt = {});
  virtual ~server() = default;

  // Binds and listens now (so "address in use" surfaces before run()).
  // Returns the bound "HOST:PORT", with the real port when 0 was asked.
  // Throws listen_error. Call before run().
  virtual std::string add_listener(listener_config cfg) = 0;

  // SIGTERM and SIGINT start a graceful stop (logged). Call before run().
  virtual void stop_on_signals() = 0;
  // SIGHUP calls `fn` (logged), as often as it comes. Call before run().
  virtual void on_reload(std::function<void()> fn) = 0;
  // `fn` runs once when a stop begins, before in-flight requests drain: a
  // handler waiting on its own (a long-poll) is told to answer now.
  virtual void on_stop(std::function<void()> fn) = 0;

  // Serves on `threads` threads (the caller's included) until a stop has
  // drained every connection. Returns false when `limit` (if non-zero) ran
  // out first and the server was torn down hard — a safety net for tests.
  virtual bool run(unsigned threads = 1, milliseconds limit = milliseconds{0}) = 0;

  // Graceful stop, from any thread: stop accepting, close idle keep-alive
  // connections, let in-flight requests finish and close after their
  // response; after shutdown_deadline close whatever is left.
  virtual void stop() = 0;

  virtual std::vector<listener_stats> stats() const = 0;
};

}  // namespace node::net
