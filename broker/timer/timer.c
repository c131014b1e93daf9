/*
 * timer.c -- holding delayed events until their time (see timer.h).
 *
 * State: next_read, the first offset of __timer not yet read; a min-heap of
 * the held events by delivery time; the offsets being appended to their
 * eventbus.  The committed offset is the smallest offset still held or
 * being moved (or next_read when none is): everything before it is done.
 * One uv_timer is set to the earliest delivery time.
 *
 * Start-up is a chain, each step on the previous one's callback: __timer
 * exists (created if not) -> the __timer subscription exists (created if
 * not, at offset 0) -> read from its committed offset.
 */
#include <errno.h>
#include <string.h>

#include "controller/controller.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/crc32c.h"
#include "core/log.h"
#include "event/event_check.h"
#include "event/timestamp.h"
#include "store/record.h"
#include "timer/timer.h"

#define READ_BATCH 1024
#define COMMIT_INTERVAL_MS 1000

struct held {
    int64_t due_ns;
    uint64_t offset;
};

struct moving; /* an event on its way to its eventbus */

struct timer {
    uv_loop_t *loop;
    struct store *store;
    struct controller *controller;
    struct eventlog *log;
    void *watch;
    uint64_t sub_id, next_read, committed_sent;
    struct held *heap;
    size_t count, cap;
    uint64_t *moving; /* offsets being appended */
    size_t moving_count, moving_cap;
    uv_timer_t due_timer, commit_timer;
    int handles_open, commits_pending;
    int setup_pending; /* the creation of __timer or of its subscription, under way */
    bool ready, closing;
    void (*closed)(void *arg);
    void *closed_arg;
};

struct moving {
    struct timer *timer;
    uint64_t offset;
};

static const char component[] = "timer";

/* ---- the heap ------------------------------------------------------------- */

static void heap_swap(struct held *a, struct held *b)
{
    struct held t = *a;

    *a = *b;
    *b = t;
}

static void heap_push(struct timer *t, struct held h)
{
    size_t i;

    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->heap = vane_realloc(t->heap, t->cap * sizeof(*t->heap));
    }
    i = t->count++;
    t->heap[i] = h;
    while (i > 0 && t->heap[(i - 1) / 2].due_ns > t->heap[i].due_ns) {
        heap_swap(&t->heap[(i - 1) / 2], &t->heap[i]);
        i = (i - 1) / 2;
    }
}

static struct held heap_pop(struct timer *t)
{
    struct held top = t->heap[0];
    size_t i = 0;

    t->heap[0] = t->heap[--t->count];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < t->count && t->heap[l].due_ns < t->heap[m].due_ns)
            m = l;
        if (r < t->count && t->heap[r].due_ns < t->heap[m].due_ns)
            m = r;
        if (m == i)
            break;
        heap_swap(&t->heap[m], &t->heap[i]);
        i = m;
    }
    return top;
}

/* ---- delay ------------------------------------------------------------------ */

bool timer_is_delayed(const struct event *event, int64_t now_ns, int64_t *due_ns)
{
    const struct event_attr *at = event_get(event, EVENT_DELIVERY_TIME);
    const char *why;

    if (at == NULL || at->value.type != EVENT_TIMESTAMP ||
        timestamp_parse(at->value.u.bytes.ptr, at->value.u.bytes.len, due_ns, &why) != 0)
        return false;
    return *due_ns > now_ns + (int64_t)TIMER_MIN_DELAY_MS * 1000000;
}

size_t timer_pending(const struct timer *t)
{
    return t->count + t->moving_count;
}

/* ---- committing ---------------------------------------------------------------- */

static uint64_t committed(const struct timer *t)
{
    uint64_t low = t->next_read;

    for (size_t i = 0; i < t->count; i++)
        if (t->heap[i].offset < low)
            low = t->heap[i].offset;
    for (size_t i = 0; i < t->moving_count; i++)
        if (t->moving[i] < low)
            low = t->moving[i];
    return low;
}

static void maybe_closed(struct timer *t);

static void on_committed(void *arg, int status, const struct subscription_meta *sub)
{
    struct timer *t = arg;

    (void)sub;
    if (status != 0)
        vane_log_warn(component, "offset not committed: %s", vane_strerror(status));
    t->commits_pending--;
    maybe_closed(t);
}

static void commit(struct timer *t)
{
    uint64_t offset = committed(t);

    if (!t->ready || offset == t->committed_sent)
        return;
    if (controller_commit_offsets(t->controller, t->sub_id, &offset, 1, false, on_committed, t) ==
        0) {
        t->commits_pending++;
        t->committed_sent = offset;
    }
}

static void on_commit_timer(uv_timer_t *timer)
{
    commit(timer->data);
}

/* ---- moving events to their eventbus ------------------------------------------- */

