/*
 * harness_netns.c -- network namespaces joined by a bridge (see
 * harness_netns.h).
 *
 * The namespaces and links are made with the ip command, as an operator
 * would; they are deleted as ip netns del does it (a lazy unmount of
 * /var/run/netns/<name> and unlink), which is only system calls, so the
 * signal handlers can do it too.  Only namespaces named vane-<pid>-... are
 * ever deleted: this run's, and those of runs whose pid is gone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "harness.h"
#include "harness_netns.h"
#include "tap.h"

#define RUN_DIR "/var/run/netns"
#define PREFIX "vane-"

/* The net to delete at exit or on a signal (one per test program). */
static struct netns_net *current;
static bool exit_hook_set;

/* Deletes a namespace as ip netns del does: system calls only (and formatting), so the
 * signal handlers can. */
static void delete_namespace(const char *name)
{
    char path[sizeof(RUN_DIR) + 256];

    if (name[0] == '\0')
        return;
    snprintf(path, sizeof(path), RUN_DIR "/%s", name);
    umount2(path, MNT_DETACH);
    unlink(path);
}

static void delete_all(const struct netns_net *net)
{
    for (size_t i = 0; i < net->count; i++)
        delete_namespace(net->name[i]);
    delete_namespace(net->hub);
}

static void on_exit_delete(void)
{
    if (current != NULL)
        delete_all(current);
}

static void on_signal_delete(int sig)
{
    on_exit_delete();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The pid in a name vane-<pid>-..., or 0 when it is not one of ours. */
static pid_t owner_of(const char *name)
{
    char *end;
    long pid;

    if (strncmp(name, PREFIX, strlen(PREFIX)) != 0)
        return 0;
    pid = strtol(name + strlen(PREFIX), &end, 10);
    return *end == '-' && pid > 0 ? (pid_t)pid : 0;
}

/* Deletes what earlier runs that were killed outright left behind. */
static void delete_leftovers(void)
{
    DIR *dir = opendir(RUN_DIR);
    struct dirent *e;

    while (dir != NULL && (e = readdir(dir)) != NULL) {
        pid_t pid = owner_of(e->d_name);

        if (pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) {
            tap_diag("deleting network namespace %s left by an earlier run", e->d_name);
            delete_namespace(e->d_name);
        }
    }
    if (dir != NULL)
        closedir(dir);
}

/* Runs ip with args (NULL-terminated, at most 14), looked for on $PATH and in the
 * system folders root's PATH has; false, with the command and its complaint printed, when
 * it fails. */
static bool ip_run(const char *const *args)
{
    const char *path = getenv("PATH");
    char *search = vane_asprintf("PATH=%s:/usr/sbin:/sbin", path != NULL ? path : "/usr/bin");
    const char *argv[20] = {"/usr/bin/env", search, "ip"};
    struct vane_buf command = VANE_BUF_INIT;
    size_t n = 3;
    char *err = NULL;
    int status;
    bool done;

    for (size_t i = 0; args[i] != NULL && n < 19; i++) {
        argv[n++] = args[i];
        vane_buf_appendf(&command, " %s", args[i]);
    }
    argv[n] = NULL;
    status = harness_run(argv, NULL, NULL, &err);
    done = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!done)
        tap_diag("ip%.*s: %s", (int)command.len, command.data, err ? err : "");
    vane_buf_free(&command);
    vane_free(err);
    vane_free(search);
    return done;
}

#define IP(...) ip_run((const char *const[]){__VA_ARGS__, NULL})

const char *netns_unusable(void)
{
    char probe[48];
    bool usable;

    if (geteuid() != 0)
        return "network namespaces need root";
    snprintf(probe, sizeof(probe), PREFIX "%d-probe", (int)getpid());
    usable = IP("netns", "add", probe) &&
             IP("-n", probe, "link", "add", "name", "br0", "type", "bridge") &&
             IP("-n", probe, "link", "add", "name", "va", "type", "veth", "peer", "name", "vb");
    delete_namespace(probe);
    return usable ? NULL : "ip netns, bridges or veth pairs do not work here (see above)";
}

