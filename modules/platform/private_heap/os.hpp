// The private heap engine's OS layer: pages from mmap, secrets from the kernel, the heap lock,
// and whether the process has ever had a second thread. Internal to the engine.
#pragma once

#include <sys/mman.h>
#include <sys/random.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "../../core/light_lock.hpp"

#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define MEMMGR_HAS_SINGLE_THREADED 1
#endif

namespace memmgr::detail::posix {

/// \returns length bytes of fresh pages, at `hint` if that range is free (a hint only: the kernel
/// may place them anywhere), or nullptr.
inline void* map_pages(std::size_t length, std::uintptr_t hint = 0) noexcept {
    void* p = ::mmap(reinterpret_cast<void*>(hint), length, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

inline void unmap_pages(std::uintptr_t base, std::size_t length) noexcept {
    ::munmap(reinterpret_cast<void*>(base), length);
}

inline std::uint64_t mix(std::uint64_t x) noexcept { // splitmix64's finaliser
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/// \returns 64 bits drawn by the kernel (getrandom), each call its own: a heap's secrets, which
/// nothing else of the heap reveals. Where the kernel does not answer at once (early boot, a
/// seccomp filter), the bits come from the clock, salt and a process-wide count, mixed: still
/// different for every heap, but guessable.
inline std::uint64_t secret(std::uint64_t salt) noexcept {
    std::uint64_t bits = 0;
    if (::getrandom(&bits, sizeof bits, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof bits))
        return bits;
    static std::atomic<std::uint64_t> drawn{0};
    return mix(
        salt ^
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (drawn.fetch_add(1, std::memory_order_relaxed) << 48));
}

/// The heap lock: memmgr's futex-style lock (modules/core/light_lock.hpp), shared with the debug
/// heap's books.
using heap_lock = detail::light_lock;

/// \returns true while the process has never had a second thread (glibc's own malloc and mutexes
/// skip their atomics then too). Once false it stays false, and a thread can only be started by
/// the one running, so no heap operation can be under way elsewhere while this is true.
inline bool only_thread() noexcept {
#ifdef MEMMGR_HAS_SINGLE_THREADED
    return __libc_single_threaded != 0;
#else
    return false;
#endif
}

} // namespace memmgr::detail::posix
