#include "node/service/sync_service.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <variant>

#include "node/net/log.hpp"
#include "node/service/push_pipeline.hpp"
#include "store/model/validate.hpp"
#include "store/reader.hpp"
#include "sync/digest.hpp"
#include "sync/admission.hpp"
#include "sync/exchange.hpp"
#include "sync/routing.hpp"

namespace node::service {
namespace {

namespace json = boost::json;
using net::http_request;
using net::http_response;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void record_join(sync_context& ctx, const replication::certified_peer& cert, const replication::join_request& jr,
                 const replication::join_answer& a) {
  // A pending child asks every 2 s: the same answer to the same
  // certificate is written (a durable commit) at most once a minute.
  if (auto seen = store::reader(ctx.env).node(cert.node_id))
    if (seen->cert_serial == cert.serial_hex && seen->version == jr.version.substr(0, 64) &&
        seen->last_decision == a.decision && seen->last_reasons == a.reasons &&
        wall_ms() - seen->last_join_ms >= 0 && wall_ms() - seen->last_join_ms < 60'000)  // a clock stepped back: write
      return;
  store::registry_op op;
  op.entry.node_id = cert.node_id;
  op.entry.role = cert.role;
  op.entry.jurisdiction = cert.jurisdiction;
  op.entry.cert_serial = cert.serial_hex;
  op.entry.version = jr.version.substr(0, 64);
  op.entry.last_decision = a.decision;
  op.entry.last_reasons = a.reasons;
  store::commit_one(ctx.writer, std::move(op));
}

// A query parameter that is present must be a whole number: "abc", "-1" or
// one past 2^64 is the child's bug, answered 400, not read as the default.
struct bad_query {
  std::string detail;
};

std::uint64_t query_u64(const std::string& query, std::string_view name, std::uint64_t dflt) {
  auto val = net::query_param(query, name);
  if (!val) return dflt;
  auto v = net::whole_number(*val);
  if (!v)
    throw bad_query{std::string(name) + ": '" + store::model::printable(val->substr(0, 40)) +
                    "' is not a whole number from 0 to 18446744073709551615"};
  return *v;
}

replication::certified_peer certified(const pki::identity& id) {
  return {id.node_id, id.role, id.jurisdiction, id.serial_hex};
}


// The tree (role and jurisdiction one tier down) first, then the registry:
// only an admitted, unrevoked child syncs. Read per request, so an admin
// command from the CLI takes effect on the child's next request.
std::optional<http_response> refuse_peer(const sync_context& ctx, const http_request& req) {
  if (!req.peer) return http_response::error(401, "no_certificate", "sync needs a client certificate");
  if (auto why = replication::child_problem(ctx.cfg, req.peer->node_id, req.peer->role, req.peer->jurisdiction); !why.empty()) {
    net::log::warn("sync_refused").kv("peer", req.peer->node_id).kv("reason", why);
    return http_response::error(403, "not_a_child", why);
  }
  store::reader rd(ctx.env);
  if (auto r = replication::sync_refusal(certified(*req.peer), rd.node(req.peer->node_id), rd.is_revoked(req.peer->serial_hex))) {
    net::log::warn("sync_refused").kv("peer", req.peer->node_id).kv("code", r->code).kv("reason", r->reason);
    return http_response::error(403, r->code, r->reason);
  }
  return std::nullopt;
}

// A child's request: the contacts heard since the last batch go to the
// registry when one is due (contact_book), in one commit, without waiting
// for it. A lost write is made good by the next batch.
void heard_from(sync_context& ctx, const std::string& child) {
  auto due = ctx.contacts.heard(child, wall_ms());
  if (due.empty()) return;
  store::write_batch b;
  for (auto& [id, at] : due) {
    auto& op = b.registry.emplace_back();
    op.what = store::registry_op::kind::contact;
    op.entry.node_id = std::move(id);
    op.entry.last_contact_ms = at;
  }
  ctx.writer.submit_then(std::move(b), [](store::settled_batch) {});
}

// Origins a child may not claim: this node, its parent, and every other
// child registered here whose jurisdiction is not under the sender's (a
// sibling's records never come up through this child).
replication::peer plain_peer(const pki::identity& id) { return {id.node_id, id.role, id.jurisdiction}; }

replication::peer as_peer(const sync_context& ctx, const pki::identity& id) {
  auto p = plain_peer(id);
  p.foreign_origins.push_back(ctx.cfg.node.id);
  if (ctx.cfg.upstream) p.foreign_origins.push_back(ctx.cfg.upstream->node_id);
  for (const auto& n : store::reader(ctx.env).nodes())
    if (n.node_id != id.node_id && !replication::covers(id.jurisdiction, n.jurisdiction)) p.foreign_origins.push_back(n.node_id);
  return p;
}

// POST /sync/v1/join: decided with every reason; a well-formed child (one
// tier down, its certificate naming what it claims) is recorded in the
// registry, landing in `pending` the first time.
http_response join(sync_context& ctx, const http_request& req) {
  if (!req.peer) return http_response::error(401, "no_certificate", "joining needs a client certificate");
  if (req.body.size() > max_join_body) return http_response::error(413, "too_large", "a join request is at most 1 MiB");
  replication::join_request jr;
  try {
    jr = replication::decode_join_request(req.body);
  } catch (const replication::wire_error& e) {
    return http_response::error(400, "bad_join", e.what());
  }
  auto cert = certified(*req.peer);
  std::optional<store::node_entry> entry;
  bool revoked = false;
  {
    store::reader rd(ctx.env);
    entry = rd.node(cert.node_id);
    revoked = rd.is_revoked(cert.serial_hex);
  }
  auto policy = ctx.live.current();  // as of the last SIGHUP
  auto a = replication::decide_join(*policy, cert, jr, entry, revoked, wall_ms());
  bool well_formed = jr.node_id == cert.node_id && config::check_node_id(cert.node_id).empty() &&
                     replication::child_problem(ctx.cfg, cert.node_id, cert.role, cert.jurisdiction).empty();
  if (well_formed) {
    record_join(ctx, cert, jr, a);  // a written entry takes the contact too; a repeat within the minute is not written
    heard_from(ctx, cert.node_id);
  }
  // A pending child asks every 2 s: the same answer as last time is a debug
  // line, so a child waiting a weekend for approval does not flood the log.
  // An admitted join (once a connection) stays info: it says the child is back.
  bool same = entry && a.decision != "admitted" && entry->last_decision == a.decision && entry->last_reasons == a.reasons;
  auto line = same ? net::log::debug("sync_join") : a.decision == "admitted" ? net::log::info("sync_join") : net::log::warn("sync_join");
  line.kv("peer", cert.node_id).kv("decision", a.decision).kv("version", jr.version);
  std::string all;
  for (const auto& r : a.reasons) all += (all.empty() ? "" : "; ") + r;
  if (!all.empty()) line.kv("reasons", all);
  return http_response::json(200, replication::encode_join_answer(a, policy->admission));
}

http_response push(sync_context& ctx, push_pipeline& pipes, const http_request& req) {
  if (auto r = refuse_peer(ctx, req)) return *r;
  heard_from(ctx, req.peer->node_id);
  replication::change_batch b;
  try {
    b = replication::decode_batch(req.body, max_batch_changes);
  } catch (const replication::wire_error& e) {
    return http_response::error(400, "bad_batch", e.what());
  }
  if (b.node != req.peer->node_id)
    return http_response::error(400, "wrong_node", "the batch names node '" + b.node +
                                                       "' but the certificate names '" + req.peer->node_id + "'");
  if (b.revocations)  // only a parent's list is trusted: it travels down, never up
    return http_response::error(400, "bad_batch", "a push may not carry revocations: they travel down the tree only");
  return pipes.push(as_peer(ctx, *req.peer), b, req.remote);
}

struct pull_params {
  std::uint64_t cursor = 0, max = 1000, wait_ms = 0, seen = 0, own = 0;
  std::uint64_t cursor_stamp = 0;  // the child's stamp of our change at cursor (0: not sent)
};

// `max` above this parent's limit is lowered to it (a child sends what it
// can take; the answer's size says what came); 0 asks for nothing and is
// refused rather than read as 1.
pull_params pull_params_of(const http_request& req) {
  pull_params q{query_u64(req.query, "cursor", 0), query_u64(req.query, "max", 1000), query_u64(req.query, "wait_ms", 0),
                query_u64(req.query, "revoked_seen", 0), query_u64(req.query, "own", 0)};
  if (q.max == 0)
    throw bad_query{"max: 0 asks for no changes; give 1 to " + std::to_string(max_batch_changes) +
                    " (changes per answer), or leave it out for 1000"};
  if (auto s = net::query_param(req.query, "cursor_stamp")) {
    auto v = replication::parse_stamp(*s);
    if (!v || *v == 0) throw bad_query{"cursor_stamp: must be 16 lower-case hex digits, not all zero (a change stamp)"};
    q.cursor_stamp = *v;
  }
  return q;
}

// What a pull looks for, kept while it waits: its child, cursor and limits.
struct pull_wait {
  store::environment& env;  // not the sync_context: a waiter may be looked at while the node tears down
  std::string self;
  replication::peer child;
  std::uint64_t cursor, seen;
  bool own;
  replication::batch_limits lim;
  // The answer once there is something to send — changes, the cursor moved
  // past filtered ones, more, a changed revocation list — or at `last`.
  std::optional<http_response> look(bool last) const {
    auto b = replication::collect_down(env, self, child, cursor, lim, own);
    auto revoked = store::reader(env).revocation_count();
    if (!last && b.changes.empty() && !b.more && b.last_seq == cursor && revoked == seen) return std::nullopt;
    // The revocation list goes down whole whenever the child's count of it
    // differs from ours: it is small and only ever grows.
    if (revoked != seen) b.revocations = store::reader(env).revocations();
    b.own = own;
    return http_response::json(200, replication::encode_batch(b));
  }
};

// The pull's checks, then its first look: an answer, or what to wait with.
std::variant<http_response, pull_wait> pull_start(sync_context& ctx, const http_request& req, std::chrono::milliseconds& wait) {
  if (auto r = refuse_peer(ctx, req)) return *r;
  heard_from(ctx, req.peer->node_id);
  pull_params q;
  try {
    q = pull_params_of(req);
  } catch (const bad_query& e) {
    return http_response::error(400, "bad_query", e.detail);
  }
  auto lim = replication::batch_limits::large();
  lim.max_changes = std::min<std::uint64_t>(q.max, max_batch_changes);
  wait = std::chrono::milliseconds(std::min<std::uint64_t>(q.wait_ms, max_wait_ms));
  // A cursor past our newest change: our store went back in time (restored
  // from an older backup). Say so; the child reconciles from the start
  // rather than silently skipping what we will number anew.
  // The same after it went back and then wrote past the cursor: the change
  // there is not the one the child was sent.
  store::reader rd(ctx.env);
  if (auto head = rd.last_seq(); q.cursor > head)
    return http_response::error(409, "cursor_ahead", "cursor " + std::to_string(q.cursor) +
                                                         " is past this store's newest change " + std::to_string(head));
  if (!rd.holds_change(q.cursor, q.cursor_stamp))
    return http_response::error(409, "cursor_elsewhere", "the change at cursor " + std::to_string(q.cursor) +
                                                             " here is not the one sent to this child: this store went back");
  // Going down, only the child's jurisdiction matters: no registry read
  // (as_peer's) on every look of a long-poll.
  return pull_wait{ctx.env, ctx.cfg.node.id, plain_peer(*req.peer), q.cursor, q.seen, q.own != 0, lim};
}

constexpr const char* req_path_pull = "/sync/v1/pull";

// A long-poll: nothing to send yet, so it waits for a commit — as a waiter
// of ctx.polls, not on a worker thread of its own (long_poll.hpp).
void pull(sync_context& ctx, const http_request& req, std::function<void(http_response)> done) {
  auto wait = std::chrono::milliseconds(0);
  auto gen = ctx.changed.generation();  // before the first look: a commit after it is not missed
  auto started = pull_start(ctx, req, wait);
  if (auto* answer = std::get_if<http_response>(&started)) return done(std::move(*answer));
  auto w = std::make_shared<pull_wait>(std::get<pull_wait>(std::move(started)));
  if (auto a = w->look(wait.count() == 0)) return done(std::move(*a));
  auto waiting = [w, done](bool last) {
    std::optional<http_response> a;
    try {
      a = w->look(last);
    } catch (const std::exception& e) {
      a = failed_answer(req_path_pull, e.what());
    }
    if (a) done(std::move(*a));
    return a.has_value();
  };
  if (!ctx.polls.add(std::chrono::steady_clock::now() + wait, gen, waiting)) waiting(true);  // stopping: answer now
}

http_response digest(sync_context& ctx, const http_request& req) {
  if (auto r = refuse_peer(ctx, req)) return *r;
  heard_from(ctx, req.peer->node_id);
  return http_response::json(200, replication::digest_json(replication::compute_digest(ctx.env, req.peer->jurisdiction)));
}

}  // namespace

std::optional<http_response> before_body(sync_context& ctx, const http_request& head, std::size_t& limit) {
  bool post = head.method == "POST";
  if (post && head.path == "/sync/v1/push") {
    limit = std::min(limit, max_push_body);
    auto refused = refuse_peer(ctx, head);
    if (refused) refused->endpoint = head.path;  // counted with the route's other answers
    return refused;
  }
  limit = post && head.path == "/sync/v1/join" ? std::min(limit, max_join_body) : 0;
  return std::nullopt;
}

void add_sync_routes(net::http_router& r, sync_context& ctx) {
  auto pipes = std::make_shared<push_pipeline>(
      ctx.env, ctx.writer, [&live = ctx.live] { return live.current()->admission.suspend_after_violations; });
  // Every sync handler may block (commits, long-polls): on the worker pool.
  auto on_pool = [&ctx](std::function<http_response(const http_request&)> fn) {
    return [&ctx, fn = std::move(fn)](http_request& q) { return ctx.workers.defer(fn, q); };
  };
  r.add("POST", "/sync/v1/join", on_pool([&ctx](const http_request& q) { return join(ctx, q); }));
  r.add("POST", "/sync/v1/push", on_pool([&ctx, pipes](const http_request& q) { return push(ctx, *pipes, q); }));
  // A pull: its first look on a worker; if it then waits, it waits as a
  // waiter of ctx.polls, holding no thread.
  r.add("GET", "/sync/v1/pull", [&ctx](http_request& q) {
    http_response later;
    later.later = [&ctx, req = q](std::function<void(http_response)> done) mutable {
      ctx.workers.post([&ctx, req = std::move(req), done = std::move(done)]() mutable {
        try {
          pull(ctx, req, done);
        } catch (const std::exception& e) {
          done(failed_answer(req.path, e.what()));
        }
      });
    };
    return later;
  });
  r.add("GET", "/sync/v1/digest", on_pool([&ctx](const http_request& q) { return digest(ctx, q); }));
}

}  // namespace node::service
