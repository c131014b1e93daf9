/*
 * engine.c -- connectors: their specs, queues, scaling and status (see
 * engine.h; instance.c runs the processes).
 *
 * The engine mirrors the controller's connectors: a change there (from
 * any node's API) reconfigures the connector here.  A change of plugin,
 * options or target stops the running instances (STOP, their unfinished
 * deliveries go back to the queue) so that new ones start with the new
 * spec; a change of min, max, concurrency or idle_timeout only rescales.
 *
 * connector_pump() is the one place that hands queued work to instances
 * and starts new ones; it runs whenever work arrives, an instance becomes
 * ready, work finishes or an instance ends, and on the 100 ms tick, which
 * also stops the instances idle for idle_timeout (down to min) and ends a
 * crash streak.  A deleted connector
 * stays in the list, stopping, until its last instance has exited.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "core/units.h"
#include "engine/engine_internal.h"
#include "plugin/plugin_options.h"
#include "plugin/plugin_registry.h"
#include "store/record.h"
#include "store/store.h"

static const char component[] = "engine";

#define TICK_MS 100
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 10000
#define STREAK_RESET_MS 30000
#define DEFAULT_MAX 4
#define DEFAULT_CONCURRENCY 16
#define MAX_CONCURRENCY 1024
#define DEFAULT_IDLE_MS 60000
#define DEFAULT_TIMEOUT_MS 30000
#define MIN_TIMEOUT_MS 100

/* ---- the spec ---------------------------------------------------------------- */

/* What a spec says, read and checked. */
struct spec {
    const char *plugin, *target;
    int kind;
    bool takes_http;
    json_int_t min, max, concurrency;
    uint64_t idle_ms, timeout_ms;
    const json_t *options;
};

static int spec_fail(char **errmsg, const char *field, const char *fmt, const char *detail)
{
    char *what = vane_asprintf(fmt, detail ? detail : "");

    *errmsg = vane_asprintf("%s: %s", field, what);
    vane_free(what);
    return -EINVAL;
}

static int read_count(const json_t *spec, const char *key, json_int_t fallback, json_int_t lo,
                      json_int_t hi, json_int_t *out, char **errmsg)
{
    const json_t *v = json_object_get(spec, key);

    *out = fallback;
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        *errmsg = vane_asprintf("%s: expected an integer from %lld to %lld", key, (long long)lo,
                                (long long)hi);
        return -EINVAL;
    }
    *out = json_integer_value(v);
    return 0;
}

/* A duration member: seconds as an integer, or a string with a unit; at least min_ms. */
static int read_duration(const json_t *spec, const char *key, uint64_t fallback, uint64_t min_ms,
                         uint64_t *out, char **errmsg)
{
    const json_t *v = json_object_get(spec, key);

    bool read;

    *out = fallback;
    if (v == NULL)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v) * 1000;
        read = true;
    } else
        read = json_is_string(v) && vane_parse_duration_ms(json_string_value(v), out) == 0;
    if (read && *out >= min_ms)
        return 0;
    *errmsg = vane_asprintf("%s: expected a duration of at least %llu ms, such as \"60s\" or "
                            "\"5m\"", key, (unsigned long long)min_ms);
    return -EINVAL;
}

/*
 * plugin_options.h says "option 'url' is required: ..." or "option 'url':
 * expected ..."; the API names fields "options.url: ...".
 */
static char *option_error(const char *why)
{
    const char *name = strncmp(why, "option '", 8) == 0 ? why + 8 : NULL;
    const char *end = name ? strchr(name, '\'') : NULL;
    const char *rest = end ? end + 1 : why;

    if (end == NULL)
        return vane_asprintf("options: %s", why);
    while (*rest == ':' || *rest == ' ')
        rest++;
    return vane_asprintf("options.%.*s: %s", (int)(end - name), name, rest);
}

