// The HTTP server and client over real TLS on loopback, with certificates
// from the project's own PKI. Timeouts are shortened to a few hundred ms;
// every server runs on its own thread with a hard run limit, so a broken
// shutdown fails the test instead of hanging it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

#include "http_fixture.hpp"

using namespace http_fixture;

TEST_CASE("http: whole numbers in a query — anything but digits 0..2^64-1 is refused, not read as 0") {
  using node::net::whole_number;
  CHECK(whole_number("0") == 0u);
  CHECK(whole_number("42") == 42u);
  CHECK(whole_number("18446744073709551615") == 18446744073709551615ull);
  for (const char* bad : {"", "abc", "-1", "+1", "12abc", " 1", "1.5", "18446744073709551616", "0x10"})
    CHECK_MESSAGE(!whole_number(bad), bad);
}

TEST_CASE("http: router — exact and prefix routes, 404 and 405 as JSON, HEAD as GET") {
  http_router r;
  r.add("GET", "/healthz", [](const http_request&) { return http_response::text(200, "ok"); });
  r.add_prefix("GET", "/api/v1/", [](const http_request&) { return http_response::text(200, "short"); });
  r.add_prefix("GET", "/api/v1/subjects/", [](const http_request& q) { return http_response::text(200, q.path); });
  auto call = [&](std::string method, std::string path) {
    http_request q;
    q.method = std::move(method);
    q.path = q.target = std::move(path);
    return r.dispatch(q);
  };
  CHECK(call("GET", "/healthz").body == "ok");
  CHECK(call("HEAD", "/healthz").status == 200);
  CHECK(call("GET", "/api/v1/subjects/91350200776049653A/records").body == "/api/v1/subjects/91350200776049653A/records");
  CHECK(call("GET", "/api/v1/stats").body == "short");
  auto nf = call("GET", "/nope");
  CHECK(nf.status == 404);
  CHECK(nf.content_type == "application/json");
  CHECK(nf.body == R"({"error":"not_found","detail":"no resource at /nope"})");
  auto na = call("POST", "/healthz");
  CHECK(na.status == 405);
  CHECK(na.body.find("\"error\":\"method_not_allowed\"") != std::string::npos);
  REQUIRE(na.header("allow"));
  CHECK(*na.header("allow") == "GET, HEAD");  // HEAD is answered as GET
  // on_unrouted sees exactly the 404s and 405s, and its answer is sent under the same endpoint.
  std::vector<int> seen;
  r.on_unrouted = [&](http_request&, http_response refusal) {
    seen.push_back(refusal.status);
    return http_response::text(refusal.status, "audited");
  };
  CHECK(call("GET", "/healthz").body == "ok");
  auto nf2 = call("GET", "/nope");
  CHECK(nf2.body == "audited");
  CHECK(nf2.endpoint == "(no route)");
  CHECK(call("POST", "/healthz").body == "audited");
  CHECK(call("HEAD", "/api/v1/x").status == 200);
  CHECK(seen == std::vector<int>{404, 405});
}

TEST_CASE("http: router — each answer names its endpoint for metrics, with the caller's ids taken out") {
  http_router r;
  r.add("GET", "/healthz", [](const http_request&) { return http_response::text(200, "ok"); });
  r.add_prefix("GET", "/api/v1/subjects/", [](const http_request&) { return http_response::text(200, ""); },
               {"records", "access-log"});
  auto endpoint = [&](std::string path) {
    http_request q;
    q.method = "GET";
    q.path = q.target = std::move(path);
    return r.dispatch(q).endpoint;
  };
  CHECK(endpoint("/healthz") == "/healthz");
  CHECK(endpoint("/api/v1/subjects/91350200776049653A/records") == "/api/v1/subjects/{id}/records");
  CHECK(endpoint("/api/v1/subjects/91440101MA5CJQ4N59/access-log") == "/api/v1/subjects/{id}/access-log");
  CHECK(endpoint("/api/v1/subjects/91440101MA5CJQ4N59") == "/api/v1/subjects/{id}");
  CHECK(endpoint("/api/v1/subjects/x/anything/else") == "/api/v1/subjects/{id}/*");  // bounded: not one per path
  CHECK(endpoint("/nope/1") == "(no route)");
  CHECK(endpoint("/nope/2") == "(no route)");
}

