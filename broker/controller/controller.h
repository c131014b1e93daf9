/*
 * controller.h -- the broker's metadata: eventbuses and their eventlogs,
 * subscriptions and their committed offsets, kept by a state machine in its
 * own raft group.
 *
 * Every change is a raft entry (a JSON command), applied in order on every
 * node, so the metadata survives restarts and, in a cluster, agrees
 * everywhere.  A snapshot is the whole state as JSON; it is small.  Eventlog
 * ids are handed out by the state machine and never reused, so a deleted
 * eventbus's files can never be mistaken for a new one's.
 *
 * A listener hears of each eventbus created, updated or deleted once the
 * controller is ready (replayed history is not announced: the state after
 * replay is what controller_list() shows).  Everything runs on the loop.
 */
#ifndef VANE_CONTROLLER_H
#define VANE_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#define CONTROLLER_MAX_EVENTLOGS 64
#define CONTROLLER_MAX_NAME 128
#define CONTROLLER_MAX_REPLICAS 7 /* CLUSTER_MAX_REPLICAS */

struct eventbus_meta {
    char *name;
    uint64_t id;
    uint32_t eventlog_count;
    uint64_t eventlog_ids[CONTROLLER_MAX_EVENTLOGS];
    /* In a cluster, the nodes holding each eventlog's replicas, the first
     * its preferred leader; replica_count 0 on a single node. */
    uint32_t replica_count;
    uint64_t replicas[CONTROLLER_MAX_EVENTLOGS][CONTROLLER_MAX_REPLICAS];
    int64_t retention_max_age_s; /* 0: keep forever */
    uint64_t retention_max_bytes; /* per eventlog; 0: no limit */
    char *description;
    int64_t created_at, updated_at; /* ns since the epoch */
    uint64_t created_index; /* the metadata index of its create */
};

enum controller_change {
    CONTROLLER_CREATED,
    CONTROLLER_UPDATED,
    CONTROLLER_DELETED,
    CONTROLLER_OFFSETS_RESET, /* a subscription's offsets set by hand (reset-offset) */
    CONTROLLER_MEMBERS,       /* the cluster's nodes changed (bus NULL) */
    CONTROLLER_RESTORED,      /* a snapshot replaced everything (bus NULL): look again */
};

struct controller;

typedef void (*controller_ready_cb)(struct controller *c, int status, void *arg);
/* status 0: done, bus is the eventbus as it now is (NULL after a delete). */
typedef void (*controller_done_cb)(void *arg, int status, const struct eventbus_meta *bus);
/* Runs after the change is applied; for a delete, bus is about to be freed. */
typedef void (*controller_listener_cb)(struct controller *c, enum controller_change change,
                                       const struct eventbus_meta *bus, void *arg);
typedef void (*controller_close_cb)(void *arg);

struct cluster;

/* cluster: this node's (cluster.h), whose every node holds the metadata; NULL: a single node. */
int controller_open(struct controller **c, uv_loop_t *loop, const char *dir,
                    struct cluster *cluster, controller_ready_cb ready, void *arg,
                    char **errmsg);

void controller_set_listener(struct controller *c, controller_listener_cb cb, void *arg);

/*
 * Proposes a new eventbus from spec (name, eventlog_count, retention,
 * description; the rest is ignored).  Returns a negative error at once for
 * a bad spec (-EINVAL, with *errmsg naming the field) or an existing name
 * (-EEXIST); else 0 and done runs once it is applied.
 */
int controller_create_eventbus(struct controller *c, const struct eventbus_meta *spec,
                               controller_done_cb done, void *arg, char **errmsg);

/* Changes the retention and description of an eventbus (not its eventlog count). */
int controller_update_eventbus(struct controller *c, const struct eventbus_meta *spec,
                               controller_done_cb done, void *arg, char **errmsg);

int controller_delete_eventbus(struct controller *c, const char *name, controller_done_cb done,
                               void *arg);

const struct eventbus_meta *controller_find(const struct controller *c, const char *name);

/* The eventbuses in creation order; *count of them.  Valid until the next change. */
const struct eventbus_meta *const *controller_list(const struct controller *c, size_t *count);

/*
 * Subscriptions.  The controller keeps what the API took (spec: filters,
 * transformer, sink, protocol, protocol_settings, config, description, as
 * JSON that the trigger reads) and the offsets committed for each
 * eventlog of the eventbus: the next offset to deliver.  Deleting an
 * eventbus deletes its subscriptions.
 */
struct subscription_meta {
    uint64_t id;
    char *name;
    char *eventbus;
    json_t *spec;
    bool disabled;
    uint32_t offset_count; /* the eventbus's eventlog count */
    uint64_t offsets[CONTROLLER_MAX_EVENTLOGS];
    int64_t created_at, updated_at; /* ns since the epoch */
};

/* status 0: done, sub is the subscription as it now is (NULL after a delete). */
typedef void (*controller_sub_done_cb)(void *arg, int status, const struct subscription_meta *sub);
typedef void (*controller_sub_listener_cb)(struct controller *c, enum controller_change change,
                                           const struct subscription_meta *sub, void *arg);

