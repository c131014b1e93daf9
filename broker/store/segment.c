/*
 * segment.c -- segment files: append, index, seal, recover, read (see
 * segment.h).
 *
 * Recovery tells a torn tail from damage by what follows the first bad
 * record.  A crash can only leave the end of the newest file short or,
 * after a power loss, zero-filled: if the bad record reaches the end of the
 * file, or only zeros follow it, the tail is torn and is cut off (raft
 * still holds those entries and applies them again).  A bad record with
 * data after it is damage, and so is any bad record of a segment that is
 * not the newest (the log's writer syncs each whole before it begins the
 * next; eventlog.c drops empty files a crash left at the end): it is
 * reported with the file, byte position and offset, the segment ends
 * before it, and the file is left untouched for inspection.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/write_all.h"
#include "core/log.h"
#include "store/record.h"
#include "store/segment.h"

/* The .idx trailer: version 2, which checks itself, and version 1, whose
 * CRC also covers the entries (so the whole file is read to trust it). */
#define IDX_MAGIC UINT64_C(0x0232584449454E56)    /* "VNEIDX2\2" */
#define IDX_MAGIC_V1 UINT64_C(0x0131584449454E56) /* "VNEIDX1\1" */
#define IDX_TRAILER_SIZE 72
#define IDX_TRAILER_V1 56
#define SCAN_CHUNK (1u << 20)

static const char component[] = "store";

char *segment_path(const char *dir, uint64_t base, const char *ext)
{
    return vane_asprintf("%s/%020" PRIu64 ".%s", dir, base, ext);
}

static struct segment *segment_new(const char *dir, uint64_t base)
{
    struct segment *seg = VANE_NEW(seg);

    seg->base_offset = seg->next_offset = base;
    seg->fd = -1;
    seg->log_path = segment_path(dir, base, "log");
    seg->idx_path = segment_path(dir, base, "idx");
    return seg;
}

void segment_close(struct segment *seg)
{
    if (seg == NULL)
        return;
    if (seg->fd >= 0)
        close(seg->fd);
    vane_free(seg->log_path);
    vane_free(seg->idx_path);
    vane_free(seg->index);
    vane_free(seg->damage);
    vane_free(seg);
}

