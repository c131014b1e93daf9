/*
 * test-cluster-catchup.c -- a follower far behind catches up by copying
 * the leader's records, not from raft's log.
 *
 * Three real vaned processes with store.snapshot_entries = 8: raft keeps
 * only 8 entries after each snapshot.  A follower of a one-eventlog bus is
 * killed; 300 more events are published one by one (300 raft entries, so
 * raft drops those the follower misses); the follower restarts, is sent
 * the leader's snapshot, and fetches the records in between from the
 * leader's segments.  It then reads the same 350 events as the leader,
 * densely and in the same order, and takes new ones.  Bounded in time.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "harness.h"
#include "harness_cluster.h"
#include "tap.h"

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static bool publish(const char *base, const char *id)
{
    char *header = vane_asprintf("ce-id: %s", id);
    const char *headers[] = {"ce-specversion: 1.0", header, "ce-source: /catchup",
                             "ce-type: com.example.t", "Content-Type: text/plain", NULL};
    long deadline = now_ms() + harness_ms(10000), status;

    do /* 503 while a leader is elected: as a client, try again */
        json_decref(api_call_with(base, "POST", "/gateway/one", headers, id, &status));
    while (status == 503 && now_ms() < deadline && usleep(20000) == 0);
    vane_free(header);
    return status == 200;
}

/* The ids of eventlog 0 of "one" as node i reads them, in offset order, joined by spaces;
 * NULL when a read fails or an offset is missing. */
static char *read_ids(const struct vcluster *c, size_t i, long *count)
{
    struct vane_buf ids = VANE_BUF_INIT;
    long offset = 0;

    for (;;) {
        char *path = vane_asprintf("/api/v1/eventbuses/one/events?eventlog=0&offset=%ld&limit=1000",
                                   offset);
        long status;
        json_t *body = api_call_with(c->node[i].url, "GET", path, NULL, NULL, &status), *e;
        size_t k, n = json_array_size(json_object_get(body, "events"));

        vane_free(path);
        json_array_foreach(json_object_get(body, "events"), k, e) {
            if (json_integer_value(json_object_get(e, "offset")) != offset)
                status = 0;
            vane_buf_appendf(&ids, "%s ", json_string_value(json_object_get(
                                              json_object_get(e, "event"), "id")));
            offset++;
        }
        json_decref(body);
        if (status != 200) {
            vane_buf_free(&ids);
            return NULL;
        }
        if (n == 0)
            break;
    }
    *count = offset;
    return vane_buf_detach(&ids);
}

/* Waits until node i reads want events; returns its ids (NULL on timeout). */
static char *wait_ids(const struct vcluster *c, size_t i, long want, int timeout_ms)
{
    long deadline = now_ms() + harness_ms(timeout_ms), count = 0;
    char *ids = NULL;

    do {
        vane_free(ids);
        ids = read_ids(c, i, &count);
        if (ids != NULL && count >= want)
            return ids;
        usleep(100000);
    } while (now_ms() < deadline);
    tap_diag("node %zu reads %ld of %ld events", i + 1, count, want);
    vane_free(ids);
    return NULL;
}

int main(void)
{
    struct vcluster c;
    long status;
    int leader;
    size_t follower;
    bool all = true;
    char id[32], *leader_ids, *follower_ids, *log;

    if (vcluster_start(&c, 3, "  store = { snapshot_entries = 8 },") != 0) {
        ok(false, "three nodes with snapshot_entries = 8 start");
        vcluster_cleanup(&c);
        return tap_done();
    }
    json_decref(api_call(c.node[0].url, "POST", "/api/v1/eventbuses",
                         "{\"name\": \"one\", \"eventlog_count\": 1}", &status));
    ok(status == 201, "an eventbus of one eventlog is created");
    leader = vcluster_eventlog_leader(&c, 0, "one", 0, 10000);
    ok(leader >= 0, "its eventlog has a leader");
    if (leader < 0)
        goto out;
    follower = ((size_t)leader + 1) % 3;
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "before-%d", i);
        all = all && publish(c.node[leader].url, id);
    }
    ok(all, "50 events published");
    vcluster_kill(&c, follower);
    for (int i = 0; i < 300 && all; i++) {
        snprintf(id, sizeof(id), "missed-%d", i);
        all = publish(c.node[leader].url, id);
    }
    ok(all, "300 more published one by one while node %zu is down", follower + 1);
    ok(vcluster_restart(&c, follower) == 0, "node %zu restarts", follower + 1);
    leader_ids = wait_ids(&c, (size_t)leader, 350, 10000);
    follower_ids = wait_ids(&c, follower, 350, 30000);
    ok(leader_ids != NULL && follower_ids != NULL && strcmp(leader_ids, follower_ids) == 0,
       "the restarted node reads the same 350 events as the leader, densely and in order");
    log = vaned_log(&c.node[follower]);
    contains(log ? log : "", "fetching the records in between from the leader",
             "it caught up by fetching records (raft had dropped the entries)");
    vane_free(log);
    snprintf(id, sizeof(id), "after");
    ok(publish(c.node[follower].url, id), "it takes publishes again");
    vane_free(leader_ids);
    vane_free(follower_ids);
    follower_ids = wait_ids(&c, follower, 351, 10000);
    ok(follower_ids != NULL, "and applies what follows");
    vane_free(follower_ids);
out:
    vcluster_cleanup(&c);
    return tap_done();
}
