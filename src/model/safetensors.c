/* safetensors.c — safetensors archives: header validation, shard indexes and dtype conversion (the
 * one writer is support/st_writer.c). Format: u64 little-endian header length N, N bytes of JSON header, then the data. */
#include "model/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

/* The reference implementation (Rust safetensors) refuses headers above 100 MB. */
#define ST_MAX_HEADER 100000000ull
/* Integers above 2^53 are not exact in the JSON numbers cJSON gives us. */
#define ST_MAX_JSON_INT 9007199254740992.0

struct SgSafetensors {
    SgMappedFile *maps; /* [n_maps] the mapped files (none for sg_st_open_memory) */
    size_t n_maps;
    SgTensor *tensors; /* [n_tensors] sorted by name; each name malloc'ed */
    size_t n_tensors;
};

/* A growable list of tensors with owned names. */
typedef struct TensorList {
    SgTensor *items;
    size_t n, cap;
} TensorList;

static const struct {
    const char *name;
    size_t size;
} dtype_table[] = {
    [SG_DTYPE_F32] = {"F32", 4},  [SG_DTYPE_F16] = {"F16", 2}, [SG_DTYPE_BF16] = {"BF16", 2},
    [SG_DTYPE_F64] = {"F64", 8},  [SG_DTYPE_I64] = {"I64", 8}, [SG_DTYPE_I32] = {"I32", 4},
    [SG_DTYPE_I16] = {"I16", 2},  [SG_DTYPE_I8] = {"I8", 1},   [SG_DTYPE_U8] = {"U8", 1},
    [SG_DTYPE_BOOL] = {"BOOL", 1},
};
#define N_DTYPES (sizeof dtype_table / sizeof dtype_table[0])

const char *sg_dtype_name(SgDtype dt)
{
    return (unsigned)dt < N_DTYPES ? dtype_table[dt].name : "?";
}

size_t sg_dtype_size(SgDtype dt)
{
    return (unsigned)dt < N_DTYPES ? dtype_table[dt].size : 0;
}

static int dtype_from_name(const char *name, SgDtype *dt)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (strcmp(name, dtype_table[i].name) == 0) {
            *dt = (SgDtype)i;
            return 1;
        }
    return 0;
}

/* ---- tensor lists ---------------------------------------------------------------------------- */

