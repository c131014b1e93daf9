/*
 * test-vanectl.c -- vanectl.
 *
 * First its parsers and encoders, called directly: whole numbers,
 * durations, sizes, timestamps, extensions, the formats tables print,
 * percent-encoding of ce-* headers (the HTTP binding's own example) and of
 * URL parts, UUIDv4 ids and the content type guessed from data.
 *
 * Then the real vanectl against the real vaned: status, eventbus create,
 * list, info, update and delete in both formats; event put with text, JSON,
 * file, binary and stdin data, extensions, a subject that needs
 * percent-encoding, partition keys and an idempotent retry; event get by
 * offset, time and id, with JSON data shown exactly as it was sent; and the exit statuses scripts rely on: 2 for each
 * kind of usage error, 3 for an unknown eventbus or event, 1 for a broker
 * that refuses or is not there, 4 for a broker that wants a token, which
 * --token and VANE_TOKEN then give.  Last, every subscription command
 * (create, list, info, update, disable, resume, reset-offset, delete) with
 * its exit statuses, and subscription dead-letter get and resend against
 * the real test sink (tests/sink-server.c), which first rejects events so
 * that they are dead-lettered and then takes them when they are resent.
 * Then a subscription made without --sink (its sink null, shown as "-"),
 * which a sink connector serves, and every connector command (create,
 * list, info, update, scale, delete) with the plugins the build made
 * (source-http, sink-stdout, found beside vaned): options from --options
 * and --option, settings left out shown as the effective values of the
 * engine's status, an instance started by scale --min 1, and the broker's
 * refusals (unknown plugin, eventbus, option) naming their field.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "../vanectl/encode.h"
#include "../vanectl/parse.h"
#include "core/alloc.h"
#include "harness.h"
#include "tap.h"
#include "vane-config.h"

static char *tmpdir;
static const char *endpoint; /* the broker every run talks to */

static int exit_code(int status)
{
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool is_timestamp(const char *text)
{
    const char *why;

    return text != NULL && parse_timestamp(text, &why) == 0;
}

/* ---- the parsers and encoders -------------------------------------------- */

static void test_counts(void)
{
    uint64_t n = 99;

    is_int(parse_count("64", 64, &n), 0, "64 is a count up to 64");
    is_int(n, 64, "read as 64");
    is_int(parse_count("0", 64, &n), 0, "0 is a count");
    is_int(parse_count("65", 64, &n), -EINVAL, "65 is more than 64");
    is_int(parse_count("99999999999999999999999", UINT64_MAX, &n), -EINVAL, "overflow refused");
    is_int(parse_count("", 64, &n), -EINVAL, "empty refused");
    is_int(parse_count("6a", 64, &n), -EINVAL, "6a refused");
    is_int(parse_count("-1", 64, &n), -EINVAL, "-1 refused");
}

static void test_durations(void)
{
    static const struct {
        const char *text;
        uint64_t seconds;
    } good[] = {{"7d", 604800}, {"12h", 43200}, {"30m", 1800}, {"45s", 45}, {"0", 0},
                {"90", 90},     {"2000ms", 2}};
    static const char *const bad[] = {"", "7x", "d", "1.5h", "-1d", "1500ms", "7 d", "1h30m"};
    uint64_t seconds;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        seconds = 1;
        is_int(parse_duration(good[i].text, &seconds), 0, "duration %s", good[i].text);
        is_int(seconds, good[i].seconds, "%s is %llu s", good[i].text,
               (unsigned long long)good[i].seconds);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(parse_duration(bad[i], &seconds), -EINVAL, "duration \"%s\" refused", bad[i]);
}

static void test_sizes(void)
{
    static const struct {
        const char *text;
        uint64_t bytes;
    } good[] = {{"512MiB", 536870912}, {"1GiB", 1073741824}, {"100MB", 100000000},
                {"4096", 4096},        {"10KiB", 10240},     {"0", 0},
                {"5B", 5}};
    static const char *const bad[] = {"", "MiB", "1.5GiB", "12 MiB", "1XB", "-5"};
    uint64_t bytes;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        bytes = 1;
        is_int(parse_size(good[i].text, &bytes), 0, "size %s", good[i].text);
        is_int(bytes, good[i].bytes, "%s is %llu bytes", good[i].text,
               (unsigned long long)good[i].bytes);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(parse_size(bad[i], &bytes), -EINVAL, "size \"%s\" refused", bad[i]);
    is_int(parse_size("99999999999GiB", &bytes), -EINVAL, "a size past 2^63 refused");
}

static void test_timestamps(void)
{
    static const char *const good[] = {"2026-11-26T10:00:00Z", "2026-11-26t10:00:00.123456789z",
                                       "2024-02-29T23:59:60+01:00", "2026-01-02T03:04:05-08:00"};
    static const char *const bad[] = {"2026-11-26", "2026-11-26 10:00:00Z",
                                      "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
                                      "2026-11-26T24:00:00Z", "2026-11-26T10:00:00",
                                      "2026-11-26T10:00:00+0100", "yesterday"};
    const char *why = NULL;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        is_int(parse_timestamp(good[i], &why), 0, "timestamp %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(parse_timestamp(bad[i], &why), -EINVAL, "timestamp \"%s\" refused", bad[i]);
    contains(why, "RFC 3339", "the reason says what was expected");
}

static void test_extensions(void)
{
    static const char *const bad[] = {"=v", "Region=x", "my_ext=x", "noequals", ""};
    const char *value = NULL;
    char *name = NULL;

    is_int(parse_extension("region=eu-west", &name, &value), 0, "region=eu-west");
    is_str(name, "region", "its name");
    is_str(value, "eu-west", "its value");
    vane_free(name);
    is_int(parse_extension("a1=b=c", &name, &value), 0, "a1=b=c splits at the first =");
    is_str(value, "b=c", "the rest is the value");
    vane_free(name);
    is_int(parse_extension("x=", &name, &value), 0, "an empty value is a value");
    is_str(value, "", "empty");
    vane_free(name);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(parse_extension(bad[i], &name, &value), -EINVAL, "extension \"%s\" refused",
               bad[i]);
}

/* Checks a format function's text for a value, and frees it. */
static void is_formatted(char *text, const char *want, uint64_t value)
{
    is_str(text, want, "%llu is written %s", (unsigned long long)value, want);
    vane_free(text);
}

static void test_formats(void)
{
    static const uint64_t durations[] = {604800, 43200, 5400, 5401, 86400 * 14, 1};
    uint64_t back;
    char *text;

    is_formatted(format_duration(604800), "7d", 604800);
    is_formatted(format_duration(129600), "36h", 129600);
    is_formatted(format_duration(5400), "90m", 5400);
    is_formatted(format_duration(5401), "5401s", 5401);
    is_formatted(format_duration(0), "0", 0);
    is_formatted(format_size(536870912), "512MiB", 536870912);
    is_formatted(format_size(1073741824), "1GiB", 1073741824);
    is_formatted(format_size(12345), "12.1KiB", 12345);
    is_formatted(format_size(100), "100B", 100);
    is_formatted(format_size(0), "0B", 0);
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        text = format_duration(durations[i]);
        back = 0;
        ok(parse_duration(text, &back) == 0 && back == durations[i],
           "%s reads back as %llu s", text, (unsigned long long)durations[i]);
        vane_free(text);
    }
    text = format_now();
    ok(is_timestamp(text), "now is RFC 3339: %s", text);
    vane_free(text);
}

static void is_encoded(char *text, const char *want, const char *what)
{
    is_str(text, want, "%s", what);
    vane_free(text);
}

static void test_percent_encoding(void)
{
    /* The binding's own example (3.1.3.2). */
    is_encoded(encode_header_value("Euro \xe2\x82\xac \xf0\x9f\x98\x80"),
               "Euro%20%E2%82%AC%20%F0%9F%98%80", "the spec's Euro and emoji example");
    is_encoded(encode_header_value("say \"100%\""), "say%20%22100%25%22",
               "space, double quote and percent are encoded");
    is_encoded(encode_header_value("tab\there\x7f"), "tab%09here%7F", "controls and DEL too");
    is_encoded(encode_header_value("/shop/orders?id=1&x=a+b:c"), "/shop/orders?id=1&x=a+b:c",
               "other printable ASCII is left as it is");
    is_encoded(encode_header_value(""), "", "empty stays empty");
    is_encoded(encode_url_component("2026-11-26T10:00:00+01:00"),
               "2026-11-26T10%3A00%3A00%2B01%3A00", "a time in a query: ':' and '+' encoded");
    is_encoded(encode_url_component("a b/c?d&e=f~g_h.i-j"), "a%20b%2Fc%3Fd%26e%3Df~g_h.i-j",
               "a URL part keeps only unreserved characters");
}

static void test_uuid(void)
{
    char *a = encode_uuid_v4(), *b = encode_uuid_v4();
    bool shape = a != NULL && strlen(a) == 36;

    for (size_t i = 0; shape && i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;

        shape = dash ? a[i] == '-' : strchr("0123456789abcdef", a[i]) != NULL;
    }
    ok(shape, "a UUID is 8-4-4-4-12 lowercase hex: %s", a ? a : "(none)");
    ok(a != NULL && a[14] == '4', "version 4");
    ok(a != NULL && strchr("89ab", a[19]) != NULL, "RFC 4122 variant");
    ok(a != NULL && b != NULL && strcmp(a, b) != 0, "two UUIDs differ");
    vane_free(a);
    vane_free(b);
}

