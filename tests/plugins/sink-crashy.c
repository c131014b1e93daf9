/*
 * sink-crashy.c -- a test sink for tests/test-engine.c: it appends each
 * delivered event's id to the file named by option "file", acknowledges it
 * after "delay_ms" (a slow sink, for scaling), crashes with a segfault on
 * the "crash_at"-th event its process receives (0: never), to show that a
 * crashing plugin takes down only its worker process, and never answers
 * the "hang_at"-th (0: never), to show that a hung one is replaced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vane/plugin.h>

struct crashy {
    const struct vane_host *host;
    struct vane_instance *self;
    FILE *file;
    int64_t crash_at, hang_at, delay_ms, received;
};

struct pending {
    struct crashy *c;
    struct vane_delivery *d;
};

static const struct vane_option options[] = {
    {"file", VANE_OPTION_STRING, NULL, VANE_OPTION_REQUIRED, "Where delivered ids are appended."},
    {"crash_at", VANE_OPTION_INT, "0", 0, "Segfault on this event of the process; 0: never."},
    {"delay_ms", VANE_OPTION_INT, "0", 0, "Acknowledge this long after receiving."},
    {"hang_at", VANE_OPTION_INT, "0", 0, "Never answer this event of the process; 0: none."},
    VANE_OPTIONS_END,
};

static int init(const struct vane_host *host, struct vane_instance *self, void **state)
{
    struct crashy *c = calloc(1, sizeof(*c));

    c->host = host;
    c->self = self;
    c->crash_at = host->option_int(self, "crash_at");
    c->hang_at = host->option_int(self, "hang_at");
    c->delay_ms = host->option_int(self, "delay_ms");
    c->file = fopen(host->option_string(self, "file"), "a");
    if (c->file == NULL) {
        host->log(self, VANE_PLUGIN_LOG_ERROR, "cannot open %s", host->option_string(self, "file"));
        free(c);
        return -1;
    }
    *state = c;
    return 0;
}

static void fini(void *state)
{
    struct crashy *c = state;

    fclose(c->file);
    free(c);
}

static void on_delay(void *arg)
{
    struct pending *p = arg;

    p->c->host->ack(p->d, 0, NULL);
    free(p);
}

static int deliver(void *state, const struct vane_event *ev, struct vane_delivery *d)
{
    struct crashy *c = state;
    struct vane_value id;
    struct pending *p;

    if (++c->received == c->crash_at)
        *(volatile int *)0 = 1; /* the crash the test asks for */
    if (c->received == c->hang_at)
        return 0; /* d is never settled: the engine must see it hang */
    if (!c->host->event_get(ev, "id", &id))
        return VANE_EINVAL;
    fprintf(c->file, "%.*s\n", (int)id.len, id.ptr);
    fflush(c->file);
    if (c->delay_ms <= 0) {
        c->host->ack(d, 0, NULL);
        return 0;
    }
    p = malloc(sizeof(*p));
    p->c = c;
    p->d = d;
    if (c->host->timer_start(c->self, (uint64_t)c->delay_ms, 0, on_delay, p) < 0) {
        free(p);
        return VANE_ERETRY;
    }
    return 0;
}

VANE_PLUGIN_DECLARE(.name = "sink-crashy", .version = "1.0.0", .kind = VANE_PLUGIN_SINK,
                    .description = "a test sink that records ids, and can be slow or crash",
                    .options = options, .init = init, .fini = fini, .deliver = deliver);
