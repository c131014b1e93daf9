/*
 * replica_cluster.c -- a replica in a cluster: when it is ready, and
 * proposals made while it follows (see replica.h, cluster/forward.h).
 *
 * Forwarding.  replica_apply() on a follower keeps the entry in a remote
 * apply and sends it to the leader raft names.  While no leader is known,
 * or the node asked answers that it does not lead (it had lost the lead, or
 * was not yet there: nothing was proposed), the tick tries again, until
 * REPLICA_FORWARD_TIMEOUT_MS.  The leader answers with the entry's index
 * and its result once committed and applied there.  The remote apply ends
 * with that result -- or, for a group whose callers must see their own
 * writes at once (options->await_local_apply: the metadata), waits for this
 * replica to apply that index and ends with its own result, kept in a small
 * ring since the leader's answer and the commit reach this node by
 * different channels, in either order.  A proposal sent to a leader that
 * then went silent ends once raft names another leader or the deadline
 * passes (sent_in_vain), outcome unknown.  (Waiting costs up to a heartbeat
 * when nothing else is being written: raft tells followers the commit index
 * with the next append.)  An answer whose index fell out of
 * the ring (or under a snapshot this replica installed) ends with
 * VANE_ERAFT: committed, but its result unknown here.  Other failures end
 * the remote apply with that error: after a connection loss the entry may
 * have been committed, so it is never sent twice.
 *
 * Readiness.  The same tick runs from the start: a follower is ready once
 * it knows a leader (it then applies what the leader says is committed); a
 * leader once a barrier has seen every entry applied.
 *
 * Balance.  An eventlog's replicas are placed so that each node is the
 * first of as many groups as the others (cluster/members.h): its preferred
 * leader.  Elections pick whoever times out first, so after a failover one
 * node may lead most groups.  The tick of a leader that has led for
 * BALANCE_AFTER_MS hands the lead to the preferred node once that node is
 * alive and has every entry (raft_transfer), at most every BALANCE_RETRY_MS.
 * While a transfer runs, raft refuses proposals: they wait, as on a
 * follower, for the new leader.
 *
 * Proposals other nodes forward here are answered by forwarded_propose(),
 * registered with the forwarder under the group's id.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cluster/forward.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "raft/replica_internal.h"

static const char component[] = "raft";

#define TICK_MS 50
#define BALANCE_AFTER_MS 3000
#define BALANCE_RETRY_MS 5000

struct remote_apply {
    struct replica *replica;
    void *buf; /* the entry, until sent for good */
    size_t len;
    replica_apply_cb cb;
    void *arg;
    struct forward_req *sending;
    uint64_t sent_to;  /* the leader it was sent to */
    uint64_t other_leader_since; /* uv_now() since raft named another; 0: it has not */
    raft_index index;  /* once the leader answered */
    uint64_t deadline; /* uv_now() */
    unsigned seen_tick;
    struct remote_apply *next;
};

/* ---- ending remote applies ----------------------------------------------- */

static void remote_unlink(struct remote_apply *ra)
{
    struct remote_apply **p = &ra->replica->remote;

    while (*p != ra)
        p = &(*p)->next;
    *p = ra->next;
}

static void remote_end(struct remote_apply *ra, int status, void *result)
{
    remote_unlink(ra);
    if (ra->sending != NULL)
        forward_cancel(ra->sending);
    if (ra->buf != NULL)
        raft_free(ra->buf);
    ra->cb(ra->arg, status, result);
    vane_free(ra);
}

/* The index is applied here: its result, if the ring still holds it. */
static void remote_end_applied(struct remote_apply *ra)
{
    struct replica *replica = ra->replica;
    unsigned slot = (unsigned)(ra->index % REPLICA_RESULTS);

    if (replica->results[slot].index == ra->index)
        remote_end(ra, 0, replica->results[slot].result);
    else
        remote_end(ra, VANE_ERAFT, NULL);
}

/* A remote apply whose index is applied, or NULL.  Callers look again after
 * each one ends: its callback may have ended others (closing the replica). */
