/*
 * fuzz-cesql.c -- libFuzzer target for the CESQL compiler and evaluator.
 *
 * A CESQL expression comes from whoever creates a subscription, so
 * cesql_compile() parses outside input, and whatever it accepts is then
 * evaluated against every event.  The input is the expression's text, any
 * bytes.  Each input is compiled; a compiled expression is evaluated
 * against a fixed event that has an attribute of every CloudEvents type
 * (and a few names expressions are likely to use), then matched and
 * checked.
 *
 * Invariants, each abort()ing with its name on stderr when it fails:
 *   - cesql_compile() returns 0 with an expression or -EINVAL without one;
 *     a refusal is a parse error with a message, its byte offset inside the
 *     text (the end included) and its column between 1 and offset + 1;
 *   - cesql_eval() returns 0 or an evaluation error kind (never a parse
 *     error), with a message when it is not 0, and a result of one of the
 *     three types; a String result's bytes are all readable (the sanitizers
 *     watch the read);
 *   - cesql_match() is true exactly when cesql_eval() gave Boolean TRUE
 *     without an error, and evaluating twice gives the same result;
 *   - cesql_check() returns 0 or CESQL_ERR_MISSING_FUNCTION.
 *
 * Built with tests/fuzz/replay.c into tests/fuzz/replay-cesql, which runs
 * tests/fuzz/corpus/cesql/ in make check; make fuzz-cesql builds it with
 * clang's libFuzzer (tests/fuzz/local.mk).  The seed corpus is the TCK's
 * expressions and the forms of tests/test-cesql.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "filter/cesql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz-cesql: invariant failed: %s (%s:%d)\n", #cond,       \
                    __FILE__, __LINE__);                                               \
            abort();                                                                   \
        }                                                                              \
    } while (0)

static void fixed_event(struct event *event)
{
    static const char binary[] = {'\x00', '\xff', 'v', 'a', 'n', 'e'};
    struct event_value v;

    event_add_string(event, "specversion", EVENT_STRING, "1.0");
    event_add_string(event, "id", EVENT_STRING, "42");
    event_add_string(event, "source", EVENT_URI_REF, "https://github.com/vane/vane");
    event_add_string(event, "type", EVENT_STRING, "com.github.push");
    event_add_string(event, "subject", EVENT_STRING, "  M\xc3\xa4in \xe2\x80\x83");
    event_add_string(event, "time", EVENT_TIMESTAMP, "2026-11-26T10:00:00Z");
    event_add_string(event, "dataschema", EVENT_URI, "https://example.com/schema");
    event_add_string(event, "myext", EVENT_STRING, "true");
    event_add_string(event, "bad", EVENT_STRING, "\xff\xfe\xc3");
    v.type = EVENT_INTEGER, v.u.integer = -2147483647 - 1;
    event_add(event, "sequence", 8, &v);
    v.type = EVENT_INTEGER, v.u.integer = 1LL << 40;
    event_add(event, "big", 3, &v);
    v.type = EVENT_BOOLEAN, v.u.boolean = false;
    event_add(event, "flag", 4, &v);
    v.type = EVENT_BINARY, v.u.bytes.ptr = binary, v.u.bytes.len = sizeof(binary);
    event_add(event, "blob", 4, &v);
}

/* Reads every byte of a String result, so that a bad pointer or length shows. */
static unsigned touch(const struct cesql_value *value)
{
    unsigned sum = 0;

    if (value->type == CESQL_STRING)
        for (size_t i = 0; i < value->u.string.len; i++)
            sum += (unsigned char)value->u.string.ptr[i];
    return sum;
}

static bool same_value(const struct cesql_value *a, const struct cesql_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case CESQL_BOOLEAN: return a->u.boolean == b->u.boolean;
    case CESQL_INTEGER: return a->u.integer == b->u.integer;
    default:
        return a->u.string.len == b->u.string.len &&
               memcmp(a->u.string.ptr, b->u.string.ptr, a->u.string.len) == 0;
    }
}

static void evaluate(const struct cesql_expr *expr)
{
    struct event event = EVENT_INIT;
    struct cesql_value result, again;
    struct cesql_error error;
    int kind, check;

    fixed_event(&event);
    kind = cesql_eval(expr, &event, &result, &error);
    CHECK(kind == 0 || (kind > CESQL_ERR_PARSE && kind <= CESQL_ERR_GENERIC));
    CHECK(kind == error.kind);
    CHECK(kind == 0 || error.message[0] != '\0');
    CHECK(result.type == CESQL_BOOLEAN || result.type == CESQL_INTEGER ||
          result.type == CESQL_STRING);
    (void)touch(&result);
    CHECK(cesql_match(expr, &event) ==
          (kind == 0 && result.type == CESQL_BOOLEAN && result.u.boolean));
    CHECK(cesql_eval(expr, &event, &again, NULL) == kind);
    CHECK(same_value(&result, &again));
    cesql_value_free(&again);
    cesql_value_free(&result);
    check = cesql_check(expr, &error);
    CHECK(check == 0 || check == CESQL_ERR_MISSING_FUNCTION);
    event_free(&event);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cesql_expr *expr = (struct cesql_expr *)&expr;
    struct cesql_error error;
    int rc = cesql_compile((const char *)data, size, &expr, &error);

    CHECK(rc == 0 || rc == -EINVAL);
    if (rc != 0) {
        CHECK(expr == NULL);
        CHECK(error.kind == CESQL_ERR_PARSE);
        CHECK(error.message[0] != '\0');
        CHECK(error.offset <= size);
        CHECK(error.position >= 1 && error.position <= error.offset + 1);
        return 0;
    }
    CHECK(expr != NULL);
    evaluate(expr);
    cesql_free(expr);
    return 0;
}
