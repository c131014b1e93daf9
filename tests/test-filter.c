/*
 * test-filter.c -- the Subscriptions API filter dialects (filter.h), called
 * directly on events parsed from structured-mode JSON (no daemon).
 *
 * What each group pins down:
 *   - dialects: a table of (filters, event, expected) covering exact,
 *     prefix, suffix, all, any, not and sql/cesql, their nesting, the
 *     "filters" array as an AND, and a missing or empty array;
 *   - the spec's rules: every pair of an object must hold; a missing
 *     attribute makes a pair false (and its not true); an empty attribute
 *     value in the event matches no filter value; values are case
 *     sensitive; integers, booleans and binary compare by their canonical
 *     text (decimal, true/false, base64);
 *   - Vanus's data keys: "data" as the data's text, "data.<path>" into JSON
 *     data through objects, arrays ("items.0.id", "items[0].id"), numbers,
 *     booleans, null, missing paths, data declared not JSON, data that does
 *     not parse, and no data;
 *   - cost: exact on attributes allocates nothing from jansson, and several
 *     data keys in one filter parse the data once (jansson's allocations
 *     are counted through json_set_alloc_funcs);
 *   - compile errors: each names its path ("filters[1].any[1].prefix.type")
 *     and what was expected, and CESQL errors carry their position.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "event/event.h"
#include "filter/filter.h"
#include "harness.h"
#include "tap.h"

/* ---- events ------------------------------------------------------------- */

/* A GitHub push as a source connector would publish it, with typed extensions. */
static const char push_event[] =
    "{\"specversion\":\"1.0\",\"id\":\"e-1\",\"source\":\"https://github.com/cloudevents/spec\","
    "\"type\":\"com.github.push\",\"subject\":\"README.md\",\"time\":\"2024-05-01T10:00:00Z\","
    "\"datacontenttype\":\"application/json\",\"count\":42,\"neg\":-7,\"flag\":true,"
    "\"off\":false,\"note\":\"\",\"region\":\"EU-West\","
    "\"data\":{\"repository\":{\"name\":\"vane\",\"stars\":1200,\"private\":false,"
    "\"owner\":null},\"items\":[{\"id\":\"a1\"},{\"id\":\"b2\"}],\"price\":1.50,"
    "\"big\":1e21,\"ratio\":0.1,\"matrix\":[[1,2],[3,4]],\"0\":\"zero-key\",\"Name\":\"upper\","
    "\"text\":\"caf\\u00e9\"}}";

/* Plain-text data: data keys other than "data" find nothing. */
static const char text_event[] =
    "{\"specversion\":\"1.0\",\"id\":\"e-2\",\"source\":\"/sensors/7\",\"type\":\"reading\","
    "\"datacontenttype\":\"text/plain\",\"data\":\"{\\\"x\\\":\\\"y\\\"} hello\"}";

/* No data at all. */
static const char bare_event[] =
    "{\"specversion\":\"1.0\",\"id\":\"e-3\",\"source\":\"/s\",\"type\":\"ping\"}";

/* Data under a +json type of its own. */
static const char vendor_event[] =
    "{\"specversion\":\"1.0\",\"id\":\"e-4\",\"source\":\"/s\",\"type\":\"t\","
    "\"datacontenttype\":\"application/vnd.github+json; charset=utf-8\","
    "\"data\":[{\"ref\":\"refs/heads/main\"}]}";

/* ---- compiling and matching --------------------------------------------- */

/* filters (JSON text, or NULL for no "filters" at all) compiled; NULL when refused. */
static struct filter *compile(const char *filters, struct filter_error *err)
{
    json_error_t jerr;
    json_t *json = NULL;
    struct filter *f = NULL;

    if (filters != NULL && (json = json_loads(filters, JSON_DECODE_ANY, &jerr)) == NULL) {
        tap_diag("the test's filters do not parse: %s: %s", jerr.text, filters);
        return NULL;
    }
    if (filter_compile(json, &f, err) != 0)
        f = NULL;
    json_decref(json);
    return f;
}

/* filter_match() of filters on event is want. */
static void match_is(const char *filters, const struct event *event, bool want, const char *what)
{
    struct filter_error err;
    struct filter *f = compile(filters, &err);

    if (!ok(f != NULL, "%s: compiles (%s: %s)", what, err.path, err.message))
        return;
    is_int(filter_match(f, event), want, "%s: %s", what, filters ? filters : "(no filters)");
    filter_free(f);
}

