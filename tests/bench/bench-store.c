/*
 * bench-store.c -- the store's figures, measured in-process: durable
 * appends from many concurrent writers, reads from the page cache, restart
 * time, how cost grows with eventlogs and with log length, and append
 * latency at a paced rate.  Run by `make bench`; `--help` lists the knobs.
 *
 * Design.  The program links libvane.la and drives eventlogs (eventlog.h)
 * on one libuv loop, as vaned does.  A "writer" is one outstanding
 * eventlog_append(): its callback (which means durable: raft has fsynced
 * the entry) issues the next append at once, so N writers keep N appends
 * in flight.  Throughput is counted over a fixed window after a warm-up.
 * Every figure is printed on one line beside its target and, where one
 * exists, beside a reference measured in the same run on the same file
 * system: a raw write(2) + fdatasync(2) loop with the batch size the store
 * actually used (read back from the records' raft indexes), sequential
 * write bandwidth, and for the paced latency the same pace group-committed
 * by hand to a plain file, appended to and written over, in turns with the
 * store's (struct paced_disk, on lines of their own).  A missed target is
 * marked MISSED; the program still exits 0, since it measures and does not
 * judge.  Exit status 1 means the benchmark itself could not run (an
 * eventlog would not open, an append was refused...), 2 a bad option.
 *
 * Sizes: an "event of 1 KiB" here is a stored record of 1 KiB (record.h:
 * the 44-byte header, four required attributes, then data), so the bytes
 * per event are exactly what the segment and raft's log hold.
 *
 * Invariants: every wait runs the loop until a condition or a deadline
 * (run_until), every loop is bounded in count and in time, and all data
 * goes to a fresh directory (under /work/bench-tmp by default, never /tmp,
 * which may be tmpfs) that is removed at the end, also on a fatal error.
 * The loop closes cleanly: uv_loop_close() must return 0.
 *
 * Page cache: restart is measured cold when /proc/sys/vm/drop_caches is
 * writable (we sync(2) and write 3 there) and the output says which it was.
 *
 * Phases, in order (--only picks some): paced (latency at a fixed rate),
 * disk (the raw references), append and read (durable appends of 1 KiB and
 * 256 B, then reading those logs back), scale (1, 8 and 64 eventlogs),
 * head (read latency as a log grows to 10 M events), restart (1 and 8 GiB).
 * Each starts once the disk is quiet (quiet_disk).
 * Sizes and durations are knobs (option or environment variable, table
 * below); --quick shrinks them all for a smoke test.  Three knobs change
 * the store's own options (snapshot threshold, batch and segment size) so
 * that a proposed change can be measured before it is made; the header
 * line says when they differ from eventlog_options_default().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <uv.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"
#include "store/eventlog.h"
#include "store/record.h"

#include "bench-util.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define GIB (UINT64_C(1024) * 1024 * 1024)
#define NS_PER_S 1e9

#define FILL_WRITERS 128          /* outstanding appends while filling a log */
#define FILL_MIN_RATE (4.0 * MIB) /* a fill slower than this (bytes/s) gives up */
#define SHAPE_MAX_RECORDS 3000000 /* records read back to learn the batch shape */
#define READ_MAX_PASSES 50
#define LATENCY_READS 10000
#define SYNC_MAX_ROUNDS 100000
#define SYNC_MAX_BYTES (4 * GIB)
#define ENTRY_HEADER 16           /* eventlog.c's batch header in each raft entry */
#define SEQ_MAX_SECONDS 120.0
#define SHAPE_MAX_SECONDS 30.0
#define OPEN_TIMEOUT 600.0
#define DRAIN_TIMEOUT 120.0
#define PACED_TICK_MS 1           /* the paced phase issues its due appends this often */
#define PACED_TURN_S 1.0          /* the store and the disk alone take turns this long */

/* ---- configuration ------------------------------------------------------- */

struct config {
    const char *dir;      /* parent of the run's fresh directory */
    const char *only;     /* comma-separated phases, or NULL for all */
    double duration;      /* measured window of a throughput figure, s */
    double warmup;        /* before the window, s */
    double ceiling_time;  /* each raw write+fdatasync loop, s */
    uint64_t writers;     /* outstanding appends */
    uint64_t rate;        /* paced appends per second */
    uint64_t head_events; /* events in the long log of the latency curve */
    uint64_t restart_small, restart_large, seq_bytes; /* bytes */
    /* Store options to try instead of eventlog_options_default()'s; 0 keeps the default. */
    uint64_t snapshot_threshold, max_batch_bytes, segment_size;
    bool quick, keep;
};

static const struct bench_knob knobs[] = {
    BENCH_KNOB_DIR(struct config),
    {"--only", "BENCH_ONLY", BENCH_KNOB_TEXT, offsetof(struct config, only),
     "phases to run: paced,disk,append,read,scale,head,restart (default all)"},
    {"--duration", "BENCH_DURATION", BENCH_KNOB_SECONDS, offsetof(struct config, duration),
     "measured window of each throughput figure, seconds (5)"},
    {"--warmup", "BENCH_WARMUP", BENCH_KNOB_SECONDS, offsetof(struct config, warmup),
     "warm-up before each window, seconds (1)"},
    {"--ceiling-time", "BENCH_CEILING_TIME", BENCH_KNOB_SECONDS, offsetof(struct config, ceiling_time),
     "length of each raw write+fdatasync loop, seconds (2)"},
    {"--writers", "BENCH_WRITERS", BENCH_KNOB_COUNT, offsetof(struct config, writers),
     "outstanding appends (16384)"},
    {"--rate", "BENCH_RATE", BENCH_KNOB_COUNT, offsetof(struct config, rate),
     "paced append rate, events/s (10000)"},
    {"--head-events", "BENCH_HEAD_EVENTS", BENCH_KNOB_COUNT, offsetof(struct config, head_events),
     "events in the log of the read-latency curve (10M)"},
    {"--restart-small", "BENCH_RESTART_SMALL", BENCH_KNOB_BYTES, offsetof(struct config, restart_small),
     "first restart size (1G)"},
    {"--restart-large", "BENCH_RESTART_LARGE", BENCH_KNOB_BYTES, offsetof(struct config, restart_large),
     "second restart size (8G)"},
    {"--seq-bytes", "BENCH_SEQ_BYTES", BENCH_KNOB_BYTES, offsetof(struct config, seq_bytes),
     "bytes of the sequential-write reference (256M)"},
    {"--snapshot-threshold", "BENCH_SNAPSHOT_THRESHOLD", BENCH_KNOB_COUNT,
     offsetof(struct config, snapshot_threshold), "store option to try (default: the store's)"},
    {"--max-batch-bytes", "BENCH_MAX_BATCH_BYTES", BENCH_KNOB_BYTES,
     offsetof(struct config, max_batch_bytes), "store option to try (default: the store's)"},
    {"--segment-size", "BENCH_SEGMENT_SIZE", BENCH_KNOB_BYTES, offsetof(struct config, segment_size),
     "store option to try (default: the store's)"},
};

