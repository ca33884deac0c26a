// memmgr:failing_heap: fault injection over any heap, for proving exception safety.
module;
#include <cstddef>
#include <mutex>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

export module memmgr:failing_heap;

import :errors;
import :concepts;

export namespace memmgr {

/// A heap that fails on demand (as BDE's bslma::TestAllocator): the allocation after N more
/// successful ones (fail_after), or every allocation that would take the bytes in use past a
/// budget (fail_past_bytes). Injected failures read errc::out_of_memory (fail_after) or
/// errc::heap_full (budget); everything else is the heap beneath's. Reallocations count as
/// allocations. Bytes in use are counted with the heap's own size() before a block goes and after
/// it comes, so they match what that heap reports.
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
class failing_heap {
    using base_type = std::remove_cvref_t<H>;

public:
    static constexpr std::string_view name = base_type::name;
    static constexpr std::size_t guaranteed_alignment = guaranteed_alignment_v<base_type>;

    template <class... Args>
        requires std::is_constructible_v<H, Args&&...>
    explicit failing_heap(Args&&... args) : base_(std::forward<Args>(args)...) {}

    [[nodiscard]] result<void*> allocate(std::size_t n) noexcept {
        std::lock_guard lock(mutex_);
        if (auto refused = inject(n))
            return fail(*refused);
        auto p = base_.allocate(n);
        if (p) {
            in_use_ += size_of(*p);
            succeeded();
        }
        return p;
    }

    result<void> free(void* p) noexcept {
        std::lock_guard lock(mutex_);
        const std::size_t n = p != nullptr ? size_of(p) : 0;
        auto freed = base_.free(p);
        if (freed)
            in_use_ -= n;
        return freed;
    }

    [[nodiscard]] result<std::size_t> size(const void* p) const noexcept { return base_.size(p); }

    [[nodiscard]] result<void*> reallocate(void* p, std::size_t n) noexcept {
        if (p == nullptr)
            return allocate(n);
        std::lock_guard lock(mutex_);
        const std::size_t old = size_of(p);
        if (auto refused = inject(n > old ? n - old : 0))
            return fail(*refused);
        auto q = base_.reallocate(p, n);
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
    [[nodiscard]] base_type& base() noexcept { return base_; }

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
    std::size_t size_of(const void* p) const noexcept { return base_.size(p).value_or(0); }

    H base_;
    mutable std::mutex mutex_;
    std::optional<std::size_t> countdown_;
    std::optional<std::size_t> budget_;
    std::size_t injected_ = 0;
    std::size_t in_use_ = 0;
};

} // namespace memmgr
