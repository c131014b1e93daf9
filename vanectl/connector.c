/*
 * connector.c -- vanectl connector create|list|info|update|scale|delete:
 * the connector admin API (/api/v1/connectors, gateway/connectors_api.c)
 * from the command line.
 *
 * A connector is a source or sink plugin configured to feed an eventbus
 * (a source) or to serve a subscription (a sink), scaled by the engine
 * between min and max instances.  create, update and scale share one table
 * of options and the code that turns them into the request's JSON
 * (add_setting): create and update take every row, scale only the last
 * two (--min, --max), so a scale is an update of just those.  The broker
 * replaces the spec's members that an update names and merges "options" key
 * by key, so an update sends only what was given.
 *
 * Plugin options come as --options JSON (a whole object) and --option
 * KEY=VALUE (one each, put on top of --options' object whatever the order
 * on the command line).  An --option value that reads as JSON (a number,
 * true or false, an array, an object, a quoted string) is sent as that
 * value, anything else as a string, so "--option port=8080" sends a number
 * and "--option path=/hook" a string.  What vanectl checks here is the form
 * of each value (a whole number, a duration) and the instance counts against
 * the engine's own limit (engine/engine.h), so a wrong one is a usage error
 * (exit 2) and nothing is sent; the plugin, its options and the target are
 * the broker's to check, and it names the field at fault.
 *
 * A connector is shown (info, and the answer of create, update and scale)
 * as its spec, then its plugin options as the broker gave them (it masks
 * secrets itself), then its status, then a row per running instance.
 * Scaling members the spec leaves out (min, max, concurrency,
 * idle_timeout) mean the engine's default; they show as the effective
 * values the engine reports in the status ("min", "max", "concurrency",
 * "idle_timeout_ms"), or as "-" when it reports none.
 * --format json prints the broker's answer unchanged.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/units.h"
#include "engine/engine.h"
#include "event.h"
#include "parse.h"
#include "vanectl.h"

#define COLLECTION "/api/v1/connectors"
#define LAST_ERROR_WIDTH 40 /* the list's cell of the last error */
#define OPTION_EXPECTED "KEY=VALUE, such as url=http://127.0.0.1:9000/hook or port=8080"
#define DURATION_EXPECTED "a duration such as 60s, 5m or 1h"

enum setting {
    SETTING_PLUGIN = 256,
    SETTING_EVENTBUS,
    SETTING_SUBSCRIPTION,
    SETTING_OPTION,
    SETTING_OPTIONS,
    SETTING_CONCURRENCY,
    SETTING_IDLE_TIMEOUT,
    SETTING_DESCRIPTION,
    SETTING_MIN, /* the rows scale takes, last */
    SETTING_MAX,
};

static const struct option settings_options[] = {
    {"plugin", required_argument, NULL, SETTING_PLUGIN},
    {"eventbus", required_argument, NULL, SETTING_EVENTBUS},
    {"subscription", required_argument, NULL, SETTING_SUBSCRIPTION},
    {"option", required_argument, NULL, SETTING_OPTION},
    {"options", required_argument, NULL, SETTING_OPTIONS},
    {"concurrency", required_argument, NULL, SETTING_CONCURRENCY},
    {"idle-timeout", required_argument, NULL, SETTING_IDLE_TIMEOUT},
    {"description", required_argument, NULL, SETTING_DESCRIPTION},
    {"min", required_argument, NULL, SETTING_MIN},
    {"max", required_argument, NULL, SETTING_MAX},
    {NULL, 0, NULL, 0},
};

/* scale's rows: the last two (--min, --max) and the end. */
#define SCALE_OPTIONS \
    (settings_options + sizeof(settings_options) / sizeof(settings_options[0]) - 3)

/* What create, update and scale read from their options, before it becomes the body. */
struct spec_request {
    json_t *body;          /* the members given, but "options" */
    json_t *options;       /* --options' object, or NULL */
    json_t *option_values; /* each --option KEY=VALUE, put on top of options */
};

/* ---- the request body ------------------------------------------------------ */

/* --idle-timeout: checked here, sent as written ("60s"), which the broker reads the same way. */
static int set_idle_timeout(const struct context *ctx, json_t *body, const char *text)
{
    uint64_t ms;

    if (vane_parse_duration_ms(text, &ms) != 0)
        return command_bad_value(ctx, "--idle-timeout", DURATION_EXPECTED, text);
    json_object_set_new(body, "idle_timeout", json_string(text));
    return 0;
}

