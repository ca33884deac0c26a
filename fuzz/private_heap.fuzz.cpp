// Fuzz harness: the POSIX private heap engine (modules/platform/private_heap.hpp), driven directly,
// without modules, with what win32_heap cannot reach: any initial and maximum size, the process
// heap, in-place-only reallocation, owns, usage() and config(), and damage.
//
// The input chooses the heap (the process heap, or a new one and its configuration), then a
// sequence of operations checked against the reference model (fuzz/support/model.hpp): allocate
// (zeroed or not), free, size, reallocate (in place only or not), owns and validate of a block,
// validate of the whole heap, walk, usage, compact, release_all, and deliberate misuse (stale,
// foreign and interior pointers) with the status docs/private_heap.md promises.
//
// Damage: bits of a header flipped, a few bytes written past the end of a block in use, or written
// into freed memory (where the free-list links live). The input goes on on the damaged heap, and
// the hardening rules of docs/reliability.md are checked: every answer is either the right one or
// heap_corrupt; once the heap has said heap_corrupt it says so to everything until release_all();
// no block it hands out lies outside its own mappings or overlaps a live block; live blocks keep
// their contents; nothing crashes (ASan sees any access outside the mappings) and nothing hangs
// (libFuzzer's -timeout).
//
// Speed: each operation checks what it touched; the whole heap (validate, a walk against the
// model, usage, every live block's contents) is checked every `full_check_every` operations and at
// the end of the input.
#include "private_heap.hpp"
#include "private_heap/pages.hpp" // the page directory's size (release_all)

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <future>
#include <iterator>
#include <thread>
#include <vector>

#include <unistd.h>

#include <fuzzer/FuzzedDataProvider.h>

#include "support/model.hpp"

namespace {

using memmgr::detail::posix::block_info;
using memmgr::detail::posix::heap_config;
using memmgr::detail::posix::private_heap;
using memmgr::detail::posix::status;
using memmgr_fuzz::address;
using memmgr_fuzz::model;
using memmgr_fuzz::require;

constexpr std::size_t header_size = 16;
// The pages' layout (docs/private_heap.md, "Small blocks in pages"): 4 MiB segments aligned to
// their size, 64 KiB slots, a 64-byte descriptor per slot from byte 64; the bytes of a descriptor
// that its seal covers, and the others of a page in use: its list links, counts (bump, used,
// free_head), remote list head and list byte (queued), not sealed, checked where they are used (a
// free slot's counts mean nothing until it starts a page).
constexpr std::uintptr_t page_segment_bytes = std::uintptr_t{4} << 20;
constexpr std::size_t sealed_descriptor_bytes[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                   11, 12, 13, 14, 15, 32, 33, 34, 35, 36, 37,
                                                   38, 39, 52, 53, 54, 55, 60, 61, 62, 63};
constexpr std::size_t unsealed_descriptor_bytes[] = {16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
                                                     27, 28, 29, 30, 31, 40, 41, 42, 43, 44, 45,
                                                     46, 47, 48, 49, 50, 51, 56, 57, 58};
unsigned char* descriptor_of(const void* block) {
    const std::uintptr_t base = address(block) & ~(page_segment_bytes - 1);
    return reinterpret_cast<unsigned char*>(base + 64 + ((address(block) - base) >> 16) * 64);
}
constexpr int full_check_every = 96;

// The blocks of the last walk, in a vector whose storage is reused from walk to walk.
struct walk_result {
    status st;
    const std::vector<block_info>& entries;
};

// The walk's visitor: called for every block of every page, so kept out of coverage as the rest
// of the harness's bookkeeping is.
MEMMGR_FUZZ_BOOKKEEPING void record(void* c, const block_info& e) {
    auto* out = static_cast<std::vector<block_info>*>(c);
    if (out->size() < out->capacity()) // no allocation while the heap is locked
        out->push_back(e);
}

walk_result walk(const private_heap& heap) {
    static std::vector<block_info> entries = [] {
        std::vector<block_info> v;
        v.reserve(std::size_t{1} << 18); // a page of 16-byte blocks alone is 4096 entries
        return v;
    }();
    entries.clear();
    const status st = heap.walk(record, &entries);
    require(entries.size() < entries.capacity(), "the walk fits the snapshot");
    require(st == status::ok || st == status::heap_corrupt, "a walk succeeds or finds damage");
    return {st, entries};
}

// Another thread's front, for the calls the input makes "from another thread": a free, a
// reallocation or the questions about one block from a front other than the one the input's
// thread keeps (a remote free, its adoption later, the fronts' reallocation and refusals), in an
// order the input alone decides. A thread made once chooses its front and then waits for ever,
// holding it; the input's thread takes that front for one call at a time
// (exchange_thread_front, built into the fuzz build only). Handing each call to the other thread
// instead cost a wake-up of a sleeping thread per call: a third of the harness's time.
class other_front {
public:
    /// \effects runs f() as the other thread would, then makes this thread itself again.
    template <class F>
    static auto run(F f) -> decltype(f()) {
        static const std::uint32_t theirs = chosen();
        const std::uint32_t mine = memmgr::detail::posix::exchange_thread_front(theirs);
        struct restore {
            std::uint32_t mine;
            ~restore() { memmgr::detail::posix::exchange_thread_front(mine); }
        } back{mine};
        return f();
    }

private:
    /// \returns the front a new thread chooses; that thread lives as long as the process, so that
    /// its front stays its own.
    static std::uint32_t chosen() {
        std::promise<std::uint32_t> ticket;
        std::future<std::uint32_t> answer = ticket.get_future();
        std::thread([&ticket] {
            const std::uint32_t t = memmgr::detail::posix::exchange_thread_front(0);
            memmgr::detail::posix::exchange_thread_front(t);
            ticket.set_value(t);
            for (;;)
                ::pause();
        }).detach();
        return answer.get();
    }
};

class runner {
public:
    runner(FuzzedDataProvider& in, private_heap* heap, bool is_process)
        : in_(in), heap_(heap), process_(is_process) {
        require(heap_ != nullptr, "create() gives a heap");
    }
    runner(const runner&) = delete;
    runner& operator=(const runner&) = delete;
    ~runner() {
        require(other_->validate(nullptr) == status::ok, "damage never reaches another heap");
        private_heap::destroy(heap_);
    }

