/*
 * health.h -- /healthz and /readyz.
 *
 * /healthz answers 200 while the process serves HTTP at all (liveness).
 * /readyz answers 200 only while the broker is ready to take traffic and 503
 * while it starts or stops (readiness), so a load balancer drains it first.
 * The daemon owns struct health and moves its state; the handlers read it.
 */
#ifndef VANE_GATEWAY_HEALTH_H
#define VANE_GATEWAY_HEALTH_H

#include <stdint.h>

#include "gateway/http_server.h"

enum health_state {
    HEALTH_STARTING,
    HEALTH_READY,
    HEALTH_STOPPING,
};

struct health {
    enum health_state state;
    uint64_t started_ms; /* uv_now() at start, for the uptime */
    uv_loop_t *loop;
};

/* Routes /healthz and /readyz of server to health. */
void health_register(struct http_server *server, struct health *health);

#endif
