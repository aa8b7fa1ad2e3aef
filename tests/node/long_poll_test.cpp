// Waiting pulls hold no thread: many wait on a pool of two while other jobs
// run at once; a commit has each looked at again; at its time, or when the
// node stops, each is answered — once, with no look still running after.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <thread>

#include "node/service/long_poll.hpp"

using namespace std::chrono_literals;
using node::service::change_signal;
using node::service::long_poll;
using node::service::worker_pool;

namespace {
auto in(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }
}  // namespace

TEST_CASE("long poll: fifty waiters on two workers leave them free, a commit wakes them, and each is answered once") {
  change_signal changed;
  worker_pool workers(2);
  std::atomic<int> looks{0}, answered{0}, last{0};
  std::atomic<bool> ready{false};  // "a commit brought something" for the first ten
  long_poll polls(changed, workers);
  for (int i = 0; i < 50; ++i)
    REQUIRE(polls.add(in(i < 10 ? 60s : 1500ms), changed.generation(), [&, i](bool at_last) {
      ++looks;
      if (!(at_last || (i < 10 && ready))) return false;
      ++answered;
      last += at_last;
      return true;
    }));
  // The workers are free: a job posted now runs at once, though fifty wait.
  std::promise<void> ran;
  auto t0 = std::chrono::steady_clock::now();
  workers.post([&] { ran.set_value(); });
  REQUIRE(ran.get_future().wait_for(1s) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
  CHECK(polls.waiting() == 50);
  ready = true;
  changed.notify();  // a commit: the first ten find their answer
  for (int i = 0; i < 200 && answered < 10; ++i) std::this_thread::sleep_for(10ms);
  CHECK(answered == 10);
  CHECK(last == 0);
  for (int i = 0; i < 400 && answered < 50; ++i) std::this_thread::sleep_for(10ms);  // the rest at 1.5 s
  CHECK(answered == 50);
  CHECK(last == 40);
  CHECK(polls.waiting() == 0);
}

// A commit between the caller's own look and its add woke nobody: the
// generation it saw before its look says so, and it is looked at at once.
TEST_CASE("long poll: a commit just before a waiter is added is not missed") {
  change_signal changed;
  worker_pool workers(2);
  long_poll polls(changed, workers);
  auto seen = changed.generation();
  changed.notify();
  std::promise<bool> looked;
  auto t0 = std::chrono::steady_clock::now();
  polls.add(in(60s), seen, [&](bool at_last) { looked.set_value(at_last); return true; });
  auto f = looked.get_future();
  REQUIRE(f.wait_for(1s) == std::future_status::ready);
  CHECK_FALSE(f.get());
  CHECK(std::chrono::steady_clock::now() - t0 < 150ms);  // not at the next 200 ms tick
}

// The node stops while a look is running: that look ends, then the waiter
// gets its last look — never two at once — and stop() returns only after.
TEST_CASE("long poll: stopping during a look answers the waiter after it, once, and nothing runs after stop") {
  change_signal changed;
  worker_pool workers(2);
  std::atomic<int> running{0}, overlapped{0}, lasts{0}, after_stop{0};
  std::atomic<bool> stopped{false};
  {
    long_poll polls(changed, workers);
    REQUIRE(polls.add(in(60s), changed.generation(), [&](bool at_last) {
      overlapped += running++ > 0;
      std::this_thread::sleep_for(300ms);  // a long look
      --running;
      after_stop += stopped.load();
      lasts += at_last;
      return at_last;
    }));
    changed.notify();  // a look starts
    std::this_thread::sleep_for(100ms);
    polls.stop();
    stopped = true;
    CHECK_FALSE(polls.add(in(60s), changed.generation(), [](bool) { return true; }));  // too late: the caller answers
  }
  CHECK(overlapped == 0);
  CHECK(lasts == 1);
  CHECK(after_stop == 0);
}
