/*
 * test-cluster-membership.c -- nodes joining and leaving a running cluster:
 * three real vaned processes, replicas 3, an eventbus of four eventlogs.
 *
 * A fourth node starts with cluster.join on and is added with `vanectl
 * cluster join`: it becomes a voter of the metadata group, the rebalancer
 * moves replicas onto it until each node holds three of the twelve, and
 * every node, the new one too, reads every acknowledged event of every
 * eventlog -- published all along, round every node -- densely and once.
 * Then the node that leads the metadata group (and runs delivery) leaves
 * with `vanectl cluster leave`: it hands the lead on, its voters move to the
 * three others, it is removed from every group and from the node list, and
 * the three still read everything.  Refusals on the way: a node id or address
 * already a member, a leave that would leave too few nodes, an unknown
 * node.  Bounded in time.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "harness.h"
#include "harness_cluster.h"
#include "tap.h"

#define BUS "moving"
#define EVENTLOGS 4
#define NEW 3 /* the index of the node that joins (id 4) */

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* vanectl through node via with args (ending in NULL); its exit status, *err its stderr. */
static int vanectl(const struct vcluster *c, size_t via, const char *const *args, char **err)
{
    const char *argv[16] = {getenv("VANECTL"), "--endpoint", c->node[via].url};
    size_t n = 3;

    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return harness_run(argv, NULL, NULL, err);
}

/* How many eventlog groups, as node via sees them, have node id as a voter, a standby. */
/*
 * Whether node via sees the eventlogs' voters spread evenly over the nodes
 * whose bit is set in nodes (each holds as many as any other, or one fewer,
 * and at least one), and the metadata group with exactly metadata voters.
 */
static bool balanced(const struct vcluster *c, size_t via, unsigned nodes, size_t metadata)
{
    json_t *status = vcluster_status(c, via), *meta = vcluster_group(c, via, NULL, 0);
    bool even = status != NULL && meta != NULL &&
                json_array_size(json_object_get(meta, "voters")) == metadata;
    int most = 0, fewest = 1 << 30;

    for (size_t i = 0; even && i < c->count; i++) {
        int voters, standbys;

        if (!(nodes & (1u << i)))
            continue;
        vcluster_count_roles(status, (json_int_t)i + 1, &voters, &standbys);
        most = voters > most ? voters : most;
        fewest = voters < fewest ? voters : fewest;
    }
    json_decref(status);
    json_decref(meta);
    return even && fewest >= 1 && most - fewest <= 1;
}

/* Publishes rounds of 20 round the nodes in mask until done(c) or timeout_ms (scaled). */
static bool publish_until(const struct vcluster *c, struct vcluster_publisher *p, unsigned mask,
                          bool (*done)(const struct vcluster *c), int timeout_ms)
{
    long deadline = now_ms() + harness_ms(timeout_ms);

    while (now_ms() < deadline) {
        vcluster_publish_round(c, p, mask, 20, 5000);
        if (done(c))
            return true;
    }
    return false;
}

/* Prints node via's view of every group's voters and standbys (after a failed check). */
static void diag_groups(const struct vcluster *c, size_t via)
{
    json_t *status = vcluster_status(c, via);
    const json_t *g;
    size_t i;

    json_array_foreach(json_object_get(status, "groups"), i, g) {
        char *voters = json_dumps(json_object_get(g, "voters"), JSON_COMPACT);
        char *standbys = json_dumps(json_object_get(g, "standbys"), JSON_COMPACT);

        tap_diag("node %zu sees group %lld: leader %lld, voters %s, standbys %s", via + 1,
                 json_integer_value(json_object_get(g, "group")),
                 json_integer_value(json_object_get(g, "leader")), voters, standbys);
        free(voters);
        free(standbys);
    }
    json_decref(status);
}

static bool moved_on(const struct vcluster *c)
{
    return balanced(c, 0, 0xf, 4) && balanced(c, NEW, 0xf, 4);
}

static size_t departing; /* the index of the node that leaves */

static bool moved_off(const struct vcluster *c)
{
    for (size_t i = 0; i < c->count; i++)
        if (i != departing && vcluster_knows(c, i, (json_int_t)departing + 1))
            return false;
    return true;
}

static bool all_agree(const struct vcluster *c, const struct vcluster_publisher *p)
{
    return vcluster_bus_agrees(c, BUS, EVENTLOGS, &p->acked, 15000);
}

/* vanectl args through node via fails, saying why. */
static void refused(const struct vcluster *c, size_t via, const char *const *args,
                    const char *why, const char *what)
{
    char *err = NULL;
    int rc = vanectl(c, via, args, &err);

    ok(rc != 0 && err != NULL && strstr(err, why) != NULL, "%s: %s", what, err ? err : "");
    vane_free(err);
}

