/*
 * members.c -- the cluster's nodes and where each eventlog's voters are, in
 * the metadata state machine (see controller.h).  Commands, one raft entry
 * each:
 *
 *     {"op": "node_seed", "nodes": [{"id", "http", "peer"}, ...]}
 *     {"op": "node_add", "node": {"id", "http", "peer"}}
 *     {"op": "node_leave", "id": n}
 *     {"op": "node_remove", "id": n}
 *     {"op": "place", "bus": name, "eventlog": i, "replicas": [node, ...]}
 *
 * The configuration's cluster.nodes are where a cluster starts: the first
 * metadata leader records them (node_seed, applied only while the metadata
 * holds no nodes), and from then on the metadata's list is the cluster's --
 * a node joins (node_add, `vanectl cluster join`) and leaves (node_leave,
 * then node_remove once no eventlog has it as a voter; cluster/rebalance.c
 * moves them).  Each node is kept as {id, http, peer, state, since}: state
 * "active" or "leaving", since the metadata index that added it (0 for the
 * first nodes), which says which eventlogs it joined rather than started
 * with (controller_joined()).
 *
 * Every node applies the same commands, so each updates its cluster's
 * members (cluster_members_update()) and tells its raft groups the members
 * they should have: the metadata group here (every active node a voter,
 * leaving ones standbys), the eventlogs through the store (listener,
 * CONTROLLER_MEMBERS for a node change, CONTROLLER_UPDATED for a move).
 */
#include <errno.h>
#include <string.h>

#include "cluster/cluster.h"
#include "controller/controller_internal.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/net.h"

static const char component[] = "controller";

/* ---- the state ----------------------------------------------------------- */

static json_t *find_node(const struct controller *c, uint64_t id)
{
    json_t *node;
    size_t i;

    json_array_foreach(c->nodes, i, node)
        if ((uint64_t)json_integer_value(json_object_get(node, "id")) == id)
            return node;
    return NULL;
}

static json_t *node_json(uint64_t id, const char *http, const char *peer, const char *state,
                         uint64_t since)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)id, "http", http, "peer",
                     peer, "state", state, "since", (json_int_t)since);
}

/* The metadata group's members as the nodes now stand. */
static void set_metadata_members(struct controller *c)
{
    struct cluster_group group;

    cluster_group(c->cluster, CLUSTER_CONTROLLER_GROUP, NULL, 0, &group);
    replica_set_members(c->replica, &group.rc);
}

/* The nodes changed: this node's cluster, the metadata group and the store hear of it. */
static void publish(struct controller *c)
{
    if (c->cluster == NULL)
        return;
    cluster_members_update(&c->cluster->members, c->nodes);
    if (!c->ready)
        return;
    set_metadata_members(c);
    controller_announce(c, CONTROLLER_MEMBERS, NULL);
}

void members_ready(struct controller *c)
{
    if (c->cluster != NULL && json_array_size(c->nodes) > 0)
        set_metadata_members(c);
}

void members_clear(struct controller *c)
{
    json_array_clear(c->nodes);
}

json_t *members_to_json(const struct controller *c)
{
    return json_incref(c->nodes);
}

void members_from_json(struct controller *c, const json_t *nodes)
{
    json_array_clear(c->nodes);
    if (json_is_array(nodes))
        json_array_extend(c->nodes, (json_t *)nodes);
    if (c->cluster != NULL && json_array_size(c->nodes) > 0)
        cluster_members_update(&c->cluster->members, c->nodes);
}

bool controller_joined(const struct controller *c, uint64_t node,
                       const struct eventbus_meta *bus)
{
    json_t *n = find_node(c, node);
    uint64_t since = (uint64_t)json_integer_value(json_object_get(n, "since"));

    if (json_array_size(c->nodes) == 0) /* not recorded yet: the configuration's nodes */
        return c->cluster != NULL && c->cluster->join;
    return n == NULL || (since != 0 && since >= bus->created_index);
}

/* ---- applying ------------------------------------------------------------ */

static int apply_seed(struct controller *c, const json_t *nodes)
{
    const json_t *node;
    size_t i;

    if (json_array_size(c->nodes) > 0)
        return -EEXIST; /* another leader seeded them first */
    json_array_foreach(nodes, i, node)
        json_array_append_new(
            c->nodes, node_json((uint64_t)json_integer_value(json_object_get(node, "id")),
                                json_string_value(json_object_get(node, "http")),
                                json_string_value(json_object_get(node, "peer")), "active", 0));
    return 0;
}

