/* webp.c — WebP decoding (lossy and lossless, first frame) with libwebp, and the EXIF chunk of
 * the RIFF container for the orientation Pillow applies. */
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>

#include "image/bytes.h"
#include "image/decoders.h"
#include "image/exif.h"

/* Walks the RIFF chunks after "RIFF....WEBP" looking for "EXIF". */
static int webp_exif_orientation(const uint8_t *data, size_t size)
{
    size_t pos = 12;
    while (pos + 8 <= size) {
        uint32_t len = sg_le32(data + pos + 4);
        if (len > size - pos - 8)
            break;
        if (memcmp(data + pos, "EXIF", 4) == 0)
            return sg_exif_orientation(data + pos + 8, len);
        pos += 8 + (size_t)len + (len & 1);
    }
    return 1;
}

int sg_decode_webp(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    WebPBitstreamFeatures features;
    VP8StatusCode st = WebPGetFeatures(in->data, in->size, &features);
    if (st != VP8_STATUS_OK)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt WebP header (libwebp status %d)",
                       in->name, (int)st);
    int rc = sg_check_dimensions(in, features.width, features.height, err);
    if (rc)
        return rc;
    if (features.has_animation)
        return sg_fail(err, SIGLIP_ENOTSUP, "%s: animated WebP is not supported", in->name);
    if ((rc = sg_image_alloc(out, features.width, features.height, err)))
        return rc;
    size_t stride = (size_t)features.width * 3;
    /* The RGB of an image with alpha is decoded the same way by WebPDecodeRGBA (Pillow's mode
     * RGBA) and WebPDecodeRGB: alpha is a separate plane and not premultiplied. */
    if (!WebPDecodeRGBInto(in->data, in->size, out->rgb, stride * features.height, (int)stride)) {
        sg_image_free(out);
        return sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt or truncated WebP data", in->name);
    }
    *orientation = webp_exif_orientation(in->data, in->size);
    return 0;
}
