/*
 * filter.c -- the Subscriptions API filter dialects (see filter.h for the
 * rules users see).
 *
 * Design.  A compiled filter is a tree of struct filter nodes, one per
 * filter object of the JSON: exact, prefix and suffix hold an array of
 * pairs (key, value), all and any an array of children, not one child, sql
 * a compiled CESQL expression (cesql.h).  The "filters" array compiles to
 * an all node, so matching is one recursive walk.  Compiling copies what it
 * keeps (names, values, paths), so the JSON may be freed afterwards.
 *
 * Matching an attribute pair finds the attribute by a scan with the name's
 * length known in advance, and compares the value's canonical text without
 * building it: strings and timestamps are their bytes, integers are
 * written into a stack buffer, binary is compared through its base64
 * encoding computed character by character.  A pair's value is never
 * empty, so prefix and suffix of "" do not arise.
 *
 * Data paths need the data parsed.  struct match keeps the parsed document
 * for one filter_match() call: the first pair with a data path parses it,
 * later ones reuse it, and filter_match() frees it.  Within one exact,
 * prefix or suffix object the attribute pairs come first (compile puts
 * them there), so an event that fails on an attribute is never parsed.
 *
 * Errors name their place as a path from "filters" ("filters[1].any[0].
 * exact.type"), built up in struct compiler as the walk goes down and cut
 * back as it returns.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "event/event_check.h"
#include "filter/cesql.h"
#include "filter/data_path.h"
#include "filter/filter.h"

enum filter_kind {
    FILTER_EXACT,
    FILTER_PREFIX,
    FILTER_SUFFIX,
    FILTER_ALL,
    FILTER_ANY,
    FILTER_NOT,
    FILTER_SQL,
    FILTER_EXTERNAL, /* a Lua script's or a plugin's (struct filter_externals) */
};

/* What the key of a pair names. */
enum subject { SUBJECT_ATTRIBUTE, SUBJECT_DATA, SUBJECT_DATA_PATH };

struct pair {
    enum subject subject;
    char *name;              /* the key as written (an attribute's name) */
    size_t name_len;
    char *value;             /* never empty */
    size_t value_len;
    struct data_path path;   /* SUBJECT_DATA_PATH */
};

struct filter {
    enum filter_kind kind;
    size_t count;               /* of pairs or children */
    struct pair *pairs;         /* exact, prefix, suffix: attribute pairs first */
    struct filter **children;   /* all, any: count of them; not: one */
    struct cesql_expr *sql;
    void *external;                          /* FILTER_EXTERNAL: the handle ... */
    const struct filter_externals *ext;      /* ... and who made it (outlives the filter) */
};

/* ---- compiling ------------------------------------------------------------ */

struct compiler {
    struct filter_error *err;
    const struct filter_externals *ext; /* NULL: the lua and plugin dialects are refused */
    void *ext_arg;
    char path[sizeof(((struct filter_error *)0)->path)];
    size_t path_len;
    int depth;
};

