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
# SiglipScoring: how a classifier's pipeline scores its classes (ModelInfo.class_scoring)
SCORE_SIGMOID, SCORE_SOFTMAX = 0, 1

DEVICE_TYPES = {0: "other", 1: "cpu", 2: "gpu", 3: "accelerator"}


class SiglipError(RuntimeError):
    """A libsiglip call failed. status: the negative SIGLIP_E* code; code: its name
    ("SIGLIP_EINVAL", ...); message: the library's one-line explanation."""

    def __init__(self, status, message):
        self.status = status
        self.code = STATUS_NAMES.get(status, str(status))
        self.message = message
        super().__init__("%s (%s)" % (message, self.code))


# ---- siglip.h's declarations, as the header writes them, turned into ctypes ----

# Scalar and enum types by their C name (enums are ints); any other Siglip* name is an opaque
# handle (void) unless it is one of the structures registered in _STRUCTS below.
_SCALARS = {
    "void": None, "int": ctypes.c_int, "float": ctypes.c_float, "char": ctypes.c_char,
    "size_t": ctypes.c_size_t, "int32_t": ctypes.c_int32, "uint8_t": ctypes.c_uint8,
    "uint32_t": ctypes.c_uint32, "uint64_t": ctypes.c_uint64, "SiglipTextMask": ctypes.c_int,
    "SiglipPrecision": ctypes.c_int, "SiglipDeviceType": ctypes.c_int,
    "SiglipArchitecture": ctypes.c_int,
}
_STRUCTS = {}


def _ctype(spelling):
    """The ctypes type of a C type: "const char *" is c_char_p, "void *" and a handle pointer
    c_void_p, a registered structure its class; each further * a POINTER."""
    words = [w for w in spelling.replace("*", " * ").split() if w != "const"]
    stars = words.count("*")
    base = " ".join(w for w in words if w != "*")
    t = _STRUCTS.get(base, _SCALARS.get(base))
    if stars and (t is None or t is ctypes.c_char):  # void *, handle *, char *
        t, stars = (ctypes.c_char_p if t is ctypes.c_char else ctypes.c_void_p), stars - 1
    for _ in range(stars):
        t = ctypes.POINTER(t)
    return t


