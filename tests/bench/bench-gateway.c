/*
 * bench-gateway.c -- the gateway's figures, measured on a real vaned with
 * real HTTP load: durable single-event and batch publish, latency, and the
 * daemon's memory, each beside a reference measured in the same run on the
 * same machine.  Run by `make bench`; `--help` lists the knobs.
 *
 * Design.  The program starts the built vaned (tests/harness.h's
 * vaned_start: port 0, the address read from the start line) with a data
 * directory on the benchmark disk and gateway.discard_endpoint = "on",
 * creates the eventbus "bench" over the admin API, and drives it with wrk
 * (bench-util's driver, shared with bench-cluster).  wrk runs a Lua script
 * from bench-util: every request carries ids unique to the run (a
 * per-thread counter under a per-thread prefix), because the broker answers
 * a repeated (source, id) from its idempotency window without storing it
 * again, which would flatter the figures.
 * h2load cannot vary a header per request, so it is not used.  The figures:
 *
 *   - single: POST /gateway/bench in binary mode (ce-* headers), a body of
 *     1 KiB, over --connections keep-alive connections; events/s answered
 *     2xx and wrk's latency p99.  Targets >= 100,000 ev/s, p99 <= 10 ms.
 *   - discard (reference): the same requests to POST /bench/discard
 *     (broker/gateway/discard.c), which answers 200 {} without storing:
 *     what this HTTP server does on this machine with nothing behind it.
 *   - redis (reference): redis-server 7 with appendonly yes and appendfsync
 *     always on a free loopback port and its own directory on the same
 *     disk; redis-benchmark sends XADD of one 1 KiB field from as many
 *     connections.  (redis-benchmark 7.0 has no payload placeholder for
 *     custom commands, so the 1 KiB value is passed literally.)
 *   - batch: application/cloudevents-batch+json, 100 events of 256 B of
 *     data each per request; events/s.  Target >= 500,000 ev/s.
 *   - memory: vaned's VmRSS once idle after start with the eventbus
 *     created (target < 16 MiB), and the most sampled every 50 ms during
 *     the single-event load (target < 256 MiB).
 *
 * Each eventlog count in --eventlogs (default 1,2,4) gets a fresh vaned and
 * data directory; the discard reference is taken once, on the first, before
 * anything is published.  Every load runs --warmup seconds (not counted),
 * then --duration seconds measured.  After each publish phase the events
 * the eventbus holds (from GET /api/v1/eventbuses/bench) are checked
 * against those wrk saw answered 2xx: fewer stored than answered, non-2xx
 * answers, socket errors, a vaned that died or stopped uncleanly, and
 * warnings or errors in its log are all printed as "ODD:" lines.
 *
 * Output: one line per measured run with the raw numbers, then a table of
 * figure, measured, target or reference, ratio (measured / target or
 * reference) and whether the target was met.  A missing tool is not an
 * error: its figures are skipped with the apt-get line that installs it.
 * Exit status 0 once measured (a missed target included), 1 when the
 * benchmark itself could not run (vaned would not start, the eventbus could
 * not be created), 2 for a bad option.
 *
 * Invariants: every child (tool, redis, vaned) runs under a deadline and is
 * killed past it, and dies with this program (PR_SET_PDEATHSIG); all files
 * go to a fresh directory under --dir (default /work/bench-tmp, the disk
 * bench-store measures, never /tmp which may be tmpfs), removed at the end
 * unless --keep.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../harness.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/fs.h"

#include "bench-util.h"
#include "bench-vaned.h"

#define KIB 1024.0
#define MIB (1024.0 * 1024.0)
#define SINGLE_BYTES 1024     /* body of a binary-mode event */
#define BATCH_EVENTS 100      /* events per batch request */
#define BATCH_BYTES 256       /* data of each batch event */
#define START_TIMEOUT 10.0    /* redis-server to accept connections, s */
#define STOP_TIMEOUT 15.0     /* vaned or redis to exit after SIGTERM, s */
#define MAX_EVENTLOG_COUNTS 8
#define REDIS_WARMUP 10000    /* XADDs before the measured redis run */

