/* tiff.c — TIFF (first page) through libtiff as Pillow's TiffImagePlugin reads it: strips or
 * tiles, contiguous or separate planes, any libtiff codec (LZW, deflate, PackBits, JPEG...),
 * samples mapped to RGB as Pillow's modes convert: 1/2/4/8-bit grey (min-is-white inverted),
 * 12/16/32-bit integer and 32-bit float grey clipped to 0..255, palettes (ColorMap >> 8), RGB(A) with 16-bit samples reduced to
 * their high byte and associated alpha divided out, CMYK, YCbCr (JPEG through libjpeg's RGB, else
 * libtiff's RGBA conversion). The Orientation tag counts as Pillow 9.4 applies it (twice).
 * libtiff's messages go to the handle's error record, never to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "image/decoders.h"

/* The encoded bytes as a libtiff client "file". */
typedef struct TiffMem {
    const SgDecodeInput *in;
    toff_t pos;
    char message[256]; /* libtiff's first error */
} TiffMem;

static tmsize_t mem_read(thandle_t h, void *buf, tmsize_t n)
{
    TiffMem *m = h;
    if (m->pos >= m->in->size || n <= 0)
        return 0;
    size_t left = m->in->size - (size_t)m->pos, k = (size_t)n < left ? (size_t)n : left;
    memcpy(buf, m->in->data + m->pos, k);
    m->pos += k;
    return (tmsize_t)k;
}

static tmsize_t mem_write(thandle_t h, void *buf, tmsize_t n)
{
    return 0;
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
    TiffMem *m = h;
    toff_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? (toff_t)m->in->size : 0;
    m->pos = base + off;
    return m->pos;
}

static int mem_close(thandle_t h)
{
    return 0;
}

static toff_t mem_size(thandle_t h)
{
    return (toff_t)((TiffMem *)h)->in->size;
}

__attribute__((format(printf, 4, 0))) static int on_error(TIFF *tif, void *user,
                                                          const char *module, const char *fmt,
                                                          va_list ap)
{
    TiffMem *m = user;
    if (!m->message[0])
        vsnprintf(m->message, sizeof m->message, fmt, ap);
    return 1; /* handled: libtiff does not print */
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    return 1;
}

/* What a page holds and how its samples become RGB. */
typedef struct TiffPage {
    uint32_t w, h;
    uint16_t bps, spp, photometric, planar, compression, sample_format;
    uint16_t n_extra, extra0; /* ExtraSamples count and first kind (1 = associated alpha) */
    uint16_t *cmap[3];
    size_t row_bytes;         /* of one plane row: contiguous = all samples */
    uint8_t *planes;          /* [n_planes][h][row_bytes] */
    int n_planes;
} TiffPage;

/* Sample c of pixel (x, y): 16/32-bit samples as stored (native order after libtiff), other
 * depths read from the bit stream, most significant bit first. */
static uint32_t sample(const TiffPage *p, uint32_t x, uint32_t y, int c)
{
    int plane = p->n_planes > 1 ? c : 0, per = p->n_planes > 1 ? 1 : p->spp;
    const uint8_t *row = p->planes + ((size_t)plane * p->h + y) * p->row_bytes;
    size_t i = (size_t)x * per + (p->n_planes > 1 ? 0 : (size_t)c);
    if (p->bps == 32) {
        uint32_t v;
        memcpy(&v, row + 4 * i, 4);
        return v;
    }
    if (p->bps == 16) {
        uint16_t v;
        memcpy(&v, row + 2 * i, 2);
        return v;
    }
    if (p->bps == 8)
        return row[i];
    size_t bit = i * p->bps;
    uint32_t window = 0; /* the 1–3 bytes that hold the sample (bps ≤ 12) */
    for (size_t b = bit >> 3; b <= (bit + p->bps - 1) >> 3; b++)
        window = window << 8 | row[b];
    size_t end = ((bit + p->bps - 1) >> 3 << 3) + 8; /* bit after the window */
    return window >> (end - bit - p->bps) & ((1u << p->bps) - 1);
}

