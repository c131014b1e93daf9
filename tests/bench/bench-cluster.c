/*
 * bench-cluster.c -- the cluster's figures (issue 8), measured on real vaned
 * processes on this one machine: durable publish through a three-node
 * cluster beside one vaned under the same load, and the time a publisher
 * waits when the leader of its eventlog is killed.  Run by `make bench`;
 * `--help` lists the knobs.
 *
 * Design.  Three phases (--only picks some):
 *
 *   - single: one vaned (tests/harness.h's vaned_start, default settings,
 *     no cluster) with its data on the benchmark disk, the eventbus "bench"
 *     with --eventlogs eventlogs, loaded with wrk as bench-gateway's
 *     "single" figure is (bench-util's driver and script): POST
 *     /gateway/bench in binary mode, a 1 KiB body, keep-alive connections,
 *     ids unique to the run; --warmup seconds not counted, then --duration
 *     seconds measured.  The reference for the cluster.
 *   - cluster: three vaned (tests/harness_cluster.h's vcluster_start: free
 *     loopback ports, replicas 3, the default) and the same eventbus,
 *     created through node 1, then the same load from one wrk whose
 *     threads are spread over the three nodes' HTTP ports: wrk thread k
 *     connects to node k mod 3 (the script sets thread.addr), so each node
 *     takes a third of the connections and forwards what it does not lead.
 *     The same wrk command (threads, connections, script) drives the
 *     single vaned, all its threads on its one port: the same load.
 *     Target: cluster >= 30% of single-node events/s.
 *   - failover: a fresh cluster and the eventbus "failover" with one
 *     eventlog, so every publish goes to its raft group.  --kills times:
 *     wait until the eventlog's leader (as every node, the leader included,
 *     sees it) has stayed the same for STEADY_S -- longer than the 3 s after
 *     which a failover's leader hands the lead back to the eventlog's
 *     preferred node, so no hand-over runs into a kill; publish a few
 *     events through a surviving node; SIGKILL the leader; then publish in
 *     a tight loop to that surviving node until one is answered 200
 *     (tests/harness_cluster.h's publisher: a fresh connection and a new
 *     id per attempt, each under a 5 s timeout, a refused one tried again
 *     after 20 ms).  The time from the kill to that answer is the figure.
 *     Then restart the killed node and wait until every node's copy of the
 *     eventlog is dense, the same, and holds each acknowledged event once
 *     (vcluster_logs_agree).  The survivors take turns at being published
 *     to.  Median and max.  Target: median <= 3 s.
 *
 * Checks, printed as "ODD:" lines: after each load, every node (each holds
 * a replica of every eventlog) must come to hold at least the events wrk saw
 * answered 2xx, and at most those plus one per connection and run (requests
 * in flight when wrk stopped), within CATCHUP_S; an eventlog whose group
 * has other than 3 voters; non-2xx answers and socket errors; a vaned that
 * died or did not stop cleanly; warnings and errors in the logs of the
 * load phases (the failover phase kills nodes, which the others rightly
 * log); a copy of the failover eventlog that is not dense, differs from
 * the others' or lacks an acknowledged event (or holds one twice).
 *
 * Exit status 0 once measured (a missed target included), 1 when the
 * benchmark could not run (a vaned would not start, an eventbus could not
 * be created), 2 for a bad option.  Every child runs under a deadline and
 * dies with this program (PR_SET_PDEATHSIG); every wait has a deadline.
 * Files go to a fresh directory under --dir (default /work/bench-tmp, the
 * disk bench-store measures), removed at the end unless --keep: the
 * harness puts the cluster's data and every vaned's log under $TMPDIR,
 * which this program points there.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../harness.h"
#include "../harness_cluster.h"
#include "core/alloc.h"

#include "bench-util.h"
#include "bench-vaned.h"

#define NODES 3
#define EVENT_BYTES 1024     /* body of a binary-mode event, as bench-gateway's "single" */
#define TARGET_SHARE 0.30    /* cluster events/s over single-node events/s */
#define TARGET_FAILOVER_S 3.0
#define STOP_TIMEOUT 15.0    /* a vaned to exit after SIGTERM, s */
#define READY_TIMEOUT 10.0   /* a new eventbus to take publishes on a node, s */
#define CATCHUP_S 30.0       /* every node to hold the events acknowledged, s */
#define LEADER_TIMEOUT 15.0  /* a leader to be known (and steady), s */
#define STEADY_S 3.5         /* the leader unchanged this long before a kill, s */
#define FAILOVER_TIMEOUT 30.0 /* the first publish after a kill, s */
#define PRE_KILL_EVENTS 5    /* published through the survivor before each kill */
#define POLL_MS 20
#define MAX_KILLS 100
#define MAX_EVENTLOGS 64

