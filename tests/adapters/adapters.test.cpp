// adapters/: heap_resource, heap_allocator, resource_heap and scoped_default_resource, on both
// legs: every standard container over every heap through both routes, nested containers on one
// heap, over-aligned types, equality and propagation, failures that leak nothing.
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

using memmgr::errc;
using memmgr::heap_allocator;
using memmgr::heap_resource;
using namespace memmgr_test;

namespace {

using all_heaps = std::tuple<memmgr::crt_heap, memmgr::com_heap, memmgr::local_heap,
                             memmgr::global_heap, memmgr::win32_heap>;

// A string long enough never to fit in the small-string buffer, so that it allocates.
std::string long_text(int i) {
    return "a string long enough to need a block of its own #" + std::to_string(i);
}

template <class A>
using alloc_string = std::basic_string<char, std::char_traits<char>, A>;

// The same workload over any allocator: every container, filled, changed and checked. Returns the
// number of checks that failed (0 when the containers behaved).
template <class Alloc>
int exercise_containers(const Alloc& alloc) {
    using traits = std::allocator_traits<Alloc>;
    using string = alloc_string<typename traits::template rebind_alloc<char>>;
    int failures = 0;
    auto check = [&](bool ok) {
        failures += ok ? 0 : 1;
    };

    std::vector<int, typename traits::template rebind_alloc<int>> v(alloc);
    for (int i = 0; i < 1000; ++i)
        v.push_back(i);
    check(std::accumulate(v.begin(), v.end(), 0) == 499500);

    std::deque<int, typename traits::template rebind_alloc<int>> d(alloc);
    for (int i = 0; i < 1000; ++i)
        (i % 2 ? d.push_back(i) : d.push_front(i));
    check(d.size() == 1000u);

    std::list<int, typename traits::template rebind_alloc<int>> l(alloc);
    for (int i = 0; i < 300; ++i)
        l.push_back(i);
    l.remove_if([](int x) { return x % 3 == 0; });
    check(l.size() == 200u);

    std::forward_list<int, typename traits::template rebind_alloc<int>> f(alloc);
    for (int i = 0; i < 300; ++i)
        f.push_front(i);
    check(f.front() == 299);

    using kv = std::pair<const int, string>;
    std::map<int, string, std::less<>, typename traits::template rebind_alloc<kv>> m(alloc);
    for (int i = 0; i < 300; ++i)
        m.emplace(i, string(long_text(i).c_str(), alloc));
    m.erase(7);
    check(m.size() == 299u && std::string_view(m.at(8)) == long_text(8));

    std::set<int, std::less<>, typename traits::template rebind_alloc<int>> s(alloc);
    for (int i = 0; i < 300; ++i)
        s.insert(i * 7 % 307); // 307 is prime: 300 distinct keys
    check(s.size() == 300u);

    std::unordered_map<int, int, std::hash<int>, std::equal_to<>,
                       typename traits::template rebind_alloc<std::pair<const int, int>>>
        u(alloc);
    for (int i = 0; i < 1000; ++i)
        u[i] = i * i;
    check(u.size() == 1000u && u[30] == 900);

    string text(alloc);
    for (int i = 0; i < 100; ++i)
        text += "abc";
    text.resize(150);
    check(text.size() == 150u && std::string_view(text).substr(0, 3) == "abc");
    return failures;
}

struct alignas(64) cache_line {
    std::uint64_t values[8];
};
struct alignas(4096) page {
    unsigned char bytes[4096];
};

// What a heap walk says is in use, where the heap can walk; the checking heap counts itself.
std::size_t blocks_in_use(const memmgr::win32_heap& heap) {
    return heap.statistics().value().blocks_in_use;
}

} // namespace

BOOST_AUTO_TEST_SUITE(adapters_tests)

