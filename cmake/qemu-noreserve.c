/* Preloaded into qemu-aarch64 (the host side) by cmake/aarch64-linux-gnu.cmake
 * when the arm64 build's tests run under qemu-user. Not part of the product.
 *
 * qemu-user 7.2 (Debian 12) places a guest's file mapping by first mapping its
 * whole length MAP_SHARED|MAP_ANONYMOUS and then the file over it. Shared
 * anonymous memory is charged against the kernel's overcommit limit (RAM +
 * swap) unless MAP_NORESERVE is given, so LMDB's map ([store] map_size_mb,
 * 64 GiB by default) is refused with ENOMEM on any machine with less — on
 * arm64 hardware the same mmap of the file is never charged. This adds
 * MAP_NORESERVE to shared anonymous mappings: accounting only, the pages are
 * the same (and these placeholders are replaced by the file at once). qemu 8.1
 * rewrote target_mmap and maps the file directly. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static void* noreserve_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  if ((flags & MAP_SHARED) && (flags & MAP_ANONYMOUS)) flags |= MAP_NORESERVE;
  return (void*)syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
}

void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  return noreserve_mmap(addr, len, prot, flags, fd, offset);
}

void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  return noreserve_mmap(addr, len, prot, flags, fd, offset);
}
