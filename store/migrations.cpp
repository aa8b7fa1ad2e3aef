// Store format versions. meta.schema_version says which format the file has;
// each migration moves it one step, in one transaction, so a crash during
// an upgrade leaves the store at the last completed step.
#include "store/key_codec.hpp"
#include "store/lmdb_env.hpp"

#include <chrono>
#include <map>
#include <vector>

#include "store/record_codec.hpp"

namespace store {

namespace {

// Format 2 keeps per-(division, category) digests so sync can prove
// agreement without scanning every record. Built from the records,
// starting from an empty table, so running it twice gives the same result.
void build_digests(migration_context& m) {
  std::vector<std::string> stale;
  m.for_each("digests", [&](std::string_view k, std::string_view) { stale.emplace_back(k); });
  for (const auto& k : stale) m.del("digests", k);
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> sums;
  m.for_each("id2record", [&](std::string_view, std::string_view v) {
    auto r = decode_record(v);
    auto& d = sums[digest_key(r.subject, r.category)];
    if (!r.deleted) ++d.first;
    d.second += model::digest_hash(r);
  });
  for (const auto& [k, d] : sums) m.put("digests", k, be64(d.first) + be64(d.second));
}

}  // namespace

const std::vector<migration>& builtin_migrations() {
  // Each step has a test that starts from a store in the older format.
  static const std::vector<migration> steps{
      {1, "digests per division and category", build_digests},
      // The tables are created when the store opens; the step marks the
      // format, so an older binary refuses a store that holds a registry.
      {2, "registry of child nodes and revocation list", [](migration_context&) {}},
      {3, "API principals, consents and the audit chain", [](migration_context&) {}},
  };
  return steps;
}

namespace {

class lmdb_migration_context final : public migration_context {
public:
  explicit lmdb_migration_context(txn& t) : t_(t) {}
  std::optional<std::string> get(const std::string& table, const std::string& key) override {
    auto v = t_.get(dbi(table), key);
    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
  }
  void put(const std::string& table, const std::string& key, const std::string& value) override {
    t_.put(dbi(table), key, value);
  }
  void del(const std::string& table, const std::string& key) override {
    MDB_val k = to_val(key);
    int rc = mdb_del(t_.get(), dbi(table), &k, nullptr);
    if (rc != MDB_NOTFOUND) check(rc, "delete");
  }
  void for_each(const std::string& table,
                const std::function<void(std::string_view, std::string_view)>& fn) override {
    cursor c(t_, dbi(table));
    std::string_view k, v;
    for (bool ok = c.seek({}, k, v); ok; ok = c.next(k, v)) fn(k, v);
  }

private:
  MDB_dbi dbi(const std::string& table) { return open_table(t_.get(), table.c_str()); }
  txn& t_;
};

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

// A file opened read-only cannot be migrated, and a table missing from it
// cannot be created: either means it is not a store this binary can read.
void environment::prepare_read_only(const std::vector<migration>& migs) {
  const auto target = static_cast<std::uint32_t>(1 + migs.size());
  txn r(impl_->env, false);
  auto what = [&] { return "store: " + dir_ + " is not a credit-node store of format " + std::to_string(target); };
  try {
    impl_->t = open_tables(r.get());
  } catch (const store_error& e) {
    throw store_error(what() + " (" + e.what() + ")");
  }
  auto version = r.get(impl_->t.meta, "schema_version");
  schema_version_ = version ? static_cast<std::uint32_t>(read_be64(*version)) : 0;
  instance_id_ = std::string(r.get(impl_->t.meta, "instance_id").value_or(""));
  r.commit();  // keeps the table handles for later transactions
  if (schema_version_ != target)
    throw store_error(what() + " (it has format " + std::to_string(schema_version_) +
                      "): read it with the credit-node that wrote it");
}

void environment::prepare(const std::vector<migration>& migs) {
  const auto target = static_cast<std::uint32_t>(1 + migs.size());
  txn w(impl_->env, true);
  impl_->t = open_tables(w.get());
  auto& meta = impl_->t.meta;
  auto version = w.get(meta, "schema_version");
  if (!version) {
    // A new store: its instance id lets children tie their cursors to this
    // very store (a restored backup gets a new one).
    instance_id_ = random_hex(16);
    w.put(meta, "schema_version", be64(target));
    w.put(meta, "instance_id", instance_id_);
    w.put(meta, "created_at", be64(static_cast<std::uint64_t>(now_ms())));
    w.commit();
    schema_version_ = target;
    return;
  }
  schema_version_ = static_cast<std::uint32_t>(read_be64(*version));
  instance_id_ = std::string(w.get(meta, "instance_id").value_or(""));
  w.commit();
  if (schema_version_ > target)
    throw store_error("store: " + dir_ + " has format " + std::to_string(schema_version_) +
                      ", newer than this credit-node supports (" + std::to_string(target) +
                      "); install the newer credit-node that wrote it");
  while (schema_version_ < target) {
    const migration* step = nullptr;
    for (const auto& m : migs)
      if (m.from == schema_version_) step = &m;
    if (!step)
      throw store_error("store: no migration from format " + std::to_string(schema_version_));
    txn t(impl_->env, true);
    lmdb_migration_context ctx(t);
    step->apply(ctx);
    t.put(meta, "schema_version", be64(schema_version_ + 1));
    t.commit();
    ++schema_version_;
  }
}

}  // namespace store
