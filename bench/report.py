#!/usr/bin/python3
"""report.py — regenerates every table of the performance record (docs/performance.md) in one command: libsiglip next
to ONNX Runtime's CPU build (compare_ort.py), next to PyTorch (compare_torch.py --both-openblas),
and `siglip bench` alone, each headed with the machine, CPU model, ISA, OpenCL driver and the ISA
PoCL compiles for. Prints Markdown (paste it into docs/performance.md's "Performance record") and keeps
every step's raw JSON in --json-dir.

Usage (run with /usr/bin/python3 from anywhere; needs a built build/tools/siglip):
  bench/report.py                 # the record's tables (~15-25 min on 2 cores)
  bench/report.py --quick         # every step on the small shape, one timed run: checks the script
  bench/report.py [--models A,B] [--batches 1,8] [--skip ort,torch,bench] [--out FILE]

--reuse takes the steps already in --json-dir (resumes a run, or re-renders its tables).
Every timing step runs under `flock LOCK` (default /tmp/siglip-bench.lock; --lock none to skip)
so that two benchmarks never share the cores, and each step is one short child invocation, so the
lock is released between steps. Random weights and ONNX exports are kept in --model-dir (default
build/bench-models) and reused by the next run.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import machine  # noqa: E402

REPO = os.path.dirname(HERE)
PY = sys.executable
# The record's plan: (model, batches) for each table. so400m stays at batch 1: one image batch of
# 8 takes over a minute per run on 2 cores, and a step should hold the lock for less than 2 minutes;
# --models/--batches override.
PLAN = {
    "ort": [("base-patch16-224", [1, 8, 32]), ("so400m-patch14-384", [1])],
    "torch": [("base-patch16-224", [8])],
    "bench": [("base-patch16-224", [1, 8, 32]), ("so400m-patch14-384", [1])],
}
# Quick: the smallest shape each tool knows (siglip bench's built-ins have no "small").
QUICK = {"ort": [("small", [1, 2])], "torch": [("small", [2])], "bench": [("tiny", [1, 2])]}


def log(msg):
    print(f"[report] {msg}", file=sys.stderr, flush=True)


def locked(args, cmd):
    return cmd if args.lock == "none" else ["flock", args.lock] + cmd


def run_step(args, name, cmd, lock=True):
    """Runs one step (under the lock unless told); returns its parsed JSON stdout, or
    {"error": ...}. The command line is kept for the table's "reproduce" line."""
    path = os.path.join(args.json_dir, name + ".json")
    if args.reuse and os.path.exists(path):
        try:
            with open(path) as f:
                doc = json.load(f)
            log(f"reusing {path}")
            return doc
        except ValueError:
            pass
    log(" ".join(cmd))
    p = subprocess.run(locked(args, cmd) if lock else cmd, capture_output=True, text=True, cwd=REPO)
    with open(path, "w") as f:
        f.write(p.stdout)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        tail = " | ".join(p.stderr.strip().splitlines()[-4:])
        return {"error": f"exit {p.returncode}: {tail or '(no output)'}"}
    if p.returncode not in (0, 1):  # 1: ran, but something in it failed (its JSON says what)
        doc = {"error": f"exit {p.returncode}", "partial": doc}
    return doc


def rel(path):
    return os.path.relpath(path, REPO) if path.startswith(REPO + os.sep) else path


def fmt(v, spec, missing="–"):
    return missing if v is None else format(v, spec)


def heading(title, args, extra=""):
    """The table's title names the CPU and its ISA; the line under it the whole machine."""
    return (f"### {title}: {machine.cpu_name()}, {machine.isa()}\n\n{args.date}, {args.machine}. "
            f"{extra}".rstrip() + "\n")


def reproduce(cmd):
    """The command a reader runs for the same figures as a table (--json left out)."""
    return "Reproduce: `" + " ".join(rel(c) if c.startswith(REPO) else c for c in cmd if c != "--json") + "`\n"