/* match_is() for each row of a table on the event of text. */
struct match_case {
    const char *filters;
    bool want;
    const char *what;
};

static void match_table(const char *event_text, const struct match_case *cases, size_t count)
{
    struct harness_event p;

    if (harness_event_parse(event_text, &p))
        for (size_t i = 0; i < count; i++)
            match_is(cases[i].filters, &p.event, cases[i].want, cases[i].what);
    harness_event_free(&p);
}

#define TABLE(event, cases) match_table((event), (cases), sizeof(cases) / sizeof((cases)[0]))

/* ---- the dialects ------------------------------------------------------- */

static void test_dialects(void)
{
    static const struct match_case cases[] = {
        {NULL, true, "no filters match every event"},
        {"null", true, "null filters match every event"},
        {"[]", true, "an empty array matches every event"},

        {"[{\"exact\":{\"type\":\"com.github.push\"}}]", true, "exact type"},
        {"[{\"exact\":{\"type\":\"com.github\"}}]", false, "exact is not prefix"},
        {"[{\"exact\":{\"type\":\"com.github.push.x\"}}]", false, "exact: longer value"},
        {"[{\"exact\":{\"type\":\"com.github.push\",\"subject\":\"README.md\"}}]", true,
         "exact: both pairs hold"},
        {"[{\"exact\":{\"type\":\"com.github.push\",\"subject\":\"LICENSE\"}}]", false,
         "exact: every pair must hold"},
        {"[{\"exact\":{\"id\":\"e-1\",\"specversion\":\"1.0\"}}]", true, "exact id, specversion"},
        {"[{\"exact\":{\"time\":\"2024-05-01T10:00:00Z\"}}]", true, "exact time as sent"},

        {"[{\"prefix\":{\"source\":\"https://github.com/\"}}]", true, "prefix source"},
        {"[{\"prefix\":{\"source\":\"https://github.com/cloudevents/spec\"}}]", true,
         "prefix: the whole value"},
        {"[{\"prefix\":{\"source\":\"https://github.com/cloudevents/spec/\"}}]", false,
         "prefix longer than the value"},
        {"[{\"prefix\":{\"source\":\"github.com\"}}]", false, "prefix is not contains"},
        {"[{\"prefix\":{\"type\":\"com.\",\"source\":\"https:\"}}]", true, "prefix: two pairs"},
        {"[{\"prefix\":{\"type\":\"com.\",\"source\":\"http:\"}}]", false,
         "prefix: every pair must hold"},

        {"[{\"suffix\":{\"subject\":\".md\"}}]", true, "suffix subject"},
        {"[{\"suffix\":{\"subject\":\"README.md\"}}]", true, "suffix: the whole value"},
        {"[{\"suffix\":{\"subject\":\"/README.md\"}}]", false, "suffix longer than the value"},
        {"[{\"suffix\":{\"subject\":\"README\"}}]", false, "suffix is not prefix"},

        {"[{\"all\":[{\"exact\":{\"type\":\"com.github.push\"}},"
         "{\"prefix\":{\"subject\":\"READ\"}}]}]", true, "all: both hold"},
        {"[{\"all\":[{\"exact\":{\"type\":\"com.github.push\"}},"
         "{\"prefix\":{\"subject\":\"LIC\"}}]}]", false, "all: one fails"},
        {"[{\"all\":[{\"exact\":{\"type\":\"com.github.push\"}}]}]", true, "all of one"},
        {"[{\"any\":[{\"exact\":{\"type\":\"x\"}},{\"suffix\":{\"subject\":\".md\"}}]}]", true,
         "any: the second holds"},
        {"[{\"any\":[{\"exact\":{\"type\":\"x\"}},{\"suffix\":{\"subject\":\".txt\"}}]}]", false,
         "any: none holds"},
        {"[{\"not\":{\"exact\":{\"type\":\"com.github.push\"}}}]", false, "not of a match"},
        {"[{\"not\":{\"exact\":{\"type\":\"com.github.pull\"}}}]", true, "not of a miss"},
        {"[{\"not\":{\"not\":{\"exact\":{\"type\":\"com.github.push\"}}}}]", true, "not not"},

        {"[{\"exact\":{\"type\":\"com.github.push\"}},"
         "{\"prefix\":{\"source\":\"https://github.com/\"}}]", true,
         "the filters array is an AND: both hold"},
        {"[{\"exact\":{\"type\":\"com.github.push\"}},"
         "{\"prefix\":{\"source\":\"https://gitlab.com/\"}}]", false,
         "the filters array is an AND: one fails"},
        {"[{\"all\":[{\"any\":[{\"exact\":{\"type\":\"a\"}},{\"prefix\":{\"type\":\"com.\"}}]},"
         "{\"not\":{\"any\":[{\"suffix\":{\"subject\":\".txt\"}},"
         "{\"exact\":{\"id\":\"e-9\"}}]}}]}]",
         true, "all of any and not of any"},
        {"[{\"any\":[{\"all\":[{\"exact\":{\"type\":\"com.github.push\"}},"
         "{\"exact\":{\"subject\":\"x\"}}]},{\"not\":{\"prefix\":{\"id\":\"e-\"}}}]}]",
         false, "any of a failing all and a failing not"},
    };

    TABLE(push_event, cases);
}

