/*
 * transform_action_array.c -- the array actions (Vanus's
 * pkg/transform/action/array).
 *
 *   ["render_array", target, source, template]
 *        source is an array of objects; for each element, template (a
 *        constant) with every "<@.path>" replaced by the value at that path
 *        in the element; target gets the array of strings.  A template with
 *        no "<@" gives [template].  An element without a value for a
 *        placeholder fails (Vanus fails when the counts differ).
 *   ["array_foreach", source, [command], [command], ...]
 *        runs the commands on each element of the array at source, in
 *        which "@.name" (and "$.data.name") is the element's own data, then
 *        writes the array back.  Attributes are out of reach there, as in
 *        Vanus; define variables are not (Vanus has none there).
 *   ["unfold_array", source, targetPrefix]
 *        writes each element i of the array at source to targetPrefix-i
 *        ("$.data.item" gives $.data.item-0, $.data.item-1, ...).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "transform/transform_internal.h"

/* ---- render_array ------------------------------------------------------ */

/* A template: literal text and placeholders in turn. */
struct render_piece {
    char *text;          /* literal, or NULL for a placeholder */
    size_t len;
    struct tf_path path; /* relative to the element */
    char *original;      /* "<@.name>", for messages */
};

struct render {
    struct render_piece *pieces;
    size_t n;
};

static void add_piece(struct render *r, const struct render_piece *piece)
{
    r->pieces = vane_realloc(r->pieces, (r->n + 1) * sizeof(*r->pieces));
    r->pieces[r->n++] = *piece;
}

static void add_text(struct render *r, const char *text, size_t len)
{
    struct render_piece piece = {vane_strndup(text, len), len, {0}, NULL};

    if (len > 0)
        add_piece(r, &piece);
    else
        vane_free(piece.text);
}

static void release_render(struct tf_action *action)
{
    struct render *r = action->priv;

    for (size_t i = 0; r != NULL && i < r->n; i++) {
        vane_free(r->pieces[i].text);
        vane_free(r->pieces[i].original);
        transform_path_free(&r->pieces[i].path);
    }
    if (r != NULL)
        vane_free(r->pieces);
    vane_free(r);
    action->priv = NULL;
}

/* Splits the template at "<@path>"; an "<@" with no '>' after it is text, as in Vanus. */
static int parse_render(struct render *r, const char *text, size_t len,
                        struct transform_error *err)
{
    size_t pos = 0;
    int rc;

    while (pos < len) {
        const char *open = memmem(text + pos, len - pos, "<@", 2), *close;
        struct render_piece piece = {0};
        size_t used;

        if (open == NULL ||
            (close = memchr(open + 2, '>', (size_t)(text + len - open - 2))) == NULL)
            break;
        add_text(r, text + pos, (size_t)(open - text) - pos);
        piece.original = vane_strndup(open, (size_t)(close - open + 1));
        rc = transform_path_parse(open + 1, (size_t)(close - open), true, true, &used,
                                  &piece.path, err);
        if (rc == 0 && (used != (size_t)(close - open - 1) || piece.path.attr != NULL)) {
            transform_path_free(&piece.path);
            rc = transform_why(err, "expected <@.name> or <@[0]>");
        }
        if (rc != 0) {
            char why[sizeof(err->message)];

            snprintf(why, sizeof(why), "%s", err->message);
            transform_why(err, "%s: %s", piece.original, why);
            vane_free(piece.original);
            return rc;
        }
        add_piece(r, &piece);
        pos = (size_t)(close - text) + 1;
    }
    add_text(r, text + pos, len - pos);
    return 0;
}

static int prepare_render(struct tf_action *action, json_t *command, const struct tf_define *defs,
                          size_t ndefs, struct transform_error *err)
{
    struct vane_buf text = VANE_BUF_INIT;
    struct render *r = vane_calloc(1, sizeof(*r));
    int rc;

    (void)command, (void)defs, (void)ndefs;
    action->priv = r;
    rc = transform_value_string(action->args[2].constant, &text, err);
    if (rc == 0)
        rc = parse_render(r, text.data ? text.data : "", text.len, err);
    vane_buf_free(&text);
    if (rc != 0) {
        char why[sizeof(err->message)];

        snprintf(why, sizeof(why), "%s", err->message);
        return transform_action_reject(action, 2, err, "%s", why);
    }
    return 0;
}

