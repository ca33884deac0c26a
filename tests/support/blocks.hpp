// Helpers shared by the heap tests: byte patterns that tell blocks apart (pattern.hpp), alignment
// checks, and the leg a test runs on. Included after Boost.Test and before `import memmgr;`.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstddef>
#include <cstdint>

#include "pattern.hpp"

namespace memmgr_test {

#if defined(_WIN32)
inline constexpr bool on_windows = true;
#else
inline constexpr bool on_windows = false;
#endif

inline bool aligned(const void* p, std::size_t alignment) {
    return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

// \returns v, in a way the compiler cannot see through: for passing deliberately bad constants
// (an alignment of 3) without a compile-time warning.
inline std::size_t opaque(std::size_t v) {
    volatile std::size_t copy = v;
    return copy;
}

// \returns true if r failed with the error `expected`; otherwise says what happened instead.
template <class Result, class Error>
boost::test_tools::assertion_result fails_with(const Result& r, Error expected) {
    boost::test_tools::assertion_result verdict(false);
    if (r.has_value())
        verdict.message() << "succeeded instead of failing with " << expected;
    else if (r.error() != expected)
        verdict.message() << "failed with " << r.error() << " instead of " << expected;
    else
        return true;
    return verdict;
}

} // namespace memmgr_test
