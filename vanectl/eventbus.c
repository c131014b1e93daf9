/*
 * eventbus.c -- vanectl eventbus create|list|info|update|delete: the
 * eventbus admin API (/api/v1/eventbuses) from the command line.
 *
 * create and update share their settings options (--description,
 * --max-age, --max-bytes) and the code that turns them into the request's
 * JSON; every command that answers with an eventbus prints it the same way
 * (print_eventbus).  --format json prints the broker's answer unchanged;
 * --format table shows durations and sizes as people write them ("7d",
 * "512MiB") and totals over the eventlogs.
 */
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "parse.h"
#include "vanectl.h"

#define EVENTLOGS_MAX 64

enum setting {
    SETTING_EVENTLOGS = 256,
    SETTING_DESCRIPTION,
    SETTING_MAX_AGE,
    SETTING_MAX_BYTES,
};

/* create takes every row; update every row but the first. */
static const struct option settings_options[] = {
    {"eventlogs", required_argument, NULL, SETTING_EVENTLOGS},
    {"description", required_argument, NULL, SETTING_DESCRIPTION},
    {"max-age", required_argument, NULL, SETTING_MAX_AGE},
    {"max-bytes", required_argument, NULL, SETTING_MAX_BYTES},
    {NULL, 0, NULL, 0},
};

/* The request's "retention" object, made on first use. */
static json_t *retention_of(json_t *body)
{
    json_t *retention = json_object_get(body, "retention");

    if (retention == NULL) {
        retention = json_object();
        json_object_set_new(body, "retention", retention);
    }
    return retention;
}

/* Adds one settings option to the request body.  Returns 0 or an exit status. */
static int add_setting(const struct context *ctx, int opt, const char *value, json_t *body)
{
    json_t *description;
    uint64_t number;

    switch (opt) {
    case SETTING_EVENTLOGS:
        if (parse_count(value, EVENTLOGS_MAX, &number) != 0 || number == 0)
            return command_bad_value(ctx, "--eventlogs", "a whole number from 1 to 64", value);
        json_object_set_new(body, "eventlog_count", json_integer((json_int_t)number));
        return 0;
    case SETTING_DESCRIPTION:
        if ((description = json_string(value)) == NULL)
            return command_bad_value(ctx, "--description", "UTF-8 text", value);
        json_object_set_new(body, "description", description);
        return 0;
    case SETTING_MAX_AGE:
        if (parse_duration(value, &number) != 0)
            return command_bad_value(ctx, "--max-age", PARSE_DURATION_EXPECTED, value);
        json_object_set_new(retention_of(body), "max_age_seconds",
                            json_integer((json_int_t)number));
        return 0;
    case SETTING_MAX_BYTES:
        if (parse_size(value, &number) != 0)
            return command_bad_value(ctx, "--max-bytes", PARSE_SIZE_EXPECTED, value);
        json_object_set_new(retention_of(body), "max_bytes", json_integer((json_int_t)number));
        return 0;
    default: /* command_getopt() has said what is wrong */
        return VANECTL_EXIT_USAGE;
    }
}

/* Reads create's or update's options into body, and the eventbus's NAME. */
static int read_settings(struct context *ctx, int argc, char **argv,
                         const struct option *options, json_t *body, const char **name)
{
    int opt, status;

    while ((opt = command_getopt(ctx, argc, argv, options)) != -1)
        if ((status = add_setting(ctx, opt, optarg, body)) != 0)
            return status;
    return command_one_argument(ctx, argc, argv, "NAME", name);
}

/* A number of the answer as an unsigned value (0 when absent). */
static uint64_t number_at(const json_t *object, const char *key)
{
    json_int_t value = json_integer_value(json_object_get(object, key));

    return value > 0 ? (uint64_t)value : 0;
}

/* A retention limit as a table shows it: "7d", "512MiB", or "unlimited" for 0. */
static json_t *limit_text(uint64_t value, char *(*format)(uint64_t))
{
    char *text;
    json_t *cell;

    if (value == 0)
        return json_string("unlimited");
    text = format(value);
    cell = json_string(text);
    vane_free(text);
    return cell;
}

static json_t *size_text(uint64_t bytes)
{
    char *text = format_size(bytes);
    json_t *cell = json_string(text);

    vane_free(text);
    return cell;
}

/* One eventbus as a row of `eventbus list` (and the head of `eventbus info`). */
static json_t *summary_row(const json_t *eventbus)
{
    const json_t *retention = json_object_get(eventbus, "retention");
    const json_t *eventlog;
    uint64_t events = 0, bytes = 0;
    size_t i;

    json_array_foreach(json_object_get(eventbus, "eventlogs"), i, eventlog) {
        events += number_at(eventlog, "events");
        bytes += number_at(eventlog, "bytes");
    }
    return json_pack("{s:O?,s:O?,s:I,s:o,s:o,s:o,s:O?,s:O?}",
                     "name", json_object_get(eventbus, "name"),
                     "eventlogs", json_object_get(eventbus, "eventlog_count"),
                     "events", (json_int_t)events,
                     "bytes", size_text(bytes),
                     "max_age",
                     limit_text(number_at(retention, "max_age_seconds"), format_duration),
                     "max_bytes", limit_text(number_at(retention, "max_bytes"), format_size),
                     "created", json_object_get(eventbus, "created_at"),
                     "description", json_object_get(eventbus, "description"));
}