/* ---- configuration ------------------------------------------------------- */

struct config {
    const char *dir;       /* parent of the run's fresh directory */
    const char *vaned;     /* the daemon binary */
    const char *only;      /* comma-separated phases, or NULL for all */
    const char *eventlogs; /* eventlog counts to try, "1,2,4" */
    double duration, warmup, settle; /* seconds */
    uint64_t connections, threads, redis_requests;
    bool quick, keep;
};

static const struct bench_knob knobs[] = {
    BENCH_KNOB_DIR(struct config),
    BENCH_KNOB_VANED(struct config),
    {"--only", "BENCH_ONLY", BENCH_KNOB_TEXT, offsetof(struct config, only),
     "phases to run: redis,memory,discard,single,batch (default all)"},
    {"--eventlogs", "BENCH_EVENTLOGS", BENCH_KNOB_TEXT, offsetof(struct config, eventlogs),
     "eventlog counts of the eventbus, one fresh vaned each (default 1,2,4; --quick 1)"},
    BENCH_KNOB_WRK_WINDOW(struct config),
    {"--connections", "BENCH_CONNECTIONS", BENCH_KNOB_COUNT, offsetof(struct config, connections),
     "keep-alive connections of wrk and redis-benchmark (64)"},
    {"--threads", "BENCH_THREADS", BENCH_KNOB_COUNT, offsetof(struct config, threads),
     "wrk threads (default half the CPUs online, at least 1)"},
    {"--redis-requests", "BENCH_REDIS_REQUESTS", BENCH_KNOB_COUNT,
     offsetof(struct config, redis_requests),
     "XADDs redis-benchmark sends (default: what fills --duration at the warm-up's rate)"},
};

#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

static void config_defaults(struct config *c, bool quick)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    memset(c, 0, sizeof(*c));
    c->dir = BENCH_DEFAULT_PARENT;
    c->vaned = "./vaned";
    c->eventlogs = quick ? "1" : "1,2,4";
    c->quick = quick;
    c->duration = quick ? 2 : 10;
    c->warmup = quick ? 1 : 2;
    c->settle = quick ? 0.5 : 1.0;
    c->connections = 64;
    c->threads = cpus > 1 ? (uint64_t)cpus / 2 : 1;
    c->redis_requests = 0; /* as many as fill the duration */
}

/* The eventlog counts of --eventlogs; returns how many, 0 if one is not 1..64. */
static size_t eventlog_counts(const char *list, unsigned *counts)
{
    return bench_counts(list, 64, counts, MAX_EVENTLOG_COUNTS);
}

static const struct bench_cli cli = {
    "bench-gateway", "short windows and one eventlog count, a smoke test", 24, knobs, NKNOBS,
    1, true, 1e9,
};

/* Defaults (quick or full), then the environment, then the options. */
static int configure(struct config *c, int argc, char **argv)
{
    config_defaults(c, bench_quick(argc, argv));
    return bench_options(&cli, c, &c->keep, argc, argv);
}

/* ---- the run --------------------------------------------------------------- */

struct bench {
    struct config cfg;
    char *root;
    struct bench_wrk wrk_run;        /* wrk_run.wrk NULL when wrk is not installed */
    const char *redis_server, *redis_benchmark; /* NULL when not installed */
    char *single_lua, *batch_lua, *vaned_config;
    double discard_rate, redis_rate; /* references; 0 until measured */
    struct bench_table table;
    unsigned odd; /* "ODD:" lines printed */
};

static struct bench_row *add_row(struct bench *b, const char *figure, const char *reference)
{
    return bench_table_add(&b->table, figure, "", reference, 0, -1);
}

/* A row with a target: ratio is measured / target; met as judged. */
static void target_row(struct bench *b, const char *figure, const char *measured,
                       const char *target, double ratio, bool met)
{
    struct bench_row *r = add_row(b, figure, target);

    snprintf(r->measured, sizeof(r->measured), "%s", measured);
    r->ratio = ratio;
    r->met = met;
}

