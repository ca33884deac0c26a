// memmgr:platform: the only door to the operating system.
//
// This partition is internal (memmgr.cppm imports it without re-exporting it). It declares, with
// no OS type in sight, the primitive operations the heaps are built on; exactly one implementation
// unit defines them: modules/platform/win32.cpp on Windows (the real Win32/COM/CRT calls) and
// modules/platform/posix.cpp elsewhere (portable backends with Windows semantics). Every function
// is noexcept and reports failure by a null pointer or a false value; the heaps turn that into
// errc values.
module;
#include <cstddef>

export module memmgr:platform;

namespace memmgr::detail::os {

// --- the C runtime's heap (crt_heap) -------------------------------------------------------------
// Windows: malloc/free/realloc/calloc and _msize from the CRT. POSIX: the same calls and
// malloc_usable_size.
void* crt_allocate(std::size_t n) noexcept;
void* crt_allocate_zeroed(std::size_t count, std::size_t size) noexcept;
void* crt_reallocate(void* p, std::size_t n) noexcept; // n > 0; null on failure, p untouched
void crt_free(void* p) noexcept;
std::size_t crt_size(const void* p) noexcept;          // p non-null
inline constexpr std::size_t crt_alignment = 16;       // x86_64: MSVCRT and glibc alike

} // namespace memmgr::detail::os
