/*
 * sink-server.c -- a real HTTP/1.1 sink for the delivery tests: it records
 * every request it receives and answers as it is told.
 *
 *     sink-server [--record FILE] [--listen ADDR] [--status N] [--retry-after S]
 *                 [--hang] [--delay-ms N] [--refuse] [--fail-first N] [--mode JSON]
 *
 * It listens on ADDR (default 127.0.0.1:0, a free port) and on a second,
 * control-only port of the same host, and prints
 *
 *     sink listening on 127.0.0.1:PORT
 *     sink control on 127.0.0.1:PORT
 *
 * as its first two lines on stdout.  Any method and path is a delivery;
 * paths under /_sink/ are the control endpoints, served on both ports:
 *
 *     POST /_sink/mode   {"status": 200..599, "retry_after": 3 or "<HTTP date>",
 *                         "hang": true, "delay_ms": N, "refuse": true, "fail_first": N}
 *     GET  /_sink/mode   the mode now
 *     GET  /_sink/stats  {"requests": N, "by_status": {"200": n, ...}, "connections": N,
 *                         "refused": N, "hanging": N}
 *
 * A POST to /_sink/mode replaces the whole mode: a field left out takes its
 * default (status 200, no Retry-After, no hang, no delay, no refuse, no
 * fail_first).  The command-line flags set the same fields at start (--mode
 * gives several at once, as JSON) and go through the same check.
 *
 * What the mode means for each delivery, in order: while fail_first is above
 * 0 the answer is 500 (and fail_first counts down); else hang never answers
 * (the connection stays open and no later request on it is served; the sink
 * lets go when the client closes); else the answer is status.  delay_ms
 * holds every answer back that long; retry_after adds Retry-After to every
 * answer that is not 2xx.  refuse resets every new connection to the
 * delivery port as soon as it is accepted and, when it is set, every
 * connection open on that port (the one that set it gets its answer first).
 * The control port is never refused, so a test can always change the mode
 * back.
 *
 * Every delivery -- not the control requests -- is appended to FILE as one
 * JSON line, written with one write(2) before the answer is sent, so a
 * client that has its answer finds the line:
 *
 *     {"seq": 1, "conn": 1, "received_ns": <CLOCK_REALTIME>, "monotonic_ns":
 *      <CLOCK_MONOTONIC>, "method": "POST", "path": "/x", "version": "HTTP/1.1",
 *      "headers": {"ce-id": "1", ...}, "body": "<text>" or null,
 *      "body_base64": "<every byte>", "answer": {"status": 200, "retry_after": null,
 *      "delay_ms": 0} or {"hang": true}}
 *
 * Header names are lowercased (HTTP/1.1 names are case-insensitive) and
 * values are as sent, without the blanks around them (not part of a value
 * in HTTP); a header sent twice is joined with ", ".  body is the body as a
 * string when it is valid UTF-8, else null; body_base64 always holds it byte
 * for byte.  "conn" numbers connections, so a test can see keep-alive reuse.
 *
 * HTTP/1.1 with keep-alive (and pipelining), bodies by Content-Length or
 * chunked, Expect: 100-continue.  Requests are parsed by picohttpparser,
 * which libh2o (already a dependency) exports; its header is not installed
 * with libh2o-dev, so its few prototypes are declared here.  Answers are
 * written by hand: they are a status line and three headers.
 *
 * SIGTERM or SIGINT closes every handle and connection; the exit status is
 * 0 only when uv_loop_close() succeeds, so a leak of a handle is seen.
 * Bad flags exit 2, a listener that cannot bind exits 1.
 *
 * One sink per process, so its state is one static struct.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/net.h"

/* picohttpparser, as libh2o exports it. */
struct phr_header {
    const char *name; /* NULL on a continuation line */
    size_t name_len;
    const char *value;
    size_t value_len;
};

int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      struct phr_header *headers, size_t *num_headers, size_t last_len);

/* Zero-filled before use.  Later picohttpparser versions append fields,
 * so it is always used inside struct chunked_decoder, which leaves room. */
struct phr_chunked_decoder {
    size_t bytes_left_in_chunk;
    char consume_trailer;
    char hex_count;
    char state;
};

ssize_t phr_decode_chunked(struct phr_chunked_decoder *decoder, char *buf, size_t *bufsz);

union chunked_decoder {
    struct phr_chunked_decoder phr;
    char room[128];
};

#define MAX_HEADERS 128
#define MAX_HEAD_BYTES (64 * 1024)
#define MAX_BODY_BYTES (64 * 1024 * 1024)
/* A hung connection is still read (to see it close); past this it is dropped. */
#define MAX_BUFFERED_BYTES (2 * MAX_BODY_BYTES)
#define READ_CHUNK (64 * 1024)
#define MAX_DELAY_MS 3600000
#define CONTROL_PREFIX "/_sink/"

