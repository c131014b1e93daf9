/*
 * parse.h -- reading what users type on vanectl's command line, and
 * writing durations and sizes back for tables.
 *
 * Sizes and durations are read as the configuration file reads them
 * (core/units.h), timestamps as the broker reads them (event/timestamp.h),
 * attribute names as the broker checks them (event/event_check.h): one
 * parser each in the whole project, so vanectl accepts exactly what the
 * broker does.  This file adds only what a command line needs on top: the
 * ranges the API takes and the messages that say what was expected.
 *
 * Each parser returns 0, or -EINVAL when the text is not of its form or out
 * of range.  The PARSE_*_EXPECTED strings (and the timestamp parser's own
 * reason) say what each takes, for the error messages; doc/vanectl.md says
 * the same.
 */
#ifndef VANECTL_PARSE_H
#define VANECTL_PARSE_H

#include <stdint.h>

#define PARSE_DURATION_EXPECTED "a duration such as 7d, 12h, 30m or 45s (0: unlimited)"
#define PARSE_SIZE_EXPECTED "a size such as 512MiB, 1GiB, 100MB or 4096 (0: unlimited)"
#define PARSE_EXTENSION_EXPECTED "name=value, the name of lowercase letters a-z and digits"

/* Decimal digits only, at most max. */
int parse_count(const char *text, uint64_t max, uint64_t *value);

/* A duration (units.h: "7d", "12h", "30m", "45s", a bare number is seconds) in whole seconds. */
int parse_duration(const char *text, uint64_t *seconds);

/* A size (units.h: "512MiB", "1GiB", "100MB", "4096"), at most INT64_MAX bytes. */
int parse_size(const char *text, uint64_t *bytes);

/* An RFC 3339 timestamp; on -EINVAL *why (static text) says what was expected and
 * what is wrong: "expected an RFC 3339 date-time such as ... (bad date)". */
int parse_timestamp(const char *text, const char **why);

/*
 * Splits "name=value" at the first '='; the name must be a CloudEvents
 * attribute name (lowercase letters and digits).  *name is a new string
 * (vane_free()), *value points into text.
 */
int parse_extension(const char *text, char **name, const char **value);

/* "7d", "36h", "90m", "5401s": the largest unit that is exact, as parse_duration reads
 * it back; "0" for 0.  Free with vane_free(). */
char *format_duration(uint64_t seconds);

/* "512MiB" when exact, else "12.1KiB"; "100B" under 1 KiB.  Free with vane_free(). */
char *format_size(uint64_t bytes);

/* The current time in RFC 3339, UTC: "2026-11-26T10:00:00.123456789Z".  Free with vane_free(). */
char *format_now(void);

#endif
