#!/usr/bin/env python3
"""test_search.py — end-to-end tests of `siglip index` and `siglip search` with the tiny model.

Usage: test_search.py SIGLIP_EXECUTABLE CASE   (CASE: see CASES at the bottom; exit 77 = skipped)

Runs with Debian's /usr/bin/python3: sqlite3 (standard library) reads the index the tool wrote,
numpy recomputes the search scores, PIL checks the page's thumbnails, and Debian's chromium renders
the page. Where each expected value comes from is said at each check:
- the stored embeddings are compared with `siglip embed` of the same files (the embedding path
  tested against transformers by cli-embed-tiny), so the index stores the right vector per path;
- scores are recomputed here with numpy from `siglip embed` outputs and the logit scale and bias
  read from model.safetensors: cosine = image_embeds · text_embedᵀ,
  score = sigmoid(exp(logit_scale) · cosine + logit_bias) (transformers' SiglipModel);
- file sizes and modification times come from os.stat.
"""
import base64
import html.parser
import io
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
except ImportError:  # the test runner's python without numpy
    print("numpy not available to %s" % sys.executable)
    sys.exit(SKIP)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli  # noqa: E402  (the CLI tests' harness: check, Skip, running the tool)
from test_cli import Skip, check  # noqa: E402

DATA = os.environ.get("SIGLIP_TEST_DATA") or os.path.join(os.path.dirname(__file__), "data")
TINY = os.path.join(DATA, "tiny")
IMAGES = os.path.join(DATA, "images")
EXTRA = os.path.join(DATA, "images-extra", "in")
CHROMIUM = "/usr/bin/chromium"

# Stored embeddings vs `siglip embed` of the same file on the same device: float32 rounding of
# batches of different sizes only.
EMBED_ATOL = 1e-5
# Scores printed with 9 significant digits (json_float) vs numpy in float64 from float32 inputs.
SCORE_ATOL = 2e-6


run, run_ok = test_cli.run_on_device, test_cli.run_ok_on_device


def read_safetensors(path):
    """{name: float32 array} of the F32 tensors of a .safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(blob[8 + hlen + begin:8 + hlen + end],
                                  dtype="<f4").reshape(info["shape"])
    return out


def summary(out):
    """The counts of index's summary line ('X: N embedded, N unreadable, ...')."""
    line = out.strip().splitlines()[-1]
    counts = {}
    for part in line.split(": ", 1)[1].split(", "):
        n, word = part.split(" ", 1)
        counts[word] = int(n)
    return counts


# The photo folder: the fixture images (JPEG, PNG, BMP, WebP), two broken files with image names,
# and files the walk must skip (not an image name, hidden).
GOOD = sorted(os.listdir(IMAGES))


def make_photos(root):
    photos = os.path.join(root, "photos")
    os.makedirs(os.path.join(photos, "sub"))
    os.makedirs(os.path.join(photos, ".hidden"))
    for name in GOOD:
        shutil.copy(os.path.join(IMAGES, name), photos)
    shutil.copy(os.path.join(EXTRA, "exif_8.webp"), os.path.join(photos, "sub"))
    shutil.copy(os.path.join(EXTRA, "exif_6.jpg"), os.path.join(photos, "sub"))  # 50x30, turned
    with open(os.path.join(photos, "broken.jpg"), "wb") as f:
        f.write(b"this is not a JPEG")
    shutil.copy(os.path.join(EXTRA, "bad_truncated.png"), os.path.join(photos, "sub", "cut.png"))
    with open(os.path.join(photos, "notes.txt"), "w") as f:
        f.write("not an image\n")
    shutil.copy(os.path.join(IMAGES, "rgb_40x40.png"), os.path.join(photos, ".hidden"))
    os.symlink(os.path.join(root, "nowhere", "gone.png"), os.path.join(photos, "sub", "gone.png"))
    good = [os.path.join(photos, n) for n in GOOD] + [os.path.join(photos, "sub", n)
                                                      for n in ("exif_8.webp", "exif_6.jpg")]
    bad = [os.path.join(photos, "broken.jpg"), os.path.join(photos, "sub", "cut.png")]
    return os.path.realpath(photos), [os.path.realpath(p) for p in good], \
        [os.path.realpath(p) for p in bad]


def rows(db):
    con = sqlite3.connect(db)
    try:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT path, id, size, mtime_ns, embedding, error FROM images")}
    finally:
        con.close()


