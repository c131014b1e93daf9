/*
 * percent.h -- percent-encoding and -decoding (RFC 3986 section 2.1).
 *
 * Encoding works on bytes, so a character's whole UTF-8 sequence is
 * encoded, as the CloudEvents HTTP binding asks; hex digits are upper-case.
 * Decoding is strict: every '%' must be followed by two hex digits, of
 * either case.
 */
#ifndef VANE_CORE_PERCENT_H
#define VANE_CORE_PERCENT_H

#include <stddef.h>

#include "core/buf.h"

/* A ce-* header value (CloudEvents HTTP binding, 3.1.3.2): space, '"', '%'
 * and every byte outside U+0021..U+007E become %XY. */
void vane_percent_encode_header(struct vane_buf *out, const char *value, size_t len);

/* A URL path segment or query value: all but A-Z a-z 0-9 - . _ ~ become %XY. */
void vane_percent_encode_url(struct vane_buf *out, const char *value, size_t len);

/*
 * Decodes len bytes of in into out (room for cap bytes; out may be in).
 * Returns the decoded length, or -1 for a bad escape or too little room.
 * out is not NUL-terminated.
 */
long vane_percent_decode(const char *in, size_t len, char *out, size_t cap);

#endif
