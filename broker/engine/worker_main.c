/*
 * worker_main.c -- a connector instance's process: `vaned
 * --connector-worker`, started by the engine (instance.c) with its socket
 * as file descriptor 3.
 *
 * The process runs one instance of one source or sink plugin on a libuv
 * loop of its own, and is the plugin's host: the in-process table
 * (plugin_host.h) for logging, options and events, with the members that
 * need the broker replaced by frames on the socket (wire.h):
 *
 *   emit         the event is encoded in the store's record format and
 *                sent as EMIT; EMITTED brings back where it was stored,
 *                and the plugin's callback runs then;
 *   ack          a DELIVER's answer, as ACK;
 *   http_reply   an HTTP_REQUEST's answer, as HTTP_REPLY;
 *   http_events  the gateway's own parser (gateway/binding.h), so a source
 *                reads CloudEvents exactly as POST /gateway does;
 *   timer_*, work  libuv timers and thread pool on this process's loop;
 *   metric_add   sent as METRIC.
 *
 * The first frame is INIT (plugin file, instance name, options, log
 * settings); the worker loads the plugin with plugin_load() -- the same
 * checks as the broker's registry -- starts the instance and answers READY,
 * or FAILED with the reason and exits 2.  STOP stops and frees the
 * instance and exits 0.  The socket closing means the broker is gone: the
 * worker exits at once, as nothing it does could be acknowledged anymore.
 * SIGINT is ignored (a Ctrl-C reaches the whole process group; the broker
 * decides when its workers stop).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/u64map.h"
#include "engine/engine.h"
#include "engine/wire.h"
#include "event/event_check.h"
#include "gateway/binding.h"
#include "plugin/plugin.h"
#include "plugin/plugin_event.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_instance.h"
#include "store/record.h"

#define SOCKET_FD 3

static const char component[] = "connector-worker";

struct worker {
    uv_loop_t loop;
    uv_pipe_t pipe;
    struct wire_reader reader;
    struct vane_buf out;
    struct vane_host host;
    struct plugin *plugin;
    struct vane_instance *inst;
    uint64_t next_seq;
    struct u64map emits;  /* EMIT seq -> struct pending_emit * */
    struct u64map timers; /* id -> struct worker_timer * */
    int64_t next_timer_id;
    bool started;
};

static struct worker worker; /* one per process */

struct pending_emit {
    vane_emit_cb cb;
    void *arg;
};

struct vane_delivery {
    uint64_t seq;
    struct vane_event event;
    char *record; /* the DELIVER payload the event points into */
};

struct vane_http_reply {
    uint64_t seq;
};

struct worker_timer {
    uv_timer_t handle;
    int64_t id;
    vane_timer_cb cb;
    void *arg;
    bool repeats;
};

struct worker_work {
    uv_work_t req;
    vane_work_cb work, after;
    void *arg;
};

/* ---- frames out ------------------------------------------------------------ */

static void flush(void)
{
    if (worker.out.len > 0 && wire_write((uv_stream_t *)&worker.pipe, &worker.out) != 0)
        _exit(0); /* the broker is gone */
}

static void send_frame(enum wire_type type, uint64_t seq, const struct vane_buf *payload)
{
    wire_frame_append(&worker.out, type, seq, payload ? payload->data : NULL,
                      payload ? payload->len : 0);
    flush();
}

/* Says why the instance cannot run, and exits: the broker counts a failed start. */
static void fail(const char *why)
{
    struct vane_buf payload = VANE_BUF_INIT, frame = VANE_BUF_INIT;
    size_t done = 0;

    wire_put_str(&payload, why);
    wire_frame_append(&frame, WIRE_FAILED, 0, payload.data, payload.len);
    while (done < frame.len) { /* blocking, at the end of the process's life */
        ssize_t n = write(SOCKET_FD, frame.data + done, frame.len - done);

        if (n <= 0 && errno != EINTR)
            break;
        done += n > 0 ? (size_t)n : 0;
    }
    _exit(2);
}

