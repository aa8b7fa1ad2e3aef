// The writer's access path: principals, consents and the audit chain. An
// audit entry commits in the writer's group transaction, so concurrent API
// requests share one fsync and each answer waits only for its own entry.
#include "store/model/validate.hpp"
#include "store/txn_state.hpp"

namespace store {
namespace {

std::string consent_key(const consent& c) {
  key_writer w;
  w.str8(c.subject).str8(c.grantee).str8(c.id);
  return w.take();
}

std::optional<consent> load_consent(txn_state& s, const std::string& id) {
  auto key = s.t.get(s.tb.consentid2key, id);
  if (!key) return std::nullopt;
  auto v = s.t.get(s.tb.consent, *key);
  if (!v) throw store_error("store: consent index names a missing consent " + id);
  return decode_consent(*v);
}

void put_consent(txn_state& s, const consent& c) {
  auto key = consent_key(c);
  s.t.put(s.tb.consent, key, encode_consent(c));
  s.t.put(s.tb.consentid2key, c.id, key);
}

void put_principal(txn_state& s, const principal& p, bool replace = false) {
  if (!replace && s.t.get(s.tb.id2principal, p.id)) throw access_error("a principal '" + p.id + "' is already registered");
  s.t.put(s.tb.id2principal, p.id, encode_principal(p));
  if (!p.token_sha256.empty()) s.t.put(s.tb.token2principal, p.token_sha256, p.id);
  if (!p.cert_sha256.empty()) s.t.put(s.tb.cert2principal, p.cert_sha256, p.id);
}

// Suspension, resumption or a new token, applied to the principal as
// stored. A superseded token stays in the token index; the principal's own
// hash is what a request is checked against (reader::principal_by_token).
void change_principal(txn_state& s, const access_op& op) {
  auto v = s.t.get(s.tb.id2principal, op.who.id);
  if (!v) throw access_error("no bank or portal '" + op.who.id + "' is registered");
  auto p = decode_principal(*v);
  p.changed_ms = s.now;
  if (op.what == access_op::kind::set_token) {
    p.token_sha256 = op.who.token_sha256;
    s.t.put(s.tb.token2principal, p.token_sha256, p.id);
  } else {
    p.suspended = op.who.suspended;
    p.suspended_reason = op.who.suspended_reason;
  }
  s.t.put(s.tb.id2principal, p.id, encode_principal(p));
}

void load_audit_head(txn_state& s) {
  if (s.audit_head) return;
  s.audit_head.emplace(1, std::string(64, '0'));
  if (auto last = s.t.last_key(s.tb.seq2audit)) {
    auto seq = read_be64(*last);
    s.audit_head.emplace(seq + 1, decode_audit(seq, *s.t.get(s.tb.seq2audit, *last)).hash);
  }
}

void put_audit(txn_state& s, const audit_entry& e) {
  s.t.put(s.tb.seq2audit, be64(e.seq), encode_audit(e), MDB_APPEND);
  s.audit_head.emplace(e.seq + 1, e.hash);
  if (!e.subject.empty()) {
    key_writer k;
    k.str8(e.subject).u64(e.seq);
    s.t.put(s.tb.subject2audit, k.bytes(), "");
  }
}

// The chain: each entry's hash covers the previous entry's hash, so an
// edited, removed or reordered entry breaks every hash after it.
void append_audit(txn_state& s, audit_entry e) {
  const auto& h = get_chain_hash();
  if (!h) throw store_error("store: no audit chain hash set (a bug: set_chain_hash at start)");
  // Stored exactly as hashed: printable (invalid bytes would otherwise be
  // hashed as U+FFFD and could change unseen), and bounded after that —
  // each invalid byte becomes three, so a bound taken before could exceed
  // what the entry's encoding holds and the stored entry its hash.
  for (auto* f : {&e.principal, &e.method, &e.consent, &e.decision, &e.subject})
    *f = model::printable_prefix(*f, audit_short_field_bytes);
  e.path = model::printable_prefix(e.path, audit_long_field_bytes);
  e.detail = model::printable_prefix(e.detail, audit_long_field_bytes);
  load_audit_head(s);
  e.seq = s.audit_head->first;
  e.at_ms = s.now;
  e.prev = std::move(s.audit_head->second);
  e.hash = h(e.prev, audit_text(e));
  put_audit(s, e);
}

// A link of another copy of this chain (the store a restore replaced),
// stored as it was: only if it follows the head and its hash holds, so a
// carried log is as verifiable as one written here.
void carry_audit(txn_state& s, const audit_entry& e) {
  const auto& h = get_chain_hash();
  if (!h) throw store_error("store: no audit chain hash set (a bug: set_chain_hash at start)");
  load_audit_head(s);
  if (e.seq != s.audit_head->first || e.prev != s.audit_head->second)
    throw access_error("audit entry " + std::to_string(e.seq) + " does not continue this chain (its head is entry " +
                       std::to_string(s.audit_head->first - 1) + ")");
  if (h(e.prev, audit_text(e)) != e.hash)
    throw access_error("audit entry " + std::to_string(e.seq) + " does not match its hash");
  put_audit(s, e);
}

// A query answered under a consent commits only while the consent is
// live: one withdrawn (or run out) after the handler read it and before
// this commit refuses the request, so nothing is released under a
// withdrawal the portal has been told is done. (A consent not found is
// not counted, as before.)
void check_live(txn_state& s, const std::string& id) {
  if (s.consents_live.count(id)) return;
  auto c = load_consent(s, id);
  if (!c) return;
  if (auto st = c->status(s.now); st != "active")
    throw consent_not_live_error("consent " + id + " is " + st + " (since this request was checked against it), so "
                                 "nothing is answered under it; the enterprise can grant a new one through its portal");
  s.consents_live.insert(id);
}

}  // namespace

void apply_access(txn_state& s, const write_batch& b) {
  for (const auto& op : b.access) {
    switch (op.what) {
      case access_op::kind::put_principal: put_principal(s, op.who); break;
      case access_op::kind::put_consent: put_consent(s, op.grant); break;
      case access_op::kind::withdraw_consent: {
        auto c = load_consent(s, op.grant.id);
        if (!c) throw access_error("no consent '" + op.grant.id + "'");
        if (c->withdrawn) throw access_error("consent '" + op.grant.id + "' is already withdrawn");
        c->withdrawn = true;
        c->withdrawn_ms = s.now;
        put_consent(s, *c);
        s.consents_live.erase(c->id);
        break;
      }
      case access_op::kind::use_consent:
        check_live(s, op.grant.id);
        ++s.consent_uses[op.grant.id];
        break;
      case access_op::kind::audit: append_audit(s, op.entry); break;
      case access_op::kind::carry_audit: carry_audit(s, op.entry); break;
      case access_op::kind::suspend_principal:
      case access_op::kind::set_token: change_principal(s, op); break;
      case access_op::kind::carry_principal: put_principal(s, op.who, true); break;
    }
  }
}

// Each used consent read and written once per transaction, however many
// requests of the group it answered; a withdrawal in the same transaction
// is kept (the use count is all that changes here).
void flush_access(txn_state& s) {
  for (const auto& [id, n] : s.consent_uses)
    if (auto c = load_consent(s, id)) {
      c->use_count += n;
      c->last_use_ms = s.now;
      s.t.put(s.tb.consent, consent_key(*c), encode_consent(*c));  // its id index stays as it is
    }
  s.consent_uses.clear();
}

}  // namespace store
