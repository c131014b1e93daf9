/*
 * eventlog.c -- an eventlog: segments, group commit through raft, the
 * in-memory tail, readers and watchers (see eventlog.h for the design).
 *
 * A raft entry holds one batch:
 *
 *     u32 magic "VEB1", u32 count, i64 proposed_at (ns), then count records
 *     encoded by record_encode() (offsets, time and CRC still zero)
 *
 * Raft's log writes the records, sealed, into the segments as it appends
 * the entry (eventlog_writer.c).  Apply copies them into the tail and
 * seals them there the same way, and indexes them: from then on readers
 * see them.  The tail is the active segment's newest bytes: tail.buf[0] is
 * at byte tail.position of the active segment.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "raft/replica.h"
#include "store/eventlog_internal.h"

#define SNAPSHOT_MAGIC 0x31534556u /* "VES1" */
#define SNAPSHOT_SIZE 24

struct waiter {
    eventlog_append_cb cb;
    void *arg;
    uint32_t first; /* index of its first record in the batch */
};

struct batch {
    struct eventlog *log;
    struct batch *next;
    uint8_t *buf; /* raft_malloc()ed: raft takes it */
    size_t len, cap;
    uint32_t count;
    struct waiter *waiters;
    size_t nwaiters, capw;
};

struct watch {
    eventlog_watch_cb cb;
    void *arg;
    struct watch *next;
};

struct seal_work {
    uv_work_t req;
    struct eventlog *log;
    struct segment *segment;
    int status;
};

static const char component[] = "store";

void eventlog_options_default(struct eventlog_options *options)
{
    options->segment_size = UINT64_C(64) << 20;
    options->tail_size = 4u << 20;
    options->max_batch_bytes = 1u << 20;
    options->snapshot_bytes = UINT64_C(16) << 20;
    options->snapshot_threshold = 0;
    options->cluster = NULL;
    options->join = false;
}

/* raft's log files roll at log_io's default size (8 MiB, 0 here): a
 * snapshot every ~16 MiB frees them a few at a time. */
#define RAFT_SEGMENT_SIZE 0
/* Entries raft keeps behind a snapshot: few, so that a restart replays little. */
#define SNAPSHOT_TRAILING 16
#define SNAPSHOT_MIN_ENTRIES 16
#define SNAPSHOT_MAX_ENTRIES 65536
/* Entries up to this size are copied out of the batch buffer (size_to_entry). */
#define SMALL_ENTRY (64u << 10)

static int64_t wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- segments ---------------------------------------------------------- */

static void push_segment(struct eventlog *log, struct segment *seg)
{
    if (log->nsegs == log->capsegs) {
        log->capsegs = log->capsegs ? log->capsegs * 2 : 8;
        log->segs = vane_realloc(log->segs, log->capsegs * sizeof(*log->segs));
    }
    log->segs[log->nsegs++] = seg;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int eventlog_list_segments(const char *dir, uint64_t **bases, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;

    *bases = NULL;
    *count = 0;
    if (d == NULL)
        return -errno;
    for (;;) {
        errno = 0;
        if ((e = readdir(d)) == NULL)
            break;
        char *end;
        unsigned long long base = strtoull(e->d_name, &end, 10);

        if (end != e->d_name + 20 || strcmp(end, ".log") != 0)
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            *bases = vane_realloc(*bases, cap * sizeof(**bases));
        }
        (*bases)[(*count)++] = base;
    }
    if (errno != 0) {
        int err = -errno;

        closedir(d);
        vane_free(*bases);
        *bases = NULL;
        *count = 0;
        return err;
    }
    closedir(d);
    if (*count > 0)
        qsort(*bases, *count, sizeof(**bases), compare_u64);
    return 0;
}

/*
 * Removes the empty segment files at the end of the list: a segment's file
 * may be made before anything is written to it (a leader applies records
 * its own writer has not written yet), so a crash can leave one after a
 * segment that misses records it was to hold.  An empty file holds
 * nothing; without it, the segment before is the newest, which recovery
 * may find torn.  One file always stays.
 */
static int drop_empty_newest(const char *dir, const uint64_t *bases, size_t *count, char **errmsg)
{
    while (*count > 1) {
        char *path = segment_path(dir, bases[*count - 1], "log");
        struct stat st;
        const char *doing = "stat";
        int err = stat(path, &st) != 0 ? -errno : 0;
        bool empty = err == 0 && st.st_size == 0;

        if (empty && (err = segment_remove_files(dir, bases[*count - 1])) != 0)
            doing = "remove";
        if (err != 0)
            *errmsg = vane_asprintf("cannot %s %s: %s", doing, path, vane_strerror(err));
        vane_free(path);
        if (err != 0 || !empty)
            return err;
        vane_log_warn(component, "%s: removed empty segment file %020" PRIu64 ".log at the end",
                      dir, bases[*count - 1]);
        (*count)--;
    }
    return 0;
}

/* What the segments show: the last record's fields, and the tail empty at the end. */
static void take_extent(struct eventlog *log)
{
    struct segment *last = eventlog_active(log);

    log->last_raft_index = last->last_raft_index;
    log->last_entry_pos = last->last_entry_pos;
    log->last_time = last->last_time;
    for (size_t i = log->nsegs; log->last_raft_index == 0 && i-- > 0;)
        log->last_raft_index = log->segs[i]->last_raft_index,
        log->last_entry_pos = log->segs[i]->last_entry_pos,
        log->last_time = log->segs[i]->last_time;
    log->tail.len = 0;
    log->tail.position = last->size;
    log->written_next = last->next_offset;
}