static void moving_remove(struct timer *t, uint64_t offset)
{
    for (size_t i = 0; i < t->moving_count; i++) {
        if (t->moving[i] == offset) {
            t->moving[i] = t->moving[--t->moving_count];
            return;
        }
    }
}

static void arm(struct timer *t);

static void on_moved(void *arg, int status, uint64_t first_offset)
{
    struct moving *m = arg;
    struct timer *t = m->timer;

    (void)first_offset;
    if (status != 0) {
        /* Its eventbus could not take it now: hold it a second longer. */
        vane_log_warn(component, "a delayed event could not be stored: %s; retrying",
                      vane_strerror(status));
        if (!t->closing) {
            heap_push(t, (struct held){timestamp_now() + 1000000000, m->offset});
            arm(t);
        }
    }
    moving_remove(t, m->offset);
    vane_free(m);
    maybe_closed(t);
}

/* The event without xvanustimerbus, into out (whose array it allocates). */
static const char *strip_bus(const struct event *in, struct event *out, size_t *bus_len)
{
    const char *bus = NULL;

    for (size_t i = 0; i < in->attr_count; i++) {
        const struct event_attr *a = &in->attrs[i];

        if (a->name.len == strlen(TIMER_BUS_EXTENSION) &&
            memcmp(a->name.ptr, TIMER_BUS_EXTENSION, a->name.len) == 0) {
            bus = a->value.u.bytes.ptr;
            *bus_len = a->value.u.bytes.len;
            continue;
        }
        event_add(out, a->name.ptr, a->name.len, &a->value);
    }
    out->has_data = in->has_data;
    out->data = in->data;
    return bus;
}

static uint32_t eventlog_for(const struct event *event, uint32_t count, uint64_t offset)
{
    const struct event_attr *key = event_get(event, "partitionkey");

    if (key == NULL || key->value.type == EVENT_BOOLEAN || key->value.type == EVENT_INTEGER)
        return (uint32_t)(offset % count);
    return vane_crc32c(0, key->value.u.bytes.ptr, key->value.u.bytes.len) % count;
}

/* Appends the held event at offset to its eventbus. */
static void move(struct timer *t, uint64_t offset)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct event held = EVENT_INIT, out = EVENT_INIT;
    const struct store_bus *bus = NULL;
    struct moving *m;
    char name[CONTROLLER_MAX_NAME + 1];
    const char *target;
    size_t len = 0;

    if (eventlog_read(t->log, offset, 1, 4096, &batch) != 0 || batch.count == 0 ||
        batch.records[0].offset != offset)
        goto out; /* gone with retention: nothing to move */
    record_to_event(&batch.records[0], &held);
    target = strip_bus(&held, &out, &len);
    if (target != NULL && len <= CONTROLLER_MAX_NAME) {
        memcpy(name, target, len);
        name[len] = '\0';
        bus = store_bus(t->store, name);
    }
    if (bus == NULL) {
        vane_log_warn(component, "a delayed event's eventbus %.*s is gone; dropped",
                      (int)len, target ? target : "");
        goto out;
    }
    m = VANE_NEW(m);
    m->timer = t;
    m->offset = offset;
    if (t->moving_count == t->moving_cap) {
        t->moving_cap = t->moving_cap ? t->moving_cap * 2 : 16;
        t->moving = vane_realloc(t->moving, t->moving_cap * sizeof(*t->moving));
    }
    t->moving[t->moving_count++] = offset;
    if (eventlog_append(bus->logs[eventlog_for(&out, bus->meta->eventlog_count, offset)], &out,
                        1, on_moved, m) != 0)
        on_moved(m, -EAGAIN, 0);
out:
    event_free(&held);
    event_free(&out);
    eventlog_batch_free(&batch);
}

static void on_due(uv_timer_t *timer)
{
    struct timer *t = timer->data;
    int64_t now = timestamp_now();

    while (t->count > 0 && t->heap[0].due_ns <= now + 1000000)
        move(t, heap_pop(t).offset);
    arm(t);
}

/* Sets the uv_timer to the earliest delivery time. */
static void arm(struct timer *t)
{
    int64_t wait_ns;

    if (t->closing || t->count == 0) {
        uv_timer_stop(&t->due_timer);
        return;
    }
    wait_ns = t->heap[0].due_ns - timestamp_now();
    uv_timer_start(&t->due_timer, on_due, wait_ns > 0 ? (uint64_t)(wait_ns / 1000000) : 0, 0);
}

/* ---- reading __timer -------------------------------------------------------------- */

static void read_new(struct timer *t)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct event event = EVENT_INIT;

    while (eventlog_read(t->log, t->next_read, READ_BATCH, 1u << 20, &batch) == 0 &&
           batch.count > 0) {
        for (size_t i = 0; i < batch.count; i++) {
            int64_t due = 0;

            record_to_event(&batch.records[i], &event);
            timer_is_delayed(&event, INT64_MIN / 2, &due); /* any time at all: its due time */
            heap_push(t, (struct held){due, batch.records[i].offset});
        }
        t->next_read = batch.next_offset;
    }
    event_free(&event);
    eventlog_batch_free(&batch);
    arm(t);
}

