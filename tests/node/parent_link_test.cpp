// The child's link against a parent that misbehaves on cue: a scripted sync
// listener on loopback with real TLS and certificates (http_fixture), a real
// store and writer, the real parent_link. What a real parent never does —
// an error page, a digest of another shape, failures in a row — is what
// these test.
#include <boost/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "http_fixture.hpp"
#include "replica_batch.hpp"
#include "node/service/parent_link.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "test_util.hpp"

namespace {

using namespace http_fixture;
namespace json = boost::json;
using handler = std::function<http_response(int nth)>;
const std::string parent_instance = "0123456789abcdef0123456789abcdef";

// Nothing new; `own`: the answer to an own=1 pull says it includes them.
http_response empty_pull(bool own = false) {
  return http_response::json(200, R"({"node":"js.province","instance":")" + parent_instance +
                                      R"(","last_seq":0,"changes":[],"more":false)" + (own ? R"(,"own":true})" : "}"));
}

http_response ack_of(const http_request& r, std::uint64_t ack) {
  auto instance = json::parse(r.body).at("instance");
  return http_response::json(200, json::serialize(json::object{{"ack", ack}, {"instance", instance},
                                                               {"refused", json::array{}}, {"events", json::array{}}}));
}

// Join admits, a push is acknowledged at 0 for the child's instance; pulls
// and digests answer as the test says (the nth call, from 1).
struct fake_parent {
  tls_world w;
  std::mutex mu;
  handler pull = [](int) { return empty_pull(); };
  std::function<http_response(const http_request&, int nth)> push = [](const http_request& r, int) { return ack_of(r, 0); };
  std::vector<std::string> pull_queries;
  int pushes = 0;
  handler digest = [](int) { return http_response::json(200, R"({"categories":{}})"); };
  std::vector<steady::time_point> pulls_at;
  int digests = 0;
  std::unique_ptr<served> srv;

  fake_parent() {
    listener_config l;
    l.name = "sync";
    l.address = "127.0.0.1:0";
    l.tls = w.server_ctx();
    l.body_limit = 32 << 20;  // a real parent's push bound: a batch of 5,000 changes is over 1 MiB
    l.router.add("POST", "/sync/v1/join", [](const http_request&) {
      return http_response::json(200, R"({"decision":"admitted","reasons":[]})");
    });
    l.router.add("POST", "/sync/v1/push", [this](const http_request& r) {
      std::lock_guard lk(mu);
      return push(r, ++pushes);
    });
    l.router.add("GET", "/sync/v1/pull", [this](const http_request& r) {
      std::this_thread::sleep_for(20ms);  // a long-poll in miniature: the child does not spin
      std::lock_guard lk(mu);
      pulls_at.push_back(steady::now());
      pull_queries.push_back(r.query);
      return pull(static_cast<int>(pulls_at.size()));
    });
    l.router.add("GET", "/sync/v1/digest", [this](const http_request&) {
      std::lock_guard lk(mu);
      return digest(++digests);
    });
    srv = std::make_unique<served>(std::move(l), short_options(), 30000ms);
  }
  std::size_t pulls() {
    std::lock_guard lk(mu);
    return pulls_at.size();
  }
  int digests_asked() {
    std::lock_guard lk(mu);
    return digests;
  }
  std::vector<std::string> queries() {
    std::lock_guard lk(mu);
    return pull_queries;
  }
  // Waits (20 s, scaled) until `pred` holds of what the push handler saw.
  template <class Pred>
  bool until(Pred pred);
};

struct child_node {
  test::temp_dir d;
  config::node_config cfg;
  std::unique_ptr<store::environment> env;
  std::unique_ptr<store::writer> w;
  node::service::change_signal changed;
  std::unique_ptr<node::service::parent_link> link;

