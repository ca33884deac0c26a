// memmgr:counting_heap on both legs: live and peak blocks and bytes, and totals, over any heap.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "support/blocks.hpp"

import memmgr;

#include "support/checking_heap.hpp"

using memmgr::errc;
using namespace memmgr_test;

BOOST_AUTO_TEST_SUITE(counting_heap_tests)

BOOST_AUTO_TEST_CASE(counting_heap_keeps_live_and_peak_counts) {
    memmgr::counting_heap<memmgr::com_heap> heap;
    std::vector<void*> blocks;
    for (std::size_t n : {10u, 20u, 30u})
        blocks.push_back(heap.allocate(n).value());
    auto s = heap.statistics();
    BOOST_TEST(s.blocks_in_use == 3u);
    BOOST_TEST(s.bytes_in_use == 60u);
    BOOST_TEST(s.allocations == 3u);
    blocks[0] = heap.reallocate(blocks[0], 100).value();
    s = heap.statistics();
    BOOST_TEST(s.bytes_in_use == 150u);
    BOOST_TEST(s.blocks_in_use == 3u);
    BOOST_TEST(s.peak_bytes == 150u);
    for (void* p : blocks)
        BOOST_TEST(heap.free(p).has_value());
    BOOST_TEST(fails_with(heap.allocate(SIZE_MAX), errc::size_overflow));
    s = heap.statistics();
    BOOST_TEST(s.blocks_in_use == 0u);
    BOOST_TEST(s.bytes_in_use == 0u);
    BOOST_TEST(s.peak_blocks == 3u);
    BOOST_TEST(s.peak_bytes == 150u);
    BOOST_TEST(s.frees >= 3u);
    BOOST_TEST(s.failures == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
