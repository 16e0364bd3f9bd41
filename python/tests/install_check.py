#!/usr/bin/env python3
"""install_check.py — installs the build into a temporary directory (meson install --destdir) and
checks the Python package there: every module installed, _install_paths.py naming the installed
library, and the installed package importing and classifying with the installed library.
Usage: install_check.py BUILD_DIR PREFIX LIBDIR   (run by meson as the test python-install)"""
import glob
import json
import os
import runpy
import subprocess
import sys
import tempfile

MODULES = ["__init__", "_context", "_install_paths", "_lib", "dask", "modeling", "pipelines",
           "processing"]


def main():
    build, prefix, libdir = sys.argv[1:4]
    libdir = libdir if os.path.isabs(libdir) else os.path.join(prefix, libdir)
    with tempfile.TemporaryDirectory() as dest:
        subprocess.run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild",
                        "--quiet"], check=True, stdout=subprocess.DEVNULL)
        found = glob.glob(os.path.join(dest, "**", "siglip", "__init__.py"), recursive=True)
        assert len(found) == 1, "siglip/__init__.py installed %d times: %s" % (len(found), found)
        package = os.path.dirname(found[0])
        missing = [m for m in MODULES if not os.path.isfile(os.path.join(package, m + ".py"))]
        assert not missing, "modules not installed: %s" % missing
        library = runpy.run_path(os.path.join(package, "_install_paths.py"))["LIBRARY"]
        assert library == os.path.join(libdir, "libsiglip.so.0"), library
        assert os.path.isfile(dest + library), "no library at %s" % (dest + library)

        # Import the installed copy (not the source tree) with the installed library.
        env = dict(os.environ, PYTHONPATH=os.path.dirname(package),
                   SIGLIP_LIBRARY=dest + library)
        worst = check_classify(sys.executable, env, dest)
        print("installed package in %s: ok (max |score diff| %.3g)"
              % (os.path.relpath(package, dest), worst))


def check_classify(python, env, root):
    """Runs the zero-shot pipeline of the siglip package `python` imports (from under root) on the
    tiny model and compares it with transformers' pipeline (tests/data/tiny-cases.json); returns
    the largest score difference (at most 1e-5)."""
    data = os.environ["SIGLIP_TEST_DATA"]
    with open(os.path.join(data, "tiny-cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    image = os.path.join(data, "images", cases["public.images"][0])
    labels = cases["public.pipeline"]["labels"]
    script = (
        "import json, sys, siglip\n"
        "assert siglip.__file__.startswith(%r), siglip.__file__\n"
        "c = siglip.pipeline('zero-shot-image-classification', model=%r, device=%r,"
        " cache_dir=None)\n"
        "print(json.dumps(c(%r, candidate_labels=%r)))\n"
        % (root, os.path.join(data, "tiny"), os.environ.get("SIGLIP_TEST_DEVICE") or "auto",
           image, labels))
    out = subprocess.run([python, "-c", script], env=env, check=True, capture_output=True,
                         cwd=root).stdout
    got = json.loads(out)
    ref = cases["public.pipeline"]["results"][0]  # transformers' pipeline
    assert [r["label"] for r in got] == [r["label"] for r in ref], got
    worst = max(abs(g["score"] - r["score"]) for g, r in zip(got, ref))
    assert worst <= 1e-5, "scores differ by %g" % worst
    return worst


if __name__ == "__main__":
    main()
