// memmgr:heap_ptr on both legs: the size of each form, ownership through allocate, reallocate,
// release, reset, put() and moves, failures that keep the block, a block the heap refuses,
// allocate_unique and allocate_unique_for_overwrite over every heap; on Windows, the CoTaskMem
// string of the real StringFromCLSID taken through put().
#include <boost/test/unit_test.hpp>

#ifdef _WIN32
#include "support/windows.hpp"
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>

import memmgr;

#include "support/checking_heap.hpp"
#include "support/containers.hpp"
#include "support/task_memory.hpp"

using memmgr::errc;
using memmgr::heap_ptr;
using namespace memmgr_test;

namespace {

using stateless_heaps =
    std::tuple<memmgr::crt_heap, memmgr::com_heap, memmgr::local_heap, memmgr::global_heap>;
using test_heap = checking_heap<>;

struct point {
    int x;
    int y;
};

// A type whose construction can be made to throw, trivially destructible as heap_ptr requires.
struct fragile {
    explicit fragile(bool throws) : value(7) {
        if (throws)
            throw std::runtime_error("fragile");
    }
    int value;
};

// What ported code calls: an API that hands back a task-memory string through an out-parameter
// and leaves freeing it to the caller (the contract of StringFromCLSID), written over com_heap so
// that it exists on both legs. \returns false (and writes nullptr) if the allocation fails.
bool api_returning_task_memory(std::u16string_view text, char16_t** out) {
    *out = nullptr;
    auto block = memmgr::com_heap{}.allocate((text.size() + 1) * sizeof(char16_t));
    if (!block)
        return false;
    auto* chars = static_cast<char16_t*>(*block);
    std::memcpy(chars, text.data(), text.size() * sizeof(char16_t));
    chars[text.size()] = u'\0';
    *out = chars;
    return true;
}

// Records what the deallocation error handler was told, for the duration of a test.
struct refused_free {
    static inline std::string_view heap;
    static inline void* pointer = nullptr;
    static inline errc why{};
    static inline int calls = 0;
    static void record(std::string_view h, void* p, errc e) {
        heap = h;
        pointer = p;
        why = e;
        ++calls;
    }
};

class recording_deallocation_errors {
public:
    recording_deallocation_errors()
        : previous_(memmgr::set_deallocation_error_handler(&refused_free::record)) {
        refused_free::calls = 0;
    }
    recording_deallocation_errors(const recording_deallocation_errors&) = delete;
    recording_deallocation_errors& operator=(const recording_deallocation_errors&) = delete;
    ~recording_deallocation_errors() { memmgr::set_deallocation_error_handler(previous_); }

private:
    memmgr::deallocation_error_handler previous_;
};

} // namespace

// The size of each form: one pointer over a stateless heap (the empty base takes no room).
static_assert(sizeof(heap_ptr<wchar_t, memmgr::com_heap>) == sizeof(wchar_t*));
static_assert(sizeof(heap_ptr<int, memmgr::crt_heap>) == sizeof(int*));
static_assert(sizeof(heap_ptr<void, memmgr::local_heap>) == sizeof(void*));
static_assert(sizeof(heap_ptr<point, memmgr::global_heap>) == sizeof(point*));
static_assert(sizeof(heap_ptr<std::byte, memmgr::win32_heap&>) == 2 * sizeof(void*));
static_assert(sizeof(heap_ptr<std::byte, memmgr::win32_heap>) ==
              sizeof(memmgr::win32_heap) + sizeof(void*));
// Move-only; default-constructible only where the heap needs no argument.
static_assert(!std::is_copy_constructible_v<heap_ptr<int, memmgr::com_heap>>);
static_assert(!std::is_copy_assignable_v<heap_ptr<int, memmgr::com_heap>>);
static_assert(std::is_nothrow_move_constructible_v<heap_ptr<int, memmgr::com_heap>>);
static_assert(std::is_nothrow_move_assignable_v<heap_ptr<int, memmgr::win32_heap&>>);
static_assert(std::is_nothrow_move_constructible_v<heap_ptr<int, memmgr::win32_heap>>);
static_assert(std::is_default_constructible_v<heap_ptr<int, memmgr::com_heap>>);
static_assert(!std::is_default_constructible_v<heap_ptr<int, memmgr::win32_heap&>>);
static_assert(!std::is_default_constructible_v<heap_ptr<int, memmgr::win32_heap>>);
// A raw pointer is adopted only explicitly.
static_assert(!std::is_convertible_v<int*, heap_ptr<int, memmgr::com_heap>>);
static_assert(std::is_constructible_v<heap_ptr<int, memmgr::com_heap>, int*>);
// The helpers pick the form from the heap argument.
static_assert(std::is_same_v<decltype(memmgr::allocate_unique<int>(memmgr::com_heap{})),
                             heap_ptr<int, memmgr::com_heap>>);
