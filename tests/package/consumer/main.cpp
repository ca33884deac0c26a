// Built by the packaging test against an installed memmgr.
#include <cstdio>
#include <cstring>
#include <string_view>
#include <system_error>

import memmgr;

int main() {
    memmgr::crt_heap heap;
    auto block = heap.allocate(32);
    if (!block)
        return 1;
    std::memset(*block, 0x5A, 32);
    auto size = heap.size(*block);
    const bool ok = size && *size >= 32 && static_cast<unsigned char*>(*block)[31] == 0x5A;
    (void)heap.free(*block);

    std::error_code ec = memmgr::errc::heap_full;
    if (!ok || ec.category().name() != std::string_view("memmgr"))
        return 2;
    std::printf("memmgr consumer: ok (%zu-byte block, \"%s\")\n", *size, ec.message().c_str());
    return 0;
}
