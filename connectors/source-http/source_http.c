/*
 * source_http.c -- the source-http connector: a webhook receiver.  The
 * broker mounts it at /connectors/{name}; each request becomes events on
 * the connector's eventbus.
 *
 * A request that is a CloudEvents HTTP message (binary, structured or batch
 * mode) gives its events as they are (host->http_events).  Any other
 * request with a JSON body (Content-Type application/json or *+json, or
 * none) gives one event: id a random UUID v4 (or the value of the request
 * header named by option "id_header", so a webhook sent again is recognized
 * by the broker's idempotency window), source option "source" (default
 * "/connectors/<instance name>"), type option "type", time when it was
 * received, datacontenttype application/json, data the body byte for byte,
 * and the extension
 * "httpmethod" (the request's method) -- plus "httppath" when the request
 * went to a path below the mount (/connectors/{name}/github -> "/github").
 * A body of another content type is refused with 415, or, with option
 * "non_json" "bytes", becomes such an event with that content type.
 *
 * The answer waits for the events: once every emitted event's callback
 * says it is durable, 202 with {"events": [{"id", "eventlog", "offset"}]}
 * in request order; if any was refused, 503 with Retry-After: 1 (nothing
 * is lost by answering late: the client sends the request again, and the
 * stable ids of CloudEvents and of id_header make the repeat harmless).
 * Bad input gets 400, a method not in option "methods" 405 with Allow, both
 * with the broker's error body {"error": {"status", "message", "field"}}.
 *
 * Every callback runs on the instance's loop; a request's state lives
 * from http() until its answer is sent.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <jansson.h>
#include <vane/plugin.h>

#include "../common/event_format.h"
#include "../common/http_answer.h"
#include "../common/strbuf.h"

struct source_http {
    const struct vane_host *host;
    struct vane_instance *self;
    char *source;             /* the source attribute of events made here */
    const char *type;         /* their type */
    const char *id_header;    /* a header name (any case), or NULL */
    bool non_json_bytes;      /* non_json "bytes" rather than "reject" */
    struct strbuf allow;      /* "POST, PUT": the methods, for 405's Allow */
};

/* One request, from http() to its answer. */
struct request {
    struct source_http *source;
    struct vane_http_reply *reply;
    size_t count;     /* events emitted */
    size_t pending;   /* of those, callbacks not yet come */
    bool failed;      /* an emit was refused */
    char failure[160];
    struct emitted {
        struct request *request;
        char *id;
        uint64_t eventlog, offset;
    } *events;
};

static const struct vane_option options[] = {
    {"source", VANE_OPTION_STRING, NULL, 0,
     "The source attribute of events made from plain JSON requests; \"/connectors/<name>\" "
     "when unset."},
    {"type", VANE_OPTION_STRING, "\"vane.http.request\"", 0,
     "The type attribute of events made from plain JSON requests."},
    {"methods", VANE_OPTION_LIST, "[\"POST\"]", 0,
     "The HTTP methods accepted; others are answered 405."},
    {"id_header", VANE_OPTION_STRING, NULL, 0,
     "A request header whose value becomes the event id (such as x-github-delivery), so a "
     "request sent again is recognized as the same event; a random UUID when unset or absent."},
    {"non_json", VANE_OPTION_STRING, "\"reject\"", 0,
     "What a body that is not JSON gets: \"reject\" (415) or \"bytes\" (an event with the "
     "request's Content-Type and the body as data)."},
    VANE_OPTIONS_END,
};

/* ---- answers ---------------------------------------------------------------- */

/* 202 {"events": [{"id", "eventlog", "offset"}]}, in request order. */
static void reply_accepted(struct request *q)
{
    json_t *events = json_array();

    for (size_t i = 0; i < q->count; i++)
        json_array_append_new(events, json_pack("{s:s, s:I, s:I}", "id", q->events[i].id,
                                                "eventlog", (json_int_t)q->events[i].eventlog,
                                                "offset", (json_int_t)q->events[i].offset));
    http_answer_json(q->source->host, q->reply, 202, json_pack("{s:o}", "events", events), NULL);
}