/* Whether http or peer is some node's address already. */
static bool address_taken(const struct controller *c, const char *http, const char *peer)
{
    const json_t *node;
    size_t i;

    json_array_foreach(c->nodes, i, node)
        if (strcmp(json_string_value(json_object_get(node, "http")), http) == 0 ||
            strcmp(json_string_value(json_object_get(node, "peer")), peer) == 0)
            return true;
    return false;
}

static int apply_add(struct controller *c, const json_t *node)
{
    uint64_t id = (uint64_t)json_integer_value(json_object_get(node, "id"));
    const char *http = json_string_value(json_object_get(node, "http"));
    const char *peer = json_string_value(json_object_get(node, "peer"));

    if (id == 0 || http == NULL || peer == NULL || json_array_size(c->nodes) == 0)
        return -EINVAL;
    if (find_node(c, id) != NULL || address_taken(c, http, peer))
        return -EEXIST;
    json_array_append_new(c->nodes,
                          node_json(id, http, peer, "active", replica_applying_index(c->replica)));
    vane_log_info(component, "node %llu (%s) joined the cluster", (unsigned long long)id, http);
    return 0;
}

/* Whether the active nodes but one could still hold each eventlog's voters. */
static bool could_lose_one(const struct controller *c)
{
    const struct cluster_members *m = &c->cluster->members;
    size_t active = cluster_members_active(m);

    return active > 0 && active - 1 >= m->replicas;
}

static int apply_leave(struct controller *c, uint64_t id)
{
    json_t *node = find_node(c, id);

    if (node == NULL)
        return -ENOENT;
    if (strcmp(json_string_value(json_object_get(node, "state")), "leaving") == 0)
        return 0;
    if (c->cluster != NULL && !could_lose_one(c))
        return -EBUSY; /* another leave came first */
    json_object_set_new(node, "state", json_string("leaving"));
    vane_log_info(component, "node %llu is leaving the cluster: its replicas move off it",
                  (unsigned long long)id);
    return 0;
}

static int apply_remove(struct controller *c, uint64_t id)
{
    json_t *node;
    size_t i;

    json_array_foreach(c->nodes, i, node)
        if ((uint64_t)json_integer_value(json_object_get(node, "id")) == id) {
            json_array_remove(c->nodes, i);
            vane_log_info(component, "node %llu left the cluster", (unsigned long long)id);
            if (c->cluster != NULL && c->cluster->members.self == id)
                vane_log_warn(component, "this node is no longer a member of the cluster: "
                                         "it serves nothing more and can be stopped");
            return 0;
        }
    return -ENOENT;
}

static int apply_place(struct controller *c, const json_t *cmd)
{
    struct eventbus_meta *bus =
        controller_find_mutable(c, json_string_value(json_object_get(cmd, "bus")));
    json_int_t index = json_integer_value(json_object_get(cmd, "eventlog"));
    const json_t *ids = json_object_get(cmd, "replicas");

    if (bus == NULL)
        return -ENOENT;
    if (index < 0 || (uint32_t)index >= bus->eventlog_count ||
        json_array_size(ids) != bus->replica_count)
        return -EINVAL;
    for (uint32_t r = 0; r < bus->replica_count; r++)
        bus->replicas[index][r] = (uint64_t)json_integer_value(json_array_get(ids, r));
    controller_announce(c, CONTROLLER_UPDATED, bus);
    return 0;
}

int members_apply(struct controller *c, const char *op, const json_t *cmd)
{
    uint64_t id = (uint64_t)json_integer_value(json_object_get(cmd, "id"));
    int status;

    if (strcmp(op, "place") == 0)
        return apply_place(c, cmd);
    if (strcmp(op, "node_seed") == 0)
        status = apply_seed(c, json_object_get(cmd, "nodes"));
    else if (strcmp(op, "node_add") == 0)
        status = apply_add(c, json_object_get(cmd, "node"));
    else if (strcmp(op, "node_leave") == 0)
        status = apply_leave(c, id);
    else if (strcmp(op, "node_remove") == 0)
        status = apply_remove(c, id);
    else
        return -EINVAL;
    if (status == 0)
        publish(c);
    return status;
}

/* ---- proposing ----------------------------------------------------------- */

static int propose(struct controller *c, json_t *cmd, controller_node_done_cb done, void *arg)
{
    struct request *req = VANE_NEW(req);

    req->kind = REQUEST_NODE;
    req->node_done = done;
    req->arg = arg;
    return controller_propose(c, cmd, req);
}

