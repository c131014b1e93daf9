/*
 * plugin_options.c -- a plugin's options table, and an instance's values
 * checked against it (see plugin_options.h).
 *
 * One reader, read_value(), turns a JSON value into an option's value for
 * every type; the defaults in a plugin's table (JSON text) and the user's
 * settings go through it alike, so a default is checked exactly as a
 * setting would be, once when the plugin loads.  Sizes and durations are
 * read by core/units.h, as the configuration file's are.
 *
 * Values are kept in an array parallel to the table; lookups by name are
 * linear, since a plugin has a handful of options and reads them at init.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/units.h"
#include "plugin/plugin_options.h"

#define OPTION_NAME_MAX 63
#define SHOWN_MAX 64 /* bytes of a bad value quoted in a message */

struct option_value {
    bool set;
    char *text;      /* string and object */
    int64_t number;  /* int, size, duration (ms), bool */
    char **list;
    size_t list_count;
};

struct plugin_options {
    const struct vane_option *table;
    size_t count;
    struct option_value values[];
};

const char *plugin_options_type_name(int type)
{
    switch (type) {
    case VANE_OPTION_STRING: return "string";
    case VANE_OPTION_INT: return "int";
    case VANE_OPTION_BOOL: return "bool";
    case VANE_OPTION_DURATION: return "duration";
    case VANE_OPTION_SIZE: return "size";
    case VANE_OPTION_LIST: return "list";
    case VANE_OPTION_OBJECT: return "object";
    default: return "?";
    }
}

/* What a value of type is written as, for "expected ..." */
static const char *expected(int type)
{
    switch (type) {
    case VANE_OPTION_STRING: return "a string";
    case VANE_OPTION_INT: return "an integer (or a string of one)";
    case VANE_OPTION_BOOL: return "true or false";
    case VANE_OPTION_DURATION:
        return "a duration such as \"500ms\", \"10s\", \"2m\", or an integer of seconds";
    case VANE_OPTION_SIZE: return "a size such as \"64KiB\", \"1MiB\", or an integer of bytes";
    case VANE_OPTION_LIST: return "an array of strings (or one string)";
    case VANE_OPTION_OBJECT: return "a JSON object";
    default: return "a known type";
    }
}

/* What a bad value was, for "got ...": the value itself unless it is secret. */
static char *shown(const json_t *value, bool secret)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return vane_strdup("an object");
    case JSON_ARRAY: return vane_strdup("an array");
    case JSON_NULL: return vane_strdup("null");
    case JSON_TRUE: return vane_strdup("true");
    case JSON_FALSE: return vane_strdup("false");
    case JSON_REAL: return vane_strdup(secret ? "a number" : "a number with a fraction");
    case JSON_INTEGER:
        if (secret)
            return vane_strdup("an integer");
        return vane_asprintf("%lld", (long long)json_integer_value(value));
    case JSON_STRING:
        if (secret)
            return vane_strdup("a string");
        return vane_asprintf("\"%.*s\"%s", SHOWN_MAX, json_string_value(value),
                             json_string_length(value) > SHOWN_MAX ? "..." : "");
    }
    return vane_strdup("a value");
}

static void value_clear(struct option_value *v)
{
    vane_free(v->text);
    for (size_t i = 0; i < v->list_count; i++)
        vane_free(v->list[i]);
    vane_free(v->list);
    memset(v, 0, sizeof(*v));
}

/* An integer of a string ("-12"), all of it. */
static int parse_int(const char *text, int64_t *out)
{
    char *end;
    long long n;

    errno = 0;
    n = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || *text == ' ' || *text == '+')
        return -EINVAL;
    *out = n;
    return 0;
}

/* A size or duration: a string with a unit, or a non-negative integer times scale. */
static int read_amount(const json_t *json, int (*parse)(const char *, uint64_t *), int64_t scale,
                       int64_t *out)
{
    uint64_t amount;

    if (json_is_integer(json)) {
        json_int_t n = json_integer_value(json);

        if (n < 0 || n > INT64_MAX / scale)
            return -EINVAL;
        *out = n * scale;
        return 0;
    }
    if (!json_is_string(json) || parse(json_string_value(json), &amount) != 0 ||
        amount > INT64_MAX)
        return -EINVAL;
    *out = (int64_t)amount;
    return 0;
}

static int read_list(const json_t *json, struct option_value *v)
{
    const json_t *item;
    size_t i;

    if (json_is_string(json)) {
        v->list = vane_malloc(sizeof(*v->list));
        v->list[0] = vane_strdup(json_string_value(json));
        v->list_count = 1;
        return 0;
    }
    if (!json_is_array(json))
        return -EINVAL;
    json_array_foreach(json, i, item)
        if (!json_is_string(item))
            return -EINVAL;
    v->list = vane_calloc(json_array_size(json) + 1, sizeof(*v->list));
    json_array_foreach(json, i, item)
        v->list[v->list_count++] = vane_strdup(json_string_value(item));
    return 0;
}

