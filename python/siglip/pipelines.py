"""pipelines.py — pipeline("zero-shot-image-classification") and pipeline("image-classification")
returning what transformers' pipelines return."""
import os
import sys

import numpy as np

from . import _lib
from .modeling import SiglipForImageClassification, SiglipModel

DEFAULT_TEMPLATE = "This is a photo of {}."


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def _pipeline_images(images):
    """(list of images, whether one image was given). PIL images get their EXIF orientation
    applied, as transformers' load_image does (files get it in the library)."""
    single = not isinstance(images, (list, tuple))
    images = [images] if single else list(images)
    pil = sys.modules.get("PIL.Image")  # only when the caller has Pillow loaded
    if pil is not None and any(isinstance(im, pil.Image) for im in images):
        from PIL import ImageOps
        images = [ImageOps.exif_transpose(im) if isinstance(im, pil.Image) else im
                  for im in images]
    return images, single


def _ranked(scores, labels, top_k):
    """The top_k (None: all) labels by score, ties in label order."""
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
        raise ValueError("top_k must be None or an int ≥ 0, got %r" % (top_k,))
    order = np.argsort(-scores, kind="stable")[:top_k]
    return [{"score": float(scores[j]), "label": labels[j]} for j in order]


class ZeroShotImageClassificationPipeline:
    """classifier(images, candidate_labels=[...]) → for one image a list of
    {"score", "label"} sorted by score (highest first); for a list of images, a list of those.
    score = sigmoid(logit) of "This is a photo of {label}." (hypothesis_template), labels
    tokenized as transformers does (padding to max length, attention mask passed)."""

    def __init__(self, model):
        self.model = model

    def __call__(self, images, candidate_labels, hypothesis_template=DEFAULT_TEMPLATE,
                 top_k=None):
        if isinstance(candidate_labels, str):
            candidate_labels = [candidate_labels]
        candidate_labels = list(candidate_labels)
        if not candidate_labels:
            raise ValueError("candidate_labels is empty")
        images, single = _pipeline_images(images)
        texts = [hypothesis_template.format(label) for label in candidate_labels]
        text_embeds = self.model.encode_text(texts=texts)["text_embeds"]
        image_embeds = self.model.encode_image(images=images)["image_embeds"]
        logits_per_image, _ = self.model.logits(text_embeds, image_embeds)  # [I, L]
        results = [_ranked(_sigmoid(row), candidate_labels, top_k) for row in logits_per_image]
        return results[0] if single else results


class ImageClassificationPipeline:
    """classifier(images, top_k=5) with a SiglipForImageClassification model: softmax over its
    classes (sigmoid for a multi-label or one-label classifier, as transformers' pipeline), the
    top_k as [{"score", "label"}] (a list of those for a list of images)."""

    def __init__(self, model):
        self.model = model

    def __call__(self, images, top_k=5):
        images, single = _pipeline_images(images)
        logits = self.model(images=images)["logits"].astype(np.float64)
        if self.model.info["class_scoring"] == _lib.SCORE_SIGMOID:
            probs = _sigmoid(logits)
        else:
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs = e / e.sum(axis=1, keepdims=True)
        names = self.model.id2label
        labels = [names[i] for i in range(len(names))]
        results = [_ranked(row, labels, top_k) for row in probs]
        return results[0] if single else results


_TASKS = {
    "zero-shot-image-classification": (SiglipModel, ZeroShotImageClassificationPipeline),
    "image-classification": (SiglipForImageClassification, ImageClassificationPipeline),
}


def pipeline(task, model, device="auto", **load_kwargs):
    """pipeline("zero-shot-image-classification", model=DIR) or
    pipeline("image-classification", model=DIR); model may also be a loaded model.
    load_kwargs go to from_pretrained (precision, cache_dir, ...)."""
    if task not in _TASKS:
        raise ValueError("task %r is not supported; choose one of %s"
                         % (task, ", ".join(sorted(_TASKS))))
    model_class, pipeline_class = _TASKS[task]
    if isinstance(model, (str, os.PathLike)):
        model = model_class.from_pretrained(model, device=device, **load_kwargs)
    elif not isinstance(model, model_class):
        raise TypeError("%s needs a %s (or its directory)" % (task, model_class.__name__))
    return pipeline_class(model)