/* ---- configuration ------------------------------------------------------- */

struct config {
    const char *dir, *vaned, *only;
    double duration, warmup; /* seconds */
    uint64_t connections, threads, eventlogs, kills;
    bool quick, keep;
};

static const struct bench_knob knobs[] = {
    BENCH_KNOB_DIR(struct config),
    BENCH_KNOB_VANED(struct config),
    {"--only", "BENCH_ONLY", BENCH_KNOB_TEXT, offsetof(struct config, only),
     "phases to run: single,cluster,failover (default all)"},
    BENCH_KNOB_WRK_WINDOW(struct config),
    {"--connections", "BENCH_CONNECTIONS", BENCH_KNOB_COUNT, offsetof(struct config, connections),
     "keep-alive connections of wrk, rounded down to a multiple of --threads (64)"},
    {"--threads", "BENCH_CLUSTER_THREADS", BENCH_KNOB_COUNT, offsetof(struct config, threads),
     "wrk threads, a multiple of 3: thread k loads node k mod 3 (3)"},
    {"--eventlogs", "BENCH_CLUSTER_EVENTLOGS", BENCH_KNOB_COUNT,
     offsetof(struct config, eventlogs),
     "eventlogs of the loaded eventbus, 1 to 64, in both runs (3: one led by each node)"},
    {"--kills", "BENCH_KILLS", BENCH_KNOB_COUNT, offsetof(struct config, kills),
     "leader kills of the failover figure, at most 100 (10; --quick 3)"},
};

#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

static const struct bench_cli cli = {
    "bench-cluster", "short windows and 3 kills, a smoke test", 24, knobs, NKNOBS, 1, true, 1e6,
};

static void config_defaults(struct config *c, bool quick)
{
    memset(c, 0, sizeof(*c));
    c->dir = BENCH_DEFAULT_PARENT;
    c->vaned = "./vaned";
    c->quick = quick;
    c->duration = quick ? 2 : 10;
    c->warmup = quick ? 1 : 2;
    c->connections = 64;
    c->threads = NODES;
    c->eventlogs = NODES;
    c->kills = quick ? 3 : 10;
}

/* Defaults, the environment, the options; then what the knobs must be together. */
static int configure(struct config *c, int argc, char **argv)
{
    config_defaults(c, bench_quick(argc, argv));
    if (bench_options(&cli, c, &c->keep, argc, argv) != 0)
        return -EINVAL;
    if (c->threads % NODES != 0) {
        fprintf(stderr, "bench-cluster: --threads: expected a multiple of %d (one share per "
                        "node); got %" PRIu64 "\n", NODES, c->threads);
        return -EINVAL;
    }
    if (c->connections < c->threads) {
        fprintf(stderr, "bench-cluster: --connections: expected at least --threads (%" PRIu64
                        "); got %" PRIu64 "\n", c->threads, c->connections);
        return -EINVAL;
    }
    if (c->eventlogs > MAX_EVENTLOGS || c->kills > MAX_KILLS) {
        fprintf(stderr, "bench-cluster: --eventlogs: expected 1 to %d, --kills 1 to %d; got %"
                        PRIu64 " and %" PRIu64 "\n", MAX_EVENTLOGS, MAX_KILLS, c->eventlogs, c->kills);
        return -EINVAL;
    }
    c->connections -= c->connections % c->threads; /* what wrk opens: as many per thread */
    return 0;
}

/* ---- the run --------------------------------------------------------------- */

struct bench {
    struct config cfg;
    char *root;
    struct bench_wrk wrk_run; /* wrk_run.wrk NULL when wrk is not installed */
    struct bench_table table;
    double single_rate;       /* the reference; 0 until measured */
    unsigned odd;             /* "ODD:" lines printed */
};

static bool phase_wanted(const struct bench *b, const char *phase)
{
    return bench_listed(b->cfg.only, phase);
}

static const char *fmt_seconds(double s)
{
    char *out = bench_scratch();

    snprintf(out, 48, "%.2f s", s);
    return out;
}

/* ---- vaned's API ------------------------------------------------------------- */