static struct remote_apply *first_applied(struct replica *replica, raft_index index)
{
    for (struct remote_apply *ra = replica->remote; ra != NULL; ra = ra->next)
        if (ra->index != 0 && ra->index <= index)
            return ra;
    return NULL;
}

void replica_cluster_applied(struct replica *replica, raft_index index, void *result)
{
    unsigned slot = (unsigned)(index % REPLICA_RESULTS);
    struct remote_apply *ra;

    replica->results[slot].index = index;
    replica->results[slot].result = result;
    while ((ra = first_applied(replica, index)) != NULL)
        remote_end_applied(ra);
}

/* ---- sending ------------------------------------------------------------- */

static void try_send(struct remote_apply *ra);

static void on_forwarded(void *arg, int status, uint64_t index, uint64_t result)
{
    struct remote_apply *ra = arg;

    ra->sending = NULL;
    if (status == VANE_ENOTLEADER || status == -ECONNREFUSED)
        return; /* not proposed (forward.h): the tick tries again */
    if (status != 0) {
        remote_end(ra, status, NULL);
        return;
    }
    raft_free(ra->buf);
    ra->buf = NULL;
    ra->index = index;
    if (!ra->replica->await_local_apply)
        remote_end(ra, 0, (void *)(uintptr_t)result);
    else if (raft_last_applied(&ra->replica->raft) >= index)
        remote_end_applied(ra);
}

/* This replica leads now: the entry is proposed here, as replica_apply would. */
static void propose_here(struct remote_apply *ra)
{
    void *buf = ra->buf;
    int err;

    ra->buf = NULL;
    remote_unlink(ra);
    if ((err = replica_apply(ra->replica, buf, ra->len, ra->cb, ra->arg)) != 0) {
        raft_free(buf);
        ra->cb(ra->arg, err, NULL);
    }
    vane_free(ra);
}

static void try_send(struct remote_apply *ra)
{
    struct replica *replica = ra->replica;
    const char *address;
    raft_id leader;

    if (replica_is_leader(replica)) {
        if (replica->raft.transfer == NULL && replica->can_lead)
            propose_here(ra);
        return; /* handing the lead over: the tick tries again */
    }
    raft_leader(&replica->raft, &leader, &address);
    if (leader == 0 || address == NULL)
        return; /* the tick tries again */
    ra->sent_to = leader;
    ra->sending = forward_send(replica->forwarder, address, replica->group_id, ra->buf, ra->len,
                               on_forwarded, ra);
}

int replica_cluster_forward(struct replica *replica, void *buf, size_t len, replica_apply_cb cb,
                          void *arg)
{
    struct remote_apply *ra = VANE_NEW(ra);

    ra->replica = replica;
    ra->buf = buf;
    ra->len = len;
    ra->cb = cb;
    ra->arg = arg;
    ra->deadline = uv_now(replica->loop) + REPLICA_FORWARD_TIMEOUT_MS;
    ra->next = replica->remote;
    replica->remote = ra;
    try_send(ra);
    return 0;
}

/* ---- the tick: retries, deadlines, readiness ------------------------------ */

/* A remote apply this tick has not looked at, or NULL (see first_applied). */
static struct remote_apply *first_unseen(struct replica *replica)
{
    for (struct remote_apply *ra = replica->remote; ra != NULL; ra = ra->next)
        if (ra->seen_tick != replica->ticks)
            return ra;
    return NULL;
}

/*
 * A proposal in flight to a leader that went silent (paused, cut off: its
 * connection is not lost) gets no answer.  Once raft has named another
 * leader for SILENT_GRACE_MS -- a leader that handed the lead over is alive
 * and answers well within that -- or the deadline passes, it ends with
 * -ETIMEDOUT, outcome unknown: it is not sent again, since the silent
 * leader may have passed it on before it stopped.
 */
#define SILENT_GRACE_MS 1000

