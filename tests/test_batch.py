#!/usr/bin/env python3
"""test_batch.py — batch jobs under bad luck: `siglip search` on read-only indexes (another user,
read-only folder and mount), `siglip index` on a full disk and two runs on one index,
`siglip embed --resume` after a model change and on damaged journals, `siglip classify` over lists
with bad files.

Usage: test_batch.py SIGLIP_EXECUTABLE CASE   (CASE: see CASES at the bottom; exit 77 = skipped)

Runs with Debian's /usr/bin/python3 (sqlite3, numpy). The read-only, full-disk and other-user
cases need root (mount, setpriv): they skip only where that capability is missing. Where each
expected value comes from is said at each check: search results are compared with the same search
run as root on a writable copy, index rows are counted with Python's sqlite3, resumed embeddings
with an uninterrupted `siglip embed` (whose rows cli-embed-tiny tests against transformers),
classify scores with the transformers pipeline's scores of tests/data/tiny-cases.json.
"""
import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time

SKIP = 77
try:
    import numpy as np
except ImportError:
    print("numpy not available to %s" % sys.executable)
    sys.exit(SKIP)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402  (the CLI tests' harness: check, Skip, running the tool)
from test_cli import Skip, check  # noqa: E402

DATA = test_cli.DATA
TINY = test_cli.TINY
IMAGES = test_cli.IMAGES
SRC_IMAGE = os.path.join(IMAGES, "rgb_13x21.png")

# Embeddings of the same image computed in batches of other sizes: float32 rounding only.
EMBED_ATOL = 1e-5


run, run_ok = test_cli.run_on_device, test_cli.run_ok_on_device


def summary(out):
    """The counts of index's summary line ('X: N embedded, N unreadable, ...')."""
    line = out.strip().splitlines()[-1]
    return {w: int(n) for n, w in (p.split(" ", 1) for p in line.split(": ", 1)[1].split(", "))}


def count_rows(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "%s intact" % db)
        return con.execute("SELECT count(*) FROM images").fetchone()[0]
    finally:
        con.close()


def many_images(root, n, name="many"):
    """n hard links of one small PNG: n paths to index, one file on disk."""
    d = os.path.join(root, name)
    os.makedirs(d)
    for i in range(n):
        os.link(SRC_IMAGE, os.path.join(d, "img%04d.png" % i))
    return d


def need_root(what):
    if os.geteuid() != 0:
        raise Skip("%s needs root (mount, setpriv); running as uid %d" % (what, os.geteuid()))


class Tmpfs:
    """A tmpfs of `size` mounted on dir by the test and unmounted afterwards."""

    def __init__(self, path, size):
        need_root("a tmpfs")
        os.makedirs(path, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs",
                            path], capture_output=True, text=True)
        if p.returncode:
            raise Skip("mount -t tmpfs is not permitted here: %s" % p.stderr.strip())
        self.path = path

    def remount(self, opts):
        subprocess.run(["mount", "-o", "remount," + opts, self.path], check=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run(["umount", "-l", self.path])


def as_nobody(exe, args, home):
    """Runs siglip as uid nobody (a user that owns none of the files), on the test's device, with
    its own writable HOME for the OpenCL driver's cache."""
    dev = os.environ.get("SIGLIP_TEST_DEVICE")
    cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "env",
           "HOME=" + home, "POCL_CACHE_DIR=" + home, "XDG_CACHE_HOME=" + home, exe] + args + \
        (["--device", dev] if dev else []) + ["--no-cache"]
    p = subprocess.run(cmd, capture_output=True, timeout=600)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def listing(root):
    return sorted(os.listdir(root))


# ---- item 5: read-only indexes ----

