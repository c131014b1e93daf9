/*
 * log_io.c -- the raft_io of every replica: storage in Vane's files
 * (log_format.h), the network through raft's libuv backend (see log_io.h).
 *
 * Storage requests -- appends, truncations, installed snapshots and
 * snapshot reads -- wait in one queue and run in order, one job at a time
 * in libuv's thread pool.  A job takes every append queued behind the
 * first one: one pwritev(2) and one fdatasync(2) make them all durable, and
 * their callbacks then run in order on the loop.  While a job runs, the
 * loop thread touches none of the storage's state (the file list, the
 * spares, the tail, the next index); the job touches nothing else.  A
 * failed write leaves the log's end unknown, so every request after it
 * fails as well, as raft's own backend does.
 *
 * With a keeper (log_io.h), an append job writes and detaches what it
 * stored; its appends then wait in a round for a sync of their own
 * (start_sync), which completes them in order.  Beside that sync the next
 * job only stores its appends' payloads (JOB_STORE, take_job): their log
 * entries are written once it is done, so that at most the log's last
 * write is ever unsynced.  Any other request waits until no append is
 * left unsynced; at close, what has not been written is cancelled in
 * order, after the syncs.
 *
 * Beside the queue run, one at a time each: the writing of a snapshot raft
 * took, the unlinking of what it made unneeded (taken off the list between
 * jobs), and raft's own async work.  Close waits for all of them.
 *
 * Opening and loading the directory (log_load.c), bootstrapping and the
 * term and vote are synchronous on the loop, as in raft's backend: they
 * happen at start and on elections.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/write_all.h"
#include "core/log.h"
#include "raft/log_format.h"
#include "raft/log_io_internal.h"

enum op_kind { OP_APPEND, OP_TRUNCATE, OP_INSTALL, OP_SNAPSHOT_GET };

struct op {
    struct op *next;
    enum op_kind kind;
    int status;
    union {
        struct {
            struct raft_io_append *req;
            struct log_batch batch;
            struct log_batch stored; /* as the log writes it (keep_outside) */
            void *kept;              /* its copies of the entries, if any */
        } append;
        raft_index truncate; /* the first index to go */
        struct {
            struct raft_io_snapshot_put *req;
            const struct raft_snapshot *snapshot;
            raft_index replaced; /* the snapshot file it replaces */
        } install;
        struct {
            struct raft_io_snapshot_get *req;
            struct raft_snapshot *snapshot;
            raft_index index;
        } get;
    };
};

/* ---- the list of log files --------------------------------------------------- */

void log_io_files_push(struct log_io *l, raft_index first)
{
    if (l->file_count == l->file_cap) {
        l->file_cap = l->file_cap ? 2 * l->file_cap : 16;
        l->files = vane_realloc(l->files, l->file_cap * sizeof(*l->files));
    }
    l->files[l->file_count++] = first;
}

void log_io_close_tail(struct log_io *l)
{
    if (l->tail_fd >= 0)
        close(l->tail_fd);
    l->tail_fd = -1;
    l->tail_alloc = 0;
}

/* Removes the log file at position i of the list. */
int log_io_remove_file(struct log_io *l, size_t i)
{
    char name[LOG_NAME_MAX];

    if (i == l->file_count - 1)
        log_io_close_tail(l);
    log_file_name(name, l->files[i]);
    if (unlinkat(l->dirfd, name, 0) != 0 && errno != ENOENT)
        return -errno;
    memmove(l->files + i, l->files + i + 1, (l->file_count - i - 1) * sizeof(*l->files));
    l->file_count--;
    return 0;
}

int log_io_fail(struct log_io *l, int rv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(l->io->errmsg, sizeof(l->io->errmsg), fmt, ap);
    va_end(ap);
    return rv;
}

int log_io_raft_code(int err)
{
    return err == -ENOSPC ? RAFT_NOSPACE : err == VANE_ECORRUPT ? RAFT_CORRUPT
                          : err == -ENOMEM ? RAFT_NOMEM : RAFT_IOERR;
}

/* ---- bootstrap, term and vote ----------------------------------------------------- */

static int store_meta(struct log_io *l, raft_term term, raft_id vote)
{
    struct log_meta next = {l->meta.version + 1, term, vote};
    int err = log_meta_write(l->dirfd, &next);

    if (err != 0)
        return log_io_fail(l, log_io_raft_code(err), "writing the term and vote in %s: %s", l->dir,
                    vane_strerror(err));
    l->meta = next;
    return 0;
}

static int io_set_term(struct raft_io *io, raft_term term)
{
    return store_meta(from_io(io), term, 0);
}

static int io_set_vote(struct raft_io *io, raft_id server_id)
{
    struct log_io *l = from_io(io);

    return store_meta(l, l->meta.term, server_id);
}