/* --option's value: JSON when it reads as a JSON value other than null, else the text. */
static json_t *option_value(const char *text)
{
    json_t *value = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);

    if (value != NULL && !json_is_null(value))
        return value;
    json_decref(value);
    return json_string(text);
}

/* --option KEY=VALUE into request->option_values. */
static int add_option(const struct context *ctx, struct spec_request *request, const char *text)
{
    const char *equals = strchr(text, '=');
    json_t *value;
    char *key;
    int rc;

    if (equals == NULL || equals == text)
        return command_bad_value(ctx, "--option", OPTION_EXPECTED, text);
    if ((value = option_value(equals + 1)) == NULL)
        return command_bad_value(ctx, "--option", "a VALUE of UTF-8 text", text);
    key = vane_strndup(text, (size_t)(equals - text));
    rc = json_object_set_new(request->option_values, key, value); /* refuses a non-UTF-8 key */
    vane_free(key);
    if (rc != 0)
        return command_bad_value(ctx, "--option", "a KEY of UTF-8 text", text);
    return 0;
}

/* --options JSON: the whole object of plugin options. */
static int set_options(const struct context *ctx, struct spec_request *request, const char *text)
{
    json_error_t error;
    json_t *options;

    if (request->options != NULL)
        return command_usage_error(ctx, "--options: given twice; give one object (and "
                                        "--option KEY=VALUE for more)");
    options = json_loads(text, JSON_REJECT_DUPLICATES, &error);
    if (options == NULL)
        return command_usage_error(ctx, "--options: expected a JSON object such as "
                                        "'{\"url\": \"http://127.0.0.1:9000/hook\"}'; column %d: "
                                        "%s",
                                   error.column, error.text);
    if (!json_is_object(options)) {
        json_decref(options);
        return command_bad_value(ctx, "--options", "a JSON object of the plugin's options",
                                 text);
    }
    request->options = options;
    return 0;
}

/* Adds one settings option to the request.  Returns 0 or an exit status. */
static int add_setting(const struct context *ctx, int opt, const char *value,
                       struct spec_request *request)
{
    json_t *body = request->body;

    switch (opt) {
    case SETTING_PLUGIN: return command_set_text(ctx, "--plugin", body, "plugin", value);
    case SETTING_EVENTBUS: return command_set_text(ctx, "--eventbus", body, "eventbus", value);
    case SETTING_SUBSCRIPTION:
        return command_set_text(ctx, "--subscription", body, "subscription", value);
    case SETTING_OPTION: return add_option(ctx, request, value);
    case SETTING_OPTIONS: return set_options(ctx, request, value);
    case SETTING_CONCURRENCY:
        return command_set_count(ctx, "--concurrency", body, "concurrency", value, 1,
                                 INT64_MAX);
    case SETTING_IDLE_TIMEOUT: return set_idle_timeout(ctx, body, value);
    case SETTING_DESCRIPTION:
        return command_set_text(ctx, "--description", body, "description", value);
    case SETTING_MIN:
        return command_set_count(ctx, "--min", body, "min", value, 0, ENGINE_MAX_INSTANCES);
    case SETTING_MAX:
        return command_set_count(ctx, "--max", body, "max", value, 1, ENGINE_MAX_INSTANCES);
    default: /* command_getopt() has said what is wrong */
        return VANECTL_EXIT_USAGE;
    }
}

/* What the options say together: one target, min no more than max; then "options" made. */
static int complete_request(const struct context *ctx, struct spec_request *request)
{
    json_t *body = request->body, *min = json_object_get(body, "min");
    json_t *max = json_object_get(body, "max");

    if (json_object_get(body, "eventbus") != NULL &&
        json_object_get(body, "subscription") != NULL)
        return command_usage_error(ctx, "give --eventbus (for a source) or --subscription (for "
                                        "a sink), not both");
    if (min != NULL && max != NULL && json_integer_value(min) > json_integer_value(max))
        return command_usage_error(ctx, "--max: expected at least --min (%" JSON_INTEGER_FORMAT
                                        "); got %" JSON_INTEGER_FORMAT,
                                   json_integer_value(min), json_integer_value(max));
    if (request->options == NULL && json_object_size(request->option_values) == 0)
        return 0;
    if (request->options == NULL)
        request->options = json_object();
    json_object_update(request->options, request->option_values);
    json_object_set(body, "options", request->options);
    return 0;
}

