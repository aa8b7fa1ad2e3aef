// credit-node: one static binary for every tier of the network. main only
// tunes the allocator and hands the command line to node/cli.
#include <malloc.h>

#include "node/cli/cli.hpp"

int main(int argc, char** argv) {
  // A sync batch is up to 16 MiB of body plus its parsed changes. glibc
  // serves blocks that large with mmap and returns freed heap tops to the
  // kernel, so every batch faulted in (and zeroed) fresh pages: a fifth of
  // a catch-up's CPU went to page faults. Keeping up to 256 MiB of freed
  // memory in the process costs ~70 MB more resident and made the initial
  // sync 1.3-1.5x faster (bench_sync (a), bench/README.md).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  return node::cli::run(argc, argv);
}
