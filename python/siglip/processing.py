"""processing.py — SiglipTokenizer, SiglipImageProcessor and SiglipProcessor over the C library's
CPU tokenizer and image preprocessing (transformers' names, numpy outputs)."""
import ctypes
import os
import sys

import numpy as np

from . import _lib
from ._context import Context
from ._lib import lib, SiglipError


class BatchFeature(dict):
    """A dict of numpy arrays whose keys also read as attributes (transformers' BatchFeature)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _finish(features, return_tensors):
    if return_tensors == "np":
        return features
    if return_tensors is None:  # transformers then returns Python lists
        return BatchFeature({k: v.tolist() for k, v in features.items()})
    raise ValueError("return_tensors=%r: only 'np' (or None for lists) is supported"
                     % (return_tensors,))


class _Handle:
    """A tokenizer or image processor handle, owned by its context (freed when it closes) or
    borrowed from a model on the same context."""

    def __init__(self, ctx, handle, owns_context=False):
        self._ctx, self._handle, self._owns_context = ctx, handle, owns_context

    @classmethod
    def _load(cls, loader, free, model_dir):
        ctx = Context(cache_dir=None)  # host only: no device is opened
        handle = ctypes.c_void_p()
        path = None if model_dir is None else os.fsencode(model_dir)
        try:
            ctx.call(loader, ctx.handle, path, ctypes.byref(handle))
        except BaseException:
            ctx.close()
            raise
        ctx.own(free, handle)
        return cls(ctx, handle, owns_context=True)

    def _call(self, fn, *args):
        """fn(self handle, *args) through the context; a failure raises with the handle's own
        message (a tokenizer and a processor keep theirs)."""
        return self._ctx.call(fn, self._handle, *args, error_of=self._error_of)

    def close(self):
        """Releases the library objects now (also done when collected); one borrowed from a model
        lives as long as the model."""
        if self._owns_context:
            self._ctx.close()


# ---- tokenizer ----

def _utf8(text):
    """The text's UTF-8 bytes; passed with their length, so U+0000 is a character like others."""
    if not isinstance(text, str):
        raise TypeError("a text must be a str, got %s" % type(text).__name__)
    return text.encode("utf-8")


class SiglipTokenizer(_Handle):
    """SiglipTokenizer (SentencePiece unigram + SigLIP's text rules), ids identical to
    transformers'. Padding is always to max_length and longer texts are truncated (eos kept last),
    which is what SigLIP's text tower needs."""

    _error_of = staticmethod(lib.siglip_tokenizer_error)

    @classmethod
    def from_pretrained(cls, model_dir):
        return cls._load(lib.siglip_tokenizer_load, lib.siglip_tokenizer_free, model_dir)

    @property
    def model_max_length(self):
        return self._ctx.call(lib.siglip_tokenizer_max_length, self._handle)

    def __call__(self, text, padding="max_length", truncation=True, max_length=None,
                 return_tensors="np"):
        """text: a str or a list of str → {"input_ids", "attention_mask"}: int32 [n, max_length]
        (int32 is what the model takes, so they pass to it without a copy)."""
        if padding != "max_length" or truncation is not True:
            raise ValueError("only padding='max_length' with truncation=True is supported (the "
                             "SigLIP text tower takes exactly max_length positions)")
        texts = _as_list(text)
        length = self.model_max_length if max_length is None else max_length
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError("max_length must be a positive int or None, got %r" % (max_length,))
        ids = np.empty((len(texts), length), dtype=np.int32)
        mask = np.empty((len(texts), length), dtype=np.int32)
        if texts:
            encoded = [_utf8(t) for t in texts]
            self._call(lib.siglip_tokenize_n, _lib.c_strings(encoded), _lib.c_lengths(encoded),
                       len(texts), length, _lib.ptr(ids, ctypes.c_int32),
                       _lib.ptr(mask, ctypes.c_int32))
        return _finish(BatchFeature(input_ids=ids, attention_mask=mask), return_tensors)

    def encode(self, text):
        """The ids of one text without padding or truncation, eos included (a list of int)."""
        out = ctypes.POINTER(ctypes.c_int32)()
        n = ctypes.c_size_t()
        encoded = _utf8(text)
        self._call(lib.siglip_tokenize_one_n, encoded, len(encoded), ctypes.byref(out),
                   ctypes.byref(n))
        try:
            return out[:n.value]
        finally:
            _lib.c_free(out)

    def decode(self, ids):
        """Text of the ids (special tokens skipped), as transformers' decode(skip_special_tokens)."""
        arr = np.ascontiguousarray(np.asarray(ids).reshape(-1), dtype=np.int32)
        out = ctypes.c_void_p()
        self._call(lib.siglip_detokenize, _lib.ptr(arr, ctypes.c_int32), arr.size,
                   ctypes.byref(out))
        try:
            return ctypes.string_at(out).decode("utf-8", "replace")
        finally:
            _lib.c_free(out)


