#!/usr/bin/python3
"""compare_torch.py — libsiglip (`siglip bench` / `siglip embed` on an OpenCL device, PoCL by
default) side by side with PyTorch's CPU forward of the same SigLIP shape, on the same random
weights and the same inputs: checks that the outputs agree and prints both throughputs and their
ratio (libsiglip / torch).

Usage (Debian's python3-torch, python3-numpy, python3-pil; run with /usr/bin/python3):
  bench/compare_torch.py [--model NAME ...] [--tower image|text|both] [--batch N ...]
                         [--device SPEC] [--siglip PATH] [--threads N] [--warmup N] [--iters N]
                         [--openblas-coretype X | --both-openblas] [--model-dir DIR]
                         [--torch-only] [--no-agreement] [--json]
  bench/compare_torch.py --selftest      # the torch forward against tests/data/tiny's f64 fixtures
  bench/compare_torch.py --list-models

Each shape gets a model directory with random F32 weights (config.json, model.safetensors, the tiny
fixture's spiece.model, a preprocessor_config.json sized to the shape), in a temporary directory or
kept in --model-dir DIR/<shape>. Agreement: a few random PNGs of exactly the model's image size (so
the resize is the identity) and a few captions go through `siglip embed`; torch gets the same pixels
((x/255 − 0.5)/0.5 in float32) and the ids and attention mask that `siglip tokenize` prints, and the
pooler outputs (image_features, text_features) are compared: pass when every cosine ≥ 0.99999.
Throughput: `siglip bench -m DIR --json` and torch's forward at the same batch sizes, median of
--iters timed runs after --warmup untimed ones, inputs of the same shapes (random pixels in [-1, 1],
random ids, no text mask — as `siglip bench`).

PyTorch runs in a child process so that OpenBLAS reads OPENBLAS_CORETYPE when it loads:
--openblas-coretype X sets it (X = "default" unsets it), --both-openblas measures torch with
OpenBLAS's own core detection and with X (default: the best core type /proc/cpuinfo's flags allow:
SkylakeX with AVX-512, Haswell with AVX2 + FMA, Sandybridge with AVX; none without AVX). A core
type whose instructions the CPU lacks is refused before torch starts. Without either option the
environment is inherited as it is.
"""
import argparse
import datetime
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError:
    print("compare_torch: numpy is not importable by " + sys.executable +
          " (Debian's python3-numpy, python3-pil and python3-torch: run with /usr/bin/python3)",
          file=sys.stderr)
    sys.exit(77 if "--selftest" in sys.argv else 2)  # 77: skipped, as the test harness counts it

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # noqa: E402
import siglip_torch as st  # noqa: E402

REPO = st.REPO
COSINE_PASS = 0.99999
CAPTIONS = [
    "a photo of a cat",
    "Two dogs playing in the snow.",
    "A red car parked near the beach at sunset",
    "an astronaut riding a horse on the moon",
    "a bowl of soup",
    "This is a photo of a plane.",
    "a city street at night, in the rain",
    "a diagram of the solar system",
]


class StepError(Exception):
    """A libsiglip step that failed; the message is one or a few lines for the table."""


# ---- the libsiglip side (the siglip CLI) ----

