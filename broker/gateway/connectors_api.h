/*
 * connectors_api.h -- /api/v1/connectors (create, list, show, change,
 * delete connectors) and /connectors/{name} (HTTP requests to source
 * connectors), see connectors_api.c.
 */
#ifndef VANE_GATEWAY_CONNECTORS_API_H
#define VANE_GATEWAY_CONNECTORS_API_H

#include "gateway/gateway.h"
#include "gateway/http_server.h"

/* Routes both prefixes of server to gw (whose engine is set once the store is ready). */
void connectors_api_register(struct http_server *server, struct gateway *gw);

#endif
