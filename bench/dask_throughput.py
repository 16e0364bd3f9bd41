#!/usr/bin/env python3
"""dask_throughput.py — images/s of siglip.dask.embed_images on a LocalCluster of 1 and 2 worker
processes (one thread each), next to the single-process baseline (SiglipModel.encode_image in this
process, same files, same batch size) measured in the same invocation, in alternating rounds;
prints each best rate and its ratio to the baseline, and checks that all give identical
embeddings.

Run under the benchmark lock, with the package and a build's library:
  flock /tmp/siglip-bench.lock env PYTHONPATH=python SIGLIP_LIBRARY=build/src/libsiglip.so \\
      /usr/bin/python3 bench/dask_throughput.py [--model DIR] [--images N] [--workers 1 2]
The default model is the medium fixture (real base widths, one layer per tower) when present,
else tests/data/tiny; the images are N copies of a 640×480 fixture PNG.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_model():
    medium = os.path.join(ROOT, "..", "shared", "fixtures", "medium-bf16")
    return medium if os.path.isfile(os.path.join(medium, "config.json")) else \
        os.path.join(ROOT, "tests", "data", "tiny")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=default_model())
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--partition", type=int, default=32, help="paths per Dask task")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    import distributed
    import siglip
    import siglip.dask

    cache = os.path.join(tempfile.gettempdir(), "siglip-bench-cache")
    src = os.path.join(ROOT, "tests", "data", "images", "rgb_640x480.png")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.images):
            paths.append(os.path.join(tmp, "img%05d.png" % i))
            shutil.copy(src, paths[-1])

        model = siglip.SiglipModel.from_pretrained(args.model, device=args.device,
                                                   cache_dir=cache)

        def single():
            return np.concatenate([model.encode_image(images=paths[i:i + args.batch])
                                   ["image_embeds"] for i in range(0, len(paths), args.batch)])

        runs = {"single process (baseline)": single}
        clusters = []
        for n in args.workers:
            cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1,
                                               processes=True, dashboard_address=":0",
                                               silence_logs=40)
            client = distributed.Client(cluster, set_as_default=False)
            clusters.append((cluster, client))
            runs["dask, %d worker process%s" % (n, "" if n == 1 else "es")] = (
                lambda client=client: siglip.dask.embed_images(
                    paths, args.model, client=client, partition_size=args.partition,
                    batch_size=args.batch, device=args.device, cache_dir=cache).image_embeds)
        # One untimed round (models load in the workers), then rounds taking turns so that
        # load from other processes on the machine falls on all of them alike; best of each.
        best = {name: float("inf") for name in runs}
        for r in range(args.repeats + 1):
            for name, fn in runs.items():
                t = time.perf_counter()
                out = fn()
                if r:
                    best[name] = min(best[name], time.perf_counter() - t)
                if name == "single process (baseline)":
                    base = out
                elif not np.array_equal(out, base):
                    print("%s: embeddings differ from the single process" % name)
                    return 1
        print("model %s, %d images, device %s, batch %d, %d images per task, best of %d; "
              "embeddings identical in all" % (os.path.normpath(args.model), len(paths),
                                               model.device["name"], args.batch, args.partition,
                                               args.repeats))
        base_s = best["single process (baseline)"]
        for name, secs in best.items():
            print("%-28s %8.2f images/s  (%.2f s)  %.2fx baseline"
                  % (name, len(paths) / secs, secs, base_s / secs))
        for cluster, client in clusters:
            client.close()
            cluster.close()
        print("load average: %.2f %.2f %.2f" % os.getloadavg())
    return 0


if __name__ == "__main__":
    sys.exit(main())
