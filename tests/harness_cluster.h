/*
 * harness_cluster.h -- a cluster of real vaned processes, for the cluster
 * tests and benchmarks: started, killed, paused and cut off from each other,
 * published to, and read back.
 *
 *     struct vcluster c;
 *     vcluster_start(&c, 3, NULL);        three nodes on loopback, each ready
 *     vcluster_publish(&c, 0, "orders", "id-1");
 *     vcluster_kill(&c, 1);               kill -9
 *     vcluster_restart(&c, 1);            same config and data
 *     vcluster_pause(&c, 2);              SIGSTOP (vcluster_resume: SIGCONT)
 *     vcluster_cleanup(&c);               kills them all, removes the data
 *
 * Each node gets a free HTTP port and a free peer port on 127.0.0.1, a
 * config file listing every node (extra, when not NULL, is more Lua table
 * fields appended to it) and its own data directory under one temporary
 * root.  vcluster_start_netns() puts each node in a network namespace of
 * its own instead (harness_netns.h, root only), so that vcluster_cut() can
 * take one off the network.  Always talk to node i through vcluster_api()
 * and the calls built on it: they reach it in its namespace, and skip a
 * paused node rather than wait for it.
 *
 * Node i is cluster node id i + 1.  Indexes of nodes are size_t; a node
 * returned by a lookup is an int, -1 for none.
 */
#ifndef VANE_TESTS_HARNESS_CLUSTER_H
#define VANE_TESTS_HARNESS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "harness.h"
#include "harness_netns.h"

#define VCLUSTER_MAX 5

struct vcluster {
    size_t count;
    char *root;
    char *config[VCLUSTER_MAX];
    char *data[VCLUSTER_MAX];
    char host[VCLUSTER_MAX][32]; /* the address node i listens on */
    int http_port[VCLUSTER_MAX], peer_port[VCLUSTER_MAX];
    struct vaned node[VCLUSTER_MAX];
    bool running[VCLUSTER_MAX];
    bool paused[VCLUSTER_MAX]; /* stopped by vcluster_pause() */
    struct netns_net *net;     /* vcluster_start_netns(): the namespaces; else NULL */
};

/* Starts count nodes at once and waits until each is ready.  Returns 0 or -1. */
int vcluster_start(struct vcluster *c, size_t count, const char *extra);

/* vcluster_start(), reported as the test point "N nodes start and become
 * ready"; false (the cluster cleaned up) when they did not. */
bool vcluster_start_ok(struct vcluster *c, size_t count, const char *extra);

/*
 * The same with node i in network namespace vane-<pid>-<i+1> at 10.77.0.<i+1>
 * (check netns_unusable() first).  Returns 0 or -1; call vcluster_cleanup()
 * either way: it deletes the namespaces.
 */
int vcluster_start_netns(struct vcluster *c, size_t count, const char *extra);

/*
 * Starts one more node, the next index, with cluster.join on and only itself
 * in its cluster.nodes: it waits for a member to add it (POST
 * /api/v1/cluster/nodes), so it is not ready yet.  Not in namespaces.
 * Returns 0 or -1.
 */
int vcluster_add_node(struct vcluster *c, const char *extra);

/* kill -9 node i and reaps it. */
void vcluster_kill(struct vcluster *c, size_t i);

/* Starts node i again on its config and data; waits until ready.  Returns 0 or -1. */
int vcluster_restart(struct vcluster *c, size_t i);

/* SIGSTOP and SIGCONT node i: a node that is alive but answers nobody. */
void vcluster_pause(struct vcluster *c, size_t i);
void vcluster_resume(struct vcluster *c, size_t i);

/* Takes node i off the network (its namespace's link down) and back.  Only
 * after vcluster_start_netns(); 0 or -1. */
int vcluster_cut(struct vcluster *c, size_t i);
int vcluster_heal(struct vcluster *c, size_t i);

/*
 * api_call_with() on node i, from inside its namespace.  Returns NULL with
 * *status 0, asking nothing, when node i is not running or paused.  Quiet.
 */
json_t *vcluster_api(const struct vcluster *c, size_t i, const char *method, const char *path,
                     const char *const *headers, const char *body, long *status);

/* GET /api/v1/cluster of node i (NULL when it does not answer 200). */
json_t *vcluster_status(const struct vcluster *c, size_t i);