static_assert(
    std::is_same_v<decltype(memmgr::allocate_unique<int>(std::declval<memmgr::win32_heap&>())),
                   heap_ptr<int, memmgr::win32_heap&>>);
static_assert(
    std::is_same_v<decltype(memmgr::allocate_unique<int>(std::declval<memmgr::win32_heap>())),
                   heap_ptr<int, memmgr::win32_heap>>);
static_assert(std::is_same_v<decltype(memmgr::allocate_unique_for_overwrite<char>(
                                 std::declval<const memmgr::crt_heap&>(), 1)),
                             heap_ptr<char, memmgr::crt_heap>>);

BOOST_AUTO_TEST_SUITE(heap_ptr_tests)

BOOST_AUTO_TEST_CASE_TEMPLATE(over_a_stateless_heap_it_is_one_pointer, H, stateless_heaps) {
    heap_ptr<char16_t, H> p;
    BOOST_TEST(sizeof(p) == sizeof(char16_t*));
    BOOST_TEST(!p);
    BOOST_TEST((p.get() == nullptr));
    BOOST_REQUIRE(p.allocate(50));
    BOOST_TEST((p.get() != nullptr));
    BOOST_TEST(p.heap().size(p.get()).value() >= 50 * sizeof(char16_t));
    p[49] = u'z';
    BOOST_REQUIRE(p.reallocate(100));
    BOOST_TEST((p[49] == u'z'), "reallocate keeps the contents");
    BOOST_TEST(p.heap().size(p.get()).value() >= 100 * sizeof(char16_t));
}

BOOST_AUTO_TEST_CASE(allocate_replaces_the_block_and_the_owner_frees_it) {
    test_heap heap;
    {
        heap_ptr<std::uint32_t, test_heap&> p(heap);
        BOOST_REQUIRE(p.allocate(10));
        BOOST_TEST(heap.live_blocks() == 1u);
        BOOST_TEST(heap.size(p.get()).value() == 40u, "n elements, not n bytes");
        auto* first = p.get();
        BOOST_REQUIRE(p.allocate(3));
        BOOST_TEST(!heap.owns(first), "the old block is freed once the new one exists");
        BOOST_TEST(heap.live_blocks() == 1u);
        BOOST_REQUIRE(p.allocate_bytes(5));
        BOOST_TEST(heap.size(p.get()).value() == 5u);
    }
    BOOST_TEST(heap.leak_free());
    BOOST_TEST(heap.refused_frees() == 0u);
}

BOOST_AUTO_TEST_CASE(a_failed_allocate_keeps_the_block_and_says_why) {
    test_heap heap;
    heap_ptr<int, test_heap&> p(heap);
    BOOST_REQUIRE(p.allocate(4));
    auto* kept = p.get();
    kept[0] = 41;

    heap.fail_after(0);
    auto failed = p.allocate(8);
    BOOST_REQUIRE(!failed);
    BOOST_TEST(failed.error() == errc::out_of_memory);
    BOOST_TEST((p.get() == kept));
    BOOST_TEST(p[0] == 41);
    BOOST_TEST(heap.live_blocks() == 1u);
    heap.never_fail();

    const auto asked = heap.allocations();
    auto too_big = p.allocate(SIZE_MAX / 2);
    BOOST_REQUIRE(!too_big);
    BOOST_TEST(too_big.error() == errc::size_overflow, "n x sizeof(T) wraps");
    BOOST_TEST(heap.allocations() == asked, "an overflowing size never reaches the heap");
    BOOST_TEST((p.get() == kept));
}