static bool sent_in_vain(struct replica *replica, struct remote_apply *ra, uint64_t now)
{
    const char *address;
    raft_id leader;

    raft_leader(&replica->raft, &leader, &address);
    if (leader == 0 || leader == ra->sent_to)
        ra->other_leader_since = 0;
    else if (ra->other_leader_since == 0)
        ra->other_leader_since = now;
    return now >= ra->deadline ||
           (ra->other_leader_since != 0 && now >= ra->other_leader_since + SILENT_GRACE_MS);
}

static void retry_or_expire(struct replica *replica)
{
    uint64_t now = uv_now(replica->loop);
    struct remote_apply *ra;

    replica->ticks++;
    while ((ra = first_unseen(replica)) != NULL) {
        ra->seen_tick = replica->ticks;
        if (ra->sending != NULL) {
            if (sent_in_vain(replica, ra, now))
                remote_end(ra, -ETIMEDOUT, NULL);
            continue;
        }
        if (ra->index != 0 && raft_last_applied(&replica->raft) >= ra->index) {
            remote_end_applied(ra); /* under a snapshot this replica installed */
            continue;
        }
        if (now >= ra->deadline)
            remote_end(ra, ra->index != 0 ? -ETIMEDOUT : VANE_ENOLEADER, NULL);
        else if (ra->index == 0)
            try_send(ra);
    }
}

/* A failed barrier lost the lead meanwhile: the tick tries again. */
static void on_leader_barrier(struct raft_barrier *req, int status)
{
    struct replica *replica = req->data;

    req->data = NULL;
    if (status != 0 || replica->closing)
        return;
    replica->ready_done = true;
    replica->ready(replica, 0, replica->ready_arg);
}

static void check_ready(struct replica *replica)
{
    const char *address;
    raft_id leader;

    if (replica->ready_done || replica->barrier.data != NULL)
        return;
    raft_leader(&replica->raft, &leader, &address);
    if (leader == 0)
        return;
    if (!replica_is_leader(replica)) {
        replica->ready_done = true;
        replica->ready(replica, 0, replica->ready_arg);
        return;
    }
    replica->barrier.data = replica;
    if (raft_barrier(&replica->raft, &replica->barrier, on_leader_barrier) != 0)
        replica->barrier.data = NULL; /* lost the lead meanwhile: the tick tries again */
}

/* ---- balance ------------------------------------------------------------- */

bool replica_caught_up(struct raft *r, raft_id id)
{
    for (unsigned i = 0; i < r->configuration.n; i++)
        if (r->configuration.servers[i].id == id)
            return r->leader_state.progress[i].recent_recv &&
                   r->leader_state.progress[i].match_index >= raft_last_index(r);
    return false;
}

static void on_transferred(struct raft_transfer *req)
{
    struct replica *replica = req->data;
    const char *address;
    raft_id leader;

    replica->transferring = false;
    raft_leader(&replica->raft, &leader, &address);
    if (leader == replica->preferred_leader)
        vane_log_info(component, "group %llu: the lead went to its preferred node %llu",
                      (unsigned long long)replica->group_id, (unsigned long long)leader);
}

void replica_transfer_to(struct replica *replica, raft_id id)
{
    replica->transfer.data = replica;
    if (raft_transfer(&replica->raft, &replica->transfer, id, on_transferred) == 0)
        replica->transferring = true;
}

void replica_step_down(struct replica *replica)
{
    if (replica->forwarder == NULL || !replica_is_leader(replica) || replica->transferring)
        return;
    replica_transfer_to(replica, 0);
}

const char *replica_leader_address(struct replica *replica)
{
    const char *address;
    raft_id leader;

    raft_leader(&replica->raft, &leader, &address);
    return leader != 0 ? address : NULL;
}

static void balance(struct replica *replica)
{
    struct raft *r = &replica->raft;
    uint64_t now = uv_now(replica->loop);

    if (!replica_is_leader(replica)) {
        replica->lead_since = 0;
        return;
    }
    if (replica->lead_since == 0)
        replica->lead_since = now;
    if (replica->preferred_leader == 0 || replica->preferred_leader == r->id ||
        replica->transferring || now < replica->lead_since + BALANCE_AFTER_MS ||
        now < replica->balance_tried + BALANCE_RETRY_MS ||
        !replica_caught_up(r, replica->preferred_leader))
        return;
    replica->balance_tried = now;
    replica_transfer_to(replica, replica->preferred_leader);
}