static void test_content_types(void)
{
    is_str(encode_guess_content_type("{\"total\": 12}", 13), "application/json", "JSON data");
    is_str(encode_guess_content_type("42", 2), "application/json", "a JSON number");
    is_str(encode_guess_content_type("hello world", 11), "text/plain; charset=utf-8",
           "UTF-8 text");
    is_str(encode_guess_content_type("gr\xc3\xbc\xc3\x9f", 6), "text/plain; charset=utf-8",
           "non-ASCII UTF-8 text");
    is_str(encode_guess_content_type("\x00\x01\xff", 3), "application/octet-stream",
           "bytes that are not UTF-8");
}

/* ---- running vanectl ------------------------------------------------------ */

/* Runs vanectl --endpoint ENDPOINT ARGS...; returns its exit status, -1 when it did not exit. */
static int run_with(const char *const *env, char **out, char **err, const char *const *args)
{
    const char *argv[40] = {getenv("VANECTL"), "--endpoint", endpoint};
    size_t n = 3;
    int status;

    for (size_t i = 0; args[i] != NULL && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    status = harness_run(argv, env, out, err);
    return exit_code(status);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
/* vanectl(&out, &err, "eventbus", "list"): out and err may be NULL. */
#define vanectl(out, err, ...) run_with(NULL, (out), (err), ARGS(__VA_ARGS__))

/* Runs vanectl --format json ARGS... and parses what it prints; NULL (with a diagnostic)
 * unless it exits 0 with JSON. */
static json_t *vanectl_json_with(const char *const *args)
{
    const char *argv[40] = {"--format", "json"};
    char *out = NULL, *err = NULL;
    json_t *answer = NULL;
    size_t n = 2;
    int status;

    for (size_t i = 0; args[i] != NULL && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    status = run_with(NULL, &out, &err, argv);
    if (status == 0)
        answer = json_loads(out ? out : "", 0, NULL);
    if (answer == NULL)
        tap_diag("vanectl %s ... exited %d: %s%s", args[0], status, out ? out : "",
                 err ? err : "");
    vane_free(out);
    vane_free(err);
    return answer;
}

#define vanectl_json(...) vanectl_json_with(ARGS(__VA_ARGS__))

static const char *string_at(const json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

static json_int_t integer_at(const json_t *object, const char *key)
{
    return json_integer_value(json_object_get(object, key));
}

/* The stored event (its "event" object) with this id, found by `event get --id`; decref it. */
static json_t *stored_event(const char *eventbus, const char *id)
{
    json_t *answer = vanectl_json("event", "get", eventbus, "--id", id);
    json_t *event = json_object_get(json_array_get(json_object_get(answer, "events"), 0), "event");

    json_incref(event);
    json_decref(answer);
    return event;
}

/* ---- status, help and usage errors ---------------------------------------- */

static void test_status(void)
{
    char *env_endpoint = vane_asprintf("VANE_ENDPOINT=%s", endpoint);
    const char *env[] = {env_endpoint, NULL};
    const char *json[] = {getenv("VANECTL"), "--format", "json", "status", NULL};
    char *out = NULL;
    json_t *body;

    is_int(vanectl(&out, NULL, "status"), 0, "status exits 0");
    contains(out, "STATUS", "table output has a STATUS row");
    contains(out, "ok", "saying ok");
    contains(out, PACKAGE_VERSION, "with the version");
    vane_free(out);

    is_int(exit_code(harness_run(json, env, &out, NULL)), 0, "VANE_ENDPOINT names the broker");
    body = out ? json_loads(out, 0, NULL) : NULL;
    ok(body != NULL, "--format json prints JSON");
    is_str(string_at(body, "status"), "ok", "status is ok");
    is_str(string_at(body, "endpoint"), endpoint, "endpoint is echoed");
    json_decref(body);
    vane_free(out);

    is_int(vanectl(&out, NULL, "status", "--format", "json"), 0,
           "a global option may follow the command");
    contains(out, "\"status\": \"ok\"", "and is applied");
    vane_free(out);
    vane_free(env_endpoint);
}

static void test_help(void)
{
    char *out = NULL;

    is_int(vanectl(&out, NULL, "--help"), 0, "--help exits 0");
    contains(out, "eventbus create NAME", "listing eventbus create");
    contains(out, "event put EVENTBUS", "and event put");
    contains(out, "--token TOKEN", "the token option");
    contains(out, "3  not found", "and the exit statuses");
    contains(out, "4  unauthorized", "all of them");
    vane_free(out);
    is_int(vanectl(&out, NULL, "eventbus", "create", "--help"), 0,
           "eventbus create --help exits 0");
    contains(out, "--max-age DURATION", "describing its options");
    vane_free(out);
    is_int(vanectl(&out, NULL, "event", "--help"), 0, "event --help exits 0");
    contains(out, "event get EVENTBUS", "listing the event commands");
    vane_free(out);
}

/* Each of these command lines is wrong in one way, and says so. */
static void test_usage_errors(void)
{
    static const struct {
        const char *args[14];
        const char *says;
    } cases[] = {
        {{"frobnicate"}, "unknown command 'frobnicate'"},
        {{"eventbus", "frob"}, "unknown command 'eventbus frob'"},
        {{"eventbus"}, "Usage: vanectl [GLOBAL OPTION]... eventbus COMMAND"},
        {{"--format", "yaml", "status"}, "--format: expected table or json; got \"yaml\""},
        {{"status", "--timeout", "soon"}, "--timeout: expected a positive number of seconds"},
        {{"status", "extra"}, "vanectl: status: takes no arguments; got \"extra\""},
        {{"eventbus", "create"}, "vanectl: eventbus create: expected NAME"},
        {{"eventbus", "create", "a", "b"}, "expected one NAME; got \"b\" too"},
        {{"eventbus", "create", "a", "--eventlogs", "0"},
         "--eventlogs: expected a whole number from 1 to 64; got \"0\""},
        {{"eventbus", "create", "a", "--eventlogs", "65"}, "from 1 to 64; got \"65\""},
        {{"eventbus", "create", "a", "--max-age", "7x"},
         "vanectl: eventbus create: --max-age: expected a duration such as 7d"},
        {{"eventbus", "create", "a", "--max-bytes", "1.5GiB"},
         "--max-bytes: expected a size such as 512MiB"},
        {{"eventbus", "create", "a", "--frob"}, "unknown option '--frob'"},
        {{"eventbus", "create", "a", "--description"}, "option '--description' needs a value"},
        {{"eventbus", "update", "a"}, "nothing to change"},
        {{"eventbus", "update", "a", "--eventlogs", "2"}, "unknown option '--eventlogs'"},
        {{"eventbus", "info"}, "expected NAME"},
        {{"event", "put", "bus", "--type", "t"}, "vanectl: event put: --source is required"},
        {{"event", "put", "bus", "--source", "/s"}, "--type is required"},
        {{"event", "put", "--source", "/s", "--type", "t"}, "expected EVENTBUS"},
        {{"event", "put", "bus", "--source", "/s", "--type", "t", "--time", "2026-13-01T00:00:00Z"},
         "--time: expected an RFC 3339"},
        {{"event", "put", "bus", "--source", "/s", "--type", "t", "--delivery-time", "soon"},
         "--delivery-time: expected an RFC 3339"},
        {{"event", "put", "bus", "--source", "/s", "--type", "t", "--ext", "Bad=1"},
         "--ext: expected name=value"},
        {{"event", "put", "bus", "--source", "/s", "--type", "t", "--ext", "time=x"},
         "--ext: time has its own option, --time"},
        {{"event", "put", "bus", "--source", "/s", "--type", "t", "--ext", "partitionkey=x"},
         "--ext: partitionkey has its own option, --partition-key"},
        {{"event", "put", "bus", "--source", "/s", "--type", "t", "--data", "a", "--data-file",
          "b"},
         "give --data or --data-file, not both"},
        {{"event", "put", "bus", "--source", "/s", "--type", "t", "--data-file", "/nonexistent/x"},
         "--data-file: cannot open /nonexistent/x"},
        {{"event", "get", "bus", "--id", "x", "--offset", "1"}, "--id searches every eventlog"},
        {{"event", "get", "bus", "--time", "2026-11-26T10:00:00Z", "--offset", "1"},
         "give one"},
        {{"event", "get", "bus", "--limit", "0"},
         "--limit: expected a whole number from 1 to 1000"},
        {{"event", "get", "bus", "--eventlog", "64"}, "--eventlog: expected an eventlog number"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *err = NULL;

        is_int(run_with(NULL, NULL, &err, cases[i].args), 2, "usage error %zu (%s ...) exits 2",
               i, cases[i].args[0]);
        contains(err, cases[i].says, "saying so");
        vane_free(err);
    }
}

/* ---- eventbuses ------------------------------------------------------------ */

static void test_create(void)
{
    char *out = NULL, *err = NULL;
    json_t *bus;

    is_int(vanectl(&out, NULL, "eventbus", "create", "orders", "--eventlogs", "2", "--description",
                   "Order events", "--max-age", "7d", "--max-bytes", "512MiB"),
           0, "eventbus create exits 0");
    contains(out, "NAME         orders", "the table names it");
    contains(out, "MAX_AGE      7d", "shows the age limit as given");
    contains(out, "MAX_BYTES    512MiB", "and the size limit");
    contains(out, "EVENTLOG  FIRST_OFFSET  NEXT_OFFSET  EVENTS  BYTES  SEGMENTS  FIRST_TIME",
             "and heads the eventlog table");
    vane_free(out);

    bus = vanectl_json("eventbus", "create", "audit");
    is_str(string_at(bus, "name"), "audit", "--format json prints the created eventbus");
    is_int(integer_at(bus, "eventlog_count"), 1, "with one eventlog by default");
    json_decref(bus);

    is_int(vanectl(NULL, &err, "eventbus", "create", "orders"), 1, "a second create exits 1");
    contains(err, "vanectl: eventbus create orders: ", "one line naming the command and bus");
    contains(err, "already exists (field name)", "with the broker's message and field");
    vane_free(err);
    is_int(vanectl(NULL, &err, "eventbus", "create", "__system"), 1, "a refused name exits 1");
    contains(err, "(field name)", "naming the field");
    vane_free(err);
}

static void test_list_and_info(void)
{
    char *out = NULL, *err = NULL;
    json_t *answer, *eventlogs;

    is_int(vanectl(&out, NULL, "eventbus", "list"), 0, "eventbus list exits 0");
    contains(out, "NAME    EVENTLOGS  EVENTS  BYTES  MAX_AGE", "the list has its heading");
    contains(out, "orders  2          0       0B     7d ", "a row for orders");
    contains(out, "512MiB", "with its size limit");
    contains(out, "unlimited", "and audit's, none");
    contains(out, "Order events", "with its description");
    contains(out, "audit", "and a row for audit");
    vane_free(out);

    answer = vanectl_json("eventbus", "list");
    is_int(json_array_size(json_object_get(answer, "eventbuses")), 2,
           "--format json lists both eventbuses as the broker does");
    json_decref(answer);

    answer = vanectl_json("eventbus", "info", "orders");
    eventlogs = json_object_get(answer, "eventlogs");
    is_int(json_array_size(eventlogs), 2, "info shows both eventlogs");
    is_int(integer_at(json_object_get(answer, "retention"), "max_age_seconds"), 604800,
           "7d was sent as 604800 seconds");
    is_int(integer_at(json_object_get(answer, "retention"), "max_bytes"), 536870912,
           "512MiB as 536870912 bytes");
    is_str(string_at(answer, "description"), "Order events", "the description as given");
    json_decref(answer);

    is_int(vanectl(&out, NULL, "eventbus", "info", "orders"), 0, "info as a table exits 0");
    contains(out, "0         0             0            0       0B     1         -           -",
             "an empty eventlog's row, no times");
    vane_free(out);

    is_int(vanectl(NULL, &err, "eventbus", "info", "nope"), 3, "info of an unknown bus exits 3");
    contains(err, "vanectl: eventbus info nope: ", "naming it");
    vane_free(err);
}

/* ---- events -------------------------------------------------------------- */

/* Puts an event (args after "event put orders"); returns the answer's one event, or NULL. */
static json_t *put(const char *const *args)
{
    const char *argv[30] = {"event", "put", "orders"};
    json_t *answer, *stored;
    size_t n = 3;

    for (size_t i = 0; args[i] != NULL && n < 29; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    answer = vanectl_json_with(argv);
    stored = json_incref(json_array_get(json_object_get(answer, "events"), 0));
    json_decref(answer);
    return stored;
}

static void test_put_text(void)
{
    char *out = NULL;
    json_t *answer, *event;

    is_int(vanectl(&out, NULL, "event", "put", "orders", "--source", "/shop", "--type",
                   "order.created", "--id", "o-1", "--data", "hello world"),
           0, "event put exits 0");
    contains(out, "ID   EVENTLOG  OFFSET  DUPLICATE", "the answer as a table");
    contains(out, "o-1", "naming the event");
    contains(out, "false", "not a duplicate");
    vane_free(out);

    answer = put(ARGS("--source", "/shop", "--type", "order.created", "--id", "o-1", "--data",
                      "hello world"));
    ok(json_is_true(json_object_get(answer, "duplicate")), "the same event again is a duplicate");
    json_decref(answer);

    event = stored_event("orders", "o-1");
    is_str(string_at(event, "data"), "hello world", "text data stored as it was");
    is_str(string_at(event, "datacontenttype"), "text/plain; charset=utf-8",
           "with the content type guessed for text");
    is_str(string_at(event, "source"), "/shop", "its source");
    is_str(string_at(event, "type"), "order.created", "its type");
    ok(is_timestamp(string_at(event, "time")), "a time was filled in: %s",
       string_at(event, "time"));
    json_decref(event);

    answer = put(ARGS("--source", "/shop", "--type", "order.created"));
    ok(answer != NULL && strlen(string_at(answer, "id") ? string_at(answer, "id") : "") == 36,
       "without --id, a UUID is made: %s", string_at(answer, "id"));
    json_decref(answer);
}

static void test_put_attributes(void)
{
    /* Space, quotes, percent and non-ASCII must all survive the ce-* headers. */
    const char *subject = "order 42 \"gr\xc3\xbc\xc3\x9f\" 100% \xe2\x82\xac";
    json_t *answer, *event;

    answer = put(ARGS("--source", "/shop", "--type", "order.paid", "--id", "o-2", "--subject",
                      subject, "--time", "2026-01-02T03:04:05Z", "--dataschema",
                      "https://example.com/order.json", "--ext", "region=eu-west", "--ext",
                      "priority=high", "--data", "{\"total\": 12}"));
    ok(answer != NULL, "an event with every attribute is stored");
    json_decref(answer);
    event = stored_event("orders", "o-2");
    is_str(string_at(event, "subject"), subject, "the subject survives percent-encoding");
    is_str(string_at(event, "time"), "2026-01-02T03:04:05Z", "the time as given");
    is_str(string_at(event, "dataschema"), "https://example.com/order.json", "the dataschema");
    is_str(string_at(event, "region"), "eu-west", "an extension");
    is_str(string_at(event, "priority"), "high", "another extension");
    is_str(string_at(event, "datacontenttype"), "application/json", "JSON data is sent as JSON");
    is_int(integer_at(json_object_get(event, "data"), "total"), 12, "and stored as JSON");
    json_decref(event);

    answer = put(ARGS("--source", "/shop", "--type", "order.note", "--id", "o-3",
                      "--content-type", "text/markdown", "--data", "# Note"));
    json_decref(answer);
    event = stored_event("orders", "o-3");
    is_str(string_at(event, "datacontenttype"), "text/markdown", "--content-type is sent");
    json_decref(event);

    answer = put(ARGS("--source", "/shop", "--type", "order.later", "--id", "o-4",
                      "--delivery-time", "2030-01-01T00:00:00Z"));
    ok(answer != NULL, "--delivery-time is accepted");
    json_decref(answer);
}

/* JSON data comes back as it was sent: jansson would print 59.90 as 59.899999999999999. */
static void test_data_as_sent(void)
{
    char *out = NULL;
    json_t *answer;

    answer = put(ARGS("--source", "/shop", "--type", "order.priced", "--id", "o-5", "--data",
                      "{\"total\": 59.90}"));
    json_decref(answer);
    is_int(vanectl(&out, NULL, "event", "get", "orders", "--id", "o-5"), 0, "get o-5");
    contains(out, "{\"total\": 59.90}", "the table previews the data as sent");
    vane_free(out);
    is_int(vanectl(&out, NULL, "--format", "json", "event", "get", "orders", "--id", "o-5"), 0,
           "get o-5 as JSON");
    contains(out, "59.90}", "--format json prints the broker's answer as it came");
    vane_free(out);
}

/* Writes bytes (not text: they may hold a NUL) to a file in tmpdir; free the path. */
static char *write_bytes(const char *name, const void *bytes, size_t len)
{
    char *path = vane_asprintf("%s/%s", tmpdir, name);
    FILE *file = fopen(path, "wb");

    if (file != NULL) {
        fwrite(bytes, 1, len, file);
        fclose(file);
    }
    return path;
}

static void test_put_files(void)
{
    char *text_file = write_bytes("note.txt", "line one\nline two\n", 18);
    char *binary_file = write_bytes("blob.bin", "\x00\x01\xff\xfe", 4);
    const char *pipe[] = {"/bin/sh", "-c",
                          "printf 'from stdin' | \"$0\" --endpoint \"$1\" --format json event put "
                          "orders --source /cli --type piped --id s-1 --data-file -",
                          getenv("VANECTL"), endpoint, NULL};
    json_t *answer, *event;
    char *out = NULL;

    answer = put(ARGS("--source", "/files", "--type", "note", "--id", "f-1", "--data-file",
                      text_file));
    json_decref(answer);
    event = stored_event("orders", "f-1");
    is_str(string_at(event, "data"), "line one\nline two\n", "--data-file reads a file");
    json_decref(event);

    answer = put(ARGS("--source", "/files", "--type", "blob", "--id", "f-2", "--data-file",
                      binary_file));
    json_decref(answer);
    event = stored_event("orders", "f-2");
    is_str(string_at(event, "datacontenttype"), "application/octet-stream",
           "bytes that are not text go as application/octet-stream");
    is_str(string_at(event, "data_base64"), "AAH//g==", "every byte, the NUL included");
    json_decref(event);

    is_int(exit_code(harness_run(pipe, NULL, &out, NULL)), 0, "--data-file - exits 0");
    contains(out, "\"s-1\"", "publishing from stdin");
    vane_free(out);
    event = stored_event("orders", "s-1");
    is_str(string_at(event, "data"), "from stdin", "the data read from stdin");
    json_decref(event);
    vane_free(text_file);
    vane_free(binary_file);
}

/* The first stored event in eventlog that has a partitionkey, from `event get`; decref it. */
static json_t *first_keyed_event(json_int_t eventlog)
{
    char number[24];
    json_t *answer, *stored, *event = NULL;
    size_t i;

    snprintf(number, sizeof(number), "%lld", (long long)eventlog);
    answer = vanectl_json("event", "get", "orders", "--eventlog", number, "--limit", "1000");
    json_array_foreach(json_object_get(answer, "events"), i, stored)
        if (event == NULL && string_at(json_object_get(stored, "event"), "partitionkey"))
            event = json_incref(json_object_get(stored, "event"));
    json_decref(answer);
    return event;
}

static void test_put_partition_key(void)
{
    json_int_t first = -1;
    bool same = true;
    json_t *event;

    for (int i = 0; i < 4; i++) {
        json_t *answer = put(ARGS("--source", "/shop", "--type", "order.keyed",
                                  "--partition-key", "customer-7", "--data", "keyed"));
        json_int_t eventlog = integer_at(answer, "eventlog");

        same = same && answer != NULL && (first < 0 || eventlog == first);
        first = eventlog;
        json_decref(answer);
    }
    ok(same, "events with one partition key all go to one eventlog (%lld)", (long long)first);
    event = first_keyed_event(first);
    is_str(string_at(event, "partitionkey"), "customer-7", "the key is stored as partitionkey");
    json_decref(event);
}

static void test_put_errors(void)
{
    char *err = NULL;

    is_int(vanectl(NULL, &err, "event", "put", "nope", "--source", "/s", "--type", "t"), 3,
           "putting to an unknown eventbus exits 3");
    contains(err, "vanectl: event put nope: ", "naming it");
    vane_free(err);
    is_int(vanectl(NULL, &err, "event", "put", "orders", "--source", "/s", "--type", "t", "--ext",
                   "xvanusother=1"),
           1, "an event the broker refuses exits 1");
    contains(err, "(field xvanusother)", "naming the field at fault");
    vane_free(err);
    is_int(vanectl(NULL, &err, "event", "put", "orders", "--source", "/s", "--type", "t",
                   "--subject", ""),
           1, "an empty subject is sent, and refused");
    contains(err, "(field subject)", "by the broker, naming it");
    vane_free(err);
}

static void test_get(void)
{
    json_t *answer, *events, *later;
    char *out = NULL, *err = NULL;
    const char *stored_at;
    char eventlog[8];

    /* o-1 is in some eventlog: read that one from its start. */
    answer = vanectl_json("event", "get", "orders", "--id", "o-1");
    events = json_object_get(answer, "events");
    is_int(json_array_size(events), 1, "--id finds the event");
    snprintf(eventlog, sizeof(eventlog), "%d",
             (int)integer_at(json_array_get(events, 0), "eventlog"));
    json_decref(answer);

    answer = vanectl_json("event", "get", "orders", "--eventlog", eventlog, "--offset", "0",
                          "--limit", "2");
    events = json_object_get(answer, "events");
    is_int(json_array_size(events), 2, "--limit 2 reads two events");
    is_int(integer_at(json_array_get(events, 0), "offset"), 0, "from offset 0");
    is_int(integer_at(json_array_get(events, 1), "offset"), 1, "then 1");
    is_int(integer_at(json_object_get(answer, "next"), "offset"), 2, "next is offset 2");
    stored_at = string_at(json_array_get(events, 1), "stored_at");
    ok(stored_at != NULL, "each event has its store time");

    /* From the second event's store time, the read starts at the second event. */
    later = vanectl_json("event", "get", "orders", "--eventlog", eventlog, "--time",
                         stored_at ? stored_at : "", "--limit", "1");
    is_int(integer_at(json_array_get(json_object_get(later, "events"), 0), "offset"), 1,
           "--time starts at the first event stored at or after it");
    json_decref(later);
    json_decref(answer);

    answer = vanectl_json("event", "get", "orders", "--eventlog", eventlog, "--time",
                          "2200-01-01T00:00:00+01:00");
    is_int(json_array_size(json_object_get(answer, "events")), 0,
           "nothing stored after 2200 (a + zone goes through the query)");
    json_decref(answer);

    is_int(vanectl(&out, NULL, "event", "get", "orders", "--eventlog", eventlog, "--limit", "1000"),
           0, "event get as a table exits 0");
    contains(out, "EVENTLOG  OFFSET  ID", "the table's heading");
    contains(out, "hello world", "a data preview");
    contains(out, "order.created", "the type");
    contains(out, "next: --eventlog", "and where to read on");
    vane_free(out);

    is_int(vanectl(&out, NULL, "event", "get", "orders", "--id", "f-2"), 0, "get by id exits 0");
    contains(out, "(4 bytes binary)", "binary data shows as its size");
    vane_free(out);

    is_int(vanectl(NULL, &err, "event", "get", "orders", "--id", "no-such-id"), 3,
           "an unknown id exits 3");
    vane_free(err);
    is_int(vanectl(NULL, &err, "event", "get", "nope"), 3, "an unknown eventbus exits 3");
    contains(err, "vanectl: event get nope: ", "naming it");
    vane_free(err);
}

/* ---- update and delete ----------------------------------------------------- */

static void test_update_and_delete(void)
{
    char *out = NULL, *err = NULL;
    json_t *bus;

    bus = vanectl_json("eventbus", "update", "orders", "--description", "Shop orders",
                       "--max-age", "12h");
    is_str(string_at(bus, "description"), "Shop orders", "update changes the description");
    is_int(integer_at(json_object_get(bus, "retention"), "max_age_seconds"), 43200,
           "and the age limit");
    is_int(integer_at(json_object_get(bus, "retention"), "max_bytes"), 536870912,
           "and keeps the size limit");
    json_decref(bus);
    is_int(vanectl(&out, NULL, "eventbus", "update", "orders", "--max-bytes", "0"), 0,
           "update as a table exits 0");
    contains(out, "MAX_BYTES    unlimited", "0 is unlimited");
    vane_free(out);
    is_int(vanectl(NULL, &err, "eventbus", "update", "nope", "--max-age", "1d"), 3,
           "updating an unknown eventbus exits 3");
    vane_free(err);

    is_int(vanectl(&out, NULL, "eventbus", "delete", "orders"), 0, "delete exits 0");
    contains(out, "DELETED  true", "saying it is deleted");
    vane_free(out);
    is_int(vanectl(NULL, NULL, "eventbus", "info", "orders"), 3, "then info exits 3");
    is_int(vanectl(NULL, &err, "eventbus", "delete", "orders"), 3, "a second delete exits 3");
    contains(err, "vanectl: eventbus delete orders: ", "naming it");
    vane_free(err);
    bus = vanectl_json("eventbus", "delete", "audit");
    ok(json_is_true(json_object_get(bus, "deleted")), "--format json prints the broker's answer");
    json_decref(bus);
}

/* ---- subscriptions ------------------------------------------------------- */

#define SUB_SINK "http://127.0.0.1:9/hook"

/* The offset of eventlog i in a subscription's answer. */
static json_int_t sub_offset(const json_t *sub, size_t i)
{
    return integer_at(json_array_get(json_object_get(sub, "offsets"), i), "offset");
}

/* A command line that is wrong in one way, and what the error line says. */
struct usage_case {
    const char *args[14];
    const char *says;
};

/* Each case exits 2 saying so. */
static void check_usage_cases(const struct usage_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char *err = NULL;

        is_int(run_with(NULL, NULL, &err, cases[i].args), 2, "usage error %zu (%s %s) exits 2",
               i, cases[i].args[1], cases[i].args[2] ? cases[i].args[2] : "");
        contains(err, cases[i].says, "saying so");
        vane_free(err);
    }
}

/* Each of these subscription command lines is wrong in one way: exit 2, nothing sent. */
static void test_subscription_usage(void)
{
    static const struct usage_case cases[] = {
        {{"subscription", "create", "s", "--sink", SUB_SINK}, "--eventbus is required"},
        {{"subscription", "create", "--eventbus", "subs", "--sink", SUB_SINK}, "expected NAME"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK,
          "--delivery-mode", "smoke"}, "--delivery-mode: expected binary, structured or batch"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK,
          "--max-retries", "1001"}, "--max-retries: expected a whole number from 0 to 1000"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK,
          "--batch-size", "0"}, "--batch-size: expected a whole number from 1 to 1000"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK,
          "--delivery-timeout", "50ms"}, "--delivery-timeout: expected a duration from 100ms"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK, "--filters",
          "[{"}, "--filters: expected JSON or @FILE"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK,
          "--transformer", "@/nonexistent/t.json"}, "--transformer: unable to open"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK, "--header",
          "X-A"}, "--header: expected NAME=VALUE"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK,
          "--ordered=maybe"}, "--ordered: expected true or false"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK,
          "--offset-type", "middle"}, "--offset-type: expected latest, earliest or timestamp"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK,
          "--offset-type", "timestamp"}, "--offset-type timestamp needs --offset-time"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK,
          "--offset-time", "noon"}, "--offset-time: expected an RFC 3339"},
        {{"subscription", "create", "s", "--eventbus", "subs", "--sink", SUB_SINK, "--name",
          "t"}, "--name: the name is the argument"},
        {{"subscription", "update", "s"}, "nothing to change"},
        {{"subscription", "update", "s", "--eventbus", "other"}, "unknown option '--eventbus'"},
        {{"subscription", "update", "s", "--offset-type", "earliest"},
         "unknown option '--offset-type'"},
        {{"subscription", "info"}, "expected ID|NAME"},
        {{"subscription", "list", "extra"}, "takes no arguments"},
        {{"subscription", "reset-offset", "s"}, "give one of --time, --earliest, --latest"},
        {{"subscription", "reset-offset", "s", "--earliest", "--latest"}, "give one of"},
        {{"subscription", "reset-offset", "s", "--offset", "x"},
         "--offset: expected EVENTLOG=OFFSET"},
        {{"subscription", "reset-offset", "s", "--time", "2026-13-01T00:00:00Z"},
         "--time: expected an RFC 3339"},
        {{"subscription", "frob"}, "unknown command 'subscription frob'"},
    };

    check_usage_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_subscription_create(const json_t *bus)
{
    const json_t *logs = json_object_get(bus, "eventlogs");
    char *filters = harness_write_file(tmpdir, "filters.json",
                                       "[{\"exact\": {\"type\": \"com.example.t\"}}]\n");
    char *filters_arg = vane_asprintf("@%s", filters);
    char *out = NULL, *err = NULL;
    json_t *sub;

    sub = vanectl_json("subscription", "create", "s1", "--eventbus", "subs", "--sink", SUB_SINK,
                       "--filters", filters_arg, "--header", "X-Token=abc", "--delivery-timeout",
                       "2s", "--max-retries", "3", "--rate-limit", "10", "--ordered",
                       "--description", "first", "--offset-type", "earliest", "--disabled");
    is_str(string_at(sub, "name"), "s1", "subscription create exits 0 with the subscription");
    is_str(string_at(json_object_get(json_array_get(json_object_get(sub, "filters"), 0), "exact"),
                     "type"),
           "com.example.t", "--filters @FILE sent the file");
    is_str(string_at(json_object_get(json_object_get(sub, "protocol_settings"), "headers"),
                     "X-Token"),
           "abc", "--header sent");
    is_int(integer_at(json_object_get(sub, "config"), "delivery_timeout"), 2000,
           "--delivery-timeout 2s is 2000 ms");
    is_int(integer_at(json_object_get(sub, "config"), "max_retry_attempts"), 3, "--max-retries");
    is_int(integer_at(json_object_get(sub, "config"), "rate_limit"), 10, "--rate-limit");
    ok(json_is_true(json_object_get(json_object_get(sub, "config"), "ordered_event")),
       "--ordered");
    ok(json_is_true(json_object_get(sub, "disabled")), "--disabled");
    is_int(sub_offset(sub, 0), integer_at(json_array_get(logs, 0), "first_offset"),
           "--offset-type earliest: eventlog 0 from its first offset");
    is_int(sub_offset(sub, 1), integer_at(json_array_get(logs, 1), "first_offset"),
           "and eventlog 1");
    json_decref(sub);

    is_int(vanectl(&out, NULL, "subscription", "create", "s2", "--eventbus", "subs", "--sink",
                   SUB_SINK, "--delivery-mode", "batch", "--batch-size", "50",
                   "--disable-dead-letter", "--disabled"),
           0, "a create as a table exits 0");
    contains(out, "NAME              s2", "naming it");
    contains(out, "DELIVERY_MODE     batch", "its delivery mode");
    contains(out, "BATCH_SIZE", "its batch size");
    contains(out, "DELIVERY_TIMEOUT  5000ms", "the default timeout as --delivery-timeout takes it");
    contains(out, "DEAD_LETTER       off", "no dead letters");
    contains(out, "EVENTLOG  OFFSET", "and the offsets' table");
    vane_free(out);

    is_int(vanectl(NULL, &err, "subscription", "create", "s1", "--eventbus", "subs", "--sink",
                   SUB_SINK),
           1, "a taken name exits 1");
    contains(err, "vanectl: subscription create s1: ", "naming the command and subscription");
    contains(err, "(field name)", "and the field");
    vane_free(err);
    is_int(vanectl(NULL, &err, "subscription", "create", "s3", "--eventbus", "subs", "--sink",
                   SUB_SINK, "--filters", "[{\"cesql\": \"type = \"}]"),
           1, "a filter the broker refuses exits 1");
    contains(err, "(field filters[0].cesql)", "naming the filter");
    vane_free(err);
    is_int(vanectl(NULL, &err, "subscription", "create", "s3", "--eventbus", "nope", "--sink",
                   SUB_SINK),
           3, "an unknown eventbus exits 3");
    vane_free(err);
    vane_free(filters_arg);
    vane_free(filters);
}

