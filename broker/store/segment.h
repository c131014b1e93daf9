/*
 * segment.h -- one segment file of an eventlog and its sparse index.
 *
 * An eventlog is a run of segments, each named by the offset of its first
 * record: 00000000000000000000.log, 00000000000000081920.log, ...  Records
 * (record.h) are appended back to back; the newest segment is the active
 * one, the others are sealed and never change again.
 *
 * The index keeps one entry per SEGMENT_INDEX_INTERVAL bytes of records:
 * (offset from the segment's base, byte position, store time).  It answers
 * both "where is offset N" and "which is the first event stored at or after
 * time T" with a binary search and a short forward scan, since offsets and
 * store times only grow within an eventlog.  It lives in memory; when a
 * segment is sealed it is written to <base>.idx with a trailer that records
 * the segment's extent and CRCs, so a restart takes a sealed segment from
 * that trailer alone, reading neither its records nor its index entries:
 * those are read at the first lookup in the segment (segment_read_index).
 * The active segment has no .idx: a restart scans it, checking every
 * record, and rebuilds its index.
 *
 * Threads: everything here runs on the loop thread except segment_seal(),
 * which the caller runs in the thread pool once the segment takes no more
 * appends.
 */
#ifndef VANE_STORE_SEGMENT_H
#define VANE_STORE_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SEGMENT_INDEX_INTERVAL 4096

struct segment_entry {
    uint32_t rel_offset;
    uint32_t position;
    int64_t stored_at;
};

struct segment {
    uint64_t base_offset;
    uint64_t next_offset;      /* one past the last valid record */
    uint64_t size;             /* bytes of valid records */
    uint64_t last_raft_index;  /* of the last record; 0 when empty */
    uint32_t last_entry_pos;   /* of the last record within its raft entry */
    int64_t last_time;         /* store time of the last record */
    int64_t first_time;        /* store time of the first record; 0 when empty */
    int fd;
    char *log_path, *idx_path;
    struct segment_entry *index;
    size_t index_count, index_cap;
    size_t index_unread;       /* entries in the .idx not read yet (index_count is 0 till then) */
    uint32_t index_crc;        /* their CRC-32C, from the trailer */
    uint64_t next_index_at;    /* position at which the next entry is due */
    bool sealed;
    bool sealing;              /* the eventlog is sealing it */
    bool damaged;              /* a corrupt record stops the segment at next_offset */
    char *damage;              /* what and where, for the log and for readers */
};

/* Opens, or creates, segment base in dir as an empty active one: bytes
 * already in the file (the log's writer's, not yet applied) are left. */
int segment_create(struct segment **segment, const char *dir, uint64_t base, char **errmsg);

/*
 * Opens the existing segment base in dir.  A sealed segment (active false:
 * not the newest) with a valid .idx is taken from it; otherwise every
 * record is read and checked, the index rebuilt, a torn tail of the newest
 * truncated (and logged), and a corrupt record -- any bad one, in a
 * segment that is not the newest -- recorded in damaged/damage, with
 * nothing past it kept.
 * Returns 0, or a negative error with *errmsg when the file cannot be used.
 */
int segment_open(struct segment **segment, const char *dir, uint64_t base, bool active,
                 char **errmsg);

/*
 * Writes len bytes of sealed records (record_seal()) at the active
 * segment's end and indexes them.  Returns 0 or -errno (then nothing is
 * indexed).
 */
int segment_append(struct segment *segment, const void *records, size_t len);

/* Indexes len bytes of sealed records that are at the segment's end in
 * the file already (the log's writer put them there). */
void segment_note(struct segment *segment, const void *records, size_t len);

/*
 * Forgets what the segment holds from offset next_offset on (the file
 * keeps it), making it the active one again (its index read, no longer
 * sealed): a restart shows only what raft applied, and raft applies the
 * rest again.  A record header out of sequence on the way back marks the
 * segment damaged there.  Returns 0, or an error when the records before
 * it cannot be read.
 */
int segment_limit(struct segment *segment, uint64_t next_offset);

/*
 * Makes the segment durable and sealed: fdatasync, then the .idx file with
 * its trailer, fsynced.  For the thread pool.  Returns 0 or -errno.
 */
int segment_seal(struct segment *segment);

/*
 * Reads a sealed segment's index entries from its .idx, once, if they have
 * not been read yet; entries that fail their CRC, or cannot be read, are
 * rebuilt from the records' headers instead (with a warning).  The lookups
 * below and segment_limit() call it; on the loop thread it is one read of
 * the .idx (16 bytes per 4 KiB of records), or of the whole segment after
 * such damage.
 */
void segment_read_index(struct segment *segment);

/*
 * The byte position from which to read to find offset: the index entry at
 * or before it.  offset must be within [base_offset, next_offset).
 */
uint64_t segment_position_of(struct segment *segment, uint64_t offset);

/*
 * The offset from which to read to find the first record stored at or after
 * time; records before it in the segment are all older.
 */
uint64_t segment_offset_of_time(struct segment *segment, int64_t time);

/* Reads up to len bytes at position.  Returns the bytes read or -errno. */
ssize_t segment_read(const struct segment *segment, uint64_t position, void *buf, size_t len);

/*
 * Whether the bad record at position of the file at fd (avail bytes of it
 * at p) begins a torn tail rather than damage: it reaches the end of the
 * file, or only zeros follow it (from its claimed end, or from its start),
 * as a crash or a power loss leaves a file whose last write was cut.
 */
bool segment_is_torn(int fd, const uint8_t *p, size_t avail, uint64_t position,
                     uint64_t file_size);

/* Marks segment damaged at its end: the next segment starts at next_base,
 * past its last record.  Not the newest, it was synced whole before the
 * next one began (but by a catch-up cut by a power loss): records are lost. */
void segment_damaged_end(struct segment *segment, uint64_t next_base);

/* Whether the file at fd holds only zeros from position up to end. */
bool segment_zeros(int fd, uint64_t position, uint64_t end);

/* Closes the file and frees the segment. */
void segment_close(struct segment *segment);

/* Deletes the segment's files (after segment_close they are gone too). */
int segment_remove_files(const char *dir, uint64_t base);

/* "%020llu.log" in dir; freed by the caller. */
char *segment_path(const char *dir, uint64_t base, const char *ext);

#endif
