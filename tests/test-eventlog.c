/*
 * test-eventlog.c -- segments and eventlogs on real files through a real
 * raft group: appends and group commit, reads across segments and at their
 * edges, a roll in the middle of a batch, restart, time lookups, watchers,
 * retention under a reader, snapshots, torn tails cut at every byte of the
 * last record, flipped bytes refused, and an old-format raft directory that
 * cannot be converted.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/fs.h"
#include "harness.h"
#include "raft/log_format.h"
#include "store/eventlog.h"
#include "store/eventlog_internal.h"
#include "store/record.h"
#include "store/segment.h"
#include "tap.h"

static uv_loop_t loop;
static char *tmpdir;

static struct eventlog *open_log(const char *dir, const struct eventlog_options *opt)
{
    return harness_eventlog_open(&loop, dir, opt);
}

/* Sets *opt to the defaults with 4 KiB segments (a roll every 20 records
 * or so of 150 B) and opens dir with them. */
static struct eventlog *open_small(const char *dir, struct eventlog_options *opt)
{
    eventlog_options_default(opt);
    opt->segment_size = 4096;
    return open_log(dir, opt);
}

static void close_log(struct eventlog *log)
{
    harness_eventlog_close(&loop, log);
}

struct acks {
    size_t count, failed, want;
    uint64_t *offsets;
    bool done;
};

static void on_append(void *arg, int status, uint64_t first)
{
    struct acks *a = arg;

    if (status != 0)
        a->failed++;
    else
        a->offsets[a->count] = first;
    a->done = ++a->count == a->want;
}

/* Fills e as event number n of a test, with a payload of size bytes. */
static void make_event(struct event *e, char *id, char *payload, size_t n, size_t size)
{
    event_reset(e);
    snprintf(id, 32, "event-%zu", n);
    memset(payload, 'a' + (int)(n % 26), size);
    event_add_string(e, "specversion", EVENT_STRING, "1.0");
    event_add_string(e, "id", EVENT_STRING, id);
    event_add_string(e, "source", EVENT_URI_REF, "/test");
    event_add_string(e, "type", EVENT_STRING, "test.event");
    event_set_data(e, payload, size);
}

/* Appends count events one call each, all in one loop iteration, and waits. */
static bool append_many(struct eventlog *log, size_t first_n, size_t count, size_t size,
                        uint64_t *offsets)
{
    struct acks a = {0, 0, count, offsets, false};
    struct event e = EVENT_INIT;
    char id[32], *payload = vane_malloc(size + 1);

    for (size_t i = 0; i < count; i++) {
        make_event(&e, id, payload, first_n + i, size);
        if (eventlog_append(log, &e, 1, on_append, &a) != 0)
            on_append(&a, -1, 0);
    }
    harness_loop_until(&loop, &a.done, 10000);
    event_free(&e);
    vane_free(payload);
    return a.count == count && a.failed == 0;
}

/* Reads [from, from + count) and checks ids and offsets; returns records seen. */
static size_t check_range(struct eventlog *log, uint64_t from, size_t count, const char *what)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    struct event e = EVENT_INIT;
    uint64_t offset = from;
    size_t seen = 0, wrong = 0;

    while (seen < count && eventlog_read(log, offset, 100, 64 * 1024, &batch) == 0 &&
           batch.count > 0) {
        for (size_t i = 0; i < batch.count && seen < count; i++, seen++) {
            const struct event_attr *id;
            char want[32];

            record_to_event(&batch.records[i], &e);
            id = event_get(&e, "id");
            snprintf(want, sizeof(want), "event-%llu", (unsigned long long)(from + seen));
            if (batch.records[i].offset != from + seen || id == NULL ||
                id->value.u.bytes.len != strlen(want) ||
                memcmp(id->value.u.bytes.ptr, want, strlen(want)) != 0)
                wrong++;
        }
        offset = batch.next_offset;
    }
    is_int(seen, count, "%s: %zu records read", what, count);
    is_int(wrong, 0, "%s: each has its offset and id", what);
    event_free(&e);
    eventlog_batch_free(&batch);
    return seen;
}

static void test_append_and_read(void)
{
    char *dir = vane_asprintf("%s/basic", tmpdir);
    struct eventlog_options opt;
    struct eventlog_stats st;
    uint64_t offsets[300];
    struct eventlog *log;
    bool dense = true;

    eventlog_options_default(&opt);
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "a new eventlog opens"))
        return;
    ok(append_many(log, 0, 300, 100, offsets), "300 appends in one iteration are acknowledged");
    for (size_t i = 0; i < 300; i++)
        dense &= offsets[i] == i;
    ok(dense, "they get offsets 0..299 in order");
    check_range(log, 0, 300, "read back");
    check_range(log, 123, 10, "read from the middle");
    eventlog_stats(log, &st);
    is_int(st.next_offset, 300, "stats: next offset");
    is_int(st.first_offset, 0, "stats: first offset");
    close_log(log);

    log = open_log(dir, &opt);
    if (ok(log != NULL, "it opens again")) {
        check_range(log, 0, 300, "after a restart");
        ok(append_many(log, 300, 5, 100, offsets) && offsets[0] == 300,
           "appends go on from offset 300");
        check_range(log, 295, 10, "across the restart");
        close_log(log);
    }
    vane_free(dir);
}

/* How many files match dir/pattern. */
static size_t count_files(const char *dir, const char *pattern)
{
    char *full = vane_asprintf("%s/%s", dir, pattern);
    glob_t g;
    size_t n = glob(full, 0, NULL, &g) == 0 ? g.gl_pathc : 0;

    if (n > 0)
        globfree(&g);
    vane_free(full);
    return n;
}

static void test_roll_and_edges(void)
{
    char *dir = vane_asprintf("%s/roll", tmpdir);
    struct eventlog_options opt;
    struct eventlog_stats st;
    uint64_t offsets[200];
    struct eventlog *log;

    eventlog_options_default(&opt);
    opt.segment_size = 8192; /* ~30 records of 250 B per segment */
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "an eventlog with 8 KiB segments opens"))
        return;
    ok(append_many(log, 0, 200, 200, offsets), "200 appends in one batch are acknowledged");
    eventlog_stats(log, &st);
    ok(st.segments > 5, "the batch rolled over several segments (%zu)", st.segments);
    check_range(log, 0, 200, "across segments");
    /* Every segment edge: the last record of one and the first of the next. */
    for (uint64_t off = 1; off < 200; off++) {
        struct eventlog_batch b = EVENTLOG_BATCH_INIT;

        if (eventlog_read(log, off, 1, 1, &b) != 0 || b.count != 1 || b.records[0].offset != off) {
            ok(0, "single read at offset %llu", (unsigned long long)off);
            eventlog_batch_free(&b);
            break;
        }
        eventlog_batch_free(&b);
        if (off == 199)
            ok(1, "a single-record read at every offset finds exactly that record");
    }
    close_log(log);
    ok(count_files(dir, "*.idx") >= st.segments - 1, "sealed segments have their index files");
    log = open_log(dir, &opt);
    if (ok(log != NULL, "it reopens from the sealed indexes")) {
        check_range(log, 0, 200, "after reopening");
        close_log(log);
    }
    vane_free(dir);
}

