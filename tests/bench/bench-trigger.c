/*
 * bench-trigger.c -- the trigger's figures: subscriptions delivering to a
 * real HTTP sink from a real vaned, each figure beside its target or beside
 * a reference measured in the same run.  Run by `make bench`; `--help`
 * lists the knobs.
 *
 * Design.  Every phase starts a fresh sink (tests/sink-server on a free
 * port, through tests/harness.h's sink_start) and a fresh vaned
 * (vaned_start, its data under --dir), creates the eventbus "bench" with
 * two eventlogs, and drives both over HTTP.  This program's own load runs
 * on a libuv loop through the trigger's HTTP client
 * (broker/trigger/http_client.h: libcurl multi, keep-alive connections),
 * so the reference client is the code the trigger sends with; the control
 * calls (admin API, the sink's /_sink/ endpoints) are the harness's
 * blocking requests.  The phases (--only picks some):
 *
 *   - binary: N events (--events) are preloaded with batch publishes
 *     (application/cloudevents-batch+json, 1,000 a request; a batch goes to
 *     one eventlog and requests alternate), then a subscription from
 *     offset_type earliest delivers them in binary mode.  Events/s is N over
 *     the time from the subscription's POST to the sink's last 2xx answer
 *     (its GET /_sink/stats is polled every 50 ms); target >= 25,000.
 *     Reference: the same N requests (the headers and body the trigger
 *     sends for these events) posted to the same sink by this program, with
 *     as many transfers in flight as the trigger allows one subscription
 *     (its max_inflight), before the subscription exists.
 *     Meanwhile GET /healthz is asked every 200 ms, beside the same asked
 *     for a second before: how long vaned keeps its other clients waiting.
 *   - batch: the same with delivery_mode batch and batch_size 100 (N is
 *     --batch-events); target >= 150,000 ev/s.  The sink counts requests,
 *     not events, so the end is the last answer it gave before the
 *     subscription's committed offsets covered all N, and events per
 *     request is N over the requests.  Reference: 100-event batch posts,
 *     max_inflight / 100 in flight.
 *   - latency: a subscription at latest; events published one per request
 *     at --latency-rate (1,000/s, paced by a 1 ms timer) for --duration
 *     seconds after --warmup seconds not counted, each ce-id holding its
 *     send time (CLOCK_REALTIME ns).  The sink records (--record) each
 *     delivery's received_ns; the p99 of the differences has the target
 *     <= 5 ms.  Reference: how long the publishes took to be answered.
 *   - fanout: for each count in --fanout (1,10,100), on a fresh vaned,
 *     count subscriptions are created on the empty eventbus, each an exact
 *     filter on its own type delivering to its own path; then M events
 *     (--fanout-events) are published in batches, event i of type
 *     bench.type.<i mod count>, so each subscription gets M / count.  Events
 *     delivered and filter evaluations (count x M) per second from the first
 *     publish to the last answer, and vaned's CPU time (utime + stime of
 *     /proc/PID/stat) over that window per event per subscription, and per
 *     event per subscription added past the first count (which takes out
 *     the cost of storing and delivering, the same at every count).  ODD
 *     when either grows by more than 1.5 times.
 *   - hang: a subscription at latest; events published at --hang-rate
 *     (2,000/s); after --warmup seconds the sink hangs ({"hang": true}) for
 *     --hang seconds (60), then answers 200 again and publishing stops.
 *     vaned's VmRSS, sampled every 100 ms throughout, must stay below
 *     256 MiB; the catch-up time runs from the sink's recovery until every
 *     published event was answered 2xx and settled.  After a stall one
 *     more event is published, to tell a subscription that waits for new
 *     events from one stuck for good.  The sink records, so loss and
 *     duplicates are counted per event.
 *
 * "ODD:" lines report what should not happen: events lost (published,
 * settled, never answered 2xx), duplicates (answered 2xx more than once: no
 * retry repeats an acknowledged event while vaned runs), a delivery that did
 * not finish by its deadline (a stall), dead letters, failed publishes,
 * GET /healthz kept waiting over a second, vaned or the sink dying or not
 * exiting cleanly, warnings or errors in vaned's log.  The output helpers
 * (numbers, rows, the table) are copies of bench-gateway's, so the tables
 * read alike.
 *
 * Exit status 0 once measured (a missed target included), 1 when the
 * benchmark could not run, 2 for a bad option.  Every wait has a deadline;
 * children die with this program (the harness sets PR_SET_PDEATHSIG); all
 * files go to a fresh directory under --dir (default /work/bench-tmp),
 * removed at the end unless --keep.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "../harness.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/fs.h"
#include "trigger/http_client.h"
#include "trigger/trigger.h"

#include "bench-util.h"

#define KIB 1024.0
#define BUS "bench"
#define EVENTLOGS 2
#define DATA_BYTES 256            /* text data of every event */
#define PRELOAD_BATCH 1000        /* events per publish while preloading */
#define PRELOAD_PARALLEL 4        /* preload publishes in flight */
#define BATCH_SIZE 100            /* protocol_settings.batch_size of the batch figure */
#define POLL_MS 50                /* the sink's stats are read this often */
#define RSS_MS 100                /* vaned's VmRSS is sampled this often */
#define PROBE_MS 200              /* GET /healthz this often while delivering */
#define PROBE_CAP 8192            /* probes' answer times kept */
#define PROBE_SLOW_NS 1e9         /* a probe answered later than this is ODD */
#define REQUEST_TIMEOUT_MS 10000  /* of every request this program sends */
#define MIN_DRAIN_TIMEOUT 30.0    /* s, for a delivery to finish */
#define SETTLE_TIMEOUT 30.0       /* s, for paced events to arrive after publishing */
#define CATCHUP_TIMEOUT 300.0     /* s, after the hang: retries back off to 60 s */
#define STALL_TIMEOUT 75.0        /* s without progress: past the longest backoff, 60 s + 20% */
#define STALL_TEXT "75 s"
#define STOP_TIMEOUT_MS 15000
#define RSS_LIMIT_KIB (256 * KIB)
#define COST_GROWTH 1.5           /* per-subscription cost growth flagged ODD */
#define UNUSED_MAX_ROWS 64
#define MAX_FANOUT 8

/* ---- configuration ------------------------------------------------------- */

struct config {
    const char *dir, *vaned, *sink, *only, *fanout;
    uint64_t events, batch_events, fanout_events, latency_rate, hang_rate, ref_parallel;
    double duration, warmup, hang; /* seconds */
    bool quick, keep;
};

static const struct bench_knob knobs[] = {
    BENCH_KNOB_DIR(struct config),
    BENCH_KNOB_VANED(struct config),
    {"--sink", "SINK_SERVER", BENCH_KNOB_TEXT, offsetof(struct config, sink),
     "the HTTP sink, tests/sink-server (default ./tests/sink-server)"},
    {"--only", "BENCH_ONLY", BENCH_KNOB_TEXT, offsetof(struct config, only),
     "phases to run: binary,batch,latency,fanout,hang (default all)"},
    {"--events", "BENCH_EVENTS", BENCH_KNOB_COUNT, offsetof(struct config, events),
     "events of the binary figure (200k; --quick 20k)"},
    {"--batch-events", "BENCH_BATCH_EVENTS", BENCH_KNOB_COUNT, offsetof(struct config, batch_events),
     "events of the batch figure (1M; --quick 100k)"},
    {"--duration", "BENCH_DURATION", BENCH_KNOB_SECONDS, offsetof(struct config, duration),
     "measured publishing window of the latency figure, s (10; --quick 3)"},
    {"--warmup", "BENCH_WARMUP", BENCH_KNOB_SECONDS, offsetof(struct config, warmup),
     "publishing before the latency window and before the sink hangs, s (2; --quick 1)"},
    {"--latency-rate", "BENCH_LATENCY_RATE", BENCH_KNOB_COUNT, offsetof(struct config, latency_rate),
     "events/s published for the latency figure (1000)"},
    {"--fanout", "BENCH_FANOUT", BENCH_KNOB_TEXT, offsetof(struct config, fanout),
     "subscription counts of the fan-out curve (1,10,100)"},
    {"--fanout-events", "BENCH_FANOUT_EVENTS", BENCH_KNOB_COUNT, offsetof(struct config, fanout_events),
     "events of each fan-out run (100k; --quick 10k)"},
    {"--hang", "BENCH_HANG", BENCH_KNOB_SECONDS, offsetof(struct config, hang),
     "how long the sink hangs under load, s (60; --quick 10)"},
    {"--hang-rate", "BENCH_HANG_RATE", BENCH_KNOB_COUNT, offsetof(struct config, hang_rate),
     "events/s published around and during the hang (2000)"},
    {"--ref-parallel", "BENCH_REF_PARALLEL", BENCH_KNOB_COUNT, offsetof(struct config, ref_parallel),
     "transfers in flight of the binary reference client (default the trigger's max_inflight)"},
};

