/*
 * log_load.c -- opening a raft group's directory at start (see
 * log_io_internal.h): the files listed, what a killed process may have
 * left unsynced made durable, the term and vote read, a directory raft's
 * own libuv backend wrote converted, and the log and snapshot loaded for
 * raft, cutting a torn tail and refusing damage (doc/storage.md, "The raft
 * log").
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/log.h"
#include "raft/log_io_internal.h"

/* ---- the files ---------------------------------------------------------------- */

static int compare_index(const void *a, const void *b)
{
    raft_index x = *(const raft_index *)a, y = *(const raft_index *)b;

    return x < y ? -1 : x > y;
}

/* A stream over the directory from its start (a dup shares the offset). */
static DIR *read_dir(struct log_io *l)
{
    int fd = dup(l->dirfd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;

    if (dir != NULL)
        rewinddir(dir);
    else if (fd >= 0)
        close(fd);
    return dir;
}

static bool is_spare(const struct log_io *l, raft_index first)
{
    for (size_t i = 0; i < l->spare_count; i++)
        if (l->spares[i] == first)
            return true;
    return false;
}

/* Lists the log, snapshot and spare files; removes all but the newest
 * snapshot, and spares past LOG_SPARES. */
static int list_files(struct log_io *l, bool *raft_uv_files)
{
    DIR *dir = read_dir(l);
    struct dirent *d;
    raft_index index;

    if (dir == NULL)
        return -errno;
    l->file_count = 0;
    l->spare_count = 0;
    l->snapshot_index = 0;
    *raft_uv_files = false;
    while ((d = readdir(dir)) != NULL) {
        if (log_file_parse(d->d_name, &index))
            log_io_files_push(l, index);
        else if (log_snapshot_parse(d->d_name, &index) && index > l->snapshot_index)
            l->snapshot_index = index;
        else if (log_spare_parse(d->d_name, &index) && l->spare_count < LOG_SPARES)
            l->spares[l->spare_count++] = index;
        else if (log_is_raft_uv_file(d->d_name))
            *raft_uv_files = true;
    }
    /* Older snapshots, and the temporary files of one cut short. */
    rewinddir(dir);
    while ((d = readdir(dir)) != NULL)
        if ((strncmp(d->d_name, "snap-", 5) == 0 &&
             !(log_snapshot_parse(d->d_name, &index) && index == l->snapshot_index)) ||
            (log_spare_parse(d->d_name, &index) && !is_spare(l, index)))
            unlinkat(l->dirfd, d->d_name, 0);
    closedir(dir);
    if (l->file_count > 1)
        qsort(l->files, l->file_count, sizeof(*l->files), compare_index);
    return 0;
}

/* ---- converting a directory raft's libuv backend wrote ----------------------- */

static void free_entries(struct raft_entry *entries, size_t n)
{
    void *batch = NULL;

    for (size_t i = 0; i < n; i++)
        if (entries[i].batch == NULL)
            raft_free(entries[i].buf.base);
        else if (entries[i].batch != batch)
            raft_free(batch = entries[i].batch);
    raft_free(entries);
}

int log_io_write_first_file(struct log_io *l, const struct log_batch *batch)
{
    char name[LOG_NAME_MAX];
    int64_t written;
    int fd, err = 0;

    log_file_name(name, batch->index);
    unlinkat(l->dirfd, name, 0); /* a conversion cut short */
    if ((fd = log_create_file(l->dirfd, name)) < 0)
        return fd;
    if ((written = log_write_entries(fd, 0, batch, 1)) < 0)
        err = (int)written;
    else if (fdatasync(fd) != 0)
        err = -errno;
    close(fd);
    return err;
}

static void remove_raft_uv_files(struct log_io *l)
{
    DIR *dir = read_dir(l);
    struct dirent *d;

    while (dir != NULL && (d = readdir(dir)) != NULL)
        if (log_is_raft_uv_file(d->d_name))
            unlinkat(l->dirfd, d->d_name, 0);
    if (dir != NULL)
        closedir(dir);
    fsync(l->dirfd);
}

/* The snapshot and entries first, the term and vote last: until the meta
 * file exists the conversion starts over. */
static int convert(struct log_io *l)
{
    struct raft_snapshot *snapshot = NULL;
    struct raft_entry *entries = NULL;
    raft_index start;
    size_t n = 0;
    int rv, err = 0;

    if ((rv = l->net.load(&l->net, &l->meta.term, &l->meta.vote, &snapshot, &start, &entries,
                          &n)) != 0)
        return log_io_fail(l, rv, "reading raft's libuv log in %s to convert it: %s", l->dir,
                           l->net.errmsg[0] != '\0' ? l->net.errmsg : "raft_uv gave no detail");
    if (snapshot != NULL)
        err = log_snapshot_write(l->dirfd, snapshot);
    if (err == 0 && n > 0)
        err = log_io_write_first_file(l, &(struct log_batch){entries, (unsigned)n, start, NULL});
    l->meta.version = 1;
    if (err == 0)
        err = log_meta_write(l->dirfd, &l->meta);
    log_snapshot_free(snapshot);
    free_entries(entries, n);
    if (err != 0)
        return log_io_fail(l, log_io_raft_code(err), "converting raft's libuv log in %s: %s", l->dir,
                    vane_strerror(err));
    remove_raft_uv_files(l);
    vane_log(LOG_LEVEL_INFO, "raft", "%s: converted raft's libuv log (%zu entries) to Vane's format",
             l->dir, n);
    return 0;
}

/* ---- opening the directory ----------------------------------------------------- */


/*
 * A process killed between a write and its sync leaves the write in the
 * page cache, where the next process reads it as if it were on disk.  What
 * start reads is made durable first, so that nothing is handed to raft (a
 * vote, an entry counted towards a commit) that a power loss could still
 * take back.  Only files whose last write was cut can be dirty: the meta
 * files, the snapshot, the last log file and the directory.
 */
static int sync_name(struct log_io *l, const char *name)
{
    int fd = openat(l->dirfd, name, O_RDONLY | O_CLOEXEC);
    int err = 0;

    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fdatasync(fd) != 0)
        err = -errno;
    close(fd);
    return err;
}