#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

static void config_defaults(struct config *c, bool quick)
{
    memset(c, 0, sizeof(*c));
    c->dir = BENCH_DEFAULT_PARENT;
    c->quick = quick;
    c->duration = quick ? 1.0 : 5.0;
    c->warmup = quick ? 0.3 : 1.0;
    c->ceiling_time = quick ? 0.3 : 2.0;
    /* Many: each writer waits a whole round trip (a raft entry written,
     * fsynced and applied), so with few of them the figure measures
     * latency, not how much the store can take. */
    c->writers = 16384;
    c->rate = 10000;
    c->head_events = quick ? 100000 : 10000000;
    c->restart_small = quick ? 32 * MIB : GIB;
    c->restart_large = quick ? 256 * MIB : 8 * GIB;
    c->seq_bytes = quick ? 32 * MIB : 256 * MIB;
}

static const struct bench_cli cli = {
    "bench-store", "small sizes and short windows, for a smoke test", 22, knobs, NKNOBS,
    0, false, 1e12,
};

/* Defaults (quick or full), then the environment, then the options. */
static int configure(struct config *c, int argc, char **argv)
{
    config_defaults(c, bench_quick(argc, argv));
    if (bench_options(&cli, c, &c->keep, argc, argv) != 0)
        return -EINVAL;
    if (c->restart_large < c->restart_small)
        c->restart_large = c->restart_small;
    return 0;
}

/* Whether phase is in the --only list (every phase when there is none). */
static bool phase_wanted(const struct config *c, const char *phase)
{
    return bench_listed(c->only, phase);
}

/* ---- output and small helpers --------------------------------------------- */

