/* install_example.c — a user's program built against the installed library through pkg-config:
 * loads a model directory, embeds one text and one image, prints their logit. */
#include <stdio.h>
#include <stdlib.h>

#include <siglip.h>

static int fail(SiglipContext *ctx, int status, const char *what)
{
    fprintf(stderr, "install_example: %s: %s\n", what,
            ctx && *siglip_context_error(ctx) ? siglip_context_error(ctx) : siglip_strerror(status));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: install_example MODEL_DIR IMAGE TEXT DEVICE\n");
        return 2;
    }
    SiglipSettings settings;
    siglip_default_settings(&settings);
    settings.device = argv[4];
    SiglipContext *ctx = NULL;
    SiglipModel *model = NULL;
    int st = siglip_context_create(&ctx, &settings);
    if (st)
        return fail(NULL, st, "context");
    if ((st = siglip_model_load(ctx, argv[1], &model)))
        return fail(ctx, st, "load");

    SiglipModelInfo info;
    siglip_model_info(model, &info);
    int len = info.text_max_positions, h = 0, w = 0;
    siglip_image_processor_size(siglip_model_image_processor(model), &h, &w);
    int32_t *ids = malloc(sizeof *ids * (size_t)len), *mask = malloc(sizeof *mask * (size_t)len);
    float *pixels = malloc(sizeof *pixels * 3 * (size_t)h * (size_t)w);
    float *text_embeds = malloc(sizeof(float) * (size_t)info.projection_size);
    float *image_embeds = malloc(sizeof(float) * (size_t)info.vision_hidden_size);
    if (!ids || !mask || !pixels || !text_embeds || !image_embeds)
        return fail(ctx, SIGLIP_ENOMEM, "malloc");

    const char *text = argv[3], *image = argv[2];
    SiglipTextOutput tout = {NULL, text_embeds, NULL};
    SiglipImageOutput iout = {NULL, image_embeds, NULL};
    float logit = 0;
    if ((st = siglip_tokenize(siglip_model_tokenizer(model), &text, 1, len, ids, mask)) ||
        (st = siglip_encode_text(model, ids, mask, 1, &tout)) ||
        (st = siglip_preprocess_files(siglip_model_image_processor(model), &image, 1, pixels)) ||
        (st = siglip_encode_image(model, pixels, 1, &iout)) ||
        (st = siglip_logits(model, text_embeds, 1, image_embeds, 1, &logit, NULL)))
        return fail(ctx, st, "forward");
    printf("libsiglip %s logit %.9g\n", siglip_version_string(), logit);

    free(ids);
    free(mask);
    free(pixels);
    free(text_embeds);
    free(image_embeds);
    siglip_model_free(&model);
    siglip_context_close(&ctx);
    return 0;
}
