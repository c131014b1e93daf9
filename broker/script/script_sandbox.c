/*
 * script_sandbox.c -- the sandboxed Lua state (see script_sandbox.h).
 *
 * Design, after Redis's scripting sandbox and Fluent Bit's filter_lua (the
 * ideas, not their code):
 *
 *   - Allow-list, not deny-list: only the libraries named in the header are
 *     opened, then the few dangerous members of those are removed or
 *     replaced.  Nothing that reaches files, processes, the environment,
 *     the collector or bytecode is left.
 *
 *   - The memory cap is the state's allocator: it counts every block and
 *     refuses growth past the cap, which Lua turns into a memory error
 *     (after an emergency collection).  When it refuses during a call it
 *     notes the script's line first, read from the call stack: that reads
 *     CallInfo and Proto fields only and allocates nothing, and a refused
 *     block leaves the old one (and the stack) as it was.
 *
 *   - The budget is a count hook.  Once spent, the hook is re-armed at
 *     every instruction, so the error comes back however often the script
 *     catches it, until the call unwinds to the sandbox's own pcall.
 *
 *   - Finalizers (__gc) are refused at setmetatable: Lua runs them with
 *     hooks off, so one could loop for ever.  Every metatable the runtime
 *     makes is protected with __metatable, so a script cannot add __gc to
 *     one either; the string metatable likewise.
 *
 *   - Everything that allocates on the Lua side runs inside lua_pcall (the
 *     libraries' opening, every call), so a memory error never reaches the
 *     panic function.
 *
 *   - Small blocks (up to 256 bytes: tables, their slots, short strings)
 *     come from free lists of the sandbox's own, one per 16-byte class,
 *     filled by the blocks the state frees, up to POOL_KEEP bytes in all.
 *     Each event a transform handles makes and drops a few tables; taking
 *     them from a list instead of malloc and giving them back instead of
 *     free saves a few percent of a transform's time.  A block's class
 *     follows from the size Lua gives with it: a block of 256 bytes or less
 *     always has at least its class's full size (so any list may take it),
 *     a larger one is malloc's.  The cap counts what the state holds, not
 *     what the lists keep.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "script/script_event.h"
#include "script/script_sandbox.h"

static const char log_component[] = "script";

/* ---- the allocator ---------------------------------------------------------- */

/* Writes "file:line" of the innermost Lua function running into where, or "". */
static void current_line(lua_State *L, char *where, size_t size)
{
    lua_Debug ar;

    where[0] = '\0';
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(where, size, "%s:%d", ar.short_src, ar.currentline);
            return;
        }
    }
}

static void note_cap_hit(struct script_sandbox *sb)
{
    if (sb->cap_hit)
        return;
    sb->cap_hit = true;
    if (sb->L != NULL)
        current_line(sb->L, sb->cap_where, sizeof(sb->cap_where));
}

#define POOL_GRAIN 16
#define POOL_MAX (POOL_GRAIN * SCRIPT_POOL_CLASSES)
#define POOL_KEEP (256u << 10) /* bytes the free lists keep at most */

/* The class of a block of size bytes (1 to POOL_MAX). */
static size_t pool_class(size_t size)
{
    return (size - 1) / POOL_GRAIN;
}

static void *pool_take(struct script_pool *pool, size_t size)
{
    size_t c = pool_class(size);
    void *block = pool->free[c];

    if (block == NULL)
        return malloc((c + 1) * POOL_GRAIN);
    memcpy(&pool->free[c], block, sizeof(void *));
    pool->bytes -= (c + 1) * POOL_GRAIN;
    return block;
}

static void pool_give(struct script_pool *pool, void *block, size_t size)
{
    size_t c = pool_class(size);

    if (pool->bytes + (c + 1) * POOL_GRAIN > POOL_KEEP) {
        free(block);
        return;
    }
    memcpy(block, &pool->free[c], sizeof(void *));
    pool->free[c] = block;
    pool->bytes += (c + 1) * POOL_GRAIN;
}

