/*
 * local_transport.c -- the transport of a single node's raft groups (see
 * local_transport.h).
 */
#include <stdio.h>

#include "raft/close_delay.h"
#include "raft/local_transport.h"

static int local_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    (void)t, (void)id, (void)address;
    return 0;
}

static int local_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    (void)t, (void)cb;
    return 0;
}

static int local_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                         const char *address, raft_uv_connect_cb cb)
{
    (void)req, (void)id, (void)address, (void)cb;
    snprintf(t->errmsg, sizeof(t->errmsg), "no peer transport on a single node");
    return RAFT_NOCONNECTION;
}

static void local_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    raft_transport_close_delayed(t->impl, t, cb);
}

void local_transport_init(struct raft_uv_transport *t, uv_loop_t *loop)
{
    *t = (struct raft_uv_transport){.impl = loop, .init = local_init, .listen = local_listen,
                                    .connect = local_connect, .close = local_close};
}
