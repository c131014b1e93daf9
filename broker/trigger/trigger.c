/*
 * trigger.c -- a worker per enabled subscription, kept in step with the
 * controller, and the offsets they reach committed (see trigger.h).
 *
 * Changes come from the controller's subscription listener: created or
 * resumed starts a worker; updated (spec, name, a reset of the offsets)
 * restarts it from the committed offsets; disabled or deleted stops it.
 * A worker started for a subscription whose dead-letter eventbus does not
 * exist yet has it created here (one eventlog).  Every commit_interval_ms
 * the offsets that moved are proposed to the controller; at close, once
 * more, and the close waits for those proposals.
 */
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "trigger/trigger.h"
#include "trigger/worker.h"

struct trigger {
    struct worker_env env;
    struct trigger_options options;
    struct metrics *metrics;
    struct worker_families families;
    struct metrics_family *lag_events, *lag_seconds, *inflight;
    struct controller *controller;
    struct worker **workers;
    size_t count, cap;
    uv_timer_t commit_timer;
    int commits_pending; /* proposals not yet applied */
    bool closing, http_closed, timer_closed;
    void (*closed)(void *arg);
    void *closed_arg;
};

static const char component[] = "trigger";

void trigger_options_default(struct trigger_options *options)
{
    options->max_inflight = 256;
    options->window = 65536;
    options->commit_interval_ms = 1000;
    options->retry_base_ms = 500;
    options->retry_max_ms = 60000;
}

/* ---- workers --------------------------------------------------------------- */

static ssize_t find_worker(const struct trigger *t, uint64_t sub_id)
{
    for (size_t i = 0; i < t->count; i++)
        if (worker_subscription(t->workers[i]) == sub_id)
            return (ssize_t)i;
    return -1;
}

static void on_dead_letter_bus(void *arg, int status, const struct eventbus_meta *bus)
{
    (void)arg;
    if (status != 0 && status != -EEXIST)
        vane_log_warn(component, "cannot create a dead-letter eventbus: %s", vane_strerror(status));
    else if (bus != NULL)
        vane_log_info(component, "dead-letter eventbus %s created", bus->name);
}

char *trigger_dead_letter_bus(const struct subscription_meta *sub)
{
    const json_t *config = json_object_get(sub->spec, "config");
    const char *name = json_string_value(json_object_get(config, "dead_letter_eventbus"));

    if (json_is_true(json_object_get(config, "disable_dead_letter")))
        return NULL;
    return name != NULL ? vane_strdup(name) : vane_asprintf("__dl_%s", sub->eventbus);
}

/* Creates the subscription's dead-letter eventbus when it is missing. */
static void ensure_dead_letter_bus(struct trigger *t, const struct subscription_meta *sub)
{
    char *name = trigger_dead_letter_bus(sub), *errmsg = NULL;
    struct eventbus_meta spec = {.name = name, .eventlog_count = 1,
                                 .description = "dead letters"};

    if (name != NULL && controller_find(t->controller, name) == NULL &&
        store_create_eventbus(t->env.store, &spec, on_dead_letter_bus, t, &errmsg) != 0)
        vane_log_warn(component, "cannot create dead-letter eventbus %s: %s", name,
                      errmsg ? errmsg : "refused");
    vane_free(errmsg);
    vane_free(name);
}

/*
 * Starts sub's worker.  from (one offset per eventlog, or NULL) is where a
 * worker it replaces got to: the new one starts at the later of that and
 * the committed offsets, so settled events are not sent again.
 */
static void start_worker(struct trigger *t, const struct subscription_meta *sub,
                         const uint64_t *from)
{
    struct subscription_meta start = *sub;
    struct worker *w;
    char *errmsg = NULL;

    if (sub->disabled || t->closing)
        return;
    for (uint32_t i = 0; from != NULL && i < start.offset_count; i++)
        if (from[i] > start.offsets[i])
            start.offsets[i] = from[i];
    ensure_dead_letter_bus(t, sub);
    if (worker_start(&w, &t->env, &start, &errmsg) != 0) {
        vane_log_error(component, "subscription %s (%llu) does not run: %s", sub->name,
                       (unsigned long long)sub->id, errmsg);
        vane_free(errmsg);
        return;
    }
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->workers = vane_realloc(t->workers, t->cap * sizeof(*t->workers));
    }
    t->workers[t->count++] = w;
}

