// The HTTPS client (see client.hpp). Each step is an async operation run to
// completion on the client's own io_context; the deadline lives in the
// tcp_stream (expires_at), so a silent server costs at most `timeout`.
#include "node/net/client.hpp"

#include <atomic>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "node/net/http_tls.hpp"
#include "node/net/log.hpp"
#include "node/net/tls_stream.hpp"

namespace node::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

// Errors that mean "the server closed this kept-alive connection while it
// sat idle": worth one retry on a fresh connection, if nothing was answered.
bool stale_connection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
}

class client_impl final : public http_client {
public:
  explicit client_impl(client_options opt) : opt_(std::move(opt)) {
    if (opt_.expected_node_id.empty())
      throw client_error("client for " + opt_.address + ": the node id the server must present is not set");
    if (!opt_.tls || opt_.tls->side() != tls_side::client)
      throw client_error("client for " + opt_.address + ": needs a client-side TLS context");
    split_address();
  }
  ~client_impl() override { drop(); }

  http_response request(const client_request& r) override {
    refuse_if_interrupted();
    if (owed_) {
      log::debug("client_reconnect").kv("server", opt_.address).kv("reason", "answers to pipelined requests were not read");
      drop();
    }
    auto deadline = steady::now() + opt_.timeout;
    for (int attempt = 0;; ++attempt) {
      bool reused = stream_.has_value();
      if (!reused) connect(deadline);
      beast::error_code ec;
      bool answered = false;
      auto res = exchange(r, deadline, ec, answered);
      if (!ec) return res;
      auto alert = peer_alert();
      drop();
      if (reused && !answered && attempt == 0 && stale_connection(ec)) {
        log::debug("client_reconnect").kv("server", opt_.address).kv("reason", ec.message());
        continue;
      }
      throw client_error(r.method + " " + path_only(r.target) + " to " + opt_.address + " failed: " + describe(ec) + alert);
    }
  }

  void send(const client_request& r) override {
    refuse_if_interrupted();
    auto deadline = steady::now() + opt_.timeout;
    if (!stream_) connect(deadline);
    if (auto ec = write_request(r, deadline))
      fail_connect(r.method + " " + path_only(r.target) + " to " + opt_.address + " failed: " + describe(ec) + peer_alert());
  }

  http_response receive(const client_request* next) override {
    refuse_if_interrupted();
    if (!owed_ || !stream_) throw client_error("no request to " + opt_.address + " awaits an answer");
    // The write of `next` ends only once the server has answered and read
    // it: each gets the timeout.
    lowest().expires_after(next ? 2 * opt_.timeout : opt_.timeout);
    beast::error_code read_ec = asio::error::operation_aborted, write_ec;
    std::optional<http::request<http::span_body<const char>>> req;
    if (next) {  // one read and one write at once: tls_stream allows it
      req.emplace(to_message(*next));
      http::async_write(*stream_, *req, [&write_ec](beast::error_code ec, std::size_t) { write_ec = ec; });
    }
    http::response_parser<http::string_body> parser;
    limit(parser);
    buffer_.reserve(body_read_step);  // answers can be megabytes (a pull)
    http::async_read(*stream_, buffer_, parser, [&](beast::error_code ec, std::size_t) {
      read_ec = ec;
      if (ec) lowest().cancel();  // no answer: the server will not read `next` either
    });
    if (interrupted_) lowest().cancel();  // as in run_op
    ioc_.restart();
    ioc_.run();  // until both are done
    if (read_ec) fail_connect("reading an answer from " + opt_.address + " failed: " + describe(read_ec) + peer_alert());
    --owed_;
    auto res = to_response(parser);  // drops the connection if the server said close
    if (next && !write_ec && stream_) ++owed_;
    else if (next) drop();  // `next` did not get through: owed() says so, the caller sends it again
    return res;
  }

  std::size_t owed() const override { return owed_; }

  const std::optional<pki::identity>& server_identity() const override { return server_id_; }
  std::uint64_t connections_made() const override { return connections_; }

  void close() override {
    if (stream_) {
      lowest().expires_after(std::chrono::milliseconds(500));
      run_op([&](auto h) { stream_->async_shutdown(std::move(h)); });
    }
    drop();
  }

  // Runs on our io_context, so on the thread using the client: it wakes
  // the run() under way, or the next one.
  void interrupt() override {
    interrupted_ = true;
    asio::post(ioc_, [this] {
      if (stream_) lowest().cancel();
    });
  }

private:
  beast::tcp_stream& lowest() { return stream_->next_layer(); }

  void refuse_if_interrupted() const {
    if (interrupted_) throw client_error("the request to " + opt_.address + " was interrupted: the node is stopping");
  }

  void split_address() {
    const auto& a = opt_.address;
    if (!a.empty() && a[0] == '[') {
      auto close = a.find("]:");
      if (close != std::string::npos) host_ = a.substr(1, close - 1), port_ = a.substr(close + 2);
    } else if (auto colon = a.rfind(':'); colon != std::string::npos) {
      host_ = a.substr(0, colon), port_ = a.substr(colon + 1);
    }
    if (host_.empty() || port_.empty()) throw client_error("client: '" + a + "' is not HOST:PORT");
  }

  // Runs one async operation to completion on our io_context.
  template <class Start>
  beast::error_code run_op(Start&& start) {
    beast::error_code result = asio::error::operation_aborted;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    // An interrupt whose posted cancel ran inside an earlier, already
    // finished step found nothing to cancel: the flag catches it here.
    if (interrupted_) lowest().cancel();
    ioc_.restart();
    ioc_.run();
    return result;
  }

