/* png.c — PNG: pixels through stb_image (stbdec.c), given the chunk stream as Pillow reads it
 * (pillow_chunks: palette padding, tRNS and unknown chunks), and the orientation Pillow's
 * exif_transpose finds in a PNG: an eXIf chunk (or a tEXt keyed "exif"), else ImageMagick's
 * "Raw profile type exif" text chunk (hex), and when neither holds the tag, `tiff:Orientation`
 * in an XMP text chunk; chunks after the image data only when no Exif block came before it. */
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "image/bytes.h"
#include "image/decoders.h"
#include "image/exif.h"

#define MAX_TEXT_CHUNK_BYTES ((size_t)1 << 20) /* Pillow's PngImagePlugin.MAX_TEXT_CHUNK */

/* The chunks of each kind that can carry an orientation, as Pillow's info dict holds them when
 * exif_transpose asks (scan_chunks): a later chunk of a kind replaces an earlier one. */
typedef struct PngMeta {
    const uint8_t *exif, *raw_profile, *xmp;
    size_t exif_len, raw_profile_len, xmp_len;
    int has_exif;             /* an "exif" entry, even an empty one */
    int raw_profile_z, xmp_z; /* the text is zlib-compressed */
} PngMeta;

static int keyword_is(const uint8_t *d, size_t n, const char *key)
{
    size_t k = strlen(key);
    return n > k && memcmp(d, key, k) == 0 && d[k] == 0;
}

/* tEXt: keyword\0text; zTXt: keyword\0method text;
 * iTXt: keyword\0 flag method lang\0 translated-keyword\0 text.
 * Pillow 9.4 puts every text chunk into info under its keyword: XMP is read from any of the
 * three, and a tEXt keyed "exif" is kept as bytes, which getexif reads as the Exif block. */
static void note_text(PngMeta *m, const uint8_t *d, size_t n, int kind)
{
    static const char raw[] = "Raw profile type exif", xmp[] = "XML:com.adobe.xmp",
                      exif[] = "exif";
    const char *key = keyword_is(d, n, raw)                    ? raw
                      : keyword_is(d, n, xmp)                  ? xmp
                      : kind == 't' && keyword_is(d, n, exif) ? exif
                                                               : NULL;
    if (!key)
        return;
    size_t pos = strlen(key) + 1;
    int z = 0;
    if (kind == 'z') {
        z = 1;
        pos++;
    } else if (kind == 'i') {
        if (pos + 2 > n)
            return;
        z = d[pos] != 0;
        pos += 2;
        for (int skip = 0; skip < 2; skip++) { /* language tag, translated keyword */
            const uint8_t *nul = pos < n ? memchr(d + pos, 0, n - pos) : NULL;
            if (!nul)
                return;
            pos = (size_t)(nul - d) + 1;
        }
    }
    if (pos > n)
        return;
    if (key == raw)
        m->raw_profile = d + pos, m->raw_profile_len = n - pos, m->raw_profile_z = z;
    else if (key == xmp)
        m->xmp = d + pos, m->xmp_len = n - pos, m->xmp_z = z;
    else
        m->exif = d + pos, m->exif_len = n - pos, m->has_exif = 1;
}

/* Pillow opens a PNG reading the chunks before the image data; its getexif() reads the chunks
 * after the image data (by loading the image) only when no "exif" entry (eXIf, or tEXt "exif")
 * came before it. exif_transpose runs on the image just opened, so with an Exif block before
 * the image data, later eXIf, text and XMP chunks are never seen. */
static void scan_chunks(const uint8_t *data, size_t size, PngMeta *m)
{
    memset(m, 0, sizeof *m);
    size_t pos = 8;
    int after_idat = 0;
    while (pos + 12 <= size) {
        uint32_t len = sg_be32(data + pos);
        if (len > size - pos - 12)
            break;
        const uint8_t *type = data + pos + 4, *body = data + pos + 8;
        if (memcmp(type, "IDAT", 4) == 0) {
            if (!after_idat && m->has_exif)
                break;
            after_idat = 1;
        } else if (memcmp(type, "eXIf", 4) == 0) {
            m->exif = body, m->exif_len = len, m->has_exif = 1;
        } else if (memcmp(type, "tEXt", 4) == 0) {
            note_text(m, body, len, 't');
        } else if (memcmp(type, "zTXt", 4) == 0) {
            note_text(m, body, len, 'z');
        } else if (memcmp(type, "iTXt", 4) == 0) {
            note_text(m, body, len, 'i');
        } else if (memcmp(type, "IEND", 4) == 0) {
            break;
        }
        pos += 12 + (size_t)len;
    }
}

