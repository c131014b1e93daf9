/*
 * event_check.h -- is this a valid CloudEvent the broker will store?
 *
 * The rules of the CloudEvents 1.0 spec, whatever binding or format the
 * event came in: specversion "1.0"; id, source and type present and not
 * empty; optional attributes not empty when present; time (and the
 * xvanusdeliverytime extension) RFC 3339; attribute names of lower-case
 * ASCII letters and digits, each given once; string values valid UTF-8
 * without control characters; integers 32-bit.  Vane, like Vanus, reserves
 * extensions named xvanus* for itself: only xvanusdeliverytime (publish
 * now, deliver later) may come from a client.
 *
 * A failure is described for the client: the attribute at fault and what
 * was expected, in struct event_error.
 */
#ifndef VANE_EVENT_CHECK_H
#define VANE_EVENT_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "event/event.h"

#define EVENT_DELIVERY_TIME "xvanusdeliverytime"

struct event_error {
    char field[80];    /* the attribute or input field at fault; "" when none */
    char message[256]; /* what was wrong and what was expected */
    const char *reason; /* a short fixed label for metrics: "missing_attribute", ... */
};

/* Fills err; returns -EINVAL so callers can "return event_fail(...)". */
int event_fail(struct event_error *err, const char *reason, const char *field, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));

/* 0 when event is valid, else -EINVAL with err filled. */
int event_check(const struct event *event, struct event_error *err);

/* true when name is 1..255 lower-case ASCII letters and digits. */
bool event_name_valid(const char *name, size_t len);

/* true when bytes are valid UTF-8 with no control characters (U+0000-U+001F, U+007F-U+009F). */
bool event_text_valid(const char *bytes, size_t len);

/* The type a known context attribute has (EVENT_STRING for extensions and unknown names). */
enum event_type event_attr_type(const char *name, size_t len);

#endif
