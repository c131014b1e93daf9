/*
 * worker.c -- one subscription: read, filter, transform, deliver, retry,
 * dead-letter, settle (see worker.h).
 *
 * Settling.  Each lane keeps a ring of flags for the offsets between its
 * committed offset and the next it will read; an event's flag is set when
 * it is settled, and the committed offset moves over every set flag.  A
 * delivery holds the offsets of its events (not always consecutive: events
 * filtered out between them are settled at once).
 *
 * Life.  worker_stop() marks the worker stopping: nothing more is read or
 * sent, deliveries under way are freed as they end (their events stay
 * unsettled, so they are delivered again by the next worker), and the
 * worker frees itself when the last one is gone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/arena.h"
#include "core/log.h"
#include "event/timestamp.h"
#include "filter/filter.h"
#include "metrics/metrics.h"
#include "store/record.h"
#include "transform/transform.h"
#include "trigger/delivery.h"
#include "trigger/external.h"
#include "trigger/worker.h"

#define READ_MAX_EVENTS 256
#define READ_MAX_BYTES (1u << 20)
/* Bytes asked of the eventlog per event read before a read has shown their size (a
 * larger event comes whole anyway). */
#define READ_BYTES_PER_EVENT 4096
/* A busy lane reads again only once this much room is free, so reads come in batches. */
#define READ_MIN_ROOM 64
/* Events a delivery to a sink connector gathers at most (see routed_batch). */
#define ROUTED_BATCH 100

struct settings {
    char *sink;
    enum delivery_mode mode;
    size_t batch_size;
    struct curl_slist *headers;
    double rate_limit; /* events per second; 0: none */
    long timeout_ms;
    unsigned max_retries;
    bool ordered;
    char *dead_letter_bus; /* NULL: dead letters are dropped (logged and counted) */
};

struct lane {
    struct worker *w;
    uint32_t index;
    struct eventlog *log;
    void *watch;
    uint64_t next_read, committed;
    uint8_t *settled; /* ring over [committed, next_read), window entries */
    size_t inflight;  /* deliveries under way */
};

/* Events on their way to a delivery, each with its own attribute array. */
struct event_list {
    struct event *items;
    size_t count, cap;
};

struct delivery {
    struct http_request req;
    struct worker *w;
    struct lane *lane;
    uint64_t *offsets;
    size_t count;
    struct vane_buf records; /* the original records, for the dead letters */
    struct delivery_message message;
    struct delivery_message *parts; /* a fan-out's further events, sent one after another */
    size_t part_count, next_part;
    struct vane_buf routed_records; /* the events as records, for a sink connector */
    size_t routed_count;
    unsigned attempts;
    bool dead;          /* on its way to the dead letters: a retry retries that */
    bool dead_waited;   /* told the log its dead-letter eventbus is missing */
    uv_timer_t retry_timer;
    bool timer_used;
    bool routed;        /* with a sink connector (trigger_sink_router), not yet answered */
    bool http_encoded;  /* message (and parts) hold the HTTP requests: not for a connector */
    uint64_t routed_at; /* uv_hrtime() when handed over */
    char reason[64];
    char last_error[512];
    struct delivery *prev, *next; /* the worker's, under way */
};

struct worker {
    struct worker_env env;
    struct trigger_options options; /* a copy: a stopped worker may outlive the trigger */
    struct delivery *list;          /* deliveries under way */
    uint64_t sub_id;
    char *name, *eventbus;
    struct settings set;
    struct filter *filter;
    struct transformer *transformer;
    struct external_transform *external; /* a Lua or plugin transformer instead */
    struct event_list ready;   /* fill_delivery()'s events, kept for their arrays */
    struct event scratch;      /* fill_delivery()'s record being read, likewise */
    struct eventlog_batch batch; /* read_lane()'s, kept for its buffers while reads find events */
    size_t record_bytes;       /* the records' mean size in the last read; 0 before one */
    struct lane lanes[CONTROLLER_MAX_EVENTLOGS];
    uint32_t lane_count;
    struct lane resend; /* dead letters sent again: no eventlog, nothing to settle */
    size_t window;
    size_t inflight_events, deliveries;
    bool stopping, offsets_moved, pumping;
    double tokens;
    uint64_t tokens_at_ms;
    uv_timer_t rate_timer;
    bool rate_timer_open;
    struct trigger_stats stats;
    struct metrics_series *delivered, *retried, *dead_lettered, *filtered, *transform_failures;
    struct metrics_series *delivery_seconds;
};

static const char component[] = "trigger";

/* Adds n to one of the worker's figures and to its /metrics series; a
 * stopping worker's series may be gone (a deleted subscription's are). */
static void note(struct worker *w, uint64_t *figure, struct metrics_series *series, uint64_t n)
{
    *figure += n;
    if (!w->stopping)
        metrics_inc(series, n);
}

static void series_for(struct worker *w)
{
    const struct worker_families *f = w->env.families;
    const char *const labels[] = {w->name};

    if (f == NULL)
        return;
    w->delivered = metrics_series(f->delivered, labels);
    w->retried = metrics_series(f->retried, labels);
    w->dead_lettered = metrics_series(f->dead_lettered, labels);
    w->filtered = metrics_series(f->filtered, labels);
    w->transform_failures = metrics_series(f->transform_failures, labels);
    w->delivery_seconds = metrics_series(f->delivery_seconds, labels);
}

static void pump(struct worker *w);
static void maybe_free(struct worker *w);

