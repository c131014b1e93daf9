/*
 * eventlog_writer.c -- an eventlog's records are written once: into its
 * segments, by raft's log as it appends each entry (raft/log_io.h, struct
 * log_extern), and the log keeps only the entry's head and where its
 * records went (doc/storage.md, "Written once").
 *
 * The writer seals the records as it writes them: offsets following the
 * log's own records, the store time the proposer gave the batch (never
 * before the previous record's), the entry's raft index and each record's
 * place in it -- what applying the entry computes too, from the same log,
 * so that the bytes the segment holds are the bytes apply puts in the
 * in-memory tail.  Records are written at the writer's position and made
 * durable before the log's entries are; a segment rolls where applying
 * rolls it (segment_size, record by record).
 *
 * The segments therefore hold records of entries raft has not committed
 * yet.  What readers see is what raft has applied: at start the segments
 * are shown only up to the snapshot (eventlog_show_upto) and raft applies
 * the rest again, indexing records already in place; a truncation cuts the
 * records of the entries it removes; and a snapshot the leader installs
 * has the writer start again from what was applied.  While a follower
 * fetches the records a snapshot says it lacks (eventlog_catchup.c), the
 * writer is held: the log's appends wait, as their records come after.
 *
 * Threads: store, detach, cut and replaced run in log_io's jobs, one at a
 * time; every other function here runs on the loop between jobs, but
 * synced and written, which may run beside an append job: they touch only
 * what is made durable (durable, written_next), which appending does not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/log.h"
#include "core/write_all.h"
#include "raft/replica.h"
#include "store/eventlog_internal.h"
#include "store/record.h"

/*
 * The keeper's part of an entry's reference (after log_io's u64 length):
 *
 *     u64 base          the segment of the first record
 *     u64 first_offset  the first record's offset
 *     i64 prev_time     the store time of the record before it
 *     u32 position      the first record's byte position in its segment
 *     u32 first_part    bytes of records there; the rest fill the next
 *                       segments from their start, each named by the offset
 *                       of its first record
 *     u32 records_len   bytes of records (the payload's padding follows)
 *     u32 count         records
 */
#define REF_BASE 8
#define REF_FIRST 16
#define REF_PREV_TIME 24
#define REF_POSITION 32
#define REF_FIRST_PART 36
#define REF_RECORDS_LEN 40
#define REF_COUNT 44

static const char component[] = "store";

struct ref {
    uint64_t base, first_offset;
    int64_t prev_time;
    uint32_t position, first_part, records_len, count;
};

static void ref_get(const uint8_t *p, struct ref *r)
{
    r->base = vane_get64(p + REF_BASE);
    r->first_offset = vane_get64(p + REF_FIRST);
    r->prev_time = (int64_t)vane_get64(p + REF_PREV_TIME);
    r->position = vane_get32(p + REF_POSITION);
    r->first_part = vane_get32(p + REF_FIRST_PART);
    r->records_len = vane_get32(p + REF_RECORDS_LEN);
    r->count = vane_get32(p + REF_COUNT);
}

static void ref_put(uint8_t *p, const struct ref *r)
{
    vane_put64(p + REF_BASE, r->base);
    vane_put64(p + REF_FIRST, r->first_offset);
    vane_put64(p + REF_PREV_TIME, (uint64_t)r->prev_time);
    vane_put32(p + REF_POSITION, r->position);
    vane_put32(p + REF_FIRST_PART, r->first_part);
    vane_put32(p + REF_RECORDS_LEN, r->records_len);
    vane_put32(p + REF_COUNT, r->count);
}

/* ---- files --------------------------------------------------------------- */

static int sync_dir(const struct writer *w)
{
    if (w->dirfd < 0)
        return -EBADF;
    return fsync(w->dirfd) != 0 ? -errno : 0;
}

/* The file of segment base opened with flags (created 0644 with O_CREAT);
 * the descriptor or -errno. */
