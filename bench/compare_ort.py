#!/usr/bin/python3
"""compare_ort.py — libsiglip (`siglip bench` / `siglip embed` on an OpenCL device, PoCL by
default) side by side with ONNX Runtime's CPU build (npm's onnxruntime-node, what Immich and
transformers.js run) on an ONNX export of the same random-weight towers, in one invocation:
checks that the outputs agree and prints both throughputs and their ratio (libsiglip / ORT).

Usage (Debian's python3-torch, python3-numpy, python3-pil, nodejs + npm; run with /usr/bin/python3):
  bench/compare_ort.py [--model NAME ...] [--tower image|text|both] [--batch N ...] [--tokens N]
                       [--device SPEC] [--siglip PATH] [--threads N] [--warmup N] [--iters N]
                       [--model-dir DIR] [--opset N] [--no-agreement] [--q8] [--ort-int8]
                       [--json]
  bench/compare_ort.py --prepare --model-dir DIR [--model NAME ...]   # exports only, no timing
  bench/compare_ort.py --install      # npm install --ignore-scripts into bench/ort/node_modules
  bench/compare_ort.py --probe        # proves ONNX Runtime's native CPU binding loads

ONNX Runtime: `npm install --ignore-scripts` of bench/ort/package.json (onnxruntime-node, pinned)
into bench/ort/node_modules (git-ignored), done on first use; --ignore-scripts skips the package's
CUDA download, which this project neither needs nor can reach. The CPU execution provider is
bundled in the package. npm is used for this anchor only: the build and the tests never need it.

Each shape gets a model directory with random F32 weights (bench/siglip_torch.py, as
compare_torch.py) and each tower an ONNX file exported by python3-torch's torch.onnx.export
(no `onnx` python module needed) from bench/siglip_torch.py's forward (transformers' semantics):
  image: pixel_values [B, 3, H, W] float32 → pooler_output [B, D]
  text:  input_ids [B, T] int64, attention_mask [B, T] int64 → pooler_output [B, Dp]
with a dynamic batch axis, opset 17 (LayerNormalization as one op), graph optimization "all",
intra-op threads = --threads, sequential execution. With --model-dir DIR the directory and the
exports are kept in DIR/<shape> and reused.

Agreement: a few random PNGs of exactly the model's image size and a few captions go through
`siglip embed`; ORT gets the same pixels ((x/255 − 0.5)/0.5) and the ids and mask `siglip
tokenize` prints; pooler outputs pass when every cosine ≥ 0.99999.
Throughput: `siglip bench -m DIR --json` and ORT's session.run at the same batch sizes, median of
--iters timed runs after --warmup untimed ones, random inputs of the same shapes (pixels in
[-1, 1]; ids in the vocabulary, mask all ones, as `siglip bench`). --tokens N (text) gives each
text N real tokens and padding to T: ORT still computes all T positions (the mask only hides
padding keys), and `siglip bench` gets --tokens N, so pass it only to a siglip that has it.
Sequential on purpose: the two sides never share the cores while timing.
--q8: libsiglip is timed a second time with `siglip bench --precision q8` (the same F32 weights,
rounded to int8 at load; docs/q8-integer.md) in the same run, next to ORT's F32 graph: the
q8/s and q8 ratio columns (q8 / ORT F32).
--ort-int8 (implies --q8; needs Debian's python3-onnx): ORT also runs an int8 graph of the same
weights, the export rewritten by bench/onnx_int8.py into DynamicQuantizeLinear + MatMulInteger
(what onnxruntime.quantization.quantize_dynamic writes): the ORT8/s and q8/ORT8 columns, and how
far ORT's int8 output is from its f32 output (1-min cos ORT8), as libsiglip's q8 is checked against
its f32 in tests/test_precision.c.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_torch as ct  # noqa: E402  (exits with a clear message when numpy is missing)
import machine  # noqa: E402
import onnx_int8  # noqa: E402
import siglip_torch as st  # noqa: E402

np = ct.np
REPO = st.REPO
ORT_DIR = os.path.join(REPO, "bench", "ort")
EXPORT_VERSION = "bench/compare_ort.py export v1"


class OrtError(Exception):
    """ONNX Runtime (or node/npm) could not run; nothing to compare against."""


# ---- ONNX Runtime through node ----

def ort_installed(ort_dir):
    return os.path.isfile(os.path.join(ort_dir, "node_modules", "onnxruntime-node", "package.json"))


def ort_install(ort_dir):
    """npm install --ignore-scripts in ort_dir (package.json pins onnxruntime-node)."""
    npm = shutil.which("npm")
    if not npm:
        raise OrtError("npm not found (apt-get install npm): ONNX Runtime comes from the npm registry")
    print(f"[ort] npm install --ignore-scripts in {ort_dir}", file=sys.stderr, flush=True)
    p = subprocess.run([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=ort_dir,
                       capture_output=True, text=True)
    if p.returncode != 0 or not ort_installed(ort_dir):
        raise OrtError("npm install --ignore-scripts onnxruntime-node failed:\n" + p.stderr[-2000:])


def node_run(ort_dir, args, timeout=None):
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        raise OrtError("node not found (apt-get install nodejs)")
    try:
        p = subprocess.run([node, os.path.join(ort_dir, "run.js")] + args, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise OrtError(f"ONNX Runtime timed out after {timeout} s")
    if p.returncode != 0:
        raise OrtError("ONNX Runtime failed:\n" + p.stderr[-3000:])
    return json.loads(p.stdout)


def ort_probe(ort_dir):
    """Installs if needed and proves that the native CPU binding loads: {"versions", "backends"}."""
    if not ort_installed(ort_dir):
        ort_install(ort_dir)
    return node_run(ort_dir, ["--probe"], timeout=120)


def raw_input(path, array):
    """Writes array as raw little-endian bytes for run.js; returns its input spec."""
    kind = "int64" if array.dtype.kind in "iu" else "float32"
    array = np.ascontiguousarray(array, np.int64 if kind == "int64" else np.float32)
    array.tofile(path)
    return {"file": path, "type": kind, "dims": list(array.shape)}


# ---- the ONNX export (in a child process: torch and its weights leave memory afterwards) ----

def export_worker(model_dir, tower, path, opset):
    import torch
    model = st.SiglipTorch.from_dir(model_dir)

    class Tower(torch.nn.Module):
        """One tower of siglip_torch's forward as a module; the weights are registered as buffers
        so that the export stores them once, as initializers."""

        def __init__(self):
            super().__init__()
            for i, t in enumerate(model.w.values()):
                self.register_buffer(f"w{i}", t)

        def forward(self, x, mask=None):
            return model.vision(x)[1] if tower == "image" else model.text(x, mask)[1]

    text, vision = model.text_dims, model.vision_dims
    if tower == "image":
        inputs = (torch.zeros(2, vision["channels"], vision["image"], vision["image"]),)
        names = ["pixel_values"]
    else:
        ids = torch.zeros(2, text["positions"], dtype=torch.int64)
        inputs, names = (ids, torch.ones_like(ids)), ["input_ids", "attention_mask"]
    with torch.no_grad():
        torch.onnx.export(Tower().eval(), inputs, path, opset_version=opset, input_names=names,
                          output_names=["pooler_output"], do_constant_folding=True,
                          dynamic_axes={n: {0: "batch"} for n in names + ["pooler_output"]})


def export_onnx(model_dir, tower, directory, opset, log):
    """DIR/<tower>.onnx, exported unless a stamp says an identical export is there."""
    path = os.path.join(directory, f"{tower}.onnx")
    stamp_path = path + ".json"
    with open(os.path.join(model_dir, "random-weights.json")) as f:
        stamp = {"weights": json.load(f), "tower": tower, "opset": opset, "writer": EXPORT_VERSION}
    if os.path.exists(path) and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            if json.load(f) == stamp:
                return path
    log(f"torch.onnx.export: {tower} tower, opset {opset}")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--export-worker", model_dir,
                        tower, path, str(opset)], capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(path):
        raise OrtError(f"ONNX export of the {tower} tower failed:\n" + p.stderr[-3000:])
    with open(stamp_path, "w") as f:
        json.dump(stamp, f)
    log(f"exported {path} ({os.path.getsize(path) / 2**20:.0f} MiB) in {time.perf_counter() - t0:.0f} s")
    return path


def int8_onnx(f32_path, log):
    """The int8 form of an export (bench/onnx_int8.py) next to it, rewritten unless a stamp says
    an identical one is there."""
    path = f32_path[:-len(".onnx")] + "-int8.onnx"
    with open(f32_path + ".json") as f:
        stamp = {"from": json.load(f), "writer": onnx_int8.__doc__.splitlines()[0]}
    if os.path.exists(path) and os.path.exists(path + ".json"):
        with open(path + ".json") as f:
            if json.load(f) == stamp:
                return path
    try:
        n = onnx_int8.convert(f32_path, path)
    except RuntimeError as e:
        raise OrtError(str(e))
    with open(path + ".json", "w") as f:
        json.dump(stamp, f)
    log(f"int8 graph: {n} Linear layers as DynamicQuantizeLinear + MatMulInteger in {path} "
        f"({os.path.getsize(path) / 2**20:.0f} MiB)")
    return path


# ---- one shape ----

def text_inputs(rng, batch, dims, tokens, pad_id):
    """Random ids [batch, T]; with tokens = N, N real tokens then pad_id and a mask of N ones."""
    t = dims["positions"]
    n = t if tokens is None else min(tokens, t)
    ids = rng.integers(0, dims["vocab"], (batch, t), dtype=np.int64)
    mask = np.zeros((batch, t), np.int64)
    ids[:, n:] = pad_id
    mask[:, :n] = 1
    return ids, mask


class ShapeRun:
    """Everything measured for one shape: agreement, libsiglip bench records, ORT results."""

    def __init__(self, args, name, model_dir, work):
        self.args, self.name, self.model_dir, self.work = args, name, model_dir, work
        self.cli = ct.SiglipCli(args.siglip, args.device)
        self.towers = ["image", "text"] if args.tower == "both" else [args.tower]
        self.config = st.load_config(model_dir)
        self.text_dims, self.vision_dims = st.tower_dims(self.config)
        self.errors = []
        self.agreement = {}   # tower → ct.compare_features() or {"error": ...}
        self.lib = {}         # tower → {batch: bench record} or {"error": ...}
        self.lib_q8 = {}      # the same with --precision q8 (--q8)
        self.ort = {}         # tower → run.js result
        self.ort8 = {}        # tower → run.js result of the int8 graph (--ort-int8)
        self.ort8_cos = {}    # tower → min cosine of ORT int8's pooler outputs against ORT f32's
        self.onnx = {}        # tower → path

    def log(self, msg):
        print(f"[{self.name}] {msg}", file=sys.stderr, flush=True)

    def timing_runs(self, tower):
        rng = np.random.default_rng(self.args.seed)
        runs = []
        for b in self.args.batch:
            if tower == "image":
                d = self.vision_dims
                x = rng.uniform(-1, 1, (b, d["channels"], d["image"], d["image"])).astype(np.float32)
                inputs = {"pixel_values": raw_input(os.path.join(self.work, f"image-{b}.bin"), x)}
            else:
                pad = self.config["text_config"].get("pad_token_id", 1)
                ids, mask = text_inputs(rng, b, self.text_dims, self.args.tokens, pad)
                inputs = {"input_ids": raw_input(os.path.join(self.work, f"ids-{b}.bin"), ids),
                          "attention_mask": raw_input(os.path.join(self.work, f"mask-{b}.bin"), mask)}
            runs.append({"label": f"{tower} batch {b}", "batch": b, "inputs": inputs})
        return runs

    def agreement_run(self, tower):
        """The agreement inputs for ORT (and the images/texts for siglip embed), or None."""
        n = self.args.agree_items
        if tower == "image":
            self.images, pixels = ct.write_images(self.work, n, self.vision_dims["image"], self.args.seed)
            inputs = {"pixel_values": raw_input(os.path.join(self.work, "agree-pixels.bin"), pixels)}
        else:
            self.texts = (ct.CAPTIONS * (n // len(ct.CAPTIONS) + 1))[:n]
            try:
                ids, mask = self.cli.tokenize(self.model_dir, self.texts)
            except ct.StepError as e:
                self.agreement["text"] = {"error": str(e)}
                self.errors.append(str(e))
                return None
            inputs = {"input_ids": raw_input(os.path.join(self.work, "agree-ids.bin"), ids),
                      "attention_mask": raw_input(os.path.join(self.work, "agree-mask.bin"), mask)}
        return {"label": f"{tower} agreement", "batch": n, "inputs": inputs,
                "save": os.path.join(self.work, f"ort-{tower}-features.bin")}

    def run_ort(self):
        for tower in self.towers:
            self.onnx[tower] = export_onnx(self.model_dir, tower, self.onnx_dir, self.args.opset, self.log)
        for tower in self.towers:
            runs = self.timing_runs(tower)
            if not self.args.no_agreement:
                agree = self.agreement_run(tower)
                runs = ([agree] if agree else []) + runs
            job = {"model": self.onnx[tower], "output": "pooler_output", "threads": self.args.threads,
                   "warmup": self.args.warmup, "iters": self.args.iters, "runs": runs}
            job_path = os.path.join(self.work, f"ort-job-{tower}.json")
            with open(job_path, "w") as f:
                json.dump(job, f)
            self.log(f"ONNX Runtime: {tower} tower, batch {self.args.batch}, {self.args.threads} threads")
            self.ort[tower] = node_run(self.args.ort_dir, [job_path])
            if self.args.ort_int8:
                self.run_ort_int8(tower, job)

    def run_ort_int8(self, tower, job):
        """The same runs on the int8 graph; its agreement outputs against ORT f32's."""
        job = dict(job, model=int8_onnx(self.onnx[tower], self.log))
        job["runs"] = [dict(r, save=r["save"][:-4] + "-int8.bin") if r.get("save") else r
                       for r in job["runs"]]
        job_path = os.path.join(self.work, f"ort-job-{tower}-int8.json")
        with open(job_path, "w") as f:
            json.dump(job, f)
        self.log(f"ONNX Runtime int8: {tower} tower, batch {self.args.batch}")
        self.ort8[tower] = node_run(self.args.ort_dir, [job_path])
        f32 = os.path.join(self.work, f"ort-{tower}-features.bin")
        i8 = f32[:-4] + "-int8.bin"
        if os.path.exists(f32) and os.path.exists(i8):
            a, b = np.fromfile(f32, np.float32), np.fromfile(i8, np.float32)
            rows = self.args.agree_items
            a, b = a.reshape(rows, -1).astype(np.float64), b.reshape(rows, -1).astype(np.float64)
            cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
            self.ort8_cos[tower] = float(cos.min())

    def run_libsiglip_agreement(self):
        if self.args.no_agreement:
            return
        images = self.images if "image" in self.towers else []
        texts = self.texts if "text" in self.towers and "text" not in self.agreement else []

        def reference(tower, key, shape):
            path = os.path.join(self.work, f"ort-{tower}-features.bin")
            return np.fromfile(path, np.float32).reshape(shape) if os.path.exists(path) else None
        ct.agree_with_embed(self, images, texts, reference, "ONNX Runtime")

    def run_libsiglip_bench(self):
        extra = ["--tokens", str(self.args.tokens)] if self.args.tokens is not None else []
        runs = [(self.lib, [], "")] + ([(self.lib_q8, ["--precision", "q8"], " q8")]
                                       if self.args.q8 else [])
        for tower in self.towers:
            for into, precision, label in runs:
                try:
                    self.log(f"siglip bench{label}: {tower} tower, batch {self.args.batch} on "
                             f"{self.args.device}")
                    into[tower] = self.cli.bench(self.model_dir, tower, self.args.batch,
                                                 self.args.warmup, self.args.iters,
                                                 (extra if tower == "text" else []) + precision)
                    for b in self.args.batch:
                        err = into[tower].get(b, {"error": "no record"}).get("error")
                        if err:
                            self.errors.append(f"siglip bench{label} {tower} batch {b}: "
                                               f"{err.splitlines()[0]}")
                except ct.StepError as e:
                    into[tower] = {"error": str(e)}
                    self.errors.append(str(e))

    def rows(self):
        rows = []
        for tower in self.towers:
            lib = self.lib.get(tower, {})
            agree = self.agreement.get(tower, {})
            ort = {r["batch"]: r for r in self.ort.get(tower, {}).get("runs", []) if "ms_per_batch" in r}
            q8 = self.lib_q8.get(tower, {})
            ort8 = {r["batch"]: r for r in self.ort8.get(tower, {}).get("runs", [])
                    if "ms_per_batch" in r}
            for b in self.args.batch:
                rec = lib.get(b, {}) if "error" not in lib else {"error": lib["error"]}
                q8_rec = q8.get(b, {}) if "error" not in q8 else {}
                q8_rate = q8_rec.get("items_per_s") if not q8_rec.get("error") else None
                o = ort.get(b, {})
                lib_rate = rec.get("items_per_s") if not rec.get("error") else None
                ort_rate = o.get("items_per_s")
                full = tower == "image" or self.args.tokens is None
                gflop = rec.get("gflop_per_batch")
                rows.append({
                    "model": self.name, "tower": tower, "batch": b,
                    "tokens": None if tower == "image" else self.args.tokens,
                    "device": rec.get("device"), "libsiglip_items_per_s": lib_rate,
                    "libsiglip_ms_per_batch": rec.get("ms_per_batch") if lib_rate else None,
                    "libsiglip_gflops": rec.get("gflops") if lib_rate else None,
                    "libsiglip_error": rec.get("error"),
                    "ort_items_per_s": ort_rate, "ort_ms_per_batch": o.get("ms_per_batch"),
                    # The same forward's FLOPs (siglip bench's count) over ORT's time.
                    "ort_gflops": gflop / o["ms_per_batch"] * 1000 if full and gflop and o else None,
                    "ratio": lib_rate / ort_rate if lib_rate and ort_rate else None,
                    "libsiglip_q8_items_per_s": q8_rate,
                    "ratio_q8": q8_rate / ort_rate if q8_rate and ort_rate else None,
                    "ort_int8_items_per_s": ort8.get(b, {}).get("items_per_s"),
                    "ratio_q8_int8": (q8_rate / ort8[b]["items_per_s"]
                                      if q8_rate and ort8.get(b, {}).get("items_per_s") else None),
                    "ort_int8_min_cosine_vs_f32": self.ort8_cos.get(tower),
                    # Fastest run against fastest run: steadier than the medians when other work
                    # shares the cores.
                    "ratio_best": (o["ms_min"] / rec["ms_min"] if lib_rate and o.get("ms_min")
                                   and rec.get("ms_min") else None),
                    "max_abs_err": agree.get("max_abs_err"), "min_cosine": agree.get("min_cosine"),
                    "agreement_error": agree.get("error"),
                })
        return rows


