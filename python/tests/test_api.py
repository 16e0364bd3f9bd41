"""test_api.py — the siglip package against transformers' fixtures (tests/data/tiny*): tokenizer,
processor on every image input kind, model outputs and their shapes, the pipelines, errors, no-copy
inputs, concurrent use. Expected values: tiny-expected.safetensors and tiny-cases.json, written by
transformers 5.17 (tests/data/FIXTURES.md), never by this code."""
import ctypes
import os
import sys
import threading

import numpy as np
import pytest

import siglip
from conftest import DATA, IMAGES, TINY, TINY_CLS, assert_close, cli, load_kwargs, read_safetensors


# ---- tokenizer and processor ----

def test_tokenizer_ids_match_transformers(tiny):
    tok = siglip.SiglipTokenizer.from_pretrained(TINY)  # host only: no device needed
    enc = tok(tiny.texts)
    assert enc["input_ids"].dtype == np.int32 and enc.input_ids.shape == (len(tiny.texts), 64)
    np.testing.assert_array_equal(enc["input_ids"], tiny["input_ids"])
    np.testing.assert_array_equal(enc["attention_mask"], tiny["attention_mask"])
    # Unpadded encode: the fixture's bare tokenizer call; decode gives the normalized text back.
    assert tok.encode(tiny.texts[0]) == tiny.cases["public.bare_call_ids"][0]
    assert tok.decode(tok.encode("a photo of 2 cats")) == "a photo of 2 cats"
    assert tok("one text", return_tensors=None)["input_ids"][0][-1] == 1  # lists; padded with eos
    with pytest.raises(ValueError, match="max_length"):
        tok("x", padding="longest")


def _pil_images(paths):
    from PIL import Image
    return [Image.open(p) for p in paths]


@pytest.mark.parametrize("kind", ["paths", "bytes", "pil", "numpy", "mixed"])
def test_processor_pixel_values_match_pillow_reference(tiny, kind):
    """Every kind of image input gives the reference pixel_values (transformers' Pillow path)."""
    proc = siglip.SiglipProcessor.from_pretrained(TINY)
    paths = tiny.images
    if kind == "paths":
        images = paths
    elif kind == "bytes":
        images = [open(p, "rb").read() for p in paths]
    elif kind == "pil":
        pytest.importorskip("PIL")
        images = _pil_images(paths)
    elif kind == "numpy":
        pytest.importorskip("PIL")  # to decode the fixture files into arrays
        images = [np.asarray(im.convert("RGB")) for im in _pil_images(paths)]
    else:
        images = [p if i % 2 else open(p, "rb").read() for i, p in enumerate(paths)]
    out = proc(text=tiny.texts[:2], images=images)
    assert set(out) == {"input_ids", "attention_mask", "pixel_values"}
    assert out.pixel_values.dtype == np.float32
    assert_close("pixel_values (%s)" % kind, out.pixel_values,
                 tiny["pixel_values.SiglipImageProcessorPil"], 1e-6)


def test_grayscale_array_is_replicated(tiny):
    """A [H, W] uint8 array is a grayscale image: every channel equals the same values."""
    proc = siglip.SiglipImageProcessor.from_pretrained(TINY)
    gray = (np.arange(50 * 50) % 251).astype(np.uint8).reshape(50, 50)
    pv = proc(gray).pixel_values
    rgb = proc(np.repeat(gray[:, :, None], 3, axis=2)).pixel_values
    np.testing.assert_array_equal(pv, rgb)
    assert proc.size == {"height": 40, "width": 40}


# ---- the model ----

