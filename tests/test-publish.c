/*
 * test-publish.c -- publishing and reading events against the real vaned,
 * over real HTTP/1.1 and h2c (prior knowledge and upgrade).
 *
 *   - round trips: events in each mode of the HTTP binding (binary,
 *     structured, batch) are read back with GET .../events and compared,
 *     as JSON (json_equal on the "event" member) and, for data, as the text
 *     sent: every attribute type, extensions, UTF-8 (percent-encoded in
 *     headers), JSON data kept byte for byte, text and XML data, every byte
 *     value as data_base64, empty data;
 *   - refusals: each bad input answers its status and an error naming the
 *     field (and the batch index) and stores nothing: every eventlog's
 *     next_offset is the same before and after;
 *   - the limits: 404 unknown eventbus, 405, 413 past gateway.max_request_size
 *     (a vaned of its own with a 4 KiB limit), 415;
 *   - idempotency: a (source, id) published again -- in another request, in
 *     the same batch, at the same time on two connections, after a restart --
 *     is stored once and answered "duplicate" with the first position; a
 *     new source is a new event; gateway.idempotency_window = 0 turns it off;
 *   - partitioning: a partitionkey always lands in eventlog
 *     CRC-32C(key) mod 4; events without one go round robin;
 *   - the read API: paging with next, ?time=, ?id=, and bad parameters
 *     answered 400 naming the parameter.
 *
 * Every request has a deadline (the harness's); nothing here waits without one.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/crc32c.h"
#include "event/timestamp.h"
#include "harness.h"
#include "tap.h"

static char *tmpdir;

static const enum http_mode modes[] = {HTTP_1_1, HTTP_2_PRIOR_KNOWLEDGE, HTTP_2_UPGRADE};
static const char *const mode_names[] = {"HTTP/1.1", "h2c prior knowledge", "h2c upgrade"};
#define MODE_COUNT 3

/* ---- requests ------------------------------------------------------------- */

struct answer {
    long status; /* 0: no answer */
    json_t *json; /* the body when it is JSON, else NULL */
    char *body;
    char *headers;
};

static struct answer request(const struct vaned *v, const char *method, const char *path,
                             const char *const *headers, const void *body, size_t len,
                             enum http_mode mode)
{
    char *url = vane_asprintf("%s%s", v->url, path);
    struct http_call call = {method, url, headers, body, len, mode};
    struct http_reply reply;
    struct answer a;

    http_call(&call, &reply);
    a.status = reply.status;
    a.body = reply.body;
    a.headers = reply.headers;
    a.json = a.body ? json_loads(a.body, 0, NULL) : NULL;
    vane_free(url);
    return a;
}

static void answer_free(struct answer *a)
{
    json_decref(a->json);
    vane_free(a->body);
    vane_free(a->headers);
    memset(a, 0, sizeof(*a));
}

static struct answer get(const struct vaned *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct answer get(const struct vaned *v, const char *fmt, ...)
{
    struct vane_buf path = VANE_BUF_INIT;
    struct answer a;
    va_list ap;

    va_start(ap, fmt);
    vane_buf_vappendf(&path, fmt, ap);
    va_end(ap);
    a = request(v, "GET", path.data, NULL, NULL, 0, HTTP_1_1);
    vane_buf_free(&path);
    return a;
}

/* POSTs body (a C string, or NULL for none) to /gateway/<bus>. */
static struct answer publish(const struct vaned *v, const char *bus, const char *const *headers,
                             const char *body, enum http_mode mode)
{
    char *path = vane_asprintf("/gateway/%s", bus);
    struct answer a = request(v, "POST", path, headers, body, body ? strlen(body) : 0, mode);

    vane_free(path);
    return a;
}

static json_t *error_of(const struct answer *a)
{
    return json_object_get(a->json, "error");
}

static const char *error_field(const struct answer *a)
{
    return json_string_value(json_object_get(error_of(a), "field"));
}

/* The error's batch index, or -1 when it has none. */
static long error_index(const struct answer *a)
{
    json_t *index = json_object_get(error_of(a), "index");

    return index ? (long)json_integer_value(index) : -1;
}

/* ---- eventbuses ------------------------------------------------------------ */

static void create_bus(const struct vaned *v, const char *name, int eventlogs)
{
    char *body = vane_asprintf("{\"name\":\"%s\",\"eventlog_count\":%d}", name, eventlogs);
    const char *const headers[] = {"Content-Type: application/json", NULL};
    struct answer a =
        request(v, "POST", "/api/v1/eventbuses", headers, body, strlen(body), HTTP_1_1);

    is_int(a.status, 201, "eventbus %s created with %d eventlogs", name, eventlogs);
    answer_free(&a);
    vane_free(body);
}

#define MAX_LOGS 64

/* Each eventlog's next_offset (into next, MAX_LOGS of them); returns their sum, or -1. */
static long next_offsets(const struct vaned *v, const char *bus, long *next)
{
    struct answer a = get(v, "/api/v1/eventbuses/%s", bus);
    json_t *logs = json_object_get(a.json, "eventlogs");
    long sum = 0;

    if (a.status != 200 || !json_is_array(logs)) {
        tap_diag("GET /api/v1/eventbuses/%s: %ld %s", bus, a.status, a.body ? a.body : "");
        answer_free(&a);
        return -1;
    }
    for (size_t i = 0; i < MAX_LOGS; i++)
        next[i] = 0;
    for (size_t i = 0; i < json_array_size(logs) && i < MAX_LOGS; i++) {
        next[i] = (long)json_integer_value(json_object_get(json_array_get(logs, i), "next_offset"));
        sum += next[i];
    }
    answer_free(&a);
    return sum;
}

static long stored_count(const struct vaned *v, const char *bus)
{
    long next[MAX_LOGS];

    return next_offsets(v, bus, next);
}

/* ---- positions and stored events -------------------------------------------- */

struct position {
    long eventlog, offset;
    int duplicate; /* 0, 1, or -1 when the answer has none */
};

/* The position the publish answer gives its i-th event ({-1, -1, -1} if none). */
static struct position position_at(const struct answer *a, size_t i)
{
    json_t *item = json_array_get(json_object_get(a->json, "events"), i);
    json_t *dup = json_object_get(item, "duplicate");
    struct position p = {-1, -1, -1};

    if (item == NULL)
        return p;
    p.eventlog = (long)json_integer_value(json_object_get(item, "eventlog"));
    p.offset = (long)json_integer_value(json_object_get(item, "offset"));
    p.duplicate = json_is_boolean(dup) ? json_is_true(dup) : -1;
    return p;
}

static size_t answered_count(const struct answer *a)
{
    return json_array_size(json_object_get(a->json, "events"));
}

static struct answer read_at(const struct vaned *v, const char *bus, struct position p)
{
    return get(v, "/api/v1/eventbuses/%s/events?eventlog=%ld&offset=%ld&limit=1", bus, p.eventlog,
               p.offset);
}

/*
 * Reads the event at p back and compares it with want_json (the whole
 * structured event).  raw_data, when not NULL, is the data's text as it must
 * appear in the answer, byte for byte, after "data":.
 */
static void check_stored(const struct vaned *v, const char *bus, struct position p,
                         const char *want_json, const char *raw_data, const char *what)
{
    struct answer a = read_at(v, bus, p);
    json_t *events = json_object_get(a.json, "events");
    json_t *item = json_array_get(events, 0);
    json_t *got = json_object_get(item, "event");
    json_error_t jerr;
    json_t *want = json_loads(want_json, 0, &jerr);

    if (want == NULL)
        tap_diag("%s: the test's expected JSON does not parse: %s: %s", what, jerr.text,
                 want_json);
    if (a.status != 200)
        tap_diag("%s: %s", what, a.body ? a.body : "(no answer)");
    if (!is_int(a.status, 200, "%s: read back", what) ||
        !is_int(json_array_size(events), 1, "%s: one event at %ld/%ld", what, p.eventlog,
                p.offset)) {
        answer_free(&a);
        json_decref(want);
        return;
    }
    is_int(json_integer_value(json_object_get(item, "offset")), p.offset, "%s: at its offset",
           what);
    if (!ok(json_equal(got, want), "%s: stored as sent", what)) {
        char *text = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);

        tap_diag("got:      %s", text ? text : "(none)");
        tap_diag("expected: %s", want_json);
        free(text);
    }
    if (raw_data != NULL) {
        char *needle = vane_asprintf("\"data\":%s", raw_data);

        contains(a.body, needle, "%s: the data text is as sent", what);
        vane_free(needle);
    }
    json_decref(want);
    answer_free(&a);
}

