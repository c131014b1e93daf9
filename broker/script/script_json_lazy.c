/*
 * script_json_lazy.c -- placeholders: the parts of event data a script has
 * not read yet (see script_json.h, script_json_internal.h).
 *
 * A placeholder is an empty table with one hidden key (a light userdata,
 * which scripts cannot make) holding the text of its object or array, a
 * Lua string of its own (for the whole data, the data string itself).  Its
 * metatable (one for objects, one for
 * arrays, protected and answering getmetatable() with "vane.json.object" /
 * "vane.json.array") fills it in place on first use -- an index, #, pairs,
 * an assignment -- reading one level: what is nested below becomes
 * placeholders in turn.  Then the metatable goes (an array gets the array
 * marker) and it is a table like any other.
 *
 * One exception makes the common transform cheap: assigning a member of
 * an object placeholder (event.data.processed = true) does not fill it.
 * The member is stored in the table itself, beside the text; filling later
 * keeps it over a member of the same name in the text; and the encoder
 * writes the object's text with the members beside it spliced in before its
 * closing brace -- when the text has none of their names, which it answers
 * by walking the text's names (script_json_lazy_has_member); else it fills
 * the object and writes it as a table.
 *
 * Each level is checked in full as it is filled (its end was found by its
 * brackets when the placeholder was made), so JSON that is bad deep inside
 * is an error when that part is read ("JSON data: expected ... at line L,
 * column C" of that part), and is passed on as it came when it is not.
 */
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <lauxlib.h>

#include "script/script_json_internal.h"

const char script_json_placeholder_object = 'o';
const char script_json_placeholder_array = 'l';

static const char text_key = 't';

void script_json_lazy_wrap(lua_State *L, int room)
{
    const char *text = lua_tostring(L, -1);

    lua_createtable(L, 0, 1 + room);
    lua_insert(L, -2);
    lua_rawsetp(L, -2, &text_key);
    lua_rawgetp(L, LUA_REGISTRYINDEX,
                *text == '[' ? &script_json_placeholder_array : &script_json_placeholder_object);
    lua_setmetatable(L, -2);
}

bool script_json_lazy_text(lua_State *L, int t, const char **text, size_t *len)
{
    if (lua_rawgetp(L, t, &text_key) != LUA_TSTRING) {
        lua_pop(L, 1);
        return false;
    }
    *text = lua_tolstring(L, -1, len);
    return true;
}

/* Whether the placeholder at t holds members beside its text (keys other than the hidden ones). */
static bool has_members_beside(lua_State *L, int t)
{
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TLIGHTUSERDATA) {
            lua_pop(L, 1);
            return true;
        }
    }
    return false;
}

/* A placeholder's value must end where its span does (the whole data's span was not checked). */
static bool expect_end(struct parser *ps)
{
    ps->expected = "the end of the text after the value";
    ps->error_at = ps->p;
    return false;
}

void script_json_lazy_fill(lua_State *L, int t)
{
    struct parser ps = {.L = L, .mode = PARSE_LAZY, .depth = 0};
    size_t len;
    bool array;

    t = lua_absindex(L, t);
    if (!script_json_lazy_text(L, t, &ps.p, &len))
        return;
    ps.start = ps.p;
    ps.end = ps.p + len;
    array = *ps.p == '[';
    ps.keep_existing = has_members_beside(L, t);
    if (!script_json_fill_container(&ps, t) ||
        (ps.p != ps.end && !expect_end(&ps))) {
        char why[160];

        script_json_describe_error(&ps, why, sizeof(why));
        luaL_error(L, "JSON data: %s", why);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawsetp(L, t, &text_key);
    if (array)
        script_json_push_array_marker(L);
    else
        lua_pushnil(L);
    lua_setmetatable(L, t);
}

/* ---- an object's member names, from its text ---------------------------------------- */

static const char *after_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* Past the value at p (checked JSON). */
static const char *after_value(const char *p, const char *end)
{
    struct parser ps = {.p = p, .end = end};

    if (*p == '"')
        return script_json_string_end(p + 1, end);
    if (*p == '{' || *p == '[') {
        script_json_skip_container(&ps);
        return ps.p;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
           *p != '\r' && *p != '\t')
        p++;
    return p;
}

/*
 * When the quoted name occurs nowhere in the text, no member has it -- as
 * long as the text has no \u escape and the name needs no escaping, so
 * that the name could not be written another way.  A search for it (memchr
 * does the work) instead of walking the members: the common case of a
 * transform adding a field.  (glibc's memmem was ten times slower here.)
 */
/* Whether needle (n >= 2 bytes) occurs in text; memchr looks for needle[pivot], the byte of
 * it rarest in JSON text (a quote is not: every string has two). */
static bool contains(const char *text, size_t len, const char *needle, size_t n, size_t pivot)
{
    const char *end = text + len;

    for (const char *p = text + pivot; p < end; p++) {
        if ((p = memchr(p, needle[pivot], (size_t)(end - p))) == NULL)
            return false;
        if ((size_t)(end - p) >= n - pivot && memcmp(p - pivot, needle, n) == 0)
            return true;
    }
    return false;
}

#if defined(__x86_64__)
/*
 * contains() for CPUs with AVX2: the places where needle's bytes at first
 * and last are both where they should be are found 32 at a time, and only
 * those are compared whole.  With the first and last letters of a quoted
 * name, few places pass; memchr on one letter stopped at every word holding
 * it, and this search was the largest part of writing spliced data.
 *
 * The blocks are at i = 0, 32, ... and a last one ending at the text's end
 * (overlapping the one before).  next_hits() looks at blocks from *i on
 * without calling anything, so that its vectors stay in registers.
 */

/* The block after the one at i (i + 32, or the last one); i itself when it is the last. */
static size_t next_block(size_t i, size_t len, size_t last)
{
    return i + last + 64 <= len ? i + 32 : len - last - 32;
}

__attribute__((target("avx2"))) static uint32_t next_hits(const char *text, size_t len,
                                                           size_t *i, const char *needle,
                                                           size_t first, size_t last)
{
    const __m256i want_first = _mm256_set1_epi8(needle[first]);
    const __m256i want_last = _mm256_set1_epi8(needle[last]);

    for (;;) {
        const char *at = text + *i;
        __m256i at_first = _mm256_loadu_si256((const __m256i *)(const void *)(at + first));
        __m256i at_last = _mm256_loadu_si256((const __m256i *)(const void *)(at + last));
        uint32_t hits = (uint32_t)_mm256_movemask_epi8(
            _mm256_and_si256(_mm256_cmpeq_epi8(at_first, want_first),
                             _mm256_cmpeq_epi8(at_last, want_last)));

        if (hits != 0 || next_block(*i, len, last) == *i)
            return hits;
        *i = next_block(*i, len, last);
    }
}

static bool contains_avx2(const char *text, size_t len, const char *needle, size_t n,
                          size_t first, size_t last)
{
    size_t i = 0;

    if (len < last + 32) { /* too short for one block */
        for (; i + n <= len; i++)
            if (text[i + first] == needle[first] && memcmp(text + i, needle, n) == 0)
                return true;
        return false;
    }
    for (;;) {
        uint32_t hits = next_hits(text, len, &i, needle, first, last);

        for (; hits != 0; hits &= hits - 1) {
            size_t at = i + (size_t)__builtin_ctz(hits);

            if (at + n <= len && memcmp(text + at, needle, n) == 0)
                return true;
        }
        if (next_block(i, len, last) == i)
            return false;
        i = next_block(i, len, last);
    }
}

static bool have_avx2(void)
{
    static int known = -1;

    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") != 0;
    }
    return known;
}
#endif