/* Creates the eventbus name with count eventlogs through base; fatal when refused. */
static void create_bus(const char *base, const char *name, uint64_t count)
{
    char *body = vane_asprintf("{\"name\":\"%s\",\"eventlog_count\":%" PRIu64 "}", name, count);
    long status;

    json_decref(api_call_with(base, "POST", "/api/v1/eventbuses", NULL, body, &status));
    if (status != 200 && status != 201)
        bench_fatal("POST %s/api/v1/eventbuses %s: answered %ld", base, body, status);
    vane_free(body);
}

/* Publishes one binary-mode event of EVENT_BYTES with id to bus through base; the status. */
static long publish(const char *base, const char *bus, const char *id)
{
    static char data[EVENT_BYTES];
    char *url = vane_asprintf("%s/gateway/%s", base, bus);
    char *id_header = vane_asprintf("ce-id: %s", id);
    const char *headers[] = {"ce-specversion: 1.0", id_header, "ce-source: /bench/cluster",
                             "ce-type: dev.vane.bench", "Content-Type: application/octet-stream",
                             NULL};
    struct http_call call = {"POST", url, headers, data, sizeof(data), HTTP_1_1};
    struct http_reply reply;
    long status;

    memset(data, 'x', sizeof(data));
    status = http_call(&call, &reply) == 0 ? reply.status : 0;
    http_reply_free(&reply);
    vane_free(url);
    vane_free(id_header);
    return status;
}

/*
 * One event through each of the n vaned at urls, each tried (POLL_MS apart)
 * until its node has opened the new eventbus's eventlogs (503 meanwhile):
 * then the load finds every node ready.  Fatal past READY_TIMEOUT.
 * Returns how many events that stored (n).
 */
static unsigned bus_ready(const char *const *urls, size_t n, const char *bus)
{
    for (size_t i = 0; i < n; i++) {
        double deadline = bench_now_s() + READY_TIMEOUT;
        char id[32];

        snprintf(id, sizeof(id), "probe-%zu", i);
        while (publish(urls[i], bus, id) != 200) {
            if (bench_now_s() > deadline)
                bench_fatal("%s: %s took no publish in %.0f s", bus, urls[i], READY_TIMEOUT);
            bench_pause_ms(POLL_MS);
        }
    }
    return (unsigned)n;
}

/* ---- vaned processes ----------------------------------------------------------- */

/* Three nodes under the run's directory, each ready; fatal when one is not. */
static void start_cluster(struct vcluster *c)
{
    if (vcluster_start(c, NODES, NULL) != 0) {
        vcluster_cleanup(c);
        bench_fatal("the %d-node cluster did not start (the logs are above)", NODES);
    }
}

/* "cluster node 2" for index 1, in a scratch buffer. */
static const char *node_name(size_t i)
{
    char *out = bench_scratch();

    snprintf(out, 48, "cluster node %zu", i + 1);
    return out;
}

/* The cluster's nodes stopped with SIGTERM (their logs read first), then removed. */
static void stop_cluster(struct bench *b, struct vcluster *c, bool check_logs)
{
    for (size_t i = 0; i < c->count; i++)
        if (check_logs && c->running[i])
            bench_vaned_check_log(&b->odd, &c->node[i], node_name(i));
    for (size_t i = 0; i < c->count; i++)
        if (c->running[i])
            bench_vaned_stop(&b->odd, &c->node[i], node_name(i), STOP_TIMEOUT);
    vcluster_cleanup(c);
}

/* ---- the raft groups, as GET /api/v1/cluster shows them -------------------------- */

/* Node i's own word on eventlog index of bus: its leader (a node index, -1: none) and term. */
static int leader_seen_by(const struct vcluster *c, size_t i, const char *bus, int index,
                          int64_t *term)
{
    json_t *group = vcluster_group(c, i, bus, index);
    int leader = (int)json_integer_value(json_object_get(group, "leader")) - 1;

    *term = json_integer_value(json_object_get(group, "term"));
    json_decref(group);
    return leader;
}

/* Who leads the first count eventlogs of an eventbus, in which term. */
struct leadership {
    bool agreed; /* every running node said the same, each eventlog has a leader */
    int leader[MAX_EVENTLOGS];
    int64_t term[MAX_EVENTLOGS];
};

/*
 * The leaders of eventlogs 0..count-1 of bus into out, agreed when every
 * running node names the same leader in the same term for each (so each
 * leader says it leads).  Zeroed first: comparable with memcmp.
 */
