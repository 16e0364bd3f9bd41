/* serve_parse.c — request bodies of `siglip serve`: JSON (cJSON) and multipart/form-data into
 * embedding and classification requests, strictly (unknown fields and wrong types are errors),
 * and base64. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "serve.h"

static int fail(ParseError *error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vfail(ParseError *error, const char *fmt, va_list ap)
{
    vsnprintf(error->message, sizeof error->message, fmt, ap);
    return -1;
}

static int fail(ParseError *error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(error, fmt, ap);
    va_end(ap);
    return -1;
}

/* fail() naming the request field at fault by the path of the value ("input[2].text" and
 * "\"image\"" name "input" and "image"): OpenAI's param is a top-level field. */
static int fail_path(ParseError *error, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_path(ParseError *error, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(error, fmt, ap);
    va_end(ap);
    path += *path == '"';
    snprintf(error->param, sizeof error->param, "%.*s", (int)strcspn(path, "[.\""), path);
    return -1;
}

/* fail() naming the request field at fault (OpenAI's "param": "input", "encoding_format"). */
static int fail_at(ParseError *error, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(ParseError *error, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(error, fmt, ap);
    va_end(ap);
    snprintf(error->param, sizeof error->param, "%s", param);
    return -1;
}

/* ---- base64 ---- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

unsigned char *base64_decode(const char *text, size_t len, size_t *out_size)
{
    /* A data URL's header ("data:image/png;base64,") carries nothing we need. */
    if (len >= 5 && !strncmp(text, "data:", 5)) {
        const char *comma = memchr(text, ',', len);
        if (!comma || comma - text < 12 || strncmp(comma - 7, ";base64", 7))
            return NULL;
        len -= (size_t)(comma + 1 - text);
        text = comma + 1;
    }
    unsigned char *out = malloc(len / 4 * 3 + 3);
    if (!out)
        return NULL;
    size_t n = 0, pad = 0;
    unsigned acc = 0, bits = 0, quads = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            quads++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || pad) { /* a stray byte, or data after the padding */
            free(out);
            return NULL;
        }
        quads++;
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Unpadded input is accepted; padded input must come out to whole quads. */
    if (pad > 2 || (pad && quads % 4) || quads % 4 == 1) {
        free(out);
        return NULL;
    }
    *out_size = n;
    return out;
}

void base64_write(FILE *f, const void *data, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {alphabet[v >> 18 & 63], alphabet[v >> 12 & 63],
                     i + 1 < n ? alphabet[v >> 6 & 63] : '=', i + 2 < n ? alphabet[v & 63] : '='};
        fwrite(q, 1, 4, f);
    }
}

/* ---- UTF-8 ---- */

/* The offset of the first byte of s[0, n) that does not start a well-formed UTF-8 sequence
 * (Unicode's Table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF), or n. cJSON
 * copies string bytes as they come, and the tokenizer would read such bytes as some other text. */
size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            lo = c == 0xE0 ? 0xA0 : 0x80; /* E0 80..9F would be overlong */
            hi = c == 0xED ? 0x9F : 0xBF; /* ED A0..BF would be a surrogate */
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            lo = c == 0xF0 ? 0x90 : 0x80; /* F0 80..8F would be overlong */
            hi = c == 0xF4 ? 0x8F : 0xBF; /* past F4 8F is past U+10FFFF */
        } else {
            return i; /* a continuation byte, C0/C1 (overlong) or F5..FF */
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return i;
        i += len;
    }
    return n;
}

int part_check_utf8(const Part *p, ParseError *error)
{
    size_t at = utf8_invalid_at(p->data, p->size);
    if (at < p->size)
        return fail_at(error, p->name, "multipart field \"%.60s\" is not valid UTF-8 (byte %zu)",
                       p->name, at);
    return 0;
}

/* ---- multipart/form-data ---- */

static const unsigned char *find(const unsigned char *hay, size_t n, const char *needle, size_t k)
{
    return k <= n ? memmem(hay, n, needle, k) : NULL;
}

