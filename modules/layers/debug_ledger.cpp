// memmgr:debug_heap's books (detail::debug_ledger): the block layout and its seal, the live and
// recently freed blocks, the quarantine, the counts, the problem handler and the registry of live
// debug heaps. Every debug_heap<H> forwards here, so this is compiled once, not in every importer.
module;
#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <source_location>
#include <span>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../core/light_lock.hpp"

module memmgr;

import :debug_heap;
import :platform;

namespace memmgr::detail {

// The quarantine: a FIFO of at most `capacity` items, whose storage grows as items come. Not
// std::deque: with <deque> in a module's global fragment, an importer that includes <deque> after
// `import memmgr;` fails to compile (docs/toolchain.md); here it would be harmless, but the ring is
// small.
template <class T>
class ring {
public:
    explicit ring(std::size_t capacity) noexcept : capacity_(capacity) {}
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] bool full() const noexcept { return count_ == capacity_; }
    /// \effects makes room for every item at once. \throws std::bad_alloc.
    void reserve_all() { grow_to(capacity_); }
    /// \effects appends v; the ring must not be full. \returns false, with nothing changed, if
    /// its storage could not grow.
    [[nodiscard]] bool push(const T& v) noexcept {
        if (count_ == slots_.size()) {
            try {
                grow_to(std::min(capacity_, std::max<std::size_t>(16, 2 * slots_.size())));
            } catch (const std::bad_alloc&) {
                return false;
            }
        }
        slots_[index(count_)] = v;
        ++count_;
        return true;
    }
    /// \returns the oldest item, removed.
    T pop() noexcept {
        T v = slots_[head_];
        head_ = index(1);
        --count_;
        return v;
    }
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < count_; ++i)
            f(slots_[index(i)]);
    }

private:
    // The slot of the item i places after the oldest (i <= the storage's size): a subtraction, not
    // a division, on every push and pop.
    std::size_t index(std::size_t i) const noexcept {
        const std::size_t at = head_ + i;
        return at >= slots_.size() ? at - slots_.size() : at;
    }

    // New storage holds the items in order from its start.
    void grow_to(std::size_t n) {
        if (n <= slots_.size())
            return;
        std::vector<T> more(n);
        for (std::size_t i = 0; i < count_; ++i)
            more[i] = slots_[(head_ + i) % slots_.size()];
        slots_.swap(more);
        head_ = 0;
    }

    std::vector<T> slots_;
    std::size_t capacity_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
};

// Every live debug_heap, so that a pointer refused by one can be recognised as another's; and
// the debug heaps' fork safety: fork() takes the registry's lock, then every member's books lock
// (the order in which someone_else_owns takes them), before the locks of the heaps beneath, which
// operations take while they hold their books (os::hold_debug_heaps_across_fork). A child forked
// while another thread was inside a debug heap finds its books consistent and unlocked.
class debug_heap_registry {
public:
    struct member {
        /// \requires the caller holds books_lock(), or this thread holds it (calling_beneath).
        virtual bool has_live_block_held(const void* p) const noexcept = 0;
        /// The lock of the member's books.
        virtual light_lock& books_lock() const noexcept = 0;

    protected:
        ~member() = default;
    };

    // Marks, for as long as it lives, that this thread holds m's books while it calls the heap
    // beneath (a debug heap over a debug heap): a refusal there asks someone_else_owns, which then
    // reads m's books as they stand instead of waiting for their lock (it waited for ever).
    class calling_beneath {
    public:
        explicit calling_beneath(const member* m) noexcept : mine_{m, held_} { held_ = &mine_; }
        calling_beneath(const calling_beneath&) = delete;
        calling_beneath& operator=(const calling_beneath&) = delete;
        ~calling_beneath() { held_ = mine_.outer; }

        static bool holds(const member* m) noexcept {
            for (const node* n = held_; n != nullptr; n = n->outer)
                if (n->books == m)
                    return true;
            return false;
        }

    private:
        struct node {
            const member* books;
            const node* outer;
        };
        node mine_;
        static inline constinit thread_local const node* held_ = nullptr;
    };
    // The one registry, never destroyed: debug heaps with static storage duration may outlive
    // any other object.
    static debug_heap_registry& instance() noexcept {
        static debug_heap_registry* const r = [] {
            auto* made = new debug_heap_registry;
            os::hold_debug_heaps_across_fork(&fork_prepare, &fork_parent, &fork_child);
            return made;
        }();
        return *r;
    }
    // \throws std::bad_alloc.
    void add(const member* m) {
        std::lock_guard lock(mutex_);
        members_.push_back(m);
    }
    void remove(const member* m) noexcept {
        std::lock_guard lock(mutex_);
        std::erase(members_, m);
    }
    // \returns whether a live debug heap other than self has the live block p. Only tries the
    // locks (the registry's, each member's books), the registry released between rounds, and
    // gives up on a member still busy after `patience`, as if it had not p (the problem then says
    // foreign_block instead of wrong_heap): a heap over another holds its books while the one
    // beneath refuses a free, and two such threads, or one and a fork taking every book, would
    // otherwise each wait for what the other holds. Books this thread holds are read as they
    // stand (between two steps of its operation, whole).
    [[nodiscard]] bool someone_else_owns(const member* self, const void* p) const noexcept {
        constexpr auto patience = std::chrono::milliseconds(200);
        const auto deadline = std::chrono::steady_clock::now() + patience;
        for (;;) {
            bool busy = false;
            if (std::unique_lock lock(mutex_, std::try_to_lock); lock.owns_lock()) {
                for (const member* m : members_) {
                    if (m == self)
                        continue;
                    if (calling_beneath::holds(m)) {
                        if (m->has_live_block_held(p))
                            return true;
                        continue;
                    }
                    light_lock& books = m->books_lock();
                    if (!books.try_lock()) {
                        busy = true;
                        continue;
                    }
                    const bool has = m->has_live_block_held(p);
                    books.unlock();
                    if (has)
                        return true;
                }
            } else {
                busy = true;
            }
            if (!busy || std::chrono::steady_clock::now() >= deadline)
                return false;
            std::this_thread::yield();
        }
    }

private:
    // The books are taken newest first: a debug heap over another debug heap (registered after
    // it) holds its own books while it calls the one beneath, so the outer ones come first, as
    // every operation takes them (oldest first deadlocked against such an operation).
    static void fork_prepare() noexcept {
        debug_heap_registry& r = instance();
        r.mutex_.lock();
        for (auto m = r.members_.rbegin(); m != r.members_.rend(); ++m)
            (*m)->books_lock().lock();
    }
    static void fork_parent() noexcept {
        debug_heap_registry& r = instance();
        for (const member* m : r.members_)
            m->books_lock().unlock();
        r.mutex_.unlock();
    }
    // The child's one thread is the one that took every lock: they are made free again.
    static void fork_child() noexcept {
        debug_heap_registry& r = instance();
        for (const member* m : r.members_)
            m->books_lock().reset_after_fork();
        r.mutex_.unlock();
    }

