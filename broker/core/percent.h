/*
 * percent.h -- percent-decoding (RFC 3986 section 2.1), strict: every '%'
 * must be followed by two hex digits, of either case.
 */
#ifndef VANE_CORE_PERCENT_H
#define VANE_CORE_PERCENT_H

#include <stddef.h>

/*
 * Decodes len bytes of in into out (room for cap bytes; out may be in).
 * Returns the decoded length, or -1 for a bad escape or too little room.
 * out is not NUL-terminated.
 */
long vane_percent_decode(const char *in, size_t len, char *out, size_t cap);

#endif
