#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "store/key_codec.hpp"
#include "store/lmdb_env.hpp"
#include "store/txn_state.hpp"

namespace store {

void throw_lmdb(int rc, const std::string& what) {
  std::string msg = "store: " + what + ": " + mdb_strerror(rc);
  if (rc == MDB_MAP_FULL)
    msg += " (raise [store] map_size_mb in the config, restart the node if it runs, then try again)";
  else if (rc == MDB_MAP_RESIZED)
    msg += " (another process grew the store beyond this one's map: restart this one)";
  else if (rc == EACCES)
    msg += " (the data directory must belong to the user running credit-node)";
  else if (rc == ENOSPC)
    msg += " (free disk space in the data directory)";
  else if (rc == MDB_VERSION_MISMATCH || rc == MDB_INVALID)
    msg += " (the file is not an LMDB store of this version: restore from a backup)";
  throw store_error(msg);
}

txn::txn(MDB_env* env, bool write) {
  check(mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &t_), "begin transaction");
}
txn::~txn() {
  if (t_) mdb_txn_abort(t_);
}
namespace {

// LMDB reports a short write — what a filling disk gives — as EIO ("short
// write, filesystem full?" in mdb_page_flush). Said as it is when the
// store's filesystem has under 64 MiB left, so ops free space rather than
// hunt for a failing disk.
void throw_commit_failure(MDB_env* env, int rc) {
  const char* path = nullptr;
  struct statvfs fs {};
  if ((rc == EIO || rc == ENOSPC) && mdb_env_get_path(env, &path) == 0 && path && ::statvfs(path, &fs) == 0) {
    auto free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (free_bytes < (std::uint64_t{64} << 20))
      throw store_error("store: commit: the disk holding " + std::string(path) + " is full (" +
                        std::to_string(free_bytes >> 10) + " KiB free): free disk space there, then try again; "
                        "this transaction was not stored");
  }
  if (rc == EIO)
    throw store_error("store: commit: Input/output error (a write to the store failed: the kernel log, dmesg, "
                      "names the disk's errors; this transaction was not stored)");
  check(rc, "commit");
}

}  // namespace

void txn::commit() {
  MDB_env* env = mdb_txn_env(t_);
  int rc = mdb_txn_commit(t_);
  t_ = nullptr;  // committed or freed by LMDB either way
  if (rc) throw_commit_failure(env, rc);
}
std::optional<std::string_view> txn::get(MDB_dbi dbi, std::string_view key) const {
  MDB_val k = to_val(key), v;
  int rc = mdb_get(t_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "read");
  return to_sv(v);
}
void txn::put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = to_val(key), v = to_val(value);
  check(mdb_put(t_, dbi, &k, &v, flags), "write");
}
std::optional<std::string> txn::last_key(MDB_dbi dbi) const {
  cursor c(*this, dbi);
  std::string_view k, v;
  if (!c.last(k, v)) return std::nullopt;
  return std::string(k);
}

cursor::cursor(const txn& t, MDB_dbi dbi) { check(mdb_cursor_open(t.get(), dbi, &c_), "open cursor"); }
cursor::~cursor() { mdb_cursor_close(c_); }
bool cursor::op(MDB_cursor_op o, std::string_view& k, std::string_view& v) {
  MDB_val mk = to_val(k), mv;
  int rc = mdb_cursor_get(c_, &mk, &mv, o);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "cursor read");
  k = to_sv(mk);
  v = to_sv(mv);
  return true;
}
bool cursor::seek(std::string_view key, std::string_view& k, std::string_view& v) {
  k = key;
  return op(key.empty() ? MDB_FIRST : MDB_SET_RANGE, k, v);
}
bool cursor::next(std::string_view& k, std::string_view& v) { return op(MDB_NEXT, k, v); }
void cursor::append(std::string_view key, std::string_view value) {
  MDB_val k = to_val(key), v = to_val(value);
  check(mdb_cursor_put(c_, &k, &v, MDB_APPEND), "append");
}
std::optional<std::string_view> cursor::put_if_absent(std::string_view key, std::string_view value) {
  MDB_val k = to_val(key), v = to_val(value);
  int rc = mdb_cursor_put(c_, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return to_sv(v);  // LMDB hands back the existing value
  check(rc, "write");
  return std::nullopt;
}
bool cursor::last(std::string_view& k, std::string_view& v) { return op(MDB_LAST, k, v); }
bool cursor::prev(std::string_view& k, std::string_view& v) { return op(MDB_PREV, k, v); }

std::uint64_t next_u64_key(const txn& t, MDB_dbi dbi) {
  auto last = t.last_key(dbi);
  return last ? read_be64(*last) + 1 : 1;
}

namespace {

}  // namespace

std::string random_hex(std::size_t bytes) {
  std::random_device rd;  // getrandom(2) on Linux
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    out += "0123456789abcdef"[(rd() >> 4) & 0xf];
    out += "0123456789abcdef"[rd() & 0xf];
  }
  return out;
}

