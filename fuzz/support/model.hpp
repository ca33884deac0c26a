// What the fuzz harnesses check a heap against: a reference model of the blocks that must be live,
// each with its size and the fill pattern written into it (tests/support/pattern.hpp), and the
// addresses freed since (stale pointers, for the deliberate-misuse operations). Plain C++: the
// private heap harness uses it without modules; heap_ops includes it before `import memmgr;`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <set>
#include <source_location>
#include <vector>

#include <sys/mman.h>

#include <fuzzer/FuzzedDataProvider.h>

#include "pattern.hpp"

namespace memmgr_fuzz {

/// \effects unless ok, says which check failed and aborts: libFuzzer records the input as a crash.
inline void require(bool ok, const char* what,
                    std::source_location where = std::source_location::current()) {
    if (ok)
        return;
    std::fprintf(stderr, "%s(%u): check failed: %s\n", where.file_name(),
                 static_cast<unsigned>(where.line()), what);
    std::abort();
}

inline std::uintptr_t address(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p);
}

/// A size for an allocation: mostly small, sometimes big enough for the private heap's large blocks
/// (512 KiB and up), now and then one no heap may accept (above max_request_size, PTRDIFF_MAX).
/// Every byte of a block up to 64 KiB is written and checked under ASan (a sample of a bigger one:
/// for_each_sampled), and big blocks are kept rare and mostly near the large-block threshold,
/// where the engine's behaviour changes.
inline std::size_t size_from(FuzzedDataProvider& in) {
    const auto kind = in.ConsumeIntegral<std::uint8_t>();
    if (kind < 176)
        return in.ConsumeIntegralInRange<std::size_t>(0, 256);
    if (kind < 236)
        return in.ConsumeIntegralInRange<std::size_t>(0, 16 * 1024);
    if (kind < 245)
        return in.ConsumeIntegralInRange<std::size_t>(16 * 1024, 256 * 1024);
    if (kind < 247) // around the large-block threshold
        return in.ConsumeIntegralInRange<std::size_t>(500 * 1024, 560 * 1024);
    if (kind < 248) // past it: large blocks of several pages more, and fixed heaps' limits
        return in.ConsumeIntegralInRange<std::size_t>(560 * 1024, 1100 * 1024);
    constexpr std::size_t too_big[] = {SIZE_MAX, SIZE_MAX - 15, std::size_t{PTRDIFF_MAX} + 1,
                                       std::size_t{PTRDIFF_MAX} + 16};
    return too_big[kind % 4];
}

/// \returns whether n is one of size_from's sizes that every heap must refuse.
inline bool oversized(std::size_t n) {
    return n > std::size_t{PTRDIFF_MAX};
}

struct block {
    std::size_t size;
    unsigned char seed;
};

// The pattern of tests/support/pattern.hpp, seed + 7i + (i >> 8) (mod 256), is over the 256 bytes
// from 256k on (7 (i mod 256) + seed + k) mod 256: one of 256 stretches, computed once, so that
// blocks are filled and checked with memcpy and memcmp rather than byte by byte under the
// sanitizers. These loops are the harnesses' own bookkeeping: kept out of line and out of
// libFuzzer's coverage instrumentation, which would otherwise steer by them.
#define MEMMGR_FUZZ_BOOKKEEPING [[gnu::noinline, clang::no_sanitize("coverage")]]

MEMMGR_FUZZ_BOOKKEEPING inline const unsigned char* stretch(std::size_t c) {
    static const std::vector<unsigned char> table = [] {
        std::vector<unsigned char> t(256 * 256);
        for (std::size_t k = 0; k < 256; ++k)
            for (std::size_t j = 0; j < 256; ++j)
                t[k * 256 + j] = memmgr_test::pattern(static_cast<unsigned char>(k), j);
        return t;
    }();
    return table.data() + (c % 256) * 256;
}

