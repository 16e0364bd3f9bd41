#!/usr/bin/python3
# gen_cases.py — writes cases.json, the tokenizer expectations checked by tests/test_tokenizer_cases.c.
# Run at development time with Debian's python3-sentencepiece (/usr/bin/python3 gen_cases.py); the
# output is committed. The SiglipTokenizer rules below follow transformers' tokenization_siglip.py
# and ../../../../shared/docs/siglip-reference.md §4, on top of the real SentencePiece library.
import json
import os
import random
import re
import string
import struct
import sys
import unicodedata

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "tiny", "spiece.model")
SPIECE_UNDERLINE = "\u2581"
EOS, UNK, PAD = "</s>", "<unk>", "</s>"
SPECIALS = [EOS, UNK]  # pad == eos


def processor(add_dummy_prefix):
    blob = open(MODEL, "rb").read()
    if not add_dummy_prefix:
        # ModelProto field 3 (normalizer_spec) { field 3 (add_dummy_prefix): false }, merged into
        # the existing spec exactly as NormalizerSpec.MergeFrom does in transformers.
        blob += b"\x1a\x02\x18\x00"
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(blob)
    return sp


SP_RAW = processor(True)
SP = processor(False)
UNK_LEN = len(SP.encode(UNK))


def split_specials(text, specials=SPECIALS):
    """The text cut around special tokens (longest match first), as transformers' Trie.split."""
    out, start, i = [], 0, 0
    while i < len(text):
        hit = max((s for s in specials if text.startswith(s, i)), key=len, default=None)
        if hit is None:
            i += 1
            continue
        if i > start:
            out.append(text[start:i])
        out.append(hit)
        i += len(hit)
        start = i
    if start < len(text):
        out.append(text[start:])
    return out


def char_lower(text):
    """The tokenizers library's Lowercase normalizer (Siglip2Tokenizer's): each character's own
    lowercase mapping (Rust's char::to_lowercase), with no context, so a final capital sigma
    becomes σ where Python's str.lower() of the whole text gives ς."""
    return "".join(c.lower() for c in text)


def canonicalize(text):
    text = text.lower()
    text = text.translate(str.maketrans("", "", string.punctuation))
    text = re.sub(r"\s+", " ", text)
    return text.strip()


def siglip_tokens(text):
    """SiglipTokenizer.tokenize(): pieces (str) of one text, without eos."""
    tokens = []
    for seg in split_specials(SPIECE_UNDERLINE + text.replace(SPIECE_UNDERLINE, " ")):
        if seg in SPECIALS:
            tokens.append(seg)
            continue
        pieces = SP.encode(UNK + canonicalize(seg), out_type=str)
        tokens.extend(pieces[UNK_LEN:] if len(pieces) >= UNK_LEN else pieces)
    if len(tokens) > 1 and tokens[0] == SPIECE_UNDERLINE and tokens[1] in SPECIALS:
        tokens = tokens[1:]
    return tokens


def siglip_ids(text, max_length=None):
    ids = [SP.piece_to_id(t) for t in siglip_tokens(text)]
    eos = SP.piece_to_id(EOS)
    if max_length is not None and len(ids) + 1 > max_length:
        ids = ids[: max_length - 1]
    if not ids or ids[-1] != eos:
        ids.append(eos)
    return ids


def padded(text, max_length):
    ids = siglip_ids(text, max_length)
    mask = [1] * len(ids) + [0] * (max_length - len(ids))
    return ids + [SP.piece_to_id(PAD)] * (max_length - len(ids)), mask


