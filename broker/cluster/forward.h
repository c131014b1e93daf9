/*
 * forward.h -- requests to another node's replica of a raft group:
 * proposals sent to the group's leader, and records fetched from it by a
 * follower catching up.
 *
 * Only a group's leader can append to its log.  A node that is asked to
 * write (a publish, an admin call) while one of its replicas follows sends
 * the entry, as it would have proposed it, to the leader's node over a peer
 * channel (service "forward"); the leader proposes it and answers once it
 * is committed and applied there, with its raft index and the result the
 * leader's state machine gave (an integer: the broker's state machines
 * answer with one).  The follower then answers its caller with that
 * result, or first waits until it has applied that index itself, so the
 * caller sees its own write (raft/replica_forward.c).
 *
 * A follower whose log the leader can no longer send (raft dropped those
 * entries after a snapshot, which holds no events) fetches the missing
 * records from the leader's segments instead (store/eventlog_catchup.c).
 *
 * Frames, both ways, little-endian: u32 length of what follows, u8 type,
 * 3 zero bytes, u64 request id, then
 *
 *     1 propose   u64 group id, the entry
 *     2 answer    i32 status, 4 zero bytes, u64 index, u64 result
 *     3 fetch     u64 group id, u64 first offset, u32 most bytes, 4 zero bytes
 *     4 records   i32 status, 4 zero bytes, the records as the store keeps them
 *
 * One channel per leader node, opened on first use and reopened after it
 * is lost; requests in flight on a lost channel fail with -ECONNRESET (the
 * entry may or may not have been committed: the caller cannot know).
 *
 * Everything runs on the loop thread.
 */
#ifndef VANE_CLUSTER_FORWARD_H
#define VANE_CLUSTER_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "cluster/peer.h"
#include "core/buf.h"

#define FORWARD_SERVICE "forward"

struct forwarder;
struct forward_req;

/* status 0, the entry's raft index and the leader's apply result once
 * committed and applied on the leader; else a negative error
 * (VANE_ENOTLEADER: it was not proposed). */
typedef void (*forward_done_cb)(void *arg, int status, uint64_t index, uint64_t result);

/*
 * How this node proposes an entry to one of its groups when another node
 * forwards it: buf (len bytes, from raft_malloc(), given over on success).
 * Returns 0 and later calls done, or a negative error (buf still the
 * caller's).  A group whose replica here is not the leader answers
 * VANE_ENOTLEADER: forwarded proposals are never forwarded again.
 */
typedef int (*forward_propose_fn)(void *target, void *buf, size_t len, forward_done_cb done,
                                  void *arg);

/*
 * How this node reads a group's records for another node: from offset on,
 * about max_bytes of whole sealed records appended to out.  Returns 0 (no
 * records: nothing from there) or a negative error.
 */
typedef int (*forward_read_fn)(void *target, uint64_t offset, size_t max_bytes,
                               struct vane_buf *out);

/* The records fetched (len bytes, valid during the call), or a negative error. */
typedef void (*forward_fetch_cb)(void *arg, int status, const void *records, size_t len);

typedef void (*forwarder_close_cb)(void *arg);

/* Offers the "forward" service on net.  Returns 0 or a negative error. */
int forwarder_open(struct forwarder **fw, struct peer_net *net);

/* Forwarded proposals for group go to propose(target, ...). */
void forwarder_register(struct forwarder *fw, uint64_t group, forward_propose_fn propose,
                        void *target);
void forwarder_unregister(struct forwarder *fw, uint64_t group);

/* Fetches for group go to read(target, ...); NULL read: none any more. */
void forwarder_set_reader(struct forwarder *fw, uint64_t group, forward_read_fn read,
                          void *target);

/*
 * Sends the entry (copied) for group to the node whose peer address is
 * address.  Returns the request, whose done runs once (never from inside
 * this call) unless it is cancelled; or NULL when the forwarder is closing
 * (done never runs).  VANE_ENOTLEADER and -ECONNREFUSED mean the entry was
 * not proposed (the receiver refused it, or it was never sent); after
 * another error it may have been.
 */
struct forward_req *forward_send(struct forwarder *fw, const char *address, uint64_t group,
                                 const void *buf, size_t len, forward_done_cb done, void *arg);

/*
 * Asks the node at address for group's records from offset on, about
 * max_bytes of them.  As forward_send(): done runs once unless cancelled,
 * NULL when closing.
 */
struct forward_req *forward_fetch(struct forwarder *fw, const char *address, uint64_t group,
                                  uint64_t offset, uint32_t max_bytes, forward_fetch_cb done,
                                  void *arg);

/* The request's callback will not run. */
void forward_cancel(struct forward_req *req);

/* Stops serving; requests still in flight end with VANE_ESHUTDOWN. */
void forwarder_close(struct forwarder *fw, forwarder_close_cb cb, void *arg);

#endif
