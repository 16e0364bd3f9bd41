/* siglip.h — public C API of libsiglip: SigLIP image–text models on OpenCL devices. */
#ifndef SIGLIP_H
#define SIGLIP_H

#include <stddef.h>
#include <stdint.h>

#include "siglip_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SIGLIP_BUILDING_LIBRARY) && defined(__GNUC__)
#define SIGLIP_API __attribute__((visibility("default")))
#else
#define SIGLIP_API
#endif

/* ------------------------------------------------------------------------------------------------
 * Conventions
 *
 * Status codes. Every function that can fail returns an int: 0 (SIGLIP_OK) on success, a negative
 * errno-style SIGLIP_E* code on failure. After a failure, one readable line says what went wrong
 * (for a kernel that failed to build it is followed by the OpenCL build log): for a call on a
 * tokenizer or an image processor, siglip_tokenizer_error() / siglip_image_processor_error() on
 * that handle; for any other call (their loads included), siglip_context_error() on the context
 * the call was made through. The message stays until the next failing call on that handle.
 *
 * Ownership. Handles are opaque. Each *_create / *_load / *_open has a matching free/close that takes
 * a pointer to the handle and sets it to NULL; passing NULL or a pointer to NULL is a no-op. Buffers
 * that the caller passes in stay the caller's; output arrays are caller-allocated with the sizes
 * stated per function (query them with siglip_model_info()). Strings returned as `const char *` are
 * borrowed from the handle that returned them and live as long as that handle.
 *
 * Threads. A SiglipContext, and every handle created through it, must be used by one thread at a
 * time. Distinct contexts share nothing and may be used from different threads at once. The library
 * has no global mutable state and never prints, exits or aborts.
 *
 * Shapes are written row-major, e.g. [N, 3, H, W] for pixel values.
 *
 * Limits. Each is checked before any work; going past one is SIGLIP_E2BIG with a message naming
 * the limit:
 *   - batch: at most SIGLIP_MAX_BATCH items per call (texts, images or labels). Any batch runs on
 *     the device in chunks of at most 256 items, so device memory does not grow past that;
 *   - image: decoded width × height at most SiglipSettings.max_image_pixels (default 100 M),
 *     checked from the file's header before the pixels are decoded; an image file of at most 2 GiB;
 *   - text: at most 64 MiB of UTF-8 per text; longer token sequences are truncated to the
 *     tokenizer's max length (64) with eos kept last, as transformers does.
 * --------------------------------------------------------------------------------------------- */

/* Most items one call accepts. */
#define SIGLIP_MAX_BATCH (1 << 20)

enum {
    SIGLIP_OK = 0,
    SIGLIP_ENOENT = -2,          /* a file or directory does not exist */
    SIGLIP_EIO = -5,             /* reading a file failed */
    SIGLIP_E2BIG = -7,           /* input exceeds a documented limit (pixels, batch, text length) */
    SIGLIP_ENOMEM = -12,         /* host or device memory exhausted */
    SIGLIP_ENODEV = -19,         /* no OpenCL platform, or no device matches the spec */
    SIGLIP_EINVAL = -22,         /* invalid argument (NULL pointer, zero batch, bad option) */
    SIGLIP_EBADMSG = -74,        /* malformed input file: JSON, safetensors, spiece.model, image */
    SIGLIP_ENOTSUP = -95,        /* well-formed but unsupported (dtype, model type, image format) */
    SIGLIP_EDEVICE = -1000,      /* an OpenCL or CLBlast call failed */
    SIGLIP_EBUILD = -1001,       /* an OpenCL kernel failed to build; the message holds the log */
    SIGLIP_ESHAPE = -1002,       /* a tensor's shape disagrees with the config, or a tensor is missing */
};

/* A static description of a status code ("invalid argument", ...). Never NULL. */
SIGLIP_API const char *siglip_strerror(int status);

/* Version of the library actually linked, as SIGLIP_VERSION_MAJOR << 16 | MINOR << 8 | PATCH. */
SIGLIP_API unsigned siglip_version(void);
SIGLIP_API const char *siglip_version_string(void);

/* ------------------------------------------------------------------------------------------------
 * Context
 * --------------------------------------------------------------------------------------------- */

/* How the text tower treats padding. HF transformers' processor and pipeline pass the tokenizer's
 * attention mask, so padding keys are masked out (the default). big_vision and open_clip, which
 * trained the published checkpoints, attend to the padding tokens (ids equal to eos). */
typedef enum SiglipTextMask {
    SIGLIP_TEXT_MASK_HF = 0,   /* honour the attention mask when one is given (transformers) */
    SIGLIP_TEXT_MASK_NONE = 1, /* ignore any attention mask (big_vision / open_clip) */
} SiglipTextMask;

/* Caps on the limits a device reports, for fitting the tuning to a smaller device than the one
 * at hand: on a CPU device, work-group 256, 32 KiB local memory, no fp16, no fp64 make every
 * kernel configuration run as it would under a GPU's limits (the test suite runs once so, see
 * docs/devices.md). Every field 0 = the device's own; a cap above the device's value changes
 * nothing. The opened device's SiglipDeviceInfo reports the capped values. */
typedef struct SiglipDeviceLimits {
    uint32_t max_work_group_size; /* work-items per work-group */
    uint32_t max_local_mem_bytes; /* local memory per work-group */
    int32_t no_fp16;              /* 1: as if the device lacked cl_khr_fp16 */
    int32_t no_fp64;              /* 1: as if the device lacked cl_khr_fp64 */
} SiglipDeviceLimits;