/* Node i's namespace with eth0 on the hub's bridge. */
static bool make_node(struct netns_net *net, size_t i)
{
    const char *ns = net->name[i];
    char port[24], cidr[48];

    snprintf(port, sizeof(port), "n%zu", i + 1);
    snprintf(cidr, sizeof(cidr), "%s/24", net->address[i]);
    return IP("netns", "add", ns) &&
           IP("-n", net->hub, "link", "add", "name", port, "type", "veth", "peer", "name",
              "eth0", "netns", ns) &&
           IP("-n", net->hub, "link", "set", port, "master", "br0") &&
           IP("-n", net->hub, "link", "set", port, "up") &&
           IP("-n", ns, "addr", "add", cidr, "dev", "eth0") &&
           IP("-n", ns, "link", "set", "eth0", "up") && IP("-n", ns, "link", "set", "lo", "up");
}

static int open_namespace(const char *name)
{
    char path[128];

    snprintf(path, sizeof(path), RUN_DIR "/%s", name);
    return open(path, O_RDONLY | O_CLOEXEC);
}

int netns_create(struct netns_net *net, size_t count)
{
    bool made;

    memset(net, 0, sizeof(*net));
    net->count = count < NETNS_MAX ? count : NETNS_MAX;
    net->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    snprintf(net->hub, sizeof(net->hub), PREFIX "%d-hub", (int)getpid());
    for (size_t i = 0; i < net->count; i++) {
        snprintf(net->name[i], sizeof(net->name[i]), PREFIX "%d-%zu", (int)getpid(), i + 1);
        snprintf(net->address[i], sizeof(net->address[i]), "10.77.0.%zu", i + 1);
        net->fd[i] = -1;
    }
    delete_leftovers();
    current = net;
    if (!exit_hook_set)
        atexit(on_exit_delete);
    exit_hook_set = true;
    signal(SIGINT, on_signal_delete);
    signal(SIGTERM, on_signal_delete);
    signal(SIGHUP, on_signal_delete);
    made = net->home_fd >= 0 && IP("netns", "add", net->hub) &&
           IP("-n", net->hub, "link", "add", "name", "br0", "type", "bridge") &&
           IP("-n", net->hub, "link", "set", "br0", "up");
    for (size_t i = 0; made && i < net->count; i++)
        made = make_node(net, i) && (net->fd[i] = open_namespace(net->name[i])) >= 0;
    if (!made) {
        netns_destroy(net);
        return -1;
    }
    return 0;
}

int netns_enter(const struct netns_net *net, size_t i)
{
    if (setns(net->fd[i], CLONE_NEWNET) != 0) {
        tap_diag("entering network namespace %s: %s", net->name[i], strerror(errno));
        return -1;
    }
    return 0;
}

void netns_leave(const struct netns_net *net)
{
    if (setns(net->home_fd, CLONE_NEWNET) != 0)
        tap_diag("returning to the test's network namespace: %s", strerror(errno));
}

static int set_port(const struct netns_net *net, size_t i, const char *state)
{
    char port[24];

    snprintf(port, sizeof(port), "n%zu", i + 1);
    return IP("-n", net->hub, "link", "set", port, state) ? 0 : -1;
}

int netns_cut(const struct netns_net *net, size_t i)
{
    return set_port(net, i, "down");
}

int netns_heal(const struct netns_net *net, size_t i)
{
    return set_port(net, i, "up");
}

void netns_destroy(struct netns_net *net)
{
    if (net->home_fd >= 0) {
        netns_leave(net);
        close(net->home_fd);
    }
    for (size_t i = 0; i < net->count; i++)
        if (net->fd[i] >= 0)
            close(net->fd[i]);
    delete_all(net);
    if (current == net)
        current = NULL;
    memset(net, 0, sizeof(*net));
    net->home_fd = -1;
}
