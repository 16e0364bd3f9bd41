/* jpeg.c — JPEG decoding with libjpeg(-turbo) configured as Pillow does (ISLOW DCT, fancy
 * upsampling, output colour space by component count, CMYK read as Adobe-inverted). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "image/decoders.h"
#include "image/exif.h"

/* Lives on the heap so that nothing longjmp skips over sits in an automatic variable. */
typedef struct JpegJob {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    jmp_buf escape;
    char message[JMSG_LENGTH_MAX];
    int allow_truncated;
    int truncated;        /* the data ended before the image */
    uint8_t *row; /* [width * components] scratch for gray and CMYK */
} JpegJob;

static void on_error(j_common_ptr cinfo)
{
    JpegJob *job = (JpegJob *)cinfo->client_data;
    (*cinfo->err->format_message)(cinfo, job->message);
    longjmp(job->escape, 1);
}

/* Warnings are ignored as Pillow ignores them, except running out of data: Pillow refuses a
 * truncated file where libjpeg would pad it with grey (kept when truncated files are allowed). */
static void on_message(j_common_ptr cinfo, int level)
{
    JpegJob *job = (JpegJob *)cinfo->client_data;
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF && !job->allow_truncated) {
        job->truncated = 1;
        longjmp(job->escape, 1);
    }
}

/* Pillow's cmyk2rgb on Adobe-inverted samples (rawmode "CMYK;I"). */
static void cmyk_inverted_to_rgb(const uint8_t *in, uint8_t *out, int width)
{
    for (int x = 0; x < width; x++, in += 4, out += 3) {
        unsigned nk = 255 - (255 - in[3]);
        for (int c = 0; c < 3; c++)
            out[c] = sg_cmyk_channel(255u - in[c], nk);
    }
}

static void gray_to_rgb(const uint8_t *in, uint8_t *out, int width)
{
    for (int x = 0; x < width; x++, out += 3)
        out[0] = out[1] = out[2] = in[x];
}

static int read_exif_orientation(struct jpeg_decompress_struct *cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0)
            return sg_exif_orientation(m->data, m->data_length);
    return 1;
}

/* Runs after setjmp: everything it allocates is reachable from job or out for the cleanup. */
static int decode_body(JpegJob *job, const SgDecodeInput *in, SgImage *out, int *orientation,
                       SgError *err)
{
    struct jpeg_decompress_struct *cinfo = &job->cinfo;
    jpeg_mem_src(cinfo, in->data, (unsigned long)in->size);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(cinfo, TRUE);
    int rc = sg_check_dimensions(in, cinfo->image_width, cinfo->image_height, err);
    if (rc)
        return rc;
    switch (cinfo->num_components) {
    case 1: cinfo->out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo->out_color_space = JCS_RGB; break;
    case 4: cinfo->out_color_space = JCS_CMYK; break;
    default:
        return sg_fail(err, SIGLIP_ENOTSUP, "%s: JPEG with %d components is not supported",
                       in->name, cinfo->num_components);
    }
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    *orientation = read_exif_orientation(cinfo);
    jpeg_start_decompress(cinfo);
    int w = (int)cinfo->output_width, h = (int)cinfo->output_height;
    int comps = cinfo->output_components;
    if ((rc = sg_image_alloc(out, w, h, err)))
        return rc;
    if (comps != 3 && !(job->row = malloc((size_t)w * comps)))
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    while ((int)cinfo->output_scanline < h) {
        uint8_t *dst = out->rgb + (size_t)cinfo->output_scanline * w * 3;
        JSAMPROW row = comps == 3 ? dst : job->row;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1)
            return sg_fail(err, SIGLIP_EBADMSG, "%s: JPEG data ended early", in->name);
        if (comps == 1)
            gray_to_rgb(job->row, dst, w);
        else if (comps == 4)
            cmyk_inverted_to_rgb(job->row, dst, w);
    }
    jpeg_finish_decompress(cinfo);
    return 0;
}

int sg_decode_jpeg(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    JpegJob *job = calloc(1, sizeof *job);
    if (!job)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    job->cinfo.err = jpeg_std_error(&job->jerr);
    job->jerr.error_exit = on_error;
    job->jerr.emit_message = on_message;
    job->cinfo.client_data = job;
    job->allow_truncated = in->allow_truncated;
    int rc;
    if (setjmp(job->escape)) {
        rc = job->truncated ? sg_truncated(in, err)
                            : sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt JPEG: %s", in->name,
                                      job->message);
    } else {
        jpeg_create_decompress(&job->cinfo);
        rc = decode_body(job, in, out, orientation, err);
    }
    jpeg_destroy_decompress(&job->cinfo);
    free(job->row);
    free(job);
    if (rc)
        sg_image_free(out);
    return rc;
}