/* ---- settings ------------------------------------------------------------ */

static const char *setting_string(const json_t *obj, const char *key, const char *fallback)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s != NULL ? s : fallback;
}

static json_int_t setting_int(const json_t *obj, const char *key, json_int_t fallback)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? json_integer_value(v) : fallback;
}

static int read_settings(struct worker *w, const struct subscription_meta *sub, char **errmsg)
{
    const json_t *spec = sub->spec;
    const json_t *config = json_object_get(spec, "config");
    const json_t *protocol = json_object_get(spec, "protocol_settings");
    const char *key, *sink = json_string_value(json_object_get(spec, "sink"));
    json_t *value;
    int mode = delivery_mode_parse(setting_string(protocol, "delivery_mode", "binary"));

    if (mode < 0) {
        *errmsg = vane_strdup("protocol_settings.delivery_mode: expected binary, structured or "
                              "batch");
        return -EINVAL;
    }
    w->set.sink = sink ? vane_strdup(sink) : NULL; /* none: a sink connector serves it */
    w->set.mode = (enum delivery_mode)mode;
    w->set.batch_size = (size_t)setting_int(protocol, "batch_size", 100);
    json_object_foreach(json_object_get(protocol, "headers"), key, value) {
        const char *text = json_string_value(value);
        char *line = vane_asprintf("%s: %s", key, text ? text : "");

        w->set.headers = curl_slist_append(w->set.headers, line);
        vane_free(line);
    }
    w->set.rate_limit = (double)setting_int(config, "rate_limit", 0);
    w->set.timeout_ms = (long)setting_int(config, "delivery_timeout", 5000);
    w->set.max_retries = (unsigned)setting_int(config, "max_retry_attempts", 32);
    w->set.ordered = json_is_true(json_object_get(config, "ordered_event"));
    w->set.dead_letter_bus = trigger_dead_letter_bus(sub);
    if (w->set.batch_size == 0 || w->set.mode != DELIVERY_BATCH)
        w->set.batch_size = 1;
    return 0;
}

static int compile_pipeline(struct worker *w, const json_t *spec, char **errmsg)
{
    json_t *filters = json_object_get(spec, "filters"), *transformer;
    struct external_env env = {w->options.plugins, w->options.scripts, w->options.metrics,
                               w->name, false};
    struct filter_error ferr;
    struct transform_error terr;

    if (filter_compile_with(filters, &external_filters, &env, &w->filter, &ferr) != 0) {
        *errmsg = vane_asprintf("%s: %s", ferr.path, ferr.message);
        return -EINVAL;
    }
    transformer = json_object_get(spec, "transformer");
    if (transformer == NULL || json_is_null(transformer) ||
        (json_is_object(transformer) && json_object_size(transformer) == 0))
        return 0;
    if (external_transform_is(transformer))
        return external_transform_open(&env, transformer, &w->external, errmsg);
    if (transformer_compile(transformer, &w->transformer, &terr) != 0) {
        *errmsg = vane_asprintf("%s: %s", terr.path, terr.message);
        return -EINVAL;
    }
    return 0;
}

/* ---- settling -------------------------------------------------------------- */

static uint8_t *flag_of(struct lane *lane, uint64_t offset)
{
    return &lane->settled[offset % lane->w->window];
}

static void settle(struct lane *lane, uint64_t offset)
{
    /* The resend lane has no offsets; an offset outside the window is one
     * retention went past (read_lane jumped over it). */
    if (lane->log == NULL || offset < lane->committed || offset >= lane->next_read)
        return;
    *flag_of(lane, offset) = 1;
    while (lane->committed < lane->next_read && *flag_of(lane, lane->committed)) {
        *flag_of(lane, lane->committed) = 0;
        lane->committed++;
        lane->w->offsets_moved = true;
    }
}

static void settle_delivery(struct delivery *d)
{
    for (size_t i = 0; i < d->count; i++)
        settle(d->lane, d->offsets[i]);
}

/* ---- deliveries ------------------------------------------------------------ */

static void on_delivery_timer_closed(uv_handle_t *handle)
{
    struct delivery *d = handle->data;
    struct worker *w = d->w;

    vane_free(d);
    w->deliveries--; /* only now: the worker must outlive this callback */
    if (w->stopping)
        maybe_free(w);
    else
        pump(w); /* its room is free: an ordered lane waits for exactly this */
}

/* Forgets a finished delivery; the worker pumps (or frees itself) after. */
static void delivery_end(struct delivery *d)
{
    struct worker *w = d->w;

    if (d->prev != NULL)
        d->prev->next = d->next;
    else
        w->list = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
    w->inflight_events -= d->count;
    d->lane->inflight--;
    delivery_message_free(&d->message);
    for (size_t i = d->next_part; i < d->part_count; i++)
        delivery_message_free(&d->parts[i]);
    vane_free(d->parts);
    vane_buf_free(&d->routed_records);
    vane_buf_free(&d->records);
    vane_free(d->offsets);
    if (d->timer_used) {
        d->retry_timer.data = d;
        uv_close((uv_handle_t *)&d->retry_timer, on_delivery_timer_closed);
        return;
    }
    vane_free(d);
    w->deliveries--;
    if (w->stopping)
        maybe_free(w);
    else
        pump(w);
}

static void send_delivery(struct delivery *d);

static void dead_letter(struct delivery *d);

static void on_retry_timer(uv_timer_t *timer)
{
    struct delivery *d = timer->data;

    if (d->w->stopping)
        delivery_end(d);
    else if (d->dead)
        dead_letter(d);
    else
        send_delivery(d);
}

