// The private heap engine's state (private_heap::impl) and its hot path, inline: the front end's
// take and put, the segment lookup, headers, links and bins. The rest of its members are defined
// by concern in the .cpp files beside this one (docs/private_heap.md, "Source layout").
#pragma once

#include "../private_heap.hpp"
#include "layout.hpp"
#include "os.hpp"
#include "pages.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <utility>

namespace memmgr::detail::posix {

struct private_heap::impl : private_heap {
    mutable heap_lock lock;
    // The list of live serialized heaps that fork() locks (see fork_prepare), under the list's
    // own lock (forks()). First in the object, with the lock: farthest from the first block.
    impl* fork_next = nullptr;
    impl* fork_prev = nullptr;
    // The small-block pages (pages.hpp): mapped at the first small allocation of a growable heap;
    // nullptr before, and always for a fixed heap, whose small blocks stay in its segments.
    page_directory* pages = nullptr;
    heap_config cfg{};
    bool is_process = false;
    std::uint8_t waiting_count = 0; // entries of waiting[] (below), at most max_waiting
    std::size_t page = 4096;
    std::size_t budget = 0; // the most that may be mapped at once: maximum_size, or SIZE_MAX
    std::uint64_t cookie = 0;
    std::uint64_t link_key = 0; // mixed into every encoded free-list link (see link_mask)
    /// Draws the cookie and the link key, each on its own (os.hpp, secret): a link key read back
    /// from a block (a block handed out holds what its links were, encoded) tells nothing of the
    /// cookie that seals the headers. (Derived from the cookie, it gave the cookie away.)
    void draw_keys() noexcept {
        cookie = secret(address(this));
        link_key = secret(address(this) ^ 0x2545f4914f6cdd1du); // nothing of the cookie in it
    }
    std::uint64_t guard_value = 0; // expected in the two words of guard() (see self_bytes)
    std::size_t free_count = 0;    // blocks in the bins: bounds every walk of a bin's list
    // Free blocks above the decommit threshold whose pages wait, resident, to go back
    // (decommit.cpp; docs/private_heap.md, "Giving memory back"), oldest first, with how many
    // pages each counts for. Hints only: an entry is checked against its block when it is used,
    // so a stale or damaged one gives nothing back. (Eight: the heap object must stay within
    // Windows' 3 KiB allowance, see create.)
    static constexpr std::size_t max_waiting = 8;
    const header* waiting[max_waiting]{};
    std::uint32_t waiting_pages[max_waiting]{};
    std::size_t waiting_bytes = 0; // the entries' pages, in bytes
    // Set at the first damage found; from then on every operation answers heap_corrupt (see
    // corrupt()) until release_all() rebuilds the heap. Atomic: a thread holding only its front's
    // lock may find damage while others read the flag under theirs.
    mutable std::atomic<bool> damaged{false};
    // True while a thread holds every lock of the heap (lock_all): the single-threaded paths then
    // run as they do in a process with one thread. Read and written only under a lock that
    // lock_all takes too.
    mutable bool exclusive = false;
    mutable page_directory* locked_fronts = nullptr; // the directory whose fronts lock_all took
    heap_usage stats{};
    std::size_t segment_bytes = 0; // sum of segment lengths: drives the doubling
    std::uint64_t bitmap[bitmap_words]{};
    header* bins[num_bins]{};
    table<segment, inline_segments> segments{};
    table<large_block, inline_larges> larges{};
    // The front end: per class, a singly linked LIFO list through the first word of the payloads.
    header* cache[cache_classes]{};
    std::uint8_t cache_count[cache_classes]{};       // at most cache_class_cap
    mutable std::uint8_t segment_hint[hint_slots]{}; // see segment_of(); segment index + 1, 0: none

    /// The heap object, then a 16-byte guard right before the first block of the first segment:
    /// an underrun of that block lands in the guard (checked on the slow paths and by validate),
    /// and a longer one in the segment hint table and the front end's heads and counts, which are
    /// checked before they are used (the tables that are not sit at the object's start).
    static constexpr std::size_t self_bytes() noexcept { return round_up(sizeof(impl) + 16, 64); }
    std::uint64_t* guard() const noexcept {
        return reinterpret_cast<std::uint64_t*>(address(this) + self_bytes() - 16);
    }
    void write_guard() noexcept {
        guard_value = mix(cookie ^ 0x5bd1e9955bd1e995u);
        guard()[0] = guard_value;
        guard()[1] = ~guard_value;
    }
    bool guard_intact() const noexcept {
        return guard()[1] == ~guard_value && guard()[0] == guard_value;
    }

    /// Damage found: the heap answers heap_corrupt from now on (or, with terminate_on_corruption,
    /// the process ends here). Holding every lock (or none needed), the pages' inline paths, which
    /// do not test `damaged`, are made to miss and reach the slow paths, which do. The front end's
    /// caches, which any thread holding the heap's lock may be using, are left as they are: their
    /// inline paths test `damaged` (one load), so that a thread holding only its front may call
    /// this.
    /// \returns heap_corrupt.
    [[gnu::cold]] MEMMGR_ENGINE_SCAN status corrupt() const noexcept;
    /// \returns st, having recorded the damage when st is heap_corrupt.
    status noted(status st) const noexcept { return st == status::heap_corrupt ? corrupt() : st; }
    /// Whether an operation must take a lock (see every_lock): allocate and free then run on
    /// the thread's front.
    bool locking() const noexcept { return cfg.serialize && !only_thread(); }
    /// Whether the pages' single-threaded paths may run: not on fronts, or every lock held.
    bool alone() const noexcept { return exclusive || !locking(); }
    /// A page descriptor's sealed fields and its seal, as values. A thread of another front reads
    /// them with view_of while the owner may be starting or retiring the page (which store each
    /// field atomically: store_shape), and trusts the view only once it passes its seal
    /// (view_sound): a view that mixes two shapes fails, but for a 2^-32 chance.
    struct desc_view {
        std::uintptr_t area;
        std::uint8_t* states;
        std::uint32_t block;
        std::uint32_t recip;
        std::uint16_t capacity;
        std::uint8_t cls;
        std::uint8_t owner;
        std::uint32_t seal;
        bool operator==(const desc_view&) const = default;
    };
    // --- fronts (fronts.cpp; docs/private_heap.md, "Fronts") ------------------------------------
    /// allocate() and free() of a serialized heap while the process has other threads: the pages
    /// of the thread's front under that front's lock, everything else under the heap's lock.
    [[gnu::noinline]] void* allocate_fronted(std::size_t n, bool zero, status& st) noexcept;
    [[gnu::noinline]] status free_fronted(void* p) noexcept;
    /// size(), owns() and reallocate() of a serialized heap while the process has other threads:
    /// a block of a page under the thread's front (its state byte read atomically, changed by
    /// compare-exchange), every other block under the heap's lock.
    status size_fronted(const void* p, std::size_t& out) const noexcept;
    void* reallocate_fronted(void* p, std::size_t n, bool in_place_only, status& st) noexcept;
    /// The part of those under the thread's front (held by the caller): paged false when p is in
    /// no page segment; else true with d, its sealed fields v (loaded atomically), idx and the
    /// state s of a block in use; or `refused` set, for the caller to ask again under every lock
    /// (what was read of another front's page may be torn or stale).
    void page_block_fronted(const void* p, page_directory& dir, page_desc*& d, desc_view& v,
                            std::size_t& idx, std::uint8_t& s, bool& paged,
                            bool& refused) const noexcept;
    /// \returns the directory, read atomically (a thread of another front may be making it).
    page_directory* directory() const noexcept {
        return std::atomic_ref(const_cast<page_directory*&>(pages)).load(std::memory_order_acquire);
    }
    /// The running thread's front, and whether the thread owns it (then it takes no lock).
    struct front_id {
        std::size_t index;
        bool owned;
    };
    /// \returns the running thread's front, chosen at its first call: one of its own while one is
    /// free, else the shared front (a thread gives its front back when it ends).
    static front_id my_front() noexcept;
    /// In the child of a fork: only the running thread's front stays owned.
    static void forget_owned_fronts() noexcept;
    /// A front held for one operation: its lock, or, by its owner, its `busy` flag (page_front).
    class front_hold {
    public:
        front_hold(page_front& f, bool owned) noexcept : f_(f), locked_(!owned) {
            if (owned) {
                // The owner's half of the asymmetric fence: busy, a compiler barrier, then stop.
                // Either lock_all's fence comes after the busy store, and lock_all waits for it to
                // clear, or this thread reads stop after lock_all's fence, and sees it set.
                f.busy.store(1, std::memory_order_relaxed);
                std::atomic_signal_fence(std::memory_order_seq_cst);
                if (f.stop.load(std::memory_order_acquire) == 0) [[likely]]
                    return;
                f.busy.store(0, std::memory_order_release);
                locked_ = true;
            }
            f.lock.lock();
        }
        ~front_hold() {
            if (locked_)
                f_.lock.unlock();
            else
                f_.busy.store(0, std::memory_order_release);
        }
        front_hold(const front_hold&) = delete;
        front_hold& operator=(const front_hold&) = delete;

