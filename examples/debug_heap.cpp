// debug_heap: the CRT debug heap's checks as a layer over any heap. A buffer overrun and a leak,
// caught and reported with the request number and the line that allocated the block.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory_resource>
#include <string>

import memmgr;

namespace {

// A function with two classic bugs.
void buggy(memmgr::debug_heap<memmgr::win32_heap>& heap) {
    auto name = heap.allocate(8); // room for 7 characters and the terminator...
    std::strcpy(static_cast<char*>(*name), "overrun"); // ...fits exactly
    auto copy = heap.allocate(7);                      // one byte short:
    std::memcpy(*copy, "overrun", 8);                  // the terminator lands in the guard bytes
    (void)heap.free(*name);                            // `copy` is never freed: a leak
}

} // namespace

int main() {
    // Guards of 4 bytes of 0xFD around every block, 0xCD in new blocks, 0xDD in freed ones, and a
    // quarantine of 8 freed blocks to catch writes after free. The default handler aborts, as the
    // CRT does; here problems are printed and the program carries on.
    memmgr::debug_heap<memmgr::win32_heap> heap({.quarantine = 8});
    heap.set_problem_handler(
        [](const memmgr::debug_problem& p) { std::printf("%s\n", memmgr::describe(p).c_str()); });

    const auto before = heap.checkpoint();
    buggy(heap);

    std::printf("check() found %zu problem(s)\n", heap.check());

    const auto change = memmgr::difference(heap.checkpoint(), before);
    std::printf("since the checkpoint: %td normal block(s), %td byte(s) still in use\n",
                change.blocks[0], change.bytes[0]);
    heap.report_leaks(std::cout);

    // The same checks under the standard library: a pmr map whose every node is checked.
    {
        memmgr::heap_resource resource(heap);
        std::pmr::map<int, std::pmr::string> m(&resource);
        m.emplace(1, "checked, guarded and counted like every other block");
        std::printf("a pmr map on the debug heap: %zu live block(s), %zu problem(s)\n",
                    heap.leaks().size(), heap.check());
    }
    return 0;
}
