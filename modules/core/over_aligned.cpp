// memmgr:over_aligned, the bodies: the process's key.
module;
#include <cstdint>

// The cycle counter adds a little entropy to the process's key where the compiler offers it
// (clang); elsewhere the key rests on the addresses alone.
#if defined(__has_builtin)
#if __has_builtin(__builtin_readcyclecounter)
#define MEMMGR_CYCLE_COUNT() static_cast<std::uint64_t>(__builtin_readcyclecounter())
#endif
#endif
#ifndef MEMMGR_CYCLE_COUNT
#define MEMMGR_CYCLE_COUNT() std::uint64_t{0}
#endif

module memmgr;

import :over_aligned;

namespace memmgr::detail {

std::uintptr_t over_aligned_secret() noexcept {
    static const std::uintptr_t secret = [] {
        int local = 0;
        std::uint64_t x = MEMMGR_CYCLE_COUNT();
        x ^= reinterpret_cast<std::uintptr_t>(&local) * 0x9E3779B97F4A7C15u;
        x ^= reinterpret_cast<std::uintptr_t>(&over_aligned_secret) * 0xC2B2AE3D27D4EB4Fu;
        // splitmix64's finalizer: every input bit reaches every output bit.
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
        x ^= x >> 31;
        return static_cast<std::uintptr_t>(x | 1u);
    }();
    return secret;
}

} // namespace memmgr::detail
