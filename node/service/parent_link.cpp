#include "node/service/parent_link.hpp"

#include <filesystem>
#include <future>
#include <optional>

#include "node/service/parent_link_impl.hpp"
#include "store/reader.hpp"

namespace node::service {
namespace {

// A batch up to the parent, as a request (ask_ack, each batch, the
// key-order catch-up's barrier).
net::client_request push_request(const replication::change_batch& b) {
  return {"POST", "/sync/v1/push", replication::encode_batch(b), "application/json", {}};
}

}  // namespace

// An empty batch: the answer is where the parent stands for this store
// instance (0 when it never saw it, or lost it — then everything goes up
// again, which the parent applies idempotently).
std::uint64_t parent_link::impl::ask_ack(net::http_client& c) {
  auto resp = c.request(push_request({cfg.node.id, env.instance_id(), {}, 0, false, std::nullopt}));
  if (auto r = refusal_of(resp)) throw *r;
  if (resp.status != 200) throw std::runtime_error("push answered " + std::to_string(resp.status) + ": " + answer_excerpt(resp));
  auto v = json::parse(resp.body);
  // A parent older than this one answers with the cursor it holds, which
  // may be another instance's (before a restore): of ours it holds nothing.
  auto ack = v.at("instance").as_string() == env.instance_id() ? v.at("ack").to_number<std::uint64_t>() : 0;
  if (went_back_here(ack, stamp_in(v))) ack = 0;  // the parent holds nothing of the new instance
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
  if (went_back_here(ack, stamp_in(v))) return gap = true, 0;  // everything again, under the new instance
  return ack;
}

parent_link::impl::prepared parent_link::impl::collect_batch(std::uint64_t from) {
  bool keyed = by_key && !by_key->done && from == by_key->after_seq;
  prepared p{keyed ? replication::collect_up_by_key(env, cfg.node.id, *by_key, push_limits)
                   : replication::collect_up(env, cfg.node.id, from, push_limits), {}};
  p.b.after_seq = from;
  p.req = push_request(p.b);
  return p;
}

void parent_link::impl::plan_by_key(std::uint64_t acked) {
  if (by_key_instance != env.instance_id()) by_key_instance = env.instance_id(), by_key_cut_short = 0, by_key.reset();
  if (by_key) by_key_cut_short = acked < by_key->until_seq ? by_key_cut_short + 1 : 0;  // the one before: cut short?
  by_key.reset();
  by_key_connection = 0;
  if (by_key_cut_short >= 2) {
    if (by_key_cut_short++ == 2)
      net::log::warn("sync_push_in_log_order").kv("parent", parent.node_id).kv("from", static_cast<long long>(acked))
          .kv("reason", "two catch-ups in key order were cut short; in log order the parent's ack moves batch by batch");
    return;
  }
  by_key = replication::plan_up_by_key(env, acked);
  if (!by_key) return;
  net::log::info("sync_push_by_key").kv("parent", parent.node_id).kv("records", static_cast<long long>(by_key->records))
      .kv("from", static_cast<long long>(acked)).kv("to", static_cast<long long>(by_key->until_seq))
      .kv("attempt", static_cast<long long>(by_key_cut_short + 1));
}

// Before the last batch of a key-order catch-up, which moves the parent's
// cursor over every batch before it: those carry no position of their own,
// so the parent's continuity check cannot see one of them missing. An empty
// batch is answered only once everything before it is durable there (503
// when one failed); and all of them went over this one connection — a
// parent that restarted meanwhile lost what was in flight, which shows as a
// new connection. False: start again from `acked`.
bool parent_link::impl::key_order_barrier(net::http_client& c, std::uint64_t& acked) {
  replication::change_batch empty{cfg.node.id, env.instance_id(), {}, by_key->after_seq, false, by_key->after_seq};
  empty.last_stamp = by_key->after_stamp;
  auto resp = c.request(push_request(empty));
  bool gap = false;
  auto ack = push_answer(resp, gap);
  if (!gap && c.connections_made() == by_key_connection) return true;
  net::log::warn("sync_reconcile").kv("direction", "up").kv("parent", parent.node_id)
      .kv("reason", gap ? "the parent lost its place during a catch-up in key order; starting it again from its ack"
                        : "the connection to the parent was replaced during a catch-up in key order (what was in "
                          "flight may be lost there); starting it again");
  acked = gap ? ack : acked;
  return false;
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
  auto p = start_again(acked, acked, sent);
  bool answered_once = false;
  // Done at an empty batch moving nothing (a key-order batch moves nothing but holds changes).
  while (!stopping && !(p.b.last_seq == sent && p.b.changes.empty() && acked == sent)) {
    if (last_by_key(p.b) && by_key_connection && !key_order_barrier(c, acked)) {
      p = start_again(acked, acked, sent);
      continue;
    }
    bool was_ahead = c.owed();  // written before the answer to the batch before it
    std::future<prepared> next;
    if (p.b.more) next = std::async(std::launch::async, [this, from = p.b.last_seq] { return collect_batch(from); });
    std::optional<prepared> ahead;  // written while p's answer is read (not a key-order catch-up's last)
    if (!c.owed() && p.b.more && answered_once) c.send(p.req);
    net::http_response resp;
    if (!c.owed()) resp = c.request(p.req);
    else if (next.valid()) ahead = next.get(), resp = last_by_key(ahead->b) ? c.receive() : c.receive(&ahead->req);
    else resp = c.receive();
    answered_once = true;
    bool gap = false;
    auto ack = push_answer(resp, gap);
    if (gap) {
      resend_from(ack, sent);
      if (c.owed()) c.close();  // the answer to `ahead`: not worth reading
      if (next.valid()) next.wait();
      p = start_again(ack, acked, sent);
    } else {
      acked = ack;
      sent = p.b.last_seq;
      count_pushed(p.b, was_ahead);
      if (by_key && !by_key_connection) by_key_connection = c.connections_made();
      p = ahead ? std::move(*ahead) : next.valid() ? next.get() : collect_batch(sent);
    }
    set("push_acked", acked);
  }
  if (!stopping) by_key_cut_short = 0, by_key.reset();  // all went: key order may serve the next long catch-up
  return acked;
}

// Sends from `from` on: the parent holds that much (a start, or after a gap).
parent_link::impl::prepared parent_link::impl::start_again(std::uint64_t from, std::uint64_t& acked, std::uint64_t& sent) {
  acked = sent = from;
  plan_by_key(from);
  return collect_batch(from);
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
                (recovering ? "&own=1" : "") +
                (cursor && down_stamp ? "&cursor_stamp=" + replication::stamp_hex(down_stamp) : "");
  caught_up = false;
  auto resp = c.get(target);
  if (resp.status == 409) {
    instance.clear();  // a restored parent's new instance id is this going back, not another one
    return parent_went_back("the parent does not hold our cursor " + std::to_string(cursor) + " (" + answer_excerpt(resp) +
                            "): its store went back (restored from an older backup, or a snapshot put back)");
  }
  if (auto r = refusal_of(resp)) throw *r;
  if (resp.status != 200) throw std::runtime_error("pull answered " + std::to_string(resp.status) + ": " + answer_excerpt(resp));
  auto b = replication::decode_batch(resp.body, replication::batch_limits::large().max_changes);
  if (!instance.empty() && b.instance != instance) {
    auto why = "the parent's store was replaced or restored (instance " + instance + " became " + b.instance + ")";
    instance = b.instance;
    return parent_went_back(why);
  }
  instance = b.instance;
  if (b.last_seq != cursor) down_stamp = b.last_stamp;  // 0 from a parent before stamps
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
      down_stamp = cur->stamp;
    }
    auto last_digest = std::chrono::steady_clock::now() - digest_every;
    cursor_saved_at = std::chrono::steady_clock::now();  // what the store holds is as good as saved
    while (!stopping) {
      if (store_went_back.exchange(false)) recover_from_start(cursor);
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