/* The configuration as entry 1, then term 1 (see load() for a crash between). */
static int io_bootstrap(struct raft_io *io, const struct raft_configuration *conf)
{
    struct log_io *l = from_io(io);
    struct raft_entry entry = {.term = 1, .type = RAFT_CHANGE};
    int rv, err;

    if (l->meta.term != 0 || l->snapshot_index != 0)
        return log_io_fail(l, RAFT_CANTBOOTSTRAP, "%s already holds a raft log", l->dir);
    /* Log files without a term: a bootstrap a crash cut (the term is
     * written last), as any other write sets the term first. */
    while (l->file_count > 0)
        if ((err = log_io_remove_file(l, l->file_count - 1)) != 0)
            return log_io_fail(l, log_io_raft_code(err), "removing a cut bootstrap in %s: %s", l->dir,
                        vane_strerror(err));
    if ((rv = raft_configuration_encode(conf, &entry.buf)) != 0)
        return log_io_fail(l, rv, "encoding the configuration");
    err = log_io_write_first_file(l, &(struct log_batch){&entry, 1, 1, NULL});
    raft_free(entry.buf.base);
    if (err != 0)
        return log_io_fail(l, log_io_raft_code(err), "writing the first entry in %s: %s", l->dir,
                    vane_strerror(err));
    log_io_files_push(l, 1);
    return store_meta(l, 1, 0);
}

static int io_recover(struct raft_io *io, const struct raft_configuration *conf)
{
    (void)conf;
    return log_io_fail(from_io(io), RAFT_NOTFOUND, "forcing a configuration is not supported");
}

/* ---- the jobs ---------------------------------------------------------------- */

/* Opens a spare file under name, durably renamed; -ENOENT with none. */
static int reuse_spare(struct log_io *l, const char *name)
{
    char spare[LOG_NAME_MAX];
    int fd;

    if (l->spare_count == 0)
        return -ENOENT;
    log_spare_name(spare, l->spares[--l->spare_count]);
    if (renameat(l->dirfd, spare, l->dirfd, name) != 0)
        return -errno;
    if ((fd = openat(l->dirfd, name, O_WRONLY | O_CLOEXEC)) < 0 || fsync(l->dirfd) != 0) {
        int err = -errno;

        if (fd >= 0)
            close(fd);
        return err;
    }
    return fd;
}

static int roll(struct log_io *l)
{
    char name[LOG_NAME_MAX];
    int fd;

    log_file_name(name, l->next_index);
    if ((fd = reuse_spare(l, name)) == -ENOENT)
        fd = log_create_file(l->dirfd, name);
    if (fd < 0)
        return fd;
    log_io_close_tail(l);
    log_io_files_push(l, l->next_index);
    l->tail_fd = fd;
    l->tail_size = 0;
    return 0;
}

/*
 * The entries of batch b as the log stores them: when the group keeps
 * payloads (l->ext), each entry's stored part goes there, and the log gets
 * its head and the reference, in copies of the entries (*copies, one
 * block, freed by the caller).
 */
static int keep_outside(struct log_io *l, struct log_batch *b, void **copies)
{
    size_t head = b->n * (sizeof(struct raft_entry) + 1 + sizeof(size_t) + LOG_EXTERN_REF);
    size_t bytes = head;
    struct raft_entry *entries;
    uint8_t *formats, (*refs)[LOG_EXTERN_REF], *p;
    size_t *keeps;

    *copies = vane_malloc(head);
    entries = *copies;
    refs = (uint8_t(*)[LOG_EXTERN_REF])(entries + b->n);
    keeps = (size_t *)(refs + b->n);
    for (unsigned i = 0; i < b->n; i++) {
        const struct raft_entry *e = &b->entries[i];
        int err;

        keeps[i] = e->buf.len;
        if ((err = l->ext->store(l->ext->data, e, b->index + i, &keeps[i], refs[i])) != 0)
            return err;
        if (keeps[i] < e->buf.len)
            bytes += keeps[i] + LOG_EXTERN_REF;
    }
    /* The heads and references after the arrays (which stay where they are). */
    *copies = vane_realloc(*copies, bytes);
    entries = *copies;
    refs = (uint8_t(*)[LOG_EXTERN_REF])(entries + b->n);
    keeps = (size_t *)(refs + b->n);
    formats = (uint8_t *)(keeps + b->n);
    p = (uint8_t *)*copies + head;
    for (unsigned i = 0; i < b->n; i++) {
        const struct raft_entry *e = &b->entries[i];

        entries[i] = *e;
        formats[i] = LOG_FORMAT_VERSION;
        if (keeps[i] == e->buf.len)
            continue;
        memcpy(p, e->buf.base, keeps[i]);
        memcpy(p + keeps[i], refs[i], LOG_EXTERN_REF);
        vane_put64(p + keeps[i], e->buf.len - keeps[i]);
        entries[i].buf = (struct raft_buffer){p, keeps[i] + LOG_EXTERN_REF};
        formats[i] = LOG_FORMAT_EXTERNAL;
        p += keeps[i] + LOG_EXTERN_REF;
    }
    b->entries = entries;
    b->formats = formats;
    return 0;
}

static uint64_t batches_size(const struct log_batch *b, size_t count)
{
    uint64_t bytes = 0;

    for (size_t i = 0; i < count; i++)
        for (unsigned k = 0; k < b[i].n; k++)
            bytes += log_entry_size(b[i].entries[k].buf.len);
    return bytes;
}

