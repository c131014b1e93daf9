/*
 * command.c -- walking vanectl's command tables, the error lines and exit
 * statuses every command shares, and the setters that turn an option's
 * value into a member of a request's JSON (see vanectl.h).
 *
 * Every failure ends as exactly one line on stderr that starts with
 * "vanectl: " and the command, so a script's log reads the same whatever
 * went wrong, and as one of the exit statuses of enum vanectl_exit.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "encode.h"
#include "parse.h"
#include "vanectl.h"

/* "eventbus" + "create" -> "eventbus create"; "" + "status" -> "status". */
static char *full_name(const char *parent, const char *name)
{
    return vane_asprintf("%s%s%s", parent, *parent ? " " : "", name);
}

static void print_row(FILE *out, const struct command *command, const char *parent)
{
    char *name = full_name(parent, command->name);

    fprintf(out, "  %s%s%s\n      %s\n", name, *command->synopsis ? " " : "", command->synopsis,
            command->summary);
    vane_free(name);
}

void command_usage(FILE *out, const struct command *table, const char *parent)
{
    for (const struct command *command = table; command->name != NULL; command++) {
        char *name = full_name(parent, command->name);

        if (command->subcommands != NULL)
            command_usage(out, command->subcommands, name);
        else
            print_row(out, command, parent);
        vane_free(name);
    }
}

/* Whether "--help" or "-h" comes before a "--" that ends the options. */
static int asks_for_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

/* A summary as a sentence: "create an eventbus" -> "Create an eventbus.". */
static void print_sentence(FILE *out, const char *summary)
{
    fprintf(out, "%c%s.\n", toupper((unsigned char)summary[0]), summary + 1);
}

static void print_command_help(const struct command *command, const char *name)
{
    printf("Usage: vanectl [GLOBAL OPTION]... %s%s%s\n", name, *command->synopsis ? " " : "",
           command->synopsis);
    print_sentence(stdout, command->summary);
    if (command->options != NULL)
        printf("\nOptions:\n%s", command->options);
    printf("\nSee vanectl --help for the global options and the exit statuses.\n");
}

static void print_group_help(FILE *out, const struct command *group, const char *name)
{
    fprintf(out, "Usage: vanectl [GLOBAL OPTION]... %s COMMAND [ARG]...\n", name);
    print_sentence(out, group->summary);
    fprintf(out, "\nCommands:\n");
    command_usage(out, group->subcommands, name);
}

static const struct command *find_command(const struct command *table, const char *name)
{
    for (const struct command *command = table; command->name != NULL; command++)
        if (strcmp(command->name, name) == 0)
            return command;
    return NULL;
}

/* Runs a command of a group, or explains what the group holds. */
static int run_group(struct context *ctx, const struct command *group, const char *name, int argc,
                     char **argv)
{
    if (argc < 2) {
        print_group_help(stderr, group, name);
        return VANECTL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_group_help(stdout, group, name);
        return VANECTL_EXIT_OK;
    }
    return command_run(ctx, group->subcommands, name, argc - 1, argv + 1);
}

int command_run(struct context *ctx, const struct command *table, const char *parent, int argc,
                char **argv)
{
    const struct command *command = find_command(table, argv[0]);
    char *name = full_name(parent, argv[0]);
    int status;

    if (command == NULL) {
        fprintf(stderr, "vanectl: unknown command '%s'; see vanectl %s%s--help\n", name, parent,
                *parent ? " " : "");
        status = VANECTL_EXIT_USAGE;
    } else if (command->subcommands != NULL) {
        status = run_group(ctx, command, name, argc, argv);
    } else if (asks_for_help(argc, argv)) {
        print_command_help(command, name);
        status = VANECTL_EXIT_OK;
    } else {
        ctx->command_name = name;
        optind = 0; /* each command parses its own argv afresh */
        status = command->run(ctx, argc, argv);
        ctx->command_name = NULL;
    }
    vane_free(name);
    return status;
}

int command_usage_error(const struct context *ctx, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "vanectl: %s: ", ctx->command_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return VANECTL_EXIT_USAGE;
}

int command_bad_value(const struct context *ctx, const char *option, const char *expected,
                      const char *value)
{
    return command_usage_error(ctx, "%s: expected %s; got \"%s\"", option, expected, value);
}

int command_set_text(const struct context *ctx, const char *option, json_t *into,
                     const char *key, const char *text)
{
    json_t *string = json_string(text);

    if (string == NULL)
        return command_bad_value(ctx, option, "UTF-8 text", text);
    json_object_set_new(into, key, string);
    return 0;
}

