// The benchmark workloads, written once over a minimal "backend" interface so that every allocator
// (memmgr's heaps and adapters, glibc, std::pmr, foonathan/memory, mimalloc, jemalloc) runs exactly
// the same code:
//
//   struct backend {
//       void* allocate(std::size_t n);
//       void deallocate(void* p, std::size_t n);
//   };
//
// Plain C++ (no module import), so that the mimalloc and jemalloc executables, which must not link
// memmgr's other peers, include it too.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "peak_rss.hpp"

namespace memmgr_bench {

// Random sizes 16..1024 and a random schedule, the same for every backend (fixed seed).
struct churn_plan {
    static constexpr std::size_t live = 1000; // blocks alive at once
    static constexpr std::size_t steps = 1 << 16;
    std::vector<std::uint32_t> sizes; // one per step
    std::vector<std::uint32_t> slots; // which slot a random-order step touches

    churn_plan() {
        std::mt19937 rng(20261123);
        std::uniform_int_distribution<std::uint32_t> size(16, 1024), slot(0, live - 1);
        sizes.resize(steps);
        slots.resize(steps);
        for (std::size_t i = 0; i < steps; ++i) {
            sizes[i] = size(rng);
            slots[i] = slot(rng);
        }
    }
    static const churn_plan& get() {
        static const churn_plan plan;
        return plan;
    }
};

// Reports `per_iteration` items for every iteration run (for Google Benchmark's items/s).
inline void count_items(benchmark::State& state, std::size_t per_iteration) {
    state.SetItemsProcessed(state.iterations() *
                            static_cast<benchmark::IterationCount>(per_iteration));
}

// Workloads 3 and 4: n keys in a scattered order (a multiplicative hash), so that inserting them
// walks the tree as real data would.
template <class Map>
void fill_map(Map& m, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        m.emplace(static_cast<int>((i * 2654435761u) % n), static_cast<int>(i));
}

// Touch a block the way a program would: write its first and last bytes.
inline void touch(void* p, std::size_t n) {
    auto* b = static_cast<unsigned char*>(p);
    b[0] = 1;
    b[n - 1] = 2;
}

// LIFO churn: allocate `live` blocks, free them newest first, again and again. Counts one
// operation per allocate+free pair.
template <class Backend>
void churn_lifo(benchmark::State& state, Backend& backend) {
    const auto& plan = churn_plan::get();
    std::vector<void*> blocks(churn_plan::live);
    std::size_t step = 0;
    for (auto _ : state) {
        for (std::size_t i = 0; i < churn_plan::live; ++i) {
            const std::size_t n = plan.sizes[(step + i) % churn_plan::steps];
            blocks[i] = backend.allocate(n);
            touch(blocks[i], n);
        }
        for (std::size_t i = churn_plan::live; i-- > 0;)
            backend.deallocate(blocks[i], plan.sizes[(step + i) % churn_plan::steps]);
        step += churn_plan::live;
        benchmark::ClobberMemory();
    }
    count_items(state, churn_plan::live);
}

// The random churn's state: `live` slots, each holding a block of the size it was asked for.
// Made full (the first `live` sizes of the plan); step(k) frees the block in step k's slot and
// allocates one of step k's size there; everything is freed when it goes.
template <class Backend>
class churn_slots {
public:
    explicit churn_slots(Backend& backend) : backend_(backend) {
        const auto& plan = churn_plan::get();
        for (std::size_t i = 0; i < churn_plan::live; ++i) {
            held_[i] = plan.sizes[i];
            blocks_[i] = backend_.allocate(held_[i]);
        }
    }
    churn_slots(const churn_slots&) = delete;
    churn_slots& operator=(const churn_slots&) = delete;
    ~churn_slots() {
        for (std::size_t i = 0; i < churn_plan::live; ++i)
            backend_.deallocate(blocks_[i], held_[i]);
    }

