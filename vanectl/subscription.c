/*
 * subscription.c -- vanectl subscription
 * create|list|info|update|disable|resume|reset-offset|delete and
 * subscription dead-letter get|resend: the subscription admin API
 * (/api/v1/subscriptions) from the command line.
 *
 * create and update share their settings options and the code that turns
 * them into the request's JSON (add_setting); options that only make sense
 * at creation (where the subscription reads from: --eventbus, --offset-type,
 * --offset-time; --disabled) come first in settings_options, so update
 * takes the rows after them, and --name (a rename) comes last, which create
 * refuses.  Values are checked here against the API's own limits
 * (gateway/subscriptions_api.h), so a wrong one is a usage error (exit 2)
 * and nothing is sent; filters and transformers are only parsed as JSON
 * here, the broker compiles them and names what is wrong.  --sink may be
 * left out: then a sink connector (connector.c, --subscription) serves the
 * subscription, and its sink shows as "-".
 *
 * A subscription is shown (info, and the answer of create, update,
 * disable, resume, reset-offset) as its settings, then a row per eventlog
 * with the offset it delivers next, then (info) its delivery figures: the
 * events delivered, retried, dead-lettered and filtered out, those in
 * flight, and the lag in events and seconds.  --format json prints the broker's
 * answer unchanged.
 *
 * dead-letter get pages through the subscription's dead letters with
 * event get's --offset and --limit (event.h) and shows each as a row of
 * what went wrong: the xvanusdl* extensions that delivery added (reason,
 * attempts, the last error, when); dead-letter resend sends a page of them
 * to the sink again.  Both end with where the next page starts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/units.h"
#include "event.h"
#include "gateway/subscriptions_api.h"
#include "parse.h"
#include "vanectl.h"

#define PATH "/api/v1/subscriptions/"
#define EVENTLOG_INDEX_MAX 63 /* an eventbus has at most 64 eventlogs */
#define BOOL_EXPECTED "true or false"

enum setting {
    SETTING_EVENTBUS = 256, /* create only, up to SETTING_DISABLED */
    SETTING_OFFSET_TYPE,
    SETTING_OFFSET_TIME,
    SETTING_DISABLED,
    SETTING_SINK, /* create and update */
    SETTING_FILTERS,
    SETTING_TRANSFORMER,
    SETTING_DESCRIPTION,
    SETTING_DELIVERY_MODE,
    SETTING_BATCH_SIZE,
    SETTING_HEADER,
    SETTING_RATE_LIMIT,
    SETTING_DELIVERY_TIMEOUT,
    SETTING_MAX_RETRIES,
    SETTING_ORDERED,
    SETTING_DEAD_LETTER,
    SETTING_DISABLE_DEAD_LETTER,
    SETTING_NAME, /* update only */
};

#define CREATE_ONLY_ROWS 4

static const struct option settings_options[] = {
    {"eventbus", required_argument, NULL, SETTING_EVENTBUS},
    {"offset-type", required_argument, NULL, SETTING_OFFSET_TYPE},
    {"offset-time", required_argument, NULL, SETTING_OFFSET_TIME},
    {"disabled", no_argument, NULL, SETTING_DISABLED},
    {"sink", required_argument, NULL, SETTING_SINK},
    {"filters", required_argument, NULL, SETTING_FILTERS},
    {"transformer", required_argument, NULL, SETTING_TRANSFORMER},
    {"description", required_argument, NULL, SETTING_DESCRIPTION},
    {"delivery-mode", required_argument, NULL, SETTING_DELIVERY_MODE},
    {"batch-size", required_argument, NULL, SETTING_BATCH_SIZE},
    {"header", required_argument, NULL, SETTING_HEADER},
    {"rate-limit", required_argument, NULL, SETTING_RATE_LIMIT},
    {"delivery-timeout", required_argument, NULL, SETTING_DELIVERY_TIMEOUT},
    {"max-retries", required_argument, NULL, SETTING_MAX_RETRIES},
    {"ordered", optional_argument, NULL, SETTING_ORDERED},
    {"dead-letter-eventbus", required_argument, NULL, SETTING_DEAD_LETTER},
    {"disable-dead-letter", optional_argument, NULL, SETTING_DISABLE_DEAD_LETTER},
    {"name", required_argument, NULL, SETTING_NAME},
    {NULL, 0, NULL, 0},
};