def case_readonly(exe, tmp):
    """A 0444 index in a 0555 folder searched by uid nobody; the same on a read-only tmpfs, with
    and without a pending WAL; nothing is created or changed next to the index."""
    need_root("searching as another user")
    os.chmod(tmp, 0o755)
    photos = many_images(tmp, 12)
    weird = os.path.join(photos, "two\nlines.png")  # a newline in a file name
    os.link(SRC_IMAGE, weird)
    db = os.path.join(tmp, "p.sqlite")
    run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    # The reference: the same searches as root on the writable index.
    queries = ["a photo", "a red square"]
    ref_json, _ = run_ok(exe, ["search", db, "--json", "--top", "5"] + queries)
    ref = json.loads(ref_json)
    # Plain text: one line per hit whatever the file names hold (the newline is escaped).
    text, _ = run_ok(exe, ["search", db, "--top", "13", "a photo"])
    lines = text.splitlines()
    check(len(lines) == 14, "plain text: a title and 13 hit lines, got %d: %r" % (len(lines), text))
    check(any(line.endswith("two\\nlines.png") for line in lines),
          "plain text: the newline of a file name escaped: %r" % text)
    ro = os.path.join(tmp, "ro")
    os.mkdir(ro)
    shutil.copy(db, ro)
    os.chmod(os.path.join(ro, "p.sqlite"), 0o444)
    os.chmod(ro, 0o555)
    home = os.path.join(tmp, "home")
    os.mkdir(home)
    os.chown(home, 65534, 65534)
    before = open(os.path.join(ro, "p.sqlite"), "rb").read()
    rc, out, err = as_nobody(exe, ["search", os.path.join(ro, "p.sqlite"), "--json", "--top", "5"]
                             + queries, home)
    check(rc == 0, "search as nobody on a 0444 file in a 0555 folder: exit %d, %s" % (rc, err))
    if rc == 0:
        check(json.loads(out) == ref, "search as nobody: the same hits as root's search")
    check(listing(ro) == ["p.sqlite"] and open(os.path.join(ro, "p.sqlite"), "rb").read() == before,
          "nothing created or changed next to the read-only index: %s" % listing(ro))
    # serve --index as nobody: the index loads (the server starts listening).
    dev = os.environ.get("SIGLIP_TEST_DEVICE")
    p = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "env",
                          "HOME=" + home, "POCL_CACHE_DIR=" + home, exe, "serve", "-m", TINY,
                          "--port", "0", "--index", os.path.join(ro, "p.sqlite"), "--no-cache"] +
                         (["--device", dev] if dev else []), stderr=subprocess.PIPE)
    try:
        line = p.stderr.readline().decode("utf-8", "replace")
        check("listening on" in line, "serve --index as nobody starts: %r" % line)
    finally:
        p.kill()
        p.wait()
    # A read-only mount: the index as the indexer left it (no -wal, no -shm).
    with Tmpfs(os.path.join(tmp, "mnt"), "4m") as fs:
        shutil.copy(db, fs.path)
        fs.remount("ro")
        rc, out, err = run(exe, ["search", os.path.join(fs.path, "p.sqlite"), "--json", "--top",
                                 "5"] + queries)
        check(rc == 0 and json.loads(out or "null") == ref,
              "search on a read-only mount: exit %d, %s" % (rc, err))
    # A pending WAL (a writer killed before its checkpoint: 3 rows deleted only in the -wal)
    # with its -shm: read through it, the deletion seen.
    for keep_shm in (True, False):
        with Tmpfs(os.path.join(tmp, "mnt"), "4m") as fs:
            path = os.path.join(fs.path, "p.sqlite")
            shutil.copy(db, path)
            subprocess.run([sys.executable, "-c", (
                "import sqlite3, os; c = sqlite3.connect(%r); c.execute('PRAGMA wal_autocheckpoint=0');"
                "c.execute(\"DELETE FROM images WHERE path LIKE '%%img000%%'\"); c.commit(); os._exit(0)")
                % path], check=True)
            check(os.path.getsize(path + "-wal") > 0, "the WAL holds the deletion")
            if not keep_shm:
                os.remove(path + "-shm")
            fs.remount("ro")
            rc, out, err = run(exe, ["search", path, "--json", "--top", "20", "a photo"])
            if keep_shm:
                got = [h["path"] for h in json.loads(out or "[{}]")[0].get("results", [])]
                check(rc == 0 and len(got) == 13 - 10 and not any("img000" in g for g in got),
                      "read-only mount with a pending WAL: %d hits (13 rows - 10 deleted), %s"
                      % (len(got), err))
            else:
                check(rc == 1 and "-wal" in err and "siglip index" in err and
                      len(err.splitlines()) == 1,
                      "pending WAL without its -shm on a read-only mount: a clear error: %d %s"
                      % (rc, err))


# ---- item 6: a full disk ----

