// memmgr:failing_heap on both legs: fault injection, failing the Nth allocation or past a byte
// budget.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>

#include "support/blocks.hpp"

import memmgr;

#include "support/checking_heap.hpp"

using memmgr::errc;
using namespace memmgr_test;

BOOST_AUTO_TEST_SUITE(failing_heap_tests)

BOOST_AUTO_TEST_CASE(failing_heap_fails_the_nth_allocation_or_past_a_budget) {
    memmgr::failing_heap<memmgr::win32_heap> heap;
    heap.fail_after(2);
    auto a = heap.allocate(10);
    auto b = heap.allocate(10);
    auto c = heap.allocate(10);
    auto d = heap.allocate(10);
    BOOST_TEST((a && b && d));
    BOOST_TEST(fails_with(c, errc::out_of_memory));
    BOOST_TEST(heap.injected() == 1u);
    BOOST_TEST(heap.bytes_in_use() == 30u);

    // Only successes count: a request the heap beneath refuses (size_overflow) is no step.
    heap.fail_after(1);
    BOOST_TEST(fails_with(heap.allocate(SIZE_MAX), errc::size_overflow));
    auto e = heap.allocate(1);
    BOOST_TEST(e.has_value());
    BOOST_TEST(fails_with(heap.allocate(1), errc::out_of_memory));
    BOOST_TEST(heap.injected() == 2u);
    if (e)
        BOOST_TEST(heap.free(*e).has_value());

    heap.fail_past_bytes(100);
    auto big = heap.allocate(71);
    BOOST_TEST(fails_with(big, errc::heap_full));
    auto fits = heap.allocate(70);
    BOOST_TEST(fits.has_value());
    BOOST_TEST(fails_with(heap.reallocate(*a, 20), errc::heap_full)); // growth counts
    BOOST_TEST(heap.reallocate(*a, 5).has_value());                   // shrinking never fails
    heap.never_fail();
    BOOST_TEST(heap.allocate(1000).has_value());
    BOOST_TEST(heap.injected() == 4u);
}

BOOST_AUTO_TEST_SUITE_END()