BOOST_AUTO_TEST_CASE(a_failed_reallocate_keeps_the_block_unchanged) {
    test_heap heap;
    heap_ptr<char, test_heap&> p(heap);
    BOOST_REQUIRE(p.reallocate(6)); // with no block held: allocates
    std::memcpy(p.get(), "abcde", 6);
    BOOST_REQUIRE(p.reallocate(4096));
    BOOST_TEST(std::string_view(p.get()) == "abcde");
    auto* kept = p.get();

    heap.fail_after(0);
    auto failed = p.reallocate(1 << 20);
    BOOST_REQUIRE(!failed);
    BOOST_TEST(failed.error() == errc::out_of_memory);
    BOOST_TEST((p.get() == kept));
    BOOST_TEST(std::string_view(p.get()) == "abcde");
    BOOST_TEST(heap.size(p.get()).value() == 4096u);
    heap.never_fail();

    auto overflow = p.reallocate(SIZE_MAX);
    BOOST_TEST(!overflow);
    BOOST_TEST(overflow.error() == errc::size_overflow);
    BOOST_TEST((p.get() == kept));
}

BOOST_AUTO_TEST_CASE(release_reset_and_moves_hand_the_block_on) {
    test_heap heap;
    heap_ptr<int, test_heap&> a(heap);
    BOOST_REQUIRE(a.allocate(1));
    int* raw = a.release();
    BOOST_TEST(!a);
    BOOST_TEST(heap.owns(raw), "release frees nothing");

    heap_ptr<int, test_heap&> b(raw, heap); // adopt it back
    BOOST_TEST((b.get() == raw));
    b.reset(b.get());
    BOOST_TEST(heap.owns(raw), "reset(get()) does not free the block under its owner");

    heap_ptr<int, test_heap&> c(std::move(b));
    BOOST_TEST(!b);
    BOOST_TEST((c.get() == raw));
    BOOST_TEST(&c.heap() == &heap);

    heap_ptr<int, test_heap&> d(heap);
    BOOST_REQUIRE(d.allocate(2));
    int* other = d.get();
    d = std::move(c);
    BOOST_TEST(!heap.owns(other), "assignment frees the block held before");
    BOOST_TEST((d.get() == raw));
    swap(c, d);
    BOOST_TEST((c.get() == raw));
    BOOST_TEST((d == nullptr));

    c.reset();
    BOOST_TEST(!heap.owns(raw));
    BOOST_TEST(heap.leak_free());
    BOOST_TEST(heap.refused_frees() == 0u);
}

BOOST_AUTO_TEST_CASE(put_frees_what_is_held_and_takes_what_the_api_returns) {
    const auto before = task_blocks_in_use();
    {
        heap_ptr<char16_t, memmgr::com_heap> text;
        BOOST_REQUIRE(api_returning_task_memory(u"first", text.put()));
        BOOST_TEST((std::u16string_view(text.get()) == u"first"));
        BOOST_TEST(task_blocks_in_use() == before + 1);
        // A second call through put(): the first string is freed before the API writes.
        BOOST_REQUIRE(api_returning_task_memory(u"second", text.put()));
        BOOST_TEST((std::u16string_view(text.get()) == u"second"));
        BOOST_TEST(task_blocks_in_use() == before + 1, "put() freed the first string");
    }
    BOOST_TEST(task_blocks_in_use() == before, "the owner freed the second");
}

BOOST_AUTO_TEST_CASE(a_block_the_heap_refuses_goes_to_the_deallocation_handler) {
    recording_deallocation_errors recording;
    test_heap heap;
    int local = 0;
    {
        heap_ptr<int, test_heap&> p(&local, heap); // not a block of heap
    }
    BOOST_TEST(refused_free::calls == 1);
    BOOST_TEST(refused_free::heap == "checking_heap");
    BOOST_TEST(refused_free::pointer == static_cast<void*>(&local));
    BOOST_TEST(refused_free::why == errc::foreign_block);
}

