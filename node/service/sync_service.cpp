#include "node/service/sync_service.hpp"

#include <boost/json.hpp>

#include <charconv>

#include "node/net/log.hpp"
#include "node/service/push_pipeline.hpp"

#include <memory>
#include "store/reader.hpp"
#include "sync/digest.hpp"
#include "sync/exchange.hpp"
#include "sync/routing.hpp"

namespace node::service {
namespace {

namespace json = boost::json;
using net::http_request;
using net::http_response;

std::uint64_t query_u64(const std::string& query, std::string_view name, std::uint64_t dflt) {
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    auto eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      std::uint64_t v = 0;
      auto val = part.substr(eq + 1);
      if (std::from_chars(val.data(), val.data() + val.size(), v).ec == std::errc{}) return v;
      return dflt;
    }
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
  }
  return dflt;
}

// A child: a node whose jurisdiction lies under ours, one tier down (a local
// may still hang straight off the national node until its province runs).
std::string child_problem(const config::node_config& cfg, const pki::identity& id) {
  if (id.node_id == cfg.node.id) return "a node cannot sync with itself";
  bool role_ok = (cfg.node.role == "provincial" && id.role == "local") ||
                 (cfg.node.role == "national" && (id.role == "provincial" || id.role == "local"));
  if (!role_ok) return "a " + id.role + " node is not a child of a " + cfg.node.role + " node";
  if (!replication::covers(cfg.node.jurisdiction, id.jurisdiction))
    return "jurisdiction " + id.jurisdiction + " is not under this node's " + cfg.node.jurisdiction;
  return {};
}

std::optional<http_response> refuse_peer(const sync_context& ctx, const http_request& req) {
  if (!req.peer) return http_response::error(401, "no_certificate", "sync needs a client certificate");
  if (auto why = child_problem(ctx.cfg, *req.peer); !why.empty()) {
    net::log::warn("sync_refused").kv("peer", req.peer->node_id).kv("reason", why);
    return http_response::error(403, "not_a_child", why);
  }
  return std::nullopt;
}

replication::peer as_peer(const pki::identity& id) { return {id.node_id, id.role, id.jurisdiction}; }

http_response push(sync_context& ctx, push_pipeline& pipes, const http_request& req) {
  if (auto r = refuse_peer(ctx, req)) return *r;
  replication::change_batch b;
  try {
    b = replication::decode_batch(req.body, max_batch_changes);
  } catch (const replication::wire_error& e) {
    return http_response::error(400, "bad_batch", e.what());
  }
  if (b.node != req.peer->node_id)
    return http_response::error(400, "wrong_node", "the batch names node '" + b.node +
                                                       "' but the certificate names '" + req.peer->node_id + "'");
  return pipes.push(as_peer(*req.peer), b);
}

http_response pull(sync_context& ctx, const http_request& req) {
  if (auto r = refuse_peer(ctx, req)) return *r;
  auto cursor = query_u64(req.query, "cursor", 0);
  replication::batch_limits lim;
  lim.max_changes = std::clamp<std::uint64_t>(query_u64(req.query, "max", 1000), 1, max_batch_changes);
  auto wait = std::chrono::milliseconds(std::min<std::uint64_t>(query_u64(req.query, "wait_ms", 0), max_wait_ms));
  // A cursor past our newest change: our store went back in time (restored
  // from an older backup). Say so; the child reconciles from the start
  // rather than silently skipping what we will number anew.
  if (auto head = store::reader(ctx.env).stats().last_seq; cursor > head)
    return http_response::error(409, "cursor_ahead", "cursor " + std::to_string(cursor) +
                                                         " is past this store's newest change " + std::to_string(head));
  auto gen = ctx.changed.generation();
  auto b = replication::collect_down(ctx.env, ctx.cfg.node.id, as_peer(*req.peer), cursor, lim);
  // Long-poll: nothing yet, so wait for a commit. A commit in this process
  // wakes us at once; one by a CLI import in another process is seen at
  // the next look, every 200 ms.
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (b.changes.empty() && !b.more && b.last_seq == cursor && std::chrono::steady_clock::now() < deadline) {
    ctx.changed.wait(gen, std::chrono::milliseconds(200));
    gen = ctx.changed.generation();
    b = replication::collect_down(ctx.env, ctx.cfg.node.id, as_peer(*req.peer), cursor, lim);
  }
  return http_response::json(200, replication::encode_batch(b));
}

http_response digest(sync_context& ctx, const http_request& req) {
  if (auto r = refuse_peer(ctx, req)) return *r;
  return http_response::json(200, replication::digest_json(replication::compute_digest(ctx.env, req.peer->jurisdiction)));
}

}  // namespace

void add_sync_routes(net::http_router& r, sync_context& ctx) {
  auto pipes = std::make_shared<push_pipeline>(ctx.env, ctx.writer);
  r.add("POST", "/sync/v1/push", [&ctx, pipes](const http_request& q) { return push(ctx, *pipes, q); });
  r.add("GET", "/sync/v1/pull", [&ctx](const http_request& q) { return pull(ctx, q); });
  r.add("GET", "/sync/v1/digest", [&ctx](const http_request& q) { return digest(ctx, q); });
}

}  // namespace node::service
