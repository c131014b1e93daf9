/*
 * trigger.h -- subscriptions at work: every enabled subscription reads its
 * eventbus's eventlogs from its committed offsets, filters, transforms and
 * delivers each event to its sink, retries, dead-letters what cannot be
 * delivered, and commits its offsets.
 *
 * The trigger follows the controller: a subscription created, updated,
 * disabled, resumed, reset or deleted starts, restarts or stops its worker
 * (worker.h).  Delivery is at least once: an offset is committed only once
 * every event before it was acknowledged by the sink, filtered out, or
 * stored in the dead-letter eventbus; after a restart a worker begins at
 * the committed offsets, so events in flight then are delivered again.
 * Everything runs on the loop thread; outbound HTTP is libcurl multi on the
 * loop (http_client.h), one client shared by every worker.
 */
#ifndef VANE_TRIGGER_H
#define VANE_TRIGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "controller/controller.h"
#include "store/record.h"
#include "store/store.h"

struct trigger;
struct plugin_registry;
struct script_registry;
struct metrics;

/*
 * Where deliveries go when a sink connector serves the subscription
 * (engine.h) instead of its HTTP sink.  serves() says whether one does, by
 * subscription name; deliver() hands it count records (concatenated, the
 * store's format, encoded but not sealed: read them with
 * record_decode_unsealed()) and returns 0, after which done(ctx, status,
 * message) runs once, later, on the loop: status 0 delivered, -EAGAIN to be tried
 * again, another negative error a dead letter with message as the reason;
 * or deliver() returns a negative error and done never runs.  cancel(ctx)
 * forgets a delivery whose subscription stopped: done then never runs.
 */
typedef void (*trigger_sink_done_cb)(void *ctx, int status, const char *message);

struct trigger_sink_router {
    bool (*serves)(void *arg, const char *subscription);
    int (*deliver)(void *arg, const char *subscription, const void *records, size_t len,
                   size_t count, trigger_sink_done_cb done, void *ctx);
    void (*cancel)(void *arg, void *ctx);
    void *arg;
    /* Events one delivery should gather at most (a sink connector's
     * concurrency), capped at 100; NULL or 0: 100. */
    size_t (*batch)(void *arg, const char *subscription);
};

struct trigger_options {
    size_t max_inflight;        /* events under delivery per subscription (default 256) */
    size_t window;              /* events read past the committed offset per eventlog (65536) */
    uint64_t commit_interval_ms; /* how often offsets are committed (default 1000) */
    uint64_t retry_base_ms;     /* first retry after this; doubling (default 500) */
    uint64_t retry_max_ms;      /* backoff cap (default 60000) */
    const struct trigger_sink_router *router; /* sink connectors; NULL: none (the default) */
    struct plugin_registry *plugins; /* filter and transform plugins; NULL: none */
    struct script_registry *scripts; /* Lua scripts; NULL: none */
    struct metrics *metrics;         /* trigger_start() sets it to its own metrics */
};

void trigger_options_default(struct trigger_options *options);

struct trigger_stats {
    uint64_t delivered, retried, dead_lettered, filtered, failed_transform;
    uint64_t inflight;
    uint64_t lag_events;     /* stored but not yet settled, over every eventlog */
    double lag_seconds;      /* since the oldest unsettled event was stored; 0 when none */
    bool running;
};


/*
 * Starts a worker for every enabled subscription; call once the store is
 * ready.  Per subscription, /metrics gets (metrics may be NULL):
 * vane_subscription_{delivered,retries,dead_lettered,filtered,
 * transform_failures}_total, vane_subscription_delivery_seconds (from
 * sending to the sink's answer), and at each scrape
 * vane_subscription_{lag_events,lag_seconds,inflight_events}.
 */
int trigger_start(struct trigger **trigger, uv_loop_t *loop, struct store *store,
                  struct metrics *metrics, const struct trigger_options *options);

/* A subscription's figures; false when it has no worker (disabled, or unknown). */
bool trigger_stats(const struct trigger *trigger, uint64_t sub_id, struct trigger_stats *stats);

/*
 * The name of sub's dead-letter eventbus (config.dead_letter_eventbus, else
 * __dl_<eventbus>), freed by the caller; NULL when dead letters are off.
 */
char *trigger_dead_letter_bus(const struct subscription_meta *sub);

/* Sends dead letters of a subscription again (worker.h); -ENOENT when it has no worker. */
int trigger_resend(struct trigger *trigger, uint64_t sub_id, const struct record_view *records,
                   size_t count, size_t *sent);

/*
 * Stops every worker, commits the offsets they reached, ends the HTTP
 * requests still under way; closed(arg) runs once all is done.  Before the
 * store closes.
 */
void trigger_close(struct trigger *trigger, void (*closed)(void *arg), void *arg);

#endif
