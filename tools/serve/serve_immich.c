/* serve_immich.c — `siglip serve --immich`: Immich's machine-learning API (immich_ml/main.py as
 * Immich's server calls it: GET /ping, GET /, POST /predict with multipart "entries" + "image" or
 * "text") on the batching machinery of /v1/embeddings, and the table of Immich model names. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../cli.h"
#include "json_out.h"
#include "serve.h"

/* The most parts a /predict form may have: Immich sends two (entries, and image or text). */
#define IMMICH_MAX_PARTS 8

/* Immich's clean_name: the last "/" component, ':' and '\\' as '_', dots dropped. */
static void clean_name(const char *name, char *out, size_t size)
{
    const char *slash = strrchr(name, '/');
    size_t n = 0;
    for (const char *p = slash ? slash + 1 : name; *p && n + 1 < size; p++)
        if (*p != '.')
            out[n++] = *p == ':' || *p == '\\' ? '_' : *p;
    out[n] = '\0';
}

/* ---- the name table ---- */

void immich_free(Immich *im)
{
    for (int i = 0; im && i < im->n; i++) {
        free(im->models[i].name);
        free(im->models[i].dir);
    }
    if (im) {
        free(im->models);
        memset(im, 0, sizeof *im);
    }
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    if (n < 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* One entry `name: {"model": DIR, "clean": ...}`; dir relative to base. 0, or an error line. */
static int table_entry(const cJSON *e, const char *path, const char *base, ImmichModel *m)
{
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(e, "model");
    const cJSON *clean = cJSON_GetObjectItemCaseSensitive(e, "clean");
    if (!cJSON_IsObject(e) || !cJSON_IsString(dir) || !*dir->valuestring)
        return cli_error("serve: --immich-models %s: \"%s\" needs {\"model\": DIRECTORY}", path,
                         e->string);
    m->canonicalize = 1;
    if (clean && !(cJSON_IsString(clean) && (!strcmp(clean->valuestring, "canonicalize") ||
                                             !strcmp(clean->valuestring, "none"))))
        return cli_error("serve: --immich-models %s: \"%s\": \"clean\" must be \"canonicalize\" "
                         "or \"none\"", path, e->string);
    if (clean && !strcmp(clean->valuestring, "none"))
        m->canonicalize = 0;
    size_t len = strlen(base) + strlen(dir->valuestring) + 2;
    m->name = strdup(e->string);
    m->dir = malloc(len);
    if (!m->name || !m->dir)
        return cli_error("serve: out of memory");
    if (dir->valuestring[0] == '/')
        snprintf(m->dir, len, "%s", dir->valuestring);
    else
        snprintf(m->dir, len, "%s/%s", base, dir->valuestring);
    return CLI_OK;
}

int immich_table_load(const char *path, Immich *out)
{
    memset(out, 0, sizeof *out);
    char *text = read_text(path), *copy = strdup(path);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    int rc = CLI_OK, n = cJSON_GetArraySize(root);
    if (!text || !copy)
        rc = cli_error("serve: --immich-models %s: cannot read it", path);
    else if (!cJSON_IsObject(root) || n < 1)
        rc = cli_error("serve: --immich-models %s: not a JSON object of Immich model names "
                       "(e.g. {\"ViT-B-16-SigLIP__webli\": {\"model\": \"siglip-base\"}})", path);
    else if (!(out->models = calloc((size_t)n, sizeof *out->models)))
        rc = cli_error("serve: out of memory");
    const char *base = rc == CLI_OK ? dirname(copy) : "";
    const cJSON *e, *entries = rc == CLI_OK ? root : NULL;
    cJSON_ArrayForEach(e, entries)
    {
        if ((rc = table_entry(e, path, base, &out->models[out->n++])) != CLI_OK)
            break;
    }
    cJSON_Delete(root);
    free(text);
    free(copy);
    if (rc != CLI_OK)
        immich_free(out);
    return rc;
}

/* The model Immich's modelName names: the only one when it has no name, else the entry whose
 * clean_name matches; NULL (and a 400 naming the known ones) for none. */
static const ImmichModel *find_model(const Immich *im, const char *name, Reply *out)
{
    if (im->n == 1 && !im->models[0].name)
        return &im->models[0];
    char want[256], have[256], known[1024] = "";
    clean_name(name, want, sizeof want);
    for (int i = 0; i < im->n; i++) {
        clean_name(im->models[i].name, have, sizeof have);
        if (!strcmp(want, have))
            return &im->models[i];
        size_t k = strlen(known);
        snprintf(known + k, sizeof known - k, "%s%s", i ? ", " : "", im->models[i].name);
    }
    reply_error(out, 400, "unknown modelName \"%.100s\": this server has %s", name, known);
    return NULL;
}

/* ---- POST /predict ---- */

/* What "entries" asks for: one CLIP model, visual or textual. */
typedef struct Entry {
    char model[256];
    int visual;
} Entry;

/* Reads entries ({"clip": {"visual" | "textual": {"modelName": NAME, "options": {...}}}}); 0, or
 * -1 with a 422 reply (Immich's answer to a malformed entries field). */
static int parse_entries(const char *json, Entry *e, Reply *out)
{
    /* Immich's own service (FastAPI, orjson) refuses with 422 what is not one whole JSON value
     * in UTF-8: cJSON_Parse would take "{...} trailing" by its first value, and a \u0000 would
     * end modelName early (so "name\u0000junk" would match "name"). */
    size_t len = strlen(json), bad = utf8_invalid_at((const unsigned char *)json, len);
    if (bad < len) {
        reply_error(out, 422, "Invalid request format: \"entries\" is not valid UTF-8 (byte %zu)",
                    bad);
        return -1;
    }
    if (json_string_has_nul((const unsigned char *)json, len)) {
        reply_error(out, 422, "Invalid request format: \"entries\" holds U+0000 (\\u0000)");
        return -1;
    }
    cJSON *root = cJSON_ParseWithOpts(json, NULL, 1);
    const cJSON *task = root && cJSON_IsObject(root) ? root->child : NULL;
    const cJSON *type = task && cJSON_IsObject(task) ? task->child : NULL;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(type, "modelName");
    int rc = -1;
    if (!type || !cJSON_IsObject(type) || !cJSON_IsString(name))
        reply_error(out, 422, "Invalid request format: \"entries\" must be JSON like "
                    "{\"clip\": {\"visual\": {\"modelName\": NAME}}}");
    else if (strcmp(task->string, "clip") || task->next || type->next ||
             (strcmp(type->string, "visual") && strcmp(type->string, "textual")))
        reply_error(out, 422, "this server answers one \"clip\" \"visual\" or \"textual\" entry "
                    "(smart search) per request, not %.60s %.60s%s", task->string, type->string,
                    task->next || type->next ? " and more" : "");
    else if (strlen(name->valuestring) >= sizeof e->model)
        reply_error(out, 422, "Invalid request format: modelName is too long");
    else
        rc = 0;
    if (rc == 0) {
        snprintf(e->model, sizeof e->model, "%s", name->valuestring);
        e->visual = !strcmp(type->string, "visual");
    }
    cJSON_Delete(root);
    return rc;
}

/* The answer: the embedding as a JSON string holding an array (Immich stores it in pgvector as
 * it is), and for an image its decoded size. */
static void predict_answer(const float *v, int dim, const int *dims, Reply *out)
{
    FILE *f = open_memstream(&out->body, &out->len);
    if (!f) {
        reply_error(out, 500, "out of memory");
        return;
    }
    out->status = 200;
    out->type = "application/json";
    fputs("{\"clip\":\"[", f);
    json_float_list(f, v, dim, ",");
    fputs("]\"", f);
    if (dims)
        fprintf(f, ",\"imageHeight\":%d,\"imageWidth\":%d", dims[1], dims[0]);
    fputs("}", f);
    fclose(f);
}

/* Runs the entry on the image or the text (one of them non-NULL) with its model. */
static void predict_run(const ImmichModel *m, const Entry *e, const Part *image, const Part *text,
                        double t0, Reply *out)
{
    const Service *svc = m->svc;
    if (e->visual != (image != NULL)) {
        reply_error(out, 400, "a clip %s entry needs %s part", e->visual ? "visual" : "textual",
                    e->visual ? "an \"image\"" : "a \"text\"");
        return;
    }
    int dim = image ? svc->info.vision_hidden_size : svc->info.projection_size, dims[2] = {0, 0};
    float *emb = malloc((size_t)dim * sizeof *emb);
    char *raw = text ? part_string(text) : NULL, *clean = NULL;
    if (!emb || (text && (!raw || siglip_immich_clean_text(raw, m->canonicalize, &clean)))) {
        reply_error(out, 500, "out of memory");
    } else {
        Bytes bytes = {image ? image->data : NULL, image ? image->size : 0, NULL};
        if (!api_embed_one(svc, clean, image ? &bytes : NULL, t0 + svc->lim.timeout_s, emb, dims,
                           out))
            predict_answer(emb, dim, image ? dims : NULL, out);
    }
    free(emb);
    free(raw);
    free(clean);
}

static void predict(const Immich *im, const char *content_type, const unsigned char *body,
                    size_t size, double t0, Reply *out)
{
    Form form = {0};
    ParseError err = {0};
    if (!is_multipart(content_type)) {
        reply_error(out, 422, "Invalid request format: /predict takes multipart/form-data with "
                    "an \"entries\" field");
        return;
    }
    if (parse_form(content_type, body, size, IMMICH_MAX_PARTS, &form, &err)) {
        reply_error(out, 400, "%s", err.message);
        free(form.parts);
        return;
    }
    /* A repeated part is refused rather than one of them silently used: Immich sends each once,
     * and which one a proxy or another server would take is anyone's guess. */
    const Part *entries = NULL, *image = NULL, *text = NULL;
    const char *repeated = NULL;
    for (int i = 0; i < form.n && !repeated; i++) {
        const Part *p = &form.parts[i];
        const Part **slot = !strcmp(p->name, "entries") ? &entries
                            : !strcmp(p->name, "image") ? &image
                            : !strcmp(p->name, "text")  ? &text
                                                        : NULL;
        if (slot && *slot)
            repeated = p->name;
        else if (slot)
            *slot = p;
    }
    char *json = entries && !repeated ? part_string(entries) : NULL;
    Entry e;
    const ImmichModel *m;
    if (repeated && !strcmp(repeated, "entries"))
        reply_error(out, 422, "Invalid request format: more than one \"entries\" field");
    else if (repeated)
        reply_error(out, 400, "more than one \"%s\" part", repeated);
    else if (!entries)
        reply_error(out, 422, "Invalid request format: no \"entries\" field");
    else if (!json)
        reply_error(out, 500, "out of memory");
    else if (parse_entries(json, &e, out))
        ; /* out holds the 422 */
    else if (!image && !text)
        reply_error(out, 400, "Either image or text must be provided");
    else if (!image && part_check_utf8(text, &err))
        reply_error(out, 400, "%s", err.message);
    else if ((m = find_model(im, e.model, out)))
        predict_run(m, &e, image, image ? NULL : text, t0, out);
    free(json);
    free(form.parts);
}

void immich_answer(const Immich *im, Endpoint ep, const char *content_type,
                   const unsigned char *body, size_t size, double t0, Reply *out)
{
    if (ep == EP_PREDICT) {
        predict(im, content_type, body, size, t0, out);
        return;
    }
    const char *text = ep == EP_PING ? "pong" : "{\"message\":\"Immich ML\"}";
    out->status = 200;
    out->type = ep == EP_PING ? "text/plain; charset=utf-8" : "application/json";
    out->len = strlen(text);
    if (!(out->body = strdup(text)))
        reply_error(out, 500, "out of memory");
}
