/*
 * instance.c -- one connector instance: a worker process and the broker's
 * end of its socket (see engine.h and engine_internal.h).
 *
 * Start: take a reference to the plugin's current version, spawn vaned
 * --connector-worker with the socket as file descriptor 3 and stdout and
 * stderr shared (a sink-stdout prints where vaned does; plugin log lines
 * go to vaned's log), and send INIT.  The instance is READY when the
 * worker says so; work is sent to it only then.  The worker's environment
 * is the broker's with UV_THREADPOOL_SIZE raised to the connector's
 * concurrency, so that plugins blocking in the host's thread pool can use
 * all of it.
 *
 * Frames written during one callback are gathered in inst->out and
 * written once (instance_flush), so a burst of deliveries costs one write;
 * after the frames a read brought, the connector is pumped, since acks
 * free room for the work waiting in its queue.
 *
 * End: the process's exit is the one place an instance ends, whatever
 * came first (a crash, STOP answered, the kill timer, the socket closing).
 * An exit the engine did not ask for is a crash: counted, logged with the
 * status or signal, and backed off before the next start (engine.c).  The
 * three handles close, and the last close frees the instance.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "engine/engine_internal.h"
#include "event/event_check.h"
#include "gateway/binding.h"
#include "gateway/gateway.h"
#include "gateway/publish.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_registry.h"
#include "store/record.h"

static const char component[] = "engine";

#define STOP_GRACE_MS 5000
#define MAX_GIVE_BACKS 5

struct instance *instance_find(struct engine *engine, uint64_t id)
{
    for (struct connector *c = engine->connectors; c != NULL; c = c->next)
        for (struct instance *i = c->instances; i != NULL; i = i->next)
            if (i->id == id)
                return i;
    return NULL;
}

void instance_flush(struct instance *inst)
{
    if (inst->out.len == 0)
        return;
    if (inst->exited || wire_write((uv_stream_t *)&inst->pipe, &inst->out) != 0)
        vane_buf_reset(&inst->out); /* the exit callback deals with what was under way */
}

static void send_frame(struct instance *inst, enum wire_type type, uint64_t seq,
                       const void *payload, size_t len)
{
    wire_frame_append(&inst->out, type, seq, payload, len);
}

/* ---- work ------------------------------------------------------------------ */

void instance_assign(struct instance *inst, struct work *work)
{
    const char *at = work->payload.data, *end = at + work->payload.len;

    work->inst = inst;
    work->prev = NULL;
    work->next = inst->works;
    if (inst->works != NULL)
        inst->works->prev = work;
    inst->works = work;
    inst->inflight += work->parts;
    inst->last_active_ms = work->assigned_ms = uv_now(inst->conn->engine->env.loop);
    work->answered = 0;
    work->status = 0;
    if (work->kind == WORK_HTTP) {
        u64map_put(&inst->pending, ++inst->next_seq, (uint64_t)(uintptr_t)work);
        send_frame(inst, WIRE_HTTP_REQUEST, inst->next_seq, at, work->payload.len);
        return;
    }
    while (at < end) { /* one DELIVER frame per record */
        uint32_t size = record_peek_size(at, (size_t)(end - at));

        u64map_put(&inst->pending, ++inst->next_seq, (uint64_t)(uintptr_t)work);
        send_frame(inst, WIRE_DELIVER, inst->next_seq, at, size);
        at += size;
    }
    inst->conn->events_in += work->parts;
}

/* Takes work off inst's list. */
static void unassign(struct instance *inst, struct work *work)
{
    if (work->prev != NULL)
        work->prev->next = work->next;
    else
        inst->works = work->next;
    if (work->next != NULL)
        work->next->prev = work->prev;
    work->prev = work->next = NULL;
    work->inst = NULL;
    inst->inflight -= work->parts;
    inst->last_active_ms = uv_now(inst->conn->engine->env.loop);
}

static struct work *pending_work(struct instance *inst, uint64_t seq)
{
    uint64_t found;

    if (!u64map_get(&inst->pending, seq, &found))
        return NULL;
    u64map_remove(&inst->pending, seq);
    return (struct work *)(uintptr_t)found;
}

