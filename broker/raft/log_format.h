/*
 * log_format.h -- the files of a raft group's storage (raft/log_io.c), as
 * doc/storage.md ("The raft log") describes them:
 *
 *     meta1, meta2            term and vote, written in turn (the valid one
 *                             with the higher version counts)
 *     log-<first index>       entries: a 32-byte header, then the payload
 *                             padded with zeros to a multiple of 8 bytes
 *     snap-<index>            the newest snapshot: its configuration and data
 *     spare-<index>           a log file no longer needed, kept to be
 *                             written over as the next one
 *
 * Every number is little endian; every header and file carries a CRC-32C.
 * All names are 20-digit decimal indexes, so they sort as they count.  The
 * functions here are synchronous and work on a directory's descriptor; the
 * io calls them from the loop (loading, bootstrapping, the term and vote)
 * or from its thread-pool jobs (everything else).
 */
#ifndef VANE_RAFT_LOG_FORMAT_H
#define VANE_RAFT_LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>

#define LOG_FORMAT_VERSION 1
/* An entry whose payload is partly kept outside the log (log_io.h,
 * struct log_extern): the log holds its head and then LOG_EXTERN_REF bytes
 * saying where the rest is, the first 8 of them its length. */
#define LOG_FORMAT_EXTERNAL 2
#define LOG_EXTERN_REF 48
#define LOG_ENTRY_HEADER 32
#define LOG_NAME_MAX 32

/* ---- names --------------------------------------------------------------- */

void log_file_name(char name[LOG_NAME_MAX], raft_index first);
bool log_file_parse(const char *name, raft_index *first);
void log_snapshot_name(char name[LOG_NAME_MAX], raft_index index);
bool log_snapshot_parse(const char *name, raft_index *index);
/* A log file kept for reuse, named by the first index it held. */
void log_spare_name(char name[LOG_NAME_MAX], raft_index first);
bool log_spare_parse(const char *name, raft_index *first);
/* Whether name is one of the files raft's own libuv backend writes. */
bool log_is_raft_uv_file(const char *name);

/* ---- entries --------------------------------------------------------------- */

/* The bytes an entry of len payload bytes takes in a log file. */
static inline size_t log_entry_size(size_t len)
{
    return LOG_ENTRY_HEADER + ((len + 7) & ~(size_t)7);
}

/* Fills the header of entry, stored as index in format by the write that
 * starts with entry write (the CRC covers the payload). */
void log_entry_header(uint8_t header[LOG_ENTRY_HEADER], const struct raft_entry *entry,
                      raft_index index, raft_index write, uint8_t format);

/* How the bytes of a log file end. */
enum log_end {
    LOG_END_CLEAN,   /* with a whole entry */
    LOG_END_STALE,   /* with bytes never written there for this log: zeros, or
                      * what a recycled file kept from its earlier use */
    LOG_END_TORN,    /* with a write a crash cut: nothing of a later write follows */
    LOG_END_CORRUPT, /* with a damaged entry that a later write's valid entry follows */
};

struct log_scan {
    size_t valid;       /* bytes of whole, valid entries from the start */
    raft_index last;    /* the last valid entry's index (first - 1 with none) */
    enum log_end end;
    char why[96];       /* what is wrong at byte valid, unless LOG_END_CLEAN */
};

/* Called for each valid entry (format LOG_FORMAT_VERSION or
 * LOG_FORMAT_EXTERNAL); a non-zero return stops the scan. */
typedef int (*log_entry_cb)(void *arg, raft_index index, raft_term term, unsigned short type,
                            uint8_t format, uint8_t *payload, size_t len);

/* Scans the size bytes of a log file whose first entry is index first.
 * Returns 0, or what each returned. */
int log_scan(uint8_t *bytes, size_t size, raft_index first, struct log_scan *scan,
             log_entry_cb each, void *arg);

/* The byte offset of entry index in the log file at fd (its first entry
 * first), by reading the headers; -errno, or VANE_ECORRUPT when the file
 * does not hold it. */
int64_t log_entry_offset(int fd, raft_index first, raft_index index);

/* The reference of the first entry kept partly outside the log between
 * bytes offset (where entry index is) and end of the log file at fd,
 * following the entries while their indexes do: 1 with ref filled, 0 with
 * none, or -errno. */
int log_find_extern(int fd, int64_t offset, int64_t end, raft_index index,
                    uint8_t ref[LOG_EXTERN_REF]);

/* Entries raft handed over together, the first to be stored as index;
 * formats, unless NULL (all LOG_FORMAT_VERSION), gives each one's. */
struct log_batch {
    const struct raft_entry *entries;
    unsigned n;
    raft_index index;
    const uint8_t *formats;
};

/* Writes the count batches to fd at offset, in order, with pwritev(2) and
 * no sync.  Returns the bytes written or -errno. */
int64_t log_write_entries(int fd, int64_t offset, const struct log_batch *batches, size_t count);

/* ---- files --------------------------------------------------------------- */

/* Reads the whole file name in dirfd into a raft_malloc()ed buffer. */
int log_read_file(int dirfd, const char *name, uint8_t **bytes, size_t *size);

/* Creates name in dirfd (which must not hold it) for writing; -errno. */
int log_create_file(int dirfd, const char *name);

/* ---- term and vote ------------------------------------------------------------ */

struct log_meta {
    uint64_t version; /* 0: never written */
    raft_term term;
    raft_id vote;
};

/* Reads the newer valid meta file; a directory with neither gives version 0.
 * Returns 0 or -errno. */
int log_meta_read(int dirfd, struct log_meta *meta);

/* Writes meta (its version picks the file) durably; 0 or -errno. */
int log_meta_write(int dirfd, const struct log_meta *meta);

/* ---- snapshots ------------------------------------------------------------ */

/* Writes snapshot durably as snap-<index> (through snap-<index>.tmp and a
 * rename); 0 or -errno. */
int log_snapshot_write(int dirfd, const struct raft_snapshot *snapshot);

/* Reads snap-<index> into a snapshot allocated as raft frees it (one data
 * buffer); 0, -errno or VANE_ECORRUPT with why filled. */
int log_snapshot_read(int dirfd, raft_index index, struct raft_snapshot **snapshot,
                      char *why, size_t why_len);

/* Frees a snapshot as raft does. */
void log_snapshot_free(struct raft_snapshot *snapshot);

#endif