    mutable std::mutex mutex_;
    std::vector<const member*> members_;
};

namespace {

// The problems one free can find, kept in place rather than in a vector, so that a free that finds
// damage reports it even when memory is exhausted (a vector's growth threw into a noexcept
// function): its two guards, the block its quarantine evicts (its fill or its header, else its two
// guards), the heap beneath refusing that block. Never more than five.
class few_problems {
public:
    void push_back(const debug_problem& p) noexcept {
        if (count_ < items_.size())
            items_[count_++] = p;
    }
    [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
    [[nodiscard]] std::span<const debug_problem> view() const noexcept {
        return {items_.data(), count_};
    }

private:
    std::array<debug_problem, 8> items_{};
    std::size_t count_ = 0;
};

// In front of every block (then the front guard bytes). An underrun longer than those bytes
// reaches it: the seal, over its fields and the block's address, tells before any field is
// trusted (a damaged header is reported as an overrun before the block, and its block is never
// read, filled or freed through it).
//
// `slot` is the block's place in the table of live blocks (books::live), in what was padding. It
// is not sealed (a block that moves in the table would need a new seal): the table confirms it
// instead (live[slot] == p), and a slot that does not is damage.
struct block_header {
    std::uint32_t slot;
    block_type type;
    std::uint64_t request;
    std::size_t size;
    std::source_location where;
    std::uint64_t seal;
};

// The checks every allocation and free makes are inlined into them (a call each cost more than
// the two loads they are); what only a problem or a new region needs stays out of line.
#if defined(__GNUC__) || defined(__clang__)
#define MEMMGR_HOT_INLINE [[gnu::always_inline]] inline
#define MEMMGR_COLD [[gnu::noinline]]
#else
#define MEMMGR_HOT_INLINE inline
#define MEMMGR_COLD
#endif

// Word with every byte v.
template <class Word>
constexpr Word repeated(unsigned char v) noexcept {
    return static_cast<Word>(static_cast<Word>(~Word{0}) / 0xFF * v);
}

// \returns whether [p, p + n) is all v. Guards are a few bytes: up to 16 are compared here, inline,
// in two (possibly overlapping) loads of a word of sizeof(Word) <= n bytes that are all v, as
// `pattern`; a longer run goes to the word scans.
template <class Word>
MEMMGR_HOT_INLINE bool ends_are(const unsigned char* p, std::size_t n, Word pattern) noexcept {
    Word first;
    Word last;
    std::memcpy(&first, p, sizeof(Word));
    std::memcpy(&last, p + n - sizeof(Word), sizeof(Word));
    return ((first ^ pattern) | (last ^ pattern)) == 0;
}
MEMMGR_HOT_INLINE bool all_bytes(const unsigned char* p, std::size_t n, unsigned char v) noexcept {
    if (n >= 8 && n <= 16)
        return ends_are(p, n, repeated<std::uint64_t>(v));
    if (n >= 4 && n < 8)
        return ends_are(p, n, repeated<std::uint32_t>(v));
    if (n < 4) {
        for (std::size_t i = 0; i < n; ++i)
            if (p[i] != v)
                return false;
        return true;
    }
    return first_byte_not(p, n, v) == n;
}

// \effects sets [p, p + n) to v. Guards are a few bytes: up to 16 are written here, inline, in two
// (possibly overlapping) stores of `pattern`, as all_bytes reads them; a longer run goes to memset.
template <class Word>
MEMMGR_HOT_INLINE void set_ends(unsigned char* p, std::size_t n, Word pattern) noexcept {
    std::memcpy(p, &pattern, sizeof(Word));
    std::memcpy(p + n - sizeof(Word), &pattern, sizeof(Word));
}
void set_bytes(unsigned char* p, std::size_t n, unsigned char v) noexcept {
    if (n >= 8 && n <= 16)
        return set_ends(p, n, repeated<std::uint64_t>(v));
    if (n >= 4 && n < 8)
        return set_ends(p, n, repeated<std::uint32_t>(v));
    if (n < 4) {
        for (std::size_t i = 0; i < n; ++i)
            p[i] = v;
        return;
    }
    std::memset(p, v, n);
}

// The last `capacity` blocks freed, for double-free reports. The storage grows as frees come (a
// debug_heap that frees little never pays for its 4096 remembered frees); once it is full, each
// free overwrites the oldest. Only searched when a free is refused, so the order is not kept and a
// free is a compare, a store and an increment.
class free_history {
public:
    explicit free_history(std::size_t capacity) noexcept : capacity_(capacity) {}
    free_history(const free_history&) = delete;
    free_history& operator=(const free_history&) = delete;

