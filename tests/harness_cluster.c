/*
 * harness_cluster.c -- vaned clusters on loopback for the tests (see
 * harness_cluster.h).
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

/* A port nobody listens on now (the kernel's pick for a socket bound to port 0). */
static int free_port(void)
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

static char *config_text(const struct vcluster *c, size_t self, const char *extra)
{
    struct vane_buf b = VANE_BUF_INIT;

    vane_buf_appendf(&b, "return {\n  cluster = {\n    node_id = %zu,\n    nodes = {\n",
                     self + 1);
    for (size_t i = 0; i < c->count; i++)
        vane_buf_appendf(&b,
                         "      { id = %zu, http = \"127.0.0.1:%d\", peer = \"127.0.0.1:%d\" },\n",
                         i + 1, c->http_port[i], c->peer_port[i]);
    vane_buf_appendf(&b, "    },\n  },\n%s\n}\n", extra ? extra : "");
    return vane_buf_detach(&b);
}

static int spawn_node(struct vcluster *c, size_t i)
{
    char listen[32];
    const char *args[] = {"--config", c->config[i], "--data-dir", c->data[i], "--listen", listen,
                          NULL};

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", c->http_port[i]);
    if (vaned_spawn(&c->node[i], args) != 0)
        return -1;
    c->running[i] = true;
    return 0;
}

int vcluster_start(struct vcluster *c, size_t count, const char *extra)
{
    memset(c, 0, sizeof(*c));
    c->count = count < VCLUSTER_MAX ? count : VCLUSTER_MAX;
    c->root = harness_tempdir();
    for (size_t i = 0; i < c->count; i++) {
        c->http_port[i] = free_port();
        c->peer_port[i] = free_port();
    }
    for (size_t i = 0; i < c->count; i++) {
        char name[32], *text = config_text(c, i, extra);

        snprintf(name, sizeof(name), "node%zu.lua", i + 1);
        c->config[i] = harness_write_file(c->root, name, text);
        c->data[i] = vane_asprintf("%s/data%zu", c->root, i + 1);
        vane_free(text);
        if (spawn_node(c, i) != 0)
            return -1;
    }
    for (size_t i = 0; i < c->count; i++)
        if (vaned_wait_ready(&c->node[i], 30000) != 0)
            return -1;
    return 0;
}

void vcluster_kill(struct vcluster *c, size_t i)
{
    if (!c->running[i])
        return;
    kill(c->node[i].pid, SIGKILL);
    vaned_wait(&c->node[i], 10000);
    vaned_cleanup(&c->node[i]);
    c->running[i] = false;
}

int vcluster_restart(struct vcluster *c, size_t i)
{
    vcluster_kill(c, i);
    if (spawn_node(c, i) != 0)
        return -1;
    return vaned_wait_ready(&c->node[i], 30000);
}

json_t *vcluster_status(const struct vcluster *c, size_t i)
{
    long status;
    json_t *body;

    if (!c->running[i])
        return NULL;
    body = api_call_with(c->node[i].url, "GET", "/api/v1/cluster", NULL, NULL, &status);
    if (status != 200) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static int leader_in(const json_t *status, const char *bus, int index)
{
    const json_t *g;
    size_t k;

    json_array_foreach(json_object_get(status, "groups"), k, g) {
        const char *name = json_string_value(json_object_get(g, "eventbus"));

        if (name != NULL && strcmp(name, bus) == 0 &&
            json_integer_value(json_object_get(g, "eventlog")) == index)
            return (int)json_integer_value(json_object_get(g, "leader")) - 1;
    }
    return -1;
}

int vcluster_eventlog_leader(const struct vcluster *c, size_t i, const char *bus, int index,
                             int timeout_ms)
{
    struct timespec start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        json_t *status = vcluster_status(c, i);
        int leader = leader_in(status, bus, index);

        json_decref(status);
        if (leader >= 0)
            return leader;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
            harness_ms(timeout_ms))
            return -1;
        usleep(20000);
    }
}

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
    memset(c, 0, sizeof(*c));
}