/* Publishes and reads back one event; the answer must be 200 with one new position. */
static struct position publish_one(const struct vaned *v, const char *bus,
                                   const char *const *headers, const char *body,
                                   enum http_mode mode, const char *what)
{
    struct answer a = publish(v, bus, headers, body, mode);
    struct position p = position_at(&a, 0);

    if (a.status != 200)
        tap_diag("%s: %s", what, a.body ? a.body : "(no answer)");
    if (!is_int(a.status, 200, "%s: published", what))
        p.eventlog = -1;
    else
        is_int(answered_count(&a), 1, "%s: one event answered", what);
    answer_free(&a);
    return p;
}

/* ---- round trips in each mode ---------------------------------------------------- */

static const char bytes_base64[] =
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQk"
    "NERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWG"
    "h4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIyc"
    "rLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==";

static void round_trip_binary(const struct vaned *v, int m)
{
    enum http_mode mode = modes[m];
    const char *name = mode_names[m];
    char id[32], id_header[48];
    char *what, *want;
    struct position p;

    snprintf(id, sizeof(id), "bin-%d", m);
    snprintf(id_header, sizeof(id_header), "ce-id: %s", id);
    {
        const char *const headers[] = {
            "ce-specversion: 1.0", id_header, "ce-source: https://example.com/src?x=1",
            "ce-type: com.example.order", "ce-subject: Euro%20%E2%82%AC%20%F0%9F%98%80",
            "ce-time: 2026-11-26T10:00:00.123456789+01:00",
            "ce-dataschema: https://example.com/schema.json", "ce-exts: v", "ce-exti: 42",
            "ce-extq: \"quoted value\"", "Content-Type: application/json", NULL};
        static const char body[] = "{\"b\":9.99, \"a\":1.0,\"c\":1e2,\"u\":\"\\u00e9\"}";

        what = vane_asprintf("%s binary: every attribute, JSON data", name);
        p = publish_one(v, "rt", headers, body, mode, what);
        want = vane_asprintf(
            "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"https://example.com/src?x=1\","
            "\"type\":\"com.example.order\",\"subject\":\"Euro \xe2\x82\xac \xf0\x9f\x98\x80\","
            "\"time\":\"2026-11-26T10:00:00.123456789+01:00\","
            "\"dataschema\":\"https://example.com/schema.json\",\"exts\":\"v\",\"exti\":\"42\","
            "\"extq\":\"quoted value\",\"datacontenttype\":\"application/json\","
            "\"data\":{\"b\":9.99,\"a\":1.0,\"c\":1e2,\"u\":\"\xc3\xa9\"}}",
            id);
        if (p.eventlog >= 0)
            check_stored(v, "rt", p, want, body, what);
        vane_free(what);
        vane_free(want);
    }
    {
        const char *const headers[] = {"ce-specversion: 1.0", id_header, "ce-source: /s",
                                       "ce-type: t", "Content-Type: text/plain; charset=utf-8",
                                       NULL};

        snprintf(id_header, sizeof(id_header), "ce-id: bin-text-%d", m);
        what = vane_asprintf("%s binary: text/plain data", name);
        p = publish_one(v, "rt", headers, "hello\nworld \xc3\xa9 \"q\" \\", mode, what);
        want = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"bin-text-%d\",\"source\":\"/s\","
                             "\"type\":\"t\",\"datacontenttype\":\"text/plain; charset=utf-8\","
                             "\"data\":\"hello\\nworld \xc3\xa9 \\\"q\\\" \\\\\"}",
                             m);
        if (p.eventlog >= 0)
            check_stored(v, "rt", p, want, NULL, what);
        vane_free(what);
        vane_free(want);
    }
    {
        const char *const headers[] = {"ce-specversion: 1.0", id_header, "ce-source: /s",
                                       "ce-type: t", "Content-Type: application/xml", NULL};

        snprintf(id_header, sizeof(id_header), "ce-id: bin-xml-%d", m);
        what = vane_asprintf("%s binary: XML data", name);
        p = publish_one(v, "rt", headers, "<a x=\"1\">\xc3\xa9</a>", mode, what);
        want = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"bin-xml-%d\",\"source\":\"/s\","
                             "\"type\":\"t\",\"datacontenttype\":\"application/xml\","
                             "\"data\":\"<a x=\\\"1\\\">\xc3\xa9</a>\"}",
                             m);
        if (p.eventlog >= 0)
            check_stored(v, "rt", p, want, NULL, what);
        vane_free(what);
        vane_free(want);
    }
    {
        const char *const headers[] = {"ce-specversion: 1.0", id_header, "ce-source: /s",
                                       "ce-type: t", "Content-Type: application/octet-stream",
                                       NULL};
        unsigned char all[256];
        char *path = vane_asprintf("/gateway/rt");
        struct answer a;

        for (int i = 0; i < 256; i++)
            all[i] = (unsigned char)i;
        snprintf(id_header, sizeof(id_header), "ce-id: bin-bytes-%d", m);
        what = vane_asprintf("%s binary: bytes 00 to ff", name);
        a = request(v, "POST", path, headers, all, sizeof(all), mode);
        p = position_at(&a, 0);
        is_int(a.status, 200, "%s: published", what);
        want = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"bin-bytes-%d\",\"source\":\"/s\","
                             "\"type\":\"t\",\"datacontenttype\":\"application/octet-stream\","
                             "\"data_base64\":\"%s\"}",
                             m, bytes_base64);
        if (a.status == 200)
            check_stored(v, "rt", p, want, NULL, what);
        answer_free(&a);
        vane_free(path);
        vane_free(what);
        vane_free(want);
    }
    {
        const char *const headers[] = {"ce-specversion: 1.0", id_header, "ce-source: /s",
                                       "ce-type: t", "Content-Type: text/plain", NULL};

        snprintf(id_header, sizeof(id_header), "ce-id: bin-empty-%d", m);
        what = vane_asprintf("%s binary: empty text data", name);
        p = publish_one(v, "rt", headers, "", mode, what);
        want = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"bin-empty-%d\",\"source\":\"/s\","
                             "\"type\":\"t\",\"datacontenttype\":\"text/plain\",\"data\":\"\"}",
                             m);
        if (p.eventlog >= 0)
            check_stored(v, "rt", p, want, NULL, what);
        vane_free(what);
        vane_free(want);
    }
    {
        const char *const headers[] = {"ce-specversion: 1.0", id_header, "ce-source: /s",
                                       "ce-type: t", NULL};

        snprintf(id_header, sizeof(id_header), "ce-id: bin-none-%d", m);
        what = vane_asprintf("%s binary: no body, no Content-Type", name);
        p = publish_one(v, "rt", headers, NULL, mode, what);
        want = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"bin-none-%d\",\"source\":\"/s\","
                             "\"type\":\"t\"}",
                             m);
        if (p.eventlog >= 0)
            check_stored(v, "rt", p, want, NULL, what);
        vane_free(what);
        vane_free(want);
    }
}

