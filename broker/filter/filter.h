/*
 * filter.h -- a subscription's "filters", compiled once, matched many times.
 *
 * The CloudEvents Subscriptions API filter dialects (subscriptions spec,
 * section 3.2.4), as Vanus and Knative accept them in a subscription's
 * "filters" array:
 *
 *     exact   {"exact":  {"type": "com.github.push", ...}}   every pair equal
 *     prefix  {"prefix": {"source": "https://github.com/"}}  every value starts so
 *     suffix  {"suffix": {"subject": ".md"}}                 every value ends so
 *     all     {"all": [<filter>, ...]}                       every filter matches
 *     any     {"any": [<filter>, ...]}                       some filter matches
 *     not     {"not": <filter>}                              the filter does not
 *     sql     {"sql": "<CESQL expression>"}                  true; also spelled "cesql"
 *     lua     {"lua": "<script>"}, plugin {"plugin": ...}    see filter_compile_with()
 *
 * The array itself is an "all": every filter in it must match; a missing or
 * empty array matches every event.
 *
 * Rules of exact, prefix and suffix (the spec's, and Vanus's for data):
 *   - A key names a CloudEvents attribute (lower-case letters and digits, as
 *     the CloudEvents spec requires of every attribute name, so "Type" is
 *     refused rather than silently never matching), or "data" (the event's
 *     data bytes compared as text), or "data.<path>" (a member of JSON
 *     data, see below).  Values are strings, compared byte for byte (case
 *     sensitive).  Neither a key nor a value may be empty.
 *   - An attribute the event does not have, data it does not have, or a path
 *     that leads nowhere makes the pair false (so {"not": ...} of it is true).
 *   - Attributes of other types compare by their canonical string form: an
 *     integer in decimal ("42", "-7"), a boolean as "true" or "false",
 *     binary as base64, a timestamp as the RFC 3339 text it was sent with.
 *
 * Data paths.  "data.a.b" walks JSON data: "a" is a member of the top-level
 * object, "b" a member of that.  A segment of decimal digits ("items.0.id")
 * indexes an array from 0 and names a member of an object; "items[0]" is
 * the same index written as JSONPath does, and applies only to arrays.  A
 * member whose key contains "." or "[" cannot be named.  The data is JSON
 * when its datacontenttype is absent or JSON ("application/json",
 * "application/cloudevents+json", any "* / *+json"); otherwise, or when the
 * bytes do not parse, no data path matches.  The value found compares as: a
 * string by its characters, an integer in decimal, any other number in the
 * shortest form that reads back as the same double ("1.5", "1e+21"), true
 * and false as those words; null, objects and arrays match nothing.
 *
 * Cost.  filter_match() allocates nothing for exact, prefix and suffix on
 * attributes (and "data").  Data paths parse the event's data at most once
 * per filter_match() call, and only when a pair with a data path is reached
 * (attribute pairs of the same object are tried first).  CESQL is the cost
 * of cesql_match().
 *
 * Thread: a compiled filter is immutable; filter_match() may be called on
 * it from several threads at once.
 */
#ifndef VANE_FILTER_FILTER_H
#define VANE_FILTER_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "event/event.h"

/* Nesting of all/any/not deeper than this is refused at compile time. */
#define FILTER_MAX_DEPTH 32

struct filter;

struct filter_error {
    char path[128];    /* where: "filters[1].any[0].exact.type" ("filters" for the array) */
    size_t position;   /* for sql/cesql: byte offset of the CESQL error in the text, else 0 */
    char message[256]; /* what was wrong and what was expected */
};

/*
 * Compiles filters, the subscription's "filters" value: an array of filter
 * objects, or NULL, JSON null or [] for "match every event".  filters is
 * only read; the compiled filter keeps no reference to it.  Returns 0 with
 * *out set (free it with filter_free()), or -EINVAL with *out NULL and err
 * naming the place and what was expected (err may be NULL).
 */
int filter_compile(json_t *filters, struct filter **out, struct filter_error *err);

/*
 * Two more dialects name code outside the filter module, a Lua script's
 * filter() or a filter plugin's, and are compiled and run by whoever
 * passes filter_compile_with() these callbacks (trigger/external.h):
 *
 *     lua     {"lua": "<script name>"}
 *     plugin  {"plugin": "<plugin name>", "config": {...}}
 *
 * compile() gets the arg given to filter_compile_with(), the dialect's
 * name and its value (for plugin, the whole filter object, so that the
 * config beside the name comes along); it returns 0 with *handle (NULL is allowed: such a
 * node passes every event; a check that builds nothing returns it), or
 * non-zero with message saying what was wrong.  match() says whether the
 * event passes (an error in the script or plugin is its to count and log;
 * it then says false).  free() frees a handle.  The struct must outlive
 * every filter compiled with it (a static table); arg is used only while
 * compiling.
 */
struct filter_externals {
    int (*compile)(void *arg, const char *dialect, json_t *value, void **handle, char *message,
                   size_t message_size);
    bool (*match)(void *handle, const struct event *event);
    void (*free)(void *handle);
};

/* As filter_compile, taking the lua and plugin dialects to ext (NULL: refused). */
int filter_compile_with(json_t *filters, const struct filter_externals *ext, void *arg,
                        struct filter **out, struct filter_error *err);

/* true when event passes f.  A NULL f passes every event. */
bool filter_match(const struct filter *f, const struct event *event);

/* Frees f (NULL is fine). */
void filter_free(struct filter *f);

#endif
