#!/usr/bin/python3
# gen_bpe_cases.py — writes ../tokenizer/bpe-cases.json and ../tokenizer/bpe-unused.model, the
# expectations of tests/test_tokenizer_bpe.c for the Gemma-shaped BPE model tokenizer.model
# (gen_tokenizer.py). Every id comes from Debian's python3-sentencepiece; the Siglip2Tokenizer
# rules around it follow transformers' models/siglip2/tokenization_siglip2.py (Gemma's BPE model,
# normalizer Lowercase + Replace(" ", "▁"), no prefix) and the SigLIP 2 checkpoints' tokenizer
# config (GemmaTokenizer: no bos, eos appended, <pad> = 0, padded and truncated to 64): added
# tokens are split out of the raw text first (longest match), each piece between them is
# lowercased one character at a time (the tokenizers library's Lowercase normalizer: a final
# capital sigma becomes σ, not Python str.lower's ς) and encoded, eos is appended after truncating
# to 63.
# Run at development time: /usr/bin/python3 gen_bpe_cases.py. The corpus is this machine's
# /usr/share/locale, which differs between machines: --keep-texts recomputes the expectations of
# the texts bpe-cases.json already holds instead.
import json
import os
import random
import struct
import sys

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tokenizer"))
from gen_cases import char_lower, padded_cases, random_texts, split_specials, varint, write_json  # noqa: E402
from gen_tokenizer import corpus  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tokenizer")
MODEL = open(os.path.join(HERE, "tokenizer.model"), "rb").read()
SP = spm.SentencePieceProcessor(model_proto=MODEL)
CONFIG = json.load(open(os.path.join(HERE, "tokenizer_config.json"), encoding="utf-8"))
SPECIALS = sorted({v["content"] for v in CONFIG["added_tokens_decoder"].values()}
                  | {CONFIG[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token",
                                         "mask_token")})
EOS = SP.piece_to_id(CONFIG["eos_token"])
PAD = SP.piece_to_id(CONFIG["pad_token"])


def gemma_ids(text):
    """Siglip2Tokenizer ids of one text, without eos."""
    ids = []
    for seg in split_specials(text, SPECIALS):
        if seg in SPECIALS:
            ids.append(SP.piece_to_id(seg))
        else:
            ids.extend(SP.encode(char_lower(seg).replace(" ", "\u2581")))
    return ids


def padded(text, max_length):
    ids = gemma_ids(text)[: max_length - 1] + [EOS]
    mask = [1] * len(ids) + [0] * (max_length - len(ids))
    return ids + [PAD] * (max_length - len(ids)), mask


CURATED = [
    "a photo of a cat", "A PHOTO OF A DOG.", "  leading and trailing  ", "", " ", "   ",
    "multiple   spaces\tand\ttabs\n\nand newlines\n", "\u2581\u2581 literal \u2581 underscores\u2581",
    "日本語のテキスト 中文文本 한국어", "Привет, мир! ЁЖИК", "مرحبا بالعالم", "नमस्ते दुनिया",
    "ΟΔΥΣΣΕΥΣ ΣΑΣ Σ ΑΣ. ΑΣ'Σ", "İstanbul I\u0307 ı", "e\u0301cole\u0300 n\u0303o", "Å\u212b\u212a",
    "ﬁnancial ﬂow ﬀ", "①②③ ⑩ ⅻ Ⅻ", "ＡＢＣ１２３！？", "㍿ ㌔ ㎏ ℃ ™", "½ ¼ x² H₂O",
    "😀😃 👍🏽 👨‍👩‍👧 🇯🇵", "emoji😀inside", "\U0010ffff\ue000 private", "\ufffd replacement",
    "<eos>", "<pad>", "<bos>", "<unk>", "<mask>", "<EOS> <Pad>", "x<eos>y<mask>z", "<eos><eos>",
    "<start_of_turn>user\nhi<end_of_turn>", "<b>bold</b> <table>", "<unused0><unused1>",
    "[multimodal] [MULTIMODAL]", "<eos", "eos>", "<<eos>>", "1234567890 3.14159 2026-11-29",
    "ctrl\x01\x02\x07\x1b\x7f chars", "zero\u200bwidth\ufeffbom", "ß ẞ ǅ ǈ ǋ", "ﬆ ﬅ ǰ ΐ",
    "the quick brown fox jumps over the lazy dog " * 12,
    "Ünïcödé ÀÉÎÕÜ ÇÑ Ææ Œœ Øø Åå Þþ Ðð",
]

