/*
 * crash-writer.c -- the writer that tests/test-crash.c kills.
 *
 *     crash-writer DIR GENERATION
 *
 * Opens the eventlog in DIR, prints "ready NEXT" with the offset the log
 * resumes at, then keeps WRITERS appends in flight, each event with the id
 * "GENERATION-SEQ", and prints "ack OFFSET ID" for every acknowledged event
 * with one write(2), so a line that was printed was acknowledged.  It runs
 * until it is killed (or for 60 s at most).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "store/eventlog.h"

#define WRITERS 64

static uv_loop_t loop;
static struct eventlog *log_;
static const char *generation;
static unsigned long seq;
static char payload[200];

struct writer {
    char id[64];
};

static void say(const char *text)
{
    size_t len = strlen(text);

    if (write(1, text, len) != (ssize_t)len)
        exit(3);
}

static void append_next(struct writer *w);

static void on_ack(void *arg, int status, uint64_t offset)
{
    struct writer *w = arg;
    char line[128];

    if (status != 0) {
        fprintf(stderr, "append failed: %d\n", status);
        exit(4);
    }
    snprintf(line, sizeof(line), "ack %llu %s\n", (unsigned long long)offset, w->id);
    say(line);
    append_next(w);
}

static void append_next(struct writer *w)
{
    struct event e = EVENT_INIT;

    snprintf(w->id, sizeof(w->id), "%s-%lu", generation, seq++);
    event_add_string(&e, "specversion", EVENT_STRING, "1.0");
    event_add_string(&e, "id", EVENT_STRING, w->id);
    event_add_string(&e, "source", EVENT_URI_REF, "/crash");
    event_add_string(&e, "type", EVENT_STRING, "test.crash");
    event_set_data(&e, payload, sizeof(payload));
    if (eventlog_append(log_, &e, 1, on_ack, w) != 0)
        exit(5);
    event_free(&e);
}

static void on_ready(struct eventlog *log, int status, void *arg)
{
    static struct writer writers[WRITERS];
    struct eventlog_stats st;
    char line[64];

    (void)arg;
    if (status != 0)
        exit(6);
    eventlog_stats(log, &st);
    snprintf(line, sizeof(line), "ready %llu\n", (unsigned long long)st.next_offset);
    say(line);
    for (int i = 0; i < WRITERS; i++)
        append_next(&writers[i]);
}

static void on_timeout(uv_timer_t *timer)
{
    (void)timer;
    exit(0);
}

int main(int argc, char **argv)
{
    struct eventlog_options opt;
    uv_timer_t limit;
    char *errmsg = NULL;

    if (argc != 3)
        return 2;
    generation = argv[2];
    memset(payload, 'x', sizeof(payload));
    uv_loop_init(&loop);
    eventlog_options_default(&opt);
    opt.segment_size = 256 * 1024; /* roll often: kills land mid-roll too */
    opt.snapshot_threshold = 8;    /* and mid-snapshot */
    if (eventlog_open(&log_, &loop, argv[1], &opt, on_ready, NULL, &errmsg) != 0) {
        fprintf(stderr, "%s\n", errmsg);
        return 1;
    }
    uv_timer_init(&loop, &limit);
    uv_timer_start(&limit, on_timeout, 60000, 0);
    return uv_run(&loop, UV_RUN_DEFAULT);
}
