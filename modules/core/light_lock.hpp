// memmgr::detail::light_lock: the lock of memmgr's own bookkeeping (the POSIX private heap, the
// debug heap's books). Plain C++, not a module unit, so that the engine (plain C++ too) and module
// units include it alike; nothing here is exported.
//
// A futex-style lock on std::atomic's wait and notify (where they can be trusted: see below): 0
// free, 1 held, 2 held and perhaps waited for. Uncontended, lock is one compare-exchange and unlock
// one exchange, both inline, where std::mutex makes two calls into the C library (about 100
// instructions per lock and unlock on glibc, measured under callgrind). It meets BasicLockable, so
// std::lock_guard and std::unique_lock take it.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace memmgr::detail {

class light_lock {
public:
    void lock() noexcept {
        std::uint32_t expected = 0;
        if (!state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                            std::memory_order_relaxed))
            lock_contended();
    }
    /// \returns whether the lock was free and is now held by the caller; never waits.
    bool try_lock() noexcept {
        std::uint32_t expected = 0;
        return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                              std::memory_order_relaxed);
    }
    void unlock() noexcept {
        if (state_.exchange(0, std::memory_order_release) == 2)
            wake_one();
    }
    /// In the child of a fork(), whose only thread is the one that took the lock before forking:
    /// free again, without a wake (no thread of the child waits on it).
    void reset_after_fork() noexcept { state_.store(0, std::memory_order_relaxed); }

private:
    // libstdc++ on a system without a futex (MinGW-w64's, up to GCC 12 at least) waits on an
    // atomic with a condition variable and reads the value before it takes the condition's mutex:
    // a notify that comes between the two is lost, and the waiter may sleep forever (memmgr's
    // stress test hung on it under Wine, in std::latch). There the lock yields and retries
    // instead of sleeping: slower under contention, never stuck. Linux (a futex) and MSVC's
    // library (WaitOnAddress) do not have the problem.
#if defined(__GLIBCXX__) && !defined(_GLIBCXX_HAVE_PLATFORM_WAIT)
    static constexpr bool sleeps = false;
#else
    static constexpr bool sleeps = true;
#endif
    // Out of line, so that the callers' fast paths stay small.
    [[gnu::noinline]] void wake_one() noexcept {
        if constexpr (sleeps)
            state_.notify_one();
    }
    [[gnu::noinline]] void lock_contended() noexcept {
        // Whoever takes the lock from here on marks it waited for, so that its unlock wakes the
        // next sleeper. std::atomic::wait spins briefly before it sleeps.
        while (state_.exchange(2, std::memory_order_acquire) != 0) {
            if constexpr (sleeps)
                state_.wait(2, std::memory_order_relaxed);
            else
                std::this_thread::yield();
        }
    }
    std::atomic<std::uint32_t> state_{0};
};

} // namespace memmgr::detail
