/*
 * test-cluster.c -- three real vaned processes on loopback as one cluster.
 *
 * Metadata made on any node is seen by all; an eventbus's eventlogs get a
 * replica on every node; publishes on any node are stored once (a node that
 * follows forwards them to the leader); every node reads the same events.
 * Then, while a publisher keeps publishing to the survivors, the leader of
 * an eventlog is killed with SIGKILL: a new leader takes over, and every
 * acknowledged event is readable from both survivors, densely (offsets 0..n-1)
 * and once.  The killed node restarts and catches up.  Bounded in time: each
 * wait has a deadline (scaled by VANE_TEST_TIME_SCALE).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "harness.h"
#include "harness_cluster.h"
#include "tap.h"

#define NODES 3
#define MAX_ACKED 4000

struct acked {
    char *ids[MAX_ACKED];
    size_t count;
};

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Publishes one event to node; its answer's status (quiet on refusal). */
static long publish_status(const char *base, const char *bus, const char *id)
{
    char *path = vane_asprintf("/gateway/%s", bus);
    char *id_header = vane_asprintf("ce-id: %s", id);
    const char *headers[] = {"ce-specversion: 1.0", id_header, "ce-source: /cluster-test",
                             "ce-type: com.example.t", "Content-Type: text/plain", NULL};
    long status;

    json_decref(api_call_with(base, "POST", path, headers, id, &status));
    vane_free(path);
    vane_free(id_header);
    return status;
}

static bool publish_quiet(const char *base, const char *bus, const char *id)
{
    return publish_status(base, bus, id) == 200;
}

/* As a client does: 503 (a node still opening the eventbus's eventlogs, a
 * leader being elected) is tried again, for up to 10 s. */
static bool publish_retrying(const char *base, const char *bus, const char *id)
{
    long deadline = now_ms() + harness_ms(10000), status;

    while ((status = publish_status(base, bus, id)) == 503 && now_ms() < deadline)
        usleep(20000);
    if (status != 200)
        tap_diag("publishing %s to %s: %ld", id, base, status);
    return status == 200;
}

/*
 * Every event of eventlog index of bus as node i reads it, in offset order:
 * their ids into *ids (count returned), or -1 when a read fails or an
 * offset is missing (not dense).
 */
static long read_all(const struct vcluster *c, size_t i, const char *bus, int index,
                     char ***ids)
{
    long count = 0, offset = 0;

    *ids = NULL;
    for (;;) {
        char *path = vane_asprintf("/api/v1/eventbuses/%s/events?eventlog=%d&offset=%ld&limit=1000",
                                   bus, index, offset);
        long status;
        json_t *body = api_call_with(c->node[i].url, "GET", path, NULL, NULL, &status), *e;
        size_t k, n = json_array_size(json_object_get(body, "events"));

        vane_free(path);
        if (status != 200) {
            json_decref(body);
            return -1;
        }
        *ids = vane_realloc(*ids, (size_t)(count + (long)n + 1) * sizeof(char *));
        json_array_foreach(json_object_get(body, "events"), k, e) {
            if (json_integer_value(json_object_get(e, "offset")) != offset) {
                tap_diag("node %zu, eventlog %d: offset %lld where %ld was expected", i + 1,
                         index, json_integer_value(json_object_get(e, "offset")), offset);
                json_decref(body);
                return -1;
            }
            (*ids)[count++] = vane_strdup(json_string_value(
                json_object_get(json_object_get(e, "event"), "id")));
            offset++;
        }
        json_decref(body);
        if (n == 0)
            return count;
    }
}

static void free_ids(char **ids, long count)
{
    for (long i = 0; i < count; i++)
        vane_free(ids[i]);
    vane_free(ids);
}

/* Whether every acknowledged id is among ids exactly once, and ids holds nothing else twice. */
static bool each_once(char **ids, long count, const struct acked *acked)
{
    bool good = true;

    for (size_t a = 0; a < acked->count && good; a++) {
        int seen = 0;

        for (long k = 0; k < count; k++)
            seen += strcmp(ids[k], acked->ids[a]) == 0;
        if (seen != 1) {
            tap_diag("acknowledged event %s is there %d times", acked->ids[a], seen);
            good = false;
        }
    }
    return good;
}

/* Waits until node i holds at least want events in eventlog 0 of bus; returns what it holds. */
static long wait_events(const struct vcluster *c, size_t i, const char *bus, long want,
                        int timeout_ms)
{
    long deadline = now_ms() + harness_ms(timeout_ms), count = -1;

    do {
        char **ids;

        count = read_all(c, i, bus, 0, &ids);
        free_ids(ids, count > 0 ? count : 0);
        if (count >= want)
            break;
        usleep(50000);
    } while (now_ms() < deadline);
    return count;
}

