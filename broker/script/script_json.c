/*
 * script_json.c -- reading JSON into Lua values, and the vane.json table
 * (see script_json.h; script_json_lazy.c has the placeholders,
 * script_json_encode.c the writing).
 *
 * Why not jansson here, as everywhere else in the broker.  A Lua transform
 * in the delivery path must take under 3.3 us an event (300,000 events/s
 * a core, doc/lua.md), reading about 1 KiB of JSON data and writing it
 * again.  On the benchmark's event jansson took 33 us to parse and 25 us to
 * dump it (json_loadb, json_dumps; and its tree would still have to be
 * copied into Lua tables).  So both directions are written here, straight
 * between the text and the Lua stack, held to the same rules as jansson:
 * RFC 8259 text, UTF-8 checked both ways, escapes (surrogate pairs
 * included), at most SCRIPT_JSON_MAX_DEPTH levels.  tests/test-lua.c checks
 * them against jansson's reading of the same documents.
 *
 * The parser is a recursive descent that pushes each value as it reads it:
 * a string without escapes straight from the text, one with escapes
 * through a luaL_Buffer.  It allocates nothing outside the Lua state, so a
 * memory error (the state's cap) raised in the middle leaks nothing; on a
 * syntax error the stack is put back as it was and the first fault is
 * described with its line and column.  Strings are scanned eight bytes at a
 * time for the bytes that need a second look (quote, backslash, control
 * characters, non-ASCII).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "core/alloc.h"
#include "script/script_json_internal.h"

const char script_json_array_marker = 'a';

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

void script_json_push_array_marker(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &script_json_array_marker);
}

/* ---- UTF-8 ---------------------------------------------------------------------- */

/* Any byte of w with its high bit set. */
#define HIGH_BITS UINT64_C(0x8080808080808080)
#define ONES UINT64_C(0x0101010101010101)

bool script_json_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    for (uint64_t word; i + 8 <= n; i += 8) { /* ASCII, eight bytes at a time */
        memcpy(&word, s + i, 8);
        if (word & HIGH_BITS)
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

/* ---- the scanner --------------------------------------------------------------------- */

/* Records the first error; returns false so parsers can "return expect(...)". */
static bool expect(struct parser *ps, const char *where, const char *expected)
{
    if (ps->expected == NULL) {
        ps->expected = expected;
        ps->error_at = where;
    }
    return false;
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

/* ---- numbers ------------------------------------------------------------------------ */

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
    return push_number(ps, text, (size_t)(ps->p - text), integer);
}

/* ---- strings ------------------------------------------------------------------------- */

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

/* \uXXXX (ps->p after the 'u'), a surrogate pair included, into b. */
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
    luaL_addlstring(b, utf8, utf8_put((uint32_t)cp, utf8));
    return true;
}

/* One escape (ps->p at the backslash) into b. */
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
    luaL_addchar(b, to[which - from]);
    return true;
}

/* Whether any byte of w is a quote, a backslash, a control character or not ASCII. */
static bool has_special_byte(uint64_t w)
{
    uint64_t quote = w ^ (ONES * '"'), backslash = w ^ (ONES * '\\');
    uint64_t found = ((quote - ONES) & ~quote) | ((backslash - ONES) & ~backslash) |
                     ((w - ONES * 0x20) & ~w) | w;

    return (found & HIGH_BITS) != 0;
}

/* Bytes a string runs over without a second look. */
static bool is_plain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Moves over the bytes up to the next quote or backslash, checking them. */
static bool scan_run(struct parser *ps)
{
    const char *run = ps->p;
    bool ascii = true;
    uint64_t word;

    for (;;) {
        while (ps->end - ps->p >= 8 && (memcpy(&word, ps->p, 8), !has_special_byte(word)))
            ps->p += 8;
        while (ps->p < ps->end && is_plain_byte((unsigned char)*ps->p))
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
    if (!ascii && !script_json_utf8_valid((const unsigned char *)run, (size_t)(ps->p - run)))
        return expect(ps, run, "UTF-8 text in the string");
    return true;
}

/* A string (ps->p at its opening quote), pushed as a Lua string. */
static bool parse_string(struct parser *ps)
{
    const char *run = ++ps->p;
    luaL_Buffer b;

    if (!scan_run(ps))
        return false;
    if (*ps->p == '"') { /* no escape: straight from the text */
        lua_pushlstring(ps->L, run, (size_t)(ps->p - run));
        ps->p++;
        return true;
    }
    luaL_buffinit(ps->L, &b);
    for (;;) {
        luaL_addlstring(&b, run, (size_t)(ps->p - run));
        if (*ps->p == '"')
            break;
        if (!parse_escape(ps, &b))
            return false;
        run = ps->p;
        if (!scan_run(ps))
            return false;
    }
    ps->p++;
    luaL_pushresult(&b);
    return true;
}

const char *script_json_string_end(const char *p, const char *end)
{
    for (;;) {
        const char *quote = memchr(p, '"', (size_t)(end - p)), *b;

        if (quote == NULL)
            return NULL;
        for (b = quote; b > p && b[-1] == '\\'; b--)
            continue;
        if ((quote - b) % 2 == 0) /* an even run of backslashes: the quote is not escaped */
            return quote + 1;
        p = quote + 1;
    }
}

/* ---- containers -------------------------------------------------------------------------- */

static bool parse_value(struct parser *ps);

/* The elements of an array (ps->p after '[') into the table at t. */
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
    if (ps->keep_existing && ps->depth == 1) { /* a member assigned before the table was filled */
        lua_pushvalue(ps->L, -2);
        if (lua_rawget(ps->L, t) != LUA_TNIL) {
            lua_pop(ps->L, 3);
            return true;
        }
        lua_pop(ps->L, 1);
    }
    lua_rawset(ps->L, t);
    return true;
}

