// memmgr:concepts: what a heap is, what only some heaps can do, and the traits every layer above
// asks of one.
module;
#include <concepts>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <vector>

export module memmgr:concepts;

import :errors;

export namespace memmgr {

/// A memory manager with the shape of ATL's IAtlMemMgr: allocate, free, size, reallocate.
///
/// Every operation is noexcept and reports failure by value:
/// - `h.allocate(n)` returns a block of at least n bytes aligned to H::guaranteed_alignment, or an
///   errc. allocate(0) returns a unique block. Sizes above max_request_size fail with
///   errc::size_overflow.
/// - `h.free(p)` releases a block of h; free(nullptr) does nothing. Heaps that can tell report a
///   foreign or already freed block by value instead of corrupting anything.
/// - `h.size(p)` returns the usable size of a block of h (at least what was asked for).
/// - `h.reallocate(p, n)` resizes a block, moving it if needed and keeping min(old, n) bytes.
///   reallocate(nullptr, n) allocates; reallocate(p, 0) leaves a zero-size block. On failure the
///   original block is untouched and still owned.
/// - `H::name` names the heap in messages; `H::guaranteed_alignment` is the alignment of every
///   block: a power of two, at least a pointer's (the adapters store a pointer in front of an
///   over-aligned block, and debug_heap its header in front of every block).
///
/// Satisfied by: crt_heap, com_heap, local_heap, global_heap, win32_heap, memory_manager.
template <class H>
concept heap = requires(H& h, const H& ch, void* p, std::size_t n) {
    { h.allocate(n) } noexcept -> std::same_as<result<void*>>;
    { h.free(p) } noexcept -> std::same_as<result<void>>;
    { ch.size(p) } noexcept -> std::same_as<result<std::size_t>>;
    { h.reallocate(p, n) } noexcept -> std::same_as<result<void*>>;
    { H::guaranteed_alignment } -> std::convertible_to<std::size_t>;
    { H::name } -> std::convertible_to<std::string_view>;
    requires std::size_t { H::guaranteed_alignment }
    >= alignof(void*);
    requires(std::size_t{H::guaranteed_alignment} & (H::guaranteed_alignment - 1)) == 0;
};

/// A heap that hands out zero-filled blocks for count objects of size bytes, checking count x size
/// for overflow (as calloc, LMEM_ZEROINIT, HEAP_ZERO_MEMORY).
///
/// Satisfied by: crt_heap, local_heap, global_heap, win32_heap, debug_heap<H> (over any heap).
template <class H>
concept zeroing_heap = heap<H> && requires(H& h, std::size_t n) {
    { h.allocate_zeroed(n, n) } noexcept -> std::same_as<result<void*>>;
};

/// A heap with a second family of blocks aligned to any power of two (as the CRT's
/// _aligned_malloc). Those blocks are released with free_aligned and measured with size_aligned,
/// never with free or size: on Windows the two families are different allocations.
///
/// Satisfied by: crt_heap.
template <class H>
concept aligned_heap = heap<H> && requires(H& h, const H& ch, void* p, std::size_t n) {
    { h.allocate_aligned(n, n) } noexcept -> std::same_as<result<void*>>;
    { h.free_aligned(p) } noexcept -> std::same_as<result<void>>;
    { ch.size_aligned(p, n) } noexcept -> std::same_as<result<std::size_t>>;
};

/// A heap that can resize a block without moving it, or say that it cannot
/// (errc::cannot_resize_in_place) and leave the block as it was (as _expand and
/// HEAP_REALLOC_IN_PLACE_ONLY).
///
/// Satisfied by: crt_heap, local_heap, global_heap, win32_heap.
template <class H>
concept resizable_in_place_heap = heap<H> && requires(H& h, void* p, std::size_t n) {
    { h.resize_in_place(p, n) } noexcept -> std::same_as<result<void>>;
};

/// A heap that can check its own consistency, whole (validate()) or for one block (validate(p)).
///
/// Satisfied by: win32_heap.
template <class H>
concept validating_heap = heap<H> && requires(const H& ch, const void* p) {
    { ch.validate() } noexcept -> std::same_as<result<void>>;
    { ch.validate(p) } noexcept -> std::same_as<result<void>>;
    { ch.owns(p) } noexcept -> std::same_as<bool>;
};

/// One entry of a heap walk.
struct heap_entry {
    void* address;        ///< the block's first usable byte
    std::size_t size;     ///< in use: the block's size; free: the bytes it could hold
    std::size_t overhead; ///< bookkeeping bytes that belong to the block (0 if the heap won't say)
    bool in_use;          ///< false: a free block

    friend bool operator==(const heap_entry&, const heap_entry&) = default;
};

/// A heap whose blocks can be enumerated (as HeapWalk): h.walk() gives a range of heap_entry (a
/// snapshot: taking it locks the heap, using it does not).
///
/// Satisfied by: win32_heap.
template <class H>
concept walkable_heap = heap<H> && requires(const H& ch) {
    { ch.walk() } -> std::same_as<result<std::vector<heap_entry>>>;
};

/// A heap that can give unused memory back to the system (as HeapCompact); compact() returns the
/// size of the largest free block left.
///
/// Satisfied by: win32_heap.
template <class H>
concept compactable_heap = heap<H> && requires(H& h) {
    { h.compact() } noexcept -> std::same_as<result<std::size_t>>;
};

/// A heap that can release every block at once, without freeing them one by one, and stay usable.
/// This is what makes a heap an arena: containers on it may be abandoned and dropped together.
///
/// Satisfied by: win32_heap (an owning one; an attached one answers errc::not_supported).
template <class H>
concept destroyable_heap = heap<H> && requires(H& h) {
    { h.release_all() } noexcept -> std::same_as<result<void>>;
};

/// How far a heap type may be shared between threads.
enum class thread_safety {
    always,     ///< every object may be used from several threads at once
    per_object, ///< decided per object at run time (e.g. win32_heap's serialize option)
    never,      ///< one thread at a time
};

/// A heap every object of which may be used from several threads at once: H::threading is
/// thread_safety::always.
///
/// Satisfied by: crt_heap, com_heap, local_heap, global_heap (win32_heap is per_object: ask
/// is_serialized()).
template <class H>
concept thread_safe_heap = heap<H> && (H::threading == thread_safety::always);

/// A heap whose objects are all the same heap: empty and default-constructible. Allocators over
/// one hold nothing.
///
/// Satisfied by: crt_heap, com_heap, local_heap, global_heap.
template <class H>
concept stateless_heap = heap<H> && std::is_empty_v<H> && std::is_default_constructible_v<H>;

/// The alignment every block of H has, whatever its size.
template <heap H>
inline constexpr std::size_t guaranteed_alignment_v = H::guaranteed_alignment;

} // namespace memmgr

namespace memmgr::detail {

/// \returns whether blocks of a may be freed through b: the same heap (heaps that compare say so
/// themselves; others only as the same object). Here, below both adapters, because heap_resource's
/// is_equal and heap_allocator's operator== share it.
template <class H>
bool same_heap(const H& a, const H& b) noexcept {
    if constexpr (std::equality_comparable<H>)
        return a == b;
    else
        return &a == &b;
}

} // namespace memmgr::detail
