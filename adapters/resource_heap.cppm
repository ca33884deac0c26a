// memmgr:resource_heap: the reverse adapter, any std::pmr::memory_resource as a memmgr heap, so
// that the standard's pools can stand behind memory_manager and the other memmgr layers.
module;
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory_resource>
#include <new>
#include <string_view>

export module memmgr:resource_heap;

import :errors;
import :concepts;
import :over_aligned;

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
/// Any exception the resource throws reads as errc::out_of_memory (the heap layer is noexcept).
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

    explicit resource_heap(std::pmr::memory_resource* r = std::pmr::get_default_resource()) noexcept
        : resource_(r) {}

    /// \returns a block of n bytes. \errors size_overflow; out_of_memory if the resource throws.
    [[nodiscard]] result<void*> allocate(std::size_t n) noexcept {
        if (n > max_request_size - header_size)
            return fail(errc::size_overflow);
        void* raw = nullptr;
        try { // only the resource's call: on the MinGW leg more code here let its bad_alloc escape
            raw = resource_->allocate(header_size + n, guaranteed_alignment);
        } catch (...) {
            // Not `catch (const std::bad_alloc&)`: on the MinGW leg a bad_alloc thrown by
            // libstdc++'s monotonic_buffer_resource is not matched by that clause in module code
            // (docs/toolchain.md). A resource has nothing else to throw.
            return fail(errc::out_of_memory);
        }
        void* p = static_cast<char*>(raw) + header_size;
        const std::size_t check = check_word(p, n);
        std::memcpy(raw, &n, sizeof n);
        std::memcpy(static_cast<char*>(raw) + sizeof n, &check, sizeof check);
        return p;
    }

    /// \effects gives p's memory back to the resource (its header's check word wiped first);
    /// free(nullptr) does nothing. \errors foreign_block: p's header is not sound (see the class
    /// comment); nothing is given back.
    result<void> free(void* p) noexcept {
        if (p == nullptr)
            return {};
        return stored_size(p).map([&](std::size_t n) {
            const std::size_t wiped = 0;
            std::memcpy(static_cast<char*>(raw_of(p)) + sizeof n, &wiped, sizeof wiped);
            resource_->deallocate(raw_of(p), header_size + n, guaranteed_alignment);
        });
    }

    /// \returns the size p was asked with, from its header. \errors null_pointer, foreign_block.
    [[nodiscard]] result<std::size_t> size(const void* p) const noexcept {
        if (p == nullptr)
            return fail(errc::null_pointer);
        return stored_size(p);
    }

    /// \returns a new block of n bytes holding p's first min(old, n) bytes; p is freed. On failure
    /// p is untouched. \errors as allocate; foreign_block as free (nothing is allocated).
    [[nodiscard]] result<void*> reallocate(void* p, std::size_t n) noexcept {
        if (p == nullptr)
            return allocate(n);
        return stored_size(p).and_then([&](std::size_t old) {
            return allocate(n).map([&](void* q) {
                std::memcpy(q, p, old < n ? old : n);
                (void)free(p);
                return q;
            });
        });
    }

    /// \returns the resource behind the heap.
    [[nodiscard]] std::pmr::memory_resource* resource() const noexcept { return resource_; }

    /// Equal when the resources are (blocks of one may be freed through the other).
    friend bool operator==(const resource_heap& a, const resource_heap& b) noexcept {
        return a.resource_->is_equal(*b.resource_);
    }

private:
    static constexpr std::size_t header_size = guaranteed_alignment;

    static void* raw_of(const void* p) noexcept {
        return const_cast<char*>(static_cast<const char*>(p)) - header_size;
    }
    static std::size_t check_word(const void* p, std::size_t n) noexcept {
        const auto x = static_cast<std::uint64_t>(n) * 0x9E3779B97F4A7C15u ^
                       static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p)) ^
                       detail::over_aligned_secret();
        return static_cast<std::size_t>((x ^ (x >> 31)) * 0xBF58476D1CE4E5B9u);
    }
    // \returns the size in p's header once its check word holds. \errors foreign_block.
    static result<std::size_t> stored_size(const void* p) noexcept {
        std::size_t n;
        std::size_t check;
        std::memcpy(&n, raw_of(p), sizeof n);
        std::memcpy(&check, static_cast<const char*>(raw_of(p)) + sizeof n, sizeof check);
        if (check != check_word(p, n) || n > max_request_size - header_size)
            return fail(errc::foreign_block);
        return n;
    }

    std::pmr::memory_resource* resource_;
};

} // namespace memmgr
