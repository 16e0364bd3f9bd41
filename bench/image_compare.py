#!/usr/bin/python3
"""image_compare.py — the same file → pixel_values pipeline in Pillow (what transformers'
SiglipImageProcessorPil does), for comparison with bench_image: images/s at 224 and 384.

Usage: /usr/bin/python3 bench/image_compare.py [JPEG] [--bench-image PATH] [--seconds S]
With --bench-image, that binary is run on the same file first so the numbers sit side by side.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image, ImageOps


def make_jpeg(path):
    """A photo-like 1024x768 JPEG (when the file does not exist yet)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:768, 0:1024]
    planes = [(x * (k + 1) / 5 + y * (3 - k) / 4 + ((x // 7 + y // 5) % 9) * 6) % 220 for k in range(3)]
    a = np.stack(planes, -1) + rng.integers(0, 16, (768, 1024, 3))
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(path, quality=90)


def pixel_values(path, size):
    im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    im = im.resize((size, size), Image.BICUBIC)
    a = np.asarray(im).astype(np.float64) * (1 / 255)
    a = (a.astype(np.float32) - np.float32(0.5)) / np.float32(0.5)
    return a.transpose(2, 0, 1)


def rate(path, size, seconds):
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pixel_values(path, size)
        n += 1
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jpeg", nargs="?", default="bench-1024x768.jpg")
    ap.add_argument("--bench-image", default=None)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    if not os.path.exists(args.jpeg):
        make_jpeg(args.jpeg)
    if args.bench_image:
        sys.stdout.flush()
        subprocess.run([args.bench_image, args.jpeg, "--seconds", str(args.seconds)], check=True)
    import PIL
    print("Pillow %s (one thread, as transformers runs it), %s" % (PIL.__version__, args.jpeg))
    for size in (224, 384):
        print("  %dx%d: %8.1f images/s" % (size, size, rate(args.jpeg, size, args.seconds)))


if __name__ == "__main__":
    main()