/* Storage type of every Linear layer's weight and of the token embedding on the device (issue
 * 14). They are converted at load (round to nearest even; q8: symmetric int8 with one f32 scale
 * per output channel and block of 32 inputs, for the token embedding per row and block of 32
 * elements) and widened to f32 where the kernels read them; the GEMM accumulates in f32. Position
 * embeddings, LayerNorm parameters and biases stay f32 in every precision. */
typedef enum SiglipPrecision {
    SIGLIP_PRECISION_F32 = 0,  /* as today (default) */
    SIGLIP_PRECISION_BF16 = 1, /* bfloat16: half the bytes, 8-bit mantissa */
    SIGLIP_PRECISION_F16 = 2,  /* IEEE half: half the bytes, 11-bit mantissa, |w| ≤ 65504 */
    SIGLIP_PRECISION_Q8 = 3,   /* int8 + f32 scale per 32 weights: 1.125 bytes per weight */
} SiglipPrecision;

/* The name of precision p ("f32", "bf16", "f16", "q8": the spelling the CLI's --precision and the
 * Python package accept), a static string; NULL when p is not a precision. Walking p = 0, 1, …
 * until NULL lists them all. */
SIGLIP_API const char *siglip_precision_name(SiglipPrecision p);

typedef struct SiglipSettings {
    /* OpenCL device, as a spec: "auto" (a GPU if there is one, else a CPU), "gpu", "cpu", a vendor
     * ("nvidia", "amd", "intel", "pocl"), "P:D" platform and device indices as listed by
     * siglip_devices_list(), or a case-insensitive substring of the device name. NULL = "auto". */
    const char *device;
    /* Directory in which compiled OpenCL program binaries are cached, or NULL for no cache. */
    const char *program_cache_dir;
    /* Text mask semantics; see SiglipTextMask. Default SIGLIP_TEXT_MASK_HF. */
    SiglipTextMask text_mask;
    /* Largest decoded image accepted, in pixels (width × height), against decompression bombs.
     * Default 100,000,000 (about 100 megapixels). */
    uint64_t max_image_pixels;
    /* Host threads used for image decoding and resizing, and for converting and packing weights
     * while a model loads (joined before the call returns); 0 = number of online CPUs. */
    int n_threads;
    /* JSON file overriding the built-in per-device tuning table and any stored siglip_tune()
     * result, or NULL: {"gemm": "clblast" | "panels", "gemm_mr": 1..16, "gemm_nr": 8..64 (a
     * multiple of 8), "gemm_ku": 1..16, "gemm_mb": 1..64, "attention": "tiled" | "rows",
     * "layernorm_wg": 0..4096} (what siglip_tune() stores has the same keys). Any key may be left
     * out. A bad file fails siglip_context_open_device() with SIGLIP_EBADMSG. */
    const char *tuning_file;
    /* 1: an image file that ends before its pixels do is decoded as far as it goes (the rest
     * black, or grey for JPEG, as the decoder leaves it) instead of failing with SIGLIP_EBADMSG
     * "image file is truncated" (transformers/Pillow refuse it unless ImageFile.
     * LOAD_TRUNCATED_IMAGES is set). Honoured for JPEG, GIF, BMP, TGA, PNM, TIFF; truncated PNG
     * and WebP still fail. Default 0. */
    int allow_truncated_images;
    /* Storage type of Linear weights and the token embedding; see SiglipPrecision. Read by
     * siglip_model_load and siglip_model_create_random. Default SIGLIP_PRECISION_F32. */
    SiglipPrecision precision;
    /* Caps on the device's limits the tuning is fitted to (see SiglipDeviceLimits); all 0 (the
     * default) = the device's own. Read by siglip_context_open_device(). */
    SiglipDeviceLimits device_limits;
    uint8_t reserved[40]; /* must be zero (siglip_default_settings() does it) */
} SiglipSettings;

/* ---- device tuning ----
 * How the ops run on a device (GEMM register block, attention kernel, ...) comes from a built-in
 * table of rules on the device's properties, or from a result of siglip_tune() stored in
 * program_cache_dir as tuning-<hash of device name, driver and library version>.json, which
 * opening the device applies by itself, or from SiglipSettings.tuning_file, which wins. A stored
 * result that cannot be used (corrupt, or made for another device/driver/library) is ignored and
 * the reason shown by siglip_context_tuning_info(): it is the library's own cache, and the table
 * still works. A bad tuning_file the caller named fails instead. */
typedef struct SiglipTuningInfo {
    char source[16];        /* "rule", "file" (tuning_file) or "tuned" (stored siglip_tune result) */
    char rule[32];          /* the table rule that matched ("cpu-avx2", "cpu-avx512", "default") */
    char config[128];       /* what runs, every knob named, e.g. "panels mr4 nr24 ku1 mb4,
                             * chunk KiB 16384, attention rows qb6 wg64 tile32, layernorm wg 1" */
    char stored_path[1024]; /* where a stored result for this device is looked for; "" = no cache */
    int stored_exists;      /* 1 when a file is there (used or not) */
    char note[1024];        /* why a stored file was ignored, "" otherwise */
} SiglipTuningInfo;

/* Progress of siglip_tune(): `done` of `total` steps, `what` names the step starting now. */
typedef void (*SiglipTuneProgress)(void *user, int done, int total, const char *what);

typedef struct SiglipTuneOptions {
    double budget_s;             /* no further candidate starts after this many seconds; 0 = 40 */
    int batch;                   /* batch size the shapes are timed at; 0 = 8 */
    SiglipTuneProgress progress; /* NULL = none */
    void *user;                  /* passed to progress */
} SiglipTuneOptions;

/* Fills *s with the defaults described above. */
SIGLIP_API void siglip_default_settings(SiglipSettings *s);

typedef struct SiglipContext SiglipContext;