/* ---- the request body ------------------------------------------------------ */

/* The object body[key], made on first use (protocol_settings, config, headers). */
static json_t *member_object(json_t *body, const char *key)
{
    json_t *object = json_object_get(body, key);

    if (!json_is_object(object)) {
        object = json_object();
        json_object_set_new(body, key, object);
    }
    return object;
}

/* JSON given inline, or as @FILE (@- for stdin).  Returns 0 or an exit status. */
static int read_json_value(const struct context *ctx, const char *option, const char *value,
                           json_t **json)
{
    json_error_t error;

    if (value[0] == '@' && strcmp(value + 1, "-") == 0)
        *json = json_loadf(stdin, JSON_REJECT_DUPLICATES, &error);
    else if (value[0] == '@')
        *json = json_load_file(value + 1, JSON_REJECT_DUPLICATES, &error);
    else
        *json = json_loads(value, JSON_REJECT_DUPLICATES, &error);
    if (*json != NULL)
        return 0;
    if (value[0] == '@' && error.line < 1)
        return command_usage_error(ctx, "%s: %s", option, error.text);
    return command_usage_error(ctx, "%s: expected JSON or @FILE; %s: line %d, column %d: %s",
                               option, value[0] == '@' ? value + 1 : "the JSON given",
                               error.line, error.column, error.text);
}

/* "true" or "false", or (no value) true. */
static int parse_bool(const char *text, bool *value)
{
    if (text == NULL || strcmp(text, "true") == 0)
        *value = true;
    else if (strcmp(text, "false") == 0)
        *value = false;
    else
        return -1;
    return 0;
}

/* Whether text is one of the NULL-terminated words. */
static bool is_one_of(const char *text, const char *const *words)
{
    for (size_t i = 0; words[i] != NULL; i++)
        if (strcmp(text, words[i]) == 0)
            return true;
    return false;
}

static int set_bool(const struct context *ctx, const char *option, json_t *into, const char *key,
                    const char *text)
{
    bool value;

    if (parse_bool(text, &value) != 0)
        return command_bad_value(ctx, option, BOOL_EXPECTED, text);
    json_object_set_new(into, key, json_boolean(value));
    return 0;
}

static int set_json(const struct context *ctx, const char *option, json_t *into, const char *key,
                    const char *text)
{
    json_t *value;
    int status = read_json_value(ctx, option, text, &value);

    if (status == 0)
        json_object_set_new(into, key, value);
    return status;
}

/* --header NAME=VALUE into protocol_settings.headers. */
static int add_header(const struct context *ctx, json_t *body, const char *text)
{
    const char *equals = strchr(text, '=');
    char *name;
    int status;

    if (equals == NULL || equals == text)
        return command_bad_value(ctx, "--header", "NAME=VALUE, such as X-Token=abc", text);
    name = vane_strndup(text, (size_t)(equals - text));
    status = command_set_text(ctx, "--header",
                              member_object(member_object(body, "protocol_settings"), "headers"),
                              name, equals + 1);
    vane_free(name);
    return status;
}

/* --delivery-timeout DURATION into config.delivery_timeout (milliseconds). */
static int set_timeout(const struct context *ctx, json_t *config, const char *text)
{
    uint64_t ms;

    if (vane_parse_duration_ms(text, &ms) != 0 || ms < SUBSCRIPTION_TIMEOUT_MIN_MS ||
        ms > SUBSCRIPTION_TIMEOUT_MAX_MS)
        return command_bad_value(ctx, "--delivery-timeout",
                                 "a duration from 100ms to 10m, such as 5s or 1500ms", text);
    json_object_set_new(config, "delivery_timeout", json_integer((json_int_t)ms));
    return 0;
}