static void list_free(TensorList *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((char *)l->items[i].name);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Appends t with a copy of `name`. */
static int list_push(TensorList *l, const SgTensor *t, const char *name, SgError *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        SgTensor *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory for %zu tensors", cap);
        l->items = items;
        l->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for a tensor name");
    l->items[l->n] = *t;
    l->items[l->n++].name = copy;
    return SIGLIP_OK;
}

static int cmp_by_name(const void *a, const void *b)
{
    return strcmp(((const SgTensor *)a)->name, ((const SgTensor *)b)->name);
}

/* By start, then by end, so that empty tensors sort before a tensor starting at the same byte. */
static int cmp_by_offset(const void *a, const void *b)
{
    const SgTensor *x = a, *y = b;
    uintptr_t xs = (uintptr_t)x->data, ys = (uintptr_t)y->data;
    if (xs != ys)
        return xs < ys ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static void sort_by_name(TensorList *l)
{
    if (l->n > 1)
        qsort(l->items, l->n, sizeof *l->items, cmp_by_name);
}

static const SgTensor *find_sorted(const SgTensor *items, size_t n, const char *name)
{
    SgTensor key = {.name = name};
    return n ? bsearch(&key, items, n, sizeof *items, cmp_by_name) : NULL;
}

static int check_unique_names(const TensorList *l, SgError *err)
{
    for (size_t i = 1; i < l->n; i++)
        if (strcmp(l->items[i - 1].name, l->items[i].name) == 0)
            return sg_fail(err, SIGLIP_EBADMSG, "tensor \"%s\" appears twice", l->items[i].name);
    return SIGLIP_OK;
}

/* ---- header parsing -------------------------------------------------------------------------- */

/* A JSON integer in [0, 2^53]; -1 for anything else. */
static double json_uint(const cJSON *v)
{
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    return d >= 0 && d <= ST_MAX_JSON_INT && d == floor(d) ? d : -1;
}

static void format_shape(const SgTensor *t, char *buf, size_t size)
{
    size_t at = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < t->ndim && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (at < size)
        snprintf(buf + at, size - at, "]");
}

/* entry[key] of tensor `name`, which must be present and, when `is` is set, of that kind; NULL
 * with the error recorded otherwise. */
static const cJSON *entry_field(const cJSON *entry, const char *name, const char *key,
                                cJSON_bool (*is)(const cJSON *), const char *kind, SgError *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, key);
    if (!v)
        sg_fail(err, SIGLIP_EBADMSG, "tensor \"%s\": missing \"%s\"", name, key);
    else if (is && !is(v))
        sg_fail(err, SIGLIP_EBADMSG, "tensor \"%s\": \"%s\" is not %s", name, key, kind);
    else
        return v;
    return NULL;
}

static int parse_dtype(const cJSON *entry, const char *name, SgTensor *t, SgError *err)
{
    const cJSON *v = entry_field(entry, name, "dtype", cJSON_IsString, "a string", err);
    if (!v)
        return SIGLIP_EBADMSG;
    if (!dtype_from_name(v->valuestring, &t->dtype))
        return sg_fail(err, SIGLIP_ENOTSUP, "tensor \"%s\": dtype \"%s\" is not supported", name,
                       v->valuestring);
    return SIGLIP_OK;
}

/* shape → ndim, shape[], numel (overflow-checked). */
static int parse_shape(const cJSON *entry, const char *name, SgTensor *t, SgError *err)
{
    const cJSON *v = entry_field(entry, name, "shape", cJSON_IsArray, "an array", err);
    if (!v)
        return SIGLIP_EBADMSG;
    int ndim = cJSON_GetArraySize(v);
    if (ndim > SG_ST_MAX_DIMS)
        return sg_fail(err, SIGLIP_ENOTSUP, "tensor \"%s\": %d dimensions, more than the %d "
                       "supported", name, ndim, SG_ST_MAX_DIMS);
    t->ndim = ndim;
    size_t numel = 1;
    int i = 0;
    for (const cJSON *d = v->child; d; d = d->next, i++) {
        double dim = json_uint(d);
        if (dim < 0)
            return sg_fail(err, SIGLIP_EBADMSG,
                           "tensor \"%s\": shape[%d] is not a non-negative integer", name, i);
        t->shape[i] = (int64_t)dim;
        if (__builtin_mul_overflow(numel, (size_t)dim, &numel))
            return sg_fail(err, SIGLIP_EBADMSG, "tensor \"%s\": the element count of its shape "
                           "overflows", name);
    }
    t->numel = numel;
    if (__builtin_mul_overflow(t->numel, sg_dtype_size(t->dtype), &t->nbytes))
        return sg_fail(err, SIGLIP_EBADMSG, "tensor \"%s\": the byte size of its shape overflows",
                       name);
    return SIGLIP_OK;
}

/* data_offsets → data pointer, checked against the shape and the data section. */
static int parse_offsets(const cJSON *entry, const char *name, const unsigned char *section,
                         size_t section_size, SgTensor *t, SgError *err)
{
    const cJSON *v = entry_field(entry, name, "data_offsets", NULL, NULL, err);
    if (!v)
        return SIGLIP_EBADMSG;
    double begin = -1, end = -1;
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2) {
        begin = json_uint(v->child);
        end = json_uint(v->child->next);
    }
    if (begin < 0 || end < 0 || begin > end)
        return sg_fail(err, SIGLIP_EBADMSG, "tensor \"%s\": \"data_offsets\" is not a pair of "
                       "integers [begin, end] with begin <= end", name);
    if (end > (double)section_size)
        return sg_fail(err, SIGLIP_EBADMSG, "tensor \"%s\": data_offsets [%.0f, %.0f] lie outside "
                       "the %zu-byte data section", name, begin, end, section_size);
    size_t have = (size_t)end - (size_t)begin;
    if (have != t->nbytes) {
        char shape[256];
        format_shape(t, shape, sizeof shape);
        return sg_fail(err, SIGLIP_EBADMSG, "tensor \"%s\": shape %s of %s needs %zu bytes but "
                       "data_offsets [%.0f, %.0f] hold %zu", name, shape, sg_dtype_name(t->dtype),
                       t->nbytes, begin, end, have);
    }
    t->data = section + (size_t)begin;
    return SIGLIP_OK;
}

