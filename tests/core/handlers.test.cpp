// memmgr:handlers on both legs: the allocation failure handler (_set_new_handler's idea) is asked
// before an adapter throws, may free memory and ask for a retry, and is never asked about errors
// that memory cannot fix.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <string_view>

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

BOOST_AUTO_TEST_SUITE(handlers_tests)

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

BOOST_AUTO_TEST_CASE(new_mode_1_is_asked_for_per_call_and_the_heap_layer_never_asks) {
    // _set_new_mode(1) has no process-wide counterpart (docs/crt_routines.md says why): a heap's
    // own allocate reports failure by value and never calls the handler; a call site that wants
    // malloc's new-mode-1 behaviour wraps its call in allocate_with_retry, outside any layer's
    // lock.
    memmgr::failing_heap<memmgr::crt_heap> heap;
    reserve::heap = &heap;
    reserve::calls = 0;
    auto previous = memmgr::set_allocation_failure_handler(&reserve::release);
    heap.fail_past_bytes(0);
    BOOST_TEST(fails_with(heap.allocate(32), errc::heap_full));
    BOOST_TEST(reserve::calls == 0); // the heap layer: by value, no handler
    auto block =
        memmgr::allocate_with_retry(decltype(heap)::name, 32, [&] { return heap.allocate(32); });
    BOOST_TEST(reserve::calls == 1); // asked once, freed its reserve, the retry worked
    BOOST_REQUIRE(block.has_value());
    BOOST_TEST(heap.free(*block).has_value());
    heap.fail_after(0); // the handler declines now: the failure comes back by value
    BOOST_TEST(fails_with(
        memmgr::allocate_with_retry(decltype(heap)::name, 8, [&] { return heap.allocate(8); }),
        errc::out_of_memory));
    BOOST_TEST(reserve::calls == 2);
    memmgr::set_allocation_failure_handler(previous);
}

BOOST_AUTO_TEST_SUITE_END()
