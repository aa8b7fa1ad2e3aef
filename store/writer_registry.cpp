// The writer's registry path: a parent's child nodes and the revocation
// list, changed by join requests, admin commands and security events. Each
// op reads the entry as stored in this transaction, so concurrent writers
// (the running node, a CLI admin command) never lose each other's changes.
#include "store/model/validate.hpp"
#include "store/txn_state.hpp"

namespace store {
namespace {

std::optional<node_entry> load(txn_state& s, const std::string& id) {
  auto v = s.t.get(s.tb.node2entry, id);
  return v ? std::optional<node_entry>(decode_node_entry(*v)) : std::nullopt;
}

void save(txn_state& s, const node_entry& e) { s.t.put(s.tb.node2entry, e.node_id, encode_node_entry(e)); }

void security_event(txn_state& s, const std::string& kind, const std::string& node, const std::string& detail) {
  std::string o = "{\"at\":";
  model::append_json_string(o, model::format_utc_ms(s.now));
  o += ",\"kind\":";
  model::append_json_string(o, kind);
  o += ",\"node\":";
  model::append_json_string(o, node);
  o += ",\"detail\":";
  model::append_json_string(o, model::printable(detail));
  s.put_event(o + "}");
}

void join_seen(txn_state& s, const registry_op& op) {
  auto e = load(s, op.entry.node_id);
  if (!e) {
    e = op.entry;
    e->state = node_state::pending;
    e->reason = "new node: waiting for approval";
    e->first_seen_ms = e->changed_ms = s.now;
    security_event(s, "join_pending", e->node_id, "role " + e->role + ", jurisdiction " + e->jurisdiction);
  }
  e->cert_serial = op.entry.cert_serial;
  e->version = op.entry.version;
  e->last_decision = op.entry.last_decision;
  e->last_reasons = op.entry.last_reasons;
  e->last_join_ms = e->last_contact_ms = s.now;
  save(s, *e);
}

// Never back, except from a time in the future (a clock set ahead, then
// corrected): kept, that would show the child heard from until then.
void contact(txn_state& s, const registry_op& op) {
  auto e = load(s, op.entry.node_id);
  if (!e || (e->last_contact_ms >= op.entry.last_contact_ms && e->last_contact_ms <= s.now)) return;
  e->last_contact_ms = op.entry.last_contact_ms;
  save(s, *e);
}

void add_revocation(txn_state& s, const revocation& r) {
  if (r.serial.empty() || s.t.get(s.tb.serial2revocation, r.serial)) return;
  s.t.put(s.tb.serial2revocation, r.serial, encode_revocation(r));
}

// `approve --role --jurisdiction` over an entry that says otherwise.
void correct_registration(node_entry& e, const registry_op& op) {
  // A pending entry is what the node asked as (its certificate); an
  // operator's registration never admitted by a join (a typo in a
  // pre-registration, say) may be corrected; one a join was admitted
  // under may not.
  if (e.state == node_state::pending)
    throw registry_error("node '" + e.node_id + "' asked to join as role " + e.role + ", jurisdiction " + e.jurisdiction +
                       ", not " + op.entry.role + " " + op.entry.jurisdiction + ": check which node this is before approving it");
  if (e.last_decision == "admitted" || e.state == node_state::revoked)
    throw registry_error("node '" + e.node_id + "' is registered here as role " + e.role + ", jurisdiction " + e.jurisdiction +
                       " and has joined so, not as " + op.entry.role + " " + op.entry.jurisdiction +
                       ": check which node this is before approving it");
  e.role = op.entry.role;
  e.jurisdiction = op.entry.jurisdiction;
  e.changed_ms = 0;  // a fresh registration: approve takes it from any state but revoked
}

// Which moves an operator may make: approve a pending node (or register
// one), resume a suspended one, suspend or revoke one. Revoked is final;
// anything else is refused naming the state the node is in.
void set_state(txn_state& s, const registry_op& op) {
  auto e = load(s, op.entry.node_id);
  if (!e && !op.create)
    throw registry_error("no node '" + op.entry.node_id + "' in the registry: it has not asked to join yet " +
                         "(or register it with --role and --jurisdiction)");
  if (!e) {
    e = op.entry;
    e->first_seen_ms = s.now;
  } else if (op.create && (e->role != op.entry.role || e->jurisdiction != op.entry.jurisdiction)) {
    correct_registration(*e, op);
  }
  // A revocation is of a certificate: without the serial it would list
  // nothing, and the node would go on being admitted where it joins.
  if (op.to == node_state::revoked && e->cert_serial.empty() && op.entry.cert_serial.empty())
    throw registry_error("node '" + e->node_id + "' has never joined this node, so no certificate serial of it is known here: "
                         "revoke it where it joins (its parent), or give the serial: admin revoke " + e->node_id +
                         " --reason TEXT --serial HEX (its parent's `admin nodes` shows it)");
  if (!op.entry.cert_serial.empty()) e->cert_serial = op.entry.cert_serial;
  auto from = e->state;
  bool fresh = e->changed_ms == 0;
  if (!fresh && (from == node_state::revoked || from == op.to || (op.only_from && *op.only_from != from)))
    throw registry_error("node '" + e->node_id + "' is " + std::string(to_string(from)) + ": cannot make it " +
                         std::string(to_string(op.to)) + (from == node_state::revoked ? " (revocation is final)" : ""));
  e->state = op.to;
  e->reason = op.reason;
  e->changed_ms = s.now;
  save(s, *e);
  security_event(s, "node_" + std::string(to_string(op.to)), e->node_id, op.reason + (op.by.empty() ? "" : " (by " + op.by + ")"));
  if (op.to == node_state::revoked) add_revocation(s, {e->cert_serial, e->node_id, op.reason, op.by, s.now});
}

void violations(txn_state& s, const registry_op& op, batch_result& res) {
  auto e = load(s, op.entry.node_id);
  if (!e) return;
  e->violations += op.count;
  security_event(s, "violation", e->node_id, std::to_string(op.count) + " refused change(s): " + op.reason);
  if (op.threshold && e->violations >= op.threshold && e->state == node_state::admitted) {
    e->state = node_state::suspended;
    e->reason = "suspended automatically: " + std::to_string(e->violations) + " security violations (threshold " +
                std::to_string(op.threshold) + "), last: " + op.reason;
    e->changed_ms = s.now;
    security_event(s, "node_suspended", e->node_id, e->reason);
    res.suspended.push_back(e->node_id);
  }
  save(s, *e);
}

}  // namespace

void apply_registry(txn_state& s, const write_batch& b, batch_result& res) {
  for (const auto& op : b.registry) {
    switch (op.what) {
      case registry_op::kind::join_seen: join_seen(s, op); break;
      case registry_op::kind::contact: contact(s, op); break;
      case registry_op::kind::set_state: set_state(s, op); break;
      case registry_op::kind::violations: violations(s, op, res); break;
      case registry_op::kind::merge_revocations:
        for (const auto& r : op.revocations) add_revocation(s, r);
        break;
      case registry_op::kind::carry_entry: {
        // A restore must not undo a suspension or a revocation made since
        // the backup: the replaced store's entry wins when it changed later.
        auto e = load(s, op.entry.node_id);
        if (!e || e->changed_ms < op.entry.changed_ms || e->last_join_ms < op.entry.last_join_ms) {
          auto carried = op.entry;
          if (e) carried.last_contact_ms = std::max(carried.last_contact_ms, e->last_contact_ms);
          save(s, carried);
        } else if (e->last_contact_ms < op.entry.last_contact_ms) {  // heard from since the backup
          e->last_contact_ms = op.entry.last_contact_ms;
          save(s, *e);
        }
        break;
      }
    }
  }
}

}  // namespace store
