// mimalloc as a peer, in its own process (linking it replaces malloc): a mimalloc heap per
// benchmark (mi_heap_new), on the same workloads as memmgr.bench.cpp.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <map>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>
#include <mimalloc.h>

#include "map_strings.hpp"
#include "threads.hpp"
#include "workloads.hpp"

namespace {

using namespace memmgr_bench;

struct mimalloc_heap {
    mi_heap_t* heap = mi_heap_new();
    void* allocate(std::size_t n) { return mi_heap_malloc(heap, n); }
    void deallocate(void* p, std::size_t) { mi_free(p); }
};

// mimalloc's default path, mi_malloc and mi_free: the threaded churn's peer.
struct mimalloc_plain {
    void* allocate(std::size_t n) { return mi_malloc(n); }
    void deallocate(void* p, std::size_t) { mi_free(p); }
};

// std::allocator-style adapter over one mimalloc heap, for the node-heavy workloads.
template <class T>
struct heap_allocator {
    using value_type = T;
    mi_heap_t* heap;
    explicit heap_allocator(mi_heap_t* h) : heap(h) {}
    template <class U>
    heap_allocator(const heap_allocator<U>& o) : heap(o.heap) {}
    T* allocate(std::size_t n) { return static_cast<T*>(mi_heap_malloc(heap, n * sizeof(T))); }
    void deallocate(T* p, std::size_t) { mi_free(p); }
    friend bool operator==(const heap_allocator& a, const heap_allocator& b) {
        return a.heap == b.heap;
    }
};

// A std::pmr::memory_resource over a heap of its own (mi_heap_new), for the map of strings;
// drop() frees every block at once (mi_heap_destroy) and starts a fresh heap.
class mimalloc_resource : public std::pmr::memory_resource {
public:
    std::pmr::memory_resource* resource() { return this; }
    void drop() {
        mi_heap_destroy(heap_);
        heap_ = mi_heap_new();
    }

private:
    void* do_allocate(std::size_t n, std::size_t align) override {
        void* p = mi_heap_malloc_aligned(heap_, n, align);
        if (!p)
            throw std::bad_alloc();
        return p;
    }
    void do_deallocate(void* p, std::size_t, std::size_t) override { mi_free(p); }
    bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override {
        return this == &o;
    }
    mi_heap_t* heap_ = mi_heap_new();
};

} // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--memory=mimalloc_heap") {
            mimalloc_heap b;
            return report_memory("mimalloc_heap", b);
        }
        if (std::string_view(argv[i]).starts_with("--map-strings=")) {
            map_strings_spec spec;
            if (!parse_map_strings(std::string_view(argv[i]).substr(14), spec))
                return 2;
            mimalloc_resource r;
            auto drop = [&r] {
                r.drop();
            };
            return report_map_strings("mimalloc_heap", &r, spec.nodes,
                                      spec.drop_whole ? &drop : nullptr);
        }
    }
    static mimalloc_heap heap;
    register_churn("mimalloc_heap", &heap);
    // A mimalloc heap allocates only on the thread that made it, so the threads share plain
    // mi_malloc/mi_free (each thread's own heap, frees from others queued to it).
    static mimalloc_plain plain;
    register_threads_churn("mimalloc", &plain);
    benchmark::RegisterBenchmark(
        "map_build_destroy/mimalloc_heap",
        [](benchmark::State& s) {
            for (auto _ : s) {
                mi_heap_t* h = mi_heap_new();
                {
                    std::map<int, int, std::less<>, heap_allocator<std::pair<const int, int>>> m{
                        heap_allocator<std::pair<const int, int>>(h)};
                    fill_map(m, node_count());
                    benchmark::DoNotOptimize(m.size());
                }
                mi_heap_delete(h);
            }
            count_items(s, node_count()); // per node, as memmgr.bench's map_build_destroy
        })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
    benchmark::RegisterBenchmark(
        "map_teardown/mimalloc_heap_destroy",
        [](benchmark::State& s) {
            for (auto _ : s) {
                s.PauseTiming();
                mi_heap_t* h = mi_heap_new();
                using map =
                    std::map<int, int, std::less<>, heap_allocator<std::pair<const int, int>>>;
                auto* m = new map(heap_allocator<std::pair<const int, int>>(h));
                fill_map(*m, node_count());
                s.ResumeTiming();
                mi_heap_destroy(h); // frees every block of the heap at once; the map is winked out
                s.PauseTiming();
                ::operator delete(m);
                s.ResumeTiming();
            }
        })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
    register_map_strings(
        "mimalloc_heap", [] { return std::make_unique<mimalloc_resource>(); }, true);
    return run_registered_benchmarks(argc, argv);
}
