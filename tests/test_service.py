#!/usr/bin/env python3
"""test_service.py — the systemd unit siglip-serve.service and its settings file (tools/systemd/).

Usage: test_service.py SIGLIP_EXECUTABLE CASE   (CASE: verify | start; exit 77 = skipped)
Environment: SIGLIP_SERVICE_UNIT (the configured unit), SIGLIP_SERVICE_DEFAULTS (the settings
file), SIGLIP_MAN_DIR (the generated man pages, for Documentation=man:...).

verify: `systemd-analyze verify` accepts the unit without a word (with ExecStart and
  EnvironmentFile pointed at this build), the sandboxing the README promises is there, and
  TimeoutStopSec leaves siglip serve its whole drain: the default request deadline (from
  `siglip serve --help`) + the 5 s serve_http.c's server_drain_and_stop is given on top.
start: the unit's ExecStart line, expanded as systemd expands it (${X} one word, $X split at
  spaces) with the settings file's values (the model and port swapped for the test's), starts a
  server that answers /health and /v1/embeddings, and SIGTERM stops it with status 0 within
  TimeoutStopSec. No systemd needed.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli as cli  # noqa: E402  (shared helpers: check, device_args, run_main)

check = cli.check
DRAIN_EXTRA_S = 5  # server_drain_and_stop(&server, svc.lim.timeout_s + 5) in cmd_serve.c


def unit_file():
    return os.environ["SIGLIP_SERVICE_UNIT"]


def service_keys(text):
    """{key: [values]} of the [Service] section."""
    keys, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def defaults_file():
    """The settings file as a dict (KEY=VALUE lines, # comments)."""
    values = {}
    with open(os.environ["SIGLIP_SERVICE_DEFAULTS"], encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, v = line.split("=", 1)
                values[k] = v
    return values


def default_timeout_s(exe):
    """The default --timeout-ms of `siglip serve --help`, in seconds."""
    out = subprocess.run([exe, "serve", "--help"], capture_output=True, text=True).stdout
    # The option's text may wrap onto the next line before its "(default N)".
    m = re.search(r"--timeout-ms MS [^(]*\(default (\d+)\)", out)
    if not m:
        raise AssertionError("no default --timeout-ms in siglip serve --help")
    return int(m.group(1)) / 1000


def case_verify(exe):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        raise cli.Skip("systemd-analyze missing (Debian package systemd)")
    with open(unit_file(), encoding="utf-8") as f:
        text = f.read()
    keys = service_keys(text)
    with tempfile.TemporaryDirectory() as tmp:
        # The installed paths do not exist here: this build's tool and the source's settings.
        binary = keys["ExecStart"][0].split()[0]
        text = text.replace(binary + " ", os.path.abspath(exe) + " ")
        defaults = os.path.abspath(os.environ["SIGLIP_SERVICE_DEFAULTS"])
        text = text.replace("EnvironmentFile=" + keys["EnvironmentFile"][0],
                            "EnvironmentFile=" + defaults)
        unit = os.path.join(tmp, "siglip-serve.service")
        with open(unit, "w", encoding="utf-8") as f:
            f.write(text)
        # Documentation=man:siglip-serve(1) is looked up with man: the generated pages.
        os.makedirs(os.path.join(tmp, "man"))
        os.symlink(os.environ["SIGLIP_MAN_DIR"], os.path.join(tmp, "man", "man1"))
        env = dict(os.environ, MANPATH=os.path.join(tmp, "man"), SYSTEMD_LOG_LEVEL="notice")
        p = subprocess.run([analyze, "verify", unit], capture_output=True, text=True, env=env)
        check(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(),
              "systemd-analyze verify: status %d: %s%s" % (p.returncode, p.stdout, p.stderr))
    for key, want in [("DynamicUser", "yes"), ("ProtectSystem", "strict"),
                      ("NoNewPrivileges", "yes"), ("ProtectHome", "read-only"),
                      ("KillSignal", "SIGTERM"), ("CapabilityBoundingSet", "")]:
        check(keys.get(key) == [want], "%s=%s expected, the unit has %s" % (key, want, keys.get(key)))
    # siglip serve has no reload (cmd_serve.c waits for SIGTERM and SIGINT only).
    check("ExecReload" not in keys, "ExecReload without a reload in siglip serve")
    drain = default_timeout_s(exe) + DRAIN_EXTRA_S
    stop = float(keys["TimeoutStopSec"][0])
    check(drain < stop, "TimeoutStopSec=%g does not cover the drain of %g s" % (stop, drain))
    print("unit: TimeoutStopSec=%g, drain at most %g s" % (stop, drain))


def expand_exec(line, env):
    """systemd's expansion of an Exec line: ${X} is one word, $X splits at white space."""
    words = []
    for word in shlex.split(line):
        if re.fullmatch(r"\$[A-Za-z_]\w*", word):
            words += env.get(word[1:], "").split()
        else:
            words.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word))
    return words


def case_start(exe):
    with open(unit_file(), encoding="utf-8") as f:
        keys = service_keys(f.read())
    env = dict(os.environ, **defaults_file())
    for k in ("SIGLIP_MODEL", "SIGLIP_DEVICE", "SIGLIP_HOST", "SIGLIP_PORT", "SIGLIP_SERVE_OPTIONS"):
        check(k in env, "the settings file lacks %s" % k)
    env.update(SIGLIP_MODEL=cli.TINY, SIGLIP_PORT="0",
               SIGLIP_DEVICE=os.environ.get("SIGLIP_TEST_DEVICE", env["SIGLIP_DEVICE"]))
    argv = expand_exec(keys["ExecStart"][0], env)
    argv[0] = exe
    check(argv[1:3] == ["serve", "-m"] and argv[3] == cli.TINY, "ExecStart expands to %s" % argv)
    # The unit's program cache is its CacheDirectory; the test's is the suite's.
    cache = os.environ.get("SIGLIP_TEST_CACHE")
    argv += ["--cache-dir", cache] if cache else ["--no-cache"]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if not m:
            raise AssertionError("the unit's command did not start: %r %s" % (line, argv))
        url = "http://127.0.0.1:%s" % m.group(1)
        with urllib.request.urlopen(url + "/health", timeout=30) as r:
            check(r.status == 200 and json.load(r)["status"] == "ok", "health")
        req = urllib.request.Request(url + "/v1/embeddings", data=b'{"input": ["a cat"]}',
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            check(len(json.load(r)["data"][0]["embedding"]) > 0, "an embedding")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=float(keys["TimeoutStopSec"][0]))
        check(rc == 0, "exit status %s after SIGTERM" % rc)
        print("stopped in %.2f s after SIGTERM" % (time.monotonic() - t0))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


CASES = {"verify": case_verify, "start": case_start}

if __name__ == "__main__":
    sys.exit(cli.run_main("service", CASES))