/*
 * With a keeper, a log file's bytes are written once (zeros) and synced
 * before entries go there, up to need and at least file_size: appending is
 * then writing over allocated blocks, which changes no metadata, so the
 * entries are durable once their writes completed and any flush of the
 * disk's cache followed -- the sync of what the keeper detached gives that
 * flush (detach_written).  Zeros read as stale bytes at load.
 */
static int preallocate(struct log_io *l, uint64_t need)
{
    static const uint8_t zeros[64 << 10];
    uint64_t target;
    struct stat st;

    if (need <= l->tail_alloc)
        return 0;
    if (fstat(l->tail_fd, &st) != 0)
        return -errno;
    if ((uint64_t)st.st_size >= need) {
        l->tail_alloc = (uint64_t)st.st_size;
        return 0;
    }
    target = need > l->file_size ? need : l->file_size;
    for (uint64_t at = (uint64_t)st.st_size; at < target; at += sizeof(zeros)) {
        size_t len = target - at < sizeof(zeros) ? (size_t)(target - at) : sizeof(zeros);
        int err = pwrite_all(l->tail_fd, zeros, len, (off_t)at);

        if (err != 0)
            return err;
    }
    if (fdatasync(l->tail_fd) != 0)
        return -errno;
    l->tail_alloc = target;
    return 0;
}

/*
 * The entries just written (len bytes at the tail's end): what the keeper
 * stored for them is detached for the sync (l->target, log_io.h), and the
 * log's write waited for, so that the sync's flush covers it; with nothing
 * stored, the log's own file carries that flush.  The job syncs them
 * itself when it may (job_syncs) and no append waits for it to end
 * (job_synced): the fewest hops at a steady pace.
 */
static int detach_written(struct log_io *l, uint64_t len)
{
    const unsigned wait = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                          SYNC_FILE_RANGE_WAIT_AFTER;
    int err, fd;

    if (sync_file_range(l->tail_fd, (off_t)l->tail_size, (off_t)len, SYNC_FILE_RANGE_WRITE) != 0)
        return -errno;
    if ((err = l->ext->detach(l->ext->data, &l->target)) != 0)
        return err;
    if (sync_file_range(l->tail_fd, (off_t)l->tail_size, (off_t)len, wait) != 0)
        return -errno;
    if (l->target.nfds == 0) {
        if ((fd = fcntl(l->tail_fd, F_DUPFD_CLOEXEC, 0)) < 0)
            return -errno;
        l->target.fds = vane_malloc(sizeof(*l->target.fds));
        l->target.fds[l->target.nfds++] = fd;
    }
    if (!l->job_syncs || atomic_load(&l->appends_waiting))
        return 0;
    for (size_t i = 0; i < l->target.nfds; i++)
        if (fdatasync(l->target.fds[i]) != 0)
            return -errno;
    l->job_synced = true;
    return 0;
}

/* The job's appends, their payloads stored by the keeper (with one) and
 * their entries as the log writes them kept in each op. */
static int store_appends(struct log_io *l)
{
    raft_index index = l->next_index;
    int err = 0;

    for (struct op *op = l->job; op != NULL; op = op->next) {
        op->append.stored = op->append.batch;
        op->append.stored.index = index;
        op->append.kept = NULL;
        if (l->ext != NULL && err == 0)
            err = keep_outside(l, &op->append.stored, &op->append.kept);
        index += op->append.batch.n;
    }
    return err;
}

/* The job's entries, stored already, in one write of the log (and without
 * a keeper one sync; with one, the sync comes after: start_sync). */
static int write_appends(struct log_io *l)
{
    struct log_batch batches[64], *b = batches;
    size_t count = 0, entries = 0;
    int64_t written = 0;
    int err = 0;

    for (struct op *op = l->job; op != NULL; op = op->next)
        count++;
    if (count > sizeof(batches) / sizeof(batches[0]))
        b = vane_malloc(count * sizeof(*b));
    count = 0;
    for (struct op *op = l->job; op != NULL; op = op->next) {
        b[count++] = op->append.stored;
        entries += op->append.stored.n;
    }
    if (l->tail_fd < 0 || l->tail_size >= l->file_size)
        err = roll(l);
    if (err == 0 && l->ext != NULL)
        err = preallocate(l, l->tail_size + batches_size(b, count));
    if (err == 0 && (written = log_write_entries(l->tail_fd, (int64_t)l->tail_size, b, count)) < 0)
        err = (int)written;
    if (err == 0 && l->ext != NULL)
        err = detach_written(l, (uint64_t)written);
    else if (err == 0 && fdatasync(l->tail_fd) != 0)
        err = -errno;
    if (err == 0) {
        l->tail_size += (uint64_t)written;
        l->next_index += entries;
    }
    for (struct op *op = l->job; op != NULL; op = op->next) {
        vane_free(op->append.kept);
        op->append.kept = NULL;
    }
    if (b != batches)
        vane_free(b);
    return err;
}

/* A job of appends: both halves, or, beside a sync, only the storing
 * (JOB_STORE), or, after it, only the writing (JOB_WRITE). */
