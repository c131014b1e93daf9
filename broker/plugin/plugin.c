/*
 * plugin.c -- opening a plugin's shared object and checking its descriptor
 * (see plugin.h).
 *
 * The checks run in the order of the descriptor's fields, so the first
 * thing wrong is the one reported, and nothing beyond struct_size is read
 * before struct_size has been checked: a plugin built against an older or
 * broken header must not make the broker read past its descriptor.
 *
 * Each loaded object holds one libltdl initialization (lt_dlinit is
 * counted), so objects may outlive the registry that loaded them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dlfcn.h>
#include <ltdl.h>

#include "core/alloc.h"
#include "plugin/plugin.h"
#include "plugin/plugin_options.h"

#define NAME_MAX_LEN 63

/* sizeof(struct vane_plugin) as each ABI minor defined it; index: the minor. */
static const size_t descriptor_size[] = {
    sizeof(struct vane_plugin), /* 1.0 */
};

#define KNOWN_MINORS (sizeof(descriptor_size) / sizeof(descriptor_size[0]))

_Static_assert(KNOWN_MINORS == VANE_ABI_MINOR + 1, "a size for every ABI minor");

const char *plugin_kind_name(int kind)
{
    switch (kind) {
    case VANE_PLUGIN_SOURCE: return "source";
    case VANE_PLUGIN_SINK: return "sink";
    case VANE_PLUGIN_FILTER: return "filter";
    case VANE_PLUGIN_TRANSFORM: return "transform";
    default: return "?";
    }
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int refuse(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(char **why, const char *fmt, ...)
{
    va_list ap;
    char text[512];

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    *why = vane_strdup(text);
    return -EINVAL;
}

/* Magic, ABI major and the size the claimed minor needs. */
static int check_header(const struct vane_plugin *d, char **why)
{
    size_t minor, need;

    if (d->magic != VANE_PLUGIN_MAGIC)
        return refuse(why, "wrong magic 0x%08x, expected 0x%08x (not a Vane plugin descriptor)",
                      d->magic, VANE_PLUGIN_MAGIC);
    if (d->abi_major != VANE_ABI_MAJOR)
        return refuse(why, "built for plugin ABI %u.%u; this broker speaks ABI %d.%d "
                      "(rebuild it against this broker's vane/plugin.h)",
                      d->abi_major, d->abi_minor, VANE_ABI_MAJOR, VANE_ABI_MINOR);
    /* A newer minor than ours is fine: we read only what ours has. */
    minor = d->abi_minor < KNOWN_MINORS ? d->abi_minor : KNOWN_MINORS - 1;
    need = descriptor_size[minor];
    if (d->struct_size < need)
        return refuse(why, "struct_size %u is smaller than the %zu bytes a version %u.%zu "
                      "descriptor has", d->struct_size, need, d->abi_major, minor);
    return 0;
}

static int name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;

    if (len == 0 || len > NAME_MAX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_' || name[i] == '-'))
            return 0;
    return 1;
}

/* The callback a kind cannot do without, NULL when it is there. */
static const char *missing_callback(const struct vane_plugin *d)
{
    if (d->init == NULL)
        return "an init callback";
    switch (d->kind) {
    case VANE_PLUGIN_FILTER: return d->filter == NULL ? "a filter callback" : NULL;
    case VANE_PLUGIN_TRANSFORM: return d->transform == NULL ? "a transform callback" : NULL;
    case VANE_PLUGIN_SINK: return d->deliver == NULL ? "a deliver callback" : NULL;
    case VANE_PLUGIN_SOURCE:
        return d->start == NULL && d->http == NULL ? "a start or an http callback" : NULL;
    }
    return NULL;
}

/* Everything after the header: name, kind, callbacks, options. */
static int check_body(const struct vane_plugin *d, size_t *option_count, char **why)
{
    const char *missing;
    char *table_why = NULL;
    int err;

    if (!name_valid(d->name))
        return refuse(why, "name \"%.64s\": expected 1 to %d of a-z, 0-9, '_' and '-'",
                      d->name ? d->name : "", NAME_MAX_LEN);
    if (d->kind < VANE_PLUGIN_SOURCE || d->kind > VANE_PLUGIN_TRANSFORM)
        return refuse(why, "plugin %s: kind %d: expected source (1), sink (2), filter (3) or "
                      "transform (4)", d->name, d->kind);
    if ((missing = missing_callback(d)) != NULL)
        return refuse(why, "plugin %s: a %s plugin needs %s, and it is NULL", d->name,
                      plugin_kind_name(d->kind), missing);
    if ((err = plugin_options_check_table(d->options, option_count, &table_why)) != 0) {
        refuse(why, "plugin %s: options table: %s", d->name, table_why);
        vane_free(table_why);
    }
    return err;
}

/*
 * Why path does not load.  libltdl, having tried its variants of the name,
 * says only "file not found"; dlopen() itself says what is wrong ("invalid
 * ELF header", "undefined symbol: ...").  Its message starts with the path,
 * which is the private copy's: that part is left out.
 */
static const char *load_error(const char *path)
{
    void *again = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    const char *error = again == NULL ? dlerror() : NULL;
    size_t len = strlen(path);

    if (again != NULL) { /* it loads after all: libltdl's reason is the only one */
        dlclose(again);
        error = lt_dlerror();
        return error != NULL ? error : "unknown error";
    }
    if (error == NULL)
        return "unknown error";
    if (strncmp(error, path, len) == 0 && strncmp(error + len, ": ", 2) == 0)
        error += len + 2;
    return error;
}

static int open_object(const char *path, lt_dlhandle *handle, const struct vane_plugin **desc,
                       char **why)
{
    lt_dladvise advise;

    *handle = NULL;
    if (lt_dladvise_init(&advise) == 0) {
        lt_dladvise_local(&advise);
        *handle = lt_dlopenadvise(path, advise);
        lt_dladvise_destroy(&advise);
    }
    if (*handle == NULL)
        return refuse(why, "cannot load it: %s", load_error(path));
    *desc = lt_dlsym(*handle, VANE_PLUGIN_SYMBOL);
    if (*desc == NULL)
        return refuse(why, "no \"" VANE_PLUGIN_SYMBOL "\" symbol: not a Vane plugin, or one "
                      "that does not use VANE_PLUGIN_DECLARE");
    return 0;
}

static void fill(struct plugin *p, const struct vane_plugin *d, size_t option_count)
{
    p->desc = d;
    p->name = d->name;
    p->version = d->version ? d->version : "";
    p->description = d->description ? d->description : "";
    p->kind = d->kind;
    p->options = d->options;
    p->option_count = option_count;
    p->loaded_at = now_ns();
    p->refs = 1;
}

int plugin_load(const char *path, const char *file, bool owns_file, struct plugin **out,
                char **why)
{
    const struct vane_plugin *desc = NULL;
    lt_dlhandle handle = NULL;
    size_t option_count = 0;
    struct plugin *p;
    int err;

    *out = NULL;
    *why = NULL;
    lt_dlinit();
    if ((err = open_object(path, &handle, &desc, why)) != 0 ||
        (err = check_header(desc, why)) != 0 || (err = check_body(desc, &option_count, why)) != 0)
        goto fail;
    p = VANE_NEW(p);
    fill(p, desc, option_count);
    p->file = vane_strdup(file ? file : path);
    p->loaded_path = vane_strdup(path);
    p->owns_file = owns_file;
    p->handle = handle;
    *out = p;
    return 0;

fail:
    if (handle != NULL)
        lt_dlclose(handle);
    lt_dlexit();
    if (owns_file)
        unlink(path);
    return err;
}

struct plugin *plugin_ref(struct plugin *p)
{
    p->refs++;
    return p;
}

void plugin_release(struct plugin *p)
{
    if (p == NULL || --p->refs > 0)
        return;
    lt_dlclose((lt_dlhandle)p->handle);
    lt_dlexit();
    if (p->owns_file)
        unlink(p->loaded_path);
    vane_free(p->file);
    vane_free(p->loaded_path);
    vane_free(p);
}