/* The template rendered for one element, appended to out. */
static int render_one(struct tf_ctx *ctx, const struct render *r, json_t *element, size_t index,
                      struct vane_buf *out)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct render_piece *piece = &r->pieces[i];
        json_t *value;

        if (piece->text != NULL) {
            vane_buf_append(out, piece->text, piece->len);
            continue;
        }
        if ((value = transform_path_find(element, &piece->path)) == NULL)
            return transform_action_fail(ctx, 2, "%s: element %zu of %s has no value there",
                                         piece->original, index, ctx->action->args[1].text);
        if (json_is_null(value))
            vane_buf_append_str(out, "null");
        else
            transform_value_string(value, out, ctx->err);
        json_decref(value);
    }
    return 0;
}

/* The array at argument i (a new reference), or a failure naming what is there instead. */
static int get_array(struct tf_ctx *ctx, size_t i, json_t **array)
{
    int rc = transform_action_get(ctx, i, array);

    if (rc == 0 && !json_is_array(*array)) {
        rc = transform_action_fail(ctx, i, "%s: expected an array, found %s",
                                   ctx->action->args[i].text, transform_value_kind(*array));
        json_decref(*array);
        *array = NULL;
    }
    return rc;
}

static int run_render_array(struct tf_ctx *ctx)
{
    const struct render *r = ctx->action->priv;
    struct vane_buf text = VANE_BUF_INIT;
    json_t *source, *element, *result;
    bool placeholders = false;
    size_t i, total = 0;
    int rc;

    for (i = 0; i < r->n; i++)
        placeholders |= r->pieces[i].text == NULL;
    result = json_array();
    if (!placeholders) {
        /* As in Vanus: rendered once, and the source is not even read. */
        render_one(ctx, r, NULL, 0, &text);
        json_array_append_new(result, transform_value_stringn(text.data, text.len));
        vane_buf_free(&text);
        return transform_action_set(ctx, 0, result);
    }
    if ((rc = get_array(ctx, 1, &source)) != 0) {
        json_decref(result);
        return rc;
    }
    json_array_foreach(source, i, element) {
        vane_buf_reset(&text);
        if ((rc = render_one(ctx, r, element, i, &text)) != 0)
            break;
        if ((total += text.len) > TF_MAX_TEXT) {
            rc = transform_action_fail(ctx, 2, "the rendered strings grew longer than %g MiB",
                                       TF_MAX_TEXT_MIB);
            break;
        }
        json_array_append_new(result, transform_value_stringn(text.data, text.len));
    }
    json_decref(source);
    vane_buf_free(&text);
    if (rc != 0) {
        json_decref(result);
        return rc;
    }
    return transform_action_set(ctx, 0, result);
}

/* ---- array_foreach --------------------------------------------------------- */

struct foreach {
    struct tf_action *actions;
    size_t n;
};

static void release_foreach(struct tf_action *action)
{
    struct foreach *f = action->priv;

    for (size_t i = 0; f != NULL && i < f->n; i++)
        transform_action_free(&f->actions[i]);
    if (f != NULL)
        vane_free(f->actions);
    vane_free(f);
    action->priv = NULL;
}

static int prepare_foreach(struct tf_action *action, json_t *command, const struct tf_define *defs,
                           size_t ndefs, struct transform_error *err)
{
    struct foreach *f = vane_calloc(1, sizeof(*f));

    action->priv = f;
    f->actions = vane_calloc(action->nargs, sizeof(*f->actions));
    for (size_t i = 1; i < action->nargs; i++) {
        char where[sizeof(action->where) + 24];

        snprintf(where, sizeof(where), "%s[%zu]", action->where, i + 1);
        if (transform_action_compile(json_array_get(command, i + 1), where, defs, ndefs,
                                     &f->actions[f->n], err) != 0)
            return -EINVAL;
        f->n++;
    }
    return 0;
}