def embed_images(exe, tmp, paths, extra=()):
    out = os.path.join(tmp, "ref.safetensors")
    args = ["embed", "-m", TINY, "-o", out] + list(extra)
    for p in paths:
        args += ["-i", p]
    run_ok(exe, args)
    return read_safetensors(out)["image_embeds"]


def blob_vector(blob):
    return np.frombuffer(blob, dtype="<f4")


def case_index(exe, tmp):
    photos, good, bad = make_photos(tmp)
    db = os.path.join(tmp, "p.sqlite")
    out, err = run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    counts = summary(out)
    check(counts == {"embedded": len(good), "unreadable": 2, "unchanged": 0, "removed": 0},
          "summary %s" % counts)
    for p in bad:
        check(p in err, "stderr names the unreadable %s" % p)
    check("gone.png: No such file or directory" in err, "a dangling link is reported: %s" % err)
    con = sqlite3.connect(db)
    mode = con.execute("PRAGMA journal_mode").fetchone()[0]
    meta = dict(con.execute("SELECT key, value FROM meta"))
    con.close()
    check(mode == "wal", "journal_mode %s, expected wal" % mode)
    weights = read_safetensors(os.path.join(TINY, "model.safetensors"))
    check(meta.get("dim") == "32" and meta.get("precision") == "f32", "meta %s" % meta)
    check(abs(float(meta["logit_scale"]) - float(np.exp(weights["logit_scale"][0]))) < 1e-5 and
          abs(float(meta["logit_bias"]) - float(weights["logit_bias"][0])) < 1e-6,
          "meta logit scale/bias %s %s vs model.safetensors" % (meta["logit_scale"],
                                                                 meta["logit_bias"]))
    check(len(meta.get("model_fingerprint", "")) == 16, "fingerprint %s" % meta)
    got = rows(db)
    check(sorted(got) == sorted(good + bad), "indexed paths %s" % sorted(got))
    for p, (_, size, mtime_ns, emb, error) in got.items():
        st = os.stat(p)
        check(size == st.st_size and mtime_ns == st.st_mtime_ns, "%s: size/mtime" % p)
        if p in bad:
            check(emb is None and error and p in error, "%s: error row %r" % (p, error))
        else:
            check(emb is not None and len(emb) == 32 * 4 and error is None, "%s: embedding" % p)
    ref = embed_images(exe, tmp, good)
    diff = max(float(np.abs(blob_vector(got[p][3]) - ref[i]).max()) for i, p in enumerate(good))
    print("stored embeddings vs siglip embed: max |diff| %.3g (tolerance %g)" % (diff, EMBED_ATOL))
    check(diff <= EMBED_ATOL, "stored embeddings differ from siglip embed by %.3g" % diff)
    # A model directory without a processor config: the model's own processor (sized to the
    # model, SigLIP's defaults = tiny's config) decodes on the main thread; same embeddings.
    bare = os.path.join(tmp, "bare")
    shutil.copytree(TINY, bare)
    os.remove(os.path.join(bare, "processor_config.json"))
    db2 = os.path.join(tmp, "bare.sqlite")
    run_ok(exe, ["index", "-m", bare, "-o", db2, photos])
    got2 = rows(db2)
    diff = max(float(np.abs(blob_vector(got2[p][3]) - ref[i]).max()) for i, p in enumerate(good))
    check(diff <= EMBED_ATOL, "model without processor config: embeddings differ by %.3g" % diff)
    # A list of files (--from) indexes them whatever their names; a missing one is reported.
    listed = os.path.join(tmp, "list.txt")
    named = os.path.join(tmp, "photo.data")
    shutil.copy(good[0], named)
    with open(listed, "w") as f:
        f.write("%s\n%s\n" % (named, os.path.join(tmp, "missing.jpg")))
    out, err = run_ok(exe, ["index", "-m", TINY, "-o", db, "--from", listed])
    check(summary(out)["embedded"] == 1 and "missing.jpg" in err, "--from: %s %s" % (out, err))
    check(os.path.realpath(named) in rows(db), "--from: %s indexed" % named)