def _split_decl(decl):
    """("type", "name") of a declaration such as "const char *const *texts" or "int"."""
    decl = decl.strip()
    head = decl.rstrip("_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    name = decl[len(head):]
    if not head.strip(" *") or head.strip(" *") == "const":  # a bare type: "int", "void"
        return decl, ""
    return head, name


def _fields(decls):
    """_fields_ of a structure from its members as siglip.h declares them, ";"-separated."""
    out = []
    for decl in filter(str.strip, decls.split(";")):
        count = 0
        if decl.strip().endswith("]"):
            decl, count = decl.strip()[:-1].split("[")
        ctype, name = _split_decl(decl)
        t = _ctype(ctype)
        out.append((name, t * int(count) if count else t))
    return out


def _struct(c_name, decls):
    """A ctypes Structure of siglip.h's structure c_name, registered for the prototypes."""
    cls = type(c_name[len("Siglip"):], (ctypes.Structure,), {"_fields_": _fields(decls)})
    _STRUCTS[c_name] = cls
    return cls


def _prototypes(decls):
    """{name: (restype, argtypes)} from ";"-separated function declarations."""
    out = {}
    for decl in filter(str.strip, decls.split(";")):
        head, args = decl.split("(", 1)
        restype, name = _split_decl(head)
        args = args.strip().rstrip(")").strip()
        params = [] if args in ("", "void") else args.split(",")
        out[name] = (_ctype(restype), [_ctype(_split_decl(a)[0]) for a in params])
    return out


Settings = _struct("SiglipSettings", """
    const char *device; const char *program_cache_dir; SiglipTextMask text_mask;
    uint64_t max_image_pixels; int n_threads; const char *tuning_file;
    int allow_truncated_images; SiglipPrecision precision; uint8_t reserved[56]""")

DeviceInfo = _struct("SiglipDeviceInfo", """
    int platform_index; int device_index; SiglipDeviceType type; char platform_name[128];
    char name[128]; char vendor[128]; char version[128]; char driver_version[64];
    uint32_t compute_units; uint32_t max_clock_mhz; uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes; uint64_t local_mem_bytes; size_t max_work_group_size;
    int has_fp16; int has_fp64; int has_subgroups; int is_selected; uint8_t reserved[32]""")

ModelInfo = _struct("SiglipModelInfo", """
    SiglipArchitecture architecture; int text_hidden_size; int text_layers; int text_heads;
    int text_intermediate_size; int text_max_positions; int vocab_size; int projection_size;
    int vision_hidden_size; int vision_layers; int vision_heads; int vision_intermediate_size;
    int image_size; int patch_size; int num_channels; int num_patches; int num_labels;
    float logit_scale; float logit_bias; int has_tokenizer; int has_image_processor;
    int image_width; int max_patches; int class_scoring; uint8_t reserved[52]""")

Patches = _struct("SiglipPatches", """
    int max_patches; float *pixel_values; int32_t *pixel_attention_mask; int32_t *spatial_shapes""")

_OUTPUTS = "float *pooler_output; float *embeds; float *last_hidden_state"
TextOutput = _struct("SiglipTextOutput", _OUTPUTS)
ImageOutput = _struct("SiglipImageOutput", _OUTPUTS)
Score = _struct("SiglipScore", "int label; float score")

# Where the header says char ** (an out string the caller frees) the pointer is kept as void **,
# so that it can go back to free(); preprocess_memory's const void *data takes bytes (char *).
PROTOTYPES = _prototypes("""
    const char *siglip_strerror(int status);
    const char *siglip_version_string(void);
    const char *siglip_precision_name(SiglipPrecision p);
    void siglip_default_settings(SiglipSettings *s);
    int siglip_context_create(SiglipContext **out, const SiglipSettings *s);
    void siglip_context_close(SiglipContext **ctx);
    const char *siglip_context_error(const SiglipContext *ctx);
    int siglip_context_open_device(SiglipContext *ctx);
    int siglip_context_device(SiglipContext *ctx, SiglipDeviceInfo *out);
    int siglip_devices_list(SiglipContext *ctx, SiglipDeviceInfo **out, size_t *n);
    void siglip_devices_free(SiglipDeviceInfo **list);
    int siglip_model_load(SiglipContext *ctx, const char *dir, SiglipModel **out);
    void siglip_model_free(SiglipModel **model);
    void siglip_model_info(const SiglipModel *model, SiglipModelInfo *out);
    const char *siglip_model_label(const SiglipModel *model, int index);
    int siglip_encode_text(SiglipModel *model, const int32_t *input_ids,
                           const int32_t *attention_mask, int batch, const SiglipTextOutput *out);
    int siglip_encode_image(SiglipModel *model, const float *pixel_values, int batch,
                            const SiglipImageOutput *out);
    int siglip_logits(const SiglipModel *model, const float *text_embeds, int n_text,
                      const float *image_embeds, int n_image, float *logits_per_image,
                      float *logits_per_text);
    int siglip_classify_logits(SiglipModel *model, const float *pixel_values, int batch,
                               float *logits);
    int siglip_encode_image_patches(SiglipModel *model, const SiglipPatches *in, int batch,
                                    const SiglipImageOutput *out);
    int siglip_classify_logits_patches(SiglipModel *model, const SiglipPatches *in, int batch,
                                       float *logits);
    int siglip_tokenizer_load(SiglipContext *ctx, const char *dir, SiglipTokenizer **out);
    void siglip_tokenizer_free(SiglipTokenizer **tok);
    const char *siglip_tokenizer_error(const SiglipTokenizer *tok);
    const char *siglip_image_processor_error(const SiglipImageProcessor *proc);
    SiglipTokenizer *siglip_model_tokenizer(SiglipModel *model);
    int siglip_tokenizer_max_length(const SiglipTokenizer *tok);
    int siglip_tokenize(SiglipTokenizer *tok, const char *const *texts, int n, int max_length,
                        int32_t *ids, int32_t *mask);
    int siglip_tokenize_one(SiglipTokenizer *tok, const char *text, int32_t **ids, size_t *n_ids);
    int siglip_tokenize_n(SiglipTokenizer *tok, const char *const *texts, const size_t *lengths,
                          int n, int max_length, int32_t *ids, int32_t *mask);
    int siglip_tokenize_one_n(SiglipTokenizer *tok, const char *text, size_t length,
                              int32_t **ids, size_t *n_ids);
    int siglip_detokenize(SiglipTokenizer *tok, const int32_t *ids, size_t n_ids, void **text);
    int siglip_image_processor_load(SiglipContext *ctx, const char *dir,
                                    SiglipImageProcessor **out);
    void siglip_image_processor_free(SiglipImageProcessor **proc);
    SiglipImageProcessor *siglip_model_image_processor(SiglipModel *model);
    void siglip_image_processor_size(const SiglipImageProcessor *proc, int *height, int *width);
    int siglip_preprocess_files(SiglipImageProcessor *proc, const char *const *paths, int n,
                                float *pixel_values);
    int siglip_preprocess_memory(SiglipImageProcessor *proc, const char *data, size_t size,
                                 float *pixel_values);
    int siglip_image_processor_max_patches(const SiglipImageProcessor *proc, int *patch_floats);
    int siglip_image_processor_set_max_patches(SiglipImageProcessor *proc, int n);
    int siglip_preprocess_files_patches(SiglipImageProcessor *proc, const char *const *paths,
                                        int n, const SiglipPatches *out, SiglipItemStatus *status);
    int siglip_preprocess_memory_patches(SiglipImageProcessor *proc, const char *data,
                                         size_t size, const SiglipPatches *out);
""")

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


def c_lengths(encoded):
    """A size_t[] of the lengths of a list of bytes (for the *_n calls: NUL bytes included)."""
    return (ctypes.c_size_t * len(encoded))(*map(len, encoded))