/* Creates a context with the given settings (NULL = defaults). Host-side only: no OpenCL call is
 * made until a device is needed, so a context without any OpenCL device can still tokenize and
 * preprocess. On success *out owns a new context to be released with siglip_context_close().
 * Fails with SIGLIP_ENOMEM or SIGLIP_EINVAL only; *out is then NULL. The settings' strings are
 * copied. */
SIGLIP_API int siglip_context_create(SiglipContext **out, const SiglipSettings *s);

/* Releases the context; every model still made through it is invalid afterwards (free them
 * first). A tokenizer or image processor loaded on its own (siglip_tokenizer_load,
 * siglip_image_processor_load) owns its settings and error message and stays usable; those a model
 * lends (siglip_model_tokenizer, ...) go with the model. Sets *ctx to NULL. */
SIGLIP_API void siglip_context_close(SiglipContext **ctx);

/* The message of the last failure on this context, or "" if none. Borrowed from the context. */
SIGLIP_API const char *siglip_context_error(const SiglipContext *ctx);

/* Opens the OpenCL device named by the settings (if not already open) and builds the kernels.
 * Called implicitly by siglip_model_load(); call it yourself to fail early or to time it. */
SIGLIP_API int siglip_context_open_device(SiglipContext *ctx);

/* Device memory held by the library's buffers on this context's device, in bytes: *current now,
 * *peak the most held at once since the device was opened or since the last
 * siglip_context_reset_peak_memory(). Either pointer may be NULL. SIGLIP_EINVAL when no device is
 * open. (Memory that CLBlast or the OpenCL driver allocate internally is not counted.) */
SIGLIP_API int siglip_context_memory(SiglipContext *ctx, uint64_t *current, uint64_t *peak);
/* Restarts the peak of siglip_context_memory() from the current amount (no-op without a device). */
SIGLIP_API void siglip_context_reset_peak_memory(SiglipContext *ctx);

/* ------------------------------------------------------------------------------------------------
 * Devices
 * --------------------------------------------------------------------------------------------- */

typedef enum SiglipDeviceType {
    SIGLIP_DEVICE_OTHER = 0,
    SIGLIP_DEVICE_CPU = 1,
    SIGLIP_DEVICE_GPU = 2,
    SIGLIP_DEVICE_ACCELERATOR = 3,
} SiglipDeviceType;

typedef struct SiglipDeviceInfo {
    int platform_index;            /* P of the "P:D" spec */
    int device_index;              /* D of the "P:D" spec */
    SiglipDeviceType type;
    char platform_name[128];
    char name[128];
    char vendor[128];
    char version[128];             /* CL_DEVICE_VERSION */
    char driver_version[64];
    uint32_t compute_units;
    uint32_t max_clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    uint64_t local_mem_bytes;
    size_t max_work_group_size;
    int has_fp16;                  /* cl_khr_fp16 */
    int has_fp64;                  /* cl_khr_fp64 */
    int has_subgroups;             /* cl_khr_subgroups or cl_intel_subgroups */
    int is_selected;               /* this is the device the context's spec picks */
    uint32_t loop_budget;          /* loop iterations a work-item may run before the implementation
                                    * cuts its loops short (llvmpipe: 65535), measured when the
                                    * device is opened; 0 = no limit found, or not opened (lists) */
    int32_t has_int8_dot;          /* the device's compiler builds packed int8 multiply-adds (x86
                                    * AVX2's vpmaddubsw/vpmaddwd), which q8's integer GEMM forms
                                    * need: a compile probe when the device is opened; 0 without
                                    * them, or not opened (lists). From reserved bytes. */
    int32_t has_fma;               /* CL_FP_FMA in CL_DEVICE_SINGLE_FP_CONFIG: fma() is an
                                    * instruction. Without it (llvmpipe) fma() is a software
                                    * routine, so the kernels multiply-add with mad() (cl/fma.h).
                                    * From reserved bytes. */
    int32_t has_vnni;              /* the device's CPU has x86 VNNI's vpdpbusd, which q8's integer
                                    * GEMM may use (tuning knob gemm_q8_dot): 1 = AVX-512 VNNI
                                    * (with AVX512VL, the OS saving zmm state), 2 = AVX-VNNI, 0 =
                                    * neither, no int8 dot products, or not opened (lists). Read
                                    * by a kernel on the device (cpuid) when it is opened: the
                                    * compiler may target an older CPU than it runs on. From
                                    * reserved bytes. */
    uint8_t reserved[16];
} SiglipDeviceInfo;

/* Lists every device of every OpenCL platform. On success *out is an array of *n entries owned by
 * the caller, to be released with siglip_devices_free(). The entry the context's device spec would
 * pick has is_selected set. No platform at all is SIGLIP_ENODEV. */
SIGLIP_API int siglip_devices_list(SiglipContext *ctx, SiglipDeviceInfo **out, size_t *n);
SIGLIP_API void siglip_devices_free(SiglipDeviceInfo **list);

/* The device the context has opened; SIGLIP_EINVAL if none is open yet. *out is a copy. */
SIGLIP_API int siglip_context_device(SiglipContext *ctx, SiglipDeviceInfo *out);

/* ------------------------------------------------------------------------------------------------
 * Models
 * --------------------------------------------------------------------------------------------- */

typedef struct SiglipModel SiglipModel;

typedef enum SiglipArchitecture {
    SIGLIP_ARCH_MODEL = 0,                    /* SiglipModel: both towers and the logit head */
    SIGLIP_ARCH_IMAGE_CLASSIFICATION = 1,     /* SiglipForImageClassification: vision + classifier */
} SiglipArchitecture;

