/*
 * encode.c -- percent-encoding, UUIDs and content types for vanectl (see
 * encode.h).
 *
 * The percent-encodings are the broker's own (core/percent.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/percent.h"
#include "encode.h"

char *encode_header_value(const char *value)
{
    struct vane_buf out = VANE_BUF_INIT;

    vane_percent_encode_header(&out, value, strlen(value));
    return vane_buf_detach(&out);
}

char *encode_url_component(const char *value)
{
    struct vane_buf out = VANE_BUF_INIT;

    vane_percent_encode_url(&out, value, strlen(value));
    return vane_buf_detach(&out);
}

char *encode_uuid_v4(void)
{
    unsigned char b[16];
    ssize_t got;

    do
        got = getrandom(b, sizeof(b), 0);
    while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof(b))
        return NULL;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* the RFC 4122 variant */
    return vane_asprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
                         b[11], b[12], b[13], b[14], b[15]);
}

const char *encode_guess_content_type(const void *data, size_t len)
{
    json_t *parsed = json_loadb(data, len, JSON_DECODE_ANY, NULL);
    json_t *text;

    if (parsed != NULL) {
        json_decref(parsed);
        return "application/json";
    }
    /* jansson checks UTF-8 when it makes a string: no second validator here. */
    if ((text = json_stringn(data, len)) != NULL) {
        json_decref(text);
        return "text/plain; charset=utf-8";
    }
    return "application/octet-stream";
}