struct watched {
    size_t calls;
    uint64_t next;
    void *other;             /* a watch this one removes when called */
};

static void on_watch(struct eventlog *log, uint64_t next, void *arg)
{
    struct watched *w = arg;

    w->calls++;
    w->next = next;
    if (w->other != NULL) {
        eventlog_unwatch(log, w->other);
        w->other = NULL;
    }
}

static void test_time_watch_retention(void)
{
    char *dir = vane_asprintf("%s/retain", tmpdir);
    struct eventlog_options opt;
    struct eventlog_stats st;
    struct eventlog_batch b = EVENTLOG_BATCH_INIT;
    struct watched w = {0, 0, NULL}, wa = {0, 0, NULL}, wb = {0, 0, NULL};
    uint64_t offsets[100];
    struct eventlog *log;
    int64_t mid_time;
    void *watch;

    eventlog_options_default(&opt);
    opt.segment_size = 4096;
    /* Retention deletes only records a raft snapshot covers: one per entry here. */
    opt.snapshot_threshold = 1;
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "an eventlog with 4 KiB segments opens"))
        return;
    watch = eventlog_watch(log, on_watch, &w);
    append_many(log, 0, 50, 200, offsets);
    ok(w.calls >= 1 && w.next == 50, "the watcher heard of the new events (next %llu)",
       (unsigned long long)w.next);
    eventlog_unwatch(log, watch);
    eventlog_read(log, 49, 1, 1, &b);
    mid_time = b.records[0].stored_at + 1;
    uv_sleep(5);
    append_many(log, 50, 50, 200, offsets);
    is_int(eventlog_offset_at_time(log, mid_time), 50, "the first event after a time is found");
    is_int(eventlog_offset_at_time(log, 0), 0, "a time before everything gives offset 0");
    is_int(eventlog_offset_at_time(log, INT64_MAX), 100, "a time after everything gives the end");

    /* Let the seals and the snapshot finish, then keep about 8 KiB. */
    for (int i = 0; i < 50; i++)
        uv_run(&loop, UV_RUN_NOWAIT), uv_sleep(1);
    ok(eventlog_retain(log, 0, 0, 8192) > 0, "retention by size deletes whole segments");
    eventlog_stats(log, &st);
    ok(st.first_offset > 0 && st.bytes <= 8192 + 4096, "the log now starts at %llu",
       (unsigned long long)st.first_offset);
    is_int(eventlog_read(log, 3, 10, 1 << 20, &b), 0, "a reader positioned in a deleted segment reads on");
    is_int(b.records[0].offset, st.first_offset, "from the earliest available offset");
    {
        /* A segment that ends where the snapshot does: the entry after the
         * snapshot may begin in the next one, named from this one's end. */
        uint64_t snapshot_next = log->snapshot_next;

        log->snapshot_next = log->segs[0]->next_offset;
        is_int(eventlog_retain(log, INT64_MAX, 1, 0), 0,
               "retention keeps a segment that ends where the snapshot does");
        log->snapshot_next = snapshot_next;
    }
    ok(eventlog_retain(log, INT64_MAX, 1, 0) > 0, "retention by age deletes old segments");
    eventlog_stats(log, &st);
    is_int(st.next_offset, 100, "but never the active segment");

    /* Two watchers that each remove the other when called: whichever runs
     * first removes the second, which must then not run (nor crash). */
    wa.other = eventlog_watch(log, on_watch, &wb);
    wb.other = eventlog_watch(log, on_watch, &wa);
    append_many(log, 100, 1, 200, offsets);
    is_int(wa.calls + wb.calls, 1, "a watcher removed by another during a callback is not called");
    append_many(log, 101, 1, 200, offsets);
    is_int(wa.calls + wb.calls, 2, "and the one left is still called");
    eventlog_batch_free(&b);
    close_log(log);
    vane_free(dir);
}

/*
 * Retention never deletes records of entries raft's log still refers to
 * (a restart reads them back): it asks for a snapshot instead, which comes
 * after a few more entries, and then deletes.
 */
static void test_retention_waits_for_snapshot(void)
{
    char *dir = vane_asprintf("%s/retain-snap", tmpdir);
    struct eventlog_options opt;
    uint64_t offsets[100];
    struct eventlog *log;
    size_t dropped = 0;

    log = open_small(dir, &opt);
    if (!ok(log != NULL, "an eventlog snapshotting by size opens"))
        return;
    append_many(log, 0, 100, 200, offsets);
    for (int i = 0; i < 50; i++)
        uv_run(&loop, UV_RUN_NOWAIT), uv_sleep(1);
    is_int(eventlog_retain(log, INT64_MAX, 1, 0), 0,
           "retention keeps the records raft's log still refers to (no snapshot yet)");
    for (size_t i = 0; i < 40 && dropped == 0; i++) {
        append_many(log, 100 + i, 1, 200, offsets);
        for (int k = 0; k < 5; k++)
            uv_run(&loop, UV_RUN_NOWAIT), uv_sleep(1);
        dropped = eventlog_retain(log, INT64_MAX, 1, 0);
    }
    ok(dropped > 0, "it asked for a snapshot, and deletes once one covers them (%zu segments)",
       dropped);
    close_log(log);
    vane_free(dir);
}

static void test_snapshots(void)
{
    char *dir = vane_asprintf("%s/snap", tmpdir);
    struct eventlog_options opt;
    uint64_t offsets[10];
    struct eventlog *log;
    bool all = true;

    eventlog_options_default(&opt);
    opt.snapshot_threshold = 4;
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "an eventlog snapshotting every 4 entries opens"))
        return;
    for (size_t i = 0; i < 40; i++)
        all &= append_many(log, i * 10, 10, 100, offsets);
    ok(all, "40 batches are acknowledged");
    for (int i = 0; i < 50; i++)
        uv_run(&loop, UV_RUN_NOWAIT), uv_sleep(1);
    close_log(log);
    ok(count_files(dir, "raft/snap-*") > 0, "raft took snapshots");
    log = open_log(dir, &opt);
    if (ok(log != NULL, "it reopens from snapshot and segments")) {
        check_range(log, 0, 400, "after snapshots and a restart");
        close_log(log);
    }
    vane_free(dir);
}

