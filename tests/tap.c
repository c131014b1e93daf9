/*
 * tap.c -- the TAP producer behind tap.h.
 */
#include <stdio.h>
#include <string.h>

#include "tap.h"

static int tests_run, tests_failed;

static void report(bool pass, const char *fmt, va_list ap)
{
    printf("%s %d - ", pass ? "ok" : "not ok", ++tests_run);
    vprintf(fmt, ap);
    printf("\n");
    if (!pass)
        tests_failed++;
}

bool tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#   failed at %s:%d\n", file, line);
    fflush(stdout);
    return pass;
}

bool tap_is_int(intmax_t got, intmax_t want, const char *got_expr, const char *file, int line,
                const char *fmt, ...)
{
    bool pass = got == want;
    va_list ap;

    va_start(ap, fmt);
    report(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#   failed at %s:%d\n#   %s\n#        got: %jd\n#   expected: %jd\n", file, line,
               got_expr, got, want);
    fflush(stdout);
    return pass;
}

bool tap_is_str(const char *got, const char *want, const char *got_expr, const char *file,
                int line, const char *fmt, ...)
{
    bool pass = (got == NULL && want == NULL) ||
                (got != NULL && want != NULL && strcmp(got, want) == 0);
    va_list ap;

    va_start(ap, fmt);
    report(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#   failed at %s:%d\n#   %s\n#        got: \"%s\"\n#   expected: \"%s\"\n", file,
               line, got_expr, got ? got : "(null)", want ? want : "(null)");
    fflush(stdout);
    return pass;
}

bool tap_contains(const char *haystack, const char *needle, const char *expr, const char *file,
                  int line, const char *fmt, ...)
{
    bool pass = haystack != NULL && strstr(haystack, needle) != NULL;
    va_list ap;

    va_start(ap, fmt);
    report(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#   failed at %s:%d\n#   %s\n#        got: \"%s\"\n#   expected to contain: \"%s\"\n",
               file, line, expr, haystack ? haystack : "(null)", needle);
    fflush(stdout);
    return pass;
}

void tap_diag(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

int tap_skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    return 0;
}

int tap_done(void)
{
    printf("1..%d\n", tests_run);
    if (tests_failed)
        printf("# %d of %d failed\n", tests_failed, tests_run);
    return tests_failed ? 1 : 0;
}
