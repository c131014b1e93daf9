/*
 * plugin_registry.c -- plugin folders scanned at start and watched while
 * the broker runs (see plugin_registry.h for the rules).
 *
 * A scan has three steps.  (1) List: libltdl names each module of each
 * folder once ("dir/name", extension stripped); an entry whose shared
 * object can be found (through name.la, libtool's, or name.so) is a
 * candidate.  (2) Match: the candidates become the new list of records, in
 * folder and file order, each keeping the record it had at the last scan;
 * records no longer found are forgotten (their plugin released) before
 * anything loads, so a plugin whose file was renamed keeps its name.  (3)
 * Load: a record whose shared object is new or changed (device, inode,
 * size, modification time), or was refused only for a duplicate name, is
 * copied into the cache folder and loaded from there (plugin.h checks it);
 * then its name must be free among the other records.
 *
 * Copies are made with read(2)/write(2) on the loop thread: plugins are
 * small and scans rare (start, and a folder changing).  The debounce timer
 * turns a burst of file events (a cp writing a large file) into one scan.
 *
 * Closing: the list's references are dropped at once; the registry itself
 * is freed when the last of its handles (the timer, one fs_event per
 * folder) has closed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ltdl.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "plugin/plugin_registry.h"

#ifndef VANE_PKGLIBDIR
#define VANE_PKGLIBDIR "/usr/local/lib/vane"
#endif

static const char component[] = "plugins";

struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct record {
    char *entry;         /* "dir/name", as libltdl listed it */
    char *file;          /* the file the user knows: dir/name.la or dir/name.so */
    char *object;        /* the shared object to load */
    struct file_id id;   /* of object at the last try */
    bool tried;
    bool retry;          /* refused for a duplicate name: try again at each scan */
    struct plugin *plugin; /* the current version (the list's reference), or NULL */
    char *refusal;       /* why the last try was refused; NULL after a load */
};

struct watch {
    uv_fs_event_t handle;
    struct plugin_registry *registry;
};

struct plugin_registry {
    uv_loop_t *loop;
    char *dirs;          /* the folders scanned, ':'-separated, absolute */
    char *cache_dir;
    struct record **records;
    size_t record_count;
    struct watch **watches;
    size_t watch_count;
    uv_timer_t debounce;
    unsigned copies;     /* numbers the cached copies */
    int open_handles;    /* while closing: handles not closed yet */
    bool changed;        /* the scan in progress loaded, replaced or forgot a plugin */
    void (*on_change)(void *arg);
    void *on_change_arg;
};

/* ---- folders ---------------------------------------------------------------------- */

/* Whether the ':'-separated list holds item. */
static bool list_has(const char *list, const char *item)
{
    size_t len = strlen(item);

    for (const char *p = list; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, ":");

        if (n == len && memcmp(p, item, len) == 0)
            return true;
        p += n + (p[n] == ':');
    }
    return false;
}

/* Appends dir (made absolute) to list unless it is missing or already there. */
static void add_dir(struct vane_buf *list, const char *dir, bool configured)
{
    char resolved[PATH_MAX];
    const char *problem = NULL;
    struct stat st;

    if (realpath(dir, resolved) == NULL || stat(resolved, &st) != 0)
        problem = strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        problem = "not a folder";
    if (problem != NULL) {
        if (configured)
            vane_log_warn(component, "plugin folder %s: %s; skipped", dir, problem);
        return;
    }
    if (list_has(list->data, resolved))
        return;
    if (list->len > 0)
        vane_buf_append(list, ":", 1);
    vane_buf_append_str(list, resolved);
}

/* The folders of the ':'-separated configured list. */
static void add_configured_dirs(struct vane_buf *list, const char *dirs)
{
    char *copy = vane_strdup(dirs), *save = NULL;

    for (char *dir = strtok_r(copy, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save))
        add_dir(list, dir, true);
    vane_free(copy);
}

