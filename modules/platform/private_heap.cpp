// The POSIX private heap engine (see private_heap.hpp for the contract, docs/private_heap.md for
// the design). A boundary-tag allocator over mmap'd segments with segregated free lists, plus one
// mapping per large block, behind a front end of per-size LIFO caches for small blocks. It never
// calls malloc or new: the heap object itself sits at the start of its first segment.
#include "private_heap.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define MEMMGR_HAS_SINGLE_THREADED 1
#endif

#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>

// The whole-heap check's scans (a segment's headers, the bins and cache lists: comparisons per
// block) are kept out of the fuzzers' coverage instrumentation: their comparisons with the heap's
// secret seal and its neighbours' fields steer nothing, and each called back into libFuzzer, which
// made validate() four times as slow under the fuzzers. ASan still checks every read; the caller
// branches on the verdict. Out of line, so that they are not inlined into an instrumented caller.
#if defined(__clang__)
#define MEMMGR_ENGINE_SCAN [[gnu::noinline, clang::no_sanitize("coverage")]]
#else
#define MEMMGR_ENGINE_SCAN
#endif

namespace memmgr::detail::posix {

namespace {

constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * kib;

constexpr std::size_t unit = 16;        // block sizes and offsets are multiples of this
constexpr std::size_t header_size = 16; // one header before every payload
constexpr std::size_t min_block = 32;   // a header and the two free-list links
constexpr std::size_t exact_bins = 64;  // one bin per block size 32, 48, ..., 1040
constexpr std::size_t first_log_size = min_block + exact_bins * unit; // 1056
// A segment's blocks must be describable in 32-bit units; 16 GiB leaves ample room.
constexpr std::size_t max_segment = std::size_t{16} * 1024 * mib;
constexpr std::size_t large_threshold = 512 * kib; // requests from here on get their own mapping
constexpr std::size_t default_initial = 64 * kib;
constexpr std::size_t growth_cap = 64 * mib; // segments double up to this
constexpr std::size_t inline_segments = 16;  // also bounds how many segments create() may make
constexpr std::size_t inline_larges = 4;     // more are rare; past them the table gets a page
constexpr std::size_t initial_limit = inline_segments * max_segment;
constexpr std::size_t max_request = static_cast<std::size_t>(PTRDIFF_MAX);
constexpr std::size_t hint_granule_shift = 16; // segment_of()'s table: 64 KiB granules,
constexpr std::size_t hint_slots = 128;        // direct-mapped
constexpr std::size_t fit_probe = 8; // entries of a logarithmic bin examined before going higher

// The small-block front end: one LIFO cache per block size below first_log_size (payloads up to
// 1 KiB), the same 64 sizes as the exact bins. A freed block goes there whole, without coalescing,
// while its class is under its cap; past it, to the bins. The caps bound the front end to
// 32 x (32 + 48 + ... + 1040) bytes = 1072 KiB.
constexpr std::size_t cache_classes = exact_bins;
constexpr std::uint8_t cache_class_cap = 32;                                   // blocks per class
constexpr std::size_t cache_max_request = first_log_size - unit - header_size; // 1024

constexpr std::uint8_t flag_in_use = 1;
constexpr std::uint8_t flag_large = 2;
constexpr std::uint8_t flag_cached = 4; // free, held by the front end: never merged

/// \returns the bin of a free block of bs bytes: exact bins below first_log_size, then four bins
/// per power of two. \requires min_block <= bs < max_segment.
constexpr std::size_t bin_index(std::size_t bs) noexcept {
    if (bs < first_log_size)
        return bs / unit - min_block / unit;
    const auto log = static_cast<std::size_t>(std::bit_width(bs)) - 1; // >= 10
    return exact_bins + (log - 10) * 4 + ((bs >> (log - 2)) & 3);
}
constexpr std::size_t num_bins = bin_index(max_segment - unit) + 1;
constexpr std::size_t bitmap_words = (num_bins + 63) / 64;
static_assert(bin_index(first_log_size - unit) == exact_bins - 1);
static_assert(bin_index(first_log_size) == exact_bins);

/// \returns the block size that holds n bytes. \requires n <= max_request.
constexpr std::size_t block_size_for(std::size_t n) noexcept {
    return n <= min_block - header_size ? min_block : ((n + unit - 1) & ~(unit - 1)) + header_size;
}

constexpr std::size_t round_up(std::size_t n, std::size_t to) noexcept {
    return (n + to - 1) & ~(to - 1);
}

std::uintptr_t address(const void* p) noexcept {
    return reinterpret_cast<std::uintptr_t>(p);
}

struct header {
    // The first eight bytes are sealed: a block's own description.
    std::uint32_t size_units; // size of this block, header included; 0: segment end or large block
    std::uint8_t flags;
    std::uint8_t slack;   // in use: payload capacity minus the size asked for (at most 32)
    std::uint16_t unused; // zero
    // Not sealed, so that resizing a neighbour costs one store: checked against the size in the
    // previous block's sealed header instead.
    std::uint32_t prev_units; // size of the block before, in units; 0: first block of a segment
    std::uint32_t seal;       // a checksum of the first word, the header's address and the cookie
};
static_assert(sizeof(header) == header_size);

/// Lives in the first 16 bytes of a free block's payload. Both words are stored encoded (see
/// impl::link_mask): a value written there by anyone but the heap decodes to a wild address, which
/// the checks before every use refuse.
struct free_links {
    std::uintptr_t next;
    std::uintptr_t prev;
};

header* header_at(std::uintptr_t a) noexcept {
    return reinterpret_cast<header*>(a);
}
header* advance(header* h, std::size_t n) noexcept {
    return header_at(address(h) + n);
}
std::size_t block_bytes(const header* h) noexcept {
    return std::size_t{h->size_units} * unit;
}
std::size_t capacity(const header* h) noexcept {
    return block_bytes(h) - header_size;
}
std::uint32_t units(std::size_t bytes) noexcept {
    return static_cast<std::uint32_t>(bytes / unit);
}
free_links& links(header* h) noexcept {
    return *reinterpret_cast<free_links*>(h + 1);
}
const free_links& links(const header* h) noexcept {
    return *reinterpret_cast<const free_links*>(h + 1);
}
bool in_use(const header* h) noexcept {
    return (h->flags & flag_in_use) != 0;
}
/// Free and in a bin: the only kind of block that merges with a neighbour.
bool in_bin(const header* h) noexcept {
    return h->flags == 0;
}
/// The flags a segment block may carry: free in a bin, in use, or cached.
bool segment_flags(std::uint8_t flags) noexcept {
    return flags == 0 || flags == flag_in_use || flags == flag_cached;
}
/// \returns the cache class of a block of bs bytes. \requires min_block <= bs < first_log_size.
constexpr std::size_t cache_class(std::size_t bs) noexcept {
    return bs / unit - min_block / unit;
}

/// A region of blocks: [first, end) followed by a 16-byte end marker (an in-use header of size 0).
struct segment {
    std::uintptr_t base; // what mmap returned
    std::size_t length;
    header* first;
    bool initial; // made by create(): kept by compact() and release_all()

    header* end() const noexcept { return header_at(base + length - header_size); }
};

struct large_block {
    std::uintptr_t base; // what mmap returned; the header sits here, the payload right after
    std::size_t length;
    std::size_t requested;
};

/// A sorted array of T, inline at first, moved to its own mapping when it outgrows that.
template <class T, std::size_t Inline>
struct table {
    T* data;
    std::size_t count;
    std::size_t capacity;
    std::size_t mapped_bytes; // 0 while data is the inline storage
    T storage[Inline];

