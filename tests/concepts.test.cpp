// memmgr:concepts: each heap models exactly the concepts it should, and types missing an
// operation, or offering it with the wrong shape, are rejected. Checked at compile time; the run
// time cases make the checks visible in the report.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <string_view>

import memmgr;

// A named namespace, not an anonymous one: the probes are declared and never defined or used at
// run time, which anonymous-namespace members would be warned about.
namespace concept_probes {

using memmgr::errc;
using memmgr::result;

// A complete IAtlMemMgr shape, used as the base of the near misses below.
struct complete {
    static constexpr std::string_view name = "complete";
    static constexpr std::size_t guaranteed_alignment = 8;
    result<void*> allocate(std::size_t) noexcept { return memmgr::fail(errc::out_of_memory); }
    result<void> free(void*) noexcept { return {}; }
    result<std::size_t> size(const void*) const noexcept { return 0; }
    result<void*> reallocate(void*, std::size_t) noexcept { return memmgr::fail(errc::out_of_memory); }
};

struct no_free {
    static constexpr std::string_view name = "no_free";
    static constexpr std::size_t guaranteed_alignment = 8;
    result<void*> allocate(std::size_t) noexcept;
    result<std::size_t> size(const void*) const noexcept;
    result<void*> reallocate(void*, std::size_t) noexcept;
};

struct no_size {
    static constexpr std::string_view name = "no_size";
    static constexpr std::size_t guaranteed_alignment = 8;
    result<void*> allocate(std::size_t) noexcept;
    result<void> free(void*) noexcept;
    result<void*> reallocate(void*, std::size_t) noexcept;
};

struct no_reallocate {
    static constexpr std::string_view name = "no_reallocate";
    static constexpr std::size_t guaranteed_alignment = 8;
    result<void*> allocate(std::size_t) noexcept;
    result<void> free(void*) noexcept;
    result<std::size_t> size(const void*) const noexcept;
};

// Right names, wrong contract: allocate may throw.
struct throwing_allocate : complete {
    result<void*> allocate(std::size_t);
};

// Right names, wrong contract: failure reported by a raw null pointer, not by value.
struct raw_pointer_allocate : complete {
    void* allocate(std::size_t) noexcept;
};

// size() must work on a const heap.
struct mutable_size : complete {
    result<std::size_t> size(const void*) noexcept;
};

struct no_alignment {
    static constexpr std::string_view name = "no_alignment";
    result<void*> allocate(std::size_t) noexcept;
    result<void> free(void*) noexcept;
    result<std::size_t> size(const void*) const noexcept;
    result<void*> reallocate(void*, std::size_t) noexcept;
};

static_assert(memmgr::heap<complete>);
static_assert(!memmgr::heap<no_free>);
static_assert(!memmgr::heap<no_size>);
static_assert(!memmgr::heap<no_reallocate>);
static_assert(!memmgr::heap<throwing_allocate>);
static_assert(!memmgr::heap<raw_pointer_allocate>);
static_assert(!memmgr::heap<mutable_size>);
static_assert(!memmgr::heap<no_alignment>);
static_assert(!memmgr::heap<int>);
static_assert(!memmgr::zeroing_heap<complete>, "no allocate_zeroed");

static_assert(memmgr::heap<memmgr::crt_heap>);
static_assert(memmgr::zeroing_heap<memmgr::crt_heap>);
static_assert(memmgr::guaranteed_alignment_v<memmgr::crt_heap> == 16);

template <class H>
constexpr bool is_heap(const H&) {
    return memmgr::heap<H>;
}

} // namespace concept_probes

using namespace concept_probes;

BOOST_AUTO_TEST_SUITE(concepts)

BOOST_AUTO_TEST_CASE(heap_concept_separates_heaps_from_near_misses) {
    BOOST_TEST(is_heap(memmgr::crt_heap{}));
    BOOST_TEST(is_heap(complete{}));
    BOOST_TEST(!is_heap(no_free{}));
    BOOST_TEST(!is_heap(raw_pointer_allocate{}));
}

BOOST_AUTO_TEST_SUITE_END()