#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

/* The trigger's own defaults: what one subscription may have in flight. */
static struct trigger_options trigger_defaults;

static void config_defaults(struct config *c, bool quick)
{
    memset(c, 0, sizeof(*c));
    c->dir = BENCH_DEFAULT_PARENT;
    c->vaned = "./vaned";
    c->sink = "./tests/sink-server";
    c->fanout = "1,10,100";
    c->quick = quick;
    c->events = quick ? 20000 : 200000;
    c->batch_events = quick ? 100000 : 1000000;
    c->fanout_events = quick ? 10000 : 100000;
    c->duration = quick ? 3 : 10;
    c->warmup = quick ? 1 : 2;
    c->hang = quick ? 10 : 60;
    c->latency_rate = 1000;
    c->hang_rate = 2000;
    c->ref_parallel = trigger_defaults.max_inflight;
}

/* The subscription counts of --fanout; returns how many, 0 if one is not 1..1000. */
static size_t fanout_counts(const char *list, unsigned *counts)
{
    return bench_counts(list, 1000, counts, MAX_FANOUT);
}

static const struct bench_cli cli = {
    "bench-trigger", "fewer events and short windows, a smoke test", 24, knobs, NKNOBS,
    0.1, false, 1e9,
};

/* Defaults (quick or full), then the environment, then the options. */
static int configure(struct config *c, int argc, char **argv)
{
    config_defaults(c, bench_quick(argc, argv));
    return bench_options(&cli, c, &c->keep, argc, argv);
}

/* ---- output helpers -------------------------------------------------------- */

static uint64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct bench {
    struct config cfg;
    char *root;
    struct bench_table table;
    unsigned odd; /* "ODD:" lines printed */
};

/* A row of the table: met is 1 or 0 against a target, -1 beside a reference. */
static void add_row(struct bench *b, const char *figure, const char *measured,
                    const char *reference, double ratio, int met)
{
    bench_table_add(&b->table, figure, measured, reference, ratio, met);
}

static void skipped_row(struct bench *b, const char *figure, const char *why)
{
    add_row(b, figure, "skipped", why, 0, -1);
}

/* ---- processes --------------------------------------------------------------- */

/* ---- the loop and this program's requests ------------------------------------ */

static uv_loop_t loop;
static struct http_client *http;
static struct curl_slist *batch_headers; /* of every batch post */
static char data_text[DATA_BYTES + 1];   /* every event's data */

/* Runs the loop for seconds: requests, pacers and samplers go on meanwhile. */
static void run_for(double seconds)
{
    bool never = false;

    harness_loop_until(&loop, &never, (int)(seconds * 1000) + 1);
}

/* Requests sent for one purpose, and what came of them. */
struct flow {
    uint64_t sent, ok, failed, inflight; /* requests */
    uint64_t events_ok;                  /* events in the requests answered 2xx */
    uint64_t *answer_ns;                 /* how long each 2xx took, when kept */
    size_t answers, answers_cap;
    uint8_t *ok_seq;                     /* per event sequence: answered 2xx; NULL: not kept */
    uint64_t seq_cap;
    char first_error[HTTP_CLIENT_ERROR_MAX + 32];
    unsigned max_retries;                /* a failed request is sent again this often */
    void (*refill)(struct flow *flow);   /* after each answer; NULL: none */
    bool stopped;                        /* refill sends nothing more */
};

struct post {
    struct http_request req; /* first: the done callback gets its address */
    struct flow *flow;
    struct curl_slist *headers; /* owned; NULL: batch_headers */
    char *body;                 /* owned */
    uint64_t seq;               /* of the first event */
    size_t events;
    unsigned attempts;
};

static void note_failure(struct flow *f, const struct http_result *res)
{
    f->failed++;
    if (f->first_error[0] != '\0')
        return;
    if (res->curl_code != CURLE_OK)
        snprintf(f->first_error, sizeof(f->first_error), "%s", res->error);
    else
        snprintf(f->first_error, sizeof(f->first_error), "HTTP %ld %s", res->status, res->error);
}

static void on_post_done(struct http_request *req, const struct http_result *res)
{
    struct post *p = (struct post *)req;
    struct flow *f = p->flow;
    bool ok = res->curl_code == CURLE_OK && res->status >= 200 && res->status < 300;

    /* The same ids again: the gateway stores a repeated (source, id) once. */
    if (!ok && p->attempts++ < f->max_retries && http_client_send(http, &p->req) == 0)
        return;
    f->inflight--;
    if (ok) {
        f->ok++;
        f->events_ok += p->events;
        if (f->answer_ns != NULL && f->answers < f->answers_cap)
            f->answer_ns[f->answers++] = res->elapsed_ns;
        for (uint64_t s = p->seq; f->ok_seq != NULL && s < p->seq + p->events && s < f->seq_cap;
             s++)
            f->ok_seq[s] = 1;
    } else {
        note_failure(f, res);
    }
    curl_slist_free_all(p->headers);
    vane_free(p->body);
    vane_free(p);
    if (f->refill != NULL && !f->stopped)
        f->refill(f);
}

/* POSTs body (taken) to url with headers (taken; NULL: a batch's). */
static void post_send(struct flow *f, const char *url, struct curl_slist *headers, char *body,
                      size_t len, uint64_t seq, size_t events)
{
    struct post *p = VANE_NEW(p);
    int rc;

    p->flow = f;
    p->headers = headers;
    p->body = body;
    p->seq = seq;
    p->events = events;
    p->req.url = url;
    p->req.headers = headers ? headers : batch_headers;
    p->req.body = body;
    p->req.body_len = len;
    p->req.timeout_ms = REQUEST_TIMEOUT_MS;
    p->req.done = on_post_done;
    p->req.arg = p;
    f->sent++;
    if ((rc = http_client_send(http, &p->req)) != 0) {
        struct http_result res = {.curl_code = CURLE_SEND_ERROR};

        snprintf(res.error, sizeof(res.error), "cannot send: %s", strerror(-rc));
        note_failure(f, &res);
        curl_slist_free_all(headers);
        vane_free(body);
        vane_free(p);
        return;
    }
    f->inflight++;
}

/* Runs the loop until nothing of f is in flight (every attempt has a timeout). */
static void flow_drain(struct flow *f)
{
    double deadline = bench_now_s() + (f->max_retries + 1) * (REQUEST_TIMEOUT_MS / 1000.0) + 5;

    f->stopped = true;
    while (f->inflight > 0 && bench_now_s() < deadline)
        run_for(0.01);
}

static void flow_free(struct flow *f)
{
    vane_free(f->answer_ns);
    vane_free(f->ok_seq);
}

/* ---- events ------------------------------------------------------------------ */

static void append_event(struct vane_buf *buf, const char *prefix, uint64_t seq, unsigned types)
{
    vane_buf_appendf(buf,
                     "{\"specversion\":\"1.0\",\"id\":\"%s-%" PRIu64 "\",\"source\":\"/bench/trigger\","
                     "\"type\":\"bench.type.%" PRIu64 "\",\"datacontenttype\":\"text/plain\","
                     "\"data\":\"%s\"}",
                     prefix, seq, seq % types, data_text);
}

/* A JSON array of count structured events from first; *len its length. */
static char *batch_body(const char *prefix, uint64_t first, size_t count, unsigned types,
                        size_t *len)
{
    struct vane_buf buf = VANE_BUF_INIT;

    vane_buf_append(&buf, "[", 1);
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            vane_buf_append(&buf, ",", 1);
        append_event(&buf, prefix, first + i, types);
    }
    vane_buf_append(&buf, "]", 1);
    *len = buf.len;
    return vane_buf_detach(&buf);
}

/* A binary-mode event's headers: those the trigger sends for these events. */
static struct curl_slist *binary_headers(const char *id, uint64_t type)
{
    struct curl_slist *h = curl_slist_append(NULL, "ce-specversion: 1.0");
    char line[128];

    snprintf(line, sizeof(line), "ce-id: %s", id);
    h = curl_slist_append(h, line);
    h = curl_slist_append(h, "ce-source: /bench/trigger");
    snprintf(line, sizeof(line), "ce-type: bench.type.%" PRIu64, type);
    h = curl_slist_append(h, line);
    h = curl_slist_append(h, "Content-Type: text/plain");
    return curl_slist_append(h, "Expect:");
}

/* ---- bulk sends: a preload, or the reference client ---------------------------- */