/* A row set beside a reference figure (0: the reference was not measured). */
static void reference_row(struct bench *b, const char *figure, double measured,
                          double reference, const char *what)
{
    struct bench_row *r = add_row(b, figure, "");

    snprintf(r->measured, sizeof(r->measured), "%s ev/s", bench_num(measured));
    if (reference > 0) {
        snprintf(r->reference, sizeof(r->reference), "%s %s", bench_num(reference), what);
        r->ratio = measured / reference;
    } else {
        snprintf(r->reference, sizeof(r->reference), "(not measured)");
    }
}

static void skipped_row(struct bench *b, const char *figure, const char *why)
{
    struct bench_row *r = add_row(b, figure, why);

    snprintf(r->measured, sizeof(r->measured), "skipped");
}

/* ---- processes --------------------------------------------------------------- */

/* A loopback TCP port nobody listens on right now. */
static int free_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0)
        close(fd);
    if (port == 0)
        bench_fatal("no free loopback port: %s", strerror(errno));
    return port;
}

/* ---- wrk ------------------------------------------------------------------- */

/* A batch of structured events, each with its own id and text data. */
static const char lua_batch[] =
    "local headers = { [\"content-type\"] = \"application/cloudevents-batch+json\" }\n"
    "local head = '{\"specversion\":\"1.0\",\"id\":\"'\n"
    "local tail = '\",\"source\":\"/bench/gateway\",\"type\":\"dev.vane.bench\",'\n"
    "  .. '\"datacontenttype\":\"text/plain\",\"data\":\"' .. string.rep(\"x\", %d) .. '\"}'\n"
    "local parts = {}\n"
    "function request()\n"
    "  for i = 1, %d do\n"
    "    count = count + 1\n"
    "    parts[i] = head .. prefix .. count .. tail\n"
    "  end\n"
    "  return wrk.format(\"POST\", nil, headers, \"[\" .. table.concat(parts, \",\") .. \"]\")\n"
    "end\n";

static char *write_script(struct bench *b, const char *name, char *text)
{
    char *path = harness_write_file(b->root, name, text);

    vane_free(text);
    if (path == NULL)
        bench_fatal("cannot write %s/%s", b->root, name);
    return path;
}

static void write_scripts(struct bench *b)
{
    char *batch = vane_asprintf(lua_batch, BATCH_BYTES, BATCH_EVENTS);

    b->single_lua = write_script(b, "single.lua", bench_wrk_binary_script(SINGLE_BYTES, NULL, 0));
    b->batch_lua = write_script(b, "batch.lua", bench_wrk_script(batch, NULL, 0));
    vane_free(batch);
}

/* Warm-up, then the measured window of wrk on v's path, into l. */
static void load_phase(struct bench *b, const struct vaned *v, const char *path,
                       const char *script, const char *tag, struct bench_load *l)
{
    char *url = vane_asprintf("%s%s", v->url, path);

    bench_wrk_load(&b->wrk_run, url, script, tag, &v->pid, 1, l);
    vane_free(url);
}

/* ---- vaned ------------------------------------------------------------------ */

/* Events the eventbus holds over all its eventlogs, or -1 when the answer is not one. */
static double stored_events(const struct vaned *v)
{
    return (double)api_stored_count(v->url, "bench");
}

/*
 * Every event answered 2xx since the eventbus held before events must be
 * stored; a few more may be (requests in flight when wrk stopped), at most
 * a request per connection per run.
 */
static void check_stored(struct bench *b, const struct vaned *v, const char *what, double before,
                         const struct bench_load *l, uint64_t runs, double per_req)
{
    double after_load = stored_events(v);
    double stored = before < 0 || after_load < 0 ? -1 : after_load - before;

    bench_judge_stored(&b->odd, what, "the eventbus", stored, (double)l->answered * per_req,
                       (double)(b->cfg.connections * runs) * per_req);
}

static void write_vaned_config(struct bench *b)
{
    b->vaned_config = harness_write_file(
        b->root, "vaned.lua",
        "-- written by bench-gateway: the defaults, plus the discard reference\n"
        "return { gateway = { discard_endpoint = \"on\" } }\n");
    if (b->vaned_config == NULL)
        bench_fatal("cannot write %s/vaned.lua", b->root);
}