static void test_subscription_show(void)
{
    char *out = NULL, *err = NULL, *id;
    json_t *answer;

    is_int(vanectl(&out, NULL, "subscription", "list"), 0, "subscription list exits 0");
    contains(out, "ID", "a table");
    contains(out, "s1", "with s1");
    contains(out, "s2", "and s2");
    vane_free(out);
    answer = vanectl_json("subscription", "list", "--eventbus", "subs");
    is_int(json_array_size(json_object_get(answer, "subscriptions")), 2,
           "list --eventbus subs: both");
    json_decref(answer);
    is_int(vanectl(NULL, &err, "subscription", "list", "--eventbus", "nope"), 3,
           "list --eventbus of an unknown eventbus exits 3");
    vane_free(err);

    answer = vanectl_json("subscription", "info", "s1");
    is_str(string_at(answer, "description"), "first", "info by name");
    id = vane_asprintf("%lld", (long long)integer_at(answer, "id"));
    json_decref(answer);
    answer = vanectl_json("subscription", "info", id);
    is_str(string_at(answer, "name"), "s1", "info by id");
    json_decref(answer);
    vane_free(id);
    is_int(vanectl(&out, NULL, "subscription", "info", "s1"), 0, "info as a table exits 0");
    contains(out, "EVENTLOG  OFFSET", "shows the offsets per eventlog");
    contains(out, "DEAD_LETTER       __dl_subs", "and the dead-letter eventbus");
    vane_free(out);
    is_int(vanectl(NULL, &err, "subscription", "info", "nope"), 3, "an unknown one exits 3");
    contains(err, "vanectl: subscription info nope: ", "naming it");
    vane_free(err);
}

