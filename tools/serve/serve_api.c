/* serve_api.c — the endpoints of `siglip serve` apart from HTTP: a request body in, a JSON answer
 * out. Inputs are prepared on the calling (host) thread with a kit, run on the device by the
 * batcher, and the answer is written here. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../cli.h"
#include "json_out.h"
#include "serve.h"

/* OpenAI's error types: its API answers every 4xx (a bad key and an unknown model included)
 * with "invalid_request_error" and its own failures with "server_error"; clients (the official
 * SDKs among them) branch on the status and these two names. */
static const char *error_type(int status)
{
    return status >= 500 ? "server_error" : "invalid_request_error";
}

static void reply_error_v(Reply *out, int status, const char *param, const char *code,
                          const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void reply_error_v(Reply *out, int status, const char *param, const char *code,
                          const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* One line: a library message may carry a kernel build log after its first line. */
    msg[strcspn(msg, "\r\n")] = '\0';
    FILE *f = open_memstream(&out->body, &out->len);
    out->status = status;
    out->type = "application/json";
    if (!f) {
        out->body = NULL;
        out->len = 0;
        return;
    }
    fputs("{\"error\": {\"message\": ", f);
    json_string(f, msg);
    fprintf(f, ", \"type\": \"%s\", \"param\": ", error_type(status));
    if (param && *param)
        json_string(f, param);
    else
        fputs("null", f);
    fputs(", \"code\": ", f);
    if (code)
        json_string(f, code);
    else
        fputs("null", f);
    fputs("}}\n", f);
    fclose(f);
}

void reply_error_at(Reply *out, int status, const char *param, const char *code,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_error_v(out, status, param, code, fmt, ap);
    va_end(ap);
}

void reply_error(Reply *out, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* OpenAI's code for a missing or wrong key; its other codes name causes this server does not
     * have, so they stay null. */
    reply_error_v(out, status, NULL, status == 401 ? "invalid_api_key" : NULL, fmt, ap);
    va_end(ap);
}

/* A 400 for a request body the parser refused, naming the field when it knows it. */
static void reply_parse_error(Reply *out, const ParseError *e)
{
    reply_error_at(out, 400, e->param, NULL, "%s", e->message);
}

/* Host-side buffers of one request's device work. */
typedef struct Work {
    int32_t *ids, *mask;     /* [n_text, T] */
    float *pixels;           /* [n_image, serve_image_floats] */
    int32_t *patch_mask;     /* NaFlex: [n_image, N] */
    int32_t *spatial_shapes; /* NaFlex: [n_image, 2] */
    float *text_out;         /* [n_text, Dp] */
    float *image_out;        /* [n_image, width]: embeds, or classifier logits */
    float *logits;           /* [n_image, n_text] zero-shot logits (the finish hook's) */
    int image_dims[2];       /* the last image's decoded width and height */
} Work;

static void work_free(Work *w)
{
    free(w->ids);
    free(w->mask);
    free(w->pixels);
    free(w->patch_mask);
    free(w->spatial_shapes);
    free(w->text_out);
    free(w->image_out);
    free(w->logits);
    memset(w, 0, sizeof *w);
}

static int work_alloc(Work *w, const SiglipModelInfo *info, int n_text, int n_image,
                      int image_width)
{
    size_t T = (size_t)info->text_max_positions, N = (size_t)info->max_patches;
    size_t nt = (size_t)n_text, ni = (size_t)n_image;
    memset(w, 0, sizeof *w);
    /* +1: malloc(0) may be NULL, and a request may have no texts or no images. */
    w->ids = malloc((nt * T + 1) * sizeof *w->ids);
    w->mask = malloc((nt * T + 1) * sizeof *w->mask);
    w->pixels = malloc((ni * serve_image_floats(info) + 1) * sizeof *w->pixels);
    w->patch_mask = malloc((ni * N + 1) * sizeof *w->patch_mask);
    w->spatial_shapes = malloc((ni * 2 + 1) * sizeof *w->spatial_shapes);
    w->text_out = malloc((nt * (size_t)info->projection_size + 1) * sizeof(float));
    w->image_out = malloc((ni * (size_t)image_width + 1) * sizeof(float));
    w->logits = malloc((ni * nt + 1) * sizeof(float));
    return w->ids && w->mask && w->pixels && w->patch_mask && w->spatial_shapes && w->text_out &&
                   w->image_out && w->logits
               ? 0
               : -1;
}

/* Decodes and preprocesses the images into w->pixels with the kit. On failure, a 400 reply
 * naming the image: what[index[i]].image when the images are some of a request's inputs (index
 * maps each to its input, so it is named as bad base64 is), else what[i]. */
static int prepare_images(const Service *svc, Kit *kit, const Bytes *const *images, int n,
                          const char *what, const int *index, Work *w, Reply *out)
{
    size_t per_image = serve_image_floats(&svc->info), N = (size_t)svc->info.max_patches;
    for (int i = 0; i < n; i++) {
        float *pixels = w->pixels + (size_t)i * per_image;
        SiglipPatches one = {(int)N, pixels, w->patch_mask + i * N, w->spatial_shapes + 2 * i};
        int st = N ? siglip_preprocess_memory_patches(kit->proc, images[i]->data,
                                                      images[i]->size, &one)
                   : siglip_preprocess_memory_size(kit->proc, images[i]->data, images[i]->size,
                                                   pixels, &w->image_dims[0],
                                                   &w->image_dims[1]);
        if (st && index) {
            reply_error(out, 400, "%s[%d].image: %s", what, index[i],
                        siglip_image_processor_error(kit->proc));
            return -1;
        }
        if (st) {
            reply_error(out, 400, "%s[%d]: %s", what, i, siglip_image_processor_error(kit->proc));
            return -1;
        }
    }
    return 0;
}

static int prepare_texts(const Service *svc, Kit *kit, const char *const *texts, int n, Work *w,
                         Reply *out)
{
    if (!n)
        return 0;
    int st = siglip_tokenize(kit->tok, texts, n, svc->info.text_max_positions, w->ids, w->mask);
    if (st) {
        reply_error(out, 400, "tokenizing: %s", siglip_tokenizer_error(kit->tok));
        return -1;
    }
    return 0;
}

/* Runs the job; on a deadline or a device failure fills a 504 / 500 reply. */
static int run_job(const Service *svc, Job *job, double deadline, Reply *out)
{
    if (batcher_run(svc->batcher, job, deadline)) {
        reply_error(out, 504, "the request's deadline (%.3g s) passed before the device ran it",
                    svc->lim.timeout_s);
        return -1;
    }
    for (int i = 0; i < job->n_units; i++)
        if (job->units[i].status) {
            reply_error(out, 500, "device: %s", job->units[i].error);
            return -1;
        }
    if (job->finish_status) {
        reply_error(out, 500, "device: %s", job->finish_error);
        return -1;
    }
    return 0;
}

/* The body of a 200 JSON answer as a stream (the caller closes it), or NULL after a 500 reply. */
static FILE *answer_open(Reply *out)
{
    FILE *f = open_memstream(&out->body, &out->len);
    if (!f) {
        reply_error(out, 500, "out of memory");
        return NULL;
    }
    out->status = 200;
    out->type = "application/json";
    return f;
}

/* Reserves queue room for n items: 1 when admitted, else 0 with a 503 (full now) or 413 (never
 * fits) reply. */
static int admit(const Service *svc, int n, Reply *out)
{
    int r = batcher_reserve(svc->batcher, n);
    if (r == -2)
        reply_error(out, 413, "the request has %d items; the queue holds at most %d", n,
                    svc->queue_capacity);
    else if (r)
        reply_error(out, 503, "the queue is full; retry later");
    return r == 0;
}

/* What one request hands to the device. */
typedef struct HostInputs {
    const char *const *texts;
    int n_text;
    const Bytes *const *images;
    int n_image;
    UnitKind image_kind;     /* UNIT_IMAGE (embeds) or UNIT_CLASSIFY (classifier logits) */
    const char *image_name;  /* how errors name the images ("image" → "image[3]") */
    const int *image_index;  /* NULL, or each image's input index ("input" → "input[5].image") */
} HostInputs;

/* Tokenizes and decodes the inputs into w with a kit (on this thread, overlapping the device's
 * work for other requests), then runs them as the job's units (text first). 0 when the job ran;
 * else out holds the error reply. */
static int prepare_and_run(const Service *svc, const HostInputs *in, Work *w, Job *job,
                           double deadline, Reply *out)
{
    Kit *kit = kit_acquire(svc->kits, deadline);
    if (!kit) {
        reply_error(out, 504, "the request's deadline passed while waiting for a host thread");
        return -1;
    }
    int bad = prepare_texts(svc, kit, in->texts, in->n_text, w, out) ||
              prepare_images(svc, kit, in->images, in->n_image, in->image_name, in->image_index, w,
                             out);
    kit_release(svc->kits, kit);
    if (bad)
        return -1;
    if (in->n_text)
        job->units[job->n_units++] = (Unit){.kind = UNIT_TEXT, .n = in->n_text, .ids = w->ids,
                                            .mask = w->mask, .out = w->text_out};
    if (in->n_image)
        job->units[job->n_units++] = (Unit){.kind = in->image_kind, .n = in->n_image,
                                            .pixels = w->pixels, .patch_mask = w->patch_mask,
                                            .spatial_shapes = w->spatial_shapes,
                                            .out = w->image_out};
    return run_job(svc, job, deadline, out);
}

/* ---- /v1/embeddings ---- */

static void write_embedding(FILE *f, const float *v, int dim, int base64)
{
    if (base64) {
        fputc('"', f);
        base64_write(f, v, (size_t)dim * sizeof *v); /* little-endian float32, as OpenAI's */
        fputc('"', f);
        return;
    }
    fputc('[', f);
    json_float_list(f, v, dim, ", ");
    fputc(']', f);
}

static void embeddings_answer(const Service *svc, const EmbedRequest *q, const Work *w,
                              Reply *out)
{
    FILE *f = answer_open(out);
    if (!f)
        return;
    size_t T = (size_t)svc->info.text_max_positions;
    int ti = 0, ii = 0;
    long tokens = 0;
    fputs("{\"object\": \"list\", \"data\": [", f);
    for (int i = 0; i < q->n; i++) {
        const float *v;
        int dim;
        if (q->inputs[i].text) {
            dim = svc->info.projection_size;
            v = w->text_out + (size_t)ti * (size_t)dim;
            for (size_t k = 0; k < T; k++)
                tokens += w->mask[(size_t)ti * T + k];
            ti++;
        } else {
            dim = svc->info.vision_hidden_size;
            v = w->image_out + (size_t)ii++ * (size_t)dim;
        }
        fprintf(f, "%s{\"object\": \"embedding\", \"index\": %d, \"embedding\": ", i ? ", " : "",
                i);
        write_embedding(f, v, dim, q->base64_output);
        fputc('}', f);
    }
    fputs("], \"model\": ", f);
    json_string(f, svc->model_name);
    fprintf(f, ", \"usage\": {\"prompt_tokens\": %ld, \"total_tokens\": %ld}}\n", tokens, tokens);
    fclose(f);
}

/* Splits the inputs into texts and images (borrowed pointers, input order kept); index[k] is
 * the input index of image k, by which an error names it. */
static int split_inputs(const EmbedRequest *q, const char ***texts, const Bytes ***images,
                        int **index, int *n_text, int *n_image)
{
    *texts = malloc(((size_t)q->n + 1) * sizeof **texts);
    *images = malloc(((size_t)q->n + 1) * sizeof **images);
    *index = malloc(((size_t)q->n + 1) * sizeof **index);
    if (!*texts || !*images || !*index)
        return -1;
    *n_text = *n_image = 0;
    for (int i = 0; i < q->n; i++) {
        if (q->inputs[i].text) {
            (*texts)[(*n_text)++] = q->inputs[i].text;
        } else {
            (*index)[*n_image] = i;
            (*images)[(*n_image)++] = &q->inputs[i].image;
        }
    }
    return 0;
}

static int check_embed_model(const Service *svc, int n_text, int n_image, Reply *out)
{
    if (n_text && (svc->info.architecture != SIGLIP_ARCH_MODEL || !svc->info.has_tokenizer)) {
        reply_error(out, 400, "this model cannot embed texts (%s)",
                    svc->info.architecture != SIGLIP_ARCH_MODEL ? "it has no text tower"
                                                                 : "it has no tokenizer");
        return -1;
    }
    if (n_image && svc->info.architecture != SIGLIP_ARCH_MODEL) {
        reply_error(out, 400, "this image-classification model has no image embedding head; "
                    "use /v1/classify");
        return -1;
    }
    return 0;
}

/* OpenAI's "dimensions" shortens its newer models' embeddings; these have one size (a text's
 * projection_size, an image's vision_hidden_size). Asking for exactly that size is accepted. */
static int check_dimensions(const Service *svc, const EmbedRequest *q, int n_text, Reply *out)
{
    int dt = svc->info.projection_size, di = svc->info.vision_hidden_size;
    int bad_text = n_text && q->dimensions != dt, bad_image = q->n > n_text && q->dimensions != di;
    if (!q->dimensions || (!bad_text && !bad_image))
        return 0;
    reply_error_at(out, 400, "dimensions", NULL, "dimensions is not supported: this model's "
                   "%s embeddings have %d dimensions", bad_text ? "text" : "image",
                   bad_text ? dt : di);
    return -1;
}

/* The host half of a request once admitted: prepare with a kit, run, answer. */
static void embed_admitted(const Service *svc, const EmbedRequest *q, double deadline,
                           Reply *out)
{
    const char **texts = NULL;
    const Bytes **images = NULL;
    int *index = NULL, nt = 0, ni = 0;
    Work w = {0}; /* freed below even when split_inputs fails before work_alloc */
    if (split_inputs(q, &texts, &images, &index, &nt, &ni) ||
        work_alloc(&w, &svc->info, nt, ni, svc->info.vision_hidden_size)) {
        reply_error(out, 500, "out of memory");
    } else {
        HostInputs in = {texts, nt, images, ni, UNIT_IMAGE, "input", index};
        Job job = {0};
        if (!prepare_and_run(svc, &in, &w, &job, deadline, out))
            embeddings_answer(svc, q, &w, out);
    }
    free(texts);
    free(images);
    free(index);
    work_free(&w);
}

void api_embeddings(const Service *svc, const char *content_type, const unsigned char *body,
                    size_t size, double t0, Reply *out)
{
    EmbedRequest q;
    ParseError err = {0};
    if (parse_embed_request(content_type, body, size, &svc->lim, &q, &err)) {
        reply_parse_error(out, &err);
        embed_request_free(&q);
        return;
    }
    int nt = 0;
    for (int i = 0; i < q.n; i++)
        nt += q.inputs[i].text != NULL;
    if (!check_embed_model(svc, nt, q.n - nt, out) && !check_dimensions(svc, &q, nt, out)) {
        if (admit(svc, q.n, out)) {
            embed_admitted(svc, &q, t0 + svc->lim.timeout_s, out);
            batcher_release(svc->batcher, q.n);
        }
    }
    embed_request_free(&q);
}

/* ---- /v1/models ---- */

void api_models(const Service *svc, Reply *out)
{
    FILE *f = answer_open(out);
    if (!f)
        return;
    /* OpenAI's list of Model objects; "created" is unknown for a model directory: 0. */
    fputs("{\"object\": \"list\", \"data\": [{\"id\": ", f);
    json_string(f, svc->model_name);
    fputs(", \"object\": \"model\", \"created\": 0, \"owned_by\": \"siglip\"}]}\n", f);
    fclose(f);
}

void api_model(const Service *svc, const char *id, Reply *out)
{
    if (strcmp(id, svc->model_name)) {
        reply_error_at(out, 404, NULL, "model_not_found", "The model '%.200s' does not exist "
                       "(this server has '%.200s')", id, svc->model_name);
        return;
    }
    FILE *f = answer_open(out);
    if (!f)
        return;
    fputs("{\"id\": ", f);
    json_string(f, svc->model_name);
    fputs(", \"object\": \"model\", \"created\": 0, \"owned_by\": \"siglip\"}\n", f);
    fclose(f);
}

/* ---- /v1/classify ---- */

/* Zero-shot logits_per_image [n_image, n_label] from both towers' embeds; runs on the worker. */
static int zero_shot_finish(SiglipModel *model, Job *job, char *error, size_t size)
{
    Work *w = job->finish_arg;
    const Unit *text = &job->units[0], *image = &job->units[1];
    int st = siglip_logits(model, text->out, text->n, image->out, image->n, w->logits, NULL);
    if (st)
        snprintf(error, size, "logits: %s", siglip_strerror(st));
    return st;
}

static void classify_answer(const Service *svc, const ClassifyRequest *q, const float *logits,
                            Reply *out)
{
    int zero_shot = q->n_labels > 0;
    int L = zero_shot ? q->n_labels : svc->info.num_labels;
    int k = q->top_k > 0 && q->top_k < L ? q->top_k : L;
    SiglipScore *r = malloc((size_t)L * sizeof *r);
    FILE *f = r ? answer_open(out) : NULL;
    if (!r)
        reply_error(out, 500, "out of memory");
    if (!f) {
        free(r);
        return;
    }
    if (!q->single)
        fputc('[', f);
    for (int i = 0; i < q->n_images; i++) {
        siglip_score_logits(logits + (size_t)i * (size_t)L, L,
                            zero_shot ? SIGLIP_SCORE_SIGMOID
                                      : (SiglipScoring)svc->info.class_scoring,
                            r);
        fputs(i ? ", [" : "[", f);
        for (int j = 0; j < k; j++) {
            fputs(j ? ", {\"score\": " : "{\"score\": ", f);
            json_float(f, r[j].score);
            fputs(", \"label\": ", f);
            json_string(f, zero_shot ? q->labels[r[j].label] : svc->class_names[r[j].label]);
            fputc('}', f);
        }
        fputc(']', f);
    }
    fputs(q->single ? "\n" : "]\n", f);
    fclose(f);
    free(r);
}

static int check_classify_model(const Service *svc, const ClassifyRequest *q, Reply *out)
{
    if (q->n_labels && svc->info.architecture != SIGLIP_ARCH_MODEL) {
        reply_error(out, 400, "this image-classification model has its own %d classes: leave "
                    "out candidate_labels", svc->info.num_labels);
        return -1;
    }
    if (q->n_labels && !svc->info.has_tokenizer) {
        reply_error(out, 400, "this model has no tokenizer: it cannot read candidate_labels");
        return -1;
    }
    if (!q->n_labels && svc->info.architecture == SIGLIP_ARCH_MODEL) {
        reply_error(out, 400, "\"candidate_labels\" is required (the model has no classifier of "
                    "its own)");
        return -1;
    }
    return 0;
}

static void classify_admitted(const Service *svc, const ClassifyRequest *q, double deadline,
                              Reply *out)
{
    int L = q->n_labels, n = q->n_images, zero_shot = L > 0;
    CliList texts = {0};
    const Bytes **images = malloc(((size_t)n + 1) * sizeof *images);
    Work w;
    int bad = work_alloc(&w, &svc->info, L, n,
                         zero_shot ? svc->info.vision_hidden_size : svc->info.num_labels) ||
              cli_list_format_labels(&texts, q->template_, q->labels, L);
    for (int i = 0; images && i < n; i++)
        images[i] = &q->images[i];
    if (bad || !images) {
        reply_error(out, 500, "out of memory");
    } else {
        HostInputs in = {(const char *const *)texts.items, L, images, n,
                         zero_shot ? UNIT_IMAGE : UNIT_CLASSIFY, "image", NULL};
        /* Zero-shot: once both towers ran, the worker turns the embeds into logits. */
        Job job = {.finish = zero_shot ? zero_shot_finish : NULL, .finish_arg = &w};
        if (!prepare_and_run(svc, &in, &w, &job, deadline, out))
            classify_answer(svc, q, zero_shot ? w.logits : w.image_out, out);
    }
    cli_list_free(&texts);
    free(images);
    work_free(&w);
}

void api_classify(const Service *svc, const char *content_type, const unsigned char *body,
                  size_t size, double t0, Reply *out)
{
    ClassifyRequest q;
    ParseError err = {0};
    if (parse_classify_request(content_type, body, size, &svc->lim, &q, &err)) {
        reply_parse_error(out, &err);
    } else if (!check_classify_model(svc, &q, out)) {
        int items = q.n_images + q.n_labels;
        if (admit(svc, items, out)) {
            classify_admitted(svc, &q, t0 + svc->lim.timeout_s, out);
            batcher_release(svc->batcher, items);
        }
    }
    classify_request_free(&q);
}

/* ---- /v1/search ---- */

/* Embeds the query (a text with the tokenizer, an image with the processor) through the device
 * batcher like any other request, then ranks the index against it. */
static void search_admitted(const Service *svc, const SearchRequest *q, double deadline,
                            Reply *out)
{
    int is_text = q->query.text != NULL;
    const char *text = q->query.text;
    const Bytes *image = &q->query.image;
    Work w;
    char err[512];
    if (work_alloc(&w, &svc->info, is_text, !is_text, svc->info.vision_hidden_size)) {
        reply_error(out, 500, "out of memory");
        work_free(&w);
        return;
    }
    HostInputs in = {&text, is_text, &image, !is_text, UNIT_IMAGE, "query.image", NULL};
    Job job = {0};
    FILE *f = prepare_and_run(svc, &in, &w, &job, deadline, out) ? NULL : answer_open(out);
    if (f) {
        fputc('[', f);
        int rc = search_index_answer(svc->index, is_text ? w.text_out : w.image_out, q->top_k,
                                     f, err, sizeof err);
        fputs("]\n", f);
        fclose(f);
        if (rc) {
            free(out->body);
            reply_error(out, 500, "%s", err);
        }
    }
    work_free(&w);
}

void api_search(const Service *svc, const char *content_type, const unsigned char *body,
                size_t size, double t0, Reply *out)
{
    SearchRequest q;
    ParseError err = {0};
    if (parse_search_request(content_type, body, size, &q, &err)) {
        reply_parse_error(out, &err);
        search_request_free(&q);
        return;
    }
    int is_text = q.query.text != NULL;
    if (check_embed_model(svc, is_text, !is_text, out)) {
        /* out holds the reason */
    } else if (is_text && svc->info.projection_size != svc->info.vision_hidden_size) {
        reply_error(out, 400, "this model's text embeddings (%d floats) can't be compared with "
                    "its image embeddings (%d)", svc->info.projection_size,
                    svc->info.vision_hidden_size);
    } else if (admit(svc, 1, out)) {
        search_admitted(svc, &q, t0 + svc->lim.timeout_s, out);
        batcher_release(svc->batcher, 1);
    }
    search_request_free(&q);
}

/* ---- one embedding (serve_immich.c) ---- */

int api_embed_one(const Service *svc, const char *text, const Bytes *image, double deadline,
                  float *emb, int dims[2], Reply *out)
{
    int is_text = text != NULL;
    if (check_embed_model(svc, is_text, !is_text, out) || !admit(svc, 1, out))
        return -1;
    Work w;
    int rc = -1;
    if (work_alloc(&w, &svc->info, is_text, !is_text, svc->info.vision_hidden_size)) {
        reply_error(out, 500, "out of memory");
    } else {
        HostInputs in = {&text, is_text, &image, !is_text, UNIT_IMAGE, "image", NULL};
        Job job = {0};
        rc = prepare_and_run(svc, &in, &w, &job, deadline, out);
        if (rc == 0) {
            size_t dim = (size_t)(is_text ? svc->info.projection_size
                                          : svc->info.vision_hidden_size);
            memcpy(emb, is_text ? w.text_out : w.image_out, dim * sizeof *emb);
            dims[0] = w.image_dims[0];
            dims[1] = w.image_dims[1];
        }
    }
    work_free(&w);
    batcher_release(svc->batcher, 1);
    return rc;
}
