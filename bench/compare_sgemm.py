#!/usr/bin/python3
"""compare_sgemm.py — libsiglip's Linear layers next to OpenBLAS SGEMM at the same shapes, in one
invocation: one encoder layer's four matrix products (QKV D→3D, out D→D, MLP up D→I, MLP down
I→D) of a tower at batch B, timed by build/bench/bench_ops (the device's stored tuning, as a
forward runs them) and by OpenBLAS's cblas_sgemm (Debian's libopenblas0, called through ctypes
with numpy arrays, the same thread count), reported as GFLOP/s (2·M·N·K per product) and ratio.

Usage (Debian's python3-numpy and libopenblas0; run with /usr/bin/python3, under the bench lock):
  flock /tmp/siglip-bench.lock bench/compare_sgemm.py [--bench-ops build/bench/bench_ops]
      [--tower image|text ...] [--batch N] [--threads N] [--iters N] [--cache-dir DIR]
Shapes: base-patch16-224 widths (D 768, I 3072; image 196 tokens, text 64) unless --width,
--mlp, --tokens say otherwise; so400m-patch14-384 is --width 1152 --mlp 4304 --tokens 729.
The libsiglip side also adds the bias, GELU or the residual (its fused epilogue); OpenBLAS
computes x·wᵀ alone (beta = 1 where libsiglip accumulates), so the comparison favours OpenBLAS
slightly.
"""
import argparse
import ctypes
import ctypes.util
import os
import re
import subprocess
import sys
import time

import numpy as np

CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS = 101, 111, 112


def load_openblas():
    """libopenblas with cblas_sgemm and openblas_set_num_threads, or None."""
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas") or ""):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            lib.cblas_sgemm  # noqa: B018 (presence check)
            return lib
        except (OSError, AttributeError):
            continue
    return None


def openblas_gflops(lib, M, N, K, beta, iters):
    """Median GFLOP/s of y = x·wᵀ (+ y when beta = 1), x [M, K], w [N, K], after one warm-up."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((M, K), dtype=np.float32)
    w = rng.standard_normal((N, K), dtype=np.float32)
    y = np.zeros((M, N), dtype=np.float32)
    f = ctypes.c_float
    p = lambda a: a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))  # noqa: E731
    times = []
    for r in range(iters + 1):
        t0 = time.perf_counter()
        lib.cblas_sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, M, N, K, f(1.0), p(x), K,
                        p(w), K, f(beta), p(y), N)
        if r > 0:
            times.append(time.perf_counter() - t0)
    times.sort()
    return 2.0 * M * N * K / times[len(times) // 2] * 1e-9


def bench_ops_gflops(exe, tower, args):
    """GFLOP/s of the four Linear rows of bench_ops' table, and its header lines. The QKV and fc1
    rows include the LayerNorm before them (bench_ops times them as one op, as the towers run
    them: sg_op_norm_linear), 1-2 % of those rows' time."""
    cmd = [exe, "--tower", tower, "--batch", str(args.batch), "--iters", str(args.iters)]
    for opt in ("width", "mlp", "tokens"):
        if getattr(args, opt):
            cmd += [f"--{opt}", str(getattr(args, opt))]
    if args.heads:
        cmd += ["--heads", str(args.heads)]
    if args.cache_dir:
        cmd += ["--cache-dir", args.cache_dir]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r"\| (?:layernorm \d \+ )?(qkv|out|fc1|fc2)[^|]*\| [0-9.]+ \| ([0-9.]+) \|",
                     line)
        if m:
            rows[m.group(1)] = float(m.group(2))
    return rows, [l for l in out.splitlines() if l.startswith(("device:", "shape:"))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-ops", default="build/bench/bench_ops")
    ap.add_argument("--tower", action="append", choices=["image", "text"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--width", type=int)
    ap.add_argument("--mlp", type=int)
    ap.add_argument("--tokens", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/siglip"))
    args = ap.parse_args()
    lib = load_openblas()
    if lib is None:
        sys.exit("compare_sgemm: libopenblas.so.0 not found (apt-get install libopenblas0)")
    lib.openblas_set_num_threads(args.threads)
    D = args.width or 768
    I = args.mlp or 3072
    print(f"| tower | product | M×N×K | libsiglip GFLOP/s | OpenBLAS GFLOP/s | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    headers = []
    for tower in args.tower or ["image", "text"]:
        T = args.tokens or (196 if tower == "image" else 64)
        M = args.batch * T
        ours, head = bench_ops_gflops(args.bench_ops, tower, args)
        headers += head
        shapes = [("qkv", "QKV", 3 * D, D, 0.0), ("out", "out (+=)", D, D, 1.0),
                  ("fc1", "MLP up (+GELU)", I, D, 0.0), ("fc2", "MLP down (+=)", D, I, 1.0)]
        for key, label, N, K, beta in shapes:
            theirs = openblas_gflops(lib, M, N, K, beta, args.iters)
            mine = ours.get(key, float("nan"))
            print(f"| {tower} | {label} | {M}×{N}×{K} | {mine:.1f} | {theirs:.1f} | "
                  f"{mine / theirs:.2f}× |")
    core = lib.openblas_get_corename
    core.restype = ctypes.c_char_p
    print(f"\nOpenBLAS {core().decode()} core, {args.threads} threads; "
          + "; ".join(dict.fromkeys(headers)))


if __name__ == "__main__":
    main()