static uint64_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The byte position of the last record in a segment file. */
static uint64_t last_record_at(const char *path)
{
    char *bytes = harness_read_file(path);
    uint64_t size = file_size(path), at = 0, last = 0;

    while (bytes != NULL && at < size) {
        last = at;
        at += record_peek_size(bytes + at, (size_t)(size - at));
    }
    vane_free(bytes);
    return last;
}

static void truncate_file(const char *path, uint64_t size)
{
    if (truncate(path, (off_t)size) != 0)
        tap_diag("cannot truncate %s", path);
}

static void test_torn_tail(void)
{
    char *dir = vane_asprintf("%s/torn", tmpdir);
    char *path = segment_path(dir, 0, "log"), *copy = vane_asprintf("%s.orig", path);
    char *save = vane_asprintf("cp %s %s", path, copy), *restore = vane_asprintf("cp %s %s", copy, path);
    struct eventlog_options opt;
    struct eventlog_stats st;
    uint64_t offsets[20], full, last_start;
    struct eventlog *log;
    size_t cuts = 0, right = 0;

    eventlog_options_default(&opt);
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "an eventlog for the torn-tail test opens"))
        return;
    /* Two raft entries, each written (and synced) on its own. */
    append_many(log, 0, 10, 150, offsets);
    append_many(log, 10, 10, 150, offsets);
    close_log(log);
    full = file_size(path);
    last_start = last_record_at(path);
    ok(system(save) == 0 && last_start > 0, "the segment is saved; its last record is at byte %llu",
       (unsigned long long)last_start);
    /* A cut at every byte of the last record: the segment keeps 19 records. */
    for (uint64_t cut = last_start; cut < full; cut++) {
        struct segment *seg;
        char *errmsg = NULL;

        truncate_file(path, cut);
        if (segment_open(&seg, dir, 0, true, &errmsg) == 0) {
            cuts++;
            right += seg->next_offset == 19 && seg->size == last_start && !seg->damaged &&
                     file_size(path) == last_start;
            segment_close(seg);
        }
        vane_free(errmsg);
        if (system(restore) != 0)
            tap_diag("cannot restore %s", path);
    }
    is_int(cuts, full - last_start, "the segment opens after a cut at every byte of its last record");
    is_int(right, cuts, "each time it keeps the 19 whole records and invents nothing");

    /* Through the eventlog: the records are written once, in the segment,
     * and a write cut short is the last one, which was never acknowledged.
     * Its raft entry goes whole; the entry before it is served. */
    truncate_file(path, last_start + 7);
    log = open_log(dir, &opt);
    if (ok(log != NULL, "the eventlog opens over a torn tail")) {
        check_range(log, 0, 10, "the entry before the torn one");
        eventlog_stats(log, &st);
        is_int(st.next_offset, 10, "nothing of the torn entry is served or invented");
        ok(!st.damaged, "a torn last write is not damage");
        ok(append_many(log, 10, 5, 150, offsets) && offsets[0] == 10,
           "appends go on at offset 10");
        check_range(log, 0, 15, "with the new records after the old");
        close_log(log);
    }
    vane_free(save);
    vane_free(restore);
    vane_free(copy);
    vane_free(path);
    vane_free(dir);
}

/* The path of dir's newest segment file (the largest base offset below next). */
static char *newest_segment(const char *dir, uint64_t next)
{
    char *path = NULL;

    for (uint64_t base = next; path == NULL && base-- > 0;) {
        path = segment_path(dir, base, "log");
        if (access(path, F_OK) != 0) {
            vane_free(path);
            path = NULL;
        }
    }
    return path;
}

/* Writes len zero bytes at position at of path (extending it if need be). */
static void zero_fill(const char *path, uint64_t at, size_t len)
{
    char *zeros = vane_calloc(1, len);
    int fd = open(path, O_WRONLY);

    if (fd < 0 || pwrite(fd, zeros, len, (off_t)at) != (ssize_t)len)
        tap_diag("cannot write zeros into %s", path);
    close(fd);
    vane_free(zeros);
}

/* Writes len bytes that are neither zeros nor records at position at of path. */
static void junk_fill(const char *path, uint64_t at, size_t len)
{
    char *junk = vane_malloc(len);
    int fd = open(path, O_WRONLY);

    memset(junk, 0x5a, len);
    if (fd < 0 || pwrite(fd, junk, len, (off_t)at) != (ssize_t)len)
        tap_diag("cannot write into %s", path);
    close(fd);
    vane_free(junk);
}

/* dir, after a power-loss shape, opens undamaged with offsets below next
 * only, none invented, and takes appends from next on. */
static void reopens_whole(const char *dir, const struct eventlog_options *opt, uint64_t next,
                          const char *what)
{
    struct eventlog *log = open_log(dir, opt);
    struct eventlog_stats st;
    uint64_t offsets[10];

    if (!ok(log != NULL, "%s: it opens", what))
        return;
    eventlog_stats(log, &st);
    ok(!st.damaged, "%s: no damage", what);
    check_range(log, 0, next, what);
    is_int(st.next_offset, next, "%s: nothing after offset %llu, none invented", what,
           (unsigned long long)next - 1);
    ok(append_many(log, next, 10, 150, offsets) && offsets[0] == next,
       "%s: appends go on at %llu", what, (unsigned long long)next);
    close_log(log);
}

/*
 * Power-loss shapes of a torn tail: the file grew but the data did not reach
 * the disk.  A header that survived with zeros after it, in the newest
 * segment, is a torn last write, not damage: its raft entry (never
 * acknowledged) goes; so do bytes after the last record that no entry of
 * raft's log refers to.  A full segment, synced before the next one began,
 * that ends torn lost records after they were acknowledged: that is damage,
 * reported, and nothing from there on is served or written.
 */
