/*
 * binding.h -- the CloudEvents HTTP protocol binding, request side: an HTTP
 * request to the events it carries.
 *
 * The mode comes from the Content-Type (spec:
 * cloudevents-bindings-http-protocol-binding.md, section 3):
 *
 *     application/cloudevents-batch+json  batch: a JSON array of events
 *     application/cloudevents+json        structured: one JSON event
 *     anything else, with ce-* headers    binary: attributes in ce-*
 *                                         headers, Content-Type is
 *                                         datacontenttype, the body is data
 *
 * Other application/cloudevents* formats, and a request with neither a
 * CloudEvents content type nor any ce-* header, are refused with 415.
 * Binary-mode header values are unquoted (RFC 7230 quoted-string) and
 * percent-decoded once; the decoded bytes must be UTF-8.  Every event is
 * then checked (event_check.h); one bad event in a batch refuses the whole
 * batch, naming its index.
 *
 * The request is described by plain pointers, not h2o's types, so the
 * fuzz target drives this parser directly.
 */
#ifndef VANE_GATEWAY_BINDING_H
#define VANE_GATEWAY_BINDING_H

#include <stddef.h>

#include <jansson.h>

#include "core/arena.h"
#include "event/event.h"
#include "event/event_check.h"

enum binding_mode {
    BINDING_BINARY,
    BINDING_STRUCTURED,
    BINDING_BATCH,
};

struct binding_header {
    const char *name, *value;
    size_t name_len, value_len;
};

struct binding_request {
    const char *content_type; /* NULL when the request has none */
    size_t content_type_len;
    const struct binding_header *headers;
    size_t header_count;
    const char *body;
    size_t body_len;
};

struct binding_events {
    enum binding_mode mode;
    struct event *events;
    size_t count;
    size_t slots; /* events allocated (a failed batch fills fewer) */
    /* what the events point into */
    json_t *doc;
    struct vane_arena arena;
    /* on failure */
    int status;       /* 400 or 415 */
    long error_index; /* the batch index at fault, or -1 */
    struct event_error error;
};

/*
 * Parses and checks the events of req into out.  Returns 0, or -EINVAL with
 * out->status, out->error_index and out->error set.  Either way, free out
 * with binding_events_free().  The events point into req's body too.
 */
int binding_parse(const struct binding_request *req, struct binding_events *out);
void binding_events_free(struct binding_events *events);

#endif
