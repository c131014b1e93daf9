/*
 * cesql.c -- evaluating a compiled CESQL expression (see cesql.h for the
 * language's rules, cesql_tree.h for the tree).
 *
 * eval() walks the tree recursively (the parser bounds its height) and
 * leaves each node's value in a struct cesql_value.  Errors are counted in
 * struct cesql_run as they are raised; an operator compares the count
 * before and after evaluating an operand to learn whether that operand
 * raised one, and then returns the zero value of its own type at once (the
 * rule that makes "TRUE AND (1 != 1/0)" FALSE and "1 / missing" 0 without a
 * MathError).  Its own cast failures are different: the cast gives the zero
 * value of its target type and the operator goes on with it (the TCK's
 * "NOT 10" is TRUE with a CastError).  Only the first error is described,
 * and only when the caller asked for the description, so cesql_match()
 * never formats a message.
 *
 * Values point at bytes they do not own: the event's, the expression's,
 * or scratch memory of the run.  Scratch is a buffer inside struct
 * cesql_run (which lives on cesql_eval()'s stack) that spills into an arena
 * when full; both go away when the evaluation ends, after cesql_eval() has
 * copied a string result that lives there into memory the result owns.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "filter/cesql_tree.h"

/* ---- values --------------------------------------------------------------------- */

void cesql_set_string(struct cesql_value *value, const char *ptr, size_t len)
{
    value->type = CESQL_STRING;
    value->u.string.ptr = ptr;
    value->u.string.len = len;
    value->owned = NULL;
}

void cesql_set_integer(struct cesql_value *value, int32_t integer)
{
    value->type = CESQL_INTEGER;
    value->u.integer = integer;
    value->owned = NULL;
}

void cesql_set_boolean(struct cesql_value *value, bool boolean)
{
    value->type = CESQL_BOOLEAN;
    value->u.boolean = boolean;
    value->owned = NULL;
}

void cesql_set_zero(struct cesql_value *value, enum cesql_type type)
{
    switch (type) {
    case CESQL_BOOLEAN: cesql_set_boolean(value, false); break;
    case CESQL_INTEGER: cesql_set_integer(value, 0); break;
    case CESQL_STRING: cesql_set_string(value, "", 0); break;
    }
}

void cesql_value_free(struct cesql_value *value)
{
    if (value == NULL || value->owned == NULL)
        return;
    vane_free(value->owned);
    value->owned = NULL;
    if (value->type == CESQL_STRING)
        cesql_set_string(value, "", 0);
}

/* ---- the run: errors and scratch ------------------------------------------------ */

const char *cesql_error_name(int kind)
{
    switch (kind) {
    case 0: return "none";
    case CESQL_ERR_PARSE: return "parse";
    case CESQL_ERR_MATH: return "math";
    case CESQL_ERR_CAST: return "cast";
    case CESQL_ERR_MISSING_ATTRIBUTE: return "missingAttribute";
    case CESQL_ERR_MISSING_FUNCTION: return "missingFunction";
    case CESQL_ERR_FUNCTION_EVALUATION: return "functionEvaluation";
    case CESQL_ERR_GENERIC: return "generic";
    default: return "unknown";
    }
}

void cesql_raise(struct cesql_run *run, const struct cesql_node *node, int kind,
                 const char *fmt, ...)
{
    va_list ap;

    run->errors++;
    if (run->first_kind != 0)
        return;
    run->first_kind = kind;
    if (run->first == NULL)
        return;
    run->first->kind = kind;
    run->first->position = node->column;
    run->first->offset = node->offset;
    va_start(ap, fmt);
    vsnprintf(run->first->message, sizeof(run->first->message), fmt, ap);
    va_end(ap);
}

char *cesql_scratch(struct cesql_run *run, size_t size)
{
    size_t aligned = (size + 15) & ~(size_t)15;
    char *memory;

    if (CESQL_SCRATCH_INLINE - run->scratch_used >= aligned) {
        memory = run->scratch + run->scratch_used;
        run->scratch_used += aligned;
        return memory;
    }
    return vane_arena_alloc(&run->spill, size);
}