static int set_offset_time(const struct context *ctx, json_t *config, const char *text)
{
    const char *why;

    if (parse_timestamp(text, &why) != 0)
        return command_usage_error(ctx, "--offset-time: %s; got \"%s\"", why, text);
    json_object_set_new(config, "offset_timestamp", json_string(text));
    return 0;
}

/* Adds one settings option to the request body.  Returns 0 or an exit status. */
static int add_setting(const struct context *ctx, int opt, const char *value, json_t *body)
{
    static const char *const modes[] = {"binary", "structured", "batch", NULL};
    static const char *const offset_types[] = {"latest", "earliest", "timestamp", NULL};
    json_t *settings = member_object(body, "protocol_settings");
    json_t *config = member_object(body, "config");

    switch (opt) {
    case SETTING_EVENTBUS: return command_set_text(ctx, "--eventbus", body, "eventbus", value);
    case SETTING_OFFSET_TYPE:
        if (!is_one_of(value, offset_types))
            return command_bad_value(ctx, "--offset-type", "latest, earliest or timestamp", value);
        return command_set_text(ctx, "--offset-type", config, "offset_type", value);
    case SETTING_OFFSET_TIME: return set_offset_time(ctx, config, value);
    case SETTING_DISABLED: json_object_set_new(body, "disabled", json_true()); return 0;
    case SETTING_SINK: return command_set_text(ctx, "--sink", body, "sink", value);
    case SETTING_FILTERS: return set_json(ctx, "--filters", body, "filters", value);
    case SETTING_TRANSFORMER: return set_json(ctx, "--transformer", body, "transformer", value);
    case SETTING_DESCRIPTION:
        return command_set_text(ctx, "--description", body, "description", value);
    case SETTING_DELIVERY_MODE:
        if (!is_one_of(value, modes))
            return command_bad_value(ctx, "--delivery-mode", "binary, structured or batch", value);
        return command_set_text(ctx, "--delivery-mode", settings, "delivery_mode", value);
    case SETTING_BATCH_SIZE:
        return command_set_count(ctx, "--batch-size", settings, "batch_size", value, 1,
                         SUBSCRIPTION_BATCH_MAX);
    case SETTING_HEADER: return add_header(ctx, body, value);
    case SETTING_RATE_LIMIT:
        return command_set_count(ctx, "--rate-limit", config, "rate_limit", value, 0,
                         SUBSCRIPTION_RATE_LIMIT_MAX);
    case SETTING_DELIVERY_TIMEOUT: return set_timeout(ctx, config, value);
    case SETTING_MAX_RETRIES:
        return command_set_count(ctx, "--max-retries", config, "max_retry_attempts", value, 0,
                         SUBSCRIPTION_RETRIES_MAX);
    case SETTING_ORDERED: return set_bool(ctx, "--ordered", config, "ordered_event", value);
    case SETTING_DEAD_LETTER:
        return command_set_text(ctx, "--dead-letter-eventbus", config, "dead_letter_eventbus",
                                value);
    case SETTING_DISABLE_DEAD_LETTER:
        return set_bool(ctx, "--disable-dead-letter", config, "disable_dead_letter", value);
    case SETTING_NAME: return command_set_text(ctx, "--name", body, "name", value);
    default: /* command_getopt() has said what is wrong */
        return VANECTL_EXIT_USAGE;
    }
}

/* Drops the objects no option filled, so an update sends only what was given. */
static void drop_empty(json_t *body)
{
    if (json_object_size(json_object_get(body, "protocol_settings")) == 0)
        json_object_del(body, "protocol_settings");
    if (json_object_size(json_object_get(body, "config")) == 0)
        json_object_del(body, "config");
}

/* Reads create's or update's options into body, and the subscription's NAME (or ID). */
static int read_settings(struct context *ctx, int argc, char **argv,
                         const struct option *options, json_t *body, const char **ref)
{
    int opt, status;

    while ((opt = command_getopt(ctx, argc, argv, options)) != -1)
        if ((status = add_setting(ctx, opt, optarg, body)) != 0)
            return status;
    drop_empty(body);
    return command_one_argument(ctx, argc, argv, options == settings_options ? "NAME" : "ID|NAME",
                                ref);
}

