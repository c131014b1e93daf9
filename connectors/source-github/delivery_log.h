/*
 * delivery_log.h -- the deliveries source-github has stored: a bounded
 * record on disk, so that a delivery GitHub sends again (a "Redeliver"
 * hours later) is answered with its first position and not stored twice,
 * long after the broker's idempotency window (2 minutes by default) has
 * forgotten it.
 *
 * The record is a text file, a line per stored delivery, appended to once
 * its event is durable:
 *
 *     <unix seconds> <eventlog> <offset> <X-GitHub-Delivery>\n
 *
 * Several instances of one connector (worker processes) share the folder:
 * each appends with O_APPEND under an exclusive flock(2) of the file
 * "deliveries.lock" beside it, and before each look-up reads what the
 * others appended since it last looked (a partial last line waits for its
 * newline).  When the file holds twice the lines it may keep, or lines
 * half as old again as it keeps, it is rewritten (under the lock) with the newest
 * live lines only: written beside, flushed, renamed over; the others see
 * the new file (another inode) and read it from the start.
 *
 * In memory each delivery is a 16-byte fingerprint (the start of SHA-256
 * of its id, so two ids never meet in practice), its time and position:
 * 40 bytes in an open-addressed table.  Lines are not flushed to disk one
 * by one: the broker's idempotency window, rebuilt from the store at a
 * restart, covers a delivery whose line a machine crash lost.
 *
 * Everything blocks (small reads and writes of a local file) and runs on
 * the instance's loop.
 */
#ifndef VANE_CONNECTORS_GITHUB_DELIVERY_LOG_H
#define VANE_CONNECTORS_GITHUB_DELIVERY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/strbuf.h"

/* The longest X-GitHub-Delivery kept (GitHub's are 36-character GUIDs). */
#define DELIVERY_ID_MAX 128

struct delivery_pos {
    uint64_t eventlog, offset;
};

struct delivery_entry; /* delivery_log.c's */

struct delivery_log {
    char *path, *lock_path, *tmp_path;
    int fd, lock_fd;        /* -1: not open */
    dev_t dev;              /* fd's file, to see it replaced */
    ino_t ino;
    off_t read_to;          /* bytes of it read into the table */
    struct strbuf partial;  /* read bytes after the last newline */
    uint64_t keep_s;        /* how long a delivery is remembered */
    size_t keep_max;        /* how many at most */
    size_t lines;           /* complete lines read from the file */
    int64_t oldest;         /* the oldest line's time */
    struct delivery_entry *table;
    size_t cap, count;
};

/*
 * Opens (creating it and its folder dir when missing) the record in dir,
 * remembering deliveries for keep_s seconds, keep_max at most.  Returns 0,
 * or a negative errno with err naming the file and the failure.
 */
int delivery_log_open(struct delivery_log *log, const char *dir, uint64_t keep_s,
                      size_t keep_max, struct strbuf *err);
void delivery_log_close(struct delivery_log *log);

/* true for an id the record can hold: 1 to DELIVERY_ID_MAX of '!' to '~'. */
bool delivery_log_id_valid(const char *id, size_t len);

/*
 * Looks id up, reading first what other instances appended.  Returns 1
 * with *pos when it was stored within keep_s, 0 when not, or a negative
 * errno when the file cannot be read (err says why; the caller goes on as
 * for 0, the broker's window still standing guard).
 */
int delivery_log_find(struct delivery_log *log, const char *id, struct delivery_pos *pos,
                      struct strbuf *err);

/* Records id as stored at pos (nothing when another instance already did).
 * Returns 0, or a negative errno with err saying why. */
int delivery_log_add(struct delivery_log *log, const char *id, const struct delivery_pos *pos,
                     struct strbuf *err);

#endif
