/*
 * script_json.c -- JSON values as Lua values (see script_json.h).
 *
 * Why not jansson here, as everywhere else in the broker.  A Lua transform
 * in the delivery path must take under 3.3 us an event (300,000 events/s
 * a core, doc/lua.md), reading about 1 KiB of JSON data and writing it
 * again.  On the benchmark's event jansson took 33 us to parse and 25 us to
 * dump it (json_loadb, json_dumps), and its tree would still have to be
 * copied into Lua tables.  So both directions are written here, straight
 * between the text and the Lua stack, held to the same rules as jansson:
 * RFC 8259 text, UTF-8 checked both ways, escapes (surrogate pairs
 * included), at most SCRIPT_JSON_MAX_DEPTH levels.  tests/test-lua.c checks
 * them against jansson's reading of the same documents.
 *
 * Decoding is a recursive descent that pushes each value as it reads it: a
 * string without escapes straight from the text, one with escapes through
 * a luaL_Buffer.  It allocates nothing outside the Lua state, so a memory
 * error (the state's cap) raised in the middle leaks nothing; on a syntax
 * error the stack is put back as it was and the first fault is described
 * with its line and column.
 *
 * Lazy values.  Event data is decoded lazily (script_json_decode_lazy):
 * the top value's own members are read, but an object or array nested in
 * it is only checked and becomes a placeholder table that remembers the
 * source text (a Lua string) and its span in it.  The placeholder's
 * metatable fills it in on first use (index, assignment, #, pairs) and then
 * goes away (an array gets the array marker).  Encoding a placeholder that
 * was never used copies its span as it is: a transform that adds one field
 * to a large document reads and writes only the top level.
 *
 * Encoding walks the Lua value with raw accesses (no metamethod runs, so no
 * script code runs in the middle), except that a table whose metatable has
 * a __plain function is encoded as the plain table that function returns
 * (event tables have one).  An object's keys and values are left on the
 * Lua stack by lua_next, their places gathered into the scratch array,
 * sorted by key and written; the scratch array is used as a stack, each
 * nested object taking the slots after its parent's, and path[] remembers
 * where the walk is for error messages.  Keys are referred to by their
 * index in the scratch array, never by pointer, because a nested object may
 * grow (move) it.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "core/alloc.h"
#include "event/event_json.h"
#include "script/script_json.h"

struct script_json_key {
    const char *text; /* a string key's bytes (its Lua string is on the stack); see key_text() */
    size_t len;
    int value;        /* stack index of the value */
    lua_Integer integer;
    bool is_integer;
    char digits[24];  /* an integer key of an object, as text */
};

/* Registry keys and a placeholder's hidden keys: the addresses are the keys. */
static const char array_marker_key = 'a';
static const char lazy_object_key = 'o';
static const char lazy_array_key = 'l';
static const char source_key = 's';
static const char span_key = 'n';

#define SPAN_MAX UINT32_MAX

void script_json_scratch_free(struct script_json_scratch *scratch)
{
    vane_buf_free(&scratch->text);
    vane_free(scratch->keys);
    memset(scratch, 0, sizeof(*scratch));
}

bool script_json_is_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

static void push_array_marker(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &array_marker_key);
}

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Whether the n bytes at s are UTF-8: no stray or missing continuation
 * bytes, overlong forms, surrogates or values past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    for (uint64_t word; i + 8 <= n; i += 8) { /* ASCII, eight bytes at a time */
        memcpy(&word, s + i, 8);
        if (word & UINT64_C(0x8080808080808080))
            break;
    }
    while (i < n) {
        unsigned char c = s[i];
        uint32_t cp, min;
        size_t len;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            len = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (len > n - i)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        i += len;
    }
    return true;
}

