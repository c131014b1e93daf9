/*
 * plugin.h -- one loaded version of a plugin file: the shared object opened
 * with libltdl, its descriptor checked against the SDK's rules.
 *
 * plugin_load() opens a shared object, finds the "vane_plugin" symbol and
 * checks it (vane/plugin.h lists the rules): magic, ABI major, struct_size
 * for the minor it claims, name, kind, the callbacks the kind needs, and the
 * options table (plugin_options.h).  Anything wrong refuses the file with
 * one sentence saying why, naming both versions for an ABI mismatch.
 *
 * A struct plugin is reference counted.  Whoever holds a reference may use
 * the descriptor and the strings below (they live in the loaded object, or
 * are copies); the last plugin_release() closes the object and deletes the
 * file it was loaded from when the plugin owns it (the registry's private
 * copy, plugin_registry.h).  The registry hands out references with
 * plugin_acquire(); a connector worker process, which has no registry,
 * loads the registry's cached copy itself with plugin_load().
 *
 * Not thread-safe (libltdl is not): load and release on one thread, the
 * loop's.
 */
#ifndef VANE_BROKER_PLUGIN_PLUGIN_H
#define VANE_BROKER_PLUGIN_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vane/plugin.h"

struct plugin {
    const struct vane_plugin *desc; /* in the loaded object */
    const char *name;               /* desc->name, checked */
    const char *version;            /* desc->version, or "" */
    const char *description;        /* desc->description, or "" */
    int kind;                       /* enum vane_plugin_kind, checked */
    const struct vane_option *options; /* desc->options; NULL: none */
    size_t option_count;
    char *file;        /* the file as the user sees it (dir/name.so or dir/name.la) */
    char *loaded_path; /* the shared object actually opened */
    int64_t loaded_at; /* when, in ns since the epoch */
    unsigned refs;
    bool owns_file;    /* loaded_path is a private copy, deleted with the plugin */
    void *handle;      /* the lt_dlhandle */
};

/* The name of an enum vane_plugin_kind: "source", "sink", "filter", "transform"; "?" else. */
const char *plugin_kind_name(int kind);

/*
 * Opens the shared object at path and checks its descriptor.  file is the
 * name the user knows it by (logs, the API); NULL means path.  When
 * owns_file, the plugin deletes path when it is released, and also when
 * it is refused here.  Returns 0 with *out holding one reference, or a
 * negative error with *why (freed by the caller with vane_free) saying, in
 * one sentence without the file's name, why the file was refused.
 */
int plugin_load(const char *path, const char *file, bool owns_file, struct plugin **out,
                char **why);

/* Takes one more reference; returns p. */
struct plugin *plugin_ref(struct plugin *p);

/* Drops one reference; the last closes the object (and deletes an owned file). */
void plugin_release(struct plugin *p);

#endif