/* Starts a fresh vaned and creates the eventbus "bench" with count eventlogs. */
static void start_vaned(struct bench *b, unsigned count, struct vaned *v)
{
    char *data = vane_asprintf("%s/data-%u", b->root, count);
    const char *args[] = {"--config", b->vaned_config, NULL};
    char *url, *body = vane_asprintf("{\"name\":\"bench\",\"eventlog_count\":%u}", count);
    struct http_reply reply;

    if (vaned_start(v, data, args) != 0)
        bench_fatal("vaned (%s) did not start", b->cfg.vaned);
    url = vane_asprintf("%s/api/v1/eventbuses", v->url);
    if (http_request("POST", url, body, HTTP_1_1, &reply) != 0 || reply.status != 201)
        bench_fatal("POST %s %s: %ld %s", url, body, reply.status, reply.body ? reply.body : "");
    http_reply_free(&reply);
    vane_free(url);
    vane_free(body);
    vane_free(data);
}

/* SIGTERM, a look at how it went and at its log. */
static void stop_vaned(struct bench *b, struct vaned *v, const char *what)
{
    bench_vaned_stop(&b->odd, v, what, STOP_TIMEOUT);
    bench_vaned_check_log(&b->odd, v, what);
    vaned_cleanup(v);
}

/* ---- phases ----------------------------------------------------------------- */

static bool phase_wanted(const struct bench *b, const char *phase)
{
    return bench_listed(b->cfg.only, phase);
}

static void phase_discard(struct bench *b, const struct vaned *v)
{
    struct bench_load l;

    load_phase(b, v, "/bench/discard", b->single_lua, "discard", &l);
    bench_wrk_print(&b->wrk_run, "discard reference: POST /bench/discard, 1KiB binary-mode requests", &l, 1);
    b->discard_rate = l.ran ? l.rate : 0;
}

static void phase_single(struct bench *b, const struct vaned *v, unsigned count)
{
    char what[96], figure[48], measured[32];
    char *tag = vane_asprintf("single-%u", count);
    struct bench_load l;
    double before;

    snprintf(what, sizeof(what), "single 1KiB publish, %u eventlog(s)", count);
    before = stored_events(v);
    load_phase(b, v, "/gateway/bench", b->single_lua, tag, &l);
    bench_wrk_print(&b->wrk_run, what, &l, 1);
    vane_free(tag);
    if (!l.ran) {
        skipped_row(b, what, "wrk gave no report");
        return;
    }
    check_stored(b, v, what, before, &l, 2, 1);
    snprintf(figure, sizeof(figure), "single 1KiB, %u eventlog(s)", count);
    snprintf(measured, sizeof(measured), "%s ev/s", bench_num(l.rate));
    target_row(b, figure, measured, ">= 100,000 ev/s", l.rate / 1e5, l.rate >= 1e5);
    target_row(b, "  p99 latency", bench_fmt_ms(l.p99_ns), "<= 10 ms", l.p99_ns / 1e7, l.p99_ns <= 1e7);
    reference_row(b, "  vs discard handler", l.rate, b->discard_rate, "req/s discard");
    reference_row(b, "  vs redis XADD, appendfsync always", l.rate, b->redis_rate,
                  "req/s redis");
    target_row(b, "  max vaned RSS under this load", bench_fmt_mib(l.max_rss_kib), "< 256 MiB",
               l.max_rss_kib / (256 * KIB), l.max_rss_kib < 256 * KIB);
}

