/*
 * script_event.h -- a CloudEvent as the Lua table a script sees, and back.
 *
 * The table: every attribute and extension is a key holding its value in
 * its CloudEvents type -- an integer as a Lua integer, a boolean as a
 * boolean, every other type (string, URI, timestamp, binary) as a string --
 * and "data" holds the data: under a JSON content type (none,
 * application/json, anything +json) the decoded value (script_json.h),
 * otherwise the bytes as a string.
 *
 * The table is filled in as the script reads it: attributes come from the
 * event when first read, data is decoded when first read, and then only as
 * deep as the script goes.  So a filter that looks at the type pays for
 * the type, and a transform that adds a field writes back the data's text
 * with that field spliced in.  What that means for a script: read and
 * assign freely, iterate with pairs() (which sees every attribute and the
 * data), but do not expect rawget(), next() or # to see what has not been
 * read; and an event table answers only during the call it was passed to
 * (keep a copy made with pairs to remember one), as does its data while
 * not read (it is read in place, in the event's bytes).
 *
 * Reading a returned table back into an event:
 *   - attributes the input event had keep their type (a string-typed one
 *     also takes a number, as its text); one the script left alone is
 *     copied as it was, one it assigned nil is dropped;
 *   - new keys are typed by their Lua value: a boolean, an integer, a
 *     string (typed as the spec types its own attributes: time is a
 *     timestamp, source a URI-reference); they follow the input's attributes
 *     in name order;
 *   - data: nil is no data; a string is the bytes as they are; a table, a
 *     number, a boolean or vane.json.null is encoded as JSON, and a
 *     datacontenttype that names something else becomes application/json;
 *   - what the script set must be valid as CloudEvents says (event_check.h's
 *     rules: names, UTF-8 without control characters, 32-bit integers, RFC
 *     3339 times, specversion 1.0, no new xvanus* extension) and the
 *     required attributes must be there.
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

/*
 * Pushes the table for event, which must stay as it is until the protected
 * call ends (the sandbox forgets it then: script_sandbox_call).
 */
void script_event_push(lua_State *L, const struct event *event);

/* Whether the table at t is an event table (one script_event_push made). */
bool script_event_is_table(lua_State *L, int t);

/*
 * Fills out (reset first) from the table at idx, typing attributes after
 * in.  Names, values and data are copies in arena; with borrow, those that
 * are in's as they were point into in's bytes instead.  what names the
 * table in errors ("transform's result", "event 2 of transform's result"),
 * which are raised as Lua errors.
 */
void script_event_read(lua_State *L, int idx, const struct event *in, struct event *out,
                       struct vane_arena *arena, bool borrow,
                       struct script_json_scratch *scratch, const char *what);

#endif