/* ./plugins, ./connectors, beside the executable, and the installed ones. */
static void add_default_dirs(struct vane_buf *list)
{
    static const char *const kinds[] = {"plugins", "connectors"};
    char exe[PATH_MAX];
    size_t exe_len = sizeof(exe);
    char *slash, *dir;

    for (size_t i = 0; i < 2; i++)
        add_dir(list, kinds[i], false);
    if (uv_exepath(exe, &exe_len) == 0 && (slash = strrchr(exe, '/')) != NULL) {
        *slash = '\0';
        for (size_t i = 0; i < 2; i++) {
            dir = vane_asprintf("%s/%s", exe, kinds[i]);
            add_dir(list, dir, false);
            vane_free(dir);
        }
    }
    for (size_t i = 0; i < 2; i++) {
        dir = vane_asprintf("%s/%s", VANE_PKGLIBDIR, kinds[i]);
        add_dir(list, dir, false);
        vane_free(dir);
    }
}

static char *resolve_dirs(const char *configured)
{
    struct vane_buf list = VANE_BUF_INIT;

    if (configured != NULL && *configured != '\0')
        add_configured_dirs(&list, configured);
    else
        add_default_dirs(&list);
    vane_buf_append(&list, "", 0); /* "" rather than NULL when none exists */
    return vane_buf_detach(&list);
}

/* Deletes the copies a previous run left behind. */
static int prepare_cache(const char *cache_dir)
{
    struct dirent *d;
    DIR *dir;
    int err;

    if ((err = vane_fs_mkdir_p(cache_dir, 0700)) != 0)
        return err;
    if ((dir = opendir(cache_dir)) == NULL)
        return -errno;
    while ((d = readdir(dir)) != NULL) {
        size_t len = strlen(d->d_name);

        if (len > 3 && strcmp(d->d_name + len - 3, ".so") == 0)
            unlinkat(dirfd(dir), d->d_name, 0);
    }
    closedir(dir);
    return 0;
}

/* ---- finding a module's shared object ------------------------------------------------ */

