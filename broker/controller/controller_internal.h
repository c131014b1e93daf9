/*
 * controller_internal.h -- what the controller's files share: the state,
 * and proposing a command (controller.c) whose outcome goes back to the
 * caller once applied.  Not for the rest of the broker.
 */
#ifndef VANE_CONTROLLER_INTERNAL_H
#define VANE_CONTROLLER_INTERNAL_H

#include <stdbool.h>

#include <jansson.h>

#include "controller/controller.h"
#include "raft/replica.h"

struct controller {
    uv_loop_t *loop;
    struct cluster *cluster; /* NULL: a single node */
    json_t *nodes;           /* the cluster's nodes (members.c); empty on a single node */
    struct replica *replica;
    struct raft_fsm fsm;
    struct eventbus_meta **buses;
    size_t count, cap;
    struct subscription_meta **subs;
    size_t sub_count, sub_cap;
    struct connector_meta **conns;
    size_t conn_count, conn_cap;
    uint64_t next_id; /* eventbus, eventlog, subscription and connector ids: never reused */
    bool ready;
    controller_ready_cb ready_cb;
    void *ready_arg;
    controller_listener_cb listener;
    void *listener_arg;
    controller_sub_listener_cb sub_listener;
    void *sub_listener_arg;
    controller_conn_listener_cb conn_listener;
    void *conn_listener_arg;
    controller_close_cb close_cb;
    void *close_arg;
    int inflight;
    bool closing, replica_closed;
};

enum request_kind {
    REQUEST_EVENTBUS,
    REQUEST_SUBSCRIPTION,
    REQUEST_CONNECTOR,
    REQUEST_NODE,
};

/* Who waits for a command, and how to find what it changed. */
struct request {
    struct controller *c;
    enum request_kind kind;      /* which of the callbacks below */
    controller_done_cb bus_done; /* an eventbus command, found by name */
    controller_sub_done_cb sub_done; /* a subscription command, by id, or by name for a create */
    controller_conn_done_cb conn_done; /* a connector command, by name */
    controller_node_done_cb node_done; /* a cluster command */
    void *arg;
    char *name;
    uint64_t id;
};

/* Proposes cmd (taken) for req (taken); returns 0 or an error (req freed). */
int controller_propose(struct controller *c, json_t *cmd, struct request *req);

/* 0, or -EINVAL with *errmsg when name is not 1..128 of [A-Za-z0-9_.-]. */
int controller_check_name(const char *name, char **errmsg);

/* Tells the listener of a change to an eventbus (NULL for the whole state), once ready. */
void controller_announce(struct controller *c, enum controller_change change,
                         const struct eventbus_meta *bus);
struct eventbus_meta *controller_find_mutable(struct controller *c, const char *name);

/* members.c, the same for the cluster's nodes */
int members_apply(struct controller *c, const char *op, const json_t *cmd);
json_t *members_to_json(const struct controller *c);
void members_from_json(struct controller *c, const json_t *nodes);
void members_clear(struct controller *c);
void members_ready(struct controller *c);

/* subscriptions.c, for the state machine in controller.c */
int subscriptions_apply(struct controller *c, const char *op, const json_t *cmd);
void subscriptions_drop_eventbus(struct controller *c, const char *eventbus);
json_t *subscriptions_to_json(const struct controller *c);
void subscriptions_from_json(struct controller *c, const json_t *subs);
void subscriptions_clear(struct controller *c);
void subscriptions_answer(struct controller *c, struct request *req, int status);

/* connectors.c, the same for connectors */
int connectors_apply(struct controller *c, const char *op, const json_t *cmd);
json_t *connectors_to_json(const struct controller *c);
void connectors_from_json(struct controller *c, const json_t *conns);
void connectors_clear(struct controller *c);
void connectors_answer(struct controller *c, struct request *req, int status);

#endif
