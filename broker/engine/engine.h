/*
 * engine.h -- the connector engine (the seed's Connector Serverless
 * Engine): source and sink connectors run as instances of their plugin in
 * worker processes, started on demand and scaled between min and max.
 *
 * A connector is a name and a spec (doc/connectors.md):
 *
 *     {"plugin": "sink-http", "subscription": "orders-to-crm",   (a sink)
 *      "options": {"url": "http://crm.local/hook"},
 *      "min": 0, "max": 4, "idle_timeout": "60s", "concurrency": 16,
 *      "timeout": "30s"}
 *     {"plugin": "source-http", "eventbus": "orders", ...}        (a source)
 *
 * The controller keeps the specs (controller_put_connector), so they
 * survive a restart and, in a cluster, reach every node; the engine
 * follows its changes.  The spec is checked before it is proposed
 * (engine_check_spec): the plugin must be loaded and be a source or sink,
 * its options valid against the plugin's table, the eventbus or
 * subscription must exist, 0 <= min <= max <= ENGINE_MAX_INSTANCES.
 *
 * Instances.  Each instance is a process: vaned itself, re-executed with
 * --connector-worker (worker_main.c), which loads the plugin from the
 * registry's private copy of the file (so a replaced .so is used by new
 * instances and running ones keep theirs) and speaks wire.h's frames on
 * file descriptor 3.  A plugin that crashes takes only its process: the
 * engine sees the exit, counts a restart, keeps the error for the status,
 * puts the instance's unacknowledged deliveries back at the head of the
 * connector's queue, and starts a new instance after a backoff (200 ms,
 * doubling to 10 s, reset once an instance has run for 30 s).  HTTP
 * requests a crashed instance was answering get 502: the client retries
 * (source-http's events carry stable ids when the request has them, and
 * the idempotency window recognizes repeats).
 *
 * Work.  Sinks receive the events of their subscription: the trigger hands
 * each delivery to the engine (engine_sink_router) instead of an HTTP sink,
 * and the delivery settles when the plugin acknowledges.  Sources are
 * started to produce (start) and receive the HTTP requests sent to
 * /connectors/{name}; what they emit is published to their eventbus like
 * POST /gateway/{eventbus} (publish_submit), and the plugin hears back once
 * it is durable.  Each instance takes up to "concurrency" events (or
 * requests) at once -- a delivery of more goes to an idle instance alone;
 * the rest waits in the connector's queue, in order.
 *
 * Scaling.  Work arriving at a connector with no instance starts one (its
 * first request waits for it: the cold start).  While work waits in the
 * queue because every instance is busy, one more instance is started at a
 * time, up to max.  An instance idle for idle_timeout is stopped, down to
 * min.  An instance that holds a piece of work longer than "timeout" is
 * hung: it is killed (a crash, restarted) and its deliveries go to
 * another.  A source that answers no HTTP (source-git) only runs while min
 * is at least 1.  Stopping sends STOP; an instance that has not exited 5 s
 * later is killed.
 *
 * Everything runs on the loop thread.
 */
#ifndef VANE_ENGINE_H
#define VANE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "vane/plugin.h"

#define ENGINE_MAX_INSTANCES 64

struct engine;
struct gateway;
struct controller;
struct plugin_registry;
struct trigger_sink_router;

struct engine_env {
    uv_loop_t *loop;
    struct gateway *gateway;          /* publishing a source's events */
    struct controller *controller;    /* the specs, and their changes */
    struct plugin_registry *plugins;  /* where plugins are found */
    const char *exe_path;             /* vaned's own executable, re-executed per instance */
    int log_level, log_format;        /* core/log.h's, for the workers' logs */
    const char *config_connectors;    /* the config file's "connectors" (JSON), or NULL */
};

/*
 * Starts the engine and every connector the controller knows (their min
 * instances).  The config file's connectors are then made, or updated when
 * their spec changed, through the controller like the API's (so they show
 * in the API, and one deleted there comes back at the next start); one
 * whose spec is refused is logged with the field at fault and skipped.
 */
int engine_start(struct engine **engine, const struct engine_env *env);

/*
 * Checks a spec the API was given for the connector name (create when no
 * connector has that name yet).  Returns 0, or -EINVAL with *errmsg naming
 * the field ("plugin", "options.url", "max", ...) and what was expected.
 */
int engine_check_spec(struct engine *engine, const char *name, const json_t *spec,
                      char **errmsg);

/*
 * The status of a connector: {"kind", "instances": [{"pid", "state",
 * "inflight", "plugin_version"}...], "running", "starting", "queued",
 * "restarts", "last_error", "events_in", "events_out", and the effective
 * "min", "max", "concurrency", "idle_timeout_ms"}; a new reference, or
 * NULL for an unknown name.
 */
json_t *engine_status(struct engine *engine, const char *name);

/*
 * The answer: status, "Name: value" header lines (header_count of them)
 * and body, all valid during the call only.  status 502/503/404 with a
 * JSON error body when the engine answers for the connector.
 */
typedef void (*engine_http_reply_cb)(void *arg, int status, const char *const *headers,
                                     size_t header_count, const char *body, size_t body_len);

/*
 * Sends req (copied; the SDK's form, path after /connectors/{name}) to an instance of the source connector name, starting
 * one if none runs.  Returns 0 (reply will run, exactly once), or -ENOENT
 * when no source connector has that name (reply will not run).
 */
int engine_http(struct engine *engine, const char *name, const struct vane_http_request *req,
                engine_http_reply_cb reply, void *arg);

/* What the trigger calls to find and use a subscription's sink connector. */
const struct trigger_sink_router *engine_sink_router(struct engine *engine);

/* The instances running now, over every connector (for /metrics and the tests). */
size_t engine_instance_count(const struct engine *engine);

/* Stops every instance (STOP, then kill after 5 s), then calls closed(arg). */
void engine_close(struct engine *engine, void (*closed)(void *arg), void *arg);

/* The worker process's entry point: vaned --connector-worker.  Returns the exit status. */
int engine_worker_main(void);

#endif
