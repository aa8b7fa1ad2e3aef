// The HTTP server: listeners, the connection registry a graceful stop
// walks, and the conversions between Beast messages and plain structs.
// The only translation unit that instantiates Beast's server code (for two
// stream types: TLS and plain), so it is the slow one to compile.
#include "node/net/server.hpp"

#include "node/net/client_address.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <ctime>
#include <thread>

#include "node/net/server_session.hpp"

namespace node::net {
namespace detail {

std::uint64_t server_core::enroll(std::weak_ptr<session_base> s) {
  std::lock_guard lk(mu_);
  sessions_.emplace(++next_id_, std::move(s));
  return next_id_;
}

void server_core::leave(std::uint64_t id) {
  std::lock_guard lk(mu_);
  sessions_.erase(id);
}

std::vector<std::shared_ptr<session_base>> server_core::live() {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<session_base>> out;
  for (auto& [_, w] : sessions_)
    if (auto s = w.lock()) out.push_back(std::move(s));
  return out;
}

std::size_t server_core::count() {
  std::lock_guard lk(mu_);
  return sessions_.size();
}

// The path as routes name it: an absolute-form target ("https://host/p",
// which a server must accept) loses its scheme and authority, and %XX is
// decoded — except an encoded "/" or NUL, which would change the path's
// segments: such a path stays as sent (and routes nowhere).
std::string origin_path(std::string p) {
  for (std::string_view scheme : {"https://", "http://"})
    if (p.size() >= scheme.size() && boost::beast::iequals(std::string_view(p).substr(0, scheme.size()), scheme)) {
      auto slash = p.find('/', scheme.size());
      p = slash == std::string::npos ? "/" : p.substr(slash);
    }
  if (p.find('%') == std::string::npos) return p;
  auto decoded = percent_decode(p, false);
  bool same_segments = decoded && std::count(decoded->begin(), decoded->end(), '/') == std::count(p.begin(), p.end(), '/');
  return same_segments && decoded->find('\0') == std::string::npos ? *decoded : p;
}

http_request to_request(http::request<http::string_body>& msg) {
  http_request q;
  q.method = std::string(msg.method_string());
  q.target = std::string(msg.target());
  auto qm = q.target.find('?');
  q.path = origin_path(q.target.substr(0, qm));
  if (qm != std::string::npos) q.query = q.target.substr(qm + 1);
  for (const auto& f : msg) q.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  q.body = std::move(msg.body());
  return q;
}

// RFC 9110 6.6.1: an origin server with a clock sends Date. Formatted
// once a second per thread, not per answer.
const std::string& http_date() {
  thread_local std::time_t shown = 0;
  thread_local std::string text;
  std::time_t now = std::time(nullptr);
  if (now != shown) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[40];
    text.assign(buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm));
    shown = now;
  }
  return text;
}

void to_message(http_response&& r, unsigned version, bool keep_alive, bool head,
                http::response<http::string_body>& out) {
  out = {};
  out.version(version);
  out.result(r.status >= 100 && r.status <= 599 ? static_cast<unsigned>(r.status) : 500u);
  out.set(http::field::server, "credit-node");
  out.set(http::field::date, http_date());
  if (!r.content_type.empty()) out.set(http::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) out.insert(k, v);
  // prepare_payload() throws on a body where HTTP forbids one; a handler's
  // slip must not escape a completion handler.
  bool bodyless = out.result_int() / 100 == 1 || out.result_int() == 204 || out.result_int() == 304;
  if (!bodyless) out.body() = std::move(r.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  if (head) out.body().clear();  // Content-Length still says what GET would send
}

http_response dispatch_guarded(const listener_state& l, http_request& req) {
  try {
    return l.cfg.router.dispatch(req);
  } catch (const std::exception& e) {
    log::error("handler_failed").kv("listener", l.cfg.name).kv("method", req.method).kv("path", req.path).kv("reason", e.what());
  } catch (...) {
    log::error("handler_failed").kv("listener", l.cfg.name).kv("method", req.method).kv("path", req.path).kv("reason", "unknown exception");
  }
  auto r = http_response::error(500, "internal", "the server failed to answer this request; the node log has the details");
  r.endpoint = l.cfg.router.endpoint_for(req.path);  // counted where it failed
  return r;
}

std::string describe_tls_failure(const beast::error_code& ec, mbedtls_ssl_context& ssl, const server_options& opt) {
  if (ec == beast::error::timeout)
    return "no TLS handshake within " + std::to_string(opt.handshake_timeout.count()) + " ms";
  if (ec == asio::error::eof || ec == asio::error::connection_reset)
    return "the client closed the connection during the TLS handshake (" + ec.message() + ")";
  return ec.message() + verify_suffix(ssl);
}

}  // namespace detail

