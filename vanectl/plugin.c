/*
 * plugin.c -- vanectl plugin list|info: the plugins a broker has loaded
 * (/api/v1/plugins) from the command line.
 *
 * list shows a row per plugin (name, kind, version, file), then, when the
 * broker refused files, a row per refused file with the reason.  info
 * shows one plugin, then its declared options with their type, default,
 * whether required or secret, and their documentation.  --format json
 * prints the broker's answer unchanged.
 */
#include <string.h>

#include "core/alloc.h"
#include "vanectl.h"

/* A cell that shows something even when the answer has nothing there. */
static json_t *or_dash(const json_t *value)
{
    return value != NULL ? json_incref((json_t *)value) : json_string("-");
}

static void print_plugins(const struct client_reply *reply)
{
    static const char *const columns[] = {"name", "kind", "version", "file"};
    static const char *const refused_columns[] = {"file", "reason"};
    const json_t *refused = json_object_get(reply->body, "refused");

    output_table(stdout, columns, sizeof(columns) / sizeof(columns[0]),
                 json_object_get(reply->body, "plugins"));
    if (json_array_size(refused) > 0) {
        fputs("\nREFUSED\n", stdout);
        output_table(stdout, refused_columns, 2, refused);
    }
}

/* One option as a row of `plugin info`. */
static json_t *option_row(const json_t *option)
{
    return json_pack("{s:O?, s:O?, s:o, s:O?, s:O?, s:O?}", "name",
                     json_object_get(option, "name"), "type", json_object_get(option, "type"),
                     "default", or_dash(json_object_get(option, "default")), "required",
                     json_object_get(option, "required"), "secret",
                     json_object_get(option, "secret"), "doc", json_object_get(option, "doc"));
}

static void print_plugin(const struct client_reply *reply)
{
    static const char *const columns[] = {"name", "type", "default", "required", "secret",
                                          "doc"};
    const json_t *options = json_object_get(reply->body, "options"), *option;
    json_t *summary = json_deep_copy(reply->body), *rows = json_array();
    size_t i;

    json_object_del(summary, "options");
    output_print(stdout, summary, OUTPUT_TABLE);
    json_array_foreach(options, i, option)
        json_array_append_new(rows, option_row(option));
    fputc('\n', stdout);
    if (json_array_size(rows) > 0)
        output_table(stdout, columns, sizeof(columns) / sizeof(columns[0]), rows);
    else
        fputs("(no options)\n", stdout);
    json_decref(rows);
    json_decref(summary);
}

static int list_plugins(struct context *ctx, int argc, char **argv)
{
    static const struct option no_options[] = {{NULL, 0, NULL, 0}};

    if (command_getopt(ctx, argc, argv, no_options) != -1)
        return VANECTL_EXIT_USAGE;
    if (optind < argc)
        return command_usage_error(ctx, "takes no arguments; got \"%s\"", argv[optind]);
    return command_call(ctx, NULL, "GET", "/api/v1/plugins", NULL, print_plugins);
}

static int show_plugin(struct context *ctx, int argc, char **argv)
{
    static const struct option no_options[] = {{NULL, 0, NULL, 0}};
    const char *name = NULL;
    char *path;
    int status;

    if (command_getopt(ctx, argc, argv, no_options) != -1)
        return VANECTL_EXIT_USAGE;
    if ((status = command_one_argument(ctx, argc, argv, "NAME", &name)) != 0)
        return status;
    path = command_path("/api/v1/plugins/", name, "");
    status = command_call(ctx, name, "GET", path, NULL, print_plugin);
    vane_free(path);
    return status;
}

const struct command plugin_commands[] = {
    {"list", "", "list the plugins loaded (name, kind, version, file) and the files refused",
     NULL, list_plugins, NULL},
    {"info", "NAME", "show a plugin and its declared options with their documentation", NULL,
     show_plugin, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