def run_shape(args, name):
    work = tempfile.mkdtemp(prefix=f"compare-ort-{name}-")
    try:
        shape = ShapeRun(args, name, ct.prepare_model_dir(args, name, work), work)
        shape.onnx_dir = shape.model_dir if args.model_dir else work
        if args.prepare:
            for tower in shape.towers:
                export_onnx(shape.model_dir, tower, shape.onnx_dir, args.opset, shape.log)
            return shape
        shape.run_ort()
        shape.run_libsiglip_agreement()
        shape.run_libsiglip_bench()
        return shape
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- output ----

def ort_label(shapes):
    r = next((o for s in shapes for o in s.ort.values()), {})
    return f"ONNX Runtime {r.get('versions', {}).get('node', '?')} CPU (onnxruntime-node, {r.get('threads')} threads)"


def print_table(shapes, args):
    print(f"# {datetime.date.today()}  {args.machine}; load average {args.load_before:.2f} before the run")
    print(f"# libsiglip: {args.siglip} --device {args.device}; baseline: {ort_label(shapes)}, opset "
          f"{args.opset}" + (f"; text: {args.tokens} real tokens per text" if args.tokens is not None else ""))
    q8 = f" {'q8/s':>9} {'q8 ratio':>8}" if args.q8 else ""
    q8 += f" {'ORT8/s':>9} {'q8/ORT8':>8} {'1-cos ORT8':>10}" if args.ort_int8 else ""
    print(f"{'shape':<20} {'tower':<5} {'batch':>5} {'libsiglip/s':>11} {'ORT/s':>9} {'ratio':>7} {'best':>6} "
          f"{'lib ms':>9} {'ORT ms':>9} {'lib GF/s':>8} {'ORT GF/s':>8}  {'max|err|':>9} {'1-min cos':>9}{q8}")
    f = ct.fmt
    for s in shapes:
        for r in s.rows():
            lib = "error" if r["libsiglip_error"] else f(r["libsiglip_items_per_s"], ".3f")
            err = "error" if r["agreement_error"] else f(r["max_abs_err"], ".2e")
            cos = f(None if r["min_cosine"] is None else 1 - r["min_cosine"], ".1e")
            print(f"{r['model']:<20} {r['tower']:<5} {r['batch']:>5} {lib:>11} "
                  f"{f(r['ort_items_per_s'], '.3f'):>9} {f(r['ratio'], '.2f') + ('x' if r['ratio'] else ''):>7} "
                  f"{f(r['ratio_best'], '.2f') + ('x' if r['ratio_best'] else ''):>6} "
                  f"{f(r['libsiglip_ms_per_batch'], '.1f'):>9} {f(r['ort_ms_per_batch'], '.1f'):>9} "
                  f"{f(r['libsiglip_gflops'], '.1f'):>8} {f(r['ort_gflops'], '.1f'):>8}  {err:>9} {cos:>9}"
                  + (f" {f(r['libsiglip_q8_items_per_s'], '.3f'):>9} "
                     f"{f(r['ratio_q8'], '.2f') + ('x' if r['ratio_q8'] else ''):>8}" if args.q8 else "")
                  + (f" {f(r['ort_int8_items_per_s'], '.3f'):>9} "
                     f"{f(r['ratio_q8_int8'], '.2f') + ('x' if r['ratio_q8_int8'] else ''):>8} "
                     f"{f(None if r['ort_int8_min_cosine_vs_f32'] is None else 1 - r['ort_int8_min_cosine_vs_f32'], '.1e'):>10}"
                     if args.ort_int8 else ""))
    for s in shapes:
        for e in s.errors:
            print(f"# {s.name}: {e}")
    print("# items/s: median of the timed runs; ratio = libsiglip / ORT (best: fastest runs); GF/s: siglip bench's FLOP "
          "count of the forward over each side's time; agreement: pooler outputs, pass when min cos "
          f">= {ct.COSINE_PASS}. Timings on a shared machine are noisy.")