/* Reads json as a value of type into v (cleared first).  0 or -EINVAL. */
static int read_value(int type, const json_t *json, struct option_value *v)
{
    int err = 0;

    value_clear(v);
    switch (type) {
    case VANE_OPTION_STRING:
        if (!json_is_string(json))
            return -EINVAL;
        v->text = vane_strdup(json_string_value(json));
        break;
    case VANE_OPTION_INT:
        if (json_is_integer(json))
            v->number = json_integer_value(json);
        else if (!json_is_string(json) || parse_int(json_string_value(json), &v->number) != 0)
            return -EINVAL;
        break;
    case VANE_OPTION_BOOL:
        if (!json_is_boolean(json))
            return -EINVAL;
        v->number = json_is_true(json);
        break;
    case VANE_OPTION_DURATION:
        err = read_amount(json, vane_parse_duration_ms, 1000, &v->number);
        break;
    case VANE_OPTION_SIZE:
        err = read_amount(json, vane_parse_size, 1, &v->number);
        break;
    case VANE_OPTION_LIST:
        err = read_list(json, v);
        break;
    case VANE_OPTION_OBJECT:
        if (!json_is_object(json))
            return -EINVAL;
        v->text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
        break;
    default:
        return -EINVAL;
    }
    if (err != 0)
        value_clear(v);
    else
        v->set = true;
    return err;
}

/* ---- the table --------------------------------------------------------------- */

static bool option_name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > OPTION_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_'))
            return false;
    return true;
}

static int check_default(const struct vane_option *opt, char **why)
{
    struct option_value v = {0};
    json_t *json;
    int err = 0;

    if (opt->default_value == NULL)
        return 0;
    json = json_loads(opt->default_value, JSON_DECODE_ANY, NULL);
    if (json == NULL) {
        *why = vane_asprintf("option '%s': default %s is not JSON text (a string default is "
                             "written \"\\\"text\\\"\")", opt->name, opt->default_value);
        return -EINVAL;
    }
    if (read_value(opt->type, json, &v) != 0) {
        *why = vane_asprintf("option '%s': default %s: expected %s", opt->name,
                             opt->default_value, expected(opt->type));
        err = -EINVAL;
    }
    value_clear(&v);
    json_decref(json);
    return err;
}

static int check_entry(const struct vane_option *table, size_t i, char **why)
{
    const struct vane_option *opt = &table[i];

    if (!option_name_valid(opt->name)) {
        *why = vane_asprintf("option %zu: name \"%.64s\": expected 1 to %d of a-z, 0-9 and '_'",
                             i + 1, opt->name, OPTION_NAME_MAX);
        return -EINVAL;
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(table[j].name, opt->name) == 0) {
            *why = vane_asprintf("option '%s' is declared twice", opt->name);
            return -EINVAL;
        }
    }
    if (opt->type < VANE_OPTION_STRING || opt->type > VANE_OPTION_OBJECT) {
        *why = vane_asprintf("option '%s': type %d: expected one of VANE_OPTION_STRING (1) to "
                             "VANE_OPTION_OBJECT (7)", opt->name, opt->type);
        return -EINVAL;
    }
    return check_default(opt, why);
}

int plugin_options_check_table(const struct vane_option *table, size_t *count, char **why)
{
    size_t n = 0;
    int err;

    *count = 0;
    if (table == NULL)
        return 0;
    for (; n < PLUGIN_OPTIONS_MAX && table[n].name != NULL; n++)
        if ((err = check_entry(table, n, why)) != 0)
            return err;
    if (n == PLUGIN_OPTIONS_MAX) {
        *why = vane_asprintf("more than %d options, or no VANE_OPTIONS_END after the last",
                             PLUGIN_OPTIONS_MAX - 1);
        return -EINVAL;
    }
    *count = n;
    return 0;
}

/* ---- an instance's values ------------------------------------------------------ */

static long find_index(const struct vane_option *table, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(table[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* "option 'x': unknown; this plugin takes a, b and c" */
static char *unknown_option(const struct vane_option *table, size_t count, const char *key)
{
    struct vane_buf msg = VANE_BUF_INIT;

    vane_buf_appendf(&msg, "option '%s': unknown; ", key);
    if (count == 0)
        vane_buf_append_str(&msg, "this plugin takes no options");
    else
        vane_buf_append_str(&msg, "this plugin takes ");
    for (size_t i = 0; i < count; i++)
        vane_buf_appendf(&msg, "%s%s", i == 0 ? "" : i + 1 == count ? " and " : ", ",
                         table[i].name);
    return vane_buf_detach(&msg);
}

static int set_from_config(struct plugin_options *o, const json_t *config, char **errmsg)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)config, key, value) {
        long i = find_index(o->table, o->count, key);
        const struct vane_option *opt;

        if (i < 0) {
            *errmsg = unknown_option(o->table, o->count, key);
            return -EINVAL;
        }
        opt = &o->table[i];
        if (read_value(opt->type, value, &o->values[i]) != 0) {
            char *got = shown(value, (opt->flags & VANE_OPTION_SECRET) != 0);

            *errmsg = vane_asprintf("option '%s': expected %s; got %s", key,
                                    expected(opt->type), got);
            vane_free(got);
            return -EINVAL;
        }
    }
    return 0;
}

