/*
 * script_event.c -- events as Lua tables and back (see script_event.h).
 *
 * The event table is a proxy.  It starts empty, with the event metatable,
 * whose __index answers an attribute from the event being handled and
 * "data" from its data, and whose __newindex keeps what the script assigns
 * to an attribute the event has (or to data) in the call's slots, so that
 * a later read sees it and an assignment of nil is remembered as a
 * deletion.  A key the event does not have is stored in the table itself,
 * as any Lua table would.  The slots are the array part of the metatable
 * (which scripts cannot reach: it is protected), emptied when an event is
 * pushed -- there is one event table per call -- and read at the cost of
 * an array index, where keys hidden in the table itself cost a hash
 * lookup each (a tenth of a transform's time, all told):
 *
 *     SLOT_DATA        the data once read or assigned (or DELETED)
 *     SLOT_OVERRIDES   a table: attribute name -> new value, or DELETED
 *     SLOT_JSON_TEXT   data that was a bare JSON string: its text
 *
 * So pushing an event costs one small table, and reading the result back
 * knows which attributes the script left alone: those are copied from the
 * event as they are, without a round trip through Lua, and need no check.
 *
 * The table answers from the event only during the call it was passed to
 * (sandbox->current_event, whose table is sandbox->current_table): afterwards
 * the event may be gone, and a table kept in a global says so instead of
 * reading freed memory.  The table is known by its address: a table kept
 * past its call is alive, so no later table can have that address while it
 * could be asked, and one no longer alive cannot be asked.  pairs() and the
 * JSON encoder (__plain) see a plain copy.
 *
 * Data is decoded on first read, lazily (script_json_decode_lazy): its
 * nested objects and arrays are read only when used, and written back as
 * they came when not.  Until then the data is read where it is, in the
 * event's bytes, lent to the state for the call (script_json.h's loan);
 * a copy made with pairs() gets data of its own, since it may be kept.
 * Reading the result back, data passed through (with members added or not)
 * is not copied out of the placeholder's text into the encoder's but
 * written once into the output (script_json_encode_split), and not at all
 * when nothing was added and the output may point at the input's bytes.
 *
 * Data that is a bare JSON string ("\"hi\"") decodes to a Lua string, and
 * a Lua string is data as bytes; so that such data comes back as the same
 * JSON when the script only read it, its text is kept in SLOT_JSON_TEXT and
 * given back while the string is unchanged.
 *
 * Reading back a plain table (one the script built) takes every key as it
 * is and checks the whole event.  All of it runs inside the sandbox's
 * protected call; errors are Lua errors.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "event/event_check.h"
#include "event/event_json.h"
#include "event/timestamp.h"
#include "script/script_event.h"
#include "script/script_sandbox.h"

#define NEW_ATTRS_MAX 128
#define TRACKED_ATTRS_MAX 256 /* attributes whose "left alone" is tracked; more: all checked */
#define READ_ERROR_MAX 512
#define RESERVED_PREFIX "xvanus"
#define JSON_CONTENT_TYPE "application/json"

/* The call's slots in the event metatable; the metamethods hold it as their upvalue. */
enum { SLOT_DATA = 1, SLOT_OVERRIDES, SLOT_JSON_TEXT, SLOT_COUNT = SLOT_JSON_TEXT };
#define METAMETHOD_SLOTS lua_upvalueindex(1)

static const char deleted = 'x'; /* its address, as a light userdata, marks a deletion */

static const char *const required_attrs[] = {"specversion", "id", "source", "type"};

/* ---- small helpers -------------------------------------------------------------- */

static void __attribute__((noreturn, format(printf, 2, 3)))
read_fail(lua_State *L, const char *fmt, ...)
{
    char message[READ_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    lua_pushstring(L, message);
    lua_error(L);
    abort();
}

static void push_deleted(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&deleted);
}

static bool is_deleted(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == &deleted;
}