/* Writes code point cp as UTF-8 into out; returns its length. */
static size_t utf8_put(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- decoding: the scanner ---------------------------------------------------- */

/*
 * What the parser does with the values it reads: push them all, push them
 * with nested containers as placeholders (lazy, below depth 1), or only
 * check them (skip).
 */
enum parse_mode { PARSE_PUSH, PARSE_LAZY, PARSE_SKIP };

struct parser {
    lua_State *L;
    const char *start, *p, *end;
    enum parse_mode mode;
    int source;           /* PARSE_LAZY: stack index of the Lua string holding the text */
    int depth;
    const char *expected; /* what the text should have had at error_at; NULL while fine */
    const char *error_at;
};

/* Records the first error; returns false so parsers can "return expect(...)". */
static bool expect(struct parser *ps, const char *where, const char *expected)
{
    if (ps->expected == NULL) {
        ps->expected = expected;
        ps->error_at = where;
    }
    return false;
}

static bool pushing(const struct parser *ps)
{
    return ps->mode != PARSE_SKIP;
}

static void skip_space(struct parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

static bool at(const struct parser *ps, char c)
{
    return ps->p < ps->end && *ps->p == c;
}

static bool at_digit(const struct parser *ps)
{
    return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static void skip_digits(struct parser *ps)
{
    while (at_digit(ps))
        ps->p++;
}

static bool parse_literal(struct parser *ps, const char *word)
{
    size_t len = strlen(word);

    if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
        return expect(ps, ps->p, "a JSON value");
    ps->p += len;
    return true;
}

/* ---- decoding: numbers and strings ------------------------------------------------ */

/* An integer of at most 18 digits is read here; anything else by Lua's own conversion. */
static bool push_number(struct parser *ps, const char *text, size_t len, bool integer)
{
    lua_State *L = ps->L;
    const char *digits = text + (*text == '-');

    if (integer && len - (size_t)(digits - text) <= 18) {
        lua_Integer value = 0;

        for (const char *d = digits; d < text + len; d++)
            value = value * 10 + (*d - '0');
        lua_pushinteger(L, *text == '-' ? -value : value);
        return true;
    }
    lua_pushlstring(L, text, len); /* an integer too large becomes a float, as in Lua */
    if (lua_stringtonumber(L, lua_tostring(L, -1)) == 0)
        return expect(ps, text, "a number");
    lua_remove(L, -2);
    return true;
}

static bool parse_number(struct parser *ps)
{
    const char *text = ps->p;
    bool integer = true;

    if (at(ps, '-'))
        ps->p++;
    if (at(ps, '0'))
        ps->p++;
    else if (at_digit(ps))
        skip_digits(ps);
    else
        return expect(ps, ps->p, "a JSON value");
    if (at(ps, '.')) {
        integer = false;
        ps->p++;
        if (!at_digit(ps))
            return expect(ps, ps->p, "a digit after the decimal point");
        skip_digits(ps);
    }
    if (at(ps, 'e') || at(ps, 'E')) {
        integer = false;
        ps->p++;
        if (at(ps, '+') || at(ps, '-'))
            ps->p++;
        if (!at_digit(ps))
            return expect(ps, ps->p, "a digit in the exponent");
        skip_digits(ps);
    }
    return !pushing(ps) || push_number(ps, text, (size_t)(ps->p - text), integer);
}

/* The 4 hex digits at p as a number, or -1. */
static long hex4(const char *p)
{
    long value = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int digit = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
        if (digit < 0)
            return -1;
        value = value * 16 + digit;
    }
    return value;
}

/* \uXXXX (ps->p after the 'u'), a surrogate pair included, into b (NULL: only checked). */
static bool parse_unicode(struct parser *ps, luaL_Buffer *b)
{
    const char *escape = ps->p - 2;
    long cp = ps->end - ps->p >= 4 ? hex4(ps->p) : -1, low;
    char utf8[4];

    if (cp < 0)
        return expect(ps, escape, "four hexadecimal digits after \\u");
    ps->p += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return expect(ps, escape, "a high surrogate before a low one");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        low = ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' ? hex4(ps->p + 2) : -1;
        if (low < 0xDC00 || low > 0xDFFF)
            return expect(ps, escape, "a low surrogate (\\uDC00 to \\uDFFF) after a high one");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        ps->p += 6;
    }
    if (b != NULL)
        luaL_addlstring(b, utf8, utf8_put((uint32_t)cp, utf8));
    return true;
}

/* One escape (ps->p at the backslash) into b (NULL: only checked). */
static bool parse_escape(struct parser *ps, luaL_Buffer *b)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *which;

    ps->p++;
    if (ps->p == ps->end)
        return expect(ps, ps->p - 1, "an escape after the backslash");
    ps->p++;
    if (ps->p[-1] == 'u')
        return parse_unicode(ps, b);
    if ((which = memchr(from, ps->p[-1], sizeof(from) - 1)) == NULL)
        return expect(ps, ps->p - 2, "one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
    if (b != NULL)
        luaL_addchar(b, to[which - from]);
    return true;
}

/* Bytes a string runs over without a second look: not '"', '\\', control or non-ASCII. */
static const unsigned char plain_byte[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0), /* control characters */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* '"' */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* '\\' */
    R16(1), R16(1),
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), /* non-ASCII */
#undef R16
};

