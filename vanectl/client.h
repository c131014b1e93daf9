/*
 * client.h -- vanectl's HTTP client for the broker (libcurl's easy interface).
 *
 * One blocking request at a time: a command-line tool has nothing else to
 * do meanwhile.  Every request carries "Authorization: Bearer TOKEN" when a
 * token is set.  Answers are parsed as JSON when they are JSON.
 */
#ifndef VANECTL_CLIENT_H
#define VANECTL_CLIENT_H

#include <stddef.h>

#include <jansson.h>

struct client {
    const char *endpoint; /* "http://127.0.0.1:8080", no trailing slash needed */
    long timeout_ms;
    const char *token;    /* sent as a bearer token, or NULL */
};

/* A request body sent as it is. */
struct client_body {
    const char *content_type; /* NULL: no Content-Type header at all */
    const void *data;
    size_t len;
};

struct client_reply {
    long status;     /* HTTP status, 0 when the broker was not reached */
    json_t *body;    /* parsed JSON body, or NULL when it was not JSON */
    char *text;      /* the body as received, NUL-terminated, or NULL when empty */
    size_t text_len;
    char *error;     /* why the broker was not reached (status 0) */
};

/*
 * Sends method to endpoint + path with extra headers ("Name: value",
 * NULL-terminated, may be NULL) and an optional body (neither taken).
 * Returns 0 when an HTTP answer came back (whatever its status), or
 * VANE_EHTTP with reply->error set.  Free the reply with client_reply_free.
 */
int client_send(const struct client *client, const char *method, const char *path,
                const char *const *headers, const struct client_body *body,
                struct client_reply *reply);

/* client_send() with an optional JSON body (not taken), as application/json. */
int client_request(const struct client *client, const char *method, const char *path,
                   const json_t *body, struct client_reply *reply);

void client_reply_free(struct client_reply *reply);

#endif
