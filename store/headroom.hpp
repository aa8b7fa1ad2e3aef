// Zeroed blocks kept ahead of LMDB's last page. Private to store/.
//
// A small durable commit (an API request's audit entry, one record from a
// peer) mostly writes pages past the end of data.mdb: the file grows, and
// its fdatasync must then also write the inode (size, extents) to disk —
// one more synchronous write, waited for, in every commit. When the blocks
// past the last page already exist (written with zeros, as PostgreSQL does
// for its WAL segments), the commit only overwrites blocks the file has and
// the flush skips the inode. Measured with bench/api.sh (three alternating
// pairs): the writer thread's CPU 14.2-15.5 -> 13.0-13.4 us per answer,
// 18,100-18,600 -> 18,600-19,800 answers/s.
#pragma once

#include <lmdb.h>

#include <cstdint>

namespace store {

class headroom {
public:
  static constexpr std::uint64_t chunk = std::uint64_t{1} << 20;       // zeros past the last page, at most
  static constexpr std::uint64_t low_water = std::uint64_t{1} << 19;   // fewer left: write up to a chunk
  static constexpr std::uint64_t bulk_growth = std::uint64_t{4} << 20; // a commit grew the file more: bulk

  // Called inside a write transaction: LMDB's writer lock keeps every other
  // process (a CLI import) from writing the file meanwhile, and no page
  // past the last committed one has been written yet. Best effort: on any
  // failure (disk full) the commit goes on and LMDB grows the file itself.
  // Returns the bytes of zeros written (for tests).
  std::uint64_t keep(MDB_env* env);

private:
  std::uint64_t last_used_ = 0;  // the file's used end at the previous call
  std::uint64_t file_end_ = 0;   // its size as last seen (it only grows)
};

}  // namespace store
