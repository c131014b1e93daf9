/*
 * events_read.h -- GET /api/v1/eventbuses/{name}/events: stored events out.
 *
 *     ?eventlog=0&offset=0&limit=10   from an offset (the defaults)
 *     ?eventlog=0&time=<RFC 3339>     from the first event stored at or after a time
 *     ?id=<id>                        the event with that id, from any eventlog
 *
 * The answer holds each event in structured mode with its position:
 *
 *     {"eventbus": "orders",
 *      "events": [{"eventlog": 0, "offset": 5, "stored_at": "...Z", "event": {...}}],
 *      "next": {"eventlog": 0, "offset": 6}}
 *
 * "next" is where to read on (absent for ?id=).  At most EVENTS_READ_MAX_LIMIT
 * events and about EVENTS_READ_MAX_BYTES of them come in one answer.  An id
 * is looked for among the newest EVENTS_READ_ID_SCAN events of each
 * eventlog (a bounded scan, not an index).
 */
#ifndef VANE_GATEWAY_EVENTS_READ_H
#define VANE_GATEWAY_EVENTS_READ_H

#include "core/buf.h"
#include "gateway/gateway.h"
#include "store/record.h"

#define EVENTS_READ_DEFAULT_LIMIT 10
#define EVENTS_READ_MAX_LIMIT 1000
#define EVENTS_READ_MAX_BYTES (8u << 20)
#define EVENTS_READ_ID_SCAN 100000

/* Appends {"eventlog", "offset", "stored_at", "event"} for one record (event is scratch). */
void events_read_write_record(struct vane_buf *out, uint32_t eventlog,
                              const struct record_view *rec, struct event *event);

/* Answers the request for the eventbus called bus_name (the caller routed it). */
void events_read(struct gateway *gw, h2o_req_t *req, const char *bus_name);

#endif
