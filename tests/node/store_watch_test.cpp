// store_watch: a commit made by another process (a CLI import while `run`
// is live) wakes the waiters once a reader can see it, and not before: a
// waiter woken early looks, finds nothing, and waits out its timeout.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "node/cli_support.hpp"
#include "node/service/store_watch.hpp"
#include "store/writer.hpp"
#include "replica_batch.hpp"

using namespace std::chrono_literals;

namespace {

bool woken_within(node::service::change_signal& signal, std::uint64_t gen, std::chrono::milliseconds limit) {
  for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;) {
    if (signal.generation() != gen) return true;
    std::this_thread::sleep_for(1ms);
  }
  return signal.generation() != gen;
}

}  // namespace

// The running node's own writer wakes its waiters itself: the watch must
// not wake them again for each of its writes (under API load, a commit
// every 2 ms: the watch's wake-ups were a sixth of the node's context
// switches). Another writer of the same store announces its commits.
TEST_CASE("store_watch: the node's own writer (announce::none) wakes no one through the watch, another writer does") {
  test::temp_dir dir;
  auto env = store::environment::open({dir.path().string()});
  node::service::change_signal signal;
  node::service::store_watch watch(*env, signal);
  if (!watch.available()) {
    MESSAGE("inotify is unavailable: nothing to test");
    return;
  }
  {
    store::writer own(*env, store::writer::announce::none);
    auto gen = signal.generation();
    for (std::uint64_t k = 0; k < 5; ++k) REQUIRE(own.submit(test::replica_batch(20, k * 20)).get().inserted == 20);
    CHECK_FALSE(woken_within(signal, gen, 300ms));
  }
  store::writer other(*env);
  auto gen = signal.generation();
  auto before = env->last_commit();
  REQUIRE(other.submit(test::replica_batch(20, 100)).get().inserted == 20);
  CHECK(woken_within(signal, gen, 2000ms * test::time_scale));
  CHECK(env->last_commit() > before);
  // The signal file deleted (a clean-up): the next commit makes it again,
  // and the watch, on the directory, still hears it.
  std::filesystem::remove(store::commit_signal_file(*env));
  gen = signal.generation();
  REQUIRE(other.submit(test::replica_batch(20, 120)).get().inserted == 20);
  CHECK(woken_within(signal, gen, 2000ms * test::time_scale));
  CHECK(std::filesystem::exists(store::commit_signal_file(*env)));
}

TEST_CASE("store_watch: each wake-up for another process's commit finds a new commit visible") {
  cli_test::node n;
  auto env = store::environment::open({n.dir + "/data"});
  node::service::change_signal signal;
  node::service::store_watch watch(*env, signal);
  if (!watch.available()) {  // no inotify here (a sandbox, or every instance in use)
    MESSAGE("inotify is unavailable: nothing to test");
    return;
  }
  auto before = env->last_commit();

  // A waiter as the pusher is: at each wake-up it looks at what a reader sees.
  std::mutex mu;
  std::vector<std::uint64_t> seen_at_wake;
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    while (!stop) {
      auto gen = signal.generation();
      signal.wait(gen, 50ms);
      if (signal.generation() == gen) continue;  // a timeout, not a wake-up
      std::lock_guard lk(mu);
      seen_at_wake.push_back(env->last_commit());
    }
  });
  // Imports one after another, each one commit: a wake-up before a commit
  // is visible has a chance at each of them.
  for (int k = 0; k < 5; ++k) {
    std::string rows = cli_test::tax_header + "\n";
    for (int i = 0; i < 20; ++i) rows += cli_test::tax_row(cli_test::A, "w" + std::to_string(k * 100 + i)) + "\n";
    auto c0 = env->last_commit();
    auto r = n.import("tax", n.file("rows.csv", rows));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    REQUIRE(env->last_commit() == c0 + 1);
  }
  auto after = env->last_commit();
  // The import has returned, so its last commit is visible: a wake-up for it is due.
  for (auto end = std::chrono::steady_clock::now() + 2s * test::time_scale; std::chrono::steady_clock::now() < end;) {
    {
      std::lock_guard lk(mu);
      if (!seen_at_wake.empty() && seen_at_wake.back() == after) break;
    }
    std::this_thread::sleep_for(1ms);
  }
  stop = true;
  waiter.join();
  REQUIRE_FALSE(seen_at_wake.empty());
  CHECK(seen_at_wake.back() == after);
  // Never woken with nothing new to see (what waking on the raw writes did).
  auto last = before;
  for (auto c : seen_at_wake) {
    CHECK_MESSAGE(c > last, "woken at commit " << c << " after a wake-up at " << last);
    last = c;
  }
}