/* ---- the host's members that talk to the broker ------------------------------ */

static int host_emit(struct vane_instance *self, struct vane_event *ev, vane_emit_cb cb,
                     void *arg)
{
    const struct event *event = plugin_event_get(ev);
    struct vane_buf payload = VANE_BUF_INIT;
    struct event_error err;
    struct pending_emit *pending;
    size_t size;

    if (event_check(event, &err) != 0) {
        worker.host.log(self, VANE_PLUGIN_LOG_ERROR, "emit: %s: %s", err.field, err.message);
        plugin_event_free(ev);
        return VANE_EINVAL;
    }
    size = record_size(event);
    vane_buf_reserve(&payload, size);
    record_encode(event, payload.data);
    record_seal(payload.data, 0, 0, 0, 0);
    payload.len = size;
    plugin_event_free(ev);
    pending = VANE_NEW(pending);
    *pending = (struct pending_emit){cb, arg};
    u64map_put(&worker.emits, ++worker.next_seq, (uint64_t)(uintptr_t)pending);
    send_frame(WIRE_EMIT, worker.next_seq, &payload);
    vane_buf_free(&payload);
    return 0;
}

static void host_ack(struct vane_delivery *d, int status, const char *message)
{
    struct vane_buf payload = VANE_BUF_INIT;

    wire_put_u32(&payload, (uint32_t)status);
    wire_put_str(&payload, message ? message : "");
    send_frame(WIRE_ACK, d->seq, &payload);
    vane_buf_free(&payload);
    plugin_event_finish(&d->event);
    vane_free(d->record);
    vane_free(d);
}

static void host_http_reply(struct vane_http_reply *r, int status, const char *const *headers,
                            const char *body, size_t body_len)
{
    struct vane_buf payload = VANE_BUF_INIT;
    uint32_t count = 0;

    while (headers != NULL && headers[count] != NULL)
        count++;
    wire_put_u32(&payload, (uint32_t)status);
    wire_put_u32(&payload, count);
    for (uint32_t i = 0; i < count; i++)
        wire_put_str(&payload, headers[i]);
    wire_put_bytes(&payload, body, body ? body_len : 0);
    send_frame(WIRE_HTTP_REPLY, r->seq, &payload);
    vane_buf_free(&payload);
    vane_free(r);
}

static void host_metric_add(struct vane_instance *self, const char *name, uint64_t delta)
{
    struct vane_buf payload = VANE_BUF_INIT;

    (void)self;
    wire_put_str(&payload, name);
    wire_put_u64(&payload, delta);
    send_frame(WIRE_METRIC, 0, &payload);
    vane_buf_free(&payload);
}

/* ---- timers and the thread pool ---------------------------------------------- */

static void on_timer_closed(uv_handle_t *handle)
{
    vane_free(handle->data);
}

static void timer_end(struct worker_timer *t)
{
    u64map_remove(&worker.timers, (uint64_t)t->id);
    uv_close((uv_handle_t *)&t->handle, on_timer_closed);
}

static void on_timer(uv_timer_t *handle)
{
    struct worker_timer *t = handle->data;
    vane_timer_cb cb = t->cb;
    void *arg = t->arg;

    if (!t->repeats)
        timer_end(t); /* before the call, which may start another */
    cb(arg);
    flush();
}

static int64_t host_timer_start(struct vane_instance *self, uint64_t timeout_ms,
                                uint64_t repeat_ms, vane_timer_cb cb, void *arg)
{
    struct worker_timer *t = VANE_NEW(t);

    (void)self;
    t->id = ++worker.next_timer_id;
    t->cb = cb;
    t->arg = arg;
    t->repeats = repeat_ms > 0;
    uv_timer_init(&worker.loop, &t->handle);
    t->handle.data = t;
    uv_timer_start(&t->handle, on_timer, timeout_ms, repeat_ms);
    u64map_put(&worker.timers, (uint64_t)t->id, (uint64_t)(uintptr_t)t);
    return t->id;
}