typedef struct SiglipModelInfo {
    SiglipArchitecture architecture;
    /* text tower (zero when the model has none) */
    int text_hidden_size;        /* D */
    int text_layers;
    int text_heads;
    int text_intermediate_size;
    int text_max_positions;      /* T: the sequence length input_ids must have */
    int vocab_size;
    int projection_size;         /* Dp: size of text pooler output and text embeds */
    /* vision tower */
    int vision_hidden_size;      /* size of image pooler output and image embeds */
    int vision_layers;
    int vision_heads;
    int vision_intermediate_size;
    int image_size;              /* H expected in pixel_values (= W unless resized, see
                                  * siglip_model_set_image_size) */
    int patch_size;
    int num_channels;
    int num_patches;             /* (H / patch_size) · (W / patch_size) */
    /* classification head (SIGLIP_ARCH_IMAGE_CLASSIFICATION) */
    int num_labels;
    float logit_scale;           /* exp() already applied */
    float logit_bias;
    int has_tokenizer;           /* a tokenizer file was in the directory */
    int has_image_processor;     /* a preprocessor/processor config was in the directory */
    int image_width;             /* W expected in pixel_values (issue 15; from reserved bytes) */
    /* SigLIP 2 NaFlex (model_type "siglip2"): the patch budget N of the model's image processor
     * (siglip_image_processor_max_patches), 0 for fixed-resolution models. A NaFlex model takes
     * SiglipPatches (siglip_encode_image_patches); num_patches is then its position grid's size
     * and image_size the grid's side × patch_size. (From reserved bytes.) */
    int max_patches;
    /* Image classification: how its pipeline scores the classes, a SiglipScoring (defined
     * below): SIGLIP_SCORE_SIGMOID for config problem_type "multi_label_classification" or a
     * single label, else SIGLIP_SCORE_SOFTMAX, as transformers' image-classification pipeline.
     * (From reserved bytes.) */
    int class_scoring;
    uint8_t reserved[52];
} SiglipModelInfo;

/* Loads a model directory as downloaded from the Hugging Face Hub: config.json, model.safetensors
 * or model.safetensors.index.json with its shards (F32, BF16 or F16), and, when present, the
 * tokenizer (see siglip_tokenizer_load) and preprocessor_config.json / processor_config.json.
 * SigLIP and SigLIP 2 fixed-resolution checkpoints (model_type "siglip"; no "architectures"
 * means SiglipModel) load, and SigLIP 2 NaFlex ones (model_type "siglip2", Siglip2Model): their
 * image processor is then a NaFlex one (see SiglipPatches) whatever its config says.
 * Weights are converted to float32 on the device. Opens the context's device if needed.
 * On success *out owns the model; release it with siglip_model_free() before closing ctx. */
SIGLIP_API int siglip_model_load(SiglipContext *ctx, const char *dir, SiglipModel **out);

/* Creates a model from config.json text alone with random weights (seeded, uniform in ±0.02 with
 * LayerNorm weights near 1): for benchmarks of any SigLIP shape without a checkpoint. It has no
 * tokenizer and the default image processor sized to the config. *out as siglip_model_load(). */
SIGLIP_API int siglip_model_create_random(SiglipContext *ctx, const char *config_json,
                                          uint64_t seed, SiglipModel **out);
SIGLIP_API void siglip_model_free(SiglipModel **model);

/* Copies the model's dimensions into *out. */
SIGLIP_API void siglip_model_info(const SiglipModel *model, SiglipModelInfo *out);

/* Times candidate configurations of the hot ops (GEMM register blocks, attention kernels) at the
 * shapes of `model` (from siglip_model_info(), or any filled-in SiglipModelInfo) on the context's
 * device (opened if needed; the tuner uses a private copy, models already loaded are unaffected),
 * keeps the fastest whose results agree with a plain-C computation within 1e-4, and stores it in
 * program_cache_dir for this device, driver and library version (SIGLIP_EINVAL without a cache
 * directory). Devices opened afterwards use it. *out (may be NULL) then describes the stored
 * result. opt may be NULL for the defaults. */
SIGLIP_API int siglip_tune(SiglipContext *ctx, const SiglipModelInfo *model,
                           const SiglipTuneOptions *opt, SiglipTuningInfo *out);

/* Which tuning the context's opened device runs (SIGLIP_EINVAL when none is open yet). */
SIGLIP_API int siglip_context_tuning_info(SiglipContext *ctx, SiglipTuningInfo *out);

/* Where a stored siglip_tune() result for `device` (an entry of siglip_devices_list()) is looked
 * for in the context's program_cache_dir, written into buf: returns 1 when such a file exists,
 * 0 when not (or there is no cache directory: buf is ""), or a negative status. For listings. */
SIGLIP_API int siglip_tuning_stored_path(SiglipContext *ctx, const SiglipDeviceInfo *device,
                                         char *buf, size_t size);


/* transformers' interpolate_pos_encoding=True: makes the vision tower take pixel_values of
 * height × width (each side at least patch_size; the remainder of a side that is no multiple of
 * patch_size is ignored, as the convolution does). The checkpoint's √N×√N position grid is
 * resized to (height / P)×(width / P) as F.interpolate(mode="bicubic", align_corners=False)
 * does (a = -0.75, no antialias), once here on the host in double precision, and uploaded; when
 * the grid already has that shape the stored table is used unchanged. The model's image
 * processor follows (its output becomes height × width); siglip_model_info() reports the new
 * size. height = width = 0 restores the checkpoint's size. The model owns the new table; it is
 * released by the next call or by siglip_model_free(). SIGLIP_EINVAL for a bad size;
 * SIGLIP_ENOTSUP for a SigLIP 2 NaFlex model (Siglip2Model has no such option: it takes every
 * image at its own grid, within siglip_image_processor_set_max_patches()'s budget). */
