/*
 * event.h -- a CloudEvent in memory, as every part of the broker sees it.
 *
 * An event is a list of context attributes (the required ones, the optional
 * ones and extensions alike, in the order they came) and optional data
 * bytes.  Each attribute value carries its CloudEvents type, so an event
 * round-trips through the store exactly: a boolean stays a boolean, a
 * timestamp keeps the text it was written with.
 *
 * struct event does not own the bytes it points to: names, string values
 * and data live in whatever buffer the event was parsed from (an HTTP
 * request, a segment read, an encoded record).  It owns only its attribute
 * array.  Whoever fills an event keeps those buffers alive while it is used.
 */
#ifndef VANE_EVENT_H
#define VANE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CloudEvents type system (spec: "Type System").  Values are stored on
 * disk: append only, never renumber. */
enum event_type {
    EVENT_BOOLEAN = 1,
    EVENT_INTEGER = 2,
    EVENT_STRING = 3,
    EVENT_BINARY = 4,
    EVENT_URI = 5,
    EVENT_URI_REF = 6,
    EVENT_TIMESTAMP = 7,
};

struct event_bytes {
    const char *ptr;
    size_t len;
};

struct event_value {
    enum event_type type;
    union {
        bool boolean;
        int64_t integer;
        struct event_bytes bytes; /* every other type; a timestamp as its RFC 3339 text */
    } u;
};

struct event_attr {
    struct event_bytes name;
    struct event_value value;
};

struct event {
    struct event_attr *attrs;
    size_t attr_count, attr_cap;
    bool has_data;          /* data present, possibly empty */
    struct event_bytes data;
};

#define EVENT_INIT {NULL, 0, 0, false, {NULL, 0}}

/* Appends an attribute (name and value are referenced, not copied). */
void event_add(struct event *event, const char *name, size_t name_len,
               const struct event_value *value);
/* Shorthand for a string-typed attribute of NUL-terminated name and value. */
void event_add_string(struct event *event, const char *name, enum event_type type,
                      const char *value);
/* Finds an attribute by name, or NULL. */
const struct event_attr *event_get(const struct event *event, const char *name);
void event_set_data(struct event *event, const void *data, size_t len);
/* Forgets attributes and data but keeps the array for reuse. */
void event_reset(struct event *event);
void event_free(struct event *event);
/* 1 when both events have the same attributes in the same order and the same data. */
int event_equal(const struct event *a, const struct event *b);

#endif