struct mode {
    int status;
    char retry_after[64]; /* the Retry-After value; "" for none */
    bool hang, refuse;
    json_int_t delay_ms;
    json_int_t fail_first; /* 500s still to give */
};

struct stats {
    uint64_t requests, connections, refused, hanging;
    uint64_t by_status[600];
};

struct conn {
    uv_tcp_t tcp;        /* data: this conn */
    uv_timer_t delay;    /* holds back an answer by delay_ms */
    struct conn *prev, *next;
    uint64_t id;
    bool control;        /* accepted on the control port: never refused */
    int open_handles;    /* tcp and delay; the conn is freed when both are closed */
    struct vane_buf in;  /* received and not yet consumed */
    struct vane_buf held; /* the answer the delay holds back */
    int held_status;
    bool waiting;        /* an answer is held back or never comes: read no more requests */
    bool hung;
    bool close_after;    /* close once the answer is written */
    bool continue_sent;  /* "100 Continue" already sent for the request being read */
};

struct request {
    const char *method, *path;
    size_t method_len, path_len;
    int minor_version;
    struct phr_header headers[MAX_HEADERS];
    size_t header_count;
    bool head_parsed, keep_alive, expects_continue;
    const char *body;
    size_t body_len;
    size_t consumed;          /* bytes of conn->in the request takes */
    struct vane_buf decoded;  /* a chunked body */
    int error_status;         /* when parsing fails */
    const char *error;
};

enum parse_result { PARSE_DONE, PARSE_INCOMPLETE, PARSE_BAD };

/* What a delivery is answered. */
struct plan {
    bool hang;
    int status;
    const char *retry_after; /* NULL: none */
    json_int_t delay_ms;
};

struct write_req {
    uv_write_t req;
    struct conn *conn;
    char *data;
    bool closes;
};

static struct {
    uv_loop_t loop;
    uv_tcp_t listener, control_listener;
    uv_signal_t sigterm, sigint;
    struct conn *conns;
    struct mode mode;
    struct stats stats;
    int record_fd; /* -1: no --record */
    uint64_t next_conn_id, next_seq;
    bool stopping;
} sink;

static const struct mode default_mode = {.status = 200};

/* ---- the mode ---------------------------------------------------------- */

static int fail(char *err, size_t size, const char *fmt, const char *key)
{
    snprintf(err, size, fmt, key);
    return -EINVAL;
}

static int get_int(json_t *value, const char *key, json_int_t min, json_int_t max,
                   json_int_t *out, char *err, size_t size)
{
    if (!json_is_integer(value) || json_integer_value(value) < min ||
        json_integer_value(value) > max) {
        snprintf(err, size, "%s: expected an integer from %lld to %lld", key, (long long)min,
                 (long long)max);
        return -EINVAL;
    }
    *out = json_integer_value(value);
    return 0;
}

static int get_bool(json_t *value, const char *key, bool *out, char *err, size_t size)
{
    if (!json_is_boolean(value))
        return fail(err, size, "%s: expected true or false", key);
    *out = json_is_true(value);
    return 0;
}

/* Seconds (an integer) or an HTTP date (a string), sent as given. */
static int get_retry_after(json_t *value, struct mode *m, char *err, size_t size)
{
    const char *text = json_string_value(value);

    if (json_is_integer(value) && json_integer_value(value) >= 0) {
        snprintf(m->retry_after, sizeof(m->retry_after), "%lld",
                 (long long)json_integer_value(value));
        return 0;
    }
    if (text != NULL && *text != '\0' && strlen(text) < sizeof(m->retry_after) &&
        strpbrk(text, "\r\n") == NULL) {
        strcpy(m->retry_after, text);
        return 0;
    }
    return fail(err, size,
                "%s: expected seconds (a non-negative integer) or an HTTP date (a string of "
                "one line, under 64 bytes)",
                "retry_after");
}

static int mode_field(const char *key, json_t *value, struct mode *m, char *err, size_t size)
{
    json_int_t status;
    int rc;

    if (strcmp(key, "status") == 0) {
        if ((rc = get_int(value, key, 200, 599, &status, err, size)) == 0)
            m->status = (int)status;
        return rc;
    }
    if (strcmp(key, "retry_after") == 0)
        return get_retry_after(value, m, err, size);
    if (strcmp(key, "hang") == 0)
        return get_bool(value, key, &m->hang, err, size);
    if (strcmp(key, "refuse") == 0)
        return get_bool(value, key, &m->refuse, err, size);
    if (strcmp(key, "delay_ms") == 0)
        return get_int(value, key, 0, MAX_DELAY_MS, &m->delay_ms, err, size);
    if (strcmp(key, "fail_first") == 0)
        return get_int(value, key, 0, INT32_MAX, &m->fail_first, err, size);
    return fail(err, size,
                "%s: unknown field (expected status, retry_after, hang, delay_ms, refuse or "
                "fail_first)",
                key);
}

