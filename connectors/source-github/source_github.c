/*
 * source_github.c -- the source-github connector: GitHub's webhook
 * deliveries, verified, as CloudEvents on the connector's eventbus.  The
 * broker mounts it at /connectors/{name}; doc/github.md is the user's
 * guide, README.md beside this file the reference.
 *
 * A request goes through these checks in this order, and the first that
 * fails answers it with the broker's error body {"error": {"status",
 * "message", "field"}} and stores nothing:
 *
 *   method       POST only                                      400 (Allow: POST)
 *   signature    with secrets set, X-Hub-Signature-256 must be
 *                the HMAC-SHA256 of the raw body under one of
 *                them (signature.h)                             401
 *   headers      X-GitHub-Event an event name, X-GitHub-Delivery
 *                an id (printable, at most 128 characters)      400
 *   body         application/json, or a form with payload=;
 *                a JSON object (github_map.h)                   400
 *
 * The signature comes before anything else is read, so a caller without
 * the secret learns nothing about what else would be refused.  A ping is
 * then answered 200 and not stored.
 *
 * Exactly once.  The event's id is the delivery's X-GitHub-Delivery and its
 * source follows from the payload, so a redelivery is the same (source, id)
 * and the broker's idempotency window answers it with the first position
 * while it remembers it (2 minutes by default; a repeat still in flight
 * waits for the first).  GitHub lets a delivery be redelivered for days,
 * so the connector also keeps the deliveries it stored in a record on disk
 * (delivery_log.h), option "remember" long (3 days by default), shared by
 * its instances; a delivery found there is answered 200 with
 * "duplicate": true and its first position, and not emitted.  A delivery
 * is recorded once its event is durable.
 *
 * Answers: 202 {"events": [{"id", "eventlog", "offset"}]} once the event
 * is durable; 503 with Retry-After when the broker did not take it, or
 * did not say so within option "answer_within" (8 s: GitHub gives up
 * after 10).  An event still stored after such a 503 is recorded all the
 * same, so GitHub's redelivery of it is then answered as a duplicate.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <vane/plugin.h>

#include "../common/http_answer.h"
#include "../common/strbuf.h"
#include "delivery_log.h"
#include "github_map.h"
#include "signature.h"

struct source_github {
    const struct vane_host *host;
    struct vane_instance *self;
    const char **secrets; /* option strings, owned by the instance */
    size_t secret_count;
    bool remembering;     /* the delivery record is open */
    struct delivery_log log;
    uint64_t answer_within_ms;
};

/* One delivery being stored, from http() until its event is durable or
 * refused (which may come after the answer, when answer_within passed). */
struct request {
    struct source_github *source;
    struct vane_http_reply *reply; /* NULL once answered */
    int64_t timer;                 /* answer_within's, while it runs */
    char id[DELIVERY_ID_MAX + 1];
};

static const struct vane_option options[] = {
    {"secrets", VANE_OPTION_LIST, NULL, VANE_OPTION_SECRET,
     "The webhook's secrets: a delivery must be signed with one of them (give the new and the "
     "old one while rotating).  Unset, deliveries are not verified and a warning is logged."},
    {"remember", VANE_OPTION_DURATION, "\"3d\"", 0,
     "How long a stored delivery is remembered on disk, so that GitHub redelivering it is "
     "answered without storing it again; \"0\" leaves that to the broker's idempotency window."},
    {"remember_max", VANE_OPTION_INT, "100000", 0,
     "How many of the newest stored deliveries are surely remembered (the record is rewritten "
     "without older ones once it holds twice as many); about 100 bytes each, on disk and in "
     "memory."},
    {"answer_within", VANE_OPTION_DURATION, "\"8s\"", 0,
     "How long a delivery waits for its event to be durable before it is answered 503 (GitHub "
     "waits 10 s); the event, if stored later, still counts as stored."},
    {"state_dir", VANE_OPTION_STRING, NULL, 0,
     "The folder of the delivery record, shared by the connector's instances; "
     "\"source-github/<name>\" under vaned's working directory (else under $TMPDIR) when unset."},
    VANE_OPTIONS_END,
};