/* The value of parameter `key` (e.g. boundary, name) in a header value, unquoted, into out. */
static int header_param(const char *value, size_t vlen, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen + 1 <= vlen; i++) {
        int at_start = i == 0 || value[i - 1] == ';' || value[i - 1] == ' ' || value[i - 1] == '\t';
        if (!at_start || strncasecmp(value + i, key, klen) || value[i + klen] != '=')
            continue;
        const char *v = value + i + klen + 1, *end = value + vlen;
        size_t n = 0;
        if (v < end && *v == '"') {
            for (v++; v < end && *v != '"'; v++)
                if (n + 1 < size)
                    out[n++] = *v;
            if (v >= end)
                return -1; /* unterminated quote */
        } else {
            for (; v < end && *v != ';' && *v != ' ' && *v != '\t' && *v != '\r'; v++)
                if (n + 1 < size)
                    out[n++] = *v;
        }
        out[n] = '\0';
        return 0;
    }
    return -1;
}

/* Reads a part's headers [h, h+n): its Content-Disposition name and whether it has a filename. */
static int part_headers(const char *h, size_t n, Part *p, ParseError *error)
{
    int disposition = 0;
    while (n > 0) {
        const char *eol = memmem(h, n, "\r\n", 2);
        size_t len = eol ? (size_t)(eol - h) : n;
        static const char cd[] = "content-disposition:";
        if (len >= sizeof cd - 1 && !strncasecmp(h, cd, sizeof cd - 1)) {
            const char *v = h + sizeof cd - 1;
            size_t vlen = len - (sizeof cd - 1);
            char filename[8];
            if (header_param(v, vlen, "name", p->name, sizeof p->name))
                return fail(error, "multipart: a part's Content-Disposition has no name");
            p->has_filename = !header_param(v, vlen, "filename", filename, sizeof filename);
            disposition = 1;
        }
        if (!eol)
            break;
        n -= len + 2;
        h += len + 2;
    }
    if (!disposition)
        return fail(error, "multipart: a part has no Content-Disposition header");
    return 0;
}

int parse_form(const char *content_type, const unsigned char *body, size_t size,
               int max_parts, Form *form, ParseError *error)
{
    char boundary[80];
    memset(form, 0, sizeof *form);
    if (header_param(content_type, strlen(content_type), "boundary", boundary + 2,
                     sizeof boundary - 2) ||
        !boundary[2] || strlen(boundary + 2) > 70)
        return fail(error, "multipart/form-data needs a boundary of 1 to 70 characters");
    boundary[0] = boundary[1] = '-';
    size_t blen = strlen(boundary);
    const unsigned char *end = body + size;
    const unsigned char *p = find(body, size, boundary, blen);
    if (!p)
        return fail(error, "multipart: the body does not contain the boundary");
    form->parts = calloc((size_t)max_parts, sizeof *form->parts);
    if (!form->parts)
        return fail(error, "out of memory");
    for (;;) {
        p += blen;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return 0; /* the closing delimiter */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            break;
        p += 2;
        const unsigned char *hend = find(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hend)
            break;
        if (form->n == max_parts)
            return fail(error, "multipart: more than %d parts", max_parts);
        Part *part = &form->parts[form->n];
        if (part_headers((const char *)p, (size_t)(hend - p), part, error))
            return -1;
        const unsigned char *data = hend + 4;
        /* The part's data ends at CRLF + delimiter. */
        const unsigned char *next = data;
        for (;;) {
            next = find(next, (size_t)(end - next), boundary, blen);
            if (!next || (next - data >= 2 && next[-2] == '\r' && next[-1] == '\n'))
                break;
            next++;
        }
        if (!next)
            break;
        part->data = data;
        part->size = (size_t)(next - 2 - data);
        /* Every part but an image is a text, held as a C string: a NUL would end it early. */
        if (strcmp(part->name, "image") && memchr(part->data, 0, part->size))
            return fail(error, "multipart field \"%.60s\" holds a NUL byte (U+0000), which "
                        "is refused rather than cutting the text short there", part->name);
        form->n++;
        p = next;
    }
    return fail(error, "multipart: the body is truncated or malformed");
}

char *part_string(const Part *p)
{
    char *s = malloc(p->size + 1);
    if (s) {
        memcpy(s, p->data, p->size);
        s[p->size] = '\0';
    }
    return s;
}

int is_multipart(const char *content_type)
{
    return content_type && !strncasecmp(content_type, "multipart/form-data", 19);
}

