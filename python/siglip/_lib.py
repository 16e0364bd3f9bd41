"""_lib.py — ctypes declarations of include/siglip.h, the library loader and SiglipError."""
import ctypes
import ctypes.util
import os

import numpy as np

# ---- status codes (siglip.h) ----

STATUS_NAMES = {
    0: "SIGLIP_OK", -2: "SIGLIP_ENOENT", -5: "SIGLIP_EIO", -7: "SIGLIP_E2BIG",
    -12: "SIGLIP_ENOMEM", -19: "SIGLIP_ENODEV", -22: "SIGLIP_EINVAL", -74: "SIGLIP_EBADMSG",
    -95: "SIGLIP_ENOTSUP", -1000: "SIGLIP_EDEVICE", -1001: "SIGLIP_EBUILD", -1002: "SIGLIP_ESHAPE",
}
SIGLIP_EINVAL = -22
MAX_BATCH = 1 << 20

TEXT_MASK_HF = 0
TEXT_MASK_NONE = 1

ARCH_MODEL = 0
ARCH_IMAGE_CLASSIFICATION = 1

DEVICE_TYPES = {0: "other", 1: "cpu", 2: "gpu", 3: "accelerator"}


class SiglipError(RuntimeError):
    """A libsiglip call failed. status: the negative SIGLIP_E* code; code: its name
    ("SIGLIP_EINVAL", ...); message: the library's one-line explanation."""

    def __init__(self, status, message):
        self.status = status
        self.code = STATUS_NAMES.get(status, str(status))
        self.message = message
        super().__init__("%s (%s)" % (message, self.code))


# ---- structures (field order and types exactly as in siglip.h) ----

class Settings(ctypes.Structure):
    _fields_ = [
        ("device", ctypes.c_char_p),
        ("program_cache_dir", ctypes.c_char_p),
        ("text_mask", ctypes.c_int),
        ("max_image_pixels", ctypes.c_uint64),
        ("n_threads", ctypes.c_int),
        ("tuning_file", ctypes.c_char_p),
        ("allow_truncated_images", ctypes.c_int),
        ("precision", ctypes.c_int),
        ("reserved", ctypes.c_uint8 * 56),
    ]


class DeviceInfo(ctypes.Structure):
    _fields_ = [
        ("platform_index", ctypes.c_int),
        ("device_index", ctypes.c_int),
        ("type", ctypes.c_int),
        ("platform_name", ctypes.c_char * 128),
        ("name", ctypes.c_char * 128),
        ("vendor", ctypes.c_char * 128),
        ("version", ctypes.c_char * 128),
        ("driver_version", ctypes.c_char * 64),
        ("compute_units", ctypes.c_uint32),
        ("max_clock_mhz", ctypes.c_uint32),
        ("global_mem_bytes", ctypes.c_uint64),
        ("max_alloc_bytes", ctypes.c_uint64),
        ("local_mem_bytes", ctypes.c_uint64),
        ("max_work_group_size", ctypes.c_size_t),
        ("has_fp16", ctypes.c_int),
        ("has_fp64", ctypes.c_int),
        ("has_subgroups", ctypes.c_int),
        ("is_selected", ctypes.c_int),
        ("reserved", ctypes.c_uint8 * 32),
    ]


class ModelInfo(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int) for name in (
        "architecture", "text_hidden_size", "text_layers", "text_heads", "text_intermediate_size",
        "text_max_positions", "vocab_size", "projection_size", "vision_hidden_size",
        "vision_layers", "vision_heads", "vision_intermediate_size", "image_size", "patch_size",
        "num_channels", "num_patches", "num_labels")] + [
        ("logit_scale", ctypes.c_float),
        ("logit_bias", ctypes.c_float),
        ("has_tokenizer", ctypes.c_int),
        ("has_image_processor", ctypes.c_int),
        ("reserved", ctypes.c_uint8 * 64),
    ]


_f32p = ctypes.POINTER(ctypes.c_float)


class TextOutput(ctypes.Structure):
    _fields_ = [("pooler_output", _f32p), ("embeds", _f32p), ("last_hidden_state", _f32p)]


class ImageOutput(ctypes.Structure):
    _fields_ = [("pooler_output", _f32p), ("embeds", _f32p), ("last_hidden_state", _f32p)]


class Score(ctypes.Structure):
    _fields_ = [("label", ctypes.c_int), ("score", ctypes.c_float)]


# ---- prototypes ----

_vp = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_i32p = ctypes.POINTER(ctypes.c_int32)
_strs = ctypes.POINTER(ctypes.c_char_p)
_int = ctypes.c_int

