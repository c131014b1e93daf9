/*
 * plugin_instance.h -- a running instance of a plugin, and the calls the
 * broker makes into filter and transform plugins in its own process.
 *
 * An instance is a plugin version (plugin.h, one reference held), a name
 * (the subscription or connector it serves), the instance's options
 * checked against the plugin's table (plugin_options.h), and the state the
 * plugin's init made.  Filters and transforms run inside the broker, on
 * the loop thread, one call at a time per instance; the trigger makes one
 * instance per subscription that names a plugin:
 *
 *     struct vane_instance *inst;
 *     char *errmsg;
 *     if (plugin_instance_create(&inst, registry, "transform-uppercase",
 *                                VANE_PLUGIN_TRANSFORM, "orders-to-crm", config,
 *                                metrics, &errmsg) != 0) { ... errmsg ... }
 *     n = ...; rc = plugin_instance_transform(inst, &event, &arena, &out, &n,
 *                                             err, sizeof(err));
 *     plugin_instance_destroy(inst);
 *
 * The instance keeps the plugin version it was made with: a file replaced
 * meanwhile is used by instances made after (plugin_registry.h).
 *
 * Sources and sinks run in connector worker processes; the engine's worker
 * starts their instances with plugin_instance_start() and a host table of
 * its own (plugin_host.h), keeping its state in owner.
 */
#ifndef VANE_BROKER_PLUGIN_INSTANCE_H
#define VANE_BROKER_PLUGIN_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/arena.h"
#include "event/event.h"
#include "vane/plugin.h"

struct metrics;
struct plugin;
struct plugin_options;
struct plugin_registry;

#define PLUGIN_INSTANCE_ERROR_MAX 256

struct vane_instance {
    struct plugin *plugin;          /* one reference, released with the instance */
    const struct vane_host *host;   /* the table init was given */
    char *name;                     /* the subscription or connector served */
    char *log_component;            /* "plugin NAME/INSTANCE", for core/log.h */
    struct plugin_options *options; /* checked; read by host->option_* */
    struct metrics *metrics;        /* NULL: host->metric_add counts nothing */
    void *state;                    /* what the plugin's init made */
    void *owner;                    /* the host's own, for a host other than the in-process one */
    /* The call in progress (in-process filter and transform). */
    bool in_call;
    bool in_transform;
    struct vane_arena *call_arena;  /* where a transform's output goes */
    struct vane_event **emitted;    /* a transform's extra events, in order */
    size_t emitted_count, emitted_cap;
    char last_error[PLUGIN_INSTANCE_ERROR_MAX]; /* the last error the plugin logged in the call */
    bool metric_name_warned;        /* a bad metric_add name was said in the log */
};

/*
 * Starts an instance of plugin (a reference is taken) named name: checks
 * config (a JSON object, NULL for none) against the plugin's options, then
 * calls its init with host.  Returns 0 with *out, or a negative error with
 * *errmsg (freed by the caller with vane_free) saying why: an option, or
 * what the plugin logged when its init failed.
 */
int plugin_instance_start(struct vane_instance **out, struct plugin *plugin, const char *name,
                          const json_t *config, const struct vane_host *host,
                          struct metrics *metrics, void *owner, char **errmsg);

/*
 * Starts an in-process instance of the current version of the filter or
 * transform plugin_name (kind says which is wanted).  Returns 0 with *out,
 * or -ENOENT, -EINVAL or the plugin's init error with *errmsg as above.
 */
int plugin_instance_create(struct vane_instance **out, struct plugin_registry *registry,
                           const char *plugin_name, int kind, const char *instance_name,
                           const json_t *config, struct metrics *metrics, char **errmsg);

/*
 * Runs a filter plugin on event (not changed).  Returns VANE_KEEP,
 * VANE_DROP, or a negative error with err (errlen bytes, NUL-terminated)
 * saying why in a sentence for a dead letter.
 */
int plugin_instance_filter(struct vane_instance *inst, const struct event *event, char *err,
                           size_t errlen);

/*
 * Runs a transform plugin on event (not changed).  On success returns the
 * number of output events, 0 or more, and sets *out to an array of them in
 * arena: the transformed event first (unless the plugin dropped it), then
 * those it emitted, in order.  Each has passed event_check(); their
 * attribute arrays and changed bytes are in arena, the unchanged bytes are
 * event's, so both must outlive them; do not event_add to them or
 * event_free them.  On failure returns a negative error with err as
 * above, and no output (emitted events are discarded).
 */
int plugin_instance_transform(struct vane_instance *inst, const struct event *event,
                              struct vane_arena *arena, struct event **out, char *err,
                              size_t errlen);

/* Calls the plugin's fini, frees the instance and releases its plugin (NULL is fine). */
void plugin_instance_destroy(struct vane_instance *inst);

#endif