static const char *fmt_ns(double ns)
{
    char *out = bench_scratch();

    if (ns < 1e3)
        snprintf(out, 48, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(out, 48, "%.2f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(out, 48, "%.2f ms", ns / 1e6);
    else
        snprintf(out, 48, "%.2f s", ns / 1e9);
    return out;
}

static const char *fmt_bytes(double bytes)
{
    char *out = bench_scratch();

    if (bytes >= GIB)
        snprintf(out, 48, "%.3g GiB", bytes / GIB);
    else if (bytes >= MIB)
        snprintf(out, 48, "%.3g MiB", bytes / MIB);
    else if (bytes >= KIB)
        snprintf(out, 48, "%.3g KiB", bytes / KIB);
    else
        snprintf(out, 48, "%.0f B", bytes);
    return out;
}

static const char *missed(bool met)
{
    return met ? "" : "  MISSED";
}

static double seconds_since(uint64_t t0)
{
    return (double)(uv_hrtime() - t0) / NS_PER_S;
}

/* CPU time of the whole process (loop, thread pool, raft) in seconds. */
static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static char *subdir(const char *root, const char *name)
{
    return vane_asprintf("%s/%s", root, name);
}

/* Writes the page cache back and drops it; returns 0 or -errno. */
static int drop_caches(void)
{
    int fd, err = 0;

    sync();
    fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0)
        return -errno;
    if (write(fd, "3\n", 2) != 2)
        err = -errno;
    close(fd);
    return err;
}

/* ---- the loop ------------------------------------------------------------- */

typedef bool (*done_fn)(void *arg);

static void on_deadline(uv_timer_t *timer)
{
    *(bool *)timer->data = true;
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

static bool flag_set(void *arg)
{
    return *(const bool *)arg;
}

/* Runs loop until done(arg) or seconds pass; returns done(arg). */
static bool run_until(uv_loop_t *loop, done_fn done, void *arg, double seconds)
{
    uv_timer_t timer;
    bool expired = false;

    uv_timer_init(loop, &timer);
    timer.data = &expired;
    uv_timer_start(&timer, on_deadline, (uint64_t)(seconds * 1000) + 1, 0);
    while (!done(arg) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* completes the close: the timer is on the stack */
    return done(arg);
}

static void run_for(uv_loop_t *loop, double seconds)
{
    run_until(loop, never, NULL, seconds);
}

/* ---- eventlogs ------------------------------------------------------------ */

struct opening {
    bool done;
    int status;
    uint64_t ready_at;
};

static void on_ready(struct eventlog *log, int status, void *arg)
{
    struct opening *o = arg;

    (void)log;
    o->done = true;
    o->status = status;
    o->ready_at = uv_hrtime();
}

/* The store's default options, but for those the run overrides. */
static const struct config *store_overrides;

static void store_options(struct eventlog_options *opt)
{
    const struct config *c = store_overrides;

    eventlog_options_default(opt);
    if (c != NULL && c->snapshot_threshold > 0)
        opt->snapshot_threshold = (unsigned)c->snapshot_threshold;
    if (c != NULL && c->max_batch_bytes > 0)
        opt->max_batch_bytes = (size_t)c->max_batch_bytes;
    if (c != NULL && c->segment_size > 0)
        opt->segment_size = c->segment_size;
}

/* Opens the eventlog in dir and waits until it is ready; *ns (may be NULL)
 * gets the time from eventlog_open to ready. */
static struct eventlog *open_log(uv_loop_t *loop, const char *dir, uint64_t *ns)
{
    struct eventlog_options opt;
    struct opening o = {false, 0, 0};
    struct eventlog *log = NULL;
    char *errmsg = NULL;
    uint64_t t0;

    store_options(&opt);
    t0 = uv_hrtime();
    if (eventlog_open(&log, loop, dir, &opt, on_ready, &o, &errmsg) != 0)
        bench_fatal("eventlog_open %s: %s", dir, errmsg);
    if (!run_until(loop, flag_set, &o.done, OPEN_TIMEOUT))
        bench_fatal("eventlog %s not ready after %.0f s", dir, OPEN_TIMEOUT);
    if (o.status != 0)
        bench_fatal("eventlog %s: ready with %s", dir, vane_strerror(o.status));
    if (ns != NULL)
        *ns = o.ready_at - t0;
    return log;
}

static void on_closed(struct eventlog *log, void *arg)
{
    (void)log;
    *(bool *)arg = true;
}

static void close_log(uv_loop_t *loop, struct eventlog *log)
{
    bool closed = false;

    eventlog_close(log, on_closed, &closed);
    if (!run_until(loop, flag_set, &closed, DRAIN_TIMEOUT))
        bench_fatal("eventlog did not close in %.0f s", DRAIN_TIMEOUT);
}

/* count events, each a stored record of size bytes: shallow copies of one
 * event (they share its attribute array; only events[0] is freed). */
struct payload {
    struct event *events;
    size_t count, size;
    char *data;
};

static void payload_init(struct payload *p, size_t size, size_t count)
{
    struct event e = EVENT_INIT;
    size_t overhead;

    p->data = vane_malloc(size + 1);
    memset(p->data, 'x', size);
    event_add_string(&e, "specversion", EVENT_STRING, "1.0");
    event_add_string(&e, "id", EVENT_STRING, "bench-0000000001");
    event_add_string(&e, "source", EVENT_URI_REF, "/bench/store");
    event_add_string(&e, "type", EVENT_STRING, "dev.vane.bench.store");
    event_set_data(&e, p->data, 0);
    overhead = record_size(&e);
    event_set_data(&e, p->data, size > overhead ? size - overhead : 0);
    p->size = record_size(&e);
    p->count = count;
    p->events = vane_calloc(count, sizeof(*p->events));
    for (size_t i = 0; i < count; i++)
        p->events[i] = e;
}

static void payload_free(struct payload *p)
{
    event_free(&p->events[0]);
    vane_free(p->events);
    vane_free(p->data);
}

/* ---- writers: N appends kept outstanding ---------------------------------- */

struct pool;

struct writer {
    struct pool *pool;
    struct eventlog *log;
};

struct pool {
    const struct payload *payload;
    struct writer *writers;
    size_t nwriters, outstanding;
    uint64_t limit;                 /* stop issuing after this many events; 0: never */
    uint64_t issued, acked, failed; /* events */
    int first_error;
    bool stopping;
};

static void issue(struct writer *w);

static void note_failure(struct pool *pool, int status)
{
    pool->failed += pool->payload->count;
    if (pool->first_error == 0)
        pool->first_error = status;
}

/* An answer means durable: count it and append again at once. */
static void on_ack(void *arg, int status, uint64_t first)
{
    struct writer *w = arg;

    (void)first;
    w->pool->outstanding--;
    if (status != 0) {
        note_failure(w->pool, status); /* this writer stops */
        return;
    }
    w->pool->acked += w->pool->payload->count;
    issue(w);
}

static void issue(struct writer *w)
{
    struct pool *pool = w->pool;
    int err;

    if (pool->stopping || (pool->limit > 0 && pool->issued >= pool->limit))
        return;
    err = eventlog_append(w->log, pool->payload->events, pool->payload->count, on_ack, w);
    if (err != 0) {
        note_failure(pool, err);
        return;
    }
    pool->outstanding++;
    pool->issued += pool->payload->count;
}

/* Starts nwriters writers spread evenly over the logs. */
static void pool_start(struct pool *pool, struct eventlog **logs, size_t nlogs,
                       const struct payload *payload, size_t nwriters, uint64_t limit)
{
    memset(pool, 0, sizeof(*pool));
    pool->payload = payload;
    pool->limit = limit;
    pool->nwriters = nwriters;
    pool->writers = vane_calloc(nwriters, sizeof(*pool->writers));
    for (size_t i = 0; i < nwriters; i++) {
        pool->writers[i].pool = pool;
        pool->writers[i].log = logs[i % nlogs];
        issue(&pool->writers[i]);
    }
}

static bool pool_idle(void *arg)
{
    return ((const struct pool *)arg)->outstanding == 0;
}

/* Stops issuing and waits until every outstanding append is answered. */
static void pool_stop(uv_loop_t *loop, struct pool *pool)
{
    pool->stopping = true;
    if (!run_until(loop, pool_idle, pool, DRAIN_TIMEOUT))
        bench_fatal("%zu appends still unanswered after %.0f s", pool->outstanding, DRAIN_TIMEOUT);
    vane_free(pool->writers);
    pool->writers = NULL;
    if (pool->failed > 0)
        bench_fatal("%s events were refused or failed: %s", bench_num((double)pool->failed),
              vane_strerror(pool->first_error));
}

struct window {
    double seconds, events_per_s, cpu; /* cpu: cores busy on average */
    uint64_t from, to;                 /* offsets applied in logs[0] at start and end */
};

static uint64_t next_offset(struct eventlog *log)
{
    struct eventlog_stats st;

    eventlog_stats(log, &st);
    return st.next_offset;
}

/* Warms up, then counts the acknowledged events of a fixed window. */
static void measure_window(uv_loop_t *loop, const struct config *cfg, struct pool *pool,
                           struct eventlog *first_log, struct window *w)
{
    uint64_t t0, acked0;
    double cpu0;

    run_for(loop, cfg->warmup);
    w->from = next_offset(first_log);
    t0 = uv_hrtime();
    acked0 = pool->acked;
    cpu0 = cpu_seconds();
    run_for(loop, cfg->duration);
    w->seconds = seconds_since(t0);
    w->events_per_s = (double)(pool->acked - acked0) / w->seconds;
    w->cpu = (cpu_seconds() - cpu0) / w->seconds;
    w->to = next_offset(first_log);
}

struct fill_progress {
    const struct pool *pool;
    uint64_t target, t0;
    const char *what;
};

static void on_fill_progress(uv_timer_t *timer)
{
    const struct fill_progress *p = timer->data;

    fprintf(stderr, "  ... %s: %s of %s events (%.0f s)\n", p->what, bench_num((double)p->pool->acked),
            bench_num((double)p->target), seconds_since(p->t0));
}

/* Appends batches of payload until log holds at least target events. */
static void fill(uv_loop_t *loop, struct eventlog *log, const struct payload *payload,
                 uint64_t target, const char *what)
{
    uint64_t have = next_offset(log), need = target > have ? target - have : 0;
    double bytes = (double)need * (double)payload->size;
    double deadline = 60 + bytes / FILL_MIN_RATE;
    struct fill_progress progress = {NULL, need, uv_hrtime(), what};
    struct pool pool;
    uv_timer_t timer;

    if (need == 0)
        return;
    pool_start(&pool, &log, 1, payload, FILL_WRITERS, need);
    progress.pool = &pool;
    uv_timer_init(loop, &timer);
    timer.data = &progress;
    uv_timer_start(&timer, on_fill_progress, 15000, 15000);
    if (!run_until(loop, pool_idle, &pool, deadline))
        bench_fatal("%s: fill slower than %s/s; gave up after %.0f s", what, fmt_bytes(FILL_MIN_RATE),
              deadline);
    uv_close((uv_handle_t *)&timer, NULL);
    pool_stop(loop, &pool);
}

/* ---- raw disk references -------------------------------------------------- */

static void write_all(int fd, const char *buf, size_t len, const char *path)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            bench_fatal("write %s: %s", path, strerror(errno));
        buf += n;
        len -= (size_t)n;
    }
}

/* write(2) + fdatasync(2) of batch bytes, appended to a fresh file, in a
 * loop for about seconds; returns the rounds per second. */
static double sync_rate(const char *root, size_t batch, double seconds)
{
    char *path = subdir(root, "ceiling.tmp"), *buf = vane_malloc(batch);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    uint64_t t0, rounds = 0;
    double rate;

    if (fd < 0)
        bench_fatal("open %s: %s", path, strerror(errno));
    memset(buf, 'c', batch);
    t0 = uv_hrtime();
    while (rounds < SYNC_MAX_ROUNDS && rounds * batch < SYNC_MAX_BYTES &&
           seconds_since(t0) < seconds) {
        write_all(fd, buf, batch, path);
        if (fdatasync(fd) != 0)
            bench_fatal("fdatasync %s: %s", path, strerror(errno));
        rounds++;
    }
    rate = (double)rounds / seconds_since(t0);
    close(fd);
    unlink(path);
    vane_free(path);
    vane_free(buf);
    return rate;
}

/* Bytes per second of total bytes written in 1 MiB writes, then fdatasync. */
static double sequential_rate(const char *root, uint64_t total)
{
    char *path = subdir(root, "sequential.tmp"), *buf = vane_malloc(MIB);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    uint64_t t0, written;
    double rate;

    if (fd < 0)
        bench_fatal("open %s: %s", path, strerror(errno));
    memset(buf, 's', MIB);
    t0 = uv_hrtime();
    for (written = 0; written < total && seconds_since(t0) < SEQ_MAX_SECONDS; written += MIB)
        write_all(fd, buf, MIB, path);
    if (fdatasync(fd) != 0)
        bench_fatal("fdatasync %s: %s", path, strerror(errno));
    rate = (double)written / seconds_since(t0);
    close(fd);
    unlink(path);
    vane_free(path);
    vane_free(buf);
    return rate;
}

/* Writes len bytes to fd from its start, makes them durable, and goes back
 * to the start: writing over these blocks again changes no size and
 * allocates nothing, so an fdatasync there is one data flush with no
 * journal commit -- the cheapest sync the file system offers. */
static void prefill(int fd, uint64_t len, const char *path)
{
    char *buf = vane_malloc(MIB);

    memset(buf, 'z', MIB);
    for (uint64_t done = 0; done < len; done += MIB)
        write_all(fd, buf, MIB, path);
    if (fdatasync(fd) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        bench_fatal("prefill %s: %s", path, strerror(errno));
    vane_free(buf);
}

/* Latencies, in ns: n of at most cap. */
struct latencies {
    uint64_t *ns;
    size_t n, cap;
};

/* Events a pace of rate per second has made due after ns. */
static uint64_t events_due(uint64_t ns, uint64_t rate)
{
    return ns * rate / 1000000000u;
}

/*
 * The disk's own latency at the paced rate, as the ideal store would see
 * it: events arrive on the paced phase's ticks (PACED_TICK_MS apart, as
 * many each tick as the rate has made due), and one thread group-commits
 * them by hand -- one write(2) of every arrived event's bytes, then
 * fdatasync(2) -- again and again, sleeping to the next tick when none
 * waits.  The writes append to a fresh file, as the store's to its
 * segments, or with overwrite go over a file written once before
 * (prefill), the cheapest sync there is.  It runs in turns (paced_disk_turn)
 * between the store's, so both see the disk in the same mood.
 */
struct paced_disk {
    char *path;
    int fd;
    char *buf;
    size_t size, cap; /* an event's bytes; the most one write takes */
    uint64_t rate;
    struct latencies lat;
};

static void paced_disk_open(struct paced_disk *d, const char *root, const char *name,
                            const struct config *cfg, size_t size, bool overwrite)
{
    uint64_t total = events_due((uint64_t)((cfg->warmup + cfg->duration) * NS_PER_S), cfg->rate);

    d->path = subdir(root, name);
    if ((d->fd = open(d->path, O_CREAT | O_TRUNC | O_WRONLY, 0644)) < 0)
        bench_fatal("open %s: %s", d->path, strerror(errno));
    d->size = size;
    d->rate = cfg->rate;
    d->cap = (size_t)cfg->rate * size + size; /* a second's events per write at most */
    d->buf = vane_malloc(d->cap);
    memset(d->buf, 'p', d->cap);
    if (overwrite)
        prefill(d->fd, total * size + d->cap, d->path);
    d->lat.cap = (size_t)((double)cfg->rate * cfg->duration) + 1;
    d->lat.ns = vane_calloc(d->lat.cap, sizeof(*d->lat.ns));
    d->lat.n = 0;
}

/* One turn of seconds at the pace.  An event's latency runs from its tick
 * (from the wake-up, for a tick slept to, as the store's turn stamps it)
 * to the end of the fdatasync that covered it; with keep, it is kept. */
static void paced_disk_turn(struct paced_disk *d, double seconds, bool keep)
{
    uint64_t tick_ns = PACED_TICK_MS * 1000000u, done = 0, idle_end = 0;
    uint64_t total = events_due((uint64_t)(seconds * NS_PER_S), d->rate);
    uint64_t start = uv_hrtime(), deadline = start + (uint64_t)((seconds + DRAIN_TIMEOUT) * NS_PER_S);

    while (done < total && uv_hrtime() < deadline) {
        uint64_t now = uv_hrtime(), ticks = (now - start) / tick_ns;
        uint64_t due = events_due(ticks * tick_ns, d->rate);

        if (due > total)
            due = total;
        if (due == done) {
            struct timespec next = {0, 0};
            uint64_t at = start + (ticks + 1) * tick_ns;

            next.tv_sec = (time_t)(at / 1000000000u);
            next.tv_nsec = (long)(at % 1000000000u);
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
            idle_end = uv_hrtime();
            continue;
        }
        if ((due - done) * d->size > d->cap)
            due = done + d->cap / d->size;
        write_all(d->fd, d->buf, (due - done) * d->size, d->path);
        if (fdatasync(d->fd) != 0)
            bench_fatal("fdatasync %s: %s", d->path, strerror(errno));
        now = uv_hrtime();
        for (; done < due; done++) {
            /* event i is issued at the first tick that makes more than i due */
            uint64_t per_tick = tick_ns * d->rate;
            uint64_t tick = ((done + 1) * 1000000000u + per_tick - 1) / per_tick;
            uint64_t issued = start + tick * tick_ns;

            if (issued < idle_end && issued + tick_ns > idle_end)
                issued = idle_end;
            if (keep && d->lat.n < d->lat.cap)
                d->lat.ns[d->lat.n++] = now - issued;
        }
    }
}

/* Sorts the latencies kept; the file goes. */
static void paced_disk_close(struct paced_disk *d)
{
    qsort(d->lat.ns, d->lat.n, sizeof(*d->lat.ns), bench_compare_u64);
    close(d->fd);
    unlink(d->path);
    vane_free(d->path);
    vane_free(d->buf);
}

/* ---- reading -------------------------------------------------------------- */

/* How the store batched: raft entries among records [from, to). */
struct shape {
    uint64_t events, entries, bytes;
};

static void batch_shape(struct eventlog *log, uint64_t from, uint64_t to, struct shape *s)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    uint64_t last_index = 0, offset = from, t0 = uv_hrtime();

    memset(s, 0, sizeof(*s));
    if (to - from > SHAPE_MAX_RECORDS)
        to = from + SHAPE_MAX_RECORDS;
    while (offset < to && seconds_since(t0) < SHAPE_MAX_SECONDS &&
           eventlog_read(log, offset, 4096, 4 * MIB, &batch) == 0 && batch.count > 0) {
        for (size_t i = 0; i < batch.count && batch.records[i].offset < to; i++) {
            const struct record_view *r = &batch.records[i];

            s->entries += r->raft_index != last_index;
            last_index = r->raft_index;
            s->events++;
            s->bytes += r->size;
        }
        offset = batch.next_offset;
    }
    eventlog_batch_free(&batch);
}

struct read_result {
    uint64_t events, bytes, attrs;
    double seconds, cpu;
    int passes;
};

/* One pass over [from, to), decoding every record; false when a read fails. */
static bool read_pass(struct eventlog *log, uint64_t from, uint64_t to, uint64_t deadline,
                      struct eventlog_batch *batch, struct event *e, struct read_result *r)
{
    for (uint64_t offset = from; offset < to && uv_hrtime() < deadline;) {
        if (eventlog_read(log, offset, 1024, MIB, batch) != 0 || batch->count == 0)
            return false;
        for (size_t i = 0; i < batch->count; i++) {
            record_to_event(&batch->records[i], e);
            r->attrs += e->attr_count;
            r->bytes += batch->records[i].size;
        }
        r->events += batch->count;
        offset = batch->next_offset;
    }
    return true;
}

/* eventlog_read in a loop over the whole log, for about seconds. */
static void read_bench(struct eventlog *log, double seconds, struct read_result *r)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct event e = EVENT_INIT;
    struct eventlog_stats st;
    uint64_t t0 = uv_hrtime(), deadline = t0 + (uint64_t)(seconds * NS_PER_S);
    double cpu0 = cpu_seconds();

    memset(r, 0, sizeof(*r));
    eventlog_stats(log, &st);
    while (r->passes < READ_MAX_PASSES && uv_hrtime() < deadline) {
        if (!read_pass(log, st.first_offset, st.next_offset, deadline, &batch, &e, r))
            bench_fatal("eventlog_read failed during the read benchmark");
        r->passes++;
    }
    r->seconds = seconds_since(t0);
    r->cpu = (cpu_seconds() - cpu0) / r->seconds;
    event_free(&e);
    eventlog_batch_free(&batch);
}

