#include "node/service/store_watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <utility>

#include "node/net/log.hpp"

namespace node::service {

namespace {

using clock = std::chrono::steady_clock;

// For how long after another process's last write the thread looks for
// its commit to become visible. Readers see a commit once LMDB publishes
// its id in the lock file, just after the meta page's write (and that
// write's sync) returns — after the last write event, with none following.
constexpr auto look_for = std::chrono::milliseconds(50);

// When to look next: every 0.25 ms at first, then at a quarter of the time
// since the last write — a commit is seen at most 25 % later than it
// became visible, with about 20 looks per burst of writes, not 200.
timespec next_look(clock::duration since_write) {
  auto wait = std::max<clock::duration>(std::chrono::microseconds(250), since_write / 4);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

}  // namespace

store_watch::store_watch(store::environment& env, change_signal& signal) : env_(env), signal_(signal) {
  fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd_ < 0 || ::inotify_add_watch(fd_, (env.dir() + "/data.mdb").c_str(), IN_MODIFY) < 0 ||
      ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    net::log::warn("store_watch_unavailable").kv("reason", std::strerror(errno))
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

// Waking on the write events themselves woke waiters before the commit
// was visible; they then found it only at their next timeout. So write
// events only start the looking, and the waiters are woken when a reader
// would see a new commit.
void store_watch::run() {
  alignas(inotify_event) char buf[4096];
  std::optional<clock::time_point> last_write;  // set while looking
  for (;;) {
    if (last_write && clock::now() - *last_write > look_for) last_write.reset();
    timespec wait = last_write ? next_look(clock::now() - *last_write) : timespec{};
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int n = ::ppoll(fds, 2, last_write ? &wait : nullptr, nullptr);
    if (n < 0 && errno != EINTR) return;
    if (n > 0 && fds[1].revents) return;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      while (::read(fd_, buf, sizeof buf) > 0) {}  // a burst of writes is one look
      last_write = clock::now();
    }
    if (commit_moved()) signal_.notify();
    // This process's own commit: nothing more to look for (the writer
    // commits every few ms under API load; looking on would never stop).
    if (last_write && seen_ == own_) last_write.reset();
  }
}

}  // namespace node::service
