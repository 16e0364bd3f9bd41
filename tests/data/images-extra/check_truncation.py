#!/usr/bin/python3
"""check_truncation.py SIGLIP_EXECUTABLE — cuts every input of in/ at 50, 90 and 97 % of its
length and counts how often `siglip preprocess` accepts or refuses the cut file as Pillow 9.4
(Image.open + exif_transpose + convert("RGB")) does; prints the count and each disagreement.
A measurement for the README, not a test: Pillow's own quirks (plain PNM filled with junk, the
9.4 BMP delta) are known disagreements."""
import os
import subprocess
import sys
import tempfile
import warnings

from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    exe = sys.argv[1]
    model = os.path.join(HERE, "..", "tiny")
    warnings.simplefilter("ignore")
    agree, total, differ = 0, 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(os.path.join(HERE, "in"))):
            if name.startswith("bad_"):
                continue
            data = open(os.path.join(HERE, "in", name), "rb").read()
            for frac in (0.5, 0.9, 0.97):
                cut = int(len(data) * frac)
                if cut < 20:
                    continue
                path = os.path.join(tmp, name)
                with open(path, "wb") as f:
                    f.write(data[:cut])
                try:
                    ImageOps.exif_transpose(Image.open(path)).convert("RGB")
                    pillow = True
                except Exception:
                    pillow = False
                ours = subprocess.run([exe, "preprocess", "-m", model, "-o",
                                       os.path.join(tmp, "out.safetensors"), path],
                                      capture_output=True).returncode == 0
                total += 1
                agree += ours == pillow
                if ours != pillow:
                    differ.append("%s cut at %d%%: Pillow %s, siglip %s" % (
                        name, frac * 100, "reads it" if pillow else "refuses it",
                        "reads it" if ours else "refuses it"))
    print("%d of %d cut files accepted or refused as Pillow does" % (agree, total))
    print("\n".join(differ))


if __name__ == "__main__":
    main()
