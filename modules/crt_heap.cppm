// memmgr:crt_heap: the C runtime's heap (ATL's CCRTHeap).
module;
#include <cstddef>
#include <string_view>

export module memmgr:crt_heap;

import :errors;
import :platform;

export namespace memmgr {

/// The C runtime's heap, as ATL's CCRTHeap: malloc, free, realloc, calloc and the block-size query
/// (_msize on Windows, malloc_usable_size on POSIX).
///
/// Stateless: every crt_heap is the same heap, and blocks may be freed through any of them.
/// Thread-safe, as the CRT's heap is. It cannot recognise foreign pointers: freeing one is
/// undefined behaviour, as with free().
///
/// Example usage:
/// \code
///   memmgr::crt_heap heap;
///   if (auto block = heap.allocate(64)) { /* use *block */ heap.free(*block); }
/// \endcode
class crt_heap {
public:
    static constexpr std::string_view name = "crt_heap";
    /// Every block is aligned to 16 bytes (x86_64 MSVCRT and glibc).
    static constexpr std::size_t guaranteed_alignment = detail::os::crt_alignment;

    /// \returns a block of at least n bytes (a unique block for n == 0).
    /// \errors size_overflow if n > max_request_size; out_of_memory if malloc fails.
    [[nodiscard]] result<void*> allocate(std::size_t n) noexcept {
        if (n > max_request_size)
            return fail(errc::size_overflow);
        if (void* p = detail::os::crt_allocate(n))
            return p;
        return fail(errc::out_of_memory);
    }

    /// \returns a zero-filled block for count objects of size bytes (as calloc).
    /// \errors size_overflow if count x size overflows or exceeds max_request_size; out_of_memory.
    [[nodiscard]] result<void*> allocate_zeroed(std::size_t count, std::size_t size) noexcept {
        return checked_multiply(count, size).and_then([&](std::size_t) -> result<void*> {
            if (void* p = detail::os::crt_allocate_zeroed(count, size))
                return p;
            return fail(errc::out_of_memory);
        });
    }

    /// \effects releases p (nothing for nullptr). \returns success: the CRT cannot tell a foreign
    /// block, so p must come from this heap.
    result<void> free(void* p) noexcept {
        detail::os::crt_free(p);
        return {};
    }

    /// \returns the usable size of p: exactly the size asked for on Windows (_msize), at least that
    /// on POSIX (malloc_usable_size). \errors null_pointer for nullptr.
    [[nodiscard]] result<std::size_t> size(const void* p) const noexcept {
        if (p == nullptr)
            return fail(errc::null_pointer);
        return detail::os::crt_size(p);
    }

    /// \returns p resized to n bytes, moved if needed, its first min(old, n) bytes kept;
    /// reallocate(nullptr, n) is allocate(n) and reallocate(p, 0) gives a zero-size block (unlike
    /// realloc(p, 0), which frees). \errors size_overflow, out_of_memory; on error p is untouched.
    [[nodiscard]] result<void*> reallocate(void* p, std::size_t n) noexcept {
        if (p == nullptr)
            return allocate(n);
        if (n > max_request_size)
            return fail(errc::size_overflow);
        if (n == 0) {
            // realloc(p, 0) frees p on both CRTs; keep allocate(0)'s meaning instead.
            auto fresh = allocate(0);
            if (fresh)
                detail::os::crt_free(p);
            return fresh;
        }
        if (void* q = detail::os::crt_reallocate(p, n))
            return q;
        return fail(errc::out_of_memory);
    }

    /// All crt_heap objects are the same heap.
    friend constexpr bool operator==(crt_heap, crt_heap) noexcept { return true; }
};

} // namespace memmgr
