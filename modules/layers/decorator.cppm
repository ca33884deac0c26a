// memmgr:decorator: the skeleton every layer over a heap shares (debug_heap, failing_heap,
// counting_heap, and any a program writes), so that what a layer forwards, how thread-safe it
// says it is and what it calls itself are decided once and cannot drift apart between layers.
module;
#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

export module memmgr:decorator;

import :errors;
import :concepts;

namespace memmgr::detail {

// A layer's name as a template argument: a string literal, held by value so that it can be one.
template <std::size_t N>
struct layer_name {
    char text[N];
    consteval layer_name(const char (&s)[N]) { std::copy_n(s, N, text); }
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {text, N - 1}; }
};

// The heap concept asks only that H::name convert to a string_view; a name known at compile time
// can be spelled into the layer's, another (a user heap's run-time name) cannot.
template <class H>
concept constant_name =
    requires { typename std::integral_constant<std::size_t, std::string_view(H::name).size()>; };

// "layer<inner>", spelled once per layer and heap, in static storage: heap_error and the
// deallocation handler keep the view.
template <layer_name Layer, class H>
inline constexpr auto spelled_name = [] {
    constexpr std::string_view inner = H::name;
    std::array<char, Layer.view().size() + inner.size() + 2> text{};
    auto out = std::ranges::copy(Layer.view(), text.begin()).out;
    *out++ = '<';
    out = std::ranges::copy(inner, out).out;
    *out = '>';
    return text;
}();

template <layer_name Layer, class H>
constexpr std::string_view composed_name() noexcept {
    if constexpr (constant_name<H>)
        return {spelled_name<Layer, H>.data(), spelled_name<Layer, H>.size()};
    else
        return Layer.view();
}

// A heap without a `threading` member says nothing, which counts as not thread-safe (as
// thread_safe_heap reads it).
template <class H>
constexpr thread_safety threading_of() noexcept {
    if constexpr (requires { H::threading; })
        return H::threading;
    else
        return thread_safety::never;
}

// The weaker of two: a layer is no safer than the heap beneath it, nor than its own state.
constexpr thread_safety weaker(thread_safety a, thread_safety b) noexcept {
    if (a == thread_safety::never || b == thread_safety::never)
        return thread_safety::never;
    if (a == thread_safety::per_object || b == thread_safety::per_object)
        return thread_safety::per_object;
    return thread_safety::always;
}

} // namespace memmgr::detail

export namespace memmgr {

/// The skeleton of a layer over the heap H (a heap type, owned, or a reference to one that lives
/// elsewhere): a layer derives from it, names itself and says how its own state may be shared,
/// and writes only what it adds. It supplies:
/// - `name`: "Layer<inner name>", e.g. "failing_heap<crt_heap>" (Layer alone when the inner
///   heap's name is not known at compile time);
/// - `guaranteed_alignment`: the inner heap's;
/// - `threading`: the weaker of the inner heap's and `OwnState` (how the layer's own bookkeeping
///   may be shared: thread_safety::always for a mutex or atomics, never for plain members);
/// - `base()`: the inner heap;
/// - allocate, free, size and reallocate, forwarded; and where the inner heap has them, owns,
///   validate and walk, forwarded.
///
/// A layer hides (redeclares) what it changes. Everything forwarded answers for the inner heap's
/// blocks: a layer whose blocks are not the inner heap's (debug_heap puts a header in front) must
/// hide every forwarded operation. The other refinements (allocate_zeroed, resize_in_place, the
/// aligned family, compact, release_all) are not forwarded, as they would bypass the layer.
///
/// Example usage (a layer that counts frees, tests/decorator.test.cpp):
/// \code
///   template <class H>
///   class free_counter
///       : public memmgr::heap_decorator<"free_counter", H, memmgr::thread_safety::always> {
///   public:
///       using free_counter::heap_decorator::heap_decorator; // its constructors
///       memmgr::result<void> free(void* p) noexcept {
///           frees.fetch_add(1, std::memory_order_relaxed);
///           return this->base().free(p);
///       }
///       std::atomic<std::size_t> frees{0};
///   };
///   static_assert(memmgr::thread_safe_heap<free_counter<memmgr::crt_heap>>);
///   static_assert(free_counter<memmgr::crt_heap>::name == "free_counter<crt_heap>");
/// \endcode
template <detail::layer_name Layer, class H, thread_safety OwnState>
requires heap<std::remove_cvref_t<H>>
class heap_decorator {
public:
    /// The inner heap's type (H without reference or cv-qualifiers).
    using base_type = std::remove_cvref_t<H>;

    /// "Layer<inner name>" (Layer alone when the inner heap's name is not a constant).
    static constexpr std::string_view name = detail::composed_name<Layer, base_type>();
    /// The inner heap's: a layer hands out the inner heap's blocks, or keeps their alignment.
    static constexpr std::size_t guaranteed_alignment = guaranteed_alignment_v<base_type>;
    /// The weaker of the inner heap's threading and OwnState.
    static constexpr thread_safety threading =
        detail::weaker(detail::threading_of<base_type>(), OwnState);

    /// \effects constructs the inner heap from args (or refers to the heap given, when H is a
    /// reference). A layer takes this constructor with `using`, or calls it from its own.
    template <class... Args>
    requires std::is_constructible_v<H, Args&&...>
    explicit heap_decorator(Args&&... args) noexcept(std::is_nothrow_constructible_v<H, Args&&...>)
        : base_(std::forward<Args>(args)...) {}

    /// \returns the inner heap.
    [[nodiscard]] base_type& base() noexcept { return base_; }
    /// \returns the inner heap.
    [[nodiscard]] const base_type& base() const noexcept { return base_; }

    /// \returns base().allocate(n).
    [[nodiscard]] result<void*> allocate(std::size_t n) noexcept { return base_.allocate(n); }
    /// \returns base().free(p).
    result<void> free(void* p) noexcept { return base_.free(p); }
    /// \returns base().size(p).
    [[nodiscard]] result<std::size_t> size(const void* p) const noexcept { return base_.size(p); }
    /// \returns base().reallocate(p, n).
    [[nodiscard]] result<void*> reallocate(void* p, std::size_t n) noexcept {
        return base_.reallocate(p, n);
    }

    /// \returns base().owns(p). Only where the inner heap models validating_heap.
    [[nodiscard]] bool owns(const void* p) const noexcept
    requires validating_heap<base_type>
    {
        return base_.owns(p);
    }
    /// \returns base().validate(). Only where the inner heap models validating_heap.
    [[nodiscard]] result<void> validate() const noexcept
    requires validating_heap<base_type>
    {
        return base_.validate();
    }
    /// \returns base().validate(p). Only where the inner heap models validating_heap.
    [[nodiscard]] result<void> validate(const void* p) const noexcept
    requires validating_heap<base_type>
    {
        return base_.validate(p);
    }
    /// \returns base().walk(). Only where the inner heap models walkable_heap.
    [[nodiscard]] result<std::vector<heap_entry>> walk() const noexcept(noexcept(base_.walk()))
    requires walkable_heap<base_type>
    {
        return base_.walk();
    }

protected:
    // A layer is destroyed (and copied or moved) as what it is, never as its skeleton. Copies and
    // moves are the inner heap's (a layer over win32_heap may move if its own members can).
    ~heap_decorator() = default;
    heap_decorator(const heap_decorator&) = default;
    heap_decorator(heap_decorator&&) = default;
    heap_decorator& operator=(const heap_decorator&) = default;
    heap_decorator& operator=(heap_decorator&&) = default;

private:
    H base_;
};

} // namespace memmgr