    private:
        page_front& f_;
        bool locked_;
    };
    /// Holds every front of dir: their locks, their stop flags set, and no owner inside.
    static void stop_fronts(page_directory& dir) noexcept;
    /// Holds every front, then takes the heap's lock; exclusive is then true.
    void lock_all() const noexcept;
    void unlock_all() const noexcept;
    /// The owner's side of remote frees: moves d's remote list to its free list, each block and
    /// link checked (the block pending, the link within bump, its old state sound, the walk
    /// bounded by `used`). \returns false, having recorded the damage, at the first that fails.
    /// \requires the lock of d's owner front (or every lock).
    bool adopt_remote(page_desc* d) noexcept;
    /// Adopts the remote lists of every page, moving pages that gain room back to their queues,
    /// and folds every front's counters into the statistics, so that walk, validate, usage,
    /// compact and release_all see the heap exact. \requires every lock (or one thread).
    void settle_fronts() noexcept;
    /// Every lock of a serialized heap when another thread could be using it (or, with `always`,
    /// even in a process with one thread: walk runs the caller's code, which might start one): the
    /// fronts' and the heap's (lock_all). The operations other than allocate and free take it, and
    /// then run the single-threaded paths.
    class every_lock {
    public:
        explicit every_lock(const impl& h, bool always = false) noexcept
            : h_(h.cfg.serialize && (always || !only_thread()) ? &h : nullptr) {
            if (h_)
                h_->lock_all();
        }
        ~every_lock() {
            if (h_)
                h_->unlock_all();
        }
        every_lock(const every_lock&) = delete;
        every_lock& operator=(const every_lock&) = delete;

    private:
        const impl* h_;
    };
    /// settle_fronts() for the whole-heap operations that are const (impl is made in mutable
    /// memory by create()). \requires every lock (or one thread).
    /// Nothing to settle while the process has one thread: no front has run since it started (a
    /// fork's child settles in fork_child), and heaps that are not serialized never run on fronts.
    void settle() const noexcept {
        if (pages && locking())
            const_cast<impl&>(*this).settle_fronts();
    }
    /// The pages' part of allocate_fronted, holding front k's lock (f): the head page of n's class,
    /// adopting its remote list when its own free list is empty. \returns nullptr with the heap
    /// found damaged, or with map true when a new page needs a page segment mapped first.
    void* front_take(std::size_t n, page_front& f, std::size_t k, bool& map) noexcept;
    /// \returns a page with room for class c when f's queue has none: a full page that gained
    /// room from remote frees, else a new page (under the heap's lock); nullptr as front_take.
    page_desc* front_refill(std::size_t c, page_front& f, std::size_t k, bool& map) noexcept;
    /// free() of a block of a page, holding front k (f): into its page's free list if the page is
    /// k's, else claimed and pushed onto the page's remote list. \returns as page_release when
    /// `exact` (every lock held); otherwise a pointer it refuses sets `refused` and changes
    /// nothing: what it read of another front's page may be torn or stale (its owner restarting
    /// the page), so the caller asks again under every lock (free_exact).
    status front_release(std::uintptr_t a, std::uintptr_t base, page_front& f, std::size_t k,
                         bool exact, bool& refused) noexcept;
    /// \returns `refused` set and ok when !exact, else page_refusal's verdict.
    status front_refusal(std::uintptr_t a, std::uintptr_t base, bool exact,
                         bool& refused) const noexcept {
        if (exact)
            return page_refusal(a, base);
        refused = true;
        return status::ok;
    }
    /// A free that the fronts refused, done again holding every lock, where nothing changes
    /// meanwhile: the verdict is the single-threaded code's, and damage it finds is damage.
    [[gnu::noinline, gnu::cold]] status free_exact(void* p) noexcept;
    /// Unmaps, under every lock, the page segments left without pages while the heap ran on
    /// fronts (page_directory::sweep), keeping one.
    [[gnu::noinline]] void sweep_segments() noexcept;
    /// free_fronted's part under the thread's front lock: paged false when p is in no page
    /// segment (nothing done then).
    status free_to_front(void* p, page_directory& dir, bool& paged, bool& refused) noexcept;
    /// A page of d's owner front that was full and has room again (a free or an adoption) leaves
    /// the full list for its queue, as its head.
    void page_unfull(page_desc* d) noexcept;
    bool fixed() const noexcept { return cfg.maximum_size != 0; }
    std::size_t room() const noexcept { return budget - stats.reserved_bytes; }