static void test_power_loss(void)
{
    char *dir = vane_asprintf("%s/power", tmpdir);
    char *seg0 = segment_path(dir, 0, "log"), *idx0 = segment_path(dir, 0, "idx");
    struct eventlog_options opt;
    struct eventlog_batch b = EVENTLOG_BATCH_INIT;
    struct eventlog_stats st;
    uint64_t offsets[80], last;
    struct eventlog *log;

    log = open_small(dir, &opt);
    if (!ok(log != NULL, "an eventlog for the power-loss tests opens"))
        return;
    for (size_t i = 0; i < 8; i++)
        append_many(log, i * 10, 10, 150, offsets);
    eventlog_stats(log, &st);
    close_log(log);
    ok(st.segments > 3, "the events span %zu segments", st.segments);

    /* The newest segment: keep the last record's header, zero its body, and
     * let zeros run on past it as a grown file would. */
    {
        char *active = newest_segment(dir, st.next_offset);

        last = last_record_at(active);
        zero_fill(active, last + RECORD_HEADER_SIZE, 8192);
        reopens_whole(dir, &opt, 70, "a header followed by zeros (a torn tail)");
        /* A later block of a write that was never synced reached the disk,
         * an earlier one did not: bytes that are not zeros after the last
         * record.  No entry of raft's log refers to them: they go, and
         * nothing is damaged. */
        junk_fill(active, file_size(active), 700);
        reopens_whole(dir, &opt, 80, "bytes after the last record that no entry refers to");
        /* The log's last write is cut: its last record never reached the
         * disk (zeros), and records stored beside that write's sync -- of
         * entries the log never got -- did, after it: the cut entry goes,
         * and that is no damage either. */
        vane_free(active);
        active = newest_segment(dir, 90);
        last = last_record_at(active);
        zero_fill(active, last, file_size(active) - last);
        junk_fill(active, file_size(active), 700);
        reopens_whole(dir, &opt, 80, "a cut last write with records stored after it");
        /* A leader may make the next segment's file before its own writer
         * wrote the records of this one: a crash then leaves an empty file
         * after a segment that lacks its last records.  The empty file
         * goes, and the tear is cut as the newest segment's. */
        vane_free(active);
        active = newest_segment(dir, 90);
        last = last_record_at(active);
        truncate_file(active, last + 7);
        vane_free(active);
        active = segment_path(dir, 95, "log");
        close(open(active, O_CREAT | O_WRONLY, 0644));
        reopens_whole(dir, &opt, 80, "an empty segment file after a torn one");
        ok(access(active, F_OK) != 0, "the empty file is gone");
        vane_free(active);
    }

    /* The first segment, full and synced, ends torn: acknowledged records are gone. */
    unlink(idx0);
    last = last_record_at(seg0);
    truncate_file(seg0, last + 10);
    log = open_log(dir, &opt);
    if (ok(log != NULL, "a full segment that ends torn does not stop the start")) {
        uint64_t torn_at;

        eventlog_stats(log, &st);
        ok(st.damaged, "the eventlog is marked damaged");
        torn_at = st.next_offset;
        ok(torn_at > 0 && torn_at < 80, "it serves up to the tear (offset %llu)",
           (unsigned long long)torn_at);
        check_range(log, 0, (size_t)torn_at, "the records before the tear");
        is_int(eventlog_read(log, torn_at, 10, 1 << 20, &b), VANE_ECORRUPT,
               "a read at the tear says the log is damaged");
        is_int(b.count, 0, "and serves nothing");
        ok(!append_many(log, torn_at, 1, 150, offsets), "appends are refused");
        close_log(log);
    }
    eventlog_batch_free(&b);
    vane_free(seg0);
    vane_free(idx0);
    vane_free(dir);
}

static uint64_t next_offset(struct eventlog *log)
{
    struct eventlog_stats st;

    eventlog_stats(log, &st);
    return st.next_offset;
}

/*
 * Junk right at the snapshot's extent: a snapshot covers every record, and
 * bytes that are neither zeros nor records follow the last one.  No entry
 * refers to them: they go, and nothing is damaged.
 */
static void test_junk_at_extent(void)
{
    char *dir = vane_asprintf("%s/junk-extent", tmpdir), *seg0 = segment_path(dir, 0, "log");
    struct eventlog_options opt;
    struct eventlog_stats st;
    uint64_t offsets[10], last;
    struct eventlog *log;

    eventlog_options_default(&opt);
    opt.snapshot_threshold = 1;
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "junk at the extent: an eventlog snapshotting every entry opens"))
        return;
    /* Raft snapshots after an entry is applied, unless one is being taken:
     * entries go on until one snapshot covers them all. */
    for (size_t i = 0; i < 20 && (i < 2 || log->snapshot_next < next_offset(log)); i++) {
        append_many(log, next_offset(log), 10, 150, offsets);
        for (int k = 0; k < 100 && log->snapshot_next < next_offset(log); k++)
            uv_run(&loop, UV_RUN_NOWAIT), uv_sleep(1);
    }
    last = next_offset(log);
    ok(last >= 20 && log->snapshot_next == last,
       "junk at the extent: a snapshot covers all %llu records (extent %llu)",
       (unsigned long long)last, (unsigned long long)log->snapshot_next);
    close_log(log);
    junk_fill(seg0, file_size(seg0), 700);
    log = open_log(dir, &opt);
    if (ok(log != NULL, "junk at the extent: it opens")) {
        eventlog_stats(log, &st);
        ok(!st.damaged, "junk at the extent: the eventlog is not marked damaged");
        check_range(log, 0, (size_t)last, "junk at the extent: every acknowledged record");
        ok(append_many(log, (size_t)last, 10, 150, offsets) && offsets[0] == last,
           "junk at the extent: appends go on after them");
        close_log(log);
    }
    vane_free(seg0);
    vane_free(dir);
}

static void flip_byte(const char *path, uint64_t at)
{
    int fd = open(path, O_RDWR);
    uint8_t byte;

    if (fd < 0 || pread(fd, &byte, 1, (off_t)at) != 1)
        tap_diag("cannot read %s", path);
    byte ^= 0x40;
    if (pwrite(fd, &byte, 1, (off_t)at) != 1)
        tap_diag("cannot write %s", path);
    close(fd);
}

/* Segment base of dir opened on its own, as a restart opens a sealed one;
 * its index entries read (segment_read_index) when read is set. */
static struct segment *open_sealed(const char *dir, uint64_t base, bool read)
{
    struct segment *seg = NULL;
    char *errmsg = NULL;

    if (segment_open(&seg, dir, base, false, &errmsg) != 0) {
        tap_diag("segment %llu: %s", (unsigned long long)base, errmsg);
        vane_free(errmsg);
        return NULL;
    }
    if (read)
        segment_read_index(seg);
    return seg;
}

/* Rewrites the .idx of sealed segment base in version 1, the format older
 * versions wrote: the entries, then magic, next offset, size, last raft
 * index, last store time, last entry position (8 bytes each), the entry
 * count, and a CRC-32C of the entries and the 52 trailer bytes before it. */
