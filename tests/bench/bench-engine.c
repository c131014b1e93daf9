/*
 * bench-engine.c -- the figures of plugins, Lua scripts and the connector
 * engine (issue 6), each beside its target and a reference measured in the
 * same run.  Run by `make bench`; `--help` lists the knobs.
 *
 * Design.  Three phases (--only picks some):
 *
 *   - lua: in-process, on one libuv loop, so events/s is per core.  A store
 *     opened in a fresh directory (store.h), the eventbus "bench" with one
 *     eventlog, N events (--events) of about 1 KiB of JSON appended in
 *     batches (eventlog_append, APPEND_OUTSTANDING batches in flight); a
 *     script registry on a folder holding bench.lua, a transform as users
 *     write them (a field added to data, an extension set); and the trigger
 *     (trigger.h) whose router is a null sink: it serves every subscription
 *     and settles every delivery as delivered -- later, as trigger.h's
 *     contract asks, from a uv_idle handle on the next turn of the loop.
 *     A subscription is created through the controller at offset 0 with
 *     the spec {} (the reference: the same path, no transform), timed from
 *     its creation until trigger_stats() counts N delivered (a 1 ms timer
 *     polls), and deleted; then the same with {"transformer": {"lua":
 *     "bench"}}.  Besides events/s of wall time, the process's CPU seconds
 *     over the window and events per CPU-second.  The null sink decodes the
 *     first record of each subscription's first delivery, to see that the
 *     transform did (or, for the reference, did not) change the event.
 *   - coldstart: a real vaned (tests/harness.h's vaned_start, with a config
 *     file naming the built connectors/ folder), the eventbus "bench" and a
 *     source-http connector "hook" with min 0 and idle_timeout 300ms.
 *     --coldstarts times: wait (bounded) until its status says no instance
 *     runs and no process is left, then time a JSON POST /connectors/hook
 *     until its answer (202: the source answers once the event is
 *     durable); the reference is the same request sent right after, to the
 *     instance now warm.  Median and max, and the instances' own "ready in"
 *     times from vaned's log (spawn to READY, a part of the cold start).
 *   - scale: the same vaned, a subscription "scale" of "bench" (from
 *     latest, no sink) served by a sink-http connector "drain" with min 0,
 *     concurrency 8 and idle_timeout 2s, delivering to a tests/sink-server
 *     that answers after delay_ms 20, so one instance alone is slow.  A
 *     thread publishes the events in batch publishes of PUBLISH_BATCH while
 *     this thread polls the connector's status and the sink's counters
 *     every SCALE_POLL_MS, ending a row every SCALE_ROW_MS (time, running,
 *     queued, received in the interval, events/s), until the sink has every
 *     event and the instances are back to min 0 (with a deadline).  Two
 *     runs: the reference with max 1 (a tenth of M, rows not printed), then
 *     max SCALE_MAX (PUT on the connector) with M events (--scale-events),
 *     rows printed.  Instances scale out within the first row, so the
 *     reference is what gives events/s at 1 instance.  The summary: the
 *     most instances seen (target: max), events/s at max beside events/s
 *     at 1 (each over the busy rows that began and ended at that count),
 *     and the time from the last delivery to running == min (target:
 *     idle_timeout plus two rows).
 *
 * "ODD:" lines report what should not happen: a failed transform, a
 * dead letter, a retry, a transform that did not change the event, a
 * request not answered 202, events lost or delivered twice, a connector
 * instance restarted, warnings or errors in vaned's log, a process that did
 * not exit cleanly.
 *
 * Exit status 0 once measured (a missed target included), 1 when the
 * benchmark could not run, 2 for a bad option.  Every wait has a deadline;
 * children die with this program (the harness sets PR_SET_PDEATHSIG); all
 * files go to a fresh directory under --dir (default /work/bench-tmp),
 * removed at the end unless --keep.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "../harness.h"
#include "controller/controller.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "event/event.h"
#include "script/script_registry.h"
#include "store/record.h"
#include "store/store.h"
#include "trigger/trigger.h"

#include "bench-util.h"
#include "bench-vaned.h"

#define BUS "bench"
#define SCRIPT "bench"
#define LUA_TARGET 300000.0      /* events/s per core with a Lua transform */
#define COLD_TARGET_MS 50.0      /* first request to a connector at 0 instances */
#define DATA_FILLER 760          /* bytes of text in each in-process event's data */
#define APPEND_BATCH 256         /* events per eventlog_append */
#define APPEND_OUTSTANDING 16    /* appends in flight */
#define POLL_MS 1                /* trigger_stats() is read this often */
#define PUBLISH_BATCH 1000       /* events per batch publish of the scale phase */
#define SCALE_MAX 4              /* the sink connector's max */
#define SCALE_CONCURRENCY 8
#define SCALE_IDLE_S 2.0
#define SINK_DELAY_MS 20
#define SCALE_POLL_MS 50         /* status and sink polled this often */
#define SCALE_ROW_MS 250         /* a row printed this often */
#define COLD_IDLE "300ms"
#define IDLE_WAIT_S 15.0         /* for a connector to be back at 0 instances */
#define STOP_TIMEOUT_MS 15000
#define MAX_COLDSTARTS 1000

/* ---- configuration ------------------------------------------------------- */

struct bench_config {
    const char *dir, *vaned, *sink, *connectors, *only;
    uint64_t events, coldstarts, scale_events;
    bool quick, keep;
};

static const struct bench_knob knobs[] = {
    BENCH_KNOB_DIR(struct bench_config),
    BENCH_KNOB_VANED(struct bench_config),
    {"--sink", "SINK_SERVER", BENCH_KNOB_TEXT, offsetof(struct bench_config, sink),
     "the HTTP sink, tests/sink-server (default ./tests/sink-server)"},
    {"--connectors", "BENCH_CONNECTORS", BENCH_KNOB_TEXT, offsetof(struct bench_config, connectors),
     "folder of the built connectors (default ./connectors)"},
    {"--only", "BENCH_ONLY", BENCH_KNOB_TEXT, offsetof(struct bench_config, only),
     "phases to run: lua,coldstart,scale (default all)"},
    {"--events", "BENCH_EVENTS", BENCH_KNOB_COUNT, offsetof(struct bench_config, events),
     "events through the trigger in the lua phase (1M; --quick 100k)"},
    {"--coldstarts", "BENCH_COLDSTARTS", BENCH_KNOB_COUNT, offsetof(struct bench_config, coldstarts),
     "cold starts timed (10; --quick 3)"},
    {"--scale-events", "BENCH_SCALE_EVENTS", BENCH_KNOB_COUNT,
     offsetof(struct bench_config, scale_events),
     "events of the max-4 run of the scale phase (20k; --quick 4k; the max-1 run a tenth)"},
};

#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

static const struct bench_cli cli = {
    "bench-engine", "fewer events and cold starts, a smoke test", 22, knobs, NKNOBS,
    0.1, false, 1e9,
};

