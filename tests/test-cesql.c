/*
 * test-cesql.c -- CloudEvents SQL (filter/cesql.h), called directly.
 *
 * First the CESQL TCK, every case of tests/data/cesql-tck/tck.json (found
 * through VANE_SRCDIR), one TAP line each: the expression is compiled, and
 * a case expecting a parse error must be refused by cesql_compile(); any
 * other is evaluated against its event -- the case's "event", or a default
 * event with the case's "eventOverrides" applied -- and must give the
 * expected result with the expected first error kind (or none).
 *
 * Then what the TCK leaves open, pinned down here:
 *   - parse errors: the column (in characters) and byte offset, and the
 *     words of what was expected, for each kind of mistake; nesting limits;
 *   - precedence and associativity (AND/OR/XOR one level, left to right);
 *   - integer edges: literals at the 32-bit limits, overflow held at the
 *     nearest end with a MathError, C's truncating / and %;
 *   - the error model: zero values when an operand fails, casts that fail
 *     inside an operator, short-circuits that skip an error, positions of
 *     evaluation errors, cesql_check() and cesql_match();
 *   - strings as UTF-8 characters in LENGTH, LEFT, RIGHT, SUBSTRING, TRIM,
 *     LOWER, UPPER and LIKE's "_"; escapes; results that outgrow the scratch
 *     buffer and are owned by the value;
 *   - attributes of every CloudEvents type as CESQL values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/alloc.h"
#include "event/event.h"
#include "filter/cesql.h"
#include "tap.h"

/* ---- events ---------------------------------------------------------------------- */

/* The TCK's "any valid event": the required attributes and a few optional ones. */
static const char *const default_attributes[][2] = {
    {"specversion", "1.0"},
    {"id", "tck-default-id"},
    {"source", "https://example.com/tck"},
    {"type", "com.example.tck"},
    {"subject", "tck-subject"},
    {"time", "2018-04-05T17:31:00Z"},
    {"datacontenttype", "application/json"},
};

/* The CloudEvents type of a string attribute named name. */
static enum event_type string_type(const char *name)
{
    if (strcmp(name, "time") == 0)
        return EVENT_TIMESTAMP;
    if (strcmp(name, "source") == 0)
        return EVENT_URI_REF;
    if (strcmp(name, "dataschema") == 0)
        return EVENT_URI;
    return EVENT_STRING;
}

/* Adds (or replaces) the attribute name with a JSON value: a string, an
 * integer or a boolean.  The event points into the JSON. */
static void set_json_attribute(struct event *event, const char *name, json_t *json)
{
    struct event_value value;

    if (json_is_boolean(json)) {
        value.type = EVENT_BOOLEAN;
        value.u.boolean = json_is_true(json);
    } else if (json_is_integer(json)) {
        value.type = EVENT_INTEGER;
        value.u.integer = json_integer_value(json);
    } else {
        value.type = string_type(name);
        value.u.bytes.ptr = json_string_value(json);
        value.u.bytes.len = json_string_length(json);
    }
    for (size_t i = 0; i < event->attr_count; i++) {
        if (event->attrs[i].name.len == strlen(name) &&
            memcmp(event->attrs[i].name.ptr, name, strlen(name)) == 0) {
            event->attrs[i].value = value;
            return;
        }
    }
    event_add(event, name, strlen(name), &value);
}

/* The event of a TCK case. */
static void case_event(json_t *tcase, struct event *event)
{
    json_t *given = json_object_get(tcase, "event"), *value;
    const char *name;

    if (given != NULL) {
        json_object_foreach(given, name, value)
            set_json_attribute(event, name, value);
        return;
    }
    for (size_t i = 0; i < sizeof(default_attributes) / sizeof(default_attributes[0]); i++)
        event_add_string(event, default_attributes[i][0], string_type(default_attributes[i][0]),
                         default_attributes[i][1]);
    json_object_foreach(json_object_get(tcase, "eventOverrides"), name, value)
        set_json_attribute(event, name, value);
}

/* s for a test's description: control characters and bytes outside ASCII
 * escaped, so that each TAP line stays one line. */