TEST_CASE("http: log lines are logfmt, one per event, filtered by level") {
  log_capture logs;
  log::warn("test_event").kv("listener", "sync").kv("reason", "two words \"quoted\"\nnext").kv("n", 3);
  log::debug("hidden").kv("x", 1);  // below the default level (info)
  REQUIRE(logs.lines.size() == 1);
  const auto& l = logs.lines[0];
  CHECK(l.starts_with("ts="));
  CHECK(l.ends_with(" level=warn event=test_event listener=sync reason=\"two words \\\"quoted\\\"\\nnext\" n=3\n"));
  CHECK(l.find('\n') == l.size() - 1);
  CHECK(log::quote("") == "\"\"");
  log::level lvl;
  CHECK(log::parse_level("debug", lvl));
  CHECK_FALSE(log::parse_level("verbose", lvl));
}

TEST_CASE("http: keep-alive — three requests on one connection") {
  tls_world w;
  served s(make_listener(w.server_ctx()));
  auto c = w.client(s.addr);
  for (int i = 0; i < 3; ++i) {
    auto r = c->get("/hello");
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == "{\"hello\":true}");
  }
  CHECK(c->connections_made() == 1);
  CHECK(s.stats().accepted_connections == 1);
  CHECK(s.stats().requests_by_status.at(200) == 3);
}