static void pool_free_all(struct script_pool *pool)
{
    for (size_t c = 0; c < SCRIPT_POOL_CLASSES; c++)
        while (pool->free[c] != NULL) {
            void *block = pool->free[c];

            memcpy(&pool->free[c], block, sizeof(void *));
            free(block);
        }
    pool->bytes = 0;
}

/* Frees a block of size bytes (0: none). */
static void release(struct script_pool *pool, void *block, size_t size)
{
    if (block == NULL) /* Lua frees the empty parts of tables too */
        return;
    if (size > 0 && size <= POOL_MAX)
        pool_give(pool, block, size);
    else
        free(block);
}

/* Resizes a block of old bytes (0: none) to size bytes (1 or more); NULL when out of memory. */
static void *resize(struct script_pool *pool, void *block, size_t old, size_t size)
{
    void *moved;

    if (old > POOL_MAX && size > POOL_MAX)
        return realloc(block, size);
    if (old > 0 && old <= POOL_MAX && size <= POOL_MAX && pool_class(old) == pool_class(size))
        return block;
    moved = size <= POOL_MAX ? pool_take(pool, size) : malloc(size);
    if (moved == NULL) /* Lua counts on a block never failing to shrink: it stays as it is */
        return size <= old ? block : NULL;
    if (old > 0) {
        memcpy(moved, block, old < size ? old : size);
        release(pool, block, old);
    }
    return moved;
}

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct script_sandbox *sb = ud;
    size_t old = ptr != NULL ? osize : 0; /* without ptr, osize is a type tag */
    void *block;

    if (nsize == 0) {
        release(&sb->pool, ptr, old);
        sb->used -= old;
        return NULL;
    }
    if (nsize > old && sb->used - old + nsize > sb->cap) {
        note_cap_hit(sb);
        return NULL;
    }
    if ((block = resize(&sb->pool, ptr, old, nsize)) == NULL)
        return NULL;
    sb->used = sb->used - old + nsize;
    return block;
}

/* ---- the budget --------------------------------------------------------------- */

static void on_count(lua_State *L, lua_Debug *ar)
{
    struct script_sandbox *sb = script_sandbox_of(L);
    char where[160];

    (void)ar;
    if (!sb->budget_spent) {
        sb->budget_spent = true;
        lua_sethook(L, on_count, LUA_MASKCOUNT, 1); /* again at every instruction */
    }
    current_line(L, where, sizeof(where));
    lua_pushfstring(L, "%s: instruction budget of %d exceeded (an endless loop?)",
                    where[0] ? where : sb->display, sb->budget);
    lua_error(L);
}

static void arm(struct script_sandbox *sb)
{
    sb->budget_spent = false;
    sb->cap_hit = false;
    sb->cap_where[0] = '\0';
    lua_sethook(sb->L, on_count, LUA_MASKCOUNT, sb->budget);
}

/* ---- what the script may call --------------------------------------------------- */

/* "redact.lua:12: " of the Lua code that called the running C function, or the file name. */
static void push_caller(lua_State *L)
{
    luaL_where(L, 1);
    if (lua_rawlen(L, -1) == 0) {
        lua_pop(L, 1);
        lua_pushfstring(L, "%s: ", script_sandbox_of(L)->display);
    }
}

static void log_text(lua_State *L, enum log_level level, const char *text)
{
    push_caller(L);
    vane_log(level, log_component, "%s%s", lua_tostring(L, -1), text);
    lua_pop(L, 1);
}

/* vane.log([level,] message) */
static int sandbox_log(lua_State *L)
{
    enum log_level level = LOG_LEVEL_INFO;
    int message = 1;

    if (lua_gettop(L) >= 2) {
        const char *name = luaL_checkstring(L, 1);

        if (vane_log_level_parse(name, &level) != 0)
            return luaL_error(L, "vane.log: level: expected error, warn, info or debug; got "
                                 "\"%s\"", name);
        message = 2;
    }
    luaL_checkany(L, message);
    if (vane_log_enabled(level))
        log_text(L, level, luaL_tolstring(L, message, NULL));
    return 0;
}

