// Bad input on both legs: the rows of docs/reliability.md's table that the heap and adapter tests
// do not already show. Zero sizes and oversized requests on the layers above the heaps, foreign
// pointers and double frees through the adapters, and everything that can be asked of a heap after
// it was destroyed (or moved from): of the heap itself, of its blocks elsewhere, and through the
// adapters and debug_heap.
#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory_resource>
#include <string_view>
#include <utility>
#include <vector>

#include "support/blocks.hpp"

import memmgr;

using memmgr::errc;
using memmgr::heap_allocator;
using memmgr::heap_resource;
using memmgr::win32_heap;
using namespace memmgr_test;

namespace {

// A debug_heap over H whose problems are recorded, not fatal.
template <class H>
struct recording_debug_heap : memmgr::debug_heap<H> {
    template <class... Args>
    explicit recording_debug_heap(Args&&... args)
        : memmgr::debug_heap<H>(memmgr::debug_options{}, std::forward<Args>(args)...) {
        this->set_problem_handler(
            [this](const memmgr::debug_problem& p) { problems.push_back(p.kind); });
    }
    std::vector<memmgr::debug_problem_kind> problems;
};

// Deallocation errors the adapters meet, recorded while an object of this type lives.
struct recorded_deallocation_errors {
    static inline std::vector<errc> seen;
    memmgr::deallocation_error_handler previous;

    recorded_deallocation_errors()
        : previous(memmgr::set_deallocation_error_handler(
              [](std::string_view, void*, errc why) { seen.push_back(why); })) {
        seen.clear();
    }
    ~recorded_deallocation_errors() { memmgr::set_deallocation_error_handler(previous); }
    recorded_deallocation_errors(const recorded_deallocation_errors&) = delete;
    recorded_deallocation_errors& operator=(const recorded_deallocation_errors&) = delete;
};

// \returns the errc of the heap_error that f throws (errc{} when it throws none).
template <class F>
errc heap_error_of(F f) {
    try {
        f();
    } catch (const memmgr::heap_error& e) {
        return e.reason();
    }
    return errc{};
}

} // namespace

BOOST_AUTO_TEST_SUITE(bad_input_tests)

// --- zero sizes ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(zero_sizes_give_unique_blocks_on_every_layer) {
    recording_debug_heap<memmgr::crt_heap> debug;
    auto a = debug.allocate(0);
    auto b = debug.allocate(0);
    BOOST_REQUIRE(a && b);
    BOOST_TEST(*a != *b);
    BOOST_TEST(debug.size(*a).value() == 0u);
    BOOST_TEST(debug.free(*a).has_value());
    BOOST_TEST(debug.free(*b).has_value());
    BOOST_TEST(debug.problems.empty());

    win32_heap arena;
    heap_resource resource(arena);
    for (std::size_t alignment : {1u, 16u, 256u}) {
        void* p = resource.allocate(0, alignment);
        void* q = resource.allocate(0, alignment);
        BOOST_TEST(p != q);
        BOOST_TEST(aligned(p, alignment));
        resource.deallocate(p, 0, alignment);
        resource.deallocate(q, 0, alignment);
    }
    heap_allocator<int, memmgr::com_heap> ints;
    int* none = ints.allocate(0);
    BOOST_TEST(none != nullptr);
    ints.deallocate(none, 0);
    BOOST_TEST(arena.statistics()->blocks_in_use == 0u);
}

