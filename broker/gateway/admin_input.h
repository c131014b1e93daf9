/*
 * admin_input.h -- what the admin endpoints (eventbuses.c,
 * subscriptions_api.c) share for reading their input and writing their
 * answers: the request body read strictly as one JSON object, a field's
 * JSON kind and a ranged integer field with errors that name the field,
 * the rule for names of eventbuses and subscriptions, and times written
 * as RFC 3339.
 *
 * Every reader answers 400 itself (response.h's error shape, naming the
 * field) and returns 1, or NULL, when the input is wrong; the caller then
 * returns without answering.  All on the loop thread.
 */
#ifndef VANE_GATEWAY_ADMIN_INPUT_H
#define VANE_GATEWAY_ADMIN_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>
#include <jansson.h>

#define ADMIN_NAME_EXPECTED "1 to 128 letters, digits, '.', '_' or '-' (not '.' or '..')"

/* The request body as a JSON object (duplicate keys refused); NULL after answering 400. */
json_t *admin_read_body(h2o_req_t *req);

/* "an object", "a string", ... for saying what a field was instead of what was expected. */
const char *admin_json_kind(const json_t *value);

/* Reads an integer from min to max into *out; answers 400 naming field and returns 1 if not. */
int admin_read_integer(h2o_req_t *req, const char *field, const json_t *value, json_int_t min,
                       json_int_t max, json_int_t *out);

/*
 * NULL when the len bytes at name could name an eventbus or a subscription
 * (ADMIN_NAME_EXPECTED; a '%' is refused with its own reason, since a name
 * in a path is taken as it is), else what was expected, for the message.
 */
const char *admin_name_problem(const char *name, size_t len);

/* Whether name is one the broker keeps for itself ("__dl_orders", "__timer"):
 * those are listed and shown but not created, changed or deleted over the API. */
bool admin_is_system_name(const char *name);

/*
 * Copies the len bytes of a name taken from a path into out (room for
 * CONTROLLER_MAX_NAME + 1), NUL-terminated.  When they cannot be a name,
 * answers 400 naming the field "name" ("WHAT: expected ...") and returns 1.
 */
int admin_path_name(h2o_req_t *req, const char *name, size_t len, const char *what, char *out);

/*
 * Reads a path of a collection: prefix itself ("/api/v1/plugins", the
 * query left out), or prefix/{name}.  Returns 0 with out the name (room for
 * CONTROLLER_MAX_NAME + 1), "" for the collection; or answers and returns
 * 1: 404 for any other path (saying where `what`, "plugins", are), 400 for a
 * name that cannot be one.
 */
int admin_collection_path(h2o_req_t *req, const char *prefix, const char *what, char *out);

/* RFC 3339 in UTC: "2026-11-26T10:00:00Z", or with the nanoseconds ("...:00.5Z"). */
json_t *admin_time_json(int64_t ns, bool nanoseconds);

#endif
