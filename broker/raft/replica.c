/*
 * replica.c -- a canonical raft group on the loop (see replica.h).
 *
 * Start: log_io (raft/log_io.h) over dir, with the local transport on a single node or the
 * peer transport in a cluster; raft_init; raft_bootstrap with the voters --
 * this node alone, or the cluster's members for the group, the same list on
 * every node (refused, harmlessly, when the directory already holds a
 * group); raft_start.  On a single node a barrier follows: its callback runs
 * once every entry that was in the log has been applied, which is what
 * "ready" means.  In a cluster replica_cluster.c says when it is ready.
 *
 * The caller's state machine is wrapped so that, in a cluster, every apply
 * is seen by replica_cluster.c (a forwarded proposal waits for its index).
 *
 * Close: raft_close must not be called from inside an apply callback (raft
 * aborts), so replica_close defers it to a zero timer when it is.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"
#include "cluster/forward.h"
#include "cluster/peer.h"
#include "raft/local_transport.h"
#include "raft/log_io.h"
#include "raft/replica_internal.h"

#define REPLICA_ID 1
#define REPLICA_ADDRESS "local"

/*
 * In a cluster: a follower that hears nothing from its leader for 600 to
 * 1200 ms (raft randomizes it) starts an election, so a dead leader is
 * replaced in about a second and publishing resumes within the 3 s;
 * heartbeats every 60 ms keep a live leader well inside that.  Pre-vote
 * keeps a node that was cut off from disrupting the group when it returns.
 */
#define CLUSTER_ELECTION_TIMEOUT_MS 600
#define CLUSTER_HEARTBEAT_MS 60

struct apply_req {
    struct raft_apply req;
    replica_apply_cb cb;
    void *arg;
};

/* Translates a raft error code at the boundary. */
int replica_from_raft(int rv)
{
    switch (rv) {
    case 0: return 0;
    case RAFT_NOMEM: return -ENOMEM;
    case RAFT_NOTLEADER:
    case RAFT_LEADERSHIPLOST: return VANE_ENOTLEADER;
    case RAFT_SHUTDOWN:
    case RAFT_CANCELED: return VANE_ESHUTDOWN;
    case RAFT_IOERR: return -EIO;
    case RAFT_NOSPACE: return -ENOSPC;
    case RAFT_CORRUPT: return VANE_ECORRUPT;
    default: return VANE_ERAFT;
    }
}

static void on_barrier(struct raft_barrier *req, int status)
{
    struct replica *replica = req->data;

    replica->ready(replica, replica_from_raft(status), replica->ready_arg);
}

static int fail(struct replica *replica, int rv, const char *what, char **errmsg)
{
    const char *why = replica->raft_initialized ? raft_errmsg(&replica->raft) : replica->io.errmsg;

    *errmsg = vane_asprintf("%s: %s (%s)", what, raft_strerror(rv), why && *why ? why : "no detail");
    return replica_from_raft(rv);
}

static int bootstrap(struct replica *replica, const struct replica_cluster *cluster,
                     char **errmsg)
{
    struct raft_configuration conf;
    int rv = 0;

    raft_configuration_init(&conf);
    if (cluster == NULL)
        rv = raft_configuration_add(&conf, REPLICA_ID, REPLICA_ADDRESS, RAFT_VOTER);
    for (size_t i = 0; cluster != NULL && i < cluster->member_count && rv == 0; i++)
        rv = raft_configuration_add(&conf, cluster->member_ids[i], cluster->member_addresses[i],
                                    i < cluster->voter_count ? RAFT_VOTER : RAFT_STANDBY);
    if (rv == 0)
        rv = raft_bootstrap(&replica->raft, &conf);
    raft_configuration_close(&conf);
    if (rv != 0 && rv != RAFT_CANTBOOTSTRAP)
        return fail(replica, rv, "raft bootstrap", errmsg);
    return 0;
}

/* ---- the caller's state machine, wrapped --------------------------------- */

static int wrap_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct replica *replica = fsm->data;
    raft_index index = replica_applying_index(replica);
    int rv = replica->user_fsm->apply(replica->user_fsm, buf, result);

    if (replica->forwarder != NULL)
        replica_cluster_applied(replica, index, rv == 0 ? *result : NULL);
    return rv;
}

static int wrap_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct raft_fsm *user = ((struct replica *)fsm->data)->user_fsm;

    return user->snapshot(user, bufs, n_bufs);
}

static int wrap_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                                  unsigned *n_bufs)
{
    struct raft_fsm *user = ((struct replica *)fsm->data)->user_fsm;

    return user->snapshot_finalize(user, bufs, n_bufs);
}

static int wrap_snapshot_async(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                               unsigned *n_bufs)
{
    struct raft_fsm *user = ((struct replica *)fsm->data)->user_fsm;

    return user->snapshot_async(user, bufs, n_bufs);
}

static int wrap_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct raft_fsm *user = ((struct replica *)fsm->data)->user_fsm;

    return user->restore(user, buf);
}