/* The value of KEY='value' in a libtool .la file, or NULL. */
static char *la_value(const char *text, const char *key)
{
    size_t key_len = strlen(key);

    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');

        if (strncmp(line, key, key_len) == 0 && line[key_len] == '=') {
            const char *v = line + key_len + 1, *stop = end ? end : v + strlen(v);

            if (*v == '\'' && stop > v + 1 && stop[-1] == '\'')
                return vane_strndup(v + 1, (size_t)(stop - v - 2));
            return vane_strndup(v, (size_t)(stop - v));
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

static char *read_small_file(const char *path)
{
    struct vane_buf text = VANE_BUF_INIT;
    char chunk[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 && text.len < (1u << 20))
        vane_buf_append(&text, chunk, (size_t)n);
    close(fd);
    vane_buf_append(&text, "", 0);
    return vane_buf_detach(&text);
}

static bool is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * The shared object a .la names: for an uninstalled library (the build
 * tree) in .libs/ beside it, else beside it, as libltdl looks.  NULL with
 * *why when the one it names does not exist; NULL alone when it names
 * none (a static or convenience library: no plugin).
 */
static char *object_of_la(const char *la, char **why)
{
    char *text = read_small_file(la), *dlname = NULL, *installed = NULL, *object = NULL;
    char *dir = vane_strdup(la), *slash = strrchr(dir, '/');
    char *tries[2];

    *slash = '\0';
    if (text == NULL || (dlname = la_value(text, "dlname")) == NULL || *dlname == '\0')
        goto done;
    installed = la_value(text, "installed");
    tries[0] = vane_asprintf("%s/.libs/%s", dir, dlname);
    tries[1] = vane_asprintf("%s/%s", dir, dlname);
    if (installed != NULL && strcmp(installed, "yes") == 0) {
        char *first = tries[0];

        tries[0] = tries[1];
        tries[1] = first;
    }
    for (int i = 0; i < 2 && object == NULL; i++)
        if (is_file(tries[i]))
            object = vane_strdup(tries[i]);
    if (object == NULL)
        *why = vane_asprintf("the shared object it names, %s, is neither in %s/.libs nor in %s",
                             dlname, dir, dir);
    vane_free(tries[0]);
    vane_free(tries[1]);
done:
    vane_free(installed);
    vane_free(dlname);
    vane_free(text);
    vane_free(dir);
    return object;
}

static bool same_id(const struct file_id *a, const struct file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int file_id_of(const char *path, struct file_id *id)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return -errno;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
    return 0;
}

/* ---- records ------------------------------------------------------------------------ */

static void record_free(struct record *r)
{
    plugin_release(r->plugin);
    vane_free(r->entry);
    vane_free(r->file);
    vane_free(r->object);
    vane_free(r->refusal);
    vane_free(r);
}

static struct record *take_record(struct plugin_registry *reg, const char *entry)
{
    for (size_t i = 0; i < reg->record_count; i++) {
        struct record *r = reg->records[i];

        if (r != NULL && strcmp(r->entry, entry) == 0) {
            reg->records[i] = NULL;
            return r;
        }
    }
    return NULL;
}

/* Sets the record's refusal, logging it when it is news. */
static void refuse(struct record *r, char *why)
{
    if (r->refusal == NULL || strcmp(r->refusal, why) != 0)
        vane_log_warn(component, "refused %s: %s%s", r->file, why,
                      r->plugin ? "; the version loaded before stays in use" : "");
    vane_free(r->refusal);
    r->refusal = why;
}

/*
 * The record for a listed entry: the one it had, or a new one; the
 * shared object is found again (a .la may name another now).  A record
 * whose .la names nothing usable keeps a refusal; an entry with neither
 * .la nor .so is no plugin: NULL.
 */
static struct record *match_entry(struct plugin_registry *reg, const char *entry)
{
    char *la = vane_asprintf("%s.la", entry), *so = vane_asprintf("%s.so", entry);
    char *object = NULL, *why = NULL, *file = NULL;
    struct record *r = NULL;

    if (is_file(la)) {
        file = la, la = NULL;
        if ((object = object_of_la(file, &why)) == NULL && why == NULL)
            goto done; /* a library, but no module */
    } else if (is_file(so)) {
        file = so, so = NULL;
        object = vane_strdup(file);
    }
    if (file != NULL) {
        if ((r = take_record(reg, entry)) == NULL) {
            r = VANE_NEW(r);
            r->entry = vane_strdup(entry);
        }
        vane_free(r->file);
        r->file = file, file = NULL;
        vane_free(r->object);
        r->object = object, object = NULL;
        if (why != NULL)
            refuse(r, why), why = NULL;
    }
done:
    vane_free(file);
    vane_free(la);
    vane_free(so);
    return r;
}

static const struct record *owner_of(const struct plugin_registry *reg, const char *name,
                                     const struct record *except)
{
    for (size_t i = 0; i < reg->record_count; i++) {
        const struct record *r = reg->records[i];

        if (r != except && r->plugin != NULL && strcmp(r->plugin->name, name) == 0)
            return r;
    }
    return NULL;
}

/* Copies the shared object to a new file of the cache folder; returns its path or NULL (why). */
static char *copy_to_cache(struct plugin_registry *reg, const struct record *r, char **why)
{
    const char *base = strrchr(r->entry, '/') + 1;
    char *copy = vane_asprintf("%s/%s-%u.so", reg->cache_dir, base, ++reg->copies);
    int in = open(r->object, O_RDONLY | O_CLOEXEC), out = -1;
    char chunk[65536];
    ssize_t n = -1;

    if (in >= 0 && (out = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700)) >= 0)
        while ((n = read(in, chunk, sizeof(chunk))) > 0)
            if (write(out, chunk, (size_t)n) != n) {
                n = -1;
                break;
            }
    if (n != 0)
        *why = vane_asprintf("cannot copy it to %s: %s", in < 0 ? r->object : copy,
                             strerror(errno ? errno : EIO));
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && n == 0) {
        *why = vane_asprintf("cannot copy it to %s: %s", copy, strerror(errno));
        n = -1;
    }
    if (n != 0) {
        unlink(copy);
        vane_free(copy);
        return NULL;
    }
    return copy;
}

static void log_loaded(const struct record *r, const struct plugin *old)
{
    const struct plugin *p = r->plugin;

    if (old != NULL)
        vane_log_info(component, "%s plugin %s %s replaced version %s from %s",
                      plugin_kind_name(p->kind), p->name, p->version, old->version, r->file);
    else
        vane_log_info(component, "%s plugin %s %s loaded from %s", plugin_kind_name(p->kind),
                      p->name, p->version, r->file);
}

