// What the parent link does when a store went back: the parent's (restored
// or replaced: everything is pulled again), or this node's own (restored
// from a backup: its newer records come back from the parent first).
// Also the digest comparison and the revocations a pull brings.
#include <filesystem>
#include <mutex>

#include "node/service/parent_link_impl.hpp"
#include "store/reader.hpp"
#include "sync/digest.hpp"

namespace node::service {

// The parent's store went back (restored, replaced): everything is pulled
// again from 0 (applying is idempotent), and the pusher asks for its ack.
std::uint64_t parent_link::impl::parent_went_back(const std::string& why) {
  net::log::warn("sync_reconcile").kv("direction", "down").kv("parent", parent.node_id)
      .kv("reason", why + ": pulling everything again (applying is idempotent)");
  set("reconciled_at", json::string(store::model::format_utc_ms(now_ms())), true);
  parent_reset = true;
  restart_down_cursor();
  return 0;
}

// The pull starts again from 0, and so does the stored cursor: a restart
// (or the next round) must not start from the old cursor and its stamp —
// taking the parent for gone back once more, or, recovering, passing over
// our own records below it.
void parent_link::impl::restart_down_cursor() {
  down_stamp = 0;
  store::write_batch reset;
  reset.cursor = store::peer_cursor{"down:" + parent.node_id, "", 0, 0, 0, true};
  writer.submit(std::move(reset)).get();
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
// A digest the parent cannot give or we cannot read (a parent of another
// version, an error page) is the comparison's problem, not the link's: the
// pull goes on, and status says the agreement is not known, and why.
void parent_link::impl::compare_digests(net::http_client& c) {
  auto resp = c.get("/sync/v1/digest");
  if (auto r = refusal_of(resp)) throw *r;
  if (resp.status != 200)
    return digest_unknown("the parent answered " + std::to_string(resp.status) + ": " + answer_excerpt(resp));
  replication::digest theirs;
  try {
    theirs = replication::parse_digest_json(resp.body);
  } catch (const replication::wire_error& e) {
    return digest_unknown(std::string("the parent's answer is not a digest: ") + e.what());
  }
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
  state.erase("digest_error");
  write_state();
}

// Said once per distinct reason; tried again at the next comparison.
void parent_link::impl::digest_unknown(const std::string& why) {
  std::lock_guard lk(mu);
  if (auto* was = state.if_contains("digest_error"); !was || *was != json::value(why))
    net::log::warn("sync_digest_unknown").kv("parent", parent.node_id).kv("reason", why)
        .kv("effect", "records are still pulled and pushed; whether both hold the same is not known until a digest is read");
  state.erase("in_sync");
  state.erase("digest_differences");
  state["digest_error"] = why;
  state["digest_checked_at"] = store::model::format_utc_ms(now_ms());
  write_state();
}

void parent_link::impl::finish_recovery() {
  {
    std::lock_guard lk(flag_mu);
    if (store_went_back) return;  // the flag is the new recovery's: it starts at the next pull
    std::filesystem::remove(recovery_flag_path(cfg));
  }
  recovering = false;
  net::log::info("sync_recovered").kv("parent", parent.node_id).kv("records", recovered)
      .kv("reason", "the records this node owns that are newer than its backup came back from the parent; imports may go on");
  set("recovered_at", json::string(store::model::format_utc_ms(now_ms())), true);
}

// An ack past this store's newest change, or at a change other than the
// one the parent was sent there (its stamp): the parent holds more of this
// store instance's log than the store does. The data dir went back (a VM
// snapshot, a copied dir) keeping its instance id, so the changes written
// since reuse positions the parent takes as held: they would never go up,
// and this node's children would pass over them the same way. Handled as a
// restore is: the recovery flag first (a crash after it still recovers),
// then a new instance id, so the parent and our children take everything
// again; the puller pulls back the records this node owns that are newer
// than the store. True when that happened (the caller pushes from 0).
bool parent_link::impl::went_back_here(std::uint64_t ack, std::uint64_t ack_stamp) {
  std::string why;
  {
    store::reader rd(env);
    if (rd.holds_change(ack, ack_stamp)) return false;
    auto head = rd.last_seq();
    why = "the parent holds this store's changes up to " + std::to_string(ack) +
          (ack > head ? " but its change log ends at " + std::to_string(head)
                      : " but the change here at " + std::to_string(ack) + " is not the one it was sent");
  }
  why += ": the data dir went back (a VM snapshot or a copied directory?) keeping its instance id";
  {
    // The puller removes the flag when a recovery ends: not in between.
    std::lock_guard lk(flag_mu);
    write_recovery_flag(cfg, why + ", seen at " + store::model::format_utc_ms(now_ms()));
    store_went_back = true;
  }
  auto old_id = env.instance_id();
  store::write_batch renew;
  renew.renew_instance = true;
  writer.submit(std::move(renew)).get();
  net::log::error("sync_store_went_back").kv("parent", parent.node_id).kv("old_instance", old_id)
      .kv("instance", env.instance_id())
      .kv("reason", why + "; it takes a new instance id so the parent and this node's children take everything again, "
                          "and pulls back from the parent the records it owns that are newer (imports wait until then)");
  set("reconciled_at", json::string(store::model::format_utc_ms(now_ms())), true);
  return true;
}

// The puller's side of went_back_here: from 0, asking for our own records
// too, until a pull finds nothing new (finish_recovery).
void parent_link::impl::recover_from_start(std::uint64_t& cursor) {
  recovering = true;
  told_unsupported = false;
  recovered = 0;
  cursor = 0;
  restart_down_cursor();
  net::log::warn("sync_recovery_start").kv("parent", parent.node_id)
      .kv("reason", "this store went back: pulling everything again, with the records this node owns that are newer "
                    "than the store (imports wait until then)");
}

}  // namespace node::service
