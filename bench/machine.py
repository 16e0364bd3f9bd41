"""machine.py — what a benchmark figure depends on, for table headings: CPU model, vector ISA
(/proc/cpuinfo flags), OpenCL device and driver (`siglip devices --json`), and the OpenBLAS core
type a CPU can run. Shared by compare_torch.py, compare_ort.py and report.py."""
import json
import os
import platform
import subprocess

# OPENBLAS_CORETYPE values (OpenBLAS DYNAMIC_ARCH kernels), best first, with the CPU flags each
# one's kernels execute: forcing one whose flags are missing dies with SIGILL.
OPENBLAS_CORES = [
    ("SkylakeX", {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}),
    ("Haswell", {"avx2", "fma"}),
    ("Sandybridge", {"avx"}),
]


def _cpuinfo_field(field):
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":", 1)[0].strip() == field:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name():
    return _cpuinfo_field("model name") or platform.processor() or "?"


def cpu_flags():
    return set((_cpuinfo_field("flags") or "").split())


def isa(flags=None):
    """The widest x86 vector ISA the CPU exposes: "AVX-512", "AVX2", "AVX" or "SSE"/"?"."""
    flags = cpu_flags() if flags is None else flags
    if "avx512f" in flags:
        return "AVX-512"
    if "avx2" in flags:
        return "AVX2" + ("+FMA" if "fma" in flags else "")
    if "avx" in flags:
        return "AVX"
    return "SSE" if "sse2" in flags else "?"


def openblas_missing_flags(coretype, flags=None):
    """The CPU flags that OPENBLAS_CORETYPE=coretype needs and this CPU lacks (empty: safe; None:
    a core type this table does not know, so nothing can be said)."""
    flags = cpu_flags() if flags is None else flags
    for name, needs in OPENBLAS_CORES:
        if name.lower() == coretype.lower():
            return sorted(needs - flags)
    return None


def openblas_best_core(flags=None):
    """(core type, None) for the best OpenBLAS kernels this CPU runs, or (None, why not)."""
    flags = cpu_flags() if flags is None else flags
    if not flags:
        return None, "no CPU flags in /proc/cpuinfo (not Linux on x86?)"
    for name, needs in OPENBLAS_CORES:
        if needs <= flags:
            return name, None
    return None, "the CPU has no AVX: OpenBLAS's own detection is the only sensible choice"


def opencl_device(siglip, spec):
    """The selected device's record from `siglip devices --device SPEC --json` (name, driver,
    isa, ...), or {"error": ...}."""
    try:
        p = subprocess.run([siglip, "devices", "--device", spec, "--json"], capture_output=True,
                           text=True, timeout=60)
        j = json.loads(p.stdout)
        return next(d for d in j["devices"] if d["spec"] == j["selected"])
    except (OSError, ValueError, KeyError, StopIteration, subprocess.TimeoutExpired) as e:
        return {"error": f"siglip devices: {e}"}


def vnni(flags=None):
    """The CPU's int8 dot product (q8's vpdpbusd, docs/q8-integer.md): "AVX-512 VNNI",
    "AVX-VNNI" or None."""
    flags = cpu_flags() if flags is None else flags
    if "avx512_vnni" in flags:
        return "AVX-512 VNNI"
    return "AVX-VNNI" if "avx_vnni" in flags else None


def describe(siglip=None, spec=None):
    """One line for a table heading: CPU, cores, ISA (and VNNI, which q8 uses where present),
    and the OpenCL device and driver."""
    line = f"{cpu_name()}, {os.cpu_count()} CPUs, {isa()}"
    missing = [] if "avx512f" in cpu_flags() else ["AVX-512"]
    if vnni():
        line += f" + {vnni()}"
    else:
        missing.append("VNNI")
    if missing:
        line += f" (no {', no '.join(missing)})"
    if siglip:
        d = opencl_device(siglip, spec or "auto")
        if "error" in d:
            line += f"; OpenCL device: {d['error']}"
        else:
            kernels = (f" (kernels compiled for {d['kernel_cpu']}: {d.get('kernel_isa') or '?'})"
                       if d.get("kernel_cpu") else "")
            line += (f"; OpenCL: {d.get('platform')} {d.get('driver_version')}, device "
                     f"{d.get('name')}{kernels}")
    return line