  explicit child_node(fake_parent& p, bool start = true) {
    cfg.node = {"js.nanjing", "local", "320100", d.path().string()};
    cfg.tls = {p.w.client_files.ca, p.w.client_files.cert, p.w.client_files.key};
    cfg.upstream = config::upstream_section{"https://" + p.srv->addr, "js.province"};
    env = store::environment::open({d.path().string()});
    w = std::make_unique<store::writer>(*env);
    link = std::make_unique<node::service::parent_link>(cfg, *env, *w, changed, nullptr);
    if (start) link->start();
  }
  ~child_node() { link->stop(); }
  std::optional<store::peer_cursor_state> down_cursor() { return store::reader(*env).cursor_of("down:js.province"); }
  // 100 tax records of each of `firms` Nanjing firms, this node's own.
  void own_records(std::size_t firms, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    store::write_batch rows;
    rows.origin = "js.nanjing";
    for (const auto& f : node::demo::make_enterprises(firms, {"320106"}, rng))
      for (int i = 0; i < 100; ++i)
        rows.rows.push_back({"tax", f, "r" + std::to_string(i), "2026-10-15", "tax bureau",
                             R"({"period":"2026-09","tax_type":"VAT","amount_paid":"1.00"})", 1, {}});
    w->submit(std::move(rows)).get();
  }
  json::object state() {
    json::error_code ec;
    auto v = json::parse(node::service::read_link_state(cfg), ec);
    return !ec && v.is_object() ? v.as_object() : json::object{};
  }
};

template <class Pred>
bool within(std::chrono::milliseconds limit, Pred pred) {
  for (auto end = steady::now() + limit * test::time_scale; steady::now() < end; std::this_thread::sleep_for(20ms))
    if (pred()) return true;
  return pred();
}

template <class Pred>
bool fake_parent::until(Pred pred) {
  return within(20000ms, [&] {
    std::lock_guard lk(mu);
    return pred();
  });
}

}  // namespace

TEST_CASE("parent link: a digest it cannot read leaves agreement unknown, says why once, and the pull goes on") {
  log_capture logs;
  fake_parent p;
  p.digest = [](int) { return http_response::json(200, R"({"categories":{"tax":{"count":"many"}}})"); };
  child_node c(p);
  REQUIRE(within(5000ms, [&] { return c.state().contains("digest_error"); }));
  auto s = c.state();
  CHECK(s.at("state") == "admitted");
  CHECK(std::string(s.at("digest_error").as_string()).find("the parent's answer is not a digest") == 0);
  CHECK_FALSE(s.contains("in_sync"));
  auto after = p.pulls();
  CHECK(within(3000ms, [&] { return p.pulls() >= after + 5; }));
  // The round goes on: a new round would compare again at once (every
  // round starts with a comparison due), and say it again.
  CHECK(p.digests_asked() == 1);
  CHECK(logs.count({"event=sync_digest_unknown", "js.province"}) == 1);
  CHECK(logs.find({"event=sync_failed"}) == "");
}

TEST_CASE("parent link: a parent's error page goes into the state file cut to a readable prefix") {
  log_capture logs;
  fake_parent p;
  // 64 KiB of an error page, with bytes that are not UTF-8 (a GBK page).
  p.pull = [](int) { return http_response::text(500, "\xd5\xfe\xb8\xae " + std::string(64 << 10, 'x')); };
  child_node c(p);
  // The pusher says "admitted" once it got its ack: the pull's failure
  // after that is what counts.
  REQUIRE(within(5000ms, [&] {
    auto s = c.state();
    return s.contains("last_error") && s.at("state") == "unreachable";
  }));
  auto s = c.state();
  std::string why(s.at("last_error").as_string());
  CHECK(why.find("pull answered 500: ") == 0);
  CHECK(why.size() < 400);
  auto line = logs.find({"event=sync_failed", "pull answered 500"});
  CHECK(line != "");
  CHECK(line.size() < 800);
}

