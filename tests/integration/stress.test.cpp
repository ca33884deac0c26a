// Concurrency stress on both legs: 8 threads allocate, reallocate and free at random on one heap,
// hand blocks to each other (so that a block is freed by another thread than the one that
// allocated it), and check every block's contents as they go; then the heap is validated. Run
// under ThreadSanitizer by the linux-tsan preset, under valgrind by the valgrind leg, and natively
// (and under Wine) by the others.
//
// MEMMGR_STRESS_OPS sets the operations per thread (default 1500, kept small so that the valgrind
// and Wine runs stay quick; the linux-tsan test preset raises it).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "support/blocks.hpp"

import memmgr;

using namespace memmgr_test;

namespace {

constexpr unsigned threads = 8;

std::size_t operations_per_thread() {
    if (const char* text = std::getenv("MEMMGR_STRESS_OPS")) {
        const unsigned long long n = std::strtoull(text, nullptr, 10);
        if (n > 0)
            return static_cast<std::size_t>(n);
    }
    return 1500;
}

struct block {
    void* p;
    std::size_t n;
    unsigned char seed; // of the fill pattern
    unsigned owner;     // the thread that allocated it
};

// Whether size() reports exactly what was asked for (glibc's malloc_usable_size reports more).
template <class H>
constexpr bool exact_sizes = on_windows || !std::is_same_v<H, memmgr::crt_heap>;

template <class H>
bool size_agrees(const H& heap, const block& b) {
    const auto s = heap.size(b.p);
    return s && (exact_sizes<H> ? *s == b.n : *s >= b.n);
}

// What the threads did, summed.
struct tally {
    std::atomic<std::size_t> operations{0};
    std::atomic<std::size_t> cross_thread_frees{0};
    std::atomic<std::size_t> failures{0}; // a heap call that failed or a block found damaged
};

// Mostly small blocks; now and then one of the private heap's large blocks (its own mapping).
std::size_t random_size(std::mt19937& rng) {
    return rng() % 256 == 0 ? 512 * 1024 + rng() % 4096 : rng() % 2048;
}

// One thread's share: `count` random operations on heap. Blocks in `mine` were allocated by this
// thread or taken from `exchange`, where threads leave blocks for any other to reallocate or free.
// As many allocations as frees, so that the number of live blocks wanders instead of growing.
template <class H>
void work(H& heap, unsigned me, std::size_t count, std::mutex& exchange_lock,
          std::vector<block>& exchange, tally& t) {
    std::mt19937 rng(7919u * (me + 1));
    std::vector<block> mine;
    auto intact = [&](const block& b) {
        return filled(b.p, b.n, b.seed) && size_agrees(heap, b);
    };
    auto fresh = [&](void* p, std::size_t n) {
        const block b{p, n, static_cast<unsigned char>(rng()), me};
        fill(b.p, b.n, b.seed);
        return b;
    };
    for (std::size_t i = 0; i < count; ++i) {
        const unsigned op = rng() % 10;
        if (op < 3 || mine.empty()) {
            const std::size_t n = random_size(rng);
            if (auto p = heap.allocate(n))
                mine.push_back(fresh(*p, n));
            else
                ++t.failures;
        } else if (op == 3) { // leave a block for another thread
            std::lock_guard lock(exchange_lock);
            exchange.push_back(mine.back());
            mine.pop_back();
        } else if (op == 4) { // take one that another thread (most likely) left
            std::unique_lock lock(exchange_lock);
            if (exchange.empty())
                continue; // nothing done: not counted
            // Another thread's block if there is one among the last few.
            auto it = exchange.end() - 1;
            for (int look = 0; look < 8 && it != exchange.begin() && it->owner == me; ++look)
                --it;
            const block b = *it;
            exchange.erase(it);
            lock.unlock();
            if (rng() % 2 == 0) { // keep it, to reallocate or free later
                mine.push_back(b);
            } else {
                if (b.owner != me)
                    ++t.cross_thread_frees;
                if (!intact(b) || !heap.free(b.p))
                    ++t.failures;
            }
        } else {
            const std::size_t at = rng() % mine.size();
            block& b = mine[at];
            if (!intact(b)) {
                ++t.failures;
                mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(at)); // leaked, reported
            } else if (op < 7) {
                const std::size_t n = random_size(rng);
                auto q = heap.reallocate(b.p, n);
                if (q && filled(*q, std::min(n, b.n), b.seed))
                    b = fresh(*q, n);
                else
                    ++t.failures;
            } else {
                if (b.owner != me)
                    ++t.cross_thread_frees;
                if (!heap.free(b.p))
                    ++t.failures;
                mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(at));
            }
        }
        ++t.operations; // one heap operation (or hand-over) done
    }
    std::lock_guard lock(exchange_lock);
    exchange.insert(exchange.end(), mine.begin(), mine.end());
}