struct bulk {
    struct flow flow; /* first: refill gets its address */
    const char *url, *prefix;
    uint64_t total, next; /* events */
    size_t per_request, parallel;
    unsigned types;
    bool binary; /* one event per request in binary mode, else batches */
};

static void bulk_refill(struct flow *f)
{
    struct bulk *bk = (struct bulk *)f;

    while (f->inflight < bk->parallel && bk->next < bk->total) {
        size_t n = bk->total - bk->next < bk->per_request ? (size_t)(bk->total - bk->next)
                                                          : bk->per_request;
        size_t len;

        if (bk->binary) {
            char id[64];

            snprintf(id, sizeof(id), "%s-%" PRIu64, bk->prefix, bk->next);
            post_send(f, bk->url, binary_headers(id, bk->next % bk->types),
                      vane_strdup(data_text), DATA_BYTES, bk->next, 1);
        } else {
            char *body = batch_body(bk->prefix, bk->next, n, bk->types, &len);

            post_send(f, bk->url, NULL, body, len, bk->next, n);
        }
        bk->next += n;
    }
}

/* Sends the bulk to its end or timeout; returns the seconds it took, 0 when it did not end. */
static double bulk_run(struct bulk *bk, double timeout)
{
    double start = bench_now_s(), deadline = start + timeout, took = 0;

    bk->flow.refill = bulk_refill;
    bulk_refill(&bk->flow);
    while ((bk->next < bk->total || bk->flow.inflight > 0) && bench_now_s() < deadline)
        run_for(0.01);
    if (bk->next >= bk->total && bk->flow.inflight == 0)
        took = bench_now_s() - start;
    flow_drain(&bk->flow);
    return took;
}

/* ---- paced publishing and memory sampling --------------------------------------- */

struct pacer {
    struct flow flow;
    uv_timer_t tick;
    char *url;
    const char *prefix;
    double rate;
    uint64_t start_ns, end_ns, next, planned;
    bool ended; /* the window is over: nothing more is sent */
};

/* One event; its id is "<prefix>-<seq>-<CLOCK_REALTIME ns when sent>". */
static void send_paced(struct pacer *pc, uint64_t seq)
{
    char id[96];

    snprintf(id, sizeof(id), "%s-%" PRIu64 "-%" PRIu64, pc->prefix, seq, realtime_ns());
    post_send(&pc->flow, pc->url, binary_headers(id, 0), vane_strdup(data_text), DATA_BYTES, seq,
              1);
}

static void on_tick(uv_timer_t *timer)
{
    struct pacer *pc = timer->data;
    uint64_t now = uv_hrtime();
    uint64_t due = (uint64_t)((double)(now - pc->start_ns) * pc->rate / 1e9);

    if (due > pc->planned || now >= pc->end_ns)
        due = pc->planned;
    while (pc->next < due)
        send_paced(pc, pc->next++);
    if (pc->next >= pc->planned) {
        pc->ended = true;
        uv_timer_stop(timer);
    }
}

/* Publishes rate events/s to vaned's eventbus for seconds, from now on, while the loop runs. */
static void pacer_start(struct pacer *pc, const struct vaned *v, const char *prefix, double rate,
                        double seconds)
{
    memset(pc, 0, sizeof(*pc));
    pc->url = vane_asprintf("%s/gateway/" BUS, v->url);
    pc->prefix = prefix;
    pc->rate = rate;
    pc->planned = (uint64_t)(rate * seconds);
    pc->flow.seq_cap = pc->planned;
    pc->flow.ok_seq = vane_calloc(pc->planned + 1, 1);
    pc->flow.answers_cap = pc->planned;
    pc->flow.answer_ns = vane_calloc(pc->planned + 1, sizeof(uint64_t));
    pc->start_ns = uv_hrtime();
    pc->end_ns = pc->start_ns + (uint64_t)(seconds * 1e9);
    uv_timer_init(&loop, &pc->tick);
    pc->tick.data = pc;
    uv_timer_start(&pc->tick, on_tick, 1, 1);
}

/* Runs the loop until the pacer's window is over (bounded); true when it was. */
static bool pacer_wait_ended(struct pacer *pc)
{
    double deadline = bench_now_s() + ((double)pc->end_ns - (double)uv_hrtime()) / 1e9 + 10;

    while (!pc->ended && bench_now_s() < deadline)
        run_for(0.01);
    return pc->ended;
}

