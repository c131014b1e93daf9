/*
 * event_json.c -- structured-mode JSON in and out (see event_json.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "event/event_json.h"

#define JSON_DATA_FLAGS \
    (JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

static const char *const spec_attributes[] = {
    "specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time",
};

static bool is_spec_attribute(const char *name)
{
    for (size_t i = 0; i < sizeof(spec_attributes) / sizeof(spec_attributes[0]); i++)
        if (strcmp(name, spec_attributes[i]) == 0)
            return true;
    return false;
}

bool event_content_type_is_json(const char *type, size_t len)
{
    const char *semi = memchr(type, ';', len), *slash;
    size_t n = semi ? (size_t)(semi - type) : len;

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

/*
 * A JSON real that the client wrote as an integer literal: a document with an
 * integer too large for jansson anywhere (in data, say) is parsed with every
 * integer as a real, and the member's own text tells which were integers.
 */
static bool integer_written(json_t *value, const char *name, struct json_span text,
                            int64_t *out)
{
    struct json_span raw;
    double d = json_real_value(value);

    if (!json_is_real(value) || text.ptr == NULL || !json_span_member(text, name, &raw) ||
        raw.len == 0 || strspn(raw.ptr + (*raw.ptr == '-'), "0123456789") + (*raw.ptr == '-') !=
                            raw.len ||
        d < -9007199254740992.0 || d > 9007199254740992.0)
        return false;
    *out = (int64_t)d;
    return true;
}

/* One attribute member: a string, or for extensions also an integer or boolean. */
static int add_attribute(struct event *event, const char *name, json_t *value,
                         struct json_span text, struct event_error *err)
{
    struct event_value v;

    if (json_is_string(value)) {
        v.type = event_attr_type(name, strlen(name));
        v.u.bytes.ptr = json_string_value(value);
        v.u.bytes.len = json_string_length(value);
    } else if (is_spec_attribute(name) || strcmp(name, EVENT_DELIVERY_TIME) == 0) {
        return event_fail(err, "bad_attribute_value", name, "%s: expected a JSON string", name);
    } else if (json_is_boolean(value)) {
        v.type = EVENT_BOOLEAN;
        v.u.boolean = json_is_true(value);
    } else if (json_is_integer(value)) {
        v.type = EVENT_INTEGER;
        v.u.integer = json_integer_value(value);
    } else if (integer_written(value, name, text, &v.u.integer)) {
        v.type = EVENT_INTEGER;
    } else {
        return event_fail(err, "bad_attribute_value", name,
                          "extension %s: expected a string, an integer or a boolean", name);
    }
    event_add(event, name, strlen(name), &v);
    return 0;
}

static int decode_base64(json_t *value, struct event *event, struct vane_arena *arena,
                         struct event_error *err)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    const char *text = json_string_value(value);
    size_t len = json_string_length(value), pad = 0;
    unsigned char *out;
    int n = 0;

    if (text == NULL || len % 4 != 0 || strspn(text, alphabet) != len)
        goto bad;
    while (pad < 2 && pad < len && text[len - 1 - pad] == '=')
        pad++;
    if (memchr(text, '=', len - pad) != NULL)
        goto bad;
    out = vane_arena_alloc(arena, len / 4 * 3 + 1);
    if (len > 0 && (n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len)) < 0)
        goto bad;
    event_set_data(event, out, len > 0 ? (size_t)n - pad : 0);
    return 0;
bad:
    return event_fail(err, "bad_data_base64", "data_base64",
                      "data_base64: expected a base64 string (RFC 4648, padded)");
}

/* The data member: kept as sent under a JSON content type, else a string's bytes. */
static int take_data(json_t *value, struct json_span text, struct event *event,
                     struct vane_arena *arena, struct event_error *err)
{
    const struct event_attr *ct = event_get(event, "datacontenttype");
    struct json_span raw;

    if (ct != NULL && ct->value.type == EVENT_STRING &&
        !event_content_type_is_json(ct->value.u.bytes.ptr, ct->value.u.bytes.len)) {
        if (!json_is_string(value))
            return event_fail(err, "bad_data", "data",
                              "data: expected a string for datacontenttype %.*s (use "
                              "data_base64 for binary data)",
                              (int)ct->value.u.bytes.len, ct->value.u.bytes.ptr);
        event_set_data(event, json_string_value(value), json_string_length(value));
        return 0;
    }
    if (ct == NULL)
        event_add_string(event, "datacontenttype", EVENT_STRING, "application/json");
    if (text.ptr != NULL && json_span_member(text, "data", &raw)) {
        event_set_data(event, raw.ptr, raw.len);
    } else {
        size_t len = json_dumpb(value, NULL, 0, JSON_DATA_FLAGS);
        char *bytes = vane_arena_alloc(arena, len + 1);

        event_set_data(event, bytes, json_dumpb(value, bytes, len, JSON_DATA_FLAGS));
    }
    return 0;
}

