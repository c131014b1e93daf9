/*
 * subscriptions_api.c -- create, list, show, change, pause, rewind and
 * delete subscriptions over HTTP (see subscriptions_api.h;
 * doc/subscriptions.md for the bodies).
 *
 * Reading a body.  The fields a subscription takes are rows of tables
 * (subscription_members, settings_members, config_members): each says the
 * key, the name errors give it, and how its value is checked -- a ranged
 * integer, a boolean, one of a few words, or a reader of its own.  One walk,
 * read_members(), reads an object against a table, refusing a key the table
 * does not have with a 400 that names it, and writes each value it took
 * into a target object.  A create reads the body onto the defaults, an
 * update onto the subscription as it is, so what a body leaves out is the
 * default, or stays as it was; protocol_settings and config are merged
 * member by member, every other field is replaced whole.  Filters and the
 * transformer are compiled by their engines (filter.h, transform.h) only to
 * check them; the compiled objects are thrown away (the trigger compiles
 * its own).  A Lua script or a plugin named as a filter or transformer
 * must be loaded now, define that function (be of that kind) and take
 * the config given (trigger/external.h); nothing of it is started here.
 *
 * Names and ids.  A path takes a subscription's id or its name; a name
 * that is only digits would be read as an id, so no name may be only
 * digits.  Names follow the eventbuses' rule (admin_input.h).  As for
 * eventbuses, names starting with "__" are the broker's own (the timer's
 * subscription): listed and shown, but not created, changed or deleted here.
 *
 * Offsets.  A subscription's offsets, one per eventlog of its eventbus, are
 * the next offset to deliver.  At create (config.offset_type) and at
 * reset-offset they are computed here from the store: latest is each
 * eventlog's next_offset, earliest its first_offset, a time the first
 * offset stored at or after it.  An update keeps them.
 *
 * Order of checks: token (401), path (404, 400), method (405), readiness
 * (503), the subscription named (404), the body (400), the eventbus (404),
 * the name (409), then the controller's proposal, answered later through a
 * struct response_later (response.h) as eventbuses.c does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/percent.h"
#include "event/timestamp.h"
#include "filter/filter.h"
#include "gateway/admin_input.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"
#include "gateway/http_server.h"
#include "gateway/dead_letters.h"
#include "gateway/query.h"
#include "gateway/response.h"
#include "trigger/external.h"
#include "trigger/trigger.h"
#include "gateway/subscriptions_api.h"
#include "store/store.h"
#include "transform/transform.h"

#define PREFIX "/api/v1/subscriptions"
#define PREFIX_LEN (sizeof(PREFIX) - 1)
#define HEADER_NAME_MAX 256
#define HEADER_VALUE_MAX 8192
#define TCHARS "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define NS_PER_S 1000000000LL

struct subscriptions_handler {
    h2o_handler_t super;
    struct gateway *gw;
};

/* ---- the fields a subscription takes ------------------------------------ */

/* What reading one body needs to know. */
struct reading {
    h2o_req_t *req;
    struct gateway *gw; /* its plugins and scripts check the lua and plugin dialects */
    bool updating; /* onto an existing subscription: eventbus and disabled stay */
};

enum member_kind {
    MEMBER_INTEGER, /* from min to max */
    MEMBER_BOOLEAN,
    MEMBER_CHOICE,  /* one of choices */
    MEMBER_OWN,     /* read by read */
};

struct member {
    const char *key;
    const char *field; /* as errors name it: "config.rate_limit" */
    enum member_kind kind;
    json_int_t min, max;
    const char *const *choices; /* NULL-terminated */
    /* Checks value and sets key in into; 0, or 1 after answering 400. */
    int (*read)(struct reading *r, const struct member *m, const json_t *value, json_t *into);
    bool create_only; /* an update checks it, then leaves it as it is */
};

static int read_name(struct reading *r, const struct member *m, const json_t *value, json_t *into);
static int read_eventbus(struct reading *r, const struct member *m, const json_t *value,
                         json_t *into);
static int read_description(struct reading *r, const struct member *m, const json_t *value,
                            json_t *into);
static int read_filters(struct reading *r, const struct member *m, const json_t *value,
                        json_t *into);
static int read_transformer(struct reading *r, const struct member *m, const json_t *value,
                            json_t *into);
static int read_sink(struct reading *r, const struct member *m, const json_t *value, json_t *into);
static int read_settings(struct reading *r, const struct member *m, const json_t *value,
                         json_t *into);
static int read_config(struct reading *r, const struct member *m, const json_t *value,
                       json_t *into);
static int read_disabled(struct reading *r, const struct member *m, const json_t *value,
                         json_t *into);
static int read_headers(struct reading *r, const struct member *m, const json_t *value,
                        json_t *into);
static int read_offset_timestamp(struct reading *r, const struct member *m, const json_t *value,
                                 json_t *into);
static int read_dead_letter(struct reading *r, const struct member *m, const json_t *value,
                            json_t *into);

static const char *const protocols[] = {"http", NULL};
static const char *const delivery_modes[] = {"binary", "structured", "batch", NULL};
static const char *const offset_types[] = {"latest", "earliest", "timestamp", NULL};
static const char *const positions[] = {"earliest", "latest", NULL};

static const struct member subscription_members[] = {
    {.key = "name", .field = "name", .kind = MEMBER_OWN, .read = read_name},
    {.key = "eventbus", .field = "eventbus", .kind = MEMBER_OWN, .read = read_eventbus},
    {.key = "description", .field = "description", .kind = MEMBER_OWN, .read = read_description},
    {.key = "filters", .field = "filters", .kind = MEMBER_OWN, .read = read_filters},
    {.key = "transformer", .field = "transformer", .kind = MEMBER_OWN, .read = read_transformer},
    {.key = "sink", .field = "sink", .kind = MEMBER_OWN, .read = read_sink},
    {.key = "protocol", .field = "protocol", .kind = MEMBER_CHOICE, .choices = protocols},
    {.key = "protocol_settings", .field = "protocol_settings", .kind = MEMBER_OWN,
     .read = read_settings},
    {.key = "config", .field = "config", .kind = MEMBER_OWN, .read = read_config},
    {.key = "disabled", .field = "disabled", .kind = MEMBER_OWN, .read = read_disabled},
    {.key = NULL},
};