/* One grey sample as convert("RGB") makes it 8-bit from Pillow's mode: L for ≤ 8 bits (scaled
 * to 255, min-is-white inverted), else I;16 / I (clipped to 0..255, never inverted) or F (cut
 * toward zero, then clipped; NaN is 0). */
static uint8_t grey8(const TiffPage *p, uint32_t v)
{
    if (p->sample_format == SAMPLEFORMAT_IEEEFP) {
        float f;
        memcpy(&f, &v, 4);
        return f > 0 ? (f >= 255 ? 255 : (uint8_t)f) : 0;
    }
    if (p->bps > 8) {
        int64_t s = p->sample_format == SAMPLEFORMAT_INT
                        ? (p->bps == 16 ? (int16_t)v : (int32_t)v)
                        : (p->bps == 32 ? (int32_t)v : (int64_t)v); /* Pillow's I is signed */
        return (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
    }
    unsigned g = p->bps == 8 ? v : v * 255 / ((1u << p->bps) - 1);
    return (uint8_t)(p->photometric == PHOTOMETRIC_MINISWHITE ? 255 - g : g);
}

/* A sample as Pillow's 8-bit mode holds it: 16-bit → high byte, n-bit grey scaled to 255. */
static unsigned to8(const TiffPage *p, unsigned v)
{
    return p->bps == 16 ? v >> 8 : p->bps == 8 ? v : v * 255 / ((1u << p->bps) - 1);
}

static uint8_t clip8(unsigned v)
{
    return (uint8_t)(v > 255 ? 255 : v);
}

static void pixel_rgb(const TiffPage *p, uint32_t x, uint32_t y, uint8_t *rgb)
{
    unsigned v;
    switch (p->photometric) {
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_MINISBLACK:
        rgb[0] = rgb[1] = rgb[2] = grey8(p, sample(p, x, y, 0));
        return;
    case PHOTOMETRIC_PALETTE:
        v = sample(p, x, y, 0);
        for (int c = 0; c < 3; c++)
            rgb[c] = (uint8_t)(p->cmap[c][v] >> 8);
        return;
    case PHOTOMETRIC_SEPARATED: {
        unsigned k = to8(p, sample(p, x, y, 3)), nk = 255 - k;
        for (int c = 0; c < 3; c++)
            rgb[c] = sg_cmyk_channel(to8(p, sample(p, x, y, c)), nk);
        return;
    }
    default: /* RGB, and YCbCr JPEG read as RGB */
        for (int c = 0; c < 3; c++)
            rgb[c] = (uint8_t)to8(p, sample(p, x, y, c));
        if (p->spp >= 4 && p->n_extra >= 1 && p->extra0 == EXTRASAMPLE_ASSOCALPHA) {
            unsigned a = to8(p, sample(p, x, y, 3)); /* Pillow's RGBa: alpha divided out */
            for (int c = 0; c < 3; c++)
                rgb[c] = a == 0 ? 0 : a == 255 ? rgb[c] : clip8(rgb[c] * 255u / a);
        }
        return;
    }
}

/* Reads every strip or tile of every plane into p->planes; *short_data when one failed. */
static int read_planes(TIFF *t, TiffPage *p, const SgDecodeInput *in, int *short_data)
{
    size_t plane_bytes = p->row_bytes * p->h;
    if (!(p->planes = calloc((size_t)p->n_planes, plane_bytes)))
        return SIGLIP_ENOMEM;
    if (!TIFFIsTiled(t)) {
        uint32_t rps = 0;
        TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rps);
        if (rps == 0 || rps > p->h)
            rps = p->h;
        uint32_t per_plane = (p->h + rps - 1) / rps;
        for (int pl = 0; pl < p->n_planes; pl++)
            for (uint32_t s = 0; s < per_plane; s++) {
                uint32_t rows = p->h - s * rps < rps ? p->h - s * rps : rps;
                uint8_t *dst = p->planes + pl * plane_bytes + (size_t)s * rps * p->row_bytes;
                if (TIFFReadEncodedStrip(t, (uint32_t)pl * per_plane + s, dst,
                                         (tmsize_t)(rows * p->row_bytes)) < 0)
                    *short_data = 1;
            }
        return 0;
    }
    uint32_t tw = 0, th = 0;
    TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
    tmsize_t tile_size = TIFFTileSize(t);
    size_t tile_row = (size_t)TIFFTileRowSize(t);
    uint8_t *tile = tw && th && tile_size > 0 ? malloc((size_t)tile_size) : NULL;
    if (!tile)
        return sg_check_dimensions(in, tw, th, NULL) ? SIGLIP_EBADMSG : SIGLIP_ENOMEM;
    size_t px_bits = (size_t)p->bps * (p->n_planes > 1 ? 1 : p->spp);
    for (int pl = 0; pl < p->n_planes; pl++)
        for (uint32_t ty = 0; ty < p->h; ty += th)
            for (uint32_t tx = 0; tx < p->w; tx += tw) {
                if (TIFFReadTile(t, tile, tx, ty, 0, (uint16_t)pl) < 0) {
                    *short_data = 1;
                    continue;
                }
                size_t x_byte = tx * px_bits / 8, w_bytes = (p->w - tx < tw ? p->w - tx : tw) *
                                                               px_bits / 8;
                if (w_bytes == 0) /* bits of a partial last byte: copy the whole tile row */
                    w_bytes = p->row_bytes - x_byte < tile_row ? p->row_bytes - x_byte : tile_row;
                for (uint32_t r = 0; r < th && ty + r < p->h; r++)
                    memcpy(p->planes + pl * plane_bytes + (size_t)(ty + r) * p->row_bytes + x_byte,
                           tile + r * tile_row, w_bytes < p->row_bytes - x_byte
                                                    ? w_bytes : p->row_bytes - x_byte);
            }
    free(tile);
    return 0;
}

