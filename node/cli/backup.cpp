// `credit-node backup --out FILE`: a consistent, compacted copy of the store
// while the node runs (one LMDB read snapshot), with FILE.sha256 beside it
// (sha256sum's format). `credit-node restore FILE`: checks the checksum,
// refuses while a node runs on the data dir, keeps the store it replaces
// (data.mdb.before-restore-TIME), and gives the restored store a new
// instance id so its parent and children reconcile with it, loudly.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "node/api/api.hpp"
#include "node/cli/commands.hpp"
#include "node/pki/files.hpp"
#include "node/pki/pki.hpp"
#include "node/service/parent_link.hpp"
#include "store/environment.hpp"
#include "store/model/record.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"

namespace node::cli {
namespace fs = std::filesystem;

namespace {

std::string holder_of(const std::string& data_dir) {
  std::ifstream in(data_dir + "/run.lock");
  std::string pid;
  std::getline(in, pid);
  return pid.empty() ? "?" : pid;
}

}  // namespace

int run_lock(const std::string& data_dir, std::string& why) {
  // Not made here: a misspelt data_dir must not become a new, empty node.
  if (why = store::data_dir_problem(data_dir); !why.empty()) return -1;
  int fd = ::open((data_dir + "/run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    why = "cannot open " + data_dir + "/run.lock: " + std::strerror(errno) +
          ": the data dir must be writable by the user the node runs as";
    return -1;
  }
  // `status` (running_pid) holds a shared lock for an instant: a few tries
  // before saying another node holds it.
  bool locked = false;
  for (int i = 0; i < 10 && !locked; ++i) {
    locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (!locked && errno != EWOULDBLOCK) break;
    if (!locked) std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  if (!locked) {
    ::close(fd);
    why = "another credit-node (pid " + holder_of(data_dir) + ") runs on it";
    return -2;
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::write(fd, pid.data(), pid.size()) < 0) {
    // the pid is for people reading the file; the lock is what counts
  }
  return fd;
}

void note_map_size(int lock_fd, std::uint64_t map_size_mb) {
  auto line = "map_size_mb=" + std::to_string(map_size_mb) + "\n";
  if (::write(lock_fd, line.data(), line.size()) < 0) {
    // without it a CLI command maps what its config says, as before
  }
}

std::optional<std::uint64_t> running_map_size(const std::string& data_dir) {
  if (running_pid(data_dir).empty()) return std::nullopt;
  std::ifstream in(data_dir + "/run.lock");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("map_size_mb=", 0) == 0) return std::stoull(line.substr(12));
  return std::nullopt;
}

std::string running_pid(const std::string& data_dir) {
  int fd = ::open((data_dir + "/run.lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases a shared lock we may have taken
  return held ? holder_of(data_dir) : std::string{};
}

namespace {

std::string stamp() {
  auto s = store::model::format_utc_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch()).count());
  std::string out;
  for (char c : s) if (std::isdigit(static_cast<unsigned char>(c)) || c == 'T') out += c;
  return out;
}

// FILE.sha256 beside the backup, both on disk with their directory entries
// before the backup is said to be made: restore refuses a backup without
// it. On failure (a full disk) neither file is left (cmd_backup made sure
// neither was there before).
void write_checksum(const std::string& out, const std::string& sum) {
  try {
    pki::files::write_new(out + ".sha256", sum + "  " + fs::path(out).filename().string() + "\n", 0600, "checksum file");
    service::sync_directory(fs::absolute(out).parent_path().string());
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(out + ".sha256", ec);
    fs::remove(out, ec);
    throw std::runtime_error(std::string(e.what()) + "; no backup was made (check the disk, then run the backup again)");
  }
}

}  // namespace

int cmd_backup(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {"--out"}, 0});
  auto out = a.require("--out");
  auto cfg = load_config(a);
  for (const auto& f : {out, out + ".sha256"})
    if (fs::exists(f)) throw usage_error(f + " exists: a backup never overwrites a file");
  auto env = open_store(cfg);
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + out + ": " + std::strerror(errno));
  try {
    env->copy_to(fd);
    if (::fsync(fd) != 0) throw std::runtime_error("cannot sync " + out + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    fs::remove(out);  // no half backup left to be trusted
    throw;
  }
  ::close(fd);
  auto sum = pki::sha256_file_hex(out);
  write_checksum(out, sum);
  std::cout << "backup: " << out << " (" << fs::file_size(out) << " bytes, store " << env->instance_id() << ", sha256 "
            << sum << ", in " << out << ".sha256); restore with: credit-node restore " << out << "\n";
  return 0;
}