static int is_json(const char *content_type)
{
    /* JSON is the default: curl -d sends application/x-www-form-urlencoded unless told. */
    return !content_type || !*content_type || !strncasecmp(content_type, "application/json", 16) ||
           !strncasecmp(content_type, "application/x-www-form-urlencoded", 33) ||
           !strncasecmp(content_type, "text/plain", 10);
}

/* Which parser a body of this Content-Type takes: FORM_BODY, JSON_BODY, or -1 after the error. */
enum { JSON_BODY, FORM_BODY };
static int body_kind(const char *content_type, ParseError *error)
{
    if (is_multipart(content_type))
        return FORM_BODY;
    if (!is_json(content_type))
        return fail(error, "unsupported Content-Type \"%.60s\" (use application/json or "
                    "multipart/form-data)", content_type);
    return JSON_BODY;
}

/* ---- JSON ---- */

/* Whether a string of the JSON text holds U+0000, escaped (\u0000) or raw: cJSON's strings end
 * at their first NUL, so such a text would be cut short there without a word. */
int json_string_has_nul(const unsigned char *body, size_t size)
{
    int in_string = 0;
    for (size_t i = 0; i < size; i++) {
        if (body[i] == '"') {
            in_string = !in_string;
        } else if (in_string && body[i] == '\\' && i + 1 < size) {
            if (body[i + 1] == 'u' && size - i >= 6 && !memcmp(body + i + 2, "0000", 4))
                return 1;
            i++; /* the escaped character (a quote among them) */
        } else if (in_string && body[i] == 0) {
            return 1;
        }
    }
    return 0;
}

/* Finds the first string (value or field name) under node that is not valid UTF-8 and names it
 * in error as a path from the body ("input[2].text"); path holds node's own. 0 when all are. */
static int json_check_utf8(const cJSON *node, char *path, size_t psize, ParseError *error)
{
    if (cJSON_IsString(node)) {
        size_t n = strlen(node->valuestring);
        size_t at = utf8_invalid_at((const unsigned char *)node->valuestring, n);
        if (at < n)
            return fail_path(error, path, "%s is not valid UTF-8 (byte %zu of the string)", path,
                             at);
        return 0;
    }
    size_t len = strlen(path);
    int i = 0;
    for (const cJSON *it = node->child; it; it = it->next, i++) {
        if (cJSON_IsObject(node)) {
            size_t n = strlen(it->string);
            if (utf8_invalid_at((const unsigned char *)it->string, n) < n)
                return fail_path(error, path, "a field name %s%s is not valid UTF-8",
                                 len ? "in " : "", path);
            snprintf(path + len, psize - len, "%s%.40s", len ? "." : "", it->string);
        } else {
            snprintf(path + len, psize - len, "[%d]", i);
        }
        if (json_check_utf8(it, path, psize, error))
            return -1;
        path[len] = '\0';
    }
    return 0;
}

static cJSON *parse_json(const unsigned char *body, size_t size, ParseError *error)
{
    if (!size) {
        fail(error, "the request body is empty");
        return NULL;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts((const char *)body, size, &end, 0);
    if (!doc) {
        size_t at = end && end >= (const char *)body ? (size_t)(end - (const char *)body) : 0;
        fail(error, "malformed JSON near byte %zu", at);
        return NULL;
    }
    while (end && (size_t)(end - (const char *)body) < size && isspace((unsigned char)*end))
        end++;
    if (end && (size_t)(end - (const char *)body) < size && *end) {
        fail(error, "malformed JSON: data after the value at byte %zu",
             (size_t)(end - (const char *)body));
        cJSON_Delete(doc);
        return NULL;
    }
    if (!cJSON_IsObject(doc)) {
        fail(error, "the body must be a JSON object");
        cJSON_Delete(doc);
        return NULL;
    }
    if (json_string_has_nul(body, size)) {
        fail(error, "a JSON string holds \\u0000 (U+0000), which is refused rather than "
             "cutting the text short there");
        cJSON_Delete(doc);
        return NULL;
    }
    /* RFC 8259 §8.1: JSON text is UTF-8; a string of other bytes is refused, by its path. */
    char path[128] = "";
    if (json_check_utf8(doc, path, sizeof path, error)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* 0 when every key of obj is one of `allowed` (NULL-terminated). */
static int check_keys(const cJSON *obj, const char *const *allowed, const char *what,
                      ParseError *error)
{
    /* A field of the request is its own param; one inside an input is that input's. */
    int toplevel = !strcmp(what, "the request");
    for (const cJSON *it = obj->child; it; it = it->next) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(it->string, *a);
        if (!ok)
            return fail_path(error, toplevel ? it->string : what,
                             "unknown field \"%.60s\" in %s", it->string, what);
        for (const cJSON *j = it->next; j; j = j->next)
            if (!strcmp(it->string, j->string))
                return fail_path(error, toplevel ? it->string : what,
                                 "field \"%.60s\" appears twice in %s", it->string, what);
    }
    return 0;
}

static int decode_image(const char *b64, Bytes *out, const char *what, ParseError *error)
{
    out->owned = base64_decode(b64, strlen(b64), &out->size);
    if (!out->owned)
        return fail_path(error, what, "%s is not valid base64", what);
    if (!out->size)
        return fail_path(error, what, "%s is empty", what);
    out->data = out->owned;
    return 0;
}

static int json_model_field(const cJSON *doc, ParseError *error)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "model");
    if (m && !cJSON_IsString(m))
        return fail_at(error, "model", "\"model\" must be a string");
    return 0;
}

