/*
 * client.h -- vanectl's HTTP client for the broker's admin API (libcurl).
 *
 * One blocking request at a time: a command-line tool has nothing else to
 * do meanwhile.  Answers are parsed as JSON when they are JSON.
 */
#ifndef VANECTL_CLIENT_H
#define VANECTL_CLIENT_H

#include <jansson.h>

struct client {
    const char *endpoint; /* "http://127.0.0.1:8080", no trailing slash needed */
    long timeout_ms;
};

struct client_reply {
    long status;  /* HTTP status, 0 when the broker was not reached */
    json_t *body; /* parsed JSON body, or NULL when it was not JSON */
    char *error;  /* why the broker was not reached (status 0) */
};

/*
 * Sends method to endpoint + path with an optional JSON body (not taken).
 * Returns 0 when an HTTP answer came back (whatever its status), or
 * VANE_EHTTP with reply->error set.  Free the reply with client_reply_free.
 */
int client_request(const struct client *client, const char *method, const char *path,
                   const json_t *body, struct client_reply *reply);

void client_reply_free(struct client_reply *reply);

#endif
