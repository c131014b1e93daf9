/*
 * bench-filter.c -- how many filter evaluations per second the subscription
 * filters (broker/filter/filter.h) do on stored events, each figure beside
 * its target.  Run by `make bench`; `--help` lists the knobs.
 *
 * Design.  The events are what a subscription worker gets from the store:
 * each is built as a GitHub connector would publish it (the required
 * attributes, subject, time, datacontenttype, two extensions and about
 * 1 KiB of JSON data), encoded as a segment record (record.h), sealed, and
 * decoded back, so that its attributes point into record bytes exactly as
 * they do after a segment read.  EVENT_COUNT such events of three types
 * rotate under each filter, so about a third match an exact on the type.
 *
 * Each figure compiles one filter and calls filter_match() on the events in
 * turn for --duration seconds (after a warm-up of a tenth of that), reading
 * the clock once per EVENT_COUNT calls.  Figures with a target say "ok" or
 * "MISSED"; the others are for reference.  The program exits 0 once it has
 * measured (a missed target included), 1 when it could not run (a filter
 * did not compile, an event would not encode).  Options of the other
 * benchmarks that `make bench BENCH_FLAGS=...` passes to every program are
 * ignored here with a note, so one BENCH_FLAGS serves them all.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/alloc.h"
#include "event/event.h"
#include "filter/filter.h"
#include "store/record.h"

#include "bench-util.h"

#define EVENT_COUNT 96
#define DEFAULT_DURATION 2.0
#define QUICK_DURATION 0.2

struct figure {
    const char *name;
    const char *filters; /* JSON */
    double target;       /* evaluations per second; 0: a reference figure */
};

static const struct figure figures[] = {
    {"exact on type", "[{\"exact\":{\"type\":\"com.github.push\"}}]", 5e6},
    {"CESQL: two comparisons and a LIKE",
     "[{\"sql\":\"type = 'com.github.push' AND subject != 'refs/heads/gh-pages' AND "
     "source LIKE 'https://github.com/%'\"}]", 2e6},
    {"exact on type and an extension",
     "[{\"exact\":{\"type\":\"com.github.push\",\"githubdelivery\":\"no-such-delivery\"}}]", 0},
    {"prefix and suffix",
     "[{\"prefix\":{\"source\":\"https://github.com/\"}},{\"suffix\":{\"subject\":\"/main\"}}]",
     0},
    {"any of three exacts, under not",
     "[{\"not\":{\"any\":[{\"exact\":{\"type\":\"a\"}},{\"exact\":{\"type\":\"b\"}},"
     "{\"exact\":{\"type\":\"com.github.issues\"}}]}}]", 0},
    {"exact on data.repository.name (parses data)",
     "[{\"exact\":{\"data.repository.name\":\"vane\"}}]", 0},
};

struct config {
    double duration;
};

/* ---- events ------------------------------------------------------------- */

struct stored {
    void *record;
    struct event event;
};

static const char *const event_types[] = {"com.github.push", "com.github.pull_request",
                                          "com.github.issues"};

/* Builds event i, encodes it as a sealed record, and decodes it back into s. */
static int store_event(size_t i, char *data, struct stored *s)
{
    struct event event = EVENT_INIT;
    struct record_view view;
    const char *why = NULL;
    char id[32];
    size_t size;

    snprintf(id, sizeof(id), "delivery-%zu", i);
    bench_push_event(&event, i, id, event_types[i % 3], data);
    size = record_size(&event);
    s->record = size ? vane_malloc(size) : NULL;
    if (s->record != NULL) {
        record_encode(&event, s->record);
        record_seal(s->record, i, 1714557600123000000, i + 1, 0);
    }
    event_free(&event);
    if (s->record == NULL || record_decode(s->record, size, &view, &why) != 0) {
        fprintf(stderr, "bench-filter: event %zu does not round-trip through a record: %s\n", i,
                why ? why : "too large");
        return -EINVAL;
    }
    s->event = (struct event)EVENT_INIT;
    record_to_event(&view, &s->event);
    return 0;
}