static uint64_t xorshift(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Latency of n single-event reads (decoded) of the newest event, or of
 * random offsets; fills samples (ns), sorted. */
static void read_latency(struct eventlog *log, bool newest, uint64_t *samples, size_t n)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct event e = EVENT_INIT;
    struct eventlog_stats st;
    uint64_t seed = 0x9E3779B97F4A7C15u;

    eventlog_stats(log, &st);
    for (size_t i = 0; i < n; i++) {
        uint64_t offset = newest ? st.next_offset - 1
                                 : st.first_offset + xorshift(&seed) % (st.next_offset - st.first_offset);
        uint64_t t0 = uv_hrtime();

        if (eventlog_read(log, offset, 1, 1, &batch) != 0 || batch.count != 1)
            bench_fatal("eventlog_read of offset %llu failed", (unsigned long long)offset);
        record_to_event(&batch.records[0], &e);
        samples[i] = uv_hrtime() - t0;
    }
    qsort(samples, n, sizeof(*samples), bench_compare_u64);
    event_free(&e);
    eventlog_batch_free(&batch);
}

/* ---- the phases ----------------------------------------------------------- */

struct bench {
    uv_loop_t loop;
    struct config cfg;
    char *root;
    double seq_rate; /* bytes/s, 0 until measured */
};

