// The IAtlMemMgr contract, checked on every heap on both legs with the same cases: sizes (zero,
// ordinary, large, SIZE_MAX, overflowing count x size), alignment, contents across reallocate,
// reallocate from null and to zero, failed reallocate leaving the block untouched, null pointers.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <vector>

#include "support/blocks.hpp"

import memmgr;

using memmgr::errc;
using namespace memmgr_test;

namespace {

using all_heaps = std::tuple<memmgr::crt_heap, memmgr::com_heap, memmgr::local_heap,
                             memmgr::global_heap, memmgr::win32_heap>;

// Whether size() reports exactly what was asked for. Only the CRT on POSIX reports more
// (malloc_usable_size); _msize, HeapSize, LocalSize, GlobalSize and IMalloc::GetSize are exact.
template <class H>
constexpr bool exact_sizes = on_windows || !std::is_same_v<H, memmgr::crt_heap>;

// Windows' GlobalAlloc never makes an empty fixed block (Wine's conformance tests say so too);
// global_heap keeps that rule on both legs.
template <class H>
constexpr std::size_t expected_size(std::size_t n) {
    return std::is_same_v<H, memmgr::global_heap> && n == 0 ? 1 : n;
}

template <class H>
void check_size(const H& heap, const void* p, std::size_t n) {
    auto s = heap.size(p);
    BOOST_REQUIRE(s);
    if constexpr (on_windows && std::is_same_v<H, memmgr::crt_heap>)
        // The UCRT asks HeapAlloc for 1 byte for malloc(0) on real Windows; Wine's CRTs for 0
        // (docs/heaps.md, "Real Windows against Wine").
        BOOST_TEST((*s == n || (n == 0 && *s == 1)));
    else if constexpr (exact_sizes<H>)
        BOOST_TEST(*s == expected_size<H>(n));
    else
        BOOST_TEST(*s >= n);
}

constexpr std::size_t sizes[] = {1, 15, 16, 17, 100, 1000, 4096, 65537, 300000, 3000000};

} // namespace

BOOST_AUTO_TEST_SUITE(heap_contract_tests)

