/*
 * plugin_host.c -- the host table for plugins that run in the broker's
 * process (see plugin_host.h for what each member does there).
 *
 * Every function takes the instance its plugin was given at init, a
 * struct vane_instance (plugin_instance.h), and is NULL-safe: a plugin
 * that passes NULL gets an error or nothing, not a crash.  The members a
 * filter or transform has no use for (timers, work, ack, http_*) are stubs
 * that say so, so that a connector worker can start from this table and
 * replace just those.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "plugin/plugin.h"
#include "plugin/plugin_event.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_instance.h"
#include "plugin/plugin_options.h"

#define LOG_LINE_MAX 2048
#define METRIC_NAME_MAX 64

static const char component[] = "plugin";

static enum log_level log_level(int level)
{
    switch (level) {
    case VANE_PLUGIN_LOG_ERROR: return LOG_LEVEL_ERROR;
    case VANE_PLUGIN_LOG_WARN: return LOG_LEVEL_WARN;
    case VANE_PLUGIN_LOG_INFO: return LOG_LEVEL_INFO;
    default: return LOG_LEVEL_DEBUG;
    }
}

static void host_log(struct vane_instance *self, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_log(struct vane_instance *self, int level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;

    if (fmt == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    vane_log(log_level(level), self != NULL ? self->log_component : component, "%s", line);
    /* An error said during a call becomes the call's error text. */
    if (self != NULL && self->in_call && level == VANE_PLUGIN_LOG_ERROR) {
        size_t len = strnlen(line, sizeof(self->last_error) - 1);

        memcpy(self->last_error, line, len);
        self->last_error[len] = '\0';
    }
}

/* ---- options ----------------------------------------------------------------------- */

static const struct plugin_options *options_of(const struct vane_instance *self)
{
    return self != NULL ? self->options : NULL;
}

static int host_option_set(struct vane_instance *self, const char *name)
{
    return plugin_options_is_set(options_of(self), name);
}

static const char *host_option_string(struct vane_instance *self, const char *name)
{
    return plugin_options_string(options_of(self), name);
}

static int64_t host_option_int(struct vane_instance *self, const char *name)
{
    return plugin_options_int(options_of(self), name);
}

static int host_option_bool(struct vane_instance *self, const char *name)
{
    return plugin_options_bool(options_of(self), name);
}

static size_t host_option_list_count(struct vane_instance *self, const char *name)
{
    return plugin_options_list_count(options_of(self), name);
}

static const char *host_option_list_at(struct vane_instance *self, const char *name, size_t i)
{
    return plugin_options_list_at(options_of(self), name, i);
}

/* ---- events and emit ---------------------------------------------------------------- */

static struct vane_event *host_event_new(struct vane_instance *self)
{
    /* Its own arena, not the call's: a plugin may keep an event past the
     * call that made it.  Emitted, it is copied out into the call's. */
    (void)self;
    return plugin_event_new(NULL);
}

static int host_emit(struct vane_instance *self, struct vane_event *ev, vane_emit_cb cb,
                     void *arg)
{
    if (ev == NULL)
        return VANE_EINVAL;
    if (self == NULL || !self->in_transform) {
        if (self != NULL)
            host_log(self, VANE_PLUGIN_LOG_ERROR, "emit: only a transform's transform callback "
                     "may emit in the broker's process; the event is dropped");
        plugin_event_free(ev);
        return VANE_EINVAL;
    }
    if (self->emitted_count == self->emitted_cap) {
        self->emitted_cap = self->emitted_cap ? self->emitted_cap * 2 : 4;
        self->emitted = vane_realloc(self->emitted, self->emitted_cap * sizeof(*self->emitted));
    }
    self->emitted[self->emitted_count++] = ev;
    if (cb != NULL)
        cb(arg, 0, 0, 0);
    return 0;
}

/* ---- what only sources and sinks do (worker processes) ------------------------------ */

static void host_ack(struct vane_delivery *d, int status, const char *message)
{
    vane_log_error(component, "ack(%d, %s): only a sink running in a connector worker "
                   "acknowledges deliveries; ignored", status, message ? message : "");
    (void)d;
}

