#!/usr/bin/env python3
"""serve_bench.py — `siglip serve` under load, next to `siglip bench` in the same invocation.

  python3 bench/serve_bench.py build/tools/siglip MODEL_DIR [--batch 16] [--clients 16]
                               [--seconds 8] [--rounds 5] [--overload-seconds 30]
                               [--max-wait-ms 50]
                               [--tower image|text] [--device SPEC]

1. `siglip bench -m MODEL_DIR --tower T --batch B`: the tower's items/s alone, alternating
   (--rounds times) with
2. `siglip serve --max-batch B` on a free loopback port under 16 closed-loop clients (each sends
   one item per request and waits for it) for --seconds: served items/s; the ratio of each service
   phase to the mean of the baselines around it, and the median of those ratios; latency p50/p99;
   Also CPU seconds per item of both (on a CPU device, robust to other load on the machine);
3. open loop at twice the (median) served rate (Poisson arrivals): how many requests are shed with 503, the
   p50/p99 latency of the admitted ones, and that none of them is lost (every request ends in 200
   or 503).
Holds /tmp/siglip-bench.lock for the whole run so no other timing runs at once. Standard library
only. Images: tests/data/images/rgb_224x224.png (base64 JSON); texts: short captions.
"""
import argparse
import base64
import fcntl
import http.client
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGE = os.path.join(HERE, "..", "tests", "data", "images", "rgb_224x224.png")


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def baseline(args):
    cmd = [args.siglip, "bench", "-m", args.model, "--tower", args.tower, "--batch",
           str(args.batch), "--warmup", "1", "--iters", "3", "--json"] + device_args(args)
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=600).stdout
    record = json.loads(out)[0]
    return record["items_per_s"], record["device"]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def baseline_cpu_per_item(args):
    """CPU seconds per item of the tower alone: `siglip bench` with 1 and with 4 timed runs, the
    difference of their CPU times over the 3 extra batches (load and warm-up cancel out). On a
    CPU device the work is the process's own, so this hardly moves with other load."""
    cpu = []
    for iters in (1, 4):
        t0 = children_cpu()
        subprocess.run([args.siglip, "bench", "-m", args.model, "--tower", args.tower, "--batch",
                        str(args.batch), "--warmup", "1", "--iters", str(iters), "--json"]
                       + device_args(args), capture_output=True, check=True, timeout=600)
        cpu.append(children_cpu() - t0)
    return (cpu[1] - cpu[0]) / (3 * args.batch)


