/*
 * percent.c -- percent-encoding and strict decoding (see percent.h).  The
 * two encodings are one loop with a different set of bytes kept as they are.
 */
#include <stdbool.h>

#include "core/percent.h"

static void encode(struct vane_buf *out, const char *value, size_t len,
                   bool (*keep)(unsigned char c))
{
    static const char hex[] = "0123456789ABCDEF";

    vane_buf_reserve(out, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        char escaped[3] = {'%', hex[c >> 4], hex[c & 0xf]};

        if (keep(c))
            vane_buf_append(out, &value[i], 1);
        else
            vane_buf_append(out, escaped, sizeof(escaped));
    }
}

static bool header_keeps(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != '%';
}

static bool url_keeps(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

void vane_percent_encode_header(struct vane_buf *out, const char *value, size_t len)
{
    encode(out, value, len, header_keeps);
}

void vane_percent_encode_url(struct vane_buf *out, const char *value, size_t len)
{
    encode(out, value, len, url_keeps);
}

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