/* ---- printing --------------------------------------------------------------- */

/* A member of a member of the answer ("config", "rate_limit"), or NULL. */
static const json_t *setting_at(const json_t *subscription, const char *object, const char *key)
{
    return json_object_get(json_object_get(subscription, object), key);
}

/* "5000ms": how --delivery-timeout reads it back. */
static json_t *timeout_text(const json_t *ms)
{
    char *text = vane_asprintf("%" JSON_INTEGER_FORMAT "ms", json_integer_value(ms));
    json_t *cell = json_string(text);

    vane_free(text);
    return cell;
}

/* Where undeliverable events go: the dead-letter eventbus, or "off". */
static json_t *dead_letter_text(const json_t *subscription)
{
    if (json_is_true(setting_at(subscription, "config", "disable_dead_letter")))
        return json_string("off");
    return json_incref((json_t *)setting_at(subscription, "config", "dead_letter_eventbus"));
}

/* A subscription's settings as KEY VALUE rows. */
static json_t *summary(const json_t *s)
{
    const char *mode;
    json_t *rows = json_pack(
        "{s:O?,s:O?,s:O?,s:O?,s:o,s:O?,s:O?,s:O?,s:o,s:O?,s:o,s:O?,s:O?,s:o?,s:O?,s:O?,s:O?}",
        "id", json_object_get(s, "id"), "name", json_object_get(s, "name"), "eventbus",
        json_object_get(s, "eventbus"), "disabled", json_object_get(s, "disabled"), "sink",
        command_or_dash(json_object_get(s, "sink")), "delivery_mode",
        setting_at(s, "protocol_settings", "delivery_mode"), "headers",
        setting_at(s, "protocol_settings", "headers"), "filters", json_object_get(s, "filters"),
        "transformer", command_or_dash(json_object_get(s, "transformer")), "rate_limit",
        setting_at(s, "config", "rate_limit"), "delivery_timeout",
        timeout_text(setting_at(s, "config", "delivery_timeout")), "max_retries",
        setting_at(s, "config", "max_retry_attempts"), "ordered",
        setting_at(s, "config", "ordered_event"), "dead_letter", dead_letter_text(s), "created",
        json_object_get(s, "created_at"), "updated", json_object_get(s, "updated_at"),
        "description", json_object_get(s, "description"));

    mode = json_string_value(setting_at(s, "protocol_settings", "delivery_mode"));
    if (mode != NULL && strcmp(mode, "batch") == 0)
        json_object_set(rows, "batch_size",
                        (json_t *)setting_at(s, "protocol_settings", "batch_size"));
    return rows;
}

/* A subscription as a table: its settings, then the offset of each eventlog,
 * then (info) its delivery figures. */
static void print_subscription(const struct client_reply *reply)
{
    static const char *const columns[] = {"eventlog", "offset"};
    const json_t *stats = json_object_get(reply->body, "stats");
    json_t *rows = summary(reply->body);

    output_print(stdout, rows, OUTPUT_TABLE);
    fputc('\n', stdout);
    output_table(stdout, columns, 2, json_object_get(reply->body, "offsets"));
    if (json_is_object(stats)) {
        fputc('\n', stdout);
        output_print(stdout, stats, OUTPUT_TABLE);
    }
    json_decref(rows);
}

/* A subscription as a row of `subscription list`. */
static json_t *subscription_row(const json_t *s)
{
    return json_pack("{s:O?,s:O?,s:O?,s:o,s:o,s:O?,s:O?}", "id", json_object_get(s, "id"),
                     "name", json_object_get(s, "name"), "eventbus",
                     json_object_get(s, "eventbus"), "sink",
                     command_or_dash(json_object_get(s, "sink")), "mode",
                     command_or_dash(setting_at(s, "protocol_settings", "delivery_mode")),
                     "disabled", json_object_get(s, "disabled"), "created",
                     json_object_get(s, "created_at"));
}