/* Runs the commands on one element; the element may be replaced whole. */
static int foreach_one(struct tf_ctx *ctx, const struct foreach *f, json_t *array, size_t index)
{
    struct tf_work sub;
    int rc = 0;

    transform_work_init_data(&sub, json_incref(json_array_get(array, index)), ctx->work->vars,
                             ctx->work->nvars);
    for (size_t i = 0; i < f->n && rc == 0; i++)
        rc = transform_action_run(&f->actions[i], &sub, ctx->err);
    if (rc == 0 && sub.data != json_array_get(array, index))
        json_array_set(array, index, sub.data != NULL ? sub.data : json_null());
    if (rc != 0) {
        char why[sizeof(ctx->err->message)];

        snprintf(why, sizeof(why), "%s", ctx->err->message);
        snprintf(ctx->err->message, sizeof(ctx->err->message), "element %zu: %.200s", index,
                 why);
    }
    transform_work_free(&sub);
    return rc;
}

static int run_array_foreach(struct tf_ctx *ctx)
{
    const struct foreach *f = ctx->action->priv;
    json_t *source, *copy;
    int rc;

    if ((rc = get_array(ctx, 0, &source)) != 0)
        return rc;
    copy = json_deep_copy(source);
    json_decref(source);
    for (size_t i = 0; i < json_array_size(copy) && rc == 0; i++)
        rc = foreach_one(ctx, f, copy, i);
    if (rc != 0) {
        json_decref(copy);
        return rc;
    }
    return transform_action_set(ctx, 0, copy);
}

/* ---- unfold_array ---------------------------------------------------------- */

static int prepare_unfold(struct tf_action *action, json_t *command, const struct tf_define *defs,
                          size_t ndefs, struct transform_error *err)
{
    const struct tf_path *prefix = &action->args[1].path;

    (void)command, (void)defs, (void)ndefs;
    if (prefix->nsegs == 0 || prefix->segs[prefix->nsegs - 1].kind != TF_SEG_NAME)
        return transform_action_reject(action, 1, err, "%s: the target prefix must end in a "
                                       "name, such as $.data.item", action->args[1].text);
    return 0;
}

static int run_unfold_array(struct tf_ctx *ctx)
{
    const struct tf_path *prefix = &ctx->action->args[1].path;
    struct tf_seg *last = &prefix->segs[prefix->nsegs - 1];
    json_t *source, *element;
    size_t i;
    int rc;

    if ((rc = get_array(ctx, 0, &source)) != 0)
        return rc;
    json_array_foreach(source, i, element) {
        struct tf_path target = *prefix;
        struct tf_seg *segs = vane_malloc(prefix->nsegs * sizeof(*segs));

        memcpy(segs, prefix->segs, prefix->nsegs * sizeof(*segs));
        segs[prefix->nsegs - 1].name = vane_asprintf("%s-%zu", last->name, i);
        target.segs = segs;
        rc = transform_path_set(ctx->work, &target, json_incref(element), ctx->err);
        vane_free(segs[prefix->nsegs - 1].name);
        vane_free(segs);
        if (rc != 0) {
            rc = transform_action_failed(ctx, 1);
            break;
        }
    }
    json_decref(source);
    return rc;
}

#define A TF_ARG_ANY
#define C TF_ARG_CONST
#define D TF_ARG_DATA

const struct tf_action_def transform_action_array_defs[] = {
    {"render_array", NULL, 3, 3, {TF_ARG_EVENT, D, C}, 1u << 0, prepare_render,
     run_render_array, release_render},
    {"array_foreach", NULL, 2, SIZE_MAX, {D, C}, 1u << 0, prepare_foreach, run_array_foreach,
     release_foreach},
    {"unfold_array", NULL, 2, 2, {D, D}, 1u << 1, prepare_unfold, run_unfold_array, NULL},
    {NULL, NULL, 0, 0, {0}, 0, NULL, NULL, NULL},
};
