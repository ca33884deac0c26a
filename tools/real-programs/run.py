#!/usr/bin/env python3
"""Real programs on memmgr's private heap: a TESTING AND BENCHMARKING TOOL.

Runs programs from Debian's packages (clang, sqlite3, python3, git, xz, perl) and one of ours
(memmgr.real.threads) with each allocator: glibc's malloc, libmemmgr-malloc.so (one serialized
memmgr::win32_heap, preloaded), jemalloc and mimalloc (preloaded). Each run's outputs must be
byte-identical to glibc's, and every process on memmgr's heap must report a valid heap at exit.
Each run is timed by /usr/bin/time -v (user + system CPU, wall, peak resident set).

  run.py --short --shim LIB --threads EXE [--work DIR]
      one run per allocator, small inputs (the release leg's test, memmgr.real_programs.short)
  run.py --full --shim LIB --threads EXE [--runs 5] [--markdown FILE] [--json FILE]
      full inputs, medians of --runs alternating runs (tools/dev bench)

Exit status: 0 if every output matched and every heap was valid, 1 otherwise, 2 for bad usage or
a missing program. No timing is asserted: the figures are reported, never judged.
Requires Debian's sqlite3, xz-utils, git, perl, python3, time, clang-19, libjemalloc2 and
libmimalloc2.0 (tools/dev setup installs them).
"""
import argparse
import hashlib
import json
import os
import pathlib
import random
import shutil
import statistics
import subprocess
import sys
import time

PEERS = {
    "jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
    "mimalloc": "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
}
TIME = "/usr/bin/time"
VERDICT_OK = "memmgr-heap: valid"


def fail(message):
    print(f"run.py: {message}", file=sys.stderr)
    sys.exit(2)


def words(rng, count):
    """Deterministic pseudo-English: a fixed vocabulary drawn by a seeded generator."""
    vocabulary = [
        "heap", "block", "segment", "arena", "page", "free", "list", "bin", "cache", "thread",
        "lock", "size", "class", "large", "small", "header", "seal", "walk", "valid", "commit",
        "decommit", "map", "remap", "grow", "shrink", "align", "offset", "table", "entry", "slot",
        "queue", "producer", "consumer", "memory", "resident", "peak", "median", "glibc",
    ]
    return [rng.choice(vocabulary) for _ in range(count)]


# --- the workloads -----------------------------------------------------------------------------
# Each: setup(folder, size) writes its inputs once; command(folder, size, threads) is what runs
# (in a fresh folder per run, with `prepare` copying what a run may modify); outputs are the files
# compared with glibc's (stdout is always compared).

CLANG_SHORT = r"""
#include <algorithm>
#include <map>
#include <string>
#include <vector>
template <class T> std::map<std::string, std::vector<T>> group(const std::vector<T>& v) {
    std::map<std::string, std::vector<T>> out;
    for (const T& x : v) out[std::to_string(x % 17)].push_back(x);
    for (auto& [k, xs] : out) std::sort(xs.begin(), xs.end());
    return out;
}
template std::map<std::string, std::vector<int>> group(const std::vector<int>&);
template std::map<std::string, std::vector<long>> group(const std::vector<long>&);
"""

CLANG_FULL = r"""
#include <boost/algorithm/string.hpp>
#include <boost/format.hpp>
#include <boost/lexical_cast.hpp>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/spirit/home/x3.hpp>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>
namespace x3 = boost::spirit::x3;
std::vector<double> numbers(const std::string& s) {
    std::vector<double> out;
    auto it = s.begin();
    x3::phrase_parse(it, s.end(), x3::double_ % ',', x3::space, out);
    return out;
}
std::string report(const std::map<std::string, int>& m) {
    boost::property_tree::ptree tree;
    for (const auto& [k, v] : m) tree.put(boost::algorithm::to_upper_copy(k), v);
    std::ostringstream os;
    boost::property_tree::write_json(os, tree);
    return (boost::format("%1%: %2%") % m.size() % os.str()).str();
}
int words(const std::string& s) {
    std::vector<std::string> parts;
    boost::split(parts, s, boost::is_any_of(" ,;"));
    std::regex r("[a-z]+[0-9]*");
    int n = 0;
    for (const auto& p : parts) n += std::regex_match(p, r) ? boost::lexical_cast<int>("1") : 0;
    return n;
}
"""

