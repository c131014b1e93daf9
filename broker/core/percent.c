/*
 * percent.c -- strict percent-decoding (see percent.h).
 */
#include "core/percent.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long vane_percent_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++, n++) {
        int hi, lo;

        if (n >= cap)
            return -1;
        if (in[i] != '%') {
            out[n] = in[i];
            continue;
        }
        if (i + 2 >= len || (hi = hex_value(in[i + 1])) < 0 || (lo = hex_value(in[i + 2])) < 0)
            return -1;
        out[n] = (char)(hi << 4 | lo);
        i += 2;
    }
    return (long)n;
}
