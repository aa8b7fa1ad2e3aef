#include "node/service/parent_link.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>

#include "node/net/client.hpp"
#include "node/net/log.hpp"
#include "node/pki/pki.hpp"
#include "node/service/backoff.hpp"
#include "store/model/record.hpp"
#include "store/model/validate.hpp"
#include "store/reader.hpp"
#include "sync/digest.hpp"
#include "sync/exchange.hpp"

namespace node::service {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string address_of(const std::string& url) {
  std::string a = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  if (!a.empty() && a.back() == '/') a.pop_back();
  return a;
}

}  // namespace

constexpr auto digest_every = std::chrono::seconds(60);
constexpr auto cursor_save_every = std::chrono::seconds(10);

// A parent's error answer, as far as a log line or the state file shows it.
static std::string answer_excerpt(const net::http_response& r) { return store::model::printable_prefix(r.body, 300); }

struct parent_link::impl {
  const config::node_config& cfg;
  store::environment& env;
  store::writer& writer;
  change_signal& changed;
  std::shared_ptr<net::tls_context> tls;
  replication::peer parent;
  std::atomic<bool> stopping{false};
  // True while the pusher has nothing to send: digests are compared only
  // then, or a bulk catch-up would be slowed by full scans on both sides.
  std::atomic<bool> push_idle{false};
  // A round got through since the last failure: the next failure's wait
  // starts again at 0.5 s (a round ends only by an error or a stop).
  std::atomic<bool> pushed_ok{false}, pulled_ok{false};
  // Set by the puller when the parent's store was replaced or restored: it
  // may hold less of ours than it acknowledged, so the pusher asks again.
  std::atomic<bool> parent_reset{false};
  posture_fn posture;
  std::atomic<bool> admitted{false};
  std::chrono::steady_clock::time_point cursor_saved_at{};  // the puller's last durable cursor (pull_once)
  // What one pushed batch may hold: the default until the parent's answer
  // says it takes more (an older parent does not say, and gets the default).
  replication::batch_limits push_limits;
  std::mutex join_mu;  // one join at a time for both threads
  std::thread pusher, puller;
  std::mutex mu;  // guards the state below
  json::object state;

  impl(const config::node_config& c, store::environment& e, store::writer& w, change_signal& s, posture_fn p)
      : cfg(c), env(e), writer(w), changed(s),
        tls(net::tls_context::make(net::tls_side::client, {c.tls.ca, c.tls.cert, c.tls.key})),
        parent{c.upstream->node_id, "", ""}, posture(std::move(p)) {
    own_serial = pki::read_identity_pem(c.tls.cert).serial_hex;
    state = {{"parent", parent.node_id}, {"url", c.upstream->url}, {"state", "unreachable"},
             {"reasons", json::array{"not connected yet"}}};
    carry_last_known();
  }
  // What the previous run last heard from the same parent, until this one
  // hears it again: a node restarted during an outage kept no cursors, and
  // its lag went blank in status and /metrics.
  void carry_last_known() {
    json::error_code ec;
    auto old = json::parse(read_link_state(cfg), ec);
    if (ec || !old.is_object() || old.as_object().if_contains("parent") == nullptr ||
        old.at("parent") != json::value(parent.node_id) || old.as_object().if_contains("url") == nullptr ||
        old.at("url") != json::value(cfg.upstream->url))
      return;
    for (const char* k : {"push_acked", "pull_cursor", "last_push_at", "last_pull_at", "last_error", "last_error_at"})
      if (auto* v = old.as_object().if_contains(k)) state[k] = *v;
  }