POOL = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 3
    + list(".,;:!?'\"()[]{}<>-_/\\@#$%^&*+=~`|") + [" "] * 30 + ["  ", "\t", "\n", "\n\n", "\r"]
    + list("éèêëàâäîïôöûüçñÉÈÀÇÑØøÅåÆæœŒßẞİıĞğŞş") + list("ΑΒΓΔΣσςαβγ")
    + list("АБВГДЕЁЖабвгдеёж") + list("日本語中文字한국어ひらがなカタカナ") + list("مرحباनमस्तेשלום")
    + list("ไทยລາວ") + ["\u0301", "\u0308", "\u200d", "\ufe0f"] + list("ＡＢＣａｂｃ１２３")
    + ["😀", "👍", "🏽", "🇯", "☃", "\u2581", "\x01", "\x7f", "\ufffd", "\U0001f9ff"]
    + ["<eos>", "<pad>", "<mask>", "<bos>", "<unk>", "<start_of_turn>", "<b>", "</b>", "<EOS>"]
)


def read_varint(buf, i):
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def unused_model(every=37):
    """The model with every 37th merged piece (type NORMAL, two or more characters) retyped
    UNUSED, so that SentencePiece splits it back into the pieces it was merged from."""
    out, i, index, retyped = b"", 0, 0, []
    while i < len(MODEL):
        start = i
        tag, i = read_varint(MODEL, i)
        length, i = read_varint(MODEL, i)
        body = MODEL[i:i + length]
        i += length
        if tag == 0x0A:  # pieces
            piece = SP.id_to_piece(index)
            normal = not (SP.is_control(index) or SP.is_unknown(index) or SP.is_byte(index)
                          or SP.is_unused(index))
            if normal and index > 300 and len(piece) >= 2 and index % every == 0:
                raw = piece.encode()
                body = (b"\x0a" + varint(len(raw)) + raw + b"\x15"
                        + struct.pack("<f", SP.get_score(index)) + b"\x18" + varint(5))
                retyped.append(index)
                out += b"\x0a" + varint(len(body)) + body
            else:
                out += MODEL[start:i]
            index += 1
        else:
            out += MODEL[start:i]
    return out, retyped


def main():
    if "--keep-texts" in sys.argv:
        old = json.load(open(os.path.join(OUT, "bpe-cases.json"), encoding="utf-8"))
        texts = [c["text"] for c in old["cases"]]
        unused_texts = [c["text"] for c in old["unused"]]
    else:
        rng = random.Random(16)
        lines = corpus()
        rng.shuffle(lines)
        texts = (CURATED + lines[:1500] + random_texts(rng, 1200, 40, POOL)
                 + random_texts(rng, 3, 2000, POOL))
        unused_texts = CURATED + lines[1500:2000]
    cases = [{"text": t, "raw": SP.encode(t), "ids": gemma_ids(t) + [EOS]} for t in texts]
    padded_list = padded_cases(texts[:60] + texts[-40:], padded)
    blob, retyped = unused_model()
    with open(os.path.join(OUT, "bpe-unused.model"), "wb") as f:
        f.write(blob)
    sp_unused = spm.SentencePieceProcessor(model_proto=blob)
    unused = [{"text": t, "raw": sp_unused.encode(t)} for t in unused_texts]
    data = {
        "generator": "siglip2/gen_bpe_cases.py, sentencepiece " + spm.__version__ + ", Python "
                     + sys.version.split()[0],
        "model": "siglip2/tokenizer.model",
        "pieces": SP.get_piece_size(),
        "cases": cases,
        "padded": padded_list,
        "unused_pieces": retyped,
        "unused": unused,
    }
    write_json(os.path.join(OUT, "bpe-cases.json"), data, ensure_ascii=False)
    print(f"{len(cases)} cases, {len(padded_list)} padded, {len(retyped)} unused pieces, "
          f"{len(unused)} unused-model cases")


if __name__ == "__main__":
    main()
