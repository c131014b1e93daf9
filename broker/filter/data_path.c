/*
 * data_path.c -- "data.<path>" filter keys (see data_path.h).
 *
 * A path is parsed once, when its filter is compiled, into steps that point
 * into one owned copy of its text; finding a value is then a walk of
 * json_object_getn() and json_array_get() calls with no allocation.  The
 * data itself is parsed by jansson, once per filter_match() (filter.c keeps
 * the result for every path of that call).
 *
 * Numbers: jansson refuses a document with an integer beyond 64 bits, so
 * such a document is parsed again with every number as a double.  Text of a
 * double is the shortest %g that reads back as the same double, which is
 * also how Vanus (Go's %v) prints one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "event/event_json.h"
#include "filter/data_path.h"

/* The decimal index digits[0..len) stands for, when it is one (no sign, no leading zero). */
static bool parse_index(const char *digits, size_t len, size_t *index)
{
    size_t value = 0;

    if (len == 0 || (digits[0] == '0' && len > 1))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (digits[i] < '0' || digits[i] > '9' || value > (SIZE_MAX - 9) / 10)
            return false;
        value = value * 10 + (size_t)(digits[i] - '0');
    }
    *index = value;
    return true;
}

/* Bytes from p before the next ".", "[" or "]" (or end). */
static size_t name_length(const char *p, const char *end)
{
    const char *q = p;

    while (q < end && *q != '.' && *q != '[' && *q != ']')
        q++;
    return (size_t)(q - p);
}

static struct data_step *add_step(struct data_path *path, size_t *cap)
{
    if (path->count == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        path->steps = vane_realloc(path->steps, *cap * sizeof(*path->steps));
    }
    memset(&path->steps[path->count], 0, sizeof(*path->steps));
    return &path->steps[path->count++];
}

/* The "[index]" suffixes of a segment, from *pos; returns 0 or -EINVAL. */
static int parse_brackets(struct data_path *path, size_t *cap, const char *end, const char **pos,
                          char *why, size_t why_size)
{
    const char *p = *pos;

    while (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        struct data_step *step;
        size_t index;

        if (close == NULL || !parse_index(p + 1, (size_t)(close - p - 1), &index)) {
            snprintf(why, why_size,
                     "expected [<index>] with a decimal array index at byte %zu of the path "
                     "after \"data.\"",
                     (size_t)(p - path->text));
            return -EINVAL;
        }
        step = add_step(path, cap);
        step->index = index;
        step->has_index = true;
        p = close + 1;
    }
    *pos = p;
    return 0;
}

int data_path_parse(const char *text, size_t len, struct data_path *out, char *why,
                    size_t why_size)
{
    size_t cap = 0;
    const char *p, *end;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->text = vane_strndup(text, len);
    p = out->text;
    end = p + len;
    while (rc == 0) {
        size_t name_len = name_length(p, end);
        struct data_step *step;

        if (name_len == 0) {
            snprintf(why, why_size,
                     "expected a member name at byte %zu of the path after \"data.\" "
                     "(segments are separated by single dots and must not be empty)",
                     (size_t)(p - out->text));
            rc = -EINVAL;
            break;
        }
        step = add_step(out, &cap);
        step->key = p;
        step->key_len = name_len;
        step->has_index = parse_index(p, name_len, &step->index);
        p += name_len;
        rc = parse_brackets(out, &cap, end, &p, why, why_size);
        if (rc != 0 || p == end)
            break;
        if (*p != '.') {
            snprintf(why, why_size,
                     "expected \".\" or \"[\" at byte %zu of the path after \"data.\"",
                     (size_t)(p - out->text));
            rc = -EINVAL;
            break;
        }
        p++;
    }
    if (rc != 0)
        data_path_free(out);
    return rc;
}

void data_path_free(struct data_path *path)
{
    vane_free(path->steps);
    vane_free(path->text);
    memset(path, 0, sizeof(*path));
}

/* true when the event says its data is something other than JSON. */
static bool declared_not_json(const struct event *event)
{
    const struct event_attr *ct = event_get(event, "datacontenttype");

    return ct != NULL && ct->value.type == EVENT_STRING &&
           !event_content_type_is_json(ct->value.u.bytes.ptr, ct->value.u.bytes.len);
}

json_t *data_path_load(const struct event *event)
{
    json_error_t error;
    json_t *root;

    if (!event->has_data || event->data.len == 0 || declared_not_json(event))
        return NULL;
    root = json_loadb(event->data.ptr, event->data.len, JSON_DECODE_ANY, &error);
    if (root == NULL && json_error_code(&error) == json_error_numeric_overflow)
        root = json_loadb(event->data.ptr, event->data.len,
                          JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &error);
    return root;
}

static json_t *take_step(const struct data_step *step, json_t *value)
{
    if (json_is_array(value))
        return step->has_index ? json_array_get(value, step->index) : NULL;
    if (json_is_object(value) && step->key != NULL)
        return json_object_getn(value, step->key, step->key_len);
    return NULL;
}

json_t *data_path_find(const struct data_path *path, json_t *root)
{
    json_t *value = root;

    for (size_t i = 0; i < path->count && value != NULL; i++)
        value = take_step(&path->steps[i], value);
    return value;
}

/* The shortest %g text of d that strtod() reads back as d. */
static size_t real_text(double d, char *buf)
{
    int n = 0;

    for (int precision = 1; precision <= 17; precision++) {
        n = snprintf(buf, DATA_PATH_TEXT_MAX, "%.*g", precision, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return (size_t)n;
}

bool data_path_text(json_t *value, char *buf, const char **ptr, size_t *len)
{
    switch (value ? json_typeof(value) : JSON_NULL) {
    case JSON_STRING:
        *ptr = json_string_value(value);
        *len = json_string_length(value);
        return true;
    case JSON_INTEGER:
        *ptr = buf;
        *len = (size_t)snprintf(buf, DATA_PATH_TEXT_MAX, "%" JSON_INTEGER_FORMAT,
                                json_integer_value(value));
        return true;
    case JSON_REAL:
        *ptr = buf;
        *len = real_text(json_real_value(value), buf);
        return true;
    case JSON_TRUE:
    case JSON_FALSE:
        *ptr = json_is_true(value) ? "true" : "false";
        *len = strlen(*ptr);
        return true;
    default:
        return false;
    }
}
