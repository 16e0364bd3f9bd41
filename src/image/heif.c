/* heif.c — HEIF/HEIC and AVIF (an extension: Pillow and transformers read neither) through
 * libheif: the primary image with its transformations (irot rotation, imir mirror, clap crop)
 * applied as the HEIF format prescribes (EXIF orientation in these files is ignored, as libheif
 * and heif-convert ignore it), converted by libheif to 8-bit RGB, alpha dropped. */
#include <string.h>

#include <libheif/heif.h>

#include "image/decoders.h"

static int heif_failed(const SgDecodeInput *in, struct heif_error e, SgError *err)
{
    int code = e.code == heif_error_Unsupported_filetype || e.code == heif_error_Unsupported_feature
                   ? SIGLIP_ENOTSUP
               : e.code == heif_error_Memory_allocation_error ? SIGLIP_ENOMEM
                                                              : SIGLIP_EBADMSG;
    return sg_fail(err, code, "%s: HEIF/AVIF: %s", in->name,
                   e.message && e.message[0] ? e.message : "cannot decode");
}

/* The decoded primary image (transformations applied) as interleaved 8-bit RGB. */
static int decode_primary(const SgDecodeInput *in, struct heif_image_handle *h, SgImage *out,
                          SgError *err)
{
    int rc = sg_check_dimensions(in, heif_image_handle_get_width(h),
                                 heif_image_handle_get_height(h), err);
    if (rc)
        return rc;
    struct heif_decoding_options *opt = heif_decoding_options_alloc();
    if (!opt)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    opt->convert_hdr_to_8bit = 1;
    struct heif_image *img = NULL;
    struct heif_error e = heif_decode_image(h, &img, heif_colorspace_RGB,
                                            heif_chroma_interleaved_RGB, opt);
    heif_decoding_options_free(opt);
    if (e.code != heif_error_Ok)
        return heif_failed(in, e, err);
    int w = heif_image_get_width(img, heif_channel_interleaved);
    int hh = heif_image_get_height(img, heif_channel_interleaved), stride = 0;
    const uint8_t *px = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    if (!px || heif_image_get_bits_per_pixel_range(img, heif_channel_interleaved) != 8)
        rc = sg_fail(err, SIGLIP_EBADMSG, "%s: HEIF/AVIF: no 8-bit RGB plane", in->name);
    else if ((rc = sg_check_dimensions(in, w, hh, err)) == 0 &&
             (rc = sg_image_alloc(out, w, hh, err)) == 0)
        for (int y = 0; y < hh; y++)
            memcpy(out->rgb + (size_t)y * w * 3, px + (size_t)y * stride, (size_t)w * 3);
    heif_image_release(img);
    return rc;
}

int sg_decode_heif(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    struct heif_context *ctx = heif_context_alloc();
    if (!ctx)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    struct heif_image_handle *h = NULL;
    struct heif_error e = heif_context_read_from_memory_without_copy(ctx, in->data, in->size,
                                                                     NULL);
    if (e.code == heif_error_Ok)
        e = heif_context_get_primary_image_handle(ctx, &h);
    int rc = e.code != heif_error_Ok ? heif_failed(in, e, err) : decode_primary(in, h, out, err);
    if (h)
        heif_image_handle_release(h);
    heif_context_free(ctx);
    if (rc)
        sg_image_free(out);
    return rc;
}