/* The plugin's kind and whether it answers HTTP; 0, or -EINVAL with *errmsg. */
static int read_plugin(struct engine *e, struct spec *s, char **errmsg)
{
    struct plugin *p = s->plugin ? plugin_acquire(e->env.plugins, s->plugin) : NULL;

    if (s->plugin == NULL)
        return spec_fail(errmsg, "plugin", "required: the name of a source or sink plugin", NULL);
    if (p == NULL)
        return spec_fail(errmsg, "plugin", "no plugin named \"%s\" is loaded (vanectl plugin "
                         "list shows those that are)", s->plugin);
    s->kind = p->kind;
    s->takes_http = p->kind == VANE_PLUGIN_SOURCE && p->desc->http != NULL;
    if (p->kind == VANE_PLUGIN_SOURCE || p->kind == VANE_PLUGIN_SINK) {
        struct plugin_options *checked = NULL;
        char *why = NULL;
        int rc = plugin_options_parse(p->options, p->option_count, s->options, &checked, &why);

        plugin_options_free(checked);
        plugin_release(p);
        if (rc != 0) {
            *errmsg = option_error(why);
            vane_free(why);
            return -EINVAL;
        }
        return 0;
    }
    plugin_release(p);
    return spec_fail(errmsg, "plugin", "expected a source or sink plugin; %s is a filter or "
                     "transform (those go in a subscription)", s->plugin);
}

static int read_target(struct engine *e, const json_t *spec, struct spec *s, char **errmsg)
{
    struct controller *ctl = e->env.controller;
    const char *key = s->kind == VANE_PLUGIN_SOURCE ? "eventbus" : "subscription";
    const char *other = s->kind == VANE_PLUGIN_SOURCE ? "subscription" : "eventbus";

    s->target = json_string_value(json_object_get(spec, key));
    if (json_object_get(spec, other) != NULL)
        return spec_fail(errmsg, other, "not for a %s connector", key[0] == 'e' ? "source"
                                                                                : "sink");
    if (s->target == NULL)
        return spec_fail(errmsg, key, s->kind == VANE_PLUGIN_SOURCE
                                          ? "required: the eventbus the source feeds%s"
                                          : "required: the subscription the sink serves%s", "");
    if (s->kind == VANE_PLUGIN_SOURCE && controller_find(ctl, s->target) == NULL)
        return spec_fail(errmsg, key, "no eventbus named \"%s\"", s->target);
    if (s->kind == VANE_PLUGIN_SINK && controller_find_subscription_named(ctl, s->target) == NULL)
        return spec_fail(errmsg, key, "no subscription named \"%s\"", s->target);
    return 0;
}

static int read_spec(struct engine *e, const json_t *spec, struct spec *s, char **errmsg)
{
    static const char *const known[] = {"plugin",      "eventbus",     "subscription", "options",
                                        "min",         "max",          "concurrency",  "timeout",
                                        "idle_timeout", "description", NULL};
    const char *key;
    json_t *value;
    int rc;

    memset(s, 0, sizeof(*s));
    json_object_foreach((json_t *)spec, key, value) {
        size_t i = 0;

        while (known[i] != NULL && strcmp(known[i], key) != 0)
            i++;
        if (known[i] == NULL)
            return spec_fail(errmsg, key, "unknown member (expected plugin, eventbus or "
                             "subscription, options, min, max, concurrency, timeout, "
                             "idle_timeout, description)%s", "");
    }
    s->plugin = json_string_value(json_object_get(spec, "plugin"));
    s->options = json_object_get(spec, "options");
    if (s->options != NULL && !json_is_object(s->options))
        return spec_fail(errmsg, "options", "expected an object of the plugin's options%s", "");
    if ((rc = read_plugin(e, s, errmsg)) != 0 || (rc = read_target(e, spec, s, errmsg)) != 0 ||
        (rc = read_count(spec, "min", 0, 0, ENGINE_MAX_INSTANCES, &s->min, errmsg)) != 0 ||
        (rc = read_count(spec, "max", s->min > DEFAULT_MAX ? s->min : DEFAULT_MAX, 1,
                         ENGINE_MAX_INSTANCES, &s->max, errmsg)) != 0 ||
        (rc = read_count(spec, "concurrency", DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY,
                         &s->concurrency, errmsg)) != 0 ||
        (rc = read_duration(spec, "idle_timeout", DEFAULT_IDLE_MS, 0, &s->idle_ms,
                            errmsg)) != 0 ||
        (rc = read_duration(spec, "timeout", DEFAULT_TIMEOUT_MS, MIN_TIMEOUT_MS, &s->timeout_ms,
                            errmsg)) != 0)
        return rc;
    if (s->max < s->min)
        return spec_fail(errmsg, "max", "expected at least min%s", "");
    if (s->kind == VANE_PLUGIN_SOURCE && !s->takes_http && s->min < 1)
        return spec_fail(errmsg, "min", "expected at least 1: %s answers no HTTP requests, so "
                         "nothing would ever start it", s->plugin);
    return 0;
}

