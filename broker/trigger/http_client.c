/*
 * http_client.c -- libcurl multi on libuv (see http_client.h).
 *
 * The pattern of libcurl's own multi-uv example: curl's socket callback
 * starts, changes or stops a uv_poll for each socket it uses (the watch is
 * the socket's curl_multi_assign() pointer); its timer callback sets one
 * uv_timer; either firing calls curl_multi_socket_action(), after which
 * finished transfers are read with curl_multi_info_read() and their
 * requests answered.  Easy handles are kept for reuse; the connections live
 * in the multi handle's cache whichever easy handle made them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/alloc.h"
#include "core/log.h"
#include "trigger/http_client.h"

#define IDLE_EASY_MAX 64

struct socket_watch {
    uv_poll_t poll; /* first: the close callback gets its address */
    curl_socket_t fd;
    struct http_client *client;
    struct socket_watch *prev, *next;
};

struct http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct http_request *requests; /* under way */
    size_t pending;
    struct socket_watch *watches;
    CURL *idle[IDLE_EASY_MAX];
    size_t idle_count;
    bool closing;
    int open_handles; /* the timer and the watches, until their close callbacks */
    void (*closed)(void *arg);
    void *closed_arg;
};

static const char component[] = "http-client";

/* ---- handles ------------------------------------------------------------- */

static void maybe_freed(struct http_client *client)
{
    if (!client->closing || client->open_handles > 0)
        return;
    if (client->closed != NULL)
        client->closed(client->closed_arg);
    vane_free(client);
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct http_client *client = handle->data;

    if (handle != (uv_handle_t *)&client->timer)
        vane_free(handle); /* a socket_watch, whose first member is the poll */
    client->open_handles--;
    maybe_freed(client);
}

static void unwatch(struct http_client *client, struct socket_watch *watch)
{
    if (watch->prev != NULL)
        watch->prev->next = watch->next;
    else
        client->watches = watch->next;
    if (watch->next != NULL)
        watch->next->prev = watch->prev;
    uv_poll_stop(&watch->poll);
    uv_close((uv_handle_t *)&watch->poll, on_handle_closed);
}

/* ---- finished transfers --------------------------------------------------- */

static void unlink_request(struct http_client *client, struct http_request *req)
{
    if (req->prev != NULL)
        req->prev->next = req->next;
    else
        client->requests = req->next;
    if (req->next != NULL)
        req->next->prev = req->prev;
    client->pending--;
}

static void recycle(struct http_client *client, CURL *easy)
{
    curl_multi_remove_handle(client->multi, easy);
    if (client->closing || client->idle_count == IDLE_EASY_MAX) {
        curl_easy_cleanup(easy);
        return;
    }
    curl_easy_reset(easy);
    client->idle[client->idle_count++] = easy;
}

static void finish(struct http_client *client, struct http_request *req, int code)
{
    struct http_result *res = &req->result;

    res->curl_code = code;
    if (code != HTTP_CLIENT_ABORTED)
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &res->status);
    if (code != CURLE_OK && code != HTTP_CLIENT_ABORTED && req->error_len == 0)
        snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror((CURLcode)code));
    else if (code == HTTP_CLIENT_ABORTED)
        snprintf(res->error, sizeof(res->error), "the broker is stopping");
    res->elapsed_ns = uv_hrtime() - req->started_ns;
    unlink_request(client, req);
    recycle(client, req->easy);
    req->easy = NULL;
    req->done(req, res);
}

static void read_finished(struct http_client *client)
{
    CURLMsg *msg;
    int left;

    while (!client->closing && (msg = curl_multi_info_read(client->multi, &left)) != NULL) {
        struct http_request *req;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
        finish(client, req, msg->data.result);
    }
}

/* ---- libcurl's callbacks -------------------------------------------------- */

static void on_poll(uv_poll_t *poll, int status, int events)
{
    struct socket_watch *watch = (struct socket_watch *)poll;
    int flags = 0, running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(watch->client->multi, watch->fd, flags, &running);
    read_finished(watch->client);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct http_client *client = userp;
    struct socket_watch *watch = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (watch != NULL) {
            curl_multi_assign(client->multi, fd, NULL);
            unwatch(client, watch);
        }
        return 0;
    }
    if (watch == NULL) {
        watch = VANE_NEW(watch);
        watch->fd = fd;
        watch->client = client;
        if (uv_poll_init_socket(client->loop, &watch->poll, fd) != 0) {
            vane_free(watch);
            return -1;
        }
        watch->poll.data = client;
        watch->next = client->watches;
        if (client->watches != NULL)
            client->watches->prev = watch;
        client->watches = watch;
        client->open_handles++;
        curl_multi_assign(client->multi, fd, watch);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&watch->poll, events, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *timer)
{
    struct http_client *client = timer->data;
    int running;

    curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    read_finished(client);
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userp)
{
    struct http_client *client = userp;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&client->timer);
    else /* 0 means "soon": 1 ms, or libuv would run a timer that libcurl
          * keeps setting to 0 again and again in one turn of the loop,
          * and no socket, of HTTP clients or sinks, would be served meanwhile */
        uv_timer_start(&client->timer, on_timer, timeout_ms > 0 ? (uint64_t)timeout_ms : 1, 0);
    return 0;
}

