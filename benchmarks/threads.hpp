// The threaded churn (issue 17, item 2; issue 15's multi-threaded cost): 2 or 4 threads allocating
// and freeing on ONE shared backend, an eighth of the blocks freed by another thread than the one
// that allocated them, as a producer/consumer program or a synchronized_pool_resource user does.
// Plain C++ like workloads.hpp, so that the mimalloc and jemalloc executables include it too.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>

#include "workloads.hpp"

namespace memmgr_bench {

// Per thread, a mailbox of slots its left neighbour posts blocks into. A slot is exchanged
// atomically, so that a post never waits: a block still there from an earlier post is freed by
// the poster itself (then that free is not a remote one).
struct handoff_boxes {
    static constexpr std::size_t max_threads = 8;
    static constexpr std::size_t slots = 64;
    std::atomic<void*> box[max_threads][slots]{};
};

// A block's requested size rides in its first bytes while it is posted (every size is >= 16), so
// that sized frees (jemalloc's sdallocx) get the right size on the other thread.
template <class Backend>
void free_posted(Backend& backend, void* p) {
    std::uint32_t n;
    std::memcpy(&n, p, sizeof n);
    backend.deallocate(p, n);
}

// The random churn of churn_slots on every thread, each with slots of its own, but every eighth
// step's block is posted to the next thread instead of being freed here, and every eighth step
// (offset by four) frees what the previous thread posted. Counts one operation per step.
template <class Backend>
void threads_churn(benchmark::State& state, Backend& backend, handoff_boxes& boxes) {
    constexpr std::size_t batch = 1000;
    const auto& plan = churn_plan::get();
    const auto me = static_cast<std::size_t>(state.thread_index());
    const auto threads = static_cast<std::size_t>(state.threads());
    auto& inbox = boxes.box[me];
    auto& outbox = boxes.box[(me + 1) % threads];
    {
        churn_slots<Backend> slots(backend);
        // Each thread starts elsewhere in the plan, so that threads do not ask for the same sizes
        // in lockstep.
        std::size_t step = me * (churn_plan::steps / handoff_boxes::max_threads);
        std::size_t post = 0, take = 0;
        for (auto _ : state) {
            for (std::size_t k = 0; k < batch; ++k, ++step) {
                if (k % 8 == 0) {
                    const std::uint32_t n = plan.sizes[step % churn_plan::steps];
                    void* p = backend.allocate(n);
                    std::memcpy(p, &n, sizeof n);
                    if (void* old = outbox[post++ % handoff_boxes::slots].exchange(p))
                        free_posted(backend, old);
                } else if (k % 8 == 4) {
                    if (void* p = inbox[take++ % handoff_boxes::slots].exchange(nullptr))
                        free_posted(backend, p);
                } else {
                    slots.step(step);
                }
            }
            benchmark::ClobberMemory();
        }
    }
    // Every thread has left the timed loop (Google Benchmark's barrier): no more posts to drain.
    for (auto& slot : inbox)
        if (void* p = slot.exchange(nullptr))
            free_posted(backend, p);
    count_items(state, batch);
}

// Registers threads_churn/<name> with 2 and 4 threads on *backend, which must outlive the run and
// be safe to share between threads; wall time (the "Time" column) and the process's CPU time.
template <class Backend>
void register_threads_churn(const std::string& name, Backend* backend) {
    auto* boxes = new handoff_boxes; // one per registration, kept for the process's life
    benchmark::RegisterBenchmark(
        ("threads_churn/" + name).c_str(),
        [backend, boxes](benchmark::State& s) { threads_churn(s, *backend, *boxes); })
        ->Threads(2)
        ->Threads(4)
        ->MeasureProcessCPUTime()
        ->UseRealTime();
}

} // namespace memmgr_bench