static void print_subscriptions(const struct client_reply *reply)
{
    static const char *const columns[] = {"id", "name", "eventbus", "sink", "mode", "disabled",
                                          "created"};

    output_table_of(stdout, columns, sizeof(columns) / sizeof(columns[0]),
                    json_object_get(reply->body, "subscriptions"), subscription_row);
}

/* ---- the commands ------------------------------------------------------------ */

static int create_subscription(struct context *ctx, int argc, char **argv)
{
    json_t *body = json_object(), *config, *timestamp = json_string("timestamp");
    const char *name = NULL;
    int status = read_settings(ctx, argc, argv, settings_options, body, &name);

    config = json_object_get(body, "config");
    if (status == 0 && json_object_get(body, "name") != NULL)
        status = command_usage_error(ctx, "--name: the name is the argument: vanectl "
                                          "subscription create NAME");
    else if (status == 0 && json_object_get(body, "eventbus") == NULL)
        status = command_usage_error(ctx, "--eventbus is required (the eventbus to deliver from)");
    /* --offset-time alone says where to start; timestamp needs the time. */
    if (status == 0 && json_object_get(config, "offset_timestamp") != NULL &&
        json_object_get(config, "offset_type") == NULL)
        json_object_set_new(config, "offset_type", json_string("timestamp"));
    if (status == 0 && json_object_get(config, "offset_timestamp") == NULL &&
        json_equal(json_object_get(config, "offset_type"), timestamp))
        status = command_usage_error(ctx, "--offset-type timestamp needs --offset-time");
    if (status == 0) {
        json_object_set_new(body, "name", json_string(name));
        status = command_call(ctx, name, "POST", "/api/v1/subscriptions", body,
                              print_subscription);
    }
    json_decref(timestamp);
    json_decref(body);
    return status;
}

static int list_subscriptions(struct context *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"eventbus", required_argument, NULL, SETTING_EVENTBUS},
        {NULL, 0, NULL, 0},
    };
    const char *eventbus = NULL;
    char *path;
    int opt, status;

    while ((opt = command_getopt(ctx, argc, argv, options)) != -1) {
        if (opt != SETTING_EVENTBUS)
            return VANECTL_EXIT_USAGE;
        eventbus = optarg;
    }
    if (optind < argc)
        return command_usage_error(ctx, "takes no arguments; got \"%s\"", argv[optind]);
    path = eventbus ? command_path("/api/v1/subscriptions?eventbus=", eventbus, "")
                    : vane_strdup("/api/v1/subscriptions");
    status = command_call(ctx, eventbus, "GET", path, NULL, print_subscriptions);
    vane_free(path);
    return status;
}

/* Sends method to the path of the subscription ref (an id or a name) + suffix. */
static int call_on(const struct context *ctx, const char *ref, const char *method,
                   const char *suffix, const json_t *body,
                   void (*print_table)(const struct client_reply *))
{
    char *path = command_path(PATH, ref, suffix);
    int status = command_call(ctx, ref, method, path, body, print_table);

    vane_free(path);
    return status;
}

/* info, disable, resume, delete: method on the subscription's path + suffix, no body. */
static int on_subscription(struct context *ctx, int argc, char **argv, const char *method,
                           const char *suffix, void (*print_table)(const struct client_reply *))
{
    const char *ref = NULL;
    int status = command_name_only(ctx, argc, argv, "ID|NAME", &ref);

    return status != 0 ? status : call_on(ctx, ref, method, suffix, NULL, print_table);
}

static int show_subscription(struct context *ctx, int argc, char **argv)
{
    return on_subscription(ctx, argc, argv, "GET", "", print_subscription);
}

static int disable_subscription(struct context *ctx, int argc, char **argv)
{
    return on_subscription(ctx, argc, argv, "POST", "/disable", print_subscription);
}

static int resume_subscription(struct context *ctx, int argc, char **argv)
{
    return on_subscription(ctx, argc, argv, "POST", "/resume", print_subscription);
}

static int delete_subscription(struct context *ctx, int argc, char **argv)
{
    return on_subscription(ctx, argc, argv, "DELETE", "", command_print_object);
}