static void host_timer_stop(struct vane_instance *self, int64_t id)
{
    uint64_t found;

    (void)self;
    if (id > 0 && u64map_get(&worker.timers, (uint64_t)id, &found))
        timer_end((struct worker_timer *)(uintptr_t)found);
}

static void on_work(uv_work_t *req)
{
    struct worker_work *w = req->data;

    w->work(w->arg);
}

static void on_work_done(uv_work_t *req, int status)
{
    struct worker_work *w = req->data;

    (void)status;
    if (w->after != NULL)
        w->after(w->arg);
    vane_free(w);
    flush();
}

static int host_work(struct vane_instance *self, vane_work_cb work, vane_work_cb after, void *arg)
{
    struct worker_work *w = VANE_NEW(w);
    int rc;

    (void)self;
    *w = (struct worker_work){.work = work, .after = after, .arg = arg};
    w->req.data = w;
    if ((rc = uv_queue_work(&worker.loop, &w->req, on_work, on_work_done)) != 0)
        vane_free(w);
    return rc;
}

/* ---- http_events: CloudEvents read as the gateway reads them ------------------- */

static const struct vane_http_header *find_header(const struct vane_http_request *req,
                                                  const char *name)
{
    for (size_t i = 0; i < req->header_count; i++)
        if (req->headers[i].name_len == strlen(name) &&
            strncasecmp(req->headers[i].name, name, req->headers[i].name_len) == 0)
            return &req->headers[i];
    return NULL;
}

static bool is_cloudevent(const struct vane_http_request *req)
{
    const struct vane_http_header *ct = find_header(req, "content-type");

    return find_header(req, "ce-specversion") != NULL ||
           (ct != NULL && ct->value_len >= 24 &&
            strncasecmp(ct->value, "application/cloudevents", 23) == 0);
}

/* A copy of event in a new vane_event, owning its bytes. */
static struct vane_event *copy_event(struct vane_instance *self, const struct event *event)
{
    struct vane_event *ev = worker.host.event_new(self);

    for (size_t i = 0; i < event->attr_count; i++) {
        const struct event_attr *a = &event->attrs[i];
        char *name = vane_strndup(a->name.ptr, a->name.len);
        struct vane_value v = {.type = (int)a->value.type};

        if (a->value.type == EVENT_BOOLEAN)
            v.boolean = a->value.u.boolean;
        else if (a->value.type == EVENT_INTEGER)
            v.integer = a->value.u.integer;
        else {
            v.ptr = a->value.u.bytes.ptr;
            v.len = a->value.u.bytes.len;
        }
        worker.host.event_set(ev, name, &v);
        vane_free(name);
    }
    if (event->has_data)
        worker.host.event_set_data(ev, event->data.ptr ? event->data.ptr : "", event->data.len,
                                   NULL);
    return ev;
}

static int host_http_events(struct vane_instance *self, const struct vane_http_request *req,
                            void (*each)(void *arg, struct vane_event *ev), void *arg, char *err,
                            size_t errlen)
{
    struct binding_header *headers = vane_calloc(req->header_count + 1, sizeof(*headers));
    const struct vane_http_header *ct = find_header(req, "content-type");
    struct binding_request in = {.headers = headers, .header_count = req->header_count,
                                 .body = req->body, .body_len = req->body_len};
    struct binding_events events;
    int rc;

    if (!is_cloudevent(req)) {
        vane_free(headers);
        return 0;
    }
    for (size_t i = 0; i < req->header_count; i++)
        headers[i] = (struct binding_header){req->headers[i].name, req->headers[i].value,
                                             req->headers[i].name_len, req->headers[i].value_len};
    if (ct != NULL) {
        in.content_type = ct->value;
        in.content_type_len = ct->value_len;
    }
    if (binding_parse(&in, &events) != 0) {
        if (events.error_index >= 0)
            snprintf(err, errlen, "[%ld].%s: %s", events.error_index, events.error.field,
                     events.error.message);
        else
            snprintf(err, errlen, "%s%s%s", events.error.field, events.error.field[0] ? ": " : "",
                     events.error.message);
        rc = VANE_EINVAL;
    } else {
        for (size_t i = 0; i < events.count; i++)
            each(arg, copy_event(self, &events.events[i]));
        rc = (int)events.count;
    }
    binding_events_free(&events);
    vane_free(headers);
    return rc;
}

