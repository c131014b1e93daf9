/*
 * test-trigger.c -- subscriptions delivering through the real vaned to a
 * real HTTP sink (tests/sink-server.c): binary, structured and batch mode;
 * filters; retries on 5xx and 429 with Retry-After; dead letters for a 4xx
 * and for retries run out, with the reason on each; ordered delivery;
 * disable and resume; offsets committed; and every event delivered at
 * least once across a kill -9 of vaned in the middle of delivery.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "event/timestamp.h"
#include "harness.h"
#include "tap.h"

static const char *base; /* vaned's URL: main's v.url, which follows it across restarts */

static bool create_bus(const char *name, int eventlogs)
{
    char *body = vane_asprintf("{\"name\":\"%s\",\"eventlog_count\":%d}", name, eventlogs);
    long status;

    json_decref(api_call(base, "POST", "/api/v1/eventbuses", body, &status));
    vane_free(body);
    return status == 201;
}

/* Creates a subscription from its JSON; returns its id, or 0. */
static json_int_t create_sub(const char *json)
{
    long status;
    json_t *sub = api_call(base, "POST", "/api/v1/subscriptions", json, &status);
    json_int_t id = status == 201 ? json_integer_value(json_object_get(sub, "id")) : 0;

    json_decref(sub);
    return id;
}

static bool publish(const char *bus, const char *id, const char *type, const char *data)
{
    return api_publish(base, bus, &(struct test_event){.id = id, .type = type, .data = data});
}

/* How many requests with ce-id id the sink answered, and how many of them 2xx. */
static size_t answered(const struct sink *s, const char *id, size_t *accepted)
{
    json_t **lines = NULL;
    size_t n = sink_received(s, &lines), count = 0;

    *accepted = 0;
    for (size_t i = 0; i < n; i++) {
        const char *got = sink_line_header(lines[i], "ce-id");
        json_int_t status =
            json_integer_value(json_object_get(json_object_get(lines[i], "answer"), "status"));

        if (got == NULL || strcmp(got, id) != 0)
            continue;
        count++;
        *accepted += status >= 200 && status < 300;
    }
    sink_lines_free(lines, n);
    return count;
}

/* Waits until the sink accepted the event with ce-id id; returns the requests it took. */
static size_t wait_accepted(const struct sink *s, const char *id, int timeout_ms)
{
    size_t accepted = 0, count = 0;

    for (int waited = 0; waited < harness_ms(timeout_ms) && accepted == 0; waited += 50) {
        count = answered(s, id, &accepted);
        if (accepted == 0)
            usleep(50000);
    }
    return accepted > 0 ? count : 0;
}

/* A subscription from the earliest offset; top and config are more members, or "". */
static char *sub_json(const char *name, const char *bus, const struct sink *s, const char *top,
                      const char *config)
{
    char *url = sink_url(s, "/hook");
    char *json = vane_asprintf("{\"name\":\"%s\",\"eventbus\":\"%s\",\"sink\":\"%s\"%s,"
                               "\"config\":{\"offset_type\":\"earliest\"%s}}",
                               name, bus, url, top, config);

    vane_free(url);
    return json;
}

static void test_binary(const struct sink *s)
{
    char *json = sub_json("bin", "b1", s, "", "");
    json_t **lines = NULL;
    size_t n, total;

    ok(create_bus("b1", 2), "eventbus b1");
    ok(api_publish_many(base, "b1", "bin", 20), "20 events published");
    ok(create_sub(json) > 0, "a subscription from the earliest offset");
    is_int((long)sink_wait_distinct_ids(s, "bin-", 20, 10000), 20, "the sink receives all 20");
    sink_distinct_ids(s, "bin-", &total);
    n = sink_received(s, &lines);
    for (size_t i = 0; i < n; i++) {
        const char *id = sink_line_header(lines[i], "ce-id");
        size_t len;
        char *body;

        if (id == NULL || strcmp(id, "bin-7") != 0)
            continue;
        body = sink_line_body(lines[i], &len);
        is_str(body, "bin-7", "binary mode: the data is the body");
        is_str(sink_line_header(lines[i], "content-type"), "text/plain",
               "binary mode: Content-Type is the datacontenttype");
        is_str(sink_line_header(lines[i], "ce-source"), "/test", "binary mode: ce-source");
        vane_free(body);
        break;
    }
    sink_lines_free(lines, n);
    vane_free(json);
}

