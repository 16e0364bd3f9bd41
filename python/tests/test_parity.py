"""test_parity.py — the package against the C CLI (`siglip embed` / `siglip classify --json`, the
build's tool) and against transformers' outputs, on the tiny fixture and the medium one
(real base widths, BF16 shards; skipped when absent). Both paths run the same library, so they
must agree to float rounding; the transformers values come from the fixtures."""
import json
import os

import pytest

import siglip
from conftest import assert_close, cli, load_kwargs, medium_fixture, read_safetensors, tiny_fixture

# fixture, tolerance against transformers' f32 forward, against its pipeline scores (as
# tests/test_cli.py holds the CLI to)
CASES = {"tiny": (tiny_fixture, 1e-4, 1e-5), "medium": (medium_fixture, 1e-4, 1e-4)}
CLI_ATOL = 1e-6  # the same library on the same device: batches of other sizes only


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    make, atol, score_atol = CASES[request.param]
    fixture = make()
    model = siglip.SiglipModel.from_pretrained(fixture.model_dir, **load_kwargs())
    yield fixture, model, atol, score_atol
    model.close()


def test_embed_matches_cli_and_transformers(case, tmp_path):
    fixture, model, atol, _ = case
    out_file = str(tmp_path / "embed.safetensors")
    args = ["embed", "-m", fixture.model_dir, "--batch", "4", "-o", out_file]
    for text in fixture.texts:
        args += ["-t", text]
    for image in fixture.images:
        args += ["-i", image]
    cli(*args)
    ref = read_safetensors(out_file)
    # texts= tokenizes with the mask passed, as the CLI does by default.
    out = model(texts=fixture.texts, images=fixture.images)
    for name in ("text_embeds", "image_embeds", "logits_per_image"):
        assert_close("%s vs CLI %s" % (fixture.prefix, name), out[name], ref[name], CLI_ATOL)
    assert_close(fixture.prefix + " text_features vs CLI",
                 model.get_text_features(texts=fixture.texts), ref["text_features"], CLI_ATOL)
    assert_close(fixture.prefix + " image_features vs CLI",
                 model.get_image_features(images=fixture.images), ref["image_features"],
                 CLI_ATOL)
    # And both against transformers: masked logits, and the unmasked forward from input_ids.
    assert_close(fixture.prefix + " logits vs transformers (mask)", out.logits_per_image,
                 fixture["f32.masked.logits_per_image"], atol)
    unmasked = model(input_ids=fixture["input_ids"], pixel_values=model.processor(
        images=fixture.images).pixel_values)
    for name in ("text_embeds", "image_embeds", "logits_per_image"):
        assert_close("%s %s vs transformers" % (fixture.prefix, name), unmasked[name],
                     fixture["f32." + name], atol)


def test_pipeline_matches_cli_classify(case):
    fixture, model, _, score_atol = case
    labels = fixture.pipeline["labels"]
    args = ["classify", "-m", fixture.model_dir, "--json"]
    for label in labels:
        args += ["-l", label]
    doc = json.loads(cli(*(args + fixture.images)))
    got = siglip.pipeline("zero-shot-image-classification", model=model)(
        fixture.images, candidate_labels=labels)
    assert len(doc) == len(got) == len(fixture.images)
    for entry, image, results, ref in zip(doc, fixture.images, got, fixture.pipeline["results"]):
        assert os.path.samefile(entry["image"], image)
        by_label = {r["label"]: r["score"] for r in entry["results"]}
        assert_close("pipeline vs CLI classify", [r["score"] for r in results],
                     [by_label[r["label"]] for r in results], CLI_ATOL)
        assert_close("pipeline vs transformers", [r["score"] for r in results],
                     [r["score"] for r in ref], score_atol)
        assert [r["label"] for r in results] == [r["label"] for r in entry["results"]]
