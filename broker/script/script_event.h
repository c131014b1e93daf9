/*
 * script_event.h -- a CloudEvent as the Lua table a script sees, and back.
 *
 * The table: every attribute and extension is a top-level key holding its
 * value in its CloudEvents type -- an integer as a Lua integer, a boolean as
 * a boolean, every other type (string, URI, timestamp, binary) as a string
 * -- and "data" holds the data: under a JSON content type (none,
 * application/json, anything +json) the decoded value (script_json.h),
 * otherwise the bytes as a string.
 *
 * JSON data is decoded only when the script first reads event.data: until
 * then the table keeps the bytes under a hidden key (a light userdata, which
 * pairs() does not show), and a table returned with its data unread gives
 * the same bytes back without decoding or encoding anything.  A filter that
 * looks only at the type never pays for the data.
 *
 * Reading a returned table back into an event:
 *   - attributes the input event had keep their type (a string-typed one
 *     also takes a number, as its text); a missing one is dropped;
 *   - new keys are typed by their Lua value: a boolean, an integer, a
 *     string (typed as the spec types its own attributes: time is a
 *     timestamp, source a URI-reference); they follow the input's attributes
 *     in name order;
 *   - data: nil is no data; a string is the bytes as they are; a table, a
 *     number, a boolean or vane.json.null is encoded as JSON, and a
 *     datacontenttype that names something else becomes application/json;
 *   - the result must be a valid CloudEvent (event_check.h), except that
 *     the broker's own xvanus* extensions the input carried may stay.
 * Anything else is a Lua error naming the attribute and what was expected.
 */
#ifndef VANE_SCRIPT_EVENT_H
#define VANE_SCRIPT_EVENT_H

#include <lua.h>

#include "core/arena.h"
#include "event/event.h"
#include "script/script_json.h"

/* Makes the metatable of event tables (called once, when the state is made). */
void script_event_open(lua_State *L);

/* Pushes event as a table (in a protected call: it allocates). */
void script_event_push(lua_State *L, const struct event *event);

/*
 * Fills out (reset first) from the table at idx, typing attributes after
 * in.  Names, values and data are copies in arena.  what names the table in
 * errors ("transform's result", "event 2 of transform's result"), which
 * are raised as Lua errors.
 */
void script_event_read(lua_State *L, int idx, const struct event *in, struct event *out,
                       struct vane_arena *arena, struct script_json_scratch *scratch,
                       const char *what);

#endif