PYTHON_SCRIPT = r"""
import collections, hashlib, json, re, sys
n = int(sys.argv[1])
words = open(sys.argv[2]).read().split()
digest = hashlib.sha256()
counts = collections.Counter(words)
for w, c in sorted(counts.items()):
    digest.update(f"{w}:{c};".encode())
records = [{"id": i, "name": words[i % len(words)] * (1 + i % 5), "tags": words[i % 7:i % 7 + i % 9],
            "value": (i * 2654435761) % 1000003 / 7.0} for i in range(n)]
text = json.dumps(records, sort_keys=True)
back = json.loads(text)
digest.update(text.encode())
index = collections.defaultdict(list)
for r in back:
    for t in r["tags"]:
        index[t].append(r["id"])
for t in sorted(index):
    digest.update(f"{t}={len(index[t])},{sum(index[t])};".encode())
pattern = re.compile(r"(\w+)e(\w*)")
joined = " ".join(r["name"] for r in back[: n // 4])
digest.update(pattern.sub(r"\2-\1", joined).encode())
class Node:
    __slots__ = ("key", "children")
    def __init__(self, key):
        self.key, self.children = key, []
root = Node(0)
level = [root]
for i in range(1, n):
    node = Node(i)
    level[i % len(level)].children.append(node)
    if i % 3 == 0:
        level.append(node)
    if len(level) > 1000:
        level = level[500:]
print(len(records), len(index), digest.hexdigest())
"""

PERL_SCRIPT = r"""
use strict; use warnings; use Digest::MD5 qw(md5_hex);
my ($n, $file) = @ARGV;
open(my $fh, '<', $file) or die "$file: $!";
my @words = split /\s+/, do { local $/; <$fh> };
my %count; $count{$_}++ for @words;
my $ctx = Digest::MD5->new;
$ctx->add("$_:$count{$_};") for sort keys %count;
my @records;
for my $i (0 .. $n - 1) {
    my $w = $words[$i % @words];
    push @records, { id => $i, name => $w x (1 + $i % 5), value => sprintf("%.3f", ($i * 2654435761) % 1000003 / 7) };
}
my %by_name;
push @{ $by_name{ $_->{name} } }, $_->{id} for @records;
for my $k (sort keys %by_name) { $ctx->add($k . scalar(@{ $by_name{$k} })); }
my $text = join "\n", map { "$_->{id}\t$_->{name}\t$_->{value}" } @records;
(my $changed = $text) =~ s/(\w+)e(\w*)/$2-$1/g;
$ctx->add($changed);
my @sorted = sort { $a->{value} <=> $b->{value} or $a->{id} <=> $b->{id} } @records;
$ctx->add(join ',', map { $_->{id} } @sorted[0 .. 99]);
my $s = ''; $s .= $_->{name} for @records[0 .. ($n / 10)];
print scalar(@records), " ", scalar(keys %by_name), " ", length($s), " ", $ctx->hexdigest, "\n";
"""


def setup_clang(folder, size):
    (folder / "input.cpp").write_text(CLANG_SHORT if size == "short" else CLANG_FULL)


def setup_text(folder, size):
    rng = random.Random(17)
    count = 60_000 if size == "short" else 600_000
    line = []
    with open(folder / "words.txt", "w") as out:
        for i, w in enumerate(words(rng, count)):
            line.append(w)
            if len(line) == 12:
                out.write(" ".join(line) + "\n")
                line = []
    (folder / "script.py").write_text(PYTHON_SCRIPT)
    (folder / "script.pl").write_text(PERL_SCRIPT)