static int run_appends(struct log_io *l)
{
    int err = l->job_kind == JOB_WRITE ? 0 : store_appends(l);

    if (err == 0 && l->job_kind != JOB_STORE)
        err = write_appends(l);
    return err;
}

/* The reference of the first entry kept partly outside the log from entry
 * index on (file i holds index): 1 with ref filled, 0 with none, or -errno. */
static int find_extern(struct log_io *l, size_t i, raft_index index, uint8_t ref[LOG_EXTERN_REF])
{
    int rv = 0;

    for (; rv == 0 && i < l->file_count; i++) {
        char name[LOG_NAME_MAX];
        int fd;
        int64_t from = 0;
        struct stat st;

        log_file_name(name, l->files[i]);
        if ((fd = openat(l->dirfd, name, O_RDONLY | O_CLOEXEC)) < 0)
            return -errno;
        if (l->files[i] <= index)
            from = log_entry_offset(fd, l->files[i], index);
        if (from < 0)
            rv = (int)from;
        else if (fstat(fd, &st) != 0)
            rv = -errno;
        else
            rv = log_find_extern(fd, from, i == l->file_count - 1 ? (int64_t)l->tail_size
                                                                   : (int64_t)st.st_size,
                                 l->files[i] <= index ? index : l->files[i], ref);
        close(fd);
    }
    return rv;
}

int log_io_truncate(struct log_io *l, raft_index index)
{
    char name[LOG_NAME_MAX];
    int64_t offset;
    int err = 0;

    while (l->file_count > 0 && l->files[l->file_count - 1] >= index)
        if ((err = log_io_remove_file(l, l->file_count - 1)) != 0)
            return err;
    l->next_index = index;
    /* The later files' removal is durable before the cut, so that no crash
     * leaves a gap behind the cut file. */
    if (fsync(l->dirfd) != 0)
        return -errno;
    if (l->file_count == 0)
        return 0;
    log_io_close_tail(l);
    log_file_name(name, l->files[l->file_count - 1]);
    if ((l->tail_fd = openat(l->dirfd, name, O_RDWR | O_CLOEXEC)) < 0)
        return -errno;
    if ((offset = log_entry_offset(l->tail_fd, l->files[l->file_count - 1], index)) < 0)
        return (int)offset;
    if (ftruncate(l->tail_fd, offset) != 0 || fdatasync(l->tail_fd) != 0)
        err = -errno;
    l->tail_size = (uint64_t)offset;
    return err;
}

/* Cuts the log from entry index on; then what the group kept of the cut
 * entries (after: a crash between leaves kept bytes no entry refers to,
 * which the next load drops, never an entry without its bytes). */
static int run_truncate(struct log_io *l, raft_index index)
{
    uint8_t ref[LOG_EXTERN_REF];
    int found = 0, err;

    if (index >= l->next_index)
        return 0;
    if (l->ext != NULL && l->file_count > 0) {
        size_t i = l->file_count - 1;

        while (i > 0 && l->files[i] > index)
            i--;
        if ((found = find_extern(l, i, index, ref)) < 0)
            return found;
    }
    if ((err = log_io_truncate(l, index)) != 0)
        return err;
    return l->ext != NULL ? l->ext->cut(l->ext->data, index, found ? ref : NULL) : 0;
}

static int remove_snapshot(struct log_io *l, raft_index index)
{
    char name[LOG_NAME_MAX];

    log_snapshot_name(name, index);
    return unlinkat(l->dirfd, name, 0) != 0 && errno != ENOENT ? -errno : 0;
}

/* A snapshot the leader sent: the log starts over after it. */
static int run_install(struct log_io *l, struct op *op)
{
    const struct raft_snapshot *s = op->install.snapshot;
    int err;

    if ((err = log_snapshot_write(l->dirfd, s)) != 0)
        return err;
    if (op->install.replaced != 0 && op->install.replaced != s->index &&
        (err = remove_snapshot(l, op->install.replaced)) != 0)
        return err;
    if (l->ext != NULL && (err = l->ext->replaced(l->ext->data)) != 0)
        return err;
    while (l->file_count > 0)
        if ((err = log_io_remove_file(l, l->file_count - 1)) != 0)
            return err;
    l->next_index = s->index + 1;
    return fsync(l->dirfd) != 0 ? -errno : 0;
}

static void job_run(uv_work_t *work)
{
    struct log_io *l = work->data;
    struct op *op = l->job;
    int err;

    if (l->failed) {
        err = -EIO;
    } else if (op->kind == OP_APPEND) {
        err = run_appends(l);
    } else if (op->kind == OP_TRUNCATE) {
        err = run_truncate(l, op->truncate);
    } else if (op->kind == OP_INSTALL) {
        err = run_install(l, op);
    } else {
        char why[96];

        err = log_snapshot_read(l->dirfd, op->get.index, &op->get.snapshot, why, sizeof(why));
    }
    if (err != 0 && !l->failed) {
        snprintf(l->why, sizeof(l->why), "%s: %s", l->dir, vane_strerror(err));
        l->failed = op->kind != OP_SNAPSHOT_GET;
    }
    for (; op != NULL; op = op->next)
        op->status = err == 0 ? 0 : log_io_raft_code(err);
}

