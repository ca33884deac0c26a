# Warnings for memmgr's own targets, PRIVATE so that they never reach a consumer's compile line.
#
# Warnings are errors only in memmgr's own development builds: the presets set
# CMAKE_COMPILE_WARNING_AS_ERROR (CMake turns it into -Werror or /WX for the compiler at hand). A
# consumer that builds memmgr from source (add_subdirectory, FetchContent, a package recipe) gets
# the warnings but never a failed build because its compiler warns about something new.
#
# The flags follow the compiler's command-line dialect, not its name: cl and clang-cl (clang with
# MSVC's options, CMAKE_CXX_COMPILER_FRONTEND_VARIANT MSVC) get /W4, because to clang-cl -Wall means
# -Weverything; clang and GCC get -Wall -Wextra and the rest.
include_guard(GLOBAL)

function(memmgr_enable_warnings target)
    if(MSVC OR CMAKE_CXX_COMPILER_FRONTEND_VARIANT STREQUAL "MSVC")
        # /permissive- keeps cl to the standard, as clang and GCC are by default.
        target_compile_options(${target} PRIVATE /W4 /permissive-)
    else()
        target_compile_options(${target} PRIVATE
            -Wall -Wextra -Wpedantic
            -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor -Wold-style-cast
            -Wimplicit-fallthrough)
    endif()
endfunction()
