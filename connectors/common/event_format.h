/*
 * event_format.h -- writing an event the host hands a connector as text:
 * the CloudEvents JSON format (structured mode) and the canonical string
 * form of attribute values (binary-mode headers, one-line summaries).
 *
 * The event is read only through the SDK's host table (event_attr_at,
 * event_data), so these work on any event a sink receives.  The JSON
 * follows the broker's own writer (broker/event/event_json.c) so a sink
 * prints what `GET .../events` would show: attributes in their order with
 * their JSON types, data as a JSON value when the content type is JSON and
 * the bytes parse, as a string when they are UTF-8 text under another
 * content type, else (binary, or no content type) as "data_base64".
 */
#ifndef VANE_CONNECTORS_EVENT_FORMAT_H
#define VANE_CONNECTORS_EVENT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include <vane/plugin.h>

#include "strbuf.h"

/* Appends ev as one structured-mode JSON object (no newline) to out. */
void event_format_json(const struct vane_host *host, const struct vane_event *ev,
                       struct strbuf *out);

/* Appends the value's canonical string form (spec: "Type System"):
 * true/false, decimal integers, base64 for binary, the text of the rest. */
void event_format_value(const struct vane_value *value, struct strbuf *out);

/* Appends s as a JSON string literal, quoted and escaped. */
void event_format_json_string(struct strbuf *out, const char *s, size_t len);

/* Appends bytes in base64 (RFC 4648, padded), without quotes. */
void event_format_base64(struct strbuf *out, const char *bytes, size_t len);

/* true when a content type declares JSON: "x/json" or "x/y+json", parameters aside. */
bool event_format_is_json_type(const char *type, size_t len);

/* The time now as an attribute value: RFC 3339, UTC, milliseconds ("2026-11-26T10:00:00.123Z"). */
#define EVENT_FORMAT_NOW_SIZE 32
void event_format_now(char out[EVENT_FORMAT_NOW_SIZE]);

/* The event's string attribute name as a NUL-terminated copy in out (reset
 * first); false (out empty) when the event has no such attribute. */
bool event_format_attr(const struct vane_host *host, const struct vane_event *ev,
                       const char *name, struct strbuf *out);

#endif
