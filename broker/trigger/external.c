/*
 * external.c -- Lua scripts and plugins as a subscription's filters and
 * transformer (see external.h).
 *
 * One handle type for both kinds: a script handle (script.h) or an
 * in-process plugin instance (plugin_instance.h).  Errors while filtering
 * are not the event's fault to be dead-lettered for: the filter says
 * false, counts the error in the script's or plugin's own figures, and
 * logs it at most once a second per handle, so a broken script cannot
 * flood the log.
 */
#include <errno.h>
#include <string.h>

#include <uv.h>

#include "core/alloc.h"
#include "core/log.h"
#include "plugin/plugin_instance.h"
#include "script/script.h"
#include "trigger/external.h"

static const char component[] = "trigger";

#define ERROR_LOG_INTERVAL_NS 1000000000ull

struct external {
    struct script_handle *script;  /* one of these two */
    struct vane_instance *plugin;
    char *what;                    /* "script NAME" or "plugin NAME", for the log */
    uint64_t last_logged_ns;
    struct script_output output;   /* a script transform's, reused */
};

struct external_transform {
    struct external ext;
};

static void external_free(struct external *e)
{
    script_close(e->script);
    plugin_instance_destroy(e->plugin);
    script_output_free(&e->output);
    vane_free(e->what);
}

/* Names the plugin and its config of a {"plugin": ..., "config": ...} object; 0 or -EINVAL. */
static int plugin_spec(const json_t *value, const json_t *object, const char **name,
                       const json_t **config, char *message, size_t size)
{
    *name = json_string_value(value);
    *config = object ? json_object_get(object, "config") : NULL;
    if (*name == NULL || **name == '\0') {
        snprintf(message, size, "expected the name of a plugin as a string");
        return -EINVAL;
    }
    if (*config != NULL && !json_is_object(*config)) {
        snprintf(message, size, "config: expected an object of the plugin's options");
        return -EINVAL;
    }
    return 0;
}

/* Opens the script or plugin a spec names, for kind's function; 0 or negative with message. */
static int open_one(const struct external_env *env, bool lua, const json_t *value,
                    const json_t *object, bool transform, struct external *out, char *message,
                    size_t size)
{
    const char *name;
    const json_t *config;
    char *errmsg = NULL;
    int kind = transform ? VANE_PLUGIN_TRANSFORM : VANE_PLUGIN_FILTER;
    int rc;

    memset(out, 0, sizeof(*out));
    if (lua) {
        if (env->scripts == NULL || (name = json_string_value(value)) == NULL || *name == '\0') {
            snprintf(message, size, env->scripts ? "expected the name of a Lua script as a string"
                                                 : "Lua scripts are not available here");
            return -EINVAL;
        }
        rc = script_open(env->scripts, name, transform ? SCRIPT_TRANSFORM : SCRIPT_FILTER,
                         &out->script, message, size);
        out->what = vane_asprintf("script %s", name);
        return rc;
    }
    if (env->plugins == NULL) {
        snprintf(message, size, "plugins are not available here");
        return -EINVAL;
    }
    if ((rc = plugin_spec(value, object, &name, &config, message, size)) != 0)
        return rc;
    /* A check starts an instance too (and ends it below): only the plugin's
     * init can tell some bad configs (an option that names a level it lacks). */
    rc = plugin_instance_create(&out->plugin, env->plugins, name, kind,
                                env->subscription ? env->subscription : "(check)", config,
                                env->metrics, &errmsg);
    if (rc != 0)
        snprintf(message, size, "%s", errmsg ? errmsg : "the plugin did not start");
    vane_free(errmsg);
    out->what = vane_asprintf("plugin %s", name);
    return rc;
}

/* Logs a failed call, at most once a second per handle. */
static void log_failure(struct external *e, const char *subscription, const char *err)
{
    uint64_t now = uv_hrtime();

    if (now - e->last_logged_ns < ERROR_LOG_INTERVAL_NS)
        return;
    e->last_logged_ns = now;
    vane_log_warn(component, "%s%s%s failed: %s", subscription ? "subscription " : "",
                  subscription ? subscription : "", e->what, err);
}

/* ---- filters ------------------------------------------------------------------- */