    void run() {
        for (int ops = 1; ops <= 1500 && in_.remaining_bytes() > 0; ++ops) {
            step();
            if (ops % full_check_every == 0)
                full_check();
        }
        full_check();
        while (void* p = model_.pick(in_)) {
            model_.remove(p); // checked intact whole, and no longer asked about
            const status st = heap_->free(p);
            answered(st, st == status::ok, "freeing a live block succeeds");
        }
        if (!damaged_) {
            check_usage();
            require(heap_->validate(nullptr) == status::ok, "an emptied heap validates");
        }
    }

private:
    bool fixed() const { return heap_->config().maximum_size != 0; }

    void step() {
        // Each operation once per entry: the ones listed more often are chosen more often. The
        // whole-heap checks are rare here: full_check() runs them regularly anyway, and the input
        // asks for validate() alone (a full check every 32 operations on average besides the
        // regular one was a sixth of the harness's time).
        using operation = void (runner::*)();
        // clang-format off
        static constexpr operation operations[] = {
            &runner::allocate,   &runner::allocate,   &runner::allocate,   &runner::allocate,
            &runner::allocate,   &runner::allocate,   &runner::allocate,   &runner::allocate,
            &runner::reallocate, &runner::reallocate, &runner::reallocate, &runner::reallocate,
            &runner::reallocate, &runner::free,       &runner::free,       &runner::free,
            &runner::free,       &runner::free,       &runner::free,       &runner::one_block,
            &runner::one_block,  &runner::misuse,     &runner::misuse,     &runner::compact,
            &runner::release_all, &runner::overflow,  &runner::overflow,   &runner::write_after_free,
            &runner::write_after_free, &runner::flip_header, &runner::validate, &runner::elsewhere};
        // clang-format on
        const auto pick = in_.ConsumeIntegralInRange<std::size_t>(0, std::size(operations) - 1);
        (this->*operations[pick])();
    }

    // --- what a damaged heap may say ------------------------------------------------------------
    // damaged_: the input damaged the heap (since its last release_all), so any answer may be
    // heap_corrupt. reported_: the heap said heap_corrupt, so every later answer must be.

    /// \effects checks an answer: `right` when it is the expected one; otherwise it must be
    /// heap_corrupt on a damaged heap. Once heap_corrupt was said, nothing else may be.
    void answered(status st, bool right, const char* what) {
        if (st == status::heap_corrupt) {
            require(damaged_, "heap_corrupt only after damage");
            reported_ = true;
            return;
        }
        require(!reported_, "a heap that said heap_corrupt keeps saying it");
        require(right, what);
    }