    // --- headers ---------------------------------------------------------------------------------
    std::uint32_t seal_of(std::uint64_t word, const header* h) const noexcept {
        // One multiplication by an odd constant (a bijection) of the word, the cookie and the
        // address: a header copied elsewhere, a flipped bit or random data pass with a 2^-32
        // chance. Never 0, so a zeroed header (wiped, or a page given back with MADV_DONTNEED)
        // never passes.
        const std::uint64_t x =
            (word ^ cookie ^ std::rotl(std::uint64_t{address(h)}, 32)) * 0x9e3779b97f4a7c15u;
        return static_cast<std::uint32_t>(x >> 32) | 1u;
    }
    static std::uint64_t first_word(const header* h) noexcept {
        std::uint64_t word;
        std::memcpy(&word, h, sizeof word);
        return word;
    }
    bool sealed(const header* h) const noexcept { return h->seal == seal_of(first_word(h), h); }
    /// Writes a whole header.
    void write(header* h, std::uint32_t prev_units, std::uint32_t size_units, std::uint8_t flags,
               std::size_t slack) const noexcept {
        h->prev_units = prev_units;
        reseal(h, size_units, flags, slack);
    }
    /// Writes the sealed word and the seal, keeping prev_units. The word is built in a register
    /// and stored at once: reading back fields just stored one by one would stall on store
    /// forwarding.
    void reseal(header* h, std::uint32_t size_units, std::uint8_t flags,
                std::size_t slack) const noexcept {
        static_assert(offsetof(header, size_units) == 0 && offsetof(header, flags) == 4 &&
                      offsetof(header, slack) == 5 && offsetof(header, unused) == 6);
        static_assert(std::endian::native == std::endian::little);
        const std::uint64_t word = std::uint64_t{size_units} | (std::uint64_t{flags} << 32) |
                                   (static_cast<std::uint64_t>(slack) << 40);
        std::memcpy(h, &word, sizeof word);
        h->seal = seal_of(word, h);
    }
    static void set_prev(header* h, std::uint32_t prev_units) noexcept {
        h->prev_units = prev_units;
    }
    /// A large block's header: sealed, and its unsealed prev_units 0 as written, so that damage to
    /// any of its bytes is found.
    bool large_header_sound(const header* h) const noexcept {
        return sealed(h) && h->flags == (flag_in_use | flag_large) && h->size_units == 0 &&
               h->prev_units == 0;
    }
    /// A header swallowed by a merge must not pass for a block again (a double free of it).
    static void wipe(header* h) noexcept { h->seal = 0; }

    // --- links -----------------------------------------------------------------------------------
    /// Free-list links are stored as address ^ link_mask(slot): the heap's secret key mixed with
    /// the slot's own address, so that a link written by a use after free, or copied from another
    /// slot, decodes to an address the checks refuse (not in a segment, not 16-aligned, not a
    /// sealed header of the right kind), and a zeroed link is not read as the end of a list.
    std::uintptr_t link_mask(const std::uintptr_t* slot) const noexcept {
        return static_cast<std::uintptr_t>(link_key ^ std::rotl(std::uint64_t{address(slot)}, 32));
    }
    header* next_of(const header* h) const noexcept {
        const std::uintptr_t* slot = &links(h).next;
        return header_at(*slot ^ link_mask(slot));
    }
    header* prev_of(const header* h) const noexcept {
        const std::uintptr_t* slot = &links(h).prev;
        return header_at(*slot ^ link_mask(slot));
    }
    void put_next(header* h, const header* to) const noexcept {
        std::uintptr_t* slot = &links(h).next;
        *slot = address(to) ^ link_mask(slot);
    }
    void put_prev(header* h, const header* to) const noexcept {
        std::uintptr_t* slot = &links(h).prev;
        *slot = address(to) ^ link_mask(slot);
    }

    // --- bins ------------------------------------------------------------------------------------
    // A bin's head is set only to blocks checked as free blocks of a segment, so it is followed
    // as an address of this heap; every link read from a block is checked before it is trusted.
    void bin_insert(header* h) noexcept {
        const std::size_t i = bin_index(block_bytes(h));
        header* head = bins[i];
        put_next(h, head);
        put_prev(h, nullptr);
        if (head)
            put_prev(head, h);
        else
            bitmap[i / 64] |= std::uint64_t{1} << (i % 64);
        bins[i] = h;
        ++free_count;
    }
    /// \returns whether h, a sealed free block, can be taken out of its bin: its neighbours in the
    /// list are free blocks of this heap's segments in the same bin that point back at h (or h is
    /// the bin's head), as glibc checks before unlinking.
    bool unlinkable(const header* h) const noexcept {
        const std::size_t i = bin_index(block_bytes(h));
        const header* const prev = prev_of(h);
        const header* const next = next_of(h);
        if (prev ? !free_in_bin(prev, i) || next_of(prev) != h : bins[i] != h)
            return false;
        return !next || (free_in_bin(next, i) && prev_of(next) == h);
    }
    /// \requires unlinkable(h).
    void bin_remove(header* h) noexcept {
        const std::size_t i = bin_index(block_bytes(h));
        header* const prev = prev_of(h);
        header* const next = next_of(h);
        if (prev)
            put_next(prev, next);
        else
            bins[i] = next;
        if (next)
            put_prev(next, prev);
        if (!bins[i])
            bitmap[i / 64] &= ~(std::uint64_t{1} << (i % 64));
        --free_count;
    }
    /// Puts now in old's place in old's bin (both sizes map to that bin). \requires
    /// unlinkable(old).
    void bin_replace(header* old, header* now) noexcept {
        header* const prev = prev_of(old);
        header* const next = next_of(old);
        put_next(now, next);
        put_prev(now, prev);
        if (prev)
            put_next(prev, now);
        else
            bins[bin_index(block_bytes(now))] = now;
        if (next)
            put_prev(next, now);
    }
    /// \returns the first non-empty bin from i on, or num_bins.
    std::size_t next_bin(std::size_t i) const noexcept {
        std::size_t w = i / 64;
        if (w >= bitmap_words)
            return num_bins;
        std::uint64_t bits = bitmap[w] & (~std::uint64_t{0} << (i % 64));
        while (bits == 0) {
            if (++w == bitmap_words)
                return num_bins;
            bits = bitmap[w];
        }
        return w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
    }
    /// \returns a free block of at least bs bytes, still in its bin, or nullptr. Exact bins hold
    /// one size; a logarithmic bin's first fit_probe blocks are probed for the smallest that fits
    /// (see best_fit_in), then the first non-empty higher bin's, where every block fits.
    header* find_fit(std::size_t bs) const noexcept;
    /// find_fit's last resort, before the heap grows or reports heap_full: the whole list of bs's
    /// logarithmic bin, of which find_fit probes only fit_probe blocks. Off the fast path.
    header* find_fit_anywhere(std::size_t bs) const noexcept;
    /// \returns the smallest of bin i's first `limit` blocks that holds bs bytes (the first of
    /// them on a tie; the search ends at a block that leaves too little to split, or at most a
    /// sixteenth of bs), or nullptr (having recorded the damage if an entry is not a free block of
    /// the bin, or the list is longer than the free blocks there are: a cycle).
    header* best_fit_in(std::size_t i, std::size_t bs, std::size_t limit) const noexcept;

