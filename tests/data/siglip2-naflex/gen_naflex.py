#!/usr/bin/python3
# gen_naflex.py — the SigLIP 2 NaFlex fixture of tests/test_naflex.c, made here with python3-torch,
# python3-pil and a reference written from transformers' models/siglip2 (modeling_siglip2.py:
# Siglip2VisionEmbeddings.resize_positional_embeddings, the additive key mask of every encoder
# layer and of Siglip2MultiheadAttentionPoolingHead; image_processing_siglip2.py:
# get_image_size_for_max_num_patches; image_processing_pil_siglip2.py: patches and padding):
#   config.json             model_type "siglip2", Siglip2Model, patch 8, num_patches 16 (4×4 grid)
#   preprocessor_config.json  Siglip2ImageProcessor, max_num_patches 24, resample 2 (bilinear)
#   model.safetensors       random BF16 weights; text tower and tokenizer.model as ../siglip2/
#   images/                 extreme aspect ratios (1×64, 64×1) and images smaller than a patch
#   expected.safetensors, cases.json: processor outputs and float64 forwards
# Run at development time: /usr/bin/python3 gen_naflex.py (needs ../siglip2/ generated first).
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(DATA, "siglip2"))
import ref_siglip as ref  # noqa: E402
import gen_bpe_cases as bpe  # noqa: E402
from gen_fixtures import init_weights, TEXT, TEXTS, ZERO_SHOT_LABELS, zero_shot_text  # noqa: E402