static void wrap_fsm(struct replica *replica, struct raft_fsm *user)
{
    replica->user_fsm = user;
    replica->fsm = (struct raft_fsm){
        .version = user->version, .data = replica, .apply = wrap_apply,
        .snapshot = user->snapshot ? wrap_snapshot : NULL, .restore = wrap_restore,
        .snapshot_finalize = user->snapshot_finalize ? wrap_snapshot_finalize : NULL,
        .snapshot_async = user->version >= 3 && user->snapshot_async ? wrap_snapshot_async : NULL};
}

/* ---- start --------------------------------------------------------------- */

/* The transport, and this node's raft id and address. */
static int init_transport(struct replica *replica, const struct replica_cluster *cluster,
                          raft_id *id, const char **address)
{
    if (cluster == NULL) {
        local_transport_init(&replica->transport, replica->loop);
        *id = REPLICA_ID;
        *address = REPLICA_ADDRESS;
        return 0;
    }
    replica->forwarder = cluster->forwarder;
    replica->group_id = cluster->group_id;
    replica->preferred_leader = cluster->preferred_leader;
    *id = peer_net_self_id(cluster->net);
    *address = peer_net_self_address(cluster->net);
    return peer_transport_init(&replica->transport, cluster->net, cluster->group_id);
}

/* A start that failed before raft owned the transport: the peer transport's memory goes. */
static void drop_transport(struct replica *replica)
{
    if (replica->forwarder != NULL)
        peer_transport_close(&replica->transport);
}

/*
 * raft_init failed, and raft never took the io: the io is closed as raft
 * would close it (log_io.h), since raft's backend may have begun on the
 * loop (its timer, the transport) before the io's init failed.  The
 * replica, which holds the io and the transport, goes after that.
 */
static void free_unstarted(struct raft_io *io)
{
    struct replica *replica = (struct replica *)((char *)io - offsetof(struct replica, io));

    log_io_close(io);
    drop_transport(replica);
    vane_free(replica);
}

/* Single node: ready once a barrier shows every entry in the log applied. */
static int await_ready(struct replica *replica, char **errmsg)
{
    int rv;

    if (replica->forwarder != NULL) {
        replica_cluster_start(replica);
        return 0;
    }
    replica->barrier.data = replica;
    if ((rv = raft_barrier(&replica->raft, &replica->barrier, on_barrier)) != 0)
        return fail(replica, rv, "raft barrier", errmsg);
    return 0;
}

int replica_start(struct replica **out, uv_loop_t *loop, const char *dir, struct raft_fsm *fsm,
                  const struct replica_options *options, replica_ready_cb ready, void *arg,
                  char **errmsg)
{
    struct replica *replica = VANE_NEW(replica);
    const char *address;
    raft_id id;
    bool joining;
    int rv, err;

    replica->loop = loop;
    replica->ready = ready;
    replica->ready_arg = arg;
    replica->await_local_apply = options->await_local_apply;
    replica->can_lead = true;
    wrap_fsm(replica, fsm);
    /* raft_init on a missing directory only says "unknown error". */
    if ((err = vane_fs_mkdir_p(dir, 0755)) != 0) {
        *errmsg = vane_asprintf("cannot create %s: %s", dir, vane_strerror(err));
        vane_free(replica);
        return err;
    }
    if ((rv = init_transport(replica, options->cluster, &id, &address)) != 0 ||
        (rv = log_io_init(&replica->io, loop, dir, &replica->transport,
                          options->segment_size)) != 0) {
        err = fail(replica, rv, "raft I/O", errmsg);
        drop_transport(replica);
        vane_free(replica);
        return err;
    }
    if (options->keeper != NULL)
        log_io_set_extern(&replica->io, options->keeper);
    if ((rv = raft_init(&replica->raft, &replica->io, &replica->fsm, id, address)) != 0) {
        replica->raft_initialized = true; /* for its errmsg */
        err = fail(replica, rv, "raft init", errmsg);
        replica->io.close(&replica->io, free_unstarted);
        return err;
    }
    replica->raft_initialized = true;
    replica->raft.data = replica;
    raft_set_snapshot_threshold(&replica->raft, options->snapshot_threshold);
    raft_set_snapshot_trailing(&replica->raft, options->snapshot_trailing);
    if (options->cluster != NULL) {
        raft_set_election_timeout(&replica->raft, CLUSTER_ELECTION_TIMEOUT_MS);
        raft_set_heartbeat_timeout(&replica->raft, CLUSTER_HEARTBEAT_MS);
        raft_set_pre_vote(&replica->raft, true);
    }
    /* raft_start may apply entries at once; the state machine can then ask
     * replica_applying_index(), so the caller must hold the pointer. */
    *out = replica;
    joining = options->join && options->cluster != NULL;
    if ((err = joining ? 0 : bootstrap(replica, options->cluster, errmsg)) == 0 &&
        (rv = raft_start(&replica->raft)) != 0)
        err = fail(replica, rv, "raft start", errmsg);
    if (err == 0)
        err = await_ready(replica, errmsg);
    if (err != 0) {
        *out = NULL;
        replica_close(replica, NULL, NULL);
    }
    return err;
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
    struct apply_req *apply = (struct apply_req *)req;

    apply->cb(apply->arg, replica_from_raft(status), result);
    vane_free(apply);
}