static void phase_batch(struct bench *b, const struct vaned *v, unsigned count)
{
    char what[96], figure[48], measured[32];
    char *tag = vane_asprintf("batch-%u", count);
    struct bench_load l;
    double rate, before;

    snprintf(what, sizeof(what), "batch publish %dx%dB, %u eventlog(s)", BATCH_EVENTS,
             BATCH_BYTES, count);
    before = stored_events(v);
    load_phase(b, v, "/gateway/bench", b->batch_lua, tag, &l);
    bench_wrk_print(&b->wrk_run, what, &l, BATCH_EVENTS);
    vane_free(tag);
    if (!l.ran) {
        skipped_row(b, what, "wrk gave no report");
        return;
    }
    check_stored(b, v, what, before, &l, 2, BATCH_EVENTS);
    rate = l.rate * BATCH_EVENTS;
    snprintf(figure, sizeof(figure), "batch %dx%dB, %u eventlog(s)", BATCH_EVENTS, BATCH_BYTES,
             count);
    snprintf(measured, sizeof(measured), "%s ev/s", bench_num(rate));
    target_row(b, figure, measured, ">= 500,000 ev/s", rate / 5e5, rate >= 5e5);
    target_row(b, "  max vaned RSS under this load", bench_fmt_mib(l.max_rss_kib),
               "< 256 MiB (the single-event target)", l.max_rss_kib / (256 * KIB),
               l.max_rss_kib < 256 * KIB);
}

/* Waits until vaned has settled after start, then reads its RSS. */
static void idle_rss(struct bench *b, const struct vaned *v, unsigned count)
{
    char figure[48];
    double kib;

    bench_pause_ms((int)(b->cfg.settle * 1000));
    kib = bench_rss_kib(v->pid);
    printf("idle vaned, %u eventlog(s): RSS %s after start with the eventbus created\n", count,
           bench_fmt_mib(kib));
    snprintf(figure, sizeof(figure), "idle RSS, %u eventlog(s)", count);
    target_row(b, figure, bench_fmt_mib(kib), "< 16 MiB", kib / (16 * KIB), kib < 16 * KIB);
}

/* One fresh vaned with count eventlogs: memory, the discard reference (first only), loads. */
static void phase_vaned(struct bench *b, unsigned count, bool first)
{
    char what[48];
    struct vaned v;

    snprintf(what, sizeof(what), "vaned with %u eventlog(s)", count);
    if (!phase_wanted(b, "memory") && !phase_wanted(b, "discard") &&
        !phase_wanted(b, "single") && !phase_wanted(b, "batch"))
        return;
    start_vaned(b, count, &v);
    if (phase_wanted(b, "memory"))
        idle_rss(b, &v, count);
    if (b->wrk_run.wrk != NULL && first && phase_wanted(b, "discard"))
        phase_discard(b, &v);
    if (b->wrk_run.wrk != NULL && phase_wanted(b, "single"))
        phase_single(b, &v, count);
    if (b->wrk_run.wrk != NULL && phase_wanted(b, "batch"))
        phase_batch(b, &v, count);
    stop_vaned(b, &v, what);
}

/* Waits for "Ready to accept connections" in redis-server's log; false if it exited or timed out. */
static bool redis_ready(pid_t pid, const char *log_path)
{
    double deadline = bench_now_s() + START_TIMEOUT;
    int status;

    while (bench_now_s() < deadline) {
        char *log = harness_read_file(log_path);
        bool ready = log != NULL && strstr(log, "Ready to accept connections") != NULL;

        vane_free(log);
        if (ready)
            return true;
        if (bench_child_exited(pid, &status))
            return false;
        bench_pause_ms(20);
    }
    return false;
}

/* Starts a private redis-server on a free port; returns its pid, or 0 (with the log printed). */
static pid_t start_redis(struct bench *b, int *port)
{
    char *dir = vane_asprintf("%s/redis", b->root), *log_path = vane_asprintf("%s.log", dir);
    char port_text[16];
    const char *argv[] = {b->redis_server, "--bind", "127.0.0.1", "--port", port_text, "--dir",
                          dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                          "--daemonize", "no", NULL};
    pid_t pid;

    vane_fs_mkdir_p(dir, 0755);
    *port = free_port();
    snprintf(port_text, sizeof(port_text), "%d", *port);
    pid = bench_spawn(argv, log_path);
    if (!redis_ready(pid, log_path)) {
        char *log = harness_read_file(log_path);

        bench_odd(&b->odd, "redis-server did not start; its log:\n%s", log ? log : "(none)");
        vane_free(log);
        bench_stop_child(pid, STOP_TIMEOUT);
        pid = 0;
    }
    vane_free(dir);
    vane_free(log_path);
    return pid;
}