struct external_filter {
    struct external ext;
    char *subscription;
};

static int filter_compile_one(void *arg, const char *dialect, json_t *value, void **handle,
                              char *message, size_t size)
{
    const struct external_env *env = arg;
    struct external_filter *f = VANE_NEW(f);
    int rc;

    *handle = NULL;
    if (strcmp(dialect, "plugin") == 0) /* value is the filter object: name and config */
        rc = open_one(env, false, json_object_get(value, "plugin"), value, false, &f->ext,
                      message, size);
    else
        rc = open_one(env, true, value, NULL, false, &f->ext, message, size);
    if (rc != 0 || env->check_only) {
        external_free(&f->ext);
        vane_free(f);
        return rc;
    }
    f->subscription = vane_strdup(env->subscription ? env->subscription : "");
    *handle = f;
    return 0;
}

static bool filter_match_one(void *handle, const struct event *event)
{
    struct external_filter *f = handle;
    char err[SCRIPT_ERROR_MAX];
    bool keep = false;
    int rc;

    if (f->ext.script != NULL)
        rc = script_filter(f->ext.script, event, &keep, err, sizeof(err));
    else if ((rc = plugin_instance_filter(f->ext.plugin, event, err, sizeof(err))) >= 0) {
        keep = rc == VANE_KEEP;
        rc = 0;
    }
    if (rc != 0)
        log_failure(&f->ext, f->subscription, err);
    return rc == 0 && keep;
}

static void filter_free_one(void *handle)
{
    struct external_filter *f = handle;

    external_free(&f->ext);
    vane_free(f->subscription);
    vane_free(f);
}

const struct filter_externals external_filters = {filter_compile_one, filter_match_one,
                                                  filter_free_one};

/* ---- transforms ----------------------------------------------------------------- */

bool external_transform_is(const json_t *spec)
{
    return json_is_object(spec) &&
           (json_object_get(spec, "lua") != NULL || json_object_get(spec, "plugin") != NULL);
}

int external_transform_open(const struct external_env *env, const json_t *spec,
                            struct external_transform **out, char **errmsg)
{
    bool lua = json_object_get(spec, "lua") != NULL;
    const char *key = lua ? "lua" : "plugin";
    struct external_transform *t = VANE_NEW(t);
    char message[SCRIPT_ERROR_MAX];
    const char *k;
    json_t *v;
    int rc;

    *out = NULL;
    json_object_foreach((json_t *)spec, k, v)
        if (strcmp(k, key) != 0 && (lua || strcmp(k, "config") != 0)) {
            *errmsg = vane_asprintf("transformer.%s: not expected beside \"%s\"%s", k, key,
                                    lua ? "" : " (only \"config\" is)");
            vane_free(t);
            return -EINVAL;
        }
    rc = open_one(env, lua, json_object_get(spec, key), spec, true, &t->ext, message,
                  sizeof(message));
    if (rc != 0 || env->check_only) {
        if (rc != 0)
            *errmsg = vane_asprintf("transformer.%s: %s", key, message);
        external_free(&t->ext);
        vane_free(t);
        return rc;
    }
    /* The worker keeps the record the event was read from until the
     * events made of it are encoded: what the script left alone needs no
     * copy (script.h). */
    t->ext.output.borrow = true;
    *out = t;
    return 0;
}

int external_transform_apply(struct external_transform *t, const struct event *in,
                             struct vane_arena *arena, struct event **out, size_t *count,
                             char *err, size_t errlen)
{
    int rc;

    if (t->ext.script != NULL) {
        rc = script_transform(t->ext.script, in, arena, &t->ext.output, err, errlen);
        *out = t->ext.output.events;
        *count = rc == 0 ? t->ext.output.count : 0;
        return rc;
    }
    rc = plugin_instance_transform(t->ext.plugin, in, arena, out, err, errlen);
    *count = rc > 0 ? (size_t)rc : 0;
    return rc < 0 ? rc : 0;
}

bool external_transform_slots(const struct external_transform *t)
{
    return t->ext.script != NULL; /* script_output's slots, reused call after call */
}

void external_transform_close(struct external_transform *t)
{
    if (t == NULL)
        return;
    external_free(&t->ext);
    vane_free(t);
}
