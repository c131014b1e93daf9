/*
 * plugin_registry.h -- the plugins the broker knows: found in plugin
 * folders at start, kept up to date while it runs.
 *
 * Folders.  The configuration's plugins.dirs, a ':'-separated list; when
 * it is empty, the built-in ones (plugin_registry_default_dirs): ./plugins
 * and ./connectors under the working directory, plugins/ and connectors/
 * beside the vaned executable (the build tree's outputs), and the
 * installed $(pkglibdir)/plugins and $(pkglibdir)/connectors.  A folder
 * that does not exist is skipped (a configured one with one warning).
 *
 * Scanning.  libltdl lists each folder (lt_dlforeachfile: one entry per
 * module, hidden files skipped); an entry with a .la file (libtool's, as
 * the build tree has) is loaded from the shared object the .la names, one
 * with a .so from that.  Others (a README, a source folder) are not
 * plugins and are passed over in silence.  Every folder is watched
 * (uv_fs_event); a change rescans, once things have been quiet for
 * PLUGIN_REGISTRY_DEBOUNCE_MS.  A rescan loads files that are new or whose
 * shared object changed (device, inode, size or time), and forgets those
 * that are gone.
 *
 * Versions.  glibc's dlopen() hands back the object already loaded from a
 * path, even when the file there was replaced, so each file is loaded from
 * a private copy, <cache_dir>/<file>-<n>.so.  A replaced file becomes a new
 * version, used by plugin_acquire() from then on; whoever holds the old
 * one keeps it until plugin_release(), which closes it and deletes its
 * copy.  A removed file leaves the list; running users keep theirs.  A
 * replacement that is refused leaves the previous version in place (the
 * list shows it and the refusal): a file caught half-copied is retried at
 * the next change.
 *
 * Refusals.  A file whose plugin is refused (plugin.h lists the reasons;
 * here also a name another file's plugin already has) is logged in one
 * line naming the file and the reason, and kept with its reason for the
 * API; the broker carries on.
 *
 * Everything runs on the loop thread.
 */
#ifndef VANE_BROKER_PLUGIN_REGISTRY_H
#define VANE_BROKER_PLUGIN_REGISTRY_H

#include <stddef.h>

#include <uv.h>

#include "plugin/plugin.h"

#define PLUGIN_REGISTRY_DEBOUNCE_MS 100

struct plugin_registry;

struct plugin_registry_options {
    const char *dirs;      /* ':'-separated folders; NULL or "": the defaults */
    const char *cache_dir; /* where private copies go; made if missing, emptied at start */
};

/* A refused file and why. */
struct plugin_refusal {
    const char *file;
    const char *reason;
};

/*
 * Scans the folders (synchronously) and starts watching them.  Returns 0
 * with *out, or a negative error after logging why (the cache folder
 * cannot be made).  Close with plugin_registry_close().
 */
int plugin_registry_start(struct plugin_registry **out, uv_loop_t *loop,
                          const struct plugin_registry_options *options);

/*
 * Stops watching, drops the list's references and frees the registry once
 * its handles are closed (run the loop after).  Versions still acquired
 * stay loaded until released.  NULL is fine.
 */
void plugin_registry_close(struct plugin_registry *registry);

/* Rescans every folder now (the watchers do this on their own). */
void plugin_registry_rescan(struct plugin_registry *registry);

/* Calls changed(arg) after every scan that loaded, replaced or forgot a plugin. */
void plugin_registry_on_change(struct plugin_registry *registry, void (*changed)(void *arg),
                               void *arg);

/*
 * The current version of the plugin called name, with a reference the
 * caller gives back with plugin_release(); NULL when none has that name.
 * p->loaded_path is the private copy a worker process can load itself.
 */
struct plugin *plugin_acquire(struct plugin_registry *registry, const char *name);

/* The plugins loaded now, in folder and file order (no reference taken:
 * valid until the loop runs again). */
size_t plugin_registry_count(const struct plugin_registry *registry);
const struct plugin *plugin_registry_at(const struct plugin_registry *registry, size_t i);
/* The plugin called name, or NULL (no reference taken, as above). */
const struct plugin *plugin_registry_find(const struct plugin_registry *registry,
                                          const char *name);

/* The files refused at their last try, as above. */
size_t plugin_registry_refusal_count(const struct plugin_registry *registry);
struct plugin_refusal plugin_registry_refusal_at(const struct plugin_registry *registry,
                                                 size_t i);

/* The folders scanned, ':'-separated, as resolved at start (the defaults
 * made absolute); for the start line and the tests. */
const char *plugin_registry_dirs(const struct plugin_registry *registry);

#endif