static int open_segments(struct eventlog *log, char **errmsg)
{
    uint64_t *bases;
    size_t count;
    int err = eventlog_list_segments(log->dir, &bases, &count);

    if (err != 0)
        *errmsg = vane_asprintf("cannot list %s: %s", log->dir, vane_strerror(err));
    else
        err = drop_empty_newest(log->dir, bases, &count, errmsg);
    for (size_t i = 0; err == 0 && i < count; i++) {
        struct segment *seg;

        err = segment_open(&seg, log->dir, bases[i], i + 1 == count, errmsg);
        if (err == 0)
            push_segment(log, seg);
        if (err == 0 && !seg->damaged && i + 1 < count && seg->next_offset < bases[i + 1])
            segment_damaged_end(seg, bases[i + 1]);
        if (err == 0 && seg->damaged) {
            log->failure = VANE_ECORRUPT;
            log->damaged_offset = seg->next_offset;
            break; /* nothing past damage is served */
        }
        if (err == 0 && i + 1 < count && seg->next_offset != bases[i + 1]) {
            *errmsg = vane_asprintf("%s ends at offset %" PRIu64 " but the next segment starts "
                                    "at %" PRIu64, seg->log_path, seg->next_offset, bases[i + 1]);
            err = VANE_ECORRUPT;
        }
    }
    vane_free(bases);
    if (err == 0 && log->nsegs == 0) {
        struct segment *seg;

        if ((err = segment_create(&seg, log->dir, 0, errmsg)) == 0)
            push_segment(log, seg);
    }
    if (err == 0)
        take_extent(log);
    return err;
}

static void after_seal(uv_work_t *req, int status);

int eventlog_sync_unsealed(struct eventlog *log)
{
    for (size_t i = 0; i < log->nsegs; i++)
        if (!log->segs[i]->sealed && fdatasync(log->segs[i]->fd) != 0)
            return -errno;
    return 0;
}

/* Damage found in the segments stops the log there. */
static void take_damage(struct eventlog *log)
{
    log->failure = 0;
    log->damaged_offset = UINT64_MAX;
    for (size_t i = 0; i < log->nsegs; i++)
        if (log->segs[i]->damaged) {
            eventlog_mark_damaged(log, log->segs[i]->next_offset);
            break;
        }
}

void eventlog_mark_damaged(struct eventlog *log, uint64_t offset)
{
    log->failure = VANE_ECORRUPT;
    if (offset < log->damaged_offset)
        log->damaged_offset = offset;
    if (log->replica != NULL)
        replica_set_can_lead(log->replica, false); /* see eventlog_may_lead() */
}

int eventlog_show_upto(struct eventlog *log, uint64_t next)
{
    size_t keep = log->nsegs;
    int err;

    /* The segment holding the record before next: the writer and apply
     * roll only when a record does not fit, so a segment starting at next
     * is not begun yet. */
    while (keep > 1 && log->segs[keep - 1]->base_offset >= next)
        keep--;
    for (size_t i = keep; i < log->nsegs; i++)
        segment_close(log->segs[i]); /* the files stay: raft applies their records again */
    log->nsegs = keep;
    if ((err = segment_limit(eventlog_active(log), next)) != 0) {
        vane_log_error(component, "%s: cannot read back to offset %" PRIu64 ": %s",
                       eventlog_active(log)->log_path, next, vane_strerror(err));
        return err;
    }
    take_extent(log);
    take_damage(log);
    return 0;
}

static bool is_batch(const uint8_t *p, size_t len)
{
    return len >= EVENTLOG_BATCH_HEADER && vane_get32(p) == EVENTLOG_BATCH_MAGIC;
}

bool eventlog_is_batch(const struct raft_entry *entry)
{
    return entry->type == RAFT_COMMAND && is_batch(entry->buf.base, entry->buf.len);
}

static void maybe_closed(struct eventlog *log);

static void seal_work(uv_work_t *req)
{
    struct seal_work *work = (struct seal_work *)req;

    work->status = segment_seal(work->segment);
}

static void seal(struct eventlog *log, struct segment *seg)
{
    struct seal_work *work = VANE_NEW(work);

    work->log = log;
    work->segment = seg;
    seg->sealing = true;
    log->sealing++;
    uv_queue_work(log->loop, &work->req, seal_work, after_seal);
}

void eventlog_seal_written(struct eventlog *log)
{
    for (size_t i = 0; i + 1 < log->nsegs; i++) {
        struct segment *seg = log->segs[i];

        if (!seg->sealed && !seg->sealing && seg->next_offset <= log->written_next)
            seal(log, seg);
    }
}

/* Starts a new active segment at the next offset.  The old one is sealed
 * off the loop once its records are in the file: at once when the loop
 * wrote them (written), else when the log's writer has. */
static int roll(struct eventlog *log, bool written)
{
    struct segment *old = eventlog_active(log), *seg;
    char *errmsg = NULL;
    int err = segment_create(&seg, log->dir, old->next_offset, &errmsg);

    if (err != 0) {
        vane_log_error(component, "%s", errmsg);
        vane_free(errmsg);
        return err;
    }
    push_segment(log, seg);
    log->tail.len = 0;
    log->tail.position = 0;
    if (written)
        seal(log, old);
    else
        eventlog_seal_written(log);
    return 0;
}

/* ---- applying batches (the raft state machine) -------------------------- */

static void tail_reserve(struct eventlog *log, size_t extra)
{
    if (log->tail.len + extra <= log->tail.cap)
        return;
    log->tail.cap = log->tail.cap ? log->tail.cap : 1u << 16;
    while (log->tail.len + extra > log->tail.cap)
        log->tail.cap *= 2;
    log->tail.buf = vane_realloc(log->tail.buf, log->tail.cap);
}

/* Drops the oldest records of the tail once it holds more than tail_size. */
static void tail_trim(struct eventlog *log)
{
    size_t keep = log->opt.tail_size / 2, cut = 0;

    if (log->tail.len <= log->opt.tail_size)
        return;
    while (log->tail.len - cut > keep)
        cut += record_peek_size(log->tail.buf + cut, log->tail.len - cut);
    memmove(log->tail.buf, log->tail.buf + cut, log->tail.len - cut);
    log->tail.len -= cut;
    log->tail.position += cut;
}

