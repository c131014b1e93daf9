/*
 * script.c -- vanectl script list|info: the Lua scripts a broker knows
 * (/api/v1/scripts) from the command line.
 *
 * list shows a row per script: its name, status (loaded; stale: its newest
 * file did not load and the previous version runs; failed: no version
 * ever loaded), the functions it defines, its calls and failed calls, when
 * its running version loaded, and the error that matters most -- why the
 * newest file did not load, else the latest failed call's.  info shows one
 * script with every field.  --format json prints the broker's answer
 * unchanged.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "vanectl.h"

/* "filter,transform", "-" for none. */
static json_t *functions_cell(const json_t *functions)
{
    struct vane_buf text = VANE_BUF_INIT;
    const json_t *name;
    json_t *cell;
    size_t i;

    json_array_foreach(functions, i, name)
        vane_buf_appendf(&text, "%s%s", i ? "," : "", json_string_value(name));
    cell = json_string(text.len ? text.data : "-");
    vane_buf_free(&text);
    return cell;
}

/* The load error when there is one, else the latest call's, else "-". */
static json_t *error_cell(const json_t *script)
{
    const json_t *load = json_object_get(script, "load_error");
    const json_t *call = json_object_get(script, "last_error");

    if (json_is_string(load))
        return json_incref((json_t *)load);
    return json_is_string(call) ? json_incref((json_t *)call) : json_string("-");
}

static json_t *script_row(const json_t *script)
{
    const json_t *loaded = json_object_get(script, "loaded_at");

    return json_pack("{s:O?, s:O?, s:o, s:O?, s:O?, s:o, s:o}", "name",
                     json_object_get(script, "name"), "status",
                     json_object_get(script, "status"), "functions",
                     functions_cell(json_object_get(script, "functions")), "calls",
                     json_object_get(script, "calls"), "errors",
                     json_object_get(script, "errors"), "loaded",
                     json_is_string(loaded) ? json_incref((json_t *)loaded) : json_string("-"),
                     "error", error_cell(script));
}

static void print_scripts(const struct client_reply *reply)
{
    static const char *const columns[] = {"name", "status", "functions", "calls", "errors",
                                          "loaded", "error"};
    const json_t *script;
    json_t *rows = json_array();
    size_t i;

    json_array_foreach(json_object_get(reply->body, "scripts"), i, script)
        json_array_append_new(rows, script_row(script));
    output_table(stdout, columns, sizeof(columns) / sizeof(columns[0]), rows);
    json_decref(rows);
}

static void print_script(const struct client_reply *reply)
{
    output_print(stdout, reply->body, OUTPUT_TABLE);
}

static int list_scripts(struct context *ctx, int argc, char **argv)
{
    static const struct option no_options[] = {{NULL, 0, NULL, 0}};

    if (command_getopt(ctx, argc, argv, no_options) != -1)
        return VANECTL_EXIT_USAGE;
    if (optind < argc)
        return command_usage_error(ctx, "takes no arguments; got \"%s\"", argv[optind]);
    return command_call(ctx, NULL, "GET", "/api/v1/scripts", NULL, print_scripts);
}

static int show_script(struct context *ctx, int argc, char **argv)
{
    static const struct option no_options[] = {{NULL, 0, NULL, 0}};
    const char *name = NULL;
    char *path;
    int status;

    if (command_getopt(ctx, argc, argv, no_options) != -1)
        return VANECTL_EXIT_USAGE;
    if ((status = command_one_argument(ctx, argc, argv, "NAME", &name)) != 0)
        return status;
    path = command_path("/api/v1/scripts/", name, "");
    status = command_call(ctx, name, "GET", path, NULL, print_script);
    vane_free(path);
    return status;
}

const struct command script_commands[] = {
    {"list", "", "list the Lua scripts (status, functions, calls, errors, why one did not load)",
     NULL, list_scripts, NULL},
    {"info", "NAME", "show one Lua script", NULL, show_script, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