static void test_subscription_change(const json_t *bus)
{
    const json_t *logs = json_object_get(bus, "eventlogs");
    char *err = NULL, *out = NULL;
    json_t *sub;

    sub = vanectl_json("subscription", "update", "s1", "--rate-limit", "20", "--name", "s1b",
                       "--ordered=false");
    is_str(string_at(sub, "name"), "s1b", "update renames");
    is_int(integer_at(json_object_get(sub, "config"), "rate_limit"), 20, "and changes a setting");
    is_int(integer_at(json_object_get(sub, "config"), "delivery_timeout"), 2000,
           "keeping the others");
    ok(json_is_false(json_object_get(json_object_get(sub, "config"), "ordered_event")),
       "--ordered=false turns it off");
    is_int(sub_offset(sub, 0), integer_at(json_array_get(logs, 0), "first_offset"),
           "the offsets stay");
    json_decref(sub);
    is_int(vanectl(NULL, &err, "subscription", "update", "s1", "--rate-limit", "1"), 3,
           "the old name is gone: exit 3");
    vane_free(err);
    is_int(vanectl(NULL, &err, "subscription", "update", "s1b", "--name", "s2"), 1,
           "a rename to a taken name exits 1");
    vane_free(err);

    sub = vanectl_json("subscription", "reset-offset", "s1b", "--latest");
    is_int(sub_offset(sub, 0), integer_at(json_array_get(logs, 0), "next_offset"),
           "reset-offset --latest: eventlog 0 at its next offset");
    is_int(sub_offset(sub, 1), integer_at(json_array_get(logs, 1), "next_offset"),
           "and eventlog 1");
    json_decref(sub);
    sub = vanectl_json("subscription", "reset-offset", "s1b", "--earliest");
    is_int(sub_offset(sub, 1), integer_at(json_array_get(logs, 1), "first_offset"),
           "reset-offset --earliest");
    json_decref(sub);
    sub = vanectl_json("subscription", "reset-offset", "s1b", "--time", "2999-01-01T00:00:00Z");
    is_int(sub_offset(sub, 0), integer_at(json_array_get(logs, 0), "next_offset"),
           "reset-offset --time in the future: after every event");
    json_decref(sub);
    sub = vanectl_json("subscription", "reset-offset", "s1b", "--offset", "1=1", "--offset",
                       "0=0");
    is_int(sub_offset(sub, 0), 0, "reset-offset --offset 0=0");
    is_int(sub_offset(sub, 1), 1, "and --offset 1=1");
    json_decref(sub);
    is_int(vanectl(NULL, &err, "subscription", "reset-offset", "s1b", "--offset", "9=0"), 1,
           "an eventlog the eventbus does not have exits 1");
    contains(err, "(field offsets[0].eventlog)", "naming it");
    vane_free(err);
    is_int(vanectl(NULL, &err, "subscription", "reset-offset", "nope", "--latest"), 3,
           "reset-offset of an unknown one exits 3");
    vane_free(err);

    sub = vanectl_json("subscription", "resume", "s1b");
    ok(json_is_false(json_object_get(sub, "disabled")), "resume");
    json_decref(sub);
    is_int(vanectl(&out, NULL, "subscription", "disable", "s1b"), 0, "disable exits 0");
    contains(out, "DISABLED          true", "showing it disabled");
    vane_free(out);
    is_int(vanectl(NULL, &err, "subscription", "disable", "nope"), 3,
           "disable of an unknown one exits 3");
    vane_free(err);
    is_int(vanectl(NULL, &err, "subscription", "resume", "nope"), 3,
           "resume of an unknown one exits 3");
    vane_free(err);
}

