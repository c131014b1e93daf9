/*
 * encode.h -- what vanectl writes on the wire for its user: header values
 * percent-encoded as the CloudEvents HTTP binding asks, URL parts
 * percent-encoded as RFC 3986 asks, and two values `event put` fills in
 * when the user gives none (a UUIDv4 id, a content type guessed from the
 * data).
 */
#ifndef VANECTL_ENCODE_H
#define VANECTL_ENCODE_H

#include <stddef.h>

/*
 * A ce-* header value (CloudEvents HTTP binding, 3.1.3.2): space, '"',
 * '%' and every byte outside U+0021..U+007E become %XY (upper-case hex);
 * "Euro € 😀" -> "Euro%20%E2%82%AC%20%F0%9F%98%80".  Free with vane_free().
 */
char *encode_header_value(const char *value);

/* One URL path segment or query value: all but A-Z a-z 0-9 - . _ ~ become %XY. */
char *encode_url_component(const char *value);

/* A random (version 4) UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", or NULL if the
 * system has no randomness to give.  Free with vane_free(). */
char *encode_uuid_v4(void);

/*
 * The content type for data the user gave no --content-type for:
 * application/json when it parses as JSON, text/plain; charset=utf-8 when it
 * is UTF-8 text, else application/octet-stream.
 */
const char *encode_guess_content_type(const void *data, size_t len);

#endif
