"""modeling.py — SiglipModel and SiglipForImageClassification: the towers on the OpenCL device,
with transformers' method names, output names and shapes, numpy in and out."""
import ctypes
import os

import numpy as np

from . import _lib
from ._context import Context, _device_dict
from ._lib import lib
from .processing import BatchFeature, SiglipImageProcessor, SiglipProcessor, SiglipTokenizer
from .processing import _patches as processing_patches


class ModelOutput(BatchFeature):
    """Outputs by name, readable as attributes or keys (transformers' ModelOutput)."""


_ARCHITECTURES = {_lib.ARCH_MODEL: "SiglipModel",
                  _lib.ARCH_IMAGE_CLASSIFICATION: "SiglipForImageClassification"}


def _f32(a):
    return _lib.ptr(a, ctypes.c_float)


class _PretrainedModel:
    """A loaded model directory and the context it lives on."""

    _architecture = None  # what the subclass loads (SiglipArchitecture)

    def __init__(self, ctx, handle, model_dir):
        self._ctx, self._handle, self.model_dir = ctx, handle, model_dir
        info = _lib.ModelInfo()
        lib.siglip_model_info(handle, ctypes.byref(info))
        self.info = {name: getattr(info, name) for name, _ in _lib.ModelInfo._fields_
                     if name != "reserved"}
        tok = lib.siglip_model_tokenizer(handle)
        # Borrowed from the model: they live on its context.
        self.tokenizer = SiglipTokenizer(ctx, ctypes.c_void_p(tok)) if tok else None
        self.image_processor = SiglipImageProcessor(
            ctx, ctypes.c_void_p(lib.siglip_model_image_processor(handle)))
        self.processor = SiglipProcessor(self.tokenizer, self.image_processor)

    @classmethod
    def from_pretrained(cls, model_dir, device="auto", precision="f32", *, text_mask="hf",
                        cache_dir="default", n_threads=0, max_image_pixels=None,
                        tuning_file=None):
        """Loads a Hugging Face model directory onto an OpenCL device.

        device: a device spec ("auto", "gpu", "cpu", "pocl", "P:D", a name substring);
        precision: weight precision of Linear layers and the token embedding ("f32", "bf16", "f16", "q8");
        text_mask: "hf" (pass the attention mask, as transformers) or "none" (attend to padding, as big_vision); cache_dir: compiled-program
        cache ("default": $XDG_CACHE_HOME/siglip, None: no cache); n_threads: image decoding
        threads (0: all CPUs); max_image_pixels: decompression-bomb limit; tuning_file: JSON
        overriding the device tuning table."""
        ctx = Context(device=device, precision=precision, text_mask=text_mask,
                      cache_dir=cache_dir, n_threads=n_threads,
                      max_image_pixels=max_image_pixels, tuning_file=tuning_file)
        handle = ctypes.c_void_p()
        try:
            ctx.call(lib.siglip_model_load, ctx.handle, os.fsencode(model_dir),
                     ctypes.byref(handle))
        except BaseException:
            ctx.close()
            raise
        ctx.own(lib.siglip_model_free, handle)
        model = cls(ctx, handle, model_dir)
        arch = model.info["architecture"]
        if arch != cls._architecture:
            model.close()
            raise ValueError("%s holds a %s: load it with siglip.%s"
                             % (model_dir, _ARCHITECTURES[arch], _ARCHITECTURES[arch]))
        return model

    @property
    def device(self):
        """The OpenCL device the model runs on (a dict, as siglip.devices() lists them)."""
        d = _lib.DeviceInfo()
        self._ctx.call(lib.siglip_context_device, self._ctx.handle, ctypes.byref(d))
        return _device_dict(d)

    def close(self):
        """Frees the model and its context now (also done when the last object using the context
        is collected); using the model afterwards raises ValueError."""
        self._ctx.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _vision_inputs(self, pixel_values, images, pixel_attention_mask=None,
                       spatial_shapes=None):
        """(batch, pv, patches): pixel_values [B, C, H, W] float32 C-contiguous of the model's
        image size (the library reads that much per image; passed through without a copy when it
        already is one) and patches None; or, for a SigLIP 2 NaFlex model, the SiglipPatches over
        pixel_values [B, N, C·P·P], pixel_attention_mask [B, N] and spatial_shapes [B, 2] (pv
        then keeps those arrays alive). pixel_values may also be the processor's output (a
        mapping holding the three)."""
        if images is not None:
            if pixel_values is not None:
                raise ValueError("give pixel_values or images, not both")
            pixel_values = self.image_processor.preprocess(images)  # checked below all the same
        if pixel_values is None:
            raise ValueError("give pixel_values or images")
        if isinstance(pixel_values, dict):
            pixel_attention_mask = pixel_values.get("pixel_attention_mask", pixel_attention_mask)
            spatial_shapes = pixel_values.get("spatial_shapes", spatial_shapes)
            pixel_values = pixel_values["pixel_values"]
        pv = _lib.c_array(pixel_values, np.float32)
        if self.image_processor.max_num_patches:
            return self._patch_inputs(pv, pixel_attention_mask, spatial_shapes)
        if pixel_attention_mask is not None or spatial_shapes is not None:
            raise ValueError("pixel_attention_mask and spatial_shapes are for SigLIP 2 NaFlex "
                             "models")
        size = self.info["image_size"]
        expected = (self.info["num_channels"], size, size)
        if pv.ndim != 4 or pv.shape[1:] != expected:
            raise ValueError("pixel_values must be [batch, %d, %d, %d], got %s"
                             % (expected + (pv.shape,)))
        return pv.shape[0], pv, None

    def _patch_inputs(self, pv, mask, shapes):
        if mask is None or shapes is None:
            raise ValueError("a SigLIP 2 NaFlex model takes pixel_values with "
                             "pixel_attention_mask and spatial_shapes (the processor's output)")
        p, c = self.info["patch_size"], self.info["num_channels"]
        if pv.ndim != 3 or pv.shape[2] != c * p * p:
            raise ValueError("pixel_values must be [batch, max_patches, %d], got %s"
                             % (c * p * p, pv.shape))
        b, n = pv.shape[:2]
        arrays = {"pixel_values": pv}
        for name, a, shape in (("pixel_attention_mask", mask, (b, n)),
                               ("spatial_shapes", shapes, (b, 2))):
            a = np.asarray(a)
            if a.shape != shape or a.dtype.kind not in "iub":
                raise ValueError("%s must be integers %s, got %s %s" % (name, list(shape),
                                                                       a.dtype, a.shape))
            arrays[name] = _lib.c_array(a, np.int32)
        return b, arrays, processing_patches(arrays)