static void read_leadership(const struct vcluster *c, const char *bus, size_t count,
                            struct leadership *out)
{
    size_t asked = 0; /* running nodes asked so far */

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < c->count; i++) {
        if (!c->running[i])
            continue;
        for (size_t k = 0; k < count; k++) {
            int64_t term;
            int leader = leader_seen_by(c, i, bus, (int)k, &term);

            if (leader < 0 || (asked > 0 && (leader != out->leader[k] || term != out->term[k])))
                return;
            out->leader[k] = leader;
            out->term[k] = term;
        }
        asked++;
    }
    out->agreed = asked > 0;
}

/*
 * Waits until every node agrees on the leaders of the first count
 * eventlogs of bus and they stay so for steady_s (each leader says so
 * itself too), up to LEADER_TIMEOUT past that.  Returns whether they did,
 * with them in *out.
 */
static bool steady_leadership(const struct vcluster *c, const char *bus, size_t count,
                              double steady_s, struct leadership *out)
{
    double deadline = bench_now_s() + steady_s + LEADER_TIMEOUT, since = bench_now_s();
    struct leadership now;

    read_leadership(c, bus, count, out);
    while (bench_now_s() < deadline) {
        bench_pause_ms(100);
        read_leadership(c, bus, count, &now);
        if (!now.agreed || memcmp(&now, out, sizeof(now)) != 0)
            since = bench_now_s(), *out = now;
        else if (bench_now_s() - since >= steady_s)
            return true;
    }
    return false;
}

/*
 * Waits for the leaders of bus's eventlogs to settle (a new eventlog's
 * lead moves to its preferred node after a few seconds), prints them, and
 * an ODD line for a group not on every node.
 */
static void settle_placement(struct bench *b, const struct vcluster *c, const char *bus)
{
    struct leadership lead;

    if (!steady_leadership(c, bus, b->cfg.eventlogs, STEADY_S, &lead))
        bench_odd(&b->odd, "the leaders of %s's eventlogs did not settle within %.0f s", bus,
                  STEADY_S + LEADER_TIMEOUT);
    printf("  eventbus %s after its leaders stayed the same for %.1f s:", bus, STEADY_S);
    for (int i = 0; i < (int)b->cfg.eventlogs; i++) {
        json_t *group = vcluster_group(c, 0, bus, i);
        size_t voters = json_array_size(json_object_get(group, "voters"));

        if (lead.agreed)
            printf(" eventlog %d led by node %d,", i, lead.leader[i] + 1);
        if (voters != NODES)
            bench_odd(&b->odd, "eventlog %d of %s has %zu voters, not %d", i, bus, voters, NODES);
        json_decref(group);
    }
    printf(" %d voters each\n", NODES);
}

/* ---- figure 1: publish through the cluster, beside one vaned ---------------------- */

/* Writes the wrk script loading the n vaned at addresses; returns its path. */
static char *write_script(struct bench *b, const char *name, const char *const *addresses,
                          size_t n)
{
    char *text = bench_wrk_binary_script(EVENT_BYTES, addresses, n);
    char *path = harness_write_file(b->root, name, text);

    vane_free(text);
    if (path == NULL)
        bench_fatal("cannot write %s/%s", b->root, name);
    return path;
}

/*
 * Until CATCHUP_S pass, waits for every vaned of urls to hold (GET
 * /api/v1/eventbuses/bench) the want events answered, then judges each
 * count; slack is the requests that may have been in flight at the stops.
 */
static void check_stored(struct bench *b, const char *what, const char *const *urls, size_t n,
                         double want, double slack)
{
    double start = bench_now_s();

    for (size_t i = 0; i < n; i++) {
        char where[48];
        double stored;

        while ((stored = (double)api_stored_count(urls[i], "bench")) < want &&
               bench_now_s() - start < CATCHUP_S)
            bench_pause_ms(50);
        if (n > 1)
            snprintf(where, sizeof(where), "node %zu (caught up %.1f s after the load)", i + 1,
                     bench_now_s() - start);
        else
            snprintf(where, sizeof(where), "the eventbus");
        bench_judge_stored(&b->odd, what, where, stored, want, slack);
    }
}

/*
 * The load on the eventbus "bench" of the n vaned (pids, urls, addresses),
 * whose readiness probes stored probes events: wrk's warm-up and window,
 * its line, then the counts of every node.  Returns whether wrk reported.
 */