def test_outputs_match_transformers(tiny, tiny_model):
    """input_ids without a mask = the fixture's f32.* forward; texts (mask passed, as the
    processor does) = its f32.masked.logits_per_image."""
    ids = tiny["input_ids"]  # int64 as transformers returns them: converted on the way in
    pv = tiny["pixel_values.SiglipImageProcessorPil"]
    out = tiny_model(input_ids=ids, pixel_values=pv)
    n_text, n_image = len(tiny.texts), len(tiny.images)
    assert out.logits_per_image.shape == (n_image, n_text)
    assert out.logits_per_text.shape == (n_text, n_image)
    assert out.text_embeds.shape == (n_text, 32) and out.image_embeds.shape == (n_image, 32)
    for name in ("logits_per_image", "logits_per_text", "text_embeds", "image_embeds"):
        assert_close(name, out[name], tiny["f32." + name], 1e-4)
    assert_close("text pooler_output", out.text_model_output.pooler_output,
                 tiny["f32.text.pooler_output"], 1e-4)
    assert_close("get_text_features", tiny_model.get_text_features(ids),
                 tiny["f32.text_features"], 1e-4)
    assert_close("get_image_features", tiny_model.get_image_features(pv),
                 tiny["f32.image_features"], 1e-4)
    masked = tiny_model(texts=tiny.texts, images=tiny.images)
    assert_close("masked logits_per_image", masked.logits_per_image,
                 tiny["f32.masked.logits_per_image"], 1e-4)
    hidden = tiny_model(input_ids=ids, pixel_values=pv, output_hidden_states=True)
    assert_close("text last_hidden_state", hidden.text_model_output.last_hidden_state,
                 tiny["f32.text.last_hidden_state"], 1e-4)
    assert_close("vision last_hidden_state", hidden.vision_model_output.last_hidden_state,
                 tiny["f32.vision.last_hidden_state"], 1e-4)
    # One side only: embeddings, no logits.
    only = tiny_model(images=tiny.images[:2])
    assert only.logits_per_image is None and only.image_embeds.shape == (2, 32)


def test_inputs_in_the_library_layout_are_not_copied(tiny_model, tiny):
    """int32 ids and float32 C-contiguous pixel_values reach the library as they are."""
    ids = tiny["input_ids"].astype(np.int32)
    mask = tiny["attention_mask"].astype(np.int32)
    got_ids, got_mask = tiny_model._input_ids(ids, mask, None)
    assert np.shares_memory(got_ids, ids) and np.shares_memory(got_mask, mask)
    pv = tiny["pixel_values.SiglipImageProcessorPil"]  # read-only, straight from the file
    assert np.shares_memory(tiny_model._vision_inputs(pv, None)[1], pv)
    # Anything else is converted (here: int64 ids, a strided view).
    assert not np.shares_memory(tiny_model._input_ids(tiny["input_ids"], None, None)[0],
                                tiny["input_ids"])
    assert not np.shares_memory(tiny_model._vision_inputs(pv[::2], None)[1], pv)


def test_zero_shot_pipeline_matches_transformers(tiny, tiny_model):
    """The fixture's results of transformers' pipeline("zero-shot-image-classification")."""
    classifier = siglip.pipeline("zero-shot-image-classification", model=tiny_model)
    labels = tiny.pipeline["labels"]
    results = classifier(tiny.images, candidate_labels=labels)
    assert len(results) == len(tiny.images)
    for got, ref in zip(results, tiny.pipeline["results"]):
        assert [r["label"] for r in got] == [r["label"] for r in ref]
        assert_close("pipeline scores", [r["score"] for r in got], [r["score"] for r in ref], 1e-5)
        assert all(set(r) == {"score", "label"} for r in got)
    # One image in, one list of dicts out; a directory works as model= too.
    single = siglip.pipeline("zero-shot-image-classification", model=TINY, **load_kwargs())(
        tiny.images[0], candidate_labels=labels)
    assert single == results[0]


def test_image_classification_pipeline(tiny):
    """tiny-cls: softmax of the fixture's float64 logits (transformers), top_k best first."""
    logits = tiny["cls.f64.logits"].astype(np.float64)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    classifier = siglip.pipeline("image-classification", model=TINY_CLS, **load_kwargs())
    results = classifier(tiny.images, top_k=3)
    for got, row in zip(results, probs):
        order = np.argsort(-row)[:3]
        assert [r["label"] for r in got] == ["class_%d" % j for j in order]
        assert_close("classification scores", [r["score"] for r in got], row[order], 1e-5)
    model = classifier.model
    assert_close("cls logits", model(images=tiny.images).logits, logits, 1e-4)