    // --- front end -------------------------------------------------------------------------------
    /// \returns the payload of a cached block for n bytes, now in use, or nullptr if its class is
    /// empty. \requires n <= cache_max_request.
    [[gnu::always_inline]] void* cache_take(std::size_t n) noexcept {
        // cache_class(block_size_for(n)), without the branch on min_block.
        const std::size_t c = n <= unit ? 0 : (n + unit - 1) / unit - 1;
        header* h = cache[c];
        if (!h || damaged.load(std::memory_order_relaxed))
            return nullptr;
        // The head is checked before it is used: its link was decoded from a freed block. Inline,
        // the segment comes from the hint table alone; a miss or a failed check returns nullptr,
        // and the slow path asks the segment table (cache_take_unhinted), which decides. No call
        // here: the inline path keeps needing no stack frame.
        const std::uintptr_t a = address(h);
        const std::size_t si =
            std::size_t{segment_hint[(a >> hint_granule_shift) % hint_slots]} - 1; // wraps: none
        if (si >= segments.count || !head_sound(segments.data[si], h, c)) [[unlikely]]
            return nullptr;
        return cache_pop(h, c, n);
    }
    /// \returns whether h, the head of class c, is a sealed cached block of that class inside s,
    /// counted. The seal is checked against the word a cached block of class c has; the word
    /// itself need not be read, since taking the block rewrites it.
    [[gnu::always_inline]] bool head_sound(const segment& s, const header* h,
                                           std::size_t c) const noexcept {
        const std::size_t bs = (c + min_block / unit) * unit;
        const std::uintptr_t a = address(h);
        const std::uintptr_t end = address(s.end());
        const std::uint64_t word = std::uint64_t{units(bs)} | (std::uint64_t{flag_cached} << 32);
        // s may be a stale hint that does not hold a at all: both bounds are checked.
        return a % alignment == 0 && a >= address(s.first) && a <= end - bs &&
               h->seal == seal_of(word, h) && cache_count[c] != 0;
    }
    [[gnu::always_inline]] void* cache_pop(header* h, std::size_t c, std::size_t n) noexcept {
        const std::size_t bs = (c + min_block / unit) * unit;
        cache[c] = next_of(h);
        --cache_count[c];
        reseal(h, units(bs), flag_in_use, bs - header_size - n);
        on_allocate(n);
        return h + 1;
    }
    /// cache_take() when the hint table does not vouch for the head: the segment table decides.
    /// A head that fails is damage: \returns nullptr, and the slow path reports heap_corrupt.
    void* cache_take_unhinted(std::size_t n) noexcept;
    /// Moves every cached block to the bins, each merged with the free blocks either side. Each
    /// is checked first (a cached block of its class, in a segment, its neighbours fit to merge
    /// with, within its class's count): the first that fails is damage, and the flush stops there.
    void flush_caches() noexcept;
    bool any_cached() const noexcept;
    /// Takes the cached block h out of its class list. \returns false if it is not there.
    bool cache_unlink(header* h) noexcept;

    // --- accounting ------------------------------------------------------------------------------
    void on_map(std::size_t n) noexcept {
        stats.reserved_bytes += n;
        if (stats.reserved_bytes > stats.peak_reserved_bytes)
            stats.peak_reserved_bytes = stats.reserved_bytes;
    }
    void on_unmap(std::size_t n) noexcept { stats.reserved_bytes -= n; }
    void on_used(std::size_t added, std::size_t removed) noexcept {
        stats.used_bytes = stats.used_bytes - removed + added;
        if (stats.used_bytes > stats.peak_used_bytes)
            stats.peak_used_bytes = stats.used_bytes;
    }
    void on_allocate(std::size_t n) noexcept {
        on_used(n, 0);
        ++stats.used_blocks;
        ++stats.total_allocations;
    }
    void on_release(std::size_t n) noexcept {
        stats.used_bytes -= n;
        --stats.used_blocks;
    }

    template <class T, std::size_t N>
    status make_room(table<T, N>& t) noexcept {
        if (t.count < t.capacity)
            return status::ok;
        const std::size_t bytes = round_up(t.capacity * 2 * sizeof(T), page);
        if (bytes > room())
            return status::heap_full;
        void* mem = map_pages(bytes);
        if (!mem)
            return status::out_of_memory;
        std::memcpy(mem, t.data, t.count * sizeof(T));
        if (t.mapped_bytes) {
            unmap_pages(address(t.data), t.mapped_bytes);
            on_unmap(t.mapped_bytes);
        }
        t.data = static_cast<T*>(mem);
        t.capacity = bytes / sizeof(T);
        t.mapped_bytes = bytes;
        on_map(bytes);
        return status::ok;
    }
    template <class T, std::size_t N>
    void back_inline(table<T, N>& t) noexcept {
        if (!t.mapped_bytes || t.count > N)
            return;
        std::memcpy(t.storage, t.data, t.count * sizeof(T));
        unmap_pages(address(t.data), t.mapped_bytes);
        on_unmap(t.mapped_bytes);
        t.reset_inline();
    }

    // --- segments --------------------------------------------------------------------------------
    /// Makes [first, end) of s one free block in its bin, and writes the end marker.
    void format(const segment& s) noexcept;
    void add_segment(std::uintptr_t base, std::size_t length, header* first, bool initial) noexcept;
    /// Maps a new segment able to hold a block of bs bytes. \returns its free block, or nullptr
    /// with st set.
    header* grow(std::size_t bs, status& st) noexcept;
    /// \returns the index of the segment holding a, or segments.count.
    std::size_t segment_of(std::uintptr_t a) const noexcept {
        // Every free looks its pointer up: first in a small direct-mapped table from 64 KiB
        // granules to the segment last found there, checked against the segment itself (so a
        // stale entry is only a miss), then by binary search.
        const std::size_t slot = (a >> hint_granule_shift) % hint_slots;
        const std::size_t hinted = std::size_t{segment_hint[slot]} - 1; // wraps when empty
        if (hinted < segments.count &&
            a - segments.data[hinted].base < segments.data[hinted].length)
            return hinted;
        const std::size_t i = segments.upper(a);
        if (i == 0 || a - segments.data[i - 1].base >= segments.data[i - 1].length)
            return segments.count;
        if (i <= std::numeric_limits<std::uint8_t>::max())
            segment_hint[slot] = static_cast<std::uint8_t>(i);
        return i - 1;
    }

    // --- blocks ----------------------------------------------------------------------------------
    /// \returns whether h, found in a bin for a block of bs bytes, may be carved: a sealed free
    /// block of a segment, of at least bs bytes and within its segment; the header after it sealed
    /// and pointing back; its prev_units naming the block before; its list links sound.
    bool carvable(const header* h, std::size_t bs) const noexcept;
    /// \returns whether the unsealed prev_units of h, a block of s whose own header is sound,
    /// names the block before it: 0 for the first block, else a header inside s of that size.
    static bool prev_sound(const segment& s, const header* h) noexcept {
        const std::size_t before = std::size_t{h->prev_units} * unit;
        if (before == 0)
            return h == s.first;
        return before <= address(h) - address(s.first) &&
               header_at(address(h) - before)->size_units == h->prev_units;
    }

