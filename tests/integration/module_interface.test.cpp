// The module interface, part 1: standard headers included *before* `import memmgr;`, used side by
// side with what the module exports.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

import memmgr;

BOOST_AUTO_TEST_SUITE(module_interface_tests)

BOOST_AUTO_TEST_CASE(headers_before_import_work_with_the_module) {
    memmgr::crt_heap heap;
    std::vector<std::unique_ptr<void, void (*)(void*)>> owned;
    std::map<std::string, std::error_code> codes;
    for (auto e : {memmgr::errc::heap_full, memmgr::errc::foreign_block}) {
        std::error_code ec = e;
        codes[ec.message()] = ec;
    }
    BOOST_TEST(codes.size() == 2u);
    auto p = heap.allocate(16);
    BOOST_REQUIRE(p);
    BOOST_TEST(heap.free(*p).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
