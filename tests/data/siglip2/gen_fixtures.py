#!/usr/bin/python3
# gen_fixtures.py — the SigLIP-family fixtures of tests/test_family.c, made here with python3-torch
# and the reference forward of ref_siglip.py (written from transformers' modeling_siglip.py and
# checked against the transformers-made tiny fixture):
#   siglip2/       SigLIP 2 fixed-resolution shape: model_type "siglip", no "architectures", BF16
#                  weights (as the Hub ships them; the reference runs on their exact values),
#                  Gemma-style BPE tokenizer.model (gen_tokenizer.py) whose 4000 pieces match the
#                  embedding, GemmaTokenizer tokenizer_config.json, preprocessor "resample": 2
#   multilingual/  SiglipTokenizer over a unigram spiece.model of 3000 pieces (nmt_nfkc, trained
#                  here on /usr/share/locale catalogues) with an embedding of 2900 rows: ids past
#                  it must be refused
#   family-expected.safetensors, family-cases.json: inputs and float64 outputs, including
#                  interpolate_pos_encoding at 48×40 and 64×64 and the bare position tables
# Token ids come from python3-sentencepiece with the wrapper rules of gen_bpe_cases.py (Gemma) and
# ../tokenizer/gen_cases.py (SiglipTokenizer). Run at development time: /usr/bin/python3 gen_fixtures.py.
import io
import json
import os
import sys

import numpy as np
import sentencepiece as spm
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(DATA, "tokenizer"))
import ref_siglip as ref  # noqa: E402
from gen_tokenizer import corpus  # noqa: E402

