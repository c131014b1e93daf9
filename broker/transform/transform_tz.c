/*
 * transform_tz.c -- IANA time zones for date_format and unix_time_format,
 * read from the system's tzdata (see transform_internal.h).
 *
 * Vanus calls Go's time.LoadLocation(name), which reads the same zoneinfo
 * files; so the same names work ("EST", "America/New_York", "UTC").  The
 * C library's own zone support works through the TZ environment variable,
 * process-wide, which a broker applying transformers on several threads
 * cannot change under itself, so the TZif files (RFC 8536) are read here:
 * the table of transitions, and after the last one the POSIX TZ rule of the
 * file's footer ("EST5EDT,M3.2.0,M11.1.0"), which slim tzdata builds rely
 * on for every year after 2007.
 *
 * Files come from $TZDIR, else /usr/share/zoneinfo (Debian's tzdata
 * package).  A name is a relative path of letters, digits and "/_+-" with
 * no "..": nothing outside that folder is ever opened.  Leap-second
 * records are skipped, as Go does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "transform/transform_internal.h"

#define MAX_TZ_FILE (1 << 20)

/* A date in a POSIX rule: Jn, n, or Mm.w.d; and the local time of day it changes at. */
struct tz_date {
    char kind; /* 'J', 'n' or 'M' */
    int day, month, week, weekday;
    long time; /* seconds after local midnight */
};

/* A POSIX TZ rule: standard offset and, when dst, its offset and dates. */
struct tz_rule {
    long std_off, dst_off; /* seconds east of UTC */
    bool dst;
    struct tz_date start, end;
};

struct tf_zone {
    int64_t *times;    /* transitions, ascending */
    unsigned char *idx; /* the type in force from each transition */
    size_t ntimes;
    long *offsets;     /* seconds east of UTC, by type */
    size_t ntypes;
    bool has_rule;     /* the footer's rule applies after the last transition */
    struct tz_rule rule;
};

/* ---- calendar ---------------------------------------------------------- */

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian; Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