  // The clients in use, so that stop() interrupts a long-poll or a batch
  // under way instead of waiting it out (up to the 30 s timeout).
  struct live_client {
    impl& owner;
    std::unique_ptr<net::http_client> c;
    live_client(impl& o, std::unique_ptr<net::http_client> client) : owner(o), c(std::move(client)) {
      std::lock_guard lk(owner.clients_mu);
      owner.clients.push_back(c.get());
      if (owner.stopping) c->interrupt();  // stop() ran before it was listed
    }
    ~live_client() {
      std::lock_guard lk(owner.clients_mu);
      std::erase(owner.clients, c.get());
    }
    net::http_client& operator*() { return *c; }
    net::http_client* operator->() { return c.get(); }
  };
  std::mutex clients_mu;
  std::vector<net::http_client*> clients;

  live_client client(milliseconds timeout) {
    return {*this, net::http_client::make({address_of(cfg.upstream->url), parent.node_id, tls, timeout, 64u << 20})};
  }
  void interrupt_clients() {
    std::lock_guard lk(clients_mu);
    for (auto* c : clients) c->interrupt();
  }

  // Cursors change all the time (written at most every 2 s); events an
  // operator must see (a reconcile) are written at once.
  void set(const char* key, json::value v, bool at_once = false) {
    std::lock_guard lk(mu);
    bool first = !state.contains(key);  // status must see a cursor as soon as one exists
    state[key] = std::move(v);
    if (at_once || first || now_ms() - last_write_ms >= 2000) write_state();
  }
  // An idle link succeeds several times a second: the file is rewritten on
  // a change of state, and otherwise at most every 2 s (status shows when
  // the link last succeeded, to that precision).
  void ok(const char* dir) {
    (std::string_view(dir) == "push" ? pushed_ok : pulled_ok) = true;
    std::lock_guard lk(mu);
    bool was_connected = state["state"] == "admitted";
    // After an outage the log says the link is back, not only that it broke.
    if (state["state"] == "unreachable")
      net::log::info("sync_restored").kv("direction", dir).kv("parent", parent.node_id)
          .kv("last_error_at", state.contains("last_error_at") && state["last_error_at"].is_string()
                                ? std::string(state["last_error_at"].as_string()) : std::string("-"));
    state["state"] = "admitted";
    state["reasons"] = json::array{};
    state[std::string("last_") + dir + "_at"] = store::model::format_utc_ms(now_ms());
    if (!was_connected || now_ms() - last_write_ms >= 2000) write_state();
  }
  void failed(const char* dir, const std::string& why) {
    net::log::warn("sync_failed").kv("direction", dir).kv("parent", parent.node_id).kv("reason", why);
    std::lock_guard lk(mu);
    // Revocation is final: the handshakes that fail after it are its
    // consequence, and status keeps saying why.
    if (state["state"] != "revoked") {
      state["state"] = "unreachable";
      state["reasons"] = json::array{json::string(why)};
    }
    state["last_error"] = why;  // kept after recovery, with its time: the last thing that went wrong
    state["last_error_at"] = store::model::format_utc_ms(now_ms());
    write_state();
  }
  // Written whole and renamed: `status` never reads half a file.
  std::int64_t last_write_ms = 0;
  void write_state() {
    last_write_ms = now_ms();
    write_link_state(cfg, json::serialize(state));
  }