static int supported(const TiffPage *p)
{
    if (p->spp == 0 || p->spp > 8)
        return 0;
    if (p->photometric == PHOTOMETRIC_MINISWHITE || p->photometric == PHOTOMETRIC_MINISBLACK)
        return p->sample_format == SAMPLEFORMAT_UINT
                   ? p->bps == 1 || p->bps == 2 || p->bps == 4 || p->bps == 8 || p->bps == 12 ||
                         p->bps == 16 || p->bps == 32
                   : p->sample_format == SAMPLEFORMAT_INT ? p->bps == 16 || p->bps == 32
                   : p->sample_format == SAMPLEFORMAT_IEEEFP && p->bps == 32;
    if (p->sample_format != SAMPLEFORMAT_UINT)
        return 0;
    switch (p->photometric) {
    case PHOTOMETRIC_PALETTE:
        return p->bps <= 8 && (p->bps & (p->bps - 1)) == 0 && p->cmap[0];
    case PHOTOMETRIC_RGB:
    case PHOTOMETRIC_YCBCR:
        return (p->bps == 8 || p->bps == 16) && p->spp >= 3;
    case PHOTOMETRIC_SEPARATED:
        return (p->bps == 8 || p->bps == 16) && p->spp >= 4;
    default:
        return 0;
    }
}

/* libtiff's own RGBA conversion (YCbCr not in JPEG, old-style JPEG), as Pillow uses it. */
static int decode_rgba(TIFF *t, const TiffPage *p, SgImage *out, int *short_data)
{
    uint32_t *raster = malloc((size_t)p->w * p->h * sizeof *raster);
    if (!raster)
        return SIGLIP_ENOMEM;
    if (!TIFFReadRGBAImageOriented(t, p->w, p->h, raster, ORIENTATION_TOPLEFT, 0))
        *short_data = 1;
    size_t n = (size_t)p->w * p->h;
    for (size_t i = 0; i < n; i++) {
        out->rgb[3 * i] = (uint8_t)TIFFGetR(raster[i]);
        out->rgb[3 * i + 1] = (uint8_t)TIFFGetG(raster[i]);
        out->rgb[3 * i + 2] = (uint8_t)TIFFGetB(raster[i]);
    }
    free(raster);
    return 0;
}

