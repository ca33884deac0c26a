// memmgr:debug_heap: the CRT debug heap (_malloc_dbg, _CrtCheckMemory, _CrtDumpMemoryLeaks,
// _CrtMemCheckpoint, _CrtSetBreakAlloc, _heapwalk) as a layer over any heap.
module;
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <new>
#include <ostream>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

export module memmgr:debug_heap;

import :errors;
import :concepts;
import :pointer_map;
import :decorator;

// The byte scans behind every guard and quarantine check, a word at a time (debug_heap.cpp):
// guards are checked on every free and check(), quarantined blocks on every check().
namespace memmgr::detail {

/// \returns the offset of the first byte of [p, p + n) that is not v, or n if there is none.
[[nodiscard]] std::size_t first_byte_not(const unsigned char* p, std::size_t n,
                                         unsigned char v) noexcept;

/// \returns the offset of the last byte of [p, p + n) that is not v, or n if there is none.
[[nodiscard]] std::size_t last_byte_not(const unsigned char* p, std::size_t n,
                                        unsigned char v) noexcept;

} // namespace memmgr::detail

export namespace memmgr {

/// The CRT's block types: normal blocks are what code allocates; client blocks are tagged by the
/// application for its own accounting; ignore blocks are left out of leak reports.
enum class block_type : unsigned char { normal, client, ignore };
inline constexpr std::size_t block_type_count = 3;

/// The longest quarantine a debug_heap takes, in blocks (its ring of 8-byte slots is made at
/// construction: 8 MiB at most). Longer ones are refused with heap_error (size_overflow).
inline constexpr std::size_t max_quarantine = std::size_t{1} << 20;

/// How a debug_heap checks. The fill values are the CRT debug heap's.
struct debug_options {
    std::size_t guard_size = 4;  ///< bytes of guard_fill before and after every block
    std::size_t quarantine = 0;  ///< freed blocks held back (filled) to catch writes after
                                 ///< free; at most max_quarantine
    std::size_t check_every = 0; ///< run check() on every Nth allocate/free (0: never)
    bool report_leaks_on_destruction = false; ///< write the leak report to stderr when destroyed
    unsigned char allocated_fill = 0xCD;      ///< new blocks (uninitialised memory)
    unsigned char freed_fill = 0xDD;          ///< freed blocks
    unsigned char guard_fill = 0xFD;          ///< the no-man's-land around blocks
};

/// What a debug_heap found wrong.
enum class debug_problem_kind {
    overrun_before,     ///< a guard byte before the block was overwritten
    overrun_after,      ///< a guard byte after the block was overwritten
    written_after_free, ///< a quarantined (freed) block was written to
    double_free,        ///< the block was already freed
    foreign_block,      ///< the pointer was never a block of this heap
    wrong_heap,         ///< the pointer is a block of another debug_heap
    base_heap_corrupt,  ///< the heap beneath failed its own validation
    base_refused_free,  ///< the heap beneath refused to free a block (destroyed, damaged, or the
                        ///< block freed behind the debug heap's back); the block is left to it
};

/// One problem, with what is known of the block.
struct debug_problem {
    debug_problem_kind kind;
    const void* address;   ///< the block's first usable byte (or the pointer given)
    std::size_t size;      ///< the block's size (0 if unknown)
    std::uint64_t request; ///< the block's request number (0 if unknown)
    block_type type;
    std::source_location where; ///< where the block was allocated (default-constructed if unknown)
    std::size_t offset;         ///< for overwrites: how far from the block the first bad byte is
};

/// \returns one readable line, e.g. "memmgr debug_heap: overrun after block {12} at 0x..., 40
/// bytes, allocated at file.cpp(31) in f: first bad byte 0 bytes past the end".
[[nodiscard]] std::string describe(const debug_problem& p);

/// What a debug_heap does with a problem. The default writes describe(p) to stderr and aborts, as
/// the CRT does; tests record problems, or throw from check() (allocate and free are noexcept).
using debug_problem_handler = std::function<void(const debug_problem&)>;

/// The default handler.
[[noreturn]] void abort_on_debug_problem(const debug_problem& p);

/// A block still in use, as the leak report lists it.
struct debug_block {
    const void* address;
    std::size_t size;
    std::uint64_t request;
    block_type type;
    std::source_location where;
    std::array<unsigned char, 16> first_bytes; ///< the first min(size, 16) bytes
};

/// Counts at one moment (as _CrtMemState); subtract two with difference().
struct debug_checkpoint {
    std::array<std::size_t, block_type_count> blocks{}; ///< blocks in use, per block_type
    std::array<std::size_t, block_type_count> bytes{};  ///< bytes in use, per block_type
    std::size_t peak_bytes = 0;     ///< the most bytes in use at once so far (high-water mark)
    std::uint64_t next_request = 1; ///< the request number the next allocation gets