  // The parent refused us (or has not approved us yet): status shows its
  // reasons, and the log says them once per change.
  void refused(const admission_refused& r) {
    std::lock_guard lk(mu);
    json::array reasons;
    for (const auto& x : r.reasons) reasons.push_back(json::string(x));
    if (state["state"] == json::string(r.state) && state["reasons"] == json::value(reasons)) return;
    auto line = net::log::warn("sync_not_admitted");
    line.kv("parent", parent.node_id).kv("state", r.state);
    for (std::size_t i = 0; i < r.reasons.size(); ++i) line.kv("reason" + std::to_string(i + 1), r.reasons[i]);
    state["state"] = r.state;
    state["reasons"] = std::move(reasons);
    write_state();
  }
  void ensure_admitted(net::http_client& c);
  // The parent's revocation list, merged into ours (and so passed on to
  // our own children): certificates refused everywhere in the tree.
  std::size_t revoked_seen = 0;
  std::atomic<bool> pushed{false};
  std::string own_serial;  // our certificate's: on the parent's list means we are revoked
  void merge_revocations(const std::vector<store::revocation>& list) {
    store::registry_op op;
    op.what = store::registry_op::kind::merge_revocations;
    op.revocations = list;
    store::commit_one(writer, std::move(op));
    if (list.size() > revoked_seen)
      net::log::info("revocations_merged").kv("parent", parent.node_id).kv("count", static_cast<long long>(list.size()));
    revoked_seen = list.size();
  }
  void compare_digests(net::http_client& c);
  void push_loop();
  void pull_loop();
  std::uint64_t ask_ack(net::http_client& c);
  std::uint64_t recheck_ack(net::http_client& c, std::uint64_t acked);
  // One batch of the up stream, encoded and ready to post.
  struct prepared {
    replication::change_batch b;
    net::client_request req;
  };
  prepared collect_batch(std::uint64_t from);
  std::uint64_t push_from(net::http_client& c, std::uint64_t acked);
  void resend_from(std::uint64_t ack, std::uint64_t sent) const;
  std::uint64_t pushed_batches = 0, pushed_ahead = 0;
  void count_pushed(const replication::change_batch& b, bool ahead);
  std::uint64_t push_answer(const net::http_response& resp, bool& gap);
  std::uint64_t pull_once(net::http_client& c, std::uint64_t cursor, std::string& instance);
  // After a restore (recovery_flag_path): pulls ask for this node's own
  // records too, until one finds nothing new; puller thread only.
  bool recovering = false, caught_up = false, told_unsupported = false;
  std::uint64_t recovered = 0;
  void finish_recovery();
  void recovery_unsupported();
  std::uint64_t parent_went_back(const std::string& why);
  void take_revocations(const std::vector<store::revocation>& list);
  template <class Round>
  void loop(const char* dir, Round round);
  // Revoked: dialling again only fills the parent's log with refused
  // handshakes. A new certificate and node id are loaded by a restart.
  void give_up(const char* dir) {
    net::log::error("sync_stopped").kv("direction", dir).kv("parent", parent.node_id)
        .kv("reason", "this node's certificate is revoked: it no longer dials its parent until it is restarted with a new node id and certificate");
  }
};

template <class Round>
void parent_link::impl::loop(const char* dir, Round round) {
  backoff b;
  auto& progressed = std::string_view(dir) == "up" ? pushed_ok : pulled_ok;
  while (!stopping) {
    try {
      round();  // ends only by a stop or an error
    } catch (const admission_refused& e) {
      if (progressed.exchange(false)) b.reset();  // the link worked since the last failure: start over at 0.5 s
      admitted = false;
      refused(e);
      if (e.state == "revoked") return give_up(dir);
      auto d = b.next();
      for (auto waited = milliseconds(0); waited < d && !stopping; waited += milliseconds(100))
        std::this_thread::sleep_for(milliseconds(100));
    } catch (const std::exception& e) {
      if (stopping) return;  // a stop interrupted the round: not a failure
      if (std::string(e.what()).find("the peer says: certificate revoked") != std::string::npos) {
        admitted = false;  // the parent refused our certificate in the handshake
        refused(admission_refused("revoked", {std::string("the parent refuses this node's certificate as revoked (") + e.what() +
                                                  "): revocation is final for this node id; the platform needs a new node id, certificate and approval"}));
        return give_up(dir);
      } else {
        failed(dir, e.what());
      }
      if (progressed.exchange(false)) b.reset();
      auto d = b.next();
      for (auto waited = milliseconds(0); waited < d && !stopping; waited += milliseconds(100))
        std::this_thread::sleep_for(milliseconds(100));
    }
  }
}

