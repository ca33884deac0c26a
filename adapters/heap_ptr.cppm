// memmgr:heap_ptr: a move-only owner of one raw block of any heap (ATL's CHeapPtr and
// CComHeapPtr, WIL's unique_cotaskmem_ptr, unique_hlocal_ptr and unique_process_heap_ptr), and
// allocate_unique / allocate_unique_for_overwrite over any heap.
//
// Why a class and not a deleter for std::unique_ptr: the owner must grow its block in place of
// itself (reallocate keeps the block on failure, which a deleter cannot express), hand its slot
// to an API as an out-parameter (put()), and hold a stateful heap by value or by reference
// without a deleter type in every signature. unique_ptr's operator* also promises an object where
// an API handed back bytes.
module;
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

export module memmgr:heap_ptr;

import :errors;
import :concepts;
import :handlers;

namespace memmgr::detail {

// What a heap_ptr keeps of its heap, as a base class: an empty base takes no room in every C++
// ABI (the empty base optimisation, which MSVC applies to a single base too), so heap_ptr over a
// stateless heap is one pointer without [[no_unique_address]] (which MSVC ignores) or a macro.
template <class H>
class stateless_heap_holder {
protected:
    stateless_heap_holder() noexcept = default;
    explicit stateless_heap_holder(const H&) noexcept {}
    [[nodiscard]] static H get_heap() noexcept { return H{}; }
    void swap_heap(stateless_heap_holder&) noexcept {}
};

// A stateful heap held by value: the heap_ptr owns the heap object (a process_heap(), a moved-in
// arena).
template <class H>
class owned_heap_holder {
protected:
    explicit owned_heap_holder(H&& heap) noexcept(std::is_nothrow_move_constructible_v<H>)
        : heap_(std::move(heap)) {}
    [[nodiscard]] H& get_heap() noexcept { return heap_; }
    [[nodiscard]] const H& get_heap() const noexcept { return heap_; }
    void swap_heap(owned_heap_holder& other) noexcept {
        using std::swap;
        swap(heap_, other.heap_);
    }

private:
    H heap_;
};

// A heap held by reference: it lives elsewhere and must outlive the heap_ptr.
template <class H>
class referred_heap_holder {
protected:
    explicit referred_heap_holder(H& heap) noexcept : heap_(&heap) {}
    [[nodiscard]] H& get_heap() const noexcept { return *heap_; }
    void swap_heap(referred_heap_holder& other) noexcept { std::swap(heap_, other.heap_); }

private:
    H* heap_;
};

template <class H>
using heap_holder = std::conditional_t<
    std::is_reference_v<H>, referred_heap_holder<std::remove_reference_t<H>>,
    std::conditional_t<stateless_heap<H>, stateless_heap_holder<H>, owned_heap_holder<H>>>;

// Bytes per element: a heap_ptr<void> counts bytes.
template <class T>
inline constexpr std::size_t element_size = sizeof(T);
template <>
inline constexpr std::size_t element_size<void> = 1;
template <class T>
inline constexpr std::size_t element_alignment = alignof(T);
template <>
inline constexpr std::size_t element_alignment<void> = 1;

// The heap_ptr an allocate_unique over `heap` returns: an lvalue of a stateful heap is referred
// to, anything else (a stateless heap, a stateful one moved in) is held by value.
template <class Heap>
using heap_ptr_heap_t =
    std::conditional_t<std::is_lvalue_reference_v<Heap> &&
                           !stateless_heap<std::remove_cvref_t<Heap>>,
                       std::remove_reference_t<Heap>&, std::remove_cvref_t<Heap>>;

} // namespace memmgr::detail