namespace {

using namespace detail;

std::string endpoint_text(const tcp::endpoint& ep) {
  auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

// "HOST:PORT" or "[V6]:PORT" (the forms config.cpp accepts).
std::pair<std::string, std::string> split_host_port(const std::string& s, const std::string& name) {
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find("]:");
    if (close != std::string::npos) host = s.substr(1, close - 1), port = s.substr(close + 2);
  } else if (auto colon = s.rfind(':'); colon != std::string::npos) {
    host = s.substr(0, colon), port = s.substr(colon + 1);
  }
  if (host.empty() || port.empty())
    throw listen_error("the " + name + " listener address '" + s + "' is not HOST:PORT (set [listen]." + name + ")");
  return {host, port};
}

// One io_context per I/O thread, each run by that thread alone (run()
// below; nothing else may call run() on them): a connection lives on one of
// them, dealt round-robin, and needs no strand — its handlers cannot run at
// once, and other threads reach it only by posting. With one context run
// by every thread, each handler took the context's shared lock and idle
// threads were woken through a condition variable: bench/api.sh counted
// 2 futex calls and 0.8 context switches per answer (nginx, whose workers
// share nothing: 0 and 0.35).
struct context_pool {
  std::vector<asio::io_context*> all;  // all[0]: the server's own (acceptors, signals, stop)
  std::atomic<std::size_t> next{0};
  asio::io_context& pick() { return *all[next.fetch_add(1, std::memory_order_relaxed) % all.size()]; }
};

class listener : public std::enable_shared_from_this<listener> {
public:
  listener(asio::io_context& ioc, context_pool& pool, std::shared_ptr<server_core> core, std::shared_ptr<listener_state> st)
      : pool_(pool), core_(std::move(core)), st_(std::move(st)), acceptor_(asio::make_strand(ioc)),
        retry_(acceptor_.get_executor()) {}

  // Throws listen_error naming the listener, the address and what to do.
  void open(const tcp::endpoint& ep) {
    beast::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) st_->bound = endpoint_text(acceptor_.local_endpoint(ec));
    if (!ec) return;
    std::string hint = ec == asio::error::address_in_use
                           ? "another process holds that port (another credit-node?); stop it or change [listen]." + st_->cfg.name
                           : "check [listen]." + st_->cfg.name;
    throw listen_error("cannot listen on " + st_->cfg.address + " for the " + st_->cfg.name +
                       " listener: " + ec.message() + " — " + hint);
  }

  void start() { asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); }); }

  void close() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

