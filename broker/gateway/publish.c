/*
 * publish.c -- the publish endpoint (see publish.h).
 *
 * A request becomes a struct publish that lives until every event of it is
 * settled: appended (its eventlog answered), found stored already, or
 * waiting on another publish of the same (source, id) still in flight.
 * The HTTP request can go away meanwhile (the client hung up); a small
 * guard in the request's memory pool tells the publish so, and the publish
 * then finishes without answering.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/log.h"
#include "event/event_json.h"
#include "event/timestamp.h"
#include "gateway/auth.h"
#include "gateway/binding.h"
#include "gateway/idempotency.h"
#include "gateway/publish.h"
#include "gateway/response.h"
#include "metrics/metrics.h"
#include "timer/timer.h"

#define ROUTE "/gateway/"
/* The events held for later (timer.h) are a group of their own, after the eventlogs'. */
#define TIMER_GROUP CONTROLLER_MAX_EVENTLOGS
#define GROUP_COUNT (CONTROLLER_MAX_EVENTLOGS + 1)
/* Bytes read to check a repeat's candidate: one record, however large, comes anyway. */
#define VERIFY_MAX_BYTES 4096

/* Each eventbus's gateway counters, looked up once (metrics.h). */
struct bus_counters {
    struct metrics_series *received_events, *received_bytes;
    struct metrics_series *stored_events, *stored_bytes, *duplicates;
};

struct publish_state {
    struct idempotency idem;
    struct u64map round_robin; /* eventbus id -> requests routed so far */
    struct u64map counters;    /* eventbus id -> struct bus_counters * */
    struct metrics_family *received_events, *received_bytes, *stored_events, *stored_bytes,
        *duplicates, *rejected_events, *rejected_bytes;
};

struct publish_handler {
    h2o_handler_t super;
    struct gateway *gw;
};

struct publish;

struct publish_item {
    struct publish *owner;
    uint64_t key;
    uint32_t eventlog;
    uint64_t offset;
    bool duplicate, settled;
    bool delayed;              /* held by the timer: the position is in __timer */
    int status;                /* of its append, or of the publish it waited on */
    struct publish_item *same; /* the in-flight item this one repeats, or NULL */
};

struct append_group {
    struct publish *publish;
    uint32_t eventlog;
    size_t count;
    size_t bytes;  /* of the records, for the metrics */
    size_t *items; /* indices into publish->items, in append order */
};

struct publish {
    struct gateway *gw;
    struct response_later later; /* the request, until the client hangs up */
    struct binding_events in;
    const struct store_bus *bus;
    uint64_t bus_id;
    struct publish_item *items;
    struct append_group groups[GROUP_COUNT]; /* one per eventlog, then the timer's */
    size_t unsettled;       /* items not yet settled */
    size_t appends_pending; /* groups whose eventlog has not answered */
    publish_done_cb done;     /* a publish_submit()'s caller, instead of an HTTP request */
    void *done_arg;
    struct publish **waiters; /* other publishes whose items repeat ours */
    size_t waiter_count;
    int error;                /* the first failure, or 0 */
};

static const char component[] = "gateway";

static void finish(struct publish *p);

/* --- counting ---------------------------------------------------------- */

static void declare_metrics(struct publish_state *state, struct metrics *m)
{
    state->received_events = metrics_counter(m, "vane_gateway_events_received_total",
                                             "Events received for publishing.", "eventbus");
    state->received_bytes = metrics_counter(m, "vane_gateway_bytes_received_total",
                                            "Request body bytes received for publishing.",
                                            "eventbus");
    state->stored_events = metrics_counter(m, "vane_gateway_events_stored_total",
                                           "Events stored (durable).", "eventbus");
    state->stored_bytes = metrics_counter(m, "vane_gateway_bytes_stored_total",
                                          "Bytes of the stored events' records.", "eventbus");
    state->duplicates = metrics_counter(m, "vane_gateway_events_duplicate_total",
                                        "Events answered from the idempotency window, not "
                                        "stored again.",
                                        "eventbus");
    state->rejected_events = metrics_counter(m, "vane_gateway_events_rejected_total",
                                             "Events refused, by reason.", "eventbus,reason");
    state->rejected_bytes = metrics_counter(m, "vane_gateway_bytes_rejected_total",
                                            "Request body bytes refused, by reason.",
                                            "eventbus,reason");
}

