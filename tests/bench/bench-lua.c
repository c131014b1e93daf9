/*
 * bench-lua.c -- how many events per second a Lua transform handles on one
 * core, beside the same loop with no transform.  Run by `make bench`;
 * `--help` lists the knobs.
 *
 * Design.  The events are what a subscription worker hands a transform:
 * GitHub-like push events (the required attributes, subject, time,
 * datacontenttype application/json, two extensions and about 1 KiB of JSON
 * data), EVENT_COUNT of them in turn.  The script is the typical transform
 * (it adds a field to data and an extension):
 *
 *     function transform(event)
 *       event.data.processed = true
 *       event.processedby = "vane-lua"
 *       return event
 *     end
 *
 * It is written into a fresh folder and loaded by a real script registry
 * (script_registry.h) on a libuv loop, and called through script_transform()
 * exactly as the trigger calls it: the event decoded into a table, the
 * function run under the sandbox's budget and memory cap, the result read
 * back, data encoded as JSON and every byte copied into an arena.  The
 * reference is the same loop where each event is only copied into the
 * arena (what delivering it untransformed costs at the least).  For
 * reference too: a filter that reads only the type (data never decoded),
 * and a transform that reads every part of the data before adding its
 * field (all of it decoded, and encoded again).
 *
 * Each figure runs for --duration seconds of this thread's CPU time (so a
 * figure is per core, whatever else the machine runs) after a warm-up of a
 * tenth of that, reading the clock once per EVENT_COUNT events; the arena is freed
 * every EVENT_COUNT events, as a worker frees it per batch.  The transform's
 * figure has a target (the issue's: 300,000 events/s per core) and says "ok"
 * or "MISSED".  Exits 0 once it has measured (a missed target included), 1
 * when it could not run.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/log.h"
#include "event/event.h"
#include "script/script.h"
#include "script/script_registry.h"

#include "bench-util.h"

#define EVENT_COUNT 96
#define TARGET 300000.0

static const char transform_script[] =
    "function transform(event)\n"
    "  event.data.processed = true\n"
    "  event.processedby = \"vane-lua\"\n"
    "  return event\n"
    "end\n";

/* Reads every part of the data (so all of it is decoded and written anew), then adds a field. */
static const char walk_script[] =
    "local function walk(v)\n"
    "  if type(v) == 'table' then for _, x in pairs(v) do walk(x) end end\n"
    "end\n"
    "function transform(event)\n"
    "  walk(event.data)\n"
    "  event.data.processed = true\n"
    "  return event\n"
    "end\n";

static const char filter_script[] =
    "function filter(event)\n"
    "  return event.type == \"com.github.push\"\n"
    "end\n";

struct bench_config {
    double duration;
    const char *dir;
    bool keep;
};

static const struct bench_knob knobs[] = {
    {"--dir", "BENCH_DIR", BENCH_KNOB_TEXT, offsetof(struct bench_config, dir),
     "parent directory of the run's script folder (default " BENCH_DEFAULT_PARENT ")"},
    {"--duration", "BENCH_DURATION", BENCH_KNOB_SECONDS, offsetof(struct bench_config, duration),
     "measured window of each figure (2 s; --quick 0.2 s)"},
};

static const struct bench_cli cli = {
    "bench-lua", "0.2 s per figure, a smoke test", 20, knobs, sizeof(knobs) / sizeof(knobs[0]),
    0.01, false, 1e9,
};

/* ---- events ------------------------------------------------------------- */

struct sample {
    char id[32];
    char *data;
    struct event event;
};

static void make_sample(size_t i, struct sample *s)
{
    snprintf(s->id, sizeof(s->id), "delivery-%zu", i);
    s->data = bench_push_data(i, "vane", 699);
    s->event = (struct event)EVENT_INIT;
    bench_push_event(&s->event, i, s->id, i % 3 ? "com.github.push" : "com.github.pull_request",
                     s->data);
}

/* ---- the three loops ------------------------------------------------------ */

/* What one figure runs on one event; returns 0 or an error. */
struct step {
    struct script_handle *handle;
    struct vane_arena arena;
    struct script_output out;
    uint64_t passed;
    char err[SCRIPT_ERROR_MAX];
};

/* The reference: the event copied into the arena, as it would be delivered. */
static int copy_step(struct step *st, const struct event *in)
{
    struct event *out;

    if (st->out.cap == 0) {
        st->out.events = vane_calloc(1, sizeof(*st->out.events));
        st->out.cap = 1;
    }
    out = &st->out.events[0];
    event_reset(out);
    for (size_t i = 0; i < in->attr_count; i++) {
        struct event_value v = in->attrs[i].value;

        if (v.type != EVENT_BOOLEAN && v.type != EVENT_INTEGER)
            v.u.bytes.ptr = vane_arena_strndup(&st->arena, v.u.bytes.ptr, v.u.bytes.len);
        event_add(out, vane_arena_strndup(&st->arena, in->attrs[i].name.ptr,
                                          in->attrs[i].name.len),
                  in->attrs[i].name.len, &v);
    }
    event_set_data(out, vane_arena_strndup(&st->arena, in->data.ptr, in->data.len),
                   in->data.len);
    st->passed++;
    return 0;
}

static int transform_step(struct step *st, const struct event *in)
{
    int rc = script_transform(st->handle, in, &st->arena, &st->out, st->err, sizeof(st->err));

    st->passed += st->out.count;
    return rc;
}

static int filter_step(struct step *st, const struct event *in)
{
    bool keep;
    int rc = script_filter(st->handle, in, &keep, st->err, sizeof(st->err));

    st->passed += keep;
    return rc;
}