BOOST_AUTO_TEST_CASE(resizing_in_place_to_zero_leaves_an_empty_block) {
    // allocate(0) and reallocate(p, 0) on global_heap give 1 byte, as GlobalAlloc never makes an
    // empty fixed block; resizing in place to 0 (GlobalReAlloc without GMEM_MOVEABLE) keeps an
    // empty one, on Windows and POSIX alike. local_heap and win32_heap are empty either way.
    memmgr::global_heap global;
    auto g = global.allocate(100);
    BOOST_REQUIRE(g);
    BOOST_TEST(global.resize_in_place(*g, 0).has_value());
    BOOST_TEST(global.size(*g).value() == 0u);
    auto g1 = global.reallocate(*g, 0);
    BOOST_REQUIRE(g1);
    BOOST_TEST(global.size(*g1).value() == 1u);
    BOOST_TEST(global.free(*g1).has_value());

    memmgr::local_heap local;
    win32_heap arena;
    auto l = local.allocate(100);
    auto w = arena.allocate(100);
    BOOST_REQUIRE(l && w);
    BOOST_TEST(local.resize_in_place(*l, 0).has_value());
    BOOST_TEST(arena.resize_in_place(*w, 0).has_value());
    BOOST_TEST(local.size(*l).value() == 0u);
    BOOST_TEST(arena.size(*w).value() == 0u);
    BOOST_TEST(local.free(*l).has_value());
    BOOST_TEST(arena.free(*w).has_value());
}

// --- sizes and counts too large
// -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(oversized_requests_and_counts_fail_on_every_layer) {
    recording_debug_heap<memmgr::crt_heap> debug;
    for (std::size_t n : {SIZE_MAX, memmgr::max_request_size}) // the guards do not fit either
        BOOST_TEST(fails_with(debug.allocate(n), errc::size_overflow));
    auto p = debug.allocate(32);
    BOOST_REQUIRE(p);
    fill(*p, 32, 4);
    BOOST_TEST(fails_with(debug.reallocate(*p, SIZE_MAX), errc::size_overflow));
    BOOST_TEST(filled(*p, 32, 4));
    BOOST_TEST(debug.free(*p).has_value());
    BOOST_TEST(debug.problems.empty());

    // n x sizeof(T) that wraps, or exceeds max_request_size: size_overflow, naming SIZE_MAX.
    heap_allocator<std::uint64_t, memmgr::crt_heap> words;
    BOOST_TEST((heap_error_of([&] { (void)words.allocate(SIZE_MAX / 4); }) == errc::size_overflow));
    BOOST_TEST((heap_error_of([&] { (void)words.allocate(words.max_size() + 1); }) ==
                errc::size_overflow));
    memmgr::stack_buffer<64> scratch;
    BOOST_TEST(
        (heap_error_of([&] { (void)scratch.allocate(SIZE_MAX, 8); }) == errc::size_overflow));
    memmgr::counting_heap<memmgr::failing_heap<memmgr::com_heap>> layered;
    BOOST_TEST(fails_with(layered.allocate(SIZE_MAX), errc::size_overflow));
}

BOOST_AUTO_TEST_CASE(debug_options_beyond_what_the_layout_holds_are_refused) {
    // Before: a guard of SIZE_MAX bytes wrapped the layout arithmetic, and a quarantine of SIZE_MAX
    // blocks made a ring of none (a division by zero at the first free).
    using debug = memmgr::debug_heap<memmgr::crt_heap>;
    for (const memmgr::debug_options& bad :
         {memmgr::debug_options{.guard_size = SIZE_MAX},
          memmgr::debug_options{.quarantine = SIZE_MAX},
          memmgr::debug_options{.quarantine = std::size_t{1} << 59}, // once an 8 x 2^59-byte ring
          memmgr::debug_options{.quarantine = memmgr::max_quarantine + 1},
          memmgr::debug_options{.guard_size = memmgr::max_alignment + 1}}) {
        BOOST_TEST((heap_error_of([&] { debug heap(bad); }) == errc::size_overflow));
    }
    debug longest({.quarantine = memmgr::max_quarantine});
    debug largest({.guard_size = memmgr::max_alignment});
    auto p = largest.allocate(10);
    BOOST_REQUIRE(p);
    BOOST_TEST(largest.free(*p).has_value());
}

// --- foreign pointers and double frees through the adapters
// ---------------------------------------

