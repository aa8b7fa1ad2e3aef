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

#include "node/cli/commands.hpp"
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
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  int fd = ec ? -1 : ::open((data_dir + "/run.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    why = "cannot open " + data_dir + "/run.lock: " + (ec ? ec.message() : std::strerror(errno)) +
          ": the data dir must exist and be writable by the user the node runs as";
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
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

}  // namespace

int cmd_backup(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {"--out"}, 0});
  auto out = a.require("--out");
  auto cfg = load_config(a);
  if (fs::exists(out)) throw usage_error(out + " exists: a backup never overwrites a file");
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
  std::ofstream(out + ".sha256") << sum << "  " << fs::path(out).filename().string() << "\n";
  std::cout << "backup: " << out << " (" << fs::file_size(out) << " bytes, store " << env->instance_id() << ", sha256 "
            << sum << ", in " << out << ".sha256); restore with: credit-node restore " << out << "\n";
  return 0;
}

// Revocations only grow, network-wide: a restore must not un-revoke a
// certificate revoked after the backup was taken. Read from the store about
// to be replaced; `problem` says why they could not be (a damaged store).
std::vector<store::revocation> revocations_of_current(const config::node_config& cfg, std::string& problem) {
  if (!fs::exists(cfg.node.data_dir + "/data.mdb")) return {};
  try {
    auto env = open_store(cfg);
    return store::reader(*env).revocations();
  } catch (const std::exception& e) {
    problem = e.what();
    return {};
  }
}

void carry_revocations(store::environment& env, std::vector<store::revocation> list) {
  if (list.empty()) return;
  store::registry_op op;
  op.what = store::registry_op::kind::merge_revocations;
  op.revocations = std::move(list);
  store::writer w(env);
  store::commit_one(w, std::move(op));
}

int cmd_restore(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {}, 1});
  if (a.positional.size() != 1) throw usage_error("restore takes the backup FILE");
  auto file = a.positional[0];
  auto cfg = load_config(a);
  std::ifstream sums(file + ".sha256");
  std::string want;
  if (!(sums >> want)) throw std::runtime_error(file + ".sha256 is missing or empty: the backup cannot be checked, so it is not restored");
  if (auto got = pki::sha256_file_hex(file); got != want)
    throw std::runtime_error(file + " does not match its checksum (sha256 " + got + ", expected " + want + "): it is damaged; nothing was changed");
  const auto& dir = cfg.node.data_dir;
  std::string why;
  int lock = run_lock(dir, why);
  if (lock < 0)  // exit 1
    throw store::store_error(dir + ": " + why + (lock == -2 ? ": stop it first (systemctl stop credit-node)" : "") +
                             "; nothing was changed");
  std::string carry_problem;
  auto revoked = revocations_of_current(cfg, carry_problem);
  std::string kept;
  if (fs::exists(dir + "/data.mdb")) {
    kept = dir + "/data.mdb.before-restore-" + stamp();
    fs::rename(dir + "/data.mdb", kept);
  }
  fs::remove(dir + "/lock.mdb");
  fs::copy_file(file, dir + "/data.mdb");
  fs::permissions(dir + "/data.mdb", fs::perms::owner_read | fs::perms::owner_write);
  auto env = open_store(cfg);
  auto old_id = env->instance_id();
  env->renew_instance_id();
  // The records this node owns that are newer than the backup are at its
  // parent only: the node pulls them back before imports go on.
  if (cfg.upstream) std::ofstream(service::recovery_flag_path(cfg)) << "restored from " << file << " at " << stamp() << "\n";
  auto restored_revocations = store::reader(*env).revocations().size();
  carry_revocations(*env, revoked);
  auto carried = store::reader(*env).revocations().size() - restored_revocations;
  ::close(lock);
  std::cout << "restore: " << file << " is now the store in " << dir << " (format " << env->schema_version()
            << "); its instance id " << old_id << " became " << env->instance_id()
            << ", so its parent and children reconcile with it";
  if (cfg.upstream)
    std::cout << "; started, it first pulls back from " << cfg.upstream->node_id
              << " the records it owns that are newer than the backup (imports wait until then)";
  else
    std::cout << "; records it owned that are newer than the backup are not restored (this node has no parent to hold "
                 "them): import them again";
  if (!kept.empty()) std::cout << "; the store it replaced is kept as " << kept;
  if (carried) std::cout << "; " << carried << " certificate revocation(s) made since the backup were carried over from it";
  std::cout << "\n";
  if (!carry_problem.empty())
    std::cerr << "restore: warning: the revocations of the store it replaced could not be read (" << carry_problem
              << "): any certificate revoked after the backup is not revoked now; revoke it again (credit-node admin revoke)\n";
  return 0;
}

}  // namespace node::cli