/* Takes tail bytes [from, len) into the active segment: writes them
 * there (write), or indexes them where the log's writer put them. */
static int take_staged(struct eventlog *log, size_t from, bool write)
{
    int err = 0;

    if (from == log->tail.len)
        return 0;
    if (!write) {
        segment_note(eventlog_active(log), log->tail.buf + from, log->tail.len - from);
        return 0;
    }
    err = segment_append(eventlog_active(log), log->tail.buf + from, log->tail.len - from);
    if (err != 0) {
        vane_log_error(component, "cannot write %s: %s; the eventlog takes no more writes",
                       eventlog_active(log)->log_path, vane_strerror(err));
        log->tail.len = from;
    }
    return err;
}

/*
 * Copies one record of size bytes into the tail after the staged ones,
 * first taking them and rolling to a new segment when it would not fit
 * in the active one.  *staged is where the tail's untaken bytes begin.
 */
static int stage_record(struct eventlog *log, const uint8_t *p, uint32_t size, size_t *staged,
                        bool write)
{
    uint64_t bytes = eventlog_active(log)->size + (log->tail.len - *staged);
    int err;

    if (bytes > 0 && bytes + size > log->opt.segment_size) {
        if ((err = take_staged(log, *staged, write)) != 0 || (err = roll(log, write)) != 0)
            return err;
        *staged = 0;
    }
    tail_reserve(log, size);
    memcpy(log->tail.buf + log->tail.len, p, size);
    return 0;
}

/* Stages, seals and indexes records [skip, count) of a batch; *first is
 * the offset of the batch's first record. */
static int apply_records(struct eventlog *log, const uint8_t *p, uint32_t count, uint32_t skip,
                         int64_t stored_at, uint64_t raft_index, uint64_t *first)
{
    size_t staged = log->tail.len; /* tail bytes [staged, len) are not indexed yet */
    uint64_t next = eventlog_active(log)->next_offset;
    int err;

    *first = next - skip;
    for (uint32_t i = 0; i < count && next < log->damaged_offset; i++) {
        uint32_t size = record_peek_size(p, RECORD_HEADER_SIZE);

        if (i >= skip) {
            if ((err = stage_record(log, p, size, &staged, false)) != 0)
                return err;
            record_seal(log->tail.buf + log->tail.len, next++, stored_at, raft_index, i);
            log->tail.len += size;
        }
        p += size;
    }
    return take_staged(log, staged, false);
}

/* Records fetched while catching up: the loop writes them itself. */
int eventlog_write_sealed(struct eventlog *log, const uint8_t *records, size_t len)
{
    size_t staged, at = 0;
    struct record_view view;
    int err;

    tail_trim(log);
    staged = log->tail.len;
    while (at < len) {
        record_peek_header(records + at, &view);
        if ((err = stage_record(log, records + at, view.size, &staged, true)) != 0)
            return err;
        log->tail.len += view.size;
        log->last_raft_index = view.raft_index;
        log->last_entry_pos = view.entry_pos;
        log->last_time = view.stored_at;
        at += view.size;
    }
    if ((err = take_staged(log, staged, true)) == 0)
        log->written_next = eventlog_active(log)->next_offset;
    return err;
}

/* Drops the watches unwatched while callbacks ran. */
static void sweep_watches(struct eventlog *log)
{
    for (struct watch **p = &log->watches; *p != NULL;) {
        struct watch *w = *p;

        if (w->cb != NULL) {
            p = &w->next;
            continue;
        }
        *p = w->next;
        vane_free(w);
    }
}

/* A callback may watch or unwatch (itself or another): an unwatch during
 * the walk only marks the watch, and the sweep after it frees. */
void eventlog_notify(struct eventlog *log)
{
    uint64_t next = eventlog_active(log)->next_offset;

    log->notifying = true;
    for (struct watch *w = log->watches; w != NULL; w = w->next)
        if (w->cb != NULL)
            w->cb(log, next, w->arg);
    log->notifying = false;
    sweep_watches(log);
}

void eventlog_snapshot_durable(struct eventlog *log, uint64_t next)
{
    if (next > log->snapshot_next)
        log->snapshot_next = next;
    log->snapshot_wanted = false;
}

/*
 * Raft snapshots by entry count, but what a snapshot bounds is bytes: raft's
 * log in memory and on disk, and the records fsynced at each snapshot.  So
 * the entry count follows the average entry size to make snapshots come
 * about every snapshot_bytes (unless a fixed snapshot_threshold is set).
 */
static void adapt_snapshots(struct eventlog *log, size_t entry_bytes)
{
    uint64_t entries;

    /* Not while raft replays its log at start: a snapshot taken then (raft
     * 0.15) stalls the replay until the next entry is committed. */
    if (log->opt.snapshot_threshold != 0 || !log->ready_done)
        return;
    log->entry_bytes_avg = log->entry_bytes_avg == 0
                               ? entry_bytes
                               : (log->entry_bytes_avg * 15 + entry_bytes) / 16;
    entries = log->opt.snapshot_bytes / (log->entry_bytes_avg ? log->entry_bytes_avg : 1);
    if (entries < SNAPSHOT_MIN_ENTRIES || log->snapshot_wanted)
        entries = SNAPSHOT_MIN_ENTRIES;
    if (entries > SNAPSHOT_MAX_ENTRIES)
        entries = SNAPSHOT_MAX_ENTRIES;
    replica_set_snapshot_threshold(log->replica, (unsigned)entries);
}