void transform_tz_civil(int64_t day, int64_t *year, int *month, int *mday)
{
    int64_t z = day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;

    *mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

static int64_t year_of(int64_t day)
{
    int64_t year;
    int month, mday;

    transform_tz_civil(day, &year, &month, &mday);
    return year;
}

int64_t transform_tz_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since the epoch of a rule's date in year y. */
static int64_t rule_day(const struct tz_date *date, int64_t y)
{
    int64_t first;
    int day;

    if (date->kind == 'J')
        return days_from_civil(y, 1, 1) + date->day - 1 + (is_leap(y) && date->day >= 60);
    if (date->kind == 'n')
        return days_from_civil(y, 1, 1) + date->day;
    first = days_from_civil(y, date->month, 1);
    /* 1970-01-01 was a Thursday (4). */
    day = 1 + (int)(((date->weekday - (first + 4) % 7) % 7 + 14) % 7);
    day += (date->week - 1) * 7;
    while (day > days_in_month(y, date->month))
        day -= 7;
    return first + day - 1;
}

/* ---- the POSIX TZ rule of the footer ----------------------------------- */

static const char *skip_name(const char *p)
{
    if (*p == '<') {
        while (*p != '\0' && *p != '>')
            p++;
        return *p == '>' ? p + 1 : NULL;
    }
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
        p++;
    return p;
}

/* [+-]h[h][:mm[:ss]] into seconds. */
static const char *parse_hms(const char *p, long *secs)
{
    long sign = 1, h = 0, m = 0, s = 0;

    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (*p < '0' || *p > '9')
        return NULL;
    h = strtol(p, (char **)&p, 10);
    if (*p == ':') {
        m = strtol(p + 1, (char **)&p, 10);
        if (*p == ':')
            s = strtol(p + 1, (char **)&p, 10);
    }
    if (h > 167 || m > 59 || s > 59)
        return NULL;
    *secs = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_date(const char *p, struct tz_date *date)
{
    char *end;

    memset(date, 0, sizeof(*date));
    date->time = 2 * 3600;
    if (*p == 'M') {
        date->kind = 'M';
        date->month = (int)strtol(p + 1, &end, 10);
        if (*end != '.')
            return NULL;
        date->week = (int)strtol(end + 1, &end, 10);
        if (*end != '.')
            return NULL;
        date->weekday = (int)strtol(end + 1, &end, 10);
        if (date->month < 1 || date->month > 12 || date->week < 1 || date->week > 5 ||
            date->weekday < 0 || date->weekday > 6)
            return NULL;
    } else {
        date->kind = *p == 'J' ? 'J' : 'n';
        date->day = (int)strtol(p + (*p == 'J'), &end, 10);
        if (end == p + (*p == 'J') || date->day < (date->kind == 'J') || date->day > 365)
            return NULL;
    }
    p = end;
    if (*p == '/')
        p = parse_hms(p + 1, &date->time);
    return p;
}

/* The footer's rule; false when it has none or one this reader does not take. */
static bool parse_rule(const char *p, struct tz_rule *rule)
{
    long west;

    memset(rule, 0, sizeof(*rule));
    if ((p = skip_name(p)) == NULL || (p = parse_hms(p, &west)) == NULL)
        return false;
    rule->std_off = rule->dst_off = -west;
    if (*p == '\0')
        return true;
    if ((p = skip_name(p)) == NULL)
        return false;
    rule->dst = true;
    rule->dst_off = rule->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if ((p = parse_hms(p, &west)) == NULL)
            return false;
        rule->dst_off = -west;
    }
    if (*p != ',' || (p = parse_date(p + 1, &rule->start)) == NULL || *p != ',' ||
        (p = parse_date(p + 1, &rule->end)) == NULL)
        return false;
    return *p == '\0';
}

static long rule_offset(const struct tz_rule *rule, int64_t t)
{
    int64_t year, start, end;

    if (!rule->dst)
        return rule->std_off;
    year = year_of(transform_tz_floor_div(t + rule->std_off, 86400));
    start = rule_day(&rule->start, year) * 86400 + rule->start.time - rule->std_off;
    end = rule_day(&rule->end, year) * 86400 + rule->end.time - rule->dst_off;
    if (start < end)
        return t >= start && t < end ? rule->dst_off : rule->std_off;
    return t >= end && t < start ? rule->std_off : rule->dst_off;
}

/* ---- TZif files --------------------------------------------------------- */

struct reader {
    const unsigned char *p, *end;
};

static bool need(const struct reader *r, size_t n)
{
    return (size_t)(r->end - r->p) >= n;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Counts of one header: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt. */
static bool read_header(struct reader *r, uint32_t counts[6], char *version)
{
    if (!need(r, 44) || memcmp(r->p, "TZif", 4) != 0)
        return false;
    *version = (char)r->p[4];
    for (int i = 0; i < 6; i++)
        counts[i] = be32(r->p + 20 + 4 * i);
    r->p += 44;
    return counts[4] > 0 && counts[4] <= 256 && counts[3] <= 100000;
}

static size_t block_size(const uint32_t c[6], size_t time_size)
{
    return c[3] * time_size + c[3] + c[4] * 6 + c[5] + c[2] * (time_size + 4) + c[1] + c[0];
}

/* The transitions and types of one data block (times of time_size bytes). */
static bool read_block(struct reader *r, const uint32_t c[6], size_t time_size,
                       struct tf_zone *zone)
{
    const unsigned char *p = r->p;

    if (!need(r, block_size(c, time_size)))
        return false;
    zone->ntimes = c[3];
    zone->ntypes = c[4];
    zone->times = vane_calloc(zone->ntimes + 1, sizeof(*zone->times));
    zone->idx = vane_calloc(zone->ntimes + 1, 1);
    zone->offsets = vane_calloc(zone->ntypes, sizeof(*zone->offsets));
    for (size_t i = 0; i < zone->ntimes; i++, p += time_size)
        zone->times[i] = time_size == 8 ? be64(p) : (int32_t)be32(p);
    for (size_t i = 0; i < zone->ntimes; i++, p++) {
        if (*p >= zone->ntypes)
            return false;
        zone->idx[i] = *p;
    }
    for (size_t i = 0; i < zone->ntypes; i++, p += 6)
        zone->offsets[i] = (int32_t)be32(p);
    r->p += block_size(c, time_size);
    return true;
}

static bool read_tzif(const unsigned char *data, size_t len, struct tf_zone *zone)
{
    struct reader r = {data, data + len};
    uint32_t counts[6];
    char version;
    char footer[128];
    const unsigned char *nl;
    size_t n;

    if (!read_header(&r, counts, &version))
        return false;
    if (version < '2')
        return read_block(&r, counts, 4, zone);
    if (!need(&r, block_size(counts, 4)))
        return false;
    r.p += block_size(counts, 4);
    if (!read_header(&r, counts, &version) || !read_block(&r, counts, 8, zone))
        return false;
    if (need(&r, 2) && r.p[0] == '\n' &&
        (nl = memchr(r.p + 1, '\n', (size_t)(r.end - r.p - 1))) != NULL &&
        (n = (size_t)(nl - r.p - 1)) > 0 && n < sizeof(footer)) {
        memcpy(footer, r.p + 1, n);
        footer[n] = '\0';
        zone->has_rule = parse_rule(footer, &zone->rule);
    }
    return true;
}

static bool name_safe(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > 200 || name[0] == '/' || strstr(name, "..") != NULL)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '+' || c == '-'))
            return false;
    }
    return true;
}

