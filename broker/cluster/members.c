/*
 * members.c -- the cluster's nodes from the configuration, and replica
 * placement (see members.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cluster/members.h"
#include "core/alloc.h"
#include "core/net.h"

#define NODE_EXAMPLE "{ id = 1, http = \"127.0.0.1:8081\", peer = \"127.0.0.1:9101\" }"

static bool is_address(const json_t *v)
{
    struct sockaddr_storage addr;

    return json_is_string(v) && vane_net_parse_addr(json_string_value(v), &addr) == 0;
}

/* One entry of cluster.nodes: NULL when good, else what is wrong with it. */
static const char *check_node(const json_t *node)
{
    json_int_t id = json_integer_value(json_object_get(node, "id"));

    if (!json_is_object(node) || json_object_size(node) != 3)
        return "an object of exactly id, http and peer";
    if (!json_is_integer(json_object_get(node, "id")) || id < 1)
        return "id: a whole number of 1 or more";
    if (!is_address(json_object_get(node, "http")))
        return "http: a numeric address and port such as \"127.0.0.1:8081\"";
    if (!is_address(json_object_get(node, "peer")))
        return "peer: a numeric address and port such as \"127.0.0.1:9101\"";
    return NULL;
}

const char *cluster_members_check_json(const char *nodes_json)
{
    json_t *nodes = json_loads(nodes_json, 0, NULL);
    const char *why = NULL;
    json_t *node;
    size_t i;

    if (!json_is_array(nodes) || json_array_size(nodes) > CLUSTER_MAX_NODES)
        why = "a list of at most 64 nodes, each such as " NODE_EXAMPLE;
    json_array_foreach(nodes, i, node)
        if (why == NULL && check_node(node) != NULL)
            why = "a list of nodes, each such as " NODE_EXAMPLE;
    json_decref(nodes);
    return why;
}