/* The extensions kept from the request's headers. */
static const struct {
    const char *header, *attribute;
} header_extensions[] = {
    {"x-github-hook-id", "githubhookid"},
    {"x-github-hook-installation-target-type", "githubtargettype"},
    {"x-github-hook-installation-target-id", "githubtargetid"},
};

/* ---- answers ---------------------------------------------------------------- */

/* The broker's error body (http_answer.h), counted and logged as a refusal. */
static void reply_error(struct source_github *s, struct vane_http_reply *r, int status,
                        const char *field, const char *message, const char *extra_header)
{
    json_t *doc = http_answer_error_body(status, field, message);

    s->host->metric_add(s->self, "github_refused", 1);
    s->host->log(s->self, VANE_PLUGIN_LOG_DEBUG, "refused %d: %s", status,
                 json_string_value(json_object_get(json_object_get(doc, "error"), "message")));
    http_answer_json(s->host, r, status, doc, extra_header);
}

/* {"events": [{"id", "eventlog", "offset"[, "duplicate": true]}]} */
static void reply_stored(struct source_github *s, struct vane_http_reply *r, int status,
                         const char *id, const struct delivery_pos *pos, bool duplicate)
{
    json_t *event = json_pack("{s:s, s:I, s:I}", "id", id, "eventlog", (json_int_t)pos->eventlog,
                              "offset", (json_int_t)pos->offset);

    if (duplicate)
        json_object_set_new(event, "duplicate", json_true());
    http_answer_json(s->host, r, status, json_pack("{s:[o]}", "events", event), NULL);
}

/* ---- the request's headers -------------------------------------------------------- */

/* Refuses a request whose signature is missing or wrong; true when it was. */
static bool refuse_unsigned(struct source_github *s, const struct vane_http_request *req,
                            struct vane_http_reply *r)
{
    const struct vane_http_header *sig = http_answer_header(req, "x-hub-signature-256");

    if (s->secret_count == 0)
        return false;
    if (sig == NULL) {
        reply_error(s, r, 401, "X-Hub-Signature-256",
                    "X-Hub-Signature-256: missing; this connector takes only deliveries signed "
                    "with the webhook's secret", NULL);
        return true;
    }
    if (!signature_matches(s->secrets, s->secret_count, req->body, req->body_len, sig->value,
                           sig->value_len)) {
        reply_error(s, r, 401, "X-Hub-Signature-256",
                    "X-Hub-Signature-256: not the signature of this body under the webhook's "
                    "secret (expected sha256= and 64 hex digits of HMAC-SHA256)", NULL);
        return true;
    }
    return false;
}

/* Copies the event name and delivery id out of the headers, or refuses the request. */
static bool read_headers(struct source_github *s, const struct vane_http_request *req,
                         struct vane_http_reply *r, char event[65], char id[DELIVERY_ID_MAX + 1])
{
    const struct vane_http_header *ev = http_answer_header(req, "x-github-event");
    const struct vane_http_header *delivery = http_answer_header(req, "x-github-delivery");

    if (ev == NULL || !github_event_name_valid(ev->value, ev->value_len)) {
        reply_error(s, r, 400, "X-GitHub-Event",
                    ev == NULL ? "X-GitHub-Event: missing; expected the event's name, such as push"
                               : "X-GitHub-Event: expected an event name such as push "
                                 "(1 to 64 of a-z, 0-9, _ and -)", NULL);
        return false;
    }
    if (delivery == NULL || !delivery_log_id_valid(delivery->value, delivery->value_len)) {
        reply_error(s, r, 400, "X-GitHub-Delivery",
                    delivery == NULL ? "X-GitHub-Delivery: missing; expected the delivery's "
                                       "GUID"
                                     : "X-GitHub-Delivery: expected the delivery's GUID (1 to "
                                       "128 printable characters without spaces)", NULL);
        return false;
    }
    memcpy(event, ev->value, ev->value_len);
    event[ev->value_len] = '\0';
    memcpy(id, delivery->value, delivery->value_len);
    id[delivery->value_len] = '\0';
    return true;
}