    // \effects remembers p, which is not nullptr (not if the storage cannot grow: a later double
    // free of p then reads as foreign_block instead of double_free).
    MEMMGR_HOT_INLINE void add(const void* p) noexcept {
        if (next_ == end_ && !make_room())
            return;
        *next_++ = p;
    }
    // \returns whether p, not nullptr, is among the remembered frees.
    [[nodiscard]] bool holds(const void* p) const noexcept {
        return std::ranges::find(slots_, p) != slots_.end(); // unused slots are nullptr
    }

private:
    MEMMGR_COLD bool make_room() noexcept {
        const std::size_t had = slots_.size();
        if (had < capacity_) {
            try {
                slots_.resize(std::min(capacity_, std::max<std::size_t>(16, 2 * had)));
            } catch (const std::bad_alloc&) {
                if (had == 0)
                    return false;
                capacity_ = had; // what there is, overwritten from now on
                next_ = slots_.data();
                return true;
            }
            next_ = slots_.data() + had;
        } else {
            next_ = slots_.data(); // full: the oldest goes first
        }
        end_ = slots_.data() + slots_.size();
        return true;
    }

    std::vector<const void*> slots_;
    std::size_t capacity_;
    const void** next_ = nullptr; // the slot the next free goes to
    const void** end_ = nullptr;
};

// Not a place in the table of live blocks.
constexpr std::size_t no_slot = static_cast<std::size_t>(-1);

// The most live blocks the table holds (a slot is 32 bits); more are refused as out_of_memory,
// which at 40 bytes of header each is beyond any memory.
constexpr std::size_t max_slots = std::uint32_t(-1);

// Where the headers of live blocks start: one bit per `granule` bytes of address space (the heap
// beneath's alignment, at most 16), in one bitmap of 32 KiB per region of 256 Ki granules (4 MiB
// of address space at 16 bytes: a page segment of the POSIX private heap). calloc'd: small enough
// that a debug heap made and dropped per fuzz input, or per task, clears little (256 KiB bitmaps
// came from their own mappings under ASan, or were cleared whole by glibc's calloc once its mmap
// threshold had risen: a quarter more time per heap_ops input). A set bit says exactly that a live
// header of this heap starts there: a pointer whose bit is clear is no block of this heap and
// nothing of it is read; a header is read only when its bit is set. Testing, setting and clearing a
// bit is a mask, a shift, a compare (a small cache of regions, indexed by the region's number) and
// a load: no hashing and no probing. A free clears the bit its test found, without a second look.
class header_starts {
public:
    // Where the bit of one header's start is: its byte in a region's bitmap, and its mask there.
    struct place {
        std::uint8_t* byte = nullptr; // nullptr: no live header starts there
        std::uint8_t bit = 0;
    };

    explicit header_starts(std::size_t alignment) noexcept
        : granule_shift_(static_cast<unsigned>(
              std::countr_zero(std::bit_floor(std::clamp<std::size_t>(alignment, 1, 16))))),
          off_granule_((std::uintptr_t{1} << granule_shift_) - 1) {
        cache_.fill({no_top, nullptr});
    }

    // \returns the place of a's bit when a live header starts at address a; an empty place
    // otherwise.
    [[nodiscard]] MEMMGR_HOT_INLINE place find(std::uintptr_t a) const noexcept {
        if ((a & off_granule_) != 0)
            return {};
        const std::uintptr_t g = a >> granule_shift_;
        std::uint8_t* bits = bits_of(g >> region_shift);
        if (bits == nullptr)
            return {};
        const place at{bits + byte_of(g), bit_of(g)};
        if ((*at.byte & at.bit) == 0)
            return {};
        return at;
    }
    // \returns whether a live header starts at address a.
    [[nodiscard]] MEMMGR_HOT_INLINE bool holds(std::uintptr_t a) const noexcept {
        return find(a).byte != nullptr;
    }
    // \effects marks a (a multiple of the heap beneath's alignment) as a live header's start.
    // \returns false, with nothing marked, if no room could be made for a's region.
    [[nodiscard]] MEMMGR_HOT_INLINE bool add(std::uintptr_t a) noexcept {
        const std::uintptr_t g = a >> granule_shift_;
        std::uint8_t* bits = bits_of(g >> region_shift);
        if (bits == nullptr && (bits = new_region(g >> region_shift)) == nullptr)
            return false;
        bits[byte_of(g)] |= bit_of(g);
        return true;
    }
    // \effects unmarks the start that find found.
    MEMMGR_HOT_INLINE static void clear(place at) noexcept {
        *at.byte &= static_cast<std::uint8_t>(~at.bit);
    }
    // \effects unmarks a, which add marked.
    void remove(std::uintptr_t a) noexcept {
        const std::uintptr_t g = a >> granule_shift_;
        clear({bits_of(g >> region_shift) + byte_of(g), bit_of(g)});
    }

private:
    static constexpr unsigned region_shift = 18; // granules per region, one bit each: 32 KiB
    static constexpr std::size_t region_bytes = (std::size_t{1} << region_shift) / 8;
    // Regions are numbered by address >> (granule shift + 18): no number is all ones.
    static constexpr std::uintptr_t no_top = static_cast<std::uintptr_t>(-1);
    // The regions recently used, each in the entry its number's low bits name: the random churn's
    // small blocks (in the engine's pages) and its blocks above 1 KiB (in its segments) lie in
    // different regions, and one entry for the last region used sent a tenth of the lookups to the
    // binary search.
    static constexpr std::size_t cache_size = 8;

    struct free_bits {
        void operator()(std::uint8_t* p) const noexcept { std::free(p); }
    };
    struct region {
        std::uintptr_t top;
        std::unique_ptr<std::uint8_t, free_bits> bits;
    };
    struct cached {
        std::uintptr_t top;
        std::uint8_t* bits;
    };