class SiglipCli:
    def __init__(self, path, device):
        self.path, self.device = path, device

    def check(self):
        if not os.path.isfile(self.path) or not os.access(self.path, os.X_OK):
            raise StepError(f"siglip binary not found or not executable: {self.path} "
                            "(build it with `ninja -C build`, or pass --siglip PATH)")

    def run(self, what, args, timeout=None, output_on_failure=False):
        """Runs `siglip ARGS`; returns stdout, or raises StepError with the tail of stderr
        (unless output_on_failure and it printed something: bench exits 1 when any run failed,
        and its JSON then says which)."""
        self.check()
        cmd = [self.path] + args
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise StepError(f"{what}: timed out after {timeout} s: {' '.join(cmd)}")
        except OSError as e:
            raise StepError(f"{what}: cannot run {self.path}: {e}")
        if p.returncode != 0 and not (output_on_failure and p.stdout.strip()):
            tail = " | ".join(p.stderr.strip().splitlines()[-3:]) or "(no message)"
            raise StepError(f"{what}: exit status {p.returncode}: {tail}")
        return p.stdout

    def tokenize(self, model_dir, texts):
        out = self.run("siglip tokenize", ["tokenize", "-m", model_dir, "--json"] + list(texts))
        try:
            j = json.loads(out)
            return (np.asarray(j["input_ids"], np.int64), np.asarray(j["attention_mask"], np.int64))
        except (ValueError, KeyError) as e:
            raise StepError(f"siglip tokenize: unreadable output ({e})")

    def preprocess(self, model_dir, images, out_path):
        self.run("siglip preprocess", ["preprocess", "-m", model_dir, "-o", out_path] + images)
        return st.read_safetensors(out_path)["pixel_values"]

    def embed(self, model_dir, images, texts, batch, out_path):
        args = ["embed", "-m", model_dir, "-o", out_path, "--device", self.device,
                "--batch", str(batch)]
        for i in images:
            args += ["-i", i]
        for t in texts:
            args += ["-t", t]
        self.run("siglip embed", args)
        return st.read_safetensors(out_path)

    def bench(self, model_dir, tower, batches, warmup, iters, extra=()):
        """{batch: record} from `siglip bench --json [EXTRA]`; a record may carry "error"."""
        args = ["bench", "-m", model_dir, "--tower", tower, "--device", self.device, "--json",
                "--warmup", str(warmup), "--iters", str(iters)] + list(extra)
        for b in batches:
            args += ["--batch", str(b)]
        try:
            records = json.loads(self.run("siglip bench", args, output_on_failure=True))
        except ValueError as e:
            raise StepError(f"siglip bench: unreadable JSON ({e})")
        return {r["batch"]: r for r in records if r.get("tower") == tower}


# ---- the torch side, in a child process ----

def torch_worker(job_path, result_path):
    """Loads the model, computes the agreement outputs (when asked) and times each tower/batch;
    writes a JSON result. Runs in its own process (see run_torch)."""
    import torch
    with open(job_path) as f:
        job = json.load(f)
    torch.set_num_threads(job["threads"])
    t0 = time.perf_counter()
    model = st.SiglipTorch.from_dir(job["model_dir"])
    result = {"torch_version": torch.__version__, "threads": torch.get_num_threads(),
              "load_s": time.perf_counter() - t0, "blas": loaded_blas(),
              "openblas_core": openblas_core(), "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
              "runs": []}
    with torch.no_grad():
        agree = job.get("agreement")
        if agree:
            out = {}
            if "pixels" in agree:
                out["image_features"] = model.vision(torch.from_numpy(np.load(agree["pixels"])))[1]
            if "ids" in agree:
                ids, mask = np.load(agree["ids"]), np.load(agree["mask"])
                out["text_features"] = model.text(torch.from_numpy(ids), torch.from_numpy(mask))[1]
            for k, v in out.items():
                np.save(os.path.join(job["out_dir"], k + ".npy"), v.numpy())
        rng = np.random.default_rng(job["seed"])
        for tower in job["towers"]:
            for batch in job["batches"]:
                result["runs"].append(time_torch(model, tower, batch, job, rng))
    with open(result_path, "w") as f:
        json.dump(result, f)


def time_torch(model, tower, batch, job, rng):
    import torch
    if tower == "image":
        d = model.vision_dims
        shape = (batch, d["channels"], d["image"], d["image"])
        x = torch.from_numpy(rng.uniform(-1, 1, shape).astype(np.float32))
        forward = lambda: model.vision(x)  # noqa: E731
    else:
        d = model.text_dims
        ids = torch.from_numpy(rng.integers(0, d["vocab"], (batch, d["positions"]), dtype=np.int64))
        forward = lambda: model.text(ids)  # noqa: E731
    for _ in range(job["warmup"]):
        forward()
    times = []
    for _ in range(job["iters"]):
        t0 = time.perf_counter()
        forward()
        times.append((time.perf_counter() - t0) * 1000)
    ms = float(np.median(times))
    return {"tower": tower, "batch": batch, "ms_per_batch": ms, "ms_min": min(times),
            "ms_max": max(times), "items_per_s": batch / ms * 1000}


