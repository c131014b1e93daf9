/*
 * health.c -- liveness, readiness and the JSON 404 (see health.h).
 */
#include "gateway/gateway.h"
#include "gateway/health.h"
#include "gateway/response.h"
#include "vane-config.h"

struct health_handler {
    h2o_handler_t super;
    struct health *health;
};

static const char *const state_names[] = {"starting", "ready", "stopping"};

static int on_healthz(h2o_handler_t *self, h2o_req_t *req)
{
    struct health *health = ((struct health_handler *)self)->health;
    uint64_t uptime = (uv_now(health->loop) - health->started_ms) / 1000;

    if (response_check_method(req, "GET, HEAD"))
        return 0;
    response_json(req, 200, "OK",
                  json_pack("{s:s, s:s, s:s, s:I}", "status", "ok", "version", PACKAGE_VERSION,
                            "state", state_names[health->state], "uptime_seconds",
                            (json_int_t)uptime));
    return 0;
}

static int on_readyz(h2o_handler_t *self, h2o_req_t *req)
{
    struct health *health = ((struct health_handler *)self)->health;
    int ready = health->state == HEALTH_READY;

    if (response_check_method(req, "GET, HEAD"))
        return 0;
    response_json(req, ready ? 200 : 503, ready ? "OK" : "Service Unavailable",
                  json_pack("{s:s}", "status", state_names[health->state]));
    return 0;
}

void health_register(struct http_server *server, struct health *health)
{
    struct health_handler *h;

    h = (struct health_handler *)http_server_route(server, "/healthz", on_healthz, sizeof(*h));
    h->health = health;
    h = (struct health_handler *)http_server_route(server, "/readyz", on_readyz, sizeof(*h));
    h->health = health;
}

int gateway_check_ready(struct gateway *gw, h2o_req_t *req)
{
    if (gw->health->state == HEALTH_READY)
        return 0;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
    response_error(req, 503, "Service Unavailable", NULL, "the broker is %s; try again shortly",
                   state_names[gw->health->state]);
    return 1;
}
