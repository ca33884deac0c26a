// memmgr:heap_resource: a std::pmr::memory_resource over any heap, so that every heap plugs into
// std::pmr containers.
module;
#include <cstddef>
#include <memory_resource>
#include <type_traits>
#include <utility>

// [[gnu::noinline]] is GCC's and clang's spelling; cl ignores it (and warns), so the compiler
// chooses (clang-cl defines _MSC_VER and accepts the MSVC spelling).
#if defined(_MSC_VER)
#define MEMMGR_NOINLINE __declspec(noinline)
#else
#define MEMMGR_NOINLINE [[gnu::noinline]]
#endif

export module memmgr:heap_resource;

import :errors;
import :concepts;
import :handlers;
import :over_aligned;

namespace memmgr::detail {

/// What every heap_resource over the heap type H shares, whether it owns its heap or refers to
/// one, so that do_is_equal can compare the two kinds.
template <heap H>
class resource_over : public std::pmr::memory_resource {
public:
    /// \returns the heap behind the resource.
    [[nodiscard]] H& heap() noexcept { return *heap_; }
    [[nodiscard]] const H& heap() const noexcept { return *heap_; }

protected:
    // The derived class hands over its heap once; a pointer, not a virtual call, on every
    // allocation keeps the adapter's cost near a direct call (docs/benchmarks.md).
    explicit resource_over(H& heap) noexcept : heap_(&heap) {}

private:
    // The common case (an alignment the heap guarantees, the heap succeeds) is one call into the
    // heap; over-alignment, the failure handler and the exception are out of line.
    static constexpr bool natural(std::size_t alignment) noexcept {
        return alignment <= guaranteed_alignment_v<H> && (alignment & (alignment - 1)) == 0 &&
               alignment != 0;
    }

    void* do_allocate(std::size_t bytes, std::size_t alignment) override {
        if (natural(alignment)) [[likely]] {
            auto block = heap_->allocate(bytes);
            if (block) [[likely]]
                return *block;
            return allocate_aligned_or_throw(*heap_, bytes, alignment, block.error());
        }
        return over_aligned(bytes, alignment);
    }

    // Over-alignment, the failure handler's retries and the exception: out of line.
    MEMMGR_NOINLINE void* over_aligned(std::size_t bytes, std::size_t alignment) {
        auto block = allocate_aligned_from(*heap_, bytes, alignment);
        if (block)
            return *block;
        return allocate_aligned_or_throw(*heap_, bytes, alignment, block.error());
    }

    void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
        if (!natural(alignment)) [[unlikely]]
            return over_aligned_free(p, bytes, alignment);
        auto freed = heap_->free(p);
        if (!freed) [[unlikely]]
            report_deallocation_error(H::name, p, freed.error());
    }

    // Out of line as over_aligned is: inlined, it made every free save four registers.
    MEMMGR_NOINLINE void over_aligned_free(void* p, std::size_t bytes, std::size_t alignment) {
        auto freed = free_aligned_from(*heap_, p, alignment, bytes);
        if (!freed)
            report_deallocation_error(H::name, p, freed.error());
    }

    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
        if (this == &other)
            return true;
        const auto* same_kind = dynamic_cast<const resource_over*>(&other);
        return same_kind != nullptr && same_heap(*heap_, *same_kind->heap_);
    }

    H* heap_;
};

// Holds heap_resource's heap as its first base, so that the heap exists before resource_over,
// constructed next, takes its address (the base-from-member idiom).
template <class H>
struct heap_holder {
    template <class... Args>
    explicit heap_holder(Args&&... args) : held(std::forward<Args>(args)...) {}
    H held;
};

} // namespace memmgr::detail

export namespace memmgr {

/// A std::pmr::memory_resource over the heap H.
///
/// With H a heap type the resource owns its heap, constructed from the arguments given (a
/// heap_resource<win32_heap> creates a private heap and destroys it with every block at the end).
/// With H a reference (win32_heap&) it refers to a heap that must outlive it.
///
/// \effects allocate(bytes, alignment) honours every power-of-two alignment up to max_alignment
/// (64 KiB), also above what H guarantees (by over-allocating; see over_aligned.cppm).
/// \throws heap_error (a std::bad_alloc) naming H and the size when the heap fails (after the
/// allocation failure handler, if one is set, declines to retry), and for a bad
/// alignment (errc::bad_alignment) or an oversized request (errc::size_overflow).
/// deallocate reports a pointer the heap refuses to report_deallocation_error (default: abort).
/// is_equal is true exactly when blocks of one can be freed through the other: resources over the
/// same private heap, or over the same kind of system heap (crt, com, local or global).
///
/// Example usage:
/// \code
///   memmgr::win32_heap arena;
///   memmgr::heap_resource resource(arena);              // refers to arena
///   std::pmr::vector<int> v({1, 2, 3}, &resource);      // elements live on the private heap
/// \endcode
template <class H>
requires heap<std::remove_cvref_t<H>>
class heap_resource final : private detail::heap_holder<H>,
                            public detail::resource_over<std::remove_cvref_t<H>> {
public:
    using heap_type = std::remove_cvref_t<H>;

    template <class... Args>
    requires std::is_constructible_v<H, Args&&...>
    explicit heap_resource(Args&&... args) noexcept(std::is_nothrow_constructible_v<H, Args&&...>)
        : detail::heap_holder<H>(std::forward<Args>(args)...),
          detail::resource_over<heap_type>(this->held) {}

    heap_resource(const heap_resource&) = delete;
    heap_resource& operator=(const heap_resource&) = delete;
};

/// heap_resource r(arena) refers to arena; heap_resource r(memmgr::crt_heap{}) owns its heap.
template <class H>
heap_resource(H&&) -> heap_resource<H>;

/// Makes r the default memory resource (std::pmr::set_default_resource) for its lifetime, then
/// puts the previous one back. Containers created meanwhile without a resource use r.
///
/// Example usage:
/// \code
///   memmgr::heap_resource resource(arena);
///   memmgr::scoped_default_resource use(&resource);
///   std::pmr::string s = "on the arena";
/// \endcode
class scoped_default_resource {
public:
    /// \effects std::pmr::set_default_resource(r), remembering the resource it replaces.
    explicit scoped_default_resource(std::pmr::memory_resource* r) noexcept;
    /// \effects puts the previous default resource back.
    ~scoped_default_resource();
    scoped_default_resource(const scoped_default_resource&) = delete;
    scoped_default_resource& operator=(const scoped_default_resource&) = delete;

    /// \returns the resource that was the default before, and will be again.
    [[nodiscard]] std::pmr::memory_resource* previous() const noexcept;

private:
    std::pmr::memory_resource* previous_;
};

} // namespace memmgr