/* vanectl KIND delete NAME exits 0 saying so; a second time it exits 3, naming it. */
static void check_delete(const char *kind, const char *name)
{
    char *out = NULL, *err = NULL, *naming = vane_asprintf("vanectl: %s delete %s: ", kind, name);

    is_int(vanectl(&out, NULL, kind, "delete", name), 0, "delete exits 0");
    contains(out, "DELETED  true", "saying it is deleted");
    vane_free(out);
    is_int(vanectl(NULL, &err, kind, "delete", name), 3, "a second delete exits 3");
    contains(err, naming, "naming it");
    vane_free(err);
    vane_free(naming);
}

static void test_subscription_delete(void)
{
    check_delete("subscription", "s1b");
    is_int(vanectl(NULL, NULL, "eventbus", "delete", "subs"), 0, "deleting the eventbus");
    is_int(vanectl(NULL, NULL, "subscription", "info", "s2"), 3, "deletes its subscriptions");
}

/* Every subscription command against the broker, on an eventbus of its own. */
static void test_subscriptions(void)
{
    json_t *bus;

    test_subscription_usage();
    is_int(vanectl(NULL, NULL, "eventbus", "create", "subs", "--eventlogs", "2"), 0,
           "the eventbus subs");
    for (int i = 0; i < 3; i++)
        is_int(vanectl(NULL, NULL, "event", "put", "subs", "--source", "/t", "--type",
                       "com.example.t"),
               0, "an event for it");
    bus = vanectl_json("eventbus", "info", "subs");
    test_subscription_create(bus);
    test_subscription_show();
    test_subscription_change(bus);
    test_subscription_delete();
    json_decref(bus);
}