SIGLIP_API int siglip_model_set_image_size(SiglipModel *model, int height, int width);

/* Name of class `index` of an image-classification model (config id2label), or NULL when the
 * index is out of range. Borrowed from the model. */
SIGLIP_API const char *siglip_model_label(const SiglipModel *model, int index);

/* Outputs of the text tower for a batch of B texts. Each pointer is caller-allocated or NULL when
 * that output is not wanted. Dp = projection_size, D = text_hidden_size, T = text_max_positions. */
typedef struct SiglipTextOutput {
    float *pooler_output;        /* [B, Dp] head(last_hidden_state[:, -1]) = get_text_features */
    float *embeds;               /* [B, Dp] pooler_output / ||pooler_output||₂ = text_embeds */
    float *last_hidden_state;    /* [B, T, D] after final_layer_norm */
} SiglipTextOutput;

/* Runs the text tower. input_ids: [B, T] token ids with T = text_max_positions (pad them, e.g. with
 * siglip_tokenize()). attention_mask: [B, T] of 1 (attend) / 0 (padding), or NULL for none; it is
 * honoured only when the context's text_mask is SIGLIP_TEXT_MASK_HF. Every id must be in
 * [0, vocab_size), else SIGLIP_EINVAL. With a mask whose rows are ones then zeros (as the
 * tokenizer gives) and last_hidden_state NULL, only the real tokens and the last position are
 * computed (the same outputs, in a fraction of the time for short texts). */
SIGLIP_API int siglip_encode_text(SiglipModel *model, const int32_t *input_ids,
                                  const int32_t *attention_mask, int batch,
                                  const SiglipTextOutput *out);

/* Outputs of the vision tower for a batch of B images; D = vision_hidden_size, N = num_patches. */
typedef struct SiglipImageOutput {
    float *pooler_output;        /* [B, D] attention-pooling head = get_image_features */
    float *embeds;               /* [B, D] pooler_output / ||pooler_output||₂ = image_embeds */
    float *last_hidden_state;    /* [B, N, D] after post_layernorm */
} SiglipImageOutput;

/* Runs the vision tower on pixel_values [B, C, H, W] (H = W = image_size, as produced by
 * siglip_preprocess_*()). A model without the vision head (image classification) can't produce
 * pooler_output or embeds: asking for them is SIGLIP_EINVAL. A NaFlex model is SIGLIP_EINVAL
 * here: it takes siglip_encode_image_patches(). */
SIGLIP_API int siglip_encode_image(SiglipModel *model, const float *pixel_values, int batch,
                                   const SiglipImageOutput *out);

/* The inputs of a SigLIP 2 NaFlex vision tower for B images (Siglip2ImageProcessor's
 * pixel_values, pixel_attention_mask and spatial_shapes). Each image keeps its aspect ratio: it
 * is resized to an (h·P) × (w·P) grid of patches with h·w ≤ N, its patches listed row by row
 * first, then zero padding up to N. The arrays are the caller's (allocated with these sizes; the
 * library never keeps them). C = num_channels, P = patch_size. */
typedef struct SiglipPatches {
    int max_patches;               /* N: patch rows per image (the processor's max_num_patches) */
    float *pixel_values;           /* [B, N, C·P·P], each patch flattened (py·P + px)·C + c */
    int32_t *pixel_attention_mask; /* [B, N]: 1 for the image's h·w patches, 0 for padding */
    int32_t *spatial_shapes;       /* [B, 2]: (h, w), the patch grid of each image */
} SiglipPatches;

/* Runs a NaFlex (model_type "siglip2") vision tower on B preprocessed images, which may have
 * different aspect ratios and grids: they run together, each with its own key mask and its own
 * position embeddings (the √num_patches grid resized to (h, w) with bilinear, antialias, in
 * float32, as transformers does; padding rows take row 0). last_hidden_state is [B, N, D] with N
 * = in->max_patches (padding rows included, as transformers returns them). Each mask must be h·w
 * ones followed by zeros, 1 ≤ h·w ≤ N; else SIGLIP_EINVAL. A fixed-resolution model is
 * SIGLIP_EINVAL here. */
SIGLIP_API int siglip_encode_image_patches(SiglipModel *model, const SiglipPatches *in,
                                           int batch, const SiglipImageOutput *out);

/* logits_per_text[t][i] = text_embeds[t] · image_embeds[i] · exp(logit_scale) + logit_bias, and
 * logits_per_image = its transpose. Inputs are normalized embeds ([n_text, Dp], [n_image, Dp]);
 * outputs are caller-allocated [n_image, n_text] and [n_text, n_image], each may be NULL.
 * Computed on the host in double precision. */
SIGLIP_API int siglip_logits(const SiglipModel *model, const float *text_embeds, int n_text,
                             const float *image_embeds, int n_image, float *logits_per_image,
                             float *logits_per_text);

/* SiglipForImageClassification: logits [B, num_labels] = mean over patches of the vision
 * last_hidden_state · classifierᵀ + bias. SIGLIP_EINVAL for a model without a classifier or a
 * NaFlex one (siglip_classify_logits_patches). */
SIGLIP_API int siglip_classify_logits(SiglipModel *model, const float *pixel_values, int batch,
                                      float *logits);

/* Siglip2ForImageClassification (a NaFlex model, model_type "siglip2"): logits [B, num_labels] =
 * the mean of the vision last_hidden_state over each image's own h·w patches (padding rows left
 * out, as transformers pools with pixel_attention_mask) · classifierᵀ + bias. Inputs as for
 * siglip_encode_image_patches(). SIGLIP_EINVAL for a model without a classifier or a
 * fixed-resolution one (siglip_classify_logits). */