/* The bodies of structured-mode POSTs holding "id":"<id>". */
static size_t structured_with(const struct sink *s, const char *id)
{
    char *needle = vane_asprintf("\"id\":\"%s\"", id);
    json_t **lines = NULL;
    size_t n = sink_received(s, &lines), seen = 0;

    for (size_t i = 0; i < n; i++) {
        const char *ct = sink_line_header(lines[i], "content-type");
        size_t len;
        char *body = sink_line_body(lines[i], &len);

        if (ct && strcmp(ct, "application/cloudevents+json") == 0 && body &&
            strstr(body, needle) != NULL)
            seen++;
        vane_free(body);
    }
    sink_lines_free(lines, n);
    vane_free(needle);
    return seen;
}

static void test_filters_and_modes(const struct sink *s)
{
    char *structured = sub_json("str", "b2", s,
                                ",\"protocol_settings\":{\"delivery_mode\":\"structured\"},"
                                "\"filters\":[{\"exact\":{\"type\":\"com.example.keep\"}}]",
                                "");

    ok(create_bus("b2", 1), "eventbus b2");
    ok(create_sub(structured) > 0, "a structured-mode subscription with an exact filter");
    ok(publish("b2", "str-1", "com.example.drop", "dropped"), "an event the filter drops");
    ok(publish("b2", "str-2", "com.example.keep", "kept"), "an event the filter keeps");
    for (int waited = 0; waited < harness_ms(5000) && structured_with(s, "str-2") == 0;
         waited += 50)
        usleep(50000);
    is_int((long)structured_with(s, "str-2"), 1,
           "structured mode: the kept event comes as application/cloudevents+json");
    is_int((long)structured_with(s, "str-1"), 0, "the filtered-out event never comes");
    vane_free(structured);
}

/* The subscription's dead letters read and sent again. */
static void test_resend(const struct sink *s)
{
    long status;
    json_t *dead = api_call(base, "GET", "/api/v1/subscriptions/dl/dead-letters", NULL, &status);
    json_t *first = json_object_get(json_array_get(json_object_get(dead, "events"), 0), "event");
    json_t *answer;
    json_t **lines = NULL;
    size_t n, clean = 0, accepted;

    is_int(status, 200, "GET .../dead-letters answers");
    is_int((long)json_array_size(json_object_get(dead, "events")), 1, "one dead letter");
    is_str(json_string_value(json_object_get(first, "id")), "dl-1", "the rejected event");
    json_decref(dead);
    answer = api_call(base, "POST", "/api/v1/subscriptions/dl/dead-letters/resend", "{}", &status);
    is_int(status, 202, "resend: 202");
    is_int((long)json_integer_value(json_object_get(answer, "resent")), 1, "resend: one sent");
    json_decref(answer);
    ok(wait_accepted(s, "dl-1", 5000) >= 2, "the sink now takes it");
    n = sink_received(s, &lines);
    for (size_t i = 0; i < n; i++) {
        const char *id = sink_line_header(lines[i], "ce-id");

        if (id != NULL && strcmp(id, "dl-1") == 0 &&
            sink_line_header(lines[i], "ce-xvanusdlreason") == NULL &&
            json_integer_value(json_object_get(json_object_get(lines[i], "answer"), "status")) ==
                200)
            clean++;
    }
    sink_lines_free(lines, n);
    is_int((long)clean, 1, "as it was first sent, without the dead-letter extensions");
    answered(s, "dl-1", &accepted);
    is_int((long)accepted, 1, "once");
}

static void test_retries_and_dead_letters(const struct sink *s)
{
    char *json = sub_json("dl", "b3", s, "", ", \"max_retry_attempts\": 2");
    long status;
    json_t *read;
    const char *reason;

    ok(create_bus("b3", 1), "eventbus b3");
    sink_set_mode(s, "{\"status\": 400}");
    ok(create_sub(json) > 0, "a subscription with 2 retries");
    ok(publish("b3", "dl-1", "t", "rejected"), "an event the sink rejects");
    read = NULL;
    for (int waited = 0; waited < harness_ms(10000); waited += 100) {
        json_decref(read);
        read = api_call(base, "GET", "/api/v1/eventbuses/__dl_b3/events", NULL, &status);
        if (status == 200 && json_array_size(json_object_get(read, "events")) > 0)
            break;
        usleep(100000);
    }
    reason = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(read, "events"), 0), "event"),
        "xvanusdlreason"));
    is_str(reason, "sink_rejected", "a 400 goes to __dl_b3 at once, with its reason");
    json_decref(read);
    sink_set_mode(s, "{\"status\": 200}");
    test_resend(s);
    vane_free(json);
}