int segment_create(struct segment **out, const char *dir, uint64_t base, char **errmsg)
{
    struct segment *seg = segment_new(dir, base);

    /* Not truncated: the log's writer (eventlog_writer.c) may have written
     * records there already, which this segment indexes as they apply. */
    seg->fd = open(seg->log_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (seg->fd < 0) {
        int err = -errno;

        *errmsg = vane_asprintf("cannot create %s: %s", seg->log_path, strerror(errno));
        segment_close(seg);
        return err;
    }
    unlink(seg->idx_path);
    *out = seg;
    return 0;
}

/* Indexes the record at position when an entry is due there. */
static void index_record(struct segment *seg, uint64_t position, const struct record_view *view)
{
    if (position < seg->next_index_at)
        return;
    if (seg->index_count == seg->index_cap) {
        seg->index_cap = seg->index_cap ? seg->index_cap * 2 : 64;
        seg->index = vane_realloc(seg->index, seg->index_cap * sizeof(*seg->index));
    }
    seg->index[seg->index_count++] = (struct segment_entry){
        (uint32_t)(view->offset - seg->base_offset), (uint32_t)position, view->stored_at};
    seg->next_index_at = position + SEGMENT_INDEX_INTERVAL;
}

/* Records one record of the segment in the in-memory index and extent. */
static void note_record(struct segment *seg, uint64_t position, const struct record_view *view)
{
    index_record(seg, position, view);
    if (position == 0)
        seg->first_time = view->stored_at;
    seg->next_offset = view->offset + 1;
    seg->size = position + view->size;
    seg->last_raft_index = view->raft_index;
    seg->last_entry_pos = view->entry_pos;
    seg->last_time = view->stored_at;
}

void segment_note(struct segment *seg, const void *records, size_t len)
{
    const uint8_t *p = records, *end = p + len;
    uint64_t position = seg->size;

    while (p < end) {
        struct record_view view;

        /* The caller has just sealed these records: the header is enough. */
        record_peek_header(p, &view);
        note_record(seg, position, &view);
        position += view.size;
        p += view.size;
    }
}

int segment_append(struct segment *seg, const void *records, size_t len)
{
    int err = pwrite_all(seg->fd, records, len, (off_t)seg->size);

    if (err != 0) {
        /* Put the file back to its last whole record. */
        if (ftruncate(seg->fd, (off_t)seg->size) != 0)
            vane_log_warn(component, "%s: cannot cut a failed write: %s", seg->log_path,
                          strerror(errno));
        return err;
    }
    segment_note(seg, records, len);
    return 0;
}

/* The extent as of index entry k: its record next, nothing after it indexed. */
static void rewind_to_entry(struct segment *seg, size_t k)
{
    const struct segment_entry *e = &seg->index[k];

    seg->next_offset = seg->base_offset + e->rel_offset;
    seg->size = e->position;
    seg->next_index_at = e->position;
    seg->index_count = k;
}

static void note_damage(struct segment *seg, uint64_t position, const char *why);

int segment_limit(struct segment *seg, uint64_t next_offset)
{
    size_t k = 0;
    uint8_t header[RECORD_HEADER_SIZE];

    segment_read_index(seg); /* it becomes the active one, and may take records */
    seg->sealed = false;
    if (seg->damaged && seg->next_offset >= next_offset) {
        seg->damaged = false; /* at or past the limit: the bytes will be read again */
        vane_free(seg->damage);
        seg->damage = NULL;
    }
    if (next_offset >= seg->next_offset)
        return 0;
    while (k < seg->index_count && seg->base_offset + seg->index[k].rel_offset < next_offset)
        k++;
    if (k == 0) {
        seg->index_count = 0;
        seg->next_offset = seg->base_offset;
        seg->size = seg->next_index_at = 0;
        seg->last_raft_index = seg->last_entry_pos = 0;
        seg->last_time = seg->first_time = 0;
    } else {
        rewind_to_entry(seg, k - 1);
    }
    /* Forward from the entry by the records' headers, which the scan or
     * the seal checked; one out of sequence is damage, which readers and
     * the log's load find when they come to it. */
    while (seg->next_offset < next_offset) {
        struct record_view view;

        if (pread(seg->fd, header, sizeof(header), (off_t)seg->size) != (ssize_t)sizeof(header))
            return -EIO;
        record_peek_header(header, &view);
        if (view.offset != seg->next_offset || view.size < RECORD_HEADER_SIZE) {
            note_damage(seg, seg->size, "offset out of sequence");
            return 0;
        }
        note_record(seg, seg->size, &view);
    }
    return 0;
}

/*
 * The .idx file: the entries, then the trailer (version 2, 72 bytes):
 * magic, next offset, size, last raft index, last store time, last entry
 * position, first store time (8 bytes each), entry count, CRC-32C of the
 * entries, 4 zero bytes, and CRC-32C of the 68 bytes before it.
 */
static void encode_trailer(const struct segment *seg, uint8_t *t, uint32_t crc_of_entries)
{
    uint64_t fields[7] = {IDX_MAGIC,
                          seg->next_offset,
                          seg->size,
                          seg->last_raft_index,
                          (uint64_t)seg->last_time,
                          seg->last_entry_pos,
                          (uint64_t)seg->first_time};
    uint32_t words[3] = {(uint32_t)seg->index_count, crc_of_entries, 0}, crc;

    memcpy(t, fields, sizeof(fields));
    memcpy(t + 56, words, sizeof(words));
    crc = vane_crc32c(0, t, 68);
    memcpy(t + 68, &crc, 4);
}

int segment_seal(struct segment *seg)
{
    size_t entries = seg->index_count * sizeof(struct segment_entry);
    uint8_t trailer[IDX_TRAILER_SIZE];
    char *tmp = vane_asprintf("%s.tmp", seg->idx_path);
    int fd = -1, err = 0;

    if (fdatasync(seg->fd) != 0) {
        err = -errno;
        goto out;
    }
    encode_trailer(seg, trailer, vane_crc32c(0, seg->index, entries));
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || (err = write_all(fd, seg->index, entries)) != 0 ||
        (err = write_all(fd, trailer, sizeof(trailer))) != 0 || fsync(fd) != 0 ||
        rename(tmp, seg->idx_path) != 0)
        err = err ? err : -errno;
out:
    if (fd >= 0)
        close(fd);
    if (err != 0)
        unlink(tmp);
    vane_free(tmp);
    return err;
}

/* The extent an .idx trailer gives (fields 1 to 5 of either version):
 * next offset, size, last raft index, last store time, last entry position. */
static void trailer_extent(struct segment *seg, const uint64_t *fields)
{
    seg->next_offset = fields[1];
    seg->size = fields[2];
    seg->last_raft_index = fields[3];
    seg->last_time = (int64_t)fields[4];
    seg->last_entry_pos = (uint32_t)fields[5];
}

