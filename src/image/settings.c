/* settings.c — SiglipImageProcessor settings: the reference defaults and parsing of
 * preprocessor_config.json (flat) / processor_config.json ({"image_processor": {...}}), and of
 * Immich's preprocess_cfg.json. */
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "image/image.h"

void sg_image_settings_default(SgImageSettings *s)
{
    memset(s, 0, sizeof *s);
    s->do_resize = 1;
    s->height = s->width = 224;
    s->resample = 3;
    s->do_rescale = 1;
    s->rescale_factor = 1.0 / 255.0;
    s->do_normalize = 1;
    for (int c = 0; c < 3; c++)
        s->image_mean[c] = s->image_std[c] = 0.5f;
    s->do_convert_rgb = 1;
    s->patch_size = 16;
    s->max_num_patches = 256;
}

/* A key that is absent or null keeps its default. */
static const cJSON *get(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static int get_bool(const cJSON *obj, const char *key, int *dst, const char *name, SgError *err)
{
    const cJSON *v = get(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v))
        return sg_fail(err, SIGLIP_EBADMSG, "%s: \"%s\" is not a boolean", name, key);
    *dst = cJSON_IsTrue(v);
    return 0;
}

static int get_positive_int(const cJSON *v, const char *key, int *dst, const char *name,
                            SgError *err)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 65535 ||
        v->valuedouble != (double)(int)v->valuedouble)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: \"%s\" is not an integer in 1..65535", name, key);
    *dst = (int)v->valuedouble;
    return 0;
}

/* image_mean / image_std: three numbers, or one number for all channels. */
static int get_triple(const cJSON *obj, const char *key, float dst[3], const char *name,
                      SgError *err)
{
    const cJSON *v = get(obj, key);
    if (!v)
        return 0;
    if (cJSON_IsNumber(v)) {
        dst[0] = dst[1] = dst[2] = (float)v->valuedouble;
        return 0;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 3)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: \"%s\" must hold 3 numbers", name, key);
    for (int c = 0; c < 3; c++) {
        const cJSON *e = cJSON_GetArrayItem(v, c);
        if (!cJSON_IsNumber(e))
            return sg_fail(err, SIGLIP_EBADMSG, "%s: \"%s\" must hold 3 numbers", name, key);
        dst[c] = (float)e->valuedouble;
    }
    return 0;
}

/* size: {"height": h, "width": w}, or a bare integer for a square. A size without both (transformers
 * 5's shortest_edge / longest_edge resize, keeping each image's aspect ratio) sets *other_size:
 * refused for a fixed-size processor, unused by Siglip2's (its size is the patch budget's). */
static int get_size(const cJSON *obj, SgImageSettings *s, int *other_size, const char *name,
                    SgError *err)
{
    const cJSON *v = get(obj, "size");
    if (!v)
        return 0;
    if (cJSON_IsNumber(v)) {
        int rc = get_positive_int(v, "size", &s->height, name, err);
        s->width = s->height;
        return rc;
    }
    if (!cJSON_IsObject(v))
        return sg_fail(err, SIGLIP_EBADMSG, "%s: \"size\" is not an object", name);
    const cJSON *h = get(v, "height"), *w = get(v, "width");
    if (!h || !w) {
        *other_size = 1;
        return 0;
    }
    int rc = get_positive_int(h, "size.height", &s->height, name, err);
    return rc ? rc : get_positive_int(w, "size.width", &s->width, name, err);
}

