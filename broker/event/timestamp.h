/*
 * timestamp.h -- RFC 3339 timestamps, the CloudEvents Timestamp type.
 *
 * Parsing is strict: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)",
 * with 'T' and 'Z' in either case, every field in range (the day for its
 * month and year, a leap second 60 allowed), at most nine fraction digits
 * kept (more are read and dropped).  Times are nanoseconds since the Unix
 * epoch, UTC; a valid time outside what that holds (before 1678, after
 * 2261) is held at the nearest end.
 */
#ifndef VANE_EVENT_TIMESTAMP_H
#define VANE_EVENT_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

#define TIMESTAMP_MAX_LEN 40

/* Returns 0 with *ns, or -EINVAL with *why (static text) saying what was wrong. */
int timestamp_parse(const char *text, size_t len, int64_t *ns, const char **why);

/* The wall clock now, nanoseconds since the Unix epoch. */
int64_t timestamp_now(void);

/* Writes "2026-11-26T10:00:00.123456789Z" (fraction trimmed of trailing
 * zeros, left out when zero) into out; returns its length. */
size_t timestamp_format(int64_t ns, char out[TIMESTAMP_MAX_LEN]);

#endif