/* Takes a version 2 trailer t of an .idx of idx_size bytes: the extent and
 * the count; the entries are read at their first use (segment_read_index). */
static int take_trailer(struct segment *seg, const uint8_t *t, uint64_t idx_size,
                        uint64_t file_size)
{
    uint64_t fields[7];
    uint32_t words[3], crc;

    memcpy(fields, t, sizeof(fields));
    memcpy(words, t + 56, sizeof(words));
    memcpy(&crc, t + 68, 4);
    if (fields[0] != IDX_MAGIC || crc != vane_crc32c(0, t, 68) || fields[2] != file_size ||
        words[0] != (idx_size - IDX_TRAILER_SIZE) / sizeof(struct segment_entry) ||
        (words[0] == 0) != (file_size == 0) || fields[1] < seg->base_offset)
        return -1;
    trailer_extent(seg, fields);
    seg->first_time = (int64_t)fields[6];
    seg->index_unread = words[0];
    seg->index_crc = words[1];
    return 0;
}

/* Takes a version 1 .idx (buf, idx_size bytes, read whole). */
static int take_index_v1(struct segment *seg, uint8_t *buf, uint64_t idx_size, uint64_t file_size)
{
    const uint8_t *t = buf + idx_size - IDX_TRAILER_V1;
    uint64_t fields[6];
    uint32_t count, crc;

    memcpy(fields, t, sizeof(fields));
    memcpy(&count, t + 48, 4);
    memcpy(&crc, t + 52, 4);
    if (fields[0] != IDX_MAGIC_V1 || fields[2] != file_size ||
        count != (idx_size - IDX_TRAILER_V1) / sizeof(struct segment_entry) ||
        crc != vane_crc32c(vane_crc32c(0, buf, count * sizeof(struct segment_entry)), t, 52))
        return -1;
    seg->index = (struct segment_entry *)buf;
    seg->index_count = seg->index_cap = count;
    trailer_extent(seg, fields);
    seg->first_time = count > 0 ? seg->index[0].stored_at : 0;
    return 0;
}

/*
 * Takes a sealed segment from its .idx: a version 2 file by its trailer
 * alone, so a restart reads a few bytes per segment however large the
 * log; a version 1 file whole.  Returns 0, 1 for a version 1 file (to be
 * written again in version 2), or -1 when the segment must be scanned
 * instead.
 */
static int load_index(struct segment *seg, uint64_t file_size)
{
    uint8_t *buf = NULL;
    struct stat st;
    uint64_t size;
    int fd = open(seg->idx_path, O_RDONLY | O_CLOEXEC), rc = -1;

    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < IDX_TRAILER_V1 ||
        (st.st_size - IDX_TRAILER_V1) % sizeof(struct segment_entry) != 0)
        goto out;
    size = (uint64_t)st.st_size;
    if (size >= IDX_TRAILER_SIZE) {
        uint8_t t[IDX_TRAILER_SIZE];

        if (pread(fd, t, sizeof(t), (off_t)(size - sizeof(t))) != (ssize_t)sizeof(t))
            goto out;
        rc = take_trailer(seg, t, size, file_size);
    }
    if (rc != 0) {
        buf = vane_malloc(size);
        if (pread(fd, buf, size, 0) == (ssize_t)size && take_index_v1(seg, buf, size, file_size) == 0)
            buf = NULL, rc = 1; /* the segment keeps it */
    }
    seg->sealed = rc >= 0;
out:
    vane_free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The index of the records from scratch, stepping over them by their
 * headers (which the seal checked) up to the segment's size. */
static void rebuild_index(struct segment *seg)
{
    uint8_t *buf = vane_malloc(SCAN_CHUNK);
    uint64_t position = 0, offset = seg->base_offset;

    seg->index_count = 0;
    seg->next_index_at = 0;
    while (position < seg->size) {
        size_t want = (size_t)(seg->size - position < SCAN_CHUNK ? seg->size - position : SCAN_CHUNK);
        ssize_t n = pread(seg->fd, buf, want, (off_t)position);
        size_t used = 0;

        if (n < (ssize_t)RECORD_HEADER_SIZE)
            break;
        while (used <= (size_t)n - RECORD_HEADER_SIZE) {
            struct record_view view;

            record_peek_header(buf + used, &view);
            if (view.offset != offset || view.size < RECORD_HEADER_SIZE ||
                view.size > seg->size - position - used)
                goto out; /* the index ends here: reads past it step on from its last entry */
            index_record(seg, position + used, &view);
            offset++;
            used += view.size;
        }
        position += used; /* past a record the chunk held only the start of, too */
    }
out:
    vane_free(buf);
}