    static std::size_t byte_of(std::uintptr_t g) noexcept {
        return static_cast<std::size_t>(g / 8) & (region_bytes - 1);
    }
    static std::uint8_t bit_of(std::uintptr_t g) noexcept {
        return static_cast<std::uint8_t>(1u << (g % 8));
    }
    // The cache first (blocks come from few regions), then a binary search. A region's bitmap
    // never moves and is never dropped before the debug heap, so a cached pointer stays good.
    MEMMGR_HOT_INLINE std::uint8_t* bits_of(std::uintptr_t top) const noexcept {
        const cached& c = cache_[top % cache_size];
        if (c.top == top)
            return c.bits;
        return search(top);
    }
    MEMMGR_COLD std::uint8_t* search(std::uintptr_t top) const noexcept {
        const auto at = std::ranges::lower_bound(regions_, top, {}, &region::top);
        if (at == regions_.end() || at->top != top)
            return nullptr;
        return remember(top, at->bits.get());
    }
    std::uint8_t* remember(std::uintptr_t top, std::uint8_t* bits) const noexcept {
        cache_[top % cache_size] = {top, bits};
        return bits;
    }
    MEMMGR_COLD std::uint8_t* new_region(std::uintptr_t top) noexcept {
        // calloc: the bitmap is zero pages until a block lands on them.
        std::unique_ptr<std::uint8_t, free_bits> bits(
            static_cast<std::uint8_t*>(std::calloc(region_bytes, 1)));
        if (bits == nullptr)
            return nullptr;
        try {
            const auto at = std::ranges::lower_bound(regions_, top, {}, &region::top);
            return remember(top, regions_.insert(at, region{top, std::move(bits)})->bits.get());
        } catch (const std::bad_alloc&) {
            return nullptr;
        }
    }

    unsigned granule_shift_;
    std::uintptr_t off_granule_;  // the bits of an address below its granule
    std::vector<region> regions_; // by top
    mutable std::array<cached, cache_size> cache_;
};

constexpr std::size_t round_up(std::size_t n, std::size_t a) noexcept {
    return (n + a - 1) / a * a;
}

// Frees remembered for double-free reports: the last 4096, or every quarantined block if the
// quarantine is longer (a quarantined block's double free always says double_free). They are only
// searched when a free is refused, so the hot path only writes one slot of their history.
constexpr std::size_t remembered_frees = 4096;

} // namespace

struct debug_ledger::books final : debug_heap_registry::member {
    books(const debug_options& o, std::size_t alignment, const debug_base_ops& ops)
        : options(o), base(ops), starts(alignment), quarantine(o.quarantine + 1),
          recent_frees(std::max(remembered_frees, o.quarantine + 1)) {
        front = round_up(sizeof(block_header) + options.guard_size, alignment);
        largest = max_request_size - front - options.guard_size;
        const std::size_t gap = front - sizeof(block_header);
        usual_guards = gap >= 8 && gap <= 16 && options.guard_size >= 4 && options.guard_size <= 8;
        quarantine.reserve_all(); // so that a free is never refused the quarantine
    }

    // --- layout and seal ---------------------------------------------------------------------

    void* raw_of(const void* p) const noexcept {
        return const_cast<char*>(static_cast<const char*>(p)) - front;
    }
    block_header* header_of(const void* p) const noexcept {
        return static_cast<block_header*>(raw_of(p));
    }
    // A hint to the processor, for any p: the address is computed as an integer (p may be
    // foreign, even near 0), and a prefetch reads nothing and cannot fault.
    void prefetch_header(const void* p) const noexcept {
#if defined(__GNUC__) || defined(__clang__)
        __builtin_prefetch(
            reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(p) - front));
#else
        (void)p;
#endif
    }
    // Each field times its own odd constant, summed with the cookie and the block's address: a
    // change of any one field changes the sum by a non-zero amount (an odd multiplier is a
    // bijection modulo 2^64), so it breaks the seal; a header copied from another block or another
    // debug heap breaks it too (the address or the cookie differs). The constants fit in 31 bits,
    // so each product is one instruction (x86-64's imul takes a 32-bit immediate), and no final
    // mix follows: the seal is only ever compared for equality, and a mix would only tell apart
    // changes of several fields that cancel exactly in the sum (it cost 7 instructions per seal,
    // the 64-bit constants 4 more).
    std::uint64_t seal_of(const void* p, const block_header& h) const noexcept {
        std::uint64_t x = cookie ^ reinterpret_cast<std::uintptr_t>(p);
        x += h.request * 0x27D4EB2Fu;
        x += static_cast<std::uint64_t>(h.size) * 0x165667B1u;
        x += static_cast<std::uint64_t>(h.type) * 0x61C88647u;
        // The location a word at a time (one word with libstdc++ and libc++, three with MSVC).
        std::array<std::uint64_t, (sizeof(std::source_location) + 7) / 8> where{};
        std::memcpy(where.data(), &h.where, sizeof(std::source_location));
        std::uint64_t k = 0x7FEB352Du;
        for (std::uint64_t w : where) {
            x += w * k;
            k -= 2; // stays odd
        }
        return x;
    }
    bool sound(const void* p, const block_header& h) const noexcept {
        return h.seal == seal_of(p, h);
    }

    // --- the table of blocks -----------------------------------------------------------------
    //
    // `live` holds every live block, and each header its slot there. A pointer is looked up from
    // its header, read only where `starts` says a live header of this heap starts, and believed
    // only if live[slot] points back to it. Adding appends; removing moves the last block into
    // the hole and rewrites its slot (the last block is the newest, its header in the cache). No
    // hashing and no probing: the slot is on the header's cache line, which a free reads anyway.
    // (A table keyed by pointer, as before, made each step an insertion and an erasure with their
    // probes; asking the heap beneath whether it owns the header's address costs more than both:
    // see docs/benchmarks.md, "debug_heap's cost".)
    //
    // A slot that does not point back is damage (the slot is not sealed: a block that moves in
    // the table would need a new seal); its block is then found by searching the table from end
    // to end, never on the way of a good block.

    // \returns p's place in `live`, or no_slot when p is not a live block.
    MEMMGR_HOT_INLINE std::size_t slot_of(const void* p) const noexcept {
        // As an integer first: a foreign p (even near 0) makes no pointer out of range.
        const std::uintptr_t raw = reinterpret_cast<std::uintptr_t>(p) - front;
        if (!starts.holds(raw)) // no live header starts there: p is none of ours, nothing is read
            return no_slot;
        return slot_of_live(p);
    }
    // \returns the slot of p, whose header's start is marked.
    MEMMGR_HOT_INLINE std::size_t slot_of_live(const void* p) const noexcept {
        const std::uint32_t slot = header_of(p)->slot; // a live header of this heap
        if (slot < live.size() && live[slot] == p)
            return slot;
        return search_live(p); // the slot was overwritten
    }
    MEMMGR_COLD std::size_t search_live(const void* p) const noexcept {
        const auto at = std::ranges::find(live, p);
        return at == live.end() ? no_slot : static_cast<std::size_t>(at - live.begin());
    }
    // The header of a live block can be trusted: sealed, and in its place in the table.
    bool sound_live(const void* p, const block_header& h) const noexcept {
        return sound(p, h) && h.slot < live.size() && live[h.slot] == p;
    }

