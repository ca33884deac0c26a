// memmgr:win32_heap: private heaps (ATL's CWin32Heap).
module;
#include <cstddef>
#include <string_view>
#include <vector>

export module memmgr:win32_heap;

import :errors;
import :concepts;
import :platform; // allocate and free, inline below, call it (its names are not exported)

export namespace memmgr {

/// How a private heap is created (HeapCreate's three arguments).
struct win32_heap_options {
    /// Bytes reserved when the heap is created (0: the platform's default).
    std::size_t initial_size = 0;
    /// 0: the heap grows as needed. Otherwise it is fixed-size: it never holds more than this and
    /// allocations that do not fit fail with errc::heap_full.
    std::size_t maximum_size = 0;
    /// true: every operation takes the heap's lock, so the heap may be shared between threads.
    /// false (HEAP_NO_SERIALIZE): no lock; one thread at a time, faster.
    bool serialize = true;
    /// true: the first damage the heap detects (an overrun into a header, a write after free into a
    /// free list) ends the process at once, instead of every later operation failing with
    /// errc::heap_corrupt. POSIX: this heap only. Windows: HeapSetInformation(
    /// HeapEnableTerminationOnCorruption), which applies to every heap of the process and cannot be
    /// undone.
    bool terminate_on_corruption = false;
    /// POSIX: a free that leaves a run of free memory larger than this in the heap gives the whole
    /// pages inside it back to the system (as Windows' HeapDeCommitFreeBlockThreshold); SIZE_MAX:
    /// never, only compact() does. Windows: ignored, the system's own thresholds apply.
    std::size_t decommit_threshold = 64 * 1024;
    /// POSIX: the pages of those runs wait, resident, until more than this many bytes of them
    /// wait; then the oldest go back until half of it is left (compact() gives all of them back),
    /// so that a run used again soon costs no system call and no page fault, as Windows keeps
    /// HeapDeCommitTotalFreeThreshold bytes free before it decommits. 0: at once. Windows:
    /// ignored.
    std::size_t decommit_total_threshold = 1024 * 1024;
};

/// Counts over a heap's blocks, computed by walking it.
struct heap_statistics {
    std::size_t blocks_in_use = 0;
    std::size_t bytes_in_use = 0; ///< the sizes of the blocks in use
    std::size_t free_blocks = 0;
    std::size_t free_bytes = 0;
    std::size_t overhead_bytes = 0; ///< bookkeeping the heap reports for all its blocks

    friend bool operator==(const heap_statistics&, const heap_statistics&) = default;
};

/// A private heap, as ATL's CWin32Heap: HeapCreate, HeapAlloc, HeapFree, HeapReAlloc, HeapSize,
/// HeapValidate, HeapWalk, HeapCompact and HeapDestroy.
///
/// An owning win32_heap creates its heap and destroys it, with every block still in it, when it
/// is destroyed: that makes it an arena whose contents can be dropped at once (release_all() does
/// the same and keeps the heap). A non-owning one is attached to a heap that lives elsewhere, such
/// as the process heap (process_heap()). Move-only; a moved-from win32_heap holds no heap and
/// every operation on it fails with errc::heap_destroyed.
///
/// Blocks are 16-byte aligned and their size is exactly what was asked for (as HeapSize). A
/// pointer that is not a live block of this heap (a foreign pointer, a block already freed) is
/// reported, never freed: Windows screens pointers with HeapValidate (and reports both cases as
/// foreign_block); POSIX checks its own segments and headers (double_free for a block already
/// freed while its memory is still a free block of the heap, foreign_block otherwise).
///
/// Windows: the real calls. POSIX: memmgr's own private heap over mmap, with the same semantics
/// (docs/private_heap.md); it never uses or replaces the process's malloc.
///
/// Example usage:
/// \code
///   memmgr::win32_heap arena({.maximum_size = 1 << 20});
///   auto p = arena.allocate(100);          // result<void*>
///   auto n = arena.size(*p);               // exactly 100
///   arena.release_all();                   // every block gone at once
/// \endcode
class win32_heap {
public:
    static constexpr std::string_view name = "win32_heap";
    static constexpr std::size_t guaranteed_alignment = 16;
    /// Thread-safe when created with serialize = true (the default): ask is_serialized().
    static constexpr thread_safety threading = thread_safety::per_object;