/*
 * Node i's view of a raft group (a member of "groups" of its status, a new
 * reference): eventlog number index of bus, or with bus NULL the metadata
 * (controller) group.  NULL when node i does not answer or has no replica.
 */
json_t *vcluster_group(const struct vcluster *c, size_t i, const char *bus, int index);

/* How many eventlog groups in status (a GET /api/v1/cluster answer) have node id as a voter,
 * and as a standby. */
void vcluster_count_roles(const json_t *status, json_int_t id, int *voters, int *standbys);

/* Whether node via still lists node id: in its node list, the metadata group or any eventlog's
 * voters or standbys (true when via does not answer: it cannot tell). */
bool vcluster_knows(const struct vcluster *c, size_t via, json_int_t id);

/*
 * The node leading eventlog number index of bus as node i sees it, waiting
 * up to timeout_ms for one to be known; -1 when none is.
 */
int vcluster_eventlog_leader(const struct vcluster *c, size_t i, const char *bus,
                             int index, int timeout_ms);
/* The same for the metadata group: the node that runs delivery. */
int vcluster_metadata_leader(const struct vcluster *c, size_t i, int timeout_ms);

/*
 * After node old failed: the node leading eventlog number index of bus
 * (bus NULL: the metadata group) as node i sees it, waiting up to
 * timeout_ms for one other than node old; -1 when none came.
 */
int vcluster_next_leader(const struct vcluster *c, size_t i, const char *bus, int index,
                         size_t old, int timeout_ms);

/* Creates eventbus name of eventlogs eventlogs through node i; the answer's status (201). */
long vcluster_create_bus(const struct vcluster *c, size_t i, const char *name, int eventlogs);

/* Publishes one event (binary mode, ce-id and data id) to node i; the answer's status
 * (0: none came). */
long vcluster_publish(const struct vcluster *c, size_t i, const char *bus, const char *id);

/* A list of event ids. */
struct vcluster_ids {
    char **ids;
    size_t count, cap;
};

void vcluster_ids_add(struct vcluster_ids *list, const char *id);
void vcluster_ids_free(struct vcluster_ids *list);

/*
 * A publisher that never sends an id twice (prefix-0, prefix-1, ...): an
 * attempt that got no answer may have been stored, and its retry must not
 * look like a duplicate.  acked holds the ids answered 200; unanswered
 * counts the attempts that got no answer at all in the client's 5 s.
 */
struct vcluster_publisher {
    const char *bus, *prefix;
    unsigned sent, unanswered;
    struct vcluster_ids acked;
};

/*
 * Publishes the next ids round the running, unpaused nodes whose bit is set
 * in nodes (bit i: node i) until count more are acknowledged or timeout_ms
 * (scaled) pass; a refused attempt moves on to the next node after 20 ms.
 * Returns how many were acknowledged.
 */
size_t vcluster_publish_round(const struct vcluster *c, struct vcluster_publisher *p,
                              unsigned nodes, size_t count, int timeout_ms);

/* Every node's bit, and every node's but node i's, for vcluster_publish_round(). */
unsigned vcluster_every_node(const struct vcluster *c);
unsigned vcluster_all_but(const struct vcluster *c, size_t i);

/*
 * Reads every event of eventlog number index of bus from node i, in offset
 * order, into log (emptied first).  Returns 0, or -1 when a read fails or
 * an offset is missing (not dense).
 */
int vcluster_read_log(const struct vcluster *c, size_t i, const char *bus, int index,
                      struct vcluster_ids *log);

/*
 * Waits up to timeout_ms (scaled) until every running, unpaused node's copy of
 * eventlog number index of bus is dense, the same on every node, and holds
 * each id of acked exactly once and no id twice.  Returns whether it came
 * to that; if not, prints what was wrong.  *length (may be NULL) is set to
 * the first node's count of events.
 */
bool vcluster_logs_agree(const struct vcluster *c, const char *bus, int index,
                         const struct vcluster_ids *acked, int timeout_ms, long *length);

/* The same over all the eventlogs of bus, read one after the other: each acked id once in
 * the whole eventbus, and every eventlog the same on every node. */
bool vcluster_bus_agrees(const struct vcluster *c, const char *bus, int eventlogs,
                         const struct vcluster_ids *acked, int timeout_ms);

/* Prints each running node's log as TAP diagnostics (after a failed check). */
void vcluster_diag_logs(const struct vcluster *c);

/* Kills every node, removes the data and deletes the namespaces, if any. */
void vcluster_cleanup(struct vcluster *c);

#endif