    void reset_inline() noexcept {
        data = storage;
        capacity = Inline;
        mapped_bytes = 0;
    }
    /// \returns the number of entries whose base is <= a. Branch-free: the steps depend on count
    /// only, so random addresses (every free looks one up) cost no mispredictions.
    std::size_t upper(std::uintptr_t a) const noexcept {
        if (count == 0)
            return 0;
        const T* first = data;
        for (std::size_t n = count; n > 1;) {
            const std::size_t half = n / 2;
            first += half & (std::size_t{0} - std::size_t{first[half].base <= a}); // no branch
            n -= half;
        }
        return static_cast<std::size_t>(first - data) + (first->base <= a ? 1 : 0);
    }
    void insert(const T& entry) noexcept {
        const std::size_t at = upper(entry.base);
        std::memmove(data + at + 1, data + at, (count - at) * sizeof(T));
        data[at] = entry;
        ++count;
    }
    void erase(std::size_t at) noexcept {
        std::memmove(data + at, data + at + 1, (count - at - 1) * sizeof(T));
        --count;
    }
};

void* map_pages(std::size_t length) noexcept {
    void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

void unmap_pages(std::uintptr_t base, std::size_t length) noexcept {
    ::munmap(reinterpret_cast<void*>(base), length);
}

std::uint64_t mix(std::uint64_t x) noexcept { // splitmix64's finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/// A futex-style lock: 0 free, 1 held, 2 held and maybe waited for. Uncontended, lock is one
/// compare-exchange and unlock one exchange, inline; std::mutex costs two calls into libc more.
class heap_lock {
public:
    void lock() noexcept {
        std::uint32_t expected = 0;
        if (!state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                            std::memory_order_relaxed))
            lock_contended();
    }
    void unlock() noexcept {
        if (state_.exchange(0, std::memory_order_release) == 2)
            wake_one();
    }
    /// In the child of a fork(), whose only thread is the one that took the lock before forking:
    /// free again, without a wake (no thread of the child waits on it).
    void reset_after_fork() noexcept { state_.store(0, std::memory_order_relaxed); }

private:
    // Out of line, so that the callers' fast paths stay small.
    [[gnu::noinline]] void wake_one() noexcept { state_.notify_one(); }
    [[gnu::noinline]] void lock_contended() noexcept {
        // Whoever takes the lock from here on marks it waited for, so that its unlock wakes the
        // next sleeper. std::atomic::wait spins briefly before it sleeps on the futex.
        while (state_.exchange(2, std::memory_order_acquire) != 0)
            state_.wait(2, std::memory_order_relaxed);
    }
    std::atomic<std::uint32_t> state_{0};
};

/// \returns true while the process has never had a second thread (glibc's own malloc and mutexes
/// skip their atomics then too). Once false it stays false, and a thread can only be started by
/// the one running, so no heap operation can be under way elsewhere while this is true.
bool only_thread() noexcept {
#ifdef MEMMGR_HAS_SINGLE_THREADED
    return __libc_single_threaded != 0;
#else
    return false;
#endif
}

/// Locks the heap when it is serialized and another thread could be using it.
class optional_lock {
public:
    /// always: take the lock even in a single-threaded process (walk runs the caller's code, which
    /// might start a thread, while it holds the heap).
    optional_lock(heap_lock& l, bool serialize, bool always = false) noexcept
        : l_(serialize && (always || !only_thread()) ? &l : nullptr) {
        if (l_)
            l_->lock();
    }
    ~optional_lock() {
        if (l_)
            l_->unlock();
    }
    optional_lock(const optional_lock&) = delete;
    optional_lock& operator=(const optional_lock&) = delete;

private:
    heap_lock* l_;
};

} // namespace

struct private_heap::impl : private_heap {
    mutable heap_lock lock;
    // The list of live serialized heaps that fork() locks (see fork_prepare), under the list's
    // own lock (forks()). First in the object, with the lock: farthest from the first block.
    impl* fork_next = nullptr;
    impl* fork_prev = nullptr;
    heap_config cfg{};
    bool is_process = false;
    std::size_t page = 4096;
    std::size_t budget = 0; // the most that may be mapped at once: maximum_size, or SIZE_MAX
    std::uint64_t cookie = 0;
    std::uint64_t link_key = 0;    // mixed into every encoded free-list link (see link_mask)
    std::uint64_t guard_value = 0; // expected in the two words of guard() (see self_bytes)
    std::size_t free_count = 0;    // blocks in the bins: bounds every walk of a bin's list
    // Set at the first damage found; from then on every operation answers heap_corrupt (see
    // corrupt()) until release_all() rebuilds the heap.
    mutable bool damaged = false;
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
    /// the process ends here). The front end is disarmed so that its inline paths, which do not
    /// test `damaged`, miss and reach the slow paths, which do: no head to take, every class full.
    /// \returns heap_corrupt.
    [[gnu::cold]] MEMMGR_ENGINE_SCAN status corrupt() const noexcept {
        if (cfg.terminate_on_corruption) {
            static constexpr char message[] =
                "memmgr: private heap corruption detected; terminating (terminate_on_corruption)\n";
            [[maybe_unused]] const auto written = ::write(2, message, sizeof message - 1);
            std::abort();
        }
        auto& self = const_cast<impl&>(*this); // every impl is made in mutable memory by create()
        self.damaged = true;
        for (std::size_t c = 0; c < cache_classes; ++c) {
            self.cache[c] = nullptr;
            self.cache_count[c] = cache_class_cap;
        }
        return status::heap_corrupt;
    }
    /// \returns st, having recorded the damage when st is heap_corrupt.
    status noted(status st) const noexcept { return st == status::heap_corrupt ? corrupt() : st; }
    /// Whether an operation must take the lock (see optional_lock).
    bool locking() const noexcept { return cfg.serialize && !only_thread(); }
    [[gnu::noinline]] void* allocate_locked(std::size_t n, bool zero, status& st) noexcept {
        const std::lock_guard held(lock);
        return allocate_block(n, zero, st);
    }
    [[gnu::noinline]] status free_locked(void* p) noexcept {
        const std::lock_guard held(lock);
        return free_block(p);
    }
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
    /// one size; a logarithmic bin is probed a little, then any block of a higher bin fits.
    header* find_fit(std::size_t bs) const noexcept {
        std::size_t i = bin_index(bs);
        if (i < exact_bins) {
            if (bins[i])
                return bins[i];
        } else if (header* h = first_fit_in(i, bs, fit_probe)) {
            return h;
        }
        i = next_bin(i + 1);
        return i < num_bins ? bins[i] : nullptr;
    }
    /// find_fit's last resort, before the heap grows or reports heap_full: the whole list of bs's
    /// logarithmic bin, of which find_fit probes only fit_probe blocks. Off the fast path.
    header* find_fit_anywhere(std::size_t bs) const noexcept {
        const std::size_t i = bin_index(bs);
        // An exact bin holds one size: find_fit has seen it.
        return i < exact_bins ? nullptr : first_fit_in(i, bs, SIZE_MAX);
    }
    /// \returns the first of bin i's first `limit` blocks that holds bs bytes, or nullptr (having
    /// recorded the damage if an entry is not a free block of the bin, or the list is longer than
    /// the free blocks there are: a cycle).
    header* first_fit_in(std::size_t i, std::size_t bs, std::size_t limit) const noexcept {
        std::size_t probed = 0;
        for (header* h = bins[i]; h && probed < limit; h = next_of(h), ++probed) {
            if (probed >= free_count || !free_in_bin(h, i)) {
                corrupt();
                return nullptr;
            }
            if (block_bytes(h) >= bs)
                return h;
        }
        return nullptr;
    }