static int parse_entry(const cJSON *entry, const unsigned char *section, size_t section_size,
                       TensorList *out, SgError *err)
{
    const char *name = entry->string;
    if (!cJSON_IsObject(entry))
        return sg_fail(err, SIGLIP_EBADMSG, "tensor \"%s\": entry is not an object", name);
    SgTensor t = {0};
    int rc = parse_dtype(entry, name, &t, err);
    if (!rc)
        rc = parse_shape(entry, name, &t, err);
    if (!rc)
        rc = parse_offsets(entry, name, section, section_size, &t, err);
    if (!rc)
        rc = list_push(out, &t, name, err);
    return rc;
}

/* Sorts items[0..n) by offset and refuses any two that share a byte. Sorted by start, a tensor
 * that clears its predecessor's end clears every earlier one too, so neighbours suffice. */
static int check_no_overlap(SgTensor *items, size_t n, const unsigned char *section, SgError *err)
{
    qsort(items, n, sizeof *items, cmp_by_offset);
    for (size_t i = 1; i < n; i++) {
        const SgTensor *a = &items[i - 1], *b = &items[i];
        size_t a_begin = (size_t)((const unsigned char *)a->data - section);
        size_t b_begin = (size_t)((const unsigned char *)b->data - section);
        if (b_begin < a_begin + a->nbytes)
            return sg_fail(err, SIGLIP_EBADMSG, "tensors \"%s\" [%zu, %zu) and \"%s\" [%zu, %zu) "
                           "overlap", a->name, a_begin, a_begin + a->nbytes, b->name, b_begin,
                           b_begin + b->nbytes);
    }
    return SIGLIP_OK;
}

static int only_spaces(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return 0;
    return 1;
}

/* The header as a JSON object (copied first: the mapping has no terminating NUL). */
static int parse_header_json(const unsigned char *text, size_t n, cJSON **root, SgError *err)
{
    char *copy = malloc(n + 1);
    if (!copy)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for a %zu-byte header", n);
    memcpy(copy, text, n);
    copy[n] = '\0';
    const char *stop = NULL;
    *root = cJSON_ParseWithLengthOpts(copy, n, &stop, 0);
    size_t at = stop ? (size_t)(stop - copy) : n;
    int rc = SIGLIP_OK;
    if (!*root || !only_spaces(copy + at, copy + n))
        rc = sg_fail(err, SIGLIP_EBADMSG, "header is not valid JSON (at byte %zu of %zu)", at, n);
    else if (!cJSON_IsObject(*root))
        rc = sg_fail(err, SIGLIP_EBADMSG, "header is not a JSON object");
    free(copy);
    if (rc) {
        cJSON_Delete(*root);
        *root = NULL;
    }
    return rc;
}

/* A little-endian unsigned integer of `bytes` bytes (1 to 8) at any alignment. */
static uint64_t load_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Reads the header length and checks it against the file. */
static int header_length(const unsigned char *data, size_t size, size_t *n, SgError *err)
{
    if (size < 8)
        return sg_fail(err, SIGLIP_EBADMSG, "file is %zu bytes: too short for a safetensors "
                       "header length", size);
    uint64_t len = load_le(data, 8);
    if (len > ST_MAX_HEADER)
        return sg_fail(err, SIGLIP_EBADMSG, "header length %llu is absurd (more than %llu)",
                       (unsigned long long)len, ST_MAX_HEADER);
    if (len > size - 8)
        return sg_fail(err, SIGLIP_EBADMSG, "header length %llu exceeds the %zu bytes after it "
                       "(truncated file?)", (unsigned long long)len, size - 8);
    *n = (size_t)len;
    return SIGLIP_OK;
}

/* Appends every tensor of one safetensors file (in memory) to out, validated. */
static int parse_file(const unsigned char *data, size_t size, TensorList *out, SgError *err)
{
    size_t header_len = 0;
    int rc = header_length(data, size, &header_len, err);
    cJSON *root = NULL;
    if (!rc)
        rc = parse_header_json(data + 8, header_len, &root, err);
    if (rc)
        return rc;
    const unsigned char *section = data + 8 + header_len;
    size_t section_size = size - 8 - header_len;
    size_t first = out->n;
    for (const cJSON *e = root->child; e && !rc; e = e->next) {
        if (strcmp(e->string, "__metadata__") != 0)
            rc = parse_entry(e, section, section_size, out, err);
        else if (!cJSON_IsObject(e))
            rc = sg_fail(err, SIGLIP_EBADMSG, "\"__metadata__\" is not an object");
    }
    cJSON_Delete(root);
    if (!rc && out->n > first)
        rc = check_no_overlap(out->items + first, out->n - first, section, err);
    return rc;
}

/* ---- archives -------------------------------------------------------------------------------- */