static bool publish_load(struct bench *b, const char *what, const char *tag, const pid_t *pids,
                         const char *const *urls, const char *const *addresses, size_t n,
                         unsigned probes, struct bench_load *l)
{
    char *name = vane_asprintf("%s.lua", tag);
    char *script = write_script(b, name, addresses, n);
    char *url = vane_asprintf("%s/gateway/bench", urls[0]);

    bench_wrk_load(&b->wrk_run, url, script, tag, pids, n, l);
    bench_wrk_print(&b->wrk_run, what, l, 1);
    if (l->ran)
        check_stored(b, what, urls, n, (double)(l->answered + probes),
                     (double)(b->cfg.connections * 2));
    vane_free(url);
    vane_free(script);
    vane_free(name);
    return l->ran;
}

static void phase_single(struct bench *b)
{
    char *data = vane_asprintf("%s/single", b->root);
    char what[96];
    struct vaned v;
    struct bench_load l;
    const char *url, *address;
    unsigned probes;

    if (vaned_start(&v, data, NULL) != 0)
        bench_fatal("vaned (%s) did not start", b->cfg.vaned);
    url = v.url;
    address = v.address;
    create_bus(v.url, "bench", b->cfg.eventlogs);
    probes = bus_ready(&url, 1, "bench");
    snprintf(what, sizeof(what), "single vaned, 1KiB publish, %" PRIu64 " eventlog(s)",
             b->cfg.eventlogs);
    if (publish_load(b, what, "single", &v.pid, &url, &address, 1, probes, &l)) {
        char measured[32];

        b->single_rate = l.rate;
        snprintf(measured, sizeof(measured), "%s ev/s", bench_num(l.rate));
        bench_table_add(&b->table, "single node, 1KiB publish", measured,
                        "reference: the same load, one vaned", 0, -1);
        bench_table_add(&b->table, "  p99 latency", bench_fmt_ms(l.p99_ns), "", 0, -1);
    }
    bench_vaned_check_log(&b->odd, &v, "single vaned");
    bench_vaned_stop(&b->odd, &v, "single vaned", STOP_TIMEOUT);
    vaned_cleanup(&v);
    vane_free(data);
}

/* The row of the cluster's figure: events/s, its share of single-node's, judged. */
static void cluster_rows(struct bench *b, const struct bench_load *l)
{
    char measured[32], target[48];
    double share = b->single_rate > 0 ? l->rate / b->single_rate : 0;

    if (b->single_rate > 0) {
        snprintf(measured, sizeof(measured), "%s ev/s (%.0f%%)", bench_num(l->rate),
                 share * 100);
        snprintf(target, sizeof(target), ">= %.0f%% of single-node %s ev/s", TARGET_SHARE * 100,
                 bench_num(b->single_rate));
        bench_table_add(&b->table, "3-node cluster, replicas 3", measured, target,
                        share / TARGET_SHARE, share >= TARGET_SHARE);
    } else {
        snprintf(measured, sizeof(measured), "%s ev/s", bench_num(l->rate));
        bench_table_add(&b->table, "3-node cluster, replicas 3", measured,
                        "(single node not measured: not judged)", 0, -1);
    }
    bench_table_add(&b->table, "  p99 latency", bench_fmt_ms(l->p99_ns), "", 0, -1);
}

static void phase_cluster(struct bench *b)
{
    struct vcluster c;
    const char *urls[NODES], *addresses[NODES];
    pid_t pids[NODES];
    char what[96];
    struct bench_load l;
    unsigned probes;

    start_cluster(&c);
    for (size_t i = 0; i < NODES; i++) {
        urls[i] = c.node[i].url;
        addresses[i] = c.node[i].address;
        pids[i] = c.node[i].pid;
    }
    create_bus(urls[0], "bench", b->cfg.eventlogs);
    probes = bus_ready(urls, NODES, "bench");
    settle_placement(b, &c, "bench");
    snprintf(what, sizeof(what), "%d-node cluster, 1KiB publish spread over the nodes, %" PRIu64
             " eventlog(s)", NODES, b->cfg.eventlogs);
    if (publish_load(b, what, "cluster", pids, urls, addresses, NODES, probes, &l))
        cluster_rows(b, &l);
    stop_cluster(b, &c, true);
}

/* ---- figure 2: failover ------------------------------------------------------------ */

