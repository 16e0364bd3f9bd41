#!/usr/bin/python3
# gen_tokenizer_json.py — the tokenizer.json-only case: ../siglip2-json/tokenizer.json is
# tokenizer.model converted as transformers' GemmaConverter does (convert_slow_tokenizer.py: BPE
# vocabulary in id order, merges from generate_merges ordered by piece score, control and
# user-defined pieces as added tokens, normalizer Replace(" ", "▁"), byte_fallback, fuse_unk), with
# the GemmaTokenizer tokenizer_config.json next to it; ../tokenizer/json-cases.json holds the ids
# of a Python port of HF tokenizers' BPE (models/bpe/word.rs merge_all: lowest merge rank first,
# leftmost on ties; unknown characters as byte pieces, else one fused <unk>) under the
# Siglip2Tokenizer rules (added tokens split from the raw text, Lowercase, eos) on the texts of
# bpe-cases.json: those where it differs from python3-sentencepiece's ids are listed with its own.
# Also tokenizer/unigram.json, a Unigram model with python3-sentencepiece's ids.
# Run at development time: /usr/bin/python3 gen_tokenizer_json.py (after gen_bpe_cases.py; with
# --keep-texts when that ran with it).
import heapq
import json
import os
import shutil
import sys

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "siglip2-json")
sys.path.insert(0, HERE)
import gen_bpe_cases as bpe  # noqa: E402
from gen_cases import char_lower, write_json  # noqa: E402  (on the path gen_bpe_cases set)
from gen_tokenizer import USER  # noqa: E402

SP = bpe.SP
N = SP.get_piece_size()
PIECES = [SP.id_to_piece(i) for i in range(N)]
VOCAB = {p: i for i, p in enumerate(PIECES)}


def generate_merges():
    """transformers' generate_merges(vocab, vocab_scores)."""
    scores = {p: SP.get_score(i) for i, p in enumerate(PIECES)}
    merges = []
    for piece, score in scores.items():
        local = [(piece[:k], piece[k:], score) for k in range(1, len(piece))
                 if piece[:k] in VOCAB and piece[k:] in VOCAB]
        merges.extend(sorted(local, key=lambda x: (VOCAB[x[0]], VOCAB[x[1]])))
    merges = sorted(merges, key=lambda v: (v[2], len(v[0]), len(v[1])), reverse=True)
    return [(a, b) for a, b, _ in merges]


MERGES = generate_merges()
RANKS = {}
for rank, (a, b) in enumerate(MERGES):
    RANKS.setdefault((VOCAB[a], VOCAB[b]), (rank, VOCAB[a + b]))
# SpmConverter: control and user-defined pieces become added tokens (and <unk> is special too)
ADDED = [i for i in range(N) if SP.is_control(i) or SP.is_unknown(i) or PIECES[i] in USER]


def hf_bpe(word):
    """HF tokenizers' BPE::tokenize of one word (no cache, no dropout)."""
    syms = []  # [id, prev, next, len]
    unk = None
    for ch in word:
        if ch in VOCAB or all(("<0x%02X>" % b) in VOCAB for b in ch.encode()):
            if unk:
                syms.append([unk[0], unk[1]])
                unk = None
            if ch in VOCAB:
                syms.append([VOCAB[ch], len(ch.encode())])
            else:
                syms.extend([VOCAB["<0x%02X>" % b], 1] for b in ch.encode())
        else:
            unk = (3, unk[1] + len(ch.encode())) if unk else (3, len(ch.encode()))
    if unk:
        syms.append([unk[0], unk[1]])
    ids = [s[0] for s in syms]
    alive = [True] * len(ids)
    prev = list(range(-1, len(ids) - 1))
    nxt = list(range(1, len(ids) + 1))
    nxt[-1:] = [-1] if ids else []
    heap = [(RANKS[(ids[i], ids[i + 1])][0], i, RANKS[(ids[i], ids[i + 1])][1])
            for i in range(len(ids) - 1) if (ids[i], ids[i + 1]) in RANKS]
    heapq.heapify(heap)
    while heap:
        rank, pos, new_id = heapq.heappop(heap)
        if not alive[pos] or nxt[pos] == -1:
            continue
        right = nxt[pos]
        cur = RANKS.get((ids[pos], ids[right]))
        if cur is None or cur[1] != new_id:
            continue
        ids[pos] = new_id
        alive[right] = False
        nxt[pos] = nxt[right]
        if nxt[right] != -1:
            prev[nxt[right]] = pos
        if prev[pos] != -1 and (ids[prev[pos]], ids[pos]) in RANKS:
            r, nid = RANKS[(ids[prev[pos]], ids[pos])]
            heapq.heappush(heap, (r, prev[pos], nid))
        if nxt[pos] != -1 and (ids[pos], ids[nxt[pos]]) in RANKS:
            r, nid = RANKS[(ids[pos], ids[nxt[pos]])]
            heapq.heappush(heap, (r, pos, nid))
    out, i = [], 0 if ids else -1
    while i != -1:
        out.append(ids[i])
        i = nxt[i]
    return out


