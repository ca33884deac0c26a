// memmgr's benchmarks, with the peers that can share a process with it: glibc malloc, std::pmr's
// resources and foonathan/memory. mimalloc and jemalloc replace malloc when linked, so they run in
// their own executables (mimalloc.bench.cpp, jemalloc.bench.cpp) on the same workloads.
//
// Names are <workload>/<backend>; tools/dev bench turns the JSON output into docs-ready tables.
// MEMMGR_BENCH_QUICK=1 shrinks the node counts (the CI smoke run).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <foonathan/memory/container.hpp>
#include <foonathan/memory/memory_pool.hpp>
#include <foonathan/memory/memory_pool_collection.hpp>
#include <foonathan/memory/namespace_alias.hpp>
#include <malloc.h>

#include "fragmentation.hpp"
#include "map_strings.hpp"
#include "private_heap.hpp" // the engine behind win32_heap: its usage() and walk()
#include "threads.hpp"
#include "workloads.hpp"

import memmgr;

namespace {

using namespace memmgr_bench;

// --- backends: allocate(n) / deallocate(p, n)
// ------------------------------------------------------

struct glibc_malloc {
    void* allocate(std::size_t n) { return std::malloc(n); }
    void deallocate(void* p, std::size_t) { std::free(p); }
};

// A memmgr heap called directly (the baseline for the adapter figures).
template <class H>
struct direct {
    H& heap;
    void* allocate(std::size_t n) { return *heap.allocate(n); }
    void deallocate(void* p, std::size_t) { (void)heap.free(p); }
};

// Any std::pmr::memory_resource, memmgr's heap_resource included, called through the base class.
struct pmr_backend {
    std::pmr::memory_resource* resource;
    void* allocate(std::size_t n) { return resource->allocate(n); }
    void deallocate(void* p, std::size_t n) { resource->deallocate(p, n); }
};

template <class H>
struct allocator_backend {
    memmgr::heap_allocator<std::byte, H> allocator;
    void* allocate(std::size_t n) { return allocator.allocate(n); }
    void deallocate(void* p, std::size_t n) { allocator.deallocate(static_cast<std::byte*>(p), n); }
};

// One 256 MiB block: foonathan/memory 0.7.2's pool collection crashes here when its first block is
// exhausted and it must grow (reproduced outside memmgr, under ASan, with a 4 MiB block). Pages it
// never touches cost no resident memory, so the memory figure stays fair.
struct foonathan_pools {
    memory::memory_pool_collection<memory::node_pool, memory::identity_buckets> pools{
        1024, std::size_t{256} << 20};
    void* allocate(std::size_t n) { return pools.allocate_node(n); }
    void deallocate(void* p, std::size_t n) { pools.deallocate_node(p, n); }
};

// --- 1. churn, 5. adapter overhead, 7. debug_heap overhead
// ------------------------------------------

// The heaps live for the whole run (the benchmarks refer to them).
struct heaps {
    memmgr::crt_heap crt;
    memmgr::com_heap com;
    memmgr::win32_heap arena;
    memmgr::win32_heap unserialized{memmgr::win32_heap_options{.serialize = false}};
    memmgr::heap_resource<memmgr::win32_heap&> arena_resource{arena};
    memmgr::debug_heap<memmgr::win32_heap&> debug{memmgr::debug_options{}, arena};
    std::pmr::unsynchronized_pool_resource unsync_pool;
    std::pmr::synchronized_pool_resource sync_pool;
};

void register_churns(heaps& h) {
    register_churn("glibc_malloc", new glibc_malloc);
    register_churn("crt_heap", new direct<memmgr::crt_heap>{h.crt});
    register_churn("com_heap", new direct<memmgr::com_heap>{h.com});
    register_churn("win32_heap", new direct<memmgr::win32_heap>{h.arena});
    register_churn("win32_heap_no_serialize", new direct<memmgr::win32_heap>{h.unserialized});
    register_churn("heap_resource_win32_heap", new pmr_backend{&h.arena_resource});
    register_churn("heap_allocator_win32_heap",
                   new allocator_backend<memmgr::win32_heap>{{h.arena}});
    register_churn("debug_heap_win32_heap",
                   new direct<memmgr::debug_heap<memmgr::win32_heap&>>{h.debug});
    register_churn("pmr_new_delete", new pmr_backend{std::pmr::new_delete_resource()});
    register_churn("pmr_unsynchronized_pool", new pmr_backend{&h.unsync_pool});
    register_churn("pmr_synchronized_pool", new pmr_backend{&h.sync_pool});
    register_churn("foonathan_pool_collection", new foonathan_pools);
    // Shared by 2 and 4 threads: the serialized heap (its own, so that the other benchmarks' blocks
    // do not change its figure) against glibc.
    register_threads_churn("glibc_malloc", new glibc_malloc);
    register_threads_churn("win32_heap", new direct<memmgr::win32_heap>{*new memmgr::win32_heap});
}

// --- 2. pmr::vector growth
// ---------------------------------------------------------------------------

void vector_growth(benchmark::State& state, std::pmr::memory_resource* resource) {
    const std::size_t n = 100'000;
    for (auto _ : state) {
        std::pmr::vector<int> v(resource);
        for (std::size_t i = 0; i < n; ++i)
            v.push_back(static_cast<int>(i));
        benchmark::DoNotOptimize(v.data());
    }
    count_items(state, n);
}

void register_vector_growth(heaps& h) {
    auto add = [](const std::string& name, std::pmr::memory_resource* r) {
        benchmark::RegisterBenchmark(("vector_growth/" + name).c_str(),
                                     [r](benchmark::State& s) { vector_growth(s, r); });
    };
    add("pmr_new_delete", std::pmr::new_delete_resource());
    add("heap_resource_win32_heap", &h.arena_resource);
    add("heap_resource_crt_heap", new memmgr::heap_resource<memmgr::crt_heap>);
    add("pmr_unsynchronized_pool", &h.unsync_pool);
    benchmark::RegisterBenchmark("vector_growth/pmr_monotonic_buffer", [](benchmark::State& s) {
        const std::size_t n = 100'000;
        for (auto _ : s) {
            std::pmr::monotonic_buffer_resource monotonic;
            std::pmr::vector<int> v(&monotonic);
            for (std::size_t i = 0; i < n; ++i)
                v.push_back(static_cast<int>(i));
            benchmark::DoNotOptimize(v.data());
        }
        count_items(s, n);
    });
}

// --- 3. node-heavy containers, 4. teardown -------------------------------------------------------

template <class List>
void fill_list(List& l, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        l.push_back(static_cast<int>(i));
}

// One build-and-destroy benchmark: make() a container, fill(container, node_count()), destroy it.
template <class Make, class Fill>
void register_build_destroy(const std::string& title, Make make, Fill fill) {
    benchmark::RegisterBenchmark(title.c_str(),
                                 [make, fill](benchmark::State& s) {
                                     const std::size_t n = node_count();
                                     for (auto _ : s) {
                                         auto c = make();
                                         fill(*c, n);
                                         benchmark::DoNotOptimize(c->size());
                                     }
                                     count_items(s, n);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
}

// Build and destroy a map and a list of node_count() nodes on one allocator.
template <class MakeMap, class MakeList>
void register_nodes(const std::string& name, MakeMap make_map, MakeList make_list) {
    register_build_destroy("map_build_destroy/" + name, make_map,
                           [](auto& m, std::size_t n) { fill_map(m, n); });
    register_build_destroy("list_build_destroy/" + name, make_list,
                           [](auto& l, std::size_t n) { fill_list(l, n); });
}

template <class T, class H>
using arena_alloc = memmgr::heap_allocator<T, H>;
using node_pair = std::pair<const int, int>;

void register_node_heavy() {
    register_nodes(
        "std_allocator", [] { return std::make_unique<std::map<int, int>>(); },
        [] { return std::make_unique<std::list<int>>(); });
    register_nodes(
        "heap_allocator_crt_heap",
        [] {
            return std::make_unique<
                std::map<int, int, std::less<>, arena_alloc<node_pair, memmgr::crt_heap>>>();
        },
        [] { return std::make_unique<std::list<int, arena_alloc<int, memmgr::crt_heap>>>(); });
    static memmgr::win32_heap arena; // destroyed node by node with each container
    register_nodes(
        "heap_allocator_win32_heap",
        [] {
            return std::make_unique<
                std::map<int, int, std::less<>, arena_alloc<node_pair, memmgr::win32_heap>>>(arena);
        },
        [] {
            return std::make_unique<std::list<int, arena_alloc<int, memmgr::win32_heap>>>(arena);
        });
    register_nodes(
        "pmr_unsynchronized_pool",
        [] {
            struct owner : std::pmr::unsynchronized_pool_resource, std::pmr::map<int, int> {
                owner()
                    : std::pmr::map<int, int>(
                          static_cast<std::pmr::unsynchronized_pool_resource*>(this)) {}
            };
            return std::make_unique<owner>();
        },
        [] {
            struct owner : std::pmr::unsynchronized_pool_resource, std::pmr::list<int> {
                owner()
                    : std::pmr::list<int>(
                          static_cast<std::pmr::unsynchronized_pool_resource*>(this)) {}
            };
            return std::make_unique<owner>();
        });
    register_nodes(
        "foonathan_memory_pool",
        [] {
            struct owner {
                memory::memory_pool<> pool{memory::map_node_size<node_pair>::value,
                                           4 * 1024 * 1024};
                memory::map<int, int, memory::memory_pool<>> map{pool};
                void emplace(int k, int v) { map.emplace(k, v); }
                std::size_t size() const { return map.size(); }
            };
            return std::make_unique<owner>();
        },
        [] {
            struct owner {
                memory::memory_pool<> pool{memory::list_node_size<int>::value, 4 * 1024 * 1024};
                memory::list<int, memory::memory_pool<>> list{pool};
                void push_back(int v) { list.push_back(v); }
                std::size_t size() const { return list.size(); }
            };
            return std::make_unique<owner>();
        });
}

// Teardown of a map of node_count() nodes: node by node (glibc), node by node on a private heap,
// and the private heap released whole ("winking out"). Only the teardown is timed.
void register_teardown() {
    benchmark::RegisterBenchmark("map_teardown/glibc_node_by_node",
                                 [](benchmark::State& s) {
                                     for (auto _ : s) {
                                         s.PauseTiming();
                                         auto m = std::make_unique<std::map<int, int>>();
                                         fill_map(*m, node_count());
                                         s.ResumeTiming();
                                         m.reset();
                                     }
                                 })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
    benchmark::RegisterBenchmark(
        "map_teardown/win32_heap_node_by_node",
        [](benchmark::State& s) {
            memmgr::win32_heap arena;
            using map = std::map<int, int, std::less<>, arena_alloc<node_pair, memmgr::win32_heap>>;
            for (auto _ : s) {
                s.PauseTiming();
                auto m = std::make_unique<map>(arena);
                fill_map(*m, node_count());
                s.ResumeTiming();
                m.reset();
            }
        })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
    benchmark::RegisterBenchmark(
        "map_teardown/win32_heap_release_all",
        [](benchmark::State& s) {
            memmgr::win32_heap arena;
            memmgr::heap_resource resource(arena);
            for (auto _ : s) {
                s.PauseTiming();
                auto* m = new (resource.allocate(sizeof(std::pmr::map<int, int>)))
                    std::pmr::map<int, int>(&resource);
                fill_map(*m, node_count());
                s.ResumeTiming();
                (void)arena.release_all(); // the map is never destroyed: winked out
            }
        })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
}

// --- 11. issue 15: a pmr::map of strings over each resource
// -------------------------------------------

struct win32_heap_owner {
    memmgr::win32_heap heap;
    memmgr::heap_resource<memmgr::win32_heap&> r{heap};
    std::pmr::memory_resource* resource() { return &r; }
    void drop() { (void)heap.release_all(); }
};
struct unsync_pool_owner {
    std::pmr::unsynchronized_pool_resource pool;
    std::pmr::memory_resource* resource() { return &pool; }
    void drop() { pool.release(); }
};
struct new_delete_owner {
    std::pmr::memory_resource* resource() { return std::pmr::new_delete_resource(); }
    void drop() {}
};

void register_map_strings_peers() {
    register_map_strings(
        "heap_resource_win32_heap", [] { return std::make_unique<win32_heap_owner>(); }, true);
    register_map_strings(
        "pmr_unsynchronized_pool", [] { return std::make_unique<unsync_pool_owner>(); }, true);
    register_map_strings(
        "pmr_new_delete", [] { return std::make_unique<new_delete_owner>(); }, false);
}

template <class Owner>
int run_map_strings(const map_strings_spec& spec) {
    Owner owner;
    auto drop = [&owner] {
        owner.drop();
    };
    return report_map_strings(spec.backend, owner.resource(), spec.nodes,
                              spec.drop_whole ? &drop : nullptr);
}

int measure_map_strings(std::string_view arg) {
    map_strings_spec spec;
    if (!parse_map_strings(arg, spec)) {
        std::fprintf(stderr, "bad --map-strings: %.*s\n", static_cast<int>(arg.size()), arg.data());
        return 2;
    }
    if (spec.backend == "heap_resource_win32_heap")
        return run_map_strings<win32_heap_owner>(spec);
    if (spec.backend == "pmr_unsynchronized_pool")
        return run_map_strings<unsync_pool_owner>(spec);
    if (spec.backend == "pmr_new_delete" && !spec.drop_whole)
        return run_map_strings<new_delete_owner>(spec);
    std::fprintf(stderr, "unknown backend for --map-strings: %.*s\n",
                 static_cast<int>(spec.backend.size()), spec.backend.data());
    return 2;
}

// --- 6. BSTR
// ---------------------------------------------------------------------------------------

// 1 KiB of text: ASCII, and a mix of 1-, 2- and 3-byte UTF-8 sequences.
const std::string& text(bool ascii) {
    static const std::string plain = [] {
        std::string s;
        while (s.size() < 1024)
            s += "The quick brown fox jumps over the lazy dog. ";
        s.resize(1024);
        return s;
    }();
    static const std::string mixed = [] {
        std::string s;
        while (s.size() < 1000)
            s += "caf\xC3\xA9 cr\xC3\xA8me \xE4\xB8\xAD\xE6\x96\x87 ";
        return s;
    }();
    return ascii ? plain : mixed;
}

const std::u16string& text16() {
    static const std::u16string s = [] {
        std::u16string t;
        for (char c : text(true))
            t.push_back(static_cast<char16_t>(c));
        return t;
    }();
    return s;
}

// Workloads run alike on memmgr::bstr and std::u16string (String).
template <class String>
void from_utf16(benchmark::State& s) {
    for (auto _ : s) {
        String b(text16());
        benchmark::DoNotOptimize(b.data());
    }
    count_items(s, 1);
}

template <class String>
void move_twice(benchmark::State& s) {
    String a(text16());
    for (auto _ : s) {
        String b(std::move(a)); // bstr: no allocation, the pointer changes hands
        a = std::move(b);
        benchmark::DoNotOptimize(a.data());
    }
    count_items(s, 2);
}

template <class String>
void compare_equal(benchmark::State& s) {
    String a(text16()), b(text16());
    for (auto _ : s)
        benchmark::DoNotOptimize(a == b);
    count_items(s, 1);
}

template <class String>
void append_pieces(benchmark::State& s) {
    const std::u16string_view piece = std::u16string_view(text16()).substr(0, 16);
    for (auto _ : s) {
        String b;
        for (int i = 0; i < 64; ++i)
            b += piece;
        benchmark::DoNotOptimize(b.data());
    }
    count_items(s, 64);
}

template <class String>
void register_string_workloads(const std::string& name) {
    benchmark::RegisterBenchmark(("bstr_from_utf16/" + name).c_str(), from_utf16<String>);
    benchmark::RegisterBenchmark(("bstr_move/" + name).c_str(), move_twice<String>);
    benchmark::RegisterBenchmark(("bstr_compare/" + name).c_str(), compare_equal<String>);
    benchmark::RegisterBenchmark(("bstr_append/" + name).c_str(), append_pieces<String>);
}

void register_bstr() {
    for (bool ascii : {true, false}) {
        benchmark::RegisterBenchmark(
            ascii ? "bstr_from_utf8/ascii" : "bstr_from_utf8/non_ascii",
            [ascii](benchmark::State& s) {
                const std::string& utf8 = text(ascii);
                for (auto _ : s) {
                    auto b = memmgr::bstr::from_utf8(std::string_view(utf8));
                    benchmark::DoNotOptimize(b->get());
                }
                count_items(s, utf8.size()); // items are bytes of UTF-8: GB/s in the report
            });
    }
    register_string_workloads<memmgr::bstr>("bstr");
    register_string_workloads<std::u16string>("std_u16string");
    benchmark::RegisterBenchmark("bstr_from_utf16/sys_alloc_string_len", [](benchmark::State& s) {
        for (auto _ : s) {
            memmgr::olechar* raw = memmgr::sys_alloc_string_len(
                text16().data(), static_cast<std::uint32_t>(text16().size()));
            benchmark::DoNotOptimize(raw);
            memmgr::sys_free_string(raw);
        }
        count_items(s, 1);
    });
}

// --- 9. one buffer grown by steps (realloc)
// ----------------------------------------------------------

// A buffer grown 1 MiB at a time to 64 MiB, each new part written, then freed (issue #17): past
// 512 KiB every step of the private heap's reallocate grows a large block's own mapping, which
// the next mapping usually blocks, so the block moves. glibc moves its mmap'd chunks with mremap.
template <class Realloc, class Free>
void grow_by_steps(benchmark::State& state, Realloc grow, Free release) {
    constexpr std::size_t step = std::size_t{1} << 20;
    constexpr std::size_t top = std::size_t{64} << 20;
    for (auto _ : state) {
        void* p = nullptr;
        for (std::size_t n = step; n <= top; n += step) {
            p = grow(p, n);
            if (p == nullptr) {
                state.SkipWithError("reallocation failed");
                return;
            }
            std::memset(static_cast<char*>(p) + (n - step), static_cast<int>(n >> 20), step);
        }
        benchmark::DoNotOptimize(p);
        release(p);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(top));
}

void register_grow_by_steps(heaps& h) {
    benchmark::RegisterBenchmark("grow_by_steps/glibc_malloc", [](benchmark::State& s) {
        grow_by_steps(
            s, [](void* p, std::size_t n) { return std::realloc(p, n); },
            [](void* p) { std::free(p); });
    })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("grow_by_steps/win32_heap", [&h](benchmark::State& s) {
        grow_by_steps(
            s,
            [&h](void* p, std::size_t n) -> void* {
                auto q = h.arena.reallocate(p, n);
                return q ? *q : nullptr;
            },
            [&h](void* p) { (void)h.arena.free(p); });
    })->Unit(benchmark::kMillisecond);
}

// --- 8. memory: one backend per process
// --------------------------------------------------------------

int measure_memory(std::string_view backend) {
    auto run = [&](auto&& b) {
        return report_memory(backend, b);
    };
    if (backend == "glibc_malloc") {
        glibc_malloc b;
        return run(b);
    }
    if (backend == "win32_heap") {
        memmgr::win32_heap arena;
        direct<memmgr::win32_heap> b{arena};
        return run(b);
    }
    if (backend == "pmr_unsynchronized_pool") {
        std::pmr::unsynchronized_pool_resource pool;
        pmr_backend b{&pool};
        return run(b);
    }
    if (backend == "foonathan_pool_collection") {
        foonathan_pools b;
        return run(b);
    }
    std::fprintf(stderr, "unknown backend for --memory: %.*s\n", static_cast<int>(backend.size()),
                 backend.data());
    return 2;
}

// --- 10. memory given back: resident memory after a peak and the frees that follow
// -----------------

// 256 MiB in blocks of 1 to 256 KiB, each written, then every block freed but one in 50 (issue
// #17: a private heap gave pages back only on compact()). Prints the resident set before, at the
// peak and after the frees, for one backend in this process alone.
template <class Backend>
int report_rss_after_free(std::string_view name, Backend& b) {
    const std::size_t start = rss_bytes();
    std::vector<std::pair<void*, std::size_t>> blocks;
    std::uint64_t seed = 0x9e3779b97f4a7c15u;
    for (std::size_t total = 0; total < (std::size_t{256} << 20);) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        const std::size_t n = 1024 + (seed >> 33) % (255u << 10);
        void* p = b.allocate(n);
        std::memset(p, 1, n);
        blocks.emplace_back(p, n);
        total += n;
    }
    const std::size_t peak = rss_bytes();
    for (std::size_t i = 0; i < blocks.size(); ++i)
        if (i % 50 != 0)
            b.deallocate(blocks[i].first, blocks[i].second);
    const std::size_t after = rss_bytes();
    std::printf("{\"backend\": \"%.*s\", \"rss_start_bytes\": %zu, \"rss_peak_bytes\": %zu, "
                "\"rss_after_free_bytes\": %zu}\n",
                static_cast<int>(name.size()), name.data(), start, peak, after);
    for (std::size_t i = 0; i < blocks.size(); i += 50)
        b.deallocate(blocks[i].first, blocks[i].second);
    return 0;
}

int measure_rss_after_free(std::string_view backend) {
    if (backend == "glibc_malloc") {
        glibc_malloc b;
        return report_rss_after_free(backend, b);
    }
    if (backend == "win32_heap") {
        memmgr::win32_heap arena;
        direct<memmgr::win32_heap> b{arena};
        return report_rss_after_free(backend, b);
    }
    std::fprintf(stderr, "unknown backend for --rss-after-free: %.*s\n",
                 static_cast<int>(backend.size()), backend.data());
    return 2;
}

// --- 13. fragmentation (issue 17 item 5): free bytes and pieces when a heap grows or fails
// -------

// A win32_heap as the fragmentation workload's backend: nullptr when an allocation fails.
struct nullable_win32 {
    memmgr::win32_heap& heap;
    void* allocate(std::size_t n) {
        auto p = heap.allocate(n);
        return p ? *p : nullptr;
    }
    void deallocate(void* p, std::size_t) { (void)heap.free(p); }
};

// The free memory of a private heap's segments (its blocks above 1 KiB, every block of a fixed
// heap), from a walk: the pages' free slots are counted apart.
struct free_tally {
    std::size_t free_bytes = 0;  // free segment blocks' capacities (cached ones included)
    std::size_t free_pieces = 0; // how many
    std::size_t largest = 0;
    std::size_t used_bytes = 0; // segment blocks in use, as asked for
    std::size_t paged_free_bytes = 0;
};

free_tally tally_free(const memmgr::detail::posix::private_heap& engine) {
    free_tally t;
    auto visit = [](void* context, const memmgr::detail::posix::block_info& e) {
        auto& t = *static_cast<free_tally*>(context);
        if (e.paged) {
            if (!e.in_use)
                t.paged_free_bytes += e.size;
        } else if (e.in_use) {
            t.used_bytes += e.size;
        } else {
            t.free_bytes += e.size;
            ++t.free_pieces;
            t.largest = std::max(t.largest, e.size);
        }
    };
    if (engine.walk(visit, &t) != memmgr::detail::posix::status::ok)
        std::fprintf(stderr, "fragmentation: the walk found the heap damaged\n");
    return t;
}

void print_tally(const char* event, std::size_t step, std::size_t request,
                 const memmgr::detail::posix::private_heap& engine) {
    const free_tally t = tally_free(engine);
    const auto u = engine.usage();
    std::printf("{\"event\": \"%s\", \"step\": %zu, \"request\": %zu, \"used_bytes\": %zu, "
                "\"reserved_bytes\": %zu, \"segment_used_bytes\": %zu, "
                "\"segment_free_bytes\": %zu, \"free_pieces\": %zu, \"largest_free\": %zu, "
                "\"page_free_bytes\": %zu}\n",
                event, step, request, u.used_bytes, u.reserved_bytes, t.used_bytes, t.free_bytes,
                t.free_pieces, t.largest, t.paged_free_bytes);
}

// Runs the workload on a win32_heap (maximum_size 0: growable) and prints a line each time its
// segments grow (reserved_bytes rises and the walk finds more segment bytes: not a page segment)
// or, for a fixed heap, at its first failure; then a summary line with the peak resident set.
int fragmentation_win32(std::string_view name, std::size_t maximum_size) {
    memmgr::win32_heap heap(memmgr::win32_heap_options{.maximum_size = maximum_size});
    const auto& engine = *static_cast<memmgr::detail::posix::private_heap*>(heap.native_handle());
    nullable_win32 b{heap};
    std::size_t reserved = engine.usage().reserved_bytes;
    std::size_t segment_bytes = 0;
    std::size_t grows = 0;
    bool failed = false;
    auto observe = [&](std::size_t step, std::size_t n, void* p) {
        if (!p) {
            if (!failed)
                print_tally("first_failure", step, n, engine);
            failed = true;
            return;
        }
        const std::size_t now = engine.usage().reserved_bytes;
        if (now <= reserved) {
            reserved = now;
            return;
        }
        reserved = now;
        const free_tally t = tally_free(engine);
        const std::size_t segments = t.used_bytes + t.free_bytes;
        if (segments > segment_bytes + 64 * 1024) {
            ++grows;
            print_tally("grow", step, n, engine);
        }
        segment_bytes = segments;
    };
    auto observe_end = [&] {
        print_tally("end", fragmentation_plan::steps, 0, engine);
    };
    const fragmentation_totals totals = run_fragmentation(b, observe, observe_end);
    const auto u = engine.usage();
    std::printf("{\"backend\": \"%.*s\", \"maximum_size\": %zu, \"peak_live_bytes\": %zu, "
                "\"failures\": %zu, \"first_failure_step\": %zd, \"segment_grows\": %zu, "
                "\"peak_reserved_bytes\": %zu, \"peak_rss_bytes\": %zu}\n",
                static_cast<int>(name.size()), name.data(), maximum_size, totals.peak_live_bytes,
                totals.failures, static_cast<std::ptrdiff_t>(totals.first_failure_step), grows,
                u.peak_reserved_bytes, peak_rss_bytes());
    return 0;
}

int fragmentation_glibc() {
    glibc_malloc b;
    auto observe = [](std::size_t, std::size_t, void*) {
    };
    auto observe_end = [] {
        const struct mallinfo2 m = mallinfo2();
        std::printf("{\"event\": \"end\", \"arena_bytes\": %zu, \"used_bytes\": %zu, "
                    "\"free_bytes\": %zu, \"free_pieces\": %zu, \"mmapped_bytes\": %zu}\n",
                    m.arena, m.uordblks, m.fordblks, m.ordblks, m.hblkhd);
    };
    const fragmentation_totals totals = run_fragmentation(b, observe, observe_end);
    std::printf("{\"backend\": \"glibc_malloc\", \"peak_live_bytes\": %zu, \"failures\": %zu, "
                "\"peak_rss_bytes\": %zu}\n",
                totals.peak_live_bytes, totals.failures, peak_rss_bytes());
    return 0;
}

// --fragmentation=glibc_malloc | win32_heap | win32_heap_fixed[:<MiB>] (default 64 MiB).
int measure_fragmentation(std::string_view spec) {
    if (spec == "glibc_malloc")
        return fragmentation_glibc();
    if (spec == "win32_heap")
        return fragmentation_win32(spec, 0);
    if (spec.starts_with("win32_heap_fixed")) {
        std::size_t mib = 64;
        if (spec.size() > 17 && spec[16] == ':')
            mib = std::strtoull(spec.data() + 17, nullptr, 10);
        return fragmentation_win32("win32_heap_fixed", mib << 20);
    }
    std::fprintf(stderr, "unknown backend for --fragmentation: %.*s\n",
                 static_cast<int>(spec.size()), spec.data());
    return 2;
}

// --- 5. adapter overhead in instructions (run under valgrind --tool=callgrind)
// -------------------------

// Runs `steps` random-churn steps (as churn_random) on one backend and nothing else, so that
// callgrind's totals for steps = N and steps = 0 differ by exactly the workload.
template <class Backend>
void churn_steps(Backend& b, std::size_t steps) {
    churn_slots<Backend> slots(b);
    for (std::size_t k = 0; k < steps; ++k)
        slots.step(k);
}

int count_instructions(std::string_view spec) {
    const auto colon = spec.find(':');
    const std::string_view backend = spec.substr(0, colon);
    const std::size_t steps =
        colon == std::string_view::npos ? 0 : std::strtoull(spec.data() + colon + 1, nullptr, 10);
    memmgr::win32_heap arena;
    if (backend == "direct") {
        direct<memmgr::win32_heap> b{arena};
        churn_steps(b, steps);
    } else if (backend == "heap_resource") {
        memmgr::heap_resource<memmgr::win32_heap&> r(arena);
        pmr_backend b{&r};
        churn_steps(b, steps);
    } else if (backend == "heap_allocator") {
        allocator_backend<memmgr::win32_heap> b{{arena}};
        churn_steps(b, steps);
    } else if (backend == "fragmentation") {
        // The fragmentation workload's first `steps` steps (16 B to 256 KiB, most above 1 KiB).
        direct<memmgr::win32_heap> b{arena};
        run_fragmentation(b, [](std::size_t, std::size_t, void*) {}, [] {}, steps);
    } else if (backend == "debug_heap") {
        memmgr::debug_heap<memmgr::win32_heap&> debug{memmgr::debug_options{}, arena};
        direct<memmgr::debug_heap<memmgr::win32_heap&>> b{debug};
        churn_steps(b, steps);
    } else {
        std::fprintf(stderr, "unknown backend for --instructions: %.*s\n",
                     static_cast<int>(backend.size()), backend.data());
        return 2;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    // --memory=<backend>: the memory figure for one backend, in this process alone.
    // --instructions=<direct|heap_resource|heap_allocator|debug_heap|fragmentation>:<steps>: a
    // workload for callgrind (debug_heap: debug_heap<win32_heap&> with the default options, called
    // directly; fragmentation: the --fragmentation workload's steps on a win32_heap, directly).
    // --rss-after-free=<glibc_malloc|win32_heap>: resident memory after a peak and its frees.
    // --fragmentation=<glibc_malloc|win32_heap|win32_heap_fixed[:MiB]>: issue 17 item 5's
    // workload; free bytes and pieces of the heap's segments when they grow, fail and at the end.
    // --map-strings=<backend>[:<nodes>[:node_by_node|drop_whole]]: issue 15's map of strings, once,
    // in this process alone (CPU time and peak resident set).
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg(argv[i]);
        if (arg.starts_with("--memory="))
            return measure_memory(arg.substr(9));
        if (arg.starts_with("--instructions="))
            return count_instructions(arg.substr(15));
        if (arg.starts_with("--rss-after-free="))
            return measure_rss_after_free(arg.substr(17));
        if (arg.starts_with("--fragmentation="))
            return measure_fragmentation(arg.substr(16));
        if (arg.starts_with("--map-strings="))
            return measure_map_strings(arg.substr(14));
    }
    static heaps h;
    register_churns(h);
    register_vector_growth(h);
    register_node_heavy();
    register_teardown();
    register_bstr();
    register_grow_by_steps(h);
    register_map_strings_peers();
    return run_registered_benchmarks(argc, argv);
}