namespace {

// What a restore must not roll back, read from the store it replaces: the
// certificate revocations (they only grow, network-wide), the children in
// the registry (a suspension or revocation would come undone), the API's
// banks and portal (a suspension or a retired token would) and the consents
// (a withdrawal would). `problem`: why they could not be read.
struct access_state {
  std::vector<store::revocation> revocations;
  std::vector<store::node_entry> children;
  std::vector<store::principal> principals;
  std::vector<store::consent> consents;
  std::string problem;
};

access_state access_state_of_current(const config::node_config& cfg) {
  access_state st;
  if (!fs::exists(cfg.node.data_dir + "/data.mdb")) return st;
  try {
    auto env = open_store(cfg);
    store::reader rd(*env);
    st.revocations = rd.revocations();
    st.children = rd.nodes();
    st.principals = rd.principals();
    st.consents = rd.consents();
  } catch (const std::exception& e) {
    st.problem = e.what();
  }
  return st;
}

// Into the restored store, in one transaction; returns how many revocations
// it did not hold.
std::size_t carry_access_state(store::environment& env, access_state st) {
  auto before = store::reader(env).revocations().size();
  store::write_batch b;
  store::registry_op rev;
  rev.what = store::registry_op::kind::merge_revocations;
  rev.revocations = std::move(st.revocations);
  b.registry.push_back(std::move(rev));
  for (auto& e : st.children) {
    b.registry.emplace_back().what = store::registry_op::kind::carry_entry;
    b.registry.back().entry = std::move(e);
  }
  for (auto& p : st.principals) b.access.push_back({store::access_op::kind::carry_principal, std::move(p), {}, {}});
  for (auto& c : st.consents) b.access.push_back({store::access_op::kind::put_consent, {}, std::move(c), {}});
  store::writer(env).submit(std::move(b)).get();
  return store::reader(env).revocations().size() - before;
}

// The access log written since the backup, from the store the restore
// replaced (`kept`), in chunks: the restored chain goes on where the
// replaced one did, and an earlier `audit verify --head` still holds.
// Only when the kept log continues the backup's (its entry at the backup's
// head has the same hash); otherwise it stays in the kept file alone.
struct audit_carry {
  std::uint64_t carried = 0;
  std::string problem;
};

std::optional<store::audit_entry> audit_entry_at(store::reader& rd, std::uint64_t seq) {
  std::optional<store::audit_entry> found;
  rd.for_each_audit(seq, [&](const store::audit_entry& e) {
    if (e.seq == seq) found = e;
    return false;
  });
  return found;
}

// Writes `was`'s entries after `head` into `env`, 2,000 per transaction;
// `carried` counts what committed, also when a later chunk throws.
void carry_entries_after(store::reader& was, std::uint64_t head, store::environment& env, std::uint64_t& carried) {
  std::vector<store::audit_entry> chunk;
  auto flush = [&] {
    store::write_batch b;
    for (auto& e : chunk) b.access.push_back({store::access_op::kind::carry_audit, {}, {}, std::move(e)});
    store::writer(env).submit(std::move(b)).get();
    carried += chunk.size();
    chunk.clear();
  };
  was.for_each_audit(head + 1, [&](const store::audit_entry& e) {
    chunk.push_back(e);
    if (chunk.size() == 2000) flush();
    return true;
  });
  if (!chunk.empty()) flush();
}

audit_carry carry_audit_log(const config::node_config& cfg, store::environment& env, const std::string& kept) {
  audit_carry out;
  try {
    store::set_chain_hash(&api::chain_hash);
    auto old = store::environment::open({kept, cfg.store.map_size_mb, nullptr, true});
    store::reader now(env), was(*old);
    auto head = now.last_audit_seq();
    if (head) {
      auto theirs = audit_entry_at(was, head);
      if (!theirs) return out;  // the replaced log is not longer than the backup's
      if (theirs->hash != audit_entry_at(now, head)->hash) {
        out.problem = "its entry " + std::to_string(head) + " differs from the backup's: it is not the same chain";
        return out;
      }
    }
    carry_entries_after(was, head, env, out.carried);
  } catch (const std::exception& e) {
    out.problem = e.what();
  }
  return out;
}

void check_backup_file(const std::string& file) {
  if (!fs::is_regular_file(file)) throw usage_error(file + " is not a file: name the backup to restore (as `backup --out` wrote it)");
  std::ifstream sums(file + ".sha256");
  std::string want;
  if (!(sums >> want)) throw std::runtime_error(file + ".sha256 is missing or empty: the backup cannot be checked, so it is not restored");
  if (auto got = pki::sha256_file_hex(file); got != want)
    throw std::runtime_error(file + " does not match its checksum (sha256 " + got + ", expected " + want + "): it is damaged; nothing was changed");
}

// The records this node owns that are newer than the backup are at its
// parent only: the node pulls them back before imports go on. Written
// before the store is swapped, so a crash in between cannot skip it.
void mark_recovery(const config::node_config& cfg, const std::string& file) {
  if (!cfg.upstream) return;
  try {
    service::write_recovery_flag(cfg, "restored from " + file + " at " + stamp());
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + "; nothing was changed");
  }
}