/* A time of an eventlog, "-" when it has none (null: no events). */
static json_t *time_text(const json_t *time)
{
    return json_is_string(time) ? json_incref((json_t *)time) : json_string("-");
}

/* One eventlog as a row of `eventbus info`. */
static json_t *eventlog_row(const json_t *eventlog)
{
    return json_pack("{s:O?,s:O?,s:O?,s:O?,s:o,s:O?,s:o,s:o}",
                     "eventlog", json_object_get(eventlog, "eventlog"),
                     "first_offset", json_object_get(eventlog, "first_offset"),
                     "next_offset", json_object_get(eventlog, "next_offset"),
                     "events", json_object_get(eventlog, "events"),
                     "bytes", size_text(number_at(eventlog, "bytes")),
                     "segments", json_object_get(eventlog, "segments"),
                     "first_time", time_text(json_object_get(eventlog, "first_time")),
                     "last_time", time_text(json_object_get(eventlog, "last_time")));
}

/* An eventbus as a table: its settings and totals, then a row per eventlog. */
static void print_eventbus(const struct client_reply *reply)
{
    static const char *const columns[] = {"eventlog", "first_offset", "next_offset", "events",
                                          "bytes", "segments", "first_time", "last_time"};
    const json_t *eventbus = reply->body;
    json_t *summary, *row;

    /* The list's row, with the id after the name and the time of the last change. */
    summary = json_pack("{s:O?,s:O?}", "name", json_object_get(eventbus, "name"), "id",
                        json_object_get(eventbus, "id"));
    json_object_update(summary, row = summary_row(eventbus));
    json_object_set(summary, "updated", json_object_get(eventbus, "updated_at"));
    json_decref(row);
    output_print(stdout, summary, OUTPUT_TABLE);
    fputc('\n', stdout);
    output_table_of(stdout, columns, sizeof(columns) / sizeof(columns[0]),
                    json_object_get(eventbus, "eventlogs"), eventlog_row);
    json_decref(summary);
}

static void print_eventbuses(const struct client_reply *reply)
{
    static const char *const columns[] = {"name", "eventlogs", "events", "bytes", "max_age",
                                          "max_bytes", "created", "description"};

    output_table_of(stdout, columns, sizeof(columns) / sizeof(columns[0]),
                    json_object_get(reply->body, "eventbuses"), summary_row);
}

static int create_eventbus(struct context *ctx, int argc, char **argv)
{
    json_t *body = json_object();
    const char *name = NULL;
    int status = read_settings(ctx, argc, argv, settings_options, body, &name);

    if (status == 0) {
        json_object_set_new(body, "name", json_string(name));
        status = command_call(ctx, name, "POST", "/api/v1/eventbuses", body, print_eventbus);
    }
    json_decref(body);
    return status;
}

static int list_eventbuses(struct context *ctx, int argc, char **argv)
{
    return command_list(ctx, argc, argv, "/api/v1/eventbuses", print_eventbuses);
}

static int show_eventbus(struct context *ctx, int argc, char **argv)
{
    return command_on_name(ctx, argc, argv, "/api/v1/eventbuses/", "GET", print_eventbus);
}

static int delete_eventbus(struct context *ctx, int argc, char **argv)
{
    return command_on_name(ctx, argc, argv, "/api/v1/eventbuses/", "DELETE", command_print_object);
}

static int update_eventbus(struct context *ctx, int argc, char **argv)
{
    json_t *body = json_object();
    const char *name = NULL;
    char *path;
    int status = read_settings(ctx, argc, argv, settings_options + 1, body, &name);

    if (status == 0 && json_object_size(body) == 0)
        status = command_usage_error(ctx, "nothing to change; give --description, --max-age "
                                          "or --max-bytes");
    if (status == 0) {
        path = command_path("/api/v1/eventbuses/", name, "");
        status = command_call(ctx, name, "PUT", path, body, print_eventbus);
        vane_free(path);
    }
    json_decref(body);
    return status;
}

#define SETTINGS_HELP                                                                  \
    "  --description TEXT    what the eventbus is for\n"                               \
    "  --max-age DURATION    drop events older than this: 7d, 12h, 30m, 45s, 1h30m\n"  \
    "                        (0: keep them however old, the default)\n"                \
    "  --max-bytes SIZE      keep at most this much per eventlog: 512MiB, 1GiB, 100MB\n" \
    "                        (0: no limit, the default)\n"

const struct command eventbus_commands[] = {
    {"create", "NAME [--eventlogs N] [--description TEXT] [--max-age DURATION] [--max-bytes SIZE]",
     "create an eventbus",
     "  --eventlogs N         how many eventlogs (partitions), 1 to 64 (default 1)\n"
     SETTINGS_HELP,
     create_eventbus, NULL},
    {"list", "", "list the eventbuses with their events, bytes and retention", NULL,
     list_eventbuses, NULL},
    {"info", "NAME", "show an eventbus and each of its eventlogs", NULL, show_eventbus, NULL},
    {"update", "NAME [--description TEXT] [--max-age DURATION] [--max-bytes SIZE]",
     "change an eventbus's description or retention (its eventlog count is fixed)",
     SETTINGS_HELP, update_eventbus, NULL},
    {"delete", "NAME", "delete an eventbus and every event in it", NULL, delete_eventbus, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
