// memmgr:over_aligned: any power-of-two alignment over a heap that guarantees less.
//
// An over-aligned block is taken from the heap with `alignment` bytes to spare; the pointer handed
// out is the first suitably aligned address past room for one pointer, and that pointer-sized slot
// just before it remembers where the heap's block starts. The caller gives the same alignment back
// when freeing (as std::pmr::memory_resource and std::allocator do), which says whether the slot is
// there. Used by heap_resource and heap_allocator, which also share their slow path from here.
//
// The slot is not trusted. A pointer that never came from here has ordinary data in that place
// (often the address of some live block), so the slot holds the heap block's address encoded with a
// per-process secret and the aligned address itself: decoded, it must give a block address aligned
// as the heap aligns blocks, from which the aligned pointer is exactly where allocation would have
// put it; where the heap can tell (validating_heap: owns), the block must be a live block of the
// heap, large enough to hold the aligned pointer's n bytes. Ordinary data passes the first two
// checks with a chance of about 2^-60, so a foreign pointer is refused (foreign_block) and nothing
// is freed; a slot copied from another over-aligned block does not decode at a different address.
// Freeing wipes the slot, so a stale pointer no longer decodes once its block is gone. The secret
// is :check_word's process key.
module;
#include <atomic>
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
import :check_word;

namespace memmgr::detail {

// The three functions below stay inline: the templates that follow, instantiated in the importer's
// code, call them on every over-aligned allocation and free.

/// \returns the slot word for the heap block `raw` behind the aligned pointer `aligned` (and, the
/// encoding being an involution, the block back from the slot word).
inline std::uintptr_t over_aligned_code(std::uintptr_t word, std::uintptr_t aligned) noexcept {
    return word ^ process_key() ^ (aligned * std::uintptr_t{0xD6E8FEB86659FD93u});
}

/// \returns the slot before p, an over-aligned pointer (aligned to more than a pointer's size).
/// Read and written atomically: two threads may give the same block back at once, and only the
/// one that claims the slot frees it (free_aligned_from).
inline std::atomic_ref<std::uintptr_t> slot_of(void* p) noexcept {
    return std::atomic_ref<std::uintptr_t>(
        *reinterpret_cast<std::uintptr_t*>(static_cast<char*>(p) - sizeof(void*)));
}

/// \returns where an over-aligned block starts inside the heap block at raw.
inline std::uintptr_t over_aligned_start(std::uintptr_t raw, std::size_t alignment) noexcept {
    return (raw + sizeof(void*) + alignment - 1) & ~(std::uintptr_t{alignment} - 1);
}

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
        const auto aligned = over_aligned_start(reinterpret_cast<std::uintptr_t>(raw), alignment);
        const std::uintptr_t word =
            over_aligned_code(reinterpret_cast<std::uintptr_t>(raw), aligned);
        std::memcpy(reinterpret_cast<void*>(aligned - sizeof(void*)), &word, sizeof word);
        return reinterpret_cast<void*>(aligned);
    });
}

/// \returns the heap block behind p, a block from allocate_aligned_from(heap, n, alignment), as
/// its slot says (unchecked: see verified_block_of).
template <heap H>
void* heap_block_of(void* p, std::size_t alignment) noexcept {
    if (p == nullptr || alignment <= guaranteed_alignment_v<H>)
        return p;
    return reinterpret_cast<void*>(over_aligned_code(slot_of(p).load(std::memory_order_relaxed),
                                                     reinterpret_cast<std::uintptr_t>(p)));
}

/// \returns the heap block behind p, an over-aligned pointer (alignment above what H guarantees)
/// said to hold n bytes, whose slot held `word`, once the checks of the file comment hold.
/// \errors foreign_block: its slot does not decode to a block it could have come from, or (where
/// the heap can tell) that block is not the heap's or too small.
template <heap H>
result<void*> verified_block_of(const H& heap, void* p, std::uintptr_t word, std::size_t n,
                                std::size_t alignment) noexcept {
    const auto aligned = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t block = over_aligned_code(word, aligned);
    if (block % guaranteed_alignment_v<H> != 0 || block >= aligned ||
        over_aligned_start(block, alignment) != aligned)
        return fail(errc::foreign_block);
    void* raw = reinterpret_cast<void*>(block);
    if constexpr (validating_heap<H>) {
        if (!heap.owns(raw))
            return fail(errc::foreign_block);
        auto size = heap.size(raw);
        if (!size || *size < aligned - block || *size - (aligned - block) < n)
            return fail(errc::foreign_block);
    }
    return raw;
}

/// \effects frees p, a block from allocate_aligned_from(heap, n, alignment); n is the size the
/// caller gives back (0 when unknown: the size check then only asks for the aligned pointer to lie
/// in the block). The word before p is read (once p is aligned as promised).
/// \errors foreign_block for a pointer not aligned as promised or that fails the checks of
/// verified_block_of, or whose slot another thread's free of p claimed first (nothing is freed),
/// and the heap's own errors.
template <heap H>
result<void> free_aligned_from(H& heap, void* p, std::size_t alignment,
                               std::size_t n = 0) noexcept {
    if (p == nullptr || alignment <= guaranteed_alignment_v<H>)
        return heap.free(p);
    if (reinterpret_cast<std::uintptr_t>(p) % alignment != 0)
        return fail(errc::foreign_block); // cannot be one of ours: it is not aligned as promised
    const std::uintptr_t word = slot_of(p).load(std::memory_order_relaxed);
    return verified_block_of(heap, p, word, n, alignment).and_then([&](void* raw) -> result<void> {
        // The slot is claimed (wiped) before the block goes, and never written after: a stale p
        // no longer decodes, as 0 decodes to noise, and of two threads giving p back at once only
        // the one whose wipe found the word frees the block; the other is refused and touches
        // nothing more (the block may be someone else's by then). A heap that refuses the block
        // gets its slot back as it was.
        std::uintptr_t expected = word;
        if (!slot_of(p).compare_exchange_strong(expected, 0, std::memory_order_relaxed))
            return fail(errc::foreign_block);
        auto freed = heap.free(raw);
        if (!freed) {
            std::uintptr_t wiped = 0;
            (void)slot_of(p).compare_exchange_strong(wiped, word, std::memory_order_relaxed);
        }
        return freed;
    });
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
