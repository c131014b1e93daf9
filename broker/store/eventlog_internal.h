/*
 * eventlog_internal.h -- what eventlog.c, eventlog_writer.c and
 * eventlog_catchup.c share: the eventlog itself, its writer, and the few
 * steps of applying records they take.
 */
#ifndef VANE_STORE_EVENTLOG_INTERNAL_H
#define VANE_STORE_EVENTLOG_INTERNAL_H

#include <stdatomic.h>

#include <raft.h>

#include "cluster/forward.h"
#include "raft/log_io.h"
#include "store/eventlog.h"
#include "store/segment.h"

/* A raft entry of an eventlog holds one batch: u32 magic "VEB1", u32
 * count, i64 proposed_at (ns), then the count records. */
#define EVENTLOG_BATCH_MAGIC 0x31424556u
#define EVENTLOG_BATCH_HEADER 16

struct batch;
struct watch;
struct catchup_entry; /* eventlog_catchup.c */

/* Catching up from another node's segments (eventlog_catchup.c); target 0: not. */
struct catchup {
    uint64_t target;            /* the offset the raft snapshot says the log reaches */
    struct catchup_entry *queue, *queue_last; /* entries applied meanwhile, in order */
    struct forward_req *fetching;
    uv_timer_t retry;
    bool retry_open;
    struct raft_transfer step_down;
    uv_work_t sync;             /* the fetched records' fdatasync, before going on */
    int sync_fd, sync_status;
    bool syncing;
};

/* A place in the segments: the next record's segment, byte and offset, and
 * the store time of the record before it. */
struct writer_end {
    uint64_t base, position, next_offset;
    int64_t last_time;
};

/* An entry of raft's log adopted at load (written before the log kept
 * records outside it): the log holds it whole, with no reference to where
 * its records went, so the writer keeps one for a truncation. */
struct adopted {
    uint64_t index;
    uint8_t ref[LOG_EXTERN_REF];
};

/* The writer of the segments (eventlog_writer.c): the part of raft's log
 * that holds the records.  Its position fields belong to log_io's jobs
 * while one runs, and to the loop between them. */
struct writer {
    struct log_extern ops;
    struct eventlog *log;
    int fd;                  /* the segment written; -1: not open */
    int sync_fd;             /* the same file opened again, for log_io's syncs (detach) */
    int dirfd;               /* the eventlog's directory, for syncing new files */
    uint64_t base, position; /* that segment, and where the next record goes */
    uint64_t next_offset;    /* the next record's */
    int64_t last_time;       /* the store time of the last record */
    uint64_t durable;        /* records below this offset are synced */
    bool unsynced;           /* records written to the segment since the writer synced it */
    bool undetached;         /* records written since the last detach (log_io's sync) */
    struct {
        uint8_t *buf;        /* sealed records not yet written, from position */
        size_t len, cap;
        uint64_t position;
    } pending;
    struct writer_end applied; /* where applying was when a snapshot came to be installed */
    struct adopted *adopted; /* in index order; the job thread's once load is done */
    size_t nadopted, capadopted;
    uint64_t bad_offset;     /* where the last fetch found damage */
    atomic_bool held;        /* no position yet: appends wait (read in jobs, set on the loop) */
    bool frozen;             /* damage: no more records, and the files stay as found */
};

struct unlinks;