def setup_sqlite(folder, size):
    rng = random.Random(5)
    n = 20_000 if size == "short" else 200_000
    vocabulary = words(rng, 500)
    with open(folder / "script.sql", "w") as out:
        out.write("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL, "
                  "payload TEXT);\nBEGIN;\n")
        for i in range(1, n + 1):
            name = f"{vocabulary[i % 500]}-{(i * 7919) % 100003}"
            payload = " ".join(vocabulary[(i + k) % 500] for k in range(i % 13))
            out.write(f"INSERT INTO t VALUES({i},'{name}',{i % 97},{(i * 2654435761) % 1000003 / 7.0:.4f},"
                      f"'{payload}');\n")
        out.write("""COMMIT;
CREATE INDEX t_grp ON t(grp, name);
SELECT grp, count(*), sum(length(payload)), round(avg(val), 3) FROM t GROUP BY grp ORDER BY grp;
SELECT name FROM t WHERE grp = 7 ORDER BY name LIMIT 20;
UPDATE t SET payload = payload || name WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(payload)) FROM t;
SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY val DESC, id LIMIT 50);
SELECT count(DISTINCT payload) FROM t;
""")


def setup_git(folder, size):
    """A scratch repository of `commits` commits over 20 files, built by git fast-import."""
    commits = 150 if size == "short" else 1500
    rng = random.Random(23)
    files = {f"src/file{i:02}.txt": words(rng, 2000) for i in range(20)}
    stream = []
    for c in range(commits):
        stream.append(f"commit refs/heads/main\nmark :{c + 1}\n"
                      f"committer Real Programs <rp@example.invalid> {1700000000 + c * 60} +0000\n")
        message = f"change {c}: {' '.join(words(rng, 6))}\n"
        stream.append(f"data {len(message)}\n{message}")
        if c:
            stream.append(f"from :{c}\n")
        for name in sorted(rng.sample(sorted(files), 3 if c else 20)):
            content = files[name]
            for _ in range(rng.randint(1, 30)):
                content[rng.randrange(len(content))] = " ".join(words(rng, rng.randint(1, 4)))
            data = "\n".join(" ".join(content[i:i + 10]) for i in range(0, len(content), 10)) + "\n"
            stream.append(f"M 100644 inline {name}\ndata {len(data.encode())}\n{data}\n")
    repo = folder / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input="".join(stream).encode(),
                   check=True)
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True)


def setup_xz(folder, size):
    rng = random.Random(41)
    megabytes = 2 if size == "short" else 8
    with open(folder / "data.txt", "w") as out:
        written = 0
        while written < megabytes << 20:
            line = " ".join(words(rng, 14)) + f" {rng.randrange(10**6)}\n"
            out.write(line)
            written += len(line)


