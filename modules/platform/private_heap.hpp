// The POSIX private heap engine behind memmgr::win32_heap on POSIX (see docs/private_heap.md).
//
// Plain C++ (not a module unit) so that it can be tested and fuzzed on its own; only
// modules/platform/posix.cpp includes it, in its global module fragment. Nothing here is exported.
//
// It keeps the semantics of a Win32 private heap (HeapCreate & co.): serialized by default with a
// no-serialize option, an initial and a maximum size (a heap with a maximum is fixed-size and
// reports heap_full when exhausted), exact block sizes (as HeapSize), in-place reallocation,
// validation, walking, compaction and destruction of every block at once. It never calls malloc:
// all its memory comes from mmap, so it neither replaces nor depends on the process's allocator.
// Freed small blocks wait in per-size caches before they are coalesced; to every function below a
// cached block is simply a free block.
#pragma once

#include <cstddef>
#include <cstdint>

namespace memmgr::detail::posix {

/// What an engine operation reports. The module layer maps it onto memmgr::errc.
enum class status : std::uint8_t {
    ok,
    out_of_memory,          ///< mmap failed
    heap_full,              ///< the heap's maximum size is reached
    size_overflow,          ///< a size above PTRDIFF_MAX (checked by the engine too)
    foreign_block,          ///< the pointer is not a block of this heap
    double_free,            ///< the pointer is a block of this heap that is already free
    heap_corrupt,           ///< a header, boundary tag or free list is inconsistent
    cannot_resize_in_place, ///< reallocate(in_place_only) would have to move the block
};

struct heap_config {
    std::size_t initial_size = 0; ///< bytes reserved at creation (rounded up; 0: a default)
    std::size_t maximum_size = 0; ///< 0: growable; otherwise the heap never holds more than this
    bool serialize = true;        ///< false: no lock (HEAP_NO_SERIALIZE); one thread at a time
    /// true: the first damage the heap finds ends the process (a line on stderr, then abort), as
    /// HeapEnableTerminationOnCorruption does; false: the heap answers heap_corrupt from then on.
    bool terminate_on_corruption = false;
    /// A free that leaves a free run of more than this many bytes in a segment gives the whole
    /// pages inside the run back to the OS (madvise(MADV_DONTNEED)), as Windows'
    /// HeapDeCommitFreeBlockThreshold; they read as zeros when used again. SIZE_MAX: never (only
    /// compact() does). Blocks of 512 KiB and more have their own mappings and are always unmapped.
    std::size_t decommit_threshold = 64 * 1024;
    /// The pages of those runs wait, resident, until more than this many bytes of them wait; then
    /// the oldest go back until half of it is left (compact() gives back all of them). A run used
    /// again meanwhile costs no system call and no page fault. As Windows keeps
    /// HeapDeCommitTotalFreeThreshold bytes free before it decommits. 0: at once.
    std::size_t decommit_total_threshold = 1024 * 1024;
};

/// One entry of a walk: a block in use or a free block.
struct block_info {
    void* address;        ///< the block's payload (what allocate returned, for blocks in use)
    std::size_t size;     ///< in use: the size asked for; free: the bytes the block can hold
    std::size_t overhead; ///< bookkeeping and slack bytes that belong to the block
    bool in_use;
    /// A block of a small-block page (no header: overhead is its state byte and its slack), or a
    /// free page slot.
    bool paged = false;
};

/// Statistics kept as blocks come and go (no walk needed).
struct heap_usage {
    std::size_t reserved_bytes;      ///< bytes currently obtained from the OS (mmap)
    std::size_t peak_reserved_bytes; ///< the most reserved_bytes has been
    std::size_t used_bytes;          ///< sum of the sizes asked for by blocks in use
    std::size_t used_blocks;         ///< blocks in use
    /// the most used_bytes has been; while other threads use a serialized heap, the most it was
    /// when the fronts' counts were summed (usage, walk, validate, compact, release_all)
    std::size_t peak_used_bytes;
    std::size_t total_allocations; ///< successful allocations (reallocations that moved count too)
};

class private_heap {
public:
    /// Every block's payload is aligned to this.
    static constexpr std::size_t alignment = 16;

    /// \returns a new heap, or nullptr if the OS gives no memory or maximum_size is non-zero and
    /// too small to hold the heap's own bookkeeping. The heap object lives in memory it mmaps
    /// itself.
    static private_heap* create(const heap_config& config) noexcept;
    /// \effects releases every block and every byte the heap obtained from the OS; h becomes
    /// invalid. destroy(nullptr) does nothing.
    static void destroy(private_heap* h) noexcept;
    /// \returns the process-wide default heap (serialized, growable), created on first use and
    /// never destroyed. destroy() and release_all() on it do nothing.
    static private_heap* process() noexcept;

