#!/usr/bin/env python3
"""Turns one run of memmgr's benchmarks into a Markdown report and SVG plots.

Usage: bench_report.py <results folder>
The folder holds what tools/dev bench wrote there: *.json from Google Benchmark (run with
repetitions and aggregates), memory-*.json (one line per backend), instructions.json (callgrind
totals) and real-programs.md (the tables of tools/real-programs/run.py --full, copied into the
report as they are). Writes report.md and one SVG per workload into the same folder.

Every figure is a median (of CPU time, which other processes on a shared machine disturb less
than wall time) or a ratio of two medians from the same run.
"""
import json
import pathlib
import platform
import subprocess
import sys

BASELINES = {
    "churn_lifo": "glibc_malloc",
    "churn_random": "glibc_malloc",
    "vector_growth": "pmr_new_delete",
    "map_build_destroy": "std_allocator",
    "list_build_destroy": "std_allocator",
    "map_teardown": "glibc_node_by_node",
    "bstr": None,  # filled in per sub-workload below
}


def load_medians(folder):
    """{workload: {backend: ns per item (or per iteration when no items)}}"""
    medians = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith(("memory-", "instructions", "real-programs")):
            continue
        data = json.loads(path.read_text())
        for b in data.get("benchmarks", []):
            if b.get("aggregate_name") != "median":
                continue
            name = b["run_name"].split("/iterations:")[0]
            workload, _, backend = name.partition("/")
            unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
            if "items_per_second" in b and b["items_per_second"] > 0:
                # items/s is computed from CPU time by Google Benchmark.
                value = 1e9 / b["items_per_second"]
            else:
                value = b["cpu_time"] * unit
            medians.setdefault(workload, {})[backend] = value
    return medians


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.1f} ns"


def table(workload, rows, baseline):
    per_item = workload.startswith(("churn", "vector", "map_build", "list_build", "bstr"))
    unit = "per byte" if workload == "bstr_from_utf8" else "per operation" if per_item else "per run"
    head = "| backend | median " + unit + " | vs " + (baseline or "—") + " |"
    lines = [head, "|---|---:|---:|"]
    base = rows.get(baseline) if baseline else None
    for backend, ns in sorted(rows.items(), key=lambda kv: kv[1]):
        ratio = f"{ns / base:.2f}×" if base else "—"
        lines.append(f"| {backend} | {fmt_ns(ns)} | {ratio} |")
    return "\n".join(lines)


