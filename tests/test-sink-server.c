/*
 * test-sink-server.c -- the HTTP sink the delivery tests send to
 * (tests/sink-server.c), driven through the harness (sink_start and the
 * rest) over real HTTP on loopback:
 *
 *   - each mode: 200, 400, 429 with Retry-After in seconds, 503 with an
 *     HTTP date, 500, fail_first, delay_ms (the answer is late by it), hang
 *     (the client's own timeout fires; the sink lets go of the connection
 *     when the client does), refuse (new connections are reset, and so is a
 *     request hanging on an open one; the control port still answers);
 *   - the record: binary-mode CloudEvents headers and a body of every byte
 *     value come back byte for byte, a structured body as the exact text,
 *     headers sent twice joined, control requests not recorded;
 *   - HTTP/1.1: keep-alive (one connection for three requests), chunked
 *     bodies, Expect: 100-continue answered at once, two pipelined requests
 *     in one write, Connection: close, a malformed request answered 400;
 *   - the control endpoints: bad modes answered 400 naming the field, stats;
 *   - the flags at start, a bad flag refused, and SIGTERM with a hanging and
 *     an idle connection open: exit status 0 (the sink exits 1 when
 *     uv_loop_close fails).
 *
 * Every request carries a timeout; every wait has a deadline.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "harness.h"
#include "tap.h"

static char *tmpdir;

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- clients ------------------------------------------------------------- */

/* A POST through the harness's client (a fresh connection each time). */
static long post(const struct sink *s, const char *path, const char *const *headers,
                 const void *body, size_t len, struct http_reply *reply)
{
    char *url = sink_url(s, path);
    struct http_call call = {"POST", url, headers, body, len, HTTP_1_1};

    http_call(&call, reply);
    vane_free(url);
    return reply->status;
}

static long post_text(const struct sink *s, const char *path, const char *body)
{
    struct http_reply reply;
    long status = post(s, path, NULL, body, strlen(body), &reply);

    http_reply_free(&reply);
    return status;
}

static json_int_t line_int(const json_t *line, const char *path1, const char *path2)
{
    const json_t *v = json_object_get(line, path1);

    return json_integer_value(path2 ? json_object_get(v, path2) : v);
}

static json_int_t stat_of(const struct sink *s, const char *name)
{
    json_t *stats = sink_stats(s);
    json_int_t n = stats ? json_integer_value(json_object_get(stats, name)) : -1;

    json_decref(stats);
    return n;
}

/* What one request on a kept curl handle came back with. */
struct exchange {
    CURLcode code;
    long status;
    long new_connections; /* 0 when the connection was reused */
    long elapsed_ms;
};

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t read_upload(char *out, size_t size, size_t count, void *arg)
{
    struct upload *up = arg;
    size_t n = up->len - up->pos < size * count ? up->len - up->pos : size * count;

    /* A few bytes at a time, so the body goes out as several chunks. */
    n = n > 7 ? 7 : n;
    memcpy(out, up->data + up->pos, n);
    up->pos += n;
    return n;
}

static size_t discard(char *data, size_t size, size_t count, void *arg)
{
    (void)data, (void)arg;
    return size * count;
}

/* Sets curl up for a POST of body to url; chunked sends it with a read callback. */
static struct curl_slist *prepare(CURL *curl, const char *url, const char *const *headers,
                                  struct upload *up, bool chunked, long timeout_ms)
{
    struct curl_slist *list = NULL;

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)harness_ms((int)timeout_ms));
    curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, (long)harness_ms(5000));
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        list = curl_slist_append(list, headers[i]);
    if (chunked) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, -1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
        curl_easy_setopt(curl, CURLOPT_READDATA, up);
        list = curl_slist_append(list, "Transfer-Encoding: chunked");
    } else {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, up->data);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)up->len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    return list;
}

static struct exchange finish(CURL *curl, CURLcode code, long started)
{
    struct exchange ex = {code, 0, 0, now_ms() - started};

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &ex.status);
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &ex.new_connections);
    return ex;
}