static void config_defaults(struct bench_config *c, bool quick)
{
    memset(c, 0, sizeof(*c));
    c->dir = BENCH_DEFAULT_PARENT;
    c->vaned = "./vaned";
    c->sink = "./tests/sink-server";
    c->connectors = "./connectors";
    c->quick = quick;
    c->events = quick ? 100000 : 1000000;
    c->coldstarts = quick ? 3 : 10;
    c->scale_events = quick ? 4000 : 20000;
}

struct bench {
    struct bench_config cfg;
    char *root;
    char connectors[PATH_MAX]; /* --connectors, absolute */
    struct bench_table table;
    unsigned odd;
};

/* ---- small helpers ----------------------------------------------------------- */

/* CPU seconds of the calling thread: the loop's, in the lua phase. */
static double thread_cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The median of n values (sorted here). */
static double median(double *values, size_t n)
{
    if (n == 0)
        return 0;
    qsort(values, n, sizeof(*values), compare_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char *path = harness_write_file(dir, name, text);

    if (path == NULL)
        bench_fatal("cannot write %s/%s", dir, name);
    vane_free(path);
}

/* ================================================================================
 * Phase lua: the trigger in-process, with a null sink
 * ================================================================================ */

static const char transform_script[] =
    "function transform(e)\n"
    "  e.data.seen = true\n"
    "  e.xprocessed = \"yes\"\n"
    "  return e\n"
    "end\n";

/* ---- the null sink: a trigger_sink_router that settles every delivery ------------- */

struct settle {
    trigger_sink_done_cb done; /* NULL: cancelled */
    void *ctx;
};

struct settle_list {
    struct settle *items;
    size_t count, cap;
};

/* What the first record of a subscription's first delivery looked like. */
struct inspection {
    char subscription[64];
    bool seen, has_extension, data_marked;
};

struct null_sink {
    uv_idle_t idle;
    struct settle_list queued, settling; /* settling: the batch being answered now */
    struct inspection inspected;
};

static void on_sink_idle(uv_idle_t *idle);

static bool sink_serves(void *arg, const char *subscription)
{
    (void)arg;
    (void)subscription;
    return true;
}

/* Decodes the first record: has the transform set xprocessed and data.seen? */
static void inspect(struct inspection *in, const char *subscription, const void *records,
                    size_t len)
{
    struct record_view view;
    struct event event = EVENT_INIT;
    const char *why;
    json_t *data;

    if (in->seen && strcmp(in->subscription, subscription) == 0)
        return;
    memset(in, 0, sizeof(*in));
    snprintf(in->subscription, sizeof(in->subscription), "%s", subscription);
    in->seen = true;
    if (record_decode_unsealed(records, len, &view, &why) != 0)
        return;
    record_to_event(&view, &event);
    in->has_extension = event_get(&event, "xprocessed") != NULL;
    data = json_loadb(event.data.ptr, event.data.len, 0, NULL);
    in->data_marked = json_is_true(json_object_get(data, "seen"));
    json_decref(data);
    event_free(&event);
}

static int sink_deliver(void *arg, const char *subscription, const void *records, size_t len,
                        size_t count, trigger_sink_done_cb done, void *ctx)
{
    struct null_sink *ns = arg;
    struct settle_list *q = &ns->queued;

    (void)count;
    inspect(&ns->inspected, subscription, records, len);
    if (q->count == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 512;
        q->items = vane_realloc(q->items, q->cap * sizeof(*q->items));
    }
    q->items[q->count++] = (struct settle){done, ctx};
    if (!uv_is_active((uv_handle_t *)&ns->idle))
        uv_idle_start(&ns->idle, on_sink_idle);
    return 0;
}

/* Forgets ctx, queued or about to be answered. */
static void sink_cancel(void *arg, void *ctx)
{
    struct null_sink *ns = arg;
    struct settle_list *lists[] = {&ns->queued, &ns->settling};

    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < lists[l]->count; i++)
            if (lists[l]->items[i].ctx == ctx)
                lists[l]->items[i].done = NULL;
}

/* A turn of the loop later: every delivery queued so far is delivered. */
static void on_sink_idle(uv_idle_t *idle)
{
    struct null_sink *ns = idle->data;
    struct settle_list swap = ns->settling;

    ns->settling = ns->queued; /* what done() delivers next goes to the emptied list */
    ns->queued = swap;
    ns->queued.count = 0;
    for (size_t i = 0; i < ns->settling.count; i++)
        if (ns->settling.items[i].done != NULL)
            ns->settling.items[i].done(ns->settling.items[i].ctx, 0, NULL);
    ns->settling.count = 0;
    if (ns->queued.count == 0)
        uv_idle_stop(idle);
}

static void null_sink_init(struct null_sink *ns, uv_loop_t *loop,
                           struct trigger_sink_router *router)
{
    memset(ns, 0, sizeof(*ns));
    uv_idle_init(loop, &ns->idle);
    ns->idle.data = ns;
    *router = (struct trigger_sink_router){sink_serves, sink_deliver, sink_cancel, ns, NULL};
}

static void null_sink_free(struct null_sink *ns)
{
    vane_free(ns->queued.items);
    vane_free(ns->settling.items);
}

/* ---- the in-process broker --------------------------------------------------------- */

struct inproc {
    uv_loop_t loop;
    struct store *store;
    struct script_registry *scripts;
    struct trigger *trigger;
    struct null_sink sink;
    struct trigger_sink_router router;
    char *data_dir, *script_dir;
};

/* A callback's answer, waited for with harness_loop_until(). */
struct answer {
    bool done;
    int status;
};

static void on_store_ready(struct store *store, int status, void *arg)
{
    struct answer *a = arg;

    (void)store;
    a->status = status;
    a->done = true;
}

static void on_bus_created(void *arg, int status, const struct eventbus_meta *bus)
{
    struct answer *a = arg;

    (void)bus;
    a->status = status;
    a->done = true;
}

static void on_done(void *arg)
{
    ((struct answer *)arg)->done = true;
}

static void wait_answer(struct inproc *ip, struct answer *a, double seconds, const char *what)
{
    if (!harness_loop_until(&ip->loop, &a->done, (int)(seconds * 1000)))
        bench_fatal("lua: %s: no answer in %.0f s", what, seconds);
    if (a->status != 0)
        bench_fatal("lua: %s: %s", what, vane_strerror(a->status));
}

static void open_store(struct bench *b, struct inproc *ip)
{
    struct store_options options;
    struct eventbus_meta spec = {.name = BUS, .eventlog_count = 1};
    struct answer a = {0};
    char *errmsg = NULL;

    ip->data_dir = vane_asprintf("%s/data-lua", b->root);
    store_options_default(&options);
    if (store_open(&ip->store, &ip->loop, ip->data_dir, &options, on_store_ready, &a, &errmsg) !=
        0)
        bench_fatal("lua: cannot open the store in %s: %s", ip->data_dir, errmsg);
    wait_answer(ip, &a, 60, "the store");
    memset(&a, 0, sizeof(a));
    if (store_create_eventbus(ip->store, &spec, on_bus_created, &a, &errmsg) != 0)
        bench_fatal("lua: cannot create the eventbus " BUS ": %s", errmsg);
    wait_answer(ip, &a, 30, "creating the eventbus " BUS);
}