PROTOTYPES = {
    # name: (restype, argtypes)
    "siglip_strerror": (ctypes.c_char_p, [_int]),
    "siglip_version_string": (ctypes.c_char_p, []),
    "siglip_default_settings": (None, [ctypes.POINTER(Settings)]),
    "siglip_context_create": (_int, [_pp, ctypes.POINTER(Settings)]),
    "siglip_context_close": (None, [_pp]),
    "siglip_context_error": (ctypes.c_char_p, [_vp]),
    "siglip_context_open_device": (_int, [_vp]),
    "siglip_context_device": (_int, [_vp, ctypes.POINTER(DeviceInfo)]),
    "siglip_devices_list": (_int, [_vp, ctypes.POINTER(ctypes.POINTER(DeviceInfo)),
                                   ctypes.POINTER(ctypes.c_size_t)]),
    "siglip_devices_free": (None, [ctypes.POINTER(ctypes.POINTER(DeviceInfo))]),
    "siglip_model_load": (_int, [_vp, ctypes.c_char_p, _pp]),
    "siglip_model_free": (None, [_pp]),
    "siglip_model_info": (None, [_vp, ctypes.POINTER(ModelInfo)]),
    "siglip_model_label": (ctypes.c_char_p, [_vp, _int]),
    "siglip_encode_text": (_int, [_vp, _i32p, _i32p, _int, ctypes.POINTER(TextOutput)]),
    "siglip_encode_image": (_int, [_vp, _f32p, _int, ctypes.POINTER(ImageOutput)]),
    "siglip_logits": (_int, [_vp, _f32p, _int, _f32p, _int, _f32p, _f32p]),
    "siglip_classify_logits": (_int, [_vp, _f32p, _int, _f32p]),
    "siglip_tokenizer_load": (_int, [_vp, ctypes.c_char_p, _pp]),
    "siglip_tokenizer_free": (None, [_pp]),
    "siglip_tokenizer_error": (ctypes.c_char_p, [_vp]),
    "siglip_image_processor_error": (ctypes.c_char_p, [_vp]),
    "siglip_model_tokenizer": (_vp, [_vp]),
    "siglip_tokenizer_max_length": (_int, [_vp]),
    "siglip_tokenize": (_int, [_vp, _strs, _int, _int, _i32p, _i32p]),
    "siglip_tokenize_one": (_int, [_vp, ctypes.c_char_p, ctypes.POINTER(_i32p),
                                   ctypes.POINTER(ctypes.c_size_t)]),
    "siglip_detokenize": (_int, [_vp, _i32p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_void_p)]),
    "siglip_image_processor_load": (_int, [_vp, ctypes.c_char_p, _pp]),
    "siglip_image_processor_free": (None, [_pp]),
    "siglip_model_image_processor": (_vp, [_vp]),
    "siglip_image_processor_size": (None, [_vp, ctypes.POINTER(_int), ctypes.POINTER(_int)]),
    "siglip_preprocess_files": (_int, [_vp, _strs, _int, _f32p]),
    "siglip_preprocess_memory": (_int, [_vp, ctypes.c_char_p, ctypes.c_size_t, _f32p]),
}

# Environment variable naming the libsiglip shared object to load (e.g. a build tree's).
LIBRARY_ENV = "SIGLIP_LIBRARY"


def _candidates():
    path = os.environ.get(LIBRARY_ENV)
    if path:
        return [path]
    found = []
    try:  # written by Meson at install time: where the matching library was installed
        from ._install_paths import LIBRARY
        found.append(LIBRARY)
    except ImportError:
        pass
    found.append(ctypes.util.find_library("siglip") or "libsiglip.so.0")
    return found


def _load():
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
            continue
        for name, (restype, argtypes) in PROTOTYPES.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        return lib
    raise ImportError("libsiglip not found (set %s to its path): %s"
                      % (LIBRARY_ENV, "; ".join(errors)))


lib = _load()
# The library's malloc'ed results (siglip_tokenize_one, siglip_detokenize) go back to C's free().
_libc = ctypes.CDLL(None)
c_free = _libc.free
c_free.argtypes = [ctypes.c_void_p]
c_free.restype = None


def strerror(status):
    return lib.siglip_strerror(status).decode()


def c_array(a, dtype):
    """a as a C-contiguous, aligned array of dtype: a itself when it already is one (any byte
    order spelling of the native one), else a converted copy."""
    a = np.asarray(a)
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned:
        return a
    return np.ascontiguousarray(a, dtype=dtype)


def ptr(array, ctype):
    """A ctypes pointer to a C-contiguous numpy array's data (None for None): no copy."""
    if array is None:
        return None
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def c_strings(encoded):
    """A char *[] over a list of bytes (which the caller keeps alive during the call)."""
    return (ctypes.c_char_p * len(encoded))(*encoded)
