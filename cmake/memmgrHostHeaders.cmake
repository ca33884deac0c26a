# Development only (memmgr's own Windows legs, never installed, never run in a consumer's build).
#
# The Windows legs cross-compile on a Debian host whose header-only libraries (tl-expected,
# range-v3, Boost.Test) live in /usr/include. That folder must never be added whole to a Windows
# compile: it would pull in glibc's headers. memmgr_host_headers() builds a folder holding links to
# just the named subfolders and creates an imported target over it. The CMakeLists use it when
# MEMMGR_HOST_HEADERS is on (the windows presets turn it on); a real Windows build takes its
# dependencies from its own package manager (vcpkg.json) through find_package instead.
include_guard(GLOBAL)

# memmgr_host_headers(<target> <subfolder>...)
#   Creates the INTERFACE IMPORTED target <target> whose (system) include folder holds links to
#   /usr/include/<subfolder> for each subfolder. Fails with a clear message if one is missing.
function(memmgr_host_headers target)
    if(TARGET ${target})
        return()
    endif()
    set(root "${CMAKE_BINARY_DIR}/memmgr-host-headers")
    file(MAKE_DIRECTORY "${root}")
    foreach(sub IN LISTS ARGN)
        if(NOT EXISTS "/usr/include/${sub}")
            message(FATAL_ERROR
                "memmgr: /usr/include/${sub} is missing; the Windows leg takes ${target} from the "
                "host's Debian package (run tools/dev setup).")
        endif()
        if(NOT EXISTS "${root}/${sub}")
            file(CREATE_LINK "/usr/include/${sub}" "${root}/${sub}" SYMBOLIC)
        endif()
    endforeach()
    add_library(${target} INTERFACE IMPORTED GLOBAL)
    set_target_properties(${target} PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${root}"
        INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${root}")
endfunction()