def json_report(shapes, args):
    first = next((o for s in shapes for o in s.ort.values()), {})
    return {
        "date": str(datetime.date.today()), "machine": args.machine, "cpu": machine.cpu_name(),
        "isa": machine.isa(), "cpus": os.cpu_count(), "load_average_before": args.load_before,
        "siglip": args.siglip, "device": args.device, "warmup": args.warmup, "iters": args.iters,
        "tokens": args.tokens, "opset": args.opset,
        "ort": {k: first.get(k) for k in ("versions", "threads")},
        "ort_load_ms": {f"{s.name}/{t}": o.get("load_ms") for s in shapes for t, o in s.ort.items()},
        "rows": [r for s in shapes for r in s.rows()],
        "agreement": [dict(model=s.name, tower=k, **v) for s in shapes for k, v in s.agreement.items()],
        "errors": [f"{s.name}: {e}" for s in shapes for e in s.errors],
    }


# ---- main ----

def parse_args(argv):
    ap = ct.common_arguments(__doc__, "ORT intra-op")
    ap.add_argument("--tokens", type=int, help="real tokens per text (text tower); also passed to "
                    "siglip bench as --tokens N")
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset of the export (default 17)")
    ap.add_argument("--q8", action="store_true", help="also time libsiglip with --precision q8 "
                    "(the q8/s and q8 ratio columns)")
    ap.add_argument("--ort-int8", action="store_true", help="also run ORT on an int8 graph of the "
                    "same weights (bench/onnx_int8.py; needs python3-onnx; implies --q8): the "
                    "ORT8/s, q8/ORT8 and 1-cos ORT8 columns")
    ap.add_argument("--ort-dir", default=ORT_DIR, help=argparse.SUPPRESS)
    ap.add_argument("--prepare", action="store_true", help="only write the model directories and "
                    "ONNX exports into --model-dir (no timing: needs no lock)")
    ap.add_argument("--install", action="store_true", help="install ONNX Runtime (npm) and exit")
    ap.add_argument("--probe", action="store_true", help="check that ONNX Runtime's CPU binding loads")
    ap.add_argument("--export-worker", nargs=4, metavar=("DIR", "TOWER", "PATH", "OPSET"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.model = args.model or ["base-patch16-224"]
    args.batch = args.batch or [8]
    if (min(args.batch) < 1 or args.threads < 1 or args.iters < 1 or args.warmup < 0
            or args.agree_items < 1 or (args.tokens is not None and args.tokens < 1)):
        ap.error("--batch, --threads, --iters, --tokens and --agree-items want positive numbers")
    if args.prepare and not args.model_dir:
        ap.error("--prepare wants --model-dir DIR (where the exports are kept)")
    args.siglip = os.path.abspath(args.siglip)
    args.q8 = args.q8 or args.ort_int8
    if args.ort_int8 and onnx_int8.onnx is None:
        ap.error("--ort-int8 needs the onnx Python module: apt-get install python3-onnx")
    return args


def main(argv):
    args = parse_args(argv)
    if args.export_worker:
        d, tower, path, opset = args.export_worker
        export_worker(d, tower, path, int(opset))
        return 0
    try:
        if args.install or args.probe:
            if args.install:
                ort_install(args.ort_dir)
            print(json.dumps(ort_probe(args.ort_dir)))
            return 0
        ort_probe(args.ort_dir)
    except OrtError as e:
        print(f"compare_ort: {e}", file=sys.stderr)
        return 2
    try:
        ct.SiglipCli(args.siglip, args.device).check()
    except ct.StepError as e:
        print(f"compare_ort: {e}", file=sys.stderr)
        return 2
    args.machine = machine.describe(args.siglip, args.device)
    args.load_before = os.getloadavg()[0]
    try:
        shapes = [run_shape(args, name) for name in args.model]
        if args.prepare:
            return 0
    except OrtError as e:  # the baseline failed: nothing to compare against
        print(f"compare_ort: {e}", file=sys.stderr)
        return 2
    return ct.finish(shapes, args, json_report, print_table)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