static bool is_data_name(const char *name, size_t len)
{
    return len == 4 && memcmp(name, "data", 4) == 0;
}

static const struct event_attr *find_attr(const struct event *event, const char *name,
                                          size_t len)
{
    for (size_t i = 0; i < event->attr_count; i++)
        if (event->attrs[i].name.len == len && memcmp(event->attrs[i].name.ptr, name, len) == 0)
            return &event->attrs[i];
    return NULL;
}

static void push_value(lua_State *L, const struct event_value *v)
{
    switch (v->type) {
    case EVENT_BOOLEAN: lua_pushboolean(L, v->u.boolean); break;
    case EVENT_INTEGER: lua_pushinteger(L, (lua_Integer)v->u.integer); break;
    default: lua_pushlstring(L, v->u.bytes.ptr, v->u.bytes.len);
    }
}

/* Whether a text value names a JSON content type; the usual one is known at a glance. */
static bool names_json(const struct event_value *v)
{
    size_t n = strlen(JSON_CONTENT_TYPE);

    if (v->u.bytes.len == n && memcmp(v->u.bytes.ptr, JSON_CONTENT_TYPE, n) == 0)
        return true;
    return event_content_type_is_json(v->u.bytes.ptr, v->u.bytes.len);
}

static bool is_text(const struct event_value *v)
{
    return v->type != EVENT_BOOLEAN && v->type != EVENT_INTEGER;
}

static bool data_is_json(const struct event *event)
{
    const struct event_attr *ct = event_get(event, "datacontenttype");

    return ct == NULL || (is_text(&ct->value) && names_json(&ct->value));
}

bool script_event_is_table(lua_State *L, int t)
{
    struct script_sandbox *sb = script_sandbox_of(L);
    const void *mt;

    if (sb->current_table != NULL && lua_topointer(L, t) == sb->current_table)
        return true; /* the one of this call, the usual result */
    if (!lua_getmetatable(L, t))
        return false;
    mt = lua_topointer(L, -1);
    lua_pop(L, 1);
    return mt == sb->event_metatable;
}

/* The event the table at t stands for; an error when its call is over. */
static const struct event *event_of(lua_State *L, int t)
{
    struct script_sandbox *sb = script_sandbox_of(L);

    if (sb->current_event == NULL || lua_topointer(L, t) != sb->current_table)
        luaL_error(L, "this event table belongs to an earlier call, whose event is gone; "
                      "keep a copy instead (for k, v in pairs(event) do copy[k] = v end)");
    return sb->current_event;
}

/* ---- event -> table ------------------------------------------------------------------- */

void script_event_push(lua_State *L, const struct event *event)
{
    struct script_sandbox *sb = script_sandbox_of(L);

    sb->current_event = event;
    lua_createtable(L, 0, 2); /* room for two new attributes */
    sb->current_table = lua_topointer(L, -1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, sb->event_metatable_ref);
    for (int slot = 1; slot <= SLOT_COUNT; slot++) /* the last call's are gone */
        if (sb->event_slots & (1u << slot)) {
            lua_pushnil(L);
            lua_rawseti(L, -2, slot);
        }
    sb->event_slots = 0;
    lua_setmetatable(L, -2);
}

/* Sets slot (of the slots at slots) to the value at the top, popping it. */
static void set_slot(lua_State *L, int slots, int slot)
{
    lua_rawseti(L, slots, slot);
    script_sandbox_of(L)->event_slots |= 1u << slot;
}

