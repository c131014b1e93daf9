/*
 * transform_action_struct.c -- the structure actions: create, delete,
 * replace, move, rename, duplicate (Vanus's pkg/transform/action/structs).
 *
 *   ["create", path, value]      path must hold nothing yet (null counts as
 *                                nothing); value may be anything
 *   ["delete", path]             nothing there is no error (as in Vanus,
 *                                whose docs say otherwise); the required
 *                                attributes cannot be deleted
 *   ["replace", path, value]     path must hold a value already
 *   ["move", from, to]           to must hold nothing; from must hold a
 *   ["rename", from, to]         value; the value moves (the two are one
 *                                action under two names, as in Vanus)
 *   ["duplicate", from, to]      as move, but from keeps its value
 *
 * Paths are event paths: an attribute or anywhere in the data.  What is
 * written is a copy, so a duplicate never shares its value with the
 * original (in Vanus, Go maps are shared: changing one changed both).
 */
#include "transform/transform_internal.h"

static int run_create(struct tf_ctx *ctx)
{
    json_t *value;
    int rc;

    if ((rc = transform_action_absent(ctx, 0)) != 0 ||
        (rc = transform_action_get(ctx, 1, &value)) != 0)
        return rc;
    return transform_action_set(ctx, 0, value);
}

static int run_delete(struct tf_ctx *ctx)
{
    return transform_action_delete(ctx, 0);
}

static int run_replace(struct tf_ctx *ctx)
{
    json_t *value;
    int rc;

    if ((rc = transform_action_peek(ctx, 0, &value)) != 0)
        return rc;
    if (value == NULL)
        return transform_action_fail(ctx, 0, "%s does not exist: replace needs a value to "
                                     "replace", ctx->action->args[0].text);
    json_decref(value);
    if ((rc = transform_action_get(ctx, 1, &value)) != 0)
        return rc;
    return transform_action_set(ctx, 0, value);
}

/* Copies from (argument 0) to (argument 1), which must hold nothing. */
static int run_duplicate(struct tf_ctx *ctx)
{
    json_t *value;
    int rc;

    if ((rc = transform_action_absent(ctx, 1)) != 0 ||
        (rc = transform_action_get(ctx, 0, &value)) != 0)
        return rc;
    return transform_action_set(ctx, 1, value);
}

static int run_move(struct tf_ctx *ctx)
{
    int rc = run_duplicate(ctx);

    return rc != 0 ? rc : transform_action_delete(ctx, 0);
}

const struct tf_action_def transform_action_struct_defs[] = {
    {"create", NULL, 2, 2, {TF_ARG_EVENT, TF_ARG_ANY}, 1u << 0, NULL, run_create, NULL},
    {"delete", NULL, 1, 1, {TF_ARG_EVENT}, 1u << 0, NULL, run_delete, NULL},
    {"replace", NULL, 2, 2, {TF_ARG_EVENT, TF_ARG_ANY}, 1u << 0, NULL, run_replace, NULL},
    {"move", NULL, 2, 2, {TF_ARG_EVENT, TF_ARG_EVENT}, 3u, NULL, run_move, NULL},
    {"rename", NULL, 2, 2, {TF_ARG_EVENT, TF_ARG_EVENT}, 3u, NULL, run_move, NULL},
    {"duplicate", NULL, 2, 2, {TF_ARG_EVENT, TF_ARG_EVENT}, 1u << 1, NULL, run_duplicate, NULL},
    {NULL, NULL, 0, 0, {0}, 0, NULL, NULL, NULL},
};