CURATED = [
    "a photo of a cat", "A PHOTO OF A DOG.", "  leading and trailing  ", "",
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000 mixed spaces",
    "zero\u200bwidth\u180esep\ufeffbom", "ctrl\x01\x02\x07\x1b\x7f\x9f chars",
    "日本語のテキスト 中文文本 한국어", "Привет, мир! ЁЖИК", "مرحبا بالعالم", "नमस्ते दुनिया",
    "ΟΔΥΣΣΕΥΣ ΣΑΣ Σ ΑΣ. ΑΣ'Σ", "İstanbul I\u0307 ı", "e\u0301cole\u0300 n\u0303o", "Å\u212b\u212a",
    "ﬁnancial ﬂow ﬀ", "①②③ ⑩ ⅻ Ⅻ", "ＡＢＣ１２３！？", "㍿ ㌔ ㎏ ℃ ™", "½ ¼ x² H₂O",
    "😀😃 👍🏽 👨‍👩‍👧 🇯🇵", "emoji😀inside", "\u2581\u2581 under \u2581score\u2581",
    "</s>", "<unk>", "</s></s>", "x</s>y<unk>z", "</s> start", "end </s>", "<pad> <s> </S> <UNK>",
    "<unk", "</s", "<</s>>", "tokens </s> <unk> <pad> inline", "!!!???...", "a-b_c.d,e;f:g",
    "don't stop-believing (really)", "\U0010ffff\ue000 private", "\ufffd replacement",
    "tab\there", "new\nline", "a\u00a0b", "ß ẞ ǅ ǈ ǋ", "ﬆ ﬅ ǰ ΐ", "ᾈ ᾼ ῌ", "Ⓐⓑ 🄰",
    "the quick brown fox jumps over the lazy dog " * 20,
]

POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 4
    + list(string.punctuation) + [" "] * 30 + list("\t\n\r\x0b\x0c\x1c\x85\xa0\u3000\u2003\u200b")
    + list("éèêëàâäîïôöûüçñÉÈÀÇÑØøÅåÆæœŒßẞİıĞğŞş")
    + list("ΑΒΓΔΣσςαβγ") + list("АБВГДЕЁЖабвгдеёж") + list("日本語中文字한국어ひらがなカタカナ")
    + list("مرحباनमस्ते") + ["\u0301", "\u0308", "\u0327", "\u200d", "\ufe0f"]
    + list("ＡＢＣａｂｃ１２３！＃（）") + list("ﬁﬂ①②⑩㍿℃™½²₂") + ["😀", "👍", "🏽", "🇯", "🇵"]
    + [SPIECE_UNDERLINE, "\x01", "\x1b", "\x7f", "\ufffd"] + ["</s>", "<unk>", "<pad>", "<s>"]
)


def random_texts(rng, count, max_len, pool=POOL):
    return ["".join(rng.choice(pool) for _ in range(rng.randint(0, max_len))) for _ in range(count)]


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def piece_field(text, score, piece_type):
    raw = text.encode()
    body = b"\x0a" + varint(len(raw)) + raw + b"\x15" + struct.pack("<f", score) + b"\x18" + varint(piece_type)
    return b"\x0a" + varint(len(body)) + body


# The tiny model plus 256 byte pieces (type BYTE), four USER_DEFINED pieces and
# trainer_spec.byte_fallback = true; tests/test_tokenizer_cases.c builds the same bytes.
AUG_USER_PIECES = ["xyz", "cat!", "\uff21\uff22", "\u2581\u2581"]


def augmented_model():
    blob = open(MODEL, "rb").read()
    blob += b"".join(piece_field("<0x%02X>" % b, 0.0, 6) for b in range(256))
    blob += b"".join(piece_field(t, 0.0, 4) for t in AUG_USER_PIECES)
    blob += b"\x12\x03\x98\x02\x01"
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(blob)
    return sp, blob


def truncation_cases():
    """Cut points of spiece.model and whether the real SentencePiece accepts the cut file."""
    blob = open(MODEL, "rb").read()
    cuts = [1, 2, 3, 5, 8, 13, 100, 1000, 4097, len(blob) // 3, len(blob) // 2, len(blob) - 100,
            len(blob) - 10, len(blob) - 2, len(blob) - 1]
    out = []
    for cut in cuts:
        sp = spm.SentencePieceProcessor()
        try:
            sp.LoadFromSerializedProto(blob[:cut])
            ok = sp.get_piece_size() > 0
        except Exception:
            ok = False
        out.append({"cut": cut, "loads": ok})
    return out