/* Pushes the data of the event table at t (its call's slots at slots), decoding it at first. */
static void push_data(lua_State *L, int t, int slots)
{
    const struct event *in = event_of(L, t);
    char why[160];

    if (lua_rawgeti(L, slots, SLOT_DATA) != LUA_TNIL) {
        if (is_deleted(L, -1)) {
            lua_pop(L, 1);
            lua_pushnil(L);
        }
        return;
    }
    lua_pop(L, 1);
    if (!in->has_data) {
        lua_pushnil(L);
        return;
    }
    if (!data_is_json(in) || script_json_decode_lazy(L, in->data.ptr, in->data.len,
                                                     &script_sandbox_of(L)->json, why,
                                                     sizeof(why)) != 0)
        lua_pushlstring(L, in->data.ptr, in->data.len); /* not JSON after all: the bytes */
    else if (lua_type(L, -1) == LUA_TSTRING) { /* a bare JSON string */
        lua_pushlstring(L, in->data.ptr, in->data.len);
        set_slot(L, slots, SLOT_JSON_TEXT);
    }
    lua_pushvalue(L, -1);
    set_slot(L, slots, SLOT_DATA);
}

/* Pushes what the script assigned to the attribute named at idx; false if it did not. */
static bool push_override(lua_State *L, int slots, int idx)
{
    if (lua_rawgeti(L, slots, SLOT_OVERRIDES) != LUA_TTABLE) {
        lua_pop(L, 1);
        return false;
    }
    lua_pushvalue(L, idx);
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pop(L, 2);
        return false;
    }
    lua_remove(L, -2);
    if (is_deleted(L, -1)) {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
    return true;
}

static int event_index(lua_State *L)
{
    const struct event_attr *attr;
    const char *name;
    size_t len;

    if (lua_type(L, 2) != LUA_TSTRING)
        return 0;
    name = lua_tolstring(L, 2, &len);
    if (is_data_name(name, len)) {
        push_data(L, 1, METAMETHOD_SLOTS);
        return 1;
    }
    if ((attr = find_attr(event_of(L, 1), name, len)) == NULL)
        return 0;
    if (!push_override(L, METAMETHOD_SLOTS, 2))
        push_value(L, &attr->value);
    return 1;
}

/* The override table of the call (its slots at slots), made if needed; pushed. */
static void push_overrides(lua_State *L, int slots)
{
    if (lua_rawgeti(L, slots, SLOT_OVERRIDES) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, -1);
    set_slot(L, slots, SLOT_OVERRIDES);
}

/* The value at 3 (nil: a deletion) pushed as it is kept. */
static void push_kept(lua_State *L)
{
    if (lua_isnil(L, 3))
        push_deleted(L);
    else
        lua_pushvalue(L, 3);
}

static int event_newindex(lua_State *L)
{
    const char *name;
    size_t len;

    if (lua_type(L, 2) == LUA_TSTRING) {
        name = lua_tolstring(L, 2, &len);
        if (is_data_name(name, len)) {
            event_of(L, 1);
            push_kept(L);
            set_slot(L, METAMETHOD_SLOTS, SLOT_DATA);
            lua_pushnil(L);
            set_slot(L, METAMETHOD_SLOTS, SLOT_JSON_TEXT);
            return 0;
        }
        if (find_attr(event_of(L, 1), name, len) != NULL) {
            push_overrides(L, METAMETHOD_SLOTS);
            lua_pushvalue(L, 2);
            push_kept(L);
            lua_rawset(L, -3);
            return 0;
        }
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

/* A plain table with what the event table at 1 holds now (its __plain). */
static int event_plain(lua_State *L)
{
    const struct event *in = event_of(L, 1);
    int copy;

    lua_createtable(L, 0, (int)in->attr_count + 2);
    copy = lua_gettop(L);
    for (size_t i = 0; i < in->attr_count; i++) {
        lua_pushlstring(L, in->attrs[i].name.ptr, in->attrs[i].name.len);
        if (!push_override(L, METAMETHOD_SLOTS, copy + 1))
            push_value(L, &in->attrs[i].value);
        lua_rawset(L, copy); /* nil (deleted): none */
    }
    lua_pushliteral(L, "data");
    push_data(L, 1, METAMETHOD_SLOTS);
    script_json_loan_copy(L, -1, &script_sandbox_of(L)->json); /* the copy may be kept */
    lua_rawset(L, copy);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, copy);
    }
    return 1;
}