static const char *printable(const char *s, char buf[256])
{
    size_t at = 0;

    for (; *s != '\0' && at < 240; s++) {
        unsigned char c = (unsigned char)*s;

        if (c >= 0x20 && c < 0x7f)
            buf[at++] = (char)c;
        else
            at += (size_t)snprintf(buf + at, 256 - at, "\\x%02x", c);
    }
    buf[at] = '\0';
    return buf;
}

/* ---- results ---------------------------------------------------------------------- */

/* A value as text for messages: TRUE, 42, 'text'. */
static const char *show(const struct cesql_value *v, char buf[160])
{
    switch (v->type) {
    case CESQL_BOOLEAN: return v->u.boolean ? "TRUE" : "FALSE";
    case CESQL_INTEGER: snprintf(buf, 160, "%d", (int)v->u.integer); return buf;
    default: snprintf(buf, 160, "'%.*s'", (int)v->u.string.len, v->u.string.ptr); return buf;
    }
}

/* Whether v is the JSON value want (a boolean, an integer or a string). */
static bool value_is_json(const struct cesql_value *v, json_t *want)
{
    if (json_is_boolean(want))
        return v->type == CESQL_BOOLEAN && v->u.boolean == json_is_true(want);
    if (json_is_integer(want))
        return v->type == CESQL_INTEGER && v->u.integer == json_integer_value(want);
    return json_is_string(want) && v->type == CESQL_STRING &&
           v->u.string.len == json_string_length(want) &&
           memcmp(v->u.string.ptr, json_string_value(want), v->u.string.len) == 0;
}

/* ---- the TCK ----------------------------------------------------------------------- */

/* The case's expression as text: YAML made TRUE, FALSE and numbers JSON scalars. */
static const char *case_expression(json_t *json, char buf[32])
{
    if (json_is_string(json))
        return json_string_value(json);
    if (json_is_boolean(json))
        return json_is_true(json) ? "TRUE" : "FALSE";
    if (json_is_integer(json)) {
        snprintf(buf, 32, "%lld", (long long)json_integer_value(json));
        return buf;
    }
    return NULL;
}

/* Runs one case; returns NULL when it passes, else why not (in why). */
static const char *run_case(json_t *tcase, char why[512])
{
    const char *want_error = json_string_value(json_object_get(tcase, "error"));
    json_t *want_result = json_object_get(tcase, "result");
    struct cesql_error error;
    struct cesql_value result;
    struct cesql_expr *expr = NULL;
    struct event event = EVENT_INIT;
    char buf[32], shown[160];
    const char *text = case_expression(json_object_get(tcase, "expression"), buf);
    int rc;

    if (text == NULL)
        return "the case has no expression";
    rc = cesql_compile(text, strlen(text), &expr, &error);
    if (want_error != NULL && strcmp(want_error, "parse") == 0) {
        if (rc == 0) {
            cesql_free(expr);
            return "compiled, but a parse error was expected";
        }
        return error.kind == CESQL_ERR_PARSE && error.message[0] != '\0'
                   ? NULL : "refused without a parse error and a message";
    }
    if (rc != 0) {
        snprintf(why, 512, "refused at column %zu: %s", error.position, error.message);
        return why;
    }
    case_event(tcase, &event);
    rc = cesql_eval(expr, &event, &result, &error);
    why[0] = '\0';
    if (strcmp(cesql_error_name(rc), want_error != NULL ? want_error : "none") != 0)
        snprintf(why, 512, "error %s (%s), expected %s", cesql_error_name(rc), error.message,
                 want_error != NULL ? want_error : "none");
    else if (want_result != NULL && !value_is_json(&result, want_result))
        snprintf(why, 512, "result %s, expected %s", show(&result, shown),
                 json_dumps(want_result, JSON_ENCODE_ANY)); /* leaks on failure only */
    cesql_value_free(&result);
    cesql_free(expr);
    event_free(&event);
    return why[0] != '\0' ? why : NULL;
}

