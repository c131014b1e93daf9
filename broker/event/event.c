/*
 * event.c -- the in-memory CloudEvent (see event.h).
 */
#include <string.h>

#include "core/alloc.h"
#include "event/event.h"

void event_add(struct event *event, const char *name, size_t name_len,
               const struct event_value *value)
{
    struct event_attr *attr;

    if (event->attr_count == event->attr_cap) {
        event->attr_cap = event->attr_cap ? event->attr_cap * 2 : 8;
        event->attrs = vane_realloc(event->attrs, event->attr_cap * sizeof(*event->attrs));
    }
    attr = &event->attrs[event->attr_count++];
    attr->name.ptr = name;
    attr->name.len = name_len;
    attr->value = *value;
}

void event_add_string(struct event *event, const char *name, enum event_type type,
                      const char *value)
{
    struct event_value v = {.type = type, .u.bytes = {value, strlen(value)}};

    event_add(event, name, strlen(name), &v);
}

const struct event_attr *event_get(const struct event *event, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < event->attr_count; i++) {
        const struct event_attr *attr = &event->attrs[i];

        if (attr->name.len == len && memcmp(attr->name.ptr, name, len) == 0)
            return attr;
    }
    return NULL;
}

void event_set_data(struct event *event, const void *data, size_t len)
{
    event->has_data = true;
    event->data.ptr = data;
    event->data.len = len;
}

void event_reset(struct event *event)
{
    event->attr_count = 0;
    event->has_data = false;
    event->data.ptr = NULL;
    event->data.len = 0;
}

void event_free(struct event *event)
{
    vane_free(event->attrs);
    memset(event, 0, sizeof(*event));
}

static int bytes_equal(const struct event_bytes *a, const struct event_bytes *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static int value_equal(const struct event_value *a, const struct event_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case EVENT_BOOLEAN: return a->u.boolean == b->u.boolean;
    case EVENT_INTEGER: return a->u.integer == b->u.integer;
    default: return bytes_equal(&a->u.bytes, &b->u.bytes);
    }
}

int event_equal(const struct event *a, const struct event *b)
{
    if (a->attr_count != b->attr_count || a->has_data != b->has_data ||
        !bytes_equal(&a->data, &b->data))
        return 0;
    for (size_t i = 0; i < a->attr_count; i++)
        if (!bytes_equal(&a->attrs[i].name, &b->attrs[i].name) ||
            !value_equal(&a->attrs[i].value, &b->attrs[i].value))
            return 0;
    return 1;
}
