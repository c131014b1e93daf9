/*
 * test-cluster-partition.c -- a three-node cluster whose eventlog leader is
 * partitioned off, two ways, while events are published.
 *
 * By pause: the leader is stopped with SIGSTOP -- alive, holding its
 * connections, answering nobody -- for at least 3 s (longer than the
 * 600-1200 ms election timeout) and until 20 publishes through the other
 * two nodes were acknowledged: they elect a new leader and go on.  Every
 * publish meanwhile must be answered (a client left without an answer
 * cannot know whether its event was stored).  Once continued, the old
 * leader steps down, follows the new one at the term it was elected in
 * (pre-vote: its return starts no election) and catches up.
 *
 * By network: each node runs in a network namespace of its own on a bridge
 * (harness_netns.h; root only, skipped otherwise), and the leader's link
 * is set down.  At once an event is published to it: it appends the entry
 * (and writes its records) but can never commit it.  The majority elects a
 * leader and acknowledges publishes as above; the node cut off no longer
 * leads and acknowledges nothing (it answers 503, or never); once the link
 * is up again it loses the uncommitted entry, and its records, to the new
 * leader's log, and catches up.
 *
 * Both end the same way: every event acknowledged, before, during and
 * after, is read back from all three nodes, at dense offsets and once.  The
 * publisher never sends an id twice (harness_cluster.h), so an event stored
 * twice is a duplicate in the broker, not a retry.  Every wait has a
 * deadline (scaled by VANE_TEST_TIME_SCALE); the pause and the cut are
 * wall-clock, as the election timeout is.
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
#define PARTITION_MS 3000 /* longer than the election timeout, 600 to 1200 ms */
#define DURING_ACKS 20    /* acknowledged while partitioned, at least */

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *role_of(const json_t *group)
{
    const char *role = json_string_value(json_object_get(group, "role"));

    return role != NULL ? role : "unknown";
}

static json_int_t term_of(const json_t *group)
{
    return json_integer_value(json_object_get(group, "term"));
}

/* The node leading eventlog 0 of bus after node old, as node `from` sees it, and its term. */
static int wait_new_leader(const struct vcluster *c, size_t from, const char *bus, size_t old,
                           json_int_t *term)
{
    int leader = vcluster_next_leader(c, from, bus, 0, old, 10000);
    json_t *g = vcluster_group(c, from, bus, 0);

    *term = term_of(g);
    json_decref(g);
    return leader;
}

/*
 * Waits until node i no longer leads eventlog 0 of bus at term (a follower,
 * or at a later term); its view then is returned (json_decref() it), or NULL.
 */
static json_t *wait_stepped_down(const struct vcluster *c, size_t i, const char *bus,
                                 json_int_t term)
{
    long deadline = now_ms() + harness_ms(10000);

    do {
        json_t *g = vcluster_group(c, i, bus, 0);

        if (g != NULL && (strcmp(role_of(g), "leader") != 0 || term_of(g) > term))
            return g;
        json_decref(g);
        usleep(20000);
    } while (now_ms() < deadline);
    return NULL;
}

/*
 * Publishes through nodes (bits, as vcluster_publish_round) while node
 * `partitioned` is partitioned off since since_ms (monotonic): until
 * PARTITION_MS have passed and DURING_ACKS were acknowledged, or 15 s.
 * Reports how many were, how soon the first was, and whether every attempt
 * got an answer; true when all went well.
 */