static void request_free(struct request *q)
{
    for (size_t i = 0; i < q->count; i++)
        free(q->events[i].id);
    free(q->events);
    free(q);
}

/* Answers once the last callback has come (and every event is emitted). */
static void request_settle(struct request *q)
{
    if (q->pending > 0)
        return;
    if (q->failed)
        http_answer_error(q->source->host, q->reply, 503, NULL, q->failure, "Retry-After: 1");
    else
        reply_accepted(q);
    request_free(q);
}

/* ---- emitting ----------------------------------------------------------------- */

static void emitted(void *arg, int status, uint64_t eventlog, uint64_t offset)
{
    struct emitted *e = arg;
    struct request *q = e->request;

    e->eventlog = eventlog;
    e->offset = offset;
    if (status < 0 && !q->failed) {
        q->failed = true;
        snprintf(q->failure, sizeof(q->failure),
                 "event %s was not stored (error %d); send the request again", e->id, status);
    }
    q->pending--;
    request_settle(q);
}

/* Emits ev (the host's either way); a refusal fails the request.  q->events has room. */
static void request_emit(struct request *q, struct vane_event *ev)
{
    struct source_http *s = q->source;
    struct strbuf id = STRBUF_INIT;
    struct emitted *e;
    int rc;

    if (q->failed) {
        s->host->event_free(ev);
        return;
    }
    event_format_attr(s->host, ev, "id", &id);
    e = &q->events[q->count++];
    *e = (struct emitted){q, strbuf_detach(&id), 0, 0};
    q->pending++;
    rc = s->host->emit(s->self, ev, emitted, e);
    if (rc != 0) {
        q->pending--;
        q->failed = true;
        snprintf(q->failure, sizeof(q->failure), "the event could not be emitted (error %d); "
                 "send the request again", rc);
    }
}

/*
 * Each emit callback holds a pointer into the request's events array, so
 * that array must not move: the host's events are collected first, and
 * emitted once the array can be made at its final size (emit_all).
 */
struct collected {
    struct vane_event **events;
    size_t count, cap;
};

static void collect(void *arg, struct vane_event *ev)
{
    struct collected *c = arg;

    if (c->count == c->cap) {
        c->cap = c->cap > 0 ? c->cap * 2 : 4;
        c->events = realloc(c->events, c->cap * sizeof(*c->events));
        if (c->events == NULL)
            abort();
    }
    c->events[c->count++] = ev;
}

static void emit_all(struct request *q, struct vane_event **events, size_t count)
{
    q->events = strbuf_xcalloc(count, sizeof(*q->events));
    /* Hold the answer back until every event is handed over, even if the
     * host calls back at once. */
    q->pending++;
    for (size_t i = 0; i < count; i++)
        request_emit(q, events[i]);
    q->pending--;
    request_settle(q);
}

/* ---- making an event of a plain request --------------------------------------- */