/* ---- N events appended --------------------------------------------------------------- */

/* APPEND_BATCH events of about 1 KiB of GitHub-like JSON, appended again and again. */
struct sample_batch {
    struct event events[APPEND_BATCH];
    char ids[APPEND_BATCH][24];
    char *data[APPEND_BATCH];
};

static char *event_data(size_t i)
{
    char filler[DATA_FILLER + 1];

    memset(filler, 'x', DATA_FILLER);
    filler[DATA_FILLER] = '\0';
    return vane_asprintf(
        "{\"ref\":\"refs/heads/main\",\"repository\":{\"id\":%zu,\"name\":\"vane\","
        "\"full_name\":\"vane/vane\",\"private\":false},\"pusher\":{\"name\":\"dev\","
        "\"email\":\"dev@example.com\"},\"commits\":[{\"id\":\"%040zu\",\"message\":\"%s\","
        "\"distinct\":true}]}",
        i, i, filler);
}

static void sample_batch_init(struct sample_batch *s)
{
    for (size_t i = 0; i < APPEND_BATCH; i++) {
        struct event *e = &s->events[i];

        snprintf(s->ids[i], sizeof(s->ids[i]), "bench-%zu", i);
        s->data[i] = event_data(i);
        *e = (struct event)EVENT_INIT;
        event_add_string(e, "specversion", EVENT_STRING, "1.0");
        event_add_string(e, "id", EVENT_STRING, s->ids[i]);
        event_add_string(e, "source", EVENT_URI_REF, "https://github.com/vane/vane");
        event_add_string(e, "type", EVENT_STRING, "com.github.push");
        event_add_string(e, "subject", EVENT_STRING, "refs/heads/main");
        event_add_string(e, "time", EVENT_TIMESTAMP, "2024-05-01T10:00:00.123Z");
        event_add_string(e, "datacontenttype", EVENT_STRING, "application/json");
        event_set_data(e, s->data[i], strlen(s->data[i]));
    }
}

static void sample_batch_free(struct sample_batch *s)
{
    for (size_t i = 0; i < APPEND_BATCH; i++) {
        event_free(&s->events[i]);
        vane_free(s->data[i]);
    }
}

struct appender {
    struct eventlog *log;
    const struct sample_batch *batch;
    uint64_t total, issued, acked;
    size_t outstanding;
    int error;
    bool done;
};

struct append_call {
    struct appender *a;
    size_t count;
};

static void append_more(struct appender *a);

static void on_appended(void *arg, int status, uint64_t first_offset)
{
    struct append_call *call = arg;
    struct appender *a = call->a;

    (void)first_offset;
    a->outstanding--;
    if (status != 0 && a->error == 0)
        a->error = status;
    if (status == 0)
        a->acked += call->count;
    vane_free(call);
    append_more(a);
}

static void append_more(struct appender *a)
{
    while (a->error == 0 && a->outstanding < APPEND_OUTSTANDING && a->issued < a->total) {
        struct append_call *call = VANE_NEW(call);
        uint64_t left = a->total - a->issued;
        int rc;

        call->a = a;
        call->count = left < APPEND_BATCH ? (size_t)left : APPEND_BATCH;
        if ((rc = eventlog_append(a->log, a->batch->events, call->count, on_appended, call)) !=
            0) {
            a->error = rc;
            vane_free(call);
            break;
        }
        a->issued += call->count;
        a->outstanding++;
    }
    a->done = a->outstanding == 0 && (a->error != 0 || a->acked == a->total);
}

static void append_events(struct bench *b, struct inproc *ip)
{
    static struct sample_batch samples;
    struct appender a = {.total = b->cfg.events, .batch = &samples};
    double t0 = bench_now_s(), timeout = 60 + (double)b->cfg.events / 20000;
    size_t record = 0;

    sample_batch_init(&samples);
    for (size_t i = 0; i < APPEND_BATCH; i++)
        record += record_size(&samples.events[i]);
    a.log = store_bus(ip->store, BUS)->logs[0];
    append_more(&a);
    if (!harness_loop_until(&ip->loop, &a.done, (int)(timeout * 1000)) || a.error != 0)
        bench_fatal("lua: appending %s events: %s of them durable after %.1f s (%s)",
                    bench_num((double)a.total), bench_num((double)a.acked), bench_now_s() - t0,
                    a.error ? vane_strerror(a.error) : "timed out");
    printf("lua: appended %s events of %zu B stored (%zu B of JSON data) in %.2f s, %d per "
           "append\n",
           bench_num((double)a.total), record / APPEND_BATCH, strlen(samples.data[0]),
           bench_now_s() - t0, APPEND_BATCH);
    sample_batch_free(&samples);
}

/* ---- a subscription timed through the trigger ------------------------------------------ */

struct sub_run {
    struct trigger *trigger;
    uint64_t want, id;
    uv_timer_t poll;
    bool reached;
    double t0, t_end, cpu0, cpu_end, thread0, thread_end;
    struct trigger_stats stats;
};

static void on_poll(uv_timer_t *timer)
{
    struct sub_run *run = timer->data;

    if (!trigger_stats(run->trigger, run->id, &run->stats) || run->stats.delivered < run->want)
        return;
    run->t_end = bench_now_s();
    run->cpu_end = bench_cpu_seconds(getpid());
    run->thread_end = thread_cpu_s();
    run->reached = true;
    uv_timer_stop(timer);
}

static void on_sub_created(void *arg, int status, const struct subscription_meta *sub)
{
    struct sub_run *run = arg;

    if (status != 0)
        bench_fatal("lua: creating a subscription: %s", vane_strerror(status));
    run->id = sub->id;
    uv_timer_start(&run->poll, on_poll, POLL_MS, POLL_MS);
}

/* Creates the subscription name with spec (JSON text) at offset 0 and waits for N delivered. */
static void time_subscription(struct bench *b, struct inproc *ip, const char *name,
                              const char *spec_text, struct sub_run *run)
{
    json_t *spec = json_loads(spec_text, 0, NULL);
    struct subscription_meta meta = {.name = (char *)name, .eventbus = BUS, .spec = spec,
                                     .offset_count = 1};
    double timeout = 60 + (double)b->cfg.events / 10000;
    char *errmsg = NULL;

    memset(run, 0, sizeof(*run));
    run->trigger = ip->trigger;
    run->want = b->cfg.events;
    uv_timer_init(&ip->loop, &run->poll);
    run->poll.data = run;
    run->t0 = bench_now_s();
    run->cpu0 = bench_cpu_seconds(getpid());
    run->thread0 = thread_cpu_s();
    if (controller_create_subscription(store_controller(ip->store), &meta, on_sub_created, run,
                                       &errmsg) != 0)
        bench_fatal("lua: subscription %s: %s", name, errmsg);
    json_decref(spec);
    if (!harness_loop_until(&ip->loop, &run->reached, (int)(timeout * 1000)))
        bench_fatal("lua: subscription %s: %s of %s events delivered after %.0f s", name,
                    bench_num((double)run->stats.delivered), bench_num((double)run->want),
                    timeout);
    uv_close((uv_handle_t *)&run->poll, NULL);
    uv_run(&ip->loop, UV_RUN_NOWAIT);
}

