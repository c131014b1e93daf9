/*
 * transform.c -- compiling a subscription's transformer and applying it to
 * an event (see transform.h; the other files are listed at the top of
 * transform_internal.h).
 *
 * Compiling reads the spec's members: "define" (variable name -> path or
 * constant), "pipeline" (a list of {"command": [...]}), "template" and
 * "template_type" ("text", "json" or "none"; Vanus's rule decides when it
 * is left out).  Anything else is refused by name, so a typo is not a
 * silently ignored member.  {"lua": ...} and {"plugin": ...} are the two
 * other forms of the design (trigger/external.h runs them); they get -ENOTSUP.
 *
 * Applying, in Vanus's order: the define variables are read from the
 * input event (a path that finds nothing gives null), the commands run in
 * turn on the working form of the event, then the template, if any,
 * renders the new data from the variables and the changed event.  Unlike
 * Vanus, which logs a failing command and goes on with the next, the first
 * failure stops the transformer and is returned, so the event can be dead-
 * lettered with its reason instead of delivered half transformed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "transform/transform.h"
#include "transform/transform_internal.h"

struct transformer {
    struct tf_define *defs;
    size_t ndefs;
    struct tf_action *actions;
    size_t nactions;
    struct tf_template *tpl; /* NULL: the data stays the (transformed) data */
};

