/*
 * log.h -- the broker's log.
 *
 * One line per message on a file descriptor (stderr by default), in text
 *
 *     2026-11-26T16:32:28.123Z info  vaned: listening on http://127.0.0.1:8080
 *
 * or, by option, as JSON lines
 *
 *     {"time":"2026-11-26T16:32:28.123Z","level":"info","component":"vaned","msg":"..."}
 *
 * Each line is written with a single write(2), so lines from several threads
 * never interleave.  The settings are process-wide and are set once at start
 * (vane_log_setup) before any thread is started.
 */
#ifndef VANE_CORE_LOG_H
#define VANE_CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
    LOG_LEVEL_ERROR,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
};

enum vane_log_format {
    VANE_LOG_TEXT,
    VANE_LOG_JSON,
};

/* Messages above level are dropped; lines go to fd in the given format. */
void vane_log_setup(enum log_level level, enum vane_log_format format, int fd);

/* Parses "error", "warn", "info" or "debug".  Returns 0 or -EINVAL. */
int vane_log_level_parse(const char *name, enum log_level *level);
const char *vane_log_level_name(enum log_level level);
/* Parses "text" or "json".  Returns 0 or -EINVAL. */
int vane_log_format_parse(const char *name, enum vane_log_format *format);

bool vane_log_enabled(enum log_level level);

/* Logs one line; component names the part that speaks ("vaned", "gateway"). */
void vane_log(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vane_vlog(enum log_level level, const char *component, const char *fmt, va_list ap);

#define vane_log_error(component, ...) vane_log(LOG_LEVEL_ERROR, component, __VA_ARGS__)
#define vane_log_warn(component, ...) vane_log(LOG_LEVEL_WARN, component, __VA_ARGS__)
#define vane_log_info(component, ...) vane_log(LOG_LEVEL_INFO, component, __VA_ARGS__)
#define vane_log_debug(component, ...) vane_log(LOG_LEVEL_DEBUG, component, __VA_ARGS__)

#endif