static const struct member settings_members[] = {
    {.key = "headers", .field = "protocol_settings.headers", .kind = MEMBER_OWN,
     .read = read_headers},
    {.key = "delivery_mode", .field = "protocol_settings.delivery_mode", .kind = MEMBER_CHOICE,
     .choices = delivery_modes},
    {.key = "batch_size", .field = "protocol_settings.batch_size", .kind = MEMBER_INTEGER,
     .min = 1, .max = SUBSCRIPTION_BATCH_MAX},
    {.key = NULL},
};

static const struct member config_members[] = {
    {.key = "rate_limit", .field = "config.rate_limit", .kind = MEMBER_INTEGER, .min = 0,
     .max = SUBSCRIPTION_RATE_LIMIT_MAX},
    {.key = "delivery_timeout", .field = "config.delivery_timeout", .kind = MEMBER_INTEGER,
     .min = SUBSCRIPTION_TIMEOUT_MIN_MS, .max = SUBSCRIPTION_TIMEOUT_MAX_MS},
    {.key = "max_retry_attempts", .field = "config.max_retry_attempts", .kind = MEMBER_INTEGER,
     .min = 0, .max = SUBSCRIPTION_RETRIES_MAX},
    {.key = "ordered_event", .field = "config.ordered_event", .kind = MEMBER_BOOLEAN},
    {.key = "offset_type", .field = "config.offset_type", .kind = MEMBER_CHOICE,
     .choices = offset_types, .create_only = true},
    {.key = "offset_timestamp", .field = "config.offset_timestamp", .kind = MEMBER_OWN,
     .read = read_offset_timestamp, .create_only = true},
    {.key = "dead_letter_eventbus", .field = "config.dead_letter_eventbus", .kind = MEMBER_OWN,
     .read = read_dead_letter},
    {.key = "disable_dead_letter", .field = "config.disable_dead_letter", .kind = MEMBER_BOOLEAN},
    {.key = NULL},
};

/* What a create starts from: every default but the dead-letter eventbus (from the eventbus). */
static json_t *defaults(void)
{
    return json_pack("{s:s, s:[], s:s, s:{s:{}, s:s, s:i}, s:{s:i, s:i, s:i, s:b, s:s, s:b}, s:b}",
                     "description", "", "filters", "protocol", "http", "protocol_settings",
                     "headers", "delivery_mode", "binary", "batch_size",
                     SUBSCRIPTION_BATCH_DEFAULT, "config", "rate_limit", 0, "delivery_timeout",
                     SUBSCRIPTION_TIMEOUT_DEFAULT_MS, "max_retry_attempts",
                     SUBSCRIPTION_RETRIES_DEFAULT, "ordered_event", 0, "offset_type", "latest",
                     "disable_dead_letter", 0, "disabled", 0);
}

/* ---- the subscription object --------------------------------------------- */

/* object's members in the order of rows, the order the documentation lists them in. */
static json_t *in_order(const json_t *object, const struct member *rows)
{
    json_t *out = json_object();

    for (const struct member *row = rows; row->key != NULL; row++)
        if (json_object_get(object, row->key) != NULL)
            json_object_set(out, row->key, json_object_get(object, row->key));
    return out;
}

static json_t *offsets_json(const struct subscription_meta *sub)
{
    json_t *array = json_array();

    for (uint32_t i = 0; i < sub->offset_count; i++)
        json_array_append_new(array, json_pack("{s:I, s:I}", "eventlog", (json_int_t)i, "offset",
                                               (json_int_t)sub->offsets[i]));
    return array;
}

static json_t *sub_json(const struct subscription_meta *sub)
{
    const json_t *spec = sub->spec;

    return json_pack("{s:I, s:s, s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:o, s:o, s:b, s:o, s:o, s:o}",
                     "id", (json_int_t)sub->id, "name", sub->name, "eventbus", sub->eventbus,
                     "description", json_object_get(spec, "description"), "filters",
                     json_object_get(spec, "filters"), "transformer",
                     json_object_get(spec, "transformer"), "sink", json_object_get(spec, "sink"),
                     "protocol", json_object_get(spec, "protocol"), "protocol_settings",
                     in_order(json_object_get(spec, "protocol_settings"), settings_members),
                     "config", in_order(json_object_get(spec, "config"), config_members),
                     "disabled", sub->disabled, "offsets", offsets_json(sub), "created_at",
                     admin_time_json(sub->created_at, false), "updated_at",
                     admin_time_json(sub->updated_at, false));
}

/* The object with its delivery figures ("stats"; {"running": false} without a worker). */
static json_t *with_stats(struct gateway *gw, const struct subscription_meta *sub)
{
    json_t *json = sub_json(sub);
    struct trigger_stats st;

    if (gw->trigger == NULL || !trigger_stats(gw->trigger, sub->id, &st)) {
        json_object_set_new(json, "stats", json_pack("{s:b}", "running", 0));
        return json;
    }
    json_object_set_new(json, "stats",
                        json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "running", 1,
                                  "delivered", (json_int_t)st.delivered, "retried",
                                  (json_int_t)st.retried, "dead_lettered",
                                  (json_int_t)st.dead_lettered, "filtered",
                                  (json_int_t)st.filtered, "transform_failures",
                                  (json_int_t)st.failed_transform, "inflight",
                                  (json_int_t)st.inflight, "lag_events",
                                  (json_int_t)st.lag_events, "lag_seconds", st.lag_seconds));
    return json;
}

/* ---- reading a body against the tables ------------------------------------ */

static const struct member *find_member(const struct member *rows, const char *key)
{
    for (const struct member *row = rows; row->key != NULL; row++)
        if (strcmp(row->key, key) == 0)
            return row;
    return NULL;
}

/* "a, b or c" ("\"a\", \"b\" or \"c\"" for choices) or "a, b and c" (fields). */
static void append_list(struct vane_buf *text, const char *const *words, bool choices)
{
    for (size_t i = 0; words[i] != NULL; i++)
        vane_buf_appendf(text, "%s%s%s%s",
                         i == 0                  ? ""
                         : words[i + 1] != NULL ? ", "
                         : choices              ? " or "
                                                : " and ",
                         choices ? "\"" : "", words[i], choices ? "\"" : "");
}

static void refuse_unknown(h2o_req_t *req, const char *parent, const char *key,
                           const struct member *rows)
{
    struct vane_buf text = VANE_BUF_INIT;
    const char *keys[16];
    char *field = parent ? vane_asprintf("%s.%s", parent, key) : vane_strdup(key);
    size_t n = 0;

    for (const struct member *row = rows; row->key != NULL && n + 1 < 16; row++)
        keys[n++] = row->key;
    keys[n] = NULL;
    vane_buf_appendf(&text, "%s: unknown field; %s takes ", field,
                     parent ? parent : "a subscription");
    append_list(&text, keys, false);
    response_error(req, 400, "Bad Request", field, "%s", text.data);
    vane_buf_free(&text);
    vane_free(field);
}

