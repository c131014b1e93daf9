/*
 * http_client.h -- outbound HTTP on the loop: libcurl's multi interface
 * driven by libuv, for delivering events to sinks.
 *
 * One client holds one curl multi handle, so connections to a sink are
 * kept alive and reused across requests (and HTTP/2 is used where the sink
 * offers it over TLS).  libcurl tells which sockets to watch and when its
 * timeout is due; the client watches them with uv_poll and a uv_timer and
 * hands the events back with curl_multi_socket_action().  A request never
 * blocks the loop: its callback runs on the loop when it has an answer, an
 * error or a timeout.
 *
 * The caller owns each struct http_request (it may embed it) and must keep
 * it, its headers and body, until done runs.  Closing the client ends
 * every request still under way with HTTP_CLIENT_ABORTED.
 */
#ifndef VANE_TRIGGER_HTTP_CLIENT_H
#define VANE_TRIGGER_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <uv.h>

#define HTTP_CLIENT_ABORTED (-1)
#define HTTP_CLIENT_MAX_HOST_CONNECTIONS 64L
#define HTTP_CLIENT_ERROR_MAX 256

struct http_client;
struct http_request;

struct http_result {
    int curl_code;      /* CURLE_OK, a CURLcode, or HTTP_CLIENT_ABORTED */
    long status;        /* the HTTP status, 0 when no answer came */
    int64_t retry_after_ms; /* from a Retry-After header (seconds or a date), else -1 */
    char error[HTTP_CLIENT_ERROR_MAX]; /* curl's reason, or the start of an error answer's body */
    uint64_t elapsed_ns;
};

typedef void (*http_request_done_cb)(struct http_request *req, const struct http_result *result);

struct http_request {
    /* set by the caller */
    const char *method;             /* NULL: POST with a body, else GET */
    const char *url;
    const struct curl_slist *headers; /* "Name: value" lines, may be NULL */
    const void *body;               /* NULL: no body */
    size_t body_len;
    long timeout_ms;
    http_request_done_cb done;
    void *arg;
    /* the client's */
    CURL *easy;
    struct http_client *client;
    struct http_request *prev, *next; /* the client's requests under way */
    struct http_result result;
    size_t error_len;
    uint64_t started_ns;
};

int http_client_create(struct http_client **client, uv_loop_t *loop);

/* Starts req; returns 0 (done will run) or a negative error (it will not). */
int http_client_send(struct http_client *client, struct http_request *req);

/* Requests under way. */
size_t http_client_pending(const struct http_client *client);

/* Ends pending requests (HTTP_CLIENT_ABORTED), closes every handle; closed(arg) then runs. */
void http_client_close(struct http_client *client, void (*closed)(void *arg), void *arg);

#endif