def plot(folder, workload, rows):
    """A horizontal bar chart of the medians, as SVG, with gnuplot (if installed)."""
    data = folder / f"{workload}.dat"
    ordered = sorted(rows.items(), key=lambda kv: kv[1])
    data.write_text("".join(f'"{b}" {ns:.3f}\n' for b, ns in ordered))
    script = f"""
set terminal svg size 900,{120 + 28 * len(ordered)} dynamic font "sans,12"
set output "{folder / (workload + '.svg')}"
set title "{workload} (median CPU time, lower is better)"
set style fill solid 0.8
set boxwidth 0.6
set yrange [-0.5:{len(ordered) - 0.5}]
set xlabel "ns"
set grid x
unset key
plot "{data}" using ($2*0.5):0:($2*0.5):(0.3):yticlabels(1) with boxxyerror lc rgb "#4878a8"
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
        return f"{workload}.svg"
    except (OSError, subprocess.CalledProcessError):
        return None


def figures(medians, folder):
    """The issue's figures: each one computed, with met / not met."""
    out = ["| figure | target | measured | met |", "|---|---|---|---|"]

    def row(name, target, measured, met):
        verdict = "—" if met is None else "yes" if met else "no"  # None: no target to meet
        out.append(f"| {name} | {target} | {measured} | {verdict} |")

    for w in ("churn_random", "churn_lifo"):
        r = medians.get(w, {})
        if "win32_heap" in r:
            for adapter in ("heap_resource_win32_heap", "heap_allocator_win32_heap"):
                if adapter in r:
                    ratio = r[adapter] / r["win32_heap"]
                    row(f"adapter time, {adapter} / win32_heap ({w})", "≤ 1.05×", f"{ratio:.3f}×", ratio <= 1.05)
    instr = folder / "instructions.json"
    if instr.exists():
        counts = json.loads(instr.read_text())
        per_op = {k: (v["total"] - v["empty"]) / v["steps"] for k, v in counts.items()}
        for adapter in ("heap_resource", "heap_allocator"):
            if adapter in per_op and "direct" in per_op:
                ratio = per_op[adapter] / per_op["direct"]
                row(f"adapter instructions, {adapter} / direct (callgrind)", "≤ 1.05×",
                    f"{per_op[adapter]:.0f} / {per_op['direct']:.0f} per op = {ratio:.3f}×", ratio <= 1.05)
        if "debug_heap" in per_op and "direct" in per_op:
            ratio = per_op["debug_heap"] / per_op["direct"]
            row("debug_heap instructions, debug_heap<win32_heap&> / direct (callgrind)", "≤ 3×",
                f"{per_op['debug_heap']:.0f} / {per_op['direct']:.0f} per op = {ratio:.2f}×", ratio <= 3)
    for w in ("churn_random", "churn_lifo"):
        r = medians.get(w, {})
        if "win32_heap" in r and "debug_heap_win32_heap" in r:
            ratio = r["debug_heap_win32_heap"] / r["win32_heap"]
            row(f"debug_heap time, debug_heap_win32_heap / win32_heap ({w})", "≤ 3×", f"{ratio:.2f}×", ratio <= 3)
    for w in ("churn_random", "churn_lifo"):
        r = medians.get(w, {})
        for heap in ("win32_heap", "win32_heap_no_serialize"):
            if heap in r and "glibc_malloc" in r:
                ratio = r[heap] / r["glibc_malloc"]
                row(f"{heap} / glibc_malloc ({w})", "≤ 1.00×", f"{ratio:.2f}×", ratio <= 1.0)
            if heap in r and "mimalloc_heap" in r:
                ratio = r[heap] / r["mimalloc_heap"]
                row(f"{heap} / mimalloc_heap ({w})", "≤ 1.25×", f"{ratio:.2f}×", ratio <= 1.25)
    t = medians.get("map_teardown", {})
    if "glibc_node_by_node" in t and "win32_heap_release_all" in t:
        speedup = t["glibc_node_by_node"] / t["win32_heap_release_all"]
        row("teardown of 1,000,000 map nodes: glibc node by node / win32_heap release_all",
            "≥ 20×", f"{speedup:.1f}×", speedup >= 20)
    b = medians.get("bstr_from_utf8", {})
    for kind in ("ascii", "non_ascii"):
        if kind in b:
            # items are bytes for this workload: ns per byte -> GB/s
            gbps = 1.0 / b[kind]
            row(f"bstr from {kind.replace('_', '-')} UTF-8", "≥ 1 GB/s" if kind == "ascii" else "—",
                f"{gbps:.2f} GB/s", gbps >= 1.0 if kind == "ascii" else None)
    for w in ("churn_random", "churn_lifo"):
        r = medians.get(w, {})
        if "debug_heap_win32_heap" in r and "win32_heap" in r:
            ratio = r["debug_heap_win32_heap"] / r["win32_heap"]
            row(f"debug_heap<win32_heap> / win32_heap ({w})", "≤ 3×", f"{ratio:.2f}×", ratio <= 3.0)
    return "\n".join(out)


def memory_table(folder):
    rows = []
    for path in sorted(folder.glob("memory-*.json")):
        for line in path.read_text().splitlines():
            if line.strip().startswith("{"):
                rows.append(json.loads(line))
    if not rows:
        return ""
    lines = ["| backend | peak bytes requested | peak resident growth | resident bytes per byte requested |",
             "|---|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: r["peak_rss_growth_bytes"] / r["peak_requested_bytes"]):
        ratio = r["peak_rss_growth_bytes"] / r["peak_requested_bytes"]
        lines.append(f"| {r['backend']} | {r['peak_requested_bytes']:,} | {r['peak_rss_growth_bytes']:,} | {ratio:.2f} |")
    return "\n".join(lines)


def machine():
    cpu = "unknown CPU"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len([l for l in pathlib.Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("processor")])
    return f"{cpu}, {cores} cores, {platform.system()} {platform.release()}"


def main():
    folder = pathlib.Path(sys.argv[1])
    medians = load_medians(folder)
    parts = ["# memmgr benchmark report", "",
             f"Machine: {machine()}. Medians of CPU time over the repetitions of one run; ratios compare "
             "medians from that same run.", "", "## Figures", "", figures(medians, folder), ""]
    mem = memory_table(folder)
    if mem:
        parts += ["## Memory (random churn, 20,000 live blocks of 16–1024 bytes)", "", mem, ""]
    real = folder / "real-programs.md"
    if real.exists():
        parts += ["## Real programs (tools/real-programs/run.py --full)", "", real.read_text(), ""]
    for workload in sorted(medians):
        baseline = BASELINES.get(workload)
        if workload.startswith("bstr"):
            baseline = "std_u16string" if "std_u16string" in medians[workload] else None
        parts += [f"## {workload}", "", table(workload, medians[workload], baseline), ""]
        svg = plot(folder, workload, medians[workload])
        if svg:
            parts += [f"![{workload}]({svg})", ""]
    (folder / "report.md").write_text("\n".join(parts))
    print(folder / "report.md")


if __name__ == "__main__":
    main()