/* At most 40 bytes of s for a message, bytes outside printable ASCII as '?'. */
static const char *quote_for_message(const char *s, size_t len, char out[48])
{
    size_t n = len > 40 ? 40 : len;

    for (size_t i = 0; i < n; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    strcpy(out + n, len > n ? "..." : "");
    return out;
}

/* ---- casts ------------------------------------------------------------------------ */

static void integer_to_string(struct cesql_run *run, struct cesql_value *value)
{
    char *text = cesql_scratch(run, 12);
    int len = snprintf(text, 12, "%" PRId32, value->u.integer);

    cesql_set_string(value, text, (size_t)len);
}

bool cesql_cast(struct cesql_run *run, const struct cesql_node *node, struct cesql_value *value,
                enum cesql_type type, bool explicit_cast)
{
    char shown[48];
    int32_t integer;
    bool boolean;

    if (value->type == type)
        return true;
    switch (type) {
    case CESQL_STRING:
        if (value->type == CESQL_INTEGER)
            integer_to_string(run, value);
        else
            cesql_set_string(value, value->u.boolean ? "true" : "false",
                             value->u.boolean ? 4 : 5);
        return true;
    case CESQL_INTEGER:
        if (value->type == CESQL_BOOLEAN) {
            cesql_set_integer(value, value->u.boolean ? 1 : 0);
            return true;
        }
        if (cesql_parse_integer(value->u.string.ptr, value->u.string.len, &integer)) {
            cesql_set_integer(value, integer);
            return true;
        }
        cesql_raise(run, node, CESQL_ERR_CAST,
                    "cannot cast the string '%s' to Integer: expected a 32-bit decimal integer",
                    quote_for_message(value->u.string.ptr, value->u.string.len, shown));
        break;
    case CESQL_BOOLEAN:
        if (value->type == CESQL_INTEGER && explicit_cast) {
            cesql_set_boolean(value, value->u.integer != 0);
            return true;
        }
        if (value->type == CESQL_INTEGER) {
            cesql_raise(run, node, CESQL_ERR_CAST,
                        "cannot use the integer %" PRId32 " as a Boolean: "
                        "expected TRUE or FALSE (BOOL() casts integers)", value->u.integer);
            break;
        }
        if (cesql_parse_boolean(value->u.string.ptr, value->u.string.len, &boolean)) {
            cesql_set_boolean(value, boolean);
            return true;
        }
        cesql_raise(run, node, CESQL_ERR_CAST,
                    "cannot cast the string '%s' to Boolean: expected 'true' or 'false'",
                    quote_for_message(value->u.string.ptr, value->u.string.len, shown));
        break;
    }
    cesql_set_zero(value, type);
    return false;
}

/* ---- attributes -------------------------------------------------------------------- */

static const struct event_attr *find_attribute(const struct event *event, const char *name,
                                               size_t len)
{
    for (size_t i = 0; i < event->attr_count; i++) {
        const struct event_attr *attr = &event->attrs[i];

        if (attr->name.len == len && memcmp(attr->name.ptr, name, len) == 0)
            return attr;
    }
    return NULL;
}

static void base64_encode(const unsigned char *in, size_t len, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (size_t i = 0; i < len; i += 3) {
        uint32_t group = (uint32_t)in[i] << 16;

        if (i + 1 < len)
            group |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            group |= in[i + 2];
        *out++ = alphabet[group >> 18 & 63];
        *out++ = alphabet[group >> 12 & 63];
        *out++ = i + 1 < len ? alphabet[group >> 6 & 63] : '=';
        *out++ = i + 2 < len ? alphabet[group & 63] : '=';
    }
}

/* The attribute's value as a CESQL value: Boolean, Integer when it fits
 * 32 bits, else String (binary as base64, a wide integer in decimal). */
static void attribute_value(struct cesql_run *run, const struct event_value *attr,
                            struct cesql_value *out)
{
    switch (attr->type) {
    case EVENT_BOOLEAN:
        cesql_set_boolean(out, attr->u.boolean);
        return;
    case EVENT_INTEGER:
        if (attr->u.integer >= INT32_MIN && attr->u.integer <= INT32_MAX) {
            cesql_set_integer(out, (int32_t)attr->u.integer);
        } else {
            char *text = cesql_scratch(run, 24);
            int len = snprintf(text, 24, "%" PRId64, attr->u.integer);

            cesql_set_string(out, text, (size_t)len);
        }
        return;
    case EVENT_BINARY: {
        size_t len = (attr->u.bytes.len + 2) / 3 * 4;
        char *text = cesql_scratch(run, len);

        base64_encode((const unsigned char *)attr->u.bytes.ptr, attr->u.bytes.len, text);
        cesql_set_string(out, text, len);
        return;
    }
    default:
        cesql_set_string(out, attr->u.bytes.ptr, attr->u.bytes.len);
        return;
    }
}

/* ---- operators --------------------------------------------------------------------- */

static void eval(struct cesql_run *run, const struct cesql_node *node, struct cesql_value *out);

/* Evaluates an operand; false when it raised an error (the caller then
 * returns its own zero value). */
static bool operand(struct cesql_run *run, const struct cesql_node *node, struct cesql_value *out)
{
    unsigned before = run->errors;

    eval(run, node, out);
    return run->errors == before;
}

static bool values_equal(const struct cesql_value *a, const struct cesql_value *b)
{
    switch (a->type) {
    case CESQL_BOOLEAN: return a->u.boolean == b->u.boolean;
    case CESQL_INTEGER: return a->u.integer == b->u.integer;
    case CESQL_STRING:
        return a->u.string.len == b->u.string.len &&
               memcmp(a->u.string.ptr, b->u.string.ptr, a->u.string.len) == 0;
    }
    return false;
}

static void eval_attribute(struct cesql_run *run, const struct cesql_node *node,
                           struct cesql_value *out)
{
    const struct event_attr *attr =
        find_attribute(run->event, node->u.attribute.name, node->u.attribute.len);

    if (attr != NULL) {
        attribute_value(run, &attr->value, out);
        return;
    }
    /* The type the spec assumes when it cannot tell: Boolean. */
    cesql_set_boolean(out, false);
    cesql_raise(run, node, CESQL_ERR_MISSING_ATTRIBUTE, "the event has no attribute '%s'",
                node->u.attribute.name);
}

/* NOT x, -x */
static void eval_unary(struct cesql_run *run, const struct cesql_node *node,
                       struct cesql_value *out)
{
    enum cesql_type type = node->op == CESQL_OP_NOT ? CESQL_BOOLEAN : CESQL_INTEGER;

    if (!operand(run, node->u.operand, out)) {
        cesql_set_zero(out, type);
        return;
    }
    cesql_cast(run, node->u.operand, out, type, false);
    if (type == CESQL_BOOLEAN) {
        out->u.boolean = !out->u.boolean;
    } else if (out->u.integer == INT32_MIN) {
        out->u.integer = INT32_MAX;
        cesql_raise(run, node, CESQL_ERR_MATH,
                    "-(-2147483648) is out of range: the result is held at 2147483647");
    } else {
        out->u.integer = -out->u.integer;
    }
}

/* AND, OR (both short-circuit) and XOR. */
static void eval_logic(struct cesql_run *run, const struct cesql_node *node,
                       struct cesql_value *out)
{
    struct cesql_value right;
    bool left;

    if (!operand(run, node->u.binary.left, out))
        goto zero;
    cesql_cast(run, node->u.binary.left, out, CESQL_BOOLEAN, false);
    left = out->u.boolean;
    if ((node->op == CESQL_OP_AND && !left) || (node->op == CESQL_OP_OR && left))
        return;
    if (!operand(run, node->u.binary.right, &right))
        goto zero;
    cesql_cast(run, node->u.binary.right, &right, CESQL_BOOLEAN, false);
    cesql_set_boolean(out, node->op == CESQL_OP_XOR ? left != right.u.boolean
                                                    : right.u.boolean);
    return;
zero:
    cesql_set_boolean(out, false);
}

/* = != <>: ambiguous, so the left operand is cast to the right one's type. */
static void eval_equality(struct cesql_run *run, const struct cesql_node *node,
                          struct cesql_value *out)
{
    struct cesql_value left, right;

    if (!operand(run, node->u.binary.left, &left) ||
        !operand(run, node->u.binary.right, &right)) {
        cesql_set_boolean(out, false);
        return;
    }
    cesql_cast(run, node->u.binary.left, &left, right.type, false);
    cesql_set_boolean(out, values_equal(&left, &right) == (node->op == CESQL_OP_EQUAL));
}

/* Stores value in out, or the nearest 32-bit integer with a MathError. */
static void set_checked(struct cesql_run *run, const struct cesql_node *node, int64_t value,
                        struct cesql_value *out)
{
    if (value > INT32_MAX || value < INT32_MIN) {
        cesql_raise(run, node, CESQL_ERR_MATH,
                    "integer overflow: %" PRId64 " is outside -2147483648..2147483647, "
                    "the result is held at the nearest end", value);
        value = value > INT32_MAX ? INT32_MAX : INT32_MIN;
    }
    cesql_set_integer(out, (int32_t)value);
}

/* < <= > >= and + - * / %: Integer operands. */
static void eval_integer_binary(struct cesql_run *run, const struct cesql_node *node,
                                struct cesql_value *out)
{
    bool comparison = node->op >= CESQL_OP_LESS && node->op <= CESQL_OP_GREATER_EQUAL;
    struct cesql_value left, right;
    int64_t x, y;

    if (!operand(run, node->u.binary.left, &left) ||
        !operand(run, node->u.binary.right, &right)) {
        cesql_set_zero(out, comparison ? CESQL_BOOLEAN : CESQL_INTEGER);
        return;
    }
    cesql_cast(run, node->u.binary.left, &left, CESQL_INTEGER, false);
    cesql_cast(run, node->u.binary.right, &right, CESQL_INTEGER, false);
    x = left.u.integer;
    y = right.u.integer;
    switch (node->op) {
    case CESQL_OP_LESS: cesql_set_boolean(out, x < y); return;
    case CESQL_OP_LESS_EQUAL: cesql_set_boolean(out, x <= y); return;
    case CESQL_OP_GREATER: cesql_set_boolean(out, x > y); return;
    case CESQL_OP_GREATER_EQUAL: cesql_set_boolean(out, x >= y); return;
    case CESQL_OP_ADD: set_checked(run, node, x + y, out); return;
    case CESQL_OP_SUBTRACT: set_checked(run, node, x - y, out); return;
    case CESQL_OP_MULTIPLY: set_checked(run, node, x * y, out); return;
    default: /* / and %: truncating, the remainder with the sign of x (C's own) */
        if (y == 0) {
            cesql_set_integer(out, 0);
            cesql_raise(run, node, CESQL_ERR_MATH, "division by zero");
            return;
        }
        set_checked(run, node, node->op == CESQL_OP_DIVIDE ? x / y : x % y, out);
        return;
    }
}

static void eval_like(struct cesql_run *run, const struct cesql_node *node,
                      struct cesql_value *out)
{
    if (!operand(run, node->u.like.subject, out)) {
        cesql_set_boolean(out, false);
        return;
    }
    cesql_cast(run, node->u.like.subject, out, CESQL_STRING, false);
    cesql_set_boolean(out, cesql_like_match(node->u.like.pieces, node->u.like.count,
                                            out->u.string.ptr, out->u.string.len) !=
                               node->negated);
}

/* x IN (...): each element is cast to the type of x. */
static void eval_in(struct cesql_run *run, const struct cesql_node *node,
                    struct cesql_value *out)
{
    struct cesql_value subject, item;
    bool found = false;

    if (!operand(run, node->u.in.subject, &subject))
        goto zero;
    for (size_t i = 0; i < node->u.in.count && !found; i++) {
        if (!operand(run, node->u.in.items[i], &item))
            goto zero;
        cesql_cast(run, node->u.in.items[i], &item, subject.type, false);
        found = values_equal(&subject, &item);
    }
    cesql_set_boolean(out, found != node->negated);
    return;
zero:
    cesql_set_boolean(out, false);
}

#define CALL_INLINE_ARGS 8

static void eval_call(struct cesql_run *run, const struct cesql_node *node,
                      struct cesql_value *out)
{
    const struct cesql_function *function = node->u.call.function;
    struct cesql_value inline_args[CALL_INLINE_ARGS], *args = inline_args;
    size_t count = node->u.call.count;

    if (function == NULL) {
        char why[120] = "";

        if (run->first != NULL && run->first_kind == 0)
            cesql_function_missing(node->u.call.name, count, why, sizeof(why));
        cesql_set_boolean(out, false);
        cesql_raise(run, node, CESQL_ERR_MISSING_FUNCTION, "%s", why);
        return;
    }
    if (count > CALL_INLINE_ARGS)
        args = (struct cesql_value *)cesql_scratch(run, count * sizeof(*args));
    for (size_t i = 0; i < count; i++) {
        int type = function->param_types[i < 2 ? i : 2];

        if (!operand(run, node->u.call.args[i], &args[i])) {
            cesql_set_zero(out, function->result_type);
            return;
        }
        if (type != CESQL_ANY)
            cesql_cast(run, node->u.call.args[i], &args[i], (enum cesql_type)type, false);
    }
    function->call(run, node, args, count, out);
}

static void eval(struct cesql_run *run, const struct cesql_node *node, struct cesql_value *out)
{
    switch (node->op) {
    case CESQL_OP_LITERAL:
        *out = node->u.literal;
        return;
    case CESQL_OP_ATTRIBUTE:
        eval_attribute(run, node, out);
        return;
    case CESQL_OP_EXISTS:
        cesql_set_boolean(out, find_attribute(run->event, node->u.attribute.name,
                                              node->u.attribute.len) != NULL);
        return;
    case CESQL_OP_NOT:
    case CESQL_OP_NEGATE:
        eval_unary(run, node, out);
        return;
    case CESQL_OP_AND:
    case CESQL_OP_OR:
    case CESQL_OP_XOR:
        eval_logic(run, node, out);
        return;
    case CESQL_OP_EQUAL:
    case CESQL_OP_NOT_EQUAL:
        eval_equality(run, node, out);
        return;
    case CESQL_OP_LIKE:
        eval_like(run, node, out);
        return;
    case CESQL_OP_IN:
        eval_in(run, node, out);
        return;
    case CESQL_OP_CALL:
        eval_call(run, node, out);
        return;
    default:
        eval_integer_binary(run, node, out);
        return;
    }
}

/* ---- entry points ------------------------------------------------------------------ */

/* Whether p lies in the run's scratch memory (the inline buffer or a spill chunk). */
static bool in_scratch(const struct cesql_run *run, const char *p)
{
    return run->spill.chunks != NULL ||
           (p >= run->scratch && p < run->scratch + CESQL_SCRATCH_INLINE);
}

/* Sets up a run.  The scratch buffer is left as it is: zeroing it would
 * cost more than evaluating a typical filter. */
static void run_init(struct cesql_run *run, const struct event *event, struct cesql_error *first)
{
    run->event = event;
    run->errors = 0;
    run->first_kind = 0;
    run->first = first;
    run->scratch_used = 0;
    run->spill.chunks = NULL;
}

int cesql_eval(const struct cesql_expr *expr, const struct event *event,
               struct cesql_value *result, struct cesql_error *first_error)
{
    struct cesql_run run;

    run_init(&run, event, first_error);
    if (first_error != NULL)
        memset(first_error, 0, sizeof(*first_error));
    eval(&run, expr->root, result);
    if (result->type == CESQL_STRING && result->u.string.len == 0) {
        cesql_set_string(result, "", 0); /* wherever it pointed, it points at no byte now */
    } else if (result->type == CESQL_STRING && in_scratch(&run, result->u.string.ptr)) {
        char *copy = vane_malloc(result->u.string.len);

        memcpy(copy, result->u.string.ptr, result->u.string.len);
        cesql_set_string(result, copy, result->u.string.len);
        result->owned = copy;
    }
    vane_arena_free(&run.spill);
    return run.first_kind;
}

bool cesql_match(const struct cesql_expr *expr, const struct event *event)
{
    struct cesql_run run;
    struct cesql_value result;
    bool match;

    run_init(&run, event, NULL);
    eval(&run, expr->root, &result);
    match = run.errors == 0 && result.type == CESQL_BOOLEAN && result.u.boolean;
    vane_arena_free(&run.spill);
    return match;
}

/* The first call in the tree, depth first, that names no function. */
static const struct cesql_node *find_missing_function(const struct cesql_node *node)
{
    const struct cesql_node *found = NULL;

    switch (node->op) {
    case CESQL_OP_LITERAL:
    case CESQL_OP_ATTRIBUTE:
    case CESQL_OP_EXISTS:
        return NULL;
    case CESQL_OP_NOT:
    case CESQL_OP_NEGATE:
        return find_missing_function(node->u.operand);
    case CESQL_OP_LIKE:
        return find_missing_function(node->u.like.subject);
    case CESQL_OP_IN:
        found = find_missing_function(node->u.in.subject);
        for (size_t i = 0; found == NULL && i < node->u.in.count; i++)
            found = find_missing_function(node->u.in.items[i]);
        return found;
    case CESQL_OP_CALL:
        if (node->u.call.function == NULL)
            return node;
        for (size_t i = 0; found == NULL && i < node->u.call.count; i++)
            found = find_missing_function(node->u.call.args[i]);
        return found;
    default:
        found = find_missing_function(node->u.binary.left);
        return found != NULL ? found : find_missing_function(node->u.binary.right);
    }
}

int cesql_check(const struct cesql_expr *expr, struct cesql_error *err)
{
    const struct cesql_node *call = find_missing_function(expr->root);
    struct cesql_run run;
    char why[120];

    run_init(&run, NULL, err);
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (call == NULL)
        return 0;
    cesql_function_missing(call->u.call.name, call->u.call.count, why, sizeof(why));
    cesql_raise(&run, call, CESQL_ERR_MISSING_FUNCTION, "%s", why);
    return CESQL_ERR_MISSING_FUNCTION;
}
