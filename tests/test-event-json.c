/*
 * test-event-json.c -- the parsers of published events, called directly
 * (no daemon): RFC 3339 timestamps (timestamp.h), raw JSON spans
 * (json_span.h), the structured-mode JSON format in and out
 * (event_json.h), the spec's validation rules (event_check.h) and the HTTP
 * binding in its three modes (binding.h).
 *
 * What each group pins down:
 *   - timestamps: every field checked for range (leap years, month 13,
 *     24:00, zone offsets), 't'/'z' in either case, fractions of any
 *     length, and formatting as the shortest exact text;
 *   - json_span: the exact text of a member or of array elements, however
 *     nested or escaped the values around it are;
 *   - the JSON format: every attribute type in and out, "data" kept byte
 *     for byte as the client wrote it, data_base64 decoded (and refused when
 *     malformed), application/json implied for data without a content type;
 *   - event_check: one case per rule, each failure naming its attribute;
 *   - binding_parse: binary (ce-* headers, quoted strings, percent-decoding
 *     as the HTTP binding spec's section 3.1.3.2 says), structured, batch
 *     (a bad event refuses the whole batch, naming its index) and the 415s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json_span.h"
#include "event/event.h"
#include "event/event_check.h"
#include "event/event_json.h"
#include "event/timestamp.h"
#include "gateway/binding.h"
#include "tap.h"

/* ---- timestamps --------------------------------------------------------- */

/* timestamp_parse() of a NUL-terminated text; *ns is 0 when it refuses. */
static int parse_time(const char *text, int64_t *ns)
{
    const char *why = NULL;
    int rc;

    *ns = 0;
    rc = timestamp_parse(text, strlen(text), ns, &why);
    if (rc != 0 && (why == NULL || why[0] == '\0'))
        tap_diag("timestamp_parse(\"%s\") refused it without saying why", text);
    return rc;
}

/* Parses text and formats it back; the text as UTC, shortest form. */
static void time_as_utc(const char *text, const char *want)
{
    char out[TIMESTAMP_MAX_LEN];
    int64_t ns;

    if (!is_int(parse_time(text, &ns), 0, "timestamp %s is accepted", text))
        return;
    timestamp_format(ns, out);
    is_str(out, want, "timestamp %s is %s", text, want);
}

static void time_refused(const char *text, const char *what)
{
    int64_t ns;

    is_int(parse_time(text, &ns), -EINVAL, "timestamp \"%s\" is refused (%s)", text, what);
}

static void test_timestamp_parse(void)
{
    int64_t a, b;
    int rc;

    time_as_utc("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z");
    parse_time("1970-01-01T00:00:00Z", &a);
    is_int(a, 0, "the epoch is 0 ns");
    parse_time("2026-11-26T10:00:00Z", &a);
    is_int(a, INT64_C(1795687200) * 1000000000, "2026-11-26T10:00:00Z in ns since the epoch");

    /* Leap years: every 4th, not every 100th, but every 400th. */
    time_as_utc("2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z");
    time_as_utc("2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z");
    time_refused("2023-02-29T00:00:00Z", "2023 is no leap year");
    time_refused("1900-02-29T00:00:00Z", "1900 is no leap year");
    time_refused("2026-04-31T00:00:00Z", "April has 30 days");
    time_refused("2026-01-32T00:00:00Z", "day 32");
    time_refused("2026-01-00T00:00:00Z", "day 0");
    time_refused("2026-13-01T00:00:00Z", "month 13");
    time_refused("2026-00-01T00:00:00Z", "month 0");

    /* Zone offsets are subtracted to give UTC. */
    time_as_utc("2026-11-26T12:30:00+02:30", "2026-11-26T10:00:00Z");
    time_as_utc("2026-11-26T05:00:00-05:00", "2026-11-26T10:00:00Z");
    time_as_utc("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00Z");
    time_as_utc("2026-11-26T10:00:00-00:00", "2026-11-26T10:00:00Z");
    time_refused("2026-11-26T10:00:00+24:00", "zone hour 24");
    time_refused("2026-11-26T10:00:00+02:60", "zone minute 60");
    time_refused("2026-11-26T10:00:00+0200", "zone without colon");
    time_refused("2026-11-26T10:00:00+2:00", "one-digit zone hour");
    time_refused("2026-11-26T10:00:00", "no zone");
    time_refused("2026-11-26T10:00:00ZZ", "text after the zone");
    time_refused("2026-11-26T10:00:00Z ", "a space after the zone");

    /* Fractions: up to nine digits kept, more read and dropped. */
    time_as_utc("2026-11-26T10:00:00.5Z", "2026-11-26T10:00:00.5Z");
    time_as_utc("2026-11-26T10:00:00.123456789Z", "2026-11-26T10:00:00.123456789Z");
    time_as_utc("2026-11-26T10:00:00.1234567891234Z", "2026-11-26T10:00:00.123456789Z");
    time_as_utc("2026-11-26T10:00:00.000000000000Z", "2026-11-26T10:00:00Z");
    time_as_utc("2026-11-26T10:00:00.100Z", "2026-11-26T10:00:00.1Z");
    time_refused("2026-11-26T10:00:00.Z", "a point without digits");
    time_refused("2026-11-26T10:00:00,5Z", "a comma for the point");

    /* 't' and 'z' in either case (RFC 3339 section 5.6, NOTE). */
    time_as_utc("2026-11-26t10:00:00z", "2026-11-26T10:00:00Z");

    /* Times of day. */
    time_refused("2026-11-26T24:00:00Z", "hour 24");
    time_refused("2026-11-26T10:60:00Z", "minute 60");
    time_refused("2026-11-26T10:00:61Z", "second 61");
    ok(parse_time("2016-12-31T23:59:60Z", &a) == 0, "a leap second (60) is accepted");
    time_refused("2026-11-26 10:00:00Z", "a space for T");
    time_refused("2026-11-26", "a date alone");
    time_refused("2026-11-26T10:00Z", "no seconds");
    time_refused("26-11-26T10:00:00Z", "a two-digit year");
    time_refused("", "empty");
    time_refused("2026-1-26T10:00:00Z", "a one-digit month");
    time_refused("2026-11-26T1:00:00Z", "a one-digit hour");
    time_refused("+2026-11-26T10:00:00Z", "a signed year");

    /* Times that 64-bit nanoseconds cannot hold (past 2262-04-11 or before
     * 1677-09-21) must be refused or at least keep their order: never wrap
     * around to some other time. */
    parse_time("2200-01-01T00:00:00Z", &a);
    rc = parse_time("9999-12-31T23:59:59Z", &b);
    ok(rc != 0 || b > a, "9999-12-31T23:59:59Z is refused or later than 2200 (got %lld ns)",
       (long long)b);
    parse_time("1700-01-01T00:00:00Z", &a);
    rc = parse_time("0001-01-01T00:00:00Z", &b);
    ok(rc != 0 || b < a, "0001-01-01T00:00:00Z is refused or earlier than 1700 (got %lld ns)",
       (long long)b);
}