static int by_id(const void *a, const void *b)
{
    const struct cluster_node *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

static int fail(struct cluster_members *m, char **errmsg, char *why)
{
    cluster_members_free(m);
    *errmsg = why;
    return -EINVAL;
}

/* Two nodes with one id or one address cannot be told apart. */
static int check_distinct(struct cluster_members *m, char **errmsg)
{
    for (size_t i = 0; i < m->count; i++)
        for (size_t j = i + 1; j < m->count; j++) {
            const struct cluster_node *a = &m->nodes[i], *b = &m->nodes[j];

            if (a->id == b->id)
                return fail(m, errmsg, vane_asprintf("cluster.nodes: id %llu is listed twice",
                                                     (unsigned long long)a->id));
            if (strcmp(a->peer, b->peer) == 0 || strcmp(a->http, b->http) == 0)
                return fail(m, errmsg,
                            vane_asprintf("cluster.nodes: nodes %llu and %llu share an address",
                                          (unsigned long long)a->id, (unsigned long long)b->id));
        }
    return 0;
}

/* Reads nodes (as cluster.nodes, or as the metadata holds them, with state and since). */
static void read_nodes(struct cluster_members *m, const json_t *nodes)
{
    const json_t *node;
    size_t i;

    m->count = json_array_size(nodes);
    m->nodes = vane_calloc(m->count ? m->count : 1, sizeof(*m->nodes));
    json_array_foreach(nodes, i, node) {
        const char *state = json_string_value(json_object_get(node, "state"));

        m->nodes[i].id = (uint64_t)json_integer_value(json_object_get(node, "id"));
        m->nodes[i].http = vane_strdup(json_string_value(json_object_get(node, "http")));
        m->nodes[i].peer = vane_strdup(json_string_value(json_object_get(node, "peer")));
        m->nodes[i].leaving = state != NULL && strcmp(state, "leaving") == 0;
        m->nodes[i].since = (uint64_t)json_integer_value(json_object_get(node, "since"));
    }
    qsort(m->nodes, m->count, sizeof(*m->nodes), by_id);
}

size_t cluster_members_active(const struct cluster_members *m)
{
    size_t n = 0;

    for (size_t i = 0; i < m->count; i++)
        n += !m->nodes[i].leaving;
    return n;
}

static void count_replicas(struct cluster_members *m)
{
    size_t active = cluster_members_active(m);

    m->replicas = (unsigned)(m->replicas_wanted < active ? m->replicas_wanted : active);
}

int cluster_members_parse(struct cluster_members *m, const char *nodes_json, uint64_t self,
                          uint64_t replicas, char **errmsg)
{
    json_t *nodes = json_loads(nodes_json, 0, NULL);
    const char *why = cluster_members_check_json(nodes_json);
    int err;

    memset(m, 0, sizeof(*m));
    if (why != NULL) {
        json_decref(nodes);
        return fail(m, errmsg, vane_asprintf("cluster.nodes: expected %s", why));
    }
    read_nodes(m, nodes);
    json_decref(nodes);
    m->self = self;
    if ((err = check_distinct(m, errmsg)) != 0)
        return err;
    if (self == 0 && m->count > 0)
        return fail(m, errmsg, vane_strdup("cluster.node_id: expected this node's id among "
                                           "cluster.nodes; got 0 (a single node)"));
    if (self != 0 && cluster_members_find(m, self) == NULL)
        return fail(m, errmsg, vane_asprintf("cluster.node_id: expected one of the ids in "
                                             "cluster.nodes; got %llu", (unsigned long long)self));
    if (replicas < 1 || replicas > CLUSTER_MAX_REPLICAS)
        return fail(m, errmsg, vane_asprintf("cluster.replicas: expected 1 to %d; got %llu",
                                             CLUSTER_MAX_REPLICAS, (unsigned long long)replicas));
    m->replicas_wanted = (unsigned)replicas;
    count_replicas(m);
    return 0;
}

void cluster_members_update(struct cluster_members *m, const json_t *nodes)
{
    uint64_t self = m->self;
    unsigned wanted = m->replicas_wanted;

    cluster_members_free(m);
    read_nodes(m, nodes);
    m->self = self;
    m->replicas_wanted = wanted;
    count_replicas(m);
}

json_t *cluster_members_to_json(const struct cluster_members *m)
{
    json_t *nodes = json_array();

    for (size_t i = 0; i < m->count; i++)
        json_array_append_new(nodes, json_pack("{s:I, s:s, s:s}", "id",
                                               (json_int_t)m->nodes[i].id, "http",
                                               m->nodes[i].http, "peer", m->nodes[i].peer));
    return nodes;
}

void cluster_members_free(struct cluster_members *m)
{
    for (size_t i = 0; i < m->count; i++) {
        vane_free(m->nodes[i].http);
        vane_free(m->nodes[i].peer);
    }
    vane_free(m->nodes);
    memset(m, 0, sizeof(*m));
}

const struct cluster_node *cluster_members_find(const struct cluster_members *m, uint64_t id)
{
    for (size_t i = 0; i < m->count; i++)
        if (m->nodes[i].id == id)
            return &m->nodes[i];
    return NULL;
}

const struct cluster_node *cluster_members_self(const struct cluster_members *m)
{
    return cluster_members_find(m, m->self);
}

/* The id of active node number n (counting only the active ones). */
static uint64_t active_node(const struct cluster_members *m, size_t n)
{
    for (size_t i = 0; i < m->count; i++)
        if (!m->nodes[i].leaving && n-- == 0)
            return m->nodes[i].id;
    return 0;
}

unsigned cluster_place(const struct cluster_members *m, uint64_t seed, uint32_t index,
                       uint64_t out[CLUSTER_MAX_REPLICAS])
{
    size_t active = cluster_members_active(m);

    if (active == 0)
        return 0;
    for (unsigned r = 0; r < m->replicas; r++)
        out[r] = active_node(m, (seed + index + r) % active);
    return m->replicas;
}
