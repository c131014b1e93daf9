/*
 * cesql_func.c -- CESQL's built-in functions (cesql-spec.md section 3.5,
 * and the casting functions the TCK calls).
 *
 * Each function is a row of the table builtins: its name, how many
 * arguments it takes, their types (the evaluator casts the arguments to
 * them before the call, cesql.c) and its result type.  A function receives
 * arguments of exactly those types and always sets a result of its own
 * type; where the spec gives a value together with an error (LEFT with a
 * negative count, SUBSTRING out of range, ABS of -2147483648) it sets that
 * value and raises the error.
 *
 * Strings are counted in characters (UTF-8, cesql_text.h).  Results that
 * are part of an argument (TRIM, LEFT, RIGHT, SUBSTRING) point into it;
 * new strings (CONCAT, LOWER, ...) go into the run's scratch memory.
 *
 * The parser resolves a call to its row once (cesql_function_find()); a
 * call no row takes is evaluated as FALSE with a MissingFunctionError.
 */
#include <stdio.h>
#include <string.h>

#include "filter/cesql_tree.h"

#define VARIADIC SIZE_MAX

/* ---- strings ------------------------------------------------------------------- */

static void fn_length(struct cesql_run *run, const struct cesql_node *node,
                      const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    (void)run, (void)node, (void)count;
    cesql_set_integer(out, (int32_t)cesql_utf8_count(args[0].u.string.ptr,
                                                     args[0].u.string.len));
}

/* CONCAT(x...) and CONCAT_WS(separator, x...) */
static void concat(struct cesql_run *run, const struct cesql_value *separator,
                   const struct cesql_value *parts, size_t count, struct cesql_value *out)
{
    size_t total = 0, at = 0;
    char *text;

    for (size_t i = 0; i < count; i++)
        total += parts[i].u.string.len + (i > 0 && separator ? separator->u.string.len : 0);
    text = cesql_scratch(run, total);
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && separator != NULL) {
            memcpy(text + at, separator->u.string.ptr, separator->u.string.len);
            at += separator->u.string.len;
        }
        memcpy(text + at, parts[i].u.string.ptr, parts[i].u.string.len);
        at += parts[i].u.string.len;
    }
    cesql_set_string(out, text, total);
}

static void fn_concat(struct cesql_run *run, const struct cesql_node *node,
                      const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    (void)node;
    concat(run, NULL, args, count, out);
}

static void fn_concat_ws(struct cesql_run *run, const struct cesql_node *node,
                         const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    (void)node;
    concat(run, &args[0], args + 1, count - 1, out);
}

static void case_map(struct cesql_run *run, const struct cesql_value *arg, bool upper,
                     struct cesql_value *out)
{
    char *text = cesql_scratch(run, arg->u.string.len);

    cesql_case_map(arg->u.string.ptr, arg->u.string.len, text, upper);
    cesql_set_string(out, text, arg->u.string.len);
}

static void fn_lower(struct cesql_run *run, const struct cesql_node *node,
                     const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    (void)node, (void)count;
    case_map(run, &args[0], false, out);
}

static void fn_upper(struct cesql_run *run, const struct cesql_node *node,
                     const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    (void)node, (void)count;
    case_map(run, &args[0], true, out);
}

static void fn_trim(struct cesql_run *run, const struct cesql_node *node,
                    const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    const char *s = args[0].u.string.ptr;
    size_t len = args[0].u.string.len, start = len, end = 0;
    uint32_t cp;

    (void)run, (void)node, (void)count;
    /* One walk: start is where the first non-space character begins, end
     * where the last one ends. */
    for (size_t at = 0, n; at < len; at += n) {
        n = cesql_utf8_next(s + at, len - at, &cp);
        if (!cesql_is_space(cp)) {
            if (start == len)
                start = at;
            end = at + n;
        }
    }
    cesql_set_string(out, s + (start < end ? start : 0), start < end ? end - start : 0);
}

