/*
 * rebalance.c -- the metadata leader's placement work: the first record of
 * the nodes, replicas moved off leaving nodes and onto new ones, preferred
 * leaders spread, and leaving nodes removed once nothing needs them (see
 * rebalance.h).
 *
 * Each step makes at most one proposal and waits for it, so the metadata
 * moves one eventlog at a time; each eventlog's leader then changes its
 * group to match (raft/replica_members.c), adding the new voter before it
 * demotes the old, so no group ever has fewer voters than it should.  In
 * order, a step:
 *
 *   1. records the configuration's nodes if the metadata has none yet;
 *   2. moves a voter off a node that is leaving or gone, to the active node
 *      holding the fewest voters that the eventlog does not have yet;
 *   3. evens out voters: while one node holds two or more than another,
 *      one of its eventlogs moves to that other node;
 *   4. evens out preferred leaders (the first of each eventlog's voters)
 *      the same way, by reordering an eventlog's voters;
 *   5. removes a leaving node once no eventlog lists it and every group,
 *      as this node's replicas see them, has made it a standby.
 */
#include <string.h>

#include "cluster/rebalance.h"
#include "core/log.h"

static const char component[] = "cluster";

struct tally {
    uint64_t id;
    unsigned voters, leads;
};

static void on_done(void *arg, int status)
{
    struct cluster *cluster = arg;

    cluster->rebalancing = false;
    if (status != 0)
        vane_log_debug(component, "a placement change was not applied (%d); trying again", status);
}

static bool listed(const uint64_t *ids, uint32_t count, uint64_t id)
{
    for (uint32_t r = 0; r < count; r++)
        if (ids[r] == id)
            return true;
    return false;
}

/* Voters and preferred leaders per active node, over every eventlog. */
static size_t tally(const struct cluster_members *m, const struct eventbus_meta *const *buses,
                    size_t count, struct tally *t)
{
    size_t n = 0;

    for (size_t i = 0; i < m->count; i++)
        if (!m->nodes[i].leaving)
            t[n++] = (struct tally){.id = m->nodes[i].id};
    for (size_t b = 0; b < count; b++)
        for (uint32_t e = 0; e < buses[b]->eventlog_count; e++)
            for (uint32_t r = 0; r < buses[b]->replica_count; r++)
                for (size_t k = 0; k < n; k++)
                    if (t[k].id == buses[b]->replicas[e][r]) {
                        t[k].voters++;
                        t[k].leads += r == 0;
                    }
    return n;
}

/* "1 2 3" */
static void ids_text(const uint64_t *ids, uint32_t count, char *text, size_t size)
{
    size_t used = 0;

    text[0] = '\0';
    for (uint32_t r = 0; r < count && used < size; r++)
        used += (size_t)snprintf(text + used, size - used, "%s%llu", r ? " " : "",
                                 (unsigned long long)ids[r]);
}

static void propose_place(struct cluster *cluster, struct controller *c,
                          const struct eventbus_meta *bus, uint32_t e, const uint64_t *ids)
{
    char from[64], to[64];

    cluster->rebalancing =
        controller_place(c, bus->name, e, ids, bus->replica_count, on_done, cluster) == 0;
    if (!cluster->rebalancing)
        return;
    ids_text(bus->replicas[e], bus->replica_count, from, sizeof(from));
    ids_text(ids, bus->replica_count, to, sizeof(to));
    vane_log_info(component, "eventbus %s, eventlog %u: voters %s -> %s (the first leads)",
                  bus->name, e, from, to);
}

/* The active node holding the fewest voters, not among ids; 0: none. */
static uint64_t least_loaded(const struct tally *t, size_t n, const uint64_t *ids, uint32_t count)
{
    const struct tally *best = NULL;

    for (size_t k = 0; k < n; k++)
        if (!listed(ids, count, t[k].id) && (best == NULL || t[k].voters < best->voters))
            best = &t[k];
    return best != NULL ? best->id : 0;
}

/* Step 2: a voter on a node that is leaving or gone. */
static bool evacuate(struct cluster *cluster, struct controller *c,
                     const struct eventbus_meta *const *buses, size_t count, const struct tally *t,
                     size_t n)
{
    for (size_t b = 0; b < count; b++)
        for (uint32_t e = 0; e < buses[b]->eventlog_count; e++)
            for (uint32_t r = 0; r < buses[b]->replica_count; r++) {
                const struct cluster_node *node =
                    cluster_members_find(&cluster->members, buses[b]->replicas[e][r]);
                uint64_t ids[CONTROLLER_MAX_REPLICAS], to;

                if (node != NULL && !node->leaving)
                    continue;
                memcpy(ids, buses[b]->replicas[e], sizeof(ids));
                if ((to = least_loaded(t, n, ids, buses[b]->replica_count)) == 0)
                    continue;
                ids[r] = to;
                propose_place(cluster, c, buses[b], e, ids);
                return true;
            }
    return false;
}