def test_multi_label_classification_pipeline(tiny, tmp_path):
    """problem_type "multi_label_classification": each class scored by sigmoid, as transformers'
    ImageClassificationPipeline.postprocess does (one label too)."""
    import json
    import shutil
    multi = tmp_path / "multi"
    shutil.copytree(TINY_CLS, multi)
    config = json.loads((multi / "config.json").read_text())
    config["problem_type"] = "multi_label_classification"
    (multi / "config.json").write_text(json.dumps(config))
    logits = tiny["cls.f64.logits"].astype(np.float64)
    probs = 1 / (1 + np.exp(-logits))
    classifier = siglip.pipeline("image-classification", model=str(multi), **load_kwargs())
    assert classifier.model.info["class_scoring"] == 0  # SIGLIP_SCORE_SIGMOID
    for got, row in zip(classifier(tiny.images, top_k=2), probs):
        order = np.argsort(-row)[:2]
        assert [r["label"] for r in got] == ["class_%d" % j for j in order]
        assert_close("multi-label scores", [r["score"] for r in got], row[order], 1e-5)


def test_concurrent_calls_on_one_model(tiny_model, tiny):
    """The library wants one thread per context at a time; the package serializes the calls."""
    expected = tiny_model.get_image_features(images=tiny.images)
    results = [None] * 4

    def work(i):
        results[i] = tiny_model.get_image_features(images=tiny.images)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, expected)


# ---- errors ----

def test_errors_carry_status_and_message(tiny_model, tmp_path):
    with pytest.raises(siglip.SiglipError) as e:
        siglip.SiglipModel.from_pretrained(str(tmp_path / "nowhere"), **load_kwargs())
    assert e.value.code == "SIGLIP_ENOENT" and e.value.status == -2
    assert "nowhere" in e.value.message
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(siglip.SiglipError) as e:
        tiny_model.get_image_features(images=[os.path.join(IMAGES, "rgb_40x40.png"), str(bad)])
    assert e.value.code == "SIGLIP_EBADMSG" and "broken.png" in str(e.value)
    with pytest.raises(siglip.SiglipError) as e:  # ids outside the vocabulary
        tiny_model.get_text_features(np.full((1, 64), 5000, np.int32))
    assert e.value.code == "SIGLIP_EINVAL"
    with pytest.raises(siglip.SiglipError) as e:
        siglip.SiglipModel.from_pretrained(TINY, device="no-such-device", cache_dir=None)
    assert e.value.code == "SIGLIP_ENODEV"


@pytest.mark.parametrize("precision", ["bf16", "f16", "q8"])
def test_reduced_precision_matches_the_cli(tiny, tiny_model, precision, tmp_path):
    """from_pretrained(precision=P) gives `siglip embed --precision P`'s embeddings (the same
    library: bit for bit up to float noise) and differs from f32 (the weights were stored in P)."""
    model = siglip.SiglipModel.from_pretrained(TINY, precision=precision, **load_kwargs())
    texts = tiny.texts[:2]
    got = model.get_text_features(texts=texts)
    f32 = tiny_model.get_text_features(texts=texts)
    out = str(tmp_path / "e.safetensors")
    args = ["embed", "-m", TINY, "-o", out, "--precision", precision]
    for t in texts:
        args += ["-t", t]
    cli(*args)
    assert_close(precision + " text_features", got, read_safetensors(out)["text_features"], 1e-6)
    assert np.abs(got - f32).max() > 0


def test_precisions_from_the_library():
    """The accepted precisions are the library's (siglip_precision_name), numbered as siglip.h's
    SiglipPrecision."""
    assert siglip.PRECISIONS == {"f32": 0, "bf16": 1, "f16": 2, "q8": 3}


