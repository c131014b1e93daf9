/*
 * script_json_encode.c -- writing Lua values as JSON (see script_json.h).
 *
 * The walk uses raw accesses (no metamethod runs, so no script code runs in
 * the middle of an encode), with two exceptions that are the runtime's own:
 * a placeholder (script_json_lazy.c) not filled yet is written as its text,
 * with the members assigned to it beside the text spliced in before the
 * closing brace; and a table whose metatable has a __plain function is
 * written as the plain table that function returns (event tables).
 *
 * Event data is mostly such a placeholder, passed through with a member or
 * two added.  Its text (a KiB, say) would be copied into the scratch text
 * and then again into the output event; script_json_encode_split() leaves
 * it where it is and hands back a pointer to it instead (the head), the
 * scratch text holding only what follows, so the caller copies it once, or
 * not at all when nothing follows and the text is the input event's own.
 *
 * An object's keys and values are left on the Lua stack by lua_next, their
 * places gathered into the scratch array, sorted by key and written.  The
 * scratch array is used as a stack, each nested object taking the slots
 * after its parent's, and path[] remembers where the walk is for error
 * messages.  Keys are referred to by their index in the scratch array,
 * never by pointer, because a nested object may grow (move) it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "core/alloc.h"
#include "event/event_json.h"
#include "script/script_json_internal.h"

struct script_json_key {
    const char *text; /* a string key's bytes (its Lua string is on the stack); see key_text() */
    size_t len;
    int value;        /* stack index of the value */
    lua_Integer integer;
    bool is_integer;
    char digits[24];  /* an integer key of an object, as text */
};

/* One step of the path to the value being written. */
struct path_step {
    enum { STEP_NONE, STEP_INDEX, STEP_KEY } kind; /* NONE: in the table, before a member */
    lua_Integer index; /* STEP_INDEX: 1-based */
    size_t key;        /* STEP_KEY: its slot in the scratch keys */
};

#define PATH_SHOWN_HEAD 6 /* a deep path is shown as its first steps ... its last two */

struct encoder {
    lua_State *L;
    struct script_json_scratch *s;
    const char *what;
    const char **head; /* script_json_encode_split's; NULL: write everything into s->text */
    size_t *head_len;
    struct path_step path[SCRIPT_JSON_MAX_DEPTH + 1];
    int depth;
};

/* ---- errors -------------------------------------------------------------------------- */

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

        if (i == PATH_SHOWN_HEAD && e->depth > PATH_SHOWN_HEAD + 3) {
            luaL_addstring(&b, "...");
            i = e->depth - 3;
        } else if (step->kind == STEP_INDEX) {
            snprintf(index, sizeof(index), "[%lld]", (long long)step->index);
            luaL_addstring(&b, index);
        } else if (step->kind == STEP_KEY) {
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

/* ---- scalars ------------------------------------------------------------------------- */

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
        strcat(text, ".0"); /* stays a float when read again */
    vane_buf_append_str(&e->s->text, text);
}

static void append_string(struct encoder *e, const char *s, size_t len)
{
    if (!script_json_utf8_valid((const unsigned char *)s, len))
        encode_fail(e, "a string that is not UTF-8 text has no JSON form (binary data goes "
                       "as the whole data string, not inside a table)");
    event_json_string(&e->s->text, s, len);
}

/* ---- tables ------------------------------------------------------------------------------ */

static void encode_value(struct encoder *e, int idx);