int event_from_json(json_t *obj, struct json_span text, struct event *event,
                    struct vane_arena *arena, struct event_error *err)
{
    json_t *data, *data_base64, *value;
    const char *name;
    int rc;

    event_reset(event);
    if (!json_is_object(obj))
        return event_fail(err, "malformed", "", "expected a CloudEvent as a JSON object");
    data = json_object_get(obj, "data");
    data_base64 = json_object_get(obj, "data_base64");
    if (data != NULL && data_base64 != NULL && !json_is_null(data_base64))
        return event_fail(err, "bad_data", "data_base64",
                          "data and data_base64 are mutually exclusive: give one");
    json_object_foreach(obj, name, value) {
        if (json_is_null(value) || strcmp(name, "data") == 0 || strcmp(name, "data_base64") == 0)
            continue;
        if ((rc = add_attribute(event, name, value, text, err)) != 0)
            return rc;
    }
    if (data_base64 != NULL && !json_is_null(data_base64))
        return decode_base64(data_base64, event, arena, err);
    if (data != NULL)
        return take_data(data, text, event, arena, err);
    return 0;
}

void event_json_string(struct vane_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    vane_buf_append(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 0};
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        vane_buf_append(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc, "\\u00", 4);
            vane_buf_append(out, esc, 4);
            esc[0] = hex[c >> 4];
            esc[1] = hex[c & 15];
        }
        vane_buf_append(out, esc, n);
    }
    vane_buf_append(out, s + run, len - run);
    vane_buf_append(out, "\"", 1);
}

static void write_base64(struct vane_buf *out, const char *bytes, size_t len)
{
    size_t n = (len + 2) / 3 * 4;

    vane_buf_reserve(out, n + 3);
    out->data[out->len++] = '"';
    out->len += (size_t)EVP_EncodeBlock((unsigned char *)out->data + out->len,
                                        (const unsigned char *)bytes, (int)len);
    out->data[out->len++] = '"';
    out->data[out->len] = '\0';
}

static void write_value(struct vane_buf *out, const struct event_value *v)
{
    switch (v->type) {
    case EVENT_BOOLEAN: vane_buf_append_str(out, v->u.boolean ? "true" : "false"); break;
    case EVENT_INTEGER: vane_buf_appendf(out, "%lld", (long long)v->u.integer); break;
    case EVENT_BINARY: write_base64(out, v->u.bytes.ptr, v->u.bytes.len); break;
    default: event_json_string(out, v->u.bytes.ptr, v->u.bytes.len);
    }
}

static bool is_json_text(const char *bytes, size_t len)
{
    json_error_t error;
    json_t *parsed = json_loadb(bytes, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &error);

    json_decref(parsed);
    return parsed != NULL;
}

/* Valid UTF-8, control characters allowed (they are escaped). */
static bool is_utf8(const char *bytes, size_t len)
{
    json_t *s = json_stringn(bytes, len);

    json_decref(s);
    return s != NULL;
}

static void write_data(struct vane_buf *out, const struct event *event)
{
    const struct event_attr *ct = event_get(event, "datacontenttype");
    const char *bytes = event->data.ptr;
    size_t len = event->data.len;

    if (event->attr_count > 0)
        vane_buf_append(out, ",", 1);

    if (ct != NULL && ct->value.type == EVENT_STRING) {
        const struct event_bytes *type = &ct->value.u.bytes;

        if (event_content_type_is_json(type->ptr, type->len) && is_json_text(bytes, len)) {
            vane_buf_append_str(out, "\"data\":");
            vane_buf_append(out, bytes, len);
            return;
        }
        if (!event_content_type_is_json(type->ptr, type->len) && is_utf8(bytes, len)) {
            vane_buf_append_str(out, "\"data\":");
            event_json_string(out, bytes, len);
            return;
        }
    }
    vane_buf_append_str(out, "\"data_base64\":");
    write_base64(out, bytes, len);
}

void event_to_json(const struct event *event, struct vane_buf *out)
{
    vane_buf_append(out, "{", 1);
    for (size_t i = 0; i < event->attr_count; i++) {
        const struct event_attr *attr = &event->attrs[i];

        if (i > 0)
            vane_buf_append(out, ",", 1);
        event_json_string(out, attr->name.ptr, attr->name.len);
        vane_buf_append(out, ":", 1);
        write_value(out, &attr->value);
    }
    if (event->has_data)
        write_data(out, event);
    vane_buf_append(out, "}", 1);
}
