#!/usr/bin/python3
# tokenizer_compare.py — texts per second of Python SentencePiece (Debian's python3-sentencepiece)
# plus transformers' SiglipTokenizer rules (as in tests/data/tokenizer/gen_cases.py) on the captions
# of bench_tokenizer.c, padded to max_length; with --bench-tokenizer it also runs the C benchmark
# so the two figures are printed side by side.
# Usage: /usr/bin/python3 tokenizer_compare.py [model_dir] [--bench-tokenizer EXE] [--seconds S]
import argparse
import json
import os
import re
import string
import subprocess
import time

import sentencepiece as spm

TEMPLATES = [
    "a photo of a %s.", "This is a photo of %s.", "a blurry photo of the %s",
    "A close-up picture of a small %s, taken outdoors on a sunny day!", "an illustration of %s",
    "a bad photo of the %s; low quality, JPEG artifacts", "itap of a %s.", "a sculpture of a %s",
]
LABELS = [
    "cat", "dog", "airplane", "remote control", "golden retriever", "Eiffel Tower", "café",
    "traffic light", "red double-decker bus", "pizza margherita", "mountain bike", "sea turtle",
    "laptop computer", "hot-air balloon", "snowy owl", "Ferris wheel",
]
CAPTIONS = [t % label for t in TEMPLATES for label in LABELS]
UNDERLINE = "\u2581"
PUNCT = str.maketrans("", "", string.punctuation)
SPACES = re.compile(r"\s+")


class SiglipRules:
    """SiglipTokenizer's steps on top of SentencePiece (special tokens </s>, <unk>; eos = pad)."""

    def __init__(self, model_dir, max_length=64):
        blob = open(os.path.join(model_dir, "spiece.model"), "rb").read() + b"\x1a\x02\x18\x00"
        self.sp = spm.SentencePieceProcessor()
        self.sp.LoadFromSerializedProto(blob)  # add_dummy_prefix forced off, as transformers does
        self.unk_len = len(self.sp.encode("<unk>"))
        self.eos = self.sp.piece_to_id("</s>")
        self.unk = self.sp.piece_to_id("<unk>")
        self.split = re.compile("(</s>|<unk>)")
        self.max_length = max_length

    def __call__(self, text):
        ids = []
        for seg in self.split.split(UNDERLINE + text.replace(UNDERLINE, " ")):
            if seg == "</s>" or seg == "<unk>":
                ids.append(self.eos if seg == "</s>" else self.unk)
            elif seg:
                seg = SPACES.sub(" ", seg.lower().translate(PUNCT)).strip()
                pieces = self.sp.encode("<unk>" + seg)
                ids.extend(pieces[self.unk_len:] if len(pieces) >= self.unk_len else pieces)
        ids = ids[: self.max_length - 1]
        if not ids or ids[-1] != self.eos:
            ids.append(self.eos)
        mask = [1] * len(ids) + [0] * (self.max_length - len(ids))
        return ids + [self.eos] * (self.max_length - len(ids)), mask


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", nargs="?", default=os.path.join(here, "..", "tests", "data", "tiny"))
    ap.add_argument("--bench-tokenizer", help="the bench_tokenizer executable to run alongside")
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    rules = SiglipRules(args.model_dir)
    texts, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds or texts == 0:
        for c in CAPTIONS:
            rules(c)
        texts += len(CAPTIONS)
    elapsed = time.perf_counter() - start
    raw_start, raw_texts = time.perf_counter(), 0
    while time.perf_counter() - raw_start < args.seconds / 2 or raw_texts == 0:
        rules.sp.encode(CAPTIONS)
        raw_texts += len(CAPTIONS)
    raw_elapsed = time.perf_counter() - raw_start
    print(json.dumps({"bench": "tokenizer", "implementation": "python3-sentencepiece "
                      + spm.__version__ + " + SiglipTokenizer rules in Python",
                      "captions": len(CAPTIONS), "texts_per_s": round(texts / elapsed),
                      "us_per_text": round(1e6 * elapsed / texts, 3),
                      "sentencepiece_encode_only_texts_per_s": round(raw_texts / raw_elapsed)}))
    if args.bench_tokenizer:
        out = subprocess.run([args.bench_tokenizer, args.model_dir, str(args.seconds)],
                             capture_output=True, text=True, check=True).stdout
        print(out.strip())
        c_rate = json.loads(out)["texts_per_s"]
        print(f"libsiglip C is {c_rate / (texts / elapsed):.1f}x the Python SiglipTokenizer rules "
              f"and {c_rate / (raw_texts / raw_elapsed):.1f}x bare sentencepiece encode")


if __name__ == "__main__":
    main()