int command_set_count(const struct context *ctx, const char *option, json_t *into,
                      const char *key, const char *text, uint64_t min, uint64_t max)
{
    uint64_t number;
    char *expected;
    int status;

    if (parse_count(text, max, &number) == 0 && number >= min) {
        json_object_set_new(into, key, json_integer((json_int_t)number));
        return 0;
    }
    expected = max == INT64_MAX
                   ? vane_asprintf("a whole number, %llu or more", (unsigned long long)min)
                   : vane_asprintf("a whole number from %llu to %llu", (unsigned long long)min,
                                   (unsigned long long)max);
    status = command_bad_value(ctx, option, expected, text);
    vane_free(expected);
    return status;
}

json_t *command_or_dash(const json_t *value)
{
    return value == NULL || json_is_null(value) ? json_string("-")
                                                : json_incref((json_t *)value);
}

static const struct option global_options[] = {
    {"endpoint", required_argument, NULL, 'e'},
    {"format", required_argument, NULL, 'o'},
    {"timeout", required_argument, NULL, 't'},
    {"token", required_argument, NULL, 'k'},
};

#define GLOBAL_OPTION_COUNT (sizeof(global_options) / sizeof(global_options[0]))

struct option *command_options(const struct option *own)
{
    size_t own_count = 0;
    struct option *all;

    while (own[own_count].name != NULL)
        own_count++;
    all = vane_calloc(own_count + GLOBAL_OPTION_COUNT + 1, sizeof(*all));
    memcpy(all, own, own_count * sizeof(*all));
    memcpy(all + own_count, global_options, sizeof(global_options));
    return all;
}

int command_global_option(struct context *ctx, int opt, const char *value)
{
    char *end;

    switch (opt) {
    case 'e': ctx->client.endpoint = value; return 0;
    case 'k': ctx->client.token = *value ? value : NULL; return 0;
    case 'o':
        if (output_format_parse(value, &ctx->format) == 0)
            return 0;
        fprintf(stderr, "vanectl: --format: expected table or json; got \"%s\"\n", value);
        return VANECTL_EXIT_USAGE;
    case 't':
        ctx->client.timeout_ms = (long)(strtod(value, &end) * 1000);
        if (*end == '\0' && ctx->client.timeout_ms > 0)
            return 0;
        fprintf(stderr, "vanectl: --timeout: expected a positive number of seconds; got \"%s\"\n",
                value);
        return VANECTL_EXIT_USAGE;
    default: return -1;
    }
}

int command_getopt(struct context *ctx, int argc, char **argv, const struct option *options)
{
    struct option *all = command_options(options);
    int opt, status;

    opterr = 0; /* the messages below name the command; getopt's would not */
    while ((opt = getopt_long(argc, argv, ":" COMMAND_GLOBAL_SHORT_OPTIONS, all, NULL)) != -1) {
        if ((status = command_global_option(ctx, opt, optarg)) < 0)
            break; /* one of the command's own, or a mistake */
        if (status != 0) {
            vane_free(all);
            return '?'; /* a bad global value, already said */
        }
    }
    vane_free(all);
    if (opt == '?' && optopt != 0)
        command_usage_error(ctx, "unknown option '-%c'; see vanectl %s --help", optopt,
                            ctx->command_name);
    else if (opt == '?')
        command_usage_error(ctx, "unknown option '%s'; see vanectl %s --help", argv[optind - 1],
                            ctx->command_name);
    else if (opt == ':')
        command_usage_error(ctx, "option '%s' needs a value", argv[optind - 1]);
    return opt == ':' ? '?' : opt;
}

int command_one_argument(const struct context *ctx, int argc, char **argv, const char *meta,
                         const char **value)
{
    if (argc - optind == 1) {
        *value = argv[optind];
        return 0;
    }
    if (argc - optind == 0)
        return command_usage_error(ctx, "expected %s; see vanectl %s --help", meta,
                                   ctx->command_name);
    return command_usage_error(ctx, "expected one %s; got \"%s\" too", meta, argv[optind + 1]);
}

int command_no_arguments(struct context *ctx, int argc, char **argv)
{
    static const struct option no_options[] = {{NULL, 0, NULL, 0}};

    if (command_getopt(ctx, argc, argv, no_options) != -1)
        return VANECTL_EXIT_USAGE;
    if (optind < argc)
        return command_usage_error(ctx, "takes no arguments; got \"%s\"", argv[optind]);
    return 0;
}