static int event_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    event_plain(L);
    lua_pushcfunction(L, script_json_raw_next);
    lua_insert(L, -2);
    lua_pushnil(L);
    return 3;
}

/* A metamethod of the metatable at the top, holding it (the call's slots) as its upvalue. */
static void set_metamethod(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
}

void script_event_open(lua_State *L)
{
    lua_createtable(L, SLOT_COUNT, 6);
    set_metamethod(L, "__index", event_index);
    set_metamethod(L, "__newindex", event_newindex);
    set_metamethod(L, "__pairs", event_pairs);
    set_metamethod(L, "__plain", event_plain);
    lua_pushliteral(L, "vane.event");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, "vane.event");
    lua_setfield(L, -2, "__name");
    script_sandbox_of(L)->event_metatable = lua_topointer(L, -1);
    script_sandbox_of(L)->event_metatable_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* ---- table -> event: data -------------------------------------------------------------- */

struct reading {
    lua_State *L;
    int t;          /* the table's absolute index */
    bool proxy;     /* an event table (else a plain one) */
    int slots;      /* proxy: stack index of its call's slots (script_event_open) */
    int overrides;  /* proxy: stack index of its override table, or 0 */
    const struct event *in;
    struct event *out;
    struct vane_arena *arena;
    bool borrow;    /* in's bytes may be pointed at (script_event_read) */
    struct script_json_scratch *scratch;
    const char *what;
    bool raw_inputs; /* proxy: a raw key names one of in's attributes (rawset) */
    unsigned char left_alone[TRACKED_ATTRS_MAX]; /* out's attributes copied as they were */
    bool changed;    /* an attribute was set, added or deleted */
    bool deleted;    /* one of in's attributes is gone */
};

/* Whether the len bytes at p are (a part of) the input's data. */
static bool in_input_data(const struct reading *r, const char *p, size_t len)
{
    uintptr_t at = (uintptr_t)p, data = (uintptr_t)r->in->data.ptr;

    return r->in->has_data && at >= data && at + len <= data + r->in->data.len;
}

/*
 * Sets out's data to head followed by tail: the input's bytes themselves
 * when that is all it is and the reading may point at them, else a copy.
 */
static void set_data(struct reading *r, const char *head, size_t head_len, const char *tail,
                     size_t tail_len)
{
    char *copy;

    if (tail_len == 0 && r->borrow && in_input_data(r, head, head_len)) {
        event_set_data(r->out, head, head_len);
        return;
    }
    copy = vane_arena_alloc(r->arena, head_len + tail_len ? head_len + tail_len : 1);
    if (head_len > 0)
        memcpy(copy, head, head_len);
    if (tail_len > 0)
        memcpy(copy + head_len, tail, tail_len);
    event_set_data(r->out, copy, head_len + tail_len);
}

/* Sets out's data to the len bytes at bytes, as set_data does. */
static void set_data_bytes(struct reading *r, const char *bytes, size_t len)
{
    set_data(r, bytes, len, NULL, 0);
}

/* The string data at the top: the JSON text it was decoded from, if it is still that string. */
static void read_string_data(struct reading *r)
{
    lua_State *L = r->L;
    const char *bytes;
    size_t len;
    char why[8];

    if (r->proxy && lua_rawgeti(L, r->slots, SLOT_JSON_TEXT) == LUA_TSTRING) {
        bytes = lua_tolstring(L, -1, &len);
        if (script_json_decode(L, bytes, len, why, sizeof(why)) == 0) {
            bool same = lua_rawequal(L, -1, -3);

            lua_pop(L, 1);
            if (same) {
                set_data_bytes(r, bytes, len);
                lua_pop(L, 1);
                return;
            }
        }
    }
    if (r->proxy)
        lua_pop(L, 1); /* the text, or what stood in its place */
    bytes = lua_tolstring(L, -1, &len);
    set_data_bytes(r, bytes, len);
}