static void write_index_v1(const char *dir, uint64_t base)
{
    struct segment *seg = open_sealed(dir, base, true);
    char *path = segment_path(dir, base, "idx");
    size_t len = seg->index_count * sizeof(struct segment_entry);
    uint64_t fields[6] = {UINT64_C(0x0131584449454E56), seg->next_offset, seg->size,
                          seg->last_raft_index, (uint64_t)seg->last_time, seg->last_entry_pos};
    uint8_t t[56];
    uint32_t count = (uint32_t)seg->index_count, crc;
    int fd = open(path, O_WRONLY | O_TRUNC);

    memcpy(t, fields, sizeof(fields));
    memcpy(t + 48, &count, 4);
    crc = vane_crc32c(vane_crc32c(0, seg->index, len), t, 52);
    memcpy(t + 52, &crc, 4);
    if (fd < 0 || write(fd, seg->index, len) != (ssize_t)len || write(fd, t, 56) != 56)
        tap_diag("cannot write %s", path);
    if (fd >= 0)
        close(fd);
    segment_close(seg);
    vane_free(path);
}

/* Whether segments a and b hold the same extent and index. */
static bool same_index(const struct segment *a, const struct segment *b)
{
    return a->next_offset == b->next_offset && a->size == b->size &&
           a->first_time == b->first_time && a->last_time == b->last_time &&
           a->last_raft_index == b->last_raft_index && a->index_count == b->index_count &&
           memcmp(a->index, b->index, a->index_count * sizeof(*a->index)) == 0;
}

/*
 * A restart takes sealed segments from their .idx trailers and reads a
 * segment's index entries at the first lookup in it.  Entries that fail
 * their CRC are rebuilt from the records; a damaged trailer has the
 * segment scanned and its .idx written again; a version 1 .idx, which
 * older versions wrote, is still taken (whole).
 */
static void test_sealed_indexes(void)
{
    char *dir = vane_asprintf("%s/indexes", tmpdir);
    char *idx0 = segment_path(dir, 0, "idx"), *idx1;
    struct eventlog_options opt;
    struct eventlog_stats st;
    struct eventlog_batch b = EVENTLOG_BATCH_INIT;
    struct segment *seg, *before[3];
    uint64_t offsets[20];
    struct eventlog *log;

    eventlog_options_default(&opt);
    opt.segment_size = 8192;    /* ~30 records of 250 B per segment */
    opt.snapshot_threshold = 2; /* a restart takes the first segments from their .idx */
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "an eventlog with 8 KiB segments opens"))
        return;
    for (size_t i = 0; i < 10; i++)
        append_many(log, i * 20, 20, 200, offsets);
    for (int i = 0; i < 50; i++)
        uv_run(&loop, UV_RUN_NOWAIT), uv_sleep(1);
    close_log(log);

    seg = open_sealed(dir, 0, false);
    if (!ok(seg != NULL, "sealed segment 0 opens on its own"))
        return;
    ok(seg->sealed && seg->next_offset > 0 && seg->first_time > 0,
       "it is taken sealed, with its extent and first store time");
    ok(seg->index_count == 0 && seg->index_unread > 0,
       "from its trailer alone: its %zu index entries are not read", seg->index_unread);
    segment_position_of(seg, seg->next_offset - 1);
    ok(seg->index_count > 0 && seg->index_unread == 0, "the first lookup reads them");
    segment_close(seg);
    before[0] = open_sealed(dir, 0, true);
    before[1] = open_sealed(dir, before[0]->next_offset, true);
    before[2] = open_sealed(dir, before[1]->next_offset, true);
    idx1 = segment_path(dir, before[1]->base_offset, "idx");

    flip_byte(idx0, 5); /* an entry */
    seg = open_sealed(dir, 0, true);
    ok(same_index(seg, before[0]), "a damaged entry: the index is rebuilt from the records");
    segment_close(seg);
    flip_byte(idx1, file_size(idx1) - 20); /* the trailer */
    seg = open_sealed(dir, before[1]->base_offset, true);
    ok(same_index(seg, before[1]), "a damaged trailer: the segment is scanned");
    segment_close(seg);
    seg = open_sealed(dir, before[1]->base_offset, false);
    ok(seg->index_unread > 0, "and its .idx written again");
    segment_close(seg);
    write_index_v1(dir, before[2]->base_offset);
    seg = open_sealed(dir, before[2]->base_offset, false);
    ok(seg->index_count > 0 && seg->index_unread == 0, "an .idx of version 1 is read whole");
    ok(same_index(seg, before[2]), "with the same extent and index");
    segment_close(seg);
    seg = open_sealed(dir, before[2]->base_offset, false);
    ok(seg->index_unread > 0, "and written again, in version 2");
    segment_read_index(seg);
    ok(same_index(seg, before[2]), "which reads the same");
    segment_close(seg);
    seg = open_sealed(dir, before[1]->base_offset, false);
    is_int(segment_limit(seg, seg->next_offset), 0, "a sealed segment made the active one at its end");
    ok(!seg->sealed && same_index(seg, before[1]), "has its index read, and is no longer sealed");
    segment_close(seg);

    log = open_log(dir, &opt);
    if (ok(log != NULL, "the eventlog reopens with them")) {
        check_range(log, 0, 200, "after reopening");
        eventlog_stats(log, &st);
        ok(!st.damaged, "it is not damaged: an index is not the records");
        ok(eventlog_read(log, 0, 1, 1 << 20, &b) == 0 && b.count == 1 &&
               st.first_time == b.records[0].stored_at,
           "its first store time is the first record's");
        is_int(eventlog_offset_at_time(log, st.first_time), 0, "a time lookup finds offset 0");
        close_log(log);
    }
    /* A record header out of sequence where a restart walks back to the
     * snapshot's extent: damage, reported, not a failed start. */
    {
        char *log0 = segment_path(dir, 0, "log"), *bytes = harness_read_file(log0);
        uint64_t second = record_peek_size(bytes, (size_t)file_size(log0));

        flip_byte(log0, second + 16); /* its offset */
        seg = open_sealed(dir, 0, false);
        is_int(segment_limit(seg, 2), 0, "walking back over a bad header is no error");
        ok(seg->damaged && seg->next_offset == 1, "it is damage, found after record 0");
        segment_close(seg);
        vane_free(bytes);
        vane_free(log0);
    }
    for (size_t i = 0; i < 3; i++)
        segment_close(before[i]);
    eventlog_batch_free(&b);
    vane_free(idx0);
    vane_free(idx1);
    vane_free(dir);
}

