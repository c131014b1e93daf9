/*
 * test-cluster-damage.c -- a damaged eventlog hands the lead on, and the
 * damaged node is replaced as any node is.  Four real vaned processes,
 * replicas 3 (three voters of the eventlog and a standby); on the node that
 * leads an eventlog, a byte of the first stored event is flipped in its
 * segment file (as bit rot would), and a read there finds it.  That node
 * serves nothing from the damage on and hands the lead of the group to
 * another voter; publishing goes on through the others, whose copies hold
 * every acknowledged event.  (Before, the damaged leader went on leading and
 * answered every publish with an error, though the others stored it.)
 * Then the damaged node is made to leave (DELETE /api/v1/cluster/nodes/{id},
 * doc/cluster.md): its voter role moves to the standby, every group and the
 * node list drop it, and the three others still hold every acknowledged
 * event and take new ones.
 * The first events are large so that they are read from the file, not from
 * the newest events the eventlog keeps in memory (4 MiB).  Bounded in time.
 */
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "core/alloc.h"
#include "harness.h"
#include "harness_cluster.h"
#include "tap.h"

#define NODES 4
#define BIG_SIZE (100 * 1024)
#define BIG_EVENTS 60 /* 6 MB: past what the eventlog keeps in memory */
#define SMALL_EVENTS 40
#define SMALL_EVERY_MS 200
#define STABLE_MS 5000 /* more than the 3 s after which a leader hands on to the one placed */
#define SETTLE_TIMEOUT_MS 30000
#define LEAVE_TIMEOUT_MS 60000
#define AFTER_LEAVE 10

static long publish_big(const struct vcluster *c, size_t i, int n, const char *data)
{
    char *id = vane_asprintf("ce-id: big-%d", n);
    const char *headers[] = {"ce-specversion: 1.0", id, "ce-source: /damage-test",
                             "ce-type: com.example.big", "Content-Type: application/octet-stream",
                             NULL};
    long status;

    json_decref(vcluster_api(c, i, "POST", "/gateway/damaged", headers, data, &status));
    vane_free(id);
    return status;
}

/* Flips a byte inside the first event's data in node i's first segment of
 * the eventlog (the largest of the node's first segments: the others hold
 * no events of 100 KiB). */
static bool flip_first_event(const struct vcluster *c, size_t i)
{
    char *pattern = vane_asprintf("%s/eventlogs/*/00000000000000000000.log", c->data[i]);
    const char *path = NULL;
    off_t largest = 0;
    bool done = false;
    glob_t g;

    if (glob(pattern, 0, NULL, &g) == 0)
        for (size_t k = 0; k < g.gl_pathc; k++) {
            struct stat st;

            if (stat(g.gl_pathv[k], &st) == 0 && st.st_size > largest)
                largest = st.st_size, path = g.gl_pathv[k];
        }
    if (path != NULL && largest > BIG_SIZE) {
        int fd = open(path, O_RDWR);
        uint8_t byte;

        if (fd >= 0 && pread(fd, &byte, 1, 4096) == 1) {
            byte ^= 0x40;
            done = pwrite(fd, &byte, 1, 4096) == 1;
        }
        if (fd >= 0)
            close(fd);
    }
    globfree(&g);
    vane_free(pattern);
    return done;
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000;
}

/* The node seen leading the eventlog for STABLE_MS on end, or -1. */
static int settled_leader(const struct vcluster *c)
{
    int last = -1;
    uint64_t since = 0, start = now_ms();

    while (now_ms() - start < (uint64_t)harness_ms(SETTLE_TIMEOUT_MS)) {
        int now = vcluster_eventlog_leader(c, 0, "damaged", 0, 2000);

        if (now != last)
            last = now, since = now_ms();
        else if (now >= 0 && now_ms() - since >= STABLE_MS)
            return now;
        usleep(250 * 1000);
    }
    return -1;
}

/* Whether every node but skip holds the BIG_EVENTS, then the acknowledged
 * ids in order, and nothing else. */
static void others_hold(const struct vcluster *c, size_t skip, const struct vcluster_ids *acked,
                        const char *when)
{
    struct vcluster_ids log = {0};

    for (size_t k = 0; k < NODES; k++) {
        bool all;

        if (k == skip)
            continue;
        all = vcluster_read_log(c, k, "damaged", 0, &log) == 0 &&
              log.count == BIG_EVENTS + acked->count;
        for (size_t i = 0; all && i < acked->count; i++)
            all = strcmp(log.ids[BIG_EVENTS + i], acked->ids[i]) == 0;
        ok(all, "%s: node %zu holds every acknowledged event, densely and once (%zu in the log)",
           when, k + 1, log.count);
        vcluster_ids_free(&log);
    }
}

/* Publishes n events named prefix-i round the nodes but skip, every SMALL_EVERY_MS; the
 * acknowledged ones go to acked.  Returns how many were. */
static size_t publish_round(const struct vcluster *c, size_t skip, const char *prefix, int n,
                            struct vcluster_ids *acked)
{
    size_t count = 0;

