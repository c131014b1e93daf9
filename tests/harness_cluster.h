/*
 * harness_cluster.h -- a cluster of real vaned processes on loopback, for
 * the cluster tests and benchmarks.
 *
 *     struct vcluster c;
 *     vcluster_start(&c, 3, NULL);        three nodes, each ready
 *     api_post(c.node[0].url, ...);
 *     vcluster_kill(&c, 1);               kill -9
 *     vcluster_restart(&c, 1);            same config and data
 *     vcluster_cleanup(&c);               kills them all, removes the data
 *
 * Each node gets a free HTTP port and a free peer port on 127.0.0.1, a
 * config file listing every node (extra, when not NULL, is more Lua table
 * fields appended to it) and its own data directory under one temporary
 * root.
 */
#ifndef VANE_TESTS_HARNESS_CLUSTER_H
#define VANE_TESTS_HARNESS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "harness.h"

#define VCLUSTER_MAX 5

struct vcluster {
    size_t count;
    char *root;
    char *config[VCLUSTER_MAX];
    char *data[VCLUSTER_MAX];
    int http_port[VCLUSTER_MAX], peer_port[VCLUSTER_MAX];
    struct vaned node[VCLUSTER_MAX]; /* node[i] is cluster node id i + 1 */
    bool running[VCLUSTER_MAX];
};

/* Starts count nodes at once and waits until each is ready.  Returns 0 or -1. */
int vcluster_start(struct vcluster *c, size_t count, const char *extra);

/* kill -9 node i and reaps it. */
void vcluster_kill(struct vcluster *c, size_t i);

/* Starts node i again on its config and data; waits until ready.  Returns 0 or -1. */
int vcluster_restart(struct vcluster *c, size_t i);

/* GET /api/v1/cluster of node i (NULL when it does not answer). */
json_t *vcluster_status(const struct vcluster *c, size_t i);

/*
 * The node (index) leading the eventlog number index of bus as node i sees
 * it, waiting up to timeout_ms for one to be known; -1 when none is.
 */
int vcluster_eventlog_leader(const struct vcluster *c, size_t i, const char *bus,
                             int index, int timeout_ms);

/* Prints each running node's log as TAP diagnostics (after a failed check). */
void vcluster_diag_logs(const struct vcluster *c);

void vcluster_cleanup(struct vcluster *c);

#endif
