/*
 * auth.h -- access control: one bearer token for the admin API and,
 * optionally, for publishing.
 *
 * A request proves itself with "Authorization: Bearer <token>".  The token
 * lives in <data_dir>/token (mode 0600).  The first start that needs it
 * creates it -- 32 random bytes from OpenSSL's RAND_bytes, hex-encoded --
 * and logs it once; later starts read it (surrounding white space trimmed),
 * so an operator may also write a token of their own into the file before
 * starting.  The comparison is constant-time over equal lengths.
 *
 * Which scopes ask for the token comes from the configuration: auth.admin
 * ("auto": required unless the listener is on a loopback address;
 * "required"; "none") and auth.publish ("none" or "required").  /healthz,
 * /readyz and /metrics never ask.  When no scope asks, no token file is
 * read or written.
 *
 * Created once at start, after the data directory exists (and is locked);
 * checked on the loop thread; freed after the HTTP server.
 */
#ifndef VANE_GATEWAY_AUTH_H
#define VANE_GATEWAY_AUTH_H

#include <h2o.h>

#include "config/config.h"

enum auth_scope {
    AUTH_ADMIN,   /* /api/v1/... */
    AUTH_PUBLISH, /* POST /gateway/... */
};

struct auth;

/*
 * Reads cfg's auth.* keys and, when a scope requires the token, reads or
 * creates <cfg->data_dir>/token.  Returns 0 with *auth (free with
 * auth_free), or a negative error with *errmsg (freed by the caller with
 * vane_free) naming the file and what went wrong.
 */
int auth_create(struct auth **auth, const struct config *cfg, char **errmsg);

/*
 * Returns 0 when req may go on: auth is NULL, scope does not require the
 * token, or req carries it.  Otherwise answers 401 (field "Authorization",
 * with a WWW-Authenticate: Bearer header) and returns 1; the caller then
 * returns from its handler without answering.
 */
int auth_check(const struct auth *auth, h2o_req_t *req, enum auth_scope scope);

void auth_free(struct auth *auth);

#endif