/// \effects fills p with the pattern of seed.
/// \returns how many bytes of the pattern from stretch(k) on lie contiguously in the table: the
/// stretches k, k + 1, ... up to the table's last, each 256 bytes.
inline std::size_t run_from(std::size_t k) {
    return (256 - k % 256) * 256;
}

/// Which bytes of a block the model writes and checks. Up to `dense_limit` bytes: all of them.
/// Above: the first 4 KiB of every 64 KiB, and the last 4 KiB or so (from a multiple of 256):
/// a bigger block is 16 KiB to 1.1 MiB, and writing all of it made the kernel fault in and clear
/// every page of it, which was a third of the harnesses' time. What the sample still catches:
/// the heap writing anywhere near either end of a block (a header or tag misplaced by a size
/// error), losing a run of pages (a decommit of memory in use: 64 KiB apart, no run of 64 KiB or
/// more escapes), and copying a block short or from the wrong place; a new block that overlaps a
/// live one is caught by add() whatever its size. The set depends on the block's size alone, so a
/// block resized from n keeps its check on the sample of n (intact_prefix).
inline constexpr std::size_t dense_limit = 64 * 1024;
inline constexpr std::size_t sample_period = 64 * 1024;
inline constexpr std::size_t sample_run = 4 * 1024;

/// \returns where the sampled tail of a block of n > dense_limit bytes starts (a multiple of 256).
inline std::size_t sample_tail(std::size_t n) {
    return (n - sample_run) & ~std::size_t{255};
}

/// \effects calls f(from, to) for each run [from, to) of the sample of a block of n bytes, in
/// order; every `from` is a multiple of 256.
template <class F>
MEMMGR_FUZZ_BOOKKEEPING void for_each_sampled(std::size_t n, F&& f) {
    if (n <= dense_limit)
        return f(std::size_t{0}, n);
    const std::size_t tail = sample_tail(n);
    for (std::size_t at = 0; at < tail; at += sample_period)
        f(at, at + sample_run < tail ? at + sample_run : tail);
    f(tail, n);
}

/// \returns whether byte i of a block of n bytes is in its sample.
inline bool sampled(std::size_t n, std::size_t i) {
    return n <= dense_limit || i % sample_period < sample_run || i >= sample_tail(n);
}