static void time_formats(int64_t ns, const char *want)
{
    char out[TIMESTAMP_MAX_LEN];
    size_t len = timestamp_format(ns, out);
    int64_t back;

    is_str(out, want, "timestamp_format(%lld)", (long long)ns);
    is_int(len, strlen(want), "timestamp_format(%lld) returns its length", (long long)ns);
    if (is_int(parse_time(out, &back), 0, "%s parses", out))
        is_int(back, ns, "%s parses back to %lld", out, (long long)ns);
}

static void test_timestamp_format(void)
{
    time_formats(0, "1970-01-01T00:00:00Z");
    time_formats(1500000000, "1970-01-01T00:00:01.5Z");
    time_formats(123456789, "1970-01-01T00:00:00.123456789Z");
    time_formats(1000, "1970-01-01T00:00:00.000001Z");
    time_formats(-1, "1969-12-31T23:59:59.999999999Z");
    time_formats(-1000000000, "1969-12-31T23:59:59Z");
    time_formats(INT64_C(1795687200) * 1000000000 + 120000000, "2026-11-26T10:00:00.12Z");
    time_formats(INT64_C(951782400) * 1000000000, "2000-02-29T00:00:00Z");
}

/* ---- json_span ---------------------------------------------------------- */

static struct json_span span(const char *text)
{
    return (struct json_span){text, strlen(text)};
}

static void member_is(const char *text, const char *key, const char *want)
{
    struct json_span value = {NULL, 0};
    bool found = json_span_member(span(text), key, &value);
    char *got = found ? vane_strndup(value.ptr, value.len) : NULL;

    if (want == NULL)
        ok(!found, "no member %s in %s (got %s)", key, text, got ? got : "none");
    else
        is_str(got, want, "member %s of %s", key, text);
    vane_free(got);
}

static void elements_are(const char *text, size_t max, long want_count, const char *const *want)
{
    struct json_span elems[8];
    long n = json_span_elements(span(text), elems, max);

    if (!is_int(n, want_count, "%s has %ld elements (max %zu)", text, want_count, max))
        return;
    for (long i = 0; i < n; i++) {
        char *got = vane_strndup(elems[i].ptr, elems[i].len);

        is_str(got, want[i], "element %ld of %s", i, text);
        vane_free(got);
    }
}

static void test_json_span(void)
{
    static const char *const four[] = {"{\"a\":[1,2]}", "\"s,]\\\"\"", "3", "null"};
    static const char *const nested[] = {"[[]]", "{\"]\":\"[\"}"};

    member_is("{\"a\":1,\"data\":{\"x\":[1,2,{\"y\":\"}\"}]},\"b\":2}", "data",
              "{\"x\":[1,2,{\"y\":\"}\"}]}");
    member_is("{ \"data\" : 1.0 , \"z\":1}", "data", "1.0");
    member_is("\n{\n\t\"data\"\r\n:\t-0.5e+3\n}\n", "data", "-0.5e+3");
    member_is("{\"k\\\"data\":1,\"data\":\"q\\\\\\\"x\"}", "data", "\"q\\\\\\\"x\"");
    member_is("{\"x\":{\"data\":1},\"data\":2}", "data", "2");
    member_is("{\"x\":\"\\\"data\\\":5\",\"data\":[]}", "data", "[]");
    member_is("{\"a\":1}", "data", NULL);
    member_is("[{\"data\":1}]", "data", NULL);
    member_is("{}", "data", NULL);
    member_is("\"data\"", "data", NULL);
    member_is("{\"data\":true,\"b\":null}", "b", "null");
    /* Keys are matched as written: an escaped key is not found (the
     * caller then serializes jansson's value instead). */
    member_is("{\"d\\u0061ta\":1}", "data", NULL);

    elements_are("[ {\"a\":[1,2]} , \"s,]\\\"\" ,3, null ]", 8, 4, four);
    elements_are("[[[]],{\"]\":\"[\"}]", 8, 2, nested);
    elements_are("[]", 8, 0, NULL);
    elements_are(" [ \n ] ", 8, 0, NULL);
    elements_are("[1,2,3]", 2, -1, NULL);
    elements_are("{\"a\":1}", 8, -1, NULL);
    elements_are("", 8, -1, NULL);
}

/* ---- the JSON format ---------------------------------------------------- */

/* One structured-mode event parsed from text: what event_from_json() gives. */
struct parsed {
    json_t *doc;
    struct vane_arena arena;
    struct event event;
    struct event_error err;
    int rc;
};

static void parse_event(const char *text, struct parsed *p)
{
    json_error_t jerr;

    memset(p, 0, sizeof(*p));
    p->event = (struct event)EVENT_INIT;
    p->doc = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (p->doc == NULL) {
        tap_diag("the test's JSON does not parse: %s: %s", jerr.text, text);
        p->rc = -1;
        return;
    }
    p->rc = event_from_json(p->doc, span(text), &p->event, &p->arena, &p->err);
}

static void parsed_free(struct parsed *p)
{
    event_free(&p->event);
    json_decref(p->doc);
    vane_arena_free(&p->arena);
}

static char *to_json(const struct event *event)
{
    struct vane_buf out = VANE_BUF_INIT;

    event_to_json(event, &out);
    vane_buf_append(&out, "", 0);
    return vane_buf_detach(&out);
}

/* in parses, passes event_check, and comes out as want. */
static void round_trip(const char *in, const char *want, const char *what)
{
    struct parsed p;
    struct event_error err = {{0}, {0}, NULL};

    parse_event(in, &p);
    if (is_int(p.rc, 0, "%s: parses (%s %s)", what, p.err.field, p.err.message)) {
        char *out = to_json(&p.event);

        is_int(event_check(&p.event, &err), 0, "%s: is valid (%s %s)", what, err.field,
               err.message);
        is_str(out, want, "%s: comes out as it went in", what);
        vane_free(out);
    }
    parsed_free(&p);
}

