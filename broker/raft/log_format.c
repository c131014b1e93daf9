/*
 * log_format.c -- the files of a raft group's storage (see log_format.h).
 *
 * An entry's header:
 *
 *     0  u32 CRC-32C of bytes 4..31 and then of the payload's len bytes
 *     4  u32 len        the payload's length
 *     8  u64 term
 *    16  u64 index
 *    24  u8  type       RAFT_COMMAND, RAFT_BARRIER or RAFT_CHANGE
 *    25  u8  format     1, or 2 when the payload is partly outside the log:
 *                       its head, then a 48-byte reference (u64 the length
 *                       of the rest, then the keeper's own 40 bytes)
 *    26  u48 write      the index of the first entry written with it
 *
 * A meta file is 32 bytes: u32 CRC of bytes 4..31, u32 format, u64 version,
 * u64 term, u64 vote.  A snapshot file is a 48-byte header (u32 CRC of the
 * rest of the file, u32 format, u64 index, u64 term, u64 configuration
 * index, u32 server count, u32 zero, u64 data length), then each server
 * (u64 id, u32 role, u32 address length, the address), then the data.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/endian.h"
#include "core/error.h"
#include "core/write_all.h"
#include "raft/log_format.h"

#define META_SIZE 32
#define SNAPSHOT_HEADER 48

/* ---- names --------------------------------------------------------------- */

static bool parse_index(const char *name, const char *prefix, raft_index *index)
{
    size_t plen = strlen(prefix);
    const char *digits = name + plen;
    raft_index value = 0;

    if (strncmp(name, prefix, plen) != 0 || strlen(digits) != 20)
        return false;
    for (const char *p = digits; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        value = value * 10 + (raft_index)(*p - '0');
    }
    *index = value;
    return true;
}

void log_file_name(char name[LOG_NAME_MAX], raft_index first)
{
    snprintf(name, LOG_NAME_MAX, "log-%020llu", (unsigned long long)first);
}

bool log_file_parse(const char *name, raft_index *first)
{
    return parse_index(name, "log-", first);
}

void log_snapshot_name(char name[LOG_NAME_MAX], raft_index index)
{
    snprintf(name, LOG_NAME_MAX, "snap-%020llu", (unsigned long long)index);
}

bool log_snapshot_parse(const char *name, raft_index *index)
{
    return parse_index(name, "snap-", index);
}

void log_spare_name(char name[LOG_NAME_MAX], raft_index first)
{
    snprintf(name, LOG_NAME_MAX, "spare-%020llu", (unsigned long long)first);
}

bool log_spare_parse(const char *name, raft_index *first)
{
    return parse_index(name, "spare-", first);
}

/* metadata1, metadata2, open-N, snapshot-T-I-S(.meta) and N-M closed
 * segments of 16 digits each. */
bool log_is_raft_uv_file(const char *name)
{
    size_t i;

    if (strncmp(name, "metadata", 8) == 0 || strncmp(name, "open-", 5) == 0 ||
        strncmp(name, "snapshot-", 9) == 0)
        return true;
    for (i = 0; i < 33; i++) {
        bool dash = i == 16;

        if (name[i] == '\0' || (dash ? name[i] != '-' : (name[i] < '0' || name[i] > '9')))
            return false;
    }
    return name[i] == '\0';
}

/* ---- entries ---------------------------------------------------------------- */

static uint32_t entry_crc(const uint8_t *header, const void *payload, size_t len)
{
    return vane_crc32c(vane_crc32c(0, header + 4, LOG_ENTRY_HEADER - 4), payload, len);
}

void log_entry_header(uint8_t header[LOG_ENTRY_HEADER], const struct raft_entry *entry,
                      raft_index index, raft_index write, uint8_t format)
{
    memset(header, 0, LOG_ENTRY_HEADER);
    vane_put32(header + 4, (uint32_t)entry->buf.len);
    vane_put64(header + 8, entry->term);
    vane_put64(header + 16, index);
    header[24] = (uint8_t)entry->type;
    header[25] = format;
    vane_put_le(header + 26, write, 6);
    vane_put32(header, entry_crc(header, entry->buf.base, entry->buf.len));
}

static bool known_format(const uint8_t *h)
{
    return h[25] == LOG_FORMAT_VERSION ||
           (h[25] == LOG_FORMAT_EXTERNAL && vane_get32(h + 4) >= LOG_EXTERN_REF);
}