static void run_tck(void)
{
    char *path = vane_asprintf("%s/tests/data/cesql-tck/tck.json", getenv("VANE_SRCDIR"));
    json_error_t json_error;
    json_t *suites = json_load_file(path, 0, &json_error), *suite, *tcase;
    size_t i, j, cases = 0, passed = 0;

    if (!ok(json_is_array(suites), "the TCK loads from %s", path))
        tap_diag("%s at line %d", json_error.text, json_error.line);
    json_array_foreach(suites, i, suite) {
        const char *suite_name = json_string_value(json_object_get(suite, "name"));

        json_array_foreach(json_object_get(suite, "tests"), j, tcase) {
            const char *name = json_string_value(json_object_get(tcase, "name"));
            char why[512];
            const char *failure = run_case(tcase, why);

            cases++;
            if (ok(failure == NULL, "TCK %s: %s", suite_name, name))
                passed++;
            else
                tap_diag("expression %s: %s",
                         json_dumps(json_object_get(tcase, "expression"), JSON_ENCODE_ANY),
                         failure);
        }
    }
    is_int(cases, 275, "the TCK has 275 cases");
    tap_diag("TCK: %zu of %zu cases pass", passed, cases);
    json_decref(suites);
    vane_free(path);
}

/* ---- parse errors ------------------------------------------------------------------ */

static const struct parse_error_case {
    const char *text;
    size_t column, offset;
    const char *message; /* a part of it */
} parse_errors[] = {
    {"", 1, 0, "expected an expression, found the end of the expression"},
    {"   ", 4, 3, "expected an expression, found the end of the expression"},
    {"ABC(", 5, 4, "expected an expression or ')' in the arguments of ABC, found the end"},
    {"CONCAT('a',)", 12, 11, "expected an expression in the arguments of CONCAT, found ')'"},
    {"LOWER('a' 'b')", 11, 10, "expected ',' or ')' in the arguments of LOWER, found a string"},
    {"x LIKE 123", 8, 7, "expected a string literal as the LIKE pattern, found '123'"},
    {"x LIKE type", 8, 7, "expected a string literal as the LIKE pattern, found 'type'"},
    {"'abc", 1, 0, "unterminated string literal: expected a closing '"},
    {"\"abc\\\"", 1, 0, "unterminated string literal: expected a closing \""},
    {"a = = b", 5, 4, "expected an expression, found '='"},
    {"a b", 3, 2, "expected an operator or the end of the expression, found 'b'"},
    {"(1 + 2", 7, 6, "expected ')', found the end of the expression"},
    {"1 + 2)", 6, 5, "expected an operator or the end of the expression, found ')'"},
    {"2147483648", 1, 0, "the integer 2147483648 is out of range"},
    {"-2147483649", 1, 0, "the integer -2147483649 is out of range"},
    {"x = +", 5, 4, "expected an expression, found '+'"},
    {"my_ext = 'a'", 1, 0, "'my_ext' is not an attribute name"},
    {"EXISTS my_ext", 8, 7, "'my_ext' is not an attribute name"},
    {"EXISTS 5", 8, 7, "expected an attribute name, found '5'"},
    {"EXISTS", 7, 6, "expected an attribute name, found the end of the expression"},
    {"abc1(2)", 1, 0, "'abc1' is not a function name"},
    {"_x(2)", 1, 0, "'_x' is not a function name"},
    {"x IN ()", 7, 6, "expected an expression in the set of IN, found ')'"},
    {"x IN (1, 2", 11, 10, "expected ',' or ')' in the set of IN, found the end"},
    {"x IN 1", 6, 5, "expected '(' to open the set after IN, found '1'"},
    {"x NOT 5", 7, 6, "expected LIKE or IN after NOT, found '5'"},
    {"a ! b", 3, 2, "unexpected character '!': expected '!='"},
    {"a = #", 5, 4, "unexpected character '#'"},
    {"'\xc3\xa9' = x #", 9, 9, "unexpected character '#'"}, /* 'é' is 2 bytes, 1 column */
    {"x = \xc3\xa9", 5, 4, "unexpected character U+00E9"},
    {"x = \xff", 5, 4, "unexpected byte 0xff"},
    {"TRUE AND", 9, 8, "expected an expression, found the end"},
    {"NOT", 4, 3, "expected an expression, found the end"},
};

