// memmgr:debug_heap on both legs: every corruption detected and reported with its block, the leak
// report, checkpoints and their differences, the break hook, walks, and use under the adapters.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <memory_resource>
#include <source_location>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/blocks.hpp"
#include "support/forking.hpp"

import memmgr;

using memmgr::block_type;
using memmgr::debug_problem;
using memmgr::debug_problem_kind;
using memmgr::errc;
using namespace memmgr_test;

namespace {

// A debug heap whose problems are recorded instead of aborting the test run.
template <class H = memmgr::crt_heap>
struct recorded : memmgr::debug_heap<H> {
    explicit recorded(const memmgr::debug_options& options = {}) : memmgr::debug_heap<H>(options) {
        this->set_problem_handler([this](const debug_problem& p) { problems.push_back(p); });
    }
    std::vector<debug_problem> problems;
};

// The bytes a debug heap keeps in front of its block p (header and front guard), as its walk says.
template <class Heap>
std::size_t front_of(const Heap& heap, const void* p) {
    const auto entries = heap.walk().value(); // a copy: value() of the temporary dangles
    for (const memmgr::heap_entry& e : entries)
        if (e.address == p)
            return e.overhead - heap.options().guard_size;
    return 0;
}

// Runs f on a thread of its own and waits for it; one that has not returned after a minute is
// taken to wait for ever (on a lock its own thread holds), and the run ends there: the stuck
// thread holds the heap's books, so no later test could use it.
template <class F>
void finishes(const char* what, F f) {
    std::atomic<bool> done{false};
    std::thread runner([&] {
        f();
        done.store(true, std::memory_order_release);
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done.load(std::memory_order_acquire)) {
        if (std::chrono::steady_clock::now() > deadline) {
            std::fprintf(stderr, "%s: never returned\n", what);
            std::abort();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    runner.join();
}

bool mentions(const std::string& text, std::string_view what) {
    return text.find(what) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(debug_heap_tests)

static_assert(memmgr::heap<memmgr::debug_heap<memmgr::crt_heap>>);
static_assert(memmgr::validating_heap<memmgr::debug_heap<memmgr::win32_heap>>);
static_assert(memmgr::walkable_heap<memmgr::debug_heap<memmgr::com_heap>>);

BOOST_AUTO_TEST_CASE(blocks_are_filled_and_guarded_as_the_crt_does) {
    recorded<> heap;
    auto p = heap.allocate(24);
    BOOST_REQUIRE(p);
    const auto* bytes = static_cast<const unsigned char*>(*p);
    for (std::size_t i = 0; i < 24; ++i)
        BOOST_TEST(bytes[i] == 0xCD);
    for (std::size_t i = 1; i <= 4; ++i)
        BOOST_TEST(bytes[-static_cast<std::ptrdiff_t>(i)] == 0xFD);
    for (std::size_t i = 24; i < 28; ++i)
        BOOST_TEST(bytes[i] == 0xFD);
    BOOST_TEST(aligned(*p, memmgr::crt_heap::guaranteed_alignment));
    BOOST_TEST(heap.size(*p).value() == 24u);
    BOOST_TEST(heap.check() == 0u);
    BOOST_TEST(heap.free(*p).has_value());
    BOOST_TEST(heap.problems.empty());
}

static_assert(memmgr::zeroing_heap<memmgr::debug_heap<memmgr::com_heap>>); // _calloc_dbg

BOOST_AUTO_TEST_CASE(allocate_zeroed_is_calloc_dbg_guarded_recorded_and_overflow_checked) {
    recorded<> heap;
    const auto before = heap.checkpoint();
    auto p = heap.allocate_zeroed(6, 4); // line recorded below
    const auto line = std::source_location::current().line() - 1;
    BOOST_REQUIRE(p);
    const auto* bytes = static_cast<const unsigned char*>(*p);
    for (std::size_t i = 0; i < 24; ++i)
        BOOST_TEST(bytes[i] == 0); // zeros, not allocated_fill
    for (std::size_t i = 24; i < 28; ++i)
        BOOST_TEST(bytes[i] == 0xFD); // guarded as allocate's blocks are
    BOOST_TEST(heap.size(*p).value() == 24u);
    auto typed = heap.allocate_zeroed(3, 5, block_type::client);
    BOOST_REQUIRE(typed);
    BOOST_TEST(static_cast<const unsigned char*>(*typed)[14] == 0);
    const auto blocks = heap.blocks_since(before);
    BOOST_REQUIRE(blocks.size() == 2u);
    BOOST_TEST(blocks[0].where.line() == line);
    BOOST_TEST((blocks[1].type == block_type::client));
    BOOST_TEST(blocks[1].size == 15u);
    // count x size that wraps, or exceeds the largest block: refused before any allocation, and no
    // request number is spent.
    const auto next = heap.checkpoint().next_request;
    BOOST_TEST(fails_with(heap.allocate_zeroed(SIZE_MAX / 2 + 1, 2), errc::size_overflow));
    BOOST_TEST(fails_with(heap.allocate_zeroed(2, memmgr::max_request_size), errc::size_overflow));
    BOOST_TEST(heap.checkpoint().next_request == next);
    // Zero objects: a real (empty) block, as calloc(0, n) may give.
    auto none = heap.allocate_zeroed(0, 8);
    BOOST_REQUIRE(none);
    BOOST_TEST(heap.size(*none).value() == 0u);
    for (void* q : {*p, *typed, *none})
        BOOST_TEST(heap.free(q).has_value());
    BOOST_TEST(heap.check() == 0u);
    BOOST_TEST(heap.problems.empty());
}

BOOST_AUTO_TEST_CASE(one_byte_past_the_end_is_reported_with_its_block) {
    recorded<> heap;
    auto p = heap.allocate(40); // this line is the block's location
    const auto line = __LINE__ - 1;
    BOOST_REQUIRE(p);
    static_cast<unsigned char*>(*p)[40] = 'x';
    BOOST_TEST(heap.check() == 1u);
    BOOST_REQUIRE(heap.problems.size() == 1u);
    const debug_problem& found = heap.problems[0];
    BOOST_TEST((found.kind == debug_problem_kind::overrun_after));
    BOOST_TEST(found.address == *p);
    BOOST_TEST(found.size == 40u);
    BOOST_TEST(found.request == 1u);
    BOOST_TEST(found.offset == 0u);
    BOOST_TEST(found.where.line() == line);
    const std::string text = memmgr::describe(found);
    BOOST_TEST(mentions(text, "overrun after block {1}"));
    BOOST_TEST(mentions(text, "40 bytes"));
    BOOST_TEST(mentions(text, "debug_heap.test.cpp(" + std::to_string(line) + ")"));
    BOOST_TEST(!heap.validate().has_value());
    BOOST_TEST(fails_with(heap.validate(*p), errc::heap_corrupt));

    // Freeing reports it again (the CRT does too) and still frees.
    BOOST_TEST(heap.free(*p).has_value());
    BOOST_TEST(heap.problems.size() == 2u);
    BOOST_TEST(heap.leaks().empty());
}

BOOST_AUTO_TEST_CASE(one_byte_before_the_start_is_reported) {
    recorded<> heap;
    auto p = heap.allocate(16);
    BOOST_REQUIRE(p);
    static_cast<unsigned char*>(*p)[-1] = 0;
    BOOST_TEST(heap.free(*p).has_value());
    BOOST_REQUIRE(heap.problems.size() == 1u);
    BOOST_TEST((heap.problems[0].kind == debug_problem_kind::overrun_before));
    BOOST_TEST(heap.problems[0].offset == 1u);
}

// The guards and the quarantine are scanned a word (and four words) at a time: every damaged
// position, in guards and blocks of lengths around those strides, is reported at its exact offset
// (before the block: the damaged byte nearest to it, counted from 1; after it and inside a
// quarantined block: from 0), and only the first one found.
BOOST_AUTO_TEST_CASE(every_damaged_byte_is_reported_at_its_offset) {
    for (const std::size_t guard : {1u, 7u, 8u, 9u, 31u, 32u, 33u, 40u, 64u}) {
        recorded<> heap({.guard_size = guard, .quarantine = 1});
        for (std::size_t at = 0; at < guard; ++at) {
            auto p = heap.allocate(24);
            BOOST_REQUIRE(p);
            auto* bytes = static_cast<unsigned char*>(*p);
            bytes[24 + at] = 0;
            bytes[-1 - static_cast<std::ptrdiff_t>(at)] = 0;
            if (at + 1 < guard) // a second, farther byte: the nearest one is reported
                bytes[-2 - static_cast<std::ptrdiff_t>(at)] = 0;
            heap.problems.clear();
            BOOST_TEST(heap.check() == 2u);
            BOOST_REQUIRE(heap.problems.size() == 2u);
            BOOST_TEST((heap.problems[0].kind == debug_problem_kind::overrun_before));
            BOOST_TEST(heap.problems[0].offset == at + 1);
            BOOST_TEST((heap.problems[1].kind == debug_problem_kind::overrun_after));
            BOOST_TEST(heap.problems[1].offset == at);
            // Mended, the block is clean again and goes without a report.
            bytes[24 + at] = 0xFD;
            std::memset(bytes - guard, 0xFD, guard);
            heap.problems.clear();
            BOOST_TEST(heap.free(*p).has_value());
            BOOST_TEST(heap.problems.empty());
        }
    }
    for (const std::size_t n : {1u, 8u, 13u, 32u, 33u, 64u, 71u, 100u}) {
        recorded<> heap({.quarantine = 1});
        for (std::size_t at = 0; at < n; ++at) {
            auto p = heap.allocate(n);
            BOOST_REQUIRE(p);
            BOOST_TEST(heap.free(*p).has_value());
            auto* bytes = static_cast<unsigned char*>(*p);
            bytes[at] = 0;
            if (at + 1 < n)
                bytes[n - 1] = 0; // a later byte too: the first one is reported
            heap.problems.clear();
            BOOST_TEST(heap.check() == 1u);
            BOOST_REQUIRE(heap.problems.size() == 1u);
            BOOST_TEST((heap.problems[0].kind == debug_problem_kind::written_after_free));
            BOOST_TEST(heap.problems[0].offset == at);
            std::memset(bytes, 0xDD, n); // mended before it leaves the quarantine
            heap.problems.clear();
            auto q = heap.allocate(8);
            BOOST_REQUIRE(q);
            BOOST_TEST(heap.free(*q).has_value()); // pushes p out of the quarantine
            BOOST_TEST(heap.problems.empty());
        }
    }
}

// An underrun longer than the front guard reaches the block's header: its seal tells, so the
// damage is reported as an overrun before the block and nothing is read, filled or freed through
// the damaged size (a 40-byte underrun once crashed check() and made free write wild).
BOOST_AUTO_TEST_CASE(an_underrun_into_the_header_is_reported_and_not_followed) {
    recorded<> heap({.quarantine = 2});
    auto p = heap.allocate(16);
    auto intact = heap.allocate(16);
    BOOST_REQUIRE(p);
    BOOST_REQUIRE(intact);
    std::memset(static_cast<unsigned char*>(*p) - 40, 'A', 40);
    BOOST_TEST(heap.check() == 1u);
    BOOST_TEST(!heap.validate().has_value());
    BOOST_TEST(fails_with(heap.size(*p), errc::heap_corrupt));
    BOOST_TEST(fails_with(heap.reallocate(*p, 32), errc::heap_corrupt));
    BOOST_TEST(fails_with(heap.free(*p), errc::heap_corrupt));
    BOOST_TEST(heap.owns(*p)); // refused: nothing was freed
    BOOST_REQUIRE(heap.problems.size() == 2u);
    for (const debug_problem& problem : heap.problems) {
        BOOST_TEST((problem.kind == debug_problem_kind::overrun_before));
        BOOST_TEST(problem.request == 0u); // its details are not trusted
        BOOST_TEST(problem.address == *p);
    }
    BOOST_TEST(mentions(memmgr::describe(heap.problems[0]), "overrun before"));
    auto walked = heap.walk();
    BOOST_TEST(walked.has_value());
    BOOST_TEST(heap.leaks().size() == 2u);
    BOOST_TEST(heap.free(*intact).has_value()); // the other blocks are unaffected
}

BOOST_AUTO_TEST_CASE(a_write_after_free_is_caught_by_the_quarantine) {
    recorded<> heap({.quarantine = 4});
    auto p = heap.allocate(32);
    BOOST_REQUIRE(p);
    BOOST_TEST(heap.free(*p).has_value());
    const auto* bytes = static_cast<const unsigned char*>(*p);
    BOOST_TEST(bytes[5] == 0xDD);           // still quarantined, filled
    static_cast<unsigned char*>(*p)[5] = 1; // the bug
    BOOST_TEST(heap.check() == 1u);
    BOOST_REQUIRE(heap.problems.size() == 1u);
    BOOST_TEST((heap.problems[0].kind == debug_problem_kind::written_after_free));
    BOOST_TEST(heap.problems[0].offset == 5u);

    // Leaving the quarantine reports it too, then the memory really goes.
    heap.problems.clear();
    for (int i = 0; i < 4; ++i) {
        auto q = heap.allocate(8);
        BOOST_REQUIRE(q);
        BOOST_TEST(heap.free(*q).has_value());
    }
    BOOST_REQUIRE(heap.problems.size() == 1u);
    BOOST_TEST((heap.problems[0].kind == debug_problem_kind::written_after_free));
}

// A quarantine longer than the 4096 remembered frees: a block still quarantined is known, so its
// second free is a double free with its details, however many frees came since (it once read as
// a foreign pointer).
BOOST_AUTO_TEST_CASE(a_long_quarantine_keeps_double_frees_recognised) {
    recorded<> heap({.quarantine = 5000});
    auto first = heap.allocate(10);
    BOOST_REQUIRE(first);
    BOOST_TEST(heap.free(*first).has_value());
    for (int i = 0; i < 4100; ++i) {
        auto q = heap.allocate(8);
        BOOST_REQUIRE(q);
        BOOST_TEST(heap.free(*q).has_value());
    }
    BOOST_TEST(fails_with(heap.free(*first), errc::double_free));
    BOOST_REQUIRE(heap.problems.size() == 1u);
    BOOST_TEST((heap.problems[0].kind == debug_problem_kind::double_free));
    BOOST_TEST(heap.problems[0].request == 1u);
}

BOOST_AUTO_TEST_CASE(double_foreign_and_wrong_heap_frees_are_reported_and_refused) {
    recorded<> heap({.quarantine = 2});
    recorded<> other;
    memmgr::crt_heap crt;
    auto p = heap.allocate(10);
    auto q = other.allocate(10);
    auto c = crt.allocate(10);
    BOOST_REQUIRE(p);
    BOOST_REQUIRE(q);
    BOOST_REQUIRE(c);

    BOOST_TEST(heap.free(*p).has_value());
    BOOST_TEST(fails_with(heap.free(*p), errc::double_free));
    BOOST_TEST(fails_with(heap.free(*c), errc::foreign_block));
    BOOST_TEST(fails_with(heap.free(*q), errc::foreign_block));
    BOOST_REQUIRE(heap.problems.size() == 3u);
    BOOST_TEST((heap.problems[0].kind == debug_problem_kind::double_free));
    BOOST_TEST(heap.problems[0].request == 1u); // still quarantined: the block is known
    BOOST_TEST((heap.problems[1].kind == debug_problem_kind::foreign_block));
    BOOST_TEST((heap.problems[2].kind == debug_problem_kind::wrong_heap));

    // Nothing was freed by the refused calls.
    BOOST_TEST(other.owns(*q));
    BOOST_TEST(other.free(*q).has_value());
    BOOST_TEST(crt.free(*c).has_value());

    // Without a quarantine a double free is still recognised (recent frees are remembered).
    recorded<> plain;
    auto r = plain.allocate(10);
    BOOST_REQUIRE(r);
    BOOST_TEST(plain.free(*r).has_value());
    BOOST_TEST(fails_with(plain.free(*r), errc::double_free));
}

// Without a quarantine, the last 4096 frees are remembered, however their memory grew and wrapped
// round: a second free of any of them is a double free, of one freed before them a foreign
// pointer (nothing is allocated in between, so no address is reused).
BOOST_AUTO_TEST_CASE(the_last_4096_frees_are_remembered) {
    recorded<> heap;
    constexpr std::size_t remembered = 4096;
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < remembered + 100; ++i) {
        auto p = heap.allocate(8);
        BOOST_REQUIRE(p);
        blocks.push_back(*p);
    }
    for (void* p : blocks)
        BOOST_REQUIRE(heap.free(p).has_value());
    const std::size_t oldest = blocks.size() - remembered;
    for (const std::size_t i : {oldest, oldest + 1, blocks.size() - 1})
        BOOST_TEST(fails_with(heap.free(blocks[i]), errc::double_free));
    for (const std::size_t i : {std::size_t{0}, oldest - 1})
        BOOST_TEST(fails_with(heap.free(blocks[i]), errc::foreign_block));
    BOOST_REQUIRE(heap.problems.size() == 5u);
    BOOST_TEST((heap.problems[0].kind == debug_problem_kind::double_free));
    BOOST_TEST((heap.problems[4].kind == debug_problem_kind::foreign_block));
}

// The table of live blocks moves the last block into each hole a free leaves (its header holds
// its place): after frees in every order, every live block is still found, with its size, and
// every freed one is not.
BOOST_AUTO_TEST_CASE(live_blocks_stay_found_after_frees_in_any_order) {
    recorded<memmgr::win32_heap> heap;
    std::vector<void*> live;
    std::vector<void*> freed;
    std::map<void*, std::size_t> sizes;
    std::uint32_t state = 12345;
    auto next = [&state] {
        return state = state * 1664525u + 1013904223u;
    };
    for (std::size_t step = 0; step < 2000; ++step) {
        if (live.size() < 200 || next() % 2 == 0) {
            const std::size_t n = 1 + next() % 300;
            auto p = heap.allocate(n);
            BOOST_REQUIRE(p);
            live.push_back(*p);
            sizes[*p] = n;
            std::erase(freed, *p); // its address came back
        } else {
            const std::size_t i = next() % live.size();
            BOOST_TEST(heap.free(live[i]).has_value());
            freed.push_back(live[i]);
            sizes.erase(live[i]);
            live[i] = live.back();
            live.pop_back();
        }
    }
    for (void* p : live) {
        BOOST_TEST(heap.owns(p));
        BOOST_TEST(heap.size(p).value() == sizes[p]);
    }
    for (void* p : freed)
        BOOST_TEST(!heap.owns(p));
    BOOST_TEST(heap.leaks().size() == live.size());
    BOOST_TEST(heap.check() == 0u);
    for (void* p : live)
        BOOST_TEST(heap.free(p).has_value());
    BOOST_TEST(heap.leaks().empty());
    BOOST_TEST(heap.problems.empty());
}

// A pointer into a live block (its header's place then lies inside that block, on a page where
// live headers are) is not a block: whatever the bytes where its header would be say, it is
// refused as foreign and nothing is freed.
BOOST_AUTO_TEST_CASE(a_pointer_into_a_live_block_is_refused) {
    recorded<memmgr::win32_heap> heap;
    auto p = heap.allocate(256);
    BOOST_REQUIRE(p);
    auto* bytes = static_cast<unsigned char*>(*p);
    const std::size_t front = front_of(heap, *p);
    BOOST_REQUIRE(front > 0u);
    for (const std::uint32_t slot : {0u, 1u, 0xCDCDCDCDu}) {
        std::memcpy(bytes, &slot, sizeof slot); // where a header at bytes + front would start
        BOOST_TEST(fails_with(heap.free(bytes + front), errc::foreign_block));
        BOOST_TEST(!heap.owns(bytes + front));
    }
    BOOST_TEST(heap.owns(*p));
    BOOST_REQUIRE(heap.problems.size() == 3u);
    BOOST_TEST((heap.problems[0].kind == debug_problem_kind::foreign_block));
    BOOST_TEST(heap.free(*p).has_value());
}

// Every bit of every sealed field of a header (its block type, request number, size, source
// location, and the seal itself) breaks the seal when it alone is flipped: the block then reads as
// damaged, and mended it reads as sound again. The header's layout, as debug_ledger.cpp has it:
// its place in the table (4 bytes, checked against the table instead), the type (1 byte), padding,
// then request, size, location and seal, 8-byte aligned.
BOOST_AUTO_TEST_CASE(any_one_bit_of_a_sealed_header_field_breaks_the_seal) {
    recorded<memmgr::win32_heap> heap;
    auto p = heap.allocate(24, block_type::client);
    BOOST_REQUIRE(p);
    const std::size_t front = front_of(heap, *p);
    BOOST_REQUIRE(front >= 32u + sizeof(std::source_location));
    auto* header = static_cast<unsigned char*>(*p) - front;
    std::vector<std::size_t> sealed{4}; // the type's byte
    for (std::size_t at = 8; at < 8 + 16 + sizeof(std::source_location) + 8; ++at)
        sealed.push_back(at);
    for (const std::size_t at : sealed) {
        for (int bit = 0; bit < 8; ++bit) {
            header[at] ^= static_cast<unsigned char>(1u << bit);
            BOOST_TEST(fails_with(heap.validate(*p), errc::heap_corrupt),
                       "byte " << at << " bit " << bit);
            header[at] ^= static_cast<unsigned char>(1u << bit);
            BOOST_TEST(heap.validate(*p).has_value());
        }
    }
    BOOST_TEST(heap.problems.empty()); // validate reports nothing
    BOOST_TEST(heap.free(*p).has_value());
}

// A header whose place in the table was overwritten, even with another live block's, is damage:
// reported as an overrun before the block, the block kept and not freed; the other block is
// unaffected.
BOOST_AUTO_TEST_CASE(a_header_whose_place_was_overwritten_is_damage) {
    recorded<memmgr::win32_heap> heap;
    auto p = heap.allocate(16);
    auto q = heap.allocate(16);
    BOOST_REQUIRE(p && q);
    const std::size_t front = front_of(heap, *p);
    BOOST_REQUIRE(front > 0u);
    auto* p_header = static_cast<unsigned char*>(*p) - front;
    const auto* q_header = static_cast<const unsigned char*>(*q) - front;
    std::memcpy(p_header, q_header, sizeof(std::uint32_t)); // q's place, in p's header
    BOOST_TEST(heap.check() == 1u);
    BOOST_TEST(fails_with(heap.size(*p), errc::heap_corrupt));
    BOOST_TEST(fails_with(heap.free(*p), errc::heap_corrupt));
    BOOST_TEST(heap.owns(*p)); // kept
    BOOST_REQUIRE(heap.problems.size() == 2u);
    for (const debug_problem& problem : heap.problems) {
        BOOST_TEST((problem.kind == debug_problem_kind::overrun_before));
        BOOST_TEST(problem.address == *p);
    }
    BOOST_TEST(heap.size(*q).value() == 16u);
    BOOST_TEST(heap.free(*q).has_value());
    BOOST_TEST(heap.leaks().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_throwing_handler_stops_check_at_the_first_problem) {
    memmgr::debug_heap<memmgr::crt_heap> heap;
    heap.set_problem_handler(
        [](const debug_problem& p) { throw std::runtime_error(memmgr::describe(p)); });
    auto p = heap.allocate(8);
    auto q = heap.allocate(8);
    BOOST_REQUIRE(p && q);
    static_cast<unsigned char*>(*p)[8] = 0;
    static_cast<unsigned char*>(*q)[8] = 0;
    try {
        (void)heap.check();
        BOOST_FAIL("the handler should have thrown");
    } catch (const std::runtime_error& e) {
        BOOST_TEST(mentions(e.what(), "overrun after block"));
    }
    // Repair, so that freeing reports nothing (the handler would throw through noexcept free).
    static_cast<unsigned char*>(*p)[8] = 0xFD;
    static_cast<unsigned char*>(*q)[8] = 0xFD;
    BOOST_TEST(heap.check() == 0u);
    BOOST_TEST(heap.free(*p).has_value());
    BOOST_TEST(heap.free(*q).has_value());
}

BOOST_AUTO_TEST_CASE(the_leak_report_lists_what_is_left) {
    recorded<> heap;
    auto kept = heap.allocate(11);
    const auto line = __LINE__ - 1;
    auto freed = heap.allocate(20);
    auto client = heap.allocate(7, block_type::client);
    auto ignored = heap.allocate(9, block_type::ignore);
    BOOST_REQUIRE(kept && freed && client && ignored);
    std::memcpy(*kept, "hello world", 11);
    BOOST_TEST(heap.free(*freed).has_value());

    const auto leaks = heap.leaks();
    BOOST_REQUIRE(leaks.size() == 2u); // ignore blocks are left out
    BOOST_TEST(leaks[0].request == 1u);
    BOOST_TEST(leaks[0].size == 11u);
    BOOST_TEST(leaks[0].where.line() == line);
    BOOST_TEST((leaks[1].type == block_type::client));
    BOOST_TEST(leaks[1].request == 3u);

    std::ostringstream out;
    BOOST_TEST(heap.report_leaks(out) == 2u);
    const std::string report = out.str();
    BOOST_TEST(mentions(report, "detected memory leaks"));
    BOOST_TEST(mentions(report, "{1} normal block at"));
    BOOST_TEST(mentions(report, "11 bytes long"));
    BOOST_TEST(mentions(report, "Data: <hello world> 68 65 6C 6C 6F 20 77 6F 72 6C 64"));
    BOOST_TEST(mentions(report, "{3} client block"));
    BOOST_TEST(!mentions(report, "{4}"));
    BOOST_TEST(mentions(report, "debug_heap.test.cpp(" + std::to_string(line) + ")"));

    for (void* p : {*kept, *client, *ignored})
        BOOST_TEST(heap.free(p).has_value());
    std::ostringstream none;
    BOOST_TEST(heap.report_leaks(none) == 0u);
    BOOST_TEST(none.str().empty());
}

BOOST_AUTO_TEST_CASE(checkpoints_and_their_difference) {
    recorded<> heap;
    auto a = heap.allocate(100);
    BOOST_REQUIRE(a);
    const auto before = heap.checkpoint();
    auto b = heap.allocate(50);
    auto c = heap.allocate(30, block_type::client);
    BOOST_REQUIRE(b && c);
    BOOST_TEST(heap.free(*a).has_value());
    const auto after = heap.checkpoint();

    const auto d = memmgr::difference(after, before);
    BOOST_TEST(d.changed());
    BOOST_TEST(d.blocks[0] == 0);  // normal: +1 (b) -1 (a)
    BOOST_TEST(d.bytes[0] == -50); // +50 -100
    BOOST_TEST(d.blocks[1] == 1);  // client: +1
    BOOST_TEST(d.bytes[1] == 30);
    BOOST_TEST(d.allocations == 2u);
    BOOST_TEST(d.peak_bytes == 180u); // 100 + 50 + 30 at once
    BOOST_TEST(after.peak_bytes == 180u);

    const auto since = heap.blocks_since(before);
    BOOST_REQUIRE(since.size() == 2u);
    BOOST_TEST(since[0].address == *b);
    BOOST_TEST(since[1].address == *c);
    BOOST_TEST(!memmgr::difference(heap.checkpoint(), after).changed());
    (void)heap.free(*b);
    (void)heap.free(*c);
}

BOOST_AUTO_TEST_CASE(a_hook_fires_on_a_given_request_number) {
    recorded<> heap;
    std::vector<std::uint64_t> fired;
    heap.break_on_request(3, [&](std::uint64_t n) { fired.push_back(n); });
    std::vector<void*> blocks;
    for (int i = 0; i < 5; ++i)
        blocks.push_back(heap.allocate(8).value());
    BOOST_TEST(fired == std::vector<std::uint64_t>{3});
    for (void* p : blocks)
        (void)heap.free(p);
}

BOOST_AUTO_TEST_CASE(check_every_nth_operation_finds_corruption_early) {
    recorded<> heap({.check_every = 2});
    auto p = heap.allocate(16); // operation 1
    BOOST_REQUIRE(p);
    static_cast<unsigned char*>(*p)[16] = 0;
    BOOST_TEST(heap.problems.empty());
    auto q = heap.allocate(16); // operation 2: a check runs
    BOOST_REQUIRE(q);
    BOOST_TEST(heap.problems.size() == 1u);
    (void)heap.free(*q);
    (void)heap.free(*p);
}

BOOST_AUTO_TEST_CASE(walk_lists_live_and_quarantined_blocks_and_the_free_blocks_beneath) {
    recorded<memmgr::win32_heap> heap({.quarantine = 8});
    auto a = heap.allocate(10);
    auto b = heap.allocate(20);
    BOOST_REQUIRE(a && b);
    BOOST_TEST(heap.free(*b).has_value());
    auto entries = heap.walk();
    BOOST_REQUIRE(entries);
    std::size_t in_use = 0, quarantined = 0;
    for (const auto& e : *entries) {
        if (e.address == *a) {
            BOOST_TEST(e.in_use);
            BOOST_TEST(e.size == 10u);
            ++in_use;
        }
        if (e.address == *b) {
            BOOST_TEST(!e.in_use);
            ++quarantined;
        }
    }
    BOOST_TEST(in_use == 1u);
    BOOST_TEST(quarantined == 1u);
    // The private heap beneath reports its own free blocks too.
    BOOST_TEST(entries->size() > 2u);
    BOOST_TEST(heap.check() == 0u);
    (void)heap.free(*a);
}

BOOST_AUTO_TEST_CASE(composes_under_the_adapters) {
    recorded<memmgr::win32_heap> heap({.quarantine = 16});
    {
        memmgr::heap_resource resource(heap);
        std::pmr::map<int, std::pmr::string> m(&resource);
        for (int i = 0; i < 100; ++i)
            m.emplace(i, "a string that is long enough to need its own block " + std::to_string(i));
        BOOST_TEST(heap.leaks().size() == 200u);
        BOOST_TEST(heap.check() == 0u);
        // Over-aligned blocks through the resource are checked like any other.
        void* p = resource.allocate(64, 256);
        BOOST_TEST(aligned(p, 256));
        resource.deallocate(p, 64, 256);
    }
    BOOST_TEST(heap.leaks().empty());
    BOOST_TEST(heap.problems.empty());
}

BOOST_AUTO_TEST_CASE(reallocate_always_moves_and_keeps_the_contents) {
    recorded<> heap;
    auto p = heap.allocate(10);
    BOOST_REQUIRE(p);
    fill(*p, 10, 4);
    auto q = heap.reallocate(*p, 10);
    BOOST_REQUIRE(q);
    BOOST_TEST(*q != *p);
    BOOST_TEST(filled(*q, 10, 4));
    BOOST_TEST(!heap.owns(*p));
    BOOST_TEST(fails_with(heap.reallocate(*p, 5), errc::foreign_block));
    BOOST_TEST(fails_with(heap.allocate(SIZE_MAX), errc::size_overflow));
    (void)heap.free(*q);
}

// A reallocation racing a free of the same block on another thread (the caller's double free):
// exactly one of them takes the block, and the reallocation copies it only while it is known to be
// live, in the same hold of the books as its release. It copied it before, unlocked, while the
// free could fill it and give it back (ThreadSanitizer saw the copy race the free's fill;
// AddressSanitizer, a read of a freed block), and then released whatever block was at its
// address.
BOOST_AUTO_TEST_CASE(a_reallocation_racing_a_free_of_its_block_takes_it_whole_or_not_at_all) {
    memmgr::debug_heap<memmgr::crt_heap> heap;
    std::atomic<std::size_t> refusals{0};
    heap.set_problem_handler([&refusals](const debug_problem& p) {
        if (p.kind == debug_problem_kind::double_free ||
            p.kind == debug_problem_kind::foreign_block)
            refusals.fetch_add(1, std::memory_order_relaxed);
    });
    constexpr int rounds = 400;
    int both = 0, neither = 0, damaged = 0, free_lost = 0;
    for (int round = 0; round < rounds; ++round) {
        void* p = heap.allocate(4096).value();
        const auto seed = static_cast<unsigned char>(round);
        fill(p, 4096, seed);
        std::atomic<bool> start{false};
        bool freed = false;
        std::thread freer([&] {
            while (!start.load(std::memory_order_acquire))
                std::this_thread::yield();
            freed = heap.free(p).has_value();
        });
        start.store(true, std::memory_order_release);
        const auto q = heap.reallocate(p, 8192);
        freer.join();
        both += freed && q.has_value();
        neither += !freed && !q.has_value();
        free_lost += !freed;
        if (q) {
            damaged += !filled(*q, 4096, seed);
            BOOST_TEST(heap.free(*q).has_value());
        }
    }
    BOOST_TEST(both == 0);
    BOOST_TEST(neither == 0);
    BOOST_TEST(damaged == 0);
    // Every refused free is reported; a refused reallocation only when its block went between
    // its check and its release.
    BOOST_TEST(refusals.load() >= static_cast<std::size_t>(free_lost));
    BOOST_TEST(refusals.load() <= static_cast<std::size_t>(rounds));
    BOOST_TEST(heap.leaks().empty());
    BOOST_TEST(heap.check() == 0u);
}

// A debug heap over a debug heap, the inner one refusing the outer one's free (its block was freed
// behind the outer heap's back, long enough ago to be forgotten): the inner heap asks every other
// debug heap whether the pointer is theirs, the outer one too, whose books this very thread holds
// for the free. It waited for them for ever; it reads them as they stand now. The deadline turns a
// hang into a failure (the stuck thread holds the books: the run cannot go on).
BOOST_AUTO_TEST_CASE(a_refusal_beneath_a_stacked_debug_heap_does_not_wait_for_its_own_books) {
    recorded<memmgr::debug_heap<memmgr::win32_heap>> outer;
    auto& inner = outer.base();
    std::vector<debug_problem> inner_problems;
    inner.set_problem_handler([&](const debug_problem& p) { inner_problems.push_back(p); });
    void* neighbour = outer.allocate(64).value(); // keeps the page of p's block in use
    void* p = outer.allocate(64).value();
    auto* raw = static_cast<unsigned char*>(p) - front_of(outer, p);
    BOOST_REQUIRE(inner.owns(raw));
    // Blocks to free after the misuse, past the 4,096 frees the inner heap remembers: made now,
    // while p's block is in use, so that none of them can take its address.
    std::vector<void*> fillers;
    for (int i = 0; i < 4200; ++i)
        fillers.push_back(inner.allocate(8).value());
    // The misuse: the inner heap frees it (and fills it, the outer heap's header and guards
    // with it: they are put back, so that the outer heap still takes p for its own).
    const std::vector<unsigned char> outer_view(raw, raw + inner.size(raw).value());
    BOOST_REQUIRE(inner.free(raw).has_value());
    for (void* f : fillers)
        BOOST_REQUIRE(inner.free(f).has_value());
    std::memcpy(raw, outer_view.data(), outer_view.size());

    memmgr::result<void> freed;
    finishes("the outer heap's free", [&] { freed = outer.free(p); });
    BOOST_TEST(fails_with(freed, errc::foreign_block));
    BOOST_REQUIRE(inner_problems.size() == 1u);
    BOOST_TEST((inner_problems[0].kind == debug_problem_kind::foreign_block));
    BOOST_TEST(inner_problems[0].address == raw);
    BOOST_REQUIRE(outer.problems.size() == 1u);
    BOOST_TEST((outer.problems[0].kind == debug_problem_kind::base_refused_free));
    BOOST_TEST(outer.problems[0].address == p);
    BOOST_TEST(outer.free(neighbour).has_value());
}

// The handler and the break hook are shared with the books, not copied, under their lock: one is
// copied and destroyed with no lock held. Here a handler whose capture owns a block of the heap
// (freed by the capture's destructor) is replaced: that free waited for ever on the lock the
// replacement held, before.
BOOST_AUTO_TEST_CASE(a_handler_or_hook_replaced_may_use_the_heap_as_it_goes) {
    recorded<> heap;
    struct owner {
        owner(memmgr::debug_heap<memmgr::crt_heap>& h, void* p) : heap(h), block(p) {}
        owner(const owner&) = delete;
        owner& operator=(const owner&) = delete;
        ~owner() { (void)heap.free(block); }
        memmgr::debug_heap<memmgr::crt_heap>& heap;
        void* block;
    };
    auto held = std::make_shared<owner>(heap, heap.allocate(32).value());
    heap.set_problem_handler([held](const debug_problem&) {});
    auto hooked = std::make_shared<owner>(heap, heap.allocate(48).value());
    heap.break_on_request(1000, [hooked](std::uint64_t) {});
    held.reset(); // the handler and the hook are the last owners now
    hooked.reset();
    BOOST_TEST(heap.leaks().size() == 2u);
    finishes("set_problem_handler", [&] {
        heap.set_problem_handler([&heap](const debug_problem& p) { heap.problems.push_back(p); });
    });
    finishes("break_on_request", [&] { heap.break_on_request(0, {}); });
    BOOST_TEST(heap.leaks().empty()); // both blocks freed by their owners' destructors
    BOOST_TEST(heap.problems.empty());
}

// nullptr at every entry point that takes a block: answered as win32_heap answers, never
// dereferenced (validate(nullptr) once read a header at address -front; owns(nullptr) was true
// once the heap had a table of blocks), and never reported as a problem.
BOOST_AUTO_TEST_CASE(nullptr_is_answered_at_every_entry_point) {
    recorded<memmgr::win32_heap> heap;
    auto check_null = [&heap] {
        BOOST_TEST(!heap.owns(nullptr));
        BOOST_TEST(fails_with(heap.validate(nullptr), errc::null_pointer));
        BOOST_TEST(fails_with(heap.size(nullptr), errc::null_pointer));
        BOOST_TEST(heap.free(nullptr).has_value());
    };
    check_null(); // before the table of live blocks exists
    auto p = heap.allocate(16);
    BOOST_REQUIRE(p);
    check_null(); // with a live block
    BOOST_TEST(heap.free(*p).has_value());
    check_null(); // with an empty table

    auto q = heap.reallocate(nullptr, 8); // allocates, as win32_heap's
    BOOST_REQUIRE(q);
    BOOST_TEST(heap.owns(*q));
    BOOST_TEST(heap.free(*q).has_value());
    memmgr::win32_heap plain;
    BOOST_TEST(fails_with(plain.validate(nullptr), errc::null_pointer)); // the answer matched
    BOOST_TEST(heap.validate().has_value());
    BOOST_TEST(heap.problems.empty());
    BOOST_TEST(heap.leaks().empty());
}

// reallocate of a pointer that is not a live block (never one, freed, another debug heap's) is
// refused with foreign_block and touches nothing: no block is made, the pointer's memory is not
// read or freed. Only free reports to the handler (the heap_ops fuzzer holds reallocate to that).
BOOST_AUTO_TEST_CASE(reallocate_of_a_pointer_that_is_not_live_is_refused_and_touches_nothing) {
    recorded<> heap({.quarantine = 2});
    recorded<> other;
    memmgr::crt_heap crt;
    void* outside = crt.allocate(24).value();
    fill(outside, 24, 8);
    void* theirs = other.allocate(24).value();
    fill(theirs, 24, 9);
    void* gone = heap.allocate(24).value();
    BOOST_TEST(heap.free(gone).has_value());
    const auto before = heap.checkpoint();
    BOOST_TEST(fails_with(heap.reallocate(outside, 64), errc::foreign_block));
    BOOST_TEST(fails_with(heap.reallocate(theirs, 64), errc::foreign_block));
    BOOST_TEST(fails_with(heap.reallocate(gone, 64), errc::foreign_block));
    BOOST_TEST(
        fails_with(heap.reallocate(static_cast<char*>(outside) + 8, 64), errc::foreign_block));
    BOOST_TEST((heap.checkpoint() == before)); // nothing allocated
    BOOST_TEST(filled(outside, 24, 8));
    BOOST_TEST(filled(theirs, 24, 9));
    BOOST_TEST(other.owns(theirs));
    BOOST_TEST(heap.check() == 0u); // the quarantined block was not written either
    BOOST_TEST(heap.problems.empty());
    BOOST_TEST(other.free(theirs).has_value());
    BOOST_TEST(crt.free(outside).has_value());
}

// The guard and quarantine scans (a memcmp per 4 KiB chunk, then words, then bytes) agree with a
// plain search for every length around the word and chunk boundaries and every position of the
// odd byte there: none, first, last, on each side of a boundary.
BOOST_AUTO_TEST_CASE(the_byte_scans_find_the_same_byte_as_a_plain_search) {
    using memmgr::testing::first_byte_not;
    using memmgr::testing::last_byte_not;
    std::vector<unsigned char> bytes(3 * 4096 + 96); // the longest length below, and more
    const std::vector<std::size_t> lengths{0,    1,    7,    8,    9,    31,   32,   33,
                                           4095, 4096, 4097, 4098, 8191, 8193, 8194, 12369};
    int checked = 0;
    for (const std::size_t n : lengths) {
        std::vector<std::size_t> odd{n}; // n: no odd byte
        for (const std::size_t at :
             {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{31},
              std::size_t{32}, std::size_t{4095}, std::size_t{4096}, std::size_t{4097},
              std::size_t{8192}, std::size_t{8193}, n / 2, n - 1, n - 2})
            if (at < n)
                odd.push_back(at);
        for (const std::size_t at : odd) {
            std::fill(bytes.begin(), bytes.end(), static_cast<unsigned char>(0xFD));
            if (at < n)
                bytes[at] = 0xFC;
            const auto* p = bytes.data();
            const auto is_odd = [](unsigned char b) {
                return b != 0xFD;
            };
            const auto first = static_cast<std::size_t>(std::find_if(p, p + n, is_odd) - p);
            const auto from_end = std::find_if(std::make_reverse_iterator(p + n),
                                               std::make_reverse_iterator(p), is_odd);
            const std::size_t last =
                from_end.base() == p ? n : static_cast<std::size_t>(from_end.base() - p) - 1;
            BOOST_TEST(first_byte_not(p, n, 0xFD) == first, "n " << n << ", odd byte at " << at);
            BOOST_TEST(last_byte_not(p, n, 0xFD) == last, "n " << n << ", odd byte at " << at);
            ++checked;
        }
    }
    // Two odd bytes: the first and the last of them, not any other.
    std::fill(bytes.begin(), bytes.end(), static_cast<unsigned char>(0xDD));
    bytes[100] = bytes[9000] = 0;
    BOOST_TEST(first_byte_not(bytes.data(), bytes.size(), 0xDD) == 100u);
    BOOST_TEST(last_byte_not(bytes.data(), bytes.size(), 0xDD) == 9000u);
    BOOST_TEST(checked > 150);
}

#if !defined(_WIN32)
namespace {

// What a child forked beside the debug heaps' users does: allocate, check and free a block on
// each, validate each, and make a new debug heap (the registry's lock) that must refuse a block
// of the first as another debug heap's (its lookup takes the first heap's books). \returns 0, or
// which step failed.
template <class A, class B>
int use_debug_heaps_in_child(A& a, B& b) {
    const auto use = [](auto& heap, int step) {
        auto p = heap.allocate(300);
        if (!p)
            return step;
        fill(*p, 300, 7);
        if (!filled(*p, 300, 7) || !heap.free(*p))
            return step + 1;
        return heap.validate() ? 0 : step + 2;
    };
    if (const int failed = use(a, 10))
        return failed;
    if (const int failed = use(b, 20))
        return failed;
    recorded<> fresh;
    auto p = a.allocate(40);
    if (!p)
        return 30;
    if (fresh.free(*p))
        return 31;
    if (fresh.problems.size() != 1 || fresh.problems[0].kind != debug_problem_kind::wrong_heap)
        return 32;
    return a.free(*p) ? 0 : 33;
}

} // namespace

// fork() in a threaded program: a thread inside a debug heap (its books locked, or the registry
// of debug heaps) when another forked left the child a lock nobody would release. Forks made while
// two threads use a debug_heap<win32_heap> and a debug_heap<com_heap> (allocate, free, validate):
// every child must use both, and the registry, and exit with 0. The deadline only turns a hang
// into a failure.
BOOST_AUTO_TEST_CASE(a_child_forked_while_threads_use_debug_heaps_can_use_them) {
    recorded<memmgr::win32_heap> a;
    recorded<memmgr::com_heap> b;
    // A debug heap over a debug heap: each operation holds its books, then the inner one's. The
    // fork takes them in that order too (it took them oldest first, the inner one's first, and
    // could deadlock against this heap's user).
    recorded<memmgr::debug_heap<memmgr::win32_heap>> nested;
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> progress{0};
    std::atomic<std::size_t> refused{0}; // counted here, checked by the main thread
    const auto user = [&](auto& heap, std::size_t seed) {
        std::vector<void*> mine;
        for (std::size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            if (auto p = heap.allocate((i * 53 + seed) % 2000))
                mine.push_back(*p);
            if (mine.size() > 32 || i % 3 == 0) {
                for (void* q : mine)
                    if (!heap.free(q))
                        refused.fetch_add(1, std::memory_order_relaxed);
                mine.clear();
            }
            if (i % 64 == 0 && !heap.validate())
                refused.fetch_add(1, std::memory_order_relaxed);
            progress.fetch_add(1, std::memory_order_relaxed);
        }
        for (void* q : mine)
            (void)heap.free(q);
    };
    std::thread first([&] { user(a, 0); });
    std::thread second([&] { user(b, 11); });
    std::thread third([&] { user(nested, 29); });
    const auto children = fork_rounds(20, progress, 200, [&] {
        if (const int failed = use_debug_heaps_in_child(a, b))
            return failed;
        auto p = nested.allocate(100);
        return !p ? 40 : nested.free(*p) ? 0 : 41;
    });
    BOOST_TEST(children.size() == 20u);
    for (std::size_t round = 0; round < children.size(); ++round)
        BOOST_TEST(children[round].passed(), "round " << round << ": " << children[round].said());
    stop.store(true, std::memory_order_relaxed);
    first.join();
    second.join();
    third.join();
    BOOST_TEST(refused.load() == 0u);
    BOOST_TEST(a.problems.empty());
    BOOST_TEST(b.problems.empty());
    BOOST_TEST(nested.problems.empty());
    BOOST_TEST(a.validate().has_value());
    BOOST_TEST(b.validate().has_value());
}
#endif

BOOST_AUTO_TEST_SUITE_END()