def test_argument_errors(tiny_model):
    with pytest.raises(ValueError, match="precision 'q4' is not supported.*f32"):
        siglip.SiglipModel.from_pretrained(TINY, precision="q4")
    with pytest.raises(ValueError, match=r"input_ids must be integers \[batch, 64\]"):
        tiny_model.get_text_features(np.zeros((2, 16), np.int32))
    with pytest.raises(ValueError, match=r"pixel_values must be \[batch, 3, 40, 40\]"):
        tiny_model.get_image_features(np.zeros((1, 3, 224, 224), np.float32))
    with pytest.raises(ValueError, match=r"image_embeds must be \[n, 32\]"):
        tiny_model.logits(np.zeros((2, 32), np.float32), np.zeros((2, 16), np.float32))
    with pytest.raises(TypeError, match="an image is a path"):
        tiny_model.get_image_features(images=[3.5])
    with pytest.raises(ValueError, match="SiglipForImageClassification"):
        siglip.SiglipModel.from_pretrained(TINY_CLS, **load_kwargs())
    with pytest.raises(ValueError, match="not supported"):
        siglip.pipeline("text-generation", model=TINY)
    # wrong types and sizes: TypeError / ValueError naming the argument, not an AttributeError
    with pytest.raises(TypeError, match="a text must be a str, got int"):
        tiny_model.tokenizer(5)
    with pytest.raises(TypeError, match="got bytes"):
        tiny_model.tokenizer([b"abc"])
    with pytest.raises(TypeError, match="got NoneType"):
        tiny_model(texts=[None], images=[os.path.join(IMAGES, "rgb_40x40.png")])
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="max_length must be a positive int"):
            tiny_model.tokenizer("x", max_length=bad)
    classifier = siglip.pipeline("zero-shot-image-classification", model=tiny_model)
    image = os.path.join(IMAGES, "rgb_40x40.png")
    with pytest.raises(ValueError, match="top_k must be None or an int"):
        classifier(image, candidate_labels=["a", "b"], top_k=-1)
    assert classifier(image, candidate_labels=["a", "b"], top_k=0) == []
    # a float 0/1 attention mask (torch code often holds one) is the integer mask
    enc = tiny_model.tokenizer(["a photo", "two cats"])
    as_int = tiny_model.get_text_features(enc["input_ids"], enc["attention_mask"])
    as_float = tiny_model.get_text_features(enc["input_ids"],
                                            enc["attention_mask"].astype(np.float32))
    np.testing.assert_array_equal(as_int, as_float)
    with pytest.raises(ValueError, match="attention_mask must be integers"):
        tiny_model.get_text_features(enc["input_ids"], enc["attention_mask"] * 0.5)
    model = siglip.SiglipModel.from_pretrained(TINY, **load_kwargs())
    tokenizer = model.tokenizer
    tokenizer.close()  # borrowed from the model: the model stays usable
    assert model.get_text_features(texts=["still open"]).shape == (1, 32)
    model.close()
    with pytest.raises(ValueError, match="closed"):
        model.get_image_features(images=[os.path.join(IMAGES, "rgb_40x40.png")])
    with pytest.raises(ValueError, match="closed"):
        tokenizer("after close")


def test_empty_batches(tiny_model):
    assert tiny_model.get_text_features(texts=[]).shape == (0, 32)
    assert tiny_model.get_image_features(images=[]).shape == (0, 32)


def test_devices_and_version():
    devices = siglip.devices()
    assert devices and sum(d["selected"] for d in devices) == 1
    assert siglip.library_version.count(".") == 2
    assert os.path.isdir(DATA)