static void finish(struct log_io *l, struct op *op)
{
    switch (op->kind) {
    case OP_APPEND:
        vane_free(op->append.kept);
        op->append.req->cb(op->append.req, op->status);
        break;
    case OP_TRUNCATE: break;
    case OP_INSTALL:
        if (op->status == 0)
            l->snapshot_index = op->install.snapshot->index;
        op->install.req->cb(op->install.req, op->status);
        break;
    case OP_SNAPSHOT_GET:
        op->get.req->cb(op->get.req, op->get.snapshot, op->status);
        break;
    }
    vane_free(op);
}

/* Finishes the list ops, in order, with status. */
static void finish_all(struct log_io *l, struct op *ops, int status)
{
    while (ops != NULL) {
        struct op *next = ops->next;

        ops->status = status;
        finish(l, ops);
        ops = next;
    }
}

/* Logs what why says went wrong, gives it raft as the io's error, and clears it. */
static void report(struct log_io *l, char *why)
{
    if (why[0] == '\0')
        return;
    vane_log(LOG_LEVEL_ERROR, "raft", "%s", why);
    snprintf(l->io->errmsg, sizeof(l->io->errmsg), "%s", why);
    why[0] = '\0';
}

static void close_when_idle(struct log_io *l);

static void job_done(uv_work_t *work, int status);
static void kick(struct log_io *l);

struct unlink_job {
    uv_work_t work;
    struct log_io *l;
    size_t count;
    char names[][LOG_NAME_MAX];
};

/* No sync of the directory: files a crash brings back hold only entries
 * the snapshot covers, and load hands raft those too. */
static void unlink_run(uv_work_t *work)
{
    struct unlink_job *job = (struct unlink_job *)work;

    for (size_t i = 0; i < job->count; i++)
        unlinkat(job->l->dirfd, job->names[i], 0);
}

static void unlink_done(uv_work_t *work, int status)
{
    struct unlink_job *job = (struct unlink_job *)work;
    struct log_io *l = job->l;

    (void)status;
    vane_free(job);
    l->unlinking--;
    if (l->closing)
        close_when_idle(l);
    else
        kick(l); /* drops that waited for this one */
}

/* Renames log file first to a spare, while there is room for one. */
static bool keep_spare(struct log_io *l, raft_index first)
{
    char name[LOG_NAME_MAX], spare[LOG_NAME_MAX];

    if (l->spare_count == LOG_SPARES)
        return false;
    log_file_name(name, first);
    log_spare_name(spare, first);
    if (renameat(l->dirfd, name, l->dirfd, spare) != 0)
        return false;
    l->spares[l->spare_count++] = first;
    return true;
}

/* Takes the files the last snapshot made unneeded off the list (never the
 * last one), keeps some as spares and has the others unlinked; between
 * jobs, which own the lists. */
static void drop_unneeded(struct log_io *l)
{
    size_t n = 0, max = l->file_count + 1;
    struct unlink_job *job;

    if (l->busy || l->unlinking > 0 || (l->drop_upto == 0 && l->drop_snapshot == 0))
        return;
    job = vane_malloc(sizeof(*job) + max * LOG_NAME_MAX);
    if (l->drop_snapshot != 0)
        log_snapshot_name(job->names[n++], l->drop_snapshot);
    while (l->file_count > 1 && l->files[1] <= l->drop_upto + 1) {
        if (!keep_spare(l, l->files[0]))
            log_file_name(job->names[n++], l->files[0]);
        memmove(l->files, l->files + 1, --l->file_count * sizeof(*l->files));
    }
    l->drop_upto = l->drop_snapshot = 0;
    job->l = l;
    job->count = n;
    if (n == 0 || uv_queue_work(l->loop, &job->work, unlink_run, unlink_done) != 0) {
        vane_free(job);
        return;
    }
    l->unlinking++;
}

/*
 * Takes the next job into l->job: with a keeper, the writing of the
 * appends stored ahead once no sync is left; else every append at the head
 * of the queue (beside a sync, to be stored only, and then not while some
 * wait ahead); or the one other request there once no append is left
 * unsynced.  False when none may start now.
 */
static bool take_job(struct log_io *l)
{
    bool syncing = l->sync_busy || l->round.ops != NULL;
    struct op **cut;

    if (l->ahead != NULL) {
        if (syncing)
            return false; /* sync_done kicks */
        l->job = l->ahead;
        l->ahead = NULL;
        l->job_kind = JOB_WRITE;
        return true;
    }
    if (l->queue == NULL || (l->queue->kind != OP_APPEND && syncing))
        return false;
    cut = &l->queue->next;
    if (l->queue->kind == OP_APPEND)
        while (*cut != NULL && (*cut)->kind == OP_APPEND)
            cut = &(*cut)->next;
    if (l->queue->kind == OP_SNAPSHOT_GET)
        l->queue->get.index = l->snapshot_index;
    if (l->queue->kind == OP_INSTALL)
        l->queue->install.replaced = l->snapshot_index;
    if (l->queue->kind == OP_INSTALL && l->ext != NULL)
        l->ext->replacing(l->ext->data);
    l->job_kind = l->ext != NULL && syncing ? JOB_STORE : JOB_BOTH;
    l->job = l->queue;
    l->queue = *cut;
    *cut = NULL;
    if (l->queue == NULL)
        l->queue_end = &l->queue;
    return true;
}