/* Retry-After: delay-seconds or an HTTP-date (RFC 9110, 10.2.3). */
static int64_t retry_after_ms(const char *value, size_t len)
{
    char text[64];
    char *end;
    long long seconds;
    time_t when;

    while (len > 0 && (value[len - 1] == '\r' || value[len - 1] == '\n' || value[len - 1] == ' '))
        len--;
    if (len == 0 || len >= sizeof(text))
        return -1;
    memcpy(text, value, len);
    text[len] = '\0';
    seconds = strtoll(text, &end, 10);
    if (*end == '\0' && seconds >= 0)
        return seconds < INT64_MAX / 1000 ? seconds * 1000 : INT64_MAX;
    when = curl_getdate(text, NULL);
    if (when < 0)
        return -1;
    return when > time(NULL) ? ((int64_t)when - time(NULL)) * 1000 : 0;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct http_request *req = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";

    if (len > sizeof(name) - 1 && strncasecmp(line, name, sizeof(name) - 1) == 0) {
        const char *value = line + sizeof(name) - 1;

        while (value < line + len && *value == ' ')
            value++;
        req->result.retry_after_ms = retry_after_ms(value, (size_t)(line + len - value));
    }
    return len;
}

/* Keeps the start of an error answer's body, for the dead letter's reason. */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct http_request *req = arg;
    size_t len = size * n, room = sizeof(req->result.error) - 1 - req->error_len;
    long status = 0;

    curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400 && room > 0) {
        size_t take = len < room ? len : room;

        memcpy(req->result.error + req->error_len, data, take);
        req->error_len += take;
        req->result.error[req->error_len] = '\0';
    }
    return len;
}

/* ---- the client ----------------------------------------------------------- */

int http_client_create(struct http_client **out, uv_loop_t *loop)
{
    struct http_client *client = VANE_NEW(client);

    client->loop = loop;
    client->multi = curl_multi_init();
    if (client->multi == NULL) {
        vane_free(client);
        return -ENOMEM;
    }
    curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
    curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
    curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
    /* Requests past this many to one sink wait for a connection rather
     * than open one each: a sink is not flooded with connections. */
    curl_multi_setopt(client->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      HTTP_CLIENT_MAX_HOST_CONNECTIONS);
    uv_timer_init(loop, &client->timer);
    client->timer.data = client;
    client->open_handles = 1;
    *out = client;
    return 0;
}

static void set_options(CURL *easy, struct http_request *req)
{
    curl_easy_setopt(easy, CURLOPT_URL, req->url);
    if (req->body != NULL) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (req->method != NULL)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->headers);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)req);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, req);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
}

int http_client_send(struct http_client *client, struct http_request *req)
{
    CURL *easy;

    if (client->closing)
        return -ECANCELED;
    easy = client->idle_count > 0 ? client->idle[--client->idle_count] : curl_easy_init();
    if (easy == NULL)
        return -ENOMEM;
    memset(&req->result, 0, sizeof(req->result));
    req->result.retry_after_ms = -1;
    req->error_len = 0;
    req->easy = easy;
    req->client = client;
    req->started_ns = uv_hrtime();
    set_options(easy, req);
    if (curl_multi_add_handle(client->multi, easy) != CURLM_OK) {
        curl_easy_cleanup(easy);
        req->easy = NULL;
        return -EIO;
    }
    req->prev = NULL;
    req->next = client->requests;
    if (client->requests != NULL)
        client->requests->prev = req;
    client->requests = req;
    client->pending++;
    return 0;
}

size_t http_client_pending(const struct http_client *client)
{
    return client->pending;
}

void http_client_close(struct http_client *client, void (*closed)(void *arg), void *arg)
{
    client->closed = closed;
    client->closed_arg = arg;
    client->closing = true; /* a done callback cannot send again now */
    while (client->requests != NULL)
        finish(client, client->requests, HTTP_CLIENT_ABORTED);
    for (size_t i = 0; i < client->idle_count; i++)
        curl_easy_cleanup(client->idle[i]);
    client->idle_count = 0;
    curl_multi_cleanup(client->multi);
    client->multi = NULL;
    while (client->watches != NULL)
        unwatch(client, client->watches);
    uv_close((uv_handle_t *)&client->timer, on_handle_closed);
    vane_log_debug(component, "closed");
}
