/*
 * vanectl.h -- what vanectl's commands share: the context made from the
 * global options, the command tables, the exit codes, and the one way every
 * command reports a usage error or a failed request.
 *
 * Commands are rows of tables.  main.c holds the top-level commands[]; a
 * command with subcommands (eventbus, event, subscription, connector,
 * plugin) points at its own table, kept in its own file (eventbus.c,
 * event.c, subscription.c, connector.c, plugin.c).  command.c walks the
 * tables: it finds the command named on the command line, prints help from
 * the same rows, turns an option's value into a member of a request's JSON
 * (command_set_text, command_set_count), runs the commands every
 * collection has alike (command_list, command_on_name: list, info,
 * delete), and turns each HTTP answer into one line on stderr and an exit
 * code.
 */
#ifndef VANECTL_VANECTL_H
#define VANECTL_VANECTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <getopt.h>
#include <jansson.h>

#include "client.h"
#include "output.h"

/* Exit statuses, for scripts.  Documented in --help and doc/vanectl.md. */
enum vanectl_exit {
    VANECTL_EXIT_OK = 0,
    VANECTL_EXIT_FAILED = 1,     /* the broker answered with an error, or was not reached */
    VANECTL_EXIT_USAGE = 2,      /* the command line is wrong */
    VANECTL_EXIT_NOT_FOUND = 3,  /* HTTP 404: no such eventbus (or event) */
    VANECTL_EXIT_AUTH = 4,       /* HTTP 401 or 403: no token, or a wrong one */
};

struct context {
    struct client client;
    enum output_format format;
    const char *command_name; /* "eventbus create", set while the command runs */
};

struct command {
    const char *name;
    const char *synopsis; /* its arguments, for help: "NAME [OPTION]..." */
    const char *summary;  /* one line */
    const char *options;  /* its options, one per line, for `vanectl CMD --help`; or NULL */
    /* Runs it with argv[0] = its name; returns an exit status.  NULL for a group. */
    int (*run)(struct context *ctx, int argc, char **argv);
    const struct command *subcommands; /* a group's rows, or NULL */
};

/* Command tables end with a row whose name is NULL. */
extern const struct command eventbus_commands[];
extern const struct command event_commands[];
extern const struct command subscription_commands[];
extern const struct command connector_commands[];
extern const struct command plugin_commands[];
extern const struct command script_commands[];
extern const struct command cluster_commands[];

/*
 * Runs the command that argv[0] names in table (recursing into groups), or
 * prints help for "--help" anywhere in its arguments.  parent is the group's
 * name ("" at the top).  Returns the exit status.
 */
int command_run(struct context *ctx, const struct command *table, const char *parent, int argc,
                char **argv);

/* Prints every command of table, groups expanded, as the help lists them. */
void command_usage(FILE *out, const struct command *table, const char *parent);

