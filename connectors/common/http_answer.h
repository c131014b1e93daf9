/*
 * http_answer.h -- what the source connectors that answer HTTP requests
 * (source-http, source-github) share: finding a request's header, and
 * answering with a JSON body, the broker's error body among them.
 *
 * Everything goes through the SDK's host table (http_reply), so these
 * work on any request the broker hands a source's http callback, on that
 * instance's loop.  The error body is the broker's own,
 * {"error": {"status", "message"[, "field"]}}, so a client reads a
 * connector's refusal as it reads the broker's.
 */
#ifndef VANE_CONNECTORS_HTTP_ANSWER_H
#define VANE_CONNECTORS_HTTP_ANSWER_H

#include <jansson.h>
#include <vane/plugin.h>

/* The request's header name (any case), or NULL; points into req. */
const struct vane_http_header *http_answer_header(const struct vane_http_request *req,
                                                  const char *name);

/*
 * Answers r with status and doc as compact JSON (Content-Type
 * application/json), plus extra_header ("Allow: POST") when not NULL.
 * Takes doc's reference.
 */
void http_answer_json(const struct vane_host *host, struct vane_http_reply *r, int status,
                      json_t *doc, const char *extra_header);

/*
 * The broker's error body for status and message (field, when not NULL,
 * names the input at fault).  A message that is not UTF-8 (it may quote
 * the client) becomes "bad request".  The caller owns the reference.
 */
json_t *http_answer_error_body(int status, const char *field, const char *message);

/* http_answer_json() of http_answer_error_body(). */
void http_answer_error(const struct vane_host *host, struct vane_http_reply *r, int status,
                       const char *field, const char *message, const char *extra_header);

#endif
