# Toolchain: the Windows leg. Debian's clang 19 cross-compiling for x86_64-w64-mingw32 against
# MinGW-w64's headers, import libraries and posix-thread libstdc++; executables run under Wine.
#
# Used by the windows preset; by hand:
#   cmake -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/x86_64-w64-mingw32-clang-19.cmake ...
# Needs clang-19, clang-tools-19, lld-19, g++-mingw-w64-x86-64-posix, mingw-w64-x86-64-dev and wine
# (tools/dev setup installs them).
#
# Facts this file relies on (see also docs/toolchain.md):
# - links are static and need -pthread, or the posix libstdc++ leaves pthread_* undefined;
# - C++20, not C++23: static libstdc++ 12 clashes at link time in C++23 mode;
# - header-only libraries are taken from the host's /usr/include through a folder of links
#   (cmake/memmgrHostHeaders.cmake, on with MEMMGR_HOST_HEADERS in the windows presets), never by
#   adding /usr/include itself.
include_guard(GLOBAL)

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(MEMMGR_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER clang-19)
set(CMAKE_CXX_COMPILER clang++-19)
set(CMAKE_C_COMPILER_TARGET ${MEMMGR_MINGW_TRIPLE})
set(CMAKE_CXX_COMPILER_TARGET ${MEMMGR_MINGW_TRIPLE})
set(CMAKE_CXX_COMPILER_CLANG_SCAN_DEPS clang-scan-deps-19)
set(CMAKE_RC_COMPILER ${MEMMGR_MINGW_TRIPLE}-windres)
# Which C runtime the executables import: msvcrt.dll here (MinGW-w64's default); the UCRT leg's
# toolchain, which includes this file, says ucrt. tests/CMakeLists.txt checks the imports.
set(MEMMGR_WINDOWS_CRT msvcrt)

set(CMAKE_FIND_ROOT_PATH /usr/${MEMMGR_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_EXE_LINKER_FLAGS_INIT "-fuse-ld=lld -static -pthread")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-fuse-ld=lld -static -pthread")

# ctest (and add_custom_command with a target's file) run Windows executables under Wine.
find_program(MEMMGR_WINE wine)
if(MEMMGR_WINE)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${MEMMGR_WINE})
endif()
