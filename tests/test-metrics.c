/*
 * test-metrics.c -- the metrics registry and its Prometheus text (exact
 * output for counters, gauges and histograms, escaping, dropping and
 * clearing series, collect hooks), then GET /metrics of the real vaned:
 * content type, process gauges, request metrics and per-eventlog gauges.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <curl/curl.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "harness.h"
#include "metrics/metrics.h"
#include "tap.h"

/* Renders m into a string the caller frees. */
static char *render(struct metrics *m)
{
    struct vane_buf out = VANE_BUF_INIT;

    metrics_render(m, &out);
    return vane_buf_detach(&out);
}

static void test_counter_and_gauge(void)
{
    struct metrics *m = metrics_create();
    struct metrics_family *events = metrics_counter(m, "vane_test_events_total", "Events seen.",
                                                    "eventbus, reason");
    struct metrics_family *depth = metrics_gauge(m, "vane_test_depth", "Queue depth.", NULL);
    struct metrics_series *a = metrics_series(events, (const char *const[]){"a", "too big"});
    struct metrics_series *b = metrics_series(events, (const char *const[]){"b", "bad"});
    char *text;

    ok(metrics_series(events, (const char *const[]){"a", "too big"}) == a,
       "the same label values give the same series");
    ok(metrics_counter(m, "vane_test_events_total", "again", "eventbus,reason") == events,
       "declaring a family again returns it");
    metrics_inc(a, 3);
    metrics_inc(b, 1);
    metrics_inc(a, 2);
    metrics_set(metrics_series(depth, NULL), 1.5);
    is_int(metrics_value(a), 5, "metrics_value reads a counter back");
    text = render(m);
    is_str(text,
           "# HELP vane_test_events_total Events seen.\n"
           "# TYPE vane_test_events_total counter\n"
           "vane_test_events_total{eventbus=\"a\",reason=\"too big\"} 5\n"
           "vane_test_events_total{eventbus=\"b\",reason=\"bad\"} 1\n"
           "# HELP vane_test_depth Queue depth.\n"
           "# TYPE vane_test_depth gauge\n"
           "vane_test_depth 1.5\n",
           "counters with labels and a gauge render in declaration and creation order");
    vane_free(text);
    metrics_free(m);
}

static void test_escaping_and_numbers(void)
{
    struct metrics *m = metrics_create();
    struct metrics_family *f = metrics_gauge(m, "vane_test_g", "Back\\slash\nand \"quotes\".",
                                             "name");
    char *text;

    metrics_set(metrics_series(f, (const char *const[]){"a\\b\"c\nd"}), 0.1);
    metrics_set(metrics_series(f, (const char *const[]){"inf"}), INFINITY);
    metrics_set(metrics_series(f, (const char *const[]){"big"}), 12345678901234.0);
    text = render(m);
    is_str(text,
           "# HELP vane_test_g Back\\\\slash\\nand \"quotes\".\n"
           "# TYPE vane_test_g gauge\n"
           "vane_test_g{name=\"a\\\\b\\\"c\\nd\"} 0.1\n"
           "vane_test_g{name=\"inf\"} +Inf\n"
           "vane_test_g{name=\"big\"} 12345678901234\n",
           "label values escape \\, \" and newline; help escapes \\ and newline; numbers "
           "shortest");
    vane_free(text);
    metrics_free(m);
}

static void test_histogram(void)
{
    static const double bounds[] = {0.5, 1, 2.5};
    struct metrics *m = metrics_create();
    struct metrics_family *f =
        metrics_histogram(m, "vane_test_seconds", "Durations.", "handler", bounds, 3);
    struct metrics_series *s = metrics_series(f, (const char *const[]){"/x"});
    char *text;

    metrics_observe(s, 0.25);
    metrics_observe(s, 0.5); /* on a bound: le is inclusive */
    metrics_observe(s, 2);
    metrics_observe(s, 4);
    text = render(m);
    is_str(text,
           "# HELP vane_test_seconds Durations.\n"
           "# TYPE vane_test_seconds histogram\n"
           "vane_test_seconds_bucket{handler=\"/x\",le=\"0.5\"} 2\n"
           "vane_test_seconds_bucket{handler=\"/x\",le=\"1\"} 2\n"
           "vane_test_seconds_bucket{handler=\"/x\",le=\"2.5\"} 3\n"
           "vane_test_seconds_bucket{handler=\"/x\",le=\"+Inf\"} 4\n"
           "vane_test_seconds_sum{handler=\"/x\"} 6.75\n"
           "vane_test_seconds_count{handler=\"/x\"} 4\n",
           "histogram buckets are cumulative, with +Inf, _sum and _count");
    vane_free(text);
    metrics_free(m);
}