    void validate() {
        const status st = heap_->validate(nullptr);
        answered(st, st == status::ok, "a heap used properly validates");
    }

    void require_acceptable(status st, std::size_t n) {
        if (memmgr_fuzz::oversized(n))
            answered(st, st == status::size_overflow,
                     "an oversized request fails with size_overflow");
        else
            answered(st, st == status::heap_full && fixed(), "a proper request succeeds");
    }

    /// \effects checks a block the heap handed out for n bytes: inside the heap's own mappings
    /// (even a damaged heap must never hand out anything else); model_.add checks it overlaps no
    /// live block.
    void handed_out(const void* p, std::size_t n) {
        require(!reported_, "a heap that said heap_corrupt hands out nothing");
        require(heap_->contains(p, n), "a block lies inside the heap's own mappings");
    }

    /// f() as this thread, or, during elsewhere(), as the other thread.
    template <class F>
    auto call(F f) -> decltype(f()) {
        return elsewhere_ ? other_front::run(f) : f();
    }

    // A free, a reallocation or the questions about one block, asked from another thread.
    void elsewhere() {
        elsewhere_ = true;
        switch (in_.ConsumeIntegralInRange<int>(0, 2)) {
        case 0:
            free();
            break;
        case 1:
            reallocate();
            break;
        default:
            one_block();
        }
        elsewhere_ = false;
    }

    void allocate() {
        const std::size_t n = memmgr_fuzz::size_from(in_);
        const bool zero = in_.ConsumeBool();
        if (!memmgr_fuzz::oversized(n) && !model_.has_room(n))
            return;
        status st = status::ok;
        void* p = heap_->allocate(n, zero, st);
        if (p == nullptr)
            return require_acceptable(st, n);
        require(st == status::ok && !memmgr_fuzz::oversized(n), "an allocation succeeds as asked");
        handed_out(p, n);
        require(!zero || memmgr_fuzz::zeroed(p, n), "a zeroed block is zero");
        added(p, n);
    }

    void reallocate() {
        void* p = in_.ConsumeBool() ? model_.pick(in_) : nullptr;
        const std::size_t n = memmgr_fuzz::size_from(in_);
        const bool in_place = in_.ConsumeBool();
        const std::size_t old = p ? model_.at(p).size : 0;
        if (!memmgr_fuzz::oversized(n) && n > old && !model_.has_room(n - old))
            return;
        status st = status::ok;
        void* q = call([&] { return heap_->reallocate(p, n, in_place, st); });
        if (q == nullptr) {
            // In place only, a proper size may not fit where the block is; an oversized one is
            // size_overflow whichever way it is asked.
            if (!(in_place && p && st == status::cannot_resize_in_place &&
                  !memmgr_fuzz::oversized(n)))
                require_acceptable(st, n);
            else
                answered(st, true, "");
            if (p)
                model_.require_intact(p);
            return;
        }
        handed_out(q, n);
        require(!in_place || p == nullptr || q == p, "an in-place reallocation does not move");
        if (p == nullptr)
            return added(q, n);
        const memmgr_fuzz::block b = model_.at(p);
        require(memmgr_fuzz::intact_prefix(q, b.size < n ? b.size : n, b.seed, b.size),
                "reallocate keeps the first min(old, n) bytes");
        model_.take(p, q != p);
        paged_seen_.clear();
        added(q, n);
    }

    void free() {
        void* p = model_.pick(in_);
        if (p == nullptr)
            return;
        model_.require_intact(p);
        const status st = call([&] { return heap_->free(p); });
        answered(st, st == status::ok, "freeing a live block succeeds");
        if (st == status::ok) {
            model_.take(p, true);
            paged_seen_.clear(); // its address may be another kind of block's from now on
        }
    }

    void one_block() {
        void* p = model_.pick(in_);
        if (p == nullptr)
            return;
        std::size_t n = 0;
        const status sized = call([&] { return heap_->size(p, n); });
        answered(sized, sized == status::ok && n == model_.at(p).size, "size is exact");
        const bool owned = call([&] { return heap_->owns(p); });
        if (!owned)
            require(damaged_, "the heap owns its live blocks");
        require(!(owned && reported_), "a heap that said heap_corrupt owns nothing");
        const status st = call([&] { return heap_->validate(p); });
        answered(st, st == status::ok, "a live block validates");
        model_.require_intact(p);
    }

