// The module interface, part 2: `import memmgr;` comes *first* and standard headers follow it, the
// order that trips up compilers when a module's global module fragment and a later #include
// declare the same entities. Because nothing precedes the import, this file is also where we
// check that no macro comes through it: memmgr's units include tl/expected.hpp, <windows.h> and
// <malloc.h> in their global module fragments, and none of their macros may reach an importer.
import memmgr;

// Macros defined by headers memmgr includes (tl/expected.hpp, <windows.h>, malloc.h) or by its own
// units. A `#define` in a module unit must never reach an importer.
#if defined(TL_EXPECTED_HPP) || defined(TL_EXPECTED_VERSION_MAJOR)
#error "tl/expected.hpp's macros leaked through import memmgr"
#endif
#if defined(WIN32_LEAN_AND_MEAN) || defined(NOMINMAX) || defined(WINAPI) || defined(min) ||        \
    defined(max) || defined(HeapAlloc) || defined(GetObject) || defined(_WINDOWS_)
#error "<windows.h>'s macros leaked through import memmgr"
#endif
#if defined(_HEAPOK) || defined(_HEAPBADNODE)
#error "malloc.h's macros leaked through import memmgr"
#endif
#if defined(MEMMGR_PLATFORM) || defined(MEMMGR_INTERNAL)
#error "memmgr's own macros leaked through import"
#endif

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

BOOST_AUTO_TEST_SUITE(module_interface_import_first_tests)

BOOST_AUTO_TEST_CASE(headers_after_import_work_with_the_module) {
    std::vector<std::string> messages;
    for (auto e : {memmgr::errc::out_of_memory, memmgr::errc::size_overflow})
        messages.push_back(std::error_code(e).message());
    BOOST_TEST(messages.size() == 2u);
    BOOST_TEST(messages[0] != messages[1]);

    try {
        throw memmgr::heap_error(memmgr::crt_heap::name, 12, memmgr::errc::out_of_memory);
    } catch (const std::bad_alloc& e) {
        BOOST_TEST(std::string_view(e.what()).find("crt_heap") != std::string_view::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