static void test_parse_errors(void)
{
    for (size_t i = 0; i < sizeof(parse_errors) / sizeof(parse_errors[0]); i++) {
        const struct parse_error_case *c = &parse_errors[i];
        struct cesql_expr *expr = (struct cesql_expr *)&expr;
        struct cesql_error error;
        int rc = cesql_compile(c->text, strlen(c->text), &expr, &error);
        char name[256];

        printable(c->text, name);
        is_int(rc, -EINVAL, "\"%s\" is refused", name);
        ok(expr == NULL, "\"%s\": no expression comes out", name);
        is_int(error.kind, CESQL_ERR_PARSE, "\"%s\": a parse error", name);
        is_int(error.position, c->column, "\"%s\": at column %zu", name, c->column);
        is_int(error.offset, c->offset, "\"%s\": at byte %zu", name, c->offset);
        contains(error.message, c->message, "\"%s\": the message says what was expected",
                 name);
    }
}

/* A NUL byte is a character like any other to the lexer: refused. */
static void test_nul_byte(void)
{
    struct cesql_expr *expr;
    struct cesql_error error;

    is_int(cesql_compile("x = \0", 5, &expr, &error), -EINVAL, "a NUL byte is refused");
    contains(error.message, "unexpected character U+0000", "and named");
    is_int(cesql_compile("x = 'a'\0garbage", 7, &expr, &error), 0,
           "only len bytes are read");
    cesql_free(expr);
}

/* Text of n copies of piece between prefix and suffix. */
static char *repeat(const char *prefix, const char *piece, size_t n, const char *suffix)
{
    size_t len = strlen(prefix) + strlen(piece) * n + strlen(suffix);
    char *text = vane_malloc(len + 1);

    strcpy(text, prefix);
    for (size_t i = 0; i < n; i++)
        strcat(text, piece);
    strcat(text, suffix);
    return text;
}

static void test_nesting_limits(void)
{
    struct {
        const char *prefix, *piece, *suffix;
    } shapes[] = {
        {"", "(", "1"},             /* parentheses (the ')' never come: refused first) */
        {"", "NOT ", "TRUE"},       /* a chain of unary operators */
        {"", "-", "1"},
        {"1", " + 1", ""},          /* a left-deep chain of binary operators */
        {"", "LOWER(", "'a'"},      /* nested calls */
        {"1", " IN (1)", ""},       /* postfix chains */
    };

    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        char *deep = repeat(shapes[i].prefix, shapes[i].piece, CESQL_MAX_DEPTH + 5,
                            shapes[i].suffix);
        struct cesql_expr *expr;
        struct cesql_error error;

        is_int(cesql_compile(deep, strlen(deep), &expr, &error), -EINVAL,
               "nesting \"%s\" deeper than the limit is refused", shapes[i].piece);
        contains(error.message, "nests deeper than", "with a message saying so");
        vane_free(deep);
    }
    {
        char *fine = repeat("1", " + 1", CESQL_MAX_DEPTH - 2, "");
        struct cesql_expr *expr;
        struct cesql_error error;
        struct cesql_value result;
        struct event event = EVENT_INIT;

        is_int(cesql_compile(fine, strlen(fine), &expr, &error), 0,
               "a chain just under the limit compiles");
        is_int(cesql_eval(expr, &event, &result, NULL), 0, "and evaluates");
        is_int(result.u.integer, CESQL_MAX_DEPTH - 1, "to its sum");
        cesql_free(expr);
        vane_free(fine);
    }
}

/* ---- evaluation -------------------------------------------------------------------- */

/* The event the evaluation cases run against. */
static void sample_event(struct event *event)
{
    static const char binary[] = {'\x00', '\xff', 'a', 'b'};
    struct event_value v;

    event_add_string(event, "specversion", EVENT_STRING, "1.0");
    event_add_string(event, "id", EVENT_STRING, "A234-1234-1234");
    event_add_string(event, "source", EVENT_URI_REF, "https://github.com/vane/vane");
    event_add_string(event, "type", EVENT_STRING, "com.github.push");
    event_add_string(event, "subject", EVENT_STRING, "main");
    event_add_string(event, "time", EVENT_TIMESTAMP, "2026-11-26T10:00:00.5+01:00");
    event_add_string(event, "title", EVENT_STRING, "  h\xc3\xa9llo w\xc3\xb6rld\xc2\xa0");
    v.type = EVENT_INTEGER, v.u.integer = 42;
    event_add(event, "sequence", 8, &v);
    v.type = EVENT_INTEGER, v.u.integer = 5000000000LL;
    event_add(event, "bignumber", 9, &v);
    v.type = EVENT_BOOLEAN, v.u.boolean = true;
    event_add(event, "flag", 4, &v);
    v.type = EVENT_BINARY, v.u.bytes.ptr = binary, v.u.bytes.len = sizeof(binary);
    event_add(event, "blob", 4, &v);
}