void segment_read_index(struct segment *seg)
{
    size_t count = seg->index_unread, len = count * sizeof(struct segment_entry);
    struct segment_entry *entries;
    int fd;

    if (count == 0)
        return;
    seg->index_unread = 0;
    entries = vane_malloc(len);
    fd = open(seg->idx_path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && pread(fd, entries, len, 0) == (ssize_t)len &&
        vane_crc32c(0, entries, len) == seg->index_crc) {
        seg->index = entries;
        seg->index_count = seg->index_cap = count;
    } else {
        vane_log_warn(component, "%s: %s; the index is rebuilt from the records", seg->idx_path,
                      fd < 0 ? strerror(errno) : "its entries are damaged or cut short");
        vane_free(entries);
        rebuild_index(seg);
    }
    if (fd >= 0)
        close(fd);
}

static bool all_zero(const uint8_t *p, size_t len)
{
    while (len > 0 && *p == 0)
        p++, len--;
    return len == 0;
}

bool segment_zeros(int fd, uint64_t position, uint64_t end)
{
    uint8_t buf[65536];

    while (position < end) {
        size_t want = end - position < sizeof(buf) ? (size_t)(end - position) : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)position);

        if (n <= 0 || !all_zero(buf, (size_t)n))
            return false;
        position += (uint64_t)n;
    }
    return true;
}

/*
 * Whether the bad record at position (avail bytes of it in hand) begins a
 * torn tail rather than damage: it reaches the end of the file, or only
 * zeros follow it -- from its claimed end when its header survived, or from
 * its start -- as a power loss leaves a file whose size grew before its data
 * reached the disk.
 */
bool segment_is_torn(int fd, const uint8_t *p, size_t avail, uint64_t position,
                     uint64_t file_size)
{
    uint32_t claimed = record_peek_size(p, avail);
    bool plausible = claimed >= RECORD_HEADER_SIZE && claimed <= RECORD_MAX_SIZE;

    if (plausible && position + claimed >= file_size)
        return true;
    if (plausible && segment_zeros(fd, position + claimed, file_size))
        return true;
    return segment_zeros(fd, position, file_size);
}

static void note_damage(struct segment *seg, uint64_t position, const char *why)
{
    seg->damaged = true;
    seg->damage = vane_asprintf("%s: corrupt record at byte %" PRIu64 " (offset %" PRIu64 "): %s",
                                seg->log_path, position, seg->next_offset, why);
    vane_log_error(component, "%s; serving offsets below %" PRIu64 " only", seg->damage,
                   seg->next_offset);
}

void segment_damaged_end(struct segment *seg, uint64_t next_base)
{
    char why[64];

    snprintf(why, sizeof(why), "the next segment starts at offset %" PRIu64, next_base);
    note_damage(seg, seg->size, why);
}

static int cut_tail(struct segment *seg, uint64_t position, uint64_t file_size)
{
    vane_log_warn(component, "%s: torn tail at byte %" PRIu64 " cut off (%" PRIu64 " bytes)",
                  seg->log_path, position, file_size - position);
    return ftruncate(seg->fd, (off_t)position) == 0 ? 0 : -errno;
}

/*
 * Checks the records in buf (avail bytes read at position) and indexes them.
 * Returns the bytes consumed; sets *stop when the scan must end here (torn
 * tail cut, damage noted, or *err).  A record that runs past the buffer but
 * not past the file is left for the next read; *need says how big it is.
 * Only the newest segment (newest) may end torn.
 */
static size_t scan_chunk(struct segment *seg, const uint8_t *buf, size_t avail, uint64_t position,
                         uint64_t file_size, bool newest, size_t *need, bool *stop, int *err)
{
    size_t used = 0;

    while (used < avail) {
        const uint8_t *p = buf + used;
        uint64_t at = position + used;
        struct record_view view;
        const char *why = "offset out of sequence";
        int rc = record_decode(p, avail - used, &view, &why);

        if (rc == 0 && view.offset == seg->next_offset) {
            note_record(seg, at, &view);
            used += view.size;
            continue;
        }
        if (rc == -ENODATA && at + avail - used < file_size) {
            uint32_t claimed = record_peek_size(p, avail - used);

            if (claimed <= RECORD_MAX_SIZE && at + claimed <= file_size) {
                *need = claimed;
                return used; /* the record goes on in the next read */
            }
        }
        *stop = true;
        if (newest && (rc == -ENODATA || segment_is_torn(seg->fd, p, avail - used, at, file_size)))
            *err = cut_tail(seg, at, file_size);
        else
            note_damage(seg, at, rc == -ENODATA ? "the file ends inside the record" : why);
        return used;
    }
    return used;
}