/*
 * A byte flipped in the 5th record of sealed segment 0.  Records a snapshot
 * covers are found damaged when read; those of an entry still in raft's log
 * when the entry is loaded at start.  Either way the records before the
 * damage are served and nothing from it on.
 */
static void flipped_byte(const char *name, unsigned snapshot_threshold, size_t batches)
{
    char *dir = vane_asprintf("%s/%s", tmpdir, name);
    char *path = segment_path(dir, 0, "log");
    struct eventlog_options opt;
    struct eventlog_batch b = EVENTLOG_BATCH_INIT;
    struct eventlog_stats st;
    uint64_t offsets[60];
    struct eventlog *log;
    int rc;

    eventlog_options_default(&opt);
    opt.segment_size = 4096;
    opt.snapshot_threshold = snapshot_threshold;
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "%s: an eventlog opens", name))
        return;
    for (size_t i = 0; i < batches; i++)
        append_many(log, i * (60 / batches), 60 / batches, 150, offsets);
    for (int i = 0; i < 50; i++)
        uv_run(&loop, UV_RUN_NOWAIT), uv_sleep(1);
    close_log(log);
    /* Segment 0 is sealed; damage its 5th record (~200 B each). */
    flip_byte(path, 4 * 200 + 100);
    log = open_log(dir, &opt);
    if (ok(log != NULL, "%s: it opens", name)) {
        rc = eventlog_read(log, 0, 100, 1 << 20, &b);
        ok(rc == (snapshot_threshold ? VANE_ECORRUPT : 0), "%s: the read stops at the damage (%d)",
           name, rc);
        ok(b.count >= 3 && b.count <= 5, "%s: the records before the damage are served (%zu)",
           name, b.count);
        eventlog_stats(log, &st);
        ok(st.damaged, "%s: the eventlog is marked damaged", name);
        is_int(eventlog_read(log, 10, 10, 1 << 20, &b), VANE_ECORRUPT,
               "%s: nothing past the damage is served", name);
        is_int(b.count, 0, "%s: not one record", name);
        close_log(log);
    }
    eventlog_batch_free(&b);
    vane_free(path);
    vane_free(dir);
}

static void test_flipped_byte(void)
{
    flipped_byte("flip-read", 2, 12);
    flipped_byte("flip-start", 0, 1);
}

/*
 * A byte of the last record of the log's last write, synced and
 * acknowledged, goes bad, and records follow it (stored for entries the log
 * never got): damage, reported and kept -- not taken for a write cut by a
 * power loss and dropped.
 */
static void test_bit_rot_last_write(void)
{
    char *dir = vane_asprintf("%s/rot-last", tmpdir), *path = segment_path(dir, 0, "log");
    struct eventlog_options opt;
    struct eventlog_stats st;
    uint64_t offsets[10], last;
    struct eventlog *log;

    eventlog_options_default(&opt);
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "bit rot in the last write: an eventlog opens"))
        return;
    for (size_t i = 0; i < 8; i++)
        append_many(log, i * 10, 10, 150, offsets);
    close_log(log);
    last = last_record_at(path);
    flip_byte(path, last + RECORD_HEADER_SIZE + 20);
    junk_fill(path, file_size(path), 700);
    log = open_log(dir, &opt);
    if (ok(log != NULL, "bit rot in the last write: it opens")) {
        eventlog_stats(log, &st);
        ok(st.damaged, "bit rot in the last write: it is reported as damage");
        is_int(st.next_offset, 79, "bit rot in the last write: the records before it are served");
        close_log(log);
    }
    vane_free(path);
    vane_free(dir);
}

/* The base offset of dir's newest segment file (below next). */
static uint64_t newest_base(const char *dir, uint64_t next)
{
    uint64_t base = next;
    char *path = NULL;

    while (path == NULL && base-- > 0) {
        path = segment_path(dir, base, "log");
        if (access(path, F_OK) != 0) {
            vane_free(path);
            path = NULL;
        }
    }
    vane_free(path);
    return base;
}

/*
 * A byte goes bad in the last record of a segment that is not the newest,
 * and that record belongs to the log's last write: an entry whose records
 * run on into the newest segment.  The segment was synced whole before the
 * next one began, so its end is no tear: damage, reported, the file left
 * as it is -- not cut, and the acknowledged entry not dropped as a write
 * that never reached the disk.
 */
static void test_bit_rot_segment_end(void)
{
    char *dir = vane_asprintf("%s/rot-end", tmpdir), *path;
    struct eventlog_options opt;
    struct eventlog_stats st;
    uint64_t offsets[7], total = 0, newest = 0, before, last, size;
    struct eventlog *log;

    log = open_small(dir, &opt);
    if (!ok(log != NULL, "bit rot at a segment's end: an eventlog opens"))
        return;
    /* Entries of 7 records until the newest segment begins inside the last one. */
    while (total < 700 && !(newest % 7 != 0 && newest > total - 7 && newest > 0)) {
        append_many(log, total, 7, 150, offsets);
        total += 7;
        newest = newest_base(dir, total);
    }
    close_log(log);
    before = newest_base(dir, newest);
    path = segment_path(dir, before, "log");
    ok(newest % 7 != 0 && before < newest, "the last entry runs from segment %llu into %llu",
       (unsigned long long)before, (unsigned long long)newest);
    last = last_record_at(path);
    size = file_size(path);
    flip_byte(path, last + RECORD_HEADER_SIZE + 20);
    log = open_log(dir, &opt);
    if (ok(log != NULL, "bit rot at a segment's end: it opens")) {
        eventlog_stats(log, &st);
        ok(st.damaged, "bit rot at a segment's end: it is reported as damage");
        is_int(st.next_offset, newest - 1, "the records before it are served");
        close_log(log);
    }
    is_int(file_size(path), size, "the damaged segment is left as it was");
    vane_free(path);
    vane_free(dir);
}

/*
 * A segment in the middle of an entry's records loses its last record
 * whole (it ends at a record boundary, short of the next segment's base).
 * The entry is the log's last write, but the segment was synced before the
 * next one began: damage, reported -- neither a start that fails nor an
 * acknowledged entry dropped as a cut write.
 */