static int sync_at_start(struct log_io *l)
{
    char name[LOG_NAME_MAX];
    int err;

    if (fsync(l->dirfd) != 0)
        return -errno;
    if ((err = sync_name(l, "meta1")) != 0 || (err = sync_name(l, "meta2")) != 0)
        return err;
    if (l->snapshot_index != 0) {
        log_snapshot_name(name, l->snapshot_index);
        if ((err = sync_name(l, name)) != 0)
            return err;
    }
    if (l->file_count > 0) {
        log_file_name(name, l->files[l->file_count - 1]);
        return sync_name(l, name);
    }
    return 0;
}

/*
 * Vane's files first, raft's backend last: a failure before the backend's
 * init leaves nothing of it on the loop, so the caller may free the io at
 * once (log_io_close).  Only a conversion, which reads through the
 * backend, needs it earlier.
 */
int log_load_init(struct raft_io *io, raft_id id, const char *address)
{
    struct log_io *l = from_io(io);
    bool raft_uv_files;
    int rv, err;

    if ((l->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return log_io_fail(l, RAFT_IOERR, "open %s: %s", l->dir, strerror(errno));
    if ((err = list_files(l, &raft_uv_files)) != 0 || (err = sync_at_start(l)) != 0 ||
        (err = log_meta_read(l->dirfd, &l->meta)) != 0)
        return log_io_fail(l, RAFT_IOERR, "reading %s: %s", l->dir, vane_strerror(err));
    if ((rv = l->net.init(&l->net, id, address)) != 0)
        return log_io_fail(l, rv, "%s", l->net.errmsg);
    if (l->meta.version == 0 && raft_uv_files) {
        if ((rv = convert(l)) != 0)
            return rv;
        if ((err = list_files(l, &raft_uv_files)) != 0)
            return log_io_fail(l, RAFT_IOERR, "reading %s: %s", l->dir, vane_strerror(err));
    }
    return 0;
}

/* ---- load ------------------------------------------------------------------- */

struct loading {
    struct log_io *l;
    struct raft_entry *entries;
    size_t n, cap;
    uint8_t *file;         /* the file being read: the entries' batch */
    bool file_used;
    raft_term last_term;
    /* With payloads kept outside (l->ext), each entry has its own buffer,
     * and these, by entry: */
    uint8_t (*refs)[LOG_EXTERN_REF]; /* the reference, for LOG_FORMAT_EXTERNAL */
    uint8_t *formats;
    raft_index *writes;    /* the first entry of the write that stored it */
};

static int grow_loading(struct loading *ld)
{
    size_t cap = ld->cap ? 2 * ld->cap : 256;
    struct raft_entry *grown = raft_realloc(ld->entries, cap * sizeof(*grown));

    if (grown == NULL)
        return -ENOMEM;
    ld->entries = grown;
    if (ld->l->ext != NULL) {
        ld->refs = vane_realloc(ld->refs, cap * sizeof(*ld->refs));
        ld->formats = vane_realloc(ld->formats, cap);
        ld->writes = vane_realloc(ld->writes, cap * sizeof(*ld->writes));
    }
    ld->cap = cap;
    return 0;
}

/* An entry of a group that keeps payloads: its own buffer, with its head
 * only until load_kept() fetches the rest. */
static int own_entry(struct loading *ld, uint8_t format, const uint8_t *payload, size_t len,
                     struct raft_buffer *buf)
{
    size_t keep = len;

    if (format == LOG_FORMAT_EXTERNAL) {
        keep = len - LOG_EXTERN_REF;
        memcpy(ld->refs[ld->n], payload + keep, LOG_EXTERN_REF);
    }
    if ((buf->base = raft_malloc(keep > 0 ? keep : 1)) == NULL)
        return -ENOMEM;
    memcpy(buf->base, payload, keep);
    buf->len = keep;
    ld->formats[ld->n] = format;
    ld->writes[ld->n] = vane_get_le(payload - LOG_ENTRY_HEADER + 26, 6);
    return 0;
}

static int load_entry(void *arg, raft_index index, raft_term term, unsigned short type,
                      uint8_t format, uint8_t *payload, size_t len)
{
    struct loading *ld = arg;
    struct raft_buffer buf = {payload, len};
    int err;

    (void)index;
    if (ld->n == ld->cap && (err = grow_loading(ld)) != 0)
        return err;
    if (ld->l->ext != NULL && (err = own_entry(ld, format, payload, len, &buf)) != 0)
        return err;
    if (ld->l->ext == NULL && format != LOG_FORMAT_VERSION)
        return VANE_ECORRUPT; /* kept outside, by a group that no longer says where */
    ld->entries[ld->n++] = (struct raft_entry){
        .term = term, .type = type, .buf = buf, .batch = ld->l->ext ? NULL : ld->file};
    ld->file_used = ld->l->ext == NULL;
    ld->last_term = term;
    return 0;
}

/* A log file cut by a crash mid-write: its end goes, as it was never acknowledged. */
static int cut_torn_tail(struct log_io *l, const char *name, const struct log_scan *scan,
                         size_t size)
{
    int fd = openat(l->dirfd, name, O_WRONLY | O_CLOEXEC);
    int err = 0;

    if (fd < 0 || ftruncate(fd, (off_t)scan->valid) != 0 || fdatasync(fd) != 0)
        err = -errno;
    if (fd >= 0)
        close(fd);
    if (err == 0)
        vane_log(LOG_LEVEL_WARN, "raft", "%s/%s: %s at byte %zu: cut %zu bytes never acknowledged",
                 l->dir, name, scan->why, scan->valid, size - scan->valid);
    return err;
}

/* Reads log file i into ld. */
static int load_file(struct log_io *l, size_t i, struct loading *ld, raft_index *next)
{
    bool last = i == l->file_count - 1;
    char name[LOG_NAME_MAX];
    struct log_scan scan;
    size_t size;
    int err;

    log_file_name(name, l->files[i]);
    if (i > 0 && l->files[i] != *next)
        return log_io_fail(l, RAFT_CORRUPT, "%s/%s: starts at entry %llu, but entry %llu is missing",
                    l->dir, name, (unsigned long long)l->files[i], (unsigned long long)*next);
    if ((err = log_read_file(l->dirfd, name, &ld->file, &size)) != 0)
        return log_io_fail(l, log_io_raft_code(err), "%s/%s: %s", l->dir, name, vane_strerror(err));
    ld->file_used = false;
    err = log_scan(ld->file, size, l->files[i], &scan, load_entry, ld);
    if (!ld->file_used)
        raft_free(ld->file);
    if (err != 0)
        return log_io_fail(l, log_io_raft_code(err), "%s/%s: %s", l->dir, name, vane_strerror(err));
    /* Stale bytes may end any file (the next one must go on from its last
     * entry); a torn write only the last. */
    if (scan.end == LOG_END_CORRUPT || (scan.end == LOG_END_TORN && !last))
        return log_io_fail(l, RAFT_CORRUPT, "%s/%s: %s at byte %zu", l->dir, name, scan.why, scan.valid);
    if (scan.end == LOG_END_TORN && (err = cut_torn_tail(l, name, &scan, size)) != 0)
        return log_io_fail(l, log_io_raft_code(err), "%s/%s: cutting a torn tail: %s", l->dir, name,
                    vane_strerror(err));
    *next = scan.last + 1;
    if (last)
        l->tail_size = scan.valid;
    return 0;
}

/* Entries a snapshot overtook: those of a log that an installed snapshot
 * replaced, with a crash before the log files went.  (start is at most
 * s->index + 1, see load_entries.) */
static bool log_behind_snapshot(const struct raft_snapshot *s, raft_index start,
                                const struct loading *ld)
{
    raft_index last = start + ld->n - 1;

    if (s == NULL || ld->n == 0 || start == s->index + 1)
        return false;
    return last < s->index || ld->entries[s->index - start].term != s->term;
}

static void drop_loaded(struct loading *ld)
{
    struct log_io *l = ld->l;

    free_entries(ld->entries, ld->n);
    vane_free(ld->refs);
    vane_free(ld->formats);
    vane_free(ld->writes);
    *ld = (struct loading){.l = l};
}

/* The last file, written on from its last valid entry (load_file). */
static int open_tail(struct log_io *l)
{
    char name[LOG_NAME_MAX];

    if (l->file_count == 0)
        return 0;
    log_file_name(name, l->files[l->file_count - 1]);
    if ((l->tail_fd = openat(l->dirfd, name, O_WRONLY | O_CLOEXEC)) < 0)
        return log_io_fail(l, RAFT_IOERR, "%s/%s: %s", l->dir, name, strerror(errno));
    return 0;
}

static int load_entries(struct log_io *l, const struct raft_snapshot *snapshot,
                        struct loading *ld, raft_index *start)
{
    raft_index next = l->file_count > 0 ? l->files[0] : 0;
    int rv;

    *start = l->file_count > 0 ? l->files[0] : snapshot != NULL ? snapshot->index + 1 : 1;
    if (snapshot != NULL && *start > snapshot->index + 1)
        return log_io_fail(l, RAFT_CORRUPT, "%s: the log starts at entry %llu, after a gap from the "
                    "snapshot at %llu", l->dir, (unsigned long long)*start,
                    (unsigned long long)snapshot->index);
    for (size_t i = 0; i < l->file_count; i++) {
        /* A gap the snapshot covers: a crash brought back a file dropped
         * after it while a later one stayed gone.  The log starts here. */
        if (i > 0 && l->files[i] != next && snapshot != NULL &&
            l->files[i] <= snapshot->index + 1) {
            drop_loaded(ld);
            while (i > 0)
                log_io_remove_file(l, --i);
            *start = next = l->files[0];
        }
        if ((rv = load_file(l, i, ld, &next)) != 0)
            return rv;
    }
    if (log_behind_snapshot(snapshot, *start, ld)) {
        vane_log(LOG_LEVEL_WARN, "raft", "%s: dropping a log the snapshot at %llu replaced",
                 l->dir, (unsigned long long)snapshot->index);
        drop_loaded(ld);
        while (l->file_count > 0)
            log_io_remove_file(l, l->file_count - 1);
        *start = snapshot->index + 1;
    }
    /* No entry at all: only empty files (a crash before a file's first
     * write), and the log goes on after the snapshot. */
    if (ld->n == 0) {
        while (l->file_count > 0)
            log_io_remove_file(l, l->file_count - 1);
        *start = snapshot != NULL ? snapshot->index + 1 : 1;
    }
    l->next_index = *start + ld->n;
    return open_tail(l);
}

/* Drops the first count loaded entries: the log starts after them. */
static void drop_first(struct loading *ld, size_t count, raft_index *start)
{
    struct raft_entry *e = ld->entries;

    for (size_t i = 0; i < count; i++)
        raft_free(e[i].buf.base);
    ld->n -= count;
    memmove(e, e + count, ld->n * sizeof(*e));
    memmove(ld->refs, ld->refs + count, ld->n * sizeof(*ld->refs));
    memmove(ld->formats, ld->formats + count, ld->n);
    memmove(ld->writes, ld->writes + count, ld->n * sizeof(*ld->writes));
    *start += count;
}

/* Drops the loaded entries from position i on, and cuts them from the log. */
static int cut_last_write(struct log_io *l, struct loading *ld, size_t i, raft_index start)
{
    raft_index index = start + i;
    size_t count = ld->n - i;
    int err;

    for (size_t k = i; k < ld->n; k++)
        raft_free(ld->entries[k].buf.base);
    ld->n = i;
    if ((err = log_io_truncate(l, index)) != 0)
        return log_io_fail(l, log_io_raft_code(err), "%s: cutting entry %llu: %s", l->dir,
                           (unsigned long long)index, vane_strerror(err));
    vane_log(LOG_LEVEL_WARN, "raft", "%s: the payload of entry %llu, kept outside the log, is "
             "missing or damaged, in the last write: cut %zu entries never acknowledged",
             l->dir, (unsigned long long)index, count);
    return 0;
}

/* The rest of a loaded entry's payload, from the keeper: its buffer grows to hold it. */
static int fetch_kept(const struct log_extern *ext, raft_index index, struct raft_entry *e,
                      const uint8_t ref[LOG_EXTERN_REF])
{
    size_t len = vane_get64(ref);
    void *grown = raft_realloc(e->buf.base, e->buf.len + len);

    if (grown == NULL)
        return -ENOMEM;
    e->buf.base = grown;
    e->buf.len += len;
    return ext->fetch(ext->data, index, ref, (uint8_t *)grown + e->buf.len - len, len);
}

/*
 * A group that keeps payloads (l->ext) is handed, in order, each loaded
 * entry's kept part to fetch, or each entry after the snapshot that the
 * log holds whole to adopt.  Entries the snapshot covers are not needed:
 * they are dropped unread, and the log starts after the snapshot (their
 * records are the group's state; reading them back would read all of it,
 * as one log file holds the heads of many gigabytes of records).
 * One missing or cut short in the last write was never acknowledged: the
 * log is cut there.  Anything else missing, cut or damaged is damage,
 * which the group reports and stops at; raft gets what fetch could read,
 * zeros after.  Records that could not be read at all (out of memory, of
 * descriptors, a read error) fail the load: neither a cut nor damage is
 * known.
 */
static int load_kept(struct log_io *l, const struct raft_snapshot *snapshot, struct loading *ld,
                     raft_index *start)
{
    const struct log_extern *ext = l->ext;
    raft_index covered = snapshot != NULL ? snapshot->index : 0;
    int err;

    if ((err = ext->load_begin(ext->data, snapshot)) != 0)
        return log_io_fail(l, log_io_raft_code(err), "%s: %s", l->dir, vane_strerror(err));
    if (ld->n > 0 && *start <= covered)
        drop_first(ld, covered - *start + 1 < ld->n ? covered - *start + 1 : ld->n, start);
    for (size_t i = 0; i < ld->n; i++) {
        raft_index index = *start + i;
        struct raft_entry *e = &ld->entries[i];

        if (ld->formats[i] != LOG_FORMAT_EXTERNAL) {
            if (e->type == RAFT_COMMAND && (err = ext->adopt(ext->data, index, e)) != 0)
                return log_io_fail(l, log_io_raft_code(err), "%s: entry %llu: %s", l->dir,
                                   (unsigned long long)index, vane_strerror(err));
            continue;
        }
        if ((err = fetch_kept(ext, index, e, ld->refs[i])) == -ENOMEM)
            return log_io_fail(l, RAFT_NOMEM, "%s: entry %llu: out of memory", l->dir,
                               (unsigned long long)index);
        if (err != 0 && err != VANE_ECORRUPT && err != -ENOENT && err != -ENODATA)
            return log_io_fail(l, log_io_raft_code(err), "%s: entry %llu: %s", l->dir,
                               (unsigned long long)index, vane_strerror(err));
        if (err != 0 && err != VANE_ECORRUPT && ld->writes[i] >= ld->writes[ld->n - 1]) {
            if ((err = cut_last_write(l, ld, i, *start)) != 0)
                return err;
        } else if (err != 0) {
            ext->damaged(ext->data, index, ld->refs[i]);
        }
    }
    if ((err = ext->load_end(ext->data)) != 0)
        return log_io_fail(l, log_io_raft_code(err), "%s: %s", l->dir, vane_strerror(err));
    return 0;
}

int log_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
             struct raft_snapshot **snapshot, raft_index *start_index,
             struct raft_entry *entries[], size_t *n_entries)
{
    struct log_io *l = from_io(io);
    struct loading ld = {.l = l};
    char why[96];
    int rv, err;

    *snapshot = NULL;
    if (l->snapshot_index != 0 &&
        (err = log_snapshot_read(l->dirfd, l->snapshot_index, snapshot, why, sizeof(why))) != 0)
        return log_io_fail(l, log_io_raft_code(err), "%s: snapshot at %llu: %s", l->dir,
                    (unsigned long long)l->snapshot_index, why);
    if ((rv = load_entries(l, *snapshot, &ld, start_index)) != 0 ||
        (l->ext != NULL && (rv = load_kept(l, *snapshot, &ld, start_index)) != 0)) {
        drop_loaded(&ld);
        log_snapshot_free(*snapshot);
        *snapshot = NULL;
        return rv;
    }
    /* A crash between the bootstrap's entry and its term leaves term 0. */
    *term = l->meta.term > ld.last_term ? l->meta.term : ld.last_term;
    *voted_for = l->meta.vote;
    *entries = ld.entries;
    *n_entries = ld.n;
    vane_free(ld.refs);
    vane_free(ld.formats);
    vane_free(ld.writes);
    return 0;
}
