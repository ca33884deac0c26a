// memmgr:testing: the few internals memmgr's own tests and fuzzers reach for, under one clearly
// named namespace, so that nothing in memmgr::detail has to be exported for them.
//
// Not part of the API: no stability is promised, and a program has no reason to name it.
module;
#include <cstddef>

export module memmgr:testing;

import :concepts;
import :pointer_map;
import :over_aligned;
import :platform;
import :debug_heap;

export namespace memmgr::testing {

/// The open-addressing pointer map the heaps keep their bookkeeping in (tests/pointer_map).
template <class Value>
using pointer_map = detail::pointer_map<Value>;

/// \returns the block heap H handed out behind p, a pointer an adapter returned for `alignment`
/// (p itself when H guarantees that alignment). The word before p is read: p must be live.
template <heap H>
[[nodiscard]] void* heap_block_of(void* p, std::size_t alignment) noexcept {
    return detail::heap_block_of<H>(p, alignment);
}

/// debug_heap's guard and quarantine scans: \returns the offset of the first (last) byte of
/// [p, p + n) that is not v, or n if there is none.
[[nodiscard]] inline std::size_t first_byte_not(const unsigned char* p, std::size_t n,
                                                unsigned char v) noexcept {
    return detail::first_byte_not(p, n, v);
}
[[nodiscard]] inline std::size_t last_byte_not(const unsigned char* p, std::size_t n,
                                               unsigned char v) noexcept {
    return detail::last_byte_not(p, n, v);
}

#ifndef _WIN32
/// POSIX only: the live blocks of the process heap under com_heap, local_heap, global_heap and
/// every BSTR, for leak checks.
[[nodiscard]] inline std::size_t process_heap_blocks_in_use() noexcept {
    return detail::os::process_heap_blocks_in_use();
}

/// POSIX only, for failure sweeps: after `successes` more allocations of that process heap, every
/// one fails with errc::out_of_memory until this is called again; SIZE_MAX lifts it.
/// Process-wide: meant for a single-threaded test.
inline void process_heap_fail_after(std::size_t successes) noexcept {
    detail::os::process_heap_fail_after(successes);
}
#endif

} // namespace memmgr::testing