def case_diskfull(exe, tmp):
    """A tmpfs too small for the index: the database stays intact, the counts printed are the rows
    committed, the error names the volume; once space returns the same command completes. The
    WAL stays small: 400 rows (a 384 KiB index) fit on a 1 MiB volume."""
    photos = many_images(tmp, 400)
    with Tmpfs(os.path.join(tmp, "small"), "512k") as fs:
        db = os.path.join(fs.path, "p.sqlite")
        rc, out, err = run(exe, ["index", "-m", TINY, "-o", db, "--batch", "8", photos])
        check(rc == 1, "index on a full volume: exit %d" % rc)
        check(fs.path in err and ("full" in err or "No space" in err),
              "the error names the full volume %s: %r" % (fs.path, err))
        saved = count_rows(db)
        counts = summary(out) if out.strip() else {"embedded": 0}
        print("full volume: %d rows saved, %d reported embedded" % (saved, counts["embedded"]))
        check(0 < saved < 400, "some batches were saved before the disk filled: %d" % saved)
        check(counts["embedded"] == saved,
              "stdout's count %d = rows committed %d" % (counts["embedded"], saved))
        fs.remount("size=8m")
        out, err = run_ok(exe, ["index", "-m", TINY, "-o", db, "--batch", "8", photos])
        counts = summary(out)
        check(counts["embedded"] == 400 - saved and counts["unchanged"] == saved,
              "the re-run after space returned completes: %s (had %d)" % (counts, saved))
        # (before Python's read-only connection below, which would make a -wal of its own)
        check(not os.path.exists(db + "-wal"), "no WAL left behind: %s" % listing(fs.path))
        check(count_rows(db) == 400, "all 400 rows")
    # embed's journal on a full volume: the error names it too (400 records of ~350 bytes).
    listed = os.path.join(tmp, "list.txt")
    with open(listed, "w") as f:
        f.write("".join(os.path.join(photos, n) + "\n" for n in sorted(os.listdir(photos))))
    with Tmpfs(os.path.join(tmp, "tiny"), "64k") as fs:
        rc, out, err = run(exe, ["embed", "-m", TINY, "--images-from", listed, "-o",
                                 os.path.join(fs.path, "e.safetensors")])
        check(rc == 1 and "journal" in err and fs.path in err and "free" in err,
              "embed on a full volume names it: exit %d, %r" % (rc, err))
    with Tmpfs(os.path.join(tmp, "fit"), "1m") as fs:
        db = os.path.join(fs.path, "p.sqlite")
        rc, out, err = run(exe, ["index", "-m", TINY, "-o", db, "--batch", "8", photos])
        size = os.path.getsize(db)
        print("1 MiB volume: exit %d, index %d bytes" % (rc, size))
        check(rc == 0 and count_rows(db) == 400,
              "400 rows (%d bytes) on a 1 MiB volume: exit %d, %s" % (size, rc, err))


# ---- item 8: one writer per index ----

def wait_rows(proc, db, n):
    """Waits (at most 2 minutes) until the index proc writes holds n rows, or proc ended."""
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            if count_rows(db) >= n:
                return
        except sqlite3.Error:
            pass  # not created yet
        time.sleep(0.005)


