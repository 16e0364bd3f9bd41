/* fuzz_safetensors_index.c — model.safetensors.index.json text through sg_st_open: the input is
 * written as the index into a scratch directory holding two small valid shards, so weight_map
 * entries may name real shards, real tensors, missing ones or bad file names. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "model/safetensors.h"
#include "st_writer.h"

/* The shards next to the index: model-00001-of-00002 holds "a" and "b", model-00002-of-00002
 * holds "c" and "d" (the seed corpus names them the same way). */
static void write_shards(const char *dir)
{
    static const float a[6] = {1, 2, 3, 4, 5, 6};
    static const float b[2] = {-1, 1};
    static const float c[3] = {0.5f, 0.25f, 0.125f};
    static const int64_t d[2] = {7, 8};
    const StTensor first[] = {
        {.name = "a", .dtype = "F32", .ndim = 2, .shape = {2, 3}, .data = a},
        {.name = "b", .dtype = "F32", .ndim = 1, .shape = {2}, .data = b},
    };
    const StTensor second[] = {
        {.name = "c", .dtype = "F32", .ndim = 1, .shape = {3}, .data = c},
        {.name = "d", .dtype = "I64", .ndim = 1, .shape = {2}, .data = d},
    };
    char err[256];
    char *p1 = fuzz_write_file(dir, "model-00001-of-00002.safetensors", "", 0);
    char *p2 = fuzz_write_file(dir, "model-00002-of-00002.safetensors", "", 0);
    if (st_write(p1, first, 2, err, sizeof err) != 0 || st_write(p2, second, 2, err, sizeof err) != 0)
        abort();
    free(p1);
    free(p2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *index_path;
    if (!index_path) {
        const char *dir = fuzz_scratch_dir();
        write_shards(dir);
        index_path = fuzz_write_file(dir, "model.safetensors.index.json", "", 0);
    }
    free(fuzz_write_file(fuzz_scratch_dir(), "model.safetensors.index.json", data, size));

    SgError err;
    SgSafetensors *st = NULL;
    if (sg_st_open(&st, index_path, &err) != 0)
        return 0;
    for (size_t i = 0; i < sg_st_count(st); i++) {
        const SgTensor *t = sg_st_at(st, i);
        if (sg_st_find(st, t->name) != t)
            abort();
        float f32[8]; /* the shards' largest tensor has 6 elements */
        if (t->numel > 8)
            abort();
        sg_tensor_to_f32(t, f32, &err);
    }
    sg_st_close(&st);
    return 0;
}
