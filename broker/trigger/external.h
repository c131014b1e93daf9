/*
 * external.h -- the parts of a subscription that run code from outside the
 * broker: Lua scripts (script/script.h) and filter or transform plugins
 * (plugin/plugin_instance.h).
 *
 *     "filters":     [{"lua": "route"}, {"plugin": "filter-severity", "config": {"min": "warning"}}]
 *     "transformer": {"lua": "chat-message"}
 *     "transformer": {"plugin": "transform-uppercase", "config": {"attributes": ["subject"]}}
 *
 * The filter dialects plug into filter_compile_with() (filter.h), so a
 * script or plugin can sit inside all/any/not like any other filter; an
 * external transformer takes the place of Vanus's.
 *
 * Checking (the subscriptions API, check_only): the script must have a
 * version running that defines the function, the plugin must be loaded, of
 * the right kind, and take the config (an instance is started and ended
 * at once, so that its init checks what its options table cannot).  Running (the
 * trigger): a script handle or a plugin instance per use, named after the
 * subscription; an error while running one event makes the filter say
 * false (counted and logged at most once a second) or the transform fail
 * (the event is dead-lettered with the error).
 *
 * Threads: the loop thread (the registries are its).
 */
#ifndef VANE_TRIGGER_EXTERNAL_H
#define VANE_TRIGGER_EXTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/arena.h"
#include "event/event.h"
#include "filter/filter.h"

struct plugin_registry;
struct script_registry;
struct metrics;

struct external_env {
    struct plugin_registry *plugins; /* NULL: the plugin dialect is refused */
    struct script_registry *scripts; /* NULL: the lua dialect is refused */
    struct metrics *metrics;
    const char *subscription;        /* names instances and log lines */
    bool check_only;                 /* resolve and check, start nothing */
};

/* The callbacks for filter_compile_with(), whose arg is a struct external_env *. */
extern const struct filter_externals external_filters;

struct external_transform;

/* Whether spec is a transformer of this file's ({"lua": ...} or {"plugin": ...}). */
bool external_transform_is(const json_t *spec);

/*
 * Resolves a {"lua": name} or {"plugin": name, "config": {...}}
 * transformer.  Returns 0 with *out (NULL when env->check_only), or
 * -EINVAL/-ENOENT with *errmsg (vane_free) naming the member at fault.
 */
int external_transform_open(const struct external_env *env, const json_t *spec,
                            struct external_transform **out, char **errmsg);

/*
 * Transforms in into *count events (0: dropped) at *out, an array the
 * transform owns until its next call; their bytes are in arena or in's,
 * their attribute arrays the transform's (do not event_free them).
 * Returns 0, or a negative error with err saying why.
 */
int external_transform_apply(struct external_transform *t, const struct event *in,
                             struct vane_arena *arena, struct event **out, size_t *count,
                             char *err, size_t errlen);

/*
 * Whether the events external_transform_apply() gives are slots of the
 * transform's own (a script's), which the caller may exchange for events
 * of its own: each side then owns the attribute array it holds (event_free).
 * A plugin's are in the arena: copy them.
 */
bool external_transform_slots(const struct external_transform *t);

void external_transform_close(struct external_transform *t);

#endif