def loaded_blas():
    """The BLAS/LAPACK libraries mapped into this process (which one torch's GEMMs use)."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if "blas" in path or "lapack" in path or "mkl" in path:
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def openblas_core():
    """The core type OpenBLAS chose (openblas_get_corename()), or None without OpenBLAS."""
    import ctypes
    for path in loaded_blas():
        if "libopenblas" in os.path.basename(path):
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                return lib.openblas_get_corename().decode()
            except (OSError, AttributeError):
                return None
    return None


def coretype_label(coretype):
    return "OPENBLAS_CORETYPE unset" if coretype is None else f"OPENBLAS_CORETYPE={coretype}"


def run_torch(job, work, coretype, inherit):
    """Runs torch_worker in a child process with OPENBLAS_CORETYPE set to coretype (None: unset),
    or the environment as it is when inherit. Returns the result dict."""
    env = dict(os.environ)
    if not inherit:
        env.pop("OPENBLAS_CORETYPE", None)
        if coretype is not None:
            env["OPENBLAS_CORETYPE"] = coretype
    env["OPENBLAS_NUM_THREADS"] = str(job["threads"])
    env["OMP_NUM_THREADS"] = str(job["threads"])
    job_path = os.path.join(work, "torch-job.json")
    result_path = os.path.join(work, "torch-result.json")
    with open(job_path, "w") as f:
        json.dump(job, f)
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", job_path, result_path]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode == -4:  # SIGILL
        raise RuntimeError(f"torch worker died with 'Illegal instruction' under "
                           f"{coretype_label(env.get('OPENBLAS_CORETYPE'))}: this CPU ({machine.isa()}) "
                           "cannot run those OpenBLAS kernels")
    if p.returncode != 0:
        raise RuntimeError("torch worker failed:\n" + p.stderr[-4000:])
    with open(result_path) as f:
        result = json.load(f)
    result["config"] = coretype_label(result["openblas_coretype"])
    if result["openblas_core"]:
        result["config"] += f" (core {result['openblas_core']})"
    return result


# ---- inputs for the agreement check ----

def write_images(directory, n, size, seed):
    """n random RGB PNGs of size×size (smooth gradients plus noise) and their pixel_values
    [n, 3, size, size] as the reference preprocessing computes them (no resize needed)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    paths, pixels = [], []
    for i in range(n):
        planes = [np.sin(6.28 * (rng.uniform(0.5, 3) * x + rng.uniform(0.5, 3) * y) + c)
                  for c in range(3)]
        a = 127.5 + 90 * np.stack(planes, -1) + rng.normal(0, 25, (size, size, 3))
        rgb = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        path = os.path.join(directory, f"random-{i}.png")
        Image.fromarray(rgb, "RGB").save(path)
        paths.append(path)
        pixels.append(st.pixel_values_from_u8(np.asarray(Image.open(path).convert("RGB"))))
    return paths, np.stack(pixels)


def compare_features(ours, theirs):
    """Max abs error, min cosine over rows, and the largest |torch| value for scale."""
    ours, theirs = ours.astype(np.float64), theirs.astype(np.float64)
    cos = (ours * theirs).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    return {"n": int(ours.shape[0]), "max_abs_err": float(np.abs(ours - theirs).max()),
            "min_cosine": float(cos.min()), "max_abs_torch": float(np.abs(theirs).max()),
            "pass": bool(cos.min() >= COSINE_PASS)}


# ---- one shape ----