static int open_file(const struct writer *w, uint64_t base, int flags)
{
    char *path = segment_path(w->log->dir, base, "log");
    int fd = open(path, flags | O_CLOEXEC, 0644);

    vane_free(path);
    return fd >= 0 ? fd : -errno;
}

static void close_segment(struct writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->sync_fd >= 0)
        close(w->sync_fd);
    w->fd = w->sync_fd = -1;
    w->pending.len = 0;
}

/*
 * Opens (or creates) the segment at the writer's base, to write on from
 * the writer's position.  Never truncated: the bytes there may be records
 * an entry of the log refers to (at load, an adopted entry is written again
 * over its own records); bytes no entry refers to are cut at load, after a
 * truncation and after a snapshot replaced the log (drop_beyond).
 */
static int open_segment(struct writer *w)
{
    int err = (w->fd = open_file(w, w->base, O_RDWR | O_CREAT)) < 0 ? w->fd : 0;

    if (err == 0 && (w->sync_fd = open_file(w, w->base, O_RDONLY)) < 0)
        err = w->sync_fd;
    if (err == 0)
        return sync_dir(w);
    close_segment(w);
    return err;
}

/* The writer goes on from end (its segment file closed already). */
static void place(struct writer *w, const struct writer_end *end)
{
    w->base = end->base;
    w->position = end->position;
    w->next_offset = end->next_offset;
    w->last_time = end->last_time;
    if (w->durable > w->next_offset)
        w->durable = w->next_offset;
}

/* Writes the sealed records waiting in pending. */
static int flush(struct writer *w)
{
    int err = 0;

    if (w->pending.len > 0)
        err = pwrite_all(w->fd, w->pending.buf, w->pending.len, (off_t)w->pending.position);
    w->pending.len = 0;
    return err;
}

/* Writes the entry's records and starts their way to the disk, so that
 * the disk writes them while the job seals the next entry's; the job's
 * sync then finds them written. */
static int write_out(struct writer *w)
{
    uint64_t from = w->pending.position, len = w->pending.len;
    int err = flush(w);

    if (err == 0 && len > 0 &&
        sync_file_range(w->fd, (off_t)from, (off_t)len, SYNC_FILE_RANGE_WRITE) != 0)
        err = -errno;
    return err;
}

/* What waits for the segment open is written there, and what it holds
 * unsynced synced -- also what a sync of log_io's may still be syncing
 * (detach): a roll must not leave before it is durable. */
static int sync_segment(struct writer *w)
{
    int err = w->fd >= 0 ? flush(w) : 0;

    if (err == 0 && w->fd >= 0 && w->unsynced && fdatasync(w->fd) != 0)
        err = -errno;
    if (err == 0)
        w->unsynced = w->undetached = false;
    return err;
}

/* The writer moves to another segment: the one open is synced first. */
static int leave_segment(struct writer *w)
{
    int err = sync_segment(w);

    close_segment(w);
    return err;
}

/* The segment is full: it is made durable (even while a sync of log_io's
 * runs on it: sync_segment), and the next one starts at the next offset.
 * (Opening the segments at start takes one that is not the newest and
 * ends torn or short for damage: records lost after they were
 * acknowledged.) */
static int roll(struct writer *w)
{
    int err = leave_segment(w);

    if (err != 0)
        return err;
    w->base = w->next_offset;
    w->position = 0;
    return open_segment(w);
}

/* Removes the segment files after the writer's and cuts its own at its
 * position: what is there no entry of the log refers to. */
static int drop_beyond(struct writer *w)
{
    uint64_t *bases;
    size_t count;
    int err = eventlog_list_segments(w->log->dir, &bases, &count);

    /* The newest first: a crash between two unlinks leaves no gap. */
    for (size_t i = count; err == 0 && i-- > 0;)
        if (bases[i] > w->base)
            err = segment_remove_files(w->log->dir, bases[i]);
    vane_free(bases);
    if (err == 0 && w->fd < 0)
        err = open_segment(w);
    if (err == 0 && (ftruncate(w->fd, (off_t)w->position) != 0 || fdatasync(w->fd) != 0))
        err = -errno;
    return err == 0 ? sync_dir(w) : err;
}