/* in is refused by event_from_json() (or event_check()), naming field. */
static void json_refused(const char *in, const char *field, const char *what)
{
    struct parsed p;

    parse_event(in, &p);
    if (p.rc == 0)
        p.rc = event_check(&p.event, &p.err);
    is_int(p.rc, -EINVAL, "%s: refused", what);
    if (p.rc == -EINVAL)
        is_str(p.err.field, field, "%s: the error names \"%s\" (%s)", what, field, p.err.message);
    parsed_free(&p);
}

/* The data bytes event_from_json() kept for in, compared with want (len bytes). */
static void data_is(const char *in, const void *want, size_t len, const char *what)
{
    struct parsed p;

    parse_event(in, &p);
    if (is_int(p.rc, 0, "%s: parses (%s)", what, p.err.message) &&
        ok(p.event.has_data, "%s: has data", what)) {
        is_int(p.event.data.len, len, "%s: data length", what);
        ok(p.event.data.len == len && memcmp(p.event.data.ptr, want, len) == 0,
           "%s: data bytes are as expected", what);
    }
    parsed_free(&p);
}

#define HEAD "\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\""

static void test_attribute_types(void)
{
    static const char in[] =
        "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"https://example.com/a?b=c#d\","
        "\"type\":\"com.example.t\",\"subject\":\"Gr\\u00fc\\u00dfe \xf0\x9f\x98\x80\","
        "\"time\":\"2026-11-26T10:00:00.5+01:00\",\"dataschema\":\"https://example.com/s.json\","
        "\"exti\":42,\"extneg\":-2147483648,\"extb\":true,\"extf\":false,\"exts\":\"v\","
        "\"urlref\":\"../x\"}";
    static const char out[] =
        "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"https://example.com/a?b=c#d\","
        "\"type\":\"com.example.t\",\"subject\":\"Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80\","
        "\"time\":\"2026-11-26T10:00:00.5+01:00\",\"dataschema\":\"https://example.com/s.json\","
        "\"exti\":42,\"extneg\":-2147483648,\"extb\":true,\"extf\":false,\"exts\":\"v\","
        "\"urlref\":\"../x\"}";
    struct parsed p;

    round_trip(in, out, "every attribute type");
    parse_event(in, &p);
    if (p.rc == 0) {
        static const struct {
            const char *name;
            enum event_type type;
        } types[] = {{"specversion", EVENT_STRING}, {"source", EVENT_URI_REF},
                     {"dataschema", EVENT_URI},     {"time", EVENT_TIMESTAMP},
                     {"exti", EVENT_INTEGER},       {"extb", EVENT_BOOLEAN},
                     {"exts", EVENT_STRING},        {"subject", EVENT_STRING}};

        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            const struct event_attr *a = event_get(&p.event, types[i].name);

            ok(a != NULL && a->value.type == types[i].type, "%s has type %d (got %d)",
               types[i].name, types[i].type, a ? (int)a->value.type : -1);
        }
        ok(!p.event.has_data, "no data member: no data");
        ok(event_get(&p.event, "datacontenttype") == NULL,
           "no data: no datacontenttype implied");
        is_int(event_get(&p.event, "exti")->value.u.integer, 42, "exti is 42");
        ok(event_get(&p.event, "extb")->value.u.boolean, "extb is true");
    }
    parsed_free(&p);

    round_trip("{" HEAD ",\"subject\":null,\"ext\":null}", "{" HEAD "}",
               "null attributes are unset");
    json_refused("{" HEAD ",\"subject\":5}", "subject", "a spec attribute as a number");
    json_refused("{\"specversion\":1.0,\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\"}",
                 "specversion", "specversion as a number");
    json_refused("{" HEAD ",\"time\":true}", "time", "time as a boolean");
    json_refused("{" HEAD ",\"ext\":1.5}", "ext", "an extension as a real");
    json_refused("{" HEAD ",\"ext\":{\"a\":1}}", "ext", "an extension as an object");
    json_refused("{" HEAD ",\"ext\":[1]}", "ext", "an extension as an array");
    json_refused("[{" HEAD "}]", "", "an array is not an event");
    json_refused("\"event\"", "", "a string is not an event");
}

static void test_data_kept_as_sent(void)
{
    static const char numbers[] = "{\"b\":9.99, \"a\":1.0,\"c\":1e2,\"d\":-0.0,\"e\":1E-7}";
    static const char unicode[] = "[\"\\u00e9\", \"\xc3\xa9\", \"\\ud83d\\ude00\", \"\\\"\\n\"]";
    static const char spaced[] = "{ \"z\" : [ 1 ,\n\t2 ] ,\"a\" : { } }";
    char *in;

    in = vane_asprintf("{" HEAD ",\"datacontenttype\":\"application/json\",\"data\":%s}", numbers);
    data_is(in, numbers, strlen(numbers), "numbers 9.99, 1.0, 1e2, -0.0, 1E-7 as written");
    vane_free(in);
    in = vane_asprintf("{" HEAD ",\"data\":%s,\"datacontenttype\":\"application/json\"}", unicode);
    data_is(in, unicode, strlen(unicode), "escapes and raw UTF-8 as written, data first");
    vane_free(in);
    in = vane_asprintf("{" HEAD ",\"datacontenttype\":\"text/json\",\"data\" :  %s  }", spaced);
    data_is(in, spaced, strlen(spaced), "key order and white space as written");
    vane_free(in);
    in = vane_asprintf("{" HEAD ",\"datacontenttype\":\"application/vnd.x+json; charset=utf-8\","
                       "\"data\":%s}",
                       numbers);
    data_is(in, numbers, strlen(numbers), "a +json content type with parameters is JSON");
    vane_free(in);
    data_is("{" HEAD ",\"data\":\"text\"}", "\"text\"", 6,
            "a JSON string stays a JSON string (quotes kept)");
    data_is("{" HEAD ",\"data\":0}", "0", 1, "a lone number");

    round_trip("{" HEAD ",\"datacontenttype\":\"application/json\",\"data\":{\"b\":9.99, \"a\":1.0}}",
               "{" HEAD ",\"datacontenttype\":\"application/json\",\"data\":{\"b\":9.99, \"a\":1.0}}",
               "JSON data comes out byte for byte");
    round_trip("{" HEAD ",\"data\":[1,2]}",
               "{" HEAD ",\"datacontenttype\":\"application/json\",\"data\":[1,2]}",
               "data without datacontenttype: application/json is implied");
    round_trip("{" HEAD ",\"data\":null}",
               "{" HEAD ",\"datacontenttype\":\"application/json\",\"data\":null}",
               "data null is an explicit null payload");
    data_is("{" HEAD ",\"data\":null}", "null", 4, "data null is the text null");
}