/* Ends the pacer: its answers are waited for, its timer closed. */
static void pacer_finish(struct pacer *pc)
{
    pacer_wait_ended(pc);
    uv_timer_stop(&pc->tick);
    flow_drain(&pc->flow);
    uv_close((uv_handle_t *)&pc->tick, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static void pacer_free(struct pacer *pc)
{
    flow_free(&pc->flow);
    vane_free(pc->url);
}

struct sampler {
    uv_timer_t timer;
    pid_t pid;
    double max_kib, first_kib;
    bool died;
};

static void sample(struct sampler *s)
{
    double kib = bench_rss_kib(s->pid);

    if (kib == 0)
        s->died = true;
    if (s->first_kib == 0)
        s->first_kib = kib;
    if (kib > s->max_kib)
        s->max_kib = kib;
}

static void on_sample(uv_timer_t *timer)
{
    sample(timer->data);
}

static void sampler_start(struct sampler *s, pid_t pid)
{
    memset(s, 0, sizeof(*s));
    s->pid = pid;
    sample(s);
    uv_timer_init(&loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_sample, RSS_MS, RSS_MS);
}

static void sampler_stop(struct sampler *s)
{
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

/* GET /healthz every PROBE_MS while the loop runs: how long vaned keeps a request waiting. */
struct prober {
    struct flow flow;
    uv_timer_t timer;
    char *url;
};

static void on_probe(uv_timer_t *timer)
{
    struct prober *pr = timer->data;

    if (pr->flow.inflight < 4) /* a body of NULL is a GET */
        post_send(&pr->flow, pr->url, curl_slist_append(NULL, "Accept: application/json"), NULL,
                  0, 0, 0);
}

static void prober_start(struct prober *pr, const struct vaned *v)
{
    memset(pr, 0, sizeof(*pr));
    pr->url = vane_asprintf("%s/healthz", v->url);
    pr->flow.answers_cap = PROBE_CAP;
    pr->flow.answer_ns = vane_calloc(PROBE_CAP, sizeof(uint64_t));
    uv_timer_init(&loop, &pr->timer);
    pr->timer.data = pr;
    uv_timer_start(&pr->timer, on_probe, 1, PROBE_MS);
}

/* Stops probing, waits for the probes under way, and sorts their answer times. */
static void prober_stop(struct prober *pr)
{
    uv_timer_stop(&pr->timer);
    uv_close((uv_handle_t *)&pr->timer, NULL);
    flow_drain(&pr->flow);
    qsort(pr->flow.answer_ns, pr->flow.answers, sizeof(uint64_t), bench_compare_u64);
}

static void prober_free(struct prober *pr)
{
    flow_free(&pr->flow);
    vane_free(pr->url);
}

/* ---- vaned and the sink ------------------------------------------------------------ */

/* One phase's processes: a fresh vaned with the eventbus, and a fresh sink. */
struct phase {
    char name[32];
    char *data;
    struct vaned v;
    struct sink sink;
    char *record; /* the sink's record, or NULL */
};

static json_t *admin_get(const struct vaned *v, const char *path)
{
    char *url = vane_asprintf("%s%s", v->url, path);
    struct http_reply reply;
    json_t *body = NULL;

    memset(&reply, 0, sizeof(reply));
    if (http_request("GET", url, NULL, HTTP_1_1, &reply) == 0 && reply.status == 200)
        body = json_loads(reply.body, 0, NULL);
    http_reply_free(&reply);
    vane_free(url);
    return body;
}

/* POSTs body (taken) to the admin API; anything but 201 ends the benchmark. */
static void admin_create(const struct vaned *v, const char *path, json_t *body)
{
    char *url = vane_asprintf("%s%s", v->url, path);
    char *text = json_dumps(body, JSON_COMPACT);
    const char *const headers[] = {"Content-Type: application/json", NULL};
    struct http_call call = {"POST", url, headers, text, strlen(text), HTTP_1_1};
    struct http_reply reply;

    memset(&reply, 0, sizeof(reply));
    if (http_call(&call, &reply) != 0 || reply.status != 201)
        bench_fatal("POST %s %s: answered %ld %s", path, text, reply.status,
              reply.body ? reply.body : "");
    http_reply_free(&reply);
    free(text);
    vane_free(url);
    json_decref(body);
}

/* The committed offsets of every subscription of the eventbus, summed; -1 when unreadable. */
static int64_t settled_events(const struct vaned *v)
{
    json_t *body = admin_get(v, "/api/v1/subscriptions?eventbus=" BUS), *sub, *off;
    int64_t total = -1;
    size_t i, j;

    if (json_is_array(json_object_get(body, "subscriptions"))) {
        total = 0;
        json_array_foreach(json_object_get(body, "subscriptions"), i, sub)
            json_array_foreach(json_object_get(sub, "offsets"), j, off)
                total += json_integer_value(json_object_get(off, "offset"));
    }
    json_decref(body);
    return total;
}

/*
 * The subscription's own figures (its "stats"): prints them, and an ODD
 * line when it counts other than want events delivered.
 */
static void check_sub_stats(struct bench *b, const struct phase *ph, const char *sub,
                            uint64_t want)
{
    char *path = vane_asprintf("/api/v1/subscriptions/%s", sub);
    json_t *body = admin_get(&ph->v, path), *stats = json_object_get(body, "stats");
    json_int_t delivered = json_integer_value(json_object_get(stats, "delivered"));

    if (!json_is_integer(json_object_get(stats, "delivered"))) {
        printf("%s: subscription %s: no stats in its GET answer\n", ph->name, sub);
    } else {
        printf("%s: subscription %s counts %s delivered, %s retried, %s dead-lettered\n",
               ph->name, sub, bench_num((double)delivered),
               bench_num((double)json_integer_value(json_object_get(stats, "retried"))),
               bench_num((double)json_integer_value(json_object_get(stats, "dead_lettered"))));
        if ((uint64_t)delivered != want)
            bench_odd(&b->odd, "%s: subscription %s counts %s events delivered, %s were", ph->name, sub,
                bench_num((double)delivered), bench_num((double)want));
    }
    json_decref(body);
    vane_free(path);
}

struct sink_counts {
    uint64_t requests, ok, connections, hanging;
};

/* The sink's counters (ok: answers 2xx); false when it did not answer. */
static bool sink_counts(const struct sink *s, struct sink_counts *c)
{
    json_t *stats = sink_stats(s), *n;
    const char *status;

    memset(c, 0, sizeof(*c));
    if (stats == NULL)
        return false;
    c->requests = (uint64_t)json_integer_value(json_object_get(stats, "requests"));
    c->connections = (uint64_t)json_integer_value(json_object_get(stats, "connections"));
    c->hanging = (uint64_t)json_integer_value(json_object_get(stats, "hanging"));
    json_object_foreach(json_object_get(stats, "by_status"), status, n)
        if (status[0] == '2')
            c->ok += (uint64_t)json_integer_value(n);
    json_decref(stats);
    return true;
}

static void phase_start(struct bench *b, struct phase *ph, const char *name, bool record)
{
    memset(ph, 0, sizeof(*ph));
    snprintf(ph->name, sizeof(ph->name), "%s", name);
    ph->data = vane_asprintf("%s/data-%s", b->root, name);
    if (record)
        ph->record = vane_asprintf("%s/%s.record", b->root, name);
    if (sink_start(&ph->sink, ph->record) != 0)
        bench_fatal("%s: the sink (%s) did not start", name, b->cfg.sink);
    if (vaned_start(&ph->v, ph->data, NULL) != 0)
        bench_fatal("%s: vaned (%s) did not start", name, b->cfg.vaned);
    admin_create(&ph->v, "/api/v1/eventbuses",
                 json_pack("{s:s, s:i}", "name", BUS, "eventlog_count", EVENTLOGS));
}

/* A subscription of the eventbus to the sink's path; filter_type NULL: no filter. */
static void subscribe(struct phase *ph, const char *name, bool batch, const char *offset_type,
                      const char *filter_type, const char *path)
{
    char *url = sink_url(&ph->sink, path);
    json_t *body = json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s}}", "name", name, "eventbus", BUS,
                             "sink", url, "protocol_settings", "delivery_mode",
                             batch ? "batch" : "binary", "config", "offset_type", offset_type);

    if (batch)
        json_object_set_new(json_object_get(body, "protocol_settings"), "batch_size",
                            json_integer(BATCH_SIZE));
    if (filter_type != NULL)
        json_object_set_new(body, "filters",
                            json_pack("[{s:{s:s}}]", "exact", "type", filter_type));
    admin_create(&ph->v, "/api/v1/subscriptions", body);
    vane_free(url);
}

/* ODD lines for the warnings and errors vaned logged. */
static void check_log(struct bench *b, const struct vaned *v, const char *what)
{
    char *log = vaned_log(v);

    bench_odd_log(&b->odd, log, what);
    vane_free(log);
}

/* Dead letters, then both processes stopped and looked at; the data removed. */
static void phase_stop(struct bench *b, struct phase *ph)
{
    int64_t dead = api_stored_count(ph->v.url, "__dl_" BUS);
    int status;

    if (dead > 0)
        bench_odd(&b->odd, "%s: %s events went to the dead letters (__dl_" BUS ")", ph->name,
            bench_num((double)dead));
    if (ph->v.pid > 0) {
        kill(ph->v.pid, SIGTERM);
        if ((status = vaned_wait(&ph->v, STOP_TIMEOUT_MS)) != 0)
            bench_odd(&b->odd, "%s: vaned stopped with %s", ph->name,
                  bench_describe_status(status, STOP_TIMEOUT_MS / 1000));
    }
    check_log(b, &ph->v, ph->name);
    vaned_cleanup(&ph->v);
    if ((status = sink_stop(&ph->sink)) != 0)
        bench_odd(&b->odd, "%s: the sink stopped with %s", ph->name,
                  bench_describe_status(status, STOP_TIMEOUT_MS / 1000));
    if (!b->cfg.keep)
        harness_rmtree(ph->data);
    else
        vane_free(ph->data);
    vane_free(ph->record);
}

/* Publishes n events of types types in batches; verifies the eventbus holds them. */
static void preload(struct bench *b, struct phase *ph, uint64_t n, unsigned types)
{
    char *url = vane_asprintf("%s/gateway/" BUS, ph->v.url);
    struct bulk bk = {.flow.max_retries = 3, .url = url, .prefix = ph->name, .total = n,
                      .per_request = PRELOAD_BATCH, .parallel = PRELOAD_PARALLEL, .types = types};
    double took = bulk_run(&bk, 30 + (double)n / 10000);
    int64_t stored = api_stored_count(ph->v.url, BUS);

    (void)b;
    if (took == 0 || bk.flow.failed > 0 || stored != (int64_t)n)
        bench_fatal("%s: preloading %s events failed: %s of %s requests answered 2xx (%s), the "
              "eventbus holds %lld", ph->name, bench_num((double)n), bench_num((double)bk.flow.ok),
              bench_num((double)bk.flow.sent), bk.flow.first_error[0] ? bk.flow.first_error : "timed out",
              (long long)stored);
    printf("%s: published %s events in %.2f s (%s ev/s, %d per batch publish, %d eventlogs)\n",
           ph->name, bench_num((double)n), took, bench_num((double)n / took), PRELOAD_BATCH, EVENTLOGS);
    flow_free(&bk.flow);
    vane_free(url);
}

/* ---- waiting for deliveries ---------------------------------------------------------- */

struct settled {
    bool done, stalled;    /* stalled: no progress for STALL_TIMEOUT */
    double end;            /* bench_now_s() at the poll that first saw the last 2xx count */
    double vaned_cpu_end;  /* vaned's CPU seconds then */
    double sink_cpu_end;
    int64_t settled;       /* the subscriptions' committed offsets, summed */
    struct sink_counts at_end;
};

/*
 * Polls the sink every POLL_MS until the subscriptions settled want_settled
 * events and the sink answered want_ok requests 2xx, or timeout seconds
 * pass, or neither count moved for STALL_TIMEOUT, or vaned is gone.  The
 * loop runs between polls.  The offsets are asked of vaned only once the
 * sink has want_ok answers and no new one since the last poll: a busy
 * vaned answers its admin API late, which would delay the polls and so
 * the end seen.
 */
static void wait_settled(struct phase *ph, int64_t want_settled, uint64_t want_ok, double timeout,
                         struct settled *out)
{
    double deadline = bench_now_s() + timeout, progress = bench_now_s();
    uint64_t last_ok = UINT64_MAX;
    int64_t last_settled = -1;
    struct sink_counts c;

