/*
 * delivery_log.c -- the record of stored deliveries (see delivery_log.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "delivery_log.h"

struct delivery_entry {
    uint64_t fp[2]; /* {0, 0}: a free slot */
    int64_t at;
    struct delivery_pos pos;
};

/* Tables start this big and double at half full. */
#define TABLE_MIN 1024
/* A file of fewer lines is never rewritten. */
#define REWRITE_MIN_LINES 1024
#define READ_CHUNK 65536

static int fail(struct strbuf *err, int rc, const char *what, const char *path)
{
    strbuf_appendf(err, "%s %s: %s", what, path, strerror(-rc));
    return rc;
}

/* ---- the table ------------------------------------------------------------------ */

static void fingerprint(const char *id, size_t len, uint64_t fp[2])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)id, len, digest);
    memcpy(fp, digest, 2 * sizeof(uint64_t));
    if (fp[0] == 0 && fp[1] == 0)
        fp[1] = 1; /* {0, 0} marks a free slot */
}

static struct delivery_entry *slot_of(struct delivery_entry *table, size_t cap,
                                      const uint64_t fp[2])
{
    size_t i = (size_t)(fp[0] & (cap - 1));

    while ((table[i].fp[0] != 0 || table[i].fp[1] != 0) &&
           (table[i].fp[0] != fp[0] || table[i].fp[1] != fp[1]))
        i = (i + 1) & (cap - 1);
    return &table[i];
}

static void table_grow(struct delivery_log *log)
{
    size_t cap = log->cap > 0 ? log->cap * 2 : TABLE_MIN;
    struct delivery_entry *table = strbuf_xcalloc(cap, sizeof(*table));

    for (size_t i = 0; i < log->cap; i++)
        if (log->table[i].fp[0] != 0 || log->table[i].fp[1] != 0)
            *slot_of(table, cap, log->table[i].fp) = log->table[i];
    free(log->table);
    log->table = table;
    log->cap = cap;
}

/* Keeps the first position recorded for an id. */
static void table_put(struct delivery_log *log, const uint64_t fp[2], int64_t at,
                      const struct delivery_pos *pos)
{
    struct delivery_entry *e;

    if (2 * (log->count + 1) > log->cap)
        table_grow(log);
    e = slot_of(log->table, log->cap, fp);
    if (e->fp[0] == 0 && e->fp[1] == 0) {
        *e = (struct delivery_entry){{fp[0], fp[1]}, at, *pos};
        log->count++;
    }
}

static void table_clear(struct delivery_log *log)
{
    free(log->table);
    log->table = NULL;
    log->cap = log->count = 0;
    log->lines = 0;
    log->oldest = INT64_MAX;
}

/* ---- lines ---------------------------------------------------------------------- */

bool delivery_log_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > DELIVERY_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (id[i] < '!' || id[i] > '~')
            return false;
    return true;
}

struct line {
    int64_t at;
    struct delivery_pos pos;
    const char *id;
    size_t id_len;
};

/* Reads one line (without its newline); false for a malformed one, which is
 * skipped: the torn end of a write a crash cut short. */
static bool line_parse(const char *text, size_t len, struct line *out)
{
    char buf[64 + DELIVERY_ID_MAX], *end;
    const char *id;

    if (len >= sizeof(buf))
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    errno = 0;
    out->at = strtoll(buf, &end, 10);
    if (*end != ' ')
        return false;
    out->pos.eventlog = strtoull(end + 1, &end, 10);
    if (*end != ' ')
        return false;
    out->pos.offset = strtoull(end + 1, &end, 10);
    if (*end != ' ' || errno != 0)
        return false;
    id = end + 1;
    out->id = text + (id - buf);
    out->id_len = len - (size_t)(id - buf);
    return delivery_log_id_valid(out->id, out->id_len);
}

static void take_line(struct delivery_log *log, const char *text, size_t len)
{
    struct line line;
    uint64_t fp[2];

    log->lines++;
    if (!line_parse(text, len, &line))
        return;
    fingerprint(line.id, line.id_len, fp);
    table_put(log, fp, line.at, &line.pos);
    if (line.at < log->oldest)
        log->oldest = line.at;
}

/* Takes the complete lines of partial, keeping a last one without its newline. */
static void take_lines(struct delivery_log *log)
{
    size_t start = 0;

    for (size_t i = 0; i < log->partial.len; i++)
        if (log->partial.data[i] == '\n') {
            take_line(log, log->partial.data + start, i - start);
            start = i + 1;
        }
    memmove(log->partial.data, log->partial.data + start, log->partial.len - start);
    log->partial.len -= start;
    log->partial.data[log->partial.len] = '\0';
}