/* print(...): the values, tab-separated, logged at info. */
static int sandbox_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;

    if (!vane_log_enabled(LOG_LEVEL_INFO))
        return 0;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    log_text(L, LOG_LEVEL_INFO, lua_tostring(L, -1));
    return 0;
}

/* vane.time(): seconds since the epoch, with a fraction. */
static int sandbox_time(lua_State *L)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    lua_pushnumber(L, (lua_Number)now.tv_sec + (lua_Number)now.tv_nsec / 1e9);
    return 1;
}

/*
 * load(text [, chunkname [, mode [, env]]]): text chunks given as a string
 * only, whatever mode says; returns nil and the reason otherwise, as load does.
 */
static int sandbox_load(lua_State *L)
{
    size_t len;
    const char *text = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : NULL;
    const char *chunkname = luaL_optstring(L, 2, "=(load)");
    int status;

    if (text == NULL) {
        luaL_pushfail(L);
        lua_pushstring(L, "load: a script can load only text given as a string");
        return 2;
    }
    status = luaL_loadbufferx(L, text, len, chunkname, "t");
    if (status != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (!lua_isnone(L, 4)) {
        lua_pushvalue(L, 4);
        if (lua_setupvalue(L, -2, 1) == NULL)
            lua_pop(L, 1);
    }
    return 1;
}

/* setmetatable(t, mt), refusing a finalizer. */
static int sandbox_setmetatable(lua_State *L)
{
    int type = lua_type(L, 2);

    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, type == LUA_TNIL || type == LUA_TTABLE, 2, "nil or table");
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_pushliteral(L, "__gc");
    if (type == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL)
        return luaL_error(L, "setmetatable: __gc (finalizers) are not allowed in scripts");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* ---- building the state ---------------------------------------------------------- */

static void set_global_nil(lua_State *L, const char *name)
{
    lua_pushnil(L);
    lua_setglobal(L, name);
}

static void set_global_function(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_pushcfunction(L, fn);
    lua_setglobal(L, name);
}

static void open_base(lua_State *L)
{
    static const char *const removed[] = {"dofile", "loadfile", "collectgarbage", "warn"};

    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    lua_pop(L, 1);
    for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++)
        set_global_nil(L, removed[i]);
    set_global_function(L, "load", sandbox_load);
    set_global_function(L, "print", sandbox_print);
    set_global_function(L, "setmetatable", sandbox_setmetatable);
}

/* string without dump; its metatable protected. */
static void open_string(lua_State *L)
{
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushliteral(L, "string");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
}

/* os with time, clock and date only. */
static void open_os(lua_State *L)
{
    static const char *const kept[] = {"time", "clock", "date"};

    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
    lua_createtable(L, 0, 3);
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        lua_getfield(L, -2, kept[i]);
        lua_setfield(L, -2, kept[i]);
    }
    lua_setglobal(L, LUA_OSLIBNAME);
    lua_pop(L, 1);
}

static void open_vane(lua_State *L, struct script_sandbox *sb)
{
    lua_createtable(L, 0, 3);
    script_json_open(L, &sb->json);
    lua_setfield(L, -2, "json");
    lua_pushcfunction(L, sandbox_log);
    lua_setfield(L, -2, "log");
    lua_pushcfunction(L, sandbox_time);
    lua_setfield(L, -2, "time");
    lua_setglobal(L, "vane");
}

static int open_body(lua_State *L)
{
    struct script_sandbox *sb = lua_touserdata(L, 1);

    open_base(L);
    open_string(L);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_pop(L, 3);
    open_os(L);
    open_vane(L, sb);
    script_event_open(L);
    return 0;
}

struct script_sandbox *script_sandbox_of(lua_State *L)
{
    return *(struct script_sandbox **)lua_getextraspace(L);
}