BOOST_AUTO_TEST_CASE(refused_pointers_reach_the_deallocation_handler_with_the_heaps_errc) {
    recorded_deallocation_errors recorded;
    win32_heap arena;
    heap_allocator<int, win32_heap> alloc(arena);
    int* p = alloc.allocate(4);
    alloc.deallocate(p, 4);
    alloc.deallocate(p, 4); // double free
    int local = 0;
    alloc.deallocate(&local, 1); // foreign
    heap_resource<memmgr::com_heap> task;
    void* q = task.allocate(32, 8);
    task.deallocate(q, 32, 8);
    task.deallocate(q, 32, 8); // double free: the registry no longer knows q

    // POSIX's engine knows a freed block of its own (double_free); HeapValidate only that it is not
    // a block in use.
    const errc twice = on_windows ? errc::foreign_block : errc::double_free;
    const std::vector<errc> expected{twice, errc::foreign_block, errc::foreign_block};
    BOOST_TEST(recorded.seen == expected, boost::test_tools::per_element());
    BOOST_TEST(arena.validate().has_value());
}

// --- after the heap is destroyed
// ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_operation_on_a_moved_from_heap_says_heap_destroyed) {
    win32_heap heap;
    auto p = heap.allocate(64);
    BOOST_REQUIRE(p);
    win32_heap keeper = std::move(heap);
    BOOST_TEST(fails_with(heap.free(*p), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.reallocate(*p, 128), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.reallocate(nullptr, 128), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.resize_in_place(*p, 8), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.allocate_zeroed(2, 8), errc::heap_destroyed));
    // Sizes past every limit too: the heap is gone before the size is looked at (they once said
    // size_overflow).
    BOOST_TEST(fails_with(heap.allocate(SIZE_MAX), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.reallocate(*p, SIZE_MAX), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.allocate_zeroed(SIZE_MAX, 2), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.validate(), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.validate(*p), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.compact(), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.statistics(), errc::heap_destroyed));
    BOOST_TEST(fails_with(heap.enable_low_fragmentation(), errc::heap_destroyed));
    BOOST_TEST(!heap.owns(*p));
    // Nothing was done to the block, which moved on with the heap.
    BOOST_TEST(keeper.owns(*p));
    BOOST_TEST(keeper.free(*p).has_value());
}

BOOST_AUTO_TEST_CASE(blocks_of_a_destroyed_heap_are_foreign_to_every_other_heap) {
    win32_heap other; // made first, so that it cannot take the destroyed heap's place in memory
    memmgr::com_heap com;
    recording_debug_heap<memmgr::crt_heap> debug;
    void* stale = nullptr;
    {
        win32_heap gone;
        stale = gone.allocate(64).value();
    } // destroyed with the block in it
    BOOST_TEST(fails_with(other.free(stale), errc::foreign_block));
    BOOST_TEST(fails_with(other.size(stale), errc::foreign_block));
    BOOST_TEST(fails_with(com.free(stale), errc::foreign_block));
    BOOST_TEST(fails_with(debug.free(stale), errc::foreign_block));
    BOOST_TEST(other.validate().has_value());

    // A destroyed debug_heap's blocks are foreign to another (not "wrong heap": it is gone).
    void* orphan = nullptr;
    {
        memmgr::debug_heap<memmgr::crt_heap> short_lived;
        orphan = short_lived.allocate(16).value();
        (void)short_lived.free(orphan);
        orphan = short_lived.allocate(16).value(); // freed by the destructor
    }
    BOOST_TEST(fails_with(debug.free(orphan), errc::foreign_block));
    BOOST_TEST((debug.problems == std::vector<memmgr::debug_problem_kind>{
                                      memmgr::debug_problem_kind::foreign_block,
                                      memmgr::debug_problem_kind::foreign_block}));
}

