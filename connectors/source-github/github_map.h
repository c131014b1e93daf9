/*
 * github_map.h -- a GitHub webhook delivery as CloudEvents attributes: the
 * body read from either content type GitHub sends, and the mapping of
 * ../../doc/github.md ("The events"), which follows the CloudEvents GitHub
 * adapter specification event by event.
 *
 * Nothing here touches the broker or the network: source_github.c calls it
 * for each verified request, and tests/fuzz/fuzz-github.c feeds it any
 * bytes.  Every function is pure and safe on any input; what it returns is
 * always usable as CloudEvents attributes (no control characters, type and
 * source never empty), so a payload of unexpected shape still makes an
 * event.
 */
#ifndef VANE_CONNECTORS_GITHUB_MAP_H
#define VANE_CONNECTORS_GITHUB_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../common/strbuf.h"

/* The body of a delivery, decoded. */
struct github_body {
    json_t *payload;     /* the JSON object (a reference the caller owns) */
    struct strbuf json;  /* its text as received: the body, or the form's decoded payload */
};

/*
 * Reads a delivery's body under its Content-Type (the header's value, NULL
 * when absent): application/json, or application/x-www-form-urlencoded
 * with the JSON in the field "payload".  Returns 0 with out filled (free it
 * with github_body_free), or -EINVAL with err saying what was expected and
 * naming the field ("Content-Type", "body", "payload") in *field.
 */
int github_body_parse(const char *content_type, size_t content_type_len, const char *body,
                      size_t body_len, struct github_body *out, const char **field,
                      struct strbuf *err);
void github_body_free(struct github_body *body);

/* true for a valid X-GitHub-Event value: 1 to 64 of a-z, 0-9, '_' and '-'. */
bool github_event_name_valid(const char *name, size_t len);

/* The attributes a delivery maps to. */
struct github_attrs {
    struct strbuf type;    /* com.github.<event>[.<detail>...] */
    struct strbuf source;  /* a URI reference */
    struct strbuf subject; /* empty: no subject */
    struct strbuf time;    /* RFC 3339 (from the payload); empty: the time of arrival */
};

#define GITHUB_ATTRS_INIT {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT}

/*
 * Maps a delivery of event (X-GitHub-Event, already checked with
 * github_event_name_valid) with payload (any JSON value) into out, which
 * it resets first.  An event the table does not know maps as
 * com.github.<event>[.<action>] with the first source found and no
 * subject; a value the table names that is missing, null, empty or not
 * text falls back as documented (source) or is left out (subject, time).
 */
void github_map(const char *event, const json_t *payload, struct github_attrs *out);
void github_attrs_free(struct github_attrs *attrs);

/* true when text has the shape of an RFC 3339 timestamp
 * ("YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"). */
bool github_time_valid(const char *text, size_t len);

#endif
