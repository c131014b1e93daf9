/*
 * sink_http.c -- the sink-http connector: delivers each event to the
 * option "url" with libcurl, and acknowledges it by the answer.
 *
 * Modes (option "mode"): "binary" (the default) sends the CloudEvents HTTP
 * binding's binary mode -- attributes as ce-* headers, datacontenttype as
 * Content-Type, data as the body; "structured" sends the event as
 * application/cloudevents+json; "vanus" sends the request Vanus's HTTP sink
 * makes from the event's data (vanus.c).  Option "method" (POST), the
 * extra "headers" and "basic_auth" apply to every mode.
 *
 * The answer settles the delivery: 2xx acknowledges it; 408, 429, 5xx, a
 * connection failure or the option "timeout" passing ask for it again
 * later (VANE_ERETRY); any other answer (4xx, and 3xx: redirects are not
 * followed) makes it a dead letter with "HTTP <status>: <start of the
 * body>" as the reason, as does an event that cannot become a request
 * (mode vanus with data that is not its envelope).
 *
 * Threads.  The transfer is a blocking curl_easy_perform() run through the
 * host's thread pool (host->work), and the acknowledgement is given in the
 * work's "after" callback, back on the instance's loop.  The SDK gives a
 * plugin timers but no way to watch sockets, so driving a curl multi handle
 * from the loop would mean polling it on a timer; the thread pool costs a
 * thread per transfer in flight instead, and the engine already bounds
 * those by the connector's "concurrency".  Everything but the perform --
 * building the request, the pool of idle easy handles, acknowledging --
 * happens on the loop thread, so nothing here needs a lock.  An easy handle
 * keeps its connections when reused, so idle handles are kept (up to
 * IDLE_HANDLES) for keep-alive; CURLOPT_NOSIGNAL keeps curl's timeouts off
 * signals, which threads cannot share.
 *
 * Stopping with transfers in flight: fini marks the sink closing, and the
 * last transfer's "after" frees it without acknowledging (the instance is
 * gone; the engine hands unacknowledged events to another one).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <vane/plugin.h>

#include "../common/event_format.h"
#include "../common/strbuf.h"
#include "outgoing.h"

#define IDLE_HANDLES 16
#define REPLY_KEPT 200 /* bytes of an answer's body quoted in a dead letter's reason */

enum sink_mode { MODE_BINARY, MODE_STRUCTURED, MODE_VANUS };

struct sink_http {
    const struct vane_host *host;
    struct vane_instance *self;
    enum sink_mode mode;
    const char *url, *method; /* the instance's option strings */
    CURLU *base_url;          /* url, parsed */
    json_t *headers;          /* the option "headers", checked; NULL: none */
    const char *basic_auth;   /* "user:password" or NULL */
    long timeout_ms;
    CURL *idle[IDLE_HANDLES];
    size_t idle_count;
    size_t inflight;
    bool closing;
};

struct transfer {
    struct sink_http *sink;
    struct vane_delivery *delivery;
    CURL *easy;
    struct outgoing request;
    struct curl_slist *header_list;
    /* filled by the worker thread */
    CURLcode result;
    long status;
    char error[CURL_ERROR_SIZE];
    struct strbuf reply; /* the answer's first REPLY_KEPT bytes */
};

static const struct vane_option options[] = {
    {"url", VANE_OPTION_STRING, NULL, VANE_OPTION_REQUIRED,
     "The http:// or https:// URL every event is sent to."},
    {"mode", VANE_OPTION_STRING, "\"binary\"", 0,
     "\"binary\" (CloudEvents binary mode), \"structured\" (application/cloudevents+json) or "
     "\"vanus\" (the request Vanus's HTTP sink makes from the event's data)."},
    {"method", VANE_OPTION_STRING, "\"POST\"", 0, "The HTTP method of every request."},
    {"headers", VANE_OPTION_OBJECT, NULL, 0,
     "Extra request headers, an object of names to string values; they replace headers of the "
     "same name the mode sets."},
    {"basic_auth", VANE_OPTION_STRING, NULL, VANE_OPTION_SECRET,
     "\"user:password\" for HTTP basic authentication."},
    {"timeout", VANE_OPTION_DURATION, "\"5s\"", 0,
     "How long one request may take, connecting included, before it is retried."},
    VANE_OPTIONS_END,
};

