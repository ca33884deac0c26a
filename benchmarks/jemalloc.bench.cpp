// jemalloc as a peer, in its own process (linking it replaces malloc): a dedicated jemalloc arena
// (arenas.create, mallocx with MALLOCX_ARENA and no thread cache), on the same workloads as
// memmgr.bench.cpp.
#include <cstddef>
#include <cstdio>
#include <string_view>

#include <benchmark/benchmark.h>
#include <jemalloc/jemalloc.h>

#include "workloads.hpp"

namespace {

using namespace memmgr_bench;

struct jemalloc_arena {
    unsigned arena = 0;
    int flags = 0;
    jemalloc_arena() {
        std::size_t size = sizeof arena;
        if (mallctl("arenas.create", &arena, &size, nullptr, 0) != 0)
            std::abort();
        flags = MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE;
    }
    void* allocate(std::size_t n) { return mallocx(n, flags); }
    void deallocate(void* p, std::size_t n) { sdallocx(p, n, flags); }
};

// The default jemalloc path (thread cache on), as a program that links jemalloc gets.
struct jemalloc_default {
    void* allocate(std::size_t n) { return malloc(n); }
    void deallocate(void* p, std::size_t) { free(p); }
};

} // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--memory=jemalloc_arena") {
            jemalloc_arena b;
            return report_memory("jemalloc_arena", b);
        }
    }
    static jemalloc_arena arena;
    static jemalloc_default plain;
    register_churn("jemalloc_arena", &arena);
    register_churn("jemalloc_default", &plain);
    return run_registered_benchmarks(argc, argv);
}