/* One expression, its result as the show() text, its first error kind. */
static const struct eval_case {
    const char *text;
    const char *result;
    int error;
} eval_cases[] = {
    /* precedence and associativity */
    {"TRUE OR FALSE AND FALSE", "FALSE", 0},     /* (TRUE OR FALSE) AND FALSE */
    {"FALSE AND FALSE OR TRUE", "TRUE", 0},
    {"TRUE XOR TRUE XOR TRUE", "TRUE", 0},
    {"2 + 3 * 4", "14", 0},
    {"10 - 4 - 3", "3", 0},
    {"100 / 10 / 5", "2", 0},
    {"1 + 1 = 2", "TRUE", 0},
    {"1 < 2 = TRUE", "TRUE", 0},
    {"NOT TRUE = FALSE", "TRUE", 0},             /* (NOT TRUE) = FALSE */
    {"NOT (type LIKE 'com.%')", "FALSE", 0},
    {"type NOT LIKE 'com.%'", "FALSE", 0},
    {"-sequence + 2", "-40", 0},
    {"- 5", "-5", 0},
    {"4 -1", "3", 0},
    {"4-1", "3", 0},
    {"+7", "7", 0},
    {"sequence IN (1, 42) AND subject = 'main'", "TRUE", 0},
    /* case-insensitive words, white space */
    {"tRuE aNd NoT fAlSe", "TRUE", 0},
    {"lower('ABC')", "'abc'", 0},
    {"Concat_Ws('-', 'a', 'b')", "'a-b'", 0},
    {"EXISTS SubJect", "TRUE", 0},
    {"\ttype\r\n=\n'com.github.push'", "TRUE", 0},
    /* integer edges */
    {"-2147483648", "-2147483648", 0},
    {"2147483647", "2147483647", 0},
    {"2147483647 + 1", "2147483647", CESQL_ERR_MATH},
    {"-2147483648 - 1", "-2147483648", CESQL_ERR_MATH},
    {"65536 * 65536", "2147483647", CESQL_ERR_MATH},
    {"-2147483648 / -1", "2147483647", CESQL_ERR_MATH},
    {"-2147483648 % -1", "0", 0},
    {"-(-2147483648)", "2147483647", CESQL_ERR_MATH},
    {"7 / -2", "-3", 0},
    {"-7 % 3", "-1", 0},
    {"7 % -3", "1", 0},
    {"'abc' < 'abd'", "FALSE", CESQL_ERR_CAST},  /* only Integer compares by order */
    {"'10' > 9", "TRUE", 0},
    /* the error model */
    {"missing", "FALSE", CESQL_ERR_MISSING_ATTRIBUTE},
    {"NOT (missing = 'x')", "FALSE", CESQL_ERR_MISSING_ATTRIBUTE},
    {"missing = 'x' OR TRUE", "FALSE", CESQL_ERR_MISSING_ATTRIBUTE},
    {"FALSE AND missing", "FALSE", 0},
    {"TRUE OR 1 / 0 = 0", "TRUE", 0},
    {"LENGTH(missing)", "0", CESQL_ERR_MISSING_ATTRIBUTE},
    {"CONCAT('a', missing)", "''", CESQL_ERR_MISSING_ATTRIBUTE},
    {"missing IN ('a')", "FALSE", CESQL_ERR_MISSING_ATTRIBUTE},
    {"missing NOT IN ('a')", "FALSE", CESQL_ERR_MISSING_ATTRIBUTE},
    {"'a' IN ('b', missing)", "FALSE", CESQL_ERR_MISSING_ATTRIBUTE},
    {"'a' IN ('a', missing)", "TRUE", 0},          /* found before the missing one */
    {"1 = TRUE", "FALSE", CESQL_ERR_CAST},          /* an implicit Integer -> Boolean */
    {"TRUE = 1", "TRUE", 0},                        /* Boolean -> Integer is fine */
    {"TRUE IN (1)", "FALSE", CESQL_ERR_CAST},
    {"10 AND TRUE", "FALSE", CESQL_ERR_CAST},
    {"'abc' + 1", "1", CESQL_ERR_CAST},             /* 'abc' cast gives 0 */
    {"NOT 'yes'", "TRUE", CESQL_ERR_CAST},
    {"INT(' 1')", "0", CESQL_ERR_CAST},
    {"INT('+12')", "12", 0},
    {"INT('2147483648')", "0", CESQL_ERR_CAST},
    {"INT('')", "0", CESQL_ERR_CAST},
    {"BOOL('yes')", "FALSE", CESQL_ERR_CAST},
    {"FOO(1)", "FALSE", CESQL_ERR_MISSING_FUNCTION},
    {"SUBSTRING('abc')", "FALSE", CESQL_ERR_MISSING_FUNCTION},
    {"ABS(1, 2)", "FALSE", CESQL_ERR_MISSING_FUNCTION},
    {"IS_INT('12')", "TRUE", 0},
    {"IS_INT('1x')", "FALSE", 0},
    {"IS_INT(TRUE)", "TRUE", 0},
    {"IS_BOOL('FaLsE')", "TRUE", 0},
    {"IS_BOOL('no')", "FALSE", 0},
    {"IS_BOOL(5)", "TRUE", 0},
    {"LEFT('abc', 'x')", "''", CESQL_ERR_CAST},
    {"SUBSTRING('abc', 2, -1)", "''", CESQL_ERR_FUNCTION_EVALUATION},
    {"SUBSTRING('abc', 2, 0)", "''", 0},
    {"SUBSTRING('abc', -1, 5)", "'c'", 0},
    {"SUBSTRING('', 1)", "''", CESQL_ERR_FUNCTION_EVALUATION},
    {"LEFT('abc', 0)", "''", 0},
    {"RIGHT('abc', 0)", "''", 0},
    /* strings as UTF-8 characters */
    {"LENGTH('h\xc3\xa9llo')", "5", 0},
    {"LEFT('h\xc3\xa9llo', 2)", "'h\xc3\xa9'", 0},
    {"RIGHT('h\xc3\xa9llo', 4)", "'\xc3\xa9llo'", 0},
    {"SUBSTRING('h\xc3\xa9llo', -4, 2)", "'\xc3\xa9l'", 0},
    {"UPPER('h\xc3\xa9llo \xce\xb1\xce\xb2 \xd0\xb6')", "'H\xc3\x89LLO \xce\x91\xce\x92 \xd0\x96'", 0},
    {"LOWER('\xc3\x80\xc3\x89\xc3\x8e \xc5\xb8 \xc4\xb0')", "'\xc3\xa0\xc3\xa9\xc3\xae \xc3\xbf \xc4\xb0'", 0},
    {"UPPER('\xc3\xbf\xc5\x93')", "'\xc5\xb8\xc5\x92'", 0},
    {"UPPER('a\xffz')", "'A\xffZ'", 0},             /* a byte that is not UTF-8 is kept */
    {"LENGTH('a\xff')", "2", 0},
    {"TRIM(title)", "'h\xc3\xa9llo w\xc3\xb6rld'", 0}, /* a no-break space is white space */
    {"TRIM('   ')", "''", 0},
    {"TRIM('')", "''", 0},
    {"'\xc3\xa9' LIKE '_'", "TRUE", 0},
    {"'\xc3\xa9' LIKE '__'", "FALSE", 0},
    /* LIKE */
    {"type LIKE 'com.github.%'", "TRUE", 0},
    {"type LIKE '%.push'", "TRUE", 0},
    {"type LIKE '%github%'", "TRUE", 0},
    {"type LIKE '%git_ub%sh'", "TRUE", 0},
    {"type LIKE 'com%%%push'", "TRUE", 0},
    {"type LIKE '%'", "TRUE", 0},
    {"'' LIKE '%'", "TRUE", 0},
    {"'' LIKE ''", "TRUE", 0},
    {"'a' LIKE ''", "FALSE", 0},
    {"'' LIKE '_'", "FALSE", 0},
    {"'aaa' LIKE '%a%a%a%'", "TRUE", 0},
    {"'aa' LIKE '%a%a%a%'", "FALSE", 0},
    {"'abcabd' LIKE '%abd'", "TRUE", 0},
    {"'abcabd' LIKE 'a%bd'", "TRUE", 0},
    {"'mississippi' LIKE 'm%iss%ppi'", "TRUE", 0},
    {"'a\\b' LIKE 'a\\b'", "TRUE", 0},              /* a "\" before b is itself */
    {"'a%' LIKE 'a\\%'", "TRUE", 0},
    {"'ab' LIKE 'a\\%'", "FALSE", 0},
    {"'ABC' LIKE 'abc'", "FALSE", 0},
    {"sequence LIKE '4_'", "TRUE", 0},
    {"flag LIKE 'TRUE'", "FALSE", 0},               /* Boolean -> 'true' */
    /* string literals */
    {"'it\\'s'", "'it's'", 0},
    {"\"say \\\"hi\\\"\"", "'say \"hi\"'", 0},
    {"'a\\\\'", "'a\\\\'", 0},                      /* a "\" pair is kept whole */
    {"\"it's\"", "'it's'", 0},
    {"'\"'", "'\"'", 0},
    /* attributes of every type */
    {"sequence", "42", 0},
    {"sequence = '42'", "TRUE", 0},
    {"bignumber", "'5000000000'", 0},
    {"flag", "TRUE", 0},
    {"flag = 'true'", "TRUE", 0},                 /* TRUE is cast to the String 'true' */
    {"flag = 'TRUE'", "FALSE", 0},
    {"'TRUE' = flag", "TRUE", 0},                 /* 'TRUE' is cast to the Boolean TRUE */
    {"blob", "'AP9hYg=='", 0},
    {"time", "'2026-11-26T10:00:00.5+01:00'", 0},
    {"source LIKE 'https://github.com/%'", "TRUE", 0},
    {"EXISTS blob AND NOT EXISTS dataschema", "TRUE", 0},
};

