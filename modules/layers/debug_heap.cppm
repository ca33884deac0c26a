// memmgr:debug_heap: the CRT debug heap (_malloc_dbg, _CrtCheckMemory, _CrtDumpMemoryLeaks,
// _CrtMemCheckpoint, _CrtSetBreakAlloc, _heapwalk) as a layer over any heap.
module;
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
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

// What a debug_heap asks of the heap beneath it. Type-erased, so that the bookkeeping is compiled
// once, in debug_ledger.cpp, not again in every importer that instantiates debug_heap<H>.
struct debug_base_ops {
    void* heap;
    result<void*> (*allocate)(void* heap, std::size_t n) noexcept;
    result<void> (*free)(void* heap, void* p) noexcept;
    // nullptr where the heap beneath cannot validate itself (not a validating_heap).
    result<void> (*validate)(const void* heap) noexcept;
    // nullptr where the heap beneath cannot be walked (not a walkable_heap). May throw.
    result<std::vector<heap_entry>> (*walk)(const void* heap);
};

// The books of one debug_heap: the block layout, the live and recently freed blocks, the
// quarantine, the counts and the problem handler, all under one mutex (which also serializes the
// calls into the heap beneath). debug_heap<H> forwards to it; its members have debug_heap's
// contracts, documented there.
class debug_ledger {
public:
    // \throws heap_error (size_overflow, named heap_name) for options it cannot hold;
    // std::bad_alloc.
    debug_ledger(const debug_options& options, std::string_view heap_name, std::size_t alignment,
                 const debug_base_ops& base);
    // Reports leaks if asked to, then gives every block left back to the heap beneath.
    ~debug_ledger();
    debug_ledger(const debug_ledger&) = delete;
    debug_ledger& operator=(const debug_ledger&) = delete;

    [[nodiscard]] result<void*> allocate(std::size_t n, block_type type,
                                         const std::source_location& where) noexcept;
    result<void> free(void* p) noexcept;
    [[nodiscard]] result<std::size_t> size(const void* p) const noexcept;
    [[nodiscard]] result<void*> reallocate(void* p, std::size_t n,
                                           const std::source_location& where) noexcept;
    std::size_t check();
    [[nodiscard]] result<void> validate() const noexcept;
    [[nodiscard]] result<void> validate(const void* p) const noexcept;
    [[nodiscard]] bool owns(const void* p) const noexcept;
    void set_problem_handler(debug_problem_handler handler);
    void break_on_request(std::uint64_t request, std::function<void(std::uint64_t)> hook);
    // The live blocks with a request number of at least `first`, but ignore blocks.
    [[nodiscard]] std::vector<debug_block> blocks_since(std::uint64_t first) const;
    [[nodiscard]] debug_checkpoint checkpoint() const;
    [[nodiscard]] result<std::vector<heap_entry>> walk() const noexcept;
    [[nodiscard]] const debug_options& options() const noexcept;

private:
    struct books; // debug_ledger.cpp
    std::unique_ptr<books> books_;
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
class debug_heap : public heap_decorator<"debug_heap", H, thread_safety::always> {
    using skeleton = heap_decorator<"debug_heap", H, thread_safety::always>;

public:
    using typename skeleton::base_type;

    /// \effects a debug heap over a heap made from args (or referring to the heap given when H is
    /// a reference).
    /// \throws heap_error (size_overflow) when options.guard_size exceeds max_alignment (64 KiB) or
    /// options.quarantine exceeds max_quarantine; std::bad_alloc when its books cannot be made.
    template <class... Args>
    requires std::is_constructible_v<H, Args&&...>
    explicit debug_heap(const debug_options& options, Args&&... args)
        : skeleton(std::forward<Args>(args)...),
          ledger_(options, skeleton::name, skeleton::guaranteed_alignment, base_ops()) {}
    debug_heap()
    requires std::is_default_constructible_v<H>
        : debug_heap(debug_options{}) {}

    debug_heap(const debug_heap&) = delete;
    debug_heap& operator=(const debug_heap&) = delete;

    /// \effects optionally reports leaks (to stderr), then gives every remaining block back to the
    /// heap beneath.
    ~debug_heap() = default;

    // --- the heap ------------------------------------------------------------------------------

    /// \returns allocate(n, block_type::normal, where).
    [[nodiscard]] result<void*>
    allocate(std::size_t n, std::source_location where = std::source_location::current()) noexcept {
        return ledger_.allocate(n, block_type::normal, where);
    }

