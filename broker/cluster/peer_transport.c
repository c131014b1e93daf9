/*
 * peer_transport.c -- canonical raft's libuv transport over the peer port
 * (peer_transport_init() in peer.h): every raft group of a node talks to
 * the other nodes through channels of the one peer net.
 *
 * raft 0.15's libuv backend asks its transport only for streams, and does
 * the rest itself: its sender (uv_send.c) writes messages to the streams
 * connect gives it and never reads them; its receiver (uv_recv.c) reads the
 * streams accept gives it and never writes them; it closes both with
 * uv_close() and frees them with raft_free() (so the net hands out
 * raft_malloc()ed pipes).  raft's TCP transport sends and reads a handshake
 * (protocol, server id, address) in uv_tcp_connect.c and uv_tcp_listen.c,
 * below what the backend sees; the receiver takes a sender's id and address
 * from the accept callback.  So this transport sends no handshake: the peer
 * net's hello already carries the opener's node id and address, which is
 * why a group's raft ids must be node ids (t->init checks).
 *
 *   t->listen   offers the service "raft/<group>"; every channel opened to
 *               it goes to raft's accept callback.
 *   t->connect  opens a channel to "raft/<group>" at the address; raft's
 *               callback gets the stream, or RAFT_NOCONNECTION (refused:
 *               the group is not running there yet; or the node is
 *               unreachable), after which raft retries on its own timer.
 *   t->close    withdraws the service, cancels pending connects (raft's
 *               callback gets RAFT_CANCELED at once, as raft's sender waits
 *               for it before it frees a client; raft has already marked
 *               every client closing, so the callback only lets go), frees
 *               the transport's state and completes after the delay of
 *               raft/close_delay.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cluster/peer.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "raft/close_delay.h"

struct pending_connect {
    struct pending_connect *next;
    struct transport *transport;
    struct raft_uv_connect *req;
    struct peer_open *open;
};

struct transport {
    struct raft_uv_transport *t;
    struct peer_net *net;
    uint64_t group_id;
    raft_uv_accept_cb accept_cb;
    struct pending_connect *connects;
    bool listening;
    char service[PEER_SERVICE_MAX]; /* "raft/<group>" */
};

static int transport_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    struct transport *tr = t->impl;
    uint64_t self = peer_net_self_id(tr->net);

    (void)address;
    if (id != self) {
        snprintf(t->errmsg, sizeof(t->errmsg),
                 "raft server id %" PRIu64 " is not this node's id %" PRIu64
                 ": over the peer transport, a group's server ids are node ids",
                 (uint64_t)id, self);
        return RAFT_INVALID;
    }
    return 0;
}

static void on_accept(void *arg, uint64_t node_id, const char *node_address, uv_stream_t *stream)
{
    struct transport *tr = arg;

    tr->accept_cb(tr->t, node_id, node_address, stream);
}

static int transport_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct transport *tr = t->impl;
    int err;

    tr->accept_cb = cb;
    if ((err = peer_listen(tr->net, tr->service, on_accept, tr)) != 0) {
        snprintf(t->errmsg, sizeof(t->errmsg), "cannot offer the peer service %s: %s",
                 tr->service, vane_strerror(err));
        return RAFT_IOERR;
    }
    tr->listening = true;
    return 0;
}

static void connect_unlink(struct pending_connect *pc)
{
    struct pending_connect **link = &pc->transport->connects;

    while (*link != pc)
        link = &(*link)->next;
    *link = pc->next;
}

static void on_open(void *arg, int status, uv_stream_t *stream)
{
    struct pending_connect *pc = arg;
    struct raft_uv_connect *req = pc->req;

    if (status != 0)
        vane_log_debug("peer", "raft group %" PRIu64 ": %s", pc->transport->group_id,
                       peer_open_errmsg(pc->open));
    connect_unlink(pc);
    vane_free(pc);
    req->cb(req, stream, status == 0 ? 0 : RAFT_NOCONNECTION);
}

static int transport_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                             const char *address, raft_uv_connect_cb cb)
{
    struct transport *tr = t->impl;
    struct pending_connect *pc = VANE_NEW(pc);

    (void)id;
    pc->transport = tr;
    pc->req = req;
    req->cb = cb;
    if ((pc->open = peer_open(tr->net, address, tr->service, on_open, pc)) == NULL) {
        snprintf(t->errmsg, sizeof(t->errmsg), "cannot open a channel to %s at %s",
                 tr->service, address);
        vane_free(pc);
        return RAFT_NOCONNECTION;
    }
    pc->next = tr->connects;
    tr->connects = pc;
    return 0;
}

/* Withdraws the service and cancels the pending connects; with_callbacks,
 * raft hears RAFT_CANCELED for each.  Then the state goes. */
static void transport_free(struct raft_uv_transport *t, bool with_callbacks)
{
    struct transport *tr = t->impl;

    if (tr->listening)
        peer_unlisten(tr->net, tr->service);
    while (tr->connects != NULL) {
        struct pending_connect *pc = tr->connects;
        struct raft_uv_connect *req = pc->req;

        tr->connects = pc->next;
        peer_open_cancel(pc->open);
        vane_free(pc);
        if (with_callbacks)
            req->cb(req, NULL, RAFT_CANCELED);
    }
    vane_free(tr);
    t->impl = NULL;
}

static void transport_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    uv_loop_t *loop = peer_net_loop(((struct transport *)t->impl)->net);

    transport_free(t, true);
    raft_transport_close_delayed(loop, t, cb);
}

int peer_transport_init(struct raft_uv_transport *t, struct peer_net *net, uint64_t group_id)
{
    struct transport *tr = VANE_NEW(tr);

    tr->t = t;
    tr->net = net;
    tr->group_id = group_id;
    snprintf(tr->service, sizeof(tr->service), "raft/%" PRIu64, group_id);
    *t = (struct raft_uv_transport){.impl = tr, .init = transport_init,
                                    .listen = transport_listen, .connect = transport_connect,
                                    .close = transport_close};
    return 0;
}

void peer_transport_close(struct raft_uv_transport *t)
{
    if (t->impl != NULL)
        transport_free(t, false);
}