static void on_committed(void *arg, int status, const struct subscription_meta *sub);

/*
 * Stops a worker; unless its subscription is gone, commits where it got
 * (into reached, one per eventlog, when not NULL).  Returns false when
 * there was no worker.
 */
static bool stop_worker(struct trigger *t, uint64_t sub_id, bool commit, uint64_t *reached)
{
    ssize_t i = find_worker(t, sub_id);
    uint64_t offsets[CONTROLLER_MAX_EVENTLOGS];
    uint32_t n;

    if (i < 0)
        return false;
    worker_take_offsets(t->workers[i], offsets, &n);
    if (commit && controller_commit_offsets(t->controller, sub_id, offsets, n, false,
                                            on_committed, t) == 0)
        t->commits_pending++;
    if (reached != NULL)
        memcpy(reached, offsets, n * sizeof(*offsets));
    worker_stop(t->workers[i]);
    t->workers[i] = t->workers[--t->count];
    return true;
}

/*
 * A change from the controller.  Deleted: the worker stops.  Offsets reset:
 * it starts again from them.  Otherwise (created, changed, disabled,
 * resumed) a worker that ran commits where it got and a new one starts
 * from there.  A deleted or renamed subscription's series go.
 */
static void on_subscription(struct controller *c, enum controller_change change,
                            const struct subscription_meta *sub, void *arg)
{
    struct trigger *t = arg;
    ssize_t i = find_worker(t, sub->id);
    uint64_t reached[CONTROLLER_MAX_EVENTLOGS];
    bool had = false;

    (void)c;
    if (i >= 0) {
        char *name = vane_strdup(worker_name(t->workers[i]));

        /* After a reset the old worker's place must not be committed over it. */
        had = stop_worker(t, sub->id,
                          change != CONTROLLER_DELETED && change != CONTROLLER_OFFSETS_RESET,
                          reached);
        if (change == CONTROLLER_DELETED || strcmp(name, sub->name) != 0)
            metrics_drop_label(t->metrics, "subscription", name);
        vane_free(name);
    }
    if (change != CONTROLLER_DELETED)
        start_worker(t, sub, had && change != CONTROLLER_OFFSETS_RESET ? reached : NULL);
}

/* ---- offsets ----------------------------------------------------------------- */

static void maybe_closed(struct trigger *t);

static void on_committed(void *arg, int status, const struct subscription_meta *sub)
{
    struct trigger *t = arg;

    (void)sub;
    if (status != 0 && status != -ENOENT)
        vane_log_warn(component, "offsets not committed: %s", vane_strerror(status));
    t->commits_pending--;
    maybe_closed(t);
}

static void commit_all(struct trigger *t)
{
    for (size_t i = 0; i < t->count; i++) {
        uint64_t offsets[CONTROLLER_MAX_EVENTLOGS];
        uint32_t n;

        if (!worker_take_offsets(t->workers[i], offsets, &n))
            continue;
        if (controller_commit_offsets(t->controller, worker_subscription(t->workers[i]),
                                      offsets, n, false, on_committed, t) == 0)
            t->commits_pending++;
    }
}

static void on_commit_timer(uv_timer_t *timer)
{
    commit_all(timer->data);
}

/* ---- metrics ----------------------------------------------------------------- */

static void declare_metrics(struct trigger *t)
{
    static const double buckets[] = METRICS_LATENCY_BUCKETS;
    struct metrics *m = t->metrics;

    t->families.delivered = metrics_counter(m, "vane_subscription_delivered_total",
                                            "Events the sink acknowledged.", "subscription");
    t->families.retried = metrics_counter(m, "vane_subscription_retries_total",
                                          "Deliveries sent again after a failure.",
                                          "subscription");
    t->families.dead_lettered = metrics_counter(m, "vane_subscription_dead_lettered_total",
                                                "Events put in the dead-letter eventbus.",
                                                "subscription");
    t->families.filtered = metrics_counter(m, "vane_subscription_filtered_total",
                                           "Events the filters left out.", "subscription");
    t->families.transform_failures = metrics_counter(
        m, "vane_subscription_transform_failures_total",
        "Events whose transformation failed (then dead-lettered).", "subscription");
    t->families.delivery_seconds = metrics_histogram(
        m, "vane_subscription_delivery_seconds", "From sending a delivery to the sink's answer.",
        "subscription", buckets, sizeof(buckets) / sizeof(buckets[0]));
    t->lag_events = metrics_gauge(m, "vane_subscription_lag_events",
                                  "Events stored but not yet settled.", "subscription");
    t->lag_seconds = metrics_gauge(m, "vane_subscription_lag_seconds",
                                   "Age of the oldest event not yet settled.", "subscription");
    t->inflight = metrics_gauge(m, "vane_subscription_inflight_events",
                                "Events under delivery.", "subscription");
    t->env.families = m != NULL ? &t->families : NULL;
}

