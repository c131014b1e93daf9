/*
 * transform_action_math.c -- arithmetic, condition_if and length (Vanus's
 * pkg/transform/action/math, condition and common).
 *
 *   ["math_add", target, a, b, ...]   a + b + ...
 *   ["math_sub", target, a, b]        a - b
 *   ["math_mul", target, a, b, ...]   a * b * ...
 *   ["math_div", target, a, b]        a / b; b = 0 fails
 *   ["condition_if", target, left, op, right, then, else]
 *                                     op "==" compares left and right as
 *                                     strings; ">", ">=", "<", "<=" as
 *                                     numbers; target gets then or else
 *   ["length", target, value]         bytes of a string, elements of an
 *                                     array, members of an object
 *
 * Operands are cast to numbers as Vanus does: numbers, and strings that
 * hold one.  Results are Go float64s in Vanus; here a whole result is
 * written as an integer (900, not 900.0), which is also how Vanus's JSON
 * shows it, and an extension attribute takes it as its 32-bit integer.
 */
#include <string.h>

#include "transform/transform_internal.h"

enum math_op { ADD, SUB, MUL, DIV };

static int run_math(struct tf_ctx *ctx, enum math_op op)
{
    double result = 0, operand;
    int rc;

    for (size_t i = 1; i < ctx->action->nargs; i++) {
        if ((rc = transform_action_number(ctx, i, &operand)) != 0)
            return rc;
        if (i == 1)
            result = operand;
        else if (op == ADD)
            result += operand;
        else if (op == SUB)
            result -= operand;
        else if (op == MUL)
            result *= operand;
        else if (operand == 0)
            return transform_action_fail(ctx, i, "division by zero");
        else
            result /= operand;
    }
    return transform_action_set(ctx, 0, transform_value_from_double(result));
}

static int run_add(struct tf_ctx *ctx) { return run_math(ctx, ADD); }
static int run_sub(struct tf_ctx *ctx) { return run_math(ctx, SUB); }
static int run_mul(struct tf_ctx *ctx) { return run_math(ctx, MUL); }
static int run_div(struct tf_ctx *ctx) { return run_math(ctx, DIV); }

static const char *const comparisons[] = {"==", ">=", ">", "<=", "<", NULL};

static bool known_op(const char *op)
{
    for (size_t i = 0; comparisons[i] != NULL; i++)
        if (strcmp(op, comparisons[i]) == 0)
            return true;
    return false;
}

/* A constant operator is checked with the transformer. */
static int prepare_condition(struct tf_action *action, json_t *command,
                             const struct tf_define *defs, size_t ndefs,
                             struct transform_error *err)
{
    const struct tf_arg *op = &action->args[2];

    (void)command, (void)defs, (void)ndefs;
    if (op->kind == TF_ARG_CONST &&
        (!json_is_string(op->constant) || !known_op(json_string_value(op->constant))))
        return transform_action_reject(action, 2, err, "%s: expected an operator: ==, >=, >, "
                                       "<= or <", op->text);
    return 0;
}

/* Whether left op right holds. */
static int compare(struct tf_ctx *ctx, const char *op, bool *holds)
{
    struct vane_buf a = VANE_BUF_INIT, b = VANE_BUF_INIT;
    double x, y;
    int rc;

    if (strcmp(op, "==") == 0) {
        if ((rc = transform_action_string(ctx, 1, &a)) == 0 &&
            (rc = transform_action_string(ctx, 3, &b)) == 0)
            *holds = a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
        vane_buf_free(&a);
        vane_buf_free(&b);
        return rc;
    }
    if ((rc = transform_action_number(ctx, 1, &x)) != 0 ||
        (rc = transform_action_number(ctx, 3, &y)) != 0)
        return rc;
    *holds = op[0] == '>' ? (op[1] == '=' ? x >= y : x > y) : (op[1] == '=' ? x <= y : x < y);
    return 0;
}

static int run_condition_if(struct tf_ctx *ctx)
{
    json_t *op, *then_value = NULL, *else_value = NULL;
    bool holds = false;
    int rc;

    if ((rc = transform_action_get(ctx, 2, &op)) != 0)
        return rc;
    if (!json_is_string(op) || !known_op(json_string_value(op)))
        rc = transform_action_fail(ctx, 2, "%s: expected an operator: ==, >=, >, <= or <",
                                   ctx->action->args[2].text);
    /* Vanus evaluates both results before choosing: either missing is a failure. */
    if (rc == 0 && (rc = compare(ctx, json_string_value(op), &holds)) == 0 &&
        (rc = transform_action_get(ctx, 4, &then_value)) == 0 &&
        (rc = transform_action_get(ctx, 5, &else_value)) == 0) {
        rc = transform_action_set(ctx, 0, json_incref(holds ? then_value : else_value));
    }
    json_decref(op);
    json_decref(then_value);
    json_decref(else_value);
    return rc;
}

static int run_length(struct tf_ctx *ctx)
{
    json_t *value;
    size_t length = 0;
    int rc = transform_action_get(ctx, 1, &value);

    if (rc != 0)
        return rc;
    if (json_is_string(value))
        length = json_string_length(value);
    else if (json_is_array(value))
        length = json_array_size(value);
    else if (json_is_object(value))
        length = json_object_size(value);
    else
        rc = transform_action_fail(ctx, 1, "%s: length takes a string, an array or an object, "
                                   "not %s", ctx->action->args[1].text,
                                   transform_value_kind(value));
    json_decref(value);
    return rc != 0 ? rc : transform_action_set(ctx, 0, json_integer((json_int_t)length));
}

#define E TF_ARG_EVENT
#define A TF_ARG_ANY

const struct tf_action_def transform_action_math_defs[] = {
    {"math_add", NULL, 3, SIZE_MAX, {E, A, A}, 1u << 0, NULL, run_add, NULL},
    {"math_sub", NULL, 3, 3, {E, A, A}, 1u << 0, NULL, run_sub, NULL},
    {"math_mul", NULL, 3, SIZE_MAX, {E, A, A}, 1u << 0, NULL, run_mul, NULL},
    {"math_div", NULL, 3, 3, {E, A, A}, 1u << 0, NULL, run_div, NULL},
    {"condition_if", NULL, 6, 6, {E, A, A, A, A, A}, 1u << 0, prepare_condition,
     run_condition_if, NULL},
    {"length", NULL, 2, 2, {E, A}, 1u << 0, NULL, run_length, NULL},
    {NULL, NULL, 0, 0, {0}, 0, NULL, NULL, NULL},
};
