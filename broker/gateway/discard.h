/*
 * discard.h -- POST /bench/discard: a handler that takes a request and drops it.
 *
 * A reference for benchmarks (tests/bench/bench-gateway.c): the same HTTP
 * server, connections and body handling as POST /gateway/{eventbus}, with
 * nothing behind them, so a publish figure can be set beside what the server
 * alone does on the same machine.  Routed only when the configuration says
 * gateway.discard_endpoint = "on"; off by default.
 */
#ifndef VANE_GATEWAY_DISCARD_H
#define VANE_GATEWAY_DISCARD_H

#include "gateway/gateway.h"
#include "gateway/http_server.h"

/* Routes POST /bench/discard when gw->cfg->discard_endpoint is on; else does nothing. */
void discard_register(struct http_server *server, struct gateway *gw);

#endif