SPECIALS = sorted(set(bpe.SPECIALS) | {PIECES[i] for i in ADDED})


def json_ids(text):
    """Siglip2Tokenizer over tokenizer.json: added tokens split out of the raw text (longest
    first), each piece between lowercased one character at a time (tokenizers' Lowercase), spaces
    → "▁", BPE; eos appended."""
    ids, i, start = [], 0, 0

    def flush(seg):
        if seg:
            ids.extend(hf_bpe(char_lower(seg).replace(" ", "\u2581")))
    while i < len(text):
        hit = max((s for s in SPECIALS if text.startswith(s, i)), key=len, default=None)
        if hit is None:
            i += 1
            continue
        flush(text[start:i])
        ids.append(VOCAB[hit])
        i += len(hit)
        start = i
    flush(text[start:])
    return ids + [VOCAB["<eos>"]]


def tokenizer_json():
    added = [{"id": i, "content": PIECES[i], "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": SP.is_control(i) or SP.is_unknown(i)
              or PIECES[i] in ("<start_of_turn>", "<end_of_turn>", "<mask>")} for i in ADDED]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "<eos>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 1}},
                                    {"SpecialToken": {"id": "<eos>", "type_id": 1}}],
                           "special_tokens": {"<eos>": {"id": "<eos>", "ids": [1], "tokens": ["<eos>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": True,
                  "byte_fallback": True, "ignore_merges": False, "vocab": VOCAB,
                  "merges": [[a, b] for a, b in MERGES]},
    }


def unigram_json(cases):
    """A Unigram tokenizer.json: a small identity-normalized unigram model (byte fallback, no
    whitespace collapsing) trained here, written as transformers' SpmConverter writes a unigram
    model without a charsmap (vocab [piece, score], unk_id, byte_fallback; normalizer Prepend("▁")
    + Replace(" ", "▁"), the legacy dummy prefix), with python3-sentencepiece's raw ids."""
    import io
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(bpe.corpus(1 << 20)), model_writer=model, model_type="unigram",
        vocab_size=1500, character_coverage=0.995, byte_fallback=True,
        normalization_rule_name="identity", remove_extra_whitespaces=False, pad_id=0, eos_id=1,
        unk_id=2, bos_id=-1, num_threads=2, input_sentence_size=60000,
        shuffle_input_sentence=True, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    n = sp.get_piece_size()
    tj = {"version": "1.0", "added_tokens": [
        {"id": i, "content": sp.id_to_piece(i), "special": True, "normalized": False}
        for i in range(n) if sp.is_control(i)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None, "post_processor": None, "decoder": None,
        "model": {"type": "Unigram", "unk_id": sp.unk_id(), "byte_fallback": True,
                  "vocab": [[sp.id_to_piece(i), sp.get_score(i)] for i in range(n)]}}
    write_json(os.path.join(HERE, "..", "tokenizer", "unigram.json"), tj, ensure_ascii=False,
               newline=False)
    return [{"text": c["text"], "ids": sp.encode(c["text"])} for c in cases[:60] + cases[-700:]]


def main():
    os.makedirs(OUT, exist_ok=True)
    write_json(os.path.join(OUT, "tokenizer.json"), tokenizer_json(), ensure_ascii=False,
               newline=False)
    shutil.copy(os.path.join(HERE, "tokenizer_config.json"), OUT)
    cases = json.load(open(os.path.join(HERE, "..", "tokenizer", "bpe-cases.json"), encoding="utf-8"))
    # only the texts whose ids differ from bpe-cases.json's (SentencePiece) are listed, with theirs
    differs = []
    for k, c in enumerate(cases["cases"]):
        ids = json_ids(c["text"])
        if ids != c["ids"]:
            differs.append({"index": k, "text": c["text"], "ids": ids})
    same = len(cases["cases"]) - len(differs)
    # the unigram model is trained on this machine's /usr/share/locale (it differs between
    # machines): --keep-texts keeps the committed unigram.json and its cases
    if "--keep-texts" in sys.argv:
        unigram = json.load(open(os.path.join(HERE, "..", "tokenizer", "json-cases.json"),
                                 encoding="utf-8"))["unigram"]
    else:
        unigram = unigram_json(cases["cases"])
    write_json(os.path.join(HERE, "..", "tokenizer", "json-cases.json"),
               {"generator": "siglip2/gen_tokenizer_json.py", "merges": len(MERGES),
                "added": len(ADDED), "same_as_spm": same, "differs": differs,
                "unigram": unigram}, ensure_ascii=False)
    print(f"{len(MERGES)} merges, {len(ADDED)} added tokens; {same} / {len(cases['cases'])} texts give "
          "python3-sentencepiece's ids")


if __name__ == "__main__":
    main()
