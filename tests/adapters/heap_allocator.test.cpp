// memmgr:heap_allocator on both legs: every standard container over every heap, stateless and
// stateful allocators (size, equality, propagation, rebinding), allocate_shared and strings, ranges
// built with the allocator, and a byte budget that fails cleanly.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <memory_resource>
#include <numeric>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <range/v3/range/conversion.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/transform.hpp>

#include "support/blocks.hpp"

import memmgr;

#include "support/checking_heap.hpp"
#include "support/containers.hpp"

using memmgr::errc;
using memmgr::heap_allocator;
using memmgr::heap_resource;
using namespace memmgr_test;

BOOST_AUTO_TEST_SUITE(heap_allocator_tests)

BOOST_AUTO_TEST_CASE_TEMPLATE(every_container_works_over_heap_allocator, H, all_heaps) {
    if constexpr (memmgr::stateless_heap<H>) {
        BOOST_TEST(exercise_containers(heap_allocator<int, H>()) == 0);
    } else {
        H heap;
        BOOST_TEST(exercise_containers(heap_allocator<int, H>(heap)) == 0);
        BOOST_TEST(blocks_in_use(heap) == 0u, "every container gave its blocks back");
    }
}

// --- heap_allocator ------------------------------------------------------------------------------

// Stateless heaps: nothing stored, nothing added to a container, always equal.
static_assert(sizeof(std::vector<int, heap_allocator<int, memmgr::crt_heap>>) ==
              sizeof(std::vector<int>));
static_assert(sizeof(std::map<int, int, std::less<int>,
                              heap_allocator<std::pair<const int, int>, memmgr::com_heap>>) ==
              sizeof(std::map<int, int>));
static_assert(std::is_empty_v<heap_allocator<int, memmgr::global_heap>>);
static_assert(
    std::allocator_traits<heap_allocator<int, memmgr::local_heap>>::is_always_equal::value);
static_assert(
    std::allocator_traits<
        heap_allocator<int, memmgr::crt_heap>>::propagate_on_container_move_assignment::value);
// Stateful heaps: a pointer to the heap, sticky like polymorphic_allocator.
using arena_alloc = heap_allocator<int, memmgr::win32_heap>;
static_assert(sizeof(arena_alloc) == sizeof(void*));
static_assert(!std::allocator_traits<arena_alloc>::is_always_equal::value);
static_assert(!std::allocator_traits<arena_alloc>::propagate_on_container_copy_assignment::value);
static_assert(!std::allocator_traits<arena_alloc>::propagate_on_container_move_assignment::value);
static_assert(!std::allocator_traits<arena_alloc>::propagate_on_container_swap::value);
static_assert(!std::is_default_constructible_v<arena_alloc>);
static_assert(std::is_same_v<std::allocator_traits<arena_alloc>::rebind_alloc<double>,
                             heap_allocator<double, memmgr::win32_heap>>);
static_assert(arena_alloc::max_size() == memmgr::max_request_size / sizeof(int));

BOOST_AUTO_TEST_CASE(stateful_allocators_stay_with_their_heap) {
    memmgr::win32_heap a, b;
    using vec = std::vector<int, arena_alloc>;
    vec on_a({1, 2, 3}, arena_alloc(a));
    vec on_b({4, 5, 6, 7}, arena_alloc(b));

    vec copy(on_a); // select_on_container_copy_construction: the same heap
    BOOST_TEST((copy.get_allocator() == on_a.get_allocator()));
    BOOST_TEST(a.owns(copy.data()));

    on_a = on_b; // copy assignment does not propagate: on_a stays on a
    BOOST_TEST(a.owns(on_a.data()));
    BOOST_TEST((on_a == vec({4, 5, 6, 7}, arena_alloc(a))));

    vec moved_into({9}, arena_alloc(a));
    moved_into = std::move(on_b); // unequal heaps, no propagation: elements move, heap stays
    BOOST_TEST(a.owns(moved_into.data()));
    BOOST_TEST(moved_into.size() == 4u);

    vec other_on_a({8, 8}, arena_alloc(a));
    other_on_a.swap(copy); // swapping is fine between containers on the same heap
    BOOST_TEST(other_on_a.size() == 3u);

    // Rebinding keeps the heap.
    heap_allocator<double, memmgr::win32_heap> rebound(on_a.get_allocator());
    BOOST_TEST(&rebound.heap() == &a);
    BOOST_TEST((rebound == on_a.get_allocator()));
    BOOST_TEST(!(arena_alloc(a) == arena_alloc(b)));
}

BOOST_AUTO_TEST_CASE(allocate_shared_and_basic_string_live_on_the_heap) {
    memmgr::win32_heap arena;
    {
        auto shared = std::allocate_shared<std::pair<int, double>>(
            heap_allocator<std::pair<int, double>, memmgr::win32_heap>(arena), 1, 2.5);
        BOOST_TEST(shared->second == 2.5);
        BOOST_TEST(blocks_in_use(arena) == 1u);
        alloc_string<heap_allocator<char, memmgr::win32_heap>> s(long_text(1).c_str(), arena);
        BOOST_TEST(arena.owns(s.data()));
        BOOST_TEST(blocks_in_use(arena) == 2u);
    }
    BOOST_TEST(blocks_in_use(arena) == 0u);
}

BOOST_AUTO_TEST_CASE(range_v3_builds_containers_with_the_allocator) {
    auto squares =
        ranges::views::iota(0, 50) | ranges::views::transform([](int i) { return i * i; });

    // A stateless heap's allocator is default-constructed by ranges::to.
    auto on_com = squares | ranges::to<std::vector<int, heap_allocator<int, memmgr::com_heap>>>();
    BOOST_TEST(on_com.size() == 50u);
    BOOST_TEST(memmgr::com_heap{}.size(on_com.data()).has_value());

    // A private heap through the default resource: what ranges::to default-constructs lands there.
    memmgr::win32_heap arena;
    heap_resource resource(arena);
    {
        memmgr::scoped_default_resource use(&resource);
        auto on_arena = squares | ranges::to<std::pmr::vector<int>>();
        BOOST_TEST(on_arena[7] == 49);
        BOOST_TEST(arena.owns(on_arena.data()));
    }
    BOOST_TEST((std::pmr::get_default_resource() == std::pmr::new_delete_resource()));
}

BOOST_AUTO_TEST_CASE(a_byte_budget_fails_cleanly_through_heap_allocator) {
    checking_heap<> heap;
    heap.fail_past_bytes(10000);
    {
        std::vector<int, heap_allocator<int, checking_heap<>>> v{
            heap_allocator<int, checking_heap<>>(heap)};
        try {
            for (int i = 0; i < 100000; ++i)
                v.push_back(i);
            BOOST_FAIL("the budget should have stopped the vector");
        } catch (const memmgr::heap_error& e) {
            BOOST_TEST(e.reason() == errc::heap_full);
            BOOST_TEST(v.size() * sizeof(int) <= 10000u);
            for (std::size_t i = 0; i < v.size(); ++i)
                BOOST_TEST(v[i] == static_cast<int>(i));
        }
    }
    BOOST_TEST(heap.leak_free());
    BOOST_TEST(heap.injected_failures() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
