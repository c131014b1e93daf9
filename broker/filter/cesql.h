/*
 * cesql.h -- CloudEvents SQL (CESQL) v1: compile an expression once,
 * evaluate it against many events.
 *
 * The language is the CloudEvents SQL Expression Language 1.0.0
 * (cesql-spec.md), checked against its TCK (tests/data/cesql-tck/, every
 * case passes in tests/test-cesql.c).  doc/filters.md has the user's view;
 * in short:
 *
 *     literals     'text' "text" (\' and \" escape the quote), 42, -7, TRUE, FALSE
 *     attributes   type, source, myext ... (names are case-insensitive)
 *     operators    NOT x, -x, x LIKE 'pat%_', x NOT LIKE ..., EXISTS attr,
 *                  x IN (a, b), x NOT IN (...), * / %, + -,
 *                  = != <> < <= > >=, AND OR XOR (AND and OR short-circuit)
 *     functions    LENGTH CONCAT CONCAT_WS LOWER UPPER TRIM LEFT RIGHT
 *                  SUBSTRING(2 or 3 args) ABS INT BOOL STRING IS_INT IS_BOOL
 *
 * Keywords and function names are case-insensitive.  Precedence, highest
 * first, as the spec's section 3.6 lists it: function calls; NOT and unary
 * minus; LIKE; EXISTS; IN; * / %; + -; the comparisons; AND, OR and XOR (one
 * level, left to right).  So "NOT a LIKE 'x'" is "(NOT a) LIKE 'x'": write
 * "a NOT LIKE 'x'" or "NOT (a LIKE 'x')".
 *
 * Values are Boolean, Integer (32-bit) or String.  An event attribute of
 * another CloudEvents type is its String form (URIs and timestamps as sent,
 * binary as base64, an integer outside 32 bits in decimal).  Operators cast
 * their operands as the spec's section 3.7 says; a cast that cannot be done
 * is a CastError whose result is the zero value of the target type
 * (FALSE, 0, "").  Integer to Boolean is such a cast when implicit (the
 * TCK's "NOT 10" is TRUE with a CastError); the BOOL() function does it
 * (0 is FALSE, anything else TRUE).
 *
 * Errors.  A syntax error is found by cesql_compile(), never later.  An
 * evaluation never stops early: each operator or function that meets an
 * error still returns a value, and the first error is reported beside it.
 * The rules the TCK pins down:
 *   - a missing attribute is FALSE with MissingAttributeError, an unknown
 *     function (name or number of arguments) FALSE with MissingFunctionError;
 *   - an operator or function one of whose operands raised an error returns
 *     the zero value of its own result type (so "1 / missing" is 0 with only
 *     the MissingAttributeError, "TRUE AND (1 != 1/0)" is FALSE);
 *   - an operator's own failure returns what the spec says: x / 0 and x % 0
 *     are 0 with MathError; a result outside 32 bits (-2147483648 / -1,
 *     ABS(-2147483648), a sum that overflows) is held at the nearest end
 *     with MathError; LEFT/RIGHT with a negative count return the string,
 *     SUBSTRING out of range "", both with FunctionEvaluationError.
 *
 * Strings are bytes, read as UTF-8 where characters matter (LENGTH, LEFT,
 * RIGHT, SUBSTRING, LIKE's "_", TRIM's Unicode white space, LOWER/UPPER); a
 * byte that is not part of valid UTF-8 counts as one character.  LOWER and
 * UPPER map ASCII and the common bicameral scripts (Latin, Greek, Cyrillic,
 * Armenian, full-width Latin); other characters are kept.
 *
 * Cost.  An evaluation allocates no memory for the strings it reads (the
 * event's and the expression's own: comparisons, LIKE and IN on attributes,
 * integers and booleans), and the strings it makes (casts, CONCAT, LOWER,
 * ...) go into a 512-byte buffer on the stack, so cesql_match() allocates
 * only for expressions that build more text than that; the spill is freed
 * before it returns.  About 4.8 million cesql_match()/s on one core for two
 * comparisons and a LIKE on attributes (measured on the development machine).
 *
 * Thread: a compiled expression is immutable; cesql_eval() and
 * cesql_match() may run on it from several threads at once.
 */
