/*
 * cluster.c -- vanectl cluster status|join|leave.
 *
 * join and leave ask any member (the endpoint) to add a node or to move
 * everything off one and then remove it (POST /api/v1/cluster/nodes,
 * DELETE /api/v1/cluster/nodes/{id}); the replicas move afterwards, which
 * status shows.
 *
 * status: every node of a cluster, whether it answers, and every raft group
 * with its leader and each replica's lag.
 *
 * The endpoint's GET /api/v1/cluster names the nodes; each node is then
 * asked the same at its own HTTP address, so a node that is down shows as
 * "unreachable" while the others still answer.  A replica's lag is how many
 * log entries it is behind its group's leader (the leader's last_index
 * minus its own), "down" for a node that does not answer, "-" while the
 * group has no leader.  --format json prints the composed view:
 *
 *     {"nodes": [{"id", "http", "peer", "health", "leads"}],
 *      "groups": [{"group", "kind", "name", "leader", "term",
 *                  "replicas": [{"node", "role", "last_index", "lag"}]}]}
 */
#include <getopt.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "vanectl.h"

/* Each node's own answer, by position in the node list (NULL: unreachable). */
struct views {
    size_t count;
    json_t *nodes;   /* the endpoint's node list */
    json_t **answer;
};

static json_t *ask_node(const struct context *ctx, const json_t *node)
{
    char *endpoint = vane_asprintf("http://%s", json_string_value(json_object_get(node, "http")));
    struct client client = ctx->client;
    struct client_reply reply;
    json_t *body = NULL;

    client.endpoint = endpoint;
    client.timeout_ms = 2000;
    if (client_request(&client, "GET", "/api/v1/cluster", NULL, &reply) == 0 &&
        reply.status == 200)
        body = json_incref(reply.body);
    client_reply_free(&reply);
    vane_free(endpoint);
    return body;
}

/* A single node answers with no node list: its answer is the only view, and
 * it is voter 1 of each of its groups. */
static void gather(const struct context *ctx, json_t *first, struct views *v)
{
    bool single = json_array_size(json_object_get(first, "nodes")) == 0;

    v->nodes = single ? json_pack("[{s:i, s:s, s:s}]", "id", 1, "http", ctx->client.endpoint,
                                  "peer", "-")
                      : json_deep_copy(json_object_get(first, "nodes"));
    v->count = json_array_size(v->nodes);
    v->answer = vane_calloc(v->count, sizeof(*v->answer));
    for (size_t i = 0; i < v->count; i++)
        v->answer[i] = single ? json_incref(first) : ask_node(ctx, json_array_get(v->nodes, i));
}

static void views_free(struct views *v)
{
    for (size_t i = 0; i < v->count; i++)
        json_decref(v->answer[i]);
    vane_free(v->answer);
    json_decref(v->nodes);
}

/* The group's entry in one node's answer, or NULL. */
static const json_t *group_in(const json_t *answer, json_int_t group)
{
    const json_t *g;
    size_t i;

    json_array_foreach(json_object_get(answer, "groups"), i, g)
        if (json_integer_value(json_object_get(g, "group")) == group)
            return g;
    return NULL;
}

static json_t *group_name(const json_t *g)
{
    const char *bus = json_string_value(json_object_get(g, "eventbus"));

    if (bus == NULL)
        return json_string("metadata");
    return json_sprintf("%s/%lld", bus, json_integer_value(json_object_get(g, "eventlog")));
}

/* The leader's view of group: the entry of the node that says it leads. */
static const json_t *leader_view(const struct views *v, json_int_t group)
{
    for (size_t i = 0; i < v->count; i++) {
        const json_t *g = group_in(v->answer[i], group);

        if (g != NULL && strcmp(json_string_value(json_object_get(g, "role")), "leader") == 0)
            return g;
    }
    return NULL;
}

/* Where node id is in the node list, or -1. */
static ssize_t node_index(const struct views *v, json_int_t id)
{
    for (size_t i = 0; i < v->count; i++)
        if (json_integer_value(json_object_get(json_array_get(v->nodes, i), "id")) == id)
            return (ssize_t)i;
    return -1;
}

