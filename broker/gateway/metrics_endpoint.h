/*
 * metrics_endpoint.h -- GET /metrics: the broker's metrics in the
 * Prometheus text format 0.0.4, and the per-request HTTP metrics.
 *
 * Registering routes GET and HEAD /metrics, rendering gw->metrics, and
 * becomes the HTTP server's observer, so every route's requests are counted
 * (vane_http_requests_total{handler,code}) and timed
 * (vane_http_request_duration_seconds{handler}); "handler" is the route's
 * path.  At each scrape it sets the process gauges (vane_process_*) and,
 * while the broker is ready, one set of vane_store_eventlog_* gauges per
 * eventlog.  doc/operations.md lists every metric.
 *
 * Nothing is routed when gw->metrics is NULL.  gw->metrics must outlive the
 * server: free it after http_server_free().  The endpoint needs no access
 * token.
 */
#ifndef VANE_GATEWAY_METRICS_ENDPOINT_H
#define VANE_GATEWAY_METRICS_ENDPOINT_H

#include "gateway/gateway.h"
#include "gateway/http_server.h"

void metrics_endpoint_register(struct http_server *server, struct gateway *gw);

#endif
