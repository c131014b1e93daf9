/*
 * harness_cluster.c -- vaned clusters for the tests (see harness_cluster.h).
 *
 * On loopback each node gets free ports; in network namespaces every node
 * has an address of its own, so the same ports serve them all.  Every call
 * to a node goes through vcluster_api(), which enters the node's namespace
 * around it (a no-op on loopback).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "harness_cluster.h"
#include "tap.h"

/* The ports of every node in its own namespace. */
#define NETNS_HTTP_PORT 8080
#define NETNS_PEER_PORT 9100

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A port nobody listens on now (the kernel's pick for a socket bound to port 0). */
static int unused_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* An unused port that no node of c was given yet: the kernel may hand a
 * port just closed out again, and two nodes on one port do not start. */
static int free_port(const struct vcluster *c)
{
    int port = -1;

    for (int tries = 0; tries < 100; tries++) {
        bool taken = false;

        port = unused_port();
        for (size_t i = 0; i < VCLUSTER_MAX && port > 0; i++)
            taken = taken || c->http_port[i] == port || c->peer_port[i] == port;
        if (!taken)
            break;
    }
    return port;
}

/* ---- starting and stopping nodes ------------------------------------------ */

/* Node self's config: every node listed, or (joining) only itself, with cluster.join on. */
static char *config_text(const struct vcluster *c, size_t self, const char *extra, bool joining)
{
    struct vane_buf b = VANE_BUF_INIT;

    vane_buf_appendf(&b, "return {\n  cluster = {\n    node_id = %zu,%s\n    nodes = {\n",
                     self + 1, joining ? " join = \"on\"," : "");
    for (size_t i = joining ? self : 0; i < (joining ? self + 1 : c->count); i++)
        vane_buf_appendf(&b, "      { id = %zu, http = \"%s:%d\", peer = \"%s:%d\" },\n", i + 1,
                         c->host[i], c->http_port[i], c->host[i], c->peer_port[i]);
    vane_buf_appendf(&b, "    },\n  },\n");
    if (c->net != NULL) /* auth.admin auto wants a token on any but a loopback listener */
        vane_buf_appendf(&b, "  auth = { admin = \"none\" },\n");
    vane_buf_appendf(&b, "%s\n}\n", extra ? extra : "");
    return vane_buf_detach(&b);
}

/* Enters node i's namespace, if it has one; 0 or -1. */
static int enter(const struct vcluster *c, size_t i)
{
    return c->net != NULL ? netns_enter(c->net, i) : 0;
}

static void leave(const struct vcluster *c)
{
    if (c->net != NULL)
        netns_leave(c->net);
}

static int spawn_node(struct vcluster *c, size_t i)
{
    char listen[64];
    const char *args[] = {"--config", c->config[i], "--data-dir", c->data[i], "--listen", listen,
                          NULL};
    int rc;

    snprintf(listen, sizeof(listen), "%s:%d", c->host[i], c->http_port[i]);
    if (enter(c, i) != 0)
        return -1;
    rc = vaned_spawn(&c->node[i], args); /* the child stays in the namespace */
    leave(c);
    if (rc != 0)
        return -1;
    c->running[i] = true;
    c->paused[i] = false;
    return 0;
}

/* Writes node i's config and starts it. */
static int write_and_spawn(struct vcluster *c, size_t i, const char *extra, bool joining)
{
    char name[32], *text = config_text(c, i, extra, joining);

    snprintf(name, sizeof(name), "node%zu.lua", i + 1);
    c->config[i] = harness_write_file(c->root, name, text);
    c->data[i] = vane_asprintf("%s/data%zu", c->root, i + 1);
    vane_free(text);
    return spawn_node(c, i);
}

/* Writes every node's config and starts them all; the addresses and ports are set. */
static int launch(struct vcluster *c, const char *extra)
{
    c->root = harness_tempdir();
    for (size_t i = 0; i < c->count; i++)
        if (write_and_spawn(c, i, extra, false) != 0)
            return -1;
    for (size_t i = 0; i < c->count; i++)
        if (vaned_wait_ready(&c->node[i], 30000) != 0)
            return -1;
    return 0;
}

int vcluster_start(struct vcluster *c, size_t count, const char *extra)
{
    memset(c, 0, sizeof(*c));
    c->count = count < VCLUSTER_MAX ? count : VCLUSTER_MAX;
    for (size_t i = 0; i < c->count; i++) {
        snprintf(c->host[i], sizeof(c->host[i]), "127.0.0.1");
        c->http_port[i] = free_port(c);
        c->peer_port[i] = free_port(c);
    }
    return launch(c, extra);
}

bool vcluster_start_ok(struct vcluster *c, size_t count, const char *extra)
{
    static const char *const numbers[] = {"no", "one", "two", "three", "four", "five"};
    bool started = vcluster_start(c, count, extra) == 0;

    ok(started, "%s nodes start and become ready", count <= VCLUSTER_MAX ? numbers[count] : "the");
    if (!started)
        vcluster_cleanup(c);
    return started;
}

int vcluster_start_netns(struct vcluster *c, size_t count, const char *extra)
{
    memset(c, 0, sizeof(*c));
    c->count = count < VCLUSTER_MAX ? count : VCLUSTER_MAX;
    c->net = VANE_NEW(c->net);
    if (netns_create(c->net, c->count) != 0) {
        vane_free(c->net);
        c->net = NULL;
        return -1;
    }
    for (size_t i = 0; i < c->count; i++) {
        snprintf(c->host[i], sizeof(c->host[i]), "%s", c->net->address[i]);
        c->http_port[i] = NETNS_HTTP_PORT;
        c->peer_port[i] = NETNS_PEER_PORT;
    }
    return launch(c, extra);
}

int vcluster_add_node(struct vcluster *c, const char *extra)
{
    size_t i = c->count;

    if (i >= VCLUSTER_MAX || c->net != NULL)
        return -1;
    snprintf(c->host[i], sizeof(c->host[i]), "127.0.0.1");
    c->http_port[i] = free_port(c);
    c->peer_port[i] = free_port(c);
    c->count++;
    return write_and_spawn(c, i, extra, true);
}

void vcluster_kill(struct vcluster *c, size_t i)
{
    if (!c->running[i])
        return;
    kill(c->node[i].pid, SIGKILL);
    vaned_wait(&c->node[i], 10000);
    vaned_cleanup(&c->node[i]);
    c->running[i] = false;
    c->paused[i] = false;
}

int vcluster_restart(struct vcluster *c, size_t i)
{
    vcluster_kill(c, i);
    if (spawn_node(c, i) != 0)
        return -1;
    return vaned_wait_ready(&c->node[i], 30000);
}

void vcluster_pause(struct vcluster *c, size_t i)
{
    if (c->running[i] && kill(c->node[i].pid, SIGSTOP) == 0)
        c->paused[i] = true;
}

void vcluster_resume(struct vcluster *c, size_t i)
{
    if (c->running[i] && kill(c->node[i].pid, SIGCONT) == 0)
        c->paused[i] = false;
}

int vcluster_cut(struct vcluster *c, size_t i)
{
    return c->net != NULL ? netns_cut(c->net, i) : -1;
}

int vcluster_heal(struct vcluster *c, size_t i)
{
    return c->net != NULL ? netns_heal(c->net, i) : -1;
}

/* ---- asking nodes ---------------------------------------------------------- */

json_t *vcluster_api(const struct vcluster *c, size_t i, const char *method, const char *path,
                     const char *const *headers, const char *body, long *status)
{
    json_t *answer;

    *status = 0;
    if (!c->running[i] || c->paused[i] || enter(c, i) != 0)
        return NULL;
    answer = api_call_with(c->node[i].url, method, path, headers, body, status);
    leave(c);
    return answer;
}

json_t *vcluster_status(const struct vcluster *c, size_t i)
{
    long status;
    json_t *body = vcluster_api(c, i, "GET", "/api/v1/cluster", NULL, NULL, &status);

    if (status != 200) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* Whether group g of a status is eventlog index of bus, or with bus NULL the metadata group. */
static bool is_group(const json_t *g, const char *bus, int index)
{
    const char *name = json_string_value(json_object_get(g, "eventbus"));

    const char *kind = json_string_value(json_object_get(g, "kind"));

    if (bus == NULL)
        return kind != NULL && strcmp(kind, "controller") == 0;
    return name != NULL && strcmp(name, bus) == 0 &&
           json_integer_value(json_object_get(g, "eventlog")) == index;
}

json_t *vcluster_group(const struct vcluster *c, size_t i, const char *bus, int index)
{
    json_t *status = vcluster_status(c, i), *g, *found = NULL;
    size_t k;

    json_array_foreach(json_object_get(status, "groups"), k, g) {
        if (is_group(g, bus, index)) {
            found = json_incref(g);
            break;
        }
    }
    json_decref(status);
    return found;
}

void vcluster_count_roles(const json_t *status, json_int_t id, int *voters, int *standbys)
{
    const json_t *g, *n;
    size_t i, k;

    *voters = *standbys = 0;
    json_array_foreach(json_object_get(status, "groups"), i, g) {
        if (strcmp(json_string_value(json_object_get(g, "kind")), "eventlog") != 0)
            continue;
        json_array_foreach(json_object_get(g, "voters"), k, n)
            *voters += json_integer_value(n) == id;
        json_array_foreach(json_object_get(g, "standbys"), k, n)
            *standbys += json_integer_value(n) == id;
    }
}

bool vcluster_knows(const struct vcluster *c, size_t via, json_int_t id)
{
    json_t *status = vcluster_status(c, via), *meta = vcluster_group(c, via, NULL, 0);
    const json_t *n;
    int voters, standbys;
    bool listed = status == NULL;
    size_t i;

    json_array_foreach(json_object_get(status, "nodes"), i, n)
        listed = listed || json_integer_value(json_object_get(n, "id")) == id;
    json_array_foreach(json_object_get(meta, "voters"), i, n)
        listed = listed || json_integer_value(n) == id;
    json_array_foreach(json_object_get(meta, "standbys"), i, n)
        listed = listed || json_integer_value(n) == id;
    vcluster_count_roles(status, id, &voters, &standbys);
    json_decref(status);
    json_decref(meta);
    return listed || voters > 0 || standbys > 0;
}

/* The leader node of a group as node i sees it, waiting for one other than node
 * exclude (-1: any); see vcluster_group. */
static int wait_leader(const struct vcluster *c, size_t i, const char *bus, int index,
                       int exclude, int timeout_ms)
{
    long deadline = now_ms() + harness_ms(timeout_ms);

    for (;;) {
        json_t *g = vcluster_group(c, i, bus, index);
        int leader = (int)json_integer_value(json_object_get(g, "leader")) - 1;

        json_decref(g);
        if (leader >= 0 && leader != exclude)
            return leader;
        if (now_ms() > deadline)
            return -1;
        usleep(20000);
    }
}

int vcluster_eventlog_leader(const struct vcluster *c, size_t i, const char *bus, int index,
                             int timeout_ms)
{
    return wait_leader(c, i, bus, index, -1, timeout_ms);
}

int vcluster_metadata_leader(const struct vcluster *c, size_t i, int timeout_ms)
{
    return wait_leader(c, i, NULL, 0, -1, timeout_ms);
}

int vcluster_next_leader(const struct vcluster *c, size_t i, const char *bus, int index,
                         size_t old, int timeout_ms)
{
    return wait_leader(c, i, bus, index, (int)old, timeout_ms);
}

/* ---- publishing ------------------------------------------------------------ */

long vcluster_create_bus(const struct vcluster *c, size_t i, const char *name, int eventlogs)
{
    char *body = vane_asprintf("{\"name\": \"%s\", \"eventlog_count\": %d}", name, eventlogs);
    long status;

    json_decref(vcluster_api(c, i, "POST", "/api/v1/eventbuses", NULL, body, &status));
    vane_free(body);
    return status;
}

long vcluster_publish(const struct vcluster *c, size_t i, const char *bus, const char *id)
{
    char *path = vane_asprintf("/gateway/%s", bus);
    char *id_header = vane_asprintf("ce-id: %s", id);
    const char *headers[] = {"ce-specversion: 1.0", id_header, "ce-source: /cluster-test",
                             "ce-type: com.example.t", "Content-Type: text/plain", NULL};
    long status;

    json_decref(vcluster_api(c, i, "POST", path, headers, id, &status));
    vane_free(path);
    vane_free(id_header);
    return status;
}

void vcluster_ids_add(struct vcluster_ids *list, const char *id)
{
    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 64;
        list->ids = vane_realloc(list->ids, list->cap * sizeof(char *));
    }
    list->ids[list->count++] = vane_strdup(id);
}

void vcluster_ids_free(struct vcluster_ids *list)
{
    for (size_t i = 0; i < list->count; i++)
        vane_free(list->ids[i]);
    vane_free(list->ids);
    memset(list, 0, sizeof(*list));
}

unsigned vcluster_every_node(const struct vcluster *c)
{
    return (1u << c->count) - 1;
}

unsigned vcluster_all_but(const struct vcluster *c, size_t i)
{
    return vcluster_every_node(c) & ~(1u << i);
}

/* The next node after *turn in nodes that can be asked, or -1 when none can. */
static int next_node(const struct vcluster *c, unsigned nodes, size_t *turn)
{
    for (size_t k = 0; k < c->count; k++) {
        size_t i = (*turn + k) % c->count;

        if ((nodes & (1u << i)) && c->running[i] && !c->paused[i]) {
            *turn = i + 1;
            return (int)i;
        }
    }
    return -1;
}

size_t vcluster_publish_round(const struct vcluster *c, struct vcluster_publisher *p,
                              unsigned nodes, size_t count, int timeout_ms)
{
    long deadline = now_ms() + harness_ms(timeout_ms);
    size_t acked = 0, turn = p->sent;
    int node;

    while (acked < count && now_ms() < deadline && (node = next_node(c, nodes, &turn)) >= 0) {
        char id[64];

        long status;

        snprintf(id, sizeof(id), "%s-%u", p->prefix, p->sent++);
        status = vcluster_publish(c, (size_t)node, p->bus, id);
        if (status == 200) {
            vcluster_ids_add(&p->acked, id);
            acked++;
        } else {
            p->unanswered += status == 0;
            usleep(20000);
        }
    }
    return acked;
}

/* ---- reading back ---------------------------------------------------------- */

/* Appends one page of node i's events from offset on to log; how many, or -1. */
static long read_page(const struct vcluster *c, size_t i, const char *bus, int index,
                      struct vcluster_ids *log)
{
    char *path = vane_asprintf("/api/v1/eventbuses/%s/events?eventlog=%d&offset=%zu&limit=1000",
                               bus, index, log->count);
    long status, n = 0;
    json_t *body = vcluster_api(c, i, "GET", path, NULL, NULL, &status), *e;
    size_t k;

    vane_free(path);
    if (status != 200) {
        json_decref(body);
        return -1;
    }
    json_array_foreach(json_object_get(body, "events"), k, e) {
        json_int_t offset = json_integer_value(json_object_get(e, "offset"));
        const char *id;

        if (offset != (json_int_t)log->count) {
            tap_diag("node %zu, eventlog %d: offset %lld where %zu was expected", i + 1, index,
                     (long long)offset, log->count);
            n = -1;
            break;
        }
        id = json_string_value(json_object_get(json_object_get(e, "event"), "id"));
        vcluster_ids_add(log, id != NULL ? id : "(no id)");
        n++;
    }
    json_decref(body);
    return n;
}

int vcluster_read_log(const struct vcluster *c, size_t i, const char *bus, int index,
                      struct vcluster_ids *log)
{
    long n;

    vcluster_ids_free(log);
    while ((n = read_page(c, i, bus, index, log)) > 0)
        ;
    return n < 0 ? -1 : 0;
}

/* Whether log holds each id of acked exactly once and no id twice; why not into why. */
static bool holds_once(const struct vcluster_ids *log, const struct vcluster_ids *acked,
                       struct vane_buf *why)
{
    json_t *seen = json_object();
    bool good = true;

    for (size_t k = 0; k < log->count && good; k++) {
        if (json_object_get(seen, log->ids[k]) != NULL) {
            vane_buf_appendf(why, "event %s is there twice (offset %zu)", log->ids[k], k);
            good = false;
        }
        json_object_set_new(seen, log->ids[k], json_integer((json_int_t)k));
    }
    for (size_t a = 0; a < acked->count && good; a++) {
        if (json_object_get(seen, acked->ids[a]) == NULL) {
            vane_buf_appendf(why, "acknowledged event %s is missing", acked->ids[a]);
            good = false;
        }
    }
    json_decref(seen);
    return good;
}

static bool same_ids(const struct vcluster_ids *a, const struct vcluster_ids *b)
{
    if (a->count != b->count)
        return false;
    for (size_t k = 0; k < a->count; k++)
        if (strcmp(a->ids[k], b->ids[k]) != 0)
            return false;
    return true;
}

/* Node i's eventlogs index to index + count - 1 of bus, one after the other, into log. */
static int read_logs(const struct vcluster *c, size_t i, const char *bus, int index, int count,
                     struct vcluster_ids *log)
{
    struct vcluster_ids one = {0};
    int rc = 0;

    vcluster_ids_free(log);
    for (int e = index; e < index + count && rc == 0; e++) {
        rc = vcluster_read_log(c, i, bus, e, &one);
        for (size_t k = 0; k < one.count; k++)
            vcluster_ids_add(log, one.ids[k]);
    }
    vcluster_ids_free(&one);
    return rc;
}

/* One look at every running node's logs (see vcluster_logs_agree); why not into why. */
static bool logs_agree_now(const struct vcluster *c, const char *bus, int index, int count,
                           const struct vcluster_ids *acked, long *length, struct vane_buf *why)
{
    struct vcluster_ids first = {0}, log = {0};
    bool good = true, have_first = false;

    for (size_t i = 0; i < c->count && good; i++) {
        struct vane_buf reason = VANE_BUF_INIT;

        if (!c->running[i] || c->paused[i])
            continue;
        if (read_logs(c, i, bus, index, count, &log) != 0) {
            vane_buf_appendf(why, "node %zu: its log cannot be read or is not dense", i + 1);
            good = false;
        } else if (!holds_once(&log, acked, &reason)) {
            vane_buf_appendf(why, "node %zu (%zu events): %.*s", i + 1, log.count,
                             (int)reason.len, reason.data);
            good = false;
        } else if (have_first && !same_ids(&first, &log)) {
            vane_buf_appendf(why, "node %zu's log (%zu events) differs from the first's (%zu)",
                             i + 1, log.count, first.count);
            good = false;
        } else if (!have_first) {
            first = log;
            log = (struct vcluster_ids){0};
            have_first = true;
        }
        vane_buf_free(&reason);
    }
    if (length != NULL)
        *length = have_first ? (long)first.count : -1;
    vcluster_ids_free(&first);
    vcluster_ids_free(&log);
    return good && have_first;
}

static bool agree_within(const struct vcluster *c, const char *bus, int index, int count,
                         const struct vcluster_ids *acked, int timeout_ms, long *length)
{
    long deadline = now_ms() + harness_ms(timeout_ms);
    struct vane_buf why = VANE_BUF_INIT;
    bool agree;

    /* Followers apply what they learn is committed with the next heartbeat, and a node that
     * rejoins catches up: look again until the deadline. */
    while (!(agree = logs_agree_now(c, bus, index, count, acked, length, &why)) &&
           now_ms() < deadline) {
        vane_buf_reset(&why);
        usleep(100000);
    }
    if (!agree)
        tap_diag("eventlog %d%s of %s: %.*s", index, count > 1 ? " on" : "", bus, (int)why.len,
                 why.data ? why.data : "");
    vane_buf_free(&why);
    return agree;
}

bool vcluster_logs_agree(const struct vcluster *c, const char *bus, int index,
                         const struct vcluster_ids *acked, int timeout_ms, long *length)
{
    return agree_within(c, bus, index, 1, acked, timeout_ms, length);
}

bool vcluster_bus_agrees(const struct vcluster *c, const char *bus, int eventlogs,
                         const struct vcluster_ids *acked, int timeout_ms)
{
    return agree_within(c, bus, 0, eventlogs, acked, timeout_ms, NULL);
}

/* ---- diagnostics and cleanup ---------------------------------------------- */

void vcluster_diag_logs(const struct vcluster *c)
{
    for (size_t i = 0; i < c->count; i++) {
        char *log = c->running[i] ? vaned_log(&c->node[i]) : NULL;

        if (log != NULL)
            tap_diag("node %zu's log:\n%s", i + 1, log);
        vane_free(log);
    }
}

void vcluster_cleanup(struct vcluster *c)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->running[i])
            vaned_cleanup(&c->node[i]);
        vane_free(c->config[i]);
        vane_free(c->data[i]);
    }
    if (c->root != NULL)
        harness_rmtree(c->root);
    if (c->net != NULL) {
        netns_destroy(c->net);
        vane_free(c->net);
    }
    memset(c, 0, sizeof(*c));
}
