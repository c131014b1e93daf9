/*
 * timestamp.c -- RFC 3339 parse and format (see timestamp.h).
 */
#define _DEFAULT_SOURCE /* timegm */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "event/timestamp.h"

struct cursor {
    const char *p, *end;
};

/* Reads exactly n digits as a number; -1 when they are not there. */
static int digits(struct cursor *c, int n)
{
    int value = 0;

    if (c->end - c->p < n)
        return -1;
    for (int i = 0; i < n; i++, c->p++) {
        if (*c->p < '0' || *c->p > '9')
            return -1;
        value = value * 10 + (*c->p - '0');
    }
    return value;
}

static bool expect(struct cursor *c, char lower, char upper)
{
    if (c->p < c->end && (*c->p == lower || *c->p == upper)) {
        c->p++;
        return true;
    }
    return false;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

/* The fraction of a second, as nanoseconds; digits past the ninth are dropped. */
static int64_t fraction(struct cursor *c, bool *ok)
{
    int64_t ns = 0;
    int n = 0;

    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (n++ < 9)
            ns = ns * 10 + (*c->p - '0');
        c->p++;
    }
    *ok = n > 0;
    for (; n < 9; n++)
        ns *= 10;
    return ns;
}

/* The zone offset in seconds east of UTC; false when malformed. */
static bool zone(struct cursor *c, int *offset)
{
    int sign, hours, minutes;

    if (expect(c, 'z', 'Z')) {
        *offset = 0;
        return true;
    }
    if (c->p >= c->end || (*c->p != '+' && *c->p != '-'))
        return false;
    sign = *c->p++ == '-' ? -1 : 1;
    hours = digits(c, 2);
    if (hours < 0 || hours > 23 || !expect(c, ':', ':'))
        return false;
    minutes = digits(c, 2);
    if (minutes < 0 || minutes > 59)
        return false;
    *offset = sign * (hours * 3600 + minutes * 60);
    return true;
}

/* Seconds and nanoseconds as nanoseconds, held at the ends of int64_t
 * (years 1677 and 2262) rather than overflowing. */
static int64_t to_ns(int64_t secs, int64_t frac)
{
    if (secs > (INT64_MAX - frac) / 1000000000)
        return INT64_MAX;
    if (secs < INT64_MIN / 1000000000 + 1)
        return INT64_MIN;
    return secs * 1000000000 + frac;
}

int timestamp_parse(const char *text, size_t len, int64_t *ns, const char **why)
{
    struct cursor c = {text, text + len};
    struct tm tm = {0};
    int year, month, day, hour, minute, second, offset = 0;
    int64_t frac = 0;
    bool ok = true;

    year = digits(&c, 4);
    month = expect(&c, '-', '-') ? digits(&c, 2) : -1;
    day = expect(&c, '-', '-') ? digits(&c, 2) : -1;
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        *why = "expected an RFC 3339 date-time such as 2026-11-26T10:00:00Z (bad date)";
        return -EINVAL;
    }
    hour = expect(&c, 't', 'T') ? digits(&c, 2) : -1;
    minute = expect(&c, ':', ':') ? digits(&c, 2) : -1;
    second = expect(&c, ':', ':') ? digits(&c, 2) : -1;
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
        *why = "expected an RFC 3339 date-time such as 2026-11-26T10:00:00Z (bad time of day)";
        return -EINVAL;
    }
    if (expect(&c, '.', '.'))
        frac = fraction(&c, &ok);
    if (!ok || !zone(&c, &offset) || c.p != c.end) {
        *why = "expected an RFC 3339 date-time such as 2026-11-26T10:00:00Z (bad fraction or "
               "zone; the zone is Z or +HH:MM)";
        return -EINVAL;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    *ns = to_ns((int64_t)timegm(&tm) - offset, frac);
    return 0;
}

int64_t timestamp_now(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

size_t timestamp_format(int64_t ns, char out[TIMESTAMP_MAX_LEN])
{
    time_t secs = (time_t)(ns / 1000000000);
    int64_t frac = ns % 1000000000;
    struct tm tm;
    size_t len;
    int digits_kept = 9;

    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    gmtime_r(&secs, &tm);
    len = strftime(out, TIMESTAMP_MAX_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac != 0) {
        while (frac % 10 == 0) {
            frac /= 10;
            digits_kept--;
        }
        len += (size_t)snprintf(out + len, TIMESTAMP_MAX_LEN - len, ".%0*lld", digits_kept,
                                (long long)frac);
    }
    out[len++] = 'Z';
    out[len] = '\0';
    return len;
}
