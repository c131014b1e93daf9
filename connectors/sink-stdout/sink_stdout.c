/*
 * sink_stdout.c -- the sink-stdout connector: prints every event it is
 * given as one line and acknowledges it at once.  For trying things out.
 *
 * A line is the event in the CloudEvents JSON format (format "json", the
 * default) or "id type source subject" separated by spaces with "-" for a
 * missing subject (format "text").  It goes to the worker's standard output,
 * or is appended to the file named by option "file".  Each line is written
 * with a single write(2) on a descriptor opened with O_APPEND, so the lines
 * of several instances appending to one file do not interleave.  A failed
 * write is acknowledged VANE_ERETRY (the event comes again later) and
 * logged; nothing is buffered, so an acknowledged event is in the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vane/plugin.h>

#include "../common/event_format.h"
#include "../common/strbuf.h"
#include "../../broker/core/write_all.h"

enum line_format { FORMAT_JSON, FORMAT_TEXT };

struct sink_stdout {
    const struct vane_host *host;
    struct vane_instance *self;
    enum line_format format;
    int fd;          /* 1, or the file's */
    struct strbuf line; /* reused for every event */
};

static const struct vane_option options[] = {
    {"format", VANE_OPTION_STRING, "\"json\"", 0,
     "How each event is printed: \"json\" (one line of CloudEvents JSON) or \"text\" "
     "(id, type, source and subject separated by spaces)."},
    {"file", VANE_OPTION_STRING, NULL, 0,
     "A file to append the lines to (created if missing) instead of standard output."},
    VANE_OPTIONS_END,
};

static int parse_format(struct sink_stdout *s)
{
    const char *format = s->host->option_string(s->self, "format");

    if (format == NULL || strcmp(format, "json") == 0)
        s->format = FORMAT_JSON;
    else if (strcmp(format, "text") == 0)
        s->format = FORMAT_TEXT;
    else {
        s->host->log(s->self, VANE_PLUGIN_LOG_ERROR,
                     "option format: expected \"json\" or \"text\"; got \"%s\"", format);
        return VANE_EINVAL;
    }
    return 0;
}

static int open_output(struct sink_stdout *s)
{
    const char *path = s->host->option_string(s->self, "file");

    s->fd = STDOUT_FILENO;
    if (path == NULL || *path == '\0')
        return 0;
    s->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        int rc = -errno;

        s->host->log(s->self, VANE_PLUGIN_LOG_ERROR,
                     "option file: cannot open \"%s\" for appending: %s", path, strerror(errno));
        return rc;
    }
    return 0;
}

static void sink_free(struct sink_stdout *s)
{
    if (s->fd > STDERR_FILENO)
        close(s->fd);
    strbuf_free(&s->line);
    free(s);
}

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    struct sink_stdout *s = strbuf_xcalloc(1, sizeof(*s));
    int rc;

    s->host = host;
    s->self = self;
    s->fd = -1;
    rc = parse_format(s);
    if (rc == 0)
        rc = open_output(s);
    if (rc != 0) {
        sink_free(s);
        return rc;
    }
    *state = s;
    return 0;
}

static void fini(void *state)
{
    sink_free(state);
}

/* "id type source subject": the attributes' text, "-" for one the event lacks. */
static void format_text(struct sink_stdout *s, const struct vane_event *ev)
{
    static const char *const names[] = {"id", "type", "source", "subject"};
    struct strbuf value = STRBUF_INIT;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (i > 0)
            strbuf_append(&s->line, " ", 1);
        if (event_format_attr(s->host, ev, names[i], &value))
            strbuf_append(&s->line, value.data, value.len);
        else
            strbuf_append(&s->line, "-", 1);
    }
    strbuf_free(&value);
}

static int deliver(void *state, const struct vane_event *ev, struct vane_delivery *d)
{
    struct sink_stdout *s = state;
    int rc;

    strbuf_reset(&s->line);
    if (s->format == FORMAT_JSON)
        event_format_json(s->host, ev, &s->line);
    else
        format_text(s, ev);
    strbuf_append(&s->line, "\n", 1);
    rc = write_all(s->fd, s->line.data, s->line.len);
    if (rc != 0) {
        s->host->log(s->self, VANE_PLUGIN_LOG_WARN, "write failed, the event will come again: %s",
                     strerror(-rc));
        s->host->ack(d, VANE_ERETRY, strerror(-rc));
        return 0;
    }
    s->host->ack(d, 0, NULL);
    return 0;
}

VANE_PLUGIN_DECLARE(.name = "sink-stdout", .version = "1.0.0", .kind = VANE_PLUGIN_SINK,
                    .description = "Prints each event as one line (JSON or text) to standard "
                                   "output or a file.",
                    .options = options, .init = init, .fini = fini, .deliver = deliver);
