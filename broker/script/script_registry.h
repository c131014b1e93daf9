/*
 * script_registry.h -- the Lua scripts the broker knows: found in folders,
 * loaded at start, reloaded when their files change.
 *
 * A script is a file NAME.lua in one of the script folders; NAME is its
 * name.  The folders are scripts.dirs from the configuration (separated by
 * ':'), or, when that is empty, those of these that exist: ./filters-lua
 * (relative to the working directory), <folder of the vaned executable>/../
 * filters-lua and <pkgdatadir>/filters-lua.  When two folders hold the same
 * name, the earlier folder's file is the script.  A configured folder that
 * does not exist is reported once (a warning) and skipped.
 *
 * Loading runs the file once in a fresh sandbox (script_sandbox.h) and
 * requires it to define filter(event), transform(event) or both.  A file
 * that fails to load -- a syntax error, an error at its top level, neither
 * function -- leaves the version that was running (if any) running, and
 * the reason, with the script's name and line, goes to the log and into
 * the list (load_error).
 *
 * Watching: each folder has a uv_fs_event; changes are gathered for
 * SCRIPT_DEBOUNCE_MS and then every folder is scanned again.  A file whose
 * size, modification time or inode changed, or that the events named, is
 * loaded again; the next call through a handle (script.h) runs the new
 * version.  A file that is gone leaves the list; while a handle still uses
 * its script, the last version keeps running for that handle.
 *
 * Threads: everything on the loop thread.
 */
#ifndef VANE_SCRIPT_REGISTRY_H
#define VANE_SCRIPT_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config/config.h"
#include "script/script_sandbox.h"

#define SCRIPT_DEBOUNCE_MS 100
#define SCRIPT_FILE_MAX (4 * 1024 * 1024) /* a larger file is refused */

struct script_registry;

struct script_options {
    const char *dirs; /* ':'-separated folders; NULL or "": the defaults above */
    struct script_limits limits;
    uint64_t debounce_ms;
};

/* The defaults: no folders named, the budget and cap of the configuration's defaults. */
void script_options_default(struct script_options *options);

/* The scripts.* keys of cfg (borrowed: cfg must outlive options). */
void script_options_from_config(struct script_options *options, const struct config *cfg);

/*
 * Finds the folders, loads every script in them and starts watching.
 * Never fails for a script or a folder (those are logged); returns 0 with
 * *out, or a negative error when the loop refuses a timer.
 */
int script_registry_start(struct script_registry **out, uv_loop_t *loop,
                          const struct script_options *options);

/*
 * Stops watching and frees everything once the loop has closed the
 * watchers: run the loop afterwards.  Close every script handle first.
 */
void script_registry_close(struct script_registry *registry);

/* Scans the folders now (what a change does after the debounce). */
void script_registry_rescan(struct script_registry *registry);

/* What GET /api/v1/scripts shows of one script. */
struct script_info {
    const char *name;
    const char *file;
    bool has_filter, has_transform; /* of the version running; both false when none runs */
    int64_t loaded_at;              /* ns since the epoch; 0 when no version runs */
    uint64_t calls, errors;
    const char *last_error;         /* of the latest failed call, or NULL */
    const char *load_error;         /* why the newest file did not load, or NULL */
};

/*
 * The scripts listed (not those whose file is gone), by name, in a new
 * array the caller frees with vane_free().  The strings belong to the
 * registry and stay valid until the loop runs again.
 */
size_t script_registry_list(struct script_registry *registry, struct script_info **infos);

/* How many scripts have a version running. */
size_t script_registry_running(const struct script_registry *registry);

/* The folders scanned, in order. */
const char *const *script_registry_dirs(const struct script_registry *registry, size_t *count);

#endif