static int on_ack(struct instance *inst, const struct wire_frame *frame)
{
    struct work *work = pending_work(inst, frame->seq);
    struct wire_cursor c;
    const char *message;
    size_t len;
    int status;

    if (work == NULL || work->kind != WORK_DELIVER)
        return 0; /* a repeat, or for work already given back */
    wire_cursor_init(&c, frame);
    status = (int32_t)wire_get_u32(&c);
    message = wire_get_bytes(&c, &len);
    if (status == 0)
        inst->conn->events_out++;
    else if (work->status != -EAGAIN) { /* a retry of the whole wins over a rejection */
        work->status = status;
        snprintf(work->message, sizeof(work->message), "%.*s", (int)len, message ? message : "");
    }
    if (++work->answered == work->parts) {
        unassign(inst, work);
        work_finish(work);
    }
    return 0;
}

static int on_http_reply(struct instance *inst, const struct wire_frame *frame)
{
    struct work *work = pending_work(inst, frame->seq);
    struct wire_cursor c;
    const char **lines;
    const char *body;
    uint32_t status, count;
    size_t len, body_len;

    if (work == NULL || work->kind != WORK_HTTP)
        return 0;
    wire_cursor_init(&c, frame);
    status = wire_get_u32(&c);
    count = wire_get_u32(&c);
    if (count > frame->length / 4)
        return -EPROTO;
    lines = vane_calloc(count + 1, sizeof(*lines));
    for (uint32_t i = 0; i < count; i++) {
        const char *line = wire_get_bytes(&c, &len);

        lines[i] = vane_strndup(line ? line : "", len);
    }
    body = wire_get_bytes(&c, &body_len);
    if (work->reply != NULL)
        work->reply(work->reply_arg, (int)status, lines, count, body, body_len);
    work->reply = NULL;
    for (uint32_t i = 0; i < count; i++)
        vane_free((char *)lines[i]);
    vane_free(lines);
    unassign(inst, work);
    work_finish(work);
    return c.short_read ? -EPROTO : 0;
}

/* ---- what a source emits --------------------------------------------------- */

struct emit {
    struct engine *engine;
    uint64_t instance_id, seq;
};

static void answer_emit(struct engine *engine, uint64_t instance_id, uint64_t seq, int status,
                        uint32_t eventlog, uint64_t offset)
{
    struct instance *inst = instance_find(engine, instance_id);
    struct vane_buf payload = VANE_BUF_INIT;

    if (inst == NULL || inst->exited)
        return; /* it went away: its plugin never hears, as after any crash */
    wire_put_u32(&payload, (uint32_t)status);
    wire_put_u32(&payload, eventlog);
    wire_put_u64(&payload, offset);
    send_frame(inst, WIRE_EMITTED, seq, payload.data, payload.len);
    vane_buf_free(&payload);
    instance_flush(inst);
}

static void on_published(void *arg, int status, const struct publish_position *positions,
                         size_t count)
{
    struct emit *emit = arg;
    struct instance *inst = instance_find(emit->engine, emit->instance_id);

    if (inst != NULL && status == 0)
        inst->conn->events_out++;
    answer_emit(emit->engine, emit->instance_id, emit->seq, status,
                count ? positions[0].eventlog : 0, count ? positions[0].offset : 0);
    emit->engine->pending_emits--;
    engine_maybe_closed(emit->engine); /* the engine waits for its publishes when closing */
    vane_free(emit);
}

/* The event of an EMIT frame, checked, in events (copied into its arena); 0 or -EINVAL. */
static int read_emitted(const struct wire_frame *frame, struct binding_events *events,
                        char *why, size_t why_len)
{
    void *copy = vane_arena_alloc(&events->arena, frame->length ? frame->length : 1);
    struct record_view view;
    struct event_error err;
    const char *reason;

    memcpy(copy, frame->payload, frame->length);
    events->events = vane_calloc(1, sizeof(*events->events));
    events->slots = 1;
    if (record_decode(copy, frame->length, &view, &reason) != 0) {
        snprintf(why, why_len, "not a record: %s", reason);
        return -EINVAL;
    }
    record_to_event(&view, &events->events[0]);
    if (event_check(&events->events[0], &err) != 0) {
        snprintf(why, why_len, "%s: %s", err.field, err.message);
        return -EINVAL;
    }
    events->count = 1;
    return 0;
}