    // The whole heap against the model. Every block's contents are checked whole when it is freed,
    // at the end of the input and (a sample) by compact(); here their first bytes.
    void full_check() {
        model_.require_prefixes_intact();
        const walk_result w = walk(*heap_);
        answered(w.st, w.st == status::ok, "a heap used properly can be walked");
        if (w.st == status::ok) {
            require_entries_shaped(w.entries);
            model_.require_walk_matches(w.entries);
            note_paged(w.entries);
        }
        validate();
        check_usage();
    }

    // Up to 64 blocks of pages in use that a good walk saw: flip_header reaches their descriptors
    // on a heap already damaged, where no walk can tell which blocks are a page's.
    MEMMGR_FUZZ_BOOKKEEPING void note_paged(const std::vector<block_info>& entries) {
        paged_seen_.clear();
        for (const block_info& e : entries)
            if (e.paged && e.in_use && paged_seen_.size() < 64)
                paged_seen_.push_back(e.address);
    }

    // A loop over every block of the heap: bookkeeping, out of coverage.
    MEMMGR_FUZZ_BOOKKEEPING static void
    require_entries_shaped(const std::vector<block_info>& entries) {
        for (const block_info& e : entries) {
            require(address(e.address) % private_heap::alignment == 0, "walked blocks are aligned");
            require(e.paged || e.overhead >= header_size, "every segment block has a header");
        }
    }

    void check_usage() {
        const auto u = heap_->usage();
        // A damaged heap may keep a block it could not free after a move (see reallocate).
        require(damaged_ || u.used_blocks == model_.count(), "usage counts the live blocks");
        require(damaged_ || u.used_bytes == model_.bytes(), "usage counts the live bytes");
        require(u.reserved_bytes <= u.peak_reserved_bytes && u.used_bytes <= u.peak_used_bytes,
                "peaks are peaks");
        if (fixed())
            require(u.peak_reserved_bytes <= heap_->config().maximum_size,
                    "a fixed heap never maps more than its maximum");
    }

    void compact() {
        status st = status::ok;
        const std::size_t largest = heap_->compact(st);
        require_pages_intact();
        answered(st, st == status::ok, "compact succeeds");
        const walk_result w = walk(*heap_);
        answered(w.st, w.st == status::ok, "a compacted heap can be walked");
        if (w.st != status::ok)
            return;
        std::size_t seen = 0;
        for (const block_info& e : w.entries)
            if (!e.in_use && e.size > seen)
                seen = e.size;
        require(st != status::ok || largest == seen, "compact reports the largest free block");
    }

    // compact() gives back whole pages of free blocks: a live block that lost a page to it has lost
    // its first bytes or those at a page boundary inside it, which then read zero. Two bytes per
    // page tell: two neighbours of the pattern differ by 7 or 8, so they are never both zero.
    MEMMGR_FUZZ_BOOKKEEPING void require_pages_intact() const {
        constexpr std::size_t page = 4096;
        for (const auto& [p, b] : model_.blocks()) {
            bool ok = memmgr_fuzz::intact_prefix(p, b.size < 64 ? b.size : 64, b.seed, b.size);
            const auto* bytes = static_cast<const unsigned char*>(p);
            for (std::size_t i = page - address(p) % page; ok && i < b.size; i += page)
                for (std::size_t k = i; ok && k < i + 2 && k < b.size; ++k)
                    ok = !memmgr_fuzz::sampled(b.size, k) ||
                         bytes[k] == memmgr_test::pattern(b.seed, k);
            require(ok, "compact leaves live blocks intact");
        }
    }

    void release_all() {
        if (!process_)
            model_.require_all_intact(); // the blocks about to go: nothing else checks them whole
        const status st = heap_->release_all();
        require(st == status::ok,
                "release_all succeeds (the harness never damages the heap object)");
        if (process_) { // the process heap is never emptied: not one block freed
            model_.require_prefixes_intact();
            return;
        }
        model_.drop_all(false); // this harness never asks model_.freed()
        damaged_ = false;       // release_all rebuilds every header and list
        paged_seen_.clear();
        reported_ = false;
        const auto u = heap_->usage();
        require(u.used_blocks == 0 && u.used_bytes == 0, "release_all frees every block");
        // A serialized heap in a process with other threads (libFuzzer's own) keeps its page
        // directory too, whose fronts' locks those threads may be waiting on
        // (docs/private_heap.md, "Fronts").
        const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        const std::size_t directory =
            (sizeof(memmgr::detail::posix::page_directory) + page - 1) / page * page;
        const std::size_t initial = heap_->config().initial_size;
        require(u.reserved_bytes == initial ||
                    (heap_->config().serialize && u.reserved_bytes == initial + directory),
                "release_all keeps the initial segments only (and a serialized heap's directory)");
        require(heap_->validate(nullptr) == status::ok, "a released heap validates");
    }