    for (int i = 0; i < n; i++) {
        size_t via = ((size_t)i % (NODES - 1) + skip + 1) % NODES;
        char id[32];

        snprintf(id, sizeof(id), "%s-%d", prefix, i);
        if (vcluster_publish(c, via, "damaged", id) == 200) {
            vcluster_ids_add(acked, id);
            count++;
        }
        usleep(SMALL_EVERY_MS * 1000);
    }
    return count;
}

/* The damage and the hand-over; returns the damaged node, or -1 (acked: what was published
 * after the big events). */
static int test_damage_hands_lead_on(struct vcluster *c, struct vcluster_ids *acked)
{
    char *big = vane_malloc(BIG_SIZE + 1);
    size_t sent = 0;
    json_t *answer;
    long status;
    int leader, next = -1;

    memset(big, 'd', BIG_SIZE);
    big[BIG_SIZE] = '\0';
    ok(vcluster_create_bus(c, 0, "damaged", 1) == 201, "an eventbus of one eventlog is created");
    leader = vcluster_eventlog_leader(c, 0, "damaged", 0, 10000);
    if (!ok(leader >= 0, "its eventlog has a leader: node %d", leader + 1))
        goto out;
    for (int i = 0; i < BIG_EVENTS; i++)
        sent += publish_big(c, (size_t)leader, i, big) == 200;
    is_int(sent, BIG_EVENTS, "%d events of 100 KiB acknowledged", BIG_EVENTS);
    /* The damage goes to the node the group's lead settles on: the one
     * placed to lead, which a leader hands the lead to after 3 s. */
    leader = settled_leader(c);
    if (!ok(leader >= 0, "the lead settles on node %d", leader + 1))
        goto out;
    ok(flip_first_event(c, (size_t)leader), "a byte of the first event is flipped on node %d",
       leader + 1);
    answer = vcluster_api(c, (size_t)leader, "GET",
                          "/api/v1/eventbuses/damaged/events?eventlog=0&offset=0&limit=1", NULL,
                          NULL, &status);
    ok(status == 200 && json_array_size(json_object_get(answer, "events")) == 0,
       "a read of it there serves nothing from the damage on (%ld)", status);
    json_decref(answer);
    next = vcluster_next_leader(c, ((size_t)leader + 1) % NODES, "damaged", 0, (size_t)leader,
                                15000);
    ok(next >= 0 && next != leader, "the damaged node hands the lead on: node %d leads", next + 1);
    /* Over some seconds, past the leader's hand-back to the node placed to
     * lead (which hands the lead on again when that node is the damaged
     * one): every publish through the others is answered. */
    is_int(publish_round(c, (size_t)leader, "after", SMALL_EVENTS, acked), SMALL_EVENTS,
           "publishing goes on through the others for %d s", SMALL_EVENTS * SMALL_EVERY_MS / 1000);
    others_hold(c, (size_t)leader, acked, "after the hand-over");
out:
    vane_free(big);
    return next >= 0 && next != leader ? leader : -1;
}

/* Whether no node but damaged lists it any more. */
static bool forgotten(const struct vcluster *c, size_t damaged)
{
    for (size_t i = 0; i < NODES; i++)
        if (i != damaged && vcluster_knows(c, i, (json_int_t)damaged + 1))
            return false;
    return true;
}

/* The damaged node leaves as any node does; the others keep everything. */
static void test_damaged_node_leaves(struct vcluster *c, size_t damaged, struct vcluster_ids *acked)
{
    char *path = vane_asprintf("/api/v1/cluster/nodes/%zu", damaged + 1);
    uint64_t deadline = now_ms() + (uint64_t)harness_ms(LEAVE_TIMEOUT_MS);
    size_t via = (damaged + 1) % NODES;
    bool gone = false;
    json_t *group;
    long status;

    json_decref(vcluster_api(c, via, "DELETE", path, NULL, NULL, &status));
    is_int(status, 202, "the damaged node %zu is asked to leave, through node %zu", damaged + 1,
           via + 1);
    while (!(gone = forgotten(c, damaged)) && now_ms() < deadline)
        usleep(500 * 1000);
    ok(gone, "its voter role moves on, and every group and the node list drop it");
    group = vcluster_group(c, via, "damaged", 0);
    is_int(json_array_size(json_object_get(group, "voters")), 3,
           "the eventlog has three voters still, all of them undamaged");
    json_decref(group);
    vcluster_kill(c, damaged);
    is_int(publish_round(c, damaged, "left", AFTER_LEAVE, acked), AFTER_LEAVE,
           "the three others take %d events more", AFTER_LEAVE);
    others_hold(c, damaged, acked, "after the leave");
    vane_free(path);
}

int main(void)
{
    struct vcluster_ids acked = {0};
    struct vcluster c;
    int damaged;

    if (!vcluster_start_ok(&c, NODES, NULL))
        return tap_done();
    if ((damaged = test_damage_hands_lead_on(&c, &acked)) >= 0)
        test_damaged_node_leaves(&c, (size_t)damaged, &acked);
    vcluster_ids_free(&acked);
    vcluster_cleanup(&c);
    return tap_done();
}