/* Sequential bandwidth and the write+fdatasync curve, on a quiet disk. */
static void phase_disk(struct bench *b)
{
    static const size_t sizes[] = {4 * KIB, 64 * KIB, 256 * KIB, MIB};
    char line[512];
    size_t len = 0;

    sync();
    b->seq_rate = sequential_rate(b->root, b->cfg.seq_bytes);
    printf("disk sequential write %s in 1 MiB writes + fdatasync: %s MiB/s\n",
           fmt_bytes((double)b->cfg.seq_bytes), bench_num(b->seq_rate / MIB));
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        double rate = sync_rate(b->root, sizes[i], b->cfg.ceiling_time);

        len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s %s/s (%s MiB/s)",
                                i ? "; " : "", fmt_bytes((double)sizes[i]), bench_num(rate),
                                bench_num(rate * (double)sizes[i] / MIB));
    }
    printf("disk write+fdatasync loop: %s\n", line);
    fflush(stdout);
}

/* The raw reference for a batch shape: write+fdatasync of the same bytes
 * per round, and the sequential bandwidth, each in events/s. */
static void print_append(struct bench *b, const char *label, const struct window *w,
                         const struct shape *s, size_t size, double target)
{
    double per_entry = s->entries ? (double)s->events / (double)s->entries : 0;
    size_t entry_bytes = s->entries ? (size_t)(s->bytes / s->entries) + ENTRY_HEADER : 4096;
    size_t round = (entry_bytes + 4095) & ~(size_t)4095;
    double syncs, ceiling, seq_ceiling;

    sync(); /* the store's segment writeback must not slow the reference */
    syncs = sync_rate(b->root, round, b->cfg.ceiling_time);
    ceiling = syncs * per_entry;
    if (b->seq_rate == 0)
        b->seq_rate = sequential_rate(b->root, b->cfg.seq_bytes);
    seq_ceiling = b->seq_rate / (double)size;
    printf("durable append %s, %s writers: %s ev/s (%s MiB/s, cpu %.0f%%)  (target >= %s)%s"
           "  | disk ceiling write+fdatasync of the same batch (%s ev/raft entry, %s; store %s entries/s): "
           "%s syncs/s = %s ev/s; ratio %.2f"
           "  | sequential write %s MiB/s = %s ev/s; ratio %.2f\n",
           label, bench_num((double)b->cfg.writers), bench_num(w->events_per_s),
           bench_num(w->events_per_s * (double)size / MIB), w->cpu * 100, bench_num(target),
           missed(w->events_per_s >= target), bench_num(per_entry), fmt_bytes((double)round),
           bench_num(per_entry > 0 ? w->events_per_s / per_entry : 0),
           bench_num(syncs), bench_num(ceiling), ceiling > 0 ? w->events_per_s / ceiling : 0,
           bench_num(b->seq_rate / MIB), bench_num(seq_ceiling), w->events_per_s / seq_ceiling);
}

