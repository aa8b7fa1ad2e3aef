// The writer's count of replicas handed to it and not yet settled: a parent
// bounds what its children hold in memory by it, so it must come back to 0
// whether a batch commits or fails — a count that leaked would stop every
// child's pipelining for good.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <random>
#include <thread>

#include "node/demo/sample_data.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "test_util.hpp"

namespace {

store::write_batch replicas(std::size_t n, std::uint64_t from_seq) {
  std::mt19937_64 rng(11);
  auto firm = node::demo::make_enterprises(1, {"320106"}, rng)[0];
  store::write_batch b;
  b.via = "js.nanjing";
  for (std::size_t i = 0; i < n; ++i) {
    store::model::record r;
    r.category = "tax";
    r.subject = firm;
    r.record_id = "r" + std::to_string(from_seq + i);
    r.origin = "js.nanjing";
    r.version = 1;
    r.event_date = "2026-10-15";
    r.source = "tax bureau";
    r.fields_json = R"({"period":"2026-09","tax_type":"VAT","amount_paid":"1.00"})";
    b.replicas.push_back(std::move(r));
  }
  b.cursor = store::peer_cursor{"up:js.nanjing", "inst-1", from_seq + n, from_seq};
  return b;
}

}  // namespace

TEST_CASE("writer: queued replicas count what waits or commits, and return to 0 after a commit and after a failure") {
  using namespace std::chrono_literals;
  test::temp_dir dir;
  auto env = store::environment::open({dir.path().string()});
  store::writer w(*env);
  CHECK(w.queued_replicas() == 0);
  std::promise<void> open;
  auto gate = open.get_future().share();
  w.submit_then({}, [gate](store::settled_batch) { gate.wait(); });  // holds the writer
  auto good = w.submit(replicas(3, 0));
  auto gap = w.submit(replicas(2, 7));  // continues from change 7, which is not held: refused whole
  CHECK(w.queued_replicas() == 5);
  open.set_value();
  CHECK(good.get().inserted == 3);
  CHECK_THROWS(gap.get());
  for (int i = 0; i < 200 * test::time_scale && w.queued_replicas() != 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(w.queued_replicas() == 0);
  CHECK(store::reader(*env).stats().total == 3);
}
