// Shared by the HTTP tests (http_test.cpp, http_limits_test.cpp): a
// listener with a few routes, a server on its own thread, certificates, a
// log capture and a raw socket exchange.
#pragma once

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "node/net/client.hpp"
#include "node/net/log.hpp"
#include "node/net/server.hpp"
#include "tls_fixture.hpp"

namespace http_fixture {

using namespace node::net;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;


inline server_options short_options() { return test::short_server_options(); }

// Whom the handler saw, as "node_id role jurisdiction" or "anonymous".
inline http_response whoami(const http_request& r) {
  if (!r.peer) return http_response::text(200, "anonymous");
  return http_response::text(200, r.peer->node_id + " " + r.peer->role + " " + r.peer->jurisdiction);
}

inline listener_config make_listener(std::shared_ptr<tls_context> tls) {
  listener_config l;
  l.name = "sync";
  l.address = "127.0.0.1:0";
  l.tls = std::move(tls);
  l.router.add("GET", "/hello", [](const http_request&) { return http_response::json(200, "{\"hello\":true}"); });
  l.router.add("POST", "/echo", [](const http_request& r) { return http_response::text(200, r.body); });
  l.router.add("GET", "/whoami", &whoami);
  l.router.add("GET", "/boom", [](const http_request&) -> http_response { throw std::runtime_error("boom"); });
  l.router.add("GET", "/later-boom", [](const http_request&) {  // an answer deferred to a writer that refuses it
    http_response r;
    r.later = [](std::function<void(http_response)>) { throw std::runtime_error("no writer"); };
    return r;
  });
  return l;
}

// A server with one listener, serving on a background thread until the
// object dies (graceful stop), at most `limit` (8 s unless told).
struct served {
  std::unique_ptr<server> srv;
  std::string addr;
  std::atomic<bool> drained{false};
  std::thread t;

  explicit served(listener_config l, server_options o = short_options(), std::chrono::milliseconds limit = 8000ms)
      : srv(server::make(o)) {
    addr = srv->add_listener(std::move(l));
    t = std::thread([this, limit] { drained = srv->run(1, limit * test::time_scale); });
  }
  ~served() { stop(); }
  void stop() {
    if (!t.joinable()) return;
    srv->stop();
    t.join();
  }
  listener_stats stats() const { return srv->stats().at(0); }
};

// Three certificates: the server (js.province), a client (js.nanjing), and
// contexts made from them.
struct tls_world {
  test::pki_fixture pki;
  tls_files server_files = pki.issue("js.province", "provincial", "320000");
  tls_files client_files = pki.issue("js.nanjing", "local", "320100");

  std::shared_ptr<tls_context> server_ctx(peer_auth a = peer_auth::required) {
    return tls_context::make(tls_side::server, server_files, a);
  }
  std::shared_ptr<tls_context> client_ctx(bool with_cert = true) {
    auto f = client_files;
    if (!with_cert) f.cert.clear(), f.key.clear();
    return tls_context::make(tls_side::client, f);
  }
  std::unique_ptr<http_client> client(const std::string& addr, std::shared_ptr<tls_context> ctx = nullptr,
                                      const std::string& expect = "js.province") {
    return http_client::make({addr, expect, ctx ? ctx : client_ctx(), 3000ms * test::time_scale, 64u << 20});
  }
};

// Log lines written while it lives.
struct log_capture {
  std::mutex mu;
  std::vector<std::string> lines;
  log_capture() {
    log::set_sink([this](std::string_view l) {
      std::lock_guard lk(mu);
      lines.emplace_back(l);
    });
  }
  ~log_capture() { log::set_sink(nullptr); }
  // The first line holding every one of `parts`, or "".
  std::string find(std::initializer_list<std::string_view> parts) {
    std::lock_guard lk(mu);
    for (const auto& l : lines) {
      bool all = true;
      for (auto p : parts) all = all && l.find(p) != std::string::npos;
      if (all) return l;
    }
    return "";
  }
  // How many lines hold every one of `parts`.
  std::size_t count(std::initializer_list<std::string_view> parts) {
    std::lock_guard lk(mu);
    std::size_t n = 0;
    for (const auto& l : lines) {
      bool all = true;
      for (auto p : parts) all = all && l.find(p) != std::string::npos;
      n += all;
    }
    return n;
  }
};

using test::tcp_connect;

struct raw_result {
  bool closed = false;  // the server closed (EOF or reset) within the wait
  std::string got;
  std::chrono::milliseconds after{0};
};

// Plain TCP: sends `bytes`, then reads until the server closes or `wait` passes.
inline raw_result raw_exchange(const std::string& addr, const std::string& bytes, std::chrono::milliseconds wait = 2000ms * test::time_scale) {
  raw_result r;
  int fd = tcp_connect(addr);
  REQUIRE(fd >= 0);
  auto start = steady::now();
  if (!bytes.empty()) REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  for (;;) {
    auto left = wait - std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    r.got.append(buf, static_cast<std::size_t>(n));
  }
  r.after = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
  ::close(fd);
  return r;
}


}  // namespace http_fixture
