#!/usr/bin/env python3
"""test_immich.py — `siglip serve --immich` driven the way Immich's server drives its
machine-learning service: requests built by Node's FormData and sent with Node's fetch
(tests/immich_client.mjs, Node >= 18), /ping polled meanwhile.

Usage: test_immich.py SIGLIP_EXECUTABLE CASE   (CASE: see CASES at the bottom; exit 77 = skipped)

Expected values: the embeddings of Immich's whole path — its preprocessing and clean_text as
tests/data/immich/gen.py writes them from Immich's transforms.py (Pillow, numpy), then the model's
float64 forward (tests/data/siglip2/ref_siglip.py) — in tests/data/immich/embeds.safetensors, and
the image sizes PIL reports (pixels.safetensors "dims/..."). A served embedding must parse as
pgvector parses a vector literal, have exactly the model's dimension, unit norm (1e-5) and cosine
>= 0.99999 with the reference. Standard library + node.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli as cli  # noqa: E402
import test_serve as serve  # noqa: E402

check = cli.check
HERE = os.path.dirname(os.path.abspath(__file__))
IMMICH = os.path.join(cli.DATA, "immich")
CLIENT = os.path.join(HERE, "immich_client.mjs")
SIGLIP1_NAME = "ViT-B-16-SigLIP__webli"
SIGLIP2_NAME = "ViT-B-16-SigLIP2__webli"


def node():
    """The node executable, or Skip when there is none >= 18 (fetch, FormData, Blob built in)."""
    exe = shutil.which("node") or shutil.which("nodejs")
    if not exe:
        raise cli.Skip("node is not installed (Debian: nodejs)")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    if int(out.lstrip("v").split(".")[0]) < 18:
        raise cli.Skip("node %s has no built-in fetch/FormData (needs 18)" % out)
    return exe


def run_client(srv, jobs, serial=False, timeout=240):
    """Runs the jobs at once (serial: one after the other) from Node; returns
    [{status, body, ms}] in job order."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(jobs, f)
    try:
        p = subprocess.run([node(), CLIENT, srv.url(""), f.name] + (["serial"] if serial else []),
                           capture_output=True, timeout=timeout)
    finally:
        os.unlink(f.name)
    if p.returncode != 0:
        raise AssertionError("immich_client.mjs failed: %s" % p.stderr.decode()[-2000:])
    return json.loads(p.stdout)


def pgvector_parse(text):
    """A vector literal read as pgvector's vector_in reads it: '[', floats (strtof) separated by
    ',', ']', optional whitespace around; every value finite; at least one, at most 16000."""
    s = text.strip()
    if not (s.startswith("[") and s.endswith("]")):
        raise ValueError("not a vector literal: %r" % text[:40])
    items = s[1:-1].split(",")
    if not 1 <= len(items) <= 16000:
        raise ValueError("%d dimensions" % len(items))
    values = []
    for item in items:
        v = float(item.strip())  # raises on an empty or malformed element
        if not math.isfinite(v):
            raise ValueError("non-finite value %r" % item)
        values.append(v)
    return values


def reference():
    """{key: list of floats} of embeds.safetensors and {image: (height, width)} of the dims."""
    emb = {k: list(v[2]) for k, v in cli.read_safetensors(
        os.path.join(IMMICH, "embeds.safetensors")).items()}
    dims = {k[5:]: tuple(v[2]) for k, v in cli.read_safetensors(
        os.path.join(IMMICH, "pixels.safetensors")).items() if k.startswith("dims/")}
    cases = json.load(open(os.path.join(IMMICH, "cases.json"), encoding="utf-8"))
    return emb, dims, cases["embed"]


def check_embedding(what, result, ref, dim):
    """A 200 answer whose "clip" string is a pgvector literal of dim floats, normalized and at
    cosine >= 0.99999 with ref. Returns the parsed answer (None when it is not one)."""
    if not check(result["status"] == 200, "%s: status %s, body %s" % (what, result["status"],
                                                                     result["body"][:300])):
        return None
    doc = json.loads(result["body"])
    check(isinstance(doc.get("clip"), str), "%s: \"clip\" is not a JSON string" % what)
    v = pgvector_parse(doc["clip"])
    check(len(v) == dim, "%s: %d dimensions, the model has %d" % (what, len(v), dim))
    norm = math.sqrt(sum(x * x for x in v))
    check(abs(norm - 1) <= 1e-5, "%s: norm %.9f" % (what, norm))
    if len(v) == len(ref):
        cos = sum(a * b for a, b in zip(v, ref)) / norm / math.sqrt(sum(b * b for b in ref))
        check(cos >= 0.99999, "%s: cosine %.9f with Immich's path" % (what, cos))
    return doc