#define STRUCTURED "Content-Type: application/cloudevents+json"
#define BATCH "Content-Type: application/cloudevents-batch+json"

/* Publishes in structured mode and reads back; want NULL means "as sent". */
static void structured_case(const struct vaned *v, int m, const char *body, const char *want,
                            const char *raw_data, const char *what)
{
    static const char *const headers[] = {STRUCTURED, NULL};
    char *name = vane_asprintf("%s structured: %s", mode_names[m], what);
    struct position p = publish_one(v, "rt", headers, body, modes[m], name);

    if (p.eventlog >= 0)
        check_stored(v, "rt", p, want ? want : body, raw_data, name);
    vane_free(name);
}

static void round_trip_structured(const struct vaned *v, int m)
{
    static const char data[] = "{\"z\":[1,2.50,1e2,-0.0], \"u\":\"\\u00e9\",\"n\":null}";
    char *body, *want;

    body = vane_asprintf(
        "{\"specversion\":\"1.0\",\"id\":\"st-%d\",\"source\":\"urn:example:src\",\"type\":\"t\","
        "\"subject\":\"Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80\",\"time\":\"2026-11-26T10:00:00Z\","
        "\"dataschema\":\"https://example.com/s\",\"exti\":42,\"extb\":false,"
        "\"extneg\":-2147483648,\"exts\":\"s\",\"datacontenttype\":\"application/json\","
        "\"data\":%s}",
        m, data);
    structured_case(v, m, body, NULL, data, "every attribute type, JSON data");
    vane_free(body);

    body = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"st-b64-%d\",\"source\":\"/s\","
                         "\"type\":\"t\",\"datacontenttype\":\"application/octet-stream\","
                         "\"data_base64\":\"%s\"}",
                         m, bytes_base64);
    structured_case(v, m, body, NULL, NULL, "data_base64");
    vane_free(body);

    body = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"st-text-%d\",\"source\":\"/s\","
                         "\"type\":\"t\",\"datacontenttype\":\"text/plain\","
                         "\"data\":\"line 1\\nline \\\"2\\\" \xe6\x97\xa5\"}",
                         m);
    structured_case(v, m, body, NULL, NULL, "text data");
    vane_free(body);

    body = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"st-noct-%d\",\"source\":\"/s\","
                         "\"type\":\"t\",\"data\" : [ 1.0, {\"b\":2,\"a\":1} ] }",
                         m);
    want = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"st-noct-%d\",\"source\":\"/s\","
                         "\"type\":\"t\",\"datacontenttype\":\"application/json\","
                         "\"data\":[1.0,{\"b\":2,\"a\":1}]}",
                         m);
    structured_case(v, m, body, want, "[ 1.0, {\"b\":2,\"a\":1} ]",
                    "no datacontenttype: application/json");
    vane_free(body);
    vane_free(want);

    body = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"st-null-%d\",\"source\":\"/s\","
                         "\"type\":\"t\",\"datacontenttype\":\"application/json\",\"data\":null}",
                         m);
    structured_case(v, m, body, NULL, "null", "data null");
    vane_free(body);

    body = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"st-nodata-%d\",\"source\":\"/s\","
                         "\"type\":\"t\",\"subject\":null}",
                         m);
    want = vane_asprintf("{\"specversion\":\"1.0\",\"id\":\"st-nodata-%d\",\"source\":\"/s\","
                         "\"type\":\"t\"}",
                         m);
    structured_case(v, m, body, want, NULL, "no data, a null attribute");
    vane_free(body);
    vane_free(want);
}

static void round_trip_batch(const struct vaned *v, int m)
{
    static const char *const headers[] = {BATCH, NULL};
    static const char *const wants[] = {
        "{\"specversion\":\"1.0\",\"id\":\"ba-%d-0\",\"source\":\"/s\",\"type\":\"t\","
        "\"datacontenttype\":\"application/json\",\"data\":{\"n\":1.0}}",
        "{\"specversion\":\"1.0\",\"id\":\"ba-%d-1\",\"source\":\"/s\",\"type\":\"t\","
        "\"datacontenttype\":\"text/plain\",\"data\":\"two\"}",
        "{\"specversion\":\"1.0\",\"id\":\"ba-%d-2\",\"source\":\"/s\",\"type\":\"t\","
        "\"data_base64\":\"AP8=\"}",
    };
    char *body = vane_asprintf(
        "[ {\"specversion\":\"1.0\",\"id\":\"ba-%d-0\",\"source\":\"/s\",\"type\":\"t\","
        "\"data\":{\"n\" : 1.0}},\n"
        "{\"specversion\":\"1.0\",\"id\":\"ba-%d-1\",\"source\":\"/s\",\"type\":\"t\","
        "\"datacontenttype\":\"text/plain\",\"data\":\"two\"},"
        "{\"specversion\":\"1.0\",\"id\":\"ba-%d-2\",\"source\":\"/s\",\"type\":\"t\","
        "\"data_base64\":\"AP8=\"} ]",
        m, m, m);
    struct answer a = publish(v, "rt", headers, body, modes[m]);

    if (is_int(a.status, 200, "%s batch of three: published", mode_names[m]) &&
        is_int(answered_count(&a), 3, "%s batch: three answers", mode_names[m])) {
        for (size_t i = 0; i < 3; i++) {
            char *want = vane_asprintf(wants[i], m);
            char *what = vane_asprintf("%s batch event %zu", mode_names[m], i);

            is_int(position_at(&a, i).duplicate, 0, "%s: not a duplicate", what);
            check_stored(v, "rt", position_at(&a, i), want, i == 0 ? "{\"n\" : 1.0}" : NULL,
                         what);
            vane_free(want);
            vane_free(what);
        }
    }
    answer_free(&a);
    vane_free(body);
}

static void test_round_trips(const struct vaned *v)
{
    create_bus(v, "rt", 1);
    for (int m = 0; m < MODE_COUNT; m++) {
        round_trip_binary(v, m);
        round_trip_structured(v, m);
        round_trip_batch(v, m);
    }
}

/* Data the JSON format allows that a 64-bit number cannot hold: kept as sent. */
static void test_big_numbers(const struct vaned *v)
{
    static const char *const headers[] = {STRUCTURED, NULL};
    static const char body[] = "{\"specversion\":\"1.0\",\"id\":\"big\",\"source\":\"/s\","
                               "\"type\":\"t\",\"data\":[123456789012345678901234567890]}";
    struct answer a = publish(v, "rt", headers, body, HTTP_1_1);
    struct answer r;

    if (a.status != 200)
        tap_diag("%s", a.body ? a.body : "(no answer)");
    is_int(a.status, 200, "structured: an integer past 64 bits in data is accepted");
    if (a.status == 200) {
        r = read_at(v, "rt", position_at(&a, 0));
        contains(r.body, "\"data\":[123456789012345678901234567890]",
                 "an integer past 64 bits: kept as sent");
        answer_free(&r);
    }
    answer_free(&a);
}

/* The text of the "event" member of a read answer holding one event, or NULL. */
static char *event_text(const char *body)
{
    const char *start = body ? strstr(body, "\"event\":") : NULL;
    const char *end = body ? strstr(body, "}],\"next\"") : NULL;

    if (start == NULL || end == NULL || end < start)
        return NULL;
    start += strlen("\"event\":");
    return vane_strndup(start, (size_t)(end - start));
}

/*
 * What the read API answers is a structured event: published again (to
 * another eventbus) it is accepted and read back the same, byte for byte.
 */