/* Exponential backoff from retry_base_ms, capped, with +-20% jitter; Retry-After wins. */
static uint64_t backoff_ms(const struct worker *w, unsigned attempts, int64_t retry_after_ms)
{
    uint64_t ms = w->env.options->retry_base_ms;

    if (retry_after_ms >= 0) /* the sink's wish, within the same cap */
        return (uint64_t)retry_after_ms < w->env.options->retry_max_ms
                   ? (uint64_t)retry_after_ms
                   : w->env.options->retry_max_ms;
    for (unsigned i = 1; i < attempts && ms < w->env.options->retry_max_ms; i++)
        ms *= 2;
    if (ms > w->env.options->retry_max_ms)
        ms = w->env.options->retry_max_ms;
    return ms * (80 + (uint64_t)(random() % 41)) / 100;
}

static void retry_later(struct delivery *d, int64_t retry_after_ms)
{
    struct worker *w = d->w;
    uint64_t ms = backoff_ms(w, d->attempts, retry_after_ms);

    if (!d->timer_used) {
        uv_timer_init(w->env.loop, &d->retry_timer);
        d->retry_timer.data = d;
        d->timer_used = true;
    }
    if (!d->dead)
        note(w, &w->stats.retried, w->retried, 1);
    vane_log_debug(component, "subscription %s: %s again in %llu ms (%s)", w->name,
                   d->dead ? "dead-lettering" : "sending", (unsigned long long)ms, d->last_error);
    uv_timer_start(&d->retry_timer, on_retry_timer, ms, 0);
}

static bool retryable(const struct http_result *res)
{
    if (res->curl_code != CURLE_OK)
        return true; /* no connection, a timeout, a broken answer */
    return res->status >= 500 || res->status == 408 || res->status == 429;
}

enum outcome {
    DELIVERED,
    RETRY,    /* again later, up to max_retry_attempts, then a dead letter */
    REJECTED, /* a dead letter now */
};

/* What the sink said, with d->last_error already set for anything but DELIVERED. */
static void conclude(struct delivery *d, enum outcome outcome, int64_t retry_after_ms)
{
    struct worker *w = d->w;

    if (outcome == DELIVERED && d->next_part < d->part_count) { /* the fan-out's next event */
        delivery_message_free(&d->message);
        d->message = d->parts[d->next_part++];
        d->attempts = 0;
        send_delivery(d);
        return;
    }
    if (outcome == DELIVERED) {
        note(w, &w->stats.delivered, w->delivered, d->count);
        settle_delivery(d);
        delivery_end(d);
        return;
    }
    if (outcome == RETRY && d->attempts <= w->set.max_retries) {
        retry_later(d, retry_after_ms);
        return;
    }
    snprintf(d->reason, sizeof(d->reason), "%s",
             outcome == RETRY ? "max_retries" : "sink_rejected");
    dead_letter(d);
}

static void on_sent(struct http_request *req, const struct http_result *res)
{
    struct delivery *d = (struct delivery *)req;
    struct worker *w = d->w;

    if (res->curl_code == HTTP_CLIENT_ABORTED || w->stopping) {
        delivery_end(d);
        return;
    }
    metrics_observe(d->w->delivery_seconds, (double)res->elapsed_ns / 1e9);
    if (res->curl_code == CURLE_OK && res->status >= 200 && res->status < 300) {
        conclude(d, DELIVERED, -1);
        return;
    }
    if (res->curl_code != CURLE_OK)
        snprintf(d->last_error, sizeof(d->last_error), "%s", res->error);
    else
        snprintf(d->last_error, sizeof(d->last_error), "HTTP %ld %s", res->status, res->error);
    conclude(d, retryable(res) ? RETRY : REJECTED, res->retry_after_ms);
}

/* A sink connector's answer (trigger.h): 0, -EAGAIN to retry, or another error. */
static void on_routed(void *ctx, int status, const char *message)
{
    struct delivery *d = ctx;

    d->routed = false;
    if (d->w->stopping) {
        delivery_end(d);
        return;
    }
    metrics_observe(d->w->delivery_seconds, (double)(uv_hrtime() - d->routed_at) / 1e9);
    if (status != 0)
        snprintf(d->last_error, sizeof(d->last_error), "sink connector: %s",
                 message && *message ? message : vane_strerror(status));
    conclude(d, status == 0 ? DELIVERED : status == -EAGAIN ? RETRY : REJECTED, -1);
}

/* Hands d to the sink connector serving the subscription; false when none does. */
static bool route_delivery(struct delivery *d)
{
    const struct trigger_sink_router *router = d->w->options.router;
    int rc;

    /* Once its HTTP requests are made (the connector was gone), it goes on over HTTP. */
    if (router == NULL || d->routed_count == 0 || d->http_encoded ||
        !router->serves(router->arg, d->w->name))
        return false;
    d->routed = true;
    d->routed_at = uv_hrtime();
    rc = router->deliver(router->arg, d->w->name, d->routed_records.data, d->routed_records.len,
                         d->routed_count, on_routed, d);
    if (rc != 0) {
        d->routed = false;
        snprintf(d->last_error, sizeof(d->last_error), "sink connector: %s", vane_strerror(rc));
        retry_later(d, -1);
    }
    return true;
}

static void encode_http(struct worker *w, struct delivery *d, const struct event *events,
                        size_t count);

