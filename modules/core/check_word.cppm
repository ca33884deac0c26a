// memmgr:check_word (internal): the keyed check words memmgr keeps next to the words it must
// follow later (a block's size, where a heap block really starts), so that a word an underrun or a
// foreign pointer's neighbourhood rewrote is found before it is trusted.
//
// A check word mixes the place it guards, the words it covers and a per-process key. The key comes
// from addresses that ASLR places anew in each process and, where the compiler has one, the cycle
// counter at first use: ordinary data, which never saw the key, passes a check with a chance of
// about 2^-64. The key is not a defence against code that can read the process's memory (it is in
// memory); it makes the checks independent of what a program happens to store.
//
// Used by the over-aligned slot (:over_aligned), resource_heap's header, crt_heap's aligned header
// and the POSIX com/local/global block header.
module;
#include <cstdint>

// The cycle counter adds a little entropy to the key where the compiler offers it (clang);
// elsewhere the key rests on the addresses alone.
#if defined(__has_builtin)
#if __has_builtin(__builtin_readcyclecounter)
#define MEMMGR_CYCLE_COUNT() static_cast<std::uint64_t>(__builtin_readcyclecounter())
#endif
#endif
#ifndef MEMMGR_CYCLE_COUNT
#define MEMMGR_CYCLE_COUNT() std::uint64_t{0}
#endif

export module memmgr:check_word;

namespace memmgr::detail {

// Both stay inline: the adapters' templates, instantiated in the importer's code, call them on
// every over-aligned allocation and free, and resource_heap on every operation (the key's guard
// check is cheaper than a call).

/// \returns splitmix64's finalizer of x: every bit of x reaches every bit of the result.
constexpr std::uint64_t mix_bits(std::uint64_t x) noexcept {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

/// \returns this process's key (odd, so never zero), chosen at first use.
inline std::uintptr_t process_key() noexcept {
    static const std::uintptr_t key = [] {
        int local = 0;
        std::uint64_t x = MEMMGR_CYCLE_COUNT();
        x ^= reinterpret_cast<std::uintptr_t>(&local) * 0x9E3779B97F4A7C15u;
        x ^= reinterpret_cast<std::uintptr_t>(&process_key) * 0xC2B2AE3D27D4EB4Fu;
        return static_cast<std::uintptr_t>(mix_bits(x) | 1u);
    }();
    return key;
}

/// \returns the check word of `first` and `second` kept at (or for) the address `where`: a
/// different place, a different word or a different process gives a different check word (all
/// but certainly).
inline std::uint64_t check_word(const void* where, std::uint64_t first,
                                std::uint64_t second = 0) noexcept {
    const std::uint64_t x = (first * 0x9E3779B97F4A7C15u) ^ (second * 0xD6E8FEB86659FD93u) ^
                            reinterpret_cast<std::uintptr_t>(where) ^ process_key();
    return mix_bits(x);
}

} // namespace memmgr::detail