static int parse_object(const cJSON *o, const char *name, SgImageSettings *s, SgError *err)
{
    int rc, other_size = 0;
    if ((rc = get_bool(o, "do_resize", &s->do_resize, name, err)) ||
        (rc = get_bool(o, "do_rescale", &s->do_rescale, name, err)) ||
        (rc = get_bool(o, "do_normalize", &s->do_normalize, name, err)) ||
        (rc = get_bool(o, "do_convert_rgb", &s->do_convert_rgb, name, err)) ||
        (rc = get_size(o, s, &other_size, name, err)) ||
        (rc = get_triple(o, "image_mean", s->image_mean, name, err)) ||
        (rc = get_triple(o, "image_std", s->image_std, name, err)))
        return rc;
    /* transformers 5's PIL backend would crop or pad after the resize when told to; no SigLIP
     * checkpoint's processor does, and silently skipping it would give other pixels */
    static const char *const unsupported[] = {"do_center_crop", "do_pad"};
    for (size_t k = 0; k < sizeof unsupported / sizeof *unsupported; k++) {
        int on = 0;
        if ((rc = get_bool(o, unsupported[k], &on, name, err)))
            return rc;
        if (on)
            return sg_fail(err, SIGLIP_ENOTSUP, "%s: \"%s\": true is not supported (SigLIP's "
                           "processors resize without cropping or padding)", name, unsupported[k]);
    }
    const cJSON *v = get(o, "rescale_factor");
    if (v) {
        if (!cJSON_IsNumber(v))
            return sg_fail(err, SIGLIP_EBADMSG, "%s: \"rescale_factor\" is not a number", name);
        s->rescale_factor = v->valuedouble;
    }
    if ((v = get(o, "resample"))) {
        if (!cJSON_IsNumber(v))
            return sg_fail(err, SIGLIP_EBADMSG, "%s: \"resample\" is not a number", name);
        /* Compared as a double: casting an out-of-range value such as 1e300 to int is undefined
         * behaviour (found by fuzz/fuzz_image_settings). */
        double r = v->valuedouble;
        if (!(r >= SG_RESAMPLE_NEAREST && r <= SG_RESAMPLE_HAMMING) || r != (double)(int)r)
            return sg_fail(err, SIGLIP_ENOTSUP,
                           "%s: resample %g is not a PIL filter (0 nearest, 1 lanczos, "
                           "2 bilinear, 3 bicubic, 4 box, 5 hamming)", name, r);
        s->resample = (int)r;
        s->resample_given = 1;
    }
    /* Siglip2ImageProcessor (NaFlex): a patch budget instead of a size. The class the config
     * names decides (transformers ignores a SiglipImageProcessor's stray max_num_patches);
     * without one, a max_num_patches makes it Siglip2's. */
    const cJSON *type = get(o, "image_processor_type");
    if ((v = get(o, "max_num_patches"))) {
        if ((rc = get_positive_int(v, "max_num_patches", &s->max_num_patches, name, err)))
            return rc;
        s->naflex = 1;
    }
    if (cJSON_IsString(type))
        s->naflex = strncmp(type->valuestring, "Siglip2ImageProcessor", 21) == 0;
    if ((v = get(o, "patch_size")) &&
        (rc = get_positive_int(v, "patch_size", &s->patch_size, name, err)))
        return rc;
    s->patch_size_given = v != NULL;
    if (other_size && !s->naflex)
        return sg_fail(err, SIGLIP_ENOTSUP,
                       "%s: \"size\" must give height and width (a shortest_edge / longest_edge "
                       "resize keeps each image's aspect ratio, giving pixel_values of varying "
                       "sizes, which the fixed-size vision tower does not take)", name);
    /* transformers 5's Siglip2ImageProcessor(Pil) resamples bilinear unless told otherwise
     * (SiglipImageProcessor bicubic) */
    if (s->naflex && !s->resample_given)
        s->resample = SG_RESAMPLE_BILINEAR;
    for (int c = 0; c < 3; c++)
        if (s->do_normalize && s->image_std[c] == 0.0f)
            return sg_fail(err, SIGLIP_EBADMSG, "%s: image_std has a zero", name);
    return 0;
}

int sg_image_settings_parse(const char *json, const char *name, SgImageSettings *s, SgError *err)
{
    sg_image_settings_default(s);
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: invalid JSON", name);
    int rc;
    const cJSON *o = root;
    const cJSON *nested = cJSON_GetObjectItemCaseSensitive(root, "image_processor");
    if (nested && cJSON_IsObject(nested))
        o = nested;
    if (!cJSON_IsObject(o))
        rc = sg_fail(err, SIGLIP_EBADMSG, "%s: not a JSON object", name);
    else
        rc = parse_object(o, name, s, err);
    cJSON_Delete(root);
    return rc;
}

