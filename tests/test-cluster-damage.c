/*
 * test-cluster-damage.c -- a damaged eventlog hands the lead on.  Three real
 * vaned processes; on the node that leads an eventlog, a byte of the first
 * stored event is flipped in its segment file (as bit rot would), and a read
 * there finds it.  That node serves nothing from the damage on and hands the
 * lead of the group to another voter; publishing goes on through the two
 * others, whose copies hold every acknowledged event.  (Before, the damaged
 * leader went on leading and answered every publish with an error, though
 * the others stored it.)
 * The first events are large so that they are read from the file, not from
 * the newest events the eventlog keeps in memory (4 MiB).  Bounded in time.
 */
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "core/alloc.h"
#include "harness.h"
#include "harness_cluster.h"
#include "tap.h"

#define NODES 3
#define BIG_SIZE (100 * 1024)
#define BIG_EVENTS 60 /* 6 MB: past what the eventlog keeps in memory */
#define SMALL_EVENTS 40
#define SMALL_EVERY_MS 200
#define STABLE_MS 5000 /* more than the 3 s after which a leader hands on to the one placed */
#define SETTLE_TIMEOUT_MS 30000

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

static void test_damage_hands_lead_on(struct vcluster *c)
{
    char *big = vane_malloc(BIG_SIZE + 1);
    struct vcluster_ids acked = {0}, log = {0};
    size_t sent = 0, healthy[2], n = 0;
    json_t *answer;
    long status;
    int leader, next;

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
    for (size_t i = 0; i < NODES; i++)
        if ((int)i != leader)
            healthy[n++] = i;
    ok(flip_first_event(c, (size_t)leader), "a byte of the first event is flipped on node %d",
       leader + 1);
    answer = vcluster_api(c, (size_t)leader, "GET",
                          "/api/v1/eventbuses/damaged/events?eventlog=0&offset=0&limit=1", NULL,
                          NULL, &status);
    ok(status == 200 && json_array_size(json_object_get(answer, "events")) == 0,
       "a read of it there serves nothing from the damage on (%ld)", status);
    json_decref(answer);
    next = vcluster_next_leader(c, healthy[0], "damaged", 0, (size_t)leader, 15000);
    ok(next >= 0 && next != leader, "the damaged node hands the lead on: node %d leads", next + 1);
    /* Over some seconds, past the leader's hand-back to the node placed to
     * lead (which hands the lead on again when that node is the damaged
     * one): every publish through the others is answered. */
    for (int i = 0; i < SMALL_EVENTS; i++) {
        char id[32];

        snprintf(id, sizeof(id), "after-%d", i);
        if (vcluster_publish(c, healthy[i % 2], "damaged", id) == 200)
            vcluster_ids_add(&acked, id);
        usleep(SMALL_EVERY_MS * 1000);
    }
    is_int(acked.count, SMALL_EVENTS, "publishing goes on through the two others for %d s",
           SMALL_EVENTS * SMALL_EVERY_MS / 1000);
    for (size_t k = 0; k < 2; k++) {
        bool all = vcluster_read_log(c, healthy[k], "damaged", 0, &log) == 0 &&
                   log.count == BIG_EVENTS + SMALL_EVENTS;

        for (size_t i = 0; all && i < acked.count; i++)
            all = strcmp(log.ids[BIG_EVENTS + i], acked.ids[i]) == 0;
        ok(all, "node %zu holds every acknowledged event, densely and once (%zu in the log)",
           healthy[k] + 1, log.count);
    }
out:
    vcluster_ids_free(&acked);
    vcluster_ids_free(&log);
    vane_free(big);
}

int main(void)
{
    struct vcluster c;

    if (!vcluster_start_ok(&c, NODES, NULL))
        return tap_done();
    test_damage_hands_lead_on(&c);
    vcluster_cleanup(&c);
    return tap_done();
}
