#!/usr/bin/python3
# gen_naflex_cls.py — the Siglip2ForImageClassification fixture of tests/test_naflex.c: the NaFlex
# vision tower of ../siglip2-naflex (same weights, processor and images) with a classifier, and
# its logits from a float64 reference written from transformers' models/siglip2/modeling_siglip2.py
# (Siglip2ForImageClassification.forward: the vision last_hidden_state averaged over each image's
# own patches, sum(x · pixel_attention_mask) / sum(pixel_attention_mask), then the classifier):
#   config.json               model_type "siglip2", Siglip2ForImageClassification, 5 labels
#   preprocessor_config.json  ../siglip2-naflex's (max_num_patches 24, bilinear)
#   model.safetensors         vision_model.* (head included, as transformers saves it, unused by
#                             this path) and classifier.*, BF16
#   expected.safetensors      the n24 and n7 batches' pixel_values / masks / grids and f64 logits
# Run at development time: /usr/bin/python3 gen_naflex_cls.py (after ../siglip2-naflex/gen_naflex.py).
import json
import os
import shutil
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
NAFLEX = os.path.join(os.path.dirname(HERE), "siglip2-naflex")
sys.path.insert(0, NAFLEX)
import gen_naflex as nf  # noqa: E402  (puts ../siglip2 on the path too)
from gen_naflex import ref  # noqa: E402

LABELS = ["heron", "kettle", "lighthouse", "moss", "umbrella"]
N7_IMAGES = ["rgb_97x61.png", "tall_1x64.png", "small_5x3.png"]


def weights():
    w = {k: v for k, v in nf.weights().items() if k.startswith("vision_model.")}
    g = torch.Generator().manual_seed(2424)
    w["classifier.weight"] = (torch.randn(len(LABELS), nf.D, generator=g) / np.sqrt(nf.D)).to(
        torch.bfloat16).float().numpy()
    w["classifier.bias"] = (0.1 * torch.randn(len(LABELS), generator=g)).to(
        torch.bfloat16).float().numpy()
    return w


def write_dir(w):
    cfg = {"architectures": ["Siglip2ForImageClassification"], "model_type": "siglip2",
           "id2label": {str(i): l for i, l in enumerate(LABELS)},
           "label2id": {l: i for i, l in enumerate(LABELS)}, "initializer_factor": 1.0,
           "text_config": {"model_type": "siglip2_text_model"},
           "vision_config": dict(nf.VISION, model_type="siglip2_vision_model"),
           "transformers_version": "5.17.0"}
    json.dump(cfg, open(os.path.join(HERE, "config.json"), "w"), indent=2)
    shutil.copy(os.path.join(NAFLEX, "preprocessor_config.json"), HERE)
    ref.write_safetensors(os.path.join(HERE, "model.safetensors"), w, bf16=True)


def run_case(store, prefix, wt, names, max_patches):
    items = [nf.naflex_inputs(n, max_patches) for n in names]
    px = np.stack([i[0] for i in items])
    mask = np.stack([i[1] for i in items])
    store[prefix + "pixel_values"] = px
    store[prefix + "pixel_attention_mask"] = mask
    store[prefix + "spatial_shapes"] = np.array([i[2] for i in items], np.int64)
    mt = torch.from_numpy(mask)
    last, _ = nf.vision(wt, torch.from_numpy(px).double(), mt, [i[2] for i in items])
    pool = mt[..., None].double()
    mean = (last * pool).sum(1) / pool.sum(1)  # [B, D]: the image's own patches only
    store[prefix + "f64.logits"] = ref.linear(wt, "classifier", mean)
    # what a plain mean over all N rows (padding included) would give: the test checks that the
    # fixture tells the two apart
    store[prefix + "f64.logits_unmasked"] = ref.linear(wt, "classifier", last.mean(1))


def main():
    w = weights()
    write_dir(w)
    wt = ref.as_torch(w)
    store = {}
    names = nf.SHARED + list(nf.MADE)
    run_case(store, "n24.", wt, names, nf.MAX_PATCHES)
    run_case(store, "n7.", wt, N7_IMAGES, 7)
    tensors = ref.write_expected(os.path.join(HERE, "expected.safetensors"), store)
    json.dump({"generator": "siglip2-naflex-cls/gen_naflex_cls.py, torch " + torch.__version__,
               "images": names, "n7_images": N7_IMAGES, "made_images": list(nf.MADE),
               "labels": LABELS},
              open(os.path.join(HERE, "cases.json"), "w", encoding="utf-8"), indent=1)
    print(len(tensors), "tensors")


if __name__ == "__main__":
    main()
