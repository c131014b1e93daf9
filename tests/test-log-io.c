/*
 * test-log-io.c -- broker/raft/log_io.h, the raft_io that keeps raft's log,
 * term, vote and snapshots in Vane's own files, driven through its raft_io
 * methods as raft drives them, on real files in temp directories, over a
 * transport that never connects (one node, like replica.c's local one).
 *
 * Checked: a fresh directory and bootstrap; term and vote across reopens;
 * appends issued back to back (callbacks in order, every byte loaded back);
 * log files rolling; truncation queued behind appends; snapshots with
 * trailing entries and installs (trailing 0), and which files they remove;
 * a torn tail cut at every byte of the last entry; damage before the tail,
 * refused as RAFT_CORRUPT with the file and offset named; log files kept as
 * spares and written over, and the stale bytes they keep after their valid
 * entries (never cut, never warned of); damage inside one write (a torn
 * write) against damage a later write follows (RAFT_CORRUPT); a bootstrap
 * cut by a crash; a gap between log files that the snapshot covers; a
 * directory that raft's own libuv backend wrote (cleanly closed, and as a
 * crash left it), converted when opened; and a real raft with snapshots on
 * top, restarted.
 *
 * The on-disk format is read here with a parser of this file's own, written
 * from the documented format (log_format.h, doc/storage.md "The raft log"),
 * not with log_format.c: the files are checked against the documentation,
 * and damage is crafted from it.
 *
 * Every wait runs the loop until a flag or a deadline (harness_loop_until).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/log.h"
#include "harness.h"
#include "raft/local_transport.h"
#include "raft/log_format.h"
#include "raft/log_io.h"
#include "tap.h"

#define MiB (1024 * 1024)
#define SMALL_FILE_SIZE 4096 /* log files roll past this in most checks */
#define WAIT_MS 20000        /* the longest any one wait may take */
#define HEADER_SIZE 32       /* an entry's header in a log file */
#define FORMAT_VERSION 1
#define NODE_ID 1
#define NODE_ADDRESS "1"

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static uv_loop_t loop;

/* ---- a store: log_io over a directory ------------------------------------------- */

struct store {
    struct raft_uv_transport transport;
    struct raft_io io;
    bool closed;
};

/* What load returned. */
struct loaded {
    raft_term term;
    raft_id vote;
    struct raft_snapshot *snapshot;
    raft_index start_index;
    struct raft_entry *entries;
    size_t n;
};

/* log_io_init, without io.init (raft_init calls that). */
static int store_setup(struct store *s, const char *dir, size_t file_size)
{
    int rv;

    memset(s, 0, sizeof(*s));
    local_transport_init(&s->transport, &loop);
    if ((rv = log_io_init(&s->io, &loop, dir, &s->transport, file_size)) != 0)
        tap_diag("log_io_init %s: %s (%s)", dir, raft_strerror(rv), s->io.errmsg);
    return rv;
}

static void on_store_closed(struct raft_io *io)
{
    container_of(io, struct store, io)->closed = true;
}

/* io.close, run until its callback, then log_io_close. */
static void store_close(struct store *s)
{
    s->closed = false;
    s->io.close(&s->io, on_store_closed);
    if (!harness_loop_until(&loop, &s->closed, WAIT_MS)) {
        ok(false, "io.close calls back within %d ms", WAIT_MS);
        return; /* its memory may still be in use: leaked */
    }
    log_io_close(&s->io);
}

/* store_setup and io.init: ready for load.  A failure is reported as a failing check. */
static int store_open(struct store *s, const char *dir, size_t file_size)
{
    int rv = store_setup(s, dir, file_size);

    if (rv == 0 && (rv = s->io.init(&s->io, NODE_ID, NODE_ADDRESS)) != 0) {
        tap_diag("io.init %s: %s (%s)", dir, raft_strerror(rv), s->io.errmsg);
        store_close(s); /* as replica.c does when raft_init fails (log_io.h) */
    }
    if (rv != 0)
        ok(false, "log_io opens %s", dir);
    return rv;
}

static int store_load(struct store *s, struct loaded *l)
{
    int rv;

    memset(l, 0, sizeof(*l));
    rv = s->io.load(&s->io, &l->term, &l->vote, &l->snapshot, &l->start_index, &l->entries, &l->n);
    if (rv != 0) {
        tap_diag("load: %s (%s)", raft_strerror(rv), s->io.errmsg);
        memset(l, 0, sizeof(*l));
    }
    return rv;
}

/* rv, with s's error message as a diagnostic when it is not 0. */
static int said(int rv, const struct store *s)
{
    if (rv != 0)
        tap_diag("%s (%s)", raft_strerror(rv), s->io.errmsg);
    return rv;
}

/* store_open and store_load; a failing open counts as its error. */
static int store_open_load(struct store *s, const char *dir, size_t file_size, struct loaded *l)
{
    int rv = store_open(s, dir, file_size);

    if (rv != 0) {
        memset(l, 0, sizeof(*l));
        return rv;
    }
    return store_load(s, l);
}

/* Opens dir, loads it and closes it again: what a restart sees. */
static int load_dir(const char *dir, size_t file_size, struct loaded *l)
{
    struct store s;
    int rv = store_open(&s, dir, file_size);

    if (rv != 0) {
        memset(l, 0, sizeof(*l));
        return rv;
    }
    rv = store_load(&s, l);
    store_close(&s);
    return rv;
}

/* ---- freeing what load gives, as raft does --------------------------------------- */

/* (A snapshot goes with log_snapshot_free, which frees it as raft does.)
 * An entry's payload is freed through its batch, each distinct batch once;
 * an entry without a batch owns its payload (raft's log.c does the same). */
static void entries_free(struct raft_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool seen = false;

        if (entries[i].batch == NULL) {
            raft_free(entries[i].buf.base);
            continue;
        }
        for (size_t j = 0; j < i && !seen; j++)
            seen = entries[j].batch == entries[i].batch;
        if (!seen)
            raft_free(entries[i].batch);
    }
    raft_free(entries);
}

static void loaded_free(struct loaded *l)
{
    entries_free(l->entries, l->n);
    log_snapshot_free(l->snapshot);
    memset(l, 0, sizeof(*l));
}

/* ---- the log as it should be ---------------------------------------------------- */

struct model_entry {
    raft_term term;
    unsigned short type;
    size_t len;
    unsigned salt; /* tells apart payloads written at the same index */
};

/* Entries first .. first+n-1. */
struct model {
    raft_index first;
    struct model_entry *e;
    size_t n, cap;
    unsigned next_salt;
};

static void model_init(struct model *m, raft_index first)
{
    memset(m, 0, sizeof(*m));
    m->first = first;
}

static void model_free(struct model *m)
{
    vane_free(m->e);
    memset(m, 0, sizeof(*m));
}

static raft_index model_next(const struct model *m)
{
    return m->first + m->n;
}

static const struct model_entry *model_at(const struct model *m, raft_index index)
{
    return &m->e[index - m->first];
}

static void model_push(struct model *m, raft_term term, unsigned short type, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->e = vane_realloc(m->e, m->cap * sizeof(*m->e));
    }
    m->e[m->n++] = (struct model_entry){.term = term, .type = type, .len = len,
                                        .salt = m->next_salt++};
}

/* Keeps the entries before index. */
static void model_truncate(struct model *m, raft_index index)
{
    if (index < model_next(m))
        m->n = index > m->first ? index - m->first : 0;
}

/* Forgets every entry: the next one is index (an installed snapshot). */
static void model_restart(struct model *m, raft_index index)
{
    m->first = index;
    m->n = 0;
}

static void model_copy(struct model *dst, const struct model *src)
{
    *dst = *src;
    dst->cap = src->n ? src->n : 1;
    dst->e = vane_malloc(dst->cap * sizeof(*dst->e));
    memcpy(dst->e, src->e, src->n * sizeof(*src->e));
}

static uint8_t payload_byte(raft_index index, unsigned salt, size_t k)
{
    return (uint8_t)(index * 131 + salt * 17 + k * 7 + (k >> 8) + 1);
}

static void payload_fill(uint8_t *p, size_t len, raft_index index, unsigned salt)
{
    for (size_t k = 0; k < len; k++)
        p[k] = payload_byte(index, salt, k);
}

/* Whether entry (loaded as index) is what the model holds there; says why not. */
static bool entry_matches(const struct raft_entry *entry, raft_index index,
                          const struct model_entry *want)
{
    const uint8_t *p = entry->buf.base;

    if (entry->term != want->term || entry->type != want->type || entry->buf.len != want->len) {
        tap_diag("entry %" PRIu64 ": got term %" PRIu64 " type %u len %zu, want term %" PRIu64
                 " type %u len %zu",
                 (uint64_t)index, (uint64_t)entry->term, entry->type, entry->buf.len,
                 (uint64_t)want->term, want->type, want->len);
        return false;
    }
    for (size_t k = 0; k < want->len; k++) {
        if (p[k] != payload_byte(index, want->salt, k)) {
            tap_diag("entry %" PRIu64 ": payload byte %zu is 0x%02x, want 0x%02x",
                     (uint64_t)index, k, p[k], payload_byte(index, want->salt, k));
            return false;
        }
    }
    return true;
}

/* Whether l's entries are exactly the model's from index from on (which
 * must be l's start index too); says what differs first. */
static bool entries_match(const struct loaded *l, const struct model *m, raft_index from)
{
    size_t want_n = model_next(m) > from ? (size_t)(model_next(m) - from) : 0;

    if (l->start_index != from) {
        tap_diag("start_index is %" PRIu64 ", want %" PRIu64, (uint64_t)l->start_index,
                 (uint64_t)from);
        return false;
    }
    if (l->n != want_n) {
        tap_diag("%zu entries loaded, want %zu (indexes %" PRIu64 "..%" PRIu64 ")", l->n, want_n,
                 (uint64_t)from, (uint64_t)model_next(m) - 1);
        return false;
    }
    for (size_t i = 0; i < l->n; i++)
        if (!entry_matches(&l->entries[i], from + i, model_at(m, from + i)))
            return false;
    return true;
}

/* ---- appends -------------------------------------------------------------------- */

struct append {
    struct raft_io_append req;
    struct raft_entry *entries;
    unsigned n;
    size_t seq; /* its place among the requests issued */
    int status;
};

/* The appends issued since the last wait. */
static struct {
    struct append **reqs;
    size_t n, cap;
    size_t completed;
    bool all_done;
    bool out_of_order;
} appends;

static void on_append(struct raft_io_append *req, int status)
{
    struct append *a = container_of(req, struct append, req);

    a->status = status;
    if (a->seq != appends.completed)
        appends.out_of_order = true;
    if (++appends.completed == appends.n)
        appends.all_done = true;
}

/* The type an entry at index gets: mostly commands, some barriers. */
static unsigned short type_at(raft_index index)
{
    return index % 5 == 0 ? RAFT_BARRIER : RAFT_COMMAND;
}

/* Issues one append of n entries (payload lengths lens) at the model's next
 * index, without waiting.  Returns whether io.append accepted it. */
static bool append_issue(struct store *s, struct model *m, unsigned n, raft_term term,
                         const size_t *lens)
{
    struct append *a = VANE_NEW(a);
    raft_index index = model_next(m);
    int rv;

    a->entries = vane_calloc(n, sizeof(*a->entries));
    a->n = n;
    for (unsigned i = 0; i < n; i++, index++) {
        struct raft_entry *e = &a->entries[i];

        model_push(m, term, type_at(index), lens[i]);
        e->term = term;
        e->type = type_at(index);
        e->buf.len = lens[i];
        e->buf.base = lens[i] ? vane_malloc(lens[i]) : NULL;
        payload_fill(e->buf.base, lens[i], index, m->e[m->n - 1].salt);
    }
    if (appends.n == appends.cap) {
        appends.cap = appends.cap ? 2 * appends.cap : 64;
        appends.reqs = vane_realloc(appends.reqs, appends.cap * sizeof(*appends.reqs));
    }
    a->seq = appends.n;
    appends.reqs[appends.n++] = a;
    appends.all_done = false;
    if ((rv = s->io.append(&s->io, &a->req, a->entries, n, on_append)) != 0) {
        ok(false, "io.append of %u entries at index %" PRIu64 " is accepted: %s (%s)", n,
           (uint64_t)(index - n), raft_strerror(rv), s->io.errmsg);
        a->status = rv; /* counted as done, so waits end */
        on_append(&a->req, rv);
        return false;
    }
    return true;
}

/* One entry of len bytes. */
static bool append_one(struct store *s, struct model *m, raft_term term, size_t len)
{
    return append_issue(s, m, 1, term, &len);
}

/* Runs the loop until every append issued has called back; whether all
 * did, in the order issued, with status 0 (says what went wrong).  The
 * requests are freed unless some never called back. */