/* Missing and empty attributes, case, and attributes that are not strings. */
static void test_spec_rules(void)
{
    static const struct match_case cases[] = {
        {"[{\"exact\":{\"dataschema\":\"x\"}}]", false, "a missing attribute: exact false"},
        {"[{\"prefix\":{\"dataschema\":\"x\"}}]", false, "a missing attribute: prefix false"},
        {"[{\"suffix\":{\"myext\":\"x\"}}]", false, "a missing extension: suffix false"},
        {"[{\"not\":{\"exact\":{\"dataschema\":\"x\"}}}]", true, "not of a missing attribute"},
        {"[{\"exact\":{\"type\":\"com.github.push\",\"myext\":\"x\"}}]", false,
         "one missing attribute fails the object"},
        {"[{\"any\":[{\"exact\":{\"myext\":\"x\"}},{\"exact\":{\"id\":\"e-1\"}}]}]", true,
         "any past a missing attribute"},

        {"[{\"exact\":{\"note\":\"x\"}}]", false, "an empty value: exact false"},
        {"[{\"prefix\":{\"note\":\"x\"}}]", false, "an empty value: prefix false"},
        {"[{\"suffix\":{\"note\":\"x\"}}]", false, "an empty value: suffix false"},
        {"[{\"not\":{\"prefix\":{\"note\":\"x\"}}}]", true, "not of an empty value"},

        {"[{\"exact\":{\"type\":\"COM.GITHUB.PUSH\"}}]", false, "values are case sensitive"},
        {"[{\"exact\":{\"region\":\"eu-west\"}}]", false, "extension values are case sensitive"},
        {"[{\"exact\":{\"region\":\"EU-West\"}}]", true, "an extension value as sent"},
        {"[{\"prefix\":{\"source\":\"HTTPS://\"}}]", false, "prefix is case sensitive"},
        {"[{\"suffix\":{\"subject\":\".MD\"}}]", false, "suffix is case sensitive"},

        {"[{\"exact\":{\"count\":\"42\"}}]", true, "an integer as decimal"},
        {"[{\"exact\":{\"count\":\"042\"}}]", false, "an integer has one decimal form"},
        {"[{\"exact\":{\"count\":\"42.0\"}}]", false, "an integer is not a real"},
        {"[{\"prefix\":{\"count\":\"4\"}}]", true, "prefix of an integer"},
        {"[{\"suffix\":{\"count\":\"2\"}}]", true, "suffix of an integer"},
        {"[{\"exact\":{\"neg\":\"-7\"}}]", true, "a negative integer"},
        {"[{\"prefix\":{\"neg\":\"-\"}}]", true, "prefix of a negative integer"},
        {"[{\"exact\":{\"flag\":\"true\"}}]", true, "a boolean true"},
        {"[{\"exact\":{\"off\":\"false\"}}]", true, "a boolean false"},
        {"[{\"exact\":{\"flag\":\"True\"}}]", false, "a boolean is lower-case"},
        {"[{\"exact\":{\"flag\":\"1\"}}]", false, "a boolean is not 1"},
        {"[{\"prefix\":{\"off\":\"fal\"}}]", true, "prefix of a boolean"},
    };

    TABLE(push_event, cases);
}