/* The first dead letter of bus, or NULL after timeout; json_decref() it. */
static json_t *first_dead_letter(const char *bus)
{
    char *path = vane_asprintf("/api/v1/eventbuses/__dl_%s/events", bus);
    json_t *read = NULL, *event = NULL;
    long status;

    for (int waited = 0; waited < harness_ms(10000); waited += 100) {
        json_decref(read);
        read = api_call(base, "GET", path, NULL, &status);
        if (status == 200 && json_array_size(json_object_get(read, "events")) > 0)
            break;
        usleep(100000);
    }
    event = json_object_get(json_array_get(json_object_get(read, "events"), 0), "event");
    json_incref(event);
    json_decref(read);
    vane_free(path);
    return event;
}

static void test_retries(const struct sink *s)
{
    char *json = sub_json("retry", "b5", s, "", ", \"max_retry_attempts\": 5");
    char *once = sub_json("once", "b6", s, "", ", \"max_retry_attempts\": 1");
    json_t *dead;
    uint64_t start;

    ok(create_bus("b5", 1) && create_bus("b6", 1), "eventbuses b5 and b6");
    sink_set_mode(s, "{\"status\": 200, \"fail_first\": 2}");
    ok(create_sub(json) > 0, "a subscription with 5 retries");
    ok(publish("b5", "retry-1", "t", "x"), "an event the sink fails twice");
    is_int((long)wait_accepted(s, "retry-1", 10000), 3, "it is accepted at the third attempt");

    sink_set_mode(s, "{\"status\": 429, \"retry_after\": 1, \"fail_first\": 0}");
    start = uv_hrtime();
    ok(publish("b5", "retry-2", "t", "x"), "an event the sink answers 429, Retry-After: 1");
    usleep(300000);
    sink_set_mode(s, "{\"status\": 200}");
    is_int((long)wait_accepted(s, "retry-2", 10000), 2, "it is accepted at the second attempt");
    ok(uv_hrtime() - start >= 1000000000ull, "not before Retry-After passed (%llu ms)",
       (unsigned long long)((uv_hrtime() - start) / 1000000));

    sink_set_mode(s, "{\"status\": 503}");
    ok(create_sub(once) > 0, "a subscription with 1 retry");
    ok(publish("b6", "once-1", "t", "x"), "an event the sink keeps failing");
    dead = first_dead_letter("b6");
    is_str(json_string_value(json_object_get(dead, "xvanusdlreason")), "max_retries",
           "retries run out: dead-lettered with reason max_retries");
    ok(json_integer_value(json_object_get(dead, "xvanusdlattempts")) == 2,
       "... after 2 attempts");
    contains(json_string_value(json_object_get(dead, "xvanusdlerror")), "503",
             "... the last error named");
    is_str(json_string_value(json_object_get(dead, "id")), "once-1", "... the event as it was");
    json_decref(dead);
    sink_set_mode(s, "{\"status\": 200}");
    vane_free(json);
    vane_free(once);
}

/* Batch mode: several events per POST, each once. */
static void test_batch(const struct sink *s)
{
    char *json = sub_json("batch", "b7", s,
                          ",\"protocol_settings\":{\"delivery_mode\":\"batch\",\"batch_size\":10}",
                          "");
    json_t **lines = NULL;
    size_t n, events = 0, posts = 0;

    ok(create_bus("b7", 1), "eventbus b7");
    ok(api_publish_many(base, "b7", "batch", 30), "30 events published");
    ok(create_sub(json) > 0, "a batch-mode subscription, 10 per request");
    for (int waited = 0; waited < harness_ms(10000) && events < 30; waited += 100) {
        usleep(100000);
        events = posts = 0;
        n = sink_received(s, &lines);
        for (size_t i = 0; i < n; i++) {
            const char *ct = sink_line_header(lines[i], "content-type");
            size_t len;
            char *body = sink_line_body(lines[i], &len);
            json_t *array = body ? json_loads(body, 0, NULL) : NULL;

            if (ct && strcmp(ct, "application/cloudevents-batch+json") == 0 &&
                json_is_array(array)) {
                posts++;
                events += json_array_size(array);
            }
            json_decref(array);
            vane_free(body);
        }
        sink_lines_free(lines, n);
    }
    is_int((long)events, 30, "every event arrives in a batch");
    ok(posts >= 3 && posts < 30, "in fewer requests than events (%zu)", posts);
    vane_free(json);
}