/* ---- dead letters ---------------------------------------------------------- */

static void test_dead_letter_usage(void)
{
    static const struct usage_case cases[] = {
        {{"subscription", "dead-letter"}, "subscription dead-letter COMMAND"},
        {{"subscription", "dead-letter", "frob"},
         "unknown command 'subscription dead-letter frob'"},
        {{"subscription", "dead-letter", "get"}, "expected ID|NAME"},
        {{"subscription", "dead-letter", "get", "dl", "more"}, "expected one ID|NAME"},
        {{"subscription", "dead-letter", "get", "dl", "--limit", "0"},
         "--limit: expected a whole number from 1 to 1000"},
        {{"subscription", "dead-letter", "get", "dl", "--limit", "1001"},
         "--limit: expected a whole number from 1 to 1000"},
        {{"subscription", "dead-letter", "get", "dl", "--eventlog", "0"},
         "unknown option '--eventlog'"},
        {{"subscription", "dead-letter", "resend"}, "expected ID|NAME"},
        {{"subscription", "dead-letter", "resend", "dl", "--offset", "-1"},
         "--offset: expected a whole number, 0 or more"},
        {{"subscription", "dead-letter", "resend", "dl", "--limit"}, "option '--limit' needs a value"},
    };

    check_usage_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* `dead-letter get dl` as JSON once it holds count dead letters (or after a deadline). */
static json_t *wait_dead_letters(size_t count)
{
    json_t *answer = NULL;

    for (int waited = 0; waited < harness_ms(10000); waited += 100) {
        json_decref(answer);
        answer = vanectl_json("subscription", "dead-letter", "get", "dl");
        if (json_array_size(json_object_get(answer, "events")) >= count)
            break;
        usleep(100000);
    }
    return answer;
}

/* Waits until the sink has answered 200 count times; returns how many times it has. */
static json_int_t wait_sink_accepted(const struct sink *s, json_int_t count)
{
    json_int_t accepted = 0;

    for (int waited = 0; waited < harness_ms(10000) && accepted < count; waited += 100) {
        json_t *stats = sink_stats(s);

        accepted = integer_at(json_object_get(stats, "by_status"), "200");
        json_decref(stats);
        if (accepted < count)
            usleep(100000);
    }
    return accepted;
}

/* The ce-id of the last request the sink received, when it came without the dead-letter
 * extensions, else ""; vane_free() it. */
static char *last_clean_id(const struct sink *s)
{
    json_t **lines = NULL;
    size_t n = sink_received(s, &lines);
    const char *id = n > 0 ? sink_line_header(lines[n - 1], "ce-id") : NULL;
    char *copy = vane_strdup(id != NULL && sink_line_header(lines[n - 1], "ce-xvanusdlreason") ==
                                                  NULL ? id : "");

    sink_lines_free(lines, n);
    return copy;
}

/* An empty list once the subscription runs, then the two events the sink rejected. */
static void test_dead_letter_get(void)
{
    char *out = NULL;
    json_t *answer, *first;
    int status = -1;

    for (int waited = 0; waited < harness_ms(5000) && status != 0; waited += 100) {
        vane_free(out);
        out = NULL;
        if ((status = vanectl(&out, NULL, "subscription", "dead-letter", "get", "dl")) != 0)
            usleep(100000);
    }
    is_int(status, 0, "dead-letter get of a running subscription with none exits 0");
    contains(out, "OFFSET  ID  TYPE  REASON  ATTEMPTS  ERROR  TIME", "an empty table");
    contains(out, "next: --offset 0", "and where to read on");
    vane_free(out);

    for (int i = 1; i <= 2; i++) {
        char id[16];

        snprintf(id, sizeof(id), "dl-%d", i);
        is_int(vanectl(NULL, NULL, "event", "put", "dlbus", "--id", id, "--source", "/t",
                       "--type", "com.example.rejected", "--data", "x"),
               0, "an event the sink rejects");
    }
    answer = wait_dead_letters(2);
    first = json_object_get(json_array_get(json_object_get(answer, "events"), 0), "event");
    is_int(json_array_size(json_object_get(answer, "events")), 2, "both are dead letters");
    is_str(string_at(answer, "eventbus"), "__dl_dlbus", "--format json: the broker's answer");
    is_str(string_at(first, "id"), "dl-1", "the first rejected event");
    is_str(string_at(first, "xvanusdlreason"), "sink_rejected", "with its reason");
    is_int(integer_at(json_object_get(answer, "next"), "offset"), 2, "next is offset 2");
    json_decref(answer);

    is_int(vanectl(&out, NULL, "subscription", "dead-letter", "get", "dl"), 0,
           "dead-letter get as a table exits 0");
    contains(out, "OFFSET  ID    TYPE", "a table");
    contains(out, "dl-2  com.example.rejected  sink_rejected  1", "a row per dead letter");
    contains(out, "HTTP 400", "with the sink's answer");
    contains(out, "next: --offset 2", "and where to read on");
    vane_free(out);

    answer = vanectl_json("subscription", "dead-letter", "get", "dl", "--offset", "1", "--limit",
                          "1");
    is_int(json_array_size(json_object_get(answer, "events")), 1, "--limit 1: one");
    is_str(string_at(json_object_get(json_array_get(json_object_get(answer, "events"), 0),
                                     "event"),
                     "id"),
           "dl-2", "--offset 1: the second");
    json_decref(answer);
}

/* Refused for a disabled subscription; sent again page by page once the sink takes them. */
static void test_dead_letter_resend(const struct sink *s)
{
    char *out = NULL, *err = NULL, *id;
    json_t *answer;

    /* Another subscription of dlbus, created disabled, shares dl's dead-letter eventbus. */
    is_int(vanectl(NULL, NULL, "subscription", "create", "dl-paused", "--eventbus", "dlbus",
                   "--sink", SUB_SINK, "--disabled"),
           0, "a disabled subscription");
    is_int(vanectl(NULL, &err, "subscription", "dead-letter", "resend", "dl-paused"), 1,
           "resend of a disabled one exits 1");
    contains(err, "vanectl: subscription dead-letter resend dl-paused: ", "naming it");
    contains(err, "not running", "saying why");
    vane_free(err);

    sink_set_mode(s, "{\"status\": 200}");
    is_int(vanectl(&out, NULL, "subscription", "dead-letter", "resend", "dl", "--limit", "1"), 0,
           "resend --limit 1 exits 0");
    contains(out, "RESENT  1", "one resent");
    contains(out, "NEXT    1", "the next from offset 1");
    vane_free(out);
    is_int(wait_sink_accepted(s, 1), 1, "the sink takes it");
    is_str(id = last_clean_id(s), "dl-1", "the first, as it was first sent");
    vane_free(id);

    answer = vanectl_json("subscription", "dead-letter", "resend", "dl", "--offset", "1");
    is_int(integer_at(answer, "resent"), 1, "resend --offset 1: the other one");
    is_int(integer_at(json_object_get(answer, "next"), "offset"), 2, "next is offset 2");
    json_decref(answer);
    is_int(wait_sink_accepted(s, 2), 2, "the sink takes it too");
    is_str(id = last_clean_id(s), "dl-2", "the second");
    vane_free(id);
}

static void test_dead_letter_not_found(void)
{
    char *err = NULL;

    is_int(vanectl(NULL, &err, "subscription", "dead-letter", "get", "nope"), 3,
           "dead-letter get of an unknown subscription exits 3");
    contains(err, "vanectl: subscription dead-letter get nope: ", "naming it");
    vane_free(err);
    is_int(vanectl(NULL, &err, "subscription", "dead-letter", "resend", "nope"), 3,
           "resend of an unknown one exits 3");
    vane_free(err);
    is_int(vanectl(NULL, NULL, "subscription", "create", "dl-off", "--eventbus", "dlbus",
                   "--sink", SUB_SINK, "--disable-dead-letter"),
           0, "a subscription that keeps no dead letters");
    is_int(vanectl(NULL, &err, "subscription", "dead-letter", "get", "dl-off"), 3,
           "dead-letter get of it exits 3");
    contains(err, "keeps no dead letters", "saying so");
    vane_free(err);
}

/* dead-letter get and resend against the test sink, on an eventbus of its own. */
static void test_dead_letters(void)
{
    char *record = vane_asprintf("%s/dead-letters.sink", tmpdir), *url = NULL;
    struct sink s;

    test_dead_letter_usage();
    if (ok(sink_start(&s, record) == 0, "the test sink starts")) {
        sink_set_mode(&s, "{\"status\": 400}");
        url = sink_url(&s, "/hook");
        is_int(vanectl(NULL, NULL, "eventbus", "create", "dlbus"), 0, "the eventbus dlbus");
        is_int(vanectl(NULL, NULL, "subscription", "create", "dl", "--eventbus", "dlbus",
                       "--sink", url),
               0, "a subscription delivering it to the sink");
        test_dead_letter_get();
        test_dead_letter_resend(&s);
        test_dead_letter_not_found();
        is_int(vanectl(NULL, NULL, "eventbus", "delete", "dlbus"), 0, "deleting dlbus");
    }
    sink_stop(&s);
    vane_free(url);
    vane_free(record);
}

/* ---- connectors ------------------------------------------------------------ */

/* Each of these connector command lines is wrong in one way: exit 2, nothing sent. */
static void test_connector_usage(void)
{
    static const struct usage_case cases[] = {
        {{"connector", "create", "c", "--eventbus", "feeds"}, "--plugin is required"},
        {{"connector", "create", "c", "--plugin", "source-http"},
         "--eventbus (the eventbus a source feeds) or --subscription"},
        {{"connector", "create", "--plugin", "source-http", "--eventbus", "feeds"},
         "expected NAME"},
        {{"connector", "create", "c", "--plugin", "p", "--eventbus", "b", "--subscription", "s"},
         "give --eventbus (for a source) or --subscription (for a sink), not both"},
        {{"connector", "create", "c", "--plugin", "p", "--eventbus", "b", "--min", "65"},
         "--min: expected a whole number from 0 to 64; got \"65\""},
        {{"connector", "create", "c", "--plugin", "p", "--eventbus", "b", "--max", "0"},
         "--max: expected a whole number from 1 to 64"},
        {{"connector", "create", "c", "--plugin", "p", "--eventbus", "b", "--min", "3", "--max",
          "2"},
         "--max: expected at least --min (3); got 2"},
        {{"connector", "create", "c", "--plugin", "p", "--eventbus", "b", "--concurrency", "x"},
         "--concurrency: expected a whole number, 1 or more"},
        {{"connector", "create", "c", "--plugin", "p", "--eventbus", "b", "--idle-timeout",
          "soon"},
         "--idle-timeout: expected a duration such as 60s"},
        {{"connector", "create", "c", "--plugin", "p", "--eventbus", "b", "--option", "url"},
         "--option: expected KEY=VALUE"},
        {{"connector", "create", "c", "--plugin", "p", "--eventbus", "b", "--options", "[1]"},
         "--options: expected a JSON object of the plugin's options"},
        {{"connector", "create", "c", "--plugin", "p", "--eventbus", "b", "--options", "{"},
         "--options: expected a JSON object such as"},
        {{"connector", "update", "c"}, "nothing to change"},
        {{"connector", "scale", "c"}, "give --min, --max or both"},
        {{"connector", "scale", "c", "--plugin", "p"}, "unknown option '--plugin'"},
        {{"connector", "info"}, "expected NAME"},
        {{"connector", "list", "extra"}, "takes no arguments"},
        {{"connector", "delete", "a", "b"}, "expected one NAME; got \"b\" too"},
        {{"connector", "frob"}, "unknown command 'connector frob'"},
    };

    char *out = NULL;

    check_usage_cases(cases, sizeof(cases) / sizeof(cases[0]));
    is_int(vanectl(&out, NULL, "connector", "create", "--help"), 0,
           "connector create --help exits 0");
    contains(out, "--option KEY=VALUE", "describing its options");
    vane_free(out);
    is_int(vanectl(&out, NULL, "--help"), 0, "vanectl --help");
    contains(out, "connector scale NAME [--min N] [--max N]", "lists the connector commands");
    vane_free(out);
}

static const char *option_at(const json_t *connector, const char *key)
{
    return string_at(json_object_get(connector, "options"), key);
}

/* A source (source-http) and a sink (sink-stdout, serving the subscription to-file). */
static void test_connector_create(const char *sink_file)
{
    char *out = NULL, *err = NULL;
    json_t *c, *methods;

    /* --option comes first but goes on top of --options. */
    c = vanectl_json("connector", "create", "web", "--plugin", "source-http", "--eventbus",
                     "feeds", "--option", "source=/web", "--option", "methods=[\"POST\", \"PUT\"]",
                     "--options", "{\"type\": \"com.example.web\", \"source\": \"/a\"}", "--max",
                     "2", "--idle-timeout", "30s", "--description", "web hooks");
    is_str(string_at(c, "name"), "web", "connector create exits 0 with the connector");
    is_str(string_at(c, "plugin"), "source-http", "--plugin sent");
    is_str(string_at(c, "eventbus"), "feeds", "--eventbus sent");
    is_str(option_at(c, "source"), "/web", "--option goes on top of --options");
    is_str(option_at(c, "type"), "com.example.web", "--options sent");
    methods = json_object_get(json_object_get(c, "options"), "methods");
    ok(json_is_array(methods) && json_array_size(methods) == 2,
       "an --option value that reads as JSON is sent as JSON");
    is_int(integer_at(c, "max"), 2, "--max sent as a number");
    is_str(string_at(c, "idle_timeout"), "30s", "--idle-timeout sent as written");
    is_str(string_at(json_object_get(c, "status"), "kind"), "source", "the engine says source");
    json_decref(c);

    is_int(vanectl(&out, NULL, "connector", "create", "out", "--plugin", "sink-stdout",
                   "--subscription", "to-file", "--option", "format=text", "--concurrency",
                   "4"),
           0, "a sink's create as a table exits 0");
    contains(out, "KIND          sink", "naming its kind");
    contains(out, "SUBSCRIPTION  to-file", "and its subscription");
    contains(out, "CONCURRENCY   4", "its concurrency");
    contains(out, "MAX           4", "a max left out: the engine's default, from its status");
    contains(out, "IDLE_TIMEOUT  1m", "an idle timeout left out: the engine's 60s");
    contains(out, "OPTION  VALUE", "heading its options");
    contains(out, "format  text", "an option");
    contains(out, "PID  STATE  INFLIGHT  PLUGIN_VERSION", "and heading its instances");
    vane_free(out);
    c = vanectl_json("connector", "update", "out", "--option", sink_file);
    is_str(option_at(c, "file"), strchr(sink_file, '=') + 1, "an option changed by update");
    is_str(option_at(c, "format"), "text", "the others kept");
    json_decref(c);

    is_int(vanectl(NULL, &err, "connector", "create", "web", "--plugin", "source-http",
                   "--eventbus", "feeds"),
           1, "a taken name exits 1");
    contains(err, "vanectl: connector create web: ", "naming the command and connector");
    contains(err, "(field name)", "and the field");
    vane_free(err);
    is_int(vanectl(NULL, &err, "connector", "create", "c2", "--plugin", "no-such-plugin",
                   "--eventbus", "feeds"),
           1, "an unknown plugin exits 1");
    contains(err, "no-such-plugin", "naming it");
    contains(err, "(field plugin)", "and the field");
    vane_free(err);
    is_int(vanectl(NULL, &err, "connector", "create", "c2", "--plugin", "source-http",
                   "--eventbus", "nope"),
           1, "an unknown eventbus exits 1");
    contains(err, "(field eventbus)", "naming the field");
    vane_free(err);
    is_int(vanectl(NULL, &err, "connector", "create", "c2", "--plugin", "source-http",
                   "--eventbus", "feeds", "--option", "methods=7"),
           1, "an option of the wrong type exits 1");
    contains(err, "methods", "naming the option");
    contains(err, "(field options.", "in the options");
    vane_free(err);
}

static void test_connector_show(void)
{
    char *out = NULL, *err = NULL;
    json_t *answer;

    is_int(vanectl(&out, NULL, "connector", "list"), 0, "connector list exits 0");
    contains(out, "NAME  KIND    PLUGIN       TARGET   INSTANCES  RUNNING  QUEUED  RESTARTS  "
                  "LAST_ERROR",
             "a table with its heading");
    contains(out, "source-http  feeds    0..2",
             "a row for the source: min..max, the engine's default min from its status");
    contains(out, "sink    sink-stdout  to-file  0..4", "and one for the sink, all defaults");
    vane_free(out);
    answer = vanectl_json("connector", "list");
    is_int(json_array_size(json_object_get(answer, "connectors")), 2,
           "--format json lists both as the broker does");
    json_decref(answer);

    answer = vanectl_json("connector", "info", "web");
    is_str(string_at(answer, "description"), "web hooks", "info");
    ok(is_timestamp(string_at(answer, "created_at")), "with its creation time");
    json_decref(answer);
    is_int(vanectl(&out, NULL, "connector", "info", "web"), 0, "info as a table exits 0");
    contains(out, "EVENTBUS      feeds", "shows the target");
    contains(out, "IDLE_TIMEOUT  30s", "the idle timeout as given");
    contains(out, "methods  [\"POST\",\"PUT\"]", "the options");
    contains(out, "LAST_ERROR  -", "the status");
    vane_free(out);
    is_int(vanectl(NULL, &err, "connector", "info", "nope"), 3, "an unknown one exits 3");
    contains(err, "vanectl: connector info nope: ", "naming it");
    vane_free(err);
}

/* Waits until the connector runs want instances; returns its last answer (decref it). */
static json_t *wait_running(const char *name, json_int_t want)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)harness_ms(10000) * 1000000;
    json_t *answer = NULL;

    for (;;) {
        json_decref(answer);
        answer = vanectl_json("connector", "info", name);
        if (integer_at(json_object_get(answer, "status"), "running") == want ||
            uv_hrtime() > deadline)
            return answer;
        usleep(100 * 1000);
    }
}