/* ---- the file ------------------------------------------------------------------- */

static int open_file(struct delivery_log *log, struct strbuf *err)
{
    struct stat st;

    log->fd = open(log->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log->fd < 0)
        return fail(err, -errno, "cannot open", log->path);
    if (fstat(log->fd, &st) != 0)
        return fail(err, -errno, "cannot stat", log->path);
    log->dev = st.st_dev;
    log->ino = st.st_ino;
    log->read_to = 0;
    strbuf_reset(&log->partial);
    table_clear(log);
    return 0;
}

/* Reopens the file when another instance replaced it, then reads what was appended. */
static int catch_up(struct delivery_log *log, struct strbuf *err)
{
    struct stat st;
    char chunk[READ_CHUNK];
    ssize_t n;
    int rc;

    if (stat(log->path, &st) == 0 && (st.st_dev != log->dev || st.st_ino != log->ino)) {
        close(log->fd);
        if ((rc = open_file(log, err)) != 0)
            return rc;
    }
    while ((n = pread(log->fd, chunk, sizeof(chunk), log->read_to)) > 0) {
        log->read_to += n;
        strbuf_append(&log->partial, chunk, (size_t)n);
        take_lines(log);
    }
    if (n < 0)
        return fail(err, -errno, "cannot read", log->path);
    return 0;
}

/* Copies the newest keep_max live lines of the file to tmp_path; the file is read whole. */
static int write_live_lines(struct delivery_log *log, int out, int64_t since, struct strbuf *err)
{
    struct strbuf all = STRBUF_INIT, kept = STRBUF_INIT;
    char chunk[READ_CHUNK];
    size_t live = 0, skip, start = 0;
    off_t at = 0;
    ssize_t n;
    int rc = 0;

    while ((n = pread(log->fd, chunk, sizeof(chunk), at)) > 0) {
        strbuf_append(&all, chunk, (size_t)n);
        at += n;
    }
    for (int pass = 0; pass < 2 && n == 0; pass++) {
        skip = live > log->keep_max ? live - log->keep_max : 0;
        start = 0;
        for (size_t i = 0; i < all.len; i++) {
            struct line line;

            if (all.data[i] != '\n')
                continue;
            if (line_parse(all.data + start, i - start, &line) && line.at >= since) {
                if (pass == 0)
                    live++;
                else if (skip > 0)
                    skip--;
                else
                    strbuf_append(&kept, all.data + start, i - start + 1);
            }
            start = i + 1;
        }
    }
    if (n < 0)
        rc = fail(err, -errno, "cannot read", log->path);
    else if (kept.len > 0 && write(out, kept.data, kept.len) != (ssize_t)kept.len)
        rc = fail(err, errno != 0 ? -errno : -EIO, "cannot write", log->tmp_path);
    strbuf_free(&all);
    strbuf_free(&kept);
    return rc;
}

