/*
 * plugin_instance.c -- starting and stopping plugin instances, and calling
 * filter and transform plugins in the broker's process (see
 * plugin_instance.h).
 *
 * A call is bracketed by begin_call/end_call: while it runs, an error the
 * plugin logs is kept as the call's error text (plugin_host.c), and during
 * a transform emit() collects extra events for the call.  A transform's
 * output leaves the plugin through plugin_event_take() into the caller's
 * arena and is then checked as a whole event (event_check()), so a plugin
 * cannot hand the broker an event the gateway would have refused.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "event/event_check.h"
#include "plugin/plugin.h"
#include "plugin/plugin_event.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_instance.h"
#include "plugin/plugin_options.h"
#include "plugin/plugin_registry.h"

static void instance_free(struct vane_instance *inst)
{
    plugin_options_free(inst->options);
    vane_free(inst->emitted);
    vane_free(inst->log_component);
    vane_free(inst->name);
    plugin_release(inst->plugin);
    vane_free(inst);
}

static void begin_call(struct vane_instance *inst)
{
    inst->in_call = true;
    inst->last_error[0] = '\0';
}

static void end_call(struct vane_instance *inst)
{
    inst->in_call = false;
    inst->in_transform = false;
    inst->call_arena = NULL;
}

/* "returned -22 (Invalid argument): what the plugin logged" into err. */
static void describe_result(const struct vane_instance *inst, const char *callback, int rc,
                            char *err, size_t errlen)
{
    const char *logged = inst->last_error;

    if (rc >= 0)
        snprintf(err, errlen, "plugin %s %s: %s returned %d; expected VANE_KEEP (1), VANE_DROP "
                 "(0) or a negative error", inst->plugin->name, inst->plugin->version, callback,
                 rc);
    else
        snprintf(err, errlen, "plugin %s %s: %s failed: %s%s%s", inst->plugin->name,
                 inst->plugin->version, callback, vane_strerror(rc), *logged ? ": " : "", logged);
}

int plugin_instance_start(struct vane_instance **out, struct plugin *plugin, const char *name,
                          const json_t *config, const struct vane_host *host,
                          struct metrics *metrics, void *owner, char **errmsg)
{
    struct plugin_options *options;
    struct vane_instance *inst;
    char why[PLUGIN_INSTANCE_ERROR_MAX + 128];
    int rc;

    *out = NULL;
    if ((rc = plugin_options_parse(plugin->options, plugin->option_count, config, &options,
                                   errmsg)) != 0)
        return rc;
    inst = VANE_NEW(inst);
    inst->plugin = plugin_ref(plugin);
    inst->host = host;
    inst->name = vane_strdup(name);
    inst->log_component = vane_asprintf("plugin %s/%s", plugin->name, name);
    inst->options = options;
    inst->metrics = metrics;
    inst->owner = owner;
    begin_call(inst);
    rc = plugin->desc->init(host, inst, &inst->state);
    end_call(inst);
    if (rc != 0) {
        describe_result(inst, "init", rc < 0 ? rc : -EINVAL, why, sizeof(why));
        *errmsg = vane_strdup(why);
        instance_free(inst);
        return rc < 0 ? rc : -EINVAL;
    }
    *out = inst;
    return 0;
}

/* The current version of plugin_name, which must be of kind; a reference the caller releases. */
static int acquire_kind(struct plugin_registry *registry, const char *plugin_name, int kind,
                        struct plugin **out, char **errmsg)
{
    struct plugin *p = registry != NULL ? plugin_acquire(registry, plugin_name) : NULL;

    *out = NULL;
    if (p == NULL) {
        *errmsg = vane_asprintf("no plugin named '%s' is loaded (vanectl plugin list shows "
                                "those that are)", plugin_name);
        return -ENOENT;
    }
    if (p->kind != kind) {
        *errmsg = vane_asprintf("plugin '%s' is a %s plugin; expected a %s plugin", plugin_name,
                                plugin_kind_name(p->kind), plugin_kind_name(kind));
        plugin_release(p);
        return -EINVAL;
    }
    *out = p;
    return 0;
}

int plugin_instance_create(struct vane_instance **out, struct plugin_registry *registry,
                           const char *plugin_name, int kind, const char *instance_name,
                           const json_t *config, struct metrics *metrics, char **errmsg)
{
    struct plugin *p;
    int err;

    *out = NULL;
    if ((err = acquire_kind(registry, plugin_name, kind, &p, errmsg)) != 0)
        return err;
    err = plugin_instance_start(out, p, instance_name, config, plugin_host_in_process(), metrics,
                                NULL, errmsg);
    plugin_release(p); /* the instance holds its own reference */
    return err;
}

int plugin_instance_filter(struct vane_instance *inst, const struct event *event, char *err,
                           size_t errlen)
{
    struct vane_event vev;
    int rc;

    plugin_event_wrap_const(&vev, event);
    begin_call(inst);
    rc = inst->plugin->desc->filter(inst->state, &vev);
    end_call(inst);
    if (rc == VANE_KEEP || rc == VANE_DROP)
        return rc;
    describe_result(inst, "filter", rc, err, errlen);
    return rc < 0 ? rc : -EINVAL;
}

static void discard_emitted(struct vane_instance *inst)
{
    for (size_t i = 0; i < inst->emitted_count; i++)
        plugin_event_free(inst->emitted[i]);
    inst->emitted_count = 0;
}

/* Checks each output as a whole event; on a fault, err names the output and the attribute. */
static int check_outputs(const struct vane_instance *inst, const struct event *events,
                         size_t count, char *err, size_t errlen)
{
    struct event_error why;

    for (size_t i = 0; i < count; i++) {
        if (event_check(&events[i], &why) != 0) {
            snprintf(err, errlen, "plugin %s %s: transform output %zu of %zu is not a valid "
                     "CloudEvent: %s", inst->plugin->name, inst->plugin->version, i + 1, count,
                     why.message);
            return -EINVAL;
        }
    }
    return 0;
}

int plugin_instance_transform(struct vane_instance *inst, const struct event *event,
                              struct vane_arena *arena, struct event **out, char *err,
                              size_t errlen)
{
    struct vane_event vev;
    struct event *events;
    size_t count = 0;
    int rc;

    *out = NULL;
    plugin_event_wrap(&vev, event, arena);
    begin_call(inst);
    inst->in_transform = true;
    inst->call_arena = arena;
    inst->emitted_count = 0;
    rc = inst->plugin->desc->transform(inst->state, &vev);
    end_call(inst);
    if (rc != VANE_KEEP && rc != VANE_DROP) {
        describe_result(inst, "transform", rc, err, errlen);
        discard_emitted(inst);
        plugin_event_finish(&vev);
        return rc < 0 ? rc : -EINVAL;
    }
    events = vane_arena_alloc(arena, (1 + inst->emitted_count) * sizeof(*events));
    if (rc == VANE_KEEP)
        plugin_event_take(&vev, arena, &events[count++]);
    plugin_event_finish(&vev);
    for (size_t i = 0; i < inst->emitted_count; i++)
        plugin_event_take(inst->emitted[i], arena, &events[count++]);
    discard_emitted(inst);
    if ((rc = check_outputs(inst, events, count, err, errlen)) != 0)
        return rc;
    *out = events;
    return (int)count;
}

void plugin_instance_destroy(struct vane_instance *inst)
{
    if (inst == NULL)
        return;
    if (inst->plugin->desc->fini != NULL)
        inst->plugin->desc->fini(inst->state);
    instance_free(inst);
}