int eventlog_apply_entry(struct eventlog *log, const uint8_t *p, size_t len, raft_index index,
                         void **result)
{
    uint32_t count, skip = 0;
    int64_t stored_at;
    uint64_t first;
    int err;

    *result = NULL;
    if (!is_batch(p, len)) {
        vane_log_error(component, "%s: raft entry %llu is not a batch; skipped", log->dir,
                       (unsigned long long)index);
        return 0;
    }
    /* Entries whose records are already in the segments (replayed after a
     * restart) add only what is missing; damage stops the log (the records
     * before it in a damaged entry are applied). */
    if (index < log->last_raft_index || (log->failure != 0 && log->failure != VANE_ECORRUPT) ||
        eventlog_active(log)->next_offset >= log->damaged_offset)
        return 0;
    count = vane_get32(p + 4);
    if (index == log->last_raft_index)
        skip = log->last_entry_pos + 1;
    if (skip >= count)
        return 0;
    stored_at = (int64_t)vane_get64(p + 8);
    if (stored_at < log->last_time)
        stored_at = log->last_time;
    tail_trim(log);
    err = apply_records(log, p + EVENTLOG_BATCH_HEADER, count, skip, stored_at, index, &first);
    if (err != 0) {
        log->failure = err;
        return 0;
    }
    log->last_raft_index = index;
    log->last_entry_pos = count - 1;
    log->last_time = stored_at;
    adapt_snapshots(log, len);
    *result = (void *)(uintptr_t)(first + 1);
    eventlog_notify(log);
    return 0;
}

/* While catching up, entries wait for the records before them (eventlog_catchup.c). */
static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct eventlog *log = fsm->data;

    *result = NULL;
    if (eventlog_catchup_hold(log, buf))
        return 0;
    return eventlog_apply_entry(log, buf->base, buf->len, replica_applying_index(log->replica),
                                result);
}

/* While catching up, or while this node's log has not written every record
 * applied (a cluster's leader applies what the others stored), the
 * segments do not hold what raft has applied: no snapshot may say they do
 * (raft takes RAFT_BUSY as "later").  Nor once damaged: entries past the
 * damage count as applied without their records, and a snapshot would
 * drop them from the log.  The records it covers are on disk: the log's
 * writer synced them before their entries, and a catch-up its own before
 * the writer went on. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct eventlog *log = fsm->data;
    struct raft_buffer *buf;
    uint8_t *p;

    if (log->catchup.target != 0 || log->written_next < eventlog_active(log)->next_offset ||
        !eventlog_may_lead(log))
        return RAFT_BUSY;
    buf = raft_malloc(sizeof(*buf));
    p = raft_malloc(SNAPSHOT_SIZE);
    vane_put32(p, SNAPSHOT_MAGIC);
    vane_put32(p + 4, log->last_entry_pos);
    vane_put64(p + 8, log->last_raft_index);
    vane_put64(p + 16, eventlog_active(log)->next_offset);
    buf->base = p;
    buf->len = SNAPSHOT_SIZE;
    *bufs = buf;
    *n_bufs = 1;
    return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *fsm, struct raft_buffer *bufs[],
                                 unsigned *n_bufs)
{
    (void)fsm;
    replica_free_snapshot(bufs, n_bufs);
    return 0;
}

uint64_t eventlog_snapshot_next(const void *snapshot, size_t len)
{
    const uint8_t *p = snapshot;

    return len == SNAPSHOT_SIZE && vane_get32(p) == SNAPSHOT_MAGIC ? vane_get64(p + 16) : 0;
}

/*
 * At start the writer has placed itself already (eventlog_writer.c,
 * load_begin).  A snapshot the leader installed replaced the log: the
 * writer goes on from what was applied, after the records the snapshot
 * says the segments lack are fetched (eventlog_catchup.c).
 */
static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct eventlog *log = fsm->data;
    const uint8_t *p = buf->base;
    uint64_t next = eventlog_snapshot_next(buf->base, buf->len);
    int rv = 0;

    if (buf->len != SNAPSHOT_SIZE || vane_get32(p) != SNAPSHOT_MAGIC) {
        vane_log_error(component, "%s: raft snapshot is not an eventlog snapshot", log->dir);
        rv = RAFT_CORRUPT;
    } else if (next > eventlog_active(log)->next_offset && log->failure == 0 &&
               log->forwarder != NULL) {
        /* Sent by the leader to a follower far behind: the records come from its segments. */
        eventlog_snapshot_durable(log, next);
        log->last_entry_pos = vane_get32(p + 4);
        log->last_raft_index = vane_get64(p + 8);
        rv = eventlog_catchup_begin(log, next);
    } else if (next > eventlog_active(log)->next_offset && log->failure == 0) {
        /* The snapshot says these events were on disk: they are gone. */
        vane_log_error(component, "%s: the segments end at offset %" PRIu64 " but the raft "
                       "snapshot covers up to %" PRIu64 "; events were lost outside vaned",
                       log->dir, eventlog_active(log)->next_offset, next);
        rv = RAFT_CORRUPT;
    } else {
        eventlog_snapshot_durable(log, next);
        if (log->writer.held && writer_restart(log) != 0)
            rv = RAFT_IOERR;
    }
    raft_free(buf->base);
    return rv;
}

/* ---- group commit -------------------------------------------------------- */

static struct batch *batch_new(struct eventlog *log)
{
    struct batch *b = VANE_NEW(b);

    b->log = log;
    /* Room for a full batch and its padding at once: growing by doubling
     * would copy it several times.  It shrinks to size when proposed. */
    b->cap = EVENTLOG_BATCH_HEADER + log->opt.max_batch_bytes + 8;
    if (log->spare_buf != NULL && log->spare_cap >= b->cap) {
        b->buf = log->spare_buf;
        b->cap = log->spare_cap;
        log->spare_buf = NULL;
    } else {
        b->buf = raft_malloc(b->cap);
    }
    b->len = EVENTLOG_BATCH_HEADER;
    if (log->pending_last != NULL)
        log->pending_last->next = b;
    else
        log->pending = b;
    log->pending_last = b;
    return b;
}