int command_name_only(struct context *ctx, int argc, char **argv, const char *meta,
                      const char **value)
{
    static const struct option no_options[] = {{NULL, 0, NULL, 0}};

    if (command_getopt(ctx, argc, argv, no_options) != -1)
        return VANECTL_EXIT_USAGE;
    return command_one_argument(ctx, argc, argv, meta, value);
}

int command_list(struct context *ctx, int argc, char **argv, const char *path,
                 void (*print_table)(const struct client_reply *reply))
{
    int status = command_no_arguments(ctx, argc, argv);

    return status != 0 ? status : command_call(ctx, NULL, "GET", path, NULL, print_table);
}

int command_on_name(struct context *ctx, int argc, char **argv, const char *prefix,
                    const char *method, void (*print_table)(const struct client_reply *reply))
{
    const char *name = NULL;
    char *path;
    int status;

    if ((status = command_name_only(ctx, argc, argv, "NAME", &name)) != 0)
        return status;
    path = command_path(prefix, name, "");
    status = command_call(ctx, name, method, path, NULL, print_table);
    vane_free(path);
    return status;
}

char *command_path(const char *prefix, const char *name, const char *suffix)
{
    char *segment = encode_url_component(name);
    char *path = vane_asprintf("%s%s%s", prefix, segment, suffix);

    vane_free(segment);
    return path;
}

static int exit_status_of(long http_status)
{
    if (http_status == 404)
        return VANECTL_EXIT_NOT_FOUND;
    if (http_status == 401 || http_status == 403)
        return VANECTL_EXIT_AUTH;
    return VANECTL_EXIT_FAILED;
}

/* The reason part of the line: the broker's own message, or why there is none. */
static void append_reason(struct vane_buf *line, const struct context *ctx,
                          const struct client_reply *reply)
{
    const json_t *error = json_object_get(reply->body, "error");
    const char *message = json_string_value(json_object_get(error, "message"));
    const char *field = json_string_value(json_object_get(error, "field"));

    if (reply->status == 0)
        vane_buf_appendf(line, "cannot reach vaned at %s: %s (is it running? set --endpoint or "
                         "VANE_ENDPOINT)", ctx->client.endpoint, reply->error);
    else if (message != NULL)
        vane_buf_append_str(line, message);
    else if (reply->status >= 200 && reply->status < 300)
        vane_buf_appendf(line, "unexpected answer (HTTP %ld without a JSON object)",
                         reply->status);
    else
        vane_buf_appendf(line, "HTTP %ld without an error message", reply->status);
    if (field != NULL)
        vane_buf_appendf(line, " (field %s)", field);
    if (exit_status_of(reply->status) == VANECTL_EXIT_AUTH)
        vane_buf_append_str(line, ctx->client.token != NULL
                                      ? "; the token given was refused"
                                      : "; give the token with --token or VANE_TOKEN "
                                        "(vaned keeps it in <data_dir>/token)");
}

int command_answer(const struct context *ctx, const char *subject,
                   const struct client_reply *reply)
{
    struct vane_buf line = VANE_BUF_INIT;

    if (reply->status >= 200 && reply->status < 300 && json_is_object(reply->body))
        return VANECTL_EXIT_OK;
    vane_buf_appendf(&line, "vanectl: %s%s%s: ", ctx->command_name, subject ? " " : "",
                     subject ? subject : "");
    append_reason(&line, ctx, reply);
    fprintf(stderr, "%s\n", line.data);
    vane_buf_free(&line);
    return exit_status_of(reply->status);
}

int command_finish(const struct context *ctx, const char *subject, struct client_reply *reply,
                   void (*print_table)(const struct client_reply *reply))
{
    int status = command_answer(ctx, subject, reply);

    if (status == 0 && ctx->format == OUTPUT_JSON)
        command_print_answer(reply);
    else if (status == 0)
        print_table(reply);
    client_reply_free(reply);
    return status;
}

int command_call(const struct context *ctx, const char *subject, const char *method,
                 const char *path, const json_t *body,
                 void (*print_table)(const struct client_reply *reply))
{
    struct client_reply reply;

    client_request(&ctx->client, method, path, body, &reply);
    return command_finish(ctx, subject, &reply, print_table);
}

void command_print_answer(const struct client_reply *reply)
{
    /* As it came, not parsed and printed again: jansson would rewrite 59.90 as
     * 59.899999999999999, and the broker keeps an event's data exactly as sent. */
    fwrite(reply->text, 1, reply->text_len, stdout);
    if (reply->text_len > 0 && reply->text[reply->text_len - 1] != '\n')
        fputc('\n', stdout);
}

void command_print_object(const struct client_reply *reply)
{
    output_print(stdout, reply->body, OUTPUT_TABLE);
}
