#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <future>
#include <random>
#include <thread>

#include "node/demo/sample_data.hpp"
#include "node/service/push_pipeline.hpp"
#include "store/reader.hpp"
#include "sync/catchup.hpp"
#include "sync/exchange.hpp"
#include "replica_batch.hpp"
#include "test_util.hpp"

namespace json = boost::json;
using node::service::push_pipeline;

namespace {

struct two_stores {
  test::temp_dir d;
  std::unique_ptr<store::environment> local = store::environment::open({d / "local"});
  std::unique_ptr<store::environment> prov = store::environment::open({d / "prov"});
  std::unique_ptr<store::writer> local_w = std::make_unique<store::writer>(*local);
  std::unique_ptr<store::writer> prov_w = std::make_unique<store::writer>(*prov);
  replication::peer nanjing{"js.nanjing", "local", "320100"};

  void import(std::size_t n) {
    std::mt19937_64 rng(7);
    auto firm = node::demo::make_enterprises(1, {"320106"}, rng)[0];
    store::write_batch b;
    b.origin = nanjing.node_id;
    for (std::size_t i = 0; i < n; ++i)
      b.rows.push_back({"tax", firm, "r" + std::to_string(i), "2026-10-15", "tax bureau",
                        R"({"period":"2026-09","tax_type":"VAT","amount_paid":"1.00"})", 1, {}});
    local_w->submit(std::move(b)).get();
  }
  replication::change_batch batch(std::uint64_t after, std::size_t max) {
    auto b = replication::collect_up(*local, nanjing.node_id, after, {max, 4 << 20});
    b.after_seq = after;
    return b;
  }
  std::uint64_t held() { return store::reader(*prov).stats().total; }
};

json::value body(const node::net::http_response& r) { return json::parse(r.body); }

}  // namespace

TEST_CASE("push pipeline: batches that continue one another are answered while they commit, ack only when durable") {
  two_stores s;
  const std::size_t n = push_pipeline::depth + 2;  // batches of 10
  s.import(10 * n);
  push_pipeline pipes(*s.prov, *s.prov_w);
  std::vector<replication::change_batch> b;
  for (std::size_t i = 0; i < n; ++i) b.push_back(s.batch(i ? b.back().last_seq : 0, 10));
  REQUIRE(b.back().last_seq == 10 * n);
  for (std::size_t i = 0; i < n; ++i) {
    auto r = pipes.push(s.nanjing, b[i]);
    REQUIRE(r.status == 200);
    CHECK(body(r).at("queued").to_number<std::uint64_t>() == b[i].last_seq);
    auto ack = body(r).at("ack").to_number<std::uint64_t>();
    CHECK(ack <= b[i].last_seq);  // the newest may still be committing
    // At most `depth` batches in flight: the one that many before is durable.
    if (i >= push_pipeline::depth) CHECK(ack >= b[i - push_pipeline::depth].last_seq);
  }
  // The closing empty batch is answered once everything is durable.
  auto flush = s.batch(b.back().last_seq, 10);
  CHECK(flush.changes.empty());
  auto r4 = pipes.push(s.nanjing, flush);
  REQUIRE(r4.status == 200);
  CHECK(body(r4).at("ack").to_number<std::uint64_t>() == 10 * n);
  // Every answer says how big a batch this parent takes; the child reads it so.
  auto said = replication::limits_in_answer(r4.body);
  CHECK(said.max_changes == replication::batch_limits::large().max_changes);
  CHECK(said.max_bytes == replication::batch_limits::large().max_bytes);
  CHECK(said.max_changes > replication::batch_limits{}.max_changes);
  CHECK(s.held() == 10 * n);
  CHECK(store::reader(*s.prov).cursor_of("up:js.nanjing")->seq == 10 * n);
}