/* The failover phase's cluster and its publisher (the ids it sent, those acknowledged). */
struct failover {
    struct vcluster c;
    struct vcluster_publisher p;
};

/* PRE_KILL_EVENTS through node via, so the eventlog is busy when its leader dies. */
static void publish_before(struct bench *b, struct failover *f, size_t via, unsigned kill)
{
    if (vcluster_publish_round(&f->c, &f->p, 1u << via, PRE_KILL_EVENTS,
                               (int)(READY_TIMEOUT * 1000)) != PRE_KILL_EVENTS)
        bench_odd(&b->odd, "kill %u: publishes through node %zu before the kill failed",
                  kill + 1, via + 1);
}

/*
 * Kills the leader, then publishes through node via in a tight loop
 * (vcluster_publish_round: a refused attempt is tried again after 20 ms)
 * until an answer is 200 or FAILOVER_TIMEOUT: the seconds from the kill
 * to that answer (-1 when none came), and how many tries it took.
 */
static double kill_and_publish(struct failover *f, size_t leader, size_t via, unsigned *tries)
{
    double killed_at = bench_now_s();
    unsigned sent = f->p.sent;
    size_t acked;

    vcluster_kill(&f->c, leader);
    acked = vcluster_publish_round(&f->c, &f->p, 1u << via, 1, (int)(FAILOVER_TIMEOUT * 1000));
    *tries = f->p.sent - sent;
    return acked == 1 ? bench_now_s() - killed_at : -1;
}

/* One kill; its seconds into *took (-1: no publish went through); false when the run must stop. */
static bool one_kill(struct bench *b, struct failover *f, unsigned kill, double *took)
{
    struct leadership before;
    int64_t new_term = 0;
    int leader, next;
    size_t via;
    unsigned tries;

    if (!steady_leadership(&f->c, "failover", 1, STEADY_S, &before)) {
        bench_odd(&b->odd, "kill %u: the eventlog's leader was not steady within %.0f s",
                  kill + 1, STEADY_S + LEADER_TIMEOUT);
        return false;
    }
    leader = before.leader[0];
    via = ((size_t)leader + 1 + kill % 2) % NODES; /* the survivors take turns */
    publish_before(b, f, via, kill);
    *took = kill_and_publish(f, (size_t)leader, via, &tries);
    next = leader_seen_by(&f->c, via, "failover", 0, &new_term);
    if (*took < 0)
        bench_odd(&b->odd, "kill %u: no publish through node %zu was answered 200 within %.0f s "
                  "of the kill", kill + 1, via + 1, FAILOVER_TIMEOUT);
    else
        printf("  kill %u: node %d (leader, term %" PRId64 ") killed; node %zu answered 200 "
               "after %s (tries: %u); new leader node %d, term %" PRId64 "\n", kill + 1,
               leader + 1, before.term[0], via + 1, fmt_seconds(*took), tries, next + 1,
               new_term);
    if (vcluster_restart(&f->c, (size_t)leader) != 0) {
        bench_odd(&b->odd, "kill %u: node %d did not restart (its log is above)", kill + 1,
                  leader + 1);
        return false;
    }
    if (!vcluster_logs_agree(&f->c, "failover", 0, &f->p.acked, (int)(CATCHUP_S * 1000), NULL))
        bench_odd(&b->odd, "kill %u: within %.0f s of node %d's restart, the nodes' logs did "
                  "not agree or miss one of the %s events acknowledged (see above)", kill + 1,
                  CATCHUP_S, leader + 1, bench_num((double)f->p.acked.count));
    return true;
}

/* The figure's rows from the kills' times. */
static void failover_rows(struct bench *b, uint64_t *ms, size_t n, unsigned kills)
{
    char figure[48], reference[48];
    double median, max;

    if (n == 0) {
        bench_table_add(&b->table, "failover: kill -9 of the leader", "none measured",
                        "<= 3 s median", 0, 0);
        return;
    }
    qsort(ms, n, sizeof(ms[0]), bench_compare_u64);
    median = bench_quantile(ms, n, 0.5) / 1e3;
    max = (double)ms[n - 1] / 1e3;
    snprintf(figure, sizeof(figure), "failover, median of %zu kills", n);
    snprintf(reference, sizeof(reference), "<= %.0f s", TARGET_FAILOVER_S);
    bench_table_add(&b->table, figure, fmt_seconds(median), reference, median / TARGET_FAILOVER_S,
                    median <= TARGET_FAILOVER_S && n == kills);
    bench_table_add(&b->table, "  slowest", fmt_seconds(max), "", 0, -1);
}