static void test_data_strings(void)
{
    static const char text[] = "line 1\nline \"2\" \\ \xc3\xa9 \xf0\x9f\x98\x80 \x01";

    data_is("{" HEAD ",\"datacontenttype\":\"text/plain\","
            "\"data\":\"line 1\\nline \\\"2\\\" \\\\ \\u00e9 \xf0\x9f\x98\x80 \\u0001\"}",
            text, strlen(text), "a string under text/plain is its decoded bytes");
    round_trip("{" HEAD ",\"datacontenttype\":\"text/plain\","
               "\"data\":\"a\\nb\\\"c\\\\ \\u00e9\\u0001\\t\"}",
               "{" HEAD ",\"datacontenttype\":\"text/plain\","
               "\"data\":\"a\\nb\\\"c\\\\ \xc3\xa9\\u0001\\t\"}",
               "text data comes back as an escaped string");
    round_trip("{" HEAD ",\"datacontenttype\":\"application/xml\",\"data\":\"<a x=\\\"1\\\"/>\"}",
               "{" HEAD ",\"datacontenttype\":\"application/xml\",\"data\":\"<a x=\\\"1\\\"/>\"}",
               "XML data as a string");
    round_trip("{" HEAD ",\"datacontenttype\":\"text/plain\",\"data\":\"\"}",
               "{" HEAD ",\"datacontenttype\":\"text/plain\",\"data\":\"\"}", "empty text data");
    json_refused("{" HEAD ",\"datacontenttype\":\"text/plain\",\"data\":5}", "data",
                 "a number under text/plain");
    json_refused("{" HEAD ",\"datacontenttype\":\"text/plain\",\"data\":{\"a\":1}}", "data",
                 "an object under text/plain");
}

static void test_data_base64(void)
{
    static const unsigned char bytes[] = {0x00, 0xff, 0x10, 0x80, 0x7f};

    data_is("{" HEAD ",\"data_base64\":\"\"}", "", 0, "empty base64");
    data_is("{" HEAD ",\"data_base64\":\"QQ==\"}", "A", 1, "base64 padded with ==");
    data_is("{" HEAD ",\"data_base64\":\"QUI=\"}", "AB", 2, "base64 padded with =");
    data_is("{" HEAD ",\"data_base64\":\"QUJD\"}", "ABC", 3, "base64 without padding");
    data_is("{" HEAD ",\"data_base64\":\"AP8QgH8=\"}", bytes, sizeof(bytes),
            "base64 of bytes 00 ff 10 80 7f");
    data_is("{" HEAD ",\"data\":null,\"data_base64\":null,\"subject\":\"s\"}", "null", 4,
            "data_base64 null is absent");
    round_trip("{" HEAD ",\"data_base64\":\"AP8QgH8=\"}", "{" HEAD ",\"data_base64\":\"AP8QgH8=\"}",
               "base64 without datacontenttype: none implied, base64 out");
    round_trip("{" HEAD ",\"datacontenttype\":\"application/octet-stream\",\"data_base64\":\"\"}",
               "{" HEAD ",\"datacontenttype\":\"application/octet-stream\",\"data\":\"\"}",
               "empty base64 data under octet-stream");
    round_trip("{" HEAD ",\"datacontenttype\":\"application/octet-stream\","
               "\"data_base64\":\"AP8QgH8=\"}",
               "{" HEAD ",\"datacontenttype\":\"application/octet-stream\","
               "\"data_base64\":\"AP8QgH8=\"}",
               "binary data under octet-stream comes back as base64");

    json_refused("{" HEAD ",\"data_base64\":\"QQ=!\"}", "data_base64", "base64 with '!'");
    json_refused("{" HEAD ",\"data_base64\":\"Q Q==\"}", "data_base64", "base64 with a space");
    json_refused("{" HEAD ",\"data_base64\":\"QQ-_\"}", "data_base64", "base64url letters");
    json_refused("{" HEAD ",\"data_base64\":\"QQ=\"}", "data_base64", "base64 of length 3");
    json_refused("{" HEAD ",\"data_base64\":\"QQ\"}", "data_base64", "base64 missing its padding");
    json_refused("{" HEAD ",\"data_base64\":\"Q===\"}", "data_base64", "base64 with === padding");
    json_refused("{" HEAD ",\"data_base64\":\"QQ=A\"}", "data_base64", "base64 with = inside");
    json_refused("{" HEAD ",\"data_base64\":\"====\"}", "data_base64", "base64 of padding only");
    json_refused("{" HEAD ",\"data_base64\":\"=QQQ\"}", "data_base64", "base64 starting with =");
    json_refused("{" HEAD ",\"data_base64\":5}", "data_base64", "base64 as a number");
    json_refused("{" HEAD ",\"data_base64\":\"QQ==\",\"data\":\"x\"}", "data_base64",
                 "data and data_base64 together");
}

/* ---- event_check -------------------------------------------------------- */

/* An event of the four required attributes, all good. */
static void base_event(struct event *e)
{
    event_reset(e);
    event_add_string(e, "specversion", EVENT_STRING, "1.0");
    event_add_string(e, "id", EVENT_STRING, "e1");
    event_add_string(e, "source", EVENT_URI_REF, "/s");
    event_add_string(e, "type", EVENT_STRING, "t");
}

/* Adds name = value with the type the binding gives that name. */
static void add_typed(struct event *e, const char *name, const char *value, size_t len)
{
    struct event_value v = {.type = event_attr_type(name, strlen(name)),
                            .u.bytes = {value, len}};

    event_add(e, name, strlen(name), &v);
}

static void add_integer(struct event *e, const char *name, int64_t n)
{
    struct event_value v = {.type = EVENT_INTEGER, .u.integer = n};

    event_add(e, name, strlen(name), &v);
}

static void check_passes(const struct event *e, const char *what)
{
    struct event_error err = {{0}, {0}, NULL};
    int rc = event_check(e, &err);

    is_int(rc, 0, "%s: accepted (%s: %s)", what, err.field, err.message);
}

static void check_fails(const struct event *e, const char *field, const char *reason,
                        const char *what)
{
    struct event_error err = {{0}, {0}, NULL};

    if (!is_int(event_check(e, &err), -EINVAL, "%s: refused", what))
        return;
    is_str(err.field, field, "%s: the error names \"%s\" (%s)", what, field, err.message);
    if (reason != NULL)
        is_str(err.reason, reason, "%s: reason %s", what, reason);
    ok(err.message[0] != '\0', "%s: with a message", what);
}

