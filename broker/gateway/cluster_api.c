/*
 * cluster_api.c -- this node's view of the cluster over HTTP (see
 * cluster_api.h).  Read only, answered at once from the store's replicas.
 */
#include <string.h>

#include "cluster/cluster.h"
#include "gateway/auth.h"
#include "gateway/cluster_api.h"
#include "gateway/gateway.h"
#include "gateway/http_server.h"
#include "gateway/response.h"
#include "raft/replica.h"

#define PATH "/api/v1/cluster"

struct cluster_handler {
    h2o_handler_t super;
    struct gateway *gw;
};

static json_t *ids_json(const uint64_t *ids, size_t count)
{
    json_t *list = json_array();

    for (size_t i = 0; i < count; i++)
        json_array_append_new(list, json_integer((json_int_t)ids[i]));
    return list;
}

static json_t *group_json(struct replica *replica, uint64_t group, const char *kind)
{
    struct replica_status st;

    replica_status(replica, &st);
    return json_pack("{s:I, s:s, s:s, s:I, s:I, s:o, s:o, s:I, s:I, s:I}", "group",
                     (json_int_t)group, "kind", kind, "role", st.role, "leader",
                     (json_int_t)st.leader_id, "term", (json_int_t)st.term, "voters",
                     ids_json(st.voters, st.voter_count), "standbys",
                     ids_json(st.standbys, st.standby_count), "last_index",
                     (json_int_t)st.last_index, "commit_index", (json_int_t)st.commit_index,
                     "last_applied", (json_int_t)st.last_applied);
}

static void add_eventlogs(json_t *groups, struct store *store)
{
    size_t count;
    const struct eventbus_meta *const *buses = controller_list(store_controller(store), &count);

    for (size_t b = 0; b < count; b++) {
        const struct store_bus *bus = store_bus(store, buses[b]->name);

        for (uint32_t i = 0; bus != NULL && i < buses[b]->eventlog_count; i++) {
            json_t *g;

            if (bus->logs[i] == NULL)
                continue; /* no replica here */
            g = group_json(eventlog_replica(bus->logs[i]), buses[b]->eventlog_ids[i], "eventlog");
            json_object_set_new(g, "eventbus", json_string(buses[b]->name));
            json_object_set_new(g, "eventlog", json_integer(i));
            json_array_append_new(groups, g);
        }
    }
}

static json_t *nodes_json(const struct cluster *cluster)
{
    json_t *nodes = json_array();

    for (size_t i = 0; cluster != NULL && i < cluster->members.count; i++) {
        const struct cluster_node *n = &cluster->members.nodes[i];

        json_array_append_new(nodes, json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)n->id,
                                               "http", n->http, "peer", n->peer, "self",
                                               n->id == cluster->members.self));
    }
    return nodes;
}

static int on_request(h2o_handler_t *self, h2o_req_t *req)
{
    struct gateway *gw = ((struct cluster_handler *)self)->gw;
    const struct cluster *cluster = gw->cluster;
    json_t *groups;

    if (auth_check(gw->auth, req, AUTH_ADMIN))
        return 0;
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT(PATH))) {
        response_error(req, 404, "Not Found", NULL, "no such resource");
        return 0;
    }
    if (response_check_method(req, "GET, HEAD") || gateway_check_ready(gw, req))
        return 0;
    groups = json_array();
    json_array_append_new(groups, group_json(controller_replica(store_controller(gw->store)),
                                             CLUSTER_CONTROLLER_GROUP, "controller"));
    add_eventlogs(groups, gw->store);
    response_json(req, 200, "OK",
                  json_pack("{s:I, s:I, s:o, s:o}", "node_id",
                            (json_int_t)(cluster ? cluster->members.self : 0), "replicas",
                            (json_int_t)(cluster ? cluster->members.replicas : 1), "nodes",
                            nodes_json(cluster), "groups", groups));
    return 0;
}

void cluster_api_register(struct http_server *server, struct gateway *gw)
{
    struct cluster_handler *h;

    h = (struct cluster_handler *)http_server_route(server, PATH, on_request, sizeof(*h));
    h->gw = gw;
}