static void read_page_info(TIFF *t, TiffPage *p)
{
    uint16_t *extra = NULL;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &p->w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &p->h);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &p->bps);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &p->spp);
    TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &p->planar);
    TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &p->compression);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &p->sample_format);
    if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &p->photometric))
        p->photometric = PHOTOMETRIC_MINISWHITE; /* Pillow's default */
    if (TIFFGetField(t, TIFFTAG_EXTRASAMPLES, &p->n_extra, &extra) && p->n_extra)
        p->extra0 = extra[0];
    if (p->photometric == PHOTOMETRIC_PALETTE)
        TIFFGetField(t, TIFFTAG_COLORMAP, &p->cmap[0], &p->cmap[1], &p->cmap[2]);
}

static int decode_page(TIFF *t, const SgDecodeInput *in, TiffPage *p, SgImage *out,
                       int *short_data, SgError *err)
{
    read_page_info(t, p);
    int rc = sg_check_dimensions(in, p->w, p->h, err);
    if (rc)
        return rc;
    int via_rgba = p->compression == COMPRESSION_OJPEG ||
                   (p->photometric == PHOTOMETRIC_YCBCR && (p->compression != COMPRESSION_JPEG ||
                                                            p->planar != PLANARCONFIG_CONTIG));
    if (!via_rgba && !supported(p))
        return sg_fail(err, SIGLIP_ENOTSUP, "%s: unsupported TIFF layout (photometric %u, %u "
                       "samples of %u bits, sample format %u)", in->name, p->photometric, p->spp,
                       p->bps, p->sample_format);
    if ((rc = sg_image_alloc(out, (int)p->w, (int)p->h, err)))
        return rc;
    if (via_rgba)
        rc = decode_rgba(t, p, out, short_data);
    else {
        if (p->photometric == PHOTOMETRIC_YCBCR) /* JPEG: libjpeg converts to RGB */
            TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
        p->n_planes = p->planar == PLANARCONFIG_SEPARATE ? p->spp : 1;
        p->row_bytes = ((size_t)p->w * p->bps * (p->n_planes > 1 ? 1 : p->spp) + 7) / 8;
        rc = read_planes(t, p, in, short_data);
        for (uint32_t y = 0; rc == 0 && y < p->h; y++)
            for (uint32_t x = 0; x < p->w; x++)
                pixel_rgb(p, x, y, out->rgb + ((size_t)y * p->w + x) * 3);
    }
    return rc == SIGLIP_ENOMEM ? sg_fail(err, rc, "out of memory decoding %s", in->name)
           : rc ? sg_fail(err, rc, "%s: corrupt TIFF tiles", in->name) : 0;
}

/* Pillow 9.4 transposes a TIFF by its Orientation tag when loading it (TiffImageFile.load_end)
 * and exif_transpose, still reading the tag, transposes it once more. The flips and the
 * transpositions (2, 3, 4, 5, 7) undo themselves; the quarter turns (6, 8) add up to a half
 * turn (3). */
static int applied_twice(unsigned orientation)
{
    return orientation == 6 || orientation == 8 ? 3 : 1;
}

int sg_decode_tiff(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    TiffMem mem = {.in = in};
    TIFFOpenOptions *opt = TIFFOpenOptionsAlloc();
    if (!opt)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    TIFFOpenOptionsSetErrorHandlerExtR(opt, on_error, &mem);
    TIFFOpenOptionsSetWarningHandlerExtR(opt, on_warning, &mem);
    TIFF *t = TIFFClientOpenExt(in->name, "rm", &mem, mem_read, mem_write, mem_seek, mem_close,
                                mem_size, NULL, NULL, opt);
    TIFFOpenOptionsFree(opt);
    if (!t)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt TIFF: %s", in->name,
                       mem.message[0] ? mem.message : "cannot read its header");
    TiffPage page = {0};
    int short_data = 0;
    int rc = decode_page(t, in, &page, out, &short_data, err);
    if (rc == 0 && short_data)
        rc = in->allow_truncated ? 0 : sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt or truncated "
                                               "TIFF data: %s", in->name, mem.message);
    uint16_t o = 1;
    if (rc == 0 && TIFFGetField(t, TIFFTAG_ORIENTATION, &o))
        *orientation = applied_twice(o);
    free(page.planes);
    TIFFClose(t);
    if (rc)
        sg_image_free(out);
    return rc;
}
