/*
 * eventbuses.h -- the eventbus admin API: /api/v1/eventbuses.
 *
 *     POST   /api/v1/eventbuses                 create   -> 201 <eventbus>
 *     GET    /api/v1/eventbuses                 list     -> 200 {"eventbuses": [...]}
 *     GET    /api/v1/eventbuses/{name}          one      -> 200 <eventbus>
 *     PUT    /api/v1/eventbuses/{name}          update   -> 200 <eventbus>
 *     DELETE /api/v1/eventbuses/{name}          delete   -> 200 {"name":..., "deleted": true}
 *     GET    /api/v1/eventbuses/{name}/events   handed to events_read()
 *
 * Every request needs the admin token when auth.admin requires it
 * (auth.h).  doc/api.md describes the bodies and answers for users.
 */
#ifndef VANE_GATEWAY_EVENTBUSES_H
#define VANE_GATEWAY_EVENTBUSES_H

#include "gateway/gateway.h"
#include "gateway/http_server.h"

/* Routes /api/v1/eventbuses and everything below it to the admin API. */
void eventbuses_register(struct http_server *server, struct gateway *gw);

#endif
