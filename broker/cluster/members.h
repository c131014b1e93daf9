/*
 * members.h -- the nodes of a cluster, as the configuration lists them, and
 * where an eventlog's replicas go.
 *
 * A cluster is declared in every node's configuration file:
 *
 *     cluster = {
 *       node_id = 1,
 *       nodes = {
 *         { id = 1, http = "127.0.0.1:8081", peer = "127.0.0.1:9101" },
 *         { id = 2, http = "127.0.0.1:8082", peer = "127.0.0.1:9102" },
 *         { id = 3, http = "127.0.0.1:8083", peer = "127.0.0.1:9103" },
 *       },
 *       replicas = 3,
 *     }
 *
 * node_id 0 (the default) is a single node: no peer port, every raft group
 * with this node as its only voter.  Otherwise node_id must be one of the
 * nodes; its peer address is where this node listens for the others.  The
 * raft address of a node is its peer address.
 */
#ifndef VANE_CLUSTER_MEMBERS_H
#define VANE_CLUSTER_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CLUSTER_MAX_NODES 64
#define CLUSTER_MAX_REPLICAS 7

struct cluster_node {
    uint64_t id;
    char *http; /* "host:port" of its HTTP API */
    char *peer; /* "host:port" of its peer port; its raft address */
    bool leaving; /* its replicas are moving off it (vanectl cluster leave) */
    uint64_t since; /* the metadata index that added it; 0: one of the first nodes */
};

struct cluster_members {
    uint64_t self;               /* this node's id; 0: a single node */
    unsigned replicas_wanted;    /* cluster.replicas */
    unsigned replicas;           /* voting replicas per eventlog, at most the active nodes */
    size_t count;                /* nodes, sorted by id */
    struct cluster_node *nodes;
};

/*
 * Reads the configuration's cluster.nodes (JSON text: an array of objects
 * {id, http, peer}) for node self with replicas per eventlog.  Returns 0, or
 * -EINVAL with *errmsg naming the entry and what was expected.  With self 0
 * the list must be empty.
 */
int cluster_members_parse(struct cluster_members *m, const char *nodes_json, uint64_t self,
                          uint64_t replicas, char **errmsg);

/* Checks only the shape of cluster.nodes (for the configuration schema):
 * NULL when good, else what was expected. */
const char *cluster_members_check_json(const char *nodes_json);

void cluster_members_free(struct cluster_members *m);

/*
 * Replaces the nodes by those the metadata holds (controller/members.c): a
 * JSON array of {id, http, peer, state ("active" or "leaving"), since}.
 * self and replicas_wanted stay; replicas follows the active nodes.
 */
void cluster_members_update(struct cluster_members *m, const json_t *nodes);

/* The nodes as cluster.nodes lists them, for the metadata's first record of them. */
json_t *cluster_members_to_json(const struct cluster_members *m);

/* The nodes that are not leaving. */
size_t cluster_members_active(const struct cluster_members *m);

static inline bool cluster_is_single(const struct cluster_members *m)
{
    return m->self == 0;
}

const struct cluster_node *cluster_members_find(const struct cluster_members *m, uint64_t id);
const struct cluster_node *cluster_members_self(const struct cluster_members *m);

/*
 * Where eventlog number index of an eventbus goes: m->replicas node ids
 * into out, the first its preferred leader, starting at active node (seed +
 * index) mod the active nodes.  Consecutive eventlogs (and, with the count of
 * eventlogs already placed as seed, eventbuses) start on consecutive
 * nodes, so replicas and leaders spread evenly.  Returns the count
 * written.
 */
unsigned cluster_place(const struct cluster_members *m, uint64_t seed, uint32_t index,
                       uint64_t out[CLUSTER_MAX_REPLICAS]);

#endif
