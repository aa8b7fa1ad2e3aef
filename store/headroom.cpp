#include "store/headroom.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace store {
namespace {

// Writes zeros over [from, to) of `fd`; false when a write fails.
bool write_zeros(int fd, std::uint64_t from, std::uint64_t to) {
  static const char zeros[1 << 16] = {};
  while (from < to) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof zeros, to - from));
    auto w = ::pwrite(fd, zeros, n, static_cast<off_t>(from));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    from += static_cast<std::uint64_t>(w);
  }
  return true;
}

}  // namespace

std::uint64_t headroom::keep(MDB_env* env) {
  MDB_envinfo info;
  MDB_stat st;
  int fd = -1;
  if (mdb_env_info(env, &info) != MDB_SUCCESS || mdb_env_stat(env, &st) != MDB_SUCCESS ||
      mdb_env_get_fd(env, &fd) != MDB_SUCCESS)
    return 0;
  // The committed meta's last page: the newest, as the writer lock is held.
  std::uint64_t used = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * st.ms_psize;
  bool bulk = last_used_ && used > last_used_ + bulk_growth;
  last_used_ = used;
  // A bulk load overwrites zeros as fast as they are written, and the
  // inode's write is nothing beside its own pages: it grows the file itself.
  if (bulk || used + low_water <= file_end_) return 0;
  struct stat fs;
  if (::fstat(fd, &fs) != 0) return 0;
  file_end_ = static_cast<std::uint64_t>(fs.st_size);
  if (used + low_water <= file_end_) return 0;  // another process made room
  std::uint64_t from = std::max(file_end_, used), to = used + chunk;
  // Not flushed here: this commit's fdatasync carries the zeros and the
  // inode once (a chunk of 8 MiB flushed on its own stalled the commits
  // behind it: answers over 10 ms 47 -> ~420 in a bench/api.sh run).
  bool ok = write_zeros(fd, from, to);
  file_end_ = to;  // failed (disk full): not tried again before a chunk more is used
  return ok ? to - from : 0;
}

}  // namespace store
