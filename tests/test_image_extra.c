/* test_image_extra.c — decoding and resizing against Pillow on the generated cases of
 * tests/data/images-extra (every format and mode, EXIF orientations, odd sizes; made by gen.py
 * with python3-pil), the float output of whole pipelines, bad inputs, and processor settings;
 * every resize filter (PIL ids 0..5) against Pillow's own results (tests/data/resize, gen.py). */
#include <stb_image.h>

#include "harness.h"
#include "siglip.h"
#include "image/exif.h"
#include "image/image.h"

/* images-extra/in/<name>, or images-extra/expect/<name>.png, or .../<name>.<w>x<h>.png. */
static char *extra_path(const char *sub, const char *name, int w, int h)
{
    char rel[600];
    if (strcmp(sub, "in") == 0)
        snprintf(rel, sizeof rel, "images-extra/in/%s", name);
    else if (w > 0)
        snprintf(rel, sizeof rel, "images-extra/expect/%s.%dx%d.png", name, w, h);
    else
        snprintf(rel, sizeof rel, "images-extra/expect/%s.png", name);
    return sg_test_path(rel);
}

/* Loads a Pillow-made expectation PNG as RGB8 with stb (its PNG reader is exact). */
static uint8_t *load_expected(const char *path, int *w, int *h)
{
    int c;
    uint8_t *px = stbi_load(path, w, h, &c, 3);
    CHECK(px != NULL, "cannot read %s", path);
    return px;
}

static int compare_rgb(const char *what, const uint8_t *got, int gw, int gh, const uint8_t *want,
                       int ww, int wh)
{
    if (gw != ww || gh != wh) {
        CHECK(0, "%s: size %dx%d, Pillow %dx%d", what, gw, gh, ww, wh);
        return 999;
    }
    int max = 0;
    size_t n = (size_t)gw * gh * 3;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)got[i] - (int)want[i]);
        if (d > max)
            max = d;
    }
    CHECK(max == 0, "%s: max abs difference %d levels from Pillow", what, max);
    return max;
}

/* Whole pipeline on one case: pixel_values from siglip_preprocess_memory versus the float
 * formula applied here to Pillow's resized bytes. */
static double check_pixels(SiglipImageProcessor *proc, const char *in_path, const uint8_t *want,
                           int w, int h)
{
    FILE *f = fopen(in_path, "rb");
    if (!f)
        return INFINITY;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc((size_t)size);
    size_t got_bytes = fread(data, 1, (size_t)size, f);
    fclose(f);
    sg_image_processor_set_size(proc, h, w);
    float *px = malloc((size_t)3 * w * h * sizeof *px);
    float *ref = malloc((size_t)3 * w * h * sizeof *ref);
    int rc = siglip_preprocess_memory(proc, data, got_bytes, px);
    CHECK(rc == 0, "preprocess_memory %s: %d", in_path, rc);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < w * h; i++)
            ref[(size_t)c * w * h + i] =
                ((float)((double)want[(size_t)i * 3 + c] * (1.0 / 255.0)) - 0.5f) / 0.5f;
    double e = rc == 0 ? sg_max_abs_diff(px, ref, (size_t)3 * w * h) : INFINITY;
    CHECK(e <= 1e-6, "%s %dx%d: pixel_values max abs error %g", in_path, w, h, e);
    free(data);
    free(px);
    free(ref);
    return e;
}