struct eventlog {
    uv_loop_t *loop;
    char *dir;
    struct eventlog_options opt;
    struct segment **segs; /* by base offset; the last is the active one */
    size_t nsegs, capsegs;
    struct replica *replica;
    struct raft_fsm fsm;
    struct batch *pending, *pending_last; /* FIFO of batches not yet proposed */
    uint8_t *spare_buf;          /* a full-size batch buffer to reuse (size_to_entry) */
    size_t spare_cap;
    int inflight;
    uv_prepare_t flush;
    struct {
        uint8_t *buf;
        size_t len, cap;
        uint64_t position;
    } tail;
    struct watch *watches;
    eventlog_ready_cb ready;
    void *ready_arg;
    bool ready_done, closing, notifying;
    int failure; /* a write error or damage: the log takes no more writes */
    uint64_t damaged_offset; /* reads stop here; UINT64_MAX when undamaged */
    uint64_t last_raft_index;
    uint32_t last_entry_pos;
    int64_t last_time;
    int sealing;
    bool unlinking;          /* retention's deletes run (eventlog.c) */
    struct unlinks *unlinks_next; /* and those of later passes wait for them */
    bool unlink_failed;      /* one failed: no newer file is deleted until a restart */
    uint64_t entry_bytes_avg;   /* running average size of the raft entries applied */
    eventlog_close_cb close_cb;
    void *close_arg;
    int closes_pending;
    struct forwarder *forwarder; /* in a cluster; NULL on a single node */
    uint64_t group;              /* its raft group's id in a cluster */
    struct catchup catchup;
    struct writer writer;
    uint64_t written_next;       /* records below this offset are in the segment files */
    uint64_t snapshot_next;      /* the durable raft snapshot covers the records below */
    bool snapshot_wanted;        /* retention waits for a snapshot: one soon */
};

/* The segment appended to: the last. */
static inline struct segment *eventlog_active(const struct eventlog *log)
{
    return log->segs[log->nsegs - 1];
}

/* eventlog.c */
int eventlog_apply_entry(struct eventlog *log, const uint8_t *p, size_t len, raft_index index,
                         void **result);
int eventlog_write_sealed(struct eventlog *log, const uint8_t *records, size_t len);
bool eventlog_is_batch(const struct raft_entry *entry);
/* The offset after the last record a snapshot of the eventlog covers. */
uint64_t eventlog_snapshot_next(const void *snapshot, size_t len);
/* Lists the base offsets of the segment files in dir, sorted. */
int eventlog_list_segments(const char *dir, uint64_t **bases, size_t *count);
/* fdatasyncs every segment not sealed (at start: a killed process's writes). */
int eventlog_sync_unsealed(struct eventlog *log);
/* Shows readers the segments up to offset next only (raft applies the rest again). */
int eventlog_show_upto(struct eventlog *log, uint64_t next);
/* Damage at offset: nothing at or past it is served, nothing more written,
 * and in a cluster the group is led by another node. */
void eventlog_mark_damaged(struct eventlog *log, uint64_t offset);
/* Whether the eventlog may lead its group (not when damaged). */
bool eventlog_may_lead(const struct eventlog *log);
/* Seals the full segments whose records the writer has written (written_next). */
void eventlog_seal_written(struct eventlog *log);
/* A raft snapshot covering the records below offset next is durable:
 * retention may delete them (raft's log no longer refers to them). */
void eventlog_snapshot_durable(struct eventlog *log, uint64_t next);
void eventlog_notify(struct eventlog *log);
void eventlog_part_done(struct eventlog *log); /* a part that held the close back is done */
void eventlog_free(struct eventlog *log);

/*
 * eventlog_writer.c.  init: before raft starts (log->writer.ops is then
 * given to it).  restart: the writer goes on from what readers see, after
 * dropping what the files hold beyond it, and the log's requests resume.
 * hold: the log's requests wait.  free: closes its files.
 */
void writer_init(struct eventlog *log);
int writer_restart(struct eventlog *log);
void writer_hold(struct eventlog *log);
void writer_free(struct eventlog *log);

/*
 * eventlog_catchup.c.  open: in a cluster, serves the log's records to
 * other nodes and readies the retry timer (before raft starts).  begin:
 * the snapshot says the log reaches target: fetch up to there.  hold: while
 * catching up, keeps an entry raft applies to apply it after (true).
 * close: stops; on a log whose raft never started (log->replica NULL) it
 * frees the log, else it is one of the parts eventlog_close() waits for.
 */
void eventlog_catchup_open(struct eventlog *log);
int eventlog_catchup_begin(struct eventlog *log, uint64_t target);
bool eventlog_catchup_hold(struct eventlog *log, const struct raft_buffer *buf);
void eventlog_catchup_close(struct eventlog *log);

#endif
