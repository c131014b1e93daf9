/*
 * close_delay.h -- completes a raft_uv_transport's close after a delay that
 * works around a double close in raft 0.15's libuv backend (close_delay.c
 * explains it).  Every transport the broker gives raft (the local one of a
 * single node, the peer transport of a cluster) ends its close with this.
 */
#ifndef VANE_RAFT_CLOSE_DELAY_H
#define VANE_RAFT_CLOSE_DELAY_H

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#define RAFT_TRANSPORT_CLOSE_DELAY_MS 50

/*
 * Calls cb(t) (cb may be NULL) RAFT_TRANSPORT_CLOSE_DELAY_MS from now on
 * loop.  The transport must be done with everything else by then: only t
 * and cb are kept.
 */
void raft_transport_close_delayed(uv_loop_t *loop, struct raft_uv_transport *t,
                                  raft_uv_transport_close_cb cb);

#endif