static bool appends_wait(void)
{
    bool done = appends.n == 0 || harness_loop_until(&loop, &appends.all_done, WAIT_MS);
    bool good = done && !appends.out_of_order;

    if (!done)
        tap_diag("%zu of %zu append callbacks fired in %d ms", appends.completed, appends.n,
                 WAIT_MS);
    if (appends.out_of_order)
        tap_diag("append callbacks fired out of order");
    for (size_t i = 0; i < appends.n && done; i++) {
        struct append *a = appends.reqs[i];

        if (a->status != 0) {
            tap_diag("append %zu called back with %s", i, raft_strerror(a->status));
            good = false;
        }
        for (unsigned j = 0; j < a->n; j++)
            vane_free(a->entries[j].buf.base);
        vane_free(a->entries);
        vane_free(a);
    }
    vane_free(appends.reqs);
    memset(&appends, 0, sizeof(appends));
    return good;
}

/* ---- files on disk -------------------------------------------------------------- */

static char *path_in(const char *dir, const char *name)
{
    return vane_asprintf("%s/%s", dir, name);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir starting with prefix, sorted (20-digit indexes sort as
 * they count); NULL-terminated, freed with names_free. */
static char **names_with(const char *dir, const char *prefix, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = vane_calloc(1, sizeof(*names));
    size_t n = 0;

    while (d != NULL && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        names = vane_realloc(names, (n + 2) * sizeof(*names));
        names[n++] = vane_strdup(de->d_name);
        names[n] = NULL;
    }
    if (d != NULL)
        closedir(d);
    qsort(names, n, sizeof(*names), compare_names);
    *count = n;
    return names;
}

static void names_free(char **names)
{
    for (size_t i = 0; names != NULL && names[i] != NULL; i++)
        vane_free(names[i]);
    vane_free(names);
}

static size_t count_with(const char *dir, const char *prefix)
{
    size_t n;

    names_free(names_with(dir, prefix, &n));
    return n;
}

/* All names in dir, space-separated, for diagnostics. */
static char *dir_listing(const char *dir)
{
    size_t n;
    char **names = names_with(dir, "", &n);
    char *text = vane_strdup("");

    for (size_t i = 0; i < n; i++) {
        char *more;

        if (strcmp(names[i], ".") == 0 || strcmp(names[i], "..") == 0)
            continue;
        more = vane_asprintf("%s %s", text, names[i]);
        vane_free(text);
        text = more;
    }
    names_free(names);
    return text;
}

static uint8_t *read_whole(const char *path, size_t *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    uint8_t *bytes = NULL;

    *size = 0;
    if (fd < 0 || fstat(fd, &st) != 0) {
        tap_diag("cannot open %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    bytes = vane_malloc((size_t)st.st_size + 1);
    if (read(fd, bytes, (size_t)st.st_size) != st.st_size) {
        tap_diag("cannot read %s: %s", path, strerror(errno));
        vane_free(bytes);
        bytes = NULL;
    } else {
        *size = (size_t)st.st_size;
    }
    close(fd);
    return bytes;
}

static bool write_whole(const char *path, const uint8_t *bytes, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool good = fd >= 0 && write(fd, bytes, size) == (ssize_t)size;

    if (!good)
        tap_diag("cannot write %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return good;
}

/* Copies every regular file of src into dst (which exists). */
static bool copy_dir(const char *src, const char *dst)
{
    size_t n, size;
    char **names = names_with(src, "", &n);
    bool good = true;

    for (size_t i = 0; i < n && good; i++) {
        char *from = path_in(src, names[i]), *to = path_in(dst, names[i]);
        struct stat st;

        if (stat(from, &st) == 0 && S_ISREG(st.st_mode)) {
            uint8_t *bytes = read_whole(from, &size);

            good = bytes != NULL && write_whole(to, bytes, size);
            vane_free(bytes);
        }
        vane_free(from);
        vane_free(to);
    }
    names_free(names);
    return good;
}

/* A fresh temp dir holding a copy of src. */
static char *dir_copy(const char *src)
{
    char *dst = harness_tempdir();

    if (!copy_dir(src, dst))
        ok(false, "copying %s to %s", src, dst);
    return dst;
}

static bool flip_byte(const char *path, size_t offset)
{
    size_t size;
    uint8_t *bytes = read_whole(path, &size);
    bool good = bytes != NULL && offset < size;

    if (good) {
        bytes[offset] ^= 0xff;
        good = write_whole(path, bytes, size);
    }
    vane_free(bytes);
    return good;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static size_t padded(size_t len)
{
    return (len + 7) & ~(size_t)7;
}

/* One entry of a log file, as the documented format reads. */
struct file_entry {
    size_t offset;
    uint32_t len;
    raft_term term;
    raft_index index;
    uint8_t type;
    raft_index write; /* the first entry of the write that stored it */
};

/* A log file read entry by entry; problem says why the reading stopped
 * before the end of the file (NULL when it did not). */
struct file_scan {
    struct file_entry *e;
    size_t n;
    size_t size;
    char problem[128];
};

/* An entry header's bytes 26..31: the u48 index its write started at. */
static uint64_t le48(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40;
}

/* Why the entry at offset does not read as the format says, or NULL. */
static const char *entry_problem(const uint8_t *b, size_t size, size_t offset)
{
    const uint8_t *h = b + offset;
    uint64_t write;
    uint32_t len;

    if (size - offset < HEADER_SIZE)
        return "a partial header";
    len = le32(h + 4);
    if (h[25] != FORMAT_VERSION)
        return "a format version other than 1";
    write = le48(h + 26);
    if (write == 0 || write > le64(h + 16))
        return "bytes 26..31 not the index of an entry at or before this one";
    if (size - offset - HEADER_SIZE < padded(len))
        return "a partial payload";
    if (le32(h) != vane_crc32c(vane_crc32c(0, h + 4, HEADER_SIZE - 4), h + HEADER_SIZE, len))
        return "a CRC-32C mismatch";
    for (size_t k = len; k < padded(len); k++)
        if (h[HEADER_SIZE + k] != 0)
            return "non-zero padding";
    return NULL;
}

static bool scan_file(const char *path, struct file_scan *sc)
{
    uint8_t *b = read_whole(path, &sc->size);
    size_t offset = 0;

    sc->e = NULL;
    sc->n = 0;
    sc->problem[0] = 0;
    if (b == NULL) {
        snprintf(sc->problem, sizeof(sc->problem), "unreadable");
        return false;
    }
    while (offset < sc->size) {
        const char *why = entry_problem(b, sc->size, offset);

        if (why != NULL) {
            snprintf(sc->problem, sizeof(sc->problem), "%s at byte %zu", why, offset);
            break;
        }
        sc->e = vane_realloc(sc->e, (sc->n + 1) * sizeof(*sc->e));
        sc->e[sc->n++] = (struct file_entry){.offset = offset, .len = le32(b + offset + 4),
                                             .term = le64(b + offset + 8),
                                             .index = le64(b + offset + 16),
                                             .type = b[offset + 24],
                                             .write = le48(b + offset + 26)};
        offset += HEADER_SIZE + padded(le32(b + offset + 4));
    }
    vane_free(b);
    return sc->problem[0] == 0;
}

static void scan_free(struct file_scan *sc)
{
    vane_free(sc->e);
    sc->e = NULL;
}

/* Scans dir/name into sc. */
static bool scan_named(const char *dir, const char *name, struct file_scan *sc)
{
    char *path = path_in(dir, name);
    bool good = scan_file(path, sc);

    vane_free(path);
    return good;
}

static raft_index name_index(const char *name)
{
    const char *digits = strchr(name, '-');

    return digits ? strtoull(digits + 1, NULL, 10) : 0;
}

/* Whether each log-* file of dir reads whole as documented, is named by its
 * first entry's index (20 digits), the files hold the model's entries from
 * the first file's index on contiguously (term, type, length), and every
 * file but the last holds more than file_size bytes (it rolled only then).
 * Says what is wrong first. */
static bool files_match(const char *dir, const struct model *m, size_t file_size)
{
    size_t n;
    char **names = names_with(dir, "log-", &n);
    raft_index next = n ? name_index(names[0]) : 0;
    bool good = true;

    for (size_t i = 0; i < n && good; i++) {
        struct file_scan sc;
        char want_name[64];

        snprintf(want_name, sizeof(want_name), "log-%020" PRIu64, (uint64_t)next);
        if (!scan_named(dir, names[i], &sc)) {
            tap_diag("%s holds %s", names[i], sc.problem);
            good = false;
        } else if (strcmp(names[i], want_name) != 0) {
            tap_diag("%s follows entry %" PRIu64 ": want it named %s", names[i],
                     (uint64_t)next - 1, want_name);
            good = false;
        } else if (i + 1 < n && sc.size <= file_size) {
            tap_diag("%s rolled at %zu bytes, not past %zu", names[i], sc.size, file_size);
            good = false;
        }
        for (size_t k = 0; good && k < sc.n; k++, next++) {
            const struct model_entry *want;

            if (sc.e[k].index != next || next < m->first || next >= model_next(m)) {
                tap_diag("%s: entry %zu holds index %" PRIu64 ", want %" PRIu64
                         " (the model holds %" PRIu64 "..%" PRIu64 ")",
                         names[i], k, (uint64_t)sc.e[k].index, (uint64_t)next,
                         (uint64_t)m->first, (uint64_t)model_next(m) - 1);
                good = false;
                break;
            }
            want = model_at(m, next);
            if (sc.e[k].term != want->term || sc.e[k].type != want->type ||
                sc.e[k].len != want->len) {
                tap_diag("%s: entry %" PRIu64 " has term %" PRIu64 " type %u len %u, want %" PRIu64
                         " %u %zu",
                         names[i], (uint64_t)next, (uint64_t)sc.e[k].term, sc.e[k].type,
                         sc.e[k].len, (uint64_t)want->term, want->type, want->len);
                good = false;
            }
        }
        scan_free(&sc);
    }
    if (good && n == 0 && m->n > 0) {
        tap_diag("no log files, want entries %" PRIu64 "..%" PRIu64, (uint64_t)m->first,
                 (uint64_t)model_next(m) - 1);
        good = false;
    }
    if (good && n > 0 && next != model_next(m)) {
        tap_diag("the log files end at entry %" PRIu64 ", the log at %" PRIu64,
                 (uint64_t)next - 1, (uint64_t)model_next(m) - 1);
        good = false;
    }
    names_free(names);
    return good;
}

/* Whether text holds the decimal number n, not as part of a longer one. */
static bool has_number(const char *text, uint64_t n)
{
    char digits[32];
    size_t len = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, n);

    for (const char *p = strstr(text, digits); p != NULL; p = strstr(p + 1, digits)) {
        bool before = p > text && p[-1] >= '0' && p[-1] <= '9';
        bool after = p[len] >= '0' && p[len] <= '9';

        if (!before && !after)
            return true;
    }
    return false;
}

/* ---- snapshots and configurations ------------------------------------------------ */

static void conf_three(struct raft_configuration *conf)
{
    raft_configuration_init(conf);
    raft_configuration_add(conf, 1, "one:7001", RAFT_VOTER);
    raft_configuration_add(conf, 2, "two:7002", RAFT_STANDBY);
    raft_configuration_add(conf, 3, "three:7003", RAFT_SPARE);
}

static void conf_single(struct raft_configuration *conf)
{
    raft_configuration_init(conf);
    raft_configuration_add(conf, NODE_ID, NODE_ADDRESS, RAFT_VOTER);
}

static bool conf_matches(const struct raft_configuration *got, const struct raft_configuration *want)
{
    if (got->n != want->n) {
        tap_diag("configuration has %u servers, want %u", got->n, want->n);
        return false;
    }
    for (unsigned i = 0; i < got->n; i++) {
        const struct raft_server *g = &got->servers[i], *w = &want->servers[i];

        if (g->id != w->id || g->role != w->role || g->address == NULL ||
            strcmp(g->address, w->address) != 0) {
            tap_diag("server %u is %" PRIu64 " %s role %d, want %" PRIu64 " %s role %d", i,
                     (uint64_t)g->id, g->address ? g->address : "(null)", g->role,
                     (uint64_t)w->id, w->address, w->role);
            return false;
        }
    }
    return true;
}

/* The bytes of conf's encoding before its padding (raft's configuration.c:
 * a version byte, the count, then id, address and NUL, role per server);
 * raft_configuration_encode leaves the padding uninitialised. */
static size_t conf_encoded_len(const struct raft_configuration *conf)
{
    size_t len = 1 + 8;

    for (unsigned i = 0; i < conf->n; i++)
        len += 8 + strlen(conf->servers[i].address) + 1 + 1;
    return len;
}

/* The encoded configuration a bootstrap writes as entry 1. */
static bool change_entry_matches(const struct raft_entry *entry,
                                 const struct raft_configuration *conf)
{
    struct raft_buffer want;
    bool good;

    if (raft_configuration_encode(conf, &want) != 0)
        return false;
    good = entry->type == RAFT_CHANGE && entry->term == 1 && entry->buf.len == want.len &&
           memcmp(entry->buf.base, want.base, conf_encoded_len(conf)) == 0;
    if (!good)
        tap_diag("entry 1: type %u term %" PRIu64 " len %zu, want a RAFT_CHANGE of term 1 with "
                 "the %zu-byte encoded configuration",
                 entry->type, (uint64_t)entry->term, entry->buf.len, want.len);
    raft_free(want.base);
    return good;
}

/* A snapshot to put: a configuration and two data buffers. */
struct test_snapshot {
    struct raft_snapshot s;
    struct raft_buffer bufs[2];
};

static void test_snapshot_make(struct test_snapshot *t, raft_index index, raft_term term,
                               raft_index conf_index, size_t len0, size_t len1)
{
    memset(t, 0, sizeof(*t));
    t->s.index = index;
    t->s.term = term;
    t->s.configuration_index = conf_index;
    conf_three(&t->s.configuration);
    t->bufs[0] = (struct raft_buffer){.base = vane_malloc(len0 ? len0 : 1), .len = len0};
    t->bufs[1] = (struct raft_buffer){.base = vane_malloc(len1 ? len1 : 1), .len = len1};
    payload_fill(t->bufs[0].base, len0, index, 1000);
    payload_fill(t->bufs[1].base, len1, index, 2000);
    t->s.bufs = t->bufs;
    t->s.n_bufs = 2;
}

static void test_snapshot_free(struct test_snapshot *t)
{
    raft_configuration_close(&t->s.configuration);
    vane_free(t->bufs[0].base);
    vane_free(t->bufs[1].base);
}

/* Whether got is want, with its data in one buffer; says what differs. */
static bool snapshot_matches(const struct raft_snapshot *got, const struct test_snapshot *want)
{
    size_t len0 = want->bufs[0].len, len1 = want->bufs[1].len;
    const uint8_t *data;

    if (got == NULL) {
        tap_diag("no snapshot, want the one at index %" PRIu64, (uint64_t)want->s.index);
        return false;
    }
    if (got->index != want->s.index || got->term != want->s.term ||
        got->configuration_index != want->s.configuration_index) {
        tap_diag("snapshot index %" PRIu64 " term %" PRIu64 " configuration_index %" PRIu64
                 ", want %" PRIu64 " %" PRIu64 " %" PRIu64,
                 (uint64_t)got->index, (uint64_t)got->term, (uint64_t)got->configuration_index,
                 (uint64_t)want->s.index, (uint64_t)want->s.term,
                 (uint64_t)want->s.configuration_index);
        return false;
    }
    if (!conf_matches(&got->configuration, &want->s.configuration))
        return false;
    if (got->n_bufs != 1 || got->bufs[0].len != len0 + len1) {
        tap_diag("snapshot data: %u buffers, the first of %zu bytes; want one of %zu",
                 got->n_bufs, got->n_bufs ? got->bufs[0].len : 0, len0 + len1);
        return false;
    }
    data = got->bufs[0].base;
    if (memcmp(data, want->bufs[0].base, len0) != 0 ||
        memcmp(data + len0, want->bufs[1].base, len1) != 0) {
        tap_diag("snapshot data differs from the two buffers put, concatenated");
        return false;
    }
    return true;
}

static struct {
    struct raft_io_snapshot_put put;
    struct raft_io_snapshot_get get;
    bool done;
    int status;
    struct raft_snapshot *got;
} snap;

static void on_snapshot_put(struct raft_io_snapshot_put *req, int status)
{
    (void)req;
    snap.status = status;
    snap.done = true;
}

static void on_snapshot_get(struct raft_io_snapshot_get *req, struct raft_snapshot *snapshot,
                            int status)
{
    (void)req;
    snap.got = snapshot;
    snap.status = status;
    snap.done = true;
}

/* io.snapshot_put, run until its callback; the status (rv if refused, -1
 * if it never called back). */
static int snapshot_put(struct store *s, unsigned trailing, const struct test_snapshot *t)
{
    int rv;

    snap.done = false;
    if ((rv = s->io.snapshot_put(&s->io, trailing, &snap.put, &t->s, on_snapshot_put)) != 0) {
        tap_diag("snapshot_put: %s (%s)", raft_strerror(rv), s->io.errmsg);
        return rv;
    }
    if (!harness_loop_until(&loop, &snap.done, WAIT_MS)) {
        tap_diag("snapshot_put did not call back in %d ms", WAIT_MS);
        return -1;
    }
    if (snap.status != 0)
        tap_diag("snapshot_put called back with %s", raft_strerror(snap.status));
    return snap.status;
}

/* io.snapshot_get, run until its callback; the snapshot or NULL. */
static struct raft_snapshot *snapshot_get(struct store *s)
{
    int rv;

    snap.done = false;
    snap.got = NULL;
    if ((rv = s->io.snapshot_get(&s->io, &snap.get, on_snapshot_get)) != 0) {
        tap_diag("snapshot_get: %s (%s)", raft_strerror(rv), s->io.errmsg);
        return NULL;
    }
    if (!harness_loop_until(&loop, &snap.done, WAIT_MS)) {
        tap_diag("snapshot_get did not call back in %d ms", WAIT_MS);
        return NULL;
    }
    if (snap.status != 0) {
        tap_diag("snapshot_get called back with %s", raft_strerror(snap.status));
        return NULL;
    }
    return snap.got;
}

/* ---- 1. a fresh directory, bootstrap ---------------------------------------------- */

static void test_bootstrap(void)
{
    char *dir = harness_tempdir(), *dir2 = harness_tempdir();
    struct raft_configuration conf;
    struct store s;
    struct loaded l;

    conf_single(&conf);
    if (store_open_load(&s, dir, 0, &l) == 0) {
        ok(l.term == 0 && l.vote == 0 && l.snapshot == NULL && l.start_index == 1 && l.n == 0,
           "fresh dir: load gives term 0, vote 0, no snapshot, start_index 1, no entries "
           "(got term %" PRIu64 " vote %" PRIu64 " snapshot %s start_index %" PRIu64 " %zu entries)",
           (uint64_t)l.term, (uint64_t)l.vote, l.snapshot ? "yes" : "none",
           (uint64_t)l.start_index, l.n);
        loaded_free(&l);
        is_int(said(s.io.bootstrap(&s.io, &conf), &s), 0, "bootstrap with one voter succeeds");
        is_int(s.io.bootstrap(&s.io, &conf), RAFT_CANTBOOTSTRAP,
               "a second bootstrap is refused with RAFT_CANTBOOTSTRAP");
        store_close(&s);
    }
    if (store_open(&s, dir, 0) == 0) {
        is_int(s.io.bootstrap(&s.io, &conf), RAFT_CANTBOOTSTRAP,
               "after a reopen, bootstrap is refused with RAFT_CANTBOOTSTRAP");
        is_int(store_load(&s, &l), 0, "a bootstrapped dir loads");
        ok(l.term == 1 && l.vote == 0 && l.snapshot == NULL && l.start_index == 1 && l.n == 1 &&
               change_entry_matches(&l.entries[0], &conf),
           "after a reopen: term 1, vote 0, one RAFT_CHANGE entry holding the configuration "
           "(got term %" PRIu64 " vote %" PRIu64 ", %zu entries)",
           (uint64_t)l.term, (uint64_t)l.vote, l.n);
        loaded_free(&l);
        store_close(&s);
    }
    /* raft_start's order: bootstrap before load, in one session. */
    if (store_open(&s, dir2, 0) == 0) {
        is_int(said(s.io.bootstrap(&s.io, &conf), &s), 0, "bootstrap before any load succeeds");
        if (store_load(&s, &l) == 0)
            ok(l.term == 1 && l.start_index == 1 && l.n == 1 &&
                   change_entry_matches(&l.entries[0], &conf),
               "load right after bootstrap (raft's order) gives term 1 and the RAFT_CHANGE entry "
               "(got term %" PRIu64 ", %zu entries)",
               (uint64_t)l.term, l.n);
        else
            ok(false, "load right after bootstrap succeeds");
        loaded_free(&l);
        store_close(&s);
    }
    raft_configuration_close(&conf);
    harness_rmtree(dir);
    harness_rmtree(dir2);
}

/* ---- 2. term and vote ------------------------------------------------------------ */

/* Reopens dir; whether load gives term and vote (says what it gave). */
static bool term_vote_are(const char *dir, raft_term term, raft_id vote)
{
    struct loaded l;
    bool good = load_dir(dir, 0, &l) == 0 && l.term == term && l.vote == vote;

    if (!good)
        tap_diag("load gives term %" PRIu64 " vote %" PRIu64 ", want %" PRIu64 " %" PRIu64,
                 (uint64_t)l.term, (uint64_t)l.vote, (uint64_t)term, (uint64_t)vote);
    loaded_free(&l);
    return good;
}

static void test_term_vote(void)
{
    char *dir = harness_tempdir();
    struct store s;
    struct loaded l;

    if (store_open_load(&s, dir, 0, &l) == 0) {
        loaded_free(&l);
        ok(said(s.io.set_term(&s.io, 5), &s) == 0 && said(s.io.set_vote(&s.io, 2), &s) == 0,
           "set_term 5 and set_vote 2 succeed");
        store_close(&s);
    }
    ok(term_vote_are(dir, 5, 2), "term 5 and vote 2 are loaded after a reopen");
    if (store_open_load(&s, dir, 0, &l) == 0) {
        loaded_free(&l);
        is_int(said(s.io.set_term(&s.io, 6), &s), 0, "set_term 6 succeeds");
        store_close(&s);
    }
    ok(term_vote_are(dir, 6, 0), "set_term resets the vote: term 6, vote 0 after a reopen");
    if (store_open_load(&s, dir, 0, &l) == 0) {
        loaded_free(&l);
        ok(said(s.io.set_term(&s.io, 7), &s) == 0 && said(s.io.set_vote(&s.io, 3), &s) == 0 &&
               said(s.io.set_term(&s.io, 8), &s) == 0 && said(s.io.set_vote(&s.io, 1), &s) == 0,
           "set_term 7, set_vote 3, set_term 8, set_vote 1 in a row succeed");
        store_close(&s);
    }
    ok(term_vote_are(dir, 8, 1), "after writes in a row, the last (term 8, vote 1) is loaded");
    ok(count_with(dir, "meta1") == 1 && count_with(dir, "meta2") == 1,
       "the term and vote are in meta1 and meta2");
    harness_rmtree(dir);
}

/* ---- 3. appends back to back ----------------------------------------------------- */

/* The payload lengths the appends cycle through: empty, not multiples of 8, large. */
static const size_t cycle_lens[] = {0, 1, 7, 8, 9, 13, 64, 100, 255, 4096, 4097, 31};
#define N_CYCLE (sizeof(cycle_lens) / sizeof(cycle_lens[0]))

static void test_appends(void)
{
    char *dir = harness_tempdir();
    struct model m;
    struct store s;
    struct loaded l;
    size_t k = 0;

    model_init(&m, 1);
    if (store_open_load(&s, dir, 0, &l) == 0) {
        loaded_free(&l);
        for (unsigned i = 0; i < 50; i++) {
            size_t lens[10];
            unsigned n = 1 + (i * 7) % 10;

            for (unsigned j = 0; j < n; j++)
                lens[j] = cycle_lens[k++ % N_CYCLE];
            if (i == 25)
                lens[n / 2] = MiB;
            append_issue(&s, &m, n, i < 25 ? 1 : 2, lens);
        }
        ok(appends_wait(), "50 appends issued back to back (%zu entries, one of 1 MiB) call "
                           "back in order with status 0",
           m.n);
        store_close(&s);
    }
    ok(load_dir(dir, 0, &l) == 0 && entries_match(&l, &m, 1),
       "after a reopen, load returns exactly the %zu entries appended (term, type, bytes)", m.n);
    loaded_free(&l);
    ok(files_match(dir, &m, LOG_IO_FILE_SIZE), "the log files hold them as documented (headers, "
                                               "CRC-32C, padding, names)");
    model_free(&m);
    harness_rmtree(dir);
}

/* ---- 4. log files rolling -------------------------------------------------------- */

static void test_rolling(void)
{
    char *dir = harness_tempdir();
    struct model m;
    struct store s;
    struct loaded l;
    bool good = true;

    model_init(&m, 1);
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        loaded_free(&l);
        for (unsigned wave = 0; wave < 20; wave++) {
            for (unsigned i = 0; i < 3; i++) {
                size_t lens[6];
                unsigned n = 1 + (wave + i) % 6;

                for (unsigned j = 0; j < n; j++)
                    lens[j] = 50 + (wave * 37 + i * 11 + j * 53) % 350;
                append_issue(&s, &m, n, 1 + wave / 10, lens);
            }
            good = appends_wait() && good;
        }
        ok(good, "20 waves of 3 appends with file_size %d call back in order with status 0",
           SMALL_FILE_SIZE);
        store_close(&s);
    }
    ok(count_with(dir, "log-") >= 3, "the log rolled into several files (%zu log-* files)",
       count_with(dir, "log-"));
    ok(files_match(dir, &m, SMALL_FILE_SIZE),
       "each file is named by its first index, holds whole entries, and rolled past %d bytes",
       SMALL_FILE_SIZE);
    ok(load_dir(dir, SMALL_FILE_SIZE, &l) == 0 && entries_match(&l, &m, 1),
       "load returns all %zu entries across the files", m.n);
    loaded_free(&l);
    model_free(&m);
    harness_rmtree(dir);
}

/* ---- 5. truncate ------------------------------------------------------------------ */

/* n entries of len bytes in appends of per entries each, back to back. */
static void append_run(struct store *s, struct model *m, unsigned n, unsigned per,
                       raft_term term, size_t len)
{
    size_t lens[16];

    for (unsigned j = 0; j < per; j++)
        lens[j] = len + j;
    for (unsigned i = 0; i < n; i += per)
        append_issue(s, m, n - i < per ? n - i : per, term, lens);
}

static void test_truncate(void)
{
    char *dir = harness_tempdir();
    struct model m;
    struct store s;
    struct loaded l;
    int rv;

    model_init(&m, 1);
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        loaded_free(&l);
        append_run(&s, &m, 60, 5, 1, 300);
        rv = said(s.io.truncate(&s.io, 41), &s);
        is_int(rv, 0, "truncate(41), queued behind 60 appended entries, is accepted");
        model_truncate(&m, 41);
        ok(appends_wait(), "the appends before the truncate call back in order with status 0");
        store_close(&s);
    }
    ok(load_dir(dir, SMALL_FILE_SIZE, &l) == 0 && entries_match(&l, &m, 1),
       "after a reopen, load returns entries 1..40 only");
    loaded_free(&l);
    ok(files_match(dir, &m, SMALL_FILE_SIZE), "the log files end with entry 40");
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        loaded_free(&l);
        append_run(&s, &m, 5, 5, 2, 200);
        ok(appends_wait(), "an append after the truncate, at index 41, calls back with status 0");
        append_run(&s, &m, 5, 5, 2, 200);
        is_int(said(s.io.truncate(&s.io, 44), &s), 0, "truncate(44) between appends is accepted");
        model_truncate(&m, 44);
        append_run(&s, &m, 4, 2, 3, 120);
        ok(appends_wait(), "appends at 46..50, then truncate(44), then appends at 44..47, all "
                           "back to back, call back in order with status 0");
        store_close(&s);
    }
    ok(load_dir(dir, SMALL_FILE_SIZE, &l) == 0 && entries_match(&l, &m, 1),
       "after a reopen, load returns 1..40, 41..43 of term 2 and 44..47 of term 3");
    loaded_free(&l);
    ok(files_match(dir, &m, SMALL_FILE_SIZE), "the log files hold exactly those entries");
    model_free(&m);
    harness_rmtree(dir);
}

/* ---- 6. snapshot_put with trailing entries, snapshot_get --------------------------- */

/* The log-* files of dir that a snapshot at index with trailing keeps:
 * those holding an entry after index - trailing. */
static char **files_kept(const char *dir, raft_index last, raft_index index, unsigned trailing,
                         size_t *n_kept)
{
    size_t n;
    char **names = names_with(dir, "log-", &n);
    char **kept = vane_calloc(n + 1, sizeof(*kept));

    *n_kept = 0;
    for (size_t i = 0; i < n; i++) {
        raft_index file_last = i + 1 < n ? name_index(names[i + 1]) - 1 : last;

        if (file_last + trailing > index)
            kept[(*n_kept)++] = vane_strdup(names[i]);
    }
    names_free(names);
    return kept;
}

static bool same_names(char **a, char **b)
{
    size_t i = 0;

    for (; a[i] != NULL && b[i] != NULL; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return a[i] == NULL && b[i] == NULL;
}

static bool only_snapshot_file(const char *dir, raft_index index)
{
    size_t n;
    char **names = names_with(dir, "snap-", &n);
    char want[64];
    bool good;

    snprintf(want, sizeof(want), "snap-%020" PRIu64, (uint64_t)index);
    good = n == 1 && strcmp(names[0], want) == 0;
    if (!good)
        tap_diag("snapshot files: %zu, the first %s; want only %s", n, n ? names[0] : "-", want);
    names_free(names);
    return good;
}

/* Opens dir, puts t with trailing 100 and closes: whether the put called
 * back with status 0.  Puts the log files expected to remain (those with
 * an entry after t's index - 100, the log ending at last) in kept. */
static bool put_session(const char *dir, const struct test_snapshot *t, raft_index last,
                        char ***kept)
{
    struct store s;
    struct loaded l;
    size_t n_kept;
    int rv = -1;

    *kept = files_kept(dir, last, t->s.index, 100, &n_kept);
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        loaded_free(&l);
        rv = snapshot_put(&s, 100, t);
        if (rv == 0) {
            struct raft_snapshot *got = snapshot_get(&s);

            ok(snapshot_matches(got, t), "snapshot_get right after the put at %" PRIu64
                                         " returns it (index, term, configuration, data in one "
                                         "buffer)",
               (uint64_t)t->s.index);
            log_snapshot_free(got);
        }
        store_close(&s);
    }
    return rv == 0;
}

/* Whether dir's log files are exactly kept (says which are there). */
static bool log_files_are(const char *dir, char **kept)
{
    size_t n;
    char **names = names_with(dir, "log-", &n);
    bool good = same_names(names, kept);

    if (!good) {
        char *listing = dir_listing(dir);

        tap_diag("files:%s; want the log files from %s on", listing, kept[0] ? kept[0] : "-");
        vane_free(listing);
    }
    names_free(names);
    return good;
}

/*
 * The removals a put makes may run after its callback (behind appends), so
 * they are checked once the io has closed -- and before a reopen, which
 * would tidy up on its own.
 */
static void test_snapshot_trailing(void)
{
    char *dir = harness_tempdir();
    struct test_snapshot first, second;
    struct model m;
    struct store s;
    struct loaded l;
    char **kept = NULL;
    raft_index keep_from = 0;
    struct raft_snapshot *got;

    model_init(&m, 1);
    test_snapshot_make(&first, 200, 1, 1, 777, 5);
    test_snapshot_make(&second, 250, 2, 1, 1000, 13);
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        loaded_free(&l);
        for (unsigned i = 0; i < 6; i++) {
            append_run(&s, &m, 50, 10, i < 4 ? 1 : 2, 180);
            appends_wait();
        }
        store_close(&s);
    }
    ok(count_with(dir, "log-") >= 4, "300 entries with file_size %d make several files (%zu)",
       SMALL_FILE_SIZE, count_with(dir, "log-"));
    ok(put_session(dir, &first, 300, &kept), "snapshot_put(trailing 100) at index 200 calls "
                                             "back with status 0");
    ok(only_snapshot_file(dir, 200), "once closed, snap-...200 is the only snapshot file");
    ok(log_files_are(dir, kept), "once closed, the log files holding only entries <= 100 are "
                                 "gone, the rest kept");
    names_free(kept);
    ok(put_session(dir, &second, 300, &kept), "snapshot_put(trailing 100) at index 250 calls "
                                              "back with status 0");
    keep_from = kept[0] ? name_index(kept[0]) : 0;
    ok(only_snapshot_file(dir, 250), "once closed, only the newer snap-...250 remains");
    ok(log_files_are(dir, kept), "once closed, the log files holding only entries <= 150 are "
                                 "gone, the rest kept (from %s)",
       kept[0] ? kept[0] : "-");
    if (load_dir(dir, SMALL_FILE_SIZE, &l) == 0) {
        ok(snapshot_matches(l.snapshot, &second), "after a reopen, load returns the snapshot "
                                                  "(index 250, configuration, data)");
        ok(keep_from > 1 && keep_from <= 151 && entries_match(&l, &m, keep_from),
           "load returns the entries from the first kept file (%" PRIu64 ") on, and "
           "start_index is its index",
           (uint64_t)keep_from);
    } else {
        ok(false, "a dir with a snapshot loads");
    }
    loaded_free(&l);
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        got = snapshot_get(&s);
        ok(snapshot_matches(got, &second), "after a reopen, snapshot_get returns the snapshot");
        log_snapshot_free(got);
        loaded_free(&l);
        store_close(&s);
    }
    names_free(kept);
    test_snapshot_free(&first);
    test_snapshot_free(&second);
    model_free(&m);
    harness_rmtree(dir);
}