bool replica_is_leader(struct replica *replica)
{
    return raft_state(&replica->raft) == RAFT_LEADER;
}

/* Proposes entry (padded, raft's on success): here, or through the leader. */
static int propose(struct replica *replica, void *entry, size_t len, replica_apply_cb cb,
                   void *arg)
{
    struct raft_buffer rbuf = {entry, len};
    struct apply_req *apply;
    int rv;

    if (replica->forwarder != NULL && (!replica_is_leader(replica) || !replica->can_lead ||
                                       replica->raft.transfer != NULL))
        return replica_cluster_forward(replica, entry, len, cb, arg);
    apply = VANE_NEW(apply);
    apply->cb = cb;
    apply->arg = arg;
    if ((rv = raft_apply(&replica->raft, &apply->req, &rbuf, 1, on_applied)) != 0) {
        vane_free(apply);
        return replica_from_raft(rv);
    }
    return 0;
}

int replica_apply(struct replica *replica, void *buf, size_t len, replica_apply_cb cb, void *arg)
{
    size_t padded = (len + 7) & ~(size_t)7;
    void *entry = buf;
    int err;

    if (replica->closing)
        return VANE_ESHUTDOWN;
    /* raft's libuv backend reads an entry back with its length rounded up
     * to 8 bytes: an entry of any other length corrupts its log file.  A
     * padded copy, so that on failure buf is still the caller's as it was. */
    if (padded != len) {
        if ((entry = raft_malloc(padded)) == NULL)
            return -ENOMEM;
        memcpy(entry, buf, len);
        memset((char *)entry + len, 0, padded - len);
    }
    if ((err = propose(replica, entry, padded, cb, arg)) != 0) {
        if (entry != buf)
            raft_free(entry);
        return err;
    }
    if (entry != buf)
        raft_free(buf);
    return 0;
}

void replica_set_can_lead(struct replica *replica, bool can_lead)
{
    replica->can_lead = can_lead;
    if (!can_lead)
        replica_step_down(replica);
}

void replica_resume_log(struct replica *replica)
{
    log_io_resume(&replica->io);
}

void replica_status(struct replica *replica, struct replica_status *status)
{
    static const char *const roles[] = {"unavailable", "follower", "candidate", "leader"};
    struct raft *r = &replica->raft;
    int state = raft_state(r);
    const char *address;
    raft_id leader;

    raft_leader(r, &leader, &address);
    *status = (struct replica_status){
        .role = state >= 0 && state <= RAFT_LEADER ? roles[state] : "unavailable",
        .leader_id = leader, .term = r->current_term, .last_index = raft_last_index(r),
        .commit_index = r->commit_index, .last_applied = raft_last_applied(r)};
    for (unsigned i = 0; i < r->configuration.n; i++) {
        const struct raft_server *server = &r->configuration.servers[i];

        if (server->role == RAFT_VOTER && status->voter_count < 8)
            status->voters[status->voter_count++] = server->id;
        else if (server->role == RAFT_STANDBY && status->standby_count < 64)
            status->standbys[status->standby_count++] = server->id;
    }
}

raft_index replica_applying_index(const struct replica *replica)
{
    return raft_last_applied((struct raft *)&replica->raft) + 1;
}

void replica_free_snapshot(struct raft_buffer *bufs[], unsigned *n_bufs)
{
    for (unsigned i = 0; i < *n_bufs; i++)
        raft_free((*bufs)[i].base);
    raft_free(*bufs);
    *bufs = NULL;
    *n_bufs = 0;
}

void replica_set_snapshot_threshold(struct replica *replica, unsigned entries)
{
    raft_set_snapshot_threshold(&replica->raft, entries);
}

static void free_replica(uv_handle_t *timer)
{
    vane_free(timer->data);
}

static void on_raft_closed(struct raft *raft)
{
    struct replica *replica = raft->data;

    log_io_close(&replica->io); /* what log_io_init allocated */
    if (replica->close_cb != NULL)
        replica->close_cb(replica, replica->close_arg);
    uv_close((uv_handle_t *)&replica->close_timer, free_replica);
}

static void close_now(uv_timer_t *timer)
{
    struct replica *replica = timer->data;

    raft_close(&replica->raft, on_raft_closed);
}

void replica_close(struct replica *replica, replica_close_cb close_cb, void *arg)
{
    replica->closing = true;
    if (replica->forwarder != NULL)
        replica_cluster_stop(replica);
    replica->close_cb = close_cb;
    replica->close_arg = arg;
    /* The timer defers raft_close out of any apply callback; its own close
     * callback frees the replica, last. */
    uv_timer_init(replica->loop, &replica->close_timer);
    replica->close_timer.data = replica;
    uv_timer_start(&replica->close_timer, close_now, 0, 0);
}
