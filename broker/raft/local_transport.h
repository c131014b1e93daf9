/*
 * local_transport.h -- the raft transport of a single node's groups: a
 * group with one voter never talks to a peer, so it listens for nothing
 * and connects nowhere.  Its close ends through close_delay.h, as every
 * transport the broker gives raft does.
 */
#ifndef VANE_RAFT_LOCAL_TRANSPORT_H
#define VANE_RAFT_LOCAL_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

/* Makes t the local transport, closing on loop. */
void local_transport_init(struct raft_uv_transport *t, uv_loop_t *loop);

#endif