// The wait between failed rounds doubles (0.5 s, 1 s, 2 s, ...) but starts
// at 0.5 s again once a round got through: after a few blips, a link that
// worked in between must not wait 30 s on the next one.
TEST_CASE("parent link: the backoff grows over failures in a row and starts again after a round that got through") {
  fake_parent p;
  auto fails = [](int n) { return n <= 3 || n >= 12; };  // 3 failures, 8 good pulls, then failures again
  p.pull = [fails](int n) { return fails(n) ? http_response::text(500, "down") : empty_pull(); };
  child_node c(p);
  REQUIRE(within(12000ms, [&] { return p.pulls() >= 13; }));
  std::vector<steady::time_point> at;
  {
    std::lock_guard lk(p.mu);
    at = p.pulls_at;
  }
  // From the nth pull (counted from 1) to the next.
  auto gap = [&](int n) { return std::chrono::duration_cast<std::chrono::milliseconds>(at[n] - at[n - 1]); };
  // After the 2nd failure the wait was 1 s (+-20 %), after the 3rd 2 s.
  CHECK(gap(2) >= 750ms);
  CHECK(gap(3) >= 1500ms);
  CHECK(gap(4) < gap(2));  // the good pulls follow each other
  // After the good pulls, the retry of the 12th comes after 0.5 s (+-20 %),
  // not 4 s: sooner than the 2 s wait before (compared, so a slow machine's
  // handshakes count on both sides).
  CHECK(gap(12) < gap(3));
}

// The child holds the parent's changes up to 5 (with its stamp there).
void hold_down_cursor(child_node& c) {
  store::write_batch held;
  held.cursor = store::peer_cursor{"down:js.province", parent_instance, 5, 0, 0x1000000000000abcull};
  c.w->submit(std::move(held)).get();
}

// A parent that answers 409 to the cursor and stamp the child holds went
// back: the child pulls from 0, and stores that (else a restart would send
// the old cursor and stamp again, and pull everything once more).
TEST_CASE("parent link: a parent gone back answers 409 and the child's stored cursor starts again at 0") {
  log_capture logs;
  fake_parent p;
  p.pull = [](int n) {
    return n == 1 ? http_response::error(409, "cursor_elsewhere", "the change at cursor 5 here is not the one sent") : empty_pull();
  };
  child_node c(p, false);
  hold_down_cursor(c);
  c.link->start();
  REQUIRE(within(5000ms, [&] { return p.pulls() >= 2; }));
  auto q = p.queries();
  CHECK(q[0].find("cursor=5&") == 0);
  CHECK(q[0].find("cursor_stamp=1000000000000abc") != std::string::npos);
  CHECK(q[1].find("cursor=0&") == 0);
  CHECK(q[1].find("cursor_stamp") == std::string::npos);
  auto cur = c.down_cursor();
  REQUIRE(cur);
  CHECK(cur->seq == 0);
  CHECK(cur->stamp == 0);
  CHECK(logs.find({"event=sync_reconcile", "direction=down", "cursor_elsewhere"}) != "");
}

// A parent restored from a backup answers 409 to the cursor, then pulls
// under its new instance id: that is the same going back, reconciled once
// (a second reconcile threw away the first batch pulled from 0).
TEST_CASE("parent link: a 409 and then a new parent instance are one reconcile, not two") {
  log_capture logs;
  fake_parent p;
  p.pull = [](int n) {
    if (n == 1) return http_response::error(409, "cursor_elsewhere", "the change at cursor 5 here is not the one sent");
    return http_response::json(200, R"({"node":"js.province","instance":"fedcba9876543210fedcba9876543210",)"
                                     R"("last_seq":0,"changes":[],"more":false})");
  };
  child_node c(p, false);
  hold_down_cursor(c);
  c.link->start();
  REQUIRE(within(5000ms, [&] { return p.pulls() >= 4; }));
  CHECK(logs.count({"event=sync_reconcile", "direction=down"}) == 1);
}