static struct bus_counters *bus_counters(struct publish_state *state,
                                         const struct eventbus_meta *meta)
{
    const char *const labels[] = {meta->name};
    struct bus_counters *c;
    uint64_t found;

    if (u64map_get(&state->counters, meta->id, &found))
        return (struct bus_counters *)(uintptr_t)found;
    c = VANE_NEW(c);
    c->received_events = metrics_series(state->received_events, labels);
    c->received_bytes = metrics_series(state->received_bytes, labels);
    c->stored_events = metrics_series(state->stored_events, labels);
    c->stored_bytes = metrics_series(state->stored_bytes, labels);
    c->duplicates = metrics_series(state->duplicates, labels);
    u64map_put(&state->counters, meta->id, (uint64_t)(uintptr_t)c);
    return c;
}

/* The counters of p's eventbus, or NULL once it was deleted (and they with it). */
static struct bus_counters *counters_of(const struct publish *p)
{
    uint64_t found;

    if (!u64map_get(&p->gw->publish->counters, p->bus_id, &found))
        return NULL;
    return (struct bus_counters *)(uintptr_t)found;
}

static void count(struct publish *p, size_t offset, uint64_t n)
{
    struct bus_counters *c = counters_of(p);

    if (c != NULL)
        metrics_inc(*(struct metrics_series **)((char *)c + offset), n);
}

#define COUNT(p, counter, n) count((p), offsetof(struct bus_counters, counter), (n))

static void count_rejected(struct publish_state *state, const struct eventbus_meta *meta,
                           const char *reason, size_t events, size_t bytes)
{
    const char *const labels[] = {meta->name, reason};

    metrics_inc(metrics_series(state->rejected_events, labels), events);
    metrics_inc(metrics_series(state->rejected_bytes, labels), bytes);
}

/* --- answering -------------------------------------------------------- */

static void answer_error(h2o_req_t *req, int status, const struct event_error *err, long index)
{
    response_error_at(req, status, response_reason(status), err->field, index, err->message);
}

static void write_item(struct vane_buf *out, const struct event *event,
                       const struct publish_item *item)
{
    const struct event_attr *id = event_get(event, "id");

    vane_buf_append_str(out, "{\"id\":");
    event_json_string(out, id->value.u.bytes.ptr, id->value.u.bytes.len);
    vane_buf_appendf(out, ",\"eventlog\":%u,\"offset\":%llu,\"duplicate\":%s%s}",
                     item->eventlog, (unsigned long long)item->offset,
                     item->duplicate ? "true" : "false", item->delayed ? ",\"delayed\":true" : "");
}

static void answer(struct publish *p)
{
    struct vane_buf body = VANE_BUF_INIT;

    if (p->error != 0) {
        struct event_error err;

        event_fail(&err, "store", NULL,
                   "the events could not all be stored (%s); some may be: publishing again is "
                   "safe, repeats are recognized by source and id",
                   vane_strerror(p->error));
        answer_error(p->later.req, 503, &err, -1);
        return;
    }
    vane_buf_append_str(&body, "{\"events\":[");
    for (size_t i = 0; i < p->in.count; i++) {
        if (i > 0)
            vane_buf_append(&body, ",", 1);
        write_item(&body, &p->in.events[i], &p->items[i]);
    }
    vane_buf_append_str(&body, "]}\n");
    response_send(p->later.req, 200, "OK", "application/json", body.data, body.len);
    vane_buf_free(&body);
}

static void publish_free_one(struct publish *p)
{
    for (size_t g = 0; g < GROUP_COUNT; g++)
        vane_free(p->groups[g].items);
    binding_events_free(&p->in);
    vane_free(p->items);
    vane_free(p->waiters);
    vane_free(p);
}

/* Tells a publish_submit()'s caller where each event went. */
static void report(struct publish *p)
{
    struct publish_position *positions = vane_calloc(p->in.count + 1, sizeof(*positions));

    for (size_t i = 0; i < p->in.count; i++)
        positions[i] = (struct publish_position){p->items[i].eventlog, p->items[i].offset,
                                                 p->items[i].duplicate};
    p->done(p->done_arg, p->error, positions, p->in.count);
    vane_free(positions);
}