/* ---- options ------------------------------------------------------------- */

static int bad_option(struct sink_http *s, const char *name, const char *expected, const char *got)
{
    s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "option %s: expected %s; got \"%s\"", name,
                 expected, got);
    return VANE_EINVAL;
}

static int parse_mode(struct sink_http *s)
{
    static const char *const names[] = {"binary", "structured", "vanus"}; /* enum sink_mode */
    const char *mode = s->host->option_string(s->self, "mode");

    s->mode = MODE_BINARY;
    for (int i = 0; mode != NULL && i < 3; i++)
        if (strcmp(mode, names[i]) == 0) {
            s->mode = (enum sink_mode)i;
            return 0;
        }
    return mode == NULL ? 0 : bad_option(s, "mode", "\"binary\", \"structured\" or \"vanus\"",
                                         mode);
}

static int parse_url(struct sink_http *s)
{
    char *scheme = NULL;
    int rc = 0;

    s->url = s->host->option_string(s->self, "url");
    s->base_url = curl_url();
    if (s->url == NULL ||
        curl_url_set(s->base_url, CURLUPART_URL, s->url, 0) != CURLUE_OK ||
        curl_url_get(s->base_url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        rc = bad_option(s, "url", "an http:// or https:// URL", s->url != NULL ? s->url : "");
    curl_free(scheme);
    return rc;
}

static int parse_headers(struct sink_http *s)
{
    const char *text = s->host->option_string(s->self, "headers");
    struct outgoing probe;
    json_error_t error;
    const char *name;
    json_t *value;
    int rc = 0;

    if (text == NULL)
        return 0;
    s->headers = json_loads(text, 0, &error);
    if (!json_is_object(s->headers))
        return bad_option(s, "headers", "an object of header names to string values", text);
    outgoing_init(&probe);
    json_object_foreach(s->headers, name, value)
        if (rc == 0 && (!json_is_string(value) ||
                        outgoing_header(&probe, name, strlen(name), json_string_value(value),
                                        json_string_length(value)) != 0))
            rc = bad_option(s, "headers", "header names (HTTP tokens) with string values on "
                            "one line", name);
    outgoing_free(&probe);
    return rc;
}

static int parse_options(struct sink_http *s)
{
    int rc = parse_mode(s);

    if (rc == 0)
        rc = parse_url(s);
    if (rc == 0)
        rc = parse_headers(s);
    s->method = s->host->option_string(s->self, "method");
    if (rc == 0 && (s->method == NULL || !outgoing_is_token(s->method, strlen(s->method))))
        rc = bad_option(s, "method", "an HTTP method such as \"POST\"",
                        s->method != NULL ? s->method : "");
    s->basic_auth = s->host->option_string(s->self, "basic_auth");
    if (rc == 0 && s->basic_auth != NULL && strchr(s->basic_auth, ':') == NULL)
        rc = bad_option(s, "basic_auth", "\"user:password\"", "(secret, without a ':')");
    s->timeout_ms = (long)s->host->option_int(s->self, "timeout");
    if (rc == 0 && s->timeout_ms <= 0)
        rc = bad_option(s, "timeout", "a duration above zero such as \"5s\"", "0");
    return rc;
}

static void sink_free(struct sink_http *s)
{
    for (size_t i = 0; i < s->idle_count; i++)
        curl_easy_cleanup(s->idle[i]);
    curl_url_cleanup(s->base_url);
    json_decref(s->headers);
    free(s);
    curl_global_cleanup();
}

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    struct sink_http *s;
    int rc;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        host->log(self, VANE_PLUGIN_LOG_ERROR, "libcurl failed to initialize");
        return -ENOMEM;
    }
    s = strbuf_xcalloc(1, sizeof(*s));
    s->host = host;
    s->self = self;
    rc = parse_options(s);
    if (rc != 0) {
        sink_free(s);
        return rc;
    }
    *state = s;
    return 0;
}

static void fini(void *state)
{
    struct sink_http *s = state;

    s->closing = true;
    if (s->inflight == 0)
        sink_free(s);
}

/* ---- building the request ------------------------------------------------- */

