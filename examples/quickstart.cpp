// quickstart: `import memmgr;`, a heap, errors as values, and the throwing layer's exception.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <system_error>

import memmgr;

int main() {
    memmgr::crt_heap heap;

    // Every heap operation is noexcept and returns memmgr::result<T> (a tl::expected).
    auto block = heap.allocate(100);
    if (!block) {
        std::printf("allocation failed: %s\n", std::error_code(block.error()).message().c_str());
        return 1;
    }
    std::memcpy(*block, "hello from crt_heap", 20);
    std::printf("%s: %zu-byte block at %p says \"%s\"\n", memmgr::crt_heap::name.data(),
                heap.size(*block).value(), *block, static_cast<const char*>(*block));

    // A failed reallocate leaves the block as it was, as IAtlMemMgr::Reallocate promises.
    auto bigger = heap.reallocate(*block, SIZE_MAX);
    std::printf("reallocate to SIZE_MAX: %s; the block still says \"%s\"\n",
                std::error_code(bigger.error()).message().c_str(),
                static_cast<const char*>(*block));
    (void)heap.free(*block);

    // count x size is checked before any memory is asked for.
    auto zeroed = heap.allocate_zeroed(SIZE_MAX / 2, 4);
    std::printf("allocate_zeroed(SIZE_MAX / 2, 4): %s\n",
                std::error_code(zeroed.error()).message().c_str());

    // The throwing layers raise memmgr::heap_error, a std::bad_alloc that says who and how much.
    try {
        throw memmgr::heap_error(memmgr::crt_heap::name, 1 << 20, memmgr::errc::out_of_memory);
    } catch (const std::bad_alloc& e) {
        std::printf("caught std::bad_alloc: %s\n", e.what());
    }
    return 0;
}