/* An event with one more attribute name = value (typed as the binding types it). */
static void check_extra(const char *name, const char *value, size_t len, const char *field,
                        const char *reason, const char *what)
{
    struct event e = EVENT_INIT;

    base_event(&e);
    add_typed(&e, name, value, len);
    if (field == NULL)
        check_passes(&e, what);
    else
        check_fails(&e, field, reason, what);
    event_free(&e);
}

#define TEXT(s) s, sizeof(s) - 1

static void test_required(void)
{
    static const char *const required[] = {"specversion", "id", "source", "type"};
    struct event e = EVENT_INIT;

    base_event(&e);
    check_passes(&e, "the four required attributes");
    for (size_t skip = 0; skip < 4; skip++) {
        event_reset(&e);
        for (size_t i = 0; i < 4; i++)
            if (i != skip)
                add_typed(&e, required[i], TEXT("1.0"));
        check_fails(&e, required[skip], "missing_attribute", required[skip]);
    }
    for (size_t empty = 0; empty < 4; empty++) {
        event_reset(&e);
        for (size_t i = 0; i < 4; i++)
            add_typed(&e, required[i], i == empty ? "" : "1.0", i == empty ? 0 : 3);
        check_fails(&e, required[empty], "empty_attribute", "an empty required attribute");
    }
    event_reset(&e);
    add_typed(&e, "specversion", TEXT("0.3"));
    add_typed(&e, "id", TEXT("e1"));
    add_typed(&e, "source", TEXT("/s"));
    add_typed(&e, "type", TEXT("t"));
    check_fails(&e, "specversion", "bad_specversion", "specversion 0.3");
    event_reset(&e);
    add_typed(&e, "specversion", TEXT("1.0 "));
    add_typed(&e, "id", TEXT("e1"));
    add_typed(&e, "source", TEXT("/s"));
    add_typed(&e, "type", TEXT("t"));
    check_fails(&e, "specversion", "bad_specversion", "specversion \"1.0 \"");
    event_free(&e);
}

static void test_optional(void)
{
    check_extra("subject", "", 0, "subject", "empty_attribute", "an empty subject");
    check_extra("datacontenttype", "", 0, "datacontenttype", "empty_attribute",
                "an empty datacontenttype");
    check_extra("dataschema", "", 0, "dataschema", "empty_attribute", "an empty dataschema");
    check_extra("time", TEXT("2026-11-26T10:00:00Z"), NULL, NULL, "a good time");
    check_extra("time", TEXT("yesterday"), "time", "bad_time", "time yesterday");
    check_extra("time", TEXT("2026-11-26T10:00:00"), "time", "bad_time", "time without a zone");
    check_extra("time", "", 0, "time", NULL, "an empty time");
    check_extra("subject", TEXT("Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80"), NULL, NULL,
                "UTF-8 text");
}

static void test_names(void)
{
    char long_name[257];

    check_extra("ext1", TEXT("v"), NULL, NULL, "a lower-case name with a digit");
    check_extra("Ext", TEXT("v"), "Ext", "bad_attribute_name", "an upper-case name");
    check_extra("my-ext", TEXT("v"), "my-ext", "bad_attribute_name", "a name with '-'");
    check_extra("my_ext", TEXT("v"), "my_ext", "bad_attribute_name", "a name with '_'");
    check_extra("data", TEXT("v"), "data", "bad_attribute_name", "an attribute called data");
    memset(long_name, 'a', 255);
    long_name[255] = '\0';
    check_extra(long_name, TEXT("v"), NULL, NULL, "a name of 255 characters");
    long_name[255] = 'a';
    long_name[256] = '\0';
    {
        struct event e = EVENT_INIT;
        struct event_error err = {{0}, {0}, NULL};

        base_event(&e);
        add_typed(&e, long_name, TEXT("v"));
        is_int(event_check(&e, &err), -EINVAL, "a name of 256 characters is refused");
        is_str(err.reason, "bad_attribute_name", "a name of 256 characters: bad_attribute_name");
        ok(strncmp(err.field, "aaaaaaaa", 8) == 0, "a name of 256 characters: named (cut to %zu)",
           strlen(err.field));
        event_free(&e);
    }
    check_extra("xvanusfoo", TEXT("v"), "xvanusfoo", "reserved_extension",
                "a reserved xvanus extension");
    check_extra("xvanus", TEXT("v"), "xvanus", "reserved_extension", "xvanus itself");
    check_extra("xvanusdeliverytime", TEXT("2026-11-26T10:00:00Z"), NULL, NULL,
                "xvanusdeliverytime as a timestamp");
    check_extra("xvanusdeliverytime", TEXT("tomorrow"), "xvanusdeliverytime", "bad_time",
                "xvanusdeliverytime not a timestamp");
    check_extra("xvanu", TEXT("v"), NULL, NULL, "xvanu is not reserved");
}

static void test_values(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *what;
    } bad[] = {
        {TEXT("a\x01" "b"), "a control character U+0001"},
        {TEXT("a\nb"), "a newline"},
        {"a\0b", 3, "a NUL"},
        {TEXT("\x7f"), "DEL"},
        {TEXT("\xc2\x85"), "a C1 control U+0085"},
        {TEXT("\xff"), "the byte ff"},
        {TEXT("\xc0\xa0"), "an overlong space"},
        {TEXT("\xe0\x80\xaf"), "an overlong '/'"},
        {TEXT("\xed\xa0\x80"), "a surrogate"},
        {TEXT("\xf4\x90\x80\x80"), "past U+10FFFF"},
        {TEXT("\xe2\x82"), "a truncated sequence"},
        {TEXT("\x80"), "a lone continuation byte"},
    };
    struct event e = EVENT_INIT;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_extra("subject", bad[i].bytes, bad[i].len, "subject", "bad_attribute_value",
                    bad[i].what);
    check_extra("ext", TEXT("a\tb"), "ext", "bad_attribute_value", "a tab in an extension");
    check_extra("ext", TEXT("\xc2\xa0\xef\xbf\xbd"), NULL, NULL, "U+00A0 and U+FFFD are text");

    base_event(&e);
    add_integer(&e, "big", INT32_MAX);
    add_integer(&e, "small", INT32_MIN);
    check_passes(&e, "integers at the ends of int32");
    base_event(&e);
    add_integer(&e, "big", (int64_t)INT32_MAX + 1);
    check_fails(&e, "big", "bad_attribute_value", "2147483648");
    base_event(&e);
    add_integer(&e, "small", (int64_t)INT32_MIN - 1);
    check_fails(&e, "small", "bad_attribute_value", "-2147483649");

    base_event(&e);
    add_typed(&e, "id", TEXT("e2"));
    check_fails(&e, "id", "duplicate_attribute", "id given twice");
    base_event(&e);
    add_typed(&e, "ext", TEXT("a"));
    add_typed(&e, "ext", TEXT("b"));
    check_fails(&e, "ext", "duplicate_attribute", "an extension given twice");
    event_free(&e);

    /* Through the JSON format: the delivery time must be a timestamp there too. */
    json_refused("{" HEAD ",\"xvanusdeliverytime\":5}", "xvanusdeliverytime",
                 "xvanusdeliverytime as a JSON number");
    json_refused("{" HEAD ",\"xvanusdeliverytime\":true}", "xvanusdeliverytime",
                 "xvanusdeliverytime as a JSON boolean");
    json_refused("{" HEAD ",\"ext\":2147483648}", "ext", "a JSON integer past int32");
    json_refused("{" HEAD ",\"Ext\":\"v\"}", "Ext", "an upper-case JSON member");
    json_refused("{" HEAD ",\"xvanusx\":1}", "xvanusx", "a reserved JSON member");
}

