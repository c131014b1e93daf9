/*
 * units.h -- sizes and durations as people write them in configuration
 * files and on command lines.
 *
 *     size:      "123" (bytes), "64KiB", "64MiB", "1GiB", also KB, MB, GB
 *                as powers of 1000
 *     duration:  "500ms", "45s", "30m", "12h", "7d"; a bare number is seconds
 */
#ifndef VANE_CORE_UNITS_H
#define VANE_CORE_UNITS_H

#include <stdint.h>

/* 0 with *bytes, or -EINVAL. */
int vane_parse_size(const char *text, uint64_t *bytes);

/* 0 with *ms, or -EINVAL. */
int vane_parse_duration_ms(const char *text, uint64_t *ms);

#endif