def process_cpu(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def device_args(args):
    return ["--device", args.device] if args.device else []


class Served:
    def __init__(self, args):
        cmd = [args.siglip, "serve", "-m", args.model, "--port", "0", "--max-batch",
               str(args.batch), "--max-wait-ms", str(args.max_wait_ms), "--queue",
               str(3 * args.batch), "--max-items", str(args.batch), "--max-connections", "512",
               "--timeout-ms", "120000"]
        self.proc = subprocess.Popen(cmd + device_args(args), stderr=subprocess.PIPE)
        line = self.proc.stderr.readline().decode()
        if "listening on" not in line:
            raise SystemExit("siglip serve did not start: " + line)
        self.port = int(line.split("127.0.0.1:")[1].split()[0])
        if args.tower == "image":
            with open(IMAGE, "rb") as f:
                item = {"image": base64.b64encode(f.read()).decode()}
        else:
            item = "a photo of a cat sitting on a red sofa"
        self.body = json.dumps({"input": [item]}).encode()

    def request(self):
        """(status, seconds) of one embeddings request on its own connection."""
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            conn.request("POST", "/v1/embeddings", self.body,
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            return r.status, time.monotonic() - t0
        except (OSError, http.client.HTTPException):
            return 0, time.monotonic() - t0
        finally:
            conn.close()

    def batches(self):
        """(device batches, items) so far, from /metrics."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        value = lambda name: int(text.split("\n" + name + " ")[1].split()[0])  # noqa: E731
        return value("siglip_batch_size_count"), value("siglip_batch_size_sum")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=120)


def closed_loop(srv, clients, seconds):
    latencies, statuses, lock = [], [], threading.Lock()
    end = time.monotonic() + seconds

    def client():
        while time.monotonic() < end:
            status, dt = srv.request()
            with lock:
                statuses.append(status)
                if status == 200:
                    latencies.append(dt)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses, time.monotonic() - t0


def open_loop(srv, rate, seconds, seed=1):
    """Poisson arrivals at `rate` per second, each request on its own thread."""
    rng = random.Random(seed)
    results, lock, threads = [], threading.Lock(), []

    def one():
        r = srv.request()
        with lock:
            results.append(r)

    t = time.monotonic()
    end = t + seconds
    while t < end:
        t += rng.expovariate(rate)
        delay = t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        th = threading.Thread(target=one)
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("siglip")
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=8, help="each closed-loop service phase")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--overload-seconds", type=float, default=30,
                    help="the open-loop phase: long enough to fill the queue and shed")
    ap.add_argument("--tower", choices=["image", "text"], default="image")
    ap.add_argument("--max-wait-ms", type=int, default=50)
    ap.add_argument("--device")
    args = ap.parse_args()

    lock = open("/tmp/siglip-bench.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)

    # The machine may be shared: baseline and service alternate, each service phase compared with
    # the mean of the baselines on either side of it, and the median of those ratios reported.
    bases, device = [], None
    lat, statuses, served, batches, served_cpu = [], [], [], [0, 0], 0.0
    srv = Served(args)
    try:
        closed_loop(srv, args.clients, 5)  # warm-up
        for _ in range(args.rounds):
            rate, device = baseline(args)
            bases.append(rate)
            b0, cpu0 = srv.batches(), process_cpu(srv.proc.pid)
            phase_lat, phase_statuses, elapsed = closed_loop(srv, args.clients, args.seconds)
            b1, cpu1 = srv.batches(), process_cpu(srv.proc.pid)
            served_cpu += cpu1 - cpu0
            lat += phase_lat
            statuses += phase_statuses
            served.append(len(phase_lat) / elapsed)
            batches = [batches[0] + b1[0] - b0[0], batches[1] + b1[1] - b0[1]]
        bases.append(baseline(args)[0])
        base_cpu = baseline_cpu_per_item(args)
        served_rate = sorted(served)[len(served) // 2]
        over = open_loop(srv, 2 * served_rate, args.overload_seconds)
    finally:
        srv.stop()
    ratios = [s / ((bases[i] + bases[i + 1]) / 2) for i, s in enumerate(served)]
    ratio = sorted(ratios)[len(ratios) // 2]
    base_rate = served_rate / ratio
    ok = [dt for s, dt in over if s == 200]
    shed = sum(1 for s, _ in over if s == 503)
    lost = sum(1 for s, _ in over if s not in (200, 503))
    report = {
        "device": device, "model": os.path.basename(os.path.normpath(args.model)),
        "tower": args.tower, "batch": args.batch, "clients": args.clients,
        "bench_items_per_s": [round(b, 3) for b in bases],
        "served_items_per_s": [round(x, 3) for x in served],
        "ratios": [round(r, 3) for r in ratios],
        "ratio": round(ratio, 3),
        # CPU seconds per item: the tower alone vs the whole service (HTTP, JSON, decoding,
        # batching), and their ratio; robust where other work shares the CPUs.
        "bench_cpu_ms_per_item": round(1000 * base_cpu, 2),
        "served_cpu_ms_per_item": round(1000 * served_cpu / max(1, len(lat)), 2),
        "cpu_ratio": round(base_cpu / (served_cpu / max(1, len(lat))), 3),
        "closed_p50_ms": round(1000 * percentile(lat, 50), 1),
        "closed_p99_ms": round(1000 * percentile(lat, 99), 1),
        "closed_non_200": sum(1 for s in statuses if s != 200),
        "closed_mean_batch": round(batches[1] / max(1, batches[0]), 2),
        "overload_rate_per_s": round(2 * served_rate, 3),
        "overload_requests": len(over), "overload_200": len(ok), "overload_503": shed,
        "overload_lost": lost,
        "overload_p50_ms": round(1000 * percentile(ok, 50), 1),
        "overload_p99_ms": round(1000 * percentile(ok, 99), 1),
        "queue_items": 3 * args.batch,
        # What bounds an admitted request's wait: the batch on the device plus a full queue, at
        # the served rate.
        "queue_drain_ms": round(1000 * (3 + 1) * args.batch / served_rate, 1),
    }
    print(json.dumps(report, indent=1))
    print("served/bench throughput ratio %.2f (%.2f vs %.2f %ss/s; CPU time per item ratio %.2f); "
          "closed loop p50 %.0f ms, p99 %.0f ms; at 2x: %d of %d shed with 503, admitted p99 "
          "%.0f ms, %d lost"
          % (report["ratio"], served_rate, base_rate, args.tower, report["cpu_ratio"],
             report["closed_p50_ms"],
             report["closed_p99_ms"], shed, len(over), report["overload_p99_ms"], lost),
          file=sys.stderr)
    return 0 if lost == 0 and report["closed_non_200"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
