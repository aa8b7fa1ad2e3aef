// An HTTPS client for node-to-node calls: one connection, kept alive,
// one request at a time, synchronous (it runs its own io_context on the
// calling thread, bounded by a per-request deadline). No Beast or Asio
// types here; the work is in client.cpp.
//
// The chain check against [tls].ca is mbedTLS's (VERIFY_REQUIRED on a
// client context); on top of it the server certificate must name
// `expected_node_id` — a valid certificate of another node is an impostor.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "node/net/http_message.hpp"
#include "node/net/tls_context.hpp"

namespace node::net {

struct client_options {
  std::string address;           // "host:port" (or "[v6]:port"); numeric port
  std::string expected_node_id;  // required: the server certificate must name it
  std::shared_ptr<tls_context> tls;  // tls_side::client; a certificate is optional
  std::chrono::milliseconds timeout{30'000};  // per request: connect, handshake, write, read
  std::size_t body_limit = 64u << 20;         // largest response body accepted
};

struct client_request {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::string content_type;  // set when there is a body
  http_headers headers;      // extra headers (Authorization, ...)
};

// A request that did not get an answer: could not connect, TLS refused,
// wrong server identity, timeout, malformed response. The message names
// the address and what happened.
class client_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
  enum class kind { other, plain_http };
  client_error(const std::string& what, kind k) : std::runtime_error(what), why(k) {}
  // plain_http: the address answered a TLS handshake in plain HTTP (a
  // plain-HTTP port: a node's admin listener, say) — a configuration slip.
  kind why = kind::other;
};

class http_client {
public:
  // Throws client_error when the options cannot work (no address, no
  // expected node id, a server-side context).
  static std::unique_ptr<http_client> make(client_options opt);
  virtual ~http_client() = default;

  // Sends one request and reads the answer (any status; a 404 is an answer).
  // Connects first when there is no connection. When a kept-alive connection
  // turns out to have been closed by the server before any byte of the answer
  // arrived, reconnects and sends once more. Throws client_error.
  virtual http_response request(const client_request& r) = 0;
  http_response get(const std::string& target) { return request({"GET", target, {}, {}, {}}); }

  // HTTP/1.1 pipelining, for a caller that has its next request ready
  // before the last answer: send() writes a request (connecting first when
  // there is no connection); receive() reads the answer to the oldest one
  // written and, given `next`, writes that meanwhile. The server reads a
  // request only once it has answered the one before, so `next` waits in
  // the socket buffers, already encrypted, while the server works; reading
  // as it is written keeps a large answer from stalling both sides. No
  // retry on a stale connection (an answer may be owed): start a run with
  // request(). Any failure closes the connection, and with it the answers
  // still owed; so does request() on a connection that owes answers, so an
  // answer is never taken for another request's. When the answer was read
  // but `next` could not be written (or the server closed after answering)
  // the answer is returned, the connection is closed and owed() is 0: the
  // caller sends `next` again. Throw client_error.
  virtual void send(const client_request& r) = 0;
  virtual http_response receive(const client_request* next) = 0;
  http_response receive() { return receive(nullptr); }
  // Requests written whose answers have not been read.
  virtual std::size_t owed() const = 0;

  // Who the server's certificate names, while connected.
  virtual const std::optional<pki::identity>& server_identity() const = 0;
  // Connections opened so far (a reconnect counts).
  virtual std::uint64_t connections_made() const = 0;
  // Sends close_notify (best effort) and closes.
  virtual void close() = 0;
  // From any thread: the request under way, and every later one, fails at
  // once with client_error (a node stopping does not wait out a long-poll).
  // The caller keeps the client alive meanwhile.
  virtual void interrupt() = 0;
};

}  // namespace node::net
