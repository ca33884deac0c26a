// Issue 17 item 5's fragmentation workload, over the same minimal backend interface as
// workloads.hpp, with one addition: allocate may return nullptr (a fixed-size heap that is full),
// and the workload then counts a failure and goes on.
//
// 3,000 short-lived slots, each step replacing the block of a random one, and 800 long-lived
// slots, one replaced every 256 steps (so they live about 200,000 steps, scattered among the
// others). The size mix changes every 250,000 steps: phase A is mostly small (70% of 16 B-1 KiB,
// 25% of 1-8 KiB, 5% of 8-64 KiB: about 10 MB live), phase B mostly bigger (30%, 40% of 1-16 KiB,
// 27% of 16-64 KiB, 3% of 64-256 KiB: about 55 MB live). A shift from one mix to the other is
// what fragments a heap: the room the old mix freed, pinned here and there by long-lived blocks,
// must serve the new one. Plain C++, a fixed seed: every backend runs exactly the same requests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace memmgr_bench {

struct fragmentation_plan {
    static constexpr std::size_t short_slots = 3000;
    static constexpr std::size_t long_slots = 800;
    static constexpr std::size_t long_every = 256; // steps between two long-lived replacements
    static constexpr std::size_t phase_steps = 250'000;
    static constexpr std::size_t steps = 4 * phase_steps; // A, B, A, B
};

// What the workload saw: the most bytes live at once (as asked for) and the requests that failed.
struct fragmentation_totals {
    std::size_t peak_live_bytes = 0;
    std::size_t failures = 0;
    std::size_t first_failure_step = SIZE_MAX;
};

// A 64-bit linear congruential generator (Knuth's MMIX constants): the same sequence everywhere.
class fragmentation_rng {
public:
    std::uint32_t next() {
        state_ = state_ * 6364136223846793005u + 1442695040888963407u;
        return static_cast<std::uint32_t>(state_ >> 33);
    }
    std::size_t below(std::size_t n) { return next() % n; }
    std::size_t between(std::size_t lo, std::size_t hi) { return lo + below(hi - lo + 1); }

private:
    std::uint64_t state_ = 0x2026120217u;
};

// \returns the size of the next request in phase `b` (false: phase A).
inline std::size_t fragmentation_size(fragmentation_rng& rng, bool b) {
    const std::size_t pick = rng.below(100);
    constexpr std::size_t k = 1024;
    if (!b) {
        if (pick < 70)
            return rng.between(16, k);
        if (pick < 95)
            return rng.between(k + 1, 8 * k);
        return rng.between(8 * k + 1, 64 * k);
    }
    if (pick < 30)
        return rng.between(16, k);
    if (pick < 70)
        return rng.between(k + 1, 16 * k);
    if (pick < 97)
        return rng.between(16 * k + 1, 64 * k);
    return rng.between(64 * k + 1, 256 * k);
}

// Runs the workload on b (its first `steps` steps). After every allocation, observe(step, n, p) is
// called (p nullptr when it failed), so that the caller can look at its heap when it grows or
// fails. Every block is written once per 4 KiB page, as a program filling its buffers would, and
// everything is freed at the end, after observe_end() looked at the heap with the last live set.
template <class Backend, class Observe, class ObserveEnd>
fragmentation_totals run_fragmentation(Backend& b, Observe observe, ObserveEnd observe_end,
                                       std::size_t steps = fragmentation_plan::steps) {
    using plan = fragmentation_plan;
    fragmentation_rng rng;
    fragmentation_totals totals;
    std::vector<void*> blocks(plan::short_slots + plan::long_slots);
    std::vector<std::size_t> held(blocks.size());
    std::size_t live = 0;
    auto place = [&](std::size_t slot, std::size_t step, bool phase_b) {
        if (blocks[slot]) {
            b.deallocate(blocks[slot], held[slot]);
            live -= held[slot];
            blocks[slot] = nullptr;
        }
        const std::size_t n = fragmentation_size(rng, phase_b);
        void* p = b.allocate(n);
        observe(step, n, p);
        if (!p) {
            ++totals.failures;
            if (totals.first_failure_step == SIZE_MAX)
                totals.first_failure_step = step;
            return;
        }
        auto* bytes = static_cast<unsigned char*>(p);
        for (std::size_t i = 0; i < n; i += 4096)
            bytes[i] = static_cast<unsigned char>(step);
        bytes[n - 1] = 1;
        blocks[slot] = p;
        held[slot] = n;
        live += n;
        if (live > totals.peak_live_bytes)
            totals.peak_live_bytes = live;
    };
    for (std::size_t step = 0; step < steps; ++step) {
        const bool phase_b = (step / plan::phase_steps) % 2 == 1;
        place(rng.below(plan::short_slots), step, phase_b);
        if (step % plan::long_every == 0)
            place(plan::short_slots + rng.below(plan::long_slots), step, phase_b);
    }
    observe_end();
    for (std::size_t i = 0; i < blocks.size(); ++i)
        if (blocks[i])
            b.deallocate(blocks[i], held[i]);
    return totals;
}

} // namespace memmgr_bench
