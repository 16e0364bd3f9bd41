/* html_out.c — `siglip search --html`: a self-contained page of result thumbnails (JPEG data URIs). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>
#include <webp/decode.h>

#include "cli.h"
#include "search_results.h"

/* Longest side of a thumbnail, in pixels; the page shows them at most half that (sharp on HiDPI). */
enum { THUMB_SIDE = 256, THUMB_QUALITY = 85 };
/* Files and images the page refuses to decode (it's a preview, not the index's decoder). */
#define THUMB_MAX_FILE ((size_t)256 << 20)
#define THUMB_MAX_PIXELS ((uint64_t)100000000)

/* A growable byte buffer (stb_image_write's output). */
typedef struct Bytes {
    unsigned char *data;
    size_t n, cap;
    int failed;
} Bytes;

static void bytes_append(void *ctx, void *data, int size)
{
    Bytes *b = ctx;
    if (b->failed || size <= 0)
        return;
    if (b->n + (size_t)size > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16384;
        while (cap < b->n + (size_t)size)
            cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->n, data, (size_t)size);
    b->n += (size_t)size;
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    Bytes b = {0};
    unsigned char buf[65536];
    size_t got;
    while (!b.failed && b.n <= THUMB_MAX_FILE && (got = fread(buf, 1, sizeof buf, f)) > 0)
        bytes_append(&b, buf, (int)got);
    int bad = ferror(f) || b.failed || b.n > THUMB_MAX_FILE;
    fclose(f);
    if (bad) {
        free(b.data);
        return NULL;
    }
    *size = b.n;
    return b.data;
}

/* Decodes an encoded image to RGB8 (*w × *h × 3, malloc'ed); NULL when the page can't show it. */
static unsigned char *decode_rgb(const unsigned char *data, size_t size, int *w, int *h)
{
    int comp;
    if (size > INT32_MAX)
        return NULL;
    if (WebPGetInfo(data, size, w, h)) {
        if ((uint64_t)*w * (uint64_t)*h > THUMB_MAX_PIXELS)
            return NULL;
        uint8_t *webp = WebPDecodeRGB(data, size, w, h);
        unsigned char *copy = webp ? malloc((size_t)*w * (size_t)*h * 3) : NULL;
        if (copy)
            memcpy(copy, webp, (size_t)*w * (size_t)*h * 3);
        WebPFree(webp);
        return copy;
    }
    if (!stbi_info_from_memory(data, (int)size, w, h, &comp) ||
        (uint64_t)*w * (uint64_t)*h > THUMB_MAX_PIXELS)
        return NULL;
    return stbi_load_from_memory(data, (int)size, w, h, &comp, 3);
}

/* The APP1 Exif segment of a JPEG file (from its marker on, *len bytes), or NULL. */
static const unsigned char *jpeg_exif_segment(const unsigned char *d, size_t n, size_t *len)
{
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8)
        return NULL;
    for (size_t pos = 2; pos + 4 <= n && d[pos] == 0xFF;) {
        int marker = d[pos + 1];
        size_t seg = (size_t)d[pos + 2] << 8 | d[pos + 3];
        if (marker == 0xDA || marker == 0xD9 || seg < 2 || seg > n - pos - 2)
            return NULL; /* image data reached, or a malformed header */
        if (marker == 0xE1 && seg >= 8 && !memcmp(d + pos + 4, "Exif\0\0", 6)) {
            *len = 2 + seg;
            return d + pos;
        }
        pos += 2 + seg;
    }
    return NULL;
}

/* A JPEG thumbnail of the image file at path into *jpeg; 0 or -1. A JPEG's Exif segment is
 * copied into its thumbnail, so the browser turns it as the camera meant (CSS
 * image-orientation: from-image, the default). */