static void test_drop_and_clear(void)
{
    struct metrics *m = metrics_create();
    struct metrics_family *events = metrics_counter(m, "vane_t_events_total", "E.", "eventbus");
    struct metrics_family *rejected =
        metrics_counter(m, "vane_t_rejected_total", "R.", "reason,eventbus");
    struct metrics_family *other = metrics_counter(m, "vane_t_other_total", "O.", "name");
    struct metrics_family *plain = metrics_counter(m, "vane_t_plain_total", "P.", NULL);
    char *text;

    metrics_inc(metrics_series(events, (const char *const[]){"a"}), 1);
    metrics_inc(metrics_series(events, (const char *const[]){"b"}), 2);
    metrics_inc(metrics_series(rejected, (const char *const[]){"size", "a"}), 3);
    metrics_inc(metrics_series(rejected, (const char *const[]){"size", "b"}), 4);
    metrics_inc(metrics_series(other, (const char *const[]){"a"}), 5);
    metrics_inc(metrics_series(plain, NULL), 6);
    metrics_drop_label(m, "eventbus", "a");
    /* Appending after a drop must still work: the tail moved. */
    metrics_inc(metrics_series(events, (const char *const[]){"c"}), 7);
    text = render(m);
    is_str(text,
           "# HELP vane_t_events_total E.\n# TYPE vane_t_events_total counter\n"
           "vane_t_events_total{eventbus=\"b\"} 2\n"
           "vane_t_events_total{eventbus=\"c\"} 7\n"
           "# HELP vane_t_rejected_total R.\n# TYPE vane_t_rejected_total counter\n"
           "vane_t_rejected_total{reason=\"size\",eventbus=\"b\"} 4\n"
           "# HELP vane_t_other_total O.\n# TYPE vane_t_other_total counter\n"
           "vane_t_other_total{name=\"a\"} 5\n"
           "# HELP vane_t_plain_total P.\n# TYPE vane_t_plain_total counter\n"
           "vane_t_plain_total 6\n",
           "drop_label removes eventbus=a from every family with that label, and only there");
    vane_free(text);
    metrics_family_clear(events);
    metrics_family_clear(plain);
    text = render(m);
    ok(strstr(text, "vane_t_events_total{") == NULL, "a cleared family has no series");
    contains(text, "# TYPE vane_t_events_total counter\n", "but is still declared");
    contains(text, "\nvane_t_plain_total 0\n", "a cleared family without labels is back at 0");
    vane_free(text);
    metrics_free(m);
}

static void set_on_collect(struct metrics *m, void *arg)
{
    int *calls = arg;

    (*calls)++;
    metrics_set(metrics_series(metrics_gauge(m, "vane_t_collected", "C.", NULL), NULL), *calls);
}

static void test_collect_and_null(void)
{
    struct metrics *m = metrics_create();
    int calls = 0;
    char *text;

    metrics_gauge(m, "vane_t_collected", "C.", NULL);
    metrics_on_collect(m, set_on_collect, &calls);
    vane_free(render(m));
    text = render(m);
    contains(text, "\nvane_t_collected 2\n", "the collect hook runs before each render");
    vane_free(text);
    metrics_free(m);

    /* A part built without metrics counts into nothing, without checks. */
    metrics_inc(metrics_series(metrics_counter(NULL, "vane_x_total", "X.", "a"),
                               (const char *const[]){"b"}),
                1);
    metrics_observe(NULL, 1);
    metrics_drop_label(NULL, "a", "b");
    ok(metrics_value(NULL) == 0, "a NULL registry, family and series are accepted");
}

/* ---- the real vaned -------------------------------------------------------- */

/* The value of the sample line "series value" in text, or -1 if there is none. */
static double sample(const char *text, const char *series)
{
    size_t len = strlen(series);

    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, series, len) == 0 && line[len] == ' ')
            return strtod(line + len + 1, NULL);
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return -1;
}

/* GET /metrics; the body (freed by the caller) or NULL. */
static char *scrape(const struct vaned *v, struct http_reply *reply_out)
{
    char *url = vane_asprintf("%s/metrics", v->url);
    struct http_reply reply;
    char *body = NULL;

    if (http_request("GET", url, NULL, HTTP_1_1, &reply) == 0 && reply.status == 200)
        body = vane_strdup(reply.body);
    if (reply_out != NULL)
        *reply_out = reply;
    else
        http_reply_free(&reply);
    vane_free(url);
    return body;
}

/* Scrapes until series has at least want, or a deadline; the last value. */
static double scrape_until(const struct vaned *v, const char *series, double want)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)harness_ms(3000) * 1000000;
    double value = -1;

    for (;;) {
        char *body = scrape(v, NULL);

        value = body != NULL ? sample(body, series) : -1;
        vane_free(body);
        if (value >= want || uv_hrtime() > deadline)
            return value;
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
}