    friend bool operator==(const debug_checkpoint&, const debug_checkpoint&) = default;
};

/// \returns later - earlier, per block type (as _CrtMemDifference); the peak is later's. Counts
/// may be negative when blocks were freed: they are returned as signed values.
struct debug_difference {
    std::array<std::ptrdiff_t, block_type_count> blocks{};
    std::array<std::ptrdiff_t, block_type_count> bytes{};
    std::size_t peak_bytes = 0;
    std::uint64_t allocations = 0; ///< requests made between the two checkpoints

    [[nodiscard]] bool changed() const noexcept {
        return std::ranges::any_of(blocks, [](std::ptrdiff_t b) { return b != 0; }) ||
               std::ranges::any_of(bytes, [](std::ptrdiff_t b) { return b != 0; });
    }
};
[[nodiscard]] debug_difference difference(const debug_checkpoint& later,
                                          const debug_checkpoint& earlier) noexcept;

/// \returns the CRT-style leak report: a heading, then one entry per block, e.g.
///   {18} normal block at 0x..., 40 bytes long, allocated at main.cpp(12) in main
///    Data: <hello...> 68 65 6C 6C 6F ...
/// and nothing at all when there are no blocks.
[[nodiscard]] std::string leak_report(const std::vector<debug_block>& blocks);

/// \effects writes leak_report(blocks) to out.
void write_leak_report(std::ostream& out, const std::vector<debug_block>& blocks);

} // namespace memmgr

// Internal, not exported: module linkage is enough for debug_heap<H>, instantiated in an importer,
// to use them.
namespace memmgr::detail {

// A FIFO of at most `capacity` items, whose storage grows as items come (a debug_heap that frees
// little never pays for its 4096 remembered frees). Not std::deque: with <deque> in a module's
// global fragment, an importer that includes <deque> after `import memmgr;` fails to compile
// (docs/toolchain.md).
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
        slots_[(head_ + count_) % slots_.size()] = v;
        ++count_;
        return true;
    }
    /// \returns the oldest item, removed.
    T pop() noexcept {
        T v = slots_[head_];
        head_ = (head_ + 1) % slots_.size();
        --count_;
        return v;
    }
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < count_; ++i)
            f(slots_[(head_ + i) % slots_.size()]);
    }

private:
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

// Every live debug_heap, so that a pointer refused by one can be recognised as another's.
class debug_heap_registry {
public:
    struct member {
        virtual bool has_live_block(const void* p) const noexcept = 0;

    protected:
        ~member() = default;
    };
    // The one registry, never destroyed: debug heaps with static storage duration may outlive
    // any other object.
    static debug_heap_registry& instance() noexcept;
    // \throws std::bad_alloc.
    void add(const member* m);
    void remove(const member* m) noexcept;
    // \returns whether a live debug heap other than self has the live block p.
    [[nodiscard]] bool someone_else_owns(const member* self, const void* p) const noexcept;

private:
    mutable std::mutex mutex_;
    std::vector<const member*> members_;
};

} // namespace memmgr::detail