static int make_thumbnail(const char *path, Bytes *jpeg)
{
    size_t size = 0, exif_len = 0;
    unsigned char *file = read_file(path, &size);
    int w = 0, h = 0, rc = -1;
    unsigned char *rgb = file ? decode_rgb(file, size, &w, &h) : NULL;
    if (!rgb) {
        free(file);
        return -1;
    }
    double shrink = w > h ? (double)THUMB_SIDE / w : (double)THUMB_SIDE / h;
    shrink = shrink > 1 ? 1 : shrink;
    int tw = (int)(w * shrink + 0.5) > 0 ? (int)(w * shrink + 0.5) : 1;
    int th = (int)(h * shrink + 0.5) > 0 ? (int)(h * shrink + 0.5) : 1;
    unsigned char *small = malloc((size_t)tw * (size_t)th * 3);
    Bytes encoded = {0};
    if (small && stbir_resize_uint8(rgb, w, h, 0, small, tw, th, 0, 3) &&
        stbi_write_jpg_to_func(bytes_append, &encoded, tw, th, 3, small, THUMB_QUALITY) &&
        !encoded.failed && encoded.n > 2) {
        const unsigned char *exif = jpeg_exif_segment(file, size, &exif_len);
        bytes_append(jpeg, encoded.data, 2); /* SOI */
        if (exif)
            bytes_append(jpeg, (void *)exif, (int)exif_len);
        bytes_append(jpeg, encoded.data + 2, (int)(encoded.n - 2));
        rc = jpeg->failed ? -1 : 0;
    }
    free(encoded.data);
    free(small);
    free(rgb); /* stb_image allocates with malloc */
    free(file);
    return rc;
}

static void write_base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char out[4] = {digits[v >> 18 & 63], digits[v >> 12 & 63],
                       i + 1 < n ? digits[v >> 6 & 63] : '=', i + 2 < n ? digits[v & 63] : '='};
        fwrite(out, 1, 4, f);
    }
}

/* Text in an HTML element or a quoted attribute. */
static void write_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* A file: URL of an absolute path, every byte outside the unreserved set percent-encoded. */
static void write_file_url(FILE *f, const char *path)
{
    fputs("file://", f);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-._~", *p))
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

static const char page_style[] =
    "body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}"
    "h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}"
    ".grid{display:flex;flex-wrap:wrap;gap:12px}"
    "figure{margin:0;width:160px;background:#fff;border:1px solid #ddd;border-radius:6px;"
    "padding:6px}"
    "figure img{display:block;margin:auto;max-width:148px;max-height:148px;width:auto;"
    "height:auto}"
    ".missing{width:148px;height:100px;display:flex;align-items:center;justify-content:center;"
    "background:#eee;color:#888;font-size:.9em}"
    "figcaption{font-size:.8em;margin-top:4px}"
    ".path{word-break:break-all;color:#555}";

static void write_hit(FILE *f, const SearchResults *r, int rank, const TopkHit *hit)
{
    const char *path = r->paths[hit->row];
    Bytes jpeg = {0};
    fputs("<figure><a href=\"", f);
    write_file_url(f, path);
    fputs("\">", f);
    if (make_thumbnail(path, &jpeg) == 0) {
        fputs("<img alt=\"", f);
        write_escaped(f, path);
        fputs("\" src=\"data:image/jpeg;base64,", f);
        write_base64(f, jpeg.data, jpeg.n);
        fputs("\">", f);
    } else
        fputs("<div class=\"missing\">no preview</div>", f);
    free(jpeg.data);
    fprintf(f, "</a><figcaption>#%d &middot; score %.4f &middot; cos %.4f<br><span class=\"path\">",
            rank, search_score(r, hit->cosine), hit->cosine);
    write_escaped(f, path);
    fputs("</span></figcaption></figure>\n", f);
}

int html_write_results(const char *path, const SearchResults *r)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_error("search: writing %s: %s", path, strerror(errno));
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width\">"
               "<title>siglip search</title><style>%s</style></head><body>\n<h1>siglip search: ",
            page_style);
    write_escaped(f, r->index_path);
    fprintf(f, "</h1>\n<p>%zu images, model ", r->n_indexed);
    write_escaped(f, r->model_name);
    fputs(". Score = sigmoid(logit_scale &middot; cos + logit_bias).</p>\n", f);
    for (int q = 0; q < r->n_queries; q++) {
        fputs(r->queries[q].is_image ? "<section><h2>Images like " : "<section><h2>&ldquo;", f);
        write_escaped(f, r->queries[q].text);
        fputs(r->queries[q].is_image ? "</h2>\n<div class=\"grid\">\n"
                                     : "&rdquo;</h2>\n<div class=\"grid\">\n", f);
        for (int j = 0; j < r->k; j++)
            write_hit(f, r, j + 1, &r->hits[(size_t)q * r->k + j]);
        fputs("</div></section>\n", f);
    }
    fputs("</body></html>\n", f);
    int bad = ferror(f);
    if (fclose(f) || bad)
        return cli_error("search: writing %s: %s", path, strerror(errno));
    return CLI_OK;
}