static int update_subscription(struct context *ctx, int argc, char **argv)
{
    json_t *body = json_object();
    const char *ref = NULL;
    int status = read_settings(ctx, argc, argv, settings_options + CREATE_ONLY_ROWS, body, &ref);

    if (status == 0 && json_object_size(body) == 0)
        status = command_usage_error(ctx, "nothing to change; see vanectl subscription update "
                                          "--help");
    if (status == 0)
        status = call_on(ctx, ref, "PUT", "", body, print_subscription);
    json_decref(body);
    return status;
}

/* ---- reset-offset ------------------------------------------------------------- */

enum reset_option { RESET_TIME = 256, RESET_EARLIEST, RESET_LATEST, RESET_OFFSET };

/* --offset EVENTLOG=OFFSET, appended to the body's "offsets". */
static int add_offset(const struct context *ctx, json_t *body, const char *text)
{
    const char *equals = strchr(text, '=');
    char *eventlog_text = equals ? vane_strndup(text, (size_t)(equals - text)) : NULL;
    uint64_t eventlog, offset;
    json_t *offsets = json_object_get(body, "offsets");
    int ok = equals != NULL && parse_count(eventlog_text, EVENTLOG_INDEX_MAX, &eventlog) == 0 &&
             parse_count(equals + 1, INT64_MAX, &offset) == 0;

    vane_free(eventlog_text);
    if (!ok)
        return command_bad_value(ctx, "--offset", "EVENTLOG=OFFSET, such as 0=17", text);
    if (offsets == NULL)
        json_object_set_new(body, "offsets", offsets = json_array());
    json_array_append_new(offsets, json_pack("{s:I, s:I}", "eventlog", (json_int_t)eventlog,
                                             "offset", (json_int_t)offset));
    return 0;
}

/* Each option sets one key of the body; more than one key is a usage error. */
static int add_reset_option(const struct context *ctx, int opt, const char *value, json_t *body)
{
    const char *why;

    switch (opt) {
    case RESET_TIME:
        if (parse_timestamp(value, &why) != 0)
            return command_usage_error(ctx, "--time: %s; got \"%s\"", why, value);
        json_object_set_new(body, "time", json_string(value));
        return 0;
    case RESET_EARLIEST: json_object_set_new(body, "position", json_string("earliest")); return 0;
    case RESET_LATEST: json_object_set_new(body, "position", json_string("latest")); return 0;
    case RESET_OFFSET: return add_offset(ctx, body, value);
    default: return VANECTL_EXIT_USAGE; /* command_getopt() has said what is wrong */
    }
}

static int reset_offset(struct context *ctx, int argc, char **argv)
{
    static const struct option options[] = {
        {"time", required_argument, NULL, RESET_TIME},
        {"earliest", no_argument, NULL, RESET_EARLIEST},
        {"latest", no_argument, NULL, RESET_LATEST},
        {"offset", required_argument, NULL, RESET_OFFSET},
        {NULL, 0, NULL, 0},
    };
    json_t *body = json_object();
    const char *ref = NULL;
    int opt, status = 0, given = 0;

    while (status == 0 && (opt = command_getopt(ctx, argc, argv, options)) != -1) {
        given += opt != RESET_OFFSET || json_object_get(body, "offsets") == NULL;
        status = add_reset_option(ctx, opt, optarg, body);
    }
    if (status == 0 && given != 1)
        status = command_usage_error(ctx, "give one of --time, --earliest, --latest or "
                                          "--offset (which may repeat)");
    if (status == 0)
        status = command_one_argument(ctx, argc, argv, "ID|NAME", &ref);
    if (status == 0)
        status = call_on(ctx, ref, "POST", "/reset-offset", body, print_subscription);
    json_decref(body);
    return status;
}

/* ---- dead-letter get|resend ------------------------------------------------------ */

#define DEAD_LETTERS "/dead-letters"
#define DEAD_LETTER_ERROR_WIDTH 48

static const struct option dead_letter_options[] = {
    {"offset", required_argument, NULL, EVENT_QUERY_OFFSET},
    {"limit", required_argument, NULL, EVENT_QUERY_LIMIT},
    {NULL, 0, NULL, 0},
};