export namespace memmgr {

/// A move-only owner of one raw block of the heap H, freed with H's free when the owner is
/// destroyed, reset or assigned to: what ATL's CHeapPtr<T, Allocator> and WIL's unique_*_ptr are
/// to their heaps. The block holds elements of type T (bytes for heap_ptr<void, H>); heap_ptr
/// never constructs or destroys them, so T must be trivially destructible.
///
/// Three forms, by what H is:
/// - `heap_ptr<T, com_heap>` (any stateless heap): holds the pointer alone; sizeof is sizeof(T*).
/// - `heap_ptr<T, win32_heap&>` (the referring form): refers to a heap that lives elsewhere and
///   must outlive the owner; two pointers.
/// - `heap_ptr<T, win32_heap>` (the owning form of a stateful heap): holds the heap object itself,
///   moved in, e.g. `win32_heap::process_heap()` (as WIL's unique_process_heap_ptr) or an arena
///   that should live exactly as long as its block.
///
/// allocate and reallocate are noexcept and report the heap's errc by value (result<void>); on
/// failure the owner keeps the block it had. The free in the destructor, reset and assignment
/// reports a block the heap refuses to report_deallocation_error.
///
/// Example usage (StringFromCLSID returns CoTaskMem):
/// \code
///   memmgr::heap_ptr<wchar_t, memmgr::com_heap> text;
///   if (SUCCEEDED(StringFromCLSID(clsid, text.put())))
///       use(text.get());                                  // CoTaskMemFree'd by text
///   memmgr::win32_heap arena;
///   memmgr::heap_ptr<std::byte, memmgr::win32_heap&> buffer(arena);
///   if (auto grown = buffer.reallocate(4096); !grown)
///       report(grown.error());                            // buffer still holds its old block
/// \endcode
template <class T, class H>
class heap_ptr : private detail::heap_holder<H> {
    using holder = detail::heap_holder<H>;

public:
    /// The heap's type (H without its reference).
    using heap_type = std::remove_reference_t<H>;
    using element_type = T;
    using pointer = T*;

private:
    static_assert(!std::is_const_v<heap_type>,
                  "heap_ptr<T, H>: the heap frees, so it cannot be const.");
    static_assert(memmgr::heap<heap_type>,
                  "heap_ptr<T, H>: H (or H& for the referring form) must model memmgr::heap.");
    static_assert(!(std::is_reference_v<H> && stateless_heap<heap_type>),
                  "heap_ptr<T, H&>: a stateless heap is held by value, in no room: write "
                  "heap_ptr<T, H>.");
    static_assert(std::is_reference_v<H> || stateless_heap<heap_type> ||
                      std::is_move_constructible_v<heap_type>,
                  "heap_ptr<T, H>: this heap cannot be moved into the owner; refer to it with "
                  "heap_ptr<T, H&>.");
    static_assert(std::is_void_v<T> || (std::is_object_v<T> && !std::is_array_v<T> &&
                                        std::is_trivially_destructible_v<T>),
                  "heap_ptr owns a raw block and never runs destructors: T must be void or a "
                  "trivially destructible object type (not an array: heap_ptr<T> already points "
                  "to n elements).");
    static_assert(detail::element_alignment<std::remove_cv_t<T>> <=
                      guaranteed_alignment_v<heap_type>,
                  "heap_ptr takes the heap's own blocks (so that put() and release() interoperate "
                  "with the heap's API): T may not need more alignment than the heap guarantees.");
    static constexpr bool stateless = stateless_heap<heap_type>;
    static constexpr bool referring = std::is_reference_v<H>;
    static constexpr std::size_t element_size = detail::element_size<std::remove_cv_t<T>>;

public:
    /// \effects holds nothing (stateless heaps).
    constexpr heap_ptr() noexcept
    requires stateless
    = default;
    /// \effects holds nothing.
    // NOLINTNEXTLINE(google-explicit-constructor): as unique_ptr
    constexpr heap_ptr(std::nullptr_t) noexcept
    requires stateless
    {}
    /// \effects takes ownership of p, a block of H (or nullptr).
    constexpr explicit heap_ptr(T* p) noexcept
    requires stateless
        : p_(p) {}
    /// \effects holds nothing (the heap argument, all of whose objects are the same heap, is there
    /// so that generic code can pass a heap whatever its form).
    constexpr explicit heap_ptr(const heap_type&) noexcept
    requires stateless
    {}

    /// Referring form: \effects holds nothing; `heap` must outlive the owner.
    explicit heap_ptr(heap_type& heap) noexcept
    requires referring
        : holder(heap) {}
    /// Referring form: \effects takes ownership of p, a block of `heap` (or nullptr).
    heap_ptr(T* p, heap_type& heap) noexcept
    requires referring
        : holder(heap), p_(p) {}

    /// Owning form: \effects holds nothing and takes the heap object.
    explicit heap_ptr(heap_type&& heap) noexcept(std::is_nothrow_move_constructible_v<heap_type>)
    requires(!stateless && !referring)
        : holder(std::move(heap)) {}
    /// Owning form: \effects takes ownership of p, a block of `heap` (or nullptr), and the heap.
    heap_ptr(T* p, heap_type&& heap) noexcept(std::is_nothrow_move_constructible_v<heap_type>)
    requires(!stateless && !referring)
        : holder(std::move(heap)), p_(p) {}

