#!/usr/bin/env python3
"""test_serve.py — `siglip serve` as a real service: a server on a free loopback port driven by curl,
http.client threads and raw sockets.

Usage: test_serve.py SIGLIP_EXECUTABLE CASE   (CASE: see CASES at the bottom; exit 77 = skipped)

Expected values: embeddings and scores must equal what `siglip embed` / `siglip classify` print for
the same inputs (run in the same test), and those are checked against the transformers fixtures
(tests/data/tiny-expected.safetensors, made by tests/data/FIXTURES.md's script) with the same
tolerances as test_cli.py. Standard library only.
"""
import array
import base64
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cli as cli  # noqa: E402  (shared helpers: check, fixtures, safetensors reader)

check = cli.check
TINY, TINY_CLS, IMAGES = cli.TINY, cli.TINY_CLS, cli.IMAGES
SIGLIP2 = os.path.join(cli.DATA, "siglip2")


class Server:
    """A `siglip serve` process on an ephemeral loopback port (read from its first stderr line)."""

    def __init__(self, exe, model, *args):
        self.proc = subprocess.Popen([exe, "serve", "-m", model, "--port", "0"] + list(args)
                                     + cli.device_args(), stderr=subprocess.PIPE)
        line = self.proc.stderr.readline().decode("utf-8", "replace")
        if "listening on" not in line:
            self.proc.kill()
            raise AssertionError("siglip serve did not start: %r" % line)
        self.port = int(line.split("listening on http://127.0.0.1:")[1].split()[0])
        self.log = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.log.append(line.decode("utf-8", "replace"))

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, headers dict, body bytes) over a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers = dict(headers or {}, **{"Content-Type": "application/json"})
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def post(self, path, doc, headers=None):
        status, hdrs, body = self.request("POST", path, doc, headers)
        return status, hdrs, json.loads(body) if body else None

    def curl(self, *args):
        p = subprocess.run(["curl", "-s", "-S", "-w", "\n%{http_code}"] + list(args),
                           capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        body, _, code = out.rpartition("\n")
        return int(code or 0), body

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc = self.stop()
        check(rc == 0, "siglip serve exited %s after SIGTERM; stderr: %s" % (rc, "".join(self.log)))


def b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def max_diff(got, ref):
    """Largest |difference| after rounding the served values (printed with 9 significant digits,
    which read back to the very float32) to float32."""
    if len(got) != len(ref):
        return 1e9
    got = array.array("f", got)
    return max((abs(x - y) for x, y in zip(got, ref)), default=0.0)


def embed_reference(exe, texts, paths, extra=(), model=TINY):
    """text_embeds and image_embeds rows from `siglip embed` for the same inputs."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "e.safetensors")
        args = ["embed", "-m", model, "-o", out] + cli.device_args() + list(extra)
        for t in texts:
            args += ["-t", t]
        for p in paths:
            args += ["-i", p]
        cli.run_ok(exe, args, "embed")
        t = cli.read_safetensors(out)
    rows = {}
    for name in ("text_embeds", "image_embeds"):
        if name in t:
            _, shape, values = t[name]
            rows[name] = [list(values[i * shape[1]:(i + 1) * shape[1]]) for i in range(shape[0])]
    return rows.get("text_embeds", []), rows.get("image_embeds", [])


def compare_rows(what, got, ref, atol):
    worst = max((max_diff(g, r) for g, r in zip(got, ref)), default=0.0)
    check(len(got) == len(ref) and worst <= atol,
          "%s: %d rows vs %d, max |diff| %.3g > %g" % (what, len(got), len(ref), worst, atol))
    print("%s: max |diff| vs siglip embed %.3g over %d rows (tolerance %g)"
          % (what, worst, len(got), atol))


# Served and CLI results come from the same kernels on the same device, but in batches of other
# sizes; a device whose GEMM picks kernels by batch size may round differently, so allow float32
# noise. On PoCL they agree bit for bit (the printed max |diff| is 0).
SAME = 1e-6


# ---- cases ----

def case_embeddings(exe):
    cases, expected, _ = cli.fixture("public")
    texts = cases["public.texts"]
    paths = cli.image_paths(cases, "public")
    ref_text, ref_image = embed_reference(exe, texts, paths)
    with Server(exe, TINY) as srv:
        # JSON, texts and base64 images mixed in one request: index follows the input order.
        inputs = []
        for i, t in enumerate(texts):
            inputs.append(t)
            if i < len(paths):
                inputs.append({"image": b64(paths[i])})
        inputs += [{"image": "data:image/png;base64," + b64(p)} for p in paths[len(texts):]]
        status, _, doc = srv.post("/v1/embeddings", {"input": inputs, "model": "tiny"})
        check(status == 200 and doc["object"] == "list", "embeddings: %s %s" % (status, doc))
        data = sorted(doc["data"], key=lambda d: d["index"])
        check([d["index"] for d in data] == list(range(len(inputs))), "indices")
        got_text = [d["embedding"] for d, x in zip(data, inputs) if isinstance(x, str)]
        got_image = [d["embedding"] for d, x in zip(data, inputs) if isinstance(x, dict)]
        compare_rows("embeddings (JSON) texts", got_text, ref_text, SAME)
        compare_rows("embeddings (JSON) images", got_image, ref_image, SAME)
        # And against transformers: images have no mask question; texts here are masked (HF).
        _, shape, values = expected["public.f32.image_embeds"]
        fixture_rows = [list(values[i * shape[1]:(i + 1) * shape[1]]) for i in range(shape[0])]
        compare_rows("embeddings images vs transformers", got_image, fixture_rows, 1e-4)
        check(doc["usage"]["prompt_tokens"] > 0, "usage.prompt_tokens")
        # A single string input; base64 output = little-endian float32 of the same values.
        status, _, one = srv.post("/v1/embeddings", {"input": texts[0],
                                                     "encoding_format": "base64"})
        raw = base64.b64decode(one["data"][0]["embedding"])
        vec = list(struct.unpack("<%df" % (len(raw) // 4), raw))
        compare_rows("embeddings (base64 output)", [vec], ref_text[:1], 0.0)
        # curl, multipart/form-data: text parts and image file parts, in order.
        form = ["-F", "input=" + texts[1]] + ["-F", "image=@" + paths[2]] + ["-F", "text=" + texts[0]]
        code, body = srv.curl(*form, srv.url("/v1/embeddings"))
        check(code == 200, "multipart embeddings: %d %s" % (code, body[:200]))
        if code == 200:
            d = json.loads(body)["data"]
            compare_rows("embeddings (multipart)", [d[0]["embedding"], d[2]["embedding"]],
                         [ref_text[1], ref_text[0]], SAME)
            compare_rows("embeddings (multipart) image", [d[1]["embedding"]], [ref_image[2]], SAME)
        code, body = srv.curl(srv.url("/health"))
        check(code == 200 and json.loads(body)["status"] == "ok", "health: %d %s" % (code, body))


def classify_reference(exe, model, labels, paths, extra=()):
    args = ["classify", "-m", model, "--json"] + list(extra) + cli.device_args()
    for label in labels:
        args += ["-l", label]
    return json.loads(cli.run_ok(exe, args + paths, "classify"))


def case_classify(exe):
    cases, _, _ = cli.fixture("public")
    paths = cli.image_paths(cases, "public")
    pipe = cases["public.pipeline"]
    labels = pipe["labels"]
    ref = classify_reference(exe, TINY, labels, paths)
    with Server(exe, TINY) as srv:
        # One image: the pipeline's flat [{"score", "label"}], sorted; against the fixture too.
        status, _, doc = srv.post("/v1/classify", {"image": b64(paths[0]),
                                                   "candidate_labels": labels})
        check(status == 200 and isinstance(doc, list) and "score" in doc[0], "classify: %s" % doc)
        check(doc == ref[0]["results"] or all(
            a["label"] == b["label"] and abs(a["score"] - b["score"]) <= SAME
            for a, b in zip(doc, ref[0]["results"])), "classify differs from siglip classify")
        check([d["score"] for d in doc] == sorted((d["score"] for d in doc), reverse=True),
              "scores not sorted")
        # All images at once: a list per image, checked against transformers' pipeline.
        status, _, docs = srv.post("/v1/classify", {"image": [b64(p) for p in paths],
                                                    "candidate_labels": labels})
        served = [{"image": p, "results": r} for p, r in zip(paths, docs)]
        cli.check_pipeline("serve classify", served, paths, pipe["results"], 1e-5)
        worst = max(abs(a["score"] - b["score"]) for s, r in zip(docs, ref)
                    for a, b in zip(s, r["results"]))
        check(worst <= SAME, "classify vs siglip classify: %.3g" % worst)
        print("classify: max |score diff| vs siglip classify %.3g" % worst)
        # A template and top_k, and the same through curl multipart.
        status, _, top = srv.post("/v1/classify", {"image": b64(paths[1]), "top_k": 2,
                                                   "candidate_labels": labels,
                                                   "hypothesis_template": "a {} here"})
        ref_t = classify_reference(exe, TINY, labels, [paths[1]],
                                   ["--template", "a {} here", "--top", "2"])[0]["results"]
        check(status == 200 and [d["label"] for d in top] == [d["label"] for d in ref_t] and
              max_diff([d["score"] for d in top], [d["score"] for d in ref_t]) <= SAME,
              "template + top_k 2: %s vs %s" % (top, ref_t))
        form = ["-F", "image=@" + paths[1], "-F", "hypothesis_template=a {} here", "-F", "top_k=2"]
        for label in labels:
            form += ["-F", "candidate_labels=" + label]
        code, body = srv.curl(*form, srv.url("/v1/classify"))
        check(code == 200 and json.loads(body) == top, "multipart classify %d %s" % (code, body))
    # An image-classification model: its own classes, softmax scores as `siglip classify`.
    ref = classify_reference(exe, TINY_CLS, [], paths[:2])
    with Server(exe, TINY_CLS) as srv:
        status, _, docs = srv.post("/v1/classify", {"image": [b64(p) for p in paths[:2]]})
        check(status == 200 and [[d["label"] for d in x] for x in docs] ==
              [[d["label"] for d in r["results"]] for r in ref], "tiny-cls labels")
        worst = max(abs(a["score"] - b["score"]) for s, r in zip(docs, ref)
                    for a, b in zip(s, r["results"]))
        check(worst <= SAME, "tiny-cls vs siglip classify %.3g" % worst)
        status, _, doc = srv.post("/v1/embeddings", {"input": "text"})
        check(status == 400, "texts on a classifier model: %s" % status)


def case_errors(exe):
    img = os.path.join(IMAGES, "rgb_40x40.png")
    with tempfile.TemporaryDirectory() as tmp:
        key_file = os.path.join(tmp, "key")
        with open(key_file, "w") as f:
            f.write("s3cret-token\n")
        with Server(exe, TINY, "--api-key-file", key_file, "--max-body", "65536",
                    "--max-items", "8", "--queue", "16") as srv:
            auth = {"Authorization": "Bearer s3cret-token"}
            ok = {"input": ["hello"]}
            status, hdrs, resp = srv.request("POST", "/v1/embeddings", ok)
            check(status == 401 and "bearer" in hdrs.get("www-authenticate", "").lower(),
                  "no token: %d" % status)
            check_error_shape(json.loads(resp)["error"], "invalid_request_error", None,
                              "invalid_api_key", "401")
            for bad in ("Bearer s3cret-tokeN", "Bearer s3cret", "Bearer s3cret-token2", "s3cret-token",
                        "Basic czNjcmV0"):
                status, _, _ = srv.request("POST", "/v1/embeddings", ok, {"Authorization": bad})
                check(status == 401, "Authorization %r: %d" % (bad, status))
            check(srv.request("GET", "/metrics")[0] == 401, "metrics without token")
            check(srv.request("GET", "/health")[0] == 200, "health needs no token")
            # A 401 to a request without a body keeps the connection; one with its body unread
            # closes it.
            answers, closed = pipelined(srv.port, b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
                                        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            check([a[0] for a in answers] == [401, 200] and not closed,
                  "pipelined 401 then /health: %s, closed %s" % ([a[0] for a in answers], closed))
            answers, closed = pipelined(srv.port, b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n"
                                        b"Content-Length: 2\r\n\r\n{}"
                                        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            check([a[0] for a in answers] == [401] and closed,
                  "401 with a body: %s, closed %s" % ([a[0] for a in answers], closed))
            check(srv.request("POST", "/v1/embeddings", ok, auth)[0] == 200, "good token")
            bad_bodies = [
                (b"{\"input\": [\"a\"", "malformed JSON"),
                (b"{\"input\": [\"a\"]} x", "data after"),
                (b"[1, 2]", "JSON object"),
                (b"", "empty"),
                (json.dumps({"input": ["a"], "dimenzions": 3}).encode(), "unknown field"),
                (json.dumps({"input": ["a"], "dimensions": 3}).encode(),
                 "dimensions is not supported: this model's text embeddings have %d dimensions"
                 % TINY_DIM),
                (json.dumps({"input": ["a"], "dimensions": "3"}).encode(), "dimensions"),
                (json.dumps({"input": []}).encode(), "empty list"),
                (json.dumps({"input": [{"text": 3}]}).encode(), "input[0]"),
                # token ids (OpenAI takes them) are refused by name, not as "must be a string"
                (json.dumps({"input": [70, 372, 59]}).encode(), "token ids"),
                (json.dumps({"input": [[1, 2], [3]]}).encode(), "token ids"),
                (json.dumps({"input": 7}).encode(), "token ids"),
                (json.dumps({"input": [{"image": "@@@"}]}).encode(), "base64"),
                (json.dumps({"input": [{"image": base64.b64encode(b"not an image").decode()}]})
                 .encode(), "image"),
                (json.dumps({"input": [{"image": b64(img)[:200]}]}).encode(), "image"),
                # a broken image among texts is named by its input index, as bad base64 is (it
                # was "image[1]", its place among the images)
                (json.dumps({"input": ["a", {"image": b64(img)}, "b", {"image": base64.b64encode(
                    b"not an image").decode()}]}).encode(), "input[3].image: "),
                (json.dumps({"input": ["a"] * 9}).encode(), "at most 8"),
                (json.dumps({"input": ["a"], "encoding_format": "int8"}).encode(), "encoding_format"),
                (json.dumps({"input": ["a"], "model": 3}).encode(), "model"),
                # U+0000 is refused, naming it, not cut short there (issue 32, item 2)
                (json.dumps({"input": ["a\0b"]}).encode(), "U+0000"),
                (json.dumps({"input": [{"text": "\0"}]}).encode(), "U+0000"),
                (b'{"input": ["a\x00b"]}', "U+0000"),
                # bytes that are not UTF-8 (RFC 8259 §8.1), named by their place in the body
                (b'{"input": "caf\xe9"}', "input is not valid UTF-8"),
                (b'{"input": ["ok", "\xc0\xaf"]}', "input[1] is not valid UTF-8"),  # overlong /
                (b'{"input": [{"text": "\xed\xa0\x80"}]}', "input[0].text is not valid"),  # surrogate
                (b'{"input": ["\xf4\x90\x80\x80"]}', "input[0] is not valid UTF-8"),  # > U+10FFFF
                (b'{"input": ["a\xe2\x82"]}', "input[0] is not valid UTF-8"),  # cut short
                (b'{"input": ["a"], "user": "\xff"}', "user is not valid UTF-8"),
            ]
            params = {"encoding_format": "encoding_format", "dimensions": "dimensions",
                      "token ids": "input", "input[0]": "input", "input[1]": "input",
                      "base64": "input", "unknown field": "dimenzions", "model": "model",
                      "user is": "user", "at most 8": "input", "empty list": "input"}
            for body, reason in bad_bodies:
                status, _, resp = srv.request("POST", "/v1/embeddings", body,
                                              dict(auth, **{"Content-Type": "application/json"}))
                err = json.loads(resp).get("error", {}) if resp else {}
                msg = err.get("message", "")
                param = next((v for k, v in params.items() if reason.startswith(k)), None)
                check(status == 400 and reason.lower() in msg.lower() and "\n" not in msg,
                      "%r: %d %r (expected 400 mentioning %r)" % (body[:60], status, msg, reason))
                check_error_shape(err, "invalid_request_error", param or err.get("param"), None,
                                  "%r" % body[:60])
                if param is None and reason in ("malformed JSON", "data after", "JSON object",
                                                "empty", "U+0000"):
                    check(err.get("param") is None, "%r: param %r" % (body[:60], err.get("param")))
            classify_bad = [
                ({"image": b64(img)}, "candidate_labels"),
                ({"image": b64(img), "candidate_labels": []}, "empty"),
                ({"image": b64(img), "candidate_labels": ["a"], "top_k": 0}, "top_k"),
                ({"candidate_labels": ["a"]}, "image"),
                ({"image": [], "candidate_labels": ["a"]}, "image"),
                ({"image": b64(img), "candidate_labels": ["a"], "labels": 1}, "unknown field"),
                ({"image": b64(img), "candidate_labels": ["cat\0dog"]}, "U+0000"),
                ({"image": b64(img), "candidate_labels": ["a"], "hypothesis_template": "\0{}"},
                 "U+0000"),
                (b'{"image": "%s", "candidate_labels": ["a", "\xe9"]}' % b64(img).encode(),
                 "candidate_labels[1] is not valid UTF-8"),
            ]
            for doc, reason in classify_bad:
                if isinstance(doc, bytes):
                    status, _, resp = srv.request("POST", "/v1/classify", doc, dict(
                        auth, **{"Content-Type": "application/json"}))
                    resp = json.loads(resp)
                else:
                    status, _, resp = srv.post("/v1/classify", doc, auth)
                msg = resp.get("error", {}).get("message", "") if isinstance(resp, dict) else ""
                check(status == 400 and reason in msg, "classify %s: %d %r" % (doc if isinstance(
                    doc, bytes) else list(doc), status, msg))
            big = json.dumps({"input": ["x" * 70000]}).encode()
            status, _, _ = srv.request("POST", "/v1/embeddings", big,
                                       dict(auth, **{"Content-Type": "application/json"}))
            check(status == 413, "oversized body: %d" % status)
            # Chunked upload past the limit: no Content-Length to refuse it by.
            status, _, _ = chunked_post(srv.port, "/v1/embeddings", big, auth)
            check(status == 413, "oversized chunked body: %d" % status)
            code, body = srv.curl("-H", "Authorization: Bearer s3cret-token", "-F", "bogus=1",
                                  srv.url("/v1/embeddings"))
            check(code == 400 and "unknown multipart field" in body, "multipart bogus: %d" % code)
            form = (b"--XyZ\r\nContent-Disposition: form-data; name=\"input\"\r\n\r\na\0b\r\n"
                    b"--XyZ--\r\n")
            status, _, resp = srv.request("POST", "/v1/embeddings", form, dict(
                auth, **{"Content-Type": "multipart/form-data; boundary=XyZ"}))
            check(status == 400 and b"NUL" in resp, "multipart text with NUL: %d %r" % (status, resp))
            form = (b"--XyZ\r\nContent-Disposition: form-data; name=\"input\"\r\n\r\ncaf\xe9\r\n"
                    b"--XyZ--\r\n")
            status, _, resp = srv.request("POST", "/v1/embeddings", form, dict(
                auth, **{"Content-Type": "multipart/form-data; boundary=XyZ"}))
            check(status == 400 and b'field \\"input\\" is not valid UTF-8' in resp,
                  "multipart text not UTF-8: %d %r" % (status, resp))
            # Well-formed UTF-8 of every length is served.
            status, _, _ = srv.request("POST", "/v1/embeddings",
                                       b'{"input": ["caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x88"]}',
                                       dict(auth, **{"Content-Type": "application/json"}))
            check(status == 200, "UTF-8 text of 2-, 3- and 4-byte characters: %d" % status)
            # A text that spells \u0000 with a backslash holds no NUL: it is served.
            status, _, _ = srv.request("POST", "/v1/embeddings", b'{"input": ["a\\\\u0000b"]}',
                                       dict(auth, **{"Content-Type": "application/json"}))
            check(status == 200, "a literal backslash-u0000 text: %d" % status)
            code, body = srv.curl("-H", "Authorization: Bearer s3cret-token", "-F",
                                  "image=@" + os.path.join(TINY, "config.json"), "-F",
                                  "candidate_labels=x", srv.url("/v1/classify"))
            check(code == 400 and "image" in body, "multipart broken image: %d %s" % (code, body))
            status, _, resp = srv.request("GET", "/nope", None, auth)
            check(status == 404, "404")
            check_error_shape(json.loads(resp)["error"], "invalid_request_error", None, None, "404")
            status, hdrs, resp = srv.request("GET", "/v1/embeddings", None, auth)
            check(status == 405 and hdrs.get("allow") == "POST", "405 with Allow: POST")
            check_error_shape(json.loads(resp)["error"], "invalid_request_error", None, None, "405")
            # Optional fields set to null are left out, as OpenAI reads them; "dimensions" equal
            # to the model's own is accepted.
            for doc in ({"input": ["a"], "user": None, "encoding_format": None},
                        {"input": ["a"], "dimensions": TINY_DIM}, {"input": "a", "dimensions": None}):
                status, _, resp = srv.post("/v1/embeddings", doc, auth)
                check(status == 200 and len(resp["data"][0]["embedding"]) == TINY_DIM,
                      "%s: %d %s" % (doc, status, str(resp)[:200]))
            # GET /v1/models/{id} (the SDK's models.retrieve): the model, or OpenAI's 404.
            status, _, resp = srv.request("GET", "/v1/models/tiny", None, auth)
            check(status == 200 and json.loads(resp) == {"id": "tiny", "object": "model",
                                                         "created": 0, "owned_by": "siglip"},
                  "GET /v1/models/tiny: %d %r" % (status, resp))
            status, _, resp = srv.request("GET", "/v1/models/gpt-4", None, auth)
            check(status == 404, "GET /v1/models/gpt-4: %d" % status)
            check_error_shape(json.loads(resp)["error"], "invalid_request_error", None,
                              "model_not_found", "unknown model")
            check(srv.request("GET", "/v1/models/tiny")[0] == 401, "models/{id} needs the key")
            # After all that, it still answers correctly.
            check(srv.request("POST", "/v1/embeddings", ok, auth)[0] == 200, "still serving")
            status, _, metrics = srv.request("GET", "/metrics", None, auth)
            text = metrics.decode()
            check(status == 200 and 'status="400"' in text and 'status="401"' in text and
                  'status="413"' in text and "siglip_batch_size_bucket" in text and
                  "siglip_queue_items 0" in text, "metrics:\n" + text[:400])
    long_texts(exe)
    rc, out, err = cli.run(exe, ["serve", "--help"])
    check(rc == 0 and "Usage: siglip serve" in out and "--device" in out and err == "",
          "serve --help: %d %r" % (rc, err))
    for args in (["--port", "70000"], ["--queue", "4", "--max-items", "8"], ["--bogus"], [],
                 ["--host", "example.com"]):
        rc, out, err = cli.run(exe, ["serve"] + (["-m", TINY] if args else []) + args)
        check(rc == 2 and len(err.splitlines()) == 1 and err.startswith("siglip: serve: "),
              "serve %s: exit %d, %r" % (args, rc, err))
    rc, out, err = cli.run(exe, ["serve", "-m", TINY, "--precision", "q4"])
    check(rc == 2 and "f32, bf16, f16 or q8" in err and len(err.splitlines()) == 1,
          "--precision q4: %d %r" % (rc, err))
    rc, out, err = cli.run(exe, ["serve", "-m", TINY, "--api-key-file", "/nonexistent/key"])
    check(rc == 1 and len(err.splitlines()) == 1, "missing key file: %d %r" % (rc, err))


# The tiny fixture's embedding size (text projection and image hidden size are both 32).
TINY_DIM = 32


def check_error_shape(err, type_, param, code, what):
    """OpenAI's error object: exactly message (one line), type, param and code, the last two a
    string or null."""
    check(isinstance(err, dict) and sorted(err) == ["code", "message", "param", "type"] and
          isinstance(err["message"], str) and "\n" not in err["message"] and
          err["type"] == type_ and err["param"] == param and err["code"] == code,
          "%s: error object %r (expected type %r, param %r, code %r)" % (what, err, type_, param,
                                                                        code))


def long_texts(exe):
    """Texts past the tokenizer's SG_TOKENIZER_WHOLE_MAX (1 MiB) under the default --max-body: one
    without a place to cut ("a.a.…": docs/serve-limits.md) fails its request alone with 400 naming
    the text and the reason, and the service goes on; 2 MiB of "!" (which SiglipTokenizer drops,
    so its ids are those of "") is served, with the embedding of "" (reference: the same server's
    row for "", within SAME)."""
    with Server(exe, TINY) as srv:
        status, _, resp = srv.post("/v1/embeddings", {"input": ["a photo", "a." * (1 << 20)]})
        msg = resp["error"]["message"] if resp else ""
        check(status == 400 and "text 1: " in msg and "no place where the tokenizer may split" in
              msg and "\n" not in msg, "a 2 MiB text without a cut: %d %r" % (status, msg[:300]))
        status, _, resp = srv.post("/v1/embeddings", {"input": ["!" * (2 << 20), ""]})
        rows = [d["embedding"] for d in resp["data"]] if status == 200 else []
        check(len(rows) == 2 and max_diff(rows[0], rows[1]) <= SAME,
              "2 MiB of '!': %d, rows %d, max |diff| vs \"\" %.3g" %
              (status, len(rows), max_diff(rows[0], rows[1]) if len(rows) == 2 else 1e9))
        check(srv.post("/v1/embeddings", {"input": ["a photo"]})[0] == 200, "served after a 400")


def chunked_post(port, path, body, headers):
    """POST with Transfer-Encoding: chunked (no Content-Length), 4 KiB chunks."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        chunks = (body[i:i + 4096] for i in range(0, len(body), 4096))
        conn.request("POST", path, body=chunks,
                     headers=dict(headers, **{"Content-Type": "application/json"}),
                     encode_chunked=True)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    except (ConnectionError, http.client.HTTPException):
        return 0, {}, b""
    finally:
        conn.close()


def run_clients(srv, jobs, n_threads, shed=None):
    """Runs jobs [(path, doc)] on n_threads threads; returns [(status, headers, doc)] in order.
    With a list `shed`, a 503 is retried after a short pause (Retry-After scaled down to keep the
    test short) and its (status, headers) appended to shed."""
    results = [None] * len(jobs)
    lock = threading.Lock()
    next_job = [0]

    def one(i):
        for _ in range(500):
            status, hdrs, body = srv.request("POST", jobs[i][0], jobs[i][1])
            if status != 503 or shed is None:
                break
            with lock:
                shed.append((status, hdrs, body))
            time.sleep(0.01)
        return status, hdrs, json.loads(body) if body else None

    def worker():
        while True:
            with lock:
                i = next_job[0]
                next_job[0] += 1
            if i >= len(jobs):
                return
            try:
                results[i] = one(i)
            except Exception as e:  # noqa: BLE001 — a lost request is what this test looks for
                results[i] = (0, {}, repr(e))

    threads = [threading.Thread(target=worker) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def concurrent_jobs(paths, n):
    """n embeddings requests, each different: a text naming it, and an image."""
    jobs = []
    for i in range(n):
        doc = {"input": ["request number %d" % i, {"image": b64(paths[i % len(paths)])}]}
        jobs.append(("/v1/embeddings", doc))
    return jobs


def case_concurrent(exe):
    """16 clients at once: every answer is the one for its own request, and batches coalesce."""
    cases, _, _ = cli.fixture("public")
    paths = cli.image_paths(cases, "public")
    jobs = concurrent_jobs(paths, 64)
    ref_text, ref_image = embed_reference(exe, ["request number %d" % i for i in range(64)], paths)
    with Server(exe, TINY, "--max-wait-ms", "20", "--max-batch", "16") as srv:
        results = run_clients(srv, jobs, 16)
        bad = [i for i, r in enumerate(results) if r[0] != 200]
        check(not bad, "concurrent: %d requests failed, first %s" % (len(bad),
                                                                    results[bad[0]] if bad else ""))
        worst = 0.0
        for i, r in enumerate(results):
            if r[0] != 200:
                continue
            d = sorted(r[2]["data"], key=lambda x: x["index"])
            worst = max(worst, max_diff(d[0]["embedding"], ref_text[i]),
                        max_diff(d[1]["embedding"], ref_image[i % len(paths)]))
        check(worst <= SAME, "concurrent: an answer differs from its serial reference by %.3g"
              % worst)
        print("concurrent: 64 requests on 16 threads, max |diff| vs siglip embed %.3g" % worst)
        metrics = srv.request("GET", "/metrics")[2].decode()
        batches = int(metrics.split("siglip_batch_size_count ")[1].split()[0])
        items = int(metrics.split("siglip_batch_size_sum ")[1].split()[0])
        check(items == 128, "items run %d, expected 128" % items)
        check(batches < items, "no batch coalesced two requests (%d batches, %d items)"
              % (batches, items))
        print("concurrent: %d items in %d device batches" % (items, batches))


def case_overload(exe):
    """A queue of 8 items under 24 clients sending 4-item requests: requests are shed with 503 and
    Retry-After, every admitted one is answered correctly, none is lost (clients that retry
    their 503s get every answer)."""
    cases, _, _ = cli.fixture("public")
    paths = cli.image_paths(cases, "public")
    texts = ["overload %d" % i for i in range(4)]
    ref_text, _ = embed_reference(exe, texts, [])
    with Server(exe, TINY, "--queue", "8", "--max-items", "4", "--max-wait-ms", "50",
                "--max-connections", "64") as srv:
        jobs = [("/v1/embeddings", {"input": texts})] * 48
        shed = []
        results = run_clients(srv, jobs, 24, shed)
        # How long a client is kept waiting depends on the device: on a slow one (rusticl's
        # llvmpipe) a client can see only 503s for all its retries while the others keep the
        # queue full. Whatever the speed, its request must be answered once the load is gone:
        # those retry after the flood, one at a time (nothing else competes for the queue).
        for i, r in enumerate(results):
            if r[0] == 503:
                results[i] = run_clients(srv, [jobs[i]], 1, shed)[0]
        codes = [r[0] for r in results]
        ok = [r for r in results if r[0] == 200]
        check(len(ok) == len(jobs), "requests without a 200 in the end: %s"
              % sorted(c for c in codes if c != 200))
        check(len(shed) >= 1, "nothing was shed with 24 clients on a queue of 8 items")
        check(all(r[1].get("retry-after") == "1" for r in shed), "503 without Retry-After")
        check_error_shape(json.loads(shed[0][2])["error"], "server_error", None, None, "503")
        worst = max((max_diff(d["embedding"], ref_text[d["index"]]) for r in ok
                     for d in r[2]["data"]), default=0.0)
        check(worst <= SAME, "admitted answers differ by %.3g" % worst)
        print("overload: %d admitted (max |diff| %.3g), %d shed with 503" % (len(ok), worst,
                                                                             len(shed)))
        metrics = srv.request("GET", "/metrics")[2].decode()
        check("siglip_admitted_items 0" in metrics, "admitted items not released")
        check(('status="503"} %d' % len(shed)) in metrics, "503s counted")
    # A deadline shorter than the batch window: the queued request is withdrawn with 504, and
    # the server goes on serving.
    with Server(exe, TINY, "--timeout-ms", "300", "--max-wait-ms", "1000") as srv:
        t0 = time.monotonic()
        status, _, doc = srv.post("/v1/embeddings", {"input": texts[:1]})
        waited = time.monotonic() - t0
        check(status == 504 and "deadline" in doc["error"]["message"] and waited < 0.9,
              "deadline: %d after %.2f s" % (status, waited))
        check_error_shape(doc["error"], "server_error", None, None, "504")
        metrics = srv.request("GET", "/metrics")[2].decode()
        check("siglip_queue_items 0" in metrics and "siglip_admitted_items 0" in metrics,
              "a withdrawn request left items queued")


FUZZ_SEED = 19


def raw_exchange(port, data, read=True, timeout=3.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return b""
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    except OSError:  # reset, timed out, or closed before our shutdown (the server may answer
        return b""   # early and close): the server's health is checked separately
    finally:
        s.close()


def pipelined(port, data, timeout=2.0):
    """Sends data on one connection without closing our side, and reads answers until the server
    closes the connection or is silent for `timeout`. Returns ([(status, {header: value}, body)],
    closed): the answers in order, and whether the server ended the connection."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    buf, closed = b"", False
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            buf += chunk
    except socket.timeout:
        pass
    except OSError:
        closed = True
    finally:
        s.close()
    answers = []
    while b"\r\n\r\n" in buf:
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        hdrs = {k.strip().lower(): v.strip() for k, _, v in
                (line.partition(":") for line in lines[1:])}
        n = int(hdrs.get("content-length", "0"))
        answers.append((int(lines[0].split()[1]), hdrs, rest[:n]))
        buf = rest[n:]
    return answers, closed


def fuzz_inputs(rng, img):
    """Malformed HTTP and bodies: each an exact byte string for a raw socket."""
    valid = json.dumps({"input": ["a cat", {"image": base64.b64encode(img).decode()}]}).encode()
    req = (b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(valid)) + valid
    fixed = [
        b"", b"\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\xff" * 100,
        b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 100000 + b"\r\n\r\n",
        b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"input\"",
        b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"ffffffffffffffff\r\nab\r\n0\r\n\r\n",
        b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
        b"boundary=XX\r\nContent-Length: 30\r\n\r\n--XX\r\nContent-Disposition: form",
        b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
        b"boundary=\"\r\nContent-Length: 4\r\n\r\n----",
        b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 4000\r\n\r\n" + b"[" * 4000,
    ]
    out = list(fixed)
    for _ in range(150):
        kind = rng.randrange(4)
        if kind == 0:  # random bytes
            out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))))
        elif kind == 1:  # a valid request with bytes flipped anywhere (headers or body)
            b = bytearray(req)
            for _ in range(rng.randrange(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            out.append(bytes(b))
        elif kind == 2:  # a valid request cut short
            out.append(req[:rng.randrange(len(req))])
        else:  # a body mutated inside consistent headers (the JSON and image parsers see it)
            body = bytearray(valid)
            for _ in range(rng.randrange(1, 20)):
                body[rng.randrange(len(body))] = rng.choice(b"{}[]\",:\\0aZ=+/ \x00\xff")
            out.append(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + bytes(body))
    return out


def case_fuzz(exe):
    """Malformed HTTP and bodies on raw sockets never crash it: it keeps serving correctly."""
    with open(os.path.join(IMAGES, "rgb_40x40.png"), "rb") as f:
        img = f.read()
    rng = random.Random(FUZZ_SEED)
    ref_text, _ = embed_reference(exe, ["after fuzz"], [])
    with Server(exe, TINY, "--idle-timeout", "2", "--timeout-ms", "5000") as srv:
        inputs = fuzz_inputs(rng, img)
        answered = 0
        for data in inputs:
            reply = raw_exchange(srv.port, data)
            answered += reply.startswith(b"HTTP/1.")
            if srv.proc.poll() is not None:
                break
        check(srv.proc.poll() is None, "the server died during the fuzz run (after %d inputs)"
              % len(inputs))
        # A connection that sends half a request and stalls is closed by the idle timeout.
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
        t0 = time.monotonic()
        try:
            s.recv(100)
        except (ConnectionError, socket.timeout):
            pass
        stalled = time.monotonic() - t0
        s.close()
        check(stalled < 8, "a stalled upload held its connection %.1f s" % stalled)
        status, _, doc = srv.post("/v1/embeddings", {"input": ["after fuzz"]})
        check(status == 200 and max_diff(doc["data"][0]["embedding"], ref_text[0]) <= SAME,
              "after the fuzz run: %s" % status)
        print("fuzz: %d malformed inputs, %d answered with an HTTP status, server alive"
              % (len(inputs), answered))


def case_drain(exe):
    """SIGTERM with requests waiting in the queue: they are all answered, then it exits 0."""
    texts = ["drain %d" % i for i in range(6)]
    ref_text, _ = embed_reference(exe, texts, [])
    srv = Server(exe, TINY, "--max-wait-ms", "3000", "--max-batch", "64")
    jobs = [("/v1/embeddings", {"input": [t]}) for t in texts]
    results = []
    runner = threading.Thread(target=lambda: results.extend(run_clients(srv, jobs, len(jobs))))
    runner.start()
    # Until all six are admitted and waiting for the 3 s batch window (or 2 s passed).
    for _ in range(40):
        metrics = srv.request("GET", "/metrics")[2].decode()
        if "siglip_queue_items 6" in metrics:
            break
        time.sleep(0.05)
    check("siglip_queue_items 6" in metrics, "the six requests were not all queued at SIGTERM")
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    try:  # new connections are refused once draining starts
        refused = srv.request("GET", "/health", timeout=5)[0] == 503
    except (ConnectionError, OSError):
        refused = True
    runner.join()
    rc = srv.stop()
    check(refused, "a new request was served after SIGTERM")
    check(rc == 0, "exit status %s after SIGTERM" % rc)
    codes = [r[0] for r in results]
    check(codes == [200] * len(jobs), "in-flight requests after SIGTERM: %s" % codes)
    worst = max((max_diff(r[2]["data"][0]["embedding"], ref_text[i])
                 for i, r in enumerate(results) if r[0] == 200), default=0.0)
    check(worst <= SAME, "drained answers differ by %.3g" % worst)
    check(any("finishing the requests in flight" in line for line in srv.log), "drain message")


def is_closed(sock):
    """Whether the server has closed (or reset) this connection: end of stream is readable."""
    sock.setblocking(False)
    try:
        return sock.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def latency_p99(times):
    """Nearest-rank 99th percentile."""
    ordered = sorted(times)
    return ordered[max(0, -(-99 * len(ordered) // 100) - 1)]


def case_slow(exe):
    """Slow clients (issue 32, item 1). With default flags, 300 sockets trickling their request
    heads a byte a second must not delay 100 normal requests (p99 <= 1 s, the issue's bound) and
    are all closed by the head deadline (--header-timeout, 10 s by default); with short deadlines,
    a trickled head, a trickled body and an idle kept-alive connection are each closed on time."""
    ref_text, _ = embed_reference(exe, ["normal client"], [])
    with Server(exe, TINY) as srv:
        slow = []
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(s)
        opened = time.monotonic()
        stop = threading.Event()

        def trickle():
            while not stop.wait(1.0):
                for s in slow:
                    try:
                        s.send(b"a")
                    except OSError:
                        pass
        trickler = threading.Thread(target=trickle)
        trickler.start()
        times, codes, worst = [], [], [0.0]
        lock = threading.Lock()

        def client():  # spread over about 5 s, while the sockets trickle
            for _ in range(25):
                time.sleep(0.2)
                t0 = time.monotonic()
                try:  # a short timeout keeps the test bounded where clients are starved
                    status, _, body = srv.request("POST", "/v1/embeddings",
                                                  {"input": ["normal client"]}, timeout=5)
                    doc = json.loads(body) if status == 200 else None
                except (OSError, http.client.HTTPException):
                    status, doc = 0, None
                with lock:
                    times.append(time.monotonic() - t0)
                    codes.append(status)
                    if status == 200:
                        worst[0] = max(worst[0], max_diff(doc["data"][0]["embedding"], ref_text[0]))
        clients = [threading.Thread(target=client) for _ in range(4)]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        served_by = time.monotonic() - opened
        p99 = latency_p99(times)
        print("slow: 100 requests beside 300 trickling sockets: p50 %.3f s, p99 %.3f s, max %.3f s"
              " (all within %.1f s of the sockets opening)"
              % (sorted(times)[50], p99, max(times), served_by))
        check(codes == [200] * 100, "normal requests beside trickling sockets: %s"
              % sorted(set(codes)))
        check(worst[0] <= SAME, "answers beside trickling sockets differ by %.3g" % worst[0])
        check(served_by < 9, "the normal requests took until %.1f s, past the head deadline: "
              "the test no longer shows them served while the sockets trickle" % served_by)
        check(p99 <= 1.0, "p99 latency %.3f s beside 300 trickling sockets (limit 1 s)" % p99)
        # All 300 are closed by the 10 s head deadline although each sends a byte a second.
        open_at_8 = None
        while time.monotonic() - opened < 16:
            if open_at_8 is None and time.monotonic() - opened >= 8:
                open_at_8 = sum(not is_closed(s) for s in slow)
            if all(is_closed(s) for s in slow):
                break
            time.sleep(0.5)
        closed_by = time.monotonic() - opened
        still_open = sum(not is_closed(s) for s in slow)
        stop.set()
        trickler.join()
        for s in slow:
            s.close()
        print("slow: trickling sockets closed after %.1f s (%d still open at 8 s, %d at the end)"
              % (closed_by, open_at_8 or 0, still_open))
        check(still_open == 0, "%d of 300 trickling sockets still open after %.1f s"
              % (still_open, closed_by))
        check(open_at_8 == 300, "only %s of 300 trickling sockets open at 8 s, before the 10 s "
              "head deadline" % open_at_8)
        check(srv.post("/v1/embeddings", {"input": ["normal client"]})[0] == 200, "after")

    with Server(exe, TINY, "--header-timeout", "2", "--timeout-ms", "3000") as srv:
        def timed_close(sock, step, what, earliest, latest):
            t0 = time.monotonic()
            while time.monotonic() - t0 < latest + 2:
                if is_closed(sock):
                    break
                sock.setblocking(True)
                try:
                    step(sock)
                except OSError:
                    break
                time.sleep(0.25)
            took = time.monotonic() - t0
            sock.close()
            print("slow: %s closed after %.2f s (deadline %.0f s)" % (what, took, earliest))
            check(earliest - 0.3 <= took <= latest, "%s closed after %.2f s, expected %.1f-%.1f s"
                  % (what, took, earliest, latest))

        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        timed_close(s, lambda k: k.send(b"a"), "a trickled head", 2, 3.5)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        timed_close(s, lambda k: k.send(b" "), "a trickled body", 3, 4.5)
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        conn.request("GET", "/health")
        r = conn.getresponse()
        r.read()
        check(r.status == 200 and not r.will_close, "keep-alive /health: %d" % r.status)
        timed_close(conn.sock, lambda k: None, "an idle kept-alive connection", 2, 3.5)
        check(srv.post("/v1/embeddings", {"input": ["normal client"]})[0] == 200, "after")


def case_framing(exe):
    """HTTP/1.1 message framing (RFC 9112 §3.2, §6; issue 32, item 4): two Content-Lengths, both
    Content-Length and Transfer-Encoding, transfer codings other than chunked, and a missing Host
    are refused before the body is used; the well-framed forms of the same request succeed."""
    body = b'{"input": ["a"]}'
    n = len(body)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (n, body)
    head = b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n"
    cases = [
        (head + b"Content-Length: %d\r\nContent-Length: 3\r\n\r\n" % n + body, 400,
         "more than one Content-Length"),
        (head + b"Content-Length: 3\r\nContent-Length: %d\r\n\r\n" % n + body, 400,
         "more than one Content-Length"),
        (head + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (n, n) + body, 400,
         "more than one Content-Length"),
        (head + b"Content-Length: %d, %d\r\n\r\n" % (n, n) + body, 400, ""),
        (head + b"Content-Length: +%d\r\n\r\n" % n + body, 400, ""),
        (head + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked, 400,
         "both Transfer-Encoding and Content-Length"),
        (head + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + chunked, 400,
         "both Transfer-Encoding and Content-Length"),
        (head + b"Transfer-Encoding: gzip\r\n\r\n" + body, 501, "chunked"),
        (head + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked, 501, "chunked"),
        (head + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
         400, "more than one Transfer-Encoding"),
        (b"POST /v1/embeddings HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked, 400,
         "HTTP/1.0"),
        (b"POST /v1/embeddings HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % n + body, 400,
         "Host"),
        (head + b"Host: y\r\nContent-Length: %d\r\n\r\n" % n + body, 400, "Host"),
        (head + b"Content-Length: %d\r\n\r\n" % n + body, 200, ""),
        (head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked, 200, ""),
        (head + b"Transfer-Encoding: Chunked\r\n\r\n" + chunked, 200, ""),
        (b"POST /v1/embeddings HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % n + body, 200, ""),
    ]
    with Server(exe, TINY) as srv:
        for data, status, reason in cases:
            reply = raw_exchange(srv.port, data)
            head_end = reply.find(b"\r\n\r\n")
            lines = reply[:head_end].decode("latin-1").split("\r\n")
            got = int(lines[0].split()[1]) if lines[0].startswith("HTTP/1.") else 0
            text = reply[head_end + 4:].decode("utf-8", "replace")
            closes = any(h.lower() == "connection: close" for h in lines[1:])
            check(got == status and reason in text and (status == 200 or closes),
                  "%r: %d (close %s) %r, expected %d mentioning %r"
                  % (data[:90], got, closes, text[:120], status, reason))
        # Whitespace (or another non-token byte) in a field name (RFC 9112 §5.1). libmicrohttpd
        # keeps "Content-Length " as a name of its own, so without the check the body was not
        # framed by it and was answered as a second, pipelined request (400 then 200): exactly
        # one 400 must come back, in OpenAI's error shape, and the connection must close.
        follow = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
        smuggling = [
            head + b"Content-Length : %d\r\n\r\n" % len(follow) + follow,
            head + b"Content-Length\t: %d\r\n\r\n" % len(follow) + follow,
            head + b"Transfer-Encoding : chunked\r\n\r\n" + follow,
            b"GET /health HTTP/1.1\r\nHost : x\r\n\r\n" + follow,
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-A(B): 1\r\n\r\n" + follow,
        ]
        for data in smuggling:
            answers, closed = pipelined(srv.port, data)
            statuses = [a[0] for a in answers]
            err = json.loads(answers[0][2])["error"] if answers and answers[0][2] else {}
            check(statuses == [400] and closed and "field name" in err.get("message", ""),
                  "%r: answers %s, closed %s, %r (expected one 400 and the connection closed)"
                  % (data[:70], statuses, closed, err))
        # An error answered from a request head without a body (404, 405, an empty POST) keeps
        # the connection open: the pipelined request after it is answered (they used to close
        # it, as if a body were left unread).
        answers, closed = pipelined(srv.port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                                    b"GET /v1/embeddings HTTP/1.1\r\nHost: x\r\n\r\n"
                                    + head + b"Content-Length: 0\r\n\r\n"
                                    b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        check([a[0] for a in answers] == [404, 405, 400, 200] and not closed and
              not any(a[1].get("connection") == "close" for a in answers),
              "pipelined 404, 405, 400, 200: %s, closed %s" % ([a[:2] for a in answers], closed))
        check(srv.post("/v1/embeddings", {"input": ["a"]})[0] == 200, "still serving")
    print("framing: %d requests answered as RFC 9112 says" % len(cases))


def padded(doc, size):
    """A JSON body of exactly size bytes: doc followed by spaces (JSON allows them)."""
    body = json.dumps(doc).encode()
    return body + b" " * (size - len(body))


def case_budget(exe):
    """--max-body-total: request bodies held by all connections together are bounded. A declared
    body that does not fit beside those held now gets 503 + Retry-After at once, before it is
    read, and the connection closes; a chunked body is counted as it grows (503 once it passes);
    the bytes are given back when a request ends. Before, each of --max-connections connections
    could hold --max-body (16 sockets sending 31 MiB bodies took 660 MB)."""
    head = b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    rc, _, err = cli.run(exe, ["serve", "-m", TINY, "--max-body", "100000",
                               "--max-body-total", "99999"])
    check(rc == 2 and "--max-body-total" in err and len(err.splitlines()) == 1,
          "--max-body-total below --max-body: %d %r" % (rc, err))
    rc, _, err = cli.run(exe, ["serve", "-m", TINY, "--max-body-total", "12k"])
    check(rc == 2 and "--max-body-total" in err, "--max-body-total 12k: %d %r" % (rc, err))
    with Server(exe, TINY, "--max-body", "100000", "--max-body-total", "150000") as srv:
        # A holds 100000 bytes: its head is in, its body only begun.
        a = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        body_a = padded({"input": ["held"]}, 100000)
        a.sendall(head + b"Content-Length: 100000\r\n\r\n" + body_a[:1000])
        time.sleep(0.3)
        # 60000 more would pass 150000: 503 before the body is sent, and the connection closes.
        answers, closed = pipelined(srv.port, head + b"Content-Length: 60000\r\n\r\n")
        err = json.loads(answers[0][2])["error"] if answers else {}
        check([x[0] for x in answers] == [503] and closed and
              answers[0][1].get("retry-after") == "1" and
              "--max-body-total" in err.get("message", "") and err.get("type") == "server_error",
              "a body past the budget: %s, closed %s, %r" % ([x[:2] for x in answers], closed,
                                                            err))
        # 40000 fits beside A's 100000.
        status, _, doc = srv.request("POST", "/v1/embeddings", padded({"input": ["fits"]}, 40000),
                                     {"Content-Type": "application/json"})
        check(status == 200, "a body within the budget: %d" % status)
        # A chunked body is counted as it grows: 60000 bytes pass the budget while A is held.
        status, hdrs, resp = chunked_post(srv.port, "/v1/embeddings",
                                          padded({"input": ["chunked"]}, 60000), {})
        check(status == 503 and hdrs.get("Retry-After") == "1" and b"--max-body-total" in resp,
              "a chunked body past the budget: %d %r" % (status, resp[:200]))
        # A ends: its bytes come back, and the 60000-byte bodies are taken.
        a.sendall(body_a[1000:])
        a.settimeout(30)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = a.recv(65536)
            if not chunk:
                break
            reply += chunk
        a.close()
        check(reply.startswith(b"HTTP/1.1 200"), "the held request: %r" % reply[:100])
        status, _, _ = srv.request("POST", "/v1/embeddings", padded({"input": ["after"]}, 60000),
                                   {"Content-Type": "application/json"})
        check(status == 200, "a 60000-byte body once A ended: %d" % status)
        status, _, _ = chunked_post(srv.port, "/v1/embeddings",
                                    padded({"input": ["chunked"]}, 60000), {})
        check(status == 200, "a 60000-byte chunked body once A ended: %d" % status)
        # Many at once within the budget: each is given back (none leaks).
        results = run_clients(srv, [("/v1/embeddings", {"input": ["x" * 30000]})] * 12, 4)
        check(all(r[0] in (200, 503) for r in results), "concurrent bodies: %s"
              % [r[0] for r in results])
        status, _, _ = srv.request("POST", "/v1/embeddings", padded({"input": ["last"]}, 100000),
                                   {"Content-Type": "application/json"})
        check(status == 200, "a body of --max-body after them all: %d" % status)


def search_reference(exe, db, query, k, image=False):
    """`siglip search --json` of one query: its [{path, score, cosine}]."""
    args = ["search", db, "--json", "--top", str(k)] + cli.device_args()
    args += ["--image", query] if image else [query]
    out = cli.run_ok(exe, args, "search")
    return json.loads(out)[0]["results"]


def compare_search(what, got, ref):
    """Same paths in the same order; scores and cosines within SAME."""
    check(isinstance(got, list) and [h["path"] for h in got] == [h["path"] for h in ref],
          "%s: paths %s, `siglip search` %s" % (what, [h.get("path") for h in got or []],
                                                [h["path"] for h in ref]))
    worst = max((abs(g[f] - r[f]) for g, r in zip(got or [], ref) for f in ("score", "cosine")),
                default=0.0)
    check(worst <= SAME, "%s: scores differ from `siglip search` by %.3g" % (what, worst))
    return worst


def case_search(exe):
    """--index: POST /v1/search equals `siglip search --json` (texts and an image, both engines,
    top_k past the index's size), concurrent searches each get their own answer, bad requests
    fail alone, and an index of another model is a start-up error."""
    paths = sorted(os.path.join(IMAGES, n) for n in os.listdir(IMAGES))
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "photos.sqlite")
        cli.run_ok(exe, ["index", "-m", TINY, "-o", db, IMAGES] + cli.device_args(), "index")
        texts = ["a photo of a cat", "red", "two dogs on a beach"]
        refs = {(t, k): search_reference(exe, db, t, k) for t in texts for k in (3, 100)}
        image_ref = search_reference(exe, db, paths[4], 5, image=True)
        worst = 0.0
        for engine in ("host", "device"):
            with Server(exe, TINY, "--index", db, "--engine", engine) as srv:
                for (t, k), ref in refs.items():
                    status, _, got = srv.post("/v1/search", {"query": t, "top_k": k})
                    check(status == 200, "%s: status %d %s" % (t, status, got))
                    worst = max(worst, compare_search("%s engine, %r top %d" % (engine, t, k),
                                                      got, ref))
                status, _, got = srv.post("/v1/search", {"query": {"image": b64(paths[4])},
                                                         "top_k": 5})
                worst = max(worst, compare_search("%s engine, image query" % engine, got,
                                                  image_ref))
                check(got and got[0]["path"] == paths[4], "an image finds itself first")
                # A real client: curl, default top_k 10.
                code, body = srv.curl(srv.url("/v1/search"), "-d", '{"query": "red"}')
                check(code == 200 and [h["path"] for h in json.loads(body)] ==
                      [h["path"] for h in refs[("red", 100)][:10]], "curl: %d %s" % (code, body))
                # Concurrent searches, each its own query.
                jobs = [("/v1/search", {"query": texts[i % 3], "top_k": 3}) for i in range(12)]
                results = run_clients(srv, jobs, 6)
                check(all(r[0] == 200 and [h["path"] for h in r[2]] ==
                          [h["path"] for h in refs[(texts[i % 3], 3)]]
                          for i, r in enumerate(results)), "concurrent searches: %s"
                      % [r[0] for r in results])
                # Bad requests fail alone.
                for doc, words in (({"query": 3}, "query must be"),
                                   ({"query": "x", "top_k": 0}, "top_k"),
                                   ({"query": {"image": "!!"}}, "base64"),
                                   ({"query": {"image": base64.b64encode(b"junk").decode()}},
                                    "query.image"),
                                   ({"top_k": 3}, "\"query\" is required"),
                                   ({"query": "x", "extra": 1}, "unknown field")):
                    status, _, got = srv.post("/v1/search", doc)
                    msg = (got or {}).get("error", {}).get("message", "")
                    check(status == 400 and words in msg, "%s: %d %s" % (doc, status, msg))
                status, _, _ = srv.request("GET", "/v1/search")
                check(status == 405, "GET /v1/search: %d" % status)
                # Mutated bodies (bytes flipped, cut, spliced): each is answered 200 or 400.
                rng = random.Random(20)
                valid = json.dumps({"query": {"image": b64(paths[1])}, "top_k": 4}).encode()
                codes = set()
                for i in range(40):
                    body = bytearray(valid)
                    if i % 3 == 0:
                        body = body[:rng.randrange(len(body))]
                    for _ in range(rng.randrange(1, 6)):
                        body[rng.randrange(len(body))] = rng.randrange(256)
                    status, _, _ = srv.request("POST", "/v1/search", bytes(body),
                                               {"Content-Type": "application/json"})
                    codes.add(status)
                check(codes <= {200, 400}, "mutated search bodies: statuses %s" % codes)
                status, _, got = srv.post("/v1/search", {"query": "red", "top_k": 1})
                check(status == 200 and len(got) == 1, "still serving after bad requests")
                check(any("/v1/search over %d images" % len(paths) in line and engine in line
                          for line in srv.log), "start-up line: %s" % srv.log)
        print("/v1/search vs siglip search: max |score or cosine diff| %.3g (tolerance %g)"
              % (worst, SAME))
        with Server(exe, TINY) as srv:
            status, _, got = srv.post("/v1/search", {"query": "red"})
            check(status == 404 and "--index" in got["error"]["message"],
                  "no --index: %d %s" % (status, got))
        # An index of f32 embeddings and a model served in another precision: refused.
        p = subprocess.run([exe, "serve", "-m", TINY, "--port", "0", "--index", db,
                            "--precision", "q8"] + cli.device_args(), capture_output=True,
                           timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        check(p.returncode == 1 and "--precision f32" in err and "listening" not in err,
              "--index of f32 embeddings, --precision q8: exit %d, %s" % (p.returncode, err))
        # An index of another model, or no index at all: the server does not start.
        other = os.path.join(tmp, "other.sqlite")
        cli.run_ok(exe, ["index", "-m", SIGLIP2, "-o", other, IMAGES] + cli.device_args(),
                   "index")
        for bad, words in ((other, "siglip2"), (os.path.join(tmp, "none.sqlite"), "none")):
            p = subprocess.run([exe, "serve", "-m", TINY, "--port", "0", "--index", bad]
                               + cli.device_args(), capture_output=True, timeout=60)
            err = p.stderr.decode("utf-8", "replace")
            check(p.returncode == 1 and words in err and "listening" not in err,
                  "--index %s: exit %d, %s" % (bad, p.returncode, err))


def case_precision(exe):
    """--precision bf16 / q8: the served embeddings are `siglip embed --precision P`'s (the same
    kernels), and differ from f32's (the weights were stored in P)."""
    cases, _, _ = cli.fixture("public")
    texts, paths = cases["public.texts"][:2], cli.image_paths(cases, "public")[:2]
    f32_text, _ = embed_reference(exe, texts, [])
    for precision in ("bf16", "q8"):
        ref_text, ref_image = embed_reference(exe, texts, paths, ["--precision", precision])
        with Server(exe, TINY, "--precision", precision) as srv:
            inputs = texts + [{"image": b64(p)} for p in paths]
            status, _, doc = srv.post("/v1/embeddings", {"input": inputs})
            check(status == 200, "%s embeddings: %s %s" % (precision, status, doc))
            data = sorted(doc["data"], key=lambda d: d["index"])
            got = [d["embedding"] for d in data]
            compare_rows(precision + " texts", got[:len(texts)], ref_text, SAME)
            compare_rows(precision + " images", got[len(texts):], ref_image, SAME)
            diff = max(max_diff(g, r) for g, r in zip(got[:len(texts)], f32_text))
            check(diff > 0, "%s embeddings equal f32's: the precision was not applied" % precision)


def case_naflex(exe):
    """SigLIP 2 NaFlex models served (data/siglip2-naflex, siglip2-naflex-cls): images of
    different aspect ratios as patch lists, batched across concurrent requests, against `siglip
    embed` / `siglip classify` (the same library); the classifier's own classes; --immich
    refused (Immich crops to a fixed size)."""
    naflex = os.path.join(cli.DATA, "siglip2-naflex")
    with open(os.path.join(naflex, "cases.json"), encoding="utf-8") as f:
        made = set(json.load(f)["made_images"])
    names = ["rgb_97x61.png", "tall_1x64.png", "rgb_640x480.png", "small_5x3.png",
             "strip_300x9.png"]
    paths = [os.path.join(naflex, "images", n) if n in made else os.path.join(IMAGES, n)
             for n in names]
    texts = ["a photo of a cat", "ΟΔΟΣ"]
    ref_text, ref_image = embed_reference(exe, texts, paths, model=naflex)
    with Server(exe, naflex) as srv:
        inputs = texts + [{"image": b64(p)} for p in paths]
        status, _, doc = srv.post("/v1/embeddings", {"input": inputs})
        check(status == 200, "naflex embeddings: %s %s" % (status, str(doc)[:200]))
        data = sorted(doc.get("data", []), key=lambda d: d["index"])
        compare_rows("naflex texts", [d["embedding"] for d in data[:2]], ref_text, SAME)
        compare_rows("naflex images", [d["embedding"] for d in data[2:]], ref_image, SAME)
        # one image per request, all at once: the worker batches their patch lists together
        got = [None] * len(paths)

        def one(i):
            st, _, d = srv.post("/v1/embeddings", {"input": [{"image": b64(paths[i])}]})
            got[i] = d["data"][0]["embedding"] if st == 200 else []
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        compare_rows("naflex images, concurrent requests", got, ref_image, SAME)
    cls = os.path.join(cli.DATA, "siglip2-naflex-cls")
    ref = classify_reference(exe, cls, [], paths[:3])
    with Server(exe, cls) as srv:
        status, _, docs = srv.post("/v1/classify", {"image": [b64(p) for p in paths[:3]]})
        check(status == 200 and [[d["label"] for d in x] for x in docs] ==
              [[d["label"] for d in r["results"]] for r in ref], "naflex-cls labels: %s" % docs)
        worst = max((abs(a["score"] - b["score"]) for x, r in zip(docs, ref)
                     for a, b in zip(x, r["results"])), default=1.0)
        check(worst <= SAME, "naflex-cls vs siglip classify %.3g" % worst)
    rc, _, err = cli.run(exe, ["serve", "-m", naflex, "--immich", "--port", "0"]
                         + cli.device_args())
    check(rc == 1 and "NaFlex" in err and len(err.splitlines()) == 1,
          "--immich with a NaFlex model: %d %r" % (rc, err))
    with tempfile.TemporaryDirectory() as tmp:
        # no processor config: Siglip2's defaults at the model's patch size, as the model's own
        bare = os.path.join(tmp, "bare")
        shutil.copytree(naflex, bare)
        os.remove(os.path.join(bare, "preprocessor_config.json"))
        _, ref_bare = embed_reference(exe, [], paths[:2], model=bare)
        with Server(exe, bare) as srv:
            status, _, doc = srv.post("/v1/embeddings",
                                      {"input": [{"image": b64(p)} for p in paths[:2]]})
            got = [d["embedding"] for d in sorted(doc.get("data", []), key=lambda d: d["index"])]
            compare_rows("naflex without a processor config", got, ref_bare, SAME)
        # a processor config without patch_size (16 by default) on a patch-8 model: the service's
        # own processors would make 768-value rows for 192-value slots; refused at start
        with open(os.path.join(naflex, "preprocessor_config.json"), encoding="utf-8") as f:
            pcfg = json.load(f)
        del pcfg["patch_size"]
        with open(os.path.join(bare, "preprocessor_config.json"), "w", encoding="utf-8") as f:
            json.dump(pcfg, f)
        rc, _, err = cli.run(exe, ["serve", "-m", bare, "--port", "0"] + cli.device_args())
        check(rc == 1 and "name patch_size 8" in err, "processor patch size: %d %r" % (rc, err))


CASES = cli.cases(case_embeddings, case_precision, case_classify, case_errors, case_concurrent,
                  case_overload, case_fuzz, case_drain, case_slow, case_framing, case_search,
                  case_budget, case_naflex)


if __name__ == "__main__":
    sys.exit(cli.run_main("serve", CASES))