    memset(out, 0, sizeof(*out));
    while (sink_counts(&ph->sink, &c)) {
        double t = bench_now_s();
        bool quiet = c.ok == last_ok;

        if (!quiet) {
            last_ok = c.ok;
            out->end = progress = t;
            out->vaned_cpu_end = bench_cpu_seconds(ph->v.pid);
            out->sink_cpu_end = bench_cpu_seconds(ph->sink.process.pid);
        }
        out->at_end = c;
        if (quiet && c.ok >= want_ok)
            out->settled = settled_events(&ph->v);
        if (out->settled != last_settled)
            last_settled = out->settled, progress = t;
        if (out->settled >= want_settled && c.ok >= want_ok) {
            out->done = true;
            return;
        }
        out->stalled = t - progress > STALL_TIMEOUT;
        if (t > deadline || out->stalled || bench_rss_kib(ph->v.pid) == 0)
            return;
        run_for(POLL_MS / 1000.0);
    }
}

static double drain_timeout(double events, double target_rate)
{
    double t = 10 * events / target_rate;

    return t > MIN_DRAIN_TIMEOUT ? t : MIN_DRAIN_TIMEOUT;
}

/* Says what a delivery that did not finish reached. */
static void report_stall(struct bench *b, const struct phase *ph, const struct settled *st,
                         int64_t want_settled, double since)
{
    int64_t settled = settled_events(&ph->v); /* not read while the sink's count moved */

    bench_odd(&b->odd, "%s: delivery %s: after %.1f s the subscriptions had settled %s of %s events, the "
        "sink had answered %s requests 2xx (%s received, %s hanging)%s",
        ph->name, st->stalled ? "stalled (no progress for " STALL_TEXT ")" : "too slow",
        bench_now_s() - since, settled < 0 ? "(unknown)" : bench_num((double)settled), bench_num((double)want_settled),
        bench_num((double)st->at_end.ok), bench_num((double)st->at_end.requests),
        bench_num((double)st->at_end.hanging), bench_rss_kib(ph->v.pid) == 0 ? "; vaned is gone" : "");
}

/* ---- the record --------------------------------------------------------------------- */

/* What the sink's record says of the events "<prefix>-<seq>-<sent ns>", seq < count. */
struct record_scan {
    uint64_t lines, hung;  /* every delivery recorded; those left hanging */
    uint32_t *answered;    /* per seq: answered 2xx */
    uint64_t *latency_ns;  /* received_ns - sent ns of each first 2xx answer */
    size_t latencies;
};

static void scan_line(const char *prefix, uint64_t count, json_t *line, struct record_scan *out)
{
    json_t *answer = json_object_get(line, "answer");
    const char *id = json_string_value(json_object_get(json_object_get(line, "headers"), "ce-id"));
    json_int_t status = json_integer_value(json_object_get(answer, "status"));
    size_t plen = strlen(prefix);
    unsigned long long seq, sent;

    out->lines++;
    if (json_is_true(json_object_get(answer, "hang")))
        out->hung++;
    if (id == NULL || strncmp(id, prefix, plen) != 0 || id[plen] != '-' ||
        sscanf(id + plen + 1, "%llu-%llu", &seq, &sent) != 2 || seq >= count ||
        status < 200 || status > 299)
        return;
    if (out->answered[seq]++ == 0)
        out->latency_ns[out->latencies++] =
            (uint64_t)json_integer_value(json_object_get(line, "received_ns")) - sent;
}

static bool scan_record(const char *path, const char *prefix, uint64_t count,
                        struct record_scan *out)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t cap = 0;
    ssize_t len;

    memset(out, 0, sizeof(*out));
    if (f == NULL)
        return false;
    out->answered = vane_calloc(count + 1, sizeof(*out->answered));
    out->latency_ns = vane_calloc(count + 1, sizeof(*out->latency_ns));
    while ((len = getline(&text, &cap, f)) > 0) {
        json_t *line = json_loadb(text, (size_t)len, 0, NULL);

        if (line != NULL)
            scan_line(prefix, count, line, out);
        json_decref(line);
    }
    free(text);
    fclose(f);
    return true;
}

static void scan_free(struct record_scan *s)
{
    vane_free(s->answered);
    vane_free(s->latency_ns);
}

/* Events published 2xx but never answered 2xx by the sink, and those answered twice or more. */
static void count_loss(const struct flow *published, const struct record_scan *s, uint64_t count,
                       uint64_t *lost, uint64_t *duplicated)
{
    *lost = *duplicated = 0;
    for (uint64_t seq = 0; seq < count; seq++) {
        if (published->ok_seq[seq] && s->answered[seq] == 0)
            (*lost)++;
        if (s->answered[seq] > 1)
            (*duplicated)++;
    }
}

/* ---- phases ---------------------------------------------------------------------------- */

/* The raw client: the same deliveries posted straight to the sink; events/s, or 0. */
static double reference(struct bench *b, struct phase *ph, uint64_t n, bool batch,
                        double target)
{
    char *url = sink_url(&ph->sink, "/bench");
    size_t batch_parallel = trigger_defaults.max_inflight / BATCH_SIZE;
    struct bulk bk = {.url = url, .prefix = "ref", .total = n, .types = 1, .binary = !batch,
                      .per_request = batch ? BATCH_SIZE : 1,
                      .parallel = batch ? (batch_parallel > 0 ? batch_parallel : 1)
                                        : (size_t)b->cfg.ref_parallel};
    struct sink_counts before, after;
    double sink_cpu = bench_cpu_seconds(ph->sink.process.pid), own_cpu = bench_cpu_seconds(getpid()), took,
           rate;

    sink_counts(&ph->sink, &before);
    took = bulk_run(&bk, drain_timeout((double)n, target));
    sink_cpu = bench_cpu_seconds(ph->sink.process.pid) - sink_cpu;
    own_cpu = bench_cpu_seconds(getpid()) - own_cpu;
    sink_counts(&ph->sink, &after);
    rate = took > 0 ? (double)n / took : 0;
    if (took == 0 || bk.flow.failed > 0)
        bench_odd(&b->odd, "%s reference: %s of %s requests failed (%s)", ph->name,
            bench_num((double)bk.flow.failed), bench_num((double)bk.flow.sent),
            bk.flow.first_error[0] ? bk.flow.first_error : "timed out");
    else
        printf("%s reference, this program's libcurl multi client straight to the sink: %s ev/s "
               "(%s requests of %zu event(s), %zu in flight, %.2f s; the client used %.0f%% of a "
               "CPU, the sink %.0f%%; the sink accepted %s connections)\n",
               ph->name, bench_num(rate), bench_num((double)bk.flow.ok), bk.per_request, bk.parallel, took,
               100 * own_cpu / took, 100 * sink_cpu / took,
               bench_num((double)(after.connections - before.connections)));
    flow_free(&bk.flow);
    vane_free(url);
    return rate;
}

/* How long vaned kept GET /healthz waiting while it delivered, beside the same when idle. */
static void probe_report(struct bench *b, const char *name, const struct prober *idle,
                         const struct prober *busy)
{
    const struct flow *f = &busy->flow, *fi = &idle->flow;
    double p99, max, idle_p99;
    char reference_text[48];

    if (f->answers == 0 || fi->answers == 0) {
        bench_odd(&b->odd, "%s: no GET /healthz was answered 2xx (%s)", name,
            f->first_error[0] ? f->first_error : fi->first_error);
        return;
    }
    p99 = bench_quantile(f->answer_ns, f->answers, 0.99);
    max = (double)f->answer_ns[f->answers - 1];
    idle_p99 = bench_quantile(fi->answer_ns, fi->answers, 0.99);
    printf("%s: vaned answered GET /healthz in p50 %s, p99 %s, max %s while delivering (%s "
           "probes, one every %d ms, %s without an answer in %d s); idle before: p50 %s, max %s\n",
           name, bench_fmt_ms(bench_quantile(f->answer_ns, f->answers, 0.5)), bench_fmt_ms(p99), bench_fmt_ms(max),
           bench_num((double)f->sent), PROBE_MS, bench_num((double)f->failed), REQUEST_TIMEOUT_MS / 1000,
           bench_fmt_ms(bench_quantile(fi->answer_ns, fi->answers, 0.5)),
           bench_fmt_ms((double)fi->answer_ns[fi->answers - 1]));
    if (max > PROBE_SLOW_NS || f->failed > 0)
        bench_odd(&b->odd, "%s: vaned kept GET /healthz waiting up to %s while one subscription delivered "
            "(%s probes got no answer in %d s): its other HTTP clients wait as long",
            name, bench_fmt_ms(max), bench_num((double)f->failed), REQUEST_TIMEOUT_MS / 1000);
    snprintf(reference_text, sizeof(reference_text), "%s idle", bench_fmt_ms(idle_p99));
    add_row(b, "  GET /healthz p99 meanwhile", bench_fmt_ms(p99), reference_text, p99 / idle_p99, -1);
}

