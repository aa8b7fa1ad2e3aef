// glibc's allocator as the node runs it (main.cpp), and bench_wire with it.
#pragma once

#include <malloc.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

namespace node::cli {

// A sync batch is up to 16 MiB of body plus its decoded changes. glibc
// serves blocks that large with mmap and returns freed heap tops to the
// kernel, so every batch faulted in (and zeroed) fresh pages: a fifth of a
// catch-up's CPU went to page faults. Keeping up to 256 MiB of freed memory
// in the process costs ~70 MB more resident and made the initial sync
// 1.3-1.5x faster (bench_sync (a), bench/README.md). Heaps grow in 64 MiB
// steps: a thread's heap (where a sync worker decodes a batch) growing in
// smaller ones is never given huge pages (below); `run` bounds the heaps
// to 4 (run.cpp), so that reserves at most 256 MiB of address space.
inline void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
}

// The restarted process names itself as the first did: the kernel names it
// after the path given to exec, "exe", which top, pgrep and the journal show.
inline void keep_process_name() {
  char target[PATH_MAX];
  auto n = ::readlink("/proc/self/exe", target, sizeof target - 1);
  if (n <= 0) return;
  std::string path(target, static_cast<std::size_t>(n));
  if (auto cut = path.rfind(" (deleted)"); cut != std::string::npos && cut + 10 == path.size()) path.resize(cut);
  ::prctl(PR_SET_NAME, path.substr(path.rfind('/') + 1).c_str());
}

// What is left of first touches after that (the peak memory of a
// catch-up, touched once) costs ~10 us per 4 KiB page on a VM: 100,000
// faults, a second of CPU, in a provincial node taking 1M records. Kernels
// set to give transparent huge pages on request ("madvise") give them to
// glibc's heaps when its tunable asks, which it reads only at process
// start: so the process starts itself once more with it set (the faults
// fell ~10x: bench_sync's page-fault counts). Never more than once
// (CN_RESTARTED), never with setuid or file capabilities (glibc drops the
// tunable then, so it would never be seen set), and an operator's own
// setting (the systemd unit's) is kept. If the new start fails, this one
// goes on.
inline void ask_for_huge_pages(char** argv) {
  constexpr const char* key = "glibc.malloc.hugetlb";
  if (std::getenv("CN_RESTARTED")) return keep_process_name();
  if (::getauxval(AT_SECURE)) return;
  const char* now = std::getenv("GLIBC_TUNABLES");
  if (now && std::strstr(now, key)) return;  // the operator's
  std::string value = std::string(now && *now ? std::string(now) + ":" : "") + key + "=1";
  if (::setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0 || ::setenv("CN_RESTARTED", "1", 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("CN_RESTARTED");  // not restarted: children may try for themselves
}

}  // namespace node::cli
