# A stand-in tl-expected package for the packaging test's cross-compiled consumer (Windows legs):
# what vcpkg or another package manager would give a real Windows consumer. It points at the Debian
# host's header-only library through a folder holding a link to /usr/include/tl alone, since adding
# /usr/include itself would pull glibc's headers into a Windows compile.
if(TARGET tl::expected)
    return()
endif()
set(_tl_root "${CMAKE_BINARY_DIR}/tl-expected-headers")
if(NOT EXISTS "/usr/include/tl/expected.hpp")
    set(tl-expected_FOUND FALSE)
    set(tl-expected_NOT_FOUND_MESSAGE "/usr/include/tl/expected.hpp is missing (libtl-expected-dev)")
    return()
endif()
file(MAKE_DIRECTORY "${_tl_root}")
if(NOT EXISTS "${_tl_root}/tl")
    file(CREATE_LINK "/usr/include/tl" "${_tl_root}/tl" SYMBOLIC)
endif()
add_library(tl::expected INTERFACE IMPORTED)
set_target_properties(tl::expected PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_tl_root}")
