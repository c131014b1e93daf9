/*
 * event_check.c -- CloudEvents validation (see event_check.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "event/event_check.h"
#include "event/timestamp.h"

#define RESERVED_PREFIX "xvanus"

int event_fail(struct event_error *err, const char *reason, const char *field, const char *fmt,
               ...)
{
    va_list ap;

    err->reason = reason;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

bool event_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
            return false;
    return true;
}

/* Length of the UTF-8 sequence at s (n bytes left) and its code point; 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0)
        len = 2, *cp = s[0] & 0x1F, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0)
        len = 3, *cp = s[0] & 0x0F, min = 0x800;
    else if ((s[0] & 0xF8) == 0xF0)
        len = 4, *cp = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
    if (*cp < min || (*cp >= 0xD800 && *cp <= 0xDFFF) || *cp > 0x10FFFF)
        return 0;
    return len;
}

bool event_text_valid(const char *bytes, size_t len)
{
    const unsigned char *s = (const unsigned char *)bytes;

    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);

        if (n == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
            return false;
        i += n;
    }
    return true;
}

enum event_type event_attr_type(const char *name, size_t len)
{
    static const struct {
        const char *name;
        enum event_type type;
    } known[] = {
        {"source", EVENT_URI_REF}, {"dataschema", EVENT_URI}, {"time", EVENT_TIMESTAMP},
        {EVENT_DELIVERY_TIME, EVENT_TIMESTAMP},
    };

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strlen(known[i].name) == len && memcmp(known[i].name, name, len) == 0)
            return known[i].type;
    return EVENT_STRING;
}

/* The attributes of the spec itself, which must not be empty when present. */
static bool is_core(const struct event_attr *attr)
{
    static const char *const core[] = {"specversion", "id", "source", "type",
                                       "datacontenttype", "dataschema", "subject", "time"};

    for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++)
        if (attr->name.len == strlen(core[i]) &&
            memcmp(attr->name.ptr, core[i], attr->name.len) == 0)
            return true;
    return false;
}

/* Names attr as the field at fault; returns -EINVAL. */
static int name_field(struct event_error *err, const struct event_attr *attr)
{
    snprintf(err->field, sizeof(err->field), "%.*s", (int)attr->name.len, attr->name.ptr);
    return -EINVAL;
}

/* An attribute must appear at most once. */
static int check_unique(const struct event *event, size_t i, struct event_error *err)
{
    const struct event_attr *attr = &event->attrs[i];

    for (size_t j = 0; j < i; j++) {
        if (event->attrs[j].name.len == attr->name.len &&
            memcmp(event->attrs[j].name.ptr, attr->name.ptr, attr->name.len) == 0) {
            event_fail(err, "duplicate_attribute", "", "attribute %.*s is given twice",
                       (int)attr->name.len, attr->name.ptr);
            return name_field(err, attr);
        }
    }
    return 0;
}

static int check_name(const struct event_attr *attr, struct event_error *err)
{
    char field[80];

    snprintf(field, sizeof(field), "%.*s", (int)attr->name.len, attr->name.ptr);
    if (!event_name_valid(attr->name.ptr, attr->name.len))
        return event_fail(err, "bad_attribute_name", field,
                          "attribute name \"%s\": expected 1 to 255 lower-case letters a-z and "
                          "digits 0-9",
                          field);
    if (strncmp(field, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0 &&
        strcmp(field, EVENT_DELIVERY_TIME) != 0)
        return event_fail(err, "reserved_extension", field,
                          "extension %s: names starting with xvanus are reserved for the "
                          "broker (only xvanusdeliverytime may be set)",
                          field);
    if (strcmp(field, "data") == 0)
        return event_fail(err, "bad_attribute_name", field,
                          "\"data\" is the event's data, not an attribute name");
    return 0;
}

static int check_value(const struct event_attr *attr, struct event_error *err)
{
    const struct event_value *v = &attr->value;
    const char *name = attr->name.ptr;
    int n = (int)attr->name.len;
    int64_t ns;
    const char *why;

    if (v->type == EVENT_BOOLEAN)
        return 0;
    if (v->type == EVENT_INTEGER) {
        if (v->u.integer < INT32_MIN || v->u.integer > INT32_MAX)
            return event_fail(err, "bad_attribute_value", "", "attribute %.*s: expected an "
                              "integer from -2147483648 to 2147483647", n, name);
        return 0;
    }
    if (v->u.bytes.len == 0 && (is_core(attr) || v->type == EVENT_TIMESTAMP))
        return event_fail(err, "empty_attribute", "", "attribute %.*s: expected a non-empty value",
                          n, name);
    if (v->type != EVENT_BINARY && !event_text_valid(v->u.bytes.ptr, v->u.bytes.len))
        return event_fail(err, "bad_attribute_value", "", "attribute %.*s: expected UTF-8 text "
                          "without control characters", n, name);
    if (v->type == EVENT_TIMESTAMP &&
        timestamp_parse(v->u.bytes.ptr, v->u.bytes.len, &ns, &why) != 0)
        return event_fail(err, "bad_time", "", "attribute %.*s: %s", n, name, why);
    return 0;
}

static int check_required(const struct event *event, struct event_error *err)
{
    static const char *const required[] = {"specversion", "id", "source", "type"};
    const struct event_attr *version;

    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (event_get(event, required[i]) == NULL)
            return event_fail(err, "missing_attribute", required[i],
                              "attribute %s is required", required[i]);
    version = event_get(event, "specversion");
    if (version->value.type != EVENT_STRING || version->value.u.bytes.len != 3 ||
        memcmp(version->value.u.bytes.ptr, "1.0", 3) != 0)
        return event_fail(err, "bad_specversion", "specversion",
                          "specversion: expected \"1.0\", the only version served");
    return 0;
}

int event_check(const struct event *event, struct event_error *err)
{
    for (size_t i = 0; i < event->attr_count; i++) {
        const struct event_attr *attr = &event->attrs[i];
        int rc;

        if ((rc = check_name(attr, err)) != 0 || (rc = check_unique(event, i, err)) != 0)
            return rc;
        if ((rc = check_value(attr, err)) != 0)
            return name_field(err, attr);
    }
    return check_required(event, err);
}
