/*
 * script.h -- running a Lua script on events: the API the trigger uses.
 *
 * A subscription whose filter or transformer names a script opens a handle
 * on it once and keeps it:
 *
 *     struct script_handle *h;
 *     char err[SCRIPT_ERROR_MAX];
 *
 *     if (script_open(registry, "redact", SCRIPT_TRANSFORM, &h, err, sizeof(err)) != 0)
 *         ... refuse the subscription: err says why ...
 *
 *     struct script_output out = SCRIPT_OUTPUT_INIT;
 *     struct vane_arena arena = VANE_ARENA_INIT;
 *     if (script_transform(h, &event, &arena, &out, err, sizeof(err)) != 0)
 *         ... dead-letter the event with err ...
 *     for (size_t i = 0; i < out.count; i++)
 *         ... deliver out.events[i] ...
 *     vane_arena_free(&arena);              (after the events are sent)
 *     ...
 *     script_output_free(&out);
 *     script_close(h);
 *
 * A handle names the script, not one version of it: every call runs the
 * version loaded last, so an edited file is used from the next event on.
 * A handle also keeps a script whose file was removed alive (its last
 * version) until the handle is closed.
 *
 * Errors: text with the script's file name and, where there is one, the
 * line: "redact.lua:12: attempt to index a nil value (field 'user')",
 * "redact.lua:3: instruction budget of 1000000 exceeded (an endless
 * loop?)", "redact.lua: transform's result: attribute id is required".
 * Each call and each failed call is counted for GET /api/v1/scripts.
 *
 * Threads: the loop thread only (the registry's).
 */
#ifndef VANE_SCRIPT_H
#define VANE_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "event/event.h"
#include "script/script_registry.h"

#define SCRIPT_FANOUT_MAX 1000 /* events one transform call may return */

/* What a subscription needs of a script (script_open's functions). */
enum script_function {
    SCRIPT_FILTER = 1,    /* filter(event) -> boolean */
    SCRIPT_TRANSFORM = 2, /* transform(event) -> event, list of events, or nil */
};

struct script_handle;

/*
 * Opens a handle on the script called name, which must have a version
 * running that defines every function in functions (a mask of enum
 * script_function; 0 asks for nothing).  Returns 0 with *out (close it with
 * script_close), or with err filled:
 *   -ENOENT   no script of that name (err names the folders);
 *   -EINVAL   its file never loaded (err says why), or it lacks a function.
 */
int script_open(struct script_registry *registry, const char *name, unsigned functions,
                struct script_handle **out, char *err, size_t errlen);

/* The script's name. */
const char *script_handle_name(const struct script_handle *handle);

/*
 * Runs filter(event) on event (borrowed for the call).  Returns 0 with
 * *keep (true: deliver; nil counts as false), or VANE_ELUA with err: the
 * script failed, exceeded a limit, returned something else than a boolean
 * or nil, or its version running no longer defines filter.
 */
int script_filter(struct script_handle *handle, const struct event *event, bool *keep,
                  char *err, size_t errlen);

/* The events a transform returned: count of them in events[0..count). */
struct script_output {
    struct event *events;
    size_t count;
    size_t cap;  /* slots allocated; each keeps its attribute array for reuse */
    bool borrow; /* set by the caller: see script_transform */
};

#define SCRIPT_OUTPUT_INIT {NULL, 0, 0, false}

/*
 * Runs transform(event) on in (borrowed for the call) and sets out to the
 * events it returned: one, a list of up to SCRIPT_FANOUT_MAX (fan-out), or
 * none (nil: drop).  Every name, value and data byte of out's events is a
 * copy in arena, which the caller frees once it is done with them -- except,
 * when out->borrow is set, those the script left as they were in in (names
 * of in's attributes, their values, data never read): these point into in's
 * bytes, which the caller then keeps as long as out's events (the trigger's
 * delivery path, where in points into the batch read, saves the copies).
 * out's arrays are out's own (script_output_free).  Returns 0, or VANE_ELUA
 * with err (out->count is then 0).
 */
int script_transform(struct script_handle *handle, const struct event *in,
                     struct vane_arena *arena, struct script_output *out, char *err,
                     size_t errlen);

void script_output_free(struct script_output *out);

/* Closes the handle; NULL is allowed. */
void script_close(struct script_handle *handle);

#endif