static void check_cases(SiglipImageProcessor *proc)
{
    char *list = sg_test_path("images-extra/cases.txt");
    FILE *f = fopen(list, "r");
    CHECK(f != NULL, "cannot open %s", list);
    char line[512], name[256], decoded_name[256] = "";
    int n_cases = 0, n_decoded = 0, worst = 0;
    double worst_px = 0;
    SgImage img = {0};
    while (f && fgets(line, sizeof line, f)) {
        int w, h;
        if (line[0] == '#' || sscanf(line, "%255s %d %d", name, &w, &h) != 3)
            continue;
        char *in = extra_path("in", name, 0, 0);
        if (strcmp(name, decoded_name) != 0) { /* decode each input once */
            sg_image_free(&img);
            SgError err;
            int rc = sg_image_load_file_rgb8(in, 100000000ull, &img, &err);
            CHECK(rc == 0, "%s: %s", name, err.message);
            char *exp = extra_path("expect", name, 0, 0);
            int ew, eh;
            uint8_t *want = load_expected(exp, &ew, &eh);
            if (rc == 0 && want) {
                int d = compare_rgb(name, img.rgb, img.width, img.height, want, ew, eh);
                worst = d > worst ? d : worst;
            }
            stbi_image_free(want);
            free(exp);
            snprintf(decoded_name, sizeof decoded_name, "%s", name);
            n_decoded++;
        }
        if (w > 0 && img.rgb) {
            char *exp = extra_path("expect", name, w, h);
            int ew, eh;
            uint8_t *want = load_expected(exp, &ew, &eh);
            uint8_t *got = malloc((size_t)w * h * 3);
            SgError err;
            int rc = sg_resize_bicubic_rgb8(img.rgb, img.width, img.height, got, w, h, &err);
            CHECK(rc == 0, "resize %s: %s", name, err.message);
            if (rc == 0 && want) {
                char what[300];
                snprintf(what, sizeof what, "%s -> %dx%d", name, w, h);
                int d = compare_rgb(what, got, w, h, want, ew, eh);
                worst = d > worst ? d : worst;
                double e = check_pixels(proc, in, want, w, h);
                worst_px = e > worst_px ? e : worst_px;
            }
            free(got);
            stbi_image_free(want);
            free(exp);
            n_cases++;
        }
        free(in);
    }
    sg_image_free(&img);
    if (f)
        fclose(f);
    free(list);
    CHECK(n_cases > 50, "only %d resize cases ran", n_cases);
    CHECK(n_decoded > 85, "only %d decoded images were compared", n_decoded);
    fprintf(stderr, "extra cases: %d decoded images and %d resizes, max difference from Pillow "
                    "%d levels, pixel_values max abs error %.3g\n", n_decoded, n_cases, worst,
            worst_px);
}

/* HEIC and AVIF (gen_heif.py): each decoded image against the reference decoders' own output
 * with the tolerance heif.txt states (0 for heif-convert, 1 level for libavif's avifdec), and a
 * rotated HEIC equal to the plain one turned by its irot/imir (same pixels, other boxes). */
static void check_heif(void)
{
    char *list = sg_test_path("images-extra/heif.txt");
    FILE *f = fopen(list, "r");
    CHECK(f != NULL, "cannot open %s", list);
    char line[512], name[256], ref[256];
    int tol, n = 0, worst = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || sscanf(line, "%255s %255s %d", name, ref, &tol) != 3)
            continue;
        char *in = extra_path("in", name, 0, 0), rel[600];
        snprintf(rel, sizeof rel, "images-extra/expect/%s", ref);
        char *exp = sg_test_path(rel);
        SgImage img;
        SgError err;
        int rc = sg_image_load_file_rgb8(in, 100000000ull, &img, &err), ew, eh;
        CHECK(rc == 0, "%s: %s", name, err.message);
        uint8_t *want = load_expected(exp, &ew, &eh);
        CHECK(rc || (img.width == ew && img.height == eh), "%s: %dx%d, %s %dx%d", name,
              img.width, img.height, ref, ew, eh);
        if (rc == 0 && want && img.width == ew && img.height == eh) {
            int max = 0;
            for (size_t i = 0; i < (size_t)ew * eh * 3; i++) {
                int d = abs((int)img.rgb[i] - (int)want[i]);
                max = d > max ? d : max;
            }
            CHECK(max <= tol, "%s vs %s: max difference %d levels > %d", name, ref, max, tol);
            worst = max > worst ? max : worst;
        }
        sg_image_free(&img);
        stbi_image_free(want);
        free(in);
        free(exp);
        n++;
    }
    CHECK(n >= 12, "only %d HEIF/AVIF cases", n);
    if (f)
        fclose(f);
    free(list);
    char *plain = extra_path("in", "heic_plain.heic", 0, 0);
    char *rot = extra_path("in", "heic_rot90.heic", 0, 0);
    SgImage a, b;
    SgError err;
    CHECK(sg_image_load_file_rgb8(plain, 100000000ull, &a, &err) == 0, "%s", err.message);
    CHECK(sg_image_load_file_rgb8(rot, 100000000ull, &b, &err) == 0, "%s", err.message);
    CHECK(sg_exif_apply_orientation(&a, 6, &err) == 0, "rotate");
    CHECK(a.width == b.width && a.height == b.height &&
              memcmp(a.rgb, b.rgb, (size_t)a.width * a.height * 3) == 0,
          "heic_rot90 must be heic_plain turned 90 degrees clockwise");
    sg_image_free(&a);
    sg_image_free(&b);
    free(plain);
    free(rot);
    fprintf(stderr, "HEIF/AVIF: %d comparisons with reference decoders, max difference %d levels\n",
            n, worst);
}