/* ---- the log's appends (job thread) ---------------------------------------- */

static uint8_t *reserve(struct writer *w, size_t size)
{
    if (w->pending.len == 0)
        w->pending.position = w->position;
    if (w->pending.len + size > w->pending.cap) {
        w->pending.cap = w->pending.cap ? w->pending.cap : 1u << 20;
        while (w->pending.len + size > w->pending.cap)
            w->pending.cap *= 2;
        w->pending.buf = vane_realloc(w->pending.buf, w->pending.cap);
    }
    return w->pending.buf + w->pending.len;
}

/* Seals and queues the count records at p (end: the payload's end). */
static int put_records(struct writer *w, const uint8_t *p, const uint8_t *end, uint32_t count,
                       int64_t stored_at, raft_index index, struct ref *r)
{
    uint64_t segment_size = w->log->opt.segment_size;
    int err;

    r->first_part = UINT32_MAX;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t size = record_peek_size(p, (size_t)(end - p));
        uint8_t *to;

        if (size < RECORD_HEADER_SIZE || size > (size_t)(end - p))
            return VANE_ECORRUPT;
        if (w->position > 0 && w->position + size > segment_size) {
            if (r->first_part == UINT32_MAX)
                r->first_part = r->records_len;
            if ((err = roll(w)) != 0)
                return err;
        }
        to = reserve(w, size);
        w->unsynced = w->undetached = true;
        memcpy(to, p, size);
        record_seal(to, w->next_offset++, stored_at, index, i);
        w->pending.len += size;
        w->position += size;
        r->records_len += size;
        p += size;
    }
    if (r->first_part == UINT32_MAX)
        r->first_part = r->records_len;
    return 0;
}

static int store(void *data, const struct raft_entry *entry, raft_index index, size_t *keep,
                 uint8_t ref[LOG_EXTERN_REF])
{
    struct writer *w = data;
    const uint8_t *p = entry->buf.base;
    struct ref r = {0};
    int64_t stored_at;
    uint32_t count;
    int err;

    if (!eventlog_is_batch(entry))
        return 0;
    if (w->held)
        return -EAGAIN;
    if (w->frozen)
        return VANE_ECORRUPT;
    if (w->fd < 0 && (err = open_segment(w)) != 0)
        return err;
    count = vane_get32(p + 4);
    stored_at = (int64_t)vane_get64(p + 8);
    if (stored_at < w->last_time)
        stored_at = w->last_time;
    r.base = w->base;
    r.position = (uint32_t)w->position;
    r.first_offset = w->next_offset;
    r.prev_time = w->last_time;
    r.count = count;
    if ((err = put_records(w, p + EVENTLOG_BATCH_HEADER, p + entry->buf.len, count, stored_at,
                           index, &r)) != 0)
        return err;
    if (count > 0)
        w->last_time = stored_at;
    ref_put(ref, &r);
    *keep = EVENTLOG_BATCH_HEADER;
    return write_out(w);
}

/*
 * The job's records are written, and on their way to the disk
 * (write_out); the segment holding them unsynced is detached for the sync
 * that follows the job (log_io.h): a descriptor of its own of sync_fd, an
 * open file only those syncs use, one at a time -- which a roll in the
 * next job does not close under the sync, and to which the kernel reports
 * a write error of the pages even when the next job's sync of the segment
 * (leave_segment, through fd) is told of it too.  The sync makes the
 * records below the mark durable.
 */
static int detach(void *data, struct log_sync_target *t)
{
    struct writer *w = data;
    int err = w->fd >= 0 ? flush(w) : 0, fd;

    t->fds = NULL;
    t->nfds = 0;
    t->mark = w->next_offset;
    if (err != 0 || w->fd < 0 || !w->undetached)
        return err;
    if ((fd = fcntl(w->sync_fd, F_DUPFD_CLOEXEC, 0)) < 0)
        return -errno;
    t->fds = vane_malloc(sizeof(*t->fds));
    t->fds[t->nfds++] = fd;
    w->undetached = false;
    return 0;
}