static void test_short_middle_segment(void)
{
    char *dir = vane_asprintf("%s/short-mid", tmpdir), *path;
    struct eventlog_options opt;
    struct eventlog_stats st;
    uint64_t offsets[50], *bases = NULL, lost = 0;
    size_t count = 0;
    struct eventlog *log;

    log = open_small(dir, &opt);
    if (!ok(log != NULL, "a short middle segment: an eventlog opens"))
        return;
    append_many(log, 0, 50, 150, offsets); /* one entry over several segments */
    close_log(log);
    eventlog_list_segments(dir, &bases, &count);
    if (!ok(count >= 3, "the entry spans %zu segments", count)) {
        vane_free(bases);
        return;
    }
    path = segment_path(dir, bases[1], "log");
    lost = bases[2] - 1;
    truncate_file(path, last_record_at(path));
    log = open_log(dir, &opt);
    if (ok(log != NULL, "a short middle segment: it opens")) {
        eventlog_stats(log, &st);
        ok(st.damaged, "a short middle segment: it is reported as damage");
        is_int(st.next_offset, lost, "the records before the lost one are served");
        close_log(log);
    }
    vane_free(path);
    vane_free(bases);
    vane_free(dir);
}

/* A damaged eventlog refuses raft a snapshot: the entries past the damage
 * count as applied without their records. */
static void no_snapshot(struct eventlog *log, const char *what)
{
    struct raft_buffer *bufs = NULL;
    unsigned n = 0;
    int rc = log->fsm.snapshot(&log->fsm, &bufs, &n);

    is_int(rc, RAFT_BUSY, "%s: it takes no snapshot", what);
    if (rc == 0) {
        raft_free(bufs[0].base);
        raft_free(bufs);
    }
}

/*
 * Damage that loading raft's log finds, past the snapshot's extent, with
 * more records before it than the in-memory tail holds: the files serve
 * every record up to the damage (what this node has written reaches it),
 * also once later entries trim the tail.
 */
static void test_damage_past_tail(void)
{
    char *dir = vane_asprintf("%s/damage-tail", tmpdir), *path = segment_path(dir, 0, "log");
    struct eventlog_options opt;
    struct eventlog_batch b = EVENTLOG_BATCH_INIT;
    struct eventlog_stats st;
    uint64_t offsets[60];
    struct eventlog *log;

    eventlog_options_default(&opt);
    opt.snapshot_threshold = 0;
    opt.tail_size = 2048;
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "damage past the tail: an eventlog with a 2 KiB tail opens"))
        return;
    /* Two entries: applying the second at start trims the first's records
     * from the tail. */
    append_many(log, 0, 30, 150, offsets);
    append_many(log, 30, 30, 150, offsets);
    close_log(log);
    flip_byte(path, file_size(path) / 60 * 40 + 100); /* in record 40 (all of about one size) */
    log = open_log(dir, &opt);
    if (ok(log != NULL, "damage past the tail: it opens")) {
        eventlog_stats(log, &st);
        ok(st.damaged, "damage past the tail: the eventlog is marked damaged");
        is_int(st.next_offset, 40, "damage past the tail: it ends at the damage");
        is_int(log->written_next, 40, "damage past the tail: the files serve every record before it");
        check_range(log, 0, 40, "damage past the tail: the records before it");
        is_int(eventlog_read(log, 45, 10, 1 << 20, &b), VANE_ECORRUPT,
               "damage past the tail: nothing past it is served");
        no_snapshot(log, "damage past the tail");
        close_log(log);
    }
    log = open_log(dir, &opt);
    if (ok(log != NULL, "damage past the tail: it opens again")) {
        eventlog_stats(log, &st);
        ok(st.damaged && st.next_offset == 40, "damage past the tail: still damaged at 40");
        check_range(log, 0, 40, "damage past the tail: the records before it, again");
        close_log(log);
    }
    eventlog_batch_free(&b);
    vane_free(path);
    vane_free(dir);
}

/*
 * Appends count batches of per records each to the raft log in dir/raft as
 * Vane wrote them before the records were kept outside the log: whole, in
 * the entry (format 1), unsealed, and not in the segments yet (a process
 * killed right after the log's write).  n counts the events.
 */
static bool append_whole_entries(const char *dir, size_t count, size_t per, size_t *n)
{
    char *raft = vane_asprintf("%s/raft", dir), name[LOG_NAME_MAX];
    struct log_meta meta;
    struct log_scan scan;
    struct event e = EVENT_INIT;
    char id[32], payload[150];
    uint8_t *bytes = NULL;
    size_t size = 0;
    int dirfd = open(raft, O_RDONLY | O_DIRECTORY), fd = -1;
    bool done = false;

    log_file_name(name, 1);
    if (dirfd < 0 || log_meta_read(dirfd, &meta) != 0 || log_read_file(dirfd, name, &bytes, &size) != 0)
        goto out;
    log_scan(bytes, size, 1, &scan, NULL, NULL);
    fd = openat(dirfd, name, O_WRONLY);
    for (size_t b = 0; fd >= 0 && b < count; b++) {
        struct raft_entry entry = {.term = meta.term, .type = RAFT_COMMAND};
        uint8_t *p = raft_malloc(16 + per * 512);
        size_t len = 16;
        int64_t written;

        for (size_t i = 0; i < per; i++, (*n)++) {
            make_event(&e, id, payload, *n, sizeof(payload));
            len += record_encode(&e, p + len);
        }
        memcpy(p, "VEB1", 4);
        memcpy(p + 4, &(uint32_t){(uint32_t)per}, 4);
        memcpy(p + 8, &(int64_t){(int64_t)1800000000000000000 + (int64_t)*n}, 8);
        len = (len + 7) & ~(size_t)7;
        entry.buf = (struct raft_buffer){p, len};
        written = log_write_entries(fd, (int64_t)scan.valid,
                                    &(struct log_batch){&entry, 1, scan.last + 1, NULL}, 1);
        raft_free(p);
        if (written < 0)
            goto out;
        scan.valid += (size_t)written;
        scan.last++;
    }
    done = fd >= 0 && fdatasync(fd) == 0;
out:
    if (fd >= 0)
        close(fd);
    if (dirfd >= 0)
        close(dirfd);
    raft_free(bytes);
    event_free(&e);
    vane_free(raft);
    return done;
}

/*
 * An eventlog from before the records were written once: its raft log
 * holds entries whole.  At start the records of those after the snapshot
 * are written into the segments (adopted) and raft applies them; later
 * entries are kept outside the log; and restarts keep every acknowledged
 * record, the adopted ones written again each time until a snapshot drops
 * their entries -- across segment rolls among them.  (test-crash kills.)
 */