static int status_of(const char *name)
{
    static const struct { const char *name; int code; } codes[] = {
        {"SIGLIP_EBADMSG", SIGLIP_EBADMSG}, {"SIGLIP_ENOTSUP", SIGLIP_ENOTSUP},
        {"SIGLIP_E2BIG", SIGLIP_E2BIG},
    };
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (strcmp(codes[i].name, name) == 0)
            return codes[i].code;
    return 1;
}

/* Each bad input fails with its status and a message naming the file, from a path and from
 * memory; none crashes (ASan/valgrind runs of this test also check for leaks). */
static void check_bad_inputs(SiglipContext *ctx, SiglipImageProcessor *proc)
{
    sg_image_processor_set_size(proc, 40, 40);
    char *list = sg_test_path("images-extra/bad.txt");
    FILE *f = fopen(list, "r");
    CHECK(f != NULL, "cannot open %s", list);
    char line[512], name[256], status[64];
    int n = 0;
    float *px = malloc(3 * 40 * 40 * sizeof *px);
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || sscanf(line, "%255s %63s", name, status) != 2)
            continue;
        char *path = extra_path("in", name, 0, 0);
        const char *paths[1] = {path};
        int rc = siglip_preprocess_files(proc, paths, 1, px);
        const char *msg = siglip_image_processor_error(proc);
        fprintf(stderr, "  %-20s -> %d: %s\n", name, rc, msg);
        CHECK_STATUS(rc, status_of(status), msg);
        CHECK(strstr(msg, name) != NULL, "message must name %s: %s", name, msg);
        n++;
        free(path);
    }
    CHECK(n >= 10, "only %d bad inputs", n);
    /* from memory: a pixel bomb and garbage */
    static const uint8_t garbage[] = "GIF89a\x01";
    CHECK_STATUS(siglip_preprocess_memory(proc, garbage, sizeof garbage - 1, px),
                 SIGLIP_EBADMSG, siglip_image_processor_error(proc));
    CHECK_STATUS(siglip_preprocess_memory(proc, garbage, 0, px), SIGLIP_EBADMSG,
                 siglip_image_processor_error(proc));
    const char *missing[1] = {"/nonexistent/image.png"};
    CHECK_STATUS(siglip_preprocess_files(proc, missing, 1, px), SIGLIP_ENOENT,
                 siglip_image_processor_error(proc));
    CHECK_STATUS(siglip_preprocess_files(proc, missing, 0, px), SIGLIP_EINVAL,
                 siglip_image_processor_error(proc));
    free(px);
    if (f)
        fclose(f);
    free(list);
}

/* Truncated files decode when allowed: the size of the whole image, and (for the formats whose
 * rows come in file order) every row the file still holds equal to Pillow's decoding of the
 * complete file, the rest black. */