/* ---- the HTTP binding --------------------------------------------------- */

#define MAX_HEADERS 16

/* A request built up for binding_parse(). */
struct request {
    struct binding_request req;
    struct binding_header headers[MAX_HEADERS];
};

/* Sets the request up: content_type may be NULL; headers are "name: value" strings. */
static void request_init(struct request *r, const char *content_type, const char *const *headers,
                         const char *body)
{
    memset(r, 0, sizeof(*r));
    r->req.content_type = content_type;
    r->req.content_type_len = content_type ? strlen(content_type) : 0;
    for (size_t i = 0; headers != NULL && headers[i] != NULL && i < MAX_HEADERS; i++) {
        const char *colon = strchr(headers[i], ':');
        const char *value = colon + 1;

        while (*value == ' ')
            value++;
        r->headers[i] = (struct binding_header){headers[i], value, (size_t)(colon - headers[i]),
                                                strlen(value)};
        r->req.header_count++;
    }
    r->req.headers = r->headers;
    r->req.body = body;
    r->req.body_len = body ? strlen(body) : 0;
}

static const char *attr_text(const struct event *e, const char *name, char *out, size_t cap)
{
    const struct event_attr *a = event_get(e, name);

    if (a == NULL)
        return NULL;
    snprintf(out, cap, "%.*s", (int)a->value.u.bytes.len, a->value.u.bytes.ptr);
    return out;
}

/* true when the event has data, exactly the bytes of the string want. */
static bool data_equals(const struct event *e, const char *want)
{
    size_t len = strlen(want);

    if (e->has_data && e->data.len == len && memcmp(e->data.ptr, want, len) == 0)
        return true;
    tap_diag("data: %.*s (%zu bytes); expected %s (%zu bytes)", (int)e->data.len,
             e->data.ptr ? e->data.ptr : "", e->data.len, want, len);
    return false;
}

/* Parses r; checks the status (0 for success) and, on failure, the field and index. */
static int parse_request(const struct request *r, struct binding_events *out, int want_status,
                         const char *want_field, long want_index, const char *what)
{
    int rc = binding_parse(&r->req, out);

    if (want_status == 0) {
        is_int(rc, 0, "%s: accepted (%d %s: %s)", what, out->status, out->error.field,
               out->error.message);
        return rc;
    }
    is_int(rc, -EINVAL, "%s: refused", what);
    is_int(out->status, want_status, "%s: status %d (%s)", what, want_status, out->error.message);
    if (want_field != NULL)
        is_str(out->error.field, want_field, "%s: the error names \"%s\"", what, want_field);
    is_int(out->error_index, want_index, "%s: error index %ld", what, want_index);
    ok(out->error.message[0] != '\0', "%s: with a message", what);
    return rc;
}

#define CE_HEADERS "ce-specversion: 1.0", "ce-id: e1", "ce-source: /s", "ce-type: t"

