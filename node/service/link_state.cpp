// The files beside the store that say where the link to the parent stands
// (link-state.json, read by `status` and /readyz) and that a restored store
// must first pull back its own records (recover-own). Declared in
// parent_link.hpp.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

#include "node/net/log.hpp"
#include "node/service/parent_link.hpp"

namespace node::service {

std::string link_state_path(const config::node_config& cfg) { return cfg.node.data_dir + "/link-state.json"; }

std::string recovery_flag_path(const config::node_config& cfg) { return cfg.node.data_dir + "/recover-own"; }
bool recovery_pending(const config::node_config& cfg) { return std::filesystem::exists(recovery_flag_path(cfg)); }

// On disk with its directory entry before it returns: what follows it (a
// new instance id, a swapped store) is durable, and a power loss must not
// keep that without the flag — the node would never pull back its newer
// records, and imports would number versions the network has seen.
void write_recovery_flag(const config::node_config& cfg, const std::string& why) {
  auto path = recovery_flag_path(cfg);
  auto fail = [&](const char* what) {
    throw std::runtime_error(std::string("cannot ") + what + " " + path + ": " + std::strerror(errno) +
                             " (check the data dir's disk and permissions)");
  };
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("create");
  std::string text = why + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) fail("write");
  sync_directory(cfg.node.data_dir);
}

void sync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    auto err = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot flush the directory " + dir + " to disk: " + err +
                             " (check the data dir's disk and permissions)");
  }
  ::close(fd);
}

std::string read_link_state(const config::node_config& cfg) {
  std::ifstream in(link_state_path(cfg));
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Never throws: it runs in the link's own error handling, and a data dir
// that cannot take the file (read-only after a disk error) must not end the
// node. Said at most once a minute; status shows an older state meanwhile.
void write_link_state(const config::node_config& cfg, const std::string& json_text) noexcept {
  using clock = std::chrono::steady_clock;
  static std::atomic<clock::rep> said_at{0};  // 0: never said
  try {
    auto path = link_state_path(cfg), tmp = path + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    out << json_text << "\n";
    out.close();
    std::error_code ec;
    if (out) std::filesystem::rename(tmp, path, ec);
    if (out && !ec) return;
    std::string why = ec ? ec.message() : std::string("cannot write ") + tmp;
    auto now = clock::now().time_since_epoch(), last = clock::duration(said_at.load());
    if (last.count() == 0 || now - last >= std::chrono::minutes(1)) {
      said_at = now.count();
      net::log::error("link_state_write_failed").kv("path", path).kv("reason", why)
          .kv("effect", "status and /readyz show the link's last written state until the data dir takes writes again");
    }
  } catch (...) {  // out of memory for a message: nothing better to do than go on
  }
}

}  // namespace node::service
