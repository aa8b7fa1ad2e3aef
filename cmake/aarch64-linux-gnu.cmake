# Cross-building credit-node for arm64 (Kunpeng, Phytium) on a Debian 12 amd64
# machine: Debian's cross compiler (crossbuild-essential-arm64), the :arm64
# -dev packages installed beside the amd64 ones (multiarch, in
# /usr/lib/aarch64-linux-gnu) and qemu-user to run what was built.
# `make arm64-deps` installs all of it; `make build-arm64` uses this file.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Multiarch: find_library and find_package look in /usr/lib/aarch64-linux-gnu
# (and its cmake/ for Boost's arm64 configs), never in the amd64 directory.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # host tools: ccache, file, sh
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu
    /usr/lib/x86_64-linux-gnu/cmake)

# Whatever runs an arm64 program at build or test time goes through qemu-user:
# doctest_discover_tests listing the cases, ctest running them, and (through
# the CN_EMULATOR define, tests/CMakeLists.txt) the tests that exec the binary.
# qemu-user 7.2 charges LMDB's 64 GiB map against the overcommit limit and
# refuses it on a machine with less RAM; qemu-noreserve.c, preloaded into qemu
# (the amd64 host program, so the dynamic qemu-aarch64, not -static), stops
# that. -U keeps LD_PRELOAD out of the arm64 program's environment. The
# huge-page tunable is set here so the binary does not start itself again
# (node/cli/allocator.hpp): through binfmt_misc, where a machine has it, the
# second start would run without the shim.
get_property(cn_in_try_compile GLOBAL PROPERTY IN_TRY_COMPILE)
if(NOT cn_in_try_compile)
  set(CN_QEMU_SHIM ${CMAKE_BINARY_DIR}/qemu-noreserve.so)
  set(cn_shim_source ${CMAKE_CURRENT_LIST_DIR}/qemu-noreserve.c)
  if(${cn_shim_source} IS_NEWER_THAN ${CN_QEMU_SHIM})
    execute_process(
      COMMAND cc -shared -fPIC -O2 -Wall -Wextra -Werror -o ${CN_QEMU_SHIM}
              ${cn_shim_source}
      COMMAND_ERROR_IS_FATAL ANY)
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR
      /usr/bin/env LD_PRELOAD=${CN_QEMU_SHIM} GLIBC_TUNABLES=glibc.malloc.hugetlb=1 /usr/bin/qemu-aarch64 -U LD_PRELOAD)
endif()