/* ---- 7. snapshot_put with trailing 0: an install ------------------------------------- */

/* A crash after an install's snapshot was written, before the log files
 * went: stale (the log before the install) gets dir's snapshot file.  Load
 * must give the snapshot and no entries, the log going on after it. */
static void install_crash_case(const char *stale, const char *dir, const struct test_snapshot *t)
{
    char name[64], *from, *to;
    size_t size;
    uint8_t *bytes;
    struct model empty;
    struct loaded l;

    snprintf(name, sizeof(name), "snap-%020" PRIu64, (uint64_t)t->s.index);
    from = path_in(dir, name);
    to = path_in(stale, name);
    bytes = read_whole(from, &size);
    if (bytes != NULL && write_whole(to, bytes, size) && load_dir(stale, SMALL_FILE_SIZE, &l) == 0) {
        model_init(&empty, t->s.index + 1);
        ok(snapshot_matches(l.snapshot, t) && entries_match(&l, &empty, t->s.index + 1),
           "a crash between an install's snapshot and the old log's removal: load gives the "
           "snapshot, start_index %" PRIu64 " and no entries",
           (uint64_t)t->s.index + 1);
        loaded_free(&l);
    } else {
        ok(false, "a dir with an installed snapshot and the old log loads");
    }
    vane_free(bytes);
    vane_free(from);
    vane_free(to);
}