# ---- images ----

def _pnm(pixels):
    """Encodes an [H, W] / [H, W, 1|3|4] uint8 array as binary PGM/PPM, which the library decodes
    losslessly (it has no entry point for raw pixels). Alpha is dropped, as PIL's convert("RGB")."""
    a = np.asarray(pixels)
    if a.dtype != np.uint8:
        raise TypeError("image arrays must be uint8 [H, W] or [H, W, C] (got %s)" % a.dtype)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        magic = b"P5"
    elif a.ndim == 3 and a.shape[2] in (3, 4):
        magic, a = b"P6", a[:, :, :3]
    else:
        raise TypeError("image arrays must be [H, W] or [H, W, 1|3|4] (got shape %s)"
                        % (a.shape,))
    return b"%s\n%d %d\n255\n" % (magic, a.shape[1], a.shape[0]) + np.ascontiguousarray(a).tobytes()


def _is_pil(image):
    pil = sys.modules.get("PIL.Image")  # only when the caller has Pillow loaded
    return pil is not None and isinstance(image, pil.Image)


def _pil_bytes(image):
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return _pnm(np.asarray(image))


def _encoded(image):
    """bytes for an in-memory image, or None for a path."""
    if isinstance(image, (str, os.PathLike)):
        return None
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, np.ndarray):
        return _pnm(image)
    if _is_pil(image):
        return _pil_bytes(image)
    raise TypeError("an image is a path, encoded bytes, a PIL image or a uint8 numpy array "
                    "(got %s)" % type(image).__name__)


def _patches(inputs):
    """The SiglipPatches over NaFlex inputs (C-contiguous arrays the caller keeps alive)."""
    pv, mask, shapes = (inputs["pixel_values"], inputs["pixel_attention_mask"],
                        inputs["spatial_shapes"])
    return _lib.Patches(pv.shape[1], _lib.ptr(pv, ctypes.c_float),
                        _lib.ptr(mask, ctypes.c_int32), _lib.ptr(shapes, ctypes.c_int32))


def _rows(out, start, stop):
    """Images [start, stop) of preprocessed inputs: a view, an array or a BatchFeature of them."""
    if isinstance(out, dict):
        return BatchFeature({k: v[start:stop] for k, v in out.items()})
    return out[start:stop]


def _put(out, index, rows):
    """out[index] = rows for an array or for each array of a BatchFeature."""
    if isinstance(out, dict):
        for k, v in out.items():
            v[index] = rows[k]
    else:
        out[index] = rows