/* A JSON request body: an object with no field but `keys` (NULL-terminated), "model" a string
 * when present. *rc: 0, or -1 after an error; the caller deletes what it returns (NULL when the
 * body is no JSON object). */
static cJSON *parse_request(const unsigned char *body, size_t size, const char *const *keys,
                            int *rc, ParseError *error)
{
    cJSON *doc = parse_json(body, size, error);
    *rc = doc ? check_keys(doc, keys, "the request", error) : -1;
    if (!*rc)
        *rc = json_model_field(doc, error);
    return doc;
}

/* "top_k": an integer in [1, 2^20]. */
static int set_top_k(double v, int *top_k, ParseError *error)
{
    if (!(v >= 1 && v <= 1 << 20) || v != (double)(int)v)
        return fail_at(error, "top_k", "\"top_k\" must be a positive integer");
    *top_k = (int)v;
    return 0;
}

/* The "top_k" field of a JSON request, when present. */
static int json_top_k(const cJSON *top, int *top_k, ParseError *error)
{
    return top ? set_top_k(cJSON_IsNumber(top) ? top->valuedouble : 0, top_k, error) : 0;
}

static int set_encoding(const char *value, EmbedRequest *out, ParseError *error)
{
    if (!strcmp(value, "float"))
        out->base64_output = 0;
    else if (!strcmp(value, "base64"))
        out->base64_output = 1;
    else
        return fail_at(error, "encoding_format",
                       "\"encoding_format\" must be \"float\" or \"base64\"");
    return 0;
}

/* One element of "input" (or the "query" of /v1/search, named by `name`): a string, or
 * {"text": s} / {"image": base64}. */
static int json_input(const cJSON *item, const char *name, Input *in, ParseError *error)
{
    static const char *const keys[] = {"text", "image", NULL};
    char what[48];
    snprintf(what, sizeof what, "%.30s", name);
    if (cJSON_IsString(item))
        return (in->text = strdup(item->valuestring)) ? 0 : fail(error, "out of memory");
    if (!cJSON_IsObject(item))
        return fail_path(error, what, "%s must be a string or an object {\"image\": base64}", what);
    if (check_keys(item, keys, what, error))
        return -1;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(item, "text");
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(item, "image");
    if (!text == !image || (text && !cJSON_IsString(text)) || (image && !cJSON_IsString(image)))
        return fail_path(error, what,
                         "%s must hold exactly one string field, \"text\" or \"image\"", what);
    if (text)
        return (in->text = strdup(text->valuestring)) ? 0 : fail(error, "out of memory");
    snprintf(what, sizeof what, "%.30s.image", name);
    return decode_image(image->valuestring, &in->image, what, error);
}

