#!/usr/bin/python3
"""siglip_torch.py — SigLIP in plain PyTorch (float32, no transformers) and random-weight SigLIP
model directories (config.json + model.safetensors written with struct/json/numpy), the baseline
side of bench/compare_torch.py. Semantics: docs/siglip-reference.md §2 (tensor names), §3 (forward).

numpy-only parts (shapes, safetensors, model directories) import without torch, so the orchestrating
process of compare_torch.py never loads torch or its BLAS; only its worker processes do.
"""
import json
import math
import os
import shutil
import struct

import numpy as np

# Published shapes (as tools/bench_shapes.c): vocab, text positions, text (D, F, layers, heads),
# vision (D, F, layers, heads), image size, patch size. "tiny" is the tests/data/tiny fixture's
# shape and "small" a quick one; both use the 1000-piece tests/data/tiny/spiece.model's vocab.
SHAPES = {
    "tiny":               (1000, 64, (32, 80, 2, 4), (32, 80, 2, 4), 40, 8),
    "small":              (1000, 64, (192, 768, 2, 3), (192, 768, 2, 3), 64, 16),
    "base-patch16-224":   (32000, 64, (768, 3072, 12, 12), (768, 3072, 12, 12), 224, 16),
    "base-patch16-256":   (32000, 64, (768, 3072, 12, 12), (768, 3072, 12, 12), 256, 16),
    "base-patch16-384":   (32000, 64, (768, 3072, 12, 12), (768, 3072, 12, 12), 384, 16),
    "base-patch16-512":   (32000, 64, (768, 3072, 12, 12), (768, 3072, 12, 12), 512, 16),
    "large-patch16-256":  (32000, 64, (1024, 4096, 24, 16), (1024, 4096, 24, 16), 256, 16),
    "large-patch16-384":  (32000, 64, (1024, 4096, 24, 16), (1024, 4096, 24, 16), 384, 16),
    "so400m-patch14-224": (32000, 16, (1152, 4304, 27, 16), (1152, 4304, 27, 16), 224, 14),
    "so400m-patch14-384": (32000, 64, (1152, 4304, 27, 16), (1152, 4304, 27, 16), 384, 14),
}

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_DIR = os.path.join(REPO, "tests", "data", "tiny")


# ---- configs ----

def shape_config(name):
    """config.json (HF format, SiglipModel) for a named shape."""
    vocab, positions, (td, tf, tl, th), (vd, vf, vl, vh), image, patch = SHAPES[name]
    return {
        "architectures": ["SiglipModel"],
        "model_type": "siglip",
        "dtype": "float32",
        "text_config": {
            "model_type": "siglip_text_model", "vocab_size": vocab,
            "max_position_embeddings": positions, "hidden_size": td, "intermediate_size": tf,
            "num_hidden_layers": tl, "num_attention_heads": th, "projection_size": td,
            "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6, "pad_token_id": 1,
        },
        "vision_config": {
            "model_type": "siglip_vision_model", "hidden_size": vd, "intermediate_size": vf,
            "num_hidden_layers": vl, "num_attention_heads": vh, "image_size": image,
            "patch_size": patch, "num_channels": 3, "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
        },
    }


