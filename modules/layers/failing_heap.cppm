// memmgr:failing_heap: fault injection over any heap, for proving exception safety.
module;
#include <cstddef>
#include <mutex>
#include <optional>
#include <type_traits>

export module memmgr:failing_heap;

import :errors;
import :concepts;
import :decorator;

export namespace memmgr {

/// A heap that fails on demand (as BDE's bslma::TestAllocator): the allocation after N more
/// successful ones (fail_after), or every allocation that would take the bytes in use past a
/// budget (fail_past_bytes). Injected failures read errc::out_of_memory (fail_after) or
/// errc::heap_full (budget); everything else is the heap beneath's. Reallocations count as
/// allocations. Bytes in use are counted with the heap's own size() before a block goes and after
/// it comes, so they match what that heap reports.
///
/// Its bookkeeping takes a mutex: a failing_heap over a thread-safe heap is thread-safe. It is
/// named "failing_heap<inner>" and forwards size, owns, validate and walk (heap_decorator).
///
/// Example usage:
/// \code
///   memmgr::failing_heap<memmgr::crt_heap> heap;
///   for (std::size_t k = 0;; ++k) {          // fail every allocation in turn
///       heap.fail_after(k);
///       try { run_workload(heap); break; } catch (const std::bad_alloc&) { check_invariants(); }
///   }
/// \endcode
template <class H>
requires heap<std::remove_cvref_t<H>>
class failing_heap : public heap_decorator<"failing_heap", H, thread_safety::always> {
    using skeleton = heap_decorator<"failing_heap", H, thread_safety::always>;

public:
    /// \effects a failing heap over a heap made from args (or referring to the heap given when H
    /// is a reference), injecting no failure until told to.
    using skeleton::skeleton;

    /// \returns base().allocate(n), or the injected failure.
    [[nodiscard]] result<void*> allocate(std::size_t n) noexcept {
        std::lock_guard lock(mutex_);
        if (auto refused = inject(n))
            return fail(*refused);
        auto p = this->base().allocate(n);
        if (p) {
            in_use_ += size_of(*p);
            succeeded();
        }
        return p;
    }

    /// \returns base().free(p).
    result<void> free(void* p) noexcept {
        std::lock_guard lock(mutex_);
        const std::size_t n = p != nullptr ? size_of(p) : 0;
        auto freed = this->base().free(p);
        if (freed)
            in_use_ -= n;
        return freed;
    }

    /// \returns base().reallocate(p, n), or the injected failure (p then untouched).
    [[nodiscard]] result<void*> reallocate(void* p, std::size_t n) noexcept {
        if (p == nullptr)
            return allocate(n);
        std::lock_guard lock(mutex_);
        const std::size_t old = size_of(p);
        if (auto refused = inject(n > old ? n - old : 0))
            return fail(*refused);
        auto q = this->base().reallocate(p, n);
        if (q) {
            in_use_ = in_use_ - old + size_of(*q);
            succeeded();
        }
        return q;
    }

    /// \effects the allocation after `successes` more successful ones fails (0: the next one).
    void fail_after(std::size_t successes) noexcept {
        std::lock_guard lock(mutex_);
        countdown_ = successes;
    }
    /// \effects every allocation that would take the bytes in use past `budget` fails.
    void fail_past_bytes(std::size_t budget) noexcept {
        std::lock_guard lock(mutex_);
        budget_ = budget;
    }
    /// \effects no more injected failures.
    void never_fail() noexcept {
        std::lock_guard lock(mutex_);
        countdown_.reset();
        budget_.reset();
    }
    /// \returns how many failures were injected so far.
    [[nodiscard]] std::size_t injected() const noexcept {
        std::lock_guard lock(mutex_);
        return injected_;
    }
    /// \returns the bytes in use, as the heap beneath counts them.
    [[nodiscard]] std::size_t bytes_in_use() const noexcept {
        std::lock_guard lock(mutex_);
        return in_use_;
    }

private:
    // Only successes count down: a request the heap beneath (or the budget) refuses is no step.
    std::optional<errc> inject(std::size_t growth) noexcept {
        if (countdown_ && *countdown_ == 0) {
            countdown_.reset();
            ++injected_;
            return errc::out_of_memory;
        }
        if (budget_ && (growth > *budget_ || in_use_ > *budget_ - growth)) {
            ++injected_;
            return errc::heap_full;
        }
        return std::nullopt;
    }
    void succeeded() noexcept {
        if (countdown_)
            --*countdown_;
    }
    std::size_t size_of(const void* p) const noexcept { return this->base().size(p).value_or(0); }

    mutable std::mutex mutex_;
    std::optional<std::size_t> countdown_;
    std::optional<std::size_t> budget_;
    std::size_t injected_ = 0;
    std::size_t in_use_ = 0;
};

} // namespace memmgr