static void on_sub_deleted(void *arg, int status, const struct subscription_meta *sub)
{
    struct answer *a = arg;

    (void)sub;
    a->status = status;
    a->done = true;
}

/* Deletes the subscription: its worker stops, the null sink forgets what it held. */
static void delete_subscription(struct inproc *ip, const struct sub_run *run)
{
    struct answer a = {0};

    if (controller_delete_subscription(store_controller(ip->store), run->id, on_sub_deleted,
                                       &a) != 0)
        bench_fatal("lua: cannot delete subscription %" PRIu64, run->id);
    wait_answer(ip, &a, 30, "deleting the reference subscription");
}

/* The run's line, and ODD lines for what a null sink should never see. */
static void report_run(struct bench *b, const char *what, const struct sub_run *run,
                       const struct inspection *seen, bool transformed)
{
    const struct trigger_stats *s = &run->stats;
    double took = run->t_end - run->t0, cpu = run->cpu_end - run->cpu0;
    double thread_cpu = run->thread_end - run->thread0;

    printf("lua: %s: %s events in %.2f s = %s ev/s on the loop thread; process CPU %.2f s "
           "(the loop thread %.2f s) = %s events per CPU-second\n",
           what, bench_num((double)run->want), took, bench_num((double)run->want / took), cpu,
           thread_cpu, bench_num((double)run->want / cpu));
    if (thread_cpu < 0.9 * took)
        bench_odd(&b->odd, "lua: %s: the loop thread was on a CPU %.0f%% of the window (load "
                  "average %s): events/s of wall time understate one core, which did %s events "
                  "per CPU-second of the loop thread", what, 100 * thread_cpu / took,
                  bench_loadavg_text(), bench_num((double)run->want / thread_cpu));
    if (s->failed_transform + s->dead_lettered + s->retried + s->filtered > 0)
        bench_odd(&b->odd, "lua: %s: %s failed transforms, %s dead letters, %s retries, %s "
                  "filtered out (all should be 0)", what,
                  bench_num((double)s->failed_transform), bench_num((double)s->dead_lettered),
                  bench_num((double)s->retried), bench_num((double)s->filtered));
    if (!seen->seen)
        bench_odd(&b->odd, "lua: %s: the null sink saw no delivery", what);
    else if ((seen->has_extension && seen->data_marked) != transformed ||
             seen->has_extension != seen->data_marked)
        bench_odd(&b->odd, "lua: %s: a delivered event has xprocessed %s and data.seen %s; "
                  "expected both %s", what, seen->has_extension ? "set" : "unset",
                  seen->data_marked ? "true" : "unset", transformed ? "set" : "unset");
}

static void lua_rows(struct bench *b, const struct sub_run *ref, const struct sub_run *lua)
{
    double ref_rate = (double)ref->want / (ref->t_end - ref->t0);
    double rate = (double)lua->want / (lua->t_end - lua->t0);
    double per_cpu = (double)lua->want / (lua->cpu_end - lua->cpu0);
    char measured[32], reference[48];

    snprintf(measured, sizeof(measured), "%s ev/s", bench_num(rate));
    bench_table_add(&b->table, "Lua transform, null sink, 1 core", measured, ">= 300,000 ev/s",
                    rate / LUA_TARGET, rate >= LUA_TARGET);
    snprintf(reference, sizeof(reference), "%s ev/s without transform", bench_num(ref_rate));
    bench_table_add(&b->table, "  vs the same path, no transform", measured, reference,
                    rate / ref_rate, -1);
    snprintf(measured, sizeof(measured), "%s ev/CPU-s", bench_num(per_cpu));
    snprintf(reference, sizeof(reference), "%s ev/CPU-s without",
             bench_num((double)ref->want / (ref->cpu_end - ref->cpu0)));
    bench_table_add(&b->table, "  per CPU-second of the process", measured, reference,
                    per_cpu / ((double)ref->want / (ref->cpu_end - ref->cpu0)), -1);
}

static void start_scripts_and_trigger(struct bench *b, struct inproc *ip)
{
    struct script_options script_options;
    struct trigger_options options;
    int rc;

    ip->script_dir = vane_asprintf("%s/scripts", b->root);
    if (mkdir(ip->script_dir, 0755) != 0)
        bench_fatal("lua: cannot create %s: %s", ip->script_dir, strerror(errno));
    write_file(ip->script_dir, SCRIPT ".lua", transform_script);
    script_options_default(&script_options);
    script_options.dirs = ip->script_dir;
    if (script_registry_start(&ip->scripts, &ip->loop, &script_options) != 0 ||
        script_registry_running(ip->scripts) != 1)
        bench_fatal("lua: the script %s/" SCRIPT ".lua did not load", ip->script_dir);
    null_sink_init(&ip->sink, &ip->loop, &ip->router);
    trigger_options_default(&options);
    options.router = &ip->router;
    options.scripts = ip->scripts;
    if ((rc = trigger_start(&ip->trigger, &ip->loop, ip->store, NULL, &options)) != 0)
        bench_fatal("lua: the trigger did not start: %s", vane_strerror(rc));
    printf("lua: the trigger's defaults: max_inflight %zu events per subscription, binary mode "
           "(one event per delivery); the script:\n%s",
           options.max_inflight, transform_script);
}

/* The trigger, the scripts and the store closed in the daemon's order; the loop closed. */
static void close_inproc(struct bench *b, struct inproc *ip)
{
    struct answer trigger_closed = {0}, store_closed = {0};

    trigger_close(ip->trigger, on_done, &trigger_closed);
    if (!harness_loop_until(&ip->loop, &trigger_closed.done, 30000))
        bench_odd(&b->odd, "lua: the trigger did not close in 30 s");
    script_registry_close(ip->scripts);
    store_close(ip->store, on_done, &store_closed);
    if (!harness_loop_until(&ip->loop, &store_closed.done, 30000))
        bench_odd(&b->odd, "lua: the store did not close in 30 s");
    uv_close((uv_handle_t *)&ip->sink.idle, NULL);
    if (harness_loop_close(&ip->loop) != 0)
        bench_odd(&b->odd, "lua: a handle was left open on the loop");
    null_sink_free(&ip->sink);
    if (!b->cfg.keep)
        bench_rmtree(ip->data_dir);
    vane_free(ip->data_dir);
    vane_free(ip->script_dir);
}

static void phase_lua(struct bench *b)
{
    struct inproc ip;
    struct sub_run ref, lua;

    memset(&ip, 0, sizeof(ip));
    uv_loop_init(&ip.loop);
    open_store(b, &ip);
    append_events(b, &ip);
    start_scripts_and_trigger(b, &ip);
    time_subscription(b, &ip, "reference", "{}", &ref);
    report_run(b, "no transform (reference)", &ref, &ip.sink.inspected, false);
    delete_subscription(&ip, &ref);
    time_subscription(b, &ip, "lua", "{\"transformer\": {\"lua\": \"" SCRIPT "\"}}", &lua);
    report_run(b, "Lua transform", &lua, &ip.sink.inspected, true);
    lua_rows(b, &ref, &lua);
    close_inproc(b, &ip);
}

