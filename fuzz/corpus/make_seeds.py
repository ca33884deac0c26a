#!/usr/bin/env python3
"""Writes the committed seed corpora once (python3 fuzz/corpus/make_seeds.py); libFuzzer grows its
own working corpus from them. FuzzedDataProvider reads the harnesses' choices from the end of an
input, so each seed's last byte picks what is fuzzed: for heap_ops the heap (byte % 9: crt, com,
local, global, win32 growable, fixed, no-serialize, debug_heap<win32_heap>, debug_heap<com_heap>);
for private_heap byte % 16 == 0 the process heap, else a new heap; for bstr the last bytes pick
operations, and strings are read from the front, so its seeds begin with text (well-formed UTF-8
in several scripts, and the ill-formed sequences docs/bstr.md lists). The rest is random bytes of a
few lengths (the operations and their arguments), from a fixed seed so that reruns agree.

Not written here, kept as found: private_heap/damaged-then-*-ops, inputs from fuzzing runs that
damage the heap and then go on for that many operations on it (they depend on the harness's table
of operations, so a change to that table calls for new ones), and
private_heap/cache-head-outside-its-hinted-segment, the input that found a one-sided bound in the
cache take's check. private_heap/config4-64, written here, is also the input that found the fast
free's missing prev_units check (see docs/reliability.md, "Findings fixed")."""
import pathlib
import random

here = pathlib.Path(__file__).resolve().parent
rng = random.Random(8)

def write(harness, name, last, length):
    folder = here / harness
    folder.mkdir(exist_ok=True)
    body = bytes(rng.randrange(256) for _ in range(length - 1)) + bytes([last])
    (folder / name).write_bytes(body)

for heap in range(9):
    for length in (32, 128, 512, 2048):
        write("heap_ops", f"heap{heap}-{length}", heap, length)
for choice in range(12):
    for length in (64, 1024):
        write("private_heap", f"config{choice}-{length}", choice, length)

texts = [
    "plain ASCII, long enough for the eight-byte fast path".encode(),
    "Grüße, déjà vu, naïve café".encode(),
    "Ελληνικά Кириллица עברית العربية".encode(),
    "日本語の文字列と中文字符串".encode(),
    "emoji 😀🎉 and U+10FFFF \U0010FFFF".encode(),
    bytes.fromhex("c0af e080af f0808080 eda080 edbfbf f4908080 f5 ff 80 bf c3 e282 f09f98"),
    bytes.fromhex("41 00 42 00 00 d8 00 dc ff df 61"),
]
for index, text in enumerate(texts):
    for length in (256, 1024):
        folder = here / "bstr"
        folder.mkdir(exist_ok=True)
        tail = bytes(rng.randrange(256) for _ in range(max(0, length - len(text))))
        (folder / f"text{index}-{length}").write_bytes(text + tail)