/* Reads create's, update's or scale's options into request, and the connector's NAME. */
static int read_settings(struct context *ctx, int argc, char **argv,
                         const struct option *options, struct spec_request *request,
                         const char **name)
{
    int opt, status;

    while ((opt = command_getopt(ctx, argc, argv, options)) != -1)
        if ((status = add_setting(ctx, opt, optarg, request)) != 0)
            return status;
    if ((status = complete_request(ctx, request)) != 0)
        return status;
    return command_one_argument(ctx, argc, argv, "NAME", name);
}

static void spec_request_init(struct spec_request *request)
{
    request->body = json_object();
    request->options = NULL;
    request->option_values = json_object();
}

static void spec_request_free(struct spec_request *request)
{
    json_decref(request->body);
    json_decref(request->options);
    json_decref(request->option_values);
}

/* ---- printing --------------------------------------------------------------- */

static const json_t *status_of(const json_t *connector)
{
    return json_object_get(connector, "status");
}

/* source or sink: as the engine says, else by the member that names the target. */
static json_t *kind_text(const json_t *connector)
{
    const json_t *kind = json_object_get(status_of(connector), "kind");

    if (json_is_string(kind))
        return json_incref((json_t *)kind);
    return json_string(json_object_get(connector, "eventbus") != NULL ? "source" : "sink");
}

/* The eventbus a source feeds or the subscription a sink serves. */
static json_t *target_text(const json_t *connector)
{
    const json_t *eventbus = json_object_get(connector, "eventbus");

    return command_or_dash(eventbus != NULL ? eventbus
                                            : json_object_get(connector, "subscription"));
}

/*
 * A scaling setting as the engine runs it: the spec's own value when it
 * gives one, else the effective value the engine reports in
 * status[status_key] (its default), else NULL: a status without it.
 */
static const json_t *effective(const json_t *connector, const char *key,
                               const char *status_key)
{
    const json_t *value = json_object_get(connector, key);

    if (value != NULL && !json_is_null(value))
        return value;
    return json_object_get(status_of(connector), status_key);
}

/* A count (min, max) as text: the effective value, else "-".  Free with vane_free(). */
static char *count_text(const json_t *connector, const char *key)
{
    const json_t *value = effective(connector, key, key);

    return json_is_integer(value)
               ? vane_asprintf("%" JSON_INTEGER_FORMAT, json_integer_value(value))
               : vane_strdup("-");
}

/* The idle timeout as the spec gives it ("30s"), else the engine's in milliseconds written
 * as --idle-timeout takes it ("1m", "1500ms"), else "-". */
static json_t *idle_timeout_cell(const json_t *connector)
{
    const json_t *given = json_object_get(connector, "idle_timeout");
    const json_t *ms = json_object_get(status_of(connector), "idle_timeout_ms");
    json_int_t value = json_integer_value(ms);
    char *text;
    json_t *cell;

    if ((given != NULL && !json_is_null(given)) || !json_is_integer(ms) || value < 0)
        return command_or_dash(given);
    text = value % 1000 == 0 ? format_duration((uint64_t)value / 1000)
                             : vane_asprintf("%" JSON_INTEGER_FORMAT "ms", value);
    cell = json_string(text);
    vane_free(text);
    return cell;
}

/* "0..4": the instances it may run. */
static json_t *range_text(const json_t *connector)
{
    char *min = count_text(connector, "min");
    char *max = count_text(connector, "max");
    char *text = vane_asprintf("%s..%s", min, max);
    json_t *cell = json_string(text);

    vane_free(text);
    vane_free(max);
    vane_free(min);
    return cell;
}

/* The engine's last error, cut to width; "-" when there is none. */
static json_t *last_error_text(const json_t *connector, size_t width)
{
    const char *error = json_string_value(json_object_get(status_of(connector), "last_error"));

    if (error == NULL)
        return json_string("-");
    return event_text_cell(vane_strdup(error), width);
}

/* A connector's spec as KEY VALUE rows, the target under its own name. */
static json_t *spec_rows(const json_t *c)
{
    json_t *rows = json_pack("{s:O?,s:O?,s:o,s:O?}", "name", json_object_get(c, "name"), "id",
                             json_object_get(c, "id"), "kind", kind_text(c), "plugin",
                             json_object_get(c, "plugin"));

    json_object_set_new(rows, json_object_get(c, "eventbus") != NULL ? "eventbus"
                                                                     : "subscription",
                        target_text(c));
    json_object_update_new(
        rows, json_pack("{s:o,s:o,s:o,s:o,s:o,s:O?,s:O?}",
                        "min", command_or_dash(effective(c, "min", "min")),
                        "max", command_or_dash(effective(c, "max", "max")),
                        "concurrency", command_or_dash(effective(c, "concurrency", "concurrency")),
                        "idle_timeout", idle_timeout_cell(c),
                        "description", command_or_dash(json_object_get(c, "description")),
                        "created", json_object_get(c, "created_at"),
                        "updated", json_object_get(c, "updated_at")));
    return rows;
}

