/* fuzz_safetensors.c — a safetensors file parsed from memory (header JSON, dtypes, shapes, offsets),
 * then every tensor it lists converted to float32 as the weight loader does. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SgError err;
    SgSafetensors *st = NULL;
    if (sg_st_open_memory(&st, data, size, &err) != 0)
        return 0;
    for (size_t i = 0; i < sg_st_count(st); i++) {
        const SgTensor *t = sg_st_at(st, i);
        if (sg_st_find(st, t->name) != t)
            abort(); /* names are unique, so the lookup must find this very tensor */
        float *f32 = malloc(t->numel ? t->numel * sizeof *f32 : 1);
        if (!f32)
            abort();
        sg_tensor_to_f32(t, f32, &err); /* non-float dtypes: ENOTSUP, fine */
        free(f32);
    }
    sg_st_close(&st);
    return 0;
}
