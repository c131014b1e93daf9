/*
 * tap.h -- a tiny TAP producer for Vane's tests (Automake's tap-driver.sh
 * reads it).
 *
 * Assertions print both operands on failure, as libuv's test/task.h does,
 * and never stop the program: a failing check is reported and the test goes
 * on, so one run shows every failure.  tap_done() prints the plan and returns
 * the exit status for main().
 *
 *     int main(void) {
 *         is_int(add(1, 2), 3, "add adds");
 *         is_str(name(), "vane", "name");
 *         return tap_done();
 *     }
 */
#ifndef VANE_TESTS_TAP_H
#define VANE_TESTS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

bool tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool tap_is_int(intmax_t got, intmax_t want, const char *got_expr, const char *file, int line,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
bool tap_is_str(const char *got, const char *want, const char *got_expr, const char *file,
                int line, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
bool tap_contains(const char *haystack, const char *needle, const char *expr, const char *file,
                  int line, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Prints a diagnostic line ("# ..."). */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Skips the whole program (exit status 77 is not used: TAP's own skip plan is). */
int tap_skip_all(const char *why);
int tap_done(void);

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
    tap_is_int((intmax_t)(got), (intmax_t)(want), #got, __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), #got, __FILE__, __LINE__, __VA_ARGS__)
#define contains(haystack, needle, ...) \
    tap_contains((haystack), (needle), #haystack, __FILE__, __LINE__, __VA_ARGS__)

#endif
