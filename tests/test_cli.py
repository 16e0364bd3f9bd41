#!/usr/bin/env python3
"""test_cli.py — end-to-end tests of the siglip command-line tool against the transformers fixtures.

Usage: test_cli.py SIGLIP_EXECUTABLE CASE   (CASE: see CASES at the bottom; exit 77 = skipped)

Standard library only (the test runner may be a Python without numpy): the .safetensors files are
read with struct/array, and the files the CLI writes are checked against the format's rules.
"""
import array
import json
import math
import os
import re
import shutil
import struct
import stat
import subprocess
import sys
import tempfile

SKIP = 77
DATA = os.environ.get("SIGLIP_TEST_DATA") or os.path.join(os.path.dirname(__file__), "data")
TINY = os.path.join(DATA, "tiny")
TINY_CLS = os.path.join(DATA, "tiny-cls")
IMAGES = os.path.join(DATA, "images")

failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)
    return cond


class Skip(Exception):
    pass


# ---- safetensors (read with the standard library) ----

DTYPES = {"F32": ("f", 4), "I64": ("q", 8), "I32": ("i", 4), "F64": ("d", 8)}


def read_safetensors(path, strict=False):
    """Returns {name: (dtype, shape, array)}. strict: also enforce what the safetensors package
    requires of a writer (8-byte aligned header, contiguous data covering the whole file)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("file shorter than 8 bytes")
    (hlen,) = struct.unpack("<Q", blob[:8])
    if 8 + hlen > len(blob):
        raise ValueError("header length %d past the end of the file" % hlen)
    header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    data = blob[8 + hlen:]
    if strict:
        if hlen % 8:
            raise ValueError("header length %d is not a multiple of 8" % hlen)
        if "__metadata__" in header and not all(
                isinstance(v, str) for v in header["__metadata__"].values()):
            raise ValueError("__metadata__ values must be strings")
    tensors, spans = {}, []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        code, size = DTYPES[info["dtype"]]
        shape = info["shape"]
        begin, end = info["data_offsets"]
        count = math.prod(shape)
        if end - begin != count * size:
            raise ValueError("%s: data_offsets span %d bytes, shape needs %d"
                             % (name, end - begin, count * size))
        values = array.array(code)
        values.frombytes(data[begin:end])
        if sys.byteorder != "little":
            values.byteswap()
        tensors[name] = (info["dtype"], shape, values)
        spans.append((begin, end))
    if strict:
        spans.sort()
        at = 0
        for begin, end in spans:
            if begin != at:
                raise ValueError("data is not contiguous at byte %d" % at)
            at = end
        if at != len(data):
            raise ValueError("data region has %d bytes, tensors cover %d" % (len(data), at))
    return tensors


def max_abs_diff(a, b):
    if len(a) != len(b):
        return math.inf
    return max((abs(x - y) for x, y in zip(a, b)), default=0.0)


def compare(what, got_tensors, name, ref, atol):
    """Checks tensor `name` of the CLI output against the fixture array `ref` (dtype, shape, values)."""
    if not check(name in got_tensors, "%s: output has no tensor %s" % (what, name)):
        return
    dtype, shape, values = got_tensors[name]
    check(dtype == "F32", "%s: %s dtype %s, expected F32" % (what, name, dtype))
    if not check(shape == ref[1], "%s: %s shape %s, expected %s" % (what, name, shape, ref[1])):
        return
    diff = max_abs_diff(values, ref[2])
    print("%s: %s max |diff| %.3g (tolerance %g)" % (what, name, diff, atol))
    check(diff <= atol, "%s: %s max |diff| %.3g > %g" % (what, name, diff, atol))


# ---- running the tool ----

def device_args():
    args = []
    dev = os.environ.get("SIGLIP_TEST_DEVICE")
    if dev:
        args += ["--device", dev]
    cache = os.environ.get("SIGLIP_TEST_CACHE")
    args += ["--cache-dir", cache] if cache else ["--no-cache"]
    return args


def run(exe, args, stdin=None):
    p = subprocess.run([exe] + args, input=stdin, capture_output=True, timeout=600)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def run_ok(exe, args, what):
    rc, out, err = run(exe, args)
    if rc != 0:
        sys.stderr.write(err)
        raise AssertionError("%s: siglip %s exited %d" % (what, " ".join(args[:2]), rc))
    return out


def run_on_device(exe, args):
    """run() on the test device (device_args() appended)."""
    return run(exe, args + device_args())


def run_ok_on_device(exe, args):
    """run_on_device() that must exit 0: (stdout, stderr); else stderr is printed and the
    command named."""
    rc, out, err = run_on_device(exe, args)
    if rc != 0:
        sys.stderr.write(err)
        raise AssertionError("siglip %s exited %d" % (" ".join(args), rc))
    return out, err


def medium_dir():
    root = os.environ.get("SIGLIP_MEDIUM_FIXTURES")
    if not root or not os.path.isfile(os.path.join(root, "medium-bf16", "config.json")):
        raise Skip("medium fixtures absent (SIGLIP_MEDIUM_FIXTURES)")
    return root


def fixture(prefix):
    """(cases json, expected tensors, model dir) of the tiny ("public") or medium fixtures."""
    if prefix == "public":
        return (json.load(open(os.path.join(DATA, "tiny-cases.json"), encoding="utf-8")),
                read_safetensors(os.path.join(DATA, "tiny-expected.safetensors")), TINY)
    root = medium_dir()
    return (json.load(open(os.path.join(root, "medium-cases.json"), encoding="utf-8")),
            read_safetensors(os.path.join(root, "medium-expected.safetensors")),
            os.path.join(root, "medium-bf16"))


def image_paths(cases, prefix):
    return [os.path.join(IMAGES, name) for name in cases[prefix + ".images"]]


# ---- cases ----

def case_usage(exe):
    """Argument errors: exit 2, nothing on stdout, exactly one line on stderr."""
    img = os.path.join(IMAGES, "rgb_40x40.png")
    bad = [
        [], ["nosuchcommand"], ["help", "nosuchcommand"],
        ["classify"], ["classify", "-m", TINY], ["classify", "--bogus", "-m", TINY, img],
        ["classify", "-m"], ["classify", "-m", TINY, "-l", "x", "--top", "x", img],
        ["classify", "-m", TINY, "-l", "x", "--top", "0", img],
        ["classify", "-m", TINY, "-l", "x", "--batch", "-1", img],
        ["classify", "-m", TINY, "-l", "x", "--threads", "many", img],
        ["embed", "-m", TINY], ["embed", "-m", TINY, "-o", "/tmp/x.safetensors"],
        ["embed", "-m", TINY, "-o", "/tmp/x.safetensors", "-t", "a", "stray"],
        ["tokenize", "-m", TINY], ["tokenize", "hello"],
        ["tokenize", "-m", TINY, "--max-length", "0", "hi"],
        ["preprocess", "-m", TINY, img], ["preprocess", "-o", "/tmp/x.safetensors", img],
        ["preprocess", "-m", TINY, "-o", "/tmp/x.safetensors"],
        ["devices", "extra"], ["devices", "-x"],
        ["bench", "--tower", "both2"], ["bench", "--model", "nosuch"], ["bench", "--batch", "0"],
        ["bench", "--iters", "0"], ["bench", "stray"],
    ]
    for args in bad:
        rc, out, err = run(exe, args)
        lines = err.splitlines()
        check(rc == 2, "siglip %s: exit %d, expected 2" % (args, rc))
        check(len(lines) == 1 and lines[0].startswith("siglip: "),
              "siglip %s: stderr should be one 'siglip: ...' line, got %r" % (args, err))
        check(out == "", "siglip %s: stdout should be empty, got %r" % (args, out[:200]))


def case_help(exe):
    """--help of every subcommand (stdout, exit 0), siglip --help, help CMD, --version."""
    for cmd in ["classify", "embed", "tokenize", "preprocess", "devices", "bench"]:
        for args in ([cmd, "--help"], [cmd, "-h"], ["help", cmd]):
            rc, out, err = run(exe, args)
            check(rc == 0 and ("Usage: siglip " + cmd) in out and "--device" in out and err == "",
                  "siglip %s: rc %d, stdout %r, stderr %r" % (args, rc, out[:80], err))
    rc, out, err = run(exe, ["--help"])
    check(rc == 0 and all(c in out for c in ["classify", "embed", "bench"]), "siglip --help")
    for args in (["--version"], ["classify", "--version"]):
        rc, out, err = run(exe, args)
        check(rc == 0 and out.startswith("siglip ") and "libsiglip" in out,
              "siglip %s: rc %d, %r" % (args, rc, out))


def case_errors(exe):
    """Runtime errors: exit 1 with one 'siglip: <what>: <message>' line on stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "out.safetensors")
        nul_list = os.path.join(tmp, "nul-list")  # a NUL would end the path early: refused
        with open(nul_list, "wb") as f:
            f.write(os.path.join(IMAGES, "rgb_40x40.png").encode() + b"\0.bad\n")
        runs = [
            ["embed", "-m", TINY, "-o", out_file, "--images-from", nul_list],
            ["tokenize", "-m", os.path.join(tmp, "missing"), "hello"],
            ["embed", "-m", TINY, "-o", out_file, "--images-from", os.path.join(tmp, "no-list")],
            ["preprocess", "-m", TINY, "-o", os.path.join(tmp, "no", "dir", "x.safetensors"),
             os.path.join(IMAGES, "rgb_40x40.png")],
        ]
        for args in runs:
            rc, out, err = run(exe, args)
            lines = err.splitlines()
            check(rc == 1, "siglip %s: exit %d, expected 1 (stderr %r)" % (args, rc, err))
            check(len(lines) == 1 and lines[0].startswith("siglip: ") and len(lines[0]) > 12,
                  "siglip %s: stderr should be one line, got %r" % (args, err))
        # vision_use_head false (PaliGemma's towers): no pooling head, so no image embeddings
        # (transformers' pooler_output is None), a clear error; texts still embed
        headless = os.path.join(tmp, "headless")
        shutil.copytree(TINY, headless)
        with open(os.path.join(headless, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        config["vision_config"]["vision_use_head"] = False
        with open(os.path.join(headless, "config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f)
        rc, out, err = run(exe, ["embed", "-m", headless, "-o", out_file, "-i",
                                 os.path.join(IMAGES, "rgb_40x40.png")] + device_args())
        check(rc == 1 and "no vision pooling head" in err, "vision_use_head false: %d %r" % (rc, err))
        rc, out, err = run(exe, ["embed", "-m", headless, "-o", out_file, "-t", "a cat"]
                           + device_args())
        check(rc == 0, "vision_use_head false, texts: %d %r" % (rc, err))
        os.remove(out_file)
        # Images that can't be read, all of them: each skipped and named, then exit 1 (as embed)
        for bad in (os.path.join(tmp, "missing.png"), os.path.join(DATA, "tiny", "config.json")):
            rc, out, err = run(exe, ["preprocess", "-m", TINY, "-o", out_file, bad])
            lines = err.splitlines()
            check(rc == 1 and len(lines) == 2 and bad in lines[0] and
                  lines[1] == "siglip: preprocess: none of the 1 images could be read",
                  "preprocess %s: exit %d, %r" % (bad, rc, err))
        check(not os.path.exists(out_file), "a failed run left %s behind" % out_file)


def case_devices(exe):
    rc, out, err = run(exe, ["devices", "--json"] + device_args()[:2])
    if rc == 1 and "no OpenCL platform" in err:
        raise Skip("no OpenCL platform")
    check(rc == 0, "devices --json exited %d: %s" % (rc, err))
    doc = json.loads(out)
    devices = doc["devices"]
    check(len(devices) >= 1, "no device listed")
    keys = {"spec", "platform", "name", "type", "vendor", "compute_units", "global_mem_bytes",
            "max_alloc_bytes", "fp16", "fp64", "fma", "selected"}
    for d in devices:
        check(keys <= set(d), "device entry lacks %s" % (keys - set(d)))
        check(d["type"] in ("cpu", "gpu", "accelerator", "other"), "type %r" % d["type"])
        check(d["compute_units"] >= 1 and d["global_mem_bytes"] > 0, "device %s sizes" % d["spec"])
        check({"kernel_cpu", "kernel_isa", "host_isa", "tuning"} <= set(d), "no speed facts in %s" % d)
        # PoCL names the LLVM CPU twice: in the device name (parsed by `siglip devices`) and at the
        # end of the HSTR of CL_DEVICE_VERSION ("... HSTR: pthread-x86_64-pc-linux-gnu-haswell").
        hstr = d["version"].split("HSTR: ")[-1] if "HSTR: " in d["version"] else None
        if d["type"] == "cpu" and hstr:
            check(d["kernel_cpu"] and hstr.endswith("-" + d["kernel_cpu"]),
                  "kernel_cpu %r does not end the HSTR %r" % (d["kernel_cpu"], hstr))
    selected = [d["spec"] for d in devices if d["selected"]]
    check(len(selected) == 1 and doc["selected"] == selected[0],
          "exactly one device should be selected, got %s / %s" % (selected, doc["selected"]))
    check(doc.get("auto") in [d["spec"] for d in devices], "'auto' pick %r" % doc.get("auto"))
    # Selecting by "P:D" picks that very device.
    last = devices[-1]["spec"]
    rc, out, err = run(exe, ["devices", "--json", "--device", last])
    check(rc == 0 and json.loads(out)["selected"] == last, "--device %s not selected" % last)
    env = dict(os.environ, SIGLIP_DEVICE=last)
    p = subprocess.run([exe, "devices", "--json"], capture_output=True, env=env, timeout=120)
    check(p.returncode == 0 and json.loads(p.stdout)["selected"] == last,
          "SIGLIP_DEVICE=%s not honoured" % last)
    rc, out, err = run(exe, ["devices"])
    check(rc == 0 and "selects" in out, "devices (human) exited %d" % rc)
    # A spec that matches nothing: the list is still shown, the exit status says it failed.
    rc, out, err = run(exe, ["devices", "--device", "no-such-device-xyz"])
    check(rc == 1 and "matches no device" in out and err.count("\n") == 1,
          "devices --device no-such-device-xyz: exit %d, stderr %r" % (rc, err))


def case_tokenize(exe):
    cases, expected, model = fixture("public")
    texts = cases["public.texts"]
    out = run_ok(exe, ["tokenize", "-m", model, "--json", "--"] + texts, "tokenize")
    doc = json.loads(out)
    for key in ("input_ids", "attention_mask"):
        dtype, shape, ref = expected["public." + key]
        got = doc[key]
        check(len(got) == shape[0] and all(len(row) == shape[1] for row in got),
              "%s: shape %dx%s, expected %s" % (key, len(got), len(got[0]) if got else 0, shape))
        flat = [v for row in got for v in row]
        bad = [i for i, (a, b) in enumerate(zip(flat, ref)) if a != b]
        check(not bad and len(flat) == len(ref),
              "%s differs at %d places, first at text %s" % (key, len(bad),
                                                            bad[0] // shape[1] if bad else "-"))
    out = run_ok(exe, ["tokenize", "-m", model, texts[0]], "tokenize (human)")
    check(texts[0] in out, "human tokenize output lacks the text")


def case_preprocess(exe):
    cases, expected, model = fixture("public")
    paths = image_paths(cases, "public")
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "pixels.safetensors")
        run_ok(exe, ["preprocess", "-m", model, "-o", out_file, "--batch", "4"] + paths,
               "preprocess")
        got = read_safetensors(out_file, strict=True)
        compare("preprocess", got, "pixel_values",
                expected["public.pixel_values.SiglipImageProcessorPil"], 1e-6)
        # An unreadable image among good ones: skipped and reported, the rows are the others
        # (named in __metadata__.images, the failure in .failed); --strict stops at it.
        missing = os.path.join(tmp, "missing.png")
        rc, _, err = run(exe, ["preprocess", "-m", model, "-o", out_file, "--batch", "2",
                               paths[0], missing, paths[1]])
        meta = read_metadata(out_file)
        got = read_safetensors(out_file, strict=True)
        _, shape, values = expected["public.pixel_values.SiglipImageProcessorPil"]
        per = shape[1] * shape[2] * shape[3]
        check(rc == 0 and "skipping image 2" in err and "missing.png" in err and
              json.loads(meta["images"]) == paths[:2] and
              [f["path"] for f in json.loads(meta["failed"])] == [missing] and
              got["pixel_values"][1] == [2] + shape[1:] and
              max_abs_diff(got["pixel_values"][2], values[:2 * per]) <= 1e-6,
              "preprocess with a missing image: %d %r %s" % (rc, err, meta))
        rc, _, err = run(exe, ["preprocess", "-m", model, "-o", out_file, "--strict",
                               paths[0], missing])
        check(rc == 1 and "--strict" in err and "missing.png" in err, "--strict: %d %r" % (rc, err))
        rc, _, err = run(exe, ["preprocess", "-m", model, "-o", out_file, missing])
        check(rc == 1 and "none of the 1 images" in err, "none readable: %d %r" % (rc, err))
        # A SigLIP 2 NaFlex processor: Siglip2ImageProcessor's three outputs, exactly.
        naflex = os.path.join(DATA, "siglip2-naflex")
        with open(os.path.join(naflex, "cases.json"), encoding="utf-8") as f:
            ncases = json.load(f)
        made = set(ncases["made_images"])
        npaths = [os.path.join(naflex, "images", n) if n in made else os.path.join(DATA, "images", n)
                  for n in ncases["n7_images"]]
        nexp = read_safetensors(os.path.join(naflex, "expected.safetensors"))
        run_ok(exe, ["preprocess", "-m", naflex, "-o", out_file, "--max-patches", "7"] + npaths,
               "preprocess naflex")
        got = read_safetensors(out_file, strict=True)
        compare("preprocess naflex", got, "pixel_values", nexp["n7.pixel_values"], 0.0)
        for name in ("pixel_attention_mask", "spatial_shapes"):
            dtype, shape, values = got.get(name, (None, None, []))
            ref = nexp["n7." + name]
            check(dtype == "I32" and shape == ref[1] and list(values) == list(ref[2]),
                  "preprocess naflex %s: %s %s" % (name, dtype, shape))
        # Which config transformers 5 reads, and the processor classes' defaults:
        # Siglip2ImageProcessor without "resample" is bilinear (the fixture names 2 explicitly)
        nocfg = os.path.join(tmp, "naflex-default-resample")
        shutil.copytree(naflex, nocfg)
        cfg_path = os.path.join(nocfg, "preprocessor_config.json")
        with open(cfg_path, encoding="utf-8") as f:
            pcfg = json.load(f)
        del pcfg["resample"]
        with open(cfg_path, "w", encoding="utf-8") as f:
            json.dump(pcfg, f)
        run_ok(exe, ["preprocess", "-m", nocfg, "-o", out_file, "--max-patches", "7"] + npaths,
               "preprocess naflex, resample absent")
        compare("naflex, resample absent (bilinear)", read_safetensors(out_file), "pixel_values",
                nexp["n7.pixel_values"], 0.0)
        # a processor config with another patch size than the model's is refused at load
        pcfg["patch_size"] = 16
        with open(cfg_path, "w", encoding="utf-8") as f:
            json.dump(pcfg, f)
        rc, _, err = run(exe, ["embed", "-m", nocfg, "-o", out_file, "-i", npaths[0]]
                         + device_args())
        check(rc == 1 and "patch_size 16 differs from vision_config.patch_size 8" in err,
              "processor patch_size mismatch: %d %r" % (rc, err))
    # processor_config.json's "image_processor" wins over preprocessor_config.json (transformers
    # 5: nested config first); one without it holds no image settings; a SiglipImageProcessor
    # with a stray max_num_patches stays fixed-size
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "pixels.safetensors")
        both = os.path.join(tmp, "both")
        shutil.copytree(model, both)
        with open(os.path.join(both, "preprocessor_config.json"), "w") as f:
            json.dump({"size": {"height": 24, "width": 48}}, f)
        run_ok(exe, ["preprocess", "-m", both, "-o", out_file, paths[0]], "preprocess both")
        check(read_safetensors(out_file)["pixel_values"][1] == [1, 3, 40, 40],
              "processor_config.json's image_processor wins")
        with open(os.path.join(both, "processor_config.json"), "w") as f:
            json.dump({"processor_class": "SiglipProcessor"}, f)
        run_ok(exe, ["preprocess", "-m", both, "-o", out_file, paths[0]], "preprocess flat")
        check(read_safetensors(out_file)["pixel_values"][1] == [1, 3, 24, 48],
              "a processor_config.json without image_processor: preprocessor_config.json")
        with open(os.path.join(both, "preprocessor_config.json"), "w") as f:
            json.dump({"image_processor_type": "SiglipImageProcessor", "max_num_patches": 24,
                       "size": {"height": 40, "width": 40}}, f)
        run_ok(exe, ["preprocess", "-m", both, "-o", out_file, paths[0]], "preprocess stray")
        got = read_safetensors(out_file)
        check(got["pixel_values"][1] == [1, 3, 40, 40] and "spatial_shapes" not in got,
              "SiglipImageProcessor with max_num_patches stays fixed-size")


def check_pipeline(what, doc, paths, ref_results, atol):
    """doc: the classify --json array; ref_results: the fixture's per-image sorted results."""
    if not check(isinstance(doc, list) and len(doc) == len(paths),
                 "%s: expected %d entries" % (what, len(paths))):
        return
    worst = 0.0
    for entry, path, ref in zip(doc, paths, ref_results):
        check(entry["image"] == path, "%s: image %r, expected %r" % (what, entry["image"], path))
        got = entry["results"]
        ref_score = {r["label"]: r["score"] for r in ref}
        if not check(len(got) == len(ref) and {g["label"] for g in got} == set(ref_score),
                     "%s: %s labels %s" % (what, path, [g["label"] for g in got])):
            continue
        for i, g in enumerate(got):
            diff = abs(g["score"] - ref_score[g["label"]])
            worst = max(worst, diff)
            check(diff <= atol, "%s: %s %r score %.9g, expected %.9g"
                  % (what, path, g["label"], g["score"], ref_score[g["label"]]))
            # Order: the same label at each rank, unless the two are tied within the tolerance.
            check(g["label"] == ref[i]["label"] or
                  abs(ref_score[g["label"]] - ref[i]["score"]) <= atol,
                  "%s: %s rank %d is %r, expected %r" % (what, path, i, g["label"], ref[i]["label"]))
    print("%s: max |score diff| %.3g over %d images (tolerance %g)" % (what, worst, len(paths), atol))


def classify_case(exe, prefix, atol):
    cases, expected, model = fixture(prefix)
    paths = image_paths(cases, prefix)
    pipe = cases[prefix + ".pipeline"]
    args = ["classify", "-m", model, "--json", "--batch", "4"] + device_args()
    for label in pipe["labels"]:
        args += ["-l", label]
    doc = json.loads(run_ok(exe, args + paths, "classify"))
    check_pipeline("classify " + prefix, doc, paths, pipe["results"], atol)
    # --top 2 keeps the two best, in the same order.
    doc2 = json.loads(run_ok(exe, args + ["--top", "2"] + paths[:1], "classify --top"))
    check(len(doc2) == 1 and [r["label"] for r in doc2[0]["results"]] ==
          [r["label"] for r in doc[0]["results"][:2]], "classify --top 2")


def case_classify_siglip2(exe):
    """SigLIP 2 fixed resolution (Gemma tokenizer, bilinear processor) at the model's size and
    with --image-size 48x40 (interpolate_pos_encoding), against the torch reference of
    data/siglip2/gen_fixtures.py."""
    with open(os.path.join(DATA, "family-cases.json"), encoding="utf-8") as f:
        pipe = json.load(f)["siglip2"]["zero_shot"]
    paths = [os.path.join(DATA, "images", name) for name in pipe["images"]]
    args = ["classify", "-m", os.path.join(DATA, "siglip2"), "--json"] + device_args()
    for label in pipe["labels"]:
        args += ["-l", label]
    doc = json.loads(run_ok(exe, args + paths, "classify siglip2"))
    check_pipeline("classify siglip2", doc, paths, pipe["32x32"], 1e-5)
    doc = json.loads(run_ok(exe, args + ["--image-size", "48x40"] + paths, "classify 48x40"))
    check_pipeline("classify siglip2 --image-size 48x40", doc, paths, pipe["48x40"], 1e-5)
    rc, out, err = run(exe, args + ["--image-size", "4"] + paths)
    check(rc == 1 and "patch_size 8" in err, "--image-size 4: exit %d, %r" % (rc, err))
    for bad in ("0", "48x", "x40", "48x40x2", "big"):
        rc, out, err = run(exe, args + ["--image-size", bad] + paths)
        check(rc == 2 and "--image-size" in err, "--image-size %s: exit %d, %r" % (bad, rc, err))


def case_classify_tiny(exe):
    classify_case(exe, "public", 1e-5)


def case_classify_medium(exe):
    classify_case(exe, "medium", 1e-4)


def case_naflex(exe):
    """SigLIP 2 NaFlex (data/siglip2-naflex/gen_naflex.py): classify at the processor's budget
    against the torch reference's zero-shot scores; embed --max-patches 7 against its float64
    forward at that budget (images of 97×61, 1×64 and 5×3 pixels, one unreadable file skipped);
    --max-patches refused for a fixed-resolution model."""
    d = os.path.join(DATA, "siglip2-naflex")
    with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    expected = read_safetensors(os.path.join(d, "expected.safetensors"))
    made = set(cases["made_images"])

    def path_of(name):
        return os.path.join(d, "images", name) if name in made else os.path.join(DATA, "images", name)
    paths = [path_of(n) for n in cases["images"][:2]]
    args = ["classify", "-m", d, "--json"] + device_args()
    for label in cases["zero_shot_labels"]:
        args += ["-l", label]
    doc = json.loads(run_ok(exe, args + paths, "classify naflex"))
    check_pipeline("classify naflex", doc, paths, cases["zero_shot"], 1e-5)
    n7 = [path_of(n) for n in cases["n7_images"]]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "n7.safetensors")
        run_ok(exe, ["embed", "-m", d, "--max-patches", "7", "--batch", "2", "-i", n7[0],
                     "-i", os.path.join(tmp, "missing.png"), "-i", n7[1], "-i", n7[2], "-o", out]
               + device_args(), "embed naflex --max-patches 7")
        got = read_safetensors(out, strict=True)
    compare("embed naflex --max-patches 7", got, "image_features",
            expected["n7.f64.vision.pooler_output"], 1e-4)
    rc, _, err = run(exe, ["classify", "-m", os.path.join(DATA, "siglip2"), "-l", "cat",
                           "--max-patches", "7"] + device_args() + paths[:1])
    check(rc == 1 and "NaFlex" in err, "--max-patches on a fixed model: exit %d, %r" % (rc, err))
    rc, _, err = run(exe, args + ["--max-patches", "0"] + paths)
    check(rc == 2, "--max-patches 0: exit %d" % rc)


def case_naflex_cls(exe):
    """Siglip2ForImageClassification (data/siglip2-naflex-cls/gen_naflex_cls.py): classify without
    labels at the processor's budget, softmax over its classes against the float64 reference's
    logits (pooled over each image's own patches); labels refused."""
    d = os.path.join(DATA, "siglip2-naflex-cls")
    with open(os.path.join(d, "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    _, shape, logits = read_safetensors(os.path.join(d, "expected.safetensors"))["n24.f64.logits"]
    made = set(cases["made_images"])
    names = cases["images"][:3]
    paths = [os.path.join(DATA, "siglip2-naflex", "images", n) if n in made
             else os.path.join(DATA, "images", n) for n in names]
    refs = []
    for i in range(len(paths)):
        row = logits[i * shape[1]:(i + 1) * shape[1]]
        e = [math.exp(v - max(row)) for v in row]
        order = sorted(range(shape[1]), key=lambda j: -e[j])
        refs.append([{"label": cases["labels"][j], "score": e[j] / sum(e)} for j in order])
    doc = json.loads(run_ok(exe, ["classify", "-m", d, "--json", "--batch", "2"] + device_args()
                            + paths, "classify naflex-cls"))
    check_pipeline("classify naflex-cls", doc, paths, refs, 1e-5)
    rc, _, err = run(exe, ["classify", "-m", d, "-l", "cat"] + device_args() + paths[:1])
    check(rc == 2 and len(err.splitlines()) == 1, "labels with a classifier model: exit %d" % rc)


def copy_tensors(src, dst, keep):
    """dst: the .safetensors file src with only the tensors whose name keep(name) accepts (bytes
    copied as they are, offsets renumbered)."""
    with open(src, "rb") as f:
        blob = f.read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    data = blob[8 + hlen:]
    out_header, chunks, at = {}, [], 0
    for name, info in header.items():
        if name == "__metadata__" or not keep(name):
            continue
        begin, end = info["data_offsets"]
        out_header[name] = dict(info, data_offsets=[at, at + end - begin])
        chunks.append(data[begin:end])
        at += end - begin
    text = json.dumps(out_header).encode()
    text += b" " * (-len(text) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def case_vision_only(exe):
    """A vision tower saved alone (architectures ["SiglipVisionModel"], vision_model.* tensors
    only, as vision-only and PaliGemma-style exports are): image embeddings as the whole model's,
    texts refused clearly."""
    img = os.path.join(DATA, "images", "rgb_40x40.png")
    with tempfile.TemporaryDirectory() as tmp:
        vision = os.path.join(tmp, "vision")
        os.makedirs(vision)
        with open(os.path.join(TINY, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        config["architectures"] = ["SiglipVisionModel"]
        with open(os.path.join(vision, "config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f)
        shutil.copy(os.path.join(TINY, "processor_config.json"), vision)
        copy_tensors(os.path.join(TINY, "model.safetensors"),
                     os.path.join(vision, "model.safetensors"),
                     lambda name: name.startswith("vision_model."))
        whole, alone = os.path.join(tmp, "whole.safetensors"), os.path.join(tmp, "alone.safetensors")
        run_ok(exe, ["embed", "-m", TINY, "-i", img, "-o", whole] + device_args(), "embed tiny")
        run_ok(exe, ["embed", "-m", vision, "-i", img, "-o", alone] + device_args(),
               "embed vision-only")
        a, b = read_safetensors(whole), read_safetensors(alone)
        check(a["image_embeds"] == b["image_embeds"], "vision-only image_embeds differ")
        rc, _, err = run(exe, ["embed", "-m", vision, "-t", "a cat", "-o", alone] + device_args())
        check(rc in (1, 2) and "no text tower" in err, "texts on a vision tower: %d %r" % (rc, err))


def case_classify_tiny_cls(exe):
    """An image-classification model without labels: softmax over its own classes."""
    cases, expected, _ = fixture("public")
    paths = image_paths(cases, "public")
    _, shape, logits = expected["public.cls.f64.logits"]
    names = json.load(open(os.path.join(TINY_CLS, "config.json")))["id2label"]
    refs = []
    for i in range(shape[0]):
        row = logits[i * shape[1]:(i + 1) * shape[1]]
        m = max(row)
        e = [math.exp(v - m) for v in row]
        scores = [v / sum(e) for v in e]
        order = sorted(range(shape[1]), key=lambda j: -scores[j])
        refs.append([{"label": names[str(j)], "score": scores[j]} for j in order])
    args = ["classify", "-m", TINY_CLS, "--json", "--batch", "5"] + device_args()
    doc = json.loads(run_ok(exe, args + paths, "classify tiny-cls"))
    check_pipeline("classify tiny-cls", doc, paths, refs, 1e-5)
    doc = json.loads(run_ok(exe, args + ["--top", "3"] + paths, "classify tiny-cls --top 3"))
    check_pipeline("classify tiny-cls --top 3", doc, paths, [r[:3] for r in refs], 1e-5)
    rc, _, err = run(exe, ["classify", "-m", TINY_CLS, "-l", "cat"] + device_args() + paths[:1])
    check(rc == 2 and len(err.splitlines()) == 1, "labels with a classifier model: exit %d" % rc)
    # problem_type "multi_label_classification": sigmoid per class, as transformers' pipeline
    # (ImageClassificationPipeline.postprocess), on the same logits
    with tempfile.TemporaryDirectory() as tmp:
        multi = os.path.join(tmp, "multi")
        shutil.copytree(TINY_CLS, multi)
        with open(os.path.join(multi, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        config["problem_type"] = "multi_label_classification"
        with open(os.path.join(multi, "config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f)
        refs = []
        for i in range(shape[0]):
            row = logits[i * shape[1]:(i + 1) * shape[1]]
            scores = [1 / (1 + math.exp(-v)) for v in row]
            order = sorted(range(shape[1]), key=lambda j: -scores[j])
            refs.append([{"label": names[str(j)], "score": scores[j]} for j in order])
        doc = json.loads(run_ok(exe, ["classify", "-m", multi, "--json"] + device_args() + paths,
                                "classify multi-label"))
        check_pipeline("classify multi-label", doc, paths, refs, 1e-5)


def embed_case(exe, prefix, atol, logit_atol):
    cases, expected, model = fixture(prefix)
    paths = image_paths(cases, prefix)
    texts = cases[prefix + ".texts"]
    with tempfile.TemporaryDirectory() as tmp:
        # The first image by -i, the rest from a list file: both paths into the same output.
        listing = os.path.join(tmp, "images.txt")
        with open(listing, "w") as f:
            f.write("\n".join(paths[1:]) + "\n")
        args = ["embed", "-m", model, "--batch", "4", "-i", paths[0], "--images-from", listing]
        for t in texts:
            args += ["-t", t]
        args += device_args()
        out_unmasked = os.path.join(tmp, "unmasked.safetensors")
        out_masked = os.path.join(tmp, "masked.safetensors")
        run_ok(exe, args + ["--no-text-mask", "-o", out_unmasked], "embed --no-text-mask")
        run_ok(exe, args + ["-o", out_masked], "embed")
        unmasked = read_safetensors(out_unmasked, strict=True)
        masked = read_safetensors(out_masked, strict=True)
        # Texts only, images only: just their tensors.
        only_text = os.path.join(tmp, "text.safetensors")
        run_ok(exe, ["embed", "-m", model, "-t", texts[0], "-o", only_text] + device_args(),
               "embed -t")
        check(set(read_safetensors(only_text, strict=True)) == {"text_embeds", "text_features"},
              "embed with texts only should write text_embeds and text_features")
        # An output that exists and is no regular file (a FIFO here; /dev/null alike) is written
        # into, not renamed over: as root, a rename would replace /dev/null with a file.
        fifo = os.path.join(tmp, "out.fifo")
        os.mkfifo(fifo)
        reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
        run_ok(exe, ["embed", "-m", model, "-t", texts[0], "-o", fifo] + device_args(),
               "embed -o FIFO")
        through_fifo = reader.communicate(timeout=60)[0]
        with open(only_text, "rb") as f:
            check(through_fifo == f.read(), "embed -o FIFO should write the same bytes into it")
        check(stat.S_ISFIFO(os.stat(fifo).st_mode) and not os.path.exists(fifo + ".tmp"),
              "embed -o FIFO should leave the FIFO in place, with no temporary file")
    what = "embed " + prefix
    f32 = prefix + ".f32."
    # The fixture's f32.* forward has no attention mask: compare the unmasked run to it.
    compare(what + " (no mask)", unmasked, "text_embeds", expected[f32 + "text_embeds"], atol)
    compare(what + " (no mask)", unmasked, "text_features", expected[f32 + "text_features"], atol)
    compare(what, unmasked, "image_embeds", expected[f32 + "image_embeds"], atol)
    compare(what, unmasked, "image_features", expected[f32 + "image_features"], atol)
    compare(what + " (no mask)", unmasked, "logits_per_image", expected[f32 + "logits_per_image"],
            logit_atol)
    compare(what + " (mask)", masked, "logits_per_image",
            expected[f32 + "masked.logits_per_image"], logit_atol)
    compare(what + " (mask)", masked, "image_embeds", expected[f32 + "image_embeds"], atol)


def case_embed_tiny(exe):
    embed_case(exe, "public", 1e-4, 1e-4)


def case_embed_medium(exe):
    embed_case(exe, "medium", 1e-4, 1e-4)


def case_embed_size(exe):
    """A processor config whose size differs from the model's stops embed and index with a
    message (siglip_encode_image reads the model's H×W per image: before this check embed read
    past its pixel buffer and exited 0); --image-size runs the model at the processor's size,
    and then matches the same run on the original directory (the processor follows the model)."""
    img = os.path.join(DATA, "images", "rgb_40x40.png")
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "tiny32")
        shutil.copytree(TINY, model)
        cfg_path = os.path.join(model, "processor_config.json")
        with open(cfg_path) as f:
            cfg = json.load(f)
        cfg["image_processor"]["size"] = {"height": 32, "width": 32}
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        out = os.path.join(tmp, "o.safetensors")
        for args in (["embed", "-m", model, "-i", img, "-o", out],
                     ["index", "-m", model, "-o", os.path.join(tmp, "i.sqlite"), img]):
            rc, _, err = run(exe, args + device_args())
            check(rc == 1 and "produces 32×32 images but the model expects 40×40" in err,
                  "%s with a 32x32 processor on a 40x40 model: exit %d, %s" % (args[0], rc, err))
        run_ok(exe, ["embed", "-m", model, "--image-size", "32", "-i", img, "-o", out]
               + device_args(), "embed --image-size 32")
        ref = os.path.join(tmp, "ref.safetensors")
        run_ok(exe, ["embed", "-m", TINY, "--image-size", "32", "-i", img, "-o", ref]
               + device_args(), "embed --image-size 32 (original processor)")
        got, want = read_safetensors(out, strict=True), read_safetensors(ref, strict=True)
        for name in ("image_embeds", "image_features"):
            check(max_abs_diff(got[name][2], want[name][2]) == 0.0,
                  "embed --image-size 32: %s differs between the two processors" % name)


def read_metadata(path):
    with open(path, "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(hlen).decode("utf-8")).get("__metadata__", {})


def case_embed_list(exe):
    """embed on a list with unreadable files: they are skipped and reported (stderr and
    __metadata__.failed), every row's path is recorded, the rows equal those of the good images
    embedded alone; --strict stops; --allow-truncated reads the truncated JPEG; --resume continues
    from the journal an interrupted run left without reading the finished images again."""
    good = [os.path.join(IMAGES, n) for n in ("rgb_40x40.png", "gray_50x50.png", "rgb_13x21.png")]
    with tempfile.TemporaryDirectory() as tmp:
        missing = os.path.join(tmp, "missing.png")
        trunc = os.path.join(DATA, "images-extra", "in", "bad_truncated.jpg")
        garbage = os.path.join(tmp, "garbage.jpg")
        with open(garbage, "wb") as f:
            f.write(b"not an image\n")
        copy2 = os.path.join(tmp, "copy_of_gray.png")
        shutil.copyfile(good[1], copy2)
        items = [good[0], missing, trunc, copy2, garbage, good[2]]
        listing = os.path.join(tmp, "list.txt")
        with open(listing, "w") as f:
            f.write("\n".join(items) + "\n")
        base = ["embed", "-m", TINY, "-t", "a photo", "--batch", "2"] + device_args()
        out = os.path.join(tmp, "out.safetensors")
        rc, _, err = run(exe, base + ["--images-from", listing, "-o", out])
        check(rc == 0, "embed with 3 bad files of 6: exit %d (%s)" % (rc, err))
        for bad in (missing, trunc, garbage):
            check(any(bad in line and "skipping" in line for line in err.splitlines()),
                  "stderr must report %s: %s" % (bad, err))
        meta = read_metadata(out)
        rows = [good[0], copy2, good[2]]
        check(json.loads(meta.get("images", "null")) == rows, "metadata images %s" % meta)
        failed = json.loads(meta.get("failed", "[]"))
        check([f["path"] for f in failed] == [missing, trunc, garbage], "failed %s" % failed)
        check(all(f["error"] for f in failed) and "truncated" in failed[1]["error"],
              "failed entries need their error: %s" % failed)
        check(json.loads(meta.get("texts", "null")) == ["a photo"], "metadata texts %s" % meta)
        check(meta.get("model_dir") == TINY and meta.get("precision") == "f32" and
              meta.get("device") and re.fullmatch(r"\d+\.\d+\.\d+", meta.get("library_version", "")),
              "metadata provenance %s" % meta)
        got = read_safetensors(out, strict=True)
        ref_out = os.path.join(tmp, "ref.safetensors")
        run_ok(exe, base + ["-i", good[0], "-i", good[1], "-i", good[2], "-o", ref_out], "embed ref")
        ref = read_safetensors(ref_out)
        for name in ("image_embeds", "image_features", "logits_per_image"):
            compare("embed list", got, name, ref[name], 1e-5)
        check(not os.path.exists(out + ".journal"), "the journal must go once the output is written")
        # --strict: the first bad file stops the run
        rc, _, err = run(exe, base + ["--strict", "--images-from", listing, "-o", out + "2"])
        check(rc == 1 and missing in err, "--strict: exit %d, %s" % (rc, err))
        # every image bad: exit 1
        rc, _, err = run(exe, base + ["-i", missing, "-i", garbage, "-o", out + "3"])
        check(rc == 1, "all images bad: exit %d" % rc)
        # --allow-truncated: the truncated JPEG becomes a row
        out4 = os.path.join(tmp, "trunc.safetensors")
        run_ok(exe, base + ["--allow-truncated", "-i", trunc, "-o", out4], "--allow-truncated")
        check(read_safetensors(out4)["image_embeds"][1] == [1, 32], "truncated JPEG row")
        # an interrupted run (its output can't be written: a directory is in the way) leaves its
        # journal; --resume takes every finished image from it, so a file spoiled since is not
        # read again; a torn journal resumes from its last complete record
        blocked = os.path.join(tmp, "blocked.safetensors")
        os.mkdir(blocked)
        rc, _, _ = run(exe, base + ["--images-from", listing, "-o", blocked])
        check(rc == 1 and os.path.exists(blocked + ".journal"), "interrupted run: exit %d" % rc)
        os.rmdir(blocked)
        shutil.copyfile(garbage, copy2)
        rc, _, err = run(exe, base + ["--resume", "--images-from", listing, "-o", blocked])
        check(rc == 0 and "resuming after 6 of 6" in err, "--resume: exit %d, %s" % (rc, err))
        resumed = read_safetensors(blocked)
        compare("embed --resume", resumed, "image_embeds", got["image_embeds"], 0)
        os.remove(blocked)
        shutil.copyfile(good[1], copy2)
        os.mkdir(blocked)
        run(exe, base + ["--images-from", listing, "-o", blocked])
        os.rmdir(blocked)
        with open(blocked + ".journal", "r+b") as f:
            f.truncate(os.path.getsize(blocked + ".journal") - 10)
        rc, _, err = run(exe, base + ["--resume", "--images-from", listing, "-o", blocked])
        check(rc == 0 and "resuming after 5 of 6" in err, "torn journal: exit %d, %s" % (rc, err))
        compare("embed --resume (torn)", read_safetensors(blocked), "image_embeds",
                got["image_embeds"], 0)
        # The journal is keyed on the precision too: an f32 journal resumed with --precision
        # bf16 starts anew, and every row is then bf16's.
        os.remove(blocked)
        os.mkdir(blocked)
        run(exe, base + ["--images-from", listing, "-o", blocked])
        os.rmdir(blocked)
        bf16 = base + ["--precision", "bf16", "--images-from", listing]
        rc, _, err = run(exe, bf16 + ["--resume", "-o", blocked])
        check(rc == 0 and "another model, precision or list" in err and "resuming" not in err,
              "--resume --precision bf16 on an f32 journal: exit %d, %s" % (rc, err))
        fresh = os.path.join(tmp, "bf16.safetensors")
        run_ok(exe, bf16 + ["-o", fresh], "embed --precision bf16")
        compare("embed --resume --precision bf16", read_safetensors(blocked), "image_embeds",
                read_safetensors(fresh)["image_embeds"], 0)
        check(read_metadata(blocked).get("precision") == "bf16", "bf16 metadata")


def case_bench(exe):
    """bench --list-models: the analytic FLOP count of ViT-B/16 at 224 is the published 17.6 GMACs
    (35.1 GFLOP) plus the attention-pooling head; a short tiny run prints consistent records."""
    out = run_ok(exe, ["bench", "--list-models"], "bench --list-models")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip()}
    check({"base-patch16-224", "large-patch16-384", "so400m-patch14-384"} <= set(rows),
          "bench --list-models lacks the published shapes")
    gflop_image = float(rows["base-patch16-224"][-2])
    check(35.0 <= gflop_image <= 36.0, "base-patch16-224 GFLOP/image %.3f" % gflop_image)
    args = ["bench", "--model", "tiny", "--batch", "1", "--batch", "3", "--warmup", "1",
            "--iters", "2", "--json"] + device_args()
    if "--device" not in args:
        args += ["--device", "auto"]
    records = json.loads(run_ok(exe, args, "bench --model tiny"))
    check(len(records) == 4, "expected 4 records (2 towers x 2 batches), got %d" % len(records))
    for r in records:
        check({"device", "platform", "driver_version", "model", "tower", "batch", "items_per_s",
               "ms_per_batch", "cpu_ms_per_batch", "gflops",
               "load_s", "build_cold_s", "device_peak_mib", "host_rss_peak_mib"} <= set(r),
              "record fields: %s" % sorted(r))
        check("error" not in r, "bench record has an error: %s" % r.get("error"))
        if "error" in r:
            continue
        check(r["model"] == "tiny" and r["tower"] in ("image", "text"), "record %s" % r)
        check(abs(r["items_per_s"] * r["ms_per_batch"] / 1000 - r["batch"]) < 1e-3 * r["batch"],
              "items_per_s and ms_per_batch disagree: %s" % r)
        check(r["gflops"] > 0 and r["ms_min"] <= r["ms_per_batch"] <= r["ms_max"], "timings %s" % r)
        # a forward does work on this process's threads (the host's, a CPU device's workers)
        check(r["cpu_ms_per_batch"] > 0, "CPU time per batch %s" % r)
    towers = sorted((r["tower"], r["batch"]) for r in records)
    check(towers == [("image", 1), ("image", 3), ("text", 1), ("text", 3)], "runs %s" % towers)
    # --tokens: one text record per value, each with its token count and GFLOP of the positions
    # it computes (N real + the last one, 64 at most).
    args = ["bench", "--model", "tiny", "--tower", "text", "--batch", "2", "--tokens", "5",
            "--tokens", "64", "--iters", "1", "--json"] + device_args()
    if "--device" not in args:
        args += ["--device", "auto"]
    records = json.loads(run_ok(exe, args, "bench --tokens"))
    check([r.get("tokens") for r in records] == [5, 64], "--tokens records %s" % records)
    if len(records) == 2:
        ratio = records[0]["gflop_per_batch"] / records[1]["gflop_per_batch"]
        check((6 / 64) ** 2 < ratio < 6 / 64 * 1.1, "--tokens 5 vs 64: GFLOP ratio %.4f" % ratio)
    # --precision repeated: the precisions side by side in one invocation, in the order given,
    # each record naming its own (issue 28); more than 4 is a usage error.
    args = ["bench", "--model", "tiny", "--tower", "text", "--batch", "1", "--iters", "1",
            "--precision", "q8", "--precision", "f32", "--json"] + device_args()
    if "--device" not in args:
        args += ["--device", "auto"]
    records = json.loads(run_ok(exe, args, "bench --precision q8 --precision f32"))
    check([r.get("precision") for r in records] == ["q8", "f32"] and
          all("error" not in r for r in records), "--precision records %s" % records)
    # measured in rounds: each record has its ratio to the first precision, the first's is 1
    check(len(records) == 2 and records[0].get("vs_first") == 1 and
          records[1].get("vs_first", 0) > 0, "vs_first of %s" % records)
    rc, _, err = run(exe, ["bench", "--model", "tiny"] + ["--precision", "f32"] * 5)
    check(rc == 2 and "at most 4" in err, "five --precision: exit %d, %s" % (rc, err))


def cases(*functions):
    """The CASES table of a case-per-test script: each case_NAME function under NAME, with '-'
    for '_' (case_wrong_model runs as "wrong-model"), in the order given."""
    return {f.__name__[len("case_"):].replace("_", "-"): f for f in functions}


def in_tmp(prefix):
    """A run for run_main that hands each case a fresh temporary folder (removed after):
    case(exe, tmp)."""
    def run(case, exe):
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            case(exe, tmp)
    return run


def run_main(suite, cases, run=None):
    """main() of the case-per-test scripts (argv: SIGLIP_EXECUTABLE CASE): runs cases[CASE] on the
    executable, through run(case_function, exe) when given, and returns the exit status meson
    reads (77: skipped)."""
    if len(sys.argv) != 3 or sys.argv[2] not in cases:
        print("usage: %s SIGLIP_EXECUTABLE {%s}" % (os.path.basename(sys.argv[0]), ",".join(cases)),
              file=sys.stderr)
        return 2
    exe, case = sys.argv[1], sys.argv[2]
    try:
        if run:
            run(cases[case], exe)
        else:
            cases[case](exe)
    except Skip as e:
        print("skipped:", e, file=sys.stderr)
        return SKIP
    except (AssertionError, ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        check(False, "%s: %s" % (type(e).__name__, e))
    print("%s-%s: %d checks, %d failed" % (suite, case, checks, failures), file=sys.stderr)
    return 1 if failures else 0


CASES = cases(case_usage, case_help, case_errors, case_devices, case_tokenize, case_preprocess,
              case_classify_tiny, case_classify_siglip2, case_naflex, case_naflex_cls,
              case_vision_only,
              case_classify_tiny_cls,
              case_classify_medium, case_embed_tiny, case_embed_medium, case_embed_list,
              case_embed_size, case_bench)


if __name__ == "__main__":
    sys.exit(run_main("cli", CASES))
