/*
 * cluster.c -- this node's peer port and forwarder, and groups' voters
 * (see cluster.h).
 */
#include <string.h>

#include "cluster/cluster.h"
#include "core/alloc.h"
#include "core/error.h"

int cluster_open(struct cluster **out, uv_loop_t *loop, struct cluster_members *members,
                 char **errmsg)
{
    struct cluster *cluster = VANE_NEW(cluster);
    const struct cluster_node *self = cluster_members_self(members);
    int err;

    cluster->members = *members;
    memset(members, 0, sizeof(*members));
    cluster->loop = loop;
    if ((err = peer_net_open(&cluster->net, loop, self->id, self->peer, self->peer, errmsg)) != 0) {
        cluster_members_free(&cluster->members);
        vane_free(cluster);
        return err;
    }
    if ((err = forwarder_open(&cluster->forwarder, cluster->net)) != 0) {
        *errmsg = vane_asprintf("cannot offer the forward service: %s", vane_strerror(err));
        cluster_close(cluster, NULL, NULL);
        return err;
    }
    *out = cluster;
    return 0;
}

/* Adds node as the next member of out (voter or not as the caller says). */
static void add_member(struct cluster_group *out, size_t *n, const struct cluster_node *node)
{
    for (size_t i = 0; i < *n; i++)
        if (out->ids[i] == node->id)
            return;
    if (*n < CLUSTER_MAX_NODES) {
        out->ids[*n] = node->id;
        out->addresses[(*n)++] = node->peer;
    }
}

void cluster_group(const struct cluster *cluster, uint64_t group_id, const uint64_t *ids,
                   size_t count, struct cluster_group *out)
{
    const struct cluster_members *m = &cluster->members;
    size_t n = 0, voters;

    for (size_t i = 0; ids != NULL && i < count; i++) {
        const struct cluster_node *node = cluster_members_find(m, ids[i]);

        if (node != NULL) /* else a node no longer a member */
            add_member(out, &n, node);
    }
    for (size_t i = 0; ids == NULL && i < m->count; i++)
        if (!m->nodes[i].leaving)
            add_member(out, &n, &m->nodes[i]);
    voters = n;
    for (size_t i = 0; i < m->count; i++)
        add_member(out, &n, &m->nodes[i]);
    out->rc = (struct replica_cluster){.net = cluster->net, .forwarder = cluster->forwarder,
                                       .group_id = group_id, .member_count = n,
                                       .voter_count = voters, .member_ids = out->ids,
                                       .member_addresses = out->addresses};
}

static void on_net_closed(void *arg)
{
    struct cluster *cluster = arg;

    if (cluster->close_cb != NULL)
        cluster->close_cb(cluster->close_arg);
    cluster_members_free(&cluster->members);
    vane_free(cluster);
}

static void on_forwarder_closed(void *arg)
{
    struct cluster *cluster = arg;

    peer_net_close(cluster->net, on_net_closed, cluster);
}

void cluster_close(struct cluster *cluster, cluster_close_cb cb, void *arg)
{
    cluster->close_cb = cb;
    cluster->close_arg = arg;
    if (cluster->forwarder != NULL)
        forwarder_close(cluster->forwarder, on_forwarder_closed, cluster);
    else
        on_forwarder_closed(cluster);
}