static void test_snapshot_install(void)
{
    char *dir = harness_tempdir(), *stale = NULL;
    struct test_snapshot t;
    struct model m;
    struct store s;
    struct loaded l;

    model_init(&m, 1);
    test_snapshot_make(&t, 100, 5, 90, 3000, 0);
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        loaded_free(&l);
        for (unsigned i = 0; i < 10; i++) {
            append_run(&s, &m, 4, 4, 1, 400);
            appends_wait();
        }
        ok(count_with(dir, "log-") >= 2, "40 entries in 10 appends waited for make several "
                                         "log files (%zu)",
           count_with(dir, "log-"));
        stale = dir_copy(dir);
        is_int(snapshot_put(&s, 0, &t), 0, "snapshot_put(trailing 0) at index 100 calls back "
                                           "with status 0");
        is_int(count_with(dir, "log-"), 0, "an installed snapshot removes every log file");
        model_restart(&m, 101);
        append_run(&s, &m, 2, 1, 5, 33);
        ok(appends_wait(), "appends at 101 and 102 after the install call back with status 0");
        store_close(&s);
    }
    if (load_dir(dir, SMALL_FILE_SIZE, &l) == 0) {
        ok(snapshot_matches(l.snapshot, &t), "after a reopen, load returns the installed "
                                             "snapshot");
        ok(entries_match(&l, &m, 101), "load returns start_index 101 and entries 101, 102");
    } else {
        ok(false, "a dir with an installed snapshot loads");
    }
    loaded_free(&l);
    ok(files_match(dir, &m, SMALL_FILE_SIZE), "entry 101 starts the log file log-...101");
    if (stale != NULL)
        install_crash_case(stale, dir, &t);
    harness_rmtree(stale);
    test_snapshot_free(&t);
    model_free(&m);
    harness_rmtree(dir);
}

/* ---- 8. a torn tail ---------------------------------------------------------------- */

/* Builds in a new dir entries with the payload lengths lens, one append at
 * a time, per_term entries in each term from 1 (0: all in term 1); the
 * model gets them.  *good says whether all went. */
static char *appended_dir(size_t file_size, const size_t *lens, unsigned n, unsigned per_term,
                          struct model *m, bool *good)
{
    char *dir = harness_tempdir();
    struct store s;
    struct loaded l;

    *good = false;
    model_init(m, 1);
    if (store_open_load(&s, dir, file_size, &l) == 0) {
        loaded_free(&l);
        *good = true;
        for (unsigned i = 0; i < n && *good; i++)
            *good = append_one(&s, m, per_term ? 1 + i / per_term : 1, lens[i]) &&
                    appends_wait();
        store_close(&s);
    }
    return dir;
}

/* The torn-tail template: three entries to a term. */
static char *template_dir(size_t file_size, const size_t *lens, unsigned n, struct model *m)
{
    bool good;
    char *dir = appended_dir(file_size, lens, n, 3, m, &good);

    if (!good)
        ok(false, "building a template log in %s", dir);
    return dir;
}

/* Cuts a copy of template's last log file to size cut, then: load gives
 * the entries before the cut one (or all, when only padding was cut), an
 * append continues after them, and a reopen loads that too.  Returns what
 * failed first (NULL: nothing). */
static const char *torn_case(const char *template, const char *last_name, size_t cut,
                             size_t file_size, const struct model *base, raft_index cut_index,
                             bool whole_payload)
{
    char *dir = dir_copy(template), *path = path_in(dir, last_name);
    const char *failed = NULL;
    struct model m;
    struct store s;
    struct loaded l = {0};
    raft_index next;

    model_copy(&m, base);
    if (truncate(path, (off_t)cut) != 0) {
        failed = "truncate(2)";
    } else if (store_open(&s, dir, file_size) != 0) {
        failed = "open";
    } else {
        if (store_load(&s, &l) != 0) {
            failed = "load";
        } else {
            /* A cut in the padding leaves the payload whole: keeping it is no invention. */
            next = whole_payload && l.n == model_next(base) - 1 ? model_next(base) : cut_index;
            model_truncate(&m, next);
            if (!entries_match(&l, &m, 1))
                failed = "the entries loaded";
            loaded_free(&l);
        }
        if (failed == NULL && !(append_one(&s, &m, 9, 19) && appends_wait()))
            failed = "the append after load";
        store_close(&s);
    }
    if (failed == NULL && (load_dir(dir, file_size, &l) != 0 || !entries_match(&l, &m, 1)))
        failed = "the reload after the append";
    loaded_free(&l);
    model_free(&m);
    vane_free(path);
    harness_rmtree(dir);
    return failed;
}

