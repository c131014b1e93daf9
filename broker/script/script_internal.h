/*
 * script_internal.h -- what script_registry.c and script.c share: a loaded
 * version of a script, and a script's entry in the registry.
 *
 * Ownership: the registry owns its entries; an entry owns its version
 * running (a reload frees the one before).  A handle (script.c) points at
 * an entry and counts in entry->handles; an entry whose file is gone is
 * freed when its last handle closes, or at once when it has none.
 */
#ifndef VANE_SCRIPT_INTERNAL_H
#define VANE_SCRIPT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "script/script_registry.h"
#include "script/script_sandbox.h"

/* One version of a script, loaded and ready to call. */
struct script_version {
    struct script_sandbox sandbox;
    int filter_ref, transform_ref; /* in the state's registry; LUA_NOREF when not defined */
    int64_t loaded_at;             /* ns since the epoch */
};

/* What tells that a file changed. */
struct script_stamp {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
};

struct script_entry {
    struct script_entry *next;
    struct script_registry *registry;
    char *name;
    char *path;
    struct script_stamp stamp;      /* of the newest file tried */
    struct script_version *current; /* NULL until a version loads */
    char *load_error;               /* why the newest file did not load; NULL when it did */
    unsigned handles;
    bool removed; /* the file is gone; kept for the handles */
    bool seen;    /* during a scan */
    uint64_t calls, errors;
    char *last_error;
};

/* The entry of a listed script called name, or NULL. */
struct script_entry *script_registry_find(struct script_registry *registry, const char *name);

/* Drops a handle's hold on entry; frees it if its file is gone and this was the last. */
void script_registry_release(struct script_entry *entry);

/* The folders as one line, "a, b" (or "no folder"), for messages, into out. */
void script_registry_dirs_text(const struct script_registry *registry, char *out, size_t size);

#endif