// An ack past this store's log: it went back keeping its instance id. The
// child writes recover-own, takes a new instance id, pushes from 0 under
// it, and pulls from 0 with its own records (stored as such), until a pull
// finds nothing new; then the flag goes.
TEST_CASE("parent link: an ack past the store's log renews its instance, and the recovery pulls from 0 with own=1") {
  log_capture logs;
  fake_parent p;
  std::vector<std::string> instances;  // as each push named it
  p.push = [&instances](const http_request& r, int n) {
    instances.emplace_back(json::parse(r.body).at("instance").as_string());
    return ack_of(r, n == 1 ? 99 : 0);  // the first ask: 99 of a store that holds nothing
  };
  p.pull = [&p](int) { return empty_pull(p.pull_queries.back().find("own=1") != std::string::npos); };
  child_node c(p, false);
  auto held = test::replica_batch(1, 0);  // one record of its own: change 1
  held.via.clear();
  held.self = "js.nanjing";
  held.cursor = store::peer_cursor{"down:js.province", parent_instance, 5, 0, 0};
  c.w->submit(std::move(held)).get();
  auto before = c.env->instance_id();
  c.link->start();
  REQUIRE(within(5000ms, [&] { return logs.find({"event=sync_recovered"}) != ""; }));
  CHECK(c.env->instance_id() != before);
  CHECK(logs.find({"event=sync_store_went_back", "its change log ends at 1"}) != "");
  {
    std::lock_guard lk(p.mu);
    REQUIRE(instances.size() >= 2);
    CHECK(instances[0] == before);
    CHECK(instances.back() == c.env->instance_id());  // its change went up again under the new one
  }
  bool from_zero_own = false;
  for (const auto& q : p.queries()) from_zero_own = from_zero_own || (q.find("cursor=0&") == 0 && q.find("own=1") != std::string::npos);
  CHECK(from_zero_own);
  auto cur = c.down_cursor();
  REQUIRE(cur);
  CHECK(cur->seq == 0);  // stored: a restart recovers from 0 too
  CHECK_FALSE(node::service::recovery_pending(c.cfg));  // the recovery ended
}

// A catch-up in key order (sync/catchup.hpp) moves the parent's cursor
// only at its end, so one cut short starts again from its beginning. Two
// from the same ack cut short, the third goes in log order, whose ack
// moves batch by batch: a link that keeps breaking still gets there.
TEST_CASE("parent link: a key-order catch-up cut short twice from one ack goes on in log order") {
  log_capture logs;
  fake_parent p;
  int key_batches = 0;
  std::uint64_t log_order_ack = 0;
  p.push = [&](const http_request& r, int) {
    auto b = json::parse(r.body).as_object();
    if (b.at("changes").as_array().empty()) return ack_of(r, log_order_ack);
    auto after = b.at("after_seq").to_number<std::uint64_t>(), last = b.at("last_seq").to_number<std::uint64_t>();
    if (after == last)  // key order: every second batch fails, so no run of four gets through
      return ++key_batches % 2 == 0 ? http_response::error(503, "apply_failed", "scripted") : ack_of(r, 0);
    return ack_of(r, log_order_ack = last);
  };
  child_node c(p, false);
  c.own_records(200, 5);
  c.link->start();
  REQUIRE_MESSAGE(p.until([&] { return log_order_ack == 20000; }), [&] {
    std::lock_guard lk(logs.mu);
    std::string all;
    for (const auto& l : logs.lines) all += l + "\n";
    return all;
  }());
  CHECK(logs.count({"event=sync_push_by_key", "records=20000 from=0 to=20000 attempt=1"}) == 1);
  CHECK(logs.count({"event=sync_push_by_key", "records=20000 from=0 to=20000 attempt=2"}) == 1);
  CHECK(logs.count({"event=sync_push_by_key"}) == 2);
  CHECK(logs.count({"event=sync_push_in_log_order", "from=0"}) == 1);
  std::lock_guard lk(p.mu);
  CHECK(key_batches >= 4);
}

