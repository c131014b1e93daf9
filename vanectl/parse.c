/*
 * parse.c -- command-line values on top of the broker's own parsers, and
 * durations, sizes and times written back (see parse.h).
 *
 * The unit tables below are only for writing: what they write is what
 * core/units.h reads, so a value vanectl prints can be typed back.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/units.h"
#include "event/event_check.h"
#include "event/timestamp.h"
#include "parse.h"

#define VALUE_MAX ((uint64_t)INT64_MAX) /* what a JSON integer holds */

struct unit {
    const char *name;
    uint64_t factor;
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Largest first. */
static const struct unit duration_units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
static const struct unit size_units[] = {
    {"GiB", 1024 * 1024 * 1024}, {"MiB", 1024 * 1024}, {"KiB", 1024}};

int parse_count(const char *text, uint64_t max, uint64_t *value)
{
    uint64_t v = 0;

    if (*text == '\0')
        return -EINVAL;
    for (; *text != '\0'; text++) {
        uint64_t digit = (uint64_t)(*text - '0');

        if (!isdigit((unsigned char)*text) || digit > max || v > (max - digit) / 10)
            return -EINVAL;
        v = v * 10 + digit;
    }
    *value = v;
    return 0;
}

int parse_duration(const char *text, uint64_t *seconds)
{
    uint64_t ms;

    if (vane_parse_duration_ms(text, &ms) != 0 || ms % 1000 != 0 || ms / 1000 > VALUE_MAX)
        return -EINVAL;
    *seconds = ms / 1000;
    return 0;
}

int parse_size(const char *text, uint64_t *bytes)
{
    if (vane_parse_size(text, bytes) != 0 || *bytes > VALUE_MAX)
        return -EINVAL;
    return 0;
}

int parse_timestamp(const char *text, const char **why)
{
    int64_t ns;

    return timestamp_parse(text, strlen(text), &ns, why);
}

int parse_extension(const char *text, char **name, const char **value)
{
    const char *equals = strchr(text, '=');

    if (equals == NULL || !event_name_valid(text, (size_t)(equals - text)))
        return -EINVAL;
    *name = vane_strndup(text, (size_t)(equals - text));
    *value = equals + 1;
    return 0;
}

char *format_duration(uint64_t seconds)
{
    for (size_t i = 0; i < COUNT_OF(duration_units); i++)
        if (seconds != 0 && seconds % duration_units[i].factor == 0)
            return vane_asprintf("%llu%s", (unsigned long long)(seconds / duration_units[i].factor),
                                 duration_units[i].name);
    return vane_strdup("0");
}

char *format_size(uint64_t bytes)
{
    for (size_t i = 0; i < COUNT_OF(size_units); i++)
        if (bytes != 0 && bytes % size_units[i].factor == 0)
            return vane_asprintf("%llu%s", (unsigned long long)(bytes / size_units[i].factor),
                                 size_units[i].name);
    for (size_t i = 0; i < COUNT_OF(size_units); i++)
        if (bytes >= size_units[i].factor)
            return vane_asprintf("%.1f%s", (double)bytes / (double)size_units[i].factor,
                                 size_units[i].name);
    return vane_asprintf("%lluB", (unsigned long long)bytes);
}

char *format_now(void)
{
    struct timespec now;
    char text[TIMESTAMP_MAX_LEN];

    clock_gettime(CLOCK_REALTIME, &now);
    timestamp_format((int64_t)now.tv_sec * 1000000000 + now.tv_nsec, text);
    return vane_strdup(text);
}
