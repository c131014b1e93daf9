/*
 * gateway.h -- what every HTTP endpoint of the broker shares.
 *
 * The daemon fills one struct gateway and hands it to each part's
 * *_register() function, which routes its paths on the HTTP server.  A
 * handler reaches the store, the readiness state, the settings, the metrics
 * and the access check through it.  Everything runs on the loop thread.
 *
 * Paths and the files that serve them:
 *
 *     /healthz, /readyz                     health.c
 *     /metrics                              metrics_endpoint.c
 *     POST /gateway/{eventbus}              publish.c (binding.c parses)
 *     /api/v1/eventbuses[/{name}]           eventbuses.c
 *     GET /api/v1/eventbuses/{name}/events  events_read.c
 *     /api/v1/subscriptions[/{id|name}]     subscriptions_api.c
 *     GET /api/v1/plugins[/{name}]          plugins_api.c
 *     GET /api/v1/scripts[/{name}]          scripts_api.c
 *     /api/v1/connectors[/{name}]           connectors_api.c
 *     /connectors/{name}[/...]              connectors_api.c, to the engine
 *     POST /bench/discard (when enabled)    discard.c
 *
 * The admin endpoints share admin_input.c (strict bodies, names) and
 * query.c (query strings).
 */
#ifndef VANE_GATEWAY_H
#define VANE_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "config/config.h"
#include "gateway/health.h"
#include "store/store.h"

struct metrics;
struct auth;
struct publish_state;
struct trigger;
struct plugin_registry;
struct script_registry;
struct engine;
struct cluster;

struct gateway {
    uv_loop_t *loop;
    const struct config *cfg;
    struct health *health;
    struct store *store;       /* set before the server listens; usable once ready */
    struct metrics *metrics;   /* NULL: nothing is counted */
    struct auth *auth;         /* NULL: no token is asked for */
    struct publish_state *publish; /* publish.c's own: round robin, idempotency */
    struct trigger *trigger;   /* once the store is ready; NULL when it did not start */
    struct plugin_registry *plugins; /* the plugins loaded; NULL when the registry did not start */
    struct script_registry *scripts; /* the Lua scripts; NULL when the registry did not start */
    struct engine *engine;     /* connectors; once the store is ready */
    const struct cluster *cluster; /* this node's part in a cluster; NULL: a single node */
};

/* Answers 503 and returns 1 unless the broker is ready; else returns 0. */
int gateway_check_ready(struct gateway *gw, h2o_req_t *req);

#endif
