/*
 * transform_action.c -- a pipeline command: finding its action, checking
 * and compiling its arguments, running it, and the helpers every action
 * runs with (see transform_internal.h).
 *
 * Each action is declared as data in its family's table: its name (and the
 * other name Vanus registers it under, where the two differ), how many
 * arguments it takes, which kinds each may be (Vanus's FixedArgs and
 * VariadicArg) and which ones it writes.  Compiling checks all of that and
 * refuses a command naming the argument at fault: "pipeline[2].command[1]"
 * is the first argument of the third command.  Names match without regard
 * to case, as Vanus upper-cases them.
 *
 * The helpers evaluate an argument and cast it (transform_value.c), or
 * write through it; a failure names the argument and says what it held.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "core/alloc.h"
#include "transform/transform_internal.h"

static const struct tf_action_def *const families[] = {
    transform_action_struct_defs, transform_action_string_defs, transform_action_math_defs,
    transform_action_time_defs, transform_action_array_defs,
};

static const struct tf_action_def *find_def(const char *name)
{
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        for (const struct tf_action_def *def = families[f]; def->name != NULL; def++)
            if (strcasecmp(def->name, name) == 0 ||
                (def->alias != NULL && strcasecmp(def->alias, name) == 0))
                return def;
    return NULL;
}

/* The kinds argument i may be: its own entry, or the last one given. */
static unsigned kinds_of(const struct tf_action_def *def, size_t i)
{
    size_t last = 0;

    for (size_t k = 0; k < sizeof(def->kinds); k++)
        if (def->kinds[k] != 0)
            last = k;
    return def->kinds[i < last ? i : last];
}

static const char *describe_kinds(unsigned kinds)
{
    if (kinds == TF_ARG_CONST)
        return "a constant";
    if (kinds == TF_ARG_DATA)
        return "a data path ($.data...)";
    if (kinds == TF_ARG_EVENT)
        return "an event path ($.<attribute> or $.data...)";
    return "a constant, a path or a <variable>";
}

static const char *describe_kind(enum tf_arg_kind kind)
{
    switch (kind) {
    case TF_ARG_CONST: return "a constant";
    case TF_ARG_ATTR: return "an attribute path";
    case TF_ARG_DATA: return "a data path";
    case TF_ARG_DEFINE: return "a variable";
    }
    return "?";
}

int transform_action_reject(const struct tf_action *action, size_t i,
                            struct transform_error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    if (i == TF_NO_ARG)
        snprintf(err->path, sizeof(err->path), "%s", action->where);
    else
        snprintf(err->path, sizeof(err->path), "%s[%zu]", action->where, i + 1);
    return -EINVAL;
}

static int check_count(const struct tf_action *action, const char *name,
                       struct transform_error *err)
{
    const struct tf_action_def *def = action->def;

    if (action->nargs >= def->min_args && action->nargs <= def->max_args)
        return 0;
    if (def->min_args == def->max_args)
        return transform_action_reject(action, TF_NO_ARG, err,
                                       "%s takes %zu argument%s, not %zu", name, def->min_args,
                                       def->min_args == 1 ? "" : "s", action->nargs);
    if (def->max_args == SIZE_MAX)
        return transform_action_reject(action, TF_NO_ARG, err,
                                       "%s takes at least %zu arguments, not %zu", name,
                                       def->min_args, action->nargs);
    return transform_action_reject(action, TF_NO_ARG, err, "%s takes %zu to %zu arguments, not %zu",
                                   name, def->min_args, def->max_args, action->nargs);
}

static int compile_arg(struct tf_action *action, size_t i, json_t *value,
                       const struct tf_define *defs, size_t ndefs, struct transform_error *err)
{
    struct tf_arg *arg = &action->args[i];
    unsigned allowed = kinds_of(action->def, i);
    int rc;

    if ((rc = transform_arg_compile(value, defs, ndefs, arg, err)) != 0) {
        char why[sizeof(err->message)];

        snprintf(why, sizeof(why), "%s", err->message);
        return transform_action_reject(action, i, err, "%s", why);
    }
    if ((arg->kind & allowed) == 0)
        return transform_action_reject(action, i, err, "%s: %s is expected here, not %s",
                                       arg->text, describe_kinds(allowed),
                                       describe_kind(arg->kind));
    if (i < 32 && (action->def->writes & (1u << i)) && arg->path.wildcard)
        return transform_action_reject(action, i, err, "%s: a path with * can be read, "
                                       "not written", arg->text);
    return 0;
}