/* ---- measuring ---------------------------------------------------------- */

/* Evaluations per second of f over the events for seconds; *pass_share of them passed. */
static double evaluations_per_second(const struct filter *f, const struct stored *events,
                                     double seconds, double *pass_share)
{
    uint64_t count = 0, passes = 0;
    double start = bench_now_s(), elapsed;

    do {
        for (size_t i = 0; i < EVENT_COUNT; i++)
            passes += filter_match(f, &events[i].event);
        count += EVENT_COUNT;
        elapsed = bench_now_s() - start;
    } while (elapsed < seconds);
    *pass_share = (double)passes / (double)count;
    return (double)count / elapsed;
}

static int run_figure(const struct figure *fig, const struct stored *events,
                      const struct config *cfg)
{
    char target_text[40];
    struct filter_error err;
    struct filter *f = NULL;
    json_t *json = json_loads(fig->filters, 0, NULL);
    double rate, pass_share;

    if (json == NULL || filter_compile(json, &f, &err) != 0) {
        fprintf(stderr, "bench-filter: %s: %s: %s\n", fig->name,
                json ? err.path : "the benchmark's JSON", json ? err.message : "does not parse");
        json_decref(json);
        return -EINVAL;
    }
    json_decref(json);
    evaluations_per_second(f, events, cfg->duration / 10, &pass_share);
    rate = evaluations_per_second(f, events, cfg->duration, &pass_share);
    if (fig->target > 0)
        snprintf(target_text, sizeof(target_text), ">= %s  %s",
                 bench_num(fig->target),
                 rate >= fig->target ? "ok" : "MISSED");
    else
        snprintf(target_text, sizeof(target_text), "(reference)");
    printf("%-44s %3.0f%% pass %14s/s  %s\n", fig->name, 100 * pass_share,
           bench_num(rate), target_text);
    filter_free(f);
    return 0;
}

/* ---- options ------------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(out, "usage: bench-filter [--quick] [--duration SECONDS]\n"
                 "  --quick                %.1f s per figure instead of %.1f (env BENCH_QUICK)\n"
                 "  --duration SECONDS     measured window of each figure (env BENCH_DURATION)\n"
                 "Other options (those of bench-store and bench-gateway) are ignored.\n",
            QUICK_DURATION, DEFAULT_DURATION);
}

static int configure(struct config *cfg, int argc, char **argv)
{
    const char *duration = getenv("BENCH_DURATION");
    char *end;

    cfg->duration = getenv("BENCH_QUICK") ? QUICK_DURATION : DEFAULT_DURATION;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            cfg->duration = QUICK_DURATION;
        } else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
            duration = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "bench-filter: ignoring %s (not an option of this benchmark)\n",
                    argv[i]);
        }
    }
    if (duration != NULL) {
        cfg->duration = strtod(duration, &end);
        if (*end != '\0' || !(cfg->duration > 0 && cfg->duration <= 3600)) {
            fprintf(stderr, "bench-filter: --duration: expected seconds from 0 to 3600, got "
                            "\"%s\"\n", duration);
            return -EINVAL;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct stored events[EVENT_COUNT];
    static char *data[EVENT_COUNT];
    struct config cfg;
    int status = 0;

    if (configure(&cfg, argc, argv) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < EVENT_COUNT && status == 0; i++) {
        data[i] = bench_push_data(i, i % 2 ? "vane" : "other", 735);
        if (store_event(i, data[i], &events[i]) != 0)
            status = 1;
    }
    if (status == 0) {
        printf("bench-filter: filter_match() on %d stored events of %zu B of JSON data, "
               "%.1f s per figure\n", EVENT_COUNT, strlen(data[0]), cfg.duration);
        for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]) && status == 0; i++)
            if (run_figure(&figures[i], events, &cfg) != 0)
                status = 1;
    }
    for (size_t i = 0; i < EVENT_COUNT; i++) {
        event_free(&events[i].event);
        vane_free(events[i].record);
        vane_free(data[i]);
    }
    return status;
}