class SiglipImageProcessor(_Handle):
    """Decoding (JPEG, PNG, WebP, BMP, GIF, TGA, PNM), EXIF orientation, RGB, Pillow's bicubic
    resize, rescale and normalize: pixel_values identical to transformers' Pillow path."""

    _error_of = staticmethod(lib.siglip_image_processor_error)

    @classmethod
    def from_pretrained(cls, model_dir=None):
        """model_dir: a directory with preprocessor_config.json / processor_config.json, or None
        for the reference defaults (224×224)."""
        return cls._load(lib.siglip_image_processor_load, lib.siglip_image_processor_free,
                         model_dir)

    @property
    def size(self):
        h, w = ctypes.c_int(), ctypes.c_int()
        self._ctx.call(lib.siglip_image_processor_size, self._handle, ctypes.byref(h),
                       ctypes.byref(w))
        return {"height": h.value, "width": w.value}

    @property
    def max_num_patches(self):
        """A SigLIP 2 NaFlex processor's patch budget (Siglip2ImageProcessor's max_num_patches);
        None for a fixed-size processor."""
        return self._ctx.call(lib.siglip_image_processor_max_patches, self._handle, None) or None

    @max_num_patches.setter
    def max_num_patches(self, n):
        if self.max_num_patches is None:
            raise ValueError("max_num_patches is for SigLIP 2 NaFlex processors")
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError("max_num_patches must be an int, got %s" % type(n).__name__)
        self._call(lib.siglip_image_processor_set_max_patches, n)

    def _empty(self, n):
        if self.max_num_patches:
            return self._empty_patches(n)
        size = self.size
        return np.empty((n, 3, size["height"], size["width"]), dtype=np.float32)

    def _empty_patches(self, n):
        """NaFlex inputs of n images: pixel_values [n, N, C·P·P], pixel_attention_mask [n, N],
        spatial_shapes [n, 2] (int32: what the library takes, so they pass without a copy)."""
        floats = ctypes.c_int()
        N = self._ctx.call(lib.siglip_image_processor_max_patches, self._handle,
                           ctypes.byref(floats))
        return BatchFeature(pixel_values=np.zeros((n, N, floats.value), np.float32),
                            pixel_attention_mask=np.zeros((n, N), np.int32),
                            spatial_shapes=np.zeros((n, 2), np.int32))

    def _files(self, paths, out):
        encoded = [os.fsencode(p) for p in paths]
        if isinstance(out, dict):
            self._call(lib.siglip_preprocess_files_patches, _lib.c_strings(encoded), len(paths),
                       ctypes.byref(_patches(out)), None)
        else:
            self._call(lib.siglip_preprocess_files, _lib.c_strings(encoded), len(paths),
                       _lib.ptr(out, ctypes.c_float))

    def _memory(self, data, out):
        if isinstance(out, dict):
            self._call(lib.siglip_preprocess_memory_patches, data, len(data),
                       ctypes.byref(_patches(out)))
        else:
            self._call(lib.siglip_preprocess_memory, data, len(data),
                       _lib.ptr(out, ctypes.c_float))

    def preprocess(self, images):
        """images (one or a list) → pixel_values float32 [n, 3, H, W]; for a SigLIP 2 NaFlex
        processor a BatchFeature of pixel_values [n, N, C·P·P], pixel_attention_mask [n, N] and
        spatial_shapes [n, 2], as Siglip2ImageProcessor returns them. Paths are decoded together
        on the library's threads; a bad image raises SiglipError naming it."""
        images = _as_list(images)
        data = [_encoded(image) for image in images]
        paths = [i for i, d in enumerate(data) if d is None]
        out = self._empty(len(images))
        if len(paths) == len(images) and images:
            self._files(images, out)  # straight into the result
        elif paths:
            decoded = self._empty(len(paths))
            self._files([images[i] for i in paths], decoded)
            _put(out, paths, decoded)
        for i, d in enumerate(data):
            if d is not None:
                self._memory(d, _rows(out, i, i + 1))
        return out

    def preprocess_each(self, images):
        """Like preprocess, but a bad image costs only itself: returns (pixel_values of the good
        ones [k, 3, H, W], their indices, {index: error message} for the others)."""
        images = _as_list(images)
        try:
            return self.preprocess(images), list(range(len(images))), {}
        except (SiglipError, TypeError):
            pass  # at least one is bad: find out which, one image at a time
        out = self._empty(len(images))
        good, errors = [], {}
        for i, image in enumerate(images):
            try:
                _put(out, [len(good)], self.preprocess([image]))
                good.append(i)
            except (SiglipError, TypeError) as e:
                errors[i] = str(e)
        return _rows(out, 0, len(good)), good, errors

    def __call__(self, images, return_tensors="np", max_num_patches=None):
        """{"pixel_values"} ({"pixel_values", "pixel_attention_mask", "spatial_shapes"} for a
        NaFlex processor, whose max_num_patches may be given for this call, as transformers')."""
        if max_num_patches is None:
            out = self.preprocess(images)
        else:
            kept = self.max_num_patches
            self.max_num_patches = max_num_patches
            try:
                out = self.preprocess(images)
            finally:
                self.max_num_patches = kept
        features = out if isinstance(out, dict) else BatchFeature(pixel_values=out)
        return _finish(features, return_tensors)


class SiglipProcessor:
    """Tokenizer + image processor, called as transformers' SiglipProcessor:
    processor(text=[...], images=[...]) → {"input_ids", "attention_mask", "pixel_values"}."""

    def __init__(self, tokenizer, image_processor):
        self.tokenizer = tokenizer
        self.image_processor = image_processor

    @classmethod
    def from_pretrained(cls, model_dir):
        tokenizer = None
        if any(os.path.exists(os.path.join(model_dir, f))
               for f in ("spiece.model", "tokenizer.model", "tokenizer.json")):
            tokenizer = SiglipTokenizer.from_pretrained(model_dir)
        return cls(tokenizer, SiglipImageProcessor.from_pretrained(model_dir))

    def __call__(self, text=None, images=None, padding="max_length", truncation=True,
                 max_length=None, return_tensors="np"):
        if text is None and images is None:
            raise ValueError("give text, images or both")
        features = BatchFeature()
        if text is not None:
            if self.tokenizer is None:
                raise ValueError("this model directory has no tokenizer (spiece.model, "
                                 "tokenizer.model or tokenizer.json)")
            features.update(self.tokenizer(text, padding=padding, truncation=truncation,
                                           max_length=max_length))
        if images is not None:
            features.update(self.image_processor(images))
        return _finish(features, return_tensors)