/* Reads a whole mode from obj; fields left out take their defaults. */
static int mode_parse(json_t *obj, struct mode *m, char *err, size_t size)
{
    const char *key;
    json_t *value;
    int rc;

    *m = default_mode;
    if (!json_is_object(obj))
        return fail(err, size, "%s: expected a JSON object", "the mode");
    json_object_foreach(obj, key, value)
        if ((rc = mode_field(key, value, m, err, size)) != 0)
            return rc;
    return 0;
}

static json_t *mode_json(const struct mode *m)
{
    return json_pack("{s:i, s:o, s:b, s:I, s:b, s:I}", "status", m->status, "retry_after",
                     m->retry_after[0] ? json_string(m->retry_after) : json_null(), "hang",
                     m->hang, "delay_ms", m->delay_ms, "refuse", m->refuse, "fail_first",
                     m->fail_first);
}

static json_t *stats_json(const struct stats *s)
{
    json_t *by_status = json_object();
    char key[8];

    for (int status = 0; status < 600; status++) {
        if (s->by_status[status] == 0)
            continue;
        snprintf(key, sizeof(key), "%d", status);
        json_object_set_new(by_status, key, json_integer((json_int_t)s->by_status[status]));
    }
    return json_pack("{s:I, s:o, s:I, s:I, s:I}", "requests", (json_int_t)s->requests,
                     "by_status", by_status, "connections", (json_int_t)s->connections,
                     "refused", (json_int_t)s->refused, "hanging", (json_int_t)s->hanging);
}

/* ---- connections ------------------------------------------------------- */

static void conn_handle_closed(uv_handle_t *handle)
{
    struct conn *conn = handle->data;

    if (--conn->open_handles > 0)
        return;
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        sink.conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    vane_buf_free(&conn->in);
    vane_buf_free(&conn->held);
    vane_free(conn);
}

/* Closes conn: with a reset (RST) when reset, else an orderly close. */
static void conn_close(struct conn *conn, bool reset)
{
    if (uv_is_closing((uv_handle_t *)&conn->tcp))
        return;
    if (conn->hung) {
        conn->hung = false;
        sink.stats.hanging--;
    }
    uv_close((uv_handle_t *)&conn->delay, conn_handle_closed);
    if (!reset || uv_tcp_close_reset(&conn->tcp, conn_handle_closed) != 0)
        uv_close((uv_handle_t *)&conn->tcp, conn_handle_closed);
}

static void on_written(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;

    if (status != 0 || w->closes)
        conn_close(w->conn, false);
    vane_free(w->data);
    vane_free(w);
}

/* Sends out's bytes (taking them) and closes conn after them when closes. */
static void conn_send(struct conn *conn, struct vane_buf *out, bool closes)
{
    struct write_req *w = VANE_NEW(w);
    uv_buf_t buf;

    w->conn = conn;
    w->closes = closes;
    buf.len = out->len;
    w->data = vane_buf_detach(out);
    buf.base = w->data;
    if (uv_write(&w->req, (uv_stream_t *)&conn->tcp, &buf, 1, on_written) != 0) {
        conn_close(conn, false);
        vane_free(w->data);
        vane_free(w);
    }
}

static const char *reason(int status)
{
    static const struct {
        int status;
        const char *text;
    } reasons[] = {
        {200, "OK"},          {201, "Created"},           {202, "Accepted"},
        {204, "No Content"},  {400, "Bad Request"},       {401, "Unauthorized"},
        {403, "Forbidden"},   {404, "Not Found"},         {405, "Method Not Allowed"},
        {408, "Request Timeout"}, {413, "Content Too Large"}, {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},          {500, "Internal Server Error"},
        {501, "Not Implemented"}, {502, "Bad Gateway"},   {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };

    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].text;
    return "Status";
}

/* Writes a whole answer with a JSON body into out. */
static void format_answer(struct vane_buf *out, int status, const char *retry_after,
                          bool closes, const char *json_body)
{
    vane_buf_appendf(out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n", status,
                     reason(status));
    vane_buf_appendf(out, "Content-Length: %zu\r\n", strlen(json_body));
    if (retry_after != NULL)
        vane_buf_appendf(out, "Retry-After: %s\r\n", retry_after);
    if (closes)
        vane_buf_append_str(out, "Connection: close\r\n");
    vane_buf_append_str(out, "\r\n");
    vane_buf_append_str(out, json_body);
}

