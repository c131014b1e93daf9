/*
 * replica_internal.h -- what replica.c and replica_cluster.c share: the
 * replica itself.
 */
#ifndef VANE_RAFT_REPLICA_INTERNAL_H
#define VANE_RAFT_REPLICA_INTERNAL_H

#include "raft/replica.h"

#define REPLICA_RESULTS 256 /* applied results kept for answers that come late */

struct remote_apply;
struct replica_member;

struct replica {
    struct raft raft;
    struct raft_io io;
    struct raft_uv_transport transport;
    struct raft_fsm fsm;             /* wraps the caller's, to see every apply */
    struct raft_fsm *user_fsm;
    struct raft_barrier barrier;
    uv_loop_t *loop;
    uv_timer_t close_timer;
    replica_ready_cb ready;
    replica_close_cb close_cb;
    void *ready_arg, *close_arg;
    bool raft_initialized, ready_done, closing;
    /* In a cluster: */
    struct forwarder *forwarder;     /* NULL on a single node */
    uint64_t group_id;
    uv_timer_t tick;                 /* readiness, forwarding retries and deadlines */
    bool tick_open;
    bool await_local_apply;          /* options->await_local_apply */
    bool can_lead;                   /* false: hands the lead on (replica_set_can_lead) */
    uint64_t preferred_leader;       /* 0: none */
    uint64_t lead_since, balance_tried; /* uv_now(), for handing the lead over */
    struct raft_transfer transfer;
    bool transferring;
    struct raft_barrier lead_barrier; /* data non-NULL while one is pending */
    uint64_t lead_barrier_term, current_in_term; /* replica_leads_current() */
    unsigned ticks;
    struct replica_member *want;     /* the members the metadata wants (replica_members.c) */
    size_t want_count;
    struct raft_change change;
    bool changing;                   /* a configuration change is under way */
    char change_what[64];            /* what it does, for the log */
    uint64_t change_retry_at;        /* uv_now() */
    struct remote_apply *remote;     /* proposals forwarded to the leader */
    struct {
        raft_index index;
        void *result;
    } results[REPLICA_RESULTS];      /* by index % REPLICA_RESULTS */
};

/* replica_cluster.c */
void replica_cluster_start(struct replica *replica);
int replica_cluster_forward(struct replica *replica, void *buf, size_t len, replica_apply_cb cb,
                          void *arg);
void replica_cluster_applied(struct replica *replica, raft_index index, void *result);
void replica_cluster_stop(struct replica *replica);
int replica_from_raft(int rv);
/* Whether the leader hears from server id and it has every entry. */
bool replica_caught_up(struct raft *r, raft_id id);
/* Hands the lead to voter id (0: any). */
void replica_transfer_to(struct replica *replica, raft_id id);

/* replica_members.c */
void replica_members_tick(struct replica *replica);
void replica_members_stop(struct replica *replica);

#endif