/* What a node holds: preferred leads, or voters. */
static unsigned held(const struct tally *t, bool leads)
{
    return leads ? t->leads : t->voters;
}

/* The nodes holding the most and the fewest. */
static void extremes(const struct tally *t, size_t n, bool leads, const struct tally **most,
                     const struct tally **fewest)
{
    *most = *fewest = &t[0];
    for (size_t k = 1; k < n; k++) {
        if (held(&t[k], leads) > held(*most, leads))
            *most = &t[k];
        if (held(&t[k], leads) < held(*fewest, leads))
            *fewest = &t[k];
    }
}

/*
 * Steps 3 (leads false) and 4 (true): an eventlog whose voters (or first
 * voter) include the busiest node and could include the idlest instead.
 */
static bool even_out(struct cluster *cluster, struct controller *c,
                     const struct eventbus_meta *const *buses, size_t count, const struct tally *t,
                     size_t n, bool leads)
{
    const struct tally *most, *fewest;

    extremes(t, n, leads, &most, &fewest);
    if (held(most, leads) - held(fewest, leads) < 2)
        return false;
    for (size_t b = 0; b < count; b++)
        for (uint32_t e = 0; e < buses[b]->eventlog_count; e++) {
            const uint64_t *now = buses[b]->replicas[e];
            uint32_t rc = buses[b]->replica_count;
            uint64_t ids[CONTROLLER_MAX_REPLICAS];

            memcpy(ids, now, sizeof(ids));
            for (uint32_t r = 0; r < rc; r++) {
                if (!leads && now[r] == most->id && !listed(now, rc, fewest->id)) {
                    ids[r] = fewest->id;
                } else if (leads && r > 0 && now[0] == most->id && now[r] == fewest->id) {
                    ids[0] = fewest->id;
                    ids[r] = most->id;
                } else {
                    continue;
                }
                propose_place(cluster, c, buses[b], e, ids);
                return true;
            }
        }
    return false;
}

/* Whether some group, as this node's replicas know it, still has node as a voter. */
static bool still_votes(struct store *store, struct controller *c,
                        const struct eventbus_meta *const *buses, size_t count, uint64_t node)
{
    if (replica_member_role(controller_replica(c), node) == RAFT_VOTER)
        return true;
    for (size_t b = 0; b < count; b++) {
        const struct store_bus *sb = store_bus(store, buses[b]->name);

        for (uint32_t e = 0; e < buses[b]->eventlog_count; e++) {
            if (listed(buses[b]->replicas[e], buses[b]->replica_count, node))
                return true;
            if (sb == NULL || sb->logs[e] == NULL ||
                replica_member_role(eventlog_replica(sb->logs[e]), node) == RAFT_VOTER)
                return true;
        }
    }
    return false;
}

/* Step 5. */
static bool remove_departed(struct cluster *cluster, struct store *store, struct controller *c,
                            const struct eventbus_meta *const *buses, size_t count)
{
    for (size_t i = 0; i < cluster->members.count; i++) {
        uint64_t id = cluster->members.nodes[i].id;

        if (!cluster->members.nodes[i].leaving || still_votes(store, c, buses, count, id))
            continue;
        cluster->rebalancing = controller_remove_node(c, id, on_done, cluster) == 0;
        return true;
    }
    return false;
}

void rebalance_step(struct cluster *cluster, struct store *store)
{
    struct controller *c = store_controller(store);
    const struct eventbus_meta *const *buses;
    struct tally t[CLUSTER_MAX_NODES];
    size_t count, n;

    if (cluster->rebalancing)
        return;
    if (!controller_has_nodes(c)) {
        cluster->rebalancing = controller_seed_nodes(c, on_done, cluster) == 0;
        return;
    }
    buses = controller_list(c, &count);
    if ((n = tally(&cluster->members, buses, count, t)) == 0)
        return;
    if (evacuate(cluster, c, buses, count, t, n) ||
        even_out(cluster, c, buses, count, t, n, false) ||
        even_out(cluster, c, buses, count, t, n, true))
        return;
    remove_departed(cluster, store, c, buses, count);
}
