// The POSIX private heap engine (modules/platform/private_heap.*) under damage, through
// win32_heap, its public face on POSIX: a caller with one write primitive (an overflow of a few
// bytes, a write after free) must get heap_corrupt, and the engine must never read or write outside
// its mappings, loop, or hand out memory that is not its own (docs/reliability.md, "Hardening
// rules"). Its ordinary behaviour is win32_heap's, tested in tests/heaps/win32_heap.test.cpp.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#if !defined(_WIN32)
#include <csignal>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "support/blocks.hpp"

import memmgr;

using memmgr::errc;
using memmgr::win32_heap;
using namespace memmgr_test;

// Damage by a caller with one write primitive (docs/reliability.md, "Hardening rules"): the POSIX
// engine must report heap_corrupt, never read or write outside its mappings, loop, or hand out
// memory that is not its own. POSIX only: on Windows the headers and lists are HeapAlloc's, and
// writing out of bounds into Windows' heap is not memmgr's to test.
BOOST_AUTO_TEST_SUITE(private_heap_tests)

namespace {

constexpr std::size_t first_segment = 64 * 1024; // a default heap's first mapping
// A request served from a segment, with a 16-byte header (docs/private_heap.md, "Blocks"): above
// 1 KiB. Smaller ones come from pages (see the page tests at the end). A multiple of 16, so that
// the next header starts right after it.
constexpr std::size_t segment_block = 1104;

// Creates heaps until two have first segments that touch (mmap usually places a new mapping right
// below the last): heaps[lower] ends where heaps[upper] begins. \returns false if none turned up
// in 64 tries; lower and upper are then two unrelated heaps, and the tests check what they can.
bool adjacent_heaps(std::vector<win32_heap>& heaps, std::size_t& lower, std::size_t& upper) {
    heaps.reserve(64);
    lower = 0;
    upper = 1;
    for (std::size_t i = 0; i < 64; ++i) {
        heaps.emplace_back();
        const auto mine = reinterpret_cast<std::uintptr_t>(heaps.back().native_handle());
        for (std::size_t j = 0; j + 1 < heaps.size(); ++j) {
            const auto other = reinterpret_cast<std::uintptr_t>(heaps[j].native_handle());
            if (mine + first_segment == other || other + first_segment == mine) {
                lower = mine < other ? i : j;
                upper = mine < other ? j : i;
                return true;
            }
        }
    }
    return false;
}

// A fixed 64 KiB heap, full, whose only free block (2016 bytes, alone in its bin) has had its
// free-list link overwritten with its own header's address: a cycle, to whoever follows it.
struct cyclic_bin {
    win32_heap heap{{.initial_size = 64 * 1024, .maximum_size = 64 * 1024}};
    cyclic_bin() {
        auto* a = static_cast<unsigned char*>(heap.allocate(2000).value());
        BOOST_REQUIRE(heap.allocate(16)); // keeps a from merging with the free space after it
        for (std::size_t n = 32768; n >= 16; n /= 2)
            while (heap.allocate(n)) {
            }
        BOOST_REQUIRE(heap.free(a));
        const auto self = reinterpret_cast<std::uintptr_t>(a) - 16;
        std::memcpy(a, &self, sizeof self); // the write after free
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(an_overflow_into_the_next_free_header_is_refused_not_carved) {
    // engine_oob_write_after_overflow: a one-byte overflow into the free block after a block made
    // the next allocation carve that block and write a boundary tag past the segment's end.
    if constexpr (!on_windows) {
        std::vector<win32_heap> heaps;
        std::size_t lo = 0;
        std::size_t up = 0;
        const bool adjacent = adjacent_heaps(heaps, lo, up);
        BOOST_TEST_MESSAGE("adjacent heaps found: " << adjacent);
        win32_heap& lower = heaps[lo];
        win32_heap& upper = heaps[up];
        auto* u = static_cast<unsigned char*>(upper.allocate(32).value());
        fill(u, 32, 7);
        auto* a = static_cast<unsigned char*>(lower.allocate(segment_block).value()); // rest free
        a[segment_block] = static_cast<unsigned char>(a[segment_block] + 0x10); // size + 16 units
        BOOST_TEST(fails_with(lower.allocate(2000), errc::heap_corrupt));
        BOOST_TEST(upper.validate().has_value());
        BOOST_TEST(filled(u, 32, 7));
        auto q = upper.allocate(224);
        BOOST_TEST(q.has_value());
        BOOST_TEST(upper.validate().has_value());
    }
}

BOOST_AUTO_TEST_CASE(compact_after_an_overflow_gives_back_no_page_outside_the_heap) {
    // engine_compact_zeroes_neighbour: compact() madvise()d pages past its segment by a damaged
    // size, zeroing the next mapping.
    if constexpr (!on_windows) {
        std::vector<win32_heap> heaps;
        std::size_t lo = 0;
        std::size_t up = 0;
        adjacent_heaps(heaps, lo, up);
        win32_heap& lower = heaps[lo];
        win32_heap& upper = heaps[up];
        auto* u = static_cast<unsigned char*>(upper.allocate(5000).value());
        fill(u, 5000, 9);
        auto* a = static_cast<unsigned char*>(lower.allocate(segment_block).value());
        a[segment_block + 1] = static_cast<unsigned char>(a[segment_block + 1] + 0x10); // 64 KiB
        BOOST_TEST(fails_with(lower.compact(), errc::heap_corrupt));
        BOOST_TEST(filled(u, 5000, 9));
        BOOST_TEST(upper.validate().has_value());
    }
}

BOOST_AUTO_TEST_CASE(a_cyclic_bin_list_ends_allocate_and_compact_with_heap_corrupt) {
    // engine_hang_bin_cycle*: allocate() and compact() followed the cycle forever.
    if constexpr (!on_windows) {
        cyclic_bin for_allocate;
        BOOST_TEST(fails_with(for_allocate.heap.allocate(2010), errc::heap_corrupt));
        cyclic_bin for_compact;
        BOOST_TEST(fails_with(for_compact.heap.compact(), errc::heap_corrupt));
    }
}

BOOST_AUTO_TEST_CASE(a_poisoned_cache_link_is_refused_not_handed_out) {
    // engine_cache_poisoning: the second allocation of the class returned the address written.
    // The front end of a fixed heap, whose small blocks stay in its segments (the pages' own
    // links: a_poisoned_link_inside_a_page_is_refused_not_followed).
    if constexpr (!on_windows) {
        alignas(16) static unsigned char target[256];
        win32_heap heap({.maximum_size = 1 << 20});
        void* a = heap.allocate(48).value();
        BOOST_REQUIRE(heap.free(a));
        const auto fake = reinterpret_cast<std::uintptr_t>(target + 64);
        std::memcpy(a, &fake, sizeof fake); // the write after free: the cache link
        auto p1 = heap.allocate(48);
        BOOST_TEST((p1 && *p1 == a));
        BOOST_TEST(fails_with(heap.allocate(48), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
    }
}

namespace {

// What a caller can compute from what the heap shows it, under the derivation of the heap's two
// secrets this test guards against: the link key as mix(cookie ^ constant), with mix splitmix64's
// finaliser, which can be run backwards (each step is a bijection).
constexpr std::uint64_t inverse_of_odd(std::uint64_t a) {
    std::uint64_t x = a; // Newton's iteration: each step doubles the bits of a * x that are 1
    for (int i = 0; i < 6; ++i)
        x *= 2 - a * x;
    return x;
}
constexpr std::uint64_t undo_xorshift(std::uint64_t y, int shift) {
    std::uint64_t x = y;
    for (int done = shift; done < 64; done += shift)
        x = y ^ (x >> shift);
    return x;
}
constexpr std::uint64_t unmix(std::uint64_t x) {
    x = undo_xorshift(x, 31);
    x *= inverse_of_odd(0x94d049bb133111ebu);
    x = undo_xorshift(x, 27);
    x *= inverse_of_odd(0xbf58476d1ce4e5b9u);
    return undo_xorshift(x, 30);
}
static_assert(unmix(0x5692161d100b05e5u) == 1); // splitmix64's finaliser of 1
std::uint64_t rotl32(std::uint64_t x) {
    return (x << 32) | (x >> 32);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_block_handed_out_does_not_give_the_header_seal_away) {
    // A block carved from the bins still holds its free-list links, encoded: a null link is the
    // link key mixed with the slot's address, so the caller of allocate reads the key in its own
    // block. The key was derived from the cookie that seals every header (by an invertible mix), so
    // the cookie followed, and with it the seal of any header the caller wanted to forge (a fake
    // cached block inside a live one, handed out by a poisoned link). Now the two are drawn apart:
    // the seal computed from the key is not the header's.
    if constexpr (!on_windows) {
        int matches = 0;
        for (int round = 0; round < 8; ++round) {
            win32_heap heap;
            auto* p = static_cast<unsigned char*>(heap.allocate(segment_block).value());
            const auto at = reinterpret_cast<std::uintptr_t>(p);
            std::uint64_t link = 0; // links(h).next: the first 8 bytes of the payload
            std::memcpy(&link, p, sizeof link);
            const std::uint64_t key = link ^ rotl32(at); // the encoded null link
            const std::uint64_t cookie = unmix(key) ^ 0x2545f4914f6cdd1du;
            const unsigned char* h = p - 16; // the header: its sealed word, then its seal
            std::uint64_t word = 0;
            std::uint32_t seal = 0;
            std::memcpy(&word, h, sizeof word);
            std::memcpy(&seal, h + 12, sizeof seal);
            const std::uint64_t x =
                (word ^ cookie ^ rotl32(reinterpret_cast<std::uintptr_t>(h))) * 0x9e3779b97f4a7c15u;
            matches += (static_cast<std::uint32_t>(x >> 32) | 1u) == seal ? 1 : 0;
        }
        BOOST_TEST(matches == 0);
    }
}

BOOST_AUTO_TEST_CASE(walk_and_statistics_of_a_damaged_heap_report_heap_corrupt) {
    // walk_damaged: walk() stopped at the damaged header and succeeded with a truncated list.
    if constexpr (!on_windows) {
        win32_heap heap;
        unsigned char* blocks[10];
        for (auto& b : blocks)
            b = static_cast<unsigned char*>(heap.allocate(segment_block).value());
        blocks[2][-16] ^= 1; // one bit of block 2's header
        BOOST_TEST(fails_with(heap.walk(), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.statistics(), errc::heap_corrupt));
    }
}

BOOST_AUTO_TEST_CASE(damage_found_is_sticky_until_release_all_rebuilds_the_heap) {
    if constexpr (!on_windows) {
        win32_heap heap;
        auto* a = static_cast<unsigned char*>(heap.allocate(segment_block).value());
        void* b = heap.allocate(1200).value();
        a[-16] ^= 0x40; // a's size
        BOOST_TEST(fails_with(heap.free(a), errc::heap_corrupt));
        a[-16] ^= 0x40; // repaired: too late, the heap has seen it
        BOOST_TEST(fails_with(heap.allocate(16), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.allocate(5000), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.free(b), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.size(b), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.reallocate(b, 300), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.walk(), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.compact(), errc::heap_corrupt));
        BOOST_TEST(!heap.owns(b));
        BOOST_TEST(heap.release_all().has_value());
        BOOST_TEST(heap.validate().has_value());
        void* c = heap.allocate(100).value();
        BOOST_TEST(heap.free(c).has_value());
        BOOST_TEST(heap.validate().has_value());
    }
}

BOOST_AUTO_TEST_CASE(an_underrun_of_the_first_block_into_the_heap_object_is_found) {
    // The heap object sits right before the first block; the 16 bytes between are a guard.
    if constexpr (!on_windows) {
        win32_heap heap;
        auto* first = static_cast<unsigned char*>(heap.allocate(segment_block).value());
        BOOST_TEST(heap.validate().has_value());
        first[-17] ^= 0x20; // the byte before the block's header
        BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.allocate(5000), errc::heap_corrupt));
        // release_all will not rebuild a heap whose object is damaged: it says so, and every block
        // stays where it was (it once answered success, having freed nothing).
        fill(first, 64, 9);
        BOOST_TEST(fails_with(heap.release_all(), errc::heap_corrupt));
        BOOST_TEST(filled(first, 64, 9));
        first[-17] ^= 0x20;
        BOOST_TEST(heap.release_all().has_value()); // the guard holds again: the heap is rebuilt
        BOOST_TEST(heap.validate().has_value());
    }
}

// --- small blocks in pages (docs/private_heap.md, "Small blocks in pages") ---------------------

namespace {

// The layout the page tests reach into: 4 MiB page segments aligned to 4 MiB, 64 KiB slots, one
// 64-byte descriptor per slot from byte 64 of the segment.
constexpr std::uintptr_t page_segment_bytes = std::uintptr_t{4} << 20;
unsigned char* descriptor_of(const void* block) {
    const auto a = reinterpret_cast<std::uintptr_t>(block);
    const std::uintptr_t base = a & ~(page_segment_bytes - 1);
    return reinterpret_cast<unsigned char*>(base + 64 + ((a - base) >> 16) * 64);
}

} // namespace

BOOST_AUTO_TEST_CASE(small_blocks_have_no_header_and_keep_their_exact_size) {
    if constexpr (!on_windows) {
        win32_heap heap;
        auto* a = static_cast<unsigned char*>(heap.allocate(20).value());
        auto* b = static_cast<unsigned char*>(heap.allocate(17).value());
        BOOST_TEST(b - a == 32); // one 32-byte block after the other, nothing between
        BOOST_TEST(heap.size(a).value() == 20u);
        BOOST_TEST(heap.size(b).value() == 17u);
        // In place within the block's size, exactly; not past it.
        BOOST_TEST(heap.resize_in_place(a, 32).has_value());
        BOOST_TEST(heap.size(a).value() == 32u);
        BOOST_TEST(fails_with(heap.resize_in_place(a, 33), errc::cannot_resize_in_place));
        BOOST_TEST(heap.resize_in_place(a, 1).has_value());
        BOOST_TEST(heap.size(a).value() == 1u);
        auto moved = heap.reallocate(a, 500);
        BOOST_REQUIRE(moved);
        BOOST_TEST(heap.size(*moved).value() == 500u);
        BOOST_TEST(heap.validate().has_value());
        const auto stats = heap.statistics().value();
        BOOST_TEST(stats.blocks_in_use == 2u);
        BOOST_TEST(stats.bytes_in_use == 517u);
    }
}

BOOST_AUTO_TEST_CASE(a_double_free_of_a_page_block_is_reported) {
    if constexpr (!on_windows) {
        win32_heap heap;
        auto* a = static_cast<unsigned char*>(heap.allocate(48).value());
        auto* b = static_cast<unsigned char*>(heap.allocate(48).value());
        BOOST_TEST(heap.free(a).has_value());
        BOOST_TEST(fails_with(heap.free(a), errc::double_free));
        BOOST_TEST(fails_with(heap.size(a), errc::double_free));
        BOOST_TEST(fails_with(heap.free(b + 16), errc::foreign_block)); // inside a block in use
        BOOST_TEST(fails_with(heap.free(b + 1), errc::foreign_block));
        BOOST_TEST(!heap.owns(a));
        BOOST_TEST(heap.owns(b));
        BOOST_TEST(heap.validate().has_value()); // nothing was changed
        BOOST_TEST(heap.free(b).has_value());
    }
}

BOOST_AUTO_TEST_CASE(a_poisoned_link_inside_a_page_is_refused_not_followed) {
    if constexpr (!on_windows) {
        alignas(16) static unsigned char target[256];
        for (const bool junk : {false, true}) {
            win32_heap heap;
            void* keep = heap.allocate(48).value();
            void* a = heap.allocate(48).value();
            BOOST_REQUIRE(heap.free(a));
            const auto fake =
                junk ? std::uintptr_t{0x1234567} : reinterpret_cast<std::uintptr_t>(target + 64);
            std::memcpy(a, &fake, sizeof fake); // the write after free: the link
            // The link is checked before the block it leads from is handed out.
            BOOST_TEST(fails_with(heap.allocate(48), errc::heap_corrupt));
            BOOST_TEST(fails_with(heap.allocate(48), errc::heap_corrupt));
            BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
            BOOST_TEST(fails_with(heap.free(keep), errc::heap_corrupt));
            BOOST_TEST(heap.release_all().has_value());
            BOOST_TEST(heap.validate().has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_replayed_link_naming_a_block_in_use_never_hands_it_out_twice) {
    // A link written back into its own slot from an earlier time decodes (same key, same slot)
    // to a block that is now in use. The heap checks each head before handing it out, so that
    // block is refused, never handed out a second time, and the damage is reported.
    if constexpr (!on_windows) {
        win32_heap heap;
        void* a = heap.allocate(48).value();
        void* b = heap.allocate(48).value();
        BOOST_REQUIRE(heap.free(b));
        BOOST_REQUIRE(heap.free(a)); // a's link now says "next: b"
        std::uintptr_t then = 0;
        std::memcpy(&then, a, sizeof then);
        BOOST_REQUIRE(heap.allocate(48).value() == a);
        BOOST_REQUIRE(heap.allocate(48).value() == b); // b in use from here on
        BOOST_REQUIRE(heap.free(a));                   // a's link: the end of the list
        std::memcpy(a, &then, sizeof then);            // the write after free: "next: b" again
        bool refused = false;
        for (int i = 0; i < 3 && !refused; ++i) {
            auto c = heap.allocate(48);
            if (c)
                BOOST_TEST(*c != b);
            else
                refused = c.error() == errc::heap_corrupt;
        }
        BOOST_TEST(refused);
        BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
        BOOST_TEST(heap.release_all().has_value());
        BOOST_TEST(heap.validate().has_value());
    }
}

BOOST_AUTO_TEST_CASE(a_write_over_a_remotely_freed_block_is_found_when_it_is_adopted) {
    // A block freed by a thread of another front waits on its page's remote list, linked through
    // its first word (encoded as the free list's links). A write after free there is found when
    // the owner adopts the list: by validate (which adopts every list), or by the owner's next
    // allocation from that page; never followed to a block that is not pending.
    if constexpr (!on_windows) {
        for (const bool by_owner : {false, true}) {
            win32_heap heap;
            void* p = nullptr;
            std::atomic<int> step{0};
            bool refused = false;
            std::thread owner([&] {
                p = heap.allocate(48).value_or(nullptr);
                step.store(1, std::memory_order_release);
                while (step.load(std::memory_order_acquire) != 2)
                    std::this_thread::yield();
                if (by_owner)
                    refused = fails_with(heap.allocate(48), errc::heap_corrupt);
            });
            while (step.load(std::memory_order_acquire) != 1)
                std::this_thread::yield();
            BOOST_REQUIRE(p);
            (void)heap.allocate(16); // this thread takes a front of its own while the owner runs
            BOOST_REQUIRE(heap.free(p));
            std::uint64_t link;
            std::memcpy(&link, p, sizeof link);
            link ^= 0x0101; // another index, the same old state: a link to a block never pending
            std::memcpy(p, &link, sizeof link);
            step.store(2, std::memory_order_release);
            owner.join();
            if (by_owner)
                BOOST_TEST(refused);
            BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
            BOOST_TEST(heap.release_all().has_value());
            BOOST_TEST(heap.validate().has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(damage_found_on_a_front_leaves_the_caches_to_the_heap_s_lock) {
    // A thread that finds damage holding only its own front used to empty the front end's caches,
    // which belong to the heap's lock: a data race (ThreadSanitizer) with another thread freeing a
    // small block of the segments into them under that lock. The caches now test the damage
    // themselves. The flags are relaxed on purpose, as two unrelated threads would be: nothing
    // orders the two threads' calls, so ThreadSanitizer sees any access they share unlocked.
    if constexpr (!on_windows) {
        win32_heap heap;
        std::atomic<int> go{0}, done{0};
        bool resized = false, freed = false;
        std::thread other([&] {
            while (go.load(std::memory_order_relaxed) == 0)
                std::this_thread::yield();
            // A small block of a segment: a 2000-byte block shrunk in place; its free goes to the
            // front end's cache of its class.
            void* q = heap.allocate(2000).value_or(nullptr);
            resized = q && heap.resize_in_place(q, 100).has_value();
            freed = q && heap.free(q).has_value();
            done.store(1, std::memory_order_relaxed);
        });
        void* p = heap.allocate(64).value(); // a page of this thread's front
        go.store(1, std::memory_order_relaxed);
        while (done.load(std::memory_order_relaxed) == 0)
            std::this_thread::yield();
        BOOST_REQUIRE(heap.free(p));
        std::memset(p, 0x41, 8); // a write after free over its encoded link
        // Found on this thread's front, holding nothing else.
        BOOST_TEST(fails_with(heap.allocate(64), errc::heap_corrupt));
        other.join();
        BOOST_TEST(resized);
        BOOST_TEST(freed);
        BOOST_TEST(fails_with(heap.allocate(100), errc::heap_corrupt)); // the cache stays shut
        BOOST_TEST(fails_with(heap.allocate(2000), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
        BOOST_TEST(heap.release_all().has_value());
        BOOST_TEST(heap.validate().has_value());
    }
}

BOOST_AUTO_TEST_CASE(a_write_over_a_page_descriptor_is_found) {
    // Every byte of a descriptor that describes the page (its area, state bytes, block size,
    // reciprocal, capacity, class, owner front, seal), each on a heap of its own; and the
    // segment's header.
    if constexpr (!on_windows) {
        const int sealed[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
                              14, 15, 32, 33, 34, 35, 36, 37, 38, 39, 52, 53, 54, 55,
                              60, 61, 62, 63, -1, -2, -3, -4, -5, -6, -7, -8};
        for (const int at : sealed) {
            win32_heap heap;
            auto* p = static_cast<unsigned char*>(heap.allocate(48).value());
            BOOST_TEST(heap.validate().has_value());
            unsigned char* d = descriptor_of(p);
            const auto segment = reinterpret_cast<unsigned char*>(
                reinterpret_cast<std::uintptr_t>(p) & ~(page_segment_bytes - 1));
            unsigned char& byte = at >= 0 ? d[at] : segment[-at - 1];
            byte ^= 0x21;
            BOOST_TEST_INFO("byte " << at << " (negative: of the segment's header)");
            BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
            BOOST_TEST(!heap.owns(p));
            if (at >= 0)
                BOOST_TEST(fails_with(heap.free(p), errc::heap_corrupt));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_page_descriptor_s_counts_are_checked_before_they_are_followed) {
    // The counts of a descriptor (bump, used, free_head) are not sealed: they change with every
    // allocation and free, and are bounds-checked where they are used. Written over with values
    // far past the page (the free list's head, the blocks handed out), they must be refused before
    // any block is read through them: the allocations of the class and the frees of its blocks
    // fail with heap_corrupt, or, before the damage is found, hand out blocks of the page only;
    // validate finds it. (Without the checks coming first, the allocation read a link 768 MiB past
    // the page, and crashed.)
    if constexpr (!on_windows) {
        struct damage {
            std::size_t at; // page_desc::bump, page_desc::free_head
            std::uint32_t value;
            bool free_one_first; // a free list to follow (free_head = 0 otherwise)
        };
        const damage cases[] = {{48, 0x00ffffffu, false}, {48, 0x00ffffffu, true},
                                {40, 0x00ffffffu, false}, {40, 0x00ffffffu, true},
                                {40, 0xffffffffu, true},  {48, 4000u, true}};
        for (const damage& c : cases) {
            win32_heap heap;
            auto* p = static_cast<unsigned char*>(heap.allocate(48).value());
            auto* q = static_cast<unsigned char*>(heap.allocate(48).value());
            if (c.free_one_first)
                BOOST_REQUIRE(heap.free(q));
            unsigned char* d = descriptor_of(p);
            const auto page = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{0xffff};
            std::memcpy(d + c.at, &c.value, sizeof c.value);
            BOOST_TEST_INFO("byte " << c.at << " = " << c.value
                                    << (c.free_one_first ? ", a block freed" : ""));
            bool refused = false;
            for (int i = 0; i < 4 && !refused; ++i) {
                auto r = heap.allocate(48);
                if (r) {
                    const auto a = reinterpret_cast<std::uintptr_t>(*r);
                    BOOST_TEST((a >= page && a < page + 0x10000 && *r != p));
                } else {
                    refused = r.error() == errc::heap_corrupt;
                }
            }
            BOOST_TEST(refused);
            BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
            BOOST_TEST(fails_with(heap.free(p), errc::heap_corrupt));
            BOOST_TEST(heap.release_all().has_value());
            BOOST_TEST(heap.validate().has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_bump_written_down_never_hands_a_live_block_out_again) {
    // A page hands out its blocks in order from bump (not sealed) while its free list is empty. A
    // bump written down (here by one bit, 3 to 2) made the next allocation hand out the third
    // block, still live, a second time. Now a block taken from bump must have state byte 0 (never
    // handed out), or the heap is damaged. On a heap without serialisation (the inline path) and
    // on a serialized one in a process with threads (the fronts).
    if constexpr (!on_windows) {
        std::thread([] {}).join(); // a second thread, once: the serialized heap runs on fronts
        for (const bool serialize : {false, true}) {
            win32_heap heap(memmgr::win32_heap_options{.serialize = serialize});
            void* blocks[3] = {};
            for (int i = 0; i < 3; ++i) {
                blocks[i] = heap.allocate(16).value();
                fill(blocks[i], 16, static_cast<unsigned char>(i + 1));
            }
            descriptor_of(blocks[0])[40] ^= 1; // page_desc::bump, 3 -> 2
            BOOST_TEST_INFO((serialize ? "serialized" : "no serialisation"));
            auto again = heap.allocate(16);
            BOOST_TEST(fails_with(again, errc::heap_corrupt));
            if (again)
                BOOST_TEST((*again != blocks[2]));
            for (int i = 0; i < 3; ++i)
                BOOST_TEST(filled(blocks[i], 16, static_cast<unsigned char>(i + 1)));
            BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
            BOOST_TEST(heap.release_all().has_value());
            BOOST_TEST(heap.validate().has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_page_descriptor_s_links_are_checked_before_they_are_written_through) {
    // A page leaves its class queue when it fills up, and its full list when a block of it is
    // freed: an unlink, which writes into the neighbours its links name. Those links are not
    // sealed: written over to name memory outside the heap (here a buffer on the stack, where an
    // unchecked unlink writes a pointer), they are refused before anything is written through
    // them, and the heap is damaged.
    if constexpr (!on_windows) {
        constexpr std::size_t capacity = 64 * 1024 / 48; // blocks of 48 bytes in a page
        for (const bool full_list : {false, true}) {
            std::array<unsigned char, 64> victim;
            victim.fill(0xab);
            win32_heap heap;
            std::vector<void*> blocks;
            for (std::size_t i = 0; i + 1 < capacity; ++i)
                blocks.push_back(heap.allocate(48).value());
            unsigned char* d = descriptor_of(blocks[0]);
            const auto fake = reinterpret_cast<std::uintptr_t>(victim.data());
            if (!full_list) {
                std::memcpy(d + 16, &fake, sizeof fake); // page_desc::next
                (void)heap.allocate(48);                 // the page fills: out of its queue
            } else {
                blocks.push_back(heap.allocate(48).value()); // full: on its full list
                std::memcpy(d + 24, &fake, sizeof fake);     // page_desc::prev
                (void)heap.free(blocks.back());              // back to its queue
            }
            BOOST_TEST_INFO((full_list ? "leaving the full list" : "leaving the queue"));
            BOOST_TEST(std::ranges::all_of(victim, [](unsigned char b) { return b == 0xab; }));
            BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
            BOOST_TEST(fails_with(heap.allocate(48), errc::heap_corrupt));
            BOOST_TEST(heap.release_all().has_value());
            BOOST_TEST(heap.validate().has_value());
        }
    }
}

#if !defined(_WIN32) // mmap
BOOST_AUTO_TEST_CASE(a_queue_link_to_no_descriptor_s_place_is_refused_before_it_is_read) {
    // The walks of validate and compact take a class queue's link only to a descriptor's place in
    // a page segment's metadata. A link written to name the segment's last 16 bytes, inside the
    // segment, made them read that "descriptor"'s seal 44 bytes past the segment's end: here an
    // inaccessible page, put there when that address is free, where the read faulted before.
    for (const bool by_compact : {false, true}) {
        win32_heap heap;
        void* p = heap.allocate(48).value();
        const auto base = reinterpret_cast<std::uintptr_t>(p) & ~(page_segment_bytes - 1);
        void* const want = reinterpret_cast<void*>(base + page_segment_bytes);
        void* fence =
            ::mmap(want, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (fence != MAP_FAILED && fence != want) { // a kernel that took the address as a hint
            ::munmap(fence, 4096);
            fence = MAP_FAILED;
        }
        BOOST_TEST_MESSAGE("an inaccessible page after the segment: " << (fence != MAP_FAILED));
        const std::uintptr_t fake = base + page_segment_bytes - 16;
        std::memcpy(descriptor_of(p) + 16, &fake, sizeof fake); // page_desc::next
        BOOST_TEST_INFO((by_compact ? "compact" : "validate"));
        if (by_compact)
            BOOST_TEST(fails_with(heap.compact(), errc::heap_corrupt));
        else
            BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
        if (fence != MAP_FAILED)
            ::munmap(fence, 4096);
    }
}
#endif

BOOST_AUTO_TEST_CASE(a_page_is_retired_only_when_its_state_bytes_say_it_is_empty) {
    // A page whose count of blocks in use (not sealed) was written down to 0 while it holds live
    // blocks: compact() retires empty pages and gives their memory back, so the count is checked
    // against the page's state bytes first, all of them up to the page's sealed capacity. The live
    // blocks keep their bytes and compact says heap_corrupt. (Trusting the count, compact zeroed
    // them; and with bump written down to 0 too, one 8-byte write, the state bytes below bump were
    // none.)
    if constexpr (!on_windows) {
        for (const std::size_t from : {std::size_t{44}, std::size_t{40}}) {
            win32_heap heap;
            void* blocks[3] = {};
            for (int i = 0; i < 3; ++i) {
                blocks[i] = heap.allocate(48).value();
                fill(blocks[i], 48, static_cast<unsigned char>(i + 1));
            }
            // page_desc::used, or page_desc::bump and page_desc::used
            std::memset(descriptor_of(blocks[0]) + from, 0, 48 - from);
            BOOST_TEST_INFO("zeroed from descriptor byte " << from);
            BOOST_TEST(fails_with(heap.compact(), errc::heap_corrupt));
            for (int i = 0; i < 3; ++i)
                BOOST_TEST(filled(blocks[i], 48, static_cast<unsigned char>(i + 1)));
            BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
            BOOST_TEST(heap.release_all().has_value());
            BOOST_TEST(heap.validate().has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(a_state_byte_of_a_block_never_handed_out_is_damage) {
    // A page hands its blocks out in order: the state bytes from the first never handed out to the
    // page's end must be 0 (walk and validate check them a word at a time). One byte set among
    // them, at the start, in the middle, in the last word and in the tail past it, each on a heap
    // of its own, is found by each (the first damage found is sticky: one question per heap).
    if constexpr (!on_windows) {
        constexpr std::size_t capacity = 64 * 1024 / 48; // 1,365 blocks of 48 bytes
        for (const std::size_t at : {std::size_t{1}, std::size_t{9}, std::size_t{700}, capacity - 8,
                                     capacity - 2, capacity - 1})
            for (const bool by_walk : {false, true}) {
                win32_heap heap;
                auto* p = static_cast<unsigned char*>(heap.allocate(48).value());
                std::uint8_t* states = nullptr;
                std::memcpy(&states, descriptor_of(p) + 8, sizeof states); // page_desc::states
                BOOST_TEST_INFO("state byte " << at << (by_walk ? ", walk" : ", validate"));
                BOOST_TEST(states[at] == 0);
                states[at] = 1;
                if (by_walk)
                    BOOST_TEST(fails_with(heap.walk(), errc::heap_corrupt));
                else
                    BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
            }
    }
}

BOOST_AUTO_TEST_CASE(compact_gives_back_the_pages_that_emptied) {
    if constexpr (!on_windows) {
        win32_heap heap;
        std::vector<void*> blocks;
        for (std::size_t i = 0; i < 200'000; ++i)
            blocks.push_back(heap.allocate(16 + i % 100).value());
        for (void* b : blocks)
            BOOST_REQUIRE(heap.free(b));
        // A segment whose pages all emptied went as its last page did, except the last segment;
        // compact() takes that one too.
        const std::size_t before = heap.statistics().value().free_bytes;
        BOOST_TEST(before < std::size_t{12} << 20); // of the 13 MB that the blocks filled
        BOOST_TEST(heap.compact().has_value());
        BOOST_TEST(heap.validate().has_value());
        BOOST_TEST(heap.statistics().value().free_bytes < std::size_t{1} << 20);
        void* again = heap.allocate(64).value();
        BOOST_TEST(heap.size(again).value() == 64u);
        BOOST_TEST(heap.walk().has_value());
    }
}

#if !defined(_WIN32) // mincore
BOOST_AUTO_TEST_CASE(compact_gives_back_the_slots_that_held_pages_and_keeps_the_rest) {
    // Pages of three classes in one page segment, one block kept alive in the first: compact
    // retires the emptied pages, gives their slots' memory back (mincore: not resident), and keeps
    // the live page's memory and contents. Slots that never held a page are left alone (no system
    // call: docs/private_heap.md, "Giving memory back"), which mincore cannot tell apart.
    win32_heap heap;
    constexpr std::size_t page = 64 * 1024;
    std::vector<void*> blocks;
    void* kept = heap.allocate(32).value();
    fill(kept, 32, 7);
    for (const std::size_t n : {std::size_t{32}, std::size_t{512}, std::size_t{1024}})
        for (std::size_t i = 0; i < 3 * page / n; ++i) // three pages of each class
            blocks.push_back(heap.allocate(n).value());
    std::vector<std::uintptr_t> emptied;
    for (void* b : blocks) {
        const std::uintptr_t slot = reinterpret_cast<std::uintptr_t>(b) & ~(page - 1);
        if (slot != (reinterpret_cast<std::uintptr_t>(kept) & ~(page - 1)) &&
            (emptied.empty() || emptied.back() != slot))
            emptied.push_back(slot);
        std::memset(b, 0xab, 16); // resident, whatever the heap did before
        BOOST_REQUIRE(heap.free(b));
    }
    BOOST_REQUIRE(emptied.size() >= 6);
    BOOST_TEST(heap.compact().has_value());
    BOOST_TEST(heap.validate().has_value());
    const auto os_page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    for (const std::uintptr_t slot : emptied) {
        std::vector<unsigned char> resident(page / os_page);
        BOOST_REQUIRE(::mincore(reinterpret_cast<void*>(slot), page, resident.data()) == 0);
        std::size_t in_core = 0;
        for (const unsigned char r : resident)
            in_core += r & 1;
        BOOST_TEST_INFO("slot at " << std::hex << slot);
        BOOST_TEST(in_core == 0u);
    }
    BOOST_TEST(filled(kept, 32, 7));
    BOOST_TEST(heap.size(kept).value() == 32u);
}
#endif

BOOST_AUTO_TEST_CASE(compact_checks_every_descriptor_it_follows) {
    // A page with free blocks sits in its class's queue, which compact walks to retire the empty
    // pages: a descriptor damaged there (any sealed byte) is refused before compact follows it,
    // and the heap says heap_corrupt from then on. Each byte on a heap of its own, compact asked
    // first (the damage is then not yet known).
    if constexpr (!on_windows) {
        for (const int at : {0, 8, 16, 24, 32, 36, 52, 54, 55, 60}) {
            win32_heap heap;
            void* p = heap.allocate(48).value();
            descriptor_of(p)[at] ^= 0x21;
            BOOST_TEST_INFO("descriptor byte " << at);
            BOOST_TEST(fails_with(heap.compact(), errc::heap_corrupt));
            BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
        }
    }
}

// The fit (docs/private_heap.md, "Free lists"): of the free blocks of a logarithmic bin that hold
// a request, the smallest of those probed is split, whether the request's own bin holds them or the
// next non-empty one does, so that the bigger block stays whole for a request that needs it. A full
// fixed heap with two such blocks, the bigger freed last (the head of the list): first fit split
// the bigger one and the next request, which only it held, failed with heap_full.
BOOST_AUTO_TEST_CASE(the_smallest_block_that_fits_is_split_and_the_bigger_one_kept) {
    if constexpr (!on_windows) {
        // 3088 bytes: the 3104-byte block's own bin (3072 to 3583 bytes), which it fills but for a
        // 16-byte slack; 2000 bytes: a bin below it, empty.
        for (const std::size_t first : {std::size_t{3088}, std::size_t{2000}}) {
            BOOST_TEST_INFO("first request " << first);
            win32_heap heap({.initial_size = 64 * 1024, .maximum_size = 64 * 1024});
            std::vector<void*> kept;
            auto keep = [&](std::size_t n) -> void* {
                auto p = heap.allocate(n);
                if (!p)
                    return nullptr;
                kept.push_back(*p);
                return *p;
            };
            void* smaller = keep(3088); // blocks of 3104 and 3408 bytes, one bin
            keep(16);                   // separators: the freed blocks must not merge
            void* bigger = keep(3392);
            keep(16);
            while (keep(1000))
                ;
            while (keep(16))
                ;
            for (void* p : {smaller, bigger}) {
                std::erase(kept, p);
                BOOST_TEST(heap.free(p).has_value());
            }
            void* a = keep(first);
            BOOST_TEST(a == smaller);
            void* b = keep(3392); // only the bigger block holds it
            BOOST_TEST(b == bigger);
            BOOST_TEST(heap.validate().has_value());
            for (void* p : kept)
                BOOST_TEST(heap.free(p).has_value());
        }
    }
}

#if !defined(_WIN32)
BOOST_AUTO_TEST_CASE(terminate_on_corruption_ends_the_process_at_the_first_damage) {
    // In a child process: the heap must abort it, with one line on stderr.
    int out[2];
    BOOST_REQUIRE(::pipe(out) == 0);
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        std::signal(SIGABRT, SIG_DFL); // Boost.Test's handler would catch the abort and carry on
        ::dup2(out[1], 2);
        win32_heap heap({.terminate_on_corruption = true});
        void* a = heap.allocate(48).value();
        (void)heap.free(a);
        const std::uintptr_t junk = 0x1234567;
        std::memcpy(a, &junk, sizeof junk);
        (void)heap.allocate(48);
        (void)heap.allocate(48); // the poisoned link: the process ends here
        ::_exit(0);
    }
    ::close(out[1]);
    std::string said;
    char buffer[256];
    for (ssize_t got; (got = ::read(out[0], buffer, sizeof buffer)) > 0;)
        said.append(buffer, static_cast<std::size_t>(got));
    ::close(out[0]);
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    BOOST_TEST(WIFSIGNALED(status));
    BOOST_TEST((WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT));
    BOOST_TEST(said.find("corruption") != std::string::npos, "stderr: " << said);
}
#endif

// An overflow of up to 16 bytes past any block stays in the block's own mapping: a segment's end
// marker, and since the tenth round a large block's tail and the last page's tail. A large block
// whose size plus header was a whole number of pages ended at its mapping's end, and mmap often
// places a heap's first segment (the heap object at its start: lock, fork links, page directory)
// right after it: one byte past the block hung the next free, 16 let destroy() write through a
// forged link outside the heap.
BOOST_AUTO_TEST_CASE(a_large_block_keeps_16_bytes_of_its_own_mapping_after_its_end) {
    if constexpr (!on_windows) {
        win32_heap heap;
        constexpr std::size_t page = 4096;
        for (const std::size_t n : {129 * page - 16, 150 * page - 16, 200 * page - 17}) {
            auto* p = static_cast<unsigned char*>(heap.allocate(n).value());
            auto overhead = [&] {
                const auto entries =
                    heap.walk().value(); // a copy: value() of the temporary dangles
                for (const memmgr::heap_entry& e : entries)
                    if (e.address == p)
                        return e.overhead;
                return std::size_t{0};
            };
            BOOST_TEST_CONTEXT("a large block of " << n << " bytes") {
                BOOST_TEST(overhead() >= 32u); // the header, and 16 bytes after the payload
                std::memset(p + n, 0x41, 16);  // the overflow
                BOOST_TEST(heap.validate().has_value());
                auto q = heap.reallocate(p, n + page); // grown: the tail again
                BOOST_REQUIRE(q);
                p = static_cast<unsigned char*>(*q);
                BOOST_TEST(overhead() >= 32u);
                BOOST_TEST(heap.free(p).has_value());
            }
        }
        BOOST_TEST(heap.validate().has_value());
    }
}

// How far past a block's start the damage the engine survives reaches: 16 bytes past its end (an
// overflow), or offset 47 + 8 bytes (a write after free, whatever the block's size).
constexpr std::size_t damage_reach(std::size_t n) {
    return n + 16 > 47 + 8 ? n + 16 : 47 + 8;
}

// The same for blocks of pages: in a page segment's last slot, a size that divides 64 KiB made the
// last block end at the segment's end, and the last 16-byte block ended 16 bytes before it, where
// another segment (its header: seal, page count, the state-chunk bitmap the engine trusted when it
// started a page) may be mapped.
BOOST_AUTO_TEST_CASE(no_block_of_a_page_ends_within_16_bytes_of_its_segment_s_end) {
    if constexpr (!on_windows) {
        constexpr std::uintptr_t segment = 4 * 1024 * 1024;
        for (const std::size_t n : {std::size_t{1024}, std::size_t{16}}) {
            win32_heap heap;
            std::vector<void*> blocks;
            std::size_t too_close = 0;
            const std::size_t count = 61 * (64 * 1024 / n); // more than a segment's 60 pages hold
            blocks.reserve(count);
            for (std::size_t i = 0; i < count; ++i) {
                void* p = heap.allocate(n).value();
                blocks.push_back(p);
                const auto a = reinterpret_cast<std::uintptr_t>(p);
                too_close += (a % segment) + damage_reach(n) > segment;
            }
            BOOST_TEST(too_close == 0u, "blocks of " << n << " bytes: " << too_close);
            for (void* p : blocks)
                BOOST_TEST_REQUIRE(heap.free(p).has_value());
            BOOST_TEST(heap.validate().has_value());
        }
    }
}

// And for the segments of the bins: a fixed heap's last block, 16 bytes, ended 32 bytes before the
// segment's end (its header, its payload, then the 16-byte end marker), so a write after free at
// its offset 32 reached the next mapping, often the heap object (a lock word: the next allocation
// hung). Every block of a full fixed heap now leaves the reach of that damage inside the segment.
BOOST_AUTO_TEST_CASE(the_damage_a_heap_survives_stays_inside_the_segment_of_its_block) {
    if constexpr (!on_windows) {
        constexpr std::size_t size = 64 * 1024;
        win32_heap heap{{.initial_size = size, .maximum_size = size}};
        const auto base = reinterpret_cast<std::uintptr_t>(heap.native_handle());
        std::vector<void*> blocks;
        std::size_t too_close = 0;
        while (auto p = heap.allocate(16)) { // the smallest blocks, up to the segment's end
            blocks.push_back(*p);
            too_close += reinterpret_cast<std::uintptr_t>(*p) - base + damage_reach(16) > size;
        }
        BOOST_TEST(blocks.size() > 1000u);
        BOOST_TEST(too_close == 0u);
        for (void* p : blocks)
            BOOST_TEST_REQUIRE(heap.free(p).has_value());
        BOOST_TEST(heap.validate().has_value());
    }
}

// The bitmap of a page segment's state chunks is not sealed, and a write past the end of the
// mapping before the segment reaches it. Zeroed, it let the next new page take the state bytes of
// a page in use: they were zeroed, and its live blocks could be handed out again. A new page now
// checks the bitmap against the sealed descriptors of the segment's pages first.
BOOST_AUTO_TEST_CASE(a_damaged_state_chunk_bitmap_is_found_before_a_page_is_started) {
    if constexpr (!on_windows) {
        win32_heap heap;
        auto* a = static_cast<unsigned char*>(heap.allocate(48).value());
        auto* b = static_cast<unsigned char*>(heap.allocate(48).value());
        const auto segment = reinterpret_cast<unsigned char*>(reinterpret_cast<std::uintptr_t>(a) &
                                                              ~(page_segment_bytes - 1));
        std::memset(segment + 16, 0, 8); // the bitmap's first word (seal 8 bytes, count 8)
        BOOST_TEST(fails_with(heap.allocate(200), errc::heap_corrupt)); // a page of a new class
        BOOST_TEST(fails_with(heap.free(a), errc::heap_corrupt));
        BOOST_TEST(fails_with(heap.free(a), errc::heap_corrupt)); // not a free, then a double one
        BOOST_TEST(fails_with(heap.validate(), errc::heap_corrupt));
        (void)b;
    }
}

BOOST_AUTO_TEST_SUITE_END()