/* Takes the tensors of `list` (sorted by name, unique) into a new archive. */
static int archive_finish(SgSafetensors *st, TensorList *list, SgError *err)
{
    sort_by_name(list);
    int rc = check_unique_names(list, err);
    if (rc)
        return rc;
    st->tensors = list->items;
    st->n_tensors = list->n;
    memset(list, 0, sizeof *list);
    return SIGLIP_OK;
}

/* Fills st with the tensors of one safetensors file in memory. */
static int archive_fill(SgSafetensors *st, const unsigned char *data, size_t size, SgError *err)
{
    TensorList list = {0};
    int rc = parse_file(data, size, &list, err);
    if (!rc)
        rc = archive_finish(st, &list, err);
    list_free(&list);
    return rc;
}

static SgSafetensors *archive_new(size_t n_maps, SgError *err)
{
    SgSafetensors *st = calloc(1, sizeof *st);
    if (st && n_maps)
        st->maps = calloc(n_maps, sizeof *st->maps);
    if (!st || (n_maps && !st->maps)) {
        free(st);
        sg_fail(err, SIGLIP_ENOMEM, "out of memory for a safetensors archive");
        return NULL;
    }
    st->n_maps = n_maps;
    return st;
}

void sg_st_close(SgSafetensors **pst)
{
    if (!pst || !*pst)
        return;
    SgSafetensors *st = *pst;
    TensorList list = {st->tensors, st->n_tensors, st->n_tensors};
    list_free(&list);
    for (size_t i = 0; i < st->n_maps; i++)
        sg_unmap_file(&st->maps[i]);
    free(st->maps);
    free(st);
    *pst = NULL;
}

void sg_st_release(const SgSafetensors *st, const SgTensor *t)
{
    for (size_t i = 0; i < st->n_maps; i++)
        sg_mapped_release(&st->maps[i], t->data, t->nbytes);
}

int sg_st_open_memory(SgSafetensors **out, const void *data, size_t size, SgError *err)
{
    *out = NULL;
    if (!data && size)
        return sg_fail(err, SIGLIP_EINVAL, "safetensors data is NULL");
    SgSafetensors *st = archive_new(0, err);
    if (!st)
        return SIGLIP_ENOMEM;
    int rc = archive_fill(st, data, size, err);
    if (rc)
        sg_st_close(&st);
    *out = st;
    return rc;
}

static int open_single(SgSafetensors **out, const char *path, SgError *err)
{
    SgSafetensors *st = archive_new(1, err);
    if (!st)
        return SIGLIP_ENOMEM;
    int rc = sg_map_file(path, &st->maps[0], err);
    if (!rc && (rc = archive_fill(st, st->maps[0].data, st->maps[0].size, err)))
        sg_error_prefix(err, "%s: ", path);
    if (rc)
        sg_st_close(&st);
    *out = st;
    return rc;
}

/* ---- sharded archives (model.safetensors.index.json) ----------------------------------------- */

/* The index being opened: its weight_map and the distinct shards it names. */
typedef struct ShardSet {
    const cJSON *weight_map;
    const char **names;  /* [n] distinct shard file names, borrowed from the JSON tree */
    TensorList *tensors; /* [n] each shard's tensors, sorted by name */
    size_t n;
} ShardSet;

/* A bare file name: no directories, no way out of the index's folder. */
static int check_shard_name(const char *name, SgError *err)
{
    if (!name[0] || strchr(name, '/') || strchr(name, '\\') || strstr(name, ".."))
        return sg_fail(err, SIGLIP_EBADMSG, "weight_map: shard name \"%s\" is not a plain file "
                       "name in the index's folder", name);
    return SIGLIP_OK;
}

static long shard_slot(const ShardSet *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return (long)i;
    return -1;
}

/* Validates the weight_map and collects its distinct shard names. */
static int collect_shards(const cJSON *root, ShardSet *s, SgError *err)
{
    s->weight_map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(s->weight_map))
        return sg_fail(err, SIGLIP_EBADMSG, "no \"weight_map\" object");
    size_t n = (size_t)cJSON_GetArraySize(s->weight_map);
    if (n == 0)
        return sg_fail(err, SIGLIP_EBADMSG, "\"weight_map\" is empty");
    s->names = calloc(n, sizeof *s->names);
    if (!s->names)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for %zu shard names", n);
    for (const cJSON *e = s->weight_map->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return sg_fail(err, SIGLIP_EBADMSG, "weight_map[\"%s\"] is not a string", e->string);
        int rc = check_shard_name(e->valuestring, err);
        if (rc)
            return rc;
        if (shard_slot(s, e->valuestring) < 0)
            s->names[s->n++] = e->valuestring;
    }
    s->tensors = calloc(s->n, sizeof *s->tensors);
    if (!s->tensors)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for %zu shards", s->n);
    return SIGLIP_OK;
}

