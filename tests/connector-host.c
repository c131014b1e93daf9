/*
 * connector-host.c -- a connector plugin on the test's loop (see
 * connector-host.h).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "connector-host.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/buf.h"
#include "event/event_check.h"
#include "event/event_json.h"
#include "harness.h"
#include "plugin/plugin.h"
#include "plugin/plugin_event.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_instance.h"
#include "tap.h"

static struct chost *host_of(struct vane_instance *self)
{
    return self->owner;
}

/* ---- emit: recorded, called back on the next turn -------------------------------- */

struct emit_callback {
    uv_timer_t timer;
    struct chost *h;
    vane_emit_cb cb;
    void *arg;
    int status;
    uint64_t offset;
};

static void on_emit_closed(uv_handle_t *handle)
{
    vane_free(handle->data);
}

static void on_emit_due(uv_timer_t *timer)
{
    struct emit_callback *c = timer->data;

    c->h->emit_settled++;
    if (c->cb != NULL)
        c->cb(c->arg, c->status, 0, c->offset);
    uv_close((uv_handle_t *)timer, on_emit_closed);
}

static int host_emit(struct vane_instance *self, struct vane_event *ev, vane_emit_cb cb,
                     void *arg)
{
    struct chost *h = host_of(self);
    const struct event *event = plugin_event_get(ev);
    struct vane_buf json = VANE_BUF_INIT;
    struct event_error err;
    struct emit_callback *c;

    if (event_check(event, &err) != 0) {
        tap_diag("emit refused: %s: %s", err.field, err.message);
        plugin_event_free(ev);
        return VANE_EINVAL;
    }
    event_to_json(event, &json);
    plugin_event_free(ev);
    h->emitted = vane_realloc(h->emitted, (h->emit_count + 1) * sizeof(*h->emitted));
    h->emitted[h->emit_count] = vane_buf_detach(&json);
    c = VANE_NEW(c);
    *c = (struct emit_callback){.h = h, .cb = cb, .arg = arg, .status = h->emit_status,
                                .offset = h->emit_count++};
    uv_timer_init(&h->loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, on_emit_due, 0, 0);
    return 0;
}

/* ---- ack and http_reply: recorded ----------------------------------------------------- */

struct vane_delivery {
    struct chost_delivery *out;
    json_t *doc;
    char *text;
    struct event event;
    struct vane_arena arena;
    struct vane_event vev;
};

static void host_ack(struct vane_delivery *d, int status, const char *message)
{
    d->out->status = status;
    d->out->message = message != NULL ? vane_strdup(message) : NULL;
    d->out->acked = true;
    event_free(&d->event);
    vane_arena_free(&d->arena);
    json_decref(d->doc);
    vane_free(d->text);
    vane_free(d);
}

struct vane_http_reply {
    struct chost *h;
};

static void host_http_reply(struct vane_http_reply *r, int status, const char *const *headers,
                            const char *body, size_t body_len)
{
    struct chost *h = r->h;
    struct vane_buf lines = VANE_BUF_INIT;

    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        vane_buf_appendf(&lines, "%s\n", headers[i]);
    vane_free(h->reply_headers);
    vane_free(h->reply_body);
    h->reply_headers = vane_buf_detach(&lines);
    h->reply_body = vane_strndup(body != NULL ? body : "", body_len);
    h->reply_status = status;
    h->replied = true;
    vane_free(r);
}

static int host_http_events(struct vane_instance *self, const struct vane_http_request *req,
                            void (*each)(void *arg, struct vane_event *ev), void *arg, char *err,
                            size_t errlen)
{
    (void)self, (void)req, (void)each, (void)arg, (void)err, (void)errlen;
    return 0;
}

/* ---- timers and work on the loop --------------------------------------------------------- */

struct host_timer {
    uv_timer_t handle;
    int64_t id;
    vane_timer_cb cb;
    void *arg;
    bool repeats;
    struct host_timer *next;
};

static struct host_timer *timers; /* one chost at a time per test program */
static int64_t next_timer_id;