/* The delivery's line and rows, beside the reference. */
static void throughput_report(struct bench *b, bool batch, uint64_t n, double took,
                              double ref_rate)
{
    double target = batch ? 150e3 : 25e3, rate = (double)n / took;
    char measured[32], reference_text[48];

    snprintf(measured, sizeof(measured), "%s ev/s", bench_num(rate));
    add_row(b, batch ? "batch-100 delivery, 1 subscription" : "binary delivery, 1 subscription",
            measured, batch ? ">= 150,000 ev/s" : ">= 25,000 ev/s", rate / target,
            rate >= target);
    snprintf(reference_text, sizeof(reference_text), "%s ev/s raw libcurl multi client",
             bench_num(ref_rate));
    add_row(b, "  vs raw client to the same sink", measured,
            ref_rate > 0 ? reference_text : "(not measured)", ref_rate > 0 ? rate / ref_rate : 0,
            -1);
}

/* The binary or batch delivery figure, with its reference. */
static void phase_throughput(struct bench *b, bool batch)
{
    const char *name = batch ? "batch" : "binary";
    uint64_t n = batch ? b->cfg.batch_events : b->cfg.events, requests;
    double ref_rate, t0, cpu0, sink_cpu0, took;
    char measured[32];
    struct sink_counts base;
    struct settled st;
    struct sampler rss;
    struct prober idle, busy;
    struct phase ph;

    phase_start(b, &ph, name, false);
    preload(b, &ph, n, 1);
    ref_rate = reference(b, &ph, n, batch, batch ? 150e3 : 25e3);
    prober_start(&idle, &ph.v);
    run_for(1.0);
    prober_stop(&idle);
    sink_counts(&ph.sink, &base);
    cpu0 = bench_cpu_seconds(ph.v.pid);
    sink_cpu0 = bench_cpu_seconds(ph.sink.process.pid);
    sampler_start(&rss, ph.v.pid);
    prober_start(&busy, &ph.v);
    t0 = bench_now_s();
    subscribe(&ph, name, batch, "earliest", NULL, "/bench");
    wait_settled(&ph, (int64_t)n, base.ok + (batch ? 1 : n),
                 drain_timeout((double)n, batch ? 150e3 : 25e3), &st);
    prober_stop(&busy);
    sampler_stop(&rss);
    if (!st.done) {
        report_stall(b, &ph, &st, (int64_t)n, t0);
        skipped_row(b, batch ? "batch-100 delivery" : "binary delivery", "did not finish: see ODD");
    } else {
        took = st.end - t0;
        requests = st.at_end.ok - base.ok;
        printf("%s delivery: %s ev/s  (%s events in %.2f s from the subscription's POST to the "
               "sink's last answer; %s requests answered 2xx, %.1f events each; the sink accepted "
               "%s connections; vaned used %.0f%% of a CPU, the sink %.0f%%; vaned's RSS at most "
               "%s)\n",
               name, bench_num((double)n / took), bench_num((double)n), took, bench_num((double)requests),
               (double)n / (double)requests,
               bench_num((double)(st.at_end.connections - base.connections)),
               100 * (st.vaned_cpu_end - cpu0) / took, 100 * (st.sink_cpu_end - sink_cpu0) / took,
               bench_fmt_mib(rss.max_kib));
        if (!batch && requests != n)
            bench_odd(&b->odd, "binary: the sink answered %s deliveries 2xx for %s events (%s)",
                bench_num((double)requests), bench_num((double)n), requests > n ? "duplicates" : "events lost");
        check_sub_stats(b, &ph, name, n);
        throughput_report(b, batch, n, took, ref_rate);
        if (batch) {
            snprintf(measured, sizeof(measured), "%.1f", (double)n / (double)requests);
            add_row(b, "  events per request", measured, "batch_size 100",
                    (double)n / (double)requests / BATCH_SIZE, -1);
        }
    }
    probe_report(b, name, &idle, &busy);
    prober_free(&idle);
    prober_free(&busy);
    phase_stop(b, &ph);
}

/* Publishes at --latency-rate; the sink's record gives publish-to-receive times. */
static void phase_latency(struct bench *b)
{
    double rate = (double)b->cfg.latency_rate;
    struct pacer warm, pc;
    struct settled st;
    struct record_scan scan;
    struct phase ph;
    uint64_t lost, duplicated, *answers;
    char figure[48], measured[32], reference_text[48];
    double p99;

    phase_start(b, &ph, "latency", true);
    subscribe(&ph, "latency", false, "latest", NULL, "/bench");
    pacer_start(&warm, &ph.v, "warm", rate, b->cfg.warmup);
    pacer_finish(&warm);
    wait_settled(&ph, (int64_t)warm.flow.ok, warm.flow.ok, SETTLE_TIMEOUT, &st);
    pacer_start(&pc, &ph.v, "lat", rate, b->cfg.duration);
    pacer_finish(&pc);
    wait_settled(&ph, (int64_t)(warm.flow.ok + pc.flow.ok), warm.flow.ok + pc.flow.ok,
                 SETTLE_TIMEOUT, &st);
    if (!st.done)
        report_stall(b, &ph, &st, (int64_t)(warm.flow.ok + pc.flow.ok), bench_now_s() - SETTLE_TIMEOUT);
    if (pc.flow.failed + warm.flow.failed > 0)
        bench_odd(&b->odd, "latency: %s publishes failed (%s)", bench_num((double)(pc.flow.failed + warm.flow.failed)),
            pc.flow.first_error[0] ? pc.flow.first_error : warm.flow.first_error);
    if (!scan_record(ph.record, "lat", pc.planned, &scan) || scan.latencies == 0) {
        bench_odd(&b->odd, "latency: no delivery of the measured events in the sink's record %s", ph.record);
        skipped_row(b, "publish-to-sink p99", "no deliveries: see ODD");
    } else {
        count_loss(&pc.flow, &scan, pc.planned, &lost, &duplicated);
        if (lost + duplicated > 0)
            bench_odd(&b->odd, "latency: %s events published were never delivered, %s were delivered more "
                "than once", bench_num((double)lost), bench_num((double)duplicated));
        qsort(scan.latency_ns, scan.latencies, sizeof(uint64_t), bench_compare_u64);
        answers = pc.flow.answer_ns;
        qsort(answers, pc.flow.answers, sizeof(uint64_t), bench_compare_u64);
        printf("latency: %s events published at %s/s over %.0f s (after %.0f s not counted), %s "
               "delivered: publish-to-sink p50 %s p90 %s p99 %s p99.9 %s max %s; publish "
               "answered p50 %s p99 %s\n",
               bench_num((double)pc.flow.sent), bench_num(rate), b->cfg.duration, b->cfg.warmup,
               bench_num((double)scan.latencies),
               bench_fmt_ms(bench_quantile(scan.latency_ns, scan.latencies, 0.5)),
               bench_fmt_ms(bench_quantile(scan.latency_ns, scan.latencies, 0.9)),
               bench_fmt_ms(bench_quantile(scan.latency_ns, scan.latencies, 0.99)),
               bench_fmt_ms(bench_quantile(scan.latency_ns, scan.latencies, 0.999)),
               bench_fmt_ms((double)scan.latency_ns[scan.latencies - 1]),
               bench_fmt_ms(bench_quantile(answers, pc.flow.answers, 0.5)),
               bench_fmt_ms(bench_quantile(answers, pc.flow.answers, 0.99)));
        p99 = bench_quantile(scan.latency_ns, scan.latencies, 0.99);
        snprintf(figure, sizeof(figure), "publish-to-sink p99 at %s ev/s", bench_num(rate));
        add_row(b, figure, bench_fmt_ms(p99), "<= 5 ms", p99 / 5e6, p99 <= 5e6);
        snprintf(measured, sizeof(measured), "%s",
                 bench_fmt_ms(bench_quantile(scan.latency_ns, scan.latencies, 0.5)));
        add_row(b, "  p50", measured, "", 0, -1);
        snprintf(reference_text, sizeof(reference_text), "%s publish answered p99",
                 bench_fmt_ms(bench_quantile(answers, pc.flow.answers, 0.99)));
        add_row(b, "  vs the publish alone", bench_fmt_ms(p99), reference_text,
                p99 / bench_quantile(answers, pc.flow.answers, 0.99), -1);
    }
    scan_free(&scan);
    pacer_free(&warm);
    pacer_free(&pc);
    phase_stop(b, &ph);
}

/* What one fan-out run measured. */
struct fanout_point {
    unsigned count;
    double created_s, took, delivered_rate, filtered_rate, cpu_s;
    double cost_us;     /* vaned's CPU per event per subscription */
    double marginal_us; /* per event per subscription past the first count's (0: none) */
    bool done;
};