/* Defaults for what config left out; a required option left out is an error. */
static int apply_defaults(struct plugin_options *o, char **errmsg)
{
    for (size_t i = 0; i < o->count; i++) {
        const struct vane_option *opt = &o->table[i];
        json_t *json;

        if (o->values[i].set)
            continue;
        if (opt->flags & VANE_OPTION_REQUIRED) {
            *errmsg = vane_asprintf("option '%s' is required: %s (%s)", opt->name,
                                    expected(opt->type), opt->doc ? opt->doc : "no description");
            return -EINVAL;
        }
        if (opt->default_value == NULL)
            continue;
        /* The table was checked at load time: the default reads. */
        json = json_loads(opt->default_value, JSON_DECODE_ANY, NULL);
        read_value(opt->type, json, &o->values[i]);
        json_decref(json);
    }
    return 0;
}

int plugin_options_parse(const struct vane_option *table, size_t count, const json_t *config,
                         struct plugin_options **out, char **errmsg)
{
    struct plugin_options *o;
    int err = 0;

    *out = NULL;
    if (config != NULL && !json_is_object(config)) {
        char *got = shown(config, false);

        *errmsg = vane_asprintf("options: expected a JSON object of option names and values; "
                                "got %s", got);
        vane_free(got);
        return -EINVAL;
    }
    o = vane_calloc(1, sizeof(*o) + count * sizeof(o->values[0]));
    o->table = table;
    o->count = count;
    if ((config != NULL && (err = set_from_config(o, config, errmsg)) != 0) ||
        (err = apply_defaults(o, errmsg)) != 0) {
        plugin_options_free(o);
        return err;
    }
    *out = o;
    return 0;
}

void plugin_options_free(struct plugin_options *options)
{
    if (options == NULL)
        return;
    for (size_t i = 0; i < options->count; i++)
        value_clear(&options->values[i]);
    vane_free(options);
}

/* The value of name when its type is one of the mask's (1 << type), else NULL. */
static const struct option_value *lookup(const struct plugin_options *o, const char *name,
                                         unsigned types)
{
    long i;

    if (o == NULL || name == NULL || (i = find_index(o->table, o->count, name)) < 0 ||
        !(types & (1u << o->table[i].type)) || !o->values[i].set)
        return NULL;
    return &o->values[i];
}

#define TYPE(t) (1u << (t))
#define ANY_TYPE (~0u)

int plugin_options_is_set(const struct plugin_options *options, const char *name)
{
    return lookup(options, name, ANY_TYPE) != NULL;
}

const char *plugin_options_string(const struct plugin_options *options, const char *name)
{
    const struct option_value *v =
        lookup(options, name, TYPE(VANE_OPTION_STRING) | TYPE(VANE_OPTION_OBJECT));

    return v ? v->text : NULL;
}

int64_t plugin_options_int(const struct plugin_options *options, const char *name)
{
    const struct option_value *v =
        lookup(options, name, TYPE(VANE_OPTION_INT) | TYPE(VANE_OPTION_SIZE) |
                                  TYPE(VANE_OPTION_DURATION) | TYPE(VANE_OPTION_BOOL));

    return v ? v->number : 0;
}

int plugin_options_bool(const struct plugin_options *options, const char *name)
{
    const struct option_value *v = lookup(options, name, TYPE(VANE_OPTION_BOOL));

    return v ? (int)v->number : 0;
}

size_t plugin_options_list_count(const struct plugin_options *options, const char *name)
{
    const struct option_value *v = lookup(options, name, TYPE(VANE_OPTION_LIST));

    return v ? v->list_count : 0;
}

const char *plugin_options_list_at(const struct plugin_options *options, const char *name,
                                   size_t i)
{
    const struct option_value *v = lookup(options, name, TYPE(VANE_OPTION_LIST));

    return v && i < v->list_count ? v->list[i] : NULL;
}

json_t *plugin_options_describe(const struct vane_option *table, size_t count)
{
    json_t *array = json_array();

    for (size_t i = 0; i < count; i++) {
        const struct vane_option *opt = &table[i];
        bool secret = (opt->flags & VANE_OPTION_SECRET) != 0;
        json_t *entry = json_pack("{s:s, s:s}", "name", opt->name, "type",
                                  plugin_options_type_name(opt->type));

        if (opt->default_value != NULL && !secret)
            json_object_set_new(entry, "default",
                                json_loads(opt->default_value, JSON_DECODE_ANY, NULL));
        json_object_set_new(entry, "required",
                            json_boolean((opt->flags & VANE_OPTION_REQUIRED) != 0));
        json_object_set_new(entry, "secret", json_boolean(secret));
        json_object_set_new(entry, "doc", json_string(opt->doc ? opt->doc : ""));
        json_array_append_new(array, entry);
    }
    return array;
}