def test_texts_with_nul(tiny_model):
    """U+0000 is a character like any other (issue 32, item 2): texts reach the library with their
    lengths. Expected ids: the real SentencePiece (Debian's python3-sentencepiece) under
    SiglipTokenizer's rules, as tests/data/tokenizer/gen_cases.py writes the committed cases."""
    sys.path.insert(0, os.path.join(DATA, "tokenizer"))
    try:
        import gen_cases
    finally:
        sys.path.pop(0)
    tokenizer = tiny_model.tokenizer
    texts = ["a\0b", "\0", "cat\0 dog\0\0", "\0</s>\0x", "tail after the nul \0 " * 6]
    got = tokenizer(texts)
    for i, text in enumerate(texts):
        ids, mask = gen_cases.padded(text, 64)
        assert got["input_ids"][i].tolist() == ids, repr(text)
        assert got["attention_mask"][i].tolist() == mask, repr(text)
        assert tokenizer.encode(text) == gen_cases.siglip_ids(text), repr(text)
    features = tiny_model.get_text_features(texts=["a\0b", "a"])
    assert np.abs(features[0] - features[1]).max() > 1e-3  # "a\0b" is not cut to "a"


def _proc_status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None


def test_long_text_memory(tiny_model):
    """A 64 MiB text is tokenized from the prefix that decides its 63 kept ids (issue 32, item 3):
    the peak RSS of the call grows by at most 64 MiB (the issue's bound; before, a 30.5 MiB text
    took 1.27 GB), and the row equals what the real SentencePiece gives for the first 600 bytes
    (python3-sentencepiece under SiglipTokenizer's rules, tests/data/tokenizer/gen_cases.py)."""
    sys.path.insert(0, os.path.join(DATA, "tokenizer"))
    try:
        import gen_cases
    finally:
        sys.path.pop(0)
    unit = "A photo of a cat, on the grass! "
    text = (unit * ((64 << 20) // len(unit) + 1))[:64 << 20]
    encoded = text.encode()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the peak (VmHWM) to the current RSS
    except OSError:
        pytest.skip("no /proc/self/clear_refs to reset the peak RSS with")
    before = _proc_status("VmRSS")
    ids = np.empty((1, 64), dtype=np.int32)
    mask = np.empty((1, 64), dtype=np.int32)
    tokenizer = tiny_model.tokenizer
    tokenizer._call(siglip._lib.lib.siglip_tokenize_n, siglip._lib.c_strings([encoded]),
                    siglip._lib.c_lengths([encoded]), 1, 64,
                    siglip._lib.ptr(ids, ctypes.c_int32), siglip._lib.ptr(mask, ctypes.c_int32))
    growth = _proc_status("VmHWM") - before
    print("peak RSS growth tokenizing a 64 MiB text: %.1f MiB" % (growth / 2**20))
    assert growth <= 64 << 20, "peak RSS grew by %.1f MiB" % (growth / 2**20)
    want_ids, want_mask = gen_cases.padded(text[:600], 64)
    assert ids[0].tolist() == want_ids and mask[0].tolist() == want_mask


def test_text_without_cut_refused():
    """A text that would have to be normalized whole past SG_TOKENIZER_WHOLE_MAX (1 MiB) to decide
    its first tokens ("a.a.…": '.' leaves no place to cut, docs/serve-limits.md) is refused with
    SIGLIP_ENOTSUP and a message naming the text and the reason; nothing is returned, and the
    tokenizer stays usable. The same unit over 512 KiB is tokenized, to the real SentencePiece's
    row for its first 600 bytes (gen_cases: the dots are removed, so the kept ids come early)."""
    sys.path.insert(0, os.path.join(DATA, "tokenizer"))
    try:
        import gen_cases
    finally:
        sys.path.pop(0)
    tok = siglip.SiglipTokenizer.from_pretrained(TINY)  # host only
    with pytest.raises(siglip.SiglipError) as e:
        tok(["a photo", "a." * (1 << 20)])
    assert e.value.code == "SIGLIP_ENOTSUP"
    assert "text 1: " in e.value.message and "no place where the tokenizer may split" in \
        e.value.message and "tokenized up to 1.0 MiB" in e.value.message, e.value.message
    text = "a." * (1 << 18)
    got = tok([text])
    want_ids, want_mask = gen_cases.padded(text[:600], 64)
    assert got["input_ids"][0].tolist() == want_ids
    assert got["attention_mask"][0].tolist() == want_mask