/* An event with attributes built by hand: the extremes of the types. */
static void test_typed_attributes(void)
{
    struct event event = EVENT_INIT;
    struct event_value v;
    static const struct {
        const char *filters;
        bool want;
        const char *what;
    } cases[] = {
        {"[{\"exact\":{\"bin\":\"aGVsbG8=\"}}]", true, "binary as base64"},
        {"[{\"exact\":{\"bin\":\"aGVsbG8\"}}]", false, "binary: base64 is padded"},
        {"[{\"prefix\":{\"bin\":\"aGVs\"}}]", true, "prefix of base64"},
        {"[{\"suffix\":{\"bin\":\"bG8=\"}}]", true, "suffix of base64"},
        {"[{\"suffix\":{\"bin\":\"G8=\"}}]", true, "suffix of base64 inside a group"},
        {"[{\"suffix\":{\"bin\":\"G9=\"}}]", false, "suffix of base64: a wrong character"},
        {"[{\"exact\":{\"one\":\"YQ==\"}}]", true, "one byte: two padding characters"},
        {"[{\"exact\":{\"three\":\"YWJj\"}}]", true, "three bytes: no padding"},
        {"[{\"prefix\":{\"empty\":\"A\"}}]", false, "empty binary matches nothing"},
        {"[{\"exact\":{\"min\":\"-9223372036854775808\"}}]", true, "the least integer"},
        {"[{\"exact\":{\"max\":\"9223372036854775807\"}}]", true, "the greatest integer"},
        {"[{\"exact\":{\"zero\":\"0\"}}]", true, "zero"},
        {"[{\"exact\":{\"site\":\"https://example.com/a\"}}]", true, "a URI"},
    };

    v = (struct event_value){.type = EVENT_BINARY, .u.bytes = {"hello", 5}};
    event_add(&event, "bin", 3, &v);
    v = (struct event_value){.type = EVENT_BINARY, .u.bytes = {"a", 1}};
    event_add(&event, "one", 3, &v);
    v = (struct event_value){.type = EVENT_BINARY, .u.bytes = {"abc", 3}};
    event_add(&event, "three", 5, &v);
    v = (struct event_value){.type = EVENT_BINARY, .u.bytes = {"", 0}};
    event_add(&event, "empty", 5, &v);
    v = (struct event_value){.type = EVENT_INTEGER, .u.integer = INT64_MIN};
    event_add(&event, "min", 3, &v);
    v = (struct event_value){.type = EVENT_INTEGER, .u.integer = INT64_MAX};
    event_add(&event, "max", 3, &v);
    v = (struct event_value){.type = EVENT_INTEGER, .u.integer = 0};
    event_add(&event, "zero", 4, &v);
    event_add_string(&event, "site", EVENT_URI, "https://example.com/a");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        match_is(cases[i].filters, &event, cases[i].want, cases[i].what);
    event_free(&event);
}

/* ---- Vanus's data keys -------------------------------------------------- */

