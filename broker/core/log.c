/*
 * log.c -- text and JSON-lines logging (see log.h).
 *
 * A line is built in a vane_buf and written at once.  JSON escaping is
 * jansson's, so a message with quotes, control characters or invalid UTF-8
 * still yields a valid JSON line.
 */
#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/log.h"

static struct {
    enum log_level level;
    enum vane_log_format format;
    int fd;
} logger = {LOG_LEVEL_INFO, VANE_LOG_TEXT, 2};

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const format_names[] = {"text", "json"};

void vane_log_setup(enum log_level level, enum vane_log_format format, int fd)
{
    logger.level = level;
    logger.format = format;
    logger.fd = fd;
}

static int parse_name(const char *name, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -EINVAL;
}

int vane_log_level_parse(const char *name, enum log_level *level)
{
    int i = parse_name(name, level_names, 4);

    if (i < 0)
        return i;
    *level = (enum log_level)i;
    return 0;
}

const char *vane_log_level_name(enum log_level level)
{
    return level <= LOG_LEVEL_DEBUG ? level_names[level] : "?";
}

int vane_log_format_parse(const char *name, enum vane_log_format *format)
{
    int i = parse_name(name, format_names, 2);

    if (i < 0)
        return i;
    *format = (enum vane_log_format)i;
    return 0;
}

bool vane_log_enabled(enum log_level level)
{
    return level <= logger.level;
}

static void format_time(char *out, size_t size)
{
    struct timeval tv;
    struct tm tm;
    size_t n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

static void append_json_line(struct vane_buf *line, const char *time, enum log_level level,
                             const char *component, const char *msg)
{
    json_t *obj = json_pack("{s:s, s:s, s:s, s:s?}", "time", time, "level",
                            vane_log_level_name(level), "component", component, "msg", msg);
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    /* json_pack refuses invalid UTF-8; say so rather than lose the line. */
    vane_buf_append_str(line, text ? text : "{\"level\":\"error\",\"msg\":\"unencodable log line\"}");
    free(text);
    json_decref(obj);
}

void vane_vlog(enum log_level level, const char *component, const char *fmt, va_list ap)
{
    struct vane_buf line = VANE_BUF_INIT;
    char time[40];

    if (!vane_log_enabled(level))
        return;
    format_time(time, sizeof(time));
    if (logger.format == VANE_LOG_JSON) {
        struct vane_buf msg = VANE_BUF_INIT;

        vane_buf_vappendf(&msg, fmt, ap);
        append_json_line(&line, time, level, component, msg.data);
        vane_buf_free(&msg);
    } else {
        vane_buf_appendf(&line, "%s %-5s %s: ", time, vane_log_level_name(level), component);
        vane_buf_vappendf(&line, fmt, ap);
    }
    vane_buf_append(&line, "\n", 1);
    /* A log line that cannot be written has nowhere else to go. */
    if (write(logger.fd, line.data, line.len) < 0)
        (void)errno;
    vane_buf_free(&line);
}

void vane_log(enum log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vane_vlog(level, component, fmt, ap);
    va_end(ap);
}
