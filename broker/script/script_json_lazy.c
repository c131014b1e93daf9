/*
 * script_json_lazy.c -- placeholders: the parts of event data a script has
 * not read yet (see script_json.h, script_json_internal.h).
 *
 * A placeholder is a table, empty at first, whose metatable (one for
 * objects, one for arrays, protected and answering getmetatable() with
 * "vane.json.object" / "vane.json.array") fills it in place on first use --
 * an index, #, pairs, an assignment -- reading one level: what is nested
 * below becomes placeholders in turn.  Then the metatable goes (an array
 * gets the array marker) and it is a table like any other.  Its text comes
 * in one of two ways:
 *
 *   - held: a hidden key (a light userdata, which scripts cannot make)
 *     holds a Lua string of its own with the text (nested parts, and data
 *     kept by a copy made with pairs());
 *   - lent: the whole data of the event being handled is read where it is,
 *     in the event's bytes, through the state's loan (script_json.h), and
 *     the placeholder has metatables of its own (the same metamethods),
 *     so that it needs no hidden key at all.  Copying a KiB of data into a
 *     Lua string for each event, collecting it again, and looking up hidden
 *     keys was a fifth of a transform's time.  The loan names its
 *     placeholder by address and ends when the placeholder is filled or the
 *     call ends; a lent placeholder kept past its call (in a global) finds
 *     another table named, or none, and raises an error rather than read
 *     bytes that may be gone.  A table kept is alive, so no later
 *     placeholder can have its address while it can be asked.
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

/* Indexes of scratch->placeholder_metatables and placeholder_refs. */
enum placeholder_kind { OWN_OBJECT, OWN_ARRAY, LENT_OBJECT, LENT_ARRAY };

static const char text_key = 't';

/* Makes the table at the top a placeholder for text that starts with first. */
static void set_placeholder_metatable(lua_State *L, const struct script_json_scratch *scratch,
                                      char first, bool lent)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, scratch->placeholder_refs[(first == '[') + 2 * lent]);
    lua_setmetatable(L, -2);
}

void script_json_lazy_wrap(lua_State *L, const struct script_json_scratch *scratch, int room)
{
    const char *text = lua_tostring(L, -1);

    lua_createtable(L, 0, 1 + room);
    lua_insert(L, -2);
    lua_rawsetp(L, -2, &text_key);
    set_placeholder_metatable(L, scratch, *text, false);
}

void script_json_lazy_lend(lua_State *L, const char *text, size_t len,
                           struct script_json_scratch *scratch, int room)
{
    lua_createtable(L, 0, room);
    set_placeholder_metatable(L, scratch, *text, true);
    scratch->loan = (struct script_json_loan){lua_topointer(L, -1), text, len};
}

void script_json_loan_end(struct script_json_scratch *scratch)
{
    scratch->loan = (struct script_json_loan){NULL, NULL, 0};
}

/* Which placeholder the table at t is (enum placeholder_kind), or -1: none (or filled). */
static int placeholder_kind(lua_State *L, const struct script_json_scratch *scratch, int t)
{
    const void *mt;

    if (!lua_getmetatable(L, t))
        return -1;
    mt = lua_topointer(L, -1);
    lua_pop(L, 1);
    for (int kind = 0; kind < SCRIPT_JSON_PLACEHOLDER_KINDS; kind++)
        if (mt == scratch->placeholder_metatables[kind])
            return kind;
    return -1;
}

static bool is_lent_kind(int kind)
{
    return kind == LENT_OBJECT || kind == LENT_ARRAY;
}

/* Whether the table at t is the placeholder the loan is made to (by address and metatable). */
static bool is_lent(lua_State *L, const struct script_json_scratch *scratch, int t)
{
    return scratch->loan.table != NULL && scratch->loan.table == lua_topointer(L, t) &&
           is_lent_kind(placeholder_kind(L, scratch, t));
}