class SiglipModel(_PretrainedModel):
    """SiglipModel: text and vision towers and the sigmoid logit head.

    >>> model = SiglipModel.from_pretrained("siglip-base-patch16-224")
    >>> out = model(texts=["a cat", "a dog"], images=["cat.jpg"])
    >>> out.logits_per_image      # [1, 2]; sigmoid() gives each label's probability
    """

    _architecture = _lib.ARCH_MODEL

    def _input_ids(self, input_ids, attention_mask, texts):
        """(ids, mask) as int32 [B, T] C-contiguous; mask may be None (no mask)."""
        if texts is not None:
            if input_ids is not None:
                raise ValueError("give input_ids or texts, not both")
            if self.tokenizer is None:
                raise ValueError("%s has no tokenizer (spiece.model)" % self.model_dir)
            enc = self.tokenizer(texts, max_length=self.info["text_max_positions"])
            return enc["input_ids"], enc["attention_mask"]
        if input_ids is None:
            raise ValueError("give input_ids or texts")
        t = self.info["text_max_positions"]
        arrays = []
        for name, a in (("input_ids", input_ids), ("attention_mask", attention_mask)):
            if a is None:
                arrays.append(None)
                continue
            a = np.asarray(a)
            a = a.reshape(1, -1) if a.ndim == 1 else a
            if name == "attention_mask" and a.dtype.kind == "f" and np.isin(a, (0, 1)).all():
                a = a.astype(np.int32)  # a float mask of 0s and 1s, as torch code often holds
            if a.ndim != 2 or a.shape[1] != t or a.dtype.kind not in "iub":
                raise ValueError("%s must be integers [batch, %d], got %s %s"
                                 % (name, t, a.dtype, a.shape))
            if a.size and (a.min() < 0 or a.max() > np.iinfo(np.int32).max):
                raise ValueError("%s holds values outside int32" % name)
            arrays.append(_lib.c_array(a, np.int32))
        if arrays[1] is not None and arrays[1].shape != arrays[0].shape:
            raise ValueError("attention_mask %s does not match input_ids %s"
                             % (arrays[1].shape, arrays[0].shape))
        return arrays[0], arrays[1]

    def encode_text(self, input_ids=None, attention_mask=None, *, texts=None,
                    last_hidden_state=False):
        """The text tower: {"pooler_output" [B, Dp], "text_embeds" [B, Dp] (L2-normalized),
        "last_hidden_state" [B, T, D] when asked for}. texts are tokenized as transformers'
        processor does it (padding to max length, attention mask passed)."""
        ids, mask = self._input_ids(input_ids, attention_mask, texts)
        b, dp = ids.shape[0], self.info["projection_size"]
        out = ModelOutput(pooler_output=np.empty((b, dp), np.float32),
                          text_embeds=np.empty((b, dp), np.float32))
        if last_hidden_state:
            out["last_hidden_state"] = np.empty(
                (b, self.info["text_max_positions"], self.info["text_hidden_size"]), np.float32)
        if b:
            c_out = _lib.TextOutput(_f32(out["pooler_output"]), _f32(out["text_embeds"]),
                                    _f32(out.get("last_hidden_state")))
            self._ctx.call(lib.siglip_encode_text, self._handle, _lib.ptr(ids, ctypes.c_int32),
                           _lib.ptr(mask, ctypes.c_int32), b, ctypes.byref(c_out))
        return out

    def encode_image(self, pixel_values=None, pixel_attention_mask=None, spatial_shapes=None, *,
                     images=None, last_hidden_state=False):
        """The vision tower: {"pooler_output" [B, D], "image_embeds" [B, D] (L2-normalized),
        "last_hidden_state" [B, N, D] when asked for (N = max_patches for NaFlex, padding rows
        included, as transformers returns them)}."""
        b, pv, patches = self._vision_inputs(pixel_values, images, pixel_attention_mask,
                                             spatial_shapes)
        d = self.info["vision_hidden_size"]
        n = patches.max_patches if patches else self.info["num_patches"]
        out = ModelOutput(pooler_output=np.empty((b, d), np.float32),
                          image_embeds=np.empty((b, d), np.float32))
        if last_hidden_state:
            out["last_hidden_state"] = np.empty((b, n, d), np.float32)
        if b:
            c_out = _lib.ImageOutput(_f32(out["pooler_output"]), _f32(out["image_embeds"]),
                                     _f32(out.get("last_hidden_state")))
            if patches:
                self._ctx.call(lib.siglip_encode_image_patches, self._handle,
                               ctypes.byref(patches), b, ctypes.byref(c_out))
            else:
                self._ctx.call(lib.siglip_encode_image, self._handle, _f32(pv), b,
                               ctypes.byref(c_out))
        return out

    def get_text_features(self, input_ids=None, attention_mask=None, *, texts=None):
        """Un-normalized text pooler outputs [B, Dp], as transformers' get_text_features."""
        return self.encode_text(input_ids, attention_mask, texts=texts)["pooler_output"]

    def get_image_features(self, pixel_values=None, pixel_attention_mask=None,
                           spatial_shapes=None, *, images=None):
        """Un-normalized image pooler outputs [B, D], as transformers' get_image_features."""
        return self.encode_image(pixel_values, pixel_attention_mask, spatial_shapes,
                                 images=images)["pooler_output"]

    def logits(self, text_embeds, image_embeds):
        """(logits_per_image [I, T], logits_per_text [T, I]) from normalized embeds."""
        te = _lib.c_array(text_embeds, np.float32)
        ie = _lib.c_array(image_embeds, np.float32)
        dp = self.info["projection_size"]
        for name, a in (("text_embeds", te), ("image_embeds", ie)):
            if a.ndim != 2 or a.shape[1] != dp:  # the library reads dp floats per row
                raise ValueError("%s must be [n, %d], got %s" % (name, dp, a.shape))
        per_image = np.empty((ie.shape[0], te.shape[0]), np.float32)
        per_text = np.empty((te.shape[0], ie.shape[0]), np.float32)
        if te.shape[0] and ie.shape[0]:
            self._ctx.call(lib.siglip_logits, self._handle, _f32(te), te.shape[0], _f32(ie),
                           ie.shape[0], _f32(per_image), _f32(per_text))
        return per_image, per_text

    def __call__(self, input_ids=None, pixel_values=None, attention_mask=None, *, texts=None,
                 images=None, pixel_attention_mask=None, spatial_shapes=None,
                 output_hidden_states=False):
        """SiglipModel.forward: from input_ids (+ attention_mask) / pixel_values, or from raw
        texts / images (processed as transformers' SiglipProcessor does, mask passed).
        Returns logits_per_image [I, T], logits_per_text [T, I], text_embeds [T, Dp],
        image_embeds [I, D], text_model_output and vision_model_output (pooler_output, and
        last_hidden_state with output_hidden_states=True). With only one side given, the
        logits are None."""
        out = ModelOutput(logits_per_image=None, logits_per_text=None, text_embeds=None,
                          image_embeds=None, text_model_output=None, vision_model_output=None)
        if input_ids is not None or texts is not None:
            text = self.encode_text(input_ids, attention_mask, texts=texts,
                                    last_hidden_state=output_hidden_states)
            out["text_embeds"] = text.pop("text_embeds")
            out["text_model_output"] = text
        if pixel_values is not None or images is not None:
            vision = self.encode_image(pixel_values, pixel_attention_mask, spatial_shapes,
                                       images=images, last_hidden_state=output_hidden_states)
            out["image_embeds"] = vision.pop("image_embeds")
            out["vision_model_output"] = vision
        if out["text_embeds"] is None and out["image_embeds"] is None:
            raise ValueError("give texts / input_ids, images / pixel_values, or both")
        if out["text_embeds"] is not None and out["image_embeds"] is not None:
            out["logits_per_image"], out["logits_per_text"] = self.logits(out["text_embeds"],
                                                                          out["image_embeds"])
        return out


class SiglipForImageClassification(_PretrainedModel):
    """SiglipForImageClassification: the vision tower and a linear classifier over the mean of
    the patch states; config.id2label names the classes."""

    _architecture = _lib.ARCH_IMAGE_CLASSIFICATION

    @property
    def id2label(self):
        return {i: self._ctx.call(lib.siglip_model_label, self._handle, i).decode("utf-8")
                for i in range(self.info["num_labels"])}

    def __call__(self, pixel_values=None, pixel_attention_mask=None, spatial_shapes=None, *,
                 images=None):
        """ModelOutput(logits=[B, num_labels]); Siglip2ForImageClassification (NaFlex) pools
        each image's own patches."""
        b, pv, patches = self._vision_inputs(pixel_values, images, pixel_attention_mask,
                                             spatial_shapes)
        logits = np.empty((b, self.info["num_labels"]), np.float32)
        if b and patches:
            self._ctx.call(lib.siglip_classify_logits_patches, self._handle,
                           ctypes.byref(patches), b, _f32(logits))
        elif b:
            self._ctx.call(lib.siglip_classify_logits, self._handle, _f32(pv), b, _f32(logits))
        return ModelOutput(logits=logits)