    bool is_live(const void* p) const noexcept { return p != nullptr && slot_of(p) != no_slot; }
    // \effects records p, whose header is written, as live. \returns false (nothing recorded) if
    // the table cannot grow.
    MEMMGR_HOT_INLINE bool add_live(const void* p) noexcept {
        const std::uintptr_t raw = reinterpret_cast<std::uintptr_t>(raw_of(p));
        if (live.size() >= max_slots || !starts.add(raw))
            return false;
        try {
            live.push_back(p);
        } catch (const std::bad_alloc&) {
            starts.remove(raw);
            return false;
        }
        header_of(p)->slot = static_cast<std::uint32_t>(live.size() - 1);
        return true;
    }
    enum class taken { not_live, damaged, yes };
    // \effects stops counting p as live, unless its header is damaged (it stays, untouched).
    MEMMGR_HOT_INLINE taken take_live(const void* p) noexcept {
        const header_starts::place bit =
            starts.find(reinterpret_cast<std::uintptr_t>(p) - front); // see slot_of
        if (bit.byte == nullptr)
            return taken::not_live;
        const std::size_t slot = slot_of_live(p);
        if (slot == no_slot)
            return taken::not_live;
        const block_header& h = *header_of(p);
        if (h.slot != slot || !sound(p, h))
            return taken::damaged;
        const void* last = live.back(); // takes p's place
        live[slot] = last;
        header_of(last)->slot = static_cast<std::uint32_t>(slot);
        live.pop_back();
        header_starts::clear(bit);
        return taken::yes;
    }
    template <class F>
    void for_each_live(F&& f) const {
        for (const void* p : live)
            f(p, *header_of(p));
    }
    // \returns a copy of p's header, taken under the lock, when p is a live block whose header is
    // sound (and, with_guards, whose guards are intact). \errors null_pointer, foreign_block,
    // heap_corrupt.
    result<block_header> live_header(const void* p, bool with_guards = false) const noexcept {
        if (p == nullptr)
            return fail(errc::null_pointer);
        std::lock_guard lock(mutex);
        if (!is_live(p))
            return fail(errc::foreign_block);
        const block_header& h = *header_of(p);
        if (!sound_live(p, h) || (with_guards && !sound_guards_intact(p, h)))
            return fail(errc::heap_corrupt);
        return h;
    }
    bool has_live_block_held(const void* p) const noexcept override { return is_live(p); }
    light_lock& books_lock() const noexcept override { return mutex; }

    // p, live until now, is remembered as freed (not if the history cannot grow: a later double
    // free of it then reads as foreign_block instead of double_free).
    MEMMGR_HOT_INLINE void remember_freed(const void* p) noexcept { recent_frees.add(p); }
    // \returns whether p, not live, is among the remembered frees.
    bool freed_lately(const void* p) const noexcept { return recent_frees.holds(p); }

    // --- problems -----------------------------------------------------------------------------

    // A problem with block p, with its header's details when the header is intact (only the
    // address otherwise).
    debug_problem problem_with(debug_problem_kind kind, const void* p, const block_header& h,
                               std::size_t offset) const noexcept {
        if (!sound(p, h))
            return {kind, p, 0, 0, block_type::normal, {}, offset};
        return {kind, p, h.size, h.request, h.type, h.where, offset};
    }
    // What is reported for a block whose header is damaged: only its address is known.
    debug_problem damaged_header(const void* p) const noexcept {
        return {debug_problem_kind::overrun_before, p, 0, 0, block_type::normal, {},
                front - sizeof(block_header) + 1};
    }

    // The guards of a block whose header is known to be sound.
    MEMMGR_HOT_INLINE bool sound_guards_intact(const void* p,
                                               const block_header& h) const noexcept {
        const auto* bytes = static_cast<const unsigned char*>(p);
        const std::size_t gap = front - sizeof(block_header);
        if (usual_guards)
            return ends_are(bytes - gap, gap, guard_word) &&
                   ends_are(bytes + h.size, options.guard_size,
                            static_cast<std::uint32_t>(guard_word));
        return all_bytes(bytes - gap, gap, options.guard_fill) &&
               all_bytes(bytes + h.size, options.guard_size, options.guard_fill);
    }
    // \effects writes the guards of the block p of n bytes, whose header is written.
    MEMMGR_HOT_INLINE void set_guards(unsigned char* p, std::size_t n) const noexcept {
        const std::size_t gap = front - sizeof(block_header);
        if (usual_guards) {
            set_ends(p - gap, gap, guard_word);
            set_ends(p + n, options.guard_size, static_cast<std::uint32_t>(guard_word));
            return;
        }
        set_bytes(p - gap, gap, options.guard_fill);
        set_bytes(p + n, options.guard_size, options.guard_fill);
    }
    template <class Problems>
    void check_sound_guards(const void* p, const block_header& h, Problems& found) const {
        if (sound_guards_intact(p, h))
            return;
        const auto* bytes = static_cast<const unsigned char*>(p);
        // Before the block, the byte nearest to it is reported: offset 1 is the byte just before.
        const std::size_t gap = front - sizeof(block_header);
        if (const std::size_t at = last_byte_not(bytes - gap, gap, options.guard_fill); at != gap)
            found.push_back({debug_problem_kind::overrun_before, p, h.size, h.request, h.type,
                             h.where, gap - at});
        if (const std::size_t at =
                first_byte_not(bytes + h.size, options.guard_size, options.guard_fill);
            at != options.guard_size)
            found.push_back(
                {debug_problem_kind::overrun_after, p, h.size, h.request, h.type, h.where, at});
    }
    template <class Problems>
    void check_guards(const void* p, const block_header& h, Problems& found) const {
        if (!sound_live(p, h))
            return found.push_back(damaged_header(p));
        check_sound_guards(p, h, found);
    }
    template <class Problems>
    void check_quarantined(const void* p, Problems& found) const {
        const block_header& h = *header_of(p);
        if (!sound(p, h))
            return found.push_back(damaged_header(p));
        const auto* bytes = static_cast<const unsigned char*>(p);
        if (const std::size_t at = first_byte_not(bytes, h.size, options.freed_fill); at != h.size)
            return found.push_back({debug_problem_kind::written_after_free, p, h.size, h.request,
                                    h.type, h.where, at});
        check_sound_guards(p, h, found);
    }