/* Raises the FunctionEvaluationError of a negative count for LEFT/RIGHT. */
static bool count_is_negative(struct cesql_run *run, const struct cesql_node *node,
                              int32_t count)
{
    if (count >= 0)
        return false;
    cesql_raise(run, node, CESQL_ERR_FUNCTION_EVALUATION,
                "%s: the count of characters is %d: expected 0 or more", node->u.call.name,
                (int)count);
    return true;
}

static void fn_left(struct cesql_run *run, const struct cesql_node *node,
                    const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    const char *s = args[0].u.string.ptr;
    size_t len = args[0].u.string.len;

    (void)count;
    if (count_is_negative(run, node, args[1].u.integer))
        cesql_set_string(out, s, len);
    else
        cesql_set_string(out, s, cesql_utf8_skip(s, len, (size_t)args[1].u.integer));
}

static void fn_right(struct cesql_run *run, const struct cesql_node *node,
                     const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    const char *s = args[0].u.string.ptr;
    size_t len = args[0].u.string.len, chars, start = 0;

    (void)count;
    if (!count_is_negative(run, node, args[1].u.integer)) {
        chars = cesql_utf8_count(s, len);
        if ((size_t)args[1].u.integer < chars)
            start = cesql_utf8_skip(s, len, chars - (size_t)args[1].u.integer);
    }
    cesql_set_string(out, s + start, len - start);
}

/* SUBSTRING(x, pos) and SUBSTRING(x, pos, len) */
static void fn_substring(struct cesql_run *run, const struct cesql_node *node,
                         const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    const char *s = args[0].u.string.ptr;
    size_t len = args[0].u.string.len, chars = cesql_utf8_count(s, len), first, last, from;
    int64_t pos = args[1].u.integer;

    cesql_set_string(out, "", 0);
    if (pos == 0)
        return;
    if (pos > (int64_t)chars || pos < -(int64_t)chars) {
        cesql_raise(run, node, CESQL_ERR_FUNCTION_EVALUATION,
                    "SUBSTRING: the position %d is outside the string of %zu characters",
                    (int)pos, chars);
        return;
    }
    if (count == 3 && args[2].u.integer < 0) {
        cesql_raise(run, node, CESQL_ERR_FUNCTION_EVALUATION,
                    "SUBSTRING: the length is %d: expected 0 or more", (int)args[2].u.integer);
        return;
    }
    first = pos > 0 ? (size_t)(pos - 1) : chars - (size_t)-pos; /* 0-based, in characters */
    last = chars;
    if (count == 3 && (size_t)args[2].u.integer < chars - first)
        last = first + (size_t)args[2].u.integer;
    from = cesql_utf8_skip(s, len, first);
    cesql_set_string(out, s + from, cesql_utf8_skip(s + from, len - from, last - first));
}

/* ---- integers and casts ----------------------------------------------------------- */

static void fn_abs(struct cesql_run *run, const struct cesql_node *node,
                   const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    int32_t x = args[0].u.integer;

    (void)count;
    if (x == INT32_MIN) {
        cesql_set_integer(out, INT32_MAX);
        cesql_raise(run, node, CESQL_ERR_MATH,
                    "ABS(-2147483648) is out of range: the result is held at 2147483647");
        return;
    }
    cesql_set_integer(out, x < 0 ? -x : x);
}

/* INT, BOOL, STRING: explicit casts of an argument of any type. */
static void cast_to(struct cesql_run *run, const struct cesql_node *node,
                    const struct cesql_value *arg, enum cesql_type type, struct cesql_value *out)
{
    *out = *arg;
    cesql_cast(run, node->u.call.args[0], out, type, true);
}

static void fn_int(struct cesql_run *run, const struct cesql_node *node,
                   const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    (void)count;
    cast_to(run, node, &args[0], CESQL_INTEGER, out);
}