/* Answers a control request (or a request that did not parse) at once. */
static void send_json(struct conn *conn, int status, json_t *body)
{
    struct vane_buf out = VANE_BUF_INIT;
    char *text = json_dumps(body, JSON_COMPACT);

    format_answer(&out, status, NULL, conn->close_after, text);
    conn_send(conn, &out, conn->close_after);
    free(text);
    json_decref(body);
}

static void send_error(struct conn *conn, int status, const char *message)
{
    send_json(conn, status, json_pack("{s:s}", "error", message));
}

/* ---- parsing ----------------------------------------------------------- */

static const struct phr_header *find_header(const struct request *req, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < req->header_count; i++)
        if (req->headers[i].name != NULL && req->headers[i].name_len == len &&
            strncasecmp(req->headers[i].name, name, len) == 0)
            return &req->headers[i];
    return NULL;
}

/* Whether the comma-separated value of header name holds token (any case). */
static bool header_has_token(const struct request *req, const char *name, const char *token)
{
    const struct phr_header *h = find_header(req, name);
    size_t token_len = strlen(token);
    const char *p, *end;

    if (h == NULL)
        return false;
    for (p = h->value, end = h->value + h->value_len; p < end;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma ? comma : end;

        while (p < item_end && (*p == ' ' || *p == '\t'))
            p++;
        while (item_end > p && (item_end[-1] == ' ' || item_end[-1] == '\t'))
            item_end--;
        if ((size_t)(item_end - p) == token_len && strncasecmp(p, token, token_len) == 0)
            return true;
        p = comma ? comma + 1 : end;
    }
    return false;
}

static enum parse_result bad(struct request *req, int status, const char *error)
{
    req->error_status = status;
    req->error = error;
    return PARSE_BAD;
}

static bool parse_length(const char *text, size_t len, uint64_t *out)
{
    uint64_t n = 0;

    if (len == 0 || len > 15)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        n = n * 10 + (uint64_t)(text[i] - '0');
    }
    *out = n;
    return true;
}

static enum parse_result parse_sized_body(const struct conn *conn, struct request *req,
                                          size_t head)
{
    const struct phr_header *h = find_header(req, "content-length");
    uint64_t len = 0;

    if (h != NULL && !parse_length(h->value, h->value_len, &len))
        return bad(req, 400, "content-length: expected a non-negative integer");
    if (len > MAX_BODY_BYTES)
        return bad(req, 413, "the body is over the sink's limit of 64 MiB");
    if (conn->in.len - head < len)
        return PARSE_INCOMPLETE;
    req->body = conn->in.data + head;
    req->body_len = (size_t)len;
    req->consumed = head + (size_t)len;
    return PARSE_DONE;
}

/* Decodes the chunked body from the start each time more arrives: simple,
 * and quadratic only for bodies far larger than the tests send. */
static enum parse_result parse_chunked_body(const struct conn *conn, struct request *req,
                                            size_t head)
{
    union chunked_decoder decoder;
    size_t size = conn->in.len - head;
    ssize_t left;

    memset(&decoder, 0, sizeof(decoder));
    decoder.phr.consume_trailer = 1;
    vane_buf_append(&req->decoded, conn->in.data + head, size);
    left = phr_decode_chunked(&decoder.phr, req->decoded.data, &size);
    if (left == -1)
        return bad(req, 400, "the chunked body is malformed");
    if (size > MAX_BODY_BYTES)
        return bad(req, 413, "the body is over the sink's limit of 64 MiB");
    if (left == -2)
        return PARSE_INCOMPLETE;
    req->body = req->decoded.data;
    req->body_len = size;
    req->consumed = conn->in.len - (size_t)left;
    return PARSE_DONE;
}

/* Parses the request at the start of conn->in; req points into it. */
static enum parse_result parse_request(const struct conn *conn, struct request *req)
{
    int head;

