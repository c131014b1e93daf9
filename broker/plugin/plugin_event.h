/*
 * plugin_event.h -- struct vane_event, the event a plugin sees, and the
 * event_* members of the host table (vane/plugin.h).
 *
 * A struct vane_event wraps the broker's struct event (event/event.h): the
 * plugin's reads (event_get, event_attr_at, event_data) hand out pointers
 * into the event's own bytes and never copy.  Changes (event_set,
 * event_remove, event_set_data) are checked -- attribute names lower-case
 * letters and digits as event_check.h requires, the known attributes of
 * their CloudEvents type, required ones never removed -- and the bytes the
 * plugin passes are copied into an arena: the caller's (see wrap below),
 * or the event's own for one made by event_new.  Data the plugin hands
 * over with a release function is referenced, not copied, until the event
 * is taken back or freed.
 *
 * The broker's side:
 *
 *   - a filter's or sink's event, read only:
 *         struct vane_event vev;
 *         plugin_event_wrap_const(&vev, &event);  ... plugin reads ...
 *     (no allocation; nothing to finish; changes are refused with -EPERM);
 *   - a transform's event, changed in place:
 *         plugin_event_wrap(&vev, &event, arena);  ... plugin changes it ...
 *         plugin_event_take(&vev, arena, &out);    (or plugin_event_finish)
 *     the attribute array is copied, so the caller's event stays as it
 *     was; the result's bytes are the input's where unchanged and in arena
 *     where changed;
 *   - a new event (a source's, or a transform's extra output):
 *         vev = plugin_event_new(arena);  ... plugin fills it ...
 *         plugin_event_take(vev, arena, &out);  plugin_event_free(vev);
 *
 * Nothing here touches a loop or a registry: the connector worker process
 * uses it as the in-process host does.  One event is used by one thread at
 * a time.
 */
#ifndef VANE_BROKER_PLUGIN_EVENT_H
#define VANE_BROKER_PLUGIN_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "event/event.h"
#include "vane/plugin.h"

struct plugin_event_release;

struct vane_event {
    struct event event;
    struct vane_arena *arena;     /* where copies go: the caller's, or own_arena */
    struct vane_arena own_arena;  /* an event_new event's, when no arena was given */
    struct plugin_event_release *releases; /* data referenced with a release function */
    bool read_only;               /* a filter's or sink's event */
    bool owns_attrs;              /* event.attrs is this wrapper's copy, freed with it */
};

/* Fills the event_* members of a host table but event_new, which needs the
 * instance to know where the copies go (plugin_host.c). */
void plugin_event_host_functions(struct vane_host *host);

/* Wraps event for reading only.  Nothing is copied or allocated; vev lives
 * as long as event and its bytes. */
void plugin_event_wrap_const(struct vane_event *vev, const struct event *event);

/* Wraps event for a transform: its attribute array is copied (event is not
 * changed); copies of what the plugin sets go to arena, which must outlive
 * the result.  End with plugin_event_take() or plugin_event_finish(). */
void plugin_event_wrap(struct vane_event *vev, const struct event *event,
                       struct vane_arena *arena);

/* A new, empty event, freed with plugin_event_free().  Copies go to arena,
 * or, when it is NULL, to the event's own arena (freed with it). */
struct vane_event *plugin_event_new(struct vane_arena *arena);

/*
 * Moves the event out into *out, which the caller then owns: its attribute
 * array is allocated in arena (do not event_add to out or event_free it),
 * and every byte it points to is the original input's or in arena.  Data
 * a plugin handed over with a release function is copied into arena and
 * released.  vev is left empty: finish or free it as before.
 */
void plugin_event_take(struct vane_event *vev, struct vane_arena *arena, struct event *out);

/* Ends a wrapped event: frees its attribute copy and releases data. */
void plugin_event_finish(struct vane_event *vev);

/* Frees an event from plugin_event_new() (NULL is fine). */
void plugin_event_free(struct vane_event *vev);

/* The broker's view of the event (valid until it next changes). */
const struct event *plugin_event_get(const struct vane_event *vev);

#endif
