/*
 * script.c -- handles on scripts and the calls the trigger makes (see
 * script.h).
 *
 * A call is one protected call into the version running (sandbox.h): the
 * body pushes the function and the event table, calls it, and reads what
 * it returned, all inside, so that a memory error or a budget error while
 * reading the result fails the call like any other.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "script/script.h"
#include "script/script_event.h"
#include "script/script_internal.h"

struct script_handle {
    struct script_entry *entry;
};

/* What a call's body needs, passed to it as a light userdata. */
struct call {
    struct script_version *version;
    int function; /* its reference */
    const struct event *in;
    bool keep;                  /* filter */
    struct vane_arena *arena;   /* transform */
    struct script_output *out;  /* transform */
};

/* ---- opening ------------------------------------------------------------------ */

static int lacks(const struct script_entry *e, unsigned functions, char *err, size_t errlen)
{
    if ((functions & SCRIPT_FILTER) && e->current->filter_ref == LUA_NOREF) {
        snprintf(err, errlen, "script '%s' (%s) defines no filter(event) function", e->name,
                 e->path);
        return 1;
    }
    if ((functions & SCRIPT_TRANSFORM) && e->current->transform_ref == LUA_NOREF) {
        snprintf(err, errlen, "script '%s' (%s) defines no transform(event) function", e->name,
                 e->path);
        return 1;
    }
    return 0;
}

int script_open(struct script_registry *registry, const char *name, unsigned functions,
                struct script_handle **out, char *err, size_t errlen)
{
    struct script_entry *e = script_registry_find(registry, name);
    char dirs[512];

    *out = NULL;
    if (e == NULL) {
        script_registry_dirs_text(registry, dirs, sizeof(dirs));
        snprintf(err, errlen, "no script named '%s': no file %s.lua in the script folders (%s)",
                 name, name, dirs);
        return -ENOENT;
    }
    if (e->current == NULL) {
        snprintf(err, errlen, "script '%s' did not load: %s", name, e->load_error);
        return -EINVAL;
    }
    if (lacks(e, functions, err, errlen))
        return -EINVAL;
    *out = VANE_NEW(*out);
    (*out)->entry = e;
    e->handles++;
    return 0;
}

const char *script_handle_name(const struct script_handle *handle)
{
    return handle->entry->name;
}

void script_close(struct script_handle *handle)
{
    if (handle == NULL)
        return;
    script_registry_release(handle->entry);
    vane_free(handle);
}

/* ---- calling -------------------------------------------------------------------- */

static int note_failure(struct script_entry *e, int rc, const char *err)
{
    e->errors++;
    vane_free(e->last_error);
    e->last_error = vane_strdup(err);
    return rc;
}

/* Sets up c for the function (by its reference) of the version running; fails when it lacks it. */
static int begin(struct script_handle *handle, struct call *c, bool filter, char *err,
                 size_t errlen)
{
    struct script_entry *e = handle->entry;
    struct script_version *v = e->current;

    e->calls++;
    c->version = v;
    c->function = v == NULL ? LUA_NOREF : filter ? v->filter_ref : v->transform_ref;
    if (c->function == LUA_NOREF) {
        snprintf(err, errlen, "%s.lua: the version running defines no %s(event) function",
                 e->name, filter ? "filter" : "transform");
        return note_failure(e, VANE_ELUA, err);
    }
    return 0;
}

/* Pushes the function and the event table, and calls it for one result. */
static struct call *call_function(lua_State *L)
{
    struct call *c = lua_touserdata(L, 1);

    lua_rawgeti(L, LUA_REGISTRYINDEX, c->function);
    script_event_push(L, c->in);
    lua_call(L, 1, 1);
    return c;
}

static int filter_body(lua_State *L)
{
    struct call *c = call_function(L);

    if (lua_type(L, -1) != LUA_TBOOLEAN && !lua_isnil(L, -1))
        return luaL_error(L, "filter returned a %s; expected true (deliver) or false",
                          luaL_typename(L, -1));
    c->keep = lua_toboolean(L, -1);
    return 0;
}

int script_filter(struct script_handle *handle, const struct event *event, bool *keep,
                  char *err, size_t errlen)
{
    struct call c = {.in = event};
    int rc;

    *keep = false;
    if ((rc = begin(handle, &c, true, err, errlen)) != 0)
        return rc;
    if ((rc = script_sandbox_call(&c.version->sandbox, filter_body, &c, err, errlen)) != 0)
        return note_failure(handle->entry, rc, err);
    *keep = c.keep;
    return 0;
}

/* The next slot of out, grown when full. */
static struct event *next_slot(struct script_output *out)
{
    if (out->count == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 4;

        out->events = vane_realloc(out->events, cap * sizeof(*out->events));
        for (size_t i = out->cap; i < cap; i++)
            out->events[i] = (struct event)EVENT_INIT;
        out->cap = cap;
    }
    return &out->events[out->count];
}

/* Reads the event table at idx into the next slot of the output. */
static void read_one(lua_State *L, int idx, struct call *c, const char *what)
{
    script_event_read(L, idx, c->in, next_slot(c->out), c->arena, c->out->borrow,
                      &c->version->sandbox.json, what);
    c->out->count++;
}

static bool table_is_empty(lua_State *L, int idx)
{
    lua_pushnil(L);
    if (lua_next(L, idx) == 0)
        return true;
    lua_pop(L, 2);
    return false;
}

/* A list of event tables: each one read in turn. */
static void read_list(lua_State *L, int list, struct call *c)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, list);
    char what[64];

    if (n > SCRIPT_FANOUT_MAX)
        luaL_error(L, "transform returned a list of %I events; at most %d are taken", n,
                   SCRIPT_FANOUT_MAX);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, list, i) != LUA_TTABLE)
            luaL_error(L, "transform's result: element %I of the list is a %s; expected an "
                          "event table", i, luaL_typename(L, -1));
        snprintf(what, sizeof(what), "event %lld of transform's result", (long long)i);
        read_one(L, -1, c, what);
        lua_pop(L, 1);
    }
}

static int transform_body(lua_State *L)
{
    struct call *c = call_function(L);
    int result = lua_gettop(L);
    bool is_list;

    if (lua_isnil(L, result))
        return 0; /* drop */
    if (!lua_istable(L, result))
        return luaL_error(L, "transform returned a %s; expected an event table, a list of "
                             "event tables, or nil (drop)", luaL_typename(L, result));
    is_list = lua_rawgeti(L, result, 1) != LUA_TNIL;
    lua_pop(L, 1);
    if (is_list)
        read_list(L, result, c);
    /* {} is an empty list: drop.  An event table is an event, though it
     * holds nothing of its own until the script sets something. */
    else if (script_event_is_table(L, result) || !table_is_empty(L, result))
        read_one(L, result, c, "transform's result");
    return 0;
}

int script_transform(struct script_handle *handle, const struct event *in,
                     struct vane_arena *arena, struct script_output *out, char *err,
                     size_t errlen)
{
    struct call c = {.in = in, .arena = arena, .out = out};
    int rc;

    out->count = 0;
    if ((rc = begin(handle, &c, false, err, errlen)) != 0)
        return rc;
    if ((rc = script_sandbox_call(&c.version->sandbox, transform_body, &c, err, errlen)) != 0) {
        out->count = 0;
        return note_failure(handle->entry, rc, err);
    }
    return 0;
}

void script_output_free(struct script_output *out)
{
    for (size_t i = 0; i < out->cap; i++)
        event_free(&out->events[i]);
    vane_free(out->events);
    memset(out, 0, sizeof(*out));
}