/* Pushes the data value the table gives; false when it has none to give (left alone). */
static bool push_result_data(struct reading *r)
{
    lua_State *L = r->L;

    if (!r->proxy) {
        lua_pushliteral(L, "data");
        lua_rawget(L, r->t);
        return true;
    }
    if (lua_rawgeti(L, r->slots, SLOT_DATA) == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    if (is_deleted(L, -1)) {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
    return true;
}

/* Reads data; returns whether it was encoded as JSON anew. */
static bool read_data(struct reading *r)
{
    lua_State *L = r->L;
    const char *head;
    size_t head_len;
    int type;

    if (!push_result_data(r)) { /* a proxy's data, never read nor assigned */
        if (r->in->has_data)
            set_data_bytes(r, r->in->data.ptr, r->in->data.len);
        return false;
    }
    type = lua_type(L, -1);
    if (type == LUA_TNIL || type == LUA_TSTRING) {
        if (type == LUA_TSTRING)
            read_string_data(r);
        lua_pop(L, 1);
        return false;
    }
    if (type != LUA_TTABLE && type != LUA_TNUMBER && type != LUA_TBOOLEAN &&
        !script_json_is_null(L, -1))
        read_fail(L, "%s: data: expected a string (bytes), a table, a number, a boolean or "
                     "vane.json.null; got a %s", r->what, luaL_typename(L, -1));
    script_json_encode_split(L, -1, r->scratch, "data", &head, &head_len);
    set_data(r, head, head_len, r->scratch->text.data, r->scratch->text.len);
    lua_pop(L, 1);
    return true;
}

/* ---- table -> event: attributes ------------------------------------------------------------ */

/* name_from_in: name is one of in's names (pointed at, not copied, when the reading may). */
static void add_attr(struct reading *r, const char *name, size_t len, struct event_value *v,
                     bool left_alone, bool name_from_in)
{
    if (r->out->attr_count < TRACKED_ATTRS_MAX)
        r->left_alone[r->out->attr_count] = left_alone;
    r->changed |= !left_alone;
    event_add(r->out, name_from_in && r->borrow ? name : vane_arena_strndup(r->arena, name, len),
              len, v);
}

static void copy_bytes(struct reading *r, struct event_value *v, const char *s, size_t len)
{
    v->u.bytes.ptr = vane_arena_strndup(r->arena, s, len);
    v->u.bytes.len = len;
}

/* An attribute the script left alone, copied from the input. */
static void add_left_alone(struct reading *r, const struct event_attr *was)
{
    struct event_value v = was->value;

    if (is_text(&v) && !r->borrow)
        copy_bytes(r, &v, was->value.u.bytes.ptr, was->value.u.bytes.len);
    add_attr(r, was->name.ptr, was->name.len, &v, true, true);
}

/* The value at the top as an attribute of the type it has in the input. */
static void add_typed(struct reading *r, const struct event_attr *was)
{
    lua_State *L = r->L;
    struct event_value v = {.type = was->value.type};
    int n = (int)was->name.len, ok = 0;
    const char *name = was->name.ptr, *s;
    size_t len;

    if (v.type == EVENT_BOOLEAN) {
        if (!lua_isboolean(L, -1))
            read_fail(L, "%s: attribute %.*s: expected a boolean (its type in the event); got "
                         "a %s", r->what, n, name, luaL_typename(L, -1));
        v.u.boolean = lua_toboolean(L, -1);
    } else if (v.type == EVENT_INTEGER) {
        if (lua_type(L, -1) == LUA_TNUMBER)
            v.u.integer = lua_tointegerx(L, -1, &ok);
        if (!ok)
            read_fail(L, "%s: attribute %.*s: expected an integer (its type in the event); got "
                         "%s", r->what, n, name,
                      lua_type(L, -1) == LUA_TNUMBER ? "a number with a fraction"
                                                     : luaL_typename(L, -1));
    } else {
        if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
            read_fail(L, "%s: attribute %.*s: expected a string; got a %s", r->what, n, name,
                      luaL_typename(L, -1));
        s = lua_tolstring(L, -1, &len);
        copy_bytes(r, &v, s, len);
    }
    add_attr(r, name, was->name.len, &v, false, true);
}

enum attr_state {
    ATTR_GONE,       /* absent, or assigned nil */
    ATTR_SET,        /* its value is pushed */
    ATTR_LEFT_ALONE, /* a proxy's attribute the script did not touch */
};

static enum attr_state attr_state(struct reading *r, const struct event_attr *was)
{
    lua_State *L = r->L;

    if (!r->proxy || r->raw_inputs) {
        lua_pushlstring(L, was->name.ptr, was->name.len);
        if (lua_rawget(L, r->t) != LUA_TNIL)
            return ATTR_SET;
        lua_pop(L, 1);
        if (!r->proxy)
            return ATTR_GONE;
    }
    if (r->overrides == 0)
        return ATTR_LEFT_ALONE;
    lua_pushlstring(L, was->name.ptr, was->name.len);
    if (lua_rawget(L, r->overrides) == LUA_TNIL) {
        lua_pop(L, 1);
        return ATTR_LEFT_ALONE;
    }
    if (is_deleted(L, -1)) {
        lua_pop(L, 1);
        return ATTR_GONE;
    }
    return ATTR_SET;
}

/* Every attribute of the input as it is, pointed at (out has none yet). */
static void add_all_borrowed(struct reading *r)
{
    size_t n = r->in->attr_count;

    for (size_t i = 0; i < n; i++)
        event_add(r->out, r->in->attrs[i].name.ptr, r->in->attrs[i].name.len,
                  &r->in->attrs[i].value);
    memset(r->left_alone, 1, n < TRACKED_ATTRS_MAX ? n : TRACKED_ATTRS_MAX);
}

/* The input's attributes still there, in the input's order. */
static void read_known(struct reading *r)
{
    if (r->proxy && !r->raw_inputs && r->overrides == 0) { /* the script set none of them */
        if (r->borrow)
            add_all_borrowed(r);
        else
            for (size_t i = 0; i < r->in->attr_count; i++)
                add_left_alone(r, &r->in->attrs[i]);
        return;
    }
    for (size_t i = 0; i < r->in->attr_count; i++) {
        const struct event_attr *was = &r->in->attrs[i];

        switch (attr_state(r, was)) {
        case ATTR_SET:
            add_typed(r, was);
            lua_pop(r->L, 1);
            break;
        case ATTR_LEFT_ALONE: add_left_alone(r, was); break;
        case ATTR_GONE: r->changed = r->deleted = true; break;
        }
    }
}

/* The value at the top as a new attribute, typed by its Lua type. */
static void add_by_value(struct reading *r, const char *name, size_t len)
{
    lua_State *L = r->L;
    struct event_value v;
    const char *s;
    size_t slen;

    switch (lua_type(L, -1)) {
    case LUA_TBOOLEAN:
        v.type = EVENT_BOOLEAN;
        v.u.boolean = lua_toboolean(L, -1);
        break;
    case LUA_TNUMBER:
        if (!lua_isinteger(L, -1))
            read_fail(L, "%s: attribute %s: %g is not an integer; an attribute holds a "
                         "string, an integer or a boolean (tostring() makes a string)",
                      r->what, name, (double)lua_tonumber(L, -1));
        v.type = EVENT_INTEGER;
        v.u.integer = (int64_t)lua_tointeger(L, -1);
        break;
    case LUA_TSTRING:
        v.type = event_attr_type(name, len);
        s = lua_tolstring(L, -1, &slen);
        copy_bytes(r, &v, s, slen);
        break;
    default:
        read_fail(L, "%s: attribute %s: expected a string, an integer or a boolean; got a %s",
                  r->what, name, luaL_typename(L, -1));
    }
    add_attr(r, name, len, &v, false, false);
}

struct new_name {
    const char *name; /* the key's own bytes: the table holds the string */
    size_t len;
    int value;        /* stack index of its value (gather_new leaves them there) */
};

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const struct new_name *)a)->name, ((const struct new_name *)b)->name);
}