/* ---- the event ------------------------------------------------------------------- */

/* The time now as RFC 3339, to the millisecond. */
static void time_now(struct strbuf *out)
{
    struct timespec now;
    struct tm tm;
    char text[40];

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
    strbuf_appendf(out, "%s.%03ldZ", text, now.tv_nsec / 1000000);
}

static int set_attr(struct source_github *s, struct vane_event *ev, const char *name, int type,
                    const char *value, size_t len)
{
    struct vane_value v = {.type = type, .ptr = value, .len = len};

    return s->host->event_set(ev, name, &v);
}

/* The header extensions the request has, when their values are usable text. */
static void set_header_extensions(struct source_github *s, const struct vane_http_request *req,
                                  struct vane_event *ev)
{
    for (size_t i = 0; i < sizeof(header_extensions) / sizeof(header_extensions[0]); i++) {
        const struct vane_http_header *h = http_answer_header(req, header_extensions[i].header);

        if (h != NULL && h->value_len > 0)
            set_attr(s, ev, header_extensions[i].attribute, VANE_STRING, h->value, h->value_len);
    }
}

/* A time the host refuses (a 13th month) gives way to the time of arrival. */
static int set_time(struct source_github *s, struct vane_event *ev, struct strbuf *time)
{
    if (time->len > 0 && set_attr(s, ev, "time", VANE_TIMESTAMP, time->data, time->len) == 0)
        return 0;
    strbuf_reset(time);
    time_now(time);
    return set_attr(s, ev, "time", VANE_TIMESTAMP, time->data, time->len);
}

/* The event of a delivery; NULL with *field the attribute the host refused. */
static struct vane_event *make_event(struct source_github *s, const struct vane_http_request *req,
                                     const char *id, struct github_attrs *attrs,
                                     const struct github_body *body, const char **field)
{
    struct vane_event *ev = s->host->event_new(s->self);
    struct {
        const char *name;
        int type;
        const struct strbuf *value;
    } set[] = {
        {"type", VANE_STRING, &attrs->type},
        {"source", VANE_URI_REF, &attrs->source},
        {"subject", VANE_STRING, &attrs->subject},
    };

    *field = "id";
    if (set_attr(s, ev, "specversion", VANE_STRING, "1.0", 3) != 0 ||
        set_attr(s, ev, "id", VANE_STRING, id, strlen(id)) != 0)
        goto refused;
    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
        *field = set[i].name;
        if (set[i].value->len > 0 &&
            set_attr(s, ev, set[i].name, set[i].type, set[i].value->data, set[i].value->len) != 0)
            goto refused;
    }
    *field = "time";
    if (set_time(s, ev, &attrs->time) != 0)
        goto refused;
    *field = "body";
    if (set_attr(s, ev, "datacontenttype", VANE_STRING, "application/json", 16) != 0 ||
        s->host->event_set_data(ev, body->json.data, body->json.len, NULL) != 0)
        goto refused;
    set_header_extensions(s, req, ev);
    return ev;
refused:
    s->host->event_free(ev);
    return NULL;
}

/* ---- storing it -------------------------------------------------------------------- */

static void remember(struct source_github *s, const char *id, const struct delivery_pos *pos)
{
    struct strbuf err = STRBUF_INIT;

    if (s->remembering && delivery_log_add(&s->log, id, pos, &err) != 0)
        s->host->log(s->self, VANE_PLUGIN_LOG_WARN,
                     "delivery %s is stored but not recorded (%s): a redelivery after the "
                     "broker's idempotency window would be stored again", id, err.data);
    strbuf_free(&err);
}

static void answer_unavailable(struct request *q, const char *message)
{
    reply_error(q->source, q->reply, 503, NULL, message, "Retry-After: 1");
    q->reply = NULL;
}