SIGLIP_API int siglip_classify_logits_patches(SiglipModel *model, const SiglipPatches *in,
                                              int batch, float *logits);

/* ------------------------------------------------------------------------------------------------
 * Tokenizer (CPU): SentencePiece unigram / BPE, or tokenizer.json, with the rules of
 * SiglipTokenizer or Siglip2Tokenizer (Gemma: lowercase, no bos, eos appended, <pad> = 0)
 * --------------------------------------------------------------------------------------------- */

typedef struct SiglipTokenizer SiglipTokenizer;

/* Loads a model directory's tokenizer: spiece.model, else tokenizer.model (Gemma), else
 * tokenizer.json, with tokenizer_config.json (optional). Its tokenizer_class picks the rules
 * (GemmaTokenizer / Siglip2Tokenizer → Siglip2Tokenizer's; SiglipTokenizer); without it, or for
 * another class, the file does (spiece.model → SiglipTokenizer, the others → Siglip2Tokenizer). No OpenCL device is
 * needed. *out owns the tokenizer; release it with siglip_tokenizer_free(). No tokenizer file:
 * SIGLIP_ENOENT; an unsupported model type, normalizer or pre-tokenizer: SIGLIP_ENOTSUP. */
SIGLIP_API int siglip_tokenizer_load(SiglipContext *ctx, const char *dir, SiglipTokenizer **out);
SIGLIP_API void siglip_tokenizer_free(SiglipTokenizer **tok);

/* The message of the last failed call on this tokenizer, or "" if none. Owned by the tokenizer. */
SIGLIP_API const char *siglip_tokenizer_error(const SiglipTokenizer *tok);

/* The tokenizer loaded with a model (NULL when its directory had no tokenizer file). Borrowed. */
SIGLIP_API SiglipTokenizer *siglip_model_tokenizer(SiglipModel *model);

/* model_max_length of tokenizer_config.json (64 by default). */
SIGLIP_API int siglip_tokenizer_max_length(const SiglipTokenizer *tok);

/* Tokenizes n UTF-8 texts as the tokenizer(text, padding="max_length", truncation=True,
 * max_length=max_length): ids and mask are caller-allocated [n, max_length]; max_length <= 0 means
 * the tokenizer's model_max_length. Invalid UTF-8 is replaced by U+FFFD as Python's
 * errors="replace" does it (one U+FFFD per maximal invalid subsequence: a stray byte, or a
 * truncated multi-byte character); texts end at their NUL (siglip_tokenize_n takes lengths
 * instead, for texts that hold U+0000); a text over 64 MiB is SIGLIP_E2BIG. Only the part of a
 * text that decides its first max_length - 1 ids is encoded; a text whose first ids would need
 * more than 1 MiB of it encoded at once (no place to cut it: no space after a letter or digit,
 * ...; docs/serve-limits.md) is refused with SIGLIP_ENOTSUP. A failing text fails the call, its
 * message names it ("text 2: ..."), and ids / mask are then unspecified.
 * mask may be NULL. */
SIGLIP_API int siglip_tokenize(SiglipTokenizer *tok, const char *const *texts, int n,
                               int max_length, int32_t *ids, int32_t *mask);

/* siglip_tokenize for texts given with their lengths: texts[i] is lengths[i] bytes of UTF-8, in
 * which a NUL byte is a character like any other (U+0000, as transformers sees it in a Python
 * str) instead of the end of the text. lengths NULL: each text ends at its NUL, as in
 * siglip_tokenize. texts and lengths stay the caller's. */
SIGLIP_API int siglip_tokenize_n(SiglipTokenizer *tok, const char *const *texts,
                                 const size_t *lengths, int n, int max_length, int32_t *ids,
                                 int32_t *mask);

/* Encodes one text without padding or truncation, eos included. *ids receives a malloc'ed array
 * of *n_ids ids that the caller frees with free(). */
SIGLIP_API int siglip_tokenize_one(SiglipTokenizer *tok, const char *text, int32_t **ids,
                                   size_t *n_ids);
/* The same for a text of `length` bytes that may hold NUL bytes (see siglip_tokenize_n). */
SIGLIP_API int siglip_tokenize_one_n(SiglipTokenizer *tok, const char *text, size_t length,
                                     int32_t **ids, size_t *n_ids);

/* Immich's clean_text (immich_ml/models/transforms.py), what its machine-learning service does
 * to a search text before its CLIP tokenizer: whitespace runs (Python's str.split(): Unicode
 * whitespace) become one space and the ends are stripped; with canonicalize (text_cfg
 * tokenizer_kwargs "clean": "canonicalize", open_clip's SigLIP configs) the ASCII punctuation of
 * Python's string.punctuation is then removed and the text lowercased as Python's str.lower().
 * Invalid UTF-8 reads as Python's decoder with errors="replace". *out receives a malloc'ed
 * NUL-terminated UTF-8 string that the caller frees with free(). SIGLIP_EINVAL for NULL text or
 * out, SIGLIP_ENOMEM. */
SIGLIP_API int siglip_immich_clean_text(const char *text, int canonicalize, char **out);

/* Decodes ids back to text (special tokens skipped, '▁' → space, byte pieces as bytes; the
 * SiglipTokenizer rules strip spaces at both ends).
 * *text receives a malloc'ed NUL-terminated string that the caller frees with free(). */
SIGLIP_API int siglip_detokenize(SiglipTokenizer *tok, const int32_t *ids, size_t n_ids,
                                 char **text);