/*
 * A new leader has applied every entry of earlier terms once a barrier of
 * its own term has been applied: until then its state machine may lag what
 * the group committed (replica_leads_current()).
 */
static void on_lead_barrier(struct raft_barrier *req, int status)
{
    struct replica *replica = req->data;

    req->data = NULL;
    if (status == 0)
        replica->current_in_term = replica->lead_barrier_term;
}

static void check_current(struct replica *replica)
{
    if (!replica_is_leader(replica) || replica->lead_barrier.data != NULL ||
        replica->current_in_term == replica->raft.current_term)
        return;
    replica->lead_barrier.data = replica;
    replica->lead_barrier_term = replica->raft.current_term;
    if (raft_barrier(&replica->raft, &replica->lead_barrier, on_lead_barrier) != 0)
        replica->lead_barrier.data = NULL; /* the tick tries again */
}

bool replica_leads_current(struct replica *replica)
{
    return replica_is_leader(replica) &&
           (replica->forwarder == NULL || replica->current_in_term == replica->raft.current_term);
}

static void on_tick(uv_timer_t *timer)
{
    struct replica *replica = timer->data;

    check_ready(replica);
    check_current(replica);
    retry_or_expire(replica);
    if (!replica->can_lead)
        replica_step_down(replica);
    else
        balance(replica);
    replica_members_tick(replica);
}

static int forwarded_propose(void *target, void *buf, size_t len, forward_done_cb done,
                             void *arg);

void replica_cluster_start(struct replica *replica)
{
    uv_timer_init(replica->loop, &replica->tick);
    replica->tick.data = replica;
    replica->tick_open = true;
    uv_timer_start(&replica->tick, on_tick, 0, TICK_MS);
    forwarder_register(replica->forwarder, replica->group_id, forwarded_propose, replica);
}

void replica_cluster_stop(struct replica *replica)
{
    if (!replica->tick_open)
        return;
    replica->tick_open = false;
    forwarder_unregister(replica->forwarder, replica->group_id);
    uv_close((uv_handle_t *)&replica->tick, NULL);
    replica_members_stop(replica);
    while (replica->remote != NULL)
        remote_end(replica->remote, VANE_ESHUTDOWN, NULL);
}

/* ---- proposals forwarded here -------------------------------------------- */

struct forwarded {
    struct raft_apply req;
    forward_done_cb done;
    void *arg;
};

/* Lost the lead before the entry committed: it may still be, by the next
 * leader, so the sender must not propose it again (VANE_ERAFT, not
 * VANE_ENOTLEADER, which it takes as "not proposed"). */
static void on_forwarded_applied(struct raft_apply *req, int status, void *result)
{
    struct forwarded *f = (struct forwarded *)req;
    int err = status == RAFT_LEADERSHIPLOST ? VANE_ERAFT : replica_from_raft(status);

    f->done(f->arg, err, req->index, (uint64_t)(uintptr_t)result);
    vane_free(f);
}

static int forwarded_propose(void *target, void *buf, size_t len, forward_done_cb done,
                             void *arg)
{
    struct replica *replica = target;
    struct raft_buffer rbuf = {buf, len};
    struct forwarded *f;
    int rv;

    if (len % 8 != 0)
        return -EINVAL; /* replica_apply pads every entry */
    if (replica->closing || !replica_is_leader(replica) || !replica->can_lead)
        return VANE_ENOTLEADER;
    f = VANE_NEW(f);
    f->done = done;
    f->arg = arg;
    if ((rv = raft_apply(&replica->raft, &f->req, &rbuf, 1, on_forwarded_applied)) != 0) {
        vane_free(f);
        return replica_from_raft(rv);
    }
    return 0;
}