BOOST_AUTO_TEST_CASE(adapters_over_a_moved_from_heap_report_heap_destroyed) {
    recorded_deallocation_errors recorded;
    win32_heap heap;
    heap_resource resource(heap);
    heap_allocator<int, win32_heap> alloc(heap);
    void* p = resource.allocate(32, 8);
    win32_heap keeper = std::move(heap);
    BOOST_TEST((heap_error_of([&] { (void)resource.allocate(8, 8); }) == errc::heap_destroyed));
    BOOST_TEST((heap_error_of([&] { (void)alloc.allocate(1); }) == errc::heap_destroyed));
    resource.deallocate(p, 32, 8); // refused: the resource's heap holds nothing now
    BOOST_TEST((recorded.seen == std::vector<errc>{errc::heap_destroyed}));
    BOOST_TEST(keeper.owns(p));
    BOOST_TEST(keeper.free(p).has_value());
}

BOOST_AUTO_TEST_CASE(a_debug_heap_over_a_moved_from_heap_reports_the_refused_free) {
    // Before: debug_heap::free ignored the heap beneath's answer and said the block was freed.
    win32_heap heap;
    recording_debug_heap<win32_heap&> debug(heap);
    auto p = debug.allocate(24);
    BOOST_REQUIRE(p);
    win32_heap keeper = std::move(heap);
    BOOST_TEST(fails_with(debug.allocate(8), errc::heap_destroyed));
    BOOST_TEST(fails_with(debug.free(*p), errc::heap_destroyed));
    BOOST_TEST((debug.problems == std::vector<memmgr::debug_problem_kind>{
                                      memmgr::debug_problem_kind::base_refused_free}));
    BOOST_TEST(debug.leaks().empty(), "the debug heap no longer counts the block");
    BOOST_TEST(keeper.statistics()->blocks_in_use == 1u, "it stays with the heap beneath");
}

// The reproducer stack_buffer_double_dealloc.cpp: a stale deallocation of the latest inline block,
// after its bytes were handed out again, once released the live block's bytes, and the next
// allocation overlapped it. Now each inline start is handed out once, so the stale pointer is
// recognised and reported (double_free), as is a pointer into a block (foreign_block); nothing is
// released, and no two live blocks ever share bytes.
BOOST_AUTO_TEST_CASE(stale_and_double_deallocations_of_inline_blocks_are_reported) {
    recorded_deallocation_errors recorded;
    memmgr::stack_buffer<256> sb;
    void* a = sb.allocate(64, 16);
    sb.deallocate(a, 64, 16);
    void* b = sb.allocate(64, 16); // a's bytes, mostly: they were reclaimed
    BOOST_TEST(sb.on_stack(b));
    BOOST_TEST((b != a));
    fill(b, 64, 1);
    sb.deallocate(a, 64, 16); // stale a
    BOOST_TEST((recorded.seen == std::vector<errc>{errc::double_free}));
    void* c = sb.allocate(64, 16);
    const auto lo = reinterpret_cast<std::uintptr_t>(b);
    const auto cc = reinterpret_cast<std::uintptr_t>(c);
    BOOST_TEST((cc >= lo + 64 || cc + 64 <= lo)); // c does not overlap the live b
    fill(c, 64, 2);
    BOOST_TEST(filled(b, 64, 1));

    // A double free of a block that was not the latest, and a pointer into a live block.
    sb.deallocate(b, 64, 16);
    sb.deallocate(b, 64, 16);
    sb.deallocate(static_cast<char*>(c) + 8, 56, 8);
    BOOST_TEST((recorded.seen ==
                std::vector<errc>{errc::double_free, errc::double_free, errc::foreign_block}));
    BOOST_TEST(filled(c, 64, 2));

    // A wrong size given back with a block that is not the last does not release the next one.
    void* d = sb.allocate(16, 16);
    sb.deallocate(c, 64 + 16, 16); // c and d together: the caller's bug
    void* e = sb.allocate(16, 16);
    BOOST_TEST((e != d));
    fill(d, 16, 3);
    fill(e, 16, 4);
    BOOST_TEST(filled(d, 16, 3));
    sb.deallocate(e, 16, 16);
    sb.deallocate(d, 16, 16);
    BOOST_TEST(recorded.seen.size() == 3u);
}

