// The POSIX platform layer: portable backends that keep the Windows semantics documented on each
// heap. Only this file (and its siblings under platform/ for POSIX) names POSIX or glibc APIs.
module;
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
    // malloc_usable_size takes a non-const pointer but only reads the block's header.
    return ::malloc_usable_size(const_cast<void*>(p));
}

} // namespace memmgr::detail::os