private:
  void do_accept() {
    if (!acceptor_.is_open()) return;
    // No strand: each context is run by one thread, which already keeps a
    // connection's handlers in turn (a strand cost its lock, queue and
    // type-erased copies on every handler).
    acceptor_.async_accept(pool_.pick().get_executor(), beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors, say: wait a little instead of spinning.
      log::warn("accept_failed").kv("listener", st_->cfg.name).kv("reason", ec.message());
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([self = shared_from_this()](beast::error_code e) { if (!e) self->do_accept(); });
      return;
    }
    admit(std::move(socket));
    do_accept();
  }

  // The session gives its address back when it ends; made, it owns it.
  template <class Session>
  void start(std::shared_ptr<Session> s, const std::string& ip, bool& handed) {
    s->address_ = ip;
    handed = true;
    s->start();
  }

  void admit(tcp::socket socket) {
    beast::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    std::string remote = ec ? std::string("unknown") : endpoint_text(ep);
    std::string ip = ec ? remote : client_of(ep.address());
    bool full = st_->active >= st_->cfg.max_connections;
    if (full || !st_->take_address(ip)) {
      st_->refused++;
      log::warn("connection_refused").kv("listener", st_->cfg.name).kv("remote", remote)
          .kv("reason", full ? "too many connections (max " + std::to_string(st_->cfg.max_connections) + ")"
                             : "too many connections from " + ip + " (max " + std::to_string(st_->cfg.max_per_address) +
                                   " per address)");
      socket.close(ec);
      return;
    }
    st_->accepted++;
    // An answer goes out as several writes (TLS records, headers then
    // body): with Nagle's algorithm the later ones wait for the peer's
    // delayed ACK, milliseconds each time. Latency matters more here.
    socket.set_option(tcp::no_delay(true), ec);
    bool handed = false;
    try {
      if (st_->cfg.tls) start(std::make_shared<session<tls_tcp_stream>>(core_, st_, remote, st_->cfg.tls, std::move(socket)), ip, handed);
      else start(std::make_shared<session<beast::tcp_stream>>(core_, st_, remote, std::move(socket)), ip, handed);
    } catch (const std::exception& e) {
      if (!handed) st_->release_address(ip);  // no session was made to give it back
      log::error("session_failed").kv("listener", st_->cfg.name).kv("remote", remote).kv("reason", e.what());
    }
  }

  context_pool& pool_;
  std::shared_ptr<server_core> core_;
  std::shared_ptr<listener_state> st_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
};

class server_impl final : public server {
public:
  explicit server_impl(const server_options& opt)
      : core_(std::make_shared<server_core>()), strand_(asio::make_strand(ioc_)), drain_timer_(strand_) {
    core_->opt = opt;
    pool_.all.push_back(&ioc_);
  }

  std::string add_listener(listener_config cfg) override {
    auto [host, port] = split_host_port(cfg.address, cfg.name);
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    auto found = resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || found.empty())
      throw listen_error("cannot listen on " + cfg.address + " for the " + cfg.name + " listener: " +
                         (ec ? ec.message() : std::string("no such address")) + " — check [listen]." + cfg.name);
    auto st = std::make_shared<listener_state>(std::move(cfg));
    auto l = std::make_shared<listener>(ioc_, pool_, core_, st);
    l->open(found.begin()->endpoint());
    log::info("listen").kv("listener", st->cfg.name).kv("addr", st->bound).kv("tls", st->cfg.tls != nullptr);
    l->start();
    listeners_.push_back(std::move(l));
    states_.push_back(std::move(st));
    return states_.back()->bound;
  }

  void stop_on_signals() override {
    signals_.emplace(strand_, SIGINT, SIGTERM);
    signals_->async_wait([this](beast::error_code ec, int sig) {
      if (ec) return;
      log::info("signal").kv("signal", sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "other");
      begin_stop();
    });
  }

  void on_reload(std::function<void()> fn) override {
    reload_ = std::move(fn);
    hup_.emplace(strand_, SIGHUP);
    wait_hup();
  }
  void wait_hup() {
    hup_->async_wait([this](beast::error_code ec, int) {
      if (ec) return;
      log::info("signal").kv("signal", "SIGHUP");
      try {
        reload_();
      } catch (const std::exception& e) {
        log::error("reload_failed").kv("reason", e.what());
      }
      wait_hup();
    });
  }

  void on_stop(std::function<void()> fn) override { on_stop_ = std::move(fn); }

  // Thread 0 (the caller) runs the server's own context; each further
  // thread a context of its own, kept alive by a guard until the server's
  // own has drained every connection.
  bool run(unsigned threads, milliseconds limit) override {
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) {
      extra_.push_back(std::make_unique<asio::io_context>(1));
      pool_.all.push_back(extra_.back().get());
      guards.push_back(asio::make_work_guard(*extra_.back()));
    }
    for (auto& c : extra_) pool.emplace_back([c = c.get()] { c->run(); });
    bool drained = true;
    if (limit.count() > 0) {
      ioc_.run_for(limit);
      if (!ioc_.stopped()) {
        drained = false;
        log::warn("run_limit_reached").kv("limit_ms", static_cast<long long>(limit.count()));
        ioc_.stop();
        for (auto& c : extra_) c->stop();
      }
    } else {
      ioc_.run();
    }
    guards.clear();  // what is left on the other contexts finishes, then they return
    for (auto& t : pool) t.join();
    log::info("stopped").kv("drained", drained);
    return drained;
  }

  void stop() override { asio::post(strand_, [this] { begin_stop(); }); }

  std::vector<listener_stats> stats() const override {
    std::vector<listener_stats> out;
    for (const auto& st : states_) {
      listener_stats s{st->cfg.name, st->bound, st->active, st->accepted, st->refused, st->tls_failures, {}, {}};
      {
        std::lock_guard lk(st->counts_mu);
        s.requests_by_endpoint = st->by_endpoint;
      }
      for (const auto& [key, n] : s.requests_by_endpoint) s.requests_by_status[key.second] += n;
      out.push_back(std::move(s));
    }
    return out;
  }