static void finish(struct publish *p)
{
    if (p->done != NULL)
        report(p);
    else if (p->later.req != NULL)
        answer(p);
    response_later_end(&p->later);
    publish_free_one(p);
}

/* --- settling items ----------------------------------------------------- */

static void settle(struct publish *p, struct publish_item *item, int status)
{
    item->settled = true;
    item->status = status;
    if (status != 0 && p->error == 0)
        p->error = status;
    if (--p->unsettled == 0)
        finish(p);
}

/* Items that repeat an item of p (in p or in a waiting publish) take its position. */
static void settle_repeats_in(struct publish *waiter, const struct publish *p)
{
    waiter->unsettled++; /* hold the waiter: settling its last item would free it */
    for (size_t i = 0; i < waiter->in.count; i++) {
        struct publish_item *item = &waiter->items[i];

        if (item->settled || item->same == NULL || item->same->owner != p)
            continue;
        item->eventlog = item->same->eventlog;
        item->offset = item->same->offset;
        item->duplicate = true;
        COUNT(waiter, duplicates, 1);
        settle(waiter, item, item->same->status);
    }
    if (--waiter->unsettled == 0)
        finish(waiter);
}

/* Every append of p is answered: settle the items, in p and in the publishes
 * waiting on it, that repeat p's.  The caller holds p (see start()). */
static void release_waiters(struct publish *p)
{
    struct publish **waiters = p->waiters;
    size_t count = p->waiter_count;

    p->waiters = NULL;
    p->waiter_count = 0;
    for (size_t i = 0; i < count; i++)
        settle_repeats_in(waiters[i], p);
    vane_free(waiters);
    settle_repeats_in(p, p);
}

static void on_appended(void *arg, int status, uint64_t first_offset)
{
    struct append_group *group = arg;
    struct publish *p = group->publish;
    uint64_t now = uv_now(p->gw->loop);

    /* The events may point into the HTTP request, gone if the client hung
     * up: only positions are used from here on. */
    p->unsettled++; /* hold p until the end of this function */
    for (size_t k = 0; k < group->count; k++) {
        struct publish_item *item = &p->items[group->items[k]];

        idempotency_clear_pending(&p->gw->publish->idem, item->key);
        item->offset = first_offset + k;
        if (status == 0 && !item->delayed) /* a delayed one's position is in __timer */
            idempotency_stored(&p->gw->publish->idem, item->key, item->eventlog, item->offset,
                               now);
        settle(p, item, status);
    }
    if (status == 0) {
        COUNT(p, stored_events, group->count);
        COUNT(p, stored_bytes, group->bytes);
    }
    if (--p->appends_pending == 0)
        release_waiters(p);
    if (--p->unsettled == 0)
        finish(p);
}

/* --- routing events to eventlogs ----------------------------------------- */

static uint32_t partition_of(const struct event *event, uint32_t count, uint32_t round_robin)
{
    const struct event_attr *key = event_get(event, "partitionkey");
    char text[32];

    if (key == NULL)
        return round_robin;
    if (key->value.type == EVENT_INTEGER || key->value.type == EVENT_BOOLEAN) {
        int n = key->value.type == EVENT_INTEGER
                    ? snprintf(text, sizeof(text), "%lld", (long long)key->value.u.integer)
                    : snprintf(text, sizeof(text), "%s", key->value.u.boolean ? "true" : "false");

        return vane_crc32c(0, text, (size_t)n) % count;
    }
    return vane_crc32c(0, key->value.u.bytes.ptr, key->value.u.bytes.len) % count;
}

static uint32_t next_round_robin(struct publish_state *state, uint64_t bus_id, uint32_t count)
{
    uint64_t n = 0;

    u64map_get(&state->round_robin, bus_id, &n);
    u64map_put(&state->round_robin, bus_id, n + 1);
    return (uint32_t)(n % count);
}

/* --- idempotency ---------------------------------------------------------- */

static bool same_bytes(const struct event_attr *a, const struct event_attr *b)
{
    return a != NULL && b != NULL && a->value.u.bytes.len == b->value.u.bytes.len &&
           memcmp(a->value.u.bytes.ptr, b->value.u.bytes.ptr, a->value.u.bytes.len) == 0;
}

