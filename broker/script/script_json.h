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
#define SCRIPT_JSON_PLACEHOLDER_KINDS 4 /* objects and arrays, holding text or lent it */

/* A table key being encoded; see script_json.c. */
struct script_json_key;

/*
 * Event data lent to the state for one call (script_json_decode_lazy): the
 * placeholder that reads it, by address, and the bytes.  The placeholder
 * (known by its metatable) may read them only while this record still
 * names it: filling it or script_json_loan_end(), when the call ends, ends
 * the loan, and a placeholder kept past its call then raises an error
 * instead of reading bytes that may be gone.
 */
struct script_json_loan {
    const void *table; /* the placeholder; NULL: no loan */
    const char *text;
    size_t len;
};

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
    const void *placeholder_metatables[SCRIPT_JSON_PLACEHOLDER_KINDS]; /* script_json_lazy.c */
    int placeholder_refs[SCRIPT_JSON_PLACEHOLDER_KINDS];               /* theirs in the registry */
    struct script_json_loan loan;          /* of the call running */
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
 * As script_json_decode, lazily, for event data, which transforms mostly
 * pass through.  An object or array (the usual data) becomes a placeholder
 * that reads itself on first use and is written back as its text if never
 * used; it reads text in place, under scratch->loan, so text must stay as
 * it is until script_json_loan_end().  Any other value is read at once.
 * Nested objects and arrays become placeholders of their own as they are
 * read, each holding a Lua string with its text (they outlive the loan).
 */
int script_json_decode_lazy(lua_State *L, const char *text, size_t len,
                            struct script_json_scratch *scratch, char *errbuf, size_t errlen);

/* Ends the loan of the call (the sandbox calls it when a call ends); no Lua call. */
void script_json_loan_end(struct script_json_scratch *scratch);

/*
 * Makes the placeholder at idx, if it is the one reading lent text, hold a
 * copy of its text instead, so that it outlives the loan (a copy of the
 * event made with pairs() keeps its data).
 */
void script_json_loan_copy(lua_State *L, int idx, struct script_json_scratch *scratch);

/*
 * Encodes the value at idx into scratch->text (emptied first).  what names
 * the value in errors ("data", "vane.json.encode: value"), which are
 * raised as Lua errors.
 */
void script_json_encode(lua_State *L, int idx, struct script_json_scratch *scratch,
                        const char *what);

/*
 * As script_json_encode, without copying the text of a placeholder never
 * filled (data passed through, with or without members added): the JSON is
 * *head (head_len bytes, in the placeholder's text: lent bytes or its own
 * string, valid while the value at idx is) followed by scratch->text.
 * head_len is 0 when the value is anything else.
 */
void script_json_encode_split(lua_State *L, int idx, struct script_json_scratch *scratch,
                              const char *what, const char **head, size_t *head_len);

/* next(t, k) without metamethods: what a __pairs hands back as its iterator. */
int script_json_raw_next(lua_State *L);

/* Whether the value at idx is vane.json.null. */
bool script_json_is_null(lua_State *L, int idx);

#endif
