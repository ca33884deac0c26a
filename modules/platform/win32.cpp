// The Windows platform layer: the real Win32, COM and CRT calls. Only this file (and its siblings
// under platform/ for Windows) includes <windows.h>; nothing it declares is exported.
module;
#define WIN32_LEAN_AND_MEAN
#define NOMINMAX
#include <windows.h>

#include <cstddef>
#include <cstdlib>
#include <malloc.h>

module memmgr;

namespace memmgr::detail::os {

void* crt_allocate(std::size_t n) noexcept { return std::malloc(n); }

void* crt_allocate_zeroed(std::size_t count, std::size_t size) noexcept {
    return std::calloc(count, size);
}

void* crt_reallocate(void* p, std::size_t n) noexcept { return std::realloc(p, n); }

void crt_free(void* p) noexcept { std::free(p); }

std::size_t crt_size(const void* p) noexcept {
    // _msize takes a non-const pointer but only reads the block's header. It reports the size
    // asked for, exactly.
    return ::_msize(const_cast<void*>(p));
}

} // namespace memmgr::detail::os