static int embed_from_json(const unsigned char *body, size_t size, const ServiceLimits *lim,
                           EmbedRequest *out, ParseError *error)
{
    static const char *const keys[] = {"input", "model", "encoding_format", "user", "dimensions",
                                       NULL};
    int rc;
    cJSON *doc = parse_request(body, size, keys, &rc, error);
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(doc, "input");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "encoding_format");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(doc, "user");
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(doc, "dimensions");
    /* OpenAI reads an optional field set to null as left out; clients send them so. */
    fmt = cJSON_IsNull(fmt) ? NULL : fmt;
    user = cJSON_IsNull(user) ? NULL : user;
    dims = cJSON_IsNull(dims) ? NULL : dims;
    if (!rc && dims && !(cJSON_IsNumber(dims) && dims->valuedouble >= 1 &&
                         dims->valuedouble <= 1 << 20 &&
                         dims->valuedouble == (double)(int)dims->valuedouble))
        rc = fail_at(error, "dimensions", "\"dimensions\" must be a positive integer");
    if (!rc && dims)
        out->dimensions = (int)dims->valuedouble;
    if (!rc && fmt)
        rc = cJSON_IsString(fmt) ? set_encoding(fmt->valuestring, out, error)
                                 : fail_at(error, "encoding_format",
                                           "\"encoding_format\" must be a string");
    if (!rc && user && !cJSON_IsString(user))
        rc = fail_at(error, "user", "\"user\" must be a string");
    if (!rc && !input)
        rc = fail_at(error, "input", "\"input\" is required");
    /* Token ids (OpenAI accepts a list of integers, or a list of such lists) belong to another
     * tokenizer than this model's: say so rather than "must be a string". */
    const cJSON *first = cJSON_IsArray(input) ? input->child : NULL;
    if (!rc && (cJSON_IsNumber(input) || cJSON_IsNumber(first) ||
                (cJSON_IsArray(first) && (!first->child || cJSON_IsNumber(first->child)))))
        rc = fail_at(error, "input", "\"input\" holds token ids, which this server does not "
                     "accept (they would be another tokenizer's): send the text instead");
    int n = !rc ? (cJSON_IsArray(input) ? cJSON_GetArraySize(input) : 1) : 0;
    if (!rc && n == 0)
        rc = fail_at(error, "input", "\"input\" is an empty list");
    if (!rc && n > lim->max_items)
        rc = fail_at(error, "input", "\"input\" has %d items; at most %d per request", n,
                     lim->max_items);
    if (!rc && !(out->inputs = calloc((size_t)n, sizeof *out->inputs)))
        rc = fail(error, "out of memory");
    if (!rc && !cJSON_IsArray(input)) {
        out->n = 1;
        rc = json_input(input, "input[0]", &out->inputs[0], error);
    }
    const cJSON *item = NULL;
    if (!rc && cJSON_IsArray(input))
        cJSON_ArrayForEach(item, input) {
            char name[24];
            snprintf(name, sizeof name, "input[%d]", out->n);
            if (json_input(item, name, &out->inputs[out->n], error)) {
                out->n++;
                rc = -1;
                break;
            }
            out->n++;
        }
    cJSON_Delete(doc);
    return rc;
}

static int embed_from_form(const char *content_type, const unsigned char *body, size_t size,
                           const ServiceLimits *lim, EmbedRequest *out, ParseError *error)
{
    Form form;
    int rc = parse_form(content_type, body, size, lim->max_items + 4, &form, error);
    if (!rc && !(out->inputs = calloc((size_t)form.n + 1, sizeof *out->inputs)))
        rc = fail(error, "out of memory");
    for (int i = 0; i < form.n && !rc; i++) {
        const Part *p = &form.parts[i];
        char *s = NULL;
        if (!strcmp(p->name, "image")) {
            if (!p->size)
                rc = fail_at(error, "image", "multipart part %d (image) is empty", i);
            out->inputs[out->n++].image = (Bytes){p->data, p->size, NULL};
        } else if (!strcmp(p->name, "input") || !strcmp(p->name, "text")) {
            if (!(out->inputs[out->n++].text = part_string(p)))
                rc = fail(error, "out of memory");
            else
                rc = part_check_utf8(p, error);
        } else if (!strcmp(p->name, "model") || !strcmp(p->name, "user")) {
            continue;
        } else if (!strcmp(p->name, "encoding_format")) {
            rc = (s = part_string(p)) ? set_encoding(s, out, error)
                                      : fail(error, "out of memory");
        } else {
            rc = fail_at(error, p->name, "unknown multipart field \"%.60s\" (expected input, text, "
                         "image, model, encoding_format)", p->name);
        }
        free(s);
    }
    if (!rc && out->n == 0)
        rc = fail(error, "no \"input\", \"text\" or \"image\" part in the form");
    if (!rc && out->n > lim->max_items)
        rc = fail_at(error, "input", "%d inputs; at most %d per request", out->n, lim->max_items);
    free(form.parts);
    return rc;
}