/* A delivery made for a sink connector that now goes to the HTTP sink: its requests from its records. */
static void encode_http_from_records(struct delivery *d)
{
    struct event *events = vane_calloc(d->routed_count, sizeof(*events));
    const char *at = d->routed_records.data, *end = at + d->routed_records.len;
    size_t n = 0;

    while (at < end && n < d->routed_count) {
        struct record_view view;
        const char *why;

        if (record_decode_unsealed(at, (size_t)(end - at), &view, &why) != 0)
            break;
        record_to_event(&view, &events[n++]);
        at += view.size;
    }
    encode_http(d->w, d, events, n);
    for (size_t i = 0; i < n; i++)
        event_free(&events[i]);
    vane_free(events);
}

static void send_delivery(struct delivery *d)
{
    struct worker *w = d->w;
    int rc;

    d->attempts++;
    if (route_delivery(d))
        return;
    if (w->set.sink == NULL) { /* waits for its sink connector; that is no failed attempt */
        d->attempts--;
        snprintf(d->last_error, sizeof(d->last_error),
                 "no sink: the subscription has no sink URL and no sink connector serves it");
        retry_later(d, 1000);
        return;
    }
    if (!d->http_encoded)
        encode_http_from_records(d);
    d->req.method = "POST";
    d->req.url = w->set.sink;
    d->req.headers = d->message.headers;
    d->req.body = d->message.body.data ? d->message.body.data : "";
    d->req.body_len = d->message.body.len;
    d->req.timeout_ms = w->set.timeout_ms;
    d->req.done = on_sent;
    d->req.arg = d;
    if ((rc = http_client_send(w->env.http, &d->req)) != 0) {
        snprintf(d->last_error, sizeof(d->last_error), "cannot send: %s", vane_strerror(rc));
        retry_later(d, -1);
    }
}

/* ---- dead letters ---------------------------------------------------------- */

struct dead_letter_append {
    struct delivery *d;
    struct vane_arena arena;
    struct event *events;
    size_t count;
};

static void on_dead_lettered(void *arg, int status, uint64_t first_offset)
{
    struct dead_letter_append *dl = arg;
    struct delivery *d = dl->d;

    (void)first_offset;
    for (size_t i = 0; i < dl->count; i++)
        event_free(&dl->events[i]);
    vane_free(dl->events);
    vane_arena_free(&dl->arena);
    vane_free(dl);
    if (status != 0) { /* the dead-letter eventbus could not take them: try again later */
        retry_later(d, -1);
        return;
    }
    note(d->w, &d->w->stats.dead_lettered, d->w->dead_lettered, d->count);
    settle_delivery(d);
    delivery_end(d);
}

/* The event as it was read, with why it could not be delivered (doc/subscriptions.md). */
static void mark_dead(struct dead_letter_append *dl, struct event *event,
                      const struct delivery *d, uint64_t offset)
{
    char *time = vane_arena_alloc(&dl->arena, TIMESTAMP_MAX_LEN);
    char *sub = vane_arena_alloc(&dl->arena, 24);
    struct event_value v = {.type = EVENT_INTEGER};

    timestamp_format(timestamp_now(), time);
    snprintf(sub, 24, "%" PRIu64, d->w->sub_id);
    event_add_string(event, "xvanusdlsubscription", EVENT_STRING, sub);
    event_add_string(event, "xvanusdlreason", EVENT_STRING,
                     vane_arena_strndup(&dl->arena, d->reason, strlen(d->reason)));
    event_add_string(event, "xvanusdlerror", EVENT_STRING,
                     vane_arena_strndup(&dl->arena, d->last_error, strlen(d->last_error)));
    event_add_string(event, "xvanusdltime", EVENT_TIMESTAMP, time);
    v.u.integer = d->attempts;
    event_add(event, "xvanusdlattempts", strlen("xvanusdlattempts"), &v);
    v.u.integer = (int64_t)d->lane->index;
    event_add(event, "xvanusdleventlog", strlen("xvanusdleventlog"), &v);
    v.u.integer = (int64_t)offset;
    event_add(event, "xvanusdloffset", strlen("xvanusdloffset"), &v);
}

static void dead_letter(struct delivery *d)
{
    struct worker *w = d->w;
    const struct store_bus *bus =
        w->set.dead_letter_bus ? store_bus(w->env.store, w->set.dead_letter_bus) : NULL;
    struct dead_letter_append *dl;
    size_t at = 0;

    d->dead = true;
    if (w->set.dead_letter_bus == NULL) {
        vane_log_warn(component, "subscription %s: %zu events dropped (%s: %s); dead letters "
                      "are disabled", w->name, d->count, d->reason, d->last_error);
        note(w, &w->stats.dead_lettered, w->dead_lettered, d->count);
        settle_delivery(d);
        delivery_end(d);
        return;
    }
    if (bus == NULL) { /* being created (trigger.c makes it): wait for it */
        if (!d->dead_waited)
            vane_log_warn(component, "subscription %s: dead-letter eventbus %s is not there; "
                          "%zu events wait for it", w->name, w->set.dead_letter_bus, d->count);
        d->dead_waited = true;
        retry_later(d, 1000);
        return;
    }
    dl = VANE_NEW(dl);
    dl->d = d;
    dl->events = vane_calloc(d->count, sizeof(*dl->events));
    while (at < d->records.len && dl->count < d->count) {
        struct record_view view;
        const char *why;

        if (record_decode(d->records.data + at, d->records.len - at, &view, &why) != 0)
            break;
        record_to_event(&view, &dl->events[dl->count]);
        mark_dead(dl, &dl->events[dl->count], d, view.offset);
        dl->count++;
        at += view.size;
    }
    if (eventlog_append(bus->logs[0], dl->events, dl->count, on_dead_lettered, dl) != 0)
        on_dead_lettered(dl, -EAGAIN, 0);
}

