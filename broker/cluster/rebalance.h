/*
 * rebalance.h -- where the replicas go as nodes join and leave: the work
 * of the node that leads the metadata group (the daemon's duty timer calls
 * rebalance_step() there, several times a second).
 *
 * The metadata holds the nodes and each eventlog's voters
 * (controller/members.c); a step proposes at most one change to them and
 * waits for it to be applied before the next.  The raft groups follow on
 * their own leaders (raft/replica_members.c).
 */
#ifndef VANE_CLUSTER_REBALANCE_H
#define VANE_CLUSTER_REBALANCE_H

#include "cluster/cluster.h"
#include "store/store.h"

void rebalance_step(struct cluster *cluster, struct store *store);

#endif