    req->header_count = MAX_HEADERS;
    head = phr_parse_request(conn->in.data, conn->in.len, &req->method, &req->method_len,
                             &req->path, &req->path_len, &req->minor_version, req->headers,
                             &req->header_count, 0);
    if (head == -2)
        return conn->in.len > MAX_HEAD_BYTES
                   ? bad(req, 431, "the request head is over the sink's limit of 64 KiB")
                   : PARSE_INCOMPLETE;
    if (head < 0)
        return bad(req, 400, "the request is not HTTP/1.x");
    req->head_parsed = true;
    req->keep_alive = req->minor_version >= 1 ? !header_has_token(req, "connection", "close")
                                              : header_has_token(req, "connection", "keep-alive");
    req->expects_continue = header_has_token(req, "expect", "100-continue");
    if (find_header(req, "transfer-encoding") == NULL)
        return parse_sized_body(conn, req, (size_t)head);
    if (!header_has_token(req, "transfer-encoding", "chunked"))
        return bad(req, 501, "transfer-encoding: only chunked is understood");
    return parse_chunked_body(conn, req, (size_t)head);
}

/* ---- recording --------------------------------------------------------- */

/* A JSON string of bytes that should be text; bytes that are not UTF-8 are
 * read as Latin-1, so a header is never lost. */
static json_t *text_json(const char *text, size_t len)
{
    json_t *s = json_stringn(text, len);
    struct vane_buf utf8 = VANE_BUF_INIT;

    if (s != NULL)
        return s;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        char two[2] = {(char)(0xc0 | (c >> 6)), (char)(0x80 | (c & 0x3f))};

        if (c < 0x80)
            vane_buf_append(&utf8, &text[i], 1);
        else
            vane_buf_append(&utf8, two, 2);
    }
    s = json_stringn(utf8.data ? utf8.data : "", utf8.len);
    vane_buf_free(&utf8);
    return s;
}

/* {lowercased name: value}; a name sent twice has its values joined with ", ".
 * Blanks after a value are not part of it (RFC 9110, 5.5); picohttpparser keeps them. */
static json_t *headers_json(const struct request *req)
{
    json_t *headers = json_object();

    for (size_t i = 0; i < req->header_count; i++) {
        const struct phr_header *h = &req->headers[i];
        size_t value_len = h->value_len;
        char *name;
        json_t *value, *before;

        if (h->name == NULL)
            continue; /* an obsolete folded line: picohttpparser keeps it apart */
        while (value_len > 0 && (h->value[value_len - 1] == ' ' || h->value[value_len - 1] == '\t'))
            value_len--;
        name = vane_strndup(h->name, h->name_len);
        for (char *c = name; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        value = text_json(h->value, value_len);
        if ((before = json_object_get(headers, name)) != NULL) {
            char *joined = vane_asprintf("%s, %s", json_string_value(before),
                                         json_string_value(value));
            json_decref(value);
            value = json_string(joined);
            vane_free(joined);
        }
        json_object_set_new(headers, name, value);
        vane_free(name);
    }
    return headers;
}

static json_t *base64_json(const char *bytes, size_t len)
{
    unsigned char *text = vane_malloc(4 * ((len + 2) / 3) + 1);
    json_t *s;

    EVP_EncodeBlock(text, (const unsigned char *)bytes, (int)len);
    s = json_string((char *)text);
    vane_free(text);
    return s;
}

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static json_t *plan_json(const struct plan *plan)
{
    if (plan->hang)
        return json_pack("{s:b}", "hang", 1);
    return json_pack("{s:i, s:o, s:I}", "status", plan->status, "retry_after",
                     plan->retry_after ? json_string(plan->retry_after) : json_null(),
                     "delay_ms", plan->delay_ms);
}

/* Appends the request as one line, with one write(2). */
static void record(const struct conn *conn, const struct request *req, const struct plan *plan)
{
    json_t *line, *body = json_stringn(req->body ? req->body : "", req->body_len);
    char *text;
    char version[16];

    if (sink.record_fd < 0)
        return;
    snprintf(version, sizeof(version), "HTTP/1.%d", req->minor_version);
    line = json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:s, s:o, s:o, s:o, s:o}",
                     "seq", (json_int_t)++sink.next_seq, "conn", (json_int_t)conn->id,
                     "received_ns", (json_int_t)clock_ns(CLOCK_REALTIME), "monotonic_ns",
                     (json_int_t)clock_ns(CLOCK_MONOTONIC), "method",
                     text_json(req->method, req->method_len), "path",
                     text_json(req->path, req->path_len), "version", version, "headers",
                     headers_json(req), "body", body ? body : json_null(), "body_base64",
                     base64_json(req->body, req->body_len), "answer", plan_json(plan));
    text = json_dumps(line, JSON_COMPACT);
    {
        size_t len = strlen(text);

        text[len] = '\n'; /* over the NUL: written by length */
        if (write(sink.record_fd, text, len + 1) != (ssize_t)(len + 1))
            fprintf(stderr, "sink: cannot append to the record file: %s\n", strerror(errno));
    }
    free(text);
    json_decref(line);
}

