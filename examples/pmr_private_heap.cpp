// pmr_private_heap: standard containers over a private Win32 heap (HeapCreate on Windows, memmgr's
// private heap on POSIX), the heap's own view of them, and the whole lot dropped at once.
#include <cstddef>
#include <cstdio>
#include <map>
#include <memory_resource>
#include <string>
#include <vector>

#include <range/v3/algorithm/max_element.hpp>
#include <range/v3/view/filter.hpp>

import memmgr;

namespace {

void print_heap(const char* when, const memmgr::win32_heap& heap) {
    const auto stats = heap.statistics().value();
    const auto walk = heap.walk().value();
    auto free_blocks =
        walk | ranges::views::filter([](const memmgr::heap_entry& e) { return !e.in_use; });
    auto largest_free = ranges::max_element(free_blocks, {}, &memmgr::heap_entry::size);
    std::printf("%-22s %6zu blocks in use (%8zu bytes), %4zu free blocks, largest free %zu bytes\n",
                when, stats.blocks_in_use, stats.bytes_in_use, stats.free_blocks,
                largest_free == ranges::end(free_blocks) ? std::size_t{0} : largest_free->size);
}

} // namespace

int main() {
    // A growable, serialized private heap, and a std::pmr resource over it.
    memmgr::win32_heap arena;
    memmgr::heap_resource resource(arena);
    print_heap("fresh heap:", arena);

    {
        std::pmr::vector<int> numbers(&resource);
        for (int i = 0; i < 10000; ++i)
            numbers.push_back(i * i);

        // Nested containers: the map's nodes and every string land on the same heap.
        std::pmr::map<int, std::pmr::string> names(&resource);
        for (int i = 0; i < 1000; ++i)
            names.emplace(i, "entry number " + std::to_string(i) + " with a heap block of its own");

        std::printf("vector on the arena: %s; map node strings on the arena: %s\n",
                    arena.owns(numbers.data()) ? "yes" : "no",
                    arena.owns(names.at(500).data()) ? "yes" : "no");
        print_heap("with the containers:", arena);
    }
    print_heap("after they went:", arena);

    // Winking out: build a large structure whose destructor will never run, then drop every block
    // of it at once. Safe because nothing outside the arena points into it and no destructor has
    // work beyond freeing memory (docs/adapters.md).
    using index = std::pmr::map<int, std::pmr::string>;
    auto* big = new (resource.allocate(sizeof(index), alignof(index))) index(&resource);
    for (int i = 0; i < 20000; ++i)
        big->emplace(i, "a value long enough to need its own block, number " + std::to_string(i));
    print_heap("20000-node map:", arena);
    if (!arena.release_all()) // no node-by-node teardown
        return 1;
    print_heap("after release_all:", arena);

    return 0;
} // arena: HeapDestroy (or munmap of every segment) releases what is left