    // What the engine must say of q, which is not one of its live blocks.
    status expected_refusal(const std::vector<block_info>& entries, const void* q) const {
        return memmgr_fuzz::private_heap_says_double_free(entries, q) ? status::double_free
                                                                      : status::foreign_block;
    }

    // \returns whether no walk entry can hold the header q would have, so that the engine must
    // answer foreign_block (memmgr_fuzz::private_heap_says_double_free): q is not 16-aligned, or
    // neither q's would-be header nor q lies in the heap's mappings (an entry's range is its
    // header and block: inside a segment or a large block's mapping, or, for a block of a page,
    // starting 16 bytes before the block, which lies in the page). Saves a walk of every page.
    bool no_block_holds_header_of(const void* q) const {
        if (address(q) % header_size != 0 || address(q) < header_size)
            return true;
        return !heap_->contains(static_cast<const char*>(q) - header_size, 1) &&
               !heap_->contains(q, 1);
    }

    void misuse() {
        int on_stack = 0;
        void* q = nullptr;
        switch (in_.ConsumeIntegralInRange<int>(0, 4)) {
        case 0:
        case 1:
            q = model_.pick_stale(in_);
            break;
        case 2:
            q = in_.ConsumeBool() ? static_cast<void*>(&on_stack) : foreign_;
            break;
        default:
            if (void* p = model_.pick(in_))
                q = static_cast<char*>(p) +
                    in_.ConsumeIntegralInRange<std::size_t>(1, model_.at(p).size + 2 * header_size);
        }
        if (q == nullptr || model_.live(q))
            return;
        // The exact refusal needs a walk (which a damaged heap refuses): then either is accepted.
        // An undamaged heap's answer is known without one when no block can hold q's header.
        // On a damaged heap no walk comes first (it would find the damage before the call does):
        // a refusal of either kind, or heap_corrupt, is accepted.
        bool exact = !damaged_;
        status expected = status::foreign_block;
        if (!damaged_ && !no_block_holds_header_of(q)) {
            const walk_result w = walk(*heap_);
            answered(w.st, w.st == status::ok, "a heap used properly can be walked");
            exact = w.st == status::ok;
            if (exact)
                expected = expected_refusal(w.entries, q);
        }
        const auto right = [&](status st) {
            return exact ? st == expected
                         : st == status::foreign_block || st == status::double_free;
        };
        std::size_t n = 0;
        status st = status::ok;
        switch (in_.ConsumeIntegralInRange<int>(0, 3)) {
        case 0:
            st = heap_->free(q);
            answered(st, right(st), "free refuses as documented");
            break;
        case 1:
            st = heap_->size(q, n);
            answered(st, right(st), "size refuses as documented");
            break;
        case 2: {
            void* r = heap_->reallocate(q, 64, in_.ConsumeBool(), st);
            require(r == nullptr, "reallocate of a pointer that is no block gives nothing");
            answered(st, right(st), "reallocate refuses as documented");
            break;
        }
        default:
            st = heap_->validate(q);
            answered(st, right(st), "validate refuses as documented");
            require(!heap_->owns(q), "owns refuses as documented");
        }
    }

    // --- damage ---------------------------------------------------------------------------------
    // Never on the process heap, which outlives the input.