static void print_read(const char *label, const struct read_result *r, uint64_t log_events)
{
    double rate = (double)r->events / r->seconds;

    printf("read committed from page cache %s, 1 thread: %s ev/s (%s MiB/s, cpu %.0f%%, "
           "%d pass(es) over %s events)  (target >= 1,000,000)%s\n",
           label, bench_num(rate), bench_num((double)r->bytes / r->seconds / MIB), r->cpu * 100, r->passes,
           bench_num((double)log_events), missed(rate >= 1e6));
}

/* Durable appends of one size, then reads of the same log (phase "read"
 * writes its log with the same appends but prints only the read figure). */
static void append_size(struct bench *b, size_t size, const char *label, double target)
{
    char *dir = subdir(b->root, "append");
    struct eventlog *log = open_log(&b->loop, dir, NULL);
    struct payload payload;
    struct read_result r;
    struct window w;
    struct shape s;
    struct pool pool;

    payload_init(&payload, size, 1);
    pool_start(&pool, &log, 1, &payload, b->cfg.writers, 0);
    measure_window(&b->loop, &b->cfg, &pool, log, &w);
    pool_stop(&b->loop, &pool);
    if (phase_wanted(&b->cfg, "append")) {
        batch_shape(log, w.from, w.to, &s);
        print_append(b, label, &w, &s, size, target);
        fflush(stdout);
    }
    if (phase_wanted(&b->cfg, "read")) {
        read_bench(log, b->cfg.duration, &r);
        print_read(label, &r, next_offset(log));
        fflush(stdout);
    }
    close_log(&b->loop, log);
    payload_free(&payload);
    bench_rmtree(dir);
    vane_free(dir);
}

static void phase_append(struct bench *b)
{
    append_size(b, KIB, "1KiB", 200000);
    append_size(b, 256, "256B", 500000);
}

/* Throughput with the same outstanding appends spread over k eventlogs;
 * base is the figure for one eventlog (0 when this is it). */
static double scale_point(struct bench *b, size_t k, const struct payload *payload, double base)
{
    char *dir = vane_asprintf("%s/scale-%zu", b->root, k);
    struct eventlog **logs = vane_calloc(k, sizeof(*logs));
    struct window w;
    struct pool pool;

    for (size_t i = 0; i < k; i++) {
        char *path = vane_asprintf("%s/log-%zu", dir, i);

        logs[i] = open_log(&b->loop, path, NULL);
        vane_free(path);
    }
    pool_start(&pool, logs, k, payload, b->cfg.writers, 0);
    measure_window(&b->loop, &b->cfg, &pool, logs[0], &w);
    pool_stop(&b->loop, &pool);
    for (size_t i = 0; i < k; i++)
        close_log(&b->loop, logs[i]);
    printf("append scaling 1KiB, %s writers over %zu eventlog(s): %s ev/s (cpu %.0f%%)  "
           "%.2fx of 1 eventlog\n",
           bench_num((double)b->cfg.writers), k, bench_num(w.events_per_s), w.cpu * 100,
           base > 0 ? w.events_per_s / base : 1.0);
    fflush(stdout);
    bench_rmtree(dir);
    vane_free(dir);
    vane_free(logs);
    return w.events_per_s;
}

static void phase_scale(struct bench *b)
{
    static const size_t counts[] = {1, 8, 64};
    struct payload payload;
    double base = 0;

    payload_init(&payload, KIB, 1);
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        double rate = scale_point(b, counts[i], &payload, base);

        if (i == 0)
            base = rate;
    }
    payload_free(&payload);
}

/* ---- paced appends -------------------------------------------------------- */

/*
 * The store's latency at a paced rate, and the disk alone's beside it:
 * they take turns of PACED_TURN_S (after a warm-up turn each, whose
 * latencies are not kept), the store, then the disk alone appending, then
 * over written blocks, so that a spell of slow syncs -- a virtual disk has
 * them -- falls on all three alike rather than on whichever ran then.
 */
struct paced;

static void quiet_disk(struct bench *b);

struct paced_req {
    struct paced *p;
    uint64_t issued_at;
    bool keep;
};

struct paced {
    struct eventlog *log;
    const struct payload *payload;
    uint64_t rate;
    uint64_t start;       /* of the turn (hrtime) */
    size_t turn_first;    /* reqs issued before the turn */
    size_t turn_events;   /* due in the turn */
    bool keep;            /* the turn's latencies count */
    struct paced_req *reqs;
    size_t nreqs, issued, answered, failed;
    uint64_t *samples;
    size_t nsamples;
    bool stopped;
};

static void on_paced_ack(void *arg, int status, uint64_t first)
{
    struct paced_req *r = arg;
    struct paced *p = r->p;

    (void)first;
    p->answered++;
    if (status != 0)
        p->failed++;
    else if (r->keep)
        p->samples[p->nsamples++] = uv_hrtime() - r->issued_at;
}

/* Every tick: issue the appends that are due at the rate. */
static void on_tick(uv_timer_t *timer)
{
    struct paced *p = timer->data;
    uint64_t due = events_due(uv_hrtime() - p->start, p->rate);
    size_t last = p->turn_first + (size_t)(due < p->turn_events ? due : p->turn_events);

    while (p->issued < last && p->issued < p->nreqs) {
        struct paced_req *r = &p->reqs[p->issued++];

        r->p = p;
        r->keep = p->keep;
        r->issued_at = uv_hrtime();
        if (eventlog_append(p->log, p->payload->events, 1, on_paced_ack, r) != 0)
            p->failed++, p->answered++;
    }
    if (p->issued >= p->turn_first + p->turn_events || p->issued >= p->nreqs) {
        uv_timer_stop(timer);
        p->stopped = true;
    }
}

static bool paced_done(void *arg)
{
    const struct paced *p = arg;

    return p->stopped && p->answered == p->issued;
}

/* The store's turn of seconds: every append issued is answered at its end. */
static void paced_store_turn(struct bench *b, struct paced *p, double seconds, bool keep)
{
    uv_timer_t timer;

    p->start = uv_hrtime();
    p->turn_first = p->issued;
    p->turn_events = (size_t)events_due((uint64_t)(seconds * NS_PER_S), p->rate);
    p->keep = keep;
    p->stopped = false;
    uv_timer_init(&b->loop, &timer);
    timer.data = p;
    uv_timer_start(&timer, on_tick, PACED_TICK_MS, PACED_TICK_MS);
    if (!run_until(&b->loop, paced_done, p, seconds + DRAIN_TIMEOUT))
        bench_fatal("paced appends unanswered after %.0f s", seconds + DRAIN_TIMEOUT);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(&b->loop, UV_RUN_NOWAIT); /* completes the close: the timer is on the stack */
    if (p->failed > 0)
        bench_fatal("%zu paced appends failed", p->failed);
}