/* Whether the whole header at bytes is one of entry index. */
static bool header_of(const uint8_t *h, raft_index index)
{
    return known_format(h) && h[24] >= RAFT_COMMAND && h[24] <= RAFT_CHANGE &&
           vane_get64(h + 16) == index;
}

/* Whether the header at bytes is entry index and whole within size; why
 * says what is wrong otherwise. */
static bool entry_fits(const uint8_t *bytes, size_t size, raft_index index, char *why,
                       size_t why_len)
{
    if (size < LOG_ENTRY_HEADER) {
        snprintf(why, why_len, "entry %llu cut in its header", (unsigned long long)index);
        return false;
    }
    if (!header_of(bytes, index)) {
        snprintf(why, why_len, "no header of entry %llu", (unsigned long long)index);
        return false;
    }
    if (log_entry_size(vane_get32(bytes + 4)) > size) {
        snprintf(why, why_len, "entry %llu cut short", (unsigned long long)index);
        return false;
    }
    return true;
}

static bool entry_valid(const uint8_t *bytes, size_t size, raft_index index, char *why,
                        size_t why_len)
{
    if (!entry_fits(bytes, size, index, why, why_len))
        return false;
    if (entry_crc(bytes, bytes + LOG_ENTRY_HEADER, vane_get32(bytes + 4)) != vane_get32(bytes)) {
        snprintf(why, why_len, "checksum mismatch in entry %llu", (unsigned long long)index);
        return false;
    }
    return true;
}

/* The newest write among the valid entries after index in bytes (entries
 * start 8-byte aligned): the index its first entry has, or 0 with none. */
static raft_index newest_write_after(const uint8_t *bytes, size_t size, raft_index index)
{
    raft_index newest = 0;
    char why[8];

    for (size_t pos = 8; pos + LOG_ENTRY_HEADER <= size; pos += 8) {
        const uint8_t *h = bytes + pos;
        raft_index at = vane_get64(h + 16);

        if (known_format(h) && at > index &&
            entry_valid(h, size - pos, at, why, sizeof(why)) &&
            vane_get_le(h + 26, 6) > newest)
            newest = vane_get_le(h + 26, 6);
    }
    return newest;
}

/*
 * What ends the valid entries at bytes, where entry index was expected.
 * Writes are made durable one at a time, in order, so a valid entry of a
 * later write than this entry's proves this one was synced: the entry is
 * damaged.  Valid later entries of this entry's write only, or this
 * entry's own header, with nothing valid after: a write a crash cut.
 * Neither: bytes this position never held for this log (zeros, or what a
 * recycled file kept from its earlier use).
 */
static enum log_end damage_kind(const uint8_t *bytes, size_t size, raft_index index)
{
    raft_index newest = newest_write_after(bytes, size, index);

    if (newest > index)
        return LOG_END_CORRUPT;
    if (size < LOG_ENTRY_HEADER) /* too short for an entry: written over by the next */
        return LOG_END_STALE;
    if (newest != 0 || vane_get64(bytes + 16) == index)
        return LOG_END_TORN;
    return LOG_END_STALE;
}

int log_scan(uint8_t *bytes, size_t size, raft_index first, struct log_scan *scan,
             log_entry_cb each, void *arg)
{
    raft_index index = first;
    size_t pos = 0;
    int rv;

    *scan = (struct log_scan){.last = first - 1, .end = LOG_END_CLEAN};
    while (pos < size) {
        uint8_t *h = bytes + pos;

        if (!entry_valid(h, size - pos, index, scan->why, sizeof(scan->why))) {
            scan->end = damage_kind(h, size - pos, index);
            break;
        }
        if (each != NULL &&
            (rv = each(arg, index, vane_get64(h + 8), h[24], h[25], h + LOG_ENTRY_HEADER,
                       vane_get32(h + 4))) != 0)
            return rv;
        pos += log_entry_size(vane_get32(h + 4));
        scan->valid = pos;
        scan->last = index++;
    }
    return 0;
}

int64_t log_entry_offset(int fd, raft_index first, raft_index index)
{
    uint8_t h[LOG_ENTRY_HEADER];
    int64_t pos = 0;

    for (raft_index at = first; at < index; at++) {
        ssize_t got = pread(fd, h, sizeof(h), pos);

        if (got < 0)
            return -errno;
        if (got != (ssize_t)sizeof(h) || vane_get64(h + 16) != at)
            return VANE_ECORRUPT;
        pos += (int64_t)log_entry_size(vane_get32(h + 4));
    }
    return pos;
}

