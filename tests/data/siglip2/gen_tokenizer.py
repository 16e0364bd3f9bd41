#!/usr/bin/python3
# gen_tokenizer.py — trains tokenizer.model, a small Gemma-shaped SentencePiece BPE model, with
# Debian's python3-sentencepiece: byte fallback, identity normalization, no dummy prefix, spaces
# kept as "▁" runs, digits split, Gemma's reserved ids (pad 0, eos 1, bos 2, unk 3) and a few
# user-defined pieces of the kinds Gemma has (<mask>, turn markers, "\n", whitespace runs, tags).
# The corpus is the translated messages of the .mo catalogues under /usr/share/locale (hundreds of
# languages and scripts). Run at development time (/usr/bin/python3 gen_tokenizer.py); the model
# is committed, so the corpus on another machine does not matter.
import gettext
import glob
import io
import os
import random

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 4000
USER = ["<mask>", "[multimodal]", "<unused0>", "<unused1>", "<start_of_turn>", "<end_of_turn>",
        "\n", "\n\n", "\u2581\u2581", "\u2581\u2581\u2581", "\u2581\u2581\u2581\u2581", "\t", "<table>",
        "<b>", "</b>"]


def corpus(limit_bytes=4 << 20):
    rng = random.Random(15)
    files = sorted(glob.glob("/usr/share/locale/*/LC_MESSAGES/*.mo"))
    rng.shuffle(files)
    out, size = [], 0
    for path in files:
        try:
            with open(path, "rb") as f:
                cat = gettext.GNUTranslations(f)
        except Exception:
            continue
        for msgid, msgstr in sorted(cat._catalog.items(), key=lambda kv: str(kv[0])):
            if not isinstance(msgstr, str) or not msgstr.strip():
                continue
            for line in msgstr.split("\n"):
                line = line.strip()
                if line:
                    out.append(line)
                    size += len(line.encode())
        if size > limit_bytes:
            break
    return out


def main():
    lines = corpus()
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="bpe", vocab_size=VOCAB,
        character_coverage=0.995, byte_fallback=True, normalization_rule_name="identity",
        add_dummy_prefix=False, remove_extra_whitespaces=False, split_digits=True,
        allow_whitespace_only_pieces=True, pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
        user_defined_symbols=USER, max_sentence_length=8192, num_threads=2,
        input_sentence_size=200000, shuffle_input_sentence=True, seed_sentencepiece_size=200000)
    with open(os.path.join(HERE, "tokenizer.model"), "wb") as f:
        f.write(model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    print(f"{len(lines)} corpus lines, {sp.get_piece_size()} pieces, {len(model.getvalue())} bytes")


if __name__ == "__main__":
    main()
