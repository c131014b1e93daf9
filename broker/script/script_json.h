/*
 * script_json.h -- JSON values as Lua values, for the script runtime.
 *
 * JSON's arrays, objects and null must survive a trip through Lua, whose
 * one table type holds both and whose nil cannot sit in a table:
 *
 *     JSON                 Lua
 *     object               a table with string keys
 *     array                a table 1..n whose metatable is the array marker
 *                          (what vane.json.array(t) sets); an empty array
 *                          stays an array, an empty object an object
 *     null                 vane.json.null, a light userdata (NULL)
 *     integer              integer;  a number with a fraction or exponent: float
 *     string, true, false  string, boolean
 *
 * Both directions go straight between JSON text and the Lua stack, not
 * through jansson (script_json.c says why).  Encoding sorts object keys
 * (of the tables it writes; a part of lazily decoded data that was never
 * used is copied as it came), so the same table always
 * gives the same text; a table without the marker is an array when its keys
 * are exactly 1..n (n > 0), otherwise an object; floats in the fewest digits
 * that read back to the same double, always with a '.' or exponent so they
 * read back as floats.  Functions, NaN, infinities, keys that are neither
 * strings nor integers, text that is not UTF-8 and nesting deeper than
 * SCRIPT_JSON_MAX_DEPTH (a cycle, say) are refused with an error that says
 * where ("data.commits[2].author: ...").
 *
 * A table whose metatable has a __plain function is encoded as the table
 * that function returns (event tables use it: script_event.h).
 *
 * Everything here runs inside a protected call on the state's own thread
 * (the loop thread); errors are raised as Lua errors.
 */
#ifndef VANE_SCRIPT_JSON_H
#define VANE_SCRIPT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

#include "core/buf.h"

#define SCRIPT_JSON_MAX_DEPTH 128

/* A table key being encoded; see script_json.c. */
struct script_json_key;

/*
 * What the encoder reuses from one call to the next (one per Lua state):
 * the text it writes and the keys of the objects it is sorting.  Both are
 * C memory outside the state, so a Lua error in the middle leaks nothing:
 * the next encode starts them over, script_json_scratch_free() frees them.
 */
struct script_json_scratch {
    struct vane_buf text;
    struct script_json_key *keys;
    size_t nkeys, key_cap;
    const void *array_metatable;           /* the marker, by address */
    const void *placeholder_metatables[2]; /* of lazy objects and arrays */
};

void script_json_scratch_free(struct script_json_scratch *scratch);

/*
 * Sets up the state for JSON values (the array marker in the registry) and
 * pushes the vane.json table: encode, decode, null, array.  scratch is the
 * state's own and must outlive it.
 */
void script_json_open(lua_State *L, struct script_json_scratch *scratch);

/*
 * Pushes the Lua value of the JSON text (any JSON value at the top).
 * Returns 0, or -EINVAL with nothing pushed and errbuf saying what was
 * expected where ("expected ',' or '}' at line 1, column 12").  Raises a
 * Lua error only when the state runs out of memory.
 */
int script_json_decode(lua_State *L, const char *text, size_t len, char *errbuf, size_t errlen);

/*
 * As script_json_decode, for the text held by the Lua string at source,
 * lazily: the top value's members are read, but an object or array nested
 * in it is only checked and becomes a placeholder that reads itself on
 * first use, and is written back as its text if never used (it keeps the
 * string alive).  For event data, which transforms mostly pass through.
 */
int script_json_decode_lazy(lua_State *L, int source, char *errbuf, size_t errlen);

/*
 * Encodes the value at idx into scratch->text (emptied first).  what names
 * the value in errors ("data", "vane.json.encode: value"), which are
 * raised as Lua errors.
 */
void script_json_encode(lua_State *L, int idx, struct script_json_scratch *scratch,
                        const char *what);

/* next(t, k) without metamethods: what a __pairs hands back as its iterator. */
int script_json_raw_next(lua_State *L);

/* Whether the value at idx is vane.json.null. */
bool script_json_is_null(lua_State *L, int idx);

#endif