// The last batch of a key-order catch-up moves the parent's cursor over
// every batch before it, which carry no position the parent could check:
// it goes only after an empty batch at the catch-up's start was answered
// (the parent answers that once everything before it is durable), never
// written ahead, and only if every batch of the catch-up went over the
// connection the barrier went over.
TEST_CASE("parent link: a key-order catch-up's last batch waits for an empty batch answered on the same connection") {
  log_capture logs;
  fake_parent p;
  struct seen { std::uint64_t after, last; std::size_t changes; std::string remote; };
  std::vector<seen> got;
  std::uint64_t acked = 0;
  p.push = [&](const http_request& r, int) {
    auto b = json::parse(r.body).as_object();
    auto* after = b.if_contains("after_seq");
    got.push_back({after ? after->to_number<std::uint64_t>() : 0, b.at("last_seq").to_number<std::uint64_t>(),
                   b.at("changes").as_array().size(), r.remote});
    if (got.back().last > acked && got.back().changes) acked = got.back().last;  // the last batch committed
    return ack_of(r, acked);
  };
  child_node c(p, false);
  c.own_records(250, 6);
  c.link->start();
  REQUIRE(p.until([&] { return acked == 25000; }));
  std::lock_guard lk(p.mu);
  // The child's first empty batch asks for the ack; then 5,000 at a time
  // in key order at 0; the barrier; the last 5,000, which bring it to 25,000.
  std::vector<std::size_t> key_batches;
  std::size_t barrier = 0, last = 0;
  for (std::size_t i = 1; i < got.size(); ++i) {
    if (got[i].after == 0 && got[i].last == 0 && got[i].changes) key_batches.push_back(i);
    if (got[i].after == 0 && got[i].last == 0 && !got[i].changes && !key_batches.empty() && !barrier) barrier = i;
    if (got[i].last == 25000 && got[i].changes && !last) last = i;
  }
  REQUIRE(key_batches.size() == 4);
  CHECK(key_batches == std::vector<std::size_t>{1, 2, 3, 4});
  CHECK(barrier == 5);
  CHECK(last == 6);
  CHECK(got[last].changes == 5000);
  for (std::size_t i = 1; i <= last; ++i) CHECK(got[i].remote == got[1].remote);
  CHECK(logs.count({"event=sync_push_by_key", "records=25000 from=0 to=25000 attempt=1"}) == 1);
}

// The empty batch before a key-order catch-up's last says something
// failed (503): the last batch must not have been written ahead of it (the
// parent would read it after its 503), and the catch-up starts again.
TEST_CASE("parent link: when the empty batch before a key-order catch-up's last is refused, the last does not go") {
  log_capture logs;
  fake_parent p;
  std::vector<std::pair<std::uint64_t, std::size_t>> got;  // last_seq, changes
  int barriers = 0;
  std::uint64_t acked = 0;
  p.push = [&](const http_request& r, int) {
    auto b = json::parse(r.body).as_object();
    auto last = b.at("last_seq").to_number<std::uint64_t>();
    auto n = b.at("changes").as_array().size();
    got.emplace_back(last, n);
    if (b.if_contains("after_seq") && n == 0 && last == 0 && ++barriers == 1)
      return http_response::error(503, "apply_failed", "scripted: a batch before this one failed");
    if (last > acked && n) acked = last;
    return ack_of(r, acked);
  };
  child_node c(p, false);
  c.own_records(250, 7);
  c.link->start();
  REQUIRE(p.until([&] { return acked == 25000; }));
  std::lock_guard lk(p.mu);
  std::size_t first_barrier = 0;
  for (std::size_t i = 0; i < got.size() && !first_barrier; ++i)
    if (got[i] == std::pair<std::uint64_t, std::size_t>{0, 0} && i > 1) first_barrier = i;
  REQUIRE(first_barrier > 0);
  // After the refused empty batch: the child's ask, then the catch-up again from its start.
  for (std::size_t i = first_barrier + 1; i < first_barrier + 3 && i < got.size(); ++i) CHECK(got[i].first != 25000);
  CHECK(barriers == 2);
  CHECK(logs.count({"event=sync_push_by_key", "records=25000 from=0 to=25000 attempt=2"}) == 1);
}
