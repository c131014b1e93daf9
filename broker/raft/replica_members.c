/*
 * replica_members.c -- a cluster group's members as the metadata wants
 * them, and the leader's steps that change raft's configuration to match
 * (see replica_set_members() in replica.h).
 *
 * The wanted members come from the controller (cluster/rebalance.c moves
 * an eventlog's voters; a node joins or leaves).  Only the leader changes a
 * configuration, one change at a time (raft allows no more), each from the
 * tick once the previous one is committed, in an order that never lowers
 * the number of voters below what is wanted:
 *
 *   1. a wanted node missing from the configuration is added (as a spare);
 *   2. a spare is made a standby, so the log flows to it;
 *   3. a standby wanted as a voter is promoted -- raft first replicates the
 *      log to it in catch-up rounds, so it joins the quorum up to date;
 *   4. only then a voter no longer wanted as one is demoted to standby,
 *   5. and a node no longer wanted at all is removed.
 *
 * A leader that is itself to be demoted or removed first hands the lead to
 * a wanted voter that has every entry; the new leader carries on.  A change
 * raft refuses or fails is tried again after CHANGE_RETRY_MS.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "raft/replica_internal.h"

static const char component[] = "raft";

#define CHANGE_RETRY_MS 1000

struct replica_member {
    uint64_t id;
    char *address;
    bool voter;
};

static void members_free(struct replica *replica)
{
    for (size_t i = 0; i < replica->want_count; i++)
        vane_free(replica->want[i].address);
    vane_free(replica->want);
    replica->want = NULL;
    replica->want_count = 0;
}

void replica_set_members(struct replica *replica, const struct replica_cluster *members)
{
    if (replica->forwarder == NULL)
        return;
    members_free(replica);
    replica->want = vane_calloc(members->member_count, sizeof(*replica->want));
    for (size_t i = 0; i < members->member_count; i++)
        replica->want[i] = (struct replica_member){
            .id = members->member_ids[i], .address = vane_strdup(members->member_addresses[i]),
            .voter = i < members->voter_count};
    replica->want_count = members->member_count;
    replica->preferred_leader = members->preferred_leader;
}

void replica_members_stop(struct replica *replica)
{
    members_free(replica);
}

static const struct replica_member *wanted(const struct replica *replica, uint64_t id)
{
    for (size_t i = 0; i < replica->want_count; i++)
        if (replica->want[i].id == id)
            return &replica->want[i];
    return NULL;
}

static const struct raft_server *server_of(const struct raft *r, uint64_t id)
{
    for (unsigned i = 0; i < r->configuration.n; i++)
        if (r->configuration.servers[i].id == id)
            return &r->configuration.servers[i];
    return NULL;
}

int replica_member_role(struct replica *replica, uint64_t id)
{
    const struct raft_server *s = server_of(&replica->raft, id);

    return s != NULL ? s->role : -1;
}

/* ---- one change ---------------------------------------------------------- */

static const char *const role_names[] = {"a standby", "a voter", "a spare"};

static void on_changed(struct raft_change *req, int status)
{
    struct replica *replica = req->data;

    replica->changing = false;
    if (status == 0) {
        vane_log_info(component, "group %llu: %s", (unsigned long long)replica->group_id,
                      replica->change_what);
        return;
    }
    vane_log_warn(component, "group %llu: could not make the change (%s): %s; trying again",
                  (unsigned long long)replica->group_id, replica->change_what,
                  raft_strerror(status));
    replica->change_retry_at = uv_now(replica->loop) + CHANGE_RETRY_MS;
}

/* Records what a change does (for the log) and whether raft took it. */
static void started(struct replica *replica, int rv)
{
    if (rv == 0) {
        replica->changing = true;
        return;
    }
    vane_log_warn(component, "group %llu: raft refused the change (%s): %s",
                  (unsigned long long)replica->group_id, replica->change_what,
                  raft_strerror(rv));
    replica->change_retry_at = uv_now(replica->loop) + CHANGE_RETRY_MS;
}

static void describe(struct replica *replica, uint64_t id, const char *what)
{
    snprintf(replica->change_what, sizeof(replica->change_what), "node %llu %s",
             (unsigned long long)id, what);
}

static void add(struct replica *replica, const struct replica_member *m)
{
    describe(replica, m->id, "added");
    replica->change.data = replica;
    started(replica, raft_add(&replica->raft, &replica->change, m->id, m->address, on_changed));
}

static void assign(struct replica *replica, uint64_t id, int role)
{
    char what[32];

    snprintf(what, sizeof(what), "is now %s", role_names[role]);
    describe(replica, id, what);
    replica->change.data = replica;
    started(replica, raft_assign(&replica->raft, &replica->change, id, role, on_changed));
}

static void remove_member(struct replica *replica, uint64_t id)
{
    describe(replica, id, "removed");
    replica->change.data = replica;
    started(replica, raft_remove(&replica->raft, &replica->change, id, on_changed));
}

/* A leader that is to lose its vote hands the lead to a wanted voter with every entry. */
static void hand_over(struct replica *replica)
{
    struct raft *r = &replica->raft;

    for (size_t i = 0; i < replica->want_count; i++) {
        const struct raft_server *s = server_of(r, replica->want[i].id);

        if (replica->want[i].voter && s != NULL && s->role == RAFT_VOTER && s->id != r->id &&
            replica_caught_up(r, s->id)) {
            replica_transfer_to(replica, s->id);
            return;
        }
    }
}

/* ---- the steps, in order ------------------------------------------------- */

/* Steps 1 to 3: true when one was taken. */
static bool grow(struct replica *replica)
{
    struct raft *r = &replica->raft;

    for (size_t i = 0; i < replica->want_count; i++)
        if (server_of(r, replica->want[i].id) == NULL) {
            add(replica, &replica->want[i]);
            return true;
        }
    for (unsigned i = 0; i < r->configuration.n; i++)
        if (r->configuration.servers[i].role == RAFT_SPARE &&
            wanted(replica, r->configuration.servers[i].id) != NULL) {
            assign(replica, r->configuration.servers[i].id, RAFT_STANDBY);
            return true;
        }
    for (size_t i = 0; i < replica->want_count; i++)
        if (replica->want[i].voter && server_of(r, replica->want[i].id)->role != RAFT_VOTER) {
            assign(replica, replica->want[i].id, RAFT_VOTER);
            return true;
        }
    return false;
}

/* Steps 4 and 5. */
static void shrink(struct replica *replica)
{
    struct raft *r = &replica->raft;

    for (unsigned i = 0; i < r->configuration.n; i++) {
        const struct raft_server *s = &r->configuration.servers[i];
        const struct replica_member *m = wanted(replica, s->id);
        bool demote = s->role == RAFT_VOTER && (m == NULL || !m->voter);

        if (!demote && m != NULL)
            continue;
        if (s->id == r->id) {
            hand_over(replica);
        } else if (demote) {
            assign(replica, s->id, RAFT_STANDBY);
        } else {
            remove_member(replica, s->id);
        }
        return;
    }
}

void replica_members_tick(struct replica *replica)
{
    struct raft *r = &replica->raft;

    if (replica->want_count == 0 || replica->changing || replica->transferring ||
        !replica_leads_current(replica) || r->configuration_uncommitted_index != 0 ||
        uv_now(replica->loop) < replica->change_retry_at)
        return;
    if (!grow(replica))
        shrink(replica);
}
