/*
 * transform_value.c -- values as Vanus's transformer sees them: its casts
 * between strings, numbers and arrays, and JSON text written the way Go
 * writes it (see transform_internal.h).
 *
 * Vanus holds every JSON number as a Go float64 and prints it with Go's
 * rules, which differ by where it is printed:
 *   - cast to a string (fmt's %v): the shortest digits that read back
 *     exactly, in exponent form when the exponent is below -4 or at least
 *     6 for reals ("1e+06", "0.5"); integers here stay integers ("1000000"),
 *     since jansson keeps them apart and so does Vanus's path reader;
 *   - in JSON (encoding/json): shortest digits, exponent form only below
 *     1e-6 or from 1e21 up ("1e-7", "1e+21").
 * jansson's own writer prints 17 digits ("0.10000000000000001"), so JSON is
 * written here instead.
 *
 * Casts that cannot be made (a boolean to a number, an object to a string
 * array) fail with a message saying what was found; Vanus's casts fail in
 * the same places.  A null never casts: Vanus treats it as a missing value.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event_json.h"
#include "transform/transform_internal.h"

const char *transform_value_kind(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

json_t *transform_value_stringn(const char *s, size_t len)
{
    return json_stringn(s != NULL ? s : "", len);
}

/* ---- numbers as Go prints them ----------------------------------------- */

/* The shortest decimal digits of d (finite, not 0) that read back exactly, and its exponent. */
static void shortest_digits(double d, char *digits, size_t *ndigits, int *exp10)
{
    char text[40], *p;
    size_t n = 0;

    for (int prec = 1; prec <= 17; prec++) {
        snprintf(text, sizeof(text), "%.*e", prec - 1, fabs(d));
        if (strtod(text, NULL) == fabs(d))
            break;
    }
    for (p = text; *p != 'e'; p++)
        if (*p != '.')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *ndigits = n;
    *exp10 = atoi(p + 1);
}

/* d in Go's 'e' (exponent) or 'f' (plain) form with the shortest digits. */
static void format_real(struct vane_buf *out, double d, bool exponent, bool two_digit_exponent)
{
    char digits[24];
    size_t n;
    int exp10;

    if (d == 0) {
        vane_buf_append_str(out, signbit(d) ? "-0" : "0");
        return;
    }
    shortest_digits(d, digits, &n, &exp10);
    if (d < 0)
        vane_buf_append(out, "-", 1);
    if (exponent) {
        vane_buf_append(out, digits, 1);
        if (n > 1) {
            vane_buf_append(out, ".", 1);
            vane_buf_append(out, digits + 1, n - 1);
        }
        vane_buf_appendf(out, two_digit_exponent ? "e%c%02d" : "e%c%d", exp10 < 0 ? '-' : '+',
                         abs(exp10));
        return;
    }
    if (exp10 < 0) {
        vane_buf_append_str(out, "0.");
        for (int i = -1; i > exp10; i--)
            vane_buf_append(out, "0", 1);
        vane_buf_append(out, digits, n);
        return;
    }
    for (int i = 0; i <= exp10 || (size_t)i < n; i++) {
        if (i == exp10 + 1)
            vane_buf_append(out, ".", 1);
        vane_buf_append(out, (size_t)i < n ? &digits[i] : "0", 1);
    }
}

/* fmt's %v of a float64. */
static void format_go_v(struct vane_buf *out, double d)
{
    char digits[24];
    size_t n;
    int exp10 = 0;

    if (d != 0)
        shortest_digits(d, digits, &n, &exp10);
    format_real(out, d, exp10 < -4 || exp10 >= 6, true);
}

/* encoding/json's float64. */
static void format_json_real(struct vane_buf *out, double d)
{
    double a = fabs(d);

    format_real(out, d, a != 0 && (a < 1e-6 || a >= 1e21), false);
}

json_t *transform_value_from_double(double d)
{
    if (!isfinite(d))
        return NULL;
    if (d == trunc(d) && fabs(d) < 9007199254740992.0) /* 2^53: every integer exact */
        return json_integer((json_int_t)d);
    return json_real(d);
}

