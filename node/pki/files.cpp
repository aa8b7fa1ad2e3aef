#include "node/pki/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "node/pki/pki.hpp"

namespace node::pki::files {
namespace {

[[noreturn]] void fail_errno(pki_error::kind k, const std::string& action, const std::string& path) {
  throw pki_error(k, "cannot " + action + " " + path + ": " + std::strerror(errno));
}

// Writes all of `text` to fd, then fsyncs; closes fd in every case.
void write_all_and_close(int fd, const std::string& text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      errno = saved;
      fail_errno(pki_error::kind::failure, "write", path);
    }
    done += static_cast<std::size_t>(n);
  }
  bool ok = ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (!ok) fail_errno(pki_error::kind::failure, "sync", path);
}

}  // namespace

std::string read(const std::string& path, const std::string& what) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    throw pki_error(pki_error::kind::input,
                    "cannot read " + what + " " + path + ": " + std::strerror(errno) + "; check the path");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_new(const std::string& path, const std::string& text, unsigned mode, const std::string& what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0 && errno == EEXIST)
    throw pki_error(pki_error::kind::input,
                    what + " " + path + " already exists; it is never overwritten — move it away first if you really mean to replace it");
  if (fd < 0) fail_errno(pki_error::kind::failure, "create " + what, path);
  // The umask may have narrowed (or the file system widened) the mode.
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    fail_errno(pki_error::kind::failure, "set the mode of", path);
  }
  write_all_and_close(fd, text, path);
}

void replace(const std::string& path, const std::string& text, unsigned mode, const std::string& what) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover from an interrupted run
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) fail_errno(pki_error::kind::failure, "create " + what, tmp);
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    fail_errno(pki_error::kind::failure, "set the mode of", tmp);
  }
  write_all_and_close(fd, text, tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail_errno(pki_error::kind::failure, "rename " + tmp + " to", path);
  }
}

void make_private_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw pki_error(pki_error::kind::failure, "cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) fail_errno(pki_error::kind::failure, "set mode 0700 on", dir);
}

bool exists(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

int mode_of(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

}  // namespace node::pki::files