    /// Turns the free block h (in its bin, at least bs bytes) into an in-use block for n bytes,
    /// splitting off the rest when it can hold a block. \returns the payload, or nullptr (the
    /// heap then damaged, nothing changed) when h fails carvable().
    void* carve(header* h, std::size_t bs, std::size_t n) noexcept;

    void* allocate_large(std::size_t n, status& st) noexcept;

    /// allocate(): a growable heap's pages first, inline; then the rest. st is written first:
    /// allocate_slow writes it again on every path, so that every way out of the inline path is a
    /// return or a tail call, and it saves no register.
    [[gnu::always_inline]] void* allocate_block(std::size_t n, bool zero, status& st) noexcept {
        st = status::ok;
        if (n <= page_max_request && pages && !zero) [[likely]] {
            if (void* p = page_take(n)) [[likely]]
                return p;
            return allocate_slow(n, zero, st);
        }
        return allocate_from_segments(n, zero, st);
    }
    /// allocate() of what pages do not serve (a fixed heap's blocks, blocks above 1 KiB,
    /// zero-filled blocks): the front end's fast path, else allocate_slow.
    [[gnu::noinline]] void* allocate_from_segments(std::size_t n, bool zero, status& st) noexcept {
        if (n <= cache_max_request && !zero)
            if (void* p = cache_take(n))
                return p;
        return allocate_slow(n, zero, st);
    }

    [[gnu::noinline]] void* allocate_slow(std::size_t n, bool zero, status& st) noexcept;
    /// The allocation and free of a reallocation that moves a block of the segments or a large
    /// block: allocate_block and free_block alone; on fronts (the heap's lock held only), from and
    /// to the segments, since the pages are the fronts'.
    void* allocate_moved(std::size_t n, status& st) noexcept {
        if (alone())
            return allocate_block(n, false, st);
        st = status::ok;
        if (n <= cache_max_request)
            if (void* p = cache_take(n))
                return p;
        return allocate_slow(n, false, st);
    }
    status free_moved(void* p) noexcept { return alone() ? free_block(p) : free_to_segments(p); }

    /// What locate() found.
    struct found {
        header* h = nullptr;
        header* prev = nullptr; // the block before h in its segment (nullptr if h is first)
        header* next = nullptr; // the block (or end marker) after h
        std::size_t segment_index = 0;
        std::size_t large_index = 0;
        bool is_large = false;
        page_desc* page = nullptr; // a block of this page (then h is nullptr)
        std::size_t page_index = 0;
    };

    /// Finds the neighbours of h, a block of segment s whose own header is sound, and checks them
    /// as a merge needs them: the next header (or end marker) passes its seal and points back; the
    /// previous block (nullptr if h is first) has the size h says and, if it is in a bin, passes
    /// its seal. \returns false if they fail.
    bool neighbours(const segment& s, header* h, header*& prev, header*& next) const noexcept;
    /// \returns whether the header after next, a block of segment s about to be merged, is sound
    /// (inside s, sealed, pointing back), so that its prev_units can be updated.
    bool sound_after(const segment& s, header* next) const noexcept;
    /// neighbours(), and what a merge with them further needs: a next block in a bin ends where
    /// a sound header points back, and each neighbour in a bin can be unlinked from it.
    bool mergeable(const segment& s, header* h, header*& prev, header*& next) const noexcept;

    /// Why a pointer inside segment s failed the quick checks, by walking s from its start. Only
    /// reached for bad pointers and damaged heaps, so its cost (the blocks before p) is acceptable.
    status classify(const segment& s, std::uintptr_t a) const noexcept;

    /// \returns ok and fills f if p is the payload of a block in use; the reason otherwise. Reads
    /// only memory of this heap's segments and mappings.
    status locate(const void* p, found& f) const noexcept;

    void release_large(std::size_t i) noexcept;

    /// The fast path of free: p is a small block in use of a segment, its header passes its seal,
    /// its unsealed prev_units agrees with the block before, and its class has room. It goes to
    /// the front end without merging, so the block after it is not read here: that one is checked
    /// when the block is merged (flush_caches) and by validate. \returns false, having changed
    /// nothing, otherwise: free_to_bins() then does the full check.
    [[gnu::always_inline]] bool free_to_cache(void* p) noexcept {
        if (damaged.load(std::memory_order_relaxed))
            return false; // free_to_bins says heap_corrupt
        const std::uintptr_t a = address(p);
        const std::size_t si = segment_of(a);
        if (si == segments.count)
            return false;
        const segment& s = segments.data[si];
        const std::uintptr_t end = address(s.end());
        if (a % alignment != 0 || a < address(s.first) + header_size || a > end)
            return false;
        header* h = header_at(a - header_size);
        const std::uint64_t word = first_word(h);
        if (h->seal != seal_of(word, h))
            return false;
        const auto size_units = static_cast<std::uint32_t>(word);
        const std::size_t c = std::size_t{size_units} - min_block / unit; // wraps if too small
        if (h->flags != flag_in_use || c >= cache_classes || cache_count[c] >= cache_class_cap)
            return false;
        const std::size_t bs = std::size_t{size_units} * unit;
        if (bs > end - address(h))
            return false;
        // The unsealed prev_units must agree with the block before (whose size is sealed), as on
        // the merging path: damage there is refused here too, not carried into the cache.
        const std::size_t before = std::size_t{h->prev_units} * unit;
        if (before == 0 ? h != s.first
                        : before > address(h) - address(s.first) ||
                              header_at(address(h) - before)->size_units != h->prev_units)
            return false;
        on_release(capacity(h) - h->slack);
        reseal(h, size_units, flag_cached, 0);
        put_next(h, cache[c]);
        cache[c] = h;
        ++cache_count[c];
        return true;
    }

    /// free(): a growable heap's pages first, inline; every other block from there on (see
    /// page_put). Every way out of the inline path is a tail call, so that it saves no register.
    [[gnu::always_inline]] status free_block(void* p) noexcept {
        if (pages) [[likely]]
            return page_put(p);
        return free_to_segments(p);
    }
    /// free() of a block of the segments: the front end's fast path, else the bins.
    [[gnu::noinline]] status free_to_segments(void* p) noexcept {
        if (free_to_cache(p))
            return status::ok;
        return free_to_bins(p);
    }

    [[gnu::noinline]] status free_to_bins(void* p) noexcept;