/* ---- reading ----------------------------------------------------------------- */

static struct delivery *delivery_new(struct worker *w, struct lane *lane, size_t cap)
{
    struct delivery *d = VANE_NEW(d);

    d->w = w;
    d->lane = lane;
    d->offsets = vane_malloc(cap * sizeof(*d->offsets));
    d->next = w->list;
    if (w->list != NULL)
        w->list->prev = d;
    w->list = d;
    lane->inflight++;
    w->deliveries++;
    return d;
}

/*
 * The events as records, for a sink connector (which gets events, not HTTP
 * requests).  They are not sealed: they go from memory to the connector's
 * worker down a local socket, never to a disk, and the readers decode them
 * with record_decode_unsealed() (record.h).
 */
static void encode_routed(struct delivery *d, const struct event *events, size_t count)
{
    size_t total = 0;

    for (size_t i = 0; i < count; i++)
        total += record_size(&events[i]);
    vane_buf_reserve(&d->routed_records, total); /* once: growing it copied it again and again */
    for (size_t i = 0; i < count; i++)
        d->routed_records.len += record_encode(&events[i],
                                               d->routed_records.data + d->routed_records.len);
    d->routed_count = count;
}

/*
 * d's HTTP requests.  In binary and structured mode a record that became
 * several events (a fan-out) sends them one after another, each
 * acknowledged before the next.
 */
static void encode_http(struct worker *w, struct delivery *d, const struct event *events,
                        size_t count)
{
    size_t first = count;

    if (w->set.mode != DELIVERY_BATCH && count > 1) {
        first = 1;
        d->part_count = count - 1;
        d->parts = vane_calloc(d->part_count, sizeof(*d->parts));
        for (size_t i = 1; i < count; i++)
            delivery_encode(w->set.mode, &events[i], 1, w->set.headers, &d->parts[i - 1]);
    }
    delivery_encode(w->set.mode, events, first, w->set.headers, &d->message);
    d->http_encoded = true;
}

/*
 * Events a delivery to w's sink connector gathers: what the connector takes
 * at once (its concurrency: deliveries then spread over its instances),
 * at most ROUTED_BATCH.
 */
static size_t routed_batch(const struct worker *w)
{
    const struct trigger_sink_router *router = w->options.router;
    size_t n = router->batch != NULL ? router->batch(router->arg, w->name) : 0;

    return n == 0 || n > ROUTED_BATCH ? ROUTED_BATCH : n;
}

/* Whether a sink connector serves w's subscription now. */
static bool routed_now(const struct worker *w)
{
    const struct trigger_sink_router *router = w->options.router;

    return router != NULL && router->serves(router->arg, w->name);
}

/*
 * Starts a delivery of the events made of the records gathered in d, or
 * dead-letters a failed transform.  For a sink connector the events travel
 * as records (it gets events, not HTTP requests); the HTTP requests are
 * made only if the delivery ends up going to the sink URL instead.
 */
static void launch(struct worker *w, struct delivery *d, struct event *events, size_t count)
{
    w->inflight_events += d->count;
    if (d->reason[0] != '\0') {
        dead_letter(d);
        return;
    }
    if (routed_now(w))
        encode_routed(d, events, count);
    else
        encode_http(w, d, events, count);
    w->tokens -= (double)d->count;
    send_delivery(d);
}

/* What became of one record on its way to a delivery. */
enum prepared {
    PREPARED_FILTERED, /* settled here */
    PREPARED_READY,    /* out has the events to send */
    PREPARED_FAILED,   /* the transformation failed: reason and error say why */
};

/* The next slot, emptied; a slot used before keeps its attribute array for reuse. */
static struct event *list_slot(struct event_list *list)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 4;

        list->items = vane_realloc(list->items, cap * sizeof(*list->items));
        for (size_t i = list->cap; i < cap; i++)
            list->items[i] = (struct event)EVENT_INIT;
        list->cap = cap;
    }
    event_reset(&list->items[list->count]);
    return &list->items[list->count++];
}

/* Moves *e into the list's next slot; *e takes the slot's old attribute array in exchange. */
static void list_take(struct event_list *list, struct event *e)
{
    struct event *slot = list_slot(list), spare = *slot;

    *slot = *e;
    *e = spare;
}

/* Adds a copy of src whose attribute array is its own (the bytes stay src's). */
static void list_copy(struct event_list *list, const struct event *src)
{
    struct event *e = list_slot(list);

    for (size_t i = 0; i < src->attr_count; i++)
        event_add(e, src->attrs[i].name.ptr, src->attrs[i].name.len, &src->attrs[i].value);
    e->has_data = src->has_data;
    e->data = src->data;
}

static void list_free(struct event_list *list)
{
    for (size_t i = 0; i < list->cap; i++)
        event_free(&list->items[i]);
    vane_free(list->items);
}

/*
 * Transforms in (filtered already) into out: itself, Vanus's transformer's
 * result, or what a Lua or plugin transformer made of it (possibly none).
 * in may be emptied.  Returns 0, or -EINVAL with error saying why.
 */
static int transform_event(struct worker *w, struct event *in, struct event_list *out,
                           struct vane_arena *arena, char *error, size_t error_size)
{
    struct transform_error terr;
    struct event *made;
    size_t count;

