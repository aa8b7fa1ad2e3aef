// Private to server.cpp (the one translation unit that instantiates Beast's
// HTTP server code): the state shared by a server and its connections, and
// the connection itself — TLS handshake, keep-alive request loop, limits,
// timeouts and lingering close. Modelled on Beast's server-flex example.
#pragma once

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "node/net/http_tls.hpp"
#include "node/net/log.hpp"
#include "node/net/server.hpp"
#include "node/net/tls_stream.hpp"

namespace node::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using tls_tcp_stream = tls_stream<beast::tcp_stream>;

// What a graceful stop needs from a connection, whatever its stream type.
class session_base {
public:
  virtual ~session_base() = default;
  virtual void notify_shutdown() = 0;  // close when idle, else after this response
  virtual void force_close() = 0;      // the deadline passed
};

// Shared by the server and every connection; lives as long as the last of
// them (connections may outlive the server object inside io_context teardown).
struct server_core {
  server_options opt;
  std::atomic<bool> stopping{false};

  std::uint64_t enroll(std::weak_ptr<session_base> s);
  void leave(std::uint64_t id);
  std::vector<std::shared_ptr<session_base>> live();
  std::size_t count();

private:
  std::mutex mu_;
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<session_base>> sessions_;
};

// Open connections per key (a client address, a certificate's node id),
// each key at most `max` at once.
class slot_counter {
public:
  bool take(const std::string& key, std::size_t max) {
    std::lock_guard lk(mu_);
    auto& n = held_[key];
    if (n >= max) return false;
    return ++n, true;
  }
  void release(const std::string& key) {
    std::lock_guard lk(mu_);
    if (auto it = held_.find(key); it != held_.end() && --it->second == 0) held_.erase(it);
  }

private:
  std::mutex mu_;
  std::unordered_map<std::string, std::size_t> held_;
};

// One listener's configuration and counters (read by stats() from any thread).
struct listener_state {
  explicit listener_state(listener_config c) : cfg(std::move(c)) {}
  listener_config cfg;
  std::string bound;  // "HOST:PORT" actually bound
  std::atomic<std::uint64_t> active{0}, accepted{0}, refused{0}, tls_failures{0};
  std::mutex counts_mu;
  std::map<std::pair<std::string, int>, std::uint64_t> by_endpoint;  // (route, status) → answers
  slot_counter by_address;  // per client address (max_per_address)
  slot_counter by_peer;     // per certificate node id, after the handshake (max_per_peer)
  bool take_address(const std::string& ip) { return by_address.take(ip, cfg.max_per_address); }
  void release_address(const std::string& ip) { by_address.release(ip); }
  bool take_peer(const std::string& node_id) { return by_peer.take(node_id, cfg.max_per_peer); }
  void release_peer(const std::string& node_id) { by_peer.release(node_id); }

  // Refusals before any route (413, 431, 400 from the HTTP layer) count as "(http)".
  void count(const std::string& endpoint, int status) {
    std::lock_guard lk(counts_mu);
    ++by_endpoint[{endpoint.empty() ? "(http)" : endpoint, status}];
  }
};

// Plain-struct request/response to and from Beast's messages (server.cpp).
http_request to_request(http::request<http::string_body>& msg);
void to_message(http_response&& r, unsigned version, bool keep_alive, bool head,
                http::response<http::string_body>& out);
// Calls the router; a throwing handler becomes 500 and an error line.
http_response dispatch_guarded(const listener_state& l, http_request& req);
// A handshake failure as an operator reads it.
std::string describe_tls_failure(const beast::error_code& ec, mbedtls_ssl_context& ssl, const server_options& opt);

template <class Stream>
class session final : public session_base, public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool is_tls = std::is_same_v<Stream, tls_tcp_stream>;
  enum class phase { handshake, reading, handling, writing, closing };
  static constexpr std::size_t linger_cap = 8u << 20;  // bytes drained at most before closing