    /// \returns a new owning heap. \errors out_of_memory if the system refuses to create it.
    [[nodiscard]] static result<win32_heap> create(const win32_heap_options& options = {}) noexcept;

    /// \returns a non-owning heap over the process's default heap (GetProcessHeap on Windows, a
    /// process-wide private heap on POSIX). Serialized and growable.
    [[nodiscard]] static win32_heap process_heap() noexcept;

    /// \returns a non-owning heap over native_handle (a HANDLE from HeapCreate or GetProcessHeap on
    /// Windows; another win32_heap's native_handle() on both legs). options must describe how that
    /// heap was created: serialize decides whether walks lock it, maximum_size whether an exhausted
    /// heap reads heap_full. The attached heap is valid while the owner lives (release_all() keeps
    /// the heap and its handle).
    [[nodiscard]] static win32_heap attach(void* native_handle,
                                           const win32_heap_options& options = {}) noexcept;

    /// \effects creates an owning heap. \throws heap_error if the system refuses.
    explicit win32_heap(const win32_heap_options& options = {});

    /// \effects takes other's heap; other holds none afterwards (heap_destroyed).
    win32_heap(win32_heap&& other) noexcept;
    /// \effects destroys this heap if it owns one, then takes other's; other holds none afterwards.
    win32_heap& operator=(win32_heap&& other) noexcept;

    /// \effects an owning heap is destroyed with every block still in it.
    ~win32_heap();

    /// \returns a block of at least n bytes (exactly n, as HeapSize reports).
    /// \errors size_overflow; heap_full (fixed-size heap); out_of_memory; heap_corrupt (POSIX:
    /// damage found, now or earlier; see docs/reliability.md); heap_destroyed.
    [[nodiscard]] result<void*> allocate(std::size_t n) noexcept;

    /// \returns a zero-filled block for count objects of size bytes (HEAP_ZERO_MEMORY).
    /// \errors as allocate, and size_overflow if count x size overflows.
    [[nodiscard]] result<void*> allocate_zeroed(std::size_t count, std::size_t size) noexcept;

    /// \effects frees p; free(nullptr) does nothing.
    /// \errors foreign_block, double_free (see the class comment); heap_corrupt (p or its
    /// neighbours damaged, or the heap found damaged before); heap_destroyed. On error nothing is
    /// freed.
    result<void> free(void* p) noexcept;

    /// \returns the size p was (re)allocated with. \errors null_pointer, foreign_block,
    /// double_free, heap_corrupt, heap_destroyed.
    [[nodiscard]] result<std::size_t> size(const void* p) const noexcept;

    /// \returns p resized to n bytes, moved if needed, keeping min(old, n) bytes;
    /// reallocate(nullptr, n) allocates; reallocate(p, 0) leaves a zero-size block.
    /// \errors as allocate, and foreign_block/double_free for p; on error p is untouched.
    [[nodiscard]] result<void*> reallocate(void* p, std::size_t n) noexcept;

    /// \effects resizes p to n bytes without moving it (HEAP_REALLOC_IN_PLACE_ONLY).
    /// \errors cannot_resize_in_place (p untouched), null_pointer, and as reallocate.
    [[nodiscard]] result<void> resize_in_place(void* p, std::size_t n) noexcept;

    /// \returns success if the whole heap is consistent (HeapValidate(heap, 0, nullptr)).
    /// \errors heap_corrupt, heap_destroyed.
    [[nodiscard]] result<void> validate() const noexcept;

    /// \returns success if p is a consistent block of this heap in use.
    /// \errors foreign_block, double_free, heap_corrupt, heap_destroyed.
    [[nodiscard]] result<void> validate(const void* p) const noexcept;

    /// \returns true if p is a block of this heap in use.
    [[nodiscard]] bool owns(const void* p) const noexcept;

    /// \returns every block, in use and free, as a snapshot taken under the heap's lock (a
    /// std::vector, so any range library can work on it).
    /// \errors heap_corrupt, heap_destroyed; out_of_memory if the snapshot cannot be stored.
    [[nodiscard]] result<std::vector<heap_entry>> walk() const noexcept;

    /// \returns counts of blocks and bytes in use and free, from a walk.
    [[nodiscard]] result<heap_statistics> statistics() const noexcept;