    if (w->external != NULL) {
        if (external_transform_apply(w->external, in, arena, &made, &count, error,
                                     error_size) != 0)
            return -EINVAL;
        for (size_t i = 0; i < count; i++)
            if (external_transform_slots(w->external))
                list_take(out, &made[i]);
            else
                list_copy(out, &made[i]);
        return 0;
    }
    if (w->transformer == NULL) { /* in moves to the slot */
        list_take(out, in);
        return 0;
    }
    if (transformer_apply(w->transformer, in, list_slot(out), arena, &terr) != 0) {
        out->count--;
        snprintf(error, error_size, "%s: %s", terr.path, terr.message);
        return -EINVAL;
    }
    return 0;
}

static enum prepared prepare(struct worker *w, struct lane *lane, const struct record_view *rec,
                             struct event *in, struct event_list *out, struct vane_arena *arena,
                             char *error, size_t error_size)
{
    size_t before = out->count;

    record_to_event(rec, in);
    if (filter_match(w->filter, in)) {
        if (transform_event(w, in, out, arena, error, error_size) != 0)
            return PREPARED_FAILED;
        if (out->count > before)
            return PREPARED_READY;
    }
    /* Filtered out, or dropped by its transformer. */
    note(w, &w->stats.filtered, w->filtered, 1);
    settle(lane, rec->offset);
    return PREPARED_FILTERED;
}

static bool has_room(const struct worker *w, const struct lane *lane)
{
    if (w->stopping || w->inflight_events >= w->env.options->max_inflight)
        return false;
    if (lane->next_read - lane->committed >= w->window)
        return false;
    if (w->set.ordered && lane->inflight > 0)
        return false;
    return w->set.rate_limit <= 0 || w->tokens >= 1;
}

/* Adds a record to d. */
static void gather(struct delivery *d, const struct record_view *rec)
{
    d->offsets[d->count++] = rec->offset;
    vane_buf_append(&d->records, rec->base, rec->size);
}

/* Room in d for the records [from, from + want) of batch at most, made at once. */
static void reserve_records(struct delivery *d, const struct eventlog_batch *batch, size_t from,
                            size_t want)
{
    size_t bytes = 0;

    for (size_t i = from; i < batch->count && i - from < want; i++)
        bytes += batch->records[i].size;
    vane_buf_reserve(&d->records, bytes);
}

/*
 * Fills one delivery from batch records [*i, count): up to batch_size
 * events, fewer when one fails its transformation (it then goes alone, to
 * the dead letters).  Launches it, or ends it when every record was
 * filtered out.
 */
static void fill_delivery(struct worker *w, struct lane *lane, const struct eventlog_batch *batch,
                          size_t *i)
{
    /* A sink connector takes events one by one whatever the mode: a delivery
     * to one groups as many as one of its instances takes at once (fewer
     * allocations, one handover); the mode matters only for HTTP. */
    size_t want = routed_now(w) ? routed_batch(w) : w->set.batch_size;
    struct delivery *d = delivery_new(w, lane, want);
    struct event_list *events = &w->ready;
    struct event *in = &w->scratch;
    struct vane_arena arena = VANE_ARENA_INIT;

    events->count = 0;
    reserve_records(d, batch, *i, want);
    while (*i < batch->count && d->count < want) {
        const struct record_view *rec = &batch->records[*i];
        char error[sizeof(d->last_error)];
        uint64_t before = lane->next_read;
        enum prepared p;

        lane->next_read = rec->offset + 1; /* first: settling a filtered one may move committed */
        p = prepare(w, lane, rec, in, events, &arena, error, sizeof(error));
        if (p == PREPARED_FAILED && d->count > 0) {
            lane->next_read = before; /* send what is gathered; this one goes next, alone */
            break;
        }
        (*i)++;
        if (p == PREPARED_FILTERED)
            continue;
        gather(d, rec);
        if (p == PREPARED_FAILED) { /* counted here: a split batch prepares it twice */
            note(w, &w->stats.failed_transform, w->transform_failures, 1);
            snprintf(d->reason, sizeof(d->reason), "transform_failed");
            snprintf(d->last_error, sizeof(d->last_error), "%s", error);
            break;
        }
        if (w->set.ordered)
            break;
    }
    if (d->count > 0)
        launch(w, d, events->items, events->count);
    else
        delivery_end(d);
    vane_arena_free(&arena);
}

/*
 * How many events to read: what there is room for, at most READ_MAX_EVENTS,
 * whole batches in batch mode; 0 while a busy lane has less than
 * READ_MIN_ROOM free (the next deliveries to end make more).
 */
static size_t read_count(const struct worker *w, const struct lane *lane)
{
    size_t room = w->env.options->max_inflight - w->inflight_events;
    size_t ahead = w->window - (size_t)(lane->next_read - lane->committed);
    size_t n = room < ahead ? room : ahead;

    if (w->set.ordered)
        return 1;
    if (lane->inflight > 0 &&
        n < (READ_MIN_ROOM < w->env.options->max_inflight / 2 ? READ_MIN_ROOM
                                                              : w->env.options->max_inflight / 2))
        return 0;
    if (n > READ_MAX_EVENTS)
        n = READ_MAX_EVENTS;
    if (n > w->set.batch_size)
        n -= n % w->set.batch_size;
    return n;
}