// The reproducer adapter_foreign_overaligned.cpp: an over-aligned deallocation of a pointer that
// never came from the adapter read the word before it as "the heap block" and freed it (another
// live block, silently). The word is now encoded and checked before it is trusted; a pointer that
// fails is reported (foreign_block) and nothing is freed, on every heap.
namespace {
struct alignas(64) cache_line {
    unsigned char bytes[64];
};

// A 64-aligned pointer into storage whose word before it holds `word`.
struct fake_block {
    alignas(64) unsigned char storage[256]{};
    void* with_word_before(const void* word) {
        std::memcpy(storage + 64 - sizeof(void*), &word, sizeof word);
        return storage + 64;
    }
};

template <class H>
void foreign_over_aligned_pointers_are_refused(H& heap) {
    recorded_deallocation_errors recorded;
    heap_resource<H&> resource(heap);
    heap_allocator<cache_line, H> alloc = [&] {
        if constexpr (memmgr::stateless_heap<H>)
            return heap_allocator<cache_line, H>();
        else
            return heap_allocator<cache_line, H>(heap);
    }();
    void* victim = heap.allocate(100).value(); // someone else's live block
    fill(victim, 100, 7);
    fake_block fake;
    resource.deallocate(fake.with_word_before(victim), 32, 64);
    alloc.deallocate(static_cast<cache_line*>(fake.with_word_before(victim)), 1);
    BOOST_TEST((recorded.seen == std::vector<errc>{errc::foreign_block, errc::foreign_block}));
    BOOST_TEST(heap.size(victim).value() >= 100u); // still live
    BOOST_TEST(filled(victim, 100, 7));

    // A genuine slot copied in front of another 64-aligned address does not decode there.
    void* real = resource.allocate(64, 64);
    std::memcpy(fake.storage + 64 - sizeof(void*), static_cast<char*>(real) - sizeof(void*),
                sizeof(void*));
    resource.deallocate(fake.storage + 64, 64, 64);
    BOOST_TEST(recorded.seen.size() == 3u);

    // A double free: the slot was wiped as the block went. Only where the freed memory stays
    // mapped and untracked (a private heap): elsewhere the second call reads freed malloc memory,
    // which ASan rightly reports.
    resource.deallocate(real, 64, 64);
    BOOST_TEST(recorded.seen.size() == 3u);
    if constexpr (memmgr::validating_heap<H>) {
        resource.deallocate(real, 64, 64);
        BOOST_TEST(recorded.seen.size() == 4u);
        BOOST_TEST((recorded.seen.back() == errc::foreign_block));
    }
    BOOST_TEST(heap.free(victim).has_value());
}
} // namespace

BOOST_AUTO_TEST_CASE(foreign_over_aligned_pointers_are_refused_not_followed) {
    win32_heap arena;
    foreign_over_aligned_pointers_are_refused(arena);
    BOOST_TEST(arena.validate().has_value());
    memmgr::com_heap com;
    foreign_over_aligned_pointers_are_refused(com);
    memmgr::crt_heap crt;
    foreign_over_aligned_pointers_are_refused(crt);
    recording_debug_heap<memmgr::win32_heap> debug;
    foreign_over_aligned_pointers_are_refused(debug);
    BOOST_TEST(debug.problems.empty()); // refused above the debug heap: it never saw them
}

// Where the heap can tell (validating_heap: win32_heap, debug_heap), the block the slot names must
// also be live and hold the size given back: a genuine over-aligned block given back with a size
// larger than it holds is refused, and stays allocated.
BOOST_AUTO_TEST_CASE(an_over_aligned_block_given_back_with_a_size_it_does_not_hold_is_refused) {
    recorded_deallocation_errors recorded;
    win32_heap arena;
    heap_resource<win32_heap&> resource(arena);
    void* p = resource.allocate(100, 256);
    resource.deallocate(p, 100 + 256, 256); // the caller's bug
    BOOST_TEST((recorded.seen == std::vector<errc>{errc::foreign_block}));
    BOOST_TEST(arena.statistics().value().blocks_in_use == 1u);
    resource.deallocate(p, 100, 256);
    BOOST_TEST(recorded.seen.size() == 1u);
    BOOST_TEST(arena.statistics().value().blocks_in_use == 0u);
}