static void test_data_keys(void)
{
    static const struct match_case cases[] = {
        {"[{\"exact\":{\"data.repository.name\":\"vane\"}}]", true, "a nested member"},
        {"[{\"exact\":{\"data.repository.name\":\"Vane\"}}]", false,
         "data values are case sensitive"},
        {"[{\"prefix\":{\"data.repository.name\":\"va\"}}]", true, "prefix of a member"},
        {"[{\"suffix\":{\"data.repository.name\":\"ne\"}}]", true, "suffix of a member"},
        {"[{\"exact\":{\"data.repository.stars\":\"1200\"}}]", true, "an integer member"},
        {"[{\"exact\":{\"data.price\":\"1.5\"}}]", true, "a real in its shortest form"},
        {"[{\"exact\":{\"data.price\":\"1.50\"}}]", false, "a real is not compared as written"},
        {"[{\"exact\":{\"data.ratio\":\"0.1\"}}]", true, "0.1 reads back as itself"},
        {"[{\"exact\":{\"data.big\":\"1e+21\"}}]", true, "a large real in exponent form"},
        {"[{\"exact\":{\"data.repository.private\":\"false\"}}]", true, "a boolean member"},
        {"[{\"exact\":{\"data.repository.owner\":\"null\"}}]", false, "null matches nothing"},
        {"[{\"not\":{\"prefix\":{\"data.repository.owner\":\"n\"}}}]", true, "not of null"},
        {"[{\"exact\":{\"data.repository\":\"vane\"}}]", false, "an object matches nothing"},
        {"[{\"prefix\":{\"data.items\":\"[\"}}]", false, "an array matches nothing"},
        {"[{\"exact\":{\"data.text\":\"caf\\u00e9\"}}]", true, "escapes decoded"},
        {"[{\"exact\":{\"data.Name\":\"upper\"}}]", true, "member names as written"},
        {"[{\"exact\":{\"data.name\":\"upper\"}}]", false, "member names are case sensitive"},

        {"[{\"exact\":{\"data.items.0.id\":\"a1\"}}]", true, "an array index"},
        {"[{\"exact\":{\"data.items.1.id\":\"b2\"}}]", true, "the second element"},
        {"[{\"exact\":{\"data.items[1].id\":\"b2\"}}]", true, "a bracketed index"},
        {"[{\"exact\":{\"data.items.2.id\":\"c3\"}}]", false, "past the end"},
        {"[{\"not\":{\"exact\":{\"data.items.2.id\":\"c3\"}}}]", true, "not past the end"},
        {"[{\"exact\":{\"data.items.id\":\"a1\"}}]", false, "a name does not index an array"},
        {"[{\"exact\":{\"data.matrix.1.0\":\"3\"}}]", true, "nested arrays, dotted"},
        {"[{\"exact\":{\"data.matrix[1][1]\":\"4\"}}]", true, "nested arrays, bracketed"},
        {"[{\"exact\":{\"data.matrix.1[0]\":\"3\"}}]", true, "nested arrays, mixed"},
        {"[{\"exact\":{\"data.0\":\"zero-key\"}}]", true, "a digit name is an object member too"},
        {"[{\"exact\":{\"data.repository.name.x\":\"vane\"}}]", false, "through a string"},
        {"[{\"exact\":{\"data.missing\":\"x\"}}]", false, "a missing member"},
        {"[{\"exact\":{\"data.missing.deep.path\":\"x\"}}]", false, "a missing path"},

        {"[{\"exact\":{\"data.repository.name\":\"vane\",\"type\":\"com.github.push\"}}]",
         true, "attribute and data pairs together"},
        {"[{\"exact\":{\"data.repository.name\":\"vane\",\"type\":\"other\"}}]", false,
         "an attribute pair fails beside a data pair"},
        {"[{\"all\":[{\"exact\":{\"data.items.0.id\":\"a1\"}},"
         "{\"suffix\":{\"data.repository.name\":\"ne\"}},"
         "{\"not\":{\"exact\":{\"data.price\":\"2\"}}}]}]", true, "data keys across nesting"},

        {"[{\"prefix\":{\"data\":\"{\\\"repository\\\":{\\\"name\\\":\\\"vane\\\"\"}}]", true,
         "data: the JSON text as sent"},
        {"[{\"suffix\":{\"data\":\"\\\"text\\\":\\\"caf\\\\u00e9\\\"}\"}}]", true,
         "data: escapes as sent"},
        {"[{\"exact\":{\"data\":\"vane\"}}]", false, "data: the whole text"},
    };
    static const struct match_case text_cases[] = {
        {"[{\"exact\":{\"data\":\"{\\\"x\\\":\\\"y\\\"} hello\"}}]", true, "text data: exact"},
        {"[{\"suffix\":{\"data\":\"hello\"}}]", true, "text data: suffix"},
        {"[{\"exact\":{\"data.x\":\"y\"}}]", false, "text data is not parsed as JSON"},
        {"[{\"not\":{\"exact\":{\"data.x\":\"y\"}}}]", true, "not of a data path in text"},
    };
    static const struct match_case bare_cases[] = {
        {"[{\"exact\":{\"data\":\"x\"}}]", false, "no data: data matches nothing"},
        {"[{\"prefix\":{\"data.x\":\"y\"}}]", false, "no data: no path matches"},
        {"[{\"not\":{\"exact\":{\"data\":\"x\"}}}]", true, "no data: not of data"},
    };
    static const struct match_case vendor_cases[] = {
        {"[{\"exact\":{\"data.0.ref\":\"refs/heads/main\"}}]", true, "+json data, an array"},
        {"[{\"suffix\":{\"data.0.ref\":\"/main\"}}]", true, "+json data, suffix"},
    };

    TABLE(push_event, cases);
    TABLE(text_event, text_cases);
    TABLE(bare_event, bare_cases);
    TABLE(vendor_event, vendor_cases);
}