/* rps and p99 (ms) from redis-benchmark --csv's line for the command. */
static bool parse_redis_csv(const char *out, double *rps, double *p99_ms)
{
    const char *line = strstr(out, "\n\"XADD ");
    const char *fields = line ? strstr(line, "\",\"") : NULL;

    /* test, rps, avg, min, p50, p95, p99, max latency (ms) */
    return fields != NULL &&
           sscanf(fields, "\",\"%lf\",\"%*f\",\"%*f\",\"%*f\",\"%*f\",\"%lf\"", rps, p99_ms) == 2;
}

/* One redis-benchmark run of requests XADDs of payload; returns whether it reported. */
static bool redis_xadd(struct bench *b, int port, uint64_t requests, const char *payload,
                       pid_t redis, double *rps, double *p99_ms, double *max_rss_kib)
{
    char port_text[16], clients[24], count[24];
    const char *argv[] = {b->redis_benchmark, "-h", "127.0.0.1", "-p", port_text, "-c", clients,
                          "-n", count, "--csv", "XADD", "s", "*", "f", payload, NULL};
    struct bench_tool_run r;
    bool reported;

    snprintf(port_text, sizeof(port_text), "%d", port);
    snprintf(clients, sizeof(clients), "%" PRIu64, b->cfg.connections);
    snprintf(count, sizeof(count), "%" PRIu64, requests);
    bench_run_tool(argv, b->cfg.duration * 3 + BENCH_WRK_GRACE, &redis, 1, &r);
    reported = r.status == 0 && parse_redis_csv(r.output, rps, p99_ms);
    if (!reported)
        bench_odd(&b->odd, "redis-benchmark (%s) gave no CSV line:\n%.2000s",
                  bench_describe_status(r.status, (int)STOP_TIMEOUT),
            r.output);
    *max_rss_kib = r.max_rss_kib;
    vane_free(r.output);
    return reported;
}

/*
 * A warm-up of REDIS_WARMUP XADDs gives the rate; the measured run sends as
 * many as fill --duration at that rate (or --redis-requests).
 */
static void phase_redis(struct bench *b)
{
    char *payload = vane_malloc(SINGLE_BYTES + 1);
    double rps, p99, rss;
    uint64_t requests = b->cfg.redis_requests;
    int port;
    pid_t pid = start_redis(b, &port);

    memset(payload, 'x', SINGLE_BYTES);
    payload[SINGLE_BYTES] = '\0';
    if (pid != 0 && redis_xadd(b, port, REDIS_WARMUP, payload, pid, &rps, &p99, &rss)) {
        if (requests == 0)
            requests = (uint64_t)(rps * b->cfg.duration) > REDIS_WARMUP
                           ? (uint64_t)(rps * b->cfg.duration) : REDIS_WARMUP;
        if (redis_xadd(b, port, requests, payload, pid, &b->redis_rate, &p99, &rss))
            printf("redis reference: XADD of a 1KiB field, appendonly yes, appendfsync always: "
                   "%s req/s  (%s requests from %s connections after %s warm-up; p99 %.2f ms; "
                   "redis max RSS %s)\n",
                   bench_num(b->redis_rate), bench_num((double)requests), bench_num((double)b->cfg.connections),
                   bench_num(REDIS_WARMUP), p99, bench_fmt_mib(rss));
    }
    if (pid != 0)
        bench_stop_child(pid, STOP_TIMEOUT);
    vane_free(payload);
}

/* ---- main ------------------------------------------------------------------- */

static void find_tools(struct bench *b)
{
    b->wrk_run.wrk = bench_find_tool("wrk");
    b->redis_server = bench_find_tool("redis-server");
    b->redis_benchmark = bench_find_tool("redis-benchmark");
}