BOOST_AUTO_TEST_CASE(the_owning_form_holds_its_heap) {
    // As WIL's unique_process_heap_ptr: the (non-owning) process heap held by value.
    heap_ptr<std::byte, memmgr::win32_heap> from_process(memmgr::win32_heap::process_heap());
    BOOST_REQUIRE(from_process.allocate(64));
    BOOST_TEST(from_process.heap().owns(from_process.get()));

    // An arena that lives exactly as long as its one block, moved along with it.
    heap_ptr<std::byte, memmgr::win32_heap> arena_block(memmgr::win32_heap{});
    BOOST_REQUIRE(arena_block.allocate(100));
    void* native = arena_block.heap().native_handle();
    heap_ptr<std::byte, memmgr::win32_heap> moved(std::move(arena_block));
    BOOST_TEST(moved.heap().native_handle() == native);
    BOOST_TEST(moved.heap().owns(moved.get()));
    BOOST_TEST(arena_block.heap().native_handle() == nullptr, "the moved-from owner has no heap");
    BOOST_TEST(moved.heap().statistics()->blocks_in_use == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(allocate_unique_constructs_in_a_block_of_any_heap, H, all_heaps) {
    if constexpr (memmgr::stateless_heap<H>) {
        auto p = memmgr::allocate_unique<point>(H{}, 3, 4);
        BOOST_TEST(p->x == 3);
        BOOST_TEST(p->y == 4);
        BOOST_TEST(H{}.size(p.get()).value() >= sizeof(point));
    } else {
        H heap;
        {
            auto p = memmgr::allocate_unique<point>(heap, 5, 6);
            BOOST_TEST((*p).x == 5);
            BOOST_TEST(heap.owns(p.get()));
        }
        BOOST_TEST(heap.statistics()->blocks_in_use == 0u);
    }
}

BOOST_AUTO_TEST_CASE(allocate_unique_frees_the_block_when_construction_throws) {
    test_heap heap;
    auto fine = memmgr::allocate_unique<fragile>(heap, false);
    BOOST_TEST(fine->value == 7);
    BOOST_CHECK_THROW((void)memmgr::allocate_unique<fragile>(heap, true), std::runtime_error);
    BOOST_TEST(heap.live_blocks() == 1u, "only the first block is left");
    BOOST_TEST(heap.allocations() == 2u);
}

BOOST_AUTO_TEST_CASE(the_helpers_throw_heap_error_naming_the_heap_and_size) {
    test_heap heap;
    heap.fail_after(0);
    try {
        (void)memmgr::allocate_unique<point>(heap, 1, 2);
        BOOST_FAIL("allocate_unique should have thrown");
    } catch (const memmgr::heap_error& e) {
        BOOST_TEST(e.heap() == "checking_heap");
        BOOST_TEST(e.requested_size() == sizeof(point));
        BOOST_TEST(e.reason() == errc::out_of_memory);
    }
    heap.never_fail();
    try {
        (void)memmgr::allocate_unique_for_overwrite<std::uint64_t>(heap, SIZE_MAX / 4);
        BOOST_FAIL("allocate_unique_for_overwrite should have thrown");
    } catch (const memmgr::heap_error& e) {
        BOOST_TEST(e.reason() == errc::size_overflow);
    }
    BOOST_TEST(heap.allocations() == 0u);
}

BOOST_AUTO_TEST_CASE(allocate_unique_for_overwrite_gives_n_elements) {
    test_heap heap;
    {
        auto p = memmgr::allocate_unique_for_overwrite<std::uint16_t>(heap, 300);
        BOOST_TEST(heap.size(p.get()).value() == 600u);
        for (std::size_t i = 0; i < 300; ++i)
            p[i] = static_cast<std::uint16_t>(i);
        BOOST_TEST(p[299] == 299u);
        auto zero = memmgr::allocate_unique_for_overwrite<char>(memmgr::crt_heap{}, 0);
        BOOST_TEST((zero.get() != nullptr), "allocate(0) is a unique block");
    }
    BOOST_TEST(heap.leak_free());
}

#if defined(_WIN32)
// The migration the example shows, against the real ole32 (Wine's on this leg): StringFromCLSID
// returns a CoTaskMem string, which the owner frees with CoTaskMemFree.
BOOST_AUTO_TEST_CASE(string_from_clsid_through_put) {
    const CLSID clsid = {
        0x12345678, 0x9abc, 0xdef0, {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}};
    const auto before = task_blocks_in_use();
    {
        heap_ptr<wchar_t, memmgr::com_heap> text;
        BOOST_REQUIRE(SUCCEEDED(::StringFromCLSID(clsid, text.put())));
        BOOST_TEST((std::wstring_view(text.get()) == L"{12345678-9ABC-DEF0-0123-456789ABCDEF}"));
        BOOST_TEST(task_blocks_in_use() == before + 1);
        BOOST_TEST(memmgr::com_heap{}.size(text.get()).value() >= 39 * sizeof(wchar_t));
        BOOST_REQUIRE(SUCCEEDED(::StringFromCLSID(clsid, text.put())));
        BOOST_TEST(task_blocks_in_use() == before + 1, "put() freed the first string");
    }
    BOOST_TEST(task_blocks_in_use() == before);
}
#endif

BOOST_AUTO_TEST_SUITE_END()
