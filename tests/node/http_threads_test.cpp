// The server on more than one I/O thread, as `run` serves: each thread runs
// an io_context of its own and connections are dealt round-robin, so both
// threads answer; a graceful stop drains the connections of every context,
// and a run limit that runs out tears them all down (a pending accept on
// the first context holds a socket of another one).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "node/net/client.hpp"
#include "node/net/server.hpp"
#include "tls_fixture.hpp"

using namespace node::net;
using namespace std::chrono_literals;

namespace {

std::string this_thread_text() {
  std::ostringstream o;
  o << std::this_thread::get_id();
  return o.str();
}

struct two_threads {
  test::pki_fixture pki;
  tls_files server_files = pki.issue("js.province", "provincial", "320000");
  tls_files client_files = pki.issue("js.nanjing", "local", "320100");
  std::unique_ptr<server> srv = server::make(test::short_server_options());
  std::string addr;
  std::atomic<bool> entered{false};

  explicit two_threads() {
    listener_config l;
    l.name = "sync";
    l.address = "127.0.0.1:0";
    l.tls = tls_context::make(tls_side::server, server_files, peer_auth::required);
    l.router.add("GET", "/thread", [](const http_request&) { return http_response::text(200, this_thread_text()); });
    l.router.add("GET", "/slow", [this](const http_request&) {
      entered = true;
      std::this_thread::sleep_for(500ms);
      return http_response::text(200, "done");
    });
    addr = srv->add_listener(std::move(l));
  }
  std::unique_ptr<http_client> client() {
    return http_client::make({addr, "js.province", tls_context::make(tls_side::client, client_files), 3000ms * test::time_scale,
                              1u << 20});
  }
};

}  // namespace

TEST_CASE("http threads: connections are answered on both I/O threads, and a graceful stop drains every thread's") {
  two_threads s;
  std::atomic<bool> drained{false};
  std::thread runner([&] { drained = s.srv->run(2, 8000ms * test::time_scale); });
  std::vector<std::unique_ptr<http_client>> clients;
  std::set<std::string> threads;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(s.client());
    auto r = clients.back()->get("/thread");
    REQUIRE(r.status == 200);
    threads.insert(r.body);
  }
  CHECK(threads.size() == 2);
  // A slow request in flight on one connection; every other one idle.
  http_response slow;
  std::thread caller([&] { slow = clients[1]->get("/slow"); });
  while (!s.entered) std::this_thread::sleep_for(5ms);
  s.srv->stop();
  caller.join();
  runner.join();
  CHECK(slow.status == 200);
  CHECK(slow.body == "done");
  CHECK(drained);
}

TEST_CASE("http threads: a run limit that runs out stops every thread's context and the server is torn down") {
  auto s = std::make_unique<two_threads>();
  bool drained = true;
  std::thread runner([&] { drained = s->srv->run(2, 600ms * test::time_scale); });
  auto a = s->client(), b = s->client();  // one connection on each thread's context, idle
  CHECK(a->get("/thread").status == 200);
  CHECK(b->get("/thread").status == 200);
  runner.join();
  CHECK_FALSE(drained);
  s.reset();  // the pending accept and the sessions go with their contexts
  CHECK_THROWS(a->get("/thread"));
}
