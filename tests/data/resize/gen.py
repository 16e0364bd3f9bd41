#!/usr/bin/python3
"""gen.py — Pillow's own resize results for every filter, checked by tests/test_resize.c.

Inputs in/<name>.png (RGB, made here: smooth colour fields with noise and hard edges, and a few
tiny or extreme shapes); expect/<name>.<filter>.<W>x<H>.png is
Image.open(in).convert("RGB").resize((W, H), filter) with Debian's python3-pil, for filter in
NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING (PIL ids 0..5, as preprocessor_config.json's
"resample" names them). cases.txt lists "input filter_id W H". Run with /usr/bin/python3 here;
outputs are committed.
"""
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
FILTERS = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


def field(h, w, seed):
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for _ in range(3):
        fx, fy, ph = r.uniform(0.5, 4.0), r.uniform(0.5, 4.0), r.uniform(0, 6.28)
        v = 127 + 110 * np.sin(fx * 6.28 * x / w + ph) * np.cos(fy * 6.28 * y / h)
        v += r.normal(0, 3, size=(h, w))
        planes.append(v)
    a = np.stack(planes, -1)
    a[h // 3: h // 2, w // 4: w // 2] = [255, 0, 40]  # a hard-edged block: overshoot and clipping
    return np.clip(a, 0, 255).astype(np.uint8)


INPUTS = {
    "field_97x61": field(61, 97, 1),
    "field_320x240": field(240, 320, 2),
    "field_33x50": field(50, 33, 3),
    "stripe_1x40": field(40, 1, 4),
    "stripe_50x1": field(1, 50, 5),
    "pixel_1x1": field(1, 1, 6),
}
SIZES = {
    "field_97x61": [(128, 128), (40, 40), (97, 30), (50, 61), (7, 150)],
    "field_320x240": [(112, 112), (64, 48), (33, 17)],
    "field_33x50": [(96, 96), (32, 32), (33, 100)],
    "stripe_1x40": [(16, 16), (3, 9)],
    "stripe_50x1": [(16, 16), (100, 2)],
    "pixel_1x1": [(5, 3)],
}


def main():
    os.makedirs(os.path.join(HERE, "in"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "expect"), exist_ok=True)
    cases = []
    for name, arr in INPUTS.items():
        Image.fromarray(arr).save(os.path.join(HERE, "in", name + ".png"), optimize=True)
        im = Image.open(os.path.join(HERE, "in", name + ".png")).convert("RGB")
        for fid, fname in FILTERS.items():
            for w, h in SIZES[name]:
                out = im.resize((w, h), fid)
                out.save(os.path.join(HERE, "expect", "%s.%s.%dx%d.png" % (name, fname, w, h)),
                         optimize=True)
                cases.append("%s %d %d %d" % (name, fid, w, h))
    with open(os.path.join(HERE, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
