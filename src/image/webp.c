/* webp.c — WebP decoding (lossy and lossless; of an animation the first frame, composed on its
 * canvas by libwebpdemux's WebPAnimDecoder as Pillow does) with libwebp, and the EXIF chunk of
 * the RIFF container for the orientation Pillow applies. */
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

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

/* The first frame of an animation as WebPAnimDecoder renders it in RGBA (Pillow's mode), alpha
 * then dropped by convert("RGB"). */
static int decode_first_frame(const SgDecodeInput *in, SgImage *out, SgError *err)
{
    WebPAnimDecoderOptions opt;
    if (!WebPAnimDecoderOptionsInit(&opt))
        return sg_fail(err, SIGLIP_ENOTSUP, "%s: libwebpdemux version mismatch", in->name);
    opt.color_mode = MODE_RGBA;
    opt.use_threads = 0;
    WebPData data = {in->data, in->size};
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&data, &opt);
    if (!dec)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt animated WebP", in->name);
    WebPAnimInfo info;
    uint8_t *rgba = NULL;
    int timestamp, rc = WebPAnimDecoderGetInfo(dec, &info) ? 0 : SIGLIP_EBADMSG;
    if (rc == 0)
        rc = sg_check_dimensions(in, info.canvas_width, info.canvas_height, err);
    else
        sg_fail(err, rc, "%s: corrupt animated WebP", in->name);
    if (rc == 0 && !WebPAnimDecoderGetNext(dec, &rgba, &timestamp))
        rc = sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt or truncated animated WebP", in->name);
    if (rc == 0)
        rc = sg_image_alloc(out, (int)info.canvas_width, (int)info.canvas_height, err);
    if (rc == 0) {
        size_t n = (size_t)info.canvas_width * info.canvas_height;
        for (size_t i = 0; i < n; i++)
            memcpy(out->rgb + 3 * i, rgba + 4 * i, 3);
    }
    WebPAnimDecoderDelete(dec);
    return rc;
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
    if (features.has_animation) {
        rc = decode_first_frame(in, out, err);
        if (rc == 0)
            *orientation = webp_exif_orientation(in->data, in->size);
        return rc;
    }
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