TEST_CASE("push pipeline: over its bound of queued changes, a push is answered only when its batches are durable") {
  using namespace std::chrono_literals;
  two_stores s;
  s.import(20);
  // The writer held up: a job whose continuation waits on `gate`.
  auto hold_writer = [&](std::shared_future<void> gate) {
    s.prov_w->submit_then({}, [gate](store::settled_batch) { gate.wait(); });
  };
  {  // under the bound (the default): answered while the batch waits on the writer
    push_pipeline pipes(*s.prov, *s.prov_w);
    std::promise<void> open;
    hold_writer(open.get_future().share());
    auto b = s.batch(0, 10);
    auto answer = std::async(std::launch::async, [&] { return pipes.push(s.nanjing, b); });
    REQUIRE(answer.wait_for(5s * test::time_scale) == std::future_status::ready);
    CHECK(body(answer.get()).at("ack").to_number<std::uint64_t>() == 0);  // not durable yet, and said so
    open.set_value();
  }
  for (int i = 0; i < 500 * test::time_scale && s.held() < 10; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(s.held() == 10);
  {  // bound 5: a batch of 10 takes the queue over it, so its answer waits for the commit
    push_pipeline pipes(*s.prov, *s.prov_w, [] { return std::uint64_t{0}; }, 5);
    std::promise<void> open;
    hold_writer(open.get_future().share());
    auto b = s.batch(10, 10);
    auto answer = std::async(std::launch::async, [&] { return pipes.push(s.nanjing, b); });
    CHECK(answer.wait_for(300ms) == std::future_status::timeout);
    open.set_value();
    auto r = answer.get();
    REQUIRE(r.status == 200);
    CHECK(body(r).at("ack").to_number<std::uint64_t>() == 20);
  }
  CHECK(s.held() == 20);
}

TEST_CASE("push pipeline: a batch that skips ahead of what is held gets 409 sync_gap with the ack, and nothing applied") {
  two_stores s;
  s.import(30);
  {
    push_pipeline pipes(*s.prov, *s.prov_w);
    auto b1 = s.batch(0, 10);
    REQUIRE(pipes.push(s.nanjing, b1).status == 200);
    REQUIRE(pipes.push(s.nanjing, s.batch(b1.last_seq, 0)).status == 200);  // flush: 10 durable
  }
  // The parent restarted (a new pipeline) and the child's batch 21..30
  // arrives, as if 11..20 had been answered before the restart but lost.
  push_pipeline restarted(*s.prov, *s.prov_w);
  auto r = restarted.push(s.nanjing, s.batch(20, 10));
  CHECK(r.status == 409);
  CHECK(body(r).at("error").as_string() == "sync_gap");
  CHECK(body(r).at("ack").to_number<std::uint64_t>() == 10);
  CHECK(s.held() == 10);
  // Resending from the ack is accepted.
  auto again = s.batch(10, 20);
  REQUIRE(restarted.push(s.nanjing, again).status == 200);
  REQUIRE(restarted.push(s.nanjing, s.batch(again.last_seq, 0)).status == 200);
  CHECK(s.held() == 30);
}

TEST_CASE("push pipeline: out-of-order batches on a live pipe wait for what is durable and are refused as a gap") {
  two_stores s;
  s.import(30);
  push_pipeline pipes(*s.prov, *s.prov_w);
  auto b1 = s.batch(0, 10);
  REQUIRE(pipes.push(s.nanjing, b1).status == 200);
  auto r = pipes.push(s.nanjing, s.batch(20, 10));  // 11..20 never sent
  CHECK(r.status == 409);
  CHECK(body(r).at("ack").to_number<std::uint64_t>() == 10);
  CHECK(s.held() == 10);
}

TEST_CASE("push pipeline: a batch still queued when its child is suspended is not applied, and the pipe says so") {
  two_stores s;
  s.import(20);
  auto state = [&](store::node_state to) {
    store::registry_op op;
    op.what = store::registry_op::kind::set_state;
    op.entry.node_id = "js.nanjing";
    op.entry.role = "local";
    op.entry.jurisdiction = "320100";
    op.to = to;
    op.reason = "test";
    op.create = true;
    store::commit_one(*s.prov_w, std::move(op));
  };
  state(store::node_state::admitted);
  push_pipeline pipes(*s.prov, *s.prov_w);
  auto b1 = s.batch(0, 10), b2 = s.batch(b1.last_seq, 10);
  REQUIRE(pipes.push(s.nanjing, b1).status == 200);
  state(store::node_state::suspended);  // as an operator or a violation threshold would, mid-pipe
  auto r2 = pipes.push(s.nanjing, b2);
  // b2 is refused in the writer, whole; the refusal surfaces at once or at the next push.
  auto flush = s.batch(b2.last_seq, 10);
  auto r3 = r2.status == 200 ? pipes.push(s.nanjing, flush) : r2;
  CHECK(r3.status == 503);
  CHECK_MESSAGE(r3.body.find("js.nanjing is suspended") != std::string::npos, r3.body);
  CHECK(s.held() == 10);  // b1 only
  CHECK(store::reader(*s.prov).cursor_of("up:js.nanjing")->seq == 10);
}

// Each batch of a catch-up says more is coming, so the parent's writer waits
// for the next to join its commit — but the next is not sent until this
// answer goes out, and past `depth` an answer waits for a commit: the
// pipeline must hurry the writer rather than both waiting on each other.
TEST_CASE("push pipeline: an answer that waits for a commit hurries a writer waiting for the next batch") {
  using namespace std::chrono_literals;
  two_stores s;
  s.prov_w->group_wait(600s);  // a writer left waiting would outlast the test
  const std::size_t n = push_pipeline::depth + 2;
  s.import(10 * n);
  push_pipeline pipes(*s.prov, *s.prov_w);
  std::vector<replication::change_batch> b;
  for (std::size_t i = 0; i < n; ++i) b.push_back(s.batch(i ? b.back().last_seq : 0, 10));
  for (std::size_t i = 0; i + 1 < n; ++i) REQUIRE(b[i].more);
  auto all = std::async(std::launch::async, [&] {
    for (auto& x : b) REQUIRE(pipes.push(s.nanjing, x).status == 200);
    return pipes.push(s.nanjing, s.batch(b.back().last_seq, 10));
  });
  bool in_time = all.wait_for(30s) == std::future_status::ready;
  if (!in_time) s.prov_w->group_wait(0ms), s.prov_w->hurry();  // let the test end
  REQUIRE(in_time);
  auto last = all.get();
  REQUIRE(last.status == 200);
  CHECK(body(last).at("ack").to_number<std::uint64_t>() == 10 * n);
  CHECK(s.held() == 10 * n);
}

// A key-order catch-up's batches all name the same position (sync/
// catchup.hpp), so a failed one is not a gap the parent could see: the
// child sends its last batch only after an empty batch at that position was
// answered 200, which the parent gives only once every batch before it is
// durable. Here commits fail as on a full disk (a small map) somewhere in
// the catch-up, for several sizes: whenever every answer up to the barrier
// was 200, every record is held — even when a request of the same child on
// another connection (one it gave up on, say) came in between: a failure
// is said on the connection whose batch failed.
TEST_CASE("push pipeline: an empty batch after a key-order catch-up is answered 200 only when all of it is durable") {
  test::temp_dir d;
  auto local = store::environment::open({d / "local"});
  {
    store::writer w(*local);
    std::mt19937_64 rng(8);
    store::write_batch b;
    b.origin = "js.nanjing";
    auto firms = node::demo::make_enterprises(200, {"320106"}, rng);
    for (std::size_t i = 0; i < 20050; ++i)
      b.rows.push_back({"tax", firms[i % firms.size()], "r" + std::to_string(i), "2026-10-15", "tax bureau",
                        R"({"period":"2026-09","tax_type":"VAT","amount_paid":"1.00"})", 1, {}});
    w.submit(std::move(b)).get();
  }
  replication::peer nanjing{"js.nanjing", "local", "320100"};
  int refused_somewhere = 0;
  for (std::uint64_t mb = 1; mb <= 6; ++mb) {
    auto prov = store::environment::open({d / ("prov" + std::to_string(mb)), mb});
    store::writer w(*prov);
    push_pipeline pipes(*prov, w);
    auto k = replication::plan_up_by_key(*local, 0);
    REQUIRE(k);
    std::size_t sent = 0;
    bool all_200 = true;
    while (all_200) {
      auto b = replication::collect_up_by_key(*local, "js.nanjing", *k, {2000, 16 << 20});
      if (k->done) break;  // the last: not sent before the barrier
      sent += b.changes.size();
      all_200 = pipes.push(nanjing, b, "127.0.0.1:40001").status == 200;
    }
    INFO("map " << mb << " MB, " << sent << " records sent");
    if (!all_200) {
      ++refused_somewhere;
      continue;
    }
    // Everything settled (a failure among it not yet said): then a request
    // of another connection, answered to nobody — which must not take the
    // live connection's failure with it.
    for (int i = 0; i < 5000 && w.queued_replicas() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    replication::change_batch ask{"js.nanjing", local->instance_id(), {}, 0, false, std::nullopt};
    pipes.push(nanjing, ask, "127.0.0.1:40000");
    replication::change_batch barrier{"js.nanjing", local->instance_id(), {}, 0, false, 0};
    auto r = pipes.push(nanjing, barrier, "127.0.0.1:40001");
    if (r.status != 200) {
      ++refused_somewhere;
      CHECK(r.status == 503);
      continue;
    }
    CHECK(store::reader(*prov).stats().total == sent);
  }
  CHECK(refused_somewhere > 0);  // the small maps did fail somewhere
  CHECK(refused_somewhere < 6);  // and a large enough one held it all
}

// One pipe per connection: a child that reconnects again and again (a
// flaky link) must not leave a pipe behind for each connection it had.
TEST_CASE("push pipeline: pipes of a child's connections gone quiet are dropped") {
  two_stores s;
  s.import(10);
  push_pipeline pipes(*s.prov, *s.prov_w);
  for (int i = 0; i < 50; ++i) {
    replication::change_batch ask{"js.nanjing", s.local->instance_id(), {}, 0, false, std::nullopt};
    CHECK(pipes.push(s.nanjing, ask, "127.0.0.1:" + std::to_string(40000 + i)).status == 200);
  }
  CHECK(pipes.open_pipes() <= 2);  // the last connection's, and at most one not yet seen quiet
  auto b = s.batch(0, 100);
  b.after_seq.reset();  // not pipelined: answered once durable
  CHECK(pipes.push(s.nanjing, b, "127.0.0.1:41000").status == 200);
  CHECK(s.held() == 10);
  CHECK(pipes.open_pipes() <= 2);
}

// A quiet pipe holding a failure nobody heard is kept for its connection's
// next push, but not for ever: once quiet longer than a connection stays
// open (the server's idle timeout), that push cannot come.
TEST_CASE("push pipeline: a quiet pipe keeps an unsaid failure for its connection, until quiet too long") {
  two_stores s;
  s.import(20);
  store::registry_op op;
  op.what = store::registry_op::kind::set_state;
  op.entry.node_id = "js.nanjing";
  op.entry.role = "local";
  op.entry.jurisdiction = "320100";
  op.to = store::node_state::admitted;
  op.reason = "test";
  op.create = true;
  store::commit_one(*s.prov_w, op);
  push_pipeline pipes(*s.prov, *s.prov_w);
  auto b1 = s.batch(0, 10), b2 = s.batch(b1.last_seq, 10);
  REQUIRE(pipes.push(s.nanjing, b1, "127.0.0.1:40001").status == 200);
  op.to = store::node_state::suspended;
  op.create = false;
  store::commit_one(*s.prov_w, op);
  REQUIRE(pipes.push(s.nanjing, b2, "127.0.0.1:40001").status == 200);  // answered while it commits; it fails
  for (int i = 0; i < 5000 && s.prov_w->queued_replicas() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  replication::change_batch ask{"js.nanjing", s.local->instance_id(), {}, 0, false, std::nullopt};
  pipes.push(s.nanjing, ask, "127.0.0.1:40002");
  CHECK(pipes.open_pipes() == 2);  // 40001 keeps its failure for its next push
  pipes.forget_failures_after(std::chrono::milliseconds(0));
  pipes.push(s.nanjing, ask, "127.0.0.1:40003");
  CHECK(pipes.open_pipes() == 1);  // 40001 quiet too long (and 40002 quiet): only 40003
  CHECK(s.held() == 10);
}

// A resend (the answer was lost, the parent restarted) repeats changes the
// parent already holds: what was refused then is not refused, quarantined
// and charged to the child again — a child would otherwise be suspended
// for one refusal sent twice.
TEST_CASE("push pipeline: a resent batch's changes already held are not applied, quarantined or charged again") {
  two_stores s;
  s.import(3);
  test::admit_child(*s.prov_w, "js.nanjing", "local", "320100");  // its violations are counted
  auto b = s.batch(0, 10);
  REQUIRE(b.changes.size() == 3);
  b.changes[1].rec.subject = "91320506MA1234567X";  // Suzhou: outside the child's jurisdiction
  auto resend = b;
  {
    push_pipeline pipes(*s.prov, *s.prov_w);
    auto r = pipes.push(s.nanjing, b);
    REQUIRE(r.status == 200);
    CHECK(body(r).at("refused").as_array().size() == 1);
    REQUIRE(pipes.push(s.nanjing, s.batch(3, 0)).status == 200);  // durable
  }
  push_pipeline restarted(*s.prov, *s.prov_w);
  auto r = restarted.push(s.nanjing, resend);
  REQUIRE(r.status == 200);
  CHECK(body(r).at("refused").as_array().empty());
  REQUIRE(restarted.push(s.nanjing, s.batch(3, 0)).status == 200);  // whatever the resend queued is durable
  CHECK(s.held() == 2);
  CHECK(store::reader(*s.prov).node("js.nanjing")->violations == 1);
  std::size_t quarantined = 0;
  store::reader(*s.prov).for_each_quarantine([&](std::uint64_t, std::string_view) { return ++quarantined, true; });
  CHECK(quarantined == 1);
}