/* ---- answering --------------------------------------------------------- */

static struct plan plan_answer(void)
{
    struct plan plan = {.delay_ms = sink.mode.delay_ms};

    if (sink.mode.fail_first > 0) {
        sink.mode.fail_first--;
        plan.status = 500;
    } else if (sink.mode.hang) {
        plan.hang = true;
        return plan;
    } else {
        plan.status = sink.mode.status;
    }
    if ((plan.status < 200 || plan.status > 299) && sink.mode.retry_after[0] != '\0')
        plan.retry_after = sink.mode.retry_after;
    return plan;
}

static void send_held(struct conn *conn)
{
    sink.stats.by_status[conn->held_status]++;
    conn_send(conn, &conn->held, conn->close_after);
}

static void serve(struct conn *conn);

static void on_delay_done(uv_timer_t *timer)
{
    struct conn *conn = timer->data;

    conn->waiting = false;
    send_held(conn);
    serve(conn);
}

static void deliver(struct conn *conn, const struct request *req)
{
    struct plan plan = plan_answer();
    char body[32];

    sink.stats.requests++;
    record(conn, req, &plan);
    if (plan.hang) {
        conn->waiting = conn->hung = true;
        sink.stats.hanging++;
        return;
    }
    snprintf(body, sizeof(body), "{\"status\":%d}", plan.status);
    format_answer(&conn->held, plan.status, plan.retry_after, conn->close_after, body);
    conn->held_status = plan.status;
    if (plan.delay_ms == 0) {
        send_held(conn);
        return;
    }
    conn->waiting = true;
    uv_timer_start(&conn->delay, on_delay_done, (uint64_t)plan.delay_ms, 0);
}

/* Resets every delivery connection but current, which closes after its answer. */
static void refuse_open_connections(struct conn *current)
{
    for (struct conn *c = sink.conns; c != NULL; c = c->next) {
        if (c->control)
            continue;
        if (c == current) {
            c->close_after = true;
            continue;
        }
        if (!uv_is_closing((uv_handle_t *)&c->tcp))
            sink.stats.refused++;
        conn_close(c, true);
    }
}

static void set_mode(struct conn *conn, const struct request *req)
{
    json_error_t json_err;
    json_t *obj = json_loadb(req->body ? req->body : "", req->body_len, 0, &json_err);
    struct mode mode;
    char err[256];

    if (obj == NULL) {
        snprintf(err, sizeof(err), "the mode: expected a JSON object (%s)", json_err.text);
        send_error(conn, 400, err);
        return;
    }
    if (mode_parse(obj, &mode, err, sizeof(err)) != 0) {
        send_error(conn, 400, err);
    } else {
        sink.mode = mode;
        if (mode.refuse)
            refuse_open_connections(conn);
        send_json(conn, 200, mode_json(&sink.mode));
    }
    json_decref(obj);
}

static bool method_is(const struct request *req, const char *method)
{
    return req->method_len == strlen(method) && memcmp(req->method, method, req->method_len) == 0;
}

/* Whether the request's path, without its query, is path. */
static bool path_is(const struct request *req, const char *path)
{
    const char *query = memchr(req->path, '?', req->path_len);
    size_t len = query ? (size_t)(query - req->path) : req->path_len;

    return len == strlen(path) && memcmp(req->path, path, len) == 0;
}

/* The control endpoints. */
static void control(struct conn *conn, const struct request *req)
{
    if (path_is(req, CONTROL_PREFIX "mode") && method_is(req, "POST"))
        set_mode(conn, req);
    else if (path_is(req, CONTROL_PREFIX "mode") && method_is(req, "GET"))
        send_json(conn, 200, mode_json(&sink.mode));
    else if (path_is(req, CONTROL_PREFIX "stats") && method_is(req, "GET"))
        send_json(conn, 200, stats_json(&sink.stats));
    else
        send_error(conn, 404, "the control endpoints are POST or GET /_sink/mode and GET "
                              "/_sink/stats");
}

static bool is_control(const struct request *req)
{
    return req->path_len >= strlen(CONTROL_PREFIX) &&
           memcmp(req->path, CONTROL_PREFIX, strlen(CONTROL_PREFIX)) == 0;
}

static void consume(struct vane_buf *buf, size_t n)
{
    memmove(buf->data, buf->data + n, buf->len - n);
    buf->len -= n;
    buf->data[buf->len] = '\0';
}

