/*
 * test-http-client.c -- libcurl multi on the loop (broker/trigger/
 * http_client.h) against real servers: the real vaned for answers, a
 * closed port for a refused connection, a socket that listens but never
 * answers for a timeout, many requests at once, and a close with requests
 * still under way.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "harness.h"
#include "tap.h"
#include "trigger/http_client.h"

struct call {
    struct http_request req;
    struct http_result result;
    bool done;
    int *counter;
};

static void on_done(struct http_request *req, const struct http_result *result)
{
    struct call *call = req->arg;

    call->result = *result;
    call->done = true;
    if (call->counter != NULL)
        (*call->counter)++;
}

static void call_init(struct call *call, const char *method, const char *url, const char *body,
                      const struct curl_slist *headers, long timeout_ms)
{
    memset(call, 0, sizeof(*call));
    call->req.method = method;
    call->req.url = url;
    call->req.body = body;
    call->req.body_len = body ? strlen(body) : 0;
    call->req.headers = headers;
    call->req.timeout_ms = timeout_ms;
    call->req.done = on_done;
    call->req.arg = call;
}

/* Sends one request and runs the loop until it is answered. */
static bool run_one(uv_loop_t *loop, struct http_client *client, struct call *call)
{
    if (http_client_send(client, &call->req) != 0)
        return false;
    return harness_loop_until(loop, &call->done, harness_ms(5000));
}

static void on_closed(void *arg)
{
    *(bool *)arg = true;
}

static void close_client(uv_loop_t *loop, struct http_client *client)
{
    bool closed = false;

    http_client_close(client, on_closed, &closed);
    ok(harness_loop_until(loop, &closed, harness_ms(2000)), "the client closes");
}