    /// Makes the block h (in use or cached, and out of any list) a free block in its bin, merged
    /// with prev (the block before it, or nullptr) and next (the block or end marker after it) if
    /// they are in bins. A run that ends up above the decommit threshold gives its pages back.
    void merge_into_bins(header* h, header* prev, header* next) noexcept;
    /// Gives back the pages that [from, to), a part of the free block h, touches, except those
    /// holding h's header and links and any page that reaches outside h. Pages partly in [from,
    /// to) go too: their other part is the rest of h, whose pages already went (a neighbour
    /// merged in, above the threshold already), so that the page around the seam between two
    /// freed blocks is not kept forever. Checked first, as compact() does: h is a free block of a
    /// segment, within it, so that no page outside the block is touched.
    [[gnu::noinline]] void decommit(const header* h, std::uintptr_t from,
                                    std::uintptr_t to) noexcept;
    /// The whole pages of [from, to) that decommit(h, from, to) would give back, as [first, last)
    /// (empty: first >= last). h must be a block whose size can be trusted.
    std::pair<std::uintptr_t, std::uintptr_t> decommit_span(const header* h, std::uintptr_t from,
                                                            std::uintptr_t to) const noexcept;
    /// Where a run above the decommit threshold forms: gives the pages of [from, to) in the free
    /// block h back at once when decommit_total_threshold is 0; otherwise lists h as waiting, and
    /// once more than decommit_total_threshold bytes wait (or the list is full), gives back the
    /// oldest until at most half of it waits.
    void decommit_later(const header* h, std::uintptr_t from, std::uintptr_t to) noexcept;
    /// Gives back the pages of the waiting blocks, oldest first, until at most keep bytes wait (0:
    /// all). A waiting block gives back all its pages but its header's.
    void give_back_waiting(std::size_t keep) noexcept;
    /// \returns whether the free block h was waiting, having taken it off the list: it is being
    /// merged into a bigger run, which then waits for all of it.
    bool take_waiting(const header* h) noexcept;
    /// The free block h is being taken (carved from its start, or grown into): what waited of it
    /// now belongs to rest, the free block left after the part taken, or to nobody (nullptr).
    void waiting_moved(const header* h, const header* rest) noexcept;
    /// Removes entry i of the waiting list.
    void drop_waiting(std::size_t i) noexcept;

    /// Before f's block grows into its cached neighbour: if that neighbour, with the free block
    /// after it if any, makes room for bs bytes, moves it out of the front end into the bins
    /// (merged with that free block). \returns ok, cannot_resize_in_place or heap_corrupt (nothing
    /// changed then).
    status release_cached_neighbour(const found& f, std::size_t bs) noexcept;

    /// Resizes the segment block of f to n bytes without moving it, using the free block after it
    /// if need be. \returns ok, cannot_resize_in_place or heap_corrupt (nothing changed then).
    status resize_in_place(const found& f, std::size_t n) noexcept;

    void* reallocate_large(void* p, const found& f, std::size_t n, bool in_place_only,
                           status& st) noexcept;

    /// Grows the mapping of large block i to length bytes: in place, or (unless in_place_only)
    /// wherever the kernel finds room, moving the pages rather than copying them (Linux's mremap;
    /// elsewhere in place only, with MAP_FIXED_NOREPLACE). The header moves with the pages and is
    /// sealed again at its new address, and i becomes the index of the block's entry in the table,
    /// kept sorted by address. \returns the payload, or nullptr with nothing changed (the kernel
    /// leaves the old mapping as it was when mremap fails). \requires the extra bytes within
    /// room().
    void* remap_large(std::size_t& i, std::size_t length, bool in_place_only) noexcept;

    void* reallocate_block(void* p, std::size_t n, bool in_place_only, status& st) noexcept;
    /// The move a reallocation falls back to: a new block of n bytes, p's first min(old, n) bytes
    /// copied, p freed. \returns the new block, or nullptr with st set (p untouched when the
    /// allocation fails; when freeing p finds damage, st is heap_corrupt and the new block is not
    /// handed out: the heap is damaged).
    void* move_block(void* p, std::size_t old, std::size_t n, status& st) noexcept;

    // --- whole heap ------------------------------------------------------------------------------
    /// \returns whether h is a sealed header of a block of this heap's segments with these flags.
    /// Reads only memory of the segments.
    bool segment_block(const header* h, std::uint8_t flags,
                       std::size_t* where = nullptr) const noexcept;
    /// \returns whether h, an address in s, is a sealed header of a block of s with these flags.
    /// Reads only memory of s (nothing when h is outside it: false).
    bool block_in(const segment& s, const header* h, std::uint8_t flags) const noexcept;
    /// \returns whether h is a free block of this heap that belongs in bin b.
    bool free_in_bin(const header* h, std::size_t b) const noexcept;
    /// free_in_bin(h, b), looking in segment si (the segment of the entry before h in a list,
    /// where a bin's blocks often lie; segments.count: none) before the segment table; si becomes
    /// h's segment.
    bool free_in_bin_from(const header* h, std::size_t b, std::size_t& si) const noexcept;
    /// \returns whether h is a cached block of this heap that belongs in class c.
    bool cached_in_class(const header* h, std::size_t c) const noexcept;

    /// \returns whether [a, a + n) lies in one mapping of the heap: a segment past the heap
    /// object, or a large block. Reads only the tables.
    bool contains_range(std::uintptr_t a, std::size_t n) const noexcept;

    /// The blocks a walk of segments' headers counted.
    struct tally {
        std::size_t used_blocks = 0;
        std::size_t used_bytes = 0;
        std::size_t free_blocks = 0;
        std::size_t cached_blocks = 0;
    };

    /// \returns whether every header of segment s, its end marker included, is sound and in its
    /// place, with no two free blocks in bins side by side; counts s's blocks into t.
    MEMMGR_ENGINE_SCAN bool segment_sound(const segment& s, tally& t) const noexcept;

    /// \returns whether the bins and the cache lists hold exactly the free and cached blocks the
    /// walk counted in t, each once, each in its right list, and no bitmap bit is set past the
    /// bins.
    MEMMGR_ENGINE_SCAN bool lists_sound(const tally& t) const noexcept;

    status check_all() const noexcept;

    /// \returns the largest free block's capacity, or 0 with the heap found damaged (every block
    /// is checked before its pages are given back, every list walk is bounded).
    std::size_t compact_all() noexcept;

    void unmap_larges() noexcept;

    void release_everything() noexcept;

    /// \returns whether h, the header after one of `expect` units in a segment ending at end, is
    /// sound enough to be reported by a walk and followed.
    MEMMGR_ENGINE_SCAN bool walkable(const header* h, std::uint32_t expect,
                                     const header* end) const noexcept;

    /// \returns heap_corrupt at the first damaged header (having visited the blocks before it),
    /// ok when every block was visited.
    status visit_all(void (*visit)(void*, const block_info&), void* context) const noexcept;