static void synced(void *data, uint64_t mark)
{
    struct writer *w = data;

    if (!w->frozen) /* frozen: durable stays at the damage (damaged()) */
        w->durable = mark;
}

static int cut(void *data, raft_index index, const uint8_t ref[LOG_EXTERN_REF])
{
    struct writer *w = data;
    size_t first = 0;
    struct ref r;

    if (w->frozen)
        return 0; /* damage: the files stay as found */

    /* Adopted entries come before any the log refers to: the first of
     * them cut, if any, is where the cut records begin. */
    while (first < w->nadopted && w->adopted[first].index < index)
        first++;
    if (first < w->nadopted)
        ref = w->adopted[first].ref;
    w->nadopted = first;
    if (ref == NULL)
        return 0;
    ref_get(ref, &r);
    vane_log_info(component, "%s: raft's log removed entries never committed here; their "
                  "records, from offset %" PRIu64 " (segment %" PRIu64 " byte %" PRIu32 "), go "
                  "too", w->log->dir, r.first_offset, r.base, r.position);
    close_segment(w);
    place(w, &(struct writer_end){r.base, r.position, r.first_offset, r.prev_time});
    return drop_beyond(w);
}

/* Where applying reached: what the segments hold after it belongs to
 * entries the snapshot about to be installed replaces (never applied
 * here, maybe never committed). */
static void replacing(void *data)
{
    struct writer *w = data;
    const struct segment *active = eventlog_active(w->log);

    w->applied = (struct writer_end){active->base_offset, active->size, active->next_offset,
                                     w->log->last_time};
}

/* The writer stops at what was applied, the rest of the files gone, until
 * restore says where the segments go on (a catch-up, or at once). */
static int replaced(void *data)
{
    struct writer *w = data;

    close_segment(w);
    w->held = true;
    w->nadopted = 0;
    place(w, &w->applied);
    return drop_beyond(w);
}

/* ---- loading (loop thread) ------------------------------------------------- */

/* Reads up to len bytes at position of segment base (*got: how many; all
 * of them unless the file ends first); -ENOENT when it is gone. */
static int read_part(const struct writer *w, uint64_t base, uint64_t position, uint8_t *dst,
                     size_t len, size_t *got)
{
    int fd = open_file(w, base, O_RDONLY), err = fd < 0 ? fd : 0;
    ssize_t n = 0;

    if (fd >= 0 && (n = pread(fd, dst, len, (off_t)position)) < 0)
        err = -errno;
    *got = n > 0 ? (size_t)n : 0;
    if (fd >= 0)
        close(fd);
    return err;
}

/* Whether a segment file follows segment base's (1, or 0; -errno when the
 * files cannot be listed): base's was then synced whole before that one
 * began (roll; the empty files a crash may leave at the end went when the
 * segments were opened), so no crash can have cut it. */
static int followed(const struct writer *w, uint64_t base)
{
    uint64_t *bases;
    size_t count;
    int later = 0, err = eventlog_list_segments(w->log->dir, &bases, &count);

    if (err != 0)
        return err;
    for (size_t i = 0; i < count; i++)
        later = later || bases[i] > base;
    vane_free(bases);
    return later;
}

/* Records of segment base cut short, or missing (gone: -ENOENT when not
 * followed): -ENODATA (a cut write) in the newest segment, damage in any
 * other. */
static int cut_short(const struct writer *w, uint64_t base, int newest_err)
{
    int later = followed(w, base);

    return later < 0 ? later : later ? VANE_ECORRUPT : newest_err;
}