def invalid_utf8_cases():
    raw = [b"ok \xff bad", b"\xc3\x28", b"\xe2\x82", b"\xe2\x82\xac\xe2", b"\xf0\x9f\x98",
           b"\xed\xa0\x80 surrogate", b"\xc0\xaf overlong", b"\xf4\x90\x80\x80 big", b"\x80\x80\x80",
           b"caf\xe9 latin1", b"\xf8\x88\x80\x80\x80", b"A\xe0\x80\xafB", b"\xef\xbb\xbfbom"]
    return [{"hex": b.hex(), "ids": siglip_ids(b.decode("utf-8", "replace"))} for b in raw]


def lower_table():
    out = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        low = chr(cp).lower()
        if low != chr(cp):
            out.append([cp] + [ord(c) for c in low])
    return out


def cased_ranges():
    """[first, last] ranges of the code points after which Python's str.lower() makes a capital
    sigma final ("xΣ" → "xς"): the Cased characters that are not Case_Ignorable, which CPython's
    Final_Sigma test (handle_capital_sigma) looks for before Σ (and, with nothing cased after it,
    decides ς)."""
    out = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if (chr(cp) + "\u03a3").lower().endswith("\u03c2"):
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
    return out


def unassigned_ranges():
    """[first, last] ranges of the code points this Python's Unicode database leaves unassigned
    (category Cn): the library's utf8proc may know a later Unicode, whose new letters the test
    then cannot compare."""
    out = []
    for cp in range(0x110000):
        if unicodedata.category(chr(cp)) == "Cn":
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
    return out


def padded_cases(texts, pad):
    """Each text at max_length 64, 8 and 1 through pad(text, max_length) -> (ids, mask)."""
    out = []
    for t in texts:
        for max_length in (64, 8, 1):
            ids, mask = pad(t, max_length)
            out.append({"text": t, "max_length": max_length, "ids": ids, "mask": mask})
    return out


def write_json(path, data, ensure_ascii, newline=True):
    """data as compact JSON (no spaces), the form of every committed case file."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=ensure_ascii, separators=(",", ":"))
        if newline:
            f.write("\n")


def main():
    rng = random.Random(1234)
    texts = CURATED + random_texts(rng, 400, 40) + random_texts(rng, 3, 3000)
    siglip = [{"text": t, "ids": siglip_ids(t)} for t in texts]
    padded_list = padded_cases(texts[:120], padded)
    raw_texts = CURATED + random_texts(rng, 400, 40) + random_texts(rng, 2, 5000)
    raw = [{"text": t, "ids": SP_RAW.encode(t), "ids_no_prefix": SP.encode(t)} for t in raw_texts]
    aug_sp, aug_blob = augmented_model()
    aug_texts = CURATED + ["xyz cat! ＡＢ xyzxyz", "cat!cat", "▁▁ a  b", "ＡＢＡＢ", "unknown 日本 ☃ 😀"]
    aug_texts += random_texts(rng, 200, 30)
    augmented = [{"text": t, "ids": aug_sp.encode(t)} for t in aug_texts]
    sigma_context = ["ΑΣ", "ΑΣ.", "Σ", "ΑΣΑ", "Α\u0301Σ", "ΑΣ\u0301", "1Σ", "ΑΣ'Α", "ΣΑ", "Α.Σ"]
    data = {
        "generator": "gen_cases.py, sentencepiece " + spm.__version__ + ", Python " + sys.version.split()[0],
        "model": "tiny/spiece.model",
        "unk_prefix_pieces": UNK_LEN,
        "siglip": siglip,
        "padded": padded_list,
        "invalid_utf8": invalid_utf8_cases(),
        "raw": raw,
        "augmented_size": len(aug_blob),
        "augmented": augmented,
        "truncated": truncation_cases(),
        "lower": lower_table(),
        "lower_context": [{"text": t, "lower": t.lower()} for t in sigma_context],
        "cased_before_sigma": cased_ranges(),
        "unicode_version": unicodedata.unidata_version,
        "unassigned": unassigned_ranges(),
        "isspace": [cp for cp in range(0x110000) if chr(cp).isspace()],
    }
    write_json(os.path.join(HERE, "cases.json"), data, ensure_ascii=True)
    print(f"{len(siglip)} siglip, {len(padded_list)} padded, {len(raw)} raw cases, "
          f"{len(data['lower'])} lowercase mappings")


if __name__ == "__main__":
    main()
