/*
 * harness_netns.h -- a small network of Linux network namespaces for tests
 * that cut a node off for real (root only).
 *
 *     struct netns_net net;
 *     const char *why = netns_unusable();      NULL, or why not (TAP skip)
 *     netns_create(&net, 3);                   vane-<pid>-1..3 and the hub
 *     netns_enter(&net, 0); ... netns_leave(&net);
 *     netns_cut(&net, 0); ... netns_heal(&net, 0);
 *     netns_destroy(&net);
 *
 * Each node namespace vane-<pid>-<k> has lo and eth0 with address
 * 10.77.0.<k>/24; eth0's other end n<k> is a port of bridge br0 in the hub
 * namespace vane-<pid>-hub.  Nothing is added to the test's own namespace:
 * the host's interfaces and routes are never touched, and the addresses
 * exist only inside the namespaces.  A cut sets n<k> down in the hub, so the
 * node loses every other node while its own address still answers inside
 * its namespace (the test reaches a cut node there).
 *
 * The test reaches a node by entering its namespace (setns on the calling
 * thread, which is the whole test: it has one): sockets made meanwhile,
 * and processes forked meanwhile, belong to it.  netns_leave() returns to
 * the test's own namespace.
 *
 * Cleanup runs at exit (atexit) and on SIGINT, SIGTERM and SIGHUP; a run
 * that was killed outright leaves namespaces whose pid is gone, and
 * netns_create() deletes those first.
 */
#ifndef VANE_TESTS_HARNESS_NETNS_H
#define VANE_TESTS_HARNESS_NETNS_H

#include <stdbool.h>
#include <stddef.h>

#define NETNS_MAX 5

struct netns_net {
    size_t count;
    char hub[48];                  /* "vane-<pid>-hub" */
    char name[NETNS_MAX][48];      /* "vane-<pid>-<k>", k = i + 1 */
    char address[NETNS_MAX][32];   /* "10.77.0.<k>" */
    int fd[NETNS_MAX];             /* open on /run/netns/<name> */
    int home_fd;                   /* the test's own namespace */
};

/* NULL when this process can make network namespaces, else why not. */
const char *netns_unusable(void);

/* Makes the hub and count (at most NETNS_MAX) node namespaces.  Returns 0,
 * or -1 with a diagnostic (whatever was made is deleted again). */
int netns_create(struct netns_net *net, size_t count);

/* Moves the test into node i's namespace, or back home.  0 or -1. */
int netns_enter(const struct netns_net *net, size_t i);
void netns_leave(const struct netns_net *net);

/* Cuts node i off from every other node (its hub port down), or joins it again.  0 or -1. */
int netns_cut(const struct netns_net *net, size_t i);
int netns_heal(const struct netns_net *net, size_t i);

/* Returns home and deletes the namespaces (their processes should be gone). */
void netns_destroy(struct netns_net *net);

#endif
