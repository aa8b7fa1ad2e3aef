#include "node/service/store_watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "node/net/log.hpp"

namespace node::service {

store_watch::store_watch(const std::string& data_dir, change_signal& signal) : signal_(signal) {
  fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd_ < 0 || ::inotify_add_watch(fd_, (data_dir + "/data.mdb").c_str(), IN_MODIFY) < 0 ||
      ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    net::log::warn("store_watch_unavailable").kv("reason", std::strerror(errno))
        .kv("effect", "changes made by other processes are seen within 250 ms instead of at once");
    return;
  }
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

// A commit is several writes (data pages, then the meta page that makes it
// visible); a waiter woken by the first may look before the last. So after
// the writes stop, one more wake-up follows 5 ms later.
void store_watch::run() {
  alignas(inotify_event) char buf[4096];
  bool settle = false;
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int n = ::poll(fds, 2, settle ? 5 : -1);
    if (n < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (n == 0) {  // quiet for 5 ms after writes: the commit is complete
      settle = false;
      signal_.notify();
      continue;
    }
    if (fds[0].revents & POLLIN) {
      while (::read(fd_, buf, sizeof buf) > 0) {}  // a burst of writes is one wake-up
      signal_.notify();
      settle = true;
    }
  }
}

}  // namespace node::service
