// memmgr:system_heap: what crt_heap, com_heap, local_heap and global_heap share. They are
// stateless views of process-wide heaps; each differs only in the family of blocks it hands out
// and in the operations that family supports.
module;
#include <cstddef>

export module memmgr:system_heap;

import :errors;
import :concepts;
import :platform;

namespace memmgr::detail {

/// The IAtlMemMgr operations over one family of system blocks, with memmgr's rules on top: size
/// limits, null pointers, zero-size reallocation and an untouched block on failure. Not for direct
/// use: crt_heap, com_heap, local_heap and global_heap derive from it.
template <os::block_family Family>
class system_heap {
public:
    /// x86_64 Windows heaps, MSVCRT and glibc all align every block to 16 bytes.
    static constexpr std::size_t guaranteed_alignment = os::system_alignment;
    /// The heaps beneath are process-wide and serialized.
    static constexpr thread_safety threading = thread_safety::always;

    /// \returns a block of at least n bytes (a unique block for n == 0).
    /// \errors size_overflow if n > max_request_size; out_of_memory.
    [[nodiscard]] result<void*> allocate(std::size_t n) noexcept {
        if (n > max_request_size)
            return fail(errc::size_overflow);
        return os::block_allocate(Family, n, false);
    }

    /// \returns a zero-filled block for count objects of size bytes.
    /// \errors size_overflow if count x size overflows or exceeds max_request_size; out_of_memory.
    [[nodiscard]] result<void*> allocate_zeroed(std::size_t count, std::size_t size) noexcept
    requires(Family != os::block_family::com) // CoTaskMemAlloc has no zeroing form
    {
        return checked_multiply(count, size).and_then([](std::size_t n) {
            return os::block_allocate(Family, n, true);
        });
    }

    /// \effects releases p; free(nullptr) does nothing. \errors foreign_block (a foreign pointer or
    /// a block already freed) where the family can tell, and then nothing is freed.
    result<void> free(void* p) noexcept {
        if (p == nullptr)
            return {};
        return os::block_free(Family, p);
    }

    /// \returns the usable size of p. \errors null_pointer; foreign_block where the family can
    /// tell.
    [[nodiscard]] result<std::size_t> size(const void* p) const noexcept {
        if (p == nullptr)
            return fail(errc::null_pointer);
        return os::block_size(Family, p);
    }

    /// \returns p resized to n bytes, moved if needed, its first min(old, n) bytes kept.
    /// reallocate(nullptr, n) is allocate(n); reallocate(p, 0) leaves a zero-size block (where
    /// realloc, CoTaskMemRealloc and LocalReAlloc would free p). \errors size_overflow,
    /// out_of_memory, foreign_block; on error p is untouched and still owned.
    [[nodiscard]] result<void*> reallocate(void* p, std::size_t n) noexcept {
        if (p == nullptr)
            return allocate(n);
        if (n > max_request_size)
            return fail(errc::size_overflow);
        if (n != 0)
            return os::block_reallocate(Family, p, n);
        auto fresh = allocate(0);
        if (!fresh)
            return fresh;
        if (auto released = free(p); !released) {
            (void)free(*fresh);
            return fail(released.error());
        }
        return fresh;
    }

    /// \effects resizes p to n bytes without moving it (crt: _expand; POSIX: within the chunk
    /// malloc gave). \errors cannot_resize_in_place (p is untouched), size_overflow,
    /// null_pointer, foreign_block.
    [[nodiscard]] result<void> resize_in_place(void* p, std::size_t n) noexcept
    requires(Family != os::block_family::com) // CoTaskMemRealloc may always move
    {
        if (p == nullptr)
            return fail(errc::null_pointer);
        if (n > max_request_size)
            return fail(errc::size_overflow);
        return os::block_resize_in_place(Family, p, n);
    }

    /// All objects of one system heap type are the same heap.
    friend constexpr bool operator==(const system_heap&, const system_heap&) noexcept {
        return true;
    }
};

} // namespace memmgr::detail
