/* fuzz_image.c — an encoded image of any supported format (JPEG, PNG, WebP, GIF, BMP, TGA, PNM)
 * decoded from memory with its EXIF orientation applied, then preprocessed to pixel_values; the
 * EXIF readers are also run on the raw bytes. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "image/decoders.h"
#include "image/exif.h"
#include "image/image.h"

/* Small limits keep each input fast: the pixel limit is checked against the header before any
 * pixel is decoded, so a huge header must fail with E2BIG rather than allocate. */
#define FUZZ_MAX_PIXELS (512u * 512u)
#define FUZZ_OUT_SIZE 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SgError err;
    int o = sg_exif_orientation(data, size);
    int po = sg_png_exif_orientation(data, size);
    if (o < 1 || o > 8 || po < 1 || po > 8)
        abort(); /* both promise 1..8 (1 when missing or malformed) */

    SgImage img;
    if (sg_image_decode_rgb8(data, size, NULL, FUZZ_MAX_PIXELS, &img, &err) != 0)
        return 0;
    if (img.width <= 0 || img.height <= 0 || (uint64_t)img.width * img.height > FUZZ_MAX_PIXELS ||
        !img.rgb)
        abort();
    SiglipImageProcessor proc = {.err = &err, .decode.max_pixels = FUZZ_MAX_PIXELS, .n_threads = 1};
    sg_image_settings_default(&proc.settings);
    sg_image_processor_set_size(&proc, FUZZ_OUT_SIZE, FUZZ_OUT_SIZE);
    static float pixels[3 * FUZZ_OUT_SIZE * FUZZ_OUT_SIZE]; /* [3, H, W] */
    if (sg_image_to_pixels(&proc, &img, pixels, &err) != 0)
        abort(); /* a decoded image always preprocesses (no allocation of note at this size) */
    sg_image_free(&img);
    return 0;
}
