/*
 * event.h -- what event.c (vanectl event put|get) lends to the other
 * commands that read pages of stored events, so that they take the same
 * options with the same checks and print events the same way:
 * `subscription dead-letter get` and `resend` (subscription.c).
 *
 * A page of events is asked for with options that each fill one member of
 * struct event_query (checked, kept as the text given) and become the
 * query's parameters; the broker answers {"events": [...], "next": {...}},
 * printed as a table of one row per event, with the columns the command
 * names, and then the options that read on: "next: --offset N".
 */
#ifndef VANECTL_EVENT_H
#define VANECTL_EVENT_H

#include <stddef.h>

#include <jansson.h>

#include "core/json_span.h"
#include "vanectl.h"

/* getopt values of the query's options: give the rows a command takes these. */
enum event_query_option {
    EVENT_QUERY_EVENTLOG = 256,
    EVENT_QUERY_OFFSET,
    EVENT_QUERY_LIMIT,
    EVENT_QUERY_TIME,
    EVENT_QUERY_ID,
};

/* The largest --limit: what the broker reads at most per call. */
#define EVENT_QUERY_LIMIT_MAX 1000

/* The query, each value as given (already checked) or NULL. */
struct event_query {
    const char *eventlog, *offset, *limit, *time, *id;
};

/*
 * Checks the value of the option opt (one of enum event_query_option) and
 * keeps it in query.  Returns 0, or VANECTL_EXIT_USAGE having said what is
 * wrong (also for any other opt: command_getopt() has said so).
 */
int event_query_option(const struct context *ctx, int opt, const char *value,
                       struct event_query *query);

/* path + "?name=value&..." for each value query has, percent-encoded; free with vane_free(). */
char *event_query_path(const char *path, const struct event_query *query);

/*
 * text as a table cell: control characters become spaces, and past width
 * bytes (at least 4) it is cut at a character boundary and ends with
 * "...".  Takes text (vane_free()d here).
 */
json_t *event_text_cell(char *text, size_t width);

/*
 * Prints the answer's "events" as a table with the named columns, one row
 * each made by row(stored, stored_text): stored is the element of
 * "events", stored_text its raw text in the answer (all zero when it could
 * not be found), for values that must show exactly as sent.  Then, when
 * the answer has "next", the options that read on:
 * "next: [--eventlog N ]--offset N".
 */
void event_print_table(const struct client_reply *reply, const char *const *columns,
                       size_t column_count,
                       json_t *(*row)(const json_t *stored, struct json_span stored_text));

#endif