/*
 * A bad record at position of segment base (avail bytes of it at p), in an
 * entry whose records there end at end: -ENODATA when the file is torn
 * there (a cut write), VANE_ECORRUPT when valid bytes follow (damage).
 * Torn: what segment_is_torn says of the file's end; or the record and the
 * rest of the entry's are zeros, a write that never reached the disk,
 * though records stored beside its cut sync follow (log_io.h).  A byte
 * damaged in a record whose write did reach it is never taken for a cut,
 * nor is anything in a segment that another follows.
 */
static int bad_record(const struct writer *w, uint64_t base, const uint8_t *p, size_t avail,
                      uint64_t position, uint64_t end)
{
    int fd, rv = cut_short(w, base, 0); /* nothing in a followed segment is a cut */
    struct stat st;

    if (rv != 0)
        return rv;
    rv = VANE_ECORRUPT;
    if ((fd = open_file(w, base, O_RDONLY)) < 0)
        return fd;
    if (fstat(fd, &st) != 0)
        rv = -errno;
    else if (segment_is_torn(fd, p, avail, position, (uint64_t)st.st_size) ||
             segment_zeros(fd, position, end))
        rv = -ENODATA;
    close(fd);
    return rv;
}

/* Checks the records at p (len bytes) of entry index, from offset *next on;
 * *last_time gets the last one's store time, *used the bytes of the good ones. */
static int check_records(const uint8_t *p, size_t len, raft_index index, uint64_t *next,
                         uint32_t *pos, int64_t *last_time, size_t *used)
{
    for (*used = 0; *used < len;) {
        struct record_view view;
        const char *why;
        int rc = record_decode(p + *used, len - *used, &view, &why);

        if (rc != 0)
            return rc;
        if (view.offset != *next || view.raft_index != index || view.entry_pos != *pos)
            return VANE_ECORRUPT;
        *used += view.size;
        *last_time = view.stored_at;
        (*next)++, (*pos)++;
    }
    return 0;
}

/*
 * Reads and checks the records of entry index that ref points to into dst:
 * first_part bytes at its position, then the rest from the start of the
 * segments that follow, each named by the offset its first record has (a
 * full segment's file ends where its records do).  0; -ENOENT when the
 * newest file is gone; -ENODATA when it ends or is torn inside them;
 * VANE_ECORRUPT when they are damaged; another -errno when they cannot be
 * read.
 */
static int read_records(const struct writer *w, raft_index index, const struct ref *r,
                        uint8_t *dst, struct writer_end *end)
{
    uint64_t base = r->base, position = r->position;
    size_t done = 0, want = r->first_part, got, used;
    uint32_t pos = 0;
    int err;

    end->base = base;
    end->position = position;
    end->next_offset = r->first_offset;
    end->last_time = r->prev_time;
    for (;;) {
        if ((err = read_part(w, base, position, dst + done, want, &got)) == -ENOENT)
            /* the file is gone, or the segment before ended early */
            return cut_short(w, done > 0 ? end->base : base, done > 0 ? -ENODATA : -ENOENT);
        if (err != 0)
            return err;
        err = check_records(dst + done, got, index, &end->next_offset, &pos, &end->last_time,
                            &used);
        if (err == -ENODATA || (err == 0 && got < want && done == 0))
            return cut_short(w, base, -ENODATA); /* the file ends inside them */
        if (err != 0)
            return bad_record(w, base, dst + done + used, got - used, position + used,
                              position + got);
        done += got;
        end->base = base;
        end->position = position + got;
        if (done == r->records_len)
            break;
        if (got == 0 && position == 0)
            return cut_short(w, base, -ENODATA); /* an empty segment in the middle of an entry */
        base = end->next_offset;
        position = 0;
        want = r->records_len - done;
    }
    return pos == r->count ? 0 : VANE_ECORRUPT;
}

/* Fetching failed at the record after end: it and what follows read as zeros. */
static void zero_from(uint8_t *dst, size_t len, const struct writer_end *end)
{
    size_t valid = 0;

    for (const uint8_t *p = dst; valid < len;) {
        struct record_view view;
        const char *why;

        if (record_decode(p, len - valid, &view, &why) != 0 || view.offset >= end->next_offset)
            break;
        valid += view.size;
        p += view.size;
    }
    memset(dst + valid, 0, len - valid);
}

