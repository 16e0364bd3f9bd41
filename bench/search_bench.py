#!/usr/bin/env python3
"""search_bench.py — scale of `siglip index` / `siglip search`, each next to its baseline.

Usage (Debian's python3 for numpy, sqlite3 and PIL; the timing run holds the bench lock):
  /usr/bin/python3 bench/search_bench.py --prepare      # images + databases, once (~2 min)
  flock /tmp/siglip-bench.lock /usr/bin/python3 bench/search_bench.py
Options: --siglip build/tools/siglip --model ../shared/fixtures/medium-bf16
         --sizes 10000,100000,1000000 --images 48 --batch 16 --work /tmp/siglip-search-bench

1. Index build rate: `siglip index` of --images synthetic 640x480 JPEGs (images/s, model load
   excluded: the time of a second, no-op run is subtracted) next to the bare image tower at the
   same batch (`siglip bench -m MODEL --tower image`), as a ratio, and the decoding alone
   (`siglip preprocess` of the same files). Best of two rounds: the host is shared.
2. Search latency over N stored embeddings: the index of step 1 padded with N synthetic unit
   vectors (random normal, normalized) of the model's width. `siglip search --timing` reports the
   load of the matrix from SQLite and the top-k (one text query, k = 10; then 16 queries at
   once); the baseline is numpy on the same matrix in memory: scores = Q @ Mᵀ, argpartition,
   sort of the k (numpy's BLAS is whichever libblas.so.3 Debian selects; the reference BLAS of
   libblas3 unless libopenblas0 is installed — printed below).
   Each search runs with both top-k engines in the same invocation, `--engine host` (dot
   products on the host's CPUs) and `--engine device` (siglip_matrix_topk: a GEMM on the
   OpenCL device with the matrix uploaded once), and the ratio host/device is printed (> 1: the
   device engine is faster), with the device engine's one-time upload.
3. Database bytes per image: the file size after a checkpoint over its rows.
--search-only skips step 1; --no-numpy skips the numpy baseline (the 1M-row numpy GEMM of 16
queries takes ~15 s a run on reference BLAS).
The work folder keeps the images and databases between runs (they take a while to make).
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

import numpy as np


def sh(args, **kw):
    t = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if p.returncode:
        sys.exit("%s failed (%d):\n%s" % (" ".join(args), p.returncode, p.stderr))
    return p, time.perf_counter() - t


def make_images(folder, n):
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:480, 0:640]
    for i in range(n):
        path = os.path.join(folder, "img%04d.jpg" % i)
        if os.path.exists(path):
            continue
        base = np.stack([(x * (i + 1) // 7) % 256, (y * (i + 3) // 5) % 256, (x + y + 40 * i) % 256],
                        axis=-1)
        noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(path, quality=90)


def index_rate(a, folder, db, common):
    """Best of two runs each of: the index build, the bare tower, the decoding alone."""
    images = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    best_index = best_tower = best_decode = 0
    for _ in range(2):
        if os.path.exists(db):
            os.remove(db)
        full, t_full = sh([a.siglip, "index", "-m", a.model, "-o", db, "--batch", str(a.batch),
                           folder] + common)
        _, t_noop = sh([a.siglip, "index", "-m", a.model, "-o", db, folder] + common)
        best_index = max(best_index, a.images / (t_full - t_noop))
        tower, _ = sh([a.siglip, "bench", "-m", a.model, "--tower", "image", "--batch",
                       str(a.batch), "--iters", "2", "--json"] + common)
        best_tower = max(best_tower, json.loads(tower.stdout)[0]["items_per_s"])
        _, t_decode = sh([a.siglip, "preprocess", "-m", a.model, "-o",
                          os.path.join(a.work, "pixels.safetensors")] + images + common)
        best_decode = max(best_decode, a.images / t_decode)
    print("index build: %.2f images/s (%d 640x480 JPEGs, batch %d, model load excluded); "
          "image tower alone %.2f images/s; decoding alone %.2f images/s (incl. writing); "
          "index/tower %.2f" % (best_index, a.images, a.batch, best_tower, best_decode,
                                best_index / best_tower))


def pad_index(src, dst, n, seed):
    """A copy of the index src with synthetic rows up to n embeddings."""
    if os.path.exists(dst):
        return
    tmp = dst + ".part"
    con = sqlite3.connect(src)
    con.execute("VACUUM INTO ?", (tmp,))
    con.close()
    con = sqlite3.connect(tmp)
    dim = int(con.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()[0])
    have = con.execute("SELECT count(*) FROM images").fetchone()[0]
    rng = np.random.default_rng(seed)
    for start in range(have, n, 50000):
        m = rng.standard_normal((min(50000, n - start), dim), dtype=np.float32)
        m /= np.linalg.norm(m, axis=1, keepdims=True)
        con.executemany(
            "INSERT INTO images(path, size, mtime_ns, embedding, indexed_at) VALUES(?, ?, ?, ?, 0)",
            (("/photos/%04d/%02d/IMG_%07d.jpg" % (2000 + i // 100000, i // 10000 % 12 + 1, i),
              2500000, 1700000000000000000 + i, row.astype("<f4").tobytes())
             for i, row in zip(range(start, start + len(m)), m)))
        con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    os.rename(tmp, dst)


def timings(stderr):
    load = float(re.search(r"loaded \d+ embeddings of \d+ floats in ([0-9.]+) s", stderr).group(1))
    topk = float(re.search(r"top-\d+ of \d+ in ([0-9.]+) s", stderr).group(1))
    ready = float(re.search(r"engine ready in ([0-9.]+) s", stderr).group(1))
    return load, topk, ready


def load_matrix(db, dim):
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM images WHERE embedding IS NOT NULL").fetchone()[0]
    m = np.empty((n, dim), dtype=np.float32)
    for i, (blob,) in enumerate(con.execute(
            "SELECT embedding FROM images WHERE embedding IS NOT NULL")):
        m[i] = np.frombuffer(blob, dtype="<f4")
    con.close()
    return m


def numpy_topk(m, queries, k):
    """Best of 3 wall times of numpy's top-k: one GEMM, argpartition, sort of the k."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        scores = queries @ m.T                                  # [Q, N]
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        for q in range(queries.shape[0]):
            top[q] = top[q, np.argsort(-scores[q, top[q]])]
        best = min(best, time.perf_counter() - t)
    return best


