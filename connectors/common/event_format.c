/*
 * event_format.c -- events as CloudEvents JSON and attribute text (see
 * event_format.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <jansson.h>

#include "event_format.h"

void event_format_json_string(struct strbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    strbuf_append(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        const char *short_form = NULL;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        strbuf_append(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': short_form = "\\\""; break;
        case '\\': short_form = "\\\\"; break;
        case '\n': short_form = "\\n"; break;
        case '\r': short_form = "\\r"; break;
        case '\t': short_form = "\\t"; break;
        }
        if (short_form != NULL)
            strbuf_append(out, short_form, 2);
        else
            strbuf_append(out, esc, sizeof(esc));
    }
    strbuf_append(out, s + run, len - run);
    strbuf_append(out, "\"", 1);
}

void event_format_base64(struct strbuf *out, const char *bytes, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *in = (const unsigned char *)bytes;

    for (size_t i = 0; i < len; i += 3) {
        unsigned triple = (unsigned)in[i] << 16;
        char quad[4];

        if (i + 1 < len)
            triple |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            triple |= in[i + 2];
        quad[0] = alphabet[(triple >> 18) & 63];
        quad[1] = alphabet[(triple >> 12) & 63];
        quad[2] = i + 1 < len ? alphabet[(triple >> 6) & 63] : '=';
        quad[3] = i + 2 < len ? alphabet[triple & 63] : '=';
        strbuf_append(out, quad, 4);
    }
}

void event_format_value(const struct vane_value *value, struct strbuf *out)
{
    switch (value->type) {
    case VANE_BOOLEAN:
        strbuf_append_str(out, value->boolean ? "true" : "false");
        break;
    case VANE_INTEGER:
        strbuf_appendf(out, "%lld", (long long)value->integer);
        break;
    case VANE_BINARY:
        event_format_base64(out, value->ptr, value->len);
        break;
    default:
        strbuf_append(out, value->ptr, value->len);
    }
}

bool event_format_is_json_type(const char *type, size_t len)
{
    const char *semi = memchr(type, ';', len), *slash;
    size_t n = semi != NULL ? (size_t)(semi - type) : len;

    while (n > 0 && (type[n - 1] == ' ' || type[n - 1] == '\t'))
        n--;
    slash = memchr(type, '/', n);
    if (slash == NULL)
        return false;
    n -= (size_t)(slash + 1 - type);
    type = slash + 1;
    return (n == 4 && strncasecmp(type, "json", 4) == 0) ||
           (n > 5 && strncasecmp(type + n - 5, "+json", 5) == 0);
}

bool event_format_attr(const struct vane_host *host, const struct vane_event *ev,
                       const char *name, struct strbuf *out)
{
    struct vane_value value;

    strbuf_reset(out);
    if (host->event_get(ev, name, &value) != 1)
        return false;
    event_format_value(&value, out);
    return true;
}

static void write_json_value(const struct vane_value *value, struct strbuf *out)
{
    struct strbuf text = STRBUF_INIT;

    switch (value->type) {
    case VANE_BOOLEAN:
    case VANE_INTEGER:
        event_format_value(value, out);
        break;
    case VANE_BINARY:
        event_format_value(value, &text);
        event_format_json_string(out, text.data, text.len);
        break;
    default:
        event_format_json_string(out, value->ptr, value->len);
    }
    strbuf_free(&text);
}

static bool parses_as_json(const char *bytes, size_t len)
{
    json_error_t error;
    json_t *doc = json_loadb(bytes, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &error);

    json_decref(doc);
    return doc != NULL;
}

/* Valid UTF-8 (control characters are allowed: they are escaped). */
static bool is_utf8(const char *bytes, size_t len)
{
    json_t *s = json_stringn(bytes, len);

    json_decref(s);
    return s != NULL;
}

static void write_data(const struct vane_host *host, const struct vane_event *ev,
                       const char *bytes, size_t len, struct strbuf *out)
{
    struct vane_value type;

    if (host->event_get(ev, "datacontenttype", &type) == 1 && type.type == VANE_STRING) {
        bool json_type = event_format_is_json_type(type.ptr, type.len);

        if (json_type && parses_as_json(bytes, len)) {
            strbuf_append_str(out, "\"data\":");
            strbuf_append(out, bytes, len);
            return;
        }
        if (!json_type && is_utf8(bytes, len)) {
            strbuf_append_str(out, "\"data\":");
            event_format_json_string(out, bytes, len);
            return;
        }
    }
    strbuf_append_str(out, "\"data_base64\":\"");
    event_format_base64(out, bytes, len);
    strbuf_append(out, "\"", 1);
}

void event_format_json(const struct vane_host *host, const struct vane_event *ev,
                       struct strbuf *out)
{
    size_t count = host->event_attr_count(ev);
    const char *bytes;
    size_t len;

    strbuf_append(out, "{", 1);
    for (size_t i = 0; i < count; i++) {
        const char *name;
        size_t name_len;
        struct vane_value value;

        if (host->event_attr_at(ev, i, &name, &name_len, &value) != 1)
            continue;
        if (out->data[out->len - 1] != '{')
            strbuf_append(out, ",", 1);
        event_format_json_string(out, name, name_len);
        strbuf_append(out, ":", 1);
        write_json_value(&value, out);
    }
    if (host->event_data(ev, &bytes, &len) == 1) {
        if (out->data[out->len - 1] != '{')
            strbuf_append(out, ",", 1);
        write_data(host, ev, bytes, len, out);
    }
    strbuf_append(out, "}", 1);
}

void event_format_now(char out[EVENT_FORMAT_NOW_SIZE])
{
    struct timeval tv;
    struct tm tm;
    size_t n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(out, EVENT_FORMAT_NOW_SIZE, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, EVENT_FORMAT_NOW_SIZE - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}