/* Reads every record of the file, rebuilding the index; stops at damage
 * (or cuts a torn tail, when newest). */
static int scan(struct segment *seg, uint64_t file_size, bool newest)
{
    size_t cap = SCAN_CHUNK;
    uint8_t *buf = vane_malloc(cap);
    uint64_t position = 0;
    bool stop = false;
    int err = 0;

    while (position < file_size && !stop) {
        size_t want = (size_t)(file_size - position < cap ? file_size - position : cap);
        ssize_t n = pread(seg->fd, buf, want, (off_t)position);
        size_t need = 0, used;

        if (n != (ssize_t)want) {
            err = n < 0 ? -errno : -EIO;
            break;
        }
        used = scan_chunk(seg, buf, want, position, file_size, newest, &need, &stop, &err);
        if (used == 0 && need > cap) {
            cap = need; /* one record larger than the buffer */
            buf = vane_realloc(buf, cap);
        }
        position += used;
    }
    vane_free(buf);
    return err;
}

int segment_open(struct segment **out, const char *dir, uint64_t base, bool active, char **errmsg)
{
    struct segment *seg = segment_new(dir, base);
    struct stat st;
    int err, loaded;

    /* Read-write: the newest segment may have a torn tail to cut, and any
     * may become the active one again (eventlog_show_upto). */
    seg->fd = open(seg->log_path, O_RDWR | O_CLOEXEC);
    if (seg->fd < 0 || fstat(seg->fd, &st) != 0) {
        err = -errno;
        *errmsg = vane_asprintf("cannot open %s: %s", seg->log_path, strerror(errno));
        segment_close(seg);
        return err;
    }
    loaded = active ? -1 : load_index(seg, (uint64_t)st.st_size);
    if (loaded == 1 && (err = segment_seal(seg)) != 0) /* once, in version 2 */
        vane_log_warn(component, "cannot rewrite the index of %s: %s", seg->log_path,
                      vane_strerror(err));
    if (loaded < 0) {
        unlink(seg->idx_path);
        if ((err = scan(seg, (uint64_t)st.st_size, active)) != 0) {
            *errmsg = vane_asprintf("cannot read %s: %s", seg->log_path, vane_strerror(err));
            segment_close(seg);
            return err;
        }
        if (!active && !seg->damaged) {
            if ((err = segment_seal(seg)) != 0)
                vane_log_warn(component, "cannot rewrite the index of %s: %s", seg->log_path,
                              vane_strerror(err));
            seg->sealed = err == 0;
        }
    }
    *out = seg;
    return 0;
}

static size_t floor_entry(const struct segment *seg, uint64_t key, bool by_time)
{
    size_t lo = 0, hi = seg->index_count;

    /* The last entry whose key is <= key (entry 0 is the first record). */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t k = by_time ? (uint64_t)seg->index[mid].stored_at : seg->index[mid].rel_offset;

        if (by_time ? (int64_t)k < (int64_t)key : k <= key)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

uint64_t segment_position_of(struct segment *seg, uint64_t offset)
{
    segment_read_index(seg);
    if (seg->index_count == 0)
        return 0;
    return seg->index[floor_entry(seg, offset - seg->base_offset, false)].position;
}

uint64_t segment_offset_of_time(struct segment *seg, int64_t time)
{
    segment_read_index(seg);
    if (seg->index_count == 0)
        return seg->base_offset;
    return seg->base_offset + seg->index[floor_entry(seg, (uint64_t)time, true)].rel_offset;
}

ssize_t segment_read(const struct segment *seg, uint64_t position, void *buf, size_t len)
{
    ssize_t n;

    if (position >= seg->size)
        return 0;
    if (len > seg->size - position)
        len = (size_t)(seg->size - position);
    do
        n = pread(seg->fd, buf, len, (off_t)position);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

int segment_remove_files(const char *dir, uint64_t base)
{
    char *log = segment_path(dir, base, "log"), *idx = segment_path(dir, base, "idx");
    int err = unlink(log) == 0 || errno == ENOENT ? 0 : -errno;

    unlink(idx);
    vane_free(log);
    vane_free(idx);
    return err;
}