static int refuse_choice(h2o_req_t *req, const struct member *m, const json_t *value)
{
    struct vane_buf text = VANE_BUF_INIT;

    vane_buf_appendf(&text, "%s: expected ", m->field);
    append_list(&text, m->choices, true);
    if (json_is_string(value))
        vane_buf_appendf(&text, "; got \"%s\"", json_string_value(value));
    else
        vane_buf_appendf(&text, "; got %s", admin_json_kind(value));
    response_error(req, 400, "Bad Request", m->field, "%s", text.data);
    vane_buf_free(&text);
    return 1;
}

static bool is_choice(const json_t *value, const char *const *choices)
{
    for (size_t i = 0; json_is_string(value) && choices[i] != NULL; i++)
        if (strcmp(json_string_value(value), choices[i]) == 0)
            return true;
    return false;
}

/* Answers 400 and returns 1 unless value is true or false. */
static int refuse_non_boolean(h2o_req_t *req, const char *field, const json_t *value)
{
    if (json_is_boolean(value))
        return 0;
    response_error(req, 400, "Bad Request", field, "%s: expected true or false; got %s", field,
                   admin_json_kind(value));
    return 1;
}

/* Reads one member by its row into into (or, for an update of a create-only field, nowhere). */
static int read_member(struct reading *r, const struct member *m, const json_t *value,
                       json_t *into)
{
    json_t *target = m->create_only && r->updating ? json_object() : json_incref(into);
    json_int_t number;
    int failed = 0;

    switch (m->kind) {
    case MEMBER_INTEGER:
        if (!(failed = admin_read_integer(r->req, m->field, value, m->min, m->max, &number)))
            json_object_set_new(target, m->key, json_integer(number));
        break;
    case MEMBER_BOOLEAN:
        if (!(failed = refuse_non_boolean(r->req, m->field, value)))
            json_object_set(target, m->key, (json_t *)value);
        break;
    case MEMBER_CHOICE:
        if (is_choice(value, m->choices))
            json_object_set(target, m->key, (json_t *)value);
        else
            failed = refuse_choice(r->req, m, value);
        break;
    case MEMBER_OWN:
        failed = m->read(r, m, value, target);
        break;
    }
    json_decref(target);
    return failed;
}

/* Reads the members of object value (called field; NULL at the top) by rows into into. */
static int read_members(struct reading *r, const char *field, const struct member *rows,
                        const json_t *value, json_t *into)
{
    const struct member *row;
    const char *key;
    json_t *member;

    if (!json_is_object(value)) {
        response_error(r->req, 400, "Bad Request", field, "%s: expected an object; got %s",
                       field ? field : "body", admin_json_kind(value));
        return 1;
    }
    json_object_foreach((json_t *)value, key, member) {
        if ((row = find_member(rows, key)) == NULL) {
            refuse_unknown(r->req, field, key, rows);
            return 1;
        }
        if (read_member(r, row, member, into))
            return 1;
    }
    return 0;
}

/* ---- the readers of their own --------------------------------------------- */

static bool all_digits(const char *text)
{
    return *text != '\0' && strspn(text, "0123456789") == strlen(text);
}

/* Answers 400 and returns 1 unless value is a string that is a good name. */
static int check_name(h2o_req_t *req, const char *field, const json_t *value)
{
    const char *name = json_string_value(value);
    const char *problem = name ? admin_name_problem(name, strlen(name))
                               : "a string: " ADMIN_NAME_EXPECTED;

    if (problem == NULL)
        return 0;
    response_error(req, 400, "Bad Request", field, "%s: expected %s", field, problem);
    return 1;
}

static int read_name(struct reading *r, const struct member *m, const json_t *value, json_t *into)
{
    if (check_name(r->req, m->field, value))
        return 1;
    if (all_digits(json_string_value(value))) {
        response_error(r->req, 400, "Bad Request", m->field,
                       "name: expected a name that is not only digits (a number in a path is "
                       "a subscription's id); got \"%s\"", json_string_value(value));
        return 1;
    }
    if (admin_is_system_name(json_string_value(value))) {
        response_error(r->req, 400, "Bad Request", m->field,
                       "name: expected a name that does not start with \"__\" (kept for the "
                       "broker's own subscriptions)");
        return 1;
    }
    json_object_set(into, m->key, (json_t *)value);
    return 0;
}

static int read_eventbus(struct reading *r, const struct member *m, const json_t *value,
                         json_t *into)
{
    const char *current = json_string_value(json_object_get(into, m->key));

    if (check_name(r->req, m->field, value))
        return 1;
    if (r->updating && strcmp(current, json_string_value(value)) != 0) {
        response_error(r->req, 400, "Bad Request", m->field,
                       "eventbus: a subscription stays on its eventbus ('%s'); create another "
                       "subscription for '%s'", current, json_string_value(value));
        return 1;
    }
    json_object_set(into, m->key, (json_t *)value);
    return 0;
}

static int read_description(struct reading *r, const struct member *m, const json_t *value,
                            json_t *into)
{
    if (!json_is_string(value) || json_string_length(value) > SUBSCRIPTION_DESCRIPTION_MAX) {
        response_error(r->req, 400, "Bad Request", m->field,
                       "description: expected a string of at most %d bytes; got %s",
                       SUBSCRIPTION_DESCRIPTION_MAX,
                       json_is_string(value) ? "a longer one" : admin_json_kind(value));
        return 1;
    }
    json_object_set(into, m->key, (json_t *)value);
    return 0;
}

/* Answers 400 for what an engine refused at path (members: more for the error, taken). */
static void refuse_compiled(h2o_req_t *req, const char *path, const char *message,
                            json_t *members)
{
    char *text = vane_asprintf("%s: %s", path, message);

    response_error_with(req, 400, "Bad Request", path, text, members);
    vane_free(text);
}

/* Whether a filter error's path ends at a CESQL expression ("filters[2].any[0].sql"). */
static bool is_sql_path(const char *path)
{
    const char *dot = strrchr(path, '.');

    return dot != NULL && (strcmp(dot, ".sql") == 0 || strcmp(dot, ".cesql") == 0);
}

