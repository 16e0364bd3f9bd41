/* image.h — internal image API: decoding to RGB8, EXIF orientation, Pillow-exact resize and
 * the SiglipImageProcessor (settings + preprocessing) the model loader and pipelines use. */
#ifndef SG_IMAGE_IMAGE_H
#define SG_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "siglip.h"
#include "common/error.h"

/* A decoded image: 8-bit RGB, row-major, no padding. */
typedef struct SgImage {
    int width;
    int height;
    uint8_t *rgb; /* [height, width, 3], malloc'ed */
} SgImage;

void sg_image_free(SgImage *img);

/* How to decode: the pixel limit, and whether a truncated file is decoded as far as it goes. */
typedef struct SgDecodeOptions {
    uint64_t max_pixels;
    int allow_truncated;
    int keep_orientation;   /* 1: the EXIF orientation is not applied (PIL's Image.open alone, as
                             * Immich decodes) */
} SgDecodeOptions;

/* Decodes an encoded image (JPEG, PNG, WebP and GIF first frame, BMP, TGA, PNM, ICO, TIFF first
 * page, HEIF/AVIF primary image; format found
 * by its magic bytes, TGA by its header) into RGB8 as PIL's Image.open + ImageOps.exif_transpose
 * + convert("RGB"). `name` (a file name, or NULL for "image in memory") is used in messages.
 * A header claiming more than max_pixels pixels is SIGLIP_E2BIG before any pixel is decoded;
 * corrupt, zero-sized or (unless allowed) truncated images are SIGLIP_EBADMSG; unknown formats
 * SIGLIP_ENOTSUP. */
int sg_image_decode(const void *data, size_t size, const char *name, const SgDecodeOptions *o,
                    SgImage *out, SgError *err);

/* sg_image_decode on the contents of a file. */
int sg_image_load_file(const char *path, const SgDecodeOptions *o, SgImage *out, SgError *err);

/* The two above with truncated files refused. */
int sg_image_decode_rgb8(const void *data, size_t size, const char *name, uint64_t max_pixels,
                         SgImage *out, SgError *err);
int sg_image_load_file_rgb8(const char *path, uint64_t max_pixels, SgImage *out, SgError *err);

/* PIL's filter ids, as preprocessor_config.json's "resample" names them. */
typedef enum SgResample {
    SG_RESAMPLE_NEAREST, SG_RESAMPLE_LANCZOS, SG_RESAMPLE_BILINEAR, /* 0, 1, 2 */
    SG_RESAMPLE_BICUBIC, SG_RESAMPLE_BOX, SG_RESAMPLE_HAMMING,      /* 3, 4, 5 */
} SgResample;

/* Resizes RGB8 [in_h, in_w, 3] to [out_h, out_w, 3] as Pillow's Image.resize((out_w, out_h),
 * resample) on an RGB image (reducing_gap None, as transformers calls it). Returns 0, or
 * SIGLIP_ENOMEM / SIGLIP_EINVAL (empty image, resample outside 0..5). */
int sg_resize_rgb8(const uint8_t *in, int in_w, int in_h, uint8_t *out, int out_w, int out_h,
                   int resample, SgError *err);

/* sg_resize_rgb8 with Image.BICUBIC. */
int sg_resize_bicubic_rgb8(const uint8_t *in, int in_w, int in_h, uint8_t *out, int out_w,
                           int out_h, SgError *err);

/* Settings of transformers' SiglipImageProcessor (preprocessor_config.json). */
typedef struct SgImageSettings {
    int do_resize;
    int height, width;      /* size {height, width} */
    int resample;           /* PIL filter id (SgResample) */
    int resample_given;     /* the config named one (else the processor class's default) */
    int do_rescale;
    double rescale_factor;  /* applied in float64, then rounded to float32 (transformers) */
    int do_normalize;
    float image_mean[3];
    float image_std[3];
    int do_convert_rgb;
    /* Siglip2ImageProcessor (NaFlex): images keep their aspect ratio within a patch budget. */
    int naflex;
    int patch_size;         /* P (16) */
    int patch_size_given;   /* the config named one (a model's must then be the same) */
    int max_num_patches;    /* N (256) */
    /* Immich's machine-learning service (immich_ml/models/transforms.py on open_clip's
     * preprocess_cfg.json): a square output of side height, the shortest side resized to it
     * (the other int(long / short · size)) then a centre crop (immich_crop), or a plain resize
     * ("squash"); then v / 255 · (1 / std) − mean / std in float32, as numpy computes it. */
    int immich;
    int immich_crop;
} SgImageSettings;