int parse_embed_request(const char *content_type, const unsigned char *body, size_t size,
                        const ServiceLimits *lim, EmbedRequest *out, ParseError *error)
{
    memset(out, 0, sizeof *out);
    switch (body_kind(content_type, error)) {
    case FORM_BODY: return embed_from_form(content_type, body, size, lim, out, error);
    case JSON_BODY: return embed_from_json(body, size, lim, out, error);
    default: return -1;
    }
}

void embed_request_free(EmbedRequest *r)
{
    for (int i = 0; r->inputs && i < r->n; i++) {
        free(r->inputs[i].text);
        free(r->inputs[i].image.owned);
    }
    free(r->inputs);
    memset(r, 0, sizeof *r);
}

/* ---- classification ---- */

static int add_label(ClassifyRequest *out, const char *s, size_t n, int max, ParseError *error)
{
    if (out->n_labels == max)
        return fail_at(error, "candidate_labels", "more than %d candidate labels", max);
    char *copy = malloc(n + 1);
    if (!copy)
        return fail(error, "out of memory");
    memcpy(copy, s, n);
    copy[n] = '\0';
    out->labels[out->n_labels++] = copy;
    return 0;
}

static int classify_alloc(ClassifyRequest *out, int max, ParseError *error)
{
    out->images = calloc((size_t)max, sizeof *out->images);
    out->labels = calloc((size_t)max, sizeof *out->labels);
    return out->images && out->labels ? 0 : fail(error, "out of memory");
}

static int classify_json_images(const cJSON *image, const ServiceLimits *lim, ClassifyRequest *out,
                                ParseError *error)
{
    if (cJSON_IsString(image)) {
        out->single = 1;
        out->n_images = 1;
        return decode_image(image->valuestring, &out->images[0], "\"image\"", error);
    }
    if (!cJSON_IsArray(image) || cJSON_GetArraySize(image) == 0)
        return fail_at(error, "image",
                       "\"image\" must be a base64 string or a non-empty list of them");
    if (cJSON_GetArraySize(image) > lim->max_items)
        return fail_at(error, "image", "more than %d images", lim->max_items);
    const cJSON *it = NULL;
    cJSON_ArrayForEach(it, image) {
        char what[32];
        snprintf(what, sizeof what, "image[%d]", out->n_images);
        if (!cJSON_IsString(it))
            return fail_path(error, what, "%s must be a base64 string", what);
        if (decode_image(it->valuestring, &out->images[out->n_images++], what, error))
            return -1;
    }
    return 0;
}

static int classify_from_json(const unsigned char *body, size_t size, const ServiceLimits *lim,
                              ClassifyRequest *out, ParseError *error)
{
    static const char *const keys[] = {"image", "candidate_labels", "hypothesis_template",
                                       "top_k", "model", NULL};
    int rc;
    cJSON *doc = parse_request(body, size, keys, &rc, error);
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(doc, "image");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(doc, "candidate_labels");
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(doc, "hypothesis_template");
    if (!rc && !image)
        rc = fail_at(error, "image", "\"image\" is required");
    if (!rc)
        rc = classify_json_images(image, lim, out, error);
    if (!rc && labels && !cJSON_IsArray(labels))
        rc = fail_at(error, "candidate_labels", "\"candidate_labels\" must be a list of strings");
    const cJSON *it = NULL;
    if (!rc && labels)
        cJSON_ArrayForEach(it, labels) {
            if (!cJSON_IsString(it)) {
                rc = fail_at(error, "candidate_labels",
                             "\"candidate_labels\" must be a list of strings");
                break;
            }
            if ((rc = add_label(out, it->valuestring, strlen(it->valuestring), lim->max_items,
                                error)))
                break;
        }
    if (!rc && labels && !out->n_labels)
        rc = fail_at(error, "candidate_labels", "\"candidate_labels\" is an empty list");
    if (!rc && tpl && !cJSON_IsString(tpl))
        rc = fail_at(error, "hypothesis_template", "\"hypothesis_template\" must be a string");
    if (!rc && tpl && !(out->template_ = strdup(tpl->valuestring)))
        rc = fail(error, "out of memory");
    if (!rc)
        rc = json_top_k(cJSON_GetObjectItemCaseSensitive(doc, "top_k"), &out->top_k, error);
    cJSON_Delete(doc);
    return rc;
}