// An empty batch: the answer is where the parent stands for this store
// instance (0 when it never saw it, or lost it — then everything goes up
// again, which the parent applies idempotently).
std::uint64_t parent_link::impl::ask_ack(net::http_client& c) {
  replication::change_batch empty{cfg.node.id, env.instance_id(), {}, 0, false, std::nullopt};
  auto resp = c.request({"POST", "/sync/v1/push", replication::encode_batch(empty), "application/json", {}});
  if (auto r = refusal_of(resp)) throw *r;
  if (resp.status != 200) throw std::runtime_error("push answered " + std::to_string(resp.status) + ": " + answer_excerpt(resp));
  auto ack = json::parse(resp.body).at("ack").to_number<std::uint64_t>();
  push_limits = replication::limits_in_answer(resp.body);
  if (ack == 0)
    net::log::info("sync_push_from_start").kv("parent", parent.node_id).kv("instance", env.instance_id());
  set("push_acked", ack);
  return ack;
}

// The parent's answer to one batch up: its durable ack. `gap` is set when
// the parent does not hold what the batch continues from (it restarted, or
// an earlier batch failed there): the caller resends from the ack.
std::uint64_t parent_link::impl::push_answer(const net::http_response& resp, bool& gap) {
  pushed = true;
  if (auto r = refusal_of(resp)) throw *r;
  gap = resp.status == 409;
  if (resp.status != 200 && !gap)
    throw std::runtime_error("push answered " + std::to_string(resp.status) + ": " + answer_excerpt(resp));
  auto v = json::parse(resp.body);
  auto ack = v.at("ack").to_number<std::uint64_t>();
  if (gap) return ack;
  for (const auto& r : v.at("refused").as_array())
    net::log::warn("sync_change_refused").kv("parent", parent.node_id)
        .kv("seq", r.at("seq").to_number<std::uint64_t>()).kv("reason", std::string(r.at("reason").as_string()));
  if (std::string(v.at("instance").as_string()) != env.instance_id())
    throw std::runtime_error("the parent records another store instance for this node");
  return ack;
}

parent_link::impl::prepared parent_link::impl::collect_batch(std::uint64_t from) {
  prepared p{replication::collect_up(env, cfg.node.id, from, push_limits), {}};
  p.b.after_seq = from;
  p.req = {"POST", "/sync/v1/push", replication::encode_batch(p.b), "application/json", {}};
  return p;
}

// Sends everything after `acked`, pipelined: batch N+1 is read from the
// log and encoded while N is on the wire, and the parent answers N while it
// commits. After the run's first answer (a plain request: a kept-alive
// connection may have gone stale) N+1 is also written while N's answer is
// read, so it is encrypted and waiting while the parent decodes N; the
// connection owing an answer is what says a batch is on the wire. `sent`
// runs ahead of `acked`; an empty batch at the end waits until the parent
// holds everything durably. Returns the parent's ack.
std::uint64_t parent_link::impl::push_from(net::http_client& c, std::uint64_t acked) {
  if (c.owed()) c.close();  // a stop left an answer unread: not this run's
  std::uint64_t sent = acked;
  auto p = collect_batch(sent);
  bool answered_once = false;
  while (!stopping && !(p.b.last_seq == sent && acked == sent)) {
    bool was_ahead = c.owed();  // written before the answer to the batch before it
    std::future<prepared> next;
    if (p.b.more) next = std::async(std::launch::async, [this, from = p.b.last_seq] { return collect_batch(from); });
    std::optional<prepared> ahead;  // written while p's answer is read
    if (!c.owed() && p.b.more && answered_once) c.send(p.req);
    net::http_response resp;
    if (!c.owed()) resp = c.request(p.req);
    else if (next.valid()) ahead = next.get(), resp = c.receive(&ahead->req);
    else resp = c.receive();
    answered_once = true;
    bool gap = false;
    auto ack = push_answer(resp, gap);
    if (gap) {
      resend_from(ack, sent);
      if (c.owed()) c.close();  // the answer to `ahead`: not worth reading
      if (next.valid()) next.wait();
      acked = sent = ack;
    } else {
      acked = ack;
      sent = p.b.last_seq;
      count_pushed(p.b, was_ahead);
    }
    set("push_acked", acked);
    p = gap ? collect_batch(sent) : ahead ? std::move(*ahead) : next.valid() ? next.get() : collect_batch(sent);
  }
  return acked;
}