static void test_eval(void)
{
    struct event event = EVENT_INIT;

    sample_event(&event);
    for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
        const struct eval_case *c = &eval_cases[i];
        struct cesql_expr *expr;
        struct cesql_error error;
        struct cesql_value result;
        char shown[160], name[256], want[256];

        printable(c->text, name);
        if (!is_int(cesql_compile(c->text, strlen(c->text), &expr, &error), 0,
                    "\"%s\" compiles", name)) {
            tap_diag("column %zu: %s", error.position, error.message);
            continue;
        }
        is_int(cesql_eval(expr, &event, &result, &error), c->error, "\"%s\": error %s",
               name, cesql_error_name(c->error));
        is_str(show(&result, shown), c->result, "\"%s\" is %s", name,
               printable(c->result, want));
        cesql_value_free(&result);
        cesql_free(expr);
    }
    event_free(&event);
}

/* Evaluation errors say where and what. */
static void test_eval_error_details(void)
{
    static const struct {
        const char *text;
        size_t column;
        const char *message;
    } cases[] = {
        {"1 + missing", 5, "the event has no attribute 'missing'"},
        {"1 / 0", 3, "division by zero"},
        {"TRUE AND   'yes'", 12, "cannot cast the string 'yes' to Boolean"},
        {"INT('12x')", 5, "cannot cast the string '12x' to Integer"},
        {"NOT 10", 5, "cannot use the integer 10 as a Boolean"},
        {"  FOO(1)", 3, "there is no function FOO"},
        {"SUBSTRING('a')", 1, "SUBSTRING takes 2 or 3 arguments, not 1"},
        {"CONCAT_WS()", 1, "CONCAT_WS takes 1 or more arguments, not 0"},
        {"LEFT('a', -1)", 1, "LEFT: the count of characters is -1"},
        {"ABS(-2147483648)", 1, "held at 2147483647"},
        {"x = 1 AND 1/0 = 0", 1, "no attribute 'x'"}, /* the first error only */
    };
    struct event event = EVENT_INIT;

    sample_event(&event);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cesql_expr *expr;
        struct cesql_error error;
        struct cesql_value result;

        if (cesql_compile(cases[i].text, strlen(cases[i].text), &expr, &error) != 0) {
            ok(false, "\"%s\" compiles: %s", cases[i].text, error.message);
            continue;
        }
        cesql_eval(expr, &event, &result, &error);
        is_int(error.position, cases[i].column, "\"%s\": the error is at column %zu",
               cases[i].text, cases[i].column);
        contains(error.message, cases[i].message, "\"%s\": the error says so", cases[i].text);
        cesql_value_free(&result);
        cesql_free(expr);
    }
    event_free(&event);
}

