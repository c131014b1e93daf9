/*
 * test-subscriptions.c -- the subscription admin API against the real
 * vaned: a create with every default filled in and its starting offsets
 * (latest = each eventlog's next_offset after a few events, earliest = the
 * first offset, a time = the first event stored from then on); every bad
 * field refused with 400 naming it, filters and transformers as their
 * engines name the fault (a CESQL error with its position); 404 for an
 * unknown eventbus, 409 for a taken name; the list, all or of one
 * eventbus; one by id and by name; updates that keep the offsets;
 * disable and resume; reset-offset by time, earliest, latest and explicit
 * offsets; delete, also by deleting the eventbus; all of it across a
 * restart (the controller's raft group); and the admin token when
 * auth.admin = "required".
 *
 * The subscriptions whose offsets are looked at are created disabled, so
 * the trigger does not deliver (to a sink where nothing listens) and move
 * them meanwhile.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "core/alloc.h"
#include "event/timestamp.h"
#include "harness.h"
#include "tap.h"

#define SINK "http://127.0.0.1:9/hook"
#define EVENTS 8 /* published to orders, round robin over its two eventlogs */

static char *tmpdir;
static const char *authorization; /* the Authorization header to send, or NULL */

/* ---- talking to vaned ------------------------------------------------------ */

struct reply {
    long status;
    json_t *json; /* the body when it was JSON */
    char *headers;
};