/* Committed offsets show in the subscription once delivered. */
static void test_offsets(void)
{
    long status;
    json_t *sub = NULL;
    json_int_t committed = -1;

    for (int waited = 0; waited < harness_ms(5000) && committed != 30; waited += 200) {
        json_decref(sub);
        sub = api_call(base, "GET", "/api/v1/subscriptions/batch", NULL, &status);
        committed = json_integer_value(json_object_get(
            json_array_get(json_object_get(sub, "offsets"), 0), "offset"));
        usleep(200000);
    }
    is_int((long)committed, 30, "the subscription's committed offset reaches 30");
    json_decref(sub);
}

static bool publish_delayed(const char *bus, const char *id, const char *when)
{
    char *url = vane_asprintf("%s/gateway/%s", base, bus), *h_id = vane_asprintf("ce-id: %s", id);
    char *h_when = vane_asprintf("ce-xvanusdeliverytime: %s", when);
    const char *headers[] = {"ce-specversion: 1.0", h_id, "ce-source: /test", "ce-type: t",
                             h_when, "Content-Type: text/plain", NULL};
    struct http_call call = {"POST", url, headers, "later", 5, HTTP_1_1};
    struct http_reply reply;
    bool delayed = http_call(&call, &reply) == 0 && reply.status == 200 && reply.body &&
                   strstr(reply.body, "\"delayed\":true") != NULL;

    if (!delayed)
        tap_diag("publish: %ld %s", reply.status, reply.body ? reply.body : "");
    http_reply_free(&reply);
    vane_free(url);
    vane_free(h_id);
    vane_free(h_when);
    return delayed;
}

/* The sink's receive time (wall clock, ns) of the first request with ce-id id, or 0. */
static int64_t received_at(const struct sink *s, const char *id)
{
    json_t **lines = NULL;
    size_t n = sink_received(s, &lines);
    int64_t at = 0;

    for (size_t i = 0; i < n && at == 0; i++) {
        const char *got = sink_line_header(lines[i], "ce-id");

        if (got != NULL && strcmp(got, id) == 0)
            at = json_integer_value(json_object_get(lines[i], "received_ns"));
    }
    sink_lines_free(lines, n);
    return at;
}

/* Delayed events: held until xvanusdeliverytime (+-1 s), across a restart too. */
/* The ce-ids with prefix the sink accepted (2xx), in the order it answered them. */
static size_t accepted_order(const struct sink *s, const char *prefix, char ids[][32], size_t cap,
                             int64_t *first_ns, int64_t *last_ns)
{
    json_t **lines = NULL;
    size_t n = sink_received(s, &lines), count = 0;

    for (size_t i = 0; i < n && count < cap; i++) {
        const char *id = sink_line_header(lines[i], "ce-id");
        json_int_t status =
            json_integer_value(json_object_get(json_object_get(lines[i], "answer"), "status"));
        int64_t at = json_integer_value(json_object_get(lines[i], "received_ns"));

        if (id == NULL || strncmp(id, prefix, strlen(prefix)) != 0 || status >= 300)
            continue;
        snprintf(ids[count++], 32, "%s", id);
        if (count == 1)
            *first_ns = at;
        *last_ns = at;
    }
    sink_lines_free(lines, n);
    return count;
}

/* ordered_event: retries do not reorder an eventlog's events. */
static void test_ordered(const struct sink *s)
{
    char *json = sub_json("ord", "b9", s, "", ", \"ordered_event\": true");
    char ids[16][32];
    int64_t first = 0, last = 0;
    size_t n = 0;
    bool in_order = true;

    ok(create_bus("b9", 1), "eventbus b9");
    ok(api_publish_many(base, "b9", "ord", 10), "10 events published");
    sink_set_mode(s, "{\"status\": 200, \"fail_first\": 3}");
    ok(create_sub(json) > 0, "an ordered subscription");
    for (int waited = 0; waited < harness_ms(15000) && n < 10; waited += 100) {
        usleep(100000);
        n = accepted_order(s, "ord-", ids, 16, &first, &last);
    }
    is_int((long)n, 10, "each accepted once");
    for (size_t i = 0; i < n; i++) {
        char want[32];

        snprintf(want, sizeof(want), "ord-%zu", i);
        in_order &= strcmp(ids[i], want) == 0;
    }
    ok(in_order, "in the order they were stored, though the first was retried");
    sink_set_mode(s, "{\"status\": 200}");
    vane_free(json);
}

