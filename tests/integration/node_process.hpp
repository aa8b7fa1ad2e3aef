// Helpers for integration tests that run real `credit-node run` processes
// on loopback: free ports, a child process that is always killed when the
// test ends (by PID, never by name), and a tiny plain-HTTP GET for the
// admin listener.
#pragma once

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

extern char** environ;

namespace itest {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// Whether this process now holds the port's lock: tests run in parallel
// processes, and a port one has checked free but whose node has not bound
// it yet looks free to another. The lock (flock on a file per port) lasts
// as long as the process and goes with it, even after kill -9; the same
// process never gets a port twice.
inline bool reserve_port(int port) {
  const char* dir = "/tmp/credit-node-test-ports";
  ::mkdir(dir, 0777);  // or it is there already
  auto path = std::string(dir) + "/" + std::to_string(port);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return true;  // no lock to be had (read-only /tmp): the bind check still applies
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;  // kept open: held until the process exits
  ::close(fd);
  return false;
}

// A loopback port nobody uses right now, chosen below Linux's ephemeral
// range (32768+): a port the kernel may hand out as the source port of an
// outgoing connection could be taken again before the node binds it.
inline int free_port() {
  static std::mt19937 rng(static_cast<unsigned>(::getpid()) * 7919u);
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = 20000 + static_cast<int>(rng() % 12000);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    if (ok && reserve_port(port)) return port;
  }
  FAIL("no free loopback port in 20000-32000");
  return 0;
}

inline std::string loopback(int port) { return "127.0.0.1:" + std::to_string(port); }

// A listening socket that holds a port for the test's lifetime.
struct port_holder {
  int fd = -1, port = 0;
  port_holder() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  }
  ~port_holder() { ::close(fd); }
};

// `credit-node ARGS...` in the background, stdout and stderr to files. The
// destructor kills it (SIGKILL, by PID) if it still runs, so a failed
// REQUIRE never leaves a node behind.
class child {
public:
  explicit child(const std::vector<std::string>& args) : out_(io_ / "stdout"), err_(io_ / "stderr") {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> all{CN_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, CN_BINARY, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE_MESSAGE(rc == 0, "cannot start " CN_BINARY);
  }
  ~child() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  void signal(int sig) { ::kill(pid_, sig); }

  // The exit code (128+N for signal N) once it has exited within `wait`.
  std::optional<int> wait_exit(std::chrono::milliseconds wait) {
    auto end = steady::now() + wait;
    while (!exit_code_) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      else if (steady::now() >= end) break;
      else std::this_thread::sleep_for(20ms);
    }
    return exit_code_;
  }
  bool running() { return !wait_exit(0ms); }
  std::string err() const { return test::read_file(err_); }

private:
  test::temp_dir io_;
  std::string out_, err_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

struct plain_response {
  int status = 0;  // 0: no answer
  std::string body;
};

// GET over plain HTTP/1.1 with Connection: close; reads until the server
// closes or `wait` passes.
inline plain_response http_get(const std::string& addr, const std::string& path, std::chrono::milliseconds wait = 2000ms) {
  plain_response r;
  int fd = test::tcp_connect(addr);
  if (fd < 0) return r;
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string got;
  auto end = steady::now() + wait;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - steady::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto head_end = got.find("\r\n\r\n");
  if (!got.starts_with("HTTP/1.1 ") || head_end == std::string::npos) return r;
  r.status = std::stoi(got.substr(9, 3));
  r.body = got.substr(head_end + 4);
  return r;
}

}  // namespace itest
