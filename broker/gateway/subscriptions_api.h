/*
 * subscriptions_api.h -- the subscription admin API: /api/v1/subscriptions.
 *
 *     POST   /api/v1/subscriptions                       create  -> 201 <subscription>
 *     GET    /api/v1/subscriptions[?eventbus=NAME]       list    -> 200 {"subscriptions": [...]}
 *     GET    /api/v1/subscriptions/{id|name}             one     -> 200 <subscription>
 *     PUT    /api/v1/subscriptions/{id|name}             update  -> 200 <subscription>
 *     POST   /api/v1/subscriptions/{id|name}/disable     stop delivering  -> 200 <subscription>
 *     POST   /api/v1/subscriptions/{id|name}/resume      deliver again    -> 200 <subscription>
 *     POST   /api/v1/subscriptions/{id|name}/reset-offset  move the offsets -> 200 <subscription>
 *     DELETE /api/v1/subscriptions/{id|name}             delete  -> 200 {"id", "name", "deleted"}
 *
 * Every request needs the admin token when auth.admin requires it
 * (auth.h).  doc/subscriptions.md describes the bodies and answers for
 * users.  The limits below are the API's; vanectl checks its options
 * against the same ones, which is why this header needs neither h2o nor
 * the gateway's headers.
 */
#ifndef VANE_GATEWAY_SUBSCRIPTIONS_API_H
#define VANE_GATEWAY_SUBSCRIPTIONS_API_H

#define SUBSCRIPTION_DESCRIPTION_MAX 4096
#define SUBSCRIPTION_RATE_LIMIT_MAX 1000000 /* events per second; 0: unlimited */
#define SUBSCRIPTION_TIMEOUT_MIN_MS 100
#define SUBSCRIPTION_TIMEOUT_MAX_MS 600000
#define SUBSCRIPTION_TIMEOUT_DEFAULT_MS 5000
#define SUBSCRIPTION_RETRIES_MAX 1000
#define SUBSCRIPTION_RETRIES_DEFAULT 32
#define SUBSCRIPTION_BATCH_MAX 1000
#define SUBSCRIPTION_BATCH_DEFAULT 100
#define SUBSCRIPTION_DEAD_LETTER_PREFIX "__dl_"

struct http_server;
struct gateway;

/* Routes /api/v1/subscriptions and everything below it to the admin API. */
void subscriptions_api_register(struct http_server *server, struct gateway *gw);

#endif
