/* pos_interp.h — interpolate_pos_encoding: the vision tower at another input size, its stored
 * position grid resized with torch's bicubic on the host. */
#ifndef SG_MODEL_POS_INTERP_H
#define SG_MODEL_POS_INTERP_H

#include <stddef.h>

/* F.interpolate(grid, size=(out_h, out_w), mode="bicubic", align_corners=False) of a position
 * table: grid [in_h·in_w, D] (row-major positions, as the embedding stores them), out
 * [out_h·out_w, D]. torch's kernel (a = -0.75, source index (i + 0.5)·in/out - 0.5, taps clamped
 * to the edge, no antialias), evaluated in double. */
void sg_pos_interp_bicubic(const float *grid, int in_h, int in_w, size_t D, int out_h, int out_w,
                           float *out);

/* F.interpolate(grid, size=(out_h, out_w), mode="bilinear", align_corners=False,
 * antialias=True) of a position table in float32, as torch's CPU kernel computes it (SigLIP 2
 * NaFlex): grid [in_h·in_w, D] → out [out_h·out_w, D]. Separable, along the width first; each
 * output is a normalized triangle filter stretched by the downscale factor. SIGLIP_ENOMEM or 0. */
int sg_pos_resize_aa_bilinear(const float *grid, int in_h, int in_w, size_t D, int out_h,
                              int out_w, float *out);

struct SiglipModel;

/* Releases what siglip_model_set_image_size() added and puts the stored grid back (called by
 * siglip_model_free before the weights are released). */
void sg_pos_interp_release(struct SiglipModel *m);

#endif /* SG_MODEL_POS_INTERP_H */
