// memmgr:heap_resource on both legs: every standard pmr container over every heap, nested
// containers on one heap, over-aligned types, bad alignments and sizes, equality,
// scoped_default_resource, failures that leak nothing and refused deallocations, and a private heap
// as an arena.
#include <boost/test/unit_test.hpp>

#include <atomic>
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
#include <thread>
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

BOOST_AUTO_TEST_SUITE(heap_resource_tests)

BOOST_AUTO_TEST_CASE_TEMPLATE(every_container_works_over_heap_resource, H, all_heaps) {
    heap_resource<H> resource;
    BOOST_TEST(exercise_containers(std::pmr::polymorphic_allocator<int>(&resource)) == 0);
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

// Two threads give one over-aligned block back at once (a caller's double free): the one that
// claims its slot frees it, the other is refused with foreign_block and touches nothing (before,
// both could pass the slot's check, and the later one then freed the block again, or the block a
// third thread had taken at its address, and wrote the slot back into freed memory). On a heap
// whose freed memory stays readable: on crt_heap the second thread would read freed memory,
// which the sanitizers rightly report (the word before p is read, docs/adapters.md).
struct refusals {
    static inline std::atomic<int> calls{0};
    static inline std::atomic<int> foreign{0};
    static void handler(std::string_view, void*, errc e) {
        calls.fetch_add(1);
        if (e == errc::foreign_block)
            foreign.fetch_add(1);
    }
};

BOOST_AUTO_TEST_CASE(of_two_threads_freeing_one_over_aligned_block_one_frees_it) {
    auto previous = memmgr::set_deallocation_error_handler(&refusals::handler);
    refusals::calls = 0;
    refusals::foreign = 0;
    memmgr::win32_heap heap;
    heap_resource resource(heap);
    constexpr int rounds = 300;
    for (int round = 0; round < rounds; ++round) {
        void* p = resource.allocate(64, 64);
        std::atomic<int> ready{0};
        auto give_back = [&] {
            ready.fetch_add(1);
            while (ready.load() < 2) {
            }
            resource.deallocate(p, 64, 64);
        };
        std::thread first(give_back), second(give_back);
        first.join();
        second.join();
    }
    BOOST_TEST(refusals::calls.load() == rounds); // exactly one refusal per round
    BOOST_TEST(refusals::foreign.load() == rounds);
    BOOST_TEST(heap.validate().has_value());
    BOOST_TEST(memmgr::set_deallocation_error_handler(previous) == &refusals::handler);
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
