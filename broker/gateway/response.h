/*
 * response.h -- JSON answers for every HTTP endpoint of the broker.
 *
 * Every error the broker answers has one shape, so clients parse one thing:
 *
 *     {"error": {"status": 400, "message": "...", "field": "source"}}
 *
 * "field" is present when the error is about one named field of the input.
 * Bodies are sent with a Content-Length (h2o would otherwise send chunked).
 */
#ifndef VANE_GATEWAY_RESPONSE_H
#define VANE_GATEWAY_RESPONSE_H

#include <h2o.h>
#include <jansson.h>

/*
 * A request answered later, from a callback.  The client may hang up
 * first; h2o then frees the request, and req here turns NULL.  Embed one in
 * the operation, response_later_start() when the operation begins, and
 * response_later_end() before freeing the operation (after answering, if
 * req was still there).
 */
struct response_later {
    h2o_req_t *req; /* NULL once the client has gone */
    struct response_later **guard;
};

void response_later_start(struct response_later *later, h2o_req_t *req);
void response_later_end(struct response_later *later);

/* The reason phrase of an HTTP status ("Accepted"); "OK" or "Error" for one not listed. */
const char *response_reason(int status);

/* Sends len bytes of body (copied) as the answer, with its content type. */
void response_send(h2o_req_t *req, int status, const char *reason, const char *content_type,
                   const char *body, size_t len);

/* Sends body as the JSON answer with status.  Takes the reference to body. */
void response_json(h2o_req_t *req, int status, const char *reason, json_t *body);

/* Sends an error in the shape above; field may be NULL. */
void response_error(h2o_req_t *req, int status, const char *reason, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* As response_error, with a message already made and, when index >= 0, the
 * index of the batch element at fault ("index" in the error). */
void response_error_at(h2o_req_t *req, int status, const char *reason, const char *field,
                       long index, const char *message);

/* As response_error_at, with more members (taken; may be NULL) added to the
 * error object: {"position": 12} for where in a text the fault is. */
void response_error_with(h2o_req_t *req, int status, const char *reason, const char *field,
                         const char *message, json_t *members);

/*
 * Answers 503 when err says the broker cannot take the request now but may
 * soon: starting, stopping, or (in a cluster) no reachable leader for the
 * raft group that would take it, or one that did not answer in time
 * (-ETIMEDOUT: the change may have been made).  Returns 1 when it
 * answered, 0 for any other err.
 */
int response_unavailable(h2o_req_t *req, int err);

/*
 * Answers 405 with an Allow header unless the request's method is one of
 * allowed ("GET, HEAD").  Returns 1 when it answered, 0 when the method is
 * allowed.
 */
int response_check_method(h2o_req_t *req, const char *allowed);

#endif