/* ---- frames in ------------------------------------------------------------------ */

static void on_emitted(const struct wire_frame *frame)
{
    struct pending_emit *pending;
    struct wire_cursor c;
    uint64_t found;
    int status;
    uint32_t eventlog;
    uint64_t offset;

    if (!u64map_get(&worker.emits, frame->seq, &found))
        return;
    u64map_remove(&worker.emits, frame->seq);
    pending = (struct pending_emit *)(uintptr_t)found;
    wire_cursor_init(&c, frame);
    status = (int32_t)wire_get_u32(&c);
    eventlog = wire_get_u32(&c);
    offset = wire_get_u64(&c);
    if (pending->cb != NULL)
        pending->cb(pending->arg, status, eventlog, offset);
    vane_free(pending);
}

static void on_deliver(const struct wire_frame *frame)
{
    const struct vane_plugin *desc = worker.plugin->desc;
    struct vane_delivery *d = VANE_NEW(d);
    struct record_view view;
    struct event event = EVENT_INIT;
    const char *why;
    int rc;

    d->seq = frame->seq;
    d->record = vane_malloc(frame->length ? frame->length : 1);
    memcpy(d->record, frame->payload, frame->length);
    /* The trigger's records come unsealed (record.h): checked but for a CRC. */
    if (record_decode_unsealed(d->record, frame->length, &view, &why) != 0) {
        plugin_event_wrap_const(&d->event, &event);
        host_ack(d, VANE_EINVAL, why);
        return;
    }
    record_to_event(&view, &event);
    plugin_event_wrap_const(&d->event, &event);
    /* The wrapper keeps the attribute array: it is the event's from here on. */
    d->event.owns_attrs = true;
    if (desc->kind != VANE_PLUGIN_SINK || desc->deliver == NULL) {
        host_ack(d, VANE_EINVAL, "this connector's plugin takes no deliveries");
        return;
    }
    if ((rc = desc->deliver(worker.inst->state, &d->event, d)) != 0)
        host_ack(d, rc, NULL);
}

static void on_http_request(const struct wire_frame *frame)
{
    const struct vane_plugin *desc = worker.plugin->desc;
    struct vane_http_reply *r = VANE_NEW(r);
    struct vane_http_header *headers = NULL;
    struct vane_http_request req;
    struct wire_cursor c;
    char *strings[4];

    r->seq = frame->seq;
    wire_cursor_init(&c, frame);
    if (wire_get_http_request(&c, &req, &headers, strings) != 0 || desc->http == NULL) {
        static const char *const ct[] = {"Content-Type: application/json", NULL};
        static const char body[] = "{\"error\":{\"status\":400,\"field\":\"connector\","
                                   "\"message\":\"this connector takes no HTTP requests\"}}\n";

        host_http_reply(r, 400, ct, body, sizeof(body) - 1);
    } else
        desc->http(worker.inst->state, &req, r);
    for (int i = 0; i < 4; i++)
        vane_free(strings[i]);
    vane_free(headers);
}

static void stop_and_exit(void)
{
    const struct vane_plugin *desc = worker.plugin ? worker.plugin->desc : NULL;

    if (worker.started && desc->kind == VANE_PLUGIN_SOURCE && desc->stop != NULL)
        desc->stop(worker.inst->state);
    if (worker.inst != NULL)
        plugin_instance_destroy(worker.inst);
    _exit(0);
}