/* A missing tool skips its figures; says how to install it. */
static void report_missing_tools(struct bench *b)
{
    if (b->wrk_run.wrk == NULL) {
        printf("wrk is not installed: the publish and discard figures are skipped "
               "(apt-get install wrk)\n");
        skipped_row(b, "single, batch and discard", "apt-get install wrk");
    }
    if (b->redis_server == NULL || b->redis_benchmark == NULL) {
        printf("redis-server or redis-benchmark is not installed: the redis reference is "
               "skipped (apt-get install redis-server redis-tools)\n");
        skipped_row(b, "redis XADD reference", "apt-get install redis-server redis-tools");
    }
}

static void print_header(struct bench *b)
{
    const struct config *c = &b->cfg;
    double load[3];

    printf("bench-gateway%s: vaned %s, data in %s (%s), %ld CPUs online (shared by vaned and the "
           "load tools); %" PRIu64 " connections, %" PRIu64 " wrk thread(s); windows of %.0f s "
           "after %.0f s warm-up; eventlog counts %s\n",
           c->quick ? " --quick" : "", c->vaned, b->root, bench_fs_name(b->root, NULL),
           sysconf(_SC_NPROCESSORS_ONLN), c->connections, c->threads, c->duration, c->warmup,
           c->eventlogs);
    printf("single: binary mode, a %d B body; batch: %d structured events of %d B of data; "
           "vaned runs its default settings plus "
           "gateway.discard_endpoint = \"on\"\n",
           SINGLE_BYTES, BATCH_EVENTS, BATCH_BYTES);
    if (bench_loadavg(load))
        printf("load average before the run: %.2f, %.2f, %.2f (1, 5, 15 min)\n", load[0], load[1],
               load[2]);
    if (b->wrk_run.wrk != NULL) {
        const char *argv[] = {b->wrk_run.wrk, "-v", NULL};
        char *version = bench_tool_version(argv);

        printf("wrk: %s\n", version);
        vane_free(version);
    }
    if (b->redis_server != NULL) {
        const char *argv[] = {b->redis_server, "--version", NULL};
        char *version = bench_tool_version(argv);

        printf("redis: %s\n", version);
        vane_free(version);
    }
}

int main(int argc, char **argv)
{
    static struct bench b;
    unsigned counts[MAX_EVENTLOG_COUNTS];
    size_t ncounts;

    if (configure(&b.cfg, argc, argv) != 0)
        return 2;
    if ((ncounts = eventlog_counts(b.cfg.eventlogs, counts)) == 0) {
        fprintf(stderr, "bench-gateway: --eventlogs: expected counts from 1 to 64 separated by "
                        "commas; got \"%s\"\n", b.cfg.eventlogs);
        return 2;
    }
    if (access(b.cfg.vaned, X_OK) != 0) {
        fprintf(stderr, "bench-gateway: --vaned: %s is not an executable (%s); build it first\n",
                b.cfg.vaned, strerror(errno));
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    b.root = bench_make_root(b.cfg.dir, "bench-gateway");
    bench_fatal_removes(b.cfg.keep ? NULL : b.root);
    b.wrk_run = (struct bench_wrk){NULL, b.cfg.threads, b.cfg.connections, b.cfg.warmup,
                                   b.cfg.duration, &b.odd};
    setenv("VANED", b.cfg.vaned, 1);  /* for vaned_start() */
    setenv("TMPDIR", b.root, 1);      /* vaned's log goes with the run */
    find_tools(&b);
    print_header(&b);
    report_missing_tools(&b);
    write_scripts(&b);
    write_vaned_config(&b);
    if (b.redis_server != NULL && b.redis_benchmark != NULL && phase_wanted(&b, "redis"))
        phase_redis(&b);
    for (size_t i = 0; i < ncounts; i++)
        phase_vaned(&b, counts[i], i == 0);
    bench_table_print(&b.table, "(ratio = measured / target or reference; for the latency and "
                                 "memory targets lower is better)");
    if (b.odd > 0)
        printf("%u ODD line(s) above: read them before trusting the figures\n", b.odd);
    if (!b.cfg.keep)
        harness_rmtree(vane_strdup(b.root));
    else
        printf("data kept in %s\n", b.root);
    vane_free(b.root);
    return 0;
}