private:
  // On strand_. Idle connections close now, busy ones after their response.
  void begin_stop() {
    if (stop_begun_) return;
    stop_begun_ = true;
    core_->stopping = true;
    auto live = core_->live();
    log::info("stopping").kv("connections", live.size())
        .kv("deadline_ms", static_cast<long long>(core_->opt.shutdown_deadline.count()));
    beast::error_code ec;
    if (signals_) signals_->cancel(ec);
    if (hup_) hup_->cancel(ec);  // the io_context must run out of work to stop
    for (auto& l : listeners_) l->close();
    for (auto& s : live) s->notify_shutdown();
    if (on_stop_) on_stop_();
    deadline_ = std::chrono::steady_clock::now() + core_->opt.shutdown_deadline;
    poll_drain();
  }

  // Polls rather than being woken by the last connection: connections may
  // outlive this object inside io_context teardown, so they never call back.
  void poll_drain() {
    if (core_->count() == 0) return;  // run() returns once nothing is pending
    if (!forced_ && std::chrono::steady_clock::now() >= deadline_) {
      forced_ = true;
      auto live = core_->live();
      log::warn("shutdown_deadline").kv("closing", live.size());
      for (auto& s : live) s->force_close();
    }
    drain_timer_.expires_after(std::chrono::milliseconds(20));
    drain_timer_.async_wait([this](beast::error_code ec) { if (!ec) poll_drain(); });
  }

  // Each context is run by one thread: concurrency hint 1 (a handler posted
  // from its own thread skips the lock). The further threads' contexts are
  // destroyed last: a pending accept on ioc_ holds a socket bound to one of
  // them (after a run limit ran out).
  std::vector<std::unique_ptr<asio::io_context>> extra_;  // one per further I/O thread
  asio::io_context ioc_{1};
  context_pool pool_;
  std::shared_ptr<server_core> core_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer drain_timer_;
  std::optional<asio::signal_set> signals_, hup_;
  std::function<void()> reload_, on_stop_;
  std::vector<std::shared_ptr<listener>> listeners_;
  std::vector<std::shared_ptr<listener_state>> states_;
  std::chrono::steady_clock::time_point deadline_;
  bool stop_begun_ = false, forced_ = false;
};

}  // namespace

std::unique_ptr<server> server::make(const server_options& opt) { return std::make_unique<server_impl>(opt); }

}  // namespace node::net