static void republish(const struct vaned *v, const char *const *headers, const void *body,
                      size_t len, const char *what)
{
    static const char *const structured[] = {"Content-Type: application/cloudevents+json", NULL};
    struct answer a = request(v, "POST", "/gateway/again", headers, body, len, HTTP_1_1);
    struct answer r = {0, NULL, NULL, NULL}, b = {0, NULL, NULL, NULL};
    char *first = NULL, *second = NULL;

    if (!is_int(a.status, 200, "%s: published", what))
        goto out;
    r = read_at(v, "again", position_at(&a, 0));
    first = event_text(r.body);
    if (!ok(first != NULL, "%s: read back", what))
        goto out;
    answer_free(&a);
    a = publish(v, "again2", structured, first, HTTP_1_1);
    if (a.status != 200)
        tap_diag("%s: %s", what, a.body ? a.body : "(no answer)");
    if (!is_int(a.status, 200, "%s: what the read API wrote is accepted in structured mode", what))
        goto out;
    b = read_at(v, "again2", position_at(&a, 0));
    second = event_text(b.body);
    is_str(second, first, "%s: and reads back the same", what);
out:
    vane_free(first);
    vane_free(second);
    answer_free(&a);
    answer_free(&r);
    answer_free(&b);
}

static void test_republish(const struct vaned *v)
{
    static const char *const text[] = {"ce-specversion: 1.0", "ce-id: again-1", "ce-source: /s",
                                       "ce-type: t", "Content-Type: text/plain", NULL};
    static const char *const json[] = {"ce-specversion: 1.0", "ce-id: again-2", "ce-source: /s",
                                       "ce-type: t", "Content-Type: application/json", NULL};
    static const char *const bytes[] = {"ce-specversion: 1.0", "ce-id: again-3",
                                        "ce-source: /s", "ce-type: t",
                                        "Content-Type: application/octet-stream", NULL};
    static const char *const all[] = {
        "ce-specversion: 1.0", "ce-id: again-4", "ce-source: https://example.com/x",
        "ce-type: t", "ce-subject: Euro%20%E2%82%AC", "ce-time: 2026-11-26T10:00:00.5-02:00",
        "ce-dataschema: https://example.com/s", "ce-ext: v", "Content-Type: application/xml",
        NULL};
    static const char big[] = "[123456789012345678901234567890]", xml[] = "<a>\xc3\xa9</a>";

    create_bus(v, "again", 1);
    create_bus(v, "again2", 1);
    republish(v, all, xml, strlen(xml), "every attribute, XML data");
    republish(v, bytes, "\x00\xff\x80", 3, "binary data");
    republish(v, text, "a\0b", 3, "text data with a NUL byte");
    republish(v, json, big, strlen(big), "JSON data with an integer past 64 bits");
}

/* ---- refusals ---------------------------------------------------------------------- */

struct refusal {
    const char *what;
    const char *const headers[12];
    const char *body;
    long status;
    const char *field; /* NULL: no field expected */
    long index;        /* -1: none */
};

#define CE_REQUIRED "ce-specversion: 1.0", "ce-id: x1", "ce-source: /s", "ce-type: t"
#define EVENT_HEAD "\"specversion\":\"1.0\",\"id\":\"x1\",\"source\":\"/s\",\"type\":\"t\""

static const struct refusal refusals[] = {
    {"binary without ce-id", {"ce-specversion: 1.0", "ce-source: /s", "ce-type: t",
                              "Content-Type: text/plain", NULL}, "x", 400, "id", -1},
    {"binary without ce-source", {"ce-specversion: 1.0", "ce-id: x1", "ce-type: t",
                                  "Content-Type: text/plain", NULL}, "x", 400, "source", -1},
    {"binary without ce-type", {"ce-specversion: 1.0", "ce-id: x1", "ce-source: /s",
                                "Content-Type: text/plain", NULL}, "x", 400, "type", -1},
    {"binary without ce-specversion", {"ce-id: x1", "ce-source: /s", "ce-type: t",
                                       "Content-Type: text/plain", NULL}, "x", 400,
     "specversion", -1},
    {"binary with an empty ce-id", {"ce-specversion: 1.0", "ce-id;", "ce-source: /s",
                                    "ce-type: t", "Content-Type: text/plain", NULL}, "x", 400,
     "id", -1},
    {"binary with an empty ce-source", {"ce-specversion: 1.0", "ce-id: x1", "ce-source;",
                                        "ce-type: t", "Content-Type: text/plain", NULL}, "x",
     400, "source", -1},
    {"binary with an empty ce-type", {"ce-specversion: 1.0", "ce-id: x1", "ce-source: /s",
                                      "ce-type;", "Content-Type: text/plain", NULL}, "x", 400,
     "type", -1},
    {"binary with an empty ce-specversion", {"ce-specversion;", "ce-id: x1", "ce-source: /s",
                                             "ce-type: t", "Content-Type: text/plain", NULL},
     "x", 400, "specversion", -1},
    {"specversion 0.3", {"ce-specversion: 0.3", "ce-id: x1", "ce-source: /s", "ce-type: t",
                         "Content-Type: text/plain", NULL}, "x", 400, "specversion", -1},
    {"a bad time", {CE_REQUIRED, "ce-time: 2026-11-26 10:00", "Content-Type: text/plain", NULL},
     "x", 400, "time", -1},
    {"a time in month 13", {STRUCTURED, NULL},
     "{" EVENT_HEAD ",\"time\":\"2026-13-01T00:00:00Z\"}", 400, "time", -1},
    {"an extension name with '-'", {CE_REQUIRED, "ce-my-ext: v", "Content-Type: text/plain",
                                    NULL}, "x", 400, "my-ext", -1},
    {"an upper-case extension name", {STRUCTURED, NULL}, "{" EVENT_HEAD ",\"MyExt\":\"v\"}",
     400, "MyExt", -1},
    {"a reserved xvanus extension", {CE_REQUIRED, "ce-xvanusfoo: v",
                                     "Content-Type: text/plain", NULL}, "x", 400, "xvanusfoo",
     -1},
    {"a bad xvanusdeliverytime", {STRUCTURED, NULL},
     "{" EVENT_HEAD ",\"xvanusdeliverytime\":\"soon\"}", 400, "xvanusdeliverytime", -1},
    {"ce-datacontenttype in binary mode", {CE_REQUIRED, "ce-datacontenttype: text/plain",
                                           "Content-Type: text/plain", NULL}, "x", 400,
     "datacontenttype", -1},
    {"an overlong percent-encoding", {CE_REQUIRED, "ce-subject: %C0%A0",
                                      "Content-Type: text/plain", NULL}, "x", 400, "subject",
     -1},
    {"a truncated percent-encoding", {CE_REQUIRED, "ce-subject: ab%2",
                                      "Content-Type: text/plain", NULL}, "x", 400, "subject",
     -1},
    {"malformed JSON", {STRUCTURED, NULL}, "{" EVENT_HEAD ",\"data\":}", 400, NULL, -1},
    {"a structured event that is an array", {STRUCTURED, NULL}, "[{" EVENT_HEAD "}]", 400,
     NULL, -1},
    {"bad data_base64", {STRUCTURED, NULL}, "{" EVENT_HEAD ",\"data_base64\":\"QQ=A\"}", 400,
     "data_base64", -1},
    {"a number as text data", {STRUCTURED, NULL},
     "{" EVENT_HEAD ",\"datacontenttype\":\"text/plain\",\"data\":5}", 400, "data", -1},
    {"a batch that is not an array", {BATCH, NULL}, "{" EVENT_HEAD "}", 400, NULL, -1},
    {"a batch whose event 2 has no id", {BATCH, NULL},
     "[{\"specversion\":\"1.0\",\"id\":\"ok-0\",\"source\":\"/s\",\"type\":\"t\"},"
     "{\"specversion\":\"1.0\",\"id\":\"ok-1\",\"source\":\"/s\",\"type\":\"t\"},"
     "{\"specversion\":\"1.0\",\"source\":\"/s\",\"type\":\"t\"}]",
     400, "id", 2},
    {"a batch whose event 1 has a bad extension", {BATCH, NULL},
     "[{\"specversion\":\"1.0\",\"id\":\"ok-2\",\"source\":\"/s\",\"type\":\"t\"},"
     "{" EVENT_HEAD ",\"ext\":1.5}]",
     400, "ext", 1},
    {"application/cloudevents+xml", {"Content-Type: application/cloudevents+xml", NULL},
     "<event/>", 415, "Content-Type", -1},
    {"application/cloudevents-batch+xml", {"Content-Type: application/cloudevents-batch+xml",
                                           NULL}, "<events/>", 415, "Content-Type", -1},
    {"text/plain without ce- headers", {"Content-Type: text/plain", NULL}, "hello", 415,
     "Content-Type", -1},
};