/* Data bytes set by hand: no content type, bytes that do not parse, huge integers. */
static void test_data_bytes(void)
{
    static const struct {
        const char *content_type; /* NULL: none */
        const char *data;
        const char *filters;
        bool want;
        const char *what;
    } cases[] = {
        {NULL, "{\"a\":\"b\"}", "[{\"exact\":{\"data.a\":\"b\"}}]", true,
         "no content type: parsed as JSON"},
        {"application/json", "{\"a\":", "[{\"exact\":{\"data.a\":\"b\"}}]", false,
         "bytes that do not parse"},
        {"application/json", "{\"a\":", "[{\"prefix\":{\"data\":\"{\\\"a\"}}]", true,
         "bytes that do not parse: data still compares as text"},
        {"application/json", "\"just a string\"", "[{\"exact\":{\"data.0\":\"j\"}}]", false,
         "a string is not indexed"},
        {"application/json",
         "{\"n\":123456789012345678901234567890,\"s\":\"ok\",\"i\":7}",
         "[{\"exact\":{\"data.s\":\"ok\",\"data.i\":\"7\"}}]", true,
         "an integer beyond 64 bits does not spoil the document"},
        {"application/octet-stream", "{\"a\":\"b\"}", "[{\"exact\":{\"data.a\":\"b\"}}]", false,
         "binary data is not parsed"},
        {"application/json", "", "[{\"exact\":{\"data.a\":\"b\"}}]", false, "empty data"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct event event = EVENT_INIT;

        event_add_string(&event, "type", EVENT_STRING, "t");
        if (cases[i].content_type != NULL)
            event_add_string(&event, "datacontenttype", EVENT_STRING, cases[i].content_type);
        event_set_data(&event, cases[i].data, strlen(cases[i].data));
        match_is(cases[i].filters, &event, cases[i].want, cases[i].what);
        event_free(&event);
    }
}

/* ---- sql and cesql ------------------------------------------------------ */

static void test_sql(void)
{
    static const struct match_case cases[] = {
        {"[{\"sql\":\"type = 'com.github.push'\"}]", true, "sql: equality"},
        {"[{\"sql\":\"type = 'com.github.pull'\"}]", false, "sql: inequality"},
        {"[{\"cesql\":\"source LIKE '%cloudevents%'\"}]", true, "cesql: the spec's example"},
        {"[{\"sql\":\"subject LIKE '%.txt'\"}]", false, "sql: LIKE fails"},
        {"[{\"not\":{\"sql\":\"type = 'com.github.push'\"}}]", false, "not of sql"},
        {"[{\"exact\":{\"type\":\"com.github.push\"}},{\"sql\":\"subject = 'README.md'\"}]", true,
         "sql beside exact"},
        {"[{\"any\":[{\"sql\":\"type = 'x'\"},{\"cesql\":\"id = 'e-1'\"}]}]", true, "any of sql"},
    };

    TABLE(push_event, cases);
}

/* ---- cost --------------------------------------------------------------- */

static size_t json_allocations;

static void *counting_malloc(size_t size)
{
    json_allocations++;
    return malloc(size);
}

/* jansson allocations made by filter_match() of filters on event. */
static size_t allocations_of_match(const char *filters, const struct event *event, bool want)
{
    struct filter_error err;
    struct filter *f = compile(filters, &err);
    size_t before;

    if (f == NULL)
        return (size_t)-1;
    before = json_allocations;
    is_int(filter_match(f, event), want, "counted: %s", filters);
    before = json_allocations - before;
    filter_free(f);
    return before;
}

static void test_cost(void)
{
    struct harness_event p;
    json_t *once;
    size_t one_parse;

    if (!harness_event_parse(push_event, &p)) {
        harness_event_free(&p);
        return;
    }
    json_set_alloc_funcs(counting_malloc, free);
    json_allocations = 0;
    once = json_loadb(p.event.data.ptr, p.event.data.len, JSON_DECODE_ANY, NULL);
    one_parse = json_allocations;
    json_decref(once);
    ok(one_parse > 0, "parsing the data allocates (%zu)", one_parse);

    is_int(allocations_of_match("[{\"exact\":{\"type\":\"com.github.push\",\"count\":\"42\"}}]",
                                &p.event, true), 0, "exact on attributes: no allocation");
    is_int(allocations_of_match("[{\"prefix\":{\"data\":\"{\"}},{\"suffix\":{\"flag\":\"ue\"}}]",
                                &p.event, true), 0, "prefix and suffix, data as text: none");
    is_int(allocations_of_match("[{\"exact\":{\"data.items.0.id\":\"a1\",\"type\":\"x\"}}]",
                                &p.event, false), 0,
           "an attribute that fails first: the data is not parsed");
    is_int(allocations_of_match("[{\"exact\":{\"data.items.0.id\":\"a1\"}},"
                                "{\"any\":[{\"exact\":{\"data.price\":\"3\"}},"
                                "{\"prefix\":{\"data.repository.name\":\"v\"}}]},"
                                "{\"not\":{\"suffix\":{\"data.0\":\"x\"}}}]",
                                &p.event, true), one_parse,
           "four data keys in three filters: the data parsed once");
    json_set_alloc_funcs(malloc, free);
    harness_event_free(&p);
}

/* ---- compile errors ----------------------------------------------------- */

/* filters are refused with err naming path, and the message containing what. */
static void refused(const char *filters, const char *path, const char *what)
{
    json_error_t jerr;
    json_t *json = json_loads(filters, JSON_DECODE_ANY, &jerr);
    struct filter *f = (struct filter *)&jerr; /* not NULL: filter_compile() must clear it */
    struct filter_error err;

    if (json == NULL) {
        ok(false, "the test's filters do not parse: %s: %s", jerr.text, filters);
        return;
    }
    is_int(filter_compile(json, &f, &err), -EINVAL, "refused: %s", filters);
    ok(f == NULL, "refused: no filter comes back for %s", filters);
    is_str(err.path, path, "refused at %s: %s", path, filters);
    contains(err.message, what, "refused, saying why: %s", filters);
    json_decref(json);
}

static void test_compile_errors(void)
{
    refused("{\"exact\":{\"type\":\"a\"}}", "filters", "expected an array of filter objects");
    refused("\"type = 'a'\"", "filters", "found a string");
    refused("[1]", "filters[0]", "expected a filter object with one dialect key");
    refused("[{}]", "filters[0]", "found an empty object");
    refused("[{\"exact\":{\"type\":\"a\"},\"prefix\":{\"type\":\"b\"}}]", "filters[0]",
            "expected exactly one dialect key in a filter object, found 2: \"exact\", \"prefix\"");
    refused("[{\"regex\":{\"type\":\"a\"}}]", "filters[0].regex",
            "unknown filter dialect \"regex\": expected exact, prefix, suffix, all, any, not, "
            "sql, cesql, lua or plugin");
    refused("[{\"lua\":\"route\"}]", "filters[0].lua", "the lua dialect is not available here");
    refused("[{\"Exact\":{\"type\":\"a\"}}]", "filters[0].Exact", "unknown filter dialect");
    refused("[{\"exact\":{}}]", "filters[0].exact", "found an empty object");
    refused("[{\"prefix\":[\"type\"]}]", "filters[0].prefix", "found an array");
    refused("[{\"suffix\":\"x\"}]", "filters[0].suffix", "\"attribute\": \"value\" pairs");
    refused("[{\"exact\":{\"type\":5}}]", "filters[0].exact.type",
            "expected a string value, found a number");
    refused("[{\"exact\":{\"flag\":true}}]", "filters[0].exact.flag", "found a boolean");
    refused("[{\"exact\":{\"type\":null}}]", "filters[0].exact.type", "found null");
    refused("[{\"exact\":{\"type\":\"\"}}]", "filters[0].exact.type", "not empty");
    refused("[{\"prefix\":{\"source\":\"\"}}]", "filters[0].prefix.source", "not empty");
    refused("[{\"suffix\":{\"subject\":\"\"}}]", "filters[0].suffix.subject", "not empty");
    refused("[{\"exact\":{\"data.a\":\"\"}}]", "filters[0].exact.data.a", "not empty");
    refused("[{\"exact\":{\"\":\"x\"}}]", "filters[0].exact.", "empty attribute name");
    refused("[{\"exact\":{\"Type\":\"x\"}}]", "filters[0].exact.Type",
            "lower-case letters a-z and digits 0-9");
    refused("[{\"exact\":{\"my-ext\":\"x\"}}]", "filters[0].exact.my-ext", "lower-case");
    refused("[{\"exact\":{\"data[0].ref\":\"x\"}}]", "filters[0].exact.data[0].ref",
            "\"data.<path>\"");
    refused("[{\"exact\":{\"data.\":\"x\"}}]", "filters[0].exact.data.",
            "expected a member name at byte 0");
    refused("[{\"exact\":{\"data.a..b\":\"x\"}}]", "filters[0].exact.data.a..b",
            "expected a member name at byte 2");
    refused("[{\"exact\":{\"data.a.\":\"x\"}}]", "filters[0].exact.data.a.", "member name");
    refused("[{\"exact\":{\"data.a[x]\":\"x\"}}]", "filters[0].exact.data.a[x]",
            "expected [<index>] with a decimal array index at byte 1");
    refused("[{\"exact\":{\"data.a[01]\":\"x\"}}]", "filters[0].exact.data.a[01]", "[<index>]");
    refused("[{\"exact\":{\"data.a[-1]\":\"x\"}}]", "filters[0].exact.data.a[-1]", "[<index>]");
    refused("[{\"exact\":{\"data.a[2\":\"x\"}}]", "filters[0].exact.data.a[2", "[<index>]");
    refused("[{\"exact\":{\"data.a]b\":\"x\"}}]", "filters[0].exact.data.a]b",
            "expected \".\" or \"[\" at byte 1");
    refused("[{\"exact\":{\"data.[0]\":\"x\"}}]", "filters[0].exact.data.[0]", "member name");

    refused("[{\"all\":[]}]", "filters[0].all", "found an empty array");
    refused("[{\"any\":{\"exact\":{\"type\":\"a\"}}}]", "filters[0].any",
            "expected an array of one or more filter objects, found an object");
    refused("[{\"all\":[{\"exact\":{\"type\":\"a\"}},7]}]", "filters[0].all[1]",
            "expected a filter object");
    refused("[{\"not\":[]}]", "filters[0].not", "expected a filter object");
    refused("[{\"not\":{}}]", "filters[0].not", "found an empty object");
    refused("[{\"exact\":{\"type\":\"a\"}},{\"any\":[{\"exact\":{\"type\":\"a\"}},"
            "{\"prefix\":{\"type\":1}}]}]", "filters[1].any[1].prefix.type",
            "expected a string value");
    refused("[{\"not\":{\"all\":[{\"not\":{\"foo\":1}}]}}]", "filters[0].not.all[0].not.foo",
            "unknown filter dialect \"foo\"");

    refused("[{\"sql\":5}]", "filters[0].sql", "expected a CESQL expression as a string");
    refused("[{\"cesql\":\"\"}]", "filters[0].cesql", "found an empty string");
}

/* CESQL errors: the path, the engine's message, and its position. */
static void test_sql_errors(void)
{
    static const char *const bad[] = {
        "[{\"sql\":\"type = \"}]",
        "[{\"cesql\":\"type LIKE\"}]",
        "[{\"all\":[{\"sql\":\"(type = 'a'\"}]}]",
        "[{\"sql\":\"type = 'a' AND AND\"}]",
    };
    static const char *const paths[] = {"filters[0].sql", "filters[0].cesql",
                                        "filters[0].all[0].sql", "filters[0].sql"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct filter_error err;
        struct filter *f = compile(bad[i], &err);

        ok(f == NULL, "CESQL error refused: %s", bad[i]);
        filter_free(f);
        is_str(err.path, paths[i], "CESQL error at %s", paths[i]);
        contains(err.message, "CESQL: ", "CESQL error message: %s", err.message);
        ok(err.position > 0, "CESQL error position %zu is past the start", err.position);
    }
    refused("[{\"sql\":\"type = 'a' OR NOSUCH(type)\"}]", "filters[0].sql", "CESQL: ");
}

/* Nesting is bounded, and a NULL error pointer is fine. */
static void test_limits(void)
{
    char text[4096] = "[";
    struct filter *f;
    json_t *json;
    struct filter_error err;
    size_t len = 1;

    for (int i = 0; i < FILTER_MAX_DEPTH + 5; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "{\"not\":");
    len += (size_t)snprintf(text + len, sizeof(text) - len, "{\"exact\":{\"type\":\"a\"}}");
    for (int i = 0; i < FILTER_MAX_DEPTH + 5; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "}");
    snprintf(text + len, sizeof(text) - len, "]");
    json = json_loads(text, 0, NULL);
    is_int(filter_compile(json, &f, &err), -EINVAL, "nesting past FILTER_MAX_DEPTH is refused");
    contains(err.message, "nested deeper than", "and says so");
    is_int(filter_compile(json, &f, NULL), -EINVAL, "a NULL error pointer is fine");
    json_decref(json);

    ok(filter_match(NULL, NULL), "a NULL filter passes every event");
    filter_free(NULL);
}

int main(void)
{
    test_dialects();
    test_spec_rules();
    test_typed_attributes();
    test_data_keys();
    test_data_bytes();
    test_sql();
    test_cost();
    test_compile_errors();
    test_sql_errors();
    test_limits();
    return tap_done();
}