def agree_with_embed(shape, images, texts, reference, baseline):
    """Runs `siglip embed` on the images and texts of a shape run (compare_torch's or
    compare_ort's ShapeRun) and compares its pooler outputs with reference(tower, key, shape) (the
    baseline's array, or None): fills shape.agreement[tower] and adds failures to shape.errors."""
    if not images and not texts:
        return
    try:
        shape.log(f"siglip embed: {len(images)} images, {len(texts)} texts on {shape.args.device}")
        out = shape.cli.embed(shape.model_dir, images, texts, max(shape.args.batch),
                              os.path.join(shape.work, "embed.safetensors"))
    except StepError as e:
        for tower in ("image" if images else None, "text" if texts else None):
            if tower:
                shape.agreement[tower] = {"error": str(e)}
        shape.errors.append(str(e))
        return
    for tower, key in (("image", "image_features"), ("text", "text_features")):
        theirs = reference(tower, key, out[key].shape) if key in out else None
        if theirs is not None:
            shape.agreement[tower] = compare_features(out[key], theirs)
            if not shape.agreement[tower]["pass"]:
                shape.errors.append(f"{tower} features disagree with {baseline}: cosine "
                                    f"{shape.agreement[tower]['min_cosine']:.8f} < {COSINE_PASS}")