static void check_allow_truncated(void)
{
    static const struct { const char *bad, *full; int rows_kept; } cases[] = {
        {"bad_truncated.jpg", "jpeg_420.jpg", 0},   {"bad_truncated.gif", "gif_p.gif", 0},
        {"bad_truncated.bmp", "bmp_rgb.bmp", -8},   {"bad_truncated.tga", "tga_rgb.tga", -8},
        {"bad_truncated.ppm", "pnm_rgb.ppm", 8},    {"bad_truncated_rle.bmp", "bmp_rle8.bmp", 0},
        {"bad_truncated_rle.tga", "tga_rgb_rle.tga", 0},
        {"bad_truncated_plain.pgm", "pnm_plain.pgm", 0},
    };
    SgDecodeOptions opt = {100000000ull, 1, 0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *bad = extra_path("in", cases[i].bad, 0, 0);
        char *exp = extra_path("expect", cases[i].full, 0, 0);
        SgImage img;
        SgError err;
        int rc = sg_image_load_file(bad, &opt, &img, &err), ew = 0, eh = 0;
        uint8_t *want = load_expected(exp, &ew, &eh);
        CHECK(rc == 0, "allow_truncated %s: %s", cases[i].bad, err.message);
        CHECK(rc || (img.width == ew && img.height == eh), "%s: size %dx%d, whole image %dx%d",
              cases[i].bad, img.width, img.height, ew, eh);
        int kept = abs(cases[i].rows_kept); /* > 0: top rows kept, < 0: bottom rows */
        for (int k = 0; rc == 0 && want && k < kept && img.height == eh && img.width == ew; k++) {
            int y = cases[i].rows_kept > 0 ? k : eh - 1 - k;
            size_t at = (size_t)y * ew * 3;
            CHECK(memcmp(img.rgb + at, want + at, (size_t)ew * 3) == 0, "%s: row %d differs "
                  "from the complete file's", cases[i].bad, y);
        }
        if (rc == 0 && kept) {
            int y = cases[i].rows_kept > 0 ? eh - 1 : 0; /* a row the file no longer holds */
            int zero = 1;
            for (int x = 0; x < ew * 3; x++)
                zero &= img.rgb[(size_t)y * ew * 3 + x] == 0;
            CHECK(zero, "%s: the missing row %d must be black", cases[i].bad, y);
        }
        sg_image_free(&img);
        stbi_image_free(want);
        free(bad);
        free(exp);
    }
    /* Through the public settings too. */
    SiglipSettings s;
    siglip_default_settings(&s);
    s.allow_truncated_images = 1;
    SiglipContext *ctx = NULL;
    SiglipImageProcessor *proc = NULL;
    CHECK(siglip_context_create(&ctx, &s) == 0, "context with allow_truncated_images");
    CHECK(siglip_image_processor_load(ctx, NULL, &proc) == 0, "processor");
    char *path = extra_path("in", "bad_truncated.jpg", 0, 0);
    const char *paths[1] = {path};
    float *px = malloc((size_t)3 * 224 * 224 * sizeof *px);
    CHECK_STATUS(siglip_preprocess_files(proc, paths, 1, px), SIGLIP_OK, siglip_image_processor_error(proc));
    free(px);
    free(path);
    siglip_image_processor_free(&proc);
    siglip_context_close(&ctx);
}

/* siglip_preprocess_files_each: the bad files of a list get their status and message and zero
 * pixel_values, the good ones exactly what siglip_preprocess_files gives them alone. */