/* Reads the whole file at path (at most MAX_TZ_FILE bytes); NULL when it cannot. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;

    if (f == NULL)
        return NULL;
    data = vane_malloc(MAX_TZ_FILE);
    *len = fread(data, 1, MAX_TZ_FILE, f);
    if (ferror(f) || *len == 0 || *len == MAX_TZ_FILE) {
        vane_free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

int transform_tz_load(const char *name, struct tf_zone **out, struct transform_error *err)
{
    const char *dir = getenv("TZDIR");
    struct tf_zone *zone = NULL;
    unsigned char *data = NULL;
    char *path;
    size_t len = 0;

    *out = NULL;
    if (name[0] == '\0' || strcmp(name, "UTC") == 0)
        return 0; /* NULL is UTC */
    if (!name_safe(name))
        return transform_why(err, "unknown time zone \"%.60s\": expected an IANA name such "
                                  "as America/New_York", name);
    path = vane_asprintf("%s/%s", dir != NULL && dir[0] != '\0' ? dir : "/usr/share/zoneinfo",
                         name);
    data = slurp(path, &len);
    vane_free(path);
    if (data == NULL)
        return transform_why(err, "unknown time zone \"%.60s\" (no such zone in the system's "
                                  "tzdata)", name);
    zone = VANE_NEW(zone);
    if (!read_tzif(data, len, zone)) {
        transform_tz_free(zone);
        vane_free(data);
        return transform_why(err, "time zone \"%.60s\": its tzdata file is not TZif", name);
    }
    vane_free(data);
    *out = zone;
    return 0;
}

long transform_tz_offset(const struct tf_zone *zone, int64_t t)
{
    size_t lo = 0, hi;

    if (zone == NULL)
        return 0;
    if (zone->ntimes == 0 || t < zone->times[0])
        return zone->ntimes == 0 && zone->has_rule ? rule_offset(&zone->rule, t)
                                                   : zone->offsets[0];
    if (t >= zone->times[zone->ntimes - 1] && zone->has_rule)
        return rule_offset(&zone->rule, t);
    /* The last transition at or before t. */
    hi = zone->ntimes;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (zone->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return zone->offsets[zone->idx[lo]];
}

void transform_tz_free(struct tf_zone *zone)
{
    if (zone == NULL)
        return;
    vane_free(zone->times);
    vane_free(zone->idx);
    vane_free(zone->offsets);
    vane_free(zone);
}