int transform_why(struct transform_error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int transform_where(struct transform_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err->path[0] != '\0')
        return -EINVAL;
    va_start(ap, fmt);
    vsnprintf(err->path, sizeof(err->path), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Fills both parts of err; returns -EINVAL. */
static int reject(struct transform_error *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reject(struct transform_error *err, const char *path, const char *fmt, ...)
{
    va_list ap;

    snprintf(err->path, sizeof(err->path), "%s", path);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* ---- compiling ---------------------------------------------------------- */

static bool var_name_valid(const char *name)
{
    if (name[0] == '\0')
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p >= 0x80))
            return false;
    return true;
}

static int compile_define(struct transformer *t, json_t *define, struct transform_error *err)
{
    const char *name;
    json_t *value;

    if (define == NULL || json_is_null(define))
        return 0;
    if (!json_is_object(define))
        return reject(err, "define", "expected an object of variables: {\"name\": \"$.path\"}");
    t->defs = vane_calloc(json_object_size(define) + 1, sizeof(*t->defs));
    json_object_foreach(define, name, value) {
        char path[sizeof(err->path)];

        snprintf(path, sizeof(path), "define.%s", name);
        if (!var_name_valid(name))
            return reject(err, path, "a variable name is letters, digits, '_' and '-'");
        if (!json_is_string(value))
            return reject(err, path, "expected a string: a path ($.id, $.data.x) or a "
                                     "constant, not %s", transform_value_kind(value));
        /* Earlier variables are not passed: a variable cannot be defined by another. */
        if (transform_arg_compile(value, NULL, 0, &t->defs[t->ndefs].arg, err) != 0) {
            char why[sizeof(err->message)];

            snprintf(why, sizeof(why), "%s", err->message);
            return reject(err, path, "%s", why);
        }
        t->defs[t->ndefs++].name = vane_strdup(name);
    }
    return 0;
}

static int compile_pipeline(struct transformer *t, json_t *pipeline, struct transform_error *err)
{
    json_t *step;
    size_t i;

    if (pipeline == NULL || json_is_null(pipeline))
        return 0;
    if (!json_is_array(pipeline))
        return reject(err, "pipeline", "expected an array of {\"command\": [...]}");
    t->actions = vane_calloc(json_array_size(pipeline) + 1, sizeof(*t->actions));
    json_array_foreach(pipeline, i, step) {
        char where[64];
        json_t *command = json_object_get(step, "command");

        snprintf(where, sizeof(where), "pipeline[%zu]", i);
        if (!json_is_object(step) || command == NULL || json_object_size(step) != 1)
            return reject(err, where, "expected {\"command\": [\"<action>\", <argument>...]}");
        snprintf(where, sizeof(where), "pipeline[%zu].command", i);
        if (transform_action_compile(command, where, t->defs, t->ndefs, &t->actions[i],
                                     err) != 0)
            return -EINVAL;
        t->nactions++;
    }
    return 0;
}

static int compile_template(struct transformer *t, json_t *spec, struct transform_error *err)
{
    json_t *tpl = json_object_get(spec, "template"), *type = json_object_get(spec,
                                                                              "template_type");
    const char *type_name = NULL;
    int rc;

    if (type != NULL && !json_is_null(type)) {
        type_name = json_string_value(type);
        if (type_name == NULL || (strcmp(type_name, "text") != 0 &&
                                  strcmp(type_name, "json") != 0 &&
                                  strcmp(type_name, "none") != 0 && type_name[0] != '\0'))
            return reject(err, "template_type", "expected \"text\", \"json\" or \"none\"");
        if (type_name[0] == '\0')
            type_name = NULL;
    }
    if (tpl != NULL && !json_is_null(tpl) && !json_is_string(tpl))
        return reject(err, "template", "expected a string (JSON templates are written as a "
                                       "string too), not %s", transform_value_kind(tpl));
    if (type_name != NULL && strcmp(type_name, "none") == 0)
        return 0;
    if (type_name == NULL && json_string_length(tpl) == 0)
        return 0; /* no template: Vanus's TemplateTypeNone */
    rc = transform_template_compile(json_string_value(tpl) ? json_string_value(tpl) : "",
                                    json_string_length(tpl), type_name, t->defs, t->ndefs,
                                    &t->tpl, err);
    if (rc != 0)
        snprintf(err->path, sizeof(err->path), "template");
    return rc;
}

static int check_members(json_t *spec, struct transform_error *err)
{
    static const char *const known[] = {"define", "pipeline", "template", "template_type"};
    const char *key;
    json_t *value;

    json_object_foreach(spec, key, value) {
        bool found = false;

        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            found |= strcmp(key, known[i]) == 0;
        if (!found)
            return reject(err, key, "unknown member: a transformer has define, pipeline, "
                                    "template and template_type (or is {\"lua\": ...} or "
                                    "{\"plugin\": ..., \"config\": ...})");
    }
    return 0;
}

int transformer_compile(json_t *spec, struct transformer **out, struct transform_error *err)
{
    struct transformer *t;
    int rc;

    memset(err, 0, sizeof(*err));
    *out = NULL;
    if (!json_is_object(spec))
        return reject(err, "", "a transformer is a JSON object, not %s",
                      spec != NULL ? transform_value_kind(spec) : "nothing");
    if (json_object_get(spec, "lua") != NULL || json_object_get(spec, "plugin") != NULL) {
        reject(err, json_object_get(spec, "lua") != NULL ? "lua" : "plugin",
               "lua and plugin transformers are not compiled here");
        return -ENOTSUP;
    }
    if ((rc = check_members(spec, err)) != 0)
        return rc;
    t = VANE_NEW(t);
    if ((rc = compile_define(t, json_object_get(spec, "define"), err)) != 0 ||
        (rc = compile_pipeline(t, json_object_get(spec, "pipeline"), err)) != 0 ||
        (rc = compile_template(t, spec, err)) != 0) {
        transformer_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void transformer_free(struct transformer *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->ndefs; i++) {
        vane_free(t->defs[i].name);
        transform_arg_free(&t->defs[i].arg);
    }
    vane_free(t->defs);
    for (size_t i = 0; i < t->nactions; i++)
        transform_action_free(&t->actions[i]);
    vane_free(t->actions);
    transform_template_free(t->tpl);
    vane_free(t);
}

/* ---- applying ------------------------------------------------------------ */

/* The define variables' values on the input event, before any command runs. */
static int read_vars(const struct transformer *t, struct tf_work *work,
                     struct transform_error *err)
{
    work->vars = vane_calloc(t->ndefs + 1, sizeof(*work->vars));
    work->nvars = t->ndefs;
    for (size_t i = 0; i < t->ndefs; i++) {
        json_t *value;

        if (transform_arg_eval(&t->defs[i].arg, work, &value, err) != 0)
            return transform_where(err, "define.%s", t->defs[i].name);
        if (value == NULL)
            value = json_null();
        else if (json_is_object(value) || json_is_array(value)) {
            /* A snapshot: the commands must not change what the variable saw. */
            json_t *copy = json_deep_copy(value);

            json_decref(value);
            value = copy;
        }
        work->vars[i] = value;
    }
    return 0;
}

static void free_vars(struct tf_work *work)
{
    for (size_t i = 0; i < work->nvars; i++)
        json_decref(work->vars[i]);
    vane_free(work->vars);
    work->vars = NULL;
    work->nvars = 0;
}

int transformer_apply(const struct transformer *t, const struct event *in, struct event *out,
                      struct vane_arena *arena, struct transform_error *err)
{
    struct vane_buf rendered = VANE_BUF_INIT;
    struct tf_work work;
    int rc;

    memset(err, 0, sizeof(*err));
    transform_work_init(&work, in);
    if ((rc = read_vars(t, &work, err)) != 0)
        goto out;
    for (size_t i = 0; i < t->nactions; i++)
        if ((rc = transform_action_run(&t->actions[i], &work, err)) != 0)
            goto out;
    if (t->tpl != NULL && (rc = transform_template_render(t->tpl, &work, &rendered, err)) != 0) {
        transform_where(err, "template");
        goto out;
    }
    transform_work_output(&work, t->tpl != NULL ? &rendered : NULL,
                          t->tpl != NULL ? transform_template_content_type(t->tpl) : NULL, out,
                          arena);
out:
    free_vars(&work);
    transform_work_free(&work);
    vane_buf_free(&rendered);
    return rc;
}