// Batches with changes the parent took since start, and how many of them
// were written ahead of the answer before them (status: the pipeline at work).
void parent_link::impl::count_pushed(const replication::change_batch& b, bool ahead) {
  if (b.changes.empty()) return;
  set("pushed_batches", ++pushed_batches);
  set("pushed_ahead", pushed_ahead += ahead);
}

void parent_link::impl::resend_from(std::uint64_t ack, std::uint64_t sent) const {
  net::log::warn("sync_reconcile").kv("direction", "up").kv("parent", parent.node_id)
      .kv("reason", "the parent holds our changes up to " + std::to_string(ack) + ", not " + std::to_string(sent) +
                        " (restarted, restored or a batch failed there); resending from there");
}

// An idle pusher asks the parent for its ack this often: with nothing new
// to send it would otherwise never learn that the parent lost (a restore)
// what it had acknowledged, and `status` would show no lag meanwhile.
constexpr auto ack_check_every = std::chrono::seconds(30);

// The parent's ack asked again; below what it acknowledged before, the
// changes in between go up again (applying them is idempotent).
std::uint64_t parent_link::impl::recheck_ack(net::http_client& c, std::uint64_t acked) {
  auto ack = ask_ack(c);
  if (ack < acked) resend_from(ack, acked);
  return ack;
}

