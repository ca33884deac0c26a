// memmgr:crt_heap on both legs: every operation, its edge sizes and its errors.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

import memmgr;

using memmgr::errc;

namespace {

bool aligned(const void* p, std::size_t alignment) {
    return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

void fill(void* p, std::size_t n, unsigned char seed) {
    auto* bytes = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        bytes[i] = static_cast<unsigned char>(seed + i * 7);
}

bool filled(const void* p, std::size_t n, unsigned char seed) {
    const auto* bytes = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (bytes[i] != static_cast<unsigned char>(seed + i * 7))
            return false;
    return true;
}

} // namespace

BOOST_AUTO_TEST_SUITE(crt_heap)

BOOST_AUTO_TEST_CASE(blocks_are_aligned_sized_and_writable) {
    memmgr::crt_heap heap;
    std::vector<void*> blocks;
    for (std::size_t n : {1u, 7u, 16u, 17u, 100u, 4096u, 65537u}) {
        auto p = heap.allocate(n);
        BOOST_REQUIRE(p);
        BOOST_TEST(aligned(*p, memmgr::guaranteed_alignment_v<memmgr::crt_heap>));
        BOOST_TEST(*heap.size(*p) >= n);
        fill(*p, n, static_cast<unsigned char>(n));
        blocks.push_back(*p);
    }
    // Writing each block did not disturb the others.
    std::size_t i = 0;
    for (std::size_t n : {1u, 7u, 16u, 17u, 100u, 4096u, 65537u})
        BOOST_TEST(filled(blocks[i++], n, static_cast<unsigned char>(n)));
    for (void* p : blocks)
        BOOST_TEST(heap.free(p).has_value());
}

BOOST_AUTO_TEST_CASE(zero_size_blocks_are_unique) {
    memmgr::crt_heap heap;
    auto a = heap.allocate(0);
    auto b = heap.allocate(0);
    BOOST_REQUIRE(a);
    BOOST_REQUIRE(b);
    BOOST_TEST(*a != nullptr);
    BOOST_TEST(*a != *b);
    BOOST_TEST(heap.size(*a).has_value());
    (void)heap.free(*a);
    (void)heap.free(*b);
}

BOOST_AUTO_TEST_CASE(oversized_requests_fail_with_size_overflow) {
    memmgr::crt_heap heap;
    for (std::size_t n : {SIZE_MAX, SIZE_MAX - 15, memmgr::max_request_size + 1}) {
        auto p = heap.allocate(n);
        BOOST_REQUIRE(!p);
        BOOST_TEST(p.error() == errc::size_overflow);
    }
    auto z = heap.allocate_zeroed(SIZE_MAX / 2 + 1, 2);
    BOOST_REQUIRE(!z);
    BOOST_TEST(z.error() == errc::size_overflow);
}

BOOST_AUTO_TEST_CASE(allocate_zeroed_gives_zero_bytes) {
    memmgr::crt_heap heap;
    auto p = heap.allocate_zeroed(100, 24);
    BOOST_REQUIRE(p);
    const auto* bytes = static_cast<const unsigned char*>(*p);
    BOOST_TEST(std::all_of(bytes, bytes + 2400, [](unsigned char c) { return c == 0; }));
    BOOST_TEST(*heap.size(*p) >= 2400u);
    (void)heap.free(*p);
}

BOOST_AUTO_TEST_CASE(reallocate_keeps_contents_and_reports_new_size) {
    memmgr::crt_heap heap;
    auto p = heap.reallocate(nullptr, 40); // from null: allocates
    BOOST_REQUIRE(p);
    fill(*p, 40, 3);
    auto grown = heap.reallocate(*p, 100000);
    BOOST_REQUIRE(grown);
    BOOST_TEST(filled(*grown, 40, 3));
    BOOST_TEST(*heap.size(*grown) >= 100000u);
    auto shrunk = heap.reallocate(*grown, 10);
    BOOST_REQUIRE(shrunk);
    BOOST_TEST(filled(*shrunk, 10, 3));
    BOOST_TEST(*heap.size(*shrunk) >= 10u);
    auto zero = heap.reallocate(*shrunk, 0); // to zero: a zero-size block, not a free
    BOOST_REQUIRE(zero);
    BOOST_TEST(*zero != nullptr);
    (void)heap.free(*zero);
}

BOOST_AUTO_TEST_CASE(failed_reallocate_leaves_the_block_untouched) {
    memmgr::crt_heap heap;
    auto p = heap.allocate(64);
    BOOST_REQUIRE(p);
    fill(*p, 64, 9);
    auto q = heap.reallocate(*p, SIZE_MAX);
    BOOST_REQUIRE(!q);
    BOOST_TEST(q.error() == errc::size_overflow);
    BOOST_TEST(filled(*p, 64, 9));
    BOOST_TEST(*heap.size(*p) >= 64u);
    (void)heap.free(*p);
}

BOOST_AUTO_TEST_CASE(null_pointer_rules) {
    memmgr::crt_heap heap;
    BOOST_TEST(heap.free(nullptr).has_value());
    auto s = heap.size(nullptr);
    BOOST_REQUIRE(!s);
    BOOST_TEST(s.error() == errc::null_pointer);
}

BOOST_AUTO_TEST_CASE(all_crt_heaps_are_one_heap) {
    memmgr::crt_heap a, b;
    BOOST_TEST((a == b));
    auto p = a.allocate(8);
    BOOST_REQUIRE(p);
    BOOST_TEST(b.free(*p).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