bool script_json_lazy_text(lua_State *L, const struct script_json_scratch *scratch, int t,
                           const char **text, size_t *len)
{
    int kind = placeholder_kind(L, scratch, t);

    if (is_lent_kind(kind)) {
        if (scratch->loan.table != lua_topointer(L, t))
            luaL_error(L, "this event data was kept past the call it came with, unread; its "
                          "event is gone: read it during the call, or keep a copy of the event "
                          "(for k, v in pairs(event) do copy[k] = v end)");
        lua_pushnil(L); /* the text is the event's, not the state's */
        *text = scratch->loan.text;
        *len = scratch->loan.len;
        return true;
    }
    if (kind < 0)
        return false;
    if (lua_rawgetp(L, t, &text_key) != LUA_TSTRING) {
        lua_pop(L, 1);
        return false;
    }
    *text = lua_tolstring(L, -1, len);
    return true;
}

void script_json_loan_copy(lua_State *L, int idx, struct script_json_scratch *scratch)
{
    idx = lua_absindex(L, idx);
    if (!is_lent(L, scratch, idx))
        return; /* not the placeholder lent to (filling it ended the loan) */
    lua_pushlstring(L, scratch->loan.text, scratch->loan.len);
    lua_rawsetp(L, idx, &text_key);
    lua_pushvalue(L, idx);
    set_placeholder_metatable(L, scratch, *scratch->loan.text, false);
    lua_pop(L, 1);
    script_json_loan_end(scratch);
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

void script_json_lazy_fill(lua_State *L, struct script_json_scratch *scratch, int t)
{
    struct parser ps = {.L = L, .scratch = scratch, .mode = PARSE_LAZY, .depth = 0};
    size_t len;
    bool array, lent;

    t = lua_absindex(L, t);
    if (!script_json_lazy_text(L, scratch, t, &ps.p, &len))
        return;
    lent = is_lent(L, scratch, t);
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
    if (lent) {
        script_json_loan_end(scratch); /* read: its text is needed no more */
    } else {
        lua_pushnil(L);
        lua_rawsetp(L, t, &text_key);
    }
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

/* The state's scratch: the upvalue of every placeholder metamethod. */
static struct script_json_scratch *scratch_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static int placeholder_index(lua_State *L)
{
    script_json_lazy_fill(L, scratch_of(L), 1);
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
        script_json_lazy_text(L, scratch_of(L), 1, &text, &len)) {
        beside = *text == '{';
        lua_pop(L, 1);
    }
    if (!beside)
        script_json_lazy_fill(L, scratch_of(L), 1);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

static int placeholder_len(lua_State *L)
{
    script_json_lazy_fill(L, scratch_of(L), 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
    return 1;
}

static int placeholder_pairs(lua_State *L)
{
    script_json_lazy_fill(L, scratch_of(L), 1);
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

/* A metamethod of the metatable at the top, with scratch as its upvalue. */
static void set_metamethod(lua_State *L, struct script_json_scratch *scratch, const char *name,
                           lua_CFunction fn)
{
    lua_pushlightuserdata(L, scratch);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
}

/* Makes the metatable of one kind of placeholder, kept in the registry (scratch says where). */
static void make_placeholder_metatable(lua_State *L, struct script_json_scratch *scratch,
                                       int kind)
{
    static const char *const names[SCRIPT_JSON_PLACEHOLDER_KINDS] = {
        "vane.json.object", "vane.json.array", "vane.json.object", "vane.json.array"};

    scratch->placeholder_metatables[kind] = script_json_make_metatable(L, names[kind]);
    set_metamethod(L, scratch, "__index", placeholder_index);
    set_metamethod(L, scratch, "__newindex", placeholder_newindex);
    set_metamethod(L, scratch, "__len", placeholder_len);
    set_metamethod(L, scratch, "__pairs", placeholder_pairs);
    scratch->placeholder_refs[kind] = luaL_ref(L, LUA_REGISTRYINDEX);
}

void script_json_lazy_open(lua_State *L, struct script_json_scratch *scratch)
{
    for (int kind = 0; kind < SCRIPT_JSON_PLACEHOLDER_KINDS; kind++)
        make_placeholder_metatable(L, scratch, kind);
}
