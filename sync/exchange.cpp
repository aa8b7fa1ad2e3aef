#include "sync/exchange.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "store/model/category.hpp"
#include "store/model/uscc.hpp"
#include "store/model/validate.hpp"
#include "store/reader.hpp"
#include "sync/routing.hpp"

namespace replication {
namespace {

namespace json = boost::json;
using store::model::record;

// Reads the change log after `after_seq`, keeping what `keep` accepts,
// until a limit is reached. last_seq covers what was read, kept or not, so
// filtered changes are not read again.
// Changes whose `via` (the peer they came from) fails `wanted` are passed
// over unread. At most `lim.max_scanned` changes are looked at, kept or not.
template <class Wanted, class Keep>
change_batch collect(store::environment& env, const std::string& self, std::uint64_t after_seq,
                     const batch_limits& lim, Wanted wanted, Keep keep) {
  change_batch b;
  b.node = self;
  b.instance = env.instance_id();
  b.last_seq = after_seq;
  std::size_t bytes = 0, scanned = 0;
  store::reader rd(env);
  rd.for_each_change(after_seq, wanted, [&](std::uint64_t seq, const std::string&, const record* r) {
    if (b.changes.size() >= lim.max_changes || bytes >= lim.max_bytes || scanned++ >= lim.max_scanned) {
      b.more = true;
      return false;
    }
    b.last_seq = seq;
    if (r && keep(*r)) {
      bytes += wire_size(*r);
      b.changes.push_back({seq, *r, false, {}});
    }
    return true;
  });
  // What the change at last_seq wrote (the same read): the receiver keeps
  // it with its cursor, and a store that went back shows as another stamp.
  if (b.last_seq > after_seq) b.last_stamp = rd.change_stamp(b.last_seq).value_or(0);
  return b;
}

// Node ids as config/ accepts them; an origin is written back into every
// batch this node sends, so it must be one.
bool node_id_like(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

std::string check_change(const peer& from, bool from_child, const wire_change& c) {
  const auto& r = c.rec;
  if (r.subject.size() != 18) return "subject is not an 18-character credit code";
  if (!node_id_like(r.origin)) return "origin is not a node id";
  if (from_child && std::find(from.foreign_origins.begin(), from.foreign_origins.end(), r.origin) != from.foreign_origins.end())
    return "origin " + r.origin + " is not in the sender's subtree";
  // A local node has no children: every record it sends is its own. (A
  // provincial one forwards its locals'; their ids are not known here, so
  // only the names above are refused, and the jurisdiction below.)
  if (from_child && from.role == "local" && r.origin != from.node_id)
    return "origin " + r.origin + " is not the sender's: a local node has no children and sends only its own records";
  if (from_child && !covers(from.jurisdiction, store::model::uscc_division(r.subject)))
    return "subject " + r.subject + " is outside the sender's jurisdiction " + from.jurisdiction;
  if (r.version == 0) return "version must be at least 1";
  if (c.schema_checked) return c.schema_problem;  // decode_batch checked the fields
  std::string canonical;
  return check_schema(r, canonical);
}

}  // namespace

std::function<bool(const std::string&)> goes_up(store::environment& env) {
  std::vector<std::string> children;
  for (const auto& n : store::reader(env).nodes()) children.push_back(n.node_id);
  return [children = std::move(children)](const std::string& via) {
    return via.empty() || std::find(children.begin(), children.end(), via) != children.end();
  };
}

change_batch collect_up(store::environment& env, const std::string& self, std::uint64_t after_seq,
                        const batch_limits& lim) {
  return collect(env, self, after_seq, lim, goes_up(env), [](const record&) { return true; });
}

change_batch collect_down(store::environment& env, const std::string& self, const peer& child,
                          std::uint64_t after_seq, const batch_limits& lim, bool with_own) {
  auto not_from_child = [&](const std::string& via) { return with_own || via != child.node_id; };
  return collect(env, self, after_seq, lim, not_from_child, [&](const record& r) {
    return r.subject.size() == 18 && covers(child.jurisdiction, store::model::uscc_division(r.subject));
  });
}

pending_apply submit_batch(store::writer& w, const peer& from, bool from_child, change_batch& b,
                           const std::string& cursor_key, std::uint64_t suspend_after,
                           std::function<void(const store::batch_result&)> committed, const std::string& self) {
  store::write_batch wb;
  wb.via = from.node_id;
  wb.self = self;
  pending_apply p;
  wb.replicas.reserve(b.changes.size());
  for (auto& c : b.changes) {
    if (auto why = check_change(from, from_child, c); !why.empty()) {
      // What a child sent is bounded here, as an import's excerpt is: a
      // faulty child's megabyte of "category" must not become a
      // megabyte in the quarantine (and in its answer) per change.
      why = store::model::printable_prefix(why, 400);
      p.refused.push_back({c.seq, why});
      wb.quarantine.push_back({"sync from " + from.node_id, c.seq, store::model::printable_prefix(c.rec.category, 64), "change",
                               why, store::model::printable_prefix(c.rec.subject + "/" + c.rec.record_id, 200), 0});
      continue;
    }
    wb.replicas.push_back(std::move(c.rec));
  }
  wb.cursor = store::peer_cursor{cursor_key, b.instance, b.last_seq, b.after_seq.value_or(0), b.last_stamp};
  wb.more_coming = b.more && b.after_seq.has_value();  // a pipelined push with more behind it
  wb.replica_order = store::key_order(wb.replicas);  // here, on the request's thread, not the writer's
  if (from_child && !p.refused.empty()) {
    store::registry_op op;
    op.what = store::registry_op::kind::violations;
    op.entry.node_id = from.node_id;
    op.count = p.refused.size();
    op.threshold = suspend_after;
    op.reason = store::model::printable(p.refused.front().reason.substr(0, 512));
    wb.registry.push_back(std::move(op));
  }
  p.ack = b.last_seq;
  if (!committed) {
    p.done = w.submit(std::move(wb));
    return p;
  }
  auto promise = std::make_shared<std::promise<store::batch_result>>();
  p.done = promise->get_future();
  w.submit_then(std::move(wb), [promise, committed = std::move(committed)](store::settled_batch f) {
    try {
      auto r = std::move(f).get();
      committed(r);
      promise->set_value(std::move(r));
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  return p;
}

apply_result apply_batch(store::writer& w, const peer& from, bool from_child, const change_batch& b,
                         const std::string& cursor_key) {
  change_batch mine = b;
  return apply_batch(w, from, from_child, std::move(mine), cursor_key);
}

apply_result apply_batch(store::writer& w, const peer& from, bool from_child, change_batch&& b,
                         const std::string& cursor_key, const std::string& self) {
  auto p = submit_batch(w, from, from_child, b, cursor_key, 0, {}, self);
  auto r = p.done.get();
  apply_result res;
  res.ack = p.ack;
  res.refused = std::move(p.refused);
  res.inserted = r.inserted;
  res.updated = r.updated;
  res.unchanged = r.unchanged;
  res.ignored_older = r.ignored_older;
  res.events = std::move(r.events);
  return res;
}

}  // namespace replication