/*
 * Bytes to ask of the eventlog for n events: as many as records of the size
 * the last read found take, with room to spare.  The eventlog reads that
 * much from the file whatever the count, so asking 4 KiB an event for 1 KiB
 * events copied four times the bytes out of the page cache.  Events larger
 * than that only make the read end sooner (with fewer events).
 */
static size_t read_bytes(const struct worker *w, size_t n)
{
    size_t per_event = w->record_bytes ? w->record_bytes + w->record_bytes / 8 + 64
                                       : READ_BYTES_PER_EVENT;

    return n * per_event < READ_MAX_BYTES ? n * per_event : READ_MAX_BYTES;
}

/*
 * Reads what the lane can take and sends it; false when nothing was taken.
 * The batch is the worker's: its buffers serve read after read while the
 * lanes are busy (each read made them anew, growing them as it went), and
 * go when a read finds nothing, so an idle subscription holds none.  The
 * events made of a read point into it until their delivery is launched.
 */
static bool read_lane(struct worker *w, struct lane *lane)
{
    struct eventlog_batch *batch = &w->batch;
    size_t n = read_count(w, lane), i = 0;
    size_t bytes = read_bytes(w, n);

    if (n == 0)
        return false;
    if (eventlog_read(lane->log, lane->next_read, n, bytes, batch) != 0 || batch->count == 0) {
        eventlog_batch_free(batch);
        return false;
    }
    w->record_bytes = batch->buf.len / batch->count;
    if (batch->records[0].offset > lane->next_read) { /* retention went past us */
        memset(lane->settled, 0, w->window);
        lane->committed = lane->next_read = batch->records[0].offset;
        w->offsets_moved = true;
    }
    while (i < batch->count && has_room(w, lane))
        fill_delivery(w, lane, batch, &i);
    return i > 0;
}

static void refill_tokens(struct worker *w)
{
    uint64_t now = uv_now(w->env.loop);

    if (w->set.rate_limit <= 0)
        return;
    w->tokens += (double)(now - w->tokens_at_ms) * w->set.rate_limit / 1000.0;
    if (w->tokens > w->set.rate_limit)
        w->tokens = w->set.rate_limit;
    w->tokens_at_ms = now;
}

static void on_rate_timer(uv_timer_t *timer)
{
    pump(timer->data);
}

static void pump(struct worker *w)
{
    bool progress = true;

    if (w->pumping || w->stopping)
        return;
    w->pumping = true; /* deliveries that end at once call pump again: once is enough */
    while (progress) {
        progress = false;
        refill_tokens(w);
        for (uint32_t i = 0; i < w->lane_count; i++)
            if (has_room(w, &w->lanes[i]) && read_lane(w, &w->lanes[i]))
                progress = true;
    }
    w->pumping = false;
    if (w->set.rate_limit > 0 && w->tokens < 1 && !w->stopping)
        uv_timer_start(&w->rate_timer, on_rate_timer,
                       (uint64_t)(1000.0 / w->set.rate_limit) + 1, 0);
}

static void on_new_events(struct eventlog *log, uint64_t next_offset, void *arg)
{
    struct lane *lane = arg;

    (void)log;
    (void)next_offset;
    pump(lane->w);
}

/* ---- life ---------------------------------------------------------------------- */

static void settings_free(struct settings *set)
{
    vane_free(set->sink);
    vane_free(set->dead_letter_bus);
    curl_slist_free_all(set->headers);
}

static void worker_free(struct worker *w)
{
    for (uint32_t i = 0; i < w->lane_count; i++)
        vane_free(w->lanes[i].settled);
    filter_free(w->filter);
    transformer_free(w->transformer);
    external_transform_close(w->external);
    list_free(&w->ready);
    event_free(&w->scratch);
    eventlog_batch_free(&w->batch);
    settings_free(&w->set);
    vane_free(w->name);
    vane_free(w->eventbus);
    vane_free(w);
}

static void on_rate_timer_closed(uv_handle_t *handle)
{
    struct worker *w = handle->data;

    w->rate_timer_open = false;
    maybe_free(w);
}

static void maybe_free(struct worker *w)
{
    if (!w->stopping || w->deliveries > 0 || w->rate_timer_open)
        return;
    worker_free(w);
}

int worker_start(struct worker **out, const struct worker_env *env,
                 const struct subscription_meta *sub, char **errmsg)
{
    const struct store_bus *bus = store_bus(env->store, sub->eventbus);
    struct worker *w;
    int rc;

    if (bus == NULL || bus->meta->eventlog_count != sub->offset_count) {
        *errmsg = vane_asprintf("eventbus %s is not open", sub->eventbus);
        return -ENOENT;
    }
    w = VANE_NEW(w);
    w->env = *env;
    w->options = *env->options;
    w->env.options = &w->options;
    w->sub_id = sub->id;
    w->name = vane_strdup(sub->name);
    w->eventbus = vane_strdup(sub->eventbus);
    w->window = env->options->window;
    if ((rc = read_settings(w, sub, errmsg)) != 0 ||
        (rc = compile_pipeline(w, sub->spec, errmsg)) != 0) {
        worker_free(w);
        return rc;
    }
    w->tokens = w->set.rate_limit;
    w->tokens_at_ms = uv_now(env->loop);
    uv_timer_init(env->loop, &w->rate_timer);
    w->rate_timer.data = w;
    w->rate_timer_open = true;
    w->resend.w = w;
    w->lane_count = sub->offset_count;
    for (uint32_t i = 0; i < w->lane_count; i++) {
        struct lane *lane = &w->lanes[i];

        lane->w = w;
        lane->index = i;
        lane->log = bus->logs[i];
        lane->next_read = lane->committed = sub->offsets[i];
        lane->settled = vane_calloc(w->window, 1);
        lane->watch = eventlog_watch(lane->log, on_new_events, lane);
    }
    w->stats.running = true;
    series_for(w);
    *out = w;
    pump(w);
    return 0;
}