/* The text of a chunk, inflated when compressed; *owned is set when it must be freed. */
static const uint8_t *chunk_text(const uint8_t *d, size_t n, int z, size_t *len, uint8_t **owned)
{
    *owned = NULL;
    *len = n;
    if (!z)
        return d;
    if (n > INT32_MAX)
        return NULL;
    /* Inflated into a buffer of Pillow's MAX_TEXT_CHUNK (1 MiB), never grown: a small
     * compressed chunk may expand a thousandfold (a zlib bomb), and Pillow refuses a text chunk
     * past that size anyway. More than fits (or bad data): no text. */
    char *text = malloc(MAX_TEXT_CHUNK_BYTES);
    int out_len = text ? stbi_zlib_decode_buffer(text, (int)MAX_TEXT_CHUNK_BYTES,
                                                 (const char *)d, (int)n)
                       : -1;
    if (out_len < 0) {
        free(text);
        return NULL;
    }
    *owned = (uint8_t *)text;
    *len = (size_t)out_len;
    return *owned;
}

static int hex_value(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "\nexif\n   LEN\nHEX..." as ImageMagick writes it: Pillow drops the first three lines and
 * reads the rest as hex (whitespace ignored). -1 when there is no tag or the hex is bad. */
static int raw_profile_orientation(const uint8_t *t, size_t n)
{
    size_t pos = 0;
    for (int lines = 0; lines < 3; lines++) {
        const uint8_t *nl = pos < n ? memchr(t + pos, '\n', n - pos) : NULL;
        if (!nl)
            return -1;
        pos = (size_t)(nl - t) + 1;
    }
    uint8_t *bin = malloc((n - pos) / 2 + 1);
    if (!bin)
        return -1;
    size_t nb = 0;
    int hi = -1, ok = 1;
    for (; pos < n && ok; pos++) {
        uint8_t c = t[pos];
        if (c == '\n' || c == ' ' || c == '\t' || c == '\r')
            continue;
        int v = hex_value(c);
        ok = v >= 0;
        if (ok && hi < 0)
            hi = v;
        else if (ok) {
            bin[nb++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    int o = ok && hi < 0 ? sg_exif_orientation_tag(bin, nb) : -1;
    free(bin);
    return o;
}

/* The orientation tag as Pillow's getexif() reads it from a PNG (-1: none anywhere). */
static int png_orientation_tag(const uint8_t *data, size_t size)
{
    PngMeta m;
    scan_chunks(data, size, &m);
    int tag = -1;
    size_t len;
    uint8_t *owned;
    if (m.has_exif) {
        tag = sg_exif_orientation_tag(m.exif, m.exif_len);
    } else if (m.raw_profile) {
        const uint8_t *t = chunk_text(m.raw_profile, m.raw_profile_len, m.raw_profile_z, &len,
                                      &owned);
        tag = t ? raw_profile_orientation(t, len) : -1;
        free(owned);
    }
    if (tag < 0 && m.xmp) {
        const uint8_t *t = chunk_text(m.xmp, m.xmp_len, m.xmp_z, &len, &owned);
        tag = t ? sg_xmp_orientation(t, len) : -1;
        free(owned);
    }
    return tag;
}

/* Where the chunk the data ends in starts (the data ends inside a chunk, or before IEND), or 0
 * when the file is whole. */
static size_t cut_chunk(const uint8_t *data, size_t size)
{
    size_t pos = 8;
    while (pos + 12 <= size) {
        uint32_t len = sg_be32(data + pos);
        if (len > size - pos - 12)
            return pos;
        if (memcmp(data + pos + 4, "IEND", 4) == 0)
            return 0;
        pos += 12 + (size_t)len;
    }
    return pos;
}

/* A PNG cut short is still read by Pillow when its image data decodes completely (only the end
 * of the last IDAT chunk's CRC, later chunks or IEND are missing). stb needs whole chunks: the
 * chunk the data ends in is closed (its length shortened, a CRC stb does not check) and IEND
 * appended; the image data then decodes or fails exactly as far as it goes. */
static int decode_cut_png(const SgDecodeInput *in, size_t at, SgImage *out, SgError *err)
{
    size_t body = in->size - at >= 8 ? in->size - at - 8 : 0;
    if (body && body > sg_be32(in->data + at)) /* only the CRC is cut */
        body = sg_be32(in->data + at);
    size_t keep = body ? at + 8 + body : at;
    uint8_t *copy = malloc(keep + 4 + 12);
    if (!copy)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    memcpy(copy, in->data, keep);
    if (body) {
        for (int i = 0; i < 4; i++)
            copy[at + i] = (uint8_t)(body >> (24 - 8 * i));
        memset(copy + keep, 0, 4);
        keep += 4;
    }
    memcpy(copy + keep, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
    SgDecodeInput whole = *in;
    whole.data = copy;
    whole.size = keep + 12;
    int rc = sg_decode_stb(&whole, out, err);
    free(copy);
    return rc;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* A chunk type Pillow reads past (re "\\w\\w\\w\\w": letters, digits, '_'); on any other it
 * stops with "broken PNG file", as stb does. */
static int is_chunk_type(const uint8_t *t)
{
    for (int i = 0; i < 4; i++)
        if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ||
              (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
            return 0;
    return 1;
}

static size_t put_chunk(uint8_t *dst, const char *type, const uint8_t *body, size_t len)
{
    put_be32(dst, (uint32_t)len);
    memcpy(dst + 4, type, 4);
    if (len) /* IEND has no body (NULL) */
        memcpy(dst + 8, body, len);
    memset(dst + 8 + len, 0, 4); /* a CRC: stb does not check CRCs */
    return 12 + len;
}

/* The PLTE chunk of Pillow's P image: the entries of the last PLTE before the image data (a
 * trailing partial entry ignored; none when there was no PLTE), then grey (i, i, i) for each
 * index i < 2^depth it lacks. Pillow's P-mode palette starts as that grey ramp and a PLTE
 * overwrites only its first entries; stb would read the missing entries uninitialised. A PLTE
 * of more than 256 entries is passed on as it is: stb refuses it, as Pillow does. */
#define PNG_MAX_PALETTE_BYTES (256 * 3)

static size_t put_palette(uint8_t *dst, const uint8_t *plte, size_t len, unsigned depth)
{
    size_t n = len / 3;
    if (n > 256)
        return put_chunk(dst, "PLTE", plte, len);
    size_t full = depth >= 1 && depth <= 8 ? (size_t)1 << depth : 256;
    size_t entries = n > full ? n : full;
    uint8_t pal[256][3];
    sg_palette_fill(pal, plte, n);
    return put_chunk(dst, "PLTE", pal[0], entries * 3);
}

/* The chunk stream as Pillow reads it, for stb (returned in *fixed, to be freed): where the two
 * differ on a file Pillow reads, the chunks are changed so that stb decodes Pillow's pixels.
 *  - colour type 3: every PLTE is dropped and the palette Pillow uses (put_palette) is put
 *    before the first IDAT; a PLTE after the image data is ignored, as Pillow reads it only
 *    once the pixels are decoded.
 *  - tRNS: dropped for palette, grey+alpha and RGBA images, and after the image data. Alpha
 *    never reaches the RGB output, and stb refuses what Pillow accepts here (a tRNS longer
 *    than the palette, "tRNS with alpha", "tRNS after IDAT"). Grey and RGB images keep theirs
 *    before the image data, cut to the 2 or 6 bytes Pillow reads; a shorter one is refused by
 *    both.
 *  - PLTE in other colour types is dropped: a suggested palette, which Pillow ignores and stb
 *    checks the length of.
 *  - unknown critical chunks are dropped: Pillow skips them, stb refuses the file. A type that
 *    is not four letters, digits or "_" stays before the image data (both refuse it) and ends
 *    the stream after it (Pillow stops reading there).
 * Chunks are copied up to IEND; a chunk the data ends in is copied as it is with the rest of
 * the data, so a truncated file reaches stb cut at the same place. */
static int pillow_chunks(const SgDecodeInput *in, uint8_t **fixed, size_t *fixed_size,
                         SgError *err)
{
    const uint8_t *d = in->data;
    size_t size = in->size;
    uint8_t *out = malloc(size + 12 + PNG_MAX_PALETTE_BYTES);
    if (!out)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    memcpy(out, d, 8);
    size_t pos = 8, n = 8, plte_len = 0;
    const uint8_t *plte = NULL;
    int color_type = -1, palette_done = 0, after_idat = 0;
    unsigned depth = 8;
    while (pos + 12 <= size) {
        uint32_t len = sg_be32(d + pos);
        if (len > size - pos - 12)
            break;
        const uint8_t *type = d + pos + 4;
        size_t whole = 12 + (size_t)len;
        int keep = 1;
        if (memcmp(type, "IHDR", 4) == 0) {
            if (color_type < 0 && len >= 13) {
                depth = d[pos + 16];
                color_type = d[pos + 17];
            }
        } else if (memcmp(type, "PLTE", 4) == 0) {
            keep = 0;
            if (color_type == 3 && !after_idat)
                plte = d + pos + 8, plte_len = len;
        } else if (memcmp(type, "tRNS", 4) == 0) {
            keep = (color_type == 0 || color_type == 2) && !after_idat;
            /* Pillow reads the first 2 (grey) or 6 (RGB) bytes of a longer one; stb refuses it */
            size_t need = color_type == 0 ? 2 : 6;
            if (keep && len > need) {
                n += put_chunk(out + n, "tRNS", d + pos + 8, need);
                keep = 0;
            }
        } else if (memcmp(type, "IDAT", 4) == 0) {
            if (color_type == 3 && !palette_done) {
                n += put_palette(out + n, plte, plte_len, depth);
                palette_done = 1;
            }
            after_idat = 1;
        } else if (memcmp(type, "IEND", 4) == 0) {
            memcpy(out + n, d + pos, whole);
            n += whole;
            pos = size;
            break;
        } else if (after_idat && !is_chunk_type(type)) {
            /* Pillow reads the chunks after the image data until one fails (load_end stops at
             * its SyntaxError): the image ends here */
            n += put_chunk(out + n, "IEND", NULL, 0);
            pos = size;
            break;
        } else if (!(type[0] & 0x20) && is_chunk_type(type)) { /* critical, unknown */
            keep = 0;
        }
        if (keep) {
            memcpy(out + n, d + pos, whole);
            n += whole;
        }
        pos += whole;
    }
    if (pos < size) { /* the chunk the data ends in, and what follows */
        if (color_type == 3 && !palette_done)
            n += put_palette(out + n, plte, plte_len, depth);
        memcpy(out + n, d + pos, size - pos);
        n += size - pos;
    }
    *fixed = out;
    *fixed_size = n;
    return 0;
}

int sg_decode_png(const SgDecodeInput *in_file, SgImage *out, int *orientation, SgError *err)
{
    uint8_t *fixed = NULL;
    SgDecodeInput pillow = *in_file;
    const SgDecodeInput *in = &pillow;
    int rc = in_file->size >= 8 ? pillow_chunks(in_file, &fixed, &pillow.size, err) : 0;
    if (rc)
        return rc;
    if (fixed)
        pillow.data = fixed;
    if (in->size >= 24 && memcmp(in->data + 12, "IHDR", 4) == 0) {
        rc = sg_check_dimensions(in, sg_be32(in->data + 16), sg_be32(in->data + 20), err);
        if (rc) {
            free(fixed);
            return rc;
        }
    }
    rc = sg_decode_stb(in, out, err);
    size_t at = rc == SIGLIP_EBADMSG ? cut_chunk(in->data, in->size) : 0;
    /* Pillow refuses a cut that falls inside the data of a chunk other than IDAT */
    int cut_metadata = at && in->size - at >= 8 && memcmp(in->data + at + 4, "IDAT", 4) != 0 &&
                       sg_be32(in->data + at) > in->size - at - 8;
    if (cut_metadata && !in->allow_truncated)
        rc = sg_truncated(in, err);
    else if (at)
        rc = decode_cut_png(in, at, out, err);
    free(fixed);
    if (rc == 0) {
        int tag = png_orientation_tag(in_file->data, in_file->size);
        *orientation = tag >= 1 && tag <= 8 ? tag : 1;
    }
    return rc;
}
