#!/usr/bin/python3
"""check_corpus.py SIGLIP_EXECUTABLE DIR... — decodes every file under the DIRs that Pillow 9.4
reads (Image.open + ImageOps.exif_transpose + convert("RGB")) with `siglip preprocess` as well,
resize made the identity (a preprocessor_config.json of the image's own size, rescale 1/255,
mean 0, std 1), and counts the files whose pixel_values equal Pillow's pixels / 255 within 1e-6.
Prints the count, then per extension what differs or fails. For a corpus made elsewhere, e.g.
Pillow's own Tests/images."""
import collections
import json
import os
import subprocess
import struct
import sys
import tempfile
import warnings

import numpy as np
from PIL import Image, ImageOps


def read_pixels(path):
    blob = open(path, "rb").read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    head = json.loads(blob[8:8 + hlen])
    info = head["pixel_values"]
    a, b = info["data_offsets"]
    return np.frombuffer(blob[8 + hlen + a:8 + hlen + b], np.float32).reshape(info["shape"])


def main():
    exe, roots = sys.argv[1], sys.argv[2:]
    warnings.simplefilter("ignore")
    files = sorted(os.path.join(d, f) for r in roots for d, _, fs in os.walk(r) for f in fs)
    exact, read_by_pillow, problems = 0, 0, collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            try:
                with Image.open(path) as im:
                    if im.size[0] * im.size[1] > 20_000_000:
                        continue
                    ref = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
            except Exception:
                continue  # Pillow does not read it: out of scope here
            if ref.size == 0 or ref.shape[0] * ref.shape[1] > 20_000_000:
                continue
            read_by_pillow += 1
            h, w = ref.shape[:2]
            with open(os.path.join(tmp, "preprocessor_config.json"), "w") as f:
                json.dump({"size": {"height": h, "width": w}, "image_mean": [0, 0, 0],
                           "image_std": [1, 1, 1]}, f)
            out = os.path.join(tmp, "out.safetensors")
            r = subprocess.run([exe, "preprocess", "-m", tmp, "-o", out, path],
                               capture_output=True)
            ext = os.path.splitext(path)[1].lower() or "(none)"
            if r.returncode != 0:
                problems[ext].append("%s: refused: %s" % (
                    os.path.basename(path), r.stderr.decode(errors="replace").strip()[-120:]))
                continue
            got = read_pixels(out)[0]
            want = (ref.astype(np.float64) / 255).astype(np.float32).transpose(2, 0, 1)
            diff = float(np.abs(got - want).max())
            if diff <= 1e-6:
                exact += 1
            else:
                problems[ext].append("%s: differs by up to %d levels" % (
                    os.path.basename(path), round(diff * 255)))
    print("%d of %d files that Pillow reads are exact" % (exact, read_by_pillow))
    for ext in sorted(problems):
        print("%s: %d" % (ext, len(problems[ext])))
        for p in problems[ext]:
            print("    " + p)


if __name__ == "__main__":
    main()