static int read_filters(struct reading *r, const struct member *m, const json_t *value,
                        json_t *into)
{
    struct filter_error error;
    struct filter *filter = NULL;

    struct external_env env = {r->gw->plugins, r->gw->scripts, NULL, NULL, true};

    memset(&error, 0, sizeof(error));
    if (filter_compile_with((json_t *)value, &external_filters, &env, &filter, &error) != 0) {
        refuse_compiled(r->req, error.path[0] ? error.path : m->field, error.message,
                        is_sql_path(error.path)
                            ? json_pack("{s:I}", "position", (json_int_t)error.position)
                            : NULL);
        return 1;
    }
    filter_free(filter);
    json_object_set_new(into, m->key,
                        json_is_null(value) ? json_array() : json_incref((json_t *)value));
    return 0;
}

/* {"lua": ...} or {"plugin": ..., "config": ...}: the script or plugin must be there now. */
static int read_external_transformer(struct reading *r, const struct member *m,
                                     const json_t *value, json_t *into)
{
    struct external_env env = {r->gw->plugins, r->gw->scripts, NULL, NULL, true};
    struct external_transform *unused;
    char *errmsg = NULL, *colon;

    if (external_transform_open(&env, value, &unused, &errmsg) != 0) {
        colon = strstr(errmsg, ": ");
        if (colon != NULL)
            *colon = '\0';
        refuse_compiled(r->req, errmsg, colon ? colon + 2 : errmsg, NULL);
        vane_free(errmsg);
        return 1;
    }
    json_object_set(into, m->key, (json_t *)value);
    return 0;
}

static int read_transformer(struct reading *r, const struct member *m, const json_t *value,
                            json_t *into)
{
    struct transform_error error;
    struct transformer *transformer = NULL;
    int err;

    if (json_is_null(value)) {
        json_object_del(into, m->key);
        return 0;
    }
    if (external_transform_is(value))
        return read_external_transformer(r, m, value, into);
    memset(&error, 0, sizeof(error));
    err = transformer_compile((json_t *)value, &transformer, &error);
    if (err != 0) {
        /* The engine's paths start inside the transformer: "pipeline[2].command[1]". */
        char *field = vane_asprintf("%s%s%s", m->field, error.path[0] ? "." : "", error.path);

        refuse_compiled(r->req, field, error.message, NULL);
        vane_free(field);
        return 1;
    }
    transformer_free(transformer);
    json_object_set(into, m->key, (json_t *)value);
    return 0;
}