/* answer_within passed: the client is answered now; emitted() frees q later. */
static void answer_late(void *arg)
{
    struct request *q = arg;
    char message[200];

    q->timer = 0;
    snprintf(message, sizeof(message), "delivery %s was not stored within %llu ms; send it "
             "again", q->id, (unsigned long long)q->source->answer_within_ms);
    answer_unavailable(q, message);
}

static void emitted(void *arg, int status, uint64_t eventlog, uint64_t offset)
{
    struct request *q = arg;
    struct source_github *s = q->source;
    struct delivery_pos pos = {eventlog, offset};
    char message[200];

    if (q->timer > 0)
        s->host->timer_stop(s->self, q->timer);
    if (status == 0) {
        remember(s, q->id, &pos);
        s->host->metric_add(s->self, "github_stored", 1);
        if (q->reply != NULL)
            reply_stored(s, q->reply, 202, q->id, &pos, false);
    } else if (q->reply != NULL) {
        snprintf(message, sizeof(message), "delivery %s was not stored (error %d); send it "
                 "again", q->id, status);
        answer_unavailable(q, message);
    }
    free(q);
}

/* Answers a delivery the record holds; true when it did. */
static bool answer_known(struct source_github *s, const char *id, struct vane_http_reply *r)
{
    struct delivery_pos pos;
    struct strbuf err = STRBUF_INIT;
    int found = s->remembering ? delivery_log_find(&s->log, id, &pos, &err) : 0;

    if (found < 0)
        s->host->log(s->self, VANE_PLUGIN_LOG_WARN, "%s; going on without it", err.data);
    strbuf_free(&err);
    if (found != 1)
        return false;
    s->host->metric_add(s->self, "github_duplicates", 1);
    reply_stored(s, r, 200, id, &pos, true);
    return true;
}

static void store(struct source_github *s, const struct vane_http_request *req,
                  struct vane_http_reply *r, const char *event, const char *id,
                  const struct github_body *body)
{
    struct github_attrs attrs = GITHUB_ATTRS_INIT;
    struct request *q;
    struct vane_event *ev;
    const char *field;
    char message[200];
    int rc;

    github_map(event, body->payload, &attrs);
    ev = make_event(s, req, id, &attrs, body, &field);
    github_attrs_free(&attrs);
    if (ev == NULL) {
        snprintf(message, sizeof(message), "%s: the delivery's value is not valid as a "
                 "CloudEvents attribute", field);
        reply_error(s, r, 400, field, message, NULL);
        return;
    }
    q = strbuf_xcalloc(1, sizeof(*q));
    *q = (struct request){s, r, 0, ""};
    memcpy(q->id, id, strlen(id) + 1);
    /* The timer first: emit's callback, whenever it comes, stops it. */
    q->timer = s->host->timer_start(s->self, s->answer_within_ms, 0, answer_late, q);
    rc = s->host->emit(s->self, ev, emitted, q);
    if (rc != 0)
        emitted(q, rc, 0, 0);
}

static void http(void *state, const struct vane_http_request *req, struct vane_http_reply *r)
{
    struct source_github *s = state;
    const struct vane_http_header *ct;
    struct github_body body;
    struct strbuf err = STRBUF_INIT;
    const char *field;
    char event[65], id[DELIVERY_ID_MAX + 1];

    if (strcmp(req->method, "POST") != 0) {
        reply_error(s, r, 400, "method", "method: GitHub delivers with POST", "Allow: POST");
        return;
    }
    if (refuse_unsigned(s, req, r) || !read_headers(s, req, r, event, id))
        return;
    ct = http_answer_header(req, "content-type");
    if (github_body_parse(ct ? ct->value : NULL, ct ? ct->value_len : 0, req->body,
                          req->body_len, &body, &field, &err) != 0) {
        reply_error(s, r, 400, field, err.data, NULL);
        strbuf_free(&err);
        return;
    }
    if (strcmp(event, "ping") == 0) {
        s->host->metric_add(s->self, "github_pings", 1);
        http_answer_json(s->host, r, 200, json_pack("{s:s, s:s, s:b}", "event", "ping",
                                                    "delivery", id, "stored", 0), NULL);
    } else if (!answer_known(s, id, r))
        store(s, req, r, event, id, &body);
    github_body_free(&body);
}