/* The key at -2 as a new attribute's name, or skipped; returns whether it is one. */
static bool new_name_at(struct reading *r, struct new_name *found)
{
    lua_State *L = r->L;

    if (lua_type(L, -2) != LUA_TSTRING)
        read_fail(L, "%s: a key that is a %s; an event's keys are attribute names and data",
                  r->what, luaL_typename(L, -2));
    found->name = lua_tolstring(L, -2, &found->len);
    if (is_data_name(found->name, found->len))
        return false;
    if (find_attr(r->in, found->name, found->len) != NULL) {
        r->raw_inputs = true;
        return false;
    }
    if (!event_name_valid(found->name, found->len))
        read_fail(L, "%s: attribute \"%.80s\": expected a name of 1 to 255 lower-case letters "
                     "a-z and digits 0-9", r->what, found->name);
    if (strncmp(found->name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0 &&
        strcmp(found->name, EVENT_DELIVERY_TIME) != 0)
        read_fail(L, "%s: extension %s: names starting with xvanus are reserved for the broker "
                     "(only xvanusdeliverytime may be set)", r->what, found->name);
    return true;
}

/*
 * The keys that are not the input's attributes, sorted by name.  Each one's
 * key and value stay on the stack, where lua_next put them (the caller drops
 * them after add_new), so that they are not looked up again.
 */
static size_t gather_new(struct reading *r, struct new_name *names)
{
    lua_State *L = r->L;
    struct new_name found;
    size_t count = 0;

    lua_pushnil(L);
    while (lua_next(L, r->t) != 0) {
        if (!new_name_at(r, &found)) {
            lua_pop(L, 1);
            continue;
        }
        if (count == NEW_ATTRS_MAX)
            read_fail(L, "%s: more than %d new attributes", r->what, NEW_ATTRS_MAX);
        luaL_checkstack(L, 3, "reading the event");
        found.value = lua_gettop(L);
        names[count++] = found;
        lua_pushvalue(L, -2); /* the key again, for lua_next */
    }
    qsort(names, count, sizeof(names[0]), compare_names);
    return count;
}

static void add_new(struct reading *r, const struct new_name *names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        lua_pushvalue(r->L, names[i].value);
        add_by_value(r, names[i].name, names[i].len);
        lua_pop(r->L, 1);
    }
}