/* Whether text is an absolute http:// or https:// URL with a host, as libcurl reads URLs. */
static bool is_http_url(const char *text)
{
    CURLU *url = curl_url();
    char *scheme = NULL, *host = NULL;
    bool good = curl_url_set(url, CURLUPART_URL, text, 0) == CURLUE_OK &&
                curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
                curl_url_get(url, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
                (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) && *host != '\0';

    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(url);
    return good;
}

static int read_sink(struct reading *r, const struct member *m, const json_t *value, json_t *into)
{
    if (!json_is_string(value) || !is_http_url(json_string_value(value))) {
        response_error(r->req, 400, "Bad Request", m->field,
                       "sink: expected an http:// or https:// URL such as "
                       "http://127.0.0.1:9000/hook; got %s%s%s",
                       json_is_string(value) ? "\"" : "",
                       json_is_string(value) ? json_string_value(value) : admin_json_kind(value),
                       json_is_string(value) ? "\"" : "");
        return 1;
    }
    json_object_set(into, m->key, (json_t *)value);
    return 0;
}

static int read_settings(struct reading *r, const struct member *m, const json_t *value,
                         json_t *into)
{
    return read_members(r, m->field, settings_members, value, json_object_get(into, m->key));
}

static int read_config(struct reading *r, const struct member *m, const json_t *value,
                       json_t *into)
{
    return read_members(r, m->field, config_members, value, json_object_get(into, m->key));
}

static int read_disabled(struct reading *r, const struct member *m, const json_t *value,
                         json_t *into)
{
    if (r->updating) {
        response_error(r->req, 400, "Bad Request", m->field,
                       "disabled: an update leaves it; POST to " PREFIX "/{id}/disable or "
                       PREFIX "/{id}/resume");
        return 1;
    }
    if (refuse_non_boolean(r->req, m->field, value))
        return 1;
    json_object_set(into, m->key, (json_t *)value);
    return 0;
}

/* Headers the delivery writes itself, which a subscription may not set. */
static bool is_reserved_header(const char *name)
{
    static const char *const reserved[] = {"content-length", "content-type", "host",
                                           "transfer-encoding", "connection", NULL};

    for (size_t i = 0; reserved[i] != NULL; i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return true;
    return strncasecmp(name, "ce-", 3) == 0;
}

/* NULL when name: value may be sent as an extra header, else what was expected. */
static const char *header_problem(const char *name, const json_t *value)
{
    const char *text = json_string_value(value);

    if (*name == '\0' || strlen(name) > HEADER_NAME_MAX || strspn(name, TCHARS) != strlen(name))
        return "a header name of letters, digits and !#$%&'*+-.^_`|~";
    if (is_reserved_header(name))
        return "a header the delivery does not write itself (not Content-Type, Content-Length, "
               "Host, Transfer-Encoding, Connection or ce-*)";
    if (text == NULL || json_string_length(value) > HEADER_VALUE_MAX)
        return "a string of at most 8192 bytes as the value";
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return "a value without control characters";
    if (strlen(text) != json_string_length(value))
        return "a value without NUL";
    return NULL;
}

static int read_headers(struct reading *r, const struct member *m, const json_t *value,
                        json_t *into)
{
    const char *name, *problem;
    json_t *header;

    if (!json_is_object(value)) {
        response_error(r->req, 400, "Bad Request", m->field,
                       "%s: expected an object of header names and values; got %s", m->field,
                       admin_json_kind(value));
        return 1;
    }
    json_object_foreach((json_t *)value, name, header) {
        if ((problem = header_problem(name, header)) != NULL) {
            char *field = vane_asprintf("%s.%s", m->field, name);

            response_error(r->req, 400, "Bad Request", field, "%s: expected %s", field, problem);
            vane_free(field);
            return 1;
        }
    }
    json_object_set(into, m->key, (json_t *)value);
    return 0;
}

/* A time as RFC 3339 text or whole seconds since the epoch; 0, or 1 after answering 400. */
static int read_time(h2o_req_t *req, const char *field, const json_t *value, int64_t *ns)
{
    const char *why = "expected an RFC 3339 time such as 2026-11-26T10:00:00Z, or whole seconds "
                      "since 1970 as an integer";

    if (json_is_integer(value) && json_integer_value(value) >= 0 &&
        json_integer_value(value) <= INT64_MAX / NS_PER_S) {
        *ns = json_integer_value(value) * NS_PER_S;
        return 0;
    }
    if (json_is_string(value) &&
        timestamp_parse(json_string_value(value), json_string_length(value), ns, &why) == 0)
        return 0;
    response_error(req, 400, "Bad Request", field, "%s: %s", field, why);
    return 1;
}

static int read_offset_timestamp(struct reading *r, const struct member *m, const json_t *value,
                                 json_t *into)
{
    int64_t ns;

    if (read_time(r->req, m->field, value, &ns))
        return 1;
    json_object_set_new(into, m->key, admin_time_json(ns, true));
    return 0;
}

static int read_dead_letter(struct reading *r, const struct member *m, const json_t *value,
                            json_t *into)
{
    if (check_name(r->req, m->field, value))
        return 1;
    json_object_set(into, m->key, (json_t *)value);
    return 0;
}

/* ---- what a create needs besides its fields ------------------------------- */

/* Checks what the tables cannot (required fields, the offset pair) and fills in the dead letter. */
static int complete_create(h2o_req_t *req, json_t *in)
{
    /* No sink: a sink connector serves the subscription (engine/engine.h). */
    static const char *const required[] = {"name", "eventbus"};
    json_t *config = json_object_get(in, "config");
    const char *type = json_string_value(json_object_get(config, "offset_type"));
    bool by_time = strcmp(type, "timestamp") == 0;
    bool has_time = json_object_get(config, "offset_timestamp") != NULL;
    char *dead_letter;

    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (json_object_get(in, required[i]) == NULL) {
            response_error(req, 400, "Bad Request", required[i], "%s: required", required[i]);
            return 1;
        }
    if (by_time != has_time) {
        response_error(req, 400, "Bad Request", "config.offset_timestamp",
                       by_time ? "config.offset_timestamp: required with offset_type \"timestamp\""
                               : "config.offset_timestamp: only with offset_type \"timestamp\"");
        return 1;
    }
    if (json_object_get(config, "dead_letter_eventbus") == NULL) {
        dead_letter = vane_asprintf(SUBSCRIPTION_DEAD_LETTER_PREFIX "%s",
                                    json_string_value(json_object_get(in, "eventbus")));
        json_object_set_new(config, "dead_letter_eventbus", json_string(dead_letter));
        vane_free(dead_letter);
    }
    return 0;
}

enum start_at {
    START_LATEST,
    START_EARLIEST,
    START_TIME,
};

/* Answers 503 for an eventbus whose eventlogs the store has not opened (being created or
 * deleted); returns 1. */
static int refuse_not_open(h2o_req_t *req, const char *eventbus)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    response_error(req, 503, "Service Unavailable", NULL,
                   "eventbus '%s': its eventlogs are not open yet; try again", eventbus);
    return 1;
}

/*
 * The offset of each eventlog of eventbus to start from, into offsets
 * (*count of them).  0, or 1 after refuse_not_open().
 */
static int start_offsets(struct gateway *gw, h2o_req_t *req, const char *eventbus,
                         enum start_at at, int64_t time, uint64_t *offsets, uint32_t *count)
{
    const struct store_bus *bus = store_bus(gw->store, eventbus);
    struct eventlog_stats stats;

    for (uint32_t i = 0; bus != NULL && i < bus->meta->eventlog_count; i++) {
        if (bus->logs[i] == NULL)
            break;
        eventlog_stats(bus->logs[i], &stats);
        offsets[i] = at == START_LATEST     ? stats.next_offset
                     : at == START_EARLIEST ? stats.first_offset
                                            : eventlog_offset_at_time(bus->logs[i], time);
        *count = i + 1;
    }
    if (bus != NULL && *count == bus->meta->eventlog_count)
        return 0;
    return refuse_not_open(req, eventbus);
}

/* The start of a new subscription's offsets from its config.offset_type. */
static int create_offsets(struct gateway *gw, h2o_req_t *req, const json_t *in,
                          struct subscription_meta *sub)
{
    const json_t *config = json_object_get(in, "config");
    const char *type = json_string_value(json_object_get(config, "offset_type"));
    const json_t *time = json_object_get(config, "offset_timestamp");
    int64_t ns = 0;
    const char *why;

    if (time != NULL)
        timestamp_parse(json_string_value(time), json_string_length(time), &ns, &why);
    return start_offsets(gw, req, sub->eventbus,
                         strcmp(type, "earliest") == 0 ? START_EARLIEST
                         : time != NULL                ? START_TIME
                                                       : START_LATEST,
                         ns, sub->offsets, &sub->offset_count);
}

/* The spec the controller keeps: everything in but name, eventbus and disabled. */
static json_t *spec_of(const json_t *in)
{
    json_t *spec = json_deep_copy(in);

    json_object_del(spec, "name");
    json_object_del(spec, "eventbus");
    json_object_del(spec, "disabled");
    return spec;
}

/* ---- operations answered later -------------------------------------------- */

enum op_kind {
    OP_CREATE,
    OP_CHANGE, /* update, disable, resume, reset-offset */
    OP_DELETE,
};

struct pending {
    struct response_later later;
    enum op_kind kind;
    uint64_t id;
    char *name;     /* the subscription's, for messages and the delete's answer */
    char *eventbus; /* a create's, for its 404 */
};

static struct pending *pending_new(h2o_req_t *req, enum op_kind kind, uint64_t id,
                                   const char *name, const char *eventbus)
{
    struct pending *op = VANE_NEW(op);

    response_later_start(&op->later, req);
    op->kind = kind;
    op->id = id;
    op->name = vane_strdup(name);
    op->eventbus = eventbus ? vane_strdup(eventbus) : NULL;
    return op;
}

static void pending_free(struct pending *op)
{
    response_later_end(&op->later);
    vane_free(op->name);
    vane_free(op->eventbus);
    vane_free(op);
}

/* Answers what the controller refused, or failed to do; errmsg (may be NULL) says why. */
static void answer_failure(h2o_req_t *req, const struct pending *op, int err, const char *errmsg)
{
    if (err == -ENOENT && op->kind == OP_CREATE)
        response_error(req, 404, "Not Found", "eventbus", "eventbus: no eventbus named '%s'",
                       op->eventbus);
    else if (err == -ENOENT)
        response_error(req, 404, "Not Found", NULL, "no subscription '%s'", op->name);
    else if (err == -EEXIST)
        response_error(req, 409, "Conflict", "name", "name: a subscription named '%s' already "
                       "exists", op->name);
    else if (err == -EINVAL)
        response_error(req, 400, "Bad Request", NULL, "%s",
                       errmsg ? errmsg : "invalid subscription");
    else if (!response_unavailable(req, err))
        response_error(req, 500, "Internal Server Error", NULL, "subscription '%s': %s", op->name,
                       vane_strerror(err));
}

static void answer_done(h2o_req_t *req, const struct pending *op,
                        const struct subscription_meta *sub)
{
    char location[PREFIX_LEN + 24];

    switch (op->kind) {
    case OP_CREATE:
        snprintf(location, sizeof(location), PREFIX "/%llu", (unsigned long long)sub->id);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL,
                       h2o_strdup(&req->pool, location, SIZE_MAX).base, strlen(location));
        response_json(req, 201, "Created", sub_json(sub));
        break;
    case OP_CHANGE:
        response_json(req, 200, "OK", sub_json(sub));
        break;
    case OP_DELETE:
        response_json(req, 200, "OK", json_pack("{s:I, s:s, s:b}", "id", (json_int_t)op->id,
                                                "name", op->name, "deleted", 1));
        break;
    }
}