/* A dead letter as a row: where it is, which event, and what went wrong. */
static json_t *dead_letter_row(const json_t *stored, struct json_span stored_text)
{
    const json_t *event = json_object_get(stored, "event");
    const char *error = json_string_value(json_object_get(event, "xvanusdlerror"));

    (void)stored_text; /* the data is not shown */
    return json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:o,s:O?}",
                     "offset", json_object_get(stored, "offset"),
                     "id", json_object_get(event, "id"),
                     "type", json_object_get(event, "type"),
                     "reason", json_object_get(event, "xvanusdlreason"),
                     "attempts", json_object_get(event, "xvanusdlattempts"),
                     "error", event_text_cell(vane_strdup(error ? error : ""),
                                              DEAD_LETTER_ERROR_WIDTH),
                     "time", json_object_get(event, "xvanusdltime"));
}

static void print_dead_letters(const struct client_reply *reply)
{
    static const char *const columns[] = {"offset", "id",    "type", "reason",
                                          "attempts", "error", "time"};

    event_print_table(reply, columns, sizeof(columns) / sizeof(columns[0]), dead_letter_row);
}

static void print_resent(const struct client_reply *reply)
{
    json_t *rows = json_pack("{s:O?,s:O?}", "resent", json_object_get(reply->body, "resent"),
                             "next", json_object_get(json_object_get(reply->body, "next"),
                                                     "offset"));

    output_print(stdout, rows, OUTPUT_TABLE);
    json_decref(rows);
}

/* The options and the subscription (ID|NAME) of dead-letter get and resend. */
static int read_page(struct context *ctx, int argc, char **argv, struct event_query *query,
                     const char **ref)
{
    int opt, status = 0;

    while (status == 0 && (opt = command_getopt(ctx, argc, argv, dead_letter_options)) != -1)
        status = event_query_option(ctx, opt, optarg, query);
    if (status == 0)
        status = command_one_argument(ctx, argc, argv, "ID|NAME", ref);
    return status;
}

static int get_dead_letters(struct context *ctx, int argc, char **argv)
{
    struct event_query query = {NULL, NULL, NULL, NULL, NULL};
    const char *ref = NULL;
    char *suffix;
    int status = read_page(ctx, argc, argv, &query, &ref);

    if (status != 0)
        return status;
    suffix = event_query_path(DEAD_LETTERS, &query);
    status = call_on(ctx, ref, "GET", suffix, NULL, print_dead_letters);
    vane_free(suffix);
    return status;
}

/* Sets body[key] to the number text (already checked by event_query_option), if given. */
static void set_page_number(json_t *body, const char *key, const char *text)
{
    uint64_t number;

    if (text != NULL && parse_count(text, INT64_MAX, &number) == 0)
        json_object_set_new(body, key, json_integer((json_int_t)number));
}

static int resend_dead_letters(struct context *ctx, int argc, char **argv)
{
    struct event_query query = {NULL, NULL, NULL, NULL, NULL};
    const char *ref = NULL;
    json_t *body = json_object();
    int status = read_page(ctx, argc, argv, &query, &ref);

    set_page_number(body, "offset", query.offset);
    set_page_number(body, "limit", query.limit);
    if (status == 0)
        status = call_on(ctx, ref, "POST", DEAD_LETTERS "/resend", body, print_resent);
    json_decref(body);
    return status;
}

static const char dead_letter_get_help[] =
    "  --offset N                  where to start in the dead-letter eventbus (default 0;\n"
    "                              the \"next:\" line of the answer gives where to go on)\n"
    "  --limit N                   at most N dead letters, 1 to 1000 (default 10)\n";

static const char dead_letter_resend_help[] =
    "  --offset N                  where to start in the dead-letter eventbus (default 0)\n"
    "  --limit N                   at most N dead letters, 1 to 1000 (default 100)\n"
    "The subscription must be running (see resume).\n";

