// memmgr:stack_buffer on both legs: N bytes inline first, then the heap (_malloca's idea);
// zero-byte blocks, spills, and a heap's failure as a heap_error.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

#include "support/blocks.hpp"

import memmgr;

#include "support/checking_heap.hpp"

using memmgr::errc;
using namespace memmgr_test;

BOOST_AUTO_TEST_SUITE(stack_buffer_tests)

// Zero-byte blocks are unique, also when the inline bytes are exactly full, and each goes back
// where it came from (a zero-byte block at the end of the buffer was once reported as foreign).
BOOST_AUTO_TEST_CASE(a_stack_buffer_gives_zero_byte_blocks_addresses_of_their_own) {
    checking_heap<> spill;
    {
        memmgr::stack_buffer<64, checking_heap<>&> scratch(spill);
        void* empty = scratch.allocate(0, 16);
        void* next = scratch.allocate(8, 1);
        BOOST_TEST(scratch.on_stack(empty));
        BOOST_TEST((empty != next));
        scratch.deallocate(next, 8, 1);
        scratch.deallocate(empty, 0, 16);
        BOOST_TEST(scratch.inline_used() == 0u); // stack order gave both back
        // Starts are never handed out twice (empty's at 0, next's at 8): the rest fills from 16.
        void* all = scratch.allocate(48, 16);
        BOOST_TEST(scratch.on_stack(all));
        void* past = scratch.allocate(0, 16); // nothing left inline: the heap
        BOOST_TEST(!scratch.on_stack(past));
        BOOST_TEST(spill.live_blocks() == 1u);
        scratch.deallocate(past, 0, 16); // back to the heap, not "foreign"
        scratch.deallocate(all, 48, 16);
        BOOST_TEST(spill.live_blocks() == 0u);
        BOOST_TEST(spill.refused_frees() == 0u);
    }
    BOOST_TEST(spill.leak_free());
}

BOOST_AUTO_TEST_CASE(a_stack_buffer_serves_inline_first_then_the_heap) {
    checking_heap<> spill;
    {
        // 512 inline bytes: a (100) and b (100, 64-aligned: at most 63 bytes of padding) always
        // fit, whatever the buffer's address; c (320) and d (300) never do after them.
        memmgr::stack_buffer<512, checking_heap<>&> scratch(spill);
        void* a = scratch.allocate(100, 16);
        BOOST_TEST(scratch.on_stack(a));
        BOOST_TEST(aligned(a, 16));
        // The inline bytes are only 16-aligned, so where b starts depends on the buffer's address
        // modulo 64 (up to 160 bytes in): 90 bytes fit after a wherever the stack put the buffer.
        void* b = scratch.allocate(90, 64);
        BOOST_TEST(scratch.on_stack(b));
        BOOST_TEST(aligned(b, 64));
        void* c = scratch.allocate(320, 16); // does not fit: the heap
        BOOST_TEST(!scratch.on_stack(c));
        BOOST_TEST(spill.live_blocks() == 1u);
        BOOST_TEST(scratch.spilled_blocks() == 1u);
        void* d =
            scratch.allocate(300, 4096); // over-aligned and too big for what is left: the heap
        BOOST_TEST(aligned(d, 4096));
        scratch.deallocate(c, 320, 16);
        BOOST_TEST(spill.live_blocks() == 1u);

        // Stack order gives inline bytes back.
        const std::size_t used = scratch.inline_used();
        scratch.deallocate(b, 90, 64);
        BOOST_TEST(scratch.inline_used() < used);
        void* again = scratch.allocate(90, 16); // b's padding stays used: 90 fit, as for b
        BOOST_TEST(scratch.on_stack(again));

        // As a pmr resource: a small vector stays on the stack until it outgrows it.
        memmgr::stack_buffer<256, checking_heap<>&> fresh(spill);
        std::pmr::vector<int> v(&fresh);
        v.reserve(8);
        BOOST_TEST(fresh.on_stack(v.data()));
        v.reserve(1000);
        BOOST_TEST(!fresh.on_stack(v.data()));
        BOOST_CHECK_THROW((void)scratch.allocate(8, opaque(3)), memmgr::heap_error);
        (void)d; // left for the destructor to free
    }
    BOOST_TEST(spill.leak_free());
}

// A spilled block goes back to the heap with the alignment it was allocated with, whatever the
// caller gives back. Before, the caller's was used: a 64-aligned block given back as 16-aligned
// reached the heap as the pointer inside its over-aligned block (std::free of it aborted), and a
// 16-aligned one given back as 64-aligned was refused and its record dropped (a leak).
BOOST_AUTO_TEST_CASE(a_spilled_block_is_freed_as_it_was_allocated_whatever_alignment_comes_back) {
    static std::vector<errc> reported;
    reported.clear();
    const auto previous = memmgr::set_deallocation_error_handler(
        [](std::string_view, void*, errc why) { reported.push_back(why); });
    checking_heap<> spill;
    {
        memmgr::stack_buffer<16, checking_heap<>&> scratch(spill);
        void* wide = scratch.allocate(100, 64); // too big inline: over-aligned, on the heap
        void* narrow = scratch.allocate(100, 8);
        BOOST_TEST(aligned(wide, 64));
        BOOST_TEST(spill.live_blocks() == 2u);
        scratch.deallocate(wide, 100, 16);
        scratch.deallocate(narrow, 100, 64);
        BOOST_TEST(spill.live_blocks() == 0u, "both went back to the heap");
        BOOST_TEST(scratch.spilled_blocks() == 0u);
    }
    memmgr::set_deallocation_error_handler(previous);
    BOOST_TEST(reported.empty());
    BOOST_TEST(spill.refused_frees() == 0u);
}

BOOST_AUTO_TEST_CASE(a_stack_buffer_failure_is_a_heap_error) {
    checking_heap<> spill;
    spill.fail_after(0);
    memmgr::stack_buffer<64, checking_heap<>&> scratch(spill);
    BOOST_CHECK_THROW((void)scratch.allocate(1000, 8), memmgr::heap_error);
    BOOST_TEST(scratch.on_stack(scratch.allocate(32, 8)));
}

BOOST_AUTO_TEST_SUITE_END()