/* Where one image's NaFlex output goes: patches [N, 3·P·P], mask [N], shape [2] = (h, w). */
typedef struct SgPatchItem {
    float *pixels;
    int32_t *mask;
    int32_t *shape;
} SgPatchItem;

struct SiglipImageProcessor {
    SgError err;            /* the last failure of a call on it (owned: it may outlive ctx) */
    SgImageSettings settings;
    SgDecodeOptions decode; /* pixel limit and truncated-file policy from the context settings */
    int n_threads;          /* 0 = online CPUs */
};

/* The processor config file of dir as transformers 5 picks it: processor_config.json when it holds
 * an "image_processor" object, else preprocessor_config.json (malloc'ed path); NULL when there is
 * neither (*rc = 0) or on ENOMEM (*rc = SIGLIP_ENOMEM). */
char *sg_image_processor_config(const char *dir, int *rc);

/* Creates a processor from dir's preprocessor_config.json (flat) or processor_config.json
 * ({"image_processor": {...}}); dir NULL, or a dir with neither file, gives the reference
 * defaults (224×224). Pixel limit, truncated-file policy and thread count come from the context
 * settings s (copied). A failure of this call is recorded in *err (the caller's record); later
 * calls record theirs in the processor's own err. Free with siglip_image_processor_free(). */
int sg_image_processor_load(SiglipImageProcessor **out, const char *dir, const SiglipSettings *s,
                            SgError *err);

void sg_image_processor_set_size(SiglipImageProcessor *p, int height, int width);

/* Makes p a NaFlex processor with patch size patch_size (naflex = 1) or a fixed-size one. */
void sg_image_processor_set_naflex(SiglipImageProcessor *p, int naflex, int patch_size);

/* Parses processor settings from JSON text (flat, or nested under "image_processor"). */
int sg_image_settings_parse(const char *json, const char *name, SgImageSettings *s, SgError *err);

/* Applies Immich's preprocess_cfg.json (JSON text; name for messages) to s: size (a number or a
 * list whose first entry is the side), mean, std, interpolation (a PIL filter name) and resize_mode
 * ("shortest", the default, or "squash"); keys that are absent keep s's values. Sets s->immich. */
int sg_image_settings_parse_immich(const char *json, const char *name, SgImageSettings *s,
                                   SgError *err);

/* Immich's resize_pil: the size (*w, *h) an image of w × h is resized to before the centre crop
 * to size × size — the shortest side becomes size, the other int(long / short · size). */
void sg_immich_resized_size(int width, int height, int size, int *w, int *h);

/* The reference defaults (224×224 bicubic, rescale 1/255, mean = std = 0.5). */
void sg_image_settings_default(SgImageSettings *s);

/* Turns a decoded image into pixel_values [3, H, W] with the processor's settings. */
int sg_image_to_pixels(const SiglipImageProcessor *p, const SgImage *img, float *pixels,
                       SgError *err);

/* get_image_size_for_max_num_patches: the output size (each side a multiple of p, at least p)
 * of the largest scale, found by binary search as transformers does, whose patch grid has at
 * most max_patches cells. */
void sg_naflex_size(int height, int width, int p, int max_patches, int *out_h, int *out_w);

/* NaFlex preprocessing of a decoded image (settings.naflex): resize to sg_naflex_size, rescale,
 * normalize, patches, zero padding to max_num_patches. */
int sg_image_to_patches(const SiglipImageProcessor *p, const SgImage *img, const SgPatchItem *o,
                        SgError *err);

/* Decode + NaFlex-preprocess n files on the processor's threads into patches [n, N, 3·P·P],
 * mask [n, N], shapes [n, 2]; status as sg_preprocess_files. */
int sg_preprocess_files_patches(const SiglipImageProcessor *p, const char *const *paths, int n,
                                const SgPatchItem *out, SiglipItemStatus *status, SgError *err);

/* Decode + preprocess n files on the processor's threads. status NULL: the first failing file
 * fails the call, named in err. status [n]: each file's outcome is recorded there (a failed
 * file's pixel_values are zero) and the call succeeds. */
int sg_preprocess_files(const SiglipImageProcessor *p, const char *const *paths, int n,
                        float *pixel_values, SiglipItemStatus *status, SgError *err);

/* Decode + preprocess one encoded image; dims (may be NULL) receives its decoded width, height. */
int sg_preprocess_memory(const SiglipImageProcessor *p, const void *data, size_t size,
                         float *pixel_values, int dims[2], SgError *err);

#endif /* SG_IMAGE_IMAGE_H */
