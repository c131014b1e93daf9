/*
 * script_json_internal.h -- what the three files of the JSON bridge share:
 * script_json.c (reading JSON, vane.json), script_json_lazy.c (placeholders
 * for parts of data not read yet) and script_json_encode.c (writing JSON).
 *
 * The parser reads JSON text in one of two modes: pushing every value, or
 * lazily -- pushing the values of one level and a placeholder for each
 * object or array nested in it.  Lazy mode checks the level it reads and
 * finds the end of each container nested in it by its brackets alone
 * (script_json_skip_container): that container is checked when its
 * placeholder is filled.
 */
#ifndef VANE_SCRIPT_JSON_INTERNAL_H
#define VANE_SCRIPT_JSON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

#include "script/script_json.h"

enum parse_mode {
    PARSE_PUSH, /* push every value */
    PARSE_LAZY, /* push one level, a placeholder for each container below it */
};

struct parser {
    lua_State *L;
    const struct script_json_scratch *scratch; /* PARSE_LAZY: the state's */
    const char *start, *p, *end;
    enum parse_mode mode;
    int depth;
    bool keep_existing;   /* filling: a member the table already has keeps its value */
    const char *expected; /* what the text should have had at error_at; NULL while fine */
    const char *error_at;
};

/* Registry key (its address) of the array marker. */
extern const char script_json_array_marker;

void script_json_push_array_marker(lua_State *L);

/* Makes a protected metatable called name; leaves it pushed. */
const void *script_json_make_metatable(lua_State *L, const char *name);

/* Whether the n bytes at s are UTF-8 (no overlong forms, surrogates, values past U+10FFFF). */
bool script_json_utf8_valid(const unsigned char *s, size_t n);

/* ---- script_json.c: the parser --------------------------------------------------- */

/* Fills the table at t from the container at ps->p. */
bool script_json_fill_container(struct parser *ps, int t);

/* "expected X at line L, column C" for the parser's first error. */
void script_json_describe_error(const struct parser *ps, char *errbuf, size_t errlen);

/* Moves ps->p past the container at ps->p by its brackets (strings skipped whole). */
bool script_json_skip_container(struct parser *ps);

/* Past the closing quote of the string whose body starts at p; NULL if it never closes. */
const char *script_json_string_end(const char *p, const char *end);

/* ---- script_json_lazy.c: placeholders ------------------------------------------------ */

/*
 * Replaces the Lua string at the top (the text of one object or array,
 * nothing around it) with a placeholder for it; room is how many members
 * the table should have room for beside its hidden key.
 */
void script_json_lazy_wrap(lua_State *L, const struct script_json_scratch *scratch, int room);

/*
 * Pushes a placeholder for the object or array text[0, len) (nothing
 * around it) that reads it where it is, and lends text to it
 * (scratch->loan); room as for script_json_lazy_wrap.
 */
void script_json_lazy_lend(lua_State *L, const char *text, size_t len,
                           struct script_json_scratch *scratch, int room);

/*
 * When the table at t is a placeholder not yet filled, pushes its text
 * string (keep it there while using *text; nil for lent text) and sets
 * *text, *len to the text; else pushes nothing and returns false.  A
 * placeholder whose loan is over raises an error.
 */
bool script_json_lazy_text(lua_State *L, const struct script_json_scratch *scratch, int t,
                           const char **text, size_t *len);

/* Fills the placeholder at t in place (if it still is one), as its metatable does on first use. */
void script_json_lazy_fill(lua_State *L, struct script_json_scratch *scratch, int t);

/* Whether the object text[0, len) (checked JSON) has a member called key, or may have one
 * (a name written with escapes). */
bool script_json_lazy_has_member(const char *text, size_t len, const char *key, size_t keylen);

/* Makes the placeholder metatables (called by script_json_open); records them in scratch. */
void script_json_lazy_open(lua_State *L, struct script_json_scratch *scratch);

#endif
