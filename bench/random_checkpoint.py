#!/usr/bin/env python3
"""random_checkpoint.py — writes a SigLIP model directory of base-patch16-224 shape with random
float32 weights (one model.safetensors, as the Hub's google/siglip-base-patch16-224), for measuring
load time and memory with a real file (siglip bench's random models never read one).

Usage: random_checkpoint.py OUT_DIR [--companions DIR]
--companions copies spiece.model, tokenizer_config.json and preprocessor_config.json from DIR
(e.g. the medium fixture) so that `siglip embed -t` works.
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

D, F, L, V, T, P, IMG = 768, 3072, 12, 32000, 64, 16, 224


def tensors():
    """(name, shape) of every tensor of SiglipModel at base-patch16-224, in checkpoint order."""
    def layer(prefix):
        out = []
        for ln in ("layer_norm1", "layer_norm2"):
            out += [(f"{prefix}.{ln}.weight", [D]), (f"{prefix}.{ln}.bias", [D])]
        for p in ("q_proj", "k_proj", "v_proj", "out_proj"):
            out += [(f"{prefix}.self_attn.{p}.weight", [D, D]), (f"{prefix}.self_attn.{p}.bias", [D])]
        out += [(f"{prefix}.mlp.fc1.weight", [F, D]), (f"{prefix}.mlp.fc1.bias", [F]),
                (f"{prefix}.mlp.fc2.weight", [D, F]), (f"{prefix}.mlp.fc2.bias", [D])]
        return out
    t = [("logit_scale", [1]), ("logit_bias", [1]),
         ("text_model.embeddings.token_embedding.weight", [V, D]),
         ("text_model.embeddings.position_embedding.weight", [T, D])]
    for i in range(L):
        t += layer(f"text_model.encoder.layers.{i}")
    t += [("text_model.final_layer_norm.weight", [D]), ("text_model.final_layer_norm.bias", [D]),
          ("text_model.head.weight", [D, D]), ("text_model.head.bias", [D]),
          ("vision_model.embeddings.patch_embedding.weight", [D, 3, P, P]),
          ("vision_model.embeddings.patch_embedding.bias", [D]),
          ("vision_model.embeddings.position_embedding.weight", [(IMG // P) ** 2, D])]
    for i in range(L):
        t += layer(f"vision_model.encoder.layers.{i}")
    t += [("vision_model.post_layernorm.weight", [D]), ("vision_model.post_layernorm.bias", [D]),
          ("vision_model.head.probe", [1, 1, D]),
          ("vision_model.head.attention.in_proj_weight", [3 * D, D]),
          ("vision_model.head.attention.in_proj_bias", [3 * D]),
          ("vision_model.head.attention.out_proj.weight", [D, D]),
          ("vision_model.head.attention.out_proj.bias", [D]),
          ("vision_model.head.layernorm.weight", [D]), ("vision_model.head.layernorm.bias", [D]),
          ("vision_model.head.mlp.fc1.weight", [F, D]), ("vision_model.head.mlp.fc1.bias", [F]),
          ("vision_model.head.mlp.fc2.weight", [D, F]), ("vision_model.head.mlp.fc2.bias", [D])]
    return t


def main(argv):
    if not argv or argv[0].startswith("-"):  # --help, or no OUT_DIR: never a directory named so
        print(__doc__.strip())
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    out = argv[0]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    header, offset = {}, 0
    for name, shape in tensors():
        n = int(np.prod(shape)) * 4
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for name, shape in tensors():
            w = rng.standard_normal(shape, dtype=np.float32) * 0.02
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or \
                    "layernorm.weight" in name or "layer_norm.weight" in name:
                w += 1.0
            f.write(w.tobytes())
    config = {"architectures": ["SiglipModel"], "model_type": "siglip",
              "text_config": {"hidden_size": D, "intermediate_size": F, "num_attention_heads": 12,
                              "num_hidden_layers": L, "vocab_size": V,
                              "max_position_embeddings": T},
              "vision_config": {"hidden_size": D, "intermediate_size": F,
                                "num_attention_heads": 12, "num_hidden_layers": L,
                                "image_size": IMG, "patch_size": P}}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if "--companions" in argv:
        src = argv[argv.index("--companions") + 1]
        for name in ("spiece.model", "tokenizer_config.json", "preprocessor_config.json"):
            shutil.copy(os.path.join(src, name), out)


if __name__ == "__main__":
    main(sys.argv[1:])