static void batch_finish(struct batch *b, int status, uint64_t first)
{
    for (size_t i = 0; i < b->nwaiters; i++)
        b->waiters[i].cb(b->waiters[i].arg, status, status == 0 ? first + b->waiters[i].first : 0);
    vane_free(b->waiters);
    vane_free(b);
}

static void on_flush(uv_prepare_t *handle);

static void on_batch_applied(void *arg, int status, void *result)
{
    struct batch *b = arg;
    struct eventlog *log = b->log;

    log->inflight--;
    if (status == 0 && result == NULL)
        status = log->failure != 0 ? log->failure : VANE_ERAFT;
    batch_finish(b, status, status == 0 ? (uint64_t)(uintptr_t)result - 1 : 0);
    if (log->closing)
        maybe_closed(log);
    else if (log->pending != NULL)
        uv_prepare_start(&log->flush, on_flush);
}

/*
 * raft keeps the entry until a snapshot: it gets only what is used, padded
 * to 8 bytes here so that replica_apply() does not move it.  A small batch
 * is copied out of the full-size buffer, which the next batch reuses: the
 * C library maps a buffer that size on its own, and raft frees a
 * snapshot's worth of entries at once -- as many unmaps on the loop.
 */
static void size_to_entry(struct eventlog *log, struct batch *b)
{
    size_t padded = (b->len + 7) & ~(size_t)7;

    if (padded <= SMALL_ENTRY && log->spare_buf == NULL) {
        uint8_t *small = raft_malloc(padded);

        memcpy(small, b->buf, b->len);
        log->spare_buf = b->buf;
        log->spare_cap = b->cap;
        b->buf = small;
    } else {
        b->buf = raft_realloc(b->buf, padded);
    }
    memset(b->buf + b->len, 0, padded - b->len);
    b->len = padded;
}

/* Proposes the pending batches, as many as may be in flight; runs once per
 * loop iteration before the loop waits, so every append of the iteration
 * is in the batch. */
static void on_flush(uv_prepare_t *handle)
{
    struct eventlog *log = handle->data;

    uv_prepare_stop(handle);
    while (log->pending != NULL && log->inflight < EVENTLOG_MAX_INFLIGHT) {
        struct batch *b = log->pending;
        int err;

        log->pending = b->next;
        if (log->pending == NULL)
            log->pending_last = NULL;
        vane_put32(b->buf, EVENTLOG_BATCH_MAGIC);
        vane_put32(b->buf + 4, b->count);
        vane_put64(b->buf + 8, (uint64_t)wall_ns());
        size_to_entry(log, b);
        if ((err = replica_apply(log->replica, b->buf, b->len, on_batch_applied, b)) != 0) {
            raft_free(b->buf);
            batch_finish(b, err, 0);
            continue;
        }
        log->inflight++;
    }
}

/* The batch the next append joins: the newest, unless it is full. */
static struct batch *open_batch(struct eventlog *log, size_t bytes)
{
    struct batch *b = log->pending_last;

    if (b == NULL || (b->count > 0 && b->len + bytes > log->opt.max_batch_bytes))
        b = batch_new(log);
    if (b->len + bytes > b->cap) {
        while (b->len + bytes > b->cap)
            b->cap *= 2;
        b->buf = raft_realloc(b->buf, b->cap);
    }
    if (b->nwaiters == b->capw) {
        b->capw = b->capw ? b->capw * 2 : 16;
        b->waiters = vane_realloc(b->waiters, b->capw * sizeof(*b->waiters));
    }
    return b;
}

int eventlog_append(struct eventlog *log, const struct event *events, size_t count,
                    eventlog_append_cb cb, void *arg)
{
    size_t bytes = 0;
    struct batch *b;

    if (log->closing)
        return VANE_ESHUTDOWN;
    if (log->failure != 0)
        return log->failure;
    if (!log->ready_done)
        return VANE_ENOTREADY;
    for (size_t i = 0; i < count; i++) {
        size_t size = record_size(&events[i]);

        if (size == 0)
            return -EMSGSIZE;
        bytes += size;
    }
    b = open_batch(log, bytes);
    b->waiters[b->nwaiters++] = (struct waiter){cb, arg, b->count};
    for (size_t i = 0; i < count; i++)
        b->len += record_encode(&events[i], b->buf + b->len);
    b->count += (uint32_t)count;
    uv_prepare_start(&log->flush, on_flush);
    return 0;
}

/* ---- reading ------------------------------------------------------------- */

static struct segment *segment_of(const struct eventlog *log, uint64_t offset)
{
    size_t lo = 0, hi = log->nsegs;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (log->segs[mid]->base_offset <= offset)
            lo = mid;
        else
            hi = mid;
    }
    return log->segs[lo];
}

static void batch_reset(struct eventlog_batch *batch)
{
    vane_buf_reset(&batch->buf);
    batch->count = 0;
}

/* Marks damage found while reading: nothing at or past offset is served. */
static int read_damage(struct eventlog *log, struct segment *seg, uint64_t position,
                       uint64_t offset, const char *why)
{
    if (offset < log->damaged_offset) {
        eventlog_mark_damaged(log, offset);
        vane_log_error(component, "%s: corrupt record at byte %" PRIu64 " (offset %" PRIu64
                       "): %s; serving offsets below %" PRIu64 " only",
                       seg->log_path, position, offset, why, offset);
    }
    return VANE_ECORRUPT;
}

/*
 * Takes the whole records at p (avail bytes, the first at byte position of
 * seg) whose offsets are >= batch->next_offset and below stop into the
 * batch, within the limits.  Returns the bytes consumed, or a negative
 * error on damage.  *full is set when a limit was reached.
 */