static int classify_from_form(const char *content_type, const unsigned char *body, size_t size,
                              const ServiceLimits *lim, ClassifyRequest *out, ParseError *error)
{
    Form form;
    int rc = parse_form(content_type, body, size, 2 * lim->max_items + 4, &form, error);
    for (int i = 0; i < form.n && !rc; i++) {
        const Part *p = &form.parts[i];
        char *s = NULL;
        if (!strcmp(p->name, "image")) {
            if (out->n_images == lim->max_items)
                rc = fail_at(error, "image", "more than %d images", lim->max_items);
            else if (!p->size)
                rc = fail_at(error, "image", "multipart part %d (image) is empty", i);
            else
                out->images[out->n_images++] = (Bytes){p->data, p->size, NULL};
        } else if (!strcmp(p->name, "candidate_labels")) {
            rc = part_check_utf8(p, error);
            if (!rc)
                rc = add_label(out, (const char *)p->data, p->size, lim->max_items, error);
        } else if (!strcmp(p->name, "hypothesis_template")) {
            free(out->template_);
            if (!(out->template_ = part_string(p)))
                rc = fail(error, "out of memory");
            else
                rc = part_check_utf8(p, error);
        } else if (!strcmp(p->name, "top_k")) {
            char *endp = NULL;
            rc = (s = part_string(p)) ? 0 : fail(error, "out of memory");
            double v = rc ? 0 : strtod(s, &endp);
            if (!rc)
                rc = endp != s && !*endp ? set_top_k(v, &out->top_k, error)
                                         : fail_at(error, "top_k", "\"top_k\" must be an integer");
        } else if (strcmp(p->name, "model")) {
            rc = fail_at(error, p->name, "unknown multipart field \"%.60s\" (expected image, "
                         "candidate_labels, hypothesis_template, top_k, model)", p->name);
        }
        free(s);
    }
    if (!rc && !out->n_images)
        rc = fail(error, "no \"image\" part in the form");
    out->single = out->n_images == 1;
    free(form.parts);
    return rc;
}

int parse_classify_request(const char *content_type, const unsigned char *body, size_t size,
                           const ServiceLimits *lim, ClassifyRequest *out, ParseError *error)
{
    memset(out, 0, sizeof *out);
    if (classify_alloc(out, lim->max_items, error))
        return -1;
    switch (body_kind(content_type, error)) {
    case FORM_BODY: return classify_from_form(content_type, body, size, lim, out, error);
    case JSON_BODY: return classify_from_json(body, size, lim, out, error);
    default: return -1;
    }
}

void classify_request_free(ClassifyRequest *r)
{
    for (int i = 0; r->images && i < r->n_images; i++)
        free(r->images[i].owned);
    for (int i = 0; r->labels && i < r->n_labels; i++)
        free(r->labels[i]);
    free(r->images);
    free(r->labels);
    free(r->template_);
    memset(r, 0, sizeof *r);
}

/* ---- /v1/search ---- */

int parse_search_request(const char *content_type, const unsigned char *body, size_t size,
                         SearchRequest *out, ParseError *error)
{
    static const char *const keys[] = {"query", "top_k", "model", NULL};
    memset(out, 0, sizeof *out);
    out->top_k = 10;
    if (!is_json(content_type))
        return fail(error, "/v1/search takes a JSON body, not %.60s", content_type);
    int rc;
    cJSON *doc = parse_request(body, size, keys, &rc, error);
    const cJSON *query = cJSON_GetObjectItemCaseSensitive(doc, "query");
    if (!rc && !query)
        rc = fail_at(error, "query", "\"query\" is required: a text or {\"image\": base64}");
    if (!rc)
        rc = json_input(query, "query", &out->query, error);
    if (!rc)
        rc = json_top_k(cJSON_GetObjectItemCaseSensitive(doc, "top_k"), &out->top_k, error);
    cJSON_Delete(doc);
    return rc;
}

void search_request_free(SearchRequest *r)
{
    free(r->query.text);
    free(r->query.image.owned);
    memset(r, 0, sizeof *r);
}