def siglip2_text_reference(exe, text):
    """text_embeds of `siglip embed --no-text-mask` on the SigLIP 2 fixture (itself checked
    against the float64 reference by cli-classify-siglip2 and test_family)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "e.safetensors")
        cli.run_ok(exe, ["embed", "-m", os.path.join(cli.DATA, "siglip2"), "-t", text, "-o", out,
                         "--no-text-mask"] + cli.device_args(), "embed")
        return list(cli.read_safetensors(out)["text_embeds"][2])


def visual(name, path):
    return {"entries": {"clip": {"visual": {"modelName": name}}}, "image": path}


def textual(name, text):
    return {"entries": {"clip": {"textual": {"modelName": name, "options": {"language": "en"}}}},
            "text": text}


def predict_jobs(embed, name=SIGLIP1_NAME):
    """One visual job per reference image and one textual job per reference text of tiny."""
    jobs = [visual(name, os.path.join(cli.DATA, r)) for r in embed["tiny"]["images"]]
    jobs += [textual(name, t) for t in embed["tiny"]["texts"]]
    return jobs


def check_predictions(jobs, results, emb, dims, embed, prefix="tiny", dim=32):
    images, texts = embed["tiny"]["images"], embed["tiny"]["texts"]
    for job, res in zip(jobs, results):
        if "image" in job:
            rel = os.path.relpath(job["image"], cli.DATA)
            doc = check_embedding("visual %s" % rel, res, emb["%s/image/%s" % (prefix, rel)], dim)
            if doc:
                h, w = dims[rel]
                check(doc.get("imageHeight") == h and doc.get("imageWidth") == w,
                      "%s: imageHeight/Width %s/%s, PIL says %d/%d" % (
                          rel, doc.get("imageHeight"), doc.get("imageWidth"), h, w))
                check(set(doc) == {"clip", "imageHeight", "imageWidth"}, "keys %s" % list(doc))
        else:
            i = texts.index(job["text"])
            doc = check_embedding("textual %r" % job["text"][:30], res, emb["%s/text/%d" % (
                prefix, i)], dim)
            check(doc is None or set(doc) == {"clip"}, "textual keys %s" % list(doc or {}))
    check(len(results) == len(jobs) and images and texts, "every job answered")


def case_predict(exe):
    """One model under any name: each request alone, as Immich's server sends them one by one."""
    node()
    emb, dims, embed = reference()
    with serve.Server(exe, cli.TINY, "--immich") as srv:
        results = run_client(srv, [{"ping": True}])
        check(results[0]["status"] == 200 and results[0]["body"] == "pong", "/ping: %s" % results)
        status, hdrs, body = srv.request("GET", "/")
        check(status == 200 and json.loads(body) == {"message": "Immich ML"}, "GET /: %s" % body)
        for name in (SIGLIP1_NAME, "immich-app/ViT-SO400M-14-SigLIP-384__webli"):
            jobs = predict_jobs(embed, name)
            check_predictions(jobs, run_client(srv, jobs, serial=True), emb, dims, embed)
        # /v1/embeddings of the same server preprocesses as Immich too (--immich)
        img = os.path.join(cli.DATA, embed["tiny"]["images"][1])
        status, _, doc = srv.post("/v1/embeddings", {"input": [{"image": serve.b64(img)}]})
        ref = emb["tiny/image/" + embed["tiny"]["images"][1]]
        got = doc["data"][0]["embedding"] if status == 200 else []
        check(serve.max_diff(got, ref) < 1e-5, "/v1/embeddings under --immich: %s" % status)


def case_concurrent(exe):
    """Visual and textual requests all at once (Promise.all in Node) while /ping is polled from
    another thread: every answer as the reference, every ping "pong"."""
    node()
    emb, dims, embed = reference()
    pings, stop = [], threading.Event()
    with serve.Server(exe, cli.TINY, "--immich", "--max-batch", "8", "--max-wait-ms", "20") as srv:
        def poll():
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    with urllib.request.urlopen(srv.url("/ping"), timeout=10) as r:
                        pings.append((r.status, r.read(), time.monotonic() - t0))
                except OSError as e:
                    pings.append((0, str(e).encode(), time.monotonic() - t0))
                time.sleep(0.01)
        poller = threading.Thread(target=poll)
        poller.start()
        try:
            jobs = predict_jobs(embed) * 6
            results = run_client(srv, jobs)
        finally:
            stop.set()
            poller.join()
        check_predictions(jobs, results, emb, dims, embed)
        bad = [p for p in pings if p[0] != 200 or p[1] != b"pong"]
        check(len(pings) >= 3 and not bad, "%d pings under load, bad: %s" % (len(pings), bad[:3]))
        slowest = max(p[2] for p in pings) if pings else 0
        print("%d requests at once, %d pings, slowest ping %.3f s" % (len(jobs), len(pings),
                                                                     slowest), file=sys.stderr)
        # the same batcher as /v1/embeddings: /metrics counts the answers, and the device ran
        # fewer batches than items (requests were coalesced)
        _, _, body = srv.request("GET", "/metrics")
        m = dict(line.rsplit(" ", 1) for line in body.decode().splitlines()
                 if line and not line.startswith("#"))
        check(m.get('siglip_requests_total{endpoint="/predict",status="200"}') == str(len(jobs)),
              "/predict answers counted in /metrics")
        items, batches = int(m["siglip_batch_size_sum"]), int(m["siglip_batch_size_count"])
        check(items == len(jobs) and batches < items, "%d items in %d device batches" % (
            items, batches))
        print("%d items in %d device batches" % (items, batches), file=sys.stderr)