/* Starts the next job, if one may start (take_job). */
static void kick(struct log_io *l)
{
    drop_unneeded(l);
    if (l->busy || l->closing)
        return;
    if (l->ext != NULL && l->ext->held(l->ext->data))
        return;
    if (!take_job(l))
        return;
    l->busy = true;
    l->work.data = l;
    l->target = (struct log_sync_target){NULL, 0, 0};
    l->job_syncs = !l->sync_busy && l->round.ops == NULL;
    l->job_synced = false;
    atomic_store(&l->appends_waiting, false);
    if (uv_queue_work(l->loop, &l->work, job_run, job_done) != 0) {
        l->failed = true;
        for (struct op *op = l->job; op != NULL; op = op->next)
            op->status = RAFT_IOERR;
        job_done(&l->work, 0);
    }
}

/* ---- the syncs of a keeper's appends ------------------------------------------ */

/* The list ops, then the list rest after it. */
static struct op *chain(struct op *ops, struct op *rest)
{
    struct op **end = &ops;

    while (*end != NULL)
        end = &(*end)->next;
    *end = rest;
    return ops;
}

/* Closes and frees n descriptors. */
static void close_all(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    vane_free(fds);
}

static void round_reset(struct sync_round *r)
{
    *r = (struct sync_round){.ops = NULL, .ops_end = &r->ops};
}

/* The ops of a written job join the round, with what the job detached
 * (its descriptors now the round's). */
static void round_add(struct sync_round *r, struct op *ops, const struct log_sync_target *t)
{
    *r->ops_end = ops;
    while (*r->ops_end != NULL) {
        if (r->status == 0)
            r->status = (*r->ops_end)->status;
        r->ops_end = &(*r->ops_end)->next;
    }
    if (t->nfds > 0) {
        r->fds = vane_realloc(r->fds, (r->nfds + t->nfds) * sizeof(*r->fds));
        memcpy(r->fds + r->nfds, t->fds, t->nfds * sizeof(*t->fds));
        r->nfds += t->nfds;
    }
    vane_free(t->fds);
    r->mark = t->mark; /* for synced, once every job of the round succeeded */
}

/* One fdatasync per detached file: each also flushes the disk's cache,
 * which covers the log's writes, completed before the round began. */
static void sync_run(uv_work_t *work)
{
    struct log_io *l = work->data;
    struct sync_round *r = &l->syncing;

    for (size_t i = 0; i < r->nfds && r->status == 0; i++)
        if (fdatasync(r->fds[i]) != 0) {
            snprintf(l->sync_why, sizeof(l->sync_why), "%s: %s", l->dir, vane_strerror(-errno));
            r->status = RAFT_IOERR;
        }
}

static void start_sync(struct log_io *l);

/* A sync that failed leaves the log's end unknown: the log fails from
 * here on, as after a failed write (job_run), once no job runs. */
static void fail_log(struct log_io *l)
{
    if (l->busy)
        l->fail_after_job = true;
    else
        l->failed = true;
}

static void sync_done(uv_work_t *work, int status)
{
    struct log_io *l = work->data;
    struct sync_round *r = &l->syncing;
    struct op *done = r->ops;

    (void)status;
    close_all(r->fds, r->nfds);
    if (r->status == 0) {
        l->ext->synced(l->ext->data, r->mark);
        l->ext->written(l->ext->data);
    } else {
        /* What was written after it can be durable no more than it. */
        fail_log(l);
        if (l->round.status == 0)
            l->round.status = RAFT_IOERR;
    }
    report(l, l->sync_why);
    r->ops = NULL;
    finish_all(l, done, r->status);
    round_reset(r);
    l->sync_busy = false;
    start_sync(l);
    if (l->closing)
        close_when_idle(l);
    else
        kick(l);
}

/* Syncs the waiting round, unless a sync runs (its end starts the next). */
static void start_sync(struct log_io *l)
{
    if (l->sync_busy || l->round.ops == NULL)
        return;
    l->syncing = l->round;
    round_reset(&l->round);
    if (!l->busy && l->failed && l->syncing.status == 0) /* a job reads failed while it runs */
        l->syncing.status = RAFT_IOERR;
    l->sync_busy = true;
    l->sync_work.data = l;
    if (uv_queue_work(l->loop, &l->sync_work, sync_run, sync_done) != 0) {
        l->syncing.status = RAFT_IOERR;
        sync_done(&l->sync_work, 0);
    }
}

