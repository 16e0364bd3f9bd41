#!/usr/bin/env python3
"""gen_long_cases.py — rows of long texts without spaces, from python3-sentencepiece (issue 32,
item 3): SiglipTokenizer's rules over tiny/spiece.model (gen_cases.padded) and Siglip2Tokenizer's
over siglip2/tokenizer.model (siglip2/gen_bpe_cases.padded). Each text is the concatenation of
its parts, each a string repeated, 600 KiB or more, so that libsiglip reads it chunk by chunk
(unigram; chunks of 256 KiB) or from a prefix; the rows are what the real SentencePiece gives for
the whole text. Writes long-cases.json here (about 5 minutes).

Usage: /usr/bin/python3 tests/data/tokenizer/gen_long_cases.py
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "siglip2"))
import gen_bpe_cases  # noqa: E402
import gen_cases  # noqa: E402

# Parts (string, repeats): one letter pair at both parities (with tied scores the first piece can
# follow the parity of a run), a three-letter pattern, CJK, mixed scripts with digits and accents,
# digits, punctuation between letters (SiglipTokenizer drops it), special tokens inside long runs,
# Greek capitals with Σ (lowercased by context: no chunk boundary), a run of emoji (unknown to
# tiny: one id) before letters.
RECIPES = [
    [("ab", 320000)],
    [("b", 1), ("ab", 320000)],
    [("aab", 210000), ("a", 1)],
    [("\u732b\u304c\u597d\u304d\u3067\u3059", 36000)],
    [("Z\u0434\u03bb\u732b7\u00e9x", 48000)],
    [("0123456789", 64000)],
    [("a.b,c!d?", 80000)],
    [("ab", 160000), ("</s>", 1), ("ab", 160000), ("<eos>", 1), ("a", 1)],
    [("<unk>", 1), ("ba", 160000), ("<unk>", 1), ("ba", 160000)],
    [("\u03a3\u0391\u03a3", 110000)],
    [("\U0001f431", 160000), ("abcabc", 1)],
]


def main():
    cases = []
    for parts in RECIPES:
        text = "".join(unit * reps for unit, reps in parts)
        for fixture, pad in (("tiny", gen_cases.padded), ("siglip2", gen_bpe_cases.padded)):
            for max_length in (64, 8):
                ids, mask = pad(text, max_length)
                cases.append({"fixture": fixture, "parts": [[u, r] for u, r in parts],
                              "max_length": max_length, "ids": ids, "mask": mask})
    data = {
        "generator": "tokenizer/gen_long_cases.py, sentencepiece " + gen_cases.spm.__version__
                     + ", Python " + sys.version.split()[0],
        "cases": cases,
    }
    gen_cases.write_json(os.path.join(HERE, "long-cases.json"), data, ensure_ascii=False)


if __name__ == "__main__":
    main()