static void check_each(SiglipContext *ctx, SiglipImageProcessor *proc)
{
    sg_image_processor_set_size(proc, 16, 16);
    char *good1 = extra_path("in", "png_l8.png", 0, 0);
    char *good2 = extra_path("in", "bmp_rle8.bmp", 0, 0);
    char *bad = extra_path("in", "bad_truncated.jpg", 0, 0);
    const char *paths[4] = {good1, "/nonexistent/x.png", bad, good2};
    const size_t per = 3 * 16 * 16;
    float *px = malloc(4 * per * sizeof *px), *alone = malloc(per * sizeof *alone);
    SiglipItemStatus st[4];
    memset(px, 0x7f, 4 * per * sizeof *px);
    CHECK_STATUS(siglip_preprocess_files_each(proc, paths, 4, px, st), SIGLIP_OK,
                 siglip_image_processor_error(proc));
    CHECK(st[0].status == 0 && st[3].status == 0 && st[0].message[0] == 0, "good files");
    CHECK(st[1].status == SIGLIP_ENOENT && strstr(st[1].message, "/nonexistent/x.png"),
          "missing file: %d %s", st[1].status, st[1].message);
    CHECK(st[2].status == SIGLIP_EBADMSG && strstr(st[2].message, "bad_truncated.jpg") &&
          strstr(st[2].message, "truncated"), "truncated file: %d %s", st[2].status,
          st[2].message);
    for (int i = 0; i < 4; i++) {
        if (i == 1 || i == 2) {
            CHECK(sg_max_abs_diff(px + i * per, (float[3 * 16 * 16]){0}, per) == 0,
                  "failed item %d must be zero", i);
            continue;
        }
        const char *one[1] = {paths[i]};
        CHECK_STATUS(siglip_preprocess_files(proc, one, 1, alone), SIGLIP_OK,
                     siglip_image_processor_error(proc));
        CHECK(memcmp(px + i * per, alone, per * sizeof *alone) == 0, "item %d differs", i);
    }
    CHECK_STATUS(siglip_preprocess_files_each(proc, paths, 4, px, NULL), SIGLIP_EINVAL,
                 siglip_image_processor_error(proc));
    free(px);
    free(alone);
    free(good1);
    free(good2);
    free(bad);
}

/* A configurable pixel limit: the 320×240 JPEG passes at 76800 pixels and fails at 76799. */
static void check_pixel_limit(void)
{
    char *path = sg_test_path("images-extra/in/jpeg_320x240.jpg");
    SgImage img;
    SgError err;
    CHECK(sg_image_load_file_rgb8(path, 76800, &img, &err) == 0, "%s", err.message);
    sg_image_free(&img);
    CHECK(sg_image_load_file_rgb8(path, 76799, &img, &err) == SIGLIP_E2BIG, "limit not applied");
    CHECK(img.rgb == NULL, "output must be empty on failure");
    free(path);
}