/* Every cut inside the last entry of template's last log file. */
static void torn_tail(const char *what, const size_t *lens, unsigned n, size_t file_size)
{
    struct model base;
    char *template = template_dir(file_size, lens, n, &base);
    size_t n_files, failures = 0, cuts = 0;
    char **names = names_with(template, "log-", &n_files);
    struct file_scan sc = {0};

    if (n_files == 0 || !scan_named(template, names[n_files - 1], &sc) || sc.n == 0) {
        ok(false, "%s: the template's last log file reads as documented (%s)", what,
           n_files ? sc.problem : "no log files");
    } else {
        const struct file_entry *last = &sc.e[sc.n - 1];
        size_t end = last->offset + HEADER_SIZE + padded(last->len);

        tap_diag("%s: %s holds %zu entries; cutting entry %" PRIu64 " at bytes %zu..%zu", what,
                 names[n_files - 1], sc.n, (uint64_t)last->index, last->offset, end - 1);
        for (size_t cut = last->offset; cut < end; cut++, cuts++) {
            bool whole = cut >= last->offset + HEADER_SIZE + last->len;
            const char *failed = torn_case(template, names[n_files - 1], cut, file_size, &base,
                                           last->index, whole);

            if (failed != NULL) {
                failures++;
                tap_diag("%s: cut at byte %zu (%zu into entry %" PRIu64 "): %s failed", what,
                         cut, cut - last->offset, (uint64_t)last->index, failed);
            }
        }
        ok(cuts > 0 && failures == 0,
           "%s: at each of %zu cuts, load returns the entries before the cut one, an append "
           "continues and survives a reopen (%zu failed)",
           what, cuts, failures);
    }
    scan_free(&sc);
    names_free(names);
    model_free(&base);
    harness_rmtree(template);
}

static void test_torn_tail(void)
{
    static const size_t several[] = {13, 0, 64, 7, 21};
    static const size_t rolled[] = {1000, 1000, 1000, 1000, 21};

    torn_tail("last file of 5 entries", several, 5, 0);
    torn_tail("last file holding one entry", rolled, 5, SMALL_FILE_SIZE);
}

/* ---- 9. damage ------------------------------------------------------------------- */

/* Flips the byte at offset into the entry index (in file name) of a copy
 * of template; load must fail with RAFT_CORRUPT naming the file and the
 * entry's offset. */
static void damage_case(const char *template, const char *name, raft_index index,
                        size_t into, const char *what)
{
    char *dir = dir_copy(template), *path = path_in(dir, name);
    struct file_scan sc;
    struct store s;
    struct loaded l;
    size_t offset = 0;
    bool found = false;
    int rv = -1;

    if (scan_named(dir, name, &sc))
        for (size_t i = 0; i < sc.n && !found; i++)
            if ((found = sc.e[i].index == index))
                offset = sc.e[i].offset;
    scan_free(&sc);
    if (!found || !flip_byte(path, offset + into)) {
        ok(false, "%s: entry %" PRIu64 " found in %s and damaged", what, (uint64_t)index, name);
    } else if (store_open(&s, dir, SMALL_FILE_SIZE) == 0) {
        rv = store_load(&s, &l);
        is_int(rv, RAFT_CORRUPT, "%s: load fails with RAFT_CORRUPT", what);
        ok(strstr(s.io.errmsg, name) != NULL && has_number(s.io.errmsg, offset),
           "%s: the error names %s and byte offset %zu (\"%s\")", what, name, offset,
           s.io.errmsg);
        loaded_free(&l);
        store_close(&s);
    }
    vane_free(path);
    harness_rmtree(dir);
}

static void test_damage(void)
{
    size_t lens[12];
    struct model m;
    struct loaded l = {0};
    char *template;
    size_t n;
    char **names;

    for (unsigned i = 0; i < 12; i++)
        lens[i] = 1000;
    template = template_dir(SMALL_FILE_SIZE, lens, 12, &m);
    names = names_with(template, "log-", &n);
    ok(n >= 3 && load_dir(template, SMALL_FILE_SIZE, &l) == 0 && entries_match(&l, &m, 1),
       "the undamaged template (%zu log files) loads whole", n);
    loaded_free(&l);
    if (n >= 3) {
        damage_case(template, names[0], 3, HEADER_SIZE + 10,
                    "a payload byte of entry 3 in the first file");
        damage_case(template, names[1], name_index(names[1]) + 1, 7,
                    "the length's high byte of an entry in a middle file");
        damage_case(template, names[n - 1], name_index(names[n - 1]) + 1, HEADER_SIZE + 500,
                    "a payload byte in the last file's second entry, valid entries after it");
        damage_case(template, names[n - 1], name_index(names[n - 1]) + 1, 9,
                    "the term in the last file's second entry's header, valid entries after it");
    }
    names_free(names);
    model_free(&m);
    harness_rmtree(template);
}

/* ---- 10. recycled log files, stale tails ---------------------------------------- */

/* The broker's log, captured in a file while a step runs. */
struct log_capture {
    char *dir, *path;
    int fd;
};

static void capture_start(struct log_capture *c)
{
    c->dir = harness_tempdir();
    c->path = path_in(c->dir, "log");
    c->fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    vane_log_setup(LOG_LEVEL_INFO, VANE_LOG_TEXT, c->fd >= 0 ? c->fd : 2);
}

/* Ends the capture: the lines logged (each also a diagnostic), freed by the caller. */
static char *capture_end(struct log_capture *c)
{
    char *text, *copy, *line, *rest = NULL;

    vane_log_setup(LOG_LEVEL_INFO, VANE_LOG_TEXT, 2);
    if (c->fd >= 0)
        close(c->fd);
    if ((text = harness_read_file(c->path)) == NULL)
        text = vane_strdup("");
    copy = vane_strdup(text);
    for (line = strtok_r(copy, "\n", &rest); line != NULL; line = strtok_r(NULL, "\n", &rest))
        tap_diag("logged: %s", line);
    vane_free(copy);
    vane_free(c->path);
    harness_rmtree(c->dir);
    return text;
}

/* load_dir, with what the broker logged meanwhile in *logged. */
static int load_dir_logged(const char *dir, size_t file_size, struct loaded *l, char **logged)
{
    struct log_capture c;
    int rv;

    capture_start(&c);
    rv = load_dir(dir, file_size, l);
    *logged = capture_end(&c);
    return rv;
}

static bool file_stat(const char *dir, const char *name, struct stat *st)
{
    char *path = path_in(dir, name);
    bool good = stat(path, st) == 0;

    vane_free(path);
    return good;
}

static size_t file_bytes(const char *dir, const char *name)
{
    struct stat st;

    return file_stat(dir, name, &st) ? (size_t)st.st_size : 0;
}

/* The bytes that dir/name's valid entries take: those reading as
 * documented and going on one by one from the index in its name (a
 * recycled file may hold its earlier use's entries after them).  The
 * file's size in *size. */
static size_t valid_end(const char *dir, const char *name, size_t *size)
{
    struct file_scan sc;
    raft_index next = name_index(name);
    size_t end = 0;

    scan_named(dir, name, &sc);
    for (size_t k = 0; k < sc.n && sc.e[k].index == next; k++, next++)
        end = sc.e[k].offset + HEADER_SIZE + padded(sc.e[k].len);
    *size = sc.size;
    scan_free(&sc);
    return end;
}

/* Whether dir holds at most 2 spare-* files, each a former log file (its
 * entry at byte 0 is the one its name says); says what is wrong. */
static bool spares_fine(const char *dir)
{
    size_t n;
    char **names = names_with(dir, "spare-", &n);
    bool good = n <= 2;

    if (!good) {
        char *listing = dir_listing(dir);

        tap_diag("%zu spare files, want at most 2:%s", n, listing);
        vane_free(listing);
    }
    for (size_t i = 0; i < n && good; i++) {
        struct file_scan sc;

        scan_named(dir, names[i], &sc);
        if (sc.n == 0 || sc.e[0].index != name_index(names[i])) {
            tap_diag("%s starts with %s, want entry %" PRIu64, names[i],
                     sc.n ? "another entry" : "no valid entry", (uint64_t)name_index(names[i]));
            good = false;
        }
        scan_free(&sc);
    }
    names_free(names);
    return good;
}

/* The inode numbers of dir's files starting with prefix, at most max. */
static size_t inodes_with(const char *dir, const char *prefix, ino_t *inodes, size_t max)
{
    size_t n, count = 0;
    char **names = names_with(dir, prefix, &n);
    struct stat st;

    for (size_t i = 0; i < n && count < max; i++)
        if (file_stat(dir, names[i], &st))
            inodes[count++] = st.st_ino;
    names_free(names);
    return count;
}

/* The first log-* file of dir that is one of the inodes, or NULL (freed by the caller). */
static char *log_file_on(const char *dir, const ino_t *inodes, size_t count)
{
    size_t n;
    char **names = names_with(dir, "log-", &n);
    char *found = NULL;
    struct stat st;

    for (size_t i = 0; i < n && found == NULL; i++)
        for (size_t k = 0; k < count && found == NULL; k++)
            if (file_stat(dir, names[i], &st) && st.st_ino == inodes[k])
                found = vane_strdup(names[i]);
    names_free(names);
    return found;
}

#define RECYCLE_ROUNDS 6
#define RECYCLE_APPENDS 12 /* per round, of 2 entries each */
#define RECYCLE_TRAILING 8

/* Payload lengths by round, shrinking: a recycled file's earlier use ran
 * past its new entries, leaving stale bytes after them. */
static const size_t recycle_lens[RECYCLE_ROUNDS] = {1500, 1500, 700, 700, 300, 300};

/* What the rounds of test_recycling found at each check point. */
struct recycling {
    bool steps_ok;     /* every append and put called back with status 0 */
    bool spares_ok;    /* at most 2 spares, each a former log file */
    char *reused;      /* a log file made from a spare (its inode), or NULL */
};

/* One round in s: appends of 2 entries of about len bytes, each waited
 * for, then a snapshot at the last index with trailing 8 (into t). */
static void recycle_round(struct store *s, const char *dir, struct model *m, size_t len,
                          struct test_snapshot *t, struct recycling *r)
{
    ino_t spares[8];
    size_t n_spares = inodes_with(dir, "spare-", spares, 8);
    size_t lens[2] = {len, len + 3};

    for (unsigned i = 0; i < RECYCLE_APPENDS; i++) {
        bool issued = append_issue(s, m, 2, 1, lens);

        r->steps_ok = appends_wait() && issued && r->steps_ok;
        r->spares_ok = spares_fine(dir) && r->spares_ok;
    }
    if (r->reused == NULL)
        r->reused = log_file_on(dir, spares, n_spares);
    test_snapshot_make(t, model_next(m) - 1, 1, 1, 100, 10);
    r->steps_ok = snapshot_put(s, RECYCLE_TRAILING, t) == 0 && r->steps_ok;
    r->spares_ok = spares_fine(dir) && r->spares_ok;
}

/* The log files that a snapshot at last with trailing 8 keeps are those
 * holding an entry after last - 8; whether dir's are (names them). */
static bool kept_after_cutoff(const char *dir, raft_index last)
{
    size_t n;
    char **names = names_with(dir, "log-", &n);
    raft_index cutoff = last - RECYCLE_TRAILING; /* the last entry a file may end with to go */
    bool good = n > 0 && name_index(names[0]) <= cutoff + 1 &&
                (n == 1 || name_index(names[1]) > cutoff + 1);

    if (!good) {
        char *listing = dir_listing(dir);

        tap_diag("files:%s; want the log files from the one holding entry %" PRIu64 " on",
                 listing, (uint64_t)cutoff + 1);
        vane_free(listing);
    }
    names_free(names);
    return good;
}

/* The log-* files of dir holding stale bytes after their valid entries,
 * space-separated (freed by the caller; "" with none). */
static char *files_with_stale_tails(const char *dir)
{
    size_t n, size, valid;
    char **names = names_with(dir, "log-", &n);
    char *text = vane_strdup("");

    for (size_t i = 0; i < n; i++) {
        valid = valid_end(dir, names[i], &size);
        if (valid < size) {
            char *more = vane_asprintf("%s %s(%zu of %zu bytes valid)", text, names[i], valid,
                                       size);

            vane_free(text);
            text = more;
        }
    }
    names_free(names);
    return text;
}

/*
 * A copy of dir, whose last log file is a recycled one with stale bytes
 * after its valid entries: load takes them for bytes never written for
 * this log, returns every entry, cuts nothing and warns of nothing.
 */