public:
  template <class... StreamArgs>
  session(std::shared_ptr<server_core> core, std::shared_ptr<listener_state> l, std::string remote,
          StreamArgs&&... args)
      : core_(std::move(core)), lst_(std::move(l)), remote_(std::move(remote)),
        stream_(std::forward<StreamArgs>(args)...), answer_timer_(stream_.get_executor()) {
    lst_->active++;
  }
  ~session() override {
    core_->leave(id_);
    lst_->active--;
    if (!address_.empty()) lst_->release_address(address_);
    if (peer_counted_) lst_->release_peer(peer_->node_id);
  }
  std::string address_;  // the client's address, counted in listener_state::by_address (set by the acceptor)

  void start() {
    id_ = core_->enroll(this->weak_from_this());
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::on_start, this->shared_from_this()));
  }
  void notify_shutdown() override {
    asio::post(stream_.get_executor(), beast::bind_front_handler(&session::on_stop_notice, this->shared_from_this()));
  }
  void force_close() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close_now(); });
  }

private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const server_options& opt() const { return core_->opt; }
  auto self() { return this->shared_from_this(); }

  void on_start() {
    if (core_->stopping) return close_now();  // accepted just as the stop began
    if constexpr (is_tls) {
      phase_ = phase::handshake;
      lowest().expires_after(opt().handshake_timeout);
      stream_.async_handshake(beast::bind_front_handler(&session::on_handshake, self()));
    } else {
      do_read();
    }
  }

  void on_handshake(beast::error_code ec, std::size_t) {
    if constexpr (is_tls) {
      if (ec && phase_ == phase::closing) return;  // we closed it (stop), not a TLS failure
      // No certificate on a listener that requires one: mbedTLS 2.28 closes
      // without an alert, and the client (openssl, curl) sees only an EOF.
      if (ec.category() == tls_category() && ec.value() == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) {
        refusal_alert_ = MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE;
        return refuse_with_alert(describe_tls_failure(ec, stream_.native(), opt()));
      }
      if (ec) return refuse(describe_tls_failure(ec, stream_.native(), opt()));
      if (auto why = take_peer_identity(); !why.empty()) return refuse_with_alert(why);
      if (peer_ && lst_->cfg.max_per_peer) (lst_->take_peer(peer_->node_id) ? peer_counted_ : over_peer_limit_) = true;
      log::debug("tls_established")
          .kv("listener", lst_->cfg.name)
          .kv("remote", remote_)
          .kv("peer", peer_ ? peer_->node_id : std::string("-"))
          .kv("role", peer_ ? peer_->role : std::string("-"));
      do_read();
    }
  }

  // "" when the peer is acceptable (it may have shown no certificate at all
  // on an optional listener); else why not.
  std::string take_peer_identity() {
    if constexpr (is_tls) {
      auto checked = check_peer(stream_.native());
      refusal_alert_ = checked.alert;
      if (!checked.refusal.empty()) return "client " + checked.refusal;
      peer_ = std::move(checked.id);
    }
    return "";
  }

  void refuse(const std::string& reason) {
    lst_->tls_failures++;
    log::warn("tls_handshake_failed").kv("listener", lst_->cfg.name).kv("remote", remote_).kv("reason", reason);
    close_now();
  }

  // A certificate mbedTLS let through (optional client authentication) but
  // we refuse, or none where one is required: the peer hears why (unknown
  // CA, revoked, expired, handshake failure) rather than a bare close,
  // within the handshake's time limit.
  void refuse_with_alert(const std::string& reason) {
    if constexpr (is_tls) {
      lst_->tls_failures++;
      log::warn("tls_handshake_failed").kv("listener", lst_->cfg.name).kv("remote", remote_).kv("reason", reason);
      phase_ = phase::closing;
      // Then a lingering close, as after close_notify: closing with the
      // client's first request unread would reset the alert away.
      stream_.async_fatal_alert(refusal_alert_, [self = self()](beast::error_code ec, std::size_t) {
        self->lowest().expires_after(self->opt().linger_timeout);
        self->on_shutdown(ec, 0);
      });
    }
  }

  void do_read() {
    if (close_after_ || core_->stopping) return do_close();
    phase_ = phase::reading;
    // A large message's buffers go back between messages: a child's
    // long-poll connection may stay open for days.
    if constexpr (requires { stream_.release_buffers(); }) stream_.release_buffers();
    if (buffer_.size() == 0 && buffer_.capacity() > body_read_step / 4) buffer_.shrink_to_fit();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opt().header_limit));
    limit_ = lst_->cfg.body_limit;
    parser_->body_limit(limit_);
    lowest().expires_after(opt().read_timeout);
    http::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_header, self()));
  }

  // Framing is settled before the body is read: a Transfer-Encoding that
  // does not end in chunked leaves the body's length unknown, and reading
  // it as the next request would let one request hide another (RFC 9112
  // 6.3); an HTTP/1.1 request names its Host once. A client that asked to
  // hear "100 Continue" before sending its body hears it.
  void on_header(beast::error_code ec, std::size_t n) {
    if (ec) return on_read(ec, n);
    if (over_peer_limit_) {
      // Dropped up to its declared length (as refused_before_body does), so
      // the refusal is read rather than reset.
      if (auto length = parser_->content_length(); length && *length <= lst_->cfg.body_limit)
        linger_cap_ = std::max<std::size_t>(linger_cap, *length + buffer_.size() + 65536);
      return reply_error(429, "too_many_connections", "this " + lst_->cfg.name + " listener already holds " +
                                                          std::to_string(lst_->cfg.max_per_peer) + " connections from " +
                                                          peer_->node_id + ": close one, or wait for an idle one to time out");
    }
    const auto& h = parser_->get();
    if (h.version() == 11 && h.count(http::field::host) != 1)
      return reply_error(400, "bad_request", "an HTTP/1.1 request names its Host exactly once (it named it " +
                                                 std::to_string(h.count(http::field::host)) + " times)");
    if (h.count(http::field::transfer_encoding) > 0) {
      std::string all;  // every Transfer-Encoding field, as one list
      for (auto f = h.find(http::field::transfer_encoding); f != h.end() && f->name() == http::field::transfer_encoding; ++f)
        all += (all.empty() ? "" : ", ") + std::string(trimmed(f->value()));
      if (!beast::iequals(all, "chunked")) {
        auto sent = "Transfer-Encoding '" + all.substr(0, 100) + "'";
        if (parser_->chunked()) return reply_error(501, "not_implemented", sent + ": only chunked, once, is supported");
        return reply_error(400, "bad_request", sent + " does not end in chunked, so the body's length is unknown: send Content-Length or chunked");
      }
    }
    if (refused_before_body()) return;
    bool wants_continue = h.version() == 11 && beast::iequals(trimmed(h[http::field::expect]), "100-continue");
    if (parser_->is_done()) return on_read({}, 0);
    if (!wants_continue) return read_body();
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    lowest().expires_after(opt().write_timeout);
    asio::async_write(stream_, asio::buffer(go_on.data(), go_on.size()), [self = self()](beast::error_code wec, std::size_t) {
      if (wec) return self->fail(wec, "write");
      self->read_body();
    });
  }

  // The listener's look at the request before its body (before_body): a
  // refusal, or a body declared over this request's limit, is answered
  // with the body unread; a chunked one is cut off at the limit.
  bool refused_before_body() {
    if (!lst_->cfg.before_body) return false;
    http_request head = to_request(parser_->get());
    head.body.clear();
    head.remote = remote_;
    head.listener = lst_->cfg.name;
    head.peer = peer_;
    std::size_t limit = lst_->cfg.body_limit;
    std::optional<http_response> refusal;
    try {
      refusal = lst_->cfg.before_body(head, limit);
    } catch (const std::exception& e) {
      log::error("handler_failed").kv("listener", lst_->cfg.name).kv("path", head.path).kv("reason", e.what());
      refusal = http_response::error(500, "internal", "the server failed to answer this request; the node log has the details");
    }
    if (!refusal) {
      auto length = parser_->content_length();
      if (!length || *length <= limit) {
        parser_->body_limit(limit_ = limit);
        return false;
      }
      refusal = http_response::error(413, "body_too_large", "request body of " + std::to_string(*length) + " bytes exceeds " +
                                                                std::to_string(limit) + " for " + head.method + " " + head.path);
    }
    log::info("request_refused").kv("listener", lst_->cfg.name).kv("remote", remote_).kv("status", refusal->status)
        .kv("path", head.path);
    // The client writes its whole body before it reads: drop up to what it
    // declared (within the listener's limit) so the refusal is read, not reset.
    if (auto length = parser_->content_length(); length && *length <= lst_->cfg.body_limit)
      linger_cap_ = std::max<std::size_t>(linger_cap, *length + buffer_.size() + 65536);
    if (refusal->endpoint.empty()) refusal->endpoint = "(http)";
    send(std::move(*refusal), 11, false, false);
    return true;
  }

  void read_body() {
    auto length = parser_->content_length();
    if (!length || *length > body_read_step / 4) buffer_.reserve(body_read_step);
    lowest().expires_after(opt().read_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, self()));
  }

  static std::string_view trimmed(boost::beast::string_view v) {
    std::string_view s(v.data(), v.size());
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return do_close();
    if (ec == http::error::header_limit)
      return reply_error(431, "header_too_large",
                         "request line and headers exceed " + std::to_string(opt().header_limit) + " bytes");
    if (ec == http::error::buffer_overflow)
      return reply_error(400, "bad_request", "a chunk's size line or the trailer is longer than " +
                                                 std::to_string(read_buffer_max / 1024) + " KiB");
    if (ec == http::error::body_limit)
      return refuse_request(413, "body_too_large",
                         "request body exceeds " + std::to_string(limit_) + " bytes on the " +
                             lst_->cfg.name + " listener");
    if (ec && ec != http::error::partial_message && ec.category() == http::make_error_code(http::error::bad_method).category())
      return reply_error(400, "bad_request", "malformed HTTP request: " + ec.message());
    if (ec) return fail(ec, "read");
    handle();
  }

  void handle() {
    phase_ = phase::handling;
    auto& msg = parser_->get();
    bool head = msg.method() == http::verb::head;
    bool keep = msg.keep_alive();
    unsigned version = msg.version();
    auto started = std::chrono::steady_clock::now();
    http_request req = to_request(msg);
    req.remote = remote_;
    req.listener = lst_->cfg.name;
    req.peer = peer_;
    http_response res = dispatch_guarded(*lst_, req);
    bool last = !keep || close_after_ || core_->stopping;
    respond(std::move(req), std::move(res), started, version, last, head);
  }

  // A refusal with the header read: the listener's on_refusal sees it (and
  // may defer the answer, as a handler may); then the connection closes.
  void refuse_request(int status, const char* code, const std::string& detail) {
    // Only called for body_limit, which Beast raises once the request line
    // and fields are in the message (is_header_done() is still false then).
    if (!lst_->cfg.on_refusal) return reply_error(status, code, detail);
    log::info("request_refused").kv("listener", lst_->cfg.name).kv("remote", remote_).kv("status", status).kv("reason", detail);
    phase_ = phase::handling;
    close_after_ = true;
    auto started = std::chrono::steady_clock::now();
    http_request req = to_request(parser_->get());
    req.body.clear();  // what was read of it: not the caller's to see
    req.remote = remote_;
    req.listener = lst_->cfg.name;
    req.peer = peer_;
    http_response res;
    try {
      res = lst_->cfg.on_refusal(req, http_response::error(status, code, detail));
    } catch (const std::exception& e) {
      log::error("handler_failed").kv("listener", lst_->cfg.name).kv("path", req.path).kv("reason", e.what());
      res = http_response::error(status, code, detail);
    }
    if (res.endpoint.empty()) res.endpoint = "(http)";
    respond(std::move(req), std::move(res), started, 11, true, false);
  }

  void respond(http_request req, http_response res, std::chrono::steady_clock::time_point started, unsigned version,
               bool last, bool head) {
    if (res.later) {
      // Answered later, from another thread: posted back to the thread
      // that runs this session's context. `done` acts once; a second call finds `self` gone. The
      // body is not kept for that: only the log line needs the request.
      req.body = {};
      req.headers = {};
      http_request named;  // what the failure path below logs, if `later` throws
      named.method = req.method;
      named.path = req.path;
      auto later = std::move(res.later);
      // Whichever comes first, the answer or the timeout, is sent; the
      // other finds `settled` set and does nothing.
      auto settled = std::make_shared<std::atomic<bool>>(false);
      wait_for_answer(settled, named, res.endpoint, started, version, head);
      try {
        // Weak: the pending timer keeps the session alive until the answer
        // or the timeout; after a timeout the closed session is freed (its
        // connection slot too) although the late answer is still queued.
        later([weak = this->weak_from_this(), req = std::move(req), started, version, last, head,
               endpoint = std::move(res.endpoint), settled, lst = lst_->cfg.name](http_response r) mutable {
          if (late(*settled, lst, req, r.status)) return;
          auto self = weak.lock();
          if (!self) return;
          if (r.endpoint.empty()) r.endpoint = std::move(endpoint);
          auto ex = self->stream_.get_executor();
          asio::post(ex, [self = std::move(self), req = std::move(req), r = std::move(r), started, version, last, head]() mutable {
            self->finish(req, std::move(r), started, version, last, head);
          });
        });
      } catch (const std::exception& e) {
        log::error("handler_failed").kv("listener", lst_->cfg.name).kv("path", named.path).kv("reason", e.what());
        if (settled->exchange(true)) return;  // answered before it threw
        finish(named, http_response::error(500, "internal", "the server failed to answer this request; the node log has the details"),
               started, version, last, head);
      }
      return;
    }
    finish(req, std::move(res), started, version, last, head);
  }

  // Whether the 503 timeout went first: what the request came to is then
  // only logged (a write may have committed: the 503 told the client so).
  static bool late(std::atomic<bool>& settled, const std::string& lst, const http_request& req, int status) {
    if (!settled.exchange(true)) return false;
    log::warn("answer_after_timeout").kv("listener", lst).kv("method", req.method).kv("path", req.path)
        .kv("status", std::to_string(status));
    return true;
  }

  void wait_for_answer(std::shared_ptr<std::atomic<bool>> settled, const http_request& named, const std::string& endpoint,
                       std::chrono::steady_clock::time_point started, unsigned version, bool head) {
    answer_timer_.expires_after(opt().answer_timeout);
    answer_timer_.async_wait([self = self(), settled, method = named.method, path = named.path, endpoint, started, version,
                              head](beast::error_code ec) {
      if (ec || settled->exchange(true)) return;  // answered (and the timer cancelled), or stopping
      auto s = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(self->opt().answer_timeout).count());
      log::error("answer_timeout").kv("listener", self->lst_->cfg.name).kv("method", method).kv("path", path).kv("after_s", s);
      http_request named;
      named.method = method;
      named.path = path;
      self->close_after_ = true;  // the late answer will not come on this connection
      // Not "retry": a write (a consent, a loan) may still commit when the
      // wait ends, and sending it again would make a second one.
      auto res = http_response::error(
          503, "timeout", "the answer was not ready within " + s + " s (a commit or a wait that did not end); " +
          (method == "GET" || method == "HEAD"
               ? std::string("retry, and if it persists the node's log says what it waited on")
               : std::string("the request may still take effect when the wait ends (the node's log then says "
                             "answer_after_timeout with its status): check whether it did before sending it again")));
      res.endpoint = endpoint;
      self->finish(named, std::move(res), started, version, true, head);
    });
  }

  void finish(const http_request& req, http_response res, std::chrono::steady_clock::time_point started,
              unsigned version, bool last, bool head) {
    answer_timer_.cancel();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    log::debug("request")
        .kv("listener", lst_->cfg.name)
        .kv("remote", remote_)
        .kv("peer", peer_ ? peer_->node_id : std::string("-"))
        .kv("method", req.method)
        .kv("path", req.path)
        .kv("status", res.status)
        .kv("ms", static_cast<long long>(ms.count()));
    send(std::move(res), version, !last && !close_after_ && !core_->stopping, head);
  }

  // 413, 431, 400: answer, then close (the rest of the request is unread).
  void reply_error(int status, const char* code, const std::string& detail) {
    log::info("request_refused")
        .kv("listener", lst_->cfg.name)
        .kv("remote", remote_)
        .kv("status", status)
        .kv("reason", detail);
    send(http_response::error(status, code, detail), 11, false, false);
  }

  void send(http_response&& res, unsigned version, bool keep, bool head) {
    lst_->count(res.endpoint, res.status);
    res.headers.insert(res.headers.end(), lst_->cfg.response_headers.begin(), lst_->cfg.response_headers.end());
    close_after_ = close_after_ || !keep;
    to_message(std::move(res), version, keep, head, res_);
    phase_ = phase::writing;
    lowest().expires_after(opt().write_timeout);
    http::async_write(stream_, res_, beast::bind_front_handler(&session::on_write, self()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return fail(ec, "write");
    do_read();  // or close, when this was the last response
  }

  // Lingering close: close_notify, FIN, then read and drop whatever the
  // client still sends (the body of a refused upload, say) until it closes
  // or linger_timeout passes. Closing with unread input would send a reset
  // that can destroy our last response before the client reads it.
  void do_close() {
    phase_ = phase::closing;
    lowest().expires_after(opt().linger_timeout);
    if constexpr (is_tls)
      stream_.async_shutdown(beast::bind_front_handler(&session::on_shutdown, self()));
    else
      on_shutdown({}, 0);
  }

  void on_shutdown(beast::error_code ec, std::size_t) {
    if (ec) return close_now();
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close_now();
    do_drain();
  }

  void do_drain() {
    lowest().async_read_some(asio::buffer(drain_), [self = self()](beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > self->linger_cap_) return self->close_now();
      self->do_drain();
    });
  }

  void on_stop_notice() {
    switch (phase_) {
      case phase::handshake: return close_now();
      case phase::reading:
        if (buffer_.size() == 0 && !(parser_ && parser_->got_some())) return close_now();  // idle keep-alive
        close_after_ = true;
        return;
      case phase::handling:
      case phase::writing: close_after_ = true; return;
      case phase::closing: return;
    }
  }

  void close_now() {
    phase_ = phase::closing;
    answer_timer_.cancel();  // a forced stop does not wait out an answer's timeout
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  // Routine endings (peer went away, idle timeout, our own close) are debug;
  // anything else is worth a warning.
  void fail(beast::error_code ec, const char* what) {
    if (ec == asio::error::operation_aborted) return;
    bool routine = ec == beast::error::timeout || ec == asio::error::eof || ec == asio::error::connection_reset ||
                   ec == asio::error::broken_pipe || ec == http::error::partial_message ||
                   ec == asio::error::bad_descriptor;
    log::line(routine ? log::level::debug : log::level::warn, "connection_error")
        .kv("listener", lst_->cfg.name)
        .kv("remote", remote_)
        .kv("op", what)
        .kv("reason", ec.message());
  }

  std::shared_ptr<server_core> core_;
  std::shared_ptr<listener_state> lst_;
  std::string remote_;
  Stream stream_;
  asio::steady_timer answer_timer_;  // bounds a deferred answer (answer_timeout)
  std::uint64_t id_ = 0;
  phase phase_ = phase::reading;
  bool close_after_ = false;
  std::optional<pki::identity> peer_;
  bool peer_counted_ = false, over_peer_limit_ = false;  // listener_config::max_per_peer
  unsigned char refusal_alert_ = 0;  // the TLS alert a refused certificate hears
  beast::flat_buffer buffer_{read_buffer_max};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::size_t limit_ = 0;  // this request's body limit (the listener's, or what before_body set)
  http::response<http::string_body> res_;
  std::array<char, 4096> drain_{};
  std::size_t drained_ = 0;
  std::size_t linger_cap_ = linger_cap;  // raised to a refused body's declared length
};

}  // namespace node::net::detail