BOOST_AUTO_TEST_CASE_TEMPLATE(blocks_are_aligned_exactly_sized_and_independent, H, all_heaps) {
    H heap;
    std::vector<void*> blocks;
    for (std::size_t n : sizes) {
        auto p = heap.allocate(n);
        BOOST_REQUIRE(p);
        BOOST_TEST(aligned(*p, memmgr::guaranteed_alignment_v<H>));
        check_size(heap, *p, n);
        fill(*p, n, static_cast<unsigned char>(n));
        blocks.push_back(*p);
    }
    for (std::size_t i = 0; i < blocks.size(); ++i)
        BOOST_TEST(filled(blocks[i], sizes[i], static_cast<unsigned char>(sizes[i])));
    for (void* p : blocks)
        BOOST_TEST(heap.free(p).has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(zero_size_blocks_are_unique_and_sized_zero, H, all_heaps) {
    H heap;
    auto a = heap.allocate(0);
    auto b = heap.allocate(0);
    BOOST_REQUIRE(a);
    BOOST_REQUIRE(b);
    BOOST_TEST(*a != nullptr);
    BOOST_TEST(*a != *b);
    check_size(heap, *a, 0);
    BOOST_TEST(heap.free(*a).has_value());
    BOOST_TEST(heap.free(*b).has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(oversized_requests_fail_with_size_overflow, H, all_heaps) {
    H heap;
    for (std::size_t n : {SIZE_MAX, SIZE_MAX - 15, memmgr::max_request_size + 1}) {
        auto p = heap.allocate(n);
        BOOST_REQUIRE(!p);
        BOOST_TEST(fails_with(p, errc::size_overflow));
    }
    if constexpr (memmgr::zeroing_heap<H>) {
        for (auto [count, size] : {std::pair<std::size_t, std::size_t>{SIZE_MAX / 2 + 1, 2},
                                   {SIZE_MAX, SIZE_MAX},
                                   {memmgr::max_request_size / 16 + 1, 16}}) {
            auto z = heap.allocate_zeroed(count, size);
            BOOST_REQUIRE(!z);
            BOOST_TEST(fails_with(z, errc::size_overflow));
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(allocate_zeroed_gives_zero_bytes, H, all_heaps) {
    if constexpr (memmgr::zeroing_heap<H>) {
        H heap;
        // Dirty some memory first, so that zero bytes are not just fresh pages.
        for (int round = 0; round < 2; ++round) {
            auto dirty = heap.allocate(2400);
            BOOST_REQUIRE(dirty);
            fill(*dirty, 2400, 0xA5);
            (void)heap.free(*dirty);
        }
        auto p = heap.allocate_zeroed(100, 24);
        BOOST_REQUIRE(p);
        BOOST_TEST(all_zero(*p, 2400));
        check_size(heap, *p, 2400);
        BOOST_TEST(heap.free(*p).has_value());
    } else {
        BOOST_TEST((std::is_same_v<H, memmgr::com_heap>), "only com_heap lacks allocate_zeroed");
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reallocate_keeps_contents_and_reports_new_size, H, all_heaps) {
    H heap;
    auto p = heap.reallocate(nullptr, 40); // from null: allocates
    BOOST_REQUIRE(p);
    check_size(heap, *p, 40);
    fill(*p, 40, 3);
    void* block = *p;
    for (std::size_t n : {100u, 5000u, 1000000u, 64u, 10u}) {
        auto q = heap.reallocate(block, n);
        BOOST_REQUIRE(q);
        BOOST_TEST(aligned(*q, memmgr::guaranteed_alignment_v<H>));
        BOOST_TEST(filled(*q, n < 40 ? n : 40, 3));
        check_size(heap, *q, n);
        block = *q;
    }
    auto zero = heap.reallocate(block, 0); // to zero: a zero-size block, not a free
    BOOST_REQUIRE(zero);
    BOOST_TEST(*zero != nullptr);
    check_size(heap, *zero, 0);
    BOOST_TEST(heap.free(*zero).has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(failed_reallocate_leaves_the_block_untouched, H, all_heaps) {
    H heap;
    auto p = heap.allocate(64);
    BOOST_REQUIRE(p);
    fill(*p, 64, 9);
    for (std::size_t n : {SIZE_MAX, memmgr::max_request_size + 1}) {
        auto q = heap.reallocate(*p, n);
        BOOST_REQUIRE(!q);
        BOOST_TEST(fails_with(q, errc::size_overflow));
    }
    BOOST_TEST(filled(*p, 64, 9));
    check_size(heap, *p, 64);
    BOOST_TEST(heap.free(*p).has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(null_pointer_rules, H, all_heaps) {
    H heap;
    BOOST_TEST(heap.free(nullptr).has_value());
    auto s = heap.size(nullptr);
    BOOST_REQUIRE(!s);
    BOOST_TEST(fails_with(s, errc::null_pointer));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(in_place_resize_never_moves, H, all_heaps) {
    if constexpr (memmgr::resizable_in_place_heap<H>) {
        H heap;
        auto p = heap.allocate(4000);
        BOOST_REQUIRE(p);
        fill(*p, 4000, 5);
        // Shrinking in place always works, and the block stays where it is.
        BOOST_TEST(heap.resize_in_place(*p, 1000).has_value());
        check_size(heap, *p, 1000);
        BOOST_TEST(filled(*p, 1000, 5));
        // Growing back may or may not fit; either way the block does not move or change.
        auto grown = heap.resize_in_place(*p, 4000);
        if (grown) {
            check_size(heap, *p, 4000);
        } else {
            BOOST_TEST(fails_with(grown, errc::cannot_resize_in_place));
            check_size(heap, *p, 1000);
        }
        BOOST_TEST(filled(*p, 1000, 5));
        // Growing far beyond cannot be done in place without a neighbour that large.
        auto pin = heap.allocate(16); // a neighbour, most likely right after the block
        BOOST_REQUIRE(pin);
        auto huge = heap.resize_in_place(*p, 64u << 20);
        if (!huge)
            BOOST_TEST(fails_with(huge, errc::cannot_resize_in_place));
        BOOST_TEST(filled(*p, 1000, 5));
        auto overflow = heap.resize_in_place(*p, SIZE_MAX);
        BOOST_REQUIRE(!overflow);
        BOOST_TEST(fails_with(overflow, errc::size_overflow));
        BOOST_TEST(fails_with(heap.resize_in_place(nullptr, 8), errc::null_pointer));
        (void)heap.free(*pin);
        BOOST_TEST(heap.free(*p).has_value());
    } else {
        BOOST_TEST((std::is_same_v<H, memmgr::com_heap>), "only com_heap cannot resize in place");
    }
}

BOOST_AUTO_TEST_SUITE_END()