TEXT = dict(hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=64, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
VISION = dict(hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
              num_channels=3, image_size=32, patch_size=8, hidden_act="gelu_pytorch_tanh",
              layer_norm_eps=1e-6)
IMAGES = ["rgb_97x61.png", "rgb_640x480.png", "baseline_80x60.jpg", "rgba_45x33.png"]
TEXTS = ["a photo of a cat", "A PHOTO OF TWO DOGS", "Ein Foto von einer Katze",
         "Фотография кошки", "猫の写真", "une photo d'un chien 🐶", "صورة قطة", "  spaced   out  "]
POS_SIZES = [(6, 5), (8, 8), (3, 3), (2, 7), (1, 1), (4, 4), (5, 9)]


def init_weights(vocab, seed):
    """Random weights of a SiglipModel state dict (as the shared fixtures do it)."""
    g = torch.Generator().manual_seed(seed)
    D, F_, P, C = 32, 80, VISION["patch_size"], 3
    N = (VISION["image_size"] // P) ** 2
    shapes = {"text_model.embeddings.token_embedding.weight": (vocab, D),
              "text_model.embeddings.position_embedding.weight": (64, D),
              "vision_model.embeddings.patch_embedding.weight": (D, C, P, P),
              "vision_model.embeddings.patch_embedding.bias": (D,),
              "vision_model.embeddings.position_embedding.weight": (N, D),
              "vision_model.head.probe": (1, 1, D),
              "vision_model.head.attention.in_proj_weight": (3 * D, D),
              "vision_model.head.attention.in_proj_bias": (3 * D,),
              "text_model.head.weight": (D, D), "text_model.head.bias": (D,),
              "logit_scale": (1,), "logit_bias": (1,)}
    for tower in ("text_model", "vision_model"):
        for i in range(2):
            p = f"{tower}.encoder.layers.{i}"
            for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
                shapes[f"{p}.self_attn.{n}.weight"] = (D, D)
                shapes[f"{p}.self_attn.{n}.bias"] = (D,)
            shapes[f"{p}.mlp.fc1.weight"], shapes[f"{p}.mlp.fc1.bias"] = (F_, D), (F_,)
            shapes[f"{p}.mlp.fc2.weight"], shapes[f"{p}.mlp.fc2.bias"] = (D, F_), (D,)
            for ln in ("layer_norm1", "layer_norm2"):
                shapes[f"{p}.{ln}.weight"], shapes[f"{p}.{ln}.bias"] = (D,), (D,)
    for ln in ("text_model.final_layer_norm", "vision_model.post_layernorm",
               "vision_model.head.layernorm"):
        shapes[ln + ".weight"], shapes[ln + ".bias"] = (D,), (D,)
    shapes["vision_model.head.attention.out_proj.weight"] = (D, D)
    shapes["vision_model.head.attention.out_proj.bias"] = (D,)
    for fc, s in (("fc1", (F_, D)), ("fc2", (D, F_))):
        shapes[f"vision_model.head.mlp.{fc}.weight"], shapes[f"vision_model.head.mlp.{fc}.bias"] = s, s[:1]
    w = {}
    for name in sorted(shapes):
        shape = shapes[name]
        if name == "logit_scale":
            t = torch.full(shape, float(np.log(10.0)))
        elif name == "logit_bias":
            t = torch.full(shape, -2.5)
        elif "norm" in name and name.endswith("weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif name.endswith("bias"):
            t = 0.05 * torch.randn(shape, generator=g)
        elif len(shape) >= 2:
            t = torch.randn(shape, generator=g) / np.sqrt(np.prod(shape[1:]))
        else:
            t = 0.5 * torch.randn(shape, generator=g)
        w[name] = t.to(torch.bfloat16).float().numpy()  # stored as BF16, exactly
    return w


def write_model_dir(d, vocab, seed, with_architectures):
    os.makedirs(d, exist_ok=True)
    cfg = {"initializer_factor": 1.0, "model_type": "siglip",
           "text_config": dict(TEXT, vocab_size=vocab, model_type="siglip_text_model",
                               projection_size=32, pad_token_id=1),
           "vision_config": dict(VISION, model_type="siglip_vision_model"),
           "transformers_version": "4.49.0.dev0"}
    if with_architectures:
        cfg = dict({"architectures": ["SiglipModel"]}, **cfg)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    w = init_weights(vocab, seed)
    ref.write_safetensors(os.path.join(d, "model.safetensors"), w, bf16=True)
    return cfg, ref.as_torch(w)


def preprocessor(d, resample):
    s = VISION["image_size"]
    json.dump({"do_convert_rgb": None, "do_normalize": True, "do_rescale": True, "do_resize": True,
               "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "SiglipImageProcessor",
               "image_std": [0.5, 0.5, 0.5], "processor_class": "SiglipProcessor",
               "resample": resample, "rescale_factor": 0.00392156862745098,
               "size": {"height": s, "width": s}}, open(os.path.join(d, "preprocessor_config.json"), "w"), indent=2)


def pixels(height, width, resample):
    return np.stack([ref.pixel_values(os.path.join(DATA, "images", n), height, width, resample)
                     for n in IMAGES])


def forward(store, prefix, cfg, w, ids, px, interpolate=False):
    t_last, t_pool = ref.text(w, cfg["text_config"], torch.from_numpy(ids)) if ids is not None else (None, None)
    v_last, v_pool = ref.vision(w, cfg["vision_config"], torch.from_numpy(px).double(), interpolate)
    ref.store_outputs(store, prefix, w, v_last, v_pool, t_pool)


def siglip2(store, cases):
    import gen_bpe_cases as bpe
    d = HERE
    cfg, w = write_model_dir(d, 4000, 15, with_architectures=False)
    preprocessor(d, 2)
    ids = np.array([bpe.padded(t, 64)[0] for t in TEXTS], np.int64)
    store["s2.input_ids"] = ids
    px = pixels(32, 32, Image.BILINEAR)
    store["s2.pixel_values"] = px
    forward(store, "s2.f64.", cfg, w, ids, px)
    for h, wd in ((48, 40), (64, 64)):  # interpolate_pos_encoding=True, processor at that size
        pxi = pixels(h, wd, Image.BILINEAR)
        store[f"s2.{h}x{wd}.pixel_values"] = pxi
        forward(store, f"s2.{h}x{wd}.f64.", cfg, w, None, pxi, interpolate=True)
    table = w["vision_model.embeddings.position_embedding.weight"]
    for gh, gw in POS_SIZES:  # the bare F.interpolate on the 4×4 grid, float64 and float32
        store[f"pos.{gh}x{gw}.f64"] = ref.interpolate_pos(table, gh * 8, gw * 8, 8)
        store[f"pos.{gh}x{gw}.f32"] = ref.interpolate_pos(table.float(), gh * 8, gw * 8, 8)
    cases["siglip2"] = {"texts": TEXTS, "images": IMAGES, "interpolated": [[48, 40], [64, 64]],
                        "pos_sizes": POS_SIZES, "zero_shot": zero_shot(cfg, w, bpe)}


ZERO_SHOT_LABELS = ["cat", "dog", "a red car", "Baum"]


def zero_shot_text(w, text_cfg, bpe):
    """The text pooler of transformers' zero-shot pipeline on ZERO_SHOT_LABELS: the default
    template, texts padded to 64 with the attention mask passed."""
    rows = [bpe.padded("This is a photo of %s." % label, 64) for label in ZERO_SHOT_LABELS]
    return ref.text(w, text_cfg, torch.tensor([r[0] for r in rows]),
                    torch.tensor([r[1] for r in rows]))[1]


def zero_shot(cfg, w, bpe):
    """transformers' zero-shot pipeline on the first two images: sigmoid(logits_per_image)
    sorted, at the model's size and at 48×40 (interpolate_pos_encoding)."""
    t_pool = zero_shot_text(w, cfg["text_config"], bpe)
    out = {"labels": ZERO_SHOT_LABELS, "images": IMAGES[:2]}
    for h, wd in ((32, 32), (48, 40)):
        px = torch.from_numpy(pixels(h, wd, Image.BILINEAR)[:2]).double()
        v_pool = ref.vision(w, cfg["vision_config"], px, interpolate=True)[1]
        scores = torch.sigmoid(ref.logits(w, t_pool, v_pool)[0])
        out["%dx%d" % (h, wd)] = ref.ranked(scores, ZERO_SHOT_LABELS)
    return out


def multilingual(store, cases):
    import gen_cases as sig
    d = os.path.join(DATA, "multilingual")
    os.makedirs(d, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus(2 << 20)), model_writer=model, model_type="unigram",
        vocab_size=3000, character_coverage=0.995, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>", num_threads=2,
        input_sentence_size=100000, shuffle_input_sentence=True, minloglevel=2)
    open(os.path.join(d, "spiece.model"), "wb").write(model.getvalue())
    json.dump({"do_lower_case": True, "eos_token": "</s>", "model_max_length": 64,
               "pad_token": "</s>", "processor_class": "SiglipProcessor",
               "tokenizer_class": "SiglipTokenizer", "unk_token": "<unk>"},
              open(os.path.join(d, "tokenizer_config.json"), "w"), indent=2)
    cfg, w = write_model_dir(d, 2900, 16, with_architectures=True)
    preprocessor(d, 3)
    sp_raw = spm.SentencePieceProcessor(model_proto=model.getvalue())
    sig.SP = spm.SentencePieceProcessor()
    blob = model.getvalue() + b"\x1a\x02\x18\x00"  # add_dummy_prefix off, as SiglipTokenizer
    sig.SP.LoadFromSerializedProto(blob)
    sig.UNK_LEN = len(sig.SP.encode(sig.UNK))
    ids = np.array([sig.padded(t, 64)[0] for t in TEXTS], np.int64)
    assert ids.max() < 2900, "a fixture text uses a piece past the embedding"
    store["ml.input_ids"] = ids
    px = pixels(32, 32, Image.BICUBIC)
    store["ml.pixel_values"] = px
    forward(store, "ml.f64.", cfg, w, ids, px)
    # a text whose ids reach past the 2900 embedding rows: the library must refuse it
    guarded = None
    for i in range(sp_raw.get_piece_size() - 1, 2900, -1):
        text = sp_raw.id_to_piece(i).replace("\u2581", " ").strip()
        if text and max(sig.siglip_ids(text)) >= 2900:
            guarded = text
            break
    cases["multilingual"] = {"texts": TEXTS, "images": IMAGES, "pieces": sp_raw.get_piece_size(),
                             "guarded_text": guarded, "guarded_ids": sig.siglip_ids(guarded)}


def main():
    store, cases = {}, {"generator": "siglip2/gen_fixtures.py, torch " + torch.__version__}
    siglip2(store, cases)
    multilingual(store, cases)
    tensors = ref.write_expected(os.path.join(DATA, "family-expected.safetensors"), store)
    json.dump(cases, open(os.path.join(DATA, "family-cases.json"), "w", encoding="utf-8"),
              ensure_ascii=False, indent=1)
    print(len(tensors), "tensors;", "self-check vs transformers tiny: %.3g / %.3g" % ref.self_check(DATA + "/"))


if __name__ == "__main__":
    main()
