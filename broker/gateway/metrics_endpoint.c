/*
 * metrics_endpoint.c -- /metrics, the scrape-time gauges and the HTTP
 * request metrics (see metrics_endpoint.h).
 *
 * The endpoint's handler struct, owned by the HTTP server, holds the
 * families it declared and a scratch buffer the text is rendered into (kept
 * between scrapes so its memory is reused); the answer is a copy in the
 * request's pool, so a slow client never holds the scratch buffer.
 *
 * Request metrics: for each route, the observer keeps a struct route_metrics
 * (the server frees it with the route) holding the route's duration series
 * and a few (status, series) pairs, so a request costs a short scan of
 * integers, not a lookup by strings.  Durations come from h2o's request
 * timestamps (first byte of the request to the last byte of the answer).
 *
 * Store gauges are rebuilt at each scrape: their families are cleared and
 * refilled from the eventlogs that exist now, so a deleted eventbus's
 * eventlogs disappear from the next scrape by themselves.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "gateway/metrics_endpoint.h"
#include "gateway/response.h"
#include "metrics/metrics.h"

#define ROUTE_CODES 8 /* statuses cached per route; more are looked up */

struct metrics_endpoint {
    h2o_handler_t super; /* first member: the server allocates it */
    struct gateway *gw;
    struct vane_buf scratch;
    double start_time;
    struct metrics_family *request_duration, *requests;
    struct metrics_family *resident_memory, *open_fds, *start_time_seconds;
    struct metrics_family *log_bytes, *log_first_offset, *log_next_offset, *log_segments;
};

struct route_metrics {
    const char *route;
    struct metrics_series *duration;
    struct {
        int status;
        struct metrics_series *series;
    } codes[ROUTE_CODES];
    size_t code_count;
};

static const char content_type[] = "text/plain; version=0.0.4; charset=utf-8";

/* ---- request metrics ------------------------------------------------------ */

static struct metrics_series *requests_series(struct metrics_endpoint *ep,
                                              struct route_metrics *rm, int status)
{
    char code[16];
    struct metrics_series *series;

    for (size_t i = 0; i < rm->code_count; i++)
        if (rm->codes[i].status == status)
            return rm->codes[i].series;
    snprintf(code, sizeof(code), "%d", status);
    series = metrics_series(ep->requests, (const char *const[]){rm->route, code});
    if (rm->code_count < ROUTE_CODES) {
        rm->codes[rm->code_count].status = status;
        rm->codes[rm->code_count++].series = series;
    }
    return series;
}

static struct route_metrics *route_metrics_new(struct metrics_endpoint *ep, const char *route)
{
    struct route_metrics *rm = VANE_NEW(rm);

    rm->route = route;
    rm->duration = metrics_series(ep->request_duration, (const char *const[]){route});
    return rm;
}

static void observe_request(const char *route, void **route_state, h2o_req_t *req, void *arg)
{
    struct metrics_endpoint *ep = arg;
    struct route_metrics *rm = *route_state;
    int64_t usec;

    if (rm == NULL)
        *route_state = rm = route_metrics_new(ep, route);
    /* Status 0: the connection went before an answer started. */
    metrics_inc(requests_series(ep, rm, req->res.status), 1);
    if (h2o_time_compute_duration(req, &usec))
        metrics_observe(rm->duration, (double)usec / 1e6);
}

/* ---- process gauges ------------------------------------------------------- */