/* Reads the stored candidate back: is it really this (source, id)? */
static bool stored_matches(const struct store_bus *bus, uint32_t eventlog, uint64_t offset,
                           const struct event *event)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct event stored = EVENT_INIT;
    bool same = false;

    if (eventlog < bus->meta->eventlog_count &&
        eventlog_read(bus->logs[eventlog], offset, 1, VERIFY_MAX_BYTES, &batch) == 0 &&
        batch.count == 1 && batch.records[0].offset == offset) {
        record_to_event(&batch.records[0], &stored);
        same = same_bytes(event_get(&stored, "source"), event_get(event, "source")) &&
               same_bytes(event_get(&stored, "id"), event_get(event, "id"));
    }
    event_free(&stored);
    eventlog_batch_free(&batch);
    return same;
}

static void wait_for(struct publish *p, struct publish_item *item, struct publish_item *first)
{
    struct publish *owner = first->owner;

    item->same = first;
    if (owner == p)
        return;
    for (size_t i = 0; i < owner->waiter_count; i++)
        if (owner->waiters[i] == p)
            return;
    owner->waiters = vane_realloc(owner->waiters, (owner->waiter_count + 1) * sizeof(p));
    owner->waiters[owner->waiter_count++] = p;
}

/* true when the event was already published: item is then answered or waiting. */
static bool find_repeat(struct publish *p, struct publish_item *item, const struct event *event)
{
    struct idempotency *idem = &p->gw->publish->idem;
    struct publish_item *first = idempotency_find_pending(idem, item->key);

    if (first != NULL) {
        wait_for(p, item, first);
        return true;
    }
    if (!idempotency_find_stored(idem, item->key, &item->eventlog, &item->offset,
                                 uv_now(p->gw->loop)))
        return false;
    if (!stored_matches(p->bus, item->eventlog, item->offset, event)) {
        idempotency_forget(idem, item->key);
        return false;
    }
    item->duplicate = true;
    COUNT(p, duplicates, 1);
    settle(p, item, 0);
    return true;
}

/* --- the request ---------------------------------------------------------- */

static void add_to_group(struct publish *p, size_t index, uint32_t eventlog)
{
    struct append_group *group = &p->groups[eventlog];

    if (group->items == NULL) {
        group->publish = p;
        group->eventlog = eventlog;
        group->items = vane_malloc(p->in.count * sizeof(*group->items));
    }
    group->items[group->count++] = index;
    p->items[index].eventlog = eventlog == TIMER_GROUP ? 0 : eventlog;
}

/* Gives each item its key, and each new event its eventlog group. */
static void route_events(struct publish *p)
{
    struct idempotency *idem = &p->gw->publish->idem;
    uint32_t logs = p->bus->meta->eventlog_count;
    uint32_t rr = next_round_robin(p->gw->publish, p->bus_id, logs);
    int64_t now = timestamp_now(), due;

    for (size_t i = 0; i < p->in.count; i++) {
        const struct event *event = &p->in.events[i];
        const struct event_attr *source = event_get(event, "source"), *id = event_get(event, "id");
        struct publish_item *item = &p->items[i];

        item->owner = p;
        item->key = idempotency_key(p->bus_id, source->value.u.bytes.ptr,
                                    source->value.u.bytes.len, id->value.u.bytes.ptr,
                                    id->value.u.bytes.len);
        if (find_repeat(p, item, event))
            continue;
        idempotency_set_pending(idem, item->key, item);
        if (timer_is_delayed(event, now, &due)) {
            item->delayed = true;
            add_to_group(p, i, TIMER_GROUP);
        } else {
            add_to_group(p, i, partition_of(event, logs, rr));
        }
    }
}

/* The events of a group, as they are appended: the timer's carry their eventbus's name. */
static struct event *group_events(const struct publish *p, struct append_group *group)
{
    struct event *events = vane_calloc(group->count, sizeof(*events));

    for (size_t k = 0; k < group->count; k++) {
        const struct event *in = &p->in.events[group->items[k]];

        if (group->eventlog != TIMER_GROUP) {
            events[k] = *in; /* shared attributes: not to be changed or freed */
        } else {
            for (size_t a = 0; a < in->attr_count; a++)
                event_add(&events[k], in->attrs[a].name.ptr, in->attrs[a].name.len,
                          &in->attrs[a].value);
            event_add_string(&events[k], TIMER_BUS_EXTENSION, EVENT_STRING, p->bus->meta->name);
            events[k].has_data = in->has_data;
            events[k].data = in->data;
        }
        group->bytes += record_size(&events[k]);
    }
    return events;
}