int log_find_extern(int fd, int64_t offset, int64_t end, raft_index index,
                    uint8_t ref[LOG_EXTERN_REF])
{
    uint8_t h[LOG_ENTRY_HEADER];
    ssize_t got = 0;

    for (; offset + LOG_ENTRY_HEADER <= end &&
           (got = pread(fd, h, sizeof(h), offset)) == (ssize_t)sizeof(h);
         index++) {
        uint32_t len = vane_get32(h + 4);

        /* Stale bytes (zeros, a spare's earlier use) end the entries. */
        if (!header_of(h, index))
            return 0;
        if (h[25] == LOG_FORMAT_EXTERNAL) {
            got = pread(fd, ref, LOG_EXTERN_REF, offset + LOG_ENTRY_HEADER + len - LOG_EXTERN_REF);
            return got == LOG_EXTERN_REF ? 1 : got < 0 ? -errno : VANE_ECORRUPT;
        }
        offset += (int64_t)log_entry_size(len);
    }
    return got < 0 ? -errno : 0;
}

/* ---- files ---------------------------------------------------------------- */

int log_read_file(int dirfd, const char *name, uint8_t **bytes, size_t *size)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    size_t done = 0;
    int err = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        err = -errno;
        close(fd);
        return err;
    }
    *size = (size_t)st.st_size;
    if ((*bytes = raft_malloc(*size > 0 ? *size : 1)) == NULL)
        err = -ENOMEM;
    while (err == 0 && done < *size) {
        ssize_t got = pread(fd, *bytes + done, *size - done, (off_t)done);

        if (got < 0 && errno != EINTR)
            err = -errno;
        else if (got == 0)
            *size = done; /* shrank meanwhile */
        else if (got > 0)
            done += (size_t)got;
    }
    close(fd);
    if (err != 0 && *bytes != NULL) {
        raft_free(*bytes);
        *bytes = NULL;
    }
    return err;
}