static void stale_tail_case(const char *template, const struct model *m, raft_index from,
                            const struct test_snapshot *t)
{
    char *dir = dir_copy(template), *logged = NULL;
    size_t n, size = 0, valid = 0;
    char **names = names_with(dir, "log-", &n);
    struct loaded l;
    int rv;

    if (n > 0)
        valid = valid_end(dir, names[n - 1], &size);
    if (n == 0 || valid >= size) {
        ok(false, "the recycled dir's last log file holds stale bytes after its valid entries "
                  "(%s: %zu of %zu bytes valid)",
           n ? names[n - 1] : "no log file", valid, size);
    } else {
        tap_diag("%s: %zu valid bytes, then %zu stale ones", names[n - 1], valid, size - valid);
        rv = load_dir_logged(dir, SMALL_FILE_SIZE, &l, &logged);
        ok(rv == 0 && snapshot_matches(l.snapshot, t) && entries_match(&l, m, from),
           "stale bytes after the last file's valid entries: load succeeds and returns the "
           "snapshot and entries %" PRIu64 "..%" PRIu64,
           (uint64_t)from, (uint64_t)model_next(m) - 1);
        is_int(file_bytes(dir, names[n - 1]), size, "the last file is not cut (still %zu bytes)",
               size);
        ok(rv == 0 && strstr(logged, "warn") == NULL, "and load logs no warning");
        loaded_free(&l);
    }
    vane_free(logged);
    names_free(names);
    harness_rmtree(dir);
}

/* The index the first log-* file of dir is named by; 0 with none. */
static raft_index first_log_index(const char *dir)
{
    size_t n;
    char **names = names_with(dir, "log-", &n);
    raft_index first = n ? name_index(names[0]) : 0;

    names_free(names);
    return first;
}

/* Adds spares to dir up to 3: copies of its first log file under other names. */
static bool add_third_spare(const char *dir)
{
    size_t n, size;
    char **names = names_with(dir, "log-", &n);
    char *from = n ? path_in(dir, names[0]) : NULL;
    uint8_t *bytes = from ? read_whole(from, &size) : NULL;
    bool good = bytes != NULL;

    for (unsigned k = 0; good && count_with(dir, "spare-") < 3; k++) {
        char name[64], *to;

        snprintf(name, sizeof(name), "spare-%020u", 99990 + k);
        to = path_in(dir, name);
        good = write_whole(to, bytes, size);
        vane_free(to);
    }
    vane_free(bytes);
    vane_free(from);
    names_free(names);
    return good && count_with(dir, "spare-") == 3;
}

/* A copy of template gets a third spare (a copy of one under another
 * name): opening leaves at most 2. */
static void extra_spare_case(const char *template)
{
    char *dir = dir_copy(template);
    struct store s;

    if (!add_third_spare(dir)) {
        ok(false, "spare files are added to a copy of the dir up to 3");
    } else if (store_open(&s, dir, SMALL_FILE_SIZE) == 0) {
        ok(count_with(dir, "spare-") <= 2, "with 3 spare files, opening leaves at most 2 (%zu)",
           count_with(dir, "spare-"));
        store_close(&s);
    }
    harness_rmtree(dir);
}

static void test_recycling(void)
{
    char *dir = harness_tempdir(), *stale;
    struct recycling r = {.steps_ok = true, .spares_ok = true};
    struct test_snapshot t = {0};
    struct model m;
    struct store s;
    struct loaded l;
    raft_index from = 0;

    model_init(&m, 1);
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        loaded_free(&l);
        for (unsigned round = 0; round < RECYCLE_ROUNDS; round++) {
            if (round > 0)
                test_snapshot_free(&t);
            recycle_round(&s, dir, &m, recycle_lens[round], &t, &r);
        }
        store_close(&s);
    }
    ok(r.steps_ok, "%d rounds of %d appends (file_size %d), each with a snapshot_put "
                   "(trailing %d) at its last index, call back with status 0",
       RECYCLE_ROUNDS, RECYCLE_APPENDS, SMALL_FILE_SIZE, RECYCLE_TRAILING);
    ok(r.spares_ok, "after every append and every put, at most 2 spare-* files exist, each "
                    "named by the entry at its byte 0");
    ok(r.reused != NULL, "a new log file is a former spare (%s has a spare's inode)",
       r.reused ? r.reused : "none");
    stale = files_with_stale_tails(dir);
    ok(stale[0] != '\0', "log files were written over: stale bytes follow the valid entries "
                         "of:%s",
       stale);
    ok(kept_after_cutoff(dir, model_next(&m) - 1),
       "once closed, the log files are those holding an entry after %" PRIu64
       " (the last snapshot's index - %d)",
       (uint64_t)(model_next(&m) - 1 - RECYCLE_TRAILING), RECYCLE_TRAILING);
    from = first_log_index(dir);
    stale_tail_case(dir, &m, from, &t);
    extra_spare_case(dir);
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        ok(snapshot_matches(l.snapshot, &t) && entries_match(&l, &m, from),
           "after a reopen, load returns the snapshot and exactly entries %" PRIu64 "..%" PRIu64,
           (uint64_t)from, (uint64_t)model_next(&m) - 1);
        loaded_free(&l);
        r.steps_ok = true;
        r.spares_ok = true;
        for (unsigned i = 0; i < RECYCLE_APPENDS; i++) {
            bool issued = append_issue(&s, &m, 2, 2, (size_t[]){900, 1100});

            r.steps_ok = appends_wait() && issued && r.steps_ok;
            r.spares_ok = spares_fine(dir) && r.spares_ok;
        }
        ok(r.steps_ok && r.spares_ok, "after the reopen, %d appends of 2 entries (several "
                                      "files' worth) call back with status 0, at most 2 spares "
                                      "after each",
           RECYCLE_APPENDS);
        store_close(&s);
    }
    ok(load_dir(dir, SMALL_FILE_SIZE, &l) == 0 && snapshot_matches(l.snapshot, &t) &&
           entries_match(&l, &m, from),
       "reopened again, load returns the snapshot and entries %" PRIu64 "..%" PRIu64,
       (uint64_t)from, (uint64_t)model_next(&m) - 1);
    loaded_free(&l);
    vane_free(stale);
    vane_free(r.reused);
    test_snapshot_free(&t);
    model_free(&m);
    harness_rmtree(dir);
}

/* Issues one append of a single entry of len bytes at term 1 and waits for it. */
static bool append_waited(struct store *s, struct model *m, size_t len)
{
    bool issued = append_one(s, m, 1, len);

    return appends_wait() && issued;
}

/*
 * A recycled log file whose earlier use ran a few stale bytes past its new
 * entries (8 to 32: less than a header, or one): with file_size 4096,
 * entries 1..16 of 1000 bytes make log files of 4128 bytes; a snapshot at
 * 16 (trailing 4) makes log-1 and log-5 spares; then entries 17..19 of
 * 1000 bytes and entry 20 of 1000 - stale bytes fill a spare to 4128 -
 * stale bytes, as log-17.  Unless last, entry 21 rolls into the other
 * spare: log-17 is a file before the last, where only a crash's damage
 * can make load fail, and a clean close made none; it must load, uncut
 * and unwarned.  When last, stale bytes shorter than a header read like a
 * torn header: load must succeed with every entry (cutting them loses
 * nothing).
 */
static void stale_short_case(size_t stale, bool last)
{
    char *dir = harness_tempdir(), *logged = NULL;
    const char *recycled = "log-00000000000000000017";
    const char *where = last ? "the last file" : "a file before the last";
    struct test_snapshot t;
    struct model m;
    struct store s;
    struct loaded l;
    bool good = false;
    size_t size = 0, valid = 0;
    int rv;

    model_init(&m, 1);
    test_snapshot_make(&t, 16, 1, 1, 50, 0);
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        loaded_free(&l);
        good = true;
        for (unsigned i = 0; i < 16 && good; i++)
            good = append_waited(&s, &m, 1000);
        good = good && snapshot_put(&s, 4, &t) == 0 && count_with(dir, "spare-") == 2;
        for (unsigned i = 0; i < 3 && good; i++)
            good = append_waited(&s, &m, 1000);
        good = good && append_waited(&s, &m, 1000 - stale) &&
               (last || append_waited(&s, &m, 1000));
        store_close(&s);
    }
    valid = valid_end(dir, recycled, &size);
    if (!good || count_with(dir, "log-") != (last ? 2 : 3) || valid != 4128 - stale ||
        size != 4128) {
        char *listing = dir_listing(dir);

        ok(false, "%zu stale bytes: building a dir whose %s holds 4128 bytes, %zu valid (%s: "
                  "%zu of %zu valid;%s)",
           stale, recycled, 4128 - stale, good ? "built" : "a step failed", valid, size, listing);
        vane_free(listing);
    } else {
        rv = load_dir_logged(dir, SMALL_FILE_SIZE, &l, &logged);
        ok(rv == 0 && snapshot_matches(l.snapshot, &t) && entries_match(&l, &m, 13),
           "%s recycled with %zu stale bytes after its valid entries: load returns the "
           "snapshot and entries 13..%" PRIu64,
           where, stale, (uint64_t)model_next(&m) - 1);
        if (!last)
            ok(rv == 0 && file_bytes(dir, recycled) == 4128 && strstr(logged, "warn") == NULL,
               "%s, %zu stale bytes: the file is not cut (%zu bytes) and nothing is warned of",
               where, stale, file_bytes(dir, recycled));
        loaded_free(&l);
    }
    vane_free(logged);
    test_snapshot_free(&t);
    model_free(&m);
    harness_rmtree(dir);
}

static void test_stale_short(void)
{
    static const size_t stale[] = {8, 16, 24, 32};

    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        stale_short_case(stale[i], false);
        stale_short_case(stale[i], true);
    }
}

/* ---- 11. damage within one write --------------------------------------------------- */

/* The name of log file first. */
static void log_name(char name[64], raft_index first)
{
    snprintf(name, 64, "log-%020" PRIu64, (uint64_t)first);
}

/* Builds a dir (file_size): entries 1..3 of first_len bytes, one append
 * each; entries 4..8 of 200 bytes, in one append when one_write, else in 5;
 * then after more entries of 200 bytes, one append each; every append
 * waited for.  Whether every step succeeded. */
static bool write_dir(const char *dir, size_t file_size, size_t first_len, bool one_write,
                      unsigned after, struct model *m)
{
    static const size_t five[] = {200, 200, 200, 200, 200};
    struct store s;
    struct loaded l;
    bool good = false;

    model_init(m, 1);
    if (store_open_load(&s, dir, file_size, &l) == 0) {
        loaded_free(&l);
        good = true;
        for (unsigned i = 0; i < 3 && good; i++)
            good = append_waited(&s, m, first_len);
        if (good && one_write) {
            bool issued = append_issue(&s, m, 5, 1, five);

            good = appends_wait() && issued;
        }
        for (unsigned i = 0; i < (one_write ? 0 : 5) + after && good; i++)
            good = append_waited(&s, m, 200);
        store_close(&s);
    }
    return good;
}

/* Whether each entry's header in dir says the write that stored it: the
 * first index of its append (4 for 4..8 when one_write). */
static bool writes_match(const char *dir, bool one_write)
{
    size_t n;
    char **names = names_with(dir, "log-", &n);
    bool good = n > 0;

    for (size_t i = 0; i < n && good; i++) {
        struct file_scan sc;

        good = scan_named(dir, names[i], &sc);
        for (size_t k = 0; k < sc.n && good; k++) {
            raft_index index = sc.e[k].index;
            raft_index want = one_write && index >= 4 && index <= 8 ? 4 : index;

            if (sc.e[k].write != want) {
                tap_diag("%s: entry %" PRIu64 " says write %" PRIu64 ", want %" PRIu64,
                         names[i], (uint64_t)index, (uint64_t)sc.e[k].write, (uint64_t)want);
                good = false;
            }
        }
        scan_free(&sc);
    }
    names_free(names);
    return good;
}

/* The offset of entry index in dir/name; whether it was found. */
static bool entry_offset(const char *dir, const char *name, raft_index index, size_t *offset)
{
    struct file_scan sc;
    bool found = false;

    scan_named(dir, name, &sc);
    for (size_t i = 0; i < sc.n && !found; i++)
        if ((found = sc.e[i].index == index))
            *offset = sc.e[i].offset;
    scan_free(&sc);
    return found;
}

/* After load took the damaged write for a torn one: an append goes on
 * after entry 4 and a reopen loads it. */
static void torn_write_goes_on(struct store *s, const char *dir, size_t file_size,
                               struct model *m, const char *what)
{
    struct loaded l;

    model_truncate(m, 5);
    ok(append_waited(s, m, 77), "%s: an append after the load calls back with status 0", what);
    store_close(s);
    ok(load_dir(dir, file_size, &l) == 0 && entries_match(&l, m, 1),
       "%s: a reopen loads entries 1..4 and the one appended after", what);
    loaded_free(&l);
}

/*
 * Flips a payload byte of entry 5 -- the second of the append of 4..8 --
 * in log-1 of a dir write_dir builds.  want_torn: load takes the write for
 * one a crash cut (nothing of a later write follows the damage), returns
 * entries 1..4, cuts the file at entry 5 and warns naming it; otherwise
 * load fails with RAFT_CORRUPT naming the file and the entry's offset.
 */