/* A TCP socket that listens on loopback and never accepts; returns its port. */
static int silent_listener(int *fd)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);

    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(*fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(*fd, 16) != 0 ||
        getsockname(*fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    return ntohs(addr.sin_port);
}

static void test_answers(uv_loop_t *loop, struct http_client *client, const char *base)
{
    char *url = vane_asprintf("%s/healthz", base), *missing = vane_asprintf("%s/nowhere", base);
    struct call call;

    call_init(&call, NULL, url, NULL, NULL, harness_ms(2000));
    ok(run_one(loop, client, &call), "GET /healthz is answered");
    is_int(call.result.curl_code, CURLE_OK, "GET /healthz: no transport error");
    is_int(call.result.status, 200, "GET /healthz: 200");
    ok(call.result.retry_after_ms == -1, "no Retry-After");

    call_init(&call, "POST", missing, "{}", NULL, harness_ms(2000));
    ok(run_one(loop, client, &call), "POST /nowhere is answered");
    is_int(call.result.status, 404, "POST /nowhere: 404");
    ok(strstr(call.result.error, "no such endpoint") != NULL,
       "an error answer's body is kept for the reason (%s)", call.result.error);
    vane_free(url);
    vane_free(missing);
}

/* Publishes through vaned's gateway: the headers and body arrive as sent. */
static void test_publish(uv_loop_t *loop, struct http_client *client, const char *base)
{
    char *create = vane_asprintf("%s/api/v1/eventbuses", base);
    char *publish = vane_asprintf("%s/gateway/hc", base);
    struct curl_slist *headers = NULL;
    struct call call;

    call_init(&call, "POST", create, "{\"name\":\"hc\"}", NULL, harness_ms(5000));
    ok(run_one(loop, client, &call) && call.result.status == 201, "an eventbus is created");
    headers = curl_slist_append(headers, "ce-specversion: 1.0");
    headers = curl_slist_append(headers, "ce-id: hc-1");
    headers = curl_slist_append(headers, "ce-source: /test");
    headers = curl_slist_append(headers, "ce-type: t");
    headers = curl_slist_append(headers, "Content-Type: text/plain");
    call_init(&call, "POST", publish, "hello", headers, harness_ms(5000));
    ok(run_one(loop, client, &call), "a binary-mode publish is answered");
    is_int(call.result.status, 200, "the publish is stored: 200");
    curl_slist_free_all(headers);
    vane_free(create);
    vane_free(publish);
}

static void test_many(uv_loop_t *loop, struct http_client *client, const char *base)
{
    enum { N = 200 };
    static struct call calls[N];
    char *url = vane_asprintf("%s/healthz", base);
    int done = 0, good = 0;
    bool all = false;

    for (int i = 0; i < N; i++) {
        call_init(&calls[i], NULL, url, NULL, NULL, harness_ms(5000));
        calls[i].counter = &done;
        http_client_send(client, &calls[i].req);
    }
    is_int((long)http_client_pending(client), N, "%d requests under way at once", N);
    for (int spins = 0; spins < 500 && done < N; spins++)
        harness_loop_until(loop, &all, 10);
    is_int(done, N, "every request is answered");
    for (int i = 0; i < N; i++)
        good += calls[i].result.status == 200;
    is_int(good, N, "every answer is 200");
    is_int((long)http_client_pending(client), 0, "none left under way");
    vane_free(url);
}

static void test_failures(uv_loop_t *loop, struct http_client *client)
{
    int fd, port = silent_listener(&fd), gone_fd, gone = silent_listener(&gone_fd);
    char *silent = vane_asprintf("http://127.0.0.1:%d/", port);
    char *refused = vane_asprintf("http://127.0.0.1:%d/", gone);
    struct call call;

    close(gone_fd); /* a port that was just in use: nothing listens there now */
    call_init(&call, "POST", silent, "x", NULL, 300);
    ok(run_one(loop, client, &call), "a server that never answers: the request ends");
    is_int(call.result.curl_code, CURLE_OPERATION_TIMEDOUT, "... with a timeout (%s)",
           call.result.error);
    ok(call.result.elapsed_ns >= 250000000ull, "... after about the timeout");
    close(fd);
    call_init(&call, "POST", refused, "x", NULL, 2000);
    ok(run_one(loop, client, &call), "a closed port: the request ends");
    is_int(call.result.curl_code, CURLE_COULDNT_CONNECT, "... with a refused connection (%s)",
           call.result.error);
    is_int(call.result.status, 0, "... and no status");
    vane_free(silent);
    vane_free(refused);
}

static void test_close_pending(uv_loop_t *loop)
{
    struct http_client *client;
    int fd, port = silent_listener(&fd), done = 0;
    char *silent = vane_asprintf("http://127.0.0.1:%d/", port);
    struct call calls[3];

    http_client_create(&client, loop);
    for (int i = 0; i < 3; i++) {
        call_init(&calls[i], "POST", silent, "x", NULL, 60000);
        calls[i].counter = &done;
        http_client_send(client, &calls[i].req);
    }
    harness_loop_until(loop, &(bool){false}, 100);
    close_client(loop, client);
    is_int(done, 3, "closing ends the requests under way");
    is_int(calls[0].result.curl_code, HTTP_CLIENT_ABORTED, "... as aborted");
    close(fd);
    vane_free(silent);
}

int main(void)
{
    struct vaned v;
    uv_loop_t loop;
    struct http_client *client;
    char *dir = harness_tempdir(), *base;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    uv_loop_init(&loop);
    if (vaned_start(&v, dir, NULL) != 0) {
        ok(false, "vaned starts");
        return tap_done();
    }
    base = vane_asprintf("http://%s", v.address);
    is_int(http_client_create(&client, &loop), 0, "a client is made");
    test_answers(&loop, client, base);
    test_publish(&loop, client, base);
    test_many(&loop, client, base);
    test_failures(&loop, client);
    close_client(&loop, client);
    test_close_pending(&loop);
    is_int(harness_loop_close(&loop), 0, "every handle of the loop is closed");
    vaned_cleanup(&v);
    vane_free(base);
    harness_rmtree(dir);
    curl_global_cleanup();
    return tap_done();
}
