// memmgr:heap_allocator: a std::allocator-compatible allocator over any heap, so that every heap
// plugs into the standard containers without std::pmr.
module;
#include <cstddef>
#include <limits>
#include <type_traits>

// heap_allocator over a stateless heap adds no size only if its empty member takes none: MSVC (cl
// and clang-cl, which follow the MSVC ABI) ignores the standard [[no_unique_address]] and honours
// [[msvc::no_unique_address]] instead.
#if defined(_MSC_VER)
#define MEMMGR_NO_UNIQUE_ADDRESS [[msvc::no_unique_address]]
#else
#define MEMMGR_NO_UNIQUE_ADDRESS [[no_unique_address]]
#endif

export module memmgr:heap_allocator;

import :errors;
import :concepts;
import :handlers;
import :over_aligned;

namespace memmgr::detail {
// What an allocator over a stateless heap stores: nothing (one type for every T, so that rebound
// allocators convert).
struct no_heap {};
} // namespace memmgr::detail

export namespace memmgr {

/// An allocator for T over the heap H, complete for std::allocator_traits.
///
/// Over a stateless heap (crt_heap, com_heap, local_heap, global_heap) it holds nothing: it adds no
/// size to a container, every instance is equal (is_always_equal), and it propagates like
/// std::allocator (move assignment carries it; nothing else needs to).
///
/// Over a stateful heap (win32_heap, memory_manager, resource_heap) it refers to a heap that must
/// outlive every container using it, and it is sticky, as std::pmr::polymorphic_allocator is: a
/// container keeps its heap for life. Copy and move assignment and swap do not propagate the
/// allocator (assigning between containers on different heaps moves or copies the elements;
/// swapping them is undefined, as for any allocator that does not propagate on swap), and a copy of
/// a container stays on the same heap (select_on_container_copy_construction returns *this). Two
/// allocators are equal when their heaps are.
///
/// allocate(n) checks n x sizeof(T) for overflow and honours alignof(T) up to max_alignment, also
/// above what the heap guarantees. \throws heap_error (a std::bad_alloc) naming the heap and the
/// size. deallocate reports a pointer the heap refuses to report_deallocation_error.
///
/// Example usage:
/// \code
///   memmgr::win32_heap arena;
///   std::vector<int, memmgr::heap_allocator<int, memmgr::win32_heap>> v(arena);
///   std::list<double, memmgr::heap_allocator<double, memmgr::com_heap>> l;   // task memory
/// \endcode
template <class T, heap H>
class heap_allocator {
    static constexpr bool stateless = stateless_heap<H>;
    static_assert(!std::is_const_v<T> && !std::is_reference_v<T>,
                  "heap_allocator allocates objects: T must be a non-const object type.");
    static_assert(alignof(T) <= max_alignment,
                  "heap_allocator honours alignments up to memmgr::max_alignment (64 KiB).");

public:
    using value_type = T;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using heap_type = H;
    using propagate_on_container_copy_assignment = std::false_type;
    using propagate_on_container_move_assignment = std::bool_constant<stateless>;
    using propagate_on_container_swap = std::false_type;
    using is_always_equal = std::bool_constant<stateless>;

    template <class U>
    struct rebind {
        using other = heap_allocator<U, H>;
    };

    /// Over a stateless heap: the heap.
    heap_allocator() noexcept
    requires stateless
    = default;

    /// Over a stateful heap: refers to `heap`, which must outlive the allocator and its copies.
    heap_allocator(
        H& heap) noexcept // NOLINT(google-explicit-constructor): as polymorphic_allocator
    requires(!stateless)
        : heap_(&heap) {}

    template <class U>
    heap_allocator(const heap_allocator<U, H>& other) noexcept : heap_{other.heap_} {}

    /// \returns storage for n objects of type T. \throws heap_error.
    [[nodiscard]] T* allocate(std::size_t n) {
        if (n > max_size()) [[unlikely]]
            throw heap_error(H::name, std::numeric_limits<std::size_t>::max(), errc::size_overflow);
        auto&& h = heap(); // a reference, or a stateless heap's temporary
        auto block = alignof(T) <= guaranteed_alignment_v<H>
                         ? h.allocate(n * sizeof(T))
                         : detail::allocate_aligned_from(h, n * sizeof(T), alignof(T));
        if (block) [[likely]]
            return static_cast<T*>(*block);
        return static_cast<T*>(
            detail::allocate_aligned_or_throw(h, n * sizeof(T), alignof(T), block.error()));
    }

    /// \effects frees p, from allocate(n) on an equal allocator.
    void deallocate(T* p, std::size_t n) noexcept {
        auto&& h = heap();
        // n x sizeof(T) cannot wrap for an n that allocate accepted; for any other n the size
        // check of an over-aligned block (where the heap can tell sizes) refuses it anyway.
        auto freed = alignof(T) <= guaranteed_alignment_v<H>
                         ? h.free(p)
                         : detail::free_aligned_from(
                               h, p, alignof(T), n > max_size() ? max_request_size : n * sizeof(T));
        if (!freed) [[unlikely]]
            report_deallocation_error(H::name, p, freed.error());
    }

    /// \returns the largest n allocate may succeed for.
    [[nodiscard]] static constexpr std::size_t max_size() noexcept {
        return max_request_size / sizeof(T);
    }

    /// A copy of a container stays on the same heap.
    [[nodiscard]] heap_allocator select_on_container_copy_construction() const noexcept {
        return *this;
    }

    /// \returns the heap (a fresh H for stateless heaps, which are all the same heap).
    [[nodiscard]] H& heap() const noexcept
    requires(!stateless)
    {
        return *heap_;
    }
    [[nodiscard]] H heap() const noexcept
    requires stateless
    {
        return H{};
    }

    template <class U>
    friend bool operator==(const heap_allocator& a, const heap_allocator<U, H>& b) noexcept {
        if constexpr (stateless)
            return true;
        else
            return a.heap_ == b.heap_ || detail::same_heap(*a.heap_, *b.heap_);
    }

private:
    template <class U, memmgr::heap G>
    friend class heap_allocator;

    MEMMGR_NO_UNIQUE_ADDRESS std::conditional_t<stateless, detail::no_heap, H*> heap_{};
};

} // namespace memmgr