/* Events per raft entry the store made of the paced appends. */
static double paced_entry_events(struct eventlog *log)
{
    struct shape s;

    batch_shape(log, 0, next_offset(log), &s);
    return s.entries ? (double)s.events / (double)s.entries : 0;
}

/* One reference line: the disk alone at the paced rate, and its p99 beside the store's. */
static void print_paced_disk(const struct paced_disk *d, const char *how, double store_p99)
{
    double p99 = bench_quantile(d->lat.ns, d->lat.n, 0.99);

    printf("  the disk alone at the same pace, in turns with the store, group commit by hand, %s: "
           "p50 %s  p99 %s  p999 %s  (store's p99 / this p99: %.2f)\n",
           how, fmt_ns(bench_quantile(d->lat.ns, d->lat.n, 0.50)), fmt_ns(p99),
           fmt_ns(bench_quantile(d->lat.ns, d->lat.n, 0.999)), p99 > 0 ? store_p99 / p99 : 0);
}

static void print_paced(struct bench *b, struct paced *p, const struct paced_disk *append,
                        const struct paced_disk *over)
{
    double p99, per_entry = paced_entry_events(p->log);

    qsort(p->samples, p->nsamples, sizeof(*p->samples), bench_compare_u64);
    p99 = bench_quantile(p->samples, p->nsamples, 0.99);
    printf("append latency paced at %s ev/s 1KiB (achieved %s ev/s, %s samples, %s ev/raft entry, "
           "turns of %.0f s): p50 %s  p99 %s  p999 %s  max %s  (target p99 < 2 ms)%s\n",
           bench_num((double)b->cfg.rate), bench_num((double)p->nsamples / b->cfg.duration),
           bench_num((double)p->nsamples), bench_num(per_entry), PACED_TURN_S,
           fmt_ns(bench_quantile(p->samples, p->nsamples, 0.50)), fmt_ns(p99),
           fmt_ns(bench_quantile(p->samples, p->nsamples, 0.999)),
           fmt_ns(bench_quantile(p->samples, p->nsamples, 1.0)), missed(p99 < 2e6));
    print_paced_disk(append, "appending", p99);
    print_paced_disk(over, "over written blocks", p99);
}

/* A turn each of the store, the disk alone appending and over written blocks. */
static void paced_turns(struct bench *b, struct paced *p, struct paced_disk *append,
                        struct paced_disk *over, double seconds, bool keep)
{
    paced_store_turn(b, p, seconds, keep);
    paced_disk_turn(append, seconds, keep);
    paced_disk_turn(over, seconds, keep);
}

static void phase_paced(struct bench *b)
{
    char *dir = subdir(b->root, "paced");
    struct paced_disk append, over;
    struct payload payload;
    struct paced p;

    memset(&p, 0, sizeof(p));
    payload_init(&payload, KIB, 1);
    paced_disk_open(&append, b->root, "paced-append.tmp", &b->cfg, KIB, false);
    paced_disk_open(&over, b->root, "paced-over.tmp", &b->cfg, KIB, true);
    quiet_disk(b); /* after the prefill */
    p.log = open_log(&b->loop, dir, NULL);
    p.payload = &payload;
    p.rate = b->cfg.rate;
    p.nreqs = (size_t)((double)p.rate * (b->cfg.warmup + b->cfg.duration)) + 1000;
    p.reqs = vane_calloc(p.nreqs, sizeof(*p.reqs));
    p.samples = vane_calloc(p.nreqs, sizeof(*p.samples));
    paced_turns(b, &p, &append, &over, b->cfg.warmup, false);
    for (double left = b->cfg.duration; left > 0; left -= PACED_TURN_S)
        paced_turns(b, &p, &append, &over, left < PACED_TURN_S ? left : PACED_TURN_S, true);
    paced_disk_close(&append);
    paced_disk_close(&over);
    print_paced(b, &p, &append, &over);
    close_log(&b->loop, p.log);
    vane_free(append.lat.ns);
    vane_free(over.lat.ns);
    vane_free(p.reqs);
    vane_free(p.samples);
    payload_free(&payload);
    bench_rmtree(dir);
    vane_free(dir);
}

/* ---- read latency as the log grows ---------------------------------------- */

static void head_point(struct eventlog *log)
{
    uint64_t *samples = vane_calloc(LATENCY_READS, sizeof(*samples));
    struct eventlog_stats st;
    double newest50, newest99;

    eventlog_stats(log, &st);
    read_latency(log, true, samples, LATENCY_READS);
    newest50 = bench_quantile(samples, LATENCY_READS, 0.5);
    newest99 = bench_quantile(samples, LATENCY_READS, 0.99);
    read_latency(log, false, samples, LATENCY_READS);
    printf("read latency, log of %s events (%s, %zu segments): newest event p50 %s p99 %s;"
           "  random offset p50 %s p99 %s\n",
           bench_num((double)st.next_offset), fmt_bytes((double)st.bytes), st.segments,
           fmt_ns(newest50), fmt_ns(newest99), fmt_ns(bench_quantile(samples, LATENCY_READS, 0.5)),
           fmt_ns(bench_quantile(samples, LATENCY_READS, 0.99)));
    fflush(stdout);
    vane_free(samples);
}

static void phase_head(struct bench *b)
{
    char *dir = subdir(b->root, "head");
    struct eventlog *log = open_log(&b->loop, dir, NULL);
    struct payload payload;
    uint64_t target = 10000;

    payload_init(&payload, 150, 256);
    for (int step = 0; step < 12; step++) {
        if (target > b->cfg.head_events)
            target = b->cfg.head_events;
        fill(&b->loop, log, &payload, target, "filling the long log");
        head_point(log);
        if (target == b->cfg.head_events)
            break;
        target *= 10;
    }
    close_log(&b->loop, log);
    payload_free(&payload);
    bench_rmtree(dir);
    vane_free(dir);
}

/* ---- restart -------------------------------------------------------------- */

struct restart {
    struct eventlog_stats st;
    uint64_t first_ns, warm_ns; /* first: cold when drop == 0 */
    int drop;                   /* drop_caches() before the first open */
};

/* Fills dir to target bytes, then times two opens: after dropping the page
 * cache (when we may) and right after that. */
