#include "store/reader.hpp"

#include <algorithm>

#include <unordered_set>

#include "store/key_codec.hpp"
#include "store/lmdb_env.hpp"
#include "store/record_codec.hpp"

namespace store {

struct reader::impl {
  environment::impl& env;
  txn t;
  explicit impl(environment::impl& e) : env(e), t(e.env, false) {}

  std::optional<model::record> by_id(std::uint64_t id) {
    model::record r;
    if (!by_id_into(id, r)) return std::nullopt;
    return r;
  }
  // A scan decodes each record into the same object: its strings' memory
  // is reused, not allocated and freed per record.
  bool by_id_into(std::uint64_t id, model::record& r) {
    auto v = t.get(env.t.id2record, be64(id));
    if (!v) return false;
    decode_record_into(*v, r);
    return true;
  }
};

namespace {

bool matches(const record_filter& f, const model::record& r) {
  if (!f.category.empty() && r.category != f.category) return false;
  if (!f.subject.empty() && r.subject != f.subject) return false;
  if (f.since_ms && r.ingested_at_ms < *f.since_ms) return false;
  return f.include_deleted || !r.deleted;
}

}  // namespace

reader::reader(environment& env) : impl_(std::make_unique<impl>(env.internals())) {}
reader::~reader() = default;

std::optional<model::record> reader::get(std::string_view category, std::string_view subject,
                                         std::string_view record_id) {
  auto id = impl_->t.get(impl_->env.t.subject2id, subject_key(subject, category, record_id));
  if (!id) return std::nullopt;
  return impl_->by_id(read_be64(*id));
}

std::vector<model::record> reader::history(std::string_view category, std::string_view subject,
                                           std::string_view record_id) {
  std::vector<model::record> out;
  auto idv = impl_->t.get(impl_->env.t.subject2id, subject_key(subject, category, record_id));
  if (!idv) return out;
  std::string prefix = be64(read_be64(*idv));
  cursor c(impl_->t, impl_->env.t.id2history);
  std::string_view k, v;
  for (bool ok = c.seek(prefix, k, v); ok && k.starts_with(prefix); ok = c.next(k, v))
    out.push_back(decode_record(v));
  return out;
}

store_stats reader::stats() {
  store_stats s;
  auto& tb = impl_->env.t;
  cursor c(impl_->t, tb.counts);
  std::string_view k, v;
  for (bool ok = c.seek({}, k, v); ok; ok = c.next(k, v)) {
    auto n = read_be64(v);
    if (n == 0) continue;
    s.by_category[std::string(k)] = n;
    s.total += n;
  }
  MDB_stat st;
  check(mdb_stat(impl_->t.get(), tb.quarantine, &st), "stat quarantine");
  s.quarantined = st.ms_entries;
  s.last_seq = last_seq();
  return s;
}

// The version the change wrote: the record as it is, or as id2history
// kept it once a newer version replaced it. The first hex digit is the
// stamp's definition (1): a peer compares only stamps of its own.
std::optional<std::uint64_t> reader::change_stamp(std::uint64_t seq) {
  auto v = impl_->t.get(impl_->env.t.seq2change, be64(seq));
  if (!v) return std::nullopt;
  auto ch = decode_change(*v);
  auto r = impl_->by_id(ch.id);
  if (r && r->version != ch.version) {
    auto old = impl_->t.get(impl_->env.t.id2history, history_key(ch.id, ch.version));
    r = old ? std::optional(decode_record(*old)) : std::nullopt;
  }
  if (!r) return std::nullopt;
  return (model::content_hash(*r) & ~(std::uint64_t{0xf} << 60)) | (change_stamp_definition << 60);
}

bool reader::holds_change(std::uint64_t seq, std::uint64_t stamp) {
  if (seq == 0) return true;
  if (seq > last_seq()) return false;
  if (stamp >> 60 != change_stamp_definition) return true;
  auto here = change_stamp(seq);
  return !here || *here == stamp;
}

std::uint64_t reader::last_seq() {
  auto last = impl_->t.last_key(impl_->env.t.seq2change);
  return last ? read_be64(*last) : 0;
}

void reader::for_each_record(const record_filter& f,
                             const std::function<bool(const model::record&)>& fn) {
  auto& tb = impl_->env.t;
  std::string_view k, v;
  if (!f.subject.empty()) {  // the subject index: one prefix scan
    // Keys are (subject, category, record id): with a category too, the
    // scan reads only that category's records.
    std::string prefix = subject_prefix(f.subject);
    if (!f.category.empty()) prefix = key_writer().str8(f.subject).str8(f.category).take();
    cursor c(impl_->t, tb.subject2id);
    model::record r;
    for (bool ok = c.seek(prefix, k, v); ok && k.starts_with(prefix); ok = c.next(k, v))
      if (impl_->by_id_into(read_be64(v), r) && matches(f, r) && !fn(r)) return;
    return;
  }
  if (f.after_seq) {  // the change log: each changed record once
    std::unordered_set<std::uint64_t> seen;
    cursor c(impl_->t, tb.seq2change);
    for (bool ok = c.seek(be64(*f.after_seq + 1), k, v); ok; ok = c.next(k, v)) {
      auto ch = decode_change(v);
      if (!seen.insert(ch.id).second) continue;
      auto r = impl_->by_id(ch.id);
      if (r && matches(f, *r) && !fn(*r)) return;
    }
    return;
  }
  scan_records(0, [&](std::uint64_t, const model::record& r) { return !matches(f, r) || fn(r); });
}

void reader::scan_records(std::uint64_t first_id,
                          const std::function<bool(std::uint64_t, const model::record&)>& fn) {
  std::string_view k, v;
  cursor c(impl_->t, impl_->env.t.id2record);
  for (bool ok = c.seek(be64(first_id), k, v); ok; ok = c.next(k, v))
    if (!fn(read_be64(k), decode_record(v))) return;
}

std::uint64_t reader::last_record_id() {
  std::string_view k, v;
  cursor c(impl_->t, impl_->env.t.id2record);
  return c.last(k, v) ? read_be64(k) : 0;
}

std::optional<peer_cursor_state> reader::cursor_of(const std::string& peer) {
  auto v = impl_->t.get(impl_->env.t.peer2cursor, peer);
  if (!v) return std::nullopt;
  peer_cursor_state c;
  decode_cursor(*v, c.peer_instance, c.seq, &c.stamp);
  return c;
}

void reader::for_each_cursor(const std::function<void(const std::string&, const peer_cursor_state&)>& fn) {
  cursor c(impl_->t, impl_->env.t.peer2cursor);
  std::string_view k, v;
  for (bool ok = c.seek({}, k, v); ok; ok = c.next(k, v)) {
    peer_cursor_state s;
    decode_cursor(v, s.peer_instance, s.seq, &s.stamp);
    fn(std::string(k), s);
  }
}

void reader::for_each_change(std::uint64_t after_seq,
                             const std::function<bool(std::uint64_t, const std::string&,
                                                      const model::record&)>& fn) {
  for_each_change(after_seq, {}, [&](std::uint64_t seq, const std::string& via, const model::record* r) {
    return fn(seq, via, *r);
  });
}

void reader::for_each_change(std::uint64_t after_seq, const std::function<bool(const std::string&)>& wanted,
                             const std::function<bool(std::uint64_t, const std::string&,
                                                      const model::record*)>& fn) {
  cursor c(impl_->t, impl_->env.t.seq2change);
  std::string_view k, v;
  for (bool ok = c.seek(be64(after_seq + 1), k, v); ok; ok = c.next(k, v)) {
    auto ch = decode_change(v);
    if (wanted && !wanted(ch.via)) {
      if (!fn(read_be64(k), ch.via, nullptr)) return;
      continue;
    }
    auto r = impl_->by_id(ch.id);
    if (!r) throw store_error("store: change log names missing record id " + std::to_string(ch.id));
    if (!fn(read_be64(k), ch.via, &*r)) return;
  }
}

std::vector<std::uint64_t> reader::last_wanted_changes(std::uint64_t after_seq, std::uint64_t until_seq,
                                                       const std::function<bool(const std::string&)>& wanted) {
  std::vector<std::uint64_t> out(last_record_id() + 1);  // this transaction's ids: 8 bytes each
  cursor c(impl_->t, impl_->env.t.seq2change);
  std::string_view k, v;
  for (bool ok = c.seek(be64(after_seq + 1), k, v); ok; ok = c.next(k, v)) {
    auto seq = read_be64(k);
    if (seq > until_seq) break;
    auto ch = decode_change(v);
    if (!wanted(ch.via)) continue;
    if (ch.id >= out.size()) throw store_error("store: the change log names record id " + std::to_string(ch.id) + ", past the last");
    out[ch.id] = seq;
  }
  return out;
}

void reader::for_each_marked_by_key(const std::vector<std::uint64_t>& marked, std::string_view after_key,
                                    const std::function<bool(std::string_view, std::uint64_t,
                                                             const model::record&)>& fn) {
  cursor c(impl_->t, impl_->env.t.subject2id);
  std::string_view k, v;
  bool ok = c.seek(after_key, k, v);
  if (ok && !after_key.empty() && k == after_key) ok = c.next(k, v);
  model::record r;
  for (; ok; ok = c.next(k, v)) {
    auto id = read_be64(v);
    if (id >= marked.size() || marked[id] == 0) continue;
    if (!impl_->by_id_into(id, r)) throw store_error("store: the subject index names missing record id " + std::to_string(id));
    if (!fn(k, marked[id], r)) return;
  }
}

void reader::for_each_event(const std::function<bool(std::uint64_t, std::string_view)>& fn) {
  cursor c(impl_->t, impl_->env.t.events);
  std::string_view k, v;
  for (bool ok = c.seek({}, k, v); ok; ok = c.next(k, v))
    if (!fn(read_be64(k), v)) return;
}

std::optional<node_entry> reader::node(const std::string& node_id) {
  auto v = impl_->t.get(impl_->env.t.node2entry, node_id);
  return v ? std::optional<node_entry>(decode_node_entry(*v)) : std::nullopt;
}

namespace {

// Every value of a small table, decoded in key order.
template <class Decode>
auto all_of(const txn& t, MDB_dbi dbi, Decode decode) {
  std::vector<decltype(decode(std::string_view{}, std::string_view{}))> out;
  cursor c(t, dbi);
  std::string_view k, v;
  for (bool ok = c.seek({}, k, v); ok; ok = c.next(k, v)) out.push_back(decode(k, v));
  return out;
}

}  // namespace

std::vector<node_entry> reader::nodes() {
  return all_of(impl_->t, impl_->env.t.node2entry, [](auto, auto v) { return decode_node_entry(v); });
}

std::vector<revocation> reader::revocations() {
  return all_of(impl_->t, impl_->env.t.serial2revocation, [](auto k, auto v) { return decode_revocation(k, v); });
}

std::optional<principal> reader::principal_by_id(const std::string& id) {
  auto v = impl_->t.get(impl_->env.t.id2principal, id);
  return v ? std::optional<principal>(decode_principal(*v)) : std::nullopt;
}

// The index may name a principal whose token has since been replaced: only
// the hash the principal holds now lets a request in.
std::optional<principal> reader::principal_by_token(const std::string& token_sha256) {
  auto id = impl_->t.get(impl_->env.t.token2principal, token_sha256);
  auto p = id ? principal_by_id(std::string(*id)) : std::nullopt;
  return p && p->token_sha256 == token_sha256 ? p : std::nullopt;
}

std::optional<principal> reader::principal_by_cert(const std::string& cert_sha256) {
  auto id = impl_->t.get(impl_->env.t.cert2principal, cert_sha256);
  auto p = id ? principal_by_id(std::string(*id)) : std::nullopt;
  return p && p->cert_sha256 == cert_sha256 ? p : std::nullopt;
}

std::vector<principal> reader::principals() {
  return all_of(impl_->t, impl_->env.t.id2principal, [](auto, auto v) { return decode_principal(v); });
}

std::vector<consent> reader::consents() {
  return all_of(impl_->t, impl_->env.t.consent, [](auto, auto v) { return decode_consent(v); });
}

std::optional<consent> reader::consent_by_id(const std::string& id) {
  auto key = impl_->t.get(impl_->env.t.consentid2key, id);
  if (!key) return std::nullopt;
  auto v = impl_->t.get(impl_->env.t.consent, *key);
  return v ? std::optional<consent>(decode_consent(*v)) : std::nullopt;
}

std::vector<consent> reader::consents_for(const std::string& subject, const std::string& grantee) {
  key_writer w;
  w.str8(subject).str8(grantee);
  std::string prefix = w.take();
  std::vector<consent> out;
  cursor c(impl_->t, impl_->env.t.consent);
  std::string_view k, v;
  for (bool ok = c.seek(prefix, k, v); ok && k.starts_with(prefix); ok = c.next(k, v)) out.push_back(decode_consent(v));
  return out;
}

void reader::for_each_audit(std::uint64_t first_seq, const std::function<bool(const audit_entry&)>& fn) {
  cursor c(impl_->t, impl_->env.t.seq2audit);
  std::string_view k, v;
  for (bool ok = c.seek(be64(first_seq), k, v); ok; ok = c.next(k, v))
    if (!fn(decode_audit(read_be64(k), v))) return;
}

// Counts by walking the subject's keys (no copy of them), then reads only
// the page, stepping back from just below `before`: a subject with a long
// history costs the page's memory, not the history's.
std::vector<audit_entry> reader::audit_for_subject(const std::string& subject, std::size_t limit, std::size_t& total,
                                                   std::size_t skip, std::uint64_t before, bool* more) {
  std::string prefix = key_writer().str8(subject).take();
  cursor c(impl_->t, impl_->env.t.subject2audit);
  std::string_view k, v;
  total = 0;
  for (bool ok = c.seek(prefix, k, v); ok && k.starts_with(prefix); ok = c.next(k, v)) ++total;
  std::string from = prefix + (before ? be64(before) : std::string(8, '\xff'));
  bool ok = c.seek(from, k, v) ? c.prev(k, v) : c.last(k, v);
  std::vector<audit_entry> out;
  for (; ok && k.starts_with(prefix) && out.size() < limit; ok = c.prev(k, v)) {
    if (skip) {
      --skip;
      continue;
    }
    auto seq = read_be64(k.substr(prefix.size()));
    if (auto e = impl_->t.get(impl_->env.t.seq2audit, be64(seq))) out.push_back(decode_audit(seq, *e));
  }
  if (more) *more = ok && k.starts_with(prefix);
  return out;
}

std::uint64_t reader::last_audit_seq() {
  cursor c(impl_->t, impl_->env.t.seq2audit);
  std::string_view k, v;
  return c.last(k, v) ? read_be64(k) : 0;
}

std::size_t reader::event_count() {
  MDB_stat st;
  check(mdb_stat(impl_->t.get(), impl_->env.t.events, &st), "count events");
  return st.ms_entries;
}

std::size_t reader::audit_count() {
  MDB_stat st;
  check(mdb_stat(impl_->t.get(), impl_->env.t.seq2audit, &st), "count audit entries");
  return st.ms_entries;
}

std::size_t reader::revocation_count() {
  MDB_stat st;
  check(mdb_stat(impl_->t.get(), impl_->env.t.serial2revocation, &st), "count revocations");
  return st.ms_entries;
}

bool reader::is_revoked(const std::string& serial_hex) {
  return !serial_hex.empty() && impl_->t.get(impl_->env.t.serial2revocation, serial_hex).has_value();
}

std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> reader::digest(std::string_view division_prefix) {
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> out;
  std::string prefix(1, '\x06');
  prefix += division_prefix;
  cursor c(impl_->t, impl_->env.t.digests);
  std::string_view k, v;
  for (bool ok = c.seek(prefix, k, v); ok && k.starts_with(prefix); ok = c.next(k, v)) {
    key_reader kr(k);
    kr.str8();
    auto& d = out[std::string(kr.str8())];
    d.first += read_be64(v);
    d.second += read_be64(v.substr(8));
  }
  return out;
}

std::vector<std::string> reader::integrity_problems() {
  std::vector<std::string> out;
  auto& tb = impl_->env.t;
  auto entries = [&](MDB_dbi dbi) {
    MDB_stat st;
    check(mdb_stat(impl_->t.get(), dbi, &st), "stat");
    return st.ms_entries;
  };
  if (entries(tb.subject2id) != entries(tb.id2record))
    out.push_back("the subject index has " + std::to_string(entries(tb.subject2id)) + " entries for " +
                  std::to_string(entries(tb.id2record)) + " records");
  if (!impl_->t.get(tb.meta, "instance_id") || !impl_->t.get(tb.meta, "schema_version"))
    out.push_back("meta lacks instance_id or schema_version");
  std::uint64_t live = 0;
  for (const auto& [_, n] : stats().by_category) live += n;
  if (live > entries(tb.id2record)) out.push_back("category counts exceed the records held");
  // The newest change must name a record that exists.
  if (auto last = impl_->t.last_key(tb.seq2change)) {
    auto v = impl_->t.get(tb.seq2change, *last);
    if (v && !impl_->by_id(decode_change(*v).id)) out.push_back("the newest change names a missing record");
  }
  return out;
}

std::vector<std::string> reader::walk_problems(std::chrono::steady_clock::time_point until, bool& complete) {
  complete = true;
  const auto& tb = impl_->env.t;
  const std::pair<const char*, MDB_dbi> all[] = {
      {"meta", tb.meta}, {"subject2id", tb.subject2id}, {"id2record", tb.id2record}, {"id2history", tb.id2history},
      {"seq2change", tb.seq2change}, {"quarantine", tb.quarantine}, {"counts", tb.counts}, {"peer2cursor", tb.peer2cursor},
      {"events", tb.events}, {"digests", tb.digests}, {"node2entry", tb.node2entry}, {"serial2revocation", tb.serial2revocation},
      {"id2principal", tb.id2principal}, {"token2principal", tb.token2principal}, {"cert2principal", tb.cert2principal},
      {"consent", tb.consent}, {"consentid2key", tb.consentid2key}, {"seq2audit", tb.seq2audit}, {"subject2audit", tb.subject2audit}};
  std::vector<std::string> out;
  for (const auto& [name, dbi] : all) {
    MDB_stat st;
    check(mdb_stat(impl_->t.get(), dbi, &st), "stat");
    std::uint64_t n = 0;
    unsigned sum = 0;  // touches every byte of every value, overflow pages too
    cursor c(impl_->t, dbi);
    std::string_view k, v;
    for (bool ok = c.seek({}, k, v); ok; ok = c.next(k, v), ++n) {
      for (unsigned char b : v) sum += b;
      if ((n & 4095) == 4095 && std::chrono::steady_clock::now() > until) {
        complete = false;
        return out;
      }
    }
    if (n != st.ms_entries)
      out.push_back("table " + std::string(name) + " holds " + std::to_string(n) + " readable entries of " + std::to_string(st.ms_entries));
    volatile unsigned keep = sum;  // the reads must happen
    (void)keep;
  }
  return out;
}

void reader::for_each_quarantine(const std::function<bool(std::uint64_t, std::string_view)>& fn) {
  cursor c(impl_->t, impl_->env.t.quarantine);
  std::string_view k, v;
  for (bool ok = c.seek({}, k, v); ok; ok = c.next(k, v))
    if (!fn(read_be64(k), v)) return;
}

}  // namespace store