    /// \effects takes other's block (and, in the owning form, its heap); other holds nothing.
    heap_ptr(heap_ptr&& other) noexcept
        : holder(static_cast<holder&&>(other)), p_(std::exchange(other.p_, nullptr)) {}

    /// \effects frees the block held, then takes other's block and heap; other holds nothing.
    heap_ptr& operator=(heap_ptr&& other) noexcept {
        if (this != &other) {
            reset();
            holder::swap_heap(other);
            p_ = std::exchange(other.p_, nullptr);
        }
        return *this;
    }

    /// \effects frees the block held; heap_ptr p; p = nullptr; also.
    heap_ptr& operator=(std::nullptr_t) noexcept {
        reset();
        return *this;
    }

    heap_ptr(const heap_ptr&) = delete;
    heap_ptr& operator=(const heap_ptr&) = delete;

    /// \effects frees the block held.
    ~heap_ptr() { free_block(p_); }

    /// \returns the block held (nullptr if none); the owner keeps it.
    [[nodiscard]] constexpr T* get() const noexcept { return p_; }
    /// \returns whether a block is held.
    [[nodiscard]] constexpr explicit operator bool() const noexcept { return p_ != nullptr; }

    /// \returns the first element. \requires a block is held.
    template <class U = T>
    requires(!std::is_void_v<U>)
    [[nodiscard]] U& operator*() const noexcept {
        return *p_;
    }
    /// \returns the block held, as a pointer to its first element.
    template <class U = T>
    requires(!std::is_void_v<U>)
    [[nodiscard]] U* operator->() const noexcept {
        return p_;
    }
    /// \returns element i. \requires a block of more than i elements is held.
    template <class U = T>
    requires(!std::is_void_v<U>)
    [[nodiscard]] U& operator[](std::size_t i) const noexcept {
        return p_[i];
    }

    /// \returns the heap (a fresh H for stateless heaps, which are all the same heap).
    [[nodiscard]] decltype(auto) heap() const noexcept
    requires(stateless || referring)
    {
        return holder::get_heap();
    }
    /// \returns the heap held (owning form).
    [[nodiscard]] heap_type& heap() noexcept
    requires(!stateless && !referring)
    {
        return holder::get_heap();
    }
    /// \returns the heap held (owning form).
    [[nodiscard]] const heap_type& heap() const noexcept
    requires(!stateless && !referring)
    {
        return holder::get_heap();
    }

    /// \effects gives up the block without freeing it (to hand it to an API that frees it, as an
    /// out-parameter of a COM method returning CoTaskMem). \returns it; the owner holds nothing.
    [[nodiscard]] T* release() noexcept { return std::exchange(p_, nullptr); }

    /// \effects frees the block held and takes p (a block of this owner's heap, or nullptr).
    /// reset(get()) changes nothing (the block is not freed under its owner).
    void reset(T* p = nullptr) noexcept {
        if (p == p_)
            return;
        free_block(std::exchange(p_, p));
    }

    /// \effects frees the block held. \returns the address of the owner's pointer, now null, for an
    /// API that returns a block of this heap through a T** out-parameter:
    /// `StringFromCLSID(clsid, text.put())`. The owner takes whatever the API writes there.
    [[nodiscard]] T** put() noexcept {
        reset();
        return &p_;
    }

    /// \effects replaces the block held by a new block of n elements (n x sizeof(T) bytes,
    /// uninitialised), then frees the old one. \errors size_overflow if n x sizeof(T) overflows,
    /// and what the heap's allocate reports; on error the owner keeps its block.
    [[nodiscard]] result<void> allocate(std::size_t n) noexcept {
        auto bytes = checked_multiply(n, element_size);
        if (!bytes)
            return fail(bytes.error());
        return allocate_bytes(*bytes);
    }

    /// \effects as allocate, for a block of exactly `bytes` bytes (a structure with a trailing
    /// array: CHeapPtr::AllocateBytes).
    [[nodiscard]] result<void> allocate_bytes(std::size_t bytes) noexcept {
        auto block = heap_ref().allocate(bytes);
        if (!block)
            return fail(block.error());
        reset(static_cast<T*>(*block));
        return {};
    }

    /// \effects resizes the block held to n elements, moving it if the heap must, and keeping
    /// min(old, new) bytes; with no block held, allocates one. \errors size_overflow if
    /// n x sizeof(T) overflows, and what the heap's reallocate reports; on error the owner keeps
    /// its block, unchanged.
    [[nodiscard]] result<void> reallocate(std::size_t n) noexcept {
        auto bytes = checked_multiply(n, element_size);
        if (!bytes)
            return fail(bytes.error());
        return reallocate_bytes(*bytes);
    }

