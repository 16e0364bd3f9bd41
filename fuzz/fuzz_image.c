/* fuzz_image.c — an encoded image of any supported format (JPEG, PNG, WebP, GIF, BMP, TGA, PNM,
 * ICO, TIFF, HEIF/AVIF) decoded from memory with its orientation applied (a truncated one also
 * as allowed), then preprocessed to pixel_values; the EXIF and XMP readers also run on the raw
 * bytes; the decoded image also goes through Immich's preprocessing. */
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
    int tag = sg_exif_orientation_tag(data, size), xmp = sg_xmp_orientation(data, size);
    if (o < 1 || o > 8 || tag < -1 || tag > 8 || xmp < -1 || xmp > 9)
        abort(); /* 1..8 (1 when missing or malformed); the raw tag -1..8; an XMP digit or -1 */

    SgImage img;
    SgDecodeOptions truncated_ok = {FUZZ_MAX_PIXELS, 1, 0};
    int rc = sg_image_decode_rgb8(data, size, NULL, FUZZ_MAX_PIXELS, &img, &err);
    if (rc == SIGLIP_EBADMSG)
        rc = sg_image_decode(data, size, NULL, &truncated_ok, &img, &err);
    if (rc != 0)
        return 0;
    if (img.width <= 0 || img.height <= 0 || (uint64_t)img.width * img.height > FUZZ_MAX_PIXELS ||
        !img.rgb)
        abort();
    SiglipImageProcessor proc = {.decode.max_pixels = FUZZ_MAX_PIXELS, .n_threads = 1};
    sg_image_settings_default(&proc.settings);
    sg_image_processor_set_size(&proc, FUZZ_OUT_SIZE, FUZZ_OUT_SIZE);
    static float pixels[3 * FUZZ_OUT_SIZE * FUZZ_OUT_SIZE]; /* [3, H, W] */
    if (sg_image_to_pixels(&proc, &img, pixels, &err) != 0)
        abort(); /* a decoded image always preprocesses (no allocation of note at this size) */
    /* Immich's shortest-side resize + centre crop: within the pixel limit it preprocesses, past
     * it (an extreme aspect ratio) it is E2BIG, never an allocation */
    proc.settings.immich = proc.settings.immich_crop = 1;
    rc = sg_image_to_pixels(&proc, &img, pixels, &err);
    if (rc != 0 && rc != SIGLIP_E2BIG)
        abort();
    sg_image_free(&img);
    return 0;
}