/* One POST on curl, which keeps its connection for the next. */
static struct exchange exchange(CURL *curl, const char *url, const char *const *headers,
                                const char *body, size_t len, bool chunked, long timeout_ms)
{
    struct upload up = {body, len, 0};
    struct curl_slist *list = prepare(curl, url, headers, &up, chunked, timeout_ms);
    long started = now_ms();
    struct exchange ex = finish(curl, curl_easy_perform(curl), started);

    curl_slist_free_all(list);
    return ex;
}

/* ---- a request in flight, for hang and refuse ---------------------------- */

struct in_flight {
    CURLM *multi;
    CURL *curl;
    struct curl_slist *list;
    struct upload up;
    long started;
};

/* Starts a POST that runs while the test does other things. */
static void in_flight_start(struct in_flight *f, const char *url, long timeout_ms)
{
    f->multi = curl_multi_init();
    f->curl = curl_easy_init();
    f->up = (struct upload){"in flight", 9, 0};
    f->list = prepare(f->curl, url, NULL, &f->up, false, timeout_ms);
    curl_multi_add_handle(f->multi, f->curl);
    f->started = now_ms();
}

/* Runs the transfer for up to timeout_ms; true once it is done (*ex set). */
static bool in_flight_run(struct in_flight *f, int timeout_ms, struct exchange *ex)
{
    long deadline = now_ms() + timeout_ms;
    int running = 1, left;
    CURLMsg *msg;

    do {
        curl_multi_perform(f->multi, &running);
        while ((msg = curl_multi_info_read(f->multi, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE) {
                *ex = finish(f->curl, msg->data.result, f->started);
                return true;
            }
        curl_multi_poll(f->multi, NULL, 0, 20, NULL);
    } while (now_ms() < deadline);
    return false;
}

/* Runs the transfer until the sink has recorded count requests. */
static bool in_flight_until_received(struct in_flight *f, const struct sink *s, size_t count)
{
    long deadline = now_ms() + harness_ms(5000);
    struct exchange ex;

    while (sink_received(s, NULL) < count && now_ms() < deadline)
        if (in_flight_run(f, 20, &ex)) {
            tap_diag("the request in flight ended early: %s, status %ld",
                     curl_easy_strerror(ex.code), ex.status);
            return false;
        }
    return sink_received(s, NULL) >= count;
}

static void in_flight_free(struct in_flight *f)
{
    curl_multi_remove_handle(f->multi, f->curl);
    curl_easy_cleanup(f->curl);
    curl_multi_cleanup(f->multi);
    curl_slist_free_all(f->list);
}

/* ---- raw sockets, for what curl does not send ---------------------------- */

/* Sends text in one write on a new connection and reads until the sink
 * closes it or 5 s (scaled) pass; returns what came (freed by the caller),
 * *closed telling whether the sink closed. */
static char *raw_exchange(const struct sink *s, const char *text, bool *closed)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    struct timeval tv = {harness_ms(5000) / 1000, 0};
    struct vane_buf got = VANE_BUF_INIT;
    const char *colon = strrchr(s->address, ':');
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char chunk[4096];
    ssize_t n;

    *closed = false;
    addr.sin_port = htons((uint16_t)atoi(colon + 1));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        tap_diag("raw connection to %s failed", s->address);
        close(fd);
        return vane_strdup("");
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        vane_buf_append(&got, chunk, (size_t)n);
    *closed = n == 0;
    close(fd);
    return got.data ? vane_buf_detach(&got) : vane_strdup("");
}

static size_t count_of(const char *haystack, const char *needle)
{
    size_t n = 0;

    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* ---- the tests ----------------------------------------------------------- */

static void test_start_line(const struct sink *s)
{
    char *log = vaned_log(&s->process);

    ok(log != NULL && strncmp(log, "sink listening on 127.0.0.1:", 28) == 0,
       "the first line names the port: %.*s", log ? (int)strcspn(log, "\n") : 6,
       log ? log : "(none)");
    ok(strcmp(s->address, "127.0.0.1:0") != 0 && strchr(s->address, ':') != NULL,
       "a real port: %s", s->address);
    vane_free(log);
}

static void test_statuses(const struct sink *s)
{
    struct http_reply reply;
    json_t *line;

    is_int(post_text(s, "/hook", "{}"), 200, "200 by default");

    ok(sink_set_mode(s, "{\"status\": 400}") == 0, "mode 400");
    is_int(post_text(s, "/hook", "{}"), 400, "400");

    ok(sink_set_mode(s, "{\"status\": 429, \"retry_after\": 7}") == 0, "mode 429 + Retry-After");
    is_int(post(s, "/hook", NULL, "{}", 2, &reply), 429, "429");
    contains(reply.headers, "retry-after: 7\r\n", "Retry-After in seconds");
    http_reply_free(&reply);
    line = sink_last_received(s);
    is_int(line_int(line, "answer", "status"), 429, "the record says what was answered");
    is_str(json_string_value(json_object_get(json_object_get(line, "answer"), "retry_after")),
           "7", "and the Retry-After");
    json_decref(line);

    ok(sink_set_mode(s, "{\"status\": 503, \"retry_after\": \"Wed, 21 Oct 2015 07:28:00 GMT\"}")
           == 0, "mode 503 + a Retry-After date");
    is_int(post(s, "/hook", NULL, "{}", 2, &reply), 503, "503");
    contains(reply.headers, "retry-after: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
             "Retry-After as an HTTP date");
    http_reply_free(&reply);

    ok(sink_set_mode(s, "{\"status\": 500}") == 0, "mode 500");
    is_int(post(s, "/hook", NULL, "{}", 2, &reply), 500, "500");
    ok(strstr(reply.headers, "retry-after") == NULL, "no Retry-After unless asked");
    http_reply_free(&reply);

    ok(sink_set_mode(s, "{\"status\": 200}") == 0, "mode 200");
    is_int(post(s, "/hook", NULL, "{}", 2, &reply), 200, "200 again");
    ok(strstr(reply.headers, "retry-after") == NULL, "no Retry-After on a 2xx");
    http_reply_free(&reply);
}

static void test_fail_first(const struct sink *s)
{
    ok(sink_set_mode(s, "{\"status\": 202, \"fail_first\": 2}") == 0, "fail_first 2");
    is_int(post_text(s, "/f", "1"), 500, "the first fails");
    is_int(post_text(s, "/f", "2"), 500, "the second fails");
    is_int(post_text(s, "/f", "3"), 202, "the third gets the mode's status");
    is_int(post_text(s, "/f", "4"), 202, "and so does the next");
}

static void test_delay(const struct sink *s)
{
    long started;
    json_t *line;

    ok(sink_set_mode(s, "{\"delay_ms\": 400}") == 0, "delay 400 ms");
    started = now_ms();
    is_int(post_text(s, "/slow", "x"), 200, "a delayed answer");
    ok(now_ms() - started >= 400, "it came after %ld ms (>= 400)", now_ms() - started);
    line = sink_last_received(s);
    is_int(line_int(line, "answer", "delay_ms"), 400, "the record has the delay");
    json_decref(line);
    ok(sink_set_mode(s, "{}") == 0, "back to the default mode");
}

/* A binary-mode CloudEvent with a body of every byte value, and headers. */
static void test_record_binary(const struct sink *s)
{
    const char *const headers[] = {
        "ce-specversion: 1.0", "ce-id: evt-1", "ce-source: /tests/sink",
        "ce-type: com.example.bytes", "ce-subject: a, b ;c =d  ", "ce-x: %C3%A9t%C3%A9",
        "Content-Type: application/octet-stream", "X-Dup: one", "X-Dup: two", NULL};
    char body[512];
    size_t len;
    struct http_reply reply;
    json_t *line;
    char *got;

    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)(i % 256);
    is_int(post(s, "/binary/path?q=1", headers, body, sizeof(body), &reply), 200,
           "a binary event");
    http_reply_free(&reply);
    line = sink_last_received(s);
    is_str(json_string_value(json_object_get(line, "method")), "POST", "method recorded");
    is_str(json_string_value(json_object_get(line, "path")), "/binary/path?q=1",
           "path and query recorded");
    is_str(json_string_value(json_object_get(line, "version")), "HTTP/1.1", "version");
    is_str(sink_line_header(line, "ce-id"), "evt-1", "ce-id");
    is_str(sink_line_header(line, "ce-source"), "/tests/sink", "ce-source");
    is_str(sink_line_header(line, "ce-type"), "com.example.bytes", "ce-type");
    is_str(sink_line_header(line, "ce-specversion"), "1.0", "ce-specversion");
    is_str(sink_line_header(line, "ce-subject"), "a, b ;c =d", "a value as sent (the trailing "
           "blanks are not part of it in HTTP)");
    is_str(sink_line_header(line, "ce-x"), "%C3%A9t%C3%A9", "a percent-encoded value as sent");
    is_str(sink_line_header(line, "content-type"), "application/octet-stream", "content-type");
    is_str(sink_line_header(line, "x-dup"), "one, two", "a header sent twice is joined");
    ok(json_is_null(json_object_get(line, "body")), "a body that is not UTF-8 has no text");
    got = sink_line_body(line, &len);
    is_int(len, sizeof(body), "body length");
    ok(got != NULL && memcmp(got, body, sizeof(body)) == 0, "every byte of the body");
    ok(line_int(line, "received_ns", NULL) > 1600000000LL * 1000000000LL,
       "received_ns is wall-clock time");
    ok(line_int(line, "monotonic_ns", NULL) > 0, "monotonic_ns");
    vane_free(got);
    json_decref(line);
}

/* A structured event: the body is kept as the exact text; empty bodies too. */
static void test_record_structured(const struct sink *s)
{
    static const char event[] = "{ \"specversion\":\"1.0\", \"id\":\"s-1\",\"source\":\"/s\","
                                "\"type\":\"t\",\"data\":{\"k\": [1, 2.50, \"\\u00e9\"]} }";
    const char *const headers[] = {"Content-Type: application/cloudevents+json; charset=utf-8",
                                   NULL};
    struct http_reply reply;
    size_t before = sink_received(s, NULL), len;
    json_t *line;
    char *got;

    is_int(post(s, "/structured", headers, event, strlen(event), &reply), 200, "structured");
    http_reply_free(&reply);
    line = sink_last_received(s);
    is_str(json_string_value(json_object_get(line, "body")), event, "the body as the exact text");
    is_str(sink_line_header(line, "content-type"),
           "application/cloudevents+json; charset=utf-8", "its content type");
    json_decref(line);

    is_int(post(s, "/empty", NULL, "", 0, &reply), 200, "an empty body");
    http_reply_free(&reply);
    line = sink_last_received(s);
    is_str(json_string_value(json_object_get(line, "body")), "", "recorded empty");
    got = sink_line_body(line, &len);
    is_int(len, 0, "no bytes");
    vane_free(got);
    json_decref(line);

    ok(sink_set_mode(s, "{}") == 0 && stat_of(s, "requests") > 0, "control requests...");
    is_int(sink_received(s, NULL), before + 2, "...are not recorded");
    line = sink_last_received(s);
    is_int(line_int(line, "seq", NULL), sink_received(s, NULL), "seq numbers the requests");
    json_decref(line);
}

static void test_keep_alive(const struct sink *s)
{
    CURL *curl = curl_easy_init();
    char *url = sink_url(s, "/kept");
    json_int_t connections = stat_of(s, "connections");
    json_t **lines;
    size_t n;
    struct exchange ex[3];

    for (int i = 0; i < 3; i++)
        ex[i] = exchange(curl, url, NULL, "k", 1, false, 5000);
    is_int(ex[0].status, 200, "first on the connection");
    is_int(ex[1].status, 200, "second");
    is_int(ex[2].status, 200, "third");
    is_int(ex[0].new_connections, 1, "the first opened a connection");
    is_int(ex[1].new_connections + ex[2].new_connections, 0, "the others reused it");
    is_int(stat_of(s, "connections") - connections, 1, "the sink accepted one connection");
    n = sink_received(s, &lines);
    ok(n >= 3 && line_int(lines[n - 1], "conn", NULL) == line_int(lines[n - 3], "conn", NULL),
       "the record shows one connection for the three");
    sink_lines_free(lines, n);
    curl_easy_cleanup(curl);
    vane_free(url);
}

static void test_chunked_and_continue(const struct sink *s)
{
    static const char text[] = "a chunked body, sent seven bytes at a time";
    const char *const expect[] = {"Expect: 100-continue", NULL};
    size_t big_len = 2 * 1024 * 1024, len;
    char *big = vane_malloc(big_len), *url = sink_url(s, "/chunks"), *got;
    CURL *curl = curl_easy_init();
    struct exchange ex;
    json_t *line;

    ex = exchange(curl, url, NULL, text, strlen(text), true, 5000);
    is_int(ex.status, 200, "a chunked body");
    line = sink_last_received(s);
    is_str(json_string_value(json_object_get(line, "body")), text, "decoded whole");
    is_str(sink_line_header(line, "transfer-encoding"), "chunked", "it was chunked");
    json_decref(line);

    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)(i * 7 + i / 256);
    ex = exchange(curl, url, expect, big, big_len, false, 10000);
    is_int(ex.status, 200, "2 MiB with Expect: 100-continue");
    ok(ex.elapsed_ms < harness_ms(2500), "100 Continue came at once (%ld ms; curl would wait "
       "5 s for it)", ex.elapsed_ms);
    line = sink_last_received(s);
    got = sink_line_body(line, &len);
    ok(len == big_len && memcmp(got, big, big_len) == 0, "the 2 MiB body byte for byte");
    vane_free(got);
    json_decref(line);

    ex = exchange(curl, url, expect, text, strlen(text), true, 5000);
    is_int(ex.status, 200, "chunked with Expect: 100-continue");
    curl_easy_cleanup(curl);
    vane_free(big);
    vane_free(url);
}

