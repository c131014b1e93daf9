/*
 * cluster_api.c -- this node's view of the cluster over HTTP, and nodes
 * joining and leaving it (see cluster_api.h).  The view is answered at once
 * from the store's replicas; a join or leave once the metadata has applied
 * it (the replicas move afterwards, cluster/rebalance.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "core/alloc.h"
#include "core/error.h"
#include "gateway/admin_input.h"
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

        json_array_append_new(nodes, json_pack("{s:I, s:s, s:s, s:s, s:b}", "id",
                                               (json_int_t)n->id, "http", n->http, "peer",
                                               n->peer, "state",
                                               n->leaving ? "leaving" : "active", "self",
                                               n->id == cluster->members.self));
    }
    return nodes;
}

static void status(struct gateway *gw, h2o_req_t *req)
{
    const struct cluster *cluster = gw->cluster;
    json_t *groups = json_array();

    json_array_append_new(groups, group_json(controller_replica(store_controller(gw->store)),
                                             CLUSTER_CONTROLLER_GROUP, "controller"));
    add_eventlogs(groups, gw->store);
    response_json(req, 200, "OK",
                  json_pack("{s:I, s:I, s:o, s:o}", "node_id",
                            (json_int_t)(cluster ? cluster->members.self : 0), "replicas",
                            (json_int_t)(cluster ? cluster->members.replicas : 1), "nodes",
                            nodes_json(cluster), "groups", groups));
}

/* ---- joining and leaving ------------------------------------------------- */

struct pending {
    struct response_later later;
    uint64_t id;
    bool join;
};

/* The status of a join's or leave's refusal; 0 for the errors any call can meet. */
static int refusal_status(int err)
{
    switch (err) {
    case -EINVAL:
    case -ENOTSUP: return 400;
    case -ENOENT: return 404;
    case -EEXIST:
    case -EBUSY: return 409;
    case -EAGAIN: return 503;
    default: return 0;
    }
}

static void answer_error(h2o_req_t *req, int err, const char *errmsg)
{
    int status = refusal_status(err);
    const char *colon = err == -EINVAL && errmsg ? strchr(errmsg, ':') : NULL;
    char field[16] = "";

    if (colon != NULL && (size_t)(colon - errmsg) < sizeof(field))
        memcpy(field, errmsg, (size_t)(colon - errmsg)); /* "http: expected ..." */
    if (status != 0)
        response_error(req, status, response_reason(status), field[0] ? field : NULL, "%s",
                       errmsg);
    else if (!response_unavailable(req, err))
        response_error(req, 500, response_reason(500), NULL, "%s",
                       errmsg ? errmsg : vane_strerror(err));
}

static void on_node_done(void *arg, int status)
{
    struct pending *op = arg;
    h2o_req_t *req = op->later.req;
    char *why = status != 0 ? vane_asprintf("node %llu: %s", (unsigned long long)op->id,
                                            status == -EEXIST ? "already a member"
                                            : status == -ENOENT ? "not a member"
                                            : status == -EBUSY  ? "cannot leave: the other "
                                                                  "nodes could not hold the "
                                                                  "replicas"
                                                                : vane_strerror(status))
                            : NULL;

    if (req != NULL && status != 0)
        answer_error(req, status, why);
    else if (req != NULL)
        response_json(req, op->join ? 200 : 202, op->join ? "OK" : "Accepted",
                      json_pack("{s:I, s:s}", "id", (json_int_t)op->id, "state",
                                op->join ? "active" : "leaving"));
    vane_free(why);
    response_later_end(&op->later);
    vane_free(op);
}