static void test_connector_change(void)
{
    char *out = NULL, *err = NULL;
    json_t *c;

    c = vanectl_json("connector", "update", "web", "--option", "source=/web2", "--description",
                     "changed");
    is_str(option_at(c, "source"), "/web2", "update changes an option");
    is_str(option_at(c, "type"), "com.example.web", "keeping the others");
    is_str(string_at(c, "description"), "changed", "and the description");
    is_int(integer_at(c, "max"), 2, "and the scaling");
    json_decref(c);
    is_int(vanectl(NULL, &err, "connector", "update", "web", "--plugin", "no-such-plugin"), 1,
           "update to an unknown plugin exits 1");
    contains(err, "(field plugin)", "naming the field");
    vane_free(err);
    is_int(vanectl(NULL, &err, "connector", "update", "nope", "--description", "x"), 3,
           "update of an unknown one exits 3");
    vane_free(err);

    c = vanectl_json("connector", "scale", "web", "--min", "1", "--max", "3");
    is_int(integer_at(c, "min"), 1, "scale sets min");
    is_int(integer_at(c, "max"), 3, "and max");
    is_str(option_at(c, "source"), "/web2", "and nothing else");
    json_decref(c);
    c = wait_running("web", 1);
    is_int(integer_at(json_object_get(c, "status"), "running"), 1,
           "--min 1 starts an instance");
    is_int(json_array_size(json_object_get(json_object_get(c, "status"), "instances")), 1,
           "shown as one instance");
    json_decref(c);
    is_int(vanectl(&out, NULL, "connector", "info", "web"), 0, "info as a table");
    contains(out, "1.0.0", "has a row for the instance, with its plugin's version");
    vane_free(out);
    is_int(vanectl(NULL, &err, "connector", "scale", "web", "--min", "4"), 1,
           "a min above the max exits 1");
    contains(err, "(field max)", "naming the field");
    vane_free(err);
    c = vanectl_json("connector", "scale", "web", "--min", "0");
    is_int(integer_at(c, "min"), 0, "scale back to 0");
    json_decref(c);
    is_int(vanectl(NULL, &err, "connector", "scale", "nope", "--max", "2"), 3,
           "scale of an unknown one exits 3");
    vane_free(err);
}