def section(title, args, note, columns, rows, errors, cmds):
    """One table: heading (machine and note), Markdown rows, the errors, the reproduce lines."""
    return "\n".join([heading(title, args, note), "| " + " | ".join(columns) + " |",
                      "|" + " --- |" * len(columns)] + rows +
                     ["\n" + "".join(f"Error: {e}\n" for e in errors) + "".join(reproduce(c) for c in cmds)])


# ---- the tables ----

def split_steps(args, name, cmd, batches, agree_once):
    """Runs cmd once per tower and batch, so that each lock hold stays short (a so400m run at one
    batch is already a minute here); returns the list of documents. agree_once: compare_*.py
    checks agreement with the first batch of each tower only."""
    docs = []
    for tower in ("image", "text"):
        for i, b in enumerate(batches):
            step = cmd + ["--tower", tower, "--batch", str(b)] + (["--no-agreement"] if i and agree_once else [])
            docs.append(run_step(args, f"{name}-{tower}-{b}", step))
    return docs


def merged(docs):
    """The compare_*.py documents of split_steps() as one: rows and errors joined, the rest from
    the first that ran."""
    ok = [d for d in docs if "rows" in d]
    doc = dict(ok[0]) if ok else {}
    doc["rows"] = [r for d in ok for r in d["rows"]]
    doc["errors"] = [e for d in docs for e in d.get("errors", [])] + [d["error"] for d in docs if "error" in d]
    doc["load_averages"] = [d["load_average_before"] for d in ok if d.get("load_average_before") is not None]
    return doc


def with_batches(cmd, batches):
    return cmd + [x for b in batches for x in ("--batch", str(b))]


def ort_table(args):
    out = []
    for model, batches in args.plan["ort"]:
        cmd = [PY, rel(os.path.join(HERE, "compare_ort.py")), "--model", model, "--model-dir",
               args.model_dir, "--siglip", args.siglip, "--device", args.device, "--json",
               "--warmup", str(args.warmup), "--iters", str(args.iters)]
        # The weights and ONNX exports first, outside the lock (minutes for so400m, no timing).
        run_step(args, f"ort-prepare-{model}", cmd[:cmd.index("--json")] + ["--prepare"], lock=False)
        out.append((with_batches(cmd, batches), merged(split_steps(args, f"ort-{model}", cmd, batches, True))))
    rows, errors = [], []
    for cmd, doc in out:
        errors += doc["errors"]
        for r in doc["rows"]:
            agree = "error" if r["agreement_error"] else fmt(
                None if r["min_cosine"] is None else 1 - r["min_cosine"], ".0e")
            rows.append(f"| {r['model']} | {r['tower']} | {r['batch']} | "
                        f"{fmt(r['libsiglip_items_per_s'], '.2f', r['libsiglip_error'] or '–')} | "
                        f"{fmt(r['ort_items_per_s'], '.2f')} | {fmt(r['ratio'], '.2f')}× "
                        f"({fmt(r.get('ratio_best'), '.2f')}×) | "
                        f"{fmt(r['libsiglip_gflops'], '.0f')} | {fmt(r['ort_gflops'], '.0f')} | "
                        f"{fmt(r['libsiglip_ms_per_batch'], '.0f')} | {fmt(r['ort_ms_per_batch'], '.0f')} | {agree} |")
    return section("libsiglip and ONNX Runtime (CPU)", args, ort_note(out),
                   ["model", "tower", "batch", "libsiglip items/s", "ONNX Runtime items/s", "ratio (best runs)",
                    "libsiglip GFLOP/s", "ORT GFLOP/s", "libsiglip ms/batch", "ORT ms/batch",
                    "agreement (1 − min cos)"], rows, errors, [c for c, _ in out])


def ort_note(out):
    doc = next((d for _, d in out if "ort" in d), {})
    o = doc.get("ort", {})
    loads = [f"{x:.1f}" for _, d in out for x in d.get("load_averages", [])]
    return (f"ONNX Runtime {o.get('versions', {}).get('node', '?')} from npm (onnxruntime-node, CPU "
            f"execution provider, {o.get('threads')} intra-op threads, graph optimization \"all\") on a "
            f"torch.onnx.export (opset {doc.get('opset', '?')}) of the same random weights; median of "
            f"{doc.get('iters', '?')} timed runs; load average before each run: {', '.join(loads) or '?'}.")


