#include "node/cli/demo_network.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "node/cli/commands.hpp"
#include "node/pki/pki.hpp"

extern char** environ;

namespace node::cli {
namespace {

namespace fs = std::filesystem;

std::string free_loopback() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw std::runtime_error("no free port");
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
}

void set_key(std::string& text, const std::string& key, const std::string& value) {
  auto p = text.find("\n" + key + " = ");
  if (p == std::string::npos) throw std::runtime_error("demo: config lacks " + key);
  text.replace(p + 1, text.find('\n', p + 1) - p - 1, key + " = \"" + value + "\"");
}

// Plain HTTP GET /healthz on the admin listener: is the node up?
bool healthy(const std::string& addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(addr.substr(addr.find(':') + 1))));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  if (ok) {
    std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ok = ::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size());
    char buf[64] = {};
    ok = ok && ::read(fd, buf, sizeof buf - 1) > 12 && std::string(buf).find(" 200 ") != std::string::npos;
  }
  ::close(fd);
  return ok;
}

}  // namespace

demo_network::demo_network(const fs::path& dir) : dir_(dir) {
  pki::ca_init((dir_ / "ca").string(), "Demo CA");
  add("cn.national", "national", "100000", "");
  add("js.province", "provincial", "320000", "cn.national");
  add("js.nanjing", "local", "320100", "js.province");
  add("js.suzhou", "local", "320500", "js.province");
}

demo_network::~demo_network() { stop(); }

demo_node& demo_network::get(const std::string& id) {
  for (auto& n : nodes_)
    if (n.id == id) return n;
  throw std::runtime_error("demo: no node " + id);
}

void demo_network::add(const std::string& id, const std::string& role, const std::string& jur,
                       const std::string& parent) {
  demo_node n{id, role, jur, parent, {}, free_loopback(), free_loopback(), -1};
  auto cfg = init_node({role, id, jur, (dir_ / id).string()}, std::nullopt);
  pki::sign({(dir_ / "ca").string(), pki::csr_path_for(cfg.tls.cert), cfg.tls.cert, role, id, jur, 365, 0});
  fs::copy_file(dir_ / "ca" / "ca.pem", cfg.tls.ca, fs::copy_options::overwrite_existing);
  std::ifstream in(cfg.source_path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  set_key(text, "sync", n.sync_addr);
  set_key(text, "api", free_loopback());
  set_key(text, "admin", n.admin_addr);
  if (!parent.empty()) text += "\n[upstream]\nurl = \"https://" + get(parent).sync_addr + "\"\nnode_id = \"" + parent + "\"\n";
  std::ofstream(cfg.source_path, std::ios::trunc) << text;
  n.cfg = config::load(cfg.source_path);
  // What the parent's operator does once: `credit-node admin approve ID
  // --role R --jurisdiction CODE` on the parent, before the child joins.
  if (!parent.empty()) register_child(get(parent).cfg, id, role, jur);
  nodes_.push_back(std::move(n));
}

void demo_network::start() {
  for (auto& n : nodes_) {
    std::string log = (dir_ / (n.id + ".log")).string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> args{"/proc/self/exe", "run", "-c", n.cfg.source_path};
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&n.pid, "/proc/self/exe", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("demo: cannot start " + n.id);
  }
  for (auto& n : nodes_) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!healthy(n.admin_addr)) {
      if (std::chrono::steady_clock::now() > end)
        throw std::runtime_error("demo: " + n.id + " did not start; see " + (dir_ / (n.id + ".log")).string());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

void demo_network::stop() {
  for (auto& n : nodes_)
    if (n.pid > 0) ::kill(n.pid, SIGTERM);
  for (auto& n : nodes_) {
    if (n.pid <= 0) continue;
    for (int i = 0; i < 100 && ::waitpid(n.pid, nullptr, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (::waitpid(n.pid, nullptr, WNOHANG) == 0) {
      ::kill(n.pid, SIGKILL);
      ::waitpid(n.pid, nullptr, 0);
    }
    n.pid = -1;
  }
}

}  // namespace node::cli