    // --- pages (pages.hpp, pages.cpp) ----------------------------------------------------------
    template <class T>
    static T load_relaxed(const T& field) noexcept {
        return std::atomic_ref(const_cast<T&>(field)).load(std::memory_order_relaxed);
    }
    template <class T>
    static void store_relaxed(T& field, T value) noexcept {
        std::atomic_ref(field).store(value, std::memory_order_relaxed);
    }
    /// \returns d's sealed fields, each loaded atomically (relaxed): a snapshot another front's
    /// thread may take while the owner rewrites them.
    static desc_view view_of(const page_desc* d) noexcept {
        return {load_relaxed(d->area),  load_relaxed(d->states),   load_relaxed(d->block),
                load_relaxed(d->recip), load_relaxed(d->capacity), load_relaxed(d->cls),
                load_relaxed(d->owner), load_relaxed(d->seal)};
    }
    /// \returns d's sealed fields, read plainly: \requires d's front held or every lock.
    static desc_view plain_view(const page_desc* d) noexcept {
        return {d->area, d->states, d->block, d->recip, d->capacity, d->cls, d->owner, d->seal};
    }
    /// The seal of the page descriptor at d with the shape v (area, states, block, recip,
    /// capacity, class, owner), and the cookie; never 0.
    std::uint32_t shape_seal(const desc_view& v, const page_desc* d) const noexcept {
        return fields_seal(v.area, v.states, v.block, v.recip,
                           std::uint32_t{v.capacity} | (std::uint32_t{v.cls} << 16) |
                               (std::uint32_t{v.owner} << 24),
                           d);
    }
    /// shape_seal, with capacity, cls and owner as the one 32-bit word they make (pages.hpp).
    std::uint32_t fields_seal(std::uintptr_t area, const std::uint8_t* states, std::uint32_t block,
                              std::uint32_t recip, std::uint32_t word,
                              const page_desc* d) const noexcept {
        static_assert(std::endian::native == std::endian::little,
                      "desc_seal loads capacity, cls and owner as one little-endian word");
        const std::uint64_t shape = std::uint64_t{block} | (std::uint64_t{recip} << 32);
        const std::uint64_t more = word;
        const std::uint64_t x =
            (shape ^ std::rotl(std::uint64_t{area}, 17) ^
             std::rotl(std::uint64_t{address(states)}, 41) ^ std::rotl(more, 48) ^ cookie ^
             std::rotl(std::uint64_t{address(d)}, 32)) *
            0x9e3779b97f4a7c15u;
        return static_cast<std::uint32_t>(x >> 32) | 1u;
    }
    bool view_sound(const desc_view& v, const page_desc* d) const noexcept {
        return v.seal == shape_seal(v, d);
    }
    /// d's seal from its fields read plainly: \requires d's front held or every lock.
    std::uint32_t desc_seal(const page_desc* d) const noexcept {
        std::uint32_t word; // capacity, cls and owner, loaded at once
        std::memcpy(&word, &d->capacity, sizeof word);
        return fields_seal(d->area, d->states, d->block, d->recip, word, d);
    }
    bool desc_sound(const page_desc* d) const noexcept { return d->seal == desc_seal(d); }
    /// Writes d's shape (all but area) and its seal, each field by an atomic store (relaxed): a
    /// thread of another front may be reading them (view_of). \requires d's front held and the
    /// heap's lock (or every lock).
    void store_shape(page_desc* d, std::uint8_t* states, std::uint32_t block, std::uint32_t recip,
                     std::uint16_t capacity, std::uint8_t cls, std::uint8_t owner) const noexcept {
        store_relaxed(d->states, states);
        store_relaxed(d->block, block);
        store_relaxed(d->recip, recip);
        store_relaxed(d->capacity, capacity);
        store_relaxed(d->cls, cls);
        store_relaxed(d->owner, owner);
        reseal_desc(d);
    }

    /// \returns a block of the first page with room of n's class, now in use, or nullptr when the
    /// class has no such page or its head fails a check (page_take_slow then decides which).
    /// \requires pages, n <= page_max_request.
    [[gnu::always_inline]] void* page_take(std::size_t n) noexcept {
        page_desc* const d = pages->fronts[0].queue[page_class(n)];
        if (!d || !desc_sound(d)) [[unlikely]]
            return nullptr;
        std::size_t idx = d->free_head;
        if (idx != 0) {
            --idx;
            // The head is checked before it is handed out: within the blocks handed out (and
            // those within the page: the counts are not sealed), and free; its link, decoded,
            // must stay within them too. Nothing is read through the head before it passes its
            // bounds. The block the link names is checked in turn when it is taken (here, as the
            // head): a link poisoned into naming a block in use is refused then, before anything
            // is handed out twice. Not reading that block's state byte now spares a cache line
            // per allocation.
            if (idx >= d->bump || d->bump > d->capacity) [[unlikely]]
                return nullptr;
            const auto* slot = reinterpret_cast<const std::uintptr_t*>(d->area + idx * d->block);
            const std::uint64_t next = *slot ^ link_mask(slot);
            if (d->states[idx] != 0 || next > d->bump) [[unlikely]]
                return nullptr;
            d->free_head = static_cast<std::uint32_t>(next);
        } else if (d->bump < d->capacity && d->states[d->bump] == 0) [[likely]] {
            // A block past bump was never handed out: its state byte is 0. A bump written down
            // (it is not sealed) would otherwise hand a live block out again.
            idx = d->bump++;
        } else [[unlikely]] {
            return nullptr;
        }
        d->states[idx] = static_cast<std::uint8_t>(d->block - n + 1);
        on_allocate(n);
        void* const p = reinterpret_cast<void*>(d->area + idx * d->block);
        // Last, so that the call is a tail call: the inline path saves no register.
        if (++d->used == d->capacity) [[unlikely]]
            return page_full(d, p);
        return p;
    }

    /// free() of a block of a page: the segment from the hint (else page_put_unhinted), the
    /// descriptor by address arithmetic and its seal, the block's index by a multiplication, its
    /// state byte. \returns ok, or why p was refused (nothing changed then); a pointer in no page
    /// segment goes on to the segments (free_to_segments). Every call is a tail call.
    [[gnu::always_inline]] status page_put(void* p) noexcept {
        const std::uintptr_t a = address(p);
        const std::uintptr_t base = a & ~(pseg_bytes - 1);
        const std::size_t si = std::size_t{pages->hint[(a >> pseg_shift) % pseg_hints]} - 1;
        if (si >= pages->segs.count || pages->segs.data[si].base != base) [[unlikely]]
            return page_put_unhinted(p);
        return page_release(a, base);
    }
    [[gnu::always_inline]] status page_release(std::uintptr_t a, std::uintptr_t base) noexcept {
        const std::size_t slot = (a - base) >> page_shift;
        page_desc* const d = descs_of(base) + slot;
        if (slot < meta_slots || !desc_sound(d) || d->block == 0) [[unlikely]]
            return page_refusal(a, base);
        const std::size_t off = a - d->area;
        const std::size_t idx = (off * d->recip) >> 32;
        if (idx * d->block != off || idx >= d->bump || d->states[idx] == 0) [[unlikely]]
            return page_refusal(a, base);
        const std::size_t requested = d->block + 1 - d->states[idx];
        d->states[idx] = 0;
        auto* link = reinterpret_cast<std::uintptr_t*>(a);
        *link = std::uintptr_t{d->free_head} ^ link_mask(link);
        d->free_head = static_cast<std::uint32_t>(idx + 1);
        on_release(requested);
        // The page's queue changes only when it was full or is now empty: off the inline path.
        const std::uint32_t was = d->used--;
        if (was == d->capacity || was == 1) [[unlikely]]
            return page_freed_edge(d, was);
        return status::ok;
    }

