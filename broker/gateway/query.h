/*
 * query.h -- a request's query string, one name=value pair at a time,
 * percent-decoded (strictly; '+' stays a plus, since RFC 3339 zones use
 * it).  A pair without '=', a bad escape, a NUL or a name or value longer
 * than the fields here make the query malformed.
 */
#ifndef VANE_GATEWAY_QUERY_H
#define VANE_GATEWAY_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

struct query_param {
    char name[32];
    char value[512];
};

/* Start with *cursor = 0.  Returns 1 with the next pair in *param, 0 at the end, -1 malformed. */
int query_next(const h2o_req_t *req, size_t *cursor, struct query_param *param);

/* true with *out when text is a whole number (digits only, no overflow) up to max. */
bool query_u64(const char *text, uint64_t max, uint64_t *out);

#endif
