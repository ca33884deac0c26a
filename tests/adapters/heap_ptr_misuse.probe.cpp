// heap_ptr's misuses: each must fail to compile with heap_ptr's own sentence (a static_assert),
// not with an error from deep inside a template. Not a Boost.Test case (hence .probe.cpp): the
// check is whether this file compiles. tests/CMakeLists.txt builds it once per probe
// (MEMMGR_PROBE=<n>), each as a target outside `all` that a ctest builds; probe 0 is the positive
// twin and must compile.
#include <cstddef>
#include <string>

import memmgr;

struct alignas(64) cache_line {
    std::byte bytes[64];
};

#if MEMMGR_PROBE == 0 // what the others get wrong, done right
std::size_t probe() {
    memmgr::heap_ptr<int, memmgr::com_heap> p;
    memmgr::win32_heap arena;
    memmgr::heap_ptr<int, memmgr::win32_heap&> q(arena);
    return sizeof(p) + sizeof(q);
}
#elif MEMMGR_PROBE == 1 // an element that needs its destructor run
std::size_t probe() {
    memmgr::heap_ptr<std::string, memmgr::com_heap> p;
    return sizeof(p);
}
#elif MEMMGR_PROBE == 2 // a stateless heap by reference
std::size_t probe(memmgr::com_heap& heap) {
    memmgr::heap_ptr<int, memmgr::com_heap&> p(heap);
    return sizeof(p);
}
#elif MEMMGR_PROBE == 3 // more alignment than the heap's blocks have
std::size_t probe() {
    memmgr::heap_ptr<cache_line, memmgr::crt_heap> p;
    return sizeof(p);
}
#elif MEMMGR_PROBE == 4 // a const heap, which could not free
std::size_t probe(const memmgr::win32_heap& heap) {
    return sizeof(memmgr::allocate_unique<int>(heap));
}
#else
#error "MEMMGR_PROBE: 0 (the positive twin) to 4, as tests/CMakeLists.txt defines them"
#endif
