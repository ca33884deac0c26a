// The workload of issue 15, the scenario memmgr is for: a std::pmr::map<std::uint64_t,
// std::pmr::string> of n nodes (strings of 24-63 characters, so every one is a block of its own)
// built, looked up n times in random order, then destroyed node by node, or dropped whole with
// the resource's own "free everything" (release_all, mi_heap_destroy, a jemalloc arena's destroy,
// pool.release()). Two blocks per node: the node, and the string's characters.
//
// Written once over a std::pmr::memory_resource so that every peer runs the same code, in the
// executables that may link it (memmgr.bench, memmgr.bench.mimalloc, memmgr.bench.jemalloc). The
// keys and strings are computed from the node's index, so the workload allocates nothing besides
// the map's own blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory_resource>
#include <new>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include "peak_rss.hpp"

namespace memmgr_bench {

// The key and string length of node i: a bijective mix, so keys are distinct and scattered.
inline std::uint64_t map_key(std::uint64_t i) {
    i += 0x9e3779b97f4a7c15u;
    i = (i ^ (i >> 30)) * 0xbf58476d1ce4e5b9u;
    i = (i ^ (i >> 27)) * 0x94d049bb133111ebu;
    return i ^ (i >> 31);
}
inline std::string_view map_text(std::uint64_t i) {
    static constexpr char letters[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const std::uint64_t h = map_key(i ^ 0x5555);
    return {letters + h % 62, static_cast<std::size_t>(24 + (h >> 32) % 40)}; // 24..63
}

using string_map = std::pmr::map<std::uint64_t, std::pmr::string>;

// Builds the map in r, then looks up n random keys. \returns the map, itself made in r (so that a
// drop of the whole resource takes it too) or nullptr if allocation failed.
inline string_map* build_and_look_up(std::pmr::memory_resource* r, std::size_t n) {
    auto* m = new (r->allocate(sizeof(string_map), alignof(string_map))) string_map(r);
    for (std::size_t i = 0; i < n; ++i)
        m->try_emplace(map_key(i), map_text(i));
    std::uint64_t found = 0;
    std::uint64_t x = 12345;
    for (std::size_t k = 0; k < n; ++k) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        const auto it = m->find(map_key((x >> 33) % n));
        found += it->second.size();
    }
    benchmark::DoNotOptimize(found);
    return m;
}

// Destroys the map node by node, and its own block.
inline void destroy_node_by_node(std::pmr::memory_resource* r, string_map* m) {
    m->~string_map();
    r->deallocate(m, sizeof(string_map), alignof(string_map));
}

inline double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// One whole run in this process, for one peer: `drop` is null for node by node, else it frees
// everything r holds at once. Prints one JSON line: the workload's CPU time and the process's peak
// resident set (VmHWM), which the figures compare whole-process.
template <class Drop>
int report_map_strings(std::string_view name, std::pmr::memory_resource* r, std::size_t n,
                       Drop* drop) {
    const double start = cpu_seconds();
    string_map* m = build_and_look_up(r, n);
    const double built = cpu_seconds();
    if (drop)
        (*drop)();
    else
        destroy_node_by_node(r, m);
    const double end = cpu_seconds();
    std::printf("{\"backend\": \"%.*s\", \"nodes\": %zu, \"mode\": \"%s\", \"cpu_seconds\": %.6f, "
                "\"build_lookup_seconds\": %.6f, \"destroy_seconds\": %.6f, "
                "\"peak_rss_bytes\": %zu}\n",
                static_cast<int>(name.size()), name.data(), n, drop ? "drop_whole" : "node_by_node",
                end - start, built - start, end - built, peak_rss_bytes());
    return 0;
}

// Parses "<backend>:<nodes>:<node_by_node|drop_whole>" (nodes and mode optional: 1,000,000 and
// node_by_node). \returns false if the mode is unknown.
struct map_strings_spec {
    std::string_view backend;
    std::size_t nodes = 1'000'000;
    bool drop_whole = false;
};
inline bool parse_map_strings(std::string_view spec, map_strings_spec& out) {
    const auto c1 = spec.find(':');
    out.backend = spec.substr(0, c1);
    if (c1 == std::string_view::npos)
        return true;
    const std::string_view rest = spec.substr(c1 + 1);
    const auto c2 = rest.find(':');
    out.nodes = std::strtoull(std::string(rest.substr(0, c2)).c_str(), nullptr, 10);
    if (c2 == std::string_view::npos)
        return true;
    const std::string_view mode = rest.substr(c2 + 1);
    out.drop_whole = mode == "drop_whole";
    return out.drop_whole || mode == "node_by_node";
}

// The node count of the registered map_strings benchmarks: 1,000,000, or 10,000 with
// MEMMGR_BENCH_QUICK=1 (the release leg's smoke run).
inline std::size_t map_strings_nodes() {
    const char* quick = std::getenv("MEMMGR_BENCH_QUICK");
    return quick != nullptr && *quick == '1' ? 10'000 : 1'000'000;
}

// Registers map_strings/<name> (node by node) and map_strings_drop/<name> (dropped whole, when
// the peer can). make() returns an owner of a fresh resource: owner->resource() and, for the drop
// variant, owner->drop().
template <class Make>
void register_map_strings(const std::string& name, Make make, bool can_drop) {
    benchmark::RegisterBenchmark(
        ("map_strings/" + name).c_str(),
        [make](benchmark::State& s) {
            const std::size_t n = map_strings_nodes();
            for (auto _ : s) {
                auto owner = make();
                destroy_node_by_node(owner->resource(), build_and_look_up(owner->resource(), n));
            }
            s.SetItemsProcessed(s.iterations() * static_cast<std::int64_t>(n));
        })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
    if (!can_drop)
        return;
    benchmark::RegisterBenchmark(("map_strings_drop/" + name).c_str(),
                                 [make](benchmark::State& s) {
                                     const std::size_t n = map_strings_nodes();
                                     for (auto _ : s) {
                                         auto owner = make();
                                         build_and_look_up(owner->resource(), n);
                                         owner->drop();
                                     }
                                     s.SetItemsProcessed(s.iterations() *
                                                         static_cast<std::int64_t>(n));
                                 })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
}

} // namespace memmgr_bench