static void phase_failover(struct bench *b)
{
    struct failover f = {.p = {.bus = "failover", .prefix = "failover"}};
    uint64_t ms[MAX_KILLS];
    size_t n = 0;

    start_cluster(&f.c);
    create_bus(f.c.node[0].url, "failover", 1);
    if (vcluster_publish_round(&f.c, &f.p, vcluster_every_node(&f.c), NODES,
                               (int)(READY_TIMEOUT * 1000)) != NODES)
        bench_fatal("failover: the new eventbus took no publishes within %.0f s", READY_TIMEOUT);
    printf("failover: eventbus \"failover\" of one eventlog; %" PRIu64 " kills, each once the "
           "leader stayed the same for %.1f s\n", b->cfg.kills, STEADY_S);
    for (unsigned kill = 0; kill < b->cfg.kills; kill++) {
        double took = -1;

        if (!one_kill(b, &f, kill, &took))
            break;
        if (took >= 0)
            ms[n++] = (uint64_t)(took * 1e3 + 0.5);
    }
    if (n < b->cfg.kills)
        bench_odd(&b->odd, "failover: %zu of %" PRIu64 " kills measured", n, b->cfg.kills);
    failover_rows(b, ms, n, (unsigned)b->cfg.kills);
    vcluster_ids_free(&f.p.acked);
    stop_cluster(b, &f.c, false);
}

/* ---- main ------------------------------------------------------------------- */

static void print_header(struct bench *b)
{
    const struct config *c = &b->cfg;

    printf("bench-cluster%s: vaned %s, data in %s (%s), %ld CPUs online (shared by every vaned "
           "and wrk); load: 1KiB binary-mode publish, %" PRIu64 " connections over %" PRIu64
           " wrk thread(s), windows of %.0f s after %.0f s warm-up, %" PRIu64 " eventlog(s); "
           "%" PRIu64 " failover kills\n",
           c->quick ? " --quick" : "", c->vaned, b->root, bench_fs_name(b->root, NULL),
           sysconf(_SC_NPROCESSORS_ONLN), c->connections, c->threads, c->duration, c->warmup,
           c->eventlogs, c->kills);
    printf("load average before the run: %s\n", bench_loadavg_text());
    if (b->wrk_run.wrk != NULL) {
        const char *argv[] = {b->wrk_run.wrk, "-v", NULL};
        char *version = bench_tool_version(argv);

        printf("wrk: %s\n", version);
        vane_free(version);
    } else {
        printf("wrk is not installed: the publish figures are skipped (apt-get install wrk)\n");
        bench_table_add(&b->table, "single and cluster publish", "skipped",
                        "apt-get install wrk", 0, -1);
    }
}

int main(int argc, char **argv)
{
    static struct bench b;

    if (configure(&b.cfg, argc, argv) != 0)
        return 2;
    if (access(b.cfg.vaned, X_OK) != 0) {
        fprintf(stderr, "bench-cluster: --vaned: %s is not an executable (%s); build it first\n",
                b.cfg.vaned, strerror(errno));
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    b.root = bench_make_root(b.cfg.dir, "bench-cluster");
    bench_fatal_removes(b.cfg.keep ? NULL : b.root);
    setenv("VANED", b.cfg.vaned, 1); /* for vaned_start() and vcluster_start() */
    setenv("TMPDIR", b.root, 1);     /* the cluster's data and every log go with the run */
    b.wrk_run = (struct bench_wrk){bench_find_tool("wrk"), b.cfg.threads, b.cfg.connections,
                                   b.cfg.warmup, b.cfg.duration, &b.odd};
    print_header(&b);
    if (b.wrk_run.wrk != NULL && phase_wanted(&b, "single"))
        phase_single(&b);
    if (b.wrk_run.wrk != NULL && phase_wanted(&b, "cluster"))
        phase_cluster(&b);
    if (phase_wanted(&b, "failover"))
        phase_failover(&b);
    bench_table_print(&b.table, "(ratio = measured / target; for the failover time lower is "
                                "better)");
    if (b.odd > 0)
        printf("%u ODD line(s) above: read them before trusting the figures\n", b.odd);
    if (!b.cfg.keep)
        harness_rmtree(vane_strdup(b.root));
    else
        printf("data kept in %s\n", b.root);
    vane_free(b.root);
    return 0;
}