/* The members of an object (ps->p after '{') into the table at t. */
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

bool script_json_fill_container(struct parser *ps, int t)
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

bool script_json_skip_container(struct parser *ps)
{
    int depth = 0;

    while (ps->p < ps->end) {
        switch (*ps->p) {
        case '"':
            if ((ps->p = script_json_string_end(ps->p + 1, ps->end)) == NULL)
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

static bool is_empty_container(const struct parser *ps)
{
    const char *p = ps->p + 1;

    while (p < ps->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p < ps->end && *p == (*ps->p == '[' ? ']' : '}');
}

static bool parse_container(struct parser *ps)
{
    const char *begin = ps->p;
    bool array = *begin == '[';

    if (ps->mode == PARSE_LAZY && ps->depth > 0 && !is_empty_container(ps)) {
        if (!script_json_skip_container(ps))
            return false;
        lua_pushlstring(ps->L, begin, (size_t)(ps->p - begin));
        script_json_lazy_wrap(ps->L, ps->scratch, 0);
        return true;
    }
    lua_createtable(ps->L, array ? 4 : 0, array ? 0 : 4);
    if (array) {
        script_json_push_array_marker(ps->L);
        lua_setmetatable(ps->L, -2);
    }
    return script_json_fill_container(ps, lua_gettop(ps->L));
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
        lua_pushboolean(ps->L, 1);
        return parse_literal(ps, "true");
    case 'f':
        lua_pushboolean(ps->L, 0);
        return parse_literal(ps, "false");
    case 'n':
        lua_pushlightuserdata(ps->L, NULL);
        return parse_literal(ps, "null");
    default: return parse_number(ps);
    }
}

/* ---- documents ----------------------------------------------------------------------------- */

void script_json_describe_error(const struct parser *ps, char *errbuf, size_t errlen)
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

/* Reads the whole text as one value; on failure puts the stack back and describes why. */
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
    script_json_describe_error(ps, errbuf, errlen);
    return -EINVAL;
}

int script_json_decode(lua_State *L, const char *text, size_t len, char *errbuf, size_t errlen)
{
    struct parser ps = {.L = L, .start = text, .p = text, .end = text + len, .mode = PARSE_PUSH};

    return parse_document(&ps, errbuf, errlen);
}

/*
 * Text that starts with '{' and ends with '}' (or '[' ... ']'), white space
 * aside, is one placeholder for the whole of it: nothing is read until the
 * script uses it, and filling checks that the value ends where the text
 * does.  Any other text is read at once.
 */
int script_json_decode_lazy(lua_State *L, const char *text, size_t len,
                            struct script_json_scratch *scratch, char *errbuf, size_t errlen)
{
    struct parser ps = {.L = L, .start = text, .p = text, .end = text + len, .mode = PARSE_PUSH};
    const char *last = ps.end;

    skip_space(&ps);
    while (last > ps.p && (last[-1] == ' ' || last[-1] == '\n' || last[-1] == '\r' ||
                           last[-1] == '\t'))
        last--;
    if (last - ps.p >= 2 && !is_empty_container(&ps) &&
        ((*ps.p == '{' && last[-1] == '}') || (*ps.p == '[' && last[-1] == ']'))) {
        /* room for members a transform adds */
        script_json_lazy_lend(L, ps.p, (size_t)(last - ps.p), scratch, 2);
        return 0;
    }
    return parse_document(&ps, errbuf, errlen);
}

/* ---- vane.json ----------------------------------------------------------------------------- */

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
    if (lua_getmetatable(L, 1)) {
        script_json_push_array_marker(L);
        if (!lua_rawequal(L, -1, -2))
            return luaL_error(L, "vane.json.array: the table already has a metatable");
        lua_pop(L, 2);
        return 1;
    }
    script_json_push_array_marker(L);
    lua_setmetatable(L, 1);
    return 1;
}

const void *script_json_make_metatable(lua_State *L, const char *name)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__metatable");
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    return lua_topointer(L, -1);
}

void script_json_open(lua_State *L, struct script_json_scratch *scratch)
{
    scratch->array_metatable = script_json_make_metatable(L, "vane.json.array");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &script_json_array_marker);
    script_json_lazy_open(L, scratch);
    lua_createtable(L, 0, 4);
    lua_pushlightuserdata(L, scratch);
    lua_pushcclosure(L, lua_json_encode, 1);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, lua_json_decode);
    lua_setfield(L, -2, "decode");
    lua_pushcfunction(L, lua_json_array);
    lua_setfield(L, -2, "array");
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
}