/* Binary mode: ce-<name> headers with percent-encoded values (spec: HTTP binding 3.1.3.2). */
static void binary_headers(struct sink_http *s, const struct vane_event *ev,
                           struct outgoing *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t count = s->host->event_attr_count(ev);
    struct strbuf name = STRBUF_INIT, text = STRBUF_INIT, encoded = STRBUF_INIT;

    for (size_t i = 0; i < count; i++) {
        const char *attr;
        size_t attr_len;
        struct vane_value value;

        if (s->host->event_attr_at(ev, i, &attr, &attr_len, &value) != 1)
            continue;
        strbuf_reset(&text);
        event_format_value(&value, &text);
        if (attr_len == 15 && memcmp(attr, "datacontenttype", 15) == 0) {
            outgoing_header(out, "Content-Type", 12, text.data, text.len);
            continue;
        }
        strbuf_reset(&encoded);
        for (size_t j = 0; j < text.len; j++) {
            unsigned char c = (unsigned char)text.data[j];
            char escaped[3] = {'%', hex[c >> 4], hex[c & 15]};

            if (c >= 0x21 && c <= 0x7e && c != '"' && c != '%')
                strbuf_append(&encoded, &text.data[j], 1);
            else
                strbuf_append(&encoded, escaped, 3);
        }
        strbuf_reset(&name);
        strbuf_appendf(&name, "ce-%.*s", (int)attr_len, attr);
        outgoing_header(out, name.data, name.len, encoded.data, encoded.len);
    }
    strbuf_free(&name);
    strbuf_free(&text);
    strbuf_free(&encoded);
}

static void binary_body(struct sink_http *s, const struct vane_event *ev, struct outgoing *out)
{
    const char *bytes;
    size_t len;

    if (s->host->event_data(ev, &bytes, &len) == 1)
        strbuf_append(&out->body, bytes, len);
}

/* Fills out for ev by the mode; 0, or -EINVAL with err saying why the event cannot be sent. */
static int build_request(struct sink_http *s, const struct vane_event *ev, struct outgoing *out,
                         struct strbuf *err)
{
    switch (s->mode) {
    case MODE_VANUS:
        return vanus_build(s->host, ev, s->base_url, s->headers, out, err);
    case MODE_STRUCTURED:
        outgoing_header(out, "Content-Type", 12, "application/cloudevents+json", 28);
        event_format_json(s->host, ev, &out->body);
        break;
    case MODE_BINARY:
        binary_headers(s, ev, out);
        binary_body(s, ev, out);
        break;
    }
    if (s->headers != NULL)
        outgoing_headers_from(out, s->headers);
    return 0;
}

/* ---- the transfer ---------------------------------------------------------- */

static size_t keep_reply(char *bytes, size_t size, size_t count, void *arg)
{
    struct strbuf *reply = arg;
    size_t len = size * count;

    if (reply->len < REPLY_KEPT)
        strbuf_append(reply, bytes, len < REPLY_KEPT - reply->len ? len : REPLY_KEPT - reply->len);
    return len;
}

static CURL *take_handle(struct sink_http *s)
{
    CURL *easy;

    if (s->idle_count > 0) {
        easy = s->idle[--s->idle_count];
        curl_easy_reset(easy);
        return easy;
    }
    return curl_easy_init();
}

static void give_back_handle(struct sink_http *s, CURL *easy)
{
    if (s->idle_count < IDLE_HANDLES && !s->closing)
        s->idle[s->idle_count++] = easy;
    else
        curl_easy_cleanup(easy);
}

/* The method and body: curl's own GET and HEAD when there is no body to send. */
static void set_method(CURL *easy, const char *method, const struct strbuf *body)
{
    if (strcmp(method, "GET") == 0 && body->len == 0) {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(method, "HEAD") == 0 && body->len == 0) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        return;
    }
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body->data != NULL ? body->data : "");
    if (strcmp(method, "POST") != 0)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
}