    // --- front end -------------------------------------------------------------------------------
    /// \returns the payload of a cached block for n bytes, now in use, or nullptr if its class is
    /// empty. \requires n <= cache_max_request.
    [[gnu::always_inline]] void* cache_take(std::size_t n) noexcept {
        // cache_class(block_size_for(n)), without the branch on min_block.
        const std::size_t c = n <= unit ? 0 : (n + unit - 1) / unit - 1;
        header* h = cache[c];
        if (!h)
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
    void* cache_take_unhinted(std::size_t n) noexcept {
        const std::size_t c = n <= unit ? 0 : (n + unit - 1) / unit - 1;
        header* h = cache[c];
        if (!h)
            return nullptr;
        const std::size_t si = segment_of(address(h));
        if (si == segments.count || !head_sound(segments.data[si], h, c)) {
            corrupt();
            return nullptr;
        }
        return cache_pop(h, c, n);
    }
    /// Moves every cached block to the bins, each merged with the free blocks either side. Each
    /// is checked first (a cached block of its class, in a segment, its neighbours fit to merge
    /// with, within its class's count): the first that fails is damage, and the flush stops there.
    void flush_caches() noexcept {
        for (std::size_t c = 0; c < cache_classes; ++c) {
            for (header* h = cache[c]; h; h = cache[c]) {
                header* prev = nullptr;
                header* next = nullptr;
                if (cache_count[c] == 0 || !cached_in_class(h, c) ||
                    !mergeable(segments.data[segment_of(address(h))], h, prev, next)) {
                    corrupt();
                    return;
                }
                cache[c] = next_of(h); // read first: merging rewrites the links
                --cache_count[c];
                merge_into_bins(h, prev, next);
            }
            if (cache_count[c] != 0) {
                corrupt();
                return;
            }
        }
    }
    bool any_cached() const noexcept {
        for (const header* head : cache)
            if (head)
                return true;
        return false;
    }
    /// Takes the cached block h out of its class list. \returns false if it is not there.
    bool cache_unlink(header* h) noexcept {
        const std::size_t c = cache_class(block_bytes(h));
        if (cache_count[c] == 0)
            return false;
        header* before = nullptr; // the entry whose link leads to h; nullptr: the head does
        header* at = cache[c];
        for (std::size_t seen = 0; at != h; ++seen) {
            if (!at || seen + 1 >= cache_count[c] || !cached_in_class(at, c))
                return false;
            before = at;
            at = next_of(at);
        }
        if (before)
            put_next(before, next_of(h));
        else
            cache[c] = next_of(h);
        --cache_count[c];
        return true;
    }

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
    void format(const segment& s) noexcept {
        const std::size_t bytes = address(s.end()) - address(s.first);
        write(s.first, 0, units(bytes), 0, 0);
        write(s.end(), units(bytes), 0, flag_in_use, 0);
        bin_insert(s.first);
    }
    void add_segment(std::uintptr_t base, std::size_t length, header* first,
                     bool initial) noexcept {
        const segment s{base, length, first, initial};
        segments.insert(s);
        segment_bytes += length;
        on_map(length);
        format(s);
    }
    /// Maps a new segment able to hold a block of bs bytes. \returns its free block, or nullptr
    /// with st set.
    header* grow(std::size_t bs, status& st) noexcept {
        if (st = make_room(segments); st != status::ok)
            return nullptr;
        const std::size_t need = round_up(bs + header_size, page);
        std::size_t length = segment_bytes < default_initial ? default_initial : segment_bytes;
        length = round_up(length < growth_cap ? length : growth_cap, page);
        if (length < need)
            length = need;
        if (fixed()) {
            if (need > room()) {
                st = status::heap_full;
                return nullptr;
            }
            if (length > room())
                length = room(); // a page multiple: budget and reservations are
        }
        void* mem = map_pages(length);
        if (!mem) {
            st = status::out_of_memory;
            return nullptr;
        }
        add_segment(address(mem), length, static_cast<header*>(mem), false);
        return static_cast<header*>(mem);
    }
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
    bool carvable(const header* h, std::size_t bs) const noexcept {
        std::size_t si = 0;
        if (!segment_block(h, 0, &si) || block_bytes(h) < bs)
            return false;
        const segment& s = segments.data[si];
        const header* const next = advance(const_cast<header*>(h), block_bytes(h));
        if (!sealed(next) || next->prev_units != h->size_units)
            return false;
        if (!prev_sound(s, h))
            return false;
        return unlinkable(h);
    }
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
    void* carve(header* h, std::size_t bs, std::size_t n) noexcept {
        if (!carvable(h, bs)) {
            corrupt();
            return nullptr;
        }
        const std::size_t have = block_bytes(h);
        const std::size_t rest = have - bs;
        if (rest >= min_block) {
            header* r = advance(h, bs);
            write(r, units(bs), units(rest), 0, 0);
            set_prev(advance(h, have), units(rest)); // the next block is not in a bin: no merge
            if (bin_index(rest) == bin_index(have)) {
                bin_replace(h, r);
            } else {
                bin_remove(h);
                bin_insert(r);
            }
            write(h, h->prev_units, units(bs), flag_in_use, bs - header_size - n);
        } else {
            bin_remove(h);
            write(h, h->prev_units, h->size_units, flag_in_use, have - header_size - n);
        }
        return h + 1;
    }

    void* allocate_large(std::size_t n, status& st) noexcept {
        if (st = make_room(larges); st != status::ok)
            return nullptr;
        const std::size_t length = round_up(n + header_size, page); // n <= PTRDIFF_MAX: no wrap
        if (length > room()) {
            st = status::heap_full;
            return nullptr;
        }
        void* mem = map_pages(length);
        if (!mem) {
            st = status::out_of_memory;
            return nullptr;
        }
        auto* h = static_cast<header*>(mem);
        write(h, 0, 0, flag_in_use | flag_large, 0);
        larges.insert({address(mem), length, n});
        on_map(length);
        on_allocate(n);
        st = status::ok;
        return h + 1; // fresh pages are zero already
    }

    /// allocate(): the front end first, inline; then the bins.
    [[gnu::always_inline]] void* allocate_block(std::size_t n, bool zero, status& st) noexcept {
        if (n <= cache_max_request && !zero) {
            if (void* p = cache_take(n)) {
                st = status::ok;
                return p;
            }
        }
        return allocate_slow(n, zero, st);
    }

    [[gnu::noinline]] void* allocate_slow(std::size_t n, bool zero, status& st) noexcept {
        if (damaged || !guard_intact()) {
            st = corrupt();
            return nullptr;
        }
        if (n > max_request) {
            st = status::size_overflow;
            return nullptr;
        }
        // Zero-filled blocks from the front end are served here, off the inline path (which then
        // needs no stack frame), and so are heads the inline path could not vouch for.
        if (n <= cache_max_request) {
            if (void* p = cache_take_unhinted(n)) {
                if (zero)
                    std::memset(p, 0, n);
                st = status::ok;
                return p;
            }
            if (damaged) {
                st = status::heap_corrupt;
                return nullptr;
            }
        }
        // A fixed heap first looks for large blocks in its segments: its budget may be all there.
        const bool in_segments = n < large_threshold || (fixed() && n < max_segment - 2 * page);
        if (in_segments) {
            const std::size_t bs = block_size_for(n);
            header* h = find_fit(bs);
            if (!h && !damaged && any_cached()) {
                // The front end's blocks, merged, may hold the room: use it before growing or
                // reporting heap_full.
                flush_caches();
                h = find_fit(bs);
            }
            if (!h && !damaged)
                h = find_fit_anywhere(bs);
            if (damaged) {
                st = status::heap_corrupt;
                return nullptr;
            }
            if (!h && n < large_threshold && !(h = grow(bs, st)))
                return nullptr;
            if (h) {
                void* p = carve(h, bs, n);
                if (!p) {
                    st = status::heap_corrupt;
                    return nullptr;
                }
                on_allocate(n);
                if (zero)
                    std::memset(p, 0, n);
                st = status::ok;
                return p;
            }
        }
        return allocate_large(n, st);
    }

    /// What locate() found.
    struct found {
        header* h = nullptr;
        header* prev = nullptr; // the block before h in its segment (nullptr if h is first)
        header* next = nullptr; // the block (or end marker) after h
        std::size_t segment_index = 0;
        std::size_t large_index = 0;
        bool is_large = false;
    };

    /// Finds the neighbours of h, a block of segment s whose own header is sound, and checks them
    /// as a merge needs them: the next header (or end marker) passes its seal and points back; the
    /// previous block (nullptr if h is first) has the size h says and, if it is in a bin, passes
    /// its seal. \returns false if they fail.
    bool neighbours(const segment& s, header* h, header*& prev, header*& next) const noexcept {
        next = advance(h, block_bytes(h));
        if (!sealed(next) || next->prev_units != h->size_units)
            return false;
        prev = nullptr;
        if (h->prev_units == 0)
            return h == s.first;
        const std::size_t back = std::size_t{h->prev_units} * unit;
        if (back > address(h) - address(s.first))
            return false;
        prev = header_at(address(h) - back);
        return prev->size_units == h->prev_units && (!in_bin(prev) || sealed(prev));
    }
    /// \returns whether the header after next, a block of segment s about to be merged, is sound
    /// (inside s, sealed, pointing back), so that its prev_units can be updated.
    bool sound_after(const segment& s, header* next) const noexcept {
        const header* after = advance(next, block_bytes(next));
        return address(after) <= address(s.end()) && sealed(after) &&
               after->prev_units == next->size_units;
    }
    /// neighbours(), and what a merge with them further needs: a next block in a bin ends where
    /// a sound header points back, and each neighbour in a bin can be unlinked from it.
    bool mergeable(const segment& s, header* h, header*& prev, header*& next) const noexcept {
        if (!neighbours(s, h, prev, next))
            return false;
        if (in_bin(next) && (!sound_after(s, next) || !unlinkable(next)))
            return false;
        return !prev || !in_bin(prev) || unlinkable(prev);
    }

    /// Why a pointer inside segment s failed the quick checks, by walking s from its start. Only
    /// reached for bad pointers and damaged heaps, so its cost (the blocks before p) is acceptable.
    status classify(const segment& s, std::uintptr_t a) const noexcept {
        header* const end = s.end();
        header* h = s.first;
        std::uint32_t expect = 0;
        while (address(h) < address(end)) {
            if (!sealed(h) || h->prev_units != expect || h->size_units < min_block / unit ||
                !segment_flags(h->flags) || block_bytes(h) > address(end) - address(h))
                return status::heap_corrupt;
            const std::uintptr_t start = address(h) + header_size;
            if (a == start)
                return status::heap_corrupt; // a real block, but it or a neighbour is damaged
            if (a > start && a <= address(h) + block_bytes(h))
                return in_use(h) ? status::foreign_block : status::double_free;
            expect = h->size_units;
            h = advance(h, block_bytes(h));
        }
        if (h != end || !sealed(end) || end->prev_units != expect)
            return status::heap_corrupt;
        return status::foreign_block;
    }

    /// \returns ok and fills f if p is the payload of a block in use; the reason otherwise. Reads
    /// only memory of this heap's segments and mappings.
    status locate(const void* p, found& f) const noexcept {
        const std::uintptr_t a = address(p);
        if (a % alignment != 0)
            return status::foreign_block;
        if (const std::size_t si = segment_of(a); si != segments.count) {
            const segment& s = segments.data[si];
            header* const end = s.end();
            if (a < address(s.first) + header_size || a > address(end))
                return status::foreign_block;
            header* h = header_at(a - header_size);
            if (!sealed(h) || !segment_flags(h->flags) || h->size_units < min_block / unit ||
                block_bytes(h) > address(end) - address(h))
                return classify(s, a);
            header* prev = nullptr;
            header* next = nullptr;
            if (!neighbours(s, h, prev, next))
                return classify(s, a);
            if (!in_use(h)) // free in a bin, or cached
                return status::double_free;
            f = {h, prev, next, si, 0, false};
            return status::ok;
        }
        const std::size_t li = larges.upper(a);
        if (li == 0)
            return status::foreign_block;
        const large_block& l = larges.data[li - 1];
        if (a - l.base >= l.length || a != l.base + header_size)
            return status::foreign_block;
        const header* h = header_at(l.base);
        if (!large_header_sound(h))
            return status::heap_corrupt;
        f = {header_at(l.base), nullptr, nullptr, 0, li - 1, true};
        return status::ok;
    }

    void release_large(std::size_t i) noexcept {
        const large_block l = larges.data[i];
        larges.erase(i);
        unmap_pages(l.base, l.length);
        on_unmap(l.length);
        on_release(l.requested);
    }

    /// The fast path of free: p is a small block in use of a segment, its header passes its seal,
    /// its unsealed prev_units agrees with the block before, and its class has room. It goes to
    /// the front end without merging, so the block after it is not read here: that one is checked
    /// when the block is merged (flush_caches) and by validate. \returns false, having changed
    /// nothing, otherwise: free_to_bins() then does the full check.
    [[gnu::always_inline]] bool free_to_cache(void* p) noexcept {
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

    [[gnu::always_inline]] status free_block(void* p) noexcept {
        if (free_to_cache(p))
            return status::ok;
        return free_to_bins(p);
    }

    [[gnu::noinline]] status free_to_bins(void* p) noexcept {
        if (damaged || !guard_intact())
            return corrupt();
        found f;
        if (const status st = locate(p, f); st != status::ok)
            return noted(st);
        if (f.is_large) {
            release_large(f.large_index);
            return status::ok;
        }
        header* h = f.h;
        const std::size_t size = capacity(h) - h->slack;
        header* prev = nullptr;
        header* next = nullptr;
        if (!mergeable(segments.data[f.segment_index], h, prev, next))
            return corrupt();
        // Checks done: from here on nothing fails.
        on_release(size);
        merge_into_bins(h, prev, next);
        return status::ok;
    }

    /// Makes the block h (in use or cached, and out of any list) a free block in its bin, merged
    /// with prev (the block before it, or nullptr) and next (the block or end marker after it) if
    /// they are in bins. A run that ends up above the decommit threshold gives its pages back.
    void merge_into_bins(header* h, header* prev, header* next) noexcept {
        std::size_t total = block_bytes(h);
        header* after = next;
        // What may still hold committed pages: h, and each neighbour not yet above the threshold
        // (one above it gave its pages back when it got there). Contiguous: [fresh_from, fresh_to).
        std::uintptr_t fresh_from = address(h);
        std::uintptr_t fresh_to = address(next);
        if (in_bin(next)) {
            after = advance(next, block_bytes(next));
            if (block_bytes(next) <= cfg.decommit_threshold)
                fresh_to = address(after);
            bin_remove(next);
            total += block_bytes(next);
            wipe(next);
        }
        if (prev && in_bin(prev)) {
            if (block_bytes(prev) <= cfg.decommit_threshold)
                fresh_from = address(prev);
            bin_remove(prev);
            total += block_bytes(prev);
            wipe(h);
            h = prev;
        }
        write(h, h->prev_units, units(total), 0, 0);
        set_prev(after, units(total));
        bin_insert(h);
        if (total > cfg.decommit_threshold) [[unlikely]]
            decommit(h, fresh_from, fresh_to);
    }
    /// Gives back the pages that [from, to), a part of the free block h, touches, except those
    /// holding h's header and links and any page that reaches outside h. Pages partly in [from,
    /// to) go too: their other part is the rest of h, whose pages already went (a neighbour
    /// merged in, above the threshold already), so that the page around the seam between two
    /// freed blocks is not kept forever. Checked first, as compact() does: h is a free block of a
    /// segment, within it, so that no page outside the block is touched.
    [[gnu::noinline]] void decommit(const header* h, std::uintptr_t from,
                                    std::uintptr_t to) noexcept {
        if (!segment_block(h, 0))
            return;
        const std::uintptr_t first = round_up(address(h + 1) + sizeof(free_links), page);
        const std::uintptr_t last = (address(h) + block_bytes(h)) & ~(page - 1);
        from &= ~(page - 1);
        to = round_up(to, page);
        if (from < first)
            from = first;
        if (to > last)
            to = last;
        if (to > from)
            ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
    }

    /// Before f's block grows into its cached neighbour: if that neighbour, with the free block
    /// after it if any, makes room for bs bytes, moves it out of the front end into the bins
    /// (merged with that free block). \returns ok, cannot_resize_in_place or heap_corrupt (nothing
    /// changed then).
    status release_cached_neighbour(const found& f, std::size_t bs) noexcept {
        header* next = f.next;
        const segment& s = segments.data[f.segment_index];
        if (!sound_after(s, next))
            return status::heap_corrupt;
        header* after = advance(next, block_bytes(next));
        std::size_t avail = block_bytes(f.h) + block_bytes(next);
        if (in_bin(after)) {
            if (!sound_after(s, after) || !unlinkable(after))
                return status::heap_corrupt;
            avail += block_bytes(after);
        }
        if (bs > avail)
            return status::cannot_resize_in_place;
        if (!cache_unlink(next))
            return status::heap_corrupt;
        merge_into_bins(next, nullptr, advance(next, block_bytes(next)));
        return status::ok;
    }

    /// Resizes the segment block of f to n bytes without moving it, using the free block after it
    /// if need be. \returns ok, cannot_resize_in_place or heap_corrupt (nothing changed then).
    status resize_in_place(const found& f, std::size_t n) noexcept {
        if (n >= max_segment - 2 * page)
            return status::cannot_resize_in_place;
        header* h = f.h;
        header* next = f.next;
        const std::size_t bs = block_size_for(n);
        const std::size_t have = block_bytes(h);
        if (bs > have && next->flags == flag_cached)
            if (const status st = release_cached_neighbour(f, bs); st != status::ok)
                return st;
        const bool next_free = in_bin(next);
        header* after = next;
        std::size_t avail = have;
        if (next_free) {
            after = advance(next, block_bytes(next));
            if (address(after) > address(segments.data[f.segment_index].end()) || !sealed(after) ||
                after->prev_units != next->size_units || !unlinkable(next))
                return status::heap_corrupt;
            avail += block_bytes(next);
        }
        if (bs > avail)
            return status::cannot_resize_in_place;
        const std::size_t old = capacity(h) - h->slack;
        const std::size_t rest = avail - bs;
        if (next_free) {
            bin_remove(next);
            wipe(next);
        }
        if (rest >= min_block) {
            header* r = advance(h, bs);
            write(r, units(bs), units(rest), 0, 0);
            set_prev(after, units(rest));
            bin_insert(r);
            write(h, h->prev_units, units(bs), flag_in_use, bs - header_size - n);
            // A shrink frees the block's tail: given back as a free would (a growth's remainder
            // comes from the free neighbour, whose pages went back when it was freed).
            if (bs < have && rest > cfg.decommit_threshold) [[unlikely]]
                decommit(r, address(r), next_free ? address(next) : address(after));
        } else {
            // Only without a free neighbour (which alone is >= min_block): the block keeps its
            // size.
            if (next_free)
                set_prev(after, units(avail));
            write(h, h->prev_units, units(avail), flag_in_use, avail - header_size - n);
        }
        on_used(n, old);
        return status::ok;
    }

    void* reallocate_large(void* p, const found& f, std::size_t n, bool in_place_only,
                           status& st) noexcept {
        if (n < large_threshold && !in_place_only) {
            // Small again: move into a segment if there is room, else shrink the mapping below.
            const std::size_t old = larges.data[f.large_index].requested;
            status moved;
            if (void* q = allocate_block(n, false, moved)) {
                std::memcpy(q, p, old < n ? old : n);
                if (free_block(p) != status::ok) {
                    st = status::heap_corrupt;
                    return nullptr;
                }
                st = status::ok;
                return q;
            }
            if (moved == status::heap_corrupt) {
                st = moved;
                return nullptr;
            }
        }
        large_block& l = larges.data[f.large_index];
        const std::size_t length = round_up(n + header_size, page);
        if (length < l.length) {
            unmap_pages(l.base + length, l.length - length);
            on_unmap(l.length - length);
            l.length = length;
        } else if (length > l.length) {
            const std::size_t extra = length - l.length;
            if (extra > room()) {
                if (in_place_only) { // as Windows says for any in-place failure
                    st = status::cannot_resize_in_place;
                    return nullptr;
                }
            } else if (std::size_t li = f.large_index;
                       void* q = remap_large(li, length, in_place_only)) {
                on_used(n, larges.data[li].requested); // li: where the entry is now
                larges.data[li].requested = n;
                st = status::ok;
                return q;
            }
            if (in_place_only) {
                st = status::cannot_resize_in_place;
                return nullptr;
            }
            const std::size_t old = l.requested;
            void* q = allocate_block(n, false, st); // may move the larges table: l is stale
            if (!q)
                return nullptr;
            std::memcpy(q, p, old);
            if (free_block(p) != status::ok) {
                st = status::heap_corrupt;
                return nullptr;
            }
            return q;
        }
        on_used(n, l.requested);
        l.requested = n;
        st = status::ok;
        return p;
    }

    /// Grows the mapping of large block i to length bytes: in place, or (unless in_place_only)
    /// wherever the kernel finds room, moving the pages rather than copying them (Linux's mremap;
    /// elsewhere in place only, with MAP_FIXED_NOREPLACE). The header moves with the pages and is
    /// sealed again at its new address, and i becomes the index of the block's entry in the table,
    /// kept sorted by address. \returns the payload, or nullptr with nothing changed (the kernel
    /// leaves the old mapping as it was when mremap fails). \requires the extra bytes within
    /// room().
    void* remap_large(std::size_t& i, std::size_t length, bool in_place_only) noexcept {
        const large_block l = larges.data[i];
        void* const old = reinterpret_cast<void*>(l.base);
#ifdef MREMAP_MAYMOVE
        void* const got = ::mremap(old, l.length, length, in_place_only ? 0 : MREMAP_MAYMOVE);
        if (got == MAP_FAILED)
            return nullptr; // the old mapping is untouched
#elif defined(MAP_FIXED_NOREPLACE)
        void* const want = reinterpret_cast<void*>(l.base + l.length);
        void* got = ::mmap(want, length - l.length, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (got != want) {
            if (got != MAP_FAILED) // an old kernel took the address as a hint
                ::munmap(got, length - l.length);
            return nullptr;
        }
        got = old;
#else
        return nullptr;
#endif
        on_map(length - l.length);
        if (got == old) {
            larges.data[i].length = length;
            return header_at(l.base) + 1;
        }
        // Moved: the seal covers the header's address, and the table is sorted by address.
        header* const h = static_cast<header*>(got);
        write(h, 0, 0, flag_in_use | flag_large, 0);
        larges.erase(i);
        larges.insert({address(got), length, l.requested});
        i = larges.upper(address(got)) - 1;
        return h + 1;
    }

    void* reallocate_block(void* p, std::size_t n, bool in_place_only, status& st) noexcept {
        if (!p)
            return allocate_block(n, false, st);
        found f;
        if (st = locate(p, f); st != status::ok)
            return nullptr;
        if (n > max_request) {
            st = status::size_overflow;
            return nullptr;
        }
        if (f.is_large)
            return reallocate_large(p, f, n, in_place_only, st);
        const std::size_t old = capacity(f.h) - f.h->slack;
        st = resize_in_place(f, n);
        if (st == status::ok)
            return p;
        if (st != status::cannot_resize_in_place || in_place_only)
            return nullptr;
        void* q = allocate_block(n, false, st);
        if (!q)
            return nullptr;
        std::memcpy(q, p, old < n ? old : n);
        // Found again: the allocation may have split p's neighbour. A damaged neighbour found now
        // leaves p in use, and the heap damaged: q is not handed out then.
        if (free_block(p) != status::ok) {
            st = status::heap_corrupt;
            return nullptr;
        }
        return q;
    }

    // --- whole heap ------------------------------------------------------------------------------
    /// \returns whether h is a sealed header of a block of this heap's segments with these flags.
    /// Reads only memory of the segments.
    bool segment_block(const header* h, std::uint8_t flags,
                       std::size_t* where = nullptr) const noexcept {
        const std::uintptr_t a = address(h);
        const std::size_t si = segment_of(a);
        if (si == segments.count)
            return false;
        if (where)
            *where = si;
        const segment& s = segments.data[si];
        if (a < address(s.first) || a >= address(s.end()) || (a - address(s.first)) % unit != 0)
            return false;
        return sealed(h) && h->flags == flags && h->size_units >= min_block / unit &&
               block_bytes(h) <= address(s.end()) - a;
    }
    /// \returns whether h is a free block of this heap that belongs in bin b.
    bool free_in_bin(const header* h, std::size_t b) const noexcept {
        return segment_block(h, 0) && bin_index(block_bytes(h)) == b;
    }
    /// \returns whether h is a cached block of this heap that belongs in class c.
    bool cached_in_class(const header* h, std::size_t c) const noexcept {
        return segment_block(h, flag_cached) && block_bytes(h) < first_log_size &&
               cache_class(block_bytes(h)) == c;
    }

    /// \returns whether [a, a + n) lies in one mapping of the heap: a segment past the heap
    /// object, or a large block. Reads only the tables.
    bool contains_range(std::uintptr_t a, std::size_t n) const noexcept {
        if (const std::size_t si = segment_of(a); si != segments.count) {
            const segment& s = segments.data[si];
            return a >= address(s.first) && s.base + s.length - a >= n;
        }
        const std::size_t li = larges.upper(a);
        return li != 0 && a - larges.data[li - 1].base < larges.data[li - 1].length &&
               larges.data[li - 1].base + larges.data[li - 1].length - a >= n;
    }

    /// The blocks a walk of segments' headers counted.
    struct tally {
        std::size_t used_blocks = 0;
        std::size_t used_bytes = 0;
        std::size_t free_blocks = 0;
        std::size_t cached_blocks = 0;
    };

    /// \returns whether every header of segment s, its end marker included, is sound and in its
    /// place, with no two free blocks in bins side by side; counts s's blocks into t.
    MEMMGR_ENGINE_SCAN bool segment_sound(const segment& s, tally& t) const noexcept {
        header* const end = s.end();
        header* h = s.first;
        std::uint32_t expect = 0;
        bool after_free = false;
        while (address(h) < address(end)) {
            if (!sealed(h) || h->prev_units != expect || h->size_units < min_block / unit ||
                !segment_flags(h->flags) || block_bytes(h) > address(end) - address(h))
                return false;
            if (in_use(h)) {
                if (h->slack > capacity(h))
                    return false;
                ++t.used_blocks;
                t.used_bytes += capacity(h) - h->slack;
                after_free = false;
            } else if (h->flags == flag_cached) {
                // Found again in its class list by check_all; it may touch free blocks either side.
                if (h->slack != 0 || block_bytes(h) >= first_log_size)
                    return false;
                ++t.cached_blocks;
                after_free = false;
            } else {
                // Two free blocks in bins side by side: a merge was missed.
                if (after_free || h->slack != 0)
                    return false;
                after_free = true;
                ++t.free_blocks;
            }
            expect = h->size_units;
            h = advance(h, block_bytes(h));
        }
        return h == end && sealed(end) && end->prev_units == expect && end->size_units == 0 &&
               end->flags == flag_in_use && end->slack == 0;
    }

    /// \returns whether the bins and the cache lists hold exactly the free and cached blocks the
    /// walk counted in t, each once, each in its right list, and no bitmap bit is set past the
    /// bins.
    MEMMGR_ENGINE_SCAN bool lists_sound(const tally& t) const noexcept {
        std::size_t listed = 0;
        for (std::size_t b = 0; b < num_bins; ++b) {
            const bool marked = (bitmap[b / 64] >> (b % 64) & 1) != 0;
            if (marked != (bins[b] != nullptr))
                return false;
            const header* prev = nullptr;
            for (header* h = bins[b]; h; h = next_of(h)) {
                if (++listed > t.free_blocks || !free_in_bin(h, b) || prev_of(h) != prev)
                    return false;
                prev = h;
            }
        }
        // Each entry of a bin is a distinct free block (a repeat would break its back link, and a
        // block belongs to one bin only), so equal counts mean every free block is listed once.
        if (listed != t.free_blocks || free_count != t.free_blocks)
            return false;
        // Every cached block is in the list of its class, once: the lists hold exactly as many
        // blocks as the walk found, each a genuine cached block of the right size.
        std::size_t cached_listed = 0;
        for (std::size_t c = 0; c < cache_classes; ++c) {
            std::size_t count = 0;
            for (header* h = cache[c]; h; h = next_of(h)) {
                if (++cached_listed > t.cached_blocks || !cached_in_class(h, c))
                    return false;
                ++count;
            }
            if (count != cache_count[c] || count > cache_class_cap)
                return false;
        }
        if (cached_listed != t.cached_blocks)
            return false;
        for (std::size_t b = num_bins; b < bitmap_words * 64; ++b)
            if ((bitmap[b / 64] >> (b % 64) & 1) != 0)
                return false;
        return true;
    }

    status check_all() const noexcept {
        std::size_t reserved = segments.mapped_bytes + larges.mapped_bytes;
        tally counted;
        if (damaged || !guard_intact() || segments.count == 0 ||
            segments.count > segments.capacity || larges.count > larges.capacity)
            return status::heap_corrupt;
        for (std::size_t i = 0; i < segments.count; ++i) {
            const segment& s = segments.data[i];
            if (i > 0 && s.base - segments.data[i - 1].base < segments.data[i - 1].length)
                return status::heap_corrupt;
            const std::uintptr_t first = s.base == address(this) ? s.base + self_bytes() : s.base;
            if (address(s.first) != first || s.length % page != 0)
                return status::heap_corrupt;
            reserved += s.length;
            if (!segment_sound(s, counted))
                return status::heap_corrupt;
        }
        if (!lists_sound(counted))
            return status::heap_corrupt;
        for (std::size_t i = 0; i < larges.count; ++i) {
            const large_block& l = larges.data[i];
            if (i > 0 && l.base - larges.data[i - 1].base < larges.data[i - 1].length)
                return status::heap_corrupt;
            if (segment_of(l.base) != segments.count || l.length % page != 0 ||
                l.requested > l.length - header_size)
                return status::heap_corrupt;
            if (!large_header_sound(header_at(l.base)))
                return status::heap_corrupt;
            reserved += l.length;
            ++counted.used_blocks;
            counted.used_bytes += l.requested;
        }
        if (reserved != stats.reserved_bytes || counted.used_blocks != stats.used_blocks ||
            counted.used_bytes != stats.used_bytes)
            return status::heap_corrupt;
        return status::ok;
    }

    /// \returns the largest free block's capacity, or 0 with the heap found damaged (every block
    /// is checked before its pages are given back, every list walk is bounded).
    std::size_t compact_all() noexcept {
        flush_caches();
        if (damaged)
            return 0;
        for (std::size_t i = segments.count; i-- > 0;) {
            const segment s = segments.data[i];
            if (s.initial || !in_bin(s.first) || !sealed(s.first) ||
                block_bytes(s.first) != address(s.end()) - address(s.first))
                continue;
            if (!unlinkable(s.first)) {
                corrupt();
                return 0;
            }
            bin_remove(s.first);
            segments.erase(i);
            unmap_pages(s.base, s.length);
            segment_bytes -= s.length;
            on_unmap(s.length);
        }
        back_inline(segments);
        std::size_t largest = 0;
        std::size_t seen = 0;
        for (std::size_t b = 0; b < num_bins; ++b) {
            for (header* h = bins[b]; h; h = next_of(h)) {
                if (++seen > free_count || !free_in_bin(h, b)) {
                    corrupt();
                    return 0;
                }
                const std::size_t bytes = block_bytes(h);
                if (capacity(h) > largest)
                    largest = capacity(h);
                // Give back the pages of a big free block, keeping its header and links.
                const std::uintptr_t from = round_up(address(h + 1) + sizeof(free_links), page);
                const std::uintptr_t to = (address(h) + bytes) & ~(page - 1);
                if (bytes >= 64 * kib && to > from)
                    ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
            }
        }
        return largest;
    }

    void unmap_larges() noexcept {
        for (std::size_t i = 0; i < larges.count; ++i) {
            unmap_pages(larges.data[i].base, larges.data[i].length);
            on_unmap(larges.data[i].length);
        }
        larges.count = 0;
        back_inline(larges);
    }

    void release_everything() noexcept {
        unmap_larges();
        std::size_t kept = 0;
        for (std::size_t i = 0; i < segments.count; ++i) {
            const segment s = segments.data[i];
            if (s.initial) {
                segments.data[kept++] = s;
            } else {
                unmap_pages(s.base, s.length);
                segment_bytes -= s.length;
                on_unmap(s.length);
            }
        }
        segments.count = kept;
        back_inline(segments);
        // A new cookie voids every header written so far, so stale pointers into the old blocks
        // are not mistaken for blocks.
        cookie = mix(cookie + 0x9e3779b97f4a7c15u);
        link_key = mix(cookie ^ 0x2545f4914f6cdd1du);
        write_guard();
        damaged = false;
        free_count = 0;
        for (auto& word : bitmap)
            word = 0;
        for (auto& bin : bins)
            bin = nullptr;
        for (std::size_t c = 0; c < cache_classes; ++c) {
            cache[c] = nullptr;
            cache_count[c] = 0;
        }
        for (std::size_t i = 0; i < segments.count; ++i) {
            format(segments.data[i]);
            // Every block freed at once: as a free would, the pages of a big run go back.
            if (block_bytes(segments.data[i].first) > cfg.decommit_threshold)
                decommit(segments.data[i].first, address(segments.data[i].first),
                         address(segments.data[i].end()));
        }
        stats.used_bytes = 0;
        stats.used_blocks = 0;
    }

    /// \returns whether h, the header after one of `expect` units in a segment ending at end, is
    /// sound enough to be reported by a walk and followed.
    MEMMGR_ENGINE_SCAN bool walkable(const header* h, std::uint32_t expect,
                                     const header* end) const noexcept {
        return sealed(h) && h->prev_units == expect && h->size_units >= min_block / unit &&
               segment_flags(h->flags) && block_bytes(h) <= address(end) - address(h) &&
               !(in_use(h) && h->slack > capacity(h));
    }

    /// \returns heap_corrupt at the first damaged header (having visited the blocks before it),
    /// ok when every block was visited.
    status visit_all(void (*visit)(void*, const block_info&), void* context) const noexcept {
        if (damaged || !guard_intact())
            return status::heap_corrupt;
        for (std::size_t i = 0; i < segments.count; ++i) {
            const segment& s = segments.data[i];
            header* const end = s.end();
            header* h = s.first;
            std::uint32_t expect = 0;
            while (address(h) < address(end)) {
                // Each header is checked before it is reported or followed.
                if (!walkable(h, expect, end))
                    return status::heap_corrupt;
                if (in_use(h))
                    visit(context, {h + 1, capacity(h) - h->slack, header_size + h->slack, true});
                else
                    visit(context, {h + 1, capacity(h), header_size, false});
                expect = h->size_units;
                h = advance(h, block_bytes(h));
            }
            if (h != end || !sealed(end) || end->prev_units != expect || end->size_units != 0)
                return status::heap_corrupt;
        }
        for (std::size_t i = 0; i < larges.count; ++i) {
            const large_block& l = larges.data[i];
            if (!large_header_sound(header_at(l.base)))
                return status::heap_corrupt;
            visit(context, {header_at(l.base) + 1, l.requested, l.length - l.requested, true});
        }
        return status::ok;
    }

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
    static fork_list& forks() noexcept {
        static constinit fork_list list; // constant-initialised: usable from any handler
        return list;
    }
    static void fork_prepare() noexcept {
        forks().lock.lock();
        for (impl* h = forks().first; h; h = h->fork_next)
            h->lock.lock();
    }
    static void fork_parent() noexcept {
        for (impl* h = forks().first; h; h = h->fork_next)
            h->lock.unlock();
        forks().lock.unlock();
    }
    static void fork_child() noexcept {
        for (impl* h = forks().first; h; h = h->fork_next)
            h->lock.reset_after_fork();
        forks().lock.reset_after_fork();
    }
    /// Lists a serialized heap, installing the fork handlers with the first one. If they cannot be
    /// installed (pthread_atfork reports ENOMEM), the heaps work as before, without fork safety.
    void enlist_for_fork() noexcept {
        [[maybe_unused]] static const bool hooked =
            ::pthread_atfork(&fork_prepare, &fork_parent, &fork_child) == 0;
        const std::lock_guard held(forks().lock);
        fork_next = forks().first;
        if (fork_next)
            fork_next->fork_prev = this;
        forks().first = this;
    }
    void delist_for_fork() noexcept {
        const std::lock_guard held(forks().lock);
        if (fork_prev)
            fork_prev->fork_next = fork_next;
        else if (forks().first == this)
            forks().first = fork_next;
        if (fork_next)
            fork_next->fork_prev = fork_prev;
    }
};

private_heap* private_heap::create(const heap_config& config) noexcept {
    // Windows' heap keeps 3 KiB of a fixed heap for itself (Wine's test_HeapCreate: a 256 KiB heap
    // serves 256 KiB - 3 KiB); the heap object, the first block's header and the segment's end
    // marker fit in as much.
    static_assert(impl::self_bytes() + 2 * header_size <= 3 * kib,
                  "the heap object outgrew Windows' 3 KiB allowance");
    const long page_size = ::sysconf(_SC_PAGESIZE);
    const std::size_t page = page_size > 0 ? static_cast<std::size_t>(page_size) : 4096;
    std::size_t maximum = 0;
    if (config.maximum_size != 0) {
        constexpr std::size_t limit = std::size_t{1} << 62; // more than any address space
        maximum = round_up(config.maximum_size < limit ? config.maximum_size : limit, page);
    }
    std::size_t initial = config.initial_size != 0 ? config.initial_size : default_initial;
    if (maximum != 0 && initial > maximum)
        initial = maximum;
    if (initial > initial_limit)
        return nullptr;
    initial = round_up(initial, page);
    const std::size_t smallest = round_up(impl::self_bytes() + min_block + header_size, page);
    if (maximum != 0 && smallest > maximum)
        return nullptr;
    if (initial < smallest)
        initial = smallest;

    const std::size_t first_length = initial < max_segment ? initial : max_segment;
    void* mem = map_pages(first_length);
    if (!mem)
        return nullptr;
    auto* h = ::new (mem) impl();
    h->cfg = {initial, maximum, config.serialize, config.terminate_on_corruption,
              config.decommit_threshold};
    h->page = page;
    h->budget = maximum != 0 ? maximum : std::numeric_limits<std::size_t>::max();
    static std::atomic<std::uint64_t> created{0};
    h->cookie = mix(
        address(mem) ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (created.fetch_add(1, std::memory_order_relaxed) << 48));
    h->link_key = mix(h->cookie ^ 0x2545f4914f6cdd1du);
    h->write_guard();
    h->segments.reset_inline();
    h->larges.reset_inline();
    h->add_segment(address(mem), first_length, header_at(address(mem) + impl::self_bytes()), true);
    for (std::size_t left = initial - first_length; left != 0;) {
        const std::size_t length = left < max_segment ? left : max_segment;
        void* more = map_pages(length);
        if (!more) {
            destroy(h);
            return nullptr;
        }
        h->add_segment(address(more), length, static_cast<header*>(more), true);
        left -= length;
    }
    if (h->cfg.serialize)
        h->enlist_for_fork();
    return h;
}

void private_heap::destroy(private_heap* heap) noexcept {
    if (!heap)
        return;
    auto& h = static_cast<impl&>(*heap);
    if (h.is_process)
        return;
    if (h.cfg.serialize)
        h.delist_for_fork();
    h.unmap_larges();
    std::size_t own_length = 0;
    for (std::size_t i = 0; i < h.segments.count; ++i) {
        const segment& s = h.segments.data[i];
        if (s.base == address(&h))
            own_length = s.length;
        else
            unmap_pages(s.base, s.length);
    }
    if (h.segments.mapped_bytes)
        unmap_pages(address(h.segments.data), h.segments.mapped_bytes);
    h.~impl();
    unmap_pages(address(heap), own_length);
}

private_heap* private_heap::process() noexcept {
    // A function-local static: initialised once, thread-safely, and never destroyed.
    static private_heap* const instance = [] {
        private_heap* h = create(heap_config{});
        if (h)
            static_cast<impl*>(h)->is_process = true;
        return h;
    }();
    return instance;
}

// allocate and free: without a lock to take, the front end's fast path runs with no stack frame
// and ends in a tail call when it misses; with one, it runs inside the locked variant.
void* private_heap::allocate(std::size_t n, bool zero, status& st) noexcept {
    auto& h = static_cast<impl&>(*this);
    if (h.locking())
        return h.allocate_locked(n, zero, st);
    return h.allocate_block(n, zero, st);
}

status private_heap::free(void* p) noexcept {
    if (!p)
        return status::ok;
    auto& h = static_cast<impl&>(*this);
    if (h.locking())
        return h.free_locked(p);
    return h.free_block(p);
}

status private_heap::size(const void* p, std::size_t& out) const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    const optional_lock held(h.lock, h.cfg.serialize);
    if (h.damaged)
        return status::heap_corrupt;
    impl::found f;
    if (const status st = h.locate(p, f); st != status::ok)
        return h.noted(st);
    out = f.is_large ? h.larges.data[f.large_index].requested : capacity(f.h) - f.h->slack;
    return status::ok;
}

void* private_heap::reallocate(void* p, std::size_t n, bool in_place_only, status& st) noexcept {
    auto& h = static_cast<impl&>(*this);
    const optional_lock held(h.lock, h.cfg.serialize);
    if (h.damaged) {
        st = status::heap_corrupt;
        return nullptr;
    }
    void* q = h.reallocate_block(p, n, in_place_only, st);
    if (!q)
        st = h.noted(st);
    return q;
}

bool private_heap::owns(const void* p) const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    const optional_lock held(h.lock, h.cfg.serialize);
    impl::found f;
    return p && !h.damaged && h.noted(h.locate(p, f)) == status::ok;
}

status private_heap::validate(const void* p) const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    const optional_lock held(h.lock, h.cfg.serialize);
    if (h.damaged)
        return status::heap_corrupt;
    if (!p)
        return h.noted(h.check_all());
    impl::found f;
    return h.noted(h.locate(p, f));
}

std::size_t private_heap::compact(status& st) noexcept {
    auto& h = static_cast<impl&>(*this);
    const optional_lock held(h.lock, h.cfg.serialize);
    st = status::heap_corrupt;
    if (h.damaged || !h.guard_intact()) {
        h.corrupt();
        return 0;
    }
    const std::size_t largest = h.compact_all();
    if (!h.damaged)
        st = status::ok;
    return largest;
}

void private_heap::release_all() noexcept {
    auto& h = static_cast<impl&>(*this);
    if (h.is_process)
        return;
    const optional_lock held(h.lock, h.cfg.serialize);
    // Rebuilding rewrites every header, list and the cookie, so it clears damage found in blocks;
    // damage to the heap object itself (its guard broken) leaves the tables it would follow
    // untrusted: the heap then stays damaged and nothing is unmapped.
    if (!h.guard_intact()) {
        h.corrupt();
        return;
    }
    h.release_everything();
}

bool private_heap::contains(const void* p, std::size_t n) const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    const optional_lock held(h.lock, h.cfg.serialize);
    return h.contains_range(address(p), n);
}

status private_heap::walk(void (*visit)(void* context, const block_info& entry),
                          void* context) const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    const optional_lock held(h.lock, h.cfg.serialize, true);
    return h.noted(h.visit_all(visit, context));
}

heap_usage private_heap::usage() const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    const optional_lock held(h.lock, h.cfg.serialize);
    return h.stats;
}

heap_config private_heap::config() const noexcept {
    const auto& h = static_cast<const impl&>(*this);
    return h.cfg;
}

} // namespace memmgr::detail::posix