    /// \effects gives wholly free memory back to the system (HeapCompact).
    /// \returns the size of the largest free block left (0 under Wine, whose HeapCompact is a
    /// stub). \errors heap_corrupt, heap_destroyed.
    result<std::size_t> compact() noexcept;

    /// \effects frees every block at once and keeps the heap: its native_handle() and the heaps
    /// attached to it stay valid; pointers to its blocks dangle. On a serialized heap it may run
    /// while other threads use the same heap: it takes the heap's lock, so each of their operations
    /// comes wholly before or after it. A pointer to a block it freed is stale afterwards: a free
    /// of it is refused while its address lies in free memory, but the address may already belong
    /// to a block allocated since (the rebuilt heap carves from its start again; Windows' reuses
    /// addresses too), and such a free releases that block: threads must stop using their blocks
    /// before release_all, as before any free. On a HEAP_NO_SERIALIZE heap, as for every operation
    /// there, nothing else may run meanwhile. It writes nothing of this object.
    /// \errors not_supported on a non-owning heap (it is not ours to clear); heap_destroyed;
    /// Windows: out_of_memory if the list of blocks to free cannot be held (nothing is freed),
    /// heap_corrupt if the walk of the heap fails; POSIX: heap_corrupt if the heap object itself
    /// is damaged (nothing is freed or unmapped, and the heap stays damaged).
    result<void> release_all() noexcept;

    /// \effects switches the heap to the low-fragmentation front end (HeapSetInformation). On
    /// POSIX the engine's small-block front end is always on: this succeeds and changes nothing.
    /// \errors not_supported where the platform refuses (Windows: e.g. a HEAP_NO_SERIALIZE
    /// heap); heap_destroyed.
    result<void> enable_low_fragmentation() noexcept;

    /// \returns whether every operation takes the heap's lock.
    [[nodiscard]] bool is_serialized() const noexcept;
    /// \returns whether this object destroys its heap.
    [[nodiscard]] bool is_owning() const noexcept;
    /// \returns the options the heap was created (or attached) with.
    [[nodiscard]] const win32_heap_options& options() const noexcept;
    /// \returns the HANDLE (Windows) or engine (POSIX) behind this heap; nullptr once moved from.
    [[nodiscard]] void* native_handle() const noexcept;

    /// Two win32_heap objects are equal when they use the same heap: blocks of one may be freed
    /// through the other.
    friend bool operator==(const win32_heap& a, const win32_heap& b) noexcept;

private:
    win32_heap(void* handle, const win32_heap_options& options, bool owning) noexcept;

    void reset() noexcept;
    [[nodiscard]] result<void> live() const noexcept;
    [[nodiscard]] errc exhausted(errc e) const noexcept;
    [[nodiscard]] result<void*> allocate_impl(std::size_t n, bool zero) noexcept;
    [[nodiscard]] result<void*> reallocate_impl(void* p, std::size_t n, bool in_place) noexcept;

    void* handle_ = nullptr;
    win32_heap_options options_;
    bool owning_ = false;
};

// allocate and free are inline on purpose: the hot path of every adapter over a win32_heap
// (heap_resource, heap_allocator), one call to the platform and nothing else. What is rare (a
// moved-from heap, a size past the limit, a failure to report) goes out of line.

inline result<void*> win32_heap::allocate(std::size_t n) noexcept {
    if (handle_ == nullptr || n > max_request_size) [[unlikely]]
        return allocate_impl(n, false);
    auto block = detail::os::heap_allocate(handle_, n, false);
    if (!block) [[unlikely]]
        return fail(exhausted(block.error()));
    return block;
}

inline result<void> win32_heap::free(void* p) noexcept {
    if (p == nullptr)
        return {};
    if (handle_ == nullptr) [[unlikely]]
        return fail(errc::heap_destroyed);
    return detail::os::heap_free(handle_, p, options_.serialize);
}

} // namespace memmgr

namespace memmgr::detail {

// Debug information: clang describes a type defined in a module interface (here
// win32_heap_options, an aggregate with no member function to be homed with) in that interface's
// object file only, and the linker leaves that object out of a program linking the static library
// unless the program uses something defined in it. win32_heap's constructor calls this (empty,
// not inline, so defined in that object), so that a debugger sees a win32_heap's options in every
// program that has one (docs/debugging.md; the gdb test prints them).
void win32_heap_debug_info_anchor() noexcept {}

} // namespace memmgr::detail