static void free_group_events(struct append_group *group, struct event *events)
{
    if (group->eventlog == TIMER_GROUP)
        for (size_t k = 0; k < group->count; k++)
            event_free(&events[k]);
    vane_free(events);
}

/* Where delayed events wait: __timer's eventlog, on every node of a cluster
 * (only the node that runs the timer moves them on, see timer.h). */
static struct eventlog *timer_log(const struct gateway *gw)
{
    const struct store_bus *bus = store_bus(gw->store, TIMER_EVENTBUS);

    return bus != NULL ? bus->logs[0] : NULL;
}

/* Appends each group; a group its eventlog refuses settles at once with the error. */
static void append_groups(struct publish *p)
{
    for (uint32_t g = 0; g < GROUP_COUNT; g++) {
        struct append_group *group = &p->groups[g];
        struct eventlog *log = g == TIMER_GROUP ? timer_log(p->gw) : NULL;
        struct event *events;
        int rc;

        if (group->count == 0)
            continue;
        if (g != TIMER_GROUP)
            log = p->bus->logs[g];
        events = group_events(p, group);
        rc = log ? eventlog_append(log, events, group->count, on_appended, group)
                 : VANE_ENOTREADY;
        free_group_events(group, events);
        if (rc != 0) {
            vane_log_warn(component, "eventbus %s %s %u refused %zu events: %s",
                          p->bus->meta->name, g == TIMER_GROUP ? "timer" : "eventlog", g,
                          group->count, vane_strerror(rc));
            on_appended(group, rc, 0);
        }
    }
}

/*
 * Routes and appends the events.  p is held (one more unsettled item and
 * one more pending append than it has) until every append is under way, so
 * answers that come at once cannot finish it early.
 */
static void start(struct publish *p)
{
    p->unsettled = p->in.count + 1;
    p->appends_pending = 1;
    route_events(p);
    for (uint32_t g = 0; g < GROUP_COUNT; g++)
        p->appends_pending += p->groups[g].count > 0;
    append_groups(p);
    if (--p->appends_pending == 0)
        release_waiters(p);
    if (--p->unsettled == 0)
        finish(p);
}

/*
 * The eventbus named by the path after /gateway/; or NULL, having answered
 * 404 -- or, for one that exists but whose eventlogs this node is still
 * opening (just created, or in a cluster electing their leaders), with its
 * name in opening[] and nothing answered yet.
 */
static const struct store_bus *find_bus(struct gateway *gw, h2o_req_t *req,
                                        char opening[CONTROLLER_MAX_NAME + 1])
{
    /* The route also takes "/gateway" itself: then the name is empty. */
    size_t skip = req->path_normalized.len < strlen(ROUTE) ? req->path_normalized.len
                                                            : strlen(ROUTE);
    const char *name = req->path_normalized.base + skip;
    size_t len = req->path_normalized.len - skip;
    const struct store_bus *bus = NULL;

    opening[0] = '\0';
    if (len > 0 && len <= CONTROLLER_MAX_NAME && memchr(name, '/', len) == NULL) {
        memcpy(opening, name, len);
        opening[len] = '\0';
        bus = store_bus(gw->store, opening);
        if (bus != NULL || controller_find(store_controller(gw->store), opening) != NULL)
            return bus;
    }
    opening[0] = '\0';
    response_error(req, 404, "Not Found", "eventbus", "no eventbus named \"%.*s\"",
                   (int)(len < 200 ? len : 200), name);
    return NULL;
}

/* h2o's view of the request, as binding.h takes it. */
static void describe_request(h2o_req_t *req, struct binding_request *out,
                             struct binding_header *headers)
{
    ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);

    memset(out, 0, sizeof(*out));
    if (ct >= 0) {
        out->content_type = req->headers.entries[ct].value.base;
        out->content_type_len = req->headers.entries[ct].value.len;
    }
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];

        headers[i] = (struct binding_header){h->name->base, h->value.base, h->name->len,
                                             h->value.len};
    }
    out->headers = headers;
    out->header_count = req->headers.size;
    out->body = req->entity.base;
    out->body_len = req->entity.base ? req->entity.len : 0;
}

