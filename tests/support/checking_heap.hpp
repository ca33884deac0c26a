// The checking test heap shared by every test: a heap that wraps another and records what passes
// through it (live blocks with their exact sizes, counts, alignment), reports leaks, refuses
// pointers it did not hand out, and fails on demand through memmgr::failing_heap (the Nth
// allocation from now, or every allocation past a byte budget), as BDE's bslma::TestAllocator does
// for exception-safety tests.
//
// Include it after `import memmgr;`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <string_view>

namespace memmgr_test {

template <memmgr::heap Inner = memmgr::crt_heap>
class checking_heap {
public:
    static constexpr std::string_view name = "checking_heap";
    static constexpr std::size_t guaranteed_alignment = memmgr::guaranteed_alignment_v<Inner>;

    checking_heap() = default;
    checking_heap(const checking_heap&) = delete;
    checking_heap& operator=(const checking_heap&) = delete;
    ~checking_heap() {
        for (auto& [p, n] : live_)
            (void)inner_.free(p);
    }

    memmgr::result<void*> allocate(std::size_t n) noexcept {
        auto p = inner_.allocate(n);
        if (p)
            record(*p, n);
        return p;
    }

    memmgr::result<void> free(void* p) noexcept {
        if (p == nullptr)
            return {};
        auto it = live_.find(p);
        if (it == live_.end()) {
            ++refused_frees_;
            return memmgr::fail(memmgr::errc::foreign_block);
        }
        live_bytes_ -= it->second;
        live_.erase(it);
        ++frees_;
        return inner_.free(p);
    }

    memmgr::result<std::size_t> size(const void* p) const noexcept {
        auto it = live_.find(const_cast<void*>(p));
        if (it == live_.end())
            return memmgr::fail(p == nullptr ? memmgr::errc::null_pointer
                                             : memmgr::errc::foreign_block);
        return it->second;
    }

    memmgr::result<void*> reallocate(void* p, std::size_t n) noexcept {
        if (p == nullptr)
            return allocate(n);
        auto it = live_.find(p);
        if (it == live_.end())
            return memmgr::fail(memmgr::errc::foreign_block);
        auto q = inner_.reallocate(p, n);
        if (q) {
            live_bytes_ -= it->second;
            live_.erase(it);
            record(*q, n);
        }
        return q;
    }

    // --- failure injection (memmgr::failing_heap) ---
    void fail_after(std::size_t successes) noexcept { inner_.fail_after(successes); }
    void fail_past_bytes(std::size_t budget) noexcept { inner_.fail_past_bytes(budget); }
    void never_fail() noexcept { inner_.never_fail(); }

    // --- what was seen ---
    [[nodiscard]] std::size_t live_blocks() const noexcept { return live_.size(); }
    [[nodiscard]] std::size_t live_bytes() const noexcept { return live_bytes_; }
    [[nodiscard]] std::size_t allocations() const noexcept { return allocations_; }
    [[nodiscard]] std::size_t frees() const noexcept { return frees_; }
    [[nodiscard]] std::size_t injected_failures() const noexcept { return inner_.injected(); }
    [[nodiscard]] std::size_t refused_frees() const noexcept { return refused_frees_; }
    [[nodiscard]] std::size_t misaligned_blocks() const noexcept { return misaligned_; }
    [[nodiscard]] bool owns(const void* p) const noexcept {
        return live_.contains(const_cast<void*>(p));
    }
    [[nodiscard]] bool leak_free() const noexcept { return live_.empty(); }

private:
    void record(void* p, std::size_t n) noexcept {
        try {
            live_.emplace(p, n);
        } catch (...) {
            // The test's own bookkeeping ran out of memory: nothing sensible is left to check.
            std::terminate();
        }
        live_bytes_ += n;
        ++allocations_;
        if (reinterpret_cast<std::uintptr_t>(p) % guaranteed_alignment != 0)
            ++misaligned_;
    }

    memmgr::failing_heap<Inner> inner_;
    std::map<void*, std::size_t> live_;
    std::size_t live_bytes_ = 0;
    std::size_t allocations_ = 0;
    std::size_t frees_ = 0;
    std::size_t refused_frees_ = 0;
    std::size_t misaligned_ = 0;
};

} // namespace memmgr_test