namespace {

void make_dir_0700(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw store_error("store: cannot create data directory " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
}

}  // namespace

MDB_dbi open_table(MDB_txn* t, const char* name) {
  MDB_dbi dbi;
  check(mdb_dbi_open(t, name, MDB_CREATE, &dbi), (std::string("open table ") + name).c_str());
  return dbi;
}

tables open_tables(MDB_txn* t) {
  tables tb;
  tb.meta = open_table(t, "meta");
  tb.subject2id = open_table(t, "subject2id");
  tb.id2record = open_table(t, "id2record");
  tb.id2history = open_table(t, "id2history");
  tb.seq2change = open_table(t, "seq2change");
  tb.quarantine = open_table(t, "quarantine");
  tb.counts = open_table(t, "counts");
  tb.peer2cursor = open_table(t, "peer2cursor");
  tb.events = open_table(t, "events");
  tb.digests = open_table(t, "digests");
  tb.node2entry = open_table(t, "node2entry");
  tb.serial2revocation = open_table(t, "serial2revocation");
  tb.id2principal = open_table(t, "id2principal");
  tb.token2principal = open_table(t, "token2principal");
  tb.cert2principal = open_table(t, "cert2principal");
  tb.consent = open_table(t, "consent");
  tb.consentid2key = open_table(t, "consentid2key");
  tb.seq2audit = open_table(t, "seq2audit");
  tb.subject2audit = open_table(t, "subject2audit");
  return tb;
}

namespace {

// LMDB 0.9 does not tell where it mapped the file (me_mapaddr is only set
// with MDB_FIXEDMAP), so find the mapping of data.mdb's inode in
// /proc/self/maps. Null when not found: releasing is then a no-op.
void* find_map_address(const std::string& dir) {
  struct stat st{};
  if (::stat((dir + "/data.mdb").c_str(), &st) != 0) return nullptr;
  std::FILE* f = std::fopen("/proc/self/maps", "r");
  if (!f) return nullptr;
  char line[4096];
  void* found = nullptr;
  while (!found && std::fgets(line, sizeof line, f)) {
    unsigned long start = 0, end = 0, inode = 0;
    if (std::sscanf(line, "%lx-%lx %*s %*s %*s %lu", &start, &end, &inode) == 3 && inode == st.st_ino)
      found = reinterpret_cast<void*>(start);
  }
  std::fclose(f);
  return found;
}

}  // namespace

namespace {

// A data file that exists but holds less than LMDB's two meta pages would
// be taken for a new store (silently empty); one shorter than its last
// page faults (SIGBUS) on the first read there. Both are refused by name.
void check_file_size(const std::string& file, std::size_t needed) {
  struct stat st{};
  if (::stat(file.c_str(), &st) != 0) return;  // a new store
  if (static_cast<std::size_t>(st.st_size) < needed)
    throw store_error("store: " + file + " holds " + std::to_string(st.st_size) + " bytes, but the store needs at least " +
                      std::to_string(needed) + ": it is damaged (truncated); stop the node and restore from a backup "
                      "(credit-node restore FILE), or, for a node that never held data, delete it");
}

}  // namespace

std::string data_dir_problem(const std::string& dir) {
  std::error_code ec;
  auto st = std::filesystem::status(dir, ec);
  if (std::filesystem::is_directory(st)) return {};
  auto cause = ec && ec != std::errc::no_such_file_or_directory ? ": " + ec.message()
               : std::filesystem::exists(st)                    ? " is not a directory"
                                                                : " does not exist";
  return "the data directory " + dir + cause +
         ": check [node] data_dir in the config (credit-node init makes it; the package makes /var/lib/credit-node)";
}

std::unique_ptr<environment> environment::open(const open_options& opt) {
  if (!opt.read_only_file && !opt.create_dir)
    if (auto why = data_dir_problem(opt.dir); !why.empty()) throw store_error("store: " + why);
  if (!opt.read_only_file) make_dir_0700(opt.dir);
  auto file = opt.read_only_file ? opt.dir : opt.dir + "/data.mdb";
  check_file_size(file, 2 * 4096);
  std::unique_ptr<environment> e(new environment);
  e->dir_ = opt.dir;
  e->impl_ = std::make_unique<impl>();
  auto& env = e->impl_->env;
  check(mdb_env_create(&env), "create environment");
  check(mdb_env_set_maxdbs(env, 32), "set table count");
  check(mdb_env_set_mapsize(env, opt.map_size_mb << 20), "set map size");
  // NOTLS: read transactions are not tied to threads (the API hands them
  // around worker threads). NORDAHEAD: random reads over a large map.
  unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
  if (opt.read_only_file) flags |= MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK;
  int rc = mdb_env_open(env, opt.dir.c_str(), flags, 0600);
  if (rc != MDB_SUCCESS) {
    mdb_env_close(env);
    env = nullptr;
    throw_lmdb(rc, "open " + opt.dir);
  }
  MDB_envinfo info;
  MDB_stat est;
  check(mdb_env_info(env, &info), "read environment info");
  check(mdb_env_stat(env, &est), "read environment stats");
  check_file_size(file, (info.me_last_pgno + 1) * est.ms_psize);
  const auto& migs = opt.migrations ? *opt.migrations : builtin_migrations();
  if (opt.read_only_file) {
    e->prepare_read_only(migs);
    return e;
  }
  e->impl_->map = find_map_address(opt.dir);
  e->prepare(migs);
  return e;
}

environment::~environment() {
  if (impl_ && impl_->env) mdb_env_close(impl_->env);
}

namespace {

// The process's resident file-backed memory (RssFile in /proc/self/status),
// in bytes; 0 when it cannot be read.
std::size_t resident_file_bytes() {
  std::FILE* f = std::fopen("/proc/self/status", "re");
  if (!f) return 0;
  char line[256];
  std::size_t kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "RssFile: %zu kB", &kb) == 1) break;
  std::fclose(f);
  return kb * 1024;
}

}  // namespace