def tower_dims(config):
    """The fields the forward needs, with SiglipConfig's defaults for missing keys."""
    t, v = config.get("text_config", {}), config.get("vision_config", {})
    text = {
        "vocab": t.get("vocab_size", 32000), "positions": t.get("max_position_embeddings", 64),
        "hidden": t.get("hidden_size", 768), "mlp": t.get("intermediate_size", 3072),
        "layers": t.get("num_hidden_layers", 12), "heads": t.get("num_attention_heads", 12),
        "eps": t.get("layer_norm_eps", 1e-6),
    }
    text["projection"] = t.get("projection_size", text["hidden"])
    vision = {
        "hidden": v.get("hidden_size", 768), "mlp": v.get("intermediate_size", 3072),
        "layers": v.get("num_hidden_layers", 12), "heads": v.get("num_attention_heads", 12),
        "image": v.get("image_size", 224), "patch": v.get("patch_size", 16),
        "channels": v.get("num_channels", 3), "eps": v.get("layer_norm_eps", 1e-6),
    }
    vision["patches"] = (vision["image"] // vision["patch"]) ** 2
    return text, vision


# ---- tensors (reference §2) and their random initialization ----

def _layer_specs(prefix, d, f):
    """(name, shape, init) of one encoder layer."""
    specs = []
    for ln in ("layer_norm1", "layer_norm2"):
        specs += [(f"{prefix}.{ln}.weight", (d,), "ln_weight"), (f"{prefix}.{ln}.bias", (d,), "ln_bias")]
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        specs += [(f"{prefix}.self_attn.{proj}.weight", (d, d), "linear"),
                  (f"{prefix}.self_attn.{proj}.bias", (d,), "bias")]
    specs += [(f"{prefix}.mlp.fc1.weight", (f, d), "linear"), (f"{prefix}.mlp.fc1.bias", (f,), "bias"),
              (f"{prefix}.mlp.fc2.weight", (d, f), "linear"), (f"{prefix}.mlp.fc2.bias", (d,), "bias")]
    return specs


def tensor_specs(config):
    """(name, shape, init) of every tensor of a SiglipModel, names exactly as in checkpoints."""
    text, vision = tower_dims(config)
    td, vd, p = text["hidden"], vision["hidden"], vision["patch"]
    specs = [("logit_scale", (1,), "logit_scale"), ("logit_bias", (1,), "logit_bias"),
             ("text_model.embeddings.token_embedding.weight", (text["vocab"], td), "embedding"),
             ("text_model.embeddings.position_embedding.weight", (text["positions"], td), "embedding")]
    for i in range(text["layers"]):
        specs += _layer_specs(f"text_model.encoder.layers.{i}", td, text["mlp"])
    specs += [("text_model.final_layer_norm.weight", (td,), "ln_weight"),
              ("text_model.final_layer_norm.bias", (td,), "ln_bias"),
              ("text_model.head.weight", (text["projection"], td), "linear"),
              ("text_model.head.bias", (text["projection"],), "bias"),
              ("vision_model.embeddings.patch_embedding.weight", (vd, vision["channels"], p, p), "linear"),
              ("vision_model.embeddings.patch_embedding.bias", (vd,), "bias"),
              ("vision_model.embeddings.position_embedding.weight", (vision["patches"], vd), "embedding")]
    for i in range(vision["layers"]):
        specs += _layer_specs(f"vision_model.encoder.layers.{i}", vd, vision["mlp"])
    head = "vision_model.head"
    specs += [("vision_model.post_layernorm.weight", (vd,), "ln_weight"),
              ("vision_model.post_layernorm.bias", (vd,), "ln_bias"),
              (f"{head}.probe", (1, 1, vd), "probe"),
              (f"{head}.attention.in_proj_weight", (3 * vd, vd), "linear"),
              (f"{head}.attention.in_proj_bias", (3 * vd,), "bias"),
              (f"{head}.attention.out_proj.weight", (vd, vd), "linear"),
              (f"{head}.attention.out_proj.bias", (vd,), "bias"),
              (f"{head}.layernorm.weight", (vd,), "ln_weight"), (f"{head}.layernorm.bias", (vd,), "ln_bias"),
              (f"{head}.mlp.fc1.weight", (vision["mlp"], vd), "linear"),
              (f"{head}.mlp.fc1.bias", (vision["mlp"],), "bias"),
              (f"{head}.mlp.fc2.weight", (vd, vision["mlp"]), "linear"),
              (f"{head}.mlp.fc2.bias", (vd,), "bias")]
    return specs


def random_tensor(rng, shape, init):
    """One tensor, scaled so activations stay O(1) through any depth: linear weights
    N(0, 1/fan_in) (fan_in = all dims but the first, so a patch conv counts c·p·p), LayerNorm
    weights near 1, small biases, embeddings of std 0.5."""
    if init == "logit_scale":
        return np.full(shape, math.log(10.0), np.float32)
    if init == "logit_bias":
        return np.full(shape, -10.0, np.float32)
    a = rng.standard_normal(shape, dtype=np.float32)
    if init == "linear":
        a *= np.float32(1.0 / math.sqrt(int(np.prod(shape[1:]))))
    elif init == "ln_weight":
        a = np.float32(1.0) + np.float32(0.05) * a
    elif init in ("ln_bias", "bias"):
        a *= np.float32(0.02)
    elif init == "embedding":
        a *= np.float32(0.5)
    return a  # "probe": N(0, 1)


# ---- safetensors ----

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64,
           "I32": np.int32, "BF16": np.uint16}