// The heaps under stress, each shared by all threads (win32_heap: serialized, its default).
using stressed_heaps =
    std::tuple<memmgr::win32_heap, memmgr::crt_heap, memmgr::com_heap,
               memmgr::debug_heap<memmgr::win32_heap>, memmgr::counting_heap<memmgr::local_heap>>;

// What each heap can say about itself once the threads are done and `live` blocks are left.
template <class H>
void check_heap(H& heap, std::size_t live) {
    if constexpr (memmgr::validating_heap<H>)
        BOOST_TEST(heap.validate().has_value());
    if constexpr (memmgr::walkable_heap<H>) {
        auto entries = heap.walk();
        BOOST_REQUIRE(entries);
        BOOST_TEST(std::ranges::count_if(*entries, &memmgr::heap_entry::in_use) ==
                   static_cast<std::ptrdiff_t>(live));
    }
    if constexpr (requires { heap.statistics().blocks_in_use; })
        BOOST_TEST(heap.statistics().blocks_in_use == live);
}

} // namespace

BOOST_AUTO_TEST_SUITE(stress_tests)

BOOST_AUTO_TEST_CASE_TEMPLATE(eight_threads_share_a_heap_and_free_each_others_blocks, H,
                              stressed_heaps) {
    H heap;
    const std::size_t count = operations_per_thread();
    std::mutex exchange_lock;
    std::vector<block> exchange;
    tally t;

    // All threads run at once, not one after the other as they start. A spinning gate, not a
    // std::latch: MinGW-w64's libstdc++ 12 waits on atomics in a way that can miss the wake-up and
    // sleep forever (modules/core/light_lock.hpp says how); this test hung on it under Wine.
    std::atomic<unsigned> arrived{0};
    std::vector<std::thread> pool;
    for (unsigned i = 0; i < threads; ++i)
        pool.emplace_back([&, i] {
            arrived.fetch_add(1, std::memory_order_acq_rel);
            while (arrived.load(std::memory_order_acquire) < threads)
                std::this_thread::yield();
            work(heap, i, count, exchange_lock, exchange, t);
        });
    for (auto& thread : pool)
        thread.join();

    BOOST_TEST(t.failures.load() == 0u);
    // Most iterations do something: only taking from an empty exchange does nothing.
    BOOST_TEST(t.operations.load() > threads * count / 2);
    BOOST_TEST(t.cross_thread_frees.load() > 0u, "some blocks were freed by another thread");
    check_heap(heap, exchange.size());
    for (const block& b : exchange) {
        BOOST_TEST(filled(b.p, b.n, b.seed));
        BOOST_TEST(heap.free(b.p).has_value());
    }
    check_heap(heap, 0);
    BOOST_TEST_MESSAGE("stress " << std::string(H::name) << ": " << t.operations.load()
                                 << " operations on " << threads << " threads, "
                                 << t.cross_thread_frees.load() << " cross-thread frees");
}

BOOST_AUTO_TEST_SUITE_END()