static void test_raw_http(const struct sink *s)
{
    bool closed;
    char *got = raw_exchange(s, "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /p2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                             &closed);
    json_t **lines;
    size_t n;

    is_int(count_of(got, "HTTP/1.1 200 OK\r\n"), 2, "two pipelined requests, two answers");
    contains(got, "Connection: close\r\n", "the last says it closes");
    ok(closed, "and the sink closed the connection");
    vane_free(got);
    n = sink_received(s, &lines);
    ok(n >= 2 && strcmp(json_string_value(json_object_get(lines[n - 2], "path")), "/p1") == 0 &&
           strcmp(json_string_value(json_object_get(lines[n - 1], "path")), "/p2") == 0,
       "recorded in order");
    sink_lines_free(lines, n);

    got = raw_exchange(s, "NOT HTTP AT ALL\r\n\r\n", &closed);
    contains(got, "HTTP/1.1 400 Bad Request\r\n", "a malformed request is answered 400");
    ok(closed, "and its connection closed");
    vane_free(got);

    got = raw_exchange(s, "POST /x HTTP/1.1\r\nContent-Length: ten\r\n\r\n", &closed);
    contains(got, "content-length: expected a non-negative integer", "a bad Content-Length");
    vane_free(got);
}

static void test_bad_modes(const struct sink *s)
{
    static const struct {
        const char *mode, *error;
    } cases[] = {
        {"{\"status\": \"x\"}", "status: expected an integer from 200 to 599"},
        {"{\"status\": 99}", "status: expected an integer from 200 to 599"},
        {"{\"hang\": 1}", "hang: expected true or false"},
        {"{\"delay_ms\": -1}", "delay_ms: expected an integer"},
        {"{\"fail_first\": 1.5}", "fail_first: expected an integer"},
        {"{\"retry_after\": -3}", "retry_after: expected seconds"},
        {"{\"bogus\": 1}", "bogus: unknown field"},
        {"[1]", "the mode: expected a JSON object"},
        {"{", "the mode: expected a JSON object"},
    };
    char *url = vane_asprintf("%s/_sink/mode", s->control_url);
    struct http_reply reply;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        http_request("POST", url, cases[i].mode, HTTP_1_1, &reply);
        is_int(reply.status, 400, "refused: %s", cases[i].mode);
        contains(reply.body, cases[i].error, "the error names the field");
        http_reply_free(&reply);
    }
    http_request("GET", url, NULL, HTTP_1_1, &reply);
    contains(reply.body, "\"status\":200", "a refused mode changed nothing");
    http_reply_free(&reply);
    vane_free(url);
    url = vane_asprintf("%s/_sink/nothing", s->control_url);
    http_request("GET", url, NULL, HTTP_1_1, &reply);
    is_int(reply.status, 404, "an unknown control path");
    http_reply_free(&reply);
    vane_free(url);
}