/* Reads the request's events and starts storing them in bus. */
static void accept_publish(struct gateway *gw, h2o_req_t *req, const struct store_bus *bus)
{
    struct binding_header *headers;
    struct binding_request in;
    struct publish *p;

    p = VANE_NEW(p);
    p->gw = gw;
    p->bus = bus;
    p->bus_id = bus->meta->id;
    headers = h2o_mem_alloc_pool(&req->pool, (req->headers.size + 1) * sizeof(*headers));
    describe_request(req, &in, headers);
    bus_counters(gw->publish, bus->meta); /* made at first use */
    if (binding_parse(&in, &p->in) != 0) {
        count_rejected(gw->publish, bus->meta, p->in.error.reason, p->in.count ? p->in.count : 1,
                       in.body_len);
        answer_error(req, p->in.status, &p->in.error, p->in.error_index);
        publish_free_one(p);
        return;
    }
    COUNT(p, received_events, p->in.count);
    COUNT(p, received_bytes, in.body_len);
    response_later_start(&p->later, req);
    p->items = vane_calloc(p->in.count ? p->in.count : 1, sizeof(*p->items));
    start(p);
}

/*
 * A publish to an eventbus whose eventlogs are still opening waits for
 * them, checking every HOLD_CHECK_MS, for up to HOLD_MAX_MS; then 503.
 * (In a cluster an eventbus just created through one node opens on the
 * others as soon as its groups there know their leaders: moments later.)
 */
#define HOLD_CHECK_MS 20
#define HOLD_MAX_MS 5000

struct publish_hold {
    struct response_later later;
    struct gateway *gw;
    uv_timer_t timer;
    uint64_t deadline;
    char name[CONTROLLER_MAX_NAME + 1];
};

static void on_hold_closed(uv_handle_t *handle)
{
    vane_free(handle->data);
}

/* Stopping ends the wait at once (503): the store may be closing. */
static void on_hold_check(uv_timer_t *timer)
{
    struct publish_hold *hold = timer->data;
    h2o_req_t *req = hold->later.req;
    bool ready = hold->gw->health->state == HEALTH_READY;
    const struct store_bus *bus = ready ? store_bus(hold->gw->store, hold->name) : NULL;

    if (req != NULL && ready && bus == NULL && uv_now(hold->gw->loop) < hold->deadline)
        return;
    if (req != NULL && bus != NULL)
        accept_publish(hold->gw, req, bus);
    else if (req != NULL)
        response_error(req, 503, "Service Unavailable", "eventbus",
                       "eventbus \"%s\" is still starting its eventlogs; try again", hold->name);
    response_later_end(&hold->later);
    uv_timer_stop(timer);
    uv_close((uv_handle_t *)timer, on_hold_closed);
}

static void hold_publish(struct gateway *gw, h2o_req_t *req, const char *name)
{
    struct publish_hold *hold = VANE_NEW(hold);

    hold->gw = gw;
    snprintf(hold->name, sizeof(hold->name), "%s", name);
    hold->deadline = uv_now(gw->loop) + HOLD_MAX_MS;
    response_later_start(&hold->later, req);
    uv_timer_init(gw->loop, &hold->timer);
    hold->timer.data = hold;
    uv_timer_start(&hold->timer, on_hold_check, HOLD_CHECK_MS, HOLD_CHECK_MS);
}

static int on_publish(h2o_handler_t *self, h2o_req_t *req)
{
    struct gateway *gw = ((struct publish_handler *)self)->gw;
    char opening[CONTROLLER_MAX_NAME + 1];
    const struct store_bus *bus;

    if (response_check_method(req, "POST") || gateway_check_ready(gw, req) ||
        auth_check(gw->auth, req, AUTH_PUBLISH))
        return 0;
    if ((bus = find_bus(gw, req, opening)) != NULL)
        accept_publish(gw, req, bus);
    else if (opening[0] != '\0')
        hold_publish(gw, req, opening);
    return 0;
}