static void host_http_reply(struct vane_http_reply *r, int status, const char *const *headers,
                            const char *body, size_t body_len)
{
    vane_log_error(component, "http_reply(%d): only a source running in a connector worker "
                   "answers HTTP requests; ignored", status);
    (void)r, (void)headers, (void)body, (void)body_len;
}

static int64_t host_timer_start(struct vane_instance *self, uint64_t timeout_ms,
                                uint64_t repeat_ms, vane_timer_cb cb, void *arg)
{
    (void)self, (void)timeout_ms, (void)repeat_ms, (void)cb, (void)arg;
    return -ENOTSUP;
}

static void host_timer_stop(struct vane_instance *self, int64_t id)
{
    (void)self, (void)id;
}

static int host_work(struct vane_instance *self, vane_work_cb work, vane_work_cb after, void *arg)
{
    (void)self, (void)work, (void)after, (void)arg;
    return -ENOTSUP;
}

static int host_http_events(struct vane_instance *self, const struct vane_http_request *req,
                            void (*each)(void *arg, struct vane_event *ev), void *arg, char *err,
                            size_t errlen)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "http_events: only a source running in a connector worker "
                 "reads HTTP requests");
    (void)self, (void)req, (void)each, (void)arg;
    return -ENOTSUP;
}

/* ---- metrics and names -------------------------------------------------------------- */

static int metric_name_valid(const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;

    if (len == 0 || len > METRIC_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_'))
            return 0;
    return 1;
}

bool plugin_metric_count(struct metrics *m, const char *plugin, const char *instance,
                         const char *name, uint64_t delta)
{
    struct metrics_family *family;
    char *metric;

    if (!metric_name_valid(name))
        return false;
    if (m == NULL)
        return true;
    metric = vane_asprintf("vane_plugin_%s_total", name);
    family = metrics_counter(m, metric, "Counted by a plugin (vane_host.metric_add).",
                             "plugin,instance");
    metrics_inc(metrics_series(family, (const char *const[]){plugin, instance}), delta);
    vane_free(metric);
    return true;
}

static void host_metric_add(struct vane_instance *self, const char *name, uint64_t delta)
{
    if (self == NULL || self->metrics == NULL)
        return;
    if (!plugin_metric_count(self->metrics, self->plugin->name, self->name, name, delta)) {
        if (!self->metric_name_warned)
            host_log(self, VANE_PLUGIN_LOG_WARN, "metric_add: name \"%.80s\": expected 1 to "
                     "%d of a-z, 0-9 and '_'; not counted", name ? name : "", METRIC_NAME_MAX);
        self->metric_name_warned = true;
    }
}

static const char *host_instance_name(struct vane_instance *self)
{
    return self != NULL ? self->name : NULL;
}

void plugin_host_functions(struct vane_host *host)
{
    memset(host, 0, sizeof(*host));
    host->abi_major = VANE_ABI_MAJOR;
    host->abi_minor = VANE_ABI_MINOR;
    host->struct_size = sizeof(*host);
    host->log = host_log;
    host->option_set = host_option_set;
    host->option_string = host_option_string;
    host->option_int = host_option_int;
    host->option_bool = host_option_bool;
    host->option_list_count = host_option_list_count;
    host->option_list_at = host_option_list_at;
    plugin_event_host_functions(host);
    host->event_new = host_event_new;
    host->emit = host_emit;
    host->ack = host_ack;
    host->http_reply = host_http_reply;
    host->timer_start = host_timer_start;
    host->timer_stop = host_timer_stop;
    host->work = host_work;
    host->metric_add = host_metric_add;
    host->instance_name = host_instance_name;
    host->http_events = host_http_events;
}

static struct vane_host in_process;
static pthread_once_t in_process_once = PTHREAD_ONCE_INIT;

static void make_in_process(void)
{
    plugin_host_functions(&in_process);
}

const struct vane_host *plugin_host_in_process(void)
{
    pthread_once(&in_process_once, make_in_process);
    return &in_process;
}
