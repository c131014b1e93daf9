/*
 * plugin_options.h -- a plugin's declared options: the table checked when
 * the plugin is loaded, a user's JSON checked against it when an instance
 * is made, and the checked values read back by the host's option_*
 * functions.
 *
 * A plugin declares its options as data (struct vane_option in
 * vane/plugin.h): name, type, default as JSON text, flags (required,
 * secret) and one sentence of documentation.  From that one table come the
 * load-time check (plugin_options_check_table), the validation of an
 * instance's settings (plugin_options_parse), the values a running plugin
 * reads (plugin_options_string ...) and the description the API and the
 * docs show (plugin_options_describe).
 *
 * What a value may be written as, per type (the same for a default in the
 * table and for a user's setting):
 *
 *     string    a JSON string
 *     int       a JSON integer, or a string holding one ("10")
 *     bool      true or false
 *     duration  "500ms", "10s", "2m", "1h", "7d", or an integer of seconds; read in ms
 *     size      "64KiB", "1MiB", "100MB", or an integer of bytes
 *     list      an array of strings, or one string (a list of one)
 *     object    any JSON object; read as its compact JSON text
 *
 * Errors name the option and what was expected: "option 'min': expected a
 * string; got an integer".  Values of secret options never appear in a
 * message.  Everything here is plain data: no loop, no registry, so the
 * connector worker process uses it as the broker does.
 */
#ifndef VANE_BROKER_PLUGIN_OPTIONS_H
#define VANE_BROKER_PLUGIN_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vane/plugin.h"

/* A plugin's table may not be longer (it guards against a missing VANE_OPTIONS_END). */
#define PLUGIN_OPTIONS_MAX 256

/* The checked values of one instance. */
struct plugin_options;

/* "string", "int", "bool", "duration", "size", "list", "object"; "?" for others. */
const char *plugin_options_type_name(int type);

/*
 * Checks a plugin's options table (NULL: no options): names [a-z0-9_]{1,63}
 * and each given once, known types, defaults that parse as their type.
 * Returns 0 with *count, the entries before VANE_OPTIONS_END, or -EINVAL
 * with *why (freed by the caller with vane_free) naming the option.
 */
int plugin_options_check_table(const struct vane_option *table, size_t *count, char **why);

/*
 * Checks config (a JSON object; NULL is an empty one) against a checked
 * table of count entries: every key declared, every value of its type,
 * every required option present.  Returns 0 with *out (free with
 * plugin_options_free; it refers to table, which must outlive it), or
 * -EINVAL with *errmsg (freed by the caller with vane_free) naming the
 * option and what was expected.
 */
int plugin_options_parse(const struct vane_option *table, size_t count, const json_t *config,
                         struct plugin_options **out, char **errmsg);

void plugin_options_free(struct plugin_options *options);

/*
 * Reading the values (defaults applied).  name must be one of the table;
 * an unknown name, or an option of another type, reads as NULL / 0 /
 * false.  Strings are owned by options and live until plugin_options_free.
 */
/* 1 when the option has a value (set by the user, or a default), else 0. */
int plugin_options_is_set(const struct plugin_options *options, const char *name);
/* string and object options (an object as its JSON text). */
const char *plugin_options_string(const struct plugin_options *options, const char *name);
/* int, size (bytes) and duration (milliseconds) options; bool ones as 0 or 1. */
int64_t plugin_options_int(const struct plugin_options *options, const char *name);
int plugin_options_bool(const struct plugin_options *options, const char *name);
size_t plugin_options_list_count(const struct plugin_options *options, const char *name);
/* The i-th string of a list option, or NULL past its end. */
const char *plugin_options_list_at(const struct plugin_options *options, const char *name,
                                   size_t i);

/*
 * The table as the API shows it: an array of {"name", "type", "default"
 * (the default as JSON; absent when none, and for secret options),
 * "required", "secret", "doc"}.  A new reference.
 */
json_t *plugin_options_describe(const struct vane_option *table, size_t count);

#endif
