// glibc's allocator as the node runs it (main.cpp), and bench_wire with it.
#pragma once

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace node::cli {

// A sync batch is up to 16 MiB of body plus its decoded changes. glibc
// serves blocks that large with mmap and returns freed heap tops to the
// kernel, so every batch faulted in (and zeroed) fresh pages: a fifth of a
// catch-up's CPU went to page faults. Keeping up to 256 MiB of freed memory
// in the process costs ~70 MB more resident and made the initial sync
// 1.3-1.5x faster (bench_sync (a), bench/README.md). The main heap grows
// in 64 MiB steps: with huge pages (below) a step smaller than one is
// never given them.
inline void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
}

// What is left of first touches after that (the peak memory of a
// catch-up, touched once) costs ~10 us per 4 KiB page on a VM: 100,000
// faults, a second of CPU, in a provincial node taking 1M records. Kernels
// set to give transparent huge pages on request ("madvise", Debian's
// default) give them to glibc's heaps when its tunable asks, which it reads
// only at process start: so the process starts itself again once with it
// set (the faults fell ~10x: bench_sync's page-fault counts). An operator's
// own setting of it is kept; if the new start fails, this one goes on.
inline void ask_for_huge_pages(char** argv) {
  constexpr const char* key = "glibc.malloc.hugetlb";
  const char* now = std::getenv("GLIBC_TUNABLES");
  if (now && std::strstr(now, key)) return;  // ours (the second start) or the operator's
  std::string value = std::string(now && *now ? std::string(now) + ":" : "") + key + "=1";
  if (::setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
  ::execv("/proc/self/exe", argv);
}

}  // namespace node::cli
