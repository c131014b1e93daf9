/*
 * json_span.c -- skipping over JSON values to find their text (see
 * json_span.h).
 */
#include <string.h>

#include "core/json_span.h"

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at an opening quote: returns just past the closing one, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* p at the start of a value: returns just past its end, or NULL. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;

    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p != '{' && *p != '[') {
        while (p < end && strchr(",}] \t\r\n", *p) == NULL)
            p++;
        return p;
    }
    while (p < end) {
        if (*p == '"') {
            if ((p = skip_string(p, end)) == NULL)
                return NULL;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
        p++;
    }
    return NULL;
}

bool json_span_member(struct json_span text, const char *key, struct json_span *value)
{
    const char *end = text.ptr + text.len, *p = skip_space(text.ptr, end);
    size_t key_len = strlen(key);

    if (p >= end || *p++ != '{')
        return false;
    for (;;) {
        const char *name, *name_end, *v;

        p = skip_space(p, end);
        if (p >= end || *p != '"')
            return false;
        name = p + 1;
        if ((name_end = skip_string(p, end)) == NULL)
            return false;
        p = skip_space(name_end, end);
        if (p >= end || *p++ != ':')
            return false;
        v = skip_space(p, end);
        if ((p = skip_value(v, end)) == NULL)
            return false;
        if ((size_t)(name_end - 1 - name) == key_len && memcmp(name, key, key_len) == 0) {
            value->ptr = v;
            value->len = (size_t)(p - v);
            return true;
        }
        p = skip_space(p, end);
        if (p >= end || *p++ != ',')
            return false;
    }
}

long json_span_elements(struct json_span text, struct json_span *elems, size_t max)
{
    const char *end = text.ptr + text.len, *p = skip_space(text.ptr, end);
    size_t n = 0;

    if (p >= end || *p++ != '[')
        return -1;
    p = skip_space(p, end);
    if (p < end && *p == ']')
        return 0;
    for (;;) {
        const char *v = skip_space(p, end);

        if (n == max || (p = skip_value(v, end)) == NULL)
            return -1;
        elems[n].ptr = v;
        elems[n++].len = (size_t)(p - v);
        p = skip_space(p, end);
        if (p < end && *p == ']')
            return (long)n;
        if (p >= end || *p++ != ',')
            return -1;
    }
}