static void check_refusal(const struct vaned *v, const struct refusal *r, int m)
{
    long before = stored_count(v, "bad"), after;
    struct answer a = publish(v, "bad", r->headers, r->body, modes[m]);

    if (a.status != r->status)
        tap_diag("%s: %s", r->what, a.body ? a.body : "(no answer)");
    is_int(a.status, r->status, "%s %s: answers %ld", mode_names[m], r->what, r->status);
    ok(json_is_string(json_object_get(error_of(&a), "message")), "%s: an error with a message",
       r->what);
    is_int(json_integer_value(json_object_get(error_of(&a), "status")), r->status,
           "%s: the error has its status", r->what);
    if (r->field != NULL)
        is_str(error_field(&a), r->field, "%s: the error names %s", r->what, r->field);
    is_int(error_index(&a), r->index, "%s: batch index %ld", r->what, r->index);
    after = stored_count(v, "bad");
    ok(before >= 0 && after == before, "%s: nothing stored (%ld events before, %ld after)",
       r->what, before, after);
    answer_free(&a);
}

static void test_refusals(const struct vaned *v)
{
    create_bus(v, "bad", 2);
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
        check_refusal(v, &refusals[i], HTTP_1_1);
    /* A few over HTTP/2, where header names arrive in lower case. */
    check_refusal(v, &refusals[0], HTTP_2_PRIOR_KNOWLEDGE);
    check_refusal(v, &refusals[9], HTTP_2_PRIOR_KNOWLEDGE);
    check_refusal(v, &refusals[23], HTTP_2_PRIOR_KNOWLEDGE);
    check_refusal(v, &refusals[25], HTTP_2_UPGRADE);
}

static void test_paths_and_methods(const struct vaned *v)
{
    static const char *const headers[] = {CE_REQUIRED, "Content-Type: text/plain", NULL};
    struct answer a;

    a = publish(v, "nosuchbus", headers, "x", HTTP_1_1);
    is_int(a.status, 404, "an unknown eventbus: 404");
    is_str(error_field(&a), "eventbus", "an unknown eventbus: the error names eventbus");
    answer_free(&a);
    a = publish(v, "nosuchbus", headers, "x", HTTP_2_PRIOR_KNOWLEDGE);
    is_int(a.status, 404, "an unknown eventbus over h2c: 404");
    answer_free(&a);

    a = request(v, "POST", "/gateway/", headers, "x", 1, HTTP_1_1);
    is_int(a.status, 404, "POST /gateway/: 404");
    answer_free(&a);
    /* The route /gateway also matches the path with no eventbus at all; the
     * answer must name the empty name, never bytes from past the path (a few
     * times over, so that the memory after it holds earlier requests). */
    for (int i = 0; i < 6; i++) {
        const char *path = i % 3 == 2 ? "/gateway?x=1" : "/gateway";

        a = request(v, "POST", path, headers, "x", 1, modes[i % 2]);
        is_int(a.status, 404, "POST %s (%s): 404", path, mode_names[i % 2]);
        is_str(json_string_value(json_object_get(error_of(&a), "message")),
               "no eventbus named \"\"", "POST %s (%s): the message names the empty eventbus, "
               "and nothing past the path", path, mode_names[i % 2]);
        answer_free(&a);
    }
    a = request(v, "POST", "/gateway/rt/more", headers, "x", 1, HTTP_1_1);
    is_int(a.status, 404, "POST /gateway/rt/more: 404");
    answer_free(&a);

    a = request(v, "GET", "/gateway/rt", NULL, NULL, 0, HTTP_1_1);
    is_int(a.status, 405, "GET /gateway/rt: 405");
    contains(a.headers, "allow: POST", "405 says Allow: POST");
    ok(error_of(&a) != NULL, "405 in the JSON error shape");
    answer_free(&a);
    a = request(v, "PUT", "/gateway/rt", headers, "x", 1, HTTP_2_PRIOR_KNOWLEDGE);
    is_int(a.status, 405, "PUT /gateway/rt over h2c: 405");
    answer_free(&a);
}

/* A vaned of its own with gateway.max_request_size = 4KiB. */
static void test_max_request_size(void)
{
    char *dir = vane_asprintf("%s/small", tmpdir);
    char *config = harness_write_file(tmpdir, "small.lua",
                                      "return { gateway = { max_request_size = \"4KiB\" } }\n");
    const char *args[] = {"--config", config, NULL};
    static const char *const headers[] = {CE_REQUIRED, "Content-Type: text/plain", NULL};
    static const char *const batch_headers[] = {BATCH, NULL};
    char *big = vane_malloc(5001), *fits = vane_malloc(3001);
    struct vane_buf batch = VANE_BUF_INIT;
    struct vaned v;
    struct answer a;

    memset(big, 'a', 5000);
    big[5000] = '\0';
    memset(fits, 'b', 3000);
    fits[3000] = '\0';
    if (!ok(vaned_start(&v, dir, args) == 0, "vaned starts with max_request_size 4KiB"))
        goto out;
    create_bus(&v, "small", 1);
    for (int m = 0; m < 2; m++) {
        a = publish(&v, "small", headers, big, modes[m]);
        is_int(a.status, 413, "%s: a body of 5000 bytes: 413", mode_names[m]);
        ok(error_of(&a) != NULL && json_integer_value(json_object_get(error_of(&a), "status")) == 413,
           "%s: 413 in the JSON error shape (got %s)", mode_names[m], a.body ? a.body : "");
        answer_free(&a);
    }
    vane_buf_append_str(&batch, "[");
    for (int i = 0; i < 100; i++)
        vane_buf_appendf(&batch, "%s{\"specversion\":\"1.0\",\"id\":\"b%d\",\"source\":\"/s\","
                         "\"type\":\"t\"}", i ? "," : "", i);
    vane_buf_append_str(&batch, "]");
    a = publish(&v, "small", batch_headers, batch.data, HTTP_1_1);
    is_int(a.status, 413, "a batch of %zu bytes: 413", batch.len);
    answer_free(&a);
    is_int(stored_count(&v, "small"), 0, "nothing stored by the 413s");
    a = publish(&v, "small", headers, fits, HTTP_1_1);
    is_int(a.status, 200, "a body of 3000 bytes: 200");
    answer_free(&a);
    is_int(stored_count(&v, "small"), 1, "and it is stored");
out:
    vaned_cleanup(&v);
    vane_buf_free(&batch);
    vane_free(big);
    vane_free(fits);
    vane_free(config);
    vane_free(dir);
}

/* ---- idempotency -------------------------------------------------------------------- */

static struct answer publish_event(const struct vaned *v, const char *bus, const char *source,
                                   const char *id, enum http_mode mode)
{
    char *source_header = vane_asprintf("ce-source: %s", source);
    char *id_header = vane_asprintf("ce-id: %s", id);
    const char *const headers[] = {"ce-specversion: 1.0", source_header, id_header, "ce-type: t",
                                   "Content-Type: text/plain", NULL};
    struct answer a = publish(v, bus, headers, "payload", mode);

    vane_free(source_header);
    vane_free(id_header);
    return a;
}