static void test_endpoint(const struct vaned *v)
{
    struct http_reply reply;
    char *body, *url = vane_asprintf("%s/healthz", v->url);

    http_request("GET", url, NULL, HTTP_1_1, &reply);
    is_int(reply.status, 200, "GET /healthz");
    http_reply_free(&reply);
    vane_free(url);

    body = scrape(v, &reply);
    is_int(reply.status, 200, "GET /metrics answers 200");
    contains(reply.headers, "content-type: text/plain; version=0.0.4; charset=utf-8\r\n",
             "in the Prometheus text format 0.0.4");
    contains(reply.headers, "content-length: ", "with a Content-Length");
    ok(body != NULL && sample(body, "vane_process_resident_memory_bytes") > 0,
       "vane_process_resident_memory_bytes > 0");
    ok(body != NULL && sample(body, "vane_process_open_fds") > 0, "vane_process_open_fds > 0");
    ok(body != NULL && sample(body, "vane_process_start_time_seconds") > 1.5e9,
       "vane_process_start_time_seconds is a time since the epoch");
    http_reply_free(&reply);
    vane_free(body);

    ok(scrape_until(v, "vane_http_request_duration_seconds_count{handler=\"/healthz\"}", 1) >= 1,
       "the /healthz request is in the latency histogram");
    body = scrape(v, NULL);
    ok(body != NULL &&
           sample(body, "vane_http_request_duration_seconds_bucket{handler=\"/healthz\","
                        "le=\"+Inf\"}") >= 1,
       "with its +Inf bucket");
    ok(body != NULL &&
           sample(body, "vane_http_requests_total{handler=\"/healthz\",code=\"200\"}") >= 1,
       "and counted by status code");
    ok(body != NULL &&
           sample(body, "vane_http_requests_total{handler=\"/metrics\",code=\"200\"}") >= 1,
       "scrapes count themselves");
    vane_free(body);

    url = vane_asprintf("%s/metrics", v->url);
    http_request("HEAD", url, NULL, HTTP_1_1, &reply);
    is_int(reply.status, 200, "HEAD /metrics answers 200");
    is_str(reply.body, "", "without a body");
    http_reply_free(&reply);
    http_request("POST", url, "x", HTTP_1_1, &reply);
    is_int(reply.status, 405, "POST /metrics answers 405");
    http_reply_free(&reply);
    vane_free(url);
}

static void test_eventlog_gauges(const struct vaned *v)
{
    static const char series[] = "vane_store_eventlog_next_offset{eventbus=\"m1\",eventlog=\"0\"}";
    char *url = vane_asprintf("%s/api/v1/eventbuses", v->url);
    struct http_reply reply;
    char *body;

    http_request("POST", url, "{\"name\":\"m1\"}", HTTP_1_1, &reply);
    vane_free(url);
    if (reply.status == 404) {
        ok(true, "per-eventlog gauges # SKIP the eventbuses admin API (POST "
                 "/api/v1/eventbuses) is not in this build");
        http_reply_free(&reply);
        return;
    }
    is_int(reply.status, 201, "POST /api/v1/eventbuses creates m1");
    http_reply_free(&reply);
    body = scrape(v, NULL);
    ok(body != NULL && sample(body, series) == 0, "m1's eventlog 0 has next_offset 0");
    ok(body != NULL &&
           sample(body, "vane_store_eventlog_first_offset{eventbus=\"m1\",eventlog=\"0\"}") == 0,
       "and first_offset 0");
    ok(body != NULL &&
           sample(body, "vane_store_eventlog_segments{eventbus=\"m1\",eventlog=\"0\"}") >= 1,
       "and at least one segment");
    ok(body != NULL &&
           sample(body, "vane_store_eventlog_bytes{eventbus=\"m1\",eventlog=\"0\"}") >= 0,
       "and a size in bytes");
    vane_free(body);
}

static void test_vaned(void)
{
    char *tmpdir = harness_tempdir();
    struct vaned v;
    int status;

    if (vaned_start(&v, tmpdir, NULL) != 0) {
        ok(false, "vaned starts");
    } else {
        test_endpoint(&v);
        test_eventlog_gauges(&v);
        kill(v.pid, SIGTERM);
        status = vaned_wait(&v, harness_ms(2000));
        if (!ok(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "vaned stops cleanly, metrics and all")) {
            char *log = vaned_log(&v);

            tap_diag("wait status %d; its log:\n%s", status, log);
            vane_free(log);
        }
    }
    vaned_cleanup(&v);
    harness_rmtree(tmpdir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_counter_and_gauge();
    test_escaping_and_numbers();
    test_histogram();
    test_drop_and_clear();
    test_collect_and_null();
    test_vaned();
    curl_global_cleanup();
    return tap_done();
}