static int on_emit(struct instance *inst, const struct wire_frame *frame)
{
    struct connector *conn = inst->conn;
    struct binding_events events;
    struct emit *emit;
    char why[400];
    int rc;

    memset(&events, 0, sizeof(events));
    conn->events_in++;
    if (conn->kind != VANE_PLUGIN_SOURCE) {
        snprintf(why, sizeof(why), "only a source emits events");
        rc = -EINVAL;
    } else if ((rc = read_emitted(frame, &events, why, sizeof(why))) != 0)
        vane_log_warn(component, "connector %s: an emitted event is refused: %s", conn->name, why);
    else {
        emit = VANE_NEW(emit);
        *emit = (struct emit){conn->engine, inst->id, frame->seq};
        rc = publish_submit(conn->engine->env.gateway, conn->target, &events, on_published, emit);
        if (rc != 0)
            vane_free(emit);
        else
            conn->engine->pending_emits++;
    }
    binding_events_free(&events);
    if (rc != 0)
        answer_emit(conn->engine, inst->id, frame->seq, rc, 0, 0);
    return 0;
}

/* A plugin's metric_add, counted in the broker's /metrics (plugin_host.h). */
static int on_metric(struct instance *inst, const struct wire_frame *frame)
{
    struct wire_cursor c;
    const char *name;
    size_t len;
    uint64_t delta;
    char *copy;

    wire_cursor_init(&c, frame);
    name = wire_get_bytes(&c, &len);
    delta = wire_get_u64(&c);
    if (c.short_read)
        return -EPROTO;
    copy = vane_strndup(name, len);
    if (!plugin_metric_count(inst->engine->env.gateway->metrics, inst->plugin->name,
                             inst->conn->name, copy, delta))
        vane_log_debug(component, "connector %s: metric name \"%.64s\" is not counted",
                       inst->conn->name, copy);
    vane_free(copy);
    return 0;
}

/* ---- frames from the worker -------------------------------------------------- */