/* Maps and parses one shard; its tensors end up sorted by name. */
static int load_shard(SgMappedFile *map, const char *dir, const char *name, TensorList *list,
                      SgError *err)
{
    char *path = sg_path_join(dir, name);
    if (!path)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory");
    int rc = sg_map_file(path, map, err);
    if (rc) {
        sg_error_prefix(err, "weight_map names shard \"%s\": ", name);
    } else {
        rc = parse_file(map->data, map->size, list, err);
        if (!rc) {
            sort_by_name(list);
            rc = check_unique_names(list, err);
        }
        if (rc)
            sg_error_prefix(err, "%s: ", path);
    }
    free(path);
    return rc;
}

static int load_shards(SgSafetensors *st, const char *dir, ShardSet *s, SgError *err)
{
    int rc = SIGLIP_OK;
    for (size_t i = 0; i < s->n && !rc; i++)
        rc = load_shard(&st->maps[i], dir, s->names[i], &s->tensors[i], err);
    return rc;
}

/* The archive's tensors: each weight_map entry, taken from the shard it names. */
static int select_mapped(const ShardSet *s, TensorList *out, SgError *err)
{
    for (const cJSON *e = s->weight_map->child; e; e = e->next) {
        long slot = shard_slot(s, e->valuestring);
        const TensorList *shard = &s->tensors[slot];
        const SgTensor *t = find_sorted(shard->items, shard->n, e->string);
        if (!t)
            return sg_fail(err, SIGLIP_EBADMSG, "weight_map names tensor \"%s\" in shard \"%s\", "
                           "which does not hold it", e->string, e->valuestring);
        int rc = list_push(out, t, t->name, err);
        if (rc)
            return rc;
    }
    return SIGLIP_OK;
}

static void shards_free(ShardSet *s)
{
    if (s->tensors)
        for (size_t i = 0; i < s->n; i++)
            list_free(&s->tensors[i]);
    free(s->tensors);
    free(s->names);
}

/* The directory part of path ("." when there is none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

static int read_index_json(const char *path, cJSON **root, SgError *err)
{
    char *text = NULL;
    size_t size = 0;
    int rc = sg_read_file(path, SG_ST_INDEX_MAX_BYTES, &text, &size, err);
    if (rc)
        return rc;
    const char *stop = NULL;
    *root = cJSON_ParseWithLengthOpts(text, size, &stop, 0);
    if (!*root || (stop && !only_spaces(stop, text + size))) {
        size_t at = stop ? (size_t)(stop - text) : size;
        rc = sg_fail(err, SIGLIP_EBADMSG, "%s: not valid JSON (at byte %zu)", path, at);
    } else if (!cJSON_IsObject(*root)) {
        rc = sg_fail(err, SIGLIP_EBADMSG, "%s: not a JSON object", path);
    }
    free(text);
    if (rc) {
        cJSON_Delete(*root);
        *root = NULL;
    }
    return rc;
}

static int open_index(SgSafetensors **out, const char *path, SgError *err)
{
    cJSON *root = NULL;
    int rc = read_index_json(path, &root, err);
    if (rc)
        return rc;
    ShardSet shards = {0};
    SgSafetensors *st = NULL;
    TensorList list = {0};
    char *dir = dir_of(path);
    if (!dir)
        rc = sg_fail(err, SIGLIP_ENOMEM, "out of memory");
    if (!rc)
        rc = collect_shards(root, &shards, err);
    if (!rc && !(st = archive_new(shards.n, err)))
        rc = SIGLIP_ENOMEM;
    if (!rc)
        rc = load_shards(st, dir, &shards, err);
    if (!rc)
        rc = select_mapped(&shards, &list, err);
    if (!rc)
        rc = archive_finish(st, &list, err);
    if (rc)
        sg_error_prefix(err, "%s: ", path);
    list_free(&list);
    shards_free(&shards);
    free(dir);
    cJSON_Delete(root);
    if (rc)
        sg_st_close(&st);
    *out = st;
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A directory: model.safetensors, else model.safetensors.index.json. */
static int open_dir(SgSafetensors **out, const char *dir, SgError *err)
{
    static const char *const names[] = {"model.safetensors", "model.safetensors.index.json"};
    for (int i = 0; i < 2; i++) {
        char *path = sg_path_join(dir, names[i]);
        if (!path)
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory");
        int found = sg_file_exists(path), rc = SIGLIP_OK;
        if (found)
            rc = i == 0 ? open_single(out, path, err) : open_index(out, path, err);
        free(path);
        if (found)
            return rc;
    }
    return sg_fail(err, SIGLIP_ENOENT, "%s holds neither model.safetensors nor "
                   "model.safetensors.index.json", dir);
}

