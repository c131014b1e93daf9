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
    return json_pack("{s:O?, s:O?, s:o, s:O?, s:O?, s:o, s:o}", "name",
                     json_object_get(script, "name"), "status",
                     json_object_get(script, "status"), "functions",
                     functions_cell(json_object_get(script, "functions")), "calls",
                     json_object_get(script, "calls"), "errors",
                     json_object_get(script, "errors"), "loaded",
                     command_or_dash(json_object_get(script, "loaded_at")), "error",
                     error_cell(script));
}

static void print_scripts(const struct client_reply *reply)
{
    static const char *const columns[] = {"name", "status", "functions", "calls", "errors",
                                          "loaded", "error"};

    output_table_of(stdout, columns, sizeof(columns) / sizeof(columns[0]),
                    json_object_get(reply->body, "scripts"), script_row);
}

static int list_scripts(struct context *ctx, int argc, char **argv)
{
    return command_list(ctx, argc, argv, "/api/v1/scripts", print_scripts);
}

static int show_script(struct context *ctx, int argc, char **argv)
{
    return command_on_name(ctx, argc, argv, "/api/v1/scripts/", "GET", command_print_object);
}

const struct command script_commands[] = {
    {"list", "", "list the Lua scripts (status, functions, calls, errors, why one did not load)",
     NULL, list_scripts, NULL},
    {"info", "NAME", "show one Lua script", NULL, show_script, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