TEST_CASE("http: 404 and 405 answers are JSON, and Connection: close is honoured") {
  tls_world w;
  served s(make_listener(w.server_ctx()));
  auto c = w.client(s.addr);
  auto nf = c->get("/nope");
  CHECK(nf.status == 404);
  CHECK(nf.body.find("\"error\":\"not_found\"") != std::string::npos);
  auto na = c->request({"DELETE", "/hello", {}, {}, {}});
  CHECK(na.status == 405);
  // Every answer carries Date (RFC 9110 6.6.1), in IMF-fixdate, and now.
  REQUIRE(nf.header("date"));
  std::tm tm{};
  const char* end = strptime(nf.header("date")->c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  REQUIRE(end);
  CHECK(*end == '\0');
  CHECK(std::abs(static_cast<long>(timegm(&tm) - std::time(nullptr))) <= 5);
  CHECK(na.body.find("\"error\":\"method_not_allowed\"") != std::string::npos);
  CHECK(c->connections_made() == 1);
  auto closing = c->request({"GET", "/hello", {}, {}, {{"Connection", "close"}}});
  CHECK(closing.status == 200);
  REQUIRE(closing.header("connection"));
  CHECK(*closing.header("connection") == "close");
  CHECK(c->get("/hello").status == 200);
  CHECK(c->connections_made() == 2);
}

TEST_CASE("http: 431 for a 16 KiB header, 413 for a 2 MiB body, and the server goes on") {
  tls_world w;
  served s(make_listener(w.server_ctx()));
  auto c = w.client(s.addr);
  auto big_header = c->request({"GET", "/hello", {}, {}, {{"X-Padding", std::string(16 * 1024, 'a')}}});
  CHECK(big_header.status == 431);
  CHECK(big_header.body.find("\"error\":\"header_too_large\"") != std::string::npos);
  auto big_body = c->request({"POST", "/echo", std::string(2 << 20, 'b'), "text/plain", {}});
  CHECK(big_body.status == 413);
  CHECK(big_body.body.find("\"error\":\"body_too_large\"") != std::string::npos);
  auto small = c->request({"POST", "/echo", "fits", "text/plain", {}});
  CHECK(small.status == 200);
  CHECK(small.body == "fits");
}

TEST_CASE("http: a handler that throws is answered 500 and logged") {
  tls_world w;
  log_capture logs;
  served s(make_listener(w.server_ctx()));
  auto c = w.client(s.addr);
  auto r = c->get("/boom");
  CHECK(r.status == 500);
  CHECK(r.body.find("\"error\":\"internal\"") != std::string::npos);
  CHECK(c->get("/hello").status == 200);  // same connection, still fine
  CHECK(logs.find({"level=error", "event=handler_failed", "path=/boom", "reason=boom"}) != "");
  auto later = c->get("/later-boom");  // the deferral itself throws: the same answer, and the log names the path
  CHECK(later.status == 500);
  CHECK(later.body.find("\"error\":\"internal\"") != std::string::npos);
  CHECK(c->get("/hello").status == 200);
  CHECK(logs.find({"level=error", "event=handler_failed", "path=/later-boom", "reason=\"no writer\""}) != "");
}

TEST_CASE("http: garbage and plaintext HTTP on the TLS port are closed, and good clients are still served") {
  tls_world w;
  log_capture logs;
  served s(make_listener(w.server_ctx()));
  SUBCASE("garbage bytes") {
    auto r = raw_exchange(s.addr, "\x01\x02\x03 garbage \xff\xfe\r\n\r\n");
    CHECK(r.closed);
  }
  SUBCASE("a plaintext HTTP request") {
    auto r = raw_exchange(s.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(r.closed);
    CHECK_FALSE(r.got.starts_with("HTTP/"));
  }
  CHECK(w.client(s.addr)->get("/hello").status == 200);
  s.stop();
  CHECK(s.stats().tls_handshake_failures == 1);
  CHECK(logs.find({"level=warn", "event=tls_handshake_failed", "listener=sync", "remote=127.0.0.1:", "reason="}) != "");
}

TEST_CASE("http: a client that sends nothing is closed after the handshake timeout") {
  tls_world w;
  log_capture logs;
  served s(make_listener(w.server_ctx()));
  auto r = raw_exchange(s.addr, "", 3000ms * test::time_scale);
  CHECK(r.closed);
  CHECK(r.after >= 250ms * test::time_scale);
  CHECK(r.after < 2000ms * test::time_scale);
  s.stop();  // the timer closes the socket before the session logs: wait for it
  auto said = "no TLS handshake within " + std::to_string(300 * test::time_scale) + " ms";
  CHECK(logs.find({"event=tls_handshake_failed", said}) != "");
}

TEST_CASE("http: peer_auth — required refuses a client without certificate, optional accepts it anonymously") {
  tls_world w;
  log_capture logs;
  SUBCASE("required (sync)") {
    served s(make_listener(w.server_ctx(peer_auth::required)));
    // The client hears why, not a bare close.
    CHECK_THROWS_WITH(w.client(s.addr, w.client_ctx(false))->get("/whoami"),
                      doctest::Contains("the peer says: handshake failure"));
    s.stop();
    CHECK(s.stats().tls_handshake_failures == 1);
    CHECK(logs.find({"level=warn", "event=tls_handshake_failed", "remote=127.0.0.1:"}) != "");
  }
  SUBCASE("optional (api)") {
    served s(make_listener(w.server_ctx(peer_auth::optional)));
    CHECK(w.client(s.addr, w.client_ctx(false))->get("/whoami").body == "anonymous");
    CHECK(w.client(s.addr)->get("/whoami").body == "js.nanjing local 320100");
  }
  SUBCASE("optional (api), a certificate from another CA is refused, not anonymous") {
    served s(make_listener(w.server_ctx(peer_auth::optional)));
    std::string other = w.pki.dir / "other-ca";
    node::pki::ca_init(other, "Other CA");
    auto rogue = w.pki.issue("js.rogue", "local", "320100", 30, other);
    rogue.ca = w.pki.ca_dir + "/ca.pem";  // it trusts our server; we must not trust it
    CHECK_THROWS_AS(w.client(s.addr, tls_context::make(tls_side::client, rogue))->get("/whoami"), client_error);
    s.stop();
    CHECK(logs.find({"event=tls_handshake_failed", "client certificate not accepted"}) != "");
  }
}

TEST_CASE("http: the handler sees the client's node id, role and jurisdiction") {
  tls_world w;
  served s(make_listener(w.server_ctx()));
  auto c = w.client(s.addr);
  CHECK(c->get("/whoami").body == "js.nanjing local 320100");
  REQUIRE(c->server_identity());
  CHECK(c->server_identity()->node_id == "js.province");
  CHECK(c->server_identity()->role == "provincial");
}

TEST_CASE("http: client — a server certificate naming another node is an error naming both") {
  tls_world w;
  served s(make_listener(w.server_ctx()));
  auto c = w.client(s.addr, nullptr, "js.other");
  try {
    c->get("/hello");
    FAIL("the request went through");
  } catch (const client_error& e) {
    std::string m = e.what();
    CHECK(m.find("'js.province'") != std::string::npos);
    CHECK(m.find("'js.other'") != std::string::npos);
  }
}

TEST_CASE("http: client reconnects after the server closed the idle keep-alive connection") {
  tls_world w;
  auto o = short_options();
  o.read_timeout = 200ms * test::time_scale;
  served s(make_listener(w.server_ctx()), o);
  auto c = w.client(s.addr);
  CHECK(c->get("/hello").status == 200);
  std::this_thread::sleep_for(500ms * test::time_scale);  // the server drops the idle connection
  CHECK(c->get("/hello").status == 200);
  CHECK(c->connections_made() == 2);
}

TEST_CASE("http: beyond max_connections a connection is closed at once") {
  tls_world w;
  auto l = make_listener(w.server_ctx());
  l.max_connections = 1;
  served s(std::move(l));
  int holder = tcp_connect(s.addr);  // takes the only slot (its handshake is pending)
  REQUIRE(holder >= 0);
  std::this_thread::sleep_for(50ms * test::time_scale);
  auto r = raw_exchange(s.addr, "", 1000ms * test::time_scale);
  CHECK(r.closed);
  CHECK(r.after < 250ms * test::time_scale);  // refused, not the handshake timeout
  ::close(holder);
  CHECK(s.stats().refused_connections == 1);
}

// One address cannot take every slot: idle sockets from one client held
// the API's 512 and shut every bank out.
TEST_CASE("http: beyond max_per_address a client's connection is closed at once, and its slots come back as it closes") {
  tls_world w;
  auto l = make_listener(w.server_ctx());
  l.max_connections = 8;
  l.max_per_address = 2;
  served s(std::move(l));
  int a = tcp_connect(s.addr), b = tcp_connect(s.addr);  // both in their handshake
  REQUIRE(a >= 0);
  REQUIRE(b >= 0);
  std::this_thread::sleep_for(50ms * test::time_scale);
  auto r = raw_exchange(s.addr, "", 1000ms * test::time_scale);
  CHECK(r.closed);
  CHECK(r.after < 250ms * test::time_scale);  // refused, not the handshake timeout
  CHECK(s.stats().refused_connections == 1);
  ::close(a);
  std::this_thread::sleep_for(100ms * test::time_scale);
  CHECK(w.client(s.addr)->get("/hello").status == 200);  // a slot came back
  ::close(b);
}

TEST_CASE("http: graceful shutdown lets an in-flight slow request finish, then stops accepting") {
  tls_world w;
  std::atomic<bool> entered{false};
  auto l = make_listener(w.server_ctx());
  l.router.add("GET", "/slow", [&](const http_request&) {
    entered = true;
    std::this_thread::sleep_for(600ms);
    return http_response::text(200, "done");
  });
  served s(std::move(l));
  auto idle = w.client(s.addr);
  CHECK(idle->get("/hello").status == 200);  // an idle keep-alive connection, closed by the stop
  http_response got;
  std::string error;
  std::thread caller([&] {
    try {
      got = w.client(s.addr)->get("/slow");
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  while (!entered) std::this_thread::sleep_for(5ms);
  auto start = steady::now();
  s.stop();
  caller.join();
  CHECK(error == "");
  CHECK(got.status == 200);
  CHECK(got.body == "done");
  CHECK(s.drained);
  CHECK(steady::now() - start < 1500ms * test::time_scale);  // not the deadline (2000 ms × time_scale)
  CHECK(tcp_connect(s.addr) == -1);
}

TEST_CASE("http: client pipelining — a request written ahead while a large answer is read, answers in order on one connection") {
  tls_world w;
  auto l = make_listener(w.server_ctx());
  l.body_limit = 64u << 20;
  // 16 MiB each way: more than the socket buffers hold, so a client that
  // wrote its next request before reading would stall against a server
  // that cannot finish writing its answer.
  l.router.add("POST", "/big", [](const http_request& r) {
    return http_response::text(200, std::string(16u << 20, r.body.empty() ? '?' : r.body[0]));
  });
  served s(std::move(l));
  auto c = w.client(s.addr);
  CHECK(c->request({"GET", "/hello", {}, {}, {}}).status == 200);  // a run starts with a plain request
  c->send({"POST", "/big", "x", "text/plain", {}});
  client_request second{"POST", "/echo", std::string(16u << 20, 'e'), "text/plain", {}};
  second.body[12345] = '!';
  auto first = c->receive(&second);  // the answer to /big while /echo goes out
  CHECK(first.status == 200);
  CHECK(first.body.size() == 16u << 20);
  CHECK(first.body.find_first_not_of('x') == std::string::npos);
  client_request third{"GET", "/whoami", {}, {}, {}};
  auto echoed = c->receive(&third);
  CHECK(echoed.body == second.body);
  auto last = c->receive();
  CHECK(last.body == "js.nanjing local 320100");
  CHECK_THROWS_AS(c->receive(), client_error);  // nothing is owed any more
  CHECK(c->connections_made() == 1);
  CHECK(s.stats().requests_by_status.at(200) == 4);
}

TEST_CASE("http: client pipelining — answers left unread are never taken for a later request's") {
  tls_world w;
  served s(make_listener(w.server_ctx()));
  auto c = w.client(s.addr);
  c->send({"GET", "/hello", {}, {}, {}});
  c->send({"GET", "/hello", {}, {}, {}});
  // Two answers are owed on this connection: a plain request starts afresh.
  auto r = c->request({"GET", "/whoami", {}, {}, {}});
  CHECK(r.body == "js.nanjing local 320100");
  CHECK(c->connections_made() == 2);
  c->send({"GET", "/whoami", {}, {}, {}});
  CHECK(c->receive().body == "js.nanjing local 320100");
  CHECK(c->connections_made() == 2);
}

TEST_CASE("http: client pipelining — a server that closes after its answer keeps the answer, and the request written ahead is owed by no one") {
  tls_world w;
  served s(make_listener(w.server_ctx()));
  auto c = w.client(s.addr);
  c->send({"GET", "/hello", {}, {}, {{"Connection", "close"}}});
  client_request next{"GET", "/whoami", {}, {}, {}};
  auto r = c->receive(&next);
  CHECK(r.status == 200);
  CHECK(r.body == "{\"hello\":true}");
  CHECK(c->owed() == 0);  // the caller sends `next` again
  CHECK(c->request(next).body == "js.nanjing local 320100");
  CHECK(c->connections_made() == 2);
}

TEST_CASE("http: query values and names are percent-decoded as client libraries encode them") {
  using node::net::percent_decode;
  using node::net::query_param;
  CHECK(percent_decode("tax%2Cutility_payment", true) == "tax,utility_payment");
  CHECK(percent_decode("a+b%20c", true) == "a b c");
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("%e5%8d%97", false) == "\xe5\x8d\x97");
  for (const char* bad : {"%", "%2", "%zz", "%2g", "ab%"}) CHECK_MESSAGE(!percent_decode(bad, true), bad);
  CHECK(query_param("categories=tax%2Cloan&purpose=credit%5Fassessment", "categories") == "tax,loan");
  CHECK(query_param("categories=tax%2Cloan&purpose=credit%5Fassessment", "purpose") == "credit_assessment");
  CHECK(query_param("purpos%65=x", "purpose") == "x");
  CHECK(query_param("purpose=%zz", "purpose") == "%zz");  // as sent: the caller's check names it
  CHECK_FALSE(query_param("purposes=x", "purpose"));
}

namespace {

// Writes `header`, waits for the server's first bytes (a 100 Continue, or a
// final answer), then writes `body` and reads to the end.
std::pair<std::string, std::string> two_step(const std::string& addr, const std::string& header, const std::string& body) {
  int fd = tcp_connect(addr);
  REQUIRE(fd >= 0);
  auto read_some = [&] {
    pollfd p{fd, POLLIN, 0};
    char buf[4096];
    if (::poll(&p, 1, static_cast<int>(2000 * test::time_scale)) <= 0) return std::string("<nothing within 2 s>");
    auto n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("<closed>");
  };
  REQUIRE(::send(fd, header.data(), header.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(header.size()));
  auto first = read_some();
  REQUIRE(::send(fd, body.data(), body.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(body.size()));
  auto second = read_some();
  ::close(fd);
  return {first, second};
}

}  // namespace

TEST_CASE("http: framing — a body of unknown length is refused, not read as the next request, Host once, 100 Continue, absolute-form and encoded paths") {
  served s(make_listener(nullptr));
  const std::string hidden = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  auto smuggled = raw_exchange(s.addr, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n" + hidden);
  CHECK(smuggled.got.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(smuggled.got.find("does not end in chunked") != std::string::npos);
  CHECK(smuggled.got.find("\"hello\":true") == std::string::npos);  // the body was not run as a request
  CHECK(smuggled.closed);
  auto other_coding = raw_exchange(s.addr, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  CHECK(other_coding.got.rfind("HTTP/1.1 501", 0) == 0);
  CHECK(other_coding.got.find("only chunked, once, is supported") != std::string::npos);
  auto chunked = raw_exchange(s.addr, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n4\r\nfits\r\n0\r\n\r\n");
  CHECK(chunked.got.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(chunked.got.ends_with("fits"));
  for (const std::string& hosts : {std::string(), std::string("Host: a\r\nHost: b\r\n")}) {
    auto r = raw_exchange(s.addr, "GET /hello HTTP/1.1\r\n" + hosts + "\r\n");
    CHECK(r.got.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(r.got.find("names its Host exactly once") != std::string::npos);
  }
  CHECK(raw_exchange(s.addr, "GET /hello HTTP/1.0\r\n\r\n").got.find("\"hello\":true") != std::string::npos);
  auto [first, second] = two_step(s.addr, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", "fits");
  CHECK(first == "HTTP/1.1 100 Continue\r\n\r\n");
  CHECK(second.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(second.ends_with("fits"));
  CHECK(raw_exchange(s.addr, "GET http://x:1/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").got.find("\"hello\":true") != std::string::npos);
  CHECK(raw_exchange(s.addr, "GET /h%65llo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").got.find("\"hello\":true") != std::string::npos);
  CHECK(raw_exchange(s.addr, "GET /hello%2Fx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").got.rfind("HTTP/1.1 404", 0) == 0);
}