// --- heap_resource -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE_TEMPLATE(every_container_works_over_heap_resource, H, all_heaps) {
    heap_resource<H> resource;
    BOOST_TEST(exercise_containers(std::pmr::polymorphic_allocator<int>(&resource)) == 0);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(every_container_works_over_heap_allocator, H, all_heaps) {
    if constexpr (memmgr::stateless_heap<H>) {
        BOOST_TEST(exercise_containers(heap_allocator<int, H>()) == 0);
    } else {
        H heap;
        BOOST_TEST(exercise_containers(heap_allocator<int, H>(heap)) == 0);
        BOOST_TEST(blocks_in_use(heap) == 0u, "every container gave its blocks back");
    }
}

BOOST_AUTO_TEST_CASE(nested_pmr_containers_all_land_on_the_same_heap) {
    memmgr::win32_heap arena;
    heap_resource resource(arena);
    {
        std::pmr::vector<std::pmr::string> words(&resource);
        words.reserve(100);
        for (int i = 0; i < 100; ++i)
            words.emplace_back(long_text(i)); // uses-allocator construction: the same resource
        // One block for the vector's buffer, one per string, and nothing elsewhere.
        BOOST_TEST(blocks_in_use(arena) == 101u);
        for (const auto& w : words) {
            BOOST_TEST(arena.owns(w.data()));
            BOOST_TEST((w.get_allocator().resource() == &resource));
        }
        BOOST_TEST(arena.owns(words.data()));
    }
    BOOST_TEST(blocks_in_use(arena) == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(over_aligned_types_are_aligned_on_every_heap, H, all_heaps) {
    heap_resource<H> resource;
    std::pmr::vector<cache_line> lines(10, &resource);
    std::pmr::vector<page> pages(3, &resource);
    BOOST_TEST(aligned(lines.data(), 64));
    BOOST_TEST(aligned(pages.data(), 4096));
    pages.resize(9); // a reallocation keeps the alignment
    BOOST_TEST(aligned(pages.data(), 4096));
    for (std::size_t a = 1; a <= memmgr::max_alignment; a *= 2) {
        void* p = resource.allocate(100, a);
        BOOST_TEST(aligned(p, a));
        fill(p, 100, 1);
        resource.deallocate(p, 100, a);
    }

    if constexpr (memmgr::stateless_heap<H>) {
        std::vector<page, heap_allocator<page, H>> v(4);
        BOOST_TEST(aligned(v.data(), 4096));
    } else {
        H heap;
        std::vector<page, heap_allocator<page, H>> v(4, heap_allocator<page, H>(heap));
        BOOST_TEST(aligned(v.data(), 4096));
        std::list<cache_line, heap_allocator<cache_line, H>> l(5,
                                                               heap_allocator<cache_line, H>(heap));
        for (const auto& c : l)
            BOOST_TEST(aligned(&c, 64));
    }
}

BOOST_AUTO_TEST_CASE(bad_alignments_and_sizes_are_clear_errors) {
    memmgr::win32_heap arena;
    heap_resource resource(arena);
    auto refuses = [&](std::size_t bytes, std::size_t alignment, errc why) {
        try {
            (void)resource.allocate(bytes, alignment);
        } catch (const memmgr::heap_error& e) {
            return e.reason() == why && e.heap() == "win32_heap" && e.requested_size() == bytes;
        }
        return false;
    };
    BOOST_TEST(refuses(16, 3, errc::bad_alignment));
    BOOST_TEST(refuses(16, 48, errc::bad_alignment));
    BOOST_TEST(refuses(16, memmgr::max_alignment * 2, errc::bad_alignment));
    BOOST_TEST(refuses(SIZE_MAX, 8, errc::size_overflow));
    BOOST_TEST(refuses(SIZE_MAX - 100, 4096, errc::size_overflow));
    BOOST_TEST(blocks_in_use(arena) == 0u);

    // A too-large container is a heap_error (a std::bad_alloc) naming the heap.
    std::vector<int, heap_allocator<int, memmgr::win32_heap>> v(arena);
    BOOST_CHECK_THROW(v.reserve(v.max_size()), std::bad_alloc);
    heap_allocator<int, memmgr::win32_heap> a(arena);
    BOOST_CHECK_THROW((void)a.allocate(SIZE_MAX / 2), memmgr::heap_error);
}

BOOST_AUTO_TEST_CASE(is_equal_means_blocks_can_cross) {
    memmgr::win32_heap a, b;
    heap_resource on_a(a), on_a_again(a), on_b(b);
    heap_resource<memmgr::win32_heap> owning; // a private heap of its own
    heap_resource<memmgr::win32_heap&> referring(owning.heap());
    heap_resource<memmgr::crt_heap> crt1, crt2;
    heap_resource<memmgr::com_heap> com;

    BOOST_TEST(on_a.is_equal(on_a_again));
    BOOST_TEST(!on_a.is_equal(on_b));
    BOOST_TEST(owning.is_equal(referring));
    BOOST_TEST(referring.is_equal(owning));
    BOOST_TEST(crt1.is_equal(crt2));
    BOOST_TEST(!crt1.is_equal(com));
    BOOST_TEST(!crt1.is_equal(*std::pmr::new_delete_resource()));

    // What equality promises: a block from one is freed through the other.
    void* p = on_a.allocate(100, 256);
    on_a_again.deallocate(p, 100, 256);
    BOOST_TEST(blocks_in_use(a) == 0u);
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

BOOST_AUTO_TEST_CASE(scoped_default_resource_restores_the_previous_default) {
    memmgr::win32_heap arena;
    heap_resource outer(arena), inner(arena);
    auto* before = std::pmr::get_default_resource();
    {
        memmgr::scoped_default_resource a(&outer);
        BOOST_TEST((a.previous() == before));
        BOOST_TEST((std::pmr::get_default_resource() == &outer));
        {
            memmgr::scoped_default_resource b(&inner);
            BOOST_TEST((std::pmr::get_default_resource() == &inner));
        }
        BOOST_TEST((std::pmr::get_default_resource() == &outer));
    }
    BOOST_TEST((std::pmr::get_default_resource() == before));
}

// --- failures leak nothing
// -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_failing_allocation_in_turn_leaks_nothing) {
    // Fail the 0th, 1st, 2nd... allocation of a workload until it runs through; after each failure
    // every block must be back and the containers must hold what they held before the failing call.
    std::size_t failures_seen = 0;
    for (std::size_t k = 0;; ++k) {
        checking_heap<> heap;
        heap.fail_after(k);
        bool completed = false;
        {
            heap_resource resource(heap);
            std::pmr::vector<std::pmr::string> words(&resource);
            std::pmr::map<int, std::pmr::string> index(&resource);
            try {
                for (int i = 0; i < 20; ++i) {
                    const auto before = words.size();
                    try {
                        words.emplace_back(long_text(i));
                    } catch (const std::bad_alloc&) {
                        // push_back's strong guarantee: nothing changed.
                        BOOST_TEST(words.size() == before);
                        throw;
                    }
                    index.emplace(i, words.back());
                }
                completed = true;
            } catch (const memmgr::heap_error& e) {
                ++failures_seen;
                BOOST_TEST(e.heap() == "checking_heap");
                BOOST_TEST(e.reason() == errc::out_of_memory);
                for (std::size_t i = 0; i < words.size(); ++i)
                    BOOST_TEST(std::string_view(words[i]) == long_text(static_cast<int>(i)));
            }
        }
        BOOST_TEST_INFO("failing allocation " << k);
        BOOST_TEST(heap.leak_free());
        BOOST_TEST(heap.refused_frees() == 0u);
        BOOST_TEST(heap.misaligned_blocks() == 0u);
        if (completed)
            break;
    }
    BOOST_TEST(failures_seen > 40u, "the sweep reached every allocation of the workload");
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

struct record {
    static inline int calls = 0;
    static inline errc why{};
    static inline std::string heap;
    static void handler(std::string_view name, void*, errc e) {
        ++calls;
        why = e;
        heap = name;
    }
};

BOOST_AUTO_TEST_CASE(refused_deallocations_go_to_the_handler) {
    auto previous = memmgr::set_deallocation_error_handler(&record::handler);
    memmgr::win32_heap a, b;
    heap_resource on_a(a);
    auto p = b.allocate(32);
    BOOST_REQUIRE(p);
    on_a.deallocate(*p, 32, 16); // b's block through a's resource: refused, reported, not freed
    BOOST_TEST(record::calls == 1);
    BOOST_TEST(record::why == errc::foreign_block);
    BOOST_TEST(record::heap == "win32_heap");
    BOOST_TEST(b.owns(*p));
    BOOST_TEST(memmgr::set_deallocation_error_handler(previous) == &record::handler);
    BOOST_TEST(b.free(*p).has_value());
}

// --- resource_heap
// -----------------------------------------------------------------------------------

static_assert(memmgr::heap<memmgr::resource_heap>);

BOOST_AUTO_TEST_CASE(a_std_pool_stands_behind_the_memmgr_interfaces) {
    std::pmr::unsynchronized_pool_resource pool;
    memmgr::memory_manager_for<memmgr::resource_heap> mm(&pool);
    memmgr::memory_manager& manager = mm;

    auto p = manager.allocate(100);
    BOOST_REQUIRE(p);
    BOOST_TEST(aligned(*p, 16));
    BOOST_TEST(manager.size(*p).value() == 100u); // exact: kept in the block's header
    fill(*p, 100, 6);
    auto q = manager.reallocate(*p, 3000);
    BOOST_REQUIRE(q);
    BOOST_TEST(filled(*q, 100, 6));
    BOOST_TEST(manager.size(*q).value() == 3000u);
    auto zero = manager.reallocate(*q, 0);
    BOOST_REQUIRE(zero);
    BOOST_TEST(manager.size(*zero).value() == 0u);
    BOOST_TEST(manager.free(*zero).has_value());
    BOOST_TEST(fails_with(manager.allocate(SIZE_MAX), errc::size_overflow));
    BOOST_TEST(fails_with(manager.size(nullptr), errc::null_pointer));

    // A resource that runs dry reads as out_of_memory, never an exception through noexcept.
    std::byte buffer[256];
    std::pmr::monotonic_buffer_resource small(buffer, sizeof buffer,
                                              std::pmr::null_memory_resource());
    memmgr::resource_heap dry(&small);
    auto first = dry.allocate(100);
    BOOST_TEST(first.has_value());
    BOOST_TEST(fails_with(dry.allocate(1000), errc::out_of_memory));
    BOOST_TEST((memmgr::resource_heap(&pool) == memmgr::resource_heap(&pool)));
    BOOST_TEST(!(memmgr::resource_heap(&pool) == dry));
}

// --- private heaps as arenas
// -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(containers_on_a_private_heap_can_be_winked_out) {
    memmgr::win32_heap arena;
    heap_resource resource(arena);
    using big_map = std::pmr::map<int, std::pmr::string>;
    // The map object itself lives on the arena too, and its destructor never runs: release_all
    // drops the map, its nodes and its strings at once.
    void* storage = resource.allocate(sizeof(big_map), alignof(big_map));
    auto* m = new (storage) big_map(&resource);
    for (int i = 0; i < 2000; ++i)
        m->emplace(i, long_text(i));
    BOOST_TEST(blocks_in_use(arena) == 1u + 2000u * 2u); // the map, each node, each string

    BOOST_TEST(arena.release_all().has_value());
    BOOST_TEST(blocks_in_use(arena) == 0u);
    BOOST_TEST(arena.validate().has_value());
    std::pmr::vector<int> after({1, 2, 3}, &resource); // the arena is ready for more
    BOOST_TEST(arena.owns(after.data()));
}

BOOST_AUTO_TEST_SUITE_END()
