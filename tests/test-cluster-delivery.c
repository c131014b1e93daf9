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
 * and the events published after that arrive too.  A second subscription
 * is served by a connector (the sink-http plugin, one instance kept
 * running) to the same sink under another path: its instance runs where
 * delivery runs, is started again on the node that takes over, and every
 * event reaches the sink through it too.  Every wait has a deadline
 * (scaled by VANE_TEST_TIME_SCALE).
 */
#include <stdio.h>
#include <stdlib.h>
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
    const char *path; /* the requests counted: the subscription's or the connector's */
};

/* How many of the acknowledged ids the sink has received (each counted once). */
static size_t count_arrived(const void *arg)
{
    const struct arrivals *a = arg;
    json_t **lines = NULL, *seen = json_object();
    size_t n = sink_received(a->sink, &lines), arrived = 0;

    for (size_t i = 0; i < n; i++) {
        const char *id = sink_line_header(lines[i], "ce-id");
        const char *path = json_string_value(json_object_get(lines[i], "path"));

        if (id != NULL && path != NULL && strcmp(path, a->path) == 0)
            json_object_set_new(seen, id, json_true());
    }
    for (size_t k = 0; k < a->acked->count; k++)
        arrived += json_object_get(seen, a->acked->ids[k]) != NULL;
    json_decref(seen);
    sink_lines_free(lines, n);
    return arrived;
}

/* Waits until every acknowledged id has reached the sink at path; true when it did. */
static bool arrive_at(const struct sink *s, const struct vcluster_ids *acked, const char *path,
                      int timeout_ms)
{
    struct arrivals a = {s, acked, path};
    size_t arrived = harness_wait_count(count_arrived, &a, acked->count, timeout_ms);

    if (arrived < acked->count)
        tap_diag("%zu of the %zu acknowledged events reached the sink at %s", arrived,
                 acked->count, path);
    return arrived == acked->count;
}

/* The same through the subscription and through the connector. */
static bool all_arrive(const struct sink *s, const struct vcluster_ids *acked, int timeout_ms)
{
    bool direct = arrive_at(s, acked, "/hook", timeout_ms);

    return arrive_at(s, acked, "/conn", timeout_ms) && direct;
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

/*
 * A subscription served by a sink-http connector, one instance always
 * running, made with vanectl through node via: a node that does not run
 * the connectors redirects the call to the one that does.
 */
static bool create_connector(const struct vcluster *c, size_t via, const struct sink *s)
{
    char *url = sink_url(s, "/conn"), *option = vane_asprintf("url=%s", url);
    const char *conn[] = {getenv("VANECTL"), "--endpoint", c->node[via].url, "connector",
                          "create", "to-conn", "--plugin", "sink-http", "--subscription",
                          "by-conn", "--min", "1", "--option", option, NULL};
    const char *sub = "{\"name\": \"by-conn\", \"eventbus\": \"" BUS "\", "
                      "\"config\": {\"offset_type\": \"earliest\"}}";
    char *err = NULL;
    long status;
    bool made;

    json_decref(vcluster_api(c, via, "POST", "/api/v1/subscriptions", NULL, sub, &status));
    made = status == 201 && harness_run(conn, NULL, NULL, &err) == 0;
    if (!made)
        tap_diag("vanectl connector create: %s", err ? err : "");
    vane_free(err);
    vane_free(option);
    vane_free(url);
    return made;
}

/* The connector's running instances, as node i reports them (-1: no answer). */
static json_int_t instances(const struct vcluster *c, size_t i)
{
    long status;
    json_t *conn = vcluster_api(c, i, "GET", "/api/v1/connectors/to-conn", NULL, NULL, &status);
    json_int_t n = status == 200 ? json_integer_value(json_object_get(
                                       json_object_get(conn, "status"), "running"))
                                 : -1;

    json_decref(conn);
    return n;
}

/* Waits until node i reports the connector's instance running. */
static bool instance_runs(const struct vcluster *c, size_t i, int timeout_ms)
{
    long deadline = now_ms() + harness_ms(timeout_ms);

    while (instances(c, i) < 1 && now_ms() < deadline)
        usleep(100000);
    return instances(c, i) >= 1;
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
    good &= ok(create_connector(c, (size_t)(duty + 1) % NODES, s),
               "another served by a sink-http connector, made with vanectl through node %d",
               (duty + 1) % NODES + 1);
    good &= ok(instance_runs(c, (size_t)duty, 20000), "its instance runs on node %d", duty + 1);
    good &= ok(sink_wait_received(s, 10, 10000) >= 10, "delivery has begun");

    killed_at = now_ms();
    vcluster_kill(c, (size_t)duty);
    tap_diag("node %d killed with %zu requests at the sink", duty + 1, sink_received(s, NULL));
    good &= publish_more(c, &after, vcluster_all_but(c, (size_t)duty), 100,
                         "published to the survivors");
    next = vcluster_next_leader(c, ((size_t)duty + 1) % NODES, NULL, 0, (size_t)duty, 10000);
    good &= ok(next >= 0 && next != duty, "node %d leads the metadata group now", next + 1);
    good &= ok(next >= 0 && instance_runs(c, (size_t)next, 20000),
               "the connector's instance runs there now");
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
