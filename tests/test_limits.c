/* test_limits.c — the limits siglip.h documents, enforced through the public API: decoded image
 * pixels (SiglipSettings.max_image_pixels, every format, checked from the header before decoding),
 * text length (64 MiB), batch size (SIGLIP_MAX_BATCH) and token truncation; each refusal is
 * SIGLIP_E2BIG with a message and leaves the handle usable. */
#include <stdint.h>

#include "harness.h"
#include "siglip.h"
#include "image/image.h"

/* siglip.h: "at most 64 MiB of UTF-8 per text" — the documented number, not the internal macro. */
#define DOC_MAX_TEXT_BYTES ((size_t)64 << 20)

/* tests/data/images-extra/in/<name>, malloc'ed (NULL after a failed CHECK when unreadable). */
static unsigned char *read_extra_image(const char *name, size_t *size)
{
    char rel[256];
    snprintf(rel, sizeof rel, "images-extra/in/%s", name);
    return (unsigned char *)sg_test_read_data(rel, size);
}

static SiglipContext *context_with_limit(uint64_t max_pixels)
{
    SiglipSettings s;
    siglip_default_settings(&s);
    s.max_image_pixels = max_pixels;
    s.n_threads = 1;
    SiglipContext *ctx = NULL;
    int rc = siglip_context_create(&ctx, &s);
    CHECK_STATUS(rc, SIGLIP_OK, "context");
    return ctx;
}

/* Preprocesses data with a context whose pixel limit is `limit`; returns the status. */
static int preprocess_with_limit(const unsigned char *data, size_t size, uint64_t limit,
                                 char *message, size_t message_size)
{
    SiglipContext *ctx = context_with_limit(limit);
    SiglipImageProcessor *proc = NULL;
    int rc = ctx ? siglip_image_processor_load(ctx, NULL, &proc) : SIGLIP_ENOMEM;
    float *pixels = malloc(3 * 224 * 224 * sizeof *pixels); /* [3, 224, 224] */
    if (rc == 0 && pixels)
        rc = siglip_preprocess_memory(proc, data, size, pixels);
    snprintf(message, message_size, "%s", proc ? siglip_image_processor_error(proc)
                                         : ctx ? siglip_context_error(ctx) : "");
    free(pixels);
    siglip_image_processor_free(&proc);
    siglip_context_close(&ctx);
    return rc;
}

/* Every format at exactly its pixel count (accepted) and one pixel below it (E2BIG). */
static void check_pixel_limit_per_format(void)
{
    static const char *const files[] = {
        "jpeg_420.jpg", "jpeg_progressive.jpg", "exif_6.jpg", "png_rgba8.png", "exif_6.png",
        "webp_lossy.webp", "webp_lossless.webp", "exif_8.webp", "gif_p.gif", "bmp_rgb.bmp",
        "tga_rgb.tga", "tga_rgb_rle.tga", "pnm_rgb.ppm", "pnm_gray.pgm",
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t size = 0;
        unsigned char *data = read_extra_image(files[i], &size);
        if (!data)
            continue;
        SgImage img; /* its size, from the decoder with no limit to speak of */
        SgError err;
        int rc = sg_image_decode_rgb8(data, size, files[i], UINT64_MAX, &img, &err);
        CHECK_STATUS(rc, SIGLIP_OK, err.message);
        uint64_t pixels = (uint64_t)img.width * (uint64_t)img.height;
        sg_image_free(&img);
        char msg[SG_ERROR_MESSAGE_SIZE];
        rc = preprocess_with_limit(data, size, pixels, msg, sizeof msg);
        CHECK(rc == SIGLIP_OK, "%s (%llu pixels) at a limit of as many: %d %s", files[i],
              (unsigned long long)pixels, rc, msg);
        rc = preprocess_with_limit(data, size, pixels - 1, msg, sizeof msg);
        CHECK(rc == SIGLIP_E2BIG, "%s (%llu pixels) at a limit one lower: %d %s", files[i],
              (unsigned long long)pixels, rc, msg);
        CHECK(rc != SIGLIP_E2BIG || msg[0] != '\0', "%s: E2BIG without a message", files[i]);
        free(data);
    }
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Headers claiming far more than the default 100 M pixels, followed by almost nothing: refused as
 * E2BIG from the header alone (a decoder that tried first would report truncated data instead). */
static void check_header_bombs(void)
{
    unsigned char ppm[64] = "P6\n40000 40000\n255\n";
    unsigned char bmp[80] = {'B', 'M'};
    put_le(bmp + 2, sizeof bmp, 4);
    put_le(bmp + 10, 54, 4);       /* pixel data offset */
    put_le(bmp + 14, 40, 4);       /* BITMAPINFOHEADER */
    put_le(bmp + 18, 40000, 4);    /* width */
    put_le(bmp + 22, 40000, 4);    /* height */
    put_le(bmp + 26, 1, 2);        /* planes */
    put_le(bmp + 28, 24, 2);       /* bits per pixel */
    unsigned char webp[48] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'L'};
    put_le(webp + 4, sizeof webp - 8, 4);
    put_le(webp + 16, sizeof webp - 20, 4);
    webp[20] = 0x2f;                                 /* VP8L signature */
    put_le(webp + 21, 16383u | 16383u << 14, 4);     /* 16384 × 16384, no alpha, version 0 */
    const struct { const char *name; const unsigned char *data; size_t size; } bombs[] = {
        {"ppm", ppm, sizeof ppm}, {"bmp", bmp, sizeof bmp}, {"webp", webp, sizeof webp}};
    for (size_t i = 0; i < sizeof bombs / sizeof *bombs; i++) {
        char msg[SG_ERROR_MESSAGE_SIZE];
        int rc = preprocess_with_limit(bombs[i].data, bombs[i].size, 100000000u, msg, sizeof msg);
        CHECK(rc == SIGLIP_E2BIG, "%s header bomb: status %d, message %s", bombs[i].name, rc, msg);
    }
    static const char *const files[] = {"bad_bomb.png", "bad_bomb.jpg", "bad_bomb.gif",
                                        "bad_bomb.tga"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t size = 0;
        unsigned char *data = read_extra_image(files[i], &size);
        if (!data)
            continue;
        char msg[SG_ERROR_MESSAGE_SIZE];
        int rc = preprocess_with_limit(data, size, 100000000u, msg, sizeof msg);
        CHECK(rc == SIGLIP_E2BIG, "%s: status %d, message %s", files[i], rc, msg);
        free(data);
    }
}

