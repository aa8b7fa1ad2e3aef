// The writer's count of replicas handed to it and not yet settled: a parent
// bounds what its children hold in memory by it, so it must come back to 0
// whether a batch commits or fails — a count that leaked would stop every
// child's pipelining for good.
#include <doctest/doctest.h>

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