int sg_st_open(SgSafetensors **out, const char *path, SgError *err)
{
    *out = NULL;
    if (!path)
        return sg_fail(err, SIGLIP_EINVAL, "safetensors path is NULL");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return sg_fail(err, errno == ENOENT || errno == ENOTDIR ? SIGLIP_ENOENT : SIGLIP_EIO,
                       "cannot open %s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return open_dir(out, path, err);
    if (ends_with(path, ".json"))
        return open_index(out, path, err);
    return open_single(out, path, err);
}

size_t sg_st_count(const SgSafetensors *st)
{
    return st ? st->n_tensors : 0;
}

const SgTensor *sg_st_at(const SgSafetensors *st, size_t i)
{
    return st && i < st->n_tensors ? &st->tensors[i] : NULL;
}

const SgTensor *sg_st_find(const SgSafetensors *st, const char *name)
{
    return st && name ? find_sorted(st->tensors, st->n_tensors, name) : NULL;
}

/* ---- conversion to float32 ------------------------------------------------------------------- */

static float f32_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* IEEE binary16 → binary32, exact for every pattern (subnormals, infinities, NaN payloads). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1f)
        return f32_from_bits(sign | 0x7f800000u | mant << 13);
    if (exp != 0)
        return f32_from_bits(sign | (exp + 112) << 23 | mant << 13);
    float mag = (float)mant * 0x1p-24f; /* subnormal (or zero): mant · 2^-24, exact in float */
    return sign ? -mag : mag;
}

static void f16_to_f32(const unsigned char *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = half_to_float((uint16_t)load_le(src + 2 * i, 2));
}

static void bf16_to_f32(const unsigned char *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = f32_from_bits((uint32_t)load_le(src + 2 * i, 2) << 16);
}

static void f32_to_f32(const unsigned char *src, float *dst, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, n * sizeof *dst);
#else
    for (size_t i = 0; i < n; i++)
        dst[i] = f32_from_bits((uint32_t)load_le(src + 4 * i, 4));
#endif
}

static void f64_to_f32(const unsigned char *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = load_le(src + 8 * i, 8);
        double d;
        memcpy(&d, &bits, sizeof d);
        dst[i] = (float)d;
    }
}

int sg_tensor_check_float(const SgTensor *t, SgError *err)
{
    switch (t->dtype) {
    case SG_DTYPE_F32:
    case SG_DTYPE_F16:
    case SG_DTYPE_BF16:
    case SG_DTYPE_F64:
        return SIGLIP_OK;
    default:
        return sg_fail(err, SIGLIP_ENOTSUP, "tensor \"%s\": dtype %s is not a float type",
                       t->name ? t->name : "?", sg_dtype_name(t->dtype));
    }
}

void sg_tensor_range_to_f32(const SgTensor *t, size_t first, size_t n, float *dst)
{
    const unsigned char *src = (const unsigned char *)t->data + first * sg_dtype_size(t->dtype);
    switch (t->dtype) {
    case SG_DTYPE_F32: f32_to_f32(src, dst, n); break;
    case SG_DTYPE_F16: f16_to_f32(src, dst, n); break;
    case SG_DTYPE_BF16: bf16_to_f32(src, dst, n); break;
    case SG_DTYPE_F64: f64_to_f32(src, dst, n); break;
    default: break;
    }
}

int sg_tensor_to_f32(const SgTensor *t, float *dst, SgError *err)
{
    if (!t || (!dst && t->numel))
        return sg_fail(err, SIGLIP_EINVAL, "sg_tensor_to_f32: NULL argument");
    if (t->numel == 0)
        return SIGLIP_OK;
    int rc = sg_tensor_check_float(t, err);
    if (rc == SIGLIP_OK)
        sg_tensor_range_to_f32(t, 0, t->numel, dst);
    return rc;
}
