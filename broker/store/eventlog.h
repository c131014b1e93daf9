/*
 * eventlog.h -- one eventlog: an ordered log of events with dense offsets
 * from 0, kept as segment files and written through its own raft group.
 *
 * Writing.  eventlog_append() encodes the events at once into the pending
 * batch; every append that arrives before the loop next waits for I/O joins
 * the same batch, which becomes one raft entry (group commit).  At most
 * EVENTLOG_MAX_INFLIGHT entries are in flight; appends meanwhile keep
 * joining the next batch.  When raft has committed the entry (it is fsynced
 * in raft's log) and the state machine has applied it, every append of the
 * batch is answered with the offset of its first event.  An answer means
 * durable.
 *
 * Applying.  The state machine's apply gives the batch's records their
 * offsets, store time (the batch's proposal time, never before the previous
 * record's) and raft index, checksums them, and writes them to the active
 * segment with one write(2) into the page cache, rolling to a new segment at
 * segment_size.  Records also stay in a bounded in-memory tail so the newest
 * events are read without a system call.  Segments are fsynced off the loop:
 * when sealed, and before every raft snapshot, so raft only drops log
 * entries whose records are on disk.  A snapshot holds no events, only the
 * extent of the log: the segments are the state.
 *
 * Recovery.  eventlog_open() opens the segments (segment.h checks them),
 * then starts the raft group; raft applies again the entries that followed
 * its last snapshot, and apply skips those already in the segments (by raft
 * index), so a torn tail is rewritten from raft's log.  ready_cb runs when
 * every entry has been applied.
 *
 * Reading.  eventlog_read() copies whole, checked records from the tail or
 * the segment files into a batch and decodes them in place.  Offsets before
 * the first retained event move up to it.  eventlog_watch() registers a
 * callback that runs each time new events are applied, so a reader tails the
 * log without polling.
 *
 * Everything here runs on the loop thread.
 */
#ifndef VANE_STORE_EVENTLOG_H
#define VANE_STORE_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/buf.h"
#include "event/event.h"
#include "raft/replica.h"
#include "store/record.h"

#define EVENTLOG_MAX_INFLIGHT 8

struct eventlog;

struct eventlog_options {
    uint64_t segment_size;      /* roll at this many bytes (default 64 MiB) */
    size_t tail_size;           /* bytes of newest records kept in memory (default 4 MiB) */
    size_t max_batch_bytes;     /* close a batch at this size (default 1 MiB) */
    uint64_t snapshot_bytes;     /* raft snapshot after about this many bytes (default 64 MiB) */
    unsigned snapshot_threshold; /* if not 0: a snapshot every this many entries instead */
    const struct replica_cluster *cluster; /* its group in a cluster; NULL: a single node */
    bool join; /* in a cluster: this node joins the group, it does not start it */
};

void eventlog_options_default(struct eventlog_options *options);

typedef void (*eventlog_ready_cb)(struct eventlog *log, int status, void *arg);
typedef void (*eventlog_append_cb)(void *arg, int status, uint64_t first_offset);
typedef void (*eventlog_watch_cb)(struct eventlog *log, uint64_t next_offset, void *arg);
typedef void (*eventlog_close_cb)(struct eventlog *log, void *arg);

/*
 * Opens (creating if needed) the eventlog stored in dir and starts its raft
 * group.  Returns 0, then ready(log, status, arg) runs once the log is
 * recovered; or a negative error with *errmsg, and nothing runs.
 */
int eventlog_open(struct eventlog **log, uv_loop_t *loop, const char *dir,
                  const struct eventlog_options *options, eventlog_ready_cb ready, void *arg,
                  char **errmsg);

/*
 * Appends count events as one unit: they get consecutive offsets.  Returns
 * 0 and later calls cb(arg, 0, first_offset) once they are durable, or
 * cb(arg, error, 0).  Returns a negative error, and cb never runs, when an
 * event cannot be stored (-EMSGSIZE) or the log takes no writes now
 * (VANE_ENOTREADY, VANE_ECORRUPT, VANE_ESHUTDOWN).
 */
int eventlog_append(struct eventlog *log, const struct event *events, size_t count,
                    eventlog_append_cb cb, void *arg);

/* Records read by eventlog_read(): views into buf, in offset order. */
struct eventlog_batch {
    struct vane_buf buf;
    struct record_view *records;
    size_t count, cap;
    uint64_t next_offset; /* where the next read continues */
};

#define EVENTLOG_BATCH_INIT {VANE_BUF_INIT, NULL, 0, 0, 0}

/*
 * Reads up to max_count records (and about max_bytes) starting at offset,
 * or at the first retained offset when offset is older.  Returns 0 with
 * batch->count records (none when offset is at the end), or VANE_ECORRUPT
 * when a damaged record stops the read (the records before it are in the
 * batch), or -errno.
 */
int eventlog_read(struct eventlog *log, uint64_t offset, size_t max_count, size_t max_bytes,
                  struct eventlog_batch *batch);
void eventlog_batch_free(struct eventlog_batch *batch);

/* The first offset at or after which every event was stored at or after time. */
uint64_t eventlog_offset_at_time(struct eventlog *log, int64_t time);

/* Calls cb whenever new events are applied; returns a handle for unwatch. */
void *eventlog_watch(struct eventlog *log, eventlog_watch_cb cb, void *arg);
void eventlog_unwatch(struct eventlog *log, void *watch);

struct eventlog_stats {
    uint64_t first_offset, next_offset;
    uint64_t bytes;
    size_t segments;
    int64_t first_time, last_time;
    bool damaged;
};

void eventlog_stats(const struct eventlog *log, struct eventlog_stats *stats);

/*
 * Deletes whole sealed segments from the front while the log is older than
 * max_age_ns (by the newest record of the segment) or larger than
 * max_bytes; 0 disables either.  Returns the segments deleted.
 */
size_t eventlog_retain(struct eventlog *log, int64_t now_ns, int64_t max_age_ns,
                       uint64_t max_bytes);

/* Stops the raft group and closes the files; appends still pending fail. */
void eventlog_close(struct eventlog *log, eventlog_close_cb cb, void *arg);

/* The eventlog's raft replica, for status pages (replica_status()). */
struct replica *eventlog_replica(struct eventlog *log);

#endif
