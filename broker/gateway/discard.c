/*
 * discard.c -- POST /bench/discard (see discard.h).
 *
 * The handler does the front-door work every publish does -- method,
 * readiness and publish token checks -- then answers 200 {} without
 * looking further.  h2o has read the whole body into req->entity before a
 * handler runs (bodies over gateway.max_request_size are answered 413 by
 * h2o itself, as for publish), so the request is read in full either way.
 */
#include "gateway/auth.h"
#include "gateway/discard.h"
#include "gateway/response.h"

struct discard_handler {
    h2o_handler_t super;
    struct gateway *gw;
};

static int on_discard(h2o_handler_t *self, h2o_req_t *req)
{
    struct gateway *gw = ((struct discard_handler *)self)->gw;

    if (response_check_method(req, "POST") || gateway_check_ready(gw, req) ||
        auth_check(gw->auth, req, AUTH_PUBLISH))
        return 0;
    response_send(req, 200, "OK", "application/json", "{}", 2);
    return 0;
}

void discard_register(struct http_server *server, struct gateway *gw)
{
    struct discard_handler *h;

    if (gw->cfg->discard_endpoint != CONFIG_ON)
        return;
    h = (struct discard_handler *)http_server_route(server, "/bench/discard", on_discard,
                                                    sizeof(*h));
    h->gw = gw;
}