static void test_hang(const struct sink *s)
{
    CURL *curl = curl_easy_init();
    char *url = sink_url(s, "/hang");
    long deadline;
    struct exchange ex;
    json_t *line;

    ok(sink_set_mode(s, "{\"hang\": true}") == 0, "hang");
    ex = exchange(curl, url, NULL, "h", 1, false, 500);
    is_int(ex.code, CURLE_OPERATION_TIMEDOUT, "the client's timeout fired");
    is_int(ex.status, 0, "no answer came");
    ok(ex.elapsed_ms >= 500, "after %ld ms (>= 500)", ex.elapsed_ms);
    line = sink_last_received(s);
    ok(json_is_true(json_object_get(json_object_get(line, "answer"), "hang")),
       "the record says it hung");
    is_str(json_string_value(json_object_get(line, "path")), "/hang", "and what arrived");
    json_decref(line);
    curl_easy_cleanup(curl);
    deadline = now_ms() + harness_ms(5000);
    while (stat_of(s, "hanging") != 0 && now_ms() < deadline)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    is_int(stat_of(s, "hanging"), 0, "the sink let go once the client closed");
    ok(sink_set_mode(s, "{}") == 0, "back to the default mode");
    vane_free(url);
}

static void test_refuse(const struct sink *s)
{
    char *url = sink_url(s, "/refused");
    size_t before;
    struct in_flight f;
    struct exchange ex;
    bool done;

    /* A request hangs on an open connection; refusing must reset it. */
    ok(sink_set_mode(s, "{\"hang\": true}") == 0, "hang");
    before = sink_received(s, NULL);
    in_flight_start(&f, url, 20000);
    ok(in_flight_until_received(&f, s, before + 1), "the hanging request arrived");
    ok(sink_set_mode(s, "{\"refuse\": true}") == 0, "refuse, through the control port");
    done = in_flight_run(&f, harness_ms(5000), &ex);
    ok(done && ex.status == 0 && ex.code != CURLE_OK && ex.code != CURLE_OPERATION_TIMEDOUT,
       "the hanging request's connection was closed (%s, %ld ms)",
       done ? curl_easy_strerror(ex.code) : "not done", done ? ex.elapsed_ms : -1L);
    in_flight_free(&f);

    before = sink_received(s, NULL);
    is_int(post_text(s, "/refused", "r"), 0, "a new connection gets no answer");
    is_int(sink_received(s, NULL), before, "and nothing is recorded");
    ok(stat_of(s, "refused") >= 2, "stats count the refused connections");
    ok(sink_set_mode(s, "{\"status\": 200}") == 0, "the control port still answers");
    is_int(post_text(s, "/refused", "r"), 200, "and deliveries are answered again");
    vane_free(url);
}

