/*
 * units.c -- a number and a unit suffix from a table (see units.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"

struct unit {
    const char *suffix;
    uint64_t factor;
};

#define KIB UINT64_C(1024)

static int parse_with_units(const char *text, const struct unit *units, size_t count,
                            uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(text, &end, 10);
    if (end == text || errno != 0 || *text == '-' || *text == '+' || *text == ' ')
        return -EINVAL;
    for (size_t i = 0; i < count; i++)
        if (strcmp(end, units[i].suffix) == 0 && v <= UINT64_MAX / units[i].factor) {
            *out = v * units[i].factor;
            return 0;
        }
    return -EINVAL;
}

int vane_parse_size(const char *text, uint64_t *bytes)
{
    static const struct unit units[] = {
        {"", 1},           {"B", 1},         {"KiB", KIB},           {"MiB", KIB * KIB},
        {"GiB", KIB * KIB * KIB}, {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000},
    };

    return parse_with_units(text, units, sizeof(units) / sizeof(units[0]), bytes);
}

int vane_parse_duration_ms(const char *text, uint64_t *ms)
{
    static const struct unit units[] = {
        {"", 1000},       {"ms", 1},          {"s", 1000},
        {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 24 * 3600 * 1000},
    };

    return parse_with_units(text, units, sizeof(units) / sizeof(units[0]), ms);
}