    // What check() reports and validate() counts: each live block's guards, each quarantined
    // block's fill, then the heap beneath where it can validate itself.
    std::vector<debug_problem> problems() const {
        std::vector<debug_problem> found;
        std::lock_guard lock(mutex);
        for_each_live([&](const void* p, const block_header& h) { check_guards(p, h, found); });
        quarantine.for_each([&](const void* p) { check_quarantined(p, found); });
        if (base.validate != nullptr && !base.validate(base.heap))
            found.push_back(
                {debug_problem_kind::base_heap_corrupt, nullptr, 0, 0, block_type::normal, {}, 0});
        return found;
    }

    // \effects calls the handler for each problem, with no lock held. Takes a reference to the
    // handler under the lock (no copy of the callable, no allocation: an error path still reports
    // when memory is exhausted, and a handler's copy or destruction never runs under the lock).
    void report(std::span<const debug_problem> found) const {
        if (found.empty())
            return;
        std::shared_ptr<const debug_problem_handler> h;
        {
            std::lock_guard lock(mutex);
            h = handler;
        }
        for (const debug_problem& p : found)
            (*h)(p);
    }

    // A free of p, which is not a live block: a problem to report, and its errc.
    MEMMGR_COLD result<void> refuse(void* p) noexcept {
        debug_problem problem{
            debug_problem_kind::foreign_block, p, 0, 0, block_type::normal, {}, 0};
        errc why = errc::foreign_block;
        {
            std::lock_guard lock(mutex);
            if (freed_lately(p)) {
                problem.kind = debug_problem_kind::double_free;
                why = errc::double_free;
                bool quarantined = false;
                quarantine.for_each([&](const void* q) { quarantined = quarantined || q == p; });
                if (quarantined) // its header is still ours to read
                    problem = problem_with(debug_problem_kind::double_free, p, *header_of(p), 0);
            }
        }
        if (why == errc::foreign_block &&
            debug_heap_registry::instance().someone_else_owns(this, p))
            problem.kind = debug_problem_kind::wrong_heap;
        report({&problem, 1});
        return fail(why);
    }

    // Gives p's block back to the heap beneath; a refusal is a problem to report (the caller
    // holds the lock and reports `found` after releasing it).
    MEMMGR_HOT_INLINE result<void> release(const void* p, few_problems& found) {
        const debug_heap_registry::calling_beneath beneath(this);
        auto freed = base.free(base.heap, raw_of(p));
        if (!freed) // refused: the block, header and all, is still where it was
            found.push_back(
                problem_with(debug_problem_kind::base_refused_free, p, *header_of(p), 0));
        return freed;
    }

    // free(p), p not nullptr: \returns how freeing it went. For reallocate, `move` (where given)
    // receives the first `move->limit` bytes of p, copied while p is known live and before it is
    // filled, and says whether that was done (p was a live block with a sound header: it no longer
    // is). One hold of the lock for both: a free of p on another thread (the caller's double free)
    // comes wholly before or after, never between the copy and the release, when p's address may
    // already be another block's. Inlined into free (and reallocate): the call it made cost as much
    // as the seal's check.
    struct move_out {
        void* to;
        std::size_t limit;
        bool done = false;
    };
    MEMMGR_HOT_INLINE result<void> retire(void* p, move_out* move = nullptr) noexcept {
        // The header and p's slot in the table are two cache misses on a cold block: both are
        // asked for at once (a prefetch reads nothing and cannot fault, even for a foreign p).
        prefetch_header(p);
        // Locked and unlocked by hand, not by a std::unique_lock: the paths that leave the lock
        // to another function kept the guard in memory, with its flag written and tested.
        mutex.lock();
        const taken t = take_live(p);
        if (t == taken::not_live) {
            mutex.unlock();
            return refuse(p);
        }
        if (t == taken::damaged) { // its size and the rest are unknown: the block stays as it is
            mutex.unlock();
            return refuse_damaged(p);
        }
        const block_header& h = *header_of(p);
        if (move != nullptr) {
            std::memcpy(move->to, p, std::min(h.size, move->limit));
            move->done = true;
        }
        if (options.quarantine == 0 && sound_guards_intact(p, h)) {
            // The usual free, in short: the way below when there is nothing to report.
            account_freed(h.type, h.size);
            std::memset(p, options.freed_fill, h.size);
            remember_freed(p);
            const result<void> freed = [&] {
                const debug_heap_registry::calling_beneath beneath(this);
                return base.free(base.heap, raw_of(p));
            }();
            if (!freed) [[unlikely]]
                return refused(p, freed);
            const bool due = tick();
            mutex.unlock();
            if (due) [[unlikely]]
                (void)check();
            return freed;
        }
        return retire_reporting(p, h);
    }

    // The rest of retire(p), called with the lock held: a block taken from the table, whose guards
    // are damaged or which goes to the quarantine. \effects releases the lock; the problems found
    // are reported after.
    MEMMGR_COLD result<void> retire_reporting(void* p, const block_header& h) noexcept {
        few_problems found;
        if (!sound_guards_intact(p, h)) // the search for the bad byte stays out of line
            check_sound_guards(p, h, found);
        account_freed(h.type, h.size);
        std::memset(p, options.freed_fill, h.size);
        remember_freed(p);
        result<void> freed;
        if (options.quarantine > 0) {
            (void)quarantine.push(p); // its room was made by the constructor
            if (quarantine.size() > options.quarantine) {
                const void* oldest = quarantine.pop();
                check_quarantined(oldest, found);
                (void)release(oldest, found);
            }
        } else {
            freed = release(p, found);
        }
        const bool due = tick();
        mutex.unlock();
        if (!found.empty())
            report(found.view());
        if (due)
            (void)check();
        return freed;
    }