def case_errors(exe):
    """A name table of two models: unknown names, a broken image, malformed entries, missing
    parts — each a clear 4xx — and the service answers correctly afterwards."""
    node()
    emb, dims, embed = reference()
    with open(os.path.join(cli.DATA, "siglip2", "config.json")) as f:
        dim2 = json.load(f)["vision_config"]["hidden_size"]
    with tempfile.TemporaryDirectory() as tmp:
        table = os.path.join(tmp, "immich-models.json")
        with open(table, "w") as f:
            json.dump({SIGLIP1_NAME: {"model": cli.TINY},
                       SIGLIP2_NAME: {"model": os.path.relpath(os.path.join(cli.DATA, "siglip2"),
                                                               tmp), "clean": "none"}}, f)
        with serve.Server(exe, cli.TINY, "--immich-models", table) as srv:
            bad_img = os.path.join(cli.DATA, "images-extra", "in", "bad_corrupt.jpg")
            not_img = os.path.join(cli.DATA, "images-extra", "in", "bad_unknown.xyz")
            empty = os.path.join(tmp, "empty")
            open(empty, "wb").close()
            img = os.path.join(cli.DATA, embed["tiny"]["images"][0])
            jobs = [
                visual("ViT-B-32__openai", img),                                  # 0 unknown
                textual("nllb-clip-base-siglip__mrl", "a cat"),                    # 1 unknown
                visual(SIGLIP1_NAME, bad_img),                                     # 2 corrupt
                visual(SIGLIP1_NAME, not_img),                                     # 3 not an image
                visual(SIGLIP1_NAME, empty),                                       # 4 empty
                {"entries": {"clip": {"visual": {}}}, "image": img},               # 5 no modelName
                {"entries": {"facial-recognition": {"detection": {"modelName": "buffalo_l"},
                                                    "recognition": {"modelName": "buffalo_l"}}},
                 "image": img},                                                    # 6 other task
                {"entries": {"clip": {"visual": {"modelName": SIGLIP1_NAME}}}},    # 7 no input
                {"entries": {"clip": {"visual": {"modelName": SIGLIP1_NAME}}}, "text": "x"},  # 8
                {"entries": "not an object", "text": "x"},                         # 9
            ]
            want = [400, 400, 400, 400, 400, 422, 422, 400, 400, 422]
            results = run_client(srv, jobs)
            for i, (res, w) in enumerate(zip(results, want)):
                check(res["status"] == w, "error job %d: status %s (want %d): %s" % (
                    i, res["status"], w, res["body"][:200]))
            for i in (0, 1):
                check(SIGLIP1_NAME in results[i]["body"] and SIGLIP2_NAME in results[i]["body"],
                      "unknown name answer names the known ones: %s" % results[i]["body"][:300])
            check("JPEG" in results[2]["body"], "broken image: %s" % results[2]["body"][:200])
            # a body that is not multipart, and a malformed one, from Python
            status, _, _ = srv.request("POST", "/predict", b"{}", {"Content-Type":
                                                                   "application/json"})
            check(status == 422, "JSON body: %d" % status)
            status, _, _ = srv.request("POST", "/predict", b"--x\r\nnope",
                                       {"Content-Type": "multipart/form-data; boundary=x"})
            check(status == 400, "malformed multipart: %d" % status)
            status, _, _ = srv.request("GET", "/predict")
            check(status == 405, "GET /predict: %d" % status)
            # What Immich's own service (FastAPI, orjson) refuses with 422, and repeated parts;
            # each was served before (the first value or part taken, or the name cut at U+0000).
            good = json.dumps({"clip": {"textual": {"modelName": SIGLIP1_NAME}}}).encode()
            for parts, want, words in (
                    ([("entries", good + b" trailing"), ("text", b"a cat")], 422, "entries"),
                    ([("entries", good + b"{}"), ("text", b"a cat")], 422, "entries"),
                    ([("entries", good.replace(b"__webli", b"__webli\\u0000junk")),
                      ("text", b"a cat")], 422, "U+0000"),
                    ([("entries", good.replace(b"__webli", b"__webli\xff")), ("text", b"a")],
                     422, "UTF-8"),
                    ([("entries", good), ("entries", good), ("text", b"a cat")], 422,
                     "more than one"),
                    ([("entries", good), ("text", b"a cat"), ("text", b"a dog")], 400,
                     "more than one \\\"text\\\""),
                    ([("entries", good), ("image", b"x"), ("image", b"y")], 400,
                     "more than one \\\"image\\\""),
                    ([("entries", good), ("text", b"caf\xe9")], 400, "not valid UTF-8"),
                    ([("entries", good), ("text", b"\xc0\xaf")], 400, "not valid UTF-8")):
                body = b"".join(b"--B0\r\nContent-Disposition: form-data; name=\"%s\"%s\r\n\r\n%s"
                                b"\r\n" % (n.encode(), b'; filename="blob"' if n == "image"
                                            else b"", v) for n, v in parts) + b"--B0--\r\n"
                status, _, resp = srv.request("POST", "/predict", body, {
                    "Content-Type": "multipart/form-data; boundary=B0"})
                check(status == want and words.encode() in resp,
                      "%s: %d %r (want %d mentioning %s)" % ([(n, v[-20:]) for n, v in parts],
                                                             status, resp[:200], want, words))
            # the same form with well-formed parts is served
            body = (b"--B0\r\nContent-Disposition: form-data; name=\"entries\"\r\n\r\n%s\r\n"
                    b"--B0\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\ncaf\xc3\xa9"
                    b"\r\n--B0--\r\n" % good)
            status, _, resp = srv.request("POST", "/predict", body, {
                "Content-Type": "multipart/form-data; boundary=B0"})
            check(status == 200 and b'"clip"' in resp, "hand-made form: %d %r" % (status, resp[:200]))
            # still up, both models answer, org/ prefixes are stripped
            results = run_client(srv, [{"ping": True}] + predict_jobs(
                embed, "immich-app/" + SIGLIP1_NAME) + [
                visual(SIGLIP2_NAME, os.path.join(cli.DATA, r))
                for r in embed["siglip2"]["images"]])
            check(results[0]["body"] == "pong", "ping after the errors")
            n1 = len(embed["tiny"]["images"]) + len(embed["tiny"]["texts"])
            check_predictions(predict_jobs(embed)[:n1], results[1:1 + n1], emb, dims, embed)
            for r, res in zip(embed["siglip2"]["images"], results[1 + n1:]):
                check_embedding("siglip2 visual %s" % r, res, emb["siglip2/image/" + r], dim2)
            # SigLIP 2's Gemma tokenizer (tokenizer.model) serves texts too; "clean": "none"
            # keeps the text as it is: `siglip embed --no-text-mask` of the same text
            text = "A Photo of a CAT, at night!"
            res = run_client(srv, [textual(SIGLIP2_NAME, text)])[0]
            check_embedding("siglip2 textual", res, siglip2_text_reference(exe, text), dim2)
            check(srv.proc.poll() is None, "the server is still running")
    # a table naming a directory that is not a model: a clear start-up error
    with tempfile.TemporaryDirectory() as tmp:
        table = os.path.join(tmp, "t.json")
        with open(table, "w") as f:
            json.dump({SIGLIP1_NAME: {"model": "missing-dir"}}, f)
        p = subprocess.run([exe, "serve", "-m", cli.TINY, "--port", "0", "--immich-models",
                            table] + cli.device_args(), capture_output=True, timeout=120)
        err = p.stderr.decode("utf-8", "replace")
        check(p.returncode != 0 and "missing-dir" in err, "bad table entry: %d %s" % (
            p.returncode, err[-300:]))
        # the model directory's preprocess_cfg.json is read: one of another size stops the start
        model = os.path.join(tmp, "tiny-with-cfg")
        os.mkdir(model)
        for name in os.listdir(cli.TINY):
            os.symlink(os.path.join(cli.TINY, name), os.path.join(model, name))
        with open(os.path.join(model, "preprocess_cfg.json"), "w") as f:
            json.dump({"size": [24, 24], "interpolation": "bicubic", "resize_mode": "squash"}, f)
        p = subprocess.run([exe, "serve", "-m", model, "--port", "0", "--immich"]
                           + cli.device_args(), capture_output=True, timeout=120)
        err = p.stderr.decode("utf-8", "replace")
        check(p.returncode != 0 and "24×24" in err and "40×40" in err,
              "preprocess_cfg.json of another size: %d %s" % (p.returncode, err[-300:]))


CASES = cli.cases(case_predict, case_concurrent, case_errors)


if __name__ == "__main__":
    sys.exit(cli.run_main("immich", CASES))