/* Loads the record's shared object when it changed; refuses it with the reason if it must. */
static void try_load(struct plugin_registry *reg, struct record *r)
{
    struct plugin *p = NULL, *old;
    const struct record *owner;
    struct file_id id;
    char *copy, *why = NULL;

    if (r->object == NULL || file_id_of(r->object, &id) != 0)
        return;
    if (r->tried && same_id(&id, &r->id) && !r->retry)
        return;
    r->tried = true;
    r->retry = false;
    r->id = id;
    if ((copy = copy_to_cache(reg, r, &why)) == NULL) {
        refuse(r, why);
        return;
    }
    if (plugin_load(copy, r->file, true, &p, &why) == 0 &&
        (owner = owner_of(reg, p->name, r)) != NULL) {
        why = vane_asprintf("duplicate name \"%s\": the plugin loaded from %s has it", p->name,
                            owner->file);
        plugin_release(p);
        r->retry = true;
    }
    vane_free(copy);
    if (why != NULL) {
        refuse(r, why);
        return;
    }
    old = r->plugin;
    r->plugin = p;
    vane_free(r->refusal);
    r->refusal = NULL;
    log_loaded(r, old);
    plugin_release(old); /* users of the old version keep theirs */
    reg->changed = true;
}

/* ---- scanning ------------------------------------------------------------------------ */

struct listing {
    char **entries;
    size_t count, cap;
};

static int list_entry(const char *entry, void *arg)
{
    struct listing *l = arg;

    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->entries[i], entry) == 0)
            return 0;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->entries = vane_realloc(l->entries, l->cap * sizeof(*l->entries));
    }
    l->entries[l->count++] = vane_strdup(entry);
    return 0;
}

/* Step 2: the new list in listing order; records not listed are forgotten. */
static void match_all(struct plugin_registry *reg, const struct listing *l)
{
    struct record **next = vane_calloc(l->count + 1, sizeof(*next));
    size_t count = 0;

    for (size_t i = 0; i < l->count; i++) {
        struct record *r = match_entry(reg, l->entries[i]);

        if (r != NULL)
            next[count++] = r;
    }
    for (size_t i = 0; i < reg->record_count; i++) {
        struct record *r = reg->records[i];

        if (r == NULL)
            continue;
        if (r->plugin != NULL) {
            vane_log_info(component, "plugin %s forgotten: %s is gone (instances running "
                          "keep it)", r->plugin->name, r->file);
            reg->changed = true;
        }
        record_free(r);
    }
    vane_free(reg->records);
    reg->records = next;
    reg->record_count = count;
}

static void scan(struct plugin_registry *reg)
{
    struct listing l = {NULL, 0, 0};

    reg->changed = false;
    if (*reg->dirs != '\0')
        lt_dlforeachfile(reg->dirs, list_entry, &l);
    match_all(reg, &l);
    for (size_t i = 0; i < reg->record_count; i++)
        try_load(reg, reg->records[i]);
    for (size_t i = 0; i < l.count; i++)
        vane_free(l.entries[i]);
    vane_free(l.entries);
    if (reg->changed && reg->on_change != NULL)
        reg->on_change(reg->on_change_arg);
}

/* ---- watching ----------------------------------------------------------------------- */

static void on_quiet(uv_timer_t *timer)
{
    scan(timer->data);
}

static void on_folder_event(uv_fs_event_t *handle, const char *filename, int events, int status)
{
    struct watch *w = handle->data;

    (void)filename, (void)events, (void)status;
    uv_timer_start(&w->registry->debounce, on_quiet, PLUGIN_REGISTRY_DEBOUNCE_MS, 0);
}