static const struct command dead_letter_commands[] = {
    {"get", "ID|NAME [--offset N] [--limit N]",
     "show a subscription's dead letters: the events it could not deliver, and why",
     dead_letter_get_help, get_dead_letters, NULL},
    {"resend", "ID|NAME [--offset N] [--limit N]",
     "send a subscription's dead letters to its sink again", dead_letter_resend_help,
     resend_dead_letters, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

/* ---- the table ------------------------------------------------------------------ */

#define SINK_HELP \
    "  --sink URL                  where events are delivered: an http:// or https:// URL\n"

#define SETTINGS_HELP                                                                        \
    "  --filters JSON|@FILE        which events: a filters array, such as\n"                 \
    "                              '[{\"exact\": {\"type\": \"order.created\"}}]'\n"         \
    "  --transformer JSON|@FILE    how to change them first (define/pipeline/template)\n"    \
    "  --description TEXT          what the subscription is for\n"                           \
    "  --delivery-mode MODE        binary (default), structured or batch\n"                  \
    "  --batch-size N              events per request in batch mode, 1 to 1000 (100)\n"      \
    "  --header NAME=VALUE         an extra header on every delivery (may repeat)\n"         \
    "  --rate-limit N              at most N events a second (0, the default: no limit)\n"   \
    "  --delivery-timeout DURATION each attempt's limit, 100ms to 10m (default 5s)\n"        \
    "  --max-retries N             retries before dead-lettering, 0 to 1000 (default 32)\n"  \
    "  --ordered[=BOOL]            deliver one event at a time, in order\n"                  \
    "  --dead-letter-eventbus NAME where undeliverable events go (default __dl_EVENTBUS)\n"  \
    "  --disable-dead-letter[=BOOL] drop undeliverable events instead\n"

static const char create_help[] =
    "  --eventbus NAME             the eventbus to deliver from (required)\n"
    "  --offset-type TYPE          where to start: latest (default: only new events),\n"
    "                              earliest (every stored event) or timestamp\n"
    "  --offset-time TIME          with timestamp: start at events stored from this\n"
    "                              RFC 3339 time on (implies --offset-type timestamp)\n"
    "  --disabled                  create it paused (see vanectl subscription resume)\n"
    SINK_HELP
    "                              (leave it out for a sink connector to serve the\n"
    "                              subscription: vanectl connector create --subscription)\n"
    SETTINGS_HELP;

static const char update_help[] =
    "  --name NAME                 rename it\n"
    SINK_HELP
    SETTINGS_HELP
    "The offsets stay as they are (see reset-offset); so does the eventbus.\n";

static const char reset_help[] =
    "  --time TIME                 the first events stored at or after this RFC 3339 time\n"
    "  --earliest                  the oldest stored events\n"
    "  --latest                    only events published from now on\n"
    "  --offset EVENTLOG=OFFSET    this offset of this eventlog (may repeat; eventlogs not\n"
    "                              named keep theirs)\n";

const struct command subscription_commands[] = {
    {"create", "NAME --eventbus NAME [--sink URL] [OPTION]...",
     "create a subscription: deliver an eventbus's events to a sink URL or a sink connector",
     create_help, create_subscription, NULL},
    {"list", "[--eventbus NAME]", "list the subscriptions, or those of one eventbus", NULL,
     list_subscriptions, NULL},
    {"info", "ID|NAME", "show a subscription and the offset it delivers next per eventlog",
     NULL, show_subscription, NULL},
    {"update", "ID|NAME [OPTION]...", "change a subscription's settings (its offsets stay)",
     update_help, update_subscription, NULL},
    {"disable", "ID|NAME", "stop delivering (the offsets are kept)", NULL,
     disable_subscription, NULL},
    {"resume", "ID|NAME", "deliver again from where it stopped", NULL, resume_subscription,
     NULL},
    {"reset-offset", "ID|NAME (--time TIME | --earliest | --latest | --offset N=M...)",
     "move where a subscription delivers from", reset_help, reset_offset, NULL},
    {"delete", "ID|NAME", "delete a subscription", NULL, delete_subscription, NULL},
    {"dead-letter", "COMMAND", "read and resend the events a subscription could not deliver",
     NULL, NULL, dead_letter_commands},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