static void on_init(const struct wire_frame *frame)
{
    struct wire_cursor c;
    const char *fields[4];
    size_t lens[4];
    char *text[4], *why = NULL;
    json_t *options;
    uint32_t abi, level, format;
    int rc;

    wire_cursor_init(&c, frame);
    abi = wire_get_u32(&c);
    for (int i = 0; i < 4; i++) {
        fields[i] = wire_get_bytes(&c, &lens[i]);
        text[i] = vane_strndup(fields[i] ? fields[i] : "", lens[i]);
    }
    level = wire_get_u32(&c);
    format = wire_get_u32(&c);
    if (c.short_read || abi != VANE_ABI_MAJOR)
        fail("the broker and this worker are of different builds");
    vane_log_setup((enum log_level)level, (enum vane_log_format)format, 2);
    /* text: 0 the file to open, 1 the instance's name, 2 its options, 3 the file's known name */
    if (plugin_load(text[0], text[3], false, &worker.plugin, &why) != 0)
        fail(why);
    options = json_loads(text[2], 0, NULL);
    rc = plugin_instance_start(&worker.inst, worker.plugin, text[1], options, &worker.host, NULL,
                               &worker, &why);
    json_decref(options);
    if (rc != 0)
        fail(why);
    if (worker.plugin->kind == VANE_PLUGIN_SOURCE && worker.plugin->desc->start != NULL &&
        (rc = worker.plugin->desc->start(worker.inst->state)) != 0) {
        char *msg = vane_asprintf("%s: start failed (%d)", worker.plugin->name, rc);

        fail(worker.inst->last_error[0] ? worker.inst->last_error : msg);
    }
    worker.started = true;
    for (int i = 0; i < 4; i++)
        vane_free(text[i]);
    send_frame(WIRE_READY, 0, NULL);
}

static int on_frame(void *arg, const struct wire_frame *frame)
{
    (void)arg;
    if (frame->type != WIRE_INIT && worker.inst == NULL)
        return -EPROTO;
    switch (frame->type) {
    case WIRE_INIT:
        on_init(frame);
        return 0;
    case WIRE_EMITTED:
        on_emitted(frame);
        return 0;
    case WIRE_DELIVER:
        on_deliver(frame);
        return 0;
    case WIRE_HTTP_REQUEST:
        on_http_request(frame);
        return 0;
    case WIRE_STOP:
        stop_and_exit();
        return 0;
    default:
        return -EPROTO;
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    int rc = 0;

    (void)stream;
    if (nread > 0)
        rc = wire_reader_feed(&worker.reader, buf->base, (size_t)nread);
    vane_free(buf->base);
    if (nread < 0 || rc != 0) {
        if (rc != 0)
            vane_log_error(component, "a broken frame from the broker; exiting");
        _exit(nread < 0 ? 0 : 3); /* the broker is gone, or broken */
    }
    flush();
}

/*
 * Closes what the broker's process had open and did not mark close-on-exec
 * (sockets and pipes of libraries it links): a worker holds only its own
 * socket and stdio, so it never keeps the broker's port or files open.
 */
static void close_inherited(void)
{
    if (close_range(SOCKET_FD + 1, ~0u, 0) == 0)
        return;
    for (int fd = SOCKET_FD + 1; fd < 1024; fd++)
        close(fd);
}

int engine_worker_main(void)
{
    close_inherited();
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&worker.loop);
    plugin_host_functions(&worker.host);
    worker.host.emit = host_emit;
    worker.host.ack = host_ack;
    worker.host.http_reply = host_http_reply;
    worker.host.http_events = host_http_events;
    worker.host.timer_start = host_timer_start;
    worker.host.timer_stop = host_timer_stop;
    worker.host.work = host_work;
    worker.host.metric_add = host_metric_add;
    wire_reader_init(&worker.reader, on_frame, NULL);
    if (uv_pipe_init(&worker.loop, &worker.pipe, 0) != 0 ||
        uv_pipe_open(&worker.pipe, SOCKET_FD) != 0) {
        fprintf(stderr, "vaned --connector-worker: file descriptor 3 is not the engine's socket; "
                        "this mode is started by vaned itself\n");
        return 2;
    }
    uv_read_start((uv_stream_t *)&worker.pipe, wire_alloc, on_read);
    uv_run(&worker.loop, UV_RUN_DEFAULT);
    return 0;
}