/* rate_limit: 20 events per second. */
static void test_rate_limit(const struct sink *s)
{
    char *json = sub_json("slow", "b10", s, "", ", \"rate_limit\": 20");
    char ids[64][32];
    int64_t first = 0, last = 0;
    size_t n = 0;

    ok(create_bus("b10", 1), "eventbus b10");
    ok(api_publish_many(base, "b10", "slow", 40), "40 events published");
    ok(create_sub(json) > 0, "a subscription limited to 20 events/s");
    for (int waited = 0; waited < harness_ms(15000) && n < 40; waited += 100) {
        usleep(100000);
        n = accepted_order(s, "slow-", ids, 64, &first, &last);
    }
    is_int((long)n, 40, "all 40 arrive");
    /* A second's worth may go at once (the bucket holds rate_limit), the rest at the rate. */
    ok(last - first >= 900000000ll, "over a second at least, not at once (%lld ms)",
       (long long)((last - first) / 1000000));
    vane_free(json);
}

/* A reset to earliest stays put: the stopped worker's place is not committed over it. */
static void test_reset_back(const struct sink *s)
{
    long status;
    json_t *sub;
    json_int_t offset = -1;

    sink_set_mode(s, "{\"hang\": true}");
    usleep(1500000); /* the delivered offsets are committed meanwhile */
    json_decref(api_call(base, "POST", "/api/v1/subscriptions/pause/reset-offset",
                          "{\"position\":\"earliest\"}", &status));
    is_int(status, 200, "reset-offset to the earliest");
    usleep(2500000); /* two commit intervals */
    sub = api_call(base, "GET", "/api/v1/subscriptions/pause", NULL, &status);
    offset = json_integer_value(
        json_object_get(json_array_get(json_object_get(sub, "offsets"), 0), "offset"));
    is_int((long)offset, 0, "the committed offset stays at the reset (the sink hangs)");
    json_decref(sub);
    sink_set_mode(s, "{\"status\": 200}");
}

/* Disabling right after deliveries keeps what was settled: resume sends nothing again. */
static void test_disable_resume(const struct sink *s)
{
    char *json = sub_json("pause", "b11", s, "", "");
    size_t accepted, requests;
    long status;

    ok(create_bus("b11", 1), "eventbus b11");
    ok(create_sub(json) > 0, "a subscription");
    ok(api_publish_many(base, "b11", "pause", 5), "5 events published");
    ok(wait_accepted(s, "pause-4", 5000) > 0, "delivered");
    json_decref(api_call(base, "POST", "/api/v1/subscriptions/pause/disable", NULL, &status));
    is_int(status, 200, "disabled at once (before the next second's commit)");
    json_decref(api_call(base, "POST", "/api/v1/subscriptions/pause/resume", NULL, &status));
    is_int(status, 200, "resumed");
    ok(publish("b11", "pause-5", "t", "x"), "one more published");
    ok(wait_accepted(s, "pause-5", 5000) > 0, "the new one is delivered");
    requests = answered(s, "pause-0", &accepted);
    is_int((long)requests, 1, "an event settled before the pause is not sent again");
    test_reset_back(s);
    vane_free(json);
}

/* The delivery figures in the API and in /metrics. */
static void test_observability(void)
{
    char *url = vane_asprintf("%s/metrics", base);
    struct http_reply reply;
    long status;
    json_t *sub = api_call(base, "GET", "/api/v1/subscriptions/bin", NULL, &status);
    json_t *stats = json_object_get(sub, "stats");

    ok(json_is_true(json_object_get(stats, "running")), "stats: the subscription runs");
    is_int((long)json_integer_value(json_object_get(stats, "delivered")), 20,
           "stats: 20 delivered");
    is_int((long)json_integer_value(json_object_get(stats, "lag_events")), 0,
           "stats: no lag once delivered");
    json_decref(sub);
    ok(http_request("GET", url, NULL, HTTP_1_1, &reply) == 0 && reply.status == 200,
       "/metrics answers");
    contains(reply.body, "vane_subscription_delivered_total{subscription=\"bin\"} 20",
             "/metrics counts the deliveries per subscription");
    contains(reply.body, "vane_subscription_lag_events{subscription=\"bin\"} 0",
             "/metrics has the lag per subscription");
    contains(reply.body, "vane_subscription_delivery_seconds_count{subscription=\"bin\"}",
             "/metrics has the delivery latency per subscription");
    http_reply_free(&reply);
    vane_free(url);
}