export namespace memmgr {

/// The CRT debug heap's checks as a layer over the heap H (debug_heap<win32_heap> owns a private
/// heap; debug_heap<win32_heap&> checks one that lives elsewhere). It models heap,
/// validating_heap and walkable_heap, so it works under every adapter:
/// heap_resource<debug_heap<win32_heap>>.
///
/// Each block is laid out as [header | guard | the block | guard]: the header holds the request
/// number, size, block type and the caller's std::source_location; the guards hold guard_fill. New
/// blocks are filled with allocated_fill, freed ones with freed_fill. With a quarantine, freed
/// blocks are held back and checked for writes when they leave it (and by check()).
///
/// free() of a pointer that is not a live block of this heap frees nothing and reports the
/// problem to the handler (double_free when the block was freed recently, wrong_heap when it is
/// another debug_heap's, foreign_block otherwise) and returns the matching errc. Overwritten guards
/// are reported when the block is freed and by check(). Bookkeeping is serialized by a mutex, so
/// a debug_heap over a thread-safe heap is thread-safe. reallocate always moves the block, so that
/// stale pointers to the old one are caught.
///
/// It is named "debug_heap<inner>", e.g. "debug_heap<win32_heap>" (heap_decorator), in heap_error
/// and in what the adapters report.
///
/// The source location comes from allocate's defaulted argument: direct calls record the caller;
/// calls through an adapter record the adapter.
///
/// Example usage:
/// \code
///   memmgr::debug_heap<memmgr::crt_heap> heap({.quarantine = 16});
///   auto p = heap.allocate(40);                 // records this line
///   static_cast<char*>(*p)[40] = 'x';           // one byte too far
///   heap.check();                               // reports "overrun after block {1} ..."
/// \endcode
template <class H>
requires heap<std::remove_cvref_t<H>>
class debug_heap : public heap_decorator<"debug_heap", H, thread_safety::always>,
                   private detail::debug_heap_registry::member {
    using skeleton = heap_decorator<"debug_heap", H, thread_safety::always>;

public:
    using typename skeleton::base_type;

    /// \effects a debug heap over a heap made from args (or referring to the heap given when H is
    /// a reference).
    /// \throws heap_error (size_overflow) when options.guard_size exceeds max_alignment (64 KiB) or
    /// the quarantine's ring of options.quarantine pointers could not be held.
    template <class... Args>
    requires std::is_constructible_v<H, Args&&...>
    explicit debug_heap(const debug_options& options, Args&&... args)
        : skeleton(std::forward<Args>(args)...), options_(checked(options)),
          quarantine_(options.quarantine + 1),
          freed_order_(std::max(remembered_frees, options.quarantine + 1)) {
        front_ = round_up(sizeof(header) + options_.guard_size, skeleton::guaranteed_alignment);
        quarantine_.reserve_all(); // so that a free is never refused the quarantine
        detail::debug_heap_registry::instance().add(this);
    }
    debug_heap()
    requires std::is_default_constructible_v<H>
        : debug_heap(debug_options{}) {}

    debug_heap(const debug_heap&) = delete;
    debug_heap& operator=(const debug_heap&) = delete;

    /// \effects optionally reports leaks, then gives every remaining block back to the heap
    /// beneath.
    virtual ~debug_heap() { // virtual: the registry holds it through a base with virtual functions
        detail::debug_heap_registry::instance().remove(this);
        if (options_.report_leaks_on_destruction) {
            std::fputs(leak_report(leaks()).c_str(), stderr);
        }
        live_.for_each([this](const void* p, header*) { (void)this->base().free(raw_of(p)); });
        quarantine_.for_each([this](const void* p) { (void)this->base().free(raw_of(p)); });
    }

    // --- the heap ------------------------------------------------------------------------------

    [[nodiscard]] result<void*>
    allocate(std::size_t n, std::source_location where = std::source_location::current()) noexcept {
        return allocate(n, block_type::normal, where);
    }

    /// \returns a block of n bytes of the given type, filled with allocated_fill and guarded.
    [[nodiscard]] result<void*>
    allocate(std::size_t n, block_type type,
             std::source_location where = std::source_location::current()) noexcept {
        if (n > max_request_size - front_ - options_.guard_size)
            return fail(errc::size_overflow);
        std::unique_lock lock(mutex_);
        auto raw = this->base().allocate(front_ + n + options_.guard_size);
        if (!raw)
            return fail(raw.error());
        const std::uint64_t request = next_request_++;
        auto* h = static_cast<header*>(*raw);
        auto* bytes = static_cast<unsigned char*>(*raw);
        *h = header{request, n, where, type, 0};
        h->seal = seal_of(bytes + front_, *h);
        std::memset(bytes + sizeof(header), options_.guard_fill, front_ - sizeof(header));
        std::memset(bytes + front_, options_.allocated_fill, n);
        std::memset(bytes + front_ + n, options_.guard_fill, options_.guard_size);
        void* p = bytes + front_;
        if (!live_.insert_or_assign(p, h)) {
            (void)this->base().free(*raw);
            return fail(errc::out_of_memory);
        }
        forget_freed(p);
        account(type, static_cast<std::ptrdiff_t>(n), 1);
        std::function<void(std::uint64_t)> hook;
        if (request == break_request_)
            hook = break_hook_;
        const bool due = tick();
        lock.unlock();
        if (hook)
            hook(request);
        if (due)
            (void)check();
        return p;
    }

    /// _calloc_dbg: \returns a guarded, recorded block for count objects of size bytes (as allocate
    /// makes one), filled with zeros instead of allocated_fill. \errors size_overflow when count x
    /// size wraps or exceeds the largest block (nothing is allocated, no request number is used);
    /// as allocate.
    [[nodiscard]] result<void*>
    allocate_zeroed(std::size_t count, std::size_t size,
                    std::source_location where = std::source_location::current()) noexcept {
        return allocate_zeroed(count, size, block_type::normal, where);
    }

    /// As above, for a block of the given type.
    [[nodiscard]] result<void*>
    allocate_zeroed(std::size_t count, std::size_t size, block_type type,
                    std::source_location where = std::source_location::current()) noexcept {
        return checked_multiply(count, size).and_then([&](std::size_t n) {
            return allocate(n, type, where).map([n](void* p) {
                std::memset(p, 0, n);
                return p;
            });
        });
    }

    /// \effects checks p's guards, fills it with freed_fill and frees it (or quarantines it).
    /// \errors double_free, wrong_heap reads as foreign_block, foreign_block: the handler hears of
    /// it first, and nothing is freed. When the heap beneath refuses to free the block (it was
    /// destroyed or moved from, or is damaged), the handler hears base_refused_free and its errc is
    /// returned (for a block leaving the quarantine, only the handler hears of it): the debug heap
    /// no longer counts the block, which stays with the heap beneath.
    result<void> free(void* p) noexcept {
        if (p == nullptr)
            return {};
        return retire(p).second;
    }

    /// \returns the size p was allocated with. \errors null_pointer, foreign_block (also for
    /// freed blocks).
    [[nodiscard]] result<std::size_t> size(const void* p) const noexcept {
        if (p == nullptr)
            return fail(errc::null_pointer);
        std::lock_guard lock(mutex_);
        header* const* h = live_.find(p);
        if (h == nullptr)
            return fail(errc::foreign_block);
        if (!sound(p, **h))
            return fail(errc::heap_corrupt);
        return (*h)->size;
    }

    /// \returns a new block holding p's first min(old, n) bytes; p is freed (always moved, so that
    /// stale pointers are caught). On failure p is untouched. The new block keeps p's type.
    [[nodiscard]] result<void*>
    reallocate(void* p, std::size_t n,
               std::source_location where = std::source_location::current()) noexcept {
        if (p == nullptr)
            return allocate(n, block_type::normal, where);
        block_type type;
        std::size_t old;
        {
            std::lock_guard lock(mutex_);
            header* const* h = live_.find(p);
            if (h == nullptr)
                return fail(errc::foreign_block);
            if (!sound(p, **h))
                return fail(errc::heap_corrupt);
            type = (*h)->type;
            old = (*h)->size;
        }
        return allocate(n, type, where).and_then([&](void* q) -> result<void*> {
            std::memcpy(q, p, std::min(old, n));
            // p gone meanwhile (freed by another thread): p is not ours to move after all. A
            // refusal of the heap beneath went to the handler; q holds the contents.
            if (auto [was_live, freed] = retire(p); !was_live) {
                (void)free(q);
                return fail(freed.error());
            }
            return q;
        });
    }

    // --- checking -----------------------------------------------------------------------------

    /// \effects checks every live block's guards, every quarantined block's fill and the heap
    /// beneath (where it can validate itself); reports each problem to the handler.
    /// \returns the number of problems found. \throws whatever the handler throws (check is the
    /// place for a throwing handler: allocate and free are noexcept, as every heap's are, so a
    /// handler that throws from them ends the program).
    std::size_t check() {
        const std::vector<debug_problem> found = problems();
        report(found);
        return found.size();
    }

    /// \returns success when check() would find nothing (without reporting). \errors heap_corrupt.
    [[nodiscard]] result<void> validate() const noexcept {
        if (!problems().empty())
            return fail(errc::heap_corrupt);
        return {};
    }

    /// \returns success if p is a live block with intact guards. \errors null_pointer (as
    /// win32_heap's), foreign_block, heap_corrupt.
    [[nodiscard]] result<void> validate(const void* p) const noexcept {
        if (p == nullptr)
            return fail(errc::null_pointer);
        std::lock_guard lock(mutex_);
        header* const* h = live_.find(p);
        if (h == nullptr)
            return fail(errc::foreign_block);
        std::vector<debug_problem> found;
        check_guards(p, **h, found);
        if (!found.empty())
            return fail(errc::heap_corrupt);
        return {};
    }

    /// \returns true if p is a live block of this heap (never for nullptr).
    [[nodiscard]] bool owns(const void* p) const noexcept { return has_live_block(p); }

    /// \effects the handler hears of every problem from now on (nullptr: the default, which
    /// reports and aborts).
    void set_problem_handler(debug_problem_handler handler) {
        std::lock_guard lock(mutex_);
        handler_ = handler ? std::move(handler) : debug_problem_handler(&abort_on_debug_problem);
    }

    /// \effects calls hook(request) when the allocation with that request number is made (as
    /// _CrtSetBreakAlloc); 0 clears it.
    void break_on_request(std::uint64_t request, std::function<void(std::uint64_t)> hook) {
        std::lock_guard lock(mutex_);
        break_request_ = request;
        break_hook_ = std::move(hook);
    }

    // --- leaks, checkpoints, walks --------------------------------------------------------------

    /// \returns every live block but ignore blocks, in request order (as _CrtDumpMemoryLeaks).
    [[nodiscard]] std::vector<debug_block> leaks() const { return blocks_since(0, false); }

    /// \returns the live blocks allocated since `since` (as _CrtMemDumpAllObjectsSince).
    [[nodiscard]] std::vector<debug_block> blocks_since(const debug_checkpoint& since) const {
        return blocks_since(since.next_request, false);
    }

    /// \effects writes the leak report for leaks() to out. \returns the number of leaked blocks.
    std::size_t report_leaks(std::ostream& out) const {
        const auto blocks = leaks();
        write_leak_report(out, blocks);
        return blocks.size();
    }

    /// \returns the counts now (as _CrtMemCheckpoint).
    [[nodiscard]] debug_checkpoint checkpoint() const {
        std::lock_guard lock(mutex_);
        debug_checkpoint c = counts_;
        c.next_request = next_request_;
        return c;
    }

    /// \returns every block: live ones in use, quarantined ones free, and the free blocks of the
    /// heap beneath where it can walk (as _heapwalk).
    [[nodiscard]] result<std::vector<heap_entry>> walk() const noexcept {
        try {
            std::vector<heap_entry> entries;
            {
                std::lock_guard lock(mutex_);
                live_.for_each([&](const void* p, header* h) {
                    entries.push_back({const_cast<void*>(p), sound(p, *h) ? h->size : 0,
                                       front_ + options_.guard_size, true});
                });
                quarantine_.for_each([&](const void* p) {
                    const header& h = *header_of(p);
                    entries.push_back({const_cast<void*>(p), sound(p, h) ? h.size : 0,
                                       front_ + options_.guard_size, false});
                });
            }
            if constexpr (walkable_heap<base_type>) {
                auto below = this->base().walk();
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

    /// \returns the options it was made with.
    [[nodiscard]] const debug_options& options() const noexcept { return options_; }

private:
    // In front of every block (then the front guard bytes). An underrun longer than those bytes
    // reaches it: the seal, over its fields and the block's address, tells before any field is
    // trusted (a damaged header is reported as an overrun before the block, and its block is never
    // read, filled or freed through it).
    struct header {
        std::uint64_t request;
        std::size_t size;
        std::source_location where;
        block_type type;
        std::uint64_t seal;
    };
    std::uint64_t seal_of(const void* p, const header& h) const noexcept {
        unsigned char where[sizeof(std::source_location)];
        std::memcpy(where, &h.where, sizeof where);
        std::uint64_t x = cookie_ ^ reinterpret_cast<std::uintptr_t>(p);
        auto mix = [&x](std::uint64_t v) {
            x = (x ^ v) * 0x9E3779B97F4A7C15u;
            x ^= x >> 29;
        };
        mix(h.request);
        mix(h.size);
        mix(static_cast<std::uint64_t>(h.type));
        for (unsigned char byte : where)
            mix(byte);
        return x;
    }
    bool sound(const void* p, const header& h) const noexcept { return h.seal == seal_of(p, h); }
    // A problem with block p, with its header's details when the header is intact (only the
    // address otherwise).
    debug_problem problem_with(debug_problem_kind kind, const void* p, const header& h,
                               std::size_t offset) const noexcept {
        if (!sound(p, h))
            return {kind, p, 0, 0, block_type::normal, {}, offset};
        return {kind, p, h.size, h.request, h.type, h.where, offset};
    }
    // What is reported for a block whose header is damaged: only its address is known.
    debug_problem damaged_header(const void* p) const noexcept {
        return {debug_problem_kind::overrun_before, p, 0, 0, block_type::normal, {},
                front_ - sizeof(header) + 1};
    }

    // Options whose sizes the layout arithmetic can hold (a guard of SIZE_MAX bytes would wrap it,
    // a quarantine of SIZE_MAX blocks would make a ring of none).
    static const debug_options& checked(const debug_options& o) {
        if (o.guard_size > max_alignment)
            throw heap_error(skeleton::name, o.guard_size, errc::size_overflow);
        if (o.quarantine > max_quarantine)
            throw heap_error(skeleton::name, o.quarantine, errc::size_overflow);
        return o;
    }

    static constexpr std::size_t round_up(std::size_t n, std::size_t a) noexcept {
        return (n + a - 1) / a * a;
    }
    void* raw_of(const void* p) const noexcept {
        return const_cast<char*>(static_cast<const char*>(p)) - front_;
    }
    header* header_of(const void* p) const noexcept { return static_cast<header*>(raw_of(p)); }

    bool has_live_block(const void* p) const noexcept override {
        std::lock_guard lock(mutex_);
        return live_.contains(p);
    }

    // free(p): \returns whether p was a live block (it no longer is) and how freeing it went.
    std::pair<bool, result<void>> retire(void* p) noexcept {
        std::unique_lock lock(mutex_);
        header* const* live = live_.find(p);
        if (live == nullptr) {
            lock.unlock();
            return {false, refuse(p)};
        }
        header* h = *live;
        std::vector<debug_problem> found;
        if (!sound(p, *h)) { // its size and the rest are unknown: the block stays as it is
            lock.unlock();
            found.push_back(damaged_header(p));
            report(found);
            return {true, fail(errc::heap_corrupt)};
        }
        check_guards(p, *h, found);
        live_.erase(p);
        account(h->type, -static_cast<std::ptrdiff_t>(h->size), -1);
        std::memset(p, options_.freed_fill, h->size);
        remember_freed(p);
        result<void> freed;
        if (options_.quarantine > 0) {
            (void)quarantine_.push(p); // its room was made by the constructor
            if (quarantine_.size() > options_.quarantine) {
                const void* oldest = quarantine_.pop();
                check_quarantined(oldest, found);
                (void)release(oldest, found);
            }
        } else {
            freed = release(p, found);
        }
        const bool due = tick();
        lock.unlock();
        report(found);
        if (due)
            (void)check();
        return {true, freed};
    }

    // Gives p's block back to the heap beneath; a refusal is a problem to report (the caller
    // holds the lock and reports `found` after releasing it).
    result<void> release(const void* p, std::vector<debug_problem>& found) {
        const header h = *header_of(p); // read before the block goes
        auto freed = this->base().free(raw_of(p));
        if (!freed)
            found.push_back(problem_with(debug_problem_kind::base_refused_free, p, h, 0));
        return freed;
    }

    // What check() reports and validate() counts: each live block's guards, each quarantined
    // block's fill, then the heap beneath where it can validate itself.
    std::vector<debug_problem> problems() const {
        std::vector<debug_problem> found;
        {
            std::lock_guard lock(mutex_);
            live_.for_each([&](const void* p, header* h) { check_guards(p, *h, found); });
            quarantine_.for_each([&](const void* p) { check_quarantined(p, found); });
        }
        if constexpr (validating_heap<base_type>) {
            if (!this->base().validate())
                found.push_back({debug_problem_kind::base_heap_corrupt,
                                 nullptr,
                                 0,
                                 0,
                                 block_type::normal,
                                 {},
                                 0});
        }
        return found;
    }

    void check_guards(const void* p, const header& h, std::vector<debug_problem>& found) const {
        if (!sound(p, h))
            return found.push_back(damaged_header(p));
        const auto* bytes = static_cast<const unsigned char*>(p);
        // Before the block, the byte nearest to it is reported: offset 1 is the byte just before.
        const std::size_t gap = front_ - sizeof(header);
        if (const std::size_t at = detail::last_byte_not(bytes - gap, gap, options_.guard_fill);
            at != gap)
            found.push_back({debug_problem_kind::overrun_before, p, h.size, h.request, h.type,
                             h.where, gap - at});
        if (const std::size_t at =
                detail::first_byte_not(bytes + h.size, options_.guard_size, options_.guard_fill);
            at != options_.guard_size)
            found.push_back(
                {debug_problem_kind::overrun_after, p, h.size, h.request, h.type, h.where, at});
    }

    void check_quarantined(const void* p, std::vector<debug_problem>& found) const {
        const header& h = *header_of(p);
        if (!sound(p, h))
            return found.push_back(damaged_header(p));
        const auto* bytes = static_cast<const unsigned char*>(p);
        if (const std::size_t at = detail::first_byte_not(bytes, h.size, options_.freed_fill);
            at != h.size)
            return found.push_back({debug_problem_kind::written_after_free, p, h.size, h.request,
                                    h.type, h.where, at});
        check_guards(p, h, found);
    }

    // Freed pointers remembered (up to a bound) so that freeing one again reads as a double free.
    // Each remembrance has a serial number, so that the ring forgetting an old one does not forget
    // the same address freed again since.
    void remember_freed(const void* p) noexcept {
        if (freed_order_.full()) {
            const auto [old, old_serial] = freed_order_.pop();
            if (const std::uint64_t* serial = freed_.find(old);
                serial != nullptr && *serial == old_serial)
                freed_.erase(old);
        }
        const std::uint64_t serial = ++free_serial_;
        // If the table cannot grow, the pointer is simply not remembered: a later double free of it
        // reads as foreign_block instead of double_free.
        if (freed_.insert_or_assign(p, serial) && !freed_order_.push({p, serial}))
            freed_.erase(p); // every remembered free is in the order, to be forgotten in turn
    }
    void forget_freed(const void* p) noexcept { freed_.erase(p); }

    result<void> refuse(void* p) noexcept {
        debug_problem problem{
            debug_problem_kind::foreign_block, p, 0, 0, block_type::normal, {}, 0};
        errc why = errc::foreign_block;
        {
            std::lock_guard lock(mutex_);
            if (freed_.contains(p)) {
                problem.kind = debug_problem_kind::double_free;
                why = errc::double_free;
                bool quarantined = false;
                quarantine_.for_each([&](const void* q) { quarantined = quarantined || q == p; });
                if (quarantined) // its header is still ours to read
                    problem = problem_with(debug_problem_kind::double_free, p, *header_of(p), 0);
            }
        }
        if (why == errc::foreign_block &&
            detail::debug_heap_registry::instance().someone_else_owns(this, p))
            problem.kind = debug_problem_kind::wrong_heap;
        report(std::vector<debug_problem>{problem});
        return fail(why);
    }

    void report(const std::vector<debug_problem>& found) const {
        if (found.empty())
            return;
        debug_problem_handler handler;
        {
            std::lock_guard lock(mutex_);
            handler = handler_;
        }
        for (const debug_problem& p : found)
            handler(p);
    }

    void account(block_type type, std::ptrdiff_t bytes, std::ptrdiff_t blocks) noexcept {
        const auto t = static_cast<std::size_t>(type);
        counts_.bytes[t] =
            static_cast<std::size_t>(static_cast<std::ptrdiff_t>(counts_.bytes[t]) + bytes);
        counts_.blocks[t] =
            static_cast<std::size_t>(static_cast<std::ptrdiff_t>(counts_.blocks[t]) + blocks);
        in_use_ = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(in_use_) + bytes);
        counts_.peak_bytes = std::max(counts_.peak_bytes, in_use_);
    }

    bool tick() noexcept {
        return options_.check_every != 0 && ++operations_ % options_.check_every == 0;
    }

    std::vector<debug_block> blocks_since(std::uint64_t first, bool with_ignored) const {
        std::vector<debug_block> blocks;
        std::lock_guard lock(mutex_);
        live_.for_each([&](const void* p, header* h) {
            if (!sound(p, *h)) { // reported as damaged already; listed, with what is known
                blocks.push_back(debug_block{p, 0, 0, block_type::normal, {}, {}});
                return;
            }
            if (h->request < first || (!with_ignored && h->type == block_type::ignore))
                return;
            debug_block b{p, h->size, h->request, h->type, h->where, {}};
            std::memcpy(b.first_bytes.data(), p, std::min(h->size, b.first_bytes.size()));
            blocks.push_back(b);
        });
        std::ranges::sort(blocks, {}, &debug_block::request);
        return blocks;
    }

    debug_options options_;
    std::size_t front_ = 0;
    // Mixed into every header's seal: a header copied from another debug_heap does not pass.
    std::uint64_t cookie_ = reinterpret_cast<std::uintptr_t>(this) * 0xD6E8FEB86659FD93u;
    mutable std::mutex mutex_;
    detail::pointer_map<header*> live_;
    // Frees remembered for double-free reports: the last 4096, or every quarantined block if the
    // quarantine is longer (a quarantined block's double free always says double_free).
    static constexpr std::size_t remembered_frees = 4096;
    detail::ring<const void*> quarantine_;
    detail::pointer_map<std::uint64_t> freed_;
    detail::ring<std::pair<const void*, std::uint64_t>> freed_order_;
    std::uint64_t free_serial_ = 0;
    debug_checkpoint counts_;
    std::size_t in_use_ = 0;
    std::uint64_t next_request_ = 1;
    std::uint64_t operations_ = 0;
    std::uint64_t break_request_ = 0;
    std::function<void(std::uint64_t)> break_hook_;
    debug_problem_handler handler_ = &abort_on_debug_problem;
};

} // namespace memmgr