/* The bytes up to the next quote or backslash; checks them (control characters, UTF-8). */
static bool scan_run(struct parser *ps)
{
    const char *run = ps->p;
    bool ascii = true;

    for (;;) {
        while (ps->p < ps->end && plain_byte[(unsigned char)*ps->p])
            ps->p++;
        if (ps->p == ps->end)
            return expect(ps, ps->p, "a closing quote");
        if ((unsigned char)*ps->p < 0x20)
            return expect(ps, ps->p, "no control character inside a string (write it as "
                                     "\\n, \\u0001, ...)");
        if ((unsigned char)*ps->p < 0x80)
            break; /* a quote or a backslash */
        ascii = false;
        ps->p++;
    }
    if (!ascii && !utf8_valid((const unsigned char *)run, (size_t)(ps->p - run)))
        return expect(ps, run, "UTF-8 text in the string");
    return true;
}

/* A string (ps->p at its opening quote), pushed as a Lua string unless skipping. */
static bool parse_string(struct parser *ps)
{
    const char *run = ++ps->p;
    luaL_Buffer b, *into = pushing(ps) ? &b : NULL;

    if (!scan_run(ps))
        return false;
    if (*ps->p == '"') { /* no escape: straight from the text */
        if (into != NULL)
            lua_pushlstring(ps->L, run, (size_t)(ps->p - run));
        ps->p++;
        return true;
    }
    if (into != NULL)
        luaL_buffinit(ps->L, into);
    for (;;) {
        if (into != NULL)
            luaL_addlstring(into, run, (size_t)(ps->p - run));
        if (*ps->p == '"')
            break;
        if (!parse_escape(ps, into))
            return false;
        run = ps->p;
        if (!scan_run(ps))
            return false;
    }
    ps->p++;
    if (into != NULL)
        luaL_pushresult(into);
    return true;
}

/* ---- decoding: containers ---------------------------------------------------------- */

static bool parse_value(struct parser *ps);

/* The elements of an array (ps->p after '[') into the table at t (0: skipping). */
static bool fill_array(struct parser *ps, int t)
{
    lua_Integer n = 0;

    skip_space(ps);
    if (at(ps, ']')) {
        ps->p++;
        return true;
    }
    for (;;) {
        if (!parse_value(ps))
            return false;
        if (t != 0)
            lua_rawseti(ps->L, t, ++n);
        skip_space(ps);
        if (at(ps, ']')) {
            ps->p++;
            return true;
        }
        if (!at(ps, ','))
            return expect(ps, ps->p, "',' or ']'");
        ps->p++;
    }
}

static bool parse_member(struct parser *ps, int t)
{
    skip_space(ps);
    if (!at(ps, '"'))
        return expect(ps, ps->p, "a member name in double quotes");
    if (!parse_string(ps))
        return false;
    skip_space(ps);
    if (!at(ps, ':'))
        return expect(ps, ps->p, "':' after the member name");
    ps->p++;
    if (!parse_value(ps))
        return false;
    if (t != 0)
        lua_rawset(ps->L, t);
    return true;
}

/* The members of an object (ps->p after '{') into the table at t (0: skipping). */
static bool fill_object(struct parser *ps, int t)
{
    skip_space(ps);
    if (at(ps, '}')) {
        ps->p++;
        return true;
    }
    for (;;) {
        if (!parse_member(ps, t))
            return false;
        skip_space(ps);
        if (at(ps, '}')) {
            ps->p++;
            return true;
        }
        if (!at(ps, ','))
            return expect(ps, ps->p, "',' or '}'");
        ps->p++;
    }
}

/* Fills the table at t (0: skipping) from the container at ps->p, one level deeper. */
static bool fill_container(struct parser *ps, int t)
{
    bool array = *ps->p == '[', ok;

    if (ps->depth == SCRIPT_JSON_MAX_DEPTH)
        return expect(ps, ps->p, "at most 128 levels of nesting");
    luaL_checkstack(ps->L, 4, "JSON nested too deeply");
    ps->p++;
    ps->depth++;
    ok = array ? fill_array(ps, t) : fill_object(ps, t);
    ps->depth--;
    return ok;
}