uint64_t worker_subscription(const struct worker *w)
{
    return w->sub_id;
}

const char *worker_name(const struct worker *w)
{
    return w->name;
}

/* Seconds since the lane's oldest unsettled event was stored, or 0. */
static double lane_lag_seconds(const struct lane *lane, int64_t now_ns)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    double lag = 0;

    if (eventlog_read(lane->log, lane->committed, 1, 4096, &batch) == 0 && batch.count > 0 &&
        now_ns > batch.records[0].stored_at)
        lag = (double)(now_ns - batch.records[0].stored_at) / 1e9;
    eventlog_batch_free(&batch);
    return lag;
}

bool worker_take_offsets(struct worker *w, uint64_t *offsets, uint32_t *count)
{
    bool moved = w->offsets_moved;

    for (uint32_t i = 0; i < w->lane_count; i++)
        offsets[i] = w->lanes[i].committed;
    *count = w->lane_count;
    w->offsets_moved = false;
    return moved;
}

void worker_stats(const struct worker *w, struct trigger_stats *stats)
{
    *stats = w->stats;
    stats->inflight = w->inflight_events;
    stats->lag_events = 0;
    stats->lag_seconds = 0;
    for (uint32_t i = 0; i < w->lane_count; i++) {
        struct eventlog_stats s;
        double lag;

        eventlog_stats(w->lanes[i].log, &s);
        if (s.next_offset <= w->lanes[i].committed)
            continue;
        stats->lag_events += s.next_offset - w->lanes[i].committed;
        if ((lag = lane_lag_seconds(&w->lanes[i], timestamp_now())) > stats->lag_seconds)
            stats->lag_seconds = lag;
    }
}

/* The dead letter's event as it was before: without the xvanusdl* extensions. */
static void undead(const struct record_view *rec, struct event *out)
{
    struct event in = EVENT_INIT;

    record_to_event(rec, &in);
    event_reset(out);
    for (size_t i = 0; i < in.attr_count; i++)
        if (in.attrs[i].name.len < 8 || memcmp(in.attrs[i].name.ptr, "xvanusdl", 8) != 0)
            event_add(out, in.attrs[i].name.ptr, in.attrs[i].name.len, &in.attrs[i].value);
    out->has_data = in.has_data;
    out->data = in.data;
    event_free(&in);
}

/* Its place before it was dead-lettered (for a second dead letter's xvanusdloffset). */
static uint64_t original_offset(const struct event *dead)
{
    const struct event_attr *at = event_get(dead, "xvanusdloffset");

    return at != NULL && at->value.type == EVENT_INTEGER ? (uint64_t)at->value.u.integer : 0;
}

static void resend_one(struct worker *w, const struct record_view *rec)
{
    struct delivery *d = delivery_new(w, &w->resend, 1);
    struct event dead = EVENT_INIT, plain = EVENT_INIT;
    struct event_list events = {NULL, 0, 0};
    struct vane_arena arena = VANE_ARENA_INIT;
    char error[sizeof(d->last_error)];
    size_t size;

    record_to_event(rec, &dead);
    undead(rec, &plain);
    size = record_size(&plain);
    vane_buf_reserve(&d->records, size);
    record_encode(&plain, d->records.data);
    record_seal(d->records.data, original_offset(&dead), rec->stored_at, 0, 0);
    d->records.len = size;
    d->offsets[d->count++] = original_offset(&dead);
    if (transform_event(w, &plain, &events, &arena, error, sizeof(error)) != 0) {
        snprintf(d->reason, sizeof(d->reason), "transform_failed");
        snprintf(d->last_error, sizeof(d->last_error), "%s", error);
    }
    if (events.count > 0 || d->reason[0] != '\0')
        launch(w, d, events.items, events.count);
    else
        delivery_end(d); /* its transformer drops it now */
    list_free(&events);
    event_free(&dead);
    event_free(&plain);
    vane_arena_free(&arena);
}

size_t worker_resend(struct worker *w, const struct record_view *records, size_t count)
{
    if (w->stopping)
        return 0;
    for (size_t i = 0; i < count; i++)
        resend_one(w, &records[i]);
    return count;
}

void worker_stop(struct worker *w)
{
    struct delivery *d, *next;

    w->stopping = true;
    w->stats.running = false;
    /* Deliveries with a sink connector are forgotten there and end now. */
    for (d = w->list; d != NULL; d = next) {
        next = d->next;
        if (d->routed) {
            w->options.router->cancel(w->options.router->arg, d);
            delivery_end(d);
        }
    }
    /* Deliveries waiting on a retry timer end now, not when it fires. */
    for (d = w->list; d != NULL; d = next) {
        next = d->next;
        if (d->timer_used && uv_is_active((uv_handle_t *)&d->retry_timer)) {
            uv_timer_stop(&d->retry_timer);
            delivery_end(d);
        }
    }
    for (uint32_t i = 0; i < w->lane_count; i++)
        eventlog_unwatch(w->lanes[i].log, w->lanes[i].watch);
    uv_close((uv_handle_t *)&w->rate_timer, on_rate_timer_closed);
}