static void test_metadata_and_publish(struct vcluster *c)
{
    long status;
    json_t *body;
    bool all = true;

    body = api_call(c->node[1].url, "POST", "/api/v1/eventbuses",
                    "{\"name\": \"orders\", \"eventlog_count\": 3}", &status);
    ok(status == 200 || status == 201, "an eventbus is created through node 2 (%ld)", status);
    json_decref(body);
    for (size_t i = 0; i < NODES; i++) {
        body = api_call(c->node[i].url, "GET", "/api/v1/eventbuses/orders", NULL, &status);
        all = all && status == 200;
        json_decref(body);
    }
    ok(all, "every node knows the eventbus");
    for (int i = 0; i < 90; i++) {
        char id[32];

        snprintf(id, sizeof(id), "spread-%d", i);
        all = all && publish_retrying(c->node[i % NODES].url, "orders", id);
    }
    if (!ok(all, "90 events published round the three nodes are all acknowledged"))
        vcluster_diag_logs(c);
    for (size_t i = 0; i < NODES; i++) {
        long total = 0, deadline = now_ms() + harness_ms(5000);

        do { /* a follower applies what it learns is committed with the next heartbeat */
            total = 0;
            for (int log = 0; log < 3; log++) {
                char **ids;
                long n = read_all(c, i, "orders", log, &ids);

                total += n > 0 ? n : 0;
                free_ids(ids, n > 0 ? n : 0);
            }
        } while (total < 90 && now_ms() < deadline && usleep(50000) == 0);
        ok(total == 90, "node %zu reads the 90 events over the 3 eventlogs (%ld)", i + 1, total);
    }
}

/* Publishes to the survivors until count acknowledged or the deadline; notes the first
 * success after the kill. */
static void publish_through(struct vcluster *c, size_t dead, struct acked *acked, int count,
                            long *first_after_ms, long killed_at)
{
    long deadline = now_ms() + harness_ms(20000);
    int n = 0;

    while (n < count && now_ms() < deadline && acked->count < MAX_ACKED) {
        char id[32];
        size_t node = (size_t)n % NODES == dead ? ((size_t)n + 1) % NODES : (size_t)n % NODES;

        snprintf(id, sizeof(id), "fail-%zu", acked->count);
        if (publish_quiet(c->node[node].url, "one", id)) {
            acked->ids[acked->count++] = vane_strdup(id);
            if (*first_after_ms < 0 && killed_at > 0)
                *first_after_ms = now_ms() - killed_at;
            n++;
        } else {
            usleep(20000);
        }
    }
}

static void test_failover(struct vcluster *c)
{
    struct acked acked = {.count = 0};
    long status, first_after = -1, killed_at;
    int leader;
    size_t a, b;
    char **ids_a, **ids_b;
    long n_a, n_b;

    json_decref(api_call(c->node[0].url, "POST", "/api/v1/eventbuses",
                         "{\"name\": \"one\", \"eventlog_count\": 1}", &status));
    ok(status == 200 || status == 201, "an eventbus of one eventlog is created");
    leader = vcluster_eventlog_leader(c, 0, "one", 0, 10000);
    ok(leader >= 0, "its eventlog has a leader: node %d", leader + 1);
    if (leader < 0)
        return;
    publish_through(c, (size_t)leader, &acked, 200, &first_after, 0);
    ok(acked.count == 200, "200 events acknowledged before the kill");
    killed_at = now_ms();
    vcluster_kill(c, (size_t)leader);
    publish_through(c, (size_t)leader, &acked, 200, &first_after, killed_at);
    ok(acked.count == 400, "200 more acknowledged by the survivors after it (%zu in all)",
       acked.count);
    tap_diag("first publish acknowledged %ld ms after the leader was killed", first_after);
    a = ((size_t)leader + 1) % NODES;
    b = ((size_t)leader + 2) % NODES;
    ok(wait_events(c, a, "one", (long)acked.count, 10000) >= (long)acked.count &&
           wait_events(c, b, "one", (long)acked.count, 10000) >= (long)acked.count,
       "both survivors hold at least the acknowledged events");
    n_a = read_all(c, a, "one", 0, &ids_a);
    n_b = read_all(c, b, "one", 0, &ids_b);
    ok(n_a >= 0 && n_a == n_b, "the survivors read the same dense log (%ld and %ld events)", n_a,
       n_b);
    ok(n_a >= 0 && each_once(ids_a, n_a, &acked), "node %zu holds every acknowledged event once",
       a + 1);
    ok(n_b >= 0 && each_once(ids_b, n_b, &acked), "node %zu holds every acknowledged event once",
       b + 1);
    ok(vcluster_restart(c, (size_t)leader) == 0, "the killed node restarts");
    ok(wait_events(c, (size_t)leader, "one", n_a, 20000) == n_a,
       "the restarted node catches up to the %ld events", n_a);
    free_ids(ids_a, n_a > 0 ? n_a : 0);
    free_ids(ids_b, n_b > 0 ? n_b : 0);
    for (size_t i = 0; i < acked.count; i++)
        vane_free(acked.ids[i]);
}

int main(void)
{
    struct vcluster c;

    if (vcluster_start(&c, NODES, NULL) != 0) {
        ok(false, "three nodes start and become ready");
        vcluster_cleanup(&c);
        return tap_done();
    }
    ok(true, "three nodes start and become ready");
    test_metadata_and_publish(&c);
    test_failover(&c);
    vcluster_cleanup(&c);
    return tap_done();
}
