/*
 * test-cluster-four.c -- more nodes than replicas: four real vaned
 * processes, replicas 3.  An eventlog's group has three voters, placed by
 * the controller, and the fourth node as a standby that follows the log:
 * every node takes publishes for it (the standby forwards them) and reads
 * it from its own copy.  Killing the eventlog's leader (a voter) leaves two
 * voters of three, a majority: publishing goes on through every survivor,
 * and every acknowledged event is read back from each, densely and once.
 * Bounded in time.
 */
#include <string.h>

#include "harness.h"
#include "harness_cluster.h"
#include "tap.h"

#define NODES 4

static bool lists(const json_t *group, const char *key, size_t want)
{
    return json_array_size(json_object_get(group, key)) == want;
}

int main(void)
{
    struct vcluster c;
    struct vcluster_publisher p = {.bus = "one", .prefix = "four"};
    json_t *group;
    int leader;
    size_t standby = NODES;

    if (vcluster_start(&c, NODES, NULL) != 0) {
        ok(false, "four nodes start and become ready");
        vcluster_cleanup(&c);
        return tap_done();
    }
    ok(vcluster_create_bus(&c, 0, "one", 1) == 201, "an eventbus of one eventlog is created");
    leader = vcluster_eventlog_leader(&c, 0, "one", 0, 10000);
    ok(leader >= 0, "its eventlog has a leader: node %d", leader + 1);
    group = vcluster_group(&c, 0, "one", 0);
    ok(lists(group, "voters", 3) && lists(group, "standbys", 1),
       "its group has three voters and one standby");
    if (json_array_size(json_object_get(group, "standbys")) == 1)
        standby = (size_t)json_integer_value(
                      json_array_get(json_object_get(group, "standbys"), 0)) - 1;
    json_decref(group);
    if (leader < 0 || standby >= NODES)
        goto out;
    ok(vcluster_publish_round(&c, &p, vcluster_every_node(&c), 100, 20000) == 100,
       "100 events published round the four nodes, the standby (node %zu) too", standby + 1);
    ok(vcluster_logs_agree(&c, "one", 0, &p.acked, 10000, NULL),
       "every node, the standby too, reads them all, densely and once");
    vcluster_kill(&c, (size_t)leader);
    ok(vcluster_publish_round(&c, &p, vcluster_all_but(&c, (size_t)leader), 100, 20000) == 100,
       "the leader (node %d) killed, 100 more published round the three others", leader + 1);
    ok(vcluster_logs_agree(&c, "one", 0, &p.acked, 10000, NULL),
       "every survivor reads all 200, densely and once");
out:
    vcluster_ids_free(&p.acked);
    vcluster_cleanup(&c);
    return tap_done();
}
