// memmgr:over_aligned: any power-of-two alignment over a heap that guarantees less.
//
// An over-aligned block is taken from the heap with `alignment` bytes to spare; the pointer handed
// out is the first suitably aligned address past room for one pointer, and that pointer-sized slot
// just before it remembers where the heap's block starts. The caller gives the same alignment back
// when freeing (as std::pmr::memory_resource and std::allocator do), which says whether the slot is
// there. Used by heap_resource and heap_allocator, which also share their slow path from here.
module;
#include <cstddef>
#include <cstdint>
#include <cstring>

// [[gnu::noinline]] is GCC's and clang's spelling; cl ignores it (and warns), so the compiler
// chooses (clang-cl defines _MSC_VER and accepts the MSVC spelling).
#if defined(_MSC_VER)
#define MEMMGR_NOINLINE __declspec(noinline)
#else
#define MEMMGR_NOINLINE [[gnu::noinline]]
#endif

export module memmgr:over_aligned;

import :errors;
import :concepts;
import :handlers;

export namespace memmgr::detail {

/// \returns a block of n bytes aligned to `alignment` from heap.
/// \errors bad_alignment (0, not a power of two, above max_alignment), size_overflow, and the
/// heap's own errors.
template <heap H>
result<void*> allocate_aligned_from(H& heap, std::size_t n, std::size_t alignment) noexcept {
    if (!valid_alignment(alignment))
        return fail(errc::bad_alignment);
    if (alignment <= guaranteed_alignment_v<H>)
        return heap.allocate(n);
    if (n > max_request_size - alignment)
        return fail(errc::size_overflow);
    return heap.allocate(n + alignment).map([alignment](void* raw) {
        // raw is aligned to at least guaranteed_alignment (>= a pointer's size), so rounding up
        // past one pointer moves by at most `alignment` bytes and stays inside the block.
        const auto base = reinterpret_cast<std::uintptr_t>(raw);
        const auto aligned = (base + sizeof(void*) + alignment - 1) & ~(std::uintptr_t{alignment} - 1);
        std::memcpy(reinterpret_cast<void*>(aligned - sizeof(void*)), &raw, sizeof raw);
        return reinterpret_cast<void*>(aligned);
    });
}

/// \returns the heap block behind p, a block from allocate_aligned_from(heap, n, alignment).
template <heap H>
void* heap_block_of(void* p, std::size_t alignment) noexcept {
    if (p == nullptr || alignment <= guaranteed_alignment_v<H>)
        return p;
    void* raw;
    std::memcpy(&raw, static_cast<char*>(p) - sizeof(void*), sizeof raw);
    return raw;
}

/// \effects frees p, a block from allocate_aligned_from(heap, n, alignment).
template <heap H>
result<void> free_aligned_from(H& heap, void* p, std::size_t alignment) noexcept {
    if (p != nullptr && alignment > guaranteed_alignment_v<H> &&
        reinterpret_cast<std::uintptr_t>(p) % alignment != 0)
        return fail(errc::foreign_block); // cannot be one of ours: it is not aligned as promised
    return heap.free(heap_block_of<H>(p, alignment));
}

/// The adapters' slow path, after a first attempt that failed with `first`: the allocation failure
/// handler's retries (retry_allocation), then, if they give nothing, heap_error. Out of line.
/// \returns a block of n bytes aligned to `alignment`.
template <heap H>
MEMMGR_NOINLINE void* allocate_aligned_or_throw(H& heap, std::size_t n, std::size_t alignment,
                                                errc first) {
    auto block = retry_allocation(H::name, n, result<void*>(fail(first)),
                                  [&] { return allocate_aligned_from(heap, n, alignment); });
    if (!block)
        throw heap_error(H::name, n, block.error());
    return *block;
}

} // namespace memmgr::detail