static int fetch(void *data, raft_index index, const uint8_t ref[LOG_EXTERN_REF], uint8_t *dst,
                 size_t len)
{
    struct writer *w = data;
    struct writer_end end;
    struct ref r;
    bool follows;
    int err;

    ref_get(ref, &r);
    /* After the snapshot the records must go on from where the writer is;
     * when they do not, nothing from the writer's offset on is known. */
    follows = w->held || w->frozen ||
              (r.base == w->base && r.position == w->position && r.first_offset == w->next_offset);
    w->bad_offset = follows || r.first_offset < w->next_offset ? r.first_offset : w->next_offset;
    if (r.records_len > len || r.first_part > r.records_len) {
        memset(dst, 0, len);
        return VANE_ECORRUPT;
    }
    if ((err = read_records(w, index, &r, dst, &end)) != 0) {
        zero_from(dst, len, &end);
        if (follows)
            w->bad_offset = end.next_offset;
        return err;
    }
    memset(dst + r.records_len, 0, len - r.records_len);
    if (w->held || w->frozen)
        return 0;
    if (!follows)
        return VANE_ECORRUPT;
    if (end.base != w->base && (err = leave_segment(w)) != 0)
        return err;
    place(w, &end);
    return 0;
}

/* The snapshot's extent: the offset after the last record it covers. */
static uint64_t snapshot_extent(const struct raft_snapshot *snapshot)
{
    if (snapshot == NULL || snapshot->n_bufs == 0)
        return 0;
    return eventlog_snapshot_next(snapshot->bufs[0].base, snapshot->bufs[0].len);
}

/* Where the writer goes on from: the end of what readers see. */
static void take_visible_end(struct writer *w)
{
    const struct segment *active = eventlog_active(w->log);

    close_segment(w);
    place(w, &(struct writer_end){active->base_offset, active->size, active->next_offset,
                                  w->log->last_time});
    w->durable = w->next_offset;
    w->held = false;
}

/* fdatasyncs the segment files after base: opening stopped at damage in
 * segment base, past the snapshot's extent, and raft's log may refer to
 * records in the later files that a killed process left in the page cache
 * only. */
static int sync_files_after(const struct writer *w, uint64_t base)
{
    uint64_t *bases;
    size_t count;
    int err = eventlog_list_segments(w->log->dir, &bases, &count);

    for (size_t i = 0; err == 0 && i < count; i++) {
        int fd;

        if (bases[i] <= base)
            continue;
        if ((fd = open_file(w, bases[i], O_RDONLY)) < 0)
            err = fd;
        else if (fdatasync(fd) != 0)
            err = -errno;
        if (fd >= 0)
            close(fd);
    }
    vane_free(bases);
    return err;
}

static int load_begin(void *data, const struct raft_snapshot *snapshot)
{
    struct writer *w = data;
    struct eventlog *log = w->log;
    uint64_t extent = snapshot_extent(snapshot);
    int err;

    eventlog_snapshot_durable(log, extent);
    if ((err = eventlog_sync_unsealed(log)) != 0)
        return err;
    if (log->failure != 0 && log->damaged_offset < extent) {
        /* Damage in records the snapshot covers, found opening the
         * segments: they stay as they are.  (Damage past the extent is in
         * records of raft's log, which fetch checks, or of entries never
         * written there, which load_end cuts.) */
        take_visible_end(w);
        w->frozen = true;
        log->written_next = eventlog_active(log)->next_offset;
        return 0;
    }
    if (log->failure != 0 && (err = sync_files_after(w, eventlog_active(log)->base_offset)) != 0)
        return err;
    if (extent > eventlog_active(log)->next_offset) {
        /* Records the snapshot covers are missing: a catch-up (restore
         * decides) writes them before the writer goes on. */
        w->held = true;
        log->written_next = eventlog_active(log)->next_offset;
        return 0;
    }
    if ((err = eventlog_show_upto(log, extent)) != 0)
        return err;
    take_visible_end(w);
    return 0;
}