static double resident_memory_bytes(void)
{
    FILE *statm = fopen("/proc/self/statm", "r");
    unsigned long size, resident = 0;

    if (statm == NULL)
        return 0;
    if (fscanf(statm, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(statm);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* Open file descriptors, not counting the one used to list them. */
static double open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *entry;
    size_t count = 0;

    if (dir == NULL)
        return 0;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            count++;
    closedir(dir);
    return count > 0 ? (double)(count - 1) : 0;
}

static void set_gauge(struct metrics_family *family, double value)
{
    metrics_set(metrics_series(family, NULL), value);
}

static void collect_process(struct metrics_endpoint *ep)
{
    set_gauge(ep->resident_memory, resident_memory_bytes());
    set_gauge(ep->open_fds, open_fds());
    set_gauge(ep->start_time_seconds, ep->start_time);
}

/* ---- store gauges --------------------------------------------------------- */

static void collect_eventlog(struct metrics_endpoint *ep, const char *bus, uint32_t index,
                             const struct eventlog *log)
{
    struct eventlog_stats stats;
    char log_label[16];
    const char *labels[] = {bus, log_label};

    snprintf(log_label, sizeof(log_label), "%u", index);
    eventlog_stats(log, &stats);
    metrics_set(metrics_series(ep->log_bytes, labels), (double)stats.bytes);
    metrics_set(metrics_series(ep->log_first_offset, labels), (double)stats.first_offset);
    metrics_set(metrics_series(ep->log_next_offset, labels), (double)stats.next_offset);
    metrics_set(metrics_series(ep->log_segments, labels), (double)stats.segments);
}

static void collect_store(struct metrics_endpoint *ep)
{
    struct gateway *gw = ep->gw;
    const struct eventbus_meta *const *buses;
    size_t count;

    metrics_family_clear(ep->log_bytes);
    metrics_family_clear(ep->log_first_offset);
    metrics_family_clear(ep->log_next_offset);
    metrics_family_clear(ep->log_segments);
    if (gw->store == NULL || gw->health->state != HEALTH_READY)
        return;
    buses = controller_list(store_controller(gw->store), &count);
    for (size_t i = 0; i < count; i++) {
        const struct store_bus *bus = store_bus(gw->store, buses[i]->name);

        /* An eventbus whose eventlogs are still opening has no numbers yet. */
        for (uint32_t log = 0; bus != NULL && log < bus->meta->eventlog_count; log++)
            if (bus->logs[log] != NULL)
                collect_eventlog(ep, bus->meta->name, log, bus->logs[log]);
    }
}

static void collect(struct metrics *m, void *arg)
{
    struct metrics_endpoint *ep = arg;

    (void)m;
    collect_process(ep);
    collect_store(ep);
}

/* ---- the endpoint --------------------------------------------------------- */

static int on_metrics(h2o_handler_t *self, h2o_req_t *req)
{
    static h2o_generator_t generator = {NULL, NULL};
    struct metrics_endpoint *ep = (struct metrics_endpoint *)self;
    h2o_iovec_t body;

    if (response_check_method(req, "GET, HEAD"))
        return 0;
    vane_buf_reset(&ep->scratch);
    metrics_render(ep->gw->metrics, &ep->scratch);
    body = h2o_iovec_init(h2o_mem_alloc_pool(&req->pool, ep->scratch.len + 1), ep->scratch.len);
    memcpy(body.base, ep->scratch.data != NULL ? ep->scratch.data : "", ep->scratch.len);

    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = body.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   content_type, sizeof(content_type) - 1);
    h2o_start_response(req, &generator);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
    return 0;
}

static void on_dispose(h2o_handler_t *self)
{
    vane_buf_free(&((struct metrics_endpoint *)self)->scratch);
}

static void declare_families(struct metrics_endpoint *ep, struct metrics *m)
{
    static const double latency[] = METRICS_LATENCY_BUCKETS;

    ep->request_duration = metrics_histogram(
        m, "vane_http_request_duration_seconds",
        "Time from the first byte of an HTTP request to the last byte of its answer.", "handler",
        latency, sizeof(latency) / sizeof(latency[0]));
    ep->requests = metrics_counter(m, "vane_http_requests_total",
                                   "HTTP requests answered, by route and status code.",
                                   "handler,code");
    ep->resident_memory = metrics_gauge(m, "vane_process_resident_memory_bytes",
                                        "Resident memory of the vaned process.", NULL);
    ep->open_fds = metrics_gauge(m, "vane_process_open_fds", "Open file descriptors.", NULL);
    ep->start_time_seconds = metrics_gauge(m, "vane_process_start_time_seconds",
                                           "When vaned started, in seconds since the epoch.",
                                           NULL);
    ep->log_bytes = metrics_gauge(m, "vane_store_eventlog_bytes",
                                  "Bytes of an eventlog's segment files.", "eventbus,eventlog");
    ep->log_first_offset = metrics_gauge(m, "vane_store_eventlog_first_offset",
                                         "Offset of an eventlog's oldest retained event.",
                                         "eventbus,eventlog");
    ep->log_next_offset = metrics_gauge(m, "vane_store_eventlog_next_offset",
                                        "Offset the next event stored in an eventlog gets.",
                                        "eventbus,eventlog");
    ep->log_segments = metrics_gauge(m, "vane_store_eventlog_segments",
                                     "Segment files of an eventlog.", "eventbus,eventlog");
}

void metrics_endpoint_register(struct http_server *server, struct gateway *gw)
{
    struct metrics_endpoint *ep;
    struct timespec now;

    if (gw->metrics == NULL)
        return;
    ep = (struct metrics_endpoint *)http_server_route(server, "/metrics", on_metrics, sizeof(*ep));
    ep->super.dispose = on_dispose;
    ep->gw = gw;
    clock_gettime(CLOCK_REALTIME, &now);
    ep->start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    declare_families(ep, gw->metrics);
    metrics_on_collect(gw->metrics, collect, ep);
    http_server_set_observer(server, observe_request, vane_free, ep);
}