static void check_settings(void)
{
    SgImageSettings s;
    SgError err;
    CHECK(sg_image_settings_parse("{\"size\": {\"height\": 384, \"width\": 256}, \"image_mean\": "
                                  "[0.1, 0.2, 0.3], \"do_rescale\": false}", "flat", &s, &err) == 0,
          "%s", err.message);
    CHECK(s.height == 384 && s.width == 256 && !s.do_rescale && s.image_mean[2] == 0.3f &&
          s.image_std[0] == 0.5f && s.resample == 3, "flat settings");
    CHECK(sg_image_settings_parse("{\"image_processor\": {\"size\": {\"height\": 40, \"width\": "
                                  "40}, \"rescale_factor\": 0.5}}", "nested", &s, &err) == 0,
          "%s", err.message);
    CHECK(s.height == 40 && s.rescale_factor == 0.5, "nested settings");
    CHECK(sg_image_settings_parse("{\"size\": {\"shortest_edge\": 224}}", "se", &s, &err) ==
              SIGLIP_ENOTSUP, "shortest_edge must be refused");
    CHECK(strstr(err.message, "shortest_edge") != NULL, "message: %s", err.message);
    /* Siglip2's size is its patch budget's: a shortest_edge there is unused, not refused */
    CHECK(sg_image_settings_parse("{\"image_processor_type\": \"Siglip2ImageProcessor\", \"size\": "
                                  "{\"shortest_edge\": 256}}", "se2", &s, &err) == 0 && s.naflex,
          "Siglip2 with shortest_edge: %s", err.message);
    /* the classes' default filters: Siglip bicubic, Siglip2 bilinear (transformers 5) */
    CHECK(sg_image_settings_parse("{\"max_num_patches\": 64}", "n64", &s, &err) == 0 &&
              s.naflex && s.resample == 2, "Siglip2 default resample %d", s.resample);
    CHECK(sg_image_settings_parse("{\"max_num_patches\": 64, \"resample\": 3}", "n64b", &s, &err) ==
              0 && s.resample == 3, "Siglip2 resample named");
    CHECK(sg_image_settings_parse("{\"image_processor_type\": \"SiglipImageProcessor\", "
                                  "\"max_num_patches\": 64}", "stray", &s, &err) == 0 &&
              !s.naflex && s.resample == 3, "SiglipImageProcessor with max_num_patches");
    /* cropping and padding, which transformers 5's PIL backend would do, are refused */
    CHECK(sg_image_settings_parse("{\"do_center_crop\": true, \"crop_size\": 32}", "crop", &s,
                                  &err) == SIGLIP_ENOTSUP && strstr(err.message, "do_center_crop"),
          "do_center_crop: %s", err.message);
    CHECK(sg_image_settings_parse("{\"do_pad\": true}", "pad", &s, &err) == SIGLIP_ENOTSUP,
          "do_pad must be refused");
    CHECK(sg_image_settings_parse("{\"do_center_crop\": false, \"crop_size\": 32}", "nocrop", &s,
                                  &err) == 0, "do_center_crop false: %s", err.message);
    for (int r = 0; r <= 5; r++) {
        char json[64];
        snprintf(json, sizeof json, "{\"resample\": %d}", r);
        CHECK(sg_image_settings_parse(json, "filter", &s, &err) == 0 && s.resample == r,
              "resample %d: %s", r, err.message);
    }
    CHECK(sg_image_settings_parse("{\"resample\": 6}", "six", &s, &err) == SIGLIP_ENOTSUP &&
              strstr(err.message, "not a PIL filter"), "resample 6 must be refused");
    CHECK(sg_image_settings_parse("{\"resample\": 2.5}", "frac", &s, &err) == SIGLIP_ENOTSUP,
          "resample 2.5 must be refused");
    CHECK(sg_image_settings_parse("{\"image_std\": [1, 2]}", "std", &s, &err) == SIGLIP_EBADMSG,
          "2-element std must be refused");
    CHECK(sg_image_settings_parse("{", "bad", &s, &err) == SIGLIP_EBADMSG, "bad JSON");

    SiglipImageProcessor *p = NULL;
    SiglipSettings settings = {.max_image_pixels = 100};
    CHECK(sg_image_processor_load(&p, NULL, &settings, &err) == 0, "defaults");
    int h, w;
    siglip_image_processor_size(p, &h, &w);
    CHECK(h == 224 && w == 224 && p->settings.rescale_factor == 1.0 / 255.0, "default size");
    sg_image_processor_set_size(p, 384, 384);
    siglip_image_processor_size(p, &h, &w);
    CHECK(h == 384 && w == 384, "set_size");
    siglip_image_processor_free(&p);
}