/* ================================================================================
 * Phases coldstart and scale: a real vaned and its connectors
 * ================================================================================ */

/* One HTTP call (a fresh connection, as the harness makes them); the answer's JSON in *answer
 * when asked and parseable.  Returns the status, 0 when no answer came; *took its seconds. */
static long call(const char *method, const char *url, const char *body, json_t **answer,
                 double *took)
{
    const char *const headers[] = {"Content-Type: application/json", NULL};
    struct http_call c = {method, url, headers, body, body ? strlen(body) : 0, HTTP_1_1};
    struct http_reply reply;
    double t0 = bench_now_s();
    long status;

    memset(&reply, 0, sizeof(reply));
    status = http_call(&c, &reply) == 0 ? reply.status : 0;
    if (took != NULL)
        *took = bench_now_s() - t0;
    if (answer != NULL)
        *answer = reply.body ? json_loads(reply.body, 0, NULL) : NULL;
    http_reply_free(&reply);
    return status;
}

static json_t *admin_get(const struct vaned *v, const char *path)
{
    char *url = vane_asprintf("%s%s", v->url, path);
    json_t *answer = NULL;

    if (call("GET", url, NULL, &answer, NULL) != 200) {
        json_decref(answer);
        answer = NULL;
    }
    vane_free(url);
    return answer;
}

/* POSTs body to the admin API; anything but 201 ends the benchmark. */
static void admin_create(const struct vaned *v, const char *path, const char *body)
{
    char *url = vane_asprintf("%s%s", v->url, path);
    json_t *answer = NULL;
    long status = call("POST", url, body, &answer, NULL);
    char *text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;

    if (status != 201)
        bench_fatal("POST %s %s: answered %ld %s", path, body, status, text ? text : "");
    free(text);
    json_decref(answer);
    vane_free(url);
}

/* A connector's status: running, starting, queued, processes (instances, stopping ones too). */
struct conn_status {
    json_int_t running, queued, processes, restarts;
    bool read;
};

static struct conn_status connector_status(const struct vaned *v, const char *name)
{
    char *path = vane_asprintf("/api/v1/connectors/%s", name);
    json_t *body = admin_get(v, path), *st = json_object_get(body, "status");
    struct conn_status s = {0};

    s.read = json_is_object(st);
    s.running = json_integer_value(json_object_get(st, "running"));
    s.queued = json_integer_value(json_object_get(st, "queued"));
    s.restarts = json_integer_value(json_object_get(st, "restarts"));
    s.processes = (json_int_t)json_array_size(json_object_get(st, "instances"));
    json_decref(body);
    vane_free(path);
    return s;
}

/* The shared vaned: its config names the built connectors. */
struct daemon {
    struct vaned v;
    char *data;
};

static void daemon_start(struct bench *b, struct daemon *d)
{
    char *text = vane_asprintf("return { plugins = { dirs = \"%s\" } }\n", b->connectors);
    char *config;
    const char *args[] = {"--config", NULL, NULL};

    memset(d, 0, sizeof(*d));
    d->data = vane_asprintf("%s/data-vaned", b->root);
    config = harness_write_file(b->root, "vane.lua", text);
    args[1] = config;
    if (config == NULL || vaned_start(&d->v, d->data, args) != 0)
        bench_fatal("vaned (%s) did not start with %s", b->cfg.vaned, config ? config : "");
    admin_create(&d->v, "/api/v1/eventbuses", "{\"name\": \"" BUS "\"}");
    vane_free(config);
    vane_free(text);
}

static void daemon_stop(struct bench *b, struct daemon *d)
{
    int64_t dead = api_stored_count(d->v.url, "__dl_" BUS);

    if (dead > 0)
        bench_odd(&b->odd, "vaned: %s events went to the dead letters (__dl_" BUS ")",
                  bench_num((double)dead));
    bench_vaned_stop(&b->odd, &d->v, "vaned", STOP_TIMEOUT_MS / 1000.0);
    bench_vaned_check_log(&b->odd, &d->v, "vaned");
    vaned_cleanup(&d->v);
    if (!b->cfg.keep)
        bench_rmtree(d->data);
    vane_free(d->data);
}

/* Polls until the connector has no instance running and no process left; false at the deadline. */
static bool wait_no_instance(const struct vaned *v, const char *name, double seconds)
{
    double deadline = bench_now_s() + seconds;

    while (bench_now_s() < deadline) {
        struct conn_status s = connector_status(v, name);

        if (s.read && s.running == 0 && s.processes == 0)
            return true;
        usleep(10 * 1000);
    }
    return false;
}

/* ---- cold start ------------------------------------------------------------------------- */

/* The "instance PID ready in N ms" lines vaned logged for connector name. */
static size_t ready_times(const struct vaned *v, const char *name, double *ms, size_t cap)
{
    char *log = vaned_log(v), *needle = vane_asprintf("connector %s: instance ", name);
    size_t n = 0;

    for (char *at = log ? strstr(log, needle) : NULL; at != NULL && n < cap;
         at = strstr(at + 1, needle)) {
        int pid;
        unsigned long long took;

        if (sscanf(at + strlen(needle), "%d ready in %llu ms", &pid, &took) == 2)
            ms[n++] = (double)took;
    }
    vane_free(needle);
    vane_free(log);
    return n;
}

/* One POST to the source; its seconds, or -1 when not answered 202. */
static double post_hook(struct bench *b, const char *url, const char *kind, uint64_t i)
{
    char body[96];
    double took;
    long status;

    snprintf(body, sizeof(body), "{\"bench\": \"%s\", \"n\": %" PRIu64 "}", kind, i);
    if ((status = call("POST", url, body, NULL, &took)) == 202)
        return took;
    bench_odd(&b->odd, "coldstart: a %s request to the source was answered %ld, not 202", kind,
              status);
    return -1;
}

/* The samples in order, the summary line, and the rows: the cold median and max against the
 * target, beside the warm median.  Sorts cold and warm. */
static void cold_report(struct bench *b, double *cold, size_t ncold, double *warm, size_t nwarm,
                        double *ready, size_t nready)
{
    double cold_median, cold_max, warm_median;
    char figure[48], measured[32], reference[48];

    printf("coldstart: each cold request, in order (ms):");
    for (size_t i = 0; i < ncold; i++)
        printf(" %.1f", cold[i] * 1e3);
    printf("\n");
    cold_median = median(cold, ncold) * 1e3;
    cold_max = cold[ncold - 1] * 1e3;
    warm_median = median(warm, nwarm) * 1e3;
    printf("coldstart: %zu requests to source-http at 0 instances, answered 202 (event durable) "
           "in median %.1f ms, min %.1f, max %.1f; the same request to the warm instance right "
           "after: median %.2f ms; the instances' spawn-to-ready (vaned's log): median %.0f ms "
           "over %zu starts\n",
           ncold, cold_median, cold[0] * 1e3, cold_max, warm_median, median(ready, nready),
           nready);
    snprintf(figure, sizeof(figure), "cold start, source-http, median of %u", (unsigned)ncold);
    snprintf(measured, sizeof(measured), "%.1f ms", cold_median);
    bench_table_add(&b->table, figure, measured, "<= 50 ms", cold_median / COLD_TARGET_MS,
                    cold_median <= COLD_TARGET_MS);
    snprintf(measured, sizeof(measured), "%.1f ms", cold_max);
    bench_table_add(&b->table, "  slowest cold start", measured, "<= 50 ms",
                    cold_max / COLD_TARGET_MS, cold_max <= COLD_TARGET_MS);
    snprintf(measured, sizeof(measured), "%.1f ms", cold_median);
    snprintf(reference, sizeof(reference), "%.2f ms warm (median)", warm_median);
    bench_table_add(&b->table, "  vs the same request, warm", measured, reference,
                    cold_median / warm_median, -1);
}