void parent_link::impl::push_loop() {
  loop("up", [this] {
    push_idle = false;  // until a round finds nothing to send: not from before an outage
    auto c = client(milliseconds(30'000));
    ensure_admitted(*c);
    std::uint64_t acked = ask_ack(*c);
    auto asked = std::chrono::steady_clock::now();
    ok("push");
    while (!stopping) {
      if (parent_reset.exchange(false) || (push_idle && std::chrono::steady_clock::now() - asked >= ack_check_every)) {
        acked = recheck_ack(*c, acked);
        asked = std::chrono::steady_clock::now();
      }
      auto gen = changed.generation();
      auto before = acked;
      pushed = false;
      acked = push_from(*c, acked);
      push_idle = acked == before;
      if (pushed) ok("push");  // an idle pusher has not heard the parent: it says nothing
      // A commit in this process wakes us at once; a CLI import in another
      // process is seen at the next look.
      changed.wait(gen, milliseconds(250));
    }
  });
}

// 接入: nothing is pushed or pulled before the parent admits this node. A
// pending node asks again every 2 s, so an approval takes effect within
// seconds; any other refusal goes through the backoff (at most 30 s).
void parent_link::impl::ensure_admitted(net::http_client& c) {
  // The other thread may be joining (a request of up to 30 s): wait for it
  // without missing a stop.
  std::unique_lock lk(join_mu, std::defer_lock);
  while (!lk.try_lock()) {
    if (stopping) throw std::runtime_error("stopping");
    std::this_thread::sleep_for(milliseconds(50));
  }
  while (!admitted && !stopping) {
    auto a = join_parent(c, cfg, posture);
    if (a.decision == "admitted") {
      admitted = true;
      net::log::info("sync_admitted").kv("parent", parent.node_id);
      return;
    }
    if (a.decision != "pending") throw admission_refused(a.decision, a.reasons);
    refused(admission_refused(a.decision, a.reasons));
    for (int i = 0; i < 20 && !stopping; ++i) std::this_thread::sleep_for(milliseconds(100));
  }
  if (stopping) throw std::runtime_error("stopping");
}

// One pull; returns the new cursor. A parent whose store instance changed
// (replaced, restored from a backup) is reconciled from the start, loudly.
std::uint64_t parent_link::impl::pull_once(net::http_client& c, std::uint64_t cursor, std::string& instance) {
  auto target = "/sync/v1/pull?cursor=" + std::to_string(cursor) +
                "&max=" + std::to_string(replication::batch_limits::large().max_changes) +
                // No waiting while recovering, to end it soon — unless the parent cannot (it would spin).
                "&wait_ms=" + std::to_string(recovering && !told_unsupported ? 0 : 4000) +
                "&revoked_seen=" + std::to_string(revoked_seen) +
                (recovering ? "&own=1" : "");
  caught_up = false;
  auto resp = c.get(target);
  if (resp.status == 409)
    return parent_went_back("the parent's log is behind our cursor " + std::to_string(cursor) +
                            " (its store was restored from an older backup?)");
  if (auto r = refusal_of(resp)) throw *r;
  if (resp.status != 200) throw std::runtime_error("pull answered " + std::to_string(resp.status) + ": " + answer_excerpt(resp));
  auto b = replication::decode_batch(resp.body, replication::batch_limits::large().max_changes);
  if (!instance.empty() && b.instance != instance) {
    auto why = "the parent's store was replaced or restored (instance " + instance + " became " + b.instance + ")";
    instance = b.instance;
    return parent_went_back(why);
  }
  instance = b.instance;
  if (b.revocations) take_revocations(*b.revocations);
  // A batch without `more` reaches the parent's head as it was when asked.
  // An older parent ignores own=1: then recovery cannot end here.
  caught_up = !b.more && (!recovering || b.own);
  if (recovering && !b.own) recovery_unsupported();
  // Nothing to apply: a long-poll that timed out, or only the cursor moves
  // (what the parent logged came from us, or lies outside our
  // jurisdiction). Neither is worth a durable commit of its own — one per
  // change we push up. The cursor is written with the next batch that
  // carries changes, or after cursor_save_every; lost (a stop, a crash, a
  // dropped link), it only means the parent looks at those changes again.
  auto now = std::chrono::steady_clock::now();
  if (b.changes.empty() && (b.last_seq == cursor || now - cursor_saved_at < cursor_save_every)) {
    set("pull_cursor", b.last_seq);
    return b.last_seq;
  }
  auto last = b.last_seq;
  auto res = replication::apply_batch(writer, parent, false, std::move(b), "down:" + parent.node_id, cfg.node.id);
  cursor_saved_at = now;
  if (recovering) recovered += res.inserted + res.updated;
  for (const auto& p : res.refused)
    net::log::warn("sync_change_refused").kv("parent", parent.node_id).kv("seq", p.seq).kv("reason", p.reason);
  // Same origin and version, another body: the two stores now differ under
  // one version (an owner that reused versions). Kept in `admin events`;
  // said here, once a batch, with the first, so the log shows it too.
  if (!res.events.empty())
    net::log::error("sync_integrity_events").kv("parent", parent.node_id).kv("count", static_cast<long long>(res.events.size()))
        .kv("first", res.events.front()).kv("see", "credit-node admin events");
  set("pull_cursor", last);
  return last;
}

// The parent's store went back (restored, replaced): everything is pulled
// again from 0 (applying is idempotent), and the pusher asks for its ack.
std::uint64_t parent_link::impl::parent_went_back(const std::string& why) {
  net::log::warn("sync_reconcile").kv("direction", "down").kv("parent", parent.node_id)
      .kv("reason", why + ": pulling everything again (applying is idempotent)");
  set("reconciled_at", json::string(store::model::format_utc_ms(now_ms())), true);
  parent_reset = true;
  return 0;
}

void parent_link::impl::take_revocations(const std::vector<store::revocation>& list) {
  merge_revocations(list);
  for (const auto& r : list)
    if (r.serial == own_serial)
      throw admission_refused("revoked", {"this node's certificate (serial " + r.serial + ") was revoked by " + r.by +
                                          ": " + r.reason + ": revocation is final for this node id; the platform needs a new "
                                          "node id, certificate and approval"});
}

void parent_link::impl::recovery_unsupported() {
  if (std::exchange(told_unsupported, true)) return;
  net::log::error("sync_recovery_blocked").kv("parent", parent.node_id)
      .kv("reason", "the parent does not send a child's own records back (a credit-node older than this one): the records "
                    "this node owns that are newer than its backup cannot be recovered, and imports stay refused; upgrade "
                    "the parent, or, accepting that, remove " + recovery_flag_path(cfg));
}

// Do we and the parent hold the same records for our jurisdiction? Asked
// when the pull has caught up (in-flight changes make a difference that is
// only momentary), at most every `digest_every`. Both sides scan the scope
// for it (~1 s per million records), hence not more often.
void parent_link::impl::compare_digests(net::http_client& c) {
  auto resp = c.get("/sync/v1/digest");
  if (auto r = refusal_of(resp)) throw *r;
  if (resp.status != 200) throw std::runtime_error("digest answered " + std::to_string(resp.status) + ": " + answer_excerpt(resp));
  auto theirs = replication::parse_digest_json(resp.body);
  auto ours = replication::compute_digest(env, cfg.node.jurisdiction);
  json::object diff;
  for (const auto& d : {theirs, ours})
    for (const auto& [cat, _] : d)
      if (theirs[cat] != ours[cat])
        diff[cat] = json::object{{"parent_count", theirs[cat].count}, {"local_count", ours[cat].count}};
  std::lock_guard lk(mu);
  state["in_sync"] = diff.empty();
  state["digest_differences"] = std::move(diff);
  state["digest_checked_at"] = store::model::format_utc_ms(now_ms());
  write_state();
}

void parent_link::impl::finish_recovery() {
  std::filesystem::remove(recovery_flag_path(cfg));
  recovering = false;
  net::log::info("sync_recovered").kv("parent", parent.node_id).kv("records", recovered)
      .kv("reason", "the records this node owns that are newer than its backup came back from the parent; imports may go on");
  set("recovered_at", json::string(store::model::format_utc_ms(now_ms())), true);
}

void parent_link::impl::pull_loop() {
  loop("down", [this] {
    auto c = client(milliseconds(30'000));
    ensure_admitted(*c);
    if (!recovering && recovery_pending(cfg)) {
      recovering = true;
      net::log::warn("sync_recovery_start").kv("parent", parent.node_id)
          .kv("reason", "this store was restored from a backup: pulling back from the parent the records this node owns "
                        "that are newer than the backup (imports wait until then)");
    }
    std::string instance;
    std::uint64_t cursor = 0;
    if (auto cur = store::reader(env).cursor_of("down:" + parent.node_id)) {
      instance = cur->peer_instance;
      cursor = cur->seq;
    }
    auto last_digest = std::chrono::steady_clock::now() - digest_every;
    cursor_saved_at = std::chrono::steady_clock::now();  // what the store holds is as good as saved
    while (!stopping) {
      auto before = cursor;
      cursor = pull_once(*c, cursor, instance);
      ok("pull");
      if (recovering && caught_up) finish_recovery();
      if (cursor == before && push_idle && std::chrono::steady_clock::now() - last_digest > digest_every) {
        compare_digests(*c);
        last_digest = std::chrono::steady_clock::now();
      }
    }
  });
}

parent_link::parent_link(const config::node_config& cfg, store::environment& env, store::writer& w,
                         change_signal& changed, posture_fn posture) {
  if (!cfg.upstream) throw std::runtime_error("no [upstream] in the config");
  impl_ = std::make_unique<impl>(cfg, env, w, changed, std::move(posture));
}

parent_link::~parent_link() { stop(); }

void parent_link::start() {
  net::log::info("sync_link_start").kv("parent", impl_->parent.node_id).kv("url", impl_->cfg.upstream->url);
  impl_->pusher = std::thread([this] { impl_->push_loop(); });
  impl_->puller = std::thread([this] { impl_->pull_loop(); });
}

void parent_link::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  impl_->changed.stop();
  impl_->interrupt_clients();
  if (impl_->pusher.joinable()) impl_->pusher.join();
  if (impl_->puller.joinable()) impl_->puller.join();
}

}  // namespace node::service
