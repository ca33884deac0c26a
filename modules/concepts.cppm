// memmgr:concepts: what a heap is, and the traits every layer above asks of one.
module;
#include <concepts>
#include <cstddef>
#include <string_view>

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
///   reallocate(nullptr, n) allocates. On failure the original block is untouched and still owned.
/// - `H::name` names the heap in messages.
///
/// Satisfied by: crt_heap.
template <class H>
concept heap = requires(H& h, const H& ch, void* p, std::size_t n) {
    { h.allocate(n) } noexcept -> std::same_as<result<void*>>;
    { h.free(p) } noexcept -> std::same_as<result<void>>;
    { ch.size(p) } noexcept -> std::same_as<result<std::size_t>>;
    { h.reallocate(p, n) } noexcept -> std::same_as<result<void*>>;
    { H::guaranteed_alignment } -> std::convertible_to<std::size_t>;
    { H::name } -> std::convertible_to<std::string_view>;
};

/// A heap that hands out zero-filled blocks for count objects of size bytes, checking count x size
/// for overflow (as calloc).
///
/// Satisfied by: crt_heap.
template <class H>
concept zeroing_heap = heap<H> && requires(H& h, std::size_t n) {
    { h.allocate_zeroed(n, n) } noexcept -> std::same_as<result<void*>>;
};

/// The alignment every block of H has, whatever its size.
template <heap H>
inline constexpr std::size_t guaranteed_alignment_v = H::guaranteed_alignment;

} // namespace memmgr
