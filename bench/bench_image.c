/* bench_image.c — images per second from a JPEG file to pixel_values at 224×224 and 384×384
 * (decode + EXIF + RGB + Pillow bicubic resize + normalize), on 1 thread and on all CPUs.
 * Usage: bench_image [JPEG] [--batch N] [--seconds S]. Without a JPEG (or when it does not
 * exist) a 1024×768 photo-like JPEG is written there (default bench-1024x768.jpg) first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>

#include "siglip.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* A smooth colour field with fine texture and noise, 4:2:0 quality 90: compresses like a photo. */
static int write_test_jpeg(const char *path, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)w * 3);
    uint32_t seed = 12345;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            for (int k = 0; k < 3; k++) {
                seed = seed * 1664525u + 1013904223u;
                int v = (x * (k + 1) / 5 + y * (3 - k) / 4 + ((x / 7 + y / 5) % 9) * 6) % 220 +
                        (int)(seed >> 28);
                row[x * 3 + k] = (unsigned char)(v > 255 ? 255 : v);
            }
        }
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return fclose(f);
}

/* Runs batches until `seconds` have passed; returns images per second (0 on failure). */
static double run(const char *jpeg, int size, int n_threads, int batch, double seconds)
{
    SiglipSettings s;
    siglip_default_settings(&s);
    s.n_threads = n_threads;
    SiglipContext *ctx = NULL;
    SiglipImageProcessor *proc = NULL;
    if (siglip_context_create(&ctx, &s) || siglip_image_processor_load(ctx, NULL, &proc))
        return 0;
    /* the reference defaults at another size: a model's processor would be sized the same way */
    char cfg_dir[] = "/tmp/siglip-bench-XXXXXX";
    if (size != 224 && mkdtemp(cfg_dir)) {
        char path[256];
        snprintf(path, sizeof path, "%s/preprocessor_config.json", cfg_dir);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "{\"size\": {\"height\": %d, \"width\": %d}}\n", size, size);
            fclose(f);
        }
        siglip_image_processor_free(&proc);
        siglip_image_processor_load(ctx, cfg_dir, &proc);
        remove(path);
        remove(cfg_dir);
    }
    const char **paths = malloc((size_t)batch * sizeof *paths);
    float *pixels = malloc((size_t)batch * 3 * size * size * sizeof *pixels);
    for (int i = 0; i < batch; i++)
        paths[i] = jpeg;
    double rate = 0;
    if (proc && paths && pixels && siglip_preprocess_files(proc, paths, batch, pixels) == 0) {
        long images = 0;
        double t0 = now_s(), t;
        do {
            if (siglip_preprocess_files(proc, paths, batch, pixels))
                break;
            images += batch;
            t = now_s();
        } while (t - t0 < seconds);
        rate = images / (now_s() - t0);
    } else {
        fprintf(stderr, "bench_image: %s\n",
                proc ? siglip_image_processor_error(proc) : siglip_context_error(ctx));
    }
    free(paths);
    free(pixels);
    siglip_image_processor_free(&proc);
    siglip_context_close(&ctx);
    return rate;
}

int main(int argc, char **argv)
{
    const char *jpeg = "bench-1024x768.jpg";
    int batch = 32;
    double seconds = 3.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else
            jpeg = argv[i];
    }
    FILE *probe = fopen(jpeg, "rb");
    if (probe)
        fclose(probe);
    else if (write_test_jpeg(jpeg, 1024, 768)) {
        fprintf(stderr, "bench_image: cannot write %s\n", jpeg);
        return 1;
    }
    printf("file -> pixel_values, %s, batch %d\n", jpeg, batch);
    static const int sizes[] = {224, 384};
    for (int k = 0; k < 2; k++) {
        double one = run(jpeg, sizes[k], 1, batch, seconds);
        double all = run(jpeg, sizes[k], 0, batch, seconds);
        printf("  %dx%d: %8.1f images/s on 1 thread, %8.1f images/s on all CPUs\n", sizes[k],
               sizes[k], one, all);
        if (one <= 0 || all <= 0)
            return 1;
    }
    return 0;
}
