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
#include "vanectl.h"

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
                     "default", command_or_dash(json_object_get(option, "default")), "required",
                     json_object_get(option, "required"), "secret",
                     json_object_get(option, "secret"), "doc", json_object_get(option, "doc"));
}

static void print_plugin(const struct client_reply *reply)
{
    static const char *const columns[] = {"name", "type", "default", "required", "secret",
                                          "doc"};
    const json_t *options = json_object_get(reply->body, "options");
    json_t *summary = json_deep_copy(reply->body);

    json_object_del(summary, "options");
    output_print(stdout, summary, OUTPUT_TABLE);
    fputc('\n', stdout);
    if (json_array_size(options) > 0)
        output_table_of(stdout, columns, sizeof(columns) / sizeof(columns[0]), options,
                        option_row);
    else
        fputs("(no options)\n", stdout);
    json_decref(summary);
}

static int list_plugins(struct context *ctx, int argc, char **argv)
{
    return command_list(ctx, argc, argv, "/api/v1/plugins", print_plugins);
}

static int show_plugin(struct context *ctx, int argc, char **argv)
{
    return command_on_name(ctx, argc, argv, "/api/v1/plugins/", "GET", print_plugin);
}

const struct command plugin_commands[] = {
    {"list", "", "list the plugins loaded (name, kind, version, file) and the files refused",
     NULL, list_plugins, NULL},
    {"info", "NAME", "show a plugin and its declared options with their documentation", NULL,
     show_plugin, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