    // Flips bits of one header (a block in use, or on a heap not yet damaged any block; for a
    // block of a page, a byte of its page's descriptor): validate must find it, and free and size
    // of the damaged block must refuse.
    void flip_header() {
        if (process_)
            return;
        block_info e{};
        const bool was_damaged = damaged_;
        if (!damaged_) {
            const walk_result w = walk(*heap_);
            if (w.st != status::ok || w.entries.empty())
                return;
            note_paged(w.entries);
            e = w.entries[in_.ConsumeIntegralInRange<std::size_t>(0, w.entries.size() - 1)];
        } else if (!paged_seen_.empty() && in_.ConsumeBool()) {
            // A block of a page that the last good walk saw, still live: its descriptor again.
            void* p =
                paged_seen_[in_.ConsumeIntegralInRange<std::size_t>(0, paged_seen_.size() - 1)];
            if (!model_.live(p))
                return;
            e = {p, model_.at(p).size, 0, true, true};
        } else if (void* p = model_.pick(in_)) {
            e = {p, model_.at(p).size, header_size, true};
        } else {
            return;
        }
        // A block of a page has no header: its page's descriptor is damaged instead. On a heap
        // already damaged (no walk to tell), the 16 bytes before a block are damaged unless they
        // belong to a live block (a block of a page may follow another directly).
        auto* header = static_cast<unsigned char*>(e.address) - header_size;
        std::size_t at = in_.ConsumeIntegralInRange<std::size_t>(0, header_size - 1);
        if (e.paged) {
            header = descriptor_of(e.address);
            constexpr std::size_t sealed = std::size(sealed_descriptor_bytes);
            const std::size_t choices =
                sealed + (e.in_use ? std::size(unsealed_descriptor_bytes) : 0);
            const auto pick = in_.ConsumeIntegralInRange<std::size_t>(0, choices - 1);
            at = pick < sealed ? sealed_descriptor_bytes[pick]
                               : unsealed_descriptor_bytes[pick - sealed];
        } else if (was_damaged && model_.overlaps(header, header_size)) {
            return;
        }
        bool sealed_flip = !e.paged; // every byte of a header is sealed or checked against another
        if (e.paged && e.in_use && in_.ConsumeIntegralInRange<int>(0, 3) == 0) {
            // Zeros over 1 to 8 bytes from there (a count, a link, two counts at once: what one
            // wide write does), when that changes anything.
            const std::size_t k =
                std::min<std::size_t>(in_.ConsumeIntegralInRange<std::size_t>(1, 8), 64 - at);
            if (std::all_of(header + at, header + at + k, [](unsigned char b) { return b == 0; }))
                return;
            std::memset(header + at, 0, k);
        } else {
            header[at] ^= in_.ConsumeIntegralInRange<unsigned char>(1, 255);
            sealed_flip = sealed_flip || std::find(std::begin(sealed_descriptor_bytes),
                                                   std::end(sealed_descriptor_bytes),
                                                   at) != std::end(sealed_descriptor_bytes);
        }
        damaged_ = true;
        // One flip in four goes unnoticed for now: the input goes on on a heap whose damage nothing
        // has looked for yet, so that the paths that trust what the flip changed (an unsealed
        // count, a link) meet it before validate does. The rules of a damaged heap hold from here.
        if (was_damaged || in_.ConsumeIntegralInRange<int>(0, 3) == 0)
            return;
        // The damaged block's own call finds the damage first, before validate has made every
        // answer heap_corrupt: its header (every byte sealed, or checked against its neighbour's)
        // or the sealed part of its page's descriptor. A fast path that skipped the check would
        // hand back a size, or free the block.
        if (e.in_use && sealed_flip) {
            std::size_t n = 0;
            const status st = heap_->size(e.address, n);
            if (st != status::heap_corrupt)
                std::fprintf(stderr,
                             "size of a %s block of %zu bytes, byte %zu damaged: status %d\n",
                             e.paged ? "paged" : "segment or large", e.size, at, int(st));
            require(st == status::heap_corrupt, "size finds its block's damaged header");
        }
        if (heap_->validate(nullptr) != status::heap_corrupt)
            std::fprintf(stderr,
                         "byte %zu of the header of a %s block of %zu bytes (+%zu) damaged\n", at,
                         e.in_use ? "used" : "free", e.size, e.overhead);
        require(heap_->validate(nullptr) == status::heap_corrupt,
                "validate finds a damaged header");
        reported_ = true;
        require(!heap_->owns(e.address), "a damaged block is not owned");
        std::size_t n = 0;
        require(heap_->size(e.address, n) == status::heap_corrupt, "size refuses a damaged block");
        require(heap_->free(e.address) == status::heap_corrupt, "free refuses a damaged block");
    }