/*
 * count subscriptions, each an exact filter on its own type, created on the
 * empty eventbus; then events of as many types published in batches, and
 * timed from the first publish to the sink's last answer.  vaned's CPU over
 * that window holds storing the events too, the same at every count.
 */
static void fanout_run(struct bench *b, unsigned count, struct fanout_point *pt)
{
    uint64_t m = b->cfg.fanout_events;
    double t0, cpu0;
    char name[32];
    struct sink_counts base;
    struct settled st;
    struct phase ph;

    memset(pt, 0, sizeof(*pt));
    pt->count = count;
    snprintf(name, sizeof(name), "fanout-%u", count);
    phase_start(b, &ph, name, false);
    t0 = bench_now_s();
    for (unsigned i = 0; i < count; i++) {
        char sub[32], type[32], path[32];

        snprintf(sub, sizeof(sub), "fan-%u", i);
        snprintf(type, sizeof(type), "bench.type.%u", i);
        snprintf(path, sizeof(path), "/sub/%u", i);
        subscribe(&ph, sub, false, "earliest", type, path);
    }
    pt->created_s = bench_now_s() - t0;
    sink_counts(&ph.sink, &base);
    cpu0 = bench_cpu_seconds(ph.v.pid);
    t0 = bench_now_s();
    preload(b, &ph, m, count);
    wait_settled(&ph, (int64_t)(m * count), base.ok + m, 60 + (double)(m * count) / 50000, &st);
    if (!st.done) {
        report_stall(b, &ph, &st, (int64_t)(m * count), t0);
    } else {
        pt->done = true;
        pt->took = st.end - t0;
        pt->delivered_rate = (double)m / pt->took;
        pt->filtered_rate = (double)(m * count) / pt->took;
        pt->cpu_s = st.vaned_cpu_end - cpu0;
        pt->cost_us = pt->cpu_s / (double)(m * count) * 1e6;
        if (st.at_end.ok - base.ok != m)
            bench_odd(&b->odd, "%s: the sink answered %s deliveries 2xx for %s matching events", name,
                bench_num((double)(st.at_end.ok - base.ok)), bench_num((double)m));
    }
    phase_stop(b, &ph);
}

/* A cost row: judged against the earlier point when there is one. */
static void cost_row(struct bench *b, const char *figure, double us, const struct fanout_point *pt,
                     double earlier_us, unsigned earlier_count)
{
    char measured[32], reference_text[48];

    snprintf(measured, sizeof(measured), "%.2f us", us);
    if (earlier_us <= 0) {
        add_row(b, figure, measured, "", 0, -1);
        return;
    }
    snprintf(reference_text, sizeof(reference_text), "%.2f us with %u (growth < %.1fx)",
             earlier_us, earlier_count, COST_GROWTH);
    add_row(b, figure, measured, reference_text, us / earlier_us, us <= COST_GROWTH * earlier_us);
    if (us > COST_GROWTH * earlier_us)
        bench_odd(&b->odd, "fan-out: %s grew from %.2f us with %u subscriptions to %.2f us with %u", figure + 2,
            earlier_us, earlier_count, us, pt->count);
}

static void fanout_rows(struct bench *b, const struct fanout_point *points, size_t n)
{
    const struct fanout_point *first = &points[0], *marginal_base = NULL;
    char figure[48], measured[32], reference_text[48];

    for (size_t i = 0; i < n; i++) {
        const struct fanout_point *pt = &points[i];

        snprintf(figure, sizeof(figure), "fan-out, %u subscription(s): delivered", pt->count);
        if (!pt->done) {
            skipped_row(b, figure, "did not finish: see ODD");
            continue;
        }
        snprintf(measured, sizeof(measured), "%s ev/s", bench_num(pt->delivered_rate));
        snprintf(reference_text, sizeof(reference_text), "%s filter evaluations/s",
                 bench_num(pt->filtered_rate));
        add_row(b, figure, measured, reference_text, 0, -1);
        cost_row(b, "  vaned CPU per event per subscription", pt->cost_us, pt,
                 pt != first && first->done ? first->cost_us : 0, first->count);
        if (pt->marginal_us <= 0)
            continue;
        cost_row(b, "  CPU per event per added subscription", pt->marginal_us, pt,
                 marginal_base ? marginal_base->marginal_us : 0,
                 marginal_base ? marginal_base->count : 0);
        if (marginal_base == NULL)
            marginal_base = pt;
    }
}

/* The marginal cost: what each subscription past the first count's adds per event. */
static void fanout_marginal(struct fanout_point *points, size_t n, uint64_t events)
{
    const struct fanout_point *first = &points[0];

    for (size_t i = 1; i < n; i++)
        if (first->done && points[i].done && points[i].count > first->count)
            points[i].marginal_us = (points[i].cpu_s - first->cpu_s) /
                                    ((double)events *
                                     (double)(points[i].count - first->count)) * 1e6;
}

static void phase_fanout(struct bench *b)
{
    unsigned counts[MAX_FANOUT];
    struct fanout_point points[MAX_FANOUT];
    size_t n = fanout_counts(b->cfg.fanout, counts);

    for (size_t i = 0; i < n; i++)
        fanout_run(b, counts[i], &points[i]);
    fanout_marginal(points, n, b->cfg.fanout_events);
    printf("fan-out curve: %s events of as many types as subscriptions, each subscription an "
           "exact filter on its type; timed from the first publish to the last delivery\n",
           bench_num((double)b->cfg.fanout_events));
    printf("  %13s %11s %15s %21s %10s %14s %14s\n", "subscriptions", "created in",
           "delivered ev/s", "filter evaluations/s", "vaned CPU", "CPU/event/sub",
           "CPU/event/+sub");
    for (size_t i = 0; i < n; i++) {
        const struct fanout_point *pt = &points[i];

        if (!pt->done) {
            printf("  %13u (did not finish)\n", pt->count);
            continue;
        }
        printf("  %13u %9.2f s %15s %21s %8.2f s %11.2f us", pt->count, pt->created_s,
               bench_num(pt->delivered_rate), bench_num(pt->filtered_rate), pt->cpu_s, pt->cost_us);
        if (pt->marginal_us > 0)
            printf(" %11.2f us", pt->marginal_us);
        printf("\n");
    }
    fanout_rows(b, points, n);
}

/* Publishes one event in binary mode and waits for the answer; false when not 2xx. */
static bool publish_one(const struct vaned *v, const char *id)
{
    char *url = vane_asprintf("%s/gateway/" BUS, v->url), *id_line = vane_asprintf("ce-id: %s", id);
    const char *const headers[] = {"ce-specversion: 1.0", id_line, "ce-source: /bench/trigger",
                                   "ce-type: bench.poke", "Content-Type: text/plain", NULL};
    struct http_call call = {"POST", url, headers, data_text, DATA_BYTES, HTTP_1_1};
    struct http_reply reply;
    bool ok;

    memset(&reply, 0, sizeof(reply));
    ok = http_call(&call, &reply) == 0 && reply.status >= 200 && reply.status < 300;
    http_reply_free(&reply);
    vane_free(id_line);
    vane_free(url);
    return ok;
}

/*
 * Waits for every published event to be delivered after the recovery, and
 * reports when they were not.  After a stall (no progress for
 * STALL_TIMEOUT) one more event is published, to see whether a new event
 * sets delivery going again; *poked says it was.
 */
static void hang_catch_up(struct bench *b, struct phase *ph, uint64_t published,
                          double recovered, struct settled *st, bool *poked)
{
    double poke_at;

    *poked = false;
    wait_settled(ph, (int64_t)published, published, CATCHUP_TIMEOUT, st);
    if (st->done)
        return;
    report_stall(b, ph, st, (int64_t)published, recovered);
    if (!st->stalled || bench_rss_kib(ph->v.pid) == 0)
        return;
    poke_at = bench_now_s();
    if (!publish_one(&ph->v, "poke-0")) {
        bench_odd(&b->odd, "hang: one more event could not be published");
        return;
    }
    *poked = true;
    wait_settled(ph, (int64_t)published + 1, published + 1, CATCHUP_TIMEOUT, st);
    if (st->done)
        bench_odd(&b->odd, "hang: one more event, published %.0f s after the recovery, set the stalled "
            "delivery going again: every event was delivered %.1f s after it (the subscription "
            "sat idle with events unread until a new event arrived)",
            poke_at - recovered, st->end - poke_at);
    else
        report_stall(b, ph, st, (int64_t)published + 1, poke_at);
}