// resource_heap once trusted the 16 bytes before any pointer it was given: a foreign pointer, a
// double free or a damaged header gave the resource whatever size they held. The header's check
// word now refuses them (foreign_block), and nothing reaches the resource.
BOOST_AUTO_TEST_CASE(resource_heap_refuses_pointers_whose_header_is_not_its_own) {
    std::pmr::unsynchronized_pool_resource pool; // keeps freed memory: reading it is defined here
    memmgr::resource_heap heap(&pool);
    alignas(16) unsigned char outside[64]{};
    std::size_t huge = SIZE_MAX / 2;
    std::memcpy(outside, &huge, sizeof huge); // a "size" in front of the foreign pointer
    void* foreign = outside + 16;
    BOOST_TEST(fails_with(heap.free(foreign), errc::foreign_block));
    BOOST_TEST(fails_with(heap.size(foreign), errc::foreign_block));
    BOOST_TEST(fails_with(heap.reallocate(foreign, 8), errc::foreign_block));

    void* p = heap.allocate(40).value();
    fill(p, 40, 3);
    BOOST_TEST(heap.free(p).has_value());
    BOOST_TEST(fails_with(heap.free(p), errc::foreign_block)); // double free
    BOOST_TEST(fails_with(heap.size(p), errc::foreign_block));

    // An underrun of the block before reaches the header: its size is not followed.
    void* q = heap.allocate(32).value();
    fill(q, 32, 4);
    auto* size_field = static_cast<unsigned char*>(q) - 16;
    const unsigned char kept = size_field[1];
    size_field[1] ^= 0x40; // the size now says 16 KiB more
    BOOST_TEST(fails_with(heap.size(q), errc::foreign_block));
    BOOST_TEST(fails_with(heap.reallocate(q, 1u << 20), errc::foreign_block));
    BOOST_TEST(fails_with(heap.free(q), errc::foreign_block));
    size_field[1] = kept;
    BOOST_TEST(heap.size(q).value() == 32u);
    BOOST_TEST(filled(q, 32, 4));
    BOOST_TEST(heap.free(q).has_value());
}

// The POSIX backend of com_heap, local_heap and global_heap keeps a 16-byte header in front of each
// block (size, check word); an underrun that damages it is reported (heap_corrupt) and the block
// left alone, where its size was once followed (reallocate copied past the block). On Windows the
// header is the system heap's own, screened by HeapValidate: not this test's business.
BOOST_AUTO_TEST_CASE(a_damaged_system_block_header_is_reported_not_followed) {
    if constexpr (on_windows)
        return;
    memmgr::local_heap heap;
    void* p = heap.allocate(32).value();
    fill(p, 32, 6);
    auto* size_field = static_cast<unsigned char*>(p) - 16;
    const unsigned char kept = size_field[1];
    size_field[1] ^= 0x40; // 16 KiB more than the block holds
    BOOST_TEST(fails_with(heap.size(p), errc::heap_corrupt));
    BOOST_TEST(fails_with(heap.reallocate(p, 8192), errc::heap_corrupt));
    BOOST_TEST(fails_with(heap.resize_in_place(p, 16), errc::heap_corrupt));
    BOOST_TEST(fails_with(heap.free(p), errc::heap_corrupt));
    size_field[1] = kept;
    BOOST_TEST(heap.size(p).value() == 32u);
    BOOST_TEST(filled(p, 32, 6));
    BOOST_TEST(heap.free(p).has_value());
    BOOST_TEST(fails_with(heap.free(p), errc::foreign_block)); // and then it is gone
}

BOOST_AUTO_TEST_SUITE_END()