static void uuid_v4(char out[37])
{
    unsigned char b[16];
    size_t got = 0;

    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            abort(); /* no randomness at all: ids would collide */
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

/* An attribute of the events made here, and the input field it comes from (for a 400). */
struct made_attr {
    const char *name;
    int type;
    const char *value; /* NULL: not set */
    size_t len;
    const char *field;
};

/* Sets the attributes and data; 0, or VANE_EINVAL with *field the input the host refused. */
static int fill_event(struct source_http *s, const struct vane_http_request *req,
                      const char *content_type, size_t content_type_len, const char *now,
                      struct vane_event *ev, const char **field)
{
    const struct vane_http_header *given =
        s->id_header != NULL ? http_answer_header(req, s->id_header) : NULL;
    char uuid[37];
    bool subpath = req->path != NULL && *req->path != '\0';
    struct made_attr attrs[] = {
        {"specversion", VANE_STRING, "1.0", 3, "specversion"},
        {"id", VANE_STRING, uuid, 36, "id"},
        {"source", VANE_URI_REF, s->source, strlen(s->source), "source"},
        {"type", VANE_STRING, s->type, strlen(s->type), "type"},
        {"time", VANE_TIMESTAMP, now, strlen(now), "time"},
        {"datacontenttype", VANE_STRING, content_type, content_type_len, "Content-Type"},
        {"httpmethod", VANE_STRING, req->method, strlen(req->method), "method"},
        {"httppath", VANE_STRING, subpath ? req->path : NULL, subpath ? strlen(req->path) : 0,
         "path"},
    };
    int rc;

    if (given != NULL && given->value_len > 0)
        attrs[1] = (struct made_attr){"id", VANE_STRING, given->value, given->value_len,
                                      s->id_header};
    else
        uuid_v4(uuid);
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        struct vane_value v = {.type = attrs[i].type, .ptr = attrs[i].value, .len = attrs[i].len};

        if (attrs[i].value == NULL)
            continue;
        rc = s->host->event_set(ev, attrs[i].name, &v);
        if (rc != 0) {
            *field = attrs[i].field;
            return rc;
        }
    }
    *field = "body";
    return s->host->event_set_data(ev, req->body, req->body_len, NULL);
}

/* The event of a plain request, or NULL with a 400 sent. */
static struct vane_event *make_event(struct source_http *s, const struct vane_http_request *req,
                                     const char *content_type, size_t content_type_len,
                                     struct vane_http_reply *r)
{
    struct vane_event *ev = s->host->event_new(s->self);
    const char *field;
    char message[200], now[EVENT_FORMAT_NOW_SIZE];

    event_format_now(now);
    if (fill_event(s, req, content_type, content_type_len, now, ev, &field) == 0)
        return ev;
    s->host->event_free(ev);
    snprintf(message, sizeof(message), "%s: not valid as a CloudEvents attribute (text without "
             "control characters expected)", field);
    http_answer_error(s->host, r, 400, field, message, NULL);
    return NULL;
}

/* Checks a JSON body; 0, or 400 sent (returns -EINVAL). */
static int check_json(struct source_http *s, const struct vane_http_request *req,
                      struct vane_http_reply *r)
{
    json_error_t error;
    json_t *doc;
    char message[300];

    if (req->body_len == 0) {
        http_answer_error(s->host, r, 400, "body",
                          "body: expected a JSON document; the request has no body", NULL);
        return -EINVAL;
    }
    doc = json_loadb(req->body, req->body_len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &error);
    if (doc == NULL) {
        snprintf(message, sizeof(message), "body: invalid JSON at line %d, column %d: %s",
                 error.line, error.column, error.text);
        http_answer_error(s->host, r, 400, "body", message, NULL);
        return -EINVAL;
    }
    json_decref(doc);
    return 0;
}

/* A request that is not a CloudEvent: one event of its body, or an error sent. */
static void plain_request(struct source_http *s, const struct vane_http_request *req,
                          struct request *q)
{
    const struct vane_http_header *ct = http_answer_header(req, "content-type");
    bool json = ct == NULL || event_format_is_json_type(ct->value, ct->value_len);
    struct vane_event *ev;
    char message[200];

    if (!json && !s->non_json_bytes) {
        snprintf(message, sizeof(message), "Content-Type: expected application/json (or a "
                 "CloudEvent); got \"%.*s\"", (int)(ct->value_len < 100 ? ct->value_len : 100),
                 ct->value);
        http_answer_error(s->host, q->reply, 415, "Content-Type", message, NULL);
        request_free(q);
        return;
    }
    if (json && check_json(s, req, q->reply) != 0) {
        request_free(q);
        return;
    }
    ev = make_event(s, req, json ? "application/json" : ct->value, json ? 16 : ct->value_len,
                    q->reply);
    if (ev == NULL) {
        request_free(q);
        return;
    }
    emit_all(q, &ev, 1);
}