static void one_write_case(const char *what, size_t file_size, size_t first_len, bool one_write,
                           unsigned after, bool want_torn)
{
    char *dir = harness_tempdir(), *path, *logged = NULL;
    char name[64];
    struct model m;
    struct store s;
    struct loaded l;
    struct log_capture c;
    size_t offset = 0;
    int rv;

    log_name(name, 1);
    path = path_in(dir, name);
    if (!write_dir(dir, file_size, first_len, one_write, after, &m) ||
        !entry_offset(dir, name, 5, &offset)) {
        ok(false, "%s: building the dir, entry 5 in %s", what, name);
    } else if (ok(writes_match(dir, one_write), "%s: each header's write is the first index of "
                                                "the append that stored it",
                  what) &&
               flip_byte(path, offset + HEADER_SIZE + 10) &&
               store_open(&s, dir, file_size) == 0) {
        capture_start(&c);
        rv = store_load(&s, &l);
        logged = capture_end(&c);
        if (want_torn) {
            model_truncate(&m, 5);
            ok(rv == 0 && entries_match(&l, &m, 1), "%s: load succeeds with entries 1..4", what);
            is_int(file_bytes(dir, name), offset, "%s: %s is cut at entry 5 (byte %zu)", what,
                   name, offset);
            ok(strstr(logged, "warn") != NULL && strstr(logged, name) != NULL &&
                   has_number(logged, offset),
               "%s: load warns naming %s and byte %zu", what, name, offset);
            loaded_free(&l);
            if (rv == 0)
                torn_write_goes_on(&s, dir, file_size, &m, what);
            else
                store_close(&s);
        } else {
            is_int(rv, RAFT_CORRUPT, "%s: load fails with RAFT_CORRUPT", what);
            ok(strstr(s.io.errmsg, name) != NULL && has_number(s.io.errmsg, offset),
               "%s: the error names %s and byte %zu (\"%s\")", what, name, offset, s.io.errmsg);
            loaded_free(&l);
            store_close(&s);
        }
    }
    vane_free(logged);
    vane_free(path);
    model_free(&m);
    harness_rmtree(dir);
}

static void test_one_write(void)
{
    one_write_case("one append of 4..8 last in the last file, entry 5 damaged", 0, 100, true, 0,
                   true);
    one_write_case("5 appends of one entry (4..8), entry 5 damaged", 0, 100, false, 0, false);
    one_write_case("one append of 4..8, then an append of 9, entry 5 damaged", 0, 100, true, 1,
                   false);
    one_write_case("one append of 4..8 in a file that is not the last, entry 5 damaged",
                   SMALL_FILE_SIZE, 1000, true, 1, false);
}

/* ---- 12. a bootstrap cut by a crash ------------------------------------------------- */

/* Opens dir, bootstraps (rv in *bootstrap_rv), loads: whether load gives
 * term 1, vote 0, no snapshot and exactly the configuration entry. */
static bool bootstrap_then_load(const char *dir, const struct raft_configuration *conf,
                                int *bootstrap_rv)
{
    struct store s;
    struct loaded l;
    bool good = false;

    *bootstrap_rv = -1;
    if (store_open(&s, dir, 0) != 0)
        return false;
    *bootstrap_rv = said(s.io.bootstrap(&s.io, conf), &s);
    if (store_load(&s, &l) == 0) {
        good = l.term == 1 && l.vote == 0 && l.snapshot == NULL && l.start_index == 1 &&
               l.n == 1 && change_entry_matches(&l.entries[0], conf);
        if (!good)
            tap_diag("load gives term %" PRIu64 " vote %" PRIu64 " snapshot %s start_index %" PRIu64
                     ", %zu entries",
                     (uint64_t)l.term, (uint64_t)l.vote, l.snapshot ? "yes" : "none",
                     (uint64_t)l.start_index, l.n);
    }
    loaded_free(&l);
    store_close(&s);
    return good;
}

/* A bootstrapped dir, then what a crash during the bootstrap would have left. */
static char *bootstrapped_dir(const struct raft_configuration *conf, off_t first_file_size)
{
    char *dir = harness_tempdir(), *first = path_in(dir, "log-00000000000000000001");
    char *meta1 = path_in(dir, "meta1"), *meta2 = path_in(dir, "meta2");
    int bootstrap_rv;

    if (!bootstrap_then_load(dir, conf, &bootstrap_rv) || bootstrap_rv != 0 ||
        (first_file_size >= 0 && truncate(first, first_file_size) != 0) ||
        unlink(meta1) != 0 || (unlink(meta2) != 0 && errno != ENOENT))
        ok(false, "bootstrapping %s and undoing part of it (%s)", dir, strerror(errno));
    vane_free(first);
    vane_free(meta1);
    vane_free(meta2);
    return dir;
}

static void test_cut_bootstrap(void)
{
    struct raft_configuration conf;
    char *dir;
    bool good;
    int rv;

    conf_single(&conf);
    /* A crash after log-1 was created, before its entry or the term were written. */
    dir = bootstrapped_dir(&conf, 0);
    good = bootstrap_then_load(dir, &conf, &rv);
    ok(good && rv == 0,
       "an empty log-1 and no meta file: a reopen's bootstrap succeeds (got %d) and load gives "
       "term 1 and the configuration entry",
       rv);
    good = bootstrap_then_load(dir, &conf, &rv);
    ok(good && rv == RAFT_CANTBOOTSTRAP,
       "reopened again: bootstrap is refused (got %d), load gives the same", rv);
    harness_rmtree(dir);
    /* A crash after the entry was durable, before the term. */
    dir = bootstrapped_dir(&conf, -1);
    good = bootstrap_then_load(dir, &conf, &rv);
    ok(good && (rv == 0 || rv == RAFT_CANTBOOTSTRAP),
       "log-1 whole and no meta file: a reopen's bootstrap gives 0 or RAFT_CANTBOOTSTRAP (got "
       "%d), then load gives term 1 and the configuration entry",
       rv);
    harness_rmtree(dir);
    raft_configuration_close(&conf);
}

/* ---- 13. a gap between log files that the snapshot covers ---------------------------- */

/* With file_size 4096, entries 1..12 of 1000 bytes, one append each: log-1,
 * log-5 and log-9 of 4 entries each; NULL unless so. */
static char *three_files_dir(struct model *m)
{
    static const size_t lens[12] = {1000, 1000, 1000, 1000, 1000, 1000,
                                    1000, 1000, 1000, 1000, 1000, 1000};
    bool good;
    char *dir = appended_dir(SMALL_FILE_SIZE, lens, 12, 0, m, &good);

    if (!good || first_log_index(dir) != 1 || count_with(dir, "log-00000000000000000005") != 1 ||
        count_with(dir, "log-00000000000000000009") != 1 || count_with(dir, "log-") != 3) {
        char *listing = dir_listing(dir);

        ok(false, "12 entries of 1000 bytes make log-1, log-5 and log-9 (%s)", listing);
        vane_free(listing);
        harness_rmtree(dir);
        return NULL;
    }
    return dir;
}

/*
 * A copy of template gets a snapshot at index (trailing 1000: no file
 * goes), then loses log-5 (as a crash can leave it when log-5 and log-1
 * were dropped after the snapshot, and log-1 came back).  covered (the
 * snapshot reaches past log-5's entries, index >= 8): load starts at
 * log-9 with the snapshot, and an append and a reopen go on from there.
 * Otherwise entries would be lost: RAFT_CORRUPT naming log-9.
 */
static void gap_case(const char *template, const struct model *base, raft_index index,
                     bool covered)
{
    char *dir = dir_copy(template), *b = path_in(dir, "log-00000000000000000005");
    struct test_snapshot t;
    struct model m;
    struct store s;
    struct loaded l;
    bool put = false;
    int rv;

    model_copy(&m, base);
    test_snapshot_make(&t, index, 1, 1, 64, 8);
    if (store_open_load(&s, dir, SMALL_FILE_SIZE, &l) == 0) {
        loaded_free(&l);
        put = snapshot_put(&s, 1000, &t) == 0;
        store_close(&s);
    }
    if (!put || count_with(dir, "log-") != 3 || unlink(b) != 0) {
        ok(false, "snapshot at %" PRIu64 " (trailing 1000) keeps log-1, -5, -9; log-5 removed",
           (uint64_t)index);
    } else if (store_open(&s, dir, SMALL_FILE_SIZE) == 0) {
        rv = store_load(&s, &l);
        if (covered) {
            ok(rv == 0 && snapshot_matches(l.snapshot, &t) && entries_match(&l, &m, 9),
               "log-5 gone, the snapshot at %" PRIu64 " past it: load gives the snapshot, "
               "start_index 9 and entries 9..12",
               (uint64_t)index);
            loaded_free(&l);
            ok(rv == 0 && append_waited(&s, &m, 50),
               "snapshot at %" PRIu64 ": an append at 13 after the load calls back with "
               "status 0", (uint64_t)index);
            store_close(&s);
            ok(load_dir(dir, SMALL_FILE_SIZE, &l) == 0 && entries_match(&l, &m, 9),
               "snapshot at %" PRIu64 ": a reopen loads entries 9..13", (uint64_t)index);
        } else {
            is_int(rv, RAFT_CORRUPT, "log-5 gone, the snapshot at %" PRIu64 " short of its "
                                     "entries: load fails with RAFT_CORRUPT",
                   (uint64_t)index);
            ok(strstr(s.io.errmsg, "log-00000000000000000009") != NULL,
               "snapshot at %" PRIu64 ": the error names log-9 (\"%s\")", (uint64_t)index,
               s.io.errmsg);
            store_close(&s);
        }
        loaded_free(&l);
    }
    test_snapshot_free(&t);
    model_free(&m);
    vane_free(b);
    harness_rmtree(dir);
}

static void test_snapshot_gap(void)
{
    struct model m;
    char *template = three_files_dir(&m);

    if (template != NULL) {
        gap_case(template, &m, 10, true);
        gap_case(template, &m, 8, true);
        gap_case(template, &m, 6, false);
        harness_rmtree(template);
    }
    model_free(&m);
}

/* ---- 14. a directory raft's libuv backend wrote ------------------------------------ */

static bool raft_uv_closed;

static void on_raft_uv_closed(struct raft_io *io)
{
    (void)io;
    raft_uv_closed = true;
}

struct raft_uv_append {
    struct raft_io_append req;
    int status;
    bool done;
};

static void on_raft_uv_append(struct raft_io_append *req, int status)
{
    struct raft_uv_append *a = container_of(req, struct raft_uv_append, req);

    a->status = status;
    a->done = true;
}

/* raft_uv takes payloads of whole 8-byte words only (uv_segment.c asserts it). */
#define RAFT_UV_LEN(i) (16 + 8 * (size_t)(i))

/* Writes an old-format dir with plain raft_uv: bootstrap, term 3, and
 * unless n_more is 0, entries 2..1+n_more (term 3); crash_copy, if given,
 * gets a copy of the dir taken while raft_uv is still open (as a kill
 * would leave it: open segments holding entries). */
static bool raft_uv_write(const char *dir, const struct raft_configuration *conf,
                          unsigned n_more, const char *crash_copy)
{
    struct raft_uv_transport transport;
    struct raft_io uv;
    struct raft_entry entries[8];
    struct raft_uv_append append = {.status = -1};
    int rv;
    bool good = false;

    local_transport_init(&transport, &loop);
    if ((rv = raft_uv_init(&uv, &loop, dir, &transport)) != 0)
        return false;
    if ((rv = uv.init(&uv, NODE_ID, NODE_ADDRESS)) != 0) {
        tap_diag("raft_uv init: %s", uv.errmsg);
        raft_uv_close(&uv);
        return false;
    }
    good = uv.bootstrap(&uv, conf) == 0 && uv.set_term(&uv, 3) == 0;
    if (good && n_more > 0) {
        struct loaded l;

        memset(&l, 0, sizeof(l));
        good = uv.load(&uv, &l.term, &l.vote, &l.snapshot, &l.start_index, &l.entries, &l.n) == 0;
        loaded_free(&l);
        for (unsigned i = 0; i < n_more; i++) {
            size_t len = RAFT_UV_LEN(i);

            entries[i] = (struct raft_entry){.term = 3, .type = RAFT_COMMAND,
                                             .buf = {.base = vane_malloc(len), .len = len}};
            payload_fill(entries[i].buf.base, len, 2 + i, 0);
        }
        good = good && uv.append(&uv, &append.req, entries, n_more, on_raft_uv_append) == 0 &&
               harness_loop_until(&loop, &append.done, WAIT_MS) && append.status == 0;
        if (good && crash_copy != NULL)
            good = copy_dir(dir, crash_copy);
        for (unsigned i = 0; i < n_more; i++)
            vane_free(entries[i].buf.base);
    }
    if (!good)
        tap_diag("writing with raft_uv in %s: %s", dir, uv.errmsg);
    raft_uv_closed = false;
    uv.close(&uv, on_raft_uv_closed);
    if (!harness_loop_until(&loop, &raft_uv_closed, WAIT_MS))
        return false;
    raft_uv_close(&uv);
    return good;
}