static void test_binary(void)
{
    static const char *const all[] = {
        "CE-SpecVersion: 1.0", "Ce-Id: e1", "ce-SOURCE: https://example.com/x",
        "ce-type: com.example.t", "ce-time: 2026-11-26T10:00:00Z", "ce-exti: 42",
        "Accept: */*", "ce-: ignored", NULL};
    static const char *const none[] = {"Accept: */*", NULL};
    static const char *const no_data[] = {CE_HEADERS, NULL};
    struct binding_events out;
    struct request r;
    char buf[64];

    request_init(&r, "text/plain; charset=utf-8", all, "hello \xc3\xa9");
    if (parse_request(&r, &out, 0, NULL, -1, "binary mode") == 0) {
        const struct event *e = &out.events[0];

        is_int(out.mode, BINDING_BINARY, "binary mode: the mode");
        is_int(out.count, 1, "binary mode: one event");
        is_str(attr_text(e, "specversion", buf, sizeof(buf)), "1.0",
               "header names are case-insensitive, attribute names lower case");
        is_str(attr_text(e, "source", buf, sizeof(buf)), "https://example.com/x", "source");
        is_str(attr_text(e, "datacontenttype", buf, sizeof(buf)), "text/plain; charset=utf-8",
               "Content-Type is the datacontenttype, parameters and all");
        ok(event_get(e, "accept") == NULL, "other headers are not attributes");
        ok(event_get(e, "") == NULL, "a bare ce- header is not an attribute");
        ok(event_get(e, "time")->value.type == EVENT_TIMESTAMP, "ce-time is a timestamp");
        ok(event_get(e, "exti")->value.type == EVENT_STRING,
           "an extension in a header is a string");
        ok(data_equals(e, "hello \xc3\xa9"), "the body is the data");
    }
    binding_events_free(&out);

    request_init(&r, NULL, no_data, NULL);
    if (parse_request(&r, &out, 0, NULL, -1, "binary mode without body or type") == 0) {
        ok(!out.events[0].has_data, "no body, no Content-Type: no data");
        ok(event_get(&out.events[0], "datacontenttype") == NULL, "and no datacontenttype");
    }
    binding_events_free(&out);

    request_init(&r, "application/octet-stream", no_data, NULL);
    if (parse_request(&r, &out, 0, NULL, -1, "binary mode with an empty body") == 0)
        ok(out.events[0].has_data && out.events[0].data.len == 0,
           "an empty body with a Content-Type is empty data");
    binding_events_free(&out);

    request_init(&r, "text/plain", none, "hello");
    parse_request(&r, &out, 415, "Content-Type", -1, "text/plain without ce- headers");
    binding_events_free(&out);
    request_init(&r, NULL, NULL, NULL);
    parse_request(&r, &out, 415, "Content-Type", -1, "nothing at all");
    binding_events_free(&out);
    {
        static const char *const dct[] = {CE_HEADERS, "ce-datacontenttype: text/plain", NULL};
        static const char *const dct_upper[] = {CE_HEADERS, "CE-DataContentType: text/plain",
                                                NULL};
        static const char *const missing[] = {"ce-specversion: 1.0", "ce-source: /s",
                                              "ce-type: t", NULL};
        static const char *const dup[] = {CE_HEADERS, "ce-id: e2", NULL};
        static const char *const data_header[] = {CE_HEADERS, "ce-data: x", NULL};
        static const char *const dash[] = {CE_HEADERS, "ce-my-ext: x", NULL};
        static const char *const reserved[] = {CE_HEADERS, "ce-xvanusfoo: x", NULL};

        request_init(&r, "text/plain", dct, "x");
        parse_request(&r, &out, 400, "datacontenttype", -1, "ce-datacontenttype in binary mode");
        binding_events_free(&out);
        request_init(&r, "text/plain", dct_upper, "x");
        parse_request(&r, &out, 400, "datacontenttype", -1, "CE-DataContentType in binary mode");
        binding_events_free(&out);
        request_init(&r, "text/plain", missing, "x");
        parse_request(&r, &out, 400, "id", -1, "binary mode without ce-id");
        binding_events_free(&out);
        request_init(&r, "text/plain", dup, "x");
        parse_request(&r, &out, 400, "id", -1, "ce-id twice");
        binding_events_free(&out);
        request_init(&r, "text/plain", data_header, "x");
        parse_request(&r, &out, 400, "data", -1, "a ce-data header");
        binding_events_free(&out);
        request_init(&r, "text/plain", dash, "x");
        parse_request(&r, &out, 400, "my-ext", -1, "ce-my-ext");
        binding_events_free(&out);
        request_init(&r, "text/plain", reserved, "x");
        parse_request(&r, &out, 400, "xvanusfoo", -1, "ce-xvanusfoo");
        binding_events_free(&out);
    }
}

/* The subject a ce-subject header value gives, or NULL when it is refused. */
static void subject_is(const char *header_value, const char *want, const char *what)
{
    const char *headers[] = {CE_HEADERS, NULL, NULL};
    char *line = vane_asprintf("ce-subject: %s", header_value);
    struct binding_events out;
    struct request r;
    char buf[128];

    headers[4] = line;
    request_init(&r, "text/plain", headers, "x");
    if (want == NULL) {
        parse_request(&r, &out, 400, "subject", -1, what);
    } else if (parse_request(&r, &out, 0, NULL, -1, what) == 0) {
        is_str(attr_text(&out.events[0], "subject", buf, sizeof(buf)), want, "%s: the value",
               what);
    }
    binding_events_free(&out);
    vane_free(line);
}

static void test_percent_and_quotes(void)
{
    subject_is("Euro%20%E2%82%AC%20%F0%9F%98%80", "Euro \xe2\x82\xac \xf0\x9f\x98\x80",
               "the spec's example");
    subject_is("%e2%82%ac%2f", "\xe2\x82\xac/", "lower-case hex");
    subject_is("%41%42c%2D", "ABc-", "unnecessary encoding is accepted");
    subject_is("100%25", "100%", "an encoded percent");
    subject_is("%2541", "%41", "one round of decoding only");
    subject_is("%C0%A0", NULL, "an overlong encoding");
    subject_is("%ED%A0%80", NULL, "an encoded surrogate");
    subject_is("%FF", NULL, "an encoded byte ff");
    subject_is("%E2%82", NULL, "a truncated UTF-8 sequence");
    subject_is("%0A", NULL, "an encoded newline");
    subject_is("abc%2", NULL, "a truncated %2");
    subject_is("abc%", NULL, "a bare % at the end");
    subject_is("%G1", NULL, "a non-hex digit");
    subject_is("%%41", NULL, "%% is not an escape");
    subject_is("\"hello world\"", "hello world", "a quoted string");
    subject_is("\"say \\\"hi\\\" \\\\o/\"", "say \"hi\" \\o/", "quoted pairs");
    subject_is("\"Euro%20%E2%82%AC\"", "Euro \xe2\x82\xac",
               "a quoted string is unquoted, then percent-decoded");
    subject_is("a\"b\"", "a\"b\"", "quotes inside a value are kept");
}

