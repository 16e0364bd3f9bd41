/* test_header.c — the public header compiles on its own (included first, nothing before it; it
 * brings siglip_version.h), and the settings defaults are what siglip.h documents. */
#include "siglip.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    int bad = 0;
    SiglipSettings s;
    memset(&s, 0xff, sizeof s);
    siglip_default_settings(&s);
    bad |= s.device != NULL || s.program_cache_dir != NULL || s.tuning_file != NULL;
    bad |= s.text_mask != SIGLIP_TEXT_MASK_HF || s.max_image_pixels != 100000000u;
    bad |= s.n_threads != 0 || s.allow_truncated_images != 0;
    bad |= s.precision != SIGLIP_PRECISION_F32;
    /* allow_truncated_images and precision took 4 reserved bytes each: the struct keeps its size
     * (LP64). */
    bad |= sizeof(void *) == 8 && sizeof s != 112;
    for (size_t i = 0; i < sizeof s.reserved; i++)
        bad |= s.reserved[i] != 0;
    bad |= siglip_version() != ((unsigned)SIGLIP_VERSION_MAJOR << 16 |
                                (unsigned)SIGLIP_VERSION_MINOR << 8 | SIGLIP_VERSION_PATCH);
    bad |= strcmp(siglip_strerror(SIGLIP_ENODEV), "no matching OpenCL device") != 0;
    bad |= strcmp(siglip_strerror(12345), "unknown error") != 0;
    /* A context with reserved bytes set is refused (room for future settings stays usable). */
    SiglipContext *ctx = (SiglipContext *)&s;
    s.reserved[0] = 1;
    bad |= siglip_context_create(&ctx, &s) != SIGLIP_EINVAL || ctx != NULL;
    siglip_context_close(&ctx); /* closing NULL is a no-op */
    /* A precision outside the enum is refused the same way. */
    siglip_default_settings(&s);
    s.precision = (SiglipPrecision)4;
    bad |= siglip_context_create(&ctx, &s) != SIGLIP_EINVAL || ctx != NULL;
    siglip_context_close(NULL);
    /* The precisions' names, as siglip.h documents them, and none past the last. */
    bad |= strcmp(siglip_precision_name(SIGLIP_PRECISION_F32), "f32") != 0 ||
           strcmp(siglip_precision_name(SIGLIP_PRECISION_BF16), "bf16") != 0 ||
           strcmp(siglip_precision_name(SIGLIP_PRECISION_F16), "f16") != 0 ||
           strcmp(siglip_precision_name(SIGLIP_PRECISION_Q8), "q8") != 0;
    bad |= siglip_precision_name((SiglipPrecision)4) != NULL ||
           siglip_precision_name((SiglipPrecision)-1) != NULL;
    printf("test_header: %s\n", bad ? "FAILED" : "ok");
    return bad;
}