/// \effects maps in, writable, the whole pages of [p, p + n) that are not yet (one system call
/// instead of a page fault per page), and changes no byte. Only for blocks of several pages, which
/// a paint() or zeroed() is about to touch whole anyway; a refusal (an old kernel) changes nothing
/// either. `write`: the pages will be written (else only read: a fresh page is then the kernel's
/// shared zero page, neither allocated nor cleared).
MEMMGR_FUZZ_BOOKKEEPING inline void prefault(const void* p, std::size_t n, bool write = true) {
#if defined(MADV_POPULATE_WRITE) && defined(MADV_POPULATE_READ)
    constexpr std::uintptr_t page = 4096;
    if (n < 4 * page)
        return;
    const std::uintptr_t first = (address(p) + page - 1) & ~(page - 1);
    const std::uintptr_t last = (address(p) + n) & ~(page - 1);
    if (last > first)
        (void)madvise(reinterpret_cast<void*>(first), last - first,
                      write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
#else
    (void)p;
    (void)n;
    (void)write;
#endif
}

/// \effects writes the pattern of seed over [from, to) of the block at p (from a multiple of 256).
MEMMGR_FUZZ_BOOKKEEPING inline void paint_run(unsigned char* bytes, std::size_t from,
                                              std::size_t to, unsigned char seed) {
    for (std::size_t at = from, k = seed + from / 256; at < to;) {
        const std::size_t run = to - at < run_from(k) ? to - at : run_from(k);
        std::memcpy(bytes + at, stretch(k), run);
        at += run;
        k += run / 256;
    }
}

/// \returns whether [from, to) of the block at p holds the pattern of seed.
MEMMGR_FUZZ_BOOKKEEPING inline bool intact_run(const unsigned char* bytes, std::size_t from,
                                               std::size_t to, unsigned char seed) {
    for (std::size_t at = from, k = seed + from / 256; at < to;) {
        const std::size_t run = to - at < run_from(k) ? to - at : run_from(k);
        if (std::memcmp(bytes + at, stretch(k), run) != 0)
            return false;
        at += run;
        k += run / 256;
    }
    return true;
}

/// \effects fills the sample of the n-byte block at p with the pattern of seed.
MEMMGR_FUZZ_BOOKKEEPING inline void paint(void* p, std::size_t n, unsigned char seed) {
    if (n <= dense_limit)
        prefault(p, n);
    auto* bytes = static_cast<unsigned char*>(p);
    for_each_sampled(n,
                     [&](std::size_t from, std::size_t to) { paint_run(bytes, from, to, seed); });
}

/// \returns whether the sample of an n-byte block at p, as far as its first `kept` bytes, holds
/// the pattern of seed (what a block resized from n to `kept` or more bytes must still hold).
MEMMGR_FUZZ_BOOKKEEPING inline bool intact_prefix(const void* p, std::size_t kept,
                                                  unsigned char seed, std::size_t n) {
    const auto* bytes = static_cast<const unsigned char*>(p);
    bool ok = true;
    for_each_sampled(n, [&](std::size_t from, std::size_t to) {
        if (ok && from < kept)
            ok = intact_run(bytes, from, to < kept ? to : kept, seed);
    });
    return ok;
}

/// \returns whether the n-byte block at p still holds, over its sample, the pattern of seed.
MEMMGR_FUZZ_BOOKKEEPING inline bool intact(const void* p, std::size_t n, unsigned char seed) {
    return intact_prefix(p, n, seed, n);
}

/// \returns whether the n bytes at p are all zero (memcmp against a zero page: a zero-filled block
/// of a megabyte is checked in microseconds, not byte by byte under coverage instrumentation).
/// Every byte, not a sample: zeroing is what is promised.
MEMMGR_FUZZ_BOOKKEEPING inline bool zeroed(const void* p, std::size_t n) {
    prefault(p, n, n <= dense_limit); // paint() writes all of a small block next, a sample of a big
    static const unsigned char zeros[4096] = {};
    const auto* bytes = static_cast<const unsigned char*>(p);
    for (std::size_t at = 0; at < n; at += sizeof zeros)
        if (std::memcmp(bytes + at, zeros, n - at < sizeof zeros ? n - at : sizeof zeros) != 0)
            return false;
    return true;
}

class model {
public:
    /// Bounds that keep one input fast: allocations beyond them are skipped.
    static constexpr std::size_t max_blocks = 1024;
    static constexpr std::size_t max_bytes = std::size_t{16} << 20;

    [[nodiscard]] bool has_room(std::size_t n) const {
        return live_.size() < max_blocks && n <= max_bytes - bytes_;
    }

    /// \effects records p, a new block of n bytes, and fills it with the pattern of seed.
    /// \requires p is aligned to `alignment` and overlaps no live block.
    void add(void* p, std::size_t n, unsigned char seed, std::size_t alignment) {
        require(p != nullptr && address(p) % alignment == 0, "a new block is aligned");
        require(!live(p), "a new block is not a live one");
        auto next = live_.lower_bound(p);
        require(next == live_.end() || address(p) + n <= address(next->first),
                "a new block overlaps no live block after it");
        if (next != live_.begin()) {
            const auto& [q, b] = *std::prev(next);
            require(address(q) + b.size <= address(p),
                    "a new block overlaps no live block before it");
        }
        paint(p, n, seed);
        live_.emplace(p, block{n, seed});
        bytes_ += n;
        freed_.erase(p);
    }

    /// \effects forgets the live block p (checked intact first) and remembers it as freed.
    block remove(void* p) {
        auto it = live_.find(p);
        require(it != live_.end(), "a removed block is live");
        const block b = it->second;
        require(intact(p, b.size, b.seed), "a block is intact until it is freed");
        live_.erase(it);
        bytes_ -= b.size;
        remember(p);
        return b;
    }

    /// \effects forgets the live block p without checking it (its contents were checked by the
    /// caller); remembers it as freed when `freed` (a reallocation that moved it).
    block take(void* p, bool freed) {
        auto it = live_.find(p);
        require(it != live_.end(), "a resized block is live");
        const block b = it->second;
        live_.erase(it);
        bytes_ -= b.size;
        if (freed)
            remember(p);
        return b;
    }

    /// \effects every live block is gone at once (release_all, or the heap destroyed).
    /// remember_all = false: only the last blocks become stale pointers for misuse; `freed` is
    /// not told of the rest (for a harness that never asks it, this saves a set insertion each).
    void drop_all(bool remember_all = true) {
        // As remember() of each block in turn, but only the last 64 reach the stale list (the
        // others would be pushed out of it at once): a heap of a thousand blocks emptied costs a
        // thousand set insertions, not also a thousand shifts of the list.
        std::size_t left = live_.size();
        for (const auto& [p, b] : live_) {
            if (left-- <= max_stale)
                remember(p);
            else if (remember_all)
                freed_.insert(p);
        }
        live_.clear();
        bytes_ = 0;
    }

    /// \effects forgets which addresses were freed (a new heap knows nothing of the old one's).
    void forget_freed() { freed_.clear(); }

    /// \effects notes that p, a block the model does not track (taken and given back through an
    /// adapter), was handed out or freed: what `freed` says of p follows.
    void handed_out_elsewhere(void* p) { freed_.erase(p); }
    void freed_elsewhere(void* p) { freed_.insert(p); }

    [[nodiscard]] bool live(const void* p) const { return live_.contains(const_cast<void*>(p)); }
    /// \returns whether [p, p + n) overlaps a live block.
    [[nodiscard]] bool overlaps(const void* p, std::size_t n) const {
        auto next = live_.lower_bound(const_cast<void*>(p));
        if (next != live_.end() && address(next->first) < address(p) + n)
            return true;
        if (next == live_.begin())
            return false;
        const auto& [q, b] = *std::prev(next);
        return address(q) + b.size > address(p);
    }
    /// \returns whether [p, p + n) holds a byte of a live block (a live block of 0 bytes holds
    /// none: one may start where a free block starts, e.g. a debug block without guards).
    [[nodiscard]] bool holds_live_bytes(const void* p, std::size_t n) const {
        auto next = live_.lower_bound(const_cast<void*>(p));
        if (next != live_.begin()) {
            const auto& [q, b] = *std::prev(next);
            if (address(q) + b.size > address(p))
                return true;
        }
        for (; next != live_.end() && address(next->first) < address(p) + n; ++next)
            if (next->second.size != 0)
                return true;
        return false;
    }
    /// \returns whether p was freed (or dropped) and not handed out again since.
    [[nodiscard]] bool freed(const void* p) const { return freed_.contains(const_cast<void*>(p)); }
    [[nodiscard]] const block& at(void* p) const { return live_.at(p); }
    [[nodiscard]] std::size_t count() const { return live_.size(); }
    [[nodiscard]] std::size_t bytes() const { return bytes_; }
    [[nodiscard]] const std::map<void*, block>& blocks() const { return live_; }

    /// \returns a live block chosen by the input, or nullptr when there is none. (A walk along the
    /// map: bookkeeping, out of coverage.)
    [[nodiscard]] MEMMGR_FUZZ_BOOKKEEPING void* pick(FuzzedDataProvider& in) const {
        if (live_.empty())
            return nullptr;
        auto it = live_.begin();
        std::advance(it, in.ConsumeIntegralInRange<std::size_t>(0, live_.size() - 1));
        return it->first;
    }

    /// \returns a pointer freed earlier and not live now, or nullptr when there is none.
    [[nodiscard]] MEMMGR_FUZZ_BOOKKEEPING void* pick_stale(FuzzedDataProvider& in) const {
        std::vector<void*> candidates;
        for (void* p : stale_)
            if (!live(p))
                candidates.push_back(p);
        if (candidates.empty())
            return nullptr;
        return candidates[in.ConsumeIntegralInRange<std::size_t>(0, candidates.size() - 1)];
    }

    void require_intact(void* p) const {
        const block& b = at(p);
        require(intact(p, b.size, b.seed), "a live block keeps its contents");
    }
    void require_all_intact() const {
        for (const auto& [p, b] : live_) {
            const bool kept = intact(p, b.size, b.seed);
            if (!kept) {
                const auto* bytes = static_cast<const unsigned char*>(p);
                std::size_t k = 0;
                while (k < b.size &&
                       (!sampled(b.size, k) || bytes[k] == memmgr_test::pattern(b.seed, k)))
                    ++k;
                std::fprintf(stderr,
                             "the live block %p of %zu bytes lost its contents from byte %zu\n", p,
                             b.size, k);
            }
            require(kept, "every live block keeps its contents");
        }
    }
    /// \effects requires the first 64 bytes (or fewer) of every live block to hold their pattern:
    /// where a stray link or header written by the heap would land. For the periodic checks; each
    /// block is checked whole when it is freed and at the end of the input.
    void require_prefixes_intact() const {
        for (const auto& [p, b] : live_)
            require(intact_prefix(p, b.size < 64 ? b.size : 64, b.seed, b.size),
                    "a live block keeps its first bytes");
    }

    /// \effects requires that the blocks a walk found in use (entries with address, size and
    /// in_use, as memmgr::heap_entry and the engine's block_info have) are exactly the live blocks,
    /// each with its size, and that no block it found free overlaps a live block.
    template <class Entries>
    MEMMGR_FUZZ_BOOKKEEPING void require_walk_matches(const Entries& entries) const {
        std::size_t in_use = 0;
        for (const auto& e : entries) {
            if (!e.in_use) {
                require(!holds_live_bytes(e.address, e.size),
                        "a free block the walk finds holds no byte of a live block");
                continue;
            }
            ++in_use;
            require(live(e.address) && at(e.address).size == e.size,
                    "every block the walk finds in use is a live block of its size");
        }
        require(in_use == count(), "the walk finds every live block");
    }

private:
    void remember(void* p) {
        freed_.insert(p);
        stale_.push_back(p);
        if (stale_.size() > max_stale)
            stale_.erase(stale_.begin());
    }

    static constexpr std::size_t max_stale = 64;
    std::map<void*, block> live_;
    std::size_t bytes_ = 0;
    std::set<void*> freed_;    // every address freed since the heap was made, not handed out again
    std::vector<void*> stale_; // the most recent of them, to choose misuse pointers from
};

/// \returns whether the POSIX private heap, whose walk gave entries, must answer double_free for
/// q, a pointer that is not one of its live blocks: when q is 16-aligned and the header q would
/// have lies in a free block. Otherwise (inside a block in use, or outside the heap) the answer is
/// foreign_block. See docs/private_heap.md, "Detection".
template <class Entries>
bool private_heap_says_double_free(const Entries& entries, const void* q) {
    constexpr std::uintptr_t header_size = 16;
    if (address(q) % header_size != 0)
        return false;
    const std::uintptr_t header = address(q) - header_size;
    for (const auto& e : entries) {
        const std::uintptr_t start = address(e.address) - header_size;
        if (header >= start && header < start + e.size + e.overhead)
            return !e.in_use;
    }
    return false;
}

} // namespace memmgr_fuzz