static void test_structured(void)
{
    static const char *const ce[] = {"ce-id: ignored", NULL};
    struct binding_events out;
    struct request r;
    char buf[64];

    request_init(&r, "application/cloudevents+json; charset=UTF-8", ce,
                 "{" HEAD ",\"data\":{\"a\" : 1.0}}");
    if (parse_request(&r, &out, 0, NULL, -1, "structured mode") == 0) {
        is_int(out.mode, BINDING_STRUCTURED, "structured: the mode");
        is_int(out.count, 1, "structured: one event");
        is_str(attr_text(&out.events[0], "id", buf, sizeof(buf)), "e1",
               "structured: ce- headers are not read");
        ok(data_equals(&out.events[0], "{\"a\" : 1.0}"), "structured: data as sent");
    }
    binding_events_free(&out);
    /* The spec lets data hold any JSON value; integers past 64 bits are
     * valid JSON, and "kept as sent" is the promise. */
    request_init(&r, "application/cloudevents+json", NULL,
                 "{" HEAD ",\"exti\":7,\"data\":[123456789012345678901234567890,18446744073709551616]}");
    if (parse_request(&r, &out, 0, NULL, -1, "data with numbers past 64 bits") == 0) {
        ok(data_equals(&out.events[0], "[123456789012345678901234567890,18446744073709551616]"),
           "numbers past 64 bits: data as sent");
        is_int(event_get(&out.events[0], "exti")->value.type, EVENT_INTEGER,
               "numbers past 64 bits in data: an integer extension stays an integer");
    }
    binding_events_free(&out);
    /* A real past a double is beyond jansson (doc/api.md says so): refused,
     * with jansson's reason. */
    request_init(&r, "application/cloudevents+json", NULL,
                 "{" HEAD ",\"data\":[1e400]}");
    ok(binding_parse(&r.req, &out) != 0 && out.status == 400 &&
           strstr(out.error.message, "1e400") != NULL,
       "a real past a double in data: 400 naming it (%s)", out.error.message);
    binding_events_free(&out);
    /* What the read API writes for text data holding a NUL byte. */
    request_init(&r, "application/cloudevents+json", NULL,
                 "{" HEAD ",\"datacontenttype\":\"text/plain\",\"data\":\"a\\u0000b\"}");
    if (parse_request(&r, &out, 0, NULL, -1, "text data with \\u0000") == 0)
        ok(out.events[0].data.len == 3 && memcmp(out.events[0].data.ptr, "a\0b", 3) == 0,
           "text data with \\u0000: the three bytes a NUL b");
    binding_events_free(&out);
    request_init(&r, "Application/CloudEvents+JSON", NULL, "{" HEAD "}");
    parse_request(&r, &out, 0, NULL, -1, "the media type is case-insensitive");
    binding_events_free(&out);

    request_init(&r, "application/cloudevents+json", NULL, "{" HEAD ",}");
    parse_request(&r, &out, 400, NULL, -1, "malformed JSON");
    ok(strstr(out.error.message, "JSON") != NULL, "malformed JSON: said so (%s)",
       out.error.message);
    binding_events_free(&out);
    request_init(&r, "application/cloudevents+json", NULL, "{" HEAD ",\"id\":\"again\"}");
    parse_request(&r, &out, 400, NULL, -1, "a member given twice");
    binding_events_free(&out);
    request_init(&r, "application/cloudevents+json", NULL, "");
    parse_request(&r, &out, 400, NULL, -1, "an empty body");
    binding_events_free(&out);
    request_init(&r, "application/cloudevents+json", NULL,
                 "{\"specversion\":\"1.0\",\"source\":\"/s\",\"type\":\"t\"}");
    parse_request(&r, &out, 400, "id", -1, "structured without id");
    binding_events_free(&out);
    request_init(&r, "application/cloudevents+json", NULL, "[{" HEAD "}]");
    parse_request(&r, &out, 400, NULL, -1, "an array in structured mode");
    binding_events_free(&out);

    request_init(&r, "application/cloudevents+xml", NULL, "<event/>");
    parse_request(&r, &out, 415, "Content-Type", -1, "application/cloudevents+xml");
    binding_events_free(&out);
    request_init(&r, "application/cloudevents+protobuf", ce, "x");
    parse_request(&r, &out, 415, "Content-Type", -1,
                  "application/cloudevents+protobuf, even with ce- headers");
    binding_events_free(&out);
    request_init(&r, "application/cloudevents-batch+xml", NULL, "<events/>");
    parse_request(&r, &out, 415, "Content-Type", -1, "application/cloudevents-batch+xml");
    binding_events_free(&out);
}

static void test_batch(void)
{
    static const char three[] =
        "[ {" HEAD ",\"data\":{\"n\" : 1.0}} ,\n"
        "  {\"specversion\":\"1.0\",\"id\":\"e2\",\"source\":\"/s\",\"type\":\"t\","
        "\"datacontenttype\":\"text/plain\",\"data\":\"two\"},"
        "{\"specversion\":\"1.0\",\"id\":\"e3\",\"source\":\"/s\",\"type\":\"t\","
        "\"data\":[1e2, 9.99]} ]";
    struct binding_events out;
    struct request r;
    char buf[64];

    request_init(&r, "application/cloudevents-batch+json", NULL, three);
    if (parse_request(&r, &out, 0, NULL, -1, "a batch of three") == 0) {
        is_int(out.mode, BINDING_BATCH, "batch: the mode");
        is_int(out.count, 3, "batch: three events");
        is_str(attr_text(&out.events[2], "id", buf, sizeof(buf)), "e3", "batch: in order");
        ok(data_equals(&out.events[0], "{\"n\" : 1.0}"), "batch: the first event's data as sent");
        ok(data_equals(&out.events[1], "two"), "batch: the second event's text");
        ok(data_equals(&out.events[2], "[1e2, 9.99]"), "batch: the third event's data as sent");
    }
    binding_events_free(&out);

    request_init(&r, "application/cloudevents-batch+json", NULL, "[]");
    if (parse_request(&r, &out, 0, NULL, -1, "an empty batch") == 0)
        is_int(out.count, 0, "an empty batch holds no events");
    binding_events_free(&out);

    request_init(&r, "application/cloudevents-batch+json", NULL, "{" HEAD "}");
    parse_request(&r, &out, 400, NULL, -1, "a batch that is not an array");
    binding_events_free(&out);
    request_init(&r, "application/cloudevents-batch+json", NULL, "[{" HEAD "},{" HEAD "},");
    parse_request(&r, &out, 400, NULL, -1, "a batch of malformed JSON");
    binding_events_free(&out);
    request_init(&r, "application/cloudevents-batch+json", NULL,
                 "[{" HEAD "},{" HEAD "},{\"specversion\":\"1.0\",\"source\":\"/s\",\"type\":\"t\"}]");
    parse_request(&r, &out, 400, "id", 2, "a batch whose event 2 has no id");
    binding_events_free(&out);
    request_init(&r, "application/cloudevents-batch+json", NULL,
                 "[{" HEAD "},{" HEAD "},{" HEAD ",\"ext\":1.5}]");
    parse_request(&r, &out, 400, "ext", 2, "a batch whose event 2 has a real extension");
    binding_events_free(&out);
    request_init(&r, "application/cloudevents-batch+json", NULL, "[{" HEAD "},{" HEAD "},7]");
    parse_request(&r, &out, 400, NULL, 2, "a batch whose element 2 is a number");
    binding_events_free(&out);
    request_init(&r, "application/cloudevents-batch+json", NULL,
                 "[{" HEAD "},{\"specversion\":\"0.3\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"t\"}]");
    parse_request(&r, &out, 400, "specversion", 1, "a batch whose event 1 is version 0.3");
    binding_events_free(&out);
}

int main(void)
{
    test_timestamp_parse();
    test_timestamp_format();
    test_json_span();
    test_attribute_types();
    test_data_kept_as_sent();
    test_data_strings();
    test_data_base64();
    test_required();
    test_optional();
    test_names();
    test_values();
    test_binary();
    test_percent_and_quotes();
    test_structured();
    test_batch();
    return tap_done();
}