int engine_check_spec(struct engine *engine, const char *name, const json_t *spec,
                      char **errmsg)
{
    struct spec s;

    (void)name;
    if (!json_is_object(spec)) {
        *errmsg = vane_strdup("connector: expected a JSON object");
        return -EINVAL;
    }
    return read_spec(engine, spec, &s, errmsg);
}

/* ---- connectors --------------------------------------------------------------- */

static struct connector *find(struct engine *e, const char *name)
{
    for (struct connector *c = e->connectors; c != NULL; c = c->next)
        if (!c->deleted && strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void stop_all(struct connector *conn)
{
    for (struct instance *i = conn->instances; i != NULL; i = i->next)
        instance_stop(i);
}

/* Sets conn from spec; true when running instances must make way for new ones. */
static bool configure(struct connector *conn, const json_t *spec)
{
    struct spec s;
    char *errmsg = NULL;
    char *options;
    bool changed;

    if (read_spec(conn->engine, spec, &s, &errmsg) != 0) {
        /* Checked when proposed; the world moved since (a plugin removed): say so. */
        snprintf(conn->last_error, sizeof(conn->last_error), "%s", errmsg);
        vane_log_warn(component, "connector %s: %s", conn->name, errmsg);
        vane_free(errmsg);
        s.plugin = json_string_value(json_object_get(spec, "plugin"));
        s.max = s.max < 1 ? 1 : s.max;
        s.concurrency = s.concurrency < 1 ? DEFAULT_CONCURRENCY : s.concurrency;
    }
    options = s.options ? json_dumps(s.options, JSON_COMPACT) : strdup("{}");
    changed = conn->plugin == NULL || strcmp(conn->plugin, s.plugin ? s.plugin : "") != 0 ||
              strcmp(conn->options, options) != 0 ||
              strcmp(conn->target ? conn->target : "", s.target ? s.target : "") != 0;
    vane_free(conn->plugin);
    vane_free(conn->target);
    vane_free(conn->options);
    conn->plugin = vane_strdup(s.plugin ? s.plugin : "");
    conn->target = vane_strdup(s.target ? s.target : "");
    conn->options = vane_strdup(options);
    free(options);
    conn->kind = s.kind;
    conn->takes_http = s.takes_http;
    conn->min = (unsigned)s.min;
    conn->max = (unsigned)s.max;
    conn->concurrency = (unsigned)s.concurrency;
    conn->idle_ms = s.idle_ms;
    conn->timeout_ms = s.timeout_ms ? s.timeout_ms : DEFAULT_TIMEOUT_MS;
    json_decref(conn->spec);
    conn->spec = json_deep_copy(spec);
    return changed;
}

static struct connector *add(struct engine *e, const struct connector_meta *meta)
{
    struct connector *conn = VANE_NEW(conn);

    conn->engine = e;
    conn->name = vane_strdup(meta->name);
    conn->options = vane_strdup("");
    configure(conn, meta->spec);
    conn->next = e->connectors;
    e->connectors = conn;
    return conn;
}

static void fail_queue(struct connector *conn, int status, const char *why);

static void unlink_and_free(struct connector *conn)
{
    struct engine *e = conn->engine;
    struct connector **at = &e->connectors;

    while (*at != conn)
        at = &(*at)->next;
    *at = conn->next;
    fail_queue(conn, -EAGAIN, "the connector was deleted");
    vane_free(conn->name);
    vane_free(conn->plugin);
    vane_free(conn->target);
    vane_free(conn->options);
    json_decref(conn->spec);
    vane_free(conn);
}

static void on_connector_change(struct controller *c, enum controller_change change,
                                const struct connector_meta *meta, void *arg)
{
    struct engine *e = arg;
    struct connector *conn = find(e, meta->name);

    (void)c;
    if (change == CONTROLLER_DELETED) {
        if (conn == NULL)
            return;
        conn->deleted = true;
        fail_queue(conn, -EAGAIN, "the connector was deleted");
        stop_all(conn);
        if (conn->instances == NULL)
            unlink_and_free(conn);
        return;
    }
    if (conn == NULL)
        conn = add(e, meta);
    else if (configure(conn, meta->spec))
        stop_all(conn); /* new instances start with the new spec */
    vane_log_info(component, "connector %s: %s (%s %s, instances %u..%u)", conn->name,
                  change == CONTROLLER_CREATED ? "created" : "updated", conn->plugin,
                  conn->target, conn->min, conn->max);
    connector_pump(conn);
}

/* ---- work ------------------------------------------------------------------------ */

static void enqueue(struct connector *conn, struct work *work, bool at_head)
{
    work->inst = NULL;
    if (at_head) {
        work->prev = NULL;
        work->next = conn->queue_head;
        if (conn->queue_head != NULL)
            conn->queue_head->prev = work;
        else
            conn->queue_tail = work;
        conn->queue_head = work;
    } else {
        work->next = NULL;
        work->prev = conn->queue_tail;
        if (conn->queue_tail != NULL)
            conn->queue_tail->next = work;
        else
            conn->queue_head = work;
        conn->queue_tail = work;
    }
    conn->queued++;
}

static void dequeue(struct connector *conn, struct work *work)
{
    if (work->prev != NULL)
        work->prev->next = work->next;
    else
        conn->queue_head = work->next;
    if (work->next != NULL)
        work->next->prev = work->prev;
    else
        conn->queue_tail = work->prev;
    work->prev = work->next = NULL;
    conn->queued--;
}

void connector_requeue(struct connector *conn, struct work *work)
{
    enqueue(conn, work, true);
}

void work_finish(struct work *work)
{
    if (work->kind == WORK_DELIVER && work->done != NULL)
        work->done(work->ctx, work->status, work->message);
    vane_buf_free(&work->payload);
    vane_free(work);
}

static void http_fail(struct work *work, int status, const char *why)
{
    static const char *const headers[] = {"Content-Type: application/json", "Retry-After: 1"};
    json_t *body;
    char *text;

    if (work->reply == NULL)
        return;
    body = json_pack("{s:{s:i, s:s, s:s}}", "error", "status", status, "field", "connector",
                     "message", why);
    text = json_dumps(body, JSON_COMPACT);
    work->reply(work->reply_arg, status, headers, 2, text, strlen(text));
    work->reply = NULL;
    free(text);
    json_decref(body);
}

/* Ends every queued piece of work: deliveries with status (retried by the trigger), HTTP 503. */
static void fail_queue(struct connector *conn, int status, const char *why)
{
    while (conn->queue_head != NULL) {
        struct work *work = conn->queue_head;

        dequeue(conn, work);
        if (work->kind == WORK_HTTP)
            http_fail(work, 503, why);
        work->status = status;
        snprintf(work->message, sizeof(work->message), "%s", why);
        work_finish(work);
    }
}

/* ---- scaling --------------------------------------------------------------------- */

/*
 * The ready instance with the fewest events under way that has room for
 * work: its events fit within the concurrency, or the instance is idle (a
 * delivery of more events than that goes to an idle instance alone).
 */
static struct instance *roomiest(struct connector *conn, const struct work *work)
{
    struct instance *best = NULL;

    for (struct instance *i = conn->instances; i != NULL; i = i->next)
        if (i->state == INSTANCE_READY && !i->killed &&
            (i->inflight == 0 || i->inflight + work->parts <= conn->concurrency) &&
            (best == NULL || i->inflight < best->inflight))
            best = i;
    return best;
}

static unsigned starting(const struct connector *conn)
{
    unsigned n = 0;

    for (const struct instance *i = conn->instances; i != NULL; i = i->next)
        n += i->state == INSTANCE_STARTING;
    return n;
}

static uint64_t backoff_ms(unsigned streak);

/*
 * Starts one more instance when the connector wants one.  A start that
 * fails (no such plugin loaded) is tried again after the backoff; the
 * tick meanwhile fails the queued work (never this call: its callers'
 * callers expect answers later).
 */
static void maybe_start(struct connector *conn)
{
    struct engine *e = conn->engine;
    uint64_t now = uv_now(e->env.loop);
    bool want = conn->running < conn->min ||
                (conn->queued > 0 && conn->running < conn->max && starting(conn) == 0);

    if (!want || conn->deleted || e->closing || now < conn->next_start_ms)
        return;
    conn->start_failed = instance_start(conn) != 0;
    if (!conn->start_failed)
        return;
    vane_log_warn(component, "connector %s: %s", conn->name, conn->last_error);
    conn->crash_streak++;
    conn->next_start_ms = now + backoff_ms(conn->crash_streak);
}

void connector_pump(struct connector *conn)
{
    struct instance *inst;

    while (conn->queue_head != NULL && (inst = roomiest(conn, conn->queue_head)) != NULL) {
        struct work *work = conn->queue_head;

        dequeue(conn, work);
        instance_assign(inst, work);
    }
    for (inst = conn->instances; inst != NULL; inst = inst->next)
        instance_flush(inst);
    maybe_start(conn);
}

static uint64_t backoff_ms(unsigned streak)
{
    uint64_t ms = BACKOFF_FIRST_MS;

    while (streak-- > 1 && ms < BACKOFF_MAX_MS)
        ms *= 2;
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

void connector_instance_gone(struct connector *conn, struct instance *inst, bool crashed)
{
    struct instance **at = &conn->instances;

    while (*at != NULL && *at != inst)
        at = &(*at)->next;
    if (*at != NULL)
        *at = inst->next;
    if (crashed) {
        conn->crash_streak++;
        conn->next_start_ms = uv_now(conn->engine->env.loop) + backoff_ms(conn->crash_streak);
    }
    if (conn->deleted && conn->instances == NULL) {
        unlink_and_free(conn);
        return;
    }
    connector_pump(conn);
}

/* The time the oldest piece of work inst holds was handed to it, or now when it holds none. */
static uint64_t oldest_work_ms(const struct instance *inst, uint64_t now)
{
    uint64_t oldest = now;

    for (const struct work *w = inst->works; w != NULL; w = w->next)
        oldest = w->assigned_ms < oldest ? w->assigned_ms : oldest;
    return oldest;
}

/*
 * Idle instances stopped, down to min; a hung one (holding work past the
 * connector's timeout) killed, so its work goes to another; a long-lived
 * instance ends a crash streak.
 */
static void tend(struct connector *conn, uint64_t now)
{
    if (conn->start_failed && conn->running == 0)
        fail_queue(conn, -EAGAIN, conn->last_error);
    for (struct instance *i = conn->instances; i != NULL; i = i->next) {
        if (i->state == INSTANCE_STARTING && now - i->started_ms > conn->timeout_ms &&
            !i->killed) {
            snprintf(conn->last_error, sizeof(conn->last_error),
                     "instance %d was not ready within the timeout of %llu ms; killed",
                     i->process.pid, (unsigned long long)conn->timeout_ms);
            vane_log_warn(component, "connector %s: %s", conn->name, conn->last_error);
            instance_kill(i);
        }
        if (i->state != INSTANCE_READY || i->killed)
            continue;
        if (now - oldest_work_ms(i, now) > conn->timeout_ms) {
            snprintf(conn->last_error, sizeof(conn->last_error),
                     "instance %d held work over the timeout of %llu ms; killed", i->process.pid,
                     (unsigned long long)conn->timeout_ms);
            vane_log_warn(component, "connector %s: %s", conn->name, conn->last_error);
            instance_kill(i);
            continue;
        }
        if (now - i->ready_ms >= STREAK_RESET_MS)
            conn->crash_streak = 0;
        if (i->inflight == 0 && now - i->last_active_ms >= conn->idle_ms &&
            conn->running > conn->min && conn->queued == 0) {
            vane_log_info(component, "connector %s: instance %d idle for %llu ms; stopping it",
                          conn->name, i->process.pid,
                          (unsigned long long)(now - i->last_active_ms));
            instance_stop(i); /* running drops by one */
        }
    }
    connector_pump(conn);
}

static void on_tick(uv_timer_t *timer)
{
    struct engine *e = timer->data;
    uint64_t now = uv_now(e->env.loop);
    struct connector *conn = e->connectors, *next;

    for (; conn != NULL; conn = next) {
        next = conn->next;
        if (!conn->deleted)
            tend(conn, now);
    }
}

/* ---- sinks: the trigger's router ----------------------------------------------------- */

static struct connector *sink_for(struct engine *e, const char *subscription)
{
    for (struct connector *c = e->connectors; c != NULL; c = c->next)
        if (!c->deleted && c->kind == VANE_PLUGIN_SINK && strcmp(c->target, subscription) == 0)
            return c;
    return NULL;
}

static bool router_serves(void *arg, const char *subscription)
{
    return sink_for(arg, subscription) != NULL;
}

static int router_deliver(void *arg, const char *subscription, const void *records, size_t len,
                          size_t count, trigger_sink_done_cb done, void *ctx)
{
    struct engine *e = arg;
    struct connector *conn = sink_for(e, subscription);
    struct work *work;

    if (conn == NULL || e->closing)
        return -ENOENT;
    work = VANE_NEW(work);
    work->kind = WORK_DELIVER;
    work->conn = conn;
    vane_buf_append(&work->payload, records, len);
    work->parts = count;
    work->done = done;
    work->ctx = ctx;
    enqueue(conn, work, false);
    connector_pump(conn);
    return 0;
}

/* Finds the work whose done context (or HTTP reply argument) is ctx, wherever it is. */
static struct work *find_work(struct engine *e, const void *ctx)
{
    for (struct connector *c = e->connectors; c != NULL; c = c->next) {
        for (struct work *w = c->queue_head; w != NULL; w = w->next)
            if (w->ctx == ctx || w->reply_arg == ctx)
                return w;
        for (struct instance *i = c->instances; i != NULL; i = i->next)
            for (struct work *w = i->works; w != NULL; w = w->next)
                if (w->ctx == ctx || w->reply_arg == ctx)
                    return w;
    }
    return NULL;
}

/* Forgets whoever waits for the work of ctx; queued work is dropped, work under way ends unheard. */
static void forget(struct engine *e, void *ctx)
{
    struct work *work = find_work(e, ctx);

    if (work == NULL)
        return;
    work->done = NULL;
    work->reply = NULL;
    work->ctx = work->reply_arg = NULL;
    if (work->inst == NULL) {
        dequeue(work->conn, work);
        work_finish(work);
    }
}

static void router_cancel(void *arg, void *ctx)
{
    forget(arg, ctx);
}

/* A delivery the size of one instance's concurrency, so deliveries spread over instances. */
static size_t router_batch(void *arg, const char *subscription)
{
    struct connector *conn = sink_for(arg, subscription);

    return conn != NULL ? conn->concurrency : 0;
}

const struct trigger_sink_router *engine_sink_router(struct engine *engine)
{
    return &engine->router;
}

/* ---- sources: HTTP ----------------------------------------------------------------- */

int engine_http(struct engine *engine, const char *name, const struct vane_http_request *req,
                engine_http_reply_cb reply, void *arg)
{
    struct connector *conn = find(engine, name);
    struct work *work;

    if (conn == NULL || conn->kind != VANE_PLUGIN_SOURCE || !conn->takes_http)
        return -ENOENT;
    work = VANE_NEW(work);
    work->kind = WORK_HTTP;
    work->conn = conn;
    work->parts = 1;
    work->reply = reply;
    work->reply_arg = arg;
    wire_put_http_request(&work->payload, req);
    if (engine->closing) {
        http_fail(work, 503, "the broker is stopping");
        work_finish(work);
        return 0;
    }
    enqueue(conn, work, false);
    connector_pump(conn);
    return 0;
}

/* ---- status ------------------------------------------------------------------------ */

static const char *state_name(const struct instance *i)
{
    return i->state == INSTANCE_STARTING ? "starting"
           : i->state == INSTANCE_READY  ? "ready"
                                         : "stopping";
}

json_t *engine_status(struct engine *engine, const char *name)
{
    struct connector *conn = find(engine, name);
    json_t *instances, *status;

    if (conn == NULL)
        return NULL;
    instances = json_array();
    for (struct instance *i = conn->instances; i != NULL; i = i->next)
        json_array_append_new(instances,
                              json_pack("{s:i, s:s, s:I, s:s}", "pid", i->process.pid, "state",
                                        state_name(i), "inflight", (json_int_t)i->inflight,
                                        "plugin_version", i->plugin->version));
    status = json_pack("{s:s, s:o, s:i, s:i, s:I, s:I, s:I, s:I}", "kind",
                       conn->kind == VANE_PLUGIN_SOURCE ? "source" : "sink", "instances",
                       instances, "running", conn->running, "starting", starting(conn),
                       "queued", (json_int_t)conn->queued, "restarts",
                       (json_int_t)conn->restarts, "events_in", (json_int_t)conn->events_in,
                       "events_out", (json_int_t)conn->events_out);
    /* The effective values, defaults included (the spec holds what was given). */
    json_object_set_new(status, "min", json_integer(conn->min));
    json_object_set_new(status, "max", json_integer(conn->max));
    json_object_set_new(status, "concurrency", json_integer(conn->concurrency));
    json_object_set_new(status, "idle_timeout_ms", json_integer((json_int_t)conn->idle_ms));
    json_object_set_new(status, "timeout_ms", json_integer((json_int_t)conn->timeout_ms));
    json_object_set_new(status, "last_error",
                        conn->last_error[0] ? json_string(conn->last_error) : json_null());
    return status;
}

size_t engine_instance_count(const struct engine *engine)
{
    size_t n = 0;

    for (const struct connector *c = engine->connectors; c != NULL; c = c->next)
        n += c->running;
    return n;
}

/* ---- start and close ---------------------------------------------------------------- */

static void on_config_put(void *arg, int status, const struct connector_meta *conn)
{
    char *name = arg;

    if (status != 0)
        vane_log_error(component, "connector %s from the config file: %s", name,
                       vane_strerror(status));
    (void)conn;
    vane_free(name);
}

/* The config file's connectors, made or brought up to date (see engine.h). */
static void apply_config(struct engine *e)
{
    json_t *all = e->env.config_connectors ? json_loads(e->env.config_connectors, 0, NULL) : NULL;
    const char *name;
    json_t *spec;

    json_object_foreach(all, name, spec) {
        const struct connector_meta *have = controller_find_connector(e->env.controller, name);
        char *errmsg = NULL, *copy;

        if (have != NULL && json_equal(have->spec, spec))
            continue;
        if (engine_check_spec(e, name, spec, &errmsg) != 0) {
            vane_log_error(component, "connector %s from the config file is refused: %s", name,
                           errmsg);
            vane_free(errmsg);
            continue;
        }
        copy = vane_strdup(name);
        if (controller_put_connector(e->env.controller, name, spec, have == NULL, on_config_put,
                                     copy, &errmsg) != 0) {
            vane_log_error(component, "connector %s from the config file: %s", name,
                           errmsg ? errmsg : "refused");
            vane_free(copy);
        }
        vane_free(errmsg);
    }
    json_decref(all);
}

int engine_start(struct engine **out, const struct engine_env *env)
{
    struct engine *e = VANE_NEW(e);
    const struct connector_meta *const *metas;
    size_t count;

    e->env = *env;
    e->router = (struct trigger_sink_router){router_serves, router_deliver, router_cancel, e,
                                            router_batch};
    uv_timer_init(env->loop, &e->tick);
    e->tick.data = e;
    uv_timer_start(&e->tick, on_tick, TICK_MS, TICK_MS);
    metas = controller_connectors(env->controller, &count);
    for (size_t i = 0; i < count; i++)
        add(e, metas[i]);
    controller_set_connector_listener(env->controller, on_connector_change, e);
    for (struct connector *c = e->connectors; c != NULL; c = c->next)
        connector_pump(c);
    apply_config(e);
    *out = e;
    return 0;
}

static void on_tick_closed(uv_handle_t *handle)
{
    struct engine *e = handle->data;

    e->tick.data = NULL;
    engine_maybe_closed(e);
}

void engine_maybe_closed(struct engine *e)
{
    if (!e->closing || e->tick.data != NULL || e->live_instances > 0 || e->pending_emits > 0)
        return;
    while (e->connectors != NULL)
        unlink_and_free(e->connectors);
    if (e->closed != NULL)
        e->closed(e->closed_arg);
    vane_free(e);
}

void engine_close(struct engine *e, void (*closed)(void *arg), void *arg)
{
    e->closing = true;
    e->closed = closed;
    e->closed_arg = arg;
    controller_set_connector_listener(e->env.controller, NULL, NULL);
    for (struct connector *c = e->connectors; c != NULL; c = c->next) {
        fail_queue(c, -EAGAIN, "the broker is stopping");
        stop_all(c);
    }
    uv_close((uv_handle_t *)&e->tick, on_tick_closed);
}