static void job_done(uv_work_t *work, int status)
{
    struct log_io *l = work->data;
    struct op *done = l->job;
    bool written = l->ext != NULL && done->kind == OP_APPEND;

    (void)status;
    if (l->ext != NULL && done->kind == OP_TRUNCATE)
        l->ext->written(l->ext->data);
    report(l, l->why);
    l->job = NULL;
    l->busy = false;
    if (l->fail_after_job)
        l->failed = true;
    l->fail_after_job = false;
    if (written && l->job_kind == JOB_STORE) {
        /* Its entries are written after the sync running (before what a
         * close put ahead: io_close). */
        l->ahead = chain(done, l->ahead);
        done = NULL;
    } else if (written && l->job_synced && done->status == 0) {
        /* Durable already, and nothing before it waits for a sync. */
        close_all(l->target.fds, l->target.nfds);
        l->ext->synced(l->ext->data, l->target.mark);
        l->ext->written(l->ext->data);
    } else if (written) {
        round_add(&l->round, done, &l->target);
        start_sync(l);
        done = NULL;
    }
    if (done != NULL)
        finish_all(l, done, done->status); /* a job's ops share its status */
    if (l->closing)
        close_when_idle(l);
    else
        kick(l);
}

static int enqueue(struct log_io *l, struct op *op)
{
    if (l->closing) {
        vane_free(op);
        return RAFT_CANCELED;
    }
    *l->queue_end = op;
    l->queue_end = &op->next;
    if (l->busy && op->kind == OP_APPEND)
        atomic_store(&l->appends_waiting, true);
    kick(l);
    return 0;
}

static int io_append(struct raft_io *io, struct raft_io_append *req,
                     const struct raft_entry entries[], unsigned n, raft_io_append_cb cb)
{
    struct op *op = VANE_NEW(op);

    req->cb = cb;
    op->kind = OP_APPEND;
    op->append.req = req;
    op->append.batch = (struct log_batch){entries, n, 0, NULL};
    return enqueue(from_io(io), op);
}

static int io_truncate(struct raft_io *io, raft_index index)
{
    struct op *op = VANE_NEW(op);

    op->kind = OP_TRUNCATE;
    op->truncate = index;
    return enqueue(from_io(io), op);
}

static void put_run(uv_work_t *work)
{
    struct log_io *l = work->data;

    l->put.err = log_snapshot_write(l->dirfd, l->put.snapshot);
}


/* The snapshot is durable: what it makes unneeded goes (drop_unneeded). */
static void put_done(uv_work_t *work, int status)
{
    struct log_io *l = work->data;
    const struct raft_snapshot *s = l->put.snapshot;
    int err = status != 0 ? status : l->put.err;

    l->put.busy = false;
    if (err != 0) {
        vane_log(LOG_LEVEL_ERROR, "raft", "%s: writing the snapshot at %llu: %s", l->dir,
                 (unsigned long long)s->index, vane_strerror(err));
    } else if (s->index > l->snapshot_index) { /* raft never installs one meanwhile */
        if (l->snapshot_index != 0)
            l->drop_snapshot = l->snapshot_index;
        if (s->index > l->put.trailing)
            l->drop_upto = s->index - l->put.trailing;
        l->snapshot_index = s->index;
        if (l->ext != NULL)
            l->ext->snapshotted(l->ext->data, s);
        kick(l);
    }
    l->put.req->cb(l->put.req, err == 0 ? 0 : log_io_raft_code(err));
    if (l->closing)
        close_when_idle(l);
}

/* A snapshot raft took is written beside the appends, which it must not
 * hold back; one the leader sent (trailing 0) replaces the log, in turn. */
static int io_snapshot_put(struct raft_io *io, unsigned trailing,
                           struct raft_io_snapshot_put *req, const struct raft_snapshot *snapshot,
                           raft_io_snapshot_put_cb cb)
{
    struct log_io *l = from_io(io);
    struct op *op;

    req->cb = cb;
    if (trailing == 0) {
        op = VANE_NEW(op);
        op->kind = OP_INSTALL;
        op->install.req = req;
        op->install.snapshot = snapshot;
        return enqueue(l, op);
    }
    if (l->closing)
        return RAFT_CANCELED;
    if (l->put.busy)
        return log_io_fail(l, RAFT_BUSY, "a snapshot is being written");
    l->put.req = req;
    l->put.snapshot = snapshot;
    l->put.trailing = trailing;
    l->put.work.data = l;
    if (uv_queue_work(l->loop, &l->put.work, put_run, put_done) != 0)
        return log_io_fail(l, RAFT_IOERR, "cannot queue the snapshot's write");
    l->put.busy = true;
    return 0;
}

static int io_snapshot_get(struct raft_io *io, struct raft_io_snapshot_get *req,
                           raft_io_snapshot_get_cb cb)
{
    struct op *op = VANE_NEW(op);

    req->cb = cb;
    op->kind = OP_SNAPSHOT_GET;
    op->get.req = req;
    return enqueue(from_io(io), op);
}

/* ---- work raft hands off (snapshots of the state machine) ------------------- */

struct async_job {
    uv_work_t req;
    struct log_io *l;
    struct raft_io_async_work *work;
    raft_io_async_work_cb cb;
    int status;
};

static void async_run(uv_work_t *req)
{
    struct async_job *job = (struct async_job *)req;

    job->status = job->work->work(job->work);
}

