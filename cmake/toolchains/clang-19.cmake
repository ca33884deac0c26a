# Toolchain: Debian's clang 19 for the host (Linux x86_64).
#
# Used by the linux, linux-asan and release presets; by hand:
#   cmake -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/clang-19.cmake -S . -B build/x
# clang-19, clang-tools-19 (clang-scan-deps-19) and lld-19 come from Debian (tools/dev setup).
include_guard(GLOBAL)

set(CMAKE_C_COMPILER clang-19)
set(CMAKE_CXX_COMPILER clang++-19)
# C++20 modules are scanned with the scanner of the same release.
set(CMAKE_CXX_COMPILER_CLANG_SCAN_DEPS clang-scan-deps-19)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-fuse-ld=lld")
