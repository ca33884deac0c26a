// memmgr:resource_heap: the reverse adapter, any std::pmr::memory_resource as a memmgr heap, so
// that the standard's pools can stand behind memory_manager and the other memmgr layers.
module;
#include <cstddef>
#include <memory_resource>
#include <string_view>

export module memmgr:resource_heap;

import :errors;
import :concepts;

export namespace memmgr {

/// A heap over a std::pmr::memory_resource (by default the default resource at construction).
///
/// A memory_resource has no size query and wants the size back on deallocate, so each block
/// carries a 16-byte header holding the size asked for and a check word (the size and the block's
/// address encoded with a per-process key): size(p) is exact, blocks are 16-byte aligned, and each
/// costs 16 bytes more than asked. The resource cannot tell its blocks from foreign pointers, so
/// free, size and reallocate check the header before trusting it: a pointer whose 16 bytes before
/// it do not hold a sound header (a foreign pointer, a block already freed, whose check word free
/// wipes, or a header damaged by an underrun) is refused with foreign_block and nothing is given
/// to the resource. Ordinary data passes with a chance of about 2^-64; those 16 bytes are read, so
/// they must be readable. A block of another resource_heap passes (and goes to this heap's
/// resource), as does a stale pointer whose address a new block of this heap has taken.
/// reallocate copies (a resource cannot resize). Thread safety is the resource's
/// (synchronized_pool_resource: yes; unsynchronized_pool_resource, monotonic_buffer_resource: no).
/// Any exception the resource throws reads as errc::out_of_memory (the heap layer is noexcept),
/// from deallocate too: the block then stays live (free may be asked again), and a reallocation
/// whose old block the resource would not take back fails and keeps it.
///
/// Example usage:
/// \code
///   std::pmr::unsynchronized_pool_resource pool;
///   memmgr::memory_manager_for<memmgr::resource_heap> mm(&pool);   // IAtlMemMgr over a std pool
/// \endcode
class resource_heap {
public:
    static constexpr std::string_view name = "resource_heap";
    static constexpr std::size_t guaranteed_alignment = 16;
    static constexpr thread_safety threading = thread_safety::per_object;

    /// \effects refers to r, which must outlive the heap and every block it hands out.
    explicit resource_heap(
        std::pmr::memory_resource* r = std::pmr::get_default_resource()) noexcept;

    /// \returns a block of n bytes. \errors size_overflow; out_of_memory if the resource throws.
    [[nodiscard]] result<void*> allocate(std::size_t n) noexcept;

    /// \effects gives p's memory back to the resource (its header's check word wiped first);
    /// free(nullptr) does nothing. \errors foreign_block: p's header is not sound (see the class
    /// comment); nothing is given back.
    result<void> free(void* p) noexcept;

    /// \returns the size p was asked with, from its header. \errors null_pointer, foreign_block.
    [[nodiscard]] result<std::size_t> size(const void* p) const noexcept;

    /// \returns a new block of n bytes holding p's first min(old, n) bytes; p is freed. On failure
    /// p is untouched. \errors as allocate; foreign_block as free (nothing is allocated).
    [[nodiscard]] result<void*> reallocate(void* p, std::size_t n) noexcept;

    /// \returns the resource behind the heap.
    [[nodiscard]] std::pmr::memory_resource* resource() const noexcept;

    /// Equal when the resources are (blocks of one may be freed through the other).
    friend bool operator==(const resource_heap& a, const resource_heap& b) noexcept;

private:
    std::pmr::memory_resource* resource_;
};

} // namespace memmgr