    void step(std::size_t k) {
        const auto& plan = churn_plan::get();
        const std::size_t s = plan.slots[k % churn_plan::steps];
        backend_.deallocate(blocks_[s], held_[s]);
        held_[s] = plan.sizes[k % churn_plan::steps];
        blocks_[s] = backend_.allocate(held_[s]);
        touch(blocks_[s], held_[s]);
    }

private:
    Backend& backend_;
    std::vector<void*> blocks_ = std::vector<void*>(churn_plan::live);
    std::vector<std::uint32_t> held_ = std::vector<std::uint32_t>(churn_plan::live);
};

// Random-order churn: `live` slots; each step frees the block in a random slot and allocates a new
// one of a random size there. Counts one operation per free+allocate pair.
template <class Backend>
void churn_random(benchmark::State& state, Backend& backend) {
    constexpr std::size_t batch = 1000;
    {
        churn_slots<Backend> slots(backend);
        std::size_t step = 0;
        for (auto _ : state) {
            for (std::size_t k = 0; k < batch; ++k, ++step)
                slots.step(step);
            benchmark::ClobberMemory();
        }
    }
    count_items(state, batch);
}

// Registers churn_lifo/<name> and churn_random/<name> on *backend, which must outlive the run.
template <class Backend>
void register_churn(const std::string& name, Backend* backend) {
    benchmark::RegisterBenchmark(("churn_lifo/" + name).c_str(),
                                 [backend](benchmark::State& s) { churn_lifo(s, *backend); });
    benchmark::RegisterBenchmark(("churn_random/" + name).c_str(),
                                 [backend](benchmark::State& s) { churn_random(s, *backend); });
}

// Peak memory of the random churn, for one backend in its own process: the caller reads the
// process's peak resident set before and after.
template <class Backend>
std::size_t churn_for_memory(Backend& backend, std::size_t steps) {
    const auto& plan = churn_plan::get();
    constexpr std::size_t live = 20000; // enough live bytes (~10 MB) to dwarf the process itself
    std::vector<void*> blocks(live);
    std::vector<std::uint32_t> held(live);
    std::size_t requested = 0, peak = 0;
    for (std::size_t i = 0; i < live; ++i) {
        held[i] = plan.sizes[i % churn_plan::steps];
        blocks[i] = backend.allocate(held[i]);
        std::memset(blocks[i], 0x5A, held[i]); // make every page resident
        requested += held[i];
    }
    peak = requested;
    std::mt19937 rng(7);
    for (std::size_t k = 0; k < steps; ++k) {
        const std::size_t s = rng() % live;
        backend.deallocate(blocks[s], held[s]);
        requested -= held[s];
        held[s] = plan.sizes[k % churn_plan::steps];
        blocks[s] = backend.allocate(held[s]);
        std::memset(blocks[s], 0x5A, held[s]);
        requested += held[s];
        peak = std::max(peak, requested);
    }
    for (std::size_t i = 0; i < live; ++i)
        backend.deallocate(blocks[i], held[i]);
    return peak;
}

// The number of nodes of the node-heavy workloads: 1,000,000, or 10,000 with MEMMGR_BENCH_QUICK=1
// (the CI smoke run).
inline std::size_t node_count() {
    const char* quick = std::getenv("MEMMGR_BENCH_QUICK");
    return quick != nullptr && *quick == '1' ? 10'000 : 1'000'000;
}

// The memory figure for one backend, in a process of its own: peak resident growth during the
// churn against the peak of bytes requested, printed as one JSON line for tools/dev bench.
template <class Backend>
int report_memory(std::string_view name, Backend& backend) {
    const std::size_t before = peak_rss_bytes();
    const std::size_t peak_requested = churn_for_memory(backend, 2'000'000);
    const std::size_t growth = peak_rss_bytes() - before;
    std::printf(
        "{\"backend\": \"%.*s\", \"peak_requested_bytes\": %zu, \"peak_rss_growth_bytes\": %zu}\n",
        static_cast<int>(name.size()), name.data(), peak_requested, growth);
    return 0;
}

// Google Benchmark's main, after the benchmarks were registered.
inline int run_registered_benchmarks(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

} // namespace memmgr_bench
