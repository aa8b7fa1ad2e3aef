#include "node/ingest/line_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace node::ingest {
namespace {
constexpr std::size_t chunk = 1 << 20;
}

byte_source::byte_source(const std::string& path) : buf_(new char[chunk]), path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0)
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno) +
                             " (check the path and that the file is readable)");
  struct stat st{};
  if (::fstat(fd_, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      ::close(fd_);
      throw std::runtime_error("cannot import " + path + ": it is a directory, not a file");
    }
    // A device (/dev/zero, a disk) never ends a line, nor the file: only a
    // file or a pipe (`zcat f.csv.gz | credit-node import ... /dev/stdin`).
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      ::close(fd_);
      throw std::runtime_error("cannot import " + path + ": it is a device, not a file or a pipe");
    }
    if (S_ISREG(st.st_mode)) size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

byte_source::~byte_source() {
  if (fd_ >= 0) ::close(fd_);
}

bool byte_source::refill() {
  base_ += len_;
  pos_ = len_ = 0;
  for (;;) {
    ssize_t n = ::read(fd_, buf_.get(), chunk);
    if (n > 0) return len_ = static_cast<std::size_t>(n), true;
    if (n == 0) return false;
    if (errno != EINTR)
      throw std::runtime_error("read error in " + path_ + " at byte " + std::to_string(base_) +
                               ": " + std::strerror(errno));
  }
}

}  // namespace node::ingest
