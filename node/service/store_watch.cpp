#include "node/service/store_watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "node/net/log.hpp"
#include "store/writer.hpp"

namespace node::service {

// The store's directory is watched, not the signal file: a deleted or
// replaced file (a clean-up, an rsync) would take a file's watch with it,
// silently. Writers create the file when it is missing.
store_watch::store_watch(store::environment& env, change_signal& signal) : env_(env), signal_(signal) {
  fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd_ < 0 || ::inotify_add_watch(fd_, env.dir().c_str(), IN_ATTRIB | IN_CREATE | IN_MOVED_TO) < 0 ||
      ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    net::log::warn("store_watch_unavailable").kv("dir", env.dir()).kv("reason", std::strerror(errno))
        .kv("effect", "changes made by other processes are seen within 250 ms instead of at once");
    return;
  }
  commit_moved();  // the commit the waiters start from (a failed read is logged there)
  thread_ = std::thread([this] { run(); });
}

store_watch::~store_watch() {
  if (thread_.joinable()) {
    char b = 0;
    (void)!::write(stop_pipe_[1], &b, 1);
    thread_.join();
  }
  for (int fd : {fd_, stop_pipe_[0], stop_pipe_[1]})
    if (fd >= 0) ::close(fd);
}

// True when a reader would now see a commit the waiters were not woken
// for. A store that cannot be read (reader table full, say) counts as
// moved, `seen_` kept: waking for nothing costs a look, missing a commit
// 250 ms. Failing to read is logged when it starts, not at every look.
bool store_watch::commit_moved() {
  std::uint64_t now = 0;
  try {
    now = env_.last_commit();
  } catch (const std::exception& e) {
    if (!std::exchange(read_failing_, true)) net::log::warn("store_watch_read_failed").kv("reason", e.what());
    return true;
  }
  read_failing_ = false;
  if (now == seen_) return false;
  seen_ = now;
  return now != own_;  // this process's writer has woken them for its own
}

// Another process's writer sets the signal file's times after each commit
// (store::writer), so at its event the commit is visible. Watching the data
// file's writes instead woke this thread for each of this process's own
// writes too, and before a commit was visible: under API load (a commit
// every 2 ms) that was a sixth of the process's context switches.
void store_watch::run() {
  alignas(inotify_event) char buf[4096];
  const std::string name = store::commit_signal_name;
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int n = ::ppoll(fds, 2, nullptr, nullptr);
    if (n < 0 && errno != EINTR) return;
    if (n > 0 && fds[1].revents) return;
    bool signalled = false;  // a burst of commits is one look; other files' events none
    for (ssize_t got; n > 0 && (got = ::read(fd_, buf, sizeof buf)) > 0;)
      for (ssize_t at = 0; at < got;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
        if (e->len > 0 && name == e->name) signalled = true;
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      }
    if (signalled && commit_moved()) signal_.notify();
  }
}

}  // namespace node::service
