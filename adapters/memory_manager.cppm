// memmgr:memory_manager: IAtlMemMgr as a runtime-polymorphic interface, for code that passes a
// memory manager across an ABI boundary (a DLL, a plug-in). It is a C++ interface (a class of pure
// virtual functions, as IAtlMemMgr is), not a C table of callbacks.
module;
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

export module memmgr:memory_manager;

import :errors;
import :concepts;

export namespace memmgr {

/// IAtlMemMgr's four operations as virtual functions, with memmgr's contract (see memmgr::heap):
/// noexcept, failure by value, a failed reallocate leaves the block untouched. It is itself a heap,
/// so a memory_manager& can stand wherever a heap is expected.
///
/// Implementations guarantee 16-byte alignment; memory_manager_for<H> wraps any heap that does.
class memory_manager {
public:
    static constexpr std::string_view name = "memory_manager";
    static constexpr std::size_t guaranteed_alignment = 16;

    virtual ~memory_manager(); // out of line (memory_manager.cpp): the class's key function

    [[nodiscard]] virtual result<void*> allocate(std::size_t n) noexcept = 0;
    virtual result<void> free(void* p) noexcept = 0;
    [[nodiscard]] virtual result<std::size_t> size(const void* p) const noexcept = 0;
    [[nodiscard]] virtual result<void*> reallocate(void* p, std::size_t n) noexcept = 0;
    /// \returns the name of the heap behind this interface (H::name), for messages.
    [[nodiscard]] virtual std::string_view heap_name() const noexcept = 0;

protected:
    memory_manager() = default;
    memory_manager(const memory_manager&) = default;
    memory_manager& operator=(const memory_manager&) = default;
};

/// A memory_manager over the heap H. With H a heap type the wrapper owns the heap (constructed
/// from the arguments given); with H a reference (win32_heap&) it refers to a heap that must
/// outlive it.
///
/// Example usage:
/// \code
///   memmgr::win32_heap arena;
///   memmgr::memory_manager_for<memmgr::win32_heap&> mm(arena);
///   plugin_init(&mm);   // takes a memmgr::memory_manager*
/// \endcode
template <class H>
requires heap<std::remove_cvref_t<H>>
class memory_manager_for final : public memory_manager {
    using heap_type = std::remove_cvref_t<H>;
    static_assert(guaranteed_alignment_v<heap_type> >= memory_manager::guaranteed_alignment,
                  "memory_manager promises 16-byte alignment; this heap guarantees less.");

public:
    template <class... Args>
    requires std::is_constructible_v<H, Args&&...>
    explicit memory_manager_for(Args&&... args) noexcept(
        std::is_nothrow_constructible_v<H, Args&&...>)
        : heap_(std::forward<Args>(args)...) {}

    result<void*> allocate(std::size_t n) noexcept override { return heap_.allocate(n); }
    result<void> free(void* p) noexcept override { return heap_.free(p); }
    result<std::size_t> size(const void* p) const noexcept override { return heap_.size(p); }
    result<void*> reallocate(void* p, std::size_t n) noexcept override {
        return heap_.reallocate(p, n);
    }
    std::string_view heap_name() const noexcept override { return heap_type::name; }

    /// \returns the heap behind the interface.
    [[nodiscard]] heap_type& get() noexcept { return heap_; }
    [[nodiscard]] const heap_type& get() const noexcept { return heap_; }

private:
    H heap_;
};

} // namespace memmgr
