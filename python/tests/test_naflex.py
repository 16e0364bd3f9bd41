"""test_naflex.py — SigLIP 2 NaFlex through the package (Siglip2Model and
Siglip2ForImageClassification), against the fixtures tests/data/siglip2-naflex/gen_naflex.py and
siglip2-naflex-cls/gen_naflex_cls.py made with python3-pil and a python3-torch float64 forward
written from transformers' modeling_siglip2.py: the processor's outputs exactly (pixel_values,
pixel_attention_mask, spatial_shapes, as Siglip2ImageProcessor returns them), the towers within
1e-4 (as tests/test_naflex.c), zero-shot scores within 1e-5."""
import json
import os

import numpy as np
import pytest

import siglip
from conftest import DATA, IMAGES, assert_close, load_kwargs, read_safetensors

NAFLEX = os.path.join(DATA, "siglip2-naflex")
NAFLEX_CLS = os.path.join(DATA, "siglip2-naflex-cls")


def fixture(directory):
    with open(os.path.join(directory, "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    made = set(cases["made_images"])

    def path(name):
        return os.path.join(NAFLEX, "images", name) if name in made else os.path.join(IMAGES, name)
    return cases, read_safetensors(os.path.join(directory, "expected.safetensors")), path


@pytest.fixture(scope="module")
def naflex():
    model = siglip.SiglipModel.from_pretrained(NAFLEX, **load_kwargs())
    yield model
    model.close()


def check_inputs(got, expected, prefix):
    for key in ("pixel_values", "pixel_attention_mask", "spatial_shapes"):
        want = expected[prefix + key]
        assert got[key].shape == want.shape, (key, got[key].shape, want.shape)
        np.testing.assert_array_equal(got[key], want.astype(got[key].dtype), err_msg=key)


def test_processor_and_towers(naflex):
    cases, expected, path = fixture(NAFLEX)
    images = [path(n) for n in cases["images"]]
    proc = naflex.image_processor
    assert proc.max_num_patches == 24 and naflex.info["max_patches"] == 24
    inputs = naflex.processor(images=images)
    check_inputs(inputs, expected, "n24.")
    out = naflex.encode_image(**inputs, last_hidden_state=True)
    assert_close("n24 pooler_output", out["pooler_output"],
                 expected["n24.f64.vision.pooler_output"], 1e-4)
    assert_close("n24 last_hidden_state", out["last_hidden_state"],
                 expected["n24.f64.vision.last_hidden_state"], 1e-4)
    # from the images directly, and from the processor's output given as pixel_values
    assert_close("images=", naflex.get_image_features(images=images), out["pooler_output"], 1e-6)
    assert_close("mapping", naflex.get_image_features(inputs), out["pooler_output"], 1e-6)
    # another budget for one call (transformers' max_num_patches=), the processor's kept after
    n7 = [path(n) for n in cases["n7_images"]]
    small = proc(n7, max_num_patches=7)
    check_inputs(small, expected, "n7.")
    assert proc.max_num_patches == 24
    assert_close("n7 pooler_output", naflex.get_image_features(**small),
                 expected["n7.f64.vision.pooler_output"], 1e-4)
    # in-memory images (bytes, PIL) give the files' inputs
    from PIL import Image
    with open(images[0], "rb") as f:
        data = f.read()
    mixed = proc([data, Image.open(images[1]), images[2]])
    for key in mixed:
        np.testing.assert_array_equal(mixed[key], inputs[key][:3], err_msg=key)


def test_model_and_pipeline(naflex):
    cases, expected, path = fixture(NAFLEX)
    images = [path(n) for n in cases["images"][:2]]
    classifier = siglip.pipeline("zero-shot-image-classification", model=naflex)
    results = classifier(images, candidate_labels=cases["zero_shot_labels"])
    for got, want in zip(results, cases["zero_shot"]):
        assert [r["label"] for r in got] == [r["label"] for r in want]
        assert_close("zero-shot scores", [r["score"] for r in got], [r["score"] for r in want],
                     1e-5)
    # model(**processor(text=..., images=...)), as transformers' Siglip2Model is called
    texts = ["a photo of a cat", "A PHOTO OF A DOG."]
    # a processor loaded on its own finds the SigLIP 2 tokenizer (tokenizer.model) too
    alone = siglip.SiglipProcessor.from_pretrained(NAFLEX)(text=texts, images=images)
    np.testing.assert_array_equal(alone["input_ids"], naflex.tokenizer(texts)["input_ids"])
    out = naflex(**naflex.processor(text=texts, images=images))
    assert out.logits_per_image.shape == (2, 2) and out.image_embeds.shape == (2, 32)
    assert_close("image_embeds", out.image_embeds, expected["zs.f64.image_embeds"], 1e-4)


def test_errors(naflex):
    cases, expected, path = fixture(NAFLEX)
    inputs = naflex.processor(images=[path(cases["images"][0])])
    with pytest.raises(ValueError, match="pixel_attention_mask and spatial_shapes"):
        naflex.get_image_features(inputs["pixel_values"])
    with pytest.raises(ValueError, match=r"pixel_values must be \[batch, max_patches, 192\]"):
        naflex.get_image_features(np.zeros((1, 3, 32, 32), np.float32),
                                  inputs["pixel_attention_mask"], inputs["spatial_shapes"])
    with pytest.raises(ValueError, match=r"spatial_shapes must be integers \[1, 2\]"):
        naflex.get_image_features(inputs["pixel_values"], inputs["pixel_attention_mask"],
                                  np.zeros((1, 3), np.int32))
    with pytest.raises(siglip.SiglipError, match="pixel_attention_mask"):  # a hole in the mask
        mask = inputs["pixel_attention_mask"].copy()
        mask[0, 0] = 0
        naflex.get_image_features(inputs["pixel_values"], mask, inputs["spatial_shapes"])
    with pytest.raises(ValueError, match="for SigLIP 2 NaFlex processors"):
        siglip.SiglipImageProcessor.from_pretrained(os.path.join(DATA, "tiny")).max_num_patches = 7


def test_classifier():
    cases, expected, path = fixture(NAFLEX_CLS)
    images = [path(n) for n in cases["images"]]
    with siglip.SiglipForImageClassification.from_pretrained(NAFLEX_CLS, **load_kwargs()) as m:
        assert m.id2label == dict(enumerate(cases["labels"]))
        inputs = m.image_processor(images)
        check_inputs(inputs, expected, "n24.")
        assert_close("logits", m(**inputs).logits, expected["n24.f64.logits"], 1e-4)
        top = siglip.pipeline("image-classification", model=m)(images[0], top_k=1)
        assert top[0]["label"] == cases["labels"][int(np.argmax(expected["n24.f64.logits"][0]))]
