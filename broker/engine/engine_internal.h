/*
 * engine_internal.h -- what the engine's files share: connectors, their
 * instances and the work queued for them.  Not for the rest of the broker.
 *
 * A piece of work is one sink delivery (one or more records, each sent to
 * the instance as a DELIVER frame of its own, settled when every one is
 * acknowledged) or one HTTP request to a source.  It waits in its
 * connector's queue until an instance has room (its events under way and
 * the work's within concurrency, or none under way), then sits in that instance's list with its frames'
 * sequence numbers in the instance's pending map until answered.  When the
 * instance dies, its deliveries go back to the head of the queue, in the
 * order they were sent, and its HTTP requests are answered 502.
 *
 * Instances are found again by id, never by pointer, from callbacks that
 * can outlive them (a publish of emitted events completing after the
 * instance exited).
 */
#ifndef VANE_ENGINE_INTERNAL_H
#define VANE_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "core/buf.h"
#include "core/u64map.h"
#include "engine/engine.h"
#include "engine/wire.h"
#include "trigger/trigger.h"

enum work_kind {
    WORK_DELIVER,
    WORK_HTTP,
};

struct instance;
struct connector;

struct work {
    enum work_kind kind;
    struct connector *conn;
    struct instance *inst;   /* NULL while queued */
    struct vane_buf payload; /* DELIVER: the records; HTTP: the encoded request */
    size_t parts;            /* DELIVER: records (frames); HTTP: 1 */
    size_t answered;
    int status;              /* DELIVER: the worst answer so far */
    char message[256];
    trigger_sink_done_cb done; /* DELIVER */
    void *ctx;
    engine_http_reply_cb reply; /* HTTP; NULL once cancelled */
    void *reply_arg;
    uint64_t assigned_ms;     /* when an instance got it (uv_now) */
    unsigned give_backs;      /* instances that ended while they held it */
    struct work *prev, *next; /* in the queue, or the instance's list */
};

enum instance_state {
    INSTANCE_STARTING, /* spawned, INIT sent, no READY yet */
    INSTANCE_READY,
    INSTANCE_STOPPING, /* STOP sent (or never started): waiting for the exit */
};

struct instance {
    struct engine *engine;
    struct connector *conn;  /* may be freed before the handles close: use engine there */
    uint64_t id;
    enum instance_state state;
    struct plugin *plugin; /* the version this instance runs (a reference) */
    uv_process_t process;
    uv_pipe_t pipe;
    uv_timer_t kill_timer;
    unsigned open_handles; /* closed when 0: the instance is freed */
    bool exited;
    bool killed;           /* by the engine, which said why in last_error */
    struct wire_reader reader;
    struct vane_buf out;     /* frames to write at the end of this turn */
    uint64_t next_seq;
    struct u64map pending;   /* frame seq -> struct work * */
    struct work *works;      /* under way here */
    size_t inflight;         /* events under way (a delivery's records; 1 a request) */
    uint64_t started_ms, ready_ms, last_active_ms;
    struct instance *next;
};

struct connector {
    struct engine *engine;
    char *name;
    json_t *spec;
    int kind;            /* VANE_PLUGIN_SOURCE or VANE_PLUGIN_SINK */
    char *plugin;
    char *target;        /* the eventbus (source) or subscription (sink) */
    char *options;       /* JSON text */
    bool takes_http;     /* a source with an http callback */
    unsigned min, max, concurrency;
    uint64_t idle_ms;
    uint64_t timeout_ms; /* work held longer than this: the instance is killed */
    struct instance *instances;
    unsigned running;    /* instances not stopping */
    struct work *queue_head, *queue_tail;
    size_t queued;
    uint64_t restarts, events_in, events_out;
    char last_error[512];
    unsigned crash_streak;
    uint64_t next_start_ms; /* no start before (the crash backoff) */
    bool start_failed;      /* the last start failed: the tick fails queued work */
    bool deleted;
    struct connector *next;
};

struct engine {
    struct engine_env env;
    struct connector *connectors;
    uv_timer_t tick;
    struct trigger_sink_router router;
    uint64_t next_instance_id;
    unsigned live_instances; /* allocated, handles not all closed */
    unsigned pending_emits;  /* a source's events being published: their callbacks use the engine */
    bool closing;
    void (*closed)(void *arg);
    void *closed_arg;
};

/* instance.c */
int instance_start(struct connector *conn);
void instance_stop(struct instance *inst);
/* Kills inst (SIGKILL): a crash, as far as the restart and its work are concerned. */
void instance_kill(struct instance *inst);
/* Sends work to inst (which has room). */
void instance_assign(struct instance *inst, struct work *work);
/* Sends what instances buffered this turn. */
void instance_flush(struct instance *inst);
struct instance *instance_find(struct engine *engine, uint64_t id);

/* engine.c, for instance.c */
void connector_pump(struct connector *conn);
void connector_requeue(struct connector *conn, struct work *work);
/* inst exited (crashed when it was not asked to): unlink it, restart or scale. */
void connector_instance_gone(struct connector *conn, struct instance *inst, bool crashed);
void work_finish(struct work *work);
void engine_maybe_closed(struct engine *engine);

#endif