/* Appends to the path; returns the length to cut back to with path_pop(). */
static size_t path_push(struct compiler *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t path_push(struct compiler *c, const char *fmt, ...)
{
    size_t old = c->path_len, room = sizeof(c->path) - old;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(c->path + old, room, fmt, ap);
    va_end(ap);
    c->path_len = n < 0 ? old : (size_t)n < room ? old + (size_t)n : sizeof(c->path) - 1;
    return old;
}

static void path_pop(struct compiler *c, size_t len)
{
    c->path_len = len;
    c->path[len] = '\0';
}

/* Fills the error at the current path; returns -EINVAL. */
static int fail(struct compiler *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct compiler *c, const char *fmt, ...)
{
    va_list ap;

    snprintf(c->err->path, sizeof(c->err->path), "%s", c->path);
    c->err->position = 0;
    va_start(ap, fmt);
    vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static const char *json_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int compile_filter(struct compiler *c, json_t *json, struct filter **out);

/* A key of exact, prefix or suffix: an attribute name, "data" or "data.<path>". */
static int compile_key(struct compiler *c, const char *key, struct pair *pair)
{
    char why[160];

    pair->name_len = strlen(key);
    pair->name = vane_strndup(key, pair->name_len);
    if (pair->name_len == 0)
        return fail(c, "empty attribute name: expected a CloudEvents attribute name, "
                       "\"data\" or \"data.<path>\"");
    if (strcmp(key, "data") == 0) {
        pair->subject = SUBJECT_DATA;
        return 0;
    }
    if (strncmp(key, "data.", 5) == 0) {
        pair->subject = SUBJECT_DATA_PATH;
        if (data_path_parse(key + 5, pair->name_len - 5, &pair->path, why, sizeof(why)) != 0)
            return fail(c, "%s", why);
        return 0;
    }
    pair->subject = SUBJECT_ATTRIBUTE;
    if (!event_name_valid(key, pair->name_len))
        return fail(c, "expected a CloudEvents attribute name (lower-case letters a-z and "
                       "digits 0-9), \"data\" or \"data.<path>\"");
    return 0;
}

static int compile_pair(struct compiler *c, const char *key, json_t *value, struct pair *pair)
{
    int rc = compile_key(c, key, pair);

    if (rc != 0)
        return rc;
    if (!json_is_string(value))
        return fail(c, "expected a string value, found %s", json_type_name(value));
    if (json_string_length(value) == 0)
        return fail(c, "expected a value that is not empty (the spec forbids empty values)");
    pair->value_len = json_string_length(value);
    pair->value = vane_strndup(json_string_value(value), pair->value_len);
    return 0;
}

static bool key_is_attribute(const char *key)
{
    return strcmp(key, "data") != 0 && strncmp(key, "data.", 5) != 0;
}

/* exact, prefix, suffix: an object of one or more "key": "value" pairs. */
static int compile_pairs(struct compiler *c, json_t *json, struct filter *f)
{
    size_t attributes = 0, next_attribute = 0, next_data;
    const char *key;
    json_t *value;
    int rc;

    if (!json_is_object(json) || json_object_size(json) == 0)
        return fail(c, "expected an object of one or more \"attribute\": \"value\" pairs, "
                       "found %s", json_is_object(json) ? "an empty object" : json_type_name(json));
    json_object_foreach(json, key, value)
        attributes += key_is_attribute(key);
    /* Every slot counts from the start, so that filter_free() after a failure frees them all. */
    f->count = json_object_size(json);
    f->pairs = vane_calloc(f->count, sizeof(*f->pairs));
    next_data = attributes;
    json_object_foreach(json, key, value) {
        struct pair *pair = &f->pairs[key_is_attribute(key) ? next_attribute++ : next_data++];
        size_t mark = path_push(c, ".%s", key);

        if ((rc = compile_pair(c, key, value, pair)) != 0)
            return rc;
        path_pop(c, mark);
    }
    return 0;
}

/* all, any: an array of one or more filter objects. */
static int compile_list(struct compiler *c, json_t *json, struct filter *f)
{
    json_t *element;
    size_t i;
    int rc;

    if (!json_is_array(json) || json_array_size(json) == 0)
        return fail(c, "expected an array of one or more filter objects, found %s",
                    json_is_array(json) ? "an empty array" : json_type_name(json));
    f->count = json_array_size(json);
    f->children = vane_calloc(f->count, sizeof(*f->children));
    json_array_foreach(json, i, element) {
        size_t mark = path_push(c, "[%zu]", i);

        if ((rc = compile_filter(c, element, &f->children[i])) != 0)
            return rc;
        path_pop(c, mark);
    }
    return 0;
}

/* not: one filter object. */
static int compile_not(struct compiler *c, json_t *json, struct filter *f)
{
    f->children = vane_calloc(1, sizeof(*f->children));
    f->count = 1;
    return compile_filter(c, json, &f->children[0]);
}

/* Refuses a CESQL error: its message, and where in the expression. */
static int fail_sql(struct compiler *c, const struct cesql_error *error)
{
    fail(c, "CESQL: %s (at column %zu)", error->message, error->position);
    c->err->position = error->offset;
    return -EINVAL;
}

/*
 * sql, cesql: a CESQL expression in a string.  Besides its syntax, a call
 * of a function that does not exist is refused here: the spec makes it an
 * evaluation error, so the filter would never match any event.
 */
static int compile_sql(struct compiler *c, json_t *json, struct filter *f)
{
    struct cesql_error error = {0};

    if (!json_is_string(json) || json_string_length(json) == 0)
        return fail(c, "expected a CESQL expression as a string, found %s",
                    json_is_string(json) ? "an empty string" : json_type_name(json));
    if (cesql_compile(json_string_value(json), json_string_length(json), &f->sql, &error) != 0 ||
        cesql_check(f->sql, &error) != 0)
        return fail_sql(c, &error);
    return 0;
}

/* lua, plugin: handed to the externals, which say whether they take it. */
static int compile_external(struct compiler *c, const char *dialect, json_t *json,
                            struct filter *f)
{
    char message[sizeof(c->err->message)] = "";

    if (c->ext == NULL)
        return fail(c, "the %s dialect is not available here", dialect);
    f->ext = c->ext;
    if (c->ext->compile(c->ext_arg, dialect, json, &f->external, message, sizeof(message)) != 0)
        return fail(c, "%s", message);
    return 0;
}

static int compile_lua(struct compiler *c, json_t *json, struct filter *f)
{
    return compile_external(c, "lua", json, f);
}

static int compile_plugin(struct compiler *c, json_t *json, struct filter *f)
{
    return compile_external(c, "plugin", json, f);
}

static const struct dialect {
    const char *name;
    enum filter_kind kind;
    int (*compile)(struct compiler *c, json_t *json, struct filter *f);
} dialects[] = {
    {"exact", FILTER_EXACT, compile_pairs},
    {"prefix", FILTER_PREFIX, compile_pairs},
    {"suffix", FILTER_SUFFIX, compile_pairs},
    {"all", FILTER_ALL, compile_list},
    {"any", FILTER_ANY, compile_list},
    {"not", FILTER_NOT, compile_not},
    {"sql", FILTER_SQL, compile_sql},
    {"cesql", FILTER_SQL, compile_sql},
    {"lua", FILTER_EXTERNAL, compile_lua},
    {"plugin", FILTER_EXTERNAL, compile_plugin},
};

#define DIALECT_NAMES "exact, prefix, suffix, all, any, not, sql, cesql, lua or plugin"

static const struct dialect *find_dialect(const char *name)
{
    for (size_t i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++)
        if (strcmp(dialects[i].name, name) == 0)
            return &dialects[i];
    return NULL;
}

/* {"plugin": ..., "config": ...}: the one filter object with two keys. */
static bool is_plugin_filter(json_t *json)
{
    return json_object_size(json) == 2 && json_object_get(json, "plugin") != NULL &&
           json_object_get(json, "config") != NULL;
}

/* Says which keys a filter object with more than one has. */
static int fail_many_keys(struct compiler *c, json_t *json)
{
    char keys[160] = "";
    size_t used = 0;
    const char *key;
    json_t *value;

    json_object_foreach(json, key, value) {
        int n = snprintf(keys + used, sizeof(keys) - used, "%s\"%s\"", used ? ", " : "", key);

        if (n < 0 || (size_t)n >= sizeof(keys) - used)
            break;
        used += (size_t)n;
    }
    return fail(c, "expected exactly one dialect key in a filter object, found %zu: %s",
                json_object_size(json), keys);
}

/* One filter object: {"<dialect>": <its argument>}. */
static int compile_filter(struct compiler *c, json_t *json, struct filter **out)
{
    const struct dialect *dialect;
    const char *key;
    size_t mark;
    int rc;

    *out = NULL;
    if (c->depth >= FILTER_MAX_DEPTH)
        return fail(c, "filters nested deeper than %d levels", FILTER_MAX_DEPTH);
    if (!json_is_object(json) || json_object_size(json) == 0)
        return fail(c, "expected a filter object with one dialect key (" DIALECT_NAMES
                       "), found %s",
                    json_is_object(json) ? "an empty object" : json_type_name(json));
    if (json_object_size(json) > 1 && !is_plugin_filter(json))
        return fail_many_keys(c, json);
    key = is_plugin_filter(json) ? "plugin" : json_object_iter_key(json_object_iter(json));
    mark = path_push(c, ".%s", key);
    if ((dialect = find_dialect(key)) == NULL)
        return fail(c, "unknown filter dialect \"%s\": expected " DIALECT_NAMES, key);
    *out = VANE_NEW(*out);
    (*out)->kind = dialect->kind;
    c->depth++;
    /* A plugin filter's config is a sibling of its name: it gets the whole object. */
    rc = dialect->compile(c, dialect->compile == compile_plugin
                                 ? json
                                 : json_object_iter_value(json_object_iter(json)),
                          *out);
    c->depth--;
    path_pop(c, mark);
    return rc;
}

/* The "filters" array: an all of its elements. */
static int compile_array(struct compiler *c, json_t *filters, struct filter *f)
{
    if (filters == NULL || json_is_null(filters) ||
        (json_is_array(filters) && json_array_size(filters) == 0))
        return 0;
    if (!json_is_array(filters))
        return fail(c, "expected an array of filter objects, found %s",
                    json_type_name(filters));
    return compile_list(c, filters, f);
}

int filter_compile(json_t *filters, struct filter **out, struct filter_error *err)
{
    return filter_compile_with(filters, NULL, NULL, out, err);
}

int filter_compile_with(json_t *filters, const struct filter_externals *ext, void *arg,
                        struct filter **out, struct filter_error *err)
{
    struct filter_error ignored;
    struct compiler c = {.err = err ? err : &ignored, .ext = ext, .ext_arg = arg};
    struct filter *f = VANE_NEW(f);
    int rc;

    memset(c.err, 0, sizeof(*c.err));
    path_push(&c, "filters");
    f->kind = FILTER_ALL;
    rc = compile_array(&c, filters, f);
    if (rc != 0) {
        filter_free(f);
        f = NULL;
    }
    *out = f;
    return rc;
}

void filter_free(struct filter *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; f->pairs != NULL && i < f->count; i++) {
        vane_free(f->pairs[i].name);
        vane_free(f->pairs[i].value);
        data_path_free(&f->pairs[i].path);
    }
    for (size_t i = 0; f->children != NULL && i < f->count; i++)
        filter_free(f->children[i]);
    if (f->sql != NULL)
        cesql_free(f->sql);
    if (f->external != NULL)
        f->ext->free(f->external);
    vane_free(f->pairs);
    vane_free(f->children);
    vane_free(f);
}

/* ---- matching ------------------------------------------------------------- */

/* What one filter_match() call knows besides the event: its data, parsed once. */
struct match {
    const struct event *event;
    json_t *data;       /* NULL: not JSON (when data_loaded) */
    bool data_loaded;
};

/*
 * The canonical text of a value, without building it when it is binary:
 * then binary is set and the text is its base64 encoding, len characters.
 */
struct text {
    const char *ptr;
    size_t len;
    const struct event_bytes *binary;
    char buf[DATA_PATH_TEXT_MAX];
};

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Character i of the padded base64 encoding of bytes (RFC 4648). */
static char base64_char_at(const struct event_bytes *bytes, size_t i)
{
    const unsigned char *b = (const unsigned char *)bytes->ptr;
    size_t group = i / 4 * 3, left = bytes->len - group;
    uint32_t bits = (uint32_t)b[group] << 16;

    if (left > 1)
        bits |= (uint32_t)b[group + 1] << 8;
    if (left > 2)
        bits |= b[group + 2];
    if (i % 4 > left) /* one padding character after 2 bytes, two after 1 */
        return '=';
    return base64_alphabet[(bits >> (18 - 6 * (i % 4))) & 63];
}

/* Writes v in decimal at the end of buf; returns where it starts. */
static const char *integer_text(int64_t v, char *buf, size_t size, size_t *len)
{
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = buf + size;

    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--p = '-';
    *len = (size_t)(buf + size - p);
    return p;
}

static void attribute_text(const struct event_value *value, struct text *t)
{
    t->binary = NULL;
    switch (value->type) {
    case EVENT_BOOLEAN:
        t->ptr = value->u.boolean ? "true" : "false";
        t->len = value->u.boolean ? 4 : 5;
        break;
    case EVENT_INTEGER:
        t->ptr = integer_text(value->u.integer, t->buf, sizeof(t->buf), &t->len);
        break;
    case EVENT_BINARY:
        t->binary = &value->u.bytes;
        t->len = (value->u.bytes.len + 2) / 3 * 4;
        break;
    default:
        t->ptr = value->u.bytes.ptr;
        t->len = value->u.bytes.len;
    }
}

static const struct event_attr *find_attribute(const struct event *event, const struct pair *pair)
{
    for (size_t i = 0; i < event->attr_count; i++) {
        const struct event_attr *attr = &event->attrs[i];

        if (attr->name.len == pair->name_len &&
            memcmp(attr->name.ptr, pair->name, pair->name_len) == 0)
            return attr;
    }
    return NULL;
}

/* The text the pair's key names in the event; false when there is none. */
static bool subject_text(const struct pair *pair, struct match *m, struct text *t)
{
    const struct event_attr *attr;
    json_t *value;

    switch (pair->subject) {
    case SUBJECT_ATTRIBUTE:
        if ((attr = find_attribute(m->event, pair)) == NULL)
            return false;
        attribute_text(&attr->value, t);
        return true;
    case SUBJECT_DATA:
        t->binary = NULL;
        t->ptr = m->event->data.ptr;
        t->len = m->event->data.len;
        return m->event->has_data;
    case SUBJECT_DATA_PATH:
        if (!m->data_loaded) {
            m->data = data_path_load(m->event);
            m->data_loaded = true;
        }
        value = m->data ? data_path_find(&pair->path, m->data) : NULL;
        t->binary = NULL;
        return data_path_text(value, t->buf, &t->ptr, &t->len);
    }
    return false;
}

/* Characters [start, start + len) of t equal want. */
static bool text_range_equal(const struct text *t, size_t start, const char *want, size_t len)
{
    if (t->binary == NULL)
        return memcmp(t->ptr + start, want, len) == 0;
    for (size_t i = 0; i < len; i++)
        if (base64_char_at(t->binary, start + i) != want[i])
            return false;
    return true;
}

static bool text_matches(enum filter_kind kind, const struct text *t, const struct pair *pair)
{
    size_t n = pair->value_len;

    if (t->len < n || (kind == FILTER_EXACT && t->len != n))
        return false;
    return text_range_equal(t, kind == FILTER_SUFFIX ? t->len - n : 0, pair->value, n);
}

static bool match_pairs(const struct filter *f, struct match *m)
{
    for (size_t i = 0; i < f->count; i++) {
        struct text t;

        if (!subject_text(&f->pairs[i], m, &t) || !text_matches(f->kind, &t, &f->pairs[i]))
            return false;
    }
    return true;
}

static bool match_node(const struct filter *f, struct match *m)
{
    switch (f->kind) {
    case FILTER_EXACT:
    case FILTER_PREFIX:
    case FILTER_SUFFIX:
        return match_pairs(f, m);
    case FILTER_ALL:
        for (size_t i = 0; i < f->count; i++)
            if (!match_node(f->children[i], m))
                return false;
        return true;
    case FILTER_ANY:
        for (size_t i = 0; i < f->count; i++)
            if (match_node(f->children[i], m))
                return true;
        return false;
    case FILTER_NOT:
        return !match_node(f->children[0], m);
    case FILTER_SQL:
        return cesql_match(f->sql, m->event);
    case FILTER_EXTERNAL:
        return f->external == NULL || f->ext->match(f->external, m->event);
    }
    return false;
}

bool filter_match(const struct filter *f, const struct event *event)
{
    struct match m = {.event = event};
    bool pass;

    if (f == NULL)
        return true;
    pass = match_node(f, &m);
    json_decref(m.data);
    return pass;
}