static void async_done(uv_work_t *req, int status)
{
    struct async_job *job = (struct async_job *)req;
    struct log_io *l = job->l;

    job->cb(job->work, status == UV_ECANCELED ? RAFT_CANCELED : job->status);
    vane_free(job);
    l->async_running--;
    if (l->closing)
        close_when_idle(l);
}

static int io_async_work(struct raft_io *io, struct raft_io_async_work *work,
                         raft_io_async_work_cb cb)
{
    struct async_job *job = VANE_NEW(job);

    job->l = from_io(io);
    job->work = work;
    job->cb = cb;
    if (uv_queue_work(job->l->loop, &job->req, async_run, async_done) != 0) {
        vane_free(job);
        return RAFT_IOERR;
    }
    job->l->async_running++;
    return 0;
}

/* ---- the network half ------------------------------------------------------- */

static int io_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                    raft_io_recv_cb recv)
{
    struct log_io *l = from_io(io);
    int rv;

    l->net.data = io->data; /* raft's callbacks find the raft there */
    if ((rv = l->net.start(&l->net, msecs, tick, recv)) != 0)
        return log_io_fail(l, rv, "%s", l->net.errmsg);
    return 0;
}

static int io_send(struct raft_io *io, struct raft_io_send *req, const struct raft_message *message,
                   raft_io_send_cb cb)
{
    struct log_io *l = from_io(io);
    int rv = l->net.send(&l->net, req, message, cb);

    return rv != 0 ? log_io_fail(l, rv, "%s", l->net.errmsg) : 0;
}

static raft_time io_time(struct raft_io *io)
{
    return uv_now(from_io(io)->loop);
}

static int io_random(struct raft_io *io, int min, int max)
{
    struct log_io *l = from_io(io);

    return l->net.random(&l->net, min, max);
}

/* ---- close ------------------------------------------------------------------- */

static void net_closed(struct raft_io *net)
{
    struct log_io *l = (struct log_io *)((char *)net - offsetof(struct log_io, net));

    if (l->close_cb != NULL)
        l->close_cb(l->io);
}

/* Once no job and no snapshot write runs. */
static void close_when_idle(struct log_io *l)
{
    if (l->busy || l->sync_busy || l->round.ops != NULL || l->put.busy || l->unlinking > 0 ||
        l->async_running > 0 || l->net_closing)
        return;
    if (l->ahead != NULL) { /* never written: after every earlier request */
        struct op *ahead = l->ahead;

        l->ahead = NULL;
        finish_all(l, ahead, RAFT_CANCELED);
    }
    l->net_closing = true;
    log_io_close_tail(l);
    l->net.close(&l->net, net_closed);
}

/* What waits in the queue is cancelled once every request before it has
 * ended (close_when_idle), so that callbacks keep their order. */
static void io_close(struct raft_io *io, raft_io_close_cb cb)
{
    struct log_io *l = from_io(io);

    l->closing = true;
    l->close_cb = cb;
    l->ahead = chain(l->ahead, l->queue);
    l->queue = NULL;
    l->queue_end = &l->queue;
    close_when_idle(l);
}

/* ---- making and freeing ------------------------------------------------------ */

int log_io_init(struct raft_io *io, uv_loop_t *loop, const char *dir,
                struct raft_uv_transport *transport, size_t file_size)
{
    struct log_io *l = VANE_NEW(l);
    int rv;

    *io = (struct raft_io){
        .version = 2, .impl = l, .init = log_load_init, .close = io_close, .load = log_load,
        .start = io_start, .bootstrap = io_bootstrap, .recover = io_recover,
        .set_term = io_set_term, .set_vote = io_set_vote, .send = io_send, .append = io_append,
        .truncate = io_truncate, .snapshot_put = io_snapshot_put,
        .snapshot_get = io_snapshot_get, .time = io_time, .random = io_random,
        .async_work = io_async_work};
    l->io = io;
    l->loop = loop;
    l->dir = vane_strdup(dir);
    l->dirfd = -1;
    l->tail_fd = -1;
    l->file_size = file_size > 0 ? file_size : LOG_IO_FILE_SIZE;
    l->queue_end = &l->queue;
    round_reset(&l->round);
    round_reset(&l->syncing);
    if ((rv = raft_uv_init(&l->net, loop, dir, transport)) != 0) {
        snprintf(io->errmsg, sizeof(io->errmsg), "%s", l->net.errmsg);
        vane_free(l->dir);
        vane_free(l);
        io->impl = NULL;
        return rv;
    }
    return 0;
}

void log_io_set_extern(struct raft_io *io, const struct log_extern *ext)
{
    from_io(io)->ext = ext;
}

void log_io_resume(struct raft_io *io)
{
    kick(from_io(io));
}

void log_io_close(struct raft_io *io)
{
    struct log_io *l = from_io(io);

    if (l == NULL)
        return;
    raft_uv_close(&l->net);
    log_io_close_tail(l);
    if (l->dirfd >= 0)
        close(l->dirfd);
    vane_free(l->files);
    vane_free(l->dir);
    vane_free(l);
    io->impl = NULL;
}
