/* test_kernel_warnings.c — every program of cl/ compiles on the test device without a single
 * compiler warning: the build logs (kept by the library, never printed) must not mention one. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ocl/kernels.h"

int main(void)
{
    /* PoCL caches compiled kernels itself and logs nothing for a cached one; with its cache off
     * (read at platform start-up, so before any OpenCL call) and no program cache of ours, every
     * program is compiled from source here. */
    setenv("POCL_KERNEL_CACHE", "0", 1);
    SgError err = {0};
    SgDevice *dev = NULL;
    int rc = sg_device_open_limited(&dev, sg_test_device(), NULL, NULL, sg_test_limits(), &err);
    if (rc == SIGLIP_ENODEV) {
        fprintf(stderr, "skipped: %s\n", err.message);
        return SG_TEST_SKIP;
    }
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    /* The GEMMs for bf16, f16 and q8 weights are built on first use: build them now too. */
    for (int t = SG_ELEM_BF16; dev && t <= SG_ELEM_I8; t++)
        CHECK_STATUS(sg_kernels_require_weight(dev, (SgElemType)t, &err), SIGLIP_OK, err.message);
    const char *log, *name = NULL;
    size_t i = 0;
    for (; dev && (log = sg_kernels_build_log(dev, i, &name)) != NULL; i++) {
        CHECK(strstr(log, "warning") == NULL, "cl/%s builds with warnings:\n%s", name, log);
        printf("cl/%s: %s\n", name, *log ? "log without warnings" : "empty build log");
    }
    CHECK(!dev || i >= 9, "only %zu build logs", i);
    sg_device_close(&dev);
    return sg_test_finish("test_kernel_warnings");
}