P, GRID, D = 8, 4, 32
VISION = dict(hidden_size=D, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
              num_channels=3, num_patches=GRID * GRID, patch_size=P,
              hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
MAX_PATCHES = 24
SHARED = ["rgb_97x61.png", "rgb_640x480.png", "rgb_13x21.png", "baseline_80x60.jpg",
          "rgba_45x33.png"]
MADE = {"wide_64x1.png": (64, 1), "tall_1x64.png": (1, 64), "small_5x3.png": (5, 3),
        "small_7x7.png": (7, 7), "strip_300x9.png": (300, 9)}
POS_SHAPES = [(1, 1), (1, 24), (24, 1), (3, 8), (4, 4), (5, 3), (6, 4), (2, 12), (8, 8), (1, 5)]


def image_path(name):
    return os.path.join(HERE, "images", name) if name in MADE else os.path.join(DATA, "images", name)


def make_images():
    os.makedirs(os.path.join(HERE, "images"), exist_ok=True)
    rng = np.random.default_rng(16)
    for name, (w, h) in MADE.items():
        a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(a, "RGB").save(os.path.join(HERE, "images", name))


def size_for_budget(height, width, patch, max_patches, eps=1e-5):
    """get_image_size_for_max_num_patches: the largest scale (binary search) whose sides, each
    rounded up to a multiple of the patch (at least one patch), give at most max_patches."""
    def scaled(scale, size):
        return int(max(patch, math.ceil(size * scale / patch) * patch))
    lo, hi = eps / 10, 100.0
    while hi - lo >= eps:
        mid = (lo + hi) / 2
        if (scaled(mid, height) / patch) * (scaled(mid, width) / patch) <= max_patches:
            lo = mid
        else:
            hi = mid
    return scaled(lo, height), scaled(lo, width)


def naflex_inputs(name, max_patches):
    """Siglip2ImageProcessorPil: resize to the budget size (bilinear), rescale, normalize, patches
    flattened (py·P + px)·C + c, padded to max_patches; mask and (h, w) grid."""
    im = Image.open(image_path(name))
    h, w = size_for_budget(im.height, im.width, P, max_patches)
    px = ref.pixel_values(image_path(name), h, w, Image.BILINEAR)  # [3, h, w]
    gh, gw = h // P, w // P
    patches = px.reshape(3, gh, P, gw, P).transpose(1, 3, 2, 4, 0).reshape(gh * gw, -1)
    out = np.zeros((max_patches, 3 * P * P), np.float32)
    out[:gh * gw] = patches
    mask = np.zeros(max_patches, np.int64)
    mask[:gh * gw] = 1
    return out, mask, (gh, gw)


def resize_pos(table, gh, gw, max_len):
    """resize_positional_embeddings: the GRID×GRID table resized in float32 with bilinear,
    align_corners=False, antialias=True; rows past gh·gw take row 0."""
    grid = table.float().reshape(GRID, GRID, D).permute(2, 0, 1).unsqueeze(0)
    r = F.interpolate(grid, size=(gh, gw), mode="bilinear", align_corners=False, antialias=True)
    r = r.reshape(D, gh * gw).transpose(0, 1).to(table.dtype)
    out = r[0].expand(max_len, D).clone()
    out[:gh * gw] = r
    return out


def vision(w, pixels, mask, shapes):
    """Siglip2VisionTransformer: (last_hidden_state, pooler_output), float64."""
    B, N, _ = pixels.shape
    x = pixels @ w["vision_model.embeddings.patch_embedding.weight"].T + w["vision_model.embeddings.patch_embedding.bias"]
    table = w["vision_model.embeddings.position_embedding.weight"]
    x = x + torch.stack([resize_pos(table, gh, gw, N) for gh, gw in shapes])
    x = ref.encoder(w, "vision_model", x, VISION, mask)
    last = ref.layer_norm(w, "vision_model.post_layernorm", x, 1e-6)
    H, dh = VISION["num_attention_heads"], D // VISION["num_attention_heads"]
    wi, bi = w["vision_model.head.attention.in_proj_weight"], w["vision_model.head.attention.in_proj_bias"]
    q = (w["vision_model.head.probe"].expand(B, 1, D) @ wi[:D].T + bi[:D]).view(B, 1, H, dh).transpose(1, 2)
    k = (last @ wi[D:2 * D].T + bi[D:2 * D]).view(B, N, H, dh).transpose(1, 2)
    v = (last @ wi[2 * D:].T + bi[2 * D:]).view(B, N, H, dh).transpose(1, 2)
    add = (1.0 - mask[:, None, None, :].double()) * torch.finfo(torch.float64).min
    a = torch.softmax((q @ k.transpose(2, 3)) / math.sqrt(dh) + add, dim=-1) @ v
    o = ref.linear(w, "vision_model.head.attention.out_proj", a.transpose(1, 2).reshape(B, 1, D))
    hh = ref.layer_norm(w, "vision_model.head.layernorm", o, 1e-6)
    o = o + ref.linear(w, "vision_model.head.mlp.fc2", ref.gelu_tanh(ref.linear(w, "vision_model.head.mlp.fc1", hh)))
    return last, o[:, 0]


def weights():
    w = init_weights(4000, 17)
    g = torch.Generator().manual_seed(1616)
    w["vision_model.embeddings.patch_embedding.weight"] = (
        torch.randn(D, 3 * P * P, generator=g) / np.sqrt(3 * P * P)).to(torch.bfloat16).float().numpy()
    w["vision_model.embeddings.position_embedding.weight"] = (
        0.5 * torch.randn(GRID * GRID, D, generator=g)).to(torch.bfloat16).float().numpy()
    return w


def write_dir(w):
    cfg = {"architectures": ["Siglip2Model"], "initializer_factor": 1.0, "model_type": "siglip2",
           "text_config": dict(TEXT, vocab_size=4000, model_type="siglip2_text_model",
                               projection_size=32, pad_token_id=0),
           "vision_config": dict(VISION, model_type="siglip2_vision_model"),
           "transformers_version": "4.50.0.dev0"}
    json.dump(cfg, open(os.path.join(HERE, "config.json"), "w"), indent=2)
    json.dump({"do_convert_rgb": None, "do_normalize": True, "do_rescale": True, "do_resize": True,
               "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Siglip2ImageProcessor",
               "image_std": [0.5, 0.5, 0.5], "max_num_patches": MAX_PATCHES, "patch_size": P,
               "processor_class": "Siglip2Processor", "resample": 2,
               "rescale_factor": 0.00392156862745098},
              open(os.path.join(HERE, "preprocessor_config.json"), "w"), indent=2)
    for f in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copy(os.path.join(DATA, "siglip2", f), os.path.join(HERE, f))
    ref.write_safetensors(os.path.join(HERE, "model.safetensors"), w, bf16=True)


def run_case(store, prefix, wt, names, max_patches, ids=None, t_pool=None):
    items = [naflex_inputs(n, max_patches) for n in names]
    px = np.stack([i[0] for i in items])
    mask = np.stack([i[1] for i in items])
    shapes = [i[2] for i in items]
    store[prefix + "pixel_values"] = px
    store[prefix + "pixel_attention_mask"] = mask
    store[prefix + "spatial_shapes"] = np.array(shapes, np.int64)
    last, pooled = vision(wt, torch.from_numpy(px).double(), torch.from_numpy(mask), shapes)
    ref.store_outputs(store, prefix + "f64.", wt, last, pooled, t_pool, text_outputs=False)


def main():
    make_images()
    w = weights()
    write_dir(w)
    wt = ref.as_torch(w)
    store = {}
    ids = np.array([bpe.padded(t, 64)[0] for t in TEXTS], np.int64)
    store["input_ids"] = ids
    t_last, t_pool = ref.text(wt, TEXT, torch.from_numpy(ids))
    store["f64.text.pooler_output"] = t_pool
    names = SHARED + list(MADE)
    run_case(store, "n24.", wt, names, MAX_PATCHES, ids, t_pool)
    run_case(store, "n7.", wt, ["rgb_97x61.png", "tall_1x64.png", "small_5x3.png"], 7)
    table = torch.from_numpy(w["vision_model.embeddings.position_embedding.weight"])
    for gh, gw in POS_SHAPES:  # F.interpolate(antialias=True) on the 4×4 grid, float32
        store[f"pos.{gh}x{gw}"] = resize_pos(table, gh, gw, gh * gw)
    # zero-shot: default template, padded to 64 with the mask, sigmoid(logits_per_image)
    zs_pool = zero_shot_text(wt, TEXT, bpe)
    run_case(store, "zs.", wt, names[:2], MAX_PATCHES, None, zs_pool)
    store["zs.scores"] = torch.sigmoid(store.pop("zs.f64.logits_per_image"))
    zero_shot = ref.ranked(store["zs.scores"], ZERO_SHOT_LABELS)
    tensors = ref.write_expected(os.path.join(HERE, "expected.safetensors"), store)
    json.dump({"generator": "siglip2-naflex/gen_naflex.py, torch " + torch.__version__,
               "images": names, "n7_images": ["rgb_97x61.png", "tall_1x64.png", "small_5x3.png"],
               "made_images": list(MADE), "texts": TEXTS, "pos_shapes": POS_SHAPES,
               "zero_shot_labels": ZERO_SHOT_LABELS, "zero_shot": zero_shot},
              open(os.path.join(HERE, "cases.json"), "w", encoding="utf-8"), ensure_ascii=False, indent=1)
    print(len(tensors), "tensors; shapes:", [tuple(s) for s in tensors["n24.spatial_shapes"]])


if __name__ == "__main__":
    main()