/* Text longer than 64 MiB, batch larger than SIGLIP_MAX_BATCH; the tokenizer works afterwards. */
static void check_text_limits(SiglipContext *ctx, SiglipTokenizer *tok)
{
    char *text = malloc(DOC_MAX_TEXT_BYTES + 2);
    CHECK(text != NULL, "out of memory");
    if (!text)
        return;
    memset(text, 'a', DOC_MAX_TEXT_BYTES + 1);
    text[DOC_MAX_TEXT_BYTES + 1] = '\0';
    int32_t ids[64], mask[64];
    const char *texts[1] = {text};
    int rc = siglip_tokenize(tok, texts, 1, 0, ids, mask);
    CHECK_STATUS(rc, SIGLIP_E2BIG, siglip_tokenizer_error(tok));
    int32_t *one = NULL;
    size_t n_one = 0;
    rc = siglip_tokenize_one(tok, text, &one, &n_one);
    CHECK_STATUS(rc, SIGLIP_E2BIG, siglip_tokenizer_error(tok));
    CHECK(one == NULL && n_one == 0, "no output on failure");
    free(text);

    const char *batch[1] = {"a photo of a cat"};
    rc = siglip_tokenize(tok, batch, SIGLIP_MAX_BATCH + 1, 0, ids, mask); /* refused unread */
    CHECK_STATUS(rc, SIGLIP_E2BIG, siglip_tokenizer_error(tok));
    CHECK(strstr(siglip_tokenizer_error(tok), "SIGLIP_MAX_BATCH") != NULL, "limit named: %s",
          siglip_tokenizer_error(tok));
    /* still usable: tests/data/tokenizer/cases.json, transformers' ids for this text */
    static const int32_t want[10] = {70, 7, 28, 239, 226, 27, 70, 372, 59, 1};
    rc = siglip_tokenize(tok, batch, 1, 10, ids, mask);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_tokenizer_error(tok));
    CHECK(memcmp(ids, want, sizeof want) == 0, "ids after a refusal differ from transformers'");
}

/* Long text: truncated to max_length with eos kept last and every position attended. */
static void check_truncation(SiglipContext *ctx, SiglipTokenizer *tok)
{
    size_t n = 20000;
    char *text = malloc(n + 1);
    CHECK(text != NULL, "out of memory");
    if (!text)
        return;
    for (size_t i = 0; i < n; i++)
        text[i] = i % 6 == 5 ? ' ' : (char)('a' + (i * 7) % 26);
    text[n] = '\0';
    int32_t ids[64], mask[64];
    const char *texts[1] = {text};
    int rc = siglip_tokenize(tok, texts, 1, 0, ids, mask);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_tokenizer_error(tok));
    CHECK(siglip_tokenizer_max_length(tok) == 64, "model_max_length %d",
          siglip_tokenizer_max_length(tok));
    CHECK(ids[63] == 1, "eos (id 1 in the tiny fixture) last after truncation, got %d", ids[63]);
    int attended = 0;
    for (int i = 0; i < 64; i++)
        attended += mask[i];
    CHECK(attended == 64, "%d of 64 positions attended", attended);
    free(text);
}

static void check_image_batch_limit(SiglipContext *ctx)
{
    SiglipImageProcessor *proc = NULL;
    int rc = siglip_image_processor_load(ctx, NULL, &proc);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    if (rc)
        return;
    const char *paths[1] = {"unused.png"};
    float pixel;
    rc = siglip_preprocess_files(proc, paths, SIGLIP_MAX_BATCH + 1, &pixel); /* refused unread */
    CHECK_STATUS(rc, SIGLIP_E2BIG, siglip_image_processor_error(proc));
    CHECK(strstr(siglip_image_processor_error(proc), "SIGLIP_MAX_BATCH") != NULL, "limit named: %s",
          siglip_image_processor_error(proc));
    siglip_image_processor_free(&proc);
}

int main(void)
{
    check_pixel_limit_per_format();
    check_header_bombs();
    SiglipContext *ctx = context_with_limit(100000000u);
    SiglipTokenizer *tok = NULL;
    char *tiny = sg_test_path("tiny");
    int rc = ctx && tiny ? siglip_tokenizer_load(ctx, tiny, &tok) : SIGLIP_ENOMEM;
    CHECK_STATUS(rc, SIGLIP_OK, ctx ? siglip_context_error(ctx) : "");
    if (rc == 0) {
        check_text_limits(ctx, tok);
        check_truncation(ctx, tok);
    }
    if (ctx)
        check_image_batch_limit(ctx);
    siglip_tokenizer_free(&tok);
    siglip_context_close(&ctx);
    free(tiny);
    return sg_test_finish("test_limits");
}