int log_create_file(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    if (fd < 0)
        return -errno;
    if (fsync(dirfd) != 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    return fd;
}

int64_t log_write_entries(int fd, int64_t offset, const struct log_batch *batches, size_t count)
{
    static const uint8_t pad[8];
    size_t entries = 0;
    int64_t bytes = 0;
    struct iovec *iov;
    uint8_t *headers;
    int n = 0, err;

    for (size_t b = 0; b < count; b++)
        entries += batches[b].n;
    iov = vane_malloc(3 * entries * sizeof(*iov) + 1);
    headers = vane_malloc(entries * LOG_ENTRY_HEADER + 1);
    for (size_t b = 0, h = 0; b < count; b++) {
        for (unsigned i = 0; i < batches[b].n; i++, h += LOG_ENTRY_HEADER) {
            const struct raft_entry *e = &batches[b].entries[i];
            size_t padding = log_entry_size(e->buf.len) - LOG_ENTRY_HEADER - e->buf.len;

            log_entry_header(headers + h, e, batches[b].index + i, batches[0].index,
                             batches[b].formats ? batches[b].formats[i] : LOG_FORMAT_VERSION);
            iov[n++] = (struct iovec){headers + h, LOG_ENTRY_HEADER};
            if (e->buf.len > 0)
                iov[n++] = (struct iovec){e->buf.base, e->buf.len};
            if (padding > 0)
                iov[n++] = (struct iovec){(void *)pad, padding};
            bytes += (int64_t)log_entry_size(e->buf.len);
        }
    }
    err = pwritev_all(fd, iov, n, offset);
    vane_free(headers);
    vane_free(iov);
    return err != 0 ? err : bytes;
}

/* Writes name in dirfd whole and durably, through a temporary file. */
static int write_durably(int dirfd, const char *name, const char *temp, struct iovec *iov, int n)
{
    int fd = openat(dirfd, temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err;

    if (fd < 0)
        return -errno;
    err = pwritev_all(fd, iov, n, 0);
    if (err == 0 && fdatasync(fd) != 0)
        err = -errno;
    close(fd);
    if (err == 0 && renameat(dirfd, temp, dirfd, name) != 0)
        err = -errno;
    if (err == 0 && fsync(dirfd) != 0)
        err = -errno;
    if (err != 0)
        unlinkat(dirfd, temp, 0);
    return err;
}

/* ---- term and vote ------------------------------------------------------------ */

static int meta_load(int dirfd, const char *name, struct log_meta *meta)
{
    uint8_t b[META_SIZE];
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    ssize_t got;

    *meta = (struct log_meta){0};
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    got = pread(fd, b, sizeof(b), 0);
    close(fd);
    if (got < 0)
        return -errno;
    /* A meta file cut or damaged by a crash while it was written: the
     * other one holds the previous version. */
    if (got == (ssize_t)sizeof(b) && vane_get32(b + 4) == LOG_FORMAT_VERSION &&
        vane_crc32c(0, b + 4, sizeof(b) - 4) == vane_get32(b))
        *meta = (struct log_meta){vane_get64(b + 8), vane_get64(b + 16), vane_get64(b + 24)};
    return 0;
}

int log_meta_read(int dirfd, struct log_meta *meta)
{
    struct log_meta one, two;
    int err;

    if ((err = meta_load(dirfd, "meta1", &one)) != 0 || (err = meta_load(dirfd, "meta2", &two)) != 0)
        return err;
    *meta = one.version >= two.version ? one : two;
    return 0;
}

int log_meta_write(int dirfd, const struct log_meta *meta)
{
    uint8_t b[META_SIZE];
    const char *name = meta->version % 2 == 1 ? "meta1" : "meta2";
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    int err = 0;
    struct stat st;

    if (fd < 0)
        return -errno;
    vane_put32(b + 4, LOG_FORMAT_VERSION);
    vane_put64(b + 8, meta->version);
    vane_put64(b + 16, meta->term);
    vane_put64(b + 24, meta->vote);
    vane_put32(b, vane_crc32c(0, b + 4, sizeof(b) - 4));
    if (fstat(fd, &st) != 0)
        err = -errno;
    else if (pwrite(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
        err = -EIO; /* 32 bytes at offset 0 are written whole or not at all */
    else if (fdatasync(fd) != 0)
        err = -errno;
    close(fd);
    /* A new file is durable once its directory entry is. */
    if (err == 0 && st.st_size == 0 && fsync(dirfd) != 0)
        err = -errno;
    return err;
}

/* ---- snapshots ------------------------------------------------------------ */

/* The header and servers of snapshot, data_len bytes of data after them. */
static uint8_t *snapshot_head(const struct raft_snapshot *s, size_t data_len, size_t *len)
{
    const struct raft_configuration *conf = &s->configuration;
    size_t size = SNAPSHOT_HEADER;
    uint8_t *b, *p;

    for (unsigned i = 0; i < conf->n; i++)
        size += 16 + strlen(conf->servers[i].address);
    p = b = vane_calloc(1, size);
    vane_put32(p + 4, LOG_FORMAT_VERSION);
    vane_put64(p + 8, s->index);
    vane_put64(p + 16, s->term);
    vane_put64(p + 24, s->configuration_index);
    vane_put32(p + 32, conf->n);
    vane_put64(p + 40, data_len);
    p += SNAPSHOT_HEADER;
    for (unsigned i = 0; i < conf->n; i++) {
        size_t alen = strlen(conf->servers[i].address);

        vane_put64(p, conf->servers[i].id);
        vane_put32(p + 8, (uint32_t)conf->servers[i].role);
        vane_put32(p + 12, (uint32_t)alen);
        memcpy(p + 16, conf->servers[i].address, alen);
        p += 16 + alen;
    }
    *len = size;
    return b;
}

int log_snapshot_write(int dirfd, const struct raft_snapshot *snapshot)
{
    struct iovec *iov = vane_calloc(snapshot->n_bufs + 1, sizeof(*iov));
    char name[LOG_NAME_MAX], temp[LOG_NAME_MAX + 4];
    size_t data_len = 0, head_len;
    uint8_t *head;
    uint32_t crc;
    int err;

    for (unsigned i = 0; i < snapshot->n_bufs; i++)
        data_len += snapshot->bufs[i].len;
    head = snapshot_head(snapshot, data_len, &head_len);
    crc = vane_crc32c(0, head + 4, head_len - 4);
    for (unsigned i = 0; i < snapshot->n_bufs; i++) {
        crc = vane_crc32c(crc, snapshot->bufs[i].base, snapshot->bufs[i].len);
        iov[i + 1] = (struct iovec){snapshot->bufs[i].base, snapshot->bufs[i].len};
    }
    vane_put32(head, crc);
    iov[0] = (struct iovec){head, head_len};
    log_snapshot_name(name, snapshot->index);
    snprintf(temp, sizeof(temp), "%s.tmp", name);
    err = write_durably(dirfd, name, temp, iov, (int)snapshot->n_bufs + 1);
    vane_free(head);
    vane_free(iov);
    return err;
}

/* Reads the servers at p (end: the data) into conf. */
static int snapshot_servers(struct raft_configuration *conf, const uint8_t *p, const uint8_t *end,
                            unsigned n, char *why, size_t why_len)
{
    char address[256];

    for (unsigned i = 0; i < n; i++) {
        size_t alen;

        if (end - p < 16 || (alen = vane_get32(p + 12)) >= sizeof(address) ||
            (size_t)(end - p) < 16 + alen) {
            snprintf(why, why_len, "server %u cut short", i);
            return VANE_ECORRUPT;
        }
        memcpy(address, p + 16, alen);
        address[alen] = '\0';
        if (raft_configuration_add(conf, vane_get64(p), address, (int)vane_get32(p + 8)) != 0) {
            snprintf(why, why_len, "server %u is not a valid member", i);
            return VANE_ECORRUPT;
        }
        p += 16 + alen;
    }
    if (p != end) {
        snprintf(why, why_len, "%zu bytes after the servers", (size_t)(end - p));
        return VANE_ECORRUPT;
    }
    return 0;
}

static int snapshot_parse(uint8_t *b, size_t size, struct raft_snapshot *s, char *why,
                          size_t why_len)
{
    uint64_t data_len;
    int err;

    if (size < SNAPSHOT_HEADER || vane_get32(b + 4) != LOG_FORMAT_VERSION ||
        vane_crc32c(0, b + 4, size - 4) != vane_get32(b)) {
        snprintf(why, why_len, "checksum mismatch or cut short (%zu bytes)", size);
        return VANE_ECORRUPT;
    }
    data_len = vane_get64(b + 40);
    if (data_len > size - SNAPSHOT_HEADER) {
        snprintf(why, why_len, "data of %llu bytes in a file of %zu", (unsigned long long)data_len,
                 size);
        return VANE_ECORRUPT;
    }
    s->index = vane_get64(b + 8);
    s->term = vane_get64(b + 16);
    s->configuration_index = vane_get64(b + 24);
    raft_configuration_init(&s->configuration);
    if ((err = snapshot_servers(&s->configuration, b + SNAPSHOT_HEADER, b + size - data_len,
                                vane_get32(b + 32), why, why_len)) != 0)
        return err;
    s->bufs[0].len = data_len;
    if ((s->bufs[0].base = raft_malloc(data_len > 0 ? data_len : 1)) == NULL)
        return -ENOMEM;
    memcpy(s->bufs[0].base, b + size - data_len, data_len);
    return 0;
}

int log_snapshot_read(int dirfd, raft_index index, struct raft_snapshot **snapshot, char *why,
                      size_t why_len)
{
    char name[LOG_NAME_MAX];
    struct raft_snapshot *s;
    uint8_t *bytes;
    size_t size;
    int err;

    log_snapshot_name(name, index);
    if ((err = log_read_file(dirfd, name, &bytes, &size)) != 0) {
        snprintf(why, why_len, "%s", vane_strerror(err));
        return err;
    }
    s = raft_calloc(1, sizeof(*s));
    if (s != NULL && (s->bufs = raft_calloc(1, sizeof(*s->bufs))) != NULL)
        s->n_bufs = 1;
    err = s == NULL || s->bufs == NULL ? -ENOMEM : snapshot_parse(bytes, size, s, why, why_len);
    raft_free(bytes);
    if (err == 0 && s->index != index) {
        snprintf(why, why_len, "holds index %llu", (unsigned long long)s->index);
        err = VANE_ECORRUPT;
    }
    if (err != 0) {
        log_snapshot_free(s);
        return err;
    }
    *snapshot = s;
    return 0;
}

void log_snapshot_free(struct raft_snapshot *s)
{
    if (s == NULL)
        return;
    raft_configuration_close(&s->configuration);
    for (unsigned i = 0; i < s->n_bufs; i++)
        raft_free(s->bufs[i].base);
    raft_free(s->bufs);
    raft_free(s);
}