WORKLOADS = [
    {
        "name": "clang", "label": "clang -O2 -c", "setup": setup_clang,
        "command": lambda f, size, threads: ["clang++-19", "-std=c++20", "-O2", "-c", str(f / "input.cpp"),
                                             "-o", "out.o"],
        "outputs": ["out.o"], "needs": ["clang++-19"],
    },
    {
        "name": "sqlite3", "label": "sqlite3 (inserts, index, queries)", "setup": setup_sqlite,
        "command": lambda f, size, threads: ["sqlite3", ":memory:", f".read {f / 'script.sql'}"],
        "outputs": [], "needs": ["sqlite3"],
    },
    {
        "name": "python3", "label": "python3 (PYTHONMALLOC=malloc)", "setup": setup_text,
        "command": lambda f, size, threads: ["/usr/bin/python3", "-s", str(f / "script.py"),
                                             "30000" if size == "short" else "150000", str(f / "words.txt")],
        "env": {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"},
        "outputs": [], "needs": ["/usr/bin/python3"],
    },
    {
        "name": "git", "label": "git log -p, repack -adf", "setup": setup_git,
        "prepare": lambda f, run: shutil.copytree(f / "repo", run / "repo", symlinks=True),
        "command": lambda f, size, threads: [
            "sh", "-c", "cd repo && git log -p > ../log.txt && git -c pack.threads=1 repack -a -d -f -q && "
            "cat .git/objects/pack/*.pack > ../pack.bin"],
        "env": {"GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"},
        "outputs": ["log.txt", "pack.bin"], "needs": ["git", "sh"],
    },
    {
        "name": "xz", "label": "xz -T2", "setup": setup_xz,
        "command": lambda f, size, threads: ["sh", "-c", f"xz -T2 --block-size=2MiB -6 -c {f / 'data.txt'} > out.xz"],
        "outputs": ["out.xz"], "needs": ["xz", "sh"],
    },
    {
        "name": "perl", "label": "perl (hashes, regexes, sort)", "setup": setup_text,
        "command": lambda f, size, threads: ["perl", str(f / "script.pl"), "30000" if size == "short" else "200000",
                                             str(f / "words.txt")],
        "env": {"PERL_HASH_SEED": "0", "PERL_PERTURB_KEYS": "0"},
        "outputs": [], "needs": ["perl"],
    },
    {
        "name": "threads", "label": "4 threads, frees on another thread", "setup": None,
        "command": lambda f, size, threads: [threads, "50000" if size == "short" else "300000"],
        "outputs": [], "needs": [],
    },
]


def parse_time(path):
    """user+sys seconds, wall seconds, peak RSS in KiB, from /usr/bin/time -v."""
    fields = {}
    for line in pathlib.Path(path).read_text().splitlines():
        key, _, value = line.strip().rpartition(": ")
        fields[key] = value
    wall = 0.0
    for part in fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":"):
        wall = wall * 60 + float(part)
    cpu = float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
    return cpu, wall, int(fields["Maximum resident set size (kbytes)"])


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_once(workload, folder, work, size, allocator, preload, threads, index):
    run = work / "runs" / f"{workload['name']}.{allocator}.{index}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    if "prepare" in workload:
        workload["prepare"](folder, run)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update(workload.get("env", {}))
    verdicts = run / "heap-verdicts.txt"
    env["MEMMGR_HEAP_REPORT"] = str(verdicts)
    command = workload["command"](folder, size, threads)
    wrapped = [TIME, "-v", "-o", str(run / "time.txt")]
    if preload:
        wrapped += ["env", f"LD_PRELOAD={preload}"]
    with open(run / "stdout.txt", "wb") as out, open(run / "stderr.txt", "wb") as err:
        status = subprocess.run(wrapped + command, cwd=run, env=env, stdout=out, stderr=err).returncode
    outputs = {"stdout": digest(run / "stdout.txt")}
    for name in workload["outputs"]:
        outputs[name] = digest(run / name) if (run / name).exists() else "missing"
    cpu, wall, rss = parse_time(run / "time.txt")
    lines = verdicts.read_text().splitlines() if verdicts.exists() else []
    return {"status": status, "outputs": outputs, "cpu": cpu, "wall": wall, "rss_kib": rss,
            "verdicts": lines, "folder": str(run)}


def check(result, reference, allocator):
    """\returns the problems of one run: its exit status, its outputs against glibc's, its heap."""
    problems = []
    if result["status"] != 0 or result["status"] != reference["status"]:
        problems.append(f"exit status {result['status']} (glibc: {reference['status']})")
    for name, value in result["outputs"].items():
        if value != reference["outputs"][name]:
            problems.append(f"{name} differs from glibc's")
    if allocator == "memmgr":
        if not result["verdicts"]:
            problems.append("no heap verdict (MEMMGR_HEAP_REPORT was not written)")
        bad = [v for v in result["verdicts"] if not v.startswith(VERDICT_OK)]
        problems += [f"heap: {v}" for v in bad]
    return problems