  void connect(steady::time_point deadline) {
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    auto endpoints = resolver.resolve(host_, port_, tcp::resolver::numeric_service, ec);
    if (ec) throw client_error("cannot resolve " + host_ + " (for " + opt_.address + "): " + ec.message());
    stream_.emplace(opt_.tls, ioc_);
    buffer_.clear();
    lowest().expires_at(deadline);
    ec = run_op([&](auto h) { lowest().async_connect(endpoints, std::move(h)); });
    if (ec) return fail_connect("cannot connect to " + opt_.address + ": " + describe(ec));
    lowest().socket().set_option(tcp::no_delay(true), ec);  // as the server does: no wait on delayed ACKs
    ec = run_op([&](auto h) { stream_->async_handshake(std::move(h)); });
    if (ec && answered_plain_http(stream_->native())) {
      drop();
      throw client_error("TLS handshake with " + opt_.address + " failed: the server answered in plain HTTP, not TLS " +
                         "(a plain-HTTP port, such as a node's admin listener)", client_error::kind::plain_http);
    }
    if (ec)
      return fail_connect("TLS handshake with " + opt_.address + " failed: " + describe(ec) +
                          verify_suffix(stream_->native()));
    check_identity();
    ++connections_;
  }

  // Why the server ended the connection, when it said (a fatal alert:
  // "the peer says: unknown CA" when it refused our certificate).
  std::string peer_alert() { return stream_ ? verify_suffix(stream_->native()) : ""; }

  // Also for a failed send or receive: the connection goes with it.
  void fail_connect(const std::string& why) {
    drop();
    throw client_error(why);
  }

  // Beyond the chain (mbedTLS checked it): the certificate must name the
  // node we meant to reach.
  void check_identity() {
    auto checked = check_peer(stream_->native());
    if (!checked.refusal.empty()) return fail_connect("the server at " + opt_.address + " presented a " + checked.refusal);
    if (!checked.id) return fail_connect("the server at " + opt_.address + " presented no certificate");
    if (checked.id->node_id != opt_.expected_node_id)
      return fail_connect("the server at " + opt_.address + " presented a certificate for node '" +
                          checked.id->node_id + "', but node '" + opt_.expected_node_id +
                          "' was expected (check the address and the expected node id, e.g. [upstream].node_id)");
    server_id_ = std::move(checked.id);
  }

  // The body is referenced, not copied: a sync batch is megabytes, and `r`
  // outlives the exchange.
  http::request<http::span_body<const char>> to_message(const client_request& r) const {
    http::request<http::span_body<const char>> req;
    req.method_string(r.method);
    req.target(r.target);
    req.version(11);
    req.set(http::field::host, opt_.address);
    req.set(http::field::user_agent, "credit-node/" CREDIT_NODE_VERSION);
    if (!r.content_type.empty()) req.set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) req.insert(k, v);
    req.body() = {r.body.data(), r.body.size()};
    req.prepare_payload();  // HTTP/1.1 is keep-alive unless the caller said Connection: close
    return req;
  }

  http_response exchange(const client_request& r, steady::time_point deadline, beast::error_code& ec, bool& answered) {
    ec = write_request(r, deadline);
    if (ec) return {};
    http::response_parser<http::string_body> parser;
    limit(parser);
    buffer_.reserve(body_read_step);  // answers can be megabytes (a pull)
    ec = run_op([&](auto h) { http::async_read(*stream_, buffer_, parser, std::move(h)); });
    answered = parser.got_some();
    if (ec) return {};
    --owed_;
    return to_response(parser);
  }

  // One request onto the open connection; its answer is owed from then on.
  beast::error_code write_request(const client_request& r, steady::time_point deadline) {
    auto req = to_message(r);
    lowest().expires_at(deadline);
    auto ec = run_op([&](auto h) { http::async_write(*stream_, req, std::move(h)); });
    if (!ec) ++owed_;
    return ec;
  }

  void limit(http::response_parser<http::string_body>& parser) const {
    parser.header_limit(64 * 1024);
    parser.body_limit(opt_.body_limit);
  }

  http_response to_response(http::response_parser<http::string_body>& parser) {
    auto& msg = parser.get();
    http_response out;
    out.status = static_cast<int>(msg.result_int());
    out.content_type = std::string(msg[http::field::content_type]);
    for (const auto& f : msg) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(msg.body());
    if (!msg.keep_alive()) drop();
    return out;
  }

  std::string describe(const beast::error_code& ec) const {
    if (ec == beast::error::timeout) return "no answer within " + std::to_string(opt_.timeout.count()) + " ms";
    if (interrupted_) return "interrupted: the node is stopping";
    return ec.message();
  }

  static std::string path_only(const std::string& target) { return target.substr(0, target.find('?')); }

  void drop() {
    owed_ = 0;
    stream_.reset();
    server_id_.reset();
    buffer_.clear();
  }

  client_options opt_;
  std::string host_, port_;
  asio::io_context ioc_;
  std::optional<tls_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_{read_buffer_max};  // a chunk line or trailer cannot grow it without end
  std::optional<pki::identity> server_id_;
  std::uint64_t connections_ = 0;
  std::size_t owed_ = 0;  // requests written whose answers are not read yet
  std::atomic<bool> interrupted_{false};
};

}  // namespace

std::unique_ptr<http_client> http_client::make(client_options opt) {
  return std::make_unique<client_impl>(std::move(opt));
}

}  // namespace node::net
