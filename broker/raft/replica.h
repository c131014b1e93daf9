/*
 * replica.h -- this node's replica of one raft group (canonical raft on the
 * daemon's libuv loop).
 *
 * Every replicated state machine of the broker -- the controller's metadata
 * and each eventlog -- runs through one of these, on one node as on many:
 * a single node is a group with one voter, so the same code path serves both.
 * The replica owns the raft instance, its libuv I/O backend (raft's log and
 * snapshots under its own directory) and the transport.  The state machine
 * is the caller's struct raft_fsm.
 *
 * On a single node the transport is local: it listens for nothing and
 * connects nowhere, which is all a single-voter group needs.  In a cluster
 * (options->cluster) the group's voters are the nodes listed there, raft
 * talks over the node's peer port (cluster/peer.h), and a proposal made on
 * a node whose replica follows is forwarded to the leader's node
 * (cluster/forward.h); its callback runs once this replica has applied the
 * entry too, with this replica's own result.
 *
 * Life cycle, on the loop thread:
 *
 *     replica_start(dir, fsm, ready_cb)  -> ready_cb once every entry in the
 *                                           log has been applied
 *     replica_apply(...)                  -> cb once committed and applied
 *     replica_close(close_cb)             -> close_cb once raft has let go
 */
#ifndef VANE_RAFT_REPLICA_H
#define VANE_RAFT_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

struct log_extern; /* raft/log_io.h */

struct replica;

typedef void (*replica_ready_cb)(struct replica *replica, int status, void *arg);
typedef void (*replica_close_cb)(struct replica *replica, void *arg);
/* status 0: applied, and result is what the state machine's apply returned. */
typedef void (*replica_apply_cb)(void *arg, int status, void *result);

struct peer_net;
struct forwarder;

/*
 * A group of a cluster: its id, shared by its replicas, and its members --
 * the first voter_count voters, the rest standbys (they receive and apply
 * the log, so they can serve it, but do not vote or count for a commit).
 */
struct replica_cluster {
    struct peer_net *net;
    struct forwarder *forwarder;
    uint64_t group_id;
    size_t member_count, voter_count;
    const uint64_t *member_ids;         /* this node's id among them */
    const char *const *member_addresses; /* their peer addresses */
    uint64_t preferred_leader;          /* the node that should lead when it can; 0: any */
};

struct replica_options {
    unsigned snapshot_threshold; /* entries between snapshots */
    unsigned snapshot_trailing;  /* entries kept after a snapshot */
    size_t segment_size;         /* raft's log files roll past it; 0: 8 MiB (raft/log_io.h) */
    const struct replica_cluster *cluster; /* NULL: a single node */
    /* In a cluster, a proposal forwarded from a follower answers once the
     * follower has applied it too (its caller reads its own write there);
     * else as soon as the leader has.  The state machine's apply results
     * must be integers (carried in the pointer) either way. */
    bool await_local_apply;
    /* In a cluster: this replica joins a group that runs without it, so
     * it does not bootstrap one; it waits for the leader to add it
     * (replica_set_members() on the leader's node). */
    bool join;
    /* The state machine keeps the bulk of its entries' payloads itself
     * (raft/log_io.h); NULL: the log keeps them whole. */
    const struct log_extern *keeper;
};

/*
 * Opens (or creates and bootstraps) the group stored under dir and starts
 * it.  Returns 0, after which ready(replica, status, arg) runs once; or a
 * negative error with *errmsg (freed by the caller), and nothing runs.
 * Ready means every entry in the log has been applied (a single node, or
 * the leader), or a leader is known (a follower, which then applies what
 * the leader says is committed).
 */
int replica_start(struct replica **replica, uv_loop_t *loop, const char *dir,
                  struct raft_fsm *fsm, const struct replica_options *options,
                  replica_ready_cb ready, void *arg, char **errmsg);

/*
 * Proposes one entry.  buf must come from raft_malloc(); on success raft
 * owns it.  The entry is padded with zeros to a multiple of 8 bytes, so the
 * state machine sees up to 7 bytes more than len.  Returns 0 and later
 * calls cb, or a negative error (then buf is still the caller's and cb
 * never runs).  A follower forwards the entry to the leader, retrying for
 * up to REPLICA_FORWARD_TIMEOUT_MS while no leader is known or the one it
 * asked has lost the lead, then fails with VANE_ENOLEADER.
 */
int replica_apply(struct replica *replica, void *buf, size_t len, replica_apply_cb cb, void *arg);

#define REPLICA_FORWARD_TIMEOUT_MS 5000

/* Whether this replica leads its group (always, on a single node). */
bool replica_is_leader(struct replica *replica);

/*
 * Whether this replica leads and has applied everything committed before
 * its term (on a single node: whether it leads).  A new leader of a
 * cluster's group becomes current within a tick or two of its election.
 */
bool replica_leads_current(struct replica *replica);

/* In a cluster: the peer address of the group's leader, or NULL while none is known. */
const char *replica_leader_address(struct replica *replica);

/* In a cluster: a leader hands the lead to another voter (one that can
 * serve what this one cannot yet).  Does nothing elsewhere. */
void replica_step_down(struct replica *replica);

/*
 * In a cluster: whether this replica may lead.  One that may not (its state
 * machine lacks what the others have, see store/eventlog_catchup.c) hands
 * the lead on whenever it gets it, and meanwhile sends its proposals, and
 * refuses other nodes', as a follower does.
 */
void replica_set_can_lead(struct replica *replica, bool can_lead);

/* The log's requests that waited while the keeper held them run (log_io_resume). */
void replica_resume_log(struct replica *replica);

/*
 * In a cluster: the members the group should have (voters first, as in
 * replica_options.cluster; the strings are copied).  The leader's node
 * changes raft's configuration towards them a step at a time (see
 * replica_members.c), each node may be told: whichever leads acts.  The
 * preferred leader follows too.  Does nothing on a single node.
 */
void replica_set_members(struct replica *replica, const struct replica_cluster *members);

/* The role (RAFT_VOTER, RAFT_STANDBY, RAFT_SPARE) of node id in the group's
 * configuration as this replica knows it, or -1 when it is not a member. */
int replica_member_role(struct replica *replica, uint64_t id);

/* What this replica knows of its group, for status pages. */
struct replica_status {
    const char *role;      /* "leader", "follower", "candidate" or "unavailable" */
    uint64_t leader_id;    /* 0: none known */
    uint64_t term;
    uint64_t last_index;   /* in this replica's log */
    uint64_t commit_index; /* as far as this replica knows */
    uint64_t last_applied;
    size_t voter_count, standby_count;
    uint64_t voters[8];    /* the first voter_count of the configuration's voters */
    uint64_t standbys[64]; /* and of its standbys */
};
void replica_status(struct replica *replica, struct replica_status *status);

/* The index of the entry the state machine's apply is being called for. */
raft_index replica_applying_index(const struct replica *replica);

/*
 * Frees the buffers a state machine's snapshot() allocated with
 * raft_malloc(); for its snapshot_finalize(), which owns them (fsm v2+).
 */
void replica_free_snapshot(struct raft_buffer *bufs[], unsigned *n_bufs);

/* Changes the entries between snapshots; may be called from the state machine. */
void replica_set_snapshot_threshold(struct replica *replica, unsigned entries);

/* Closes the group; close_cb runs once raft has released everything. */
void replica_close(struct replica *replica, replica_close_cb close_cb, void *arg);

#endif