static bool publish_through_partition(const struct vcluster *c, struct vcluster_publisher *p,
                                      unsigned nodes, size_t partitioned, long since_ms)
{
    long first_ms = -1, give_up = since_ms + harness_ms(15000);
    unsigned unanswered = p->unanswered;
    size_t acked = 0;
    bool good = true;

    while ((now_ms() < since_ms + PARTITION_MS || acked < DURING_ACKS) && now_ms() < give_up) {
        size_t one = vcluster_publish_round(c, p, nodes, 1, (int)(give_up - now_ms()));

        if (one > 0 && first_ms < 0)
            first_ms = now_ms() - since_ms;
        acked += one;
    }
    good &= ok(acked >= DURING_ACKS, "%zu acknowledged by the others while node %zu was off",
               acked, partitioned + 1);
    tap_diag("the first %ld ms after it went off", first_ms);
    /* A client that gets no answer cannot know whether its event was stored: a node should
     * answer (200, or 503 when the outcome is unknown) once raft names the new leader. */
    good &= is_int(p->unanswered - unanswered, 0,
                   "every publish to the others was answered within the client's 5 s");
    return good;
}

/* Whether every node holds the acknowledged events of eventlog 0 (vcluster_logs_agree). */
static bool all_hold(const struct vcluster *c, const struct vcluster_publisher *p,
                     int timeout_ms, const char *when)
{
    long length = -1;
    bool agree = vcluster_logs_agree(c, p->bus, 0, &p->acked, timeout_ms, &length);

    return ok(agree, "%s, all three nodes hold the %zu acknowledged events densely and once "
                     "(%ld in the log)",
              when, p->acked.count, length);
}

/* Creates a one-eventlog bus and returns its leader, or -1 (reported). */
static int bus_with_leader(const struct vcluster *c, const char *bus)
{
    long status = vcluster_create_bus(c, 0, bus, 1);
    int leader;

    ok(status == 201, "eventbus %s of one eventlog is created (%ld)", bus, status);
    leader = vcluster_eventlog_leader(c, 0, bus, 0, 10000);
    ok(leader >= 0, "its eventlog has a leader: node %d", leader + 1);
    return leader;
}

/* ---- partition by pause ---------------------------------------------------- */

static bool test_pause(struct vcluster *c)
{
    struct vcluster_publisher p = {.bus = "paused", .prefix = "pause"};
    int leader = bus_with_leader(c, "paused"), next;
    json_int_t old_term, new_term;
    json_t *view;
    long paused_at;
    unsigned others;
    bool good = true;

    if (leader < 0)
        return false;
    others = vcluster_all_but(c, (size_t)leader);
    good &= is_int(vcluster_publish_round(c, &p, others, 100, 20000), 100,
                   "100 events acknowledged through the followers before the pause");
    view = vcluster_group(c, (size_t)leader, "paused", 0);
    old_term = term_of(view);
    json_decref(view);

    paused_at = now_ms();
    vcluster_pause(c, (size_t)leader);
    good &= publish_through_partition(c, &p, others, (size_t)leader, paused_at);
    next = wait_new_leader(c, ((size_t)leader + 1) % NODES, "paused", (size_t)leader,
                           &new_term);
    good &= ok(next >= 0 && new_term > old_term,
               "node %d leads the eventlog at term %lld (was %lld)", next + 1,
               (long long)new_term, (long long)old_term);

    vcluster_resume(c, (size_t)leader);
    view = wait_stepped_down(c, (size_t)leader, "paused", old_term);
    good &= ok(view != NULL, "once continued, node %d no longer leads at term %lld (%s at %lld)",
               leader + 1, (long long)old_term, role_of(view), (long long)term_of(view));
    good &= ok(view != NULL && term_of(view) == new_term &&
                   json_integer_value(json_object_get(view, "leader")) == next + 1,
               "it follows node %d at term %lld: its return started no election (pre-vote)",
               next + 1, (long long)new_term);
    json_decref(view);
    good &= is_int(vcluster_publish_round(c, &p, vcluster_every_node(c), 100, 20000), 100,
                   "100 more acknowledged round all three nodes");
    good &= all_hold(c, &p, 15000, "after the pause");
    vcluster_ids_free(&p.acked);
    return good;
}

/* ---- partition by network -------------------------------------------------- */

/* Publishes to the node cut off; true when it did not acknowledge (refused, or never
 * answered).  An acknowledgement would be checked for after healing: it must not be lost. */
