/* error.c — recording, extending and describing failures (SgError, siglip_strerror). */
#include "common/error.h"

#include <stdio.h>
#include <string.h>

int sg_vfail(SgError *err, int code, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return code;
}

int sg_fail(SgError *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sg_vfail(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void sg_error_append(SgError *err, const char *fmt, ...)
{
    if (!err)
        return;
    size_t used = strlen(err->message);
    if (used + 1 >= sizeof err->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message + used, sizeof err->message - used, fmt, ap);
    va_end(ap);
    static const char cut[] = "\n[... truncated]";
    if (n >= 0 && (size_t)n >= sizeof err->message - used)
        memcpy(err->message + sizeof err->message - sizeof cut, cut, sizeof cut);
}

void sg_error_prefix(SgError *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t hl = strlen(head);
    size_t ml = strlen(err->message);
    if (hl + ml + 1 > sizeof err->message)
        ml = sizeof err->message - hl - 1;
    memmove(err->message + hl, err->message, ml);
    memcpy(err->message, head, hl);
    err->message[hl + ml] = '\0';
}

void sg_error_clear(SgError *err)
{
    if (!err)
        return;
    err->code = 0;
    err->message[0] = '\0';
}

int sg_error_pass(SgError *dst, const SgError *src)
{
    return sg_fail(dst, src->code, "%s", src->message);
}

const char *siglip_strerror(int status)
{
    switch (status) {
    case SIGLIP_OK: return "success";
    case SIGLIP_ENOENT: return "no such file or directory";
    case SIGLIP_EIO: return "input/output error";
    case SIGLIP_E2BIG: return "input exceeds a limit";
    case SIGLIP_ENOMEM: return "out of memory";
    case SIGLIP_ENODEV: return "no matching OpenCL device";
    case SIGLIP_EINVAL: return "invalid argument";
    case SIGLIP_EBADMSG: return "malformed input";
    case SIGLIP_ENOTSUP: return "unsupported";
    case SIGLIP_EDEVICE: return "OpenCL error";
    case SIGLIP_EBUILD: return "OpenCL kernel build failed";
    case SIGLIP_ESHAPE: return "tensor missing or of the wrong shape";
    default: return "unknown error";
    }
}
