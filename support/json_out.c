/* json_out.c — JSON string escaping, number formatting and arrays built in memory for the siglip
 * tool's --json output and .safetensors metadata. */
#include "json_out.h"

#include <math.h>
#include <stdlib.h>

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 when it is not valid. */
static int utf8_sequence_length(const unsigned char *s)
{
    unsigned c = s[0];
    int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (n == 2 && c < 0xC2) || (n == 4 && c > 0xF4))
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    /* Overlong 3/4-byte forms, UTF-16 surrogates and code points above U+10FFFF. */
    if (n == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)))
        return 0;
    if (n == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)))
        return 0;
    return n;
}

void json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        int n = utf8_sequence_length(p);
        if (n == 0) {
            fputs("\\ufffd", f);
            p++;
            continue;
        }
        if (n > 1) {
            fwrite(p, 1, (size_t)n, f);
            p += n;
            continue;
        }
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20 || *p == 0x7F)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
        p++;
    }
    fputc('"', f);
}

void json_number(FILE *f, double v, int digits)
{
    if (!isfinite(v))
        fputs("null", f);
    else
        fprintf(f, "%.*g", digits, v);
}

void json_float(FILE *f, double v)
{
    json_number(f, v, 9);
}

void json_float_list(FILE *f, const float *v, int n, const char *sep)
{
    for (int i = 0; i < n; i++) {
        if (i)
            fputs(sep, f);
        json_float(f, v[i]);
    }
}

void json_int_array(FILE *f, const int32_t *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, i ? ", %d" : "%d", (int)v[i]);
    fputc(']', f);
}

char *json_array(int n, JsonItem *item, const void *ctx)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        item(f, i, ctx);
    }
    fputc(']', f);
    return fclose(f) ? (free(buf), NULL) : buf;
}
