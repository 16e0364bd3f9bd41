/* pixels.c — the helpers every decoder shares: dimension and truncation checks, allocation and
 * freeing of SgImage, Pillow's palette fallback and a horizontal flip. */
#include <stdlib.h>
#include <string.h>

#include "image/decoders.h"

void sg_image_free(SgImage *img)
{
    if (!img)
        return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

int sg_image_alloc(SgImage *out, int w, int h, SgError *err)
{
    out->rgb = calloc((size_t)w * (size_t)h, 3);
    if (!out->rgb)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for a %dx%d image", w, h);
    out->width = w;
    out->height = h;
    return 0;
}

int sg_check_dimensions(const SgDecodeInput *in, int64_t w, int64_t h, SgError *err)
{
    if (w <= 0 || h <= 0)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: image has zero size (%lldx%lld)", in->name,
                       (long long)w, (long long)h);
    if ((uint64_t)w * (uint64_t)h > in->max_pixels)
        return sg_fail(err, SIGLIP_E2BIG,
                       "%s: image of %lldx%lld pixels exceeds the limit of %llu pixels", in->name,
                       (long long)w, (long long)h, (unsigned long long)in->max_pixels);
    return 0;
}

int sg_truncated(const SgDecodeInput *in, SgError *err)
{
    if (in->allow_truncated)
        return 0;
    return sg_fail(err, SIGLIP_EBADMSG,
                   "%s: image file is truncated (set allow_truncated_images / "
                   "--allow-truncated to decode what it holds)", in->name);
}

void sg_palette_fill(uint8_t palette[256][3], const uint8_t *rgb, size_t n)
{
    if (n > 256)
        n = 256;
    if (n)
        memcpy(palette, rgb, n * 3);
    for (size_t i = n; i < 256; i++)
        palette[i][0] = palette[i][1] = palette[i][2] = (uint8_t)i;
}

void sg_image_flip_horizontal(SgImage *img)
{
    for (int y = 0; y < img->height; y++) {
        uint8_t *row = img->rgb + (size_t)y * img->width * 3;
        for (int a = 0, b = img->width - 1; a < b; a++, b--)
            for (int c = 0; c < 3; c++) {
                uint8_t t = row[3 * a + c];
                row[3 * a + c] = row[3 * b + c];
                row[3 * b + c] = t;
            }
    }
}

uint8_t sg_cmyk_channel(unsigned c, unsigned nk)
{
    unsigned t = c * nk + 128;
    int v = (int)nk - (int)(((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}