def case_incremental(exe, tmp):
    photos, good, bad = make_photos(tmp)
    db = os.path.join(tmp, "p.sqlite")
    run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    before = rows(db)
    changed, donor, deleted = good[0], good[3], good[1]
    added = os.path.join(photos, "sub", "added.png")
    shutil.copy(good[2], added)
    shutil.copy(donor, changed)  # new content under the old name
    st = os.stat(changed)
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    os.remove(deleted)
    out, _ = run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    counts = summary(out)
    check(counts == {"embedded": 2, "unreadable": 0, "unchanged": len(good) + len(bad) - 2,
                     "removed": 1}, "second run %s" % counts)
    after = rows(db)
    check(deleted not in after, "deleted file's row dropped")
    check(added in after and np.abs(blob_vector(after[added][3]) -
                                    blob_vector(before[good[2]][3])).max() < EMBED_ATOL,
          "added file embedded like its twin")
    diff = float(np.abs(blob_vector(after[changed][3]) - blob_vector(before[donor][3])).max())
    check(diff < EMBED_ATOL, "changed file re-embedded (|diff| to its new content %.3g)" % diff)
    for p in good[4:] + bad:
        check(after[p] == before[p], "%s untouched (row, id and embedding bytes)" % p)
    out, _ = run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    check(summary(out)["embedded"] == 0, "third run embeds nothing: %s" % out)
    # Indexing only a sub-folder keeps the rows of the files elsewhere (they still exist).
    out, _ = run_ok(exe, ["index", "-m", TINY, "-o", db, os.path.join(photos, "sub")])
    check(len(rows(db)) == len(after), "sub-folder run keeps the other rows")
    # Broken files are retried only when they change, or with --retry-errors.
    out, _ = run_ok(exe, ["index", "-m", TINY, "-o", db, photos, "--retry-errors"])
    check(summary(out)["unreadable"] == 2, "--retry-errors: %s" % out)


def stop_after(exe, db, photos, at_least, sig):
    """Runs index with batches of one and sends sig once the index holds at_least rows. Returns
    the exit status and stderr, or None when the run finished first."""
    p = subprocess.Popen([exe, "index", "-m", TINY, "-o", db, "--batch", "1", photos] +
                         test_cli.device_args(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        try:
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=1)
            done = con.execute("SELECT count(*) FROM images").fetchone()[0]
            con.close()
        except sqlite3.Error:
            done = 0  # not created yet
        if done >= at_least:
            p.send_signal(sig)
            break
        time.sleep(0.002)
    out, err = p.communicate(timeout=120)
    return None if p.returncode == 0 else (p.returncode, err)


def count_rows(db):
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM images").fetchone()[0]
    check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "index intact")
    con.close()
    return n


def case_interrupt(exe, tmp):
    """SIGINT, then SIGKILL, mid-run: the committed batches stay, the next run embeds the rest."""
    photos = os.path.join(tmp, "many")
    os.makedirs(photos)
    total = 400
    src = os.path.join(IMAGES, "rgb_13x21.png")
    for i in range(total):  # hard links: 400 paths, one small file
        os.link(src, os.path.join(photos, "img%04d.png" % i))
    db = os.path.join(tmp, "p.sqlite")
    stopped = stop_after(exe, db, photos, 5, signal.SIGINT)
    if stopped is None:
        raise Skip("the run finished before it could be interrupted")
    rc, err = stopped
    check(rc == 130, "interrupted run exits 130, got %d: %s" % (rc, err))
    check(b"interrupted" in err, "interrupted run says so")
    kept = count_rows(db)
    check(5 <= kept < total, "interrupted run kept %d of %d rows" % (kept, total))
    # Killed outright: every committed batch is still there (WAL), and nothing else.
    stopped = stop_after(exe, db, photos, kept + 5, signal.SIGKILL)
    if stopped is None:
        raise Skip("the second run finished before it could be killed")
    check(stopped[0] == -signal.SIGKILL, "killed run: status %d" % stopped[0])
    survived = count_rows(db)
    check(kept + 5 <= survived < total, "killed run kept %d rows (had %d)" % (survived, kept))
    out, _ = run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    counts = summary(out)
    check(counts["embedded"] == total - survived and counts["unchanged"] == survived,
          "resumed run %s after %d kept" % (counts, survived))