def search_latency(a, db, n, common):
    texts = ["a dog on the beach"] + ["query number %d" % i for i in range(15)]
    m = None if a.no_numpy else load_matrix(db, int(a.dim))
    rows = []
    for nq in (1, 16):
        best = {}
        # Rounds alternate the engines, so both see the same moments of a shared host.
        for _ in range(2):
            for engine in ("host", "device"):
                p, wall = sh([a.siglip, "search", db, "--top", "10", "--timing", "--engine",
                              engine] + texts[:nq] + common)
                load, topk, ready = timings(p.stderr)
                best[engine] = min(best.get(engine, (float("inf"),) * 3), (topk, load, ready))
        base = float("nan")
        if m is not None:
            rng = np.random.default_rng(2)
            q = rng.standard_normal((nq, int(a.dim)), dtype=np.float32)
            q /= np.linalg.norm(q, axis=1, keepdims=True)
            base = numpy_topk(m, q, 10)
        rows.append((nq, best["host"], best["device"], base))
    del m
    size = os.path.getsize(db)
    for nq, (host, load, _), (dev, _, upload), base in rows:
        numpy = "" if a.no_numpy else "  numpy %.4f s  numpy/host %.2f" % (base, base / host)
        print("N=%8d  queries=%2d  top-10 host %.4f s (%.1f ms/query)  device %.4f s  "
              "host/device %.2f  (device upload %.2f s)%s  load from SQLite %.2f s  "
              "DB %.0f bytes/image"
              % (n, nq, host, 1000 * host / nq, dev, host / dev, upload, numpy, load, size / n))
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--siglip", default="build/tools/siglip")
    ap.add_argument("--model", default="../shared/fixtures/medium-bf16")
    ap.add_argument("--work", default="/tmp/siglip-search-bench")
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--device")
    ap.add_argument("--search-only", action="store_true", help="skip the index build rate")
    ap.add_argument("--no-numpy", action="store_true", help="skip the numpy baseline")
    ap.add_argument("--prepare", action="store_true",
                    help="only make the images and databases (no timing; no lock needed)")
    a = ap.parse_args()
    common = ["--cache-dir", os.path.join(a.work, "kernel-cache")]
    if a.device:
        common += ["--device", a.device]
    folder, db = os.path.join(a.work, "images"), os.path.join(a.work, "real.sqlite")
    make_images(folder, a.images)
    if a.prepare:
        if not os.path.exists(db):
            sh([a.siglip, "index", "-m", a.model, "-o", db, folder] + common)
        for n in (int(s) for s in a.sizes.split(",")):
            pad_index(db, os.path.join(a.work, "synthetic-%d.sqlite" % n), n, seed=n)
        return
    if not a.search_only:
        index_rate(a, folder, db, common)
    con = sqlite3.connect(db)
    a.dim = con.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()[0]
    con.close()
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    print("host: %d CPUs; embeddings of %s floats; numpy %s with %s"
          % (os.cpu_count(), a.dim, np.__version__, blas))
    for n in (int(s) for s in a.sizes.split(",")):
        padded = os.path.join(a.work, "synthetic-%d.sqlite" % n)
        pad_index(db, padded, n, seed=n)
        search_latency(a, padded, n, common)


if __name__ == "__main__":
    main()