class ShapeRun:
    """Everything measured for one shape: agreement, libsiglip bench records, torch results."""

    def __init__(self, args, name, model_dir, work):
        self.args, self.name, self.model_dir, self.work = args, name, model_dir, work
        self.cli = SiglipCli(args.siglip, args.device)
        self.towers = ["image", "text"] if args.tower == "both" else [args.tower]
        self.errors = []
        self.agreement = {}      # tower → compare_features() or {"error": ...}
        self.preprocess = None   # max |siglip preprocess − our pixels|, or an error string
        self.lib = {}            # tower → {batch: bench record} or {"error": ...}
        self.torch = []          # one result per OpenBLAS configuration

    def log(self, msg):
        print(f"[{self.name}] {msg}", file=sys.stderr, flush=True)

    def agreement_inputs(self):
        """Writes the images, tokenizes the captions; returns the torch job's "agreement" part."""
        n = self.args.agree_items
        size = st.tower_dims(st.load_config(self.model_dir))[1]["image"]
        agree = {}
        if "image" in self.towers:
            self.images, pixels = write_images(self.work, n, size, self.args.seed)
            agree["pixels"] = os.path.join(self.work, "pixels.npy")
            np.save(agree["pixels"], pixels)
            try:
                theirs = self.cli.preprocess(self.model_dir, self.images,
                                             os.path.join(self.work, "pixels.safetensors"))
                self.preprocess = float(np.abs(theirs - pixels).max())
            except StepError as e:
                self.preprocess = str(e)
        if "text" in self.towers:
            self.texts = (CAPTIONS * (n // len(CAPTIONS) + 1))[:n]
            try:
                ids, mask = self.cli.tokenize(self.model_dir, self.texts)
                agree["ids"], agree["mask"] = (os.path.join(self.work, k + ".npy") for k in ("ids", "mask"))
                np.save(agree["ids"], ids)
                np.save(agree["mask"], mask)
            except StepError as e:
                self.agreement["text"] = {"error": str(e)}
                self.errors.append(str(e))
        return agree

    def run_libsiglip_agreement(self):
        images = self.images if "image" in self.towers else []
        texts = self.texts if "text" in self.towers and "text" not in self.agreement else []

        def reference(tower, key, shape):
            path = os.path.join(self.work, key + ".npy")
            return np.load(path) if os.path.exists(path) else None
        agree_with_embed(self, images, texts, reference, "torch")

    def run_libsiglip_bench(self):
        for tower in self.towers:
            try:
                self.log(f"siglip bench: {tower} tower, batch {self.args.batch} on {self.args.device}")
                self.lib[tower] = self.cli.bench(self.model_dir, tower, self.args.batch,
                                                 self.args.warmup, self.args.iters)
                for b in self.args.batch:
                    err = self.lib[tower].get(b, {"error": "no record"}).get("error")
                    if err:
                        self.errors.append(f"siglip bench {tower} batch {b}: {err.splitlines()[0]}")
            except StepError as e:
                self.lib[tower] = {"error": str(e)}
                self.errors.append(str(e))

    def run_torch(self, configs, inherit):
        agree = None
        if not self.args.torch_only and not self.args.no_agreement:
            agree = self.agreement_inputs()
        job = {"model_dir": self.model_dir, "towers": self.towers, "batches": self.args.batch,
               "warmup": self.args.warmup, "iters": self.args.iters, "seed": self.args.seed,
               "threads": self.args.threads, "out_dir": self.work, "agreement": agree}
        for coretype in configs:
            self.log(f"torch: {coretype_label(coretype) if not inherit else 'environment as is'}, "
                     f"{self.args.threads} threads, towers {self.towers}, batch {self.args.batch}")
            self.torch.append(run_torch(job, self.work, coretype, inherit))
            job["agreement"] = None  # the outputs don't depend on the BLAS configuration

    def rows(self):
        rows = []
        for tower in self.towers:
            lib = self.lib.get(tower, {})
            agree = self.agreement.get(tower, {})
            for b in self.args.batch:
                rec = lib.get(b, {}) if "error" not in lib else {"error": lib["error"]}
                for t in self.torch:
                    run = next(r for r in t["runs"] if r["tower"] == tower and r["batch"] == b)
                    lib_rate = rec.get("items_per_s") if not rec.get("error") else None
                    rows.append({
                        "model": self.name, "tower": tower, "batch": b,
                        "device": rec.get("device"), "libsiglip_items_per_s": lib_rate,
                        "libsiglip_ms_per_batch": rec.get("ms_per_batch") if lib_rate else None,
                        "libsiglip_gflops": rec.get("gflops") if lib_rate else None,
                        "libsiglip_error": rec.get("error"),
                        "torch_items_per_s": run["items_per_s"], "torch_ms_per_batch": run["ms_per_batch"],
                        "torch_config": t["config"], "torch_threads": t["threads"],
                        "ratio": lib_rate / run["items_per_s"] if lib_rate else None,
                        "max_abs_err": agree.get("max_abs_err"), "min_cosine": agree.get("min_cosine"),
                        "agreement_error": agree.get("error"),
                    })
        return rows


def prepare_model_dir(args, name, work):
    directory = os.path.join(args.model_dir, name) if args.model_dir else os.path.join(work, "model")
    t0 = time.perf_counter()
    if st.write_model_dir(directory, name, args.seed):
        print(f"[{name}] wrote random weights to {directory} in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr, flush=True)
    return directory


def run_shape(args, name, configs, inherit):
    work = tempfile.mkdtemp(prefix=f"compare-torch-{name}-")
    try:
        shape = ShapeRun(args, name, prepare_model_dir(args, name, work), work)
        # Sequential on purpose: the two sides must not share the cores while timing.
        shape.run_torch(configs, inherit)
        if not args.torch_only:
            if not args.no_agreement:
                shape.run_libsiglip_agreement()
            shape.run_libsiglip_bench()
        return shape
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- output ----

def fmt(v, spec, missing="-"):
    return missing if v is None else format(v, spec)


def print_table(shapes, args):
    first = next((t for s in shapes for t in s.torch), {})
    print(f"# {datetime.date.today()}  {args.machine}; load average "
          f"{args.load_before:.2f} before the run; torch "
          f"{first.get('torch_version')} ({first.get('threads')} threads, BLAS: "
          f"{', '.join(os.path.basename(os.path.dirname(b)) + '/' + os.path.basename(b) for b in first.get('blas', [])) or '?'})")
    device = next((r["device"] for s in shapes for r in s.rows() if r["device"]), None)
    if not args.torch_only:
        print(f"# libsiglip: {args.siglip} on --device {args.device}" + (f" ({device})" if device else ""))
    print(f"{'shape':<20} {'tower':<5} {'batch':>5} {'libsiglip/s':>11} {'torch/s':>9} "
          f"{'ratio':>7}  {'max|err|':>9} {'1-min cos':>9}  torch config")
    for s in shapes:
        for r in s.rows():
            lib = "error" if r["libsiglip_error"] else fmt(r["libsiglip_items_per_s"], ".3f")
            err = "error" if r["agreement_error"] else fmt(r["max_abs_err"], ".2e")
            print(f"{r['model']:<20} {r['tower']:<5} {r['batch']:>5} {lib:>11} "
                  f"{r['torch_items_per_s']:>9.3f} {fmt(r['ratio'], '.2f') + ('x' if r['ratio'] else ''):>7}  {err:>9} "
                  f"{fmt(None if r['min_cosine'] is None else 1 - r['min_cosine'], '.1e'):>9}  {r['torch_config']}")
        if s.preprocess is not None:
            what = f"max |diff| {s.preprocess:.2e}" if isinstance(s.preprocess, float) else s.preprocess
            print(f"#   {s.name}: siglip preprocess vs this script's pixel_values: {what}")
    for note in args.notes:
        print(f"# note: {note}")
    errors = [(s.name, e) for s in shapes for e in s.errors]
    for name, e in errors:
        print(f"# {name}: {e}")
    print("# items/s: median of the timed runs; ratio = libsiglip / torch; agreement: pooler outputs "
          f"(image_features / text_features), pass when min cos >= {COSINE_PASS}. Timings on a "
          "shared machine are noisy.")



def json_report(shapes, args):
    return {
        "date": str(datetime.date.today()), "machine": args.machine, "cpu": machine.cpu_name(),
        "isa": machine.isa(), "cpus": os.cpu_count(),
        "load_average_before": args.load_before,
        "siglip": None if args.torch_only else args.siglip, "device": args.device,
        "warmup": args.warmup, "iters": args.iters,
        "torch": [{k: t[k] for k in ("config", "torch_version", "threads", "blas", "openblas_core",
                                     "load_s")}
                  for t in (shapes[0].torch if shapes else [])],
        "rows": [r for s in shapes for r in s.rows()],
        "agreement": [dict(model=s.name, tower=k, **v) for s in shapes for k, v in s.agreement.items()],
        "preprocess_max_abs_diff": {s.name: s.preprocess for s in shapes if s.preprocess is not None},
        "errors": [f"{s.name}: {e}" for s in shapes for e in s.errors],
        "notes": args.notes,
    }


# ---- self-test: the torch forward against the fixtures ----

def selftest():
    """The torch forward on tests/data/tiny against transformers' f64 outputs, the random-model
    writer against the fixture's tensor names and shapes, and the safetensors round trip."""
    import torch
    data = os.path.join(REPO, "tests", "data")
    exp = st.read_safetensors(os.path.join(data, "tiny-expected.safetensors"))
    failures = []

    def check(what, value, limit):
        ok = value <= limit
        print(f"  {'ok  ' if ok else 'FAIL'} {what}: {value:.3g} (limit {limit:g})")
        if not ok:
            failures.append(what)

    ids = torch.from_numpy(exp["public.input_ids"])
    mask = torch.from_numpy(exp["public.attention_mask"])
    pixels = torch.from_numpy(exp["public.pixel_values.SiglipImageProcessorPil"])
    for dtype, limit in ((torch.float32, 1e-5), (torch.float64, 1e-6)):
        print(f"tests/data/tiny, torch {dtype} vs transformers f64 (max abs error):")
        model = st.SiglipTorch.from_dir(os.path.join(data, "tiny"), dtype)
        with torch.no_grad():
            text_last, text_pool = model.text(ids)
            vision_last, vision_pool = model.vision(pixels)
            logits = model.logits_per_image(text_pool, vision_pool)
            masked = model.logits_per_image(model.text(ids, mask)[1], vision_pool)
        for name, got in (("text.pooler_output", text_pool), ("vision.pooler_output", vision_pool),
                          ("logits_per_image", logits), ("text.last_hidden_state", text_last),
                          ("vision.last_hidden_state", vision_last)):
            check(name, float(np.abs(got.double().numpy() - exp["public.f64." + name]).max()), limit)
        # Only an f32 reference exists for the masked forward: its own f32 error is ~2e-6.
        check("masked logits_per_image (vs transformers f32)",
              float(np.abs(masked.double().numpy() - exp["public.f32.masked.logits_per_image"]).max()),
              1e-5)

    print("preprocessing (rgb_40x40.png, no resize) vs transformers' SiglipImageProcessorPil:")
    from PIL import Image
    cases = json.load(open(os.path.join(data, "tiny-cases.json")))
    at = cases["public.images"].index("rgb_40x40.png")
    rgb = np.asarray(Image.open(os.path.join(data, "images", "rgb_40x40.png")).convert("RGB"))
    check("pixel_values", float(np.abs(st.pixel_values_from_u8(rgb) - pixels[at].numpy()).max()), 0.0)

    print("random model directory (shape tiny) vs tests/data/tiny's tensors:")
    with tempfile.TemporaryDirectory() as tmp:
        st.write_model_dir(tmp, "tiny", seed=3)
        ours = st.read_safetensors(os.path.join(tmp, "model.safetensors"))
        ref = st.read_safetensors(os.path.join(data, "tiny", "model.safetensors"))
        check("tensor names missing or extra", len(set(ours) ^ set(ref)), 0)
        check("tensors of another shape",
              sum(ours[k].shape != ref[k].shape for k in set(ours) & set(ref)), 0)
        with open(os.path.join(tmp, "model.safetensors"), "rb") as f:
            check("header length mod 8", int.from_bytes(f.read(8), "little") % 8, 0)
        model = st.SiglipTorch.from_dir(tmp)
        with torch.no_grad():
            pool = model.vision(pixels)[1]
        std = float(pool.std())
        check("random model: |log10 std(vision pooler)| (activations O(1))", abs(np.log10(std)), 1.0)

        tensors = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.arange(3, dtype=np.int64)}
        st.write_safetensors(os.path.join(tmp, "rt.safetensors"), tensors)
        back = st.read_safetensors(os.path.join(tmp, "rt.safetensors"))
        check("safetensors round trip mismatches",
              sum(not np.array_equal(back[k], v) or back[k].dtype != v.dtype for k, v in tensors.items()), 0)
    print("selftest: " + ("PASS" if not failures else f"FAIL ({len(failures)}: {', '.join(failures)})"))
    return 0 if not failures else 1


# ---- main ----

def common_arguments(doc, baseline):
    """The parser with the options compare_torch.py and compare_ort.py share; baseline names the
    other side ("torch", "ORT intra-op") in the --threads help."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", choices=sorted(st.SHAPES), metavar="NAME",
                    help="shape (repeatable; default base-patch16-224; compare_torch.py --list-models)")
    ap.add_argument("--model-dir", help="keep the random model directories (and what else the "
                    "baseline needs) in DIR/<shape> and reuse them")
    ap.add_argument("--tower", choices=("image", "text", "both"), default="both")
    ap.add_argument("--batch", type=int, action="append", help="batch size (repeatable; default 8)")
    ap.add_argument("--device", default="pocl", help="libsiglip's --device (default pocl)")
    ap.add_argument("--siglip", default=os.path.join(REPO, "build", "tools", "siglip"),
                    help="the siglip binary (default build/tools/siglip)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help=f"{baseline} threads (default: all CPUs)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--agree-items", type=int, default=4, help="images and texts for the agreement check")
    ap.add_argument("--no-agreement", action="store_true", help="skip the output comparison")
    ap.add_argument("--json", action="store_true", help="print a JSON report instead of the table")
    return ap


def parse_args(argv):
    ap = common_arguments(__doc__, "torch")
    ap.add_argument("--openblas-coretype", metavar="X",
                    help="run torch with OPENBLAS_CORETYPE=X ('default': unset)")
    ap.add_argument("--both-openblas", action="store_true",
                    help="run torch with OpenBLAS's own core detection and with --openblas-coretype "
                         "(default: the best core type the CPU's flags allow, e.g. SkylakeX with "
                         "AVX-512, Haswell with AVX2)")
    ap.add_argument("--torch-only", action="store_true", help="measure torch alone")
    ap.add_argument("--selftest", action="store_true", help="check the torch forward against the fixtures")
    ap.add_argument("--list-models", action="store_true")
    ap.add_argument("--torch-worker", nargs=2, metavar=("JOB", "RESULT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.model = args.model or ["base-patch16-224"]
    args.batch = args.batch or [8]
    if min(args.batch) < 1 or args.threads < 1 or args.iters < 1 or args.warmup < 0 or args.agree_items < 1:
        ap.error("--batch, --threads, --iters and --agree-items want positive numbers")
    args.siglip = os.path.abspath(args.siglip)
    return args


class ConfigError(Exception):
    """An OpenBLAS configuration this CPU cannot run."""


def check_coretype(coretype):
    """Refuses a core type whose kernels need instructions this CPU lacks (torch would die with
    SIGILL in the middle of the run)."""
    missing = machine.openblas_missing_flags(coretype)
    if missing:
        raise ConfigError(f"OPENBLAS_CORETYPE={coretype} needs {', '.join(missing)}, which this CPU "
                          f"({machine.cpu_name()}, {machine.isa()}) lacks: its kernels would stop "
                          "with 'Illegal instruction'")


def openblas_configs(args):
    """(coretypes to run torch with, inherit the environment, a note for the log or None).
    --both-openblas: OpenBLAS's own detection, then the best core type the CPU's flags allow
    (SkylakeX with AVX-512, Haswell with AVX2 + FMA, ...) or the one --openblas-coretype names."""
    if args.both_openblas:
        if args.openblas_coretype not in (None, "default"):
            check_coretype(args.openblas_coretype)
            return [None, args.openblas_coretype], False, None
        best, why_not = machine.openblas_best_core()
        if best is None:
            return [None], False, f"--both-openblas: no forced core type ({why_not})"
        return [None, best], False, (f"--both-openblas: forcing OPENBLAS_CORETYPE={best}, the best "
                                     f"OpenBLAS kernels for this CPU's {machine.isa()}")
    if args.openblas_coretype:
        if args.openblas_coretype == "default":
            return [None], False, None
        check_coretype(args.openblas_coretype)
        return [args.openblas_coretype], False, None
    return [os.environ.get("OPENBLAS_CORETYPE")], True, None


def main(argv):
    args = parse_args(argv)
    if args.torch_worker:
        torch_worker(*args.torch_worker)
        return 0
    if (args.selftest or not args.list_models) and importlib.util.find_spec("torch") is None:
        print("compare_torch: PyTorch is not importable by " + sys.executable +
              " (apt-get install python3-torch; run with /usr/bin/python3)", file=sys.stderr)
        return 77 if args.selftest else 2  # 77: skipped, as the test harness counts it
    if args.selftest:
        return selftest()
    if args.list_models:
        for name, (vocab, pos, t, v, image, patch) in st.SHAPES.items():
            print(f"{name:<20} vocab {vocab:>6}  positions {pos:>3}  text D/F/L/H {'/'.join(map(str, t)):<16} "
                  f"vision D/F/L/H {'/'.join(map(str, v)):<16} image {image} patch {patch}")
        return 0
    if not args.torch_only:
        try:
            SiglipCli(args.siglip, args.device).check()
        except StepError as e:
            print(f"compare_torch: {e}; --torch-only measures torch alone", file=sys.stderr)
            return 2
    try:
        configs, inherit, note = openblas_configs(args)
    except ConfigError as e:
        print(f"compare_torch: {e}", file=sys.stderr)
        return 2
    if note:
        print(f"compare_torch: {note}", file=sys.stderr)
    args.machine = machine.describe(None if args.torch_only else args.siglip, args.device)
    args.load_before = os.getloadavg()[0]  # other users of the CPUs make every figure noisy
    try:
        shapes = [run_shape(args, name, configs, inherit) for name in args.model]
    except RuntimeError as e:  # the torch side failed: nothing to compare against
        print(f"compare_torch: {e}", file=sys.stderr)
        return 2
    args.notes = [note] if note else []
    first = next((t for s in shapes for t in s.torch), None)
    if first and not first["openblas_core"]:
        args.notes.append(f"torch's BLAS is {', '.join(first['blas']) or 'unknown'}, not OpenBLAS: "
                          "OPENBLAS_CORETYPE changes nothing and torch's GEMMs are slow "
                          "(apt-get install libopenblas0-pthread)")
        print(f"compare_torch: {args.notes[-1]}", file=sys.stderr)
    return finish(shapes, args, json_report, print_table)


def finish(shapes, args, json_report, print_table):
    """Prints the JSON report (--json) or the table; returns the exit status: 1 when any step
    failed or disagreed."""
    if args.json:
        json.dump(json_report(shapes, args), sys.stdout, indent=1)
        print()
    else:
        print_table(shapes, args)
    return 1 if any(s.errors for s in shapes) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