void controller_set_subscription_listener(struct controller *c, controller_sub_listener_cb cb,
                                          void *arg);

/*
 * Proposes a subscription from spec: name, eventbus, spec, disabled, and
 * its starting offsets (offset_count of them, one per eventlog of the
 * eventbus).  -EINVAL (*errmsg names the field), -EEXIST for a taken name,
 * -ENOENT for an unknown eventbus; else 0 and done runs once applied.
 */
int controller_create_subscription(struct controller *c, const struct subscription_meta *spec,
                                   controller_sub_done_cb done, void *arg, char **errmsg);
/* Replaces the spec (and the name when new_name is not NULL); offsets stay. */
int controller_update_subscription(struct controller *c, uint64_t id, const char *new_name,
                                   json_t *spec, controller_sub_done_cb done, void *arg,
                                   char **errmsg);
int controller_set_subscription_disabled(struct controller *c, uint64_t id, bool disabled,
                                         controller_sub_done_cb done, void *arg);
/*
 * Commits offsets (count of them, one per eventlog).  Without reset an
 * offset only moves forward (a late commit never moves one back); with
 * reset it is set as given (reset-offset).
 */
int controller_commit_offsets(struct controller *c, uint64_t id, const uint64_t *offsets,
                              uint32_t count, bool reset, controller_sub_done_cb done, void *arg);
int controller_delete_subscription(struct controller *c, uint64_t id, controller_sub_done_cb done,
                                   void *arg);

const struct subscription_meta *controller_find_subscription(const struct controller *c,
                                                             uint64_t id);
const struct subscription_meta *controller_find_subscription_named(const struct controller *c,
                                                                   const char *name);
/* The subscriptions in creation order.  Valid until the next change. */
const struct subscription_meta *const *controller_subscriptions(const struct controller *c,
                                                                size_t *count);

/*
 * Connectors: a name and the spec the connectors API accepted, which the
 * controller keeps without reading (engine/engine.h gives it meaning).
 */
struct connector_meta {
    uint64_t id;
    char *name;
    json_t *spec;
    int64_t created_at, updated_at; /* ns since the epoch */
};

/* status 0: done, conn is the connector as it now is (NULL after a delete). */
typedef void (*controller_conn_done_cb)(void *arg, int status, const struct connector_meta *conn);
typedef void (*controller_conn_listener_cb)(struct controller *c, enum controller_change change,
                                            const struct connector_meta *conn, void *arg);
void controller_set_connector_listener(struct controller *c, controller_conn_listener_cb cb,
                                       void *arg);
/*
 * Creates (create true) or replaces the spec of (false) the connector name;
 * spec is borrowed.  Returns 0 (done will run), or -EINVAL with *errmsg for
 * a bad name, -EEXIST with *errmsg for a create of a name in use, -ENOENT
 * for an update of a name not in use.
 */
int controller_put_connector(struct controller *c, const char *name, json_t *spec, bool create,
                             controller_conn_done_cb done, void *arg, char **errmsg);
int controller_delete_connector(struct controller *c, const char *name,
                                controller_conn_done_cb done, void *arg);
const struct connector_meta *controller_find_connector(const struct controller *c,
                                                       const char *name);
/* The connectors in creation order.  Valid until the next change. */
const struct connector_meta *const *controller_connectors(const struct controller *c,
                                                          size_t *count);

/*
 * The cluster's nodes (members.c).  Each call returns 0 (done runs once
 * applied, with 0 or a negative error) or a negative error at once, with
 * *errmsg where it takes one: -ENOTSUP on a single node, -EINVAL for a bad
 * id or address, -EEXIST for a node or address already a member, -ENOENT
 * for an unknown node, -EBUSY when the rest could not hold the replicas.
 */
typedef void (*controller_node_done_cb)(void *arg, int status);

/* Adds node id, reachable at http and peer; the rebalancer moves replicas onto it. */
int controller_join_node(struct controller *c, uint64_t id, const char *http, const char *peer,
                         controller_node_done_cb done, void *arg, char **errmsg);
/* Marks node id leaving; the rebalancer moves its replicas off, then removes it. */
int controller_leave_node(struct controller *c, uint64_t id, controller_node_done_cb done,
                          void *arg, char **errmsg);

/* For cluster/rebalance.c, on the metadata leader: */
bool controller_has_nodes(const struct controller *c);
int controller_seed_nodes(struct controller *c, controller_node_done_cb done, void *arg);
int controller_remove_node(struct controller *c, uint64_t id, controller_node_done_cb done,
                           void *arg);
/* Moves eventlog index of bus to the count nodes of ids (the first its preferred leader). */
int controller_place(struct controller *c, const char *bus, uint32_t index, const uint64_t *ids,
                     uint32_t count, controller_node_done_cb done, void *arg);

/* Whether node joined the cluster after bus was created (it then joins the
 * eventlogs' groups rather than starting them), or is no member at all. */
bool controller_joined(const struct controller *c, uint64_t node,
                       const struct eventbus_meta *bus);

void controller_close(struct controller *c, controller_close_cb cb, void *arg);

/* The metadata group's raft replica, for status pages (raft/replica.h). */
struct replica *controller_replica(struct controller *c);

#endif