/* Whether dir still holds a file of raft_uv's format (names it). */
static bool has_raft_uv_files(const char *dir)
{
    size_t n;
    char **names = names_with(dir, "", &n);
    bool found = false;

    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        unsigned long long a, b;
        int end = 0;
        bool segment = sscanf(name, "%16llu-%16llu%n", &a, &b, &end) == 2 &&
                       name[end] == 0 && strlen(name) == 33;

        if (segment || strncmp(name, "metadata", 8) == 0 || strncmp(name, "open-", 5) == 0 ||
            strncmp(name, "snapshot-", 9) == 0) {
            tap_diag("%s is still in %s", name, dir);
            found = true;
        }
    }
    names_free(names);
    return found;
}

/* Whether l holds the bootstrap entry (conf) and then m's entries from 2
 * on, from start index 1 (m's entry 1 stands for the bootstrap entry). */
static bool converted_entries_match(const struct loaded *l, const struct model *m,
                                    const struct raft_configuration *conf)
{
    if (l->start_index != 1 || l->n != m->n) {
        tap_diag("start_index %" PRIu64 ", %zu entries; want 1, %zu", (uint64_t)l->start_index,
                 l->n, m->n);
        return false;
    }
    if (!change_entry_matches(&l->entries[0], conf))
        return false;
    for (size_t i = 1; i < l->n; i++)
        if (!entry_matches(&l->entries[i], 1 + i, model_at(m, 1 + i)))
            return false;
    return true;
}

/* log_io converts dir: term 3 and the entries in m (the bootstrap entry
 * first), the old files gone, and the same after another reopen. */
static void convert_case(const char *what, const char *dir, const struct model *m,
                         const struct raft_configuration *conf)
{
    struct loaded l;
    char *before = dir_listing(dir);
    bool good;

    tap_diag("%s before conversion:%s", what, before);
    vane_free(before);
    good = load_dir(dir, 0, &l) == 0;
    ok(good && l.term == 3 && l.vote == 0 && converted_entries_match(&l, m, conf),
       "%s: log_io loads term 3, the bootstrap entry and the %zu entries after it (got term "
       "%" PRIu64 ", %zu entries)",
       what, m->n - 1, (uint64_t)l.term, l.n);
    loaded_free(&l);
    ok(good && !has_raft_uv_files(dir), "%s: raft_uv's files are gone after the first load",
       what);
    ok(load_dir(dir, 0, &l) == 0 && l.term == 3 && converted_entries_match(&l, m, conf),
       "%s: a reopen loads the same", what);
    loaded_free(&l);
    ok(!has_raft_uv_files(dir), "%s: still no raft_uv files after the reopen", what);
}

/* Flips the last byte of dir's first closed raft_uv segment: its data's checksum fails. */
static bool raft_uv_damage(const char *dir)
{
    size_t n;
    char **names = names_with(dir, "0000", &n);
    char *path = n > 0 ? path_in(dir, names[0]) : NULL;
    struct stat st;
    bool good = path != NULL && stat(path, &st) == 0 && st.st_size > 0 &&
                flip_byte(path, (size_t)st.st_size - 1);

    vane_free(path);
    names_free(names);
    return good;
}

/* A conversion that fails fails io.init; io.close then closes what raft's
 * backend had started by then (its timer, the transport) before
 * log_io_close frees the io: the loop closes clean at the end (main). */
static void test_raft_uv_bad(const struct raft_configuration *conf)
{
    char *dir = harness_tempdir();
    struct store s;
    int rv = -1;

    if (!raft_uv_write(dir, conf, 3, NULL) || !raft_uv_damage(dir)) {
        ok(false, "raft_uv writes a dir with 3 entries, and a byte of its data is flipped");
    } else if (store_setup(&s, dir, 0) == 0) {
        rv = s.io.init(&s.io, NODE_ID, NODE_ADDRESS);
        ok(rv != 0 && strstr(s.io.errmsg, "convert") != NULL,
           "a raft_uv dir with a bad checksum: io.init fails and says the conversion did (%s)",
           s.io.errmsg);
        store_close(&s);
    }
    ok(has_raft_uv_files(dir), "the raft_uv files stay as they were");
    harness_rmtree(dir);
}

static void test_raft_uv_dir(void)
{
    char *plain = harness_tempdir(), *more = harness_tempdir(), *crashed = harness_tempdir();
    struct raft_configuration conf;
    struct model m;

    conf_single(&conf);
    model_init(&m, 1);
    model_push(&m, 1, RAFT_CHANGE, 0); /* the bootstrap entry: change_entry_matches checks it */
    if (raft_uv_write(plain, &conf, 0, NULL))
        convert_case("raft_uv dir (bootstrap, set_term 3)", plain, &m, &conf);
    else
        ok(false, "raft_uv writes a dir (bootstrap, set_term 3)");
    if (raft_uv_write(more, &conf, 3, crashed)) {
        struct model m3;

        model_copy(&m3, &m);
        for (unsigned i = 0; i < 3; i++) {
            model_push(&m3, 3, RAFT_COMMAND, RAFT_UV_LEN(i));
            m3.e[m3.n - 1].salt = 0; /* as raft_uv_write fills them */
        }
        convert_case("raft_uv dir closed after 3 appends", more, &m3, &conf);
        convert_case("raft_uv dir as a crash left it (open segments)", crashed, &m3, &conf);
        model_free(&m3);
    } else {
        ok(false, "raft_uv writes a dir with 3 appended entries");
    }
    test_raft_uv_bad(&conf);
    model_free(&m);
    raft_configuration_close(&conf);
    harness_rmtree(plain);
    harness_rmtree(more);
    harness_rmtree(crashed);
}

/* ---- 15. a real raft on top -------------------------------------------------------- */

#define RAFT_APPLIES 2000
#define APPLY_WINDOW 50

/* The state machine: a count of commands applied. */
struct counter {
    uint64_t count;
    uint64_t restored; /* the count the last restore set */
    bool did_restore;
};

static int counter_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    (void)buf;
    ((struct counter *)fsm->data)->count++;
    *result = NULL;
    return 0;
}

static int counter_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    uint64_t *count = raft_malloc(sizeof(*count));

    *count = ((struct counter *)fsm->data)->count;
    *bufs = raft_malloc(sizeof(**bufs));
    (*bufs)[0] = (struct raft_buffer){.base = count, .len = sizeof(*count)};
    *n_bufs = 1;
    return 0;
}

static int counter_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct counter *c = fsm->data;

    if (buf->len != sizeof(uint64_t))
        return RAFT_CORRUPT;
    memcpy(&c->count, buf->base, sizeof(c->count));
    c->restored = c->count;
    c->did_restore = true;
    raft_free(buf->base);
    return 0;
}

struct raft_run {
    struct store store;
    struct raft raft;
    struct raft_fsm fsm;
    struct counter counter;
    struct raft_apply *applies;
    size_t applied, failed, target;
    bool window_done;
    bool barrier_done;
    int barrier_status;
    bool initialized; /* raft_init succeeded: raft_close ends it */
    bool closed;
};

static void on_apply(struct raft_apply *req, int status, void *result)
{
    struct raft_run *r = req->data;

    (void)result;
    if (status != 0 && r->failed++ == 0)
        tap_diag("an apply called back with %s", raft_strerror(status));
    if (++r->applied == r->target)
        r->window_done = true;
}

static void on_barrier(struct raft_barrier *req, int status)
{
    struct raft_run *r = req->data;

    r->barrier_status = status;
    r->barrier_done = true;
}

static void on_raft_closed(struct raft *raft)
{
    container_of(raft, struct raft_run, raft)->closed = true;
}

/* raft_init, raft_bootstrap (rv in *bootstrap_rv), raft_start over dir. */
static bool raft_run_start(struct raft_run *r, const char *dir, int *bootstrap_rv)
{
    struct raft_configuration conf;
    int rv;

    memset(r, 0, sizeof(*r));
    r->fsm = (struct raft_fsm){.version = 1, .data = &r->counter, .apply = counter_apply,
                               .snapshot = counter_snapshot, .restore = counter_restore};
    if (store_setup(&r->store, dir, SMALL_FILE_SIZE) != 0)
        return false;
    if ((rv = raft_init(&r->raft, &r->store.io, &r->fsm, NODE_ID, NODE_ADDRESS)) != 0) {
        tap_diag("raft_init: %s (%s)", raft_strerror(rv), r->store.io.errmsg);
        store_close(&r->store);
        return false;
    }
    r->initialized = true;
    raft_set_snapshot_threshold(&r->raft, 64);
    raft_set_snapshot_trailing(&r->raft, 16);
    conf_single(&conf);
    *bootstrap_rv = raft_bootstrap(&r->raft, &conf);
    raft_configuration_close(&conf);
    if ((rv = raft_start(&r->raft)) != 0) {
        tap_diag("raft_start: %s (%s)", raft_strerror(rv), raft_errmsg(&r->raft));
        return false; /* closed by raft_run_close */
    }
    return true;
}

static void raft_run_close(struct raft_run *r)
{
    if (!r->initialized)
        return;
    r->closed = false;
    raft_close(&r->raft, on_raft_closed);
    if (!harness_loop_until(&loop, &r->closed, WAIT_MS)) {
        ok(false, "raft_close calls back within %d ms", WAIT_MS);
        return;
    }
    log_io_close(&r->store.io);
    vane_free(r->applies);
}

/* Applies RAFT_APPLIES commands, APPLY_WINDOW in flight at a time. */
static bool raft_run_applies(struct raft_run *r)
{
    r->applies = vane_calloc(RAFT_APPLIES, sizeof(*r->applies));
    for (size_t next = 0; next < RAFT_APPLIES && r->failed == 0;) {
        r->target = next + APPLY_WINDOW < RAFT_APPLIES ? next + APPLY_WINDOW : RAFT_APPLIES;
        r->window_done = false;
        for (; next < r->target; next++) {
            struct raft_buffer buf = {.base = raft_malloc(8), .len = 8};
            int rv;

            memcpy(buf.base, &next, sizeof(uint64_t));
            r->applies[next].data = r;
            if ((rv = raft_apply(&r->raft, &r->applies[next], &buf, 1, on_apply)) != 0) {
                tap_diag("raft_apply %zu: %s (%s)", next, raft_strerror(rv),
                         raft_errmsg(&r->raft));
                raft_free(buf.base);
                return false;
            }
        }
        if (!harness_loop_until(&loop, &r->window_done, WAIT_MS)) {
            tap_diag("%zu of %zu applies called back", r->applied, r->target);
            return false;
        }
    }
    return r->failed == 0;
}

static void test_raft(void)
{
    char *dir = harness_tempdir();
    struct raft_run r;
    struct raft_barrier barrier;
    int bootstrap_rv = -1;

    if (raft_run_start(&r, dir, &bootstrap_rv)) {
        is_int(bootstrap_rv, 0, "raft_bootstrap on log_io succeeds");
        is_int(raft_state(&r.raft), RAFT_LEADER, "raft_start: the single voter leads");
        ok(raft_run_applies(&r), "%d raft_apply calls (%d in flight) call back with status 0",
           RAFT_APPLIES, APPLY_WINDOW);
        is_int(r.counter.count, RAFT_APPLIES, "the state machine applied every command");
    } else {
        ok(false, "raft starts on log_io in %s", dir);
    }
    raft_run_close(&r);
    ok(count_with(dir, "snap-") == 1, "with snapshot threshold 64, one snap-* file remains "
                                      "(%zu)",
       count_with(dir, "snap-"));
    if (raft_run_start(&r, dir, &bootstrap_rv)) {
        is_int(bootstrap_rv, RAFT_CANTBOOTSTRAP, "restarted: raft_bootstrap is refused");
        is_int(raft_state(&r.raft), RAFT_LEADER, "restarted: the single voter leads");
        barrier.data = &r;
        is_int(raft_barrier(&r.raft, &barrier, on_barrier), 0, "restarted: a barrier is accepted");
        ok(harness_loop_until(&loop, &r.barrier_done, WAIT_MS) && r.barrier_status == 0,
           "restarted: the barrier calls back with status 0 (got %d)", r.barrier_status);
        ok(r.counter.did_restore && r.counter.restored > 0,
           "restarted: the state machine was restored from a snapshot (count %" PRIu64 ")",
           r.counter.restored);
        is_int(r.counter.count, RAFT_APPLIES,
               "restarted: restored count + commands applied after it = %d (restored %" PRIu64 ")",
               RAFT_APPLIES, r.counter.restored);
    } else {
        ok(false, "raft restarts on log_io in %s", dir);
    }
    raft_run_close(&r);
    harness_rmtree(dir);
}

int main(void)
{
    uv_loop_init(&loop);
    test_bootstrap();
    test_term_vote();
    test_appends();
    test_rolling();
    test_truncate();
    test_snapshot_trailing();
    test_snapshot_install();
    test_torn_tail();
    test_damage();
    test_recycling();
    test_stale_short();
    test_one_write();
    test_cut_bootstrap();
    test_snapshot_gap();
    test_raft_uv_dir();
    test_raft();
    is_int(harness_loop_close(&loop), 0, "the loop closes with nothing left on it");
    return tap_done();
}
