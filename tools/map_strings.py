#!/usr/bin/env python3
"""Issue 15's figures: the map of strings (benchmarks/map_strings.hpp) over every peer, one process
per run, the peers alternating, `rounds` rounds; prints the medians of CPU time and peak resident
set, and memmgr's ratio to each peer, as a Markdown table (and the raw runs as JSON lines on
stderr).

usage: tools/map_strings.py <benchmarks dir> [nodes=1000000] [rounds=5]
"""
import json
import statistics
import subprocess
import sys

PEERS = [
    ("memmgr.bench", "heap_resource_win32_heap"),
    ("memmgr.bench.mimalloc", "mimalloc_heap"),
    ("memmgr.bench.jemalloc", "jemalloc_arena"),
    ("memmgr.bench", "pmr_unsynchronized_pool"),
    ("memmgr.bench", "pmr_new_delete"),
]
OURS = "heap_resource_win32_heap"


def run(folder, exe, backend, nodes, mode):
    out = subprocess.run([f"{folder}/{exe}", f"--map-strings={backend}:{nodes}:{mode}"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    folder = sys.argv[1]
    nodes = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    for mode in ("node_by_node", "drop_whole"):
        peers = [p for p in PEERS if mode == "node_by_node" or p[1] != "pmr_new_delete"]
        results = {b: [] for _, b in peers}
        for _ in range(rounds):
            for exe, backend in peers:
                r = run(folder, exe, backend, nodes, mode)
                print(json.dumps(r), file=sys.stderr)
                results[backend].append(r)
        med = {b: (statistics.median(x["cpu_seconds"] for x in rs),
                   statistics.median(x["peak_rss_bytes"] for x in rs)) for b, rs in results.items()}
        ours_t, ours_m = med[OURS]
        print(f"\n{mode}, {nodes} nodes, medians of {rounds} alternating runs\n")
        print("| peer | CPU s | peak RSS MiB | memmgr ÷ peer: time | memory |")
        print("|---|---|---|---|---|")
        for b, (t, m) in med.items():
            print(f"| {b} | {t:.3f} | {m / 2**20:.1f} | {ours_t / t:.2f}× | {ours_m / m:.2f}× |")


if __name__ == "__main__":
    main()