static void test_delayed(const char *dir, struct vaned *v, const struct sink *s)
{
    char *json = sub_json("later", "b8", s, "", "");
    char when[TIMESTAMP_MAX_LEN];
    int64_t due = timestamp_now() + 3000000000ll, due2, at = 0;

    ok(create_bus("b8", 1), "eventbus b8");
    ok(create_sub(json) > 0, "a subscription on it");
    timestamp_format(due, when);
    ok(publish_delayed("b8", "later-1", when), "an event for 3 s from now is answered delayed");
    usleep(1000000);
    is_int((long)received_at(s, "later-1"), 0, "a second later it has not arrived");
    for (int waited = 0; waited < harness_ms(8000) && at == 0; waited += 50) {
        usleep(50000);
        at = received_at(s, "later-1");
    }
    ok(at != 0 && at >= due - 1000000000ll && at <= due + 1000000000ll,
       "it arrives at its time, +-1 s (%+lld ms)", (long long)((at - due) / 1000000));

    due2 = timestamp_now() + 4000000000ll;
    timestamp_format(due2, when);
    ok(publish_delayed("b8", "later-2", when), "another for 4 s from now");
    kill(v->pid, SIGTERM);
    vaned_wait(v, harness_ms(5000));
    vaned_cleanup(v);
    ok(vaned_start(v, dir, NULL) == 0, "vaned restarts meanwhile");
    at = 0;
    for (int waited = 0; waited < harness_ms(10000) && at == 0; waited += 50) {
        usleep(50000);
        at = received_at(s, "later-2");
    }
    ok(at != 0 && at >= due2 - 1000000000ll && at <= due2 + 1000000000ll,
       "after the restart it still arrives at its time (%+lld ms)",
       (long long)((at - due2) / 1000000));
    vane_free(json);
}

static void test_kill(const char *dir, struct vaned *v, const struct sink *s)
{
    char *json = sub_json("kill", "b4", s, "", "");
    size_t got, total;

    ok(create_bus("b4", 2), "eventbus b4");
    sink_set_mode(s, "{\"status\": 200, \"delay_ms\": 5}");
    ok(create_sub(json) > 0, "a subscription to deliver through a kill");
    ok(api_publish_many(base, "b4", "kill", 200), "200 events published");
    sink_wait_received(s, 40, 10000);
    kill(v->pid, SIGKILL);
    vaned_wait(v, harness_ms(5000));
    vaned_cleanup(v);
    ok(vaned_start(v, dir, NULL) == 0, "vaned starts again after kill -9");
    got = sink_wait_distinct_ids(s, "kill-", 200, 20000);
    sink_distinct_ids(s, "kill-", &total);
    is_int((long)got, 200, "every event arrives at least once (%zu deliveries)", total);
    sink_set_mode(s, "{\"status\": 200}");
    vane_free(json);
}

int main(void)
{
    char *dir = harness_tempdir(), *record = vane_asprintf("%s.sink", dir);
    struct vaned v;
    struct sink s;

    if (sink_start(&s, record) != 0 || vaned_start(&v, dir, NULL) != 0) {
        ok(false, "the sink and vaned start");
        return tap_done();
    }
    base = v.url;
    test_binary(&s);
    test_filters_and_modes(&s);
    test_retries_and_dead_letters(&s);
    test_retries(&s);
    test_batch(&s);
    test_offsets();
    test_observability();
    test_ordered(&s);
    test_disable_resume(&s);
    test_rate_limit(&s);
    test_delayed(dir, &v, &s);
    test_kill(dir, &v, &s);
    kill(v.pid, SIGTERM);
    {
        int status = vaned_wait(&v, harness_ms(5000));

        ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "vaned stops cleanly with subscriptions running");
    }
    vaned_cleanup(&v);
    sink_stop(&s);
    unlink(record);
    vane_free(record);
    harness_rmtree(dir);
    return tap_done();
}
