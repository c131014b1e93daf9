/*
 * delivery.h -- an HTTP request to a sink from events, in the CloudEvents
 * HTTP binding's three modes (the sending side of gateway/binding.h):
 *
 *     binary      one event: ce-* headers (values percent-encoded as the
 *                 binding asks), Content-Type from datacontenttype, the
 *                 data as the body
 *     structured  one event as application/cloudevents+json
 *     batch       the events as an application/cloudevents-batch+json array
 *
 * The subscription's own headers are added to every request.
 */
#ifndef VANE_TRIGGER_DELIVERY_H
#define VANE_TRIGGER_DELIVERY_H

#include <stddef.h>

#include <curl/curl.h>

#include "core/buf.h"
#include "event/event.h"

enum delivery_mode {
    DELIVERY_BINARY,
    DELIVERY_STRUCTURED,
    DELIVERY_BATCH,
};

struct delivery_message {
    struct curl_slist *headers;
    struct vane_buf body;
};

#define DELIVERY_MESSAGE_INIT {NULL, VANE_BUF_INIT}

/* Parses "binary", "structured" or "batch"; -1 for anything else. */
int delivery_mode_parse(const char *text);

/*
 * Builds into out (empty) the request for events: count is 1 in binary and
 * structured mode.  extra ("Name: value" lines, may be NULL) is copied.
 */
void delivery_encode(enum delivery_mode mode, const struct event *events, size_t count,
                     const struct curl_slist *extra, struct delivery_message *out);

void delivery_message_free(struct delivery_message *message);

#endif
