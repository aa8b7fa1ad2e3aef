// Waiting pulls hold no thread: many wait on a pool of two while other jobs
// run at once; a commit has each looked at again; at its time, or when the
// node stops, each is answered.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <thread>

#include "node/service/long_poll.hpp"

using namespace std::chrono_literals;
using node::service::change_signal;
using node::service::long_poll;
using node::service::worker_pool;

TEST_CASE("long poll: fifty waiters on two workers leave them free, a commit wakes them, and each is answered once") {
  change_signal changed;
  worker_pool workers(2);
  std::atomic<int> looks{0}, answered{0}, last{0};
  std::atomic<bool> ready{false};  // "a commit brought something" for the first ten
  {
    long_poll polls(changed, workers);
    for (int i = 0; i < 50; ++i)
      polls.add(std::chrono::steady_clock::now() + (i < 10 ? 60s : 1500ms), [&, i](bool at_last) {
        ++looks;
        if (!(at_last || (i < 10 && ready))) return false;
        ++answered;
        last += at_last;
        return true;
      });
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
    // One more, and the node stops: answered at once, though its time is far off.
    polls.add(std::chrono::steady_clock::now() + 60s, [&](bool at_last) { last += at_last; return at_last; });
    changed.stop();
  }  // the destructor waits for it
  CHECK(last == 41);
  CHECK(looks >= 51);
}