def case_lock(exe, tmp):
    """A second `siglip index` on an index being written is refused at once and clearly; the first
    completes; the claim goes with its process, even a killed one."""
    photos = many_images(tmp, 400)
    db = os.path.join(tmp, "p.sqlite")
    first = subprocess.Popen([exe, "index", "-m", TINY, "-o", db, "--batch", "1", photos] +
                             test_cli.device_args(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    wait_rows(first, db, 2)
    rc, out, err = run(exe, ["index", "-m", TINY, "-o", db, photos])
    still = first.poll() is None
    out1, err1 = first.communicate(timeout=300)
    if not still:
        raise Skip("the first run finished before the second started")
    check(rc == 1 and "another `siglip index`" in err and len(err.splitlines()) == 1,
          "the second run is refused: exit %d, %r" % (rc, err))
    check(out == "", "the refused run printed nothing on stdout: %r" % out)
    check(first.returncode == 0 and summary(out1.decode())["embedded"] == 400,
          "the first run completes: %d %s" % (first.returncode, err1))
    out, _ = run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    check(summary(out)["unchanged"] == 400, "after it, a run works again: %s" % out)
    # A killed writer's claim is gone with it.
    os.remove(db)
    first = subprocess.Popen([exe, "index", "-m", TINY, "-o", db, "--batch", "1", photos] +
                             test_cli.device_args(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    wait_rows(first, db, 2)
    first.kill()
    first.wait()
    out, _ = run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    check(sum(summary(out)[k] for k in ("embedded", "unchanged")) == 400,
          "after a killed run the next one runs: %s" % out)


# ---- item 7: the embed journal ----

def journal_records(path, n):
    """Offsets (start, end) of the header and of each record of an embed journal: header = magic
    line, i32 n, i32 dim, 4 length-prefixed strings, u64 sum; record = i32 index, i32 status,
    string path, then 2·dim f32 (status 0) or a string, u64 sum."""
    blob = open(path, "rb").read()
    at = blob.index(b"\n") + 1
    _, dim = struct.unpack_from("<ii", blob, at)
    at += 8

    def string(at):
        (ln,) = struct.unpack_from("<i", blob, at)
        return at + 4 + ln
    for _ in range(4):
        at = string(at)
    spans = [(0, at + 8)]
    at += 8
    while at < len(blob):
        start = at
        _, status = struct.unpack_from("<ii", blob, at)
        at = string(at + 8)
        at = at + 8 * dim if status == 0 else string(at)
        at += 8
        spans.append((start, at))
    return spans, dim


def interrupted_embed(exe, args, out):
    """Runs embed with its output blocked (a folder in the way): it stops after the journal is
    complete, leaving it."""
    os.mkdir(out)
    rc, _, _ = run(exe, args + ["-o", out])
    os.rmdir(out)
    check(rc == 1 and os.path.exists(out + ".journal"), "interrupted embed left its journal")


def case_journal(exe, tmp):
    """embed --resume: a journal of replaced model files is refused (and running without --resume
    starts over); a byte flipped in any of 5 records is caught and that record recomputed (5/5);
    a damaged header starts anew."""
    names = sorted(os.listdir(IMAGES))
    items = [os.path.join(IMAGES, n) for n in names]
    model = os.path.join(tmp, "model")
    shutil.copytree(TINY, model)
    base = ["embed", "-m", model, "--batch", "2"]
    for p in items:
        base += ["-i", p]
    ref_out = os.path.join(tmp, "ref.safetensors")
    run_ok(exe, base + ["-o", ref_out])
    ref = test_cli.read_safetensors(ref_out)
    out = os.path.join(tmp, "out.safetensors")
    interrupted_embed(exe, base, out)
    journal = open(out + ".journal", "rb").read()
    spans, dim = journal_records(out + ".journal", len(items))
    check(len(spans) == 1 + len(items), "the journal holds a record per image: %d" % (len(spans) - 1))

    # Five corruptions, each in its own copy: a byte flipped in record r (0-based) at a place of
    # its own; the records before it are kept, it and the rest are recomputed.
    caught = 0
    for r, where in ((1, "embeds"), (3, "features"), (5, "path"), (7, "index"), (9, "sum")):
        start, end = spans[1 + r]
        offset = {"embeds": end - 8 - 8 * dim + 2, "features": end - 8 - 4 * dim + 5,
                  "path": start + 8 + 4 + 3, "index": start + 1, "sum": end - 3}[where]
        blob = bytearray(journal)
        blob[offset] ^= 0x40
        open(out + ".journal", "wb").write(bytes(blob))
        rc, _, err = run(exe, base + ["--resume", "-o", out])
        ok = rc == 0 and "resuming after %d of" % r in err and "damaged" in err
        if ok:
            got = test_cli.read_safetensors(out)
            ok = test_cli.max_abs_diff(got["image_embeds"][2], ref["image_embeds"][2]) <= EMBED_ATOL
            os.remove(out)
        caught += ok
        check(ok, "corruption in record %d (%s, byte %d): exit %d, %s" % (r, where, offset, rc, err))
    print("journal corruptions caught and recomputed: %d of 5" % caught)
    check(caught == 5, "5/5 injected corruptions caught")
    # A damaged header: the journal is not trusted at all; everything recomputed.
    blob = bytearray(journal)
    blob[spans[0][1] - 12] ^= 1
    open(out + ".journal", "wb").write(bytes(blob))
    rc, _, err = run(exe, base + ["--resume", "-o", out])
    check(rc == 0 and "starting anew" in err, "damaged header: %d %s" % (rc, err))
    os.remove(out)
    # The model's files replaced in the same folder (another LayerNorm epsilon, large enough to
    # move the embeddings well past EMBED_ATOL: another model).
    open(out + ".journal", "wb").write(journal)
    config = json.load(open(os.path.join(model, "config.json")))
    config["vision_config"]["layer_norm_eps"] = 0.5
    json.dump(config, open(os.path.join(model, "config.json"), "w"))
    rc, _, err = run(exe, base + ["--resume", "-o", out])
    check(rc == 1 and "another model" in err and "without --resume" in err and
          len(err.splitlines()) == 1 and not os.path.exists(out),
          "resume after the model changed is refused: exit %d, %s" % (rc, err))
    check(open(out + ".journal", "rb").read() == journal, "the refused journal is left as it was")
    run_ok(exe, base + ["-o", out])
    new_ref = os.path.join(tmp, "new.safetensors")
    run_ok(exe, base + ["-o", new_ref])
    test_cli.compare("embed without --resume after a model change", test_cli.read_safetensors(out),
                     "image_embeds", test_cli.read_safetensors(new_ref)["image_embeds"], 0)
    check(not os.path.exists(out + ".journal"), "journal removed once the output is written")
    # Sanity of this test: the changed model really embeds differently.
    diff = test_cli.max_abs_diff(test_cli.read_safetensors(new_ref)["image_embeds"][2],
                                 ref["image_embeds"][2])
    check(diff > 100 * EMBED_ATOL, "the changed model embeds differently (|diff| %.3g)" % diff)


# ---- item 9: classify over a list ----

def case_classify(exe, tmp):
    """classify over a list with bad files: each reported (stderr names it, --json gives its
    error), the others answered with the transformers pipeline's scores; --strict stops at the
    first; no readable image = exit 1; --timing; the plain-text scores keep 3 significant digits."""
    cases = json.load(open(os.path.join(DATA, "tiny-cases.json"), encoding="utf-8"))
    good = [os.path.join(IMAGES, n) for n in cases["public.images"]]
    pipe = cases["public.pipeline"]
    missing = os.path.join(tmp, "missing.png")
    garbage = os.path.join(tmp, "bad.jpg")
    open(garbage, "wb").write(b"not a JPEG at all")
    trunc = os.path.join(DATA, "images-extra", "in", "bad_truncated.png")
    # Bad files first, in the middle and last; batches of 2 put them next to good ones.
    items = [garbage] + good[:2] + [missing] + good[2:] + [trunc]
    bad = {garbage, missing, trunc}
    args = ["classify", "-m", TINY, "--batch", "2"]
    for label in pipe["labels"]:
        args += ["-l", label]
    rc, out, err = run(exe, args + ["--json", "--timing"] + items)
    check(rc == 0, "classify with 3 bad files of %d: exit %d, %s" % (len(items), rc, err))
    doc = json.loads(out)
    check([e["image"] for e in doc] == items, "an entry per image, in order")
    for e in doc:
        if e["image"] in bad:
            check("error" in e and e["image"] in e["error"] and "results" not in e,
                  "%s: its error %r" % (e["image"], e))
    for p in bad:
        lines = [line for line in err.splitlines() if "skipping" in line]
        check(any(p in line for line in lines), "stderr names %s: %s" % (p, err))
    check(not any(g in line for line in err.splitlines() if "skipping" in line for g in good),
          "no good image is blamed: %s" % err)
    test_cli.check_pipeline("classify over a list with bad files",
                            [e for e in doc if e["image"] not in bad], good, pipe["results"], 1e-5)
    check(all(w in err for w in ("load", "tokenize", "preprocess", "towers")),
          "--timing: %s" % err)
    # The tiny model's own processor config matches the model: decoding runs on its own thread.
    check("overlapping the towers" in err, "--timing: decoding overlapped: %s" % err)
    # Plain text: each score printed as %.3g of the JSON score (3 significant digits: a score of
    # 1e-5 reads 1e-05, where the former %.4f printed 0.0000).
    rc, text, _ = run(exe, args + good)
    printed = [line.split()[0] for line in text.splitlines() if line.startswith("  ")]
    ref = ["%.3g" % r["score"] for e in doc if e["image"] not in bad for r in e["results"]]
    check(printed == ref, "plain-text scores = %%.3g of the JSON scores: %s vs %s"
          % (printed[:6], ref[:6]))
    rc, out, err = run(exe, args + ["--strict"] + good[:2] + [missing] + good[2:])
    check(rc == 1 and missing in err and "--strict" in err, "--strict: exit %d, %s" % (rc, err))
    rc, out, err = run(exe, args + [missing, garbage])
    check(rc == 1 and "none of the 2 images" in err, "no readable image: exit %d, %s" % (rc, err))


CASES = test_cli.cases(case_readonly, case_diskfull, case_lock, case_journal, case_classify)


if __name__ == "__main__":
    sys.exit(test_cli.run_main("batch", CASES, test_cli.in_tmp("siglip-batch-")))
