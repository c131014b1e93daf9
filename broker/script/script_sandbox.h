/*
 * script_sandbox.h -- one sandboxed Lua state: what a script may reach, and
 * the limits every call runs under.
 *
 * A sandbox is one lua_State for one version of one script (a reload makes
 * a new sandbox; the old one is closed).  What the script sees:
 *
 *   - the base functions, minus those that reach files or the collector
 *     (dofile, loadfile, collectgarbage, warn); load() compiles text chunks
 *     only (never bytecode), with the sandbox's globals or the env given;
 *     setmetatable() refuses a metatable with __gc (a finalizer runs with
 *     the instruction budget switched off); print() logs at info;
 *   - string (without string.dump), table, math, utf8, and os with only
 *     time, clock and date; no io, package/require, debug or coroutine;
 *   - vane: vane.json.encode/decode/null/array (script_json.h), vane.log,
 *     vane.time.
 *
 * Limits.  The instruction budget (a count hook, re-armed at the start of
 * every call) bounds each call and the first run of the file; once it is
 * spent every further instruction raises the error again, so a script
 * cannot catch it with pcall and go on.  The memory cap bounds everything
 * the state holds, through its allocator.  Both fail only the call: the
 * error unwinds to script_sandbox_call(), which reports it, and the state
 * is used again by the next call.  One library call counts as one
 * instruction, so a pathological string pattern over long text can still
 * run long (doc/lua.md says so).
 *
 * Errors come back as text that starts with the place in the script,
 * "redact.lua:12: ...", or with the file name alone when there is no line
 * (the runtime's own checks of what a function returned).
 *
 * Threads: a sandbox is used on one thread (the loop thread) only.
 */
#ifndef VANE_SCRIPT_SANDBOX_H
#define VANE_SCRIPT_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "event/event.h"
#include "script/script_json.h"

#define SCRIPT_ERROR_MAX 512

struct script_limits {
    uint64_t budget; /* VM instructions per call, from 1000 to SCRIPT_BUDGET_MAX */
    uint64_t memory; /* bytes the state may hold */
};

#define SCRIPT_BUDGET_MAX 1000000000
#define SCRIPT_BUDGET_DEFAULT 1000000                      /* scripts.budget's default */
#define SCRIPT_MEMORY_DEFAULT ((uint64_t)16 * 1024 * 1024) /* scripts.memory's default */

/* Small blocks the state freed, kept for its next allocations (script_sandbox.c). */
#define SCRIPT_POOL_CLASSES 16 /* of 16, 32, ... 256 bytes */

struct script_pool {
    void *free[SCRIPT_POOL_CLASSES]; /* each block's first bytes link to the next */
    size_t bytes;                    /* held in the lists */
};

struct script_sandbox {
    lua_State *L;
    char *display;      /* the file name, "redact.lua": how messages name the script */
    int budget;
    bool budget_spent;  /* during this call */
    size_t used, cap;   /* bytes the state holds, and may hold */
    bool cap_hit;       /* during this call */
    char cap_where[160]; /* "redact.lua:12" where the cap was first hit, or "" */
    struct script_json_scratch json;
    const struct event *current_event; /* of the call running (script_event.h), or NULL */
    const void *event_metatable;       /* script_event.c's, by address */
    int event_metatable_ref;           /* and its reference in the registry */
    unsigned event_slots;              /* script_event.c: the call's slots set (a mask) */
    const void *current_table;         /* its event table (by address), or NULL */
    struct script_pool pool;
};

/*
 * Makes the state: libraries, sandbox and helpers, within the limits.
 * display names the script in messages.  Returns 0, or -ENOMEM (the cap
 * is too small for the libraries themselves) with err filled.
 */
int script_sandbox_open(struct script_sandbox *sb, const char *display,
                        const struct script_limits *limits, char *err, size_t errlen);

/*
 * Compiles text, a text chunk (bytecode is refused), and runs it once
 * within the limits, as a file is run when it is loaded.  Returns 0, or
 * VANE_ELUA with err saying why and where.
 */
int script_sandbox_run_chunk(struct script_sandbox *sb, const char *text, size_t len,
                             char *err, size_t errlen);

/*
 * Runs body(L) in a protected call within the limits, with ctx as its only
 * argument (a light userdata).  body raises Lua errors for whatever goes
 * wrong.  Returns 0, or VANE_ELUA with err saying why and where.
 */
int script_sandbox_call(struct script_sandbox *sb, lua_CFunction body, void *ctx, char *err,
                        size_t errlen);

/* The sandbox a state belongs to (from inside a C function the script called). */
struct script_sandbox *script_sandbox_of(lua_State *L);

/* Closes the state and frees what the sandbox holds; a zeroed sandbox is fine. */
void script_sandbox_close(struct script_sandbox *sb);

#endif
