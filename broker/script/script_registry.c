/*
 * script_registry.c -- finding, loading, watching and listing scripts (see
 * script_registry.h; script_internal.h for the entries).
 *
 * A scan walks the folders in order and, for each NAME.lua, finds or makes
 * the entry NAME; the first folder that has a name wins, a later one is
 * skipped.  A file is loaded when its entry is new, its stamp (device,
 * inode, size, mtime) differs from the last file tried, its path changed, or
 * a watch event named it: file times are only as fine as the kernel's
 * clock tick, so an edit that keeps the size within one tick has the same
 * stamp, but its event still names it.  Entries whose file was not seen
 * are removed (freed now, or when their last handle closes).
 *
 * Loading a file: read it, make a sandbox, run the file in it, look up
 * filter and transform (raw, in a protected call) and keep references to
 * them in the state's registry.  Success replaces the version running;
 * failure keeps it and records why.
 *
 * The watchers and the debounce timer are uv handles embedded in the
 * registry; closing counts them down and frees the registry in the last
 * close callback.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "event/timestamp.h"
#include "script/script_internal.h"

static const char component[] = "script";

#define SUFFIX ".lua"
#define SUFFIX_LEN 4
#define DEFAULT_DIR "filters-lua"

struct script_dir {
    struct script_registry *registry;
    char *path;
    uv_fs_event_t watch;
    bool watching;
};

struct script_registry {
    uv_loop_t *loop;
    struct script_limits limits;
    uint64_t debounce_ms;
    struct script_dir *dirs;
    const char **dir_paths; /* the same paths, for script_registry_dirs() */
    size_t ndirs;
    uv_timer_t debounce;
    struct script_entry *entries;
    char **dirty; /* names the watchers reported since the last scan */
    size_t ndirty, dirty_cap;
    unsigned open_handles; /* uv handles still to close */
};

void script_options_default(struct script_options *options)
{
    options->dirs = NULL;
    options->limits.budget = SCRIPT_BUDGET_DEFAULT;
    options->limits.memory = SCRIPT_MEMORY_DEFAULT;
    options->debounce_ms = SCRIPT_DEBOUNCE_MS;
}

void script_options_from_config(struct script_options *options, const struct config *cfg)
{
    script_options_default(options);
    options->dirs = cfg->scripts_dirs;
    options->limits.budget = cfg->scripts_budget;
    options->limits.memory = cfg->scripts_memory;
}

/* ---- folders ------------------------------------------------------------------ */

static bool is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Adds path (made absolute) unless it is already there; returns whether it was added. */
static bool add_dir(struct script_registry *reg, size_t cap, const char *path)
{
    char *real = realpath(path, NULL);

    if (real == NULL)
        return false;
    for (size_t i = 0; i < reg->ndirs; i++) {
        if (strcmp(reg->dirs[i].path, real) == 0) {
            free(real);
            return false;
        }
    }
    if (reg->ndirs < cap) {
        reg->dirs[reg->ndirs].registry = reg;
        reg->dirs[reg->ndirs++].path = vane_strdup(real);
    }
    free(real);
    return true;
}

static size_t count_fields(const char *list)
{
    size_t n = 1;

    for (const char *p = list; *p != '\0'; p++)
        n += *p == ':';
    return n;
}