static void test_check(void)
{
    static const struct {
        const char *text;
        int kind;
        size_t column;
    } cases[] = {
        {"type = 'a' AND LOWER(subject) = 'main'", 0, 0},
        {"type = 'a' OR NOPE(subject)", CESQL_ERR_MISSING_FUNCTION, 15},
        {"x IN (1, UPPER('a', 'b'))", CESQL_ERR_MISSING_FUNCTION, 10},
        {"LOWER(CONCAT_WS())", CESQL_ERR_MISSING_FUNCTION, 7},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cesql_expr *expr;
        struct cesql_error error;

        if (cesql_compile(cases[i].text, strlen(cases[i].text), &expr, &error) != 0) {
            ok(false, "\"%s\" compiles: %s", cases[i].text, error.message);
            continue;
        }
        is_int(cesql_check(expr, &error), cases[i].kind, "cesql_check(\"%s\")", cases[i].text);
        is_int(error.position, cases[i].column, "\"%s\": at column %zu", cases[i].text,
               cases[i].column);
        cesql_free(expr);
    }
}

static void test_match(void)
{
    static const struct {
        const char *text;
        bool match;
    } cases[] = {
        {"type LIKE 'com.github.%' AND subject = 'main'", true},
        {"type LIKE 'com.github.%' AND subject = 'dev'", false},
        {"TRUE", true},
        {"1", false},                      /* not a Boolean */
        {"'true'", false},
        {"NOT 10", false},                 /* TRUE, but with a CastError */
        {"missing = 'x' OR TRUE", false},
        {"NOT EXISTS missing", true},
        {"ABS(-2147483648) > 0", false},   /* TRUE with a MathError */
    };
    struct event event = EVENT_INIT;

    sample_event(&event);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cesql_expr *expr;

        if (cesql_compile(cases[i].text, strlen(cases[i].text), &expr, NULL) != 0) {
            ok(false, "\"%s\" compiles", cases[i].text);
            continue;
        }
        is_int(cesql_match(expr, &event), cases[i].match, "cesql_match(\"%s\")",
               cases[i].text);
        cesql_free(expr);
    }
    event_free(&event);
}

