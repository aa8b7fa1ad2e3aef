// glibc's allocator as the node runs it (main.cpp), and bench_wire with it.
#pragma once

#include <malloc.h>

namespace node::cli {

// A sync batch is up to 16 MiB of body plus its decoded changes. glibc
// serves blocks that large with mmap and returns freed heap tops to the
// kernel, so every batch faulted in (and zeroed) fresh pages: a fifth of a
// catch-up's CPU went to page faults. Keeping up to 256 MiB of freed memory
// in the process costs ~70 MB more resident and made the initial sync
// 1.3-1.5x faster (bench_sync (a), bench/README.md).
inline void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace node::cli