int script_sandbox_open(struct script_sandbox *sb, const char *display,
                        const struct script_limits *limits, char *err, size_t errlen)
{
    lua_State *L;

    memset(sb, 0, sizeof(*sb));
    sb->display = vane_strdup(display);
    sb->cap = limits->memory;
    sb->budget = (int)(limits->budget > SCRIPT_BUDGET_MAX ? SCRIPT_BUDGET_MAX : limits->budget);
    if ((L = lua_newstate(capped_alloc, sb)) == NULL)
        goto too_small;
    *(struct script_sandbox **)lua_getextraspace(L) = sb;
    lua_pushcfunction(L, open_body);
    lua_pushlightuserdata(L, sb);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        lua_close(L);
        goto too_small;
    }
    /* Transforms make short-lived tables by the million: the generational mode suits them. */
    lua_gc(L, LUA_GCGEN, 0, 0);
    sb->L = L;
    return 0;

too_small:
    snprintf(err, errlen, "%s: the memory cap (%zu bytes) is too small for Lua's libraries",
             display, sb->cap);
    script_sandbox_close(sb);
    return -ENOMEM;
}

/* ---- running ------------------------------------------------------------------------ */

static bool starts_with_name(const char *message, const char *display)
{
    size_t n = strlen(display);

    return strncmp(message, display, n) == 0 && message[n] == ':';
}

/* Describes the error a protected call left on the stack. */
static void describe_failure(struct script_sandbox *sb, int status, char *err, size_t errlen)
{
    lua_State *L = sb->L;
    const char *message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;

    if (sb->cap_hit &&
        (status == LUA_ERRMEM || (message != NULL && strcmp(message, "not enough memory") == 0)))
        snprintf(err, errlen, "%s: memory cap of %zu bytes exceeded",
                 sb->cap_where[0] ? sb->cap_where : sb->display, sb->cap);
    else if (message == NULL)
        snprintf(err, errlen, "%s: raised an error that is a %s value, not a message",
                 sb->display, luaL_typename(L, -1));
    else if (starts_with_name(message, sb->display))
        snprintf(err, errlen, "%s", message);
    else
        snprintf(err, errlen, "%s: %s", sb->display, message);
}

static int finish(struct script_sandbox *sb, int status, char *err, size_t errlen)
{
    int rc = 0;

    if (status != LUA_OK) {
        describe_failure(sb, status, err, errlen);
        rc = VANE_ELUA;
    }
    lua_settop(sb->L, 0);
    sb->current_event = NULL; /* the caller's event may go now */
    sb->current_table = NULL;
    script_json_loan_end(&sb->json);
    return rc;
}

int script_sandbox_run_chunk(struct script_sandbox *sb, const char *text, size_t len, char *err,
                             size_t errlen)
{
    char chunkname[256];
    int status;

    snprintf(chunkname, sizeof(chunkname), "@%s", sb->display);
    arm(sb);
    status = luaL_loadbufferx(sb->L, text, len, chunkname, "t");
    if (status == LUA_OK)
        status = lua_pcall(sb->L, 0, 0, 0);
    return finish(sb, status, err, errlen);
}

int script_sandbox_call(struct script_sandbox *sb, lua_CFunction body, void *ctx, char *err,
                        size_t errlen)
{
    arm(sb);
    lua_pushcfunction(sb->L, body);
    lua_pushlightuserdata(sb->L, ctx);
    return finish(sb, lua_pcall(sb->L, 1, 0, 0), err, errlen);
}

void script_sandbox_close(struct script_sandbox *sb)
{
    lua_State *L = sb->L;

    sb->L = NULL; /* the allocator looks no more at the stack */
    if (L != NULL)
        lua_close(L);
    pool_free_all(&sb->pool);
    script_json_scratch_free(&sb->json);
    vane_free(sb->display);
    memset(sb, 0, sizeof(*sb));
}
