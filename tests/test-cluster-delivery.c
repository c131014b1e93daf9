/*
 * test-cluster-delivery.c -- a subscription of a three-node cluster keeps
 * delivering, at least once, when the node that runs delivery is lost.
 *
 * Delivery runs on the node that leads the metadata group (GET
 * /api/v1/cluster: group 0's leader).  A subscription sends an eventbus of
 * two eventlogs, where events were published round the nodes, to a slow
 * HTTP sink (tests/sink-server); as soon as the sink has some, that node is
 * killed with SIGKILL.  More events are published to the survivors: another node
 * takes over delivery from the committed offsets, and every acknowledged
 * event, before and after, reaches the sink at least once (a redelivery is
 * allowed, a loss is not).  The killed node then restarts; delivery may move
 * back to it (the metadata group's lead goes back to its preferred node),
 * and the events published after that arrive too.  Every wait has a
 * deadline (scaled by VANE_TEST_TIME_SCALE).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "harness.h"
#include "harness_cluster.h"
#include "tap.h"

#define NODES 3
#define BUS "orders"

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

struct arrivals {
    const struct sink *sink;
    const struct vcluster_ids *acked;
};

/* How many of the acknowledged ids the sink has received (each counted once). */
static size_t count_arrived(const void *arg)
{
    const struct arrivals *a = arg;
    json_t **lines = NULL, *seen = json_object();
    size_t n = sink_received(a->sink, &lines), arrived = 0;

    for (size_t i = 0; i < n; i++) {
        const char *id = sink_line_header(lines[i], "ce-id");

        if (id != NULL)
            json_object_set_new(seen, id, json_true());
    }
    for (size_t k = 0; k < a->acked->count; k++)
        arrived += json_object_get(seen, a->acked->ids[k]) != NULL;
    json_decref(seen);
    sink_lines_free(lines, n);
    return arrived;
}

/* Waits until every acknowledged id has reached the sink; true when it did, else the
 * missing ones are named. */
static bool all_arrive(const struct sink *s, const struct vcluster_ids *acked, int timeout_ms)
{
    struct arrivals a = {s, acked};
    size_t arrived = harness_wait_count(count_arrived, &a, acked->count, timeout_ms);

    if (arrived < acked->count)
        tap_diag("%zu of the %zu acknowledged events reached the sink", arrived, acked->count);
    return arrived == acked->count;
}

static bool create_subscription(const struct vcluster *c, size_t via, const struct sink *s)
{
    char *url = sink_url(s, "/hook");
    char *body = vane_asprintf("{\"name\": \"to-sink\", \"eventbus\": \"" BUS "\", "
                               "\"sink\": \"%s\", \"config\": {\"offset_type\": \"earliest\"}}",
                               url);
    long status;

    json_decref(vcluster_api(c, via, "POST", "/api/v1/subscriptions", NULL, body, &status));
    vane_free(body);
    vane_free(url);
    return status == 201;
}

/* Publishes count more with p round the nodes in nodes; whether all were acknowledged. */
static bool publish_more(const struct vcluster *c, struct vcluster_publisher *p, unsigned nodes,
                         size_t count, const char *what)
{
    size_t acked = vcluster_publish_round(c, p, nodes, count, 20000);

    return ok(acked == count, "%zu of %zu events %s acknowledged", acked, count, what);
}

static bool deliver_across_failover(struct vcluster *c, const struct sink *s)
{
    struct vcluster_publisher before = {.bus = BUS, .prefix = "before"};
    struct vcluster_publisher after = {.bus = BUS, .prefix = "after"};
    struct vcluster_publisher rejoined = {.bus = BUS, .prefix = "rejoined"};
    long killed_at;
    int duty, next;
    bool good = true;

    good &= is_int(vcluster_create_bus(c, 1, BUS, 2), 201, "an eventbus of two eventlogs");
    good &= publish_more(c, &before, vcluster_every_node(c), 100, "published round the nodes");
    duty = vcluster_metadata_leader(c, 0, 10000);
    good &= ok(duty >= 0, "node %d leads the metadata group: it runs delivery", duty + 1);
    if (duty < 0)
        return false;
    good &= ok(create_subscription(c, 2, s), "a subscription to the sink, made through node 3");
    good &= ok(sink_wait_received(s, 10, 10000) >= 10, "delivery has begun");

    killed_at = now_ms();
    vcluster_kill(c, (size_t)duty);
    tap_diag("node %d killed with %zu requests at the sink", duty + 1, sink_received(s, NULL));
    good &= publish_more(c, &after, vcluster_all_but(c, (size_t)duty), 100,
                         "published to the survivors");
    next = vcluster_next_leader(c, ((size_t)duty + 1) % NODES, NULL, 0, (size_t)duty, 10000);
    good &= ok(next >= 0 && next != duty, "node %d leads the metadata group now", next + 1);
    good &= ok(all_arrive(s, &before.acked, 20000),
               "every event acknowledged before the kill reaches the sink");
    good &= ok(all_arrive(s, &after.acked, 20000),
               "every event acknowledged after it reaches the sink");
    tap_diag("all arrived %ld ms after the kill", now_ms() - killed_at);

    good &= ok(vcluster_restart(c, (size_t)duty) == 0, "the killed node restarts");
    good &= publish_more(c, &rejoined, vcluster_every_node(c), 50, "published once it is back");
    good &= ok(all_arrive(s, &rejoined.acked, 20000), "and those reach the sink too");
    {
        size_t total, distinct = sink_distinct_ids(s, "", &total);

        tap_diag("the sink received %zu requests for %zu distinct events", total, distinct);
    }
    vcluster_ids_free(&before.acked);
    vcluster_ids_free(&after.acked);
    vcluster_ids_free(&rejoined.acked);
    return good;
}

int main(void)
{
    /* A sink slow enough that the kill comes while delivery is under way. */
    const char *const slow[] = {"--delay-ms", "20", NULL};
    char *dir = harness_tempdir(), *record = vane_asprintf("%s/sink.jsonl", dir);
    struct vcluster c;
    struct sink s;

    if (!ok(sink_start_args(&s, record, slow) == 0, "the sink starts")) {
        sink_stop(&s);
    } else {
        if (ok(vcluster_start(&c, NODES, NULL) == 0, "three nodes start") &&
            !deliver_across_failover(&c, &s))
            vcluster_diag_logs(&c);
        vcluster_cleanup(&c);
        sink_stop(&s);
    }
    harness_rmtree(dir);
    vane_free(record);
    return tap_done();
}
