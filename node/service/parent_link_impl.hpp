// The parent link's state, shared by its source files: parent_link.cpp
// (the rounds, the pusher and the puller) and link_recovery.cpp (what the
// link does when either store went back). Internal to node/service.
#pragma once

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "node/net/client.hpp"
#include "node/net/log.hpp"
#include "node/pki/pki.hpp"
#include "node/service/backoff.hpp"
#include "node/service/parent_link.hpp"
#include "store/model/record.hpp"
#include "store/model/validate.hpp"
#include "sync/catchup.hpp"
#include "sync/exchange.hpp"

namespace node::service {

namespace json = boost::json;

struct parent_link::impl {
  using milliseconds = std::chrono::milliseconds;
  static constexpr auto digest_every = std::chrono::seconds(60);
  static constexpr auto cursor_save_every = std::chrono::seconds(10);
  static std::int64_t now_ms() {
    return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  static std::string address_of(const std::string& url) {
    std::string a = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
    if (!a.empty() && a.back() == '/') a.pop_back();
    return a;
  }
  // A parent's error answer, as far as a log line or the state file shows it.
  static std::string answer_excerpt(const net::http_response& r) { return store::model::printable_prefix(r.body, 300); }

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
  void digest_unknown(const std::string& why);
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
  // A long catch-up goes in the parent's key order (sync/catchup.hpp): set
  // at the start of a push round, or after a gap, when that pays.
  std::optional<replication::key_order_catchup> by_key;
  void plan_by_key(std::uint64_t acked);
  bool last_by_key(const replication::change_batch& b) const {
    return by_key && b.after_seq == by_key->after_seq && b.last_seq != by_key->after_seq;
  }
  bool key_order_barrier(net::http_client& c, std::uint64_t& acked);
  prepared start_again(std::uint64_t from, std::uint64_t& acked, std::uint64_t& sent);
  // The connection the catch-up's first batch was answered on (0: none
  // yet): its last batch goes only if every one before it went there too.
  std::uint64_t by_key_connection = 0;
  // Key-order catch-ups of this store instance cut short in a row: the
  // parent's cursor moves only at their end, so each starts again from its
  // beginning. After two, log order (whose ack moves batch by batch: a link
  // that keeps breaking still gets there) until a push round ends well.
  std::string by_key_instance;
  int by_key_cut_short = 0;
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
  // Set by the pusher when this store went back under its old instance id
  // (went_back_here): the puller starts over from 0, recovering.
  std::atomic<bool> store_went_back{false};
  // The parent's stamp of its change at the puller's cursor (0: unknown),
  // sent with each pull: a parent that went back answers 409. Puller only.
  std::uint64_t down_stamp = 0;
  std::mutex flag_mu;  // store_went_back with the recover-own file: set and written, or looked at and removed
  bool went_back_here(std::uint64_t ack, std::uint64_t ack_stamp);
  // A push answer's "ack_stamp" (0: none, from a parent before it); a
  // malformed one is the parent's fault: wire_error.
  static std::uint64_t stamp_in(const json::value& answer) {
    const auto* s = answer.as_object().if_contains("ack_stamp");
    if (!s) return 0;
    auto v = s->is_string() ? replication::parse_stamp(s->get_string()) : std::nullopt;
    if (!v) throw replication::wire_error("push answer: \"ack_stamp\" must be 16 lower-case hex digits");
    return *v;
  }
  void recover_from_start(std::uint64_t& cursor);
  void restart_down_cursor();
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

}  // namespace node::service