static int not_a_cluster(const struct controller *c, char **errmsg)
{
    if (c->cluster != NULL)
        return 0;
    *errmsg = vane_strdup("this broker is a single node (cluster.node_id is 0): it has no "
                          "cluster to join or leave");
    return -ENOTSUP;
}

static bool is_address(const char *text)
{
    struct sockaddr_storage addr;

    return text != NULL && vane_net_parse_addr(text, &addr) == 0;
}

int controller_join_node(struct controller *c, uint64_t id, const char *http, const char *peer,
                         controller_node_done_cb done, void *arg, char **errmsg)
{
    int err;

    if ((err = not_a_cluster(c, errmsg)) != 0)
        return err;
    if (id == 0 || id > UINT32_MAX) {
        *errmsg = vane_strdup("id: expected a whole number from 1 to 4294967295");
        return -EINVAL;
    }
    if (!is_address(http) || !is_address(peer)) {
        *errmsg = vane_asprintf("%s: expected a numeric address and port such as "
                                "\"127.0.0.1:9104\"", is_address(http) ? "peer" : "http");
        return -EINVAL;
    }
    if (json_array_size(c->nodes) == 0) {
        *errmsg = vane_strdup("the cluster is still recording its first nodes; try again");
        return -EAGAIN;
    }
    if (json_array_size(c->nodes) >= CLUSTER_MAX_NODES) {
        *errmsg = vane_asprintf("the cluster has %d nodes, the most it can", CLUSTER_MAX_NODES);
        return -EBUSY;
    }
    if (find_node(c, id) != NULL || address_taken(c, http, peer)) {
        *errmsg = vane_asprintf("node %llu, or its http or peer address, is already a member",
                                (unsigned long long)id);
        return -EEXIST;
    }
    return propose(c, json_pack("{s:s, s:{s:I, s:s, s:s}}", "op", "node_add", "node", "id",
                                (json_int_t)id, "http", http, "peer", peer),
                   done, arg);
}

int controller_leave_node(struct controller *c, uint64_t id, controller_node_done_cb done,
                          void *arg, char **errmsg)
{
    json_t *node = find_node(c, id);
    const struct cluster_members *m;
    int err;

    if ((err = not_a_cluster(c, errmsg)) != 0)
        return err;
    m = &c->cluster->members;
    if (node == NULL) {
        *errmsg = vane_asprintf("no node %llu in the cluster", (unsigned long long)id);
        return -ENOENT;
    }
    if (strcmp(json_string_value(json_object_get(node, "state")), "leaving") == 0)
        return propose(c, json_pack("{s:s, s:I}", "op", "node_leave", "id", (json_int_t)id),
                       done, arg); /* again: harmless, and answered the same */
    if (!could_lose_one(c)) {
        *errmsg = vane_asprintf("node %llu cannot leave: the other %zu active nodes cannot hold "
                                "%u replicas of each eventlog (add a node first)",
                                (unsigned long long)id, cluster_members_active(m) - 1,
                                m->replicas);
        return -EBUSY;
    }
    return propose(c, json_pack("{s:s, s:I}", "op", "node_leave", "id", (json_int_t)id), done,
                   arg);
}

int controller_seed_nodes(struct controller *c, controller_node_done_cb done, void *arg)
{
    if (c->cluster == NULL || json_array_size(c->nodes) > 0)
        return -EEXIST;
    return propose(c, json_pack("{s:s, s:o}", "op", "node_seed", "nodes",
                                cluster_members_to_json(&c->cluster->members)),
                   done, arg);
}

int controller_remove_node(struct controller *c, uint64_t id, controller_node_done_cb done,
                           void *arg)
{
    return propose(c, json_pack("{s:s, s:I}", "op", "node_remove", "id", (json_int_t)id), done,
                   arg);
}

int controller_place(struct controller *c, const char *bus, uint32_t index, const uint64_t *ids,
                     uint32_t count, controller_node_done_cb done, void *arg)
{
    json_t *list = json_array();

    for (uint32_t r = 0; r < count; r++)
        json_array_append_new(list, json_integer((json_int_t)ids[r]));
    return propose(c, json_pack("{s:s, s:s, s:i, s:o}", "op", "place", "bus", bus, "eventlog",
                                (int)index, "replicas", list),
                   done, arg);
}

bool controller_has_nodes(const struct controller *c)
{
    return json_array_size(c->nodes) > 0;
}
