# Dependencies of memmgr's own tests, examples and benchmarks (never of the library itself, so this
# file is not installed). Each function defines one target, once, however many folders ask.
include_guard(GLOBAL)

# memmgr_range_v3: range-v3 (header-only). Linux: Debian's CMake package; Windows leg: the host's
# headers through a folder of links.
function(memmgr_require_range_v3)
    if(TARGET memmgr_range_v3)
        return()
    endif()
    if(MEMMGR_HOST_HEADERS)
        memmgr_host_headers(memmgr_range_v3 range meta concepts std)
    else()
        find_package(range-v3 CONFIG REQUIRED) # its version file accepts exact matches only
        add_library(memmgr_range_v3 INTERFACE IMPORTED GLOBAL)
        target_link_libraries(memmgr_range_v3 INTERFACE range-v3::range-v3)
    endif()
endfunction()

# memmgr_boost_test: Boost.Test, linked on Linux; header-only on the Windows leg, where Debian's
# Boost libraries cannot link (the test's main file then includes boost/test/included/...).
# Sets MEMMGR_TEST_HEADER_ONLY to 1 or 0 in the caller's scope.
function(memmgr_require_boost_test)
    if(MEMMGR_HOST_HEADERS)
        memmgr_host_headers(memmgr_boost_test boost)
        set(MEMMGR_TEST_HEADER_ONLY 1 PARENT_SCOPE)
    else()
        if(NOT TARGET memmgr_boost_test)
            find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)
            add_library(memmgr_boost_test INTERFACE IMPORTED GLOBAL)
            target_link_libraries(memmgr_boost_test INTERFACE Boost::unit_test_framework)
            target_compile_definitions(memmgr_boost_test INTERFACE BOOST_TEST_DYN_LINK)
        endif()
        set(MEMMGR_TEST_HEADER_ONLY 0 PARENT_SCOPE)
    endif()
endfunction()
