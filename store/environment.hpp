// The node's store: one LMDB environment in the data directory. LMDB types
// stay behind this header (see lmdb_env.hpp, private to store/).
//
// Concurrency: any number of threads and processes may read; writes go
// through store::writer (one per process; LMDB serialises writers across
// processes, so the CLI may import while `run` is live).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace store {

// The environment cannot be opened or used (disk, permissions, map full).
class store_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A peer's batch does not continue from where its cursor stands here
// (an earlier batch was lost): nothing of it was applied.
class sync_gap_error : public store_error {
public:
  using store_error::store_error;
};

// An admin registry change that the node's current state does not allow.
class registry_error : public store_error {
public:
  using store_error::store_error;
};

// An API principal or consent change that cannot be made as asked.
class access_error : public store_error {
public:
  using store_error::store_error;
};

// A query's use of a consent that, by the time it commits, is withdrawn or
// has run out (after the handler read it): the batch fails, and nothing is
// answered under it.
class consent_not_live_error : public access_error {
public:
  using access_error::access_error;
};

// A row of an `owner_only` batch (an API write) names a record another node
// owns: the batch fails, and nothing of it is written.
class not_owner_error : public access_error {
public:
  using access_error::access_error;
};

class migration_context;

// One step of the store format: from `from` to `from + 1`, in one write
// transaction together with the new schema_version.
struct migration {
  std::uint32_t from = 0;
  std::string description;
  std::function<void(migration_context&)> apply;
};

// The steps this binary knows; the format it writes is 1 + their count.
const std::vector<migration>& builtin_migrations();

struct open_options {
  std::string dir;
  std::uint64_t map_size_mb = 65536;
  const std::vector<migration>* migrations = nullptr;  // null: builtin
  // `dir` names a data file (a backup, or the data.mdb.before-restore-*
  // a restore keeps), opened read-only: no lock file, no migration — its
  // format must be the one this binary writes.
  bool read_only_file = false;
  // false: a missing `dir` is an error, not a new empty store (a misspelt
  // data_dir must not look like a node with no records).
  bool create_dir = true;
};

// Why `dir` cannot be a node's data directory ("" when it is one), with
// what to do: a missing or misspelt [node] data_dir.
std::string data_dir_problem(const std::string& dir);

class environment {
public:
  static std::unique_ptr<environment> open(const open_options& opt);
  ~environment();

  const std::string& dir() const { return dir_; }
  // A copy: a running node's writer may renew it (write_batch::renew_instance).
  std::string instance_id() const;
  std::uint32_t schema_version() const { return schema_version_; }

  // Flushes everything committed so far to disk (after non-durable commits).
  void sync();
  // The id of the last commit a reader begun now sees, whichever process
  // made it (a read transaction, no system call): node/service/store_watch
  // polls it after another process writes.
  std::uint64_t last_commit() const;

  // A consistent, compacted copy of the store (one read snapshot: the node
  // keeps writing meanwhile) written to `fd` as a data.mdb file.
  void copy_to(int fd);
  // The store went back (a restore): a new random instance id, so peers see
  // it is not the store they synced with and reconcile, and — in the same
  // transaction — a raised version floor: the records it owns that changed
  // since are held elsewhere under versions it no longer knows, so its own
  // changes from now on take versions from a floor above any it can have
  // issued (the time in ms × 1000: monotonic, < 2^53 until the year 2255).
  // Returns the floor. (The writer does the same for write_batch::renew_instance.)
  std::uint64_t renew_instance_id();
  // The id a commit just stored (the writer, after write_batch::renew_instance).
  void set_instance_id(std::string id);

  // Drops this process's page-table mappings of the store file once the
  // process's resident file pages exceed `budget` bytes (0: always). The
  // pages stay in the kernel's page cache; the next read maps them again. A
  // bulk import calls it between commits: otherwise every page the kernel
  // maps around a random index lookup ("fault-around") counts as resident,
  // and a large import looks like it holds the whole store in memory. Not
  // after every commit: mapping the index again each time is dear (an
  // import of 1M records: 103,000 records/s releasing after each commit,
  // 188,000 never releasing).
  void release_mapped_pages(std::size_t budget = 0);

  struct impl;
  impl& internals() { return *impl_; }

private:
  environment() = default;
  void prepare(const std::vector<migration>& migs);  // migrations.cpp
  void prepare_read_only(const std::vector<migration>& migs);  // migrations.cpp
  std::string dir_, instance_id_;
  mutable std::mutex instance_mu_;  // instance_id_: renewed by the writer while others read it
  std::uint32_t schema_version_ = 0;
  std::unique_ptr<impl> impl_;
};

// What a migration may do: plain key/value operations on named tables,
// inside the migration's transaction.
class migration_context {
public:
  virtual ~migration_context() = default;
  virtual std::optional<std::string> get(const std::string& table, const std::string& key) = 0;
  virtual void put(const std::string& table, const std::string& key, const std::string& value) = 0;
  virtual void del(const std::string& table, const std::string& key) = 0;
  virtual void for_each(const std::string& table,
                        const std::function<void(std::string_view, std::string_view)>& fn) = 0;
};

}  // namespace store