def safetensors_header(entries):
    """The header bytes (8-byte LE length + JSON padded with spaces to a multiple of 8) for
    entries [(name, dtype, shape)], tensors stored contiguously in that order."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape in entries:
        size = int(np.prod(shape, dtype=np.int64)) * np.dtype(_DTYPES[dtype]).itemsize
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def write_safetensors(path, tensors):
    """tensors: {name: array} (F32, F64, I64, I32 or F16)."""
    rev = {np.dtype(v): k for k, v in _DTYPES.items() if k != "BF16"}
    entries = [(k, rev[np.asarray(a).dtype], np.shape(a)) for k, a in tensors.items()]
    with open(path, "wb") as f:
        f.write(safetensors_header(entries))
        for a in tensors.values():
            f.write(np.ascontiguousarray(a).tobytes())


def read_safetensors(path, names=None):
    """{name: array}; BF16 and F16 come back as float32. names: the subset to read (all if None)."""
    out = {}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        for name, meta in header.items():
            if name == "__metadata__" or (names is not None and name not in names):
                continue
            start, end = meta["data_offsets"]
            f.seek(base + start)
            raw = np.frombuffer(f.read(end - start), _DTYPES[meta["dtype"]])
            if meta["dtype"] == "BF16":
                raw = (raw.astype(np.uint32) << 16).view(np.float32)
            elif meta["dtype"] == "F16":
                raw = raw.astype(np.float32)
            out[name] = raw.copy().reshape(meta["shape"])
    return out


# ---- model directories ----

def write_model_dir(directory, name, seed=1):
    """A complete random-weight model directory for shape `name`: config.json, model.safetensors
    (F32, generated tensor by tensor so memory stays at one tensor), the tiny fixture's
    spiece.model + a tokenizer_config.json with model_max_length = the text positions, and a flat
    preprocessor_config.json sized to the image size (so a PNG of exactly that size is not resized).
    A stamp file records shape and seed so a kept --model-dir is reused, not rewritten."""
    os.makedirs(directory, exist_ok=True)
    stamp_path = os.path.join(directory, "random-weights.json")
    stamp = {"shape": name, "seed": seed, "writer": "bench/siglip_torch.py v1"}
    if os.path.exists(stamp_path) and os.path.exists(os.path.join(directory, "model.safetensors")):
        with open(stamp_path) as f:
            if json.load(f) == stamp:
                return False
    config = shape_config(name)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    rng = np.random.default_rng(seed)
    specs = tensor_specs(config)
    tmp = os.path.join(directory, "model.safetensors.tmp")
    with open(tmp, "wb") as f:
        f.write(safetensors_header([(n, "F32", s) for n, s, _ in specs]))
        for _, shape, init in specs:
            f.write(random_tensor(rng, shape, init).tobytes())
    os.replace(tmp, os.path.join(directory, "model.safetensors"))
    shutil.copyfile(os.path.join(TINY_DIR, "spiece.model"), os.path.join(directory, "spiece.model"))
    with open(os.path.join(TINY_DIR, "tokenizer_config.json")) as f:
        tok = json.load(f)
    tok["model_max_length"] = config["text_config"]["max_position_embeddings"]
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump(tok, f, indent=2)
    size = config["vision_config"]["image_size"]
    pre = {"image_processor_type": "SiglipImageProcessor", "do_resize": True, "resample": 3,
           "size": {"height": size, "width": size}, "do_rescale": True,
           "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5],
           "image_std": [0.5, 0.5, 0.5], "do_convert_rgb": True}
    with open(os.path.join(directory, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
    with open(stamp_path, "w") as f:
        json.dump(stamp, f)
    return True


def load_config(directory):
    with open(os.path.join(directory, "config.json")) as f:
        return json.load(f)


def pixel_values_from_u8(rgb):
    """[H, W, 3] uint8 → [3, H, W] float32 as transformers' SiglipImageProcessorPil without
    resize: float32(x · 1/255 in float64), then (· − 0.5) / 0.5 in float32 — identical to the
    fixture's pixel_values (rescaling in float32 instead is off by up to 1.2e-7)."""
    x = (rgb.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.float32(0.5)) / np.float32(0.5)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


# ---- the forward in PyTorch ----

