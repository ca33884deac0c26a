// memmgr:counting_heap: statistics on any heap.
module;
#include <atomic>
#include <cstddef>
#include <type_traits>

export module memmgr:counting_heap;

import :errors;
import :concepts;
import :decorator;

export namespace memmgr {

/// What a counting_heap has seen.
struct allocation_statistics {
    std::size_t blocks_in_use = 0;
    std::size_t bytes_in_use = 0; ///< as the heap's size() counts them
    std::size_t peak_blocks = 0;
    std::size_t peak_bytes = 0;
    std::size_t allocations = 0; ///< successful allocations, reallocations that moved included
    std::size_t frees = 0;
    std::size_t failures = 0; ///< allocations and reallocations that failed

    friend bool operator==(const allocation_statistics&, const allocation_statistics&) = default;
};

/// Counts blocks and bytes in use, their peaks, allocations, frees and failures on the heap H. The
/// counters are atomic: a counting_heap over a thread-safe heap is thread-safe (peaks are then
/// exact per update, though a snapshot taken during concurrent use mixes moments). It is named
/// "counting_heap<inner>" and forwards size, owns, validate and walk (heap_decorator).
///
/// Example usage:
/// \code
///   memmgr::counting_heap<memmgr::com_heap> heap;
///   run(heap);
///   auto s = heap.statistics();   // s.peak_bytes, s.peak_blocks, s.allocations...
/// \endcode
template <class H>
requires heap<std::remove_cvref_t<H>>
class counting_heap : public heap_decorator<"counting_heap", H, thread_safety::always> {
    using skeleton = heap_decorator<"counting_heap", H, thread_safety::always>;

public:
    /// \effects a counting heap over a heap made from args (or referring to the heap given when H
    /// is a reference), every count at zero.
    using skeleton::skeleton;

    /// \returns base().allocate(n), counted.
    [[nodiscard]] result<void*> allocate(std::size_t n) noexcept {
        auto p = this->base().allocate(n);
        if (p)
            gained(*p);
        else
            failures_.fetch_add(1, std::memory_order_relaxed);
        return p;
    }

    /// \returns base().free(p), counted when it succeeds.
    result<void> free(void* p) noexcept {
        if (p == nullptr)
            return {};
        const std::size_t n = this->base().size(p).value_or(0);
        auto freed = this->base().free(p);
        if (freed) {
            blocks_.fetch_sub(1, std::memory_order_relaxed);
            bytes_.fetch_sub(n, std::memory_order_relaxed);
            frees_.fetch_add(1, std::memory_order_relaxed);
        }
        return freed;
    }

    /// \returns base().reallocate(p, n), counted (a block that moved as a free and an allocation).
    [[nodiscard]] result<void*> reallocate(void* p, std::size_t n) noexcept {
        if (p == nullptr)
            return allocate(n);
        const std::size_t old = this->base().size(p).value_or(0);
        auto q = this->base().reallocate(p, n);
        if (!q) {
            failures_.fetch_add(1, std::memory_order_relaxed);
            return q;
        }
        bytes_.fetch_sub(old, std::memory_order_relaxed);
        blocks_.fetch_sub(1, std::memory_order_relaxed);
        if (*q != p)
            frees_.fetch_add(1, std::memory_order_relaxed);
        else
            allocations_.fetch_sub(1, std::memory_order_relaxed); // resized, not a new block
        gained(*q);
        return q;
    }

    /// \returns the counts so far.
    [[nodiscard]] allocation_statistics statistics() const noexcept {
        return {blocks_.load(),      bytes_.load(), peak_blocks_.load(), peak_bytes_.load(),
                allocations_.load(), frees_.load(), failures_.load()};
    }

private:
    void gained(const void* p) noexcept {
        const std::size_t n = this->base().size(p).value_or(0);
        const std::size_t blocks = blocks_.fetch_add(1, std::memory_order_relaxed) + 1;
        const std::size_t bytes = bytes_.fetch_add(n, std::memory_order_relaxed) + n;
        allocations_.fetch_add(1, std::memory_order_relaxed);
        raise(peak_blocks_, blocks);
        raise(peak_bytes_, bytes);
    }
    static void raise(std::atomic<std::size_t>& peak, std::size_t value) noexcept {
        std::size_t seen = peak.load(std::memory_order_relaxed);
        while (seen < value &&
               !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
        }
    }

    std::atomic<std::size_t> blocks_{0}, bytes_{0}, peak_blocks_{0}, peak_bytes_{0};
    std::atomic<std::size_t> allocations_{0}, frees_{0}, failures_{0};
};

} // namespace memmgr