static void on_new_events(struct eventlog *log, uint64_t next_offset, void *arg)
{
    (void)log;
    (void)next_offset;
    read_new(arg);
}

static void begin(struct timer *t, const struct subscription_meta *sub)
{
    t->sub_id = sub->id;
    t->next_read = t->committed_sent = sub->offsets[0];
    t->ready = true;
    t->watch = eventlog_watch(t->log, on_new_events, t);
    read_new(t);
    if (t->count > 0)
        vane_log_info(component, "%zu delayed events held", t->count);
}

static void on_subscription(void *arg, int status, const struct subscription_meta *sub)
{
    struct timer *t = arg;

    t->setup_pending--;
    if (t->closing) {
        maybe_closed(t);
        return;
    }
    if (status != 0 || sub == NULL) {
        vane_log_error(component, "cannot keep the timer's offset: %s; delayed events wait",
                       vane_strerror(status ? status : -ENOENT));
        return;
    }
    begin(t, sub);
}

/* The __timer subscription (disabled: it only keeps the offset). */
static void find_subscription(struct timer *t)
{
    const struct subscription_meta *sub =
        controller_find_subscription_named(t->controller, TIMER_EVENTBUS);
    struct subscription_meta spec = {.name = TIMER_EVENTBUS, .eventbus = TIMER_EVENTBUS,
                                     .disabled = true, .offset_count = 1};
    char *errmsg = NULL;

    if (sub != NULL) {
        begin(t, sub);
        return;
    }
    spec.spec = json_pack("{s:s, s:s}", "sink", "internal:timer", "description",
                          "the timer's place in __timer");
    if (controller_create_subscription(t->controller, &spec, on_subscription, t, &errmsg) != 0) {
        vane_log_error(component, "cannot create the timer's subscription: %s", errmsg);
        vane_free(errmsg);
    } else {
        t->setup_pending++;
    }
    json_decref(spec.spec);
}

/* __timer is open (or could not be made): on to its subscription. */
static void use_bus(struct timer *t, int status)
{
    const struct store_bus *open = status == 0 ? store_bus(t->store, TIMER_EVENTBUS) : NULL;

    if (open == NULL) {
        vane_log_error(component, "cannot create %s: %s", TIMER_EVENTBUS,
                       vane_strerror(status ? status : -ENOENT));
        return;
    }
    t->log = open->logs[0];
    find_subscription(t);
}

static void on_bus_created(void *arg, int status, const struct eventbus_meta *bus)
{
    struct timer *t = arg;

    (void)bus;
    t->setup_pending--;
    if (t->closing)
        maybe_closed(t);
    else
        use_bus(t, status);
}

int timer_start(struct timer **out, uv_loop_t *loop, struct store *store)
{
    struct timer *t = VANE_NEW(t);
    struct eventbus_meta spec = {.name = TIMER_EVENTBUS, .eventlog_count = 1,
                                 .description = "delayed events, until their time"};
    char *errmsg = NULL;
    int rc = 0;

    t->loop = loop;
    t->store = store;
    t->controller = store_controller(store);
    uv_timer_init(loop, &t->due_timer);
    uv_timer_init(loop, &t->commit_timer);
    t->due_timer.data = t->commit_timer.data = t;
    t->handles_open = 2;
    uv_timer_start(&t->commit_timer, on_commit_timer, COMMIT_INTERVAL_MS, COMMIT_INTERVAL_MS);
    if (store_bus(store, TIMER_EVENTBUS) != NULL)
        use_bus(t, 0);
    else if ((rc = store_create_eventbus(store, &spec, on_bus_created, t, &errmsg)) != 0)
        vane_log_error(component, "cannot create %s: %s", TIMER_EVENTBUS, errmsg);
    else
        t->setup_pending++;
    vane_free(errmsg);
    *out = t;
    return 0;
}

static void maybe_closed(struct timer *t)
{
    if (!t->closing || t->handles_open > 0 || t->commits_pending > 0 || t->moving_count > 0 ||
        t->setup_pending > 0)
        return;
    vane_free(t->heap);
    vane_free(t->moving);
    if (t->closed != NULL)
        t->closed(t->closed_arg);
    vane_free(t);
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct timer *t = handle->data;

    t->handles_open--;
    maybe_closed(t);
}

void timer_close(struct timer *t, void (*closed)(void *arg), void *arg)
{
    commit(t);
    t->closing = true;
    t->closed = closed;
    t->closed_arg = arg;
    if (t->watch != NULL)
        eventlog_unwatch(t->log, t->watch);
    uv_close((uv_handle_t *)&t->due_timer, on_handle_closed);
    uv_close((uv_handle_t *)&t->commit_timer, on_handle_closed);
}