/* Serves the requests buffered on conn, in order, until one must wait. */
static void serve(struct conn *conn)
{
    while (!conn->waiting && !conn->close_after && conn->in.len > 0 &&
           !uv_is_closing((uv_handle_t *)&conn->tcp)) {
        struct request req;
        enum parse_result result;

        memset(&req, 0, sizeof(req));
        result = parse_request(conn, &req);
        if (result == PARSE_INCOMPLETE && req.head_parsed && req.expects_continue &&
            !conn->continue_sent) {
            struct vane_buf out = VANE_BUF_INIT;

            vane_buf_append_str(&out, "HTTP/1.1 100 Continue\r\n\r\n");
            conn_send(conn, &out, false);
            conn->continue_sent = true;
        } else if (result == PARSE_BAD) {
            conn->close_after = true;
            send_error(conn, req.error_status, req.error);
        } else if (result == PARSE_DONE) {
            conn->continue_sent = false;
            conn->close_after = !req.keep_alive;
            if (is_control(&req))
                control(conn, &req);
            else
                deliver(conn, &req);
            consume(&conn->in, req.consumed);
        }
        vane_buf_free(&req.decoded);
        if (result != PARSE_DONE)
            break;
    }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle, (void)suggested;
    buf->base = vane_malloc(READ_CHUNK);
    buf->len = READ_CHUNK;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *conn = stream->data;

    if (nread > 0)
        vane_buf_append(&conn->in, buf->base, (size_t)nread);
    vane_free(buf->base);
    if (nread < 0 || conn->in.len > MAX_BUFFERED_BYTES)
        conn_close(conn, false);
    else if (nread > 0)
        serve(conn);
}

static struct conn *conn_new(bool control)
{
    struct conn *conn = VANE_NEW(conn);

    uv_tcp_init(&sink.loop, &conn->tcp);
    uv_timer_init(&sink.loop, &conn->delay);
    conn->tcp.data = conn->delay.data = conn;
    conn->open_handles = 2;
    conn->id = ++sink.next_conn_id;
    conn->control = control;
    conn->next = sink.conns;
    if (sink.conns != NULL)
        sink.conns->prev = conn;
    sink.conns = conn;
    return conn;
}

static void on_accept(uv_stream_t *listener, int status)
{
    bool control = listener == (uv_stream_t *)&sink.control_listener;
    struct conn *conn;

    if (status != 0) {
        fprintf(stderr, "sink: accept failed: %s\n", uv_strerror(status));
        return;
    }
    conn = conn_new(control);
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        conn_close(conn, false);
        return;
    }
    if (!control && sink.mode.refuse) {
        sink.stats.refused++;
        conn_close(conn, true);
        return;
    }
    if (!control)
        sink.stats.connections++;
    uv_tcp_nodelay(&conn->tcp, 1);
    uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
}

/* ---- start and stop ---------------------------------------------------- */

static void stop(void)
{
    if (sink.stopping)
        return;
    sink.stopping = true;
    uv_close((uv_handle_t *)&sink.listener, NULL);
    uv_close((uv_handle_t *)&sink.control_listener, NULL);
    uv_close((uv_handle_t *)&sink.sigterm, NULL);
    uv_close((uv_handle_t *)&sink.sigint, NULL);
    for (struct conn *c = sink.conns; c != NULL; c = c->next)
        conn_close(c, false);
}

static void on_signal(uv_signal_t *handle, int signum)
{
    (void)handle;
    fprintf(stderr, "sink: signal %d: stopping after %llu requests\n", signum,
            (unsigned long long)sink.stats.requests);
    stop();
}

/* Binds listener to addr and prints "sink WHAT on ADDRESS". */
static int listen_on(uv_tcp_t *listener, const struct sockaddr_storage *addr, const char *what)
{
    struct sockaddr_storage bound;
    int len = sizeof(bound), rc;
    char address[64];

    if ((rc = uv_tcp_bind(listener, (const struct sockaddr *)addr, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)listener, 128, on_accept)) != 0 ||
        (rc = uv_tcp_getsockname(listener, (struct sockaddr *)&bound, &len)) != 0) {
        fprintf(stderr, "sink: cannot listen for %s: %s\n", what, uv_strerror(rc));
        return rc;
    }
    vane_net_format_addr((struct sockaddr *)&bound, address, sizeof(address));
    printf("sink %s on %s\n", what, address);
    fflush(stdout);
    return 0;
}