static void test_connector_delete(void)
{
    check_delete("connector", "web");
    is_int(vanectl(NULL, NULL, "connector", "delete", "out"), 0, "deleting the sink");
    is_int(vanectl(NULL, NULL, "eventbus", "delete", "feeds"), 0, "and its eventbus");
}

/* A subscription without --sink, for a sink connector to serve: its sink is null, shown as -. */
static void test_subscription_without_sink(void)
{
    char *out = NULL;
    json_t *sub;

    sub = vanectl_json("subscription", "create", "to-file", "--eventbus", "feeds", "--disabled");
    is_str(string_at(sub, "name"), "to-file", "subscription create without --sink exits 0");
    ok(json_is_null(json_object_get(sub, "sink")) || json_object_get(sub, "sink") == NULL,
       "with no sink");
    json_decref(sub);
    is_int(vanectl(&out, NULL, "subscription", "info", "to-file"), 0, "its info as a table");
    contains(out, "SINK              -", "shows the sink as -");
    vane_free(out);
    is_int(vanectl(&out, NULL, "subscription", "list", "--eventbus", "feeds"), 0,
           "subscription list");
    contains(out, "to-file  feeds     -", "shows it with the sink as -");
    vane_free(out);
    is_int(vanectl(&out, NULL, "subscription", "create", "--help"), 0,
           "subscription create --help");
    contains(out, "[--sink URL]", "says --sink is optional");
    contains(out, "leave it out for a sink connector", "and what leaving it out means");
    vane_free(out);
}

/* Every connector command against the broker, with the plugins the build made. */
static void test_connectors(void)
{
    char *sink_file = vane_asprintf("file=%s/out.txt", tmpdir);

    test_connector_usage();
    is_int(vanectl(NULL, NULL, "eventbus", "create", "feeds"), 0, "the eventbus feeds");
    test_subscription_without_sink();
    test_connector_create(sink_file);
    test_connector_show();
    test_connector_change();
    test_connector_delete();
    vane_free(sink_file);
}

/* ---- a broker that is not there, and one that wants a token ----------------- */

static void test_unreachable(void)
{
    char *err = NULL;

    is_int(vanectl(NULL, &err, "status"), 1, "an unreachable broker exits 1");
    contains(err, "vanectl: status: cannot reach vaned at", "saying it cannot reach vaned");
    contains(err, endpoint, "and where it looked");
    vane_free(err);
    is_int(vanectl(NULL, &err, "eventbus", "list"), 1, "for every command");
    vane_free(err);
}

static char *read_token(const char *data_dir)
{
    char *path = vane_asprintf("%s/token", data_dir);
    char *token = harness_read_file(path);

    if (token != NULL)
        token[strcspn(token, "\r\n")] = '\0';
    vane_free(path);
    return token;
}

static void test_token(const char *token)
{
    char *env_token = vane_asprintf("VANE_TOKEN=%s", token);
    const char *env[] = {env_token, NULL};
    char *out = NULL, *err = NULL;

    is_int(vanectl(NULL, &err, "eventbus", "list"), 4, "without a token: exit 4");
    contains(err, "vanectl: eventbus list: ", "one line");
    contains(err, "--token or VANE_TOKEN", "saying how to give the token");
    vane_free(err);
    is_int(vanectl(NULL, &err, "--token", "wrong", "eventbus", "list"), 4,
           "a wrong token: exit 4");
    contains(err, "refused", "saying it was refused");
    vane_free(err);
    is_int(vanectl(&out, NULL, "--token", token, "eventbus", "create", "secured"), 0,
           "--token is sent: create works");
    contains(out, "secured", "and prints the eventbus");
    vane_free(out);
    is_int(run_with(env, &out, NULL, ARGS("eventbus", "list")), 0, "VANE_TOKEN is sent too");
    contains(out, "secured", "listing the eventbus");
    vane_free(out);
    is_int(vanectl(NULL, NULL, "status"), 0, "status needs no token");
    vane_free(env_token);
}

static void test_auth(void)
{
    char *data_dir = vane_asprintf("%s/auth", tmpdir);
    char *config = harness_write_file(tmpdir, "auth.lua",
                                      "return { auth = { admin = \"required\" } }\n");
    const char *args[] = {"--config", config, NULL};
    char *token = NULL;
    struct vaned v;

    if (ok(vaned_start(&v, data_dir, args) == 0, "vaned starts with auth.admin = required")) {
        endpoint = v.url;
        token = read_token(data_dir);
        if (ok(token != NULL && *token != '\0', "it wrote its token"))
            test_token(token);
        kill(v.pid, SIGTERM);
        ok(vaned_wait(&v, harness_ms(5000)) >= 0, "vaned stops");
    }
    vaned_cleanup(&v);
    vane_free(token);
    vane_free(config);
    vane_free(data_dir);
}

int main(void)
{
    struct vaned v;
    char dead_url[96] = "";
    char *data_dir;

    test_counts();
    test_durations();
    test_sizes();
    test_timestamps();
    test_extensions();
    test_formats();
    test_percent_encoding();
    test_uuid();
    test_content_types();

    tmpdir = harness_tempdir();
    data_dir = vane_asprintf("%s/data", tmpdir);
    if (ok(vaned_start(&v, data_dir, NULL) == 0, "vaned starts")) {
        endpoint = v.url;
        test_status();
        test_help();
        test_usage_errors();
        test_create();
        test_list_and_info();
        test_put_text();
        test_put_attributes();
        test_data_as_sent();
        test_put_files();
        test_put_partition_key();
        test_put_errors();
        test_get();
        test_update_and_delete();
        test_subscriptions();
        test_dead_letters();
        test_connectors();
        /* Once it has stopped, its address is one where nothing listens. */
        snprintf(dead_url, sizeof(dead_url), "%s", v.url);
        kill(v.pid, SIGTERM);
        ok(vaned_wait(&v, harness_ms(5000)) >= 0, "vaned stops");
        endpoint = dead_url;
        test_unreachable();
    }
    vaned_cleanup(&v);
    vane_free(data_dir);
    test_auth();
    harness_rmtree(tmpdir);
    return tap_done();
}