void environment::release_mapped_pages(std::size_t budget) {
  if (!impl_->map) return;
  if (budget && resident_file_bytes() <= budget) return;
  MDB_envinfo info;
  MDB_stat st;
  check(mdb_env_info(impl_->env, &info), "read environment info");
  check(mdb_env_stat(impl_->env, &st), "read environment stats");
  std::size_t used = (info.me_last_pgno + 1) * st.ms_psize;
  ::madvise(impl_->map, used, MADV_DONTNEED);  // advisory: failure costs only memory
}

void environment::sync() { check(mdb_env_sync(impl_->env, 1), "sync to disk"); }

// What a reader begun now sees. Not mdb_env_info: it reads the meta page,
// written before the commit's meta sync returns and readers see it.
std::uint64_t environment::last_commit() const {
  txn r(impl_->env, false);
  return mdb_txn_id(r.get());
}

void environment::copy_to(int fd) { check(mdb_env_copyfd2(impl_->env, fd, MDB_CP_COMPACT), "copy the store"); }

std::uint64_t environment::renew_instance_id() {
  txn w(impl_->env, true);
  auto id = random_hex(16);
  w.put(impl_->t.meta, "instance_id", id);
  auto floor = raise_version_floor_in(w, impl_->t);
  w.commit();
  set_instance_id(std::move(id));
  return floor;
}

std::string environment::instance_id() const {
  std::lock_guard lk(instance_mu_);
  return instance_id_;
}

void environment::set_instance_id(std::string id) {
  std::lock_guard lk(instance_mu_);
  instance_id_ = std::move(id);
}

std::uint64_t raise_version_floor_in(txn& w, const tables& t) {
  std::uint64_t floor = static_cast<std::uint64_t>(now_ms()) * 1000;
  if (auto held = w.get(t.meta, "version_floor"); held && held->size() == 8) floor = std::max(floor, read_be64(*held) + 1);
  w.put(t.meta, "version_floor", be64(floor));
  return floor;
}


}  // namespace store