static void restart_point(struct bench *b, const char *dir, uint64_t target,
                          const struct payload *payload, struct restart *r)
{
    struct eventlog *log = open_log(&b->loop, dir, NULL);

    fill(&b->loop, log, payload, (target + payload->size - 1) / payload->size,
         "filling the restart log");
    eventlog_stats(log, &r->st);
    close_log(&b->loop, log);
    r->drop = drop_caches();
    log = open_log(&b->loop, dir, &r->first_ns);
    close_log(&b->loop, log);
    log = open_log(&b->loop, dir, &r->warm_ns);
    close_log(&b->loop, log);
}

static void print_restart(const struct restart *r, const struct restart *small)
{
    double first = (double)r->first_ns / NS_PER_S;
    bool met = small == NULL ? first < 2.0 : r->first_ns <= 2 * small->first_ns;
    char target[96];

    if (small == NULL)
        snprintf(target, sizeof(target), "target < 2 s");
    else
        snprintf(target, sizeof(target), "target <= 2 x %s = %s; ratio %.2f",
                 fmt_bytes((double)small->st.bytes), fmt_ns(2.0 * (double)small->first_ns),
                 (double)r->first_ns / (double)small->first_ns);
    printf("restart %s (%s events, %zu segments), open to ready: %.3f s %s; then %.3f s warm"
           "  (%s)%s\n",
           fmt_bytes((double)r->st.bytes), bench_num((double)r->st.next_offset), r->st.segments, first,
           r->drop == 0 ? "cold (page cache dropped)" : "WARM (could not drop the page cache)",
           (double)r->warm_ns / NS_PER_S, target, missed(met));
    if (r->drop != 0)
        printf("  (drop_caches: %s)\n", vane_strerror(r->drop));
    fflush(stdout);
}

static void phase_restart(struct bench *b)
{
    char *dir = subdir(b->root, "restart");
    struct restart small, large;
    struct payload payload;

    payload_init(&payload, KIB, 64);
    restart_point(b, dir, b->cfg.restart_small, &payload, &small);
    print_restart(&small, NULL);
    restart_point(b, dir, b->cfg.restart_large, &payload, &large);
    print_restart(&large, &small);
    payload_free(&payload);
    bench_rmtree(dir);
    vane_free(dir);
}

/* ---- main ----------------------------------------------------------------- */

static void print_header(const struct bench *b)
{
    bool tmpfs;
    const char *fs = bench_fs_name(b->root, &tmpfs);
    const struct config *c = &b->cfg;
    struct eventlog_options opt, def;

    printf("bench-store%s: data in %s (%s), %ld CPUs online; windows of %.1f s after %.1f s "
           "warm-up; an event of N B is a stored record of N B\n",
           c->quick ? " --quick" : "", b->root, fs, sysconf(_SC_NPROCESSORS_ONLN), c->duration,
           c->warmup);
    if (tmpfs)
        printf("WARNING: %s is tmpfs; pass --dir on a real disk\n", b->root);
    store_options(&opt);
    eventlog_options_default(&def);
    if (opt.snapshot_threshold != def.snapshot_threshold ||
        opt.max_batch_bytes != def.max_batch_bytes || opt.segment_size != def.segment_size)
        printf("NOTE: store options changed from the defaults: snapshot_threshold %u, "
               "max_batch_bytes %s, segment_size %s\n", opt.snapshot_threshold,
               fmt_bytes((double)opt.max_batch_bytes), fmt_bytes((double)opt.segment_size));
    fflush(stdout);
}

/* ---- a quiet disk between phases ------------------------------------------ */

/* The block device's counters (/sys/dev/block/M:m/stat): writes and
 * discards completed, and requests in flight; false when unreadable. */
static bool disk_counters(const char *path, uint64_t *done, uint64_t *in_flight)
{
    uint64_t f[17] = {0};
    char name[64];
    struct stat st;
    FILE *fp;
    int n;

    if (stat(path, &st) != 0)
        return false;
    snprintf(name, sizeof(name), "/sys/dev/block/%u:%u/stat", major(st.st_dev), minor(st.st_dev));
    if ((fp = fopen(name, "r")) == NULL)
        return false;
    for (n = 0; n < 17 && fscanf(fp, "%" SCNu64, &f[n]) == 1; n++)
        ;
    fclose(fp);
    if (n < 11)
        return false;
    *done = f[4] + f[11]; /* writes and (since Linux 4.18) discards completed */
    *in_flight = f[8];
    return true;
}

/*
 * sync(2), then waits (at most 60 s) until the disk has completed no write
 * or discard for half a second: a file system mounted with `discard` trims
 * what a phase removed well after the unlinks returned.
 */
static void quiet_disk(struct bench *b)
{
    uint64_t done, before, in_flight, start = uv_hrtime();
    int calm = 0;

    sync();
    if (!disk_counters(b->root, &before, &in_flight))
        return;
    while (calm < 5 && uv_hrtime() - start < 60 * NS_PER_S) {
        uv_sleep(100);
        if (!disk_counters(b->root, &done, &in_flight))
            return;
        calm = done == before && in_flight == 0 ? calm + 1 : 0;
        before = done;
    }
}

int main(int argc, char **argv)
{
    static struct bench b;
    int rc;

    if (configure(&b.cfg, argc, argv) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    b.root = bench_make_root(b.cfg.dir, "bench-store");
    bench_fatal_removes(b.cfg.keep ? NULL : b.root);
    store_overrides = &b.cfg;
    uv_loop_init(&b.loop);
    print_header(&b);
    /* Each phase starts on a quiet disk, so none measures the writeback,
     * or the discards, of what the one before wrote and removed. */
    /* Latency first, before the phases that write and remove gigabytes --
     * the disk references among them: a virtual disk can stay slow for tens
     * of seconds after them, past what the guest sees (quiet_disk).  Its
     * own reference is measured right after it. */
    if (phase_wanted(&b.cfg, "paced"))
        quiet_disk(&b), phase_paced(&b);
    if (phase_wanted(&b.cfg, "disk"))
        quiet_disk(&b), phase_disk(&b);
    if (phase_wanted(&b.cfg, "append") || phase_wanted(&b.cfg, "read"))
        quiet_disk(&b), phase_append(&b);
    if (phase_wanted(&b.cfg, "scale"))
        quiet_disk(&b), phase_scale(&b);
    if (phase_wanted(&b.cfg, "head"))
        quiet_disk(&b), phase_head(&b);
    if (phase_wanted(&b.cfg, "restart"))
        quiet_disk(&b), phase_restart(&b);
    uv_run(&b.loop, UV_RUN_NOWAIT);
    if ((rc = uv_loop_close(&b.loop)) != 0)
        fprintf(stderr, "bench-store: the loop did not close cleanly: %s\n", uv_strerror(rc));
    if (!b.cfg.keep)
        bench_rmtree(b.root);
    else
        printf("data kept in %s\n", b.root);
    vane_free(b.root);
    return 0;
}
