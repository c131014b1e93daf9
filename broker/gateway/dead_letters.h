/*
 * dead_letters.h -- a subscription's dead letters over HTTP (routed by
 * subscriptions_api.c):
 *
 *     GET  /api/v1/subscriptions/{id|name}/dead-letters?offset=0&limit=10
 *     POST /api/v1/subscriptions/{id|name}/dead-letters/resend
 *          body (optional): {"offset": 0, "limit": 100}
 *
 * Both walk the subscription's dead-letter eventbus from offset, taking
 * the events whose xvanusdlsubscription is this subscription, looking at
 * no more than DEAD_LETTERS_SCAN events per call ("next" says where to go
 * on).  GET answers them as the events read API does; resend hands them to
 * the subscription's worker to be sent to the sink again (202, with how
 * many and where the next call starts).
 */
#ifndef VANE_GATEWAY_DEAD_LETTERS_H
#define VANE_GATEWAY_DEAD_LETTERS_H

#include "controller/controller.h"
#include "gateway/gateway.h"

#define DEAD_LETTERS_SCAN 100000
#define DEAD_LETTERS_MAX_LIMIT 1000

void dead_letters_get(struct gateway *gw, h2o_req_t *req, const struct subscription_meta *sub);
void dead_letters_resend(struct gateway *gw, h2o_req_t *req, const struct subscription_meta *sub);

#endif