    /// \effects as reallocate, to exactly `bytes` bytes (CHeapPtr::ReallocateBytes).
    [[nodiscard]] result<void> reallocate_bytes(std::size_t bytes) noexcept {
        auto block = heap_ref().reallocate(p_, bytes);
        if (!block)
            return fail(block.error());
        p_ = static_cast<T*>(*block);
        return {};
    }

    /// \effects exchanges the blocks (and heaps) of a and b.
    friend void swap(heap_ptr& a, heap_ptr& b) noexcept {
        a.holder::swap_heap(b);
        std::swap(a.p_, b.p_);
    }

    /// \returns whether a holds no block.
    friend constexpr bool operator==(const heap_ptr& a, std::nullptr_t) noexcept {
        return a.p_ == nullptr;
    }

private:
    decltype(auto) heap_ref() noexcept {
        if constexpr (stateless)
            return holder::get_heap(); // a fresh H: all are the same heap
        else
            return static_cast<heap_type&>(holder::get_heap());
    }

    void free_block(T* p) noexcept {
        if (p == nullptr)
            return;
        auto freed = heap_ref().free(const_cast<std::remove_cv_t<T>*>(p));
        if (!freed) [[unlikely]]
            report_deallocation_error(heap_type::name, const_cast<std::remove_cv_t<T>*>(p),
                                      freed.error());
    }

    T* p_ = nullptr;
};

/// \returns an owner of a new block of heap holding one T constructed from args. `heap` decides
/// the form: an lvalue of a stateful heap is referred to (heap_ptr<T, H&>); a stateless heap, or
/// a stateful one moved in, is held (heap_ptr<T, H>). A failed allocation is retried as the
/// allocation failure handler says (retry_allocation).
/// \throws heap_error naming the heap and the size; what T's constructor throws (the block is
/// freed first).
///
/// Example usage:
/// \code
///   // heap_ptr<POINT, com_heap>
///   auto point = memmgr::allocate_unique<POINT>(memmgr::com_heap{}, 1, 2);
///   memmgr::win32_heap arena;
///   auto header = memmgr::allocate_unique<header_t>(arena); // heap_ptr<header_t, win32_heap&>
/// \endcode
template <class T, class Heap, class... Args>
requires heap<std::remove_cvref_t<Heap>> && (!std::is_void_v<T>)
[[nodiscard]] heap_ptr<T, detail::heap_ptr_heap_t<Heap>> allocate_unique(Heap&& heap,
                                                                         Args&&... args) {
    using owner = heap_ptr<T, detail::heap_ptr_heap_t<Heap>>;
    owner p(std::forward<Heap>(heap));
    auto grown =
        allocate_with_retry(owner::heap_type::name, sizeof(T), [&] { return p.allocate(1); });
    if (!grown)
        throw heap_error(owner::heap_type::name, sizeof(T), grown.error());
    // If T's constructor throws, p frees the block (T is trivially destructible: nothing to undo).
    ::new (static_cast<void*>(p.get())) T(std::forward<Args>(args)...);
    return p;
}

/// \returns an owner of a new block of heap holding n default-initialised T (for most raw-block
/// types: uninitialised, as std::make_unique_for_overwrite<T[]>(n)); the form as for
/// allocate_unique. \throws heap_error (size_overflow if n x sizeof(T) overflows); what T's
/// default constructor throws (the block is freed first).
///
/// Example usage:
/// \code
///   auto text = memmgr::allocate_unique_for_overwrite<wchar_t>(memmgr::com_heap{}, 40);
///   std::swprintf(text.get(), 40, L"%d items", count);     // then text.release() to a caller
/// \endcode
template <class T, class Heap>
requires heap<std::remove_cvref_t<Heap>> && (!std::is_void_v<T>)
[[nodiscard]] heap_ptr<T, detail::heap_ptr_heap_t<Heap>> allocate_unique_for_overwrite(
    Heap&& heap, std::size_t n) {
    using owner = heap_ptr<T, detail::heap_ptr_heap_t<Heap>>;
    owner p(std::forward<Heap>(heap));
    const auto bytes = checked_multiply(n, sizeof(T));
    auto grown =
        bytes ? allocate_with_retry(owner::heap_type::name, *bytes, [&] { return p.allocate(n); })
              : result<void>(fail(bytes.error()));
    if (!grown)
        throw heap_error(owner::heap_type::name, bytes.value_or(max_request_size), grown.error());
    std::uninitialized_default_construct_n(p.get(), n);
    return p;
}

} // namespace memmgr