static int on_frame(void *arg, const struct wire_frame *frame)
{
    struct instance *inst = arg;
    struct connector *conn = inst->conn;
    size_t len;
    const char *text;
    struct wire_cursor c;

    switch (frame->type) {
    case WIRE_READY:
        if (inst->state == INSTANCE_STARTING) {
            inst->state = INSTANCE_READY;
            inst->ready_ms = inst->last_active_ms = uv_now(conn->engine->env.loop);
            vane_log_info(component, "connector %s: instance %d ready in %llu ms", conn->name,
                          inst->process.pid,
                          (unsigned long long)(inst->ready_ms - inst->started_ms));
            connector_pump(conn);
        }
        return 0;
    case WIRE_FAILED:
        wire_cursor_init(&c, frame);
        text = wire_get_bytes(&c, &len);
        snprintf(conn->last_error, sizeof(conn->last_error), "%.*s", (int)len, text ? text : "");
        vane_log_error(component, "connector %s: %s", conn->name, conn->last_error);
        return 0; /* the worker exits next: a crash, restarted after the backoff */
    case WIRE_EMIT:
        return on_emit(inst, frame);
    case WIRE_ACK:
        return on_ack(inst, frame);
    case WIRE_HTTP_REPLY:
        return on_http_reply(inst, frame);
    case WIRE_METRIC:
        return on_metric(inst, frame);
    default:
        return -EPROTO;
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct instance *inst = stream->data;
    int rc = 0;

    if (nread > 0)
        rc = wire_reader_feed(&inst->reader, buf->base, (size_t)nread);
    vane_free(buf->base);
    if (nread < 0 || rc != 0) {
        if (rc != 0)
            vane_log_error(component, "connector %s: instance %d broke the protocol (%s); "
                           "killing it", inst->conn->name, inst->process.pid, vane_strerror(rc));
        uv_read_stop(stream);
        if (!inst->exited)
            uv_process_kill(&inst->process, SIGKILL);
        return;
    }
    /* Work that finished made room: queued work moves to the instances now, not at the next
     * tick; and what that, answers to emits and acks queued as frames is sent (the pump
     * flushes every instance). */
    connector_pump(inst->conn);
}

/* ---- the end ---------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle)
{
    struct instance *inst = handle->data;
    struct engine *engine = inst->engine;

    if (--inst->open_handles > 0)
        return;
    engine->live_instances--;
    wire_reader_free(&inst->reader);
    vane_buf_free(&inst->out);
    u64map_free(&inst->pending);
    plugin_release(inst->plugin);
    vane_free(inst);
    engine_maybe_closed(engine);
}

/* Answers an HTTP request whose instance ended before it did. */
static void answer_ended(struct work *work)
{
    static const char body[] = "{\"error\":{\"status\":502,\"field\":\"connector\","
                               "\"message\":\"the connector instance ended before "
                               "it answered (events it emitted may be stored)\"}}\n";
    static const char *const headers[] = {"Content-Type: application/json"};

    if (work->reply != NULL)
        work->reply(work->reply_arg, 502, headers, 1, body, sizeof(body) - 1);
    work->reply = NULL;
}

/*
 * Gives back inst's work.  A delivery goes back to the queue's head, in the
 * order they were sent, unless nobody waits for it any more (its
 * subscription stopped) or it has now ended MAX_GIVE_BACKS instances: then
 * it ends with -EAGAIN, so the trigger's retries and dead letters deal with
 * an event that crashes every instance instead of it blocking the queue.
 * HTTP requests are answered 502.
 */
static void give_back_work(struct instance *inst)
{
    /* The list holds the newest first: pushing each onto the queue's head
     * from the newest on leaves the oldest at the head. */
    while (inst->works != NULL) {
        struct work *work = inst->works;

        unassign(inst, work);
        if (work->kind == WORK_HTTP) {
            answer_ended(work);
            work_finish(work);
        } else if (work->done == NULL || ++work->give_backs >= MAX_GIVE_BACKS) {
            work->status = -EAGAIN;
            snprintf(work->message, sizeof(work->message),
                     "the connector's instances ended %u times while delivering it",
                     work->give_backs);
            work_finish(work);
        } else
            connector_requeue(inst->conn, work);
    }
}

static void on_process_exit(uv_process_t *process, int64_t exit_status, int term_signal)
{
    struct instance *inst = process->data;
    struct connector *conn = inst->conn;
    bool asked = inst->state == INSTANCE_STOPPING;

    inst->exited = true;
    if (!asked) {
        conn->running--;
        conn->restarts++;
        /* When the engine killed it, last_error already says why. */
        if (term_signal != 0 && !inst->killed)
            snprintf(conn->last_error, sizeof(conn->last_error),
                     "instance %d was killed by signal %d (%s)", process->pid, term_signal,
                     strsignal(term_signal));
        else if (term_signal == 0 && (inst->ready_ms != 0 || conn->last_error[0] == '\0'))
            snprintf(conn->last_error, sizeof(conn->last_error),
                     "instance %d exited with status %lld", process->pid,
                     (long long)exit_status);
        vane_log_warn(component, "connector %s: %s", conn->name, conn->last_error);
    }
    uv_timer_stop(&inst->kill_timer);
    give_back_work(inst);
    connector_instance_gone(conn, inst, !asked);
    uv_close((uv_handle_t *)&inst->process, on_handle_closed);
    uv_close((uv_handle_t *)&inst->pipe, on_handle_closed);
    uv_close((uv_handle_t *)&inst->kill_timer, on_handle_closed);
}

static void on_kill_timer(uv_timer_t *timer)
{
    struct instance *inst = timer->data;

    vane_log_warn(component, "connector %s: instance %d did not stop within %d s; killing it",
                  inst->conn->name, inst->process.pid, STOP_GRACE_MS / 1000);
    if (!inst->exited)
        uv_process_kill(&inst->process, SIGKILL);
}

void instance_kill(struct instance *inst)
{
    inst->killed = true;
    if (!inst->exited)
        uv_process_kill(&inst->process, SIGKILL);
}

void instance_stop(struct instance *inst)
{
    if (inst->state == INSTANCE_STOPPING || inst->exited)
        return;
    inst->state = INSTANCE_STOPPING;
    inst->conn->running--;
    send_frame(inst, WIRE_STOP, 0, NULL, 0);
    instance_flush(inst);
    uv_timer_start(&inst->kill_timer, on_kill_timer, STOP_GRACE_MS, 0);
}

/* ---- the start ------------------------------------------------------------- */

static void send_init(struct instance *inst)
{
    struct vane_buf payload = VANE_BUF_INIT;

    wire_put_u32(&payload, VANE_ABI_MAJOR);
    wire_put_str(&payload, inst->plugin->loaded_path);
    wire_put_str(&payload, inst->conn->name);
    wire_put_str(&payload, inst->conn->options);
    wire_put_str(&payload, inst->plugin->file);
    wire_put_u32(&payload, (uint32_t)inst->engine->env.log_level);
    wire_put_u32(&payload, (uint32_t)inst->engine->env.log_format);
    send_frame(inst, WIRE_INIT, 0, payload.data, payload.len);
    vane_buf_free(&payload);
    instance_flush(inst);
}

/*
 * The worker's environment: the broker's, with UV_THREADPOOL_SIZE set to the
 * connector's concurrency (at least libuv's default of 4).  A plugin that
 * runs its blocking calls through host->work (sink-http's transfers) would
 * otherwise have at most 4 of them under way, whatever the concurrency.
 * Freed with vane_free(); the strings are environ's but the one made here.
 */
static char **worker_environment(const struct connector *conn)
{
    static const char key[] = "UV_THREADPOOL_SIZE=";
    size_t n = 0, at = 0;
    char **env;

    while (environ[n] != NULL)
        n++;
    env = vane_calloc(n + 2, sizeof(*env));
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], key, sizeof(key) - 1) != 0)
            env[at++] = environ[i];
    env[at] = vane_asprintf("%s%u", key, conn->concurrency > 4 ? conn->concurrency : 4);
    return env;
}