static int start(const char *listen)
{
    struct sockaddr_storage addr;
    int rc;

    uv_tcp_init(&sink.loop, &sink.listener);
    uv_tcp_init(&sink.loop, &sink.control_listener);
    uv_signal_init(&sink.loop, &sink.sigterm);
    uv_signal_init(&sink.loop, &sink.sigint);
    if (vane_net_parse_addr(listen, &addr) != 0) {
        fprintf(stderr, "sink: --listen: expected a numeric host:port, not %s\n", listen);
        return UV_EINVAL;
    }
    if ((rc = listen_on(&sink.listener, &addr, "listening")) != 0)
        return rc;
    /* The control port: the same host, a free port. */
    if (addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&addr)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&addr)->sin6_port = 0;
    if ((rc = listen_on(&sink.control_listener, &addr, "control")) != 0)
        return rc;
    uv_signal_start(&sink.sigterm, on_signal, SIGTERM);
    uv_signal_start(&sink.sigint, on_signal, SIGINT);
    return 0;
}

static void usage(FILE *out)
{
    fputs("usage: sink-server [--record FILE] [--listen HOST:PORT] [--status N]\n"
          "                   [--retry-after SECONDS|DATE] [--hang] [--delay-ms N] [--refuse]\n"
          "                   [--fail-first N] [--mode JSON]\n",
          out);
}

/* A flag's value as JSON when it parses as JSON, else as a string. */
static json_t *flag_value(const char *text)
{
    json_t *value = json_loads(text, JSON_DECODE_ANY, NULL);

    return value ? value : json_string(text);
}

/* --mode JSON: its fields join (and override) those of the flags before it. */
static int merge_mode_flag(json_t *mode, const char *text)
{
    json_t *fields = json_loads(text, 0, NULL);
    int rc = 0;

    if (!json_is_object(fields)) {
        fprintf(stderr, "sink-server: --mode: expected a JSON object, not %s\n", text);
        rc = -EINVAL;
    } else {
        json_object_update(mode, fields);
    }
    json_decref(fields);
    return rc;
}

/* Reads the flags into the mode (through mode_parse), the record path and the
 * address.  Returns 0, 1 after --help, or -EINVAL (with a message). */
static int parse_flags(int argc, char **argv, const char **record_path, const char **listen)
{
    static const struct option options[] = {
        {"record", required_argument, NULL, 'r'},
        {"listen", required_argument, NULL, 'l'},
        {"status", required_argument, NULL, 's'},
        {"retry-after", required_argument, NULL, 'a'},
        {"hang", no_argument, NULL, 'h'},
        {"delay-ms", required_argument, NULL, 'd'},
        {"refuse", no_argument, NULL, 'x'},
        {"fail-first", required_argument, NULL, 'f'},
        {"mode", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    json_t *mode = json_object();
    char err[256];
    int opt, rc = 0;

    while (rc == 0 && (opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'r': *record_path = optarg; break;
        case 'l': *listen = optarg; break;
        case 's': json_object_set_new(mode, "status", flag_value(optarg)); break;
        case 'a': json_object_set_new(mode, "retry_after", flag_value(optarg)); break;
        case 'h': json_object_set_new(mode, "hang", json_true()); break;
        case 'd': json_object_set_new(mode, "delay_ms", flag_value(optarg)); break;
        case 'x': json_object_set_new(mode, "refuse", json_true()); break;
        case 'f': json_object_set_new(mode, "fail_first", flag_value(optarg)); break;
        case 'm': rc = merge_mode_flag(mode, optarg); break;
        case 'H': usage(stdout); rc = 1; break;
        default: usage(stderr); rc = -EINVAL; break;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "sink-server: unexpected argument %s\n", argv[optind]);
        rc = -EINVAL;
    }
    if (rc == 0 && (rc = mode_parse(mode, &sink.mode, err, sizeof(err))) != 0)
        fprintf(stderr, "sink-server: %s\n", err);
    json_decref(mode);
    return rc;
}

static int close_loop(void)
{
    int rc = uv_loop_close(&sink.loop);

    if (rc != 0) {
        fprintf(stderr, "sink: the loop did not close (%s); handles left:\n", uv_strerror(rc));
        uv_print_all_handles(&sink.loop, stderr);
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *record_path = NULL, *listen = "127.0.0.1:0";
    int rc;

    signal(SIGPIPE, SIG_IGN);
    sink.record_fd = -1;
    if ((rc = parse_flags(argc, argv, &record_path, &listen)) != 0)
        return rc == 1 ? 0 : 2;
    if (record_path != NULL &&
        (sink.record_fd = open(record_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        fprintf(stderr, "sink-server: --record %s: %s\n", record_path, strerror(errno));
        return 2;
    }
    uv_loop_init(&sink.loop);
    if ((rc = start(listen)) != 0)
        stop();
    uv_run(&sink.loop, UV_RUN_DEFAULT);
    if (close_loop() != 0 && rc == 0)
        rc = 1;
    if (sink.record_fd >= 0)
        close(sink.record_fd);
    return rc == 0 ? 0 : 1;
}