int publish_submit(struct gateway *gw, const char *bus_name, struct binding_events *events,
                   publish_done_cb done, void *arg)
{
    const struct store_bus *bus;
    struct publish *p;

    if (gw->health->state != HEALTH_READY || gw->store == NULL)
        return -EAGAIN;
    if ((bus = store_bus(gw->store, bus_name)) == NULL)
        return -ENOENT;
    p = VANE_NEW(p);
    p->gw = gw;
    p->bus = bus;
    p->bus_id = bus->meta->id;
    p->in = *events;
    memset(events, 0, sizeof(*events));
    p->done = done;
    p->done_arg = arg;
    bus_counters(gw->publish, bus->meta); /* made at first use */
    COUNT(p, received_events, p->in.count);
    p->items = vane_calloc(p->in.count ? p->in.count : 1, sizeof(*p->items));
    start(p);
    return 0;
}

void publish_register(struct http_server *server, struct gateway *gw)
{
    struct publish_handler *h;

    gw->publish = VANE_NEW(gw->publish);
    idempotency_init(&gw->publish->idem, gw->cfg->idempotency_window_ms, uv_now(gw->loop));
    declare_metrics(gw->publish, gw->metrics);
    h = (struct publish_handler *)http_server_route(server, "/gateway", on_publish, sizeof(*h));
    h->gw = gw;
}

/* Remembers the (source, id) of every event of log stored since since_ns. */
static size_t recover_eventlog(struct idempotency *idem, uint64_t bus_id, uint32_t index,
                               struct eventlog *log, int64_t since_ns, uint64_t now_ms)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct event event = EVENT_INIT;
    uint64_t offset = eventlog_offset_at_time(log, since_ns);
    size_t count = 0;

    while (eventlog_read(log, offset, 4096, 4u << 20, &batch) == 0 && batch.count > 0) {
        for (size_t i = 0; i < batch.count; i++) {
            const struct event_attr *source, *id;

            record_to_event(&batch.records[i], &event);
            source = event_get(&event, "source");
            id = event_get(&event, "id");
            if (source == NULL || id == NULL)
                continue;
            idempotency_stored(idem,
                               idempotency_key(bus_id, source->value.u.bytes.ptr,
                                               source->value.u.bytes.len, id->value.u.bytes.ptr,
                                               id->value.u.bytes.len),
                               index, batch.records[i].offset, now_ms);
            count++;
        }
        offset = batch.next_offset;
    }
    event_free(&event);
    eventlog_batch_free(&batch);
    return count;
}

void publish_recover(struct gateway *gw)
{
    uint64_t window_ms = gw->cfg->idempotency_window_ms, now_ms = uv_now(gw->loop);
    const struct eventbus_meta *const *buses;
    size_t count, events = 0;

    if (window_ms == 0)
        return;
    buses = controller_list(store_controller(gw->store), &count);
    for (size_t b = 0; b < count; b++) {
        const struct store_bus *bus = store_bus(gw->store, buses[b]->name);

        for (uint32_t i = 0; bus != NULL && i < bus->meta->eventlog_count; i++)
            events += recover_eventlog(&gw->publish->idem, bus->meta->id, i, bus->logs[i],
                                       timestamp_now() - (int64_t)window_ms * 1000000,
                                       now_ms);
    }
    if (events > 0)
        vane_log_info(component, "idempotency window: %zu events published in the last %llu s",
                      events, (unsigned long long)(window_ms / 1000));
}

void publish_forget_eventbus(struct gateway *gw, uint64_t bus_id, const char *name)
{
    uint64_t found;

    if (gw->publish == NULL)
        return;
    if (u64map_get(&gw->publish->counters, bus_id, &found)) {
        vane_free((void *)(uintptr_t)found);
        u64map_remove(&gw->publish->counters, bus_id);
    }
    u64map_remove(&gw->publish->round_robin, bus_id);
    metrics_drop_label(gw->metrics, "eventbus", name);
}

void publish_free(struct gateway *gw)
{
    size_t cursor = 0;
    uint64_t key, value;

    if (gw->publish == NULL)
        return;
    idempotency_free(&gw->publish->idem);
    u64map_free(&gw->publish->round_robin);
    while (u64map_next(&gw->publish->counters, &cursor, &key, &value))
        vane_free((void *)(uintptr_t)value);
    u64map_free(&gw->publish->counters);
    vane_free(gw->publish);
    gw->publish = NULL;
}