/* ------------------------------------------------------------------------------------------------
 * Image processor (CPU): decode, EXIF transpose, RGB, Pillow resize (the config's resample: 0..5,
 * each byte-identical to Pillow), rescale, normalize
 * --------------------------------------------------------------------------------------------- */

typedef struct SiglipImageProcessor SiglipImageProcessor;

/* Loads preprocessor_config.json (flat) or processor_config.json ({"image_processor": {...}}) from
 * dir; dir may be NULL for the reference defaults (224×224). *out owns the processor; release it
 * with siglip_image_processor_free(). */
SIGLIP_API int siglip_image_processor_load(SiglipContext *ctx, const char *dir,
                                           SiglipImageProcessor **out);
SIGLIP_API void siglip_image_processor_free(SiglipImageProcessor **proc);

/* The message of the last failed call on this processor, or "" if none. Owned by the processor. */
SIGLIP_API const char *siglip_image_processor_error(const SiglipImageProcessor *proc);

/* The image processor loaded with a model (the defaults, sized to the model, when its directory
 * had no processor config). Borrowed. */
SIGLIP_API SiglipImageProcessor *siglip_model_image_processor(SiglipModel *model);

/* Output size of the processor: pixel_values of one image are [3, *height, *width]. */
SIGLIP_API void siglip_image_processor_size(const SiglipImageProcessor *proc, int *height,
                                            int *width);

/* SigLIP 2 NaFlex processors (Siglip2ImageProcessor; every processor of a model_type "siglip2"
 * model): returns the patch budget N (max_num_patches, 256 by default) and sets *patch_floats
 * to C·P·P (may be NULL); 0 for a fixed-size processor (use siglip_preprocess_files then). */
SIGLIP_API int siglip_image_processor_max_patches(const SiglipImageProcessor *proc,
                                                  int *patch_floats);

/* Sets a NaFlex processor's patch budget (max_num_patches) to n ≥ 1 (at most 65536); images are
 * then resized to the largest grid of at most n patches. SIGLIP_EINVAL for a fixed-size
 * processor or a bad n. */
SIGLIP_API int siglip_image_processor_set_max_patches(SiglipImageProcessor *proc, int n);


/* Makes proc preprocess as Immich's machine-learning service does for its CLIP models
 * (immich_ml/models/clip/visual.py and models/transforms.py), so that embeddings match those of
 * an Immich library: the image decoded as PIL's Image.open + convert("RGB") with no EXIF
 * transpose; its shortest side resized to the processor's height H with the filter below (the
 * other side int(long / short · H)), then the centre H × H crop at int(side / 2 − H / 2)
 * (resize_mode "shortest", Immich's default) — or resized to H × H (resize_mode "squash"); then
 * v / 255 · (1 / std) − mean / std in float32. The filter becomes bicubic (open_clip's SigLIP
 * configs); mean and std stay the processor's. When dir (may be NULL) holds Immich's
 * preprocess_cfg.json, its size, mean, std, interpolation and resize_mode apply (the size may
 * then differ from the model's: check siglip_image_processor_size). On failure the processor is
 * unchanged: SIGLIP_EBADMSG / SIGLIP_ENOTSUP for a bad preprocess_cfg.json, SIGLIP_EINVAL for a
 * NaFlex processor. */
SIGLIP_API int siglip_image_processor_set_immich(SiglipImageProcessor *proc, const char *dir);

/* Decodes and preprocesses n image files into pixel_values [n, 3, H, W] (caller-allocated), using
 * the context's n_threads. Fails on the first bad image, naming it. */
SIGLIP_API int siglip_preprocess_files(SiglipImageProcessor *proc, const char *const *paths,
                                       int n, float *pixel_values);

/* The outcome of one item of a list call that goes on past bad items. */
typedef struct SiglipItemStatus {
    int status;          /* SIGLIP_OK, or the SIGLIP_E* code of this item's failure */
    char message[512];   /* why it failed, naming the file ("" on success); cut to fit */
} SiglipItemStatus;

/* siglip_preprocess_files that does not stop at a bad image: status (caller-allocated [n])
 * receives each image's outcome, and a failed image's pixel_values [3, H, W] are zero. Returns
 * SIGLIP_OK once every image was tried (check status), or an error for bad arguments (NULL
 * status included) or when the threads can't be set up. */
SIGLIP_API int siglip_preprocess_files_each(SiglipImageProcessor *proc, const char *const *paths,
                                            int n, float *pixel_values,
                                            SiglipItemStatus *status);

/* The same for one encoded image held in memory (JPEG, PNG, WebP, GIF, BMP, TGA, PNM, ICO, TIFF;
 * HEIF/HEIC and AVIF as an extension beyond Pillow). */
SIGLIP_API int siglip_preprocess_memory(SiglipImageProcessor *proc, const void *data,
                                        size_t size, float *pixel_values);

/* siglip_preprocess_memory that also reports the decoded image's size before any resize (either
 * pointer may be NULL; 0 when the image could not be decoded): PIL's Image.size after decoding
 * (after the EXIF transpose, which Immich's mode does not apply), what Immich answers as
 * imageWidth / imageHeight. */
SIGLIP_API int siglip_preprocess_memory_size(SiglipImageProcessor *proc, const void *data,
                                             size_t size, float *pixel_values, int *width,
                                             int *height);

/* NaFlex preprocessing of n image files into out (out->max_patches must equal the processor's
 * budget): the size rule of get_image_size_for_max_num_patches (binary search on the scale, each
 * side a multiple of P, at least one patch), Pillow's resample of the config, rescale,
 * normalize, patches, padding. status NULL: fails on the first bad image, naming it. status
 * [n] (caller-allocated): each image's outcome is recorded and a failed image's rows are zero
 * (mask and shape too), and the call succeeds once every image was tried. A fixed-size
 * processor is SIGLIP_EINVAL. */