    /// \returns a block of n bytes of the given type, filled with allocated_fill and guarded.
    /// \errors size_overflow when n and the guards exceed max_request_size; the heap beneath's
    /// errors; out_of_memory when the books cannot grow.
    [[nodiscard]] result<void*>
    allocate(std::size_t n, block_type type,
             std::source_location where = std::source_location::current()) noexcept {
        return ledger_.allocate(n, type, where);
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
    result<void> free(void* p) noexcept { return ledger_.free(p); }

    /// \returns the size p was allocated with. \errors null_pointer, foreign_block (also for
    /// freed blocks), heap_corrupt (its header was overwritten).
    [[nodiscard]] result<std::size_t> size(const void* p) const noexcept { return ledger_.size(p); }

    /// \returns a new block holding p's first min(old, n) bytes; p is freed (always moved, so that
    /// stale pointers are caught). On failure p is untouched. The new block keeps p's type.
    [[nodiscard]] result<void*>
    reallocate(void* p, std::size_t n,
               std::source_location where = std::source_location::current()) noexcept {
        return ledger_.reallocate(p, n, where);
    }

    // --- checking -----------------------------------------------------------------------------

    /// \effects checks every live block's guards, every quarantined block's fill and the heap
    /// beneath (where it can validate itself); reports each problem to the handler.
    /// \returns the number of problems found. \throws whatever the handler throws (check is the
    /// place for a throwing handler: allocate and free are noexcept, as every heap's are, so a
    /// handler that throws from them ends the program).
    std::size_t check() { return ledger_.check(); }

    /// \returns success when check() would find nothing (without reporting). \errors heap_corrupt.
    [[nodiscard]] result<void> validate() const noexcept { return ledger_.validate(); }

    /// \returns success if p is a live block with intact guards. \errors null_pointer (as
    /// win32_heap's), foreign_block, heap_corrupt.
    [[nodiscard]] result<void> validate(const void* p) const noexcept {
        return ledger_.validate(p);
    }

    /// \returns true if p is a live block of this heap (never for nullptr).
    [[nodiscard]] bool owns(const void* p) const noexcept { return ledger_.owns(p); }

    /// \effects the handler hears of every problem from now on (nullptr: the default, which
    /// reports and aborts).
    void set_problem_handler(debug_problem_handler handler) {
        ledger_.set_problem_handler(std::move(handler));
    }

    /// \effects calls hook(request) when the allocation with that request number is made (as
    /// _CrtSetBreakAlloc); 0 clears it.
    void break_on_request(std::uint64_t request, std::function<void(std::uint64_t)> hook) {
        ledger_.break_on_request(request, std::move(hook));
    }

    // --- leaks, checkpoints, walks --------------------------------------------------------------

    /// \returns every live block but ignore blocks, in request order (as _CrtDumpMemoryLeaks).
    [[nodiscard]] std::vector<debug_block> leaks() const { return ledger_.blocks_since(0); }

    /// \returns the live blocks allocated since `since` (as _CrtMemDumpAllObjectsSince).
    [[nodiscard]] std::vector<debug_block> blocks_since(const debug_checkpoint& since) const {
        return ledger_.blocks_since(since.next_request);
    }

    /// \effects writes the leak report for leaks() to out. \returns the number of leaked blocks.
    std::size_t report_leaks(std::ostream& out) const {
        const auto blocks = leaks();
        write_leak_report(out, blocks);
        return blocks.size();
    }

    /// \returns the counts now (as _CrtMemCheckpoint).
    [[nodiscard]] debug_checkpoint checkpoint() const { return ledger_.checkpoint(); }

    /// \returns every block: live ones in use, quarantined ones free, and the free blocks of the
    /// heap beneath where it can walk (as _heapwalk). \errors the heap beneath's walk's errors;
    /// out_of_memory.
    [[nodiscard]] result<std::vector<heap_entry>> walk() const noexcept { return ledger_.walk(); }

    /// \returns the options it was made with.
    [[nodiscard]] const debug_options& options() const noexcept { return ledger_.options(); }

private:
    // The heap beneath, as the ledger calls it.
    detail::debug_base_ops base_ops() noexcept {
        detail::debug_base_ops ops{&this->base(),
                                   [](void* h, std::size_t n) noexcept -> result<void*> {
                                       return static_cast<base_type*>(h)->allocate(n);
                                   },
                                   [](void* h, void* p) noexcept -> result<void> {
                                       return static_cast<base_type*>(h)->free(p);
                                   },
                                   nullptr, nullptr};
        if constexpr (validating_heap<base_type>)
            ops.validate = [](const void* h) noexcept -> result<void> {
                return static_cast<const base_type*>(h)->validate();
            };
        if constexpr (walkable_heap<base_type>)
            ops.walk = [](const void* h) -> result<std::vector<heap_entry>> {
                return static_cast<const base_type*>(h)->walk();
            };
        return ops;
    }

    detail::debug_ledger ledger_;
};

} // namespace memmgr
