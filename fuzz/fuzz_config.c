/* fuzz_config.c — config.json text through sg_config_parse, and every parsed field read back. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SgError err;
    SgConfig cfg;
    /* The parser takes (text, length): no NUL needed, and none is given, so reads past the end
     * are caught. */
    if (sg_config_parse((const char *)data, size, &cfg, &err) == 0) {
        size_t total = 0;
        for (int i = 0; i < cfg.num_labels; i++)
            total += strlen(cfg.id2label[i]);
        /* what config.h promises of a parsed config (positive sizes, D % H == 0,
         * patch_size <= image_size) */
        if (cfg.vision.hidden_size <= 0 || cfg.vision.num_attention_heads <= 0 ||
            cfg.vision.hidden_size % cfg.vision.num_attention_heads != 0 ||
            cfg.vision.patch_size <= 0 || cfg.vision.patch_size > cfg.vision.image_size ||
            total == (size_t)-1)
            abort();
    }
    sg_config_free(&cfg);
    return 0;
}