static void test_whole_entries_adopted(void)
{
    char *dir = vane_asprintf("%s/adopt", tmpdir);
    struct eventlog_options opt;
    struct eventlog_stats st;
    uint64_t offsets[20];
    struct eventlog *log;
    size_t n = 0;

    log = open_small(dir, &opt);
    if (!ok(log != NULL, "adopt: a new eventlog opens"))
        return;
    close_log(log);
    ok(append_whole_entries(dir, 6, 10, &n), "adopt: 6 whole entries of 10 records are in its raft log");
    log = open_log(dir, &opt);
    if (!ok(log != NULL, "adopt: it opens over them"))
        return;
    check_range(log, 0, 60, "adopt: their records");
    eventlog_stats(log, &st);
    ok(st.segments > 2 && !st.damaged, "adopt: written into %zu segments", st.segments);
    ok(append_many(log, 60, 10, 150, offsets) && offsets[0] == 60, "adopt: appends go on at 60");
    close_log(log);
    for (int round = 0; round < 2; round++) {
        log = open_log(dir, &opt);
        if (!ok(log != NULL, "adopt: it opens again (%d)", round))
            return;
        check_range(log, 0, 70 + 10 * (size_t)round, "adopt: every record after a restart");
        ok(append_many(log, 70 + 10 * (size_t)round, 10, 150, offsets),
           "adopt: and takes 10 more (%d)", round);
        close_log(log);
    }
    log = open_log(dir, &opt);
    if (ok(log != NULL, "adopt: it opens a third time")) {
        check_range(log, 0, 90, "adopt: every acknowledged record");
        close_log(log);
    }
    vane_free(dir);
}

/*
 * A truncation of raft's log (in a cluster: entries a deposed leader never
 * committed) that removes adopted entries cuts their records too: the log
 * holds no reference for them, the writer keeps one.  The cut is made
 * through the writer's hook, as log_io's truncation job makes it, on an
 * eventlog left idle.
 */
static void test_adopted_entries_cut(void)
{
    char *dir = vane_asprintf("%s/adopt-cut", tmpdir);
    struct eventlog_options opt;
    struct eventlog_batch b = EVENTLOG_BATCH_INIT;
    struct eventlog *log;
    struct segment *seg;
    uint64_t *bases = NULL;
    size_t n = 0, count = 0;
    char *errmsg = NULL;

    log = open_small(dir, &opt);
    if (!ok(log != NULL, "adopt-cut: a new eventlog opens"))
        return;
    close_log(log);
    append_whole_entries(dir, 6, 10, &n);
    log = open_log(dir, &opt);
    if (!ok(log != NULL && eventlog_read(log, 30, 1, 1 << 20, &b) == 0 && b.count == 1,
            "adopt-cut: it opens over 6 whole entries; offset 30 starts the 4th"))
        return;
    is_int(log->writer.ops.cut(log->writer.ops.data, b.records[0].raft_index, NULL), 0,
           "adopt-cut: a truncation from the 4th entry on cuts");
    is_int(log->writer.next_offset, 30, "adopt-cut: the writer goes on at offset 30");
    if (eventlog_list_segments(dir, &bases, &count) == 0 && count > 0 &&
        segment_open(&seg, dir, bases[count - 1], true, &errmsg) == 0) {
        is_int(seg->next_offset, 30, "adopt-cut: the segment files end with offset 29");
        segment_close(seg);
    } else {
        ok(false, "adopt-cut: the newest segment opens: %s", errmsg ? errmsg : "none");
    }
    close_log(log);
    eventlog_batch_free(&b);
    vane_free(bases);
    vane_free(errmsg);
    vane_free(dir);
}

/* Writes len bytes to dir/name; returns the path, or NULL. */
static char *write_bytes(const char *dir, const char *name, const uint8_t *bytes, size_t len)
{
    char *path = vane_asprintf("%s/%s", dir, name);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    bool good = fd >= 0 && write(fd, bytes, len) == (ssize_t)len;

    if (fd >= 0)
        close(fd);
    if (!good)
        vane_free(path);
    return good ? path : NULL;
}

/*
 * A raft directory of Vane before its own log (raft_uv's format) whose
 * snapshot is unreadable: raft's libuv backend opens it, and starts its
 * timer and the transport, then its load fails.  The eventlog fails to
 * open with the error, and everything that backend started is closed on
 * the loop before the memory under it goes (main's last check: nothing is
 * left on the loop).
 */
static void test_failed_conversion(void)
{
    char *dir = vane_asprintf("%s/unconvertible", tmpdir), *raft = vane_asprintf("%s/raft", dir);
    char *seg = NULL, *errmsg = NULL;
    struct eventlog_options opt;
    struct eventlog *log = NULL;
    int err = -1;
    /* 64-bit little-endian words: the metadata's format 1, version 1,
     * term 3, no vote; a snapshot whose metadata has format 9. */
    static const uint8_t meta[32] = {1, [8] = 1, [16] = 3}, bad[64] = {9};
    char *meta_path = NULL, *data = NULL;

    eventlog_options_default(&opt);
    if (vane_fs_mkdir_p(raft, 0755) == 0 &&
        (meta_path = write_bytes(raft, "metadata1", meta, sizeof(meta))) != NULL &&
        (data = write_bytes(raft, "snapshot-1-8-1000", bad, sizeof(bad))) != NULL &&
        (seg = write_bytes(raft, "snapshot-1-8-1000.meta", bad, sizeof(bad))) != NULL)
        err = eventlog_open(&log, &loop, dir, &opt, NULL, NULL, &errmsg);
    ok(err != 0 && log == NULL && errmsg != NULL && strstr(errmsg, "convert") != NULL,
       "an unreadable raft_uv dir: the eventlog fails to open, saying the conversion did (%s)",
       errmsg ? errmsg : "no message");
    ok(access(seg ? seg : dir, F_OK) == 0, "the old snapshot stays where it was");
    harness_loop_until(&loop, &(bool){false}, 500); /* the closes the failure began */
    vane_free(errmsg);
    vane_free(meta_path);
    vane_free(data);
    vane_free(seg);
    vane_free(raft);
    vane_free(dir);
}

int main(void)
{
    uv_loop_init(&loop);
    tmpdir = harness_tempdir();
    test_append_and_read();
    test_roll_and_edges();
    test_sealed_indexes();
    test_time_watch_retention();
    test_snapshots();
    test_retention_waits_for_snapshot();
    test_torn_tail();
    test_flipped_byte();
    test_damage_past_tail();
    test_power_loss();
    test_bit_rot_last_write();
    test_bit_rot_segment_end();
    test_short_middle_segment();
    test_junk_at_extent();
    test_whole_entries_adopted();
    test_adopted_entries_cut();
    test_failed_conversion();
    is_int(harness_loop_close(&loop), 0, "every handle was closed");
    harness_rmtree(tmpdir);
    return tap_done();
}