static void test_stats(const struct sink *s)
{
    json_t *stats;
    json_t *by_status;

    ok(sink_set_mode(s, "{\"status\": 418}") == 0, "418");
    is_int(post_text(s, "/teapot", "t"), 418, "any status");
    stats = sink_stats(s);
    by_status = json_object_get(stats, "by_status");
    is_int(json_integer_value(json_object_get(by_status, "418")), 1, "counted by status");
    is_int(json_integer_value(json_object_get(by_status, "400")), 1, "400 counted once");
    is_int(json_integer_value(json_object_get(stats, "requests")), sink_received(s, NULL),
           "requests counts every delivery recorded");
    json_decref(stats);
    ok(sink_set_mode(s, "{}") == 0, "back to the default mode");
}

/* SIGTERM with a hanging request and an idle keep-alive connection open. */
static void test_sigterm(struct sink *s)
{
    CURL *idle = curl_easy_init();
    char *url = sink_url(s, "/last");
    struct in_flight f;
    struct exchange ex;
    size_t before;
    int status;

    is_int(exchange(idle, url, NULL, "i", 1, false, 5000).status, 200, "an idle connection");
    ok(sink_set_mode(s, "{\"hang\": true}") == 0, "hang");
    before = sink_received(s, NULL);
    in_flight_start(&f, url, 20000);
    ok(in_flight_until_received(&f, s, before + 1), "a hanging request");
    status = sink_stop(s);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "SIGTERM: exit status 0, so the loop closed (wait status %d)", status);
    ok(in_flight_run(&f, harness_ms(5000), &ex) && ex.status == 0,
       "the hanging request ended when the sink did");
    in_flight_free(&f);
    curl_easy_cleanup(idle);
    vane_free(url);
}