static void make_table(lua_State *L, bool array)
{
    lua_createtable(L, array ? 4 : 0, array ? 0 : 4);
    if (array) {
        push_array_marker(L);
        lua_setmetatable(L, -2);
    }
}

/* A placeholder for the container (not empty) that starts at begin and was just checked. */
static void push_placeholder(struct parser *ps, const char *begin)
{
    lua_State *L = ps->L;
    uint64_t offset = (uint64_t)(begin - ps->start), len = (uint64_t)(ps->p - begin);

    lua_createtable(L, 0, 2);
    lua_pushvalue(L, ps->source);
    lua_rawsetp(L, -2, &source_key);
    lua_pushinteger(L, (lua_Integer)(offset << 32 | len));
    lua_rawsetp(L, -2, &span_key);
    lua_rawgetp(L, LUA_REGISTRYINDEX, *begin == '[' ? &lazy_array_key : &lazy_object_key);
    lua_setmetatable(L, -2);
}

static bool is_empty_container(const struct parser *ps)
{
    const char *p = ps->p + 1;

    while (p < ps->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p < ps->end && *p == (*ps->p == '[' ? ']' : '}');
}

/* Past the closing quote of the string whose body starts at p; NULL if it never closes. */
static const char *string_end(const char *p, const char *end)
{
    for (;;) {
        const char *quote = memchr(p, '"', (size_t)(end - p)), *b;

        if (quote == NULL)
            return NULL;
        for (b = quote; b > p && b[-1] == '\\'; b--)
            ;
        if ((quote - b) % 2 == 0) /* not escaped: an even run of backslashes before it */
            return quote + 1;
        p = quote + 1;
    }
}

/*
 * Moves ps->p past the object or array at ps->p by its brackets alone
 * (strings skipped whole): a placeholder is checked in full only when it is
 * read, and written back as it came otherwise.
 */
static bool skip_container(struct parser *ps)
{
    int depth = 0;

    while (ps->p < ps->end) {
        switch (*ps->p) {
        case '"':
            if ((ps->p = string_end(ps->p + 1, ps->end)) == NULL)
                return expect(ps, ps->end, "a closing quote");
            continue;
        case '[':
        case '{': depth++; break;
        case ']':
        case '}':
            if (--depth == 0) {
                ps->p++;
                return true;
            }
            break;
        default: break;
        }
        ps->p++;
    }
    return expect(ps, ps->p, "a closing bracket");
}

static bool parse_container(struct parser *ps)
{
    const char *begin = ps->p;
    int t;

    if (ps->mode == PARSE_SKIP)
        return fill_container(ps, 0);
    if (ps->mode == PARSE_LAZY && ps->depth > 0 && !is_empty_container(ps)) {
        if (!skip_container(ps))
            return false;
        push_placeholder(ps, begin);
        return true;
    }
    make_table(ps->L, *begin == '[');
    t = lua_gettop(ps->L);
    return fill_container(ps, t);
}

static bool parse_value(struct parser *ps)
{
    skip_space(ps);
    if (ps->p == ps->end)
        return expect(ps, ps->p, "a JSON value");
    switch (*ps->p) {
    case '{':
    case '[': return parse_container(ps);
    case '"': return parse_string(ps);
    case 't':
        if (pushing(ps))
            lua_pushboolean(ps->L, 1);
        return parse_literal(ps, "true");
    case 'f':
        if (pushing(ps))
            lua_pushboolean(ps->L, 0);
        return parse_literal(ps, "false");
    case 'n':
        if (pushing(ps))
            lua_pushlightuserdata(ps->L, NULL);
        return parse_literal(ps, "null");
    default: return parse_number(ps);
    }
}

/* "expected X at line L, column C" for the first error. */
static void describe_error(const struct parser *ps, char *errbuf, size_t errlen)
{
    int line = 1, column = 1;

    for (const char *c = ps->start; c < ps->error_at; c++) {
        if (*c == '\n')
            line++, column = 1;
        else
            column++;
    }
    snprintf(errbuf, errlen, "expected %s at line %d, column %d", ps->expected, line, column);
}

/* Parses the whole text as one value; on failure puts the stack back and describes why. */
static int parse_document(struct parser *ps, char *errbuf, size_t errlen)
{
    int top = lua_gettop(ps->L);

    if (parse_value(ps)) {
        skip_space(ps);
        if (ps->p == ps->end)
            return 0;
        expect(ps, ps->p, "the end of the text after the value");
    }
    lua_settop(ps->L, top);
    describe_error(ps, errbuf, errlen);
    return -EINVAL;
}

int script_json_decode(lua_State *L, const char *text, size_t len, char *errbuf, size_t errlen)
{
    struct parser ps = {.L = L, .start = text, .p = text, .end = text + len, .mode = PARSE_PUSH};

    return parse_document(&ps, errbuf, errlen);
}

int script_json_decode_lazy(lua_State *L, int source, char *errbuf, size_t errlen)
{
    size_t len;
    const char *text = lua_tolstring(L, source, &len);
    struct parser ps = {.L = L, .start = text, .p = text, .end = text + len,
                        .mode = PARSE_LAZY, .source = lua_absindex(L, source)};

    if (len > SPAN_MAX) { /* spans are 32-bit: read it all at once */
        ps.mode = PARSE_PUSH;
        ps.source = 0;
    }
    return parse_document(&ps, errbuf, errlen);
}

/* ---- placeholders ---------------------------------------------------------------------- */

/* Pushes the text and span of the placeholder at t; false (nothing pushed) once it is filled. */
static bool placeholder_span(lua_State *L, int t, const char **text, size_t *len)
{
    uint64_t span;

    if (lua_rawgetp(L, t, &source_key) != LUA_TSTRING) {
        lua_pop(L, 1);
        return false;
    }
    lua_rawgetp(L, t, &span_key);
    span = (uint64_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    *text = lua_tostring(L, -1) + (span >> 32);
    *len = (size_t)(span & SPAN_MAX);
    return true;
}

/* Fills the placeholder at t in place (if it still is one) and drops its metatable. */
static void fill_placeholder(lua_State *L, int t)
{
    struct parser ps = {.L = L, .mode = PARSE_LAZY, .depth = 0};
    size_t len;
    bool array;

    t = lua_absindex(L, t);
    if (!placeholder_span(L, t, &ps.p, &len))
        return;
    ps.source = lua_gettop(L);
    ps.start = lua_tostring(L, ps.source);
    ps.end = ps.p + len;
    array = *ps.p == '[';
    if (!fill_container(&ps, t)) /* checked when the placeholder was made */
        luaL_error(L, "JSON data: expected %s", ps.expected);
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawsetp(L, t, &source_key);
    lua_pushnil(L);
    lua_rawsetp(L, t, &span_key);
    if (array)
        push_array_marker(L);
    else
        lua_pushnil(L);
    lua_setmetatable(L, t);
}

int script_json_raw_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (lua_next(L, 1) != 0)
        return 2;
    lua_pushnil(L);
    return 1;
}

static int placeholder_index(lua_State *L)
{
    fill_placeholder(L, 1);
    lua_settop(L, 2);
    lua_rawget(L, 1);
    return 1;
}

static int placeholder_newindex(lua_State *L)
{
    fill_placeholder(L, 1);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

static int placeholder_len(lua_State *L)
{
    fill_placeholder(L, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
    return 1;
}

static int placeholder_pairs(lua_State *L)
{
    fill_placeholder(L, 1);
    lua_pushcfunction(L, script_json_raw_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* ---- encoding: errors ------------------------------------------------------------------ */

/* One step of the path to the value being encoded. */
struct path_step {
    bool in_array;
    lua_Integer index; /* in_array: 1-based */
    size_t key;        /* else: its slot in the scratch keys */
};

struct encoder {
    lua_State *L;
    struct script_json_scratch *s;
    const char *what;
    struct path_step path[SCRIPT_JSON_MAX_DEPTH + 1];
    int depth;
};

/* An integer key's text lives in its slot, which moves when the array grows. */
static const char *key_text(const struct script_json_key *key)
{
    return key->is_integer ? key->digits : key->text;
}

/*
 * Raises "<where><what><path>: <message>": where is the script's line when
 * a script called the encoder (vane.json.encode), "" when the runtime did.
 */
static void __attribute__((noreturn)) encode_fail(struct encoder *e, const char *message)
{
    luaL_Buffer b;

    luaL_buffinit(e->L, &b);
    luaL_where(e->L, 1);
    luaL_addvalue(&b);
    luaL_addstring(&b, e->what);
    for (int i = 0; i < e->depth; i++) {
        const struct path_step *step = &e->path[i];
        char index[32];

        if (step->in_array) {
            snprintf(index, sizeof(index), "[%lld]", (long long)step->index);
            luaL_addstring(&b, index);
        } else {
            luaL_addchar(&b, '.');
            luaL_addlstring(&b, key_text(&e->s->keys[step->key]), e->s->keys[step->key].len);
        }
    }
    luaL_addstring(&b, ": ");
    luaL_addstring(&b, message);
    luaL_pushresult(&b);
    lua_error(e->L);
    abort(); /* lua_error does not return */
}

/* ---- encoding: scalars --------------------------------------------------------------------- */

static void append_integer(struct vane_buf *out, lua_Integer value)
{
    char text[24], *p = text + sizeof(text);
    unsigned long long magnitude =
        value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;

    do {
        *--p = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    if (value < 0)
        *--p = '-';
    vane_buf_append(out, p, (size_t)(text + sizeof(text) - p));
}

/* The fewest significant digits (15 to 17) that read back as the same double. */
static void append_float(struct encoder *e, double value)
{
    char text[40];

    if (!isfinite(value))
        encode_fail(e, "NaN and infinity have no JSON form");
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(text, sizeof(text), "%.*g", precision, value);
        if (strtod(text, NULL) == value)
            break;
    }
    if (strpbrk(text, ".eE") == NULL)
        strcat(text, ".0"); /* stays a float when decoded again */
    vane_buf_append_str(&e->s->text, text);
}

static void append_string(struct encoder *e, const char *s, size_t len)
{
    if (!utf8_valid((const unsigned char *)s, len))
        encode_fail(e, "a string that is not UTF-8 text has no JSON form (binary data goes "
                       "as the whole data string, not inside a table)");
    event_json_string(&e->s->text, s, len);
}

/* ---- encoding: tables ------------------------------------------------------------------------ */

static void encode_value(struct encoder *e, int idx);

/* Which of the runtime's metatables the table at idx has. */
enum table_kind { TABLE_PLAIN, TABLE_ARRAY, TABLE_PLACEHOLDER, TABLE_OTHER };

/* By the metatable's address: the runtime's metatables live as long as the state. */
static enum table_kind kind_of(const struct script_json_scratch *s, lua_State *L, int idx)
{
    const void *mt;

    if (!lua_getmetatable(L, idx))
        return TABLE_PLAIN;
    mt = lua_topointer(L, -1);
    lua_pop(L, 1);
    if (mt == s->array_metatable)
        return TABLE_ARRAY;
    if (mt == s->placeholder_metatables[0] || mt == s->placeholder_metatables[1])
        return TABLE_PLACEHOLDER;
    return TABLE_OTHER;
}

static struct script_json_key *new_key(struct encoder *e)
{
    struct script_json_scratch *s = e->s;

    if (s->nkeys == s->key_cap) {
        s->key_cap = s->key_cap ? s->key_cap * 2 : 32;
        s->keys = vane_realloc(s->keys, s->key_cap * sizeof(*s->keys));
    }
    return &s->keys[s->nkeys++];
}

/* The key at -2 (its value at -1) into a new slot. */
static void gather_key(struct encoder *e)
{
    lua_State *L = e->L;
    struct script_json_key *key;
    char why[96];

    if (lua_type(L, -2) == LUA_TSTRING) {
        key = new_key(e);
        key->text = lua_tolstring(L, -2, &key->len);
        key->is_integer = false;
    } else if (lua_isinteger(L, -2)) {
        key = new_key(e);
        key->integer = lua_tointeger(L, -2);
        key->text = NULL;
        key->len = 0; /* digits written only if it turns out to be an object */
        key->is_integer = true;
    } else {
        snprintf(why, sizeof(why), "a table key must be a string or an integer; got a %s",
                 lua_isnumber(L, -2) ? "number with a fraction" : luaL_typename(L, -2));
        encode_fail(e, why);
    }
    key->value = lua_gettop(L);
}

/*
 * Leaves every key and value of the table at idx on the stack and gathers
 * them into slots [base, nkeys); tells whether the keys are exactly 1..n.
 */
static bool gather_keys(struct encoder *e, int idx, size_t base, lua_Integer *max_index)
{
    lua_State *L = e->L;
    size_t integers = 0;

    *max_index = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        gather_key(e);
        if (e->s->keys[e->s->nkeys - 1].is_integer) {
            lua_Integer k = e->s->keys[e->s->nkeys - 1].integer;

            integers++;
            if (k > *max_index)
                *max_index = k;
        }
        luaL_checkstack(L, 3, "JSON object too large");
        lua_pushvalue(L, -2); /* the key again, for lua_next */
    }
    return integers == e->s->nkeys - base && *max_index == (lua_Integer)integers;
}

static int compare_keys(const struct script_json_key *x, const struct script_json_key *y)
{
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(key_text(x), key_text(y), n);

    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static int compare_keys_qsort(const void *a, const void *b)
{
    return compare_keys(a, b);
}

/* Objects are small: insertion sort, qsort past 16 keys. */
static void sort_keys(struct script_json_key *keys, size_t n)
{
    if (n > 16) {
        qsort(keys, n, sizeof(*keys), compare_keys_qsort);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        struct script_json_key key = keys[i];
        size_t j = i;

        for (; j > 0 && compare_keys(&keys[j - 1], &key) > 0; j--)
            keys[j] = keys[j - 1];
        keys[j] = key;
    }
}

static void encode_object(struct encoder *e, size_t base)
{
    struct script_json_scratch *s = e->s;
    size_t end = s->nkeys;

    for (size_t i = base; i < end; i++)
        if (s->keys[i].is_integer)
            s->keys[i].len = (size_t)snprintf(s->keys[i].digits, sizeof(s->keys[i].digits),
                                              "%lld", (long long)s->keys[i].integer);
    sort_keys(s->keys + base, end - base);
    vane_buf_append(&s->text, "{", 1);
    for (size_t i = base; i < end; i++) {
        if (i > base)
            vane_buf_append(&s->text, ",", 1);
        event_json_string(&s->text, key_text(&s->keys[i]), s->keys[i].len);
        vane_buf_append(&s->text, ":", 1);
        e->path[e->depth - 1] = (struct path_step){.in_array = false, .key = i};
        encode_value(e, s->keys[i].value);
    }
    vane_buf_append(&s->text, "}", 1);
}

/* Elements 1..n; a hole (nil) is null. */
static void encode_array(struct encoder *e, int idx, lua_Integer n)
{
    vane_buf_append(&e->s->text, "[", 1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            vane_buf_append(&e->s->text, ",", 1);
        e->path[e->depth - 1] = (struct path_step){.in_array = true, .index = i};
        lua_rawgeti(e->L, idx, i);
        encode_value(e, lua_gettop(e->L));
        lua_pop(e->L, 1);
    }
    vane_buf_append(&e->s->text, "]", 1);
}

/* A marked array may only have the keys 1..n. */
static void check_array_keys(struct encoder *e, size_t base)
{
    char why[160];

    for (size_t i = base; i < e->s->nkeys; i++) {
        const struct script_json_key *key = &e->s->keys[i];

        if (!key->is_integer || key->integer < 1) {
            if (key->is_integer)
                snprintf(why, sizeof(why), "an array (vane.json.array) can only have the keys "
                         "1, 2, ...; it has the key %lld", (long long)key->integer);
            else
                snprintf(why, sizeof(why), "an array (vane.json.array) can only have the keys "
                         "1, 2, ...; it has the key \"%.60s\"", key->text);
            encode_fail(e, why);
        }
    }
}

/* A table the runtime marks with neither metatable: encoded as what its __plain returns. */
static bool encode_plain_form(struct encoder *e, int idx)
{
    if (luaL_getmetafield(e->L, idx, "__plain") == LUA_TNIL)
        return false;
    lua_pushvalue(e->L, idx);
    lua_call(e->L, 1, 1);
    if (!lua_istable(e->L, -1))
        encode_fail(e, "its __plain did not give a table");
    e->depth--;
    encode_value(e, lua_gettop(e->L));
    e->depth++;
    lua_pop(e->L, 1);
    return true;
}

static void encode_container(struct encoder *e, int idx, enum table_kind kind)
{
    lua_State *L = e->L;
    size_t base = e->s->nkeys;
    int top = lua_gettop(L);
    lua_Integer n;
    bool sequence;

    if (kind == TABLE_OTHER && encode_plain_form(e, idx))
        return;
    sequence = gather_keys(e, idx, base, &n);
    if (kind == TABLE_ARRAY)
        check_array_keys(e, base);
    if (kind == TABLE_ARRAY || (sequence && n > 0))
        encode_array(e, idx, n);
    else
        encode_object(e, base);
    e->s->nkeys = base;
    lua_settop(L, top);
}

static void encode_table(struct encoder *e, int idx)
{
    enum table_kind kind = kind_of(e->s, e->L, idx);
    const char *text;
    size_t len;

    if (kind == TABLE_PLACEHOLDER && placeholder_span(e->L, idx, &text, &len)) {
        vane_buf_append(&e->s->text, text, len); /* never used: as it came */
        lua_pop(e->L, 1);
        return;
    }
    if (e->depth >= SCRIPT_JSON_MAX_DEPTH)
        encode_fail(e, "nested more than 128 levels deep (does a table contain itself?)");
    luaL_checkstack(e->L, 8, "JSON nested too deeply");
    e->depth++;
    encode_container(e, idx, kind == TABLE_PLACEHOLDER ? TABLE_PLAIN : kind);
    e->depth--;
}

static void encode_value(struct encoder *e, int idx)
{
    lua_State *L = e->L;
    const char *s;
    size_t len;
    char why[96];

    switch (lua_type(L, idx)) {
    case LUA_TTABLE: encode_table(e, idx); return;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        append_string(e, s, len);
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            append_integer(&e->s->text, lua_tointeger(L, idx));
        else
            append_float(e, lua_tonumber(L, idx));
        return;
    case LUA_TBOOLEAN:
        vane_buf_append_str(&e->s->text, lua_toboolean(L, idx) ? "true" : "false");
        return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            vane_buf_append(&e->s->text, "null", 4);
            return;
        }
        break;
    default: break;
    }
    snprintf(why, sizeof(why), "a %s has no JSON form (nil inside an array is null; use "
             "vane.json.null elsewhere)", luaL_typename(L, idx));
    encode_fail(e, why);
}

void script_json_encode(lua_State *L, int idx, struct script_json_scratch *scratch,
                        const char *what)
{
    struct encoder e = {.L = L, .s = scratch, .what = what, .depth = 0};

    vane_buf_reset(&scratch->text);
    scratch->nkeys = 0;
    encode_value(&e, lua_absindex(L, idx));
}

/* ---- vane.json ------------------------------------------------------------------------------ */

static int lua_json_encode(lua_State *L)
{
    struct script_json_scratch *scratch = lua_touserdata(L, lua_upvalueindex(1));

    luaL_checkany(L, 1);
    lua_settop(L, 1);
    script_json_encode(L, 1, scratch, "vane.json.encode: value");
    lua_pushlstring(L, scratch->text.data, scratch->text.len);
    return 1;
}

static int lua_json_decode(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    char why[200];

    if (script_json_decode(L, text, len, why, sizeof(why)) != 0)
        return luaL_error(L, "vane.json.decode: %s", why);
    return 1;
}

/* vane.json.array([t]): marks t (or a new table) as a JSON array and returns it. */
static int lua_json_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        lua_newtable(L);
    else
        luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    switch (kind_of(lua_touserdata(L, lua_upvalueindex(1)), L, 1)) {
    case TABLE_ARRAY: return 1;
    case TABLE_PLAIN: break;
    default: return luaL_error(L, "vane.json.array: the table already has a metatable");
    }
    push_array_marker(L);
    lua_setmetatable(L, 1);
    return 1;
}

/* A metatable of the runtime's, protected: a script can neither read nor change it; pushed. */
static const void *make_metatable(lua_State *L, const char *name, const void *key)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__metatable");
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
    return lua_topointer(L, -1);
}

/* Placeholders answer getmetatable() as what they stand for. */
static const void *make_placeholder_metatable(lua_State *L, const char *name, const void *key)
{
    const void *mt = make_metatable(L, name, key);

    lua_pushcfunction(L, placeholder_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, placeholder_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, placeholder_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, placeholder_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pop(L, 1);
    return mt;
}

void script_json_open(lua_State *L, struct script_json_scratch *scratch)
{
    scratch->array_metatable = make_metatable(L, "vane.json.array", &array_marker_key);
    lua_pop(L, 1);
    scratch->placeholder_metatables[0] =
        make_placeholder_metatable(L, "vane.json.object", &lazy_object_key);
    scratch->placeholder_metatables[1] =
        make_placeholder_metatable(L, "vane.json.array", &lazy_array_key);
    lua_createtable(L, 0, 4);
    lua_pushlightuserdata(L, scratch);
    lua_pushcclosure(L, lua_json_encode, 1);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, lua_json_decode);
    lua_setfield(L, -2, "decode");
    lua_pushlightuserdata(L, scratch);
    lua_pushcclosure(L, lua_json_array, 1);
    lua_setfield(L, -2, "array");
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
}