/* ---- the instance --------------------------------------------------------------- */

static int bad_option(struct source_github *s, const char *name, const char *expected)
{
    s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "option %s: expected %s", name, expected);
    return VANE_EINVAL;
}

static int read_secrets(struct source_github *s)
{
    s->secret_count = s->host->option_list_count(s->self, "secrets");
    s->secrets = strbuf_xcalloc(s->secret_count, sizeof(*s->secrets));
    for (size_t i = 0; i < s->secret_count; i++) {
        s->secrets[i] = s->host->option_list_at(s->self, "secrets", i);
        if (s->secrets[i] == NULL || *s->secrets[i] == '\0')
            return bad_option(s, "secrets", "non-empty strings (the webhook's secrets)");
    }
    if (s->secret_count == 0)
        s->host->log(s->self, VANE_PLUGIN_LOG_WARN,
                     "no secrets: deliveries are not verified, and anyone who can reach "
                     "/connectors/%s can publish to its eventbus; set options.secrets to the "
                     "webhook's secret", s->host->instance_name(s->self));
    return 0;
}

/* The record's folder: state_dir, or source-github/<name> here, else under $TMPDIR. */
static void state_dir(struct source_github *s, struct strbuf *dir)
{
    const char *given = s->host->option_string(s->self, "state_dir");
    const char *tmp = getenv("TMPDIR");
    const char *name = s->host->instance_name(s->self);

    if (given != NULL && *given != '\0') {
        strbuf_append_str(dir, given);
        return;
    }
    if ((mkdir("source-github", 0755) == 0 || errno == EEXIST) &&
        access("source-github", W_OK) == 0) {
        strbuf_appendf(dir, "source-github/%s", name);
        return;
    }
    strbuf_appendf(dir, "%s/vane-source-github/%s", tmp != NULL && *tmp != '\0' ? tmp : "/tmp",
                   name);
}

static int open_record(struct source_github *s)
{
    int64_t keep_ms = s->host->option_int(s->self, "remember");
    int64_t keep_max = s->host->option_int(s->self, "remember_max");
    struct strbuf dir = STRBUF_INIT, err = STRBUF_INIT;
    int rc = 0;

    if (keep_ms <= 0)
        return 0;
    if (keep_max < 1)
        return bad_option(s, "remember_max", "an integer of at least 1");
    state_dir(s, &dir);
    rc = delivery_log_open(&s->log, dir.data, (uint64_t)(keep_ms + 999) / 1000, (size_t)keep_max,
                           &err);
    if (rc != 0) {
        s->host->log(s->self, VANE_PLUGIN_LOG_ERROR, "the delivery record: %s (set option "
                     "state_dir to a writable folder, or remember to \"0\")", err.data);
        delivery_log_close(&s->log);
    }
    s->remembering = rc == 0;
    strbuf_free(&dir);
    strbuf_free(&err);
    return rc != 0 ? VANE_EINVAL : 0;
}

static void source_free(struct source_github *s)
{
    if (s->remembering)
        delivery_log_close(&s->log);
    free(s->secrets);
    free(s);
}

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    struct source_github *s = strbuf_xcalloc(1, sizeof(*s));
    int rc;

    s->host = host;
    s->self = self;
    s->answer_within_ms = (uint64_t)host->option_int(self, "answer_within");
    rc = read_secrets(s);
    if (rc == 0 && s->answer_within_ms == 0)
        rc = bad_option(s, "answer_within", "a duration above zero such as \"8s\"");
    if (rc == 0)
        rc = open_record(s);
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

VANE_PLUGIN_DECLARE(.name = "source-github", .version = "1.0.0", .kind = VANE_PLUGIN_SOURCE,
                    .description = "GitHub webhooks at /connectors/{name}: signed deliveries "
                                   "become CloudEvents (com.github.*), each stored once.",
                    .options = options, .init = init, .fini = fini, .http = http);