static ssize_t collect(struct eventlog *log, struct segment *seg, const uint8_t *p, size_t avail,
                       uint64_t position, uint64_t stop, size_t max_count, size_t max_bytes,
                       struct eventlog_batch *batch, bool *full)
{
    size_t used = 0;

    while (used < avail && !*full) {
        struct record_view view;
        const char *why = "offset out of sequence";
        int rc;

        /* Records before the one wanted (from the index entry on) are
         * stepped over by their header; only records served are checked. */
        if (avail - used >= RECORD_HEADER_SIZE) {
            record_peek_header(p + used, &view);
            if (view.offset < batch->next_offset && view.size >= RECORD_HEADER_SIZE &&
                view.size <= avail - used) {
                used += view.size;
                continue;
            }
        }
        rc = record_decode(p + used, avail - used, &view, &why);

        if (rc == -ENODATA)
            break;
        if (rc != 0 || view.offset > batch->next_offset)
            return read_damage(log, seg, position + used, batch->next_offset, why);
        if (view.offset == batch->next_offset) {
            vane_buf_append(&batch->buf, p + used, view.size);
            batch->count++;
            batch->next_offset++;
            *full = batch->count >= max_count || batch->buf.len >= max_bytes ||
                    batch->next_offset >= stop;
        }
        used += view.size;
    }
    return (ssize_t)used;
}

/* Gives each record of the batch its view, now that the bytes stay put. */
static void make_views(struct eventlog_batch *batch)
{
    const uint8_t *p = (const uint8_t *)batch->buf.data;

    if (batch->count > batch->cap) {
        batch->cap = batch->count;
        batch->records = vane_realloc(batch->records, batch->cap * sizeof(*batch->records));
    }
    for (size_t i = 0; i < batch->count; i++) {
        record_peek_header(p, &batch->records[i]);
        p += batch->records[i].size;
    }
}

/* Reads from the in-memory tail; returns 1 when the tail covered the read. */
static int read_tail(struct eventlog *log, size_t max_count, size_t max_bytes,
                     struct eventlog_batch *batch, ssize_t *rc)
{
    struct segment *seg = eventlog_active(log);
    uint64_t position = segment_position_of(seg, batch->next_offset);
    bool full = false;

    if (log->tail.len == 0 || position < log->tail.position)
        return 0;
    position -= log->tail.position;
    *rc = collect(log, seg, log->tail.buf + position, log->tail.len - position,
                  log->tail.position + position, log->damaged_offset, max_count, max_bytes, batch,
                  &full);
    return 1;
}

/* Reads from one segment file, starting at the index entry before the offset. */
#define READ_CHUNK_MIN (64u << 10)
#define READ_CHUNK_MAX (1u << 20)

static ssize_t read_file(struct eventlog *log, struct segment *seg, size_t max_count,
                         size_t max_bytes, struct eventlog_batch *batch)
{
    uint64_t position = segment_position_of(seg, batch->next_offset);
    /* From the index entry: up to one interval of older records, then the
     * read, in pieces of at most READ_CHUNK_MAX (the loop reads on). */
    size_t want = max_bytes < READ_CHUNK_MIN   ? READ_CHUNK_MIN
                  : max_bytes > READ_CHUNK_MAX ? READ_CHUNK_MAX
                                               : max_bytes;
    size_t chunk = SEGMENT_INDEX_INTERVAL + want;
    uint64_t stop = log->written_next < log->damaged_offset ? log->written_next
                                                            : log->damaged_offset;
    uint8_t *buf = vane_malloc(chunk);
    bool full = false;
    ssize_t rc = 0;

    while (!full && position < seg->size && batch->next_offset < seg->next_offset) {
        ssize_t n = segment_read(seg, position, buf, chunk);

        if (n <= 0) {
            rc = n < 0 ? n : -EIO;
            break;
        }
        rc = collect(log, seg, buf, (size_t)n, position, stop, max_count, max_bytes, batch, &full);
        if (rc < 0)
            break;
        if (rc == 0) { /* one record larger than the buffer */
            chunk = record_peek_size(buf, (size_t)n);
            buf = vane_realloc(buf, chunk);
            continue;
        }
        position += (uint64_t)rc;
    }
    vane_free(buf);
    return rc < 0 ? rc : 0;
}

int eventlog_read(struct eventlog *log, uint64_t offset, size_t max_count, size_t max_bytes,
                  struct eventlog_batch *batch)
{
    uint64_t first = log->segs[0]->base_offset;
    ssize_t rc = 0;

    batch_reset(batch);
    batch->next_offset = offset < first ? first : offset;
    if (batch->next_offset >= log->damaged_offset)
        return VANE_ECORRUPT;
    while (rc >= 0 && batch->count < max_count && batch->buf.len < max_bytes &&
           batch->next_offset < eventlog_active(log)->next_offset &&
           batch->next_offset < log->damaged_offset) {
        struct segment *seg = segment_of(log, batch->next_offset);

        if (seg == eventlog_active(log) && read_tail(log, max_count, max_bytes, batch, &rc))
            break;
        if (batch->next_offset >= log->written_next)
            break; /* applied before this node's log wrote it (a cluster's leader) */
        rc = read_file(log, seg, max_count, max_bytes, batch);
        if (rc >= 0 && batch->next_offset < seg->next_offset)
            break; /* the file ended early: never loop on it */
    }
    make_views(batch);
    return rc < 0 ? (int)rc : 0;
}

void eventlog_batch_free(struct eventlog_batch *batch)
{
    vane_buf_free(&batch->buf);
    vane_free(batch->records);
    memset(batch, 0, sizeof(*batch));
}