static bool method_allowed(struct source_http *s, const char *method)
{
    size_t count = s->host->option_list_count(s->self, "methods");

    for (size_t i = 0; i < count; i++)
        if (strcasecmp(s->host->option_list_at(s->self, "methods", i), method) == 0)
            return true;
    return false;
}

static void http(void *state, const struct vane_http_request *req, struct vane_http_reply *r)
{
    struct source_http *s = state;
    struct request *q;
    struct collected found = {NULL, 0, 0};
    char err[512] = "";
    char allow[300];
    int n;

    if (!method_allowed(s, req->method)) {
        snprintf(allow, sizeof(allow), "Allow: %s", s->allow.data);
        snprintf(err, sizeof(err), "method %s is not accepted here; use %s", req->method,
                 s->allow.data);
        http_answer_error(s->host, r, 405, NULL, err, allow);
        return;
    }
    n = s->host->http_events(s->self, req, collect, &found, err, sizeof(err));
    if (n < 0) {
        http_answer_error(s->host, r, 400, NULL,
                          err[0] != '\0' ? err : "not a valid CloudEvents request", NULL);
        free(found.events);
        return;
    }
    q = strbuf_xcalloc(1, sizeof(*q));
    q->source = s;
    q->reply = r;
    if (n == 0)
        plain_request(s, req, q);
    else
        emit_all(q, found.events, found.count);
    free(found.events);
}

/* ---- the instance --------------------------------------------------------------- */

static int bad_option(struct source_http *s, const char *name, const char *expected,
                      const char *got)
{
    s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "option %s: expected %s; got \"%s\"", name,
                 expected, got);
    return VANE_EINVAL;
}

static int parse_options(struct source_http *s)
{
    const char *source = s->host->option_string(s->self, "source");
    const char *non_json = s->host->option_string(s->self, "non_json");
    size_t methods = s->host->option_list_count(s->self, "methods");

    if (source != NULL && *source != '\0')
        s->source = strbuf_xstrdup(source);
    else {
        struct strbuf path = STRBUF_INIT;

        strbuf_appendf(&path, "/connectors/%s", s->host->instance_name(s->self));
        s->source = strbuf_detach(&path);
    }
    s->type = s->host->option_string(s->self, "type");
    if (s->type == NULL || *s->type == '\0')
        return bad_option(s, "type", "a CloudEvents type such as \"com.example.order\"", "");
    s->id_header = s->host->option_string(s->self, "id_header");
    if (non_json != NULL && strcmp(non_json, "bytes") == 0)
        s->non_json_bytes = true;
    else if (non_json != NULL && strcmp(non_json, "reject") != 0)
        return bad_option(s, "non_json", "\"reject\" or \"bytes\"", non_json);
    if (methods == 0)
        return bad_option(s, "methods", "a list of at least one HTTP method", "[]");
    for (size_t i = 0; i < methods; i++)
        strbuf_appendf(&s->allow, "%s%s", i > 0 ? ", " : "",
                       s->host->option_list_at(s->self, "methods", i));
    return 0;
}

static void source_free(struct source_http *s)
{
    free(s->source);
    strbuf_free(&s->allow);
    free(s);
}

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    struct source_http *s = strbuf_xcalloc(1, sizeof(*s));
    int rc;

    s->host = host;
    s->self = self;
    rc = parse_options(s);
    if (rc != 0) {
        source_free(s);
        return rc;
    }
    *state = s;
    return 0;
}

static void fini(void *state)
{
    source_free(state);
}

VANE_PLUGIN_DECLARE(.name = "source-http", .version = "1.0.0", .kind = VANE_PLUGIN_SOURCE,
                    .description = "A webhook receiver at /connectors/{name}: CloudEvents or any "
                                   "JSON request becomes events.",
                    .options = options, .init = init, .fini = fini, .http = http);
