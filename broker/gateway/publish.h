/*
 * publish.h -- POST /gateway/{eventbus}: CloudEvents in, stored durably.
 *
 * A request's events (binding.h parses and checks them) go to the
 * eventbus's eventlogs: an event with a partitionkey extension to eventlog
 * CRC-32C(partitionkey) mod eventlog_count, the others of one request
 * together to the next eventlog in round robin.  The events bound for one
 * eventlog are appended as one unit, so a batch becomes a few group
 * commits, not one per event.  The answer comes once every event is
 * durable:
 *
 *     200 {"events": [{"id": "e1", "eventlog": 0, "offset": 12, "duplicate": false}]}
 *
 * Idempotency (idempotency.h): an event whose (source, id) the eventbus
 * stored within gateway.idempotency_window is not stored again; it is
 * answered with the first position and "duplicate": true.  A retry that
 * arrives while the first is still in flight waits for it.  At start the
 * window is rebuilt from the events stored in it, so a retry across a
 * restart is caught too.
 */
#ifndef VANE_GATEWAY_PUBLISH_H
#define VANE_GATEWAY_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/binding.h"
#include "gateway/gateway.h"
#include "gateway/http_server.h"

/* Creates gw->publish and routes /gateway/. */
void publish_register(struct http_server *server, struct gateway *gw);

/* Where a published event went; duplicate when the idempotency window knew it. */
struct publish_position {
    uint32_t eventlog;
    uint64_t offset;
    bool duplicate;
};

/* status 0: every event is durable (or was already); else the first failure. */
typedef void (*publish_done_cb)(void *arg, int status, const struct publish_position *positions,
                                size_t count);

/*
 * Publishes events, already checked (event_check), to the eventbus named
 * bus_name, as POST /gateway/{eventbus} does (routing, idempotency window,
 * delayed events, metrics), for parts of the broker that make events of
 * their own (source connectors).  Takes events (it is emptied; its memory
 * is freed once done has run).  Returns 0 (done will run, on the loop, with
 * a position per event), -EAGAIN while the broker is not ready, or -ENOENT
 * when there is no such eventbus (done will not run; events stays the
 * caller's).
 */
int publish_submit(struct gateway *gw, const char *bus_name, struct binding_events *events,
                   publish_done_cb done, void *arg);

/* Rebuilds the idempotency window from the store; call once the store is ready. */
void publish_recover(struct gateway *gw);

/* An eventbus was deleted: drops its counters (metrics series included) and round robin. */
void publish_forget_eventbus(struct gateway *gw, uint64_t bus_id, const char *name);

void publish_free(struct gateway *gw);

#endif