static void worker_environment_free(char **env)
{
    size_t n = 0;

    while (env[n] != NULL)
        n++;
    vane_free(env[n - 1]); /* the last one is ours */
    vane_free(env);
}

static int spawn(struct instance *inst)
{
    struct engine *engine = inst->conn->engine;
    char *args[] = {(char *)engine->env.exe_path, "--connector-worker", NULL};
    char **env = worker_environment(inst->conn);
    uv_stdio_container_t stdio[4];
    uv_process_options_t options;
    int rc;

    memset(&options, 0, sizeof(options));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = 1;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    stdio[3].flags = UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE;
    stdio[3].data.stream = (uv_stream_t *)&inst->pipe;
    options.file = engine->env.exe_path;
    options.args = args;
    options.env = env;
    options.stdio = stdio;
    options.stdio_count = 4;
    options.exit_cb = on_process_exit;
    rc = uv_spawn(engine->env.loop, &inst->process, &options);
    worker_environment_free(env);
    return rc;
}

int instance_start(struct connector *conn)
{
    struct engine *engine = conn->engine;
    struct plugin *plugin = plugin_acquire(engine->env.plugins, conn->plugin);
    struct instance *inst;
    int rc;

    if (plugin == NULL) {
        snprintf(conn->last_error, sizeof(conn->last_error),
                 "plugin %s is not loaded (GET /api/v1/plugins lists those that are)",
                 conn->plugin);
        return -ENOENT;
    }
    inst = VANE_NEW(inst);
    inst->engine = engine;
    inst->conn = conn;
    inst->id = ++engine->next_instance_id;
    engine->live_instances++;
    inst->plugin = plugin;
    inst->state = INSTANCE_STARTING;
    inst->started_ms = uv_now(engine->env.loop);
    wire_reader_init(&inst->reader, on_frame, inst);
    uv_pipe_init(engine->env.loop, &inst->pipe, 0);
    uv_timer_init(engine->env.loop, &inst->kill_timer);
    inst->pipe.data = inst->process.data = inst->kill_timer.data = inst;
    inst->open_handles = 3;
    if ((rc = spawn(inst)) != 0) {
        snprintf(conn->last_error, sizeof(conn->last_error), "cannot start %s: %s",
                 engine->env.exe_path, uv_strerror(rc));
        inst->exited = true;
        uv_close((uv_handle_t *)&inst->process, on_handle_closed);
        uv_close((uv_handle_t *)&inst->pipe, on_handle_closed);
        uv_close((uv_handle_t *)&inst->kill_timer, on_handle_closed);
        return rc;
    }
    inst->next = conn->instances;
    conn->instances = inst;
    conn->running++;
    uv_read_start((uv_stream_t *)&inst->pipe, wire_alloc, on_read);
    send_init(inst);
    vane_log_debug(component, "connector %s: instance %d started (plugin %s %s)", conn->name,
                   inst->process.pid, plugin->name, plugin->version);
    return 0;
}