uint64_t eventlog_offset_at_time(struct eventlog *log, int64_t time)
{
    struct eventlog_batch batch = EVENTLOG_BATCH_INIT;
    uint64_t offset = eventlog_active(log)->next_offset;
    size_t i = 0;

    /* The first segment holding a record stored at or after time. */
    while (i < log->nsegs && (log->segs[i]->size == 0 || log->segs[i]->last_time < time))
        i++;
    if (i == log->nsegs)
        return offset;
    offset = segment_offset_of_time(log->segs[i], time);
    while (eventlog_read(log, offset, 256, 1u << 20, &batch) == 0 && batch.count > 0) {
        for (size_t r = 0; r < batch.count; r++)
            if (batch.records[r].stored_at >= time) {
                offset = batch.records[r].offset;
                goto out;
            }
        offset = batch.next_offset;
    }
out:
    eventlog_batch_free(&batch);
    return offset;
}

void *eventlog_watch(struct eventlog *log, eventlog_watch_cb cb, void *arg)
{
    struct watch *w = VANE_NEW(w);

    w->cb = cb;
    w->arg = arg;
    w->next = log->watches;
    log->watches = w;
    return w;
}

void eventlog_unwatch(struct eventlog *log, void *watch)
{
    ((struct watch *)watch)->cb = NULL;
    if (!log->notifying)
        sweep_watches(log);
}

void eventlog_stats(const struct eventlog *log, struct eventlog_stats *stats)
{
    const struct segment *first = log->segs[0];

    memset(stats, 0, sizeof(*stats));
    stats->first_offset = first->base_offset;
    stats->next_offset = eventlog_active(log)->next_offset;
    stats->segments = log->nsegs;
    for (size_t i = 0; i < log->nsegs; i++)
        stats->bytes += log->segs[i]->size;
    stats->first_time = first->size > 0 ? first->first_time : 0;
    stats->last_time = log->last_time;
    stats->damaged = log->damaged_offset != UINT64_MAX;
}

/* ---- retention ----------------------------------------------------------- */

/* The files of the segments retention dropped, oldest first. */
struct unlinks {
    uv_work_t req;
    struct eventlog *log;
    char **paths;
    size_t n, cap;
    int err;       /* the first failure, at paths[failed] */
    size_t failed;
};

/* One after the other, in order, up to the first that fails: a crash
 * between two, or a failure, leaves the oldest gone first, never a gap
 * before a segment that stays (which the next start would take for
 * records lost). */
static void unlink_in_order(uv_work_t *req)
{
    struct unlinks *u = req->data;

    for (size_t i = 0; i < u->n && u->err == 0; i++)
        if (unlink(u->paths[i]) != 0 && errno != ENOENT) {
            u->err = -errno;
            u->failed = i;
        }
}

static void unlinks_free(struct unlinks *u)
{
    for (size_t i = 0; i < u->n; i++)
        vane_free(u->paths[i]);
    vane_free(u->paths);
    vane_free(u);
}

static void unlinks_start(struct eventlog *log);

static void after_unlinks(uv_work_t *req, int status)
{
    struct unlinks *u = req->data;
    struct eventlog *log = u->log;

    (void)status;
    if (u->err != 0) {
        /* An older file stays: no newer one may go.  Retention stops until
         * a restart, which finds the files left and deletes them again. */
        vane_log_warn(component, "retention: cannot delete %s: %s; retention stops here until "
                      "the next start", u->paths[u->failed], vane_strerror(u->err));
        log->unlink_failed = true;
        if (log->unlinks_next != NULL)
            unlinks_free(log->unlinks_next);
        log->unlinks_next = NULL;
    }
    unlinks_free(u);
    log->unlinking = false;
    if (log->unlinks_next != NULL)
        unlinks_start(log);
    else if (log->closing)
        maybe_closed(log);
}

/* Queues path's deletion after those already queued. */
static void unlinks_add(struct eventlog *log, const char *path)
{
    struct unlinks *u = log->unlinks_next;

    if (u == NULL)
        u = log->unlinks_next = VANE_NEW(u);
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 8;
        u->paths = vane_realloc(u->paths, u->cap * sizeof(*u->paths));
    }
    u->paths[u->n++] = vane_strdup(path);
}

/* Starts the queued deletions, unless some run (their end starts these). */
static void unlinks_start(struct eventlog *log)
{
    struct unlinks *u = log->unlinks_next;

    if (log->unlinking || u == NULL)
        return;
    log->unlinks_next = NULL;
    log->unlinking = true;
    u->req.data = u;
    u->log = log;
    if (uv_queue_work(log->loop, &u->req, unlink_in_order, after_unlinks) != 0) {
        unlink_in_order(&u->req); /* no thread pool: here, at once */
        after_unlinks(&u->req, 0);
    }
}

size_t eventlog_retain(struct eventlog *log, int64_t now_ns, int64_t max_age_ns,
                       uint64_t max_bytes)
{
    struct eventlog_stats stats;
    size_t dropped = 0;

    if (log->unlink_failed)
        return 0;
    eventlog_stats(log, &stats);
    /* Whole sealed segments only; never the active one, nor records of
     * entries raft's log still refers to (those after its snapshot: a
     * restart reads them back), for which a snapshot is asked soon. */
    while (log->nsegs > 1 && log->segs[0]->sealed) {
        struct segment *seg = log->segs[0];
        bool too_old = max_age_ns > 0 && now_ns - seg->last_time > max_age_ns;
        bool too_big = max_bytes > 0 && stats.bytes > max_bytes;

        if (!too_old && !too_big)
            break;
        if (seg->next_offset >= log->snapshot_next) {
            /* (at its end: the next entry's reference may still name it) */
            log->snapshot_wanted = true;
            break;
        }
        stats.bytes -= seg->size;
        vane_log_info(component, "retention: deleting %s (offsets %" PRIu64 "-%" PRIu64 ")",
                      seg->log_path, seg->base_offset, seg->next_offset - 1);
        unlinks_add(log, seg->idx_path); /* a .log without its index is scanned */
        unlinks_add(log, seg->log_path);
        memmove(log->segs, log->segs + 1, (log->nsegs - 1) * sizeof(*log->segs));
        log->nsegs--;
        segment_close(seg);
        dropped++;
    }
    unlinks_start(log);
    return dropped;
}

