// memmgr:crt_heap: the C runtime's heap (ATL's CCRTHeap) and its aligned family.
module;
#include <cstddef>
#include <cstdint>
#include <string_view>

export module memmgr:crt_heap;

import :errors;
import :block_registry;
import :platform;
import :system_heap;

namespace memmgr::detail {

// The aligned family's header sits right before the aligned payload: where the block really starts
// and the size asked for. Live blocks are registered (block_registry.cppm), so that pointers are
// checked before their header is read.
struct aligned_header {
    void* raw;
    std::size_t size;
};

struct crt_aligned_blocks {};
inline block_registry& aligned_blocks() noexcept {
    return block_registry::instance<crt_aligned_blocks>();
}

inline aligned_header* aligned_header_of(const void* p) noexcept {
    return reinterpret_cast<aligned_header*>(const_cast<char*>(static_cast<const char*>(p)) -
                                             sizeof(aligned_header));
}

} // namespace memmgr::detail

export namespace memmgr {

/// The C runtime's heap, as ATL's CCRTHeap: malloc, free, realloc, calloc and the block-size query
/// (_msize on Windows: exactly the size asked for; malloc_usable_size on POSIX: at least that).
///
/// Stateless: every crt_heap is the same heap, and blocks may be freed through any of them.
/// Thread-safe, as the CRT's heap is. It cannot recognise foreign pointers: freeing one is
/// undefined behaviour, as with free().
///
/// It also offers the CRT's aligned family (as _aligned_malloc, _aligned_free, _aligned_msize):
/// blocks aligned to any power of two up to max_alignment, released with free_aligned and measured
/// with size_aligned, never with free or size. That family is the same portable code on both legs
/// (MSVCRT has no _aligned_msize): sizes are exact, and a pointer that is not a live block of the
/// family (a plain crt block, a block already freed) is reported as foreign_block.
///
/// Example usage:
/// \code
///   memmgr::crt_heap heap;
///   if (auto block = heap.allocate(64)) { /* use *block */ heap.free(*block); }
/// \endcode
class crt_heap : public detail::system_heap<detail::os::block_family::crt> {
public:
    static constexpr std::string_view name = "crt_heap";

    /// \returns a block of n bytes aligned to `alignment` (at least guaranteed_alignment).
    /// \errors bad_alignment if alignment is 0, not a power of two or above max_alignment;
    /// size_overflow; out_of_memory.
    [[nodiscard]] result<void*> allocate_aligned(std::size_t n, std::size_t alignment) noexcept {
        using detail::aligned_header;
        if (!valid_alignment(alignment))
            return fail(errc::bad_alignment);
        if (n > max_request_size)
            return fail(errc::size_overflow);
        const std::size_t a = alignment < guaranteed_alignment ? guaranteed_alignment : alignment;
        // Room for the header and for moving up to the next multiple of a; cannot wrap, as
        // n <= PTRDIFF_MAX and a <= max_alignment.
        return allocate(n + sizeof(aligned_header) + a).and_then([&](void* raw) -> result<void*> {
            const auto first = reinterpret_cast<std::uintptr_t>(raw) + sizeof(aligned_header);
            auto* p = reinterpret_cast<void*>((first + a - 1) & ~(std::uintptr_t{a} - 1));
            *detail::aligned_header_of(p) = aligned_header{raw, n};
            if (!detail::aligned_blocks().add(p)) {
                (void)free(raw);
                return fail(errc::out_of_memory);
            }
            return p;
        });
    }

    /// \effects releases a block of the aligned family; free_aligned(nullptr) does nothing.
    /// \errors foreign_block (also for a block already freed); then nothing is freed.
    result<void> free_aligned(void* p) noexcept {
        if (p == nullptr)
            return {};
        if (!detail::aligned_blocks().remove(p))
            return fail(errc::foreign_block);
        return free(detail::aligned_header_of(p)->raw);
    }

    /// \returns the size asked for when p was allocated by allocate_aligned(n, alignment).
    /// \errors null_pointer; bad_alignment if p is not aligned to `alignment`; foreign_block.
    [[nodiscard]] result<std::size_t> size_aligned(const void* p,
                                                   std::size_t alignment) const noexcept {
        if (p != nullptr &&
            (!valid_alignment(alignment) || reinterpret_cast<std::uintptr_t>(p) % alignment != 0))
            return fail(errc::bad_alignment);
        if (p == nullptr)
            return fail(errc::null_pointer);
        if (!detail::aligned_blocks().contains(p))
            return fail(errc::foreign_block);
        return detail::aligned_header_of(p)->size;
    }
};

} // namespace memmgr
