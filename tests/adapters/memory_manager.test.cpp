// memmgr:memory_manager: IAtlMemMgr as a virtual interface over any heap, owning or referring.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>

#include "support/blocks.hpp"

import memmgr;

using memmgr::errc;
using namespace memmgr_test;

static_assert(std::is_abstract_v<memmgr::memory_manager>);
static_assert(memmgr::heap<memmgr::memory_manager>, "a memory_manager& stands in for a heap");
static_assert(!std::is_copy_constructible_v<memmgr::memory_manager_for<memmgr::win32_heap>>);

namespace {

// What a plug-in on the far side of an ABI boundary would do with the interface.
bool use_across_the_boundary(memmgr::memory_manager& mm) {
    auto p = mm.allocate(100);
    if (!p || !aligned(*p, memmgr::memory_manager::guaranteed_alignment))
        return false;
    fill(*p, 100, 3);
    auto q = mm.reallocate(*p, 5000);
    if (!q || !filled(*q, 100, 3) || mm.size(*q).value_or(0) < 5000)
        return false;
    return mm.free(*q).has_value();
}

} // namespace

BOOST_AUTO_TEST_SUITE(memory_manager_tests)

BOOST_AUTO_TEST_CASE(wraps_every_heap_behind_one_interface) {
    memmgr::win32_heap arena;
    std::unique_ptr<memmgr::memory_manager> managers[] = {
        std::make_unique<memmgr::memory_manager_for<memmgr::crt_heap>>(),
        std::make_unique<memmgr::memory_manager_for<memmgr::com_heap>>(),
        std::make_unique<memmgr::memory_manager_for<memmgr::local_heap>>(),
        std::make_unique<memmgr::memory_manager_for<memmgr::global_heap>>(),
        std::make_unique<memmgr::memory_manager_for<memmgr::win32_heap>>(),
        std::make_unique<memmgr::memory_manager_for<memmgr::win32_heap&>>(arena),
    };
    const std::string_view names[] = {"crt_heap",    "com_heap",   "local_heap",
                                      "global_heap", "win32_heap", "win32_heap"};
    for (std::size_t i = 0; i < std::size(managers); ++i) {
        BOOST_TEST_INFO("manager " << i);
        BOOST_TEST(managers[i]->heap_name() == names[i]);
        BOOST_TEST(use_across_the_boundary(*managers[i]));
    }
}

BOOST_AUTO_TEST_CASE(a_referring_manager_uses_the_callers_heap) {
    memmgr::win32_heap arena;
    memmgr::memory_manager_for<memmgr::win32_heap&> mm(arena);
    BOOST_TEST(&mm.get() == &arena);
    auto p = mm.allocate(10);
    BOOST_REQUIRE(p);
    BOOST_TEST(arena.owns(*p));
    BOOST_TEST(arena.free(*p).has_value());
}

BOOST_AUTO_TEST_CASE(errors_cross_the_interface_unchanged) {
    memmgr::memory_manager_for<memmgr::win32_heap> mm(
        memmgr::win32_heap_options{.maximum_size = 128 * 1024});
    memmgr::memory_manager& base = mm;
    BOOST_TEST(fails_with(base.allocate(SIZE_MAX), errc::size_overflow));
    BOOST_TEST(fails_with(base.allocate(1u << 20), errc::heap_full));
    auto p = base.allocate(64);
    BOOST_REQUIRE(p);
    fill(*p, 64, 2);
    BOOST_TEST(fails_with(base.reallocate(*p, 1u << 20), errc::heap_full));
    BOOST_TEST(filled(*p, 64, 2));
    int local = 0;
    BOOST_TEST(fails_with(base.free(&local), errc::foreign_block));
    BOOST_TEST(base.free(*p).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