SIGLIP_API int siglip_preprocess_files_patches(SiglipImageProcessor *proc,
                                               const char *const *paths, int n,
                                               const SiglipPatches *out,
                                               SiglipItemStatus *status);

/* The same for one encoded image in memory: out holds one image (B = 1). */
SIGLIP_API int siglip_preprocess_memory_patches(SiglipImageProcessor *proc, const void *data,
                                                size_t size, const SiglipPatches *out);

/* ------------------------------------------------------------------------------------------------
 * Pipelines
 * --------------------------------------------------------------------------------------------- */

typedef struct SiglipScore {
    int label;       /* index into the labels (zero-shot) or class index (classification) */
    float score;     /* sigmoid(logit) for zero-shot, softmax (or sigmoid: class_scoring) for
                      * classification */
} SiglipScore;

/* How siglip_score_logits turns one image's logits into scores. */
typedef enum SiglipScoring {
    SIGLIP_SCORE_SIGMOID = 0, /* zero-shot: sigmoid(logits_per_image), each label on its own;
                               * also a multi-label or one-label classifier (class_scoring) */
    SIGLIP_SCORE_SOFTMAX = 1  /* classification: softmax over the classifier's classes */
} SiglipScoring;

/* One image's scores as the pipelines below compute them, for callers that run the towers
 * themselves (e.g. on pixel_values from siglip_preprocess_memory): logits [n] → scores [n]
 * (caller-allocated), label = index into logits, sorted highest first with ties in label order
 * (Python's stable sorted). Does nothing when an argument is NULL or n <= 0. */
SIGLIP_API void siglip_score_logits(const float *logits, int n, SiglipScoring scoring,
                                    SiglipScore *scores);

/* Python's template_.format(label) as the zero-shot pipeline applies hypothesis_template: each
 * "{}" becomes label, "{{" and "}}" literal braces; NULL template_ = "This is a photo of {}.".
 * Returns a malloc'ed NUL-terminated string that the caller frees with free(); NULL when label is
 * NULL or out of memory. */
SIGLIP_API char *siglip_format_label(const char *template_, const char *label);

/* Zero-shot image classification as transformers' pipeline("zero-shot-image-classification"):
 * each label becomes template with "{}" replaced by the label (NULL template = "This is a photo of
 * {}."), texts are tokenized with padding to max length and the mask is passed (subject to the
 * context's text_mask), score = sigmoid(logits_per_image). Labels are encoded once per call.
 * scores: caller-allocated [n_images, n_labels]; row i holds image i's labels sorted by score,
 * highest first. The model must have a tokenizer and an image processor. */
SIGLIP_API int siglip_zero_shot(SiglipModel *model, const char *const *image_paths, int n_images,
                                const char *const *labels, int n_labels, const char *template_,
                                SiglipScore *scores);

/* Image classification with a SiglipForImageClassification model: softmax over its classes
 * (sigmoid per class for a multi-label or one-label classifier: SiglipModelInfo.class_scoring), the
 * top `top_k` (all when top_k <= 0 or > num_labels) per image, highest first, in scores
 * [n_images, k] (caller-allocated with k = min(top_k, num_labels)). */
SIGLIP_API int siglip_classify(SiglipModel *model, const char *const *image_paths, int n_images,
                               int top_k, SiglipScore *scores);

/* ------------------------------------------------------------------------------------------------
 * Embedding matrices on the device (photo search): a matrix of stored embeddings uploaded once,
 * then scored against batches of queries by a GEMM on the device
 * --------------------------------------------------------------------------------------------- */

typedef struct SiglipMatrix SiglipMatrix;

/* Copies rows [n, dim] (float32, e.g. L2-normalized image embeddings) to the context's device,
 * opening it if needed. The matrix is held as blocks of rows of at most 256 MiB each (less when
 * the device allows smaller allocations), plus work buffers of a few tens of MiB, so it needs
 * about n · dim · 4 bytes of device memory. rows stays the caller's and may be freed afterwards.
 * On success *out owns the matrix; release it with siglip_matrix_free() before closing ctx. The
 * matrix uses ctx: one thread at a time for both (see Threads above); errors are reported on ctx.
 * n >= 1, 1 <= dim <= 65536, else SIGLIP_EINVAL. */
SIGLIP_API int siglip_matrix_create(SiglipContext *ctx, const float *rows, size_t n, int dim,
                                    SiglipMatrix **out);
SIGLIP_API void siglip_matrix_free(SiglipMatrix **m);

/* Rows and columns of the matrix (either pointer may be NULL). */
SIGLIP_API void siglip_matrix_shape(const SiglipMatrix *m, size_t *n, int *dim);

/* scores [n_queries, n] = queries [n_queries, dim] · rowsᵀ, in float32 on the device (every
 * query against every row; caller-allocated scores). n_queries >= 1. */
SIGLIP_API int siglip_matrix_scores(SiglipMatrix *m, const float *queries, int n_queries,
                                    float *scores);

/* For each query, the k rows with the highest dot product, best first (equal scores: the lower
 * row first): row_ids and scores are caller-allocated [n_queries, k]. The scores are computed as
 * by siglip_matrix_scores() and selected on the host one block of rows at a time, so host memory
 * stays bounded whatever n is. k > n is allowed: the k − n places after the n rows get row id
 * SIZE_MAX and score −infinity. k >= 1, n_queries >= 1. */
SIGLIP_API int siglip_matrix_topk(SiglipMatrix *m, const float *queries, int n_queries, int k,
                                  size_t *row_ids, float *scores);

#ifdef __cplusplus
}
#endif

#endif /* SIGLIP_H */