static int adopt(void *data, raft_index index, const struct raft_entry *entry)
{
    struct writer *w = data;
    size_t keep = entry->buf.len;
    int err;

    if (!eventlog_is_batch(entry))
        return 0;
    if (w->held)
        return -EBUSY;
    if (w->nadopted == w->capadopted) {
        w->capadopted = w->capadopted ? 2 * w->capadopted : 16;
        w->adopted = vane_realloc(w->adopted, w->capadopted * sizeof(*w->adopted));
    }
    if ((err = store(w, entry, index, &keep, w->adopted[w->nadopted].ref)) != 0)
        return err;
    w->adopted[w->nadopted++].index = index;
    return 0;
}

static int load_end(void *data)
{
    struct writer *w = data;
    int err;

    if (w->held)
        return 0;
    /* What adopt wrote is synced; frozen, the rest of the files stays. */
    if ((err = sync_segment(w)) != 0)
        return err;
    if (!w->frozen)
        w->durable = w->next_offset;
    if (!w->frozen && (err = drop_beyond(w)) != 0)
        return err;
    w->log->written_next = w->durable;
    return 0;
}

static void damaged(void *data, raft_index index, const uint8_t ref[LOG_EXTERN_REF])
{
    struct writer *w = data;
    struct ref r;

    ref_get(ref, &r);
    vane_log_error(component, "%s: the records of raft entry %llu (offsets %" PRIu64 "-%" PRIu64
                   ", from segment %" PRIu64 " byte %" PRIu32 ") are missing or damaged at "
                   "offset %" PRIu64 "; serving offsets below it only", w->log->dir,
                   (unsigned long long)index, r.first_offset, r.first_offset + r.count - 1, r.base,
                   r.position, w->bad_offset);
    eventlog_mark_damaged(w->log, w->bad_offset);
    w->frozen = true;
    /* The records before the damage were read back from the files, synced
     * at load_begin (those adopted: at load_end): readers are served them
     * from there. */
    w->durable = w->log->damaged_offset;
    w->log->written_next = w->durable;
}

static void snapshotted(void *data, const struct raft_snapshot *snapshot)
{
    struct writer *w = data;

    eventlog_snapshot_durable(w->log, snapshot_extent(snapshot));
}

static bool held(void *data)
{
    return ((struct writer *)data)->held;
}

static void written(void *data)
{
    struct writer *w = data;

    w->log->written_next = w->durable;
    eventlog_seal_written(w->log);
}

/* ---- life cycle ------------------------------------------------------------ */

void writer_init(struct eventlog *log)
{
    struct writer *w = &log->writer;

    w->ops = (struct log_extern){
        .data = w, .store = store, .detach = detach, .synced = synced, .cut = cut,
        .replacing = replacing,
        .replaced = replaced, .load_begin = load_begin, .fetch = fetch, .adopt = adopt,
        .load_end = load_end, .damaged = damaged, .snapshotted = snapshotted, .held = held,
        .written = written};
    w->log = log;
    w->fd = w->sync_fd = -1;
    w->held = true;
    w->dirfd = open(log->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int writer_restart(struct eventlog *log)
{
    struct writer *w = &log->writer;
    int err;

    take_visible_end(w);
    if ((err = drop_beyond(w)) != 0) {
        /* The log's requests run, and fail: the group stops rather than waits. */
        w->frozen = true;
        replica_resume_log(log->replica);
        return err;
    }
    log->written_next = w->durable;
    replica_resume_log(log->replica);
    return 0;
}

void writer_hold(struct eventlog *log)
{
    log->writer.held = true;
}

void writer_free(struct eventlog *log)
{
    struct writer *w = &log->writer;

    if (w->log == NULL)
        return; /* never initialised */
    close_segment(w);
    if (w->dirfd >= 0)
        close(w->dirfd);
    vane_free(w->pending.buf);
    vane_free(w->adopted);
}