    // Writes 1 to 16 bytes past the end of a block in use (its slack, the next header, the end
    // marker of its segment).
    void overflow() {
        if (process_)
            return;
        void* p = model_.pick(in_);
        if (p == nullptr)
            return;
        const std::size_t n = in_.ConsumeIntegralInRange<std::size_t>(1, header_size);
        auto* at = static_cast<unsigned char*>(p) + model_.at(p).size;
        // Every block keeps 16 bytes of its own mapping after it: a segment's end marker, a
        // large block's tail, the last page's tail (a large block ending at its mapping's end let
        // an overflow reach the next mapping, which could be the heap object itself).
        require(heap_->contains(at, n), "16 bytes past a block lie in the heap's own mappings");
        if (model_.overlaps(at, n)) // the next block of a page: no header between
            return;
        damaged_ = true;
        for (std::size_t i = 0; i < n; ++i)
            at[i] = in_.ConsumeIntegral<unsigned char>();
    }

    // Writes 1 to 8 bytes into memory freed earlier, at an offset of 0 to 47 (the first 16 bytes
    // hold a free block's links, or a cached block's): a use after free, wherever that memory is
    // now, except inside a live block (whose contents the model checks) or outside the heap.
    void write_after_free() {
        if (process_)
            return;
        void* q = model_.pick_stale(in_);
        if (q == nullptr)
            return;
        const std::size_t offset = in_.ConsumeIntegralInRange<std::size_t>(0, 47);
        const std::size_t n = in_.ConsumeIntegralInRange<std::size_t>(1, 8);
        auto* at = static_cast<unsigned char*>(q) + offset;
        if (!heap_->contains(at, n) || model_.overlaps(at, n))
            return;
        damaged_ = true;
        if (in_.ConsumeBool()) {
            // A link's worth of a chosen address: the block itself, its neighbour, or null.
            const std::uintptr_t choices[] = {address(q) - header_size, address(q) + 16 * offset, 0,
                                              address(foreign_)};
            const std::uintptr_t value = choices[in_.ConsumeIntegralInRange<std::size_t>(0, 3)];
            std::memcpy(at, &value, n);
        } else {
            for (std::size_t i = 0; i < n; ++i)
                at[i] = in_.ConsumeIntegral<unsigned char>();
        }
    }

    void added(void* p, std::size_t n) {
        model_.add(p, n, in_.ConsumeIntegral<unsigned char>(), private_heap::alignment);
        std::size_t size = 0;
        const status st = heap_->size(p, size);
        answered(st, st == status::ok && size == n, "a new block has the size asked for");
    }

    FuzzedDataProvider& in_;
    private_heap* heap_;
    bool process_;
    bool elsewhere_ = false; // the heap's calls are the other thread's (elsewhere())
    std::vector<void*> paged_seen_;
    bool damaged_ = false;
    bool reported_ = false;
    // Another heap, made once for the whole run (two system calls fewer per input): its block is
    // a foreign pointer to heap_, and no damage done to heap_ may ever reach it.
    struct other_heap {
        private_heap* heap;
        void* block;
    };
    static other_heap make_other() {
        private_heap* h = private_heap::create(heap_config{});
        require(h != nullptr, "create() gives a second heap");
        status st = status::ok;
        void* block = h->allocate(64, false, st);
        require(block != nullptr, "the second heap gives a block");
        return {h, block};
    }
    inline static const other_heap other = make_other();
    private_heap* other_ = other.heap;
    void* foreign_ = other.block;
    model model_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) { // the process-wide heap, never destroyed
        runner(in, private_heap::process(), true).run();
        return 0;
    }
    heap_config config;
    config.initial_size = in.ConsumeIntegralInRange<std::size_t>(0, 2 << 20);
    if (in.ConsumeBool())
        config.maximum_size = in.ConsumeIntegralInRange<std::size_t>(1, 8 << 20);
    config.serialize = in.ConsumeBool();
    // The pages of big free runs go back at once (odd sizes) or wait within a total of up to
    // 256 KiB (even ones), so that waiting runs are carved, merged and given back often; taken
    // from the initial size so that the committed corpus keeps its meaning.
    config.decommit_total_threshold =
        config.initial_size % 2 != 0 ? 0 : config.initial_size % (256u << 10);
    // The runs whose pages go back: from 4 KiB, 16 KiB, 64 KiB (the default) or never, from two
    // more bits of the initial size (so the input's layout is unchanged; three in four committed
    // inputs run with another threshold than they were found with, their coverage merged again).
    constexpr std::size_t thresholds[] = {4u << 10, 16u << 10, 64u << 10, SIZE_MAX};
    config.decommit_threshold = thresholds[(config.initial_size >> 12) & 3];
    runner(in, private_heap::create(config), false).run();
    return 0;
}