/* ---- open and close ------------------------------------------------------ */

static void after_seal(uv_work_t *req, int status)
{
    struct seal_work *work = (struct seal_work *)req;
    struct eventlog *log = work->log;

    (void)status;
    log->sealing--;
    if (work->status != 0)
        vane_log_error(component, "cannot seal %s: %s", work->segment->log_path,
                       vane_strerror(work->status));
    else
        work->segment->sealed = true;
    work->segment->sealing = false;
    vane_free(work);
    if (log->closing)
        maybe_closed(log);
}

/*
 * In a cluster, a damaged eventlog hands the lead on: it serves and
 * applies nothing past the damage, so proposals it led would be answered
 * while its own copy went without them.  As a follower it goes on storing
 * the leader's entries (raft's log keeps them: a damaged eventlog takes no
 * snapshot, see fsm_snapshot) for whoever repairs it.
 */
bool eventlog_may_lead(const struct eventlog *log)
{
    return log->damaged_offset == UINT64_MAX;
}

static void on_ready(struct replica *replica, int status, void *arg)
{
    struct eventlog *log = arg;

    log->ready_done = status == 0;
    if (status == 0 && !eventlog_may_lead(log))
        replica_set_can_lead(replica, false);
    if (log->ready != NULL)
        log->ready(log, status, log->ready_arg);
}

void eventlog_free(struct eventlog *log)
{
    writer_free(log);
    for (size_t i = 0; i < log->nsegs; i++)
        segment_close(log->segs[i]);
    for (struct watch *w = log->watches; w != NULL; w = w->next)
        w->cb = NULL;
    sweep_watches(log);
    vane_free(log->segs);
    vane_free(log->tail.buf);
    raft_free(log->spare_buf);
    vane_free(log->dir);
    vane_free(log);
}

int eventlog_open(struct eventlog **out, uv_loop_t *loop, const char *dir,
                  const struct eventlog_options *options, eventlog_ready_cb ready, void *arg,
                  char **errmsg)
{
    struct eventlog *log = VANE_NEW(log);
    struct replica_options ropt = {0};
    char *raft_dir;
    int err;

    log->loop = loop;
    log->dir = vane_strdup(dir);
    log->opt = *options;
    log->ready = ready;
    log->ready_arg = arg;
    log->damaged_offset = UINT64_MAX;
    log->fsm = (struct raft_fsm){.version = 3, .data = log, .apply = fsm_apply,
                                 .snapshot = fsm_snapshot, .restore = fsm_restore,
                                 .snapshot_finalize = fsm_snapshot_finalize};
    if ((err = vane_fs_mkdir_p(dir, 0755)) != 0) {
        *errmsg = vane_asprintf("cannot create %s: %s", dir, vane_strerror(err));
        eventlog_free(log);
        return err;
    }
    writer_init(log);
    if ((err = open_segments(log, errmsg)) != 0) {
        eventlog_free(log);
        return err;
    }
    ropt.snapshot_threshold = options->snapshot_threshold ? options->snapshot_threshold
                                                          : SNAPSHOT_MAX_ENTRIES;
    ropt.snapshot_trailing = options->snapshot_threshold ? options->snapshot_threshold
                                                         : SNAPSHOT_TRAILING;
    ropt.segment_size = RAFT_SEGMENT_SIZE;
    ropt.cluster = options->cluster;
    ropt.join = options->join;
    ropt.await_local_apply = false; /* an append answers with its offsets; reads follow */
    ropt.keeper = &log->writer.ops;
    if (options->cluster != NULL) {
        log->forwarder = options->cluster->forwarder;
        log->group = options->cluster->group_id;
    }
    /* Before raft starts: restoring its snapshot may begin a catch-up. */
    eventlog_catchup_open(log);
    raft_dir = vane_asprintf("%s/raft", dir);
    err = replica_start(&log->replica, loop, raft_dir, &log->fsm, &ropt, on_ready, log, errmsg);
    vane_free(raft_dir);
    if (err != 0) {
        eventlog_catchup_close(log); /* frees the log once its handles are closed */
        return err;
    }
    uv_prepare_init(loop, &log->flush);
    log->flush.data = log;
    *out = log;
    return 0;
}

static void maybe_closed(struct eventlog *log)
{
    if (log->closes_pending > 0 || log->sealing > 0 || log->inflight > 0 || log->unlinking)
        return;
    if (log->close_cb != NULL)
        log->close_cb(log, log->close_arg);
    eventlog_free(log);
}

void eventlog_part_done(struct eventlog *log)
{
    log->closes_pending--;
    maybe_closed(log);
}

static void on_flush_closed(uv_handle_t *handle)
{
    eventlog_part_done(handle->data);
}

static void on_replica_closed(struct replica *replica, void *arg)
{
    (void)replica;
    eventlog_part_done(arg);
}

void eventlog_close(struct eventlog *log, eventlog_close_cb cb, void *arg)
{
    log->closing = true;
    log->close_cb = cb;
    log->close_arg = arg;
    while (log->pending != NULL) {
        struct batch *b = log->pending;

        log->pending = b->next;
        raft_free(b->buf);
        batch_finish(b, VANE_ESHUTDOWN, 0);
    }
    log->pending_last = NULL;
    log->closes_pending += 2; /* beside a catch-up's sync, which may be running */
    eventlog_catchup_close(log);
    uv_close((uv_handle_t *)&log->flush, on_flush_closed);
    replica_close(log->replica, on_replica_closed, log);
}

struct replica *eventlog_replica(struct eventlog *log)
{
    return log->replica;
}