static void phase_coldstart(struct bench *b, struct daemon *d)
{
    size_t n = b->cfg.coldstarts, ncold = 0, nwarm = 0, nready;
    double *cold = vane_calloc(n, sizeof(double)), *warm = vane_calloc(n, sizeof(double));
    double *ready = vane_calloc(n + 1, sizeof(double));
    char *url = vane_asprintf("%s/connectors/hook", d->v.url);
    struct conn_status s;
    int64_t stored;

    admin_create(&d->v, "/api/v1/connectors",
                 "{\"name\": \"hook\", \"plugin\": \"source-http\", \"eventbus\": \"" BUS "\", "
                 "\"min\": 0, \"idle_timeout\": \"" COLD_IDLE "\"}");
    for (uint64_t i = 0; i < n; i++) {
        double t;

        if (!wait_no_instance(&d->v, "hook", IDLE_WAIT_S)) {
            bench_odd(&b->odd, "coldstart: the connector still had an instance %.0f s after its "
                      "last request (idle_timeout " COLD_IDLE ")", IDLE_WAIT_S);
            break;
        }
        if ((t = post_hook(b, url, "cold", i)) >= 0)
            cold[ncold++] = t;
        if ((t = post_hook(b, url, "warm", i)) >= 0)
            warm[nwarm++] = t;
    }
    s = connector_status(&d->v, "hook");
    stored = api_stored_count(d->v.url, BUS);
    nready = ready_times(&d->v, "hook", ready, n + 1);
    if (s.restarts > 0)
        bench_odd(&b->odd, "coldstart: the source's instances were restarted %lld times",
                  (long long)s.restarts);
    if (stored != (int64_t)(ncold + nwarm))
        bench_odd(&b->odd, "coldstart: %zu requests were answered 202; the eventbus holds %lld "
                  "events", ncold + nwarm, (long long)stored);
    if (ncold == 0 || nwarm == 0)
        bench_table_add(&b->table, "cold start, source-http", "skipped", "no request answered: "
                        "see ODD", 0, 0);
    else
        cold_report(b, cold, ncold, warm, nwarm, ready, nready);
    vane_free(url);
    vane_free(ready);
    vane_free(warm);
    vane_free(cold);
}

/* ---- scale-out ------------------------------------------------------------------------------ */

/* Events published in batches by a thread of its own, while this one watches. */
struct publisher {
    pthread_t thread;
    char *url;
    const char *id_prefix;     /* ids "<prefix>-<n>": unlike every other run's */
    uint64_t total, published; /* published: events answered 200 */
    double took;               /* seconds from the first publish to the last answer */
    char first_error[256];
    bool done;                 /* read with __atomic_load_n */
};

static char *batch_body(const char *id_prefix, uint64_t first, size_t count)
{
    struct vane_buf buf = VANE_BUF_INIT;

    vane_buf_append(&buf, "[", 1);
    for (size_t i = 0; i < count; i++)
        vane_buf_appendf(&buf, "%s{\"specversion\":\"1.0\",\"id\":\"%s-%" PRIu64 "\","
                         "\"source\":\"/bench/engine\",\"type\":\"bench.scale\","
                         "\"datacontenttype\":\"application/json\",\"data\":{\"n\":%" PRIu64
                         "}}",
                         i ? "," : "", id_prefix, first + i, first + i);
    vane_buf_append(&buf, "]", 1);
    return vane_buf_detach(&buf);
}