def ratio(a, b):
    return a / b if b else float("nan")


def markdown(summary, allocators, runs, size):
    peers = [a for a in allocators if a != "memmgr"]
    out = [f"Real programs on memmgr's private heap ({size} inputs, median of {runs} alternating "
           f"run{'s' if runs != 1 else ''} per allocator).", "",
           "memmgr ÷ peer: CPU time (user + system), then peak RSS; below 1 is better for memmgr.", ""]
    out.append("| workload | " + " | ".join(f"÷ {p}" for p in peers) + " |")
    out.append("|---|" + "---|" * len(peers))
    for w in summary:
        m = w["medians"]["memmgr"]
        cells = [f"{ratio(m['cpu'], w['medians'][p]['cpu']):.2f}, RSS {ratio(m['rss_kib'], w['medians'][p]['rss_kib']):.2f}"
                 for p in peers]
        out.append(f"| {w['label']} | " + " | ".join(cells) + " |")
    out += ["", "Medians: CPU s (lowest–highest of the runs) / wall s / peak RSS MiB.", ""]
    out.append("| workload | " + " | ".join(allocators) + " |")
    out.append("|---|" + "---|" * len(allocators))
    for w in summary:
        cells = []
        for a in allocators:
            m = w["medians"][a]
            cpus = [r["cpu"] for r in w["runs"][a]]
            spread = f" ({min(cpus):.2f}–{max(cpus):.2f})" if len(cpus) > 1 else ""
            cells.append(f"{m['cpu']:.2f}{spread} / {m['wall']:.2f} / {m['rss_kib'] / 1024:.1f}")
        out.append(f"| {w['label']} | " + " | ".join(cells) + " |")
    out += ["", "Heap verdicts (the first process of each workload's last memmgr run):", ""]
    out += [f"- {w['label']}: `{w['verdicts'][0] if w['verdicts'] else 'none'}` "
            f"({len(w['verdicts'])} process{'es' if len(w['verdicts']) != 1 else ''})" for w in summary]
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--short", action="store_true", help="small inputs, one run per allocator")
    mode.add_argument("--full", action="store_true", help="full inputs, --runs runs per allocator")
    parser.add_argument("--shim", required=True, help="libmemmgr-malloc.so")
    parser.add_argument("--threads", required=True, help="memmgr.real.threads")
    parser.add_argument("--runs", type=int, help="runs per allocator (default: 1 short, 5 full)")
    parser.add_argument("--work", help="scratch folder (default: a new one under /tmp, removed)")
    parser.add_argument("--allocators", default="glibc,memmgr,jemalloc,mimalloc",
                        help="comma-separated, glibc first (default: all four)")
    parser.add_argument("--only", help="comma-separated workload names (default: all)")
    parser.add_argument("--markdown", help="write the tables there too")
    parser.add_argument("--json", help="write every run's figures there")
    parser.add_argument("--tables-from", metavar="JSON",
                        help="run nothing: print the tables of an earlier run's --json")
    args = parser.parse_args()

    if args.tables_from:
        summary = json.loads(pathlib.Path(args.tables_from).read_text())
        allocators = list(summary[0]["runs"])
        runs = len(summary[0]["runs"]["glibc"])
        print(markdown(summary, allocators, runs, "short" if args.short else "full"), end="")
        return 0

    size = "short" if args.short else "full"
    runs = args.runs or (1 if args.short else 5)
    if runs < 1:
        fail("--runs must be at least 1")
    allocators = args.allocators.split(",")
    if allocators[0] != "glibc" or "memmgr" not in allocators:
        fail("--allocators must start with glibc and include memmgr")
    preloads = {"glibc": None, "memmgr": str(pathlib.Path(args.shim).resolve())}
    for a in allocators[1:]:
        if a not in preloads and a not in PEERS:
            fail(f"unknown allocator '{a}' (glibc, memmgr, {', '.join(PEERS)})")
        preloads.setdefault(a, PEERS.get(a))
    for a in allocators:
        if preloads[a] and not pathlib.Path(preloads[a]).is_file():
            fail(f"{a}: {preloads[a]} is missing (tools/dev setup installs it)")
    workloads = WORKLOADS
    if args.only:
        names = args.only.split(",")
        unknown = set(names) - {w["name"] for w in WORKLOADS}
        if unknown:
            fail(f"unknown workload(s) {', '.join(sorted(unknown))}")
        workloads = [w for w in WORKLOADS if w["name"] in names]
    for program in [TIME, "git"] + [n for w in workloads for n in w["needs"]]:
        if not shutil.which(program):
            fail(f"{program} is not installed (tools/dev setup installs it)")
    if not os.access(args.threads, os.X_OK):
        fail(f"{args.threads} is not an executable")
    threads = str(pathlib.Path(args.threads).resolve())

    scratch = None
    marker = ".memmgr-real-programs"  # what makes a folder ours to empty
    if args.work:
        work = pathlib.Path(args.work).resolve()
        if work.exists() and any(work.iterdir()):
            if not (work / marker).exists():
                fail(f"--work {work}: not empty and not an earlier run's folder; name a new one")
            shutil.rmtree(work)
    else:
        scratch = work = pathlib.Path(subprocess.check_output(["mktemp", "-d"], text=True).strip())
    work.mkdir(parents=True, exist_ok=True)
    (work / marker).touch()

    started = time.monotonic()
    summary = []
    failures = []
    for w in workloads:
        folder = work / "inputs" / w["name"]
        folder.mkdir(parents=True, exist_ok=True)
        if w["setup"]:
            w["setup"](folder, size)
        results = {a: [] for a in allocators}
        for i in range(runs):
            for a in allocators:
                results[a].append(run_once(w, folder, work, size, a, preloads[a], threads, i))
        reference = results["glibc"][0]
        problems = []
        for a in allocators:
            for i, r in enumerate(results[a]):
                problems += [f"{w['name']} on {a} (run {i + 1}, {r['folder']}): {p}"
                             for p in check(r, reference, a)]
        medians = {a: {k: statistics.median(r[k] for r in results[a]) for k in ("cpu", "wall", "rss_kib")}
                   for a in allocators}
        m, g = medians["memmgr"], medians["glibc"]
        print(f"{w['name']:8} {'ok  ' if not problems else 'FAIL'} memmgr ÷ glibc: CPU "
              f"{ratio(m['cpu'], g['cpu']):.2f} ({m['cpu']:.2f} vs {g['cpu']:.2f} s), RSS "
              f"{ratio(m['rss_kib'], g['rss_kib']):.2f} ({m['rss_kib'] / 1024:.1f} vs {g['rss_kib'] / 1024:.1f} MiB); "
              f"{len(results['memmgr'][-1]['verdicts'])} heap verdict(s), "
              f"{'NOT all valid' if any('heap' in p for p in problems) else 'all valid'}", flush=True)
        for p in problems:
            print(f"  {p}")
        failures += problems
        summary.append({"name": w["name"], "label": w["label"], "medians": medians,
                        "verdicts": results["memmgr"][-1]["verdicts"], "runs": results})

    table = markdown(summary, allocators, runs, size)
    print()
    print(table)
    if args.markdown:
        pathlib.Path(args.markdown).write_text(table)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(summary, indent=1))
    print(f"{len(workloads)} workloads x {len(allocators)} allocators x {runs} run(s) in "
          f"{time.monotonic() - started:.0f} s; "
          f"{'every output matched glibc and every heap was valid' if not failures else f'{len(failures)} problem(s)'}")
    if scratch and not failures:
        shutil.rmtree(scratch, ignore_errors=True)
    elif scratch:
        print(f"kept for inspection: {scratch}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
