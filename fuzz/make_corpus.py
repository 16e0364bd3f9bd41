#!/usr/bin/env python3
"""make_corpus.py — (re)writes the seed corpora in fuzz/corpus/<target>/ from the test fixtures.

Run with Debian's /usr/bin/python3 (needs the sentencepiece module) from the source root:
    /usr/bin/python3 fuzz/make_corpus.py
The safetensors seeds are written by hand here (format: 8-byte little-endian header length,
JSON header, data), independently of the library's writer."""
import io
import json
import os
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def copy(target, rel, name=None):
    with open(os.path.join(DATA, rel), "rb") as f:
        put(target, name or os.path.basename(rel), f.read())


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, raw bytes)] laid out in order."""
    header, blob = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def seeds_safetensors():
    f32 = struct.pack("<6f", 1, -2, 0.5, 3e38, -0.0, 1e-40)
    f16 = struct.pack("<4H", 0x3C00, 0x7C00, 0xFC00, 0x0001)  # 1, inf, -inf, subnormal
    bf16 = struct.pack("<3H", 0x3F80, 0x7FC0, 0x8000)          # 1, nan, -0
    f64 = struct.pack("<2d", 1e300, -1.5)
    put("safetensors", "dtypes.safetensors", safetensors([
        ("f32", "F32", [2, 3], f32), ("f16", "F16", [4], f16), ("bf16", "BF16", [3], bf16),
        ("f64", "F64", [2], f64), ("i64", "I64", [1], struct.pack("<q", -7)),
        ("i32", "I32", [], struct.pack("<i", 5)), ("u8", "U8", [2], b"\x01\x02"),
        ("b", "BOOL", [1], b"\x01"), ("i8", "I8", [1], b"\xff"), ("i16", "I16", [1], b"\x00\x80"),
    ], {"format": "pt"}))
    put("safetensors", "empty_tensor.safetensors", safetensors([("e", "F32", [0, 4], b"")]))
    put("safetensors", "no_tensors.safetensors", safetensors([], {"k": "v"}))
    put("safetensors", "weights.safetensors", safetensors([
        ("text_model.embeddings.token_embedding.weight", "BF16", [4, 2], b"\x80\x3f" * 8),
        ("vision_model.post_layernorm.bias", "F32", [2], struct.pack("<2f", 0.1, 0.2))]))


def seeds_index():
    put("safetensors_index", "index.json", json.dumps({
        "metadata": {"total_size": 56},
        "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                       "c": "model-00002-of-00002.safetensors", "d": "model-00002-of-00002.safetensors"}},
        indent=2))
    put("safetensors_index", "one_shard.json",
        json.dumps({"weight_map": {"c": "model-00002-of-00002.safetensors"}}))


def seeds_config():
    copy("config", "tiny/config.json", "tiny.json")
    copy("config", "tiny-cls/config.json", "tiny-cls.json")
    copy("config", "medium-config.json", "medium.json")
    put("config", "minimal.json", '{"model_type": "siglip", "text_config": {}, "vision_config": {}}')


def seeds_image_settings():
    copy("image_settings", "tiny/processor_config.json", "processor_config.json")
    put("image_settings", "preprocessor_config.json", json.dumps({
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": 0.5,
        "image_std": [0.5, 0.5, 0.5], "resample": 3, "rescale_factor": 1 / 255, "size": 384}))


def seeds_image():
    # one or more small files of every format and EXIF orientation (all < 4 KB)
    for name in sorted(os.listdir(os.path.join(DATA, "images-extra", "in"))):
        path = os.path.join(DATA, "images-extra", "in", name)
        if os.path.getsize(path) <= 4096 and not name.startswith("bad_empty"):
            copy("image", os.path.join("images-extra", "in", name))
    for name in ["baseline_80x60.jpg", "progressive_64x64.jpg", "palette_30x30.png", "rgb_33x17.bmp"]:
        copy("image", os.path.join("images", name))
    # the bare EXIF block (APP1 payload: "Exif\0\0" + TIFF) of a rotated JPEG, for the EXIF reader
    with open(os.path.join(DATA, "images-extra", "in", "exif_6.jpg"), "rb") as f:
        jpg = f.read()
    at = jpg.index(b"Exif\0\0")
    (length,) = struct.unpack(">H", jpg[at - 2:at])
    put("image", "exif_block.bin", jpg[at:at - 2 + length])


def tiny_spiece_model():
    """A small unigram model with byte fallback and a user-defined piece, identity normalization."""
    import sentencepiece as spm
    text = ["a photo of a cat", "a photo of a dog", "two cats on a sofa", "hello world",
            "the quick brown fox jumps over the lazy dog", "été über naïve café"] * 20
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text), model_writer=buf, vocab_size=300,
                                   model_type="unigram", byte_fallback=True,
                                   normalization_rule_name="identity", user_defined_symbols=["<x>"],
                                   pad_id=3, minloglevel=2)
    return buf.getvalue()


def seeds_spiece():
    copy("spiece", "tiny/spiece.model", "tiny.model")
    copy("spiece", "siglip2/tokenizer.model", "gemma_bpe.model")
    put("spiece", "byte_fallback.model", tiny_spiece_model())


def seeds_tokenizer_json():
    vocab = {"<unk>": 0, "a": 1, "b": 2, "ab": 3, "<0x41>": 4, "\u2581": 5, "\u2581a": 6}
    put("tokenizer_json", "bpe.json", json.dumps({
        "added_tokens": [{"id": 7, "content": "<eos>", "special": True}],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": True},
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": True, "byte_fallback": True,
                  "vocab": vocab, "merges": ["a b", ["\u2581", "a"]]}}))
    put("tokenizer_json", "unigram.json", json.dumps({
        "normalizer": {"type": "NFC"},
        "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": False,
                  "vocab": [["<unk>", 0.0], ["a", -1.0], ["b", -2.0], ["ab", -1.5]]}}))


def seeds_tokenizer():
    cases = json.load(open(os.path.join(DATA, "tokenizer", "cases.json"), encoding="utf-8"))
    picked = cases["siglip"][::15]
    for i, case in enumerate(picked):
        put("tokenizer", "text%02d" % i, bytes([i * 7 % 80]) + case["text"].encode("utf-8"))
    for i, case in enumerate(cases["invalid_utf8"][::3]):
        put("tokenizer", "bytes%02d" % i, bytes([63]) + bytes.fromhex(case["hex"]))


def seeds_tokenizer_config():
    copy("tokenizer_config", "tiny/tokenizer_config.json", "tiny.json")
    put("tokenizer_config", "added.json", json.dumps({
        "added_tokens_decoder": {"1": {"content": "</s>", "special": True},
                                 "2": {"content": "<unk>", "special": True},
                                 "32000": {"content": "[MASK]", "special": False}},
        "additional_special_tokens": ["<extra_id_0>", {"content": "<s>"}],
        "do_lower_case": False, "eos_token": {"content": "</s>"}, "pad_token": "<pad>",
        "unk_token": "<unk>", "model_max_length": 1000000000000000019884624838656}))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for make in (seeds_safetensors, seeds_index, seeds_config, seeds_image_settings, seeds_image,
                 seeds_spiece, seeds_tokenizer, seeds_tokenizer_config, seeds_tokenizer_json):
        make()
    return 0


if __name__ == "__main__":
    sys.exit(main())
