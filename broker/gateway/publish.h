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

#include "gateway/gateway.h"
#include "gateway/http_server.h"

/* Creates gw->publish and routes /gateway/. */
void publish_register(struct http_server *server, struct gateway *gw);

/* Rebuilds the idempotency window from the store; call once the store is ready. */
void publish_recover(struct gateway *gw);

/* An eventbus was deleted: drops its counters (metrics series included) and round robin. */
void publish_forget_eventbus(struct gateway *gw, uint64_t bus_id, const char *name);

void publish_free(struct gateway *gw);

#endif