def case_wrong_model(exe, tmp):
    photos, good, bad = make_photos(tmp)
    db = os.path.join(tmp, "p.sqlite")
    run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    n = len(rows(db))
    # Another model: the tiny model with a different LayerNorm epsilon (it loads and embeds).
    other = os.path.join(tmp, "other")
    shutil.copytree(TINY, other)
    config = json.load(open(os.path.join(other, "config.json")))
    config["vision_config"]["layer_norm_eps"] = 1e-5
    json.dump(config, open(os.path.join(other, "config.json"), "w"))
    rc, out, err = run(exe, ["index", "-m", other, "-o", db, photos])
    check(rc == 1 and "built with another model" in err and "'tiny'" in err and "'other'" in err,
          "index with another model refused: rc %d %s" % (rc, err))
    check(len(rows(db)) == n, "refused run left the index alone")
    rc, out, err = run(exe, ["search", db, "-m", other, "a photo"])
    check(rc == 1 and "built with another model" in err, "search with another model: %s" % err)
    # The same model copied elsewhere is the same model; the index remembers the last one used.
    rc, out, err = run(exe, ["search", db, "a photo"])
    check(rc == 0, "search with the index's own model: %s" % err)
    same = os.path.join(tmp, "same")
    shutil.copytree(TINY, same)
    out, _ = run_ok(exe, ["index", "-m", same, "-o", db, photos])
    check(summary(out)["embedded"] == 0, "a copy of the model is accepted: %s" % out)
    shutil.rmtree(same)
    rc, out, err = run(exe, ["search", db, "a photo"])
    check(rc == 1 and "is gone" in err and "-m" in err, "model folder gone: %s" % err)
    out, _ = run_ok(exe, ["search", db, "a photo", "-m", TINY])
    # Files that are not an index are refused, and left unchanged.
    foreign = os.path.join(tmp, "foreign.sqlite")
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    text = os.path.join(tmp, "text.sqlite")
    with open(text, "w") as f:
        f.write("hello\n" * 100)
    for path, words in ((foreign, "not a siglip index"), (text, "not a database")):
        before = open(path, "rb").read()
        rc, out, err = run(exe, ["index", "-m", TINY, "-o", path, photos])
        check(rc == 1 and words in err, "index -o %s refused: %s" % (path, err))
        rc, out, err = run(exe, ["search", path, "a photo"])
        check(rc == 1 and words in err, "search %s refused: %s" % (path, err))
        check(open(path, "rb").read() == before, "%s unchanged" % path)
    # A damaged index says so (not "not a siglip index"): metadata that does not parse, and a
    # file cut short.
    damaged = os.path.join(tmp, "damaged.sqlite")
    shutil.copy(db, damaged)
    con = sqlite3.connect(damaged)
    con.execute("UPDATE meta SET value = '-5' WHERE key = 'dim'")
    con.commit()
    con.close()
    rc, out, err = run(exe, ["search", damaged, "a photo"])
    check(rc == 1 and "metadata is damaged" in err and "dim '-5'" in err,
          "damaged dim: rc %d %s" % (rc, err))
    cut = os.path.join(tmp, "cut.sqlite")
    with open(db, "rb") as f:
        data = f.read()
    with open(cut, "wb") as f:
        f.write(data[:len(data) // 2])
    rc, out, err = run(exe, ["search", cut, "a photo"])
    check(rc == 1 and "not a siglip index" not in err and len(err.splitlines()) == 1,
          "index cut short: rc %d %s" % (rc, err))


def expected_hits(cos, k, scale, bias):
    order = sorted(range(len(cos)), key=lambda i: (-cos[i], i))[:k]
    return [(i, 1 / (1 + np.exp(-(scale * cos[i] + bias))), cos[i]) for i in order]


def compare_hits(what, got, want, paths):
    """got: [{path, score, cosine}], want: [(row, score, cosine)] from numpy."""
    if not check(len(got) == len(want), "%s: %d hits, expected %d" % (what, len(got), len(want))):
        return
    worst = 0.0
    for j, (hit, (row, score, cos)) in enumerate(zip(got, want)):
        worst = max(worst, abs(hit["score"] - score), abs(hit["cosine"] - cos))
        # Two rows whose cosines differ by less than the tolerance may come in either order.
        if hit["path"] != paths[row]:
            alt = [w for w in want if paths[w[0]] == hit["path"]]
            check(alt and abs(alt[0][2] - cos) < SCORE_ATOL, "%s: hit %d is %s, expected %s"
                  % (what, j + 1, hit["path"], paths[row]))
    print("%s: max |score or cosine diff| %.3g (tolerance %g)" % (what, worst, SCORE_ATOL))
    check(worst <= SCORE_ATOL, "%s: scores differ from numpy by %.3g" % (what, worst))


def case_search(exe, tmp):
    photos, good, bad = make_photos(tmp)
    db = os.path.join(tmp, "p.sqlite")
    run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    # Five queries: one block of four in the engine and one left over.
    texts = ["a photo of a dog on the beach", "red", "a gray square", "a cat"]
    query_image = good[5]
    ref = os.path.join(tmp, "ref.safetensors")
    args = ["embed", "-m", TINY, "-o", ref]
    for t in texts:
        args += ["-t", t]
    for p in good:
        args += ["-i", p]
    run_ok(exe, args)
    emb = read_safetensors(ref)
    weights = read_safetensors(os.path.join(TINY, "model.safetensors"))
    scale = float(np.exp(np.float64(weights["logit_scale"][0])))
    bias = float(weights["logit_bias"][0])
    images = emb["image_embeds"].astype(np.float64)      # [N, D]
    queries = np.concatenate([emb["text_embeds"], emb["image_embeds"][5:6]]).astype(np.float64)
    cos = images @ queries.T                               # [N, Q]
    for k in (3, len(good) + 5):
        out, _ = run_ok(exe, ["search", db] + texts + ["--image", query_image, "--top", str(k),
                                                       "--json"])
        results = json.loads(out)
        check([r["query"] for r in results] == texts + [query_image] and
              [r["type"] for r in results] == ["text"] * 4 + ["image"], "query order and types")
        for q, r in enumerate(results):
            want = expected_hits(list(cos[:, q]), min(k, len(good)), scale, bias)
            compare_hits("top %d of %r" % (k, r["query"]), r["results"], want, good)
    check(results[-1]["results"][0]["path"] == query_image, "an image finds itself first")
    check(sorted(os.listdir(tmp)) == ["p.sqlite", "photos", "ref.safetensors"],
          "search leaves no -wal/-shm files: %s" % os.listdir(tmp))
    # The plain-text output lists the same hits.
    out, _ = run_ok(exe, ["search", db, texts[0], "--top", "3"])
    lines = [line.split() for line in out.splitlines()[1:]]
    want = expected_hits(list(cos[:, 0]), 3, scale, bias)
    check([l[3] for l in lines] == [good[w[0]] for w in want] and
          all(abs(float(l[1]) - w[1]) < 1e-4 for l, w in zip(lines, want)),
          "text output %s" % lines)
    rc, out, err = run(exe, ["search", db, "--top", "0", "x"])
    check(rc == 2, "--top 0 is a usage error")
    rc, out, err = run(exe, ["search", db])
    check(rc == 2 and "nothing to search" in err, "no query is a usage error")
    rc, out, err = run(exe, ["search", os.path.join(tmp, "none.sqlite"), "x"])
    check(rc == 1 and "No such file" in err, "a missing index: %s" % err)
    rc, out, err = run(exe, ["search", db, "--image", bad[0]])
    check(rc == 1 and bad[0] in err, "a broken query image is an error naming it: %s" % err)


def case_engines(exe, tmp):
    """Both top-k engines (--engine host: dot products on the CPUs; --engine device: a GEMM on the
    OpenCL device, siglip_matrix_topk) against numpy on an index padded with 3000 synthetic unit
    vectors, three of them copies of a real image's embedding (ties: rows in id order)."""
    db = os.path.join(tmp, "e.sqlite")
    run_ok(exe, ["index", "-m", TINY, "-o", db, IMAGES])
    con = sqlite3.connect(db)
    try:
        real = con.execute("SELECT path, embedding FROM images WHERE embedding IS NOT NULL "
                           "ORDER BY id").fetchall()
        dim = len(real[0][1]) // 4
        rng = np.random.default_rng(7)
        synth = rng.normal(size=(3000, dim))
        synth = (synth / np.linalg.norm(synth, axis=1, keepdims=True)).astype("<f4")
        twin = blob_vector(real[2][1])
        for r in (100, 2000, 2999):
            synth[r] = twin
        con.executemany("INSERT INTO images (path, size, mtime_ns, embedding, error, indexed_at)"
                        " VALUES (?, 0, 0, ?, NULL, 0)",
                        [("/synthetic/%05d.jpg" % i, synth[i].tobytes()) for i in range(3000)])
        con.commit()
        stored = con.execute("SELECT path, embedding FROM images WHERE embedding IS NOT NULL "
                             "ORDER BY id").fetchall()
        # rows whose embedding is not finite (a damaged file): skipped and reported, never ranked
        # (a NaN compares as neither better nor worse, so it would stay in a top-k heap)
        bad = [np.full(dim, np.nan, "<f4"), np.full(dim, np.inf, "<f4")]
        con.executemany("INSERT INTO images (path, size, mtime_ns, embedding, error, indexed_at)"
                        " VALUES (?, 0, 0, ?, NULL, 0)",
                        [("/synthetic/bad%d.jpg" % i, v.tobytes()) for i, v in enumerate(bad)])
        con.commit()
    finally:
        con.close()
    paths = [p for p, _ in stored]
    matrix = np.stack([blob_vector(b) for _, b in stored]).astype(np.float64)  # [N, D]
    texts = ["a photo of a dog on the beach", "red"]
    query_image = real[2][0]
    ref = os.path.join(tmp, "ref.safetensors")
    run_ok(exe, ["embed", "-m", TINY, "-o", ref, "-t", texts[0], "-t", texts[1],
                 "-i", query_image])
    emb = read_safetensors(ref)
    weights = read_safetensors(os.path.join(TINY, "model.safetensors"))
    scale = float(np.exp(np.float64(weights["logit_scale"][0])))
    bias = float(weights["logit_bias"][0])
    queries = np.concatenate([emb["text_embeds"], emb["image_embeds"]]).astype(np.float64)
    cos = matrix @ queries.T                                             # [N, Q]
    twins = [query_image] + ["/synthetic/%05d.jpg" % r for r in (100, 2000, 2999)]
    for engine in ("host", "device"):
        for k in (7, len(paths) + 10):   # k > n: every row, ranked
            out, err = run_ok(exe, ["search", db] + texts + ["--image", query_image, "--top",
                                                             str(k), "--json", "--engine", engine])
            check("2 rows with a malformed embedding skipped" in err,
                  "%s engine: non-finite rows reported: %r" % (engine, err))
            results = json.loads(out)
            for q, r in enumerate(results):
                want = expected_hits(list(cos[:, q]), min(k, len(paths)), scale, bias)
                compare_hits("%s engine, top %d of %r" % (engine, k, r["query"]), r["results"],
                             want, paths)
            got = [h["path"] for h in results[-1]["results"][:4]]
            check(got == twins, "%s engine: equal rows in id order: %s" % (engine, got))


class PageParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs = []
        self.missing = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        if tag == "div" and a.get("class") == "missing":
            self.missing += 1


def case_html(exe, tmp):
    if not os.access(CHROMIUM, os.X_OK):
        raise Skip("%s not installed" % CHROMIUM)
    from PIL import Image
    photos, good, bad = make_photos(tmp)
    db = os.path.join(tmp, "p.sqlite")
    run_ok(exe, ["index", "-m", TINY, "-o", db, photos])
    page = os.path.join(tmp, "results.html")
    run_ok(exe, ["search", db, "a <b>dog</b> & a cat", "--image", good[0], "--top", "100",
                 "--html", page])
    text = open(page, encoding="utf-8").read()
    parser = PageParser()
    parser.feed(text)
    n = 2 * len(good)
    check(len(parser.imgs) == n and parser.missing == 0,
          "page has %d thumbnails (expected %d), %d without preview"
          % (len(parser.imgs), n, parser.missing))
    check("&lt;b&gt;dog&lt;/b&gt; &amp; a cat" in text, "query text escaped")
    for img in parser.imgs:
        src = img["src"]
        check(src.startswith("data:image/jpeg;base64,"), "thumbnail is a JPEG data URI")
        im = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        check(im.format == "JPEG" and max(im.size) <= 256, "thumbnail %s %s of %s"
              % (im.format, im.size, img["alt"]))
        # The Exif orientation of a JPEG travels with its thumbnail (PIL reads it back).
        turned = img["alt"].endswith("exif_6.jpg")
        check(im.getexif().get(0x0112, 1) == (6 if turned else 1),
              "%s: thumbnail orientation %s" % (img["alt"], im.getexif().get(0x0112)))
    # Render it in headless Chromium. A checker appended to a copy of the page records every
    # image's naturalWidth after the load event; a control image that can't decode proves the
    # check sees failures.
    probe = os.path.join(tmp, "probe.html")
    checker = ('<img id="control" src="data:image/jpeg;base64,AAAA"><script>'
               'addEventListener("load",()=>{document.body.setAttribute("data-check",'
               '[...document.images].map(i=>(i.id||(i.alt.endsWith("exif_6.jpg")?"turned":"t"))'
               '+":"+(i.complete?i.naturalWidth+"x"+i.naturalHeight:-1)).join(","))});'
               '</script></body>')
    with open(probe, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", checker))
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--user-data-dir=" +
                        os.path.join(tmp, "chromium"), "--virtual-time-budget=10000",
                        "--dump-dom", "file://" + probe], capture_output=True, timeout=120)
    dom = p.stdout.decode("utf-8", "replace")
    marker = 'data-check="'
    if not check(marker in dom, "chromium rendered the page (rc %d): %s"
                 % (p.returncode, p.stderr.decode()[-2000:])):
        return
    states = dom.split(marker, 1)[1].split('"', 1)[0].split(",")
    thumbs = [s.split(":")[1] for s in states if not s.startswith("control:")]
    print("chromium: %d thumbnails, natural sizes %s" % (len(thumbs), states))
    check(len(thumbs) == n and all(int(s.split("x")[0]) > 0 for s in thumbs),
          "every thumbnail loads in chromium: %s" % states)
    check("control:0x0" in states, "the broken control image does not load: %s" % states)
    # exif_6.jpg is stored 50x30 with orientation 6 (turn 90°): the page shows it 30x50.
    check(states.count("turned:30x50") == 2, "exif_6.jpg shown upright (30x50): %s" % states)


def case_precision(exe, tmp):
    """index/search --precision: the index records the weight precision (meta "weights"; the
    stored format "precision" stays f32) and holds `siglip embed --precision bf16`'s embeddings;
    adding with another precision is refused, naming the fix; search embeds its queries in the
    index's precision unless --precision says otherwise (refused then); an index from before
    --precision (no "weights" key) reads as f32."""
    photos, good, _ = make_photos(tmp)
    db = os.path.join(tmp, "p.sqlite")
    run_ok(exe, ["index", "-m", TINY, "-o", db, "--precision", "bf16", photos])
    con = sqlite3.connect(db)
    meta = dict(con.execute("SELECT key, value FROM meta"))
    con.close()
    check(meta.get("weights") == "bf16" and meta.get("precision") == "f32", "meta %s" % meta)
    got = rows(db)
    stored = np.stack([blob_vector(got[p][3]) for p in good])
    diff = float(np.abs(stored - embed_images(exe, tmp, good, ["--precision", "bf16"])).max())
    diff32 = float(np.abs(stored - embed_images(exe, tmp, good)).max())
    print("bf16 index vs siglip embed --precision bf16: max |diff| %.3g (tolerance %g); "
          "vs f32 %.3g" % (diff, EMBED_ATOL, diff32))
    check(diff <= EMBED_ATOL and diff32 > 0, "bf16 index: %.3g from bf16 embeds, %.3g from f32"
          % (diff, diff32))
    rc, _, err = run(exe, ["index", "-m", TINY, "-o", db, photos])
    check(rc == 1 and "bf16 weights" in err and "--precision bf16" in err,
          "an f32 run on a bf16 index: exit %d, %s" % (rc, err))
    out, _ = run_ok(exe, ["search", db, "red", "--json", "--top", "3"])
    same, _ = run_ok(exe, ["search", db, "red", "--json", "--top", "3", "--precision", "bf16"])
    check(out == same, "search takes the index's precision: %s vs %s" % (out, same))
    rc, _, err = run(exe, ["search", db, "red", "--precision", "q8"])
    check(rc == 1 and "--precision bf16" in err, "search --precision q8: exit %d, %s" % (rc, err))
    con = sqlite3.connect(db)
    con.execute("DELETE FROM meta WHERE key = 'weights'")
    con.commit()
    con.close()
    rc, _, err = run(exe, ["search", db, "red", "--precision", "bf16"])
    check(rc == 1 and "f32 weights" in err, "an index without 'weights': exit %d, %s" % (rc, err))


CASES = test_cli.cases(case_index, case_precision, case_incremental, case_interrupt,
                       case_wrong_model, case_search, case_engines, case_html)


if __name__ == "__main__":
    sys.exit(test_cli.run_main("search", CASES, test_cli.in_tmp("siglip-search-")))
