#!/usr/bin/env python3
"""Writes the committed seed corpora once (python3 fuzz/corpus/make_seeds.py); libFuzzer grows its
own working corpus from them. FuzzedDataProvider reads the harnesses' choices from the end of an
input, so each seed's last byte picks what is fuzzed: for heap_ops the heap (byte % 9: crt, com,
local, global, win32 growable, fixed, no-serialize, debug_heap<win32_heap>, debug_heap<com_heap>);
for private_heap byte % 16 == 0 the process heap, else a new heap. The rest is random bytes of a
few lengths (the operations and their arguments), from a fixed seed so that reruns agree."""
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
