/*
 * peer.h -- this node's peer port: one TCP listener per node, and channels
 * multiplexed over the connections between nodes.
 *
 * Every group a node runs (the controller's metadata group, one raft group
 * per eventlog replica) and every node-to-node request (a publish forwarded
 * to an eventlog's leader, a segment copied to a follower) talks to other
 * nodes through channels.  A channel is a byte stream between a service on
 * one node ("raft/42", "rpc") and the node that opened it.  All channels
 * from this node to another share one TCP connection (the one this node
 * dialled); the channels other nodes open arrive on the connections they
 * dialled.  So between two nodes there are at most two TCP connections,
 * whatever the number of groups.
 *
 * Each side of a channel is handed to its user as a libuv stream (one end of
 * a socketpair the net bridges to the connection), so raft's libuv backend,
 * which reads and writes uv_stream_t, runs over a channel unchanged: see
 * peer_transport_init().  The user owns the stream it is given: it reads and
 * writes it, and closes it with uv_close() and frees it with raft_free()
 * (the stream is allocated with raft_malloc(), as raft's backend expects).
 * When the connection under a channel is lost, the user's end sees EOF.
 *
 * Wire (documented in doc/cluster.md; the bytes in peer_wire.h, the
 * protocol in peer.c): each side of a TCP connection first sends a hello
 * (magic, protocol version, node id, its peer address), then frames of a
 * 12-byte header (channel id, type, payload length) and payload: OPEN (the
 * service's name), OPENED, REFUSED (why), DATA, CLOSE.
 *
 * The net's memory stays bounded whatever the users do: a user that does
 * not read its end stops the net from reading that channel's connection
 * (so, for a while, the other channels on it too), and a connection that
 * cannot send fast enough stops the net from reading its channels' ends.
 *
 * Everything runs on the loop thread.  Writing to an end whose other side
 * is closed raises SIGPIPE, which the process must ignore (vaned does).
 */
#ifndef VANE_CLUSTER_PEER_H
#define VANE_CLUSTER_PEER_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#define PEER_SERVICE_MAX 64 /* bytes of a service name, NUL included */

struct peer_net;

/*
 * A channel opened by another node to a service of this one: node_id and
 * node_address are the opener's (its hello); stream is this node's end.
 */
typedef void (*peer_accept_cb)(void *arg, uint64_t node_id, const char *node_address,
                               uv_stream_t *stream);

/* The end of peer_open(): status 0 and this node's end of the channel, or a
 * negative error (the connection failed, the service refused) and NULL. */
typedef void (*peer_open_cb)(void *arg, int status, uv_stream_t *stream);

typedef void (*peer_close_cb)(void *arg);

/*
 * Starts the peer port of node self_id listening on listen_address
 * ("host:port", numeric; port 0 takes a free port); self_address is what
 * other nodes are told to dial (usually the same; NULL: the address the
 * listener got, as "127.0.0.1:41234").  Returns 0, or a negative error with
 * *errmsg (freed by the caller); a listener that could not start is closed
 * on the loop's next run.
 */
int peer_net_open(struct peer_net **net, uv_loop_t *loop, uint64_t self_id,
                  const char *listen_address, const char *self_address, char **errmsg);

uint64_t peer_net_self_id(const struct peer_net *net);
uv_loop_t *peer_net_loop(const struct peer_net *net);
const char *peer_net_self_address(const struct peer_net *net);

/* Bytes the net holds queued for writing, to connections and to channels'
 * ends: what its back-pressure bounds (to about 8 MiB a connection and a
 * channel). */
size_t peer_net_queued_bytes(const struct peer_net *net);

/*
 * Offers a service: channels other nodes open to it are handed to cb.
 * Returns 0; -EEXIST when the name is taken; -EINVAL for a name that is
 * empty or not shorter than PEER_SERVICE_MAX; VANE_ESHUTDOWN once the net
 * is closing.  A channel opened to a service nobody offers is refused ("no
 * service <name> on node <id>").
 */
int peer_listen(struct peer_net *net, const char *service, peer_accept_cb cb, void *arg);

/* Withdraws a service; channels already handed over are not touched. */
void peer_unlisten(struct peer_net *net, const char *service);

struct peer_open; /* a pending peer_open(), for peer_open_cancel() */

/*
 * Opens a channel to service on the node at address (dialling it if this
 * node has no connection to it yet).  Returns the pending request, whose cb
 * runs once (never from inside this call), or NULL when it cannot even be
 * started (cb never runs): the net is closing, the address is not a numeric
 * "host:port", the service name is empty or too long, or no socket could be
 * made.  The cb's errors: -ECONNREFUSED when the node refused (no such
 * service), a libuv error when the connection failed or was lost,
 * -ECANCELED when the net closed; peer_open_errmsg() says more.
 */
struct peer_open *peer_open(struct peer_net *net, const char *address, const char *service,
                            peer_open_cb cb, void *arg);

/* Inside a failed open's cb: what happened, e.g. "node 2 at 127.0.0.1:7002
 * refused the channel to raft/9: no service raft/9 on node 2". */
const char *peer_open_errmsg(const struct peer_open *open);

/* The request's cb will not run; a channel it opens later is closed.  Not
 * once its cb has started. */
void peer_open_cancel(struct peer_open *open);

/*
 * Closes the listener, every connection and every channel the net still
 * holds (pending opens fail with -ECANCELED; users see EOF on the streams
 * they were given, which stay theirs to close); cb runs once all its handles
 * are closed, and the net is freed.  The net's users (raft transports
 * included) must be done with it by then: closing them in the same loop
 * iteration as the net is enough.
 */
void peer_net_close(struct peer_net *net, peer_close_cb cb, void *arg);

/*
 * A raft_uv_transport for raft group group_id over net: listen offers the
 * service "raft/<group_id>", connect opens a channel to it on the node at
 * the given address.  A group's raft server ids are node ids and its server
 * addresses are nodes' peer addresses (t->init refuses an id other than the
 * net's), since an incoming channel is known by its opener's hello.  raft's
 * backend runs as over TCP, except for its handshake, which the hello
 * replaces.  Pass t to raft_uv_init(); raft calls t->close when the backend
 * closes, which frees what this allocated.  Returns 0 or a raft error code.
 */
int peer_transport_init(struct raft_uv_transport *t, struct peer_net *net, uint64_t group_id);

/*
 * Frees what peer_transport_init() allocated when raft never closed the
 * transport (raft_uv_init() or raft_init() failed); after a close it does
 * nothing, so calling it after raft_uv_close() is always safe.
 */
void peer_transport_close(struct raft_uv_transport *t);

#endif
