#!/usr/bin/python3
# ref_siglip.py — a plain python3-torch reference of transformers' SiglipModel forward
# (models/siglip/modeling_siglip.py: SiglipVisionEmbeddings with interpolate_pos_encoding,
# SiglipEncoder, SiglipMultiheadAttentionPoolingHead, SiglipTextTransformer, the logit head) and
# of SiglipImageProcessor's PIL path, written from transformers' source for the fixtures of
# gen_fixtures.py; checked against the transformers-made tiny fixture by `python3 ref_siglip.py`.
import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "F16": np.float16}


def read_safetensors(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = blob[8 + n + a: 8 + n + b]
        if info["dtype"] == "BF16":  # as write_safetensors(bf16=True) stores them: float32 >> 16
            arr = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"]).copy()
    return out


def write_safetensors(path, tensors, bf16=False):
    """bf16: float32 tensors are stored as BF16 (their values must already be BF16-exact)."""
    names = sorted(tensors)
    header, offset, blobs = {}, 0, []
    for name in names:
        arr = np.ascontiguousarray(tensors[name])
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[arr.dtype]
        raw = arr.tobytes()
        if bf16 and dtype == "F32":
            bits = arr.view(np.uint32)
            assert not (bits & 0xFFFF).any(), name + " is not BF16-exact"
            dtype, raw = "BF16", (bits >> 16).astype(np.uint16).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def linear(w, prefix, x):
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def layer_norm(w, prefix, x, eps):
    return F.layer_norm(x, (x.shape[-1],), w[prefix + ".weight"], w[prefix + ".bias"], eps)


def encoder(w, prefix, x, cfg, mask=None):
    """SiglipEncoder (eager attention): pre-LN layers; mask: [B, T] of 1/0 or None."""
    B, T, D = x.shape
    H = cfg["num_attention_heads"]
    dh = D // H
    eps = cfg.get("layer_norm_eps", 1e-6)
    add = None
    if mask is not None:  # _prepare_4d_attention_mask: 0 where attended, dtype min elsewhere
        add = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
    for i in range(cfg["num_hidden_layers"]):
        p = f"{prefix}.encoder.layers.{i}"
        h = layer_norm(w, p + ".layer_norm1", x, eps)
        q = linear(w, p + ".self_attn.q_proj", h).view(B, T, H, dh).transpose(1, 2)
        k = linear(w, p + ".self_attn.k_proj", h).view(B, T, H, dh).transpose(1, 2)
        v = linear(w, p + ".self_attn.v_proj", h).view(B, T, H, dh).transpose(1, 2)
        s = (q @ k.transpose(2, 3)) * dh ** -0.5
        if add is not None:
            s = s + add
        a = torch.softmax(s, dim=-1) @ v
        x = x + linear(w, p + ".self_attn.out_proj", a.transpose(1, 2).reshape(B, T, D))
        h = layer_norm(w, p + ".layer_norm2", x, eps)
        x = x + linear(w, p + ".mlp.fc2", gelu_tanh(linear(w, p + ".mlp.fc1", h)))
    return x


def interpolate_pos(table, height, width, patch):
    """SiglipVisionEmbeddings.interpolate_pos_encoding: table [N, D] → [(h/p)·(w/p), D]."""
    n, dim = table.shape
    side = int(n ** 0.5)
    grid = table.reshape(1, side, side, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(height // patch, width // patch), mode="bicubic",
                         align_corners=False)
    return grid.permute(0, 2, 3, 1).reshape(-1, dim)


def vision(w, cfg, pixels, interpolate=False):
    """pixels [B, C, H, W] → (last_hidden_state, pooler_output)."""
    p = cfg["patch_size"]
    x = F.conv2d(pixels, w["vision_model.embeddings.patch_embedding.weight"],
                 w["vision_model.embeddings.patch_embedding.bias"], stride=p)
    x = x.flatten(2).transpose(1, 2)
    table = w["vision_model.embeddings.position_embedding.weight"]
    H, W = pixels.shape[2:]
    if interpolate and not (x.shape[1] == table.shape[0] and H == W):
        table = interpolate_pos(table, H, W, p)
    x = x + table[None]
    eps = cfg.get("layer_norm_eps", 1e-6)
    x = encoder(w, "vision_model", x, cfg)
    last = layer_norm(w, "vision_model.post_layernorm", x, eps)
    # SiglipMultiheadAttentionPoolingHead: nn.MultiheadAttention(probe, last, last)
    B, N, D = last.shape
    Hh = cfg["num_attention_heads"]
    dh = D // Hh
    wi, bi = w["vision_model.head.attention.in_proj_weight"], w["vision_model.head.attention.in_proj_bias"]
    probe = w["vision_model.head.probe"].expand(B, 1, D)
    q = (probe @ wi[:D].T + bi[:D]).view(B, 1, Hh, dh).transpose(1, 2)
    k = (last @ wi[D:2 * D].T + bi[D:2 * D]).view(B, N, Hh, dh).transpose(1, 2)
    v = (last @ wi[2 * D:].T + bi[2 * D:]).view(B, N, Hh, dh).transpose(1, 2)
    a = torch.softmax((q @ k.transpose(2, 3)) / math.sqrt(dh), dim=-1) @ v
    o = linear(w, "vision_model.head.attention.out_proj", a.transpose(1, 2).reshape(B, 1, D))
    h = layer_norm(w, "vision_model.head.layernorm", o, eps)
    o = o + linear(w, "vision_model.head.mlp.fc2", gelu_tanh(linear(w, "vision_model.head.mlp.fc1", h)))
    return last, o[:, 0]


def text(w, cfg, ids, mask=None):
    """ids [B, T] → (last_hidden_state, pooler_output = head(last[:, -1]))."""
    T = ids.shape[1]
    x = w["text_model.embeddings.token_embedding.weight"][ids]
    x = x + w["text_model.embeddings.position_embedding.weight"][:T][None]
    x = encoder(w, "text_model", x, cfg, mask)
    last = layer_norm(w, "text_model.final_layer_norm", x, cfg.get("layer_norm_eps", 1e-6))
    return last, linear(w, "text_model.head", last[:, -1])


def logits(w, text_pooled, image_pooled):
    t = text_pooled / text_pooled.norm(p=2, dim=-1, keepdim=True)
    i = image_pooled / image_pooled.norm(p=2, dim=-1, keepdim=True)
    per_text = t @ i.T * w["logit_scale"].exp() + w["logit_bias"]
    return per_text.T, per_text, t, i


def store_outputs(store, prefix, w, v_last, v_pool, t_pool=None, text_outputs=True):
    """The vision tower's outputs as store[prefix + name], and with t_pool (the text tower's
    pooler) image_embeds and logits_per_image, also text.pooler_output and text_embeds when
    text_outputs."""
    store[prefix + "vision.last_hidden_state"] = v_last
    store[prefix + "vision.pooler_output"] = v_pool
    if t_pool is not None:
        lpi, _, te, ie = logits(w, t_pool, v_pool)
        if text_outputs:
            store[prefix + "text.pooler_output"] = t_pool
            store[prefix + "text_embeds"] = te
        store[prefix + "image_embeds"] = ie
        store[prefix + "logits_per_image"] = lpi


def write_expected(path, store):
    """store's tensors in a safetensors file, float32 (int64 kept); returns them as numpy."""
    tensors = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in store.items()}
    tensors = {k: (v.astype(np.float32) if v.dtype != np.int64 else v) for k, v in tensors.items()}
    write_safetensors(path, tensors)
    return tensors


def ranked(scores, labels):
    """Each row of scores [n_image, n_label] as the zero-shot pipeline returns it: labels with
    their scores, best first."""
    return [[{"label": labels[j], "score": float(row[j])} for j in row.argsort(descending=True)]
            for row in scores]


def pixel_values(path, height, width, resample, mean=0.5, std=0.5, scale=1 / 255):
    """SiglipImageProcessor (PIL backend): RGB, resize((w, h), resample), rescale in float64 then
    float32, normalize in float32; [3, H, W]."""
    im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    im = im.resize((width, height), resample)
    a = (np.asarray(im).astype(np.float64) * scale).astype(np.float32)
    a = (a - np.float32(mean)) / np.float32(std)
    return a.transpose(2, 0, 1).copy()


def as_torch(weights, dtype=torch.float64):
    return {k: torch.from_numpy(v).to(dtype) for k, v in weights.items()}


def self_check(data="../"):
    """This reference on the transformers-made tiny fixture: every output within float64
    rounding of transformers' float64 forward."""
    w = as_torch(read_safetensors(data + "tiny/model.safetensors"))
    cfg_all = json.load(open(data + "tiny/config.json"))
    exp = read_safetensors(data + "tiny-expected.safetensors")
    ids = torch.from_numpy(exp["public.input_ids"])
    px = torch.from_numpy(exp["public.pixel_values.SiglipImageProcessorPil"]).double()
    tl, tp = text(w, cfg_all["text_config"], ids)
    vl, vp = vision(w, cfg_all["vision_config"], px)
    lpi, lpt, te, ie = logits(w, tp, vp)
    worst = 0.0
    for name, got in [("text.last_hidden_state", tl), ("text.pooler_output", tp),
                      ("vision.last_hidden_state", vl), ("vision.pooler_output", vp),
                      ("logits_per_image", lpi), ("text_embeds", te), ("image_embeds", ie)]:
        want = exp["public.f64." + name]
        worst = max(worst, float(np.abs(got.numpy() - want).max()))
    mask = torch.from_numpy(exp["public.attention_mask"])
    tlm, tpm = text(w, cfg_all["text_config"], ids, mask)
    lpi_m = logits(w, tpm, vp)[0]
    worst_masked = float(np.abs(lpi_m.numpy() - exp["public.f32.masked.logits_per_image"]).max())
    return worst, worst_masked


if __name__ == "__main__":
    worst, masked = self_check()
    print(f"max |reference - transformers f64| = {worst:.3g}; masked logits vs transformers f32: {masked:.3g}")
