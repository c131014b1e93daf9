/*
 * event_json.h -- the CloudEvents JSON event format (structured mode).
 *
 * Reading (spec: cloudevents-formats-json-format.md, "Payload
 * Deserialization"): every member but "data" and "data_base64" is an
 * attribute; null means unset.  The spec's attributes must be JSON strings;
 * extensions are strings, integers or booleans.  "data_base64" is decoded
 * to bytes.  "data" under a JSON content type (or none, which then becomes
 * "application/json" as the spec advises) is kept as the exact text the
 * client sent; under any other content type it must be a string, whose
 * bytes are the data.
 *
 * Writing: attributes in their order with their JSON types; data as a JSON
 * value when the content type is JSON and the bytes parse, as a string when
 * they are UTF-8 text under another content type, else as "data_base64".
 */
#ifndef VANE_EVENT_JSON_H
#define VANE_EVENT_JSON_H

#include <stdbool.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json_span.h"
#include "event/event.h"
#include "event/event_check.h"

/*
 * Fills event (reset first) from obj, a parsed structured-mode event.  text
 * is obj's own JSON text, from which "data" is taken as sent ({NULL, 0}:
 * re-serialize it).  The event points into obj, text and arena, which must
 * outlive it.  Returns 0, or -EINVAL with err naming the member at fault;
 * the event is not checked against the spec's rules here (event_check()).
 */
int event_from_json(json_t *obj, struct json_span text, struct event *event,
                    struct vane_arena *arena, struct event_error *err);

/* Appends the event as a structured-mode JSON object to out. */
void event_to_json(const struct event *event, struct vane_buf *out);

/* Appends s as a JSON string literal (quoted and escaped). */
void event_json_string(struct vane_buf *out, const char *s, size_t len);

/* true when a content type declares JSON: "* / json" or "* / *+json", parameters aside. */
bool event_content_type_is_json(const char *type, size_t len);

#endif