/* Flushes the folder holding path, so a rename in it lasts. */
static void sync_folder(const char *path)
{
    char *dir = strbuf_xstrdup(path), *slash = strrchr(dir, '/');
    int fd;

    if (slash != NULL)
        *slash = '\0';
    fd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Replaces the file with its live lines; called under the lock, caught up. */
static int rewrite(struct delivery_log *log, struct strbuf *err)
{
    int64_t since = (int64_t)time(NULL) - (int64_t)log->keep_s;
    int out = open(log->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc;

    if (out < 0)
        return fail(err, -errno, "cannot create", log->tmp_path);
    rc = write_live_lines(log, out, since, err);
    if (rc == 0 && fsync(out) != 0)
        rc = fail(err, -errno, "cannot flush", log->tmp_path);
    close(out);
    if (rc == 0 && rename(log->tmp_path, log->path) != 0)
        rc = fail(err, -errno, "cannot rename to", log->path);
    if (rc != 0) {
        unlink(log->tmp_path);
        return rc;
    }
    sync_folder(log->path);
    close(log->fd);
    rc = open_file(log, err);
    return rc == 0 ? catch_up(log, err) : rc;
}

/* Lines past keep_s are dropped only once the oldest is half as old again,
 * so a steady trickle does not rewrite the file at every delivery. */
static bool needs_rewrite(const struct delivery_log *log)
{
    int64_t since = (int64_t)time(NULL) - (int64_t)(log->keep_s + log->keep_s / 2);

    return log->lines >= REWRITE_MIN_LINES &&
           (log->lines >= 2 * log->keep_max || log->oldest < since);
}

/* ---- the record ------------------------------------------------------------------ */

static int make_folders(const char *dir, struct strbuf *err)
{
    char *path = strbuf_xstrdup(dir);
    int rc = 0;

    for (char *p = path + 1; rc == 0; p++) {
        bool end = *p == '\0';

        if (*p != '/' && !end)
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            rc = fail(err, -errno, "cannot make the folder", path);
        if (end)
            break;
        *p = '/';
    }
    free(path);
    return rc;
}

int delivery_log_open(struct delivery_log *log, const char *dir, uint64_t keep_s,
                      size_t keep_max, struct strbuf *err)
{
    struct strbuf path = STRBUF_INIT;
    int rc;

    *log = (struct delivery_log){.fd = -1, .lock_fd = -1, .keep_s = keep_s,
                                 .keep_max = keep_max > 0 ? keep_max : 1};
    strbuf_appendf(&path, "%s/deliveries", dir);
    log->path = strbuf_detach(&path);
    strbuf_appendf(&path, "%s/deliveries.lock", dir);
    log->lock_path = strbuf_detach(&path);
    strbuf_appendf(&path, "%s/deliveries.new", dir);
    log->tmp_path = strbuf_detach(&path);
    if ((rc = make_folders(dir, err)) != 0)
        return rc;
    log->lock_fd = open(log->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (log->lock_fd < 0)
        return fail(err, -errno, "cannot open", log->lock_path);
    if ((rc = open_file(log, err)) != 0)
        return rc;
    return catch_up(log, err);
}

void delivery_log_close(struct delivery_log *log)
{
    if (log->fd >= 0)
        close(log->fd);
    if (log->lock_fd >= 0)
        close(log->lock_fd);
    free(log->path);
    free(log->lock_path);
    free(log->tmp_path);
    free(log->table);
    strbuf_free(&log->partial);
    *log = (struct delivery_log){.fd = -1, .lock_fd = -1};
}

/* The live entry of fp, or NULL. */
static const struct delivery_entry *lookup(const struct delivery_log *log, const uint64_t fp[2])
{
    const struct delivery_entry *e;

    if (log->cap == 0)
        return NULL;
    e = slot_of(log->table, log->cap, fp);
    if ((e->fp[0] == 0 && e->fp[1] == 0) || e->at < (int64_t)time(NULL) - (int64_t)log->keep_s)
        return NULL;
    return e;
}

int delivery_log_find(struct delivery_log *log, const char *id, struct delivery_pos *pos,
                      struct strbuf *err)
{
    const struct delivery_entry *e;
    uint64_t fp[2];
    int rc = catch_up(log, err);

    if (rc != 0)
        return rc;
    fingerprint(id, strlen(id), fp);
    e = lookup(log, fp);
    if (e == NULL)
        return 0;
    *pos = e->pos;
    return 1;
}

static int append_line(struct delivery_log *log, const char *id, const struct delivery_pos *pos,
                       struct strbuf *err)
{
    struct strbuf line = STRBUF_INIT;
    ssize_t n;
    int rc = 0;

    strbuf_appendf(&line, "%lld %" PRIu64 " %" PRIu64 " %s\n", (long long)time(NULL),
                   pos->eventlog, pos->offset, id);
    n = write(log->fd, line.data, line.len);
    if (n != (ssize_t)line.len)
        rc = fail(err, n < 0 ? -errno : -EIO, "cannot append to", log->path);
    strbuf_free(&line);
    return rc;
}

int delivery_log_add(struct delivery_log *log, const char *id, const struct delivery_pos *pos,
                     struct strbuf *err)
{
    uint64_t fp[2];
    int rc;

    if (!delivery_log_id_valid(id, strlen(id)))
        return -EINVAL;
    if (flock(log->lock_fd, LOCK_EX) != 0)
        return fail(err, -errno, "cannot lock", log->lock_path);
    fingerprint(id, strlen(id), fp);
    rc = catch_up(log, err);
    if (rc == 0 && lookup(log, fp) == NULL)
        rc = append_line(log, id, pos, err);
    if (rc == 0)
        rc = catch_up(log, err);
    if (rc == 0 && needs_rewrite(log))
        rc = rewrite(log, err);
    flock(log->lock_fd, LOCK_UN);
    return rc;
}