/* One replica: its node's view of the group, or "unreachable" when the node did not answer. */
static json_t *replica_json(const struct views *v, json_int_t node, json_int_t group,
                            const json_t *leader)
{
    ssize_t i = node_index(v, node);
    const json_t *g = i >= 0 ? group_in(v->answer[i], group) : NULL;
    json_int_t last;

    if (g == NULL)
        return json_pack("{s:I, s:s, s:n, s:s}", "node", node, "role", "unreachable",
                         "last_index", "lag", "down");
    last = json_integer_value(json_object_get(g, "last_index"));
    return json_pack("{s:I, s:O, s:I, s:o}", "node", node, "role", json_object_get(g, "role"),
                     "last_index", last, "lag",
                     leader ? json_integer(json_integer_value(json_object_get(leader,
                                                                              "last_index")) -
                                           last)
                            : json_string("-"));
}

/* The group's voters, then its standbys (as its leader, or else the first node
 * holding it, lists them). */
static json_t *replicas_of(const struct views *v, json_int_t group, const json_t *leader,
                           const json_t *any)
{
    static const char *const lists[] = {"voters", "standbys"};
    json_t *replicas = json_array(), *node;
    size_t k;

    for (size_t l = 0; l < 2; l++)
        json_array_foreach(json_object_get(leader ? leader : any, lists[l]), k, node)
            json_array_append_new(replicas,
                                  replica_json(v, json_integer_value(node), group, leader));
    return replicas;
}

/* Every group any node holds, once, with its replicas. */
static json_t *groups_json(const struct views *v)
{
    json_t *groups = json_array();

    for (size_t i = 0; i < v->count; i++) {
        const json_t *g;
        size_t k;

        json_array_foreach(json_object_get(v->answer[i], "groups"), k, g) {
            json_int_t id = json_integer_value(json_object_get(g, "group"));
            const json_t *leader = leader_view(v, id);
            bool listed = false;
            const json_t *seen;
            size_t s;

            json_array_foreach(groups, s, seen)
                listed = listed || json_integer_value(json_object_get(seen, "group")) == id;
            if (listed)
                continue;
            json_array_append_new(groups, json_pack(
                "{s:I, s:O, s:o, s:O, s:O, s:o}", "group", id, "kind", json_object_get(g, "kind"),
                "name", group_name(g), "leader", json_object_get(leader ? leader : g, "leader"),
                "term", json_object_get(leader ? leader : g, "term"), "replicas",
                replicas_of(v, id, leader, g)));
        }
    }
    return groups;
}

static json_t *nodes_json(const struct views *v)
{
    json_t *nodes = json_array();

    for (size_t i = 0; i < v->count; i++) {
        json_t *node = json_deep_copy(json_array_get(v->nodes, i));
        json_int_t leads = 0;
        const json_t *g;
        size_t k;

        json_array_foreach(json_object_get(v->answer[i], "groups"), k, g)
            leads += strcmp(json_string_value(json_object_get(g, "role")), "leader") == 0;
        json_object_del(node, "self");
        json_object_set_new(node, "health", json_string(v->answer[i] ? "ready" : "unreachable"));
        json_object_set_new(node, "leads", v->answer[i] ? json_integer(leads) : json_string("-"));
        json_array_append_new(nodes, node);
    }
    return nodes;
}

/* "2:0 3:12": each replica's node and lag, for the table. */
static json_t *group_row(const json_t *group)
{
    json_t *row = json_deep_copy(group), *r;
    char text[256] = "";
    size_t i, used = 0;

    json_array_foreach(json_object_get(group, "replicas"), i, r) {
        const json_t *lag = json_object_get(r, "lag");
        char *number = json_dumps(lag, JSON_ENCODE_ANY);

        used += (size_t)snprintf(text + used, used < sizeof(text) ? sizeof(text) - used : 0,
                                 "%s%lld:%s", i ? " " : "",
                                 json_integer_value(json_object_get(r, "node")),
                                 json_is_string(lag) ? json_string_value(lag) : number);
        free(number);
    }
    json_object_set_new(row, "lag (node:entries)", json_string(text));
    return row;
}