    // A free of p, whose header is damaged: a problem to report, and heap_corrupt.
    MEMMGR_COLD result<void> refuse_damaged(const void* p) noexcept {
        const debug_problem problem = damaged_header(p);
        report({&problem, 1});
        return fail(errc::heap_corrupt);
    }

    // retire(p) once the heap beneath refused to free p's block (filled, no longer counted),
    // called with the lock held. \effects releases the lock; then the handler hears of it.
    MEMMGR_COLD result<void> refused(const void* p, result<void> freed) noexcept {
        // The block, header and all, is still where it was.
        const debug_problem found =
            problem_with(debug_problem_kind::base_refused_free, p, *header_of(p), 0);
        const bool due = tick();
        mutex.unlock();
        report({&found, 1});
        if (due)
            (void)check();
        return freed;
    }

    // What an allocation does once the lock is released, when the request is the one to break
    // on (the hook is called with the lock released, so that it may use the heap) or a check
    // is due. Rare: out of the allocation's way.
    MEMMGR_COLD void after_allocation(std::uint64_t request, bool asked, bool due) {
        if (asked) {
            std::shared_ptr<const std::function<void(std::uint64_t)>> hook;
            {
                std::lock_guard lock(mutex);
                if (request == break_request) // still asked for
                    hook = break_hook;
            }
            if (hook) // never an empty function: break_on_request keeps none
                (*hook)(request);
        }
        if (due)
            (void)check();
    }

    std::size_t check() {
        const std::vector<debug_problem> found = problems();
        report(found);
        return found.size();
    }

    void account(block_type type, std::ptrdiff_t bytes, std::ptrdiff_t count) noexcept {
        const auto t = static_cast<std::size_t>(type);
        counts.bytes[t] =
            static_cast<std::size_t>(static_cast<std::ptrdiff_t>(counts.bytes[t]) + bytes);
        counts.blocks[t] =
            static_cast<std::size_t>(static_cast<std::ptrdiff_t>(counts.blocks[t]) + count);
        in_use = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(in_use) + bytes);
        counts.peak_bytes = std::max(counts.peak_bytes, in_use);
    }

    // A free's accounting: account(type, -size, -1), without the peak, which a free never raises.
    MEMMGR_HOT_INLINE void account_freed(block_type type, std::size_t size) noexcept {
        const auto t = static_cast<std::size_t>(type);
        counts.bytes[t] -= size;
        --counts.blocks[t];
        in_use -= size;
    }

    bool tick() noexcept {
        return options.check_every != 0 && ++operations % options.check_every == 0;
    }

    debug_options options;
    debug_base_ops base;
    std::size_t front = 0;
    std::size_t largest = 0; // the largest request the layout leaves room for
    // The guards' shape, known at construction. The usual guards (8 to 16 bytes before the block,
    // the default 4 rounded up to the alignment past the header, and 4 to 8 after it) are each
    // checked and written as two overlapping words, without asking their lengths on every block.
    bool usual_guards = false;
    std::uint64_t guard_word = repeated<std::uint64_t>(options.guard_fill);
    // Mixed into every header's seal: a header copied from another debug_heap does not pass.
    std::uint64_t cookie = reinterpret_cast<std::uintptr_t>(this) * 0xD6E8FEB86659FD93u;
    mutable light_lock mutex;
    std::vector<const void*> live; // the live blocks; each header holds its slot here
    header_starts starts;          // where their headers start
    ring<const void*> quarantine;
    free_history recent_frees;
    debug_checkpoint counts;
    std::size_t in_use = 0;
    std::uint64_t next_request = 1;
    std::uint64_t operations = 0;
    std::uint64_t break_request = 0;
    // Shared, not copied, under the lock: taking one is a count's increment (report,
    // after_allocation), and the callable is copied and destroyed with no lock held.
    std::shared_ptr<const std::function<void(std::uint64_t)>> break_hook;
    std::shared_ptr<const debug_problem_handler> handler =
        std::make_shared<const debug_problem_handler>(&abort_on_debug_problem);
};

namespace {

// Options whose sizes the layout arithmetic can hold (a guard of SIZE_MAX bytes would wrap it,
// a quarantine of SIZE_MAX blocks would make a ring of none).
const debug_options& checked(const debug_options& o, std::string_view heap_name) {
    if (o.guard_size > max_alignment)
        throw heap_error(heap_name, o.guard_size, errc::size_overflow);
    if (o.quarantine > max_quarantine)
        throw heap_error(heap_name, o.quarantine, errc::size_overflow);
    return o;
}

} // namespace

debug_ledger::debug_ledger(const debug_options& options, std::string_view heap_name,
                           std::size_t alignment, const debug_base_ops& base)
    : books_(std::make_unique<books>(checked(options, heap_name), alignment, base)) {
    debug_heap_registry::instance().add(books_.get());
}

debug_ledger::~debug_ledger() {
    books& b = *books_;
    debug_heap_registry::instance().remove(&b);
    if (b.options.report_leaks_on_destruction)
        std::fputs(leak_report(blocks_since(0)).c_str(), stderr);
    b.for_each_live(
        [&](const void* p, const block_header&) { (void)b.base.free(b.base.heap, b.raw_of(p)); });
    b.quarantine.for_each([&](const void* p) { (void)b.base.free(b.base.heap, b.raw_of(p)); });
}