/* The plugin options as OPTION VALUE rows, keeping their names' case. */
static void print_options(const json_t *options)
{
    static const char *const columns[] = {"option", "value"};
    json_t *rows = json_array();
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)options, key, value)
        json_array_append_new(rows, json_pack("{s:s,s:O}", "option", key, "value", value));
    output_table(stdout, columns, 2, rows);
    json_decref(rows);
}

/* The status's figures as KEY VALUE rows, then a row per instance. */
static void print_status(const json_t *connector)
{
    static const char *const columns[] = {"pid", "state", "inflight", "plugin_version"};
    const json_t *status = status_of(connector);
    json_t *rows;

    if (!json_is_object(status))
        return;
    rows = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:o}", "running",
                     json_object_get(status, "running"), "starting",
                     json_object_get(status, "starting"), "queued",
                     json_object_get(status, "queued"), "restarts",
                     json_object_get(status, "restarts"), "events_in",
                     json_object_get(status, "events_in"), "events_out",
                     json_object_get(status, "events_out"), "last_error",
                     command_or_dash(json_object_get(status, "last_error")));
    fputc('\n', stdout);
    output_print(stdout, rows, OUTPUT_TABLE);
    fputc('\n', stdout);
    output_table(stdout, columns, sizeof(columns) / sizeof(columns[0]),
                 json_object_get(status, "instances"));
    json_decref(rows);
}

/* A connector as a table: its spec, its plugin options, its status and instances. */
static void print_connector(const struct client_reply *reply)
{
    json_t *rows = spec_rows(reply->body);

    output_print(stdout, rows, OUTPUT_TABLE);
    fputc('\n', stdout);
    print_options(json_object_get(reply->body, "options"));
    print_status(reply->body);
    json_decref(rows);
}

/* A connector as a row of `connector list`. */
static json_t *connector_row(const json_t *c)
{
    return json_pack("{s:O?,s:o,s:O?,s:o,s:o,s:o,s:o,s:o,s:o}",
                     "name", json_object_get(c, "name"),
                     "kind", kind_text(c),
                     "plugin", json_object_get(c, "plugin"),
                     "target", target_text(c),
                     "instances", range_text(c),
                     "running", command_or_dash(json_object_get(status_of(c), "running")),
                     "queued", command_or_dash(json_object_get(status_of(c), "queued")),
                     "restarts", command_or_dash(json_object_get(status_of(c), "restarts")),
                     "last_error", last_error_text(c, LAST_ERROR_WIDTH));
}

static void print_connectors(const struct client_reply *reply)
{
    static const char *const columns[] = {"name", "kind", "plugin", "target", "instances",
                                          "running", "queued", "restarts", "last_error"};

    output_table_of(stdout, columns, sizeof(columns) / sizeof(columns[0]),
                    json_object_get(reply->body, "connectors"), connector_row);
}

/* ---- the commands ------------------------------------------------------------ */

/* Sends method to the connector's own path, with body (may be NULL). */
static int call_on(const struct context *ctx, const char *name, const char *method,
                   const json_t *body, void (*print_table)(const struct client_reply *))
{
    char *path = command_path(COLLECTION "/", name, "");
    int status = command_call(ctx, name, method, path, body, print_table);

    vane_free(path);
    return status;
}

static int create_connector(struct context *ctx, int argc, char **argv)
{
    struct spec_request request;
    const char *name = NULL;
    int status;

    spec_request_init(&request);
    status = read_settings(ctx, argc, argv, settings_options, &request, &name);
    if (status == 0 && json_object_get(request.body, "plugin") == NULL)
        status = command_usage_error(ctx, "--plugin is required (a source or sink plugin; "
                                          "vanectl plugin list shows those loaded)");
    else if (status == 0 && json_object_get(request.body, "eventbus") == NULL &&
             json_object_get(request.body, "subscription") == NULL)
        status = command_usage_error(ctx, "--eventbus (the eventbus a source feeds) or "
                                          "--subscription (the subscription a sink serves) is "
                                          "required");
    if (status == 0) {
        json_object_set_new(request.body, "name", json_string(name));
        status = command_call(ctx, name, "POST", COLLECTION, request.body, print_connector);
    }
    spec_request_free(&request);
    return status;
}