static void prepare(struct sink_http *s, struct transfer *t)
{
    CURL *easy = t->easy;
    struct outgoing *req = &t->request;

    /* curl adds these unless told not to: a form Content-Type and Expect: 100-continue. */
    if (json_object_get(req->headers, "content-type") == NULL)
        json_object_set_new(req->headers, "content-type", json_string("Content-Type:"));
    if (json_object_get(req->headers, "expect") == NULL)
        json_object_set_new(req->headers, "expect", json_string("Expect:"));
    t->header_list = outgoing_header_list(req);
    curl_easy_setopt(easy, CURLOPT_URL, req->url != NULL ? req->url : s->url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->header_list);
    set_method(easy, req->method != NULL ? req->method : s->method, &req->body);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "vane-sink-http/1.0");
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_reply);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t->reply);
    if (s->basic_auth != NULL) {
        curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(easy, CURLOPT_USERPWD, s->basic_auth);
    }
}

/* On a thread of the pool. */
static void perform(void *arg)
{
    struct transfer *t = arg;

    t->result = curl_easy_perform(t->easy);
    if (t->result == CURLE_OK)
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
}

/* "HTTP 404: <body start>" with the body's line breaks and control bytes as spaces. */
static void describe_answer(const struct transfer *t, struct strbuf *reason)
{
    strbuf_appendf(reason, "HTTP %ld", t->status);
    if (t->reply.len == 0)
        return;
    strbuf_append(reason, ": ", 2);
    for (size_t i = 0; i < t->reply.len; i++) {
        char c = t->reply.data[i];

        strbuf_append(reason, (unsigned char)c < 0x20 || c == 0x7f ? " " : &c, 1);
    }
}

/* The delivery's status by the transfer's outcome, with the reason in reason. */
static int settle_status(const struct transfer *t, struct strbuf *reason)
{
    if (t->result != CURLE_OK) {
        strbuf_append_str(reason, t->error[0] != '\0' ? t->error : curl_easy_strerror(t->result));
        return VANE_ERETRY;
    }
    if (t->status >= 200 && t->status <= 299)
        return 0;
    describe_answer(t, reason);
    if (t->status == 408 || t->status == 429 || t->status >= 500)
        return VANE_ERETRY;
    return VANE_EINVAL;
}

static void transfer_free(struct transfer *t)
{
    curl_slist_free_all(t->header_list);
    outgoing_free(&t->request);
    strbuf_free(&t->reply);
    free(t);
}

/* Back on the loop. */
static void finish(void *arg)
{
    struct transfer *t = arg;
    struct sink_http *s = t->sink;
    struct strbuf reason = STRBUF_INIT;
    int status = settle_status(t, &reason);

    give_back_handle(s, t->easy);
    if (!s->closing) {
        if (status != 0)
            s->host->log(s->self, VANE_PLUGIN_LOG_DEBUG, "%s: %s", status == VANE_ERETRY ? "retry" :
                         "dead letter", reason.data);
        s->host->ack(t->delivery, status, status != 0 ? reason.data : NULL);
    }
    strbuf_free(&reason);
    transfer_free(t);
    if (--s->inflight == 0 && s->closing)
        sink_free(s);
}

static int deliver(void *state, const struct vane_event *ev, struct vane_delivery *d)
{
    struct sink_http *s = state;
    struct transfer *t = strbuf_xcalloc(1, sizeof(*t));
    struct strbuf err = STRBUF_INIT;
    int rc;

    t->sink = s;
    t->delivery = d;
    outgoing_init(&t->request);
    if (build_request(s, ev, &t->request, &err) != 0) {
        s->host->ack(d, VANE_EINVAL, err.data);
        strbuf_free(&err);
        transfer_free(t);
        return 0;
    }
    t->easy = take_handle(s);
    if (t->easy == NULL) {
        transfer_free(t);
        s->host->ack(d, VANE_ERETRY, "libcurl could not make a transfer (out of memory?)");
        return 0;
    }
    prepare(s, t);
    rc = s->host->work(s->self, perform, finish, t);
    if (rc != 0) {
        give_back_handle(s, t->easy);
        transfer_free(t);
        s->host->ack(d, VANE_ERETRY, "the thread pool refused the transfer");
        return 0;
    }
    s->inflight++;
    return 0;
}

VANE_PLUGIN_DECLARE(.name = "sink-http", .version = "1.0.0", .kind = VANE_PLUGIN_SINK,
                    .description = "Delivers each event to an HTTP endpoint: CloudEvents binary or "
                                   "structured mode, or Vanus's HTTP sink request.",
                    .options = options, .init = init, .fini = fini, .deliver = deliver);
