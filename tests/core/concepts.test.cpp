// memmgr:concepts: each heap models exactly the concepts it should, and types missing an
// operation, or offering it with the wrong shape, are rejected. Checked at compile time; the run
// time cases make the checks visible in the report.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <string_view>
#include <type_traits>

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
    result<void*> reallocate(void*, std::size_t) noexcept {
        return memmgr::fail(errc::out_of_memory);
    }
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

// Right names, wrong contract: blocks aligned to less than a pointer, or to no power of two (the
// adapters and debug_heap store a pointer-aligned word in front of blocks).
struct under_aligned : complete {
    static constexpr std::size_t guaranteed_alignment = 4;
};
struct odd_alignment : complete {
    static constexpr std::size_t guaranteed_alignment = 24;
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
static_assert(!memmgr::heap<under_aligned>);
static_assert(!memmgr::heap<odd_alignment>);
static_assert(!memmgr::heap<mutable_size>);
static_assert(!memmgr::heap<no_alignment>);
static_assert(!memmgr::heap<int>);
static_assert(!memmgr::zeroing_heap<complete>, "no allocate_zeroed");

// Which heap models which concept: exactly these, on both legs.
template <class H, bool Zeroing, bool Aligned, bool InPlace, bool Validating, bool Walkable,
          bool Compactable, bool Destroyable, bool ThreadSafe>
constexpr bool models_exactly =
    memmgr::heap<H> && memmgr::zeroing_heap<H> == Zeroing && memmgr::aligned_heap<H> == Aligned &&
    memmgr::resizable_in_place_heap<H> == InPlace && memmgr::validating_heap<H> == Validating &&
    memmgr::walkable_heap<H> == Walkable && memmgr::compactable_heap<H> == Compactable &&
    memmgr::destroyable_heap<H> == Destroyable && memmgr::thread_safe_heap<H> == ThreadSafe;

//                                   zero  align inpl  valid walk  compa destr tsafe
static_assert(models_exactly<memmgr::crt_heap, true, true, true, false, false, false, false, true>);
static_assert(
    models_exactly<memmgr::com_heap, false, false, false, false, false, false, false, true>);
static_assert(
    models_exactly<memmgr::local_heap, true, false, true, false, false, false, false, true>);
static_assert(
    models_exactly<memmgr::global_heap, true, false, true, false, false, false, false, true>);
static_assert(models_exactly<memmgr::win32_heap, true, false, true, true, true, true, true, false>);
static_assert(
    models_exactly<memmgr::memory_manager, false, false, false, false, false, false, false, false>);
// The layers (heap_decorator): the inner heap's thread safety, its owns/validate and walk where it
// has them (debug_heap: its own, always), nothing that would bypass the layer.
static_assert(models_exactly<memmgr::failing_heap<memmgr::crt_heap>, false, false, false, false,
                             false, false, false, true>);
static_assert(models_exactly<memmgr::failing_heap<memmgr::win32_heap>, false, false, false, true,
                             true, false, false, false>);
static_assert(models_exactly<memmgr::counting_heap<memmgr::com_heap>, false, false, false, false,
                             false, false, false, true>);
static_assert(models_exactly<memmgr::counting_heap<memmgr::win32_heap&>, false, false, false, true,
                             true, false, false, false>);
// debug_heap zeroes (_calloc_dbg) over any heap, with its own guarded blocks.
static_assert(models_exactly<memmgr::debug_heap<memmgr::crt_heap>, true, false, false, true, true,
                             false, false, true>);
static_assert(models_exactly<memmgr::debug_heap<memmgr::win32_heap>, true, false, false, true, true,
                             false, false, false>);
static_assert(models_exactly<memmgr::debug_heap<memmgr::com_heap>, true, false, false, true, true,
                             false, false, true>);

static_assert(memmgr::guaranteed_alignment_v<memmgr::crt_heap> == 16);
static_assert(memmgr::guaranteed_alignment_v<memmgr::com_heap> == 16);
static_assert(memmgr::guaranteed_alignment_v<memmgr::local_heap> == 16);
static_assert(memmgr::guaranteed_alignment_v<memmgr::global_heap> == 16);
static_assert(memmgr::guaranteed_alignment_v<memmgr::win32_heap> == 16);
static_assert(memmgr::win32_heap::threading == memmgr::thread_safety::per_object);

// Move-only ownership of private heaps; the stateless heaps are empty values.
static_assert(!std::is_copy_constructible_v<memmgr::win32_heap>);
static_assert(std::is_nothrow_move_constructible_v<memmgr::win32_heap>);
static_assert(std::is_nothrow_move_assignable_v<memmgr::win32_heap>);
static_assert(std::is_empty_v<memmgr::crt_heap> && std::is_empty_v<memmgr::com_heap> &&
              std::is_empty_v<memmgr::local_heap> && std::is_empty_v<memmgr::global_heap>);

// A near miss of each refinement: right name, wrong shape.
struct walk_without_snapshot : complete {
    void walk() const noexcept;
};
struct release_all_that_throws : complete {
    result<void> release_all();
};
struct resize_in_place_returning_pointer : complete {
    result<void*> resize_in_place(void*, std::size_t) noexcept;
};
struct claims_thread_safety_without_being_a_heap {
    static constexpr memmgr::thread_safety threading = memmgr::thread_safety::always;
};
static_assert(!memmgr::walkable_heap<walk_without_snapshot>);
static_assert(!memmgr::destroyable_heap<release_all_that_throws>);
static_assert(!memmgr::resizable_in_place_heap<resize_in_place_returning_pointer>);
static_assert(!memmgr::thread_safe_heap<claims_thread_safety_without_being_a_heap>);
static_assert(!memmgr::thread_safe_heap<complete>, "no threading member: not thread-safe");

template <class H>
constexpr bool is_heap(const H&) {
    return memmgr::heap<H>;
}

} // namespace concept_probes

using namespace concept_probes;

BOOST_AUTO_TEST_SUITE(concepts_tests)

BOOST_AUTO_TEST_CASE(heap_concept_separates_heaps_from_near_misses) {
    BOOST_TEST(is_heap(memmgr::crt_heap{}));
    BOOST_TEST(is_heap(memmgr::win32_heap::process_heap()));
    BOOST_TEST(is_heap(complete{}));
    BOOST_TEST(!is_heap(no_free{}));
    BOOST_TEST(!is_heap(raw_pointer_allocate{}));
}

BOOST_AUTO_TEST_SUITE_END()