static void *publish_all(void *arg)
{
    struct publisher *p = arg;
    const char *const headers[] = {"Content-Type: application/cloudevents-batch+json", NULL};
    double t0 = bench_now_s();

    for (uint64_t first = 0; first < p->total; first += PUBLISH_BATCH) {
        size_t count = p->total - first < PUBLISH_BATCH ? (size_t)(p->total - first)
                                                        : PUBLISH_BATCH;
        char *body = batch_body(p->id_prefix, first, count);
        struct http_call c = {"POST", p->url, headers, body, strlen(body), HTTP_1_1};
        struct http_reply reply;

        memset(&reply, 0, sizeof(reply));
        if (http_call(&c, &reply) == 0 && reply.status == 200)
            p->published += count;
        else if (p->first_error[0] == '\0')
            snprintf(p->first_error, sizeof(p->first_error), "HTTP %ld %.200s", reply.status,
                     reply.body ? reply.body : "");
        http_reply_free(&reply);
        vane_free(body);
    }
    p->took = bench_now_s() - t0;
    __atomic_store_n(&p->done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* One reading of the connector and the sink. */
struct reading {
    double t; /* since the first publish */
    struct conn_status conn;
    uint64_t received, ok; /* the sink's requests, and those answered 2xx */
};

/* One run: what the rows and the summary are made of. */
struct scale_watch {
    bool print_rows;
    uint64_t total;                  /* events published in the run */
    uint64_t base_received, base_ok; /* the sink's counts before the run */
    struct reading row_start, last;
    double throughput_events[SCALE_MAX + 1], throughput_s[SCALE_MAX + 1];
    json_int_t most_running;
    double last_delivery; /* first reading with every event answered 2xx; < 0: not yet */
    double back_to_min;   /* first reading after that with running == min; < 0: not yet */
};

static bool read_sink(const struct sink *s, uint64_t *received, uint64_t *ok)
{
    json_t *stats = sink_stats(s), *n;
    const char *status;

    *received = *ok = 0;
    if (stats == NULL)
        return false;
    *received = (uint64_t)json_integer_value(json_object_get(stats, "requests"));
    json_object_foreach(json_object_get(stats, "by_status"), status, n)
        if (status[0] == '2')
            *ok += (uint64_t)json_integer_value(n);
    json_decref(stats);
    return true;
}

static struct reading take_reading(const struct daemon *d, const struct sink *s, double t0)
{
    struct reading r;

    memset(&r, 0, sizeof(r));
    r.conn = connector_status(&d->v, "drain");
    read_sink(s, &r.received, &r.ok);
    r.t = bench_now_s() - t0;
    return r;
}

/* A row from row_start to now (printed when asked); its events/s counted for the instance
 * count when the row began and ended at it with events still to deliver (a busy row). */
static void end_row(struct scale_watch *w, const struct reading *now)
{
    double span = now->t - w->row_start.t;
    uint64_t received = now->received - w->row_start.received;
    json_int_t at = now->conn.running;

    if (w->print_rows)
        printf("  %6.2f %8lld %8lld %9s %9s\n", now->t, (long long)at,
               (long long)now->conn.queued, bench_num((double)received),
               bench_num(span > 0 ? (double)received / span : 0));
    if (at == w->row_start.conn.running && at >= 1 && at <= SCALE_MAX &&
        now->ok - w->base_ok < w->total) {
        w->throughput_events[at] += (double)received;
        w->throughput_s[at] += span;
    }
    w->row_start = *now;
}

/* Polls every SCALE_POLL_MS, ends a row every SCALE_ROW_MS, until every event was delivered
 * and the instances are back to min 0, or the deadline. */
static void watch_scale(const struct daemon *d, const struct sink *s, const struct publisher *p,
                        double t0, double deadline, struct scale_watch *w)
{
    double next_row = SCALE_ROW_MS / 1000.0;

    if (w->print_rows)
        printf("  %6s %8s %8s %9s %9s\n", "t (s)", "running", "queued", "received", "ev/s");
    w->row_start = w->last = take_reading(d, s, t0);
    w->last_delivery = w->back_to_min = -1;
    while (bench_now_s() < deadline) {
        struct reading r = take_reading(d, s, t0);

        w->last = r;
        w->most_running = r.conn.running > w->most_running ? r.conn.running : w->most_running;
        if (w->last_delivery < 0 && r.ok - w->base_ok >= p->total &&
            __atomic_load_n(&p->done, __ATOMIC_ACQUIRE))
            w->last_delivery = r.t;
        if (w->last_delivery >= 0 && w->back_to_min < 0 && r.conn.running == 0)
            w->back_to_min = r.t;
        if (r.t >= next_row || w->back_to_min >= 0) {
            end_row(w, &r);
            next_row += SCALE_ROW_MS / 1000.0;
        }
        if (w->back_to_min >= 0)
            return;
        usleep(SCALE_POLL_MS * 1000);
    }
}

/* events/s at count instances over the steady rows; 0 when no row was steady at count. */
static double rate_at(const struct scale_watch *w, int count)
{
    return w->throughput_s[count] > 0 ? w->throughput_events[count] / w->throughput_s[count] : 0;
}

/* Every event answered once, by the sink's counts; no instance restarted. */
static void check_run(struct bench *b, const char *what, const struct scale_watch *w,
                      const struct publisher *p)
{
    uint64_t received = w->last.received - w->base_received, ok = w->last.ok - w->base_ok;

    if (p->published != p->total)
        bench_odd(&b->odd, "scale, %s: %s of %s events published (%s)", what,
                  bench_num((double)p->published), bench_num((double)p->total), p->first_error);
    if (ok != p->published || received != p->published)
        bench_odd(&b->odd, "scale, %s: the sink received %s requests, %s answered 2xx, for %s "
                  "events", what, bench_num((double)received), bench_num((double)ok),
                  bench_num((double)p->published));
    if (w->last.conn.restarts > 0)
        bench_odd(&b->odd, "scale, %s: the sink's instances were restarted %lld times", what,
                  (long long)w->last.conn.restarts);
    if (w->back_to_min < 0)
        bench_odd(&b->odd, "scale, %s: by the deadline the sink had %s of %s events and %lld "
                  "instances ran", what, bench_num((double)ok), bench_num((double)p->total),
                  (long long)w->last.conn.running);
}

/* Publishes events (ids id_prefix-n) and watches them delivered and the instances back to 0. */
static void scale_run(struct bench *b, const struct daemon *d, const struct sink *s,
                      const char *what, const char *id_prefix, uint64_t events,
                      struct scale_watch *w)
{
    struct publisher p = {.id_prefix = id_prefix, .total = events};
    double t0, deadline;

    w->total = events;
    read_sink(s, &w->base_received, &w->base_ok);
    p.url = vane_asprintf("%s/gateway/" BUS, d->v.url);
    t0 = bench_now_s();
    deadline = t0 + 60 + SCALE_IDLE_S + (double)events / 50;
    if (pthread_create(&p.thread, NULL, publish_all, &p) != 0)
        bench_fatal("scale: cannot start the publishing thread");
    watch_scale(d, s, &p, t0, deadline, w);
    pthread_join(p.thread, NULL);
    check_run(b, what, w, &p);
    if (w->back_to_min >= 0)
        printf("scale, %s: %s events published in %.2f s (batches of %d from t = 0), all "
               "delivered at t = %.2f s, at most %lld instances; back to 0 instances at t = "
               "%.2f s\n",
               what, bench_num((double)events), p.took, PUBLISH_BATCH, w->last_delivery,
               (long long)w->most_running, w->back_to_min);
    vane_free(p.url);
}

static void print_rates(const char *what, const struct scale_watch *w)
{
    printf("scale, %s: events/s over the busy rows that began and ended at the same instance "
           "count:", what);
    for (int i = 1; i <= SCALE_MAX; i++)
        if (w->throughput_s[i] > 0)
            printf(" %d: %s ev/s (%.2f s);", i, bench_num(rate_at(w, i)), w->throughput_s[i]);
    printf(" at most concurrency %d / delay %d ms = %s ev/s per instance\n", SCALE_CONCURRENCY,
           SINK_DELAY_MS, bench_num(SCALE_CONCURRENCY * 1000.0 / SINK_DELAY_MS));
}

static void scale_rows(struct bench *b, const struct scale_watch *one, const struct scale_watch *w)
{
    double single = rate_at(one, 1), most = rate_at(w, SCALE_MAX);
    double limit = SCALE_IDLE_S + 2 * SCALE_ROW_MS / 1000.0, down = w->back_to_min - w->last_delivery;
    char measured[32], reference[48];

    snprintf(measured, sizeof(measured), "%lld", (long long)w->most_running);
    bench_table_add(&b->table, "scale-out: most instances seen", measured, "= max 4",
                    (double)w->most_running / SCALE_MAX, w->most_running == SCALE_MAX);
    snprintf(measured, sizeof(measured), "%s ev/s", bench_num(most));
    snprintf(reference, sizeof(reference), "%s ev/s at max 1 (same run)", bench_num(single));
    bench_table_add(&b->table, "  throughput at max instances", most > 0 ? measured : "not seen",
                    single > 0 ? reference : "1 instance: not measured",
                    single > 0 && most > 0 ? most / single : 0,
                    single > 0 && most > 0 ? most > single : 0);
    snprintf(reference, sizeof(reference), "<= %.1f s (idle %.0f s + 2 rows)", limit,
             SCALE_IDLE_S);
    if (w->back_to_min < 0) {
        bench_table_add(&b->table, "  last delivery -> back to min 0", "never", reference, 0, 0);
        return;
    }
    snprintf(measured, sizeof(measured), "%.2f s", down);
    bench_table_add(&b->table, "  last delivery -> back to min 0", measured, reference,
                    down / limit, down <= limit);
}

/* The subscription "scale" of BUS and the sink connector "drain" serving it with max. */
static void start_drain(struct daemon *d, const struct sink *s, int max)
{
    char *url = sink_url(s, "/bench");
    char *body = vane_asprintf(
        "{\"name\": \"drain\", \"plugin\": \"sink-http\", \"subscription\": \"scale\", "
        "\"options\": {\"url\": \"%s\"}, \"min\": 0, \"max\": %d, \"concurrency\": %d, "
        "\"idle_timeout\": \"%.0fs\"}",
        url, max, SCALE_CONCURRENCY, SCALE_IDLE_S);

    admin_create(&d->v, "/api/v1/subscriptions",
                 "{\"name\": \"scale\", \"eventbus\": \"" BUS "\", "
                 "\"config\": {\"offset_type\": \"latest\"}}");
    admin_create(&d->v, "/api/v1/connectors", body);
    vane_free(body);
    vane_free(url);
}

static void set_max(const struct daemon *d, int max)
{
    char *url = vane_asprintf("%s/api/v1/connectors/drain", d->v.url);
    char body[32];
    long status;

    snprintf(body, sizeof(body), "{\"max\": %d}", max);
    if ((status = call("PUT", url, body, NULL, NULL)) != 200)
        bench_fatal("scale: PUT /api/v1/connectors/drain %s: answered %ld", body, status);
    vane_free(url);
}

/* The subscription's own count of deliveries against what was published. */
static void check_subscription(struct bench *b, const struct daemon *d, uint64_t published)
{
    json_t *sub = admin_get(&d->v, "/api/v1/subscriptions/scale");
    json_int_t delivered = json_integer_value(json_object_get(json_object_get(sub, "stats"),
                                                              "delivered"));

    if ((uint64_t)delivered != published)
        bench_odd(&b->odd, "scale: subscription scale counts %s delivered, %s were published",
                  bench_num((double)delivered), bench_num((double)published));
    json_decref(sub);
}

static void phase_scale(struct bench *b, struct daemon *d)
{
    uint64_t ref_events = b->cfg.scale_events / 10 > 100 ? b->cfg.scale_events / 10 : 100;
    struct scale_watch one = {.print_rows = false}, w = {.print_rows = true};
    struct sink s;
    char mode[32];
    int status;

    if (sink_start(&s, NULL) != 0)
        bench_fatal("scale: the sink (%s) did not start", b->cfg.sink);
    snprintf(mode, sizeof(mode), "{\"delay_ms\": %d}", SINK_DELAY_MS);
    if (sink_set_mode(&s, mode) != 0)
        bench_fatal("scale: the sink did not take the mode %s", mode);
    printf("scale: sink-http connector, min 0, concurrency %d, idle_timeout %.0f s; the sink "
           "answers after %d ms; first max 1 (the reference), then max %d\n",
           SCALE_CONCURRENCY, SCALE_IDLE_S, SINK_DELAY_MS, SCALE_MAX);
    start_drain(d, &s, 1);
    scale_run(b, d, &s, "max 1", "one", ref_events, &one);
    print_rates("max 1", &one);
    set_max(d, SCALE_MAX);
    scale_run(b, d, &s, "max 4", "scale", b->cfg.scale_events, &w);
    print_rates("max 4", &w);
    check_subscription(b, d, ref_events + b->cfg.scale_events);
    scale_rows(b, &one, &w);
    if ((status = sink_stop(&s)) != 0)
        bench_odd(&b->odd, "scale: the sink stopped with %s",
                  bench_describe_status(status, STOP_TIMEOUT_MS / 1000));
}

/* ---- main ------------------------------------------------------------------------------------ */

static void check_binaries(struct bench *b)
{
    char *la = vane_asprintf("%s/sink-http.la", b->cfg.connectors);
    bool found = access(la, R_OK) == 0;

    vane_free(la);
    if (access(b->cfg.vaned, X_OK) != 0 || access(b->cfg.sink, X_OK) != 0 || !found ||
        realpath(b->cfg.connectors, b->connectors) == NULL) {
        fprintf(stderr, "bench-engine: --vaned %s and --sink %s must be executables and "
                        "--connectors %s must hold sink-http.la; build them first (make vaned "
                        "tests/sink-server and the connectors)\n",
                b->cfg.vaned, b->cfg.sink, b->cfg.connectors);
        exit(2);
    }
}

static void print_header(const struct bench *b)
{
    printf("bench-engine%s: vaned %s, sink %s, connectors %s, data in %s (%s), %ld CPUs online; "
           "load average before the run %s\n",
           b->cfg.quick ? " --quick" : "", b->cfg.vaned, b->cfg.sink, b->connectors, b->root,
           bench_fs_name(b->root, NULL), sysconf(_SC_NPROCESSORS_ONLN), bench_loadavg_text());
}

int main(int argc, char **argv)
{
    static struct bench b;
    bool engine_phases;
    struct daemon d;

    config_defaults(&b.cfg, bench_quick(argc, argv));
    if (bench_options(&cli, &b.cfg, &b.cfg.keep, argc, argv) != 0)
        return 2;
    if (b.cfg.coldstarts > MAX_COLDSTARTS) {
        fprintf(stderr, "bench-engine: --coldstarts: expected at most %d; got %" PRIu64 "\n",
                MAX_COLDSTARTS, b.cfg.coldstarts);
        return 2;
    }
    engine_phases = bench_listed(b.cfg.only, "coldstart") || bench_listed(b.cfg.only, "scale");
    if (engine_phases)
        check_binaries(&b);
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    vane_log_setup(LOG_LEVEL_WARN, VANE_LOG_TEXT, 2);
    b.root = bench_make_root(b.cfg.dir, "bench-engine");
    bench_fatal_removes(b.cfg.keep ? NULL : b.root);
    setenv("VANED", b.cfg.vaned, 1);      /* for vaned_start() */
    setenv("SINK_SERVER", b.cfg.sink, 1); /* for sink_start() */
    setenv("TMPDIR", b.root, 1);          /* the logs go with the run */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    print_header(&b);
    if (bench_listed(b.cfg.only, "lua"))
        phase_lua(&b);
    if (engine_phases) {
        daemon_start(&b, &d);
        if (bench_listed(b.cfg.only, "coldstart"))
            phase_coldstart(&b, &d);
        if (bench_listed(b.cfg.only, "scale"))
            phase_scale(&b, &d);
        daemon_stop(&b, &d);
    }
    if (!bench_listed(b.cfg.only, "lua") && !engine_phases)
        printf("--only %s names none of this program's phases (lua, coldstart, scale): nothing "
               "to run\n", b.cfg.only);
    bench_table_print(&b.table, "(ratio = measured / target or reference; for the times lower "
                                "is better)");
    printf("load average after the run: %s\n", bench_loadavg_text());
    if (b.odd > 0)
        printf("%u ODD line(s) above: read them before trusting the figures\n", b.odd);
    if (!b.cfg.keep)
        bench_rmtree(b.root);
    else
        printf("data kept in %s\n", b.root);
    vane_free(b.root);
    curl_global_cleanup();
    return 0;
}