#ifndef VANE_FILTER_CESQL_H
#define VANE_FILTER_CESQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

/* Error kinds, named as the TCK names them (cesql_error_name()).  0 is "no error". */
enum cesql_error_kind {
    CESQL_ERR_PARSE = 1,               /* "parse": bad syntax (cesql_compile only) */
    CESQL_ERR_MATH,                    /* "math": division by zero, overflow */
    CESQL_ERR_CAST,                    /* "cast": a value that cannot be cast */
    CESQL_ERR_MISSING_ATTRIBUTE,       /* "missingAttribute" */
    CESQL_ERR_MISSING_FUNCTION,        /* "missingFunction": no such name and arity */
    CESQL_ERR_FUNCTION_EVALUATION,     /* "functionEvaluation": bad function argument */
    CESQL_ERR_GENERIC,                 /* "generic": never raised by the built-ins */
};

/* Nesting deeper than this (parentheses, operators, arguments) is a parse error. */
#define CESQL_MAX_DEPTH 256

struct cesql_error {
    int kind;          /* enum cesql_error_kind */
    size_t position;   /* 1-based column (in characters) of the expression
                        * part at fault; 0 when there is none */
    size_t offset;     /* the same place as a 0-based byte offset into the text */
    char message[200]; /* what was wrong, and for a parse error what was expected */
};

struct cesql_value {
    enum cesql_type { CESQL_BOOLEAN, CESQL_INTEGER, CESQL_STRING } type;
    union {
        bool boolean;
        int32_t integer;
        struct {
            const char *ptr; /* not NUL-terminated */
            size_t len;
        } string;
    } u;
    char *owned; /* memory the string lives in when evaluation made it, else NULL */
};

struct cesql_expr;

/*
 * Compiles the len bytes at text (no NUL needed; a NUL byte in them is a
 * syntax error).  Returns 0 with *out set (free it with cesql_free()), or
 * -EINVAL with *out NULL and, when err is not NULL, err->kind
 * CESQL_ERR_PARSE, the position and a message saying what was expected and
 * what was found ("expected an expression or ')', found the end of the
 * expression").  The expression keeps no reference to text.
 */
int cesql_compile(const char *text, size_t len, struct cesql_expr **out,
                  struct cesql_error *err);

/*
 * The static problems of a compiled expression that evaluation would meet
 * on every event: today, a call of a function that does not exist with
 * that number of arguments.  Returns 0, or CESQL_ERR_MISSING_FUNCTION with
 * err (may be NULL) naming the first such call.  The spec makes these an
 * evaluation error, so cesql_compile() accepts them; a filter can refuse
 * them up front with this.
 */
int cesql_check(const struct cesql_expr *expr, struct cesql_error *err);

/*
 * Evaluates expr against event.  *result is always set, per the spec also
 * when errors occur (see the top of this file).  Returns 0, or the kind of
 * the first error evaluation raised, which is then described in
 * *first_error (may be NULL; its position is where in the expression the
 * error arose).  A string result points into the event, into expr, or into
 * memory result->owned holds: release it with cesql_value_free() (always
 * safe).  The event is only read.
 */
int cesql_eval(const struct cesql_expr *expr, const struct event *event,
               struct cesql_value *result, struct cesql_error *first_error);

/*
 * true only when expr evaluates to Boolean TRUE without any error: the
 * Subscriptions API's rule for a filter (a non-Boolean result or an error
 * means no match).
 */
bool cesql_match(const struct cesql_expr *expr, const struct event *event);

/* Frees the memory a result owns (NULL and results owning none are fine). */
void cesql_value_free(struct cesql_value *value);

/* Frees expr (NULL is fine). */
void cesql_free(struct cesql_expr *expr);

/* "parse", "math", "cast", "missingAttribute", "missingFunction",
 * "functionEvaluation", "generic", "none" for 0, "unknown" otherwise. */
const char *cesql_error_name(int kind);

#endif