/* update and scale: a PUT of the options given, at least one of them. */
static int change_connector(struct context *ctx, int argc, char **argv,
                            const struct option *options, const char *nothing_given)
{
    struct spec_request request;
    const char *name = NULL;
    int status;

    spec_request_init(&request);
    status = read_settings(ctx, argc, argv, options, &request, &name);
    if (status == 0 && json_object_size(request.body) == 0)
        status = command_usage_error(ctx, "%s", nothing_given);
    if (status == 0)
        status = call_on(ctx, name, "PUT", request.body, print_connector);
    spec_request_free(&request);
    return status;
}

static int update_connector(struct context *ctx, int argc, char **argv)
{
    return change_connector(ctx, argc, argv, settings_options,
                            "nothing to change; see vanectl connector update --help");
}

static int scale_connector(struct context *ctx, int argc, char **argv)
{
    return change_connector(ctx, argc, argv, SCALE_OPTIONS, "give --min, --max or both");
}

static int list_connectors(struct context *ctx, int argc, char **argv)
{
    return command_list(ctx, argc, argv, COLLECTION, print_connectors);
}

static int show_connector(struct context *ctx, int argc, char **argv)
{
    return command_on_name(ctx, argc, argv, COLLECTION "/", "GET", print_connector);
}

static int delete_connector(struct context *ctx, int argc, char **argv)
{
    return command_on_name(ctx, argc, argv, COLLECTION "/", "DELETE", command_print_object);
}

/* ---- the table ------------------------------------------------------------------ */

#define SCALE_HELP                                                                            \
    "  --min N                     instances kept running even when idle, 0 to 64\n"          \
    "                              (default 0: start on demand)\n"                            \
    "  --max N                     instances at most, 1 to 64 (default 4, or min if more)\n"

#define SETTINGS_HELP                                                                         \
    "  --option KEY=VALUE          a plugin option (may repeat); a VALUE that reads as\n"     \
    "                              JSON (8080, true, [\"a\"], {...}, \"8080\") is sent as\n"  \
    "                              that, anything else as a string\n"                         \
    "  --options JSON              the plugin's options as one JSON object; --option\n"       \
    "                              entries go on top of it\n"                                 \
    "  --concurrency N             deliveries or requests one instance takes at once\n"       \
    "                              (default 16)\n"                                            \
    "  --idle-timeout DURATION     stop an instance idle this long, down to --min:\n"         \
    "                              60s, 5m, 1h (default 60s)\n"                               \
    "  --description TEXT          what the connector is for\n" SCALE_HELP

static const char create_help[] =
    "  --plugin NAME               the source or sink plugin it runs (required)\n"
    "  --eventbus NAME             a source: the eventbus its events go to\n"
    "  --subscription NAME         a sink: the subscription whose events it takes\n"
    SETTINGS_HELP;

static const char update_help[] =
    "  --plugin NAME               run another plugin\n"
    "  --eventbus NAME             a source: feed another eventbus\n"
    "  --subscription NAME         a sink: serve another subscription\n"
    SETTINGS_HELP
    "Members not given stay as they are; options are changed key by key.  A new\n"
    "plugin, options or target restarts the running instances.\n";

static const char scale_help[] =
    SCALE_HELP
    "Running instances are kept; the engine starts or stops them to fit.\n";

const struct command connector_commands[] = {
    {"create",
     "NAME --plugin NAME (--eventbus NAME | --subscription NAME) [OPTION]...",
     "create a connector: a source plugin feeding an eventbus, or a sink plugin serving a "
     "subscription",
     create_help, create_connector, NULL},
    {"list", "", "list the connectors with their instances and last error", NULL,
     list_connectors, NULL},
    {"info", "NAME", "show a connector's spec, options, status and each instance", NULL,
     show_connector, NULL},
    {"update", "NAME [OPTION]...", "change a connector's plugin, target, options or scaling",
     update_help, update_connector, NULL},
    {"scale", "NAME [--min N] [--max N]", "change how many instances a connector may run",
     scale_help, scale_connector, NULL},
    {"delete", "NAME", "delete a connector and stop its instances", NULL, delete_connector,
     NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