/* Whether the quoted name (n >= 3 bytes, quotes included) occurs in text. */
static bool contains_name(const char *text, size_t len, const char *quoted, size_t n)
{
#if defined(__x86_64__)
    if (have_avx2())
        return contains_avx2(text, len, quoted, n, n > 3 ? 1 : 0, n - 2);
#endif
    return contains(text, len, quoted, n, 1);
}

static bool surely_absent(const char *text, size_t len, const char *key, size_t keylen)
{
    char quoted[128];

    if (keylen + 2 > sizeof(quoted) || contains(text, len, "\\u", 2, 0))
        return false;
    for (size_t i = 0; i < keylen; i++)
        if ((unsigned char)key[i] < 0x20 || key[i] == '"' || key[i] == '\\')
            return false;
    quoted[0] = '"';
    memcpy(quoted + 1, key, keylen);
    quoted[keylen + 1] = '"';
    return !contains_name(text, len, quoted, keylen + 2);
}

bool script_json_lazy_has_member(const char *text, size_t len, const char *key, size_t keylen)
{
    const char *end = text + len, *p = text + 1;

    if (surely_absent(text, len, key, keylen))
        return false;

    for (;;) {
        const char *name, *name_end;

        p = after_space(p, end);
        if (p >= end || *p != '"')
            return false; /* '}' */
        name = p + 1;
        name_end = script_json_string_end(name, end) - 1;
        if (memchr(name, '\\', (size_t)(name_end - name)) != NULL ||
            ((size_t)(name_end - name) == keylen && memcmp(name, key, keylen) == 0))
            return true;
        p = after_space(name_end + 1, end) + 1; /* past ':' */
        p = after_space(after_value(after_space(p, end), end), end);
        if (p < end && *p == ',')
            p++;
    }
}

/* ---- the metatables ------------------------------------------------------------------ */

static int placeholder_index(lua_State *L)
{
    script_json_lazy_fill(L, 1);
    lua_settop(L, 2);
    lua_rawget(L, 1);
    return 1;
}

/*
 * A member assigned to an object placeholder (not nil) stays beside its
 * text; filling keeps it over the text's member of the same name, and the
 * encoder splices it in (or fills the object, when the text has that name
 * too).  Anything else fills the placeholder first.
 */
static int placeholder_newindex(lua_State *L)
{
    const char *text;
    size_t len;
    bool beside = false;

    if (lua_type(L, 2) == LUA_TSTRING && !lua_isnil(L, 3) &&
        script_json_lazy_text(L, 1, &text, &len)) {
        beside = *text == '{';
        lua_pop(L, 1);
    }
    if (!beside)
        script_json_lazy_fill(L, 1);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

static int placeholder_len(lua_State *L)
{
    script_json_lazy_fill(L, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
    return 1;
}

static int placeholder_pairs(lua_State *L)
{
    script_json_lazy_fill(L, 1);
    lua_pushcfunction(L, script_json_raw_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
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

static const void *make_placeholder_metatable(lua_State *L, const char *name, const void *key)
{
    const void *mt = script_json_make_metatable(L, name, key);

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

void script_json_lazy_open(lua_State *L, struct script_json_scratch *scratch)
{
    scratch->placeholder_metatables[0] =
        make_placeholder_metatable(L, "vane.json.object", &script_json_placeholder_object);
    scratch->placeholder_metatables[1] =
        make_placeholder_metatable(L, "vane.json.array", &script_json_placeholder_array);
}