/* resize/cases.txt: "input filter W H"; the result must equal Pillow's byte for byte. */
static void check_filters(void)
{
    static const char *const names[] = {"nearest", "lanczos", "bilinear", "bicubic", "box",
                                        "hamming"};
    char *list = sg_test_path("resize/cases.txt");
    FILE *f = fopen(list, "r");
    CHECK(f != NULL, "cannot open %s", list);
    char line[512], name[256];
    int n_cases[6] = {0}, worst = 0;
    while (f && fgets(line, sizeof line, f)) {
        int filter, w, h;
        if (sscanf(line, "%255s %d %d %d", name, &filter, &w, &h) != 4 || filter < 0 ||
            filter > 5)
            continue;
        char rel[600];
        snprintf(rel, sizeof rel, "resize/in/%s.png", name);
        char *in = sg_test_path(rel);
        snprintf(rel, sizeof rel, "resize/expect/%s.%s.%dx%d.png", name, names[filter], w, h);
        char *exp = sg_test_path(rel);
        SgImage img = {0};
        SgError err;
        int rc = sg_image_load_file_rgb8(in, 100000000ull, &img, &err);
        CHECK(rc == 0, "%s: %s", in, err.message);
        int ew, eh;
        uint8_t *want = load_expected(exp, &ew, &eh);
        uint8_t *got = malloc((size_t)w * h * 3);
        if (rc == 0)
            rc = sg_resize_rgb8(img.rgb, img.width, img.height, got, w, h, filter, &err);
        CHECK(rc == 0, "resize %s: %s", rel, err.message);
        if (rc == 0 && want) {
            int d = compare_rgb(rel, got, w, h, want, ew, eh);
            worst = d > worst ? d : worst;
        }
        n_cases[filter]++;
        free(got);
        stbi_image_free(want);
        sg_image_free(&img);
        free(in);
        free(exp);
    }
    if (f)
        fclose(f);
    free(list);
    for (int k = 0; k < 6; k++)
        CHECK(n_cases[k] >= 10, "only %d %s cases ran", n_cases[k], names[k]);
    fprintf(stderr, "resize filters: %d nearest, %d lanczos, %d bilinear, %d bicubic, %d box, "
                    "%d hamming cases; max difference from Pillow %d levels\n", n_cases[0],
            n_cases[1], n_cases[2], n_cases[3], n_cases[4], n_cases[5], worst);
    uint8_t px[3] = {1, 2, 3}, out[3];
    SgError err;
    CHECK(sg_resize_rgb8(px, 1, 1, out, 1, 1, 6, &err) == SIGLIP_EINVAL, "filter 6 refused");
}

/* IFD0 with an entry whose values lie outside the block: Pillow 9.4's read of it fails and it
 * stops reading IFD0 there (Image.Exif().load of these blocks, python3-pil: None, 6, 6). */
static void check_exif_stops(void)
{
    /* little-endian TIFF header, IFD0 at 8: two entries, then the next-IFD offset */
    const uint8_t make_oob[12] = {0x0F, 0x01, 2, 0, 100, 0, 0, 0, 0xFF, 0xFF, 0, 0};
    const uint8_t orient6[12] = {0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0};
    const uint8_t *orders[3][2] = {{make_oob, orient6}, {orient6, make_oob}, {orient6, NULL}};
    const int want[3] = {-1, 6, 6};
    for (int k = 0; k < 3; k++) {
        uint8_t block[8 + 2 + 24 + 4] = {'I', 'I', 42, 0, 8, 0, 0, 0};
        int n = orders[k][1] ? 2 : 1;
        block[8] = (uint8_t)n;
        for (int e = 0; e < n; e++)
            memcpy(block + 10 + 12 * e, orders[k][e], 12);
        int got = sg_exif_orientation_tag(block, 10 + 12 * (size_t)n + 4);
        CHECK(got == want[k], "exif order %d: orientation %d, Pillow %d", k, got, want[k]);
    }
}

int main(void)
{
    SiglipContext *ctx = NULL;
    CHECK(siglip_context_create(&ctx, NULL) == 0, "context");
    SiglipImageProcessor *proc = NULL;
    CHECK_STATUS(siglip_image_processor_load(ctx, NULL, &proc), SIGLIP_OK,
                 siglip_context_error(ctx));
    check_cases(proc);
    check_heif();
    check_bad_inputs(ctx, proc);
    check_each(ctx, proc);
    check_allow_truncated();
    check_pixel_limit();
    check_settings();
    check_filters();
    check_exif_stops();
    siglip_image_processor_free(&proc);
    siglip_context_close(&ctx);
    return sg_test_finish("test_image_extra");
}