/* Seconds of CPU this thread has used: "per core" whatever else the machine runs. */
static double cpu_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Events per CPU second of fn over the samples for seconds; -1 when a call failed. */
static double events_per_second(int (*fn)(struct step *, const struct event *), struct step *st,
                                const struct sample *samples, double seconds)
{
    uint64_t count = 0;
    double start = cpu_now_s(), elapsed;

    do {
        for (size_t i = 0; i < EVENT_COUNT; i++)
            if (fn(st, &samples[i].event) != 0)
                return -1;
        vane_arena_free(&st->arena);
        count += EVENT_COUNT;
        elapsed = cpu_now_s() - start;
    } while (elapsed < seconds);
    return (double)count / elapsed;
}

/* ---- figures ------------------------------------------------------------------ */

struct figure {
    const char *name;
    int (*fn)(struct step *, const struct event *);
    const char *script; /* NULL: none */
    unsigned functions;
    double target;      /* events/s; 0: a reference */
};

static const struct figure figures[] = {
    {"no transform (copy only)", copy_step, NULL, 0, 0},
    {"Lua transform: a data field, an extension", transform_step, "bench-transform",
     SCRIPT_TRANSFORM, TARGET},
    {"Lua filter on the type (data unread)", filter_step, "bench-filter", SCRIPT_FILTER, 0},
    {"Lua transform reading all of the data", transform_step, "bench-walk", SCRIPT_TRANSFORM,
     0},
};

static void add_row(struct bench_table *table, const struct figure *fig, double rate,
                    double reference)
{
    char measured[32], against[48];

    snprintf(measured, sizeof(measured), "%s/s", bench_num(rate));
    if (fig->target > 0)
        snprintf(against, sizeof(against), ">= %s/s", bench_num(fig->target));
    else if (reference > 0 && rate != reference)
        snprintf(against, sizeof(against), "copy: %s/s", bench_num(reference));
    else
        snprintf(against, sizeof(against), "(reference)");
    bench_table_add(table, fig->name, measured, against,
                    fig->target > 0 ? rate / fig->target : reference > 0 ? rate / reference : 0,
                    fig->target > 0 ? rate >= fig->target : -1);
}

static double run_figure(struct script_registry *registry, const struct figure *fig,
                         const struct sample *samples, const struct bench_config *cfg)
{
    struct step st = {.arena = VANE_ARENA_INIT, .out = SCRIPT_OUTPUT_INIT};
    double rate = -1;

    if (fig->script != NULL &&
        script_open(registry, fig->script, fig->functions, &st.handle, st.err,
                    sizeof(st.err)) != 0)
        bench_fatal("%s: %s", fig->name, st.err);
    events_per_second(fig->fn, &st, samples, cfg->duration / 10);
    st.passed = 0;
    rate = events_per_second(fig->fn, &st, samples, cfg->duration);
    if (rate < 0)
        bench_fatal("%s: %s", fig->name, st.err);
    printf("%-44s %14s/s  (%.0f%% of the events out)\n", fig->name, bench_num(rate),
           100.0 * (double)st.passed / (rate * cfg->duration));
    vane_arena_free(&st.arena);
    script_output_free(&st.out);
    script_close(st.handle);
    return rate;
}

/* ---- main ---------------------------------------------------------------------- */

static char *write_scripts(const struct bench_config *cfg)
{
    char *root = bench_make_root(cfg->dir, "bench-lua");
    const char *const files[][2] = {{"bench-transform.lua", transform_script},
                                    {"bench-filter.lua", filter_script},
                                    {"bench-walk.lua", walk_script}};

    bench_fatal_removes(root);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *path = vane_asprintf("%s/%s", root, files[i][0]);
        FILE *f = fopen(path, "w");

        if (f == NULL || fputs(files[i][1], f) == EOF || fclose(f) != 0)
            bench_fatal("cannot write %s: %s", path, strerror(errno));
        vane_free(path);
    }
    return root;
}

int main(int argc, char **argv)
{
    static struct sample samples[EVENT_COUNT];
    struct bench_config cfg = {.duration = bench_quick(argc, argv) ? 0.2 : 2.0,
                         .dir = BENCH_DEFAULT_PARENT};
    struct script_registry *registry;
    struct script_options options;
    struct bench_table table = {.nrows = 0};
    double reference = 0;
    uv_loop_t loop;
    char *root;

    if (bench_options(&cli, &cfg, &cfg.keep, argc, argv) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    vane_log_setup(LOG_LEVEL_WARN, VANE_LOG_TEXT, 2);
    root = write_scripts(&cfg);
    uv_loop_init(&loop);
    script_options_default(&options);
    options.dirs = root;
    if (script_registry_start(&registry, &loop, &options) != 0)
        bench_fatal("the script registry did not start");
    for (size_t i = 0; i < EVENT_COUNT; i++)
        make_sample(i, &samples[i]);
    printf("bench-lua: %d events of %zu B of JSON data, one core, %.1f s per figure\n",
           EVENT_COUNT, strlen(samples[0].data), cfg.duration);
    for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++) {
        double rate = run_figure(registry, &figures[i], samples, &cfg);

        add_row(&table, &figures[i], rate, reference);
        if (i == 0)
            reference = rate;
    }
    bench_table_print(&table, "events per CPU second of one thread calling the script; "
                              "'met' says whether a target was");
    script_registry_close(registry);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    for (size_t i = 0; i < EVENT_COUNT; i++) {
        event_free(&samples[i].event);
        vane_free(samples[i].data);
    }
    if (!cfg.keep)
        bench_rmtree(root);
    vane_free(root);
    return 0;
}
