#!/usr/bin/python3
"""gen.py — the expectations of tests/test_immich.c: what Immich's machine-learning service
computes, written here from its source (immich-app/immich, machine-learning/immich_ml/models/
transforms.py: decode_pil, resize_pil, crop_pil, to_numpy, normalize, clean_text; models/clip/
visual.py: OpenClipVisualEncoder.transform / _resize; models/clip/textual.py: tokenize) with
Pillow and numpy, and the model's forward from ../siglip2/ref_siglip.py (python3-torch, float64).

Outputs (committed; regeneration is deterministic):
  pixels.safetensors   "<case>/<image>": Immich's pixel values [3, S, S] float32, bit-exact
                       "dims/<image>": [height, width] as PIL reports them (Immich's imageHeight,
                       imageWidth: no EXIF transpose)
  embeds.safetensors   "<model>/image/<image>", "<model>/text/<i>": the normalized embedding a
                       drop-in must give (Immich's preprocessing + the model's forward)
  cases.json           the pixel cases, the clean_text cases and the embedded texts
Run with Debian's /usr/bin/python3 from this directory (python3-pil, python3-numpy,
python3-sentencepiece, python3-torch).
"""
import json
import os
import string
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(DATA, "siglip2"))
sys.path.insert(0, os.path.join(DATA, "tokenizer"))
import ref_siglip as ref  # noqa: E402

# --- Immich's transforms, as transforms.py writes them ---

PUNCTUATION = str.maketrans("", "", string.punctuation)
RESAMPLING = {r.name.lower(): r for r in Image.Resampling}


def decode_pil(data):
    image = Image.open(__import__("io").BytesIO(data))
    image.load()
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def resize_pil(img, size, resample):
    if img.width < img.height:
        return img.resize((size, int((img.height / img.width) * size)), resample=resample)
    return img.resize((int((img.width / img.height) * size), size), resample=resample)


def crop_pil(img, size):
    left = int((img.size[0] / 2) - (size / 2))
    upper = int((img.size[1] / 2) - (size / 2))
    return img.crop((left, upper, left + size, upper + size))


def to_numpy(img):
    return np.asarray(img if img.mode == "RGB" else img.convert("RGB"), dtype=np.float32) / 255.0


def normalize(img, mean, std):
    img *= 1.0 / std
    img -= mean / std
    return img


def clean_text(text, canonicalize=False):
    text = " ".join(text.split())
    if canonicalize:
        text = text.translate(PUNCTUATION).lower()
    return text


def transform(image, cfg):
    """OpenClipVisualEncoder._load + transform (the float path: session.normalizes_input false)."""
    size = cfg["size"][0] if isinstance(cfg["size"], list) else cfg["size"]
    resample = RESAMPLING[cfg["interpolation"].lower()]
    mean = np.array(cfg["mean"], dtype=np.float32)
    std = np.array(cfg["std"], dtype=np.float32)
    mode = cfg.get("resize_mode", "shortest")
    if mode == "squash":
        image = image.resize((size, size), resample=resample)
    else:
        assert mode == "shortest"
        image = crop_pil(resize_pil(image, size, resample), size)
    return normalize(to_numpy(image), mean, std).transpose(2, 0, 1)


# --- the cases ---

IMAGES = ["images/baseline_80x60.jpg", "images/gray_50x50.png", "images/palette_30x30.png",
          "images/rgb_13x21.png", "images/rgb_33x17.bmp", "images/rgb_97x61.png",
          "images/rgba_45x33.png", "images/rgb_640x480.png", "images-extra/in/exif_6.jpg",
          "images-extra/in/exif_3.jpg", "images-extra/in/exif_8.webp",
          "images-extra/in/png_exif1_xmp6.png"]
# (case, processor: the model directory loaded, then Immich's mode with this preprocess_cfg
# directory (None: open_clip's SigLIP defaults at the model's size), its cfg, images)
OPENCLIP_SIGLIP = {"mean": [0.5] * 3, "std": [0.5] * 3, "interpolation": "bicubic"}
PIXEL_CASES = [
    ("tiny-default", "tiny", None, dict(OPENCLIP_SIGLIP, size=40), IMAGES),
    ("siglip2-default", "siglip2", None, dict(OPENCLIP_SIGLIP, size=32), IMAGES[:6] + IMAGES[8:9]),
    ("squash", "tiny", "immich/cfg-squash", None, IMAGES[3:7] + IMAGES[8:9]),
    ("odd", "tiny", "immich/cfg-odd", None, IMAGES[:2] + IMAGES[5:9]),
]