    [[gnu::noinline]] void* page_take_slow(std::size_t n) noexcept;
    [[gnu::noinline]] status page_put_unhinted(void* p) noexcept;
    [[gnu::noinline, gnu::cold]] status page_refusal(std::uintptr_t a,
                                                     std::uintptr_t base) const noexcept;
    /// d, which just became full, leaves its queue. \returns p (the block just taken).
    [[gnu::noinline, gnu::returns_nonnull]] void* page_full(page_desc* d, void* p) noexcept;
    /// After a free from d, which held `was` blocks in use: a page that was full rejoins its
    /// queue, a page now empty is retired (see page_emptied). \returns ok.
    [[gnu::noinline]] status page_freed_edge(page_desc* d, std::uint32_t was) noexcept;
    void page_emptied(page_desc* d) noexcept;
    bool make_directory() noexcept;
    std::uint64_t pseg_seal(std::uintptr_t base) const noexcept;
    bool map_pseg() noexcept;
    /// Unmaps page segment i, every slot of which must be a free slot (by its descriptor).
    /// \returns false, having recorded the damage and unmapped nothing, otherwise.
    bool unmap_pseg(std::size_t i) noexcept;
    /// Unmaps every page segment and, unless keep_directory, the directory (release_all, destroy).
    /// A kept directory is emptied, its locks left as they are.
    void release_pages(bool keep_directory = false) noexcept;
    /// \returns the index of the page segment holding a, or pages->segs.count.
    std::size_t pseg_index(std::uintptr_t a) const noexcept;
    void reseal_desc(page_desc* d) const noexcept;
    void push_free_slot(page_desc* d) noexcept;
    /// \returns whether p is where a descriptor of a page slot lies in one of the page segments.
    bool is_descriptor(const page_desc* p) const noexcept;
    /// \returns whether d is on the list `head` starts, as `queued` says (2: the free slots, 1: a
    /// class queue, 3: a full list), linked both ways with neighbours that are descriptors.
    bool linked_in(page_desc* const& head, const page_desc* d, std::uint8_t queued) const noexcept;
    /// Unlinks d from the list `head` starts, once linked_in says it is there. \returns false,
    /// having recorded the damage and changed nothing, otherwise.
    bool unlink_checked(page_desc*& head, page_desc* d, std::uint8_t queued) noexcept;
    /// Unlink d from the free slots, its class queue, its full list (unlink_checked).
    bool unlink_free_slot(page_desc* d) noexcept;
    void enqueue(page_desc* d) noexcept;
    bool dequeue(page_desc* d) noexcept;
    void push_full(page_desc* d) noexcept;
    bool unlink_full(page_desc* d) noexcept;
    /// Starts a page of class c for front `owner` in a free slot, mapping a page segment first if
    /// there is none and `may_map` (which needs every lock while the heap runs on fronts).
    /// \requires owner's lock and the heap's (or every lock, or one thread).
    page_desc* start_page(std::size_t c, std::size_t owner = 0, bool may_map = true) noexcept;
    void retire(page_desc* d) noexcept;
    bool page_shape_sound(const page_desc* d) const noexcept;
    /// A page's state chunks in its segment's bitmap: the word, and the bits in it.
    struct chunk_run {
        std::size_t word;
        std::uint64_t bits;
    };
    /// \returns whether the state bytes of d, a page in use whose shape is sealed, are a run of
    /// its segment's state chunks (inside them, aligned to their count), and that run.
    bool chunk_run_of(const page_desc& d, chunk_run& run) const noexcept;
    /// \returns whether the state chunks the page segment at `base` marks in use are exactly those
    /// of its pages' sealed descriptors (each sound), no two pages sharing one. Under the heap's
    /// lock (start_page).
    bool chunks_agree(std::uintptr_t base) const noexcept;
    /// page_shape_sound without the counts (bump, used, free_head): what a thread of another
    /// front may read of a page, the sealed fields its owner writes only when it starts the page.
    bool page_form_sound(const desc_view& v) const noexcept;
    /// \returns false if a is in no page segment; else true, with st ok and f filled, or the
    /// reason a is refused.
    bool page_locate(std::uintptr_t a, found& f, status& st) const noexcept;
    /// \returns whether p lies in one of the page segments (the table changes only under every
    /// lock: \requires the heap's lock or a front held).
    bool in_page_segment(const void* p) const noexcept {
        return pages && pseg_index(address(p)) < pages->segs.count;
    }
    void* page_reallocate(void* p, const found& f, std::size_t n, bool in_place_only,
                          status& st) noexcept;
    bool pages_contain(std::uintptr_t a, std::size_t n) const noexcept;
    MEMMGR_ENGINE_SCAN status visit_pages(void (*visit)(void*, const block_info&),
                                          void* context) const noexcept;
    MEMMGR_ENGINE_SCAN bool pages_sound(tally& t, std::size_t& reserved) const noexcept;
    MEMMGR_ENGINE_SCAN bool page_sound(const page_desc& d, tally& t,
                                       std::size_t& chunks) const noexcept;
    /// \returns the largest free slot (a page's bytes), having retired empty pages and unmapped
    /// wholly free segments.
    std::size_t compact_pages() noexcept;

    // --- fork ------------------------------------------------------------------------------------
    // A thread that forks while another holds a heap's lock leaves the child a lock that nobody
    // will release, and possibly a heap halfway through an operation. So, as glibc's malloc,
    // jemalloc and mimalloc do for their arenas, fork() (through pthread_atfork) first takes the
    // lock of every live serialized heap: no operation is under way in any of them when the
    // process is copied. The parent then releases them; the child, whose only thread is the one
    // that took them, makes them free again. The list of heaps has a lock of its own, taken first:
    // create() and destroy() hold it while they link and unlink a heap, so the list does not change
    // under a fork. Heaps that are not serialized are not listed: one thread at a time uses them,
    // and forking while another thread does is the caller's bug, as any other concurrent use.
    struct fork_list {
        heap_lock lock;
        impl* first = nullptr;
    };
    static fork_list& forks() noexcept;
    static void fork_prepare() noexcept;
    static void fork_parent() noexcept;
    static void fork_child() noexcept;
    /// Lists a serialized heap, installing the fork handlers with the first one. If they cannot be
    /// installed (pthread_atfork reports ENOMEM), the heaps work as before, without fork safety.
    void enlist_for_fork() noexcept;
    void delist_for_fork() noexcept;
};

} // namespace memmgr::detail::posix