// The store's pages are on disk (its commits flushed them); the swap of
// files is not until the directory is: a power loss could otherwise bring
// back the old store, or none, after "restored".
void flush_swap(const std::string& dir) {
  try {
    service::sync_directory(dir);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + "; the backup is the store now but a power loss could undo that: check "
                             "the disk, then run the restore again");
  }
}

// The restored store, built beside the live one (DATA_DIR/restoring) from
// a copy of the backup: a new instance id, the version floor raised, and
// what must not roll back carried over from the live store, which stays
// untouched until then — a crash or a full disk mid-way leaves it in place
// (and the next restore starts the stage again).
struct staged_restore {
  std::string old_id, new_id;
  std::uint32_t format = 0;
  std::uint64_t floor = 0;
  std::size_t carried = 0;
  audit_carry log;
};

staged_restore stage_restore(const config::node_config& cfg, const std::string& file, access_state access) {
  const auto stage = cfg.node.data_dir + "/restoring", live = cfg.node.data_dir + "/data.mdb";
  fs::remove_all(stage);
  fs::create_directory(stage);
  fs::permissions(stage, fs::perms::owner_all);
  staged_restore st;
  try {
    fs::copy_file(file, stage + "/data.mdb");
    fs::permissions(stage + "/data.mdb", fs::perms::owner_read | fs::perms::owner_write);
    auto env = store::environment::open({stage, cfg.store.map_size_mb});
    st.old_id = env->instance_id();
    // The floor even below a parent: the children may hold versions made
    // after the backup that the parent never got (its link was down), and a
    // re-import reusing one with other content would be refused there for good.
    st.floor = env->renew_instance_id();
    st.carried = carry_access_state(*env, std::move(access));
    if (fs::exists(live)) st.log = carry_audit_log(cfg, *env, live);
    st.new_id = env->instance_id();
    st.format = env->schema_version();
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove_all(stage, ec);
    bool full = std::string_view(e.what()).find("No space left") != std::string_view::npos;
    throw store::store_error(std::string(e.what()) + "; nothing was changed: the store in " + cfg.node.data_dir +
                             " is as it was" + (full ? " (free some disk space, then run the restore again)" : ""));
  }
  return st;
}