static void timer_end(struct host_timer *t)
{
    for (struct host_timer **p = &timers; *p != NULL; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    uv_close((uv_handle_t *)&t->handle, on_emit_closed);
}

static void on_timer(uv_timer_t *handle)
{
    struct host_timer *t = handle->data;
    vane_timer_cb cb = t->cb;
    void *arg = t->arg;

    if (!t->repeats)
        timer_end(t);
    cb(arg);
}

static int64_t host_timer_start(struct vane_instance *self, uint64_t timeout_ms,
                                uint64_t repeat_ms, vane_timer_cb cb, void *arg)
{
    struct host_timer *t = VANE_NEW(t);

    *t = (struct host_timer){.id = ++next_timer_id, .cb = cb, .arg = arg,
                             .repeats = repeat_ms > 0, .next = timers};
    timers = t;
    uv_timer_init(&host_of(self)->loop, &t->handle);
    t->handle.data = t;
    uv_timer_start(&t->handle, on_timer, timeout_ms, repeat_ms);
    return t->id;
}

static void host_timer_stop(struct vane_instance *self, int64_t id)
{
    (void)self;
    for (struct host_timer *t = timers; t != NULL; t = t->next)
        if (t->id == id) {
            timer_end(t);
            return;
        }
}

struct host_work {
    uv_work_t req;
    vane_work_cb work, after;
    void *arg;
};

static void on_work(uv_work_t *req)
{
    struct host_work *w = req->data;

    w->work(w->arg);
}

static void on_work_done(uv_work_t *req, int status)
{
    struct host_work *w = req->data;

    (void)status;
    if (w->after != NULL)
        w->after(w->arg);
    vane_free(w);
}

static int host_work(struct vane_instance *self, vane_work_cb work, vane_work_cb after, void *arg)
{
    struct host_work *w = VANE_NEW(w);
    int rc;

    *w = (struct host_work){.work = work, .after = after, .arg = arg};
    w->req.data = w;
    rc = uv_queue_work(&host_of(self)->loop, &w->req, on_work, on_work_done);
    if (rc != 0)
        vane_free(w);
    return rc;
}

/* ---- the instance ---------------------------------------------------------------------------- */

int chost_start(struct chost *h, const char *file, const char *name, const char *options,
                char **why)
{
    json_t *config = options != NULL ? json_loads(options, 0, NULL) : NULL;
    char *reason = NULL;
    int rc;

    memset(h, 0, sizeof(*h));
    uv_loop_init(&h->loop);
    plugin_host_functions(&h->host);
    h->host.emit = host_emit;
    h->host.ack = host_ack;
    h->host.http_reply = host_http_reply;
    h->host.http_events = host_http_events;
    h->host.timer_start = host_timer_start;
    h->host.timer_stop = host_timer_stop;
    h->host.work = host_work;
    rc = plugin_load(file, NULL, false, &h->plugin, &reason);
    if (rc == 0)
        rc = plugin_instance_start(&h->inst, h->plugin, name, config, &h->host, NULL, h, &reason);
    if (rc == 0 && h->plugin->kind == VANE_PLUGIN_SOURCE && h->plugin->desc->start != NULL) {
        rc = h->plugin->desc->start(h->inst->state);
        if (rc != 0)
            reason = vane_asprintf("start failed: %d", rc);
        h->started = rc == 0;
    }
    json_decref(config);
    if (rc != 0) {
        *why = strdup(reason != NULL ? reason : "?");
        vane_free(reason);
        return -1;
    }
    return 0;
}

int chost_stop(struct chost *h)
{
    if (h->started && h->plugin->desc->stop != NULL)
        h->plugin->desc->stop(h->inst->state);
    plugin_instance_destroy(h->inst);
    /* Work the plugin left on the pool calls back into it: run the loop dry
     * before the plugin's code is unloaded. */
    uv_run(&h->loop, UV_RUN_DEFAULT);
    if (h->plugin != NULL)
        plugin_release(h->plugin);
    for (size_t i = 0; i < h->emit_count; i++)
        vane_free(h->emitted[i]);
    vane_free(h->emitted);
    vane_free(h->reply_headers);
    vane_free(h->reply_body);
    return harness_loop_close(&h->loop);
}

int chost_deliver(struct chost *h, const char *event_json, struct chost_delivery *out)
{
    struct vane_delivery *d = VANE_NEW(d);
    struct event_error err;
    int rc;

    memset(out, 0, sizeof(*out));
    d->out = out;
    d->text = vane_strdup(event_json);
    d->doc = json_loads(d->text, 0, NULL);
    if (d->doc == NULL || event_from_json(d->doc, (struct json_span){d->text, strlen(d->text)},
                                          &d->event, &d->arena, &err) != 0) {
        tap_diag("chost_deliver: not an event: %s", event_json);
        out->acked = true; /* nothing to wait for */
        json_decref(d->doc);
        event_free(&d->event);
        vane_arena_free(&d->arena);
        vane_free(d->text);
        vane_free(d);
        return -1;
    }
    plugin_event_wrap_const(&d->vev, &d->event);
    rc = h->plugin->desc->deliver(h->inst->state, &d->vev, d);
    if (rc != 0)
        host_ack(d, rc, NULL);
    return 0;
}

void chost_delivery_free(struct chost_delivery *d)
{
    vane_free(d->message);
    d->message = NULL;
}

void chost_http(struct chost *h, const char *method, const char *path,
                const char *const *headers, const char *body)
{
    struct vane_http_header parsed[16];
    struct vane_http_request req = {.method = method, .path = path, .query = "",
                                    .headers = parsed, .body = body,
                                    .body_len = body != NULL ? strlen(body) : 0,
                                    .remote_addr = "127.0.0.1:1"};
    struct vane_http_reply *r = VANE_NEW(r);
    char *lower[16];

    for (size_t i = 0; headers != NULL && headers[i] != NULL && i < 16; i++) {
        const char *colon = strchr(headers[i], ':');

        lower[i] = vane_strndup(headers[i], (size_t)(colon - headers[i]));
        for (char *c = lower[i]; *c != '\0'; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        parsed[i] = (struct vane_http_header){lower[i], strlen(lower[i]), colon + 2,
                                              strlen(colon + 2)};
        req.header_count = i + 1;
    }
    r->h = h;
    h->replied = false;
    h->plugin->desc->http(h->inst->state, &req, r);
    for (size_t i = 0; i < req.header_count; i++)
        vane_free(lower[i]);
}

bool chost_run_until(struct chost *h, const bool *flag, int timeout_ms)
{
    return harness_loop_until(&h->loop, flag, timeout_ms);
}

struct emitted_wait {
    uv_timer_t timer;
    struct chost *h;
    size_t count;
    bool done;
};

static void check_emitted(uv_timer_t *timer)
{
    struct emitted_wait *w = timer->data;

    w->done = w->h->emit_settled >= w->count;
}

bool chost_wait_emitted(struct chost *h, size_t count, int timeout_ms)
{
    struct emitted_wait w = {.h = h, .count = count};

    /* polled every 5 ms on the loop, which the plugin's own work also runs on */
    uv_timer_init(&h->loop, &w.timer);
    w.timer.data = &w;
    uv_timer_start(&w.timer, check_emitted, 0, 5);
    chost_run_until(h, &w.done, timeout_ms);
    uv_close((uv_handle_t *)&w.timer, NULL);
    uv_run(&h->loop, UV_RUN_NOWAIT);
    return w.done;
}
