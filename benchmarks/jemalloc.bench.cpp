// jemalloc as a peer, in its own process (linking it replaces malloc): a dedicated jemalloc arena
// (arenas.create, mallocx with MALLOCX_ARENA and no thread cache), on the same workloads as
// memmgr.bench.cpp.
#include <cstddef>
#include <cstdio>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>
#include <jemalloc/jemalloc.h>

#include "map_strings.hpp"
#include "threads.hpp"
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

// A std::pmr::memory_resource over an arena of its own (arenas.create, no thread cache), for the
// map of strings; drop() frees every block at once (arena.<i>.destroy) and creates a fresh arena.
class jemalloc_resource : public std::pmr::memory_resource {
public:
    std::pmr::memory_resource* resource() { return this; }
    void drop() {
        const std::string name = "arena." + std::to_string(arena_.arena) + ".destroy";
        if (mallctl(name.c_str(), nullptr, nullptr, nullptr, 0) != 0)
            std::abort();
        arena_ = jemalloc_arena();
    }

private:
    int flags(std::size_t align) const {
        return align > alignof(std::max_align_t) ? arena_.flags | MALLOCX_ALIGN(align)
                                                 : arena_.flags;
    }
    void* do_allocate(std::size_t n, std::size_t align) override {
        void* p = mallocx(n, flags(align));
        if (!p)
            throw std::bad_alloc();
        return p;
    }
    void do_deallocate(void* p, std::size_t n, std::size_t align) override {
        sdallocx(p, n, flags(align));
    }
    bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override {
        return this == &o;
    }
    jemalloc_arena arena_;
};

} // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--memory=jemalloc_arena") {
            jemalloc_arena b;
            return report_memory("jemalloc_arena", b);
        }
        if (std::string_view(argv[i]).starts_with("--map-strings=")) {
            map_strings_spec spec;
            if (!parse_map_strings(std::string_view(argv[i]).substr(14), spec))
                return 2;
            jemalloc_resource r;
            auto drop = [&r] {
                r.drop();
            };
            return report_map_strings("jemalloc_arena", &r, spec.nodes,
                                      spec.drop_whole ? &drop : nullptr);
        }
    }
    static jemalloc_arena arena;
    static jemalloc_default plain;
    register_churn("jemalloc_arena", &arena);
    register_churn("jemalloc_default", &plain);
    // One arena shared by the threads (no thread cache), and jemalloc's default path.
    register_threads_churn("jemalloc_arena", &arena);
    register_threads_churn("jemalloc_default", &plain);
    register_map_strings(
        "jemalloc_arena", [] { return std::make_unique<jemalloc_resource>(); }, true);
    return run_registered_benchmarks(argc, argv);
}