/* Sends method to the path made from fmt, with body (may be NULL). */
static struct reply api(const struct vaned *v, const char *method, const char *body,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static struct reply api(const struct vaned *v, const char *method, const char *body,
                        const char *fmt, ...)
{
    struct reply r = {0, NULL, NULL};
    char path[512];
    char *url, *auth = authorization ? vane_asprintf("Authorization: %s", authorization) : NULL;
    const char *headers[] = {"Content-Type: application/json", auth, NULL};
    struct http_reply http;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    url = vane_asprintf("%s%s", v->url, path);
    http_call(&(struct http_call){method, url, headers, body, body ? strlen(body) : 0, HTTP_1_1},
              &http);
    r.status = http.status;
    r.json = http.body ? json_loads(http.body, 0, NULL) : NULL;
    r.headers = http.headers;
    http.headers = NULL;
    http_reply_free(&http);
    vane_free(url);
    vane_free(auth);
    return r;
}

static void reply_free(struct reply *r)
{
    json_decref(r->json);
    vane_free(r->headers);
}

static const json_t *error_of(const struct reply *r)
{
    return json_object_get(r->json, "error");
}

static const char *text_at(const json_t *object, const char *key)
{
    return json_string_value(json_object_get(object, key));
}

static json_int_t number_at(const json_t *object, const char *key)
{
    return json_integer_value(json_object_get(object, key));
}

/* Sends a request that must answer status, an error naming field (NULL: no field). */
static void answers(const struct vaned *v, const char *method, const char *path,
                    const char *body, long status, const char *field)
{
    struct reply r = api(v, method, body, "%s", path);

    is_int(r.status, status, "%s %s %s: %ld", method, path, body ? body : "", status);
    if (field != NULL)
        is_str(text_at(error_of(&r), "field"), field, "naming %s: %s", field,
               text_at(error_of(&r), "message"));
    else
        ok(json_object_get(error_of(&r), "field") == NULL, "naming no field");
    reply_free(&r);
}

static void publish(const struct vaned *v, const char *bus, int n)
{
    char *id = vane_asprintf("ce-id: sub-test-%d", n);
    char *url = vane_asprintf("%s/gateway/%s", v->url, bus);
    const char *headers[] = {"ce-specversion: 1.0", id, "ce-source: /test-subscriptions",
                             "ce-type: test.subscription", "Content-Type: application/json",
                             NULL};
    struct http_reply reply;

    http_call(&(struct http_call){"POST", url, headers, "{}", 2, HTTP_1_1}, &reply);
    is_int(reply.status, 200, "event %d published to %s", n, bus);
    http_reply_free(&reply);
    vane_free(url);
    vane_free(id);
}

static bool stop(struct vaned *v)
{
    int status;

    kill(v->pid, SIGTERM);
    status = vaned_wait(v, harness_ms(5000));
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- where the eventlogs are ---------------------------------------------- */

struct positions {
    size_t count;
    json_int_t first[2], next[2];
    int64_t stored[2][EVENTS]; /* each event's store time, by eventlog and offset */
};

static void read_positions(const struct vaned *v, struct positions *p)
{
    struct reply r = api(v, "GET", NULL, "/api/v1/eventbuses/orders");
    const json_t *logs = json_object_get(r.json, "eventlogs"), *log, *event;
    const char *why;
    size_t i, j;

    memset(p, 0, sizeof(*p));
    p->count = json_array_size(logs);
    json_array_foreach(logs, i, log) {
        struct reply events;

        p->first[i] = number_at(log, "first_offset");
        p->next[i] = number_at(log, "next_offset");
        events = api(v, "GET", NULL, "/api/v1/eventbuses/orders/events?eventlog=%zu&limit=100", i);
        json_array_foreach(json_object_get(events.json, "events"), j, event)
            if (j < EVENTS)
                timestamp_parse(text_at(event, "stored_at"), strlen(text_at(event, "stored_at")),
                                &p->stored[i][j], &why);
        reply_free(&events);
    }
    reply_free(&r);
}

/* The first offset of eventlog i stored at or after time, as reset-offset should find it. */
static json_int_t offset_at(const struct positions *p, size_t i, int64_t time)
{
    json_int_t offset = p->first[i];

    while (offset < p->next[i] && p->stored[i][offset] < time)
        offset++;
    return offset;
}

/* The store time of eventlog log's event at offset as RFC 3339 text, and where each eventlog
 * starts from that time on. */
static void time_of(const struct positions *p, size_t log, size_t offset,
                    char text[TIMESTAMP_MAX_LEN], json_int_t *want)
{
    timestamp_format(p->stored[log][offset], text);
    for (size_t i = 0; i < 2; i++)
        want[i] = offset_at(p, i, p->stored[log][offset]);
}

/* Checks a subscription's offsets, one per eventlog, against want. */
static void offsets_are(const json_t *sub, const json_int_t *want, const char *what)
{
    const json_t *offsets = json_object_get(sub, "offsets"), *item;
    size_t i;

    is_int(json_array_size(offsets), 2, "%s: an offset per eventlog", what);
    json_array_foreach(offsets, i, item) {
        is_int(number_at(item, "eventlog"), i, "%s: eventlog %zu", what, i);
        is_int(number_at(item, "offset"), want[i], "%s: eventlog %zu's offset", what, i);
    }
}

/* ---- create -------------------------------------------------------------- */

static void test_defaults(const struct vaned *v, const struct positions *p)
{
    struct reply r = api(v, "POST", "{\"name\":\"plain\",\"eventbus\":\"orders\",\"sink\":\"" SINK
                                    "\"}", "/api/v1/subscriptions");
    const json_t *settings = json_object_get(r.json, "protocol_settings");
    const json_t *config = json_object_get(r.json, "config");
    char *location = NULL;
    const char *header;

    is_int(r.status, 201, "a create with name, eventbus and sink: 201");
    header = r.headers ? strcasestr(r.headers, "location: ") : NULL;
    if (header != NULL)
        location = vane_strndup(header + 10, strcspn(header + 10, "\r\n"));
    ok(json_is_integer(json_object_get(r.json, "id")), "it has an id");
    if (location != NULL)
        ok(strncmp(location, "/api/v1/subscriptions/", 22) == 0 &&
               atoll(location + 22) == number_at(r.json, "id"),
           "its Location has the id: %s", location);
    else
        ok(0, "a Location header");
    is_str(text_at(r.json, "name"), "plain", "name");
    is_str(text_at(r.json, "eventbus"), "orders", "eventbus");
    is_str(text_at(r.json, "description"), "", "description defaults to \"\"");
    is_int(json_array_size(json_object_get(r.json, "filters")), 0, "filters default to []");
    ok(json_is_null(json_object_get(r.json, "transformer")), "transformer defaults to null");
    is_str(text_at(r.json, "sink"), SINK, "sink");
    is_str(text_at(r.json, "protocol"), "http", "protocol defaults to http");
    is_int(json_object_size(json_object_get(settings, "headers")), 0, "no extra headers");
    is_str(text_at(settings, "delivery_mode"), "binary", "delivery_mode defaults to binary");
    is_int(number_at(settings, "batch_size"), 100, "batch_size defaults to 100");
    is_int(number_at(config, "rate_limit"), 0, "rate_limit defaults to 0");
    is_int(number_at(config, "delivery_timeout"), 5000, "delivery_timeout defaults to 5000");
    is_int(number_at(config, "max_retry_attempts"), 32, "max_retry_attempts defaults to 32");
    ok(json_is_false(json_object_get(config, "ordered_event")), "ordered_event defaults to false");
    is_str(text_at(config, "offset_type"), "latest", "offset_type defaults to latest");
    ok(json_object_get(config, "offset_timestamp") == NULL, "no offset_timestamp then");
    is_str(text_at(config, "dead_letter_eventbus"), "__dl_orders",
           "dead_letter_eventbus defaults to __dl_<eventbus>");
    ok(json_is_false(json_object_get(config, "disable_dead_letter")),
       "disable_dead_letter defaults to false");
    ok(json_is_false(json_object_get(r.json, "disabled")), "disabled defaults to false");
    offsets_are(r.json, p->next, "latest: each eventlog's next_offset");
    contains(text_at(r.json, "created_at"), "Z", "created_at is RFC 3339 UTC");
    is_str(text_at(r.json, "updated_at"), text_at(r.json, "created_at"), "updated_at = created_at");
    vane_free(location);
    reply_free(&r);
}

static void test_every_field(const struct vaned *v, const struct positions *p)
{
    struct reply r = api(
        v, "POST",
        "{\"name\":\"full\",\"eventbus\":\"orders\",\"description\":\"all of it\","
        "\"filters\":[{\"exact\":{\"type\":\"test.subscription\"}},{\"cesql\":\"source = "
        "'/test-subscriptions'\"}],"
        "\"transformer\":{\"define\":{\"t\":\"$.type\"},\"template\":\"type <t>\"},"
        "\"sink\":\"https://example.com/hook\",\"protocol\":\"http\","
        "\"protocol_settings\":{\"headers\":{\"X-Token\":\"abc\"},\"delivery_mode\":\"batch\","
        "\"batch_size\":10},"
        "\"config\":{\"rate_limit\":50,\"delivery_timeout\":100,\"max_retry_attempts\":0,"
        "\"ordered_event\":true,\"offset_type\":\"earliest\",\"dead_letter_eventbus\":\"dl\","
        "\"disable_dead_letter\":true},\"disabled\":true}",
        "/api/v1/subscriptions");
    const json_t *config = json_object_get(r.json, "config");

    is_int(r.status, 201, "a create with every field: 201");
    is_str(text_at(r.json, "description"), "all of it", "description");
    is_int(json_array_size(json_object_get(r.json, "filters")), 2, "both filters kept");
    is_str(text_at(json_object_get(r.json, "transformer"), "template"), "type <t>",
           "the transformer kept");
    is_str(text_at(json_object_get(json_object_get(r.json, "protocol_settings"), "headers"),
                   "X-Token"),
           "abc", "the header kept");
    is_int(number_at(json_object_get(r.json, "protocol_settings"), "batch_size"), 10,
           "batch_size");
    is_int(number_at(config, "rate_limit"), 50, "rate_limit");
    is_int(number_at(config, "delivery_timeout"), 100, "delivery_timeout");
    is_int(number_at(config, "max_retry_attempts"), 0, "max_retry_attempts");
    ok(json_is_true(json_object_get(config, "ordered_event")), "ordered_event");
    is_str(text_at(config, "dead_letter_eventbus"), "dl", "dead_letter_eventbus");
    ok(json_is_true(json_object_get(config, "disable_dead_letter")), "disable_dead_letter");
    ok(json_is_true(json_object_get(r.json, "disabled")), "disabled");
    offsets_are(r.json, p->first, "earliest: each eventlog's first_offset");
    reply_free(&r);

    r = api(v, "POST",
            "{\"name\":\"scripted\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\","
            "\"transformer\":{\"lua\":\"enrich\"},\"disabled\":true}",
            "/api/v1/subscriptions");
    is_int(r.status, 400, "a Lua transformer naming no script is refused");
    is_str(text_at(json_object_get(r.json, "error"), "field"), "transformer.lua", "naming it");
    reply_free(&r);
    /* The shipped scripts are in the folder scripts_args() names. */
    r = api(v, "POST",
            "{\"name\":\"scripted\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\","
            "\"transformer\":{\"lua\":\"redact\"},\"disabled\":true}",
            "/api/v1/subscriptions");
    is_int(r.status, 201, "a Lua transformer naming a shipped script is taken");
    is_str(text_at(json_object_get(r.json, "transformer"), "lua"), "redact", "and kept");
    reply_free(&r);
}

static void test_start_at_time(const struct vaned *v, const struct positions *p)
{
    char time[TIMESTAMP_MAX_LEN];
    json_int_t want[2];
    struct reply r;
    char *body;

    time_of(p, 0, 2, time, want);
    body = vane_asprintf("{\"name\":\"from-time\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\","
                         "\"config\":{\"offset_type\":\"timestamp\",\"offset_timestamp\":\"%s\"},"
                         "\"disabled\":true}", time);
    r = api(v, "POST", body, "/api/v1/subscriptions");
    is_int(r.status, 201, "a create from a time: 201");
    is_str(text_at(json_object_get(r.json, "config"), "offset_timestamp"), time,
           "offset_timestamp kept");
    is_int(want[0], 2, "the time is eventlog 0's third event");
    offsets_are(r.json, want, "timestamp: the first event stored from then on");
    reply_free(&r);
    vane_free(body);

    r = api(v, "POST", "{\"name\":\"from-1970\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\","
                       "\"config\":{\"offset_type\":\"timestamp\",\"offset_timestamp\":0},"
                       "\"disabled\":true}", "/api/v1/subscriptions");
    is_int(r.status, 201, "offset_timestamp in unix seconds: 201");
    is_str(text_at(json_object_get(r.json, "config"), "offset_timestamp"), "1970-01-01T00:00:00Z",
           "written back as RFC 3339");
    offsets_are(r.json, p->first, "a time before every event: the first offsets");
    reply_free(&r);
}

static void test_refusals(const struct vaned *v)
{
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{\"eventbus\":\"orders\",\"sink\":\"" SINK "\"}", "name"},
        {"{\"name\":\"bad name\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\"}", "name"},
        {"{\"name\":\"123\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\"}", "name"},
        {"{\"name\":7,\"eventbus\":\"orders\",\"sink\":\"" SINK "\"}", "name"},
        {"{\"name\":\"__mine\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\"}", "name"},
        {"{\"name\":\"x\",\"sink\":\"" SINK "\"}", "eventbus"},
        {"{\"name\":\"x\",\"eventbus\":[],\"sink\":\"" SINK "\"}", "eventbus"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"ftp://host/x\"}", "sink"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"not a url\"}", "sink"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"http://\"}", "sink"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":5}", "sink"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"description\":5}",
         "description"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"protocol\":\"grpc\"}",
         "protocol"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"protocol_settings\":5}",
         "protocol_settings"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"protocol_settings\":"
         "{\"delivery_mode\":\"smoke\"}}", "protocol_settings.delivery_mode"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"protocol_settings\":"
         "{\"batch_size\":0}}", "protocol_settings.batch_size"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"protocol_settings\":"
         "{\"batch_size\":1001}}", "protocol_settings.batch_size"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"protocol_settings\":"
         "{\"headers\":{\"Bad Name\":\"v\"}}}", "protocol_settings.headers.Bad Name"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"protocol_settings\":"
         "{\"headers\":{\"X-A\":5}}}", "protocol_settings.headers.X-A"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"protocol_settings\":"
         "{\"headers\":{\"X-A\":\"a\\r\\nb\"}}}", "protocol_settings.headers.X-A"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"protocol_settings\":"
         "{\"headers\":{\"content-type\":\"text/plain\"}}}",
         "protocol_settings.headers.content-type"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"protocol_settings\":"
         "{\"retries\":1}}", "protocol_settings.retries"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":[]}", "config"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"rate_limit\":-1}}", "config.rate_limit"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"delivery_timeout\":99}}", "config.delivery_timeout"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"delivery_timeout\":600001}}", "config.delivery_timeout"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"max_retry_attempts\":1001}}", "config.max_retry_attempts"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"ordered_event\":\"yes\"}}", "config.ordered_event"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"offset_type\":\"middle\"}}", "config.offset_type"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"offset_type\":\"timestamp\"}}", "config.offset_timestamp"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"offset_timestamp\":\"2026-11-26T10:00:00Z\"}}", "config.offset_timestamp"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"offset_type\":\"timestamp\",\"offset_timestamp\":\"yesterday\"}}",
         "config.offset_timestamp"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"dead_letter_eventbus\":\"no way\"}}", "config.dead_letter_eventbus"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"disable_dead_letter\":1}}", "config.disable_dead_letter"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"config\":"
         "{\"retry\":1}}", "config.retry"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"disabled\":\"no\"}",
         "disabled"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"dead_letter\":\"d\"}",
         "dead_letter"},
        {"{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"filters\":\"all\"}",
         "filters"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        answers(v, "POST", "/api/v1/subscriptions", cases[i].body, 400, cases[i].field);
    answers(v, "POST", "/api/v1/subscriptions", "{\"name\":", 400, NULL);
    answers(v, "POST", "/api/v1/subscriptions", "[]", 400, NULL);
    answers(v, "POST", "/api/v1/subscriptions",
            "{\"name\":\"x\",\"eventbus\":\"nowhere\",\"sink\":\"" SINK "\"}", 404, "eventbus");
    answers(v, "POST", "/api/v1/subscriptions",
            "{\"name\":\"plain\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\"}", 409, "name");
}

/* A filter or transformer its engine refuses: the field is where, as the engine says. */
static void test_compiler_refusals(const struct vaned *v)
{
    struct reply r = api(v, "POST",
                         "{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\","
                         "\"filters\":[{\"exact\":{\"type\":\"a\"}},{\"any\":[{\"prefix\":"
                         "{\"source\":\"/\"}},{\"exact\":7}]}]}",
                         "/api/v1/subscriptions");
    const char *field = text_at(error_of(&r), "field");

    is_int(r.status, 400, "a bad filter deep inside: 400");
    ok(field != NULL && strncmp(field, "filters[1].any[1]", 17) == 0,
       "the field is its path: %s", field ? field : "(none)");
    reply_free(&r);

    r = api(v, "POST",
            "{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\","
            "\"filters\":[{\"cesql\":\"subject = 'main' AND\"}]}",
            "/api/v1/subscriptions");
    is_int(r.status, 400, "a CESQL parse error: 400");
    is_str(text_at(error_of(&r), "field"), "filters[0].cesql", "naming the expression");
    ok(json_is_integer(json_object_get(error_of(&r), "position")),
       "with the position of the error: %" JSON_INTEGER_FORMAT,
       number_at(error_of(&r), "position"));
    ok(number_at(error_of(&r), "position") > 0, "past the start");
    contains(text_at(error_of(&r), "message"), "filters[0].cesql: ", "the message says where");
    reply_free(&r);

    r = api(v, "POST",
            "{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\","
            "\"transformer\":{\"pipeline\":[{\"command\":[\"upper_case\",\"$.data.a\"]},"
            "{\"command\":[\"no_such_action\"]}]}}",
            "/api/v1/subscriptions");
    field = text_at(error_of(&r), "field");
    is_int(r.status, 400, "a bad transformer: 400");
    ok(field != NULL && strncmp(field, "transformer.pipeline[1]", 23) == 0,
       "the field is its path: %s", field ? field : "(none)");
    reply_free(&r);
    r = api(v, "POST",
            "{\"name\":\"x\",\"eventbus\":\"orders\",\"sink\":\"" SINK "\",\"transformer\":\"up\"}",
            "/api/v1/subscriptions");
    field = text_at(error_of(&r), "field");
    is_int(r.status, 400, "a transformer that is not an object: 400");
    ok(field != NULL && strncmp(field, "transformer", 11) == 0, "naming it: %s",
       field ? field : "(none)");
    reply_free(&r);
}

/* ---- reading ------------------------------------------------------------- */

/* The subscriptions of a list answer that are not the broker's own ("__timer"); decref it. */
static json_t *listed(const struct reply *r)
{
    json_t *subs = json_array();
    const json_t *sub;
    size_t i;

    json_array_foreach(json_object_get(r->json, "subscriptions"), i, sub)
        if (strncmp(text_at(sub, "name"), "__", 2) != 0)
            json_array_append(subs, (json_t *)sub);
    return subs;
}

static size_t listed_count(const struct reply *r)
{
    json_t *subs = listed(r);
    size_t n = json_array_size(subs);

    json_decref(subs);
    return n;
}

static size_t count_named(const struct reply *r, const char *name)
{
    const json_t *sub;
    size_t i, n = 0;

    json_array_foreach(json_object_get(r->json, "subscriptions"), i, sub)
        n += strcmp(text_at(sub, "name"), name) == 0;
    return n;
}

static void test_list_and_show(const struct vaned *v)
{
    struct reply r = api(v, "POST", "{\"name\":\"elsewhere\",\"eventbus\":\"audit\",\"sink\":\""
                                    SINK "\",\"disabled\":true}", "/api/v1/subscriptions");
    json_int_t id;

    is_int(r.status, 201, "a subscription of another eventbus");
    reply_free(&r);
    r = api(v, "GET", NULL, "/api/v1/subscriptions");
    is_int(r.status, 200, "the list: 200");
    is_int(listed_count(&r), 6, "has all six");
    is_int(count_named(&r, "elsewhere") + count_named(&r, "plain"), 2, "of both eventbuses");
    reply_free(&r);
    r = api(v, "GET", NULL, "/api/v1/subscriptions?eventbus=orders");
    is_int(listed_count(&r), 5, "?eventbus=orders lists orders' five");
    is_int(count_named(&r, "elsewhere"), 0, "and not the other");
    reply_free(&r);
    r = api(v, "GET", NULL, "/api/v1/subscriptions?eventbus=audit");
    is_int(listed_count(&r), 1, "?eventbus=audit: one");
    reply_free(&r);
    answers(v, "GET", "/api/v1/subscriptions?eventbus=nowhere", NULL, 404, "eventbus");
    answers(v, "GET", "/api/v1/subscriptions?color=red", NULL, 400, "color");

    r = api(v, "GET", NULL, "/api/v1/subscriptions/plain");
    is_int(r.status, 200, "one by name: 200");
    id = number_at(r.json, "id");
    reply_free(&r);
    r = api(v, "GET", NULL, "/api/v1/subscriptions/%lld", (long long)id);
    is_int(r.status, 200, "one by id: 200");
    is_str(text_at(r.json, "name"), "plain", "the same one");
    reply_free(&r);
    answers(v, "GET", "/api/v1/subscriptions/nothing", NULL, 404, NULL);
    answers(v, "GET", "/api/v1/subscriptions/999999", NULL, 404, NULL);
    answers(v, "GET", "/api/v1/subscriptions/bad$name", NULL, 400, "name");
    answers(v, "GET", "/api/v1/subscriptions/plain/pause", NULL, 404, NULL);
    answers(v, "PATCH", "/api/v1/subscriptions/plain", "{}", 405, NULL);
    answers(v, "GET", "/api/v1/subscriptions/plain/disable", NULL, 405, NULL);
}

/* The broker's own subscriptions (the timer's, when it has one) are shown, never changed. */
static void test_system_subscriptions(const struct vaned *v)
{
    struct reply r = api(v, "GET", NULL, "/api/v1/subscriptions?system=true");
    struct reply plain = api(v, "GET", NULL, "/api/v1/subscriptions");
    const char *system = NULL;
    const json_t *sub;
    char *path;
    size_t i;

    json_array_foreach(json_object_get(plain.json, "subscriptions"), i, sub)
        ok(strncmp(text_at(sub, "name"), "__", 2) != 0, "the plain list leaves out %s",
           text_at(sub, "name"));
    reply_free(&plain);

    answers(v, "PUT", "/api/v1/subscriptions/plain", "{\"name\":\"__plain\"}", 400, "name");
    json_array_foreach(json_object_get(r.json, "subscriptions"), i, sub)
        if (strncmp(text_at(sub, "name"), "__", 2) == 0)
            system = text_at(sub, "name");
    if (system == NULL) {
        tap_diag("no system subscription in this broker to try");
        reply_free(&r);
        return;
    }
    path = vane_asprintf("/api/v1/subscriptions/%s", system);
    answers(v, "GET", path, NULL, 200, NULL);
    answers(v, "PUT", path, "{\"description\":\"mine\"}", 400, "name");
    answers(v, "DELETE", path, NULL, 400, "name");
    vane_free(path);
    path = vane_asprintf("/api/v1/subscriptions/%s/disable", system);
    answers(v, "POST", path, NULL, 400, "name");
    vane_free(path);
    reply_free(&r);
}

/* ---- changing ------------------------------------------------------------ */

static void test_update(const struct vaned *v)
{
    struct reply before = api(v, "GET", NULL, "/api/v1/subscriptions/full");
    struct reply r = api(v, "PUT",
                         "{\"description\":\"changed\",\"sink\":\"http://127.0.0.1:9/other\","
                         "\"config\":{\"rate_limit\":7,\"offset_type\":\"latest\"},"
                         "\"protocol_settings\":{\"delivery_mode\":\"structured\"}}",
                         "/api/v1/subscriptions/full");
    const json_t *config = json_object_get(r.json, "config");

    is_int(r.status, 200, "an update: 200");
    is_str(text_at(r.json, "description"), "changed", "the new description");
    is_str(text_at(r.json, "sink"), "http://127.0.0.1:9/other", "the new sink");
    is_int(number_at(config, "rate_limit"), 7, "the new rate_limit");
    is_int(number_at(config, "delivery_timeout"), 100, "delivery_timeout, left out, stays");
    is_str(text_at(config, "offset_type"), "earliest", "config.offset_type is not changed");
    is_str(text_at(json_object_get(r.json, "protocol_settings"), "delivery_mode"), "structured",
           "the new delivery_mode");
    is_int(number_at(json_object_get(r.json, "protocol_settings"), "batch_size"), 10,
           "batch_size stays");
    ok(json_equal(json_object_get(r.json, "offsets"), json_object_get(before.json, "offsets")),
       "the offsets stay");
    ok(json_equal(json_object_get(r.json, "filters"), json_object_get(before.json, "filters")),
       "the filters stay");
    ok(json_is_true(json_object_get(r.json, "disabled")), "disabled stays");
    reply_free(&r);

    r = api(v, "PUT", "{\"name\":\"renamed\",\"transformer\":null,\"filters\":[]}",
            "/api/v1/subscriptions/%lld", (long long)number_at(before.json, "id"));
    is_int(r.status, 200, "a rename by id: 200");
    is_str(text_at(r.json, "name"), "renamed", "the new name");
    ok(json_is_null(json_object_get(r.json, "transformer")), "transformer null removes it");
    is_int(json_array_size(json_object_get(r.json, "filters")), 0, "the filters replaced");
    reply_free(&r);
    answers(v, "GET", "/api/v1/subscriptions/full", NULL, 404, NULL);
    answers(v, "PUT", "/api/v1/subscriptions/renamed", "{\"name\":\"plain\"}", 409, "name");
    answers(v, "PUT", "/api/v1/subscriptions/renamed", "{\"eventbus\":\"audit\"}", 400,
            "eventbus");
    answers(v, "PUT", "/api/v1/subscriptions/renamed", "{\"eventbus\":\"orders\"}", 200, NULL);
    answers(v, "PUT", "/api/v1/subscriptions/renamed", "{\"disabled\":false}", 400, "disabled");
    answers(v, "PUT", "/api/v1/subscriptions/renamed", "{\"config\":{\"max_retry_attempts\":-1}}",
            400, "config.max_retry_attempts");
    answers(v, "PUT", "/api/v1/subscriptions/renamed", "{\"filters\":[{\"nope\":{}}]}", 400,
            "filters[0].nope");
    answers(v, "PUT", "/api/v1/subscriptions/nothing", "{\"description\":\"x\"}", 404, NULL);
    reply_free(&before);
}

static void test_disable_resume(const struct vaned *v)
{
    struct reply r = api(v, "POST", NULL, "/api/v1/subscriptions/plain/disable");

    is_int(r.status, 200, "disable: 200");
    ok(json_is_true(json_object_get(r.json, "disabled")), "disabled: true");
    reply_free(&r);
    r = api(v, "GET", NULL, "/api/v1/subscriptions/plain");
    ok(json_is_true(json_object_get(r.json, "disabled")), "and so it stays");
    reply_free(&r);
    r = api(v, "POST", "", "/api/v1/subscriptions/plain/resume");
    is_int(r.status, 200, "resume: 200");
    ok(json_is_false(json_object_get(r.json, "disabled")), "disabled: false");
    reply_free(&r);
    answers(v, "POST", "/api/v1/subscriptions/nothing/resume", NULL, 404, NULL);
}

static void test_reset(const struct vaned *v, const struct positions *p)
{
    char time[TIMESTAMP_MAX_LEN];
    json_int_t want[2];
    struct reply r;
    char *body;

    time_of(p, 1, 1, time, want);
    body = vane_asprintf("{\"time\":\"%s\"}", time);
    r = api(v, "POST", body, "/api/v1/subscriptions/from-time/reset-offset");
    is_int(r.status, 200, "reset-offset to a time: 200");
    offsets_are(r.json, want, "the first events stored from then on");
    reply_free(&r);
    vane_free(body);
    r = api(v, "POST", "{\"position\":\"latest\"}", "/api/v1/subscriptions/from-time/reset-offset");
    is_int(r.status, 200, "reset-offset to the latest: 200");
    offsets_are(r.json, p->next, "each next_offset");
    reply_free(&r);
    r = api(v, "POST", "{\"position\":\"earliest\"}",
            "/api/v1/subscriptions/from-time/reset-offset");
    is_int(r.status, 200, "reset-offset to the earliest: 200");
    offsets_are(r.json, p->first, "each first_offset");
    reply_free(&r);
    r = api(v, "POST", "{\"offsets\":[{\"eventlog\":1,\"offset\":3}]}",
            "/api/v1/subscriptions/from-time/reset-offset");
    is_int(r.status, 200, "reset-offset to explicit offsets: 200");
    want[0] = p->first[0];
    want[1] = 3;
    offsets_are(r.json, want, "eventlog 1 moved, eventlog 0 kept");
    reply_free(&r);
    r = api(v, "GET", NULL, "/api/v1/subscriptions/from-time");
    offsets_are(r.json, want, "GET shows them");
    reply_free(&r);

    answers(v, "POST", "/api/v1/subscriptions/from-time/reset-offset", "{}", 400, NULL);
    answers(v, "POST", "/api/v1/subscriptions/from-time/reset-offset",
            "{\"position\":\"latest\",\"time\":\"2026-11-26T10:00:00Z\"}", 400, NULL);
    answers(v, "POST", "/api/v1/subscriptions/from-time/reset-offset",
            "{\"position\":\"middle\"}", 400, "position");
    answers(v, "POST", "/api/v1/subscriptions/from-time/reset-offset", "{\"time\":\"noon\"}",
            400, "time");
    answers(v, "POST", "/api/v1/subscriptions/from-time/reset-offset",
            "{\"offsets\":[{\"eventlog\":2,\"offset\":0}]}", 400, "offsets[0].eventlog");
    answers(v, "POST", "/api/v1/subscriptions/from-time/reset-offset",
            "{\"offsets\":[{\"eventlog\":0,\"offset\":1},{\"eventlog\":0,\"offset\":2}]}", 400,
            "offsets[1].eventlog");
    answers(v, "POST", "/api/v1/subscriptions/from-time/reset-offset",
            "{\"offsets\":[{\"eventlog\":0,\"offset\":99}]}", 400, "offsets[0].offset");
    answers(v, "POST", "/api/v1/subscriptions/from-time/reset-offset",
            "{\"offsets\":[{\"eventlog\":0,\"offset\":1,\"at\":2}]}", 400, "offsets[0].at");
    answers(v, "POST", "/api/v1/subscriptions/from-time/reset-offset", "{\"offset\":1}", 400,
            "offset");
}

static void test_delete(const struct vaned *v)
{
    struct reply r = api(v, "GET", NULL, "/api/v1/subscriptions/scripted");
    json_int_t id = number_at(r.json, "id");

    reply_free(&r);
    r = api(v, "DELETE", NULL, "/api/v1/subscriptions/scripted");
    is_int(r.status, 200, "delete: 200");
    is_int(number_at(r.json, "id"), id, "answering its id");
    is_str(text_at(r.json, "name"), "scripted", "its name");
    ok(json_is_true(json_object_get(r.json, "deleted")), "and deleted: true");
    reply_free(&r);
    answers(v, "GET", "/api/v1/subscriptions/scripted", NULL, 404, NULL);
    answers(v, "DELETE", "/api/v1/subscriptions/scripted", NULL, 404, NULL);

    r = api(v, "DELETE", NULL, "/api/v1/eventbuses/audit");
    is_int(r.status, 200, "the eventbus audit deleted");
    reply_free(&r);
    answers(v, "GET", "/api/v1/subscriptions/elsewhere", NULL, 404, NULL);
}

/* vaned's arguments: a config whose scripts are the shipped ones (filters-lua/). */
static const char *const *scripts_args(void)
{
    static char *config;
    static const char *args[] = {"--config", NULL, NULL};

    if (config == NULL) {
        char *text = vane_asprintf("return { scripts = { dirs = \"%s/filters-lua\" } }\n",
                                   getenv("VANE_SRCDIR"));

        config = harness_write_file(tmpdir, "scripts.lua", text);
        vane_free(text);
    }
    args[1] = config;
    return args;
}

/* After a restart, everything is as it was before. */
static void test_restart(struct vaned *v, const char *data_dir)
{
    struct reply before = api(v, "GET", NULL, "/api/v1/subscriptions"), after;
    json_t *was = listed(&before), *is;

    ok(stop(v), "vaned stops cleanly");
    vaned_cleanup(v);
    if (!ok(vaned_start(v, data_dir, scripts_args()) == 0, "vaned starts again on the same data"))
        goto done;
    after = api(v, "GET", NULL, "/api/v1/subscriptions");
    is = listed(&after);
    is_int(after.status, 200, "the list after the restart");
    is_int(json_array_size(is), 4, "has the four left");
    ok(json_equal(was, is), "every subscription as it was, offsets included");
    if (!json_equal(was, is)) {
        char *a = json_dumps(was, JSON_COMPACT), *b = json_dumps(is, JSON_COMPACT);

        tap_diag("before: %s", a);
        tap_diag("after:  %s", b);
        free(a);
        free(b);
    }
    json_decref(is);
    reply_free(&after);
done:
    json_decref(was);
    reply_free(&before);
}

static void test_api(void)
{
    char *data_dir = vane_asprintf("%s/subs", tmpdir);
    struct positions p;
    struct reply r;
    struct vaned v;

    if (!ok(vaned_start(&v, data_dir, scripts_args()) == 0, "vaned starts"))
        goto done;
    r = api(&v, "POST", "{\"name\":\"orders\",\"eventlog_count\":2}", "/api/v1/eventbuses");
    is_int(r.status, 201, "the eventbus orders, two eventlogs");
    reply_free(&r);
    r = api(&v, "POST", "{\"name\":\"audit\"}", "/api/v1/eventbuses");
    is_int(r.status, 201, "the eventbus audit");
    reply_free(&r);
    for (int i = 0; i < EVENTS; i++)
        publish(&v, "orders", i);
    read_positions(&v, &p);
    is_int(p.next[0] + p.next[1], EVENTS, "the events are in the two eventlogs");
    ok(p.next[0] >= 3 && p.next[1] >= 3, "at least three in each: %lld and %lld",
       (long long)p.next[0], (long long)p.next[1]);
    test_defaults(&v, &p);
    test_every_field(&v, &p);
    test_start_at_time(&v, &p);
    test_refusals(&v);
    test_compiler_refusals(&v);
    test_list_and_show(&v);
    test_system_subscriptions(&v);
    test_update(&v);
    test_disable_resume(&v);
    test_reset(&v, &p);
    test_delete(&v);
    test_restart(&v, data_dir);
    if (v.pid > 0)
        ok(stop(&v), "vaned stops cleanly at the end");
done:
    vaned_cleanup(&v);
    vane_free(data_dir);
}

/* ---- the admin token -------------------------------------------------------- */

static void test_auth(void)
{
    char *data_dir = vane_asprintf("%s/auth", tmpdir);
    char *config = harness_write_file(tmpdir, "auth.lua",
                                      "return { auth = { admin = \"required\" } }\n");
    char *token_path = vane_asprintf("%s/token", data_dir), *token = NULL, *bearer = NULL;
    const char *args[] = {"--config", config, NULL};
    struct vaned v;

    if (!ok(vaned_start(&v, data_dir, args) == 0, "vaned starts with auth.admin = required"))
        goto done;
    token = harness_read_file(token_path);
    if (token != NULL)
        token[strcspn(token, "\r\n")] = '\0';
    answers(&v, "GET", "/api/v1/subscriptions", NULL, 401, "Authorization");
    answers(&v, "POST", "/api/v1/subscriptions", "{\"name\":\"x\"}", 401, "Authorization");
    answers(&v, "GET", "/api/v1/subscriptions/x", NULL, 401, "Authorization");
    answers(&v, "POST", "/api/v1/subscriptions/x/disable", NULL, 401, "Authorization");
    bearer = vane_asprintf("Bearer %s", token ? token : "");
    authorization = bearer;
    answers(&v, "GET", "/api/v1/subscriptions", NULL, 200, NULL);
    answers(&v, "GET", "/api/v1/subscriptions/x", NULL, 404, NULL);
    authorization = NULL;
    ok(stop(&v), "vaned stops cleanly");
done:
    vaned_cleanup(&v);
    vane_free(bearer);
    vane_free(token);
    vane_free(token_path);
    vane_free(config);
    vane_free(data_dir);
}

int main(void)
{
    tmpdir = harness_tempdir();
    test_api();
    test_auth();
    harness_rmtree(tmpdir);
    return tap_done();
}