static void fn_bool(struct cesql_run *run, const struct cesql_node *node,
                    const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    (void)count;
    cast_to(run, node, &args[0], CESQL_BOOLEAN, out);
}

static void fn_string(struct cesql_run *run, const struct cesql_node *node,
                      const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    (void)count;
    cast_to(run, node, &args[0], CESQL_STRING, out);
}

/* IS_INT, IS_BOOL: whether the explicit cast would succeed.  Only a string
 * can fail to cast to either. */
static void fn_is_int(struct cesql_run *run, const struct cesql_node *node,
                      const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    int32_t unused;

    (void)run, (void)node, (void)count;
    cesql_set_boolean(out, args[0].type != CESQL_STRING ||
                               cesql_parse_integer(args[0].u.string.ptr,
                                                   args[0].u.string.len, &unused));
}

static void fn_is_bool(struct cesql_run *run, const struct cesql_node *node,
                       const struct cesql_value *args, size_t count, struct cesql_value *out)
{
    bool unused;

    (void)run, (void)node, (void)count;
    cesql_set_boolean(out, args[0].type != CESQL_STRING ||
                               cesql_parse_boolean(args[0].u.string.ptr,
                                                   args[0].u.string.len, &unused));
}

/* ---- the table --------------------------------------------------------------------- */

#define S CESQL_STRING
#define I CESQL_INTEGER
#define B CESQL_BOOLEAN
#define A CESQL_ANY

static const struct cesql_function builtins[] = {
    {"LENGTH", 1, 1, {S, S, S}, I, fn_length},
    {"CONCAT", 0, VARIADIC, {S, S, S}, S, fn_concat},
    {"CONCAT_WS", 1, VARIADIC, {S, S, S}, S, fn_concat_ws},
    {"LOWER", 1, 1, {S, S, S}, S, fn_lower},
    {"UPPER", 1, 1, {S, S, S}, S, fn_upper},
    {"TRIM", 1, 1, {S, S, S}, S, fn_trim},
    {"LEFT", 2, 2, {S, I, I}, S, fn_left},
    {"RIGHT", 2, 2, {S, I, I}, S, fn_right},
    {"SUBSTRING", 2, 3, {S, I, I}, S, fn_substring},
    {"ABS", 1, 1, {I, I, I}, I, fn_abs},
    {"INT", 1, 1, {A, A, A}, I, fn_int},
    {"BOOL", 1, 1, {A, A, A}, B, fn_bool},
    {"STRING", 1, 1, {A, A, A}, S, fn_string},
    {"IS_INT", 1, 1, {A, A, A}, B, fn_is_int},
    {"IS_BOOL", 1, 1, {A, A, A}, B, fn_is_bool},
};

#undef S
#undef I
#undef B
#undef A

static const struct cesql_function *find_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
        if (strlen(builtins[i].name) == len && memcmp(builtins[i].name, name, len) == 0)
            return &builtins[i];
    return NULL;
}

const struct cesql_function *cesql_function_find(const char *name, size_t len, size_t count)
{
    const struct cesql_function *function = find_name(name, len);

    if (function == NULL || count < function->min_args || count > function->max_args)
        return NULL;
    return function;
}

void cesql_function_missing(const char *name, size_t count, char *buf, size_t size)
{
    const struct cesql_function *function = find_name(name, strlen(name));

    if (function == NULL)
        snprintf(buf, size, "there is no function %s", name);
    else if (function->max_args == VARIADIC)
        snprintf(buf, size, "%s takes %zu or more arguments, not %zu", name,
                 function->min_args, count);
    else if (function->max_args != function->min_args)
        snprintf(buf, size, "%s takes %zu or %zu arguments, not %zu", name, function->min_args,
                 function->max_args, count);
    else
        snprintf(buf, size, "%s takes %zu argument%s, not %zu", name, function->min_args,
                 function->min_args == 1 ? "" : "s", count);
}
