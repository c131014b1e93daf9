/*
 * cluster.h -- this node's part in a cluster, as the store and the
 * controller see it: who the nodes are, the peer port, the forwarder.
 *
 * The daemon opens it from the configuration before the store (a single
 * node has none: the parts take NULL) and closes it after.  The
 * controller's metadata group is raft group CLUSTER_CONTROLLER_GROUP, a
 * voter on every node.  Each eventlog is the raft group of its id, with a
 * replica on every node: voters on the nodes the controller placed it on
 * (members.h), standbys on the others -- they follow the log, so every node
 * serves every eventlog, but only the voters count for a commit.
 */
#ifndef VANE_CLUSTER_CLUSTER_H
#define VANE_CLUSTER_CLUSTER_H

#include <uv.h>

#include "cluster/forward.h"
#include "cluster/members.h"
#include "cluster/peer.h"
#include "raft/replica.h"

#define CLUSTER_CONTROLLER_GROUP 0

typedef void (*cluster_close_cb)(void *arg);

struct cluster {
    struct cluster_members members;
    struct peer_net *net;
    struct forwarder *forwarder;
    uv_loop_t *loop;
    bool join;  /* cluster.join: this node joins a running cluster, it starts no group */
    bool rebalancing; /* a placement change is being applied (rebalance.h) */
    cluster_close_cb close_cb;
    void *close_arg;
};

/*
 * Starts this node's peer port and forwarder for members (taken over).
 * Returns 0, or a negative error with *errmsg.
 */
int cluster_open(struct cluster **cluster, uv_loop_t *loop, struct cluster_members *members,
                 char **errmsg);

/*
 * The replica settings of group group_id whose voters are the count nodes
 * of ids (NULL: every node that is not leaving), every other node a
 * standby, for replica_start() and replica_set_members(): out->rc.
 */
struct cluster_group {
    struct replica_cluster rc;
    uint64_t ids[CLUSTER_MAX_NODES];
    const char *addresses[CLUSTER_MAX_NODES];
};
void cluster_group(const struct cluster *cluster, uint64_t group_id, const uint64_t *ids,
                   size_t count, struct cluster_group *out);

void cluster_close(struct cluster *cluster, cluster_close_cb cb, void *arg);

#endif
