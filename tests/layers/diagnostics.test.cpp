// The CRT routines' other ideas, on both legs: failure handlers (_set_new_handler), fault
// injection, statistics on any heap, and stack-first buffers (_malloca).
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

namespace {

// A failure handler that frees a reserve once and asks for a retry, as a new_handler would.
struct reserve {
    static inline memmgr::failing_heap<memmgr::crt_heap>* heap = nullptr;
    static inline int calls = 0;
    static bool release(std::string_view, std::size_t, errc why) {
        ++calls;
        if (calls > 1 || why != errc::heap_full)
            return false; // give up: the adapter throws
        heap->never_fail();
        return true;
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(diagnostics_tests)

BOOST_AUTO_TEST_CASE(the_failure_handler_is_asked_before_an_adapter_throws) {
    memmgr::failing_heap<memmgr::crt_heap> heap;
    reserve::heap = &heap;
    reserve::calls = 0;
    auto previous = memmgr::set_allocation_failure_handler(&reserve::release);
    {
        memmgr::heap_resource resource(heap);
        heap.fail_past_bytes(0);
        void* p = resource.allocate(64, 8); // fails, the handler lifts the budget, the retry works
        BOOST_TEST(reserve::calls == 1);
        resource.deallocate(p, 64, 8);

        heap.fail_after(0); // out_of_memory: the handler declines this time, so the adapter throws
        BOOST_CHECK_THROW((void)resource.allocate(8, 8), memmgr::heap_error);
        BOOST_TEST(reserve::calls == 2);
        // Never retried: errors that memory cannot fix.
        BOOST_CHECK_THROW((void)resource.allocate(8, opaque(3)), memmgr::heap_error);
        BOOST_TEST(reserve::calls == 2);
    }
    BOOST_TEST(memmgr::set_allocation_failure_handler(previous) == &reserve::release);
    BOOST_TEST(heap.bytes_in_use() == 0u);
}

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
        void* d = scratch.allocate(300, 4096); // over-aligned and too big for what is left: the heap
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

BOOST_AUTO_TEST_CASE(a_stack_buffer_failure_is_a_heap_error) {
    checking_heap<> spill;
    spill.fail_after(0);
    memmgr::stack_buffer<64, checking_heap<>&> scratch(spill);
    BOOST_CHECK_THROW((void)scratch.allocate(1000, 8), memmgr::heap_error);
    BOOST_TEST(scratch.on_stack(scratch.allocate(32, 8)));
}

BOOST_AUTO_TEST_SUITE_END()
