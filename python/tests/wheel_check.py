#!/usr/bin/env python3
"""wheel_check.py — the pip route of pyproject.toml, offline, as a user runs it on Debian 12:
`pip wheel --no-build-isolation .` on a copy of the source tree gives one wheel holding the
package and its libsiglip.so (kernels embedded), and both that wheel and
`pip install --no-build-isolation .` install into a fresh `python3 -m venv --system-site-packages`
(numpy from Debian) whose siglip classifies with the tiny model as transformers' pipeline does.
Usage: wheel_check.py SOURCE_DIR   (run by meson as the test python-wheel; exit 77 = skipped)"""
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from install_check import check_classify  # noqa: E402

SKIP = 77
# What a user's source tree holds that the build does not need (and this test's own output).
IGNORE = shutil.ignore_patterns("build*", ".git", "node_modules", "__pycache__", "*.pyc",
                                ".mesonpy*")


def run(*args, **kw):
    p = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if p.returncode:
        raise SystemExit("wheel_check: %s failed (%d):\n%s%s"
                         % (" ".join(args), p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
    return p.stdout


def main():
    src = sys.argv[1]
    python = sys.executable
    for module in ("pip", "venv", "mesonpy", "numpy"):
        if subprocess.run([python, "-c", "import " + module], capture_output=True).returncode:
            print("wheel_check: %s cannot import %s (Debian: python3-pip, python3-venv, "
                  "python3-mesonpy, python3-numpy), skipped" % (python, module), file=sys.stderr)
            return SKIP
    # Nothing of this build may leak in: the venv's siglip must load its own library.
    env = {k: v for k, v in os.environ.items()
           if k not in ("SIGLIP_LIBRARY", "PYTHONPATH", "LD_LIBRARY_PATH", "LD_PRELOAD")}
    env["PIP_NO_INDEX"] = "1"  # offline: everything comes from Debian's packages
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "src")
        shutil.copytree(src, tree, ignore=IGNORE, symlinks=True)
        wheels = os.path.join(tmp, "wheels")
        run(python, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", wheels, tree,
            env=env)
        built = os.listdir(wheels)
        assert len(built) == 1 and built[0].startswith("siglip-"), built
        with zipfile.ZipFile(os.path.join(wheels, built[0])) as z:
            names = z.namelist()
            library = z.read("siglip/libsiglip.so")
        assert b"__kernel" in library, "the wheel's libsiglip.so has no embedded kernels"
        shared = [n for n in names if ".so" in n]
        assert shared == ["siglip/libsiglip.so"], "shared objects in the wheel: %s" % shared
        print("%s: %d files, libsiglip.so %d bytes" % (built[0], len(names), len(library)))

        for how, target in [("wheel", os.path.join(wheels, built[0])),
                            ("source tree", tree)]:
            venv = os.path.join(tmp, "venv-" + how.split()[0])
            run(python, "-m", "venv", "--system-site-packages", venv)
            vpy = os.path.join(venv, "bin", "python")
            run(vpy, "-m", "pip", "install", "--no-build-isolation", "--no-deps", target, env=env)
            worst = check_classify(vpy, env, venv)
            print("pip install of the %s into a venv: ok (max |score diff| %.3g against "
                  "transformers)" % (how, worst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
