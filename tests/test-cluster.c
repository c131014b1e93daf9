/*
 * test-cluster.c -- three real vaned processes on loopback as one cluster.
 *
 * Metadata made on any node is seen by all; an eventbus's eventlogs get a
 * replica on every node; publishes on any node are stored once (a node that
 * follows forwards them to the leader); every node reads the same events.
 * Then, while a publisher keeps publishing to the survivors, the leader of
 * an eventlog is killed with SIGKILL: a new leader takes over, and every
 * acknowledged event is readable from both survivors, densely (offsets 0..n-1)
 * and once; vanectl cluster status shows it unreachable and every group led
 * by a survivor.  The killed node restarts and catches up.  Bounded in
 * time: each wait has a deadline (scaled by VANE_TEST_TIME_SCALE).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "harness.h"
#include "harness_cluster.h"
#include "tap.h"

#define NODES 3

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* How many events node i reads over the eventlogs of bus, each dense; -1 when one is not. */
static long count_events(const struct vcluster *c, size_t i, const char *bus, int eventlogs)
{
    struct vcluster_ids log = {0};
    long total = 0;

    for (int index = 0; index < eventlogs && total >= 0; index++)
        total = vcluster_read_log(c, i, bus, index, &log) == 0 ? total + (long)log.count : -1;
    vcluster_ids_free(&log);
    return total;
}

static void test_metadata_and_publish(struct vcluster *c)
{
    struct vcluster_publisher p = {.bus = "orders", .prefix = "spread"};
    long status;
    json_t *body;
    bool all = true;

    status = vcluster_create_bus(c, 1, "orders", 3);
    ok(status == 201, "an eventbus is created through node 2 (%ld)", status);
    for (size_t i = 0; i < NODES; i++) {
        body = vcluster_api(c, i, "GET", "/api/v1/eventbuses/orders", NULL, NULL, &status);
        all = all && status == 200;
        json_decref(body);
    }
    ok(all, "every node knows the eventbus");
    /* 503 (a node still opening the eventbus's eventlogs, a leader being elected) moves on
     * to the next node, as a client would. */
    if (!ok(vcluster_publish_round(c, &p, vcluster_every_node(c), 90, 20000) == 90,
            "90 events published round the three nodes are all acknowledged"))
        vcluster_diag_logs(c);
    for (size_t i = 0; i < NODES; i++) {
        long total, deadline = now_ms() + harness_ms(5000);

        /* A follower applies what it learns is committed with the next heartbeat. */
        while ((total = count_events(c, i, "orders", 3)) < 90 && now_ms() < deadline)
            usleep(50000);
        ok(total == (long)p.acked.count, "node %zu reads the %zu events over the 3 eventlogs (%ld)",
           i + 1, p.acked.count, total);
    }
    vcluster_ids_free(&p.acked);
}

/* vanectl --format json cluster status through node via, parsed (NULL unless it exits 0). */
static json_t *vanectl_status(const struct vcluster *c, size_t via)
{
    char endpoint[128];
    const char *argv[] = {getenv("VANECTL"), "--endpoint", endpoint, "--format", "json",
                          "cluster", "status", NULL};
    char *out = NULL;
    json_t *status = NULL;

    snprintf(endpoint, sizeof(endpoint), "%s", c->node[via].url);
    if (harness_run(argv, NULL, &out, NULL) == 0)
        status = json_loads(out ? out : "", 0, NULL);
    vane_free(out);
    return status;
}

/* Whether every group in status has a leader, and not node dead (-1: none). */
static bool all_led(const json_t *status, int dead)
{
    const json_t *group;
    bool led = json_array_size(json_object_get(status, "groups")) > 0;
    size_t i;

    json_array_foreach(json_object_get(status, "groups"), i, group) {
        json_int_t leader = json_integer_value(json_object_get(group, "leader"));

        led = led && leader > 0 && leader != dead + 1;
    }
    return led;
}

/*
 * vanectl cluster status through node via: every node listed, "ready" but
 * node dead (-1: none), which is "unreachable"; and, within 5 s (the groups
 * the dead node led elect one by one), every group led by a live node.
 */
static void check_status(const struct vcluster *c, size_t via, int dead)
{
    long deadline = now_ms() + harness_ms(5000);
    json_t *status = vanectl_status(c, via), *node;
    bool health = true;
    size_t i;

    ok(status != NULL, "vanectl cluster status exits 0 with JSON");
    ok(json_array_size(json_object_get(status, "nodes")) == NODES, "it lists the %d nodes", NODES);
    json_array_foreach(json_object_get(status, "nodes"), i, node)
        health = health && strcmp(json_string_value(json_object_get(node, "health")),
                                  (int)i == dead ? "unreachable" : "ready") == 0;
    ok(health, "each ready%s", dead >= 0 ? ", the killed one unreachable" : "");
    while (!all_led(status, dead) && now_ms() < deadline) {
        json_decref(status);
        usleep(100000);
        status = vanectl_status(c, via);
    }
    ok(all_led(status, dead), "every raft group has a live leader");
    json_decref(status);
}

static void test_failover(struct vcluster *c)
{
    struct vcluster_publisher p = {.bus = "one", .prefix = "fail"};
    long status, killed_at, length = -1;
    int leader;
    bool agree;

    status = vcluster_create_bus(c, 0, "one", 1);
    ok(status == 201, "an eventbus of one eventlog is created");
    leader = vcluster_eventlog_leader(c, 0, "one", 0, 10000);
    ok(leader >= 0, "its eventlog has a leader: node %d", leader + 1);
    if (leader < 0)
        return;
    ok(vcluster_publish_round(c, &p, vcluster_all_but(c, (size_t)leader), 200, 20000) == 200,
       "200 events acknowledged before the kill");
    killed_at = now_ms();
    vcluster_kill(c, (size_t)leader);
    if (vcluster_publish_round(c, &p, vcluster_all_but(c, (size_t)leader), 1, 20000) == 1)
        tap_diag("first publish acknowledged %ld ms after the leader was killed",
                 now_ms() - killed_at);
    vcluster_publish_round(c, &p, vcluster_all_but(c, (size_t)leader), 199, 20000);
    check_status(c, ((size_t)leader + 1) % NODES, leader);
    ok(p.acked.count == 400, "200 more acknowledged by the survivors after it (%zu in all)",
       p.acked.count);
    agree = vcluster_logs_agree(c, "one", 0, &p.acked, 10000, &length);
    ok(agree, "both survivors read the same dense log, every acknowledged event once (%ld)",
       length);
    ok(vcluster_restart(c, (size_t)leader) == 0, "the killed node restarts");
    agree = vcluster_logs_agree(c, "one", 0, &p.acked, 20000, &length);
    ok(agree, "the restarted node catches up to the same %ld events", length);
    vcluster_ids_free(&p.acked);
}

int main(void)
{
    struct vcluster c;

    if (!vcluster_start_ok(&c, NODES, NULL))
        return tap_done();
    test_metadata_and_publish(&c);
    check_status(&c, 0, -1);
    test_failover(&c);
    vcluster_cleanup(&c);
    return tap_done();
}