/* Pillow's Image.Resampling names, lowercased as Immich's get_pil_resampling compares them, in
 * filter-id order (SgResample). */
static const char *const resampling_names[] = {"nearest", "lanczos", "bilinear",
                                               "bicubic", "box",     "hamming"};

static int immich_interpolation(const cJSON *o, SgImageSettings *s, const char *name,
                                SgError *err)
{
    const cJSON *v = get(o, "interpolation");
    if (!v)
        return 0;
    if (!cJSON_IsString(v))
        return sg_fail(err, SIGLIP_EBADMSG, "%s: \"interpolation\" is not a string", name);
    for (int i = 0; i < (int)(sizeof resampling_names / sizeof *resampling_names); i++)
        if (!strcasecmp(v->valuestring, resampling_names[i])) {
            s->resample = i;
            return 0;
        }
    return sg_fail(err, SIGLIP_ENOTSUP, "%s: interpolation \"%.40s\" is not a PIL filter "
                   "(nearest, lanczos, bilinear, bicubic, box, hamming)", name, v->valuestring);
}

/* size: a number, or a list whose first entry is taken (Immich's `size[0]`). */
static int immich_size(const cJSON *o, SgImageSettings *s, const char *name, SgError *err)
{
    const cJSON *v = get(o, "size");
    if (!v)
        return 0;
    if (cJSON_IsArray(v))
        v = cJSON_GetArrayItem(v, 0);
    int rc = get_positive_int(v, "size", &s->height, name, err);
    s->width = s->height;
    return rc;
}

static int immich_resize_mode(const cJSON *o, SgImageSettings *s, const char *name, SgError *err)
{
    const cJSON *v = get(o, "resize_mode");
    s->immich_crop = 1; /* Immich's default for configs that name no mode */
    if (!v)
        return 0;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "shortest"))
        return 0;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "squash")) {
        s->immich_crop = 0;
        return 0;
    }
    return sg_fail(err, SIGLIP_ENOTSUP, "%s: resize_mode %s%.40s%s is not supported (Immich "
                   "knows \"shortest\" and \"squash\")", name, cJSON_IsString(v) ? "\"" : "",
                   cJSON_IsString(v) ? v->valuestring : "(not a string)",
                   cJSON_IsString(v) ? "\"" : "");
}

int sg_image_settings_parse_immich(const char *json, const char *name, SgImageSettings *s,
                                   SgError *err)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: invalid JSON", name);
    SgImageSettings t = *s;
    int rc;
    if (!cJSON_IsObject(root))
        rc = sg_fail(err, SIGLIP_EBADMSG, "%s: not a JSON object", name);
    else if (!(rc = immich_size(root, &t, name, err)) &&
             !(rc = get_triple(root, "mean", t.image_mean, name, err)) &&
             !(rc = get_triple(root, "std", t.image_std, name, err)) &&
             !(rc = immich_interpolation(root, &t, name, err)))
        rc = immich_resize_mode(root, &t, name, err);
    for (int c = 0; c < 3 && !rc; c++)
        if (t.image_std[c] == 0.0f)
            rc = sg_fail(err, SIGLIP_EBADMSG, "%s: std has a zero", name);
    cJSON_Delete(root);
    if (!rc) {
        t.immich = 1;
        *s = t;
    }
    return rc;
}

void sg_immich_resized_size(int width, int height, int size, int *w, int *h)
{
    /* Python: int((img.height / img.width) * size), a float64 quotient truncated toward zero */
    double side = width < height ? (double)height / width * size : (double)width / height * size;
    /* capped so that the cast is defined; the caller's pixel limit refuses such a size anyway */
    int other = side > (double)(1 << 30) ? 1 << 30 : (int)side;
    *w = width < height ? size : other;
    *h = width < height ? other : size;
}