static bool same_position(struct position a, struct position b)
{
    return a.eventlog == b.eventlog && a.offset == b.offset && a.eventlog >= 0;
}

/* ---- requests in parallel (curl multi) ------------------------------------------------ */

struct parallel_post {
    CURL *easy;
    struct curl_slist *headers;
    struct vane_buf received;
    char *url;
};

static size_t collect(char *data, size_t size, size_t count, void *arg)
{
    vane_buf_append(arg, data, size * count);
    return size * count;
}

/* Adds a POST of body to /gateway/<bus> on a connection of its own to multi. */
static void parallel_start(CURLM *multi, struct parallel_post *post, const struct vaned *v,
                           const char *bus, const char *const *headers, const char *body)
{
    memset(post, 0, sizeof(*post));
    post->url = vane_asprintf("%s/gateway/%s", v->url, bus);
    for (size_t i = 0; headers[i] != NULL; i++)
        post->headers = curl_slist_append(post->headers, headers[i]);
    post->headers = curl_slist_append(post->headers, "Expect:");
    post->easy = curl_easy_init();
    curl_easy_setopt(post->easy, CURLOPT_URL, post->url);
    curl_easy_setopt(post->easy, CURLOPT_HTTPHEADER, post->headers);
    curl_easy_setopt(post->easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(post->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(post->easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(post->easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(post->easy, CURLOPT_TIMEOUT_MS, (long)harness_ms(10000));
    curl_easy_setopt(post->easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(post->easy, CURLOPT_WRITEDATA, &post->received);
    curl_multi_add_handle(multi, post->easy);
}

/* Runs multi until every transfer is done (or the deadline, scaled, passes). */
static void parallel_run(CURLM *multi, int timeout_ms)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)harness_ms(timeout_ms) * 1000000;
    int running = 1;

    while (running > 0 && uv_hrtime() < deadline) {
        curl_multi_perform(multi, &running);
        if (running > 0)
            curl_multi_poll(multi, NULL, 0, 10, NULL);
    }
}

/* The answer of a finished transfer; frees what the post held. */
static struct answer parallel_finish(CURLM *multi, struct parallel_post *post)
{
    struct answer a = {0, NULL, NULL, NULL};

    curl_easy_getinfo(post->easy, CURLINFO_RESPONSE_CODE, &a.status);
    vane_buf_append(&post->received, "", 1);
    a.body = vane_buf_detach(&post->received);
    a.json = json_loads(a.body, 0, NULL);
    curl_multi_remove_handle(multi, post->easy);
    curl_easy_cleanup(post->easy);
    curl_slist_free_all(post->headers);
    vane_free(post->url);
    return a;
}

/*
 * Two connections post the same event at the same time; out gets the
 * position each answer gives.  Returns how many answered 200.
 */
static int publish_concurrently(const struct vaned *v, const char *bus, const char *id,
                                struct position out[2])
{
    char *id_header = vane_asprintf("ce-id: %s", id);
    const char *const headers[] = {"ce-specversion: 1.0", "ce-source: /concurrent", "ce-type: t",
                                   "Content-Type: text/plain", id_header, NULL};
    CURLM *multi = curl_multi_init();
    struct parallel_post posts[2];
    int answered = 0;

    for (int i = 0; i < 2; i++)
        parallel_start(multi, &posts[i], v, bus, headers, "same");
    parallel_run(multi, 10000);
    for (int i = 0; i < 2; i++) {
        struct answer a = parallel_finish(multi, &posts[i]);

        answered += a.status == 200;
        out[i] = position_at(&a, 0);
        answer_free(&a);
    }
    curl_multi_cleanup(multi);
    vane_free(id_header);
    return answered;
}

/* The first partitionkey "<prefix><n>" whose eventlog (of count) is, or is not, log. */
static char *key_for(const char *prefix, uint32_t count, uint32_t log, bool same)
{
    for (int n = 0;; n++) {
        char *key = vane_asprintf("%s%d", prefix, n);

        if ((vane_crc32c(0, key, strlen(key)) % count == log) == same)
            return key;
        vane_free(key);
    }
}

/*
 * A request that repeats an event another request still has in flight
 * waits for it.  Here the waiting request W = [A, B] repeats A of a large
 * batch P = [A, 400 more] on one eventlog, while its own B goes to another
 * eventlog and, being small, is stored first: the wait for A is the last
 * thing that settles W, and W must be answered (and the daemon live on)
 * whatever the order.
 */
static void test_waiting_repeat(const struct vaned *v)
{
    static const char *const batch[] = {BATCH, NULL};
    char *key_a = key_for("ka", 4, 0, true), *key_b = key_for("kb", 4, 0, false);
    char *filler = vane_malloc(1001);

    memset(filler, 'x', 1000);
    filler[1000] = '\0';
    create_bus(v, "wait", 4);
    for (int round = 0; round < 5; round++) {
        struct vane_buf big = VANE_BUF_INIT;
        char *small = vane_asprintf(
            "[{\"specversion\":\"1.0\",\"id\":\"w%d\",\"source\":\"/w\",\"type\":\"t\","
            "\"partitionkey\":\"%s\"},"
            "{\"specversion\":\"1.0\",\"id\":\"w%d-b\",\"source\":\"/w\",\"type\":\"t\","
            "\"partitionkey\":\"%s\"}]",
            round, key_a, round, key_b);
        CURLM *multi = curl_multi_init();
        struct parallel_post p, w;
        struct answer pa, wa;
        uint64_t deadline = uv_hrtime() + (uint64_t)harness_ms(5000) * 1000000;
        curl_off_t sent = 0;
        int running = 1;

        vane_buf_appendf(&big, "[{\"specversion\":\"1.0\",\"id\":\"w%d\",\"source\":\"/w\","
                         "\"type\":\"t\",\"partitionkey\":\"%s\"}", round, key_a);
        for (int i = 0; i < 400; i++)
            vane_buf_appendf(&big, ",{\"specversion\":\"1.0\",\"id\":\"w%d-%d\","
                             "\"source\":\"/w\",\"type\":\"t\",\"partitionkey\":\"%s\","
                             "\"datacontenttype\":\"text/plain\",\"data\":\"%s\"}",
                             round, i, key_a, filler);
        vane_buf_append_str(&big, "]");
        parallel_start(multi, &p, v, "wait", batch, big.data);
        /* W goes once P is all sent, so that P's A is in flight when W comes. */
        while (running > 0 && sent < (curl_off_t)big.len && uv_hrtime() < deadline) {
            curl_multi_perform(multi, &running);
            curl_easy_getinfo(p.easy, CURLINFO_SIZE_UPLOAD_T, &sent);
            if (sent < (curl_off_t)big.len)
                curl_multi_poll(multi, NULL, 0, 1, NULL);
        }
        parallel_start(multi, &w, v, "wait", batch, small);
        parallel_run(multi, 10000);
        pa = parallel_finish(multi, &p);
        wa = parallel_finish(multi, &w);
        is_int(pa.status, 200, "round %d: the large batch: 200", round);
        is_int(wa.status, 200, "round %d: the request repeating its first event: 200", round);
        ok(same_position(position_at(&pa, 0), position_at(&wa, 0)) &&
               position_at(&pa, 0).duplicate + position_at(&wa, 0).duplicate == 1,
           "round %d: the repeat has the first one's position, one of them a duplicate", round);
        is_int(position_at(&wa, 1).duplicate, 0, "round %d: the other event is new", round);
        answer_free(&pa);
        answer_free(&wa);
        curl_multi_cleanup(multi);
        vane_buf_free(&big);
        vane_free(small);
    }
    {
        struct answer a = get(v, "/healthz");

        is_int(a.status, 200, "vaned still serves");
        answer_free(&a);
    }
    vane_free(filler);
    vane_free(key_a);
    vane_free(key_b);
}

static void test_idempotency(struct vaned *v, const char *data_dir)
{
    static const char *const batch_headers[] = {BATCH, NULL};
    struct position first, again;
    struct answer a;
    long before;

    create_bus(v, "idem", 2);
    before = stored_count(v, "idem");
    a = publish_event(v, "idem", "/a", "d1", HTTP_1_1);
    first = position_at(&a, 0);
    is_int(first.duplicate, 0, "a new (source, id): duplicate false");
    answer_free(&a);
    a = publish_event(v, "idem", "/a", "d1", HTTP_2_PRIOR_KNOWLEDGE);
    again = position_at(&a, 0);
    is_int(a.status, 200, "the same (source, id) again: 200");
    is_int(again.duplicate, 1, "the same (source, id) again: duplicate true");
    ok(same_position(first, again), "the same (source, id) again: the first position "
       "(%ld/%ld, then %ld/%ld)", first.eventlog, first.offset, again.eventlog, again.offset);
    answer_free(&a);
    is_int(stored_count(v, "idem"), before + 1, "stored once");

    a = publish_event(v, "idem", "/b", "d1", HTTP_1_1);
    again = position_at(&a, 0);
    is_int(again.duplicate, 0, "the same id from another source: a new event");
    ok(!same_position(first, again), "the same id from another source: another position");
    answer_free(&a);
    is_int(stored_count(v, "idem"), before + 2, "and it is stored");

    a = publish(v, "idem", batch_headers,
                "[{\"specversion\":\"1.0\",\"id\":\"d2\",\"source\":\"/a\",\"type\":\"t\"},"
                "{\"specversion\":\"1.0\",\"id\":\"d3\",\"source\":\"/a\",\"type\":\"t\"},"
                "{\"specversion\":\"1.0\",\"id\":\"d2\",\"source\":\"/a\",\"type\":\"t\"}]",
                HTTP_1_1);
    is_int(a.status, 200, "a batch repeating an event: 200");
    if (is_int(answered_count(&a), 3, "a batch repeating an event: three answers")) {
        is_int(position_at(&a, 0).duplicate, 0, "batch: the first d2 is new");
        is_int(position_at(&a, 1).duplicate, 0, "batch: d3 is new");
        is_int(position_at(&a, 2).duplicate, 1, "batch: the second d2 is a duplicate");
        ok(same_position(position_at(&a, 0), position_at(&a, 2)),
           "batch: the second d2 has the first one's position");
    }
    answer_free(&a);
    is_int(stored_count(v, "idem"), before + 4, "the batch stored two events");

    for (int round = 0; round < 8; round++) {
        char id[32];
        long count = stored_count(v, "idem");
        struct position both[2];

        snprintf(id, sizeof(id), "c%d", round);
        is_int(publish_concurrently(v, "idem", id, both), 2,
               "round %d: two connections publish the same event at once: both 200", round);
        ok(same_position(both[0], both[1]), "round %d: both answers give one position", round);
        is_int(both[0].duplicate + both[1].duplicate, 1,
               "round %d: one answer says duplicate (%d, %d)", round, both[0].duplicate,
               both[1].duplicate);
        is_int(stored_count(v, "idem"), count + 1, "round %d: stored once", round);
        a = publish_event(v, "idem", "/concurrent", id, HTTP_1_1);
        is_int(position_at(&a, 0).duplicate, 1, "round %d: and known afterwards", round);
        answer_free(&a);
    }

    /* Across a restart the window is rebuilt from the store. */
    kill(v->pid, SIGTERM);
    ok(vaned_wait(v, harness_ms(10000)) == 0, "vaned stops cleanly");
    vaned_cleanup(v);
    if (!ok(vaned_start(v, data_dir, NULL) == 0, "vaned starts again"))
        return;
    before = stored_count(v, "idem");
    a = publish_event(v, "idem", "/a", "d1", HTTP_1_1);
    again = position_at(&a, 0);
    is_int(again.duplicate, 1, "after a restart the same (source, id) is a duplicate");
    ok(same_position(first, again), "after a restart: the first position (%ld/%ld, then %ld/%ld)",
       first.eventlog, first.offset, again.eventlog, again.offset);
    answer_free(&a);
    is_int(stored_count(v, "idem"), before, "after a restart: not stored again");
}

static void test_idempotency_off(void)
{
    char *dir = vane_asprintf("%s/window0", tmpdir);
    char *config = harness_write_file(tmpdir, "window0.lua",
                                      "return { gateway = { idempotency_window = \"0s\" } }\n");
    const char *args[] = {"--config", config, NULL};
    struct position first, second;
    struct vaned v;
    struct answer a;

    if (ok(vaned_start(&v, dir, args) == 0, "vaned starts with idempotency_window 0")) {
        create_bus(&v, "w0", 1);
        a = publish_event(&v, "w0", "/a", "same", HTTP_1_1);
        first = position_at(&a, 0);
        answer_free(&a);
        a = publish_event(&v, "w0", "/a", "same", HTTP_1_1);
        second = position_at(&a, 0);
        answer_free(&a);
        is_int(second.duplicate, 0, "window 0: a repeat is not a duplicate");
        ok(!same_position(first, second), "window 0: a repeat gets a new position");
        is_int(stored_count(&v, "w0"), 2, "window 0: both are stored");
    }
    vaned_cleanup(&v);
    vane_free(config);
    vane_free(dir);
}

/* ---- partitioning ---------------------------------------------------------------------- */

static void test_partitioning(const struct vaned *v)
{
    static const char *const keys[] = {"customer-1", "customer-7", "order/42",
                                       "\xc3\xbc-key"};
    static const char *const key_headers[] = {"customer-1", "customer-7", "order/42",
                                              "%C3%BC-key"};
    long logs[8];

    create_bus(v, "part", 4);
    for (size_t k = 0; k < 4; k++) {
        long want = (long)(vane_crc32c(0, keys[k], strlen(keys[k])) % 4);
        bool all = true;

        for (int i = 0; i < 5; i++) {
            char *key = vane_asprintf("ce-partitionkey: %s", key_headers[k]);
            char *id = vane_asprintf("ce-id: p-%zu-%d", k, i);
            const char *const headers[] = {"ce-specversion: 1.0", id, "ce-source: /p",
                                           "ce-type: t", key, "Content-Type: text/plain", NULL};
            struct answer a = publish(v, "part", headers, "x", modes[i % MODE_COUNT]);

            all = all && a.status == 200 && position_at(&a, 0).eventlog == want;
            if (position_at(&a, 0).eventlog != want)
                tap_diag("key %s: event %d went to eventlog %ld", keys[k], i,
                         position_at(&a, 0).eventlog);
            answer_free(&a);
            vane_free(key);
            vane_free(id);
        }
        ok(all, "partitionkey %s: all five events in eventlog %ld = CRC-32C mod 4", keys[k], want);
    }
    {
        static const char *const headers[] = {BATCH, NULL};
        long want = (long)(vane_crc32c(0, "5", 1) % 4);
        struct answer a = publish(v, "part", headers,
                                  "[{\"specversion\":\"1.0\",\"id\":\"pi-1\",\"source\":\"/p\","
                                  "\"type\":\"t\",\"partitionkey\":\"5\"},"
                                  "{\"specversion\":\"1.0\",\"id\":\"pi-2\",\"source\":\"/p\","
                                  "\"type\":\"t\",\"partitionkey\":5}]",
                                  HTTP_1_1);

        is_int(position_at(&a, 0).eventlog, want, "partitionkey \"5\" in a batch: eventlog %ld",
               want);
        is_int(position_at(&a, 1).eventlog, want, "partitionkey 5 (an integer): the same eventlog");
        answer_free(&a);
    }
    for (int i = 0; i < 8; i++) {
        char id[32];
        struct answer a;

        snprintf(id, sizeof(id), "rr-%d", i);
        a = publish_event(v, "part", "/rr", id, HTTP_1_1);
        logs[i] = position_at(&a, 0).eventlog;
        answer_free(&a);
    }
    {
        int counts[4] = {0, 0, 0, 0};
        bool in_turn = true;

        for (int i = 0; i < 8; i++) {
            if (logs[i] >= 0 && logs[i] < 4)
                counts[logs[i]]++;
            if (i > 0 && logs[i] != (logs[i - 1] + 1) % 4)
                in_turn = false;
        }
        ok(in_turn, "without partitionkey, requests go to the eventlogs in turn "
           "(%ld %ld %ld %ld %ld %ld %ld %ld)", logs[0], logs[1], logs[2], logs[3], logs[4],
           logs[5], logs[6], logs[7]);
        ok(counts[0] == 2 && counts[1] == 2 && counts[2] == 2 && counts[3] == 2,
           "eight requests: two in each of the four eventlogs");
    }
}

/* ---- the read API ------------------------------------------------------------------------ */

static int64_t parse_ns(const char *text)
{
    const char *why;
    int64_t ns = 0;

    if (text == NULL || timestamp_parse(text, strlen(text), &ns, &why) != 0)
        return -1;
    return ns;
}

static void read_bad(const struct vaned *v, const char *query, long status, const char *field)
{
    struct answer a = get(v, "/api/v1/eventbuses/read/events?%s", query);

    is_int(a.status, status, "?%s: %ld", query, status);
    if (field != NULL)
        is_str(error_field(&a), field, "?%s: the error names %s", query, field);
    answer_free(&a);
}

static void test_read(const struct vaned *v)
{
    char stored_at[25][TIMESTAMP_MAX_LEN];
    long offset = 0, total = 0;
    struct answer a;

    create_bus(v, "read", 1);
    for (int i = 0; i < 25; i++) {
        char id[16];

        snprintf(id, sizeof(id), "r%d", i);
        a = publish_event(v, "read", "/r", id, HTTP_1_1);
        answer_free(&a);
    }
    /* Paging with next. */
    for (int page = 0; page < 5; page++) {
        json_t *events, *next;

        a = get(v, "/api/v1/eventbuses/read/events?eventlog=0&offset=%ld&limit=10", offset);
        events = json_object_get(a.json, "events");
        next = json_object_get(a.json, "next");
        is_int(a.status, 200, "page %d: 200", page);
        is_str(json_string_value(json_object_get(a.json, "eventbus")), "read",
               "page %d: names the eventbus", page);
        is_int(json_array_size(events), page < 2 ? 10 : page == 2 ? 5 : 0,
               "page %d: its events", page);
        for (size_t i = 0; i < json_array_size(events); i++) {
            json_t *item = json_array_get(events, i);
            char id[16];

            snprintf(id, sizeof(id), "r%ld", offset + (long)i);
            if (offset + (long)i < 25)
                snprintf(stored_at[offset + i], TIMESTAMP_MAX_LEN, "%s",
                         json_string_value(json_object_get(item, "stored_at")));
            if (json_integer_value(json_object_get(item, "offset")) != offset + (long)i ||
                strcmp(json_string_value(json_object_get(json_object_get(item, "event"), "id")),
                       id) != 0)
                ok(0, "page %d: event %zu is %s at offset %ld", page, i, id, offset + (long)i);
        }
        total += (long)json_array_size(events);
        is_int(json_integer_value(json_object_get(next, "eventlog")), 0, "page %d: next eventlog",
               page);
        offset = (long)json_integer_value(json_object_get(next, "offset"));
        is_int(offset, total, "page %d: next offset", page);
        answer_free(&a);
        if (page == 3)
            break;
    }
    is_int(total, 25, "paging read all 25 events");

    a = get(v, "/api/v1/eventbuses/read/events");
    is_int(json_array_size(json_object_get(a.json, "events")), 10, "the default limit is 10");
    is_int(json_integer_value(json_object_get(json_object_get(a.json, "next"), "offset")), 10,
           "the default offset is 0");
    answer_free(&a);
    a = get(v, "/api/v1/eventbuses/read/events?limit=1000");
    is_int(a.status, 200, "limit 1000 is allowed");
    is_int(json_array_size(json_object_get(a.json, "events")), 25, "limit 1000: all 25");
    answer_free(&a);

    /* ?time=: the first event stored at or after it. */
    {
        int64_t t12 = parse_ns(stored_at[12]);
        long want = 12;

        while (want > 0 && parse_ns(stored_at[want - 1]) >= t12)
            want--;
        a = get(v, "/api/v1/eventbuses/read/events?time=%s&limit=2", stored_at[12]);
        is_int(a.status, 200, "?time=%s: 200", stored_at[12]);
        is_int(json_integer_value(
                   json_object_get(json_array_get(json_object_get(a.json, "events"), 0), "offset")),
               want, "?time= of event 12: starts at offset %ld", want);
        answer_free(&a);
    }
    a = get(v, "/api/v1/eventbuses/read/events?time=2000-01-01T00:00:00Z&limit=1");
    is_int(json_integer_value(
               json_object_get(json_array_get(json_object_get(a.json, "events"), 0), "offset")),
           0, "?time= before every event: offset 0");
    answer_free(&a);
    a = get(v, "/api/v1/eventbuses/read/events?time=2200-01-01T00:00:00%%2B01:00");
    is_int(a.status, 200, "?time= with an encoded + zone: 200");
    is_int(json_array_size(json_object_get(a.json, "events")), 0, "?time= after every event: none");
    answer_free(&a);

    /* ?id= */
    a = get(v, "/api/v1/eventbuses/read/events?id=r7");
    is_int(a.status, 200, "?id=r7: 200");
    is_int(json_array_size(json_object_get(a.json, "events")), 1, "?id=r7: one event");
    is_int(json_integer_value(
               json_object_get(json_array_get(json_object_get(a.json, "events"), 0), "offset")),
           7, "?id=r7: at offset 7");
    ok(json_object_get(a.json, "next") == NULL, "?id=: no next");
    answer_free(&a);
    read_bad(v, "id=nope", 404, "id");

    read_bad(v, "limit=0", 400, "limit");
    read_bad(v, "limit=1001", 400, "limit");
    read_bad(v, "limit=-1", 400, "limit");
    read_bad(v, "eventlog=1", 400, "eventlog");
    read_bad(v, "eventlog=x", 400, "eventlog");
    read_bad(v, "offset=abc", 400, "offset");
    read_bad(v, "time=yesterday", 400, "time");
    read_bad(v, "colour=blue", 400, "colour");
    read_bad(v, "offset=1&time=2026-11-26T10:00:00Z", 400, NULL);
    read_bad(v, "id=r1&offset=1", 400, NULL);
    a = get(v, "/api/v1/eventbuses/nosuchbus/events");
    is_int(a.status, 404, "events of an unknown eventbus: 404");
    answer_free(&a);
}

int main(void)
{
    char *data_dir;
    struct vaned v;

    curl_global_init(CURL_GLOBAL_ALL);
    tmpdir = harness_tempdir();
    data_dir = vane_asprintf("%s/main", tmpdir);
    if (ok(vaned_start(&v, data_dir, NULL) == 0, "vaned starts")) {
        test_round_trips(&v);
        test_big_numbers(&v);
        test_republish(&v);
        test_refusals(&v);
        test_paths_and_methods(&v);
        test_partitioning(&v);
        test_read(&v);
        test_waiting_repeat(&v);
        test_idempotency(&v, data_dir);
    }
    vaned_cleanup(&v);
    test_max_request_size();
    test_idempotency_off();
    vane_free(data_dir);
    harness_rmtree(tmpdir);
    curl_global_cleanup();
    return tap_done();
}
