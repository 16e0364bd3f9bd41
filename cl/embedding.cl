/* embedding.cl — the towers' inputs: token + position embeddings, and patch extraction (im2col). */

#include "weight_load.h"

/* out[r, d] = tok_emb[ids[r], d] + pos_emb[position of r, d] for r < R, the position being
 * positions[r] when has_pos (packed texts), else r mod T.
 * ids, positions: [R], tok_emb: [V, D] stored as tok_type (sg_table_load), pos_emb:
 * [> every position, D], out: [R, D]. Global size (D, R). */
__kernel void embed_tokens(__global const int *ids, __global const int *positions, int has_pos,
                           __global const uchar *tok_emb, int tok_type, uint V,
                           __global const float *pos_emb, __global float *out, uint T, uint D,
                           uint R)
{
    const uint d = get_global_id(0), r = get_global_id(1);
    if (d >= D || r >= R)
        return;
    const uint id = (uint)ids[r], t = has_pos ? (uint)positions[r] : r % T;
    out[r * D + d] = sg_table_load(tok_emb, tok_type, V, D, id, d) + pos_emb[t * D + d];
}

/* patches[row, col] for row = (b, py, px) row-major over the grid of patches and
 * col = (c, ky, kx): the pixel pixels[b, c, py·p + ky, px·p + kx].
 * pixels: [B, C, H, W], patches: [B·gh·gw, C·p·p] with gh = H / p, gw = W / p.
 * Global size (C·p·p, B·gh·gw). */
__kernel void im2col(__global const float *pixels, __global float *patches, uint C, uint H,
                     uint W, uint p, uint n_rows)
{
    const uint col = get_global_id(0), row = get_global_id(1);
    const uint cols = C * p * p;
    if (col >= cols || row >= n_rows)
        return;
    /* Remainders as explicit subtractions: LLVM turns a paired x / y, x % y into a form with
     * `freeze`, an instruction oclgrind 21.10 cannot simulate. */
    const uint gw = W / p, per_image = (H / p) * gw;
    const uint b = row / per_image, patch = row - b * per_image;
    const uint py = patch / gw, px = patch - py * gw;
    const uint c = col / (p * p), cy = col / p, ky = cy - c * p, kx = col - cy * p;
    patches[row * cols + col] = pixels[((b * C + c) * H + py * p + ky) * W + px * p + kx];
}
