// com_heap, local_heap, global_heap and crt_heap: what sets them apart. Foreign pointers and double
// frees are reported, never acted on; com, local and global share the process heap (as on Windows);
// crt_heap's blocks are on that heap only where the C runtime puts them there (the Universal CRT on
// real Windows); crt_heap's aligned family.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "support/blocks.hpp"
#include "support/forking.hpp"

import memmgr;

#include "support/task_memory.hpp"

using memmgr::errc;
using namespace memmgr_test;

namespace {
using process_heaps = std::tuple<memmgr::com_heap, memmgr::local_heap, memmgr::global_heap>;
} // namespace

BOOST_AUTO_TEST_SUITE(system_heap_tests)

BOOST_AUTO_TEST_CASE_TEMPLATE(foreign_pointers_are_reported_not_freed, H, process_heaps) {
    H heap;
    memmgr::crt_heap crt;
    memmgr::win32_heap private_heap;

    auto from_crt = crt.allocate(64);
    auto from_private = private_heap.allocate(64);
    BOOST_REQUIRE(from_crt);
    BOOST_REQUIRE(from_private);
    fill(*from_crt, 64, 1);
    fill(*from_private, 64, 2);

    // A private heap's block is foreign everywhere. A crt_heap block is foreign unless the C
    // runtime allocates from the process heap, as the Universal CRT does on real Windows (not under
    // Wine 8, not msvcrt.dll, not glibc): then it is a process-heap block like any other, and the
    // three heaps see it as one (memmgr does not depend on either answer; docs/heaps.md).
    std::vector<void*> foreign{*from_private};
    if (crt_heap_is_process_heap())
        BOOST_TEST(heap.size(*from_crt).value() == 64u);
    else
        foreign.push_back(*from_crt);
    for (void* p : foreign) {
        BOOST_TEST(fails_with(heap.free(p), errc::foreign_block));
        BOOST_TEST(fails_with(heap.size(p), errc::foreign_block));
        auto moved = heap.reallocate(p, 128);
        BOOST_REQUIRE(!moved);
        BOOST_TEST(fails_with(moved, errc::foreign_block));
    }
    // The owners' blocks were not touched and are still theirs.
    BOOST_TEST(filled(*from_crt, 64, 1));
    BOOST_TEST(filled(*from_private, 64, 2));
    BOOST_TEST(private_heap.validate(*from_private).has_value());
    BOOST_TEST(crt.free(*from_crt).has_value());
    BOOST_TEST(private_heap.free(*from_private).has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_pointer_inside_a_block_is_foreign, H, process_heaps) {
    H heap;
    auto p = heap.allocate(256);
    BOOST_REQUIRE(p);
    void* inside = static_cast<char*>(*p) + 64;
    BOOST_TEST(fails_with(heap.free(inside), errc::foreign_block));
    BOOST_TEST(fails_with(heap.size(inside), errc::foreign_block));
    BOOST_TEST(heap.size(*p).value() == 256u);
    BOOST_TEST(heap.free(*p).has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(double_free_is_reported, H, process_heaps) {
    H heap;
    auto keep = heap.allocate(48); // keeps the freed block from merging into the top of the heap
    auto p = heap.allocate(48);
    auto after = heap.allocate(48);
    BOOST_REQUIRE(keep);
    BOOST_REQUIRE(p);
    BOOST_REQUIRE(after);
    BOOST_TEST(heap.free(*p).has_value());
    auto again = heap.free(*p);
    BOOST_REQUIRE(!again);
    // A block already freed is no longer a live block: foreign_block on both legs (Windows'
    // HeapValidate cannot tell freed from foreign; the POSIX registry gives the same answer).
    BOOST_TEST(fails_with(again, errc::foreign_block));
    BOOST_TEST(fails_with(heap.size(*p), errc::foreign_block));
    BOOST_TEST(heap.free(*keep).has_value());
    BOOST_TEST(heap.free(*after).has_value());
}

// Two threads freeing one block at once: one frees it, the other is told foreign_block, and
// neither reads the block once it is gone. Before, both looked at the header before either took the
// block out of the registry, so the second could read the header of a block the first had freed
// (a wrong heap_corrupt, or a crash where a large block's pages had gone back). POSIX only: on
// Windows a double free racing itself is undefined, as HeapFree's is.
BOOST_AUTO_TEST_CASE_TEMPLATE(two_threads_freeing_one_block_at_once_free_it_once_on_posix, H,
                              process_heaps) {
    if constexpr (!on_windows) {
        H heap;
        for (int round = 0; round < 64; ++round) {
            // A large block every fourth round: above 32 MiB glibc always maps a block alone (its
            // threshold rises with the blocks freed, up to there) and unmaps it when it is freed.
            auto p = heap.allocate(round % 4 != 3 ? 48 : std::size_t{40} << 20);
            BOOST_REQUIRE(p);
            std::atomic<int> ready{0};
            std::array<memmgr::result<void>, 2> answers;
            auto free_it = [&](std::size_t i) {
                ready.fetch_add(1);
                while (ready.load() < 2) {
                }
                answers[i] = heap.free(*p);
            };
            std::thread other(free_it, std::size_t{1});
            free_it(0);
            other.join();
            BOOST_TEST(answers[0].has_value() != answers[1].has_value(), "freed once");
            for (const auto& answer : answers)
                BOOST_TEST((answer || answer.error() == errc::foreign_block));
        }
    } else {
        BOOST_TEST(on_windows);
    }
}

// The same for a reallocation, and an in-place resize, racing a free of their block: the block is
// checked, read and released (or resized) in one hold of the registry's lock. They were separate
// holds: the copy read a block the free had given back (ThreadSanitizer: a use after free), the
// resize wrote into it, and a reallocation could free a block made at its address meanwhile.
BOOST_AUTO_TEST_CASE_TEMPLATE(
    a_reallocation_or_resize_racing_a_free_takes_the_block_or_not_on_posix, H, process_heaps) {
    if constexpr (!on_windows) {
        H heap;
        int both = 0, damaged = 0;
        for (int round = 0; round < 200; ++round) {
            void* p = heap.allocate(256).value();
            const auto seed = static_cast<unsigned char>(round);
            fill(p, 256, seed);
            const bool in_place = round % 2 == 1 && !std::is_same_v<H, memmgr::com_heap>;
            std::atomic<int> ready{0};
            memmgr::result<void> freed;
            std::thread other([&] {
                ready.fetch_add(1);
                while (ready.load() < 2) {
                }
                freed = heap.free(p);
            });
            ready.fetch_add(1);
            while (ready.load() < 2) {
            }
            void* kept = nullptr;
            if constexpr (memmgr::resizable_in_place_heap<H>) {
                if (in_place) {
                    if (heap.resize_in_place(p, 128))
                        kept = p;
                }
            }
            if (!in_place)
                if (auto q = heap.reallocate(p, 4096))
                    kept = *q;
            other.join();
            if (in_place) {
                // A resize keeps the block: it came wholly before the free or after it.
                if (!freed)
                    BOOST_TEST(heap.free(p).has_value());
                continue;
            }
            both += freed.has_value() && kept != nullptr;
            if (kept != nullptr) {
                damaged += !filled(kept, 128, seed);
                BOOST_TEST(heap.free(kept).has_value());
            } else {
                BOOST_TEST(freed.has_value()); // one of the two took it
            }
        }
        BOOST_TEST(both == 0);
        BOOST_TEST(damaged == 0);
    } else {
        BOOST_TEST(on_windows);
    }
}

// The aligned family's header is memmgr's (where the block starts, the size), checked by a word
// over both and the address: an underrun that rewrote it is refused (heap_corrupt), the block
// kept, never followed. Unchecked, a header naming another live block made free_aligned free that
// one and answer success; a byte of damage made it crash in free(), or size_aligned answer 2^62.
BOOST_AUTO_TEST_CASE(a_damaged_aligned_header_is_refused_not_followed) {
    memmgr::crt_heap heap;
    auto* p = static_cast<unsigned char*>(heap.allocate_aligned(64, 64).value());
    void* victim = heap.allocate(64).value();
    fill(victim, 64, 3);
    unsigned char saved[24];
    std::memcpy(saved, p - 24, sizeof saved);
    std::memcpy(p - 24, &victim, sizeof victim); // where the block starts: another live block
    BOOST_TEST(fails_with(heap.free_aligned(p), errc::heap_corrupt));
    BOOST_TEST(fails_with(heap.size_aligned(p, 64), errc::heap_corrupt));
    BOOST_TEST(filled(victim, 64, 3));
    std::memcpy(p - 24, saved, sizeof saved);
    p[-9] ^= 1; // a byte of the size
    BOOST_TEST(fails_with(heap.size_aligned(p, 64), errc::heap_corrupt));
    BOOST_TEST(fails_with(heap.free_aligned(p), errc::heap_corrupt));
    std::memcpy(p - 24, saved, sizeof saved); // mended: the block is still its family's
    BOOST_TEST(heap.size_aligned(p, 64).value() == 64u);
    BOOST_TEST(heap.free_aligned(p).has_value());
    BOOST_TEST(heap.free(victim).has_value());
}

BOOST_AUTO_TEST_CASE(com_local_and_global_share_the_process_heap) {
    memmgr::com_heap com;
    memmgr::local_heap local;
    memmgr::global_heap global;
    auto a = com.allocate(10);
    auto b = local.allocate(20);
    auto c = global.allocate(30);
    BOOST_REQUIRE(a);
    BOOST_REQUIRE(b);
    BOOST_REQUIRE(c);
    BOOST_TEST(local.size(*a).value() == 10u);
    BOOST_TEST(global.size(*b).value() == 20u);
    BOOST_TEST(com.size(*c).value() == 30u);
    BOOST_TEST(global.free(*a).has_value());
    BOOST_TEST(com.free(*b).has_value());
    BOOST_TEST(local.free(*c).has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_block_the_task_allocator_cannot_vouch_for_is_not_ours, H,
                              process_heaps) {
    // IMalloc::DidAlloc answers 1, 0, or -1 for "cannot tell" (MAPI's IMalloc always says -1).
    // Only a 1 may let a pointer through to CoTaskMemFree, LocalFree or GlobalFree. Windows: the
    // test spy makes DidAlloc answer -1 for one live block; every operation must then refuse it and
    // leave it alone. POSIX screens with its own registry and has no DidAlloc: the block is ours.
    // The spy is installed before the block is made: Wine's DidAlloc reads a null table for a
    // block made before the first spy (a crash when this test ran alone, not after the others).
    task_did_alloc_cannot_tell(nullptr);
    H heap;
    auto p = heap.allocate(40);
    BOOST_REQUIRE(p);
    fill(*p, 40, 7);
    if constexpr (on_windows) {
        task_did_alloc_cannot_tell(*p);
        BOOST_TEST(fails_with(heap.size(*p), errc::foreign_block));
        BOOST_TEST(fails_with(heap.reallocate(*p, 80), errc::foreign_block));
        BOOST_TEST(fails_with(heap.free(*p), errc::foreign_block));
        task_did_alloc_cannot_tell(nullptr);
    }
    BOOST_TEST(filled(*p, 40, 7));
    BOOST_TEST(heap.size(*p).value() == 40u);
    BOOST_TEST(heap.free(*p).has_value());
}

BOOST_AUTO_TEST_CASE(crt_aligned_family_honours_every_power_of_two) {
    memmgr::crt_heap heap;
    for (std::size_t a = 1; a <= memmgr::max_alignment; a *= 2) {
        for (std::size_t n : {0u, 1u, 100u, 5000u}) {
            auto p = heap.allocate_aligned(n, a);
            BOOST_REQUIRE(p);
            BOOST_TEST(aligned(*p, a));
            BOOST_TEST(aligned(*p, memmgr::crt_heap::guaranteed_alignment));
            BOOST_TEST(heap.size_aligned(*p, a).value() == n);
            fill(*p, n, static_cast<unsigned char>(a));
            BOOST_TEST(filled(*p, n, static_cast<unsigned char>(a)));
            BOOST_TEST(heap.free_aligned(*p).has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(crt_aligned_family_rejects_bad_input) {
    memmgr::crt_heap heap;
    for (std::size_t a : {std::size_t{0}, std::size_t{3}, std::size_t{48},
                          memmgr::max_alignment * 2, std::size_t{1} << 63}) {
        auto p = heap.allocate_aligned(16, a);
        BOOST_REQUIRE(!p);
        BOOST_TEST(fails_with(p, errc::bad_alignment));
    }
    BOOST_TEST(fails_with(heap.allocate_aligned(SIZE_MAX, 64), errc::size_overflow));

    auto p = heap.allocate_aligned(100, 256);
    BOOST_REQUIRE(p);
    auto plain = heap.allocate(100);
    BOOST_REQUIRE(plain);
    // A plain block is foreign to the aligned family.
    BOOST_TEST(fails_with(heap.free_aligned(*plain), errc::foreign_block));
    BOOST_TEST(fails_with(heap.size_aligned(*p, 3), errc::bad_alignment));
    BOOST_TEST(fails_with(heap.size_aligned(*p, 0), errc::bad_alignment));
    BOOST_TEST(
        fails_with(heap.size_aligned(static_cast<char*>(*p) + 16, 256), errc::bad_alignment));
    BOOST_TEST(fails_with(heap.size_aligned(nullptr, 16), errc::null_pointer));
    BOOST_TEST(heap.free_aligned(nullptr).has_value());
    BOOST_TEST(heap.free_aligned(*p).has_value());
    BOOST_TEST(fails_with(heap.free_aligned(*p), errc::foreign_block)); // double free
    BOOST_TEST(fails_with(heap.size_aligned(*p, 256), errc::foreign_block));
    BOOST_TEST(heap.free(*plain).has_value());
}

BOOST_AUTO_TEST_CASE(the_crt_heap_itself_is_a_non_owning_win32_heap_on_windows) {
    // _get_heap_handle, _heapchk, _heapwalk: on Windows the heap malloc takes its blocks from,
    // attached (never owned); POSIX's glibc malloc is no heap object, and says so.
    memmgr::crt_heap crt;
    auto block = crt.allocate(200);
    BOOST_REQUIRE(block);
    auto native = memmgr::crt_heap::native_heap();
    if constexpr (on_windows) {
        BOOST_REQUIRE(native.has_value());
        BOOST_TEST(!native->is_owning());
        BOOST_TEST(native->is_serialized());
        BOOST_TEST((native->native_handle() == crt_heap_handle()));
        BOOST_TEST(native->owns(*block)); // malloc's block, as HeapValidate sees it
        BOOST_TEST(native->validate().has_value());
        BOOST_TEST(native->validate(*block).has_value());
        BOOST_TEST(native->size(*block).value() >= 200u);
        auto entries = native->walk();
        BOOST_REQUIRE(entries.has_value());
        BOOST_TEST(std::ranges::any_of(*entries, [&](const memmgr::heap_entry& e) {
            return e.in_use && e.address == *block;
        }));
        BOOST_TEST(native->statistics()->blocks_in_use >= 1u);
        // Not ours to clear, nor to destroy: the attached object goes, the CRT heap stays.
        BOOST_TEST(fails_with(native->release_all(), errc::not_supported));
        native = memmgr::crt_heap::native_heap();
    } else {
        BOOST_TEST(fails_with(native, errc::not_supported));
    }
    // _heapmin: glibc's malloc_trim cannot fail; Wine's _heapmin reports its stubbed HeapCompact
    // as a failure (not_supported); either way the heap and its blocks are as they were.
    fill(*block, 200, 7);
    auto trimmed = memmgr::crt_heap::trim();
    BOOST_TEST_MESSAGE("crt_heap::trim: " << (trimmed ? "done" : "not_supported"));
    if constexpr (on_windows)
        BOOST_TEST((trimmed.has_value() || trimmed.error() == errc::not_supported));
    else
        BOOST_TEST(trimmed.has_value());
    BOOST_TEST(filled(*block, 200, 7));
    BOOST_TEST(crt.free(*block).has_value());
}

BOOST_AUTO_TEST_CASE(all_objects_of_a_system_heap_are_one_heap) {
    memmgr::crt_heap a, b;
    memmgr::com_heap c, d;
    BOOST_TEST((a == b));
    BOOST_TEST((c == d));
    auto p = a.allocate(8);
    BOOST_REQUIRE(p);
    BOOST_TEST(b.free(*p).has_value());
}

#if !defined(_WIN32)
namespace {

// What a child forked beside the users of the POSIX process heap does: com blocks and crt_heap's
// aligned blocks (each screened by a registry of live blocks, under its lock), filled, checked and
// freed. \returns 0, or which step failed.
int use_registries_in_child() {
    memmgr::com_heap com;
    memmgr::crt_heap crt;
    void* blocks[3] = {};
    for (int i = 0; i < 3; ++i) {
        auto p = com.allocate(static_cast<std::size_t>(40 + 1000 * i));
        if (!p)
            return 10 + i;
        blocks[i] = *p;
        fill(blocks[i], static_cast<std::size_t>(40 + 1000 * i), static_cast<unsigned char>(i));
    }
    for (int i = 0; i < 3; ++i)
        if (!filled(blocks[i], static_cast<std::size_t>(40 + 1000 * i),
                    static_cast<unsigned char>(i)) ||
            !com.free(blocks[i]))
            return 20 + i;
    auto aligned = crt.allocate_aligned(100, 256);
    if (!aligned)
        return 30;
    if (!crt.free_aligned(*aligned))
        return 31;
    return 0;
}

} // namespace

// fork() in a threaded program (issue #17, item 1), for the heaps over the POSIX process heap: a
// thread inside one of the registries of live blocks when another forked left the child a lock
// nobody would release. Forks made while two threads use com_heap and crt_heap's aligned family:
// every child must use both and exit with 0; the deadline only turns a hang into a failure.
BOOST_AUTO_TEST_CASE(a_child_forked_while_threads_use_the_process_heap_can_use_it) {
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> progress{0};
    std::atomic<int> refused{0}; // frees refused to the users (Boost.Test checks on this thread)
    std::vector<std::thread> users;
    for (int t = 0; t < 2; ++t) {
        users.emplace_back([&, t] {
            memmgr::com_heap com;
            memmgr::crt_heap crt;
            std::vector<void*> mine;
            for (std::size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
                if (t == 0) {
                    if (auto p = com.allocate(i % 500 + 8))
                        mine.push_back(*p);
                } else if (auto p = crt.allocate_aligned(i % 300 + 1, 64)) {
                    mine.push_back(*p);
                }
                if (mine.size() > 64) {
                    for (void* p : mine)
                        if (!(t == 0 ? com.free(p) : crt.free_aligned(p)))
                            refused.fetch_add(1, std::memory_order_relaxed);
                    mine.clear();
                }
                progress.fetch_add(1, std::memory_order_relaxed);
            }
            for (void* p : mine)
                (void)(t == 0 ? com.free(p) : crt.free_aligned(p));
        });
    }
    const auto children = fork_rounds(20, progress, 200, use_registries_in_child);
    BOOST_TEST(children.size() == 20u);
    for (std::size_t round = 0; round < children.size(); ++round)
        BOOST_TEST(children[round].passed(), "round " << round << ": " << children[round].said());
    stop.store(true, std::memory_order_relaxed);
    for (auto& t : users)
        t.join();
    BOOST_TEST(refused.load() == 0);
}
#endif

BOOST_AUTO_TEST_SUITE_END()
