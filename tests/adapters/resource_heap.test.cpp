// memmgr:resource_heap on both legs: any std::pmr::memory_resource behind the memmgr interfaces.
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
#include <stdexcept>
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

BOOST_AUTO_TEST_SUITE(resource_heap_tests)

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

// A resource whose deallocate throws while `refusing` is set (as a checking resource may), over
// new_delete_resource: it counts what it holds, and gives back at its end what it still holds (the
// block a refused reallocation could not give back).
class refusing_resource final : public std::pmr::memory_resource {
public:
    bool refusing = false;
    std::size_t live() const { return held_.size(); }
    refusing_resource() = default;
    refusing_resource(const refusing_resource&) = delete;
    refusing_resource& operator=(const refusing_resource&) = delete;
    ~refusing_resource() override {
        for (const auto& [p, shape] : held_)
            std::pmr::new_delete_resource()->deallocate(p, shape.first, shape.second);
    }

private:
    void* do_allocate(std::size_t n, std::size_t a) override {
        void* p = std::pmr::new_delete_resource()->allocate(n, a);
        held_.emplace(p, std::pair{n, a});
        return p;
    }
    void do_deallocate(void* p, std::size_t n, std::size_t a) override {
        if (refusing)
            throw std::invalid_argument("refused");
        held_.erase(p);
        std::pmr::new_delete_resource()->deallocate(p, n, a);
    }
    bool do_is_equal(const memory_resource& other) const noexcept override {
        return this == &other;
    }
    std::map<void*, std::pair<std::size_t, std::size_t>> held_;
};

BOOST_AUTO_TEST_CASE(a_resource_that_throws_from_deallocate_keeps_its_block_live) {
    refusing_resource resource;
    memmgr::resource_heap heap(&resource);
    void* p = heap.allocate(40).value();
    fill(p, 40, 3);

    resource.refusing = true;
    BOOST_TEST(fails_with(heap.free(p), errc::out_of_memory)); // not std::terminate
    BOOST_TEST(heap.size(p).value() == 40u);                   // still live, header whole
    BOOST_TEST(fails_with(heap.reallocate(p, 400), errc::out_of_memory));
    BOOST_TEST(heap.size(p).value() == 40u); // the failed reallocation kept it
    BOOST_TEST(filled(p, 40, 3));
    BOOST_TEST(resource.live() == 2u); // p, and the new block the resource would not take back

    resource.refusing = false;
    void* q = heap.reallocate(p, 400).value();
    BOOST_TEST(filled(q, 40, 3));
    BOOST_TEST(heap.free(q).has_value());
    BOOST_TEST(resource.live() == 1u); // the refused block, given back at the resource's end
}

BOOST_AUTO_TEST_SUITE_END()
