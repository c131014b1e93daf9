/*
 * cluster_api.h -- the cluster over HTTP.
 *
 *     GET    /api/v1/cluster             this node's view of the cluster
 *     POST   /api/v1/cluster/nodes       a node joins: {"id", "http", "peer"};
 *                                        200 {"id", "state": "active"}
 *     DELETE /api/v1/cluster/nodes/{id}  a node leaves: 202 {"id", "state": "leaving"};
 *                                        it is removed once its replicas moved off
 *
 * The view:
 *
 *     {"node_id": 1, "replicas": 3,
 *      "nodes": [{"id": 1, "http": "127.0.0.1:8081", "peer": "127.0.0.1:9101",
 *                 "state": "active", "self": true}, ...],
 *      "groups": [{"group": 0, "kind": "controller", "role": "leader",
 *                  "leader": 1, "term": 2, "voters": [1, 2, 3], "standbys": [],
 *                  "last_index": 40, "commit_index": 40, "last_applied": 40},
 *                 {"group": 5, "kind": "eventlog", "eventbus": "orders",
 *                  "eventlog": 0, ...}, ...]}
 *
 * One entry per raft group with a replica on this node; a single node
 * answers node_id 0 and no nodes.  Replication lag is what vanectl cluster
 * status computes from every node's answer (a follower's last_index behind
 * its leader's).  Needs the admin token when auth.admin requires it.
 */
#ifndef VANE_GATEWAY_CLUSTER_API_H
#define VANE_GATEWAY_CLUSTER_API_H

#include <h2o.h>

struct http_server;
struct gateway;

void cluster_api_register(struct http_server *server, struct gateway *gw);

/*
 * In a cluster, connectors run on the node that leads the metadata group
 * (with delivery): another node answers their requests with 307 to the
 * same path there (vanectl follows it, method and body kept), or 503 while
 * that node is not known.  Returns 1 when it answered, 0 on a single node.
 */
int cluster_api_redirect_to_duty(struct gateway *gw, h2o_req_t *req);

#endif