/* Strings made by evaluation: bigger than the scratch buffer, many
 * arguments, and a result that must outlive the evaluation. */
static void test_owned_results(void)
{
    struct event event = EVENT_INIT;
    char *text = repeat("CONCAT(", "type, ", 40, "'!')");
    struct cesql_expr *expr;
    struct cesql_value result;

    sample_event(&event);
    if (!is_int(cesql_compile(text, strlen(text), &expr, NULL), 0, "a 41-argument CONCAT compiles"))
        goto out;
    is_int(cesql_eval(expr, &event, &result, NULL), 0, "and evaluates");
    is_int(result.u.string.len, 40 * strlen("com.github.push") + 1, "to 40 types and a '!'");
    ok(result.owned != NULL && result.u.string.ptr == result.owned,
       "into memory the result owns");
    ok(memcmp(result.u.string.ptr + result.u.string.len - 16, "com.github.push!", 16) == 0,
       "with the right bytes at the end");
    cesql_value_free(&result);
    ok(result.owned == NULL, "cesql_value_free() releases it");
    ok(cesql_match(expr, &event) == false, "a String is no match");
    cesql_free(expr);

    is_int(cesql_compile("type", 4, &expr, NULL), 0, "an attribute alone compiles");
    cesql_eval(expr, &event, &result, NULL);
    ok(result.owned == NULL && result.u.string.ptr == event.attrs[3].value.u.bytes.ptr,
       "and its String points into the event, not a copy");
    cesql_value_free(&result);
    cesql_free(expr);
out:
    vane_free(text);
    event_free(&event);
}

int main(void)
{
    run_tck();
    test_parse_errors();
    test_nul_byte();
    test_nesting_limits();
    test_eval();
    test_eval_error_details();
    test_check();
    test_match();
    test_owned_results();
    return tap_done();
}
