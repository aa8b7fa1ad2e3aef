// The writer's count of replicas handed to it and not yet settled: a parent
// bounds what its children hold in memory by it, so it must come back to 0
// whether a batch commits or fails — a count that leaked would stop every
// child's pipelining for good.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "store/reader.hpp"
#include "store/writer.hpp"
#include "replica_batch.hpp"
#include "test_util.hpp"

TEST_CASE("writer: queued replicas count what waits or commits, and return to 0 after a commit and after a failure") {
  using namespace std::chrono_literals;
  test::temp_dir dir;
  auto env = store::environment::open({dir.path().string()});
  store::writer w(*env);
  CHECK(w.queued_replicas() == 0);
  std::promise<void> open;
  auto gate = open.get_future().share();
  w.submit_then({}, [gate](store::settled_batch) { gate.wait(); });  // holds the writer
  auto good = w.submit(test::replica_batch(3, 0));
  auto gap = w.submit(test::replica_batch(2, 7));  // continues from change 7, which is not held: refused whole
  CHECK(w.queued_replicas() == 5);
  open.set_value();
  CHECK(good.get().inserted == 3);
  CHECK_THROWS(gap.get());
  for (int i = 0; i < 200 * test::time_scale && w.queued_replicas() != 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(w.queued_replicas() == 0);
  CHECK(store::reader(*env).stats().total == 3);
}

// A child catching up sends batch after batch: the writer waits a moment
// for the next to join the commit (fewer, larger commits rewrite the
// subject index less often). It must never wait when the sender has
// nothing more behind, nor when someone waits on it (hurry).
TEST_CASE("writer: a catch-up's batches join one commit, and no more behind or a hurry commits at once") {
  using namespace std::chrono_literals;
  test::temp_dir dir;
  auto env = store::environment::open({dir.path().string()});
  store::writer w(*env);
  std::atomic<int> commits{0};
  w.on_commit([&](std::uint64_t) { ++commits; });
  w.group_wait(600s);  // far longer than any test may take: a wait that should not happen shows
  auto more = [](std::size_t n, std::uint64_t from) {
    auto b = test::replica_batch(n, from);
    b.more_coming = true;
    return b;
  };
  auto a = w.submit(more(3, 0));
  auto b = w.submit(more(3, 3));
  auto c = w.submit(test::replica_batch(3, 6));  // the last of the run
  REQUIRE(c.wait_for(60s) == std::future_status::ready);
  CHECK(a.get().inserted == 3);
  CHECK(b.get().inserted == 3);
  CHECK(c.get().inserted == 3);
  CHECK(commits == 1);

  auto d = w.submit(more(3, 9));
  CHECK(d.wait_for(200ms) == std::future_status::timeout);  // waiting for the next batch
  w.hurry();
  REQUIRE(d.wait_for(60s) == std::future_status::ready);
  CHECK(d.get().inserted == 3);
  CHECK(commits == 2);
  auto e = w.submit(test::replica_batch(3, 12));
  REQUIRE(e.wait_for(60s) == std::future_status::ready);
  CHECK(e.get().inserted == 3);

  // Another write taken into the same group is not held for the catch-up.
  std::promise<void> open, held;
  auto gate = open.get_future().share();
  w.submit_then({}, [gate, &held](store::settled_batch) {  // holds the writer while both queue
    held.set_value();
    gate.wait();
  });
  // Not before the writer holds: else `other` could join the gate's own
  // commit and `f` be left alone to wait for a next batch (a flake seen
  // under load).
  held.get_future().wait();
  auto other = w.submit(test::replica_batch(3, 15));
  auto f = w.submit(more(3, 18));
  open.set_value();
  REQUIRE(other.wait_for(60s) == std::future_status::ready);
  REQUIRE(f.wait_for(60s) == std::future_status::ready);

  // A hurry with nothing queued is spent: the next catch-up batch still waits.
  w.hurry();
  auto g = w.submit(more(3, 21));
  CHECK(g.wait_for(200ms) == std::future_status::timeout);
  w.hurry();
  REQUIRE(g.wait_for(60s) == std::future_status::ready);
  CHECK(store::reader(*env).stats().total == 24);
}

// A store that went back under its instance id takes a new one through the
// writer while the node runs (node/service/link_recovery.cpp): in the same
// commit as what it was queued with, seen at once by readers of
// instance_id() and kept when the store is opened again.
TEST_CASE("writer: renew_instance stores a new instance id with its batch, and a failed batch keeps the old one") {
  test::temp_dir dir;
  std::string before, renewed;
  {
    auto env = store::environment::open({dir.path().string()});
    before = env->instance_id();
    store::writer w(*env);
    auto failed = test::replica_batch(2, 7);  // refused whole: continues from a change not held
    failed.renew_instance = true;
    CHECK_THROWS(w.submit(std::move(failed)).get());
    CHECK(env->instance_id() == before);
    auto b = test::replica_batch(3, 0);
    b.renew_instance = true;
    auto commits = env->last_commit();
    CHECK(w.submit(std::move(b)).get().inserted == 3);
    CHECK(env->last_commit() == commits + 1);  // one commit: the batch and its new id together
    renewed = env->instance_id();
    CHECK(renewed != before);
  }
  auto again = store::environment::open({dir.path().string()});
  CHECK(again->instance_id() == renewed);
  CHECK(store::reader(*again).last_seq() == 3);
}