/* The controller's callback for every operation. */
static void on_done(void *arg, int status, const struct subscription_meta *sub)
{
    struct pending *op = arg;

    if (status == 0 && sub == NULL && op->kind != OP_DELETE)
        status = -ENOENT; /* gone by the time its change was applied */
    if (op->later.req != NULL && status != 0)
        answer_failure(op->later.req, op, status, NULL);
    else if (op->later.req != NULL)
        answer_done(op->later.req, op, sub);
    pending_free(op);
}

/* Ends an operation whose proposal was refused at once (its callback never runs). */
static void settle(struct pending *op, int err, const char *errmsg)
{
    if (err != 0) {
        answer_failure(op->later.req, op, err, errmsg);
        pending_free(op);
    }
}

/* ---- the operations ------------------------------------------------------- */

static struct controller *controller_of(const struct gateway *gw)
{
    return store_controller(gw->store);
}

static void create_sub(struct gateway *gw, h2o_req_t *req)
{
    struct reading reading = {req, gw, false};
    json_t *body = admin_read_body(req), *in = defaults();
    struct subscription_meta sub;
    struct pending *op;
    char *errmsg = NULL;

    memset(&sub, 0, sizeof(sub));
    if (body == NULL || read_members(&reading, NULL, subscription_members, body, in) ||
        complete_create(req, in))
        goto done;
    sub.name = (char *)json_string_value(json_object_get(in, "name"));
    sub.eventbus = (char *)json_string_value(json_object_get(in, "eventbus"));
    sub.disabled = json_is_true(json_object_get(in, "disabled"));
    if (controller_find(controller_of(gw), sub.eventbus) == NULL) {
        response_error(req, 404, "Not Found", "eventbus", "eventbus: no eventbus named '%s'",
                       sub.eventbus);
        goto done;
    }
    if (controller_find_subscription_named(controller_of(gw), sub.name) != NULL) {
        response_error(req, 409, "Conflict", "name",
                       "name: a subscription named '%s' already exists", sub.name);
        goto done;
    }
    if (create_offsets(gw, req, in, &sub))
        goto done;
    sub.spec = spec_of(in);
    op = pending_new(req, OP_CREATE, 0, sub.name, sub.eventbus);
    settle(op, controller_create_subscription(controller_of(gw), &sub, on_done, op, &errmsg),
           errmsg);
    json_decref(sub.spec);
    vane_free(errmsg);
done:
    json_decref(in);
    json_decref(body);
}

/* The subscription as a create body would give it, for an update to read onto. */
static json_t *current_input(const struct subscription_meta *sub)
{
    json_t *in = json_deep_copy(sub->spec);

    json_object_set_new(in, "name", json_string(sub->name));
    json_object_set_new(in, "eventbus", json_string(sub->eventbus));
    return in;
}

static void update_sub(struct gateway *gw, h2o_req_t *req, const struct subscription_meta *sub)
{
    struct reading reading = {req, gw, true};
    json_t *body = admin_read_body(req), *in = current_input(sub), *spec;
    const char *name;
    struct pending *op;
    char *errmsg = NULL;

    if (body == NULL || read_members(&reading, NULL, subscription_members, body, in))
        goto done;
    name = json_string_value(json_object_get(in, "name"));
    if (strcmp(name, sub->name) != 0 &&
        controller_find_subscription_named(controller_of(gw), name) != NULL) {
        response_error(req, 409, "Conflict", "name",
                       "name: a subscription named '%s' already exists", name);
        goto done;
    }
    spec = spec_of(in);
    op = pending_new(req, OP_CHANGE, sub->id, name, NULL);
    settle(op,
           controller_update_subscription(controller_of(gw), sub->id,
                                          strcmp(name, sub->name) != 0 ? name : NULL, spec,
                                          on_done, op, &errmsg),
           errmsg);
    json_decref(spec);
    vane_free(errmsg);
done:
    json_decref(in);
    json_decref(body);
}

static void set_disabled(struct gateway *gw, h2o_req_t *req, const struct subscription_meta *sub,
                         bool disabled)
{
    struct pending *op = pending_new(req, OP_CHANGE, sub->id, sub->name, NULL);

    settle(op, controller_set_subscription_disabled(controller_of(gw), sub->id, disabled, on_done,
                                                    op),
           NULL);
}

static void delete_sub(struct gateway *gw, h2o_req_t *req, const struct subscription_meta *sub)
{
    struct pending *op = pending_new(req, OP_DELETE, sub->id, sub->name, NULL);

    settle(op, controller_delete_subscription(controller_of(gw), sub->id, on_done, op), NULL);
}

/* ---- reset-offset ---------------------------------------------------------- */