int transform_action_compile(json_t *command, const char *where, const struct tf_define *defs,
                             size_t ndefs, struct tf_action *action, struct transform_error *err)
{
    const char *name;
    int rc = 0;

    memset(action, 0, sizeof(*action));
    snprintf(action->where, sizeof(action->where), "%s", where);
    if (!json_is_array(command) || json_array_size(command) == 0)
        return transform_action_reject(action, TF_NO_ARG, err, "expected an array: "
                                       "[\"<action>\", <argument>...]");
    name = json_string_value(json_array_get(command, 0));
    if (name == NULL || (action->def = find_def(name)) == NULL) {
        snprintf(err->path, sizeof(err->path), "%s[0]", where);
        snprintf(err->message, sizeof(err->message), name == NULL ?
                 "expected an action name (a string)%s" : "unknown action \"%s\"",
                 name == NULL ? "" : name);
        return -EINVAL;
    }
    action->nargs = json_array_size(command) - 1;
    if ((rc = check_count(action, name, err)) != 0)
        goto fail;
    action->args = vane_calloc(action->nargs + 1, sizeof(*action->args));
    for (size_t i = 0; i < action->nargs && rc == 0; i++)
        rc = compile_arg(action, i, json_array_get(command, i + 1), defs, ndefs, err);
    if (rc == 0 && action->def->prepare != NULL)
        rc = action->def->prepare(action, command, defs, ndefs, err);
fail:
    if (rc != 0)
        transform_action_free(action);
    return rc;
}

void transform_action_free(struct tf_action *action)
{
    if (action->def != NULL && action->def->release != NULL)
        action->def->release(action);
    for (size_t i = 0; action->args != NULL && i < action->nargs; i++)
        transform_arg_free(&action->args[i]);
    vane_free(action->args);
    action->args = NULL;
    action->nargs = 0;
}

int transform_action_run(const struct tf_action *action, struct tf_work *work,
                         struct transform_error *err)
{
    struct tf_ctx ctx = {work, action, err};

    return action->def->run(&ctx);
}

/* ---- helpers for actions ----------------------------------------------- */

int transform_action_fail(struct tf_ctx *ctx, size_t i, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ctx->err->message, sizeof(ctx->err->message), fmt, ap);
    va_end(ap);
    if (i == TF_NO_ARG)
        snprintf(ctx->err->path, sizeof(ctx->err->path), "%s", ctx->action->where);
    else
        snprintf(ctx->err->path, sizeof(ctx->err->path), "%s[%zu]", ctx->action->where, i + 1);
    return -EINVAL;
}

int transform_action_failed(struct tf_ctx *ctx, size_t i)
{
    char why[sizeof(ctx->err->message)];

    snprintf(why, sizeof(why), "%s", ctx->err->message);
    return transform_action_fail(ctx, i, "%s: %s", ctx->action->args[i].text, why);
}

int transform_action_peek(struct tf_ctx *ctx, size_t i, json_t **value)
{
    if (transform_arg_eval(&ctx->action->args[i], ctx->work, value, ctx->err) != 0)
        return transform_action_failed(ctx, i);
    return 0;
}

int transform_action_get(struct tf_ctx *ctx, size_t i, json_t **value)
{
    int rc = transform_action_peek(ctx, i, value);

    if (rc == 0 && *value == NULL)
        return transform_action_fail(ctx, i, "%s has no value", ctx->action->args[i].text);
    return rc;
}

int transform_action_string(struct tf_ctx *ctx, size_t i, struct vane_buf *out)
{
    json_t *value;
    int rc = transform_action_get(ctx, i, &value);

    if (rc == 0 && transform_value_string(value, out, ctx->err) != 0)
        rc = transform_action_failed(ctx, i);
    json_decref(value);
    return rc;
}

int transform_action_number(struct tf_ctx *ctx, size_t i, double *out)
{
    json_t *value;
    int rc = transform_action_get(ctx, i, &value);

    if (rc == 0 && transform_value_number(value, out, ctx->err) != 0)
        rc = transform_action_failed(ctx, i);
    json_decref(value);
    return rc;
}

int transform_action_int(struct tf_ctx *ctx, size_t i, long long *out)
{
    json_t *value;
    int rc = transform_action_get(ctx, i, &value);

    if (rc == 0 && transform_value_int(value, out, ctx->err) != 0)
        rc = transform_action_failed(ctx, i);
    json_decref(value);
    return rc;
}

int transform_action_set(struct tf_ctx *ctx, size_t i, json_t *value)
{
    if (value == NULL)
        return transform_action_fail(ctx, i, "the result cannot be written to %s: it is not "
                                     "a finite number", ctx->action->args[i].text);
    if (transform_path_set(ctx->work, &ctx->action->args[i].path, value, ctx->err) != 0)
        return transform_action_failed(ctx, i);
    return 0;
}

int transform_action_set_string(struct tf_ctx *ctx, size_t i, const char *s, size_t len)
{
    json_t *value;

    if (len > TF_MAX_TEXT)
        return transform_action_fail(ctx, i, "the result is longer than %g MiB",
                                     TF_MAX_TEXT_MIB);
    value = transform_value_stringn(s, len);

    if (value == NULL)
        return transform_action_fail(ctx, i, "the result is not valid UTF-8 (positions count "
                                     "bytes, and one fell inside a character)");
    return transform_action_set(ctx, i, value);
}

int transform_action_delete(struct tf_ctx *ctx, size_t i)
{
    if (transform_path_delete(ctx->work, &ctx->action->args[i].path, ctx->err) != 0)
        return transform_action_failed(ctx, i);
    return 0;
}

int transform_action_absent(struct tf_ctx *ctx, size_t i)
{
    json_t *value;
    int rc = transform_action_peek(ctx, i, &value);

    if (rc == 0 && value != NULL)
        rc = transform_action_fail(ctx, i, "%s already exists", ctx->action->args[i].text);
    json_decref(value);
    return rc;
}
