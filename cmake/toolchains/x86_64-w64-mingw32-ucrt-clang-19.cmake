# Toolchain: the Universal CRT leg. The Windows leg's toolchain (x86_64-w64-mingw32-clang-19.cmake:
# clang 19, MinGW-w64, static, tests under Wine), linked against the Universal CRT (ucrtbase.dll
# through the api-ms-win-crt-*.dll sets, what every MSVC build uses) instead of msvcrt.dll.
#
# Used by the windows-ucrt preset; by hand:
#   cmake -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/x86_64-w64-mingw32-ucrt-clang-19.cmake ...
# Needs what the Windows leg needs; Debian's libucrt.a is in mingw-w64-x86-64-dev.
#
# How (facts from /work/shared/TOOLCHAIN.md, checked again here; docs/toolchain.md):
# - every unit is compiled with -D_UCRT -D__MSVCRT_VERSION__=0xE00, so MinGW-w64's headers declare
#   the UCRT's functions (and a module's BMI and its importers agree);
# - -lucrt goes to the link as a -l option: clang's MinGW driver then leaves out its default
#   -lmsvcrt;
# - Debian's static winpthreads (needed by -pthread) was built for msvcrt and calls _setjmp, which
#   the UCRT's import library names __intrinsic_setjmp: mingw-ucrt-setjmp.c forwards one to the
#   other. It is compiled here, at configure time, into the build tree and linked into every
#   executable with the linker flags (so consumers built with this file get it too);
# - memmgr.tests.crt_imports (tests/CMakeLists.txt) checks that the test executable imports
#   api-ms-win-crt-*.dll and not msvcrt.dll (MEMMGR_WINDOWS_CRT tells it which to expect).
include_guard(GLOBAL)

include(${CMAKE_CURRENT_LIST_DIR}/x86_64-w64-mingw32-clang-19.cmake)

set(MEMMGR_WINDOWS_CRT ucrt)

set(CMAKE_C_FLAGS_INIT "-D_UCRT -D__MSVCRT_VERSION__=0xE00")
set(CMAKE_CXX_FLAGS_INIT "-D_UCRT -D__MSVCRT_VERSION__=0xE00")

set(_memmgr_ucrt_shim "${CMAKE_BINARY_DIR}/memmgr-ucrt/mingw-ucrt-setjmp.o")
if(NOT EXISTS "${_memmgr_ucrt_shim}")
    file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/memmgr-ucrt")
    execute_process(
        COMMAND ${CMAKE_C_COMPILER} --target=${MEMMGR_MINGW_TRIPLE} -O2 -c
            "${CMAKE_CURRENT_LIST_DIR}/mingw-ucrt-setjmp.c" -o "${_memmgr_ucrt_shim}"
        RESULT_VARIABLE _memmgr_ucrt_rc ERROR_VARIABLE _memmgr_ucrt_err)
    if(NOT _memmgr_ucrt_rc EQUAL 0)
        message(FATAL_ERROR "memmgr: cannot compile the UCRT setjmp shim: ${_memmgr_ucrt_err}")
    endif()
endif()
# On the link line of every executable and DLL. (Not CMAKE_<LANG>_STANDARD_LIBRARIES_INIT: CMake's
# Windows platform files set that after the toolchain file and would drop it.) lld resolves archives
# and import libraries whatever their place on the line.
string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -lucrt ${_memmgr_ucrt_shim}")
string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT " -lucrt ${_memmgr_ucrt_shim}")