/* Loss and duplicates from the sink's record; a row. */
static void hang_record(struct bench *b, const struct phase *ph, const struct pacer *pc)
{
    struct record_scan scan;
    uint64_t lost, duplicated;
    char measured[32];

    if (!scan_record(ph->record, "hang", pc->planned, &scan)) {
        bench_odd(&b->odd, "hang: cannot read the sink's record %s", ph->record);
        return;
    }
    count_loss(&pc->flow, &scan, pc->planned, &lost, &duplicated);
    printf("hang: the sink recorded %s deliveries (%s of them left hanging); %s events answered "
           "2xx, %s lost, %s answered 2xx more than once\n",
           bench_num((double)scan.lines), bench_num((double)scan.hung), bench_num((double)scan.latencies),
           bench_num((double)lost), bench_num((double)duplicated));
    if (lost + duplicated > 0)
        bench_odd(&b->odd, "hang: %s events published were never answered 2xx, %s were answered 2xx more "
            "than once", bench_num((double)lost), bench_num((double)duplicated));
    snprintf(measured, sizeof(measured), "%s / %s", bench_num((double)lost), bench_num((double)duplicated));
    add_row(b, "  events lost / delivered twice", measured, "0 / 0", 0, lost + duplicated == 0);
    scan_free(&scan);
}

/* Publishing at --hang-rate: --warmup s with the sink answering, --hang s with it hung. */
static double hang_load(struct bench *b, struct phase *ph, struct pacer *pc)
{
    struct sink_counts at_recovery;
    double recovered;

    pacer_start(pc, &ph->v, "hang", (double)b->cfg.hang_rate, b->cfg.warmup + b->cfg.hang);
    run_for(b->cfg.warmup);
    if (sink_set_mode(&ph->sink, "{\"hang\": true}") != 0)
        bench_odd(&b->odd, "hang: the sink did not take the mode {\"hang\": true}");
    pacer_wait_ended(pc);
    if (sink_set_mode(&ph->sink, "{\"status\": 200}") != 0)
        bench_odd(&b->odd, "hang: the sink did not take the mode {\"status\": 200}");
    recovered = bench_now_s();
    sink_counts(&ph->sink, &at_recovery);
    pacer_finish(pc);
    printf("hang: %s events published at %s/s, %.0f s before the sink hung and %.0f s while it "
           "hung, then publishing stopped; at the recovery the sink had answered %s 2xx and "
           "held %s requests hanging\n",
           bench_num((double)pc->flow.ok), bench_num((double)b->cfg.hang_rate), b->cfg.warmup, b->cfg.hang,
           bench_num((double)at_recovery.ok), bench_num((double)at_recovery.hanging));
    if (pc->flow.failed > 0)
        bench_odd(&b->odd, "hang: %s publishes failed (%s)", bench_num((double)pc->flow.failed),
            pc->flow.first_error);
    return recovered;
}

/* The sink hangs under load, then answers again: vaned's memory, and the catch-up. */
static void phase_hang(struct bench *b)
{
    struct sampler rss;
    struct pacer pc;
    struct settled st;
    struct phase ph;
    double recovered;
    char figure[48], measured[32];
    bool poked;

    phase_start(b, &ph, "hang", true);
    subscribe(&ph, "hang", false, "latest", NULL, "/bench");
    sampler_start(&rss, ph.v.pid);
    recovered = hang_load(b, &ph, &pc);
    hang_catch_up(b, &ph, pc.flow.ok, recovered, &st, &poked);
    check_sub_stats(b, &ph, "hang", pc.flow.ok + poked);
    sample(&rss);
    sampler_stop(&rss);
    printf("hang: vaned's RSS %s before the hang, at most %s; %s\n", bench_fmt_mib(rss.first_kib),
           bench_fmt_mib(rss.max_kib),
           st.done && !poked ? "caught up" : poked && st.done ? "caught up after the poke"
                                                              : "did not catch up");
    snprintf(figure, sizeof(figure), "max vaned RSS, sink hung %.0f s", b->cfg.hang);
    add_row(b, figure, bench_fmt_mib(rss.max_kib), "< 256 MiB", rss.max_kib / RSS_LIMIT_KIB,
            rss.max_kib < RSS_LIMIT_KIB);
    if (rss.died)
        bench_odd(&b->odd, "hang: vaned was gone while the sink hung or after");
    if (st.done && !poked) {
        snprintf(measured, sizeof(measured), "%.1f s", st.end - recovered);
        add_row(b, "  catch-up after the sink answers", measured,
                "(no target; retry backoff caps at 60 s)", 0, -1);
    } else {
        add_row(b, "  catch-up after the sink answers", "stalled",
                "every event delivered: see ODD", 0, 0);
    }
    hang_record(b, &ph, &pc);
    pacer_free(&pc);
    phase_stop(b, &ph);
}

/* ---- main ---------------------------------------------------------------------------- */

static void print_header(const struct bench *b)
{
    const struct config *c = &b->cfg;

    printf("bench-trigger%s: vaned %s, sink %s, data in %s (%s), %ld CPUs online (shared by "
           "vaned, the sink and this program); load average before the run %s\n",
           c->quick ? " --quick" : "", c->vaned, c->sink, b->root, bench_fs_name(b->root, NULL),
           sysconf(_SC_NPROCESSORS_ONLN), bench_loadavg_text());
    printf("events: %d B of text data; eventbus with %d eventlogs; the trigger's defaults: "
           "max_inflight %zu events per subscription, window %zu; %s\n",
           DATA_BYTES, EVENTLOGS, trigger_defaults.max_inflight, trigger_defaults.window,
           curl_version());
}

int main(int argc, char **argv)
{
    static struct bench b;

    trigger_options_default(&trigger_defaults);
    if (configure(&b.cfg, argc, argv) != 0)
        return 2;
    if (fanout_counts(b.cfg.fanout, (unsigned[MAX_FANOUT]){0}) == 0) {
        fprintf(stderr, "bench-trigger: --fanout: expected up to %d counts from 1 to 1000 "
                        "separated by commas; got \"%s\"\n", MAX_FANOUT, b.cfg.fanout);
        return 2;
    }
    if (access(b.cfg.vaned, X_OK) != 0 || access(b.cfg.sink, X_OK) != 0) {
        fprintf(stderr, "bench-trigger: --vaned %s or --sink %s is not an executable (%s); build "
                        "them first (make vaned tests/sink-server)\n",
                b.cfg.vaned, b.cfg.sink, strerror(errno));
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    b.root = bench_make_root(b.cfg.dir, "bench-trigger");
    bench_fatal_removes(b.cfg.keep ? NULL : b.root);
    setenv("VANED", b.cfg.vaned, 1);        /* for vaned_start() */
    setenv("SINK_SERVER", b.cfg.sink, 1);   /* for sink_start() */
    setenv("TMPDIR", b.root, 1);            /* the logs go with the run */
    memset(data_text, 'x', DATA_BYTES);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    uv_loop_init(&loop);
    if (http_client_create(&http, &loop) != 0)
        bench_fatal("cannot create the HTTP client");
    batch_headers = curl_slist_append(NULL, "Content-Type: application/cloudevents-batch+json");
    batch_headers = curl_slist_append(batch_headers, "Expect:");
    print_header(&b);
    if (!bench_listed(b.cfg.only, "binary") && !bench_listed(b.cfg.only, "batch") &&
        !bench_listed(b.cfg.only, "latency") && !bench_listed(b.cfg.only, "fanout") &&
        !bench_listed(b.cfg.only, "hang"))
        printf("--only %s names none of this program's phases (binary, batch, latency, fanout, "
               "hang): nothing to run\n", b.cfg.only);
    if (bench_listed(b.cfg.only, "binary"))
        phase_throughput(&b, false);
    if (bench_listed(b.cfg.only, "batch"))
        phase_throughput(&b, true);
    if (bench_listed(b.cfg.only, "latency"))
        phase_latency(&b);
    if (bench_listed(b.cfg.only, "fanout"))
        phase_fanout(&b);
    if (bench_listed(b.cfg.only, "hang"))
        phase_hang(&b);
    bench_table_print(&b.table, "(ratio = measured / target or reference; for the latency, cost "
                                 "and memory rows lower is better)");
    printf("load average after the run: %s\n", bench_loadavg_text());
    if (b.odd > 0)
        printf("%u ODD line(s) above: read them before trusting the figures\n", b.odd);
    http_client_close(http, NULL, NULL); /* its handles close as the loop runs dry */
    harness_loop_close(&loop);
    curl_slist_free_all(batch_headers);
    if (!b.cfg.keep)
        harness_rmtree(vane_strdup(b.root));
    else
        printf("data kept in %s\n", b.root);
    vane_free(b.root);
    return 0;
}
