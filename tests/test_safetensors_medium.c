/* test_safetensors_medium.c — the sharded BF16 medium-bf16 fixture: every tensor of the index is
 * found in its shard, and BF16 → F32 conversion matches values read independently with numpy.
 * Skipped (exit 77) when the medium fixtures are absent. */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/fileio.h"
#include "harness.h"
#include "tensor_expect.h"
#include "model/safetensors.h"

/* Read from ../shared/fixtures/medium-bf16 with /usr/bin/python3 + numpy, parsing each shard by
 * hand (struct.unpack('<Q') header length, json.loads header, np.frombuffer(raw, '<u2') widened
 * to float32 by << 16): first two and last elements, the element at numel/2, and the float64 sum
 * of all elements (numpy's pairwise sum). Shards 1, 2 and 3 are all represented. */

static const Expected medium_expected[] = {
    {"logit_scale", 1, {1}, {2.296875, 2.296875}, 2.296875, 2.296875, 2.296875},
    {"logit_bias", 1, {1}, {-2.5, -2.5}, -2.5, -2.5, -2.5},
    {"text_model.embeddings.token_embedding.weight", 2, {1000, 768},
     {-0.0184326171875, 0.037109375}, -0.01470947265625, 0.06689453125, 22.71860330636264},
    {"vision_model.embeddings.patch_embedding.weight", 4, {768, 3, 16, 16},
     {-3.0279159545898438e-05, 0.01953125}, -0.0038909912109375, -0.0228271484375,
     10.985027408925816},
    {"vision_model.head.attention.in_proj_weight", 2, {2304, 768},
     {0.0279541015625, -0.044189453125}, 0.019287109375, -0.010009765625, 39.693547005415894},
    {"vision_model.post_layernorm.weight", 1, {768}, {1.015625, 1.0859375}, 0.99609375,
     1.0546875, 770.62109375},
    {"vision_model.head.mlp.fc1.bias", 1, {3072}, {0.001373291015625, 0.0146484375},
     0.01123046875, -0.10009765625, 2.802163541316986},
    {"vision_model.head.mlp.fc1.weight", 2, {3072, 768}, {-0.0281982421875, 0.037109375},
     -0.0240478515625, 0.0002956390380859375, 5.382040249824058},
};

/* Every weight_map entry (read here with cJSON) is in the archive, as BF16. */
static void check_index_complete(const SgSafetensors *st, const char *index_path)
{
    char *text = NULL;
    size_t size = 0;
    SgError err = {0};
    int rc = sg_read_file(index_path, 1 << 20, &text, &size, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    cJSON *root = rc ? NULL : cJSON_ParseWithLength(text, size);
    const cJSON *map = cJSON_GetObjectItem(root, "weight_map");
    CHECK(cJSON_IsObject(map), "index has a weight_map");
    size_t n = 0;
    for (const cJSON *e = map ? map->child : NULL; e; e = e->next, n++) {
        const SgTensor *t = sg_st_find(st, e->string);
        CHECK(t && t->dtype == SG_DTYPE_BF16, "%s (shard %s) missing or not BF16", e->string,
              e->valuestring);
    }
    CHECK(n == 56 && sg_st_count(st) == n, "%zu weight_map entries, %zu tensors", n,
          sg_st_count(st));
    cJSON_Delete(root);
    free(text);
}

int main(void)
{
    const char *medium = sg_test_require_medium();
    char dir[4096], index[4200];
    snprintf(dir, sizeof dir, "%s/medium-bf16", medium);
    snprintf(index, sizeof index, "%s/model.safetensors.index.json", dir);
    const char *paths[] = {dir, index}; /* the directory falls back to the index */
    for (int p = 0; p < 2; p++) {
        SgSafetensors *st = check_file(paths[p], medium_expected,
                                       sizeof medium_expected / sizeof medium_expected[0],
                                       SG_DTYPE_BF16);
        if (st)
            check_index_complete(st, index);
        sg_st_close(&st);
    }
    return sg_test_finish("test_safetensors_medium");
}