    /// \returns a block of at least n bytes aligned to `alignment` (zero-filled when zero is true);
    /// allocate(0) returns a unique block. nullptr on failure, with st set to out_of_memory,
    /// heap_full, size_overflow or heap_corrupt (damage found, now or before).
    void* allocate(std::size_t n, bool zero, status& st) noexcept;
    /// \effects frees p. free(nullptr) is ok. \returns foreign_block if p is not a block of this
    /// heap, double_free if it is one that is already free, heap_corrupt if its header is damaged.
    /// Nothing is modified unless ok is returned.
    status free(void* p) noexcept;
    /// \returns in out the size asked for when p was (re)allocated. Errors as free().
    status size(const void* p, std::size_t& out) const noexcept;
    /// \returns p resized to n bytes, keeping min(old, n) bytes; p == nullptr allocates. With
    /// in_place_only the block never moves (cannot_resize_in_place if it would have to). On failure
    /// nullptr with st set, and p is untouched and still owned.
    void* reallocate(void* p, std::size_t n, bool in_place_only, status& st) noexcept;
    /// \returns true if p is the payload address of a block of this heap that is in use.
    bool owns(const void* p) const noexcept;
    /// \returns ok if p (nullptr: the whole heap, every block, boundary tag and free list) is
    /// consistent; heap_corrupt, foreign_block or double_free otherwise.
    status validate(const void* p) const noexcept;
    /// \effects returns wholly free memory to the OS where possible. \returns the size of the
    /// largest free block left (as HeapCompact), with st ok; or 0 with st heap_corrupt when it
    /// finds damage (every block is checked before its pages are given back).
    std::size_t compact(status& st) noexcept;
    /// compact(st) for callers that need no status (0 then also when damage was found).
    std::size_t compact() noexcept {
        status st = status::ok;
        return compact(st);
    }
    /// \effects frees every block at once, keeping the heap usable (back to its state at create).
    /// \returns ok; heap_corrupt, having freed and unmapped nothing, when the heap object itself
    /// is damaged (its guard): the tables a rebuild would follow cannot be trusted then. The
    /// process heap: ok, and nothing is freed.
    status release_all() noexcept;
    /// \effects calls visit(context, entry) for every block, in use or free, in address order
    /// within each region of memory; large blocks come last. The heap is locked meanwhile: visit
    /// must not call into this heap. \returns ok, or heap_corrupt at the first damaged header
    /// (the blocks before it were visited) or when the heap was found damaged before (none were).
    [[nodiscard]] status walk(void (*visit)(void* context, const block_info& entry),
                              void* context) const noexcept;
    /// \returns whether [p, p + n) lies inside one of the heap's own mappings (a segment, past
    /// the heap object, or a large block's mapping). Reads only the heap's tables: a test aid for
    /// checking that no block handed out lies elsewhere, even on a damaged heap.
    bool contains(const void* p, std::size_t n) const noexcept;
    /// \returns the statistics (under the lock).
    heap_usage usage() const noexcept;
    /// \returns the configuration the heap was created with (sizes as rounded by the heap).
    heap_config config() const noexcept;

    private_heap(const private_heap&) = delete;
    private_heap& operator=(const private_heap&) = delete;

private:
    private_heap() = default;
    ~private_heap() = default;
    struct impl;
    friend struct impl;
};

/// Which locks a set of fork handlers holds, in the order operations take them: a thread that
/// holds a lock of one rank may take a lock of a later rank, never of an earlier one (a debug
/// heap's books call the registries and the heaps beneath; a registry grows through operator new,
/// which a preloaded malloc may serve from a private heap).
enum class fork_rank : std::uint8_t { debug_heaps, registries, private_heaps };

/// A layer's fork handlers: `prepare` takes its locks before fork() copies the process, `parent`
/// and `child` release them in each process (in the child, the thread that forked is the only one
/// and holds them all).
struct fork_handlers {
    void (*prepare)() noexcept;
    void (*parent)() noexcept;
    void (*child)() noexcept;
};

/// \effects from now on fork() runs h.prepare after the prepare handlers of every earlier rank and
/// of this rank's earlier registrations, and h.parent / h.child in the reverse order: the order of
/// the ranks whatever order the layers registered in (pthread_atfork alone runs handlers in the
/// reverse order of their registration, which depends on which layer a program used first).
/// Takes no lock: a layer may register while its thread holds another layer's lock. A fork already
/// preparing when h is registered runs without it (layers register before their first use).
/// \returns false, having registered nothing, when the rank has no room left (4 sets each) or
/// pthread_atfork failed (ENOMEM): the layer then works without fork safety.
bool at_fork(fork_rank rank, fork_handlers h) noexcept;

#ifdef MEMMGR_FUZZ_FRONT_EXCHANGE
/// Fuzz builds only (the define is set by fuzz/CMakeLists.txt, never by memmgr's own build): lets
/// one thread act, call by call, as another thread of the serialized heaps, so that a harness
/// drives remote frees and their adoption in an order its input alone decides, without handing
/// each call to a second thread (a wake-up of a sleeping thread per call was a third of the
/// private_heap harness's time).
/// \effects makes `ticket` the calling thread's front (0: none chosen yet; the next operation on
/// fronts chooses one).
/// \returns the calling thread's front before the call (choosing one first if it had none).
/// \requires `ticket` is 0 or a value this function returned in this process, and the thread that
/// holds it makes no call on a heap while another thread acts as it.
std::uint32_t exchange_thread_front(std::uint32_t ticket) noexcept;
#endif

} // namespace memmgr::detail::posix
