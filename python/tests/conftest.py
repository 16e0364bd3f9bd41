"""conftest.py — shared fixtures of the Python package tests: the transformers fixtures (tiny in
tests/data, medium in $SIGLIP_MEDIUM_FIXTURES), a numpy safetensors reader, the siglip CLI.

Run by meson (`meson test -C build --suite python`), which sets SIGLIP_LIBRARY (this build's
libsiglip.so), SIGLIP_CLI, SIGLIP_TEST_DATA, SIGLIP_MEDIUM_FIXTURES, SIGLIP_TEST_CACHE and
PYTHONPATH; SIGLIP_TEST_DEVICE picks the device (default auto).
"""
import json
import os
import struct
import subprocess

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("SIGLIP_TEST_DATA") or os.path.join(HERE, "..", "..", "tests", "data")
TINY = os.path.join(DATA, "tiny")
TINY_CLS = os.path.join(DATA, "tiny-cls")
IMAGES = os.path.join(DATA, "images")
DEVICE = os.environ.get("SIGLIP_TEST_DEVICE") or "auto"
CACHE = os.environ.get("SIGLIP_TEST_CACHE")  # compiled OpenCL programs; None: no cache

ST_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """{name: numpy array} of a .safetensors file (little-endian, as the format defines)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = memoryview(blob)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = np.dtype(ST_DTYPES[info["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"])
    return out


class Fixture:
    """The transformers fixture of one model: cases (texts, images, pipeline results) and the
    expected tensors, under its prefix ("public" for tiny, "medium")."""

    def __init__(self, prefix, cases_path, expected_path, model_dir):
        self.prefix, self.model_dir = prefix, model_dir
        with open(cases_path, encoding="utf-8") as f:
            self.cases = json.load(f)
        self.expected = read_safetensors(expected_path)
        self.texts = self.cases[prefix + ".texts"]
        self.images = [os.path.join(IMAGES, name) for name in self.cases[prefix + ".images"]]
        self.pipeline = self.cases[prefix + ".pipeline"]

    def __getitem__(self, name):
        return self.expected[self.prefix + "." + name]


def tiny_fixture():
    return Fixture("public", os.path.join(DATA, "tiny-cases.json"),
                   os.path.join(DATA, "tiny-expected.safetensors"), TINY)


def medium_fixture():
    root = os.environ.get("SIGLIP_MEDIUM_FIXTURES") or os.path.join(
        HERE, "..", "..", "..", "shared", "fixtures")
    if not os.path.isfile(os.path.join(root, "medium-bf16", "config.json")):
        pytest.skip("medium fixtures absent (SIGLIP_MEDIUM_FIXTURES=%s)" % root)
    return Fixture("medium", os.path.join(root, "medium-cases.json"),
                   os.path.join(root, "medium-expected.safetensors"),
                   os.path.join(root, "medium-bf16"))


def load_kwargs():
    """from_pretrained arguments of the tests: their device and kernel cache."""
    return {"device": DEVICE, "cache_dir": CACHE}


def cli(*args):
    """Runs the siglip tool with the tests' device and cache; returns stdout."""
    exe = os.environ.get("SIGLIP_CLI")
    if not exe:
        pytest.skip("SIGLIP_CLI (the siglip tool of the build) is not set")
    extra = ["--device", DEVICE] + (["--cache-dir", CACHE] if CACHE else ["--no-cache"])
    p = subprocess.run([exe] + list(args) + extra, capture_output=True, timeout=300)
    assert p.returncode == 0, "siglip %s: %s" % (" ".join(args[:3]), p.stderr.decode())
    return p.stdout.decode("utf-8")


def assert_close(what, got, expected, atol):
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    assert got.shape == expected.shape, "%s: shape %s, expected %s" % (what, got.shape,
                                                                        expected.shape)
    diff = float(np.abs(got - expected).max()) if got.size else 0.0
    print("%s: max |diff| %.3g (tolerance %g)" % (what, diff, atol))
    assert diff <= atol, "%s: max |diff| %.3g > %g" % (what, diff, atol)


@pytest.fixture(scope="session")
def tiny():
    return tiny_fixture()


@pytest.fixture(scope="session")
def tiny_model():
    import siglip
    return siglip.SiglipModel.from_pretrained(TINY, **load_kwargs())
