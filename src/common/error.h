/* error.h — the status + message pair every internal function reports failures through. */
#ifndef SG_COMMON_ERROR_H
#define SG_COMMON_ERROR_H

#include <stdarg.h>

#include "siglip.h"

/* Room for one line plus an OpenCL build log; longer logs are cut with a marker. */
#define SG_ERROR_MESSAGE_SIZE 16384

/* One failure: a SIGLIP_E* code and its message. Each context, tokenizer and image processor owns
 * one; internal functions take a SgError * and fill it when they fail. */
typedef struct SgError {
    int code;
    char message[SG_ERROR_MESSAGE_SIZE];
} SgError;

/* Records a failure and returns `code`, so callers can write `return sg_fail(err, ...)`.
 * err may be NULL (the message is then dropped). */
int sg_fail(SgError *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int sg_vfail(SgError *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Appends text to the message already recorded (e.g. a build log after its headline). */
void sg_error_append(SgError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the recorded message with context ("loading tiny/config.json: <old message>"). */
void sg_error_prefix(SgError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void sg_error_clear(SgError *err);

/* Records src's failure in dst too (a handle's own message passed on to the caller's record) and
 * returns its code. */
int sg_error_pass(SgError *dst, const SgError *src);

#endif /* SG_COMMON_ERROR_H */