/* Which of the runtime's metatables a table has. */
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
    for (int kind = 0; kind < SCRIPT_JSON_PLACEHOLDER_KINDS; kind++)
        if (mt == s->placeholder_metatables[kind])
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
 * them into slots [base, nkeys) (a placeholder's hidden keys left out);
 * tells whether the keys are exactly 1..n.
 */
static bool gather_keys(struct encoder *e, int idx, size_t base, bool placeholder,
                        lua_Integer *max_index)
{
    lua_State *L = e->L;
    size_t integers = 0;

    *max_index = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (placeholder && lua_type(L, -2) == LUA_TLIGHTUSERDATA) {
            lua_pop(L, 1);
            continue;
        }
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

/* Whether a name is written as it is between quotes: printable ASCII but quote and backslash. */
static bool needs_no_escape(const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (name[i] < 0x20 || name[i] > 0x7e || name[i] == '"' || name[i] == '\\')
            return false;
    return true;
}

/* A member's name and its colon, after a comma when comma is set; a plain one in one append. */
static void append_name(struct vane_buf *out, bool comma, const char *name, size_t len)
{
    char text[64];

    if (len + 4 > sizeof(text) || !needs_no_escape(name, len)) {
        if (comma)
            vane_buf_append(out, ",", 1);
        event_json_string(out, name, len);
        vane_buf_append(out, ":", 1);
        return;
    }
    text[0] = ',';
    text[1] = '"';
    memcpy(text + 2, name, len);
    text[len + 2] = '"';
    text[len + 3] = ':';
    vane_buf_append(out, comma ? text : text + 1, len + 3 + comma);
}

/* The members in slots [base, nkeys), sorted, each after a comma when first is false. */
static void encode_members(struct encoder *e, size_t base, bool first)
{
    struct script_json_scratch *s = e->s;
    size_t end = s->nkeys;

    for (size_t i = base; i < end; i++)
        if (s->keys[i].is_integer)
            s->keys[i].len = (size_t)snprintf(s->keys[i].digits, sizeof(s->keys[i].digits),
                                              "%lld", (long long)s->keys[i].integer);
    sort_keys(s->keys + base, end - base);
    for (size_t i = base; i < end; i++) {
        append_name(&s->text, !first || i > base, key_text(&s->keys[i]), s->keys[i].len);
        e->path[e->depth - 1] = (struct path_step){.kind = STEP_KEY, .key = i};
        encode_value(e, s->keys[i].value);
    }
}

/* Elements 1..n; a hole (nil) is null. */
static void encode_array(struct encoder *e, int idx, lua_Integer n)
{
    vane_buf_append(&e->s->text, "[", 1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            vane_buf_append(&e->s->text, ",", 1);
        e->path[e->depth - 1] = (struct path_step){.kind = STEP_INDEX, .index = i};
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

        if (key->is_integer && key->integer >= 1)
            continue;
        if (key->is_integer)
            snprintf(why, sizeof(why), "an array (vane.json.array) can only have the keys 1, "
                     "2, ...; it has the key %lld", (long long)key->integer);
        else
            snprintf(why, sizeof(why), "an array (vane.json.array) can only have the keys 1, "
                     "2, ...; it has the key \"%.60s\"", key->text);
        encode_fail(e, why);
    }
}

/* A table of another metatable: written as what its __plain returns, if it has one. */
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

/* Whether the members gathered in [base, nkeys) are all new to the object text. */
static bool all_new_members(const struct encoder *e, size_t base, const char *text, size_t len)
{
    for (size_t i = base; i < e->s->nkeys; i++)
        if (e->s->keys[i].is_integer ||
            script_json_lazy_has_member(text, len, e->s->keys[i].text, e->s->keys[i].len))
            return false;
    return true;
}

/* A placeholder's text: pointed at when it is what the split encode starts with, else copied. */
static void append_text(struct encoder *e, const char *text, size_t len)
{
    if (e->head != NULL && e->depth == 1 && e->s->text.len == 0) {
        *e->head = text;
        *e->head_len = len;
        return;
    }
    vane_buf_append(&e->s->text, text, len);
}

/*
 * A placeholder not filled yet (its text at the top): its text, with the
 * members beside it spliced in.  One whose table holds anything else
 * (rawset) is filled and written as a table.
 */
static bool encode_placeholder(struct encoder *e, int idx, const char *text, size_t len)
{
    size_t base = e->s->nkeys;
    lua_Integer n;

    gather_keys(e, idx, base, true, &n);
    if (e->s->nkeys == base) {
        append_text(e, text, len); /* never used: as it came */
        return true;
    }
    if (*text != '{' || !all_new_members(e, base, text, len)) {
        e->s->nkeys = base;
        script_json_lazy_fill(e->L, e->s, idx);
        return false;
    }
    append_text(e, text, len - 1); /* without its '}' */
    encode_members(e, base, false);
    vane_buf_append(&e->s->text, "}", 1);
    return true;
}

static void encode_container(struct encoder *e, int idx, enum table_kind kind)
{
    size_t base = e->s->nkeys;
    lua_Integer n;
    bool sequence;

    if (kind == TABLE_OTHER && encode_plain_form(e, idx))
        return;
    sequence = gather_keys(e, idx, base, false, &n);
    if (kind == TABLE_ARRAY)
        check_array_keys(e, base);
    if (kind == TABLE_ARRAY || (sequence && n > 0)) {
        encode_array(e, idx, n);
        return;
    }
    vane_buf_append(&e->s->text, "{", 1);
    encode_members(e, base, true);
    vane_buf_append(&e->s->text, "}", 1);
}

static void encode_table(struct encoder *e, int idx)
{
    lua_State *L = e->L;
    size_t base = e->s->nkeys;
    int top = lua_gettop(L);
    const char *text;
    size_t len;
    bool done = false;

    if (e->depth >= SCRIPT_JSON_MAX_DEPTH)
        encode_fail(e, "nested more than 128 levels deep (does a table contain itself?)");
    luaL_checkstack(L, 8, "JSON nested too deeply");
    e->path[e->depth++].kind = STEP_NONE;
    if (script_json_lazy_text(L, e->s, idx, &text, &len))
        done = encode_placeholder(e, idx, text, len);
    if (!done)
        encode_container(e, idx, kind_of(e->s, L, idx));
    e->depth--;
    e->s->nkeys = base;
    lua_settop(L, top);
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

static void encode(lua_State *L, int idx, struct script_json_scratch *scratch, const char *what,
                   const char **head, size_t *head_len)
{
    struct encoder e;

    /* Field by field: path[] is written before it is read, and zeroing it
     * (3 KiB) cost more than encoding a small object. */
    e.L = L;
    e.s = scratch;
    e.what = what;
    e.head = head;
    e.head_len = head_len;
    e.depth = 0;
    vane_buf_reset(&scratch->text);
    scratch->nkeys = 0;
    encode_value(&e, lua_absindex(L, idx));
}

void script_json_encode(lua_State *L, int idx, struct script_json_scratch *scratch,
                        const char *what)
{
    encode(L, idx, scratch, what, NULL, NULL);
}

void script_json_encode_split(lua_State *L, int idx, struct script_json_scratch *scratch,
                              const char *what, const char **head, size_t *head_len)
{
    *head = NULL;
    *head_len = 0;
    encode(L, idx, scratch, what, head, head_len);
}