CLEAN_TEXTS = [
    "a photo of a cat", "  A Photo  of\ta DOG!  ", "", "   ", "!!!", "don't stop-believing (really)",
    "mixed\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000spaces",
    "zero\u200bwidth\ufeffnot space", "ΟΔΥΣΣΕΥΣ ΣΑΣ Σ ΑΣ. ΑΣ'Σ", "İstanbul I\u0307 ı ß ẞ ǅ",
    "Ｆｕｌｌ　Ｗｉｄｔｈ！", "日本語のテキスト、中文。", "Привет, МИР!", "a - b", "x...y,,,z",
    "emoji 😀 👍🏽 👨‍👩‍👧", "tab\there new\nline", "[brackets] {braces} <angles> \\back/slash",
    "#tags @users $5 100% ^caret_ `tick` ~tilde|pipe", "ÀÉÎÕÜ Ç Ñ Ø Å Æ Œ",
    "\u00bfQu\u00e9? \u00a1S\u00ed! \u00ab guillemets \u00bb \u201cquotes\u201d \u2014 dash",
]
EMBED_TEXTS = ["a photo of a cat", "  A Photo  of\ta DOG!  ", "Sunset at the BEACH, 2019...",
               "Привет, МИР!", "the quick brown fox jumps over the lazy dog " * 12]
EMBED_IMAGES = ["images/rgb_97x61.png", "images-extra/in/exif_6.jpg", "images/rgba_45x33.png",
                "images/baseline_80x60.jpg"]


def image_embeds(embeds, model, size):
    """embeds["<model>/image/<image>"] for EMBED_IMAGES: Immich's preprocessing (open_clip's
    SigLIP values at the model's size) and the float64 vision tower, normalized. Returns the
    model's weights and config."""
    w = ref.as_torch(ref.read_safetensors(os.path.join(DATA, model, "model.safetensors")))
    cfg = json.load(open(os.path.join(DATA, model, "config.json")))
    px = torch.from_numpy(np.stack([transform(load_image(r), dict(OPENCLIP_SIGLIP, size=size))
                                    for r in EMBED_IMAGES])).double()
    pool = ref.vision(w, cfg["vision_config"], px)[1]
    for r, v in zip(EMBED_IMAGES, pool / pool.norm(dim=-1, keepdim=True)):
        embeds["%s/image/%s" % (model, r)] = v.numpy().astype(np.float32)
    return w, cfg


def read_cfg(case_dir):
    with open(os.path.join(DATA, case_dir, "preprocess_cfg.json")) as f:
        return json.load(f)


def load_image(rel):
    with open(os.path.join(DATA, rel), "rb") as f:
        return decode_pil(f.read())


def main():
    pixels = {}
    cases = {"pixels": [], "clean": [], "embed": {}}
    for name, model, cfg_dir, cfg, images in PIXEL_CASES:
        cfg = cfg or read_cfg(cfg_dir)
        for rel in images:
            pixels[name + "/" + rel] = transform(load_image(rel), cfg)
        cases["pixels"].append({"name": name, "model": model, "preprocess_cfg": cfg_dir,
                                "images": images})
    for rel in IMAGES:
        im = load_image(rel)
        pixels["dims/" + rel] = np.array([im.height, im.width], np.int64)
    ref.write_safetensors(os.path.join(HERE, "pixels.safetensors"), pixels)
    for text in CLEAN_TEXTS:
        for canon in (False, True):
            cases["clean"].append({"text": text, "canonicalize": canon,
                                   "expected": clean_text(text, canon)})

    embeds = {}
    # tiny (SigLIP, SentencePiece): both towers. Text: clean_text with "canonicalize" (open_clip's
    # SigLIP text_cfg), the checkpoint's tokenizer padded to 64, no attention mask (open_clip's
    # text tower, which Immich exports, has none).
    import gen_cases as sp  # SiglipTokenizer rules on python3-sentencepiece
    w, cfg = image_embeds(embeds, "tiny", 40)
    ids = torch.tensor([sp.padded(clean_text(t, True), 64)[0] for t in EMBED_TEXTS])
    tpool = ref.text(w, cfg["text_config"], ids)[1]
    for i, v in enumerate(tpool / tpool.norm(dim=-1, keepdim=True)):
        embeds["tiny/text/%d" % i] = v.numpy().astype(np.float32)
    cases["embed"]["tiny"] = {"images": EMBED_IMAGES, "texts": EMBED_TEXTS,
                              "ids": ids.tolist()}
    # siglip2 fixture (BF16 weights, its HF config bilinear): the vision tower on Immich's path
    image_embeds(embeds, "siglip2", 32)
    cases["embed"]["siglip2"] = {"images": EMBED_IMAGES}
    ref.write_safetensors(os.path.join(HERE, "embeds.safetensors"), embeds)
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