/* Prints "vanectl: COMMAND: <message>" and returns VANECTL_EXIT_USAGE. */
int command_usage_error(const struct context *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "vanectl: COMMAND: OPTION: expected EXPECTED; got "VALUE"";
 * returns VANECTL_EXIT_USAGE. */
int command_bad_value(const struct context *ctx, const char *option, const char *expected,
                      const char *value);

/*
 * Sets into[key] to text as a JSON string, for the option named option
 * ("--description").  Returns 0, or VANECTL_EXIT_USAGE (said on stderr by
 * command_bad_value) when text is not UTF-8.  into keeps its own reference.
 */
int command_set_text(const struct context *ctx, const char *option, json_t *into,
                     const char *key, const char *text);

/*
 * Sets into[key] to text read as a whole number from min to max (decimal
 * digits only; max INT64_MAX means no upper limit).  Returns 0, or
 * VANECTL_EXIT_USAGE with a line that names option and the range expected.
 */
int command_set_count(const struct context *ctx, const char *option, json_t *into,
                      const char *key, const char *text, uint64_t min, uint64_t max);

/*
 * A table cell for value: a new reference to it, or the string "-" where it
 * is missing or JSON null (a setting left to the broker's default, a
 * subscription without a sink).  The caller owns the reference.
 */
json_t *command_or_dash(const json_t *value);

/* The short forms of the global options (-e URL, -o FORMAT), for getopt. */
#define COMMAND_GLOBAL_SHORT_OPTIONS "e:o:"

/*
 * own's rows followed by the global options' (--endpoint, --format,
 * --token, --timeout), ending with a zero row.  Free with vane_free().
 */
struct option *command_options(const struct option *own);

/*
 * Applies a global option that getopt returned as opt.  Returns 0, or
 * VANECTL_EXIT_USAGE for a bad value (said on stderr), or -1 when opt is not
 * a global option.
 */
int command_global_option(struct context *ctx, int opt, const char *value);

/*
 * getopt_long over the command's own options (long ones only) and the
 * global ones, which it applies itself, so global options may also follow
 * the command.  It reports an unknown option or a missing value itself and
 * then returns '?', which the caller turns into VANECTL_EXIT_USAGE.
 * command_run resets getopt first.
 */
int command_getopt(struct context *ctx, int argc, char **argv, const struct option *options);

/*
 * After the options: requires exactly one argument, called meta in the
 * error ("NAME", "EVENTBUS").  Returns 0 with *value set, or an exit status.
 */
int command_one_argument(const struct context *ctx, int argc, char **argv, const char *meta,
                         const char **value);

/*
 * Reads the options of a command that has none of its own (the global ones
 * may still come) and requires no argument.  Returns 0, or an exit status
 * (said on stderr).
 */
int command_no_arguments(struct context *ctx, int argc, char **argv);

/*
 * Reads the options of a command that has none of its own and its one
 * argument, called meta in the error ("NAME", "ID|NAME").  Returns 0 with
 * *value set, or an exit status (said on stderr).
 */
int command_name_only(struct context *ctx, int argc, char **argv, const char *meta,
                      const char **value);

/* A list command: no arguments, then GET path, the answer printed by print_table. */
int command_list(struct context *ctx, int argc, char **argv, const char *path,
                 void (*print_table)(const struct client_reply *reply));

/*
 * info and delete: the one argument NAME, then method on prefix + NAME
 * ("/api/v1/plugins/" + the name percent-encoded), no body, the answer
 * printed by print_table.
 */
int command_on_name(struct context *ctx, int argc, char **argv, const char *prefix,
                    const char *method, void (*print_table)(const struct client_reply *reply));

/* prefix + name percent-encoded as one URL path segment + suffix; free with vane_free(). */
char *command_path(const char *prefix, const char *name, const char *suffix);

/*
 * Turns reply into an exit status: 0 for a 2xx answer with a JSON object,
 * else one line on stderr,
 *     vanectl: COMMAND SUBJECT: <server message> (field <field>)
 * and 1, 3 or 4.  subject (the eventbus's name, say) may be NULL.
 */
int command_answer(const struct context *ctx, const char *subject,
                   const struct client_reply *reply);

/*
 * Ends a command that sent a request: command_answer(), then on success
 * prints the answer, as it came for --format json (command_print_answer) or
 * through print_table.  Frees reply.  Returns the exit status.
 */
int command_finish(const struct context *ctx, const char *subject, struct client_reply *reply,
                   void (*print_table)(const struct client_reply *reply));

/* client_request() with a JSON body (not taken, may be NULL), then command_finish(). */
int command_call(const struct context *ctx, const char *subject, const char *method,
                 const char *path, const json_t *body,
                 void (*print_table)(const struct client_reply *reply));

/* Prints the broker's answer as it came. */
void command_print_answer(const struct client_reply *reply);

/* Prints the broker's answer, an object, as KEY VALUE rows (a print_table for
 * command_call: delete's answer, an item shown as it is). */
void command_print_object(const struct client_reply *reply);

#endif