/* At each scrape: every running subscription's lag and events in flight. */
static void collect(struct metrics *m, void *arg)
{
    struct trigger *t = arg;

    (void)m;
    if (t->closing)
        return;
    for (size_t i = 0; i < t->count; i++) {
        const char *const labels[] = {worker_name(t->workers[i])};
        struct trigger_stats stats;

        worker_stats(t->workers[i], &stats);
        metrics_set(metrics_series(t->lag_events, labels), (double)stats.lag_events);
        metrics_set(metrics_series(t->lag_seconds, labels), stats.lag_seconds);
        metrics_set(metrics_series(t->inflight, labels), (double)stats.inflight);
    }
}

/* ---- life -------------------------------------------------------------------- */

int trigger_start(struct trigger **out, uv_loop_t *loop, struct store *store,
                  struct metrics *metrics, const struct trigger_options *options)
{
    struct trigger *t = VANE_NEW(t);
    const struct subscription_meta *const *subs;
    size_t count;
    int rc;

    t->options = *options;
    t->options.metrics = metrics; /* where plugins' metric_add counts */
    t->env.loop = loop;
    t->env.store = store;
    t->env.options = &t->options;
    t->controller = store_controller(store);
    t->metrics = metrics;
    declare_metrics(t);
    if ((rc = http_client_create(&t->env.http, loop)) != 0) {
        vane_free(t);
        return rc;
    }
    uv_timer_init(loop, &t->commit_timer);
    t->commit_timer.data = t;
    uv_timer_start(&t->commit_timer, on_commit_timer, options->commit_interval_ms,
                   options->commit_interval_ms);
    controller_set_subscription_listener(t->controller, on_subscription, t);
    subs = controller_subscriptions(t->controller, &count);
    for (size_t i = 0; i < count; i++)
        start_worker(t, subs[i], NULL);
    metrics_on_collect(metrics, collect, t);
    *out = t;
    return 0;
}

bool trigger_stats(const struct trigger *t, uint64_t sub_id, struct trigger_stats *stats)
{
    ssize_t i = find_worker(t, sub_id);

    if (i < 0)
        return false;
    worker_stats(t->workers[i], stats);
    return true;
}

int trigger_resend(struct trigger *t, uint64_t sub_id, const struct record_view *records,
                   size_t count, size_t *sent)
{
    ssize_t i = find_worker(t, sub_id);

    if (i < 0)
        return -ENOENT;
    *sent = worker_resend(t->workers[i], records, count);
    return 0;
}

static void maybe_closed(struct trigger *t)
{
    if (!t->closing || t->commits_pending > 0 || !t->http_closed || !t->timer_closed)
        return;
    vane_free(t->workers);
    if (t->closed != NULL)
        t->closed(t->closed_arg);
    vane_free(t);
}

static void on_http_closed(void *arg)
{
    struct trigger *t = arg;

    t->http_closed = true;
    maybe_closed(t);
}

static void on_timer_closed(uv_handle_t *handle)
{
    struct trigger *t = handle->data;

    t->timer_closed = true;
    maybe_closed(t);
}

void trigger_close(struct trigger *t, void (*closed)(void *arg), void *arg)
{
    t->closing = true;
    t->closed = closed;
    t->closed_arg = arg;
    controller_set_subscription_listener(t->controller, NULL, NULL);
    commit_all(t);
    while (t->count > 0)
        stop_worker(t, worker_subscription(t->workers[t->count - 1]), false, NULL);
    uv_close((uv_handle_t *)&t->commit_timer, on_timer_closed);
    http_client_close(t->env.http, on_http_closed, t);
}