static void test_flags(void)
{
    const char *const args[] = {"--status", "503", "--retry-after", "2", "--fail-first", "1",
                                NULL};
    const char *const bad[] = {getenv("SINK_SERVER"), "--status", "99", NULL};
    char *record = vane_asprintf("%s/flags.jsonl", tmpdir), *err = NULL;
    struct http_reply reply;
    struct sink s;
    int status;

    ok(sink_start_args(&s, record, args) == 0, "started with flags");
    is_int(post(&s, "/a", NULL, "a", 1, &reply), 500, "--fail-first 1");
    http_reply_free(&reply);
    is_int(post(&s, "/b", NULL, "b", 1, &reply), 503, "--status 503");
    contains(reply.headers, "retry-after: 2\r\n", "--retry-after 2");
    http_reply_free(&reply);
    is_int(sink_wait_received(&s, 2, 1000), 2, "both recorded");
    status = sink_stop(&s);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stopped cleanly");

    status = harness_run(bad, NULL, NULL, &err);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 2, "a bad flag exits 2");
    contains(err, "status: expected an integer from 200 to 599", "naming the flag's field");
    vane_free(err);
    vane_free(record);
}

int main(void)
{
    struct sink s;
    char *record;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    tmpdir = harness_tempdir();
    record = vane_asprintf("%s/record.jsonl", tmpdir);
    if (!ok(sink_start(&s, record) == 0, "the sink started")) {
        sink_stop(&s);
        return tap_done();
    }
    test_start_line(&s);
    test_statuses(&s);
    test_fail_first(&s);
    test_delay(&s);
    test_record_binary(&s);
    test_record_structured(&s);
    test_keep_alive(&s);
    test_chunked_and_continue(&s);
    test_raw_http(&s);
    test_bad_modes(&s);
    test_hang(&s);
    test_refuse(&s);
    test_stats(&s);
    test_sigterm(&s);
    test_flags();
    vane_free(record);
    harness_rmtree(tmpdir);
    curl_global_cleanup();
    return tap_done();
}