/* POST /api/v1/cluster/nodes with body is answered 400 with why in its error. */
static void bad_body(const struct vcluster *c, const char *body, const char *why,
                     const char *what)
{
    long status;
    json_t *answer = vcluster_api(c, 0, "POST", "/api/v1/cluster/nodes", NULL, body, &status);
    char *text = json_dumps(answer, JSON_COMPACT);

    ok(status == 400 && text != NULL && strstr(text, why) != NULL, "%s is refused: %ld %s",
       what, status, text ? text : "");
    free(text);
    json_decref(answer);
}

static void refusals(const struct vcluster *c)
{
    char peer[64], http[64];
    const char *again[] = {"cluster", "join", "--id", "2", "--http", "127.0.0.1:1",
                           "--peer", "127.0.0.1:2", NULL};
    const char *taken[] = {"cluster", "join", "--id", "9", "--http", http, "--peer", peer,
                           NULL};
    const char *last[] = {"cluster", "leave", "1", NULL};
    const char *unknown[] = {"cluster", "leave", "42", NULL};

    snprintf(http, sizeof(http), "127.0.0.1:%d", c->http_port[1]);
    snprintf(peer, sizeof(peer), "127.0.0.1:%d", c->peer_port[1]);
    refused(c, 0, again, "already a member", "a join of an id already a member is refused");
    refused(c, 1, taken, "already a member", "a join on another node's addresses is refused");
    refused(c, 2, last, "cannot leave", "with three nodes and replicas 3, a leave is refused");
    refused(c, 0, unknown, "no node 42", "a leave of an unknown node is refused");
    bad_body(c, "{\"id\": 5, \"http\": \"nowhere\", \"peer\": \"127.0.0.1:1\"}",
             "\"field\":\"http\"", "a join with a bad http address");
    bad_body(c, "{\"http\": \"127.0.0.1:1\", \"peer\": \"127.0.0.1:2\"}", "id: required",
             "a join without an id");
}

int main(void)
{
    struct vcluster c;
    struct vcluster_publisher p = {.bus = BUS, .prefix = "member"};
    char id[16], http[64], peer[64], *err = NULL;
    const char *join[] = {"cluster", "join", "--id", id, "--http", http, "--peer", peer, NULL};
    const char *leave[] = {"cluster", "leave", id, NULL};
    unsigned survivors;
    size_t via;
    int rc, leader;

    if (!vcluster_start_ok(&c, 3, NULL))
        return tap_done();
    ok(vcluster_create_bus(&c, 0, BUS, EVENTLOGS) == 201, "an eventbus of %d eventlogs",
       EVENTLOGS);
    ok(vcluster_publish_round(&c, &p, vcluster_every_node(&c), 100, 20000) == 100,
       "100 events published round the three nodes");
    refusals(&c);

    ok(vcluster_add_node(&c, NULL) == 0, "a fourth node starts with cluster.join on");
    snprintf(id, sizeof(id), "%d", NEW + 1);
    snprintf(http, sizeof(http), "127.0.0.1:%d", c.http_port[NEW]);
    snprintf(peer, sizeof(peer), "127.0.0.1:%d", c.peer_port[NEW]);
    rc = vanectl(&c, 1, join, &err);
    ok(rc == 0, "vanectl cluster join adds it through node 2 %s", err ? err : "");
    vane_free(err);
    ok(vaned_wait_ready(&c.node[NEW], harness_ms(30000)) == 0, "the new node becomes ready");
    if (!ok(publish_until(&c, &p, vcluster_every_node(&c), moved_on, 60000),
            "publishing all along, voters move onto it until the four hold as many each (or "
            "one fewer), and the metadata group has 4 voters")) {
        diag_groups(&c, 0);
        diag_groups(&c, NEW);
        vcluster_diag_logs(&c);
    }
    tap_diag("%zu events acknowledged", p.acked.count);
    ok(all_agree(&c, &p), "every node, the new one too, reads every eventlog, densely and once");

    leader = vcluster_metadata_leader(&c, NEW, 10000);
    departing = leader >= 0 ? (size_t)leader : NEW;
    via = (departing + 1) % c.count;
    snprintf(id, sizeof(id), "%zu", departing + 1);
    err = NULL;
    rc = vanectl(&c, via, leave, &err);
    ok(rc == 0, "vanectl cluster leave %zu, the metadata leader, through node %zu %s",
       departing + 1, via + 1, err ? err : "");
    vane_free(err);
    survivors = vcluster_every_node(&c) & ~(1u << departing);
    if (!ok(publish_until(&c, &p, survivors, moved_off, 60000),
            "publishing all along, it hands the lead on, its voters move off it and it is "
            "removed from every group and the node list")) {
        diag_groups(&c, via);
        vcluster_diag_logs(&c);
    }
    tap_diag("%zu events acknowledged", p.acked.count);
    ok(balanced(&c, via, survivors, 3), "the voters are spread evenly over the three again");
    vcluster_kill(&c, departing);
    if (!ok(all_agree(&c, &p), "the three read every acknowledged event, densely and once"))
        vcluster_diag_logs(&c);
    vcluster_ids_free(&p.acked);
    vcluster_cleanup(&c);
    return tap_done();
}