result<void*> debug_ledger::allocate(std::size_t n, block_type type,
                                     const std::source_location& where) noexcept {
    books& b = *books_;
    if (n > b.largest)
        return fail(errc::size_overflow);
    b.mutex.lock(); // by hand, as in retire
    auto raw = b.base.allocate(b.base.heap, b.front + n + b.options.guard_size);
    if (!raw) {
        b.mutex.unlock();
        return fail(raw.error());
    }
    const std::uint64_t request = b.next_request++;
    auto* h = static_cast<block_header*>(*raw);
    auto* bytes = static_cast<unsigned char*>(*raw);
    // Field by field: the slot is add_live's to write, the seal is written once.
    h->type = type;
    h->request = request;
    h->size = n;
    h->where = where;
    h->seal = b.seal_of(bytes + b.front, *h);
    b.set_guards(bytes + b.front, n);
    std::memset(bytes + b.front, b.options.allocated_fill, n);
    void* p = bytes + b.front;
    if (!b.add_live(p)) {
        (void)b.base.free(b.base.heap, *raw);
        b.mutex.unlock();
        return fail(errc::out_of_memory);
    }
    b.account(type, static_cast<std::ptrdiff_t>(n), 1);
    const bool due = b.tick();
    const bool asked = request == b.break_request;
    b.mutex.unlock();
    if (asked || due) [[unlikely]]
        b.after_allocation(request, asked, due);
    return p;
}

result<void> debug_ledger::free(void* p) noexcept {
    if (p == nullptr)
        return {};
    return books_->retire(p);
}

result<std::size_t> debug_ledger::size(const void* p) const noexcept {
    return books_->live_header(p).map([](const block_header& h) { return h.size; });
}

result<void*> debug_ledger::reallocate(void* p, std::size_t n,
                                       const std::source_location& where) noexcept {
    books& b = *books_;
    if (p == nullptr)
        return allocate(n, block_type::normal, where);
    const auto h = b.live_header(p);
    if (!h)
        return fail(h.error());
    return allocate(n, h->type, where).and_then([&](void* q) -> result<void*> {
        if (q == p) { // p was freed meanwhile (another thread), and its address is q's now
            (void)free(q);
            return fail(errc::foreign_block);
        }
        // Copied and released in one step (retire): p gone meanwhile (freed by another thread,
        // its address perhaps another block's by now) is refused and reported as any free of it
        // would be, and q given back. A refusal of the heap beneath went to the handler; q holds
        // the contents.
        books::move_out move{q, n};
        if (auto freed = b.retire(p, &move); !move.done) {
            (void)free(q);
            return fail(freed.error());
        }
        return q;
    });
}

std::size_t debug_ledger::check() {
    return books_->check();
}

result<void> debug_ledger::validate() const noexcept {
    try {
        if (!books_->problems().empty())
            return fail(errc::heap_corrupt);
        return {};
    } catch (const std::bad_alloc&) {
        return fail(errc::out_of_memory);
    }
}

result<void> debug_ledger::validate(const void* p) const noexcept {
    return books_->live_header(p, true).map([](const block_header&) {});
}

bool debug_ledger::owns(const void* p) const noexcept {
    std::lock_guard lock(books_->mutex);
    return books_->has_live_block_held(p);
}

void debug_ledger::set_problem_handler(debug_problem_handler handler) {
    auto made = std::make_shared<const debug_problem_handler>(
        handler ? std::move(handler) : debug_problem_handler(&abort_on_debug_problem));
    {
        std::lock_guard lock(books_->mutex);
        books_->handler.swap(made);
    } // the old handler goes here, with no lock held: its destructor may use this heap
}

void debug_ledger::break_on_request(std::uint64_t request,
                                    std::function<void(std::uint64_t)> hook) {
    std::shared_ptr<const std::function<void(std::uint64_t)>> made;
    if (hook)
        made = std::make_shared<const std::function<void(std::uint64_t)>>(std::move(hook));
    {
        std::lock_guard lock(books_->mutex);
        books_->break_request = request;
        books_->break_hook.swap(made);
    } // the old hook goes here, with no lock held
}

std::vector<debug_block> debug_ledger::blocks_since(std::uint64_t first) const {
    const books& b = *books_;
    std::vector<debug_block> found;
    std::lock_guard lock(b.mutex);
    b.for_each_live([&](const void* p, const block_header& h) {
        if (!b.sound_live(p, h)) { // reported as damaged already; listed, with what is known
            found.push_back(debug_block{p, 0, 0, block_type::normal, {}, {}});
            return;
        }
        if (h.request < first || h.type == block_type::ignore)
            return;
        debug_block block{p, h.size, h.request, h.type, h.where, {}};
        std::memcpy(block.first_bytes.data(), p, std::min(h.size, block.first_bytes.size()));
        found.push_back(block);
    });
    std::ranges::sort(found, {}, &debug_block::request);
    return found;
}

debug_checkpoint debug_ledger::checkpoint() const {
    std::lock_guard lock(books_->mutex);
    debug_checkpoint c = books_->counts;
    c.next_request = books_->next_request;
    return c;
}

result<std::vector<heap_entry>> debug_ledger::walk() const noexcept {
    const books& b = *books_;
    try {
        std::vector<heap_entry> entries;
        std::lock_guard lock(b.mutex); // the heap beneath is walked under it too
        const std::size_t overhead = b.front + b.options.guard_size;
        b.for_each_live([&](const void* p, const block_header& h) {
            entries.push_back(
                {const_cast<void*>(p), b.sound_live(p, h) ? h.size : 0, overhead, true});
        });
        b.quarantine.for_each([&](const void* p) {
            const block_header& h = *b.header_of(p);
            entries.push_back({const_cast<void*>(p), b.sound(p, h) ? h.size : 0, overhead, false});
        });
        if (b.base.walk != nullptr) {
            auto below = b.base.walk(b.base.heap);
            if (!below)
                return fail(below.error());
            for (const heap_entry& e : *below)
                if (!e.in_use)
                    entries.push_back(e);
        }
        std::ranges::sort(entries, {}, &heap_entry::address);
        return entries;
    } catch (...) {
        return fail(errc::out_of_memory);
    }
}

const debug_options& debug_ledger::options() const noexcept {
    return books_->options;
}

} // namespace memmgr::detail