/* ---- JSON text ------------------------------------------------------------- */

void transform_value_escape(struct vane_buf *out, const char *s, size_t len)
{
    struct vane_buf quoted = VANE_BUF_INIT;

    event_json_string(&quoted, s, len);
    vane_buf_append(out, quoted.data + 1, quoted.len - 2);
    vane_buf_free(&quoted);
}

void transform_value_json(struct vane_buf *out, const json_t *value)
{
    const char *key;
    json_t *member;
    size_t i;
    bool first = true;

    switch (json_typeof(value)) {
    case JSON_OBJECT:
        vane_buf_append(out, "{", 1);
        json_object_foreach((json_t *)value, key, member) {
            if (!first)
                vane_buf_append(out, ",", 1);
            first = false;
            event_json_string(out, key, strlen(key));
            vane_buf_append(out, ":", 1);
            transform_value_json(out, member);
        }
        vane_buf_append(out, "}", 1);
        break;
    case JSON_ARRAY:
        vane_buf_append(out, "[", 1);
        json_array_foreach(value, i, member) {
            if (i > 0)
                vane_buf_append(out, ",", 1);
            transform_value_json(out, member);
        }
        vane_buf_append(out, "]", 1);
        break;
    case JSON_STRING:
        event_json_string(out, json_string_value(value), json_string_length(value));
        break;
    case JSON_INTEGER:
        vane_buf_appendf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        break;
    case JSON_REAL:
        format_json_real(out, json_real_value(value));
        break;
    case JSON_TRUE: vane_buf_append_str(out, "true"); break;
    case JSON_FALSE: vane_buf_append_str(out, "false"); break;
    case JSON_NULL: vane_buf_append_str(out, "null"); break;
    }
}

void transform_value_text(struct vane_buf *out, const json_t *value)
{
    if (json_is_string(value))
        vane_buf_append(out, json_string_value(value), json_string_length(value));
    else
        transform_value_json(out, value);
}

/* ---- casts ------------------------------------------------------------------- */

int transform_value_string(const json_t *value, struct vane_buf *out,
                           struct transform_error *err)
{
    switch (json_typeof(value)) {
    case JSON_STRING:
        vane_buf_append(out, json_string_value(value), json_string_length(value));
        return 0;
    case JSON_REAL:
        format_go_v(out, json_real_value(value));
        return 0;
    case JSON_NULL:
        return transform_why(err, "expected a value, found null");
    default:
        transform_value_json(out, value);
        return 0;
    }
}

int transform_value_number(const json_t *value, double *out, struct transform_error *err)
{
    const char *s = json_string_value(value);
    char *end;

    if (json_is_number(value)) {
        *out = json_number_value(value);
        return 0;
    }
    if (s == NULL)
        return transform_why(err, "expected a number, found %s", transform_value_kind(value));
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end != '\0' || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' ||
        json_string_length(value) != strlen(s))
        return transform_why(err, "expected a number, found the string \"%.40s\"", s);
    if (errno == ERANGE || !isfinite(*out))
        return transform_why(err, "\"%.40s\" is not a finite number", s);
    return 0;
}

int transform_value_int(const json_t *value, long long *out, struct transform_error *err)
{
    const char *s = json_string_value(value);
    double d;
    char *end;

    if (json_is_integer(value)) {
        *out = json_integer_value(value);
        return 0;
    }
    if (json_is_real(value)) {
        d = json_real_value(value);
        if (!(d > -9.2e18 && d < 9.2e18))
            return transform_why(err, "%g is too large for an integer", d);
        *out = (long long)d;
        return 0;
    }
    if (s == NULL)
        return transform_why(err, "expected an integer, found %s", transform_value_kind(value));
    errno = 0;
    *out = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || s[0] == ' ' || s[0] == '\t' ||
        s[0] == '\n' || json_string_length(value) != strlen(s))
        return transform_why(err, "expected an integer, found the string \"%.40s\"", s);
    return 0;
}