def torch_table(args):
    out = []
    for model, batches in args.plan["torch"]:
        cmd = [PY, rel(os.path.join(HERE, "compare_torch.py")), "--model", model, "--model-dir",
               args.model_dir, "--siglip", args.siglip, "--device", args.device, "--json",
               "--both-openblas", "--warmup", str(args.warmup), "--iters", str(args.iters)]
        out.append((with_batches(cmd, batches), merged(split_steps(args, f"torch-{model}", cmd, batches, True))))
    first = next((d for _, d in out if d.get("torch")), {})
    t = first.get("torch", [{}])[0]
    blas = ", ".join("/".join(b.split("/")[-2:]) for b in t.get("blas", [])) or "?"
    note = (f"PyTorch {t.get('torch_version', '?')} eager, fp32, {t.get('threads', '?')} threads, "
            f"BLAS {blas}; each torch row is one OpenBLAS configuration (its own core detection, "
            "then the best core type this CPU's flags allow)." + "".join(f" Note: {n}." for n in first.get("notes", [])))
    rows, errors = [], []
    for cmd, doc in out:
        errors += doc["errors"]
        for r in doc["rows"]:
            rows.append(f"| {r['model']} | {r['tower']} | {r['batch']} | "
                        f"{fmt(r['libsiglip_items_per_s'], '.2f', r['libsiglip_error'] or '–')} | "
                        f"{fmt(r['torch_items_per_s'], '.2f')} | {fmt(r['ratio'], '.2f')}× | {r['torch_config']} |")
    return section("libsiglip and PyTorch (CPU)", args, note,
                   ["model", "tower", "batch", "libsiglip items/s", "PyTorch items/s", "ratio", "OpenBLAS"],
                   rows, errors, [c for c, _ in out])


def bench_table(args):
    out = []
    for model, batches in args.plan["bench"]:
        cmd = [args.siglip, "bench", "--model", model, "--device", args.device, "--json",
               "--warmup", str(args.warmup), "--iters", str(args.iters)]
        for p in args.precisions.split(","):  # side by side in one invocation (issue 28)
            cmd += ["--precision", p]
        docs = split_steps(args, f"bench-{model}", cmd, batches, False)
        # A failed step leaves {"error": ...}: kept as a record that carries only the error.
        out.append((with_batches(cmd, batches),
                    [r for d in docs for r in (d if isinstance(d, list) else
                                                [{"model": model, "tower": "-", "batch": "-", **d}])]))
    build = next((r for _, d in out for r in d if isinstance(r.get("build_cold_s"), float)
                  and isinstance(r.get("build_cached_s"), float)), None)
    note = ("Random weights generated in memory (`siglip bench --model`); items/s is the median of "
            f"{args.iters} timed runs" + (f"; kernel build {build['build_cold_s']:.2f} s cold, "
                                           f"{build['build_cached_s']:.2f} s from the program cache"
                                           if build else "") + ".")
    rows, errors = [], []
    # f32's record at the same model, tower and batch: the "vs f32" columns (wall time, and the
    # process's CPU time, which other jobs on a shared machine move less). With f32 measured first,
    # wall time's ratio is siglip bench's vs_first: the median of per-round ratios, the precisions
    # having run in rounds (a drift of the machine's speed slows them alike).
    paired = args.precisions.split(",")[0] == "f32"
    f32 = {(r["model"], r["tower"], r["batch"]): r for _, doc in out for r in doc
           if not r.get("error") and r.get("precision", "f32") == "f32"}
    for cmd, doc in out:
        for r in doc:
            if r.get("error"):
                errors.append(f"{r['model']} {r['tower']} batch {r['batch']}: {r['error'].splitlines()[0]}")
                continue
            base = f32.get((r["model"], r["tower"], r["batch"]))
            if paired and r.get("vs_first"):
                ratio = f"{r['vs_first']:.2f}×"
            else:
                ratio = f"{r['items_per_s'] / base['items_per_s']:.2f}×" if base else "–"
            cpu, base_cpu = r.get("cpu_ms_per_batch"), base and base.get("cpu_ms_per_batch")
            cpu_ratio = f"{base_cpu / cpu:.2f}×" if cpu and base_cpu else "–"
            rows.append(f"| {r['model']} | {r['tower']} | {r.get('precision', 'f32')} | {r['batch']} | "
                        f"{r['ms_per_batch']:.0f} | {fmt(cpu, '.0f')} | {r['items_per_s']:.2f} | "
                        f"{ratio} | {cpu_ratio} | "
                        f"{r['gflops']:.0f} | {r['load_s']:.2f} | "
                        f"{fmt(r.get('device_peak_mib'), '.0f')} | {fmt(r.get('host_rss_peak_mib'), '.0f')} |")
    return section("libsiglip alone (`siglip bench`)", args, note,
                   ["model", "tower", "precision", "batch", "ms/batch", "CPU ms", "items/s",
                    "vs f32", "vs f32 (CPU)", "GFLOP/s", "load s", "device MiB (peak)", "host RSS MiB"], rows, errors,
                   [c for c, _ in out])