/* Starts op (join or leave of id); answers at once when it cannot start. */
static void start(struct gateway *gw, h2o_req_t *req, uint64_t id, const json_t *body)
{
    struct controller *c = store_controller(gw->store);
    struct pending *op = VANE_NEW(op);
    char *errmsg = NULL;
    int err;

    response_later_start(&op->later, req);
    op->id = id;
    op->join = body != NULL;
    if (body != NULL)
        err = controller_join_node(c, id, json_string_value(json_object_get(body, "http")),
                                   json_string_value(json_object_get(body, "peer")),
                                   on_node_done, op, &errmsg);
    else
        err = controller_leave_node(c, id, on_node_done, op, &errmsg);
    if (err != 0) {
        answer_error(req, err, errmsg);
        response_later_end(&op->later);
        vane_free(op);
    }
    vane_free(errmsg);
}

static void join(struct gateway *gw, h2o_req_t *req)
{
    json_t *body = admin_read_body(req), *id;

    if (body == NULL)
        return;
    id = json_object_get(body, "id");
    if (!json_is_integer(id) || json_integer_value(id) < 1)
        response_error(req, 400, "Bad Request", "id", "id: required, a whole number of 1 or more");
    else
        start(gw, req, (uint64_t)json_integer_value(id), body);
    json_decref(body);
}

static void leave(struct gateway *gw, h2o_req_t *req, const char *id_text, size_t len)
{
    char text[24], *end;
    unsigned long long id;

    snprintf(text, sizeof(text), "%.*s", (int)(len < 23 ? len : 23), id_text);
    id = strtoull(text, &end, 10);
    if (len == 0 || len > 20 || *end != '\0' || id == 0)
        response_error(req, 404, "Not Found", NULL, "expected /api/v1/cluster/nodes/{id}, id "
                                                    "a whole number of 1 or more");
    else
        start(gw, req, id, NULL);
}

#define NODES PATH "/nodes"

static int on_request(h2o_handler_t *self, h2o_req_t *req)
{
    struct gateway *gw = ((struct cluster_handler *)self)->gw;
    const char *path = req->path_normalized.base;
    size_t len = req->path_normalized.len;

    if (auth_check(gw->auth, req, AUTH_ADMIN))
        return 0;
    if (h2o_memis(path, len, H2O_STRLIT(PATH))) {
        if (!response_check_method(req, "GET, HEAD") && !gateway_check_ready(gw, req))
            status(gw, req);
    } else if (h2o_memis(path, len, H2O_STRLIT(NODES))) {
        if (!response_check_method(req, "POST") && !gateway_check_ready(gw, req))
            join(gw, req);
    } else if (len > strlen(NODES "/") && memcmp(path, NODES "/", strlen(NODES "/")) == 0) {
        if (!response_check_method(req, "DELETE") && !gateway_check_ready(gw, req))
            leave(gw, req, path + strlen(NODES "/"), len - strlen(NODES "/"));
    } else {
        response_error(req, 404, "Not Found", NULL, "no such resource");
    }
    return 0;
}

/* ---- what runs on one node only ----------------------------------------- */

int cluster_api_redirect_to_duty(struct gateway *gw, h2o_req_t *req)
{
    struct replica_status st;
    const struct cluster_node *node;
    char *location;

    if (gw->cluster == NULL || gw->store == NULL)
        return 0;
    replica_status(controller_replica(store_controller(gw->store)), &st);
    node = cluster_members_find(&gw->cluster->members, st.leader_id);
    if (node != NULL && node->id == gw->cluster->members.self)
        return 0; /* it runs here, or failed to: the caller says so */
    if (node == NULL) {
        response_error(req, 503, "Service Unavailable", NULL,
                       "the cluster is electing the node that runs the connectors; try again");
        return 1;
    }
    location = vane_asprintf("http://%s%.*s", node->http, (int)req->path.len, req->path.base);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL,
                   h2o_strdup(&req->pool, location, SIZE_MAX).base, strlen(location));
    response_error(req, 307, "Temporary Redirect", NULL,
                   "node %llu runs the connectors: ask it, at %s", (unsigned long long)node->id,
                   location);
    vane_free(location);
    return 1;
}

void cluster_api_register(struct http_server *server, struct gateway *gw)
{
    struct cluster_handler *h;

    h = (struct cluster_handler *)http_server_route(server, PATH, on_request, sizeof(*h));
    h->gw = gw;
}