class SiglipTorch:
    """SiglipModel's forward (reference §3) in plain PyTorch; call under torch.no_grad()."""

    def __init__(self, config, tensors, dtype=None):
        import torch
        self.torch = torch
        self.dtype = dtype or torch.float32
        self.text_dims, self.vision_dims = tower_dims(config)
        self.w = {k: torch.from_numpy(v).to(self.dtype) for k, v in tensors.items()}
        # Plain-int shapes: torch.onnx.export needs LayerNorm's normalized_shape constant.
        self.shapes = {k: tuple(v.shape) for k, v in tensors.items()}

    @classmethod
    def from_dir(cls, directory, dtype=None):
        return cls(load_config(directory), read_safetensors(os.path.join(directory, "model.safetensors")),
                   dtype)

    def _linear(self, x, prefix):
        return self.torch.nn.functional.linear(x, self.w[prefix + ".weight"], self.w[prefix + ".bias"])

    def _layer_norm(self, x, prefix, eps):
        return self.torch.nn.functional.layer_norm(x, self.shapes[prefix + ".weight"], self.w[prefix + ".weight"],
                                                   self.w[prefix + ".bias"], eps)

    def _attention(self, q, k, v, heads, key_mask_add):
        """q [B, Nq, D], k/v [B, Nk, D] already projected → [B, Nq, D]."""
        b, nq, d = q.shape
        dh = d // heads
        q = q.view(b, nq, heads, dh).transpose(1, 2)
        k = k.view(b, -1, heads, dh).transpose(1, 2)
        v = v.view(b, -1, heads, dh).transpose(1, 2)
        scores = self.torch.matmul(q, k.transpose(-1, -2)) * (dh ** -0.5)  # [B, H, Nq, Nk]
        if key_mask_add is not None:
            scores = scores + key_mask_add
        probs = self.torch.softmax(scores, dim=-1)
        return self.torch.matmul(probs, v).transpose(1, 2).reshape(b, nq, d)

    def _encoder(self, x, prefix, dims, key_mask_add):
        F = self.torch.nn.functional
        for i in range(dims["layers"]):
            p = f"{prefix}.layers.{i}"
            h = self._layer_norm(x, p + ".layer_norm1", dims["eps"])
            a = p + ".self_attn"
            o = self._attention(self._linear(h, a + ".q_proj"), self._linear(h, a + ".k_proj"),
                                self._linear(h, a + ".v_proj"), dims["heads"], key_mask_add)
            x = x + self._linear(o, a + ".out_proj")
            h = self._layer_norm(x, p + ".layer_norm2", dims["eps"])
            h = F.gelu(self._linear(h, p + ".mlp.fc1"), approximate="tanh")
            x = x + self._linear(h, p + ".mlp.fc2")
        return x

    def text(self, input_ids, attention_mask=None):
        """input_ids [B, T] int64, attention_mask [B, T] (1 attend / 0 padding) or None →
        (last_hidden_state [B, T, D], pooler_output [B, Dp])."""
        dims, w = self.text_dims, self.w
        t = input_ids.shape[1]
        x = w["text_model.embeddings.token_embedding.weight"][input_ids]
        x = x + w["text_model.embeddings.position_embedding.weight"][:t]
        mask_add = None
        if attention_mask is not None:  # HF: dtype-min on masked keys, [B, 1, 1, T]
            masked = (attention_mask == 0)[:, None, None, :]
            mask_add = masked.to(self.dtype) * self.torch.finfo(self.dtype).min
        x = self._encoder(x, "text_model.encoder", dims, mask_add)
        last = self._layer_norm(x, "text_model.final_layer_norm", dims["eps"])
        return last, self._linear(last[:, -1], "text_model.head")

    def vision(self, pixel_values):
        """pixel_values [B, C, H, W] → (last_hidden_state [B, N, D], pooler_output [B, D])."""
        dims, w = self.vision_dims, self.w
        x = self.torch.nn.functional.conv2d(pixel_values.to(self.dtype),
                                            w["vision_model.embeddings.patch_embedding.weight"],
                                            w["vision_model.embeddings.patch_embedding.bias"],
                                            stride=dims["patch"])
        x = x.flatten(2).transpose(1, 2) + w["vision_model.embeddings.position_embedding.weight"]
        x = self._encoder(x, "vision_model.encoder", dims, None)
        last = self._layer_norm(x, "vision_model.post_layernorm", dims["eps"])
        return last, self._attention_pool(last)

    def _attention_pool(self, hidden):
        """The MAP head: one probe query over the hidden states [B, N, D] → [B, D]."""
        F, w, d = self.torch.nn.functional, self.w, hidden.shape[-1]
        head = "vision_model.head"
        wi, bi = w[head + ".attention.in_proj_weight"], w[head + ".attention.in_proj_bias"]
        probe = w[head + ".probe"].expand(hidden.shape[0], 1, d)
        q = F.linear(probe, wi[:d], bi[:d])
        k = F.linear(hidden, wi[d:2 * d], bi[d:2 * d])
        v = F.linear(hidden, wi[2 * d:], bi[2 * d:])
        o = self._linear(self._attention(q, k, v, self.vision_dims["heads"], None),
                         head + ".attention.out_proj")
        h = self._layer_norm(o, head + ".layernorm", self.vision_dims["eps"])
        o = o + self._linear(F.gelu(self._linear(h, head + ".mlp.fc1"), approximate="tanh"),
                             head + ".mlp.fc2")
        return o[:, 0]

    def logits_per_image(self, text_pooler, image_pooler):
        """[images, texts] = normalized image · normalized textᵀ · exp(logit_scale) + logit_bias."""
        t = text_pooler / text_pooler.norm(dim=-1, keepdim=True)
        i = image_pooler / image_pooler.norm(dim=-1, keepdim=True)
        return i @ t.T * self.w["logit_scale"].exp() + self.w["logit_bias"]