# ---- main ----

def parse_plan(args):
    plan = QUICK if args.quick else PLAN
    plan = {k: [(m, list(b)) for m, b in v] for k, v in plan.items()}
    if args.models:
        names = args.models.split(",")
        for k in plan:
            batches = plan[k][0][1]
            plan[k] = [(m, batches) for m in names]
    if args.batches:
        batches = [int(b) for b in args.batches.split(",")]
        for k in plan:
            plan[k] = [(m, batches) for m, _ in plan[k]]
    return {k: v for k, v in plan.items() if k not in (args.skip or "").split(",")}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small shape, one timed run: checks the script")
    ap.add_argument("--models", help="comma-separated shapes for every table (default: the record's plan)")
    ap.add_argument("--batches", help="comma-separated batch sizes for every table")
    ap.add_argument("--skip", help="comma-separated tables to leave out: ort, torch, bench")
    ap.add_argument("--siglip", default=os.path.join(REPO, "build", "tools", "siglip"))
    ap.add_argument("--device", default="pocl")
    ap.add_argument("--precisions", default="f32,bf16,q8",
                    help="comma-separated weight precisions of the siglip bench table, measured "
                         "side by side in one invocation (f32, bf16, f16, q8)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--model-dir", default=os.path.join(REPO, "build", "bench-models"),
                    help="random model directories and ONNX exports, kept between runs")
    ap.add_argument("--json-dir", help="raw JSON of every step (default: --model-dir/report-DATE)")
    ap.add_argument("--lock", default="/tmp/siglip-bench.lock", help="flock file, or 'none'")
    ap.add_argument("--out", help="write the Markdown here as well as to stdout")
    ap.add_argument("--reuse", action="store_true", help="take each step's result from --json-dir "
                    "when it is there (resume an interrupted run, or re-render the tables)")
    args = ap.parse_args(argv)
    if args.quick:
        args.warmup, args.iters = 0, 1
    args.siglip = os.path.abspath(args.siglip)
    if not os.access(args.siglip, os.X_OK):
        print(f"report: {args.siglip} is not built (meson setup build && ninja -C build)", file=sys.stderr)
        return 2
    args.plan = parse_plan(args)
    args.date = datetime.date.today()
    args.json_dir = args.json_dir or os.path.join(args.model_dir, f"report-{args.date}")
    os.makedirs(args.json_dir, exist_ok=True)
    d = machine.opencl_device(args.siglip, args.device)
    args.machine = machine.describe(args.siglip, args.device) + (
        f"; tuning: {d.get('tuning')}" if d.get("tuning") else "")
    sections = [f"<!-- generated by bench/report.py{' --quick' if args.quick else ''} on {args.date}; "
                f"raw JSON in {args.json_dir} -->"]
    makers = {"ort": ort_table, "torch": torch_table, "bench": bench_table}
    for key in ("ort", "torch", "bench"):
        if key in args.plan:
            sections.append(makers[key](args))
    text = "\n\n".join(sections) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