static void add_configured_dirs(struct script_registry *reg, const char *list, size_t cap)
{
    char *copy = vane_strdup(list), *save = NULL;

    for (char *dir = strtok_r(copy, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
        if (!is_dir(dir))
            vane_log_warn(component, "scripts.dirs: %s is not a folder (or does not exist); "
                                     "skipped", dir);
        else
            add_dir(reg, cap, dir);
    }
    vane_free(copy);
}

/* ./filters-lua, <exe folder>/../filters-lua, <pkgdatadir>/filters-lua: those that exist. */
static void add_default_dirs(struct script_registry *reg, size_t cap)
{
    char exe[PATH_MAX];
    size_t size = sizeof(exe);
    char *slash, *path;

    if (is_dir(DEFAULT_DIR))
        add_dir(reg, cap, DEFAULT_DIR);
    if (uv_exepath(exe, &size) == 0 && (slash = strrchr(exe, '/')) != NULL) {
        *slash = '\0';
        path = vane_asprintf("%s/../%s", exe, DEFAULT_DIR);
        if (is_dir(path))
            add_dir(reg, cap, path);
        vane_free(path);
    }
#ifdef VANE_PKGDATADIR
    if (is_dir(VANE_PKGDATADIR "/" DEFAULT_DIR))
        add_dir(reg, cap, VANE_PKGDATADIR "/" DEFAULT_DIR);
#endif
}

static void find_dirs(struct script_registry *reg, const char *configured)
{
    size_t cap = configured != NULL && *configured != '\0' ? count_fields(configured) : 3;

    reg->dirs = vane_calloc(cap, sizeof(*reg->dirs));
    if (configured != NULL && *configured != '\0')
        add_configured_dirs(reg, configured, cap);
    else
        add_default_dirs(reg, cap);
    reg->dir_paths = vane_calloc(reg->ndirs + 1, sizeof(*reg->dir_paths));
    for (size_t i = 0; i < reg->ndirs; i++)
        reg->dir_paths[i] = reg->dirs[i].path;
}

const char *const *script_registry_dirs(const struct script_registry *registry, size_t *count)
{
    *count = registry->ndirs;
    return registry->dir_paths;
}

void script_registry_dirs_text(const struct script_registry *registry, char *out, size_t size)
{
    size_t used = 0;

    snprintf(out, size, "no folder");
    for (size_t i = 0; i < registry->ndirs && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "",
                                 registry->dirs[i].path);
}

/* ---- versions -------------------------------------------------------------------- */

static void version_free(struct script_version *v)
{
    if (v == NULL)
        return;
    script_sandbox_close(&v->sandbox);
    vane_free(v);
}

/* A reference to the global called name if it is a function, else LUA_NOREF (or an error). */
static int function_ref(lua_State *L, const char *name)
{
    lua_pushstring(L, name);
    switch (lua_rawget(L, -2)) {
    case LUA_TFUNCTION: return luaL_ref(L, LUA_REGISTRYINDEX);
    case LUA_TNIL: lua_pop(L, 1); return LUA_NOREF;
    default:
        return luaL_error(L, "%s is a %s; expected a function %s(event)", name,
                          luaL_typename(L, -1), name);
    }
}

static int find_functions(lua_State *L)
{
    struct script_version *v = lua_touserdata(L, 1);

    lua_pushglobaltable(L);
    v->filter_ref = function_ref(L, "filter");
    v->transform_ref = function_ref(L, "transform");
    if (v->filter_ref == LUA_NOREF && v->transform_ref == LUA_NOREF)
        return luaL_error(L, "defines neither filter(event) nor transform(event)");
    return 0;
}

/* Reads the whole file at fd (at most SCRIPT_FILE_MAX bytes) into text. */
static int read_text(int fd, off_t size, struct vane_buf *text)
{
    ssize_t n;

    if (size > SCRIPT_FILE_MAX)
        return -EFBIG;
    vane_buf_reserve(text, (size_t)size + 1);
    while ((n = read(fd, text->data + text->len, text->cap - text->len - 1)) > 0) {
        text->len += (size_t)n;
        if (text->len + 1 >= text->cap)
            vane_buf_reserve(text, text->cap);
        if (text->len > SCRIPT_FILE_MAX)
            return -EFBIG;
    }
    return n < 0 ? -errno : 0;
}

static void stamp_of(const struct stat *st, struct script_stamp *stamp)
{
    stamp->dev = st->st_dev;
    stamp->ino = st->st_ino;
    stamp->size = st->st_size;
    stamp->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Makes a version from the file's text; NULL with err on failure. */
static struct script_version *version_load(struct script_registry *reg, const char *display,
                                           const struct vane_buf *text, char *err,
                                           size_t errlen)
{
    struct script_version *v = VANE_NEW(v);

    v->filter_ref = v->transform_ref = LUA_NOREF;
    if (script_sandbox_open(&v->sandbox, display, &reg->limits, err, errlen) != 0 ||
        script_sandbox_run_chunk(&v->sandbox, text->data, text->len, err, errlen) != 0 ||
        script_sandbox_call(&v->sandbox, find_functions, v, err, errlen) != 0) {
        version_free(v);
        return NULL;
    }
    v->loaded_at = timestamp_now();
    return v;
}

static const char *functions_text(const struct script_version *v)
{
    if (v->filter_ref != LUA_NOREF && v->transform_ref != LUA_NOREF)
        return "filter and transform";
    return v->filter_ref != LUA_NOREF ? "filter" : "transform";
}

static void loaded(struct script_entry *e, struct script_version *v)
{
    vane_log_info(component, "%s %s: %s from %s", e->current ? "reloaded" : "loaded", e->name,
                  functions_text(v), e->path);
    version_free(e->current);
    e->current = v;
    vane_free(e->load_error);
    e->load_error = NULL;
}

static void load_failed(struct script_entry *e, const char *why)
{
    vane_log_warn(component, "%s did not load: %s; %s", e->path, why,
                  e->current ? "the previous version keeps running" : "the script is unusable");
    vane_free(e->load_error);
    e->load_error = vane_strdup(why);
}

/* Loads e->path as e's new version, or records why it did not load. */
static void entry_load(struct script_registry *reg, struct script_entry *e)
{
    struct vane_buf text = VANE_BUF_INIT;
    struct script_version *v = NULL;
    char err[SCRIPT_ERROR_MAX], display[256];
    struct stat st;
    int fd, rc;

    snprintf(display, sizeof(display), "%s" SUFFIX, e->name);
    if ((fd = open(e->path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        rc = -errno;
    } else {
        stamp_of(&st, &e->stamp);
        rc = read_text(fd, st.st_size, &text);
    }
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        snprintf(err, sizeof(err), "%s: cannot read it: %s", display,
                 rc == -EFBIG ? "larger than 4 MiB" : vane_strerror(rc));
    else
        v = version_load(reg, display, &text, err, sizeof(err));
    if (v != NULL)
        loaded(e, v);
    else
        load_failed(e, err);
    vane_buf_free(&text);
}

/* ---- entries ---------------------------------------------------------------------- */

static void entry_free(struct script_entry *e)
{
    version_free(e->current);
    vane_free(e->name);
    vane_free(e->path);
    vane_free(e->load_error);
    vane_free(e->last_error);
    vane_free(e);
}

static struct script_entry *find_any(struct script_registry *reg, const char *name)
{
    for (struct script_entry *e = reg->entries; e != NULL; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

struct script_entry *script_registry_find(struct script_registry *registry, const char *name)
{
    struct script_entry *e = find_any(registry, name);

    return e != NULL && !e->removed ? e : NULL;
}

static void unlink_entry(struct script_registry *reg, struct script_entry *gone)
{
    for (struct script_entry **p = &reg->entries; *p != NULL; p = &(*p)->next) {
        if (*p == gone) {
            *p = gone->next;
            return;
        }
    }
}

void script_registry_release(struct script_entry *entry)
{
    if (--entry->handles == 0 && entry->removed) {
        unlink_entry(entry->registry, entry);
        entry_free(entry);
    }
}

static bool take_dirty(struct script_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->ndirty; i++) {
        if (reg->dirty[i] != NULL && strcmp(reg->dirty[i], name) == 0) {
            vane_free(reg->dirty[i]);
            reg->dirty[i] = NULL;
            return true;
        }
    }
    return false;
}

/* The file dir/NAME.lua was found: loads it if it is new or changed. */
static void found_file(struct script_registry *reg, const char *dir, const char *name,
                       const struct stat *st)
{
    struct script_entry *e = find_any(reg, name);
    char *path = vane_asprintf("%s/%s" SUFFIX, dir, name);
    struct script_stamp stamp;
    bool changed = take_dirty(reg, name);

    if (e == NULL) {
        e = VANE_NEW(e);
        e->registry = reg;
        e->name = vane_strdup(name);
        e->next = reg->entries;
        reg->entries = e;
        changed = true;
    } else if (e->seen) {
        vane_log_debug(component, "%s: skipped; %s is the script %s", path, e->path, name);
        vane_free(path);
        return;
    }
    e->seen = true;
    stamp_of(st, &stamp);
    if (e->removed || e->path == NULL || strcmp(e->path, path) != 0 ||
        memcmp(&stamp, &e->stamp, sizeof(stamp)) != 0)
        changed = true;
    e->removed = false;
    vane_free(e->path);
    e->path = path;
    if (changed)
        entry_load(reg, e);
}

/* NAME.lua, not hidden (editors' lock files start with a dot), NAME not empty. */
static bool script_file_name(const char *file, char *name, size_t size)
{
    size_t len = strlen(file);

    if (file[0] == '.' || len <= SUFFIX_LEN || len - SUFFIX_LEN >= size ||
        strcmp(file + len - SUFFIX_LEN, SUFFIX) != 0)
        return false;
    memcpy(name, file, len - SUFFIX_LEN);
    name[len - SUFFIX_LEN] = '\0';
    return true;
}

static void scan_dir(struct script_registry *reg, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char name[NAME_MAX + 1];

    if (d == NULL) {
        vane_log_warn(component, "cannot read the folder %s: %s", dir, strerror(errno));
        return;
    }
    while ((ent = readdir(d)) != NULL) {
        struct stat st;
        char *path;

        if (!script_file_name(ent->d_name, name, sizeof(name)))
            continue;
        path = vane_asprintf("%s/%s", dir, ent->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            found_file(reg, dir, name, &st);
        vane_free(path);
    }
    closedir(d);
}

/* Entries whose file is gone leave the list; freed unless a handle holds them. */
static void sweep(struct script_registry *reg)
{
    struct script_entry **p = &reg->entries;

    while (*p != NULL) {
        struct script_entry *e = *p;

        if (e->seen || e->removed) {
            p = &e->next;
            continue;
        }
        vane_log_info(component, "removed %s: %s is gone%s", e->name, e->path,
                      e->handles ? "; subscriptions using it keep its last version" : "");
        e->removed = true;
        if (e->handles > 0) {
            p = &e->next;
            continue;
        }
        *p = e->next;
        entry_free(e);
    }
}

static void clear_dirty(struct script_registry *reg)
{
    for (size_t i = 0; i < reg->ndirty; i++)
        vane_free(reg->dirty[i]);
    reg->ndirty = 0;
}

void script_registry_rescan(struct script_registry *registry)
{
    for (struct script_entry *e = registry->entries; e != NULL; e = e->next)
        e->seen = false;
    for (size_t i = 0; i < registry->ndirs; i++)
        scan_dir(registry, registry->dirs[i].path);
    sweep(registry);
    clear_dirty(registry);
}

/* ---- watching ----------------------------------------------------------------------- */

static void on_debounced(uv_timer_t *timer)
{
    script_registry_rescan(timer->data);
}

static void note_dirty(struct script_registry *reg, const char *file)
{
    char name[NAME_MAX + 1];

    if (file == NULL || !script_file_name(file, name, sizeof(name)))
        return;
    for (size_t i = 0; i < reg->ndirty; i++)
        if (strcmp(reg->dirty[i], name) == 0)
            return;
    if (reg->ndirty == reg->dirty_cap) {
        reg->dirty_cap = reg->dirty_cap ? reg->dirty_cap * 2 : 8;
        reg->dirty = vane_realloc(reg->dirty, reg->dirty_cap * sizeof(*reg->dirty));
    }
    reg->dirty[reg->ndirty++] = vane_strdup(name);
}

static void on_change(uv_fs_event_t *watch, const char *file, int events, int status)
{
    struct script_dir *dir = watch->data;
    struct script_registry *reg = dir->registry;

    (void)events;
    if (status != 0) {
        vane_log_warn(component, "watching %s failed: %s", dir->path, uv_strerror(status));
        return;
    }
    note_dirty(reg, file);
    uv_timer_start(&reg->debounce, on_debounced, reg->debounce_ms, 0);
}

static void watch_dir(struct script_registry *reg, struct script_dir *dir)
{
    int err;

    uv_fs_event_init(reg->loop, &dir->watch);
    dir->watch.data = dir;
    dir->watching = true;
    reg->open_handles++;
    if ((err = uv_fs_event_start(&dir->watch, on_change, dir->path, 0)) != 0)
        vane_log_warn(component, "cannot watch %s (%s): its scripts reload only at a restart",
                      dir->path, uv_strerror(err));
}

int script_registry_start(struct script_registry **out, uv_loop_t *loop,
                          const struct script_options *options)
{
    struct script_registry *reg = VANE_NEW(reg);
    char dirs[1024];
    int err;

    reg->loop = loop;
    reg->limits = options->limits;
    reg->debounce_ms = options->debounce_ms;
    if ((err = uv_timer_init(loop, &reg->debounce)) != 0) {
        vane_free(reg);
        return err;
    }
    reg->debounce.data = reg;
    reg->open_handles = 1;
    find_dirs(reg, options->dirs);
    for (size_t i = 0; i < reg->ndirs; i++)
        watch_dir(reg, &reg->dirs[i]);
    script_registry_rescan(reg);
    script_registry_dirs_text(reg, dirs, sizeof(dirs));
    vane_log_info(component, "%zu scripts running, from %s", script_registry_running(reg), dirs);
    *out = reg;
    return 0;
}

/* ---- listing ------------------------------------------------------------------------- */

size_t script_registry_running(const struct script_registry *registry)
{
    size_t n = 0;

    for (const struct script_entry *e = registry->entries; e != NULL; e = e->next)
        n += !e->removed && e->current != NULL;
    return n;
}

static int compare_infos(const void *a, const void *b)
{
    return strcmp(((const struct script_info *)a)->name, ((const struct script_info *)b)->name);
}

static void fill_info(const struct script_entry *e, struct script_info *info)
{
    memset(info, 0, sizeof(*info));
    info->name = e->name;
    info->file = e->path;
    if (e->current != NULL) {
        info->has_filter = e->current->filter_ref != LUA_NOREF;
        info->has_transform = e->current->transform_ref != LUA_NOREF;
        info->loaded_at = e->current->loaded_at;
    }
    info->calls = e->calls;
    info->errors = e->errors;
    info->last_error = e->last_error;
    info->load_error = e->load_error;
}

size_t script_registry_list(struct script_registry *registry, struct script_info **infos)
{
    size_t n = 0;

    for (const struct script_entry *e = registry->entries; e != NULL; e = e->next)
        n += !e->removed;
    *infos = vane_calloc(n ? n : 1, sizeof(**infos));
    n = 0;
    for (const struct script_entry *e = registry->entries; e != NULL; e = e->next)
        if (!e->removed)
            fill_info(e, &(*infos)[n++]);
    qsort(*infos, n, sizeof(**infos), compare_infos);
    return n;
}

/* ---- closing ------------------------------------------------------------------------- */

static void registry_free(struct script_registry *reg)
{
    while (reg->entries != NULL) {
        struct script_entry *e = reg->entries;

        reg->entries = e->next;
        if (e->handles > 0)
            vane_log_warn(component, "%s: closed with %u handles still open", e->name,
                          e->handles);
        entry_free(e);
    }
    clear_dirty(reg);
    vane_free(reg->dirty);
    for (size_t i = 0; i < reg->ndirs; i++)
        vane_free(reg->dirs[i].path);
    vane_free(reg->dirs);
    vane_free(reg->dir_paths);
    vane_free(reg);
}

static void on_closed(uv_handle_t *handle)
{
    struct script_registry *reg = handle->type == UV_TIMER
                                      ? handle->data
                                      : ((struct script_dir *)handle->data)->registry;

    if (--reg->open_handles == 0)
        registry_free(reg);
}

void script_registry_close(struct script_registry *registry)
{
    if (registry == NULL)
        return;
    for (size_t i = 0; i < registry->ndirs; i++)
        if (registry->dirs[i].watching)
            uv_close((uv_handle_t *)&registry->dirs[i].watch, on_closed);
    uv_close((uv_handle_t *)&registry->debounce, on_closed);
}