/* Reads {"eventlog": N, "offset": M} (element i of "offsets") into offsets. */
static int read_one_offset(struct gateway *gw, h2o_req_t *req, const struct subscription_meta *sub,
                           size_t i, const json_t *item, uint64_t *offsets, bool *seen)
{
    const struct store_bus *bus = store_bus(gw->store, sub->eventbus);
    char field[64];
    json_int_t eventlog, offset;
    struct eventlog_stats stats;
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)item, key, value)
        if (strcmp(key, "eventlog") != 0 && strcmp(key, "offset") != 0) {
            char *unknown = vane_asprintf("offsets[%zu].%s", i, key);

            response_error(req, 400, "Bad Request", unknown,
                           "%s: unknown field; an offset takes eventlog and offset", unknown);
            vane_free(unknown);
            return 1;
        }
    snprintf(field, sizeof(field), "offsets[%zu].eventlog", i);
    if (admin_read_integer(req, field, json_object_get(item, "eventlog"), 0,
                           (json_int_t)sub->offset_count - 1, &eventlog))
        return 1;
    if (seen[eventlog]) {
        response_error(req, 400, "Bad Request", field, "%s: eventlog %d is given twice", field,
                       (int)eventlog);
        return 1;
    }
    seen[eventlog] = true;
    if (bus == NULL || bus->logs[eventlog] == NULL)
        return refuse_not_open(req, sub->eventbus);
    eventlog_stats(bus->logs[eventlog], &stats);
    snprintf(field, sizeof(field), "offsets[%zu].offset", i);
    if (admin_read_integer(req, field, json_object_get(item, "offset"), 0,
                           (json_int_t)stats.next_offset, &offset))
        return 1;
    offsets[eventlog] = (uint64_t)offset;
    return 0;
}

/* "offsets": [{"eventlog": 0, "offset": 5}, ...]; the eventlogs left out keep theirs. */
static int read_offset_list(struct gateway *gw, h2o_req_t *req,
                            const struct subscription_meta *sub, const json_t *list,
                            uint64_t *offsets)
{
    bool seen[CONTROLLER_MAX_EVENTLOGS] = {false};
    const json_t *item;
    size_t i;

    if (!json_is_array(list) || json_array_size(list) == 0) {
        response_error(req, 400, "Bad Request", "offsets",
                       "offsets: expected an array of {\"eventlog\": N, \"offset\": M}; got %s",
                       json_is_array(list) ? "an empty one" : admin_json_kind(list));
        return 1;
    }
    memcpy(offsets, sub->offsets, sub->offset_count * sizeof(*offsets));
    json_array_foreach(list, i, item) {
        if (!json_is_object(item)) {
            response_error(req, 400, "Bad Request", "offsets",
                           "offsets[%zu]: expected {\"eventlog\": N, \"offset\": M}; got %s", i,
                           admin_json_kind(item));
            return 1;
        }
        if (read_one_offset(gw, req, sub, i, item, offsets, seen))
            return 1;
    }
    return 0;
}

/* Reads a reset-offset body into offsets; 0, or 1 after answering. */
static int read_reset(struct gateway *gw, h2o_req_t *req, const struct subscription_meta *sub,
                      const json_t *body, uint64_t *offsets)
{
    static const struct member position = {.key = "position", .field = "position",
                                           .kind = MEMBER_CHOICE, .choices = positions};
    const char *key = json_object_size(body) == 1
                          ? json_object_iter_key(json_object_iter((json_t *)body))
                          : NULL;
    const json_t *value = key ? json_object_get(body, key) : NULL;
    uint32_t count = 0;
    int64_t ns;

    if (key == NULL) {
        response_error(req, 400, "Bad Request", NULL,
                       "body: expected one of time, position or offsets; got %zu fields",
                       json_object_size(body));
        return 1;
    }
    if (strcmp(key, "time") == 0)
        return read_time(req, "time", value, &ns) ||
               start_offsets(gw, req, sub->eventbus, START_TIME, ns, offsets, &count);
    if (strcmp(key, "position") == 0) {
        if (!is_choice(value, positions))
            return refuse_choice(req, &position, value);
        return start_offsets(gw, req, sub->eventbus,
                             strcmp(json_string_value(value), "earliest") == 0 ? START_EARLIEST
                                                                                : START_LATEST,
                             0, offsets, &count);
    }
    if (strcmp(key, "offsets") == 0)
        return read_offset_list(gw, req, sub, value, offsets);
    response_error(req, 400, "Bad Request", key,
                   "%s: unknown field; reset-offset takes time, position or offsets", key);
    return 1;
}

static void reset_offsets(struct gateway *gw, h2o_req_t *req, const struct subscription_meta *sub)
{
    uint64_t offsets[CONTROLLER_MAX_EVENTLOGS];
    json_t *body = admin_read_body(req);
    struct pending *op;

    if (body != NULL && read_reset(gw, req, sub, body, offsets) == 0) {
        op = pending_new(req, OP_CHANGE, sub->id, sub->name, NULL);
        settle(op, controller_commit_offsets(controller_of(gw), sub->id, offsets,
                                             sub->offset_count, true, on_done, op),
               NULL);
    }
    json_decref(body);
}

/* ---- listing ---------------------------------------------------------------- */

/* The eventbus a list asks for (?eventbus=NAME) into name, "" for all; 0, or 1 after answering. */
/* The list's options: eventbus=NAME, and system=true to show the broker's own (__...). */
struct list_options {
    char eventbus[CONTROLLER_MAX_NAME + 1];
    bool system;
};

static int list_option(h2o_req_t *req, const struct query_param *param, struct list_options *o)
{
    const char *problem;

    if (strcmp(param->name, "eventbus") == 0) {
        if ((problem = admin_name_problem(param->value, strlen(param->value))) != NULL) {
            response_error(req, 400, "Bad Request", "eventbus", "eventbus: expected %s",
                           problem);
            return -1;
        }
        snprintf(o->eventbus, sizeof(o->eventbus), "%s", param->value);
        return 0;
    }
    if (strcmp(param->name, "system") == 0 &&
        (strcmp(param->value, "true") == 0 || strcmp(param->value, "false") == 0)) {
        o->system = strcmp(param->value, "true") == 0;
        return 0;
    }
    response_error(req, 400, "Bad Request", param->name,
                   "query: expected eventbus=NAME or system=true|false");
    return -1;
}

static int list_query(h2o_req_t *req, struct list_options *o)
{
    struct query_param param;
    size_t cursor = 0;
    int rc;

    memset(o, 0, sizeof(*o));
    while ((rc = query_next(req, &cursor, &param)) > 0)
        if (list_option(req, &param, o) != 0)
            return -1;
    if (rc < 0)
        response_error(req, 400, "Bad Request", NULL,
                       "malformed query: expected name=value pairs joined by &");
    return rc;
}

