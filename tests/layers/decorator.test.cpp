// memmgr:decorator: the layers over a heap (debug_heap, failing_heap, counting_heap, and one
// written here as a program would) share one skeleton, so they name themselves, derive their thread
// safety and forward the inner heap's queries the same way.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory_resource>
#include <string_view>

import memmgr;

namespace decorator_probes {

using memmgr::com_heap;
using memmgr::counting_heap;
using memmgr::crt_heap;
using memmgr::debug_heap;
using memmgr::failing_heap;
using memmgr::thread_safety;
using memmgr::win32_heap;

// The example of heap_decorator's contract: a layer that adds one thing and writes only that.
template <class H>
class free_counter
    : public memmgr::heap_decorator<"free_counter", H, memmgr::thread_safety::always> {
public:
    using free_counter::heap_decorator::heap_decorator; // its constructors
    memmgr::result<void> free(void* p) noexcept {
        frees.fetch_add(1, std::memory_order_relaxed);
        return this->base().free(p);
    }
    std::atomic<std::size_t> frees{0};
};

// A layer whose own state is plain members: never thread-safe, whatever the heap beneath.
template <class H>
class unsynchronized_layer
    : public memmgr::heap_decorator<"unsynchronized_layer", H, memmgr::thread_safety::never> {
public:
    using unsynchronized_layer::heap_decorator::heap_decorator;
};

// A heap whose name is known only at run time: a layer over it is named by the layer alone.
struct run_time_name : crt_heap {
    static const std::string_view name;
};
const std::string_view run_time_name::name = "run_time_name";

// One way of naming: "layer<inner>", the inner heap's name without reference, nested as stacked.
static_assert(debug_heap<crt_heap>::name == "debug_heap<crt_heap>");
static_assert(failing_heap<crt_heap>::name == "failing_heap<crt_heap>");
static_assert(counting_heap<com_heap>::name == "counting_heap<com_heap>");
static_assert(debug_heap<win32_heap&>::name == "debug_heap<win32_heap>");
static_assert(counting_heap<failing_heap<win32_heap>>::name ==
              "counting_heap<failing_heap<win32_heap>>");
static_assert(free_counter<crt_heap>::name == "free_counter<crt_heap>");
static_assert(free_counter<run_time_name>::name == "free_counter");

// Thread safety: the weaker of the heap beneath and the layer's own bookkeeping. failing_heap
// locks a mutex, so over a thread-safe heap it is one (it once said nothing, which read as never).
static_assert(memmgr::thread_safe_heap<failing_heap<crt_heap>>);
static_assert(memmgr::thread_safe_heap<counting_heap<crt_heap>>);
static_assert(memmgr::thread_safe_heap<debug_heap<crt_heap>>);
static_assert(memmgr::thread_safe_heap<free_counter<com_heap>>);
static_assert(failing_heap<win32_heap>::threading == thread_safety::per_object);
static_assert(counting_heap<win32_heap&>::threading == thread_safety::per_object);
static_assert(debug_heap<win32_heap>::threading == thread_safety::per_object);
static_assert(failing_heap<memmgr::memory_manager&>::threading == thread_safety::never);
static_assert(unsynchronized_layer<crt_heap>::threading == thread_safety::never);
static_assert(!memmgr::thread_safe_heap<unsynchronized_layer<crt_heap>>);

// Every layer is a heap with its inner heap's alignment; the queries a layer does not change
// (owns, validate, walk) come through where the inner heap has them.
static_assert(memmgr::heap<free_counter<crt_heap>>);
static_assert(memmgr::heap<unsynchronized_layer<win32_heap&>>);
static_assert(memmgr::guaranteed_alignment_v<failing_heap<win32_heap>> ==
              memmgr::guaranteed_alignment_v<win32_heap>);
static_assert(memmgr::validating_heap<failing_heap<win32_heap>>);
static_assert(memmgr::walkable_heap<counting_heap<win32_heap&>>);
static_assert(!memmgr::validating_heap<failing_heap<crt_heap>>);
static_assert(!memmgr::walkable_heap<counting_heap<com_heap>>);
// ...and nothing that would bypass the layer: no allocate_zeroed, resize_in_place, release_all.
static_assert(!memmgr::zeroing_heap<counting_heap<win32_heap>>);
static_assert(!memmgr::resizable_in_place_heap<failing_heap<crt_heap>>);
static_assert(!memmgr::destroyable_heap<counting_heap<win32_heap>>);

} // namespace decorator_probes

using namespace decorator_probes;

BOOST_AUTO_TEST_SUITE(decorator_tests)

BOOST_AUTO_TEST_CASE(a_layer_writes_only_what_it_adds) {
    free_counter<crt_heap> heap;
    auto p = heap.allocate(40);
    BOOST_REQUIRE(p);
    BOOST_TEST(*heap.size(*p) >= 40u);
    auto q = heap.reallocate(*p, 80);
    BOOST_REQUIRE(q);
    BOOST_TEST(heap.free(*q).has_value());
    BOOST_TEST(heap.frees.load() == 1u);
}

BOOST_AUTO_TEST_CASE(queries_of_the_heap_beneath_come_through) {
    win32_heap arena;
    counting_heap<win32_heap&> counted(arena);
    failing_heap<win32_heap&> failing(arena);
    auto p = counted.allocate(24);
    BOOST_REQUIRE(p);
    BOOST_TEST(&counted.base() == &arena);
    BOOST_TEST(counted.owns(*p));
    BOOST_TEST(failing.owns(*p)); // one heap beneath both
    BOOST_TEST(counted.validate(*p).has_value());
    BOOST_TEST(failing.validate().has_value());
    auto entries = failing.walk();
    BOOST_REQUIRE(entries);
    BOOST_TEST(std::ranges::count_if(*entries, &memmgr::heap_entry::in_use) == 1);
    BOOST_TEST(counted.free(*p).has_value());
    BOOST_TEST(!arena.owns(*p));
}

// Errors name the layer the same way for every layer: an adapter over a failing heap says which.
BOOST_AUTO_TEST_CASE(errors_name_the_layer_and_the_heap_beneath) {
    memmgr::heap_resource<failing_heap<win32_heap>> resource;
    resource.heap().fail_after(0);
    try {
        (void)resource.allocate(64);
        BOOST_FAIL("the injected failure was not thrown");
    } catch (const memmgr::heap_error& e) {
        BOOST_TEST(e.heap() == "failing_heap<win32_heap>");
    }
    try {
        debug_heap<crt_heap> heap({.guard_size = memmgr::max_alignment + 1});
        BOOST_FAIL("the guard too large was accepted");
    } catch (const memmgr::heap_error& e) {
        BOOST_TEST(e.heap() == "debug_heap<crt_heap>");
    }
}

BOOST_AUTO_TEST_SUITE_END()