static void print_status(const json_t *status, enum output_format format)
{
    static const char *const node_columns[] = {"id", "http", "peer", "state", "health", "leads"};
    static const char *const group_columns[] = {"group", "kind", "name", "leader", "term",
                                                "lag (node:entries)"};

    if (format == OUTPUT_JSON) {
        output_print(stdout, status, format);
        return;
    }
    fputs("NODES\n", stdout);
    output_table(stdout, node_columns, 6, json_object_get(status, "nodes"));
    fputs("\nGROUPS\n", stdout);
    output_table_of(stdout, group_columns, 6, json_object_get(status, "groups"), group_row);
}

static int cluster_status(struct context *ctx, int argc, char **argv)
{
    struct client_reply reply;
    struct views views = {0};
    json_t *status;
    int rc;

    if ((rc = command_no_arguments(ctx, argc, argv)) != 0)
        return rc;
    client_request(&ctx->client, "GET", "/api/v1/cluster", NULL, &reply);
    if ((rc = command_answer(ctx, NULL, &reply)) == 0) {
        gather(ctx, reply.body, &views);
        status = json_pack("{s:o, s:o}", "nodes", nodes_json(&views), "groups",
                           groups_json(&views));
        print_status(status, ctx->format);
        json_decref(status);
        views_free(&views);
    }
    client_reply_free(&reply);
    return rc;
}

/* ---- join and leave ---------------------------------------------------------------- */

enum join_option {
    JOIN_ID = 256,
    JOIN_HTTP,
    JOIN_PEER,
};

static const struct option join_options[] = {
    {"id", required_argument, NULL, JOIN_ID},
    {"http", required_argument, NULL, JOIN_HTTP},
    {"peer", required_argument, NULL, JOIN_PEER},
    {NULL, 0, NULL, 0},
};

static int read_join(struct context *ctx, int argc, char **argv, json_t *body)
{
    int opt, rc = 0;

    while (rc == 0 && (opt = command_getopt(ctx, argc, argv, join_options)) != -1) {
        if (opt == '?')
            return VANECTL_EXIT_USAGE;
        if (opt == JOIN_ID)
            rc = command_set_count(ctx, "--id", body, "id", optarg, 1, UINT32_MAX);
        else
            rc = command_set_text(ctx, opt == JOIN_HTTP ? "--http" : "--peer", body,
                                  opt == JOIN_HTTP ? "http" : "peer", optarg);
    }
    if (rc != 0)
        return rc;
    if (optind != argc)
        return command_usage_error(ctx, "takes no arguments besides its options; got \"%s\"",
                                   argv[optind]);
    for (size_t i = 0; i < 3; i++)
        if (json_object_get(body, join_options[i].name) == NULL)
            return command_usage_error(ctx, "--%s is required", join_options[i].name);
    return 0;
}

static int cluster_join(struct context *ctx, int argc, char **argv)
{
    json_t *body = json_object();
    int rc = read_join(ctx, argc, argv, body);

    if (rc == 0)
        rc = command_call(ctx, NULL, "POST", "/api/v1/cluster/nodes", body,
                          command_print_object);
    json_decref(body);
    return rc;
}

static int cluster_leave(struct context *ctx, int argc, char **argv)
{
    const char *id;
    char *end, *path;
    int rc;

    if ((rc = command_name_only(ctx, argc, argv, "ID", &id)) != 0)
        return rc;
    if (strtoull(id, &end, 10) == 0 || *end != '\0' || strspn(id, "0123456789") != strlen(id))
        return command_bad_value(ctx, "ID", "a node id, a whole number of 1 or more", id);
    path = vane_asprintf("/api/v1/cluster/nodes/%s", id);
    rc = command_call(ctx, id, "DELETE", path, NULL, command_print_object);
    vane_free(path);
    return rc;
}

static const char join_help[] =
    "  --id N                      the new node's id, as its cluster.node_id (required)\n"
    "  --http HOST:PORT            its HTTP address, as its listen (required)\n"
    "  --peer HOST:PORT            its peer port, as its own entry in cluster.nodes\n"
    "                              (required)\n";

const struct command cluster_commands[] = {
    {"status", "", "show the nodes, whether each answers, and every raft group's leader and "
     "each replica's lag", NULL, cluster_status, NULL},
    {"join", "--id N --http HOST:PORT --peer HOST:PORT",
     "add a started node (cluster.join = \"on\") to the cluster; replicas move onto it",
     join_help, cluster_join, NULL},
    {"leave", "ID", "move every replica off node ID, then remove it from the cluster", NULL,
     cluster_leave, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
