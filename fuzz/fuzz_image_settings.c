/* fuzz_image_settings.c — preprocessor_config.json / processor_config.json text through
 * sg_image_settings_parse (flat or nested under "image_processor"), and the same text as Immich's
 * preprocess_cfg.json through sg_image_settings_parse_immich. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_cstring(data, size); /* the parser reads NUL-terminated text */
    SgError err;
    SgImageSettings s;
    if (sg_image_settings_parse(json, "processor_config.json", &s, &err) == 0) {
        /* a size the preprocessing can use, and a std it can divide by */
        if (s.do_resize && (s.height <= 0 || s.width <= 0))
            abort();
        for (int c = 0; c < 3; c++)
            if (s.do_normalize && s.image_std[c] == 0.0f)
                abort();
    }
    sg_image_settings_default(&s);
    if (sg_image_settings_parse_immich(json, "preprocess_cfg.json", &s, &err) == 0) {
        /* a square output, a PIL filter, a std it can divide by */
        if (!s.immich || s.height <= 0 || s.height != s.width || s.resample < 0 ||
            s.resample > 5)
            abort();
        for (int c = 0; c < 3; c++)
            if (s.image_std[c] == 0.0f)
                abort();
    }
    free(json);
    return 0;
}