static void watch_dirs(struct plugin_registry *reg)
{
    char *copy = vane_strdup(reg->dirs), *save = NULL;
    int err;

    for (char *dir = strtok_r(copy, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
        struct watch *w = VANE_NEW(w);

        w->registry = reg;
        uv_fs_event_init(reg->loop, &w->handle);
        w->handle.data = w;
        if ((err = uv_fs_event_start(&w->handle, on_folder_event, dir, 0)) != 0)
            vane_log_warn(component, "cannot watch %s (%s): plugins dropped there are seen at "
                          "the next start", dir, uv_strerror(err));
        reg->watches = vane_realloc(reg->watches, (reg->watch_count + 1) * sizeof(*reg->watches));
        reg->watches[reg->watch_count++] = w;
    }
    vane_free(copy);
}

int plugin_registry_start(struct plugin_registry **out, uv_loop_t *loop,
                          const struct plugin_registry_options *options)
{
    struct plugin_registry *reg;
    int err;

    *out = NULL;
    if ((err = prepare_cache(options->cache_dir)) != 0) {
        vane_log_error(component, "cannot use %s for copies of plugins: %s", options->cache_dir,
                       vane_strerror(err));
        return err;
    }
    reg = VANE_NEW(reg);
    reg->loop = loop;
    reg->cache_dir = vane_strdup(options->cache_dir);
    reg->dirs = resolve_dirs(options->dirs);
    lt_dlinit();
    uv_timer_init(loop, &reg->debounce);
    reg->debounce.data = reg;
    scan(reg);
    watch_dirs(reg);
    vane_log_info(component, "%zu plugins loaded, %zu refused, from %s", plugin_registry_count(reg),
                  plugin_registry_refusal_count(reg), *reg->dirs ? reg->dirs : "no folder");
    *out = reg;
    return 0;
}

static void on_handle_closed(uv_handle_t *handle)
{
    struct plugin_registry *reg = handle->data;

    if (handle->type == UV_FS_EVENT) {
        struct watch *w = handle->data;

        reg = w->registry;
        vane_free(w);
    }
    if (--reg->open_handles > 0)
        return;
    vane_free(reg->watches);
    vane_free(reg->dirs);
    vane_free(reg->cache_dir);
    vane_free(reg);
    lt_dlexit();
}

void plugin_registry_close(struct plugin_registry *reg)
{
    if (reg == NULL)
        return;
    for (size_t i = 0; i < reg->record_count; i++)
        record_free(reg->records[i]);
    vane_free(reg->records);
    reg->records = NULL;
    reg->record_count = 0;
    reg->on_change = NULL;
    reg->open_handles = 1 + (int)reg->watch_count;
    uv_close((uv_handle_t *)&reg->debounce, on_handle_closed);
    for (size_t i = 0; i < reg->watch_count; i++)
        uv_close((uv_handle_t *)&reg->watches[i]->handle, on_handle_closed);
}

void plugin_registry_rescan(struct plugin_registry *reg)
{
    scan(reg);
}

void plugin_registry_on_change(struct plugin_registry *reg, void (*changed)(void *arg),
                               void *arg)
{
    reg->on_change = changed;
    reg->on_change_arg = arg;
}

/* ---- lookups ------------------------------------------------------------------------- */

struct plugin *plugin_acquire(struct plugin_registry *reg, const char *name)
{
    const struct plugin *p = plugin_registry_find(reg, name);

    return p != NULL ? plugin_ref((struct plugin *)p) : NULL;
}

size_t plugin_registry_count(const struct plugin_registry *reg)
{
    size_t n = 0;

    for (size_t i = 0; i < reg->record_count; i++)
        n += reg->records[i]->plugin != NULL;
    return n;
}

const struct plugin *plugin_registry_at(const struct plugin_registry *reg, size_t index)
{
    for (size_t i = 0; i < reg->record_count; i++)
        if (reg->records[i]->plugin != NULL && index-- == 0)
            return reg->records[i]->plugin;
    return NULL;
}

const struct plugin *plugin_registry_find(const struct plugin_registry *reg, const char *name)
{
    const struct record *r = name != NULL ? owner_of(reg, name, NULL) : NULL;

    return r != NULL ? r->plugin : NULL;
}

size_t plugin_registry_refusal_count(const struct plugin_registry *reg)
{
    size_t n = 0;

    for (size_t i = 0; i < reg->record_count; i++)
        n += reg->records[i]->refusal != NULL;
    return n;
}

struct plugin_refusal plugin_registry_refusal_at(const struct plugin_registry *reg, size_t index)
{
    for (size_t i = 0; i < reg->record_count; i++)
        if (reg->records[i]->refusal != NULL && index-- == 0)
            return (struct plugin_refusal){reg->records[i]->file, reg->records[i]->refusal};
    return (struct plugin_refusal){NULL, NULL};
}

const char *plugin_registry_dirs(const struct plugin_registry *reg)
{
    return reg->dirs;
}
