// Byte patterns that tell blocks apart: fill a block with a pattern chosen by a seed, check later
// that it is still there. Plain C++ without Boost, so that the fuzz harnesses (fuzz/) use the same
// patterns as the tests.
#pragma once

#include <cstddef>

namespace memmgr_test {

// A pattern that differs per seed and per offset, so that a block overwritten by another, or moved
// without its contents, is noticed.
inline unsigned char pattern(unsigned char seed, std::size_t i) {
    return static_cast<unsigned char>(seed + i * 7 + (i >> 8));
}

inline void fill(void* p, std::size_t n, unsigned char seed) {
    auto* bytes = static_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        bytes[i] = pattern(seed, i);
}

inline bool filled(const void* p, std::size_t n, unsigned char seed) {
    const auto* bytes = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (bytes[i] != pattern(seed, i))
            return false;
    return true;
}

inline bool all_zero(const void* p, std::size_t n) {
    const auto* bytes = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i)
        if (bytes[i] != 0)
            return false;
    return true;
}

} // namespace memmgr_test