// The staged store becomes the store; the replaced one is kept as `kept`.
void swap_in(const std::string& dir, const std::string& kept) {
  if (fs::exists(dir + "/data.mdb")) fs::rename(dir + "/data.mdb", kept);
  fs::remove(dir + "/lock.mdb");
  fs::rename(dir + "/restoring/data.mdb", dir + "/data.mdb");
  fs::remove_all(dir + "/restoring");
}

void print_restored(const config::node_config& cfg, const std::string& file, const staged_restore& st, const std::string& kept) {
  std::cout << "restore: " << file << " is now the store in " << cfg.node.data_dir << " (format " << st.format
            << "); its instance id " << st.old_id << " became " << st.new_id << ", so its parent and children reconcile with it";
  if (cfg.upstream)
    std::cout << "; started, it first pulls back from " << cfg.upstream->node_id
              << " the records it owns that are newer than the backup (imports wait until then); a record it changes "
              << "from now on takes version " << st.floor << " or above, past any its children hold";
  else
    std::cout << "; records it owned that are newer than the backup are not restored (this node has no parent to hold them): "
              << "import them again — a record this node changes from now on takes version " << st.floor
              << " or above, past any its children hold, so the import replaces their copies rather than reusing a version "
              << "with other content";
  if (!kept.empty())
    std::cout << "; the store it replaced is kept as " << kept << ", and its child registry, banks, portal, consents and "
              << st.carried << " certificate revocation(s) made since the backup were carried over from it";
  std::cout << "\n";
}

void print_restore_warnings(const staged_restore& st, const std::string& kept, const std::string& problem) {
  if (st.log.carried)
    std::cout << "restore: " << st.log.carried << " access log entries written since the backup were carried over; the chain goes on unbroken\n";
  if (!st.log.problem.empty())
    std::cerr << "restore: warning: the access log of the store it replaced was not carried over" << (st.log.carried ? " whole" : "")
              << " (" << st.log.problem << "): its entries stay in " << kept << "; check them there with credit-node audit verify --store "
              << kept << "\n";
  if (!problem.empty())
    std::cerr << "restore: warning: the store it replaced could not be read (" << problem << "): certificate revocations, "
              << "child suspensions and revocations, bank and portal suspensions and tokens, and consent withdrawals made "
              << "after the backup are undone; make them again (credit-node admin revoke|suspend, admin bank suspend|token, the portal)\n";
}

}  // namespace

int cmd_restore(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {}, 1});
  if (a.positional.size() != 1) throw usage_error("restore takes the backup FILE");
  auto file = a.positional[0];
  auto cfg = load_config(a);
  check_backup_file(file);
  const auto& dir = cfg.node.data_dir;
  std::string why;
  int lock = run_lock(dir, why);
  if (lock < 0)  // exit 1
    throw store::store_error(dir + ": " + why + (lock == -2 ? ": stop it first (systemctl stop credit-node)" : "") + "; nothing was changed");
  auto access = access_state_of_current(cfg);
  auto problem = access.problem;
  auto staged = stage_restore(cfg, file, std::move(access));
  try {
    mark_recovery(cfg, file);  // before the swap (a crash after it still recovers), after a staging that can fail
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir + "/restoring", ec);
    throw;
  }
  std::string kept = fs::exists(dir + "/data.mdb") ? dir + "/data.mdb.before-restore-" + stamp() : "";
  swap_in(dir, kept);
  flush_swap(dir);
  ::close(lock);
  print_restored(cfg, file, staged, kept);
  print_restore_warnings(staged, kept, problem);
  return 0;
}

}  // namespace node::cli