static void list_subs(struct gateway *gw, h2o_req_t *req)
{
    const struct subscription_meta *const *subs;
    struct list_options o;
    json_t *array;
    size_t count;

    if (list_query(req, &o) != 0)
        return;
    if (*o.eventbus != '\0' && controller_find(controller_of(gw), o.eventbus) == NULL) {
        response_error(req, 404, "Not Found", "eventbus", "eventbus: no eventbus named '%s'",
                       o.eventbus);
        return;
    }
    subs = controller_subscriptions(controller_of(gw), &count);
    array = json_array();
    for (size_t i = 0; i < count; i++)
        if ((*o.eventbus == '\0' || strcmp(subs[i]->eventbus, o.eventbus) == 0) &&
            (o.system || !admin_is_system_name(subs[i]->name)))
            json_array_append_new(array, sub_json(subs[i]));
    response_json(req, 200, "OK", json_pack("{s:o}", "subscriptions", array));
}

/* ---- routing ---------------------------------------------------------------- */

enum target {
    TARGET_COLLECTION, /* /api/v1/subscriptions */
    TARGET_ONE,        /* /api/v1/subscriptions/{id|name} */
    TARGET_DISABLE,    /* .../disable */
    TARGET_RESUME,     /* .../resume */
    TARGET_RESET,      /* .../reset-offset */
    TARGET_DEAD,       /* .../dead-letters */
    TARGET_RESEND,     /* .../dead-letters/resend */
};

struct route {
    enum target target;
    char ref[CONTROLLER_MAX_NAME + 1]; /* an id or a name */
};

static const struct action {
    const char *suffix;
    enum target target;
} actions[] = {
    {"/disable", TARGET_DISABLE},
    {"/resume", TARGET_RESUME},
    {"/reset-offset", TARGET_RESET},
    {"/dead-letters", TARGET_DEAD},
    {"/dead-letters/resend", TARGET_RESEND},
};

/* Splits the raw path into route; answers 404 or 400 and returns 1 when it names nothing here. */
static int parse_route(h2o_req_t *req, struct route *route)
{
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *path = req->path.base, *ref, *slash;
    size_t ref_len;

    if (len < PREFIX_LEN || memcmp(path, PREFIX, PREFIX_LEN) != 0 ||
        (len > PREFIX_LEN && path[PREFIX_LEN] != '/'))
        goto not_found;
    route->target = TARGET_COLLECTION;
    if (len <= PREFIX_LEN + 1)
        return 0;
    ref = path + PREFIX_LEN + 1;
    slash = memchr(ref, '/', len - PREFIX_LEN - 1);
    ref_len = slash != NULL ? (size_t)(slash - ref) : len - PREFIX_LEN - 1;
    route->target = TARGET_ONE;
    for (size_t i = 0; slash != NULL && i < sizeof(actions) / sizeof(actions[0]); i++)
        if ((size_t)(path + len - slash) == strlen(actions[i].suffix) &&
            memcmp(slash, actions[i].suffix, strlen(actions[i].suffix)) == 0)
            route->target = actions[i].target;
    if (slash != NULL && route->target == TARGET_ONE)
        goto not_found;
    return admin_path_name(req, ref, ref_len, "subscription in the path (its id or name)",
                           route->ref);

not_found:
    response_error(req, 404, "Not Found", NULL,
                   "no such path; subscriptions are at " PREFIX ", " PREFIX "/{id|name} and "
                   PREFIX "/{id|name}/disable, /resume, /reset-offset, /dead-letters or "
                   "/dead-letters/resend");
    return 1;
}

/* The subscription ref names (an id when it is all digits); NULL after answering 404. */
static const struct subscription_meta *find_ref(struct gateway *gw, h2o_req_t *req,
                                                const char *ref)
{
    const struct subscription_meta *sub =
        all_digits(ref) ? controller_find_subscription(controller_of(gw), strtoull(ref, NULL, 10))
                        : controller_find_subscription_named(controller_of(gw), ref);

    if (sub == NULL)
        response_error(req, 404, "Not Found", NULL, "no subscription '%s'", ref);
    return sub;
}

static bool method_is(const h2o_req_t *req, const char *method)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method));
}

static const char *allowed_methods(enum target target)
{
    switch (target) {
    case TARGET_COLLECTION: return "GET, HEAD, POST";
    case TARGET_ONE: return "GET, HEAD, PUT, DELETE";
    case TARGET_DEAD: return "GET, HEAD";
    default: return "POST";
    }
}

static void serve(struct gateway *gw, h2o_req_t *req, const struct route *route)
{
    const struct subscription_meta *sub;

    if (route->target == TARGET_COLLECTION) {
        if (method_is(req, "POST"))
            create_sub(gw, req);
        else
            list_subs(gw, req);
        return;
    }
    if ((sub = find_ref(gw, req, route->ref)) == NULL)
        return;
    if (admin_is_system_name(sub->name) &&
        !(route->target == TARGET_ONE && (method_is(req, "GET") || method_is(req, "HEAD")))) {
        response_error(req, 400, "Bad Request", "name",
                       "name: '%s' is a system subscription, managed by the broker itself",
                       sub->name);
        return;
    }
    switch (route->target) {
    case TARGET_DISABLE: set_disabled(gw, req, sub, true); break;
    case TARGET_RESUME: set_disabled(gw, req, sub, false); break;
    case TARGET_RESET: reset_offsets(gw, req, sub); break;
    case TARGET_DEAD: dead_letters_get(gw, req, sub); break;
    case TARGET_RESEND: dead_letters_resend(gw, req, sub); break;
    default:
        if (method_is(req, "PUT"))
            update_sub(gw, req, sub);
        else if (method_is(req, "DELETE"))
            delete_sub(gw, req, sub);
        else
            response_json(req, 200, "OK", with_stats(gw, sub));
    }
}

static int on_request(h2o_handler_t *self, h2o_req_t *req)
{
    struct gateway *gw = ((struct subscriptions_handler *)self)->gw;
    struct route route;

    if (auth_check(gw->auth, req, AUTH_ADMIN) || parse_route(req, &route) ||
        response_check_method(req, allowed_methods(route.target)) || gateway_check_ready(gw, req))
        return 0;
    serve(gw, req, &route);
    return 0;
}

void subscriptions_api_register(struct http_server *server, struct gateway *gw)
{
    struct subscriptions_handler *h;

    h = (struct subscriptions_handler *)http_server_route(server, PREFIX, on_request, sizeof(*h));
    h->gw = gw;
}
