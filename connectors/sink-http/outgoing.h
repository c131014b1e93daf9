/*
 * outgoing.h -- the HTTP request sink-http is about to send for one event:
 * what the mode-specific builders (binary and structured in sink_http.c,
 * Vanus's envelope in vanus.c) fill and the transfer sends.
 *
 * Headers are kept in a JSON object keyed by the lower-case header name,
 * each holding the whole "Name: value" line, so a later header of the same
 * name replaces an earlier one whatever its case: the event's own headers,
 * then the option "headers", then (mode vanus) the envelope's, each taking
 * precedence over the ones before.
 */
#ifndef VANE_CONNECTORS_SINK_HTTP_OUTGOING_H
#define VANE_CONNECTORS_SINK_HTTP_OUTGOING_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../common/strbuf.h"

struct outgoing {
    char *url;        /* malloc'd; NULL: the sink's option url */
    char *method;     /* malloc'd; NULL: the sink's option method */
    json_t *headers;  /* lower-case name -> "Name: value" */
    struct strbuf body;
};

void outgoing_init(struct outgoing *out);
void outgoing_free(struct outgoing *out);

/*
 * Sets header name to value, replacing one of the same name.  Returns 0, or
 * -EINVAL when the name is not an HTTP token or the value holds a CR, LF or
 * NUL (which would end the header early).
 */
int outgoing_header(struct outgoing *out, const char *name, size_t name_len, const char *value,
                    size_t value_len);

/* Applies the "headers" option's object (already checked) over out's headers. */
void outgoing_headers_from(struct outgoing *out, const json_t *headers);

/* The header lines as a curl list (freed with curl_slist_free_all). */
struct curl_slist *outgoing_header_list(const struct outgoing *out);

/* true when name is an HTTP token (RFC 9110 section 5.6.2) of 1..len bytes. */
bool outgoing_is_token(const char *name, size_t len);

/*
 * Builds the request of Vanus's HTTP sink from the event's data, a JSON
 * object {"method", "path", "query", "headers", "body"} (vanus.c has the
 * rules).  base is the sink's url, option_headers the option "headers"
 * (NULL: none), applied between the body's Content-Type and the envelope's
 * headers.  Returns 0, or -EINVAL with err naming the field at fault and
 * what was expected.
 */
struct vane_host;
struct vane_event;
int vanus_build(const struct vane_host *host, const struct vane_event *ev, CURLU *base,
                const json_t *option_headers, struct outgoing *out, struct strbuf *err);

#endif