static bool cut_node_refuses(const struct vcluster *c, struct vcluster_publisher *p, size_t cut)
{
    char id[64];
    long status;

    snprintf(id, sizeof(id), "%s-%u", p->prefix, p->sent++);
    status = vcluster_publish(c, cut, p->bus, id);
    tap_diag("publishing %s to the node cut off: %ld%s", id, status,
             status == 0 ? " (no answer in the client's 5 s)" : "");
    if (status == 200)
        vcluster_ids_add(&p->acked, id);
    return status != 200;
}

/* Whether node v's log holds text. */
static bool log_says(const struct vaned *v, const char *text)
{
    char *log = harness_read_file(v->log_path);
    bool says = log != NULL && strstr(log, text) != NULL;

    vane_free(log);
    return says;
}

static bool partition_network(struct vcluster *c)
{
    struct vcluster_publisher p = {.bus = "cut", .prefix = "cut"};
    int leader = bus_with_leader(c, "cut"), next;
    json_int_t old_term, new_term;
    json_t *view;
    long cut_at, healed_at;
    unsigned majority;
    bool good = true;

    if (leader < 0)
        return false;
    majority = vcluster_all_but(c, (size_t)leader);
    good &= is_int(vcluster_publish_round(c, &p, vcluster_every_node(c), 100, 20000), 100,
                   "100 events acknowledged round the three nodes before the cut");
    view = vcluster_group(c, (size_t)leader, "cut", 0);
    old_term = term_of(view);
    json_decref(view);

    good &= ok(vcluster_cut(c, (size_t)leader) == 0, "node %d's link is down", leader + 1);
    cut_at = now_ms();
    /* At once, before it knows it is cut off: the leader appends this event to
     * its log, its records to its segments, and can never commit it. */
    good &= ok(cut_node_refuses(c, &p, (size_t)leader),
               "the leader just cut off acknowledges nothing");
    good &= publish_through_partition(c, &p, majority, (size_t)leader, cut_at);
    next = wait_new_leader(c, ((size_t)leader + 1) % NODES, "cut", (size_t)leader, &new_term);
    good &= ok(next >= 0, "node %d leads the majority at term %lld (was %lld)", next + 1,
               (long long)new_term, (long long)old_term);
    view = wait_stepped_down(c, (size_t)leader, "cut", old_term);
    good &= ok(view != NULL, "the node cut off no longer leads (%s, term %lld)",
               role_of(view), (long long)term_of(view));
    json_decref(view);
    good &= ok(cut_node_refuses(c, &p, (size_t)leader), "the node cut off acknowledges nothing");

    good &= ok(vcluster_heal(c, (size_t)leader) == 0, "node %d's link is up again", leader + 1);
    healed_at = now_ms();
    good &= all_hold(c, &p, 20000, "once healed");
    tap_diag("the logs agreed %ld ms after the link came back", now_ms() - healed_at);
    good &= ok(log_says(&c->node[leader], "removed entries never committed here"),
               "node %d's raft log lost the entry it could not commit, and its records with it",
               leader + 1);
    good &= is_int(vcluster_publish_round(c, &p, vcluster_every_node(c), 30, 20000), 30,
                   "30 more acknowledged round all three nodes after healing");
    good &= all_hold(c, &p, 10000, "and after those");
    vcluster_ids_free(&p.acked);
    return good;
}

static void test_network(void)
{
    const char *why = netns_unusable();
    struct vcluster c;

    if (why != NULL) {
        ok(true, "a partition between network namespaces # SKIP %s", why);
        return;
    }
    if (ok(vcluster_start_netns(&c, NODES, NULL) == 0,
           "three nodes start, each in its own network namespace") &&
        !partition_network(&c))
        vcluster_diag_logs(&c);
    vcluster_cleanup(&c);
}

int main(void)
{
    struct vcluster c;

    if (ok(vcluster_start(&c, NODES, NULL) == 0, "three nodes start on loopback") &&
        !test_pause(&c))
        vcluster_diag_logs(&c);
    vcluster_cleanup(&c);
    test_network();
    return tap_done();
}
