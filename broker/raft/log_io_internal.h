/*
 * log_io_internal.h -- what the two halves of log_io share: log_io.c (the
 * raft_io's requests, its queue and its jobs) and log_load.c (opening a
 * group's directory at start: listing, syncing, converting, loading).
 */
#ifndef VANE_RAFT_LOG_IO_INTERNAL_H
#define VANE_RAFT_LOG_IO_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/log_format.h"
#include "raft/log_io.h"

struct op;

/*
 * Log files a snapshot made unneeded are kept, up to this many, and the
 * next log file is written over one of them rather than created: blocks
 * already written need no metadata change, so an fdatasync there is one
 * data flush, with no journal commit; and an unlink, which ext4 makes wait
 * for the blocks it frees, is spared as well.
 */
#define LOG_SPARES 2

struct log_io {
    struct raft_io *io;
    struct raft_io net;    /* raft's libuv backend: only its network half is used */
    uv_loop_t *loop;
    char *dir;
    int dirfd;             /* -1 until io->init */
    size_t file_size;
    struct log_meta meta;
    raft_index *files;     /* the first index of each log file, ascending */
    size_t file_count, file_cap;
    raft_index spares[LOG_SPARES]; /* spare files, to be written over (by their names) */
    size_t spare_count;
    int tail_fd;           /* the last log file, open for appending; -1: none */
    uint64_t tail_size;
    uint64_t tail_alloc;   /* bytes of the tail known written once and synced (0: ask) */
    raft_index next_index; /* what the next appended entry is */
    raft_index snapshot_index; /* of the snapshot file, on the loop; 0: none */
    struct op *queue, **queue_end;
    struct op *job;        /* the requests the running job serves */
    uv_work_t work;
    bool busy, failed, closing, net_closing;
    struct {               /* a snapshot raft took, written beside the queue */
        uv_work_t work;
        struct raft_io_snapshot_put *req;
        const struct raft_snapshot *snapshot;
        unsigned trailing;
        int err;
        bool busy;
    } put;
    /* What the last snapshot made unneeded: taken off the list between
     * jobs, and unlinked beside them (unlinking a big file takes a while). */
    raft_index drop_upto, drop_snapshot;
    unsigned unlinking;    /* unlink jobs running (one at a time) */
    unsigned async_running; /* raft's async_work (state machine snapshots) */
    const struct log_extern *ext; /* NULL: payloads are kept whole in the log */
    /* With ext, appends written and not yet synced (log_io.h): those
     * waiting for the next sync, and those of the sync running. */
    struct sync_round {
        struct op *ops, **ops_end;
        int *fds;          /* what the jobs' detach gave, to fdatasync */
        size_t nfds;
        uint64_t mark;     /* the last job's, for synced */
        int status;        /* a raft code: the first failure among them */
    } round, syncing;
    uv_work_t sync_work;
    bool sync_busy;
    bool fail_after_job;   /* a sync failed while a job ran: fail the log after it */
    /* No sync runs or waits: the job may sync itself, as a group without a
     * keeper does, when no append came meanwhile (the fewest hops at a
     * steady pace); then it did. */
    bool job_syncs, job_synced;
    atomic_bool appends_waiting; /* set by the loop while the job runs */
    /* With ext, what the running append job does (log_io.h): store the
     * payloads and write the entries, or beside a sync only store them
     * (their ops then wait in ahead), or after it only write theirs. */
    enum { JOB_BOTH, JOB_STORE, JOB_WRITE } job_kind;
    struct op *ahead;
    char sync_why[192];    /* the sync's error, for io->errmsg */
    struct log_sync_target target; /* the running job's detach */
    raft_io_close_cb close_cb;
    char why[192];         /* a job's error, for io->errmsg */
};

static inline struct log_io *from_io(struct raft_io *io)
{
    return io->impl;
}

/* ---- log_io.c ------------------------------------------------------------- */

/* The log file list: add a file's first index; remove the file at i (and
 * close the tail when it is the last). */
void log_io_files_push(struct log_io *l, raft_index first);
int log_io_remove_file(struct log_io *l, size_t i);
void log_io_close_tail(struct log_io *l);

/* Removes the entries from index on (which the log holds) from its files. */
int log_io_truncate(struct log_io *l, raft_index index);

/* Sets io->errmsg and returns rv. */
int log_io_fail(struct log_io *l, int rv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A raft error code for a negative errno or Vane error. */
int log_io_raft_code(int err);

/* ---- log_load.c ----------------------------------------------------------- */

/* raft_io->init: lists and syncs the directory, reads the term and vote,
 * starts raft's backend, and converts a directory it wrote. */
int log_load_init(struct raft_io *io, raft_id id, const char *address);

/* raft_io->load. */
int log_load(struct raft_io *io, raft_term *term, raft_id *voted_for,
             struct raft_snapshot **snapshot, raft_index *start_index,
             struct raft_entry *entries[], size_t *n_entries);

/* Writes the first log file of a directory, durably: the bootstrap's
 * entry, or a converted log. */
int log_io_write_first_file(struct log_io *l, const struct log_batch *batch);

#endif