/* ---- table -> event: checks ---------------------------------------------------------------- */

/* New JSON data under a datacontenttype that names something else: it is JSON now. */
static void mark_json(struct event *out)
{
    for (size_t i = 0; i < out->attr_count; i++) {
        struct event_attr *a = &out->attrs[i];

        if (a->name.len == 15 && memcmp(a->name.ptr, "datacontenttype", 15) == 0 &&
            is_text(&a->value) && !names_json(&a->value)) {
            a->value.type = EVENT_STRING;
            a->value.u.bytes.ptr = JSON_CONTENT_TYPE;
            a->value.u.bytes.len = strlen(JSON_CONTENT_TYPE);
        }
    }
}

/* The broker's own extensions (xvanus*) that the input carried: they only pass through. */
static bool is_inherited_reserved(const struct reading *r, const struct event_attr *a)
{
    return a->name.len > strlen(RESERVED_PREFIX) &&
           memcmp(a->name.ptr, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0 &&
           find_attr(r->in, a->name.ptr, a->name.len) != NULL;
}

static bool name_is_one_of(const struct event_attr *a, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (a->name.len == strlen(names[i]) && memcmp(a->name.ptr, names[i], a->name.len) == 0)
            return true;
    return false;
}

/*
 * event_check()'s rules for one attribute (event_check.c: check_value),
 * applied to those the script set.  The delivery path checks only these:
 * what the script left alone came valid from the store, and checking every
 * attribute of every event again cost a third of a transform's time.
 */
static void check_set(struct reading *r, const struct event_attr *a)
{
    static const char *const core[] = {"specversion", "id", "source", "type",
                                       "datacontenttype", "dataschema", "subject", "time"};
    const struct event_value *v = &a->value;
    int n = (int)a->name.len;
    const char *why;
    int64_t ns;

    if (v->type == EVENT_BOOLEAN)
        return;
    if (v->type == EVENT_INTEGER) {
        if (v->u.integer < INT32_MIN || v->u.integer > INT32_MAX)
            read_fail(r->L, "%s: attribute %.*s: expected an integer from -2147483648 to "
                            "2147483647", r->what, n, a->name.ptr);
        return;
    }
    if (v->u.bytes.len == 0 && (v->type == EVENT_TIMESTAMP || name_is_one_of(a, core, 8)))
        read_fail(r->L, "%s: attribute %.*s: expected a non-empty value", r->what, n,
                  a->name.ptr);
    if (v->type != EVENT_BINARY && !event_text_valid(v->u.bytes.ptr, v->u.bytes.len))
        read_fail(r->L, "%s: attribute %.*s: expected UTF-8 text without control characters",
                  r->what, n, a->name.ptr);
    if (v->type == EVENT_TIMESTAMP && timestamp_parse(v->u.bytes.ptr, v->u.bytes.len, &ns,
                                                      &why) != 0)
        read_fail(r->L, "%s: attribute %.*s: %s", r->what, n, a->name.ptr, why);
    if (name_is_one_of(a, core, 1) && (v->u.bytes.len != 3 || memcmp(v->u.bytes.ptr, "1.0", 3)))
        read_fail(r->L, "%s: specversion: expected \"1.0\", the only version served", r->what);
}

/* The attributes the script set must hold; the required ones must be there. */
static void check_event(struct reading *r)
{
    if (r->proxy && !r->changed)
        return; /* every attribute as it came */
    for (size_t i = 0; i < r->out->attr_count; i++) {
        const struct event_attr *a = &r->out->attrs[i];

        if (!(i < TRACKED_ATTRS_MAX && r->left_alone[i]) && !is_inherited_reserved(r, a))
            check_set(r, a);
    }
    for (size_t i = 0; (r->deleted || !r->proxy) && i < sizeof(required_attrs) /
                                                         sizeof(required_attrs[0]); i++)
        if (event_get(r->out, required_attrs[i]) == NULL)
            read_fail(r->L, "%s: attribute %s is required", r->what, required_attrs[i]);
}

void script_event_read(lua_State *L, int idx, const struct event *in, struct event *out,
                       struct vane_arena *arena, bool borrow,
                       struct script_json_scratch *scratch, const char *what)
{
    struct reading r = {.L = L, .t = lua_absindex(L, idx), .in = in, .out = out,
                        .arena = arena, .borrow = borrow, .scratch = scratch, .what = what};
    struct new_name names[NEW_ATTRS_MAX];
    size_t count;
    bool new_json;
    int base = lua_gettop(L), top;

    luaL_checkstack(L, 8, "reading the event");
    r.proxy = script_event_is_table(L, r.t);
    if (r.proxy) {
        event_of(L, r.t);
        lua_getmetatable(L, r.t);
        r.slots = lua_gettop(L);
        if (lua_rawgeti(L, r.slots, SLOT_OVERRIDES) == LUA_TTABLE)
            r.overrides = lua_gettop(L);
        else
            lua_pop(L, 1);
    }
    event_reset(out);
    new_json = read_data(&r);
    top = lua_gettop(L);
    count = gather_new(&r, names);
    read_known(&r);
    add_new(&r, names, count);
    lua_settop(L, top);
    if (new_json)
        mark_json(out);
    check_event(&r);
    lua_settop(L, base);
}
