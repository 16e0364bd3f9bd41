/* text.c — small string helpers shared by the parsers and the device layer. */
#include "common/text.h"

#include <string.h>
#include <strings.h>

int sg_icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}
