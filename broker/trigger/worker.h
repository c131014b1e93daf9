/*
 * worker.h -- one subscription's delivery (the trigger's part; see
 * trigger.h for the guarantees).
 *
 * A worker has a lane per eventlog of the eventbus.  A lane reads events
 * from its eventlog past the committed offset, at most the trigger's
 * window ahead of it, and wakes on new events (eventlog_watch).  Each event
 * is filtered, transformed and put into a delivery (one event, or up to
 * batch_size in batch mode) that is sent to the sink; a delivery that fails
 * in a way worth retrying (no connection, a timeout, 5xx, 408, 429) is sent
 * again after an exponential backoff with jitter, or after Retry-After,
 * until max_retry_attempts; then, or at once for any other 4xx or a failed
 * transformation, its events go to the dead-letter eventbus.  An event is
 * settled when acknowledged, filtered out or dead-lettered; a lane's
 * committed offset is the first unsettled one.  At most max_inflight events
 * are under delivery, so a stalled sink holds memory bounded; rate_limit
 * bounds events per second; ordered_event delivers one event at a time per
 * eventlog.
 */
#ifndef VANE_TRIGGER_WORKER_H
#define VANE_TRIGGER_WORKER_H

#include <stdbool.h>

#include "controller/controller.h"
#include "trigger/http_client.h"
#include "trigger/trigger.h"

struct worker;

/* The metric families every worker counts into, by subscription name (trigger.c declares them). */
struct worker_families {
    struct metrics_family *delivered, *retried, *dead_lettered, *filtered, *transform_failures;
    struct metrics_family *delivery_seconds;
};

/* What a worker needs from the trigger. */
struct worker_env {
    uv_loop_t *loop;
    struct store *store;
    struct http_client *http;
    const struct trigger_options *options;
    const struct worker_families *families; /* NULL: nothing counted in /metrics */
};

/* Starts delivering sub; returns 0, or -EINVAL with *errmsg when its spec does not compile. */
int worker_start(struct worker **worker, const struct worker_env *env,
                 const struct subscription_meta *sub, char **errmsg);

uint64_t worker_subscription(const struct worker *worker);
const char *worker_name(const struct worker *worker);

/* The committed offsets, one per eventlog; true when they moved since the last call. */
bool worker_take_offsets(struct worker *worker, uint64_t *offsets, uint32_t *count);

/* Its figures; the lag is read from the eventlogs now. */
void worker_stats(const struct worker *worker, struct trigger_stats *stats);

/*
 * Sends dead letters of this subscription (records of its dead-letter
 * eventbus) to the sink again, as they were before they were dead-lettered
 * (the xvanusdl* extensions taken off, transformed again); those that fail
 * again are dead-lettered again.  Returns how many were sent.
 */
size_t worker_resend(struct worker *worker, const struct record_view *records, size_t count);

/* Stops reading and sending; the worker frees itself once its requests are done. */
void worker_stop(struct worker *worker);

#endif
